//! The partitions this broker hosts. It follows the metadata image: a partition assigned
//! to this node gets a log under `<log.dirs>/<topic>-<partition>/`, a deleted topic's logs
//! are removed, config changes reach the logs. Handlers look partitions up here.

mod fetcher;
mod isr_retries;
mod log_config;
mod log_dir;
mod partition;
mod producer_state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use uuid::Uuid;

pub use fetcher::Fetchers;
pub use isr_retries::IsrRetries;
pub use log_config::log_config;
pub use log_dir::{describe_space, free_space, LogDir};
pub use partition::{Appended, FollowerFetch, Partition, Role};

use crate::config::BrokerConfig;
use crate::log::LogError;
use crate::metadata::MetadataImage;

/// Kafka writes the topic id beside each partition's segments so a recreated topic with
/// the same name is never confused with the old one.
const PARTITION_METADATA_FILE: &str = "partition.metadata";

pub type TopicPartition = (String, i32);

pub struct ReplicaManager {
    node_id: i32,
    log_dir: Arc<LogDir>,
    broker_config: BrokerConfig,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Serialises image application so two callers never open the same log twice.
    applying: Mutex<()>,
    /// Woken on every append so long-polling fetches can re-check.
    appended: Notify,
}

impl ReplicaManager {
    pub fn new(config: &BrokerConfig, log_dir: Arc<LogDir>) -> Self {
        ReplicaManager {
            node_id: config.node_id,
            log_dir,
            broker_config: config.clone(),
            partitions: RwLock::new(HashMap::new()),
            applying: Mutex::new(()),
            appended: Notify::new(),
        }
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partition map poisoned")
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partition map poisoned")
            .values()
            .cloned()
            .collect()
    }

    pub fn appended(&self) -> &Notify {
        &self.appended
    }

    pub fn notify_appended(&self) {
        self.appended.notify_waiters();
    }

    /// Brings the hosted partitions in line with `image` and returns those whose role
    /// changed (leader, follower of another broker, offline), with the new role.
    pub fn apply_image(
        &self,
        image: &MetadataImage,
    ) -> Result<Vec<(Arc<Partition>, Role)>, LogError> {
        let _guard = self.applying.lock().expect("apply lock poisoned");
        self.remove_stale(image)?;
        let mut changed = Vec::new();
        for topic in image.topics.values() {
            let config = log_config(&topic.configs, &image.broker_configs, &self.broker_config);
            for (index, assignment) in topic.partitions.iter().enumerate() {
                if !assignment.replicas.contains(&self.node_id) {
                    continue;
                }
                let partition = match self.get(&topic.name, index as i32) {
                    Some(existing) => {
                        existing.update_config(config.clone());
                        existing
                    }
                    None => {
                        let partition = Arc::new(
                            self.open_partition(&topic.name, index as i32, topic.id, &config)
                                .inspect_err(|error| {
                                    if let LogError::Io(error) = error {
                                        self.log_dir.fail(error);
                                    }
                                })?,
                        );
                        self.partitions
                            .write()
                            .expect("partition map poisoned")
                            .insert((topic.name.clone(), index as i32), partition.clone());
                        partition
                    }
                };
                let before = partition.role();
                let epoch = partition.leader_epoch();
                let after = partition.apply_assignment(
                    assignment,
                    config.min_insync_replicas,
                    std::time::Instant::now(),
                );
                if before != after || epoch != assignment.leader_epoch {
                    changed.push((partition, after));
                }
            }
        }
        self.notify_appended();
        Ok(changed)
    }

    /// Opens (or creates) a partition's log, recovering it as the last shutdown requires.
    fn open_partition(
        &self,
        topic: &str,
        index: i32,
        topic_id: Uuid,
        config: &crate::log::LogConfig,
    ) -> Result<Partition, LogError> {
        let dir = self.partition_dir(topic, index);
        claim_directory(&dir, topic_id)?;
        Partition::open(
            &dir,
            topic,
            index,
            topic_id,
            self.node_id,
            config.clone(),
            self.log_dir.clone(),
        )
    }

    /// The partitions this broker follows from `leader`.
    pub fn followed_from(&self, leader: i32) -> Vec<Arc<Partition>> {
        self.all()
            .into_iter()
            .filter(|p| p.role() == Role::Follower { leader })
            .collect()
    }

    /// Deletes logs whose topic no longer exists (or was recreated under a new id), and
    /// those of partitions this broker is no longer a replica of (a reassignment moved
    /// them). A moved partition first takes its new assignment, so requests waiting on it
    /// as leader are answered with NOT_LEADER_OR_FOLLOWER.
    fn remove_stale(&self, image: &MetadataImage) -> Result<(), LogError> {
        let stale: Vec<TopicPartition> = self
            .partitions
            .read()
            .expect("partition map poisoned")
            .iter()
            .filter(|(_, partition)| {
                let topic = image
                    .topics
                    .get(&partition.topic)
                    .filter(|topic| topic.id == partition.topic_id);
                let Some(topic) = topic else {
                    return true;
                };
                match topic.partitions.get(partition.index as usize) {
                    Some(assignment) if !assignment.replicas.contains(&self.node_id) => {
                        partition.apply_assignment(
                            assignment,
                            1,
                            std::time::Instant::now(),
                        );
                        true
                    }
                    Some(_) => false,
                    None => true,
                }
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            let removed = self
                .partitions
                .write()
                .expect("partition map poisoned")
                .remove(&key);
            if let Some(partition) = removed {
                match Arc::try_unwrap(partition) {
                    Ok(partition) => partition.delete()?,
                    Err(still_used) => {
                        remove_dir(&self.partition_dir(&still_used.topic, still_used.index))?
                    }
                }
                tracing::info!(topic = %key.0, partition = key.1, "deleted partition log");
            }
        }
        Ok(())
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.log_dir.path().join(format!("{topic}-{partition}"))
    }

    pub fn log_dir(&self) -> &LogDir {
        &self.log_dir
    }

    /// Flushes every partition and, if all went well, marks the shutdown clean.
    pub fn flush_for_shutdown(&self) {
        if let Some(reason) = self.log_dir.failure() {
            tracing::warn!(log_dir = %self.log_dir.path().display(), %reason, "not flushing an offline log directory; the next start checks every segment");
            return;
        }
        let mut flushed = true;
        for partition in self.all() {
            if let Err(error) = partition.flush() {
                flushed = false;
                tracing::error!(topic = %partition.topic, partition = partition.index, %error, "flush failed");
            }
        }
        if flushed {
            if let Err(error) = self.log_dir.mark_clean_shutdown() {
                tracing::error!(%error, "cannot mark the shutdown clean; the next start checks every segment");
            }
        }
    }
}

/// Makes `dir` belong to topic `id`: a directory left by a deleted topic of the same name
/// is removed first.
fn claim_directory(dir: &Path, id: Uuid) -> Result<(), LogError> {
    let metadata_file = dir.join(PARTITION_METADATA_FILE);
    let expected = format!(
        "version: 0\ntopic_id: {}\n",
        crate::metadata::kafka_uuid(id)
    );
    match std::fs::read_to_string(&metadata_file) {
        Ok(existing) if existing == expected => return Ok(()),
        Ok(_) => remove_dir(dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    std::fs::create_dir_all(dir)?;
    crate::durable_file::replace(&metadata_file, expected.as_bytes())?;
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<(), LogError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
