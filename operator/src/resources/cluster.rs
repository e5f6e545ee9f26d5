//! `KafkaCluster`: one Potok cluster — its metadata quorum (coordinators), brokers, ksql
//! servers and console — as `examples/cluster.yaml` writes it. The local runtime turns it
//! into processes; the Kubernetes runtime into StatefulSets, Services and volumes, which is
//! what the image, storage, resources and listeners are for.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The most brokers a cluster may have; a topic's replicas can never exceed it either.
pub const MAX_BROKERS: u32 = 99;

/// The most properties a config map may hold: far more than Kafka or ksqlDB have, and a
/// bound the API server needs to accept the CEL rules that look through a map (without it,
/// their estimated cost is over its budget).
pub const MAX_CONFIG_PROPERTIES: u32 = 1000;

/// Broker and coordinator properties the operator writes for each node from its place in the
/// cluster.
pub const OPERATOR_OWNED_NODE_CONFIG: [&str; 6] = [
    "node.id",
    "process.roles",
    "listeners",
    "advertised.listeners",
    "controller.quorum.voters",
    "log.dirs",
];

/// ksql server properties the operator writes from the cluster's addresses.
pub const OPERATOR_OWNED_KSQL_CONFIG: [&str; 2] = ["listeners", "bootstrap.servers"];

/// Broker properties naming a replication factor, which no more brokers than exist can meet.
pub const REPLICATION_FACTOR_CONFIG: [&str; 2] = [
    "default.replication.factor",
    "offsets.topic.replication.factor",
];

/// What the cluster should look like.
// Every printcolumn(...) names its type, which clippy takes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "potok.dev",
    version = "v1alpha1",
    kind = "KafkaCluster",
    namespaced,
    status = "KafkaClusterStatus",
    shortname = "kc",
    category = "potok",
    derive = "PartialEq",
    printcolumn(
        name = "Coordinators",
        type_ = "integer",
        json_path = ".spec.coordinators.replicas"
    ),
    printcolumn(
        name = "Brokers",
        type_ = "integer",
        json_path = ".spec.brokers.replicas"
    ),
    printcolumn(
        name = "Ready brokers",
        type_ = "integer",
        json_path = ".status.readyBrokers"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Bootstrap",
        type_ = "string",
        json_path = ".status.bootstrapServers",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaClusterSpec {
    /// The `potok` image every node runs (default: the image of the operator's own version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    pub coordinators: CoordinatorsSpec,
    pub brokers: BrokersSpec,
    /// The ksql server, when the cluster has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ksql: Option<KsqlSpec>,
    /// The web console, when the cluster has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<UiSpec>,
}

/// Kubernetes' pull policies for the nodes' image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ImagePullPolicy {
    Always,
    IfNotPresent,
    Never,
}

/// The metadata quorum.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoordinatorsSpec {
    /// Voters of the metadata quorum: 3 or 5 in production.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 7 && self % 2 == 1").message(COORDINATOR_COUNT))]
    pub replicas: u32,
    /// Coordinator properties under Kafka's names (`metadata.log.segment.bytes`, ...),
    /// applied to every coordinator.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = MAX_CONFIG_PROPERTIES))]
    #[x_kube(validation = owned_keys_rule("spec.coordinators.config", &OPERATOR_OWNED_NODE_CONFIG, "for each node "))]
    pub config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// The messages of the count rules. They name no value: the API server refuses a message
/// expression that turns a number into a string (its estimated cost is over any budget).
pub const COORDINATOR_COUNT: &str = "spec.coordinators.replicas must be 1, 3, 5 or 7: a Raft quorum needs an odd number of voters (3 or 5 in production)";
pub const BROKER_COUNT: &str = "spec.brokers.replicas must be between 1 and 99";

/// The brokers.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = replication_factor_rule(REPLICATION_FACTOR_CONFIG[0]))]
#[x_kube(validation = replication_factor_rule(REPLICATION_FACTOR_CONFIG[1]))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrokersSpec {
    #[x_kube(validation = Rule::new(format!("self >= 1 && self <= {MAX_BROKERS}")).message(BROKER_COUNT))]
    pub replicas: u32,
    /// Broker properties under Kafka's names (`min.insync.replicas`, ...), applied to every
    /// broker.
    #[serde(default)]
    #[schemars(extend("maxProperties" = MAX_CONFIG_PROPERTIES))]
    #[x_kube(validation = owned_keys_rule("spec.brokers.config", &OPERATOR_OWNED_NODE_CONFIG, "for each node "))]
    pub config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Client listeners, each a Kafka listener name with its port and how it is exposed
    /// (Kubernetes runtime; the local runtime gives every broker its own loopback address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub listeners: Vec<Listener>,
}

/// One client listener of every broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    /// The listener name as Kafka writes it in `listeners` (`INTERNAL`, `EXTERNAL`, ...).
    pub name: String,
    pub port: u16,
    #[serde(rename = "type")]
    pub type_: ListenerType,
}

/// How a listener is reached, in Strimzi's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListenerType {
    /// Inside the Kubernetes cluster, through the headless Service (each broker by name).
    Internal,
    /// Outside, through a NodePort Service per broker.
    Nodeport,
    /// Outside, through a LoadBalancer Service per broker.
    Loadbalancer,
}

/// The ksql servers.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KsqlSpec {
    /// ksql servers sharing one service id (the local runtime runs one).
    pub replicas: u32,
    /// Server properties under ksqlDB's names (`ksql.service.id`, ...).
    #[serde(default)]
    #[schemars(extend("maxProperties" = MAX_CONFIG_PROPERTIES))]
    #[x_kube(validation = owned_keys_rule("spec.ksql.config", &OPERATOR_OWNED_KSQL_CONFIG, ""))]
    pub config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// The web console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UiSpec {
    /// Whether the console runs at all.
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default = "one")]
    pub replicas: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

fn enabled() -> bool {
    true
}

fn one() -> u32 {
    1
}

pub const STORAGE_SIZE_REQUIRED: &str = "storage.size is required for type persistent-claim: the size of each node's PersistentVolumeClaim (\"100Gi\")";

/// Where a node keeps its data, in Strimzi's shape.
#[derive(KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("self.type != 'persistent-claim' || has(self.size)").message(STORAGE_SIZE_REQUIRED))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Storage {
    #[serde(rename = "type")]
    pub type_: StorageType,
    /// The claim's size (`100Gi`), for `persistent-claim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// The claim's StorageClass (default: the Kubernetes cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Whether the claims are deleted with the KafkaCluster (default: kept).
    #[serde(default)]
    pub delete_claim: bool,
    /// The most an `ephemeral` volume may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

/// Whether a node's data outlives its pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StorageType {
    /// A PersistentVolumeClaim per node, kept across restarts.
    PersistentClaim,
    /// An emptyDir: the data goes with the pod.
    Ephemeral,
}

/// What the operator last saw of the cluster.
#[derive(KubeSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and the reasons it is not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The cluster id every node was formatted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// `host:port,...` for clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_coordinators: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_brokers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_ksql: Option<u32>,
    /// The node id of the metadata quorum's current leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_leader: Option<i32>,
}

/// A CEL rule on a config map refusing the keys in `owned`, naming the first one found.
fn owned_keys_rule(field: &str, owned: &[&str], whose: &str) -> kube::core::Rule {
    let list = owned
        .iter()
        .map(|key| format!("'{key}'"))
        .collect::<Vec<_>>()
        .join(", ");
    kube::core::Rule::new(format!("!self.exists(k, k in [{list}])")).message(
        kube::core::Message::Expression(format!(
            "'{field}.' + self.filter(k, k in [{list}])[0] + ' is set by the operator {whose}and cannot be given'"
        )),
    )
}

/// A CEL rule on the brokers refusing a replication factor `key` that is not a number from 1
/// to the broker count.
fn replication_factor_rule(key: &str) -> kube::core::Rule {
    let value = format!("self.config['{key}']");
    kube::core::Rule::new(format!(
        "!has(self.config) || !('{key}' in self.config) || ({value}.matches('^[0-9]{{1,9}}$') && int({value}) >= 1 && int({value}) <= int(self.replicas))"
    ))
    .message(kube::core::Message::Message(replication_factor_message(key)))
}

fn replication_factor_message(key: &str) -> String {
    format!("spec.brokers.config.{key} must be a number from 1 to spec.brokers.replicas")
}

/// The rules of the schema, checked in Rust: the first broken one's message.
pub fn validate(spec: &KafkaClusterSpec) -> Result<(), String> {
    let coordinators = spec.coordinators.replicas;
    if coordinators == 0 || coordinators.is_multiple_of(2) || coordinators > 7 {
        return Err(COORDINATOR_COUNT.into());
    }
    let brokers = spec.brokers.replicas;
    if brokers == 0 || brokers > MAX_BROKERS {
        return Err(BROKER_COUNT.into());
    }
    if let Some(key) = first_owned_key(&spec.coordinators.config, &OPERATOR_OWNED_NODE_CONFIG) {
        return Err(format!(
            "spec.coordinators.config.{key} is set by the operator for each node and cannot be given"
        ));
    }
    if let Some(key) = first_owned_key(&spec.brokers.config, &OPERATOR_OWNED_NODE_CONFIG) {
        return Err(format!(
            "spec.brokers.config.{key} is set by the operator for each node and cannot be given"
        ));
    }
    for key in REPLICATION_FACTOR_CONFIG {
        let Some(value) = spec.brokers.config.get(key) else {
            continue;
        };
        // 1 to 9 digits, as the schema's pattern: `parse` alone would also take "+3".
        let digits = (1..=9).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
        let factor = if digits {
            value.parse::<u32>().ok()
        } else {
            None
        };
        if !matches!(factor, Some(factor) if factor >= 1 && factor <= brokers) {
            return Err(replication_factor_message(key));
        }
    }
    let storages = [&spec.coordinators.storage, &spec.brokers.storage];
    let sizeless_claim =
        |storage: &Storage| storage.type_ == StorageType::PersistentClaim && storage.size.is_none();
    if storages.into_iter().flatten().any(sizeless_claim) {
        return Err(STORAGE_SIZE_REQUIRED.into());
    }
    if let Some(ksql) = &spec.ksql {
        if let Some(key) = first_owned_key(&ksql.config, &OPERATOR_OWNED_KSQL_CONFIG) {
            return Err(format!(
                "spec.ksql.config.{key} is set by the operator and cannot be given"
            ));
        }
    }
    Ok(())
}

fn first_owned_key<'a>(config: &'a BTreeMap<String, String>, owned: &[&str]) -> Option<&'a str> {
    config
        .keys()
        .map(String::as_str)
        .find(|key| owned.contains(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::cel::{as_broken, broken_rules};

    fn example() -> KafkaCluster {
        serde_yaml::from_str(include_str!("../../../examples/cluster.yaml")).unwrap()
    }

    fn with(change: impl FnOnce(&mut KafkaClusterSpec)) -> KafkaClusterSpec {
        let mut spec = example().spec;
        change(&mut spec);
        spec
    }

    /// Checks `spec` with the Rust rules and the schema's CEL rules.
    fn check(spec: KafkaClusterSpec, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        assert_eq!(validate(&spec), expected, "{spec:?}");
        let cluster = KafkaCluster::new("potok", spec);
        assert_eq!(
            broken_rules(&cluster, None),
            as_broken(expected),
            "CEL: {cluster:?}"
        );
    }

    #[test]
    fn the_example_cluster_is_valid() {
        check(example().spec, Ok(()));
    }

    #[test]
    fn a_quorum_is_an_odd_number_of_coordinators() {
        check(with(|s| s.coordinators.replicas = 1), Ok(()));
        check(with(|s| s.coordinators.replicas = 5), Ok(()));
        check(with(|s| s.coordinators.replicas = 7), Ok(()));
        for replicas in [0, 2, 4, 9] {
            check(
                with(|s| s.coordinators.replicas = replicas),
                Err(COORDINATOR_COUNT),
            );
        }
    }

    #[test]
    fn brokers_are_counted_and_configured_within_bounds() {
        assert!(BROKER_COUNT.ends_with(&format!(" {MAX_BROKERS}")));
        check(
            with(|s| {
                s.brokers.replicas = 99;
                s.brokers.config.clear();
            }),
            Ok(()),
        );
        for replicas in [0, 100] {
            check(
                with(|s| {
                    s.brokers.replicas = replicas;
                    s.brokers.config.clear();
                }),
                Err(BROKER_COUNT),
            );
        }
        check(
            with(|s| {
                s.brokers.config.insert("log.dirs".into(), "/data".into());
            }),
            Err("spec.brokers.config.log.dirs is set by the operator for each node and cannot be given"),
        );
        check(
            with(|s| {
                s.coordinators.config.insert("node.id".into(), "7".into());
            }),
            Err("spec.coordinators.config.node.id is set by the operator for each node and cannot be given"),
        );
        for value in ["4", "0", "three", "+3"] {
            check(
                with(|s| {
                    s.brokers.config.insert("offsets.topic.replication.factor".into(), value.into());
                }),
                Err("spec.brokers.config.offsets.topic.replication.factor must be a number from 1 to spec.brokers.replicas"),
            );
        }
        check(
            with(|s| {
                s.ksql
                    .as_mut()
                    .unwrap()
                    .config
                    .insert("bootstrap.servers".into(), "kafka:9092".into());
            }),
            Err("spec.ksql.config.bootstrap.servers is set by the operator and cannot be given"),
        );
    }

    #[test]
    fn the_kubernetes_fields_read_as_strimzi_writes_them() {
        let text = r#"
apiVersion: potok.dev/v1alpha1
kind: KafkaCluster
metadata:
  name: potok
spec:
  image: registry.example/potok:0.1.0
  imagePullPolicy: IfNotPresent
  coordinators:
    replicas: 3
    config:
      metadata.log.segment.bytes: "1048576"
    storage:
      type: persistent-claim
      size: 10Gi
      class: fast
  brokers:
    replicas: 3
    storage:
      type: ephemeral
      sizeLimit: 1Gi
    resources:
      requests:
        cpu: 500m
        memory: 1Gi
    listeners:
      - name: INTERNAL
        port: 9092
        type: internal
      - name: EXTERNAL
        port: 9094
        type: loadbalancer
  ksql:
    replicas: 2
  ui:
    replicas: 1
"#;
        let cluster: KafkaCluster = serde_yaml::from_str(text).unwrap();
        let spec = &cluster.spec;
        assert_eq!(spec.image_pull_policy, Some(ImagePullPolicy::IfNotPresent));
        assert_eq!(
            spec.coordinators.storage,
            Some(Storage {
                type_: StorageType::PersistentClaim,
                size: Some(Quantity("10Gi".into())),
                class: Some("fast".into()),
                delete_claim: false,
                size_limit: None,
            })
        );
        let broker_storage = spec.brokers.storage.as_ref().unwrap();
        assert_eq!(broker_storage.type_, StorageType::Ephemeral);
        assert_eq!(spec.brokers.listeners[1].type_, ListenerType::Loadbalancer);
        assert_eq!(spec.ui.as_ref().map(|ui| ui.enabled), Some(true));
        check(cluster.spec.clone(), Ok(()));
        let again: KafkaCluster =
            serde_yaml::from_str(&serde_yaml::to_string(&cluster).unwrap()).unwrap();
        assert_eq!(again, cluster);
    }

    #[test]
    fn a_persistent_claim_has_a_size() {
        let storage = |size: Option<&str>| Storage {
            type_: StorageType::PersistentClaim,
            size: size.map(|size| Quantity(size.into())),
            class: None,
            delete_claim: false,
            size_limit: None,
        };
        check(
            with(|s| s.brokers.storage = Some(storage(Some("100Gi")))),
            Ok(()),
        );
        check(
            with(|s| s.coordinators.storage = Some(storage(None))),
            Err(STORAGE_SIZE_REQUIRED),
        );
    }

    #[test]
    fn a_misspelt_field_is_refused() {
        let text =
            include_str!("../../../examples/cluster.yaml").replace("replicas: 1", "replicaz: 1");
        let error = serde_yaml::from_str::<KafkaCluster>(&text).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `replicaz`"),
            "{error}"
        );
    }
}
