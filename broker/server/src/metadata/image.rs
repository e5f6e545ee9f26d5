//! The metadata image: an immutable snapshot of what the cluster looks like. A new image
//! is published after every committed change; readers hold an `Arc` to the one they started with.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataImage {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    /// Registered brokers without a live lease: they lead nothing and get no new replicas.
    #[serde(default)]
    pub fenced_brokers: BTreeSet<i32>,
    pub topics: BTreeMap<String, TopicImage>,
    /// Cluster-wide dynamic broker configs (`kafka-configs --entity-type brokers --entity-default`).
    pub broker_configs: BTreeMap<String, String>,
    /// The next producer id the controller hands out.
    pub next_producer_id: i64,
}

/// A registered broker. `host` and `port` are its inter-broker listener's advertised
/// address; `endpoints` has every advertised listener by name, so a client is answered with
/// the address of the listener it connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
}

/// One advertised listener: `INTERNAL://kafka1:19092` is name INTERNAL, host kafka1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl BrokerInfo {
    /// The address a client connected to `listener` should use: that listener's advertised
    /// address, or the inter-broker one for a broker that registered none by that name.
    pub fn address_on(&self, listener: &str) -> (&str, u16) {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.name == listener)
            .map_or((self.host.as_str(), self.port), |endpoint| {
                (endpoint.host.as_str(), endpoint.port)
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionImage>,
    /// Dynamic topic config overrides only; defaults come from the broker.
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionImage {
    /// Every replica; during a reassignment the target's first, then those being removed.
    pub replicas: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    /// Replicas a reassignment in progress is adding (catching up, not yet in the target's ISR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    /// Replicas a reassignment in progress removes once the target is in sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
}

impl MetadataImage {
    /// Brokers with a live lease, in id order.
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerInfo> {
        self.brokers
            .values()
            .filter(|b| !self.fenced_brokers.contains(&b.id))
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<&TopicImage> {
        self.topics.values().find(|topic| topic.id == id)
    }
}

impl TopicImage {
    /// Kafka marks topics whose names start with `__` (such as `__consumer_offsets`) internal.
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }

    /// The replication factor the topic has, or is being reassigned to.
    pub fn replication_factor(&self) -> usize {
        self.partitions
            .first()
            .map_or(0, |p| p.target_replicas().len())
    }
}

impl PartitionImage {
    pub fn is_reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replicas before the reassignment in progress (all of them when none is).
    pub fn original_replicas(&self) -> Vec<i32> {
        without(&self.replicas, &self.adding_replicas)
    }

    /// The replicas once the reassignment in progress completes (all of them when none is).
    pub fn target_replicas(&self) -> Vec<i32> {
        without(&self.replicas, &self.removing_replicas)
    }

    /// Those of `replicas`, in their order, that are in sync.
    pub fn in_sync_among(&self, replicas: &[i32]) -> Vec<i32> {
        replicas
            .iter()
            .copied()
            .filter(|id| self.isr.contains(id))
            .collect()
    }
}

/// `list` in its order, less the ids in `removed`.
pub(crate) fn without(list: &[i32], removed: &[i32]) -> Vec<i32> {
    list.iter()
        .copied()
        .filter(|id| !removed.contains(id))
        .collect()
}
