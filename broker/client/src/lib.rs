//! An async Kafka client and Kafka's command-line tools, built on it.
//!
//! Map of the crate:
//! - [`connection`]: one TCP connection to a broker — framing, headers, version choice.
//! - [`versions`]: which versions of each Kafka API this crate speaks.
//! - [`cluster`]: bootstrap, Metadata, a connection per broker, leaders, retries.
//! - [`backoff`]: the growing, jittered pause between retries of a remote call, and
//!   logging each distinct failure once.
//! - [`error`]: `ClientError` and `KafkaError` (a broker's error code, name and message).
//! - [`topic_id`]: Kafka's base64 text form of topic ids.
//! - [`topic_name`]: Kafka's rules for topic names, shared by the broker and the operator.
//! - [`shutdown`]: the clean stop every Potok server shares.
//! - [`environment`]: settings from `KAFKA_*` and `KSQL_*` variables, named as in
//!   Confluent's container images, for every Potok server.
//! - [`admin`]: `AdminClient` — topics, configs, offsets, partition reassignments, cluster
//!   description.
//! - [`placement`]: Kafka's replica placement over brokers and racks.
//! - [`producer`]: `Producer` — partitioning, batching, idempotent delivery.
//! - [`consumer`]: `Consumer` — assigned partitions, seeks, Fetch and record decoding.
//! - [`cli`]: the tools `kafka-topics`, `kafka-configs`, `kafka-console-producer`,
//!   `kafka-console-consumer`, `kafka-consumer-groups` and `kafka-reassign-partitions`; the
//!   binaries in `src/bin/` only call into it.

pub mod admin;
pub mod backoff;
pub mod cli;
pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod environment;
pub mod error;
pub mod placement;
pub mod producer;
pub mod shutdown;
pub mod topic_id;
pub mod topic_name;
pub mod versions;

pub use admin::AdminClient;
pub use backoff::{Backoff, DistinctFailures};
pub use cluster::{Cluster, ClusterConfig, TopicPartition};
pub use error::{ClientError, KafkaError};
