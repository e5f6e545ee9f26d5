//! The dashboard's figures: brokers online, the controller, topics and partitions, and the
//! partitions in trouble (under-replicated, under `min.insync.replicas`, offline); live,
//! with the byte rates and the quorum's leader from the scraped metrics.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use potok_client::admin::ConfigResource;
use serde::Serialize;

use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::UiResult;
use crate::server::AppState;

/// How often the live dashboard is refreshed.
const LIVE_INTERVAL: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/overview", get(handler))
        .route("/clusters/{cluster}/overview/live", get(live))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub cluster_id: Option<String>,
    pub brokers_online: Vec<i32>,
    /// The broker the cluster names as its controller.
    pub controller: Option<i32>,
    pub topics: usize,
    pub partitions: usize,
    pub under_replicated: usize,
    /// Partitions with fewer in-sync replicas than their topic's `min.insync.replicas`.
    pub under_min_isr: usize,
    pub offline: usize,
}

pub async fn overview(cluster: &ClusterHandle) -> UiResult<Overview> {
    let description = cluster
        .admin
        .describe_cluster()
        .await
        .map_err(|e| cluster.error(e))?;
    let metadata = cluster.metadata().await?;
    let partitions = || metadata.topics.values().flat_map(|t| &t.partitions);
    // Only a topic with an under-replicated partition can be under its minimum, so only
    // those topics' configs are read.
    let short_topics: Vec<&str> = metadata
        .topics
        .values()
        .filter(|t| t.partitions.iter().any(|p| p.isr.len() < p.replicas.len()))
        .map(|t| t.name.as_str())
        .collect();
    let mut under_min_isr = 0;
    if !short_topics.is_empty() {
        let resources: Vec<ConfigResource> = short_topics
            .iter()
            .map(|t| ConfigResource::topic(t))
            .collect();
        let described = cluster
            .admin
            .describe_configs(&resources, false)
            .await
            .map_err(|e| cluster.error(e))?;
        for (resource, entries) in described {
            let min_isr = entries
                .ok()
                .and_then(|entries| {
                    entries
                        .into_iter()
                        .find(|e| e.name == "min.insync.replicas")
                        .and_then(|e| e.value?.parse::<usize>().ok())
                })
                .unwrap_or(1);
            if let Some(topic) = metadata.topics.get(&resource.name) {
                under_min_isr += topic
                    .partitions
                    .iter()
                    .filter(|p| p.isr.len() < min_isr)
                    .count();
            }
        }
    }
    Ok(Overview {
        cluster_id: description.cluster_id,
        brokers_online: description.brokers.iter().map(|b| b.id).collect(),
        controller: description.controller_id,
        topics: metadata.topics.len(),
        partitions: partitions().count(),
        under_replicated: partitions()
            .filter(|p| p.isr.len() < p.replicas.len())
            .count(),
        under_min_isr,
        offline: partitions().filter(|p| p.leader.is_none()).count(),
    })
}

async fn handler(CurrentCluster(cluster): CurrentCluster) -> UiResult<Json<Overview>> {
    overview(&cluster).await.map(Json)
}

/// What the live dashboard receives: the overview, or the reason it could not be read
/// (a cluster that is down shows as down, and recovers by itself), with the scraped rates.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveOverview {
    #[serde(flatten)]
    pub overview: Option<Overview>,
    pub error: Option<String>,
    pub bytes_in_per_sec: Option<f64>,
    pub bytes_out_per_sec: Option<f64>,
    pub quorum_leader: Option<i64>,
    /// Coordinators answering their `/metrics`; `None` when no metrics are configured.
    pub coordinators_up: Option<usize>,
}

pub async fn live_overview(state: &AppState, cluster: &ClusterHandle) -> LiveOverview {
    let history = state.histories.snapshot(cluster.name());
    let (overview, error) = match overview(cluster).await {
        Ok(overview) => (Some(overview), None),
        Err(error) => (None, Some(error.message)),
    };
    LiveOverview {
        overview,
        error,
        bytes_in_per_sec: history.as_ref().and_then(|h| h.latest("bytes_in")),
        bytes_out_per_sec: history.as_ref().and_then(|h| h.latest("bytes_out")),
        coordinators_up: history
            .as_ref()
            .filter(|h| h.servers > 0)
            .map(|h| h.coordinators_up),
        quorum_leader: history.and_then(|h| h.quorum_leader),
    }
}

/// Server-Sent Events: an `overview` event at once and every few seconds, until the page
/// closes or the console stops.
async fn live(
    State(state): State<AppState>,
    CurrentCluster(cluster): CurrentCluster,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stopping = state.stopping.clone();
    let stream = futures_util::stream::unfold(
        (state, cluster, stopping, true),
        |(state, cluster, mut stopping, first): (AppState, Arc<ClusterHandle>, _, bool)| async move {
            if !first {
                tokio::select! {
                    _ = tokio::time::sleep(LIVE_INTERVAL) => {}
                    _ = stopping.recv() => return None,
                }
            }
            let live = live_overview(&state, &cluster).await;
            let event = Event::default()
                .event("overview")
                .json_data(&live)
                .unwrap_or_else(|_| Event::default().event("overview").data("{}"));
            Some((Ok(event), (state, cluster, stopping, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
