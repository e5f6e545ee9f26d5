//! The single-node controller: applies changes to the image, writes it to the log directory
//! (temp file, fsync, rename) before answering, and publishes it to the broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kafka_protocol::ResponseError;
use tokio::sync::watch;
use uuid::Uuid;

use super::controller::{BoxFuture, Controller, MetadataError, NewTopic};
use super::image::{BrokerInfo, MetadataImage, TopicImage};
use super::{commands, reassignment};
use crate::error::ApiError;

/// The file, inside the first log directory, that holds the image.
const IMAGE_FILE: &str = "potok-metadata.json";

pub struct LocalController {
    path: PathBuf,
    image: Mutex<MetadataImage>,
    published: watch::Sender<Arc<MetadataImage>>,
}

impl LocalController {
    /// Loads the image from `log_dir` (or starts a new cluster) and registers `broker`.
    pub fn open(log_dir: &Path, broker: BrokerInfo) -> std::io::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let path = log_dir.join(IMAGE_FILE);
        let mut image = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a valid metadata image: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => MetadataImage {
                cluster_id: new_cluster_id(),
                next_producer_id: 1000,
                ..MetadataImage::default()
            },
            Err(e) => return Err(e),
        };
        claim_log_dir(log_dir, &image.cluster_id, broker.id)?;
        image.controller_id = broker.id;
        image.brokers = BTreeMap::from([(broker.id, broker)]);
        write_atomically(&path, &image)?;
        let (published, _) = watch::channel(Arc::new(image.clone()));
        Ok(LocalController {
            path,
            image: Mutex::new(image),
            published,
        })
    }

    /// Applies `change` to a copy of the image, persists it, then publishes it.
    fn commit<T>(
        &self,
        change: impl FnOnce(&mut MetadataImage) -> Result<T, MetadataError>,
    ) -> Result<T, MetadataError> {
        let mut current = self.image.lock().expect("metadata lock poisoned");
        let mut next = current.clone();
        let outcome = change(&mut next)?;
        write_atomically(&self.path, &next).map_err(|e| {
            ApiError::new(
                ResponseError::KafkaStorageError,
                format!("cannot persist metadata: {e}"),
            )
        })?;
        *current = next.clone();
        self.published.send_replace(Arc::new(next));
        Ok(outcome)
    }
}

impl Controller for LocalController {
    fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.published.subscribe()
    }

    fn create_topic(&self, topic: NewTopic) -> BoxFuture<'_, Result<TopicImage, MetadataError>> {
        Box::pin(async move {
            if topic.validate_only {
                let image = self.image.lock().expect("metadata lock poisoned");
                return commands::plan_topic(&image, &topic, Uuid::new_v4());
            }
            self.commit(|image| {
                let planned = commands::plan_topic(image, &topic, Uuid::new_v4())?;
                commands::create_topic(image, planned.clone());
                Ok(planned)
            })
        })
    }

    fn delete_topic(&self, name: String) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move { self.commit(|image| commands::delete_topic(image, &name)) })
    }

    fn create_partitions(
        &self,
        name: String,
        total: i32,
        validate_only: bool,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            if validate_only {
                let mut copy = self.image.lock().expect("metadata lock poisoned").clone();
                return commands::create_partitions(&mut copy, &name, total);
            }
            self.commit(|image| commands::create_partitions(image, &name, total))
        })
    }

    fn set_topic_configs(
        &self,
        name: String,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(
            async move { self.commit(|image| commands::set_topic_configs(image, &name, configs)) },
        )
    }

    fn set_broker_configs(
        &self,
        configs: BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(|image| {
                image.broker_configs = configs;
                Ok(())
            })
        })
    }

    fn allocate_producer_ids(&self, count: i64) -> BoxFuture<'_, Result<i64, MetadataError>> {
        Box::pin(
            async move { self.commit(|image| Ok(commands::allocate_producer_ids(image, count))) },
        )
    }

    fn alter_partition(
        &self,
        topic: String,
        partition: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(|image| {
                let leader = image.controller_id;
                commands::alter_isr(image, &topic, partition, leader, leader_epoch, isr)
            })
        })
    }

    /// A single node has nobody to hand leadership to.
    fn controlled_shutdown(&self) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }

    /// A single node already leads everything.
    fn elect_preferred_leaders(&self) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async { Ok(()) })
    }

    /// A single node can only be asked to keep its replicas where they are.
    fn reassign_partition(
        &self,
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> BoxFuture<'_, Result<(), MetadataError>> {
        Box::pin(async move {
            self.commit(|image| match target {
                Some(target) => reassignment::reassign(image, &topic, partition, target),
                None => reassignment::cancel(image, &topic, partition),
            })
        })
    }
}

/// Kafka's cluster ids are a random UUID in URL-safe base64 without padding (22 characters).
pub fn new_cluster_id() -> String {
    base64_url(Uuid::new_v4().as_bytes())
}

/// URL-safe base64 without padding, the form Kafka prints topic and cluster ids in.
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(value >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Kafka's `meta.properties`: which cluster and node a log directory belongs to.
const META_PROPERTIES: &str = "meta.properties";

/// Makes `log_dir` belong to node `node_id` of cluster `cluster_id`, refusing a directory
/// that already belongs to another node or cluster: mixing them would corrupt both.
pub fn claim_log_dir(log_dir: &Path, cluster_id: &str, node_id: i32) -> std::io::Result<()> {
    std::fs::create_dir_all(log_dir)?;
    if let Some((claimed_cluster, claimed_node)) = read_meta_properties(log_dir)? {
        if claimed_node == node_id && claimed_cluster == cluster_id {
            return Ok(());
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} belongs to node.id {claimed_node} of cluster {claimed_cluster}, but this node is node.id {node_id} of cluster {cluster_id}; point log.dirs at this node's own directory",
                log_dir.display(),
            ),
        ));
    }
    write_meta_properties(log_dir, cluster_id, node_id)
}

/// The cluster id and node id `log_dir` belongs to, if it was claimed.
pub fn read_meta_properties(log_dir: &Path) -> std::io::Result<Option<(String, i32)>> {
    let text = match std::fs::read_to_string(log_dir.join(META_PROPERTIES)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    match (
        value("cluster.id"),
        value("node.id").and_then(|v| v.parse().ok()),
    ) {
        (Some(cluster_id), Some(node_id)) => Ok(Some((cluster_id.to_string(), node_id))),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} lacks cluster.id or node.id",
                log_dir.join(META_PROPERTIES).display()
            ),
        )),
    }
}

/// Replaced whole: a process killed while writing it in place left it empty, and the
/// directory could not be used again.
fn write_meta_properties(log_dir: &Path, cluster_id: &str, node_id: i32) -> std::io::Result<()> {
    let text = format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
    crate::durable_file::replace(&log_dir.join(META_PROPERTIES), text.as_bytes())
}

fn write_atomically(path: &Path, image: &MetadataImage) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(image).map_err(std::io::Error::other)?;
    crate::durable_file::replace(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker() -> BrokerInfo {
        BrokerInfo {
            id: 1,
            host: "localhost".into(),
            port: 9092,
            rack: None,
            endpoints: Vec::new(),
        }
    }

    #[test]
    fn base64_matches_kafka_form() {
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(new_cluster_id().len(), 22);
    }

    #[tokio::test]
    async fn topics_and_cluster_id_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let controller = LocalController::open(dir.path(), broker()).unwrap();
        let created = controller
            .create_topic(NewTopic {
                name: "payments".into(),
                partitions: 3,
                replication_factor: 1,
                assignments: vec![],
                configs: BTreeMap::from([("retention.ms".into(), "1000".into())]),
                validate_only: false,
            })
            .await
            .unwrap();
        let cluster_id = controller.subscribe().borrow().cluster_id.clone();
        drop(controller);

        let reopened = LocalController::open(dir.path(), broker()).unwrap();
        let image = reopened.subscribe().borrow().clone();
        assert_eq!(image.cluster_id, cluster_id);
        assert_eq!(image.topics["payments"], created);
    }

    #[test]
    fn a_directory_of_another_node_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(LocalController::open(dir.path(), broker()).unwrap());
        let other = BrokerInfo { id: 2, ..broker() };
        let error = LocalController::open(dir.path(), other).err().unwrap();
        assert!(
            error.to_string().contains("belongs to node.id 1"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn validate_only_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let controller = LocalController::open(dir.path(), broker()).unwrap();
        controller
            .create_topic(NewTopic {
                name: "t".into(),
                partitions: 1,
                replication_factor: 1,
                assignments: vec![],
                configs: BTreeMap::new(),
                validate_only: true,
            })
            .await
            .unwrap();
        assert!(controller.subscribe().borrow().topics.is_empty());
    }
}
