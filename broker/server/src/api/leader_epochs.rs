//! OffsetForLeaderEpoch: where a leader epoch ended in this leader's log. Followers ask it
//! after a leader change to find where their log diverged; consumers ask it to detect a
//! truncation they read past (KIP-320).

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::error::ApiError;

pub fn handle(
    broker: &Broker,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let mut response = OffsetForLeaderEpochResponse::default();
    for topic in request.topics {
        let mut result = OffsetForLeaderTopicResult::default();
        for wanted in topic.partitions {
            let mut answer = EpochEndOffset::default();
            answer.partition = wanted.partition;
            let found = broker
                .replicas
                .get(topic.topic.as_str(), wanted.partition)
                .ok_or_else(|| ApiError::from(ResponseError::UnknownTopicOrPartition))
                .and_then(|partition| {
                    partition.check_epoch(wanted.current_leader_epoch)?;
                    partition.check_leader()?;
                    Ok(partition.end_offset_for_epoch(wanted.leader_epoch))
                });
            match found {
                Ok(Some((epoch, end_offset))) => {
                    answer.leader_epoch = epoch;
                    answer.end_offset = end_offset;
                }
                Ok(None) => {
                    answer.leader_epoch = -1;
                    answer.end_offset = -1;
                }
                Err(error) => {
                    broker.metrics.count_error("OffsetForLeaderEpoch", &error);
                    answer.error_code = error.error_code();
                    answer.leader_epoch = -1;
                    answer.end_offset = -1;
                }
            }
            result.partitions.push(answer);
        }
        result.topic = topic.topic;
        response.topics.push(result);
    }
    response
}
