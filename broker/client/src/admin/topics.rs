//! Creating, deleting, growing, listing and describing topics.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeTopicPartitionsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{AdminClient, ADMIN_TIMEOUT_MS};
use crate::cluster::TopicMetadata;
use crate::error::{check, ClientError, KafkaError};

/// Partitions per DescribeTopicPartitions response (the Java admin client's default).
const DESCRIBE_PARTITION_LIMIT: i32 = 2000;

/// A topic to create. `None` partitions or replication factor leave the choice to the
/// broker's defaults (`num.partitions`, `default.replication.factor`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i16>,
    /// Explicit replicas per partition; when set, partitions and replication factor are unset.
    pub replica_assignment: BTreeMap<i32, Vec<i32>>,
    pub configs: Vec<(String, String)>,
}

/// A partition count increase for an existing topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    pub topic: String,
    /// The total number of partitions after the increase.
    pub total_count: i32,
    /// Replicas for each new partition, or `None` to let the controller place them.
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// A topic as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicListing {
    pub name: String,
    pub id: Uuid,
    pub is_internal: bool,
}

/// A topic with its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub id: Uuid,
    pub is_internal: bool,
    /// Sorted by partition index.
    pub partitions: Vec<PartitionInfo>,
}

/// One partition's placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Eligible leader replicas; `None` when the broker did not report them (Metadata).
    pub elr: Option<Vec<i32>>,
    /// Last known eligible leader replicas; `None` when not reported.
    pub last_known_elr: Option<Vec<i32>>,
    pub offline_replicas: Vec<i32>,
}

/// One result per topic, by name.
pub type TopicResults = BTreeMap<String, Result<(), KafkaError>>;

impl AdminClient {
    /// Creates topics (or only validates the request when `validate_only`).
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<TopicResults, ClientError> {
        let request = CreateTopicsRequest::default()
            .with_topics(topics.iter().map(creatable_topic).collect())
            .with_timeout_ms(ADMIN_TIMEOUT_MS)
            .with_validate_only(validate_only);
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.admin_connection().await?;
                connection.send(request.clone()).await
            })
            .await?;
        let results = response
            .topics
            .into_iter()
            .map(|t| {
                let result = check(t.error_code, t.error_message.as_deref());
                (t.name.0.to_string(), result)
            })
            .collect();
        for topic in topics {
            self.cluster.invalidate(&topic.name);
        }
        Ok(results)
    }

    /// Deletes topics by name.
    pub async fn delete_topics(&self, names: &[String]) -> Result<TopicResults, ClientError> {
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.admin_connection().await?;
                let version = connection.version_for(ApiKey::DeleteTopics)?;
                connection
                    .send_at(version, delete_topics_request(names, version))
                    .await
            })
            .await?;
        for name in names {
            self.cluster.invalidate(name);
        }
        Ok(response
            .responses
            .into_iter()
            .map(|t| {
                let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
                (name, check(t.error_code, t.error_message.as_deref()))
            })
            .collect())
    }

    /// Increases partition counts.
    pub async fn create_partitions(
        &self,
        increases: &[NewPartitions],
        validate_only: bool,
    ) -> Result<TopicResults, ClientError> {
        let topics = increases
            .iter()
            .map(|p| {
                CreatePartitionsTopic::default()
                    .with_name(topic_name(&p.topic))
                    .with_count(p.total_count)
                    .with_assignments(p.assignments.as_ref().map(|all| {
                        all.iter()
                            .map(|ids| {
                                CreatePartitionsAssignment::default()
                                    .with_broker_ids(ids.iter().copied().map(BrokerId).collect())
                            })
                            .collect()
                    }))
            })
            .collect();
        let request = CreatePartitionsRequest::default()
            .with_topics(topics)
            .with_timeout_ms(ADMIN_TIMEOUT_MS)
            .with_validate_only(validate_only);
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.admin_connection().await?;
                connection.send(request.clone()).await
            })
            .await?;
        for p in increases {
            self.cluster.invalidate(&p.topic);
        }
        Ok(response
            .results
            .into_iter()
            .map(|r| {
                let result = check(r.error_code, r.error_message.as_deref());
                (r.name.0.to_string(), result)
            })
            .collect())
    }

    /// Lists topics, internal ones (`__consumer_offsets`, ...) only when asked.
    pub async fn list_topics(
        &self,
        include_internal: bool,
    ) -> Result<Vec<TopicListing>, ClientError> {
        let metadata = self
            .cluster
            .retry(|| self.cluster.metadata(None, false))
            .await?;
        Ok(metadata
            .topics
            .into_values()
            .filter(|t| include_internal || !t.is_internal)
            .map(|t| TopicListing {
                name: t.name,
                id: t.id,
                is_internal: t.is_internal,
            })
            .collect())
    }

    /// Describes topics by name, with DescribeTopicPartitions when the broker has it (which
    /// reports eligible leader replicas) and Metadata otherwise.
    pub async fn describe_topics(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, Result<TopicDescription, KafkaError>>, ClientError> {
        let connection = self.cluster.any_connection().await?;
        if connection.supports(ApiKey::DescribeTopicPartitions) {
            return self.describe_topic_partitions(names).await;
        }
        let metadata = self
            .cluster
            .retry(|| self.cluster.metadata(Some(names), false))
            .await?;
        Ok(names
            .iter()
            .map(|name| {
                let result = match metadata.topics.get(name) {
                    Some(t) => match &t.error {
                        Some(e) => Err(e.clone()),
                        None => Ok(description_from_metadata(t)),
                    },
                    None => Err(KafkaError::new(3, None)),
                };
                (name.clone(), result)
            })
            .collect())
    }

    async fn describe_topic_partitions(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, Result<TopicDescription, KafkaError>>, ClientError> {
        let mut results: BTreeMap<String, Result<TopicDescription, KafkaError>> = BTreeMap::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let request = DescribeTopicPartitionsRequest::default()
                .with_topics(
                    names
                        .iter()
                        .map(|n| TopicRequest::default().with_name(topic_name(n)))
                        .collect(),
                )
                .with_response_partition_limit(DESCRIBE_PARTITION_LIMIT)
                .with_cursor(cursor.take());
            let response = self
                .cluster
                .retry(|| async {
                    let connection = self.cluster.any_connection().await?;
                    connection.send(request.clone()).await
                })
                .await?;
            for topic in response.topics {
                let Some(name) = topic.name.map(|n| n.0.to_string()) else {
                    continue;
                };
                if let Err(e) = check(topic.error_code, None) {
                    results.insert(name, Err(e));
                    continue;
                }
                let partitions = topic.partitions.into_iter().map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                    replicas: ids(p.replica_nodes),
                    isr: ids(p.isr_nodes),
                    elr: p.eligible_leader_replicas.map(ids),
                    last_known_elr: p.last_known_elr.map(ids),
                    offline_replicas: ids(p.offline_replicas),
                });
                let entry = results.entry(name.clone()).or_insert_with(|| {
                    Ok(TopicDescription {
                        name,
                        id: topic.topic_id,
                        is_internal: topic.is_internal,
                        partitions: Vec::new(),
                    })
                });
                if let Ok(description) = entry {
                    description.partitions.extend(partitions);
                }
            }
            match response.next_cursor {
                Some(next) => {
                    cursor = Some(
                        Cursor::default()
                            .with_topic_name(next.topic_name)
                            .with_partition_index(next.partition_index),
                    );
                }
                None => break,
            }
        }
        for result in results.values_mut().flatten() {
            result.partitions.sort_by_key(|p| p.partition);
        }
        for name in names {
            results
                .entry(name.clone())
                .or_insert_with(|| Err(KafkaError::new(3, None)));
        }
        Ok(results)
    }
}

fn ids(brokers: Vec<BrokerId>) -> Vec<i32> {
    brokers.into_iter().map(|b| b.0).collect()
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

fn creatable_topic(topic: &NewTopic) -> CreatableTopic {
    let explicit = !topic.replica_assignment.is_empty();
    let assignments = topic
        .replica_assignment
        .iter()
        .map(|(partition, replicas)| {
            CreatableReplicaAssignment::default()
                .with_partition_index(*partition)
                .with_broker_ids(replicas.iter().copied().map(BrokerId).collect())
        })
        .collect();
    let configs = topic
        .configs
        .iter()
        .map(|(name, value)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(name.clone()))
                .with_value(Some(StrBytes::from_string(value.clone())))
        })
        .collect();
    CreatableTopic::default()
        .with_name(topic_name(&topic.name))
        .with_num_partitions(if explicit {
            -1
        } else {
            topic.partitions.unwrap_or(-1)
        })
        .with_replication_factor(if explicit {
            -1
        } else {
            topic.replication_factor.unwrap_or(-1)
        })
        .with_assignments(assignments)
        .with_configs(configs)
}

/// DeleteTopics names topics in `topics` from v6 on and in `topic_names` before.
fn delete_topics_request(names: &[String], version: i16) -> DeleteTopicsRequest {
    let request = DeleteTopicsRequest::default().with_timeout_ms(ADMIN_TIMEOUT_MS);
    if version >= 6 {
        request.with_topics(
            names
                .iter()
                .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                .collect(),
        )
    } else {
        request.with_topic_names(names.iter().map(|n| topic_name(n)).collect())
    }
}

fn description_from_metadata(topic: &TopicMetadata) -> TopicDescription {
    TopicDescription {
        name: topic.name.clone(),
        id: topic.id,
        is_internal: topic.is_internal,
        partitions: topic
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                elr: None,
                last_known_elr: None,
                offline_replicas: p.offline_replicas.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_partitions_and_replication_leave_broker_defaults() {
        let topic = creatable_topic(&NewTopic {
            name: "t".into(),
            ..NewTopic::default()
        });
        assert_eq!(topic.num_partitions, -1);
        assert_eq!(topic.replication_factor, -1);
    }

    #[test]
    fn explicit_assignment_overrides_counts() {
        let topic = creatable_topic(&NewTopic {
            name: "t".into(),
            partitions: Some(3),
            replica_assignment: BTreeMap::from([(0, vec![1, 2]), (1, vec![2, 1])]),
            configs: vec![("cleanup.policy".into(), "compact".into())],
            ..NewTopic::default()
        });
        assert_eq!(topic.num_partitions, -1);
        assert_eq!(topic.assignments.len(), 2);
        assert_eq!(topic.configs[0].value.as_deref(), Some("compact"));
    }

    #[test]
    fn delete_request_shape_follows_version() {
        let names = vec!["a".to_owned()];
        assert_eq!(delete_topics_request(&names, 6).topics.len(), 1);
        assert_eq!(delete_topics_request(&names, 5).topic_names.len(), 1);
    }
}
