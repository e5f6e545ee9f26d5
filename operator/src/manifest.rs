//! Manifests as the local runtime reads them: a file, or a directory of `.yaml` files, each
//! holding one or more documents (`---`) of kind `KafkaCluster`, `Topic` or `KsqlStream`.
//! They are the resource types of `resources` (the ones the Kubernetes runtime reads from
//! the API server), checked for what the API server would check on its way in (the shape,
//! names, and for a KafkaCluster what the local runtime cannot run). The spec rules of a
//! Topic or KsqlStream are the reconcilers' to report in status.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kube::{Resource, ResourceExt};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use thiserror::Error;

use crate::resources::cluster;
pub use crate::resources::cluster::KafkaCluster;
use crate::resources::{KsqlStream, Topic};

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid manifest: {source}")]
    Parse {
        path: String,
        source: serde_yaml::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Every resource of a manifest file or directory: one cluster and what it should hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    pub cluster: KafkaCluster,
    pub topics: Vec<Topic>,
    pub streams: Vec<KsqlStream>,
}

impl Manifests {
    /// Reads `path`, a manifest file or a directory of them (`*.yaml`, `*.yml`, not its
    /// subdirectories), in file name order.
    pub fn load(path: &Path) -> Result<Manifests, ManifestError> {
        let read_error = |source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        };
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(read_error)?
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|file| {
                    file.is_file()
                        && file
                            .extension()
                            .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut texts = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
                path: file.display().to_string(),
                source,
            })?;
            texts.push((file.display().to_string(), text));
        }
        Manifests::parse(&texts, &path.display().to_string())
    }

    /// Parses `(name, text)` files; `origin` names them all in errors about the whole set.
    pub fn parse(files: &[(String, String)], origin: &str) -> Result<Manifests, ManifestError> {
        let mut clusters = Vec::new();
        let mut topics = Vec::new();
        let mut streams = Vec::new();
        for (file, text) in files {
            for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
                let at = format!("{file} (document {})", index + 1);
                let value = serde_yaml::Value::deserialize(document).map_err(|source| {
                    ManifestError::Parse {
                        path: at.clone(),
                        source,
                    }
                })?;
                if value.is_null() {
                    continue;
                }
                let document = Document { text, index, at };
                let envelope: Envelope = document.typed()?;
                match envelope.kind.as_str() {
                    "KafkaCluster" => clusters.push(KafkaCluster::from_document(&document, &envelope)?),
                    "Topic" => topics.push(document.resource::<Topic>(&envelope)?),
                    "KsqlStream" => streams.push(document.resource::<KsqlStream>(&envelope)?),
                    other => {
                        return Err(ManifestError::Invalid {
                            path: document.at,
                            message: format!(
                                "kind {other} is not a Potok resource; expected KafkaCluster, Topic or KsqlStream"
                            ),
                        })
                    }
                }
            }
        }
        let invalid = |message| ManifestError::Invalid {
            path: origin.to_string(),
            message,
        };
        if clusters.len() != 1 {
            return Err(invalid(format!(
                "expected exactly one KafkaCluster, found {}",
                clusters.len()
            )));
        }
        unique_names("Topic", &topics).map_err(invalid)?;
        unique_names("KsqlStream", &streams).map_err(invalid)?;
        Ok(Manifests {
            cluster: clusters.remove(0),
            topics,
            streams,
        })
    }
}

/// One document of a manifest file, and where it is for errors.
struct Document<'a> {
    text: &'a str,
    index: usize,
    at: String,
}

impl Document<'_> {
    /// The document as `K`, with errors located in the file.
    fn typed<K: DeserializeOwned>(&self) -> Result<K, ManifestError> {
        let document = serde_yaml::Deserializer::from_str(self.text)
            .nth(self.index)
            .expect("the document was read once already");
        K::deserialize(document).map_err(|source| ManifestError::Parse {
            path: self.at.clone(),
            source,
        })
    }

    fn invalid(&self, message: String) -> ManifestError {
        ManifestError::Invalid {
            path: self.at.clone(),
            message,
        }
    }

    /// A Topic or KsqlStream: the right apiVersion and a Kubernetes object name.
    fn resource<K>(&self, envelope: &Envelope) -> Result<K, ManifestError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned,
    {
        check_api_version::<K>(envelope).map_err(|m| self.invalid(m))?;
        let resource: K = self.typed()?;
        let name = resource.meta().name.as_deref().unwrap_or_default();
        if !is_object_name(name) {
            return Err(self.invalid(format!(
                "metadata.name '{name}' must be 1-253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit"
            )));
        }
        Ok(resource)
    }
}

fn check_api_version<K: Resource<DynamicType = ()>>(envelope: &Envelope) -> Result<(), String> {
    let expected = K::api_version(&());
    if envelope.api_version != expected {
        return Err(format!(
            "expected apiVersion {expected} for kind {}, got {}",
            envelope.kind, envelope.api_version
        ));
    }
    Ok(())
}

/// Kubernetes' rule for object names (an RFC 1123 subdomain).
fn is_object_name(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
}

fn unique_names<K: ResourceExt>(kind: &str, resources: &[K]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for resource in resources {
        let name = resource.name_any();
        if !seen.insert(name.clone()) {
            return Err(format!("two {kind} resources are named {name}"));
        }
    }
    Ok(())
}

/// What every manifest starts with. Unknown top-level fields are refused rather than
/// ignored, so a typo never silently drops part of a manifest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope {
    api_version: String,
    kind: String,
    #[serde(rename = "metadata")]
    _metadata: IgnoredAny,
    #[serde(rename = "spec")]
    _spec: IgnoredAny,
    #[serde(default, rename = "status")]
    _status: Option<IgnoredAny>,
}

impl KafkaCluster {
    /// Parses and validates a one-document manifest; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<KafkaCluster, ManifestError> {
        let document = Document {
            text,
            index: 0,
            at: path.to_string(),
        };
        let envelope: Envelope = document.typed()?;
        KafkaCluster::from_document(&document, &envelope)
    }

    fn from_document(
        document: &Document,
        envelope: &Envelope,
    ) -> Result<KafkaCluster, ManifestError> {
        let (api_version, kind) = (KafkaCluster::api_version(&()), KafkaCluster::kind(&()));
        if envelope.api_version != api_version || envelope.kind != kind {
            return Err(document.invalid(format!(
                "expected apiVersion {api_version} and kind {kind}, got {} {}",
                envelope.api_version, envelope.kind
            )));
        }
        let cluster: KafkaCluster = document.typed()?;
        check_runnable(&cluster).map_err(|m| document.invalid(m))?;
        Ok(cluster)
    }
}

/// The name every node is named after, the schema's rules, and the local runtime's limits.
fn check_runnable(cluster: &KafkaCluster) -> Result<(), String> {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let valid_name = !name.is_empty()
        && name.len() <= 52
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid_name {
        return Err(format!(
            "metadata.name '{name}' must be 1-52 lowercase letters, digits or '-', starting and ending with a letter or digit"
        ));
    }
    cluster::validate(&cluster.spec)?;
    if let Some(ksql) = &cluster.spec.ksql {
        if ksql.replicas > 1 {
            return Err(format!(
                "spec.ksql.replicas is {}; the local runtime runs at most 1 ksql server",
                ksql.replicas
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/cluster.yaml"
        ))
        .unwrap()
    }

    #[test]
    fn the_example_is_three_coordinators_and_three_brokers() {
        let cluster = KafkaCluster::parse(&example(), "cluster.yaml").unwrap();
        assert_eq!(cluster.metadata.name.as_deref(), Some("potok"));
        assert_eq!(cluster.spec.coordinators.replicas, 3);
        assert_eq!(cluster.spec.brokers.replicas, 3);
        assert_eq!(cluster.spec.brokers.config["min.insync.replicas"], "2");
        assert_eq!(cluster.spec.ksql.as_ref().map(|k| k.replicas), Some(1));
    }

    #[test]
    fn mistakes_are_named() {
        let error = |text: String| {
            KafkaCluster::parse(&text, "c.yaml")
                .unwrap_err()
                .to_string()
        };
        assert!(
            error(example().replace("replicas: 3\n  brokers", "replicas: 2\n  brokers"))
                .contains("odd number of voters")
        );
        assert!(
            error(example().replace("kind: KafkaCluster", "kind: Topic"))
                .contains("expected apiVersion potok.dev/v1alpha1 and kind KafkaCluster")
        );
        assert!(error(example().replace("name: potok", "name: Potok_1"))
            .contains("metadata.name 'Potok_1'"));
        assert!(
            error(example().replace("ksql:\n    replicas: 1", "ksql:\n    replicas: 2"))
                .contains("spec.ksql.replicas is 2")
        );
        assert!(error(example().replace("num.partitions", "node.id"))
            .contains("spec.brokers.config.node.id is set by the operator"));
        assert!(error(example().replace(
            "default.replication.factor: \"3\"",
            "default.replication.factor: \"4\""
        ))
        .contains("default.replication.factor must be a number from 1 to spec.brokers.replicas"));
        assert!(error(example().replace("  brokers:", "  borkers:"))
            .contains("unknown field `borkers`"));
        assert!(error("[1, 2".into()).contains("not a valid manifest"));
    }
}
