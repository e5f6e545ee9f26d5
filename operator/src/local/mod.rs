//! The local runtime, `potok-operator up`: the cluster of a `KafkaCluster` manifest as
//! processes on this machine. Coordinators start first, then brokers; it waits until every
//! node accepts connections, prints the bootstrap servers and supervises: a node that
//! dies is reported (which, its exit status, the end of its log) and restarted after a
//! pause that grows while it keeps failing, and the rest of the cluster runs on. Only
//! Ctrl-C (or SIGTERM) ends `up`: it stops brokers first, so their controlled shutdown
//! still finds a quorum, then coordinators. Data stays in the data directory and the next
//! `up` uses it again.

mod plan;
mod process;
mod restart;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use plan::{ClusterPlan, NodePlan};
pub use process::Binaries;
use process::{DataDirLock, Supervisor};
pub use restart::MAX_RESTART_DELAY;
use restart::{RestartPolicy, FIRST_RESTART_DELAY, STABLE_UPTIME};

use crate::manifest::KafkaCluster;

/// How long nodes get to start accepting connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct UpOptions {
    pub manifest: PathBuf,
    pub data_dir: PathBuf,
    /// The programs the nodes run.
    pub binaries: Binaries,
    /// The longest pause before restarting a node that keeps failing.
    pub max_restart_delay: Duration,
}

pub async fn up(options: UpOptions) -> anyhow::Result<()> {
    let cluster = KafkaCluster::load(&options.manifest)?;
    std::fs::create_dir_all(options.data_dir.join("logs")).with_context(|| {
        format!(
            "cannot create the data directory {}",
            options.data_dir.display()
        )
    })?;
    let data_dir = options.data_dir.canonicalize()?;
    let _lock = DataDirLock::acquire(&data_dir)?;
    let plan = ClusterPlan::new(&cluster, &data_dir);
    for node in plan.nodes() {
        check_address_free(node)?;
        std::fs::write(&node.properties_file, node.properties_text())
            .with_context(|| format!("cannot write {}", node.properties_file.display()))?;
    }
    println!(
        "Starting cluster {}: {} coordinators, {} brokers{} (data in {})",
        plan.name,
        plan.coordinators.len(),
        plan.brokers.len(),
        if plan.ksql.is_some() { ", ksql" } else { "" },
        data_dir.display()
    );
    let restarts = RestartPolicy::new(
        FIRST_RESTART_DELAY,
        options.max_restart_delay,
        STABLE_UPTIME,
    );
    let mut supervisor = Supervisor::new(options.binaries, restarts);
    for node in plan.coordinators.iter().chain(&plan.brokers) {
        supervisor.start(node)?;
    }
    if let Err(error) = supervisor.wait_ready(READY_TIMEOUT).await {
        supervisor.stop_all().await;
        return Err(error);
    }
    // The ksql server reads its command topic at start, so it comes up once Kafka is ready.
    if let Some(ksql) = &plan.ksql {
        let started = supervisor.start(ksql);
        if let Err(error) = started.and(supervisor.wait_ready(READY_TIMEOUT).await) {
            supervisor.stop_all().await;
            return Err(error);
        }
    }
    println!("Cluster {} is ready.", plan.name);
    println!("Bootstrap servers: {}", plan.bootstrap_servers());
    if let Some(ksql) = &plan.ksql {
        println!(
            "ksql: http://localhost:{}",
            ksql.address.rsplit(':').next().unwrap_or("8088")
        );
    }
    println!("Logs: {}", data_dir.join("logs").display());
    println!("Press Ctrl-C to stop.");
    supervisor.supervise_until(shutdown_signal()).await;
    println!("Stopping cluster {}...", plan.name);
    supervisor.stop_all().await;
    println!("Stopped.");
    Ok(())
}

/// A node's address must be free, or the cluster would half start next to something else.
fn check_address_free(node: &NodePlan) -> anyhow::Result<()> {
    match std::net::TcpListener::bind(&node.address) {
        Ok(_) => Ok(()),
        Err(error) => anyhow::bail!(
            "{} cannot listen on {}: {error}; stop whatever uses that address (another Kafka or potok?) and try again",
            node.name,
            node.address
        ),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// The program `name` next to this executable, else the one on `PATH`.
pub fn default_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(name))
        .filter(|candidate| candidate.exists())
        .unwrap_or_else(|| Path::new(name).to_path_buf())
}
