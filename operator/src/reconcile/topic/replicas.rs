//! Where a topic's replicas go when `spec.replicas` changes: the new replica list of each
//! partition, for a partition reassignment. Fewer replicas keep the first ones of each list,
//! so the preferred leader stays; more add the brokers that hold the fewest replicas of the
//! topic, so the new copies spread as Kafka's own placement would spread them.

use std::collections::BTreeMap;

/// The target replica list of every partition whose replica count is not `replicas`, by
/// partition index. `brokers` are the brokers that may receive replicas; there must be at
/// least `replicas` of them.
pub fn replica_targets(
    current: &[Vec<i32>],
    brokers: &[i32],
    replicas: usize,
) -> BTreeMap<i32, Vec<i32>> {
    let kept: Vec<Vec<i32>> = current
        .iter()
        .map(|list| list.iter().copied().take(replicas).collect())
        .collect();
    let mut load: BTreeMap<i32, usize> = brokers.iter().map(|&id| (id, 0)).collect();
    for id in kept.iter().flatten() {
        *load.entry(*id).or_default() += 1;
    }
    let mut targets = BTreeMap::new();
    for (index, (list, now)) in kept.into_iter().zip(current).enumerate() {
        let mut target = list;
        while target.len() < replicas {
            let Some(next) = least_loaded(&load, brokers, &target, index) else {
                break;
            };
            *load.entry(next).or_default() += 1;
            target.push(next);
        }
        if target != *now {
            targets.insert(index as i32, target);
        }
    }
    targets
}

/// The broker not in `taken` holding the fewest replicas; ties go round-robin by partition
/// index, so equal brokers take turns.
fn least_loaded(
    load: &BTreeMap<i32, usize>,
    brokers: &[i32],
    taken: &[i32],
    partition: usize,
) -> Option<i32> {
    let count = brokers.len();
    brokers
        .iter()
        .enumerate()
        .filter(|(_, id)| !taken.contains(id))
        .min_by_key(|(position, id)| (load[id], (position + count - partition % count) % count))
        .map(|(_, &id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_replicas_keep_the_preferred_ones() {
        let current = vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2]];
        let targets = replica_targets(&current, &[1, 2, 3], 2);
        assert_eq!(
            targets,
            BTreeMap::from([(0, vec![1, 2]), (1, vec![2, 3]), (2, vec![3, 1])])
        );
    }

    #[test]
    fn more_replicas_spread_over_the_least_loaded_brokers() {
        let current = vec![vec![1, 2], vec![2, 3], vec![3, 1]];
        let targets = replica_targets(&current, &[1, 2, 3, 4, 5, 6], 3);
        let added: Vec<i32> = targets.values().map(|t| t[2]).collect();
        let mut distinct = added.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            3,
            "each partition gains a different idle broker: {added:?}"
        );
        assert!(added.iter().all(|id| *id >= 4));
        for (index, target) in &targets {
            assert_eq!(
                &target[..2],
                &current[*index as usize][..],
                "the old replicas stay first"
            );
        }
    }

    #[test]
    fn partitions_already_at_the_count_are_left_out() {
        let current = vec![vec![1, 2, 3], vec![2, 3]];
        let targets = replica_targets(&current, &[1, 2, 3], 3);
        assert_eq!(targets, BTreeMap::from([(1, vec![2, 3, 1])]));
        assert!(replica_targets(&[vec![1, 2]], &[1, 2, 3], 2).is_empty());
    }

    #[test]
    fn growing_to_every_broker_uses_each_once() {
        let current = vec![vec![3]];
        let targets = replica_targets(&current, &[1, 2, 3], 3);
        let mut target = targets[&0].clone();
        assert_eq!(target[0], 3);
        target.sort_unstable();
        assert_eq!(target, [1, 2, 3]);
    }
}
