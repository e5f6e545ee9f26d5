//! `potok-broker server.properties [--override key=value]...`, started as Kafka is.

use std::path::PathBuf;

use clap::Parser;
use potok_broker::broker::Broker;
use potok_broker::config::BrokerConfig;

#[derive(Parser)]
#[command(name = "potok-broker", version, about = "Kafka-compatible broker")]
struct Args {
    /// The broker's properties file (Kafka's server.properties format and key names).
    config: PathBuf,
    /// Sets a property, overriding the file: --override node.id=2
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = BrokerConfig::load(&args.config, &args.overrides, std::env::vars())?;
    let broker = Broker::open_standalone(config)?;
    potok_broker::server::run(broker, shutdown_signal()).await
}

/// Ctrl-C, or SIGTERM from `docker stop` and Kubernetes.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
