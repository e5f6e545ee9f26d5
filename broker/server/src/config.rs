//! Broker configuration, read the way Kafka reads it: a `server.properties` file, then
//! `--override key=value` flags, then `POTOK_*` environment variables (for containers:
//! `POTOK_NODE_ID=2` sets `node.id`). Keys are Kafka's own names; the full set of raw
//! properties is kept so DescribeConfigs can report what the operator wrote.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Kafka's default for `socket.request.max.bytes` (100 MiB): larger frames close the connection.
pub const DEFAULT_SOCKET_REQUEST_MAX_BYTES: usize = 104_857_600;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("--override expects key=value, got '{0}'")]
    BadOverride(String),
    #[error("missing required config '{0}'")]
    Missing(&'static str),
    #[error("invalid value '{value}' for config '{key}': {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

/// A listener such as `PLAINTEXT://127.0.0.1:9092`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    fn parse(text: &str) -> Result<Self, String> {
        let (name, address) = text
            .split_once("://")
            .ok_or_else(|| format!("'{text}' is not NAME://HOST:PORT"))?;
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| format!("'{text}' has no port"))?;
        let port = port
            .parse()
            .map_err(|_| format!("'{port}' is not a port number"))?;
        Ok(Listener {
            name: name.to_string(),
            host: host.trim_matches(['[', ']']).to_string(),
            port,
        })
    }

    /// The address to bind: an empty host means every interface, as in Kafka.
    pub fn bind_address(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        format!("{host}:{}", self.port)
    }
}

/// The settings the broker acts on, parsed once at start.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub node_id: i32,
    pub listener: Listener,
    pub advertised_listener: Listener,
    pub log_dir: PathBuf,
    pub socket_request_max_bytes: usize,
    pub log_retention_check_interval_ms: u64,
    pub metrics_listener: Option<SocketAddr>,
    /// Every property as written, for config defaults and DescribeConfigs.
    pub properties: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Reads `path`, applies `--override` values, then `POTOK_*` environment variables.
    pub fn load(
        path: &Path,
        overrides: &[String],
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parsed = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        let mut properties: BTreeMap<String, String> = parsed.into_iter().collect();
        for item in overrides {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| ConfigError::BadOverride(item.clone()))?;
            properties.insert(key.trim().to_string(), value.trim().to_string());
        }
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("POTOK_") {
                properties.insert(key.to_lowercase().replace('_', "."), value);
            }
        }
        Self::from_properties(properties)
    }

    pub fn from_properties(properties: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let node_id =
            parse_number(&properties, "node.id")?.ok_or(ConfigError::Missing("node.id"))?;
        let listener =
            parse_listener(&properties, "listeners")?.ok_or(ConfigError::Missing("listeners"))?;
        let advertised_listener = parse_listener(&properties, "advertised.listeners")?
            .unwrap_or_else(|| {
                let mut advertised = listener.clone();
                if advertised.host.is_empty() || advertised.host == "0.0.0.0" {
                    advertised.host = "localhost".to_string();
                }
                advertised
            });
        let log_dir = properties
            .get("log.dirs")
            .or_else(|| properties.get("log.dir"))
            .and_then(|dirs| dirs.split(',').next())
            .map(|dir| PathBuf::from(dir.trim()))
            .ok_or(ConfigError::Missing("log.dirs"))?;
        let socket_request_max_bytes = parse_number(&properties, "socket.request.max.bytes")?
            .unwrap_or(DEFAULT_SOCKET_REQUEST_MAX_BYTES);
        let log_retention_check_interval_ms =
            parse_number(&properties, "log.retention.check.interval.ms")?.unwrap_or(300_000);
        let metrics_listener = match properties.get("potok.metrics.listener") {
            None => None,
            Some(text) if text.is_empty() => None,
            Some(text) => Some(text.parse().map_err(|_| ConfigError::Invalid {
                key: "potok.metrics.listener".into(),
                value: text.clone(),
                reason: "expected HOST:PORT with a numeric host, e.g. 0.0.0.0:9308".into(),
            })?),
        };
        Ok(BrokerConfig {
            node_id,
            listener,
            advertised_listener,
            log_dir,
            socket_request_max_bytes,
            log_retention_check_interval_ms,
            metrics_listener,
            properties,
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }
}

fn parse_number<T: std::str::FromStr>(
    properties: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<T>, ConfigError> {
    properties
        .get(key)
        .map(|value| {
            value.trim().parse().map_err(|_| ConfigError::Invalid {
                key: key.to_string(),
                value: value.clone(),
                reason: "not a number".to_string(),
            })
        })
        .transpose()
}

fn parse_listener(
    properties: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Listener>, ConfigError> {
    let Some(value) = properties.get(key) else {
        return Ok(None);
    };
    let first = value.split(',').next().unwrap_or_default().trim();
    Listener::parse(first)
        .map(Some)
        .map_err(|reason| ConfigError::Invalid {
            key: key.to_string(),
            value: value.clone(),
            reason,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_kafka_keys() {
        let config = BrokerConfig::from_properties(props(&[
            ("node.id", "3"),
            ("listeners", "PLAINTEXT://:9092"),
            ("log.dirs", "/data/a,/data/b"),
        ]))
        .unwrap();
        assert_eq!(config.node_id, 3);
        assert_eq!(config.listener.bind_address(), "0.0.0.0:9092");
        assert_eq!(config.advertised_listener.host, "localhost");
        assert_eq!(config.log_dir, PathBuf::from("/data/a"));
        assert_eq!(
            config.socket_request_max_bytes,
            DEFAULT_SOCKET_REQUEST_MAX_BYTES
        );
    }

    #[test]
    fn overrides_and_environment_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.properties");
        std::fs::write(
            &path,
            "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092\nlog.dirs=/tmp/x\n",
        )
        .unwrap();
        let config = BrokerConfig::load(
            &path,
            &["node.id=2".to_string()],
            [("POTOK_LOG_DIRS".to_string(), "/tmp/y".to_string())].into_iter(),
        )
        .unwrap();
        assert_eq!(config.node_id, 2);
        assert_eq!(config.log_dir, PathBuf::from("/tmp/y"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let error = BrokerConfig::from_properties(props(&[
            ("node.id", "one"),
            ("listeners", "PLAINTEXT://:9092"),
            ("log.dirs", "/tmp"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("node.id"), "{error}");
        let error = BrokerConfig::from_properties(props(&[
            ("node.id", "1"),
            ("listeners", "localhost:9092"),
            ("log.dirs", "/tmp"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("listeners"), "{error}");
    }
}
