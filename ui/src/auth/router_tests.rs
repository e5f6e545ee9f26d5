//! The sign-in flow through the console's whole router, in process: a configuration with an
//! admin and a viewer, a cluster nobody needs to reach (every request here is answered
//! before Kafka is asked), and a read-only cluster that shows a change got past access
//! control to the handler.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use potok_client::shutdown::ShutdownTrigger;
use tower::ServiceExt;

use super::{password, Access};
use crate::cluster::Clusters;
use crate::config::UiConfig;
use crate::metrics::OwnMetrics;
use crate::server::{router, AppState};

const HOST: &str = "console.test:18492";
const ORIGIN: &str = "http://console.test:18492";

/// The users' hashes, made once: Argon2 is slow on purpose.
fn hashes() -> &'static (String, String) {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    HASHES.get_or_init(|| {
        (
            password::hash("ann-secret").unwrap(),
            password::hash("vic-secret").unwrap(),
        )
    })
}

fn console() -> (axum::Router, ShutdownTrigger) {
    let (admin, viewer) = hashes();
    let properties: BTreeMap<String, String> = [
        ("kafka.clusters.0.name", "local"),
        ("kafka.clusters.0.bootstrapServers", "127.0.0.1:19492"),
        ("kafka.clusters.1.name", "frozen"),
        ("kafka.clusters.1.bootstrapServers", "127.0.0.1:19492"),
        ("kafka.clusters.1.readOnly", "true"),
        ("auth.type", "LOGIN_FORM"),
        ("auth.users.0.username", "ann"),
        ("auth.users.0.password", admin),
        ("auth.users.0.role", "admin"),
        ("auth.users.1.username", "vic"),
        ("auth.users.1.password", viewer),
        ("auth.users.1.role", "viewer"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = UiConfig::from_properties(&properties).unwrap();
    let (trigger, stopping) = ShutdownTrigger::new();
    let state = AppState {
        access: Arc::new(Access::new(&config.access)),
        clusters: Clusters::new(&config.clusters).unwrap(),
        histories: Default::default(),
        own_metrics: OwnMetrics::new(),
        config: Arc::new(config),
        stopping,
    };
    (router(state), trigger)
}

async fn send(app: &axum::Router, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.unwrap()
}

async fn body_text(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn body_json(response: Response) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn header(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A browser's sign-in form post.
fn login_form(body: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Signs in and returns the `Cookie` header value and the session's CSRF token.
async fn sign_in(app: &axum::Router, user: &str, password: &str) -> (String, String) {
    let response = send(
        app,
        login_form(&format!("username={user}&password={password}")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = header(&response, header::SET_COOKIE);
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let me = send(
        app,
        Request::get("/api/me")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me = body_json(me).await;
    (cookie, me["csrfToken"].as_str().unwrap().to_string())
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test]
async fn the_signed_out_are_sent_to_sign_in() {
    let (app, _trigger) = console();
    let page = send(&app, get("/clusters/local/topics?q=a&sort=name")).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&page, header::LOCATION),
        "/login?next=/clusters/local/topics%3Fq%3Da%26sort%3Dname"
    );
    let api = send(&app, get("/api/clusters")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(
        api.headers().get(header::WWW_AUTHENTICATE).is_none(),
        "no Basic challenge"
    );
    let json = body_json(api).await;
    assert_eq!(json["error"], "UNAUTHENTICATED");
    assert!(json["message"]
        .as_str()
        .unwrap()
        .starts_with("sign in first: "));
    let login = send(&app, get("/login?next=/clusters/local")).await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = body_text(login).await;
    assert!(
        html.contains(r#"name="next" value="/clusters/local""#),
        "{html}"
    );
    for public in ["/healthz", "/assets/style.css"] {
        assert_eq!(
            send(&app, get(public)).await.status(),
            StatusCode::OK,
            "{public}"
        );
    }
}

#[tokio::test]
async fn signing_in_sets_the_cookie_and_signing_out_ends_the_session() {
    let (app, _trigger) = console();
    let wrong = send(
        &app,
        login_form("username=ann&password=nope&next=/clusters/local"),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    assert!(body_text(wrong)
        .await
        .contains("Wrong username or password."));
    let unknown = send(&app, login_form("username=nobody&password=nope")).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(unknown)
        .await
        .contains("Wrong username or password."));

    let from_elsewhere = Request::post("/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=ann&password=ann-secret"))
        .unwrap();
    assert_eq!(
        send(&app, from_elsewhere).await.status(),
        StatusCode::FORBIDDEN
    );

    let ok = send(
        &app,
        login_form("username=ann&password=ann-secret&next=%2Fclusters%2Flocal%2Ftopics"),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&ok, header::LOCATION), "/clusters/local/topics");
    let set_cookie = header(&ok, header::SET_COOKIE).to_string();
    assert!(set_cookie.starts_with("potok_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let me = send(
        &app,
        Request::get("/api/me")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let me = body_json(me).await;
    assert_eq!(me["username"], "ann");
    assert_eq!(me["role"], "admin");
    let csrf = me["csrfToken"].as_str().unwrap().to_string();

    let redirect_off_site = send(
        &app,
        login_form("username=ann&password=ann-secret&next=//evil.example"),
    )
    .await;
    assert_eq!(header(&redirect_off_site, header::LOCATION), "/");

    let stale = Request::post("/logout")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf=0000"))
        .unwrap();
    assert_eq!(send(&app, stale).await.status(), StatusCode::FORBIDDEN);
    let logout = Request::post("/logout")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}")))
        .unwrap();
    let logout = send(&app, logout).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&logout, header::LOCATION), "/login");
    assert!(header(&logout, header::SET_COOKIE).contains("Max-Age=0"));
    let after = Request::get("/api/me")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, after).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_viewer_may_look_but_not_change() {
    let (app, _trigger) = console();
    let (cookie, csrf) = sign_in(&app, "vic", "vic-secret").await;
    let changes = [
        (
            Method::POST,
            "/api/clusters/local/topics",
            r#"{"name":"t"}"#,
        ),
        (Method::DELETE, "/api/clusters/local/topics/t", ""),
    ];
    for (method, uri, body) in changes {
        let request = |token: Option<&str>| {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(uri)
                .header(header::HOST, HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(token) = token {
                builder = builder.header(super::CSRF_HEADER, token);
            }
            builder.body(Body::from(body)).unwrap()
        };
        let without_token = send(&app, request(None)).await;
        assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
        assert!(body_json(without_token).await["message"]
            .as_str()
            .unwrap()
            .contains("CSRF"));
        let refused = send(&app, request(Some(&csrf))).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {uri}");
        let json = body_json(refused).await;
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("vic is a viewer"),
            "{json}"
        );
    }
}

#[tokio::test]
async fn scripts_may_use_basic_credentials_on_the_api() {
    let (app, _trigger) = console();
    let me = Request::get("/api/me")
        .header(header::AUTHORIZATION, basic("ann", "ann-secret"))
        .body(Body::empty())
        .unwrap();
    let me = send(&app, me).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me = body_json(me).await;
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("ann"), Some("admin"))
    );

    // A change without a CSRF token gets past access control to the handler, which refuses
    // it only because the cluster is read-only.
    let change = Request::delete("/api/clusters/frozen/topics/t")
        .header(header::AUTHORIZATION, basic("ann", "ann-secret"))
        .body(Body::empty())
        .unwrap();
    let change = send(&app, change).await;
    assert_eq!(change.status(), StatusCode::FORBIDDEN);
    assert!(body_json(change).await["message"]
        .as_str()
        .unwrap()
        .contains("read-only"));

    let wrong = Request::get("/api/me")
        .header(header::AUTHORIZATION, basic("ann", "wrong"))
        .body(Body::empty())
        .unwrap();
    let wrong = send(&app, wrong).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(wrong).await["error"], "UNAUTHENTICATED");

    let page = Request::get("/clusters/local")
        .header(header::AUTHORIZATION, basic("ann", "ann-secret"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, page).await.status(),
        StatusCode::SEE_OTHER,
        "pages are for signed-in browsers"
    );
}

#[tokio::test]
async fn repeated_failures_are_refused_for_a_while() {
    let (app, _trigger) = console();
    for _ in 0..super::throttle::LIMIT {
        let wrong = send(&app, login_form("username=vic&password=guess")).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = send(&app, login_form("username=vic&password=vic-secret")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, header::RETRY_AFTER), "60");
    assert!(body_text(refused)
        .await
        .contains("Too many failed sign-ins"));
    let script = Request::get("/api/me")
        .header(header::AUTHORIZATION, basic("vic", "vic-secret"))
        .body(Body::empty())
        .unwrap();
    let script = send(&app, script).await;
    assert_eq!(script.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body_json(script).await["error"], "TOO_MANY_ATTEMPTS");
    sign_in(&app, "ann", "ann-secret").await;
}
