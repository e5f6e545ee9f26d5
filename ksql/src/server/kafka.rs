//! The server's Kafka side: one cluster connection shared by an admin client and a
//! producer, topic metadata for the executor, and the effects statements ask for.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use potok_client::admin::{NewTopic, OffsetSpec};
use potok_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, SeekTo};
use potok_client::producer::{ProducerConfig, ProducerRecord};
use potok_client::{AdminClient, ClientError, Cluster, ClusterConfig, TopicPartition};

use crate::executor::Topics;

/// Kafka as the server uses it.
pub struct KafkaIo {
    /// For consumers, which get connections of their own: a broker answers one request
    /// per connection at a time, so a consumer's long-polling fetch on a shared
    /// connection would hold every write behind it.
    cluster_config: ClusterConfig,
    admin: AdminClient,
    producer: potok_client::producer::Producer,
}

/// How long reading a topic to its end may take before giving up on the rest.
const READ_TO_END_PATIENCE: Duration = Duration::from_secs(30);

/// Kafka's error for a topic that already exists.
const TOPIC_ALREADY_EXISTS: i16 = 36;

impl KafkaIo {
    pub fn new(bootstrap_servers: &str) -> Result<KafkaIo, ClientError> {
        let mut config = ClusterConfig::new(bootstrap_servers)?;
        config.client_id = "potok-ksql".into();
        let cluster = Cluster::new(config.clone());
        let producer_config = ProducerConfig {
            linger: std::time::Duration::from_millis(5),
            ..ProducerConfig::default()
        };
        Ok(KafkaIo {
            admin: AdminClient::with_cluster(cluster.clone()),
            producer: potok_client::producer::Producer::with_cluster(
                cluster.clone(),
                producer_config,
            ),
            cluster_config: config,
        })
    }

    /// Waits until the cluster answers.
    pub async fn connect(&self) -> Result<(), ClientError> {
        self.admin.connect().await
    }

    /// Every topic with its partition count.
    pub async fn topics(&self) -> Result<Topics, ClientError> {
        let names: Vec<String> = self
            .admin
            .list_topics(false)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        if names.is_empty() {
            return Ok(Topics::new());
        }
        let described = self.admin.describe_topics(&names).await?;
        Ok(described
            .into_iter()
            .filter_map(|(name, description)| {
                description.ok().map(|d| (name, d.partitions.len() as i32))
            })
            .collect())
    }

    /// Creates a topic; one that already exists is fine.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replicas: Option<i16>,
    ) -> Result<(), String> {
        self.create_topic_with(name, partitions, replicas, &[])
            .await
    }

    /// Creates a topic with topic configs (`cleanup.policy=compact` for changelogs).
    pub async fn create_topic_with(
        &self,
        name: &str,
        partitions: i32,
        replicas: Option<i16>,
        configs: &[(&str, &str)],
    ) -> Result<(), String> {
        let topic = NewTopic {
            name: name.to_string(),
            partitions: Some(partitions),
            replication_factor: replicas,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..NewTopic::default()
        };
        let results = self
            .admin
            .create_topics(&[topic], false)
            .await
            .map_err(|e| format!("Could not create topic '{name}': {e}"))?;
        match results.get(name) {
            Some(Err(error)) if error.code != TOPIC_ALREADY_EXISTS => {
                Err(format!("Could not create topic '{name}': {error}"))
            }
            _ => Ok(()),
        }
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), String> {
        self.admin
            .delete_topics(&[name.to_string()])
            .await
            .map(|_| ())
            .map_err(|e| format!("Could not delete topic '{name}': {e}"))
    }

    /// Sends a record and waits for its acknowledgement.
    pub async fn produce(
        &self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: Option<i64>,
    ) -> Result<(), ClientError> {
        self.send(topic, key, value, timestamp).await.map(|_| ())
    }

    /// Queues a record; the future resolves when it is acknowledged.
    pub fn send(
        &self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: Option<i64>,
    ) -> impl std::future::Future<Output = Result<potok_client::producer::RecordMetadata, ClientError>>
           + Send
           + 'static {
        self.producer.send(ProducerRecord {
            topic: topic.to_string(),
            partition: None,
            key: key.map(Bytes::from),
            value: value.map(Bytes::from),
            headers: Vec::new(),
            timestamp,
        })
    }

    pub async fn flush(&self) -> Result<(), ClientError> {
        self.producer.flush().await
    }

    /// Every record of a topic up to its current end, partition by partition: what the
    /// command topic replays and what a pull query over a stream scans.
    pub async fn read_to_end(
        &self,
        topic: &str,
        partitions: i32,
    ) -> Result<Vec<ConsumerRecord>, ClientError> {
        let specs: Vec<(TopicPartition, OffsetSpec)> = (0..partitions)
            .map(|p| (TopicPartition::new(topic, p), OffsetSpec::Latest))
            .collect();
        let ends: BTreeMap<TopicPartition, i64> = self
            .admin
            .list_offsets(&specs)
            .await?
            .into_iter()
            .filter_map(|(tp, listed)| listed.ok().map(|l| (tp, l.offset)))
            .filter(|(_, end)| *end > 0)
            .collect();
        let mut consumer = self.consumer(ConsumerConfig {
            auto_offset_reset: SeekTo::Beginning,
            ..ConsumerConfig::default()
        });
        consumer.assign(ends.keys().cloned().collect());
        let mut records = Vec::new();
        let mut remaining: BTreeMap<TopicPartition, i64> = ends;
        let deadline = tokio::time::Instant::now() + READ_TO_END_PATIENCE;
        while !remaining.is_empty() && tokio::time::Instant::now() < deadline {
            for record in consumer.poll(Duration::from_millis(200)).await? {
                let tp = TopicPartition::new(&record.topic, record.partition);
                if let Some(end) = remaining.get(&tp) {
                    if record.offset + 1 >= *end {
                        remaining.remove(&tp);
                    }
                    records.push(record);
                }
            }
        }
        Ok(records)
    }

    /// A consumer with its own connections.
    pub fn consumer(&self, config: ConsumerConfig) -> Consumer {
        Consumer::new(self.cluster_config.clone(), config)
    }
}

/// A consumed record read as a record of `source` (its window split off a windowed key).
pub fn decode_consumed(
    source: &crate::catalog::Source,
    record: &ConsumerRecord,
) -> Result<crate::engine::SourceRecord, String> {
    let (key, window) = crate::codec::split_windowed_key(record.key.as_deref(), source.window);
    crate::codec::decode(
        source,
        crate::codec::RawRecord {
            key,
            value: record.value.as_deref(),
            timestamp: record.timestamp,
            partition: record.partition,
            offset: record.offset,
            window,
        },
    )
}
