//! The entries of the metadata log: each is one change to the [`MetadataImage`], applied
//! the same way on every coordinator, and the outcome its proposer is answered with.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::metadata::{commands, reassignment, BrokerInfo, MetadataImage, NewTopic, TopicImage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetadataCommand {
    /// Sets the cluster id; only the first one sticks.
    InitCluster {
        cluster_id: String,
    },
    /// A broker joins or comes back; it stays fenced until its first heartbeat after this.
    RegisterBroker {
        broker: BrokerInfo,
    },
    /// The broker's lease lapsed: it leads nothing and leaves every ISR.
    FenceBroker {
        id: i32,
    },
    /// The broker heartbeats again and may lead partitions.
    UnfenceBroker {
        id: i32,
    },
    /// The topic id is chosen by the proposer so every node applies the same entry.
    CreateTopic {
        topic: NewTopic,
        id: Uuid,
    },
    DeleteTopic {
        name: String,
    },
    CreatePartitions {
        name: String,
        total: i32,
    },
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    SetBrokerConfigs {
        configs: BTreeMap<String, String>,
    },
    AllocateProducerIds {
        count: i64,
    },
    /// A partition leader's new ISR.
    AlterPartition {
        topic: String,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
    },
    /// Moves leadership back to preferred replicas that are in sync.
    ElectPreferredLeaders,
    /// Starts moving a partition to `target` replicas, or cancels its move (`None`).
    ReassignPartition {
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    },
}

/// What applying a command produced, sent back to whoever proposed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CommandOutcome {
    Done,
    Topic(TopicImage),
    FirstProducerId(i64),
    Refused { code: i16, message: Option<String> },
}

impl CommandOutcome {
    fn from_result(result: Result<CommandOutcome, ApiError>) -> CommandOutcome {
        result.unwrap_or_else(|e| CommandOutcome::Refused {
            code: e.error_code(),
            message: e.message,
        })
    }

    /// The refusal as the error a request handler answers with.
    pub fn into_result(self) -> Result<CommandOutcome, ApiError> {
        match self {
            CommandOutcome::Refused { code, message } => Err(ApiError {
                error: ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code)),
                message,
            }),
            other => Ok(other),
        }
    }
}

/// Applies `command` to `image`. A refused command leaves the image as it was.
pub fn apply(image: &mut MetadataImage, command: MetadataCommand) -> CommandOutcome {
    let mut next = image.clone();
    let outcome = CommandOutcome::from_result(apply_to(&mut next, command));
    if !matches!(outcome, CommandOutcome::Refused { .. }) {
        *image = next;
    }
    outcome
}

fn apply_to(
    image: &mut MetadataImage,
    command: MetadataCommand,
) -> Result<CommandOutcome, ApiError> {
    match command {
        MetadataCommand::InitCluster { cluster_id } => {
            if image.cluster_id.is_empty() {
                image.cluster_id = cluster_id;
            }
        }
        MetadataCommand::RegisterBroker { broker } => {
            // A broker that restarted before its lease lapsed may have lost its tail: it
            // gives up leadership and the ISR like any fenced broker, and earns them back.
            commands::fence_broker(image, broker.id);
            image.brokers.insert(broker.id, broker);
        }
        MetadataCommand::FenceBroker { id } => commands::fence_broker(image, id),
        MetadataCommand::UnfenceBroker { id } => commands::unfence_broker(image, id),
        MetadataCommand::CreateTopic { topic, id } => {
            let planned = commands::plan_topic(image, &topic, id)?;
            commands::create_topic(image, planned.clone());
            return Ok(CommandOutcome::Topic(planned));
        }
        MetadataCommand::DeleteTopic { name } => commands::delete_topic(image, &name)?,
        MetadataCommand::CreatePartitions { name, total } => {
            commands::create_partitions(image, &name, total)?
        }
        MetadataCommand::SetTopicConfigs { name, configs } => {
            commands::set_topic_configs(image, &name, configs)?
        }
        MetadataCommand::SetBrokerConfigs { configs } => image.broker_configs = configs,
        MetadataCommand::AllocateProducerIds { count } => {
            return Ok(CommandOutcome::FirstProducerId(
                commands::allocate_producer_ids(image, count),
            ))
        }
        MetadataCommand::AlterPartition {
            topic,
            partition,
            leader,
            leader_epoch,
            isr,
        } => commands::alter_isr(image, &topic, partition, leader, leader_epoch, isr)?,
        MetadataCommand::ElectPreferredLeaders => {
            commands::elect_preferred_leaders(image);
        }
        MetadataCommand::ReassignPartition {
            topic,
            partition,
            target: Some(target),
        } => reassignment::reassign(image, &topic, partition, target)?,
        MetadataCommand::ReassignPartition {
            topic,
            partition,
            target: None,
        } => reassignment::cancel(image, &topic, partition)?,
    }
    Ok(CommandOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: i32) -> BrokerInfo {
        BrokerInfo {
            id,
            host: "localhost".into(),
            port: 9000 + id as u16,
            rack: None,
            endpoints: Vec::new(),
        }
    }

    fn topic(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: BTreeMap::new(),
            validate_only: false,
        }
    }

    fn cluster_of_three() -> MetadataImage {
        let mut image = MetadataImage::default();
        for id in 1..=3 {
            apply(
                &mut image,
                MetadataCommand::RegisterBroker { broker: broker(id) },
            );
            apply(&mut image, MetadataCommand::UnfenceBroker { id });
        }
        image
    }

    #[test]
    fn a_refused_command_changes_nothing() {
        let mut image = cluster_of_three();
        let before = image.clone();
        let outcome = apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic: topic("t", 1, 4),
                id: Uuid::nil(),
            },
        );
        assert!(
            matches!(outcome, CommandOutcome::Refused { code, .. } if code == ResponseError::InvalidReplicationFactor.code())
        );
        assert_eq!(image, before);
    }

    #[test]
    fn fencing_moves_leadership_within_the_isr_and_back_on_unfence() {
        let mut image = cluster_of_three();
        apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic: topic("t", 3, 3),
                id: Uuid::nil(),
            },
        );
        let led_by_1: Vec<usize> = image.topics["t"]
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.leader == 1)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(led_by_1.len(), 1, "leaders are spread over brokers");
        let epoch = image.topics["t"].partitions[led_by_1[0]].leader_epoch;
        apply(&mut image, MetadataCommand::FenceBroker { id: 1 });
        for partition in &image.topics["t"].partitions {
            assert_ne!(partition.leader, 1);
            assert!(!partition.isr.contains(&1));
        }
        assert_eq!(
            image.topics["t"].partitions[led_by_1[0]].leader_epoch,
            epoch + 1
        );
        apply(&mut image, MetadataCommand::UnfenceBroker { id: 1 });
        assert!(!image.fenced_brokers.contains(&1));
    }

    #[test]
    fn isr_changes_come_only_from_the_current_leader() {
        let mut image = cluster_of_three();
        apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic: NewTopic {
                    assignments: vec![vec![1, 2, 3]],
                    ..topic("t", 1, 3)
                },
                id: Uuid::nil(),
            },
        );
        let shrink = |leader, leader_epoch, isr| MetadataCommand::AlterPartition {
            topic: "t".into(),
            partition: 0,
            leader,
            leader_epoch,
            isr,
        };
        let stale = apply(&mut image, shrink(1, 7, vec![1, 2]));
        assert!(
            matches!(stale, CommandOutcome::Refused { code, .. } if code == ResponseError::FencedLeaderEpoch.code())
        );
        let not_leader = apply(&mut image, shrink(2, 0, vec![2]));
        assert!(matches!(not_leader, CommandOutcome::Refused { .. }));
        assert_eq!(
            apply(&mut image, shrink(1, 0, vec![2, 1])),
            CommandOutcome::Done
        );
        assert_eq!(image.topics["t"].partitions[0].isr, vec![1, 2]);
        apply(&mut image, MetadataCommand::FenceBroker { id: 3 });
        let fenced_joins = apply(&mut image, shrink(1, 0, vec![1, 2, 3]));
        assert!(
            matches!(fenced_joins, CommandOutcome::Refused { code, .. } if code == ResponseError::IneligibleReplica.code())
        );
    }

    #[test]
    fn preferred_leaders_come_back_once_in_sync() {
        let mut image = cluster_of_three();
        apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic: NewTopic {
                    assignments: vec![vec![1, 2, 3]],
                    ..topic("t", 1, 3)
                },
                id: Uuid::nil(),
            },
        );
        apply(&mut image, MetadataCommand::FenceBroker { id: 1 });
        assert_eq!(image.topics["t"].partitions[0].leader, 2);
        apply(&mut image, MetadataCommand::UnfenceBroker { id: 1 });
        apply(&mut image, MetadataCommand::ElectPreferredLeaders);
        assert_eq!(
            image.topics["t"].partitions[0].leader, 2,
            "1 is not in sync yet"
        );
        let rejoin = MetadataCommand::AlterPartition {
            topic: "t".into(),
            partition: 0,
            leader: 2,
            leader_epoch: 1,
            isr: vec![2, 3, 1],
        };
        assert_eq!(apply(&mut image, rejoin), CommandOutcome::Done);
        apply(&mut image, MetadataCommand::ElectPreferredLeaders);
        let partition = &image.topics["t"].partitions[0];
        assert_eq!((partition.leader, partition.leader_epoch), (1, 2));
    }

    #[test]
    fn the_last_replica_fenced_leaves_the_partition_without_leader() {
        let mut image = cluster_of_three();
        apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic: NewTopic {
                    assignments: vec![vec![2]],
                    ..topic("solo", 1, 1)
                },
                id: Uuid::nil(),
            },
        );
        apply(&mut image, MetadataCommand::FenceBroker { id: 2 });
        let partition = &image.topics["solo"].partitions[0];
        assert_eq!((partition.leader, partition.isr.clone()), (-1, vec![2]));
        apply(&mut image, MetadataCommand::UnfenceBroker { id: 2 });
        assert_eq!(image.topics["solo"].partitions[0].leader, 2);
    }
}
