//! Metadata changes as pure functions over an image. They are deterministic (ids are chosen
//! before a change is applied) so a replicated log of them gives every node the same image.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::controller::{MetadataError, NewTopic};
use super::image::{MetadataImage, PartitionImage, TopicImage};
use super::reassignment;
use crate::error::ApiError;
use potok_client::placement::{assign_replicas, BrokerPlacement, StartIndex};
use potok_client::topic_name::{collides, validate_topic_name};

/// The most partitions one topic may have. Kafka sets no hard limit, but a request for
/// billions would exhaust memory planning them; this bound is far above practical use.
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 100_000;

/// Checks `topic` against the image and builds the topic it would create, with `id`.
pub fn plan_topic(
    image: &MetadataImage,
    topic: &NewTopic,
    id: Uuid,
) -> Result<TopicImage, MetadataError> {
    validate_topic_name(&topic.name)
        .map_err(|message| ApiError::new(ResponseError::InvalidTopicException, message))?;
    if image.topics.contains_key(&topic.name) {
        return Err(ApiError::new(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{}' already exists.", topic.name),
        ));
    }
    if let Some(existing) = image.topics.keys().find(|name| collides(name, &topic.name)) {
        return Err(ApiError::new(
            ResponseError::InvalidTopicException,
            format!(
                "Topic '{}' collides with existing topic: {existing}",
                topic.name
            ),
        ));
    }
    let replicas = if topic.assignments.is_empty() {
        placed_replicas(image, 0, topic.partitions, topic.replication_factor)?
    } else {
        validate_assignments(image, &topic.assignments)?;
        topic.assignments.clone()
    };
    Ok(TopicImage {
        name: topic.name.clone(),
        id,
        partitions: replicas.into_iter().map(new_partition).collect(),
        configs: topic.configs.clone(),
    })
}

pub fn create_topic(image: &mut MetadataImage, topic: TopicImage) {
    image.topics.insert(topic.name.clone(), topic);
}

pub fn delete_topic(image: &mut MetadataImage, name: &str) -> Result<(), MetadataError> {
    image
        .topics
        .remove(name)
        .map(|_| ())
        .ok_or_else(|| unknown_topic(name))
}

/// Adds partitions so the topic has `total`; Kafka refuses to shrink or keep the count.
pub fn create_partitions(
    image: &mut MetadataImage,
    name: &str,
    total: i32,
) -> Result<(), MetadataError> {
    let current = image
        .topics
        .get(name)
        .ok_or_else(|| unknown_topic(name))?
        .partitions
        .len();
    let replication_factor = image.topics[name].replication_factor() as i16;
    let total_usize = usize::try_from(total).unwrap_or(0);
    if total_usize == current {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partitions."),
        ));
    }
    if total_usize < current {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!("Topic currently has {current} partitions, which is higher than the requested {total}."),
        ));
    }
    let added = placed_replicas(
        image,
        current,
        (total_usize - current) as i32,
        replication_factor,
    )?;
    let topic = image.topics.get_mut(name).expect("checked above");
    topic
        .partitions
        .extend(added.into_iter().map(new_partition));
    Ok(())
}

pub fn set_topic_configs(
    image: &mut MetadataImage,
    name: &str,
    configs: BTreeMap<String, String>,
) -> Result<(), MetadataError> {
    let topic = image
        .topics
        .get_mut(name)
        .ok_or_else(|| unknown_topic(name))?;
    topic.configs = configs;
    Ok(())
}

pub fn allocate_producer_ids(image: &mut MetadataImage, count: i64) -> i64 {
    let first = image.next_producer_id;
    image.next_producer_id += count;
    first
}

/// Takes a broker's leases away: it leaves every ISR it is not the last member of, and
/// partitions it led move to the next in-sync replica, or to no leader (-1) when none is
/// left, since unclean election is off.
pub fn fence_broker(image: &mut MetadataImage, id: i32) {
    image.fenced_brokers.insert(id);
    let fenced = image.fenced_brokers.clone();
    for partition in image
        .topics
        .values_mut()
        .flat_map(|t| t.partitions.iter_mut())
    {
        if partition.isr.len() > 1 {
            partition.isr.retain(|&r| r != id);
        }
        if partition.leader == id {
            partition.leader = partition
                .replicas
                .iter()
                .copied()
                .find(|r| partition.isr.contains(r) && !fenced.contains(r))
                .unwrap_or(-1);
            partition.leader_epoch += 1;
        }
    }
}

/// Gives a broker its leases back; partitions left leaderless with it as their last
/// in-sync replica are led by it again.
pub fn unfence_broker(image: &mut MetadataImage, id: i32) {
    image.fenced_brokers.remove(&id);
    for partition in image
        .topics
        .values_mut()
        .flat_map(|t| t.partitions.iter_mut())
    {
        if partition.leader == -1 && partition.isr.contains(&id) {
            partition.leader = id;
            partition.leader_epoch += 1;
        }
    }
}

/// AlterPartition: the leader's new ISR for one partition. Refused when the sender no
/// longer leads under that epoch, or names replicas that cannot be in sync.
pub fn alter_isr(
    image: &mut MetadataImage,
    topic: &str,
    index: i32,
    leader: i32,
    leader_epoch: i32,
    isr: Vec<i32>,
) -> Result<(), MetadataError> {
    let fenced = image.fenced_brokers.clone();
    let partition = image
        .topics
        .get_mut(topic)
        .and_then(|t| t.partitions.get_mut(index.max(0) as usize))
        .filter(|_| index >= 0)
        .ok_or_else(|| unknown_topic(topic))?;
    if partition.leader != leader || partition.leader_epoch != leader_epoch {
        return Err(ApiError::new(
            ResponseError::FencedLeaderEpoch,
            format!("Broker {leader} no longer leads {topic}-{index} under epoch {leader_epoch}"),
        ));
    }
    let newcomer_fenced = isr
        .iter()
        .any(|r| !partition.isr.contains(r) && fenced.contains(r));
    if !isr.contains(&leader)
        || newcomer_fenced
        || isr.iter().any(|r| !partition.replicas.contains(r))
    {
        return Err(ApiError::new(
            ResponseError::IneligibleReplica,
            format!("{isr:?} is not a valid ISR for {topic}-{index}"),
        ));
    }
    partition.isr = partition
        .replicas
        .iter()
        .copied()
        .filter(|r| isr.contains(r))
        .collect();
    reassignment::complete_if_in_sync(partition, &fenced);
    Ok(())
}

/// Gives each partition back to its preferred (first) replica when that replica is in
/// sync and live, as Kafka's preferred-leader election does. Returns how many moved.
pub fn elect_preferred_leaders(image: &mut MetadataImage) -> usize {
    let fenced = image.fenced_brokers.clone();
    let mut moved = 0;
    for partition in image
        .topics
        .values_mut()
        .flat_map(|t| t.partitions.iter_mut())
    {
        let Some(&preferred) = partition.replicas.first() else {
            continue;
        };
        if partition.leader != preferred
            && partition.isr.contains(&preferred)
            && !fenced.contains(&preferred)
        {
            partition.leader = preferred;
            partition.leader_epoch += 1;
            moved += 1;
        }
    }
    moved
}

pub fn unknown_topic(name: &str) -> ApiError {
    ApiError::new(
        ResponseError::UnknownTopicOrPartition,
        format!("Topic '{name}' does not exist."),
    )
}

fn new_partition(replicas: Vec<i32>) -> PartitionImage {
    PartitionImage {
        leader: replicas[0],
        leader_epoch: 0,
        isr: replicas.clone(),
        replicas,
        ..PartitionImage::default()
    }
}

fn placed_replicas(
    image: &MetadataImage,
    first_partition: usize,
    count: i32,
    replication_factor: i16,
) -> Result<Vec<Vec<i32>>, MetadataError> {
    if count <= 0 {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            "Number of partitions was set to an invalid non-positive value.",
        ));
    }
    if first_partition as i64 + count as i64 > MAX_PARTITIONS_PER_TOPIC as i64 {
        return Err(ApiError::new(
            ResponseError::InvalidPartitions,
            format!("A topic may have at most {MAX_PARTITIONS_PER_TOPIC} partitions; {} were requested.", first_partition as i64 + count as i64),
        ));
    }
    if replication_factor <= 0 {
        return Err(ApiError::new(
            ResponseError::InvalidReplicationFactor,
            "Replication factor must be larger than 0, or -1 to use the default value.",
        ));
    }
    let brokers = image.live_brokers().count();
    if replication_factor as usize > brokers {
        return Err(ApiError::new(
            ResponseError::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only {} broker(s) are registered.",
                brokers
            ),
        ));
    }
    // Kafka's placement, rack-aware when every broker names its rack (KRaft also places
    // on partly racked clusters; here those are placed as if none had a rack).
    let racked = image.live_brokers().all(|b| b.rack.is_some());
    let placed: Vec<BrokerPlacement> = image
        .live_brokers()
        .map(|b| BrokerPlacement {
            id: b.id,
            rack: b.rack.clone().filter(|_| racked),
        })
        .collect();
    assign_replicas(
        &placed,
        count as usize,
        replication_factor as usize,
        StartIndex::Fixed(0),
        first_partition,
    )
    .map_err(|error| ApiError::new(ResponseError::InvalidReplicationFactor, error.to_string()))
}

fn validate_assignments(
    image: &MetadataImage,
    assignments: &[Vec<i32>],
) -> Result<(), MetadataError> {
    let replication_factor = assignments[0].len();
    for replicas in assignments {
        if replicas.len() != replication_factor {
            return Err(ApiError::new(
                ResponseError::InvalidReplicaAssignment,
                "All partitions should have the same number of replicas",
            ));
        }
        reassignment::validate_replica_list(image, replicas)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::BrokerInfo;

    fn image_with_brokers(ids: &[i32]) -> MetadataImage {
        let mut image = MetadataImage::default();
        for &id in ids {
            image.brokers.insert(
                id,
                BrokerInfo {
                    id,
                    host: "localhost".into(),
                    port: 9092,
                    rack: None,
                    endpoints: Vec::new(),
                },
            );
        }
        image
    }

    fn new_topic(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            assignments: vec![],
            configs: BTreeMap::new(),
            validate_only: false,
        }
    }

    #[test]
    fn replication_factor_above_broker_count_fails_as_kafka() {
        let image = image_with_brokers(&[1]);
        let error = plan_topic(&image, &new_topic("test", 3, 3), Uuid::nil()).unwrap_err();
        assert_eq!(error.error, ResponseError::InvalidReplicationFactor);
        assert_eq!(
            error.message.unwrap(),
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
        );
    }

    #[test]
    fn existing_and_colliding_names_are_refused() {
        let mut image = image_with_brokers(&[1]);
        let topic = plan_topic(&image, &new_topic("a.b", 1, 1), Uuid::new_v4()).unwrap();
        create_topic(&mut image, topic);
        let again = plan_topic(&image, &new_topic("a.b", 1, 1), Uuid::new_v4()).unwrap_err();
        assert_eq!(again.error, ResponseError::TopicAlreadyExists);
        let collision = plan_topic(&image, &new_topic("a_b", 1, 1), Uuid::new_v4()).unwrap_err();
        assert_eq!(collision.error, ResponseError::InvalidTopicException);
    }

    #[test]
    fn partitions_only_grow() {
        let mut image = image_with_brokers(&[1, 2, 3]);
        let topic = plan_topic(&image, &new_topic("t", 3, 2), Uuid::new_v4()).unwrap();
        create_topic(&mut image, topic);
        create_partitions(&mut image, "t", 5).unwrap();
        let topic = &image.topics["t"];
        assert_eq!(topic.partitions.len(), 5);
        assert!(topic.partitions.iter().all(|p| p.replicas.len() == 2));
        let shrink = create_partitions(&mut image, "t", 2).unwrap_err();
        assert_eq!(shrink.error, ResponseError::InvalidPartitions);
        assert_eq!(
            shrink.message.unwrap(),
            "Topic currently has 5 partitions, which is higher than the requested 2."
        );
    }

    #[test]
    fn absurd_partition_counts_are_refused() {
        let image = image_with_brokers(&[1]);
        let error = plan_topic(&image, &new_topic("t", i32::MAX, 1), Uuid::nil()).unwrap_err();
        assert_eq!(error.error, ResponseError::InvalidPartitions);
    }

    #[test]
    fn manual_assignments_must_name_known_brokers() {
        let image = image_with_brokers(&[1]);
        let mut topic = new_topic("t", 1, 1);
        topic.assignments = vec![vec![7]];
        let error = plan_topic(&image, &topic, Uuid::new_v4()).unwrap_err();
        assert_eq!(error.error, ResponseError::InvalidReplicaAssignment);
    }
}
