//! The Kubernetes objects a `KafkaCluster` becomes, as pure functions of the resource:
//! a ConfigMap of properties, a StatefulSet and a headless Service per role, a bootstrap
//! Service for clients, the ksql Service, the web console's Deployment and Service, and
//! PodDisruptionBudgets. Every object is owned
//! by the KafkaCluster, so deleting it deletes them.
//!
//! A pod learns who it is from its StatefulSet ordinal: the image's entrypoint adds the
//! ordinal to `POTOK_NODE_ID_OFFSET` for `node.id` (brokers 1, 2, 3 as in the local runtime;
//! coordinators from 101), and the broker advertises its stable DNS name. StatefulSets use
//! `OnDelete`: the operator restarts pods itself, one at a time (see [`super::roll`]), and a
//! template annotation carries a checksum of the role's properties so a config change is a
//! new revision to roll to.
//!
//! Objects are written as JSON in the API's own shape and read back into k8s-openapi's types,
//! so a field the API does not know fails the round trip test below.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, ResourceRequirements, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::local::plan::{
    BROKER_METRICS_PORT, BROKER_PORT, COORDINATOR_PORT, FIRST_COORDINATOR_ID,
};
use crate::resources::cluster::{ListenerType, Storage, StorageType};
use crate::resources::KafkaCluster;

/// The web console's port, on its pods and Service.
pub const UI_PORT: u16 = crate::local::plan::UI_PORT;

/// ksqlDB's port, on the ksql pods and their Service.
pub const KSQL_PORT: u16 = 8088;
/// Where each node keeps its data: the image's data directory, a volume of its own.
const DATA_DIR: &str = "/var/lib/potok";
/// Where a role's properties file is mounted.
const CONFIG_DIR: &str = "/etc/potok/config";
/// The image's user and group, which own the data volumes.
const POTOK_UID: i64 = 1000;
/// The pod template annotation whose change rolls a role's pods: a checksum of its properties.
pub const CONFIG_HASH: &str = "potok.dev/config-hash";
/// The labels that select a cluster's pods of one role.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// A cluster's kinds of pod: three kinds of node, and the web console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Coordinator,
    Broker,
    Ksql,
    Ui,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Coordinator, Role::Broker, Role::Ksql, Role::Ui];
    /// The roles that run as StatefulSets, which the operator restarts itself.
    pub const STATEFUL: [Role; 3] = [Role::Coordinator, Role::Broker, Role::Ksql];

    /// The `app.kubernetes.io/component` label, the container's name and the name suffix.
    pub fn component(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Broker => "broker",
            Role::Ksql => "ksql",
            Role::Ui => "ui",
        }
    }

    pub fn from_component(component: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.component() == component)
    }

    /// The node id of the pod with `ordinal`.
    pub fn node_id(self, ordinal: u32) -> i32 {
        (self.node_id_offset() + ordinal) as i32
    }

    fn node_id_offset(self) -> u32 {
        match self {
            Role::Coordinator => FIRST_COORDINATOR_ID,
            Role::Broker | Role::Ksql | Role::Ui => 1,
        }
    }
}

/// The role an object of the cluster serves, by its component label.
pub fn role_of<K: Resource>(object: &K) -> Option<Role> {
    Role::from_component(object.meta().labels.as_ref()?.get(COMPONENT_LABEL)?)
}

/// `<cluster>-broker`: the role's StatefulSet, headless Service, PDB and pod name prefix.
pub fn workload_name(cluster: &str, role: Role) -> String {
    format!("{cluster}-{}", role.component())
}

/// The Service clients bootstrap from.
pub fn bootstrap_service(cluster: &str) -> String {
    format!("{cluster}-bootstrap")
}

/// `host:port` of the bootstrap Service, as published in the KafkaCluster's status.
pub fn bootstrap_servers(cluster: &KafkaCluster) -> Result<String, String> {
    let port = listeners(cluster)?[0].1;
    Ok(format!(
        "{}.{}.svc:{port}",
        bootstrap_service(&cluster.name_any()),
        cluster.namespace().unwrap_or_default()
    ))
}

/// Everything a cluster is made of, in the order it is applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Objects {
    pub config_maps: Vec<ConfigMap>,
    pub services: Vec<Service>,
    pub stateful_sets: Vec<StatefulSet>,
    pub deployments: Vec<Deployment>,
    pub disruption_budgets: Vec<PodDisruptionBudget>,
}

/// How many pods of each role to run: the spec's counts, except where the operator holds
/// a change back (brokers still draining, a quorum size that cannot change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    pub coordinators: u32,
    pub brokers: u32,
}

/// The objects of `cluster`, its nodes running `image` unless the spec names one.
/// Fails with a message for the status when the spec asks for what cannot be built.
pub fn desired(
    cluster: &KafkaCluster,
    default_image: &str,
    replicas: Replicas,
) -> Result<Objects, String> {
    let name = cluster.name_any();
    let namespace = cluster.namespace().unwrap_or_default();
    let spec = &cluster.spec;
    let owner = serde_json::to_value(cluster.controller_owner_ref(&()))
        .expect("an owner reference serializes");
    let image = spec.image.as_deref().unwrap_or(default_image);
    let pull_policy = spec
        .image_pull_policy
        .map(|policy| format!("{policy:?}"))
        .unwrap_or_else(|| "IfNotPresent".into());
    let meta = |object_name: String, role: Option<Role>| {
        json!({
            "name": object_name,
            "namespace": namespace,
            "labels": labels(&name, role),
            "ownerReferences": [owner],
        })
    };
    let listeners = listeners(cluster)?;
    let voters = (0..replicas.coordinators)
        .map(|ordinal| {
            format!(
                "{}@{}-{ordinal}.{}.{namespace}.svc:{COORDINATOR_PORT}",
                Role::Coordinator.node_id(ordinal),
                workload_name(&name, Role::Coordinator),
                workload_name(&name, Role::Coordinator),
            )
        })
        .collect::<Vec<_>>()
        .join(",");

    let mut coordinator = spec.coordinators.config.clone();
    coordinator.extend(owned([
        ("process.roles", "controller".into()),
        (
            "listeners",
            format!("CONTROLLER://0.0.0.0:{COORDINATOR_PORT}"),
        ),
        ("controller.listener.names", "CONTROLLER".into()),
        ("controller.quorum.voters", voters.clone()),
        ("log.dirs", format!("{DATA_DIR}/data")),
        (
            "potok.metrics.listener",
            format!("0.0.0.0:{BROKER_METRICS_PORT}"),
        ),
    ]));
    let mut broker = spec.brokers.config.clone();
    let listener_list = listeners
        .iter()
        .map(|(listener, port)| format!("{listener}://0.0.0.0:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let protocol_map = listeners
        .iter()
        .map(|(listener, _)| format!("{listener}:PLAINTEXT"))
        .chain(["CONTROLLER:PLAINTEXT".to_string()])
        .collect::<Vec<_>>()
        .join(",");
    broker.extend(owned([
        ("process.roles", "broker".into()),
        ("listeners", listener_list),
        ("listener.security.protocol.map", protocol_map),
        ("inter.broker.listener.name", listeners[0].0.clone()),
        ("controller.listener.names", "CONTROLLER".into()),
        ("controller.quorum.voters", voters),
        ("log.dirs", format!("{DATA_DIR}/data")),
        (
            "potok.metrics.listener",
            format!("0.0.0.0:{BROKER_METRICS_PORT}"),
        ),
    ]));
    let advertised = listeners
        .iter()
        .map(|(listener, port)| {
            format!(
                "{listener}://$(POD_NAME).{}.$(POD_NAMESPACE).svc:{port}",
                workload_name(&name, Role::Broker)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let bootstrap = bootstrap_servers(cluster)?;

    let mut objects = Objects::default();
    let mut add_node_role = |role: Role, properties: BTreeMap<String, String>, count: u32| {
        let (storage, resources) = match role {
            Role::Coordinator => (&spec.coordinators.storage, &spec.coordinators.resources),
            _ => (&spec.brokers.storage, &spec.brokers.resources),
        };
        let workload = workload_name(&name, role);
        let mut env = vec![
            json!({ "name": "POTOK_NODE_ID_OFFSET", "value": role.node_id_offset().to_string() }),
        ];
        let mut ports = vec![json!({ "name": "metrics", "containerPort": BROKER_METRICS_PORT })];
        let (readiness, command) = match role {
            Role::Coordinator => {
                ports.push(json!({ "name": "controller", "containerPort": COORDINATOR_PORT }));
                (
                    json!({ "tcpSocket": { "port": COORDINATOR_PORT } }),
                    "potok-broker",
                )
            }
            _ => {
                env.push(json!({ "name": "KAFKA_ADVERTISED_LISTENERS", "value": advertised }));
                for (listener, port) in &listeners {
                    ports.push(json!({ "name": listener.to_lowercase(), "containerPort": port }));
                }
                // The metrics endpoint opens once the broker has registered and is unfenced.
                (
                    json!({ "httpGet": { "path": "/metrics", "port": BROKER_METRICS_PORT } }),
                    "potok-broker",
                )
            }
        };
        let text = properties_text(&properties);
        objects.config_maps.push(typed(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(format!("{workload}-config"), Some(role)),
            "data": { "server.properties": text },
        })));
        let template = pod_template(PodTemplate {
            cluster: &name,
            role,
            image,
            pull_policy: &pull_policy,
            args: vec![command.into(), format!("{CONFIG_DIR}/server.properties")],
            env,
            ports,
            readiness,
            resources: resources.as_ref(),
            config_hash: checksum(&text),
            config_map: format!("{workload}-config"),
            ephemeral: ephemeral_volume(storage.as_ref()),
        });
        objects.stateful_sets.push(stateful_set(
            meta(workload.clone(), Some(role)),
            &name,
            role,
            count,
            template,
            storage.as_ref(),
        ));
        let mut service_ports = vec![json!({ "name": "metrics", "port": BROKER_METRICS_PORT })];
        match role {
            Role::Coordinator => {
                service_ports.push(json!({ "name": "controller", "port": COORDINATOR_PORT }))
            }
            _ => {
                for (listener, port) in &listeners {
                    service_ports.push(json!({ "name": listener.to_lowercase(), "port": port }));
                }
            }
        }
        objects.services.push(typed(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(workload.clone(), Some(role)),
            "spec": {
                "clusterIP": "None",
                // Nodes find each other by name before they are ready: the quorum forms
                // and brokers register only once they can reach one another.
                "publishNotReadyAddresses": true,
                "selector": selector(&name, role),
                "ports": service_ports,
            },
        })));
        objects.disruption_budgets.push(typed(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(workload, Some(role)),
            "spec": { "maxUnavailable": 1, "selector": { "matchLabels": selector(&name, role) } },
        })));
    };
    add_node_role(Role::Coordinator, coordinator, replicas.coordinators);
    add_node_role(Role::Broker, broker, replicas.brokers);

    let (first_listener, first_port) = &listeners[0];
    objects.services.push(typed(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(bootstrap_service(&name), Some(Role::Broker)),
        "spec": {
            "selector": selector(&name, Role::Broker),
            "ports": [{ "name": first_listener.to_lowercase(), "port": first_port }],
        },
    })));

    if let Some(ksql) = spec.ksql.as_ref().filter(|ksql| ksql.replicas > 0) {
        let workload = workload_name(&name, Role::Ksql);
        let mut properties = ksql.config.clone();
        properties.extend(owned([
            ("listeners", format!("http://0.0.0.0:{KSQL_PORT}")),
            ("bootstrap.servers", bootstrap.clone()),
        ]));
        let text = properties_text(&properties);
        objects.config_maps.push(typed(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(format!("{workload}-config"), Some(Role::Ksql)),
            "data": { "ksql-server.properties": text },
        })));
        let template = pod_template(PodTemplate {
            cluster: &name,
            role: Role::Ksql,
            image,
            pull_policy: &pull_policy,
            args: vec![
                "potok-ksql".into(),
                format!("{CONFIG_DIR}/ksql-server.properties"),
            ],
            env: Vec::new(),
            ports: vec![json!({ "name": "http", "containerPort": KSQL_PORT })],
            readiness: json!({ "httpGet": { "path": "/healthcheck", "port": KSQL_PORT } }),
            resources: ksql.resources.as_ref(),
            config_hash: checksum(&text),
            config_map: format!("{workload}-config"),
            ephemeral: Some(json!({ "emptyDir": {} })),
        });
        objects.stateful_sets.push(stateful_set(
            meta(workload.clone(), Some(Role::Ksql)),
            &name,
            Role::Ksql,
            ksql.replicas,
            template,
            None,
        ));
        objects.services.push(typed(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(workload, Some(Role::Ksql)),
            "spec": {
                "selector": selector(&name, Role::Ksql),
                "ports": [{ "name": "http", "port": KSQL_PORT }],
            },
        })));
    }
    if spec
        .ui
        .as_ref()
        .is_some_and(|ui| ui.enabled && ui.replicas > 0)
    {
        let workload = workload_name(&name, Role::Ui);
        let properties = console_properties(cluster, &bootstrap, replicas);
        let text = properties_text(&properties);
        objects.config_maps.push(typed(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(format!("{workload}-config"), Some(Role::Ui)),
            "data": { "ui.properties": text },
        })));
        let ui = spec.ui.as_ref().expect("checked above");
        let template = pod_template(PodTemplate {
            cluster: &name,
            role: Role::Ui,
            image,
            pull_policy: &pull_policy,
            args: vec!["potok-ui".into(), format!("{CONFIG_DIR}/ui.properties")],
            env: Vec::new(),
            ports: vec![json!({ "name": "http", "containerPort": UI_PORT })],
            readiness: json!({ "httpGet": { "path": "/healthz", "port": UI_PORT } }),
            resources: ui.resources.as_ref(),
            config_hash: checksum(&text),
            config_map: format!("{workload}-config"),
            ephemeral: Some(json!({ "emptyDir": {} })),
        });
        // The console keeps no state: a Deployment replaces its pods by itself, new before
        // old, when its config or image changes.
        objects.deployments.push(typed(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(workload.clone(), Some(Role::Ui)),
            "spec": {
                "replicas": ui.replicas,
                "selector": { "matchLabels": selector(&name, Role::Ui) },
                "template": template,
            },
        })));
        objects.services.push(typed(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(workload, Some(Role::Ui)),
            "spec": {
                "selector": selector(&name, Role::Ui),
                "ports": [{ "name": "http", "port": UI_PORT }],
            },
        })));
    }
    Ok(objects)
}

/// The console's settings: this cluster under its name, through the bootstrap Service, with
/// its ksql server and every node's `/metrics` by the pods' stable names.
fn console_properties(
    cluster: &KafkaCluster,
    bootstrap: &str,
    replicas: Replicas,
) -> BTreeMap<String, String> {
    let name = cluster.name_any();
    let namespace = cluster.namespace().unwrap_or_default();
    let pod_metrics = |role: Role, count: u32| {
        (0..count).map(move |ordinal| {
            let workload = workload_name(&cluster.name_any(), role);
            format!(
                "http://{workload}-{ordinal}.{workload}.{}.svc:{BROKER_METRICS_PORT}/metrics",
                cluster.namespace().unwrap_or_default()
            )
        })
    };
    let ksql = cluster
        .spec
        .ksql
        .as_ref()
        .filter(|ksql| ksql.replicas > 0)
        .map(|_| {
            format!(
                "http://{}.{namespace}.svc:{KSQL_PORT}",
                workload_name(&name, Role::Ksql)
            )
        });
    let metrics: Vec<String> = pod_metrics(Role::Coordinator, replicas.coordinators)
        .chain(pod_metrics(Role::Broker, replicas.brokers))
        .chain(ksql.iter().map(|url| format!("{url}/metrics")))
        .collect();
    let mut properties = owned([
        ("listeners", format!("http://0.0.0.0:{UI_PORT}")),
        ("kafka.clusters.0.name", name.clone()),
        ("kafka.clusters.0.bootstrapServers", bootstrap.to_string()),
        ("kafka.clusters.0.metrics.urls", metrics.join(",")),
    ]);
    if let Some(ksql) = ksql {
        properties.insert("kafka.clusters.0.ksqldbServer".into(), ksql);
    }
    properties
}

/// The brokers' client listeners as (name, port): `PLAINTEXT` on 9092 unless the spec
/// lists its own. Only listeners inside the Kubernetes cluster exist so far.
fn listeners(cluster: &KafkaCluster) -> Result<Vec<(String, u16)>, String> {
    let listeners = &cluster.spec.brokers.listeners;
    if listeners.is_empty() {
        return Ok(vec![("PLAINTEXT".into(), BROKER_PORT)]);
    }
    if let Some(outside) = listeners.iter().find(|l| l.type_ != ListenerType::Internal) {
        return Err(format!(
            "spec.brokers.listeners {} is of type {:?}, which Potok's operator does not expose yet; use type internal, and reach the brokers from outside with kubectl port-forward",
            outside.name, outside.type_
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for listener in listeners {
        let valid_name = !listener.name.is_empty()
            && listener
                .name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name || listener.name == "CONTROLLER" {
            return Err(format!(
                "spec.brokers.listeners name {:?} must be upper-case letters, digits and _, and not CONTROLLER (the quorum's)",
                listener.name
            ));
        }
        if !seen.insert(listener.port)
            || [COORDINATOR_PORT, BROKER_METRICS_PORT].contains(&listener.port)
        {
            return Err(format!(
                "spec.brokers.listeners {} uses port {}, which another listener or the metrics endpoint ({BROKER_METRICS_PORT}) already has",
                listener.name, listener.port
            ));
        }
    }
    Ok(listeners.iter().map(|l| (l.name.clone(), l.port)).collect())
}

/// The labels of every object of `cluster`, with the role's component when it has one.
fn labels(cluster: &str, role: Option<Role>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "potok".to_string()),
        (INSTANCE_LABEL.to_string(), cluster.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            "potok-operator".to_string(),
        ),
    ]);
    if let Some(role) = role {
        labels.insert(COMPONENT_LABEL.into(), role.component().into());
    }
    labels
}

/// The labels that select the pods of one role of one cluster.
pub fn selector(cluster: &str, role: Role) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "potok".to_string()),
        (INSTANCE_LABEL.to_string(), cluster.to_string()),
        (COMPONENT_LABEL.to_string(), role.component().to_string()),
    ])
}

struct PodTemplate<'a> {
    cluster: &'a str,
    role: Role,
    image: &'a str,
    pull_policy: &'a str,
    args: Vec<String>,
    env: Vec<Value>,
    ports: Vec<Value>,
    readiness: Value,
    resources: Option<&'a ResourceRequirements>,
    config_hash: String,
    config_map: String,
    /// The data volume when it is not a claim.
    ephemeral: Option<Value>,
}

fn pod_template(pod: PodTemplate) -> Value {
    let mut env = vec![
        json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }),
        json!({ "name": "POD_NAMESPACE", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } }),
    ];
    env.extend(pod.env);
    let mut volumes = vec![json!({ "name": "config", "configMap": { "name": pod.config_map } })];
    if let Some(ephemeral) = pod.ephemeral {
        let mut volume = ephemeral;
        volume["name"] = json!("data");
        volumes.push(volume);
    }
    let mut container = json!({
        "name": pod.role.component(),
        "image": pod.image,
        "imagePullPolicy": pod.pull_policy,
        "args": pod.args,
        "env": env,
        "ports": pod.ports,
        // Recovering a large log after an unclean stop can take minutes: the startup
        // probe gives it a quarter of an hour before liveness applies.
        "startupProbe": probe(&pod.readiness, 180),
        "readinessProbe": probe(&pod.readiness, 3),
        "livenessProbe": probe(&pod.readiness, 6),
        "volumeMounts": [
            { "name": "config", "mountPath": CONFIG_DIR, "readOnly": true },
            { "name": "data", "mountPath": DATA_DIR },
        ],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
        },
    });
    if let Some(resources) = pod.resources {
        container["resources"] = serde_json::to_value(resources).expect("resources serialize");
    }
    json!({
        "metadata": {
            "labels": labels(pod.cluster, Some(pod.role)),
            "annotations": { CONFIG_HASH: pod.config_hash },
        },
        "spec": {
            // Service links would put `<CLUSTER>_BROKER_SERVICE_HOST`-style variables in the
            // environment, which the servers read as KAFKA_* / POTOK_* settings.
            "enableServiceLinks": false,
            // A broker hands its leaderships over before it stops.
            "terminationGracePeriodSeconds": 60,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": POTOK_UID,
                "runAsGroup": POTOK_UID,
                "fsGroup": POTOK_UID,
            },
            "containers": [container],
            "volumes": volumes,
        },
    })
}

fn probe(check: &Value, failure_threshold: u32) -> Value {
    let mut probe = check.clone();
    probe["periodSeconds"] = json!(5);
    probe["timeoutSeconds"] = json!(3);
    probe["failureThreshold"] = json!(failure_threshold);
    probe
}

/// The data volume of a role whose storage is not a claim: an emptyDir.
fn ephemeral_volume(storage: Option<&Storage>) -> Option<Value> {
    match storage {
        Some(storage) if storage.type_ == StorageType::PersistentClaim => None,
        Some(storage) => Some(match &storage.size_limit {
            Some(limit) => json!({ "emptyDir": { "sizeLimit": limit } }),
            None => json!({ "emptyDir": {} }),
        }),
        None => Some(json!({ "emptyDir": {} })),
    }
}

fn stateful_set(
    metadata: Value,
    cluster: &str,
    role: Role,
    replicas: u32,
    template: Value,
    storage: Option<&Storage>,
) -> StatefulSet {
    let mut spec = json!({
        "serviceName": workload_name(cluster, role),
        "replicas": replicas,
        // The quorum forms only with its voters up, so they start together.
        "podManagementPolicy": "Parallel",
        // The operator restarts pods itself, one at a time and only when it is safe.
        "updateStrategy": { "type": "OnDelete" },
        "selector": { "matchLabels": selector(cluster, role) },
        "template": template,
    });
    if let Some(storage) = storage.filter(|s| s.type_ == StorageType::PersistentClaim) {
        let mut claim = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": { "name": "data", "labels": labels(cluster, Some(role)) },
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": storage.size } },
            },
        });
        if let Some(class) = &storage.class {
            claim["spec"]["storageClassName"] = json!(class);
        }
        spec["volumeClaimTemplates"] = json!([claim]);
        let policy = if storage.delete_claim {
            "Delete"
        } else {
            "Retain"
        };
        spec["persistentVolumeClaimRetentionPolicy"] =
            json!({ "whenDeleted": policy, "whenScaled": policy });
    }
    typed(json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// `key=value` lines in Kafka's properties format, sorted by key.
fn properties_text(properties: &BTreeMap<String, String>) -> String {
    let mut text = String::from("# Written by potok-operator from the KafkaCluster.\n");
    for (key, value) in properties {
        text.push_str(&format!("{key}={value}\n"));
    }
    text
}

/// A stable checksum of a properties file, for the pod template annotation.
fn checksum(text: &str) -> String {
    format!("{:08x}", crc32c::crc32c(text.as_bytes()))
}

fn owned<const N: usize>(entries: [(&str, String); N]) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// `object` as the k8s-openapi type it is written for. Tests also write it back: a field
/// k8s-openapi does not know is dropped on reading, so the two would differ.
fn typed<T: DeserializeOwned + serde::Serialize>(object: Value) -> T {
    let typed = serde_json::from_value(object.clone())
        .expect("the operator writes objects of the API's shape");
    if cfg!(test) {
        let again = serde_json::to_value(&typed).expect("an object serializes");
        assert_eq!(again, object, "a field the API does not know");
    }
    typed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::fixtures::in_namespace;

    fn example() -> KafkaCluster {
        let mut cluster: KafkaCluster =
            serde_yaml::from_str(include_str!("../../../../examples/cluster.yaml")).unwrap();
        cluster.spec.coordinators.storage = Some(Storage {
            type_: StorageType::PersistentClaim,
            size: Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
                "1Gi".into(),
            )),
            class: Some("fast".into()),
            delete_claim: false,
            size_limit: None,
        });
        in_namespace(cluster)
    }

    const SPEC: Replicas = Replicas {
        coordinators: 3,
        brokers: 3,
    };

    /// Every object is checked against its k8s-openapi type as it is made ([`typed`]).
    #[test]
    fn every_field_written_is_one_the_api_knows() {
        let mut cluster = example();
        cluster.spec.brokers.resources = serde_json::from_value(json!({
            "requests": { "cpu": "500m", "memory": "1Gi" },
            "limits": { "memory": "2Gi" },
        }))
        .unwrap();
        cluster.spec.brokers.storage = Some(Storage {
            type_: StorageType::Ephemeral,
            size: None,
            class: None,
            delete_claim: false,
            size_limit: Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
                "2Gi".into(),
            )),
        });
        cluster.spec.image_pull_policy = Some(crate::resources::cluster::ImagePullPolicy::Never);
        let objects = desired(&cluster, "potok:latest", SPEC).unwrap();
        assert_eq!(objects.stateful_sets.len(), 3);
        assert_eq!(objects.deployments.len(), 1);
        assert_eq!(objects.disruption_budgets.len(), 2);
    }

    #[test]
    fn the_console_is_a_deployment_showing_the_cluster_with_every_nodes_metrics() {
        let objects = desired(&example(), "potok:latest", SPEC).unwrap();
        let console = &objects.deployments[0];
        assert_eq!(console.name_any(), "potok-ui");
        let template = console.spec.template.spec.as_ref().unwrap();
        assert_eq!(
            template.containers[0].args.as_ref().unwrap(),
            &["potok-ui", "/etc/potok/config/ui.properties"]
        );
        let properties = &objects.config_maps[3].data.as_ref().unwrap()["ui.properties"];
        for line in [
            "listeners=http://0.0.0.0:8282\n",
            "kafka.clusters.0.name=potok\n",
            "kafka.clusters.0.bootstrapServers=potok-bootstrap.default.svc:9092\n",
            "kafka.clusters.0.ksqldbServer=http://potok-ksql.default.svc:8088\n",
        ] {
            assert!(properties.contains(line), "{line} in {properties}");
        }
        let metrics = properties
            .lines()
            .find_map(|l| l.strip_prefix("kafka.clusters.0.metrics.urls="))
            .unwrap();
        assert_eq!(metrics.split(',').count(), 7, "{metrics}");
        assert!(
            metrics.starts_with(
                "http://potok-coordinator-0.potok-coordinator.default.svc:9308/metrics,"
            ),
            "{metrics}"
        );
        assert!(
            metrics.ends_with(",http://potok-ksql.default.svc:8088/metrics"),
            "{metrics}"
        );
        let service = objects
            .services
            .iter()
            .find(|s| s.name_any() == "potok-ui")
            .unwrap();
        assert_eq!(
            service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port,
            8282
        );

        let mut without = example();
        without.spec.ui = None;
        assert!(desired(&without, "potok:latest", SPEC)
            .unwrap()
            .deployments
            .is_empty());
    }

    #[test]
    fn the_example_becomes_three_roles_with_their_services() {
        let objects = desired(&example(), "potok:latest", SPEC).unwrap();
        let names = |items: Vec<String>| items.join(" ");
        assert_eq!(
            names(objects.stateful_sets.iter().map(|o| o.name_any()).collect()),
            "potok-coordinator potok-broker potok-ksql"
        );
        assert_eq!(
            names(objects.services.iter().map(|o| o.name_any()).collect()),
            "potok-coordinator potok-broker potok-bootstrap potok-ksql potok-ui"
        );
        assert_eq!(
            names(objects.config_maps.iter().map(|o| o.name_any()).collect()),
            "potok-coordinator-config potok-broker-config potok-ksql-config potok-ui-config"
        );
        for set in &objects.stateful_sets {
            let spec = &set.spec;
            assert_eq!(
                spec.update_strategy.as_ref().unwrap().type_.as_deref(),
                Some("OnDelete")
            );
            let owner = &set.metadata.owner_references.as_ref().unwrap()[0];
            assert_eq!(
                (owner.kind.as_str(), owner.controller),
                ("KafkaCluster", Some(true))
            );
        }
        let broker = &objects.config_maps[1].data.as_ref().unwrap()["server.properties"];
        assert!(broker.contains("min.insync.replicas=2\n"), "{broker}");
        assert!(broker.contains("controller.quorum.voters=101@potok-coordinator-0.potok-coordinator.default.svc:9093,102@potok-coordinator-1.potok-coordinator.default.svc:9093,103@potok-coordinator-2.potok-coordinator.default.svc:9093\n"), "{broker}");
        let ksql = &objects.config_maps[2].data.as_ref().unwrap()["ksql-server.properties"];
        assert!(
            ksql.contains("bootstrap.servers=potok-bootstrap.default.svc:9092\n"),
            "{ksql}"
        );
    }

    #[test]
    fn brokers_advertise_their_stable_names_and_take_ids_from_the_ordinal() {
        let objects = desired(&example(), "potok:latest", SPEC).unwrap();
        let broker = serde_json::to_value(&objects.stateful_sets[1]).unwrap();
        let env = &broker["spec"]["template"]["spec"]["containers"][0]["env"];
        let value = |name: &str| {
            env.as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .map(|e| e["value"].clone())
        };
        assert_eq!(
            value("KAFKA_ADVERTISED_LISTENERS"),
            Some(json!(
                "PLAINTEXT://$(POD_NAME).potok-broker.$(POD_NAMESPACE).svc:9092"
            ))
        );
        assert_eq!(value("POTOK_NODE_ID_OFFSET"), Some(json!("1")));
        let coordinator = serde_json::to_value(&objects.stateful_sets[0]).unwrap();
        let env = &coordinator["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(env.to_string().contains(r#""value":"101""#), "{env}");
        assert_eq!(Role::Broker.node_id(2), 3);
        assert_eq!(Role::Coordinator.node_id(0), 101);
    }

    #[test]
    fn storage_becomes_claims_or_empty_dirs() {
        let objects = desired(&example(), "potok:latest", SPEC).unwrap();
        let coordinator = serde_json::to_value(&objects.stateful_sets[0]).unwrap();
        let claim = &coordinator["spec"]["volumeClaimTemplates"][0];
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
        assert_eq!(claim["spec"]["storageClassName"], "fast");
        assert_eq!(
            coordinator["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"],
            "Retain"
        );
        let broker = serde_json::to_value(&objects.stateful_sets[1]).unwrap();
        assert!(broker["spec"]["volumeClaimTemplates"].is_null());
        let volumes = broker["spec"]["template"]["spec"]["volumes"].to_string();
        assert!(
            volumes.contains(r#"{"emptyDir":{},"name":"data"}"#),
            "{volumes}"
        );
    }

    #[test]
    fn a_config_change_changes_only_that_roles_template() {
        let before = desired(&example(), "potok:latest", SPEC).unwrap();
        let mut changed = example();
        changed
            .spec
            .brokers
            .config
            .insert("log.retention.hours".into(), "100".into());
        let after = desired(&changed, "potok:latest", SPEC).unwrap();
        let template = |objects: &Objects, i: usize| objects.stateful_sets[i].spec.template.clone();
        assert_eq!(template(&before, 0), template(&after, 0));
        assert_ne!(template(&before, 1), template(&after, 1));
        assert_eq!(template(&before, 2), template(&after, 2));
    }

    #[test]
    fn the_spec_image_wins_over_the_operators() {
        let mut cluster = example();
        cluster.spec.image = Some("registry.example/potok:0.2".into());
        let objects = desired(&cluster, "potok:latest", SPEC).unwrap();
        let template = objects.stateful_sets[1].spec.template.clone();
        let container = &template.spec.unwrap().containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some("registry.example/potok:0.2")
        );
    }

    #[test]
    fn listeners_outside_the_cluster_are_refused_with_a_way_out() {
        let mut cluster = example();
        cluster.spec.brokers.listeners = serde_json::from_value(json!([
            { "name": "EXTERNAL", "port": 9094, "type": "loadbalancer" }
        ]))
        .unwrap();
        let error = desired(&cluster, "potok:latest", SPEC).unwrap_err();
        assert!(
            error.contains("EXTERNAL is of type Loadbalancer"),
            "{error}"
        );
        cluster.spec.brokers.listeners = serde_json::from_value(json!([
            { "name": "INTERNAL", "port": 19092, "type": "internal" }
        ]))
        .unwrap();
        let objects = desired(&cluster, "potok:latest", SPEC).unwrap();
        let broker = &objects.config_maps[1].data.as_ref().unwrap()["server.properties"];
        assert!(
            broker.contains("listeners=INTERNAL://0.0.0.0:19092\n"),
            "{broker}"
        );
        assert_eq!(
            bootstrap_servers(&cluster).unwrap(),
            "potok-bootstrap.default.svc:19092"
        );
    }
}
