//! The APIs this broker serves and the version ranges it advertises in ApiVersions. The
//! ranges are what `kafka-protocol` can encode, which covers what current librdkafka, the
//! Java client and kafka-python send.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

const SERVED: &[ApiKey] = &[
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::OffsetForLeaderEpoch,
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
    ApiKey::AlterPartitionReassignments,
    ApiKey::ListPartitionReassignments,
];

/// Highest versions below what `kafka-protocol` encodes: OffsetCommit and OffsetFetch v10
/// name topics by id, which the group coordinator does not resolve yet.
const CAPPED: &[(ApiKey, i16)] = &[(ApiKey::OffsetCommit, 9), (ApiKey::OffsetFetch, 9)];

/// The versions of `api` this broker answers, or `None` when it does not serve it.
pub fn supported_versions(api: ApiKey) -> Option<VersionRange> {
    SERVED.contains(&api).then(|| {
        let mut range = api.valid_versions();
        if let Some((_, max)) = CAPPED.iter().find(|(capped, _)| *capped == api) {
            range.max = range.max.min(*max);
        }
        range
    })
}

pub fn served() -> impl Iterator<Item = (ApiKey, VersionRange)> {
    SERVED
        .iter()
        .filter_map(|&api| Some((api, supported_versions(api)?)))
}
