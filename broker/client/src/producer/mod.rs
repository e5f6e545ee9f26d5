//! `Producer`: sends records to partition leaders in batches.
//!
//! `send` hands the record to a background task and returns a future for its result, so
//! callers can have many records in flight; the task partitions, batches
//! ([`accumulator`]), and delivers ([`sender`]) in order per partition.

mod accumulator;
mod config;
pub mod partitioner;
mod sender;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

pub use config::{parse_acks, parse_compression, ProducerConfig};

use crate::cluster::{Cluster, ClusterConfig};
use crate::error::ClientError;

/// A record to send. Without a partition, the key (or, for no key, the sticky partition)
/// decides; without a timestamp, the send time is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: Option<i64>,
}

/// Where a record was written. The offset is -1 with `acks=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
}

pub(crate) enum Command {
    Send(
        ProducerRecord,
        oneshot::Sender<Result<RecordMetadata, ClientError>>,
    ),
    Flush(oneshot::Sender<()>),
}

/// A Kafka producer. Must be created inside a tokio runtime.
#[derive(Debug)]
pub struct Producer {
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl Producer {
    /// Starts a producer with its own connections.
    pub fn new(cluster: ClusterConfig, config: ProducerConfig) -> Producer {
        Producer::with_cluster(Cluster::new(cluster), config)
    }

    /// Starts a producer sharing another client's connections and metadata.
    pub fn with_cluster(cluster: Arc<Cluster>, config: ProducerConfig) -> Producer {
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(sender::run(cluster, config, receiver));
        Producer { commands, task }
    }

    /// Queues `record`; the returned future resolves once the broker acknowledged it (or
    /// immediately after sending, with `acks=0`).
    pub fn send(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = Result<RecordMetadata, ClientError>> + Send + 'static {
        let (reply, result) = oneshot::channel();
        let queued = self.commands.send(Command::Send(record, reply));
        async move {
            queued.map_err(|_| ClientError::Closed)?;
            result.await.map_err(|_| ClientError::Closed)?
        }
    }

    /// Sends every queued record now and waits until all of them have a result.
    pub async fn flush(&self) -> Result<(), ClientError> {
        let (done, flushed) = oneshot::channel();
        self.commands
            .send(Command::Flush(done))
            .map_err(|_| ClientError::Closed)?;
        flushed.await.map_err(|_| ClientError::Closed)
    }

    /// Flushes and stops the background task.
    pub async fn close(self) -> Result<(), ClientError> {
        self.flush().await?;
        drop(self.commands);
        self.task.await.map_err(|_| ClientError::Closed)
    }
}
