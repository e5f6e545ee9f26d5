//! Every broker setting Potok knows by name, checked for the `KAFKA_*` environment
//! variables of a container: the settings the broker acts on, with the values each
//! accepts; the topic defaults of `config_catalog`; and Kafka's other broker settings,
//! which the broker accepts without acting on them so a compose file written for Kafka's
//! images starts as it is. The properties file is not checked against this list: as in
//! Kafka, unknown keys there are kept (DescribeConfigs reports them).

use std::collections::BTreeMap;

use potok_client::environment::Catalog;

use crate::config::{self, Roles};
use crate::config_catalog;

/// What a value must be.
#[derive(Debug, Clone, Copy)]
enum Value {
    /// A whole number in `min..=max`.
    Whole { min: i64, max: i64 },
    /// `true` or `false`, as the broker compares them.
    Boolean,
    /// Any text.
    Text,
    /// `NAME://HOST:PORT,...`
    Listeners,
    /// `process.roles`.
    Roles,
    /// `controller.quorum.voters`.
    Voters,
    /// `potok.metrics.listener`.
    MetricsAddress,
    /// `queued.max.request.bytes`: positive, or -1.
    QueuedBytes,
}

const INT: i64 = i32::MAX as i64;
const SHORT: i64 = i16::MAX as i64;
const LONG: i64 = i64::MAX;
const fn at_least(min: i64, max: i64) -> Value {
    Value::Whole { min, max }
}

/// The settings the broker acts on (README's configuration table), besides the topic
/// defaults `config_catalog` checks.
const ACTED_ON: &[(&str, Value)] = &[
    ("node.id", at_least(0, INT)),
    ("process.roles", Value::Roles),
    ("controller.quorum.voters", Value::Voters),
    ("controller.listener.names", Value::Text),
    ("metadata.log.dir", Value::Text),
    ("broker.session.timeout.ms", at_least(0, LONG)),
    ("broker.heartbeat.interval.ms", at_least(0, LONG)),
    ("broker.rack", Value::Text),
    ("replica.lag.time.max.ms", at_least(0, LONG)),
    ("replica.fetch.wait.max.ms", at_least(0, LONG)),
    ("controlled.shutdown.enable", Value::Boolean),
    ("auto.leader.rebalance.enable", Value::Boolean),
    ("leader.imbalance.check.interval.seconds", at_least(0, LONG)),
    ("listeners", Value::Listeners),
    ("advertised.listeners", Value::Listeners),
    ("log.dirs", Value::Text),
    ("log.dir", Value::Text),
    ("num.partitions", at_least(1, INT)),
    ("default.replication.factor", at_least(1, SHORT)),
    ("auto.create.topics.enable", Value::Boolean),
    ("log.retention.check.interval.ms", at_least(0, LONG)),
    ("socket.request.max.bytes", at_least(0, LONG)),
    ("queued.max.request.bytes", Value::QueuedBytes),
    ("max.connections", at_least(0, LONG)),
    ("max.connections.per.ip", at_least(0, LONG)),
    ("connections.max.idle.ms", at_least(i64::MIN, LONG)),
    ("offsets.topic.num.partitions", at_least(1, INT)),
    ("offsets.topic.replication.factor", at_least(1, SHORT)),
    ("group.initial.rebalance.delay.ms", at_least(0, INT)),
    ("group.min.session.timeout.ms", at_least(0, INT)),
    ("group.max.session.timeout.ms", at_least(0, INT)),
    ("retry.backoff.ms", at_least(0, LONG)),
    ("potok.metrics.listener", Value::MetricsAddress),
];

/// Kafka 3.7's other broker settings (`KafkaConfig`, KRaft mode): accepted, not acted on.
const KAFKA_ONLY: &[&str] = &[
    "alter.config.policy.class.name",
    "alter.log.dirs.replication.quota.window.num",
    "alter.log.dirs.replication.quota.window.size.seconds",
    "authorizer.class.name",
    "auto.include.jmx.reporter",
    "background.threads",
    "broker.id",
    "client.quota.callback.class",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "config.providers",
    "connection.failed.authentication.delay.ms",
    "connections.max.reauth.ms",
    "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms",
    "controller.quorum.append.linger.ms",
    "controller.quorum.bootstrap.servers",
    "controller.quorum.election.backoff.max.ms",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.timeout.ms",
    "controller.quorum.request.timeout.ms",
    "controller.quorum.retry.backoff.ms",
    "controller.socket.timeout.ms",
    "create.topic.policy.class.name",
    "delegation.token.expiry.check.interval.ms",
    "delegation.token.expiry.time.ms",
    "delegation.token.master.key",
    "delegation.token.max.lifetime.ms",
    "delegation.token.secret.key",
    "delete.records.purgatory.purge.interval.requests",
    "delete.topic.enable",
    "early.start.listeners",
    "eligible.leader.replicas.enable",
    "fetch.max.bytes",
    "fetch.purgatory.purge.interval.requests",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.max.size",
    "group.consumer.session.timeout.ms",
    "group.coordinator.rebalance.protocols",
    "group.coordinator.threads",
    "group.max.size",
    "initial.broker.registration.timeout.ms",
    "inter.broker.listener.name",
    "inter.broker.protocol.version",
    "kafka.metrics.polling.interval.secs",
    "kafka.metrics.reporters",
    "leader.imbalance.per.broker.percentage",
    "listener.security.protocol.map",
    "log.cleaner.backoff.ms",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.enable",
    "log.cleaner.io.buffer.load.factor",
    "log.cleaner.io.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.threads",
    "log.dir.failure.timeout.ms",
    "log.flush.offset.checkpoint.interval.ms",
    "log.flush.scheduler.interval.ms",
    "log.flush.start.offset.checkpoint.interval.ms",
    "log.message.downconversion.enable",
    "log.message.format.version",
    "log.message.timestamp.difference.max.ms",
    "max.connection.creation.rate",
    "max.connections.per.ip.overrides",
    "max.incremental.fetch.session.cache.slots",
    "metadata.log.max.record.bytes.between.snapshots",
    "metadata.log.max.snapshot.interval.ms",
    "metadata.log.segment.bytes",
    "metadata.log.segment.ms",
    "metadata.max.idle.interval.ms",
    "metadata.max.retention.bytes",
    "metadata.max.retention.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "num.io.threads",
    "num.network.threads",
    "num.recovery.threads.per.data.dir",
    "num.replica.alter.log.dirs.threads",
    "num.replica.fetchers",
    "offset.metadata.max.bytes",
    "offsets.commit.required.acks",
    "offsets.commit.timeout.ms",
    "offsets.load.buffer.size",
    "offsets.retention.check.interval.ms",
    "offsets.retention.minutes",
    "offsets.topic.compression.codec",
    "offsets.topic.segment.bytes",
    "password.encoder.cipher.algorithm",
    "password.encoder.iterations",
    "password.encoder.key.length",
    "password.encoder.keyfactory.algorithm",
    "password.encoder.old.secret",
    "password.encoder.secret",
    "principal.builder.class",
    "producer.id.expiration.check.interval.ms",
    "producer.id.expiration.ms",
    "producer.purgatory.purge.interval.requests",
    "queued.max.requests",
    "quota.window.num",
    "quota.window.size.seconds",
    "replica.fetch.backoff.ms",
    "replica.fetch.max.bytes",
    "replica.fetch.min.bytes",
    "replica.fetch.response.max.bytes",
    "replica.high.watermark.checkpoint.interval.ms",
    "replica.selector.class",
    "replica.socket.receive.buffer.bytes",
    "replica.socket.timeout.ms",
    "replication.quota.window.num",
    "replication.quota.window.size.seconds",
    "request.timeout.ms",
    "reserved.broker.max.id",
    "security.inter.broker.protocol",
    "security.providers",
    "server.max.startup.time.ms",
    "socket.connection.setup.timeout.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.listen.backlog.size",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    "super.users",
    "telemetry.max.bytes",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transaction.max.timeout.ms",
    "transaction.partition.verification.enable",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "transaction.state.log.load.buffer.size",
    "transaction.state.log.min.isr",
    "transaction.state.log.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.segment.bytes",
    "transactional.id.expiration.ms",
    "unstable.api.versions.enable",
    "unstable.metadata.versions.enable",
];

/// Families of Kafka settings known by their start: TLS and SASL settings, and their
/// per-listener and tiered-storage forms.
const FAMILIES: &[&str] = &["ssl.", "sasl.", "listener.name.", "remote.log."];

/// The broker's settings, for [`potok_client::environment::read`].
pub struct BrokerSettings;

impl Catalog for BrokerSettings {
    fn knows(&self, property: &str) -> bool {
        acted_on(property).is_some()
            || KAFKA_ONLY.contains(&property)
            || config_catalog::topic_default_keys().any(|key| key == property)
            || FAMILIES.iter().any(|family| property.starts_with(family))
    }

    fn check(&self, property: &str, value: &str) -> Result<(), String> {
        if config_catalog::topic_default_keys().any(|key| key == property) {
            return config_catalog::validate_broker_config(property, Some(value))
                .map_err(|e| e.to_string());
        }
        match acted_on(property) {
            Some(kind) => check(property, kind, value),
            None => Ok(()),
        }
    }

    fn names(&self) -> Vec<&str> {
        ACTED_ON
            .iter()
            .map(|(name, _)| *name)
            .chain(KAFKA_ONLY.iter().copied())
            .chain(config_catalog::topic_default_keys())
            .collect()
    }
}

fn acted_on(property: &str) -> Option<Value> {
    ACTED_ON
        .iter()
        .find(|(name, _)| *name == property)
        .map(|(_, kind)| *kind)
}

fn check(property: &str, kind: Value, value: &str) -> Result<(), String> {
    // The broker's own parsers, given the one property, say what they would refuse.
    let alone: BTreeMap<String, String> = [(property.to_string(), value.to_string())].into();
    let refused = |error: config::ConfigError| error.to_string();
    match kind {
        Value::Whole { min, max } => match value.trim().parse::<i64>() {
            Ok(number) if (min..=max).contains(&number) => Ok(()),
            _ if max == LONG => Err(format!("expected a whole number of at least {min}")),
            _ => Err(format!("expected a whole number from {min} to {max}")),
        },
        Value::Boolean if value == "true" || value == "false" => Ok(()),
        Value::Boolean => Err("expected true or false".into()),
        Value::Text => Ok(()),
        Value::Listeners => config::all_listeners(&alone, property)
            .map(drop)
            .map_err(refused),
        Value::Roles => Roles::from_properties(&alone).map(drop).map_err(refused),
        Value::Voters => config::quorum_voters(&alone).map(drop).map_err(refused),
        Value::MetricsAddress => config::metrics_listener(&alone).map(drop).map_err(refused),
        Value::QueuedBytes => config::queued_max_request_bytes(&alone)
            .map(drop)
            .map_err(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_what_the_broker_acts_on_and_kafkas_other_settings() {
        for name in [
            "node.id",
            "advertised.listeners",
            "log.retention.hours",
            "min.insync.replicas",
            "transaction.state.log.min.isr",
            "listener.security.protocol.map",
            "listener.name.internal.ssl.keystore.location",
            "potok.metrics.listener",
        ] {
            assert!(BrokerSettings.knows(name), "{name}");
        }
        for name in ["not.a.setting", "zookeeper.connect", "num.partiton"] {
            assert!(!BrokerSettings.knows(name), "{name}");
        }
    }

    #[test]
    fn values_are_checked_as_the_broker_reads_them() {
        let check = |property, value| BrokerSettings.check(property, value);
        assert!(check("num.partitions", "5").is_ok());
        assert_eq!(
            check("num.partitions", "0").unwrap_err(),
            "expected a whole number from 1 to 2147483647"
        );
        assert!(check("node.id", "one").is_err());
        assert!(check("auto.create.topics.enable", "false").is_ok());
        assert!(check("auto.create.topics.enable", "no").is_err());
        assert!(check("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093").is_ok());
        assert!(check("listeners", "localhost:9092")
            .unwrap_err()
            .contains("NAME://HOST:PORT"));
        assert!(check("process.roles", "zookeeper").is_err());
        assert!(check("controller.quorum.voters", "1@a:9093,2@b:9093").is_ok());
        assert!(check("controller.quorum.voters", "a:9093").is_err());
        assert!(check("queued.max.request.bytes", "-1").is_ok());
        assert!(check("queued.max.request.bytes", "0").is_err());
        assert!(check("potok.metrics.listener", "0.0.0.0:9308").is_ok());
        assert!(check("log.retention.ms", "abc")
            .unwrap_err()
            .contains("log.retention.ms"));
        assert!(check("transaction.state.log.min.isr", "anything").is_ok());
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names = BrokerSettings.names();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
