//! The APIs this broker serves and the version ranges it advertises in ApiVersions. The
//! ranges are what `kafka-protocol` can encode, which covers what current librdkafka, the
//! Java client and kafka-python send.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

const SERVED: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DeleteRecords,
    ApiKey::InitProducerId,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::DescribeLogDirs,
    ApiKey::CreatePartitions,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeTopicPartitions,
];

/// The versions of `api` this broker answers, or `None` when it does not serve it.
pub fn supported_versions(api: ApiKey) -> Option<VersionRange> {
    SERVED.contains(&api).then(|| api.valid_versions())
}

pub fn served() -> impl Iterator<Item = (ApiKey, VersionRange)> {
    SERVED.iter().map(|&api| (api, api.valid_versions()))
}
