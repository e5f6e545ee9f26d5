//! Partition reassignments: starting and cancelling moves of replicas between brokers
//! (AlterPartitionReassignments) and listing the moves in progress (ListPartitionReassignments).
//!
//! Both go to the controller named in Metadata, or any broker, which forwards to the quorum,
//! as Kafka's admin client sends them.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, ListPartitionReassignmentsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{AdminClient, ADMIN_TIMEOUT_MS};
use crate::cluster::TopicPartition;
use crate::error::{check, ClientError, KafkaError};

/// A reassignment in progress, as the controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReassignment {
    /// Every replica the partition has now: the old ones and those being added.
    pub replicas: Vec<i32>,
    /// Replicas being added, still catching up.
    pub adding_replicas: Vec<i32>,
    /// Replicas to be removed once the added ones are in sync.
    pub removing_replicas: Vec<i32>,
}

/// One result per partition of an AlterPartitionReassignments request.
pub type ReassignmentResults = BTreeMap<TopicPartition, Result<(), KafkaError>>;

impl AdminClient {
    /// Starts (`Some(target replicas)`) or cancels (`None`) reassignments, per partition.
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: &BTreeMap<TopicPartition, Option<Vec<i32>>>,
    ) -> Result<ReassignmentResults, ClientError> {
        let request = alter_request(reassignments);
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.admin_connection().await?;
                let response = connection.send(request.clone()).await?;
                check(response.error_code, response.error_message.as_deref())?;
                Ok(response)
            })
            .await?;
        let mut results: ReassignmentResults = response
            .responses
            .into_iter()
            .flat_map(|topic| {
                let name = topic.name.0.to_string();
                topic.partitions.into_iter().map(move |p| {
                    let result = check(p.error_code, p.error_message.as_deref());
                    (TopicPartition::new(name.clone(), p.partition_index), result)
                })
            })
            .collect();
        for partition in reassignments.keys() {
            results.entry(partition.clone()).or_insert_with(|| {
                Err(KafkaError::new(
                    -1,
                    Some("The controller did not answer for this partition"),
                ))
            });
            self.cluster.invalidate(&partition.topic);
        }
        Ok(results)
    }

    /// The reassignments in progress: all of them (`None`), or those of the given partitions.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, PartitionReassignment>, ClientError> {
        let request = list_request(partitions);
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.admin_connection().await?;
                let response = connection.send(request.clone()).await?;
                check(response.error_code, response.error_message.as_deref())?;
                Ok(response)
            })
            .await?;
        Ok(response
            .topics
            .into_iter()
            .flat_map(|topic| {
                let name = topic.name.0.to_string();
                topic.partitions.into_iter().map(move |p| {
                    let reassignment = PartitionReassignment {
                        replicas: ids(p.replicas),
                        adding_replicas: ids(p.adding_replicas),
                        removing_replicas: ids(p.removing_replicas),
                    };
                    (
                        TopicPartition::new(name.clone(), p.partition_index),
                        reassignment,
                    )
                })
            })
            .collect())
    }
}

/// Groups partitions by topic, as the request nests them.
fn alter_request(
    reassignments: &BTreeMap<TopicPartition, Option<Vec<i32>>>,
) -> AlterPartitionReassignmentsRequest {
    let mut topics: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
    for (partition, target) in reassignments {
        topics.entry(&partition.topic).or_default().push(
            ReassignablePartition::default()
                .with_partition_index(partition.partition)
                .with_replicas(
                    target
                        .as_ref()
                        .map(|r| r.iter().copied().map(BrokerId).collect()),
                ),
        );
    }
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    ReassignableTopic::default()
                        .with_name(topic_name(name))
                        .with_partitions(partitions)
                })
                .collect(),
        )
}

/// `None` asks for every reassignment in progress (Kafka's null topics array).
fn list_request(partitions: Option<&[TopicPartition]>) -> ListPartitionReassignmentsRequest {
    let topics = partitions.map(|partitions| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for p in partitions {
            by_topic.entry(&p.topic).or_default().push(p.partition);
        }
        by_topic
            .into_iter()
            .map(|(name, indexes)| {
                ListPartitionReassignmentsTopics::default()
                    .with_name(topic_name(name))
                    .with_partition_indexes(indexes)
            })
            .collect()
    });
    ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_topics(topics)
}

fn ids(brokers: Vec<BrokerId>) -> Vec<i32> {
    brokers.into_iter().map(|b| b.0).collect()
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_request_nests_partitions_by_topic_and_cancels_with_null_replicas() {
        let request = alter_request(&BTreeMap::from([
            (TopicPartition::new("a", 0), Some(vec![2, 3])),
            (TopicPartition::new("a", 1), None),
            (TopicPartition::new("b", 0), Some(vec![1])),
        ]));
        assert_eq!(request.topics.len(), 2);
        let a = &request.topics[0];
        assert_eq!(a.name.0.as_str(), "a");
        assert_eq!(
            a.partitions[0].replicas,
            Some(vec![BrokerId(2), BrokerId(3)])
        );
        assert_eq!(a.partitions[1].replicas, None);
    }

    #[test]
    fn list_request_without_partitions_asks_for_all() {
        assert_eq!(list_request(None).topics, None);
        let some = list_request(Some(&[
            TopicPartition::new("a", 1),
            TopicPartition::new("a", 0),
        ]));
        assert_eq!(some.topics.unwrap()[0].partition_indexes, vec![1, 0]);
    }
}
