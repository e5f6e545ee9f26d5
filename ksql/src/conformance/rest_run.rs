//! Running ksqlDB's REST query-validation cases (RQTT) in memory: commands answer as
//! `currentStatus`, then the inputs are produced and the persistent queries catch up, then
//! each SELECT runs over its source — a push query over the topic's records until its
//! LIMIT, a pull query over the table's materialized rows or the stream's records — and
//! its header, rows and final message are compared with the expected `/query` response.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::engine::{current_rows, input_sources, Pipeline, Side, SourceRecord};
use crate::executor::Engine;
use crate::parser::ast::{Query, SourceKind, Statement};
use crate::parser::parse;
use crate::plan::{check_pull, plan_query, Target};

use super::case::Case;
use super::memory::{decode, MemoryCluster};
use super::run::{produce_inputs, same_json, Verdict};

/// How many partitions the REST harness gives a topic a statement declares.
const REST_PARTITIONS: i32 = 4;

/// Runs one REST case and judges it.
pub fn run_rest(case: &Case) -> Verdict {
    if !case.enabled {
        return Verdict::Skipped("disabled in the case file".into());
    }
    if let Some(format) = super::run::needs_registry(case) {
        return Verdict::Skipped(format!("{format} needs a schema registry"));
    }
    let mut engine = Engine::default();
    engine.config.extend(case.properties.iter().cloned());
    // The REST harness's topics have four partitions unless declared otherwise, filled by
    // the key's hash.
    let mut cluster = MemoryCluster::default();
    cluster.partition_by_key = true;
    match answer_all(case, &mut engine, &mut cluster) {
        Err(error) => match &case.expected_error {
            Some(expected) if error.contains(expected.as_str()) => Verdict::Passed,
            Some(expected) => Verdict::Failed(format!(
                "expected the error \"{expected}\", got \"{error}\""
            )),
            None => Verdict::Failed(error),
        },
        Ok(_) if case.expected_error.is_some() => Verdict::Failed(format!(
            "expected the error \"{}\", but the statements succeeded",
            case.expected_error.as_deref().unwrap_or_default()
        )),
        Ok(responses) => compare(&case.responses, &responses),
    }
}

fn answer_all(
    case: &Case,
    engine: &mut Engine,
    cluster: &mut MemoryCluster,
) -> Result<Vec<Json>, String> {
    let mut responses: Vec<Option<Json>> = Vec::new();
    let mut queries: Vec<(usize, Query)> = Vec::new();
    let overrides = HashMap::new();
    for text in &case.statements {
        for statement in parse(text).map_err(|e| e.to_string())? {
            match statement {
                Statement::Query(query) => {
                    queries.push((responses.len(), query));
                    responses.push(None);
                }
                command => {
                    super::run::create_declared_topic(&command, cluster, REST_PARTITIONS);
                    let (_, effects) = engine
                        .execute(&command, text, &cluster.topics(), &overrides)
                        .map_err(|e| e.message)?;
                    cluster.apply(effects, engine);
                    responses.push(Some(json!({ "admin": { "@type": "currentStatus" } })));
                }
            }
        }
    }
    produce_inputs(case, engine, cluster)?;
    for (at, query) in queries {
        responses[at] = Some(answer_query(&query, engine, cluster)?);
    }
    Ok(responses.into_iter().flatten().collect())
}

fn answer_query(query: &Query, engine: &Engine, cluster: &MemoryCluster) -> Result<Json, String> {
    if query.emit.is_none() {
        check_pull(query).map_err(|e| e.0)?;
    }
    let plan = plan_query(query, &engine.catalog, Target::Client).map_err(|e| e.0)?;
    let source = engine
        .catalog
        .get(&plan.source)
        .ok_or_else(|| format!("Source `{}` does not exist.", plan.source))?
        .clone();
    let pull = query.emit.is_none();
    let header = plan.header_schema(
        pull && source.kind == SourceKind::Table,
        source.schema.key_columns().count(),
    );
    let limit = query.limit;
    let inputs = input_sources(&plan, &engine.catalog)
        .ok_or_else(|| format!("Source `{}` does not exist.", plan.source))?;
    let mut pipeline = Pipeline::new(plan);
    let materialized = cluster
        .materialized(&source.name)
        .filter(|_| pull && source.kind == SourceKind::Table);
    let records: Vec<(Side, SourceRecord)> = if let Some(rows) = materialized {
        rows.into_iter()
            .map(|row| (Side::Left, SourceRecord::from(row)))
            .collect()
    } else if pull && source.kind == SourceKind::Table {
        let decoded = cluster
            .records(&source.topic)
            .iter()
            .filter_map(|record| decode(&source, record).ok());
        current_rows(decoded)
            .into_iter()
            .map(|record| (Side::Left, record))
            .collect()
    } else {
        let mut records: Vec<(u64, Side, SourceRecord)> = inputs
            .iter()
            .flat_map(|(side, source)| {
                cluster
                    .records(&source.topic)
                    .iter()
                    .filter_map(move |record| {
                        Some((record.sequence, *side, decode(source, record).ok()?))
                    })
            })
            .collect();
        records.sort_by_key(|(sequence, side, _)| (*sequence, *side));
        records
            .into_iter()
            .map(|(_, side, record)| (side, record))
            .collect()
    };
    let mut entries = vec![json!({ "header": { "schema": header } })];
    let mut sent = 0u64;
    let mut limited = limit == Some(0);
    'records: for (side, record) in &records {
        if limited {
            break;
        }
        for (values, tombstone) in pipeline.client_rows(*side, record).map_err(|e| e.0)? {
            let entry = if tombstone {
                json!({ "row": { "columns": to_json(&values), "tombstone": true } })
            } else {
                json!({ "row": { "columns": to_json(&values) } })
            };
            entries.push(entry);
            sent += 1;
            if limit.is_some_and(|limit| sent >= limit) {
                limited = true;
                break 'records;
            }
        }
    }
    if limited {
        entries.push(json!({ "finalMessage": "Limit Reached" }));
    } else if pull && source.kind == SourceKind::Stream {
        entries.push(json!({ "finalMessage": "Query Completed" }));
    }
    Ok(json!({ "query": entries }))
}

fn to_json(values: &[crate::value::Value]) -> Vec<Json> {
    values
        .iter()
        .map(crate::server::transient::value_to_json)
        .collect()
}

/// Compares each expected response with the one given; the first difference is the verdict.
fn compare(expected: &[Json], actual: &[Json]) -> Verdict {
    for (i, want) in expected.iter().enumerate() {
        let Some(got) = actual.get(i) else {
            return Verdict::Failed(format!("response {i}: missing, expected {want}"));
        };
        if let Some(admin) = want.get("admin") {
            if got.pointer("/admin/@type") != admin.get("@type") {
                return Verdict::Failed(format!("response {i}: expected {want}, got {got}"));
            }
            continue;
        }
        let (Some(want_entries), Some(got_entries)) = (
            want.get("query").and_then(Json::as_array),
            got.get("query").and_then(Json::as_array),
        ) else {
            return Verdict::Failed(format!("response {i}: expected {want}, got {got}"));
        };
        let want_schema = want_entries
            .first()
            .and_then(|h| h.pointer("/header/schema"));
        let got_schema = got_entries
            .first()
            .and_then(|h| h.pointer("/header/schema"));
        if want_schema.is_some() && want_schema != got_schema {
            return Verdict::Failed(format!(
                "response {i}: header {}, expected {}",
                got_schema.unwrap_or(&Json::Null),
                want_schema.unwrap_or(&Json::Null)
            ));
        }
        let rest = |entries: &[Json]| -> Vec<Json> { entries.iter().skip(1).cloned().collect() };
        let (want_rows, got_rows) = (rest(want_entries), rest(got_entries));
        let same = want_rows.len() == got_rows.len()
            && want_rows
                .iter()
                .zip(&got_rows)
                .all(|(w, g)| same_json(w, g));
        if !same {
            return Verdict::Failed(format!(
                "response {i}: rows {}, expected {}",
                Json::Array(got_rows),
                Json::Array(want_rows)
            ));
        }
    }
    Verdict::Passed
}
