//! The controller of a broker in a cluster: metadata changes are proposed to the quorum's
//! leader and answered once this broker's copy of the image includes them; committed
//! images are followed by long-polling a coordinator. It also keeps the broker's lease:
//! registration, heartbeats, and the controlled shutdown that hands leadership away.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use potok_client::DistinctFailures;
use tokio::sync::watch;
use uuid::Uuid;

use super::client::QuorumClient;
use super::command::{CommandOutcome, MetadataCommand};
use crate::error::ApiError;
use crate::metadata::{
    commands, BoxFuture, BrokerInfo, Controller, MetadataError, MetadataImage, NewTopic, TopicImage,
};

/// How long an admin request waits for the quorum before failing.
const PROPOSAL_PATIENCE: Duration = Duration::from_secs(15);
/// How long a stopping broker tries to hand its leaderships away.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(5);
/// How long one image watch waits on a coordinator before asking again.
const WATCH_WAIT: Duration = Duration::from_secs(5);

pub struct RemoteController {
    quorum: QuorumClient,
    broker: BrokerInfo,
    published: watch::Sender<Arc<MetadataImage>>,
    /// The version (last applied log index) of the published image.
    version: AtomicU64,
    versions: watch::Sender<u64>,
    /// Set on controlled shutdown: heartbeats stop so the broker stays fenced.
    stopping: AtomicBool,
}

impl RemoteController {
    /// Connects to the quorum and waits (as long as it takes) for an image naming the
    /// cluster.
    pub async fn connect(quorum: QuorumClient, broker: BrokerInfo) -> Arc<RemoteController> {
        let controller = Arc::new(RemoteController {
            quorum,
            broker,
            published: watch::channel(Arc::new(MetadataImage::default())).0,
            version: AtomicU64::new(0),
            versions: watch::channel(0).0,
            stopping: AtomicBool::new(false),
        });
        let mut backoff = controller.quorum.retry_backoff();
        let mut failures = DistinctFailures::default();
        loop {
            match controller.quorum.watch(0, WATCH_WAIT).await {
                Ok(latest) if !latest.image.cluster_id.is_empty() => {
                    controller.publish(latest.version, &latest.image);
                    return controller;
                }
                Ok(_) => {}
                Err(error) => {
                    // Coordinators may start after brokers; keep trying, as Kafka brokers do.
                    if failures.is_new(&error) {
                        tracing::warn!(%error, "waiting for the metadata quorum");
                    }
                }
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    /// The id of the cluster the quorum serves.
    pub fn cluster_id(&self) -> String {
        self.published.borrow().cluster_id.clone()
    }

    fn publish(&self, version: u64, image: &MetadataImage) {
        if version <= self.version.load(Ordering::Acquire) && version != 0 {
            return;
        }
        let mut image = image.clone();
        // Clients cannot reach coordinators; like KRaft, name a broker as the controller.
        image.controller_id = self.broker.id;
        self.version.store(version, Ordering::Release);
        self.published.send_replace(Arc::new(image));
        self.versions.send_replace(version);
    }

    /// Follows committed images until the process ends.
    pub async fn follow(self: Arc<Self>) {
        let mut backoff = self.quorum.retry_backoff();
        let mut failures = DistinctFailures::default();
        loop {
            let after = self.version.load(Ordering::Acquire);
            match self.quorum.watch(after, WATCH_WAIT).await {
                Ok(latest) => {
                    self.publish(latest.version, &latest.image);
                    backoff.reset();
                    if failures.clear() {
                        tracing::info!("following metadata again");
                    }
                }
                Err(error) => {
                    if failures.is_new(&error) {
                        tracing::warn!(%error, "cannot follow metadata; retrying with backoff");
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }

    /// Registers this broker (it starts fenced) and heartbeats until it is unfenced.
    pub async fn register(&self) -> Result<(), ApiError> {
        self.commit(MetadataCommand::RegisterBroker {
            broker: self.broker.clone(),
        })
        .await?;
        loop {
            self.quorum
                .heartbeat(self.broker.id, PROPOSAL_PATIENCE)
                .await?;
            let mut images = self.published.subscribe();
            let unfenced = images.wait_for(|image| !image.fenced_brokers.contains(&self.broker.id));
            if tokio::time::timeout(Duration::from_secs(2), unfenced)
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
    }

    /// Renews the lease every `interval`; re-registers if the quorum forgot this broker.
    pub async fn keep_lease(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        let mut failures = DistinctFailures::default();
        loop {
            ticker.tick().await;
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            match self.quorum.heartbeat(self.broker.id, interval * 2).await {
                Ok(()) => {
                    if failures.clear() {
                        tracing::info!("heartbeats to the quorum accepted again");
                    }
                }
                Err(error) if error.error == ResponseError::BrokerIdNotRegistered => {
                    if let Err(error) = self.register().await {
                        if failures.is_new(&error) {
                            tracing::warn!(%error, "cannot register with the quorum");
                        }
                    }
                }
                Err(error) => {
                    if failures.is_new(&error) {
                        tracing::warn!(%error, "heartbeat to the quorum failed");
                    }
                }
            }
        }
    }

    /// Stops renewing the lease, before a controlled shutdown.
    pub fn stop_lease(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Commits `command` and waits until the published image includes it.
    async fn commit(&self, command: MetadataCommand) -> Result<CommandOutcome, ApiError> {
        self.commit_within(command, PROPOSAL_PATIENCE).await
    }

    async fn commit_within(
        &self,
        command: MetadataCommand,
        patience: Duration,
    ) -> Result<CommandOutcome, ApiError> {
        let (outcome, index) = self.quorum.propose(command, patience).await?;
        let mut versions = self.versions.subscribe();
        let applied = versions.wait_for(|version| *version >= index);
        if tokio::time::timeout(patience, applied).await.is_err() {
            return Err(ApiError::new(
                ResponseError::RequestTimedOut,
                "The change was committed but this broker has not received it yet",
            ));
        }
        Ok(outcome)
    }

    fn image(&self) -> Arc<MetadataImage> {
        self.published.borrow().clone()
    }
}

impl Controller for RemoteController {
    fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.published.subscribe()
    }

    fn create_topic(&self, topic: NewTopic) -> BoxFuture<'_, Result<TopicImage, MetadataError>> {
        Box::pin(async move {
            if topic.validate_only {
                return commands::plan_topic(&self.image(), &topic, Uuid::new_v4());
            }
            let id = Uuid::new_v4();
            match self
                .commit(MetadataCommand::CreateTopic { topic, id })
                .await?
            {
                CommandOutcome::Topic(created) => Ok(created),
                other => Err(unexpected(other)),
            }
        })
    }

    fn delete_topic(&self, name: String) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::DeleteTopic { name }).await?;
            Ok(())
        })
    }

    fn create_partitions(
        &self,
        name: String,
        total: i32,
        validate_only: bool,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            if validate_only {
                let mut copy = (*self.image()).clone();
                return commands::create_partitions(&mut copy, &name, total);
            }
            self.commit(MetadataCommand::CreatePartitions { name, total })
                .await?;
            Ok(())
        })
    }

    fn set_topic_configs(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::SetTopicConfigs { name, configs })
                .await?;
            Ok(())
        })
    }

    fn set_broker_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::SetBrokerConfigs { configs })
                .await?;
            Ok(())
        })
    }

    fn allocate_producer_ids(&self, count: i64) -> BoxFuture<'_, Result<i64, MetadataError>> {
        Box::pin(async move {
            match self
                .commit(MetadataCommand::AllocateProducerIds { count })
                .await?
            {
                CommandOutcome::FirstProducerId(first) => Ok(first),
                other => Err(unexpected(other)),
            }
        })
    }

    fn alter_partition(
        &self,
        topic: String,
        partition: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::AlterPartition {
                topic,
                partition,
                leader: self.broker.id,
                leader_epoch,
                isr,
            })
            .await?;
            Ok(())
        })
    }

    fn controlled_shutdown(&self) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            let fence = MetadataCommand::FenceBroker { id: self.broker.id };
            self.commit_within(fence, SHUTDOWN_PATIENCE).await?;
            Ok(())
        })
    }

    fn elect_preferred_leaders(&self) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::ElectPreferredLeaders).await?;
            Ok(())
        })
    }

    fn reassign_partition(
        &self,
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(MetadataCommand::ReassignPartition {
                topic,
                partition,
                target,
            })
            .await?;
            Ok(())
        })
    }
}

fn unexpected(outcome: CommandOutcome) -> ApiError {
    ApiError::new(
        ResponseError::UnknownServerError,
        format!("unexpected outcome from the quorum: {outcome:?}"),
    )
}
