//! The Kubernetes runtime's reconcilers for `Topic` and `KsqlStream`: what a kube-runtime
//! `Controller` calls for one resource. Each runs the shared reconcile core
//! ([`crate::reconcile`]) against the cluster the resource names and keeps Kubernetes'
//! side: a finalizer, so a deleted resource's topic or stream goes before the resource
//! does, and the status, written through the status subresource with server-side apply
//! under one field manager.
//!
//! - [`cluster`]: from `spec.cluster` to the KafkaCluster's brokers and ksql server.
//! - [`kafka_cluster`]: [`reconcile_kafka_cluster`], a `KafkaCluster` into StatefulSets,
//!   Services, ConfigMaps and PodDisruptionBudgets, with safe rolls and drained scale-downs.
//! - [`run`]: `potok-operator run`, the controllers with leader election ([`lease`]) and
//!   the `/metrics`, `/healthz` and `/readyz` endpoints ([`metrics`]).
//! - [`topic`]: [`reconcile_topic`], for a `Topic`.
//! - [`ksql_stream`]: [`reconcile_ksql_stream`], for a `KsqlStream`.
//!
//! After a reconcile the resource is looked at again at the resync interval, so changes
//! made by hand drift back; sooner while a change is under way; and after a pause that
//! grows per resource while it keeps failing ([`error_policy`]). Every outcome is logged
//! through `tracing` with the resource's kind, namespace and name.

pub mod cluster;
pub mod kafka_cluster;
pub mod ksql_stream;
pub mod lease;
pub mod metrics;
pub mod run;
pub mod topic;

#[cfg(test)]
mod fake_ksql;
#[cfg(test)]
mod fixtures;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer;
use kube::runtime::reflector::Store;
use kube::{Api, Client, Resource, ResourceExt};
use potok_client::{AdminClient, Backoff, ClientError, ClusterConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::reconcile::condition::READY;
use crate::reconcile::ksql_stream::rest::{KsqlClient, RestError};
use crate::reconcile::topic::admin::AdminError;
use crate::resources::Topic;

pub use kafka_cluster::reconcile_kafka_cluster;
pub use ksql_stream::reconcile_ksql_stream;
pub use topic::reconcile_topic;

/// The image KafkaClusters run when neither their spec nor `--default-image` names one.
pub const DEFAULT_IMAGE: &str = "potok:latest";
/// The field manager that owns the status fields the operator writes.
pub const FIELD_MANAGER: &str = "potok-operator";
/// How often every resource is reconciled even when nothing changed, so hand-made changes
/// to a live topic drift back.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(120);
/// How soon a resource is looked at again while its change is under way (a reassignment)
/// or its cluster is still starting.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);
/// The first and the longest pause before retrying a failed reconcile.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(300);

/// Why a reconcile failed; the controller retries it after [`error_policy`]'s pause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Ksql(#[from] RestError),
    #[error("the KafkaCluster's bootstrap servers are not usable: {0}")]
    Bootstrap(#[from] ClientError),
    #[error("the cluster's brokers: {0}")]
    Brokers(ClientError),
    /// The cluster cannot be reached yet for a deletion, which must wait for it.
    #[error("{0}")]
    ClusterNotReady(String),
    #[error("{0} has no namespace; Potok's resources are namespaced")]
    NoNamespace(String),
    #[error(transparent)]
    Finalizer(#[from] Box<finalizer::Error<Error>>),
}

impl Error {
    /// A short name of what failed, for the `reason` label of the failure metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubernetesApi",
            Error::Admin(_) => "Admin",
            Error::Ksql(_) => "Ksql",
            Error::Bootstrap(_) => "Bootstrap",
            Error::Brokers(_) => "Brokers",
            Error::ClusterNotReady(_) => "ClusterNotReady",
            Error::NoNamespace(_) => "NoNamespace",
            Error::Finalizer(_) => "Finalizer",
        }
    }
}

/// How the reconcilers reach a KafkaCluster's brokers and ksql server, given the addresses
/// the cluster publishes. Tests point these at local servers (or at nothing).
pub trait Connect: Send + Sync {
    /// An admin client for the brokers at `bootstrap_servers` (`host:port,...`).
    fn admin(&self, bootstrap_servers: &str) -> Result<AdminClient, ClientError>;
    /// A client of the ksql server at `url`.
    fn ksql(&self, url: &str) -> KsqlClient;
}

/// Connections to the addresses as given, with Kafka's default client settings. Admin
/// clients are kept per bootstrap string, so reconciles reuse their connections.
#[derive(Default)]
pub struct ServiceConnections {
    admins: Mutex<HashMap<String, AdminClient>>,
}

impl Connect for ServiceConnections {
    fn admin(&self, bootstrap_servers: &str) -> Result<AdminClient, ClientError> {
        let mut admins = self
            .admins
            .lock()
            .expect("no reconcile panics holding the lock");
        if let Some(admin) = admins.get(bootstrap_servers) {
            return Ok(admin.clone());
        }
        let admin = AdminClient::new(ClusterConfig::new(bootstrap_servers)?);
        admins.insert(bootstrap_servers.to_owned(), admin.clone());
        Ok(admin)
    }

    fn ksql(&self, url: &str) -> KsqlClient {
        KsqlClient::new(url)
    }
}

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub connect: Box<dyn Connect>,
    /// How often a resource is reconciled when nothing changed.
    pub resync: Duration,
    /// The image a KafkaCluster's pods run when its spec names none.
    pub default_image: String,
    /// Publishes Kubernetes Events on the resources; none in tests.
    pub recorder: Option<Recorder>,
    /// The Topic controllers' caches (one per watched namespace, or one for all), read to
    /// find Topics claiming the same topic without listing every Topic per reconcile.
    pub topics: Vec<Store<Topic>>,
    /// The pause before the next retry of each resource that is failing, by [`key`].
    retries: Mutex<HashMap<String, Backoff>>,
}

impl Context {
    /// A context reaching clusters at the addresses they publish.
    pub fn new(client: Client) -> Context {
        Context::with_connections(client, Box::<ServiceConnections>::default())
    }

    pub fn with_connections(client: Client, connect: Box<dyn Connect>) -> Context {
        Context {
            client,
            connect,
            resync: DEFAULT_RESYNC,
            default_image: DEFAULT_IMAGE.into(),
            recorder: None,
            topics: Vec::new(),
            retries: Mutex::new(HashMap::new()),
        }
    }

    /// The Topics of `namespace` in the controllers' caches, once each has its first list.
    async fn topics_in(&self, namespace: &str) -> Vec<Topic> {
        let mut found = Vec::new();
        for store in &self.topics {
            // Only a dropped writer fails this, and then the cache is all there will be.
            let _ = store.wait_until_ready().await;
            found.extend(
                store
                    .state()
                    .iter()
                    .filter(|topic| topic.namespace().as_deref() == Some(namespace))
                    .map(|topic| Topic::clone(topic)),
            );
        }
        found
    }

    /// Publishes an Event on `resource` when the context has a recorder; a failure to
    /// publish is logged, never a reason for the reconcile to fail.
    pub async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        resource: &K,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note.chars().take(1024).collect()),
            action: reason.into(),
            secondary: None,
        };
        if let Err(error) = recorder.publish(&event, &resource.object_ref(&())).await {
            tracing::warn!("{}: cannot publish an event: {error}", key(resource));
        }
    }

    /// The pause before retrying `key` after one more failure.
    fn next_retry(&self, key: &str) -> Duration {
        let mut retries = self
            .retries
            .lock()
            .expect("no reconcile panics holding the lock");
        retries
            .entry(key.to_owned())
            .or_insert_with(|| Backoff::new(FIRST_RETRY, MAX_RETRY))
            .next_delay()
    }

    /// Forgets `key`'s failures once a reconcile of it succeeded.
    fn succeeded(&self, key: &str) {
        let mut retries = self
            .retries
            .lock()
            .expect("no reconcile panics holding the lock");
        retries.remove(key);
    }
}

/// How a resource is named in logs and in the retry table: `topic default/orders`.
pub fn key<K: Resource<DynamicType = ()>>(resource: &K) -> String {
    let namespace = resource.meta().namespace.as_deref().unwrap_or_default();
    let name = resource.meta().name.as_deref().unwrap_or_default();
    format!("{} {namespace}/{name}", K::kind(&()).to_lowercase())
}

/// The controller's answer to a failed reconcile: log it, and retry after a pause that
/// doubles (with jitter) per resource while it keeps failing, up to five minutes.
pub fn error_policy<K: Resource<DynamicType = ()>>(
    resource: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = key(resource.as_ref());
    let pause = ctx.next_retry(&key);
    tracing::warn!("{key}: reconcile failed, retrying in {pause:?}: {error}");
    Action::requeue(pause)
}

/// Runs `apply` (or `cleanup`, for a resource being deleted) inside kube-runtime's
/// finalizer helper, which adds `finalizer_name` before the first apply and removes it
/// once cleanup succeeded; resets the resource's retry pause when it succeeds.
async fn with_finalizer<K, Apply, Cleanup>(
    resource: Arc<K>,
    ctx: &Context,
    finalizer_name: &str,
    apply: impl FnOnce(Arc<K>, Api<K>) -> Apply,
    cleanup: impl FnOnce(Arc<K>) -> Cleanup,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
    Apply: std::future::Future<Output = Result<Action, Error>>,
    Cleanup: std::future::Future<Output = Result<Action, Error>>,
{
    let key = key(resource.as_ref());
    let namespace = resource
        .namespace()
        .ok_or_else(|| Error::NoNamespace(key.clone()))?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let finalized = resource.finalizers().iter().any(|f| f == finalizer_name);
    if !finalized && resource.meta().deletion_timestamp.is_none() {
        tracing::info!("{key}: adding the finalizer {finalizer_name}");
    }
    let outcome = finalizer::finalizer(&api, finalizer_name, resource, |event| async {
        match event {
            finalizer::Event::Apply(resource) => apply(resource, api.clone()).await,
            finalizer::Event::Cleanup(resource) => cleanup(resource).await,
        }
    })
    .await
    .map_err(|error| Error::Finalizer(Box::new(error)));
    if outcome.is_ok() {
        ctx.succeeded(&key);
    }
    outcome
}

/// Writes `status` through `resource`'s status subresource with server-side apply, so the
/// operator owns exactly the status fields it sets.
async fn patch_status<K>(api: &Api<K>, resource: &K, status: &impl Serialize) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&resource.name_any(), &params, &Patch::Apply(&patch))
        .await?;
    Ok(())
}

/// Publishes an Event on `resource` when its `Ready` condition's status or reason changed
/// from `before` to `after`: Normal when it became ready, Warning when it is not, with the condition's
/// reason and message, so `kubectl describe` tells what the operator did and refused.
async fn announce<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    resource: &K,
    before: &[Condition],
    after: &[Condition],
) {
    let ready_of = |conditions: &[Condition]| {
        conditions
            .iter()
            .find(|c| c.type_ == READY)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    let Some((status, reason, message)) = ready_of(after) else {
        return;
    };
    // A new message under the same reason (a count of ready pods, say) is progress, not news.
    if ready_of(before).is_some_and(|(was, why, _)| was == status && why == reason) {
        return;
    }
    let type_ = if status == "True" {
        EventType::Normal
    } else {
        EventType::Warning
    };
    ctx.publish(resource, type_, &reason, &message).await;
}

/// The conditions of a resource's status, none before its first status.
fn conditions_of<S>(
    status: Option<&S>,
    conditions: impl Fn(&S) -> &Vec<Condition>,
) -> Vec<Condition> {
    status.map(|s| conditions(s).clone()).unwrap_or_default()
}

/// The `Ready` condition's reason and message among `conditions`, for the log.
fn ready(conditions: &[Condition]) -> (&str, &str) {
    conditions
        .iter()
        .find(|c| c.type_ == READY)
        .map(|c| (c.reason.as_str(), c.message.as_str()))
        .unwrap_or_default()
}

fn now() -> Time {
    Time(Timestamp::now())
}
