//! Cluster-wide descriptions: DescribeCluster, DescribeTopicPartitions (what recent
//! `kafka-topics --describe` uses, paged by a cursor) and DescribeLogDirs.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::authorized_operations;
use super::protocol_names::topic_name;
use crate::broker::Broker;
use crate::metadata::TopicImage;
use crate::replica::free_space;

/// Kafka's `DescribeLogDirsResponse.UNKNOWN_VOLUME_BYTES`.
const UNKNOWN_VOLUME_BYTES: i64 = -1;

pub fn describe_cluster(
    broker: &Broker,
    request: DescribeClusterRequest,
    version: i16,
    listener: &str,
) -> DescribeClusterResponse {
    let image = broker.image();
    let mut response = DescribeClusterResponse::default();
    response.cluster_id = StrBytes::from_string(image.cluster_id.clone());
    response.controller_id = BrokerId(image.controller_id);
    if version >= 1 {
        response.endpoint_type = request.endpoint_type;
    }
    response.cluster_authorized_operations =
        authorized_operations::cluster(request.include_cluster_authorized_operations);
    response.brokers = image
        .brokers
        .values()
        .map(|info| {
            let mut described = DescribeClusterBroker::default();
            described.broker_id = BrokerId(info.id);
            let (host, port) = info.address_on(listener);
            described.host = StrBytes::from_string(host.to_string());
            described.port = port as i32;
            described.rack = info.rack.clone().map(StrBytes::from_string);
            // Fencing is reported from v2 on.
            if version >= 2 {
                described.is_fenced = image.fenced_brokers.contains(&info.id);
            }
            described
        })
        .collect();
    response
}

pub fn describe_topic_partitions(
    broker: &Broker,
    request: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let image = broker.image();
    let mut names: Vec<String> = if request.topics.is_empty() {
        image.topics.keys().cloned().collect()
    } else {
        request.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.sort();
    let (start_topic, start_partition) = request.cursor.as_ref().map_or((String::new(), 0), |c| {
        (c.topic_name.to_string(), c.partition_index)
    });
    let mut budget = request.response_partition_limit.max(1) as usize;
    let mut response = DescribeTopicPartitionsResponse::default();
    for name in names.into_iter().filter(|name| *name >= start_topic) {
        let Some(topic) = image.topics.get(&name) else {
            let mut missing = DescribeTopicPartitionsResponseTopic::default();
            missing.name = Some(topic_name(&name));
            missing.error_code = ResponseError::UnknownTopicOrPartition.code();
            missing.topic_authorized_operations = authorized_operations::OMITTED;
            response.topics.push(missing);
            continue;
        };
        let first = if name == start_topic {
            start_partition.max(0) as usize
        } else {
            0
        };
        let (described, next) = describe_partitions(topic, first, budget);
        budget -= described.partitions.len();
        response.topics.push(described);
        if let Some(partition_index) = next {
            let mut cursor = Cursor::default();
            cursor.topic_name = topic_name(&name);
            cursor.partition_index = partition_index;
            response.next_cursor = Some(cursor);
            break;
        }
    }
    response
}

/// Up to `budget` partitions from `first`; also the next partition index when some remain.
fn describe_partitions(
    topic: &TopicImage,
    first: usize,
    budget: usize,
) -> (DescribeTopicPartitionsResponseTopic, Option<i32>) {
    let mut described = DescribeTopicPartitionsResponseTopic::default();
    described.name = Some(topic_name(&topic.name));
    described.topic_id = topic.id;
    described.is_internal = topic.is_internal();
    // The request has no flag for them: Kafka always answers them here.
    described.topic_authorized_operations = authorized_operations::topic(true);
    let end = topic.partitions.len().min(first + budget);
    for (index, partition) in topic.partitions.iter().enumerate().take(end).skip(first) {
        let mut p = DescribeTopicPartitionsResponsePartition::default();
        p.partition_index = index as i32;
        p.leader_id = BrokerId(partition.leader);
        p.leader_epoch = partition.leader_epoch;
        p.replica_nodes = partition.replicas.iter().copied().map(BrokerId).collect();
        p.isr_nodes = partition.isr.iter().copied().map(BrokerId).collect();
        p.eligible_leader_replicas = Some(Vec::new());
        p.last_known_elr = Some(Vec::new());
        described.partitions.push(p);
    }
    let next = (end < topic.partitions.len()).then_some(end as i32);
    (described, next)
}

pub fn describe_log_dirs(
    broker: &Broker,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let wanted = |topic: &str, partition: i32| match &request.topics {
        None => true,
        Some(topics) => topics
            .iter()
            .any(|t| t.topic.as_str() == topic && t.partitions.contains(&partition)),
    };
    let mut by_topic: std::collections::BTreeMap<String, Vec<DescribeLogDirsPartition>> =
        Default::default();
    for partition in broker.replicas.all() {
        if !wanted(&partition.topic, partition.index) {
            continue;
        }
        let mut described = DescribeLogDirsPartition::default();
        described.partition_index = partition.index;
        described.partition_size = partition.size_bytes() as i64;
        by_topic
            .entry(partition.topic.clone())
            .or_default()
            .push(described);
    }
    let mut result = DescribeLogDirsResult::default();
    let log_dir = broker.replicas.log_dir();
    result.log_dir = StrBytes::from_string(log_dir.path().display().to_string());
    if let Err(offline) = log_dir.check() {
        result.error_code = offline.error_code();
    }
    let (usable, total) = free_space(log_dir.path()).map_or(
        (UNKNOWN_VOLUME_BYTES, UNKNOWN_VOLUME_BYTES),
        |(free, total)| (free as i64, total as i64),
    );
    result.total_bytes = total;
    result.usable_bytes = usable;
    result.topics = by_topic
        .into_iter()
        .map(|(name, mut partitions)| {
            partitions.sort_by_key(|p| p.partition_index);
            let mut topic = DescribeLogDirsTopic::default();
            topic.name = topic_name(&name);
            topic.partitions = partitions;
            topic
        })
        .collect();
    let mut response = DescribeLogDirsResponse::default();
    response.results = vec![result];
    response
}
