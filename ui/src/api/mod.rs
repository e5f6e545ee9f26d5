//! The JSON API under `/api`, which the pages' scripts use and scripts of users may use
//! too. Every error is `{"error": CODE, "message": text}` with a fitting status
//! ([`crate::error::UiError`]).

pub mod brokers;
pub mod groups;
pub mod ksql;
pub mod messages;
pub mod metrics;
pub mod overview;
pub mod topics;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::Caller;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(clusters))
        .route("/me", get(me))
        .merge(overview::router())
        .merge(metrics::router())
        .merge(brokers::router())
        .merge(topics::router())
        .merge(messages::router())
        .merge(groups::router())
        .merge(ksql::router())
}

/// A configured cluster as the cluster menu shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterEntry {
    pub name: String,
    pub bootstrap_servers: String,
    pub ksql: bool,
    pub read_only: bool,
}

async fn clusters(State(state): State<AppState>) -> Json<Vec<ClusterEntry>> {
    Json(
        state
            .clusters
            .all()
            .map(|c| ClusterEntry {
                name: c.settings.name.clone(),
                bootstrap_servers: c.settings.bootstrap_servers.clone(),
                ksql: c.settings.ksql_url.is_some(),
                read_only: c.settings.read_only,
            })
            .collect(),
    )
}

/// Who the console takes the caller for, and the token their changes must carry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    username: Option<String>,
    role: crate::config::Role,
    messages: bool,
    csrf_token: String,
}

async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        username: caller.username,
        role: caller.role,
        messages: caller.messages,
        csrf_token: caller.csrf_token,
    })
}
