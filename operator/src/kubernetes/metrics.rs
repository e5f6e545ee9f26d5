//! The operator's Prometheus metrics and its HTTP endpoints: `/metrics`, `/healthz` (the
//! process serves) and `/readyz` (it has reached the API server and, when elected, runs
//! its controllers or waits as a standby).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use kube::runtime::controller::Action;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use super::Error;

pub struct Metrics {
    registry: Registry,
    reconciles: IntCounterVec,
    failures: IntCounterVec,
    duration: HistogramVec,
    /// 1 while this replica holds the lease (or runs without election).
    pub leader: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let reconciles = IntCounterVec::new(
            Opts::new("potok_operator_reconciles_total", "Reconciles run, by kind"),
            &["kind"],
        )
        .expect("valid metric");
        let failures = IntCounterVec::new(
            Opts::new(
                "potok_operator_reconcile_failures_total",
                "Reconciles that failed and will be retried, by kind and reason",
            ),
            &["kind", "reason"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "potok_operator_reconcile_duration_seconds",
                "How long reconciles take, by kind",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["kind"],
        )
        .expect("valid metric");
        let leader = IntGauge::new(
            "potok_operator_leader",
            "Whether this replica leads and reconciles (1) or stands by (0)",
        )
        .expect("valid metric");
        for collector in [
            Box::new(reconciles.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(duration.clone()),
            Box::new(leader.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Metrics {
            registry,
            reconciles,
            failures,
            duration,
            leader,
        }
    }

    /// Counts one reconcile of `kind` that took `elapsed` and ended as `outcome`.
    pub fn observe(&self, kind: &str, elapsed: Duration, outcome: &Result<Action, Error>) {
        self.reconciles.with_label_values(&[kind]).inc();
        self.duration
            .with_label_values(&[kind])
            .observe(elapsed.as_secs_f64());
        if let Err(error) = outcome {
            self.failures
                .with_label_values(&[kind, error.reason()])
                .inc();
        }
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("metrics encode");
        String::from_utf8(buffer).expect("metrics are text")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves the endpoints on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || async move {
                if ready.load(Ordering::Relaxed) {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "starting")
                }
            }),
        );
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_kind_and_reason() {
        let metrics = Metrics::new();
        metrics.observe(
            "topic",
            Duration::from_millis(20),
            &Ok(Action::await_change()),
        );
        metrics.observe(
            "topic",
            Duration::from_millis(30),
            &Err(Error::ClusterNotReady("starting".into())),
        );
        let text = metrics.render();
        assert!(
            text.contains("potok_operator_reconciles_total{kind=\"topic\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("potok_operator_reconcile_failures_total{kind=\"topic\",reason=\"ClusterNotReady\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("potok_operator_reconcile_duration_seconds_count{kind=\"topic\"} 2"),
            "{text}"
        );
    }
}
