//! A `/ksql` request: its statements run in order, each answered with ksqlDB's entity; the
//! first failure stops the request and is reported with the entities before it. SET and
//! UNSET change the properties of the statements after them in the same request.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::executor::{KsqlError, Outcome};
use crate::parser::ast::{Statement, Terminate};
use crate::parser::{parse, split_statements};

use super::{commands, listing, KsqlServer, Mode};

/// ksqlDB's error codes (its `Errors` class: an HTTP status times 100, plus a digit for
/// the kind of bad request).
pub const BAD_REQUEST: u32 = 40000;
pub const BAD_STATEMENT: u32 = 40001;
pub const QUERY_ENDPOINT: u32 = 40002;
/// A request body or line over the server's limits (HTTP 413).
pub const REQUEST_TOO_LARGE: u32 = 41300;
pub const SERVER_ERROR: u32 = 50000;

/// A failed request: the error, the statement that failed, and what ran before it.
#[derive(Debug)]
pub struct StatementFailure {
    pub code: u32,
    pub message: String,
    pub statement_text: String,
    pub entities: Vec<Json>,
}

impl StatementFailure {
    pub fn to_json(&self) -> Json {
        json!({
            "@type": "statement_error",
            "error_code": self.code,
            "message": self.message,
            "statementText": self.statement_text,
            "entities": self.entities,
        })
    }
}

/// `stream/`NAME`/create`: how ksqlDB names a command.
fn command_id(statement: &Statement) -> String {
    match statement {
        Statement::CreateSource(c) => format!("{}/`{}`/create", kind_word(c.kind), c.name.name),
        Statement::CreateAsSelect(c) => format!("{}/`{}`/create", kind_word(c.kind), c.name.name),
        Statement::InsertInto(i) => format!("stream/`{}`/create", i.target.name),
        Statement::Drop(d) => format!("{}/`{}`/drop", kind_word(d.kind), d.name.name),
        Statement::Terminate(Terminate::Query(id)) => format!("terminate/{id}/execute"),
        Statement::Terminate(Terminate::All) => "terminate/ALL/execute".into(),
        Statement::AlterSource(a) => format!("{}/`{}`/alter", kind_word(a.kind), a.name.name),
        _ => "statement/execute".into(),
    }
}

fn kind_word(kind: crate::parser::ast::SourceKind) -> &'static str {
    crate::executor::kind_word(kind)
}

impl KsqlServer {
    /// Runs every statement of `sql` under `properties`.
    pub async fn run_statements(
        &self,
        sql: &str,
        properties: &HashMap<String, String>,
    ) -> Result<Vec<Json>, StatementFailure> {
        let mut properties = properties.clone();
        let mut entities = Vec::new();
        for text in split_statements(sql) {
            let fail = |code: u32, error: String, entities: &Vec<Json>| StatementFailure {
                code,
                message: error,
                statement_text: text.to_string(),
                entities: entities.clone(),
            };
            let statements =
                parse(text).map_err(|e| fail(BAD_STATEMENT, e.to_string(), &entities))?;
            for statement in statements {
                match self.run_one(&statement, text, &mut properties).await {
                    Ok(Some(entity)) => entities.push(entity),
                    Ok(None) => {}
                    Err((code, error)) => {
                        self.metrics.statements.with_label_values(&["error"]).inc();
                        return Err(fail(code, error.message, &entities));
                    }
                }
                self.metrics
                    .statements
                    .with_label_values(&["success"])
                    .inc();
            }
        }
        Ok(entities)
    }

    async fn run_one(
        &self,
        statement: &Statement,
        text: &str,
        properties: &mut HashMap<String, String>,
    ) -> Result<Option<Json>, (u32, KsqlError)> {
        let bad = |error: KsqlError| (BAD_STATEMENT, error);
        match statement {
            Statement::Query(_) | Statement::Print(_) => Err((
                QUERY_ENDPOINT,
                KsqlError::statement(
                    "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT",
                ),
            )),
            Statement::SetProperty { name, value } => {
                properties.insert(name.clone(), value.clone());
                Ok(None)
            }
            Statement::UnsetProperty { name } => {
                properties.remove(name);
                Ok(None)
            }
            Statement::Show(show) => {
                let topics = self.io.topics().await.map_err(|e| (SERVER_ERROR, KsqlError::statement(e.to_string())))?;
                let engine = self.engine.lock().await;
                let mut listed: Vec<(String, String)> = self
                    .config
                    .properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                listed.extend(properties.iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(Some(listing::show(show, text, &engine, &topics, &listed)))
            }
            Statement::Describe(describe) => {
                let topics = self.io.topics().await.map_err(|e| (SERVER_ERROR, KsqlError::statement(e.to_string())))?;
                let engine = self.engine.lock().await;
                listing::describe(describe, text, &engine, &topics).map(Some).map_err(bad)
            }
            command => {
                let topics = self.io.topics().await.map_err(|e| (SERVER_ERROR, KsqlError::statement(e.to_string())))?;
                let mut engine = self.engine.lock().await;
                let (outcome, effects) = engine.execute(command, text, &topics, properties).map_err(bad)?;
                self.apply(effects, &engine, properties, Mode::New).await.map_err(bad)?;
                if !matches!(command, Statement::InsertValues(_)) {
                    commands::append(self, text, properties).await.map_err(|e| (SERVER_ERROR, e))?;
                }
                let Outcome::Status { message, query_id } = outcome;
                if matches!(command, Statement::InsertValues(_)) {
                    return Ok(None);
                }
                Ok(Some(json!({
                    "@type": "currentStatus",
                    "statementText": text,
                    "commandId": command_id(command),
                    "commandStatus": { "status": "SUCCESS", "message": message, "queryId": query_id },
                    "commandSequenceNumber": engine.command_count.saturating_sub(1),
                    "warnings": [],
                })))
            }
        }
    }
}
