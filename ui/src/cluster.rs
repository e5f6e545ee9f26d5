//! The clusters the console shows, by name, each with its Kafka admin client made once and
//! shared by every request; and the extractor that finds a request's cluster from the
//! `{cluster}` in its path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequestParts, OriginalUri, RawPathParams};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use potok_client::cluster::ClusterMetadata;
use potok_client::producer::{Producer, ProducerConfig};
use potok_client::{AdminClient, ClusterConfig};

use crate::config::ClusterSettings;
use crate::error::UiError;
use crate::server::AppState;

/// One cluster and the clients that reach it. Clients connect on first use and reconnect
/// by themselves, so a cluster that is down shows as down and comes back when it does.
#[derive(Debug)]
pub struct ClusterHandle {
    pub settings: ClusterSettings,
    pub admin: AdminClient,
    /// The cluster's ksql server, when `kafka.clusters.N.ksqldbServer` names one.
    pub ksql: Option<crate::ksql::KsqlClient>,
    /// The producer of records sent from the console, made on first use.
    producer: Mutex<Option<Arc<Producer>>>,
}

/// How long a record produced from the console may take to be acknowledged.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

impl ClusterHandle {
    pub fn new(settings: ClusterSettings) -> Result<ClusterHandle, UiError> {
        let config = ClusterConfig::new(&settings.bootstrap_servers)
            .map_err(|e| UiError::bad_request(format!("cluster '{}': {e}", settings.name)))?;
        let ksql = settings
            .ksql_url
            .as_deref()
            .map(|url| crate::ksql::KsqlClient::new(&settings.name, url))
            .transpose()?;
        Ok(ClusterHandle {
            admin: AdminClient::new(config),
            ksql,
            settings,
            producer: Mutex::new(None),
        })
    }

    /// The cluster's producer, sharing the admin client's connections; records go out at
    /// once (no linger), as a person sends one at a time.
    pub fn producer(&self) -> Arc<Producer> {
        let mut producer = self
            .producer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        producer
            .get_or_insert_with(|| {
                let config = ProducerConfig {
                    linger: Duration::ZERO,
                    delivery_timeout: DELIVERY_TIMEOUT,
                    ..ProducerConfig::default()
                };
                Arc::new(Producer::with_cluster(self.admin.cluster().clone(), config))
            })
            .clone()
    }

    /// Drops a producer whose task has ended, so the next [`Self::producer`] makes another.
    pub fn forget_producer(&self) {
        *self
            .producer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Every topic and broker as Metadata reports them.
    pub async fn metadata(&self) -> Result<ClusterMetadata, UiError> {
        self.admin
            .cluster()
            .metadata(None, false)
            .await
            .map_err(|e| self.error(e))
    }

    /// Turns a client error into the console's, naming this cluster.
    pub fn error(&self, error: potok_client::ClientError) -> UiError {
        UiError::from_client(self.name(), error)
    }
}

/// Every configured cluster, in the configuration's order.
#[derive(Debug, Clone, Default)]
pub struct Clusters {
    by_name: BTreeMap<String, Arc<ClusterHandle>>,
    order: Vec<String>,
}

impl Clusters {
    pub fn new(settings: &[ClusterSettings]) -> Result<Clusters, UiError> {
        let mut clusters = Clusters::default();
        for one in settings {
            clusters.order.push(one.name.clone());
            clusters
                .by_name
                .insert(one.name.clone(), Arc::new(ClusterHandle::new(one.clone())?));
        }
        Ok(clusters)
    }

    pub fn get(&self, name: &str) -> Result<Arc<ClusterHandle>, UiError> {
        self.by_name.get(name).cloned().ok_or_else(|| {
            UiError::not_found(format!(
                "no cluster named '{name}'; this console knows {}",
                self.order.join(", ")
            ))
        })
    }

    /// The clusters in the configuration's order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ClusterHandle>> {
        self.order.iter().filter_map(|name| self.by_name.get(name))
    }
}

/// The cluster named by the `{cluster}` segment of the request's path.
pub struct CurrentCluster(pub Arc<ClusterHandle>);

/// A page asked of an unknown cluster answers with a page, the API with its JSON error.
impl FromRequestParts<AppState> for CurrentCluster {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Routes nested under /api see their path without it; the original keeps it.
        let api = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0)
            .path()
            .starts_with("/api/");
        let found = async {
            let params = RawPathParams::from_request_parts(parts, state)
                .await
                .map_err(|e| UiError::bad_request(e.to_string()))?;
            let name = params
                .iter()
                .find(|(key, _)| *key == "cluster")
                .map(|(_, value)| value.to_string())
                .ok_or_else(|| UiError::not_found("this path names no cluster"))?;
            state.clusters.get(&name).map(CurrentCluster)
        };
        found.await.map_err(|error| {
            if api {
                error.into_response()
            } else {
                crate::pages::layout::error_page(&error)
            }
        })
    }
}
