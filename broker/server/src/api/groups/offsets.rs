//! Committed offsets: OffsetCommit, OffsetFetch and OffsetDelete.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::protocol_names::topic_name;
use crate::broker::Broker;
use crate::clock::now_ms;
use crate::group::membership::GroupState;
use crate::group::records::{CommittedOffset, GroupRecordKey};
use crate::group::store;

/// Commits from group members must carry the current generation; a commit with generation
/// -1 (a standalone consumer or an admin tool) is accepted while the group has no members.
fn check_commit(
    broker: &Broker,
    group_id: &str,
    member_id: &str,
    generation: i32,
) -> Result<(), ResponseError> {
    broker
        .groups
        .with_existing(group_id, |group| {
            if generation < 0 && member_id.is_empty() {
                return if group.members.is_empty() {
                    Ok(())
                } else {
                    Err(ResponseError::UnknownMemberId)
                };
            }
            if !group.members.contains_key(member_id) {
                return Err(ResponseError::UnknownMemberId);
            }
            if generation != group.generation {
                return Err(ResponseError::IllegalGeneration);
            }
            // Members may still commit while a rebalance gathers them (revoking partitions
            // commits first), but not between JoinGroup and SyncGroup.
            match group.state {
                GroupState::CompletingRebalance => Err(ResponseError::RebalanceInProgress),
                _ => Ok(()),
            }
        })
        .unwrap_or(if generation < 0 {
            Ok(())
        } else {
            Err(ResponseError::IllegalGeneration)
        })
}

pub async fn offset_commit(broker: &Broker, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_id = request.group_id.to_string();
    let checked = if group_id.is_empty() {
        Err(ResponseError::InvalidGroupId)
    } else if let Err(error) = store::check_coordinator(broker, &group_id) {
        Err(error)
    } else {
        check_commit(
            broker,
            &group_id,
            request.member_id.as_str(),
            request.generation_id_or_member_epoch,
        )
    };
    let image = broker.image();
    let now = now_ms();
    let mut records = Vec::new();
    let mut response = OffsetCommitResponse::default();
    for topic in &request.topics {
        let mut topic_response = OffsetCommitResponseTopic::default();
        topic_response.name = topic.name.clone();
        let partition_count = image
            .topics
            .get(topic.name.as_str())
            .map(|t| t.partitions.len() as i32);
        for partition in &topic.partitions {
            let error = match (checked, partition_count) {
                (Err(error), _) => Some(error),
                (Ok(()), Some(count)) if (0..count).contains(&partition.partition_index) => None,
                _ => Some(ResponseError::UnknownTopicOrPartition),
            };
            if error.is_none() {
                let value = CommittedOffset {
                    offset: partition.committed_offset,
                    leader_epoch: partition.committed_leader_epoch,
                    metadata: partition
                        .committed_metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    commit_timestamp: now,
                };
                records.push((
                    GroupRecordKey::Offset {
                        group: group_id.clone(),
                        topic: topic.name.to_string(),
                        partition: partition.partition_index,
                    },
                    value,
                ));
            }
            let mut answer = OffsetCommitResponsePartition::default();
            answer.partition_index = partition.partition_index;
            answer.error_code = error.map_or(0, |e| e.code());
            topic_response.partitions.push(answer);
        }
        response.topics.push(topic_response);
    }
    let encoded = records
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.encode())))
        .collect();
    if let Err(error) = store::append(broker, &group_id, encoded).await {
        broker.metrics.count_error("OffsetCommit", &error);
        for partition in response.topics.iter_mut().flat_map(|t| &mut t.partitions) {
            if partition.error_code == 0 {
                partition.error_code = error.error_code();
            }
        }
        return response;
    }
    for (key, value) in records {
        if let GroupRecordKey::Offset {
            topic, partition, ..
        } = key
        {
            broker
                .groups
                .store_offset(&group_id, (topic, partition), Some(value));
        }
    }
    response
}

/// A partition's committed offset as OffsetFetch reports it; offset -1 when none.
struct FetchedOffset {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: String,
}

/// One group's committed offsets for the requested topics (all topics when `None`).
fn fetch_offsets(
    broker: &Broker,
    group_id: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Vec<(String, Vec<FetchedOffset>)> {
    let committed = broker.groups.committed(group_id);
    let wanted = topics.unwrap_or_else(|| {
        let mut all: Vec<(String, Vec<i32>)> = Vec::new();
        for (topic, partition) in committed.keys() {
            match all.last_mut() {
                Some((last, partitions)) if last == topic => partitions.push(*partition),
                _ => all.push((topic.clone(), vec![*partition])),
            }
        }
        all
    });
    wanted
        .into_iter()
        .map(|(topic, partitions)| {
            let found = partitions
                .into_iter()
                .map(
                    |partition| match committed.get(&(topic.clone(), partition)) {
                        Some(c) => FetchedOffset {
                            partition,
                            offset: c.offset,
                            leader_epoch: c.leader_epoch,
                            metadata: c.metadata.clone(),
                        },
                        None => FetchedOffset {
                            partition,
                            offset: -1,
                            leader_epoch: -1,
                            metadata: String::new(),
                        },
                    },
                )
                .collect();
            (topic, found)
        })
        .collect()
}

pub fn offset_fetch(
    broker: &Broker,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let mut response = OffsetFetchResponse::default();
    if version >= 8 {
        for group in &request.groups {
            let topics = group.topics.as_ref().map(|topics| {
                topics
                    .iter()
                    .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                    .collect()
            });
            let mut answer = OffsetFetchResponseGroup::default();
            answer.group_id = group.group_id.clone();
            if let Err(error) = store::check_coordinator(broker, group.group_id.as_str()) {
                answer.error_code = error.code();
                response.groups.push(answer);
                continue;
            }
            answer.topics = fetch_offsets(broker, group.group_id.as_str(), topics)
                .into_iter()
                .map(|(topic, partitions)| {
                    let mut t = OffsetFetchResponseTopics::default();
                    t.name = topic_name(&topic);
                    t.partitions = partitions
                        .into_iter()
                        .map(|fetched| {
                            let mut p = OffsetFetchResponsePartitions::default();
                            p.partition_index = fetched.partition;
                            p.committed_offset = fetched.offset;
                            p.committed_leader_epoch = fetched.leader_epoch;
                            p.metadata = Some(StrBytes::from_string(fetched.metadata));
                            p
                        })
                        .collect();
                    t
                })
                .collect();
            response.groups.push(answer);
        }
        return response;
    }
    if let Err(error) = store::check_coordinator(broker, request.group_id.as_str()) {
        response.error_code = error.code();
        return response;
    }
    let topics = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    response.topics = fetch_offsets(broker, request.group_id.as_str(), topics)
        .into_iter()
        .map(|(topic, partitions)| {
            let mut t = OffsetFetchResponseTopic::default();
            t.name = topic_name(&topic);
            t.partitions = partitions
                .into_iter()
                .map(|fetched| {
                    let mut p = OffsetFetchResponsePartition::default();
                    p.partition_index = fetched.partition;
                    p.committed_offset = fetched.offset;
                    p.committed_leader_epoch = fetched.leader_epoch;
                    p.metadata = Some(StrBytes::from_string(fetched.metadata));
                    p
                })
                .collect();
            t
        })
        .collect();
    response
}

pub async fn offset_delete(broker: &Broker, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group_id = request.group_id.to_string();
    let mut response = OffsetDeleteResponse::default();
    if let Err(error) = store::check_coordinator(broker, &group_id) {
        response.error_code = error.code();
        return response;
    }
    if broker.groups.describe(&group_id).is_none() {
        response.error_code = ResponseError::GroupIdNotFound.code();
        return response;
    }
    let mut tombstones = Vec::new();
    for topic in &request.topics {
        let subscribed = broker
            .groups
            .with_existing(&group_id, |g| g.is_subscribed_to(topic.name.as_str()))
            .unwrap_or(false);
        let mut topic_response = OffsetDeleteResponseTopic::default();
        topic_response.name = topic.name.clone();
        for partition in &topic.partitions {
            let mut answer = OffsetDeleteResponsePartition::default();
            answer.partition_index = partition.partition_index;
            if subscribed {
                answer.error_code = ResponseError::GroupSubscribedToTopic.code();
            } else {
                tombstones.push(GroupRecordKey::Offset {
                    group: group_id.clone(),
                    topic: topic.name.to_string(),
                    partition: partition.partition_index,
                });
            }
            topic_response.partitions.push(answer);
        }
        response.topics.push(topic_response);
    }
    let records = tombstones.iter().map(|k| (k.clone(), None)).collect();
    if let Err(error) = store::append(broker, &group_id, records).await {
        response.error_code = error.error_code();
        return response;
    }
    for key in tombstones {
        if let GroupRecordKey::Offset {
            topic, partition, ..
        } = key
        {
            broker
                .groups
                .store_offset(&group_id, (topic, partition), None);
        }
    }
    response
}
