//! The partitions this broker hosts. It follows the metadata image: a partition assigned
//! to this node gets a log under `<log.dirs>/<topic>-<partition>/`, a deleted topic's logs
//! are removed, config changes reach the logs. Handlers look partitions up here.

mod fetcher;
mod log_config;
mod log_dir;
mod partition;
mod partition_retries;
mod producer_state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use uuid::Uuid;

pub use fetcher::Fetchers;
pub use log_config::log_config;
pub use log_dir::{describe_space, free_space, LogDir};
pub use partition::{Appended, FollowerFetch, Partition, Role};
pub use partition_retries::PartitionRetries;

use crate::config::BrokerConfig;
use crate::log::LogError;
use crate::metadata::{MetadataImage, PartitionImage};

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
    /// Whether the log directory was checked for stray partitions (see `remove_strays`).
    strays_checked: AtomicBool,
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
            strays_checked: AtomicBool::new(false),
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
        if !image.cluster_id.is_empty() && !self.strays_checked.swap(true, Ordering::AcqRel) {
            self.remove_strays(image)?;
        }
        let mut changed = Vec::new();
        let mut unopened = 0usize;
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
                        let opened =
                            self.open_partition(&topic.name, index as i32, topic.id, &config);
                        let partition = match opened {
                            Ok(partition) => Arc::new(partition),
                            Err(LogError::Io(error)) if crate::open_files::exhausted(&error) => {
                                unopened += 1;
                                continue;
                            }
                            Err(error) => {
                                if let LogError::Io(error) = &error {
                                    self.log_dir.fail(error);
                                }
                                return Err(error);
                            }
                        };
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
        if unopened > 0 {
            tracing::error!(
                unopened,
                hosted = self.all().len(),
                open_files_limit = crate::open_files::limit(),
                "partitions assigned to this broker cannot be opened: the process has reached its open files limit (each partition holds one file per segment, each connection one); raise the limit (ulimit -n, systemd's LimitNOFILE, Docker's --ulimit nofile) or host fewer partitions here. They are tried again at the next metadata change; the log directory stays online"
            );
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
        let mut stale: Vec<TopicPartition> = Vec::new();
        let mut moved: Vec<(Arc<Partition>, PartitionImage)> = Vec::new();
        for (key, partition) in self
            .partitions
            .read()
            .expect("partition map poisoned")
            .iter()
        {
            let same_topic = |id| id == partition.topic_id;
            match assignment(image, &partition.topic, partition.index, same_topic) {
                None => stale.push(key.clone()),
                Some(a) if !a.replicas.contains(&self.node_id) => {
                    stale.push(key.clone());
                    moved.push((partition.clone(), a.clone()));
                }
                Some(_) => {}
            }
        }
        for (partition, assignment) in moved {
            partition.apply_assignment(&assignment, 1, std::time::Instant::now());
        }
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

    /// Deletes partition directories this broker holds no replica of by the first image it
    /// applies (the quorum's state when it started): topics deleted, and partitions moved
    /// away by a reassignment, while it was down. Kafka removes such stray logs at start-up
    /// too. Only directories marked with a topic id are considered.
    fn remove_strays(&self, image: &MetadataImage) -> Result<(), LogError> {
        for entry in std::fs::read_dir(self.log_dir.path())? {
            let dir = entry?.path();
            let Some((topic, index)) = dir
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.rsplit_once('-'))
                .and_then(|(topic, index)| Some((topic.to_string(), index.parse::<i32>().ok()?)))
            else {
                continue;
            };
            let Ok(marker) = std::fs::read_to_string(dir.join(PARTITION_METADATA_FILE)) else {
                continue;
            };
            let same_topic = |id| marker == partition_metadata(id);
            let hosted = assignment(image, &topic, index, same_topic)
                .is_some_and(|a| a.replicas.contains(&self.node_id));
            if !hosted && self.get(&topic, index).is_none() {
                remove_dir(&dir)?;
                tracing::info!(%topic, partition = index, "deleted stray partition log: this broker holds no replica of it any more");
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
    let expected = partition_metadata(id);
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

/// What `image` assigns to partition `index` of `topic`, while that name still belongs to
/// the topic `same_topic` recognises by id (not one deleted and created again).
fn assignment<'a>(
    image: &'a MetadataImage,
    topic: &str,
    index: i32,
    same_topic: impl Fn(Uuid) -> bool,
) -> Option<&'a PartitionImage> {
    image
        .topics
        .get(topic)
        .filter(|t| same_topic(t.id))
        .and_then(|t| t.partitions.get(usize::try_from(index).ok()?))
}

/// The contents of `partition.metadata` for topic `id`, as Kafka writes it.
fn partition_metadata(id: Uuid) -> String {
    format!(
        "version: 0\ntopic_id: {}\n",
        crate::metadata::kafka_uuid(id)
    )
}

fn remove_dir(dir: &Path) -> Result<(), LogError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metadata::{PartitionImage, TopicImage};

    const NODE: i32 = 1;

    fn manager(dir: &Path) -> ReplicaManager {
        let properties: BTreeMap<String, String> = [
            ("node.id", NODE.to_string()),
            ("listeners", "PLAINTEXT://:9092".to_string()),
            ("log.dirs", dir.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config = BrokerConfig::from_properties(properties).unwrap();
        ReplicaManager::new(&config, Arc::new(LogDir::open(dir).unwrap()))
    }

    /// Topics "kept" and "moved" with one partition each, on `kept` and `moved` replicas.
    fn image(kept: &[i32], moved: &[i32]) -> MetadataImage {
        let mut image = MetadataImage {
            cluster_id: "c".into(),
            ..MetadataImage::default()
        };
        for (i, (name, replicas)) in [("kept", kept), ("moved", moved)].into_iter().enumerate() {
            let partition = PartitionImage {
                replicas: replicas.to_vec(),
                leader: replicas[0],
                isr: replicas.to_vec(),
                ..PartitionImage::default()
            };
            let topic = TopicImage {
                name: name.into(),
                id: Uuid::from_u128(i as u128 + 1),
                partitions: vec![partition],
                configs: BTreeMap::new(),
            };
            image.topics.insert(name.into(), topic);
        }
        image
    }

    #[test]
    fn a_partition_moved_away_is_deleted_and_its_waiters_told() {
        let dir = tempfile::tempdir().unwrap();
        let replicas = manager(dir.path());
        replicas.apply_image(&image(&[NODE], &[NODE, 2])).unwrap();
        let moved = replicas.get("moved", 0).unwrap();
        assert_eq!(moved.role(), Role::Leader);
        replicas.apply_image(&image(&[NODE], &[2, 3])).unwrap();
        assert!(replicas.get("moved", 0).is_none());
        assert_eq!(moved.role(), Role::Follower { leader: 2 });
        assert!(!dir.path().join("moved-0").exists());
        assert!(dir.path().join("kept-0").exists());
    }

    #[test]
    fn strays_left_while_down_are_deleted_at_the_first_image() {
        let dir = tempfile::tempdir().unwrap();
        manager(dir.path())
            .apply_image(&image(&[NODE], &[NODE]))
            .unwrap();
        std::fs::create_dir(dir.path().join("unmarked-0")).unwrap();
        let restarted = manager(dir.path());
        restarted.apply_image(&MetadataImage::default()).unwrap();
        assert!(
            dir.path().join("moved-0").exists(),
            "an image without cluster id decides nothing"
        );
        restarted.apply_image(&image(&[NODE], &[2])).unwrap();
        assert!(!dir.path().join("moved-0").exists());
        assert!(dir.path().join("kept-0").exists());
        assert!(dir.path().join("unmarked-0").exists());
    }
}
