//! The producer's background task: assigns partitions, batches, and delivers batches to
//! partition leaders, retrying retriable errors with the same bytes (and so the same
//! sequence numbers) until `delivery.timeout.ms`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    InitProducerIdRequest, ProduceRequest, ProduceResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::accumulator::{Accumulator, Batch, PendingRecord, Sequences};
use super::partitioner::{partition_for_key, StickyPartitions};
use super::{Command, ProducerConfig, ProducerRecord, RecordMetadata};
use crate::cluster::{Cluster, TopicPartition};
use crate::error::{check, ClientError, KafkaError};

/// A batch encoded once, ready to be sent (and re-sent) as is.
struct Encoded {
    batch: Batch,
    bytes: Bytes,
}

struct Sender {
    cluster: Arc<Cluster>,
    config: ProducerConfig,
    accumulator: Accumulator,
    sequences: Sequences,
    sticky: StickyPartitions,
    producer: Option<(i64, i16)>,
}

/// Runs until the producer is dropped, then delivers what is left.
pub(crate) async fn run(
    cluster: Arc<Cluster>,
    config: ProducerConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut sender = Sender {
        accumulator: Accumulator::new(config.batch_size, config.linger),
        cluster,
        config,
        sequences: Sequences::default(),
        sticky: StickyPartitions::default(),
        producer: None,
    };
    loop {
        let deadline = sender.accumulator.next_deadline();
        let linger = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(record, reply)) => sender.enqueue(record, reply).await,
                Some(Command::Flush(done)) => {
                    sender.deliver_ready(true).await;
                    let _ = done.send(());
                }
                None => {
                    sender.deliver_ready(true).await;
                    return;
                }
            },
            () = linger => {}
        }
        sender.deliver_ready(false).await;
    }
}

impl Sender {
    async fn enqueue(
        &mut self,
        record: ProducerRecord,
        reply: oneshot::Sender<Result<RecordMetadata, ClientError>>,
    ) {
        match self.choose_partition(&record).await {
            Ok(partition) => {
                let pending = PendingRecord {
                    key: record.key,
                    value: record.value,
                    headers: record.headers,
                    timestamp: record.timestamp.unwrap_or_else(now_ms),
                    reply,
                };
                self.accumulator.append(
                    TopicPartition::new(record.topic, partition),
                    pending,
                    Instant::now(),
                );
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    async fn choose_partition(&mut self, record: &ProducerRecord) -> Result<i32, ClientError> {
        let cluster = &self.cluster;
        let topic = match cluster.topic(&record.topic).await {
            Ok(topic) => topic,
            Err(_) => {
                cluster
                    .retry(|| cluster.refresh_topic(&record.topic, true))
                    .await?
            }
        };
        let count = topic.partitions.len() as i32;
        if count == 0 {
            return Err(KafkaError::new(5, None).into());
        }
        match (record.partition, &record.key) {
            (Some(p), _) if p < 0 || p >= count => Err(ClientError::Config(format!(
                "Invalid partition given with record: {p} is not in the range [0...{count}]."
            ))),
            (Some(p), _) => Ok(p),
            (None, Some(key)) => Ok(partition_for_key(key, count)),
            (None, None) => Ok(self.sticky.partition(&record.topic, count)),
        }
    }

    async fn deliver_ready(&mut self, flush: bool) {
        let batches = self.accumulator.drain_ready(Instant::now(), flush);
        if batches.is_empty() {
            return;
        }
        if self.config.idempotence && self.producer.is_none() {
            match self.init_producer_id().await {
                Ok(id) => self.producer = Some(id),
                Err(e) => return fail_all(batches, &e),
            }
        }
        let mut encoded = Vec::with_capacity(batches.len());
        for batch in batches {
            if let Ok(topic) = self.cluster.topic(&batch.partition.topic).await {
                let count = topic.partitions.len() as i32;
                self.sticky
                    .batch_sent(&batch.partition.topic, batch.partition.partition, count);
            }
            match self.encode(&batch) {
                Ok(bytes) => encoded.push(Encoded { batch, bytes }),
                Err(e) => fail_all(vec![batch], &e),
            }
        }
        self.deliver(encoded).await;
    }

    async fn init_producer_id(&self) -> Result<(i64, i16), ClientError> {
        let response = self
            .cluster
            .retry(|| async {
                let connection = self.cluster.any_connection().await?;
                let request = InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(i32::MAX)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1);
                let response = connection.send(request).await?;
                check(response.error_code, None)?;
                Ok(response)
            })
            .await?;
        Ok((response.producer_id.0, response.producer_epoch))
    }

    fn encode(&mut self, batch: &Batch) -> Result<Bytes, ClientError> {
        let (producer_id, producer_epoch) = self.producer.unwrap_or((-1, -1));
        let base_sequence = if self.producer.is_some() {
            self.sequences
                .reserve(&batch.partition, batch.records.len())
        } else {
            -1
        };
        let records: Vec<Record> = batch
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // The encoder keeps one batch only while offset - sequence stays constant.
                sequence: base_sequence.wrapping_add(i as i32),
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                    .collect::<IndexMap<_, _>>(),
            })
            .collect();
        let options = RecordEncodeOptions {
            version: 2,
            compression: self.config.compression,
        };
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
            .map_err(|e| ClientError::Protocol(format!("encoding records: {e}")))?;
        Ok(buf.freeze())
    }

    /// Sends batches to their leaders until each one succeeded, failed for good, or ran out
    /// of time.
    async fn deliver(&mut self, mut pending: Vec<Encoded>) {
        let deadline = Instant::now() + self.config.delivery_timeout;
        // Pauses between attempts grow from `retry.backoff.ms` to `retry.backoff.max.ms`.
        let mut backoff = self.cluster.config().backoff();
        while !pending.is_empty() {
            let mut by_leader: BTreeMap<i32, Vec<Encoded>> = BTreeMap::new();
            let mut retry = Vec::new();
            for item in pending {
                let tp = &item.batch.partition;
                match self.cluster.leader_for(&tp.topic, tp.partition).await {
                    Ok(leader) => by_leader.entry(leader).or_default().push(item),
                    Err(e) if e.is_retriable() && Instant::now() < deadline => retry.push(item),
                    Err(e) => fail_all(vec![item.batch], &e),
                }
            }
            for (leader, items) in by_leader {
                retry.extend(self.send_to(leader, items, deadline).await);
            }
            pending = retry;
            if !pending.is_empty() {
                for item in &pending {
                    self.cluster.invalidate(&item.batch.partition.topic);
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }

    /// One produce request to `leader`; returns the batches to retry.
    async fn send_to(&self, leader: i32, items: Vec<Encoded>, deadline: Instant) -> Vec<Encoded> {
        let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
        for item in &items {
            topics.entry(&item.batch.partition.topic).or_default().push(
                PartitionProduceData::default()
                    .with_index(item.batch.partition.partition)
                    .with_records(Some(item.bytes.clone())),
            );
        }
        let request = ProduceRequest::default()
            .with_acks(self.config.acks)
            .with_timeout_ms(
                self.config
                    .delivery_timeout
                    .as_millis()
                    .min(i32::MAX as u128) as i32,
            )
            .with_topic_data(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(name.to_owned())))
                            .with_partition_data(partitions)
                    })
                    .collect(),
            );
        let connection = match self.cluster.connection(leader).await {
            Ok(c) => c,
            Err(e) => return retry_or_fail(items, &e, deadline),
        };
        if self.config.acks == 0 {
            return match connection.send_without_response(request).await {
                Ok(()) => {
                    items.into_iter().for_each(|i| complete(i.batch, -1, -1));
                    Vec::new()
                }
                Err(e) => retry_or_fail(items, &e, deadline),
            };
        }
        match connection.send(request).await {
            Ok(response) => settle(items, response, deadline),
            Err(e) => retry_or_fail(items, &e, deadline),
        }
    }
}

/// Matches partition answers to batches: completes successes, fails permanent errors,
/// returns retriable ones.
fn settle(items: Vec<Encoded>, response: ProduceResponse, deadline: Instant) -> Vec<Encoded> {
    let mut answers = BTreeMap::new();
    for topic in response.responses {
        for p in topic.partition_responses {
            answers.insert(TopicPartition::new(topic.name.0.to_string(), p.index), p);
        }
    }
    let mut retry = Vec::new();
    for item in items {
        let Some(answer) = answers.remove(&item.batch.partition) else {
            retry.extend(retry_or_fail(
                vec![item],
                &KafkaError::new(13, None).into(),
                deadline,
            ));
            continue;
        };
        match check(answer.error_code, answer.error_message.as_deref()) {
            // A duplicate was already written by an earlier attempt of this batch.
            Ok(()) => complete(item.batch, answer.base_offset, answer.log_append_time_ms),
            Err(e) if e.is(kafka_protocol::error::ResponseError::DuplicateSequenceNumber) => {
                complete(item.batch, answer.base_offset, answer.log_append_time_ms)
            }
            Err(e) => retry.extend(retry_or_fail(vec![item], &e.into(), deadline)),
        }
    }
    retry
}

fn retry_or_fail(items: Vec<Encoded>, error: &ClientError, deadline: Instant) -> Vec<Encoded> {
    if error.is_retriable() && Instant::now() < deadline {
        return items;
    }
    fail_all(items.into_iter().map(|i| i.batch).collect(), error);
    Vec::new()
}

fn complete(batch: Batch, base_offset: i64, log_append_time: i64) {
    for (i, record) in batch.records.into_iter().enumerate() {
        let metadata = RecordMetadata {
            topic: batch.partition.topic.clone(),
            partition: batch.partition.partition,
            offset: if base_offset < 0 {
                -1
            } else {
                base_offset + i as i64
            },
            timestamp: if log_append_time >= 0 {
                log_append_time
            } else {
                record.timestamp
            },
        };
        let _ = record.reply.send(Ok(metadata));
    }
}

fn fail_all(batches: Vec<Batch>, error: &ClientError) {
    for batch in batches {
        for record in batch.records {
            let _ = record.reply.send(Err(copy_error(error)));
        }
    }
}

/// `ClientError` holds an `io::Error` and so is not `Clone`; every record of a failed batch
/// gets an equivalent error.
fn copy_error(error: &ClientError) -> ClientError {
    match error {
        ClientError::Kafka(e) => ClientError::Kafka(e.clone()),
        ClientError::Io { address, source } => ClientError::Io {
            address: address.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        ClientError::Config(m) => ClientError::Config(m.clone()),
        ClientError::Timeout(m) => ClientError::Timeout(m.clone()),
        ClientError::NoBrokerAvailable(m) => ClientError::NoBrokerAvailable(m.clone()),
        ClientError::UnsupportedApi { api } => ClientError::UnsupportedApi { api: api.clone() },
        ClientError::Protocol(m) => ClientError::Protocol(m.clone()),
        ClientError::Closed => ClientError::Closed,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
