//! Consumer group administration: list, describe, read and set committed offsets, delete
//! groups and offsets. Requests about a group go to its coordinator, found with
//! FindCoordinator, as Kafka's admin client does.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest,
    OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::AdminClient;
use crate::cluster::TopicPartition;
use crate::connection::Connection;
use crate::consumer::protocol::decode_assignment;
use crate::error::{check, ClientError, KafkaError};

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// The assignment strategy the group agreed on ("range", ...).
    pub protocol: String,
    pub coordinator: i32,
    /// `host:port` of the coordinator, as the cluster advertises it.
    pub coordinator_address: String,
    pub members: Vec<MemberDescription>,
}

fn group_id(name: &str) -> GroupId {
    GroupId(StrBytes::from_string(name.to_string()))
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

impl AdminClient {
    /// A connection to the coordinator of `group`, and its broker id.
    async fn coordinator(&self, group: &str) -> Result<(Arc<Connection>, i32), ClientError> {
        let id = self.cluster.group_coordinator(group).await?;
        Ok((self.cluster.connection(id).await?, id))
    }

    /// Every group of every broker.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>, ClientError> {
        let brokers: Vec<i32> = self
            .cluster
            .metadata(Some(&[]), false)
            .await?
            .brokers
            .keys()
            .copied()
            .collect();
        let mut groups = Vec::new();
        for broker in brokers {
            let connection = self.cluster.connection(broker).await?;
            let response = connection.send(ListGroupsRequest::default()).await?;
            check(response.error_code, None)?;
            groups.extend(response.groups.into_iter().map(|g| GroupListing {
                group_id: g.group_id.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
            }));
        }
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(groups)
    }

    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription, ClientError> {
        let (connection, coordinator) = self.coordinator(group).await?;
        let response = connection
            .send(DescribeGroupsRequest::default().with_groups(vec![group_id(group)]))
            .await?;
        let described = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Protocol("DescribeGroups answered no group".into()))?;
        check(described.error_code, described.error_message.as_deref())?;
        let coordinator_address = self
            .cluster
            .metadata(Some(&[]), false)
            .await?
            .brokers
            .get(&coordinator)
            .map_or_else(String::new, |b| format!("{}:{}", b.host, b.port));
        Ok(GroupDescription {
            coordinator_address,
            group_id: group.to_string(),
            state: described.group_state.to_string(),
            protocol_type: described.protocol_type.to_string(),
            protocol: described.protocol_data.to_string(),
            coordinator,
            members: described
                .members
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.to_string(),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment: decode_assignment(m.member_assignment),
                })
                .collect(),
        })
    }

    /// The group's committed offsets, by partition.
    pub async fn group_offsets(
        &self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let (connection, _) = self.coordinator(group).await?;
        let request = OffsetFetchRequest::default()
            .with_group_id(group_id(group))
            .with_topics(None);
        // Up to v7 OffsetFetch answers one group at the top level.
        let version = connection.version_for(ApiKey::OffsetFetch)?.min(7);
        let response = connection.send_at(version, request).await?;
        check(response.error_code, None)?;
        let mut offsets = BTreeMap::new();
        for topic in response.topics {
            for partition in topic.partitions {
                check(partition.error_code, None)?;
                if partition.committed_offset >= 0 {
                    offsets.insert(
                        TopicPartition::new(topic.name.to_string(), partition.partition_index),
                        partition.committed_offset,
                    );
                }
            }
        }
        Ok(offsets)
    }

    /// Sets committed offsets of a group without members (as `--reset-offsets --execute`).
    pub async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, Result<(), KafkaError>>, ClientError> {
        self.commit_offsets(group, -1, "", offsets).await
    }

    /// Commits `offsets` for `group`, as the member `member_id` of `generation` (or -1 and
    /// an empty id from outside the group).
    pub(crate) async fn commit_offsets(
        &self,
        group: &str,
        generation: i32,
        member_id: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, Result<(), KafkaError>>, ClientError> {
        let (connection, _) = self.coordinator(group).await?;
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, offset) in offsets {
            topics.entry(&tp.topic).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(*offset)
                    .with_committed_leader_epoch(-1),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(group_id(group))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(StrBytes::from_string(member_id.to_string()))
            .with_retention_time_ms(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(name))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        // v10 names topics by id; names are what this client has.
        let version = connection.version_for(ApiKey::OffsetCommit)?.min(9);
        let response = connection.send_at(version, request).await?;
        Ok(response
            .topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name.to_string();
                t.partitions.into_iter().map(move |p| {
                    (
                        TopicPartition::new(name.clone(), p.partition_index),
                        check(p.error_code, None),
                    )
                })
            })
            .collect())
    }

    pub async fn delete_groups(
        &self,
        groups: &[String],
    ) -> Result<BTreeMap<String, Result<(), KafkaError>>, ClientError> {
        let mut results = BTreeMap::new();
        for group in groups {
            let (connection, _) = self.coordinator(group).await?;
            let response = connection
                .send(DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]))
                .await?;
            for result in response.results {
                results.insert(result.group_id.to_string(), check(result.error_code, None));
            }
        }
        Ok(results)
    }

    pub async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Result<(), KafkaError>>, ClientError> {
        let (connection, _) = self.coordinator(group).await?;
        let mut topics: BTreeMap<&str, Vec<OffsetDeleteRequestPartition>> = BTreeMap::new();
        for tp in partitions {
            topics
                .entry(&tp.topic)
                .or_default()
                .push(OffsetDeleteRequestPartition::default().with_partition_index(tp.partition));
        }
        let request = OffsetDeleteRequest::default()
            .with_group_id(group_id(group))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        OffsetDeleteRequestTopic::default()
                            .with_name(topic_name(name))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let response = connection.send(request).await?;
        check(response.error_code, None)?;
        Ok(response
            .topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name.to_string();
                t.partitions.into_iter().map(move |p| {
                    (
                        TopicPartition::new(name.clone(), p.partition_index),
                        check(p.error_code, None),
                    )
                })
            })
            .collect())
    }
}
