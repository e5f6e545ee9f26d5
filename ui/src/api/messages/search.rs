//! Searching a topic's records: each partition is read between offsets fixed when the
//! search starts (so a busy topic cannot keep a search going), forwards from the seek
//! position or backwards from the end in growing windows, and the partitions' records are
//! merged by time. Scanning is bounded by a record count, a time and the bytes kept; the
//! answer says how many records were scanned and whether a bound cut the scan short.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Range;
use std::time::Duration;

use potok_client::admin::{ListedOffset, OffsetSpec};
use potok_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, SeekTo};
use potok_client::{ClientError, KafkaError, TopicPartition};
use serde::Serialize;
use tokio::time::Instant;

use super::merge::merge;
use super::partitions::{partitions_of, select};
use super::query::{Order, SearchPlan, Seek};
use super::record::{passes, Filter, MessageRecord, RawRecord};
use crate::cluster::ClusterHandle;
use crate::error::UiResult;

/// The most records one search looks at.
pub const MAX_SCANNED: usize = 10_000;
/// The longest one search reads.
pub const MAX_DURATION: Duration = Duration::from_secs(5);
/// The most bytes of matching records one search holds before it stops reading.
const MAX_KEPT_BYTES: usize = 64 * 1024 * 1024;
/// The longest one poll waits, so the bounds are checked often.
const POLL_WAIT: Duration = Duration::from_millis(300);

/// A search's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub records: Vec<MessageRecord>,
    /// Records looked at, matching the filter or not.
    pub scanned: usize,
    /// A bound (records scanned, time, bytes) stopped the scan before every record it
    /// would have looked at was read.
    pub truncated: bool,
}

/// A partition's offsets when the search starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    /// The log start offset.
    start: i64,
    /// The high watermark: one past the last record a consumer may read.
    end: i64,
    /// Where reading forwards begins.
    from: i64,
}

/// The records `plan` asks for from `topic`.
pub async fn search(
    cluster: &ClusterHandle,
    topic: &str,
    plan: &SearchPlan,
) -> UiResult<SearchResult> {
    let existing = partitions_of(cluster, topic).await?;
    let partitions = select(topic, &existing, plan.partition)?;
    let bounds = bounds(cluster, topic, &partitions, plan.seek).await?;
    let mut scan = Scan::new(cluster, topic, plan);
    let backwards = plan.seek == Seek::Latest;
    let read = if backwards {
        scan.backward(&bounds).await
    } else {
        scan.forward(&bounds).await
    };
    let per_partition = read.map_err(|e| cluster.error(e))?;
    let mut records = merge(per_partition, backwards, plan.limit);
    if (plan.order == Order::NewestFirst) != backwards {
        records.reverse();
    }
    Ok(SearchResult {
        records,
        scanned: scan.scanned,
        truncated: scan.truncated,
    })
}

/// ListOffsets' answer, per partition.
type Listed = BTreeMap<TopicPartition, Result<ListedOffset, KafkaError>>;

/// Each partition's start and end offsets, and where reading forwards begins.
async fn bounds(
    cluster: &ClusterHandle,
    topic: &str,
    partitions: &[i32],
    seek: Seek,
) -> UiResult<BTreeMap<i32, Bounds>> {
    let list = |spec: OffsetSpec| {
        let specs: Vec<_> = partitions
            .iter()
            .map(|p| (TopicPartition::new(topic, *p), spec))
            .collect();
        async move { cluster.admin.list_offsets(&specs).await }
    };
    let (earliest, latest) = tokio::join!(list(OffsetSpec::Earliest), list(OffsetSpec::Latest));
    let (earliest, latest) = (
        earliest.map_err(|e| cluster.error(e))?,
        latest.map_err(|e| cluster.error(e))?,
    );
    let at_time = match seek {
        Seek::Timestamp(t) => Some(
            list(OffsetSpec::Timestamp(t))
                .await
                .map_err(|e| cluster.error(e))?,
        ),
        _ => None,
    };
    let mut bounds = BTreeMap::new();
    for &partition in partitions {
        let tp = TopicPartition::new(topic, partition);
        let offset_of = |listed: &Listed| -> UiResult<Option<i64>> {
            match listed.get(&tp) {
                Some(Ok(found)) => Ok(Some(found.offset)),
                Some(Err(error)) => Err(cluster.error(error.clone().into())),
                None => Ok(None),
            }
        };
        let (Some(start), Some(end)) = (offset_of(&earliest)?, offset_of(&latest)?) else {
            continue;
        };
        let found_at_time = match &at_time {
            Some(listed) => offset_of(listed)?,
            None => None,
        };
        bounds.insert(
            partition,
            Bounds {
                start,
                end,
                from: first_offset(seek, start, end, found_at_time),
            },
        );
    }
    Ok(bounds)
}

/// Where reading forwards begins in a partition holding `start..end`. A timestamp lookup
/// that found nothing (offset -1) means no record is that recent: nothing to read.
fn first_offset(seek: Seek, start: i64, end: i64, found_at_time: Option<i64>) -> i64 {
    let end = end.max(start);
    match seek {
        Seek::Earliest => start,
        Seek::Latest => end,
        Seek::Offset(offset) => offset.clamp(start, end),
        Seek::Timestamp(_) => match found_at_time {
            Some(offset) if offset >= 0 => offset.clamp(start, end),
            _ => end,
        },
    }
}

/// The window of up to `size` offsets just below `below`, not before `start`.
fn window_below(start: i64, below: i64, size: i64) -> Range<i64> {
    (below - size).max(start)..below
}

/// A poll's records taking turns by partition (the first of each, then the second of
/// each, ...), so a bound reached within one poll leaves every partition its share.
fn interleave<T>(items: &[T], partition: impl Fn(&T) -> i32) -> Vec<&T> {
    let mut by_partition: BTreeMap<i32, VecDeque<&T>> = BTreeMap::new();
    for item in items {
        by_partition
            .entry(partition(item))
            .or_default()
            .push_back(item);
    }
    let mut turns = Vec::with_capacity(items.len());
    while !by_partition.is_empty() {
        by_partition.retain(|_, queue| {
            turns.extend(queue.pop_front());
            !queue.is_empty()
        });
    }
    turns
}

/// One search's reading state: its consumer and the bounds spent so far.
struct Scan {
    consumer: Consumer,
    topic: String,
    filter: Option<Filter>,
    limit: usize,
    deadline: Instant,
    scanned: usize,
    kept_bytes: usize,
    truncated: bool,
}

impl Scan {
    fn new(cluster: &ClusterHandle, topic: &str, plan: &SearchPlan) -> Scan {
        let config = ConsumerConfig {
            fetch_max_wait: Duration::from_millis(100),
            // Records deleted by retention while reading: go on from what is left.
            auto_offset_reset: SeekTo::Beginning,
            ..ConsumerConfig::default()
        };
        Scan {
            consumer: Consumer::with_cluster(cluster.admin.cluster().clone(), config),
            topic: topic.to_string(),
            filter: plan.filter.clone(),
            limit: plan.limit,
            deadline: Instant::now() + MAX_DURATION,
            scanned: 0,
            kept_bytes: 0,
            truncated: false,
        }
    }

    fn exhausted(&self) -> bool {
        self.scanned >= MAX_SCANNED
            || self.kept_bytes >= MAX_KEPT_BYTES
            || Instant::now() >= self.deadline
    }

    /// Up to `limit` matching records of each partition from its seek position on.
    async fn forward(
        &mut self,
        bounds: &BTreeMap<i32, Bounds>,
    ) -> Result<Vec<Vec<MessageRecord>>, ClientError> {
        let ranges = bounds.iter().map(|(p, b)| (*p, b.from..b.end)).collect();
        let limit = self.limit;
        let mut kept: BTreeMap<i32, Vec<MessageRecord>> = BTreeMap::new();
        self.read(&ranges, |record| {
            let list = kept.entry(record.partition).or_default();
            list.push(record);
            list.len() < limit
        })
        .await?;
        Ok(kept.into_values().collect())
    }

    /// The last `limit` matching records of each partition, read in windows below its
    /// end, each window twice the last, until enough match or the partition's start.
    async fn backward(
        &mut self,
        bounds: &BTreeMap<i32, Bounds>,
    ) -> Result<Vec<Vec<MessageRecord>>, ClientError> {
        let limit = self.limit;
        let mut kept: BTreeMap<i32, VecDeque<MessageRecord>> = BTreeMap::new();
        let mut below: BTreeMap<i32, i64> = bounds.iter().map(|(p, b)| (*p, b.end)).collect();
        let mut size = limit as i64;
        loop {
            let ranges: BTreeMap<i32, Range<i64>> = below
                .iter()
                .filter(|(p, hi)| {
                    kept.get(p).map_or(0, VecDeque::len) < limit
                        && bounds.get(p).is_some_and(|b| **hi > b.start)
                })
                .filter_map(|(p, hi)| {
                    bounds
                        .get(p)
                        .map(|b| (*p, window_below(b.start, *hi, size)))
                })
                .collect();
            if ranges.is_empty() {
                break;
            }
            if self.exhausted() {
                self.truncated = true;
                break;
            }
            let needed: BTreeMap<i32, usize> = ranges
                .keys()
                .map(|p| (*p, limit - kept.get(p).map_or(0, VecDeque::len)))
                .collect();
            let mut found: BTreeMap<i32, VecDeque<MessageRecord>> = BTreeMap::new();
            self.read(&ranges, |record| {
                let need = needed.get(&record.partition).copied().unwrap_or(0);
                let list = found.entry(record.partition).or_default();
                list.push_back(record);
                if list.len() > need {
                    list.pop_front();
                }
                true
            })
            .await?;
            for (partition, older) in found {
                let list = kept.entry(partition).or_default();
                for record in older.into_iter().rev() {
                    list.push_front(record);
                }
            }
            for (partition, range) in ranges {
                below.insert(partition, range.start);
            }
            size = (size * 2).min(MAX_SCANNED as i64);
        }
        Ok(kept.into_values().map(Vec::from).collect())
    }

    /// Reads each partition's `range`, handing `keep` each record that passes the filter;
    /// `keep` answers whether its partition should go on. Stops early, marking the scan
    /// truncated, when a bound is reached.
    async fn read(
        &mut self,
        ranges: &BTreeMap<i32, Range<i64>>,
        mut keep: impl FnMut(MessageRecord) -> bool,
    ) -> Result<(), ClientError> {
        let mut ends: BTreeMap<i32, i64> = ranges
            .iter()
            .filter(|(_, r)| r.start < r.end)
            .map(|(p, r)| (*p, r.end))
            .collect();
        self.consumer.assign(self.assignment(&ends));
        for (partition, range) in ranges.iter().filter(|(p, _)| ends.contains_key(p)) {
            self.consumer
                .seek(&self.topic, *partition, SeekTo::Offset(range.start))?;
        }
        while !ends.is_empty() {
            if self.exhausted() {
                self.truncated = true;
                break;
            }
            let wait = self
                .deadline
                .saturating_duration_since(Instant::now())
                .min(POLL_WAIT);
            let records = self.consumer.poll(wait).await?;
            let mut finished = BTreeSet::new();
            for record in interleave(&records, |r: &ConsumerRecord| r.partition) {
                let Some(&end) = ends.get(&record.partition) else {
                    continue;
                };
                if finished.contains(&record.partition) {
                    continue;
                }
                if record.offset >= end {
                    finished.insert(record.partition);
                    continue;
                }
                if self.scanned >= MAX_SCANNED {
                    self.truncated = true;
                    break;
                }
                self.scanned += 1;
                let raw = RawRecord::of(record);
                if passes(self.filter.as_ref(), &raw) {
                    self.kept_bytes += raw.size();
                    if !keep(raw.shown()) {
                        finished.insert(record.partition);
                    }
                }
            }
            for (tp, position) in self.consumer.positions() {
                if ends.get(&tp.partition).is_some_and(|end| position >= *end) {
                    finished.insert(tp.partition);
                }
            }
            if !finished.is_empty() {
                ends.retain(|p, _| !finished.contains(p));
                self.consumer.assign(self.assignment(&ends));
            }
        }
        Ok(())
    }

    fn assignment(&self, partitions: &BTreeMap<i32, i64>) -> Vec<TopicPartition> {
        partitions
            .keys()
            .map(|p| TopicPartition::new(self.topic.clone(), *p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_reading_starts_where_the_seek_says_within_the_log() {
        assert_eq!(first_offset(Seek::Earliest, 5, 20, None), 5);
        assert_eq!(first_offset(Seek::Offset(10), 5, 20, None), 10);
        assert_eq!(first_offset(Seek::Offset(2), 5, 20, None), 5);
        assert_eq!(first_offset(Seek::Offset(99), 5, 20, None), 20);
        assert_eq!(first_offset(Seek::Timestamp(1), 5, 20, Some(12)), 12);
        assert_eq!(first_offset(Seek::Timestamp(1), 5, 20, Some(-1)), 20);
        assert_eq!(first_offset(Seek::Timestamp(1), 5, 20, None), 20);
    }

    #[test]
    fn a_poll_is_taken_in_turns_by_partition() {
        let polled = [(0, 'a'), (0, 'b'), (0, 'c'), (1, 'x'), (2, 'p'), (2, 'q')];
        let turns: Vec<char> = interleave(&polled, |r| r.0)
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(turns, ['a', 'x', 'p', 'b', 'q', 'c']);
    }

    #[test]
    fn backward_windows_stop_at_the_log_start() {
        assert_eq!(window_below(0, 100, 30), 70..100);
        assert_eq!(window_below(80, 100, 30), 80..100);
        assert_eq!(window_below(0, 10, 100), 0..10);
    }
}
