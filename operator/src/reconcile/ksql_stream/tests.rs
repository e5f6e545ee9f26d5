//! Every decision of the KsqlStream reconciler, one story per test: given this resource and
//! what the ksql server runs, these statements and this status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::reconcile::condition::ready;
use crate::resources::ksql_stream::{KsqlStreamSpec, SQL_NOT_A_CREATE};

const GENERATION: i64 = 2;
const PAYMENTS: &str = "CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);";
const PAYMENTS_TABLE: &str = "CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;";

fn now() -> Time {
    Time(Timestamp::from_second(1_000).unwrap())
}

fn resource(sql: &str) -> KsqlStream {
    let mut stream = KsqlStream::new(
        "payments",
        KsqlStreamSpec {
            cluster: "potok".into(),
            sql: sql.into(),
            delete_topic_on_delete: false,
        },
    );
    stream.metadata.generation = Some(GENERATION);
    stream
}

/// `stream` as this resource left it after creating its source and seeing its query.
fn owned(
    mut stream: KsqlStream,
    name: &str,
    source_type: SourceType,
    query: Option<&str>,
) -> KsqlStream {
    stream.status = Some(KsqlStreamStatus {
        observed_generation: Some(GENERATION - 1),
        conditions: vec![ready(
            true,
            reason::CREATED,
            "created",
            Some(1),
            &Time(Timestamp::from_second(10).unwrap()),
        )],
        source_name: Some(name.into()),
        source_type: Some(source_type),
        query_id: query.map(String::from),
        query_state: query.map(|_| QUERY_RUNNING.into()),
    });
    stream
}

fn adopt(mut stream: KsqlStream, value: &str) -> KsqlStream {
    stream
        .annotations_mut()
        .insert(ADOPT_ANNOTATION.into(), value.into());
    stream
}

fn source(name: &str, source_type: SourceType) -> ObservedSource {
    ObservedSource {
        name: name.into(),
        source_type,
        topic: name.to_ascii_lowercase(),
    }
}

fn query(id: &str, state: &str, sink: &str) -> ObservedQuery {
    ObservedQuery {
        id: id.into(),
        state: state.into(),
        sinks: vec![sink.into()],
    }
}

fn server(sources: Vec<ObservedSource>, queries: Vec<ObservedQuery>) -> ObservedServer {
    ObservedServer { sources, queries }
}

/// The seed's stream and the table counting its payments, both running.
fn seed_server(table_query_state: &str) -> ObservedServer {
    server(
        vec![
            source("PAYMENTS", SourceType::Stream),
            source("PAYMENTS_TABLE", SourceType::Table),
        ],
        vec![query(
            "CTAS_PAYMENTS_TABLE_1",
            table_query_state,
            "PAYMENTS_TABLE",
        )],
    )
}

fn ready_condition(plan: &KsqlStreamPlan) -> &Condition {
    let conditions = &plan.status.conditions;
    assert_eq!(conditions.len(), 1, "{conditions:?}");
    &conditions[0]
}

/// Checks the `Ready` condition's status, reason and that its message contains each of
/// `words`.
fn assert_ready(plan: &KsqlStreamPlan, status: &str, reason: &str, words: &[&str]) {
    let condition = ready_condition(plan);
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        (status, reason),
        "{condition:?}"
    );
    for word in words {
        assert!(
            condition.message.contains(word),
            "{word:?} not in {:?}",
            condition.message
        );
    }
    assert_eq!(condition.observed_generation, Some(GENERATION));
    assert_eq!(plan.status.observed_generation, Some(GENERATION));
}

fn source_of(plan: &KsqlStreamPlan) -> (Option<&str>, Option<SourceType>) {
    (plan.status.source_name.as_deref(), plan.status.source_type)
}

fn query_of(plan: &KsqlStreamPlan) -> (Option<&str>, Option<&str>) {
    (
        plan.status.query_id.as_deref(),
        plan.status.query_state.as_deref(),
    )
}

#[test]
fn an_absent_stream_is_created_with_the_statement() {
    let plan = plan(&resource(PAYMENTS), &ObservedServer::default(), &now());
    assert_eq!(
        plan.actions,
        [KsqlStreamAction::Submit {
            sql: PAYMENTS.into()
        }]
    );
    assert_ready(&plan, "True", reason::CREATED, &["created stream PAYMENTS"]);
    assert_eq!(
        source_of(&plan),
        (Some("PAYMENTS"), Some(SourceType::Stream))
    );
    assert_eq!(query_of(&plan), (None, None));
}

#[test]
fn an_absent_table_as_select_is_created_and_its_query_recorded_once_started() {
    let resource = resource(PAYMENTS_TABLE);
    let observed = server(vec![source("PAYMENTS", SourceType::Stream)], Vec::new());
    let mut plan = plan(&resource, &observed, &now());
    assert_eq!(
        plan.actions,
        [KsqlStreamAction::Submit {
            sql: PAYMENTS_TABLE.into()
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::CREATED,
        &["created table PAYMENTS_TABLE"],
    );
    assert_eq!(
        source_of(&plan),
        (Some("PAYMENTS_TABLE"), Some(SourceType::Table))
    );
    record_started_query(&mut plan.status, Some("CTAS_PAYMENTS_TABLE_1".into()));
    assert_eq!(query_of(&plan), (Some("CTAS_PAYMENTS_TABLE_1"), None));
}

#[test]
fn a_statement_without_a_query_records_none() {
    let mut status = KsqlStreamStatus {
        query_id: Some("CSAS_OLD_1".into()),
        ..KsqlStreamStatus::default()
    };
    record_started_query(&mut status, None);
    assert_eq!(status.query_id.as_deref(), Some("CSAS_OLD_1"));
}

#[test]
fn a_source_dropped_by_hand_is_created_again() {
    let resource = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    let plan = plan(&resource, &ObservedServer::default(), &now());
    assert_eq!(
        plan.actions,
        [KsqlStreamAction::Submit {
            sql: PAYMENTS.into()
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::CREATED,
        &["again", "dropped outside the operator"],
    );
}

#[test]
fn a_table_dropped_by_hand_forgets_its_old_query() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        Some("CTAS_PAYMENTS_TABLE_1"),
    );
    let observed = server(vec![source("PAYMENTS", SourceType::Stream)], Vec::new());
    let plan = plan(&resource, &observed, &now());
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(query_of(&plan), (None, None));
}

#[test]
fn a_managed_stream_is_left_as_it_is() {
    let resource = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_ready(
        &plan,
        "True",
        reason::UP_TO_DATE,
        &["stream PAYMENTS exists"],
    );
    assert_eq!(
        source_of(&plan),
        (Some("PAYMENTS"), Some(SourceType::Stream))
    );
    assert_eq!(query_of(&plan), (None, None));
}

#[test]
fn the_transition_time_stays_while_ready() {
    let resource = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
    let condition = ready_condition(&plan);
    assert_eq!(
        condition.last_transition_time,
        Time(Timestamp::from_second(10).unwrap())
    );
}

#[test]
fn a_running_query_is_recorded_with_its_state() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        None,
    );
    let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
    assert!(plan.actions.is_empty());
    assert_ready(
        &plan,
        "True",
        reason::UP_TO_DATE,
        &["CTAS_PAYMENTS_TABLE_1 is running"],
    );
    assert_eq!(
        query_of(&plan),
        (Some("CTAS_PAYMENTS_TABLE_1"), Some("RUNNING"))
    );
}

#[test]
fn a_query_in_error_is_reported() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        Some("CTAS_PAYMENTS_TABLE_1"),
    );
    let plan = plan(&resource, &seed_server(QUERY_ERROR), &now());
    assert!(plan.actions.is_empty());
    assert_ready(
        &plan,
        "False",
        reason::QUERY_FAILED,
        &["CTAS_PAYMENTS_TABLE_1", "ERROR", "processing log"],
    );
    assert_eq!(
        query_of(&plan),
        (Some("CTAS_PAYMENTS_TABLE_1"), Some("ERROR"))
    );
    let condition = ready_condition(&plan);
    assert_eq!(condition.last_transition_time, now(), "the status changed");
}

#[test]
fn a_query_in_another_state_is_not_ready() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        None,
    );
    for state in ["PAUSED", "UNRESPONSIVE", "PENDING_SHUTDOWN"] {
        let plan = plan(&resource, &seed_server(state), &now());
        assert_ready(&plan, "False", reason::QUERY_NOT_RUNNING, &[state]);
        assert_eq!(
            query_of(&plan),
            (Some("CTAS_PAYMENTS_TABLE_1"), Some(state))
        );
    }
}

#[test]
fn a_query_terminated_by_hand_is_reported() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        Some("CTAS_PAYMENTS_TABLE_1"),
    );
    let mut observed = seed_server(QUERY_RUNNING);
    observed.queries.clear();
    let plan = plan(&resource, &observed, &now());
    assert!(plan.actions.is_empty(), "the source is not dropped");
    assert_ready(
        &plan,
        "False",
        reason::QUERY_NOT_RUNNING,
        &[
            "no query writes into table PAYMENTS_TABLE",
            "terminated outside the operator",
        ],
    );
    assert_eq!(query_of(&plan), (Some("CTAS_PAYMENTS_TABLE_1"), None));
}

#[test]
fn the_query_the_statement_started_is_told_from_insert_into_queries() {
    let resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        None,
    );
    let mut observed = seed_server(QUERY_RUNNING);
    observed
        .queries
        .insert(0, query("INSERTQUERY_7", QUERY_ERROR, "PAYMENTS_TABLE"));
    let plan = plan(&resource, &observed, &now());
    assert_eq!(
        query_of(&plan),
        (Some("CTAS_PAYMENTS_TABLE_1"), Some("RUNNING"))
    );

    let recorded = owned(
        self::resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        Some("INSERTQUERY_7"),
    );
    let plan = super::plan(&recorded, &observed, &now());
    assert_eq!(query_of(&plan), (Some("INSERTQUERY_7"), Some("ERROR")));
}

#[test]
fn a_source_made_by_hand_is_not_taken_over() {
    for resource in [resource(PAYMENTS), adopt(resource(PAYMENTS), "yes")] {
        let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        assert_ready(
            &plan,
            "False",
            reason::NOT_OWNED,
            &["PAYMENTS already exists", ADOPT_ANNOTATION],
        );
        assert_eq!(source_of(&plan), (None, None), "no ownership recorded");
        assert!(plan_delete(&resource, &seed_server(QUERY_RUNNING)).is_empty());
    }
}

#[test]
fn an_annotated_resource_adopts_the_source() {
    let resource = adopt(resource(PAYMENTS_TABLE), "true");
    let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
    assert!(plan.actions.is_empty());
    assert_ready(
        &plan,
        "True",
        reason::ADOPTED,
        &["adopted table PAYMENTS_TABLE"],
    );
    assert_eq!(
        source_of(&plan),
        (Some("PAYMENTS_TABLE"), Some(SourceType::Table))
    );
    assert_eq!(
        query_of(&plan),
        (Some("CTAS_PAYMENTS_TABLE_1"), Some("RUNNING"))
    );
}

#[test]
fn a_source_of_the_other_type_is_a_conflict_even_when_adopting() {
    let table = "CREATE TABLE payments (name VARCHAR PRIMARY KEY, amount INTEGER) WITH (kafka_topic='payments', value_format='json');";
    for resource in [resource(table), adopt(resource(table), "true")] {
        let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
        assert!(plan.actions.is_empty());
        assert_ready(
            &plan,
            "False",
            reason::CONFLICT,
            &["PAYMENTS is a STREAM", "creates a TABLE"],
        );
        assert_eq!(source_of(&plan), (None, None));
    }
}

#[test]
fn an_invalid_spec_is_refused_before_anything_runs() {
    for sql in [
        "SELECT * FROM payments EMIT CHANGES;",
        "DROP STREAM payments;",
        "",
    ] {
        let plan = plan(&resource(sql), &ObservedServer::default(), &now());
        assert!(plan.actions.is_empty());
        assert_ready(&plan, "False", reason::INVALID, &[SQL_NOT_A_CREATE]);
        assert_eq!(source_of(&plan), (None, None));
    }
    let unterminated =
        "CREATE STREAM `payments (name VARCHAR) WITH (kafka_topic='p', value_format='json');";
    let plan = plan(&resource(unterminated), &ObservedServer::default(), &now());
    assert!(plan.actions.is_empty());
    assert_ready(&plan, "False", reason::INVALID, &["unterminated ` quote"]);
}

#[test]
fn a_changed_statement_is_refused_and_the_old_source_kept() {
    let renamed = owned(
        resource(&PAYMENTS.replace("payments (", "payouts (")),
        "PAYMENTS",
        SourceType::Stream,
        None,
    );
    let retyped = owned(
        resource("CREATE TABLE payments AS SELECT name, COUNT(*) FROM src GROUP BY name;"),
        "PAYMENTS",
        SourceType::Stream,
        None,
    );
    for resource in [renamed, retyped] {
        let plan = plan(&resource, &ObservedServer::default(), &now());
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        assert_ready(&plan, "False", reason::INVALID, &[SQL_IMMUTABLE]);
        assert_eq!(
            source_of(&plan),
            (Some("PAYMENTS"), Some(SourceType::Stream))
        );
    }
}

#[test]
fn a_failed_statement_keeps_the_last_seen_source() {
    let resource = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    let status = failed(
        &resource,
        reason::STATEMENT_FAILED,
        "Topic 'payments' does not exist".into(),
        &now(),
    );
    let condition = &status.conditions[0];
    assert_eq!(
        (
            condition.status.as_str(),
            condition.reason.as_str(),
            condition.message.as_str()
        ),
        (
            "False",
            reason::STATEMENT_FAILED,
            "Topic 'payments' does not exist"
        )
    );
    assert_eq!(condition.last_transition_time, now());
    assert_eq!(status.source_name.as_deref(), Some("PAYMENTS"));
    assert_eq!(status.observed_generation, Some(GENERATION));

    let new = failed(
        &self::resource(PAYMENTS),
        reason::STATEMENT_FAILED,
        "no".into(),
        &now(),
    );
    assert_eq!(new.source_name, None, "nothing was created");
}

#[test]
fn statements_as_sent_to_ksql() {
    let submit = KsqlStreamAction::Submit {
        sql: "  CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='json');\n".into(),
    };
    assert_eq!(
        submit.statement(),
        "CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='json');"
    );
    let without_semicolon = KsqlStreamAction::Submit {
        sql: "CREATE STREAM s AS SELECT * FROM t".into(),
    };
    assert_eq!(
        without_semicolon.statement(),
        "CREATE STREAM s AS SELECT * FROM t;"
    );
    let terminate = KsqlStreamAction::Terminate {
        query_id: "CTAS_PAYMENTS_TABLE_1".into(),
    };
    assert_eq!(terminate.statement(), "TERMINATE CTAS_PAYMENTS_TABLE_1;");
    let drop = |source_type, delete_topic| KsqlStreamAction::Drop {
        name: "PAYMENTS".into(),
        source_type,
        delete_topic,
    };
    assert_eq!(
        drop(SourceType::Stream, false).statement(),
        "DROP STREAM `PAYMENTS`;"
    );
    assert_eq!(
        drop(SourceType::Table, true).statement(),
        "DROP TABLE `PAYMENTS` DELETE TOPIC;"
    );
}

#[test]
fn deleting_a_stream_drops_it_and_keeps_its_topic_unless_asked() {
    let resource = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    let drop = |delete_topic| KsqlStreamAction::Drop {
        name: "PAYMENTS".into(),
        source_type: SourceType::Stream,
        delete_topic,
    };
    assert_eq!(
        plan_delete(&resource, &seed_server(QUERY_RUNNING)),
        [drop(false)]
    );
    let mut deleting_topic = resource;
    deleting_topic.spec.delete_topic_on_delete = true;
    assert_eq!(
        plan_delete(&deleting_topic, &seed_server(QUERY_RUNNING)),
        [drop(true)]
    );
}

#[test]
fn deleting_a_table_as_select_terminates_its_queries_first() {
    let mut resource = owned(
        resource(PAYMENTS_TABLE),
        "PAYMENTS_TABLE",
        SourceType::Table,
        Some("CTAS_PAYMENTS_TABLE_1"),
    );
    resource.spec.delete_topic_on_delete = true;
    let mut observed = seed_server(QUERY_ERROR);
    observed
        .queries
        .push(query("INSERTQUERY_2", QUERY_RUNNING, "PAYMENTS_TABLE"));
    observed
        .queries
        .push(query("CSAS_OTHER_3", QUERY_RUNNING, "OTHER"));
    assert_eq!(
        plan_delete(&resource, &observed),
        [
            KsqlStreamAction::Terminate {
                query_id: "CTAS_PAYMENTS_TABLE_1".into()
            },
            KsqlStreamAction::Terminate {
                query_id: "INSERTQUERY_2".into()
            },
            KsqlStreamAction::Drop {
                name: "PAYMENTS_TABLE".into(),
                source_type: SourceType::Table,
                delete_topic: true,
            },
        ]
    );
}

#[test]
fn deleting_leaves_what_is_gone_or_not_this_resources() {
    let owned_stream = owned(resource(PAYMENTS), "PAYMENTS", SourceType::Stream, None);
    assert!(
        plan_delete(&owned_stream, &ObservedServer::default()).is_empty(),
        "already dropped"
    );
    assert!(
        plan_delete(&resource(PAYMENTS), &seed_server(QUERY_RUNNING)).is_empty(),
        "never created"
    );
    let retyped_by_hand = server(vec![source("PAYMENTS", SourceType::Table)], Vec::new());
    assert!(
        plan_delete(&owned_stream, &retyped_by_hand).is_empty(),
        "another type now"
    );
    let invalid = owned(resource("SELECT 1;"), "PAYMENTS", SourceType::Stream, None);
    assert_eq!(
        plan_delete(&invalid, &seed_server(QUERY_RUNNING)).len(),
        1,
        "what the resource made goes, whatever its spec says now"
    );
}

#[test]
fn an_adopted_source_is_dropped_on_delete() {
    let resource = adopt(resource(PAYMENTS_TABLE), "true");
    let plan = plan(&resource, &seed_server(QUERY_RUNNING), &now());
    let mut adopted = resource;
    adopted.status = Some(plan.status);
    assert_eq!(
        plan_delete(&adopted, &seed_server(QUERY_RUNNING)),
        [
            KsqlStreamAction::Terminate {
                query_id: "CTAS_PAYMENTS_TABLE_1".into()
            },
            KsqlStreamAction::Drop {
                name: "PAYMENTS_TABLE".into(),
                source_type: SourceType::Table,
                delete_topic: false,
            },
        ]
    );
}

#[test]
fn quoted_names_are_found_as_written() {
    let sql =
        "CREATE STREAM `Payments` (name VARCHAR) WITH (kafka_topic='p', value_format='json');";
    let observed = server(vec![source("PAYMENTS", SourceType::Stream)], Vec::new());
    let plan = plan(&resource(sql), &observed, &now());
    assert_eq!(plan.actions, [KsqlStreamAction::Submit { sql: sql.into() }]);
    assert_eq!(
        source_of(&plan),
        (Some("Payments"), Some(SourceType::Stream))
    );
}
