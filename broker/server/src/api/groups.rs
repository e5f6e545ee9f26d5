//! Consumer group APIs: FindCoordinator, the classic membership protocol (JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup), committed offsets (OffsetCommit, OffsetFetch,
//! OffsetDelete) and administration (DescribeGroups, ListGroups, DeleteGroups).

use std::time::{Duration, Instant};

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
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
    BrokerId, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
    OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::now_ms;
use super::produce::topic_name;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::group::membership::{GroupState, JoinRequest};
use crate::group::records::{CommittedOffset, GroupRecordKey};
use crate::group::store;

/// Kafka's FindCoordinator key types.
const KEY_TYPE_GROUP: i8 = 0;

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

pub async fn find_coordinator(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let ready = if request.key_type != KEY_TYPE_GROUP {
        Err(ApiError::new(
            ResponseError::CoordinatorNotAvailable,
            "Transactions are not supported by this broker",
        ))
    } else {
        store::ensure_topic(broker).await.map(|_| ())
    };
    let locate = |key: &str| -> Result<(i32, String, i32), ApiError> {
        ready.clone()?;
        coordinator_of(broker, key)
    };
    let mut response = FindCoordinatorResponse::default();
    if version < 4 {
        match locate(request.key.as_str()) {
            Ok((node_id, host, port)) => {
                response.node_id = BrokerId(node_id);
                response.host = text(&host);
                response.port = port;
            }
            Err(error) => {
                response.error_code = error.error_code();
                response.error_message = error.message_str();
                response.node_id = BrokerId(-1);
            }
        }
        return response;
    }
    response.coordinators = keys
        .into_iter()
        .map(|key| {
            let mut coordinator = Coordinator::default();
            match locate(key.as_str()) {
                Ok((node_id, host, port)) => {
                    coordinator.node_id = BrokerId(node_id);
                    coordinator.host = text(&host);
                    coordinator.port = port;
                }
                Err(error) => {
                    coordinator.error_code = error.error_code();
                    coordinator.error_message = error.message_str();
                    coordinator.node_id = BrokerId(-1);
                }
            }
            coordinator.key = key;
            coordinator
        })
        .collect();
    response
}

/// The broker leading `group`'s home partition of `__consumer_offsets`: its id and address.
fn coordinator_of(broker: &Broker, group: &str) -> Result<(i32, String, i32), ApiError> {
    let image = broker.image();
    let unavailable = || {
        ApiError::new(
            ResponseError::CoordinatorNotAvailable,
            format!("The coordinator of group {group} is not available: its __consumer_offsets partition has no leader"),
        )
    };
    let index = store::home_partition(broker, group).ok_or_else(unavailable)?;
    let leader = image.topics[store::OFFSETS_TOPIC].partitions[index as usize].leader;
    let node = image.brokers.get(&leader).ok_or_else(unavailable)?;
    Ok((node.id, node.host.clone(), node.port as i32))
}

pub async fn join_group(
    broker: &Broker,
    request: JoinGroupRequest,
    version: i16,
    client_id: String,
    peer: std::net::SocketAddr,
) -> JoinGroupResponse {
    let mut response = JoinGroupResponse::default();
    response.generation_id = -1;
    let group_id = request.group_id.to_string();
    let config = &broker.groups.config;
    let session = request.session_timeout_ms as i64;
    let error = if group_id.is_empty() {
        Some(ResponseError::InvalidGroupId)
    } else if let Err(error) = store::check_coordinator(broker, &group_id) {
        Some(error)
    } else if session < config.min_session_timeout_ms || session > config.max_session_timeout_ms {
        Some(ResponseError::InvalidSessionTimeout)
    } else {
        None
    };
    if let Some(error) = error {
        response.error_code = error.code();
        response.member_id = request.member_id;
        return response;
    }
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    let rebalance_timeout = if request.rebalance_timeout_ms > 0 {
        request.rebalance_timeout_ms
    } else {
        request.session_timeout_ms
    };
    let join = JoinRequest {
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id,
        client_host: format!("/{}", peer.ip()),
        session_timeout: Duration::from_millis(request.session_timeout_ms as u64),
        rebalance_timeout: Duration::from_millis(rebalance_timeout as u64),
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let waiting = broker
        .groups
        .with_group(&group_id, |group| group.join(join, Instant::now()));
    let outcome = match waiting {
        Err(immediate) => *immediate,
        Ok(receiver) => match receiver.await {
            Ok(outcome) => outcome,
            Err(_) => {
                response.error_code = ResponseError::UnknownMemberId.code();
                response.member_id = request.member_id;
                return response;
            }
        },
    };
    response.error_code = outcome.error.map_or(0, |e| e.code());
    response.generation_id = outcome.generation;
    response.protocol_type = outcome.protocol_type.map(StrBytes::from_string);
    response.protocol_name = outcome.protocol.map(StrBytes::from_string);
    response.leader = StrBytes::from_string(outcome.leader);
    response.member_id = StrBytes::from_string(outcome.member_id);
    response.members = outcome
        .members
        .into_iter()
        .map(|(id, instance, metadata)| {
            let mut member = JoinGroupResponseMember::default();
            member.member_id = StrBytes::from_string(id);
            member.group_instance_id = instance.map(StrBytes::from_string);
            member.metadata = metadata;
            member
        })
        .collect();
    response
}

pub async fn sync_group(broker: &Broker, request: SyncGroupRequest) -> SyncGroupResponse {
    let group_id = request.group_id.to_string();
    if let Err(error) = store::check_coordinator(broker, &group_id) {
        let mut response = SyncGroupResponse::default();
        response.error_code = error.code();
        return response;
    }
    let member_id = request.member_id.to_string();
    let assignments = request
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let waiting = broker
        .groups
        .with_existing(&group_id, |group| {
            let waiting = group.sync(
                &member_id,
                request.generation_id,
                assignments,
                Instant::now(),
            );
            let stored = (group.protocol_type.clone(), group.protocol.clone());
            waiting.map(|(receiver, stable)| (receiver, stable, stored))
        })
        .unwrap_or(Err(ResponseError::UnknownMemberId));
    let mut response = SyncGroupResponse::default();
    let (receiver, _, (protocol_type, protocol)) = match waiting {
        Ok(waiting) => waiting,
        Err(error) => {
            response.error_code = error.code();
            return response;
        }
    };
    match receiver.await {
        Ok(Ok(assignment)) => {
            response.assignment = assignment;
            response.protocol_type = protocol_type.map(StrBytes::from_string);
            response.protocol_name = protocol.map(StrBytes::from_string);
        }
        Ok(Err(error)) => response.error_code = error.code(),
        Err(_) => response.error_code = ResponseError::UnknownMemberId.code(),
    }
    response
}

pub fn heartbeat(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
    let outcome = store::check_coordinator(broker, request.group_id.as_str()).and_then(|()| {
        broker
            .groups
            .with_existing(request.group_id.as_str(), |group| {
                group.heartbeat(
                    request.member_id.as_str(),
                    request.generation_id,
                    Instant::now(),
                )
            })
            .unwrap_or(Err(ResponseError::UnknownMemberId))
    });
    let mut response = HeartbeatResponse::default();
    response.error_code = outcome.err().map_or(0, |e| e.code());
    response
}

pub fn leave_group(
    broker: &Broker,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let leaving: Vec<(StrBytes, Option<StrBytes>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.group_instance_id.clone()))
            .collect()
    } else {
        vec![(request.member_id.clone(), None)]
    };
    if let Err(error) = store::check_coordinator(broker, request.group_id.as_str()) {
        let mut response = LeaveGroupResponse::default();
        response.error_code = error.code();
        return response;
    }
    let now = Instant::now();
    let results: Vec<(StrBytes, Option<StrBytes>, i16)> = leaving
        .into_iter()
        .map(|(member_id, instance)| {
            let outcome = broker
                .groups
                .with_existing(request.group_id.as_str(), |group| {
                    group.leave(member_id.as_str(), now)
                })
                .unwrap_or(Err(ResponseError::UnknownMemberId));
            (member_id, instance, outcome.err().map_or(0, |e| e.code()))
        })
        .collect();
    let mut response = LeaveGroupResponse::default();
    if version >= 3 {
        response.members = results
            .into_iter()
            .map(|(member_id, instance, error_code)| {
                let mut member = MemberResponse::default();
                member.member_id = member_id;
                member.group_instance_id = instance;
                member.error_code = error_code;
                member
            })
            .collect();
    } else {
        response.error_code = results.first().map_or(0, |r| r.2);
    }
    response
}

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

pub fn describe_groups(
    broker: &Broker,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let mut response = DescribeGroupsResponse::default();
    for group_id in request.groups {
        let mut described = DescribedGroup::default();
        if let Err(error) = store::check_coordinator(broker, group_id.as_str()) {
            described.error_code = error.code();
            described.group_id = group_id;
            response.groups.push(described);
            continue;
        }
        match broker.groups.describe(group_id.as_str()) {
            Some(summary) => {
                described.group_state = text(summary.state);
                described.protocol_type = StrBytes::from_string(summary.protocol_type);
                described.protocol_data = StrBytes::from_string(summary.protocol);
                described.members = summary
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut member = DescribedGroupMember::default();
                        member.member_id = StrBytes::from_string(m.id);
                        member.group_instance_id = m.group_instance_id.map(StrBytes::from_string);
                        member.client_id = StrBytes::from_string(m.client_id);
                        member.client_host = StrBytes::from_string(m.client_host);
                        member.member_metadata = m.metadata;
                        member.member_assignment = m.assignment;
                        member
                    })
                    .collect();
            }
            None => {
                described.group_state = text("Dead");
                if version >= 6 {
                    described.error_code = ResponseError::GroupIdNotFound.code();
                    described.error_message =
                        Some(text(&format!("Group {} not found.", group_id.as_str())));
                }
            }
        }
        described.group_id = group_id;
        response.groups.push(described);
    }
    response
}

pub fn list_groups(broker: &Broker, request: ListGroupsRequest) -> ListGroupsResponse {
    let mut response = ListGroupsResponse::default();
    for id in broker.groups.group_ids() {
        if store::check_coordinator(broker, &id).is_err() {
            continue;
        }
        let Some(summary) = broker.groups.describe(&id) else {
            continue;
        };
        if !request.states_filter.is_empty()
            && !request
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(summary.state))
        {
            continue;
        }
        let mut listed = ListedGroup::default();
        listed.group_id = GroupId(StrBytes::from_string(id));
        listed.protocol_type = StrBytes::from_string(summary.protocol_type);
        listed.group_state = text(summary.state);
        listed.group_type = text("classic");
        response.groups.push(listed);
    }
    response
}

pub async fn delete_groups(broker: &Broker, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut response = DeleteGroupsResponse::default();
    for group_id in request.groups_names {
        let id = group_id.to_string();
        let described = store::check_coordinator(broker, &id).map(|()| broker.groups.describe(&id));
        let error = match described {
            Err(error) => Some(error),
            Ok(None) => Some(ResponseError::GroupIdNotFound),
            Ok(Some(summary)) if !summary.members.is_empty() => Some(ResponseError::NonEmptyGroup),
            Ok(Some(_)) => {
                let tombstones: Vec<(GroupRecordKey, Option<bytes::Bytes>)> = broker
                    .groups
                    .committed(&id)
                    .into_keys()
                    .map(|(topic, partition)| {
                        (
                            GroupRecordKey::Offset {
                                group: id.clone(),
                                topic,
                                partition,
                            },
                            None,
                        )
                    })
                    .chain(std::iter::once((
                        GroupRecordKey::Group { group: id.clone() },
                        None,
                    )))
                    .collect();
                match store::append(broker, &id, tombstones).await {
                    Ok(()) => {
                        broker.groups.remove(&id);
                        None
                    }
                    Err(error) => Some(error.error),
                }
            }
        };
        let mut result = DeletableGroupResult::default();
        result.group_id = group_id;
        result.error_code = error.map_or(0, |e| e.code());
        response.results.push(result);
    }
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
