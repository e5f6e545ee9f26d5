//! Looking up offsets (ListOffsets) and deleting records below an offset (DeleteRecords).
//! Both go to each partition's leader, one request per leader.

use std::collections::BTreeMap;

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, DeleteRecordsRequest, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{AdminClient, ADMIN_TIMEOUT_MS};
use crate::cluster::{Cluster, TopicPartition};
use crate::error::{check, ClientError, KafkaError};

/// Which offset to look up; the special timestamps are Kafka's (`ListOffsetsRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the high watermark for consumers).
    Latest,
    /// The offset of the record with the largest timestamp.
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this many ms since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Latest => -1,
            OffsetSpec::Earliest => -2,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// An answer to ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// -1 when no record matches a timestamp lookup.
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: Option<i32>,
}

/// Per-partition results.
pub type PartitionResults<T> = BTreeMap<TopicPartition, Result<T, KafkaError>>;

impl AdminClient {
    /// Looks up offsets (read-uncommitted isolation).
    pub async fn list_offsets(
        &self,
        specs: &[(TopicPartition, OffsetSpec)],
    ) -> Result<PartitionResults<ListedOffset>, ClientError> {
        list_offsets(&self.cluster, specs).await
    }

    /// Deletes the records of each partition below the given offset (-1: the high
    /// watermark); returns each partition's new low watermark.
    pub async fn delete_records(
        &self,
        before: &[(TopicPartition, i64)],
    ) -> Result<PartitionResults<i64>, ClientError> {
        let mut results = BTreeMap::new();
        for (leader, partitions) in group_by_leader(&self.cluster, before, &mut results).await? {
            let mut topics: BTreeMap<&str, Vec<DeleteRecordsPartition>> = BTreeMap::new();
            for (tp, offset) in &partitions {
                topics.entry(&tp.topic).or_default().push(
                    DeleteRecordsPartition::default()
                        .with_partition_index(tp.partition)
                        .with_offset(*offset),
                );
            }
            let request = DeleteRecordsRequest::default()
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(t, ps)| {
                            DeleteRecordsTopic::default()
                                .with_name(topic_name(t))
                                .with_partitions(ps)
                        })
                        .collect(),
                )
                .with_timeout_ms(ADMIN_TIMEOUT_MS);
            let response = self.cluster.connection(leader).await?.send(request).await?;
            for topic in response.topics {
                for p in topic.partitions {
                    let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                    self.invalidate_on_leader_change(&tp, p.error_code);
                    results.insert(tp, check(p.error_code, None).map(|()| p.low_watermark));
                }
            }
        }
        Ok(results)
    }

    fn invalidate_on_leader_change(&self, tp: &TopicPartition, error_code: i16) {
        if KafkaError::new(error_code, None).is_retriable() {
            self.cluster.invalidate(&tp.topic);
        }
    }
}

/// ListOffsets for each partition at its leader; shared with the consumer, which resolves
/// `Beginning`/`End`/timestamp positions with it.
pub(crate) async fn list_offsets(
    cluster: &Cluster,
    specs: &[(TopicPartition, OffsetSpec)],
) -> Result<PartitionResults<ListedOffset>, ClientError> {
    let mut results = BTreeMap::new();
    for (leader, partitions) in group_by_leader(cluster, specs, &mut results).await? {
        let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
        for (tp, spec) in &partitions {
            topics.entry(&tp.topic).or_default().push(
                ListOffsetsPartition::default()
                    .with_partition_index(tp.partition)
                    .with_timestamp(spec.timestamp()),
            );
        }
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(t, ps)| {
                        ListOffsetsTopic::default()
                            .with_name(topic_name(t))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let response = cluster.connection(leader).await?.send(request).await?;
        for topic in response.topics {
            for p in topic.partitions {
                let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                let result = check(p.error_code, None).map(|()| ListedOffset {
                    offset: p.offset,
                    timestamp: p.timestamp,
                    leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                });
                if result.as_ref().is_err_and(|e| e.is_retriable()) {
                    cluster.invalidate(&tp.topic);
                }
                results.insert(tp, result);
            }
        }
    }
    Ok(results)
}

/// Groups items by the leader of their partition; partitions without a known leader get
/// their error recorded in `results` instead.
async fn group_by_leader<T: Clone, R>(
    cluster: &Cluster,
    items: &[(TopicPartition, T)],
    results: &mut PartitionResults<R>,
) -> Result<BTreeMap<i32, Vec<(TopicPartition, T)>>, ClientError> {
    let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, T)>> = BTreeMap::new();
    for (tp, item) in items {
        match cluster.leader_for(&tp.topic, tp.partition).await {
            Ok(leader) => by_leader
                .entry(leader)
                .or_default()
                .push((tp.clone(), item.clone())),
            Err(ClientError::Kafka(e)) => {
                results.insert(tp.clone(), Err(e));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(by_leader)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_timestamps_are_kafkas() {
        assert_eq!(OffsetSpec::Latest.timestamp(), -1);
        assert_eq!(OffsetSpec::Earliest.timestamp(), -2);
        assert_eq!(OffsetSpec::MaxTimestamp.timestamp(), -3);
        assert_eq!(OffsetSpec::Timestamp(17).timestamp(), 17);
    }
}
