//! The record batch header (message format v2, the only one Kafka 4 accepts), read straight
//! from the bytes a producer sent. The broker stores batches as received: it patches the base
//! offset and leader epoch, which lie outside the CRC, and never re-encodes records.
//!
//! Layout (big-endian): baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12,
//! magic i8 @16, crc u32 @17, attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp
//! i64 @27, maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51, baseSequence
//! i32 @53, recordCount i32 @57, records @61. The CRC-32C covers bytes 21 to the end.

use kafka_protocol::ResponseError;
use thiserror::Error;

pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: the base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
const CRC_START: usize = 21;
const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BatchError {
    #[error("record batch is corrupt: {0}")]
    Corrupt(String),
    #[error("record batch magic {0} is not supported; only message format v2 is")]
    UnsupportedMagic(i8),
    #[error("invalid record batch: {0}")]
    Invalid(String),
}

impl BatchError {
    /// The error code Produce answers with, as Kafka's `LogValidator` does.
    pub fn response_error(&self) -> ResponseError {
        match self {
            BatchError::Corrupt(_) => ResponseError::CorruptMessage,
            BatchError::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
            BatchError::Invalid(_) => ResponseError::InvalidRecord,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn i16_at(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

impl BatchHeader {
    /// Reads the header at the start of `bytes`, checking only that it is complete and
    /// its length field is sane (not that the whole batch is present).
    pub fn parse(bytes: &[u8]) -> Result<Self, BatchError> {
        if bytes.len() < HEADER_SIZE {
            return Err(BatchError::Corrupt(format!(
                "{} bytes is shorter than a batch header",
                bytes.len()
            )));
        }
        let header = BatchHeader {
            base_offset: i64_at(bytes, 0),
            batch_length: i32_at(bytes, 8),
            partition_leader_epoch: i32_at(bytes, 12),
            magic: bytes[16] as i8,
            crc: u32::from_be_bytes(bytes[17..21].try_into().expect("4 bytes")),
            attributes: i16_at(bytes, 21),
            last_offset_delta: i32_at(bytes, 23),
            base_timestamp: i64_at(bytes, 27),
            max_timestamp: i64_at(bytes, 35),
            producer_id: i64_at(bytes, 43),
            producer_epoch: i16_at(bytes, 51),
            base_sequence: i32_at(bytes, 53),
            record_count: i32_at(bytes, 57),
        };
        if (header.batch_length as i64) < (HEADER_SIZE - LOG_OVERHEAD) as i64 {
            return Err(BatchError::Corrupt(format!(
                "batch length {} is smaller than a batch header",
                header.batch_length
            )));
        }
        Ok(header)
    }

    /// Bytes the whole batch occupies, header included.
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    pub fn timestamp_is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }
}

/// Checks one complete batch at the start of `bytes`: magic, length, CRC, record count.
pub fn validate_batch(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(bytes)?;
    if header.magic != 2 {
        return Err(BatchError::UnsupportedMagic(header.magic));
    }
    if header.total_size() > bytes.len() {
        return Err(BatchError::Corrupt(format!(
            "batch of {} bytes extends past the {} bytes available",
            header.total_size(),
            bytes.len()
        )));
    }
    let crc = crc32c::crc32c(&bytes[CRC_START..header.total_size()]);
    if crc != header.crc {
        return Err(BatchError::Corrupt(format!(
            "CRC mismatch: stored {:#010x}, computed {crc:#010x}",
            header.crc
        )));
    }
    if header.record_count < 0 || header.last_offset_delta < 0 {
        return Err(BatchError::Invalid(format!(
            "record count {} and last offset delta {} must not be negative",
            header.record_count, header.last_offset_delta
        )));
    }
    if header.record_count > 0 && header.last_offset_delta != header.record_count - 1 {
        return Err(BatchError::Invalid(format!(
            "last offset delta {} does not match record count {}",
            header.last_offset_delta, header.record_count
        )));
    }
    Ok(header)
}

/// Validates every batch of a Produce request's records and returns their headers.
pub fn validate_batches(records: &[u8]) -> Result<Vec<BatchHeader>, BatchError> {
    if records.is_empty() {
        return Err(BatchError::Invalid(
            "the request carries no record batch".into(),
        ));
    }
    let mut headers = Vec::with_capacity(1);
    let mut rest = records;
    while !rest.is_empty() {
        let header = validate_batch(rest)?;
        rest = &rest[header.total_size()..];
        headers.push(header);
    }
    Ok(headers)
}

pub fn set_base_offset(batch: &mut [u8], offset: i64) {
    batch[0..8].copy_from_slice(&offset.to_be_bytes());
}

pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// `message.timestamp.type=LogAppendTime`: the broker's clock replaces the batch's max
/// timestamp, which lies inside the CRC, so this is the one case the CRC is recomputed.
pub fn set_log_append_time(batch: &mut [u8], timestamp: i64) {
    let attributes = i16_at(batch, 21) | TIMESTAMP_TYPE_BIT;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    /// A real Kafka batch of `count` records with timestamps `timestamp..timestamp+count`.
    pub fn encode_batch(count: usize, timestamp: i64, compression: Compression) -> Vec<u8> {
        let records: Vec<Record> = (0..count)
            .map(|i| Record {
                transactional: false,
                control: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: timestamp + i as i64,
                delete_horizon: false,
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(vec![b'v'; 100])),
                headers: [(
                    StrBytes::from_static_str("h"),
                    Some(Bytes::from_static(b"1")),
                )]
                .into_iter()
                .collect(),
            })
            .collect();
        let mut buffer = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buffer,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        buffer.to_vec()
    }

    #[test]
    fn a_real_batch_validates_and_its_header_reads_back() {
        let batch = encode_batch(3, 1000, Compression::None);
        let header = validate_batch(&batch).unwrap();
        assert_eq!(header.record_count, 3);
        assert_eq!(header.last_offset_delta, 2);
        assert_eq!(header.max_timestamp, 1002);
        assert_eq!(header.total_size(), batch.len());
    }

    #[test]
    fn a_flipped_bit_is_a_corrupt_message() {
        let mut batch = encode_batch(2, 0, Compression::Gzip);
        let last = batch.len() - 1;
        batch[last] ^= 1;
        let error = validate_batch(&batch).unwrap_err();
        assert_eq!(error.response_error(), ResponseError::CorruptMessage);
    }

    #[test]
    fn offsets_and_epoch_are_patched_without_touching_the_crc() {
        let mut batch = encode_batch(2, 0, Compression::None);
        set_base_offset(&mut batch, 42);
        set_partition_leader_epoch(&mut batch, 7);
        let header = validate_batch(&batch).unwrap();
        assert_eq!((header.base_offset, header.partition_leader_epoch), (42, 7));
    }

    #[test]
    fn log_append_time_rewrites_the_crc() {
        let mut batch = encode_batch(2, 0, Compression::None);
        set_log_append_time(&mut batch, 99);
        let header = validate_batch(&batch).unwrap();
        assert!(header.timestamp_is_log_append_time());
        assert_eq!(header.max_timestamp, 99);
    }

    #[test]
    fn old_magic_is_refused() {
        let mut batch = encode_batch(1, 0, Compression::None);
        batch[16] = 1;
        assert_eq!(
            validate_batch(&batch).unwrap_err().response_error(),
            ResponseError::UnsupportedForMessageFormat
        );
    }

    #[test]
    fn garbage_never_panics() {
        let batch = encode_batch(2, 0, Compression::None);
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = batch.clone();
            let cut = (seed as usize) % (bytes.len() + 1);
            bytes.truncate(cut);
            if !bytes.is_empty() {
                let at = (seed >> 20) as usize % bytes.len();
                bytes[at] = (seed >> 40) as u8;
            }
            let _ = validate_batches(&bytes);
        }
    }
}
