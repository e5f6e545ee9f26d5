//! One reconcile of a `KsqlStream` on Kubernetes: resolve its KafkaCluster's ksql server,
//! run the shared KsqlStream reconciler over ksql's REST API and write the status; on
//! deletion, terminate its queries and drop its source before the finalizer goes.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::cluster::{self, Refusal};
use super::{
    announce, conditions_of, key, now, patch_status, ready, with_finalizer, Context, Error,
};
use crate::reconcile::ksql_stream::{self, rest, FINALIZER};
use crate::resources::KsqlStream;

/// Reconciles `stream`: adds the finalizer first, then runs its statement on the
/// cluster's ksql server and writes the status; for a deleted KsqlStream, removes what it
/// made and lets it go.
pub async fn reconcile_ksql_stream(
    stream: Arc<KsqlStream>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    with_finalizer(
        stream,
        &ctx,
        FINALIZER,
        |stream, api| apply(stream, api, &ctx),
        |stream| cleanup(stream, &ctx),
    )
    .await
}

async fn apply(
    stream: Arc<KsqlStream>,
    api: Api<KsqlStream>,
    ctx: &Context,
) -> Result<Action, Error> {
    let key = key(stream.as_ref());
    let url = match ksql_url(&stream, ctx).await? {
        Ok(url) => url,
        Err(refusal) => {
            let status =
                ksql_stream::failed(&stream, refusal.reason, refusal.message.clone(), &now());
            patch_status(&api, stream.as_ref(), &status).await?;
            let before = conditions_of(stream.status.as_ref(), |s| &s.conditions);
            announce(ctx, stream.as_ref(), &before, &status.conditions).await;
            tracing::warn!("{key}: {}: {}", refusal.reason, refusal.message);
            return Ok(Action::requeue(refusal.retry_after(ctx)));
        }
    };
    let client = ctx.connect.ksql(&url);
    let reconciled = rest::reconcile(&stream, &client, &now()).await;
    patch_status(&api, stream.as_ref(), &reconciled.status).await?;
    let before = conditions_of(stream.status.as_ref(), |s| &s.conditions);
    announce(ctx, stream.as_ref(), &before, &reconciled.status.conditions).await;
    let (ready_reason, message) = ready(&reconciled.status.conditions);
    match reconciled.error {
        Some(error) if error.is_retriable() => Err(error.into()),
        Some(error) => {
            tracing::warn!("{key}: {ready_reason}: {error}; trying again at the next resync");
            Ok(Action::requeue(ctx.resync))
        }
        None => {
            tracing::info!("{key}: {ready_reason}: {message}");
            Ok(Action::requeue(ctx.resync))
        }
    }
}

/// Terminates the stream's queries and drops its source. A KafkaCluster that is gone, or
/// runs no ksql server, has nothing of it left, so the KsqlStream may go.
async fn cleanup(stream: Arc<KsqlStream>, ctx: &Context) -> Result<Action, Error> {
    let key = key(stream.as_ref());
    let url = match ksql_url(&stream, ctx).await? {
        Ok(url) => url,
        Err(refusal) => {
            tracing::info!("{key}: deleted; nothing to drop: {}", refusal.message);
            return Ok(Action::await_change());
        }
    };
    rest::delete(&stream, &ctx.connect.ksql(&url)).await?;
    tracing::info!("{key}: deleted; its queries terminated and its source dropped");
    Ok(Action::await_change())
}

/// The ksql server of the stream's KafkaCluster, or why there is none to use.
async fn ksql_url(stream: &KsqlStream, ctx: &Context) -> Result<Result<String, Refusal>, Error> {
    let namespace = stream.namespace().unwrap_or_default();
    let found = cluster::get(&ctx.client, &namespace, &stream.spec.cluster).await?;
    Ok(cluster::ksql_url(
        found.as_ref(),
        &stream.spec.cluster,
        &namespace,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::kubernetes::fake_ksql::FakeKsql;
    use crate::kubernetes::fixtures::{cluster, deleting, finalized, in_namespace, run};
    use crate::reconcile::condition::reason::{CLUSTER_NOT_FOUND, KSQL_NOT_RUNNING};
    use crate::reconcile::ksql_stream::reason::{CREATED, KSQL_UNAVAILABLE};
    use crate::resources::{KsqlStreamSpec, KsqlStreamStatus};

    /// The Service URL of the `potok` cluster's ksql server in the test namespace.
    const KSQL_URL: &str = "http://potok-ksql.default.svc:8088";

    fn payments() -> KsqlStream {
        in_namespace(KsqlStream::new(
            "payments",
            KsqlStreamSpec {
                cluster: "potok".into(),
                sql: "CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);".into(),
                delete_topic_on_delete: false,
            },
        ))
    }

    /// `payments` as the operator left it once its statement ran.
    fn running_payments() -> KsqlStream {
        let mut stream = finalized(payments(), FINALIZER);
        stream.status = Some(KsqlStreamStatus {
            source_name: Some("PAYMENTS".into()),
            ..KsqlStreamStatus::default()
        });
        stream
    }

    fn ready_reason(status: &Value) -> &Value {
        let conditions = status["conditions"].as_array().expect("conditions");
        assert_eq!(conditions.len(), 1, "{status}");
        assert_eq!(conditions[0]["status"], "False");
        assert_eq!(conditions[0]["observedGeneration"], 2);
        &conditions[0]["reason"]
    }

    #[tokio::test]
    async fn a_stream_without_the_finalizer_gets_it_before_anything_else() {
        let (ctx, mut api, asked) = Context::mocked();
        let stream = payments();
        let expected = stream.clone();
        let scenario = async move { api.finalizer_added(&expected, FINALIZER).await };
        let action = run(reconcile_ksql_stream(Arc::new(stream), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
        assert!(asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stream_on_a_missing_cluster_is_refused_in_its_status() {
        let (ctx, mut api, asked) = Context::mocked();
        let stream = finalized(payments(), FINALIZER);
        let expected = stream.clone();
        let scenario = async move {
            api.cluster_read("potok", None).await;
            let status = api.status_applied(&expected).await;
            assert_eq!(status["observedGeneration"], 2);
            assert_eq!(ready_reason(&status), CLUSTER_NOT_FOUND);
        };
        let action = run(
            reconcile_ksql_stream(Arc::new(stream), ctx.clone()),
            scenario,
        )
        .await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
        assert!(asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stream_on_a_cluster_without_ksql_is_refused_in_its_status() {
        let (ctx, mut api, _) = Context::mocked();
        let stream = finalized(payments(), FINALIZER);
        let expected = stream.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), false)))
                .await;
            let status = api.status_applied(&expected).await;
            assert_eq!(ready_reason(&status), KSQL_NOT_RUNNING);
        };
        let action = run(
            reconcile_ksql_stream(Arc::new(stream), ctx.clone()),
            scenario,
        )
        .await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
    }

    #[tokio::test]
    async fn an_applied_stream_runs_its_statement_and_its_status_is_written() {
        let ksql = FakeKsql::start();
        let (ctx, mut api, asked) = Context::mocked_with_ksql(&ksql.url);
        let stream = finalized(payments(), FINALIZER);
        let expected = stream.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), true)))
                .await;
            let status = api.status_applied(&expected).await;
            let conditions = status["conditions"].as_array().expect("conditions");
            assert_eq!(conditions[0]["status"], "True", "{status}");
            assert_eq!(conditions[0]["reason"], CREATED);
            assert_eq!(conditions[0]["observedGeneration"], 2);
            assert_eq!(status["observedGeneration"], 2);
            assert_eq!(status["sourceName"], "PAYMENTS");
            assert_eq!(status["sourceType"], "STREAM");
        };
        let action = run(
            reconcile_ksql_stream(Arc::new(stream), ctx.clone()),
            scenario,
        )
        .await;
        assert_eq!(action.unwrap(), Action::requeue(ctx.resync));
        assert_eq!(*asked.lock().unwrap(), [KSQL_URL]);
        let statements = ksql.statements.lock().unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(
            statements[1].starts_with("CREATE STREAM payments"),
            "{statements:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_ksql_server_is_reported_and_retried() {
        let (ctx, mut api, asked) = Context::mocked();
        let stream = finalized(payments(), FINALIZER);
        let expected = stream.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), true)))
                .await;
            let status = api.status_applied(&expected).await;
            assert_eq!(ready_reason(&status), KSQL_UNAVAILABLE);
        };
        let error = run(reconcile_ksql_stream(Arc::new(stream), ctx), scenario)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("did not answer"), "{error}");
        assert_eq!(*asked.lock().unwrap(), [KSQL_URL]);
    }

    #[tokio::test]
    async fn a_deleted_stream_on_an_unreachable_ksql_server_keeps_its_finalizer() {
        let (ctx, mut api, asked) = Context::mocked();
        let stream = deleting(running_payments());
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), true)))
                .await;
        };
        let error = run(reconcile_ksql_stream(Arc::new(stream), ctx), scenario)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("clean up"), "{error}");
        assert_eq!(*asked.lock().unwrap(), [KSQL_URL]);
    }

    #[tokio::test]
    async fn a_deleted_stream_on_a_cluster_without_ksql_loses_its_finalizer() {
        let (ctx, mut api, asked) = Context::mocked();
        let stream = deleting(running_payments());
        let expected = stream.clone();
        let scenario = async move {
            api.cluster_read("potok", Some(&cluster(Some("kafka:9092"), false)))
                .await;
            api.finalizer_removed(&expected, FINALIZER).await;
        };
        let action = run(reconcile_ksql_stream(Arc::new(stream), ctx), scenario).await;
        assert_eq!(action.unwrap(), Action::await_change());
        assert!(asked.lock().unwrap().is_empty());
    }
}
