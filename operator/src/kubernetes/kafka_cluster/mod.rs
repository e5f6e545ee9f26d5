//! One reconcile of a `KafkaCluster` on Kubernetes: its objects applied ([`objects`]),
//! then at most one step of a change that needs care — a broker drained before its
//! StatefulSet shrinks, or one pod restarted for a new config or image ([`roll`]) — and the
//! status written: ready counts, the bootstrap servers, the cluster id, the quorum's
//! leader, and the conditions `Ready`, `Progressing` and `Degraded`.
//!
//! What cannot be done is said in status, not done: a coordinator count change (the quorum
//! has no membership change), a listener type the operator does not expose.

pub mod objects;
pub mod observe;
pub mod roll;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Client, Resource, ResourceExt};
use potok_client::AdminClient;
use serde::de::DeserializeOwned;
use serde::Serialize;

use self::objects::{Objects, Replicas, Role, INSTANCE_LABEL};
use self::roll::Next;
use super::{
    announce, conditions_of, key, now, patch_status, Context, Error, FIELD_MANAGER,
    PROGRESS_INTERVAL,
};
use crate::reconcile::condition::{condition, set_condition, READY};
use crate::reconcile::roll::admin::{move_partitions, observe_partitions, Moving};
use crate::reconcile::roll::{drain_targets, PartitionState};
use crate::resources::cluster::{validate, KafkaClusterStatus};
use crate::resources::KafkaCluster;

/// The conditions a KafkaCluster reports besides `Ready`.
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

/// The reasons of its conditions.
pub mod reason {
    pub const RUNNING: &str = "Running";
    pub const SETTLED: &str = "Settled";
    pub const AS_EXPECTED: &str = "AsExpected";
    /// Pods are starting or not ready yet.
    pub const STARTING: &str = "Starting";
    /// Pods restart one at a time for a new config or image.
    pub const ROLLING: &str = "Rolling";
    /// Brokers being removed hand their replicas to the others first.
    pub const DRAINING_BROKERS: &str = "DrainingBrokers";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const NOT_SUPPORTED: &str = "NotSupported";
    /// `spec.coordinators.replicas` changed on a running quorum.
    pub const QUORUM_SIZE_FIXED: &str = "QuorumSizeFixed";
    /// A pod cannot start (crash loop, no node for it) and a restart would not help.
    pub const STUCK_PODS: &str = "StuckPods";
}

/// A condition's reason and message.
type Said = (&'static str, String);

/// Applies `cluster`'s objects, takes one careful step of a change under way, and writes
/// the status.
pub async fn reconcile_kafka_cluster(
    cluster: Arc<KafkaCluster>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let key = key(cluster.as_ref());
    let namespace = cluster
        .namespace()
        .ok_or_else(|| Error::NoNamespace(key.clone()))?;
    let name = cluster.name_any();
    let api: Api<KafkaCluster> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Err(message) = validate(&cluster.spec) {
        return refuse(&cluster, &api, ctx.as_ref(), reason::INVALID_SPEC, message).await;
    }
    let mut degraded: Vec<Said> = Vec::new();
    let sets_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let live_replicas = |set: Option<StatefulSet>| set?.spec.replicas.map(|r| r as u32);
    let live_coordinators = live_replicas(
        sets_api
            .get_opt(&objects::workload_name(&name, Role::Coordinator))
            .await?,
    );
    let live_brokers = live_replicas(
        sets_api
            .get_opt(&objects::workload_name(&name, Role::Broker))
            .await?,
    );
    let spec_coordinators = cluster.spec.coordinators.replicas;
    let coordinators = match live_coordinators {
        Some(live) if live != spec_coordinators => {
            degraded.push((
                reason::QUORUM_SIZE_FIXED,
                format!("spec.coordinators.replicas stays {live}, not {spec_coordinators}: the metadata quorum cannot change its members while it runs; set it back to {live}, or create a new KafkaCluster for another quorum size"),
            ));
            live
        }
        _ => spec_coordinators,
    };
    let spec_brokers = cluster.spec.brokers.replicas;
    let draining = live_brokers.filter(|&live| live > spec_brokers);
    let replicas = Replicas {
        coordinators,
        brokers: draining.unwrap_or(spec_brokers),
    };
    let objects = match objects::desired(&cluster, &ctx.default_image, replicas) {
        Ok(objects) => objects,
        Err(message) => {
            return refuse(&cluster, &api, ctx.as_ref(), reason::NOT_SUPPORTED, message).await
        }
    };
    let sets = apply(&ctx.client, &namespace, &objects).await?;
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &namespace)
        .list(&ListParams::default().labels(&format!("{INSTANCE_LABEL}={name}")))
        .await?
        .items;
    let mut ready_counts = BTreeMap::new();
    for role in pods
        .iter()
        .filter(|pod| observe::is_ready(pod))
        .filter_map(objects::role_of)
    {
        *ready_counts.entry(role).or_insert(0u32) += 1;
    }
    let ready = |role: Role| ready_counts.get(&role).copied().unwrap_or(0);
    let bootstrap = objects::bootstrap_servers(&cluster).expect("checked by desired()");
    let admin = ctx.connect.admin(&bootstrap).ok();
    let partitions = match &admin {
        Some(admin) if ready(Role::Broker) > 0 => observe_partitions(admin).await.ok(),
        _ => None,
    };
    let quorum = observe::scrape_quorum(&pods).await;

    let progress = match (draining, &admin) {
        (Some(live), Some(admin)) => {
            Some(drain(&cluster, &ctx, admin, partitions.as_deref(), live, replicas).await?)
        }
        (Some(_), None) => Some((
            reason::DRAINING_BROKERS,
            "waiting for the brokers to answer before moving replicas".to_string(),
        )),
        (None, _) => {
            roll_step(
                &cluster,
                &ctx,
                &pods,
                &sets,
                &quorum,
                partitions.as_deref(),
                &mut degraded,
            )
            .await?
        }
    };
    let ksql = cluster.spec.ksql.as_ref().map_or(0, |ksql| ksql.replicas);
    let ui = cluster
        .spec
        .ui
        .as_ref()
        .filter(|ui| ui.enabled)
        .map_or(0, |ui| ui.replicas);
    let counts = [
        (Role::Coordinator, coordinators),
        (Role::Broker, replicas.brokers),
        (Role::Ksql, ksql),
        (Role::Ui, ui),
    ];
    let starting: Vec<String> = counts
        .iter()
        .filter(|(role, wanted)| ready(*role) < *wanted)
        .map(|(role, wanted)| format!("{} of {wanted} {}(s) ready", ready(*role), role.component()))
        .collect();
    let progress = progress
        .or_else(|| (!starting.is_empty()).then(|| (reason::STARTING, starting.join(", "))));

    let cluster_id = match &admin {
        Some(admin) if ready(Role::Broker) > 0 => admin
            .describe_cluster()
            .await
            .ok()
            .and_then(|d| d.cluster_id),
        _ => None,
    };
    let mut status = cluster.status.clone().unwrap_or_default();
    status.observed_generation = cluster.metadata.generation;
    status.ready_coordinators = Some(ready(Role::Coordinator));
    status.ready_brokers = Some(ready(Role::Broker));
    status.ready_ksql = Some(ready(Role::Ksql));
    status.quorum_leader = quorum.leader.or(status.quorum_leader);
    status.cluster_id = cluster_id.or(status.cluster_id);
    if ready(Role::Broker) > 0 {
        status.bootstrap_servers = Some(bootstrap);
    }
    let summary = format!(
        "{coordinators} coordinator(s), {} broker(s) and {ksql} ksql server(s) ready",
        replicas.brokers
    );
    set_conditions(
        &mut status,
        cluster.metadata.generation,
        progress.as_ref(),
        &degraded,
        summary,
    );
    patch_status(&api, cluster.as_ref(), &status).await?;
    let before = conditions_of(cluster.status.as_ref(), |s| &s.conditions);
    announce(&ctx, cluster.as_ref(), &before, &status.conditions).await;
    let settled = progress.is_none() && degraded.is_empty();
    match &progress {
        Some((why, message)) => tracing::info!("{key}: {why}: {message}"),
        None if settled => tracing::info!("{key}: the cluster matches its spec"),
        None => {}
    }
    for (why, message) in &degraded {
        tracing::warn!("{key}: {why}: {message}");
    }
    Ok(Action::requeue(if progress.is_some() {
        PROGRESS_INTERVAL
    } else {
        ctx.resync
    }))
}

/// Writes the three conditions from what is under way and what is wrong.
fn set_conditions(
    status: &mut KafkaClusterStatus,
    generation: Option<i64>,
    progress: Option<&Said>,
    degraded: &[Said],
    summary: String,
) {
    let at = now();
    let (ready, ready_reason, ready_message) = match (progress, degraded.first()) {
        (_, Some((why, message))) => (false, *why, message.clone()),
        (Some((why, message)), None) => (false, *why, message.clone()),
        (None, None) => (true, reason::RUNNING, summary),
    };
    let conditions = &mut status.conditions;
    set_condition(
        conditions,
        condition(READY, ready, ready_reason, ready_message, generation, &at),
    );
    let (progressing, why, message) = match progress {
        Some((why, message)) => (true, *why, message.clone()),
        None => (false, reason::SETTLED, "no change under way".to_string()),
    };
    set_condition(
        conditions,
        condition(PROGRESSING, progressing, why, message, generation, &at),
    );
    let (why, message) = match degraded {
        [] => (reason::AS_EXPECTED, "nothing is wrong".to_string()),
        [(why, _), ..] => (
            *why,
            degraded
                .iter()
                .map(|(_, message)| message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    set_condition(
        conditions,
        condition(
            DEGRADED,
            !degraded.is_empty(),
            why,
            message,
            generation,
            &at,
        ),
    );
}

/// Reports a spec that cannot be built, leaving what runs as it is.
async fn refuse(
    cluster: &KafkaCluster,
    api: &Api<KafkaCluster>,
    ctx: &Context,
    why: &'static str,
    message: String,
) -> Result<Action, Error> {
    tracing::warn!("{}: {why}: {message}", key(cluster));
    let mut status = cluster.status.clone().unwrap_or_default();
    status.observed_generation = cluster.metadata.generation;
    let degraded = [(why, message)];
    set_conditions(
        &mut status,
        cluster.metadata.generation,
        None,
        &degraded,
        String::new(),
    );
    patch_status(api, cluster, &status).await?;
    let before = conditions_of(cluster.status.as_ref(), |s| &s.conditions);
    announce(ctx, cluster, &before, &status.conditions).await;
    Ok(Action::requeue(ctx.resync))
}

/// Applies every object with server-side apply, returning the StatefulSets as the API
/// server answered (their status says which revision is current).
async fn apply(
    client: &Client,
    namespace: &str,
    objects: &Objects,
) -> Result<BTreeMap<Role, StatefulSet>, Error> {
    for object in &objects.config_maps {
        apply_one(client, namespace, object).await?;
    }
    for object in &objects.services {
        apply_one(client, namespace, object).await?;
    }
    let mut sets = BTreeMap::new();
    for object in &objects.stateful_sets {
        let applied = apply_one(client, namespace, object).await?;
        if let Some(role) = objects::role_of(&applied) {
            sets.insert(role, applied);
        }
    }
    for object in &objects.deployments {
        apply_one(client, namespace, object).await?;
    }
    for object in &objects.disruption_budgets {
        apply_one(client, namespace, object).await?;
    }
    Ok(sets)
}

async fn apply_one<K>(client: &Client, namespace: &str, object: &K) -> Result<K, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Ok(api
        .patch(&object.name_any(), &params, &Patch::Apply(object))
        .await?)
}

/// One step of removing brokers: their replicas move to the remaining brokers through a
/// reassignment, and once they hold none the StatefulSet shrinks.
async fn drain(
    cluster: &KafkaCluster,
    ctx: &Context,
    admin: &AdminClient,
    partitions: Option<&[PartitionState]>,
    live: u32,
    replicas: Replicas,
) -> Result<Said, Error> {
    let wanted = cluster.spec.brokers.replicas;
    let removed: Vec<i32> = (wanted..live).map(|o| Role::Broker.node_id(o)).collect();
    let remaining: Vec<i32> = (0..wanted).map(|o| Role::Broker.node_id(o)).collect();
    let named = removed
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let Some(partitions) = partitions else {
        return Ok((
            reason::DRAINING_BROKERS,
            format!("broker(s) {named} are to be removed; waiting for the brokers to report their partitions"),
        ));
    };
    let moves = drain_targets(partitions, &removed, &remaining);
    if moves.is_empty() {
        let shrunk = Replicas {
            brokers: wanted,
            ..replicas
        };
        let objects = objects::desired(cluster, &ctx.default_image, shrunk)
            .map_err(Error::ClusterNotReady)?;
        let namespace = cluster.namespace().unwrap_or_default();
        for set in objects
            .stateful_sets
            .iter()
            .filter(|s| s.name_any().ends_with("-broker"))
        {
            apply_one(&ctx.client, &namespace, set).await?;
        }
        let message = format!("broker(s) {named} hold no replica any more; the brokers' StatefulSet shrinks to {wanted}");
        ctx.publish(cluster, EventType::Normal, "ScaledDown", &message)
            .await;
        return Ok((reason::DRAINING_BROKERS, message));
    }
    let message = match move_partitions(admin, &moves)
        .await
        .map_err(Error::Brokers)?
    {
        Moving::Started(count) => {
            let message = format!("moving {count} partition(s) off broker(s) {named}");
            ctx.publish(cluster, EventType::Normal, "DrainingBrokers", &message)
                .await;
            message
        }
        Moving::StillMoving(count) => {
            format!("draining broker(s) {named}: {count} partition(s) still moving")
        }
        Moving::Refused(partition, error) => {
            format!("moving {partition} off broker(s) {named} failed: {error}; retrying")
        }
    };
    Ok((reason::DRAINING_BROKERS, message))
}

/// One step of a roll: restarts the next pod when it is safe, and says what waits.
async fn roll_step(
    cluster: &KafkaCluster,
    ctx: &Context,
    pods: &[Pod],
    sets: &BTreeMap<Role, StatefulSet>,
    quorum: &roll::QuorumView,
    partitions: Option<&[PartitionState]>,
    degraded: &mut Vec<Said>,
) -> Result<Option<Said>, Error> {
    let Some(views) = observe::pod_views(pods, sets) else {
        return Ok(Some((
            reason::ROLLING,
            "the StatefulSets have not taken in their new template yet".into(),
        )));
    };
    let stuck: Vec<String> = views
        .iter()
        .filter(|v| !v.outdated)
        .filter_map(|v| Some(format!("{} ({})", v.name, v.stuck.as_deref()?)))
        .collect();
    if !stuck.is_empty() {
        degraded.push((
            reason::STUCK_PODS,
            format!(
                "pod(s) cannot run: {}; see kubectl describe pod",
                stuck.join(", ")
            ),
        ));
    }
    let brokers_due = views.iter().any(|v| v.role == Role::Broker && v.outdated);
    if brokers_due && partitions.is_none() {
        return Ok(Some((
            reason::ROLLING,
            "brokers are due a restart, but the brokers cannot be asked which replicas are in sync"
                .into(),
        )));
    }
    match roll::next(&views, quorum, partitions.unwrap_or_default()) {
        Next::Settled => Ok(None),
        Next::Wait(why) => Ok(Some((reason::ROLLING, why))),
        Next::Restart { pod, why } => {
            let namespace = cluster.namespace().unwrap_or_default();
            Api::<Pod>::namespaced(ctx.client.clone(), &namespace)
                .delete(&pod, &DeleteParams::default())
                .await?;
            let message = format!("restarted {pod}: {why}");
            ctx.publish(cluster, EventType::Normal, "Restarted", &message)
                .await;
            Ok(Some((reason::ROLLING, message)))
        }
    }
}
