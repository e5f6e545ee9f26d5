//! `potok-ksql`: the ksql server. `potok-ksql ksql-server.properties [--override key=value]...`;
//! `KSQL_*` environment variables set properties too, between the file and the overrides.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use std::sync::Arc;

use potok_client::{shutdown, Backoff, ClientError};
use potok_ksql::server::config::ServerConfig;
use potok_ksql::server::{rest, KsqlServer};

/// Queries allocate a row, a key and a record per input; mimalloc keeps that cheap where
/// glibc's allocator spent a third of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ksqlDB-compatible streaming SQL server.
#[derive(Parser)]
#[command(name = "potok-ksql", version)]
struct Args {
    /// The server's properties file (ksqlDB's ksql-server.properties).
    config: PathBuf,
    /// A property set on top of the file, as key=value; may be repeated.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

/// How long the server waits for its brokers at start before it gives up: a server started
/// beside its cluster (a Kubernetes pod, a container) comes up before the brokers do.
const BROKER_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a stopping server lets a request being answered finish.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// mimalloc gives the pages a burst freed (thousands of connections' buffers, a finished
/// query's state) back to the system only when a later allocation or a collection comes by;
/// a server that goes quiet kept them. Collecting once a second returns them: after a
/// burst of 3,000 connections the server holds 55 MiB instead of 130.
async fn return_freed_memory() {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticker.tick().await;
        // SAFETY: mi_collect has no preconditions; it frees nothing still in use.
        unsafe { libmimalloc_sys::mi_collect(false) };
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tokio::spawn(return_freed_memory());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = match ServerConfig::load(&args.config, &args.overrides, std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("potok-ksql: {error}");
            return ExitCode::from(2);
        }
    };
    let server = tokio::select! {
        started = start_when_brokers_answer(config) => match started {
            Ok(server) => server,
            Err(error) => {
                eprintln!("potok-ksql: cannot start: {error}");
                return ExitCode::FAILURE;
            }
        },
        _ = shutdown::signal() => return ExitCode::SUCCESS,
    };
    // Listening only once the command topic is replayed: a client that connects finds the
    // streams, tables and queries of before.
    let listener = match tokio::net::TcpListener::bind(server.config.listener).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "potok-ksql: cannot listen on {}: {error}",
                server.config.listener
            );
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(listener = %server.config.listener, "ksql server listening");
    let app = rest::router(server.clone());
    let stopping = {
        let server = server.clone();
        async move {
            shutdown::signal().await;
            tracing::info!("stopping: ending streams, then the queries");
            server.begin_shutdown();
        }
    };
    let mut graceful = server.shutdown();
    let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
        graceful.recv().await;
    });
    // Streams end at once; a request still being answered gets `SHUTDOWN_GRACE`.
    tokio::select! {
        served = serving => {
            if let Err(error) = served {
                eprintln!("potok-ksql: {error}");
            }
        }
        _ = async {
            stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; stopping anyway"),
    }
    server.stop().await;
    ExitCode::SUCCESS
}

/// Starts the server, retrying with backoff while no broker of `bootstrap.servers` answers,
/// for up to [`BROKER_WAIT`].
async fn start_when_brokers_answer(config: ServerConfig) -> anyhow::Result<Arc<KsqlServer>> {
    let deadline = std::time::Instant::now() + BROKER_WAIT;
    let mut backoff = Backoff::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(5),
    );
    let mut said = false;
    loop {
        match KsqlServer::start(config.clone()).await {
            Err(error)
                if std::time::Instant::now() < deadline
                    && matches!(
                        error.downcast_ref::<ClientError>(),
                        Some(ClientError::NoBrokerAvailable(_))
                    ) =>
            {
                if !said {
                    tracing::warn!("waiting for the brokers ({error})");
                    said = true;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
            outcome => return outcome,
        }
    }
}
