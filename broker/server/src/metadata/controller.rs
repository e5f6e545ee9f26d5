//! The controller interface: every metadata change goes through it and is answered once
//! the change is durable. Brokers follow the images it publishes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use super::image::{MetadataImage, TopicImage};
use crate::error::ApiError;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type MetadataError = ApiError;

/// A topic to create, with defaults already resolved by the broker that received the request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Explicit replica lists per partition; empty means "place them for me".
    pub assignments: Vec<Vec<i32>>,
    pub configs: BTreeMap<String, String>,
    pub validate_only: bool,
}

pub trait Controller: Send + Sync + 'static {
    /// The latest committed image and every later one.
    fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>>;

    fn create_topic(&self, topic: NewTopic) -> BoxFuture<'_, Result<TopicImage, MetadataError>>;

    fn delete_topic(&self, name: String) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Grows `name` to `total` partitions.
    fn create_partitions(
        &self,
        name: String,
        total: i32,
        validate_only: bool,
    ) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Replaces the topic's dynamic config overrides with `configs` (already validated).
    fn set_topic_configs(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Replaces the cluster-wide dynamic broker configs.
    fn set_broker_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Reserves `count` producer ids and returns the first.
    fn allocate_producer_ids(&self, count: i64) -> BoxFuture<'_, Result<i64, MetadataError>>;

    /// AlterPartition: this broker, leading `topic`-`partition` under `leader_epoch`,
    /// asks for a new ISR.
    fn alter_partition(
        &self,
        topic: String,
        partition: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
    ) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Hands this broker's leaderships to in-sync replicas before it stops.
    fn controlled_shutdown(&self) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Moves leadership back to preferred replicas that are in sync.
    fn elect_preferred_leaders(&self) -> BoxFuture<'_, Result<(), MetadataError>>;

    /// Starts moving `topic`-`partition` to the `target` replicas, or cancels its move when
    /// `target` is `None` (AlterPartitionReassignments).
    fn reassign_partition(
        &self,
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> BoxFuture<'_, Result<(), MetadataError>>;
}
