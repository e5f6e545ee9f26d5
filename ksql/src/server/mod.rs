//! The ksql server: the engine's state behind a lock, Kafka for topics and queries, the
//! command topic every command is appended to (and replayed from at start), and the REST
//! API in `rest`.
//!
//! - `config`: settings under ksqlDB's names; `config_names`: every one known, to check
//!   `KSQL_*` variables.
//! - `kafka`: topics, producing, consumers.
//! - `running_query`: a persistent query at run time; `processing_log`: skipped records.
//! - `commands`: the command topic.
//! - `statements`: a request's statements run in order, answered as ksqlDB's entities.
//! - `listing`: SHOW and DESCRIBE answers.
//! - `transient`: push and pull queries answering a client; `print`: PRINT of a topic.
//! - `inserts`: rows streamed into a stream by `/inserts-stream`.
//! - `rest`: the HTTP endpoints; `body`: request bodies read within the server's limits;
//!   `metrics`: Prometheus metrics.

mod body;
pub mod commands;
pub mod config;
pub mod config_names;
mod inserts;
pub mod kafka;
mod listing;
pub mod metrics;
mod print;
mod processing_log;
pub mod rest;
mod running_query;
pub mod statements;
pub mod transient;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use potok_client::consumer::SeekTo;
use potok_client::shutdown::{Shutdown, ShutdownTrigger};
use tokio::sync::Mutex;

use crate::engine::{input_sources, Pipeline};
use crate::executor::{Effect, Engine, KsqlError};
use crate::sync::LockExt;

use config::ServerConfig;
use kafka::KafkaIo;
use metrics::ServerMetrics;
use processing_log::ProcessingLog;
use running_query::{QuerySetup, RunningQuery};

/// The server version reported to clients, in ksqlDB's numbering.
pub const SERVER_VERSION: &str = "0.29.0";

/// The whole server's state.
pub struct KsqlServer {
    pub config: ServerConfig,
    pub io: Arc<KafkaIo>,
    pub engine: Mutex<Engine>,
    running: Mutex<BTreeMap<String, RunningQuery>>,
    log: ProcessingLog,
    pub metrics: ServerMetrics,
    pub transient: transient::TransientQueries,
    /// Ends streaming responses (push queries, PRINT, inserts) when the server stops.
    stopping: ShutdownTrigger,
}

/// How the server carries out effects: for a new command, or replaying an old one (whose
/// topics exist and whose records were written already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    New,
    Replay,
}

impl KsqlServer {
    /// Connects to Kafka and rebuilds the state from the command topic.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Arc<KsqlServer>> {
        let io = Arc::new(KafkaIo::new(&config.bootstrap_servers)?);
        io.connect().await?;
        let metrics = ServerMetrics::new();
        let log = ProcessingLog::new(
            io.clone(),
            config.processing_log_topic(),
            metrics.processing_errors.clone(),
        );
        let engine = Engine {
            config: config
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..Engine::default()
        };
        let server = Arc::new(KsqlServer {
            io,
            engine: Mutex::new(engine),
            running: Mutex::new(BTreeMap::new()),
            log,
            metrics,
            transient: transient::TransientQueries::default(),
            stopping: ShutdownTrigger::new().0,
            config,
        });
        server
            .io
            .create_topic(&server.config.processing_log_topic(), 1, None)
            .await
            .map_err(anyhow::Error::msg)?;
        commands::replay(&server).await?;
        Ok(server)
    }

    /// Where a new persistent query starts reading: `auto.offset.reset` from the request,
    /// the server's `ksql.streams.auto.offset.reset`, or latest as in ksqlDB.
    fn offset_reset(&self, overrides: &HashMap<String, String>) -> SeekTo {
        let setting = overrides
            .get("auto.offset.reset")
            .or_else(|| overrides.get("ksql.streams.auto.offset.reset"))
            .or_else(|| self.config.properties.get("ksql.streams.auto.offset.reset"))
            .or_else(|| self.config.properties.get("auto.offset.reset"));
        match setting.map(|s| s.to_ascii_lowercase()) {
            Some(s) if s == "earliest" => SeekTo::Beginning,
            _ => SeekTo::End,
        }
    }

    /// Carries out a command's effects.
    pub async fn apply(
        &self,
        effects: Vec<Effect>,
        engine: &Engine,
        overrides: &HashMap<String, String>,
        mode: Mode,
    ) -> Result<(), KsqlError> {
        for effect in effects {
            match effect {
                Effect::CreateTopic {
                    name,
                    partitions,
                    replicas,
                } => self
                    .io
                    .create_topic(&name, partitions, replicas)
                    .await
                    .map_err(KsqlError::statement)?,
                Effect::DeleteTopic(name) if mode == Mode::New => self
                    .io
                    .delete_topic(&name)
                    .await
                    .map_err(KsqlError::statement)?,
                Effect::Produce {
                    topic,
                    key,
                    value,
                    timestamp,
                } if mode == Mode::New => self
                    .io
                    .produce(&topic, key, value, timestamp)
                    .await
                    .map_err(|e| {
                        KsqlError::statement(format!("Failed to insert values into '{topic}'. {e}"))
                    })?,
                Effect::DeleteTopic(_) | Effect::Produce { .. } => {}
                Effect::StartQuery(id) => self.start_persistent(&id, engine, overrides).await?,
                Effect::StopQuery(id) => {
                    let query = self.running.lock().await.remove(&id);
                    if let Some(query) = query {
                        query.stop().await;
                    }
                }
            }
        }
        Ok(())
    }

    async fn start_persistent(
        &self,
        id: &str,
        engine: &Engine,
        overrides: &HashMap<String, String>,
    ) -> Result<(), KsqlError> {
        let query = engine
            .queries
            .get(id)
            .ok_or_else(|| KsqlError::statement(format!("Unknown queryId: {id}")))?;
        let inputs = input_sources(&query.plan, &engine.catalog);
        let (Some(inputs), Some(sink)) = (inputs, engine.catalog.get(&query.sink)) else {
            return Err(KsqlError::statement(format!(
                "Query {id} reads or writes a source that no longer exists"
            )));
        };
        let pipeline = Pipeline::new(query.plan.clone());
        let store = if query.plan.join.is_some() {
            "Join"
        } else {
            "Aggregate-Aggregate-Materialize"
        };
        let changelog = pipeline
            .is_stateful()
            .then(|| format!("{}-{store}-changelog", self.config.query_group(id)));
        let setup = QuerySetup {
            id: id.to_string(),
            group: self.config.query_group(id),
            changelog,
            inputs,
            sink: sink.clone(),
            offset_reset: self.offset_reset(overrides),
        };
        let running = RunningQuery::start(self.io.clone(), self.log.clone(), pipeline, setup);
        self.running.lock().await.insert(id.to_string(), running);
        self.metrics.persistent_queries.inc();
        Ok(())
    }

    /// The current rows of the table `name`, from the query that materializes it.
    pub async fn materialized(&self, name: &str) -> Option<Vec<crate::engine::OutputRow>> {
        let running = self.running.lock().await;
        let query = running.values().find(|q| q.sink == name)?;
        let pipeline = query.pipeline.lock_or_recover();
        pipeline.materialized()?.ok()
    }

    /// Whether query `id` is running.
    pub async fn is_running(&self, id: &str) -> bool {
        self.running.lock().await.contains_key(id)
    }

    /// A holder of the server's shutdown, for a response that streams until it.
    pub fn shutdown(&self) -> Shutdown {
        self.stopping.subscribe()
    }

    /// Tells every streaming response to end: the first step of a clean shutdown.
    pub fn begin_shutdown(&self) {
        self.stopping.begin();
    }

    /// Stops every query, for a clean shutdown.
    pub async fn stop(&self) {
        let running = std::mem::take(&mut *self.running.lock().await);
        for (_, query) in running {
            query.stop().await;
        }
        if let Err(error) = self.io.flush().await {
            tracing::warn!("flushing at shutdown failed: {error}");
        }
    }
}
