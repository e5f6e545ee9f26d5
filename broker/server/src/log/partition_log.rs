//! The partition log: segments in offset order, the log start offset, and the operations the
//! broker needs. Offsets are assigned here, on append; the last segment is the active one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use thiserror::Error;

use super::batch::{
    set_base_offset, set_log_append_time, set_partition_leader_epoch, validate_batches, BatchError,
    BatchHeader,
};
use super::epoch_cache::EpochCache;
use super::segment::{file_name, Segment, SegmentSync};

/// Where the log start offset (raised by DeleteRecords) survives restarts.
const LOG_START_OFFSET_FILE: &str = "log-start-offset";

/// The log settings taken from topic configs; defaults are Kafka's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`
    pub segment_bytes: u64,
    /// `segment.ms`
    pub segment_ms: i64,
    /// `retention.ms`, -1 for unlimited
    pub retention_ms: i64,
    /// `retention.bytes`, -1 for unlimited
    pub retention_bytes: i64,
    /// `index.interval.bytes`
    pub index_interval_bytes: u32,
    /// `message.timestamp.type=LogAppendTime`
    pub log_append_time: bool,
    /// `cleanup.policy` includes `delete`: retention applies. A compact-only log (such as
    /// `__consumer_offsets`) keeps its segments.
    pub retention_deletes: bool,
    /// `min.insync.replicas`: kept with the log settings, as Kafka's `LogConfig` does.
    pub min_insync_replicas: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1_073_741_824,
            segment_ms: 604_800_000,
            retention_ms: 604_800_000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            log_append_time: false,
            retention_deletes: true,
            min_insync_replicas: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker's timestamp with LogAppendTime, else -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// Whether a read returns its first batch when that batch alone is over the limit. Kafka
/// does (KIP-74) for the first batch of a fetch response, so a batch larger than any limit
/// can still be consumed; past it, a response keeps to the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstBatch {
    Whole,
    WithinLimit,
}

#[derive(Debug, Clone)]
pub struct ReadResult {
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

#[derive(Debug, Error)]
pub enum LogError {
    #[error("log I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error("offset {offset} is outside the log's range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("replicated batch starts at offset {got}, but the log ends at {expected}")]
    NonContiguousAppend { expected: i64, got: i64 },
}

pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    epochs: EpochCache,
    /// Base offsets of segments closed by a roll whose files may not be synced yet: the
    /// append that rolls does not wait for a whole segment's fsync, as in Kafka, where a
    /// rolled segment is flushed in the background.
    unsynced: Vec<i64>,
}

impl PartitionLog {
    /// Opens the log in `dir` (creating it). After a clean shutdown only the active
    /// segment's tail is checked; after a crash every batch of every segment is (its CRC
    /// and length), the log is cut at the first bad one and the segments after it are
    /// removed, and indexes are rebuilt where they do not agree with their segment.
    pub fn open(dir: &Path, config: LogConfig, clean_shutdown: bool) -> Result<Self, LogError> {
        std::fs::create_dir_all(dir)?;
        crate::durable_file::remove_leftovers(dir)?;
        let mut bases: Vec<i64> = std::fs::read_dir(dir)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect();
        bases.sort_unstable();
        if bases.is_empty() {
            bases.push(read_log_start_offset(dir)?.unwrap_or(0));
        }
        let mut segments = BTreeMap::new();
        for (i, &base) in bases.iter().enumerate() {
            let active = i == bases.len() - 1;
            let (segment, truncated) = Segment::open(
                dir,
                base,
                config.index_interval_bytes,
                active || !clean_shutdown,
            )?;
            let end = segment.next_offset();
            segments.insert(base, segment);
            if truncated > 0 {
                let dropped = drop_segments_after(dir, &bases[i + 1..])?;
                tracing::warn!(
                    log = %dir.display(),
                    segment = %file_name(base, "log"),
                    truncated_bytes = truncated,
                    later_segments_removed = dropped,
                    log_end_offset = end,
                    "recovery dropped an incomplete or corrupt batch and everything after it"
                );
                break;
            }
        }
        let first_base = bases[0];
        let log_start_offset = read_log_start_offset(dir)?
            .unwrap_or(first_base)
            .max(first_base);
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            epochs: EpochCache::empty(dir),
            unsynced: Vec::new(),
        };
        // The checkpoint is written unsynced: only a clean shutdown's flush makes it whole.
        let saved = if clean_shutdown {
            EpochCache::load(dir)?
        } else {
            None
        };
        log.epochs = match saved {
            Some(epochs) => epochs,
            None => log.rebuild_epochs()?,
        };
        if log.epochs.truncate_from(log.log_end_offset()) {
            log.epochs.write()?;
        }
        Ok(log)
    }

    /// Rebuilds the leader epoch cache from the batches: after a crash, for a new log, and
    /// for logs written before the cache existed.
    fn rebuild_epochs(&self) -> Result<EpochCache, LogError> {
        let mut epochs = EpochCache::empty(&self.dir);
        for header in self.batch_headers(self.log_start_offset)? {
            epochs.assign(header.partition_leader_epoch, header.base_offset);
        }
        epochs.write()?;
        Ok(epochs)
    }

    /// The latest leader epoch written to this log.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// OffsetForLeaderEpoch: the largest epoch not above `epoch` and where it ended.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    fn note_epoch(&mut self, epoch: i32, offset: i64) -> Result<(), LogError> {
        if self.epochs.assign(epoch, offset) {
            self.epochs.write()?;
        }
        Ok(())
    }

    fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log has a segment")
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    pub fn update_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Appends a producer's batches, giving them the next offsets and `leader_epoch`.
    pub fn append(
        &mut self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let headers = validate_batches(records)?;
        let mut bytes = records.to_vec();
        let base_offset = self.log_end_offset();
        let mut next = base_offset;
        let mut position = 0;
        let mut patched = Vec::with_capacity(headers.len());
        for header in headers {
            let batch = &mut bytes[position..position + header.total_size()];
            set_base_offset(batch, next);
            set_partition_leader_epoch(batch, leader_epoch);
            if self.config.log_append_time {
                set_log_append_time(batch, now_ms);
            }
            patched.push(BatchHeader {
                base_offset: next,
                partition_leader_epoch: leader_epoch,
                max_timestamp: if self.config.log_append_time {
                    now_ms
                } else {
                    header.max_timestamp
                },
                ..header
            });
            next += header.last_offset_delta as i64 + 1;
            position += header.total_size();
        }
        self.note_epoch(leader_epoch, base_offset)?;
        self.write_batches(&bytes, &patched, now_ms)?;
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: if self.config.log_append_time {
                now_ms
            } else {
                -1
            },
            log_start_offset: self.log_start_offset,
        })
    }

    /// Appends batches copied from a leader, keeping their offsets.
    pub fn append_as_follower(
        &mut self,
        records: &[u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let headers = validate_batches(records)?;
        let expected = self.log_end_offset();
        let first = headers[0].base_offset;
        if first != expected {
            return Err(LogError::NonContiguousAppend {
                expected,
                got: first,
            });
        }
        let last_offset = headers
            .last()
            .map_or(expected - 1, BatchHeader::last_offset);
        for header in &headers {
            self.note_epoch(header.partition_leader_epoch, header.base_offset)?;
        }
        self.write_batches(records, &headers, now_ms)?;
        Ok(AppendInfo {
            base_offset: first,
            last_offset,
            log_append_time: -1,
            log_start_offset: self.log_start_offset,
        })
    }

    fn write_batches(
        &mut self,
        bytes: &[u8],
        headers: &[BatchHeader],
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.roll_if_needed(bytes.len() as u64, now_ms)?;
        self.active_mut().append(bytes, headers, now_ms)?;
        Ok(())
    }

    /// Starts a new segment when the active one would pass `segment.bytes`, is older than
    /// `segment.ms`, or its relative offsets would no longer fit the 32-bit index.
    fn roll_if_needed(&mut self, incoming: u64, now_ms: i64) -> Result<(), LogError> {
        let end = self.log_end_offset();
        let segment_bytes = self.config.segment_bytes;
        let segment_ms = self.config.segment_ms;
        let index_interval = self.config.index_interval_bytes;
        let active = self.active_mut();
        if active.size() == 0 {
            return Ok(());
        }
        let full = active.size() + incoming > segment_bytes;
        let old = active
            .first_append_ms
            .is_some_and(|first| now_ms - first > segment_ms);
        let offsets_exhausted = end - active.base_offset > i32::MAX as i64;
        if !(full || old || offsets_exhausted) {
            return Ok(());
        }
        active.write_indexes()?;
        let closed = active.base_offset;
        let (segment, _) = Segment::open(&self.dir, end, index_interval, false)?;
        self.segments.insert(end, segment);
        self.unsynced.push(closed);
        Ok(())
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` and stopping before
    /// `max_offset`; with `FirstBatch::Whole` the first batch comes even when larger.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        first_batch: FirstBatch,
    ) -> Result<ReadResult, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        let result = |records| ReadResult {
            records,
            log_start_offset: self.log_start_offset,
            log_end_offset,
        };
        if offset >= log_end_offset.min(max_offset) {
            return Ok(result(Bytes::new()));
        }
        let Some((segment, start)) = self.locate(offset)? else {
            return Ok(result(Bytes::new()));
        };
        let mut length = 0usize;
        let mut position = start;
        while let Some(header) = segment.header_at(position)? {
            let size = header.total_size();
            let may_exceed = length == 0 && first_batch == FirstBatch::Whole;
            if header.base_offset >= max_offset || (!may_exceed && length + size > max_bytes) {
                break;
            }
            if position + size as u64 > segment.size() {
                break;
            }
            length += size;
            position += size as u64;
        }
        Ok(result(Bytes::from(segment.read(start, length)?)))
    }

    /// The segment and file position of the batch holding `offset`, looking into the next
    /// segment when `offset` is past the end of the one it would belong to.
    fn locate(&self, offset: i64) -> Result<Option<(&Segment, u64)>, LogError> {
        for (_, segment) in self
            .segments
            .range(..=offset)
            .next_back()
            .into_iter()
            .chain(self.segments.range(offset + 1..).take(1))
        {
            if let Some((position, _)) = segment.find(offset)? {
                return Ok(Some((segment, position)));
            }
        }
        Ok(None)
    }

    /// ListOffsets by timestamp: the first offset whose record timestamp is at least
    /// `timestamp`, and that timestamp.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in self.segments.values() {
            if segment
                .max_timestamp()
                .is_none_or(|(max, _)| max < timestamp)
            {
                continue;
            }
            let Some((position, header)) = segment.find_by_timestamp(timestamp)? else {
                continue;
            };
            let found = self.record_in_batch(segment, position, &header, |record_timestamp| {
                record_timestamp >= timestamp
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: the offset of the record with the largest timestamp.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        let Some((max, batch_offset)) = self
            .segments
            .values()
            .filter_map(Segment::max_timestamp)
            .fold(None, |best: Option<(i64, i64)>, candidate| match best {
                Some(best) if best.0 >= candidate.0 => Some(best),
                _ => Some(candidate),
            })
        else {
            return Ok(None);
        };
        let (segment, position) = match self.locate(batch_offset)? {
            Some(found) => found,
            None => return Ok(None),
        };
        let Some(header) = segment.header_at(position)? else {
            return Ok(None);
        };
        self.record_in_batch(segment, position, &header, |t| t == max)
    }

    /// The first record of a stored batch, at or after the log start, whose timestamp
    /// satisfies `wanted`; decodes (and decompresses) the batch.
    fn record_in_batch(
        &self,
        segment: &Segment,
        position: u64,
        header: &BatchHeader,
        wanted: impl Fn(i64) -> bool,
    ) -> Result<Option<(i64, i64)>, LogError> {
        if header.timestamp_is_log_append_time() {
            let offset = header.base_offset.max(self.log_start_offset);
            return Ok(wanted(header.max_timestamp).then_some((offset, header.max_timestamp)));
        }
        let mut bytes = Bytes::from(segment.read(position, header.total_size())?);
        let decoded = RecordBatchDecoder::decode(&mut bytes)
            .map_err(|e| BatchError::Corrupt(format!("stored batch does not decode: {e}")))?;
        Ok(decoded
            .records
            .iter()
            .filter(|record| record.offset >= self.log_start_offset)
            .find(|record| wanted(record.timestamp))
            .map(|record| (record.offset, record.timestamp)))
    }

    /// DeleteRecords: makes `offset` the new log start and removes segments wholly below it.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset > log_end_offset || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        if offset > self.log_start_offset {
            self.set_log_start_offset(offset)?;
            self.delete_segments_below_start()?;
        }
        Ok(self.log_start_offset)
    }

    fn set_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        self.log_start_offset = offset;
        crate::durable_file::replace(
            &self.dir.join(LOG_START_OFFSET_FILE),
            offset.to_string().as_bytes(),
        )?;
        Ok(())
    }

    /// Removes closed segments whose every offset is below the log start offset.
    fn delete_segments_below_start(&mut self) -> Result<(), LogError> {
        let active_base = self.active().base_offset;
        let doomed: Vec<i64> = self
            .segments
            .values()
            .filter(|s| s.base_offset != active_base && s.next_offset() <= self.log_start_offset)
            .map(|s| s.base_offset)
            .collect();
        for base in doomed {
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        Ok(())
    }

    /// Deletes the oldest closed segments past `retention.ms` (by their largest timestamp)
    /// or while the log exceeds `retention.bytes`. Returns how many were deleted.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        while self.config.retention_deletes {
            if self.segments.len() < 2 {
                break;
            }
            let oldest = self.segments.values().next().expect("two segments");
            let expired = self.config.retention_ms >= 0
                && oldest
                    .max_timestamp()
                    .is_none_or(|(max, _)| now_ms - max > self.config.retention_ms);
            let oversized = self.config.retention_bytes >= 0
                && self.size_bytes() - oldest.size() >= self.config.retention_bytes as u64;
            if !(expired || oversized) {
                break;
            }
            let base = oldest.base_offset;
            let next = oldest.next_offset();
            let segment = self.segments.remove(&base).expect("present");
            segment.delete()?;
            deleted += 1;
            if next > self.log_start_offset {
                self.set_log_start_offset(next)?;
            }
        }
        Ok(deleted)
    }

    /// Removes every batch at or after `offset` (whole batches), for follower truncation.
    /// An offset below the first segment empties the log and restarts it at `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < self.segments.keys().next().copied().unwrap_or(0)
            || offset < self.log_start_offset
        {
            return self.restart_at(offset.max(0));
        }
        if self.epochs.truncate_from(offset) {
            self.epochs.write()?;
        }
        let doomed: Vec<i64> = self
            .segments
            .range(offset + 1..)
            .map(|(base, _)| *base)
            .collect();
        for base in doomed {
            if self.segments.len() == 1 {
                break;
            }
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        self.active_mut().truncate_to(offset)?;
        Ok(())
    }

    /// Empties the log and continues it at `offset`: a follower whose position fell below
    /// the leader's log start, or whose whole log diverged.
    pub fn restart_at(&mut self, offset: i64) -> Result<(), LogError> {
        for (_, segment) in std::mem::take(&mut self.segments) {
            segment.delete()?;
        }
        let (segment, _) =
            Segment::open(&self.dir, offset, self.config.index_interval_bytes, true)?;
        self.segments.insert(offset, segment);
        self.set_log_start_offset(offset)?;
        self.epochs.clear();
        self.epochs.write()?;
        Ok(())
    }

    /// Headers of the batches from the one holding `from_offset` to the end.
    pub fn batch_headers(&self, from_offset: i64) -> Result<Vec<BatchHeader>, LogError> {
        let mut headers = Vec::new();
        let first = self
            .segments
            .range(..=from_offset)
            .next_back()
            .map_or(i64::MIN, |(base, _)| *base);
        for segment in self.segments.range(first..).map(|(_, s)| s) {
            let start = segment
                .find(from_offset)?
                .map_or(0, |(position, _)| position);
            let start = if segment.base_offset > from_offset {
                0
            } else {
                start
            };
            headers.extend(segment.headers_from(start)?.into_iter().map(|(_, h)| h));
        }
        Ok(headers)
    }

    /// Syncs the segments closed since the last sync, then the active one and the leader
    /// epoch checkpoint.
    pub fn flush(&mut self) -> Result<(), LogError> {
        let mut synced = Vec::new();
        for (base, sync) in self.unsynced_segments()? {
            sync.sync()?;
            synced.push(base);
        }
        self.mark_synced(&synced);
        self.active_mut().flush()?;
        self.epochs.save()?;
        Ok(())
    }

    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    /// Handles to sync the segments closed by rolls and not synced yet, outside the log's
    /// lock; `mark_synced` with their bases once done. Segments deleted meanwhile (by
    /// retention or truncation) are left out.
    pub fn unsynced_segments(&self) -> Result<Vec<(i64, SegmentSync)>, LogError> {
        let mut handles = Vec::new();
        for base in &self.unsynced {
            if let Some(segment) = self.segments.get(base) {
                handles.push((*base, segment.sync_handle()?));
            }
        }
        Ok(handles)
    }

    /// Forgets `bases` once synced, and segments that truncation or retention removed
    /// before their sync, so a removed segment is not waited on for ever.
    pub fn mark_synced(&mut self, bases: &[i64]) {
        let segments = &self.segments;
        self.unsynced
            .retain(|base| !bases.contains(base) && segments.contains_key(base));
    }

    /// Removes the partition's directory and everything in it.
    pub fn delete(self) -> Result<(), LogError> {
        let dir = self.dir.clone();
        drop(self);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Deletes the files of the segments at `bases`, which follow a truncated one.
fn drop_segments_after(dir: &Path, bases: &[i64]) -> Result<usize, LogError> {
    for &base in bases {
        for extension in ["log", "index", "timeindex"] {
            match std::fs::remove_file(dir.join(file_name(base, extension))) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    Ok(bases.len())
}

fn read_log_start_offset(dir: &Path) -> Result<Option<i64>, LogError> {
    match std::fs::read_to_string(dir.join(LOG_START_OFFSET_FILE)) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::tests::encode_batch;
    use crate::log::batch::validate_batch;
    use kafka_protocol::records::Compression;

    fn open(dir: &Path, config: LogConfig) -> PartitionLog {
        PartitionLog::open(dir, config, true).unwrap()
    }

    fn open_after_crash(dir: &Path, config: LogConfig) -> PartitionLog {
        PartitionLog::open(dir, config, false).unwrap()
    }

    fn small_segments() -> LogConfig {
        LogConfig {
            segment_bytes: 2_000,
            index_interval_bytes: 100,
            ..LogConfig::default()
        }
    }

    /// Offsets of the batches in `records`.
    fn batch_offsets(mut records: &[u8]) -> Vec<(i64, i64)> {
        let mut offsets = Vec::new();
        while !records.is_empty() {
            let header = validate_batch(records).unwrap();
            offsets.push((header.base_offset, header.last_offset()));
            records = &records[header.total_size()..];
        }
        offsets
    }

    #[test]
    fn offsets_are_assigned_consecutively() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let first = log
            .append(&encode_batch(3, 0, Compression::None), 0, 0)
            .unwrap();
        let second = log
            .append(&encode_batch(2, 0, Compression::Lz4), 0, 0)
            .unwrap();
        assert_eq!((first.base_offset, first.last_offset), (0, 2));
        assert_eq!((second.base_offset, second.last_offset), (3, 4));
        assert_eq!(log.log_end_offset(), 5);
        let read = log
            .read(0, usize::MAX, i64::MAX, FirstBatch::Whole)
            .unwrap();
        assert_eq!(batch_offsets(&read.records), vec![(0, 2), (3, 4)]);
    }

    #[test]
    fn reads_return_whole_batches_within_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        for _ in 0..4 {
            log.append(&encode_batch(2, 0, Compression::None), 0, 0)
                .unwrap();
        }
        let one_batch = log.read(3, 1, i64::MAX, FirstBatch::Whole).unwrap();
        assert_eq!(
            batch_offsets(&one_batch.records),
            vec![(2, 3)],
            "first batch whole"
        );
        let size = one_batch.records.len();
        let within = log.read(3, size - 1, i64::MAX, FirstBatch::WithinLimit);
        assert!(within.unwrap().records.is_empty(), "no batch fits");
        let two = log
            .read(0, size * 2 + 1, i64::MAX, FirstBatch::Whole)
            .unwrap();
        assert_eq!(batch_offsets(&two.records).len(), 2);
        let below_watermark = log.read(0, usize::MAX, 4, FirstBatch::Whole).unwrap();
        assert_eq!(
            batch_offsets(&below_watermark.records),
            vec![(0, 1), (2, 3)]
        );
        assert!(log
            .read(8, 100, i64::MAX, FirstBatch::Whole)
            .unwrap()
            .records
            .is_empty());
        assert!(matches!(
            log.read(9, 100, i64::MAX, FirstBatch::Whole),
            Err(LogError::OffsetOutOfRange { .. })
        ));
    }

    #[test]
    fn segments_roll_with_kafka_file_names_and_reads_cross_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        let mut logs: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".log"))
            .collect();
        logs.sort();
        assert!(logs.len() > 3);
        assert_eq!(logs[0], "00000000000000000000.log");
        assert!(dir.path().join("00000000000000000000.index").exists());
        assert!(dir.path().join("00000000000000000000.timeindex").exists());
        let mut offset = 0;
        while offset < log.log_end_offset() {
            let read = log.read(offset, 500, i64::MAX, FirstBatch::Whole).unwrap();
            let batches = batch_offsets(&read.records);
            assert_eq!(batches[0].0, offset, "reading at {offset}");
            offset = batches.last().unwrap().1 + 1;
        }
        assert_eq!(offset, 60);
    }

    #[test]
    fn reopening_keeps_the_end_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..10 {
            log.append(&encode_batch(3, 0, Compression::Snappy), 0, 0)
                .unwrap();
        }
        drop(log);
        let mut log = open(dir.path(), small_segments());
        assert_eq!(log.log_end_offset(), 30);
        assert_eq!(
            log.append(&encode_batch(1, 0, Compression::None), 0, 0)
                .unwrap()
                .base_offset,
            30
        );
    }

    #[test]
    fn a_torn_tail_is_truncated_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        for _ in 0..3 {
            log.append(&encode_batch(2, 0, Compression::None), 0, 0)
                .unwrap();
        }
        let size = log.size_bytes();
        drop(log);
        let file = dir.path().join("00000000000000000000.log");
        let torn = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        torn.set_len(size - 10).unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), 4);
        assert_eq!(
            log.append(&encode_batch(1, 0, Compression::None), 0, 0)
                .unwrap()
                .base_offset,
            4
        );
        let read = log
            .read(0, usize::MAX, i64::MAX, FirstBatch::Whole)
            .unwrap();
        assert_eq!(batch_offsets(&read.records), vec![(0, 1), (2, 3), (4, 4)]);
    }

    #[test]
    fn a_corrupt_batch_truncates_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        let batch = encode_batch(2, 0, Compression::None);
        for _ in 0..3 {
            log.append(&batch, 0, 0).unwrap();
        }
        drop(log);
        let file = dir.path().join("00000000000000000000.log");
        let mut bytes = std::fs::read(&file).unwrap();
        let second_batch_payload = batch.len() + 70;
        bytes[second_batch_payload] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let log = open(dir.path(), LogConfig::default());
        assert_eq!(log.log_end_offset(), 2);
    }

    #[test]
    fn after_a_crash_a_corrupt_closed_segment_ends_the_log_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        let batch = encode_batch(3, 0, Compression::None);
        for _ in 0..20 {
            log.append(&batch, 0, 0).unwrap();
        }
        drop(log);
        let first = dir.path().join("00000000000000000000.log");
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[batch.len() + 70] ^= 0xff;
        std::fs::write(&first, bytes).unwrap();
        let untouched = open(dir.path(), small_segments());
        assert_eq!(
            untouched.log_end_offset(),
            60,
            "a clean start trusts closed segments"
        );
        drop(untouched);
        let mut log = open_after_crash(dir.path(), small_segments());
        assert_eq!(log.log_end_offset(), 3);
        let segments = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count();
        assert_eq!(segments, 1, "segments after the corrupt batch are removed");
        assert_eq!(log.append(&batch, 0, 0).unwrap().base_offset, 3);
        let read = log
            .read(0, usize::MAX, i64::MAX, FirstBatch::Whole)
            .unwrap();
        assert_eq!(batch_offsets(&read.records), vec![(0, 2), (3, 5)]);
    }

    #[test]
    fn a_flipped_index_entry_is_noticed_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        drop(log);
        let index = dir.path().join("00000000000000000000.index");
        let mut bytes = std::fs::read(&index).unwrap();
        assert!(bytes.len() >= 16);
        bytes[12] ^= 0x7f;
        std::fs::write(&index, bytes).unwrap();
        let log = open(dir.path(), small_segments());
        for offset in 0..60 {
            let read = log.read(offset, 1, i64::MAX, FirstBatch::Whole).unwrap();
            let (first, last) = batch_offsets(&read.records)[0];
            assert!(first <= offset && offset <= last, "offset {offset}");
        }
    }

    #[test]
    fn leftover_temporary_files_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path(), LogConfig::default()));
        std::fs::write(dir.path().join("log-start-offset.tmp"), b"4").unwrap();
        drop(open(dir.path(), LogConfig::default()));
        assert!(!dir.path().join("log-start-offset.tmp").exists());
    }

    #[test]
    fn a_partition_holds_only_its_log_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        let open_files: Vec<PathBuf> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .filter(|target| target.starts_with(dir.path()))
            .collect();
        assert!(log.segments.len() > 1);
        assert_eq!(open_files.len(), log.segments.len(), "{open_files:?}");
        assert!(open_files
            .iter()
            .all(|path| path.extension().is_some_and(|e| e == "log")));
    }

    #[test]
    fn a_roll_leaves_the_closed_segment_to_be_synced_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        let closed: Vec<i64> = log.segments.keys().copied().collect();
        let closed = &closed[..closed.len() - 1];
        let pending = log.unsynced_segments().unwrap();
        assert_eq!(
            pending.iter().map(|(base, _)| *base).collect::<Vec<_>>(),
            closed
        );
        for base in closed {
            let index = dir.path().join(file_name(*base, "index"));
            assert!(
                index.exists(),
                "a closed segment's index is written at the roll"
            );
        }
        for (base, sync) in pending {
            sync.sync().unwrap();
            log.mark_synced(&[base]);
        }
        assert!(!log.has_unsynced());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        assert!(log.has_unsynced());
        log.flush().unwrap();
        assert!(!log.has_unsynced(), "a flush syncs what the rolls left");
    }

    #[test]
    fn a_segment_truncated_away_before_its_sync_is_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        assert!(log.has_unsynced());
        log.restart_at(100).unwrap();
        assert!(log.unsynced_segments().unwrap().is_empty());
        log.mark_synced(&[]);
        assert!(!log.has_unsynced());
    }

    #[test]
    fn missing_indexes_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        drop(log);
        std::fs::remove_file(dir.path().join("00000000000000000000.index")).unwrap();
        std::fs::write(dir.path().join("00000000000000000000.timeindex"), [1u8; 5]).unwrap();
        let log = open(dir.path(), small_segments());
        assert_eq!(log.log_end_offset(), 60);
        let read = log.read(4, 1, i64::MAX, FirstBatch::Whole).unwrap();
        assert_eq!(batch_offsets(&read.records), vec![(3, 5)]);
    }

    #[test]
    fn retention_deletes_old_segments_but_never_the_active_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(
            dir.path(),
            LogConfig {
                retention_ms: 1_000,
                ..small_segments()
            },
        );
        for i in 0..20 {
            log.append(&encode_batch(3, i * 100, Compression::None), 0, 0)
                .unwrap();
        }
        assert_eq!(log.apply_retention(1_000).unwrap(), 0, "nothing is old yet");
        let deleted = log.apply_retention(1_000_000).unwrap();
        assert!(deleted > 0);
        assert_eq!(log.log_end_offset(), 60);
        assert!(log.log_start_offset() > 0);
        assert!(log.size_bytes() > 0, "the active segment stays");
        assert!(matches!(
            log.read(0, 100, i64::MAX, FirstBatch::Whole),
            Err(LogError::OffsetOutOfRange { .. })
        ));
    }

    #[test]
    fn compact_only_logs_keep_their_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(
            dir.path(),
            LogConfig {
                retention_ms: 1,
                retention_deletes: false,
                ..small_segments()
            },
        );
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        assert_eq!(log.apply_retention(1_000_000).unwrap(), 0);
        assert_eq!(log.log_start_offset(), 0);
    }

    #[test]
    fn retention_by_bytes_keeps_the_log_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(
            dir.path(),
            LogConfig {
                retention_bytes: 5_000,
                ..small_segments()
            },
        );
        for _ in 0..40 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        log.apply_retention(0).unwrap();
        assert!(log.size_bytes() <= 5_000 + 2_000, "{}", log.size_bytes());
        let start = log.log_start_offset();
        let read = log.read(start, 100, i64::MAX, FirstBatch::Whole).unwrap();
        assert_eq!(batch_offsets(&read.records)[0].0, start);
    }

    #[test]
    fn delete_records_moves_the_start_and_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        assert_eq!(log.delete_records_before(31).unwrap(), 31);
        assert!(log.delete_records_before(61).is_err());
        drop(log);
        let log = open(dir.path(), small_segments());
        assert_eq!(log.log_start_offset(), 31);
        let read = log.read(31, 1, i64::MAX, FirstBatch::Whole).unwrap();
        assert_eq!(batch_offsets(&read.records), vec![(30, 32)]);
    }

    #[test]
    fn timestamps_find_offsets_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for i in 0..20 {
            log.append(&encode_batch(3, 1_000 + i * 10, Compression::Zstd), 0, 0)
                .unwrap();
        }
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 1_000)));
        assert_eq!(log.offset_for_timestamp(1_101).unwrap(), Some((31, 1_101)));
        assert_eq!(log.offset_for_timestamp(1_105).unwrap(), Some((33, 1_110)));
        assert_eq!(log.offset_for_timestamp(5_000).unwrap(), None);
        assert_eq!(log.max_timestamp().unwrap(), Some((59, 1_192)));
    }

    #[test]
    fn log_append_time_stamps_batches_with_the_broker_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(
            dir.path(),
            LogConfig {
                log_append_time: true,
                ..LogConfig::default()
            },
        );
        let info = log
            .append(&encode_batch(2, 5, Compression::None), 0, 777)
            .unwrap();
        assert_eq!(info.log_append_time, 777);
        let read = log
            .read(0, usize::MAX, i64::MAX, FirstBatch::Whole)
            .unwrap();
        assert_eq!(validate_batch(&read.records).unwrap().max_timestamp, 777);
    }

    #[test]
    fn truncation_drops_whole_batches_at_and_after_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        for _ in 0..20 {
            log.append(&encode_batch(3, 0, Compression::None), 0, 0)
                .unwrap();
        }
        log.truncate_to(31).unwrap();
        assert_eq!(log.log_end_offset(), 30);
        assert_eq!(
            log.append(&encode_batch(1, 0, Compression::None), 0, 0)
                .unwrap()
                .base_offset,
            30
        );
    }

    #[test]
    fn follower_appends_keep_the_leaders_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut leader = open(&dir.path().join("leader"), LogConfig::default());
        let mut follower = open(&dir.path().join("follower"), LogConfig::default());
        leader
            .append(&encode_batch(3, 0, Compression::None), 4, 0)
            .unwrap();
        leader
            .append(&encode_batch(2, 0, Compression::None), 4, 0)
            .unwrap();
        let fetched = leader
            .read(0, usize::MAX, i64::MAX, FirstBatch::Whole)
            .unwrap()
            .records;
        let info = follower.append_as_follower(&fetched, 0).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (0, 4));
        assert!(follower.append_as_follower(&fetched, 0).is_err());
    }

    #[test]
    fn after_a_crash_leader_epochs_come_from_the_batches_not_the_unsynced_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        log.append(&encode_batch(3, 0, Compression::None), 1, 0)
            .unwrap();
        log.flush().unwrap();
        let flushed = std::fs::read(dir.path().join("leader-epoch-checkpoint")).unwrap();
        log.append(&encode_batch(2, 0, Compression::None), 2, 0)
            .unwrap();
        assert_eq!(log.end_offset_for_epoch(1), Some((1, 3)));
        drop(log);
        // The crash lost the unsynced rewrite that started epoch 2.
        std::fs::write(dir.path().join("leader-epoch-checkpoint"), flushed).unwrap();
        let log = open_after_crash(dir.path(), small_segments());
        assert_eq!(log.latest_epoch(), Some(2));
        assert_eq!(log.end_offset_for_epoch(1), Some((1, 3)));
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 5)));
    }

    #[test]
    fn a_torn_checkpoint_after_a_crash_does_not_stop_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_segments());
        log.append(&encode_batch(3, 0, Compression::None), 7, 0)
            .unwrap();
        drop(log);
        std::fs::write(dir.path().join("leader-epoch-checkpoint"), b"").unwrap();
        let log = open_after_crash(dir.path(), small_segments());
        assert_eq!(log.latest_epoch(), Some(7));
    }
}
