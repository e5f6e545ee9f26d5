//! The range of versions of each Kafka API this crate speaks.
//!
//! A connection uses, per API, the highest version both this table and the broker accept.
//! The maxima stop before versions that change a request's shape in ways the client does
//! not handle yet (Fetch 13+ and Produce 13+ address topics by id).

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

/// Versions this crate can encode and interpret for `key`; `None` for APIs it never sends.
pub fn supported(key: ApiKey) -> Option<VersionRange> {
    let (min, max) = match key {
        ApiKey::ApiVersions => (0, 3),
        ApiKey::Metadata => (1, 12),
        ApiKey::CreateTopics => (2, 7),
        ApiKey::DeleteTopics => (1, 6),
        ApiKey::CreatePartitions => (0, 3),
        ApiKey::DescribeConfigs => (1, 4),
        ApiKey::IncrementalAlterConfigs => (0, 1),
        ApiKey::DescribeCluster => (0, 1),
        ApiKey::DescribeLogDirs => (0, 4),
        ApiKey::DescribeTopicPartitions => (0, 0),
        ApiKey::AlterPartitionReassignments => (0, 1),
        ApiKey::ListPartitionReassignments => (0, 0),
        ApiKey::ListOffsets => (1, 8),
        ApiKey::DeleteRecords => (0, 2),
        ApiKey::Produce => (3, 9),
        ApiKey::Fetch => (4, 12),
        ApiKey::OffsetForLeaderEpoch => (3, 4),
        ApiKey::InitProducerId => (0, 4),
        ApiKey::FindCoordinator => (0, 4),
        ApiKey::ListGroups => (0, 4),
        ApiKey::DescribeGroups => (0, 5),
        ApiKey::OffsetFetch => (1, 7),
        ApiKey::OffsetCommit => (2, 9),
        ApiKey::DeleteGroups => (0, 2),
        ApiKey::OffsetDelete => (0, 0),
        ApiKey::JoinGroup => (0, 9),
        ApiKey::SyncGroup => (0, 5),
        ApiKey::Heartbeat => (0, 4),
        ApiKey::LeaveGroup => (0, 5),
        _ => return None,
    };
    Some(VersionRange { min, max })
}
