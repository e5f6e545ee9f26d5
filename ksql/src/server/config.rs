//! The server's settings, under ksqlDB's names, read from `ksql-server.properties`, then
//! from `KSQL_*` environment variables named as in Confluent's `cp-ksqldb-server` image
//! (`KSQL_KSQL_SERVICE_ID` sets `ksql.service.id`, see `potok_client::environment`; each
//! must name a setting of `config_names` with a valid value), then from `--override
//! key=value` flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use potok_client::environment::{self, EnvironmentError};

use super::config_names::KsqlSettings;

/// ksqlDB's default listener.
const DEFAULT_LISTENER: &str = "http://0.0.0.0:8088";
/// ksqlDB's default service id; internal topic names start with it.
const DEFAULT_SERVICE_ID: &str = "default_";

/// The property bounding a request body of `/ksql`, `/query`, `/query-stream` and
/// `/close-query`, in bytes. ksqlDB leaves this to its HTTP server; Potok names it here.
pub const MAX_REQUEST_BYTES: &str = "ksql.server.request.max.bytes";
/// 32 MiB: far beyond any statement text, small enough that a few at once cannot exhaust memory.
const DEFAULT_MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// The property bounding one line (one row) of an `/inserts-stream` body, in bytes; the
/// body itself may be of any length, as it is read a line at a time.
pub const MAX_INSERT_LINE_BYTES: &str = "ksql.server.inserts.max.line.bytes";
/// 1 MiB, Kafka's default `max.request.size` of a producer: a larger row could not be
/// written to a topic with Kafka's default settings anyway.
const DEFAULT_MAX_INSERT_LINE_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {message}")]
    Parse { path: String, message: String },
    #[error("--override expects key=value, got '{0}'")]
    BadOverride(String),
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error(
        "{name}: '{value}' is not a valid listener; use http://host:port, e.g. http://0.0.0.0:8088"
    )]
    BadListener { name: String, value: String },
    #[error("bootstrap.servers is not set; add it to the properties file or pass --override bootstrap.servers=host:9092")]
    NoBootstrap,
    #[error(
        "{name}: '{value}' is not a valid size; use a positive number of bytes, e.g. 33554432"
    )]
    BadSize { name: String, value: String },
}

/// The settings the server uses, plus every property for SHOW PROPERTIES.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listener: SocketAddr,
    pub bootstrap_servers: String,
    pub service_id: String,
    /// The largest request body read whole, in bytes (`ksql.server.request.max.bytes`).
    pub max_request_bytes: usize,
    /// The longest line of an `/inserts-stream` body (`ksql.server.inserts.max.line.bytes`).
    pub max_insert_line_bytes: usize,
    pub properties: BTreeMap<String, String>,
}

/// A size in bytes from property `name`, or `default` when unset.
fn size(
    properties: &BTreeMap<String, String>,
    name: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(value) = properties.get(name) else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| ConfigError::BadSize {
            name: name.to_string(),
            value: value.clone(),
        })
}

pub(super) fn listener(value: &str) -> Result<SocketAddr, ConfigError> {
    let bad = || ConfigError::BadListener {
        name: "listeners".into(),
        value: value.to_string(),
    };
    let first = value.split(',').next().unwrap_or_default().trim();
    let address = first.strip_prefix("http://").ok_or_else(bad)?;
    let address = address.trim_end_matches('/');
    let address = address.replacen("localhost", "127.0.0.1", 1);
    address.parse().map_err(|_| bad())
}

impl ServerConfig {
    /// Settings from properties already read.
    pub fn from_properties(
        properties: BTreeMap<String, String>,
    ) -> Result<ServerConfig, ConfigError> {
        let listener = listener(
            properties
                .get("listeners")
                .map_or(DEFAULT_LISTENER, String::as_str),
        )?;
        let bootstrap_servers = properties
            .get("bootstrap.servers")
            .or_else(|| properties.get("ksql.streams.bootstrap.servers"))
            .cloned()
            .ok_or(ConfigError::NoBootstrap)?;
        let service_id = properties
            .get("ksql.service.id")
            .cloned()
            .unwrap_or_else(|| DEFAULT_SERVICE_ID.into());
        Ok(ServerConfig {
            listener,
            bootstrap_servers,
            service_id,
            max_request_bytes: size(&properties, MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES)?,
            max_insert_line_bytes: size(
                &properties,
                MAX_INSERT_LINE_BYTES,
                DEFAULT_MAX_INSERT_LINE_BYTES,
            )?,
            properties,
        })
    }

    /// Reads the file, then the environment's `KSQL_*` variables, then the overrides.
    pub fn load(
        path: &Path,
        overrides: &[String],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ServerConfig, ConfigError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let parsed = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            ConfigError::Parse {
                path: shown,
                message: e.to_string(),
            }
        })?;
        let overrides = overrides
            .iter()
            .map(|item| {
                item.split_once('=')
                    .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
                    .ok_or_else(|| ConfigError::BadOverride(item.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let settings = environment::read(&environment::KSQL, env, &KsqlSettings)?;
        for setting in &settings {
            tracing::info!(
                variable = %setting.variable,
                property = %setting.property,
                "set from the environment"
            );
        }
        ServerConfig::from_properties(environment::layered(parsed, &settings, overrides))
    }

    /// The topic holding every command, from which a restarted server rebuilds itself.
    pub fn command_topic(&self) -> String {
        format!("_confluent-ksql-{}_command_topic", self.service_id)
    }

    /// The processing log topic, where records that could not be processed are described.
    pub fn processing_log_topic(&self) -> String {
        self.properties
            .get("ksql.logging.processing.topic.name")
            .cloned()
            .unwrap_or_else(|| format!("{}ksql_processing_log", self.service_id))
    }

    /// The consumer group of a persistent query.
    pub fn query_group(&self, query_id: &str) -> String {
        format!("_confluent-ksql-{}query_{query_id}", self.service_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_ksqldb_settings() {
        let config = ServerConfig::from_properties(properties(&[
            ("bootstrap.servers", "127.0.0.1:9092"),
            ("listeners", "http://localhost:8089"),
            ("ksql.service.id", "potok_"),
        ]))
        .unwrap();
        assert_eq!(config.listener, "127.0.0.1:8089".parse().unwrap());
        assert_eq!(
            config.command_topic(),
            "_confluent-ksql-potok__command_topic"
        );
        assert_eq!(
            config.query_group("CSAS_S_1"),
            "_confluent-ksql-potok_query_CSAS_S_1"
        );
    }

    #[test]
    fn request_limits_default_and_can_be_set() {
        let defaults =
            ServerConfig::from_properties(properties(&[("bootstrap.servers", "x:1")])).unwrap();
        assert_eq!(defaults.max_request_bytes, 32 * 1024 * 1024);
        assert_eq!(defaults.max_insert_line_bytes, 1024 * 1024);
        let set = ServerConfig::from_properties(properties(&[
            ("bootstrap.servers", "x:1"),
            ("ksql.server.request.max.bytes", "65536"),
            ("ksql.server.inserts.max.line.bytes", " 4096 "),
        ]))
        .unwrap();
        assert_eq!(
            (set.max_request_bytes, set.max_insert_line_bytes),
            (65536, 4096)
        );
        for bad in ["0", "-1", "lots", ""] {
            let refused = ServerConfig::from_properties(properties(&[
                ("bootstrap.servers", "x:1"),
                ("ksql.server.request.max.bytes", bad),
            ]))
            .unwrap_err();
            assert!(
                refused
                    .to_string()
                    .starts_with("ksql.server.request.max.bytes: '"),
                "{refused}"
            );
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ksql_variables_sit_between_the_file_and_the_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ksql-server.properties");
        std::fs::write(
            &path,
            "bootstrap.servers=file:9092\nksql.service.id=file_\n",
        )
        .unwrap();
        let config = ServerConfig::load(
            &path,
            &["ksql.service.id=flag_".to_string()],
            env(&[
                ("KSQL_LISTENERS", "http://0.0.0.0:8089"),
                ("KSQL_BOOTSTRAP_SERVERS", "env:9092"),
                ("KSQL_KSQL_SERVICE_ID", "env_"),
                ("KSQL_KSQL_STREAMS_AUTO_OFFSET_RESET", "earliest"),
                ("KSQL_HEAP_OPTS", "-Xmx1G"),
                ("KAFKA_NODE_ID", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listener, "0.0.0.0:8089".parse().unwrap());
        assert_eq!(config.bootstrap_servers, "env:9092");
        assert_eq!(config.service_id, "flag_");
        assert_eq!(
            config.properties["ksql.streams.auto.offset.reset"],
            "earliest"
        );
        let refused = |pairs: &[(&str, &str)]| {
            ServerConfig::load(&path, &[], env(pairs))
                .unwrap_err()
                .to_string()
        };
        let error = refused(&[("KSQL_QTT_DIR", "/tmp")]);
        assert!(
            error.starts_with("environment variable KSQL_QTT_DIR sets 'qtt.dir', which is not a ksql server setting"),
            "{error}"
        );
        let error = refused(&[("KSQL_KSQL_SERVICE_IDD", "x")]);
        assert!(
            error.contains("did you mean KSQL_KSQL_SERVICE_ID"),
            "{error}"
        );
        let error = refused(&[("KSQL_LISTENERS", "8088")]);
        assert!(
            error.contains("KSQL_LISTENERS sets 'listeners' to '8088'"),
            "{error}"
        );
    }

    #[test]
    fn explains_what_is_wrong() {
        let missing = ServerConfig::from_properties(properties(&[])).unwrap_err();
        assert!(missing.to_string().contains("bootstrap.servers is not set"));
        let bad = ServerConfig::from_properties(properties(&[
            ("bootstrap.servers", "x:1"),
            ("listeners", "8088"),
        ]))
        .unwrap_err();
        assert!(bad.to_string().contains("not a valid listener"));
    }
}
