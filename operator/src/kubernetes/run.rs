//! `potok-operator run`: the Kubernetes runtime. One kube-runtime `Controller` per kind
//! and watched namespace (or one for all namespaces) — KafkaClusters owning their
//! StatefulSets and the console's Deployment, Topics, KsqlStreams — started once this replica holds the leader lease,
//! with the endpoints of [`super::metrics`] served from the start.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource};

use super::lease::LeaseLock;
use super::metrics::Metrics;
use super::{
    error_policy, reconcile_kafka_cluster, reconcile_ksql_stream, reconcile_topic, Context, Error,
};
use crate::resources::{KafkaCluster, KsqlStream, Topic};

/// The name events and the lease are reported under.
const CONTROLLER_NAME: &str = "potok-operator";

#[derive(clap::Args)]
pub struct RunOptions {
    /// A namespace to watch; repeat for several. None: every namespace.
    #[arg(
        long = "namespace",
        value_name = "NAMESPACE",
        env = "POTOK_WATCH_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Whether replicas elect a leader through a Lease, so only one reconciles.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// The Lease's name.
    #[arg(long, default_value = "potok-operator")]
    pub lease_name: String,
    /// The Lease's namespace (default: POD_NAMESPACE, the operator's own).
    #[arg(long)]
    pub lease_namespace: Option<String>,
    /// Where /metrics, /healthz and /readyz are served.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub http_address: SocketAddr,
    /// The image a KafkaCluster's pods run when its spec.image is unset.
    #[arg(long, env = "POTOK_IMAGE", default_value = super::DEFAULT_IMAGE)]
    pub default_image: String,
    /// How often, in seconds, every resource is reconciled even when nothing changed.
    #[arg(long = "resync-interval", value_name = "SECONDS", default_value = "120", value_parser = parse_seconds)]
    pub resync: Duration,
    /// The most reconciles of one kind that run at once (per watched namespace).
    #[arg(long = "max-concurrent-reconciles", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
}

/// A whole number of seconds, at least one.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds) if seconds >= 1 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "{text} is not a whole number of seconds, at least 1"
        )),
    }
}

pub async fn run(options: RunOptions) -> anyhow::Result<()> {
    // kube's errors already name their causes in their message, so they are not chained.
    let client = Client::try_default().await.map_err(|error| {
        anyhow::anyhow!(
            "cannot configure a Kubernetes client ({error}); in a pod it uses the ServiceAccount's token, elsewhere set KUBECONFIG or create ~/.kube/config"
        )
    })?;
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(options.http_address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for /metrics, /healthz and /readyz; choose another --http-address",
                options.http_address
            )
        })?;
    tokio::spawn(super::metrics::serve(
        listener,
        metrics.clone(),
        ready.clone(),
    ));
    client.apiserver_version().await.map_err(|error| {
        anyhow::anyhow!("cannot reach the Kubernetes API server with this configuration: {error}")
    })?;
    let identity = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("potok-operator-{}", std::process::id()));
    let lease = if options.leader_election {
        let namespace = options
            .lease_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| client.default_namespace().to_string());
        // A standby replica is ready: it serves, and takes over when the leader goes.
        ready.store(true, Ordering::Relaxed);
        let lock = LeaseLock::new(client.clone(), &namespace, &options.lease_name, &identity);
        lock.acquire().await;
        Some(Arc::new(lock))
    } else {
        None
    };
    metrics.leader.set(1);
    if let Some(lock) = lease.clone() {
        tokio::spawn(async move {
            let why = lock.keep().await;
            tracing::error!("no longer leading: {why}; exiting so that only the leader reconciles");
            std::process::exit(1);
        });
    }

    let scopes: Vec<Option<String>> = if options.namespaces.is_empty() {
        vec![None]
    } else {
        options.namespaces.iter().cloned().map(Some).collect()
    };
    tracing::info!(
        "reconciling KafkaClusters, Topics and KsqlStreams in {}",
        match options.namespaces.is_empty() {
            true => "every namespace".to_string(),
            false => format!("the namespace(s) {}", options.namespaces.join(", ")),
        }
    );
    let topic_controllers: Vec<Controller<Topic>> = scopes
        .iter()
        .map(|scope| {
            Controller::new(api::<Topic>(&client, scope), watcher::Config::default())
                .with_config(bounded(options.concurrency))
                .shutdown_on_signal()
        })
        .collect();
    let mut ctx = Context::new(client.clone());
    ctx.resync = options.resync;
    ctx.default_image = options.default_image.clone();
    ctx.topics = topic_controllers.iter().map(Controller::store).collect();
    ctx.recorder = Some(Recorder::new(
        client.clone(),
        Reporter {
            controller: CONTROLLER_NAME.into(),
            instance: Some(identity),
        },
    ));
    let ctx = Arc::new(ctx);
    ready.store(true, Ordering::Relaxed);
    let mut controllers = tokio::task::JoinSet::new();
    for (scope, topics) in scopes.iter().zip(topic_controllers) {
        let owned =
            watcher::Config::default().labels("app.kubernetes.io/managed-by=potok-operator");
        let clusters = Controller::new(
            api::<KafkaCluster>(&client, scope),
            watcher::Config::default(),
        )
        .owns(api::<StatefulSet>(&client, scope), owned.clone())
        .owns(api::<Deployment>(&client, scope), owned)
        .with_config(bounded(options.concurrency))
        .shutdown_on_signal();
        let timed = timing(metrics.clone(), "kafkacluster", reconcile_kafka_cluster);
        controllers.spawn(drive(clusters.run(timed, error_policy, ctx.clone())));
        let timed = timing(metrics.clone(), "topic", reconcile_topic);
        controllers.spawn(drive(topics.run(timed, error_policy, ctx.clone())));
        let streams = Controller::new(
            api::<KsqlStream>(&client, scope),
            watcher::Config::default(),
        )
        .with_config(bounded(options.concurrency))
        .shutdown_on_signal();
        let timed = timing(metrics.clone(), "ksqlstream", reconcile_ksql_stream);
        controllers.spawn(drive(streams.run(timed, error_policy, ctx.clone())));
    }
    while controllers.join_next().await.is_some() {}
    if let Some(lock) = lease {
        lock.release().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A controller running at most `concurrency` reconciles at once: each holds connections
/// to the API server and the cluster, so 500 new Topics must not mean 500 at once.
fn bounded(concurrency: u16) -> controller::Config {
    controller::Config::default().concurrency(concurrency)
}

fn api<K>(client: &Client, scope: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = ()>,
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    match scope {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// A reconcile's outcome, boxed so every kind's timed reconciler has one type.
type Reconciling =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Action, Error>> + Send>>;

/// `reconcile`, counted and timed in `metrics` under `kind`.
fn timing<K, F, Fut>(
    metrics: Arc<Metrics>,
    kind: &'static str,
    reconcile: F,
) -> impl FnMut(Arc<K>, Arc<Context>) -> Reconciling
where
    K: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |resource, ctx| {
        let metrics = metrics.clone();
        Box::pin(async move {
            let started = Instant::now();
            let outcome = reconcile(resource, ctx).await;
            metrics.observe(kind, started.elapsed(), &outcome);
            outcome
        })
    }
}

/// Runs a controller's stream to its end; each outcome is logged by the reconcilers and
/// the error policy already, so only the controller's own failures are logged here.
async fn drive<S, T, E>(stream: S)
where
    S: futures_util::Stream<Item = Result<T, kube::runtime::controller::Error<Error, E>>>,
    E: std::error::Error + 'static,
{
    stream
        .for_each(|outcome| async move {
            match outcome {
                Ok(_) | Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                Err(error) => tracing::warn!("controller: {error}"),
            }
        })
        .await
}
