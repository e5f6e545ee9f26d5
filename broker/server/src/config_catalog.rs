//! Kafka's topic configuration keys: types, defaults, validation, and the broker keys that
//! supply a topic's value when it has no override (its "synonyms"). DescribeConfigs,
//! CreateTopics, AlterConfigs and IncrementalAlterConfigs all read this one table, and the
//! messages follow Kafka's `ConfigDef` so users see the errors they know.

use std::collections::BTreeMap;

use thiserror::Error;

/// `DescribeConfigsResponse.ConfigSource` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
}

/// `DescribeConfigsResponse.ConfigType` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

impl ConfigType {
    fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Validator {
    Any,
    AtLeast(i64),
    Between(f64, f64),
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
}

/// A broker key that sets a topic config's value, with the factor that turns its unit
/// into the topic key's (hours to milliseconds, ...).
#[derive(Debug, Clone, Copy)]
struct BrokerSynonym {
    key: &'static str,
    to_topic_unit: i64,
}

const fn same(key: &'static str) -> BrokerSynonym {
    BrokerSynonym {
        key,
        to_topic_unit: 1,
    }
}

const fn scaled(key: &'static str, to_topic_unit: i64) -> BrokerSynonym {
    BrokerSynonym { key, to_topic_unit }
}

struct TopicKey {
    name: &'static str,
    config_type: ConfigType,
    validator: Validator,
    synonyms: &'static [BrokerSynonym],
    /// Kafka's default, reported as the DEFAULT_CONFIG synonym of `default_key`.
    default: &'static str,
    default_key: &'static str,
    documentation: &'static str,
}

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
const LONG_MAX: &str = "9223372036854775807";

/// Kafka 3.7's topic-level configs (`TopicConfig`, `LogConfig`).
const TOPIC_KEYS: &[TopicKey] = &[
    TopicKey { name: "cleanup.policy", config_type: ConfigType::List, validator: Validator::ListOf(&["compact", "delete"]), synonyms: &[same("log.cleanup.policy")], default: "delete", default_key: "log.cleanup.policy", documentation: "Whether old segments are deleted, compacted, or both." },
    TopicKey { name: "compression.type", config_type: ConfigType::String, validator: Validator::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]), synonyms: &[same("compression.type")], default: "producer", default_key: "compression.type", documentation: "The compression of stored batches; producer keeps what the producer sent." },
    TopicKey { name: "delete.retention.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.cleaner.delete.retention.ms")], default: "86400000", default_key: "log.cleaner.delete.retention.ms", documentation: "How long delete tombstones are kept in compacted topics." },
    TopicKey { name: "file.delete.delay.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.segment.delete.delay.ms")], default: "60000", default_key: "log.segment.delete.delay.ms", documentation: "Delay before a deleted segment's files are removed." },
    TopicKey { name: "flush.messages", config_type: ConfigType::Long, validator: Validator::AtLeast(1), synonyms: &[same("log.flush.interval.messages")], default: LONG_MAX, default_key: "log.flush.interval.messages", documentation: "Force an fsync after this many messages." },
    TopicKey { name: "flush.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.flush.interval.ms")], default: LONG_MAX, default_key: "log.flush.interval.ms", documentation: "Force an fsync after this much time." },
    TopicKey { name: "follower.replication.throttled.replicas", config_type: ConfigType::List, validator: Validator::Any, synonyms: &[], default: "", default_key: "", documentation: "Replicas whose follower replication is throttled." },
    TopicKey { name: "index.interval.bytes", config_type: ConfigType::Int, validator: Validator::AtLeast(0), synonyms: &[same("log.index.interval.bytes")], default: "4096", default_key: "log.index.interval.bytes", documentation: "Bytes between offset index entries." },
    TopicKey { name: "leader.replication.throttled.replicas", config_type: ConfigType::List, validator: Validator::Any, synonyms: &[], default: "", default_key: "", documentation: "Replicas whose leader replication is throttled." },
    TopicKey { name: "local.retention.bytes", config_type: ConfigType::Long, validator: Validator::AtLeast(-2), synonyms: &[same("log.local.retention.bytes")], default: "-2", default_key: "log.local.retention.bytes", documentation: "Local retention size with tiered storage; -2 follows retention.bytes." },
    TopicKey { name: "local.retention.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(-2), synonyms: &[same("log.local.retention.ms")], default: "-2", default_key: "log.local.retention.ms", documentation: "Local retention time with tiered storage; -2 follows retention.ms." },
    TopicKey { name: "max.compaction.lag.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(1), synonyms: &[same("log.cleaner.max.compaction.lag.ms")], default: LONG_MAX, default_key: "log.cleaner.max.compaction.lag.ms", documentation: "Longest time a message stays uncompacted." },
    TopicKey { name: "max.message.bytes", config_type: ConfigType::Int, validator: Validator::AtLeast(0), synonyms: &[same("message.max.bytes")], default: "1048588", default_key: "message.max.bytes", documentation: "The largest record batch the topic accepts." },
    TopicKey { name: "message.timestamp.after.max.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.message.timestamp.after.max.ms")], default: LONG_MAX, default_key: "log.message.timestamp.after.max.ms", documentation: "How far in the future a message timestamp may be." },
    TopicKey { name: "message.timestamp.before.max.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.message.timestamp.before.max.ms")], default: LONG_MAX, default_key: "log.message.timestamp.before.max.ms", documentation: "How far in the past a message timestamp may be." },
    TopicKey { name: "message.timestamp.type", config_type: ConfigType::String, validator: Validator::OneOf(&["CreateTime", "LogAppendTime"]), synonyms: &[same("log.message.timestamp.type")], default: "CreateTime", default_key: "log.message.timestamp.type", documentation: "Whether record timestamps are the producer's or the broker's." },
    TopicKey { name: "min.cleanable.dirty.ratio", config_type: ConfigType::Double, validator: Validator::Between(0.0, 1.0), synonyms: &[same("log.cleaner.min.cleanable.ratio")], default: "0.5", default_key: "log.cleaner.min.cleanable.ratio", documentation: "Dirty ratio that triggers compaction." },
    TopicKey { name: "min.compaction.lag.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.cleaner.min.compaction.lag.ms")], default: "0", default_key: "log.cleaner.min.compaction.lag.ms", documentation: "Shortest time a message stays uncompacted." },
    TopicKey { name: "min.insync.replicas", config_type: ConfigType::Int, validator: Validator::AtLeast(1), synonyms: &[same("min.insync.replicas")], default: "1", default_key: "min.insync.replicas", documentation: "In-sync replicas needed to acknowledge acks=all writes." },
    TopicKey { name: "preallocate", config_type: ConfigType::Boolean, validator: Validator::Any, synonyms: &[same("log.preallocate")], default: "false", default_key: "log.preallocate", documentation: "Preallocate segment files." },
    TopicKey { name: "remote.storage.enable", config_type: ConfigType::Boolean, validator: Validator::Any, synonyms: &[], default: "false", default_key: "", documentation: "Tiered storage for this topic." },
    TopicKey { name: "retention.bytes", config_type: ConfigType::Long, validator: Validator::Any, synonyms: &[same("log.retention.bytes")], default: "-1", default_key: "log.retention.bytes", documentation: "Largest size a partition's log may grow to before old segments are deleted; -1 is unlimited." },
    TopicKey { name: "retention.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(-1), synonyms: &[same("log.retention.ms"), scaled("log.retention.minutes", MINUTE_MS), scaled("log.retention.hours", HOUR_MS)], default: "168", default_key: "log.retention.hours", documentation: "How long segments are kept before deletion; -1 is unlimited." },
    TopicKey { name: "segment.bytes", config_type: ConfigType::Int, validator: Validator::AtLeast(14), synonyms: &[same("log.segment.bytes")], default: "1073741824", default_key: "log.segment.bytes", documentation: "Size at which a new segment is rolled." },
    TopicKey { name: "segment.index.bytes", config_type: ConfigType::Int, validator: Validator::AtLeast(4), synonyms: &[same("log.index.size.max.bytes")], default: "10485760", default_key: "log.index.size.max.bytes", documentation: "Largest size of a segment's offset index." },
    TopicKey { name: "segment.jitter.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(0), synonyms: &[same("log.roll.jitter.ms"), scaled("log.roll.jitter.hours", HOUR_MS)], default: "0", default_key: "log.roll.jitter.hours", documentation: "Random jitter subtracted from segment.ms." },
    TopicKey { name: "segment.ms", config_type: ConfigType::Long, validator: Validator::AtLeast(1), synonyms: &[same("log.roll.ms"), scaled("log.roll.hours", HOUR_MS)], default: "168", default_key: "log.roll.hours", documentation: "Age at which a new segment is rolled." },
    TopicKey { name: "unclean.leader.election.enable", config_type: ConfigType::Boolean, validator: Validator::Any, synonyms: &[same("unclean.leader.election.enable")], default: "false", default_key: "unclean.leader.election.enable", documentation: "Whether an out-of-sync replica may become leader (data loss)." },
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("Unknown topic config name: {0}")]
    UnknownKey(String),
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error("Config value {op} is not allowed for config key: {key}")]
    OperationNotAllowed { op: &'static str, key: String },
    #[error("Cannot update these configs dynamically: Set({0})")]
    NotDynamic(String),
}

/// IncrementalAlterConfigs operations (`AlterConfigOp.OpType` codes 0-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterOp {
    Set,
    Delete,
    Append,
    Subtract,
}

impl AlterOp {
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(AlterOp::Set),
            1 => Some(AlterOp::Delete),
            2 => Some(AlterOp::Append),
            3 => Some(AlterOp::Subtract),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            AlterOp::Set => "set",
            AlterOp::Delete => "delete",
            AlterOp::Append => "append",
            AlterOp::Subtract => "subtract",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    pub config_type: ConfigType,
    pub documentation: &'static str,
    pub synonyms: Vec<Synonym>,
}

fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|key| key.name == name)
}

/// Checks a topic config key and value as Kafka's `ConfigDef` would.
pub fn validate_topic_config(key: &str, value: Option<&str>) -> Result<(), ConfigError> {
    let spec = topic_key(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
    match value {
        Some(value) => validate_value(spec.name, spec.config_type, spec.validator, value),
        None => Ok(()),
    }
}

fn validate_value(
    key: &str,
    config_type: ConfigType,
    validator: Validator,
    value: &str,
) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    let trimmed = value.trim();
    let number: Option<f64> = match config_type {
        ConfigType::Int => Some(
            trimmed
                .parse::<i32>()
                .map_err(|_| invalid(format!("Not a number of type {}", config_type.name())))?
                as f64,
        ),
        ConfigType::Long => Some(
            trimmed
                .parse::<i64>()
                .map_err(|_| invalid(format!("Not a number of type {}", config_type.name())))?
                as f64,
        ),
        ConfigType::Double => Some(
            trimmed
                .parse::<f64>()
                .map_err(|_| invalid(format!("Not a number of type {}", config_type.name())))?,
        ),
        ConfigType::Boolean => {
            if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                return Err(invalid("Expected value to be either true or false".into()));
            }
            None
        }
        ConfigType::String | ConfigType::List => None,
    };
    match validator {
        Validator::Any => Ok(()),
        Validator::AtLeast(min) => match number {
            Some(n) if n < min as f64 => Err(invalid(format!("Value must be at least {min}"))),
            _ => Ok(()),
        },
        Validator::Between(min, max) => match number {
            Some(n) if n < min || n > max => {
                Err(invalid(format!("Value must be no more than {max}")))
            }
            _ => Ok(()),
        },
        Validator::OneOf(allowed) => {
            if allowed.contains(&trimmed) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "String must be one of: {}",
                    allowed.join(", ")
                )))
            }
        }
        Validator::ListOf(allowed) => {
            for item in split_list(trimmed) {
                if !allowed.contains(&item.as_str()) {
                    return Err(invalid(format!(
                        "Invalid value {item} for configuration {key}: String must be one of: {}",
                        allowed.join(", ")
                    )));
                }
            }
            Ok(())
        }
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applies one IncrementalAlterConfigs change to a topic's overrides.
pub fn apply_incremental(
    overrides: &mut BTreeMap<String, String>,
    op: AlterOp,
    key: &str,
    value: Option<&str>,
) -> Result<(), ConfigError> {
    let spec = topic_key(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
    let list_only = matches!(op, AlterOp::Append | AlterOp::Subtract);
    if list_only && spec.config_type != ConfigType::List {
        return Err(ConfigError::OperationNotAllowed {
            op: op.name(),
            key: key.to_string(),
        });
    }
    let value = value.unwrap_or_default();
    let new_value = match op {
        AlterOp::Delete => {
            overrides.remove(key);
            return Ok(());
        }
        AlterOp::Set => value.to_string(),
        AlterOp::Append | AlterOp::Subtract => {
            let current = overrides
                .get(key)
                .map_or_else(|| split_list(spec.default), |v| split_list(v));
            let changes = split_list(value);
            let updated: Vec<String> = if op == AlterOp::Append {
                let mut items = current;
                for item in changes {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                items
            } else {
                current
                    .into_iter()
                    .filter(|i| !changes.contains(i))
                    .collect()
            };
            updated.join(",")
        }
    };
    validate_value(spec.name, spec.config_type, spec.validator, &new_value)?;
    overrides.insert(key.to_string(), new_value);
    Ok(())
}

/// Broker keys that may change at runtime cluster-wide: those that supply topic defaults.
fn dynamic_broker_key(key: &str) -> Option<(&'static TopicKey, i64)> {
    TOPIC_KEYS.iter().find_map(|spec| {
        spec.synonyms
            .iter()
            .find(|s| s.key == key)
            .map(|s| (spec, s.to_topic_unit))
    })
}

/// The broker keys that supply topic defaults (`log.retention.hours`, ...), each once.
pub fn topic_default_keys() -> impl Iterator<Item = &'static str> {
    let mut seen = Vec::new();
    TOPIC_KEYS
        .iter()
        .flat_map(|spec| spec.synonyms.iter().map(|s| s.key))
        .filter(move |key| {
            let new = !seen.contains(key);
            seen.push(*key);
            new
        })
}

pub fn validate_broker_config(key: &str, value: Option<&str>) -> Result<(), ConfigError> {
    let (spec, _) =
        dynamic_broker_key(key).ok_or_else(|| ConfigError::NotDynamic(key.to_string()))?;
    match value {
        Some(value) if key.ends_with(".hours") || key.ends_with(".minutes") => {
            validate_value(key, ConfigType::Long, Validator::Any, value)
        }
        Some(value) => validate_value(key, spec.config_type, spec.validator, value),
        None => Ok(()),
    }
}

/// IncrementalAlterConfigs on the cluster-wide dynamic broker configs.
pub fn apply_incremental_broker(
    overrides: &mut BTreeMap<String, String>,
    op: AlterOp,
    key: &str,
    value: Option<&str>,
) -> Result<(), ConfigError> {
    validate_broker_config(key, value)?;
    match op {
        AlterOp::Delete => {
            overrides.remove(key);
        }
        AlterOp::Set => {
            overrides.insert(key.to_string(), value.unwrap_or_default().to_string());
        }
        AlterOp::Append | AlterOp::Subtract => {
            return Err(ConfigError::OperationNotAllowed {
                op: op.name(),
                key: key.to_string(),
            })
        }
    }
    Ok(())
}

/// Every topic config: effective value, where it came from, and its synonyms in Kafka's
/// order (topic override, then each broker key as dynamic default and static, then default).
pub fn describe_topic_config(
    overrides: &BTreeMap<String, String>,
    dynamic_broker: &BTreeMap<String, String>,
    static_broker: &BTreeMap<String, String>,
) -> Vec<DescribedConfig> {
    TOPIC_KEYS
        .iter()
        .map(|spec| {
            let mut synonyms = Vec::new();
            if let Some(value) = overrides.get(spec.name) {
                synonyms.push(synonym(spec.name, value, ConfigSource::DynamicTopic));
            }
            for broker_key in spec.synonyms {
                if let Some(value) = dynamic_broker.get(broker_key.key) {
                    synonyms.push(synonym(
                        broker_key.key,
                        value,
                        ConfigSource::DynamicDefaultBroker,
                    ));
                }
                if let Some(value) = static_broker.get(broker_key.key) {
                    synonyms.push(synonym(broker_key.key, value, ConfigSource::StaticBroker));
                }
            }
            if !spec.default_key.is_empty() {
                synonyms.push(synonym(
                    spec.default_key,
                    spec.default,
                    ConfigSource::Default,
                ));
            }
            let (value, source) = match synonyms.first() {
                Some(first) if first.source == ConfigSource::DynamicTopic => {
                    (first.value.clone(), first.source)
                }
                Some(first) => (Some(in_topic_unit(spec, first)), first.source),
                None => (Some(spec.default.to_string()), ConfigSource::Default),
            };
            DescribedConfig {
                name: spec.name.to_string(),
                value,
                source,
                read_only: false,
                sensitive: false,
                config_type: spec.config_type,
                documentation: spec.documentation,
                synonyms,
            }
        })
        .collect()
}

/// A broker synonym's value converted to the topic key's unit (hours to ms, ...).
fn in_topic_unit(spec: &TopicKey, synonym: &Synonym) -> String {
    let value = synonym.value.clone().unwrap_or_default();
    let factor = spec
        .synonyms
        .iter()
        .find(|s| s.key == synonym.name)
        .map_or(1, |s| s.to_topic_unit);
    match value.trim().parse::<i64>() {
        Ok(number) if factor != 1 && number >= 0 => number.saturating_mul(factor).to_string(),
        _ => value,
    }
}

fn synonym(name: &str, value: &str, source: ConfigSource) -> Synonym {
    Synonym {
        name: name.to_string(),
        value: Some(value.to_string()),
        source,
    }
}

/// The effective value of a topic config, as `describe_topic_config` reports it.
pub fn effective_topic_config(
    key: &str,
    overrides: &BTreeMap<String, String>,
    dynamic_broker: &BTreeMap<String, String>,
    static_broker: &BTreeMap<String, String>,
) -> Option<String> {
    describe_topic_config(overrides, dynamic_broker, static_broker)
        .into_iter()
        .find(|c| c.name == key)
        .and_then(|c| c.value)
}

/// The broker's own configuration: every property it was started with (read-only, as
/// static configs are in Kafka) and the cluster-wide dynamic ones.
pub fn describe_broker_config(
    static_broker: &BTreeMap<String, String>,
    dynamic_broker: &BTreeMap<String, String>,
) -> Vec<DescribedConfig> {
    let mut keys: Vec<&String> = static_broker.keys().chain(dynamic_broker.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let mut synonyms = Vec::new();
            if let Some(value) = dynamic_broker.get(key) {
                synonyms.push(synonym(key, value, ConfigSource::DynamicDefaultBroker));
            }
            if let Some(value) = static_broker.get(key) {
                synonyms.push(synonym(key, value, ConfigSource::StaticBroker));
            }
            let first = synonyms[0].clone();
            let dynamic = dynamic_broker_key(key).is_some();
            DescribedConfig {
                name: key.clone(),
                value: first.value,
                source: first.source,
                read_only: !dynamic,
                sensitive: key.contains("password"),
                config_type: dynamic_broker_key(key)
                    .map_or(ConfigType::String, |(s, _)| s.config_type),
                documentation: "",
                synonyms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_default_is_valid() {
        for spec in TOPIC_KEYS {
            if spec.default_key == "log.retention.hours" || spec.default_key == "log.roll.hours" {
                continue;
            }
            validate_topic_config(spec.name, Some(spec.default)).unwrap();
        }
    }

    #[test]
    fn errors_read_like_kafkas() {
        assert_eq!(
            validate_topic_config("foo", Some("1"))
                .unwrap_err()
                .to_string(),
            "Unknown topic config name: foo"
        );
        assert_eq!(
            validate_topic_config("retention.ms", Some("abc"))
                .unwrap_err()
                .to_string(),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            validate_topic_config("min.insync.replicas", Some("0"))
                .unwrap_err()
                .to_string(),
            "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"
        );
        assert_eq!(
            validate_topic_config("compression.type", Some("zip")).unwrap_err().to_string(),
            "Invalid value zip for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"
        );
        assert!(validate_topic_config("preallocate", Some("maybe")).is_err());
        assert!(validate_topic_config("cleanup.policy", Some("compact,delete")).is_ok());
        assert!(validate_topic_config("cleanup.policy", Some("shred")).is_err());
    }

    #[test]
    fn retention_synonyms_follow_kafkas_order() {
        let described =
            describe_topic_config(&map(&[]), &map(&[]), &map(&[("log.retention.hours", "24")]));
        let retention = described.iter().find(|c| c.name == "retention.ms").unwrap();
        assert_eq!(retention.value.as_deref(), Some("86400000"));
        assert_eq!(retention.source, ConfigSource::StaticBroker);
        let names: Vec<(&str, ConfigSource)> = retention
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.source))
            .collect();
        assert_eq!(
            names,
            vec![
                ("log.retention.hours", ConfigSource::StaticBroker),
                ("log.retention.hours", ConfigSource::Default)
            ]
        );
        let with_override =
            describe_topic_config(&map(&[("retention.ms", "1000")]), &map(&[]), &map(&[]));
        let retention = with_override
            .iter()
            .find(|c| c.name == "retention.ms")
            .unwrap();
        assert_eq!(retention.source, ConfigSource::DynamicTopic);
        assert_eq!(retention.synonyms[0].name, "retention.ms");
    }

    #[test]
    fn defaults_are_kafkas() {
        let described = describe_topic_config(&map(&[]), &map(&[]), &map(&[]));
        let value = |key: &str| {
            described
                .iter()
                .find(|c| c.name == key)
                .unwrap()
                .value
                .clone()
                .unwrap()
        };
        assert_eq!(value("retention.ms"), "604800000");
        assert_eq!(value("segment.bytes"), "1073741824");
        assert_eq!(value("max.message.bytes"), "1048588");
    }

    #[test]
    fn append_and_subtract_only_touch_lists() {
        let mut overrides = BTreeMap::new();
        apply_incremental(
            &mut overrides,
            AlterOp::Append,
            "cleanup.policy",
            Some("compact"),
        )
        .unwrap();
        assert_eq!(overrides["cleanup.policy"], "delete,compact");
        apply_incremental(
            &mut overrides,
            AlterOp::Subtract,
            "cleanup.policy",
            Some("delete"),
        )
        .unwrap();
        assert_eq!(overrides["cleanup.policy"], "compact");
        assert_eq!(
            apply_incremental(&mut overrides, AlterOp::Append, "retention.ms", Some("1"))
                .unwrap_err()
                .to_string(),
            "Config value append is not allowed for config key: retention.ms"
        );
        apply_incremental(&mut overrides, AlterOp::Delete, "cleanup.policy", None).unwrap();
        assert!(overrides.is_empty());
    }

    #[test]
    fn only_topic_default_keys_change_dynamically_on_brokers() {
        assert!(validate_broker_config("log.retention.ms", Some("1000")).is_ok());
        assert_eq!(
            validate_broker_config("node.id", Some("2"))
                .unwrap_err()
                .to_string(),
            "Cannot update these configs dynamically: Set(node.id)"
        );
    }
}
