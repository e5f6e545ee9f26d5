//! The clusters' ksql servers (ksqlDB's REST API): the client each cluster keeps, what a
//! ksql text is (read or change, one SELECT or not), and a query's streamed answer.

pub mod client;
pub mod rows;
pub mod statements;

pub use client::{KsqlClient, KsqlQuery, RowResult};
