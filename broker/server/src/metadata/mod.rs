//! Cluster metadata: the image brokers serve from, and the controller that changes it.
//!
//! Brokers never mutate metadata themselves. They read the latest published
//! [`MetadataImage`] and send changes (create a topic, alter configs, ...) to a
//! [`Controller`]. A single node uses [`LocalController`], which persists the image in its
//! log directory; a Raft quorum of coordinators implements the same trait for clusters.

pub mod commands;
mod controller;
mod image;
mod local;
pub mod reassignment;

pub use controller::{BoxFuture, Controller, MetadataError, NewTopic};
pub use image::{BrokerInfo, Endpoint, MetadataImage, PartitionImage, TopicImage};
pub use local::{base64_url, claim_log_dir, new_cluster_id, read_meta_properties, LocalController};

/// A topic or cluster id as Kafka prints it (URL-safe base64, no padding).
pub fn kafka_uuid(id: uuid::Uuid) -> String {
    base64_url(id.as_bytes())
}
pub use potok_client::topic_name::validate_topic_name;
