//! The bytes a consumer group carries for the "consumer" protocol type: each member's
//! subscription in JoinGroup and each member's assignment in SyncGroup, both prefixed with
//! their schema version as Kafka's `ConsumerProtocol` writes them.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::cluster::TopicPartition;
use crate::error::ClientError;

/// The newest schema versions `kafka-protocol` knows; older members write lower ones.
const NEWEST_SUBSCRIPTION: i16 = 3;
const NEWEST_ASSIGNMENT: i16 = 3;

/// A subscription at version 0, which every consumer understands.
pub fn encode_subscription(topics: &[String]) -> Result<Bytes, ClientError> {
    let subscription = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.clone()))
            .collect(),
    );
    versioned(0, |buf| subscription.encode(buf, 0))
}

/// The topics of a member's subscription; `None` when the bytes are not a subscription.
pub fn decode_subscription(mut bytes: Bytes) -> Option<Vec<String>> {
    if bytes.remaining() < 2 {
        return None;
    }
    let version = bytes.get_i16().clamp(0, NEWEST_SUBSCRIPTION);
    ConsumerProtocolSubscription::decode(&mut bytes, version)
        .ok()
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
}

/// An assignment at version 0.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes, ClientError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
        by_topic
            .into_iter()
            .map(|(topic, partitions)| {
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_partitions(partitions)
            })
            .collect(),
    );
    versioned(0, |buf| assignment.encode(buf, 0))
}

/// The partitions in a member's assignment; empty when it is not a consumer assignment.
pub fn decode_assignment(mut bytes: Bytes) -> Vec<TopicPartition> {
    if bytes.remaining() < 2 {
        return Vec::new();
    }
    let version = bytes.get_i16().clamp(0, NEWEST_ASSIGNMENT);
    ConsumerProtocolAssignment::decode(&mut bytes, version)
        .map(|assignment| {
            assignment
                .assigned_partitions
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |&p| TopicPartition::new(t.topic.to_string(), p))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn versioned(
    version: i16,
    body: impl FnOnce(&mut BytesMut) -> Result<(), anyhow::Error>,
) -> Result<Bytes, ClientError> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    body(&mut buf).map_err(|e| ClientError::Protocol(format!("encoding group metadata: {e}")))?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_and_assignments_round_trip() {
        let topics = vec!["orders".to_string(), "payments".to_string()];
        assert_eq!(
            decode_subscription(encode_subscription(&topics).unwrap()),
            Some(topics)
        );
        let partitions = vec![
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 2),
            TopicPartition::new("payments", 1),
        ];
        assert_eq!(
            decode_assignment(encode_assignment(&partitions).unwrap()),
            partitions
        );
    }

    #[test]
    fn garbage_decodes_to_nothing() {
        assert_eq!(decode_subscription(Bytes::from_static(b"\x00")), None);
        assert_eq!(
            decode_subscription(Bytes::from_static(b"\x00\x00\x7f\xff\xff\xff")),
            None
        );
        assert!(decode_assignment(Bytes::from_static(b"\x00\x01\xff")).is_empty());
    }
}
