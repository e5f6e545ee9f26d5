//! The stylesheet and scripts, embedded in the binary: the console needs no CDN and no
//! files beside it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::server::AppState;

/// Every asset by name, with its content type.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/dashboard.js"),
    ),
    (
        "groups.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/groups.js"),
    ),
    (
        "ksql.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/ksql.js"),
    ),
    (
        "messages.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/messages.js"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("no asset named {name}")).into_response(),
    }
}
