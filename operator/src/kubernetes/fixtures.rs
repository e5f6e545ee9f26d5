//! A fake Kubernetes API server for the reconcilers' tests, after kube-rs's controller
//! examples: the kube `Client` talks to one end of a `tower_test` mock, and a scenario on
//! the other end expects each request in turn (method, path, body) and answers it as the
//! API server would. A test reads as "given this resource, reconcile, these calls happen".
//!
//! The clusters the reconcilers reach are replaced too ([`Redirect`]): every address
//! asked for is recorded and points at a closed loopback port or a
//! [`FakeKsql`](super::fake_ksql::FakeKsql), so tests
//! that need no live cluster run in milliseconds. Tests that do need one start a real broker with the
//! integration tests' [`broker::Broker`].

use std::future::Future;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use potok_client::{AdminClient, ClientError, ClusterConfig};
use serde::Serialize;
use serde_json::{json, Value};
use tower_test::mock::{self, Handle};

use super::{Connect, Context, FIELD_MANAGER};
use crate::reconcile::ksql_stream::rest::KsqlClient;
use crate::resources::{KafkaCluster, Topic};

/// A single real potok-broker (`target/debug/potok-broker`, built by `cargo build`), shared
/// with the integration tests under `operator/tests/`.
#[path = "../../tests/support/mod.rs"]
pub mod broker;

/// The namespace every test resource lives in, and the mocked client's default.
pub const NAMESPACE: &str = "default";

/// How long a reconcile may take against the fake server before the test fails: it is
/// waiting for an answer to a request the scenario does not expect.
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(10);

/// The API server's end of the mocked connection.
pub struct ApiServer(Handle<Request<Body>, Response<Body>>);

/// The addresses the reconcilers asked to reach, in order.
pub type Asked = Arc<Mutex<Vec<String>>>;

/// Connections to stand-ins: every address asked for is recorded and replaced, the
/// brokers' by `bootstrap` (with a short retry deadline, so an absent broker fails at
/// once), the ksql server's by `ksql_url`.
pub struct Redirect {
    asked: Asked,
    bootstrap: String,
    ksql_url: String,
}

impl Connect for Redirect {
    fn admin(&self, bootstrap_servers: &str) -> Result<AdminClient, ClientError> {
        self.asked
            .lock()
            .unwrap()
            .push(bootstrap_servers.to_owned());
        let mut config = ClusterConfig::new(&self.bootstrap)?;
        config.retry_deadline = Duration::from_millis(200);
        Ok(AdminClient::new(config))
    }

    fn ksql(&self, url: &str) -> KsqlClient {
        self.asked.lock().unwrap().push(url.to_owned());
        KsqlClient::new(&self.ksql_url)
    }
}

impl Context {
    /// A context whose client talks to the returned fake API server and whose clusters
    /// are unreachable (a closed loopback port); the addresses the reconcilers asked for
    /// are recorded in `Asked`.
    pub fn mocked() -> (Arc<Context>, ApiServer, Asked) {
        Context::mocked_with_ksql(&format!("http://{}", closed_address()))
    }

    /// As [`Context::mocked`], with `topics` in the Topic controller's cache.
    pub fn mocked_knowing(topics: &[Topic]) -> (Arc<Context>, ApiServer, Asked) {
        let (store, mut writer) = kube::runtime::reflector::store();
        writer.apply_watcher_event(&watcher::Event::Init);
        for topic in topics {
            writer.apply_watcher_event(&watcher::Event::InitApply(topic.clone()));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let asked = Asked::default();
        let connect = Redirect {
            asked: asked.clone(),
            bootstrap: closed_address(),
            ksql_url: format!("http://{}", closed_address()),
        };
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let mut ctx = Context::with_connections(Client::new(service, NAMESPACE), Box::new(connect));
        ctx.topics = vec![store];
        (Arc::new(ctx), ApiServer(handle), asked)
    }

    /// As [`Context::mocked`], with every ksql server at `ksql_url`.
    pub fn mocked_with_ksql(ksql_url: &str) -> (Arc<Context>, ApiServer, Asked) {
        let asked = Asked::default();
        let connect = Redirect {
            asked: asked.clone(),
            bootstrap: closed_address(),
            ksql_url: ksql_url.to_owned(),
        };
        let (ctx, api) = Context::mocked_with(Box::new(connect));
        (ctx, api, asked)
    }

    /// A context whose client talks to the returned fake API server and which reaches
    /// clusters through `connect`.
    pub fn mocked_with(connect: Box<dyn Connect>) -> (Arc<Context>, ApiServer) {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, NAMESPACE);
        let ctx = Context::with_connections(client, connect);
        (Arc::new(ctx), ApiServer(handle))
    }
}

/// A loopback address nobody listens on.
fn closed_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Runs `reconcile` while `scenario` answers its requests. Fails when the reconcile asks
/// for something the scenario does not expect, or finishes before the scenario did.
pub async fn run<T>(
    reconcile: impl Future<Output = T>,
    scenario: impl Future<Output = ()> + Send + 'static,
) -> T {
    let server = tokio::spawn(scenario);
    let outcome = tokio::time::timeout(RECONCILE_TIMEOUT, reconcile)
        .await
        .expect("the reconcile waited for an answer the scenario does not give");
    tokio::time::timeout(Duration::from_secs(1), server)
        .await
        .expect("the reconcile made fewer requests than the scenario expects")
        .expect("every request was the one the scenario expects");
    outcome
}

/// The API path of `resource`: `/apis/potok.dev/v1alpha1/namespaces/default/topics/orders`.
pub fn path_of<K: Resource<DynamicType = ()>>(resource: &K) -> String {
    let collection = K::url_path(&(), resource.meta().namespace.as_deref());
    format!("{collection}/{}", resource.name_any())
}

impl ApiServer {
    /// Takes the next request, checks its method and path, and returns its query and its
    /// body as JSON (`null` when empty) with the means to answer it.
    async fn expect(
        &mut self,
        method: Method,
        path: &str,
    ) -> (String, Value, mock::SendResponse<Response<Body>>) {
        let (request, send) = self
            .0
            .next_request()
            .await
            .expect("the reconcile made no further request");
        assert_eq!(
            (request.method(), request.uri().path()),
            (&method, path),
            "unexpected request {}",
            request.uri()
        );
        let query = request.uri().query().unwrap_or_default().to_owned();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        (query, body, send)
    }

    /// Expects `finalizer` added to `resource`, which has none, with kube-runtime's JSON
    /// patch; answers with the resource holding it.
    pub async fn finalizer_added<K>(&mut self, resource: &K, finalizer: &str)
    where
        K: Resource<DynamicType = ()> + Serialize + Clone,
    {
        let (_, patch, send) = self.expect(Method::PATCH, &path_of(resource)).await;
        assert_eq!(
            patch,
            json!([
                { "op": "test", "path": "/metadata/finalizers", "value": null },
                { "op": "add", "path": "/metadata/finalizers", "value": [finalizer] },
            ])
        );
        let mut finalized = resource.clone();
        finalized.finalizers_mut().push(finalizer.to_owned());
        send.send_response(json_response(StatusCode::OK, &finalized));
    }

    /// Expects `finalizer`, the first of `resource`'s, removed; answers with the resource
    /// without it.
    pub async fn finalizer_removed<K>(&mut self, resource: &K, finalizer: &str)
    where
        K: Resource<DynamicType = ()> + Serialize + Clone,
    {
        let (_, patch, send) = self.expect(Method::PATCH, &path_of(resource)).await;
        assert_eq!(
            patch,
            json!([
                { "op": "test", "path": "/metadata/finalizers/0", "value": finalizer },
                { "op": "remove", "path": "/metadata/finalizers/0" },
            ])
        );
        let mut released = resource.clone();
        released.finalizers_mut().retain(|f| f != finalizer);
        send.send_response(json_response(StatusCode::OK, &released));
    }

    /// Expects the KafkaCluster `name` read; answers with `cluster`, or 404 Not Found.
    pub async fn cluster_read(&mut self, name: &str, cluster: Option<&KafkaCluster>) {
        let path = format!("{}/{name}", KafkaCluster::url_path(&(), Some(NAMESPACE)));
        let (_, _, send) = self.expect(Method::GET, &path).await;
        let response = match cluster {
            Some(cluster) => json_response(StatusCode::OK, cluster),
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": format!("kafkaclusters.potok.dev \"{name}\" not found"),
                    "reason": "NotFound",
                    "details": { "name": name, "group": "potok.dev", "kind": "kafkaclusters" },
                    "code": 404,
                }),
            ),
        };
        send.send_response(response);
    }

    /// Expects the object at `path` read; answers with `object`, or 404 Not Found.
    pub async fn object_read(&mut self, path: &str, object: Option<Value>) {
        let (_, _, send) = self.expect(Method::GET, path).await;
        send.send_response(match object {
            Some(object) => json_response(StatusCode::OK, &object),
            None => not_found(path),
        });
    }

    /// Expects `path` written with a forced server-side apply by the operator's field
    /// manager; answers with what was applied, merged over `live` (its status, say), and
    /// returns what was applied.
    pub async fn applied(&mut self, path: &str, live: Option<Value>) -> Value {
        let (query, body, send) = self.expect(Method::PATCH, path).await;
        assert!(query.contains("force=true"), "{query}");
        assert!(
            query.contains(&format!("fieldManager={FIELD_MANAGER}")),
            "{query}"
        );
        let mut answer = live.unwrap_or_else(|| json!({}));
        for (field, value) in body.as_object().expect("an object is applied") {
            if field != "status" {
                answer[field] = value.clone();
            }
        }
        send.send_response(json_response(StatusCode::OK, &answer));
        body
    }

    /// Expects the namespace's pods listed with `selector`; answers with `pods`.
    pub async fn pods_listed(&mut self, selector: &str, pods: &[Value]) {
        let (query, _, send) = self
            .expect(Method::GET, "/api/v1/namespaces/default/pods")
            .await;
        assert!(
            query.contains(&format!(
                "labelSelector={}",
                selector.replace('/', "%2F").replace('=', "%3D")
            )),
            "{query}"
        );
        let list = json!({
            "apiVersion": "v1",
            "kind": "PodList",
            "metadata": { "resourceVersion": "1" },
            "items": pods,
        });
        send.send_response(json_response(StatusCode::OK, &list));
    }

    /// Expects the object at `path` deleted.
    pub async fn deleted(&mut self, path: &str) {
        let (_, _, send) = self.expect(Method::DELETE, path).await;
        send.send_response(json_response(
            StatusCode::OK,
            &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success" }),
        ));
    }

    /// Expects `resource`'s status written through the status subresource with a forced
    /// server-side apply by the operator's field manager; answers with the resource
    /// holding it, and returns the status written.
    pub async fn status_applied<K>(&mut self, resource: &K) -> Value
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        let path = format!("{}/status", path_of(resource));
        let (query, patch, send) = self.expect(Method::PATCH, &path).await;
        let params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        assert!(params.contains(&"force=true"), "{query}");
        assert!(
            params.contains(&format!("fieldManager={FIELD_MANAGER}").as_str()),
            "{query}"
        );
        assert_eq!(patch["apiVersion"], K::api_version(&()).as_ref());
        assert_eq!(patch["kind"], K::kind(&()).as_ref());
        let status = patch["status"].clone();
        let mut updated = serde_json::to_value(resource).unwrap();
        updated["status"] = status.clone();
        send.send_response(json_response(StatusCode::OK, &updated));
        status
    }
}

fn not_found(path: &str) -> Response<Body> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": format!("{path} not found"),
            "reason": "NotFound",
            "code": 404,
        }),
    )
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// `resource` in the test namespace, at generation 2.
pub fn in_namespace<K: Resource>(mut resource: K) -> K {
    let meta = resource.meta_mut();
    meta.namespace = Some(NAMESPACE.into());
    meta.generation = Some(2);
    meta.uid = Some(format!("uid-{}", meta.name.as_deref().unwrap_or_default()));
    meta.creation_timestamp = Some(Timestamp::from_second(1_700_000_000).unwrap().into());
    resource
}

/// `resource` holding `finalizer`, as after its first reconcile.
pub fn finalized<K: Resource>(mut resource: K, finalizer: &str) -> K {
    resource.finalizers_mut().push(finalizer.to_owned());
    resource
}

/// `resource` being deleted: it has a deletion timestamp.
pub fn deleting<K: Resource>(mut resource: K) -> K {
    resource.meta_mut().deletion_timestamp =
        Some(Timestamp::from_second(1_700_000_100).unwrap().into());
    resource
}

/// The KafkaCluster `potok` with 3 brokers, publishing `bootstrap` when given, with a ksql
/// server when `ksql`.
pub fn cluster(bootstrap: Option<&str>, ksql: bool) -> KafkaCluster {
    let mut spec = json!({
        "coordinators": { "replicas": 3 },
        "brokers": { "replicas": 3 },
    });
    if ksql {
        spec["ksql"] = json!({ "replicas": 1 });
    }
    let mut cluster = json!({
        "apiVersion": "potok.dev/v1alpha1",
        "kind": "KafkaCluster",
        "metadata": { "name": "potok", "namespace": NAMESPACE },
        "spec": spec,
    });
    if let Some(bootstrap) = bootstrap {
        cluster["status"] = json!({ "bootstrapServers": bootstrap });
    }
    serde_json::from_value(cluster).unwrap()
}
