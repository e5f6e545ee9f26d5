//! DescribeCluster: cluster id, controller and live brokers.

use kafka_protocol::messages::{ApiKey, DescribeClusterRequest};

use super::AdminClient;
use crate::cluster::BrokerInfo;
use crate::error::{check, ClientError};

/// What DescribeCluster (or, on older brokers, Metadata) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    /// Live brokers, sorted by id.
    pub brokers: Vec<BrokerInfo>,
}

impl AdminClient {
    /// Describes the cluster, with DescribeCluster when the broker has it.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, ClientError> {
        let connection = self.cluster.any_connection().await?;
        if !connection.supports(ApiKey::DescribeCluster) {
            let metadata = self.cluster.metadata(Some(&[]), false).await?;
            return Ok(ClusterDescription {
                cluster_id: metadata.cluster_id,
                controller_id: metadata.controller_id,
                brokers: metadata.brokers.into_values().collect(),
            });
        }
        let response = connection.send(DescribeClusterRequest::default()).await?;
        check(response.error_code, response.error_message.as_deref())?;
        let mut brokers: Vec<BrokerInfo> = response
            .brokers
            .into_iter()
            .map(|b| BrokerInfo {
                id: b.broker_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.map(|r| r.to_string()),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(ClusterDescription {
            cluster_id: Some(response.cluster_id.to_string()),
            controller_id: (response.controller_id.0 >= 0).then_some(response.controller_id.0),
            brokers,
        })
    }
}
