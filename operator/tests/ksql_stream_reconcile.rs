//! The KsqlStream reconciler against a real broker and ksql server: each step applies a
//! resource (or changes the server by hand over REST), reconciles once, and checks the
//! status, the server's sources and queries, and the topics on the broker.

#[path = "support/ksql.rs"]
mod ksql;
mod support;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use ksql::KsqlServer;
use potok_client::{AdminClient, ClusterConfig};
use potok_operator::reconcile::ksql_stream::rest::{
    delete, observe, reconcile, KsqlClient, RestError,
};
use potok_operator::reconcile::ksql_stream::{reason, ADOPT_ANNOTATION, QUERY_RUNNING};
use potok_operator::reconcile::topic::admin::observe as observe_topic;
use potok_operator::resources::ksql_stream::SourceType;
use potok_operator::resources::{KsqlStream, KsqlStreamSpec};
use support::Broker;

const PAYMENTS: &str = "CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);";
const PAYMENTS_TABLE: &str = "CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;";

fn now() -> Time {
    Time(Timestamp::now())
}

fn resource(name: &str, sql: &str, delete_topic_on_delete: bool) -> KsqlStream {
    let mut stream = KsqlStream::new(
        name,
        KsqlStreamSpec {
            cluster: "potok".into(),
            sql: sql.into(),
            delete_topic_on_delete,
        },
    );
    stream.metadata.generation = Some(1);
    stream
}

/// Reconciles `stream` once, keeps the status in it as the runtime would, and returns the
/// `Ready` condition's status, reason and message.
async fn reconcile_once(stream: &mut KsqlStream, client: &KsqlClient) -> (String, String, String) {
    let reconciled = reconcile(stream, client, &now()).await;
    let ready = reconciled.status.conditions[0].clone();
    stream.status = Some(reconciled.status);
    (ready.status, ready.reason, ready.message)
}

/// A broker, a ksql server on it, and clients of both.
struct Cluster {
    ksql: KsqlClient,
    admin: AdminClient,
    _server: KsqlServer,
    _broker: Broker,
}

fn cluster() -> Cluster {
    let broker = Broker::start();
    let server = KsqlServer::start(&broker);
    Cluster {
        ksql: KsqlClient::new(&server.url),
        admin: AdminClient::new(ClusterConfig::new(&broker.bootstrap).unwrap()),
        _server: server,
        _broker: broker,
    }
}

impl Cluster {
    async fn has_source(&self, name: &str) -> bool {
        observe(&self.ksql).await.unwrap().source(name).is_some()
    }

    /// Whether the broker has topic `name`, after waiting a while for it to become
    /// `expected` (a creation or deletion reaches the broker's metadata shortly after).
    async fn topic_exists(&self, name: &str, expected: bool) -> bool {
        let mut exists = !expected;
        for _ in 0..100 {
            exists = observe_topic(&self.admin, name).await.unwrap().is_some();
            if exists == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        exists
    }
}

#[tokio::test]
async fn the_seed_stream_and_its_table_follow_their_resources() {
    let cluster = cluster();
    let client = &cluster.ksql;

    let mut payments = resource("payments", PAYMENTS, false);
    let (ready, why, message) = reconcile_once(&mut payments, client).await;
    assert_eq!(
        (ready.as_str(), why.as_str()),
        ("True", reason::CREATED),
        "{message}"
    );
    let status = payments.status.clone().unwrap();
    assert_eq!(status.source_name.as_deref(), Some("PAYMENTS"));
    assert_eq!(status.source_type, Some(SourceType::Stream));
    assert_eq!(status.query_id, None);
    assert!(cluster.topic_exists("payments", true).await);
    let (ready, why, _) = reconcile_once(&mut payments, client).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UP_TO_DATE));

    let mut table = resource("payments-table", PAYMENTS_TABLE, true);
    let (ready, why, message) = reconcile_once(&mut table, client).await;
    assert_eq!(
        (ready.as_str(), why.as_str()),
        ("True", reason::CREATED),
        "{message}"
    );
    let status = table.status.clone().unwrap();
    assert_eq!(status.source_name.as_deref(), Some("PAYMENTS_TABLE"));
    assert_eq!(status.source_type, Some(SourceType::Table));
    let query_id = status
        .query_id
        .expect("the CREATE TABLE AS SELECT started a query");
    let (ready, why, message) = reconcile_once(&mut table, client).await;
    assert_eq!(
        (ready.as_str(), why.as_str()),
        ("True", reason::UP_TO_DATE),
        "{message}"
    );
    let status = table.status.clone().unwrap();
    assert_eq!(status.query_id.as_deref(), Some(query_id.as_str()));
    assert_eq!(status.query_state.as_deref(), Some(QUERY_RUNNING));
    let observed = observe(client).await.unwrap();
    let table_topic = observed.source("PAYMENTS_TABLE").unwrap().topic.clone();
    assert!(cluster.topic_exists(&table_topic, true).await);

    // The table reads the stream: ksql refuses to drop the stream first, and says why.
    let refused = delete(&payments, client).await.unwrap_err();
    assert!(
        matches!(&refused, RestError::Refused { message, .. } if message.contains(&query_id)),
        "{refused}"
    );
    assert!(cluster.has_source("PAYMENTS").await);

    // The table goes with its query and, as asked, its topic.
    delete(&table, client).await.unwrap();
    let observed = observe(client).await.unwrap();
    assert!(observed.source("PAYMENTS_TABLE").is_none());
    assert!(
        observed.queries.iter().all(|q| q.id != query_id),
        "{observed:?}"
    );
    assert!(!cluster.topic_exists(&table_topic, false).await);

    // The stream goes; its topic stays.
    delete(&payments, client).await.unwrap();
    assert!(!cluster.has_source("PAYMENTS").await);
    assert!(cluster.topic_exists("payments", true).await);
    delete(&payments, client).await.unwrap();
}

#[tokio::test]
async fn a_stream_dropped_by_hand_is_created_again() {
    let cluster = cluster();
    let client = &cluster.ksql;
    let mut payments = resource("payments", PAYMENTS, false);
    let (ready, _, _) = reconcile_once(&mut payments, client).await;
    assert_eq!(ready, "True");

    client.run("DROP STREAM payments;").await.unwrap();
    assert!(!cluster.has_source("PAYMENTS").await);
    let (ready, why, message) = reconcile_once(&mut payments, client).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::CREATED));
    assert!(message.contains("again"), "{message}");
    assert!(cluster.has_source("PAYMENTS").await);
}

#[tokio::test]
async fn a_broken_statement_reports_ksqls_message() {
    let cluster = cluster();
    let client = &cluster.ksql;
    let mut broken = resource(
        "totals",
        "CREATE TABLE totals AS SELECT name, SUM(amount) AS total FROM nowhere GROUP BY name;",
        false,
    );
    let reconciled = reconcile(&broken, client, &now()).await;
    let error = reconciled.error.expect("ksql refuses the statement");
    let RestError::Refused { message, url, .. } = &error else {
        panic!("not a refusal: {error}");
    };
    assert_eq!(url, client.url());
    let ready = &reconciled.status.conditions[0];
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", reason::STATEMENT_FAILED)
    );
    assert_eq!(&ready.message, message, "ksql's own words");
    assert!(
        ready.message.to_uppercase().contains("NOWHERE"),
        "{}",
        ready.message
    );
    assert_eq!(reconciled.status.source_name, None, "nothing was created");
    broken.status = Some(reconciled.status);
    assert!(!cluster.has_source("TOTALS").await);
    delete(&broken, client).await.unwrap();
}

#[tokio::test]
async fn a_stream_created_by_hand_is_adopted_only_when_annotated() {
    let cluster = cluster();
    let client = &cluster.ksql;
    client.run(PAYMENTS).await.unwrap();

    let mut payments = resource("payments", PAYMENTS, false);
    let (ready, why, message) = reconcile_once(&mut payments, client).await;
    assert_eq!((ready.as_str(), why.as_str()), ("False", reason::NOT_OWNED));
    assert!(message.contains(ADOPT_ANNOTATION), "{message}");
    delete(&payments, client).await.unwrap();
    assert!(
        cluster.has_source("PAYMENTS").await,
        "not this resource's to drop"
    );

    payments
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ADOPT_ANNOTATION.into(), "true".into());
    let (ready, why, _) = reconcile_once(&mut payments, client).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::ADOPTED));
    let (ready, why, _) = reconcile_once(&mut payments, client).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UP_TO_DATE));
    delete(&payments, client).await.unwrap();
    assert!(!cluster.has_source("PAYMENTS").await);
}
