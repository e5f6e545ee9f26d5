//! From a `KafkaCluster` to the nodes that run it on this machine: every node gets its own
//! loopback address (`127.0.0.N`), Kafka's default ports on it, a properties file and a
//! data directory under one root. The same names as the Kubernetes pods.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::manifest::KafkaCluster;

pub const BROKER_PORT: u16 = 9092;
pub const COORDINATOR_PORT: u16 = 9093;
pub const BROKER_METRICS_PORT: u16 = 9308;
pub const COORDINATOR_METRICS_PORT: u16 = 9309;
/// ksqlDB's port; the ksql server also serves its metrics there.
pub const KSQL_PORT: u16 = 8088;
/// The web console's port, Kafka UI's in the seed's stack.
pub const UI_PORT: u16 = 8282;
/// Coordinator node ids start here so brokers keep the ids 1, 2, 3 users see as leaders.
pub const FIRST_COORDINATOR_ID: u32 = 101;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Coordinator,
    Broker,
    Ksql,
    Ui,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePlan {
    /// `<cluster>-broker-0`, as the pod would be named.
    pub name: String,
    pub role: Role,
    pub node_id: u32,
    /// The address that accepts connections once the node is ready.
    pub address: String,
    pub properties: BTreeMap<String, String>,
    pub properties_file: PathBuf,
    pub log_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPlan {
    pub name: String,
    pub coordinators: Vec<NodePlan>,
    pub brokers: Vec<NodePlan>,
    pub ksql: Option<NodePlan>,
    pub ui: Option<NodePlan>,
}

impl ClusterPlan {
    pub fn new(cluster: &KafkaCluster, root: &Path) -> ClusterPlan {
        let name = cluster.metadata.name.clone().unwrap_or_default();
        let host = |index: u32| format!("127.0.0.{}", index + 1);
        let voters = (0..cluster.spec.coordinators.replicas)
            .map(|i| {
                format!(
                    "{}@{}:{COORDINATOR_PORT}",
                    FIRST_COORDINATOR_ID + i,
                    host(i)
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        let node = |role: Role, index: u32, mut properties: BTreeMap<String, String>| {
            let (kind, node_id, port, metrics_port) = match role {
                Role::Coordinator => (
                    "coordinator",
                    FIRST_COORDINATOR_ID + index,
                    COORDINATOR_PORT,
                    COORDINATOR_METRICS_PORT,
                ),
                Role::Broker | Role::Ksql | Role::Ui => {
                    ("broker", index + 1, BROKER_PORT, BROKER_METRICS_PORT)
                }
            };
            let node_name = format!("{name}-{kind}-{index}");
            let address = format!("{}:{port}", host(index));
            let data_dir = root.join(&node_name);
            properties.insert("node.id".into(), node_id.to_string());
            properties.insert("process.roles".into(), kind.into());
            properties.insert("controller.quorum.voters".into(), voters.clone());
            properties.insert("log.dirs".into(), data_dir.display().to_string());
            properties.insert(
                "potok.metrics.listener".into(),
                format!("{}:{metrics_port}", host(index)),
            );
            match role {
                Role::Coordinator => {
                    properties.insert("listeners".into(), format!("CONTROLLER://{address}"));
                }
                Role::Broker | Role::Ksql | Role::Ui => {
                    properties.insert("listeners".into(), format!("PLAINTEXT://{address}"));
                    properties.insert(
                        "advertised.listeners".into(),
                        format!("PLAINTEXT://{address}"),
                    );
                }
            }
            NodePlan {
                properties_file: root.join(format!("{node_name}.properties")),
                log_file: root.join("logs").join(format!("{node_name}.log")),
                name: node_name,
                role,
                node_id,
                address,
                properties,
            }
        };
        let brokers: Vec<NodePlan> = (0..cluster.spec.brokers.replicas)
            .map(|i| node(Role::Broker, i, cluster.spec.brokers.config.clone()))
            .collect();
        let ksql = cluster
            .spec
            .ksql
            .as_ref()
            .filter(|ksql| ksql.replicas > 0)
            .map(|ksql| ksql_node(&name, root, &brokers, &ksql.config));
        let coordinators: Vec<NodePlan> = (0..cluster.spec.coordinators.replicas)
            .map(|i| {
                node(
                    Role::Coordinator,
                    i,
                    cluster.spec.coordinators.config.clone(),
                )
            })
            .collect();
        let ui = cluster
            .spec
            .ui
            .as_ref()
            .filter(|ui| ui.enabled && ui.replicas > 0)
            .map(|_| ui_node(&name, root, &coordinators, &brokers, ksql.as_ref()));
        ClusterPlan {
            coordinators,
            brokers,
            ksql,
            ui,
            name,
        }
    }

    /// Every node, in the order they start: coordinators, brokers, the ksql server, the
    /// console.
    pub fn nodes(&self) -> impl Iterator<Item = &NodePlan> {
        self.coordinators
            .iter()
            .chain(&self.brokers)
            .chain(self.ksql.as_ref())
            .chain(self.ui.as_ref())
    }

    /// The `bootstrap.servers` string for clients.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers
            .iter()
            .map(|b| b.address.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The ksql server on `localhost:8088`, where ksqlDB users expect it.
fn ksql_node(
    cluster: &str,
    root: &Path,
    brokers: &[NodePlan],
    config: &BTreeMap<String, String>,
) -> NodePlan {
    let name = format!("{cluster}-ksql-0");
    let address = format!("127.0.0.1:{KSQL_PORT}");
    let mut properties = config.clone();
    let bootstrap: Vec<&str> = brokers.iter().map(|b| b.address.as_str()).collect();
    properties.insert("bootstrap.servers".into(), bootstrap.join(","));
    properties.insert("listeners".into(), format!("http://{address}"));
    NodePlan {
        properties_file: root.join(format!("{name}.properties")),
        log_file: root.join("logs").join(format!("{name}.log")),
        name,
        role: Role::Ksql,
        node_id: 0,
        address,
        properties,
    }
}

/// The web console on `localhost:8282`, showing this cluster under its name, with the
/// ksql server and every node's `/metrics` for its charts.
fn ui_node(
    cluster: &str,
    root: &Path,
    coordinators: &[NodePlan],
    brokers: &[NodePlan],
    ksql: Option<&NodePlan>,
) -> NodePlan {
    let name = format!("{cluster}-ui-0");
    let address = format!("127.0.0.1:{UI_PORT}");
    let bootstrap: Vec<&str> = brokers.iter().map(|b| b.address.as_str()).collect();
    let metrics: Vec<String> = coordinators
        .iter()
        .chain(brokers)
        .filter_map(|node| node.properties.get("potok.metrics.listener"))
        .map(|listener| format!("http://{listener}/metrics"))
        .chain(ksql.map(|ksql| format!("http://{}/metrics", ksql.address)))
        .collect();
    let mut properties = BTreeMap::from([
        ("listeners".to_string(), format!("http://{address}")),
        ("kafka.clusters.0.name".to_string(), cluster.to_string()),
        (
            "kafka.clusters.0.bootstrapServers".to_string(),
            bootstrap.join(","),
        ),
        (
            "kafka.clusters.0.metrics.urls".to_string(),
            metrics.join(","),
        ),
    ]);
    if let Some(ksql) = ksql {
        properties.insert(
            "kafka.clusters.0.ksqldbServer".to_string(),
            format!("http://{}", ksql.address),
        );
    }
    NodePlan {
        properties_file: root.join(format!("{name}.properties")),
        log_file: root.join("logs").join(format!("{name}.log")),
        name,
        role: Role::Ui,
        node_id: 0,
        address,
        properties,
    }
}

impl NodePlan {
    /// The properties file's text, in Kafka's `server.properties` format.
    pub fn properties_text(&self) -> String {
        let mut text = format!(
            "# {} ({:?}), written by potok-operator up.\n",
            self.name, self.role
        );
        for (key, value) in &self.properties {
            text.push_str(&format!("{key}={value}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::KafkaCluster;

    #[test]
    fn the_example_becomes_its_nodes_on_their_own_loopback_addresses() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/cluster.yaml"
        ))
        .unwrap();
        let cluster = KafkaCluster::parse(&text, "cluster.yaml").unwrap();
        let plan = ClusterPlan::new(&cluster, Path::new("/data"));
        assert_eq!(
            plan.bootstrap_servers(),
            "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
        );
        let names: Vec<&str> = plan.nodes().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "potok-coordinator-0",
                "potok-coordinator-1",
                "potok-coordinator-2",
                "potok-broker-0",
                "potok-broker-1",
                "potok-broker-2",
                "potok-ksql-0",
                "potok-ui-0"
            ]
        );
        let ksql = plan.ksql.as_ref().unwrap();
        assert_eq!(ksql.address, "127.0.0.1:8088");
        assert_eq!(
            ksql.properties["bootstrap.servers"],
            "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092"
        );
        let ui = plan.ui.as_ref().unwrap();
        assert_eq!(ui.address, "127.0.0.1:8282");
        assert_eq!(ui.properties["kafka.clusters.0.name"], "potok");
        assert_eq!(
            ui.properties["kafka.clusters.0.ksqldbServer"],
            "http://127.0.0.1:8088"
        );
        assert_eq!(
            ui.properties["kafka.clusters.0.metrics.urls"],
            "http://127.0.0.1:9309/metrics,http://127.0.0.2:9309/metrics,http://127.0.0.3:9309/metrics,http://127.0.0.1:9308/metrics,http://127.0.0.2:9308/metrics,http://127.0.0.3:9308/metrics,http://127.0.0.1:8088/metrics"
        );
        let broker = &plan.brokers[1];
        assert_eq!(broker.properties["node.id"], "2");
        assert_eq!(broker.properties["process.roles"], "broker");
        assert_eq!(broker.properties["listeners"], "PLAINTEXT://127.0.0.2:9092");
        assert_eq!(broker.properties["min.insync.replicas"], "2");
        assert_eq!(
            broker.properties["controller.quorum.voters"],
            "101@127.0.0.1:9093,102@127.0.0.2:9093,103@127.0.0.3:9093"
        );
        assert_eq!(broker.properties["log.dirs"], "/data/potok-broker-1");
        let coordinator = &plan.coordinators[2];
        assert_eq!(coordinator.node_id, 103);
        assert_eq!(
            coordinator.properties["potok.metrics.listener"],
            "127.0.0.3:9309"
        );
        assert_eq!(
            broker.properties["potok.metrics.listener"],
            "127.0.0.2:9308"
        );
        assert_eq!(
            coordinator.properties["listeners"],
            "CONTROLLER://127.0.0.3:9093"
        );
        assert_eq!(
            coordinator.log_file,
            Path::new("/data/logs/potok-coordinator-2.log")
        );
        assert!(broker.properties_text().contains("\nnode.id=2\n"));
    }

    #[test]
    fn coordinators_get_their_own_config() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/cluster.yaml"
        ))
        .unwrap()
        .replace(
            "  coordinators:\n    replicas: 3",
            "  coordinators:\n    replicas: 3\n    config:\n      metadata.log.segment.bytes: \"1048576\"",
        );
        let cluster = KafkaCluster::parse(&text, "cluster.yaml").unwrap();
        let plan = ClusterPlan::new(&cluster, Path::new("/data"));
        assert!(plan
            .coordinators
            .iter()
            .all(|c| c.properties["metadata.log.segment.bytes"] == "1048576"));
        let broker = &plan.brokers[0];
        assert!(!broker.properties.contains_key("metadata.log.segment.bytes"));
    }
}
