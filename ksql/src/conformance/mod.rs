//! Conformance with ksqlDB's own query-validation tests (the QTT files): `case` reads a
//! file into cases, `memory` stands in for Kafka, `run` drives a case and judges it, and
//! `rest_run` does the same for the REST cases (RQTT) through queries' responses.

pub mod case;
pub mod memory;
pub mod rest_run;
pub mod run;
