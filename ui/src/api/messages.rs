//! A topic's records: searching them (seek, order, limit, filter), downloading a search as
//! CSV or JSON, following new ones live, and producing one.
//!
//! - `GET  /api/clusters/{cluster}/topics/{topic}/messages` — a search, or with
//!   `format=csv|json` its download;
//! - `GET  /api/clusters/{cluster}/topics/{topic}/messages/live` — Server-Sent Events;
//! - `POST /api/clusters/{cluster}/topics/{topic}/messages` — produce one record.

mod export;
mod live;
mod merge;
pub mod partitions;
mod produce;
pub mod query;
pub mod record;
pub mod search;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::error::{UiError, UiResult};
use crate::server::AppState;
use produce::{ProduceRequest, Produced};
use query::MessagesQuery;

/// The largest request body a produce request may have: room for a record at any
/// sensible `produce.max.bytes` after JSON escaping; the record itself is checked against
/// `produce.max.bytes`.
const PRODUCE_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/clusters/{cluster}/topics/{topic}/messages",
            get(search_handler)
                .post(produce_handler)
                .layer(DefaultBodyLimit::max(PRODUCE_BODY_LIMIT)),
        )
        .route(
            "/clusters/{cluster}/topics/{topic}/messages/live",
            get(live::handler),
        )
}

async fn search_handler(
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> UiResult<Response> {
    caller.read_messages()?;
    let Query(query) = query.map_err(|e| UiError::bad_request(e.body_text()))?;
    let plan = query.plan()?;
    let export = query.export()?;
    let result = search::search(&cluster, &topic, &plan).await?;
    Ok(match export {
        Some(format) => export::download(&topic, format, &result.records),
        None => Json(result).into_response(),
    })
}

async fn produce_handler(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
    body: Result<Json<ProduceRequest>, JsonRejection>,
) -> UiResult<(StatusCode, Json<Produced>)> {
    let Json(request) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => UiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "MESSAGE_TOO_LARGE",
            format!(
                "the request is too large; this console produces records of at most {} bytes (produce.max.bytes)",
                state.config.produce_max_bytes
            ),
        ),
        _ => UiError::bad_request(e.body_text()),
    })?;
    caller.change(&cluster, &format!("produce to {topic}"))?;
    let produced =
        produce::produce(&cluster, &topic, request, state.config.produce_max_bytes).await?;
    Ok((StatusCode::CREATED, Json(produced)))
}
