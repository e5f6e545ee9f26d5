//! DescribeLogDirs: how many bytes each partition's log holds on each broker, for the
//! sizes a console shows per broker and per topic.

use std::collections::BTreeMap;

use kafka_protocol::messages::DescribeLogDirsRequest;

use super::AdminClient;
use crate::cluster::TopicPartition;
use crate::error::{check, ClientError};

/// One log directory of a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    pub path: String,
    /// Kafka's error name when the directory is offline (`KAFKA_STORAGE_ERROR`).
    pub error: Option<String>,
    /// Bytes of each partition replica in the directory.
    pub partition_sizes: BTreeMap<TopicPartition, i64>,
    /// The volume's size and free bytes; `None` when the broker did not say.
    pub total_bytes: Option<i64>,
    pub usable_bytes: Option<i64>,
}

impl AdminClient {
    /// The log directories of broker `broker_id`, with every partition they hold.
    pub async fn describe_log_dirs(
        &self,
        broker_id: i32,
    ) -> Result<Vec<LogDirDescription>, ClientError> {
        let connection = self.cluster.connection(broker_id).await?;
        let response = connection
            .send(DescribeLogDirsRequest::default().with_topics(None))
            .await?;
        check(response.error_code, None)?;
        let known = |bytes: i64| (bytes >= 0).then_some(bytes);
        Ok(response
            .results
            .into_iter()
            .map(|dir| LogDirDescription {
                path: dir.log_dir.to_string(),
                error: check(dir.error_code, None).err().map(|e| e.name),
                partition_sizes: dir
                    .topics
                    .iter()
                    .flat_map(|topic| {
                        topic.partitions.iter().map(|p| {
                            (
                                TopicPartition::new(topic.name.to_string(), p.partition_index),
                                p.partition_size,
                            )
                        })
                    })
                    .collect(),
                total_bytes: known(dir.total_bytes),
                usable_bytes: known(dir.usable_bytes),
            })
            .collect())
    }
}
