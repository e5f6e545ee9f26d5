//! `AdminClient`: topics, configs, offsets, consumer groups, partition reassignments, log
//! directories and cluster description, the operations Kafka's `Admin` interface offers and the CLI tools and operator
//! need.
//!
//! Each family lives in its own file; results that can fail per item (one topic of many)
//! come back as a map of per-item results inside the outer `Result` for transport errors.

mod cluster_description;
mod configs;
mod groups;
mod log_dirs;
mod offsets;
mod reassignments;
mod topics;

use std::sync::Arc;

pub use cluster_description::ClusterDescription;
pub use configs::{
    AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType, ConfigSource, ConfigSynonym,
};
pub use groups::{GroupDescription, GroupListing, MemberDescription};
pub use log_dirs::LogDirDescription;
pub(crate) use offsets::list_offsets;
pub use offsets::{ListedOffset, OffsetSpec};
pub use reassignments::{PartitionReassignment, ReassignmentResults};
pub use topics::{NewPartitions, NewTopic, PartitionInfo, TopicDescription, TopicListing};

use crate::cluster::{Cluster, ClusterConfig};
use crate::error::ClientError;

/// How long the broker may take to apply an admin change (Kafka's `timeout_ms` in
/// CreateTopics and friends; the Java admin client's default).
const ADMIN_TIMEOUT_MS: i32 = 30_000;

/// Administers topics and configs of one cluster.
#[derive(Debug, Clone)]
pub struct AdminClient {
    cluster: Arc<Cluster>,
}

impl AdminClient {
    /// An admin client for the cluster reachable through `config.bootstrap_servers`.
    pub fn new(config: ClusterConfig) -> AdminClient {
        AdminClient {
            cluster: Cluster::new(config),
        }
    }

    /// An admin client sharing another client's connections and metadata.
    pub fn with_cluster(cluster: Arc<Cluster>) -> AdminClient {
        AdminClient { cluster }
    }

    /// The shared cluster state.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Connects to a bootstrap server, to fail early with a clear error when none answers.
    pub async fn connect(&self) -> Result<(), ClientError> {
        self.cluster.any_connection().await.map(|_| ())
    }
}
