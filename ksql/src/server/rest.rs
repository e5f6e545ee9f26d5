//! ksqlDB's REST API over HTTP/1.1 and HTTP/2: `/ksql` for statements, `/query` (a JSON
//! array streamed row by row) and `/query-stream` (delimited or JSON) for queries,
//! `/close-query`, `/inserts-stream`, `/info`, `/healthcheck`, `/status`, and `/metrics`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::body::{read_limited, BodyError, LineReader};
use super::config::{MAX_INSERT_LINE_BYTES, MAX_REQUEST_BYTES};
use super::statements::{StatementFailure, BAD_REQUEST, REQUEST_TOO_LARGE, SERVER_ERROR};
use super::transient::{value_to_json, QueryStream};
use super::{KsqlServer, SERVER_VERSION};

/// Rows of one `/inserts-stream` request being written at once: acknowledgements wait for
/// Kafka in order, while the rows after them are already on their way. With at most
/// `ksql.server.inserts.max.line.bytes` per row, this bounds what a request holds.
const INSERTS_IN_FLIGHT: usize = 32;

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

/// ksqlDB's answer to a request it cannot take: `generic_error` with its code.
fn generic_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({ "@type": "generic_error", "error_code": code, "message": message });
    (status, Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    generic_error(StatusCode::BAD_REQUEST, BAD_REQUEST, message)
}

fn body_refused(error: &BodyError) -> Response {
    match error {
        BodyError::TooLarge { .. } | BodyError::LineTooLong { .. } => generic_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            REQUEST_TOO_LARGE,
            &error.to_string(),
        ),
        BodyError::Failed(_) => bad_request(&error.to_string()),
    }
}

/// A request body read whole, at most `ksql.server.request.max.bytes` long; a longer one is
/// answered 413 with ksqlDB's JSON error instead of reaching the handler.
struct LimitedBody(Bytes);

impl FromRequest<Arc<KsqlServer>> for LimitedBody {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        server: &Arc<KsqlServer>,
    ) -> Result<Self, Self::Rejection> {
        let limit = server.config.max_request_bytes;
        read_limited(request.into_body(), limit, MAX_REQUEST_BYTES)
            .await
            .map(LimitedBody)
            .map_err(|error| body_refused(&error))
    }
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

async fn ksql(State(server): State<Arc<KsqlServer>>, LimitedBody(body): LimitedBody) -> Response {
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
    server: &KsqlServer,
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
    let mut response = Response::new(Body::from_stream(body.take_until(until_shutdown(server))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// Resolves when the server begins to stop, ending a streaming response there.
fn until_shutdown(server: &KsqlServer) -> impl std::future::Future<Output = ()> {
    let mut shutdown = server.shutdown();
    async move { shutdown.recv().await }
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
    let mut response = Response::new(Body::from_stream(body.take_until(until_shutdown(&server))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

async fn query(State(server): State<Arc<KsqlServer>>, LimitedBody(body): LimitedBody) -> Response {
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
        &server,
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
    LimitedBody(body): LimitedBody,
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
            &server,
            DELIMITED,
            format!("{metadata}\n"),
            stream,
            |columns, _| format!("{}\n", Value::Array(columns.to_vec())),
            |_, _| String::new(),
        )
    } else {
        streamed(
            &server,
            "application/json",
            format!("[{metadata}"),
            stream,
            |columns, _| format!(",{}", Value::Array(columns.to_vec())),
            |_, _| "]".into(),
        )
    }
}

/// Reads the request body line by line while answering each row, so a client can stream
/// rows and read acknowledgements on one connection. The body may be of any length: only a
/// line at a time and `INSERTS_IN_FLIGHT` rows are held.
async fn inserts_stream(State(server): State<Arc<KsqlServer>>, request: Body) -> Response {
    let max_line = server.config.max_insert_line_bytes;
    let mut lines = LineReader::new(request, max_line, MAX_INSERT_LINE_BYTES);
    let first = match lines.next_line().await {
        Some(Ok(first)) => first,
        Some(Err(error)) => {
            // Drains what is left of the body, so the client reads the refusal.
            let _ = lines.next_line().await;
            return body_refused(&error);
        }
        None => {
            return bad_request("The inserts request must start with {\"target\": \"<stream>\"}")
        }
    };
    let target = match super::inserts::target(&server, &first).await {
        Ok(target) => Arc::new(target),
        Err(message) => return bad_request(&message),
    };
    let rows = futures_util::stream::unfold(lines, |mut lines| async move {
        let line = lines.next_line().await?;
        Some((line, lines))
    });
    // A stopping server reads no further rows but answers those it has begun.
    let acknowledgements = rows
        .take_until(until_shutdown(&server))
        .enumerate()
        .map(move |(seq, line)| {
            let server = server.clone();
            let target = target.clone();
            async move {
                let seq = seq as u64;
                match line {
                    Ok(line) => super::inserts::insert(&server, &target, seq, &line).await,
                    Err(error) => super::inserts::refused(seq, &error),
                }
            }
        })
        .buffered(INSERTS_IN_FLIGHT)
        .map(|answer| Ok::<Bytes, Infallible>(Bytes::from(format!("{answer}\n"))));
    let mut response = Response::new(Body::from_stream(acknowledgements));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn close_query(
    State(server): State<Arc<KsqlServer>>,
    LimitedBody(body): LimitedBody,
) -> Response {
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
