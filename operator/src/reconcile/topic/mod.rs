//! The Topic reconciler's decisions: from a `Topic` resource and the live topic as observed,
//! the ordered actions that make the live topic match the spec and the status to report once
//! they are done.
//!
//! What Kafka users expect, and what this decides:
//! - An absent topic is created (again, when it was deleted outside the operator).
//! - Partitions grow; they never shrink, so a live topic with more partitions than the spec
//!   (a lowered spec, or partitions added by hand) is left alone with `Ready=False`,
//!   `NotSupported` and a message saying what to do.
//! - Configs set on the topic become exactly the spec's: changed or hand-made values are set
//!   back, configs not in the spec are deleted (back to the broker's default).
//! - A `replicas` change moves partitions through a reassignment ([`replicas`] chooses the
//!   new replica lists), reported as `Reassigning` until every partition has its target;
//!   more replicas than the cluster has brokers is refused (`NotEnoughBrokers`).
//! - A live topic this resource did not create is left alone (`NotOwned`) unless the resource
//!   asks to adopt it with the annotation [`ADOPT_ANNOTATION`].
//!
//! Ownership is recorded in the status: `status.topicName` is set once this resource creates
//! or adopts the topic, `status.topicId` once it has seen the live topic's id. A live topic
//! with another id was deleted and created again by someone else, and is not adopted silently.
//!
//! [`admin`] is the thin layer that observes the live topic and carries out a plan through
//! potok-client.

pub mod admin;
mod config;
pub mod replicas;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

pub use config::{config_changes, ConfigChanges, MIN_INSYNC_REPLICAS};

use super::condition::{ready, set_condition};
use crate::resources::topic::{validate, Topic, TopicStatus, TOPIC_NAME_IMMUTABLE};

/// The annotation that lets a `Topic` take over a live topic it did not create, when its
/// value is `"true"`.
pub const ADOPT_ANNOTATION: &str = "potok.dev/adopt";

/// The finalizer that keeps a deleted `Topic` until its live topic is deleted (or
/// retained, as its deletion policy says).
pub const FINALIZER: &str = "potok.dev/topic";

/// The reasons of the `Ready` condition of a `Topic`.
pub mod reason {
    /// The topic was created.
    pub const CREATED: &str = "Created";
    /// The topic is claimed and about to be created.
    pub const CREATING: &str = "Creating";
    /// The live topic was changed to match the spec.
    pub const UPDATED: &str = "Updated";
    /// The live topic already matched the spec.
    pub const UP_TO_DATE: &str = "UpToDate";
    /// An existing topic was taken over through the adopt annotation.
    pub const ADOPTED: &str = "Adopted";
    /// The spec breaks the Topic's rules.
    pub const INVALID: &str = "Invalid";
    /// The spec asks for something Kafka cannot do (fewer partitions).
    pub const NOT_SUPPORTED: &str = "NotSupported";
    /// Partitions are being moved to the spec's replica count.
    pub const REASSIGNING: &str = "Reassigning";
    /// The spec asks for more replicas than the cluster has brokers.
    pub const NOT_ENOUGH_BROKERS: &str = "NotEnoughBrokers";
    /// The live topic exists but was not created by this resource.
    pub const NOT_OWNED: &str = "NotOwned";
    /// An older Topic resource manages the same live topic.
    pub const RESOURCE_CONFLICT: &str = "ResourceConflict";
}

/// Where a live config's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic itself (Kafka's `DYNAMIC_TOPIC_CONFIG`), by the operator or by hand.
    Topic,
    /// Inherited: a broker setting or Kafka's built-in default.
    Default,
}

/// One config of the live topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// `None` when the broker hides it (sensitive) or has no value.
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// The live topic as observed through the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTopic {
    /// The topic id Kafka assigned.
    pub id: String,
    /// Each partition's replicas, by partition index; for a partition being reassigned,
    /// the replicas it will have.
    pub partition_replicas: Vec<Vec<i32>>,
    /// How many partitions a reassignment is moving now.
    pub reassigning: usize,
    /// The cluster's live brokers, which may receive replicas.
    pub brokers: Vec<i32>,
    /// Every config DescribeConfigs reports, by name.
    pub configs: BTreeMap<String, LiveConfig>,
}

impl ObservedTopic {
    /// The partition count.
    pub fn partitions(&self) -> i32 {
        self.partition_replicas.len() as i32
    }

    /// The replication factor of each partition, by partition index.
    pub fn replication_factors(&self) -> Vec<i32> {
        self.partition_replicas
            .iter()
            .map(|replicas| replicas.len() as i32)
            .collect()
    }

    /// The smallest replication factor of any partition: the durability the topic has.
    pub fn replicas(&self) -> i32 {
        self.replication_factors().into_iter().min().unwrap_or(0)
    }
}

/// One change to the live topic, in the order a plan lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicAction {
    CreateTopic {
        name: String,
        partitions: i32,
        replicas: i32,
        configs: BTreeMap<String, String>,
    },
    /// Grow the topic to `total` partitions.
    CreatePartitions { total: i32 },
    /// IncrementalAlterConfigs: set these, delete those (back to their defaults).
    AlterConfigs {
        set: BTreeMap<String, String>,
        delete: Vec<String>,
    },
    /// AlterPartitionReassignments: move these partitions (by index) to these replicas.
    Reassign { targets: BTreeMap<i32, Vec<i32>> },
}

/// What to do for one `Topic`, and what its status is once it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicPlan {
    /// The live topic's name.
    pub topic_name: String,
    pub actions: Vec<TopicAction>,
    pub status: TopicStatus,
}

/// Whether `topic`'s status already claims the live topic `name` (it created or adopted it).
pub fn claims(topic: &Topic, name: &str) -> bool {
    topic.status.as_ref().and_then(|s| s.topic_name.as_deref()) == Some(name)
}

/// The status that claims `name` for `topic` before the topic is created: written first, so
/// a crash between creating the topic and reporting it does not leave a topic this resource
/// made looking like someone else's (`NotOwned`).
pub fn claim(topic: &Topic, name: &str, now: &Time) -> TopicStatus {
    let generation = topic.metadata.generation;
    let mut status = topic.status.clone().unwrap_or_default();
    status.topic_name = Some(name.to_owned());
    status.observed_generation = generation;
    set_condition(
        &mut status.conditions,
        ready(
            false,
            reason::CREATING,
            format!("creating topic {name}"),
            generation,
            now,
        ),
    );
    status
}

/// The live topic's name for `topic`: `spec.topicName`, else the resource's name.
pub fn topic_name(topic: &Topic) -> String {
    topic
        .spec
        .topic_name
        .clone()
        .unwrap_or_else(|| topic.name_any())
}

/// Decides what to do for `topic` given the live topic (`None` when absent), as of `now`.
pub fn plan(topic: &Topic, observed: Option<&ObservedTopic>, now: &Time) -> TopicPlan {
    let name = topic_name(topic);
    let generation = topic.metadata.generation;
    let mut status = topic.status.clone().unwrap_or_default();
    let decision = decide(topic, &name, &status, observed);
    status.observed_generation = generation;
    if let Some(managed) = decision.managed {
        status.topic_name = Some(name.clone());
        status.topic_id = managed.id;
        status.partitions = Some(managed.partitions);
        status.replicas = Some(managed.replicas);
    }
    let condition = ready(
        decision.ready,
        decision.reason,
        decision.message,
        generation,
        now,
    );
    set_condition(&mut status.conditions, condition);
    TopicPlan {
        topic_name: name,
        actions: decision.actions,
        status,
    }
}

/// Why `topic` may not manage its live topic when another resource of `all` names the same
/// topic on the same cluster: the oldest (by creation time, then name) keeps it, and the
/// newer ones are refused, as Strimzi refuses a second KafkaTopic for one topic.
pub fn conflict(topic: &Topic, all: &[Topic]) -> Option<String> {
    let name = topic_name(topic);
    let claim = |t: &Topic| (t.metadata.creation_timestamp.clone(), t.name_any());
    let older = all
        .iter()
        .filter(|other| {
            other.name_any() != topic.name_any()
                && other.spec.cluster == topic.spec.cluster
                && topic_name(other) == name
        })
        .filter(|other| claim(other) < claim(topic))
        .min_by_key(|other| claim(other))?;
    Some(format!(
        "topic {name} is managed by the older Topic {}; delete this Topic, or give it another spec.topicName",
        older.name_any()
    ))
}

/// The status of `topic` when a reconcile failed with `reason` and `message` before its
/// plan was carried out: `Ready=False`, and the last seen topic as it was.
pub fn failed(topic: &Topic, reason: &str, message: String, now: &Time) -> TopicStatus {
    let generation = topic.metadata.generation;
    let mut status = topic.status.clone().unwrap_or_default();
    status.observed_generation = generation;
    set_condition(
        &mut status.conditions,
        ready(false, reason, message, generation, now),
    );
    status
}

/// The outcome of one reconcile before it is written into the status.
struct Decision {
    actions: Vec<TopicAction>,
    ready: bool,
    reason: &'static str,
    message: String,
    /// The live topic once the actions are done, when this resource manages it; `None`
    /// leaves the status' description of the topic as it was.
    managed: Option<Managed>,
}

struct Managed {
    /// `None` until the live topic has been observed after its creation.
    id: Option<String>,
    partitions: i32,
    replicas: i32,
}

impl Decision {
    /// Nothing to do: the resource cannot be reconciled as it stands.
    fn refuse(reason: &'static str, message: String) -> Decision {
        Decision {
            actions: Vec::new(),
            ready: false,
            reason,
            message,
            managed: None,
        }
    }
}

fn decide(
    topic: &Topic,
    name: &str,
    previous: &TopicStatus,
    observed: Option<&ObservedTopic>,
) -> Decision {
    if let Err(message) = validate(&topic.spec) {
        return Decision::refuse(reason::INVALID, message);
    }
    if previous.topic_name.as_deref().is_some_and(|n| n != name) {
        return Decision::refuse(reason::INVALID, TOPIC_NAME_IMMUTABLE.into());
    }
    let Some(live) = observed else {
        return create(topic, name, previous);
    };
    match ownership(topic, name, previous, live) {
        Ok(ownership) => update(topic, name, live, ownership),
        Err(message) => Decision::refuse(reason::NOT_OWNED, message),
    }
}

fn create(topic: &Topic, name: &str, previous: &TopicStatus) -> Decision {
    let spec = &topic.spec;
    let message = if previous.topic_id.is_some() {
        format!("created topic {name} again: it was deleted outside the operator")
    } else {
        format!(
            "created topic {name} with {} partitions and {} replicas",
            spec.partitions, spec.replicas
        )
    };
    Decision {
        actions: vec![TopicAction::CreateTopic {
            name: name.to_owned(),
            partitions: spec.partitions,
            replicas: spec.replicas,
            configs: spec.config.clone(),
        }],
        ready: true,
        reason: reason::CREATED,
        message,
        managed: Some(Managed {
            id: None,
            partitions: spec.partitions,
            replicas: spec.replicas,
        }),
    }
}

/// How this resource comes to manage a live topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// It created the topic (or adopted it before).
    Created,
    /// It takes the topic over now, through the adopt annotation.
    Adopting,
}

/// Whether this resource manages `live`, or why not.
fn ownership(
    topic: &Topic,
    name: &str,
    previous: &TopicStatus,
    live: &ObservedTopic,
) -> Result<Ownership, String> {
    let claimed = previous.topic_name.as_deref() == Some(name);
    let same_topic = previous.topic_id.as_ref().is_none_or(|id| *id == live.id);
    if claimed && same_topic {
        return Ok(Ownership::Created);
    }
    let annotation = topic.annotations().get(ADOPT_ANNOTATION);
    if annotation.map(String::as_str) == Some("true") {
        return Ok(Ownership::Adopting);
    }
    let how_to_adopt = format!(
        "to manage it from this Topic (its partitions and config then follow the spec), add the annotation {ADOPT_ANNOTATION}: \"true\""
    );
    Err(match &previous.topic_id {
        Some(id) if claimed => format!(
            "topic {name} was deleted and created again outside the operator (id {id}, now {}); {how_to_adopt}",
            live.id
        ),
        _ => format!("topic {name} already exists and was not created by this Topic; {how_to_adopt}"),
    })
}

/// The changes to a live topic this resource manages: partitions, then configs, then the
/// replicas intent.
fn update(topic: &Topic, name: &str, live: &ObservedTopic, ownership: Ownership) -> Decision {
    let spec = &topic.spec;
    let live_partitions = live.partitions();
    let managed = Managed {
        id: Some(live.id.clone()),
        partitions: live_partitions.max(spec.partitions),
        replicas: live.replicas(),
    };
    if live_partitions > spec.partitions {
        return refuse_fewer_partitions(name, live_partitions, spec.partitions, managed);
    }
    let mut actions = Vec::new();
    let mut changes = Vec::new();
    if live_partitions < spec.partitions {
        actions.push(TopicAction::CreatePartitions {
            total: spec.partitions,
        });
        changes.push(format!(
            "partitions {live_partitions} → {}",
            spec.partitions
        ));
    }
    let configs = config_changes(&spec.config, live);
    changes.extend(configs.describe(live));
    let held_back = configs.held_back_min_insync_replicas.clone();
    if !configs.is_empty() {
        actions.push(TopicAction::AlterConfigs {
            set: configs.set,
            delete: configs.delete,
        });
    }
    let what_changed = if changes.is_empty() {
        String::new()
    } else {
        format!("; {}", changes.join("; "))
    };
    if let Some(mut decision) = replicas_change(spec.replicas, name, live, &what_changed, held_back)
    {
        actions.append(&mut decision.actions);
        decision.actions = actions;
        decision.managed = Some(managed);
        return decision;
    }
    let (reason, message) = match (ownership, changes.is_empty()) {
        (Ownership::Adopting, _) => (
            reason::ADOPTED,
            format!("adopted topic {name}{what_changed}"),
        ),
        (Ownership::Created, false) => (
            reason::UPDATED,
            format!("updated topic {name}{what_changed}"),
        ),
        (Ownership::Created, true) => (
            reason::UP_TO_DATE,
            format!(
                "topic {name} has {live_partitions} partitions, {} replicas and the spec's config",
                managed.replicas
            ),
        ),
    };
    Decision {
        actions,
        ready: true,
        reason,
        message,
        managed: Some(managed),
    }
}

/// A live topic with more partitions than the spec: a lowered spec, or partitions added by
/// hand. Kafka cannot remove partitions, so nothing is done, not even config changes, until
/// the user chooses.
fn refuse_fewer_partitions(name: &str, live: i32, spec: i32, managed: Managed) -> Decision {
    Decision {
        actions: Vec::new(),
        ready: false,
        reason: reason::NOT_SUPPORTED,
        message: format!(
            "topic {name} has {live} partitions and spec.partitions is {spec}: Kafka cannot remove partitions, so the topic is left as it is; set spec.partitions to {live} to keep this topic, or create a new Topic with {spec} partitions and move producers and consumers to it"
        ),
        managed: Some(managed),
    }
}

/// What a replica count different from the spec's needs: nothing while a reassignment
/// runs (it is reported), a reassignment to start, or a refusal when there are too few
/// brokers. `None` when every partition has the spec's replicas.
fn replicas_change(
    replicas: i32,
    name: &str,
    live: &ObservedTopic,
    what_changed: &str,
    held_back: Option<String>,
) -> Option<Decision> {
    let held_back = held_back
        .map(|value| format!("; {MIN_INSYNC_REPLICAS} {value} waits for it"))
        .unwrap_or_default();
    let progressing = |actions, message| Decision {
        actions,
        ready: false,
        reason: reason::REASSIGNING,
        message,
        managed: None,
    };
    if live.reassigning > 0 {
        return Some(progressing(
            Vec::new(),
            format!(
                "moving the replicas of topic {name}: {} of {} partitions are still catching up{held_back}{what_changed}",
                live.reassigning,
                live.partitions()
            ),
        ));
    }
    if live.replication_factors().iter().all(|&r| r == replicas) {
        return None;
    }
    if live.brokers.len() < replicas as usize {
        return Some(Decision::refuse(
            reason::NOT_ENOUGH_BROKERS,
            format!(
                "spec.replicas is {replicas} but the cluster has {} live broker(s), so topic {name} keeps {}; add brokers or lower spec.replicas{what_changed}",
                live.brokers.len(),
                replicas_text(live)
            ),
        ));
    }
    let targets =
        replicas::replica_targets(&live.partition_replicas, &live.brokers, replicas as usize);
    let moved = targets.len();
    Some(progressing(
        vec![TopicAction::Reassign { targets }],
        format!(
            "started moving {moved} partition(s) of topic {name} from {} to {replicas} replicas{held_back}{what_changed}",
            replicas_text(live)
        ),
    ))
}

/// The live replication factors in words: `3 replicas`, `2 or 3 replicas`.
fn replicas_text(live: &ObservedTopic) -> String {
    let mut factors = live.replication_factors();
    factors.sort_unstable();
    factors.dedup();
    let factors: Vec<String> = factors.iter().map(i32::to_string).collect();
    format!("{} replicas", factors.join(" or "))
}

#[cfg(test)]
mod tests;
