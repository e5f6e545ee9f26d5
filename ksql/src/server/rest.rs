//! ksqlDB's REST API over HTTP/1.1 and HTTP/2: `/ksql` for statements, `/query` (a JSON
//! array streamed row by row) and `/query-stream` (delimited or JSON) for queries,
//! `/close-query`, `/inserts-stream`, `/info`, `/healthcheck`, `/status`, and `/metrics`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::statements::{StatementFailure, SERVER_ERROR};
use super::transient::{value_to_json, QueryStream};
use super::{KsqlServer, SERVER_VERSION};

/// The content type of ksqlDB's newline-delimited query results.
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";

pub fn router(server: Arc<KsqlServer>) -> Router {
    Router::new()
        .route("/ksql", post(ksql))
        .route("/query", post(query))
        .route("/query-stream", post(query_stream))
        .route("/close-query", post(close_query))
        .route("/inserts-stream", post(inserts_stream))
        .route("/info", get(info))
        .route("/healthcheck", get(healthcheck))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(server)
}

/// Reads `streamsProperties` / `properties` as text values.
fn properties(body: &Value, field: &str) -> HashMap<String, String> {
    body.get(field)
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn bad_request(message: &str) -> Response {
    let body = json!({ "@type": "generic_error", "error_code": 40000, "message": message });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn failed(failure: StatementFailure) -> Response {
    let status = if failure.code == SERVER_ERROR {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, Json(failure.to_json())).into_response()
}

/// The statement text in `field` and the properties in `properties_field`, or what is
/// wrong with the request.
fn read_request(
    body: &Bytes,
    field: &str,
    properties_field: &str,
) -> Result<(String, HashMap<String, String>), String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON in request: {e}"))?;
    let text = body.get(field).and_then(Value::as_str).ok_or_else(|| {
        format!("The request must have a \"{field}\" field holding the statements")
    })?;
    Ok((text.to_string(), properties(&body, properties_field)))
}

async fn ksql(State(server): State<Arc<KsqlServer>>, body: Bytes) -> Response {
    let (sql, properties) = match read_request(&body, "ksql", "streamsProperties") {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    match server.run_statements(&sql, &properties).await {
        Ok(entities) => Json(Value::Array(entities)).into_response(),
        Err(failure) => failed(failure),
    }
}

/// `` `NAME` STRING, `TOTAL` BIGINT ``: the header schema of `/query`.
fn schema_text(stream: &QueryStream) -> String {
    stream
        .columns
        .iter()
        .map(|(name, sql_type)| format!("`{name}` {sql_type}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Streams a query's answer: `first`, then every row formatted by `row`, then `end` (told
/// whether the LIMIT ended the query).
fn streamed(
    content_type: &'static str,
    first: String,
    stream: QueryStream,
    row: fn(&[Value], bool) -> String,
    end: fn(bool, bool) -> String,
) -> Response {
    let scans_stream = stream.scans_stream;
    let body = futures_util::stream::unfold(
        (Some(first), Some(stream)),
        move |(pending, stream)| async move {
            if let Some(first) = pending {
                return Some((Ok::<Bytes, Infallible>(Bytes::from(first)), (None, stream)));
            }
            let mut stream = stream?;
            let chunk = match stream.rows.recv().await {
                Some(Ok(answer)) => {
                    let json: Vec<Value> = answer.values.iter().map(value_to_json).collect();
                    row(&json, answer.tombstone)
                }
                Some(Err(error)) => {
                    let message = json!({ "errorMessage": { "@type": "generic_error", "error_code": 50000, "message": error } });
                    format!(",\n{message}")
                }
                None => {
                    let limited = stream.limited.load(std::sync::atomic::Ordering::SeqCst);
                    let closing = end(limited, scans_stream);
                    if closing.is_empty() {
                        return None;
                    }
                    return Some((Ok(Bytes::from(closing)), (None, None)));
                }
            };
            Some((Ok(Bytes::from(chunk)), (None, Some(stream))))
        },
    );
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// The PRINT statement `sql` is, if it is one.
fn as_print(sql: &str) -> Option<crate::parser::ast::Print> {
    match crate::parser::parse(sql).ok()?.as_slice() {
        [crate::parser::ast::Statement::Print(print)] => Some(print.clone()),
        _ => None,
    }
}

/// Streams PRINT's lines as text, one per line.
async fn print(server: Arc<KsqlServer>, sql: &str, print: crate::parser::ast::Print) -> Response {
    let lines = match server.start_print(sql, &print).await {
        Ok(lines) => lines,
        Err(failure) => return failed(failure),
    };
    let body = futures_util::stream::unfold(lines, |mut lines| async move {
        let line = lines.recv().await?;
        Some((Ok::<Bytes, Infallible>(Bytes::from(line + "\n")), lines))
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

async fn query(State(server): State<Arc<KsqlServer>>, body: Bytes) -> Response {
    let (sql, properties) = match read_request(&body, "ksql", "streamsProperties") {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    if let Some(statement) = as_print(&sql) {
        return print(server, &sql, statement).await;
    }
    let stream = match server.start_query(&sql, &properties).await {
        Ok(stream) => stream,
        Err(failure) => return failed(failure),
    };
    let header = json!({ "header": { "queryId": stream.id, "schema": schema_text(&stream) } });
    streamed(
        "application/json",
        format!("[{header}"),
        stream,
        |columns, tombstone| {
            let row = if tombstone {
                json!({ "row": { "columns": columns, "tombstone": true } })
            } else {
                json!({ "row": { "columns": columns } })
            };
            format!(",\n{row}")
        },
        |limited, scans_stream| match (limited, scans_stream) {
            (true, _) => format!(",\n{}]\n", json!({ "finalMessage": "Limit Reached" })),
            (false, true) => format!(",\n{}]\n", json!({ "finalMessage": "Query Completed" })),
            (false, false) => "]\n".into(),
        },
    )
}

async fn query_stream(
    State(server): State<Arc<KsqlServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (sql, properties) = match read_request(&body, "sql", "properties") {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    let stream = match server.start_query(&sql, &properties).await {
        Ok(stream) => stream,
        Err(failure) => return failed(failure),
    };
    let metadata = json!({
        "queryId": stream.id,
        "columnNames": stream.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        "columnTypes": stream.columns.iter().map(|(_, t)| t.to_string()).collect::<Vec<_>>(),
    });
    let delimited = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(DELIMITED));
    if delimited {
        streamed(
            DELIMITED,
            format!("{metadata}\n"),
            stream,
            |columns, _| format!("{}\n", Value::Array(columns.to_vec())),
            |_, _| String::new(),
        )
    } else {
        streamed(
            "application/json",
            format!("[{metadata}"),
            stream,
            |columns, _| format!(",{}", Value::Array(columns.to_vec())),
            |_, _| "]".into(),
        )
    }
}

/// Reads the request body line by line while answering each row, so a client can stream
/// rows and read acknowledgements on one connection.
async fn inserts_stream(State(server): State<Arc<KsqlServer>>, request: Body) -> Response {
    use futures_util::StreamExt;
    struct Lines {
        chunks: axum::body::BodyDataStream,
        buffer: Vec<u8>,
        ended: bool,
    }
    impl Lines {
        async fn next(&mut self) -> Option<String> {
            loop {
                if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.buffer.drain(..=end).collect();
                    let text = String::from_utf8_lossy(&line).trim().to_string();
                    if text.is_empty() {
                        continue;
                    }
                    return Some(text);
                }
                if self.ended {
                    let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buffer))
                        .trim()
                        .to_string();
                    return (!rest.is_empty()).then_some(rest);
                }
                match self.chunks.next().await {
                    Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                    _ => self.ended = true,
                }
            }
        }
    }
    let mut lines = Lines {
        chunks: request.into_data_stream(),
        buffer: Vec::new(),
        ended: false,
    };
    let Some(first) = lines.next().await else {
        return bad_request("The inserts request must start with {\"target\": \"<stream>\"}");
    };
    let target = match super::inserts::target(&server, &first).await {
        Ok(target) => target,
        Err(message) => return bad_request(&message),
    };
    let acknowledgements = futures_util::stream::unfold((lines, 0u64), move |(mut lines, seq)| {
        let server = server.clone();
        let target = target.clone();
        async move {
            let line = lines.next().await?;
            let answer = super::inserts::insert(&server, &target, seq, &line).await;
            Some((
                Ok::<Bytes, Infallible>(Bytes::from(format!("{answer}\n"))),
                (lines, seq + 1),
            ))
        }
    });
    let mut response = Response::new(Body::from_stream(acknowledgements));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn close_query(State(server): State<Arc<KsqlServer>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("Invalid JSON in request");
    };
    let Some(id) = body.get("queryId").and_then(Value::as_str) else {
        return bad_request("The request must have a \"queryId\" field");
    };
    if server.transient.close(id) {
        StatusCode::OK.into_response()
    } else {
        bad_request(&format!("No query with id {id}"))
    }
}

async fn info(State(server): State<Arc<KsqlServer>>) -> Json<Value> {
    Json(json!({
        "KsqlServerInfo": {
            "version": SERVER_VERSION,
            "kafkaClusterId": "",
            "ksqlServiceId": server.config.service_id,
            "serverStatus": "RUNNING",
        }
    }))
}

async fn healthcheck(State(server): State<Arc<KsqlServer>>) -> Response {
    let kafka = server.io.topics().await.is_ok();
    let body = json!({
        "isHealthy": kafka,
        "details": {
            "metastore": { "isHealthy": true },
            "kafka": { "isHealthy": kafka },
            "commandRunner": { "isHealthy": true },
        }
    });
    let status = if kafka {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn status() -> Json<Value> {
    Json(json!({ "commandStatuses": {} }))
}

async fn metrics(State(server): State<Arc<KsqlServer>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        server.metrics.render(),
    )
        .into_response()
}
