//! The act half of the Topic reconciler, over potok-client's admin API: observe the live
//! topic, carry out a plan's actions in order, and turn a failure into the status to
//! report. Everything it decides is in the parent module; this only talks to the cluster.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;

use potok_client::admin::{
    AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource as KafkaConfigSource, NewPartitions,
    NewTopic, PartitionReassignment, TopicDescription,
};
use potok_client::cluster::TopicPartition;
use potok_client::topic_id::to_kafka_string;
use potok_client::{AdminClient, ClientError, KafkaError};

use super::{failed, plan, ConfigSource, LiveConfig, ObservedTopic, TopicAction, TopicPlan};
use crate::resources::topic::DeletionPolicy;
use crate::resources::{Topic, TopicStatus};

/// Kafka's name for "no such topic" (`Errors.UNKNOWN_TOPIC_OR_PARTITION`).
const UNKNOWN_TOPIC_OR_PARTITION: &str = "UNKNOWN_TOPIC_OR_PARTITION";

/// Why talking to the cluster about a topic failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No answer, or an error the client gave up retrying.
    #[error("the cluster did not answer: {0}")]
    Unavailable(#[from] ClientError),
    /// The broker answered and refused.
    #[error("{operation} for topic {topic} failed: {error}")]
    Refused {
        operation: &'static str,
        topic: String,
        error: KafkaError,
    },
}

impl AdminError {
    /// The `Ready` condition's reason: Kafka's error name in the condition's CamelCase
    /// (`INVALID_CONFIG` → `InvalidConfig`), or `ClusterUnavailable`.
    pub fn reason(&self) -> String {
        let kafka = match self {
            AdminError::Refused { error, .. } => Some(error),
            AdminError::Unavailable(error) => error.kafka(),
        };
        match kafka {
            Some(error) => camel_case(&error.name),
            None => "ClusterUnavailable".into(),
        }
    }

    /// True when the same reconcile may succeed later without a change to the spec.
    pub fn is_retriable(&self) -> bool {
        match self {
            AdminError::Unavailable(error) => error.is_retriable(),
            AdminError::Refused { error, .. } => error.is_retriable(),
        }
    }
}

/// The result of one reconcile: the status to write, and the error to log and back off on.
#[derive(Debug)]
pub struct Reconciled {
    pub status: TopicStatus,
    pub error: Option<AdminError>,
}

/// One reconcile of `topic`: observe the live topic, plan, apply.
pub async fn reconcile(topic: &Topic, admin: &AdminClient, now: &Time) -> Reconciled {
    let name = super::topic_name(topic);
    let outcome = match observe(admin, &name).await {
        Ok(observed) => {
            let plan = plan(topic, observed.as_ref(), now);
            apply(&plan, admin).await.map(|()| plan.status)
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(status) => Reconciled {
            status,
            error: None,
        },
        Err(error) => Reconciled {
            status: failed(topic, &error.reason(), error.to_string(), now),
            error: Some(error),
        },
    }
}

/// The finalizer's work when `topic` is deleted: the live topic goes too, unless the spec's
/// deletion policy retains it or this resource never managed it. Says what was done.
pub async fn delete(topic: &Topic, admin: &AdminClient) -> Result<String, AdminError> {
    let Some(name) = topic.status.as_ref().and_then(|s| s.topic_name.clone()) else {
        return Ok("it never managed a topic".into());
    };
    if topic.spec.deletion_policy == DeletionPolicy::Retain {
        return Ok(format!("topic {name} is retained (deletionPolicy: Retain)"));
    }
    let results = admin.delete_topics(std::slice::from_ref(&name)).await?;
    match results.into_values().next() {
        Some(Err(error)) if error.name != UNKNOWN_TOPIC_OR_PARTITION => Err(AdminError::Refused {
            operation: "DeleteTopics",
            topic: name,
            error,
        }),
        _ => Ok(format!("topic {name} deleted")),
    }
}

/// The live topic `name`, or `None` when it does not exist.
pub async fn observe(admin: &AdminClient, name: &str) -> Result<Option<ObservedTopic>, AdminError> {
    let refused = |operation, error| AdminError::Refused {
        operation,
        topic: name.to_owned(),
        error,
    };
    let mut described = admin.describe_topics(&[name.to_owned()]).await?;
    let description = match described.remove(name) {
        Some(Ok(description)) => description,
        Some(Err(error)) if error.name == UNKNOWN_TOPIC_OR_PARTITION => return Ok(None),
        Some(Err(error)) => return Err(refused("DescribeTopics", error)),
        None => return Ok(None),
    };
    let configs = admin
        .describe_configs(&[ConfigResource::topic(name)], false)
        .await?;
    let entries = match configs.into_iter().next() {
        Some((_, Ok(entries))) => entries,
        Some((_, Err(error))) => return Err(refused("DescribeConfigs", error)),
        None => Vec::new(),
    };
    let partitions: Vec<TopicPartition> = description
        .partitions
        .iter()
        .map(|p| TopicPartition::new(name, p.partition))
        .collect();
    let moving = admin
        .list_partition_reassignments(Some(&partitions))
        .await?;
    let brokers = admin.describe_cluster().await?.brokers;
    let mut observed = observed_topic(description, entries, &moving);
    observed.brokers = brokers.into_iter().map(|b| b.id).collect();
    Ok(Some(observed))
}

/// The live topic from its description, its configs and the reassignments in progress
/// (whose partitions are described by the replicas they will have). Brokers are filled in
/// by the caller.
fn observed_topic(
    description: TopicDescription,
    entries: Vec<ConfigEntry>,
    moving: &BTreeMap<TopicPartition, PartitionReassignment>,
) -> ObservedTopic {
    let partition_replicas = description
        .partitions
        .iter()
        .map(|p| {
            let key = TopicPartition::new(description.name.as_str(), p.partition);
            match moving.get(&key) {
                Some(reassignment) => reassignment
                    .replicas
                    .iter()
                    .copied()
                    .filter(|id| !reassignment.removing_replicas.contains(id))
                    .collect(),
                None => p.replicas.clone(),
            }
        })
        .collect();
    ObservedTopic {
        id: to_kafka_string(&description.id),
        partition_replicas,
        reassigning: moving.len(),
        brokers: Vec::new(),
        configs: entries
            .into_iter()
            .map(|entry| {
                let source = match entry.source {
                    KafkaConfigSource::DynamicTopicConfig => ConfigSource::Topic,
                    _ => ConfigSource::Default,
                };
                let config = LiveConfig {
                    value: entry.value,
                    source,
                };
                (entry.name, config)
            })
            .collect(),
    }
}

/// Carries out `plan`'s actions in order, stopping at the first failure.
pub async fn apply(plan: &TopicPlan, admin: &AdminClient) -> Result<(), AdminError> {
    let name = &plan.topic_name;
    for action in &plan.actions {
        let (operation, results) = match action {
            TopicAction::CreateTopic {
                name,
                partitions,
                replicas,
                configs,
            } => {
                let topic = NewTopic {
                    name: name.clone(),
                    partitions: Some(*partitions),
                    // Validated to at most 99 (the most brokers a cluster can have).
                    replication_factor: Some(*replicas as i16),
                    replica_assignment: Default::default(),
                    configs: configs.clone().into_iter().collect(),
                };
                let results = admin.create_topics(&[topic], false).await?;
                ("CreateTopics", results.into_values().collect())
            }
            TopicAction::CreatePartitions { total } => {
                let increase = NewPartitions {
                    topic: name.clone(),
                    total_count: *total,
                    assignments: None,
                };
                let results = admin.create_partitions(&[increase], false).await?;
                ("CreatePartitions", results.into_values().collect())
            }
            TopicAction::AlterConfigs { set, delete } => {
                let ops = set
                    .iter()
                    .map(|(k, v)| AlterConfigOp::Set(k.clone(), v.clone()))
                    .chain(delete.iter().map(|k| AlterConfigOp::Delete(k.clone())))
                    .collect();
                let change = (ConfigResource::topic(name), ops);
                let results = admin.incremental_alter_configs(&[change], false).await?;
                let results: Vec<_> = results.into_iter().map(|(_, r)| r).collect();
                ("IncrementalAlterConfigs", results)
            }
            TopicAction::Reassign { targets } => {
                let moves = targets
                    .iter()
                    .map(|(index, target)| {
                        (TopicPartition::new(name, *index), Some(target.clone()))
                    })
                    .collect();
                let results = admin.alter_partition_reassignments(&moves).await?;
                (
                    "AlterPartitionReassignments",
                    results.into_values().collect(),
                )
            }
        };
        if let Some(error) = results.into_iter().find_map(Result::err) {
            return Err(AdminError::Refused {
                operation,
                topic: name.clone(),
                error,
            });
        }
    }
    Ok(())
}

/// `INVALID_CONFIG` → `InvalidConfig`.
fn camel_case(screaming_snake: &str) -> String {
    screaming_snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_kafka_error_names_in_camel_case() {
        let refused = AdminError::Refused {
            operation: "CreateTopics",
            topic: "t".into(),
            error: KafkaError::new(40, Some("bad value")),
        };
        assert_eq!(refused.reason(), "InvalidConfig");
        assert!(!refused.is_retriable());
        assert_eq!(
            refused.to_string(),
            "CreateTopics for topic t failed: bad value"
        );
        let gave_up = AdminError::Unavailable(ClientError::Kafka(KafkaError::new(6, None)));
        assert_eq!(gave_up.reason(), "NotLeaderOrFollower");
        assert!(gave_up.is_retriable());
        let unreachable = AdminError::Unavailable(ClientError::NoBrokerAvailable("x".into()));
        assert_eq!(unreachable.reason(), "ClusterUnavailable");
    }
}
