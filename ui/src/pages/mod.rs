//! The HTML pages, rendered on the server from the same functions the JSON API answers
//! with. A page whose data cannot be read still renders, with the cluster's error in place
//! of its content.

pub mod brokers;
pub mod dashboard;
pub mod groups;
pub mod ksql;
pub mod layout;
pub mod login;
pub mod messages;
pub mod metrics;
pub mod topics;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(login::router())
        .merge(dashboard::router())
        .merge(metrics::router())
        .merge(brokers::router())
        .merge(topics::router())
        .merge(messages::router())
        .merge(groups::router())
        .merge(ksql::router())
}

/// The first configured cluster's dashboard.
async fn home(State(state): State<AppState>) -> Response {
    match state.clusters.all().next() {
        Some(cluster) => Redirect::to(&format!("/clusters/{}", cluster.name())).into_response(),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            "no cluster is configured",
        )
            .into_response(),
    }
}
