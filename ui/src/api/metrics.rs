//! The last hour of a cluster's figures, as the charts draw them.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::cluster::CurrentCluster;
use crate::error::{UiError, UiResult};
use crate::metrics::History;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/clusters/{cluster}/metrics", get(handler))
}

/// The cluster's history; empty series until two scrapes have been made.
pub fn history(state: &AppState, cluster: &str) -> UiResult<History> {
    state
        .histories
        .snapshot(cluster)
        .ok_or_else(|| UiError::not_found(format!("no figures are kept for cluster '{cluster}'")))
}

async fn handler(
    State(state): State<AppState>,
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<History>> {
    history(&state, cluster.name()).map(Json)
}
