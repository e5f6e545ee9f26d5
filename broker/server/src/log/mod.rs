//! A partition's log as Kafka lays it out on disk: a directory of segments, each a `.log`
//! of record batches stored as received plus its `.index` and `.timeindex`.
//!
//! - `batch`: the v2 batch header: parse, validate (CRC), patch offsets.
//! - `epoch_cache`: where each leader epoch starts, for follower truncation.
//! - `index`: the sparse offset and time indexes.
//! - `segment`: one segment's files.
//! - `partition_log`: the log as a whole: append, read, recovery, retention, truncation.

mod batch;
mod epoch_cache;
mod index;
mod partition_log;
mod segment;

#[cfg(test)]
pub(crate) use batch::tests as batch_tests;
pub use batch::{validate_batches, BatchError, BatchHeader};
pub use partition_log::{AppendInfo, FirstBatch, LogConfig, LogError, PartitionLog, ReadResult};
