//! Decisions for changing a running cluster's brokers safely, as pure functions over the
//! partitions as observed: when a broker may restart (Strimzi's rule), when a restarted one
//! is back, and where the replicas of brokers being removed go.
//!
//! Strimzi's rule: a broker may not restart while any partition it is in sync for has
//! `min.insync.replicas` or fewer replicas in sync, since taking it away would refuse
//! `acks=all` writes there. A partition whose replication factor is not above
//! `min.insync.replicas` cannot keep writing through any restart, so it does not hold the
//! roll back.
//!
//! [`admin`] observes the partitions through potok-client.

pub mod admin;

use std::collections::BTreeMap;

use super::topic::replicas::replica_targets;

/// One partition, as a roll sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// The topic's effective `min.insync.replicas`.
    pub min_insync_replicas: usize,
}

impl PartitionState {
    /// `test-0 (in sync: 1,2; min.insync.replicas 2)`, for saying why a roll waits.
    pub fn describe(&self) -> String {
        let isr: Vec<String> = self.isr.iter().map(i32::to_string).collect();
        format!(
            "{}-{} (in sync: {}; min.insync.replicas {})",
            self.topic,
            self.partition,
            isr.join(","),
            self.min_insync_replicas
        )
    }
}

/// The partitions that keep `broker` from restarting now; empty when it may.
pub fn roll_blockers(broker: i32, partitions: &[PartitionState]) -> Vec<&PartitionState> {
    partitions
        .iter()
        .filter(|p| {
            p.isr.contains(&broker)
                && p.replicas.len() > p.min_insync_replicas
                && p.isr.len() <= p.min_insync_replicas
        })
        .collect()
}

/// Whether `broker` is in sync for every partition it holds a replica of: a restarted
/// broker is back once this holds.
pub fn caught_up(broker: i32, partitions: &[PartitionState]) -> bool {
    partitions
        .iter()
        .filter(|p| p.replicas.contains(&broker))
        .all(|p| p.isr.contains(&broker))
}

/// New replica lists for the partitions with replicas on `removed` brokers: those replicas
/// go to the least loaded of `remaining`, the others stay where they are and in order.
/// Keyed by (topic, partition).
pub fn drain_targets(
    partitions: &[PartitionState],
    removed: &[i32],
    remaining: &[i32],
) -> BTreeMap<(String, i32), Vec<i32>> {
    let mut by_topic: BTreeMap<&str, Vec<&PartitionState>> = BTreeMap::new();
    for partition in partitions {
        by_topic
            .entry(&partition.topic)
            .or_default()
            .push(partition);
    }
    let mut targets = BTreeMap::new();
    for (topic, partitions) in by_topic {
        let kept: Vec<Vec<i32>> = partitions
            .iter()
            .map(|p| {
                p.replicas
                    .iter()
                    .copied()
                    .filter(|id| !removed.contains(id))
                    .collect()
            })
            .collect();
        for (partition, kept) in partitions.iter().zip(&kept) {
            let wanted = partition.replicas.len().min(remaining.len());
            if kept.len() == partition.replicas.len() {
                continue;
            }
            let refill = replica_targets(std::slice::from_ref(kept), remaining, wanted);
            let target = refill.get(&0).cloned().unwrap_or_else(|| kept.clone());
            targets.insert((topic.to_string(), partition.partition), target);
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(replicas: &[i32], isr: &[i32], min_insync_replicas: usize) -> PartitionState {
        PartitionState {
            topic: "t".into(),
            partition: 0,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            min_insync_replicas,
        }
    }

    #[test]
    fn a_broker_waits_while_a_partition_it_is_in_sync_for_is_at_min_isr() {
        let cases = [
            // replicas, isr, min.isr, may broker 1 restart?
            (vec![1, 2, 3], vec![1, 2, 3], 2, true),
            (vec![1, 2, 3], vec![1, 2], 2, false),
            (vec![1, 2, 3], vec![2, 3], 2, true),
            (vec![1, 2, 3], vec![1], 2, false),
            (vec![1, 2, 3], vec![1, 2], 1, true),
            (vec![1, 2], vec![1, 2], 2, true),
            (vec![1], vec![1], 1, true),
            (vec![1, 2, 3, 4], vec![1, 2, 3], 3, false),
            (vec![1, 2, 3, 4], vec![1, 2, 3, 4], 3, true),
        ];
        for (replicas, isr, min_isr, allowed) in cases {
            let partitions = [partition(&replicas, &isr, min_isr)];
            assert_eq!(
                roll_blockers(1, &partitions).is_empty(),
                allowed,
                "replicas {replicas:?}, isr {isr:?}, min.insync.replicas {min_isr}"
            );
        }
    }

    /// Over every partition of up to four replicas, every ISR and every min.insync.replicas:
    /// a restart the rule allows never takes a writable partition below min.insync.replicas,
    /// and the rule refuses only restarts that would.
    #[test]
    fn the_rule_allows_exactly_the_restarts_that_keep_writes_going() {
        for rf in 1..=4usize {
            let replicas: Vec<i32> = (1..=rf as i32).collect();
            for mask in 0..(1u32 << rf) {
                let isr: Vec<i32> = replicas
                    .iter()
                    .copied()
                    .filter(|id| mask & (1 << (id - 1)) != 0)
                    .collect();
                for min_isr in 1..=4usize {
                    let state = [partition(&replicas, &isr, min_isr)];
                    let allowed = roll_blockers(1, &state).is_empty();
                    let isr_after = isr.iter().filter(|id| **id != 1).count();
                    let writable_before = isr.len() >= min_isr;
                    let could_ever_survive = rf > min_isr;
                    let hurts = isr.contains(&1) && could_ever_survive && isr_after < min_isr;
                    assert_eq!(
                        allowed, !hurts,
                        "rf {rf}, isr {isr:?}, min.insync.replicas {min_isr}"
                    );
                    if allowed && writable_before && could_ever_survive {
                        assert!(isr_after >= min_isr || !isr.contains(&1));
                    }
                }
            }
        }
    }

    #[test]
    fn every_blocking_partition_is_named() {
        let partitions = [
            partition(&[1, 2, 3], &[1, 2], 2),
            PartitionState {
                partition: 1,
                ..partition(&[1, 2, 3], &[1, 2, 3], 2)
            },
            PartitionState {
                partition: 2,
                ..partition(&[3, 1, 2], &[3, 1], 2)
            },
        ];
        let blockers: Vec<i32> = roll_blockers(1, &partitions)
            .iter()
            .map(|p| p.partition)
            .collect();
        assert_eq!(blockers, [0, 2]);
        assert_eq!(
            partitions[0].describe(),
            "t-0 (in sync: 1,2; min.insync.replicas 2)"
        );
    }

    #[test]
    fn a_restarted_broker_is_back_once_in_every_isr() {
        let mut partitions = vec![
            partition(&[1, 2, 3], &[2, 3], 2),
            partition(&[2, 3], &[2, 3], 2),
        ];
        assert!(!caught_up(1, &partitions));
        partitions[0].isr.push(1);
        assert!(caught_up(1, &partitions));
        assert!(
            caught_up(4, &partitions),
            "a broker with no replicas is back at once"
        );
    }

    #[test]
    fn draining_moves_only_the_removed_brokers_replicas() {
        let partitions = [
            partition(&[1, 4, 2], &[1, 4, 2], 2),
            PartitionState {
                partition: 1,
                ..partition(&[2, 3, 1], &[2, 3, 1], 2)
            },
            PartitionState {
                partition: 2,
                ..partition(&[4], &[4], 1)
            },
        ];
        let targets = drain_targets(&partitions, &[4], &[1, 2, 3]);
        assert_eq!(targets.len(), 2, "{targets:?}");
        assert_eq!(targets[&("t".into(), 0)], [1, 2, 3]);
        let single = &targets[&("t".into(), 2)];
        assert_eq!(single.len(), 1);
        assert!(single[0] != 4);
    }
}
