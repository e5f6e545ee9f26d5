//! DeleteRecords (raise a partition's log start offset) and InitProducerId (hand an
//! idempotent producer its id and epoch).

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{
    DeleteRecordsRequest, DeleteRecordsResponse, InitProducerIdRequest, InitProducerIdResponse,
    ProducerId,
};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::error::ApiError;

pub fn delete_records(broker: &Broker, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut response = DeleteRecordsResponse::default();
    for topic in request.topics {
        let mut topic_result = DeleteRecordsTopicResult::default();
        topic_result.name = topic.name.clone();
        for wanted in topic.partitions {
            let mut result = DeleteRecordsPartitionResult::default();
            result.partition_index = wanted.partition_index;
            let outcome = broker
                .replicas
                .get(topic.name.as_str(), wanted.partition_index)
                .ok_or_else(|| ApiError::from(ResponseError::UnknownTopicOrPartition))
                .and_then(|partition| partition.delete_records_before(wanted.offset));
            match outcome {
                Ok(low_watermark) => result.low_watermark = low_watermark,
                Err(error) => {
                    broker.metrics.count_error("DeleteRecords", &error);
                    result.error_code = error.error_code();
                    result.low_watermark = -1;
                }
            }
            topic_result.partitions.push(result);
        }
        response.topics.push(topic_result);
    }
    response
}

/// A new producer gets a fresh id at epoch 0; a producer that presents its id and epoch
/// (KIP-360, after a sequence error) keeps the id and gets the next epoch.
pub async fn init_producer_id(
    broker: &Broker,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let mut response = InitProducerIdResponse::default();
    response.ongoing_txn_producer_id = ProducerId(-1);
    response.ongoing_txn_producer_epoch = -1;
    if request.transactional_id.is_some() {
        let error = ApiError::new(
            ResponseError::TransactionalIdAuthorizationFailed,
            "Transactions are not supported by this broker",
        );
        broker.metrics.count_error("InitProducerId", &error);
        response.error_code = error.error_code();
        response.producer_id = ProducerId(-1);
        response.producer_epoch = -1;
        return response;
    }
    if request.producer_id.0 >= 0
        && request.producer_epoch >= 0
        && request.producer_epoch < i16::MAX - 1
    {
        response.producer_id = request.producer_id;
        response.producer_epoch = request.producer_epoch + 1;
        return response;
    }
    match broker.next_producer_id().await {
        Ok(id) => {
            response.producer_id = ProducerId(id);
            response.producer_epoch = 0;
        }
        Err(error) => {
            broker.metrics.count_error("InitProducerId", &error);
            response.error_code = error.error_code();
            response.producer_id = ProducerId(-1);
            response.producer_epoch = -1;
        }
    }
    response
}
