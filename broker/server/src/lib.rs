//! Potok's Kafka-compatible broker. Where a Produce request goes, from socket to disk:
//! `server` accepts the connection, `connection` reads the frame, `api` decodes it and
//! calls `api::produce`, which appends through `replica::Partition` to `log::PartitionLog`.
//!
//! - `config`: server.properties, `--override` and environment, with Kafka's key names.
//! - `config_listeners`: the named client listeners and what each advertises.
//! - `config_catalog`: Kafka's topic and broker config keys, types, defaults and synonyms.
//! - `config_names`: every broker setting known by name, to check `KAFKA_*` variables.
//! - `server`, `connection`: the listener and one task per client connection.
//! - `api`: request decoding, version checks and one handler module per API family.
//! - `broker`: the shared state every handler reads.
//! - `metadata`: the cluster image brokers serve from and the controller that changes it.
//! - `replica`: the partitions this broker hosts, idempotent-producer state.
//! - `group`: the group coordinator: membership, rebalances, committed offsets.
//! - `log`: Kafka's on-disk log: segments, indexes, recovery, retention.
//! - `durable_file`: state files replaced whole or not at all.
//! - `metrics`: Prometheus metrics at `/metrics`.
//! - `clock`: the wall clock in milliseconds, as Kafka timestamps are.
//! - `error`: the Kafka error code and message a handler answers with.
pub mod api;
pub mod broker;
pub mod clock;
pub mod config;
pub mod config_catalog;
pub mod config_listeners;
pub mod config_names;
pub mod connection;
pub mod durable_file;
pub mod error;
pub mod group;
pub mod log;
pub mod metadata;
pub mod metrics;
pub mod open_files;
pub mod quorum;
pub mod replica;
pub mod server;
