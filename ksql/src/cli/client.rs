//! The CLI's side of ksqlDB's REST API, over blocking HTTP/1.1: server info, statements on
//! `/ksql`, queries streamed from `/query` (see `http_stream`), and `/close-query`.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use serde_json::{json, Value};

use super::http_stream::{self, StreamedAnswer};

/// What went wrong talking to the server.
#[derive(Debug)]
pub enum ClientError {
    /// No answer at all: nothing listening, a refused or broken connection.
    Unreachable { url: String, reason: String },
    /// The server refused the request and said why, in ksqlDB's error shape.
    Refused(ServerError),
}

/// ksqlDB's error answer: `{"@type": ..., "error_code": ..., "message": ..., "entities": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    pub status: u16,
    pub message: String,
    /// What the statements before the failing one answered.
    pub entities: Vec<Value>,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable { url, reason } => write!(
                f,
                "Couldn't connect to {url}: {reason}. Please check that the server is running"
            ),
            ClientError::Refused(error) => f.write_str(&error.message),
        }
    }
}

/// `/info`'s `KsqlServerInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    pub version: String,
    pub status: String,
}

pub struct RestClient {
    url: String,
    agent: ureq::Agent,
}

/// The body of a request carrying statements and the session's properties.
fn statement_body(sql: &str, properties: &BTreeMap<String, String>) -> String {
    json!({ "ksql": sql, "streamsProperties": properties }).to_string()
}

impl RestClient {
    /// A client of the server at `url` (`http://host:port`).
    pub fn new(url: &str) -> RestClient {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .build();
        RestClient {
            url: url.trim_end_matches('/').to_string(),
            agent,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn info(&self) -> Result<ServerInfo, ClientError> {
        let response = self
            .agent
            .get(&format!("{}/info", self.url))
            .call()
            .map_err(|e| self.failure(e))?;
        let body = read_json(response.into_reader());
        let info = &body["KsqlServerInfo"];
        let text = |field: &str| info[field].as_str().unwrap_or("<unknown>").to_string();
        Ok(ServerInfo {
            version: text("version"),
            status: text("serverStatus"),
        })
    }

    /// Runs statements on `/ksql`; the entities they answered.
    pub fn ksql(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<Vec<Value>, ClientError> {
        let body = read_json(self.post("/ksql", &statement_body(sql, properties))?);
        Ok(match body {
            Value::Array(entities) => entities,
            other => vec![other],
        })
    }

    /// Starts a query or PRINT on `/query`; the answer streams until it ends or is cut.
    pub fn query(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<StreamedAnswer, ClientError> {
        let body = statement_body(sql, properties);
        let mut answer = http_stream::post(&self.url, "/query", &body).map_err(|e| {
            ClientError::Unreachable {
                url: self.url.clone(),
                reason: e.to_string(),
            }
        })?;
        if answer.status != 200 {
            let text = http_stream::read_all(&mut answer.body);
            return Err(ClientError::Refused(server_error(answer.status, &text)));
        }
        Ok(answer)
    }

    /// Asks the server to end a push query.
    pub fn close_query(&self, query_id: &str) -> Result<(), ClientError> {
        let body = json!({ "queryId": query_id }).to_string();
        self.post("/close-query", &body).map(drop)
    }

    fn post(&self, path: &str, body: &str) -> Result<Box<dyn Read + Send>, ClientError> {
        let response = self
            .agent
            .post(&format!("{}{path}", self.url))
            .set("Content-Type", "application/json")
            .set("Accept", "application/json")
            .send_string(body)
            .map_err(|e| self.failure(e))?;
        Ok(response.into_reader())
    }

    fn failure(&self, error: ureq::Error) -> ClientError {
        match error {
            ureq::Error::Status(status, response) => {
                let text = response.into_string().unwrap_or_default();
                ClientError::Refused(server_error(status, &text))
            }
            ureq::Error::Transport(transport) => ClientError::Unreachable {
                url: self.url.clone(),
                reason: transport_reason(&transport),
            },
        }
    }
}

/// The cause of a transport failure, without the request URL ureq puts in front.
fn transport_reason(transport: &ureq::Transport) -> String {
    use std::error::Error;
    match transport.source() {
        Some(source) => source.to_string(),
        None => transport
            .message()
            .map_or_else(|| transport.kind().to_string(), str::to_string),
    }
}

/// Reads an error answer; a body that is not ksqlDB's error JSON is shown as it is.
pub fn server_error(status: u16, body: &str) -> ServerError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("The server answered HTTP {status}: {}", body.trim()));
    let entities = parsed
        .as_ref()
        .and_then(|v| v.get("entities"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    ServerError {
        status,
        message,
        entities,
    }
}

fn read_json(mut reader: impl Read) -> Value {
    let mut text = String::new();
    if reader.read_to_string(&mut text).is_err() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ksqldb_error_answers() {
        let body = r#"{"@type":"statement_error","error_code":40001,"message":"line 1:8: Syntax error","statementText":"SELEC 1;","entities":[{"@type":"currentStatus"}]}"#;
        let error = server_error(400, body);
        assert_eq!(error.message, "line 1:8: Syntax error");
        assert_eq!(error.entities.len(), 1);
        let odd = server_error(502, "Bad Gateway");
        assert_eq!(odd.message, "The server answered HTTP 502: Bad Gateway");
    }

    #[test]
    fn sends_statements_with_the_session_properties() {
        let mut properties = BTreeMap::new();
        properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
        let body: Value =
            serde_json::from_str(&statement_body("SHOW STREAMS;", &properties)).unwrap();
        assert_eq!(
            body,
            json!({"ksql": "SHOW STREAMS;", "streamsProperties": {"auto.offset.reset": "earliest"}})
        );
    }
}
