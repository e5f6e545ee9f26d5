//! The act half of the KsqlStream reconciler, over ksqlDB's REST API (`POST /ksql`):
//! observe the server's sources and queries, run a plan's statements in order, and turn a
//! failure into the status to report. Everything it decides is in the parent module; this
//! only talks to the ksql server.
//!
//! HTTP is blocking (`ureq`, as the `ksql` CLI uses), so each request runs on tokio's
//! blocking pool with bounded timeouts.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{json, Value};

use super::{
    failed, plan, plan_delete, reason, record_started_query, KsqlStreamAction, KsqlStreamPlan,
    ObservedQuery, ObservedServer, ObservedSource,
};
use crate::resources::ksql_stream::SourceType;
use crate::resources::{KsqlStream, KsqlStreamStatus};

/// How long a connection to the ksql server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one `/ksql` request may take in all: a CREATE ... AS SELECT waits for its query
/// to start, and a DROP ... DELETE TOPIC for the topic's deletion.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The statements whose answers describe everything the reconciler looks at.
const OBSERVE_STATEMENTS: &str = "SHOW STREAMS; SHOW TABLES; SHOW QUERIES;";

/// Why talking to the ksql server failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// No answer: nothing listening, a broken connection, a timeout.
    #[error("ksql server {url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    /// An answer that is not ksqlDB's JSON.
    #[error("ksql server {url} answered {statement:?} with something other than ksqlDB's JSON: {reason}")]
    UnexpectedAnswer {
        url: String,
        statement: String,
        reason: String,
    },
    /// ksql refused the statement and said why.
    #[error("ksql server {url} refused {statement:?}: {message}")]
    Refused {
        url: String,
        statement: String,
        message: String,
    },
}

impl RestError {
    /// The `Ready` condition's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            RestError::Unreachable { .. } => reason::KSQL_UNAVAILABLE,
            RestError::UnexpectedAnswer { .. } => reason::UNEXPECTED_ANSWER,
            RestError::Refused { .. } => reason::STATEMENT_FAILED,
        }
    }

    /// The `Ready` condition's message: ksql's own words for a refused statement, which
    /// users know from the `ksql` CLI; what failed and where otherwise.
    pub fn status_message(&self) -> String {
        match self {
            RestError::Refused { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// True when the same reconcile may succeed soon without a change anywhere. A refused
    /// statement waits for the next resync (the source it reads from may come later).
    pub fn is_retriable(&self) -> bool {
        matches!(self, RestError::Unreachable { .. })
    }
}

/// A client of one ksql server's `/ksql` endpoint.
#[derive(Debug, Clone)]
pub struct KsqlClient {
    url: String,
    agent: ureq::Agent,
}

impl KsqlClient {
    /// A client of the server at `url` (`http://host:port`).
    pub fn new(url: &str) -> KsqlClient {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build();
        KsqlClient {
            url: url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `statements` on `/ksql`; the entities they answered, one per statement.
    pub async fn run(&self, statements: &str) -> Result<Vec<Value>, RestError> {
        let client = self.clone();
        let statements = statements.to_owned();
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || client.run_blocking(&statements))
            .await
            .unwrap_or_else(|error| {
                Err(RestError::Unreachable {
                    url,
                    reason: format!("the request was cut short: {error}"),
                })
            })
    }

    fn run_blocking(&self, statements: &str) -> Result<Vec<Value>, RestError> {
        let body = json!({ "ksql": statements, "streamsProperties": {} }).to_string();
        let answer = self
            .agent
            .post(&format!("{}/ksql", self.url))
            .set("Content-Type", "application/json")
            .set("Accept", "application/json")
            .send_string(&body);
        let (refused, response) = match answer {
            Ok(response) => (false, response),
            Err(ureq::Error::Status(_, response)) => (true, response),
            Err(ureq::Error::Transport(error)) => {
                return Err(RestError::Unreachable {
                    url: self.url.clone(),
                    reason: error.to_string(),
                })
            }
        };
        let unexpected = |reason: String| RestError::UnexpectedAnswer {
            url: self.url.clone(),
            statement: statements.to_owned(),
            reason,
        };
        let status = response.status();
        let text = response
            .into_string()
            .map_err(|e| unexpected(format!("HTTP {status}, unreadable body: {e}")))?;
        let answer: Value = serde_json::from_str(&text)
            .map_err(|e| unexpected(format!("HTTP {status}, {e}: {text}")))?;
        if refused {
            let message = answer["message"]
                .as_str()
                .ok_or_else(|| unexpected(format!("HTTP {status} without a message: {text}")))?;
            let statement = answer["statementText"].as_str().unwrap_or(statements);
            return Err(RestError::Refused {
                url: self.url.clone(),
                statement: statement.to_owned(),
                message: message.to_owned(),
            });
        }
        match answer {
            Value::Array(entities) => Ok(entities),
            other => Err(unexpected(format!("not a list of entities: {other}"))),
        }
    }
}

/// The result of one reconcile: the status to write, and the error to log and back off on.
#[derive(Debug)]
pub struct Reconciled {
    pub status: KsqlStreamStatus,
    pub error: Option<RestError>,
}

/// One reconcile of `stream`: observe the ksql server, plan, run the plan's statements.
pub async fn reconcile(stream: &KsqlStream, client: &KsqlClient, now: &Time) -> Reconciled {
    let outcome = async {
        let observed = observe(client).await?;
        let mut plan = plan(stream, &observed, now);
        let started_query = apply(&plan, client).await?;
        record_started_query(&mut plan.status, started_query);
        Ok::<_, RestError>(plan.status)
    };
    match outcome.await {
        Ok(status) => Reconciled {
            status,
            error: None,
        },
        Err(error) => Reconciled {
            status: failed(stream, error.reason(), error.status_message(), now),
            error: Some(error),
        },
    }
}

/// Removes what `stream` made on the ksql server; once this succeeds the runtime may drop
/// the resource's finalizer.
pub async fn delete(stream: &KsqlStream, client: &KsqlClient) -> Result<(), RestError> {
    let observed = observe(client).await?;
    for action in plan_delete(stream, &observed) {
        run_action(&action, client).await?;
    }
    Ok(())
}

/// The server's streams, tables and persistent queries.
pub async fn observe(client: &KsqlClient) -> Result<ObservedServer, RestError> {
    let entities = client.run(OBSERVE_STATEMENTS).await?;
    let unexpected = |reason: String| RestError::UnexpectedAnswer {
        url: client.url().to_owned(),
        statement: OBSERVE_STATEMENTS.to_owned(),
        reason,
    };
    let mut observed = ObservedServer::default();
    for entity in &entities {
        match entity["@type"].as_str() {
            Some("streams") => observed.sources.extend(sources(&entity["streams"])),
            Some("tables") => observed.sources.extend(sources(&entity["tables"])),
            Some("queries") => observed.queries.extend(queries(&entity["queries"])),
            _ => return Err(unexpected(format!("an unknown entity: {entity}"))),
        }
    }
    Ok(observed)
}

/// The entries of a `streams` or `tables` listing: `{"type", "name", "topic", ...}`.
fn sources(listed: &Value) -> Vec<ObservedSource> {
    let entries = listed.as_array().map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .filter_map(|source| {
            let source_type = match source["type"].as_str()? {
                "STREAM" => SourceType::Stream,
                "TABLE" => SourceType::Table,
                _ => return None,
            };
            Some(ObservedSource {
                name: source["name"].as_str()?.to_owned(),
                source_type,
                topic: source["topic"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// The entries of a `queries` listing: `{"id", "state", "sinks", "statusCount", ...}`.
/// ksqlDB before 0.10 has no `state`; its `statusCount` (`{"RUNNING": 1}`) says the same.
fn queries(listed: &Value) -> Vec<ObservedQuery> {
    let entries = listed.as_array().map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .filter_map(|query| {
            let state = query["state"].as_str().map(str::to_owned).or_else(|| {
                let counts = query["statusCount"].as_object()?;
                counts.keys().next().cloned()
            });
            let sinks = query["sinks"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            Some(ObservedQuery {
                id: query["id"].as_str()?.to_owned(),
                state: state.unwrap_or_default(),
                sinks: sinks
                    .iter()
                    .filter_map(|sink| sink.as_str().map(str::to_owned))
                    .collect(),
            })
        })
        .collect()
}

/// Runs `plan`'s statements in order, stopping at the first failure; the query a submitted
/// statement started, when it started one.
pub async fn apply(
    plan: &KsqlStreamPlan,
    client: &KsqlClient,
) -> Result<Option<String>, RestError> {
    let mut started_query = None;
    for action in &plan.actions {
        if let Some(query_id) = run_action(action, client).await? {
            started_query = Some(query_id);
        }
    }
    Ok(started_query)
}

/// Runs one statement; the query it started, from ksql's `commandStatus.queryId`.
async fn run_action(
    action: &KsqlStreamAction,
    client: &KsqlClient,
) -> Result<Option<String>, RestError> {
    let statement = action.statement();
    let entities = client.run(&statement).await?;
    let Some(command) = entities.iter().find_map(|e| e.get("commandStatus")) else {
        return Ok(None);
    };
    if matches!(command["status"].as_str(), Some("ERROR" | "TERMINATED")) {
        return Err(RestError::Refused {
            url: client.url().to_owned(),
            statement,
            message: command["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(command["queryId"].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_become_sources_and_queries() {
        let streams = json!([
            {"type": "STREAM", "name": "PAYMENTS", "topic": "payments", "keyFormat": "KAFKA", "valueFormat": "JSON", "isWindowed": false},
            {"type": "VIEW", "name": "ODD", "topic": "odd"}
        ]);
        assert_eq!(
            sources(&streams),
            [ObservedSource {
                name: "PAYMENTS".into(),
                source_type: SourceType::Stream,
                topic: "payments".into(),
            }]
        );
        let listed = json!([
            {"queryString": "CREATE TABLE T AS ...", "sinks": ["T"], "sinkKafkaTopics": ["T"], "id": "CTAS_T_1", "statusCount": {"RUNNING": 1}, "queryType": "PERSISTENT", "state": "RUNNING"},
            {"sinks": ["S"], "id": "CSAS_S_3", "statusCount": {"ERROR": 1}},
        ]);
        assert_eq!(
            queries(&listed),
            [
                ObservedQuery {
                    id: "CTAS_T_1".into(),
                    state: "RUNNING".into(),
                    sinks: vec!["T".into()],
                },
                ObservedQuery {
                    id: "CSAS_S_3".into(),
                    state: "ERROR".into(),
                    sinks: vec!["S".into()],
                },
            ]
        );
    }

    #[test]
    fn a_refused_statement_reports_ksqls_message() {
        let refused = RestError::Refused {
            url: "http://ksql:8088".into(),
            statement: "CREATE STREAM x;".into(),
            message: "line 1:17: Syntax error".into(),
        };
        assert_eq!(refused.reason(), reason::STATEMENT_FAILED);
        assert_eq!(refused.status_message(), "line 1:17: Syntax error");
        assert!(refused.to_string().contains("http://ksql:8088"));
        assert!(!refused.is_retriable());
        let unreachable = RestError::Unreachable {
            url: "http://ksql:8088".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(unreachable.reason(), reason::KSQL_UNAVAILABLE);
        assert_eq!(
            unreachable.status_message(),
            "ksql server http://ksql:8088 did not answer: connection refused"
        );
        assert!(unreachable.is_retriable());
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = KsqlClient::new(&format!("http://127.0.0.1:{port}/"));
        assert_eq!(client.url(), format!("http://127.0.0.1:{port}"));
        let error = observe(&client).await.unwrap_err();
        assert!(
            matches!(error, RestError::Unreachable { ref url, .. } if url == client.url()),
            "{error}"
        );
    }
}
