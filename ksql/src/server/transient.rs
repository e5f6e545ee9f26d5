//! Queries answering a client. A push query (EMIT CHANGES) is a pipeline over a consumer of
//! every partition of its source, from the latest offset unless `auto.offset.reset` is
//! `earliest`, streaming rows until its LIMIT, the client leaving, or `/close-query`. A
//! pull query reads a table's materialized rows (or scans a stream) once and ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use potok_client::consumer::{ConsumerConfig, SeekTo};
use potok_client::TopicPartition;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, watch};

use crate::catalog::Source;

use crate::engine::{current_rows, input_sources, Pipeline, Side, SourceRecord};
use crate::executor::KsqlError;
use crate::parser::ast::{Query, SourceKind, Statement};
use crate::parser::{parse, split_statements};
use crate::plan::{check_pull, plan_query, QueryPlan, Target};
use crate::sync::LockExt;
use crate::types::SqlType;
use crate::value::Value;

use super::kafka::decode_consumed;
use super::statements::{StatementFailure, BAD_STATEMENT};
use super::KsqlServer;

/// Each record with the inputs that read its topic (two, when both sides of a join read
/// the same topic).
pub fn routed<'a>(
    records: &'a [potok_client::consumer::ConsumerRecord],
    inputs: &'a [(Side, Source)],
) -> Vec<(&'a potok_client::consumer::ConsumerRecord, Side, &'a Source)> {
    let mut routed = Vec::with_capacity(records.len());
    for record in records {
        for (side, source) in inputs {
            if source.topic == record.topic {
                routed.push((record, *side, source));
            }
        }
    }
    routed
}

/// Rows a query sends, or the error that ended it.
pub type RowResult = Result<QueryRow, String>;

/// One row of a query's answer; a tombstone is a table's deleted row (key, NULL values).
#[derive(Debug, Clone)]
pub struct QueryRow {
    pub values: Vec<Value>,
    pub tombstone: bool,
}

/// A query being answered.
pub struct QueryStream {
    pub id: String,
    pub columns: Vec<(String, SqlType)>,
    pub rows: mpsc::Receiver<RowResult>,
    /// Whether the stream ends because its LIMIT was reached (ksqlDB says so at the end).
    pub limited: Arc<std::sync::atomic::AtomicBool>,
    /// A pull query over a stream, which ksqlDB ends with "Query Completed".
    pub scans_stream: bool,
}

/// Running push queries by id, to close them on request.
#[derive(Default)]
pub struct TransientQueries {
    stops: Mutex<HashMap<String, watch::Sender<bool>>>,
}

impl TransientQueries {
    /// Ends a push query; false when none has that id.
    pub fn close(&self, id: &str) -> bool {
        let stop = self.stops.lock_or_recover().remove(id);
        stop.is_some_and(|stop| stop.send(true).is_ok())
    }

    fn register(&self, id: &str) -> watch::Receiver<bool> {
        let (stop, stopped) = watch::channel(false);
        self.stops.lock_or_recover().insert(id.to_string(), stop);
        stopped
    }

    fn forget(&self, id: &str) {
        self.stops.lock_or_recover().remove(id);
    }
}

/// A value as ksqlDB's REST API writes it in rows.
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Integer(i) => json!(i),
        Value::Bigint(i) => json!(i),
        Value::Double(d) => json!(d),
        Value::Decimal(d) => d
            .to_string()
            .parse::<serde_json::Number>()
            .map(Json::Number)
            .unwrap_or_else(|_| json!(d.to_f64())),
        Value::String(s) => json!(s),
        Value::Bytes(_) | Value::Timestamp(_) | Value::Date(_) | Value::Time(_) => {
            json!(crate::expr::text::value_to_string(value))
        }
        Value::Array(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = crate::expr::text::value_to_string(k).unwrap_or_default();
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        Value::Struct(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}

/// The query's columns: names and types.
fn columns_of(plan: &QueryPlan) -> Vec<(String, SqlType)> {
    plan.output
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.expr.sql_type.clone().unwrap_or(SqlType::String),
            )
        })
        .collect()
}

pub(super) fn failure(text: &str, error: impl ToString) -> StatementFailure {
    StatementFailure {
        code: BAD_STATEMENT,
        message: error.to_string(),
        statement_text: text.to_string(),
        entities: Vec::new(),
    }
}

impl KsqlServer {
    /// Starts answering the one SELECT in `sql`.
    pub async fn start_query(
        self: &Arc<Self>,
        sql: &str,
        properties: &HashMap<String, String>,
    ) -> Result<QueryStream, StatementFailure> {
        let texts = split_statements(sql);
        let [text] = texts.as_slice() else {
            return Err(failure(sql, "Expected exactly one SELECT statement"));
        };
        let statements = parse(text).map_err(|e| failure(text, e))?;
        let [Statement::Query(query)] = statements.as_slice() else {
            return Err(failure(
                text,
                "The following statement types should be issued to the '/ksql' endpoint: every statement other than SELECT and PRINT",
            ));
        };
        let (plan, inputs) = {
            let engine = self.engine.lock().await;
            let plan = plan_query(query, &engine.catalog, Target::Client)
                .map_err(|e| failure(text, KsqlError::from(e)))?;
            let inputs = input_sources(&plan, &engine.catalog);
            (
                plan,
                inputs.ok_or_else(|| failure(text, "the source is gone"))?,
            )
        };
        if query.emit.is_none() {
            check_pull(query).map_err(|e| failure(text, KsqlError::from(e)))?;
        }
        let source = inputs[0].1.clone();
        let id = format!("transient_{}_{}", source.name, rand::random::<u64>());
        let (rows, receiver) = mpsc::channel(1024);
        let limited = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stream = QueryStream {
            id: id.clone(),
            columns: columns_of(&plan),
            rows: receiver,
            limited: limited.clone(),
            scans_stream: query.emit.is_none() && source.kind == SourceKind::Stream,
        };
        if query.emit.is_some() {
            let reset = match properties
                .get("auto.offset.reset")
                .or_else(|| properties.get("ksql.streams.auto.offset.reset"))
                .map(|s| s.to_ascii_lowercase())
            {
                Some(s) if s == "earliest" => SeekTo::Beginning,
                _ => SeekTo::End,
            };
            let stopped = self.transient.register(&id);
            let server = self.clone();
            tokio::spawn(async move {
                server.metrics.transient_queries.inc();
                server
                    .push(
                        &id,
                        Pipeline::new(plan),
                        inputs,
                        reset,
                        rows,
                        stopped,
                        limited,
                    )
                    .await;
                server.metrics.transient_queries.dec();
                server.transient.forget(&id);
            });
        } else {
            let results = self
                .pull(query, plan, &source)
                .await
                .map_err(|e| failure(text, e))?;
            tokio::spawn(async move {
                for values in results {
                    let row = QueryRow {
                        values,
                        tombstone: false,
                    };
                    if rows.send(Ok(row)).await.is_err() {
                        return;
                    }
                }
            });
        }
        Ok(stream)
    }

    #[allow(clippy::too_many_arguments)]
    async fn push(
        &self,
        id: &str,
        mut pipeline: Pipeline,
        inputs: Vec<(Side, Source)>,
        reset: SeekTo,
        rows: mpsc::Sender<RowResult>,
        mut stopped: watch::Receiver<bool>,
        limited: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let limit = pipeline.plan().limit;
        let known = match self.io.topics().await {
            Ok(topics) => topics,
            Err(error) => {
                let _ = rows.send(Err(error.to_string())).await;
                return;
            }
        };
        let mut consumer = self.io.consumer(ConsumerConfig {
            auto_offset_reset: reset,
            ..ConsumerConfig::default()
        });
        let mut topics: Vec<&str> = inputs.iter().map(|(_, s)| s.topic.as_str()).collect();
        topics.dedup();
        consumer.assign(
            topics
                .iter()
                .flat_map(|topic| {
                    let partitions = known.get(*topic).copied().unwrap_or(1);
                    (0..partitions).map(move |p| TopicPartition::new(*topic, p))
                })
                .collect(),
        );
        let mut sent = 0u64;
        loop {
            let polled = tokio::select! {
                _ = stopped.changed() => return,
                _ = rows.closed() => return,
                polled = consumer.poll(Duration::from_millis(200)) => polled,
            };
            let records = match polled {
                Ok(records) => records,
                Err(error) => {
                    tracing::warn!(query = id, "push query read failed: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            for (record, side, source) in routed(&records, &inputs) {
                let outputs = match decode_consumed(source, record)
                    .and_then(|row| pipeline.client_rows(side, &row).map_err(|e| e.0))
                {
                    Ok(outputs) => outputs,
                    Err(error) => {
                        self.log.record(id, &source.topic, record, &error);
                        continue;
                    }
                };
                for (values, tombstone) in outputs {
                    if rows.send(Ok(QueryRow { values, tombstone })).await.is_err() {
                        return;
                    }
                    sent += 1;
                    if limit.is_some_and(|limit| sent >= limit) {
                        limited.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                }
            }
        }
    }

    /// A pull query: a table's materialized rows, or a scan of a stream's topic.
    async fn pull(
        &self,
        query: &Query,
        plan: QueryPlan,
        source: &Source,
    ) -> Result<Vec<Vec<Value>>, String> {
        let limit = query.limit.unwrap_or(u64::MAX) as usize;
        let mut pipeline = Pipeline::new(plan);
        let records: Vec<SourceRecord> = match self.materialized(&source.name).await {
            Some(rows) if source.kind == SourceKind::Table => {
                rows.into_iter().map(SourceRecord::from).collect()
            }
            _ => {
                let partitions = self
                    .io
                    .topics()
                    .await
                    .map_err(|e| e.to_string())?
                    .get(&source.topic)
                    .copied()
                    .unwrap_or(1);
                let consumed = self
                    .io
                    .read_to_end(&source.topic, partitions)
                    .await
                    .map_err(|e| e.to_string())?;
                let decoded = consumed
                    .iter()
                    .filter_map(|record| decode_consumed(source, record).ok());
                match source.kind {
                    SourceKind::Table => current_rows(decoded),
                    SourceKind::Stream => decoded.collect(),
                }
            }
        };
        let mut results = Vec::new();
        for record in records {
            for output in pipeline.process(Side::Left, &record).map_err(|e| e.0)? {
                if let Some(value) = output.value {
                    results.push(value);
                }
                if results.len() >= limit {
                    return Ok(results);
                }
            }
        }
        Ok(results)
    }
}
