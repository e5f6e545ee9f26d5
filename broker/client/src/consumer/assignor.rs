//! Kafka's `RangeAssignor`: for each topic, its partitions are split into contiguous ranges
//! over the members subscribed to it, in member-id order, the first members taking one
//! extra partition when the division is uneven.

use std::collections::BTreeMap;

use crate::cluster::TopicPartition;

/// The name members announce in JoinGroup; every Kafka client knows it.
pub const RANGE: &str = "range";

/// Assigns the partitions of every subscribed topic whose partition count is known.
/// `subscriptions` maps member ids to their topics; every member gets an entry.
pub fn range_assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut assignment: BTreeMap<String, Vec<TopicPartition>> = subscriptions
        .keys()
        .map(|member| (member.clone(), Vec::new()))
        .collect();
    for (topic, &count) in partition_counts {
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(member, _)| member)
            .collect();
        if members.is_empty() || count <= 0 {
            continue;
        }
        let per_member = count / members.len() as i32;
        let extra = count % members.len() as i32;
        for (i, member) in members.into_iter().enumerate() {
            let i = i as i32;
            let start = i * per_member + i.min(extra);
            let length = per_member + i32::from(i < extra);
            if let Some(partitions) = assignment.get_mut(member) {
                partitions.extend((start..start + length).map(|p| TopicPartition::new(topic, p)));
            }
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriptions(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries
            .iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    fn partitions(assigned: &[TopicPartition]) -> Vec<String> {
        assigned.iter().map(|tp| tp.to_string()).collect()
    }

    #[test]
    fn uneven_division_gives_the_first_members_one_more() {
        let subs = subscriptions(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let counts = BTreeMap::from([("t".to_string(), 7)]);
        let result = range_assign(&subs, &counts);
        assert_eq!(partitions(&result["a"]), ["t-0", "t-1", "t-2"]);
        assert_eq!(partitions(&result["b"]), ["t-3", "t-4"]);
        assert_eq!(partitions(&result["c"]), ["t-5", "t-6"]);
    }

    #[test]
    fn members_only_get_topics_they_subscribe_to() {
        let subs = subscriptions(&[("a", &["t", "u"]), ("b", &["u"]), ("c", &[])]);
        let counts = BTreeMap::from([("t".to_string(), 2), ("u".to_string(), 2)]);
        let result = range_assign(&subs, &counts);
        assert_eq!(partitions(&result["a"]), ["t-0", "t-1", "u-0"]);
        assert_eq!(partitions(&result["b"]), ["u-1"]);
        assert!(result["c"].is_empty());
    }

    #[test]
    fn more_members_than_partitions_leaves_some_idle() {
        let subs = subscriptions(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let counts = BTreeMap::from([("t".to_string(), 2)]);
        let result = range_assign(&subs, &counts);
        assert_eq!(partitions(&result["a"]), ["t-0"]);
        assert_eq!(partitions(&result["b"]), ["t-1"]);
        assert!(result["c"].is_empty());
    }
}
