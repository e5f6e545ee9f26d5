//! The broker's shared state: its configuration, the controller it sends metadata changes
//! to, the latest metadata image, the partitions it hosts and its metrics. Every connection
//! task holds an `Arc<Broker>`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::BrokerConfig;
use crate::error::ApiError;
use crate::group::{self, GroupConfig, GroupCoordinator};
use crate::metadata::{BrokerInfo, Controller, LocalController, MetadataImage};
use crate::metrics::Metrics;
use crate::replica::ReplicaManager;

/// Producer ids are reserved from the controller in blocks, as Kafka's brokers do
/// (`ProducerIdManager`), so InitProducerId rarely waits on a metadata commit.
const PRODUCER_ID_BLOCK: i64 = 1000;
/// Kafka's default `max.message.bytes` / `message.max.bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;

pub struct Broker {
    pub config: BrokerConfig,
    pub controller: Arc<dyn Controller>,
    metadata: watch::Receiver<Arc<MetadataImage>>,
    pub replicas: ReplicaManager,
    pub metrics: Metrics,
    pub groups: GroupCoordinator,
    /// The unused part of the current producer id block: `next..end`.
    producer_ids: tokio::sync::Mutex<(i64, i64)>,
    /// The image the hosted partitions were last brought in line with.
    applied: Mutex<Option<Arc<MetadataImage>>>,
}

impl Broker {
    /// A single-node broker whose metadata lives in its own log directory.
    pub fn open_standalone(config: BrokerConfig) -> anyhow::Result<Arc<Broker>> {
        let advertised = &config.advertised_listener;
        let controller = LocalController::open(
            &config.log_dir,
            BrokerInfo {
                id: config.node_id,
                host: advertised.host.clone(),
                port: advertised.port,
                rack: config.get("broker.rack").map(str::to_string),
            },
        )?;
        let groups = GroupCoordinator::new(group_config(&config));
        let broker = Arc::new(Broker {
            groups,
            replicas: ReplicaManager::new(&config),
            metadata: controller.subscribe(),
            controller: Arc::new(controller),
            config,
            metrics: Metrics::new(),
            producer_ids: tokio::sync::Mutex::new((0, 0)),
            applied: Mutex::new(None),
        });
        broker.sync_metadata();
        group::store::load(&broker);
        Ok(broker)
    }

    pub fn image(&self) -> Arc<MetadataImage> {
        self.metadata.borrow().clone()
    }

    /// Applies the latest image to the hosted partitions if it has not been applied yet.
    /// Admin handlers call this before answering so a client can use a topic it just created.
    pub fn sync_metadata(&self) {
        let mut applied = self.applied.lock().expect("applied lock poisoned");
        let latest = self.image();
        if applied.as_ref().is_some_and(|a| Arc::ptr_eq(a, &latest)) {
            return;
        }
        match self.replicas.apply_image(&latest) {
            Ok(()) => *applied = Some(latest),
            Err(error) => tracing::error!(%error, "cannot apply metadata to partition logs"),
        }
    }

    /// Follows committed metadata until the controller goes away.
    pub async fn follow_metadata(self: Arc<Self>) {
        let mut changes = self.metadata.clone();
        while changes.changed().await.is_ok() {
            self.sync_metadata();
        }
    }

    /// Deletes segments past retention every `log.retention.check.interval.ms`.
    pub async fn enforce_retention(self: Arc<Self>) {
        let period = Duration::from_millis(self.config.log_retention_check_interval_ms.max(100));
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            let now = crate::api::now_ms();
            for partition in self.replicas.all() {
                match partition.apply_retention(now) {
                    Ok(0) => {}
                    Ok(deleted) => {
                        tracing::info!(topic = %partition.topic, partition = partition.index, deleted, "deleted segments past retention")
                    }
                    Err(error) => {
                        tracing::error!(topic = %partition.topic, partition = partition.index, %error, "retention failed")
                    }
                }
            }
        }
    }

    /// Expires group members whose sessions lapsed, four times a second.
    pub async fn expire_group_members(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        loop {
            ticker.tick().await;
            self.groups.tick(std::time::Instant::now());
        }
    }

    pub async fn next_producer_id(&self) -> Result<i64, ApiError> {
        let mut block = self.producer_ids.lock().await;
        if block.0 >= block.1 {
            let first = self
                .controller
                .allocate_producer_ids(PRODUCER_ID_BLOCK)
                .await?;
            *block = (first, first + PRODUCER_ID_BLOCK);
        }
        block.0 += 1;
        Ok(block.0 - 1)
    }

    pub fn auto_create_topics(&self) -> bool {
        self.config.get("auto.create.topics.enable") != Some("false")
    }

    pub fn default_partitions(&self) -> i32 {
        self.config
            .get("num.partitions")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    pub fn default_replication_factor(&self) -> i16 {
        self.config
            .get("default.replication.factor")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    /// The largest record batch the topic accepts (`max.message.bytes`, else the broker's
    /// `message.max.bytes`).
    pub fn max_message_bytes(&self, topic: &str) -> usize {
        let image = self.image();
        image
            .topics
            .get(topic)
            .and_then(|t| t.configs.get("max.message.bytes"))
            .or_else(|| image.broker_configs.get("message.max.bytes"))
            .map(String::as_str)
            .or_else(|| self.config.get("message.max.bytes"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES)
    }

    /// Writes every partition's buffered data to disk; called on shutdown.
    pub fn flush(&self) {
        for partition in self.replicas.all() {
            if let Err(error) = partition.flush() {
                tracing::error!(topic = %partition.topic, partition = partition.index, %error, "flush failed");
            }
        }
    }
}

/// The group coordinator's settings, under Kafka's key names.
fn group_config(config: &BrokerConfig) -> GroupConfig {
    let number = |key: &str, default: i64| {
        config
            .get(key)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    GroupConfig {
        min_session_timeout_ms: number(
            "group.min.session.timeout.ms",
            group::DEFAULT_MIN_SESSION_TIMEOUT_MS,
        ),
        max_session_timeout_ms: number(
            "group.max.session.timeout.ms",
            group::DEFAULT_MAX_SESSION_TIMEOUT_MS,
        ),
        initial_rebalance_delay: Duration::from_millis(
            number(
                "group.initial.rebalance.delay.ms",
                group::DEFAULT_INITIAL_REBALANCE_DELAY_MS as i64,
            )
            .max(0) as u64,
        ),
    }
}
