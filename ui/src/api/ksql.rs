//! ksql: the streams, tables and running queries of a cluster's ksql server, statements
//! run on it, and queries whose rows stream to the browser as Server-Sent Events.
//!
//! `sources` and `queries` are what both the JSON API and the ksql page show.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::Stream;
use potok_client::shutdown::Shutdown;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::{UiError, UiResult};
use crate::ksql::rows::{source_of_query_id, table_keys, RowBatch};
use crate::ksql::statements::{self, group_by_keys, is_push, single_select};
use crate::ksql::{KsqlClient, KsqlQuery};
use crate::server::AppState;

/// The most rows in one `rows` event.
const BATCH_ROWS: usize = 500;
/// How long the first row of a batch waits for others before it is sent.
const BATCH_WAIT: Duration = Duration::from_millis(100);
/// Events waiting for a slow browser; the query's reading waits behind them.
const EVENTS_AHEAD: usize = 4;
/// How often a quiet stream sends a comment, which is also how soon a browser that left
/// is noticed (and its push query closed).
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// The longest statement the audit log quotes.
const AUDIT_CHARS: usize = 300;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/ksql", post(statements_handler))
        .route("/clusters/{cluster}/ksql/streams", get(streams_handler))
        .route("/clusters/{cluster}/ksql/tables", get(tables_handler))
        .route("/clusters/{cluster}/ksql/queries", get(queries_handler))
        .route(
            "/clusters/{cluster}/ksql/queries/{id}",
            delete(terminate_handler),
        )
        .route("/clusters/{cluster}/ksql/query", get(query_handler))
}

/// The cluster's ksql server, or a 404 that says how to configure one.
pub fn client(cluster: &ClusterHandle) -> UiResult<&KsqlClient> {
    cluster.ksql.as_ref().ok_or_else(|| {
        UiError::not_found(format!(
            "cluster '{}' has no ksql server; set kafka.clusters.N.ksqldbServer",
            cluster.name()
        ))
    })
}

/// Streams or tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Stream,
    Table,
}

impl SourceKind {
    fn word(self) -> &'static str {
        match self {
            SourceKind::Stream => "STREAMS",
            SourceKind::Table => "TABLES",
        }
    }
}

/// A stream or table as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlSource {
    pub name: String,
    /// `STREAM` or `TABLE`.
    pub kind: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub windowed: bool,
    /// Empty when the server only listed the source.
    pub columns: Vec<KsqlColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KsqlColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub sql_type: String,
    /// Whether the column is (part of) the record's key.
    pub key: bool,
}

/// A persistent query running on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningQuery {
    pub id: String,
    pub state: String,
    pub sql: String,
    pub sinks: Vec<String>,
    pub sink_topics: Vec<String>,
    pub query_type: String,
}

/// The server's streams or tables with their columns (`DESCRIBE STREAMS`), or without
/// them from a server that only lists them (`LIST STREAMS`).
pub async fn sources(cluster: &ClusterHandle, kind: SourceKind) -> UiResult<Vec<KsqlSource>> {
    let ksql = client(cluster)?;
    let none = BTreeMap::new();
    let entities = match ksql
        .statements(&format!("DESCRIBE {};", kind.word()), &none)
        .await
    {
        Ok(entities) => entities,
        Err(error) if error.status == StatusCode::BAD_REQUEST => {
            ksql.statements(&format!("LIST {};", kind.word()), &none)
                .await?
        }
        Err(error) => return Err(error),
    };
    let mut listed = sources_of(&entities);
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// The persistent queries the server runs.
pub async fn queries(cluster: &ClusterHandle) -> UiResult<Vec<RunningQuery>> {
    let entities = client(cluster)?
        .statements("LIST QUERIES;", &BTreeMap::new())
        .await?;
    Ok(queries_of(&entities))
}

/// Sources from `source_descriptions` entities (with columns) or `streams` / `tables`
/// entities (without).
fn sources_of(entities: &[Value]) -> Vec<KsqlSource> {
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut listed = Vec::new();
    for entity in entities {
        if let Some(descriptions) = entity.get("sourceDescriptions").and_then(Value::as_array) {
            listed.extend(descriptions.iter().map(|d| {
                KsqlSource {
                    name: text(d, "name"),
                    kind: text(d, "type"),
                    topic: text(d, "topic"),
                    key_format: text(d, "keyFormat"),
                    value_format: text(d, "valueFormat"),
                    windowed: d.get("windowType").is_some_and(|w| !w.is_null()),
                    columns: d
                        .get("fields")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|f| KsqlColumn {
                            name: text(f, "name"),
                            sql_type: f.get("schema").map(type_text).unwrap_or_default(),
                            key: f.get("type").and_then(Value::as_str) == Some("KEY"),
                        })
                        .collect(),
                }
            }));
        }
        let summaries = entity
            .get("streams")
            .or_else(|| entity.get("tables"))
            .and_then(Value::as_array);
        listed.extend(summaries.into_iter().flatten().map(|s| {
            KsqlSource {
                name: text(s, "name"),
                kind: text(s, "type"),
                topic: text(s, "topic"),
                key_format: text(s, "keyFormat"),
                value_format: text(s, "valueFormat"),
                windowed: s
                    .get("isWindowed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                columns: Vec::new(),
            }
        }));
    }
    listed
}

/// `ARRAY<STRUCT<A INTEGER>>`: a column type from ksqlDB's schema JSON.
fn type_text(schema: &Value) -> String {
    let family = schema.get("type").and_then(Value::as_str).unwrap_or("?");
    let member = || {
        schema
            .get("memberSchema")
            .map_or_else(|| "?".to_string(), type_text)
    };
    match family {
        "ARRAY" => format!("ARRAY<{}>", member()),
        "MAP" => format!("MAP<STRING, {}>", member()),
        "STRUCT" => {
            let fields: Vec<String> = schema
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| {
                    let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
                    format!(
                        "{name} {}",
                        f.get("schema").map_or_else(|| "?".into(), type_text)
                    )
                })
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => match schema.get("parameters") {
            Some(p) => format!("DECIMAL({}, {})", p["precision"], p["scale"]),
            None => "DECIMAL".into(),
        },
        other => other.to_string(),
    }
}

fn queries_of(entities: &[Value]) -> Vec<RunningQuery> {
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let list = |v: &Value, field: &str| -> Vec<String> {
        v.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    entities
        .iter()
        .filter_map(|e| e.get("queries").and_then(Value::as_array))
        .flatten()
        .map(|q| RunningQuery {
            id: text(q, "id"),
            state: q
                .get("state")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| "UNKNOWN".into()),
            sql: text(q, "queryString"),
            sinks: list(q, "sinks"),
            sink_topics: list(q, "sinkKafkaTopics"),
            query_type: text(q, "queryType"),
        })
        .collect()
}

/// Statements to run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementsRequest {
    pub sql: String,
    /// Properties of the request, such as `auto.offset.reset`.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// ksql takes property values as text.
fn property_texts(properties: BTreeMap<String, Value>) -> BTreeMap<String, String> {
    properties
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

/// Runs statements; a change needs an admin and is written to the audit log.
pub async fn run_statements(
    cluster: &ClusterHandle,
    caller: &Caller,
    sql: &str,
    properties: &BTreeMap<String, String>,
) -> UiResult<Vec<Value>> {
    let ksql = client(cluster)?;
    if statements::split(sql).is_empty() {
        return Err(UiError::bad_request("there is no statement to run"));
    }
    if statements::changes_anything(sql) {
        caller.change(
            cluster,
            &format!("ksql: {}", statements::one_line(sql, AUDIT_CHARS)),
        )?;
    }
    ksql.statements(sql, properties).await
}

async fn statements_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    body: Result<Json<StatementsRequest>, JsonRejection>,
) -> UiResult<Json<Vec<Value>>> {
    let Json(request) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    let properties = property_texts(request.properties);
    run_statements(&cluster, &caller, &request.sql, &properties)
        .await
        .map(Json)
}

async fn streams_handler(
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<Vec<KsqlSource>>> {
    sources(&cluster, SourceKind::Stream).await.map(Json)
}

async fn tables_handler(
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<Vec<KsqlSource>>> {
    sources(&cluster, SourceKind::Table).await.map(Json)
}

async fn queries_handler(
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<Vec<RunningQuery>>> {
    queries(&cluster).await.map(Json)
}

/// Whether `id` can only be a query id (so it cannot smuggle a statement into TERMINATE).
fn is_query_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn terminate_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
) -> UiResult<Json<Vec<Value>>> {
    if !is_query_id(&id) {
        return Err(UiError::bad_request(format!(
            "'{id}' is not a query id; ids are letters, digits, '_' and '-'"
        )));
    }
    run_statements(
        &cluster,
        &caller,
        &format!("TERMINATE {id};"),
        &BTreeMap::new(),
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize)]
pub struct QueryParams {
    pub sql: String,
    /// A JSON object of properties, such as `{"auto.offset.reset":"earliest"}`.
    #[serde(default)]
    pub properties: Option<String>,
}

/// What the browser is told first: the columns and, for rows of a table, the columns that
/// key them, so a row whose key was seen replaces that row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamHeader {
    pub query_id: Option<String>,
    pub column_names: Vec<String>,
    pub column_types: Vec<String>,
    pub key_columns: Vec<String>,
    /// A push query runs until stopped; a pull query ends after its rows.
    pub push: bool,
}

/// Parses the `properties` parameter: a JSON object, values as text.
fn query_properties(text: Option<&str>) -> UiResult<BTreeMap<String, String>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    serde_json::from_str::<BTreeMap<String, Value>>(text)
        .map(property_texts)
        .map_err(|e| {
            UiError::bad_request(format!(
                "properties must be a JSON object such as {{\"auto.offset.reset\":\"earliest\"}}: {e}"
            ))
        })
}

/// Runs one SELECT and streams its answer as Server-Sent Events: `header`, then `rows`
/// (arrays of rows, batched), then `end`; `error` when the query fails on the way. A push
/// query is closed when the browser goes away or the console stops. A request the server
/// refuses outright answers with its status and `{"error", "message"}` instead.
async fn query_handler(
    State(state): State<AppState>,
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    params: Result<Query<QueryParams>, QueryRejection>,
) -> UiResult<Response> {
    let Query(params) = params.map_err(|e| UiError::bad_request(e.body_text()))?;
    caller.read_messages()?;
    let ksql = client(&cluster)?.clone();
    let select = single_select(&params.sql).map_err(UiError::bad_request)?;
    let properties = query_properties(params.properties.as_deref())?;
    let query = ksql.query(select, &properties).await?;
    let push = is_push(select);
    let key_columns = key_columns(&ksql, select, &query).await;
    let header = StreamHeader {
        query_id: query.header.query_id.clone(),
        column_names: query.header.column_names.clone(),
        column_types: query.header.column_types.clone(),
        key_columns,
        push,
    };
    let (events, receiver) = mpsc::channel(EVENTS_AHEAD);
    tokio::spawn(relay(query, header, ksql, events, state.stopping.clone()));
    Ok(Sse::new(event_stream(receiver))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The columns that key a query's rows: its GROUP BY columns when it aggregates, else
/// those of the table it reads (found with DESCRIBE); none when it reads a stream or the
/// table cannot be described.
async fn key_columns(ksql: &KsqlClient, select: &str, query: &KsqlQuery) -> Vec<String> {
    if let Some(keys) = group_by_keys(select, &query.header.column_names) {
        return keys;
    }
    let Some(source) = query
        .header
        .query_id
        .as_deref()
        .and_then(source_of_query_id)
    else {
        return Vec::new();
    };
    let describe = format!("DESCRIBE `{}`;", source.replace('`', "``"));
    match ksql.statements(&describe, &BTreeMap::new()).await {
        Ok(entities) => entities
            .first()
            .map(|d| table_keys(d, &query.header.column_names))
            .unwrap_or_default(),
        Err(error) => {
            tracing::debug!(
                source,
                "cannot describe a query's source: {}",
                error.message
            );
            Vec::new()
        }
    }
}

fn event_stream(events: mpsc::Receiver<Event>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(events, |mut events| async move {
        events.recv().await.map(|event| (Ok(event), events))
    })
}

fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| {
            Event::default()
                .event("error")
                .data(r#"{"message":"a row could not be written"}"#)
        })
}

/// Why a relay stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The query ended on the server (its last row, its LIMIT, its error).
    Finished,
    /// The browser went away or the console is stopping; the query still runs.
    Left,
}

/// Passes a query's rows to the browser in batches, and closes a push query the browser
/// no longer reads.
async fn relay(
    mut query: KsqlQuery,
    header: StreamHeader,
    ksql: KsqlClient,
    events: mpsc::Sender<Event>,
    mut stopping: Shutdown,
) {
    let ended = async {
        if events.send(event("header", &header)).await.is_err() {
            return Ended::Left;
        }
        let mut batch = RowBatch::new(BATCH_ROWS);
        let mut flush_at: Option<Instant> = None;
        loop {
            let due = async move {
                match flush_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let mut out = Vec::new();
            let mut finished = false;
            tokio::select! {
                _ = events.closed() => return Ended::Left,
                _ = stopping.recv() => return Ended::Left,
                _ = due => {
                    out.extend(batch.take().map(|rows| event("rows", &rows)));
                    flush_at = None;
                }
                row = query.rows.recv() => match row {
                    Some(Ok(row)) => match batch.push(row) {
                        Some(full) => {
                            out.push(event("rows", &full));
                            flush_at = None;
                        }
                        None if flush_at.is_none() => flush_at = Some(Instant::now() + BATCH_WAIT),
                        None => {}
                    },
                    Some(Err(message)) => {
                        out.extend(batch.take().map(|rows| event("rows", &rows)));
                        out.push(event("error", &json!({ "message": message })));
                        out.push(event("end", &json!({})));
                        finished = true;
                    }
                    None => {
                        out.extend(batch.take().map(|rows| event("rows", &rows)));
                        out.push(event("end", &json!({})));
                        finished = true;
                    }
                },
            }
            for one in out {
                if events.send(one).await.is_err() {
                    return Ended::Left;
                }
            }
            if finished {
                return Ended::Finished;
            }
        }
    }
    .await;
    drop(query);
    if ended == Ended::Left && header.push {
        if let Some(id) = &header.query_id {
            if let Err(error) = ksql.close_query(id).await {
                tracing::debug!(query = %id, "closing a push query: {}", error.message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_sources_keep_their_columns() {
        let entities = vec![
            json!({"@type": "source_descriptions", "sourceDescriptions": [{
            "name": "ORDERS", "type": "STREAM", "topic": "orders", "keyFormat": "KAFKA",
            "valueFormat": "JSON", "windowType": null,
            "fields": [
                {"name": "ID", "type": "KEY", "schema": {"type": "STRING"}},
                {"name": "ITEMS", "schema": {"type": "ARRAY", "memberSchema": {"type": "STRUCT", "fields": [
                    {"name": "SKU", "schema": {"type": "STRING"}}]}}},
                {"name": "PRICE", "schema": {"type": "DECIMAL", "parameters": {"precision": 10, "scale": 2}}}
            ]}]}),
        ];
        let sources = sources_of(&entities);
        assert_eq!(sources.len(), 1);
        let orders = &sources[0];
        assert_eq!(
            (
                orders.name.as_str(),
                orders.kind.as_str(),
                orders.topic.as_str()
            ),
            ("ORDERS", "STREAM", "orders")
        );
        assert!(!orders.windowed);
        let columns: Vec<(&str, &str, bool)> = orders
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.sql_type.as_str(), c.key))
            .collect();
        assert_eq!(
            columns,
            [
                ("ID", "STRING", true),
                ("ITEMS", "ARRAY<STRUCT<SKU STRING>>", false),
                ("PRICE", "DECIMAL(10, 2)", false)
            ]
        );
    }

    #[test]
    fn listed_sources_come_without_columns() {
        let entities = vec![json!({"@type": "tables", "tables": [{
            "type": "TABLE", "name": "T", "topic": "t", "keyFormat": "JSON", "valueFormat": "AVRO", "isWindowed": true}]})];
        let sources = sources_of(&entities);
        assert_eq!(sources[0].name, "T");
        assert!(sources[0].windowed);
        assert!(sources[0].columns.is_empty());
    }

    #[test]
    fn running_queries_read_from_list_queries() {
        let entities = vec![json!({"@type": "queries", "queries": [{
            "queryString": "CREATE TABLE T AS SELECT ...", "sinks": ["T"], "sinkKafkaTopics": ["t"],
            "id": "CTAS_T_1", "queryType": "PERSISTENT", "state": "RUNNING"}]})];
        assert_eq!(
            queries_of(&entities),
            [RunningQuery {
                id: "CTAS_T_1".into(),
                state: "RUNNING".into(),
                sql: "CREATE TABLE T AS SELECT ...".into(),
                sinks: vec!["T".into()],
                sink_topics: vec!["t".into()],
                query_type: "PERSISTENT".into(),
            }]
        );
    }

    #[test]
    fn properties_are_a_json_object_of_texts() {
        let parsed = query_properties(Some(
            r#"{"auto.offset.reset":"earliest","ksql.query.pull.table.scan.enabled":true}"#,
        ))
        .unwrap();
        assert_eq!(parsed["auto.offset.reset"], "earliest");
        assert_eq!(parsed["ksql.query.pull.table.scan.enabled"], "true");
        assert!(query_properties(None).unwrap().is_empty());
        assert!(query_properties(Some("")).unwrap().is_empty());
        let bad = query_properties(Some("[1]")).unwrap_err();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn query_ids_cannot_carry_statements() {
        assert!(is_query_id("CTAS_T_1"));
        assert!(is_query_id("transient_T-3"));
        assert!(!is_query_id("Q1; DROP STREAM S"));
        assert!(!is_query_id(""));
    }
}
