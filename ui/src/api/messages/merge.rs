//! Merging the records read from several partitions into one list by time, keeping each
//! partition's own offset order (a partition's CreateTime timestamps need not grow with
//! its offsets, so a plain sort by time could list a partition out of order).

use std::collections::VecDeque;

use super::record::MessageRecord;

/// The record `list` gives next: its oldest, or its newest.
fn head(list: &VecDeque<MessageRecord>, newest_first: bool) -> Option<&MessageRecord> {
    if newest_first {
        list.back()
    } else {
        list.front()
    }
}

/// Up to `limit` records of `partitions` (each list in offset order), oldest first or
/// newest first. At each step the list whose next record is the oldest (or newest) gives
/// it; ties go to the lower partition.
pub fn merge(
    partitions: Vec<Vec<MessageRecord>>,
    newest_first: bool,
    limit: usize,
) -> Vec<MessageRecord> {
    let mut lists: Vec<VecDeque<MessageRecord>> = partitions.into_iter().map(Into::into).collect();
    let mut merged = Vec::with_capacity(limit.min(lists.iter().map(|l| l.len()).sum()));
    while merged.len() < limit {
        let mut chosen: Option<(usize, &MessageRecord)> = None;
        for (index, list) in lists.iter().enumerate() {
            let Some(candidate) = head(list, newest_first) else {
                continue;
            };
            let better = match chosen {
                None => true,
                Some((_, best)) => {
                    let by_time = if newest_first {
                        candidate.timestamp > best.timestamp
                    } else {
                        candidate.timestamp < best.timestamp
                    };
                    by_time
                        || (candidate.timestamp == best.timestamp
                            && candidate.partition < best.partition)
                }
            };
            if better {
                chosen = Some((index, candidate));
            }
        }
        let Some((index, _)) = chosen else {
            break;
        };
        let taken = if newest_first {
            lists[index].pop_back()
        } else {
            lists[index].pop_front()
        };
        merged.extend(taken);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::messages::record::Format;

    fn record(partition: i32, offset: i64, timestamp: i64) -> MessageRecord {
        MessageRecord {
            partition,
            offset,
            timestamp,
            timestamp_type: "CREATE_TIME",
            key: None,
            value: None,
            key_format: Format::Null,
            value_format: Format::Null,
            headers: Vec::new(),
            key_size: 0,
            value_size: 0,
        }
    }

    fn ids(records: &[MessageRecord]) -> Vec<(i32, i64)> {
        records.iter().map(|r| (r.partition, r.offset)).collect()
    }

    fn partitions() -> Vec<Vec<MessageRecord>> {
        vec![
            vec![record(0, 0, 10), record(0, 1, 30), record(0, 2, 50)],
            vec![record(1, 0, 20), record(1, 1, 30), record(1, 2, 60)],
        ]
    }

    #[test]
    fn newest_first_takes_the_latest_records_of_all_partitions() {
        let merged = merge(partitions(), true, 4);
        assert_eq!(ids(&merged), [(1, 2), (0, 2), (0, 1), (1, 1)]);
    }

    #[test]
    fn oldest_first_takes_the_earliest_records_of_all_partitions() {
        let merged = merge(partitions(), false, 10);
        assert_eq!(
            ids(&merged),
            [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
        );
    }

    #[test]
    fn a_partition_keeps_its_offset_order_when_its_timestamps_go_back() {
        let lists = vec![
            vec![record(0, 0, 100), record(0, 1, 5)],
            vec![record(1, 0, 50)],
        ];
        assert_eq!(ids(&merge(lists, true, 3)), [(1, 0), (0, 1), (0, 0)]);
    }

    #[test]
    fn empty_partitions_and_small_limits_are_fine() {
        assert!(merge(vec![Vec::new(), Vec::new()], true, 5).is_empty());
        assert_eq!(merge(partitions(), false, 1).len(), 1);
    }
}
