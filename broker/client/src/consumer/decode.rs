//! Turning a partition's fetched bytes into records: batches are decoded (and decompressed)
//! one by one, control records and records below the requested offset are skipped, and a
//! truncated last batch (the broker cuts at the size limit) is left for the next fetch.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use super::ConsumerRecord;
use crate::cluster::TopicPartition;

/// The records of one partition and where to fetch next.
#[derive(Debug)]
pub(super) struct Fetched {
    pub records: Vec<ConsumerRecord>,
    pub next_offset: i64,
}

pub(super) fn records(tp: &TopicPartition, mut bytes: Bytes, fetch_offset: i64) -> Fetched {
    let mut fetched = Fetched {
        records: Vec::new(),
        next_offset: fetch_offset,
    };
    while !bytes.is_empty() {
        let Ok(set) = RecordBatchDecoder::decode(&mut bytes) else {
            break;
        };
        for record in set.records {
            if record.offset < fetch_offset {
                continue;
            }
            fetched.next_offset = fetched.next_offset.max(record.offset + 1);
            if record.control {
                continue;
            }
            fetched.records.push(ConsumerRecord {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: record.offset,
                timestamp: record.timestamp,
                timestamp_type: record.timestamp_type,
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
    }
    fetched
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    fn batch(base: i64, values: &[&str], compression: Compression) -> BytesMut {
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: base + i as i64,
                sequence: -1 + i as i32,
                timestamp: 1_700_000_000_000,
                key: None,
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: IndexMap::new(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            records.iter(),
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        buf
    }

    #[test]
    fn skips_records_below_the_fetch_offset_and_decompresses() {
        let mut bytes = batch(10, &["a", "b", "c"], Compression::Gzip);
        bytes.extend_from_slice(&batch(13, &["d"], Compression::None));
        let fetched = records(&TopicPartition::new("t", 0), bytes.freeze(), 11);
        let values: Vec<_> = fetched
            .records
            .iter()
            .map(|r| r.value.clone().unwrap())
            .collect();
        assert_eq!(values, ["b", "c", "d"]);
        assert_eq!(fetched.next_offset, 14);
    }

    #[test]
    fn a_truncated_last_batch_waits_for_the_next_fetch() {
        let mut bytes = batch(0, &["a"], Compression::None);
        let second = batch(1, &["b"], Compression::None);
        bytes.extend_from_slice(&second[..second.len() - 3]);
        let fetched = records(&TopicPartition::new("t", 0), bytes.freeze(), 0);
        assert_eq!(fetched.records.len(), 1);
        assert_eq!(fetched.next_offset, 1);
    }
}
