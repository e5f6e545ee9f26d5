//! The parts of `kafka-reassign-partitions` that need no cluster: checking its input,
//! proposing a placement for `--generate`, and the text of each report, with Kafka's
//! `ReassignPartitionsCommand` wording.

use std::collections::{BTreeMap, BTreeSet};

use crate::admin::{PartitionReassignment, ReassignmentResults};
use crate::cluster::{BrokerInfo, TopicPartition};
use crate::placement::{self, BrokerPlacement, PlacementError, StartIndex};

/// `--broker-list 1,2,3`: ids, with Kafka's errors for non-numbers and duplicates.
pub(crate) fn parse_broker_list(raw: &str) -> Result<Vec<i32>, String> {
    let brokers = raw
        .split(',')
        .map(|b| {
            b.parse::<i32>()
                .map_err(|_| format!("For input string: \"{b}\""))
        })
        .collect::<Result<Vec<i32>, String>>()?;
    let duplicates = duplicates(&brokers);
    if duplicates.is_empty() {
        Ok(brokers)
    } else {
        Err(format!(
            "Broker list contains duplicate entries: {}",
            java_set(&duplicates)
        ))
    }
}

/// The checks `--execute` makes on its file before asking the cluster anything.
pub(crate) fn check_execute_input(
    parsed: Vec<(TopicPartition, Vec<i32>)>,
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, String> {
    if parsed.is_empty() {
        return Err("Partition reassignment list cannot be empty".into());
    }
    if parsed.iter().any(|(_, replicas)| replicas.is_empty()) {
        return Err("Partition replica list cannot be empty".into());
    }
    let partitions: Vec<&TopicPartition> = parsed.iter().map(|(p, _)| p).collect();
    let duplicate_partitions = duplicates(&partitions);
    if !duplicate_partitions.is_empty() {
        return Err(format!(
            "Partition reassignment contains duplicate topic partitions: {}",
            joined(duplicate_partitions.iter(), ",")
        ));
    }
    let duplicate_replicas: Vec<String> = parsed
        .iter()
        .filter_map(|(p, replicas)| {
            let repeated = duplicates(replicas);
            (!repeated.is_empty()).then(|| {
                format!(
                    "{p} contains multiple entries for {}",
                    joined(repeated.iter(), ",")
                )
            })
        })
        .collect();
    if !duplicate_replicas.is_empty() {
        return Err(format!(
            "Partition replica lists may not contain duplicate entries: {}",
            duplicate_replicas.join(". ")
        ));
    }
    Ok(parsed.into_iter().collect())
}

/// The brokers `--generate` may place replicas on: those of `wanted` the cluster has, with
/// racks unless rack awareness is off; all or none must have a rack.
pub(crate) fn broker_placements(
    live: &[BrokerInfo],
    wanted: &[i32],
    rack_aware: bool,
) -> Result<Vec<BrokerPlacement>, String> {
    let placements: Vec<BrokerPlacement> = live
        .iter()
        .filter(|b| wanted.contains(&b.id))
        .map(|b| BrokerPlacement {
            id: b.id,
            rack: b.rack.clone().filter(|_| rack_aware),
        })
        .collect();
    let rackless = placements.iter().filter(|b| b.rack.is_none()).count();
    if rack_aware && rackless != 0 && rackless != placements.len() {
        return Err("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.".into());
    }
    Ok(placements)
}

/// A new placement for every topic in `current`, keeping each topic's partition count and
/// replication factor (that of its first partition).
pub(crate) fn propose(
    current: &BTreeMap<TopicPartition, Vec<i32>>,
    brokers: &[BrokerPlacement],
    start: StartIndex,
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, PlacementError> {
    let mut topics: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (p, replicas) in current {
        let entry = topics.entry(&p.topic).or_insert((0, replicas.len()));
        entry.0 += 1;
    }
    let mut proposed = BTreeMap::new();
    for (topic, (partitions, replication_factor)) in topics {
        let assignment =
            placement::assign_replicas(brokers, partitions, replication_factor, start, 0)?;
        for (partition, replicas) in assignment.into_iter().enumerate() {
            proposed.insert(TopicPartition::new(topic, partition as i32), replicas);
        }
    }
    Ok(proposed)
}

/// `--verify`'s report: a partition is in progress while the controller lists it; otherwise
/// it is done, and its replicas either match the target or not.
pub(crate) fn verify_text(
    targets: &[(TopicPartition, Vec<i32>)],
    ongoing: &BTreeMap<TopicPartition, PartitionReassignment>,
    current: &BTreeMap<TopicPartition, Vec<i32>>,
) -> String {
    let sorted: BTreeMap<&TopicPartition, &Vec<i32>> =
        targets.iter().map(|(p, replicas)| (p, replicas)).collect();
    let mut lines = vec!["Status of partition reassignment:".to_owned()];
    for (part, target) in sorted {
        if ongoing.contains_key(part) {
            lines.push(format!(
                "Reassignment of partition {part} is still in progress."
            ));
            continue;
        }
        let replicas = current.get(part).cloned().unwrap_or_default();
        if &replicas == target {
            lines.push(format!("Reassignment of partition {part} is completed."));
        } else {
            lines.push(format!(
                "There is no active reassignment of partition {part}, but replica set is {} rather than {}.",
                joined(replicas.iter(), ","),
                joined(target.iter(), ",")
            ));
        }
    }
    lines.join("\n")
}

/// The partitions `--cancel` cancels: those still adding or removing replicas.
pub(crate) fn moving_partitions(
    ongoing: &BTreeMap<TopicPartition, PartitionReassignment>,
) -> Vec<TopicPartition> {
    ongoing
        .iter()
        .filter(|(_, r)| !r.adding_replicas.is_empty() || !r.removing_replicas.is_empty())
        .map(|(p, _)| p.clone())
        .collect()
}

/// `--list`'s report.
pub(crate) fn list_text(ongoing: &BTreeMap<TopicPartition, PartitionReassignment>) -> String {
    if ongoing.is_empty() {
        return "No partition reassignments found.".into();
    }
    let lines: Vec<String> = ongoing
        .iter()
        .map(|(part, r)| {
            let mut line = format!("{part}: replicas: {}.", joined(r.replicas.iter(), ","));
            if !r.adding_replicas.is_empty() {
                line.push_str(&format!(
                    " adding: {}.",
                    joined(r.adding_replicas.iter(), ",")
                ));
            }
            if !r.removing_replicas.is_empty() {
                line.push_str(&format!(
                    " removing: {}.",
                    joined(r.removing_replicas.iter(), ",")
                ));
            }
            line
        })
        .collect();
    format!("Current partition reassignments:\n{}", lines.join("\n"))
}

/// `foo-0: message` per failed partition, sorted; `None` when all succeeded.
pub(crate) fn failures_text(results: &ReassignmentResults) -> Option<String> {
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(part, result)| result.as_ref().err().map(|e| format!("{part}: {e}")))
        .collect();
    (!failed.is_empty()).then(|| failed.join("\n"))
}

/// The values that occur more than once, each once.
pub(crate) fn duplicates<T: Ord + Clone>(items: &[T]) -> BTreeSet<T> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter(|item| !seen.insert((*item).clone()))
        .cloned()
        .collect()
}

/// A set as Java prints it: `[1, 2]`.
pub(crate) fn java_set<T: std::fmt::Display>(items: &BTreeSet<T>) -> String {
    format!("[{}]", joined(items.iter(), ", "))
}

pub(crate) fn joined<T: std::fmt::Display>(
    items: impl Iterator<Item = T>,
    separator: &str,
) -> String {
    items
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

pub(crate) fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KafkaError;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    fn moving(replicas: &[i32], adding: &[i32], removing: &[i32]) -> PartitionReassignment {
        PartitionReassignment {
            replicas: replicas.to_vec(),
            adding_replicas: adding.to_vec(),
            removing_replicas: removing.to_vec(),
        }
    }
    #[test]
    fn broker_lists_are_numbers_without_repeats() {
        assert_eq!(parse_broker_list("1,2,3").unwrap(), vec![1, 2, 3]);
        assert_eq!(
            parse_broker_list("1,x").unwrap_err(),
            "For input string: \"x\""
        );
        assert_eq!(
            parse_broker_list("1,2,1,2").unwrap_err(),
            "Broker list contains duplicate entries: [1, 2]"
        );
    }

    #[test]
    fn execute_input_is_checked_as_kafka_does() {
        assert_eq!(
            check_execute_input(vec![]).unwrap_err(),
            "Partition reassignment list cannot be empty"
        );
        assert_eq!(
            check_execute_input(vec![(tp("foo", 0), vec![])]).unwrap_err(),
            "Partition replica list cannot be empty"
        );
        assert_eq!(
            check_execute_input(vec![(tp("foo", 0), vec![1]), (tp("foo", 0), vec![2])])
                .unwrap_err(),
            "Partition reassignment contains duplicate topic partitions: foo-0"
        );
        assert_eq!(
            check_execute_input(vec![
                (tp("foo", 0), vec![1, 2, 1]),
                (tp("foo", 1), vec![3, 3])
            ])
            .unwrap_err(),
            "Partition replica lists may not contain duplicate entries: foo-0 contains multiple entries for 1. foo-1 contains multiple entries for 3"
        );
        assert_eq!(
            check_execute_input(vec![(tp("foo", 0), vec![2, 3])]).unwrap(),
            BTreeMap::from([(tp("foo", 0), vec![2, 3])])
        );
    }

    #[test]
    fn generate_keeps_partition_counts_and_replication_factors() {
        let current = BTreeMap::from([
            (tp("a", 0), vec![1, 2]),
            (tp("a", 1), vec![2, 1]),
            (tp("a", 2), vec![1, 2]),
            (tp("b", 0), vec![1]),
        ]);
        let brokers: Vec<BrokerPlacement> = [1, 2, 3]
            .into_iter()
            .map(|id| BrokerPlacement { id, rack: None })
            .collect();
        let proposed = propose(&current, &brokers, StartIndex::Fixed(0)).unwrap();
        assert_eq!(
            proposed,
            BTreeMap::from([
                (tp("a", 0), vec![1, 2]),
                (tp("a", 1), vec![2, 3]),
                (tp("a", 2), vec![3, 1]),
                (tp("b", 0), vec![1]),
            ])
        );
        let too_big = propose(&current, &brokers[..1], StartIndex::Random).unwrap_err();
        assert_eq!(
            too_big.to_string(),
            "Replication factor: 2 larger than available brokers: 1."
        );
    }

    #[test]
    fn generate_uses_only_listed_brokers_and_needs_all_racks_or_none() {
        let live = vec![
            BrokerInfo {
                id: 1,
                host: "h".into(),
                port: 1,
                rack: Some("r1".into()),
            },
            BrokerInfo {
                id: 2,
                host: "h".into(),
                port: 2,
                rack: None,
            },
            BrokerInfo {
                id: 3,
                host: "h".into(),
                port: 3,
                rack: Some("r2".into()),
            },
        ];
        let chosen = broker_placements(&live, &[1, 3, 9], true).unwrap();
        assert_eq!(chosen.iter().map(|b| b.id).collect::<Vec<_>>(), vec![1, 3]);
        assert!(chosen.iter().all(|b| b.rack.is_some()));
        assert!(broker_placements(&live, &[1, 2], true)
            .unwrap_err()
            .contains("--disable-rack-aware"));
        let rackless = broker_placements(&live, &[1, 2], false).unwrap();
        assert!(rackless.iter().all(|b| b.rack.is_none()));
    }

    #[test]
    fn verify_reports_progress_completion_and_mismatch_in_partition_order() {
        let targets = vec![
            (tp("foo", 2), vec![1, 2]),
            (tp("foo", 0), vec![2, 3]),
            (tp("foo", 1), vec![3, 1]),
            (tp("gone", 0), vec![1]),
        ];
        let ongoing = BTreeMap::from([(tp("foo", 2), moving(&[1, 2, 3], &[1], &[3]))]);
        let current = BTreeMap::from([(tp("foo", 0), vec![2, 3]), (tp("foo", 1), vec![1, 2])]);
        assert_eq!(
            verify_text(&targets, &ongoing, &current),
            "Status of partition reassignment:\n\
             Reassignment of partition foo-0 is completed.\n\
             There is no active reassignment of partition foo-1, but replica set is 1,2 rather than 3,1.\n\
             Reassignment of partition foo-2 is still in progress.\n\
             There is no active reassignment of partition gone-0, but replica set is  rather than 1."
        );
    }

    #[test]
    fn cancel_takes_partitions_that_still_add_or_remove_replicas() {
        let ongoing = BTreeMap::from([
            (tp("a", 0), moving(&[1, 2, 3], &[3], &[1])),
            (tp("a", 1), moving(&[1, 2, 3], &[3], &[])),
            (tp("a", 2), moving(&[1, 2], &[], &[])),
        ]);
        assert_eq!(moving_partitions(&ongoing), vec![tp("a", 0), tp("a", 1)]);
    }

    #[test]
    fn list_shows_adding_and_removing_only_when_present() {
        assert_eq!(
            list_text(&BTreeMap::new()),
            "No partition reassignments found."
        );
        let ongoing = BTreeMap::from([
            (tp("foo", 0), moving(&[1, 2, 3], &[3], &[1])),
            (tp("foo", 1), moving(&[2, 3], &[], &[])),
        ]);
        assert_eq!(
            list_text(&ongoing),
            "Current partition reassignments:\n\
             foo-0: replicas: 1,2,3. adding: 3. removing: 1.\n\
             foo-1: replicas: 2,3."
        );
    }

    #[test]
    fn failures_name_each_partition_with_the_brokers_message() {
        let results: ReassignmentResults = BTreeMap::from([
            (
                tp("foo", 1),
                Err(KafkaError::new(39, Some("Replica 9 is not alive"))),
            ),
            (tp("foo", 0), Ok(())),
            (tp("bar", 0), Err(KafkaError::new(85, None))),
        ]);
        assert_eq!(
            failures_text(&results).unwrap(),
            "bar-0: NO_REASSIGNMENT_IN_PROGRESS\nfoo-1: Replica 9 is not alive"
        );
        assert_eq!(failures_text(&BTreeMap::new()), None);
    }
}
