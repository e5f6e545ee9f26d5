//! Every ksql server setting Potok knows by name, checked for the `KSQL_*` environment
//! variables of a container: the settings the server acts on, with the values each
//! accepts; ksqlDB's other server settings; and the Kafka Streams and Kafka client settings
//! ksqlDB passes on, accepted so a compose file written for ksqlDB's image starts as it is.
//! The properties file is not checked against this list: as in ksqlDB, unknown keys there
//! are kept (SHOW PROPERTIES lists them).

use potok_client::environment::Catalog;

use super::config::{MAX_INSERT_LINE_BYTES, MAX_REQUEST_BYTES};
use crate::executor::{DEFAULT_KEY_FORMAT, DEFAULT_VALUE_FORMAT};
use crate::format::Format;

/// What a value must be.
#[derive(Debug, Clone, Copy)]
enum Value {
    Text,
    /// `http://HOST:PORT`, as `listeners` is read.
    Listener,
    /// A positive number of bytes.
    Size,
    /// `earliest`, `latest` or `none`, any case.
    OffsetReset,
    /// A serialization format name: `JSON`, `KAFKA`, ...
    Format,
}

/// The settings the server acts on (docs/ksql.md lists them).
const ACTED_ON: &[(&str, Value)] = &[
    ("listeners", Value::Listener),
    ("bootstrap.servers", Value::Text),
    ("ksql.streams.bootstrap.servers", Value::Text),
    ("ksql.service.id", Value::Text),
    ("ksql.logging.processing.topic.name", Value::Text),
    ("auto.offset.reset", Value::OffsetReset),
    ("ksql.streams.auto.offset.reset", Value::OffsetReset),
    (DEFAULT_KEY_FORMAT, Value::Format),
    (DEFAULT_VALUE_FORMAT, Value::Format),
    (MAX_REQUEST_BYTES, Value::Size),
    (MAX_INSERT_LINE_BYTES, Value::Size),
];

/// ksqlDB's other server settings (`KsqlConfig`, `KsqlRestConfig`) and the Kafka Streams
/// and client settings it takes unprefixed: accepted, not acted on.
const KSQLDB_ONLY: &[&str] = &[
    "access.control.allow.headers",
    "access.control.allow.methods",
    "access.control.allow.origin",
    "application.server",
    "authentication.method",
    "authentication.realm",
    "authentication.roles",
    "authentication.skip.paths",
    "buffered.records.per.partition",
    "cache.max.bytes.buffering",
    "client.id",
    "commit.interval.ms",
    "default.deserialization.exception.handler",
    "default.production.exception.handler",
    "host.name",
    "ksql.access.validator.enable",
    "ksql.advertised.listener",
    "ksql.assert.schema.default.timeout.ms",
    "ksql.assert.topic.default.timeout.ms",
    "ksql.authentication.plugin.class",
    "ksql.authorization.cache.expiry.time.secs",
    "ksql.authorization.cache.max.entries",
    "ksql.cast.strings.preserve.nulls",
    "ksql.create.or.replace.enabled",
    "ksql.endpoint.logging.ignored.paths.regex",
    "ksql.endpoint.logging.log.queries",
    "ksql.error.classifier.regex",
    "ksql.extension.dir",
    "ksql.fetch.remote.hosts.max.timeout.seconds",
    "ksql.headers.columns.enabled",
    "ksql.healthcheck.interval.ms",
    "ksql.heartbeat.check.interval.ms",
    "ksql.heartbeat.discover.interval.ms",
    "ksql.heartbeat.enable",
    "ksql.heartbeat.missed.threshold.ms",
    "ksql.heartbeat.send.interval.ms",
    "ksql.heartbeat.thread.pool.size",
    "ksql.heartbeat.window.ms",
    "ksql.hidden.topics",
    "ksql.idle.connection.timeout.seconds",
    "ksql.insert.into.values.enabled",
    "ksql.internal.listener",
    "ksql.internal.ssl.client.authentication",
    "ksql.internal.topic.min.insync.replicas",
    "ksql.internal.topic.replicas",
    "ksql.lag.reporting.enable",
    "ksql.lag.reporting.send.interval.ms",
    "ksql.local.commands.location",
    "ksql.logging.processing.rows.include",
    "ksql.logging.processing.stream.auto.create",
    "ksql.logging.processing.stream.name",
    "ksql.logging.processing.topic.auto.create",
    "ksql.logging.processing.topic.partitions",
    "ksql.logging.processing.topic.replication.factor",
    "ksql.max.push.queries",
    "ksql.metrics.extension",
    "ksql.metrics.tags.custom",
    "ksql.nested.error.set.null",
    "ksql.output.topic.name.prefix",
    "ksql.persistence.wrap.single.values",
    "ksql.persistent.prefix",
    "ksql.properties.overrides.denylist",
    "ksql.pull.queries.enable",
    "ksql.query.error.max.queue.size",
    "ksql.query.persistent.active.limit",
    "ksql.query.persistent.max.bytes.buffering.total",
    "ksql.query.pull.enable.standby.reads",
    "ksql.query.pull.max.allowed.offset.lag",
    "ksql.query.pull.max.concurrent.requests",
    "ksql.query.pull.max.qps",
    "ksql.query.pull.metrics.enabled",
    "ksql.query.pull.table.scan.enabled",
    "ksql.query.pull.thread.pool.size",
    "ksql.query.push.v2.enabled",
    "ksql.query.retry.backoff.initial.ms",
    "ksql.query.retry.backoff.max.ms",
    "ksql.query.status.running.threshold.seconds",
    "ksql.query.transient.max.bytes.buffering.total",
    "ksql.readonly.topics",
    "ksql.rowpartition.rowoffset.enabled",
    "ksql.security.extension.class",
    "ksql.server.command.blocked.threshold.error.ms",
    "ksql.server.error.messages",
    "ksql.server.exception.uncaught.handler.enable",
    "ksql.server.install.dir",
    "ksql.server.preconditions",
    "ksql.server.sni.check.enable",
    "ksql.server.websockets.num.threads",
    "ksql.shared.runtime.enabled",
    "ksql.sink.window.change.log.additional.retention",
    "ksql.source.table.materialization.enabled",
    "ksql.ssl.keystore.alias.external",
    "ksql.ssl.keystore.alias.internal",
    "ksql.suppress.buffer.size.bytes",
    "ksql.suppress.enabled",
    "ksql.timestamp.throw.on.invalid",
    "ksql.transient.prefix",
    "ksql.udf.collect.metrics",
    "ksql.udf.enable.security.manager",
    "ksql.udfs.enabled",
    "ksql.variable.substitution.enable",
    "ksql.websocket.connection.max.timeout.ms",
    "ksql.worker.pool.size",
    "max.task.idle.ms",
    "metadata.max.age.ms",
    "num.standby.replicas",
    "num.stream.threads",
    "poll.ms",
    "processing.guarantee",
    "proxy.protocol.listeners",
    "replication.factor",
    "request.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "security.protocol",
    "state.dir",
    "statestore.cache.max.bytes",
    "topology.optimization",
];

/// Families known by their start: the settings ksqlDB hands to Kafka Streams, its clients,
/// Schema Registry and Connect, and TLS and SASL settings.
const FAMILIES: &[&str] = &[
    "ksql.streams.",
    "ksql.schema.registry.",
    "ksql.connect.",
    "ksql.functions.",
    "producer.",
    "consumer.",
    "admin.",
    "main.consumer.",
    "restore.consumer.",
    "global.consumer.",
    "topic.",
    "ssl.",
    "sasl.",
];

/// The ksql server's settings, for [`potok_client::environment::read`].
pub struct KsqlSettings;

impl Catalog for KsqlSettings {
    fn knows(&self, property: &str) -> bool {
        acted_on(property).is_some()
            || KSQLDB_ONLY.contains(&property)
            || FAMILIES.iter().any(|family| property.starts_with(family))
    }

    fn check(&self, property: &str, value: &str) -> Result<(), String> {
        match acted_on(property) {
            Some(kind) => check(kind, value),
            None => Ok(()),
        }
    }

    fn names(&self) -> Vec<&str> {
        ACTED_ON
            .iter()
            .map(|(name, _)| *name)
            .chain(KSQLDB_ONLY.iter().copied())
            .collect()
    }
}

fn acted_on(property: &str) -> Option<Value> {
    ACTED_ON
        .iter()
        .find(|(name, _)| *name == property)
        .map(|(_, kind)| *kind)
}

fn check(kind: Value, value: &str) -> Result<(), String> {
    match kind {
        Value::Text => Ok(()),
        Value::Listener => super::config::listener(value)
            .map(drop)
            .map_err(|e| e.to_string()),
        Value::Size => match value.trim().parse::<usize>() {
            Ok(bytes) if bytes > 0 => Ok(()),
            _ => Err("expected a positive number of bytes, e.g. 33554432".into()),
        },
        Value::OffsetReset => match value.trim().to_ascii_lowercase().as_str() {
            "earliest" | "latest" | "none" => Ok(()),
            _ => Err("expected earliest, latest or none".into()),
        },
        Value::Format => Format::parse(value.trim(), None)
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_what_the_server_acts_on_and_ksqldbs_other_settings() {
        for name in [
            "listeners",
            "bootstrap.servers",
            "ksql.service.id",
            "ksql.schema.registry.url",
            "ksql.streams.num.stream.threads",
            "ksql.logging.processing.stream.auto.create",
            "cache.max.bytes.buffering",
            "producer.interceptor.classes",
        ] {
            assert!(KsqlSettings.knows(name), "{name}");
        }
        for name in ["qtt.dir", "ksql.service.idd", "records"] {
            assert!(!KsqlSettings.knows(name), "{name}");
        }
    }

    #[test]
    fn values_are_checked_as_the_server_reads_them() {
        let check = |property, value| KsqlSettings.check(property, value);
        assert!(check("listeners", "http://0.0.0.0:8088").is_ok());
        assert!(check("listeners", "8088")
            .unwrap_err()
            .contains("not a valid listener"));
        assert!(check("ksql.server.request.max.bytes", "65536").is_ok());
        assert!(check("ksql.server.request.max.bytes", "0").is_err());
        assert!(check("ksql.streams.auto.offset.reset", "EARLIEST").is_ok());
        assert!(check("auto.offset.reset", "first").is_err());
        assert!(check("ksql.persistence.default.format.value", "JSON").is_ok());
        assert!(check("ksql.persistence.default.format.value", "XML").is_err());
        assert!(check("ksql.hidden.topics", "anything").is_ok());
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names = KsqlSettings.names();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
