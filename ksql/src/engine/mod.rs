//! The streaming engine: a planned query run record by record. `Pipeline::process` takes a
//! source record with its key and value already deserialized and returns the rows to
//! write; reading topics, (de)serializing and writing sink topics happen around it, so the
//! same pipeline serves persistent queries, push queries and the conformance harness.

mod aggregate;
mod join;
mod state_json;
#[cfg(test)]
mod tests;
mod window;

use std::collections::HashSet;

use crate::catalog::{Catalog, Source};
use crate::expr::{EvalError, TypedExpr};
use crate::parser::ast::SourceKind;
use crate::plan::{QueryPlan, Shape};
use crate::schema::ColumnKind;
use crate::value::{Row, Value};

pub use aggregate::{AggregateState, StateChange};
pub use join::Side;

use join::{JoinState, Joined};

/// A window's bounds in milliseconds, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowBounds {
    pub start: i64,
    pub end: i64,
}

/// A record of the source, deserialized.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub key: Row,
    /// None for a tombstone (a table row's deletion).
    pub value: Option<Row>,
    pub timestamp: i64,
    pub partition: i32,
    pub offset: i64,
    /// Set when the source's keys are windowed.
    pub window: Option<WindowBounds>,
}

/// A row the query emits: key and value columns, or a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRow {
    pub key: Row,
    pub value: Option<Row>,
    pub timestamp: i64,
    pub window: Option<WindowBounds>,
}

/// One running query.
pub struct Pipeline {
    plan: QueryPlan,
    aggregate: Option<AggregateState>,
    join: Option<JoinState>,
    /// Keys a table-valued join has a row for: a row the filter drops is deleted only if
    /// it was there.
    joined_keys: HashSet<String>,
}

impl Pipeline {
    pub fn new(plan: QueryPlan) -> Pipeline {
        let aggregate = match &plan.shape {
            Shape::Aggregate(aggregate) => {
                Some(AggregateState::new(aggregate.clone(), plan.source_kind))
            }
            Shape::Project => None,
        };
        let join = plan
            .join
            .clone()
            .map(|join| JoinState::new(join, plan.source_kind));
        Pipeline {
            plan,
            aggregate,
            join,
            joined_keys: HashSet::new(),
        }
    }

    pub fn plan(&self) -> &QueryPlan {
        &self.plan
    }

    /// Runs one record of the input `side` through the query (a query without a join reads
    /// only its left side).
    pub fn process(
        &mut self,
        side: Side,
        record: &SourceRecord,
    ) -> Result<Vec<OutputRow>, EvalError> {
        if let Some(join) = &mut self.join {
            let mut outputs = Vec::new();
            for joined in join.process(side, record)? {
                let Some(output) = finish_join(&self.plan, joined)? else {
                    continue;
                };
                if self.plan.result_kind == SourceKind::Table {
                    let key = format!("{:?}", output.key);
                    let known = match output.value {
                        Some(_) => {
                            self.joined_keys.insert(key);
                            true
                        }
                        None => self.joined_keys.remove(&key),
                    };
                    if !known {
                        continue;
                    }
                }
                outputs.push(output);
            }
            return Ok(outputs);
        }
        // A table row needs its key: ksqlDB drops table records with a NULL key.
        if self.plan.source_kind == SourceKind::Table && record.key.iter().any(Value::is_null) {
            return Ok(Vec::new());
        }
        let row = source_row(record);
        match &mut self.aggregate {
            Some(state) => {
                let rows = state.process(record, row.as_deref(), self.plan.filter.as_ref())?;
                rows.into_iter()
                    .map(|(aggregate_row, timestamp, window)| {
                        finish(&self.plan, &aggregate_row, timestamp, window)
                    })
                    .collect()
            }
            None => self.project(record, row),
        }
    }

    /// The rows a client sees for one record, each marked when it is a tombstone: a table's
    /// deleted row shows with its key and NULL values, as ksqlDB's push queries show it;
    /// rows a filter or HAVING drops are simply not sent.
    pub fn client_rows(
        &mut self,
        side: Side,
        record: &SourceRecord,
    ) -> Result<Vec<(Row, bool)>, EvalError> {
        let deleting = record.value.is_none()
            && self.plan.source_kind == SourceKind::Table
            && self.plan.join.is_none()
            && matches!(self.plan.shape, Shape::Project);
        let mut rows = Vec::new();
        for output in self.process(side, record)? {
            match output.value {
                Some(values) => rows.push((values, false)),
                None if deleting => {
                    let row = null_row(record, self.plan.value_columns);
                    let values = self
                        .plan
                        .output
                        .iter()
                        .map(|column| column.expr.eval(&row))
                        .collect::<Result<Row, _>>()?;
                    rows.push((values, true));
                }
                None => {}
            }
        }
        Ok(rows)
    }

    /// The aggregation state changed since the last call, as changelog entries (none for a
    /// projection, which keeps no state).
    pub fn drain_changes(&mut self) -> Vec<StateChange> {
        let mut changes = self
            .aggregate
            .as_mut()
            .map_or_else(Vec::new, AggregateState::drain_changes);
        if let Some(join) = &mut self.join {
            changes.extend(join.drain_changes());
        }
        changes
    }

    /// Applies a changelog entry read back when the query restarts.
    pub fn restore(&mut self, key: &str, content: Option<&serde_json::Value>) {
        match (&mut self.join, &mut self.aggregate) {
            (Some(join), _) if join::is_join_key(key) => join.restore(key, content),
            (_, Some(state)) => state.restore(key, content),
            _ => {}
        }
    }

    /// Whether the query keeps state that must survive a restart.
    pub fn is_stateful(&self) -> bool {
        self.aggregate.is_some() || self.join.is_some()
    }

    /// The current rows of an aggregating query's table (None for a projection, which keeps
    /// no state): what a pull query against its sink reads.
    pub fn materialized(&self) -> Option<Result<Vec<OutputRow>, EvalError>> {
        let state = self.aggregate.as_ref()?;
        let rows = state
            .materialized()
            .into_iter()
            .map(|(row, timestamp, window)| finish(&self.plan, &row, timestamp, window))
            .filter(|row| !matches!(row, Ok(OutputRow { value: None, .. })))
            .collect();
        Some(rows)
    }

    fn project(
        &self,
        record: &SourceRecord,
        row: Option<Row>,
    ) -> Result<Vec<OutputRow>, EvalError> {
        let passes = match (&row, &self.plan.filter) {
            (Some(row), Some(filter)) => filter.eval(row)? == Value::Boolean(true),
            _ => true,
        };
        // A stream record without a value has nothing to filter on: a filtered stream drops it.
        if row.is_none()
            && self.plan.filter.is_some()
            && self.plan.source_kind == SourceKind::Stream
        {
            return Ok(Vec::new());
        }
        let deleting = row.is_none() || !passes;
        if deleting && self.plan.source_kind == SourceKind::Stream && !passes {
            return Ok(Vec::new());
        }
        let keyed_row = row.unwrap_or_else(|| null_row(record, self.plan.value_columns));
        let output = if deleting {
            let key = evaluate(&self.plan, &keyed_row, Some(&ColumnKind::Key))?;
            OutputRow {
                key,
                value: None,
                timestamp: record.timestamp,
                window: record.window,
            }
        } else {
            OutputRow {
                key: evaluate(&self.plan, &keyed_row, Some(&ColumnKind::Key))?,
                value: Some(evaluate(&self.plan, &keyed_row, None)?),
                timestamp: record.timestamp,
                window: record.window,
            }
        };
        Ok(vec![output])
    }
}

/// The output row of one join result: keys are computed with the join key written into
/// the key positions (a missing side's key column still names the row), values from the
/// joined row as it is; the filter drops a stream's row and deletes a table's.
fn finish_join(plan: &QueryPlan, joined: Joined) -> Result<Option<OutputRow>, EvalError> {
    let positions = plan.join.as_ref().map_or(&[][..], |j| &j.key_positions[..]);
    let mut keyed = joined.row.clone();
    for position in positions {
        if let Some(slot) = keyed.get_mut(*position) {
            *slot = joined.key.clone();
        }
    }
    let key = evaluate(plan, &keyed, Some(&ColumnKind::Key))?;
    let passes = !joined.deleted
        && match &plan.filter {
            Some(filter) => filter.eval(&joined.row)? == Value::Boolean(true),
            None => true,
        };
    let value = match (passes, plan.result_kind) {
        (true, _) => Some(evaluate(plan, &joined.row, None)?),
        (false, SourceKind::Stream) => return Ok(None),
        (false, SourceKind::Table) => None,
    };
    Ok(Some(OutputRow {
        key,
        value,
        timestamp: joined.timestamp,
        window: joined.window,
    }))
}

/// The sources a query reads, each with the side of the pipeline it feeds (a query
/// without a join reads only its left side); None when one is no longer in the catalog.
pub fn input_sources(plan: &QueryPlan, catalog: &Catalog) -> Option<Vec<(Side, Source)>> {
    plan.inputs()
        .into_iter()
        .zip([Side::Left, Side::Right])
        .map(|(name, side)| catalog.get(name).map(|source| (side, source.clone())))
        .collect()
}

impl From<OutputRow> for SourceRecord {
    /// A materialized table's row read back as a record of that table, as a pull query
    /// over it reads it.
    fn from(row: OutputRow) -> SourceRecord {
        SourceRecord {
            key: row.key,
            value: row.value,
            timestamp: row.timestamp,
            partition: 0,
            offset: 0,
            window: row.window,
        }
    }
}

/// A table's current rows from its topic's records: the latest record of each key (and
/// window), a tombstone removing its key; in partition order, then by key.
pub fn current_rows(records: impl IntoIterator<Item = SourceRecord>) -> Vec<SourceRecord> {
    let mut rows: std::collections::BTreeMap<(i32, String), SourceRecord> =
        std::collections::BTreeMap::new();
    for record in records {
        let identity = (
            record.partition,
            format!("{:?}{:?}", record.key, record.window),
        );
        match record.value {
            Some(_) => {
                rows.insert(identity, record);
            }
            None => {
                rows.remove(&identity);
            }
        }
    }
    rows.into_values().collect()
}

/// The source row: keys, values, ROWTIME, ROWPARTITION, ROWOFFSET, window bounds.
fn source_row(record: &SourceRecord) -> Option<Row> {
    let value = record.value.as_ref()?;
    let mut row = Vec::with_capacity(record.key.len() + value.len() + 5);
    row.extend(record.key.iter().cloned());
    row.extend(value.iter().cloned());
    push_pseudo_columns(&mut row, record);
    Some(row)
}

fn push_pseudo_columns(row: &mut Row, record: &SourceRecord) {
    row.push(Value::Bigint(record.timestamp));
    row.push(Value::Integer(record.partition));
    row.push(Value::Bigint(record.offset));
    if let Some(window) = record.window {
        row.push(Value::Bigint(window.start));
        row.push(Value::Bigint(window.end));
    }
}

/// The row of a tombstone, from which only the output key is computed: the key, NULL for
/// each of the source's `value_columns`, then the pseudocolumns in their places.
fn null_row(record: &SourceRecord, value_columns: usize) -> Row {
    let mut row = record.key.clone();
    row.resize(row.len() + value_columns, Value::Null);
    push_pseudo_columns(&mut row, record);
    row
}

/// Evaluates the output columns of one kind (keys), or of every other kind (values).
fn evaluate(plan: &QueryPlan, row: &[Value], kind: Option<&ColumnKind>) -> Result<Row, EvalError> {
    plan.output
        .iter()
        .filter(|column| match kind {
            Some(kind) => &column.kind == kind,
            None => column.kind != ColumnKind::Key,
        })
        .map(|column| column.expr.eval(row))
        .collect()
}

/// The output row of a group's new aggregate row; a tombstone when HAVING no longer holds.
fn finish(
    plan: &QueryPlan,
    row: &[Value],
    timestamp: i64,
    window: Option<WindowBounds>,
) -> Result<OutputRow, EvalError> {
    let Shape::Aggregate(aggregate) = &plan.shape else {
        return Err(EvalError("not an aggregation".into()));
    };
    let key = evaluate(plan, row, Some(&ColumnKind::Key))?;
    let kept = match &aggregate.having {
        Some(having) => having_holds(having, row)?,
        None => true,
    };
    let value = if kept {
        Some(evaluate(plan, row, None)?)
    } else {
        None
    };
    Ok(OutputRow {
        key,
        value,
        timestamp,
        window,
    })
}

fn having_holds(having: &TypedExpr, row: &[Value]) -> Result<bool, EvalError> {
    Ok(having.eval(row)? == Value::Boolean(true))
}
