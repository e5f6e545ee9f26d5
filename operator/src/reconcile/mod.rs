//! The reconcile core: pure functions from a resource as declared and the live system as
//! observed to the actions that make them match and the status to report. A runtime (local
//! files or the Kubernetes API server) observes, calls the core, acts and writes the status;
//! the core itself does no I/O, so every decision is a unit test. Acting on the cluster is a
//! thin layer beside each core ([`topic::admin`], [`ksql_stream::rest`]).
//!
//! - [`condition`]: status conditions as Kubernetes keeps them (`lastTransitionTime` moves
//!   only when a condition's status does).
//! - [`topic`]: what to do with a live Kafka topic for a `Topic` resource.
//! - [`ksql_stream`]: which statements to run on the ksql server for a `KsqlStream` resource.
//! - [`roll`]: when a broker of a running cluster may restart, and where a removed broker's
//!   replicas go.

pub mod condition;
pub mod ksql_stream;
pub mod roll;
pub mod topic;
