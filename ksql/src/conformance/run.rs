//! Running one case: its statements through the executor, its input records through the
//! queries in memory, then its expected records, error and sources compared with what
//! happened. The verdict names the first difference.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::catalog::Source;
use crate::executor::Engine;
use crate::format::{Format, FormatColumn};
use crate::parser::ast::{SourceKind, Statement};
use crate::parser::parse;
use crate::types::SqlType;
use crate::value::Value;

use super::case::{Case, TestRecord};
use super::memory::{MemoryCluster, StoredRecord};

/// How a case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Formats that need a schema registry, which cases are skipped for.
const REGISTRY_FORMATS: &[&str] = &["AVRO", "PROTOBUF", "JSON_SR", "PROTOBUF_NOSR"];

pub(super) fn needs_registry(case: &Case) -> Option<&'static str> {
    let text = case.statements.join(" ").to_uppercase();
    REGISTRY_FORMATS
        .iter()
        .find(|format| text.contains(&format!("'{format}'")))
        .copied()
}

/// Runs `case` and judges it.
pub fn run(case: &Case) -> Verdict {
    if !case.enabled {
        return Verdict::Skipped("disabled in the case file".into());
    }
    if let Some(format) = needs_registry(case) {
        return Verdict::Skipped(format!("{format} needs a schema registry"));
    }
    let mut engine = Engine::default();
    engine.config.extend(case.properties.iter().cloned());
    let mut cluster = MemoryCluster::default();
    for input in &case.inputs {
        cluster.create_topic(&input.topic, 1);
    }
    if let Err(error) = execute_all(case, &mut engine, &mut cluster) {
        return match &case.expected_error {
            Some(expected) if error.contains(expected.as_str()) => Verdict::Passed,
            Some(expected) => Verdict::Failed(format!(
                "expected the error \"{expected}\", got \"{error}\""
            )),
            None => Verdict::Failed(error),
        };
    }
    if let Err(error) = produce_inputs(case, &engine, &mut cluster) {
        return Verdict::Failed(error);
    }
    if let Some(expected) = &case.expected_error {
        return match cluster
            .processing_log
            .iter()
            .find(|e| e.contains(expected.as_str()))
        {
            Some(_) => Verdict::Passed,
            None => Verdict::Failed(format!(
                "expected the error \"{expected}\", but the statements succeeded"
            )),
        };
    }
    if let Err(difference) = compare_outputs(case, &engine, &cluster) {
        return Verdict::Failed(difference);
    }
    match compare_sources(case, &engine) {
        Ok(()) => Verdict::Passed,
        Err(difference) => Verdict::Failed(difference),
    }
}

fn execute_all(
    case: &Case,
    engine: &mut Engine,
    cluster: &mut MemoryCluster,
) -> Result<(), String> {
    let overrides = HashMap::new();
    for text in &case.statements {
        let statements = parse(text).map_err(|e| e.to_string())?;
        for statement in &statements {
            if matches!(statement, Statement::Query(_)) {
                return Err(format!(
                    "a transient query in a persistent-query case: {text}"
                ));
            }
            create_declared_topic(statement, cluster, 1);
            let (_, effects) = engine
                .execute(statement, text, &cluster.topics(), &overrides)
                .map_err(|e| e.message)?;
            cluster.apply(effects, engine);
        }
    }
    Ok(())
}

/// The test driver, like ksqlDB's, provides the topic a CREATE STREAM / TABLE declares,
/// with the partitions it asks for or `default_partitions`.
pub(super) fn create_declared_topic(
    statement: &Statement,
    cluster: &mut MemoryCluster,
    default_partitions: i32,
) {
    let Statement::CreateSource(create) = statement else {
        return;
    };
    let Some(crate::parser::ast::Literal::String(topic)) = create.properties.get("KAFKA_TOPIC")
    else {
        return;
    };
    let partitions = match create.properties.get("PARTITIONS") {
        Some(crate::parser::ast::Literal::Integer(n)) => i32::try_from(*n).unwrap_or(1),
        _ => default_partitions,
    };
    cluster.create_topic(topic, partitions);
}

/// The source a topic's records are read as: the first one declared over it.
fn source_of<'e>(engine: &'e Engine, topic: &str) -> Option<&'e Source> {
    engine.catalog.sources().find(|s| s.topic == topic)
}

pub(super) fn produce_inputs(
    case: &Case,
    engine: &Engine,
    cluster: &mut MemoryCluster,
) -> Result<(), String> {
    for input in &case.inputs {
        let (key, value) = match source_of(engine, &input.topic) {
            Some(source) => (
                encode_json(&source.key_format, &source.key_format_columns(), &input.key)?,
                encode_json(
                    &source.value_format,
                    &source.value_format_columns(),
                    &input.value,
                )?,
            ),
            None => (json_bytes(&input.key), json_bytes(&input.value)),
        };
        let window = input
            .window
            .map(|(start, end)| crate::engine::WindowBounds { start, end });
        cluster.produce(
            &input.topic,
            key,
            value,
            input.timestamp.unwrap_or(0),
            window,
        );
        cluster.pump();
    }
    Ok(())
}

fn json_bytes(json: &Json) -> Option<Vec<u8>> {
    (!json.is_null()).then(|| json.to_string().into_bytes())
}

/// A test record's key or value as the format writes it: JSON as given, DELIMITED from its
/// text, KAFKA through the column's type.
fn encode_json(
    format: &Format,
    columns: &[FormatColumn],
    json: &Json,
) -> Result<Option<Vec<u8>>, String> {
    if json.is_null() {
        return Ok(None);
    }
    match format {
        Format::None => Ok(None),
        Format::Json => Ok(json_bytes(json)),
        Format::Delimited { .. } => Ok(Some(match json {
            Json::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        })),
        Format::Kafka => {
            let Some(column) = columns.first() else {
                return Ok(None);
            };
            let value = json_to_value(json, column.sql_type);
            format
                .serialize(columns, &[value], false)
                .map_err(|e| format!("cannot write test record {json}: {e}"))
        }
    }
}

fn json_to_value(json: &Json, sql_type: &SqlType) -> Value {
    match (sql_type, json) {
        (SqlType::Integer, Json::Number(n)) => Value::Integer(n.as_i64().unwrap_or(0) as i32),
        (SqlType::Bigint, Json::Number(n)) => Value::Bigint(n.as_i64().unwrap_or(0)),
        (SqlType::Double, Json::Number(n)) => Value::Double(n.as_f64().unwrap_or(0.0)),
        (SqlType::String, Json::String(s)) => Value::String(s.clone()),
        (SqlType::String, other) => Value::String(other.to_string()),
        (SqlType::Bytes, Json::String(s)) => Value::Bytes(s.clone().into_bytes()),
        _ => Value::Null,
    }
}

/// A stored key or value as JSON, to compare with the case's expectation.
fn decode_json(
    format: &Format,
    columns: &[FormatColumn],
    bytes: Option<&[u8]>,
    wrap: bool,
) -> Json {
    let Some(bytes) = bytes else {
        return Json::Null;
    };
    match format {
        Format::None => Json::Null,
        Format::Json => serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(bytes).into())),
        Format::Delimited { .. } => Json::String(String::from_utf8_lossy(bytes).into()),
        Format::Kafka => match format.deserialize(columns, Some(bytes), wrap) {
            Ok(Some(row)) => row.first().map_or(Json::Null, value_to_json),
            _ => Json::String(String::from_utf8_lossy(bytes).into()),
        },
    }
}

fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Integer(i) => Json::from(*i),
        Value::Bigint(i) => Json::from(*i),
        Value::Double(d) => Json::from(*d),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into()),
        Value::Null => Json::Null,
        other => Json::String(format!("{other:?}")),
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
pub(super) fn same_json(expected: &Json, actual: &Json) -> bool {
    match (expected, actual) {
        (Json::Number(e), Json::Number(a)) => match (e.as_f64(), a.as_f64()) {
            (Some(e), Some(a)) => e == a || (e - a).abs() <= 1e-9 * e.abs().max(a.abs()),
            _ => e == a,
        },
        (Json::Array(e), Json::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same_json(e, a))
        }
        // ksqlDB reads JSON fields case-insensitively, so expected records may spell
        // column names in any case.
        (Json::Object(e), Json::Object(a)) => {
            e.len() == a.len()
                && e.iter().all(|(k, v)| {
                    a.get(k)
                        .or_else(|| {
                            a.iter()
                                .find(|(ak, _)| ak.eq_ignore_ascii_case(k))
                                .map(|(_, av)| av)
                        })
                        .is_some_and(|av| same_json(v, av))
                })
        }
        _ => expected == actual,
    }
}

fn describe(record: &Json, timestamp: Option<i64>) -> String {
    match timestamp {
        Some(ts) => format!("{record} @{ts}"),
        None => record.to_string(),
    }
}

fn compare_outputs(case: &Case, engine: &Engine, cluster: &MemoryCluster) -> Result<(), String> {
    let mut expected_by_topic: BTreeMap<&str, Vec<&TestRecord>> = BTreeMap::new();
    for output in &case.outputs {
        expected_by_topic
            .entry(&output.topic)
            .or_default()
            .push(output);
    }
    for (topic, expected) in expected_by_topic {
        let actual = cluster.records(topic);
        let sink = source_of(engine, topic);
        for (i, want) in expected.iter().enumerate() {
            let Some(got) = actual.get(i) else {
                return Err(format!(
                    "topic {topic}: expected {} records, got {}; missing {}",
                    expected.len(),
                    actual.len(),
                    describe(
                        &serde_json::json!({"key": want.key, "value": want.value}),
                        want.timestamp
                    )
                ));
            };
            let (key, value) = decoded(sink, got);
            let keys_match = same_json(&want.key, &key);
            let values_match = same_json(&want.value, &value);
            let time_matches = want.timestamp.is_none_or(|ts| ts == got.timestamp);
            let window_matches = want.window.is_none_or(|(start, end)| {
                got.window.is_some_and(|w| w.start == start && w.end == end)
            });
            if !(keys_match && values_match && time_matches && window_matches) {
                return Err(format!(
                    "topic {topic} record {i}: expected {} window {:?}, got {} window {:?}",
                    describe(
                        &serde_json::json!({"key": want.key, "value": want.value}),
                        want.timestamp
                    ),
                    want.window,
                    describe(
                        &serde_json::json!({"key": key, "value": value}),
                        Some(got.timestamp)
                    ),
                    got.window.map(|w| (w.start, w.end)),
                ));
            }
        }
        if actual.len() > expected.len() {
            let (key, value) = decoded(sink, &actual[expected.len()]);
            return Err(format!(
                "topic {topic}: expected {} records, got {}; first extra {}",
                expected.len(),
                actual.len(),
                serde_json::json!({"key": key, "value": value})
            ));
        }
    }
    Ok(())
}

fn decoded(sink: Option<&Source>, record: &StoredRecord) -> (Json, Json) {
    match sink {
        Some(sink) => (
            decode_json(
                &sink.key_format,
                &sink.key_format_columns(),
                record.key.as_deref(),
                false,
            ),
            decode_json(
                &sink.value_format,
                &sink.value_format_columns(),
                record.value.as_deref(),
                sink.wrap_single_value,
            ),
        ),
        None => (
            decode_json(&Format::Json, &[], record.key.as_deref(), true),
            decode_json(&Format::Json, &[], record.value.as_deref(), true),
        ),
    }
}

/// Parses `A INT KEY, B STRING` as the columns of a CREATE statement would be.
fn parse_schema(schema: &str, kind: SourceKind) -> Result<Vec<(String, SqlType, bool)>, String> {
    let keyword = match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    };
    let sql = format!("CREATE {keyword} X ({schema}) WITH (kafka_topic='x');");
    let statements =
        parse(&sql).map_err(|e| format!("cannot read the expected schema {schema}: {e}"))?;
    let Some(Statement::CreateSource(create)) = statements.first() else {
        return Err(format!("cannot read the expected schema {schema}"));
    };
    Ok(create
        .elements
        .iter()
        .map(|e| {
            let key = e.constraint != crate::parser::ast::ColumnConstraint::None;
            (e.name.name.clone(), e.sql_type.clone(), key)
        })
        .collect())
}

fn compare_sources(case: &Case, engine: &Engine) -> Result<(), String> {
    for expected in &case.expected_sources {
        let Some(source) = engine.catalog.get(&expected.name) else {
            return Err(format!("expected source {} does not exist", expected.name));
        };
        if !source.kind_name().eq_ignore_ascii_case(&expected.kind) {
            return Err(format!(
                "source {} is a {}, expected a {}",
                expected.name,
                source.kind_name(),
                expected.kind
            ));
        }
        let Some(schema) = &expected.schema else {
            continue;
        };
        let want = parse_schema(schema, source.kind)?;
        let got: Vec<(String, SqlType, bool)> = source
            .schema
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.sql_type.clone(),
                    c.kind == crate::schema::ColumnKind::Key,
                )
            })
            .collect();
        if want != got {
            return Err(format!(
                "source {} has schema {}, expected {schema}",
                expected.name, source.schema
            ));
        }
    }
    Ok(())
}
