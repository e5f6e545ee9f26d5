//! CreateTopics, DeleteTopics and CreatePartitions: validate here, in the user's terms,
//! then ask the controller, which answers once the change is durable.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse,
};
use kafka_protocol::ResponseError;

use super::admin_configs::{described_topic_configs, validate_topic_configs};
use super::protocol_names::topic_name;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::metadata::{NewTopic, TopicImage};

pub async fn create_topics(broker: &Broker, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut response = CreateTopicsResponse::default();
    for topic in request.topics {
        let mut result = CreatableTopicResult::default();
        result.name = topic.name.clone();
        match create_one(broker, topic, request.validate_only).await {
            Ok(created) => {
                result.topic_id = if request.validate_only {
                    uuid::Uuid::nil()
                } else {
                    created.id
                };
                result.num_partitions = created.partitions.len() as i32;
                result.replication_factor = created.replication_factor() as i16;
                result.configs = Some(described_topic_configs(broker, &created.configs));
            }
            Err(error) => {
                broker.metrics.count_error("CreateTopics", &error);
                result.error_code = error.error_code();
                result.error_message = error.message_str();
                result.num_partitions = -1;
                result.replication_factor = -1;
            }
        }
        response.topics.push(result);
    }
    broker.sync_metadata();
    response
}

async fn create_one(
    broker: &Broker,
    topic: CreatableTopic,
    validate_only: bool,
) -> Result<TopicImage, ApiError> {
    let configs: BTreeMap<String, String> = topic
        .configs
        .iter()
        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
        .collect();
    validate_topic_configs(&configs)?;
    let has_assignments = !topic.assignments.is_empty();
    if has_assignments && (topic.num_partitions != -1 || topic.replication_factor != -1) {
        return Err(ApiError::new(
            ResponseError::InvalidRequest,
            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
        ));
    }
    let mut assignments = topic.assignments;
    assignments.sort_by_key(|a| a.partition_index);
    if assignments
        .iter()
        .enumerate()
        .any(|(i, a)| a.partition_index != i as i32)
    {
        return Err(ApiError::new(
            ResponseError::InvalidReplicaAssignment,
            "Partitions in the replica assignment must be numbered consecutively from 0",
        ));
    }
    let assignments: Vec<Vec<i32>> = assignments
        .into_iter()
        .map(|a| a.broker_ids.into_iter().map(|id| id.0).collect())
        .collect();
    let new_topic = NewTopic {
        name: topic.name.to_string(),
        partitions: if has_assignments {
            assignments.len() as i32
        } else if topic.num_partitions == -1 {
            broker.default_partitions()
        } else {
            topic.num_partitions
        },
        replication_factor: if has_assignments {
            assignments[0].len() as i16
        } else if topic.replication_factor == -1 {
            broker.default_replication_factor()
        } else {
            topic.replication_factor
        },
        assignments,
        configs,
        validate_only,
    };
    broker.controller.create_topic(new_topic).await
}

/// Creates a topic with the broker's defaults, for Metadata's auto-creation.
pub async fn create_with_defaults(broker: &Broker, name: &str) -> Result<TopicImage, ApiError> {
    let created = broker
        .controller
        .create_topic(NewTopic {
            name: name.to_string(),
            partitions: broker.default_partitions(),
            replication_factor: broker.default_replication_factor(),
            assignments: vec![],
            configs: BTreeMap::new(),
            validate_only: false,
        })
        .await;
    broker.sync_metadata();
    created
}

pub async fn delete_topics(broker: &Broker, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let image = broker.image();
    // Up to v5 topics come as names; from v6 as name-or-id states.
    let mut wanted: Vec<(Option<String>, uuid::Uuid)> = request
        .topic_names
        .iter()
        .map(|name| (Some(name.to_string()), uuid::Uuid::nil()))
        .collect();
    wanted.extend(
        request
            .topics
            .iter()
            .map(|state| (state.name.as_ref().map(|n| n.to_string()), state.topic_id)),
    );
    let mut response = DeleteTopicsResponse::default();
    for (name, id) in wanted {
        let mut result = DeletableTopicResult::default();
        let resolved = match &name {
            Some(name) => image.topics.get(name),
            None => image.topic_by_id(id),
        };
        result.name = name
            .as_deref()
            .or(resolved.map(|t| t.name.as_str()))
            .map(topic_name);
        result.topic_id = resolved.map_or(id, |t| t.id);
        let outcome = match resolved {
            None if name.is_none() => Err(ApiError::from(ResponseError::UnknownTopicId)),
            None => Err(ApiError::new(
                ResponseError::UnknownTopicOrPartition,
                "This server does not host this topic-partition.",
            )),
            Some(topic) => broker.controller.delete_topic(topic.name.clone()).await,
        };
        if let Err(error) = outcome {
            broker.metrics.count_error("DeleteTopics", &error);
            result.error_code = error.error_code();
            result.error_message = error.message_str();
        }
        response.responses.push(result);
    }
    broker.sync_metadata();
    response
}

pub async fn create_partitions(
    broker: &Broker,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut response = CreatePartitionsResponse::default();
    for topic in request.topics {
        let mut result = CreatePartitionsTopicResult::default();
        result.name = topic.name.clone();
        let outcome = if topic.assignments.is_some() {
            Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                "Manual replica assignment for new partitions is not supported; omit it to let the cluster place them",
            ))
        } else {
            broker
                .controller
                .create_partitions(topic.name.to_string(), topic.count, request.validate_only)
                .await
        };
        if let Err(error) = outcome {
            broker.metrics.count_error("CreatePartitions", &error);
            result.error_code = error.error_code();
            result.error_message = error.message_str();
        }
        response.results.push(result);
    }
    broker.sync_metadata();
    response
}
