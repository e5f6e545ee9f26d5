//! `Topic`: one Kafka topic of a `KafkaCluster`, with its partitions, replicas and config.
//! The rules here are what Kafka itself would refuse or could never undo: a topic's name is
//! fixed, partitions are never removed, and `min.insync.replicas` above the replica count
//! would make every `acks=all` produce fail.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::cluster::MAX_BROKERS;

/// The most partitions a Topic may ask for: far beyond what one topic on a Potok cluster
/// serves well, and a guard against a typo creating a million.
pub const MAX_PARTITIONS: i32 = 10_000;

pub const CLUSTER_IMMUTABLE: &str = "spec.cluster cannot change: a Topic stays with the cluster it was created on; create a new Topic for another cluster";
pub const TOPIC_NAME_INVALID: &str = "spec.topicName must be 1 to 249 letters, digits, '.', '_' or '-', and not '.' or '..' (Kafka's rule for topic names)";
pub const TOPIC_NAME_IMMUTABLE: &str = "spec.topicName cannot be set, changed or removed after creation: it names the live topic; create a new Topic for another topic name";
pub const PARTITIONS_RANGE: &str = "spec.partitions must be from 1 to 10000";
pub const PARTITIONS_DECREASE: &str = "spec.partitions may not decrease: Kafka cannot remove partitions from a topic; keep at least the current count, or create a new Topic to have fewer";
pub const REPLICAS_RANGE: &str =
    "spec.replicas must be from 1 to 99 (the most brokers a KafkaCluster can have)";
pub const MIN_INSYNC_REPLICAS_NOT_A_NUMBER: &str =
    "spec.config.min.insync.replicas must be a whole number from 1 to 9999, written as a string (\"2\")";
pub const MIN_INSYNC_REPLICAS_ABOVE_REPLICAS: &str = "spec.config.min.insync.replicas may not be above spec.replicas: no partition could ever have that many replicas in sync and every acks=all produce would fail; lower min.insync.replicas or raise replicas";

/// The CEL condition under which `min.insync.replicas` in `config` is well formed.
const MIN_INSYNC_REPLICAS_WELL_FORMED: &str =
    "self['min.insync.replicas'].matches('^[1-9][0-9]{0,3}$')";

/// A topic as it should be.
// Every printcolumn(...) names its type, which clippy takes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "potok.dev",
    version = "v1alpha1",
    kind = "Topic",
    namespaced,
    status = "TopicStatus",
    // `kubectl get topic` works through the singular name already.
    shortname = "kt",
    category = "potok",
    derive = "PartialEq",
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster"),
    printcolumn(name = "Topic", type_ = "string", json_path = ".status.topicName"),
    printcolumn(name = "Partitions", type_ = "integer", json_path = ".spec.partitions"),
    printcolumn(name = "Replicas", type_ = "integer", json_path = ".spec.replicas"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.topicName) == has(oldSelf.topicName) && (!has(self.topicName) || self.topicName == oldSelf.topicName)").message(TOPIC_NAME_IMMUTABLE))]
#[x_kube(validation = Rule::new(format!(
    "!has(self.config) || !('min.insync.replicas' in self.config) || !{} || int(self.config['min.insync.replicas']) <= self.replicas",
    MIN_INSYNC_REPLICAS_WELL_FORMED.replace("self[", "self.config[")
)).message(MIN_INSYNC_REPLICAS_ABOVE_REPLICAS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicSpec {
    /// The name of the KafkaCluster, in this namespace, that holds the topic.
    #[x_kube(validation = Rule::new("self == oldSelf").message(CLUSTER_IMMUTABLE))]
    pub cluster: String,
    /// The topic's name in Kafka (default: `metadata.name`); fixed once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-zA-Z0-9._-]{1,249}$') && self != '.' && self != '..'").message(TOPIC_NAME_INVALID))]
    pub topic_name: Option<String>,
    /// How many partitions; may grow, never shrink.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 10000").message(PARTITIONS_RANGE))]
    #[x_kube(validation = Rule::new("self >= oldSelf").message(PARTITIONS_DECREASE))]
    pub partitions: i32,
    /// How many brokers hold a copy of each partition (the replication factor).
    #[x_kube(validation = Rule::new("self >= 1 && self <= 99").message(REPLICAS_RANGE))]
    pub replicas: i32,
    /// Topic configs under Kafka's names (`min.insync.replicas`, `retention.ms`, ...), as
    /// strings; a key removed here goes back to the broker's default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new(format!("!('min.insync.replicas' in self) || {MIN_INSYNC_REPLICAS_WELL_FORMED}")).message(MIN_INSYNC_REPLICAS_NOT_A_NUMBER))]
    pub config: BTreeMap<String, String>,
    /// What deleting the Topic does to the live topic: `Delete` (the default) deletes it
    /// and its records, `Retain` leaves it in the cluster, unmanaged.
    #[serde(default, skip_serializing_if = "DeletionPolicy::is_default")]
    pub deletion_policy: DeletionPolicy,
}

/// What happens to the live topic when its Topic resource is deleted.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
}

impl DeletionPolicy {
    fn is_default(&self) -> bool {
        *self == DeletionPolicy::Delete
    }
}

/// What the operator last saw of the topic.
#[derive(KubeSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and the reasons it is not (`NotSupported`, `ResourceConflict`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The live topic's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// The live topic's id, as Kafka reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
    /// The live topic's partition count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// The live topic's replication factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// The schema's rules for a new Topic, in Rust: the first broken one's message.
pub fn validate(spec: &TopicSpec) -> Result<(), String> {
    if let Some(name) = &spec.topic_name {
        if potok_client::topic_name::validate_topic_name(name).is_err() {
            return Err(TOPIC_NAME_INVALID.into());
        }
    }
    if !(1..=MAX_PARTITIONS).contains(&spec.partitions) {
        return Err(PARTITIONS_RANGE.into());
    }
    if !(1..=MAX_BROKERS as i32).contains(&spec.replicas) {
        return Err(REPLICAS_RANGE.into());
    }
    if let Some(value) = spec.config.get("min.insync.replicas") {
        let Some(min_insync_replicas) = parse_min_insync_replicas(value) else {
            return Err(MIN_INSYNC_REPLICAS_NOT_A_NUMBER.into());
        };
        if min_insync_replicas > spec.replicas {
            return Err(MIN_INSYNC_REPLICAS_ABOVE_REPLICAS.into());
        }
    }
    Ok(())
}

/// The schema's rules for a change from `old` to `new`, in Rust: those of a new Topic, then
/// what may not change.
pub fn validate_update(old: &TopicSpec, new: &TopicSpec) -> Result<(), String> {
    validate(new)?;
    if new.cluster != old.cluster {
        return Err(CLUSTER_IMMUTABLE.into());
    }
    if new.topic_name != old.topic_name {
        return Err(TOPIC_NAME_IMMUTABLE.into());
    }
    if new.partitions < old.partitions {
        return Err(PARTITIONS_DECREASE.into());
    }
    Ok(())
}

/// `min.insync.replicas` as the schema accepts it: 1 to 9999 without a sign or leading zero.
fn parse_min_insync_replicas(value: &str) -> Option<i32> {
    let well_formed = (1..=4).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0');
    if well_formed {
        value.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::cel::{as_broken, broken_rules};

    /// The example's `test` topic.
    fn test_topic() -> TopicSpec {
        TopicSpec {
            cluster: "potok".into(),
            topic_name: None,
            partitions: 3,
            replicas: 3,
            config: BTreeMap::from([("min.insync.replicas".into(), "2".into())]),
            deletion_policy: DeletionPolicy::Delete,
        }
    }

    fn with(change: impl FnOnce(&mut TopicSpec)) -> TopicSpec {
        let mut spec = test_topic();
        change(&mut spec);
        spec
    }

    /// Checks `spec` as a new Topic with the Rust rules and with the schema's CEL rules.
    fn check_new(spec: TopicSpec, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        assert_eq!(validate(&spec), expected, "{spec:?}");
        let topic = Topic::new("test", spec);
        assert_eq!(
            broken_rules(&topic, None),
            as_broken(expected),
            "CEL: {topic:?}"
        );
    }

    /// Checks a change from `old` to `new` with the Rust rules and the schema's CEL rules.
    fn check_update(old: TopicSpec, new: TopicSpec, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        assert_eq!(validate_update(&old, &new), expected, "{old:?} -> {new:?}");
        let (old, new) = (Topic::new("test", old), Topic::new("test", new));
        assert_eq!(
            broken_rules(&new, Some(&old)),
            as_broken(expected),
            "CEL: {old:?} -> {new:?}"
        );
    }

    #[test]
    fn the_example_topic_is_valid() {
        let text = include_str!("../../../examples/topics.yaml");
        let topic: Topic = serde_yaml::from_str(text).unwrap();
        assert_eq!(topic.spec, test_topic());
        check_new(topic.spec, Ok(()));
    }

    #[test]
    fn new_topics() {
        check_new(
            with(|s| s.topic_name = Some("orders.v2_eu-1".into())),
            Ok(()),
        );
        check_new(with(|s| s.topic_name = Some("a".repeat(249))), Ok(()));
        check_new(
            with(|s| s.topic_name = Some("a".repeat(250))),
            Err(TOPIC_NAME_INVALID),
        );
        check_new(
            with(|s| s.topic_name = Some("orders/eu".into())),
            Err(TOPIC_NAME_INVALID),
        );
        check_new(
            with(|s| s.topic_name = Some("..".into())),
            Err(TOPIC_NAME_INVALID),
        );
        check_new(
            with(|s| s.topic_name = Some(String::new())),
            Err(TOPIC_NAME_INVALID),
        );
        check_new(with(|s| s.partitions = 1), Ok(()));
        check_new(with(|s| s.partitions = 10_000), Ok(()));
        check_new(with(|s| s.partitions = 0), Err(PARTITIONS_RANGE));
        check_new(with(|s| s.partitions = 10_001), Err(PARTITIONS_RANGE));
        check_new(with(|s| s.replicas = 99), Ok(()));
        check_new(with(|s| s.replicas = 100), Err(REPLICAS_RANGE));
        check_new(
            with(|s| {
                s.replicas = 1;
                s.config.clear();
            }),
            Ok(()),
        );
        check_new(
            with(|s| {
                s.replicas = 0;
                s.config.clear();
            }),
            Err(REPLICAS_RANGE),
        );
        check_new(
            with(|s| {
                s.config.insert("retention.ms".into(), "-1".into());
            }),
            Ok(()),
        );
    }

    #[test]
    fn min_insync_replicas_is_a_number_not_above_replicas() {
        let min_isr = |value: &str| {
            with(|s| {
                s.config.insert("min.insync.replicas".into(), value.into());
            })
        };
        check_new(min_isr("3"), Ok(()));
        check_new(min_isr("1"), Ok(()));
        check_new(min_isr("4"), Err(MIN_INSYNC_REPLICAS_ABOVE_REPLICAS));
        check_new(min_isr("two"), Err(MIN_INSYNC_REPLICAS_NOT_A_NUMBER));
        check_new(min_isr("0"), Err(MIN_INSYNC_REPLICAS_NOT_A_NUMBER));
        check_new(min_isr("+2"), Err(MIN_INSYNC_REPLICAS_NOT_A_NUMBER));
        check_new(min_isr("99999"), Err(MIN_INSYNC_REPLICAS_NOT_A_NUMBER));
        // Lowering replicas under min.insync.replicas is refused too.
        check_update(
            test_topic(),
            with(|s| s.replicas = 1),
            Err(MIN_INSYNC_REPLICAS_ABOVE_REPLICAS),
        );
        check_update(
            test_topic(),
            with(|s| {
                s.replicas = 2;
                s.config.insert("min.insync.replicas".into(), "2".into());
            }),
            Ok(()),
        );
    }

    #[test]
    fn partitions_grow_but_never_shrink() {
        check_update(test_topic(), with(|s| s.partitions = 6), Ok(()));
        check_update(
            with(|s| s.partitions = 6),
            test_topic(),
            Err(PARTITIONS_DECREASE),
        );
        check_update(test_topic(), test_topic(), Ok(()));
    }

    #[test]
    fn the_topic_name_and_cluster_are_fixed() {
        let named = |name: &str| with(|s| s.topic_name = Some(name.into()));
        check_update(named("orders"), named("orders"), Ok(()));
        check_update(
            named("orders"),
            named("orders-v2"),
            Err(TOPIC_NAME_IMMUTABLE),
        );
        check_update(test_topic(), named("test"), Err(TOPIC_NAME_IMMUTABLE));
        check_update(named("test"), test_topic(), Err(TOPIC_NAME_IMMUTABLE));
        check_update(
            test_topic(),
            with(|s| s.cluster = "other".into()),
            Err(CLUSTER_IMMUTABLE),
        );
    }

    #[test]
    fn config_changes_are_free() {
        check_update(
            test_topic(),
            with(|s| {
                s.config.insert("cleanup.policy".into(), "compact".into());
                s.config.remove("min.insync.replicas");
            }),
            Ok(()),
        );
    }
}
