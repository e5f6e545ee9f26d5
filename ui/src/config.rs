//! The console's settings, read from a properties file, then from environment variables,
//! then from `--override key=value` flags, each later one replacing an earlier value.
//!
//! Clusters and users are numbered entries under Kafka UI's (kafbat's) names, so its users
//! find them where they expect: `kafka.clusters.0.name`, `kafka.clusters.0.bootstrapServers`,
//! `kafka.clusters.0.ksqldbServer`, `kafka.clusters.0.readOnly`, `auth.type`. Names are read
//! without regard to case, as Spring reads them, so the environment variables Kafka UI's
//! image takes (`KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS`, `AUTH_TYPE`) configure this one too;
//! `POTOK_UI_*` variables set the other properties (`POTOK_UI_LISTENERS`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use potok_client::environment::{Convention, EnvironmentError};

/// The console's default listener: Kafka UI's port in the seed's stack.
const DEFAULT_LISTENER: &str = "http://0.0.0.0:8282";
/// How often the servers' `/metrics` are read for the charts.
const DEFAULT_SCRAPE_INTERVAL_MS: u64 = 10_000;
/// The largest record value or key the console produces, in bytes: Kafka's default
/// `max.request.size` of a producer.
const DEFAULT_PRODUCE_MAX_BYTES: usize = 1024 * 1024;

/// Every property name the console reads, for errors about misspelt ones. Numbered entries
/// are written with `N` for their number.
const KNOWN: &[&str] = &[
    "listeners",
    "metrics.scrape.interval.ms",
    "produce.max.bytes",
    "auth.type",
    "kafka.clusters.N.name",
    "kafka.clusters.N.bootstrapServers",
    "kafka.clusters.N.ksqldbServer",
    "kafka.clusters.N.metrics.urls",
    "kafka.clusters.N.readOnly",
    "auth.users.N.username",
    "auth.users.N.password",
    "auth.users.N.role",
    "auth.users.N.messages",
];

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
    #[error("'{0}' is not a setting of potok-ui; known settings: {known}", known = KNOWN.join(", "))]
    Unknown(String),
    #[error("{name}: '{value}' is not valid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{0} is required")]
    Missing(String),
    #[error("no cluster is configured; set kafka.clusters.0.name and kafka.clusters.0.bootstrapServers (or KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS)")]
    NoCluster,
    #[error("two clusters are named '{0}'; each kafka.clusters.N.name must be unique")]
    DuplicateCluster(String),
    #[error("auth.type is LOGIN_FORM but no user is configured; add auth.users.0.username, auth.users.0.password (a hash from `potok-ui hash-password`) and auth.users.0.role")]
    NoUsers,
}

/// One Kafka cluster the console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The name in URLs and the cluster menu.
    pub name: String,
    pub bootstrap_servers: String,
    /// The ksql server's REST endpoint, when the cluster has one.
    pub ksql_url: Option<String>,
    /// The `/metrics` endpoints of the cluster's servers, read for the charts.
    pub metrics_urls: Vec<String>,
    /// No change is offered or accepted for this cluster, whoever asks.
    pub read_only: bool,
}

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Reads and changes everything.
    Admin,
}

/// A user of the login form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// An Argon2id PHC string (`$argon2id$v=19$...`), never the password itself.
    pub password_hash: String,
    pub role: Role,
    /// Whether the user may read records; a viewer may be kept to metadata only.
    pub messages: bool,
}

/// How people sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone who reaches the port is an admin, as in the seed's stack.
    Open,
    LoginForm {
        users: Vec<User>,
    },
}

#[derive(Debug, Clone)]
pub struct UiConfig {
    pub listener: SocketAddr,
    pub clusters: Vec<ClusterSettings>,
    pub access: Access,
    pub scrape_interval: Duration,
    pub produce_max_bytes: usize,
}

/// The variable prefixes the console reads, and the property prefix each stands for.
const ENVIRONMENT: &[(Convention, &str)] = &[
    (convention("KAFKA_CLUSTERS_"), "kafka.clusters."),
    (convention("AUTH_"), "auth."),
    (convention("POTOK_UI_"), ""),
];

const fn convention(prefix: &'static str) -> Convention {
    Convention {
        prefix,
        read_by_the_image: &[],
        server: "console",
    }
}

impl UiConfig {
    /// Reads the file (when given), the environment and the overrides, in that order.
    pub fn load(
        path: Option<&Path>,
        overrides: &[String],
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Result<UiConfig, ConfigError> {
        let mut properties = BTreeMap::new();
        if let Some(path) = path {
            properties.extend(read_file(path)?);
        }
        for (variable, value) in variables {
            for (convention, property_prefix) in ENVIRONMENT {
                if let Some(name) = convention.property(&variable)? {
                    properties.insert(format!("{property_prefix}{name}"), value.clone());
                }
            }
        }
        for entry in overrides {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| ConfigError::BadOverride(entry.clone()))?;
            properties.insert(key.trim().to_string(), value.trim().to_string());
        }
        UiConfig::from_properties(&properties)
    }

    /// The settings `properties` describe, every name and value checked.
    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<UiConfig, ConfigError> {
        let mut listener = parse_listener("listeners", DEFAULT_LISTENER)?;
        let mut scrape_interval = Duration::from_millis(DEFAULT_SCRAPE_INTERVAL_MS);
        let mut produce_max_bytes = DEFAULT_PRODUCE_MAX_BYTES;
        let mut login_form = false;
        let mut clusters: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        let mut users: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (name, value) in properties {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "listeners" => listener = parse_listener(name, value)?,
                "metrics.scrape.interval.ms" => {
                    scrape_interval = Duration::from_millis(parse_positive(name, value)?)
                }
                "produce.max.bytes" => produce_max_bytes = parse_positive(name, value)? as usize,
                "auth.type" => {
                    login_form = match value.to_ascii_uppercase().as_str() {
                        "DISABLED" => false,
                        "LOGIN_FORM" => true,
                        _ => return Err(invalid(name, value, "use DISABLED or LOGIN_FORM")),
                    }
                }
                _ => {
                    if let Some((index, key)) = numbered(&lower, "kafka.clusters.") {
                        clusters
                            .entry(index)
                            .or_default()
                            .insert(key, value.clone());
                    } else if let Some((index, key)) = numbered(&lower, "auth.users.") {
                        users.entry(index).or_default().insert(key, value.clone());
                    } else {
                        return Err(ConfigError::Unknown(name.clone()));
                    }
                }
            }
        }
        let clusters = clusters
            .into_iter()
            .map(|(index, entry)| cluster(index, entry))
            .collect::<Result<Vec<_>, _>>()?;
        if clusters.is_empty() {
            return Err(ConfigError::NoCluster);
        }
        for (i, cluster) in clusters.iter().enumerate() {
            if clusters[..i].iter().any(|c| c.name == cluster.name) {
                return Err(ConfigError::DuplicateCluster(cluster.name.clone()));
            }
        }
        let users = users
            .into_iter()
            .map(|(index, entry)| user(index, entry))
            .collect::<Result<Vec<_>, _>>()?;
        let access = if login_form {
            if users.is_empty() {
                return Err(ConfigError::NoUsers);
            }
            Access::LoginForm { users }
        } else {
            Access::Open
        };
        Ok(UiConfig {
            listener,
            clusters,
            access,
            scrape_interval,
            produce_max_bytes,
        })
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&ClusterSettings> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let read =
        java_properties::read(std::io::BufReader::new(file)).map_err(|e| ConfigError::Parse {
            path: shown,
            message: e.to_string(),
        })?;
    Ok(read.into_iter().collect())
}

fn invalid(name: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_listener(name: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    let address = value.trim().strip_prefix("http://").unwrap_or(value.trim());
    address.trim_end_matches('/').parse().map_err(|_| {
        invalid(
            name,
            value,
            "use http://host:port, e.g. http://0.0.0.0:8282",
        )
    })
}

fn parse_positive(name: &str, value: &str) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(name, value, "expected a positive whole number")),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "expected true or false")),
    }
}

/// `kafka.clusters.0.bootstrapservers` under `kafka.clusters.` is entry 0, key
/// `bootstrapservers`.
fn numbered(name: &str, prefix: &str) -> Option<(u32, String)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, key) = rest.split_once('.')?;
    Some((index.parse().ok()?, key.to_string()))
}

fn cluster(
    index: u32,
    mut entry: BTreeMap<String, String>,
) -> Result<ClusterSettings, ConfigError> {
    let key = |k: &str| format!("kafka.clusters.{index}.{k}");
    let name = entry
        .remove("name")
        .ok_or_else(|| ConfigError::Missing(key("name")))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            &key("name"),
            &name,
            "a cluster name is letters, digits, '-', '_' and '.', as it appears in URLs",
        ));
    }
    let bootstrap_servers = entry
        .remove("bootstrapservers")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ConfigError::Missing(key("bootstrapServers")))?;
    potok_client::ClusterConfig::new(&bootstrap_servers)
        .map_err(|e| invalid(&key("bootstrapServers"), &bootstrap_servers, &e.to_string()))?;
    let ksql_url = match entry
        .remove("ksqldbserver")
        .filter(|s| !s.trim().is_empty())
    {
        Some(url) if url.starts_with("http://") => Some(url.trim_end_matches('/').to_string()),
        Some(url) => {
            return Err(invalid(
                &key("ksqldbServer"),
                &url,
                "use http://host:port, e.g. http://localhost:8088",
            ))
        }
        None => None,
    };
    let metrics_urls: Vec<String> = entry
        .remove("metrics.urls")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = metrics_urls.iter().find(|u| !u.starts_with("http://")) {
        return Err(invalid(
            &key("metrics.urls"),
            bad,
            "list http:// URLs of the servers' /metrics, comma-separated",
        ));
    }
    let read_only = match entry.remove("readonly") {
        Some(value) => parse_bool(&key("readOnly"), &value)?,
        None => false,
    };
    if let Some(unknown) = entry.into_keys().next() {
        return Err(ConfigError::Unknown(key(&unknown)));
    }
    Ok(ClusterSettings {
        name,
        bootstrap_servers,
        ksql_url,
        metrics_urls,
        read_only,
    })
}

fn user(index: u32, mut entry: BTreeMap<String, String>) -> Result<User, ConfigError> {
    let key = |k: &str| format!("auth.users.{index}.{k}");
    let username = entry
        .remove("username")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfigError::Missing(key("username")))?;
    let password_hash = entry
        .remove("password")
        .ok_or_else(|| ConfigError::Missing(key("password")))?;
    if !crate::auth::password::is_hash(&password_hash) {
        return Err(invalid(
            &key("password"),
            "(hidden)",
            "store a hash made by `potok-ui hash-password`, never the password itself",
        ));
    }
    let role = match entry.remove("role").as_deref().map(str::to_ascii_lowercase) {
        Some(role) if role == "admin" => Role::Admin,
        Some(role) if role == "viewer" => Role::Viewer,
        Some(other) => return Err(invalid(&key("role"), &other, "use admin or viewer")),
        None => return Err(ConfigError::Missing(key("role"))),
    };
    let messages = match entry.remove("messages") {
        Some(value) => parse_bool(&key("messages"), &value)?,
        None => true,
    };
    if let Some(unknown) = entry.into_keys().next() {
        return Err(ConfigError::Unknown(key(&unknown)));
    }
    Ok(User {
        username,
        password_hash,
        role,
        messages,
    })
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
    fn kafka_uis_names_describe_a_cluster_in_any_case() {
        let config = UiConfig::from_properties(&properties(&[
            ("kafka.clusters.0.name", "local"),
            ("kafka.clusters.0.bootstrapServers", "127.0.0.1:9092"),
            ("KAFKA.CLUSTERS.0.KSQLDBSERVER", "http://localhost:8088/"),
        ]))
        .unwrap();
        assert_eq!(config.listener.to_string(), "0.0.0.0:8282");
        assert_eq!(config.clusters.len(), 1);
        assert_eq!(config.clusters[0].name, "local");
        assert_eq!(
            config.clusters[0].ksql_url.as_deref(),
            Some("http://localhost:8088")
        );
        assert_eq!(config.access, Access::Open);
    }

    #[test]
    fn kafka_uis_environment_variables_configure_the_console() {
        let config = UiConfig::load(
            None,
            &["listeners=http://127.0.0.1:9999".to_string()],
            [
                ("KAFKA_CLUSTERS_0_NAME".to_string(), "a".to_string()),
                (
                    "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS".to_string(),
                    "kafka1:19092".to_string(),
                ),
                ("POTOK_UI_PRODUCE_MAX_BYTES".to_string(), "10".to_string()),
                ("HOME".to_string(), "/root".to_string()),
            ],
        )
        .unwrap();
        assert_eq!(config.clusters[0].bootstrap_servers, "kafka1:19092");
        assert_eq!(config.listener.port(), 9999);
        assert_eq!(config.produce_max_bytes, 10);
    }

    #[test]
    fn mistakes_are_named_with_their_fix() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "no cluster is configured"),
            (
                &[("kafka.clusters.0.name", "a")],
                "kafka.clusters.0.bootstrapServers is required",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a b"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                ],
                "as it appears in URLs",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                    ("kafka.clusters.0.ksqldb", "x"),
                ],
                "'kafka.clusters.0.ksqldb' is not a setting",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                    ("kafka.clusters.1.name", "a"),
                    ("kafka.clusters.1.bootstrapServers", "h:2"),
                ],
                "two clusters are named 'a'",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                    ("auth.type", "LOGIN_FORM"),
                ],
                "no user is configured",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                    ("auth.type", "LOGIN_FORM"),
                    ("auth.users.0.username", "ann"),
                    ("auth.users.0.password", "secret"),
                    ("auth.users.0.role", "admin"),
                ],
                "never the password itself",
            ),
            (
                &[
                    ("kafka.clusters.0.name", "a"),
                    ("kafka.clusters.0.bootstrapServers", "h:1"),
                    ("listeners", "8282"),
                ],
                "use http://host:port",
            ),
        ];
        for (pairs, expected) in cases {
            let error = UiConfig::from_properties(&properties(pairs))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }
}
