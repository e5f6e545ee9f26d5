//! The console's HTTP server: the shared state, the routes of the pages, the JSON API, the
//! embedded assets and the console's own `/metrics`, and a clean stop on SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use potok_client::shutdown;

use crate::auth::Access;
use crate::cluster::Clusters;
use crate::config::UiConfig;
use crate::metrics::{Histories, OwnMetrics};
use crate::{api, assets, pages};

/// How long a stopping console lets requests being answered finish; live streams end at
/// once, as each holds a [`shutdown::Shutdown`].
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<UiConfig>,
    pub clusters: Clusters,
    pub access: Arc<Access>,
    /// The last hour of each cluster's scraped figures.
    pub histories: Histories,
    pub own_metrics: OwnMetrics,
    /// Ends live streams when the console stops.
    pub stopping: shutdown::Shutdown,
}

/// Every route of the console.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::router())
        .nest("/api", api::router())
        .merge(assets::router())
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware,
        ))
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { state.own_metrics.render() }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record_request,
        ))
        .with_state(state)
}

/// Serves the console until SIGTERM or Ctrl-C.
pub async fn run(config: UiConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listener)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listener))?;
    let (trigger, stopping) = shutdown::ShutdownTrigger::new();
    let clusters = Clusters::new(&config.clusters)?;
    let histories = Histories::start(&clusters, config.scrape_interval, &stopping);
    let state = AppState {
        access: Arc::new(Access::new(&config.access)),
        histories,
        own_metrics: OwnMetrics::new(),
        config: Arc::new(config),
        clusters,
        stopping,
    };
    tracing::info!(listener = %state.config.listener, "potok-ui listening");
    let mut deadline = state.stopping.clone();
    let app = router(state);
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown::signal().await;
        tracing::info!("stopping: ending live streams");
        trigger.begin();
    });
    tokio::select! {
        served = serve => served?,
        _ = async {
            deadline.recv().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!("requests still open at the end of the grace period; stopping anyway"),
    }
    Ok(())
}
