//! The KsqlStream reconciler's decisions: from a `KsqlStream` resource and the ksql server
//! as observed (its streams, tables and persistent queries), the statements to run and the
//! status to report once they ran.
//!
//! What ksqlDB users expect, and what this decides:
//! - An absent source is created by submitting the resource's statement, again when it was
//!   dropped outside the operator; a statement ksql refuses is reported with ksql's own
//!   message (`Ready=False`, [`reason::STATEMENT_FAILED`]) and submitted again on the next
//!   resync, as it may depend on a source another resource has yet to create.
//! - The statement is never edited in place (ksql cannot change a running query), so an
//!   existing source this resource manages is only observed: its type, and for a
//!   CREATE ... AS SELECT the id and state of the query writing into it. A query in `ERROR`
//!   (or not running at all) makes `Ready=False`.
//! - A source this resource did not create is left alone (`NotOwned`) unless the resource
//!   asks to adopt it with the annotation [`ADOPT_ANNOTATION`], as a `Topic` does; a source
//!   of the other type (a TABLE where the statement creates a STREAM) is never adopted.
//! - Deleting the resource ([`plan_delete`]) terminates the queries writing into its source,
//!   then drops it, with `DELETE TOPIC` when `spec.deleteTopicOnDelete`. Only a source this
//!   resource manages is dropped. Queries of other sources that read from it are not
//!   terminated: ksql refuses the drop with a message naming them, and the deletion waits
//!   until they are gone.
//!
//! Ownership is recorded in the status: `status.sourceName` is set once this resource
//! creates or adopts the source. ksql gives a source no identity beyond its name, so a
//! source dropped and created again by hand under the same name and type is taken as this
//! resource's own.
//!
//! [`rest`] is the thin layer that observes the ksql server and runs a plan's statements
//! over its REST API.

pub mod rest;
mod statement;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

/// The annotation that lets a `KsqlStream` take over a source it did not create, when its
/// value is `"true"`: the same one a `Topic` takes.
pub use super::topic::ADOPT_ANNOTATION;
pub use statement::{parse, quote_identifier, Statement, StatementError};

use super::condition::{ready, set_condition};
use crate::resources::ksql_stream::{validate, SourceType, SQL_IMMUTABLE};
use crate::resources::{KsqlStream, KsqlStreamStatus};

/// The finalizer that keeps a deleted `KsqlStream` until its source is dropped.
pub const FINALIZER: &str = "potok.dev/ksqlstream";

/// ksql's state of a persistent query that runs (`KsqlQueryStatus` in ksqlDB).
pub const QUERY_RUNNING: &str = "RUNNING";
/// ksql's state of a persistent query that stopped on an error.
pub const QUERY_ERROR: &str = "ERROR";

/// The reasons of the `Ready` condition of a `KsqlStream`.
pub mod reason {
    /// The statement was submitted and ksql accepted it.
    pub const CREATED: &str = "Created";
    /// The source exists as the statement made it.
    pub const UP_TO_DATE: &str = "UpToDate";
    /// An existing source was taken over through the adopt annotation.
    pub const ADOPTED: &str = "Adopted";
    /// The spec breaks the KsqlStream's rules.
    pub const INVALID: &str = "Invalid";
    /// ksql refused the statement; the message is ksql's own.
    pub const STATEMENT_FAILED: &str = "StatementFailed";
    /// The source exists but was not created by this resource.
    pub const NOT_OWNED: &str = "NotOwned";
    /// A source of the same name but the other type exists.
    pub const CONFLICT: &str = "Conflict";
    /// The source's persistent query is in ksql's `ERROR` state.
    pub const QUERY_FAILED: &str = "QueryFailed";
    /// The source's persistent query is missing or in a state other than `RUNNING`.
    pub const QUERY_NOT_RUNNING: &str = "QueryNotRunning";
    /// The ksql server did not answer.
    pub const KSQL_UNAVAILABLE: &str = "KsqlUnavailable";
    /// The ksql server answered with something other than ksqlDB's JSON.
    pub const UNEXPECTED_ANSWER: &str = "UnexpectedAnswer";
}

/// A stream or table on the ksql server (`SHOW STREAMS`, `SHOW TABLES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSource {
    pub name: String,
    pub source_type: SourceType,
    /// The Kafka topic it reads or writes.
    pub topic: String,
}

/// A persistent query on the ksql server (`SHOW QUERIES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedQuery {
    pub id: String,
    /// ksql's state: `RUNNING`, `ERROR`, ...
    pub state: String,
    /// The sources it writes into.
    pub sinks: Vec<String>,
}

/// What the ksql server runs, as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedServer {
    pub sources: Vec<ObservedSource>,
    pub queries: Vec<ObservedQuery>,
}

impl ObservedServer {
    pub fn source(&self, name: &str) -> Option<&ObservedSource> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The queries writing into the source `name`.
    pub fn writers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ObservedQuery> {
        self.queries
            .iter()
            .filter(move |q| q.sinks.iter().any(|sink| sink == name))
    }
}

/// One statement to run on the ksql server, in the order a plan lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KsqlStreamAction {
    /// The resource's own statement.
    Submit { sql: String },
    /// `TERMINATE <query id>`.
    Terminate { query_id: String },
    /// `DROP STREAM|TABLE <name> [DELETE TOPIC]`.
    Drop {
        name: String,
        source_type: SourceType,
        delete_topic: bool,
    },
}

impl KsqlStreamAction {
    /// The statement as sent to `/ksql`, ending with `;`.
    pub fn statement(&self) -> String {
        match self {
            KsqlStreamAction::Submit { sql } => {
                let sql = sql.trim().trim_end_matches(';').trim_end();
                format!("{sql};")
            }
            KsqlStreamAction::Terminate { query_id } => format!("TERMINATE {query_id};"),
            KsqlStreamAction::Drop {
                name,
                source_type,
                delete_topic,
            } => {
                let delete_topic = if *delete_topic { " DELETE TOPIC" } else { "" };
                format!(
                    "DROP {} {}{delete_topic};",
                    type_word(*source_type),
                    quote_identifier(name)
                )
            }
        }
    }
}

/// What to do for one `KsqlStream`, and what its status is once it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct KsqlStreamPlan {
    pub actions: Vec<KsqlStreamAction>,
    pub status: KsqlStreamStatus,
}

/// `STREAM` or `TABLE`, as statements and ksql's listings spell it.
pub fn type_word(source_type: SourceType) -> &'static str {
    match source_type {
        SourceType::Stream => "STREAM",
        SourceType::Table => "TABLE",
    }
}

/// Decides what to do for `stream` given what the ksql server runs, as of `now`.
pub fn plan(stream: &KsqlStream, observed: &ObservedServer, now: &Time) -> KsqlStreamPlan {
    let generation = stream.metadata.generation;
    let mut status = stream.status.clone().unwrap_or_default();
    let decision = decide(stream, &status, observed);
    status.observed_generation = generation;
    if let Some(managed) = decision.managed {
        status.source_name = Some(managed.name);
        status.source_type = Some(managed.source_type);
        status.query_id = managed.query_id;
        status.query_state = managed.query_state;
    }
    let condition = ready(
        decision.ready,
        decision.reason,
        decision.message,
        generation,
        now,
    );
    set_condition(&mut status.conditions, condition);
    KsqlStreamPlan {
        actions: decision.actions,
        status,
    }
}

/// Records in `status` the query a submitted statement started, as ksql's answer named it
/// (`commandStatus.queryId`); its state is known once the query is observed.
pub fn record_started_query(status: &mut KsqlStreamStatus, query_id: Option<String>) {
    if query_id.is_some() {
        status.query_id = query_id;
        status.query_state = None;
    }
}

/// The status of `stream` when a reconcile failed with `reason` and `message` before its
/// plan was carried out: `Ready=False`, and the last seen source as it was.
pub fn failed(stream: &KsqlStream, reason: &str, message: String, now: &Time) -> KsqlStreamStatus {
    let generation = stream.metadata.generation;
    let mut status = stream.status.clone().unwrap_or_default();
    status.observed_generation = generation;
    set_condition(
        &mut status.conditions,
        ready(false, reason, message, generation, now),
    );
    status
}

/// The statements that remove what `stream` made, before its finalizer goes: terminate the
/// queries writing into its source, then drop the source. Nothing when the source is gone
/// already or is not this resource's to drop.
pub fn plan_delete(stream: &KsqlStream, observed: &ObservedServer) -> Vec<KsqlStreamAction> {
    let status = stream.status.clone().unwrap_or_default();
    let Some(name) = status.source_name else {
        return Vec::new();
    };
    let Some(source) = observed.source(&name) else {
        return Vec::new();
    };
    if status
        .source_type
        .is_some_and(|recorded| recorded != source.source_type)
    {
        return Vec::new();
    }
    let mut actions: Vec<KsqlStreamAction> = observed
        .writers(&name)
        .map(|query| KsqlStreamAction::Terminate {
            query_id: query.id.clone(),
        })
        .collect();
    actions.push(KsqlStreamAction::Drop {
        name,
        source_type: source.source_type,
        delete_topic: stream.spec.delete_topic_on_delete,
    });
    actions
}

/// The outcome of one reconcile before it is written into the status.
struct Decision {
    actions: Vec<KsqlStreamAction>,
    ready: bool,
    reason: &'static str,
    message: String,
    /// The source once the actions are done, when this resource manages it; `None` leaves
    /// the status' description of the source as it was.
    managed: Option<Managed>,
}

struct Managed {
    name: String,
    source_type: SourceType,
    query_id: Option<String>,
    query_state: Option<String>,
}

impl Decision {
    /// Nothing to do: the resource cannot be reconciled as it stands.
    fn refuse(reason: &'static str, message: String) -> Decision {
        Decision {
            actions: Vec::new(),
            ready: false,
            reason,
            message,
            managed: None,
        }
    }
}

fn decide(stream: &KsqlStream, previous: &KsqlStreamStatus, observed: &ObservedServer) -> Decision {
    if let Err(message) = validate(&stream.spec) {
        return Decision::refuse(reason::INVALID, message);
    }
    let statement = match parse(&stream.spec.sql) {
        Ok(statement) => statement,
        Err(error) => return Decision::refuse(reason::INVALID, error.to_string()),
    };
    let name = &statement.source_name;
    let renamed = previous.source_name.as_ref().is_some_and(|n| n != name);
    let retyped = previous
        .source_type
        .is_some_and(|t| t != statement.source_type);
    if renamed || retyped {
        return Decision::refuse(reason::INVALID, SQL_IMMUTABLE.into());
    }
    let Some(live) = observed.source(name) else {
        return submit(stream, &statement, previous);
    };
    if live.source_type != statement.source_type {
        return Decision::refuse(
            reason::CONFLICT,
            format!(
                "{name} is a {} on the ksql server but spec.sql creates a {}; drop it there or create the {} under another name",
                type_word(live.source_type),
                type_word(statement.source_type),
                type_word(statement.source_type)
            ),
        );
    }
    match ownership(stream, name, previous) {
        Ok(ownership) => observe_managed(&statement, previous, observed, ownership),
        Err(message) => Decision::refuse(reason::NOT_OWNED, message),
    }
}

fn submit(stream: &KsqlStream, statement: &Statement, previous: &KsqlStreamStatus) -> Decision {
    let name = &statement.source_name;
    let kind = type_word(statement.source_type).to_ascii_lowercase();
    let message = if previous.source_name.is_some() {
        format!("created {kind} {name} again: it was dropped outside the operator")
    } else {
        format!("created {kind} {name}")
    };
    Decision {
        actions: vec![KsqlStreamAction::Submit {
            sql: stream.spec.sql.clone(),
        }],
        ready: true,
        reason: reason::CREATED,
        message,
        managed: Some(Managed {
            name: name.clone(),
            source_type: statement.source_type,
            query_id: None,
            query_state: None,
        }),
    }
}

/// How this resource comes to manage a live source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// It created the source (or adopted it before).
    Created,
    /// It takes the source over now, through the adopt annotation.
    Adopting,
}

/// Whether this resource manages the live source `name`, or why not.
fn ownership(
    stream: &KsqlStream,
    name: &str,
    previous: &KsqlStreamStatus,
) -> Result<Ownership, String> {
    if previous.source_name.as_deref() == Some(name) {
        return Ok(Ownership::Created);
    }
    if stream
        .annotations()
        .get(ADOPT_ANNOTATION)
        .map(String::as_str)
        == Some("true")
    {
        return Ok(Ownership::Adopting);
    }
    Err(format!(
        "{name} already exists on the ksql server and was not created by this KsqlStream; to manage it from this KsqlStream (deleting the resource then drops it), add the annotation {ADOPT_ANNOTATION}: \"true\""
    ))
}

/// A live source this resource manages: nothing to run, only its query to report.
fn observe_managed(
    statement: &Statement,
    previous: &KsqlStreamStatus,
    observed: &ObservedServer,
    ownership: Ownership,
) -> Decision {
    let name = &statement.source_name;
    let kind = type_word(statement.source_type).to_ascii_lowercase();
    let (reason, message) = match ownership {
        Ownership::Adopting => (reason::ADOPTED, format!("adopted {kind} {name}")),
        Ownership::Created => (reason::UP_TO_DATE, format!("{kind} {name} exists")),
    };
    let mut managed = Managed {
        name: name.clone(),
        source_type: statement.source_type,
        query_id: None,
        query_state: None,
    };
    if !statement.runs_query {
        return Decision {
            actions: Vec::new(),
            ready: true,
            reason,
            message,
            managed: Some(managed),
        };
    }
    let Some(query) = creating_query(name, previous, observed) else {
        managed.query_id = previous.query_id.clone();
        return Decision {
            actions: Vec::new(),
            ready: false,
            reason: reason::QUERY_NOT_RUNNING,
            message: format!(
                "no query writes into {kind} {name}: it was terminated outside the operator; delete this KsqlStream and create it again to run the statement's query"
            ),
            managed: Some(managed),
        };
    };
    managed.query_id = Some(query.id.clone());
    managed.query_state = Some(query.state.clone());
    let (ready, reason, message) = match query.state.as_str() {
        QUERY_RUNNING => (true, reason, format!("{message}; query {} is running", query.id)),
        QUERY_ERROR => (
            false,
            reason::QUERY_FAILED,
            format!(
                "query {} writing into {kind} {name} is in ksql's ERROR state; its errors are in ksql's processing log",
                query.id
            ),
        ),
        other => (
            false,
            reason::QUERY_NOT_RUNNING,
            format!("query {} writing into {kind} {name} is {other}", query.id),
        ),
    };
    Decision {
        actions: Vec::new(),
        ready,
        reason,
        message,
        managed: Some(managed),
    }
}

/// The query the statement started among those writing into `name`: the one recorded
/// before, else ksql's `CSAS_`/`CTAS_` query (INSERT INTO queries write into it too), else
/// the first.
fn creating_query<'a>(
    name: &'a str,
    previous: &KsqlStreamStatus,
    observed: &'a ObservedServer,
) -> Option<&'a ObservedQuery> {
    let writers: Vec<&ObservedQuery> = observed.writers(name).collect();
    let recorded = writers
        .iter()
        .find(|q| previous.query_id.as_deref() == Some(q.id.as_str()));
    let created_as_select = writers
        .iter()
        .find(|q| q.id.starts_with("CSAS_") || q.id.starts_with("CTAS_"));
    recorded.or(created_as_select).or(writers.first()).copied()
}

#[cfg(test)]
mod tests;
