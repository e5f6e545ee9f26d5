//! The console's own `/metrics`: requests by method and status class, and their duration,
//! as every Potok server exposes its own.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::server::AppState;

#[derive(Debug, Clone)]
pub struct OwnMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl OwnMetrics {
    pub fn new() -> OwnMetrics {
        let requests = IntCounterVec::new(
            Opts::new(
                "potok_ui_requests_total",
                "Requests answered, by method and status class",
            ),
            &["method", "status"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "potok_ui_request_duration_seconds",
                "Time to answer a request (to the first byte of a stream), by method",
            ),
            &["method"],
        )
        .expect("valid metric");
        let registry = Registry::new();
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        OwnMetrics {
            registry,
            requests,
            duration,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Response {
        let mut text = Vec::new();
        match TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            Ok(()) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
            Err(error) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            )
                .into_response(),
        }
    }
}

impl Default for OwnMetrics {
    fn default() -> Self {
        OwnMetrics::new()
    }
}

/// Counts and times every request.
pub async fn record_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    state
        .own_metrics
        .requests
        .with_label_values(&[method.as_str(), status.as_str()])
        .inc();
    state
        .own_metrics
        .duration
        .with_label_values(&[method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
