//! The config half of a Topic's reconcile: which configs to set and which to delete so the
//! configs set on the live topic are exactly the spec's. A config set on the topic but not in
//! the spec (removed from the spec, or set by hand with `kafka-configs`) is deleted, which
//! sends it back to the broker's default; a spec value that differs from the live one
//! (changed in the spec, or by hand) is set again.

use std::collections::BTreeMap;

use super::{ConfigSource, ObservedTopic};

/// Kafka's topic config that `acks=all` produces need in sync.
pub const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";

/// Changes to one topic's configs, as IncrementalAlterConfigs takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// Configs to set on the topic, with their values.
    pub set: BTreeMap<String, String>,
    /// Configs set on the topic to delete, so they take the broker's default again.
    pub delete: Vec<String>,
    /// `min.insync.replicas` from the spec that is not set yet because the topic has fewer
    /// replicas: setting it would make every `acks=all` produce fail until the replicas
    /// change is done.
    pub held_back_min_insync_replicas: Option<String>,
}

impl ConfigChanges {
    /// True when the topic's configs already match the spec (apart from a held-back value).
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    /// The changes in a user's words: `retention.ms 1000 → 86400000` for a value set on the
    /// topic, `cleanup.policy set to compact` for one it inherited, `segment.ms reset to its
    /// default`.
    pub fn describe(&self, live: &ObservedTopic) -> Vec<String> {
        let set = self.set.iter().map(|(name, value)| {
            let on_topic = live
                .configs
                .get(name)
                .filter(|c| c.source == ConfigSource::Topic)
                .and_then(|c| c.value.as_deref());
            match on_topic {
                Some(old) => format!("{name} {old} → {value}"),
                None => format!("{name} set to {value}"),
            }
        });
        let delete = self
            .delete
            .iter()
            .map(|name| format!("{name} reset to its default"));
        set.chain(delete).collect()
    }
}

/// What to change so the configs set on `live` are the `desired` ones.
pub fn config_changes(desired: &BTreeMap<String, String>, live: &ObservedTopic) -> ConfigChanges {
    let mut changes = ConfigChanges::default();
    for (name, value) in desired {
        let current = live.configs.get(name);
        let matches = current.is_some_and(|c| {
            c.source == ConfigSource::Topic && c.value.as_deref() == Some(value.as_str())
        });
        if matches {
            continue;
        }
        if name == MIN_INSYNC_REPLICAS && above_live_replicas(value, live) {
            changes.held_back_min_insync_replicas = Some(value.clone());
            continue;
        }
        changes.set.insert(name.clone(), value.clone());
    }
    changes.delete = live
        .configs
        .iter()
        .filter(|(name, c)| c.source == ConfigSource::Topic && !desired.contains_key(*name))
        .map(|(name, _)| name.clone())
        .collect();
    changes
}

/// True when `min_insync_replicas` is more than some partition of `live` has replicas.
fn above_live_replicas(min_insync_replicas: &str, live: &ObservedTopic) -> bool {
    min_insync_replicas
        .parse::<i32>()
        .is_ok_and(|wanted| wanted > live.replicas())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::topic::LiveConfig;

    fn live(configs: &[(&str, &str, ConfigSource)]) -> ObservedTopic {
        ObservedTopic {
            id: "id".into(),
            partition_replicas: vec![vec![1, 2, 3]; 3],
            reassigning: 0,
            brokers: vec![1, 2, 3],
            configs: configs
                .iter()
                .map(|(name, value, source)| {
                    let config = LiveConfig {
                        value: Some(value.to_string()),
                        source: *source,
                    };
                    (name.to_string(), config)
                })
                .collect(),
        }
    }

    fn desired(configs: &[(&str, &str)]) -> BTreeMap<String, String> {
        configs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matching_configs_need_nothing() {
        let topic = live(&[
            ("retention.ms", "1000", ConfigSource::Topic),
            ("cleanup.policy", "delete", ConfigSource::Default),
        ]);
        let changes = config_changes(&desired(&[("retention.ms", "1000")]), &topic);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(changes, ConfigChanges::default());
    }

    #[test]
    fn new_and_changed_configs_are_set() {
        let topic = live(&[("retention.ms", "1000", ConfigSource::Topic)]);
        let wanted = desired(&[("retention.ms", "2000"), ("cleanup.policy", "compact")]);
        let changes = config_changes(&wanted, &topic);
        assert_eq!(changes.set, wanted);
        assert!(changes.delete.is_empty());
        assert_eq!(
            changes.describe(&topic),
            ["cleanup.policy set to compact", "retention.ms 1000 → 2000"]
        );
    }

    #[test]
    fn a_spec_value_equal_to_the_default_is_still_set_on_the_topic() {
        // The spec pins it: a later change of the broker's default must not reach this topic.
        let topic = live(&[("cleanup.policy", "delete", ConfigSource::Default)]);
        let changes = config_changes(&desired(&[("cleanup.policy", "delete")]), &topic);
        assert_eq!(changes.set, desired(&[("cleanup.policy", "delete")]));
        assert_eq!(changes.describe(&topic), ["cleanup.policy set to delete"]);
    }

    #[test]
    fn configs_set_on_the_topic_but_not_in_the_spec_are_deleted() {
        let topic = live(&[
            ("retention.ms", "1000", ConfigSource::Topic),
            ("segment.bytes", "1024", ConfigSource::Default),
        ]);
        let changes = config_changes(&desired(&[]), &topic);
        assert!(changes.set.is_empty());
        assert_eq!(changes.delete, ["retention.ms"]);
        assert_eq!(
            changes.describe(&topic),
            ["retention.ms reset to its default"]
        );
    }

    #[test]
    fn min_insync_replicas_above_the_live_replicas_is_held_back() {
        let topic = live(&[("min.insync.replicas", "2", ConfigSource::Topic)]);
        let changes = config_changes(
            &desired(&[("min.insync.replicas", "4"), ("retention.ms", "1")]),
            &topic,
        );
        assert_eq!(changes.set, desired(&[("retention.ms", "1")]));
        assert_eq!(changes.held_back_min_insync_replicas.as_deref(), Some("4"));
        // Up to the live replicas it is set.
        let changes = config_changes(&desired(&[("min.insync.replicas", "3")]), &topic);
        assert_eq!(changes.set, desired(&[("min.insync.replicas", "3")]));
        assert_eq!(changes.held_back_min_insync_replicas, None);
    }
}
