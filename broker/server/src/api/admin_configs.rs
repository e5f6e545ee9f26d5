//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and brokers.
//! Values are checked against Kafka's catalogue of keys before anything changes; a bad key
//! or value fails the whole resource with INVALID_CONFIG naming it, as Kafka does.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::create_topics_response::CreatableTopicConfigs;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::config_catalog::{self, AlterOp, DescribedConfig};
use crate::error::ApiError;
use crate::metadata::commands::unknown_topic;

/// Kafka's `ConfigResource.Type` codes.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (key, value) in configs {
        config_catalog::validate_topic_config(key, Some(value))
            .map_err(|e| ApiError::new(ResponseError::InvalidConfig, e.to_string()))?;
    }
    Ok(())
}

/// Every topic config with its effective value and source, as CreateTopics v5+ returns.
pub fn described_topic_configs(
    broker: &Broker,
    overrides: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    describe_topic(broker, overrides)
        .into_iter()
        .map(|described| {
            let mut config = CreatableTopicConfigs::default();
            config.name = StrBytes::from_string(described.name);
            config.value = described.value.map(StrBytes::from_string);
            config.read_only = described.read_only;
            config.config_source = described.source as i8;
            config.is_sensitive = described.sensitive;
            config
        })
        .collect()
}

fn describe_topic(broker: &Broker, overrides: &BTreeMap<String, String>) -> Vec<DescribedConfig> {
    config_catalog::describe_topic_config(
        overrides,
        &broker.image().broker_configs,
        &broker.config.properties,
    )
}

pub fn describe_configs(
    broker: &Broker,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let image = broker.image();
    let mut response = DescribeConfigsResponse::default();
    for resource in request.resources {
        let mut result = DescribeConfigsResult::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name.clone();
        let described = match resource.resource_type {
            RESOURCE_TOPIC => image
                .topics
                .get(resource.resource_name.as_str())
                .map(|topic| describe_topic(broker, &topic.configs))
                .ok_or_else(|| unknown_topic(resource.resource_name.as_str())),
            RESOURCE_BROKER => broker_resource(broker, resource.resource_name.as_str()).map(|()| {
                config_catalog::describe_broker_config(
                    &broker.config.properties,
                    &image.broker_configs,
                )
            }),
            other => Err(unsupported_resource(other)),
        };
        match described {
            Ok(configs) => {
                let wanted = resource.configuration_keys.as_ref();
                result.configs = configs
                    .into_iter()
                    .filter(|c| wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.name)))
                    .map(|c| {
                        to_response(c, request.include_synonyms, request.include_documentation)
                    })
                    .collect();
            }
            Err(error) => {
                broker.metrics.count_error("DescribeConfigs", &error);
                result.error_code = error.error_code();
                result.error_message = error.message_str();
            }
        }
        response.results.push(result);
    }
    response
}

fn to_response(
    described: DescribedConfig,
    include_synonyms: bool,
    include_documentation: bool,
) -> DescribeConfigsResourceResult {
    let mut result = DescribeConfigsResourceResult::default();
    result.name = StrBytes::from_string(described.name);
    result.value = described.value.map(StrBytes::from_string);
    result.read_only = described.read_only;
    result.config_source = described.source as i8;
    result.is_sensitive = described.sensitive;
    result.config_type = described.config_type as i8;
    if include_documentation {
        result.documentation = Some(StrBytes::from_string(described.documentation.to_string()));
    }
    if include_synonyms {
        result.synonyms = described
            .synonyms
            .into_iter()
            .map(|s| {
                let mut synonym = DescribeConfigsSynonym::default();
                synonym.name = StrBytes::from_string(s.name);
                synonym.value = s.value.map(StrBytes::from_string);
                synonym.source = s.source as i8;
                synonym
            })
            .collect();
    }
    result
}

/// A broker resource names this broker's id, or is empty for the cluster-wide default.
fn broker_resource(broker: &Broker, name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name == broker.config.node_id.to_string() {
        Ok(())
    } else {
        Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!(
                "Unexpected broker id, expected {} or empty string, but received {name}",
                broker.config.node_id
            ),
        ))
    }
}

fn unsupported_resource(resource_type: i8) -> ApiError {
    ApiError::new(
        ResponseError::InvalidRequest,
        format!(
            "Config resource type {resource_type} is not supported; use topics (2) or brokers (4)"
        ),
    )
}

/// Legacy AlterConfigs: the given set replaces all dynamic configs of the resource.
pub async fn alter_configs(broker: &Broker, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut response = AlterConfigsResponse::default();
    for resource in request.resources {
        let configs: BTreeMap<String, String> = resource
            .configs
            .iter()
            .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
            .collect();
        let outcome = replace_configs(
            broker,
            resource.resource_type,
            resource.resource_name.as_str(),
            configs,
            request.validate_only,
        )
        .await;
        let mut result = AlterConfigsResourceResponse::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        if let Err(error) = outcome {
            broker.metrics.count_error("AlterConfigs", &error);
            result.error_code = error.error_code();
            result.error_message = error.message_str();
        }
        response.responses.push(result);
    }
    broker.sync_metadata();
    response
}

pub async fn incremental_alter_configs(
    broker: &Broker,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut response = IncrementalAlterConfigsResponse::default();
    for resource in request.resources {
        let name = resource.resource_name.to_string();
        let outcome = async {
            let mut overrides = current_configs(broker, resource.resource_type, &name)?;
            for change in &resource.configs {
                let op = AlterOp::from_code(change.config_operation).ok_or_else(|| {
                    ApiError::new(
                        ResponseError::InvalidRequest,
                        format!("Unknown config operation {}", change.config_operation),
                    )
                })?;
                let value = change.value.as_ref().map(|v| v.as_str());
                if resource.resource_type == RESOURCE_TOPIC {
                    config_catalog::apply_incremental(
                        &mut overrides,
                        op,
                        change.name.as_str(),
                        value,
                    )
                } else {
                    config_catalog::apply_incremental_broker(
                        &mut overrides,
                        op,
                        change.name.as_str(),
                        value,
                    )
                }
                .map_err(|e| ApiError::new(ResponseError::InvalidConfig, e.to_string()))?;
            }
            replace_configs(
                broker,
                resource.resource_type,
                &name,
                overrides,
                request.validate_only,
            )
            .await
        }
        .await;
        let mut result = IncrementalResult::default();
        result.resource_type = resource.resource_type;
        result.resource_name = resource.resource_name;
        if let Err(error) = outcome {
            broker
                .metrics
                .count_error("IncrementalAlterConfigs", &error);
            result.error_code = error.error_code();
            result.error_message = error.message_str();
        }
        response.responses.push(result);
    }
    broker.sync_metadata();
    response
}

fn current_configs(
    broker: &Broker,
    resource_type: i8,
    name: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let image = broker.image();
    match resource_type {
        RESOURCE_TOPIC => image
            .topics
            .get(name)
            .map(|topic| topic.configs.clone())
            .ok_or_else(|| unknown_topic(name)),
        RESOURCE_BROKER => broker_resource(broker, name).map(|()| image.broker_configs.clone()),
        other => Err(unsupported_resource(other)),
    }
}

/// Validates the complete new set of dynamic configs and, unless validating only, stores it.
async fn replace_configs(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ApiError> {
    current_configs(broker, resource_type, name)?;
    match resource_type {
        RESOURCE_TOPIC => {
            validate_topic_configs(&configs)?;
            if !validate_only {
                broker
                    .controller
                    .set_topic_configs(name.to_string(), configs)
                    .await?;
            }
        }
        _ => {
            for (key, value) in &configs {
                config_catalog::validate_broker_config(key, Some(value))
                    .map_err(|e| ApiError::new(ResponseError::InvalidConfig, e.to_string()))?;
            }
            if !validate_only {
                broker.controller.set_broker_configs(configs).await?;
            }
        }
    }
    Ok(())
}
