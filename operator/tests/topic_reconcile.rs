//! The Topic reconciler against a real broker: each step edits the resource (or the live
//! topic by hand), reconciles once, and checks the status and the live topic.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use potok_client::admin::{AlterConfigOp, ConfigResource, NewTopic};
use potok_client::{AdminClient, ClusterConfig};
use potok_operator::reconcile::topic::admin::{observe, reconcile};
use potok_operator::reconcile::topic::{reason, ConfigSource, ObservedTopic, ADOPT_ANNOTATION};
use potok_operator::resources::{Topic, TopicSpec};
use support::Broker;

fn now() -> Time {
    Time(Timestamp::now())
}

fn orders() -> Topic {
    let mut topic = Topic::new(
        "orders",
        TopicSpec {
            cluster: "potok".into(),
            topic_name: None,
            partitions: 3,
            replicas: 1,
            config: BTreeMap::from([("retention.ms".into(), "3600000".into())]),
            deletion_policy: Default::default(),
        },
    );
    topic.metadata.generation = Some(1);
    topic
}

/// Reconciles `topic` once, keeps the status in it as the runtime would, and returns the
/// `Ready` condition's status, reason and message.
async fn reconcile_once(topic: &mut Topic, admin: &AdminClient) -> (String, String, String) {
    let reconciled = reconcile(topic, admin, &now()).await;
    let ready = reconciled.status.conditions[0].clone();
    topic.status = Some(reconciled.status);
    (ready.status, ready.reason, ready.message)
}

/// The live topic once the broker reports it (metadata reaches it shortly after a create).
async fn live(admin: &AdminClient, name: &str) -> ObservedTopic {
    for _ in 0..100 {
        if let Some(topic) = observe(admin, name).await.unwrap() {
            return topic;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("topic {name} never appeared");
}

/// The value of `name` when it is set on the topic itself.
fn on_topic<'a>(topic: &'a ObservedTopic, name: &str) -> Option<&'a str> {
    topic
        .configs
        .get(name)
        .filter(|c| c.source == ConfigSource::Topic)
        .and_then(|c| c.value.as_deref())
}

#[tokio::test]
async fn a_topic_follows_its_spec() {
    let broker = Broker::start();
    let admin = AdminClient::new(ClusterConfig::new(&broker.bootstrap).unwrap());
    let mut topic = orders();

    let (ready, why, _) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::CREATED));
    let created = live(&admin, "orders").await;
    assert_eq!(created.partition_replicas, [[1], [1], [1]]);
    assert_eq!(on_topic(&created, "retention.ms"), Some("3600000"));

    let (ready, why, _) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UP_TO_DATE));
    let status = topic.status.as_ref().unwrap();
    assert_eq!(status.topic_id.as_deref(), Some(created.id.as_str()));

    // More partitions and another config.
    topic.spec.partitions = 5;
    topic
        .spec
        .config
        .insert("cleanup.policy".into(), "compact".into());
    topic.metadata.generation = Some(2);
    let (ready, why, message) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UPDATED));
    assert!(message.contains("partitions 3 → 5"), "{message}");
    let grown = live(&admin, "orders").await;
    assert_eq!(grown.partitions(), 5);
    assert_eq!(on_topic(&grown, "cleanup.policy"), Some("compact"));

    // Changed by hand with kafka-configs: reverted on the next reconcile.
    let by_hand = vec![
        AlterConfigOp::Set("retention.ms".into(), "1000".into()),
        AlterConfigOp::Set("segment.ms".into(), "60000".into()),
    ];
    let results = admin
        .incremental_alter_configs(&[(ConfigResource::topic("orders"), by_hand)], false)
        .await
        .unwrap();
    assert!(results[0].1.is_ok(), "{results:?}");
    let (ready, why, message) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UPDATED));
    assert!(message.contains("retention.ms 1000 → 3600000"), "{message}");
    let reverted = live(&admin, "orders").await;
    assert_eq!(on_topic(&reverted, "retention.ms"), Some("3600000"));
    assert_eq!(on_topic(&reverted, "segment.ms"), None);

    // Fewer partitions: refused, the topic keeps its 5.
    topic.spec.partitions = 2;
    let (ready, why, _) = reconcile_once(&mut topic, &admin).await;
    assert_eq!(
        (ready.as_str(), why.as_str()),
        ("False", reason::NOT_SUPPORTED)
    );
    assert_eq!(live(&admin, "orders").await.partitions(), 5);
}

#[tokio::test]
async fn a_config_the_broker_refuses_is_reported() {
    let broker = Broker::start();
    let admin = AdminClient::new(ClusterConfig::new(&broker.bootstrap).unwrap());
    let mut topic = orders();
    topic
        .spec
        .config
        .insert("retention.ms".into(), "an hour".into());
    let reconciled = reconcile(&topic, &admin, &now()).await;
    let error = reconciled.error.expect("the broker refuses the value");
    let ready = &reconciled.status.conditions[0];
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason, "InvalidConfig");
    assert_eq!(error.reason(), "InvalidConfig");
    assert!(!error.is_retriable());
    assert!(
        ready
            .message
            .contains("CreateTopics for topic orders failed")
            && ready.message.contains("retention.ms"),
        "{}",
        ready.message
    );
    assert_eq!(reconciled.status.topic_name, None, "nothing was created");
    assert!(observe(&admin, "orders").await.unwrap().is_none());
}

#[tokio::test]
async fn a_topic_created_by_hand_is_adopted_only_when_annotated() {
    let broker = Broker::start();
    let admin = AdminClient::new(ClusterConfig::new(&broker.bootstrap).unwrap());
    let by_hand = NewTopic {
        name: "orders".into(),
        partitions: Some(3),
        replication_factor: Some(1),
        configs: vec![("segment.ms".into(), "60000".into())],
        ..NewTopic::default()
    };
    let results = admin.create_topics(&[by_hand], false).await.unwrap();
    assert!(results["orders"].is_ok(), "{results:?}");
    live(&admin, "orders").await;

    let mut topic = orders();
    let (ready, why, message) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("False", reason::NOT_OWNED));
    assert!(message.contains(ADOPT_ANNOTATION), "{message}");
    assert_eq!(
        on_topic(&live(&admin, "orders").await, "segment.ms"),
        Some("60000")
    );

    topic
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ADOPT_ANNOTATION.into(), "true".into());
    let (ready, why, _) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::ADOPTED));
    let adopted = live(&admin, "orders").await;
    assert_eq!(on_topic(&adopted, "segment.ms"), None);
    assert_eq!(on_topic(&adopted, "retention.ms"), Some("3600000"));

    let (ready, why, _) = reconcile_once(&mut topic, &admin).await;
    assert_eq!((ready.as_str(), why.as_str()), ("True", reason::UP_TO_DATE));
}
