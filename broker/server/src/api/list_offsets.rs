//! ListOffsets: the earliest or latest offset of a partition, the first offset at or after
//! a timestamp, or the offset of the largest timestamp.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::replica::Partition;

/// Kafka's special timestamps in ListOffsets (`ListOffsetsRequest.*_TIMESTAMP`).
const LATEST_TIMESTAMP: i64 = -1;
const EARLIEST_TIMESTAMP: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;
const LATEST_TIERED_TIMESTAMP: i64 = -5;

pub fn handle(broker: &Broker, request: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let mut response = ListOffsetsResponse::default();
    for topic in request.topics {
        let mut topic_response = ListOffsetsTopicResponse::default();
        topic_response.name = topic.name.clone();
        for wanted in topic.partitions {
            let mut answer = ListOffsetsPartitionResponse::default();
            answer.partition_index = wanted.partition_index;
            let result = broker
                .replicas
                .get(topic.name.as_str(), wanted.partition_index)
                .ok_or_else(|| ApiError::from(ResponseError::UnknownTopicOrPartition))
                .and_then(|partition| {
                    partition.check_epoch(wanted.current_leader_epoch)?;
                    partition.check_leader()?;
                    lookup(&partition, wanted.timestamp)
                });
            match result {
                Ok((offset, timestamp, leader_epoch)) => {
                    answer.offset = offset;
                    answer.timestamp = timestamp;
                    // The leader epoch is part of the answer from v4 on.
                    if version >= 4 {
                        answer.leader_epoch = leader_epoch;
                    }
                }
                Err(error) => {
                    broker.metrics.count_error("ListOffsets", &error);
                    answer.error_code = error.error_code();
                    answer.offset = -1;
                    answer.timestamp = -1;
                }
            }
            topic_response.partitions.push(answer);
        }
        response.topics.push(topic_response);
    }
    response
}

/// (offset, timestamp, leader epoch); offset -1 when no record has a large enough timestamp.
fn lookup(partition: &Partition, timestamp: i64) -> Result<(i64, i64, i32), ApiError> {
    let epoch = partition.leader_epoch();
    Ok(match timestamp {
        LATEST_TIMESTAMP | LATEST_TIERED_TIMESTAMP => (partition.high_watermark(), -1, epoch),
        EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => (partition.log_start_offset(), -1, epoch),
        MAX_TIMESTAMP => match partition.max_timestamp()? {
            Some((offset, timestamp)) => (offset, timestamp, epoch),
            None => (-1, -1, -1),
        },
        timestamp if timestamp >= 0 => match partition.offset_for_timestamp(timestamp)? {
            Some((offset, timestamp)) => (offset, timestamp, epoch),
            None => (-1, -1, -1),
        },
        other => {
            return Err(ApiError::new(
                ResponseError::InvalidRequest,
                format!("{other} is not a valid ListOffsets timestamp"),
            ))
        }
    })
}
