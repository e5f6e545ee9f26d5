//! The KafkaCluster reconciler against a mocked API server: which objects it applies, which
//! pod it restarts, and what it reports, for recorded cluster states.

use serde_json::{json, Value};

use super::*;
use crate::kubernetes::fixtures::{in_namespace, path_of, run, ApiServer};
use crate::resources::cluster::{Listener, ListenerType};

const NAMESPACE_PATH: &str = "/api/v1/namespaces/default";
const APPS_PATH: &str = "/apis/apps/v1/namespaces/default/statefulsets";
const SELECTOR: &str = "app.kubernetes.io/instance=potok";

fn example() -> KafkaCluster {
    in_namespace(serde_yaml::from_str(include_str!("../../../../examples/cluster.yaml")).unwrap())
}

/// A live StatefulSet of `role` with `replicas`, whose current revision is `revision`.
fn live_set(role: Role, replicas: u32, revision: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": format!("potok-{}", role.component()), "namespace": "default" },
        "spec": {
            "replicas": replicas,
            "serviceName": format!("potok-{}", role.component()),
            "selector": { "matchLabels": {} },
            "template": {},
        },
        "status": { "replicas": replicas, "observedGeneration": 1, "updateRevision": revision },
    })
}

/// A pod of `role` made from `revision`, ready or not.
fn pod(role: Role, ordinal: u32, revision: &str, ready: bool) -> Value {
    json!({
        "metadata": {
            "name": format!("potok-{}-{ordinal}", role.component()),
            "namespace": "default",
            "labels": {
                objects::INSTANCE_LABEL: "potok",
                objects::COMPONENT_LABEL: role.component(),
                "controller-revision-hash": revision,
            },
        },
        "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] },
    })
}

/// Every pod of the example, ready, each role on revision `<role>1` except as `revisions` says.
fn pods(revisions: [&str; 3]) -> Vec<Value> {
    let mut pods: Vec<Value> = (0..3)
        .map(|i| pod(Role::Coordinator, i, revisions[0], true))
        .collect();
    pods.extend((0..3).map(|i| pod(Role::Broker, i, revisions[1], true)));
    pods.push(pod(Role::Ksql, 0, revisions[2], true));
    pods.push(pod(Role::Ui, 0, "u1", true));
    pods
}

/// Expects the two StatefulSets the reconciler reads first.
async fn sets_read(api: &mut ApiServer, live: &[(Role, Option<Value>)]) {
    for (role, set) in live {
        api.object_read(
            &format!("{APPS_PATH}/potok-{}", role.component()),
            set.clone(),
        )
        .await;
    }
}

/// A running cluster of `counts` coordinators and brokers and one ksql server, each role's
/// StatefulSet on revision `revisions`: expects the two StatefulSets read, and returns them
/// all by role.
async fn running(
    api: &mut ApiServer,
    counts: [u32; 2],
    revisions: [&str; 3],
) -> BTreeMap<Role, Value> {
    let live = BTreeMap::from([
        (
            Role::Coordinator,
            live_set(Role::Coordinator, counts[0], revisions[0]),
        ),
        (
            Role::Broker,
            live_set(Role::Broker, counts[1], revisions[1]),
        ),
        (Role::Ksql, live_set(Role::Ksql, 1, revisions[2])),
    ]);
    sets_read(
        api,
        &[
            (Role::Coordinator, Some(live[&Role::Coordinator].clone())),
            (Role::Broker, Some(live[&Role::Broker].clone())),
        ],
    )
    .await;
    live
}

/// Expects every object of the example applied in order, the StatefulSets answered with
/// `live` (keyed by role); returns the applied StatefulSets by name.
async fn all_applied(api: &mut ApiServer, live: &BTreeMap<Role, Value>) -> BTreeMap<String, Value> {
    for name in [
        "potok-coordinator-config",
        "potok-broker-config",
        "potok-ksql-config",
        "potok-ui-config",
    ] {
        api.applied(&format!("{NAMESPACE_PATH}/configmaps/{name}"), None)
            .await;
    }
    for name in [
        "potok-coordinator",
        "potok-broker",
        "potok-bootstrap",
        "potok-ksql",
        "potok-ui",
    ] {
        api.applied(&format!("{NAMESPACE_PATH}/services/{name}"), None)
            .await;
    }
    let mut sets = BTreeMap::new();
    for role in Role::STATEFUL {
        let name = format!("potok-{}", role.component());
        let applied = api
            .applied(&format!("{APPS_PATH}/{name}"), live.get(&role).cloned())
            .await;
        sets.insert(name, applied);
    }
    api.applied(
        "/apis/apps/v1/namespaces/default/deployments/potok-ui",
        None,
    )
    .await;
    for name in ["potok-coordinator", "potok-broker"] {
        api.applied(
            &format!("/apis/policy/v1/namespaces/default/poddisruptionbudgets/{name}"),
            None,
        )
        .await;
    }
    sets
}

fn condition_of<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

#[tokio::test]
async fn a_new_cluster_gets_every_object_and_reports_that_it_is_starting() {
    let cluster = example();
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            sets_read(&mut api, &[(Role::Coordinator, None), (Role::Broker, None)]).await;
            let sets = all_applied(&mut api, &BTreeMap::new()).await;
            assert_eq!(sets["potok-broker"]["spec"]["replicas"], 3);
            assert_eq!(
                sets["potok-broker"]["spec"]["updateStrategy"]["type"],
                "OnDelete"
            );
            api.pods_listed(SELECTOR, &[]).await;
            let status = api.status_applied(&cluster).await;
            let ready = condition_of(&status, "Ready");
            assert_eq!(
                (&ready["status"], &ready["reason"]),
                (&json!("False"), &json!("Starting"))
            );
            assert_eq!(
                ready["message"],
                "0 of 3 coordinator(s) ready, 0 of 3 broker(s) ready, 0 of 1 ksql(s) ready, 0 of 1 ui(s) ready"
            );
            assert_eq!(condition_of(&status, "Progressing")["status"], "True");
            assert_eq!(condition_of(&status, "Degraded")["status"], "False");
            assert_eq!(status["observedGeneration"], 2);
            assert_eq!(status["readyBrokers"], 0);
            assert!(status["bootstrapServers"].is_null(), "{status}");
        }
    };
    let action = run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario).await;
    assert_eq!(action.unwrap(), Action::requeue(PROGRESS_INTERVAL));
}

#[tokio::test]
async fn an_outdated_ksql_server_restarts_once_the_rest_is_current() {
    let cluster = example();
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            let live = running(&mut api, [3, 3], ["c1", "b1", "k2"]).await;
            all_applied(&mut api, &live).await;
            api.pods_listed(SELECTOR, &pods(["c1", "b1", "k1"])).await;
            api.deleted(&format!("{NAMESPACE_PATH}/pods/potok-ksql-0"))
                .await;
            let status = api.status_applied(&cluster).await;
            let ready = condition_of(&status, "Ready");
            assert_eq!(ready["reason"], "Rolling");
            assert_eq!(
                ready["message"],
                "restarted potok-ksql-0: its config or image changed"
            );
            assert_eq!(status["readyBrokers"], 3);
            assert_eq!(
                status["bootstrapServers"],
                "potok-bootstrap.default.svc:9092"
            );
        }
    };
    run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario)
        .await
        .unwrap();
}

#[tokio::test]
async fn outdated_brokers_wait_while_their_partitions_cannot_be_read() {
    let cluster = example();
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            let live = running(&mut api, [3, 3], ["c1", "b2", "k1"]).await;
            all_applied(&mut api, &live).await;
            api.pods_listed(SELECTOR, &pods(["c1", "b1", "k1"])).await;
            let status = api.status_applied(&cluster).await;
            let progressing = condition_of(&status, "Progressing");
            assert_eq!(progressing["reason"], "Rolling");
            assert!(
                progressing["message"]
                    .as_str()
                    .unwrap()
                    .contains("cannot be asked which replicas are in sync"),
                "{progressing}"
            );
        }
    };
    run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_quorum_size_change_is_refused_and_the_quorum_kept() {
    let mut cluster = example();
    cluster.spec.coordinators.replicas = 5;
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            let live = running(&mut api, [3, 3], ["c1", "b1", "k1"]).await;
            let sets = all_applied(&mut api, &live).await;
            assert_eq!(sets["potok-coordinator"]["spec"]["replicas"], 3);
            api.pods_listed(SELECTOR, &pods(["c1", "b1", "k1"])).await;
            let status = api.status_applied(&cluster).await;
            let degraded = condition_of(&status, "Degraded");
            assert_eq!(
                (&degraded["status"], &degraded["reason"]),
                (&json!("True"), &json!("QuorumSizeFixed"))
            );
            assert!(
                degraded["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("spec.coordinators.replicas stays 3, not 5"),
                "{degraded}"
            );
            assert_eq!(condition_of(&status, "Ready")["status"], "False");
        }
    };
    run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pod_stuck_on_its_current_revision_is_reported_not_restarted() {
    let cluster = example();
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            let live = running(&mut api, [3, 3], ["c1", "b1", "k1"]).await;
            all_applied(&mut api, &live).await;
            let mut pods = pods(["c1", "b1", "k1"]);
            pods[6]["status"] = json!({
                "conditions": [{ "type": "Ready", "status": "False" }],
                "containerStatuses": [{ "name": "ksql", "image": "potok", "imageID": "", "ready": false, "restartCount": 7,
                    "state": { "waiting": { "reason": "CrashLoopBackOff" } } }],
            });
            api.pods_listed(SELECTOR, &pods).await;
            let status = api.status_applied(&cluster).await;
            let degraded = condition_of(&status, "Degraded");
            assert_eq!(degraded["reason"], "StuckPods");
            assert_eq!(
                degraded["message"],
                "pod(s) cannot run: potok-ksql-0 (CrashLoopBackOff); see kubectl describe pod"
            );
        }
    };
    run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_listener_outside_the_cluster_is_refused_before_anything_is_applied() {
    let mut cluster = example();
    cluster.spec.brokers.listeners = vec![Listener {
        name: "EXTERNAL".into(),
        port: 9094,
        type_: ListenerType::Nodeport,
    }];
    let (ctx, mut api, _) = Context::mocked();
    let scenario = {
        let cluster = cluster.clone();
        async move {
            sets_read(&mut api, &[(Role::Coordinator, None), (Role::Broker, None)]).await;
            let status = api.status_applied(&cluster).await;
            let ready = condition_of(&status, "Ready");
            assert_eq!(
                (&ready["status"], &ready["reason"]),
                (&json!("False"), &json!("NotSupported"))
            );
            assert!(
                ready["message"]
                    .as_str()
                    .unwrap()
                    .contains("kubectl port-forward"),
                "{ready}"
            );
        }
    };
    let action = run(
        reconcile_kafka_cluster(Arc::new(cluster.clone()), ctx),
        scenario,
    )
    .await;
    assert_eq!(
        action.unwrap(),
        Action::requeue(crate::kubernetes::DEFAULT_RESYNC)
    );
    assert_eq!(
        path_of(&cluster),
        "/apis/potok.dev/v1alpha1/namespaces/default/kafkaclusters/potok"
    );
}

/// Every cluster's brokers are the one real broker given; no ksql server answers.
struct OneBroker(String);

impl crate::kubernetes::Connect for OneBroker {
    fn admin(&self, _: &str) -> Result<AdminClient, potok_client::ClientError> {
        Ok(AdminClient::new(potok_client::ClusterConfig::new(&self.0)?))
    }

    fn ksql(&self, url: &str) -> crate::reconcile::ksql_stream::rest::KsqlClient {
        crate::reconcile::ksql_stream::rest::KsqlClient::new(url)
    }
}

#[tokio::test]
async fn a_removed_broker_that_holds_no_replica_lets_the_statefulset_shrink() {
    let broker = crate::kubernetes::fixtures::broker::Broker::start();
    let mut cluster = example();
    cluster.spec.brokers.replicas = 1;
    cluster.spec.brokers.config.clear();
    let (ctx, mut api) = Context::mocked_with(Box::new(OneBroker(broker.bootstrap.clone())));
    let scenario = {
        let cluster = cluster.clone();
        async move {
            let live = running(&mut api, [3, 2], ["c1", "b1", "k1"]).await;
            let sets = all_applied(&mut api, &live).await;
            assert_eq!(
                sets["potok-broker"]["spec"]["replicas"], 2,
                "held while draining"
            );
            let mut pods = pods(["c1", "b1", "k1"]);
            pods.remove(5);
            api.pods_listed(SELECTOR, &pods).await;
            let shrunk = api
                .applied(&format!("{APPS_PATH}/potok-broker"), None)
                .await;
            assert_eq!(shrunk["spec"]["replicas"], 1);
            let status = api.status_applied(&cluster).await;
            let progressing = condition_of(&status, "Progressing");
            assert_eq!(progressing["reason"], "DrainingBrokers");
            assert_eq!(
                progressing["message"],
                "broker(s) 2 hold no replica any more; the brokers' StatefulSet shrinks to 1"
            );
            assert!(status["clusterId"].is_string(), "{status}");
        }
    };
    run(reconcile_kafka_cluster(Arc::new(cluster), ctx), scenario)
        .await
        .unwrap();
}
