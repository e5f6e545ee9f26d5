//! The effective log settings of a topic, read from the config catalogue: its override,
//! else the cluster's dynamic broker config, else server.properties, else Kafka's default.

use std::collections::BTreeMap;

use crate::config::BrokerConfig;
use crate::config_catalog::describe_topic_config;
use crate::log::LogConfig;

pub fn log_config(
    topic: &BTreeMap<String, String>,
    dynamic_broker: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> LogConfig {
    let described = describe_topic_config(topic, dynamic_broker, &broker.properties);
    let value = |key: &str| {
        described
            .iter()
            .find(|c| c.name == key)
            .and_then(|c| c.value.as_deref())
            .unwrap_or_default()
            .to_string()
    };
    let number = |key: &str, default: i64| value(key).trim().parse().unwrap_or(default);
    let defaults = LogConfig::default();
    LogConfig {
        segment_bytes: number("segment.bytes", defaults.segment_bytes as i64).max(14) as u64,
        segment_ms: number("segment.ms", defaults.segment_ms),
        retention_ms: number("retention.ms", defaults.retention_ms),
        retention_bytes: number("retention.bytes", defaults.retention_bytes),
        index_interval_bytes: number("index.interval.bytes", defaults.index_interval_bytes as i64)
            .clamp(0, u32::MAX as i64) as u32,
        log_append_time: value("message.timestamp.type") == "LogAppendTime",
        retention_deletes: value("cleanup.policy")
            .split(',')
            .any(|policy| policy.trim() == "delete"),
        min_insync_replicas: number("min.insync.replicas", 1).max(1) as usize,
    }
}
