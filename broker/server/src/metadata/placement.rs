//! Replica placement: spread partitions' leaders and replicas evenly over brokers, in the
//! spirit of Kafka's rack-unaware assignment (a rotating start, consecutive followers).

/// Replica lists for partitions `first_partition..first_partition+count` over `brokers`
/// (sorted ids). The caller has checked `replication_factor <= brokers.len()`.
pub fn assign_replicas(
    brokers: &[i32],
    first_partition: usize,
    count: usize,
    replication_factor: usize,
) -> Vec<Vec<i32>> {
    (first_partition..first_partition + count)
        .map(|partition| {
            (0..replication_factor)
                .map(|replica| brokers[(partition + replica) % brokers.len()])
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaders_rotate_over_brokers() {
        let assignment = assign_replicas(&[1, 2, 3], 0, 3, 3);
        assert_eq!(
            assignment,
            vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2]]
        );
    }

    #[test]
    fn new_partitions_continue_the_rotation() {
        assert_eq!(assign_replicas(&[1, 2], 3, 1, 1), vec![vec![2]]);
    }
}
