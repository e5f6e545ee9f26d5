//! Prometheus metrics, served as text at `/metrics` on `potok.metrics.listener`.

use std::net::SocketAddr;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::replica::ReplicaManager;

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_errors: IntCounterVec,
    pub request_duration: HistogramVec,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    /// Client connections open now.
    pub connections_open: IntGauge,
    /// Connections refused at accept or closed by the broker to bound its resources, by
    /// `connection::CloseReason` label.
    pub connections_refused: IntCounterVec,
    /// Bytes of `queued.max.request.bytes` reserved by requests being read or handled.
    pub request_memory_reserved: IntGauge,
    /// Requests that waited for `queued.max.request.bytes` to have room.
    pub request_memory_waits: IntCounter,
    log_size: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("potok_requests_total", "Requests received, by API"),
            &["api"],
        )
        .expect("valid metric");
        let request_errors = IntCounterVec::new(
            Opts::new(
                "potok_request_errors_total",
                "Responses carrying an error code, by API and error",
            ),
            &["api", "error"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "potok_request_duration_seconds",
                "Time from a request's arrival to its response being written, by API",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0,
            ]),
            &["api"],
        )
        .expect("valid metric");
        let bytes_in = IntCounter::new(
            "potok_bytes_in_total",
            "Request bytes received, frames included",
        )
        .expect("valid metric");
        let bytes_out = IntCounter::new(
            "potok_bytes_out_total",
            "Response bytes sent, frames included",
        )
        .expect("valid metric");
        let connections_open = IntGauge::new("potok_connections", "Client connections open now")
            .expect("valid metric");
        let connections_refused = IntCounterVec::new(
            Opts::new(
                "potok_connections_refused_total",
                "Connections refused or closed by the broker to bound its resources, by reason: \
                 max_connections, max_connections_per_ip, idle (connections.max.idle.ms), \
                 frame_too_large, stalled_request",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for reason in crate::connection::CloseReason::ALL {
            connections_refused.with_label_values(&[reason.label()]);
        }
        let request_memory_reserved = IntGauge::new(
            "potok_request_memory_reserved_bytes",
            "Bytes of queued.max.request.bytes held by requests being read or handled",
        )
        .expect("valid metric");
        let request_memory_waits = IntCounter::new(
            "potok_request_memory_waits_total",
            "Requests that waited for room in queued.max.request.bytes before being read",
        )
        .expect("valid metric");
        let log_size = IntGaugeVec::new(
            Opts::new("potok_log_size_bytes", "Size of a partition's log on disk"),
            &["topic", "partition"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_errors.clone()),
            Box::new(request_duration.clone()),
            Box::new(bytes_in.clone()),
            Box::new(bytes_out.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_refused.clone()),
            Box::new(request_memory_reserved.clone()),
            Box::new(request_memory_waits.clone()),
            Box::new(log_size.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            request_errors,
            request_duration,
            bytes_in,
            bytes_out,
            connections_open,
            connections_refused,
            request_memory_reserved,
            request_memory_waits,
            log_size,
        }
    }

    /// Counts a response that carries an error code.
    pub fn count_error(&self, api: &str, error: &crate::error::ApiError) {
        self.request_errors
            .with_label_values(&[api, &format!("{:?}", error.error)])
            .inc();
    }

    /// Renders every metric, refreshing the per-partition log sizes first.
    pub fn render(&self, replicas: &ReplicaManager) -> String {
        self.log_size.reset();
        for partition in replicas.all() {
            self.log_size
                .with_label_values(&[partition.topic.as_str(), &partition.index.to_string()])
                .set(partition.size_bytes() as i64);
        }
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `/metrics` until the process ends; `render` produces the text of each scrape.
pub async fn serve(
    address: SocketAddr,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move { render() }
        }),
    );
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(%address, "serving metrics");
    axum::serve(listener, app).await
}
