//! Any text a client may send to ksql's `/ksql` or `/query`: split, parse, plan and execute
//! it against a catalog of streams and tables, then run the queries it starts (and any
//! SELECT) over a few records with edge-case values and timestamps. Each step must answer or
//! refuse, never panic, and stay within bounded memory: the parser bounds nesting (100,000
//! '(' is refused, not recursed into), the planner bounds windows per record.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use potok_ksql::conformance::memory::{decode, MemoryCluster};
use potok_ksql::engine::{input_sources, Pipeline};
use potok_ksql::executor::Engine;
use potok_ksql::parser::ast::Statement;
use potok_ksql::parser::{parse, split_statements};
use potok_ksql::plan::{check_pull, plan_query, Target};

/// Sources every input starts with, covering each kind of column, key and window.
const CATALOG: &[&str] = &[
    "CREATE STREAM s (id INT KEY, name STRING, amount INT, price DECIMAL(10, 2), big BIGINT, \
     rate DOUBLE, ok BOOLEAN, ts TIMESTAMP, tags ARRAY<STRING>, attrs MAP<STRING, INT>, \
     pos STRUCT<x DOUBLE, y DOUBLE>) \
     WITH (kafka_topic='s', value_format='json', partitions=1);",
    "CREATE STREAM s2 (id INT KEY, amount INT) \
     WITH (kafka_topic='s2', value_format='delimited', partitions=1);",
    "CREATE TABLE t (id INT PRIMARY KEY, name STRING, total BIGINT) \
     WITH (kafka_topic='t', value_format='json', partitions=1);",
    "CREATE TABLE w (id INT PRIMARY KEY, n BIGINT) WITH (kafka_topic='w', \
     value_format='json', window_type='hopping', window_size='1 minute', partitions=1);",
];

/// Records with values and timestamps at the edges.
fn records() -> Vec<(&'static str, Option<Vec<u8>>, &'static [u8], i64)> {
    let id = |n: i32| Some(n.to_be_bytes().to_vec());
    vec![
        ("s", id(1), br#"{"name":"a","amount":1,"price":1.5,"big":9223372036854775807,"rate":1e308,"ok":true,"ts":0,"tags":["x"],"attrs":{"k":1},"pos":{"x":1,"y":2}}"#, 0),
        ("s", id(i32::MIN), br#"{"name":null,"amount":-2147483648,"price":-99999999.99,"big":-9223372036854775808,"rate":-0.0,"ts":-1}"#, i64::MAX),
        ("s", id(2), br#"{"price":1e2000000000,"amount":2}"#, i64::MIN),
        ("s", None, br#"{"name":"","tags":[],"attrs":{},"pos":null}"#, -1),
        ("s2", id(1), b"2147483647", 1),
        ("s2", id(1), b"-1", i64::MAX - 1),
        ("t", id(1), br#"{"name":"t","total":9223372036854775807}"#, 5),
        ("w", id(1), br#"{"n":1}"#, 60_000),
    ]
}

/// The records of each input a SELECT is run over.
const RECORDS_PER_SELECT: usize = 64;
/// The records persistent queries read in all: queries writing into each other's sources
/// in a cycle would never catch up.
const PERSISTENT_STEPS: usize = 512;

/// The engine with `CATALOG` executed, made once: every input starts from a copy.
fn catalog() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = Engine::default();
        for statement in CATALOG {
            let parsed = parse(statement).expect("the catalog parses");
            engine
                .execute(&parsed[0], statement, &HashMap::new(), &HashMap::new())
                .expect("the catalog executes");
        }
        engine
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut engine = catalog().clone();
    let mut cluster = MemoryCluster::default();
    let none = HashMap::new();
    for (topic, key, value, timestamp) in records() {
        cluster.produce(topic, key, Some(value.to_vec()), timestamp, None);
    }
    for statement_text in split_statements(text) {
        let Ok(statements) = parse(statement_text) else {
            continue;
        };
        for statement in statements {
            match &statement {
                Statement::Query(query) => {
                    let Ok(plan) = plan_query(query, &engine.catalog, Target::Client) else {
                        continue;
                    };
                    let _ = check_pull(query);
                    let Some(inputs) = input_sources(&plan, &engine.catalog) else {
                        continue;
                    };
                    let mut pipeline = Pipeline::new(plan);
                    for (side, source) in &inputs {
                        for record in cluster
                            .records(&source.topic)
                            .iter()
                            .take(RECORDS_PER_SELECT)
                        {
                            if let Ok(decoded) = decode(source, record) {
                                let _ = pipeline.process(*side, &decoded);
                            }
                        }
                    }
                    let _ = pipeline.materialized();
                }
                other => {
                    let topics = cluster.topics();
                    if let Ok((_, effects)) = engine.execute(other, statement_text, &topics, &none)
                    {
                        cluster.apply(effects, &engine);
                    }
                }
            }
        }
    }
    cluster.pump_at_most(PERSISTENT_STEPS);
});
