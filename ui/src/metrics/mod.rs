//! Figures over time: every cluster's servers' `/metrics` are read at
//! `metrics.scrape.interval.ms` into an hour of [`History`] for the charts and the
//! dashboard; and the console's own `/metrics`, as every Potok server has.

pub mod exposition;
pub mod history;
mod own;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use potok_client::shutdown::Shutdown;

pub use history::History;
pub use own::{record_request, OwnMetrics};

use crate::cluster::{ClusterHandle, Clusters};

/// How long one server's `/metrics` may take to answer before it counts as down.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest `/metrics` page read; a broker with thousands of partitions writes a few MiB.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// The histories of every cluster, by name.
#[derive(Debug, Clone, Default)]
pub struct Histories {
    by_cluster: BTreeMap<String, Arc<Mutex<History>>>,
}

impl Histories {
    /// Starts a scraper per cluster; each ends when the console stops.
    pub fn start(clusters: &Clusters, interval: Duration, stopping: &Shutdown) -> Histories {
        let mut histories = Histories::default();
        for cluster in clusters.all() {
            let history = Arc::new(Mutex::new(History::new(
                interval.as_secs().max(1),
                cluster.settings.metrics_urls.len(),
            )));
            histories
                .by_cluster
                .insert(cluster.name().to_string(), history.clone());
            tokio::spawn(scrape_forever(
                cluster.clone(),
                history,
                interval,
                stopping.clone(),
            ));
        }
        histories
    }

    /// A copy of the cluster's history as it stands.
    pub fn snapshot(&self, cluster: &str) -> Option<History> {
        let history = self.by_cluster.get(cluster)?;
        Some(lock(history).clone())
    }
}

/// A poisoned lock only means a scrape panicked halfway; the history is still readable.
fn lock(history: &Mutex<History>) -> std::sync::MutexGuard<'_, History> {
    history
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn scrape_forever(
    cluster: Arc<ClusterHandle>,
    history: Arc<Mutex<History>>,
    interval: Duration,
    mut stopping: Shutdown,
) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.recv() => return,
        }
        scrape_once(&client, &cluster, &history).await;
    }
}

async fn scrape_once(
    client: &Client<HttpConnector, Empty<Bytes>>,
    cluster: &ClusterHandle,
    history: &Mutex<History>,
) {
    let mut pages = tokio::task::JoinSet::new();
    for url in cluster.settings.metrics_urls.clone() {
        let client = client.clone();
        pages.spawn(async move {
            let page = fetch(&client, &url).await;
            (url, page)
        });
    }
    let mut servers = Vec::new();
    let mut failure = None;
    while let Some(Ok((url, page))) = pages.join_next().await {
        match page {
            Ok(text) => servers.push(exposition::parse(&text)),
            Err(reason) => failure = Some(format!("{url}: {reason}")),
        }
    }
    // A coordinator is a server whose metrics describe the quorum.
    let coordinators_up = servers
        .iter()
        .filter(|samples| samples.iter().any(|s| s.name == "potok_quorum_leader_id"))
        .count();
    let quorum_leader = servers
        .iter()
        .flatten()
        .find(|s| s.name == "potok_quorum_leader_id" && s.value >= 0.0)
        .map(|s| s.value as i64);
    let lag = crate::api::groups::list(cluster)
        .await
        .ok()
        .map(|groups| groups.iter().filter_map(|g| g.lag).sum::<i64>());
    let now = chrono::Utc::now().timestamp_millis();
    let totals = history::Totals::from_samples(now, &servers);
    let mut history = lock(history);
    history.servers_up = servers.len();
    history.quorum_leader = quorum_leader;
    history.coordinators_up = coordinators_up;
    history.last_error = failure;
    if !servers.is_empty() {
        history.record(totals);
    }
    if let Some(lag) = lag {
        history.push("consumer_lag", (now, lag as f64));
    }
}

/// The text of one `/metrics` page, or why it could not be read.
async fn fetch(client: &Client<HttpConnector, Empty<Bytes>>, url: &str) -> Result<String, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let response = tokio::time::timeout(SCRAPE_TIMEOUT, client.get(uri))
        .await
        .map_err(|_| format!("no answer within {} s", SCRAPE_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let body = tokio::time::timeout(
        SCRAPE_TIMEOUT,
        Limited::new(response.into_body(), MAX_PAGE_BYTES).collect(),
    )
    .await
    .map_err(|_| "the page did not arrive in time".to_string())?
    .map_err(|e| e.to_string())?;
    String::from_utf8(body.to_bytes().to_vec()).map_err(|_| "the page is not UTF-8".to_string())
}
