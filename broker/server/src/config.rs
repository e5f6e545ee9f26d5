//! Broker configuration, read the way Kafka reads it: a `server.properties` file, then the
//! environment, then `--override key=value` flags. In the environment, `KAFKA_*` variables
//! are named as in Confluent's images (`KAFKA_ADVERTISED_LISTENERS` sets
//! `advertised.listeners`, see `potok_client::environment`) and must name a setting of
//! `config_names` with a valid value; `POTOK_*` ones (`POTOK_NODE_ID=2` sets `node.id`) are
//! taken as they are. Keys are Kafka's own names; the full set of raw properties is kept so
//! DescribeConfigs can report what the operator wrote.
//!
//! `process.roles` decides what the process runs, as in KRaft: `broker`, `coordinator`
//! (Kafka's `controller`) or both. Without it the node is a standalone broker that keeps
//! its metadata itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use potok_client::environment::{self, EnvironmentError, Setting};
use thiserror::Error;

use crate::config_listeners::ClientListeners;
use crate::config_names::BrokerSettings;

/// Kafka's default for `socket.request.max.bytes` (100 MiB): larger frames close the connection.
pub const DEFAULT_SOCKET_REQUEST_MAX_BYTES: usize = 104_857_600;
/// `queued.max.request.bytes`: the bytes of requests being read or handled, broker-wide.
/// Kafka's default is -1 (unbounded); Potok bounds it at 100 MiB, as much as one request of
/// the largest size `socket.request.max.bytes` allows, so memory follows configuration
/// rather than the number of clients. -1 restores Kafka's unbounded behaviour.
pub const DEFAULT_QUEUED_MAX_REQUEST_BYTES: usize = 104_857_600;
/// `max.connections`: Kafka's default is `Int.MAX`; Potok caps the broker at 10,000 open
/// connections, which keeps the per-connection share of memory bounded too.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Kafka's default for `max.connections.per.ip` (`Int.MAX`: no limit per address).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 2_147_483_647;
/// Kafka's default for `connections.max.idle.ms` (10 minutes).
pub const DEFAULT_CONNECTIONS_MAX_IDLE_MS: u64 = 600_000;

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
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
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

/// What this process runs (`process.roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub broker: bool,
    pub coordinator: bool,
}

impl Roles {
    /// No `process.roles`: a standalone broker with its own metadata.
    pub const STANDALONE: Roles = Roles {
        broker: true,
        coordinator: false,
    };

    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<Roles, ConfigError> {
        let Some(value) = properties.get("process.roles") else {
            return Ok(Roles::STANDALONE);
        };
        let mut roles = Roles {
            broker: false,
            coordinator: false,
        };
        for role in value.split(',').map(str::trim) {
            match role {
                "broker" => roles.broker = true,
                "coordinator" | "controller" => roles.coordinator = true,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "process.roles".into(),
                        value: value.clone(),
                        reason: format!(
                            "unknown role '{role}'; use broker, coordinator or broker,coordinator"
                        ),
                    })
                }
            }
        }
        if !roles.broker && !roles.coordinator {
            return Err(ConfigError::Invalid {
                key: "process.roles".into(),
                value: value.clone(),
                reason: "no role given; use broker, coordinator or broker,coordinator".into(),
            });
        }
        Ok(roles)
    }
}

/// The coordinators of a cluster: `controller.quorum.voters=1@host:9093,2@host:9093,...`.
pub fn quorum_voters(
    properties: &BTreeMap<String, String>,
) -> Result<BTreeMap<u64, String>, ConfigError> {
    let value = properties
        .get("controller.quorum.voters")
        .ok_or(ConfigError::Missing("controller.quorum.voters"))?;
    let invalid = |reason: String| ConfigError::Invalid {
        key: "controller.quorum.voters".into(),
        value: value.clone(),
        reason,
    };
    let mut voters = BTreeMap::new();
    for voter in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let (id, address) = voter
            .split_once('@')
            .ok_or_else(|| invalid(format!("'{voter}' is not ID@HOST:PORT")))?;
        let id: u64 = id
            .parse()
            .map_err(|_| invalid(format!("'{id}' is not a node id")))?;
        if !address.contains(':') {
            return Err(invalid(format!("'{voter}' has no port")));
        }
        voters.insert(id, address.to_string());
    }
    if voters.is_empty() {
        return Err(invalid("no voters listed".into()));
    }
    Ok(voters)
}

/// The listener coordinators serve the quorum on: the first of `listeners` named in
/// `controller.listener.names` (default `CONTROLLER`).
pub fn controller_listener(properties: &BTreeMap<String, String>) -> Result<Listener, ConfigError> {
    let names = controller_listener_names(properties);
    all_listeners(properties, "listeners")?
        .into_iter()
        .find(|l| names.contains(&l.name))
        .ok_or(ConfigError::Missing(
            "listeners entry named in controller.listener.names (e.g. CONTROLLER://:9093)",
        ))
}

fn controller_listener_names(properties: &BTreeMap<String, String>) -> Vec<String> {
    properties
        .get("controller.listener.names")
        .map_or("CONTROLLER", String::as_str)
        .split(',')
        .map(|n| n.trim().to_string())
        .collect()
}

/// Where `/metrics` is served (`potok.metrics.listener`); unset or empty for nowhere.
pub fn metrics_listener(
    properties: &BTreeMap<String, String>,
) -> Result<Option<SocketAddr>, ConfigError> {
    match properties.get("potok.metrics.listener") {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| ConfigError::Invalid {
            key: "potok.metrics.listener".into(),
            value: text.clone(),
            reason: "expected HOST:PORT with a numeric host, e.g. 0.0.0.0:9308".into(),
        }),
    }
}

/// The settings the broker acts on, parsed once at start.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub node_id: i32,
    /// The coordinators' addresses when this broker belongs to a cluster.
    pub quorum_voters: Option<Vec<String>>,
    pub listeners: ClientListeners,
    pub log_dir: PathBuf,
    pub socket_request_max_bytes: usize,
    /// `queued.max.request.bytes`; `None` when set to -1 (unbounded, Kafka's default).
    pub queued_max_request_bytes: Option<usize>,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// `connections.max.idle.ms`; `None` when negative (connections never expire).
    pub connections_max_idle: Option<std::time::Duration>,
    pub log_retention_check_interval_ms: u64,
    /// Every property as written, for config defaults and DescribeConfigs.
    pub properties: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Reads `path`, then the environment's variables, then `--override` values.
    pub fn load(
        path: &Path,
        overrides: &[String],
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::from_properties(load_properties(path, overrides, env)?)
    }
}

/// The properties of `path`, then `KAFKA_*` and `POTOK_*` environment variables, then
/// `--override` values.
pub fn load_properties(
    path: &Path,
    overrides: &[String],
    env: impl Iterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parsed =
        java_properties::read(std::io::BufReader::new(file)).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let overrides = overrides
        .iter()
        .map(|item| {
            item.split_once('=')
                .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
                .ok_or_else(|| ConfigError::BadOverride(item.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let settings = environment_settings(env)?;
    for setting in &settings {
        tracing::info!(
            variable = %setting.variable,
            property = %setting.property,
            "set from the environment"
        );
    }
    Ok(environment::layered(parsed, &settings, overrides))
}

/// The checked `KAFKA_*` settings, then the `POTOK_*` ones, which win over them.
fn environment_settings(
    env: impl Iterator<Item = (String, String)>,
) -> Result<Vec<Setting>, ConfigError> {
    let env: Vec<(String, String)> = env.collect();
    let mut settings = environment::read(&environment::KAFKA, env.clone(), &BrokerSettings)?;
    for (variable, value) in env {
        if let Some(key) = variable.strip_prefix("POTOK_") {
            settings.push(Setting {
                property: key.to_lowercase().replace('_', "."),
                variable,
                value,
            });
        }
    }
    Ok(settings)
}

impl BrokerConfig {
    pub fn from_properties(properties: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let node_id =
            parse_number(&properties, "node.id")?.ok_or(ConfigError::Missing("node.id"))?;
        let quorum_voters = if properties.contains_key("process.roles") {
            Some(quorum_voters(&properties)?.into_values().collect())
        } else {
            None
        };
        let listeners =
            ClientListeners::read(&properties, &controller_listener_names(&properties))?;
        let log_dir = properties
            .get("log.dirs")
            .or_else(|| properties.get("log.dir"))
            .and_then(|dirs| dirs.split(',').next())
            .map(|dir| PathBuf::from(dir.trim()))
            .ok_or(ConfigError::Missing("log.dirs"))?;
        let socket_request_max_bytes = parse_number(&properties, "socket.request.max.bytes")?
            .unwrap_or(DEFAULT_SOCKET_REQUEST_MAX_BYTES);
        let queued_max_request_bytes = queued_max_request_bytes(&properties)?;
        let max_connections =
            parse_number(&properties, "max.connections")?.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let max_connections_per_ip = parse_number(&properties, "max.connections.per.ip")?
            .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_IP);
        let connections_max_idle = parse_number::<i64>(&properties, "connections.max.idle.ms")?
            .map_or(Some(DEFAULT_CONNECTIONS_MAX_IDLE_MS), |ms| {
                u64::try_from(ms).ok()
            })
            .map(std::time::Duration::from_millis);
        let log_retention_check_interval_ms =
            parse_number(&properties, "log.retention.check.interval.ms")?.unwrap_or(300_000);
        metrics_listener(&properties)?;
        replica_fetch_wait_within_lag(&properties)?;
        Ok(BrokerConfig {
            node_id,
            quorum_voters,
            listeners,
            log_dir,
            socket_request_max_bytes,
            queued_max_request_bytes,
            max_connections,
            max_connections_per_ip,
            connections_max_idle,
            log_retention_check_interval_ms,
            properties,
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// A duration property in milliseconds, or `default_ms` when unset or invalid.
    pub fn duration_ms(&self, key: &str, default_ms: u64) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.get(key)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default_ms),
        )
    }
}

/// Refuses a follower long poll longer than the lag that drops a follower from the ISR, as
/// Kafka does: a follower of a quiet partition waiting out its fetch would leave the ISR
/// and join it again at every poll.
fn replica_fetch_wait_within_lag(properties: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let fetch_wait: i64 = parse_number(properties, "replica.fetch.wait.max.ms")?.unwrap_or(500);
    let max_lag: i64 = parse_number(properties, "replica.lag.time.max.ms")?.unwrap_or(30_000);
    if fetch_wait > max_lag {
        return Err(ConfigError::Invalid {
            key: "replica.fetch.wait.max.ms".into(),
            value: fetch_wait.to_string(),
            reason: format!(
                "it must not exceed replica.lag.time.max.ms ({max_lag}), or followers of quiet \
                 partitions leave the ISR while they wait; lower it or raise \
                 replica.lag.time.max.ms"
            ),
        });
    }
    Ok(())
}

/// `queued.max.request.bytes`: a positive number of bytes, or -1 for no bound.
pub(crate) fn queued_max_request_bytes(
    properties: &BTreeMap<String, String>,
) -> Result<Option<usize>, ConfigError> {
    let key = "queued.max.request.bytes";
    match parse_number::<i64>(properties, key)? {
        None => Ok(Some(DEFAULT_QUEUED_MAX_REQUEST_BYTES)),
        Some(-1) => Ok(None),
        Some(bytes) => usize::try_from(bytes)
            .ok()
            .filter(|&bytes| bytes > 0)
            .map(Some)
            .ok_or_else(|| ConfigError::Invalid {
                key: key.to_string(),
                value: bytes.to_string(),
                reason: "expected a positive number of bytes, or -1 for no bound".to_string(),
            }),
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

pub(crate) fn all_listeners(
    properties: &BTreeMap<String, String>,
    key: &str,
) -> Result<Vec<Listener>, ConfigError> {
    let Some(value) = properties.get(key) else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|listener| {
            Listener::parse(listener).map_err(|reason| ConfigError::Invalid {
                key: key.to_string(),
                value: value.clone(),
                reason,
            })
        })
        .collect()
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
        assert_eq!(config.listeners.bound[0].bind_address(), "0.0.0.0:9092");
        assert_eq!(config.listeners.advertised[0].host, "localhost");
        assert_eq!(config.log_dir, PathBuf::from("/data/a"));
        assert_eq!(
            config.socket_request_max_bytes,
            DEFAULT_SOCKET_REQUEST_MAX_BYTES
        );
        assert_eq!(
            config.queued_max_request_bytes,
            Some(DEFAULT_QUEUED_MAX_REQUEST_BYTES)
        );
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(
            config.max_connections_per_ip,
            DEFAULT_MAX_CONNECTIONS_PER_IP
        );
        assert_eq!(
            config.connections_max_idle,
            Some(std::time::Duration::from_millis(600_000))
        );
    }

    /// A minimal broker's config with `extra` on top.
    fn with(extra: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
        let base = [
            ("node.id", "1"),
            ("listeners", "PLAINTEXT://:9092"),
            ("log.dirs", "/tmp"),
        ];
        let pairs: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        BrokerConfig::from_properties(props(&pairs))
    }

    #[test]
    fn connection_limits_take_kafka_keys_and_their_unbounded_values() {
        let config = with(&[
            ("queued.max.request.bytes", "-1"),
            ("max.connections", "50"),
            ("max.connections.per.ip", "5"),
            ("connections.max.idle.ms", "-1"),
        ])
        .unwrap();
        assert_eq!(config.queued_max_request_bytes, None);
        assert_eq!(config.max_connections, 50);
        assert_eq!(config.max_connections_per_ip, 5);
        assert_eq!(config.connections_max_idle, None);
        let config = with(&[("queued.max.request.bytes", "1048576")]).unwrap();
        assert_eq!(config.queued_max_request_bytes, Some(1_048_576));
        for bad in ["0", "-2", "lots"] {
            let error = with(&[("queued.max.request.bytes", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("queued.max.request.bytes"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_follower_long_poll_longer_than_the_isr_lag_is_refused() {
        assert!(with(&[("replica.fetch.wait.max.ms", "30000")]).is_ok());
        let error = with(&[("replica.fetch.wait.max.ms", "30001")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value '30001' for config 'replica.fetch.wait.max.ms': it must not exceed \
             replica.lag.time.max.ms (30000), or followers of quiet partitions leave the ISR \
             while they wait; lower it or raise replica.lag.time.max.ms"
        );
        let error = with(&[("replica.lag.time.max.ms", "100")]).unwrap_err();
        assert!(error.to_string().contains("(100)"), "{error}");
    }

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn properties_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.properties");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn overrides_and_environment_win_over_the_file() {
        let (_dir, path) =
            properties_file("node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092\nlog.dirs=/tmp/x\n");
        let config = BrokerConfig::load(
            &path,
            &["node.id=2".to_string()],
            env(&[("POTOK_LOG_DIRS", "/tmp/y")]),
        )
        .unwrap();
        assert_eq!(config.node_id, 2);
        assert_eq!(config.log_dir, PathBuf::from("/tmp/y"));
    }

    #[test]
    fn kafka_variables_sit_between_the_file_and_the_overrides() {
        let (_dir, path) = properties_file("node.id=1\nnum.partitions=1\n");
        let config = BrokerConfig::load(
            &path,
            &["node.id=3".to_string()],
            env(&[
                ("KAFKA_NODE_ID", "2"),
                ("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093"),
                ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://potok-1:9092"),
                ("KAFKA_LOG_DIRS", "/var/lib/potok"),
                ("KAFKA_NUM_PARTITIONS", "5"),
                (
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                    "PLAINTEXT:PLAINTEXT",
                ),
                ("KAFKA_HEAP_OPTS", "-Xmx1G"),
                ("KSQL_BOOTSTRAP_SERVERS", "ignored:9092"),
            ]),
        )
        .unwrap();
        assert_eq!(config.node_id, 3);
        assert_eq!(config.listeners.advertised[0].host, "potok-1");
        assert_eq!(config.log_dir, PathBuf::from("/var/lib/potok"));
        assert_eq!(config.get("num.partitions"), Some("5"));
        assert_eq!(
            config.get("listener.security.protocol.map"),
            Some("PLAINTEXT:PLAINTEXT")
        );
        assert_eq!(config.get("heap.opts"), None);
    }

    #[test]
    fn kafka_variables_the_broker_would_refuse_stop_it_with_the_variable_named() {
        let (_dir, path) = properties_file("node.id=1\n");
        let refused = |pairs: &[(&str, &str)]| {
            load_properties(&path, &[], env(pairs))
                .unwrap_err()
                .to_string()
        };
        let error = refused(&[("KAFKA_NOT_A_SETTING", "1")]);
        assert!(
            error.starts_with("environment variable KAFKA_NOT_A_SETTING sets 'not.a.setting', which is not a broker setting"),
            "{error}"
        );
        let error = refused(&[("KAFKA_NUM_PARTITONS", "1")]);
        assert!(
            error.contains("did you mean KAFKA_NUM_PARTITIONS"),
            "{error}"
        );
        let error = refused(&[("KAFKA_NODE_ID", "one")]);
        assert!(
            error.contains("KAFKA_NODE_ID sets 'node.id' to 'one'"),
            "{error}"
        );
        let error = refused(&[("KAFKA_ADVERTISED_LISTENERS", "potok-1:9092")]);
        assert!(error.contains("NAME://HOST:PORT"), "{error}");
        let error = refused(&[("KAFKA_", "1")]);
        assert!(error.contains("KAFKA_ names no property"), "{error}");
        // The file keeps keys it does not know, as Kafka's does.
        let (_dir, path) = properties_file("node.id=1\nnot.a.setting=1\n");
        assert!(load_properties(&path, &[], env(&[])).is_ok());
    }

    #[test]
    fn cluster_nodes_name_their_roles_voters_and_listeners() {
        let properties = props(&[
            ("node.id", "2"),
            ("process.roles", "broker,coordinator"),
            (
                "controller.quorum.voters",
                "1@127.0.0.1:9093,2@127.0.0.1:9094",
            ),
            (
                "listeners",
                "CONTROLLER://127.0.0.1:9094,PLAINTEXT://127.0.0.1:9092",
            ),
            ("log.dirs", "/tmp/x"),
        ]);
        let config = BrokerConfig::from_properties(properties.clone()).unwrap();
        assert_eq!(
            Roles::from_properties(&properties).unwrap(),
            Roles {
                broker: true,
                coordinator: true
            }
        );
        assert_eq!(config.listeners.bound[0].port, 9092);
        assert_eq!(
            config.quorum_voters.unwrap(),
            vec!["127.0.0.1:9093".to_string(), "127.0.0.1:9094".to_string()]
        );
        assert_eq!(controller_listener(&properties).unwrap().port, 9094);
        let mut bad = properties.clone();
        bad.insert("controller.quorum.voters".into(), "1:127.0.0.1:9093".into());
        let error = quorum_voters(&bad).unwrap_err().to_string();
        assert!(error.contains("ID@HOST:PORT"), "{error}");
        bad.insert("process.roles".into(), "broker,zookeeper".into());
        let error = Roles::from_properties(&bad).unwrap_err().to_string();
        assert!(error.contains("unknown role 'zookeeper'"), "{error}");
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
