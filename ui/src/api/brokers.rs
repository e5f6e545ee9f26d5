//! Brokers: each broker's address, rack, leader and replica counts and log size, and its
//! configs, the dynamic ones editable.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use potok_client::admin::ConfigResource;
use serde::Serialize;

use crate::api::topics::{self, ConfigRow};
use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::{UiError, UiResult};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/brokers", get(list_handler))
        .route(
            "/clusters/{cluster}/brokers/{broker}/configs",
            get(configs_handler).patch(alter_configs_handler),
        )
}

/// A broker as the brokers page shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerSummary {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// Partitions this broker leads.
    pub leaders: usize,
    /// Partition replicas this broker holds.
    pub replicas: usize,
    /// Bytes of every replica in its log directories; `None` when it did not answer.
    pub log_size_bytes: Option<i64>,
    /// Free bytes of its log directories' volumes, when it said.
    pub usable_bytes: Option<i64>,
}

/// The cluster's live brokers, by id.
pub async fn list(cluster: &ClusterHandle) -> UiResult<Vec<BrokerSummary>> {
    let metadata = cluster.metadata().await?;
    let mut leaders: BTreeMap<i32, usize> = BTreeMap::new();
    let mut replicas: BTreeMap<i32, usize> = BTreeMap::new();
    for partition in metadata.topics.values().flat_map(|t| &t.partitions) {
        if let Some(leader) = partition.leader {
            *leaders.entry(leader).or_default() += 1;
        }
        for replica in &partition.replicas {
            *replicas.entry(*replica).or_default() += 1;
        }
    }
    let mut brokers = Vec::new();
    for broker in metadata.brokers.into_values() {
        let dirs = cluster.admin.describe_log_dirs(broker.id).await.ok();
        let sum = |field: fn(&potok_client::admin::LogDirDescription) -> Option<i64>| {
            dirs.as_ref()
                .map(|dirs| dirs.iter().filter_map(field).sum::<i64>())
        };
        brokers.push(BrokerSummary {
            leaders: leaders.get(&broker.id).copied().unwrap_or(0),
            replicas: replicas.get(&broker.id).copied().unwrap_or(0),
            log_size_bytes: sum(|d| Some(d.partition_sizes.values().sum())),
            usable_bytes: dirs
                .as_ref()
                .and_then(|dirs| dirs.iter().map(|d| d.usable_bytes).sum::<Option<i64>>()),
            id: broker.id,
            host: broker.host,
            port: broker.port,
            rack: broker.rack,
        });
    }
    Ok(brokers)
}

fn broker_id(text: &str) -> UiResult<String> {
    text.parse::<i32>().map(|id| id.to_string()).map_err(|_| {
        UiError::bad_request(format!(
            "'{text}' is not a broker id; use a number such as 1"
        ))
    })
}

async fn list_handler(
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<Vec<BrokerSummary>>> {
    list(&cluster).await.map(Json)
}

async fn configs_handler(
    CurrentCluster(cluster): CurrentCluster,
    Path((_, broker)): Path<(String, String)>,
) -> UiResult<Json<Vec<ConfigRow>>> {
    let id = broker_id(&broker)?;
    topics::configs(&cluster, ConfigResource::broker(&id))
        .await
        .map(Json)
}

async fn alter_configs_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, broker)): Path<(String, String)>,
    body: Result<Json<BTreeMap<String, Option<String>>>, axum::extract::rejection::JsonRejection>,
) -> UiResult<Json<Vec<ConfigRow>>> {
    let id = broker_id(&broker)?;
    let Json(changes) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    topics::alter_configs(&cluster, &caller, ConfigResource::broker(&id), changes)
        .await
        .map(Json)
}
