//! Per-partition batching: records collect in one open batch per partition until the batch
//! reaches `batch.size` bytes or has waited `linger.ms`; idempotent producers also number
//! each partition's records with consecutive sequence numbers.
//!
//! Pure bookkeeping, no I/O, so the rules are tested directly.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use indexmap::IndexMap;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::RecordMetadata;
use crate::cluster::TopicPartition;
use crate::error::ClientError;

/// Bytes a record adds to a batch beyond its key, value and headers (Kafka's record
/// overhead: length, attributes, deltas as varints).
const RECORD_OVERHEAD: usize = 21;

/// A record waiting in a batch, with the channel its result goes to.
#[derive(Debug)]
pub(crate) struct PendingRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: i64,
    pub reply: oneshot::Sender<Result<RecordMetadata, ClientError>>,
}

impl PendingRecord {
    fn size(&self) -> usize {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len);
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + len(v) + 2).sum();
        RECORD_OVERHEAD + len(&self.key) + len(&self.value) + headers
    }
}

/// Records bound for one partition, sent in one produce request.
#[derive(Debug)]
pub(crate) struct Batch {
    pub partition: TopicPartition,
    pub records: Vec<PendingRecord>,
    pub size: usize,
    pub created: Instant,
}

/// Open batches, one per partition, in the order they were opened.
#[derive(Debug)]
pub(crate) struct Accumulator {
    batch_size: usize,
    linger: Duration,
    open: IndexMap<TopicPartition, Batch>,
}

impl Accumulator {
    pub fn new(batch_size: usize, linger: Duration) -> Accumulator {
        Accumulator {
            batch_size,
            linger,
            open: IndexMap::new(),
        }
    }

    /// Adds a record to its partition's batch.
    pub fn append(&mut self, partition: TopicPartition, record: PendingRecord, now: Instant) {
        let batch = self.open.entry(partition.clone()).or_insert_with(|| Batch {
            partition,
            records: Vec::new(),
            size: 0,
            created: now,
        });
        batch.size += record.size();
        batch.records.push(record);
    }

    /// Takes the batches that are full or have lingered long enough (all of them when
    /// `flush`), leaving the rest open.
    pub fn drain_ready(&mut self, now: Instant, flush: bool) -> Vec<Batch> {
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|(_, b)| {
                flush || b.size >= self.batch_size || now >= b.created + self.linger
            });
        self.open = waiting.into_iter().collect();
        ready.into_iter().map(|(_, b)| b).collect()
    }

    /// When the oldest open batch will have lingered enough.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.values().map(|b| b.created + self.linger).min()
    }
}

/// The next sequence number per partition of an idempotent producer.
#[derive(Debug, Default)]
pub(crate) struct Sequences {
    next: HashMap<TopicPartition, i32>,
}

impl Sequences {
    /// Reserves `count` numbers for a batch and returns the first; numbers wrap at
    /// `i32::MAX` as Kafka's do.
    pub fn reserve(&mut self, partition: &TopicPartition, count: usize) -> i32 {
        let next = self.next.entry(partition.clone()).or_insert(0);
        let base = *next;
        *next = base.wrapping_add(count as i32) & i32::MAX;
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> PendingRecord {
        let (reply, _) = oneshot::channel();
        PendingRecord {
            key: None,
            value: Some(Bytes::copy_from_slice(value.as_bytes())),
            headers: vec![],
            timestamp: 0,
            reply,
        }
    }

    #[test]
    fn batches_wait_for_linger_or_size() {
        let start = Instant::now();
        let mut acc = Accumulator::new(100, Duration::from_millis(10));
        let p0 = TopicPartition::new("t", 0);
        let p1 = TopicPartition::new("t", 1);
        acc.append(p0.clone(), record("a"), start);
        assert!(acc.drain_ready(start, false).is_empty());
        assert_eq!(acc.next_deadline(), Some(start + Duration::from_millis(10)));
        acc.append(p1.clone(), record(&"x".repeat(100)), start);
        let ready = acc.drain_ready(start, false);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].partition, p1);
        let later = start + Duration::from_millis(10);
        let ready = acc.drain_ready(later, false);
        assert_eq!(ready[0].partition, p0);
        assert_eq!(acc.next_deadline(), None);
    }

    #[test]
    fn records_of_a_partition_share_one_batch_until_flush() {
        let now = Instant::now();
        let mut acc = Accumulator::new(1000, Duration::from_secs(1));
        let p = TopicPartition::new("t", 0);
        acc.append(p.clone(), record("a"), now);
        acc.append(p.clone(), record("b"), now);
        let ready = acc.drain_ready(now, true);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].records.len(), 2);
    }

    #[test]
    fn sequences_are_consecutive_per_partition_and_wrap() {
        let mut seq = Sequences::default();
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        assert_eq!(seq.reserve(&a, 3), 0);
        assert_eq!(seq.reserve(&a, 2), 3);
        assert_eq!(seq.reserve(&b, 1), 0);
        seq.next.insert(a.clone(), i32::MAX);
        assert_eq!(seq.reserve(&a, 2), i32::MAX);
        assert_eq!(seq.reserve(&a, 1), 1);
    }
}
