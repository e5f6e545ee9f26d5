//! Executing statements against the server's state: the catalog of streams and tables, the
//! persistent queries and the command counter that numbers them. Execution checks
//! everything and changes the state, then returns what the caller must do outside (create
//! or delete topics, start or stop queries, produce records) as `Effect`s, so the same code
//! serves the server (over Kafka) and the conformance harness (in memory).

mod create_source;
mod drop_terminate;
mod persistent;
pub mod properties;

use std::collections::{BTreeMap, HashMap};

use crate::catalog::Catalog;
use crate::parser::ast::{SourceKind, Statement};
use crate::plan::QueryPlan;

/// A statement that failed, with ksqlDB's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KsqlError {
    pub message: String,
}

impl KsqlError {
    pub fn statement(message: impl Into<String>) -> Self {
        KsqlError {
            message: message.into(),
        }
    }
}

impl From<crate::plan::PlanError> for KsqlError {
    fn from(error: crate::plan::PlanError) -> Self {
        KsqlError::statement(error.0)
    }
}

impl From<crate::expr::ExprError> for KsqlError {
    fn from(error: crate::expr::ExprError) -> Self {
        KsqlError::statement(error.0)
    }
}

/// What the caller knows of the Kafka topics: partitions per existing topic.
pub type Topics = HashMap<String, i32>;

/// A query writing into a stream or table until terminated.
#[derive(Debug, Clone)]
pub struct PersistentQuery {
    pub id: String,
    pub statement: String,
    pub plan: QueryPlan,
    /// The sink written, by catalog name (the plan names the sources read).
    pub sink: String,
}

/// Work outside the engine that a statement requires, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    CreateTopic {
        name: String,
        partitions: i32,
        replicas: Option<i16>,
    },
    DeleteTopic(String),
    StartQuery(String),
    StopQuery(String),
    Produce {
        topic: String,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: Option<i64>,
    },
}

/// What a statement did, for the REST response.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A DDL or DML command: ksqlDB's `currentStatus` with its message.
    Status {
        message: String,
        query_id: Option<String>,
    },
}

/// The engine's state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub catalog: Catalog,
    pub queries: BTreeMap<String, PersistentQuery>,
    /// Counts executed commands; query ids end with it (`CTAS_PAYMENTS_TABLE_3`).
    pub command_count: u64,
    /// Server properties (`ksql.persistence.default.format.value`, ...).
    pub config: HashMap<String, String>,
}

/// The property naming the default value format.
pub const DEFAULT_VALUE_FORMAT: &str = "ksql.persistence.default.format.value";
/// The property naming the default key format (KAFKA unless set).
pub const DEFAULT_KEY_FORMAT: &str = "ksql.persistence.default.format.key";

impl Engine {
    /// Executes one command statement; `text` is how the user wrote it.
    pub fn execute(
        &mut self,
        statement: &Statement,
        text: &str,
        topics: &Topics,
        overrides: &HashMap<String, String>,
    ) -> Result<(Outcome, Vec<Effect>), KsqlError> {
        let config = |name: &str| {
            overrides
                .get(name)
                .or_else(|| self.config.get(name))
                .cloned()
        };
        let defaults = Defaults {
            value_format: config(DEFAULT_VALUE_FORMAT),
            key_format: config(DEFAULT_KEY_FORMAT).unwrap_or_else(|| "KAFKA".into()),
        };
        let result = match statement {
            Statement::CreateSource(create) => {
                create_source::execute(self, create, text, topics, &defaults)
            }
            Statement::CreateAsSelect(create) => {
                persistent::create_as_select(self, create, text, topics, &defaults)
            }
            Statement::InsertInto(insert) => persistent::insert_into(self, insert, text),
            Statement::InsertValues(insert) => persistent::insert_values(self, insert),
            Statement::Drop(drop) => drop_terminate::drop(self, drop),
            Statement::Terminate(terminate) => drop_terminate::terminate(self, terminate),
            Statement::AlterSource(alter) => drop_terminate::alter(self, alter),
            other => Err(KsqlError::statement(format!(
                "Statement not executable as a command: {other}"
            ))),
        }?;
        // INSERT ... VALUES writes a record, not a command: it takes no sequence number.
        if !matches!(statement, Statement::InsertValues(_)) {
            self.command_count += 1;
        }
        Ok(result)
    }

    /// The queries reading from and writing into `source`.
    pub fn queries_touching(&self, source: &str) -> (Vec<&str>, Vec<&str>) {
        let reading = self
            .queries
            .values()
            .filter(|q| q.plan.inputs().contains(&source))
            .map(|q| q.id.as_str())
            .collect();
        let writing = self
            .queries
            .values()
            .filter(|q| q.sink == source)
            .map(|q| q.id.as_str())
            .collect();
        (reading, writing)
    }
}

/// Defaults that WITH clauses fall back on.
pub struct Defaults {
    pub value_format: Option<String>,
    pub key_format: String,
}

/// `stream` / `table` as ksqlDB's messages write them.
pub fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

/// `Stream` / `Table`, capitalised for status messages.
pub fn kind_title(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}
