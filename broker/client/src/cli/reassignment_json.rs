//! The JSON files of `kafka-reassign-partitions`, read and written as Kafka's
//! `ReassignPartitionsCommand` does: the topics to move (`{"topics":[{"topic":"foo"}],
//! "version":1}`) and a reassignment (`{"version":1,"partitions":[{"topic":"foo",
//! "partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}`).
//!
//! Parse errors use Kafka's wording; `log_dirs` other than `"any"` are refused, because
//! moving replicas between a broker's log directories is not supported.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::cluster::TopicPartition;

/// The only file format version Kafka has defined for both files.
const VERSION: i64 = 1;

/// `log_dirs` entry meaning "wherever the broker puts it".
const ANY_LOG_DIR: &str = "any";

/// The topics of a topics-to-move file, in file order (duplicates kept for the caller to
/// report).
pub(crate) fn parse_topics_to_move(text: &str) -> Result<Vec<String>, String> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| format!("The input string is not a valid JSON: {e}"))?;
    let root = object(&root)?;
    check_version(root)?;
    let Some(topics) = root.get("topics") else {
        return Ok(Vec::new());
    };
    array(topics)?
        .iter()
        .map(|entry| string(field(object(entry)?, "topic")?))
        .collect()
}

/// The partitions and target replicas of a reassignment file, in file order.
pub(crate) fn parse_reassignment(text: &str) -> Result<Vec<(TopicPartition, Vec<i32>)>, String> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| format!("The input string is not a valid JSON: {e}"))?;
    let root = object(&root)?;
    check_version(root)?;
    let Some(partitions) = root.get("partitions") else {
        return Ok(Vec::new());
    };
    array(partitions)?.iter().map(partition_entry).collect()
}

fn partition_entry(entry: &Value) -> Result<(TopicPartition, Vec<i32>), String> {
    let fields = object(entry)?;
    let topic = string(field(fields, "topic")?)?;
    let partition = int(field(fields, "partition")?)?;
    let replicas = array(field(fields, "replicas")?)?
        .iter()
        .map(int)
        .collect::<Result<Vec<i32>, String>>()?;
    let part = TopicPartition::new(topic, partition);
    if let Some(log_dirs) = fields.get("log_dirs") {
        let log_dirs = array(log_dirs)?
            .iter()
            .map(string)
            .collect::<Result<Vec<String>, String>>()?;
        if log_dirs.len() != replicas.len() {
            return Err(format!(
                "Size of replicas list {} is different from size of log dirs list {} for partition {part}",
                java_list(&replicas),
                java_list(&log_dirs)
            ));
        }
        if let Some(dir) = log_dirs.iter().find(|d| *d != ANY_LOG_DIR) {
            return Err(format!(
                "Log directory \"{dir}\" for partition {part} is not supported: moving replicas between log directories is not supported, so every entry of \"log_dirs\" must be \"{ANY_LOG_DIR}\""
            ));
        }
    }
    Ok((part, replicas))
}

/// A reassignment file's text, partitions sorted by topic and partition, every log dir "any".
pub(crate) fn format_reassignment(assignment: &BTreeMap<TopicPartition, Vec<i32>>) -> String {
    let partitions: Vec<String> = assignment
        .iter()
        .map(|(part, replicas)| {
            let replica_list: Vec<String> = replicas.iter().map(i32::to_string).collect();
            let log_dirs = vec![format!("\"{ANY_LOG_DIR}\""); replicas.len()];
            format!(
                "{{\"topic\":{},\"partition\":{},\"replicas\":[{}],\"log_dirs\":[{}]}}",
                Value::String(part.topic.clone()),
                part.partition,
                replica_list.join(","),
                log_dirs.join(",")
            )
        })
        .collect();
    format!(
        "{{\"version\":{VERSION},\"partitions\":[{}]}}",
        partitions.join(",")
    )
}

/// A list as Java prints it: `[1, 2]`.
fn java_list<T: std::fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(T::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn check_version(root: &Map<String, Value>) -> Result<(), String> {
    let version = match root.get("version") {
        Some(v) => i64::from(int(v)?),
        None => VERSION,
    };
    if version == VERSION {
        Ok(())
    } else {
        Err(format!("Not supported version field value {version}"))
    }
}

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    fields
        .get(name)
        .ok_or_else(|| format!("No such field exists: `{name}`"))
}

fn object(value: &Value) -> Result<&Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("Expected JSON object, received {value}"))
}

fn array(value: &Value) -> Result<&Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("Expected `JSON array` value, received {value}"))
}

fn string(value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("Expected `String` value, received {value}"))
}

fn int(value: &Value) -> Result<i32, String> {
    value
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| format!("Expected `Integer` value, received {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_to_move_are_read_in_order() {
        let topics =
            parse_topics_to_move(r#"{"topics":[{"topic":"foo"},{"topic":"bar"}],"version":1}"#)
                .unwrap();
        assert_eq!(topics, vec!["foo", "bar"]);
        assert_eq!(
            parse_topics_to_move(r#"{"version":1}"#).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn malformed_files_are_refused_with_kafkas_words() {
        assert!(parse_topics_to_move("{\"topics\":")
            .unwrap_err()
            .starts_with("The input string is not a valid JSON"));
        assert_eq!(
            parse_topics_to_move(r#"{"topics":[{"topic":"foo"}],"version":2}"#).unwrap_err(),
            "Not supported version field value 2"
        );
        assert_eq!(
            parse_topics_to_move(r#"{"topics":[{"name":"foo"}]}"#).unwrap_err(),
            "No such field exists: `topic`"
        );
        assert_eq!(
            parse_reassignment(
                r#"{"partitions":[{"topic":"foo","partition":"0","replicas":[1]}]}"#
            )
            .unwrap_err(),
            "Expected `Integer` value, received \"0\""
        );
        assert_eq!(
            parse_reassignment("[]").unwrap_err(),
            "Expected JSON object, received []"
        );
    }

    #[test]
    fn reassignment_reads_partitions_with_or_without_log_dirs() {
        let parsed = parse_reassignment(
            r#"{"version":1,"partitions":[
                {"topic":"foo","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},
                {"topic":"foo","partition":1,"replicas":[3]}]}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                (TopicPartition::new("foo", 0), vec![1, 2]),
                (TopicPartition::new("foo", 1), vec![3]),
            ]
        );
    }

    #[test]
    fn log_dirs_must_match_replicas_and_be_any() {
        let mismatch = parse_reassignment(
            r#"{"partitions":[{"topic":"foo","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            mismatch,
            "Size of replicas list [1, 2] is different from size of log dirs list [any] for partition foo-0"
        );
        let dir = parse_reassignment(
            r#"{"partitions":[{"topic":"foo","partition":0,"replicas":[1],"log_dirs":["/data"]}]}"#,
        )
        .unwrap_err();
        assert!(dir.contains("\"/data\""), "{dir}");
    }

    #[test]
    fn written_files_read_back() {
        let assignment = BTreeMap::from([
            (TopicPartition::new("foo", 1), vec![2, 3]),
            (TopicPartition::new("bar", 0), vec![1]),
        ]);
        let text = format_reassignment(&assignment);
        assert_eq!(
            text,
            r#"{"version":1,"partitions":[{"topic":"bar","partition":0,"replicas":[1],"log_dirs":["any"]},{"topic":"foo","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
        let back: BTreeMap<TopicPartition, Vec<i32>> =
            parse_reassignment(&text).unwrap().into_iter().collect();
        assert_eq!(back, assignment);
    }
}
