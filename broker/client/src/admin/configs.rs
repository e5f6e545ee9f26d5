//! Describing and incrementally altering topic and broker configs.

use std::fmt;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};
use kafka_protocol::protocol::StrBytes;

use super::AdminClient;
use crate::connection::Connection;
use crate::error::{check, ClientError, KafkaError};

/// The kinds of resource that carry configs, with their protocol ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigResourceType {
    Topic = 2,
    Broker = 4,
    BrokerLogger = 8,
}

/// A topic (by name) or a broker (by id; the empty name is the cluster-wide default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigResource {
    pub kind: ConfigResourceType,
    pub name: String,
}

impl ConfigResource {
    pub fn topic(name: &str) -> ConfigResource {
        ConfigResource {
            kind: ConfigResourceType::Topic,
            name: name.to_owned(),
        }
    }

    pub fn broker(name: &str) -> ConfigResource {
        ConfigResource {
            kind: ConfigResourceType::Broker,
            name: name.to_owned(),
        }
    }

    /// The broker a request about this resource must reach: per-broker configs are only
    /// known to the broker itself.
    fn target_broker(&self) -> Option<i32> {
        match self.kind {
            ConfigResourceType::Topic => None,
            ConfigResourceType::Broker | ConfigResourceType::BrokerLogger => self.name.parse().ok(),
        }
    }
}

/// Where a config value comes from; the protocol ids of DescribeConfigs and the names of
/// Java's `ConfigEntry.ConfigSource`, which the tools print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Unknown,
    DynamicTopicConfig,
    DynamicBrokerConfig,
    DynamicDefaultBrokerConfig,
    StaticBrokerConfig,
    DefaultConfig,
    DynamicBrokerLoggerConfig,
    DynamicClientMetricsConfig,
    DynamicGroupConfig,
}

impl ConfigSource {
    pub fn from_id(id: i8) -> ConfigSource {
        match id {
            1 => ConfigSource::DynamicTopicConfig,
            2 => ConfigSource::DynamicBrokerConfig,
            3 => ConfigSource::DynamicDefaultBrokerConfig,
            4 => ConfigSource::StaticBrokerConfig,
            5 => ConfigSource::DefaultConfig,
            6 => ConfigSource::DynamicBrokerLoggerConfig,
            7 => ConfigSource::DynamicClientMetricsConfig,
            8 => ConfigSource::DynamicGroupConfig,
            _ => ConfigSource::Unknown,
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigSource::Unknown => "UNKNOWN",
            ConfigSource::DynamicTopicConfig => "DYNAMIC_TOPIC_CONFIG",
            ConfigSource::DynamicBrokerConfig => "DYNAMIC_BROKER_CONFIG",
            ConfigSource::DynamicDefaultBrokerConfig => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            ConfigSource::StaticBrokerConfig => "STATIC_BROKER_CONFIG",
            ConfigSource::DefaultConfig => "DEFAULT_CONFIG",
            ConfigSource::DynamicBrokerLoggerConfig => "DYNAMIC_BROKER_LOGGER_CONFIG",
            ConfigSource::DynamicClientMetricsConfig => "DYNAMIC_CLIENT_METRICS_CONFIG",
            ConfigSource::DynamicGroupConfig => "DYNAMIC_GROUP_CONFIG",
        })
    }
}

/// One other place a config's value is (or could be) set, in precedence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One config of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for sensitive values and unset values.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    pub synonyms: Vec<ConfigSynonym>,
}

impl ConfigEntry {
    /// Kafka's `ConfigEntry.isDefault()`: the value is the built-in default.
    pub fn is_default(&self) -> bool {
        self.source == ConfigSource::DefaultConfig
    }
}

/// One change in an IncrementalAlterConfigs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    Set(String, String),
    Delete(String),
    /// Adds values to a list config.
    Append(String, String),
    /// Removes values from a list config.
    Subtract(String, String),
}

impl AlterConfigOp {
    fn to_protocol(&self) -> AlterableConfig {
        let (name, operation, value) = match self {
            AlterConfigOp::Set(n, v) => (n, 0, Some(v)),
            AlterConfigOp::Delete(n) => (n, 1, None),
            AlterConfigOp::Append(n, v) => (n, 2, Some(v)),
            AlterConfigOp::Subtract(n, v) => (n, 3, Some(v)),
        };
        AlterableConfig::default()
            .with_name(StrBytes::from_string(name.clone()))
            .with_config_operation(operation)
            .with_value(value.map(|v| StrBytes::from_string(v.clone())))
    }
}

impl AdminClient {
    /// Describes the configs of each resource, one request per resource so per-broker
    /// configs reach their broker.
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        include_synonyms: bool,
    ) -> Result<Vec<(ConfigResource, Result<Vec<ConfigEntry>, KafkaError>)>, ClientError> {
        let mut results = Vec::with_capacity(resources.len());
        for resource in resources {
            let request = DescribeConfigsRequest::default()
                .with_resources(vec![DescribeConfigsResource::default()
                    .with_resource_type(resource.kind as i8)
                    .with_resource_name(StrBytes::from_string(resource.name.clone()))
                    .with_configuration_keys(None)])
                .with_include_synonyms(include_synonyms);
            let response = self
                .cluster
                .retry(|| async {
                    let connection = self.connection_for(resource).await?;
                    connection.send(request.clone()).await
                })
                .await?;
            let result = match response.results.into_iter().next() {
                None => Err(KafkaError::new(-1, Some("empty DescribeConfigs response"))),
                Some(r) => check(r.error_code, r.error_message.as_deref()).map(|()| {
                    r.configs
                        .into_iter()
                        .map(|c| ConfigEntry {
                            name: c.name.to_string(),
                            value: c.value.map(|v| v.to_string()),
                            source: ConfigSource::from_id(c.config_source),
                            read_only: c.read_only,
                            sensitive: c.is_sensitive,
                            synonyms: c
                                .synonyms
                                .into_iter()
                                .map(|s| ConfigSynonym {
                                    name: s.name.to_string(),
                                    value: s.value.map(|v| v.to_string()),
                                    source: ConfigSource::from_id(s.source),
                                })
                                .collect(),
                        })
                        .collect()
                }),
            };
            results.push((resource.clone(), result));
        }
        Ok(results)
    }

    /// Applies config changes, one request per resource.
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        validate_only: bool,
    ) -> Result<Vec<(ConfigResource, Result<(), KafkaError>)>, ClientError> {
        let mut results = Vec::with_capacity(changes.len());
        for (resource, ops) in changes {
            let request = IncrementalAlterConfigsRequest::default()
                .with_resources(vec![AlterConfigsResource::default()
                    .with_resource_type(resource.kind as i8)
                    .with_resource_name(StrBytes::from_string(resource.name.clone()))
                    .with_configs(ops.iter().map(AlterConfigOp::to_protocol).collect())])
                .with_validate_only(validate_only);
            let response = self
                .cluster
                .retry(|| async {
                    let connection = self.connection_for(resource).await?;
                    connection.send(request.clone()).await
                })
                .await?;
            let result = match response.responses.into_iter().next() {
                None => Err(KafkaError::new(
                    -1,
                    Some("empty IncrementalAlterConfigs response"),
                )),
                Some(r) => check(r.error_code, r.error_message.as_deref()),
            };
            results.push((resource.clone(), result));
        }
        Ok(results)
    }

    async fn connection_for(
        &self,
        resource: &ConfigResource,
    ) -> Result<std::sync::Arc<Connection>, ClientError> {
        match resource.target_broker() {
            Some(id) => self.cluster.connection(id).await,
            None => self.cluster.admin_connection().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_print_java_names() {
        assert_eq!(ConfigSource::from_id(1).to_string(), "DYNAMIC_TOPIC_CONFIG");
        assert_eq!(ConfigSource::from_id(5).to_string(), "DEFAULT_CONFIG");
        assert_eq!(ConfigSource::from_id(42).to_string(), "UNKNOWN");
    }

    #[test]
    fn ops_map_to_protocol_codes() {
        let delete = AlterConfigOp::Delete("a".into()).to_protocol();
        assert_eq!((delete.config_operation, delete.value), (1, None));
        let append = AlterConfigOp::Append("a".into(), "x".into()).to_protocol();
        assert_eq!(append.config_operation, 2);
    }

    #[test]
    fn broker_configs_go_to_their_broker() {
        assert_eq!(ConfigResource::broker("3").target_broker(), Some(3));
        assert_eq!(ConfigResource::broker("").target_broker(), None);
        assert_eq!(ConfigResource::topic("7").target_broker(), None);
    }
}
