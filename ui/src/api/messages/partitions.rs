//! Which partitions a request reads or writes, checked against the topic's metadata: an
//! unknown topic is a 404 under Kafka's name, a partition the topic lacks a 400 saying
//! which partitions there are.

use axum::http::StatusCode;
use potok_client::ClientError;

use crate::cluster::ClusterHandle;
use crate::error::{UiError, UiResult};

/// The topic's partition numbers, in order, from fresh metadata (so partitions added a
/// moment ago count).
pub async fn partitions_of(cluster: &ClusterHandle, topic: &str) -> UiResult<Vec<i32>> {
    match cluster.admin.cluster().refresh_topic(topic, false).await {
        Ok(metadata) => Ok(metadata.partitions.iter().map(|p| p.partition).collect()),
        Err(ClientError::Kafka(error)) if error.name == "UNKNOWN_TOPIC_OR_PARTITION" => {
            Err(unknown_topic(topic))
        }
        Err(error) => Err(cluster.error(error)),
    }
}

pub fn unknown_topic(topic: &str) -> UiError {
    UiError::new(
        StatusCode::NOT_FOUND,
        "UNKNOWN_TOPIC_OR_PARTITION",
        format!("topic '{topic}' does not exist"),
    )
}

/// The partitions to read: `wanted` when the topic has it, else all of `existing`.
pub fn select(topic: &str, existing: &[i32], wanted: Option<i32>) -> UiResult<Vec<i32>> {
    match wanted {
        None => Ok(existing.to_vec()),
        Some(p) if existing.contains(&p) => Ok(vec![p]),
        Some(p) => Err(UiError::bad_request(format!(
            "topic '{topic}' has no partition {p}; {}",
            describe(existing)
        ))),
    }
}

/// "its partitions are 0 to 2", for an error's fix.
fn describe(existing: &[i32]) -> String {
    match (existing.first(), existing.last()) {
        (Some(first), Some(last)) if first == last => format!("its only partition is {first}"),
        (Some(first), Some(last)) => format!("its partitions are {first} to {last}"),
        _ => "it has no partitions".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_read_when_the_topic_has_it() {
        assert_eq!(select("t", &[0, 1, 2], None).unwrap(), vec![0, 1, 2]);
        assert_eq!(select("t", &[0, 1, 2], Some(1)).unwrap(), vec![1]);
        let error = select("t", &[0, 1, 2], Some(3)).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error.message,
            "topic 't' has no partition 3; its partitions are 0 to 2"
        );
        let error = select("t", &[0], Some(5)).unwrap_err();
        assert!(
            error.message.ends_with("its only partition is 0"),
            "{}",
            error.message
        );
    }
}
