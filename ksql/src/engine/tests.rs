//! Pipelines planned from SQL and fed records at the edges of time: sizes, grace periods and
//! timestamps near the limits of i64 neither panic nor wrap.

use std::collections::HashMap;

use crate::executor::{Engine, Topics};
use crate::parser::ast::Statement;
use crate::parser::parse;
use crate::plan::{plan_query, Target};
use crate::value::Value;

use super::{Pipeline, Side, SourceRecord};

fn pipeline(sources: &[&str], query: &str) -> Pipeline {
    let mut engine = Engine::default();
    for text in sources {
        let statement = parse(text).unwrap().remove(0);
        engine
            .execute(&statement, text, &Topics::new(), &HashMap::new())
            .unwrap();
    }
    let Statement::Query(query) = parse(query).unwrap().remove(0) else {
        panic!("not a query: {query}");
    };
    Pipeline::new(plan_query(&query, &engine.catalog, Target::Client).unwrap())
}

fn record(id: i32, amount: i32, timestamp: i64) -> SourceRecord {
    SourceRecord {
        key: vec![Value::Integer(id)],
        value: Some(vec![Value::Integer(amount)]),
        timestamp,
        partition: 0,
        offset: 0,
        window: None,
    }
}

const PAYMENTS: &str = "CREATE STREAM payments (id INT KEY, amount INT) \
                        WITH (kafka_topic='payments', value_format='json', partitions=1);";
const REFUNDS: &str = "CREATE STREAM refunds (id INT KEY, amount INT) \
                       WITH (kafka_topic='refunds', value_format='json', partitions=1);";

#[test]
fn the_largest_tumbling_window_holds_records_and_refuses_those_past_its_range() {
    let mut query = pipeline(
        &[PAYMENTS],
        "SELECT id, SUM(amount) FROM payments \
         WINDOW TUMBLING (SIZE 106751991167 DAYS, GRACE PERIOD 106751991167 DAYS) \
         GROUP BY id EMIT CHANGES;",
    );
    let size = 106_751_991_167 * 86_400_000;
    for timestamp in [0, 1, size - 1] {
        let rows = query.process(Side::Left, &record(1, 5, timestamp)).unwrap();
        assert_eq!(rows.len(), 1, "at {timestamp}");
    }
    // The next window, [size, 2 * size), ends past the largest timestamp.
    for timestamp in [size, i64::MAX, i64::MIN] {
        let refused = query
            .process(Side::Left, &record(1, 5, timestamp))
            .unwrap_err();
        assert!(
            refused.0.contains("outside the range of timestamps"),
            "{refused}"
        );
    }
}

#[test]
fn records_at_the_largest_timestamp_go_to_the_processing_log_not_a_panic() {
    let mut query = pipeline(
        &[PAYMENTS],
        "SELECT id, COUNT(*) FROM payments \
         WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY id EMIT CHANGES;",
    );
    assert!(query.process(Side::Left, &record(1, 5, i64::MAX)).is_err());
    let rows = query.process(Side::Left, &record(1, 5, 25_000)).unwrap();
    assert!(
        rows.is_empty(),
        "stream time is i64::MAX: the windows are closed"
    );
}

#[test]
fn a_join_with_the_longest_window_and_grace_does_not_overflow() {
    let mut query = pipeline(
        &[PAYMENTS, REFUNDS],
        "SELECT p.id, p.amount, r.amount FROM payments p \
         FULL OUTER JOIN refunds r WITHIN 106751991167 DAYS GRACE PERIOD 106751991167 DAYS \
         ON p.id = r.id EMIT CHANGES;",
    );
    for timestamp in [i64::MIN, -1, 0, i64::MAX] {
        query.process(Side::Left, &record(1, 5, timestamp)).unwrap();
        let rows = query
            .process(Side::Right, &record(1, 7, timestamp))
            .unwrap();
        assert!(!rows.is_empty(), "at {timestamp}");
    }
}
