//! `potok-broker server.properties [--override key=value]...`, started as Kafka is.
//! `process.roles` decides whether the process is a broker, a coordinator of the metadata
//! quorum, or both; without it, a standalone broker.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use potok_broker::broker::Broker;
use potok_broker::config::{self, BrokerConfig, Roles};
use potok_broker::quorum::{Coordinator, CoordinatorConfig};
use potok_client::shutdown;

#[derive(Parser)]
#[command(name = "potok-broker", version, about = "Kafka-compatible broker")]
struct Args {
    /// The node's properties file (Kafka's server.properties format and key names).
    config: PathBuf,
    /// Sets a property, overriding the file: --override node.id=2
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // openraft reports every unreachable peer at warn level and above, many times a
    // second while a coordinator is down; the coordinator logs leadership changes itself.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=off".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let properties = config::load_properties(&args.config, &args.overrides, std::env::vars())?;
    let roles = Roles::from_properties(&properties)?;
    let metrics_address = config::metrics_listener(&properties)?;
    let coordinator = if roles.coordinator {
        Some(start_coordinator(&properties).await?)
    } else {
        None
    };
    let broker = if roles.broker {
        let config = BrokerConfig::from_properties(properties)?;
        Some(match config.quorum_voters.clone() {
            None => Broker::open_standalone(config)?,
            Some(voters) => tokio::select! {
                joined = Broker::join_cluster(config, voters) => joined?,
                _ = shutdown::signal() => return Ok(()),
            },
        })
    } else {
        None
    };
    if let Some(address) = metrics_address {
        tokio::spawn(serve_metrics(address, broker.clone(), coordinator.clone()));
    }
    let mut log_dir_failure = None;
    match broker {
        Some(broker) => {
            let stop = async {
                tokio::select! {
                    _ = shutdown::signal() => {}
                    reason = broker.log_dir_offline() => log_dir_failure = Some(reason),
                }
            };
            potok_broker::server::run(broker.clone(), stop).await?;
            if let Some(reason) = log_dir_failure {
                anyhow::bail!(
                    "the log directory {} failed: {reason}. Every log directory is offline, so the broker stopped after handing its leaderships to other replicas. Free space or repair the disk and start the broker again: it recovers its logs to the last whole batch and keeps every acknowledged record.",
                    broker.config.log_dir.display()
                );
            }
        }
        None => shutdown::signal().await,
    }
    if let Some(coordinator) = coordinator {
        coordinator.shutdown().await;
    }
    Ok(())
}

/// Opens this node's share of the metadata quorum and serves it on the controller listener.
async fn start_coordinator(
    properties: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Arc<Coordinator>> {
    let node_id: u64 = properties
        .get("node.id")
        .and_then(|v| v.trim().parse().ok())
        .context("node.id must be set to a non-negative number")?;
    let voters = config::quorum_voters(properties)?;
    anyhow::ensure!(
        voters.contains_key(&node_id),
        "node.id {node_id} is not among controller.quorum.voters; a coordinator must be one of the voters"
    );
    let listener = config::controller_listener(properties)?;
    let data_dir = properties
        .get("metadata.log.dir")
        .or_else(|| properties.get("log.dirs"))
        .or_else(|| properties.get("log.dir"))
        .and_then(|dirs| dirs.split(',').next())
        .map(|dir| PathBuf::from(dir.trim()))
        .context("log.dirs (or metadata.log.dir) must be set")?;
    let session_timeout = properties
        .get("broker.session.timeout.ms")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(9000);
    let coordinator = Coordinator::start(CoordinatorConfig {
        node_id,
        voters,
        data_dir,
        broker_session_timeout: std::time::Duration::from_millis(session_timeout),
    })
    .await?;
    let address = listener.bind_address();
    let socket = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address} (the controller listener)"))?;
    tracing::info!(%address, node_id, "coordinator started");
    tokio::spawn(coordinator.clone().serve(socket));
    let claiming = coordinator.clone();
    tokio::spawn(async move {
        // Another cluster's data must not take part in this quorum: stop at once.
        if let Err(error) = claiming.claim_data_dir().await {
            tracing::error!("{error:#}");
            claiming.shutdown().await;
            std::process::exit(1);
        }
    });
    let watched = coordinator.clone();
    tokio::spawn(async move {
        let reason = watched.failed().await;
        let dir = watched.data_dir();
        tracing::error!(
            "the metadata log in {} failed: {reason} ({}). This coordinator stopped; the others go on while they are a majority. Free space or repair the disk and start it again: its log keeps every whole record, and it catches up from the others.",
            dir.display(),
            potok_broker::replica::describe_space(dir)
        );
        std::process::exit(1);
    });
    Ok(coordinator)
}

/// Serves `/metrics` with whatever this process runs: broker, coordinator or both.
async fn serve_metrics(
    address: std::net::SocketAddr,
    broker: Option<Arc<Broker>>,
    coordinator: Option<Arc<Coordinator>>,
) {
    let render = move || {
        let mut text = String::new();
        if let Some(broker) = &broker {
            text.push_str(&broker.metrics.render(&broker.replicas));
        }
        if let Some(coordinator) = &coordinator {
            text.push_str(&potok_broker::quorum::metrics::render(coordinator));
        }
        text
    };
    if let Err(error) = potok_broker::metrics::serve(address, render).await {
        tracing::error!(%error, "metrics endpoint stopped");
    }
}
