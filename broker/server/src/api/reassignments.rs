//! AlterPartitionReassignments and ListPartitionReassignments: each partition's move is
//! started or cancelled through the controller, and those in progress are read from the
//! metadata image (its adding and removing replicas).

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use kafka_protocol::ResponseError;

use super::protocol_names::topic_name;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::metadata::MetadataImage;

pub async fn alter_partition_reassignments(
    broker: &Broker,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let mut response = AlterPartitionReassignmentsResponse::default();
    response.allow_replication_factor_change = request.allow_replication_factor_change;
    for topic in request.topics {
        let mut answers = ReassignableTopicResponse::default();
        answers.name = topic.name.clone();
        for partition in topic.partitions {
            let target = partition
                .replicas
                .map(|ids| ids.into_iter().map(|id| id.0).collect::<Vec<i32>>());
            let outcome = match check_replication_factor(
                &broker.image(),
                topic.name.as_str(),
                partition.partition_index,
                target.as_deref(),
                request.allow_replication_factor_change,
            ) {
                Ok(()) => {
                    broker
                        .controller
                        .reassign_partition(
                            topic.name.to_string(),
                            partition.partition_index,
                            target,
                        )
                        .await
                }
                Err(error) => Err(error),
            };
            let mut answer = ReassignablePartitionResponse::default();
            answer.partition_index = partition.partition_index;
            if let Err(error) = outcome {
                broker
                    .metrics
                    .count_error("AlterPartitionReassignments", &error);
                answer.error_code = error.error_code();
                answer.error_message = error.message_str();
            }
            answers.partitions.push(answer);
        }
        response.responses.push(answers);
    }
    broker.sync_metadata();
    response
}

/// With `allowReplicationFactorChange` false (v1), a target of another size is refused.
fn check_replication_factor(
    image: &MetadataImage,
    topic: &str,
    index: i32,
    target: Option<&[i32]>,
    allow_change: bool,
) -> Result<(), ApiError> {
    let current = image
        .topics
        .get(topic)
        .and_then(|t| t.partitions.get(usize::try_from(index).ok()?))
        .map(|p| p.original_replicas().len());
    match (target, current) {
        (Some(target), Some(current)) if !allow_change && target.len() != current => {
            Err(ApiError::new(
                ResponseError::InvalidReplicationFactor,
                format!("The replication factor is changed from {current} to {} but allowReplicationFactorChange is false", target.len()),
            ))
        }
        _ => Ok(()),
    }
}

pub fn list_partition_reassignments(
    broker: &Broker,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let image = broker.image();
    let wanted = |topic: &str, index: i32| match &request.topics {
        None => true,
        Some(topics) => topics
            .iter()
            .any(|t| t.name.as_str() == topic && t.partition_indexes.contains(&index)),
    };
    let mut response = ListPartitionReassignmentsResponse::default();
    for topic in image.topics.values() {
        let ongoing: Vec<OngoingPartitionReassignment> = topic
            .partitions
            .iter()
            .enumerate()
            .filter(|(index, partition)| {
                partition.is_reassigning() && wanted(&topic.name, *index as i32)
            })
            .map(|(index, partition)| {
                let ids = |list: &[i32]| list.iter().copied().map(BrokerId).collect();
                let mut answer = OngoingPartitionReassignment::default();
                answer.partition_index = index as i32;
                answer.replicas = ids(&partition.replicas);
                answer.adding_replicas = ids(&partition.adding_replicas);
                answer.removing_replicas = ids(&partition.removing_replicas);
                answer
            })
            .collect();
        if !ongoing.is_empty() {
            let mut answer = OngoingTopicReassignment::default();
            answer.name = topic_name(&topic.name);
            answer.partitions = ongoing;
            response.topics.push(answer);
        }
    }
    response
}
