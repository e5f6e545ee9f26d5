//! The coordinator's Prometheus metrics: its view of the Raft quorum and of the brokers'
//! leases, read fresh from openraft and the applied image on every scrape.

use prometheus::{Encoder, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use super::Coordinator;

/// Renders the metrics in Prometheus' text format.
pub fn render(coordinator: &Coordinator) -> String {
    let raft = coordinator.raft_metrics();
    let image = coordinator.images().borrow().clone();
    let registry = Registry::new();
    let gauge = |name: &str, help: &str, value: i64| {
        let gauge = IntGauge::new(name, help).expect("valid metric");
        gauge.set(value);
        registry
            .register(Box::new(gauge))
            .expect("metric registered once");
    };
    let leader = raft.current_leader.map_or(-1, |id| id as i64);
    gauge(
        "potok_quorum_current_term",
        "The Raft term this coordinator is in",
        raft.current_term as i64,
    );
    gauge(
        "potok_quorum_leader_id",
        "The coordinator leading the quorum, -1 when none is known",
        leader,
    );
    gauge(
        "potok_quorum_is_leader",
        "1 when this coordinator leads the quorum",
        i64::from(raft.current_leader == Some(raft.id)),
    );
    gauge(
        "potok_quorum_last_log_index",
        "Index of the last entry in this coordinator's log",
        raft.last_log_index.map_or(0, |i| i as i64),
    );
    gauge(
        "potok_quorum_applied_index",
        "Index of the last entry applied to the metadata image",
        image.version as i64,
    );
    gauge(
        "potok_quorum_topics",
        "Topics in the metadata image",
        image.image.topics.len() as i64,
    );
    gauge(
        "potok_quorum_reassigning_partitions",
        "Partitions a reassignment is moving (Kafka's ReassigningPartitions)",
        image
            .image
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .filter(|p| p.is_reassigning())
            .count() as i64,
    );
    let brokers = IntGaugeVec::new(
        Opts::new("potok_quorum_brokers", "Registered brokers, by lease state"),
        &["state"],
    )
    .expect("valid metric");
    let fenced = image.image.fenced_brokers.len() as i64;
    brokers
        .with_label_values(&["live"])
        .set(image.image.brokers.len() as i64 - fenced);
    brokers.with_label_values(&["fenced"]).set(fenced);
    registry
        .register(Box::new(brokers))
        .expect("metric registered once");
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .expect("text encoding cannot fail");
    String::from_utf8(buffer).expect("prometheus text is UTF-8")
}
