//! potok-ksql: a ksqlDB-compatible streaming SQL server.
//!
//! - `parser`: ksqlDB's dialect into a syntax tree, with line:column errors.
//! - `types`, `value`, `decimal`: SQL types and run-time values; `format`: JSON, DELIMITED
//!   and KAFKA records.
//! - `expr`: type checking and evaluation of expressions; `functions`: built-in functions.
//! - `schema`, `catalog`: streams and tables; `plan`: a SELECT over them, typed and checked.
//! - `engine`: a planned query run record by record, with its aggregation state; `codec`:
//!   records between bytes and rows.
//! - `executor`: statements applied to the catalog and queries, returning effects to carry out.
//! - `conformance`: ksqlDB's query-validation test files.
//! - `server`: the REST server over Kafka (binary `potok-ksql`).
//! - `sync`: the one policy for poisoned locks (recover and go on).
//! - `cli`: the `ksql` command line, a client of that server's REST API.

pub mod catalog;
pub mod cli;
pub mod codec;
pub mod conformance;
pub mod decimal;
pub mod engine;
pub mod executor;
pub mod expr;
pub mod format;
pub mod functions;
pub mod parser;
pub mod plan;
pub mod schema;
pub mod server;
pub mod sync;
pub mod types;
pub mod value;
