//! A `KafkaCluster` manifest file, as the local runtime reads it: the resource type of
//! `resources::cluster` (the one the Kubernetes runtime reads from the API server), checked
//! for what the API server would check and for what the local runtime cannot run.

use std::path::Path;

use kube::Resource;
use serde::de::IgnoredAny;
use serde::Deserialize;
use thiserror::Error;

use crate::resources::cluster;
pub use crate::resources::cluster::KafkaCluster;

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid KafkaCluster manifest: {source}")]
    Parse {
        path: String,
        source: serde_yaml::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
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
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<KafkaCluster, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        KafkaCluster::parse(&text, &shown)
    }

    /// Parses and validates a manifest; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<KafkaCluster, ManifestError> {
        let parse_error = |source| ManifestError::Parse {
            path: path.to_string(),
            source,
        };
        let invalid = |message| ManifestError::Invalid {
            path: path.to_string(),
            message,
        };
        let envelope: Envelope = serde_yaml::from_str(text).map_err(parse_error)?;
        let (api_version, kind) = (KafkaCluster::api_version(&()), KafkaCluster::kind(&()));
        if envelope.api_version != api_version || envelope.kind != kind {
            return Err(invalid(format!(
                "expected apiVersion {api_version} and kind {kind}, got {} {}",
                envelope.api_version, envelope.kind
            )));
        }
        let cluster: KafkaCluster = serde_yaml::from_str(text).map_err(parse_error)?;
        check_runnable(&cluster).map_err(invalid)?;
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
        .contains("from 1 to the 3 broker(s)"));
        assert!(error(example().replace("  brokers:", "  borkers:"))
            .contains("unknown field `borkers`"));
        assert!(error("[1, 2".into()).contains("not a valid KafkaCluster manifest"));
    }
}
