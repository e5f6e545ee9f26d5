//! A persistent query at run time: a member of its own consumer group reading the source
//! topic, the pipeline, and a producer writing the sink topic. Offsets are committed only
//! after the batch's output is acknowledged, so input is never lost (at-least-once, as
//! ksqlDB's default processing guarantee).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use potok_client::consumer::{ConsumerConfig, ConsumerRecord, GroupConfig, SeekTo};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::catalog::Source;
use crate::codec::{encode, windowed_key};
use crate::engine::{Pipeline, Side};
use crate::sync::LockExt;

use super::kafka::{decode_consumed, KafkaIo};
use super::processing_log::ProcessingLog;
use super::transient::routed;

/// How long one poll waits for records before checking for a stop.
const POLL_TIMEOUT: Duration = Duration::from_millis(200);

/// A running persistent query.
pub struct RunningQuery {
    /// Shared with pull queries, which read its materialized table.
    pub pipeline: Arc<Mutex<Pipeline>>,
    pub sink: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What a query needs to run.
pub struct QuerySetup {
    pub id: String,
    pub group: String,
    /// The sources read: one, or a join's left and right.
    pub inputs: Vec<(Side, Source)>,
    pub sink: Source,
    pub offset_reset: SeekTo,
    /// The topic the aggregation state is written to, for a query that keeps state.
    pub changelog: Option<String>,
}

impl RunningQuery {
    pub fn start(
        io: Arc<KafkaIo>,
        log: ProcessingLog,
        pipeline: Pipeline,
        setup: QuerySetup,
    ) -> RunningQuery {
        let pipeline = Arc::new(Mutex::new(pipeline));
        let (stop, stopped) = watch::channel(false);
        let sink = setup.sink.name.clone();
        let task = tokio::spawn(run(io, log, pipeline.clone(), setup, stopped));
        RunningQuery {
            pipeline,
            sink,
            stop,
            task,
        }
    }

    /// Stops the query and waits for its consumer to leave the group.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Reads the changelog back into the pipeline's state before any input is processed.
async fn restore_state(
    io: &KafkaIo,
    pipeline: &Mutex<Pipeline>,
    changelog: &str,
) -> Result<(), String> {
    io.create_topic_with(changelog, 1, None, &[("cleanup.policy", "compact")])
        .await?;
    let records = io
        .read_to_end(changelog, 1)
        .await
        .map_err(|e| e.to_string())?;
    let mut pipeline = pipeline.lock_or_recover();
    for record in &records {
        let Some(key) = record
            .key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
        else {
            continue;
        };
        let content = record
            .value
            .as_deref()
            .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok());
        pipeline.restore(key, content.as_ref());
    }
    tracing::info!(changelog, entries = records.len(), "restored query state");
    Ok(())
}

async fn run(
    io: Arc<KafkaIo>,
    log: ProcessingLog,
    pipeline: Arc<Mutex<Pipeline>>,
    setup: QuerySetup,
    mut stopped: watch::Receiver<bool>,
) {
    let QuerySetup {
        id,
        group,
        inputs,
        sink,
        offset_reset,
        changelog,
    } = setup;
    if let Some(changelog) = &changelog {
        while let Err(error) = restore_state(&io, &pipeline, changelog).await {
            tracing::warn!(query = %id, "restoring state from {changelog} failed, retrying: {error}");
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
    let mut consumer = io.consumer(ConsumerConfig {
        auto_offset_reset: offset_reset,
        ..ConsumerConfig::default()
    });
    let group = GroupConfig {
        auto_commit_interval: None,
        ..GroupConfig::new(group)
    };
    let mut topics: Vec<String> = inputs.iter().map(|(_, s)| s.topic.clone()).collect();
    topics.dedup();
    consumer.subscribe(group, topics.clone());
    loop {
        let polled = tokio::select! {
            _ = stopped.changed() => break,
            polled = consumer.poll(POLL_TIMEOUT) => polled,
        };
        let records = match polled {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(query = %id, "reading {} failed: {error}", topics.join(", "));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let acknowledgements = process_batch(
            &io,
            &log,
            &pipeline,
            Target {
                id: &id,
                inputs: &inputs,
                sink: &sink,
                changelog: changelog.as_deref(),
            },
            &records,
        )
        .await;
        if let Err(error) = acknowledgements {
            tracing::warn!(query = %id, "writing {} failed, the batch will be read again: {error}", sink.topic);
            continue;
        }
        if let Err(error) = consumer.commit().await {
            tracing::warn!(query = %id, "committing offsets failed: {error}");
        }
        tracing::debug!(query = %id, records = records.len(), took = ?started.elapsed(), "batch committed");
    }
    consumer.close().await;
}

/// Where a batch is read from and written to.
struct Target<'a> {
    id: &'a str,
    inputs: &'a [(Side, Source)],
    sink: &'a Source,
    changelog: Option<&'a str>,
}

/// One record to write: to the sink or to the changelog.
struct Write<'a> {
    topic: &'a str,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: Option<i64>,
}

/// Runs a batch through the pipeline and waits until every output, and the state it left,
/// is acknowledged.
async fn process_batch(
    io: &KafkaIo,
    log: &ProcessingLog,
    pipeline: &Mutex<Pipeline>,
    target: Target<'_>,
    records: &[ConsumerRecord],
) -> Result<(), potok_client::ClientError> {
    let Target {
        id,
        inputs,
        sink,
        changelog,
    } = target;
    // The batch's records are computed first and handed to the producer together, so its
    // task drains them in one go instead of being woken for each.
    let mut writes: Vec<Write<'_>> = Vec::new();
    let began = std::time::Instant::now();
    {
        let mut pipeline = pipeline.lock_or_recover();
        for (record, side, source) in routed(records, inputs) {
            let outputs = decode_consumed(source, record)
                .and_then(|row| pipeline.process(side, &row).map_err(|e| e.0));
            let outputs = match outputs {
                Ok(outputs) => outputs,
                Err(error) => {
                    log.record(id, &source.topic, record, &error);
                    continue;
                }
            };
            for output in outputs {
                match encode(sink, &output) {
                    Ok((key, value)) => {
                        let key = windowed_key(key, output.window, sink.window);
                        writes.push(Write {
                            topic: &sink.topic,
                            key,
                            value,
                            timestamp: Some(output.timestamp),
                        });
                    }
                    Err(error) => log.record(id, &source.topic, record, &error),
                }
            }
        }
        if let Some(changelog) = changelog {
            for (key, content) in pipeline.drain_changes() {
                let value = content.map(|c| c.to_string().into_bytes());
                writes.push(Write {
                    topic: changelog,
                    key: Some(key.into_bytes()),
                    value,
                    timestamp: None,
                });
            }
        }
    }
    let computed = began.elapsed();
    let count = writes.len();
    let sends: Vec<_> = writes
        .into_iter()
        .map(|write| io.send(write.topic, write.key, write.value, write.timestamp))
        .collect();
    for send in sends {
        send.await?;
    }
    tracing::debug!(query = %id, sends = count, ?computed, acknowledged = ?(began.elapsed() - computed), "batch written");
    Ok(())
}
