//! What the client knows about the cluster: connections per broker, the latest Metadata,
//! partition leaders, and retrying operations through leadership changes.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::backoff::{self, Backoff};
use crate::connection::Connection;
use crate::error::{check, ClientError, KafkaError};

/// Settings shared by every client built on a [`Cluster`].
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `bootstrap.servers`: host:port pairs tried in order until one answers.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `request.timeout.ms`: how long one request may take.
    pub request_timeout: Duration,
    /// `retry.backoff.ms`: the first pause before retrying a retriable error.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the pause doubles after each failed attempt up to this.
    pub retry_backoff_max: Duration,
    /// How long retriable errors are retried before giving up (`default.api.timeout.ms`).
    pub retry_deadline: Duration,
}

impl ClusterConfig {
    /// Parses `bootstrap.servers` (comma-separated host:port) with Kafka's default timeouts.
    pub fn new(bootstrap_servers: &str) -> Result<ClusterConfig, ClientError> {
        let servers: Vec<String> = bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if servers.is_empty() {
            return Err(ClientError::Config("bootstrap.servers is empty".into()));
        }
        if let Some(bad) = servers.iter().find(|s| !s.contains(':')) {
            return Err(ClientError::Config(format!(
                "Invalid url in bootstrap.servers: {bad}"
            )));
        }
        Ok(ClusterConfig {
            bootstrap_servers: servers,
            client_id: "potok-client".into(),
            request_timeout: Duration::from_secs(30),
            retry_backoff: backoff::DEFAULT_RETRY_BACKOFF,
            retry_backoff_max: backoff::DEFAULT_RETRY_BACKOFF_MAX,
            retry_deadline: Duration::from_secs(60),
        })
    }

    /// A fresh backoff for one retried operation: `retry.backoff.ms` doubling up to
    /// `retry.backoff.max.ms`.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.retry_backoff, self.retry_backoff_max)
    }
}

/// A partition of a topic, the unit of ordering and leadership.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A broker as listed in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// One partition as listed in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// `None` when the partition has no leader (Kafka's leader -1).
    pub leader: Option<i32>,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub error: Option<KafkaError>,
}

/// One topic as listed in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub id: Uuid,
    pub is_internal: bool,
    /// Sorted by partition index.
    pub partitions: Vec<PartitionMetadata>,
    pub error: Option<KafkaError>,
}

/// A Metadata response in the client's terms.
#[derive(Debug, Clone, Default)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicMetadata>,
}

#[derive(Debug, Default)]
struct State {
    broker_addresses: HashMap<i32, String>,
    connections: HashMap<i32, Arc<Connection>>,
    bootstrap: Option<Arc<Connection>>,
    topics: HashMap<String, TopicMetadata>,
    controller_id: Option<i32>,
}

/// Connections and metadata for one cluster; shared by admin, producer and consumer.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    state: Mutex<State>,
}

impl Cluster {
    pub fn new(config: ClusterConfig) -> Arc<Cluster> {
        Arc::new(Cluster {
            config,
            state: Mutex::new(State::default()),
        })
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// A connection to any broker: an open one if there is one, else the bootstrap servers
    /// and then known brokers, in order.
    pub async fn any_connection(&self) -> Result<Arc<Connection>, ClientError> {
        let (open, known) = {
            let state = self.lock();
            let open = state
                .bootstrap
                .iter()
                .chain(state.connections.values())
                .find(|c| c.is_usable())
                .cloned();
            (
                open,
                state.broker_addresses.values().cloned().collect::<Vec<_>>(),
            )
        };
        if let Some(connection) = open {
            return Ok(connection);
        }
        let mut last_error = None;
        for address in self.config.bootstrap_servers.iter().chain(known.iter()) {
            match self.open(address).await {
                Ok(connection) => {
                    let connection = Arc::new(connection);
                    self.lock().bootstrap = Some(connection.clone());
                    return Ok(connection);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(ClientError::NoBrokerAvailable(
            last_error.map_or_else(|| "no addresses".into(), |e| e.to_string()),
        ))
    }

    /// The connection to broker `broker_id`, opened on first use.
    pub async fn connection(&self, broker_id: i32) -> Result<Arc<Connection>, ClientError> {
        let address = {
            let state = self.lock();
            if let Some(c) = state.connections.get(&broker_id).filter(|c| c.is_usable()) {
                return Ok(c.clone());
            }
            state.broker_addresses.get(&broker_id).cloned()
        };
        let address = match address {
            Some(address) => address,
            None => {
                self.metadata(Some(&[]), false).await?;
                self.lock()
                    .broker_addresses
                    .get(&broker_id)
                    .cloned()
                    .ok_or_else(|| {
                        ClientError::NoBrokerAvailable(format!("broker {broker_id} is unknown"))
                    })?
            }
        };
        let connection = Arc::new(self.open(&address).await?);
        self.lock()
            .connections
            .insert(broker_id, connection.clone());
        Ok(connection)
    }

    /// A connection to the broker admin requests go to: the controller Metadata names (any
    /// broker forwards to the real one in KRaft clusters), else any broker.
    pub async fn admin_connection(&self) -> Result<Arc<Connection>, ClientError> {
        let controller = self.lock().controller_id;
        let controller = match controller {
            Some(id) => Some(id),
            None => self.metadata(Some(&[]), false).await?.controller_id,
        };
        match controller {
            Some(id) => match self.connection(id).await {
                Ok(c) => Ok(c),
                Err(_) => self.any_connection().await,
            },
            None => self.any_connection().await,
        }
    }

    /// Fetches Metadata for `topics` (`None`: all topics) and remembers what it says.
    pub async fn metadata(
        &self,
        topics: Option<&[String]>,
        allow_auto_topic_creation: bool,
    ) -> Result<ClusterMetadata, ClientError> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_topic_creation);
        let connection = self.any_connection().await?;
        let response = connection.send(request).await?;
        let metadata = ClusterMetadata::from(response);
        self.remember(&metadata);
        Ok(metadata)
    }

    /// The metadata of `topic`, from the cache when present.
    pub async fn topic(&self, topic: &str) -> Result<TopicMetadata, ClientError> {
        if let Some(known) = self.lock().topics.get(topic) {
            return Ok(known.clone());
        }
        self.refresh_topic(topic, false).await
    }

    /// Fetches the metadata of `topic` again, failing with the topic's error if it has one.
    pub async fn refresh_topic(
        &self,
        topic: &str,
        allow_auto_topic_creation: bool,
    ) -> Result<TopicMetadata, ClientError> {
        let metadata = self
            .metadata(Some(&[topic.to_owned()]), allow_auto_topic_creation)
            .await?;
        let found = metadata.topics.get(topic).cloned().ok_or_else(|| {
            ClientError::Kafka(KafkaError::new(
                3,
                Some("This server does not host this topic-partition."),
            ))
        })?;
        match &found.error {
            Some(error) => Err(error.clone().into()),
            None => Ok(found),
        }
    }

    /// The leader of `topic`/`partition`, refreshing metadata when it is unknown.
    pub async fn leader_for(&self, topic: &str, partition: i32) -> Result<i32, ClientError> {
        let cached = self.topic(topic).await?;
        if let Some(leader) = leader_of(&cached, partition) {
            return Ok(leader);
        }
        let fresh = self.refresh_topic(topic, false).await?;
        leader_of(&fresh, partition).ok_or_else(|| KafkaError::new(5, None).into())
    }

    /// The broker coordinating `group` (FindCoordinator, retried while the coordinator is
    /// still loading or moving).
    pub async fn group_coordinator(&self, group: &str) -> Result<i32, ClientError> {
        self.retry(|| async {
            let connection = self.any_connection().await?;
            let key = StrBytes::from_string(group.to_string());
            // v4 batches keys; earlier versions take one.
            let version = connection.version_for(ApiKey::FindCoordinator)?;
            let request = if version >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
            } else {
                FindCoordinatorRequest::default().with_key(key)
            };
            let response = connection.send_at(version, request).await?;
            match response.coordinators.first() {
                Some(c) => {
                    check(c.error_code, c.error_message.as_deref())?;
                    Ok(c.node_id.0)
                }
                None => {
                    check(response.error_code, response.error_message.as_deref())?;
                    Ok(response.node_id.0)
                }
            }
        })
        .await
    }

    /// Forgets what is known about `topic`, so the next lookup asks the cluster again.
    pub fn invalidate(&self, topic: &str) {
        self.lock().topics.remove(topic);
    }

    /// Runs `operation` until it succeeds, fails with a non-retriable error, or the retry
    /// deadline passes; backs off exponentially, with jitter, between attempts.
    pub async fn retry<T, F, Fut>(&self, mut operation: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let deadline = tokio::time::Instant::now() + self.config.retry_deadline;
        let mut backoff = self.config.backoff();
        loop {
            let error = match operation().await {
                Err(e) if e.is_retriable() => e,
                other => return other,
            };
            let delay = backoff.next_delay();
            if tokio::time::Instant::now() + delay >= deadline {
                return Err(error);
            }
            tracing::debug!("retrying in {delay:?} after {error}");
            tokio::time::sleep(delay).await;
        }
    }

    async fn open(&self, address: &str) -> Result<Connection, ClientError> {
        Connection::connect(address, &self.config.client_id, self.config.request_timeout).await
    }

    fn remember(&self, metadata: &ClusterMetadata) {
        let mut state = self.lock();
        for broker in metadata.brokers.values() {
            let address = format!("{}:{}", broker.host, broker.port);
            let previous = state.broker_addresses.insert(broker.id, address.clone());
            if previous.is_some_and(|p| p != address) {
                state.connections.remove(&broker.id);
            }
        }
        state.controller_id = metadata.controller_id;
        for topic in metadata.topics.values() {
            if topic.error.is_none() {
                state.topics.insert(topic.name.clone(), topic.clone());
            } else {
                state.topics.remove(&topic.name);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn leader_of(topic: &TopicMetadata, partition: i32) -> Option<i32> {
    topic
        .partitions
        .iter()
        .find(|p| p.partition == partition)
        .and_then(|p| p.leader)
}

impl From<MetadataResponse> for ClusterMetadata {
    fn from(response: MetadataResponse) -> Self {
        let brokers = response
            .brokers
            .into_iter()
            .map(|b| {
                let info = BrokerInfo {
                    id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.map(|r| r.to_string()),
                };
                (info.id, info)
            })
            .collect();
        let topics = response
            .topics
            .into_iter()
            .filter_map(|t| {
                let name = t.name?.0.to_string();
                let mut partitions: Vec<PartitionMetadata> = t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionMetadata {
                        partition: p.partition_index,
                        leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.into_iter().map(|b| b.0).collect(),
                        isr: p.isr_nodes.into_iter().map(|b| b.0).collect(),
                        offline_replicas: p.offline_replicas.into_iter().map(|b| b.0).collect(),
                        error: (p.error_code != 0).then(|| KafkaError::new(p.error_code, None)),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                let topic = TopicMetadata {
                    name: name.clone(),
                    id: t.topic_id,
                    is_internal: t.is_internal,
                    partitions,
                    error: (t.error_code != 0).then(|| KafkaError::new(t.error_code, None)),
                };
                Some((name, topic))
            })
            .collect();
        ClusterMetadata {
            cluster_id: response.cluster_id.map(|c| c.to_string()),
            controller_id: (response.controller_id.0 >= 0).then_some(response.controller_id.0),
            brokers,
            topics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_servers_are_split_and_checked() {
        let config = ClusterConfig::new("a:1, b:2,").unwrap();
        assert_eq!(config.bootstrap_servers, ["a:1", "b:2"]);
        assert!(ClusterConfig::new("").is_err());
        assert!(ClusterConfig::new("nohost").is_err());
    }
}
