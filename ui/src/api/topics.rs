//! Topics: the list with sizes and counts, one topic's partitions and offsets, creating,
//! deleting, adding partitions, and configs with their source and default.
//!
//! The `list`, `describe` and `configs` functions are what both the JSON API and the pages
//! show.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use potok_client::admin::{
    AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType, NewPartitions, NewTopic,
    OffsetSpec,
};
use potok_client::TopicPartition;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::{UiError, UiResult};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/clusters/{cluster}/topics",
            get(list_handler).post(create_handler),
        )
        .route(
            "/clusters/{cluster}/topics/{topic}",
            get(describe_handler).delete(delete_handler),
        )
        .route(
            "/clusters/{cluster}/topics/{topic}/partitions",
            post(add_partitions_handler),
        )
        .route(
            "/clusters/{cluster}/topics/{topic}/configs",
            get(configs_handler).patch(alter_configs_handler),
        )
}

/// A topic as the list shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSummary {
    pub name: String,
    pub internal: bool,
    pub partitions: usize,
    pub replication_factor: usize,
    /// Partitions whose in-sync replicas are fewer than their replicas.
    pub under_replicated: usize,
    /// Partitions with no leader.
    pub offline: usize,
    /// Bytes of the leaders' logs; `None` when no broker answered DescribeLogDirs.
    pub size_bytes: Option<i64>,
    /// Records between each partition's start and end offsets.
    pub messages: Option<i64>,
}

/// One partition of a topic, with its offsets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionDetail {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub earliest_offset: Option<i64>,
    pub latest_offset: Option<i64>,
    pub size_bytes: Option<i64>,
}

/// One topic with its partitions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicDetail {
    pub name: String,
    pub id: String,
    pub internal: bool,
    pub replication_factor: usize,
    pub partitions: Vec<PartitionDetail>,
    pub messages: Option<i64>,
    pub size_bytes: Option<i64>,
}

/// One config of a topic or broker, as the configs table shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigRow {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's source name: `DYNAMIC_TOPIC_CONFIG`, `DEFAULT_CONFIG`, ...
    pub source: String,
    /// The value the config would have without this resource's own setting.
    pub default: Option<String>,
    pub read_only: bool,
    pub sensitive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only topics whose name contains this, case-insensitively.
    #[serde(default)]
    pub search: Option<String>,
    /// Whether internal topics (`__consumer_offsets`, ...) are listed.
    #[serde(default)]
    pub internal: Option<bool>,
}

/// The cluster's topics, sorted by name, with sizes and message counts.
pub async fn list(cluster: &ClusterHandle, query: &ListQuery) -> UiResult<Vec<TopicSummary>> {
    let metadata = cluster.metadata().await?;
    let search = query.search.as_deref().map(str::to_lowercase);
    let topics: Vec<_> = metadata
        .topics
        .into_values()
        .filter(|t| query.internal.unwrap_or(true) || !t.is_internal)
        .filter(|t| {
            search
                .as_deref()
                .is_none_or(|s| t.name.to_lowercase().contains(s))
        })
        .collect();
    let partitions: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| TopicPartition::new(t.name.clone(), p.partition))
        })
        .collect();
    let leaders: BTreeMap<TopicPartition, i32> = topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().filter_map(|p| {
                p.leader
                    .map(|l| (TopicPartition::new(t.name.clone(), p.partition), l))
            })
        })
        .collect();
    let sizes = leader_sizes(cluster, &leaders).await;
    let counts = message_counts(cluster, &partitions).await;
    Ok(topics
        .into_iter()
        .map(|t| {
            let sum = |values: &BTreeMap<TopicPartition, i64>| -> Option<i64> {
                let mut total = None;
                for p in &t.partitions {
                    if let Some(v) = values.get(&TopicPartition::new(t.name.clone(), p.partition)) {
                        total = Some(total.unwrap_or(0) + v);
                    }
                }
                total
            };
            TopicSummary {
                internal: t.is_internal,
                partitions: t.partitions.len(),
                replication_factor: t.partitions.first().map_or(0, |p| p.replicas.len()),
                under_replicated: t
                    .partitions
                    .iter()
                    .filter(|p| p.isr.len() < p.replicas.len())
                    .count(),
                offline: t.partitions.iter().filter(|p| p.leader.is_none()).count(),
                size_bytes: sum(&sizes),
                messages: sum(&counts),
                name: t.name,
            }
        })
        .collect())
}

/// The size of each partition's log on its leader, from DescribeLogDirs of every broker
/// that leads one; partitions of a broker that does not answer are left out.
pub async fn leader_sizes(
    cluster: &ClusterHandle,
    leaders: &BTreeMap<TopicPartition, i32>,
) -> BTreeMap<TopicPartition, i64> {
    let brokers: std::collections::BTreeSet<i32> = leaders.values().copied().collect();
    let mut sizes = BTreeMap::new();
    for broker in brokers {
        let Ok(dirs) = cluster.admin.describe_log_dirs(broker).await else {
            continue;
        };
        for dir in dirs {
            for (tp, size) in dir.partition_sizes {
                if leaders.get(&tp) == Some(&broker) {
                    sizes.insert(tp, size);
                }
            }
        }
    }
    sizes
}

/// The earliest and latest offset of each partition; partitions that fail are left out.
pub async fn offsets(
    cluster: &ClusterHandle,
    partitions: &[TopicPartition],
) -> BTreeMap<TopicPartition, (i64, i64)> {
    let lookup = |spec: OffsetSpec| {
        let specs: Vec<_> = partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        async move { cluster.admin.list_offsets(&specs).await.unwrap_or_default() }
    };
    let (earliest, latest) = tokio::join!(lookup(OffsetSpec::Earliest), lookup(OffsetSpec::Latest));
    earliest
        .into_iter()
        .filter_map(|(tp, start)| {
            let start = start.ok()?.offset;
            let end = latest.get(&tp)?.as_ref().ok()?.offset;
            Some((tp, (start, end)))
        })
        .collect()
}

async fn message_counts(
    cluster: &ClusterHandle,
    partitions: &[TopicPartition],
) -> BTreeMap<TopicPartition, i64> {
    offsets(cluster, partitions)
        .await
        .into_iter()
        .map(|(tp, (start, end))| (tp, (end - start).max(0)))
        .collect()
}

/// One topic's partitions with their offsets and sizes.
pub async fn describe(cluster: &ClusterHandle, topic: &str) -> UiResult<TopicDetail> {
    let described = cluster
        .admin
        .describe_topics(&[topic.to_string()])
        .await
        .map_err(|e| cluster.error(e))?;
    let description = match described.into_values().next() {
        Some(Ok(description)) => description,
        Some(Err(error)) => return Err(topic_error(cluster, topic, error)),
        None => return Err(unknown_topic(topic)),
    };
    let partitions: Vec<TopicPartition> = description
        .partitions
        .iter()
        .map(|p| TopicPartition::new(topic, p.partition))
        .collect();
    let leaders: BTreeMap<TopicPartition, i32> = description
        .partitions
        .iter()
        .filter_map(|p| {
            p.leader
                .map(|l| (TopicPartition::new(topic, p.partition), l))
        })
        .collect();
    let (offsets, sizes) = tokio::join!(
        offsets(cluster, &partitions),
        leader_sizes(cluster, &leaders)
    );
    let partitions: Vec<PartitionDetail> = description
        .partitions
        .iter()
        .map(|p| {
            let tp = TopicPartition::new(topic, p.partition);
            PartitionDetail {
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                offline_replicas: p.offline_replicas.clone(),
                earliest_offset: offsets.get(&tp).map(|o| o.0),
                latest_offset: offsets.get(&tp).map(|o| o.1),
                size_bytes: sizes.get(&tp).copied(),
            }
        })
        .collect();
    let total = |field: fn(&PartitionDetail) -> Option<i64>| {
        partitions
            .iter()
            .map(field)
            .try_fold(0i64, |sum, v| v.map(|v| sum + v))
    };
    Ok(TopicDetail {
        messages: total(|p| Some((p.latest_offset? - p.earliest_offset?).max(0))),
        size_bytes: total(|p| p.size_bytes),
        name: description.name,
        id: description.id.to_string(),
        internal: description.is_internal,
        replication_factor: description
            .partitions
            .first()
            .map_or(0, |p| p.replicas.len()),
        partitions,
    })
}

/// A broker's error about `topic`; an unknown topic is said with its name, where Kafka's
/// own message ("This server does not host this topic-partition") names none.
fn topic_error(cluster: &ClusterHandle, topic: &str, error: potok_client::KafkaError) -> UiError {
    if error.name == "UNKNOWN_TOPIC_OR_PARTITION" || error.name == "UNKNOWN_TOPIC_ID" {
        unknown_topic(topic)
    } else {
        cluster.error(error.into())
    }
}

fn unknown_topic(topic: &str) -> UiError {
    UiError::new(
        StatusCode::NOT_FOUND,
        "UNKNOWN_TOPIC_OR_PARTITION",
        format!("topic '{topic}' does not exist"),
    )
}

/// The configs of `resource`, each with its source and the value it falls back to.
pub async fn configs(
    cluster: &ClusterHandle,
    resource: ConfigResource,
) -> UiResult<Vec<ConfigRow>> {
    let described = cluster
        .admin
        .describe_configs(&[resource], true)
        .await
        .map_err(|e| cluster.error(e))?;
    let entries = match described.into_iter().next() {
        Some((_, Ok(entries))) => entries,
        Some((_, Err(error))) => return Err(cluster.error(error.into())),
        None => Vec::new(),
    };
    let mut rows: Vec<ConfigRow> = entries.into_iter().map(config_row).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// The default is the value of the first synonym from another source than the entry's
/// own: what the config becomes once this resource's setting is removed.
fn config_row(entry: ConfigEntry) -> ConfigRow {
    let default = entry
        .synonyms
        .iter()
        .find(|s| s.source != entry.source)
        .and_then(|s| s.value.clone())
        .or_else(|| entry.is_default().then(|| entry.value.clone()).flatten());
    ConfigRow {
        source: entry.source.to_string(),
        name: entry.name,
        value: entry.value,
        default,
        read_only: entry.read_only,
        sensitive: entry.sensitive,
    }
}

/// A topic to create.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTopic {
    pub name: String,
    /// The broker's `num.partitions` when left out.
    #[serde(default)]
    pub partitions: Option<i32>,
    /// The broker's `default.replication.factor` when left out.
    #[serde(default)]
    pub replication_factor: Option<i16>,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

async fn list_handler(
    CurrentCluster(cluster): CurrentCluster,
    Query(query): Query<ListQuery>,
) -> UiResult<Json<Vec<TopicSummary>>> {
    list(&cluster, &query).await.map(Json)
}

async fn describe_handler(
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
) -> UiResult<Json<TopicDetail>> {
    describe(&cluster, &topic).await.map(Json)
}

async fn create_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    body: Result<Json<CreateTopic>, axum::extract::rejection::JsonRejection>,
) -> UiResult<(StatusCode, Json<TopicDetail>)> {
    let Json(request) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    caller.change(&cluster, &format!("create topic {}", request.name))?;
    if request.name.trim().is_empty() {
        return Err(UiError::bad_request("a topic needs a name"));
    }
    let new = NewTopic {
        name: request.name.clone(),
        partitions: request.partitions,
        replication_factor: request.replication_factor,
        configs: request.configs.into_iter().collect(),
        ..NewTopic::default()
    };
    let results = cluster
        .admin
        .create_topics(&[new], false)
        .await
        .map_err(|e| cluster.error(e))?;
    if let Some(Err(error)) = results.into_values().next() {
        return Err(cluster.error(error.into()));
    }
    let detail = describe_when_known(&cluster, &request.name).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// Describes a topic just created, waiting briefly for the metadata to reach the broker
/// that answers and for each partition's leader to answer for its offsets.
async fn describe_when_known(cluster: &ClusterHandle, topic: &str) -> UiResult<TopicDetail> {
    let mut attempts = 0;
    loop {
        let described = describe(cluster, topic).await;
        let ready = match &described {
            Ok(detail) => detail.partitions.iter().all(|p| p.latest_offset.is_some()),
            Err(error) => error.status != StatusCode::NOT_FOUND,
        };
        if ready || attempts == 20 {
            return described;
        }
        attempts += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn delete_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, topic)): Path<(String, String)>,
) -> UiResult<StatusCode> {
    caller.change(&cluster, &format!("delete topic {topic}"))?;
    let results = cluster
        .admin
        .delete_topics(std::slice::from_ref(&topic))
        .await
        .map_err(|e| cluster.error(e))?;
    match results.into_values().next() {
        Some(Err(error)) => Err(topic_error(&cluster, &topic, error)),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPartitions {
    /// The total number of partitions after the increase.
    count: i32,
}

async fn add_partitions_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, topic)): Path<(String, String)>,
    body: Result<Json<AddPartitions>, axum::extract::rejection::JsonRejection>,
) -> UiResult<Json<TopicDetail>> {
    let Json(request) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    caller.change(
        &cluster,
        &format!("increase partitions of {topic} to {}", request.count),
    )?;
    let results = cluster
        .admin
        .create_partitions(
            &[NewPartitions {
                topic: topic.clone(),
                total_count: request.count,
                assignments: None,
            }],
            false,
        )
        .await
        .map_err(|e| cluster.error(e))?;
    if let Some(Err(error)) = results.into_values().next() {
        return Err(topic_error(&cluster, &topic, error));
    }
    describe(&cluster, &topic).await.map(Json)
}

async fn configs_handler(
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
) -> UiResult<Json<Vec<ConfigRow>>> {
    configs(&cluster, ConfigResource::topic(&topic))
        .await
        .map(Json)
}

/// Sets each config given a value and removes each given `null` (back to its default).
pub async fn alter_configs(
    cluster: &ClusterHandle,
    caller: &Caller,
    resource: ConfigResource,
    changes: BTreeMap<String, Option<String>>,
) -> UiResult<Vec<ConfigRow>> {
    if changes.is_empty() {
        return Err(UiError::bad_request(
            "no config to change; send {\"name\": \"value\"} to set, {\"name\": null} to reset",
        ));
    }
    let described: Vec<String> = changes
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("(default)")))
        .collect();
    caller.change(
        cluster,
        &format!(
            "alter configs of {} {}: {}",
            kind_name(&resource),
            resource.name,
            described.join(", ")
        ),
    )?;
    let ops: Vec<AlterConfigOp> = changes
        .into_iter()
        .map(|(name, value)| match value {
            Some(value) => AlterConfigOp::Set(name, value),
            None => AlterConfigOp::Delete(name),
        })
        .collect();
    let results = cluster
        .admin
        .incremental_alter_configs(&[(resource.clone(), ops)], false)
        .await
        .map_err(|e| cluster.error(e))?;
    if let Some((_, Err(error))) = results.into_iter().next() {
        return Err(cluster.error(error.into()));
    }
    configs(cluster, resource).await
}

fn kind_name(resource: &ConfigResource) -> &'static str {
    match resource.kind {
        ConfigResourceType::Topic => "topic",
        ConfigResourceType::Broker => "broker",
        ConfigResourceType::BrokerLogger => "broker logger",
    }
}

async fn alter_configs_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, topic)): Path<(String, String)>,
    body: Result<Json<BTreeMap<String, Option<String>>>, axum::extract::rejection::JsonRejection>,
) -> UiResult<Json<Vec<ConfigRow>>> {
    let Json(changes) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    alter_configs(&cluster, &caller, ConfigResource::topic(&topic), changes)
        .await
        .map(Json)
}
