//! Grouped aggregation state. A stream record is folded into its group (and each window it
//! falls in); a table record first takes the key's previous row back out of its group, then
//! adds the new one, so counts can fall back to zero as in ksqlDB. Every change yields the
//! group's new aggregate row: `[group values..., results..., WINDOWSTART, WINDOWEND]`.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value as Json};

use crate::expr::{compare_values, EvalError, TypedExpr};
use crate::parser::ast::SourceKind;
use crate::plan::AggregatePlan;
use crate::value::{Row, Value};

use super::state_json;
use super::window::{is_closed, windows_for};
use super::{SourceRecord, WindowBounds};

/// A hashable identity for a list of values and its window.
fn identity(values: &[Value], window: Option<WindowBounds>) -> String {
    let mut identity = String::with_capacity(32);
    for value in values {
        value.write_identity(&mut identity);
    }
    if let Some(window) = window {
        use std::fmt::Write;
        let _ = write!(identity, "@{}-{}", window.start, window.end);
    }
    identity
}

/// One group's running state.
struct Group {
    values: Row,
    states: Vec<Value>,
    window: Option<WindowBounds>,
    /// The timestamp of the record that last changed the group (its ROWTIME).
    timestamp: i64,
}

/// An aggregate row to emit, with its timestamp and window.
pub type Emitted = (Row, i64, Option<WindowBounds>);

pub struct AggregateState {
    plan: AggregatePlan,
    source_kind: SourceKind,
    groups: HashMap<String, Group>,
    /// A table source's current row per key, to take back when the key changes.
    table_rows: HashMap<String, Row>,
    /// The largest timestamp seen: windows whose end plus grace is behind it are closed.
    stream_time: i64,
    /// Groups and table rows changed since the changes were last drained.
    changed_groups: BTreeSet<String>,
    changed_rows: BTreeSet<String>,
}

/// One entry of the state's changelog: a key and its new content (None: removed).
pub type StateChange = (String, Option<Json>);

/// Changelog keys: a group, a table source's row, and the stream time.
const GROUP_PREFIX: &str = "g:";
const ROW_PREFIX: &str = "r:";
const STREAM_TIME_KEY: &str = "$stream_time";

fn encode_row(row: &[Value]) -> Json {
    Json::Array(row.iter().map(state_json::encode).collect())
}

fn decode_row(json: Option<&Json>) -> Option<Row> {
    json?.as_array()?.iter().map(state_json::decode).collect()
}

impl AggregateState {
    pub fn new(plan: AggregatePlan, source_kind: SourceKind) -> Self {
        AggregateState {
            plan,
            source_kind,
            groups: HashMap::new(),
            table_rows: HashMap::new(),
            stream_time: i64::MIN,
            changed_groups: BTreeSet::new(),
            changed_rows: BTreeSet::new(),
        }
    }

    /// What changed since the last call, as changelog entries; the stream time comes last.
    pub fn drain_changes(&mut self) -> Vec<StateChange> {
        let mut changes = Vec::new();
        for identity in std::mem::take(&mut self.changed_groups) {
            let content = self.groups.get(&identity).map(|group| {
                json!({
                    "values": encode_row(&group.values),
                    "states": encode_row(&group.states),
                    "window": group.window.map(|w| [w.start, w.end]),
                    "timestamp": group.timestamp,
                })
            });
            changes.push((format!("{GROUP_PREFIX}{identity}"), content));
        }
        for identity in std::mem::take(&mut self.changed_rows) {
            let content = self.table_rows.get(&identity).map(|row| encode_row(row));
            changes.push((format!("{ROW_PREFIX}{identity}"), content));
        }
        if !changes.is_empty() {
            changes.push((STREAM_TIME_KEY.into(), Some(json!(self.stream_time))));
        }
        changes
    }

    /// Applies one changelog entry read back at start; unreadable entries are skipped.
    pub fn restore(&mut self, key: &str, content: Option<&Json>) {
        if key == STREAM_TIME_KEY {
            if let Some(time) = content.and_then(Json::as_i64) {
                self.stream_time = time;
            }
        } else if let Some(identity) = key.strip_prefix(ROW_PREFIX) {
            match decode_row(content) {
                Some(row) => self.table_rows.insert(identity.to_string(), row),
                None => self.table_rows.remove(identity),
            };
        } else if let Some(identity) = key.strip_prefix(GROUP_PREFIX) {
            let group = content.and_then(|content| {
                let window = content
                    .get("window")
                    .and_then(Json::as_array)
                    .and_then(|w| {
                        Some(WindowBounds {
                            start: w.first()?.as_i64()?,
                            end: w.get(1)?.as_i64()?,
                        })
                    });
                Some(Group {
                    values: decode_row(content.get("values"))?,
                    states: decode_row(content.get("states"))?,
                    window,
                    timestamp: content.get("timestamp")?.as_i64()?,
                })
            });
            match group {
                Some(group) if group.states.len() == self.plan.aggregates.len() => {
                    self.groups.insert(identity.to_string(), group);
                }
                _ => {
                    self.groups.remove(identity);
                }
            }
        }
    }

    /// Folds one record in; `row` is the source row (None for a tombstone).
    pub fn process(
        &mut self,
        record: &SourceRecord,
        row: Option<&[Value]>,
        filter: Option<&TypedExpr>,
    ) -> Result<Vec<Emitted>, EvalError> {
        let passes = |row: &[Value]| -> Result<bool, EvalError> {
            Ok(match filter {
                Some(filter) => filter.eval(row)? == Value::Boolean(true),
                None => true,
            })
        };
        let mut emitted = Vec::new();
        if self.source_kind == SourceKind::Table {
            let key = identity(&record.key, record.window);
            self.changed_rows.insert(key.clone());
            if let Some(previous) = self.table_rows.remove(&key) {
                if passes(&previous)? {
                    emitted.extend(self.fold(
                        &previous,
                        record.timestamp,
                        None,
                        Direction::Undo,
                    )?);
                }
            }
            if let Some(row) = row {
                self.table_rows.insert(key, row.to_vec());
            }
        }
        let Some(row) = row else {
            return Ok(emitted);
        };
        if !passes(row)? {
            return Ok(emitted);
        }
        self.stream_time = self.stream_time.max(record.timestamp);
        let windows = match &self.plan.window {
            Some(spec) => {
                let open: Vec<WindowBounds> = windows_for(spec, record.timestamp)
                    .map_err(|e| EvalError(e.to_string()))?
                    .into_iter()
                    .filter(|window| !is_closed(spec, window, self.stream_time))
                    .collect();
                if open.is_empty() {
                    return Ok(emitted);
                }
                open.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        for window in windows {
            emitted.extend(self.fold(row, record.timestamp, window, Direction::Add)?);
        }
        Ok(emitted)
    }

    /// Adds or takes back `row` in its group; a NULL group value drops the row, as ksqlDB
    /// does.
    fn fold(
        &mut self,
        row: &[Value],
        timestamp: i64,
        window: Option<WindowBounds>,
        direction: Direction,
    ) -> Result<Option<Emitted>, EvalError> {
        let values = self
            .plan
            .group_by
            .iter()
            .map(|expr| expr.eval(row))
            .collect::<Result<Row, _>>()?;
        if values.iter().any(Value::is_null) {
            return Ok(None);
        }
        let arguments = self
            .plan
            .aggregates
            .iter()
            .map(|call| {
                call.argument
                    .as_ref()
                    .map_or(Ok(Value::Null), |arg| arg.eval(row))
            })
            .collect::<Result<Row, _>>()?;
        let plan = &self.plan;
        let group_identity = identity(&values, window);
        self.changed_groups.insert(group_identity.clone());
        let group = self.groups.entry(group_identity).or_insert_with(|| Group {
            states: plan
                .aggregates
                .iter()
                .map(|call| call.function.initial())
                .collect(),
            values,
            window,
            timestamp,
        });
        let mut states = Vec::with_capacity(group.states.len());
        for ((call, state), argument) in plan.aggregates.iter().zip(&group.states).zip(&arguments) {
            let state = state.clone();
            states.push(match direction {
                Direction::Add => call.function.add(state, argument)?,
                Direction::Undo => call.function.undo(state, argument)?,
            });
        }
        group.states = states;
        // A window's result carries the latest timestamp of the records in it, as Kafka
        // Streams gives it; an unwindowed group's, the last record's.
        group.timestamp = if window.is_some() {
            group.timestamp.max(timestamp)
        } else {
            timestamp
        };
        Ok(Some(aggregate_row(plan, group)))
    }

    /// Every group's current aggregate row, in key order: what a pull query reads.
    pub fn materialized(&self) -> Vec<Emitted> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by(|a, b| {
            let values = a
                .values
                .iter()
                .zip(&b.values)
                .map(|(x, y)| compare_values(x, y).unwrap_or(Ordering::Equal))
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal);
            values.then_with(|| a.window.map(|w| w.start).cmp(&b.window.map(|w| w.start)))
        });
        groups
            .into_iter()
            .map(|group| aggregate_row(&self.plan, group))
            .collect()
    }
}

/// `[group values..., results..., WINDOWSTART, WINDOWEND]` with the group's time and window.
fn aggregate_row(plan: &AggregatePlan, group: &Group) -> Emitted {
    let mut row = group.values.clone();
    for (call, state) in plan.aggregates.iter().zip(&group.states) {
        row.push(call.function.result(state));
    }
    if let Some(window) = group.window {
        row.push(Value::Bigint(window.start));
        row.push(Value::Bigint(window.end));
    }
    (row, group.timestamp, group.window)
}

#[derive(Clone, Copy)]
enum Direction {
    Add,
    Undo,
}
