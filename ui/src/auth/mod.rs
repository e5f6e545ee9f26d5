//! Who is asking, and what they may do. Access is open by default (everyone is an admin,
//! as in the seed's stack); with `auth.type=LOGIN_FORM` people sign in at `/login` with a
//! user from the configuration and get its role, and scripts may send that user's HTTP
//! Basic credentials to the JSON API instead.
//!
//! Every request passes [`middleware`], which finds its [`Caller`] (or sends the signed-out
//! to `/login`) and refuses a change (any method but GET, HEAD and OPTIONS) that a page of
//! another site could have sent: its `Origin` must be this console's, and a request from a
//! browser must carry its session's CSRF token in `X-CSRF-Token`.

pub mod basic;
pub mod next;
pub mod password;
pub mod session;
pub mod throttle;

#[cfg(test)]
mod router_tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tokio::sync::Semaphore;

use crate::cluster::ClusterHandle;
use crate::config::{self, Role, User};
use crate::error::{UiError, UiResult};
use crate::server::AppState;
use session::{Session, Sessions};
use throttle::Throttle;

/// The header a page's scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A well-formed Argon2id hash, at the cost `potok-ui hash-password` uses, that no password
/// matches: an unknown username is checked against it, so it takes as long to refuse as a
/// known one and the answer does not tell which usernames exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Password checks run at once; each takes Argon2's 19 MiB and a core for a while, so a
/// flood of sign-ins waits its turn instead of exhausting memory. Fewer than the throttle's
/// limit, so the checks under way never carry one username past it.
const VERIFICATION_SLOTS: usize = 4;
const _: () = assert!(VERIFICATION_SLOTS < throttle::LIMIT as usize);

/// The access policy and the state it keeps.
pub struct Access {
    login_required: bool,
    /// The token pages carry when access is open (one per running console).
    open_token: String,
    users: HashMap<String, User>,
    sessions: Mutex<Sessions>,
    throttle: Arc<Mutex<Throttle>>,
    verifications: Arc<Semaphore>,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInError {
    /// The username or the password is wrong (which one is not told).
    Wrong,
    /// Too many recent attempts for this username; try again after this long.
    Throttled(Duration),
}

/// How a caller proved who they are; Basic credentials need no CSRF token, as a browser
/// never sends them unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Open,
    Session,
    Basic,
}

impl Access {
    pub fn new(policy: &config::Access) -> Access {
        let (login_required, configured) = match policy {
            config::Access::Open => (false, &[][..]),
            config::Access::LoginForm { users } => (true, &users[..]),
        };
        let mut users = HashMap::new();
        for user in configured {
            users
                .entry(user.username.clone())
                .or_insert_with(|| user.clone());
        }
        Access {
            login_required,
            open_token: random_token(),
            users,
            sessions: Mutex::new(Sessions::new(session::CAPACITY, session::IDLE_EXPIRY)),
            throttle: Arc::new(Mutex::new(Throttle::new(
                throttle::LIMIT,
                throttle::WINDOW,
                throttle::PENALTY,
                throttle::CAPACITY,
            ))),
            verifications: Arc::new(Semaphore::new(VERIFICATION_SLOTS)),
        }
    }

    /// Whether people must sign in.
    pub fn login_required(&self) -> bool {
        self.login_required
    }

    /// Checks `username`'s password on a blocking thread (Argon2 is slow by design), within
    /// the username's limit of attempts. The check runs to its end and is counted even if
    /// the client goes away meanwhile.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<&User, SignInError> {
        let Ok(slot) = self.verifications.clone().acquire_owned().await else {
            return Err(SignInError::Wrong);
        };
        let begun = lock(&self.throttle).begin(username, Instant::now());
        if let Err(wait) = begun {
            tracing::warn!(target: "potok_ui::audit", user = username, "sign-in refused: too many attempts");
            return Err(SignInError::Throttled(wait));
        }
        let user = self.users.get(username);
        let stored = user
            .map_or(DUMMY_HASH, |u| u.password_hash.as_str())
            .to_string();
        let known = user.is_some();
        let (username_owned, password) = (username.to_string(), password.to_string());
        let throttle = Arc::clone(&self.throttle);
        let check = tokio::task::spawn_blocking(move || {
            let succeeded = password::verify(&password, &stored) && known;
            lock(&throttle).finish(&username_owned, succeeded, Instant::now());
            drop(slot);
            succeeded
        });
        match user {
            Some(user) if check.await.unwrap_or(false) => Ok(user),
            _ => {
                tracing::warn!(target: "potok_ui::audit", user = username, "sign-in failed");
                Err(SignInError::Wrong)
            }
        }
    }

    /// Starts a session for `user`, returning the token for its cookie.
    pub fn start_session(&self, user: &User) -> String {
        lock(&self.sessions).create(&user.username, Instant::now())
    }

    /// The request's live session and its token, from the `potok_session` cookie.
    pub fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let token = session::token_from_cookies(headers)?;
        let found = lock(&self.sessions).find(&token, Instant::now())?;
        Some((token, found))
    }

    /// Ends the session of `token`.
    pub fn end_session(&self, token: &str) {
        lock(&self.sessions).remove(token);
    }

    fn caller(&self, username: &str, csrf_token: String) -> Option<Caller> {
        let user = self.users.get(username)?;
        Some(Caller {
            username: Some(user.username.clone()),
            role: user.role,
            messages: user.messages,
            csrf_token,
        })
    }

    /// The request's caller, `None` when nobody is signed in, or the refusal of bad Basic
    /// credentials.
    async fn identify(
        &self,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<Option<(Caller, Credential)>, Response> {
        if !self.login_required {
            let open = Caller {
                username: None,
                role: Role::Admin,
                messages: true,
                csrf_token: self.open_token.clone(),
            };
            return Ok(Some((open, Credential::Open)));
        }
        if let Some((_, session)) = self.session(headers) {
            if let Some(caller) = self.caller(&session.username, session.csrf_token) {
                return Ok(Some((caller, Credential::Session)));
            }
        }
        if !is_api(path) {
            return Ok(None);
        }
        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let credentials = authorization
            .to_str()
            .map_err(|_| "the Authorization header is not plain text")
            .and_then(basic::parse)
            .map_err(|reason| unauthenticated(reason).into_response())?;
        match self
            .sign_in(&credentials.username, &credentials.password)
            .await
        {
            Ok(user) => {
                let caller = self.caller(&user.username, String::new());
                Ok(caller.map(|caller| (caller, Credential::Basic)))
            }
            Err(SignInError::Wrong) => Err(unauthenticated(
                "wrong username or password in the Authorization header",
            )
            .into_response()),
            Err(SignInError::Throttled(wait)) => Err(too_many_attempts(wait)),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A 128-bit random token, hex-encoded.
pub fn random_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares tokens in time that does not depend on where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// The person (or script) behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` when access is open.
    pub username: Option<String>,
    pub role: Role,
    /// Whether the caller may read records.
    pub messages: bool,
    /// The token this caller's pages send with changes (empty for Basic credentials,
    /// which need none).
    pub csrf_token: String,
}

impl Caller {
    /// Whether the caller may change `cluster`: an admin, and the cluster not read-only.
    pub fn may_change(&self, cluster: &ClusterHandle) -> bool {
        self.role == Role::Admin && !cluster.settings.read_only
    }

    /// Refuses a change the caller may not make, and logs one it may.
    pub fn change(&self, cluster: &ClusterHandle, action: &str) -> UiResult<()> {
        if cluster.settings.read_only {
            return Err(UiError::forbidden(format!(
                "cluster '{}' is read-only in this console (kafka.clusters.N.readOnly)",
                cluster.name()
            )));
        }
        if self.role != Role::Admin {
            return Err(UiError::forbidden(format!(
                "{} is a viewer and may not change anything; sign in as an admin",
                self.username.as_deref().unwrap_or("this user")
            )));
        }
        tracing::info!(
            target: "potok_ui::audit",
            user = self.username.as_deref().unwrap_or("-"),
            cluster = cluster.name(),
            action,
            "change"
        );
        Ok(())
    }

    /// Refuses reading records to a caller kept to metadata.
    pub fn read_messages(&self) -> UiResult<()> {
        if self.messages {
            Ok(())
        } else {
            Err(UiError::forbidden(format!(
                "{} may not read messages (auth.users.N.messages=false)",
                self.username.as_deref().unwrap_or("this user")
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, UiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| unauthenticated(SIGN_IN_FIRST))
    }
}

const SIGN_IN_FIRST: &str = "sign in first: open /login in a browser, or send a user's HTTP Basic credentials (Authorization: Basic base64(user:password)) with API requests";

/// Finds the request's caller, sends the signed-out to sign in, and refuses changes sent
/// from other sites.
pub async fn middleware(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let change = is_change(request.method());
    if change {
        if let Err(refused) = check_origin(request.headers()) {
            return refused.into_response();
        }
    }
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let identified = state
        .access
        .identify(request.headers(), request.uri().path())
        .await;
    let (caller, credential) = match identified {
        Ok(Some(found)) => found,
        Ok(None) => return signed_out(&request),
        Err(refused) => return refused,
    };
    if change && credential != Credential::Basic {
        if let Err(refused) = check_csrf(request.headers(), &caller.csrf_token) {
            return refused.into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Paths anyone may reach: the sign-in and sign-out forms (which check what they need
/// themselves), the assets the sign-in page uses, and the health check.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/logout" | "/healthz") || path.starts_with("/assets/")
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A page asked for while signed out leads to the sign-in page, which comes back to it;
/// anything else is refused with 401.
fn signed_out(request: &Request) -> Response {
    let uri = request.uri();
    let page = !is_api(uri.path()) && matches!(*request.method(), Method::GET | Method::HEAD);
    if page {
        let asked = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        return Redirect::to(&next::login_url(asked)).into_response();
    }
    unauthenticated(SIGN_IN_FIRST).into_response()
}

fn unauthenticated(message: &str) -> UiError {
    UiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
}

/// `wait` in whole seconds, rounded up, at least one: what `Retry-After` says.
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// 429 with `Retry-After`, for a username whose attempts are spent.
fn too_many_attempts(wait: Duration) -> Response {
    let seconds = whole_seconds(wait);
    let error = UiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_ATTEMPTS",
        format!("too many failed sign-ins for this user; try again in {seconds} s"),
    );
    ([(header::RETRY_AFTER, seconds.to_string())], error).into_response()
}

/// A change must come from this console's own pages: an `Origin`, when sent, must be this
/// console's. Scripts send none and pass.
fn check_origin(headers: &HeaderMap) -> UiResult<()> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("an unreadable origin");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    if origin_host.is_none() || origin_host != host {
        return Err(UiError::forbidden(format!(
            "a change from {origin} is refused: only this console's own pages may make changes"
        )));
    }
    Ok(())
}

/// A change from a browser (one that sent a cookie or an `Origin`) must carry the page's
/// CSRF token, which another site's page cannot read.
fn check_csrf(headers: &HeaderMap, expected: &str) -> UiResult<()> {
    let from_browser = headers.contains_key(header::ORIGIN) || headers.contains_key(header::COOKIE);
    if !from_browser {
        return Ok(());
    }
    let token = headers.get(CSRF_HEADER).and_then(|h| h.to_str().ok());
    match token {
        Some(token) if !expected.is_empty() && same_token(token, expected) => Ok(()),
        _ => Err(UiError::forbidden(
            "the page's CSRF token is missing or stale; reload the page and try again",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn changes_from_other_sites_are_refused() {
        let host = ("host", "console.example:8282");
        assert!(
            check_origin(&headers(&[host])).is_ok(),
            "scripts send no Origin"
        );
        assert!(check_origin(&headers(&[host, ("origin", "http://console.example:8282")])).is_ok());
        for origin in ["http://evil.example", "null", "http://console.example:8283"] {
            let refused = check_origin(&headers(&[host, ("origin", origin)])).unwrap_err();
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin}");
        }
        assert!(check_origin(&headers(&[("origin", "http://console.example:8282")])).is_err());
    }

    #[test]
    fn browsers_must_send_the_csrf_token() {
        let token = "0123456789abcdef0123456789abcdef";
        assert!(
            check_csrf(&headers(&[]), token).is_ok(),
            "a script without cookie or Origin"
        );
        let cookie = ("cookie", "potok_session=x");
        let origin = ("origin", "http://h");
        for browser in [cookie, origin] {
            assert!(check_csrf(&headers(&[browser]), token).is_err());
            assert!(check_csrf(&headers(&[browser, ("x-csrf-token", "wrong")]), token).is_err());
            assert!(check_csrf(
                &headers(&[
                    browser,
                    ("x-csrf-token", "0123456789abcdef0123456789abcdef")
                ]),
                token
            )
            .is_ok());
        }
        assert!(
            check_csrf(&headers(&[cookie, ("x-csrf-token", "")]), "").is_err(),
            "an empty token never matches"
        );
    }

    #[test]
    fn waits_are_told_in_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(59_001)), 60);
        assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn only_sign_in_assets_and_health_are_public() {
        for public in ["/login", "/logout", "/healthz", "/assets/style.css"] {
            assert!(is_public(public), "{public}");
        }
        for private in ["/", "/login/x", "/api/me", "/clusters/a", "/assetsx"] {
            assert!(!is_public(private), "{private}");
        }
        assert!(is_api("/api") && is_api("/api/clusters") && !is_api("/apis"));
        assert!(!is_change(&Method::GET) && !is_change(&Method::OPTIONS));
        assert!(
            is_change(&Method::POST) && is_change(&Method::DELETE) && is_change(&Method::PATCH)
        );
    }

    #[test]
    fn the_dummy_hash_costs_what_real_ones_do() {
        use argon2::password_hash::PasswordHash;
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real_hash = password::hash("x").unwrap();
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
        assert!(password::is_hash(DUMMY_HASH));
        assert!(!password::verify("", DUMMY_HASH));
    }
}
