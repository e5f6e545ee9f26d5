//! Produce: append each partition's record batch to its log, then answer per partition.
//! With acks=0 the client expects no response at all; with acks=all the answer waits
//! until every in-sync replica has the records (up to the request's timeout).

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use std::time::Duration;

use crate::broker::Broker;
use crate::clock::now_ms;
use crate::error::ApiError;

pub async fn handle(broker: &Broker, request: ProduceRequest) -> Option<ProduceResponse> {
    let image = broker.image();
    let now = now_ms();
    let mut response = ProduceResponse::default();
    let mut appended_any = false;
    let acks_all = request.acks == -1;
    let mut awaiting = Vec::new();
    for topic_data in request.topic_data {
        let topic = if topic_data.name.is_empty() {
            image
                .topic_by_id(topic_data.topic_id)
                .map(|t| t.name.clone())
        } else {
            Some(topic_data.name.to_string())
        };
        let mut topic_response = TopicProduceResponse::default();
        topic_response.name = topic_data.name.clone();
        topic_response.topic_id = topic_data.topic_id;
        for partition_data in topic_data.partition_data {
            let mut partition_response = PartitionProduceResponse::default();
            partition_response.index = partition_data.index;
            let outcome = append(
                broker,
                topic.as_deref(),
                &request.transactional_id,
                partition_data.index,
                partition_data.records.as_deref(),
                now,
                acks_all,
            );
            match outcome {
                Ok(appended) => {
                    appended_any = true;
                    if acks_all {
                        awaiting.push((
                            response.responses.len(),
                            topic_response.partition_responses.len(),
                            topic.clone(),
                            appended.last_offset,
                        ));
                    }
                    partition_response.base_offset = appended.base_offset;
                    partition_response.log_append_time_ms = appended.log_append_time;
                    partition_response.log_start_offset = appended.log_start_offset;
                }
                Err(error) => {
                    broker.metrics.count_error("Produce", &error);
                    partition_response.error_code = error.error_code();
                    partition_response.error_message = error.message_str();
                    partition_response.base_offset = -1;
                    partition_response.log_append_time_ms = -1;
                    partition_response.log_start_offset = -1;
                }
            }
            topic_response.partition_responses.push(partition_response);
        }
        response.responses.push(topic_response);
    }
    if appended_any {
        broker.replicas.notify_appended();
    }
    let deadline =
        std::time::Instant::now() + Duration::from_millis(request.timeout_ms.max(0) as u64);
    for (topic_index, partition_index, topic, last_offset) in awaiting {
        let answer = &mut response.responses[topic_index].partition_responses[partition_index];
        let replicated = match topic
            .as_deref()
            .and_then(|topic| broker.replicas.get(topic, answer.index))
        {
            Some(partition) => {
                let remaining = deadline.saturating_duration_since(std::time::Instant::now());
                partition.wait_for_replication(last_offset, remaining).await
            }
            None => Err(ResponseError::NotLeaderOrFollower.into()),
        };
        if let Err(error) = replicated {
            broker.metrics.count_error("Produce", &error);
            answer.error_code = error.error_code();
            answer.error_message = error.message_str();
        }
    }
    (request.acks != 0).then_some(response)
}

fn append(
    broker: &Broker,
    topic: Option<&str>,
    transactional_id: &Option<kafka_protocol::messages::TransactionalId>,
    partition: i32,
    records: Option<&[u8]>,
    now: i64,
    acks_all: bool,
) -> Result<crate::replica::Appended, ApiError> {
    if transactional_id.is_some() {
        return Err(ApiError::new(
            ResponseError::TransactionalIdAuthorizationFailed,
            "Transactions are not supported by this broker",
        ));
    }
    let topic = topic.ok_or(ResponseError::UnknownTopicId)?;
    let partition = broker
        .replicas
        .get(topic, partition)
        .ok_or(ResponseError::UnknownTopicOrPartition)?;
    let records = records.unwrap_or_default();
    let max_message_bytes = broker.max_message_bytes(topic);
    if records.len() > max_message_bytes {
        return Err(ApiError::new(
            ResponseError::MessageTooLarge,
            format!(
                "The record batch of {} bytes is larger than the topic's max.message.bytes ({max_message_bytes})",
                records.len()
            ),
        ));
    }
    partition.append_as_leader(records, now, acks_all)
}
