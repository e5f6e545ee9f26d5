//! From a resource's `spec.cluster` to the KafkaCluster of that name in the resource's
//! namespace, and from there to what the reconcilers talk to: the brokers the cluster
//! publishes in `status.bootstrapServers`, and its ksql server behind the `<name>-ksql`
//! Service. A cluster that cannot be used yet is a [`Refusal`] to report in the status.

use std::time::Duration;

use kube::{Api, Client};

use super::{Context, PROGRESS_INTERVAL};
use crate::reconcile::condition::reason as common;
use crate::resources::KafkaCluster;

/// The port of the ksql server's REST API on its Service (ksqlDB's default).
pub const KSQL_PORT: u16 = 8088;

/// `Ready` reasons of the Kubernetes runtime alone.
pub mod reason {
    /// The KafkaCluster exists but publishes no bootstrap servers yet.
    pub const CLUSTER_NOT_READY: &str = "ClusterNotReady";
}

/// Why a resource cannot be reconciled against its cluster now: the `Ready=False` reason
/// and message to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    /// When to look again: soon for a cluster that is starting; at the resync interval
    /// otherwise, as only an edit (or a new KafkaCluster) can change the answer.
    pub fn retry_after(&self, ctx: &Context) -> Duration {
        if self.reason == reason::CLUSTER_NOT_READY {
            PROGRESS_INTERVAL
        } else {
            ctx.resync
        }
    }
}

/// The KafkaCluster `name` in `namespace`, or `None` when there is none.
pub async fn get(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<KafkaCluster>, kube::Error> {
    Api::<KafkaCluster>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
}

/// The cluster's `host:port,...` for clients.
pub fn bootstrap_servers(cluster: Option<&KafkaCluster>, name: &str) -> Result<String, Refusal> {
    let cluster = cluster.ok_or_else(|| not_found(name))?;
    cluster
        .status
        .as_ref()
        .and_then(|status| status.bootstrap_servers.clone())
        .ok_or_else(|| Refusal {
            reason: reason::CLUSTER_NOT_READY,
            message: format!("the KafkaCluster {name} has no bootstrap servers in its status yet"),
        })
}

/// The URL of the cluster's ksql server: its `<name>-ksql` Service in `namespace`.
pub fn ksql_url(
    cluster: Option<&KafkaCluster>,
    name: &str,
    namespace: &str,
) -> Result<String, Refusal> {
    let cluster = cluster.ok_or_else(|| not_found(name))?;
    match &cluster.spec.ksql {
        Some(ksql) if ksql.replicas > 0 => Ok(format!(
            "http://{name}-ksql.{namespace}.svc:{KSQL_PORT}"
        )),
        _ => Err(Refusal {
            reason: common::KSQL_NOT_RUNNING,
            message: format!(
                "the KafkaCluster {name} runs no ksql server; set its spec.ksql.replicas to 1 or more"
            ),
        }),
    }
}

fn not_found(name: &str) -> Refusal {
    Refusal {
        reason: common::CLUSTER_NOT_FOUND,
        message: format!(
            "there is no KafkaCluster {name} in this namespace; create it, or set spec.cluster to one that exists"
        ),
    }
}
