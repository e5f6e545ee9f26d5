//! The local runtime, `potok-operator up`: the cluster of a `KafkaCluster` manifest as
//! processes on this machine, and the Topics and KsqlStreams beside it kept live by a
//! control loop. Coordinators start first, then brokers; it waits until every node accepts
//! connections, prints the bootstrap servers and supervises: a node that dies is reported
//! (which, its exit status, the end of its log) and restarted after a pause that grows
//! while it keeps failing, and the rest of the cluster runs on. Meanwhile the control loop
//! ([`control`]) reconciles the manifests' Topics and KsqlStreams, watching the files for
//! edits; their status is kept in the data directory for `potok-operator get` ([`get`]).
//! Only Ctrl-C (or SIGTERM) ends `up`: it stops brokers first, so their controlled shutdown
//! still finds a quorum, then coordinators. Data stays in the data directory and the next
//! `up` uses it again.

mod cluster_changes;
mod control;
pub mod get;
pub mod plan;
mod process;
mod restart;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use potok_client::{AdminClient, ClusterConfig};

use cluster_changes::RunningCluster;
use control::{Clients, ControlLoop};
use plan::{ClusterPlan, NodePlan};
pub use process::Binaries;
use process::{DataDirLock, Supervisor};
pub use restart::MAX_RESTART_DELAY;
use restart::{RestartPolicy, FIRST_RESTART_DELAY, STABLE_UPTIME};
use store::Store;

use crate::manifest::{KafkaCluster, Manifests};
use crate::reconcile::condition::{ready, set_condition};
use crate::reconcile::ksql_stream::rest::KsqlClient;

/// How long nodes get to start accepting connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct UpOptions {
    /// A manifest file, or a directory of them: one KafkaCluster, any Topics and KsqlStreams.
    pub manifests: PathBuf,
    pub data_dir: PathBuf,
    /// The programs the nodes run.
    pub binaries: Binaries,
    /// The longest pause before restarting a node that keeps failing.
    pub max_restart_delay: Duration,
    /// How often every Topic and KsqlStream is reconciled when nothing changed.
    pub resync: Duration,
}

pub async fn up(options: UpOptions) -> anyhow::Result<()> {
    let cluster = Manifests::load(&options.manifests)?.cluster;
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
        match (&plan.ksql, &plan.ui) {
            (Some(_), Some(_)) => ", ksql, ui",
            (Some(_), None) => ", ksql",
            (None, Some(_)) => ", ui",
            (None, None) => "",
        },
        data_dir.display()
    );
    let restarts = RestartPolicy::new(
        FIRST_RESTART_DELAY,
        options.max_restart_delay,
        STABLE_UPTIME,
    );
    let mut supervisor = Supervisor::new(options.binaries, restarts);
    let (node_commands, commands) = tokio::sync::mpsc::channel(4);
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
    // The console comes last, once there is a cluster to show.
    if let Some(ui) = &plan.ui {
        let started = supervisor.start(ui);
        if let Err(error) = started.and(supervisor.wait_ready(READY_TIMEOUT).await) {
            supervisor.stop_all().await;
            return Err(error);
        }
    }
    println!("Cluster {} is ready.", plan.name);
    println!("Bootstrap servers: {}", plan.bootstrap_servers());
    if let Some(ksql) = &plan.ksql {
        println!("ksql: http://localhost:{}", port_of(ksql));
    }
    if let Some(ui) = &plan.ui {
        println!("ui: http://localhost:{}", port_of(ui));
    }
    println!("Logs: {}", data_dir.join("logs").display());
    let store = Store::new(&data_dir);
    let admin = AdminClient::new(ClusterConfig::new(&plan.bootstrap_servers())?);
    record_cluster(&store, &cluster, &plan, Some(&admin)).await;
    println!(
        "Watching {} for Topics and KsqlStreams; `potok-operator get topics --data-dir {}` shows them.",
        options.manifests.display(),
        options.data_dir.display()
    );
    println!("Press Ctrl-C to stop.");
    let control = ControlLoop {
        manifests: options.manifests.clone(),
        store: store.clone(),
        clients: Clients {
            admin,
            ksql: plan
                .ksql
                .as_ref()
                .map(|ksql| KsqlClient::new(&format!("http://{}", ksql.address))),
            cluster: plan.name.clone(),
        },
        resync: options.resync,
        cluster: RunningCluster::new(plan.clone(), data_dir.clone(), node_commands),
    };
    let (stop_control, control_stopped) = tokio::sync::oneshot::channel::<()>();
    let control = tokio::spawn(control.run(async {
        let _ = control_stopped.await;
    }));
    supervisor
        .supervise_until(shutdown_signal(), commands)
        .await;
    let _ = stop_control.send(());
    let plan = control.await.unwrap_or(plan);
    println!("Stopping cluster {}...", plan.name);
    supervisor.stop_all().await;
    let cluster = Manifests::load(&options.manifests).map_or(cluster, |m| m.cluster);
    record_cluster(&store, &cluster, &plan, None).await;
    println!("Stopped.");
    Ok(())
}

/// Stores the cluster with its status for `get kafkaclusters`: ready, with its id, when
/// `admin` reaches it; stopped otherwise.
pub(crate) async fn record_cluster(
    store: &Store,
    cluster: &KafkaCluster,
    plan: &ClusterPlan,
    admin: Option<&AdminClient>,
) {
    let now = Time(Timestamp::now());
    let mut stored = store
        .all::<KafkaCluster>()
        .ok()
        .and_then(|all| {
            all.into_iter()
                .find(|c| c.metadata.name == cluster.metadata.name)
        })
        .unwrap_or_else(|| cluster.clone());
    let generation =
        stored.metadata.generation.unwrap_or(0) + i64::from(stored.spec != cluster.spec);
    stored.spec = cluster.spec.clone();
    stored.metadata.generation = Some(generation.max(1));
    stored
        .metadata
        .creation_timestamp
        .get_or_insert_with(|| now.clone());
    stored
        .metadata
        .namespace
        .get_or_insert_with(|| "default".into());
    let mut status = stored.status.take().unwrap_or_default();
    let running = |count: usize| Some(if admin.is_some() { count as u32 } else { 0 });
    status.observed_generation = stored.metadata.generation;
    status.bootstrap_servers = Some(plan.bootstrap_servers());
    status.ready_coordinators = running(plan.coordinators.len());
    status.ready_brokers = running(plan.brokers.len());
    status.ready_ksql = running(usize::from(plan.ksql.is_some()));
    let condition = match admin {
        Some(admin) => {
            status.cluster_id = admin
                .describe_cluster()
                .await
                .ok()
                .and_then(|d| d.cluster_id);
            ready(
                true,
                "Running",
                format!("{} nodes run on this machine", plan.nodes().count()),
                stored.metadata.generation,
                &now,
            )
        }
        None => ready(
            false,
            "Stopped",
            "potok-operator up was stopped",
            stored.metadata.generation,
            &now,
        ),
    };
    set_condition(&mut status.conditions, condition);
    stored.status = Some(status);
    if let Err(error) = store.save(&stored) {
        println!(
            "kafkacluster/{}: cannot store its status: {error}",
            plan.name
        );
    }
}

/// A node's address must be free, or the cluster would half start next to something else.
/// The port of a node's `host:port` address, for the URLs printed at start.
fn port_of(node: &NodePlan) -> &str {
    node.address.rsplit(':').next().unwrap_or_default()
}

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
