//! The local runtime's stand-in for the API server's storage: each resource as last
//! admitted, with its generation, creation time and status, one JSON file per resource
//! under `<data-dir>/resources/<plural>/<name>.json`. The control loop writes it and
//! `potok-operator get` reads it.
//!
//! Admission is what the API server does with `kubectl apply`: a new resource is stored
//! with generation 1; a changed spec that the update rules allow replaces the stored one
//! under the next generation; a change they refuse is not stored, and the refusal goes
//! into the status, since no `kubectl` is there to print it.

use std::path::{Path, PathBuf};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::resources::{cluster, ksql_stream, topic, KafkaCluster, KsqlStream, Topic};

/// A resource kind the local runtime keeps: its plural name (the directory it lives in)
/// and its update rules.
pub trait Stored: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned {
    const PLURAL: &'static str;

    /// Whether `self` and `other` declare the same thing.
    fn same_spec(&self, other: &Self) -> bool;

    /// The schema's rules for a change from `old` to `self`.
    fn validate_update(&self, old: &Self) -> Result<(), String>;

    /// Keeps the status (and what the server owns in the metadata) of `stored` in `self`.
    fn take_status_from(&mut self, stored: &Self);
}

impl Stored for Topic {
    const PLURAL: &'static str = "topics";

    fn same_spec(&self, other: &Self) -> bool {
        self.spec == other.spec
    }

    fn validate_update(&self, old: &Self) -> Result<(), String> {
        topic::validate_update(&old.spec, &self.spec)
    }

    fn take_status_from(&mut self, stored: &Self) {
        self.status = stored.status.clone();
    }
}

impl Stored for KsqlStream {
    const PLURAL: &'static str = "ksqlstreams";

    fn same_spec(&self, other: &Self) -> bool {
        self.spec == other.spec
    }

    fn validate_update(&self, old: &Self) -> Result<(), String> {
        ksql_stream::validate_update(&old.spec, &self.spec)
    }

    fn take_status_from(&mut self, stored: &Self) {
        self.status = stored.status.clone();
    }
}

/// The cluster `up` runs, stored so `get kafkaclusters` shows its status.
impl Stored for KafkaCluster {
    const PLURAL: &'static str = "kafkaclusters";

    fn same_spec(&self, other: &Self) -> bool {
        self.spec == other.spec
    }

    fn validate_update(&self, _old: &Self) -> Result<(), String> {
        cluster::validate(&self.spec)
    }

    fn take_status_from(&mut self, stored: &Self) {
        self.status = stored.status.clone();
    }
}

/// What admitting an applied resource came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission<K> {
    /// First seen, or its spec changed: stored under a new generation.
    Accepted(K),
    /// The spec is what is stored already.
    Unchanged(K),
    /// The update rules refuse the change: the stored resource stays, with the rule's
    /// message to report.
    Refused { stored: K, message: String },
}

/// Admits `applied` over `stored` (absent for a new resource) as of `now`.
pub fn admit<K: Stored>(stored: Option<&K>, applied: &K, now: &Time) -> Admission<K> {
    let Some(stored) = stored else {
        let mut created = applied.clone();
        let meta = created.meta_mut();
        meta.generation = Some(1);
        meta.creation_timestamp = Some(now.clone());
        meta.namespace.get_or_insert_with(|| "default".into());
        return Admission::Accepted(created);
    };
    if applied.same_spec(stored) {
        return Admission::Unchanged(stored.clone());
    }
    if let Err(message) = applied.validate_update(stored) {
        return Admission::Refused {
            stored: stored.clone(),
            message,
        };
    }
    let mut updated = applied.clone();
    updated.take_status_from(stored);
    let meta = updated.meta_mut();
    meta.generation = Some(stored.meta().generation.unwrap_or(0) + 1);
    meta.creation_timestamp = stored.meta().creation_timestamp.clone();
    meta.namespace = stored.meta().namespace.clone();
    Admission::Accepted(updated)
}

/// The resources under one data directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(data_dir: &Path) -> Store {
        Store {
            root: data_dir.join("resources"),
        }
    }

    /// Every stored resource of kind `K`, by name order. A file that cannot be read as `K`
    /// is an error naming it: the store is written only by this program.
    pub fn all<K: Stored>(&self) -> anyhow::Result<Vec<K>> {
        let dir = self.root.join(K::PLURAL);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|file| {
                let text = std::fs::read_to_string(file)?;
                serde_json::from_str(&text).map_err(|error| {
                    anyhow::anyhow!("{} is not a stored {}: {error}", file.display(), K::PLURAL)
                })
            })
            .collect()
    }

    /// Stores `resource`, replacing the file atomically.
    pub fn save<K: Stored>(&self, resource: &K) -> std::io::Result<()> {
        let dir = self.root.join(K::PLURAL);
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(format!("{}.json", resource.name_any()));
        let partial = dir.join(format!(".{}.json.tmp", resource.name_any()));
        let text = serde_json::to_string_pretty(resource).map_err(std::io::Error::other)?;
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &file)
    }

    pub fn remove<K: Stored>(&self, name: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.root.join(K::PLURAL).join(format!("{name}.json"))) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::resources::TopicSpec;

    fn topic(partitions: i32) -> Topic {
        Topic::new(
            "test",
            TopicSpec {
                cluster: "potok".into(),
                topic_name: None,
                partitions,
                replicas: 3,
                config: BTreeMap::new(),
                deletion_policy: Default::default(),
            },
        )
    }

    fn now() -> Time {
        Time(Timestamp::now())
    }

    #[test]
    fn admission_counts_generations_and_refuses_what_the_rules_refuse() {
        let Admission::Accepted(created) = admit(None, &topic(3), &now()) else {
            panic!("a new resource is accepted");
        };
        assert_eq!(created.metadata.generation, Some(1));
        assert!(created.metadata.creation_timestamp.is_some());
        assert!(matches!(
            admit(Some(&created), &topic(3), &now()),
            Admission::Unchanged(_)
        ));
        let Admission::Accepted(grown) = admit(Some(&created), &topic(6), &now()) else {
            panic!("growing is allowed");
        };
        assert_eq!(grown.metadata.generation, Some(2));
        assert_eq!(
            grown.metadata.creation_timestamp,
            created.metadata.creation_timestamp
        );
        let Admission::Refused { stored, message } = admit(Some(&grown), &topic(4), &now()) else {
            panic!("shrinking is refused");
        };
        assert_eq!(stored.spec.partitions, 6);
        assert_eq!(message, topic::PARTITIONS_DECREASE);
    }

    #[test]
    fn stored_resources_read_back_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.all::<Topic>().unwrap().is_empty());
        let Admission::Accepted(created) = admit(None, &topic(3), &now()) else {
            unreachable!()
        };
        store.save(&created).unwrap();
        let read = store.all::<Topic>().unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(
            (&read[0].spec, read[0].metadata.generation),
            (&created.spec, Some(1))
        );
        store.remove::<Topic>("test").unwrap();
        assert!(store.all::<Topic>().unwrap().is_empty());
    }
}
