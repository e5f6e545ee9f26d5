//! The local runtime's control loop: the manifests are the desired state, as `kubectl
//! apply` would leave them in the API server. Every second the loop rereads them; a saved
//! edit is admitted (see [`store`](super::store)) and reconciled at once, every resource is
//! reconciled again at the resync interval (so hand-made changes drift back), a failed
//! reconcile is retried after a pause that grows while it keeps failing, and a resource
//! gone from the manifests is finalized (its topic or stream removed as the resource says)
//! before it leaves the store. Every outcome is printed with the resource's name when it
//! changes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use potok_client::{AdminClient, Backoff};

use super::cluster_changes::RunningCluster;
use super::plan::ClusterPlan;
use super::store::{admit, Admission, Store, Stored};
use crate::manifest::{KafkaCluster, Manifests};
use crate::reconcile::condition::reason as common;
use crate::reconcile::ksql_stream::rest::{self as ksql_rest, KsqlClient};
use crate::reconcile::topic::{self, admin as topic_admin};
use crate::resources::{KsqlStream, Topic};

/// How often the manifests are reread.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How soon a resource whose change is still under way (a reassignment) is looked at again.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);
/// The first and the longest pause before retrying a failed reconcile.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// What the reconcilers talk to.
pub struct Clients {
    pub admin: AdminClient,
    /// `None` when the cluster runs no ksql server.
    pub ksql: Option<KsqlClient>,
    /// The KafkaCluster's name, which every resource's `spec.cluster` must give.
    pub cluster: String,
}

/// The control loop's settings.
pub struct ControlLoop {
    pub manifests: PathBuf,
    pub store: Store,
    pub clients: Clients,
    /// How often every resource is reconciled even when nothing changed.
    pub resync: Duration,
    /// The nodes as they run, changed as the KafkaCluster is edited.
    pub cluster: RunningCluster,
}

/// When to reconcile one resource next.
struct Schedule {
    due: Instant,
    backoff: Backoff,
    /// The refusal last reported for an edit the update rules refuse.
    refused: Option<String>,
}

impl Schedule {
    fn new() -> Schedule {
        Schedule {
            due: Instant::now(),
            backoff: Backoff::new(FIRST_RETRY, MAX_RETRY),
            refused: None,
        }
    }
}

/// How a reconcile went, for scheduling the next one.
enum Next {
    /// Done: look again at the resync interval.
    Resync,
    /// A change is under way: look again soon.
    Progressing,
    /// Failed: retry after the backoff.
    Retry,
    /// Failed in a way only an edit can fix: look again at the resync interval.
    Stuck,
}

impl ControlLoop {
    /// Runs until `stop` completes.
    /// Runs until `stop` completes; returns the cluster's nodes as they run then.
    pub async fn run(mut self, stop: impl Future<Output = ()>) -> ClusterPlan {
        tokio::pin!(stop);
        let mut topics: BTreeMap<String, Schedule> = BTreeMap::new();
        let mut streams: BTreeMap<String, Schedule> = BTreeMap::new();
        let mut last_error: Option<String> = None;
        let mut changing_cluster = false;
        loop {
            match Manifests::load(&self.manifests) {
                Ok(manifests) => {
                    if last_error.take().is_some() {
                        println!(
                            "{}: the manifests read well again",
                            self.manifests.display()
                        );
                    }
                    changing_cluster = self
                        .change_cluster(&manifests.cluster, changing_cluster)
                        .await;
                    self.sync(&manifests.topics, &mut topics).await;
                    self.sync(&manifests.streams, &mut streams).await;
                }
                Err(error) => {
                    let error = error.to_string();
                    if last_error.as_ref() != Some(&error) {
                        println!("{error}; keeping the resources as they were");
                        last_error = Some(error);
                    }
                }
            }
            tokio::select! {
                _ = &mut stop => return self.cluster.plan().clone(),
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// One step of a KafkaCluster change; returns whether one is under way. When one
    /// ends, the stored cluster's status is brought up to date.
    async fn change_cluster(&mut self, desired: &KafkaCluster, was_changing: bool) -> bool {
        let changing = match self.cluster.step(desired, &self.clients.admin).await {
            Ok(changing) => changing,
            Err(error) => {
                println!(
                    "kafkacluster/{}: {error:#}; trying again",
                    desired.name_any()
                );
                true
            }
        };
        if was_changing && !changing {
            println!(
                "kafkacluster/{}: the cluster matches its spec",
                desired.name_any()
            );
            let plan = self.cluster.plan();
            super::record_cluster(&self.store, desired, plan, Some(&self.clients.admin)).await;
        }
        changing
    }

    /// Brings the stored resources of kind `K` in line with `applied`, reconciling those
    /// that are due and finalizing those no longer applied.
    async fn sync<K: Reconciled>(&self, applied: &[K], schedules: &mut BTreeMap<String, Schedule>) {
        let stored = match self.store.all::<K>() {
            Ok(stored) => stored,
            Err(error) => {
                println!("cannot read the stored {}: {error:#}", K::PLURAL);
                return;
            }
        };
        let now = now();
        let mut current: Vec<K> = Vec::new();
        for resource in applied {
            let name = resource.name_any();
            let previous = stored.iter().find(|s| s.name_any() == name);
            let schedule = schedules.entry(name.clone()).or_insert_with(Schedule::new);
            match admit(previous, resource, &now) {
                Admission::Accepted(admitted) => {
                    schedule.due = Instant::now();
                    schedule.refused = None;
                    schedule.backoff.reset();
                    current.push(admitted);
                }
                Admission::Unchanged(admitted) => {
                    if schedule.refused.take().is_some() {
                        schedule.due = Instant::now();
                    }
                    current.push(admitted);
                }
                Admission::Refused { stored, message } => {
                    if schedule.refused.as_ref() != Some(&message) {
                        let refused = stored.refused(message.clone(), &now);
                        self.save_and_report(previous, &refused);
                        schedule.refused = Some(message);
                    }
                }
            }
        }
        for resource in &current {
            let schedule = schedules
                .get_mut(&resource.name_any())
                .expect("scheduled above");
            if schedule.refused.is_some() || schedule.due > Instant::now() {
                continue;
            }
            let previous = stored.iter().find(|s| s.name_any() == resource.name_any());
            let (reconciled, next) = resource.reconcile(&self.clients, &current, &now).await;
            self.save_and_report(previous.or(Some(resource)), &reconciled);
            schedule.due = Instant::now()
                + match next {
                    Next::Resync | Next::Stuck => {
                        schedule.backoff.reset();
                        self.resync
                    }
                    Next::Progressing => PROGRESS_INTERVAL,
                    Next::Retry => schedule.backoff.next_delay(),
                };
        }
        for gone in stored
            .iter()
            .filter(|s| !applied.iter().any(|a| a.name_any() == s.name_any()))
        {
            let name = gone.name_any();
            let schedule = schedules.entry(name.clone()).or_insert_with(Schedule::new);
            if schedule.due > Instant::now() {
                continue;
            }
            match gone.finalize(&self.clients).await {
                Ok(done) => {
                    println!("{}/{name}: deleted; {done}", K::SINGULAR);
                    if let Err(error) = self.store.remove::<K>(&name) {
                        println!(
                            "{}/{name}: cannot remove it from the store: {error}",
                            K::SINGULAR
                        );
                    }
                    schedules.remove(&name);
                }
                Err(error) => {
                    println!(
                        "{}/{name}: deleting it failed, retrying: {error}",
                        K::SINGULAR
                    );
                    schedule.due = Instant::now() + schedule.backoff.next_delay();
                }
            }
        }
    }

    /// Stores `resource` and prints its `Ready` condition when it differs from `before`'s.
    fn save_and_report<K: Reconciled>(&self, before: Option<&K>, resource: &K) {
        if let Err(error) = self.store.save(resource) {
            println!(
                "{}/{}: cannot store its status: {error}",
                K::SINGULAR,
                resource.name_any()
            );
        }
        let shown = |c: Option<&Condition>| {
            c.map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        };
        let after = resource.ready();
        if shown(before.and_then(K::ready)) != shown(after) || before.is_none() {
            if let Some(ready) = after {
                println!(
                    "{}/{}: Ready={} {}: {}",
                    K::SINGULAR,
                    resource.name_any(),
                    ready.status,
                    ready.reason,
                    ready.message
                );
            }
        }
    }
}

fn now() -> Time {
    Time(Timestamp::now())
}

/// A kind the control loop reconciles.
trait Reconciled: Stored {
    const SINGULAR: &'static str;

    /// The `Ready` condition of the status, if any.
    fn ready(&self) -> Option<&Condition>;

    /// This resource with a status saying its edit was refused by the update rules.
    fn refused(&self, message: String, now: &Time) -> Self;

    /// One reconcile; `all` are every resource of the kind, for conflicts between them.
    async fn reconcile(&self, clients: &Clients, all: &[Self], now: &Time) -> (Self, Next);

    /// Removes what the resource made, as it asks; says what was done.
    async fn finalize(&self, clients: &Clients) -> Result<String, String>;
}

/// The `Ready` condition among `conditions`.
fn ready_in(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

/// The refusal for a resource naming another cluster than the one this runtime runs.
fn other_cluster(spec_cluster: &str, clients: &Clients) -> Option<String> {
    (spec_cluster != clients.cluster).then(|| {
        format!(
            "spec.cluster is {spec_cluster} but this runtime runs the KafkaCluster {}; set spec.cluster to {}",
            clients.cluster, clients.cluster
        )
    })
}

impl Reconciled for Topic {
    const SINGULAR: &'static str = "topic";

    fn ready(&self) -> Option<&Condition> {
        ready_in(&self.status.as_ref()?.conditions)
    }

    fn refused(&self, message: String, now: &Time) -> Topic {
        let mut refused = self.clone();
        refused.status = Some(topic::failed(self, topic::reason::INVALID, message, now));
        refused
    }

    async fn reconcile(&self, clients: &Clients, all: &[Topic], now: &Time) -> (Topic, Next) {
        let mut reconciled = self.clone();
        let refusal = other_cluster(&self.spec.cluster, clients)
            .map(|message| (common::CLUSTER_NOT_FOUND, message))
            .or_else(|| {
                topic::conflict(self, all)
                    .map(|message| (topic::reason::RESOURCE_CONFLICT, message))
            });
        if let Some((reason, message)) = refusal {
            reconciled.status = Some(topic::failed(self, reason, message, now));
            return (reconciled, Next::Stuck);
        }
        let outcome = topic_admin::reconcile(self, &clients.admin, now).await;
        let next = match &outcome.error {
            Some(error) if error.is_retriable() => Next::Retry,
            Some(_) => Next::Stuck,
            None if ready_in(&outcome.status.conditions)
                .is_some_and(|c| c.reason == topic::reason::REASSIGNING) =>
            {
                Next::Progressing
            }
            None => Next::Resync,
        };
        reconciled.status = Some(outcome.status);
        (reconciled, next)
    }

    async fn finalize(&self, clients: &Clients) -> Result<String, String> {
        topic_admin::delete(self, &clients.admin)
            .await
            .map_err(|error| error.to_string())
    }
}

impl Reconciled for KsqlStream {
    const SINGULAR: &'static str = "ksqlstream";

    fn ready(&self) -> Option<&Condition> {
        ready_in(&self.status.as_ref()?.conditions)
    }

    fn refused(&self, message: String, now: &Time) -> KsqlStream {
        let mut refused = self.clone();
        refused.status = Some(crate::reconcile::ksql_stream::failed(
            self,
            crate::reconcile::ksql_stream::reason::INVALID,
            message,
            now,
        ));
        refused
    }

    async fn reconcile(
        &self,
        clients: &Clients,
        _: &[KsqlStream],
        now: &Time,
    ) -> (KsqlStream, Next) {
        use crate::reconcile::ksql_stream::failed;
        let mut reconciled = self.clone();
        let refusal = other_cluster(&self.spec.cluster, clients)
            .map(|message| (common::CLUSTER_NOT_FOUND, message))
            .or_else(|| {
                clients.ksql.is_none().then(|| {
                    (
                        common::KSQL_NOT_RUNNING,
                        format!(
                            "the KafkaCluster {} runs no ksql server; set spec.ksql.replicas to 1",
                            clients.cluster
                        ),
                    )
                })
            });
        if let Some((reason, message)) = refusal {
            reconciled.status = Some(failed(self, reason, message, now));
            return (reconciled, Next::Stuck);
        }
        let client = clients.ksql.as_ref().expect("checked above");
        let outcome = ksql_rest::reconcile(self, client, now).await;
        let next = match &outcome.error {
            Some(error) if error.is_retriable() => Next::Retry,
            Some(_) => Next::Stuck,
            None => Next::Resync,
        };
        reconciled.status = Some(outcome.status);
        (reconciled, next)
    }

    async fn finalize(&self, clients: &Clients) -> Result<String, String> {
        let Some(client) = clients.ksql.as_ref() else {
            return Ok("the cluster runs no ksql server, so nothing was left on one".into());
        };
        ksql_rest::delete(self, client)
            .await
            .map(|()| "its query terminated and its source dropped".into())
            .map_err(|error| error.to_string())
    }
}
