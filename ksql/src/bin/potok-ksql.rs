//! `potok-ksql`: the ksql server. `potok-ksql ksql-server.properties [--override key=value]...`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
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

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = match ServerConfig::load(&args.config, &args.overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("potok-ksql: {error}");
            return ExitCode::from(2);
        }
    };
    let server = match KsqlServer::start(config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("potok-ksql: cannot start: {error}");
            return ExitCode::FAILURE;
        }
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
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    let stopping = async {
        tokio::select! {
            _ = shutdown => {},
            _ = terminate => {},
        }
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stopping)
        .await
    {
        eprintln!("potok-ksql: {error}");
    }
    server.stop().await;
    ExitCode::SUCCESS
}
