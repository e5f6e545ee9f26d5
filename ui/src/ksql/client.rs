//! The ksql server's REST API, as the console uses it: statements on `/ksql`, a query's
//! rows streamed from `/query-stream` as they arrive, and `/close-query`.
//!
//! A server that cannot be reached is the console's 503 naming the cluster and the
//! address; an answer of ksql's own keeps ksql's status and message.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::rows::{error_message, parse_row, LineReader, QueryHeader};
use crate::error::{UiError, UiResult};

/// ksqlDB's newline-delimited query answer: a header line, then one JSON array per row.
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement, or a query's first line, may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer to statements read (LIST of a large catalog stays far below).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// The longest row of a query.
const MAX_ROW_BYTES: usize = 4 * 1024 * 1024;
/// Rows read ahead of the browser; the server waits when they are not taken.
const ROWS_AHEAD: usize = 256;

/// A row of a query, or the error that ended it.
pub type RowResult = Result<Vec<Value>, String>;

/// A query being answered: its header, then its rows as they arrive. The rows end with
/// the query (a pull query's last row, a LIMIT); dropping the query cuts the connection,
/// which ends it on the server too.
#[derive(Debug)]
pub struct KsqlQuery {
    pub header: QueryHeader,
    pub rows: mpsc::Receiver<RowResult>,
}

/// One cluster's ksql server.
#[derive(Clone, Debug)]
pub struct KsqlClient {
    cluster: String,
    /// `http://host:port`, with no trailing slash.
    url: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl KsqlClient {
    /// A client of the server at `url` (`http://host:port`), for `cluster`'s errors.
    pub fn new(cluster: &str, url: &str) -> UiResult<KsqlClient> {
        let base = url.trim().trim_end_matches('/');
        let valid = base
            .parse::<Uri>()
            .ok()
            .is_some_and(|uri| uri.scheme_str() == Some("http") && uri.authority().is_some());
        if !valid {
            return Err(UiError::bad_request(format!(
                "cluster '{cluster}': ksqldbServer '{url}' must be an http://host:port address"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Ok(KsqlClient {
            cluster: cluster.to_string(),
            url: base.to_string(),
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs the statements of `sql`; ksql's entities, one per statement that answers.
    pub async fn statements(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
    ) -> UiResult<Vec<Value>> {
        let body = json!({ "ksql": sql, "streamsProperties": properties });
        let (status, answer) = self
            .within(ANSWER_TIMEOUT, async {
                let response = self.post("/ksql", &body, "application/json").await?;
                let status = response.status();
                Ok((status, self.read_all(response).await?))
            })
            .await?;
        if !status.is_success() {
            return Err(self.refused(status, &answer));
        }
        match serde_json::from_slice(&answer) {
            Ok(Value::Array(entities)) => Ok(entities),
            _ => Err(self.strange_answer("/ksql")),
        }
    }

    /// Starts the query `sql`; its rows are read as the server sends them.
    pub async fn query(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
    ) -> UiResult<KsqlQuery> {
        let body = json!({ "sql": sql, "properties": properties });
        let (header, lines) = self
            .within(ANSWER_TIMEOUT, async {
                let response = self.post("/query-stream", &body, DELIMITED).await?;
                let status = response.status();
                if !status.is_success() {
                    let answer = self.read_all(response).await?;
                    return Err(self.refused(status, &answer));
                }
                let mut lines = LineReader::new(response.into_body(), MAX_ROW_BYTES);
                let first = match lines.next_line().await {
                    Some(Ok(line)) => line,
                    Some(Err(error)) => return Err(self.not_answering(error)),
                    None => return Err(self.strange_answer("/query-stream")),
                };
                let header = QueryHeader::parse(&first).map_err(|message| {
                    UiError::new(StatusCode::BAD_REQUEST, "KSQL_ERROR", message)
                })?;
                Ok((header, lines))
            })
            .await?;
        let (sender, rows) = mpsc::channel(ROWS_AHEAD);
        tokio::spawn(read_rows(lines, sender, self.describe()));
        Ok(KsqlQuery { header, rows })
    }

    /// Ends the push query `query_id` on the server.
    pub async fn close_query(&self, query_id: &str) -> UiResult<()> {
        let body = json!({ "queryId": query_id });
        let (status, answer) = self
            .within(CLOSE_TIMEOUT, async {
                let response = self.post("/close-query", &body, "application/json").await?;
                let status = response.status();
                Ok((status, self.read_all(response).await?))
            })
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(self.refused(status, &answer))
        }
    }

    async fn post(
        &self,
        path: &str,
        body: &Value,
        accept: &str,
    ) -> UiResult<hyper::Response<Incoming>> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.url))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| self.not_answering(e))?;
        self.http
            .request(request)
            .await
            .map_err(|e| self.not_answering(causes(&e)))
    }

    async fn read_all(&self, response: hyper::Response<Incoming>) -> UiResult<Bytes> {
        Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| self.not_answering(causes(&*e)))
    }

    async fn within<T>(
        &self,
        limit: Duration,
        work: impl std::future::Future<Output = UiResult<T>>,
    ) -> UiResult<T> {
        tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(self.not_answering(format!("no answer within {} s", limit.as_secs())))
        })
    }

    /// "ksql server of cluster 'x' at URL": how errors name the server.
    fn describe(&self) -> String {
        format!("ksql server of cluster '{}' at {}", self.cluster, self.url)
    }

    fn not_answering(&self, error: impl std::fmt::Display) -> UiError {
        UiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "KSQL_UNAVAILABLE",
            format!("{} is not answering: {error}", self.describe()),
        )
    }

    /// ksql's refusal, with its status and message.
    fn refused(&self, status: StatusCode, answer: &[u8]) -> UiError {
        let message = serde_json::from_slice::<Value>(answer)
            .ok()
            .and_then(|v| error_message(&v))
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(answer).trim().to_string();
                if text.is_empty() {
                    format!("{} answered {status}", self.describe())
                } else {
                    text
                }
            });
        UiError::new(status, "KSQL_ERROR", message)
    }

    fn strange_answer(&self, path: &str) -> UiError {
        UiError::new(
            StatusCode::BAD_GATEWAY,
            "KSQL_ERROR",
            format!(
                "{} answered {path} with something that is not ksqlDB's answer",
                self.describe()
            ),
        )
    }
}

/// Passes a query's rows on until the query ends or nobody takes them any more.
async fn read_rows(mut lines: LineReader<Incoming>, rows: mpsc::Sender<RowResult>, server: String) {
    loop {
        let line = tokio::select! {
            _ = rows.closed() => return,
            line = lines.next_line() => line,
        };
        let row = match line {
            None => return,
            Some(Err(error)) => Err(format!("{server} stopped answering: {error}")),
            Some(Ok(line)) => match parse_row(&line) {
                Some(row) => row,
                None => continue,
            },
        };
        let failed = row.is_err();
        if rows.send(row).await.is_err() || failed {
            return;
        }
    }
}

/// An error with its causes, as "connection refused: ..." rather than hyper's bare
/// "client error (Connect)".
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_addresses_make_a_client() {
        let client = KsqlClient::new("local", "http://localhost:8088/").unwrap();
        assert_eq!(client.url(), "http://localhost:8088");
        let https = KsqlClient::new("local", "https://ksql:8088").unwrap_err();
        assert!(
            https.message.contains("http://host:port"),
            "{}",
            https.message
        );
        assert!(KsqlClient::new("local", "ksql:8088").is_err());
    }

    #[tokio::test]
    async fn an_absent_server_is_not_answering() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let client = KsqlClient::new("local", &format!("http://127.0.0.1:{port}")).unwrap();
        let error = client
            .statements("SHOW STREAMS;", &BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        let expected =
            format!("ksql server of cluster 'local' at http://127.0.0.1:{port} is not answering: ");
        assert!(error.message.starts_with(&expected), "{}", error.message);
    }

    #[test]
    fn ksql_refusals_keep_their_status_and_message() {
        let client = KsqlClient::new("local", "http://localhost:8088").unwrap();
        let refused = client.refused(
            StatusCode::BAD_REQUEST,
            br#"{"@type":"statement_error","error_code":40001,"message":"Stream S does not exist"}"#,
        );
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.message, "Stream S does not exist");
        let plain = client.refused(StatusCode::INTERNAL_SERVER_ERROR, b"");
        assert!(plain.message.contains("answered 500"), "{}", plain.message);
    }
}
