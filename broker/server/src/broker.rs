//! The broker's shared state: its configuration, the controller it sends metadata changes
//! to, the latest metadata image, the partitions it hosts and its metrics. Every connection
//! task holds an `Arc<Broker>`. Its background duties (following metadata, replication,
//! ISR changes, retention, group sessions) are the `async fn`s taking `self: Arc<Self>`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use potok_client::backoff::{DEFAULT_RETRY_BACKOFF, DEFAULT_RETRY_BACKOFF_MAX};
use potok_client::{Backoff, DistinctFailures};
use tokio::sync::{watch, Notify};

use crate::config::BrokerConfig;
use crate::error::ApiError;
use crate::group::store::OFFSETS_TOPIC;
use crate::group::{self, GroupConfig, GroupCoordinator};
use crate::metadata::{
    claim_log_dir, commands, BrokerInfo, Controller, Endpoint, LocalController, MetadataImage,
};
use crate::metrics::Metrics;
use crate::quorum::{QuorumClient, RemoteController};
use crate::replica::{
    describe_space, Fetchers, LogDir, Partition, PartitionRetries, ReplicaManager, Role,
};

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
    pub fetchers: Fetchers,
    /// Woken when a follower caught up and the ISR should grow.
    pub isr_changed: Notify,
    /// The quorum connection of a broker in a cluster (leases, controlled shutdown).
    remote: Option<Arc<RemoteController>>,
}

impl Broker {
    /// A single-node broker whose metadata lives in its own log directory.
    pub fn open_standalone(config: BrokerConfig) -> anyhow::Result<Arc<Broker>> {
        let log_dir = open_log_dir(&config)?;
        let controller = LocalController::open(&config.log_dir, broker_info(&config))?;
        Ok(Broker::assemble(
            config,
            log_dir,
            Arc::new(controller),
            None,
        ))
    }

    /// A broker of a cluster: follows the quorum's metadata, claims its log directory for
    /// the quorum's cluster, registers and waits until the quorum unfences it.
    pub async fn join_cluster(
        config: BrokerConfig,
        voters: Vec<String>,
    ) -> anyhow::Result<Arc<Broker>> {
        let log_dir = open_log_dir(&config)?;
        let quorum = QuorumClient::new(voters).with_retry_backoff(retry_backoff(&config));
        let remote = RemoteController::connect(quorum, broker_info(&config)).await;
        let cluster_id = remote.cluster_id();
        claim_log_dir(&config.log_dir, &cluster_id, config.node_id)?;
        tokio::spawn(remote.clone().follow());
        let mut backoff = retry_backoff(&config);
        let mut failures = DistinctFailures::default();
        while let Err(error) = remote.register().await {
            if failures.is_new(&error) {
                tracing::warn!(%error, "cannot register with the metadata quorum yet");
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
        let heartbeat = config.duration_ms("broker.heartbeat.interval.ms", 2000);
        tokio::spawn(remote.clone().keep_lease(heartbeat));
        tracing::info!(%cluster_id, node_id = config.node_id, "registered with the metadata quorum");
        Ok(Broker::assemble(
            config,
            log_dir,
            remote.clone(),
            Some(remote),
        ))
    }

    fn assemble(
        config: BrokerConfig,
        log_dir: Arc<LogDir>,
        controller: Arc<dyn Controller>,
        remote: Option<Arc<RemoteController>>,
    ) -> Arc<Broker> {
        let broker = Arc::new(Broker {
            groups: GroupCoordinator::new(group_config(&config)),
            replicas: ReplicaManager::new(&config, log_dir),
            metadata: controller.subscribe(),
            controller,
            config,
            metrics: Metrics::new(),
            producer_ids: tokio::sync::Mutex::new((0, 0)),
            applied: Mutex::new(None),
            fetchers: Fetchers::default(),
            isr_changed: Notify::new(),
            remote,
        });
        broker.sync_metadata();
        broker
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
        match off_the_runtime(|| self.replicas.apply_image(&latest)) {
            Ok(changes) => {
                *applied = Some(latest);
                for (partition, role) in changes {
                    self.on_role_change(&partition, role);
                }
            }
            Err(error) => tracing::error!(%error, "cannot apply metadata to partition logs"),
        }
    }

    /// A partition became leader, follower or offline here: a led partition of
    /// `__consumer_offsets` makes this broker its groups' coordinator.
    fn on_role_change(&self, partition: &Partition, role: Role) {
        tracing::debug!(topic = %partition.topic, partition = partition.index, epoch = partition.leader_epoch(), ?role, "replica role");
        if partition.topic != OFFSETS_TOPIC {
            return;
        }
        match role {
            Role::Leader => group::store::load(self, partition),
            _ => group::store::unload(self, partition.index),
        }
    }

    /// Follows committed metadata until the controller goes away, fetching from the
    /// leaders of the partitions this broker follows.
    pub async fn follow_metadata(self: Arc<Self>) {
        let mut changes = self.metadata.clone();
        self.fetchers.ensure(&self);
        while changes.changed().await.is_ok() {
            self.sync_metadata();
            self.fetchers.ensure(&self);
        }
    }

    /// Proposes ISR changes for the partitions this broker leads: followers that caught
    /// up join, followers lagging more than `replica.lag.time.max.ms` leave. Runs when a
    /// follower catches up and every half lag period, as Kafka checks. A partition whose
    /// change was refused proposes again only after a growing pause (`PartitionRetries`).
    pub async fn maintain_isr(self: Arc<Self>) {
        let max_lag = self.config.duration_ms("replica.lag.time.max.ms", 30_000);
        let period = (max_lag / 2).max(Duration::from_millis(100));
        let mut retries = PartitionRetries::new(retry_backoff(&self.config));
        loop {
            let wait = retries.next_retry().map_or(period, |at| {
                at.saturating_duration_since(Instant::now()).min(period)
            });
            let _ = tokio::time::timeout(wait, self.isr_changed.notified()).await;
            let partitions = self.replicas.all();
            retries.retain(|topic, index| {
                partitions
                    .iter()
                    .any(|p| p.topic == topic && p.index == index)
            });
            for partition in partitions {
                self.propose_isr(&partition, max_lag, &mut retries).await;
            }
        }
    }

    /// Proposes the ISR `partition` wants, if it wants a change and is not waiting out a
    /// refusal.
    async fn propose_isr(
        &self,
        partition: &Partition,
        max_lag: Duration,
        retries: &mut PartitionRetries,
    ) {
        let (topic, index, epoch) = (&partition.topic, partition.index, partition.leader_epoch());
        let Some(refusals) = retries.may_retry(topic, index, epoch, Instant::now()) else {
            return;
        };
        let Some(isr) = partition.wanted_isr(max_lag, Instant::now()) else {
            return;
        };
        if refusals == 0 {
            tracing::info!(%topic, partition = index, ?isr, "proposing ISR change");
        } else {
            tracing::debug!(%topic, partition = index, ?isr, refusals, "proposing ISR change again");
        }
        let proposed = self
            .controller
            .alter_partition(topic.clone(), index, epoch, isr)
            .await;
        match proposed {
            Ok(()) => {
                if let Some(refusals) = retries.succeeded(topic, index) {
                    tracing::info!(%topic, partition = index, refusals, "ISR change accepted");
                }
            }
            Err(error) => {
                let refused = retries.refused(topic, index, epoch, &error, Instant::now());
                if refused.is_new {
                    tracing::warn!(%topic, partition = index, %error, retry_in = ?refused.retry_in, "ISR change refused; proposing again with backoff");
                } else {
                    tracing::debug!(%topic, partition = index, %error, attempts = refused.attempts, retry_in = ?refused.retry_in, "ISR change refused again");
                }
                partition.isr_proposal_failed();
            }
        }
    }

    /// Moves leadership back to preferred replicas every
    /// `leader.imbalance.check.interval.seconds` (`auto.leader.rebalance.enable`).
    pub async fn rebalance_leaders(self: Arc<Self>) {
        if self.config.get("auto.leader.rebalance.enable") == Some("false") || self.remote.is_none()
        {
            return;
        }
        let seconds = self
            .config
            .get("leader.imbalance.check.interval.seconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(300u64);
        let mut ticker = tokio::time::interval(Duration::from_secs(seconds.max(1)));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let image = self.image();
            let imbalanced = commands::elect_preferred_leaders(&mut (*image).clone()) > 0;
            // One broker (the one with the lowest live id) asks, so the quorum is not flooded.
            let asks = image
                .live_brokers()
                .next()
                .is_some_and(|b| b.id == self.config.node_id);
            if imbalanced && asks {
                if let Err(error) = self.controller.elect_preferred_leaders().await {
                    tracing::warn!(%error, "preferred leader election failed");
                }
            }
        }
    }

    /// Kafka's controlled shutdown: stop renewing the lease and hand every leadership to
    /// an in-sync replica, then wait (briefly) until the image shows it.
    pub async fn controlled_shutdown(&self) {
        let Some(remote) = &self.remote else {
            return;
        };
        if self.config.get("controlled.shutdown.enable") == Some("false") {
            return;
        }
        remote.stop_lease();
        match self.controller.controlled_shutdown().await {
            Ok(()) => {
                self.sync_metadata();
                tracing::info!("controlled shutdown: leadership handed to in-sync replicas");
            }
            Err(error) => tracing::warn!(%error, "controlled shutdown failed; stopping anyway"),
        }
    }

    /// Deletes segments past retention every `log.retention.check.interval.ms`.
    pub async fn enforce_retention(self: Arc<Self>) {
        let period = Duration::from_millis(self.config.log_retention_check_interval_ms.max(100));
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            if self.replicas.log_dir().failure().is_some() {
                continue;
            }
            let now = crate::clock::now_ms();
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

    /// Syncs segments closed by rolls, every second, on a blocking thread: the append that
    /// rolled a segment never waits for its fsync.
    pub async fn sync_rolled_segments(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            if self.replicas.log_dir().failure().is_some() {
                continue;
            }
            let partitions = self.replicas.all();
            let syncing = tokio::task::spawn_blocking(move || {
                for partition in partitions {
                    if let Err(error) = partition.sync_rolled_segments() {
                        tracing::error!(topic = %partition.topic, partition = partition.index, %error, "syncing a rolled segment failed");
                    }
                }
            });
            if let Err(error) = syncing.await {
                tracing::error!(%error, "syncing rolled segments stopped");
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

    /// Writes every partition's buffered data to disk and marks the shutdown clean;
    /// called on shutdown.
    pub fn flush(&self) {
        self.replicas.flush_for_shutdown();
    }

    /// Resolves when the log directory has failed (a full or failing disk), with why. The
    /// broker then stops, as Kafka's does once every log directory is offline.
    pub async fn log_dir_offline(&self) -> String {
        self.replicas.log_dir().offline().await
    }
}

/// Opens `log.dirs` before anything is written there, so a directory without room is
/// refused up front with its free space named.
fn open_log_dir(config: &BrokerConfig) -> anyhow::Result<Arc<LogDir>> {
    let dir = &config.log_dir;
    LogDir::open(dir).map(Arc::new).map_err(|error| {
        anyhow::anyhow!(
            "cannot use the log directory {}: {error} ({}). Free space there or point log.dirs elsewhere, then start the broker again",
            dir.display(),
            describe_space(dir)
        )
    })
}

/// Runs `work`, which creates and syncs files, after telling a multi-threaded runtime, so the
/// tasks queued behind it on this worker (other clients' requests) move to another thread
/// instead of waiting out its fsyncs, which take hundreds of milliseconds on a busy disk.
fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The pauses between retries of calls to the quorum and to other brokers: Kafka's
/// `retry.backoff.ms` doubling up to `retry.backoff.max.ms`.
pub fn retry_backoff(config: &BrokerConfig) -> Backoff {
    Backoff::new(
        config.duration_ms("retry.backoff.ms", DEFAULT_RETRY_BACKOFF.as_millis() as u64),
        config.duration_ms(
            "retry.backoff.max.ms",
            DEFAULT_RETRY_BACKOFF_MAX.as_millis() as u64,
        ),
    )
}

fn broker_info(config: &BrokerConfig) -> BrokerInfo {
    let inter_broker = config.listeners.inter_broker_advertised();
    BrokerInfo {
        id: config.node_id,
        host: inter_broker.host.clone(),
        port: inter_broker.port,
        rack: config.get("broker.rack").map(str::to_string),
        endpoints: config
            .listeners
            .advertised
            .iter()
            .map(|l| Endpoint {
                name: l.name.clone(),
                host: l.host.clone(),
                port: l.port,
            })
            .collect(),
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
