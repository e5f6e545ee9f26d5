//! The state of a join between two inputs, and the joined rows each record yields.
//!
//! Stream-stream joins buffer each side's records by key for the WITHIN window (plus grace)
//! and pair a new record with the other side's buffered ones; the result takes the later
//! timestamp. An outer side's record that found no partner is emitted with NULLs at once
//! without a GRACE PERIOD (ksqlDB's legacy behaviour), or once its window has closed with
//! one. Stream-table joins keep the table's rows and look them up for each stream record.
//! Table-table joins keep both tables and re-join a key whenever either side changes it,
//! emitting a tombstone when a joined row disappears. All of it is written to the query's
//! changelog and read back on restart.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value as Json};

use crate::expr::EvalError;
use crate::parser::ast::{JoinKind, SourceKind};
use crate::plan::{JoinPlan, JoinWithin};
use crate::value::{Row, Value};

use super::aggregate::StateChange;
use super::{source_row, state_json, SourceRecord, WindowBounds};

/// Which input a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// One result of a join: the joined row (or what is left of it for a tombstone) and the key
/// to write into the row's key positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub row: Row,
    pub key: Value,
    pub timestamp: i64,
    pub window: Option<WindowBounds>,
    pub deleted: bool,
}

/// A side's record as a join keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Kept {
    row: Row,
    key: Value,
    timestamp: i64,
    window: Option<WindowBounds>,
    /// Tells buffered records apart, so a pending outer record can be found again.
    seq: u64,
}

/// What the two inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    StreamStream(JoinWithin),
    StreamTable,
    TableTable,
}

pub struct JoinState {
    plan: JoinPlan,
    pairing: Pairing,
    /// Per side, per key identity: buffered stream records, or a table's current row.
    kept: [BTreeMap<String, Vec<Kept>>; 2],
    /// Unmatched records of an outer side waiting for their window to close: sequence to
    /// the side and key identity they are kept under.
    pending: BTreeMap<u64, (Side, String)>,
    stream_time: i64,
    next_seq: u64,
    /// Changelog keys changed since the last drain.
    changed: BTreeSet<String>,
}

const TIME_KEY: &str = "j:$time";
const PENDING_KEY: &str = "j:$pending";
/// How many records pass between sweeps of expired stream records.
const SWEEP_EVERY: u64 = 1024;

fn identity(key: &Value, window: Option<WindowBounds>) -> String {
    let key = state_json::encode(key).to_string();
    match window {
        Some(w) => format!("{key}@{}-{}", w.start, w.end),
        None => key,
    }
}

fn kept_key(side: Side, identity: &str) -> String {
    format!("j:{}:{identity}", side.index())
}

impl JoinState {
    pub fn new(plan: JoinPlan, left_kind: SourceKind) -> JoinState {
        let pairing = match (plan.within, left_kind) {
            (Some(within), _) => Pairing::StreamStream(within),
            (None, SourceKind::Table) => Pairing::TableTable,
            (None, SourceKind::Stream) => Pairing::StreamTable,
        };
        JoinState {
            plan,
            pairing,
            kept: [BTreeMap::new(), BTreeMap::new()],
            pending: BTreeMap::new(),
            stream_time: i64::MIN,
            next_seq: 0,
            changed: BTreeSet::new(),
        }
    }

    /// Whether unmatched records of `side` are emitted with NULLs for the other side.
    fn outer(&self, side: Side) -> bool {
        matches!(
            (self.plan.kind, side),
            (JoinKind::Full, _) | (JoinKind::Left, Side::Left) | (JoinKind::Right, Side::Right)
        )
    }

    fn key_of(&self, side: Side, row: &[Value]) -> Result<Value, EvalError> {
        match side {
            Side::Left => self.plan.left_key.eval(row),
            Side::Right => self.plan.right_key.eval(row),
        }
    }

    /// The joined row of a left and a right row, either of which may be missing.
    fn join_rows(&self, left: Option<&Kept>, right: Option<&Kept>, key: &Value) -> Row {
        let mut row = Vec::with_capacity(self.plan.left_width + self.plan.right_width + 1);
        match left {
            Some(kept) => row.extend(kept.row.iter().cloned()),
            None => row.resize(self.plan.left_width, Value::Null),
        }
        match right {
            Some(kept) => row.extend(kept.row.iter().cloned()),
            None => row.resize(self.plan.left_width + self.plan.right_width, Value::Null),
        }
        if self.plan.synthetic_key {
            row.push(key.clone());
        }
        row
    }

    fn joined(&self, side: Side, this: Option<&Kept>, other: Option<&Kept>, key: &Value) -> Row {
        match side {
            Side::Left => self.join_rows(this, other, key),
            Side::Right => self.join_rows(other, this, key),
        }
    }

    fn keep(&mut self, record: &SourceRecord, row: Row, key: Value) -> Kept {
        self.next_seq += 1;
        Kept {
            row,
            key,
            timestamp: record.timestamp,
            window: record.window,
            seq: self.next_seq,
        }
    }

    /// Runs one record of `side` through the join.
    pub fn process(&mut self, side: Side, record: &SourceRecord) -> Result<Vec<Joined>, EvalError> {
        match self.pairing {
            Pairing::StreamStream(within) => self.stream_stream(side, record, within),
            Pairing::StreamTable => match side {
                Side::Left => self.stream_lookup(record),
                Side::Right => {
                    self.table_update(side, record)?;
                    Ok(Vec::new())
                }
            },
            Pairing::TableTable => self.table_table(side, record),
        }
    }

    /// How far before and after a record of `side` the other side's records may lie.
    fn reach(side: Side, within: JoinWithin) -> (u64, u64) {
        match side {
            Side::Left => (within.before, within.after),
            Side::Right => (within.after, within.before),
        }
    }

    fn stream_stream(
        &mut self,
        side: Side,
        record: &SourceRecord,
        within: JoinWithin,
    ) -> Result<Vec<Joined>, EvalError> {
        let Some(row) = source_row(record) else {
            return Ok(Vec::new());
        };
        let key = self.key_of(side, &row)?;
        if key.is_null() {
            return Ok(Vec::new());
        }
        let t = record.timestamp;
        self.stream_time = self.stream_time.max(t);
        self.changed.insert(TIME_KEY.into());
        let mut results = Vec::new();
        if !within.legacy && t == self.stream_time {
            results.extend(self.close_pending(within));
        }
        let (before, after) = Self::reach(side, within);
        let retention = millis(within.retention_ms());
        let id = identity(&key, record.window);
        let this = self.keep(record, row, key.clone());
        let mut matches: Vec<Kept> = self.kept[side.other().index()]
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|o| {
                o.timestamp >= t.saturating_sub(millis(before))
                    && o.timestamp <= t.saturating_add(millis(after))
            })
            .cloned()
            .collect();
        matches.sort_by_key(|o| o.timestamp);
        for other in &matches {
            if self.pending.remove(&other.seq).is_some() {
                self.changed.insert(PENDING_KEY.into());
            }
            results.push(Joined {
                row: self.joined(side, Some(&this), Some(other), &key),
                key: key.clone(),
                timestamp: t.max(other.timestamp),
                window: record.window,
                deleted: false,
            });
        }
        let late = t < self.stream_time.saturating_sub(retention);
        if matches.is_empty() && self.outer(side) {
            if within.legacy || t.saturating_add(millis(after)) < self.stream_time {
                results.push(Joined {
                    row: self.joined(side, Some(&this), None, &key),
                    key: key.clone(),
                    timestamp: t,
                    window: record.window,
                    deleted: false,
                });
            } else if !late {
                self.pending.insert(this.seq, (side, id.clone()));
                self.changed.insert(PENDING_KEY.into());
            }
        }
        if !late {
            self.kept[side.index()]
                .entry(id.clone())
                .or_default()
                .push(this);
            self.changed.insert(kept_key(side, &id));
        }
        if self.next_seq.is_multiple_of(SWEEP_EVERY) {
            self.sweep(retention);
        }
        Ok(results)
    }

    /// Emits, oldest first, the pending outer records whose window and grace have passed.
    fn close_pending(&mut self, within: JoinWithin) -> Vec<Joined> {
        let mut closed: Vec<(i64, u64, Side, Kept)> = Vec::new();
        for (seq, (side, id)) in &self.pending {
            let (_, after) = Self::reach(*side, within);
            let Some(kept) = self.kept[side.index()]
                .get(id)
                .and_then(|records| records.iter().find(|k| k.seq == *seq))
            else {
                continue;
            };
            let closes_at = kept
                .timestamp
                .saturating_add(millis(after))
                .saturating_add(millis(within.grace));
            if closes_at < self.stream_time {
                closed.push((kept.timestamp, *seq, *side, kept.clone()));
            }
        }
        closed.sort_by_key(|(timestamp, seq, _, _)| (*timestamp, *seq));
        let mut results = Vec::new();
        for (timestamp, seq, side, kept) in closed {
            self.pending.remove(&seq);
            self.changed.insert(PENDING_KEY.into());
            results.push(Joined {
                row: self.joined(side, Some(&kept), None, &kept.key),
                key: kept.key.clone(),
                timestamp,
                window: kept.window,
                deleted: false,
            });
        }
        results
    }

    /// Drops buffered stream records too old to join anything that can still arrive.
    fn sweep(&mut self, retention: i64) {
        let horizon = self.stream_time.saturating_sub(retention);
        for side in [Side::Left, Side::Right] {
            let mut emptied = Vec::new();
            for (id, records) in self.kept[side.index()].iter_mut() {
                let before = records.len();
                records.retain(|k| k.timestamp >= horizon || self.pending.contains_key(&k.seq));
                if records.len() != before {
                    self.changed.insert(kept_key(side, id));
                }
                if records.is_empty() {
                    emptied.push(id.clone());
                }
            }
            for id in emptied {
                self.kept[side.index()].remove(&id);
            }
        }
    }

    /// A table record replaces (or, as a tombstone, removes) its key's row; returns the
    /// previous row.
    fn table_update(
        &mut self,
        side: Side,
        record: &SourceRecord,
    ) -> Result<Option<Kept>, EvalError> {
        let Some(primary) = record.key.first().filter(|k| !k.is_null()).cloned() else {
            return Ok(None);
        };
        let id = identity(&primary, record.window);
        self.changed.insert(kept_key(side, &id));
        let previous = match source_row(record) {
            Some(row) => {
                let kept = self.keep(record, row, primary);
                self.kept[side.index()].insert(id, vec![kept])
            }
            None => self.kept[side.index()].remove(&id),
        };
        Ok(previous.and_then(|mut rows| rows.pop()))
    }

    fn table_row(&self, side: Side, id: &str) -> Option<&Kept> {
        self.kept[side.index()]
            .get(id)
            .and_then(|rows| rows.first())
    }

    fn stream_lookup(&mut self, record: &SourceRecord) -> Result<Vec<Joined>, EvalError> {
        let Some(row) = source_row(record) else {
            return Ok(Vec::new());
        };
        let key = self.key_of(Side::Left, &row)?;
        if key.is_null() && !self.outer(Side::Left) {
            return Ok(Vec::new());
        }
        let this = self.keep(record, row, key.clone());
        let id = identity(&key, record.window);
        let other = self.table_row(Side::Right, &id);
        if other.is_none() && !self.outer(Side::Left) {
            return Ok(Vec::new());
        }
        Ok(vec![Joined {
            row: self.join_rows(Some(&this), other, &key),
            key,
            timestamp: record.timestamp,
            window: record.window,
            deleted: false,
        }])
    }

    fn table_table(&mut self, side: Side, record: &SourceRecord) -> Result<Vec<Joined>, EvalError> {
        let previous = self.table_update(side, record)?;
        let Some(primary) = record.key.first().filter(|k| !k.is_null()).cloned() else {
            return Ok(Vec::new());
        };
        let id = identity(&primary, record.window);
        if self.plan.foreign_key {
            return match side {
                Side::Left => self.foreign_left(&id, previous.is_some(), record.timestamp),
                Side::Right => self.foreign_right(&id, record.timestamp),
            };
        }
        let this = self.table_row(side, &id).cloned();
        let other = self.table_row(side.other(), &id).cloned();
        let (left, right) = match side {
            Side::Left => (this.as_ref(), other.as_ref()),
            Side::Right => (other.as_ref(), this.as_ref()),
        };
        let present = |s: Side| match s {
            Side::Left => left.is_some(),
            Side::Right => right.is_some(),
        };
        // A row exists when every inner side of the join has one.
        let exists = match self.plan.kind {
            JoinKind::Inner => present(Side::Left) && present(Side::Right),
            JoinKind::Left => present(Side::Left),
            JoinKind::Right => present(Side::Right),
            JoinKind::Full => present(Side::Left) || present(Side::Right),
        };
        // Before this record, did the joined row exist? Only then does a deletion show.
        let existed = match self.plan.kind {
            JoinKind::Inner => previous.is_some() && other.is_some(),
            JoinKind::Full => previous.is_some() || other.is_some(),
            JoinKind::Left | JoinKind::Right if self.outer(side) => previous.is_some(),
            JoinKind::Left | JoinKind::Right => other.is_some(),
        };
        let timestamp = record
            .timestamp
            .max(other.as_ref().map_or(i64::MIN, |o| o.timestamp));
        if exists {
            return Ok(vec![Joined {
                row: self.join_rows(left, right, &primary),
                key: primary,
                timestamp,
                window: record.window,
                deleted: false,
            }]);
        }
        if !existed {
            return Ok(Vec::new());
        }
        Ok(vec![Joined {
            row: self.join_rows(left, right, &primary),
            key: primary,
            timestamp,
            window: record.window,
            deleted: true,
        }])
    }

    /// A foreign-key join's left row changed: join it with the right row its column names.
    fn foreign_left(
        &mut self,
        id: &str,
        existed: bool,
        timestamp: i64,
    ) -> Result<Vec<Joined>, EvalError> {
        let Some(left) = self.table_row(Side::Left, id).cloned() else {
            return Ok(if existed {
                vec![self.foreign_tombstone(id, timestamp)]
            } else {
                Vec::new()
            });
        };
        let reference = self.key_of(Side::Left, &left.row)?;
        let right = self
            .table_row(Side::Right, &identity(&reference, None))
            .cloned();
        match right {
            None if !self.outer(Side::Left) => Ok(if existed {
                vec![self.foreign_tombstone(id, timestamp)]
            } else {
                Vec::new()
            }),
            _ => Ok(vec![Joined {
                row: self.join_rows(Some(&left), right.as_ref(), &left.key),
                key: left.key.clone(),
                timestamp: timestamp.max(right.as_ref().map_or(i64::MIN, |r| r.timestamp)),
                window: None,
                deleted: false,
            }]),
        }
    }

    /// A foreign-key join's right row changed: every left row naming it is joined again.
    fn foreign_right(&mut self, id: &str, timestamp: i64) -> Result<Vec<Joined>, EvalError> {
        let right = self.table_row(Side::Right, id).cloned();
        let mut results = Vec::new();
        let lefts: Vec<Kept> = self.kept[0].values().flatten().cloned().collect();
        for left in lefts {
            let reference = self.key_of(Side::Left, &left.row)?;
            if identity(&reference, None) != id {
                continue;
            }
            let joined_at = timestamp.max(left.timestamp);
            if right.is_none() && !self.outer(Side::Left) {
                results.push(Joined {
                    row: self.join_rows(Some(&left), None, &left.key),
                    key: left.key.clone(),
                    timestamp: joined_at,
                    window: None,
                    deleted: true,
                });
                continue;
            }
            results.push(Joined {
                row: self.join_rows(Some(&left), right.as_ref(), &left.key),
                key: left.key.clone(),
                timestamp: joined_at,
                window: None,
                deleted: false,
            });
        }
        Ok(results)
    }

    fn foreign_tombstone(&self, id: &str, timestamp: i64) -> Joined {
        let key = serde_json::from_str::<Json>(id)
            .ok()
            .and_then(|json| state_json::decode(&json))
            .unwrap_or(Value::Null);
        Joined {
            row: self.join_rows(None, None, &key),
            key,
            timestamp,
            window: None,
            deleted: true,
        }
    }

    /// What changed since the last call, as changelog entries.
    pub fn drain_changes(&mut self) -> Vec<StateChange> {
        let mut changes = Vec::new();
        for key in std::mem::take(&mut self.changed) {
            let content = if key == TIME_KEY {
                Some(json!(self.stream_time))
            } else if key == PENDING_KEY {
                let pending: Vec<Json> = self
                    .pending
                    .iter()
                    .map(|(seq, (side, id))| json!([seq, side.index(), id]))
                    .collect();
                Some(Json::Array(pending))
            } else {
                self.encode_kept(&key)
            };
            changes.push((key, content));
        }
        changes
    }

    fn encode_kept(&self, key: &str) -> Option<Json> {
        let (side, id) = parse_kept_key(key)?;
        let records = self.kept[side.index()].get(id)?;
        let encoded: Vec<Json> = records
            .iter()
            .map(|k| {
                json!({
                    "row": k.row.iter().map(state_json::encode).collect::<Vec<_>>(),
                    "key": state_json::encode(&k.key),
                    "timestamp": k.timestamp,
                    "window": k.window.map(|w| [w.start, w.end]),
                    "seq": k.seq,
                })
            })
            .collect();
        Some(Json::Array(encoded))
    }

    /// Applies one changelog entry read back at start; unreadable entries are skipped.
    pub fn restore(&mut self, key: &str, content: Option<&Json>) {
        if key == TIME_KEY {
            if let Some(time) = content.and_then(Json::as_i64) {
                self.stream_time = time;
            }
            return;
        }
        if key == PENDING_KEY {
            self.pending = content
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|entry| {
                    let seq = entry.get(0)?.as_u64()?;
                    let side = if entry.get(1)?.as_u64()? == 0 {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    Some((seq, (side, entry.get(2)?.as_str()?.to_string())))
                })
                .collect();
            return;
        }
        let Some((side, id)) = parse_kept_key(key) else {
            return;
        };
        let records: Option<Vec<Kept>> = content
            .and_then(Json::as_array)
            .map(|records| records.iter().filter_map(decode_kept).collect());
        match records {
            Some(records) if !records.is_empty() => {
                let top = records.iter().map(|k| k.seq).max().unwrap_or(0);
                self.next_seq = self.next_seq.max(top);
                self.kept[side.index()].insert(id.to_string(), records);
            }
            _ => {
                self.kept[side.index()].remove(id);
            }
        }
    }
}

fn parse_kept_key(key: &str) -> Option<(Side, &str)> {
    let rest = key.strip_prefix("j:")?;
    let (side, id) = rest.split_once(':')?;
    let side = match side {
        "0" => Side::Left,
        "1" => Side::Right,
        _ => return None,
    };
    Some((side, id))
}

fn decode_kept(json: &Json) -> Option<Kept> {
    let row = json
        .get("row")?
        .as_array()?
        .iter()
        .map(state_json::decode)
        .collect::<Option<Row>>()?;
    let window = json.get("window").and_then(Json::as_array).and_then(|w| {
        Some(WindowBounds {
            start: w.first()?.as_i64()?,
            end: w.get(1)?.as_i64()?,
        })
    });
    Some(Kept {
        row,
        key: state_json::decode(json.get("key")?)?,
        timestamp: json.get("timestamp")?.as_i64()?,
        window,
        seq: json.get("seq")?.as_u64()?,
    })
}

/// A duration in event-time milliseconds; the planner keeps durations within an i64, and a
/// larger one would mean "forever", which `i64::MAX` also means here.
fn millis(duration_ms: u64) -> i64 {
    i64::try_from(duration_ms).unwrap_or(i64::MAX)
}

/// Whether a changelog key belongs to a join's state.
pub fn is_join_key(key: &str) -> bool {
    key.starts_with("j:")
}
