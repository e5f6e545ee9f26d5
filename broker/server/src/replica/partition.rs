//! One partition replica hosted by this broker: its log, its idempotent-producer state and
//! the leader epoch it serves under. Appends are serialised by a write lock; reads share it.

use std::path::Path;
use std::sync::{Mutex, RwLock};

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::producer_state::{ProducerStates, SequenceCheck};
use crate::error::ApiError;
use crate::log::{validate_batches, AppendInfo, LogConfig, LogError, PartitionLog, ReadResult};

/// How far back (in offsets) producer state is rebuilt from the log on start. Retried
/// batches are always near the tail; older producers are accepted at any sequence.
const PRODUCER_STATE_REBUILD_WINDOW: i64 = 100_000;

pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub topic_id: Uuid,
    log: RwLock<PartitionLog>,
    producers: Mutex<ProducerStates>,
    leader_epoch: Mutex<i32>,
}

/// The outcome of a leader append, as Produce reports it.
pub struct Appended {
    pub base_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

impl Partition {
    pub fn open(
        dir: &Path,
        topic: &str,
        index: i32,
        topic_id: Uuid,
        leader_epoch: i32,
        config: LogConfig,
    ) -> Result<Self, LogError> {
        let log = PartitionLog::open(dir, config)?;
        let mut producers = ProducerStates::default();
        let from =
            (log.log_end_offset() - PRODUCER_STATE_REBUILD_WINDOW).max(log.log_start_offset());
        for header in log.batch_headers(from)? {
            producers.record(&header, header.base_offset);
        }
        Ok(Partition {
            topic: topic.to_string(),
            index,
            topic_id,
            log: RwLock::new(log),
            producers: Mutex::new(producers),
            leader_epoch: Mutex::new(leader_epoch),
        })
    }

    /// Appends a Produce request's records. Kafka requires exactly one batch per partition
    /// from v3 on, which is what makes duplicate detection per batch exact.
    pub fn append_as_leader(&self, records: &[u8], now_ms: i64) -> Result<Appended, ApiError> {
        let headers = validate_batches(records).map_err(|e| storage_error(LogError::from(e)))?;
        let [header] = headers.as_slice() else {
            return Err(ApiError::new(
                ResponseError::InvalidRecord,
                format!(
                    "Produce requests are only allowed to contain exactly one record batch per partition, got {}",
                    headers.len()
                ),
            ));
        };
        let mut log = self.log.write().expect("log lock poisoned");
        let mut producers = self.producers.lock().expect("producer lock poisoned");
        if let SequenceCheck::Duplicate { base_offset } = producers.check(header)? {
            return Ok(Appended {
                base_offset,
                log_append_time: -1,
                log_start_offset: log.log_start_offset(),
            });
        }
        let epoch = *self.leader_epoch.lock().expect("epoch lock poisoned");
        let AppendInfo {
            base_offset,
            log_append_time,
            log_start_offset,
            ..
        } = log.append(records, epoch, now_ms).map_err(storage_error)?;
        producers.record(header, base_offset);
        Ok(Appended {
            base_offset,
            log_append_time,
            log_start_offset,
        })
    }

    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult, ApiError> {
        let log = self.log.read().expect("log lock poisoned");
        let high_watermark = log.log_end_offset();
        log.read(offset, max_bytes, high_watermark)
            .map_err(storage_error)
    }

    /// With one replica, everything written is committed.
    pub fn high_watermark(&self) -> i64 {
        self.log.read().expect("log lock poisoned").log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log
            .read()
            .expect("log lock poisoned")
            .log_start_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.read().expect("log lock poisoned").size_bytes()
    }

    pub fn leader_epoch(&self) -> i32 {
        *self.leader_epoch.lock().expect("epoch lock poisoned")
    }

    pub fn set_leader_epoch(&self, epoch: i32) {
        *self.leader_epoch.lock().expect("epoch lock poisoned") = epoch;
    }

    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, ApiError> {
        let log = self.log.read().expect("log lock poisoned");
        log.offset_for_timestamp(timestamp).map_err(storage_error)
    }

    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, ApiError> {
        let log = self.log.read().expect("log lock poisoned");
        log.max_timestamp().map_err(storage_error)
    }

    /// DeleteRecords: `offset` -1 means the high watermark, as in Kafka.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ApiError> {
        let mut log = self.log.write().expect("log lock poisoned");
        let target = if offset == -1 {
            log.log_end_offset()
        } else {
            offset
        };
        if target < 0 || target > log.log_end_offset() {
            return Err(ApiError::new(
                ResponseError::OffsetOutOfRange,
                format!(
                    "Cannot delete records before offset {offset}: the high watermark is {}",
                    log.log_end_offset()
                ),
            ));
        }
        log.delete_records_before(target).map_err(storage_error)
    }

    pub fn update_config(&self, config: LogConfig) {
        self.log
            .write()
            .expect("log lock poisoned")
            .update_config(config);
    }

    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        self.log
            .write()
            .expect("log lock poisoned")
            .apply_retention(now_ms)
    }

    pub fn flush(&self) -> Result<(), LogError> {
        self.log.write().expect("log lock poisoned").flush()
    }

    /// Removes the partition's directory; the partition must no longer be reachable.
    pub fn delete(self) -> Result<(), LogError> {
        self.log.into_inner().expect("log lock poisoned").delete()
    }
}

/// Maps storage failures to the Kafka error a client can act on.
fn storage_error(error: LogError) -> ApiError {
    match error {
        LogError::OffsetOutOfRange {
            offset,
            log_start_offset,
            log_end_offset,
        } => ApiError::new(
            ResponseError::OffsetOutOfRange,
            format!("Offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"),
        ),
        LogError::Batch(error) => ApiError::new(error.response_error(), error.to_string()),
        other => {
            tracing::error!(error = %other, "storage error");
            ApiError::new(ResponseError::KafkaStorageError, other.to_string())
        }
    }
}
