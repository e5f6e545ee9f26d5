//! Kafka's command-line tools. Each submodule parses its flags (named and checked as
//! Kafka's tool does), calls the library, and prints in Kafka's text layout; its `main`
//! is what the binary in `src/bin/` runs.

pub mod configs;
pub mod console_consumer;
pub mod console_producer;
pub mod consumer_groups;
mod formatter;
mod line_reader;
mod properties;
pub mod reassign_partitions;
mod reassignment_json;
mod reassignment_plan;
mod time_spec;
mod topic_filter;
pub mod topics;

use std::process::ExitCode;

use crate::error::{ClientError, KafkaError};

/// Why an admin tool's command failed: bad arguments, or the cluster said no.
#[derive(Debug)]
pub(crate) enum CommandError {
    Argument(String),
    Client(ClientError),
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> Self {
        CommandError::Client(e)
    }
}

impl From<KafkaError> for CommandError {
    fn from(e: KafkaError) -> Self {
        CommandError::Client(e.into())
    }
}

/// A failure that ends a tool: what to print, where, and the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Printed to stderr (Kafka's `IllegalArgumentException` path).
    Usage(String),
    /// Printed to stdout with the tool's own prefix already applied.
    Stdout(String),
    /// Already printed while running; only the exit status is left.
    AlreadyReported,
}

impl Failure {
    fn report(self) -> ExitCode {
        match self {
            Failure::Usage(message) => eprintln!("{message}"),
            Failure::Stdout(message) => println!("{message}"),
            Failure::AlreadyReported => {}
        }
        ExitCode::FAILURE
    }
}

/// Runs a tool's async body on a small runtime and turns its outcome into an exit status.
pub(crate) fn run<F>(body: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Parses the command line with clap, reporting errors as Kafka's tools do (exit 1);
/// `--help` and `--version` exit 0.
pub(crate) fn parse_args<T: clap::Parser>() -> Result<T, ExitCode> {
    T::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}
