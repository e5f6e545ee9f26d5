//! What rolls and drains ask of the brokers: the partitions of every topic, internal ones
//! included, with each topic's effective `min.insync.replicas`; and the reassignments that
//! move replicas off brokers being removed.

use std::collections::BTreeMap;

use potok_client::admin::ConfigResource;
use potok_client::{AdminClient, ClientError, TopicPartition};

use super::PartitionState;

/// Kafka's default, for a topic whose configs could not be read.
const DEFAULT_MIN_INSYNC_REPLICAS: usize = 1;

pub async fn observe_partitions(admin: &AdminClient) -> Result<Vec<PartitionState>, ClientError> {
    let names: Vec<String> = admin
        .list_topics(true)
        .await?
        .into_iter()
        .map(|listing| listing.name)
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let resources: Vec<ConfigResource> = names
        .iter()
        .map(|name| ConfigResource::topic(name))
        .collect();
    let configs = admin.describe_configs(&resources, false).await?;
    let min_insync = |topic: &str| {
        configs
            .iter()
            .find(|(resource, _)| resource.name == topic)
            .and_then(|(_, entries)| entries.as_ref().ok())
            .and_then(|entries| entries.iter().find(|e| e.name == "min.insync.replicas"))
            .and_then(|entry| entry.value.as_deref()?.parse().ok())
            .unwrap_or(DEFAULT_MIN_INSYNC_REPLICAS)
    };
    let described = admin.describe_topics(&names).await?;
    Ok(described
        .into_iter()
        .filter_map(|(name, description)| Some((name, description.ok()?)))
        .flat_map(|(name, description)| {
            let min_insync_replicas = min_insync(&name);
            description
                .partitions
                .into_iter()
                .map(move |p| PartitionState {
                    topic: name.clone(),
                    partition: p.partition,
                    replicas: p.replicas,
                    isr: p.isr,
                    min_insync_replicas,
                })
        })
        .collect())
}

/// What [`move_partitions`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moving {
    /// Reassignments of this many partitions were started.
    Started(usize),
    /// Reassignments already under way (this many partitions): nothing new was started.
    StillMoving(usize),
    /// The brokers refused to move this partition, for this reason.
    Refused(String, String),
}

/// Starts moving each partition to its `targets` replicas, unless reassignments are under
/// way already: a drain asks again once those are done.
pub async fn move_partitions(
    admin: &AdminClient,
    targets: &BTreeMap<(String, i32), Vec<i32>>,
) -> Result<Moving, ClientError> {
    let moving = admin.list_partition_reassignments(None).await?;
    if !moving.is_empty() {
        return Ok(Moving::StillMoving(moving.len()));
    }
    let request: BTreeMap<TopicPartition, Option<Vec<i32>>> = targets
        .iter()
        .map(|((topic, partition), target)| {
            (
                TopicPartition::new(topic.as_str(), *partition),
                Some(target.clone()),
            )
        })
        .collect();
    let results = admin.alter_partition_reassignments(&request).await?;
    if let Some((partition, Err(error))) = results.iter().find(|(_, r)| r.is_err()) {
        return Ok(Moving::Refused(
            format!("{}-{}", partition.topic, partition.partition),
            error.to_string(),
        ));
    }
    Ok(Moving::Started(targets.len()))
}
