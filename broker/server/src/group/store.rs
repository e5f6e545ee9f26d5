//! `__consumer_offsets`: where committed offsets and group metadata live. A group's records
//! go to partition `abs(hashCode(group)) % partitions`, as in Kafka, so a group has one
//! home partition whose leader is its coordinator.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;

use std::time::Duration;

use super::records::{CommittedOffset, GroupRecordKey};
use crate::broker::Broker;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::metadata::NewTopic;
use crate::replica::{Partition, Role};

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Kafka's defaults for `offsets.topic.num.partitions` and `offsets.topic.replication.factor`.
const DEFAULT_PARTITIONS: i32 = 50;
const DEFAULT_REPLICATION_FACTOR: i16 = 3;
/// How much of a partition one read takes while replaying it.
const REPLAY_READ_BYTES: usize = 1024 * 1024;
/// Kafka's `offsets.commit.timeout.ms`: how long a commit waits for replication.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Java's `String.hashCode`, which Kafka uses to place a group.
fn java_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(unit as i32)
    })
}

pub fn partition_for(group: &str, partitions: i32) -> i32 {
    (java_hash(group) & 0x7fff_ffff) % partitions.max(1)
}

/// Creates `__consumer_offsets` on first use, as Kafka does; returns its partition count.
pub async fn ensure_topic(broker: &Broker) -> Result<i32, ApiError> {
    if let Some(topic) = broker.image().topics.get(OFFSETS_TOPIC) {
        // Another request may have just created it: make sure its partitions are open
        // and replayed here before anyone is pointed at this broker.
        broker.sync_metadata();
        return Ok(topic.partitions.len() as i32);
    }
    let number = |key: &str, default: i64| {
        broker
            .config
            .get(key)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    let brokers = broker.image().brokers.len().max(1) as i64;
    let created = broker
        .controller
        .create_topic(NewTopic {
            name: OFFSETS_TOPIC.to_string(),
            partitions: number("offsets.topic.num.partitions", DEFAULT_PARTITIONS as i64) as i32,
            // Kafka refuses to create it with fewer brokers than the factor; a smaller
            // cluster gets as many replicas as it has brokers instead.
            replication_factor: number(
                "offsets.topic.replication.factor",
                DEFAULT_REPLICATION_FACTOR as i64,
            )
            .min(brokers) as i16,
            assignments: vec![],
            configs: [("cleanup.policy".to_string(), "compact".to_string())].into(),
            validate_only: false,
        })
        .await;
    broker.sync_metadata();
    match created {
        Ok(topic) => Ok(topic.partitions.len() as i32),
        Err(error) if error.error == ResponseError::TopicAlreadyExists => {
            Ok(broker.image().topics[OFFSETS_TOPIC].partitions.len() as i32)
        }
        Err(error) => Err(error),
    }
}

/// The partition of `__consumer_offsets` that is `group`'s home, when the topic exists.
pub fn home_partition(broker: &Broker, group: &str) -> Option<i32> {
    let image = broker.image();
    let topic = image.topics.get(OFFSETS_TOPIC)?;
    Some(partition_for(group, topic.partitions.len() as i32))
}

/// Whether this broker coordinates `group`: it leads the group's home partition and has
/// replayed it. Clients told NOT_COORDINATOR look the coordinator up again; told
/// COORDINATOR_LOAD_IN_PROGRESS, they retry here.
pub fn check_coordinator(broker: &Broker, group: &str) -> Result<(), ResponseError> {
    let index = home_partition(broker, group).ok_or(ResponseError::CoordinatorNotAvailable)?;
    let leads = broker
        .replicas
        .get(OFFSETS_TOPIC, index)
        .is_some_and(|p| p.role() == Role::Leader);
    if leads && broker.groups.is_loaded(index) {
        return Ok(());
    }
    let elected_here = broker
        .image()
        .topics
        .get(OFFSETS_TOPIC)
        .and_then(|topic| topic.partitions.get(index as usize))
        .is_some_and(|partition| partition.leader == broker.config.node_id);
    if elected_here {
        Err(ResponseError::CoordinatorLoadInProgress)
    } else {
        Err(ResponseError::NotCoordinator)
    }
}

/// Appends `records` (key, value or tombstone) to the group's partition and waits until
/// every in-sync replica has them.
pub async fn append(
    broker: &Broker,
    group: &str,
    records: Vec<(GroupRecordKey, Option<Bytes>)>,
) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let partitions = ensure_topic(broker).await?;
    let partition = broker
        .replicas
        .get(OFFSETS_TOPIC, partition_for(group, partitions))
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let now = now_ms();
    let batch: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1,
            timestamp: now,
            key: Some(key.encode()),
            value,
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut encoded = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut encoded,
        &batch,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
    let appended = partition
        .append_as_leader(&encoded, now, true)
        .map_err(|e| match e.error {
            ResponseError::NotLeaderOrFollower => ApiError::from(ResponseError::NotCoordinator),
            _ => e,
        })?;
    broker.replicas.notify_appended();
    partition
        .wait_for_replication(appended.last_offset, COMMIT_TIMEOUT)
        .await
        .map_err(|e| match e.error {
            ResponseError::NotLeaderOrFollower => ApiError::from(ResponseError::NotCoordinator),
            _ => e,
        })
}

/// Replays one partition of `__consumer_offsets` (up to its log end: a new leader's log
/// holds every acknowledged commit) and starts serving its groups.
pub fn load(broker: &Broker, partition: &Partition) {
    let mut offset = partition.log_start_offset();
    let mut loaded = 0usize;
    loop {
        let read = match partition.read_local(offset, REPLAY_READ_BYTES) {
            Ok(read) if !read.records.is_empty() => read,
            Ok(_) => break,
            Err(error) => {
                tracing::error!(partition = partition.index, %error, "cannot replay group records");
                break;
            }
        };
        let mut bytes = read.records;
        let Ok(sets) = RecordBatchDecoder::decode_all(&mut bytes) else {
            tracing::error!(
                partition = partition.index,
                offset,
                "undecodable group records"
            );
            break;
        };
        for record in sets.iter().flat_map(|set| &set.records) {
            if record.offset >= offset {
                apply(broker, record);
                loaded += 1;
                offset = record.offset + 1;
            }
        }
    }
    broker.groups.mark_loaded(partition.index);
    tracing::debug!(
        partition = partition.index,
        records = loaded,
        "loaded consumer group state"
    );
}

/// Stops serving the groups of a partition this broker no longer leads.
pub fn unload(broker: &Broker, partition: i32) {
    let Some(count) = broker
        .image()
        .topics
        .get(OFFSETS_TOPIC)
        .map(|t| t.partitions.len())
    else {
        return;
    };
    broker
        .groups
        .unload(partition, |group| partition_for(group, count as i32));
}

fn apply(broker: &Broker, record: &Record) {
    let Some(key) = record.key.clone().and_then(GroupRecordKey::decode) else {
        return;
    };
    if let GroupRecordKey::Offset {
        group,
        topic,
        partition,
    } = key
    {
        let value = record.value.clone().and_then(CommittedOffset::decode);
        broker
            .groups
            .store_offset(&group, (topic, partition), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_land_where_kafka_puts_them() {
        assert_eq!(
            java_hash("console-consumer-1"),
            "console-consumer-1"
                .chars()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
        );
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("group"), 98629247);
        assert_eq!(partition_for("group", 50), 98629247 % 50);
        assert!((0..50).contains(&partition_for(
            "a-very-long-group-name-with-a-negative-hash-code",
            50
        )));
    }
}
