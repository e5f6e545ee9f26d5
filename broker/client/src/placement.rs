//! Kafka's replica placement (`AdminUtils.assignReplicasToBrokers`), shared by the broker,
//! which places the partitions of new topics, and `kafka-reassign-partitions --generate`,
//! which proposes new placements.
//!
//! Leaders go round-robin over the brokers from a start index; each partition's followers
//! follow its leader at a shift that grows by one every time the leaders wrap around, so
//! that the followers of one broker's leaders are spread over the others. When brokers have
//! racks, the brokers are first interleaved rack by rack and each follower goes to a rack
//! (and then a broker) that holds no replica of the partition yet, while one is left.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

/// A broker as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerPlacement {
    pub id: i32,
    pub rack: Option<String>,
}

/// Where the round-robin starts: at a random broker (what Kafka does for new topics and
/// proposals, so that many small topics do not all lead on the first broker), or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartIndex {
    Random,
    /// The first leader's index in the broker list, also used as the first follower shift.
    Fixed(usize),
}

/// Why no placement exists; the texts are Kafka's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("Number of partitions must be larger than 0.")]
    NoPartitions,
    #[error("Replication factor must be larger than 0.")]
    NoReplicas,
    #[error("Replication factor: {replication_factor} larger than available brokers: {brokers}.")]
    TooFewBrokers {
        replication_factor: usize,
        brokers: usize,
    },
    #[error("Not all brokers have rack information for replica rack aware assignment.")]
    MissingRack,
}

/// Replica lists for partitions `first_partition..first_partition + partitions`, in that
/// order, over `brokers` in the given order. Rack-aware when any broker has a rack.
pub fn assign_replicas(
    brokers: &[BrokerPlacement],
    partitions: usize,
    replication_factor: usize,
    start: StartIndex,
    first_partition: usize,
) -> Result<Vec<Vec<i32>>, PlacementError> {
    if partitions == 0 {
        return Err(PlacementError::NoPartitions);
    }
    if replication_factor == 0 {
        return Err(PlacementError::NoReplicas);
    }
    if replication_factor > brokers.len() {
        return Err(PlacementError::TooFewBrokers {
            replication_factor,
            brokers: brokers.len(),
        });
    }
    let (start_index, first_shift) = match start {
        StartIndex::Fixed(index) => (index, index),
        StartIndex::Random => {
            let mut rng = rand::rng();
            (
                rng.random_range(0..brokers.len()),
                rng.random_range(0..brokers.len()),
            )
        }
    };
    let rounds = Rounds {
        start_index,
        first_shift,
        first_partition,
        partitions,
        replication_factor,
    };
    if brokers.iter().all(|b| b.rack.is_none()) {
        let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        Ok(rounds.rack_unaware(&ids))
    } else {
        let racks = brokers
            .iter()
            .map(|b| b.rack.clone().map(|rack| (b.id, rack)))
            .collect::<Option<BTreeMap<i32, String>>>()
            .ok_or(PlacementError::MissingRack)?;
        Ok(rounds.rack_aware(&racks))
    }
}

/// The round-robin's parameters, shared by both variants.
struct Rounds {
    start_index: usize,
    first_shift: usize,
    first_partition: usize,
    partitions: usize,
    replication_factor: usize,
}

impl Rounds {
    /// Each partition's leader index and follower shift, in partition order.
    fn leaders(&self, brokers: usize) -> Vec<(usize, usize)> {
        let mut shift = self.first_shift;
        (self.first_partition..self.first_partition + self.partitions)
            .map(|partition| {
                if partition > 0 && partition % brokers == 0 {
                    shift += 1;
                }
                ((partition + self.start_index) % brokers, shift)
            })
            .collect()
    }

    fn rack_unaware(&self, brokers: &[i32]) -> Vec<Vec<i32>> {
        self.leaders(brokers.len())
            .into_iter()
            .map(|(leader, shift)| {
                let followers = (0..self.replication_factor - 1)
                    .map(|j| brokers[replica_index(leader, shift, j, brokers.len())]);
                std::iter::once(brokers[leader]).chain(followers).collect()
            })
            .collect()
    }

    fn rack_aware(&self, racks: &BTreeMap<i32, String>) -> Vec<Vec<i32>> {
        let brokers = rack_alternated(racks);
        let rack_count = racks.values().collect::<BTreeSet<_>>().len();
        self.leaders(brokers.len())
            .into_iter()
            .map(|(leader_index, shift)| {
                let leader = brokers[leader_index];
                let mut replicas = vec![leader];
                let mut racks_used = BTreeSet::from([&racks[&leader]]);
                let mut k = 0;
                while replicas.len() < self.replication_factor {
                    let candidate =
                        brokers[replica_index(leader_index, shift * rack_count, k, brokers.len())];
                    k += 1;
                    let rack = &racks[&candidate];
                    let rack_ok = !racks_used.contains(rack) || racks_used.len() == rack_count;
                    let broker_ok =
                        !replicas.contains(&candidate) || replicas.len() == brokers.len();
                    if rack_ok && broker_ok {
                        replicas.push(candidate);
                        racks_used.insert(rack);
                    }
                }
                replicas
            })
            .collect()
    }
}

/// The `replica`-th follower of the leader at `leader`: never the leader itself.
fn replica_index(leader: usize, shift: usize, replica: usize, brokers: usize) -> usize {
    let step = 1 + (shift + replica) % (brokers - 1);
    (leader + step) % brokers
}

/// Brokers interleaved by rack (racks in name order, brokers by id within a rack), so that
/// consecutive brokers in the list sit in different racks.
fn rack_alternated(racks: &BTreeMap<i32, String>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, std::vec::IntoIter<i32>> = BTreeMap::new();
    let mut members: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in racks {
        members.entry(rack).or_default().push(*id);
    }
    for (rack, ids) in members {
        by_rack.insert(rack, ids.into_iter());
    }
    let mut result = Vec::with_capacity(racks.len());
    while result.len() < racks.len() {
        for ids in by_rack.values_mut() {
            if let Some(id) = ids.next() {
                result.push(id);
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rackless(ids: &[i32]) -> Vec<BrokerPlacement> {
        ids.iter()
            .map(|&id| BrokerPlacement { id, rack: None })
            .collect()
    }

    fn racked(brokers: &[(i32, &str)]) -> Vec<BrokerPlacement> {
        brokers
            .iter()
            .map(|&(id, rack)| BrokerPlacement {
                id,
                rack: Some(rack.to_owned()),
            })
            .collect()
    }

    #[test]
    fn leaders_rotate_and_followers_shift_when_leaders_wrap() {
        // Kafka's AdminUtils with fixedStartIndex 0 over brokers 0..5, 10 partitions, rf 3.
        let assignment =
            assign_replicas(&rackless(&[0, 1, 2, 3, 4]), 10, 3, StartIndex::Fixed(0), 0).unwrap();
        assert_eq!(
            assignment,
            vec![
                vec![0, 1, 2],
                vec![1, 2, 3],
                vec![2, 3, 4],
                vec![3, 4, 0],
                vec![4, 0, 1],
                vec![0, 2, 3],
                vec![1, 3, 4],
                vec![2, 4, 0],
                vec![3, 0, 1],
                vec![4, 1, 2],
            ]
        );
    }

    #[test]
    fn new_partitions_continue_the_rotation() {
        let all = assign_replicas(&rackless(&[1, 2, 3]), 6, 2, StartIndex::Fixed(1), 0).unwrap();
        let tail = assign_replicas(&rackless(&[1, 2, 3]), 2, 2, StartIndex::Fixed(1), 4).unwrap();
        assert_eq!(tail[0][0], all[4][0]);
        assert_eq!(tail[1][0], all[5][0]);
    }

    #[test]
    fn racks_alternate_and_each_partition_spans_racks() {
        let brokers = racked(&[(0, "a"), (1, "a"), (2, "b"), (3, "b"), (4, "c"), (5, "c")]);
        let racks: BTreeMap<i32, String> = brokers
            .iter()
            .map(|b| (b.id, b.rack.clone().unwrap()))
            .collect();
        assert_eq!(rack_alternated(&racks), vec![0, 2, 4, 1, 3, 5]);
        for replicas in assign_replicas(&brokers, 12, 3, StartIndex::Random, 0).unwrap() {
            let used: BTreeSet<&String> = replicas.iter().map(|id| &racks[id]).collect();
            assert_eq!(used.len(), 3, "{replicas:?}");
        }
    }

    #[test]
    fn random_start_still_uses_distinct_brokers() {
        for replicas in
            assign_replicas(&rackless(&[1, 2, 3, 4]), 8, 3, StartIndex::Random, 0).unwrap()
        {
            let unique: BTreeSet<i32> = replicas.iter().copied().collect();
            assert_eq!(unique.len(), 3);
        }
    }

    #[test]
    fn impossible_requests_are_refused_with_kafkas_words() {
        let brokers = rackless(&[1, 2]);
        assert_eq!(
            assign_replicas(&brokers, 1, 3, StartIndex::Random, 0)
                .unwrap_err()
                .to_string(),
            "Replication factor: 3 larger than available brokers: 2."
        );
        let mixed = vec![
            BrokerPlacement {
                id: 1,
                rack: Some("a".into()),
            },
            BrokerPlacement { id: 2, rack: None },
        ];
        assert_eq!(
            assign_replicas(&mixed, 1, 1, StartIndex::Random, 0),
            Err(PlacementError::MissingRack)
        );
        assert_eq!(
            assign_replicas(&brokers, 0, 1, StartIndex::Random, 0),
            Err(PlacementError::NoPartitions)
        );
    }
}
