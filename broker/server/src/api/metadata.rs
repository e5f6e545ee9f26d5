//! Metadata: brokers, topics with ids, and each partition's leader, replicas and ISR.
//! Unknown topics are created on request when `auto.create.topics.enable` allows it.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::admin_topics::create_with_defaults;
use super::authorized_operations;
use super::protocol_names::topic_name;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::metadata::{validate_topic_name, MetadataImage, TopicImage};

/// Metadata, with each broker's address on the listener the client connected to.
pub async fn handle(
    broker: &Broker,
    request: MetadataRequest,
    version: i16,
    listener: &str,
) -> MetadataResponse {
    // v0 uses an empty list for "all topics"; later versions use null.
    let requested = match request.topics {
        Some(topics) if !(version == 0 && topics.is_empty()) => Some(topics),
        _ => None,
    };
    let mut topics = Vec::new();
    let image = match requested {
        None => {
            let image = broker.image();
            topics.extend(
                image
                    .topics
                    .values()
                    .map(|topic| describe_topic(&image, topic)),
            );
            image
        }
        Some(requested) => {
            let auto_create =
                broker.auto_create_topics() && (version < 4 || request.allow_auto_topic_creation);
            for wanted in requested {
                topics.push(match wanted.name {
                    Some(name) => topic_by_name(broker, name.as_str(), auto_create).await,
                    None => topic_by_id(&broker.image(), wanted.topic_id),
                });
            }
            broker.image()
        }
    };
    let mut response = MetadataResponse::default();
    response.brokers = image
        .live_brokers()
        .map(|b| {
            let mut broker = MetadataResponseBroker::default();
            broker.node_id = BrokerId(b.id);
            let (host, port) = b.address_on(listener);
            broker.host = StrBytes::from_string(host.to_string());
            broker.port = port as i32;
            broker.rack = b.rack.clone().map(StrBytes::from_string);
            broker
        })
        .collect();
    response.cluster_id = Some(StrBytes::from_string(image.cluster_id.clone()));
    response.controller_id = BrokerId(image.controller_id);
    response.cluster_authorized_operations =
        authorized_operations::cluster(request.include_cluster_authorized_operations);
    if request.include_topic_authorized_operations {
        for topic in topics.iter_mut().filter(|t| t.error_code == 0) {
            topic.topic_authorized_operations = authorized_operations::topic(true);
        }
    }
    response.topics = topics;
    response
}

async fn topic_by_name(broker: &Broker, name: &str, auto_create: bool) -> MetadataResponseTopic {
    let image = broker.image();
    if let Some(topic) = image.topics.get(name) {
        return describe_topic(&image, topic);
    }
    if let Err(message) = validate_topic_name(name) {
        return topic_error(
            Some(name),
            ApiError::new(ResponseError::InvalidTopicException, message),
        );
    }
    if !auto_create {
        return topic_error(Some(name), ResponseError::UnknownTopicOrPartition.into());
    }
    match create_with_defaults(broker, name).await {
        Ok(_) => {
            let image = broker.image();
            match image.topics.get(name) {
                Some(topic) => describe_topic(&image, topic),
                None => topic_error(Some(name), ResponseError::LeaderNotAvailable.into()),
            }
        }
        // Another client created it first: describe what exists.
        Err(error) if error.error == ResponseError::TopicAlreadyExists => {
            let image = broker.image();
            image.topics.get(name).map_or_else(
                || topic_error(Some(name), ResponseError::LeaderNotAvailable.into()),
                |topic| describe_topic(&image, topic),
            )
        }
        Err(error) => topic_error(Some(name), error),
    }
}

fn topic_by_id(image: &MetadataImage, id: uuid::Uuid) -> MetadataResponseTopic {
    match image.topic_by_id(id) {
        Some(topic) => describe_topic(image, topic),
        None => {
            let mut response = topic_error(None, ResponseError::UnknownTopicId.into());
            response.topic_id = id;
            response
        }
    }
}

pub fn describe_topic(image: &MetadataImage, topic: &TopicImage) -> MetadataResponseTopic {
    let mut response = MetadataResponseTopic::default();
    response.name = Some(topic_name(&topic.name));
    response.topic_id = topic.id;
    response.is_internal = topic.is_internal();
    response.topic_authorized_operations = authorized_operations::OMITTED;
    response.partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, partition)| {
            let mut described = MetadataResponsePartition::default();
            described.partition_index = index as i32;
            described.leader_id = BrokerId(partition.leader);
            described.leader_epoch = partition.leader_epoch;
            described.replica_nodes = partition.replicas.iter().copied().map(BrokerId).collect();
            described.isr_nodes = partition.isr.iter().copied().map(BrokerId).collect();
            described.offline_replicas = partition
                .replicas
                .iter()
                .filter(|id| !image.brokers.contains_key(id) || image.fenced_brokers.contains(id))
                .copied()
                .map(BrokerId)
                .collect();
            if partition.leader < 0 {
                described.error_code = ResponseError::LeaderNotAvailable.code();
            }
            described
        })
        .collect();
    response
}

fn topic_error(name: Option<&str>, error: ApiError) -> MetadataResponseTopic {
    let mut response = MetadataResponseTopic::default();
    response.name = name.map(topic_name);
    response.error_code = error.error_code();
    response.topic_authorized_operations = authorized_operations::OMITTED;
    response
}
