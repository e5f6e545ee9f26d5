//! One reconcile of a `Topic` on Kubernetes: resolve its KafkaCluster, refuse a second
//! Topic for the same live topic, run the shared Topic reconciler over the admin API and
//! write the status; on deletion, delete the live topic (as the deletion policy says)
//! before the finalizer goes.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::cluster::{self, Refusal};
use super::{
    announce, conditions_of, key, now, patch_status, ready, with_finalizer, Context, Error,
    PROGRESS_INTERVAL,
};
use crate::reconcile::topic::{self, admin, reason, FINALIZER};
use crate::resources::Topic;

/// Reconciles `topic`: adds the finalizer first, then applies the spec to the live topic
/// and writes the status; for a deleted Topic, deletes the live topic and lets it go.
pub async fn reconcile_topic(topic: Arc<Topic>, ctx: Arc<Context>) -> Result<Action, Error> {
    with_finalizer(
        topic,
        &ctx,
        FINALIZER,
        |topic, api| apply(topic, api, &ctx),
        |topic| cleanup(topic, &ctx),
    )
    .await
}

async fn apply(topic: Arc<Topic>, api: Api<Topic>, ctx: &Context) -> Result<Action, Error> {
    let key = key(topic.as_ref());
    let namespace = topic.namespace().unwrap_or_default();
    let found = cluster::get(&ctx.client, &namespace, &topic.spec.cluster).await?;
    let bootstrap = match cluster::bootstrap_servers(found.as_ref(), &topic.spec.cluster) {
        Ok(bootstrap) => bootstrap,
        Err(refusal) => return refuse(&topic, &api, ctx, refusal).await,
    };
    let all = ctx.topics_in(&namespace).await;
    if let Some(message) = topic::conflict(&topic, &all) {
        let refusal = Refusal {
            reason: reason::RESOURCE_CONFLICT,
            message,
        };
        return refuse(&topic, &api, ctx, refusal).await;
    }
    let admin_client = ctx.connect.admin(&bootstrap)?;
    let name = topic::topic_name(&topic);
    let topic = if !topic::claims(&topic, &name)
        && matches!(admin::observe(&admin_client, &name).await, Ok(None))
    {
        let status = topic::claim(&topic, &name, &now());
        patch_status(&api, topic.as_ref(), &status).await?;
        let mut claimed = Topic::clone(&topic);
        claimed.status = Some(status);
        Arc::new(claimed)
    } else {
        topic
    };
    let reconciled = admin::reconcile(&topic, &admin_client, &now()).await;
    patch_status(&api, topic.as_ref(), &reconciled.status).await?;
    let before = conditions_of(topic.status.as_ref(), |s| &s.conditions);
    announce(ctx, topic.as_ref(), &before, &reconciled.status.conditions).await;
    let (ready_reason, message) = ready(&reconciled.status.conditions);
    match reconciled.error {
        Some(error) if error.is_retriable() => Err(error.into()),
        Some(error) => {
            tracing::warn!("{key}: {ready_reason}: {error}; waiting for an edit");
            Ok(Action::requeue(ctx.resync))
        }
        None if ready_reason == reason::REASSIGNING => {
            tracing::info!("{key}: {ready_reason}: {message}");
            Ok(Action::requeue(PROGRESS_INTERVAL))
        }
        None => {
            tracing::info!("{key}: {ready_reason}: {message}");
            Ok(Action::requeue(ctx.resync))
        }
    }
}

/// Reports that `topic` cannot be reconciled now, and when to look again.
async fn refuse(
    topic: &Topic,
    api: &Api<Topic>,
    ctx: &Context,
    refusal: Refusal,
) -> Result<Action, Error> {
    let status = topic::failed(topic, refusal.reason, refusal.message.clone(), &now());
    patch_status(api, topic, &status).await?;
    let before = conditions_of(topic.status.as_ref(), |s| &s.conditions);
    announce(ctx, topic, &before, &status.conditions).await;
    tracing::warn!("{}: {}: {}", key(topic), refusal.reason, refusal.message);
    Ok(Action::requeue(refusal.retry_after(ctx)))
}

/// Deletes the live topic unless it is retained or was never this Topic's. A KafkaCluster
/// that is gone took its topics along, so the Topic may go too; one that is not reachable
/// yet makes the deletion wait.
async fn cleanup(topic: Arc<Topic>, ctx: &Context) -> Result<Action, Error> {
    let key = key(topic.as_ref());
    let namespace = topic.namespace().unwrap_or_default();
    let found = cluster::get(&ctx.client, &namespace, &topic.spec.cluster).await?;
    let Some(found) = found else {
        tracing::info!(
            "{key}: deleted; its KafkaCluster {} is gone, and its topic with it",
            topic.spec.cluster
        );
        return Ok(Action::await_change());
    };
    let bootstrap = cluster::bootstrap_servers(Some(&found), &topic.spec.cluster)
        .map_err(|refusal| Error::ClusterNotReady(refusal.message))?;
    let admin_client = ctx.connect.admin(&bootstrap)?;
    let done = admin::delete(&topic, &admin_client).await?;
    tracing::info!("{key}: deleted; {done}");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use k8s_openapi::jiff::Timestamp;
    use serde_json::Value;

    use super::*;
    use crate::kubernetes::fixtures::broker::Broker;
    use crate::kubernetes::fixtures::{cluster, deleting, finalized, in_namespace, run};
    use crate::kubernetes::{error_policy, Connect, ServiceConnections};
    use crate::reconcile::condition::reason::CLUSTER_NOT_FOUND;
    use crate::reconcile::topic::ObservedTopic;
    use crate::resources::topic::DeletionPolicy;
    use crate::resources::{TopicSpec, TopicStatus};

    fn orders() -> Topic {
        in_namespace(Topic::new(
            "orders",
            TopicSpec {
                cluster: "potok".into(),
                topic_name: None,
                partitions: 3,
                replicas: 3,
                config: BTreeMap::from([("min.insync.replicas".into(), "2".into())]),
                deletion_policy: DeletionPolicy::Delete,
            },
        ))
    }

    /// `orders` as the operator left it once it created the live topic.
    fn managed_orders() -> Topic {
        let mut topic = finalized(orders(), FINALIZER);
        topic.status = Some(TopicStatus {
            topic_name: Some("orders".into()),
            ..TopicStatus::default()
        });
        topic
    }

    fn ready_condition(status: &Value) -> &Value {
        let conditions = status["conditions"].as_array().expect("conditions");
        assert_eq!(conditions.len(), 1, "{status}");
        assert_eq!(conditions[0]["type"], "Ready");
        &conditions[0]
    }

    #[tokio::test]
    async fn a_topic_without_the_finalizer_gets_it_before_anything_else() {
        let (ctx, mut api, asked) = Context::mocked();
        let topic = orders();
        let expected = topic.clone();
        let scenario = async move { api.finalizer_added(&expected, FINALIZER).await };
        let action = run(reconcile_topic(Arc::new(topic), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
        assert!(asked.lock().unwrap().is_empty(), "no cluster was reached");
    }

    #[tokio::test]
    async fn a_topic_on_a_missing_cluster_is_refused_in_its_status() {
        let (ctx, mut api, asked) = Context::mocked();
        let topic = finalized(orders(), FINALIZER);
        let expected = topic.clone();
        let scenario = async move {
            api.cluster_read("potok", None).await;
            let status = api.status_applied(&expected).await;
            assert_eq!(status["observedGeneration"], 2);
            let ready = ready_condition(&status);
            assert_eq!(ready["status"], "False");
            assert_eq!(ready["reason"], CLUSTER_NOT_FOUND);
            assert_eq!(ready["observedGeneration"], 2);
            let message = ready["message"].as_str().unwrap();
            assert!(message.contains("no KafkaCluster potok"), "{message}");
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx.clone()), scenario).await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
        assert!(asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_cluster_without_bootstrap_servers_is_waited_for() {
        let (ctx, mut api, _) = Context::mocked();
        let topic = finalized(orders(), FINALIZER);
        let expected = topic.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(None, false))).await;
            let status = api.status_applied(&expected).await;
            assert_eq!(
                ready_condition(&status)["reason"],
                cluster::reason::CLUSTER_NOT_READY
            );
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::requeue(PROGRESS_INTERVAL));
    }

    #[tokio::test]
    async fn a_second_topic_for_the_same_live_topic_is_refused() {
        let mut older = managed_orders();
        older.metadata.name = Some("orders-first".into());
        older.spec.topic_name = Some("orders".into());
        older.metadata.creation_timestamp =
            Some(Timestamp::from_second(1_600_000_000).unwrap().into());
        let topic = finalized(orders(), FINALIZER);
        let expected = topic.clone();
        let (ctx, mut api, asked) = Context::mocked_knowing(&[older, topic.clone()]);
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), false)))
                .await;
            let status = api.status_applied(&expected).await;
            let ready = ready_condition(&status);
            assert_eq!(ready["reason"], reason::RESOURCE_CONFLICT);
            assert!(ready["message"]
                .as_str()
                .unwrap()
                .contains("older Topic orders-first"));
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx.clone()), scenario).await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
        assert!(asked.lock().unwrap().is_empty(), "no cluster was reached");
    }

    #[tokio::test]
    async fn an_unreachable_cluster_is_reported_and_retried_with_growing_pauses() {
        let (ctx, mut api, asked) = Context::mocked();
        let topic = finalized(orders(), FINALIZER);
        let expected = topic.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka-0.potok:9092"), false)))
                .await;
            let status = api.status_applied(&expected).await;
            let ready = ready_condition(&status);
            assert_eq!(ready["status"], "False");
            assert_eq!(ready["reason"], "ClusterUnavailable");
        };
        let topic = Arc::new(topic);
        let error = run(reconcile_topic(topic.clone(), ctx.clone()), scenario)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Finalizer(_)), "{error}");
        assert_eq!(*asked.lock().unwrap(), ["kafka-0.potok:9092"]);
        // The first pause is at most a second; each failure after it doubles the pause.
        let first = error_policy(topic.clone(), &error, ctx.clone());
        assert_ne!(first, Action::requeue(ctx.resync));
        let second = ctx.next_retry(&key(topic.as_ref()));
        let third = ctx.next_retry(&key(topic.as_ref()));
        assert!(second >= Duration::from_secs(1), "{second:?}");
        assert!(third >= Duration::from_secs(2), "{third:?}");
    }

    #[tokio::test]
    async fn a_deleted_topic_on_an_unreachable_cluster_keeps_its_finalizer() {
        let (ctx, mut api, asked) = Context::mocked();
        let topic = deleting(managed_orders());
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), false)))
                .await;
        };
        let error = run(reconcile_topic(Arc::new(topic), ctx), scenario)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("clean up"), "{error}");
        assert_eq!(*asked.lock().unwrap(), ["kafka:9092"]);
    }

    #[tokio::test]
    async fn a_deleted_topic_that_is_retained_loses_only_its_finalizer() {
        let (ctx, mut api, _) = Context::mocked();
        let mut topic = deleting(managed_orders());
        topic.spec.deletion_policy = DeletionPolicy::Retain;
        let expected = topic.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), false)))
                .await;
            api.finalizer_removed(&expected, FINALIZER).await;
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
    }

    #[tokio::test]
    async fn a_deleted_topic_whose_cluster_is_gone_loses_its_finalizer() {
        let (ctx, mut api, asked) = Context::mocked();
        let topic = deleting(managed_orders());
        let expected = topic.clone();
        let scenario = async move {
            api.cluster_read("potok", None).await;
            api.finalizer_removed(&expected, FINALIZER).await;
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
        assert!(asked.lock().unwrap().is_empty());
    }

    /// `orders` with one replica, for a single broker.
    fn single_broker_orders() -> Topic {
        let mut topic = finalized(orders(), FINALIZER);
        topic.spec.replicas = 1;
        topic.spec.config = BTreeMap::from([("min.insync.replicas".into(), "1".into())]);
        topic
    }

    #[tokio::test]
    async fn an_applied_topic_is_created_and_its_status_written() {
        let broker = Broker::start();
        let (ctx, mut api) = Context::mocked_with(Box::<ServiceConnections>::default());
        let topic = single_broker_orders();
        let expected = topic.clone();
        let bootstrap = broker.bootstrap.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some(&bootstrap), false)))
                .await;
            let claim = api.status_applied(&expected).await;
            assert_eq!(claim["topicName"], "orders", "claimed before it is created");
            assert_eq!(ready_condition(&claim)["reason"], reason::CREATING);
            let status = api.status_applied(&expected).await;
            let ready = ready_condition(&status);
            assert_eq!(ready["status"], "True", "{status}");
            assert_eq!(ready["reason"], reason::CREATED);
            assert_eq!(ready["observedGeneration"], 2);
            assert_eq!(status["observedGeneration"], 2);
            assert_eq!(status["topicName"], "orders");
            assert_eq!(status["partitions"], 3);
            assert_eq!(status["replicas"], 1);
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx.clone()), scenario).await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
        let live = live_topic(&broker.bootstrap, "orders", true).await;
        assert_eq!(live.map(|t| t.partitions()), Some(3));
    }

    #[tokio::test]
    async fn a_deleted_topic_has_its_live_topic_deleted_before_the_finalizer_goes() {
        let broker = Broker::start();
        let admin_client = ServiceConnections::default()
            .admin(&broker.bootstrap)
            .unwrap();
        let created = admin::reconcile(
            &single_broker_orders(),
            &admin_client,
            &crate::kubernetes::now(),
        )
        .await;
        assert!(created.error.is_none(), "{:?}", created.error);
        assert!(live_topic(&broker.bootstrap, "orders", true)
            .await
            .is_some());
        let mut topic = deleting(single_broker_orders());
        topic.status = Some(created.status);
        let (ctx, mut api) = Context::mocked_with(Box::<ServiceConnections>::default());
        let expected = topic.clone();
        let bootstrap = broker.bootstrap.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some(&bootstrap), false)))
                .await;
            api.finalizer_removed(&expected, FINALIZER).await;
        };
        let action = run(reconcile_topic(Arc::new(topic), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
        assert!(live_topic(&broker.bootstrap, "orders", false)
            .await
            .is_none());
    }

    /// The operator stopped after creating the topic and before reporting it: the claim
    /// written first makes the topic this Topic's, not someone else's.
    #[tokio::test]
    async fn a_topic_created_just_before_a_crash_is_still_this_topics() {
        let broker = Broker::start();
        let admin_client = ServiceConnections::default()
            .admin(&broker.bootstrap)
            .unwrap();
        let mut topic = single_broker_orders();
        let claimed = topic::claim(&topic, "orders", &crate::kubernetes::now());
        let created = admin::reconcile(&topic, &admin_client, &crate::kubernetes::now()).await;
        assert!(created.error.is_none(), "{:?}", created.error);
        live_topic(&broker.bootstrap, "orders", true).await.unwrap();
        topic.status = Some(claimed);
        let (ctx, mut api) = Context::mocked_with(Box::<ServiceConnections>::default());
        let expected = topic.clone();
        let bootstrap = broker.bootstrap.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some(&bootstrap), false)))
                .await;
            let status = api.status_applied(&expected).await;
            let ready = ready_condition(&status);
            assert_eq!(ready["status"], "True", "{status}");
            assert_eq!(ready["reason"], reason::UP_TO_DATE);
            assert!(status["topicId"].is_string(), "{status}");
        };
        run(reconcile_topic(Arc::new(topic), ctx), scenario)
            .await
            .unwrap();
    }

    /// The live topic `name` once its existence is `exists`, as the broker's metadata
    /// reports a change shortly after it is made; what was last seen after five seconds.
    async fn live_topic(bootstrap: &str, name: &str, exists: bool) -> Option<ObservedTopic> {
        let admin_client = ServiceConnections::default().admin(bootstrap).unwrap();
        let mut seen = None;
        for _ in 0..100 {
            seen = admin::observe(&admin_client, name).await.unwrap();
            if seen.is_some() == exists {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    }
}
