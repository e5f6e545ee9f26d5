//! Partition reassignment as Kafka's controller does it: a partition moving to a target
//! replica set first has the union of old and new replicas (the new ones `adding`, the old
//! ones not in the target `removing`); new replicas fetch from the leader and join the ISR;
//! once every target replica is in sync the partition keeps only the target, and leadership
//! moves if the leader was removed.
//!
//! Completion waits for the whole target to be in sync (Kafka completes as soon as the
//! adding replicas are), so the ISR left behind is the full target and never smaller than
//! what `min.insync.replicas` asks of the new replication factor.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;

use super::commands::unknown_topic;
use super::controller::MetadataError;
use super::image::{without, MetadataImage, PartitionImage};
use crate::error::ApiError;

/// Starts moving `topic`-`index` to `target`. A reassignment already in progress is
/// replaced, starting again from the replicas the partition had before it. A target with
/// the same replicas as before only reorders them (the first is the preferred leader), and
/// so also ends a reassignment in progress.
pub fn reassign(
    image: &mut MetadataImage,
    topic: &str,
    index: i32,
    target: Vec<i32>,
) -> Result<(), MetadataError> {
    validate_replica_list(image, &target)?;
    let fenced = image.fenced_brokers.clone();
    let partition = partition_mut(image, topic, index)?;
    let original = partition.original_replicas();
    let mut replicas = target.clone();
    replicas.extend(original.iter().filter(|id| !target.contains(id)));
    let isr = partition.in_sync_among(&replicas);
    if isr.is_empty() {
        return Err(ApiError::new(
            ResponseError::InvalidReplicaAssignment,
            format!("No replica of {topic}-{index} in {replicas:?} is in sync, so none could lead it during the reassignment; wait for the in-sync replicas to return"),
        ));
    }
    partition.adding_replicas = without(&target, &original);
    partition.removing_replicas = without(&original, &target);
    partition.replicas = replicas;
    partition.isr = isr;
    if !partition.replicas.contains(&partition.leader) {
        elect_within_isr(partition, &fenced);
    }
    complete_if_in_sync(partition, &fenced);
    Ok(())
}

/// Stops the reassignment of `topic`-`index`: the partition goes back to the replicas it
/// had before, keeping those of them in sync. As in Kafka, they keep the order they have in
/// the partition's list (the target's first), which may change the preferred leader.
pub fn cancel(image: &mut MetadataImage, topic: &str, index: i32) -> Result<(), MetadataError> {
    let fenced = image.fenced_brokers.clone();
    let partition = partition_mut(image, topic, index)?;
    if !partition.is_reassigning() {
        return Err(ApiError::new(
            ResponseError::NoReassignmentInProgress,
            format!("No ongoing reassignment for {topic}-{index}."),
        ));
    }
    revert(partition, topic, index, &fenced)
}

/// Ends the reassignment in progress when every target replica is in sync and one of them
/// can lead: the removed replicas leave, and a removed leader hands over (a new epoch).
/// Returns whether it completed.
pub fn complete_if_in_sync(partition: &mut PartitionImage, fenced: &BTreeSet<i32>) -> bool {
    if !partition.is_reassigning() {
        return false;
    }
    let target = partition.target_replicas();
    let all_in_sync = target.iter().all(|id| partition.isr.contains(id));
    let can_lead = target.iter().any(|id| !fenced.contains(id));
    if !all_in_sync || !can_lead {
        return false;
    }
    partition.isr = target.clone();
    partition.replicas = target;
    partition.adding_replicas.clear();
    partition.removing_replicas.clear();
    if !partition.replicas.contains(&partition.leader) {
        elect_within_isr(partition, fenced);
    }
    true
}

/// Kafka's checks of a manual replica list: not empty, registered brokers, none twice.
pub fn validate_replica_list(image: &MetadataImage, replicas: &[i32]) -> Result<(), MetadataError> {
    let invalid = |message: String| ApiError::new(ResponseError::InvalidReplicaAssignment, message);
    if replicas.is_empty() {
        return Err(invalid(
            "The manual partition assignment includes an empty replica list.".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for id in replicas {
        if !image.brokers.contains_key(id) {
            return Err(invalid(format!("The manual partition assignment includes broker {id}, but no such broker is registered.")));
        }
        if !seen.insert(id) {
            return Err(invalid(format!(
                "The manual partition assignment includes the broker {id} more than once."
            )));
        }
    }
    Ok(())
}

/// Goes back to the original replicas, refusing when none of them is in sync (the
/// partition would have no replica to lead it).
fn revert(
    partition: &mut PartitionImage,
    topic: &str,
    index: i32,
    fenced: &BTreeSet<i32>,
) -> Result<(), MetadataError> {
    let original = partition.original_replicas();
    let isr = partition.in_sync_among(&original);
    if isr.is_empty() {
        return Err(ApiError::new(
            ResponseError::InvalidReplicaAssignment,
            format!("Cannot cancel the reassignment of {topic}-{index}: none of its original replicas {original:?} is in sync; let it complete"),
        ));
    }
    partition.replicas = original;
    partition.isr = isr;
    partition.adding_replicas.clear();
    partition.removing_replicas.clear();
    if !partition.replicas.contains(&partition.leader) {
        elect_within_isr(partition, fenced);
    }
    Ok(())
}

/// Hands leadership to the first live in-sync replica, in replica order, under a new epoch;
/// to nobody (-1) when none is live.
fn elect_within_isr(partition: &mut PartitionImage, fenced: &BTreeSet<i32>) {
    partition.leader = partition
        .replicas
        .iter()
        .copied()
        .find(|id| partition.isr.contains(id) && !fenced.contains(id))
        .unwrap_or(-1);
    partition.leader_epoch += 1;
}

fn partition_mut<'a>(
    image: &'a mut MetadataImage,
    topic: &str,
    index: i32,
) -> Result<&'a mut PartitionImage, MetadataError> {
    let partitions = &mut image
        .topics
        .get_mut(topic)
        .ok_or_else(|| unknown_topic(topic))?
        .partitions;
    usize::try_from(index)
        .ok()
        .and_then(|i| partitions.get_mut(i))
        .ok_or_else(|| {
            ApiError::new(
                ResponseError::UnknownTopicOrPartition,
                format!("Unable to find partition {topic}-{index}."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{BrokerInfo, TopicImage};

    fn image(replicas: &[i32], brokers: &[i32]) -> MetadataImage {
        let mut image = MetadataImage::default();
        for &id in brokers {
            let broker = BrokerInfo {
                id,
                host: "localhost".into(),
                port: 9092,
                rack: None,
                endpoints: Vec::new(),
            };
            image.brokers.insert(id, broker);
        }
        let partition = PartitionImage {
            replicas: replicas.to_vec(),
            leader: replicas[0],
            isr: replicas.to_vec(),
            ..PartitionImage::default()
        };
        image.topics.insert(
            "t".into(),
            TopicImage {
                name: "t".into(),
                id: uuid::Uuid::nil(),
                partitions: vec![partition],
                configs: Default::default(),
            },
        );
        image
    }

    fn partition(image: &MetadataImage) -> &PartitionImage {
        &image.topics["t"].partitions[0]
    }

    /// What a leader's AlterPartition does: a new ISR, then completion if it is due.
    fn set_isr(image: &mut MetadataImage, isr: &[i32]) {
        let fenced = image.fenced_brokers.clone();
        let partition = image
            .topics
            .get_mut("t")
            .unwrap()
            .partitions
            .get_mut(0)
            .unwrap();
        partition.isr = isr.to_vec();
        complete_if_in_sync(partition, &fenced);
    }

    #[test]
    fn a_moved_replica_is_added_caught_up_then_the_old_one_leaves() {
        let mut image = image(&[1, 2], &[1, 2, 3]);
        reassign(&mut image, "t", 0, vec![2, 3]).unwrap();
        let moving = partition(&image);
        assert_eq!(moving.replicas, [2, 3, 1]);
        assert_eq!(moving.adding_replicas, [3]);
        assert_eq!(moving.removing_replicas, [1]);
        assert_eq!((moving.leader, moving.leader_epoch), (1, 0));
        assert_eq!(moving.original_replicas(), [2, 1]);
        set_isr(&mut image, &[1, 2, 3]);
        let moved = partition(&image);
        assert_eq!(moved.replicas, [2, 3]);
        assert_eq!(moved.isr, [2, 3]);
        assert!(!moved.is_reassigning());
        assert_eq!(
            (moved.leader, moved.leader_epoch),
            (2, 1),
            "the removed leader hands over under a new epoch"
        );
    }

    #[test]
    fn lowering_the_replication_factor_completes_at_once_when_in_sync() {
        let mut image = image(&[1, 2, 3], &[1, 2, 3]);
        reassign(&mut image, "t", 0, vec![1, 2]).unwrap();
        let partition = partition(&image);
        assert_eq!(partition.replicas, [1, 2]);
        assert_eq!(partition.isr, [1, 2]);
        assert_eq!(partition.leader_epoch, 0, "the leader stays");
    }

    #[test]
    fn completion_waits_for_every_target_replica_to_be_in_sync() {
        let mut image = image(&[1, 2, 3], &[1, 2, 3, 4]);
        image.topics.get_mut("t").unwrap().partitions[0].isr = vec![1, 2];
        reassign(&mut image, "t", 0, vec![1, 3]).unwrap();
        assert!(partition(&image).is_reassigning(), "3 is not in sync");
        set_isr(&mut image, &[1, 2, 3]);
        assert_eq!(partition(&image).replicas, [1, 3]);
    }

    #[test]
    fn a_fenced_target_cannot_complete_a_move_of_the_leader() {
        let mut image = image(&[1], &[1, 2]);
        reassign(&mut image, "t", 0, vec![2]).unwrap();
        image.fenced_brokers.insert(2);
        set_isr(&mut image, &[1, 2]);
        assert!(partition(&image).is_reassigning());
        image.fenced_brokers.clear();
        set_isr(&mut image, &[1, 2]);
        assert_eq!(
            (partition(&image).replicas.clone(), partition(&image).leader),
            (vec![2], 2)
        );
    }

    #[test]
    fn cancelling_goes_back_to_the_original_replicas() {
        let mut image = image(&[1, 2], &[1, 2, 3]);
        reassign(&mut image, "t", 0, vec![3, 2]).unwrap();
        cancel(&mut image, "t", 0).unwrap();
        let partition = partition(&image);
        assert_eq!(partition.replicas, [2, 1]);
        assert!(!partition.is_reassigning());
        assert_eq!((partition.leader, partition.leader_epoch), (1, 0));
        let again = cancel(&mut image, "t", 0).unwrap_err();
        assert_eq!(again.error, ResponseError::NoReassignmentInProgress);
    }

    #[test]
    fn a_new_target_replaces_the_reassignment_in_progress() {
        let mut image = image(&[1, 2], &[1, 2, 3, 4]);
        reassign(&mut image, "t", 0, vec![3, 2]).unwrap();
        reassign(&mut image, "t", 0, vec![4, 2]).unwrap();
        let partition_now = partition(&image);
        assert_eq!(partition_now.replicas, [4, 2, 1]);
        assert_eq!(partition_now.adding_replicas, [4]);
        assert_eq!(partition_now.removing_replicas, [1]);
        reassign(&mut image, "t", 0, vec![1, 2]).unwrap();
        let back = partition(&image);
        assert_eq!(back.replicas, [1, 2], "the original list again ends it");
        assert!(!back.is_reassigning());
    }

    #[test]
    fn the_same_replicas_in_another_order_change_the_preferred_leader_only() {
        let mut image = image(&[1, 2, 3], &[1, 2, 3]);
        reassign(&mut image, "t", 0, vec![3, 1, 2]).unwrap();
        let reordered = partition(&image);
        assert_eq!(reordered.replicas, [3, 1, 2]);
        assert_eq!(reordered.isr, [3, 1, 2]);
        assert!(!reordered.is_reassigning());
        assert_eq!((reordered.leader, reordered.leader_epoch), (1, 0));
    }

    #[test]
    fn a_replaced_reassignment_drops_its_half_added_replicas_from_the_isr() {
        let mut image = image(&[1], &[1, 2, 3]);
        reassign(&mut image, "t", 0, vec![1, 2, 3]).unwrap();
        image.topics.get_mut("t").unwrap().partitions[0].isr = vec![1, 2];
        reassign(&mut image, "t", 0, vec![1, 3]).unwrap();
        let partition = partition(&image);
        assert_eq!(partition.replicas, [1, 3]);
        assert_eq!(partition.isr, [1]);
        assert_eq!(partition.adding_replicas, [3]);
    }

    #[test]
    fn bad_targets_are_refused_as_kafka_refuses_them() {
        let mut image = image(&[1, 2], &[1, 2, 3]);
        let message = |target: Vec<i32>, image: &mut MetadataImage| {
            reassign(image, "t", 0, target)
                .unwrap_err()
                .message
                .unwrap()
        };
        assert_eq!(
            message(vec![], &mut image),
            "The manual partition assignment includes an empty replica list."
        );
        assert_eq!(
            message(vec![1, 9], &mut image),
            "The manual partition assignment includes broker 9, but no such broker is registered."
        );
        assert_eq!(
            message(vec![3, 3], &mut image),
            "The manual partition assignment includes the broker 3 more than once."
        );
        let unknown = reassign(&mut image, "t", 5, vec![1]).unwrap_err();
        assert_eq!(unknown.error, ResponseError::UnknownTopicOrPartition);
        let unknown = reassign(&mut image, "nope", 0, vec![1]).unwrap_err();
        assert_eq!(unknown.error, ResponseError::UnknownTopicOrPartition);
        assert!(!partition(&image).is_reassigning());
    }

    #[test]
    fn a_target_without_any_replica_in_sync_is_refused() {
        let mut image = image(&[1, 2], &[1, 2, 3, 4, 5]);
        reassign(&mut image, "t", 0, vec![3, 4]).unwrap();
        let moving = image
            .topics
            .get_mut("t")
            .unwrap()
            .partitions
            .get_mut(0)
            .unwrap();
        (moving.isr, moving.leader) = (vec![3], 3);
        let before = image.clone();
        let refused = reassign(&mut image, "t", 0, vec![1, 5]).unwrap_err();
        assert_eq!(refused.error, ResponseError::InvalidReplicaAssignment);
        let no_cancel = cancel(&mut image, "t", 0).unwrap_err();
        assert!(no_cancel.message.unwrap().starts_with("Cannot cancel"));
        assert_eq!(image, before);
    }
}
