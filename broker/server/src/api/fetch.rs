//! Fetch: read whole batches from each requested partition. When fewer than `min_bytes`
//! are available the request waits, up to `max_wait_ms`, for appends (Kafka's long poll).
//! Fetch sessions are not kept: answering session id 0 makes clients send full requests.
//! Consumers read up to the high watermark; followers (a fetch naming a replica id) read
//! up to the log end, and their fetch offset tells the leader how far they have come.

use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::log::{FirstBatch, ReadResult};
use crate::metadata::MetadataImage;

pub async fn handle(broker: &Broker, request: FetchRequest, version: i16) -> FetchResponse {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    loop {
        // Register for wake-ups before reading so an append in between is not missed.
        let appended = broker.replicas.appended().notified();
        tokio::pin!(appended);
        appended.as_mut().enable();
        let (response, bytes) = read_all(broker, &request, version);
        let satisfied = bytes >= request.min_bytes.max(0) as usize || has_errors(&response);
        if satisfied || tokio::time::Instant::now() >= deadline {
            return response;
        }
        if tokio::time::timeout_at(deadline, appended).await.is_err() {
            return read_all(broker, &request, version).0;
        }
    }
}

/// One pass over the requested partitions; returns the response and its record bytes.
fn read_all(broker: &Broker, request: &FetchRequest, version: i16) -> (FetchResponse, usize) {
    let image = broker.image();
    let replica_id = if version >= 15 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    let mut response = FetchResponse::default();
    let mut budget = request.max_bytes.max(0) as usize;
    let mut total = 0;
    for topic in &request.topics {
        let name = topic_name(&image, topic, version);
        let mut topic_response = FetchableTopicResponse::default();
        topic_response.topic = topic.topic.clone();
        topic_response.topic_id = topic.topic_id;
        for fetch in &topic.partitions {
            let mut data = PartitionData::default();
            data.partition_index = fetch.partition;
            data.preferred_read_replica = BrokerId(-1);
            data.aborted_transactions = Some(Vec::new());
            let partition = match &name {
                Ok(name) => broker.replicas.get(name, fetch.partition),
                Err(_) => None,
            };
            let Some(partition) = partition else {
                data.error_code = match name {
                    Err(code) => code.code(),
                    Ok(_) => ResponseError::UnknownTopicOrPartition.code(),
                };
                data.high_watermark = -1;
                data.last_stable_offset = -1;
                data.log_start_offset = -1;
                topic_response.partitions.push(data);
                continue;
            };
            // Only the response's first batch may exceed the budget (KIP-74): a later
            // partition's batch that does not fit waits for a fetch where it comes first.
            let limit = (fetch.partition_max_bytes.max(0) as usize).min(budget);
            let first_batch = if total == 0 {
                FirstBatch::Whole
            } else {
                FirstBatch::WithinLimit
            };
            let read = partition
                .check_epoch(fetch.current_leader_epoch)
                .and_then(|()| {
                    if replica_id >= 0 {
                        let fetched = partition.read_for_follower(
                            replica_id,
                            fetch.fetch_offset,
                            limit,
                            first_batch,
                            std::time::Instant::now(),
                        )?;
                        if fetched.joins_isr {
                            broker.isr_changed.notify_one();
                        }
                        Ok(ReadResult {
                            log_end_offset: fetched.high_watermark,
                            ..fetched.read
                        })
                    } else {
                        partition.read(fetch.fetch_offset, limit, first_batch)
                    }
                });
            match read {
                Ok(read) => {
                    data.high_watermark = read.log_end_offset;
                    data.last_stable_offset = read.log_end_offset;
                    data.log_start_offset = read.log_start_offset;
                    total += read.records.len();
                    budget = budget.saturating_sub(read.records.len());
                    data.records = Some(read.records);
                }
                Err(error) => {
                    data.error_code = error.error_code();
                    data.high_watermark = partition.high_watermark();
                    data.last_stable_offset = data.high_watermark;
                    data.log_start_offset = partition.log_start_offset();
                }
            }
            topic_response.partitions.push(data);
        }
        response.responses.push(topic_response);
    }
    (response, total)
}

/// Topics are named up to v12 and identified by id from v13.
fn topic_name(
    image: &MetadataImage,
    topic: &kafka_protocol::messages::fetch_request::FetchTopic,
    version: i16,
) -> Result<String, ResponseError> {
    if version >= 13 {
        image
            .topic_by_id(topic.topic_id)
            .map(|t| t.name.clone())
            .ok_or(ResponseError::UnknownTopicId)
    } else {
        Ok(topic.topic.to_string())
    }
}

fn has_errors(response: &FetchResponse) -> bool {
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .any(|p| p.error_code != 0)
}
