//! potok-ui, the web console: brokers, topics, messages, consumer groups and ksql of one or
//! more clusters in a browser, served from one binary with every asset inside it.
//!
//! Each page is HTML rendered on the server from the same functions the JSON API under
//! `/api/clusters/{cluster}/...` answers with, so a script sees what a person sees. Live
//! views (a topic's tail, a push query, the dashboard) are Server-Sent Events.

pub mod api;
pub mod assets;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod error;
pub mod ksql;
pub mod metrics;
pub mod pages;
pub mod server;
