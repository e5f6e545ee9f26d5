//! Potok's operator: runs clusters described by Potok's custom resources.
//!
//! - [`resources`]: the custom resources (`KafkaCluster`, `Topic`, `KsqlStream`), their
//!   CustomResourceDefinitions and admission rules.
//! - [`manifest`]: a `KafkaCluster` read from a file, for the local runtime.
//! - [`kubernetes`]: the Kubernetes runtime's reconcilers for `Topic` and `KsqlStream`,
//!   with their finalizers and status written through the API server.
//! - [`local`]: the local runtime, `potok-operator up`: a cluster as processes on this
//!   machine.
//! - [`reconcile`]: the reconcile core both runtimes share: pure decisions from a resource
//!   and the live system to the actions to take and the status to report.

pub mod kubernetes;
pub mod local;
pub mod manifest;
pub mod reconcile;
pub mod resources;
