//! The partitions of every topic, internal ones included, with each topic's effective
//! `min.insync.replicas`, as a roll needs them.

use potok_client::admin::ConfigResource;
use potok_client::{AdminClient, ClientError};

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
