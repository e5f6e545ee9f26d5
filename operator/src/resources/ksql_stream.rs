//! `KsqlStream`: one CREATE STREAM or CREATE TABLE statement (with or without AS SELECT) on
//! a cluster's ksql server. The statement is the resource's identity: once it runs it is
//! never edited in place, as ksqlDB cannot change a running query's definition.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub const CLUSTER_IMMUTABLE: &str = "spec.cluster cannot change: a KsqlStream stays with the cluster it was created on; create a new KsqlStream for another cluster";
pub const SQL_NOT_A_CREATE: &str = "spec.sql must be one CREATE STREAM or CREATE TABLE statement (CREATE [OR REPLACE] [SOURCE] STREAM|TABLE name ..., with or without AS SELECT)";
pub const SQL_IMMUTABLE: &str = "spec.sql cannot change once the statement runs; create a new KsqlStream (or delete this one and create it again) for another statement";

/// A statement as it should run.
// Every printcolumn(...) names its type, which clippy takes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "potok.dev",
    version = "v1alpha1",
    kind = "KsqlStream",
    namespaced,
    status = "KsqlStreamStatus",
    shortname = "ks",
    category = "potok",
    derive = "PartialEq",
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster"),
    printcolumn(name = "Source", type_ = "string", json_path = ".status.sourceName"),
    printcolumn(name = "Type", type_ = "string", json_path = ".status.sourceType"),
    printcolumn(
        name = "Query",
        type_ = "string",
        json_path = ".status.queryId",
        priority = 1
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".status.queryState"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KsqlStreamSpec {
    /// The name of the KafkaCluster, in this namespace, whose ksql server runs the statement.
    #[x_kube(validation = Rule::new("self == oldSelf").message(CLUSTER_IMMUTABLE))]
    pub cluster: String,
    /// One CREATE STREAM or CREATE TABLE statement, with or without AS SELECT.
    #[x_kube(validation = Rule::new(r"self.matches('(?i)^\\s*CREATE\\s+(OR\\s+REPLACE\\s+)?(SOURCE\\s+)?(STREAM|TABLE)\\s+\\S')").message(SQL_NOT_A_CREATE))]
    #[x_kube(validation = Rule::new("self == oldSelf").message(SQL_IMMUTABLE))]
    pub sql: String,
    /// Whether deleting the resource also deletes the topic the statement writes to
    /// (`DROP ... DELETE TOPIC`); by default the topic and its records stay.
    #[serde(default)]
    pub delete_topic_on_delete: bool,
}

/// Whether a statement made a stream or a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceType {
    Stream,
    Table,
}

/// What the operator last saw of the statement on the ksql server.
#[derive(KubeSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlStreamStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and the reasons it is not (a failed statement carries ksql's own message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The stream or table the statement created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<SourceType>,
    /// The persistent query, when the statement runs one (AS SELECT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    /// The query's state as ksql reports it (`RUNNING`, `ERROR`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_state: Option<String>,
}

/// The schema's rules for a new KsqlStream, in Rust.
pub fn validate(spec: &KsqlStreamSpec) -> Result<(), String> {
    if !is_create_statement(&spec.sql) {
        return Err(SQL_NOT_A_CREATE.into());
    }
    Ok(())
}

/// The schema's rules for a change from `old` to `new`, in Rust.
pub fn validate_update(old: &KsqlStreamSpec, new: &KsqlStreamSpec) -> Result<(), String> {
    validate(new)?;
    if new.cluster != old.cluster {
        return Err(CLUSTER_IMMUTABLE.into());
    }
    if new.sql != old.sql {
        return Err(SQL_IMMUTABLE.into());
    }
    Ok(())
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE` followed by a name, in any case: the words
/// the schema's pattern looks for. The ksql server parses the rest.
fn is_create_statement(sql: &str) -> bool {
    let mut words = sql
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .peekable();
    if words.next().as_deref() != Some("CREATE") {
        return false;
    }
    if words.peek().map(String::as_str) == Some("OR") {
        words.next();
        if words.next().as_deref() != Some("REPLACE") {
            return false;
        }
    }
    if words.peek().map(String::as_str) == Some("SOURCE") {
        words.next();
    }
    matches!(words.next().as_deref(), Some("STREAM" | "TABLE")) && words.next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::cel::{as_broken, broken_rules};

    const PAYMENTS: &str = "CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);";

    fn stream(sql: &str) -> KsqlStreamSpec {
        KsqlStreamSpec {
            cluster: "potok".into(),
            sql: sql.into(),
            delete_topic_on_delete: false,
        }
    }

    /// Checks `spec` as a new KsqlStream with the Rust rules and the schema's CEL rules.
    fn check_new(spec: KsqlStreamSpec, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        assert_eq!(validate(&spec), expected, "{spec:?}");
        let resource = KsqlStream::new("payments", spec);
        assert_eq!(
            broken_rules(&resource, None),
            as_broken(expected),
            "CEL: {resource:?}"
        );
    }

    /// Checks a change from `old` to `new` with the Rust rules and the schema's CEL rules.
    fn check_update(old: KsqlStreamSpec, new: KsqlStreamSpec, expected: Result<(), &str>) {
        let expected = expected.map_err(String::from);
        assert_eq!(validate_update(&old, &new), expected, "{old:?} -> {new:?}");
        let (old, new) = (
            KsqlStream::new("payments", old),
            KsqlStream::new("payments", new),
        );
        assert_eq!(
            broken_rules(&new, Some(&old)),
            as_broken(expected),
            "CEL: {old:?} -> {new:?}"
        );
    }

    #[test]
    fn the_example_stream_is_valid() {
        let text = include_str!("../../../examples/streams.yaml");
        let resource: KsqlStream = serde_yaml::from_str(text).unwrap();
        assert_eq!(resource.spec, stream(PAYMENTS));
        check_new(resource.spec, Ok(()));
    }

    #[test]
    fn only_create_stream_and_create_table_statements() {
        check_new(stream(PAYMENTS), Ok(()));
        check_new(
            stream("create table payments_table as select name, count(*) as cnt from payments group by name emit changes;"),
            Ok(()),
        );
        check_new(
            stream(
                "\n  CREATE OR REPLACE STREAM big AS SELECT * FROM payments WHERE amount > 100;",
            ),
            Ok(()),
        );
        check_new(stream("CREATE SOURCE TABLE users (id VARCHAR PRIMARY KEY) WITH (kafka_topic='users', value_format='json');"), Ok(()));
        check_new(
            stream("SELECT * FROM payments EMIT CHANGES;"),
            Err(SQL_NOT_A_CREATE),
        );
        check_new(stream("DROP STREAM payments;"), Err(SQL_NOT_A_CREATE));
        check_new(stream("CREATE STREAMS x;"), Err(SQL_NOT_A_CREATE));
        check_new(stream("CREATE STREAM"), Err(SQL_NOT_A_CREATE));
        check_new(stream("CREATE OR STREAM x (a INT);"), Err(SQL_NOT_A_CREATE));
        check_new(stream(""), Err(SQL_NOT_A_CREATE));
    }

    #[test]
    fn the_statement_and_cluster_are_fixed() {
        check_update(stream(PAYMENTS), stream(PAYMENTS), Ok(()));
        let delete_topic = KsqlStreamSpec {
            delete_topic_on_delete: true,
            ..stream(PAYMENTS)
        };
        check_update(stream(PAYMENTS), delete_topic, Ok(()));
        check_update(
            stream(PAYMENTS),
            stream(&PAYMENTS.replace("partitions=1", "partitions=2")),
            Err(SQL_IMMUTABLE),
        );
        let moved = KsqlStreamSpec {
            cluster: "other".into(),
            ..stream(PAYMENTS)
        };
        check_update(stream(PAYMENTS), moved, Err(CLUSTER_IMMUTABLE));
    }
}
