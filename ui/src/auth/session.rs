//! The sign-in sessions kept on the server: the browser holds only a random token in the
//! `potok_session` cookie, and each session has its own CSRF token. Sessions end after a
//! spell of idleness, and their number is bounded (the least recently used one gives way),
//! so no client can grow the console's memory by signing in again and again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::random_token;

/// The name of the cookie that carries a session's token.
pub const COOKIE: &str = "potok_session";
/// How long a session lasts without a request.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(12 * 60 * 60);
/// The most sessions kept at once.
pub const CAPACITY: usize = 10_000;

/// A signed-in user's session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    /// The token this session's pages send with changes.
    pub csrf_token: String,
    last_seen: Instant,
}

/// Every live session, by the token in its cookie.
pub struct Sessions {
    by_token: HashMap<String, Session>,
    capacity: usize,
    idle_expiry: Duration,
}

impl Sessions {
    pub fn new(capacity: usize, idle_expiry: Duration) -> Sessions {
        Sessions {
            by_token: HashMap::new(),
            capacity: capacity.max(1),
            idle_expiry,
        }
    }

    /// Starts a session for `username` and returns its cookie token; when the store is
    /// full, expired sessions go first, then the least recently used one.
    pub fn create(&mut self, username: &str, now: Instant) -> String {
        if self.by_token.len() >= self.capacity {
            let idle_expiry = self.idle_expiry;
            self.by_token
                .retain(|_, session| now.duration_since(session.last_seen) < idle_expiry);
        }
        while self.by_token.len() >= self.capacity {
            let oldest = self
                .by_token
                .iter()
                .min_by_key(|(_, session)| session.last_seen)
                .map(|(token, _)| token.clone());
            match oldest {
                Some(token) => self.by_token.remove(&token),
                None => break,
            };
        }
        let token = random_token();
        self.by_token.insert(
            token.clone(),
            Session {
                username: username.to_string(),
                csrf_token: random_token(),
                last_seen: now,
            },
        );
        token
    }

    /// The live session of `token`, marked as used now; an expired one is removed.
    pub fn find(&mut self, token: &str, now: Instant) -> Option<Session> {
        let session = self.by_token.get_mut(token)?;
        if now.duration_since(session.last_seen) >= self.idle_expiry {
            self.by_token.remove(token);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends the session of `token`, if there is one.
    pub fn remove(&mut self, token: &str) -> Option<Session> {
        self.by_token.remove(token)
    }

    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.by_token.len()
    }
}

/// The session token in a request's `Cookie` headers, if one is there and looks like ours.
pub fn token_from_cookies(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && is_token(value))
        .map(|(_, value)| value.to_string())
}

/// Whether `value` has the shape of [`random_token`]'s tokens (32 hex digits).
fn is_token(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `Set-Cookie` value that gives the browser `token`.
pub fn set_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderMap, HeaderValue};

    #[test]
    fn a_session_lasts_while_used_and_ends_after_idling() {
        let start = Instant::now();
        let mut sessions = Sessions::new(10, Duration::from_secs(60));
        let token = sessions.create("ann", start);
        let first = sessions
            .find(&token, start + Duration::from_secs(50))
            .unwrap();
        assert_eq!(first.username, "ann");
        assert_eq!(first.csrf_token.len(), 32);
        assert_ne!(first.csrf_token, token);
        // Used at 50 s, so still alive at 100 s; then idle for a full minute.
        assert!(sessions
            .find(&token, start + Duration::from_secs(100))
            .is_some());
        assert!(sessions
            .find(&token, start + Duration::from_secs(160))
            .is_none());
        assert_eq!(sessions.count(), 0);
        assert!(sessions.find("nonsense", start).is_none());
    }

    #[test]
    fn each_session_has_its_own_tokens() {
        let now = Instant::now();
        let mut sessions = Sessions::new(10, IDLE_EXPIRY);
        let a = sessions.create("ann", now);
        let b = sessions.create("ann", now);
        assert_ne!(a, b);
        let (a, b) = (
            sessions.find(&a, now).unwrap(),
            sessions.find(&b, now).unwrap(),
        );
        assert_ne!(a.csrf_token, b.csrf_token);
    }

    #[test]
    fn a_full_store_drops_expired_then_least_recently_used_sessions() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut sessions = Sessions::new(3, Duration::from_secs(100));
        let a = sessions.create("a", at(0));
        let b = sessions.create("b", at(1));
        let c = sessions.create("c", at(2));
        sessions.find(&a, at(3));
        let d = sessions.create("d", at(4));
        assert_eq!(sessions.count(), 3);
        assert!(
            sessions.find(&b, at(5)).is_none(),
            "b was the least recently used"
        );
        for token in [&a, &c, &d] {
            assert!(sessions.find(token, at(5)).is_some());
        }
        let e = sessions.create("e", at(200));
        assert_eq!(sessions.count(), 1, "the expired sessions went first");
        assert!(sessions.find(&e, at(200)).is_some());
        assert!(sessions.remove(&e).is_some());
        assert!(sessions.remove(&e).is_none());
    }

    #[test]
    fn the_cookie_is_found_among_others_and_checked() {
        let token = random_token();
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; {COOKIE}={token}; b=2")).unwrap(),
        );
        assert_eq!(token_from_cookies(&headers), Some(token));
        let mut forged = HeaderMap::new();
        forged.insert(
            header::COOKIE,
            HeaderValue::from_static("potok_session=../../etc; x=1"),
        );
        assert_eq!(token_from_cookies(&forged), None);
        assert_eq!(token_from_cookies(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_kept_from_scripts_and_other_sites() {
        let cookie = set_cookie("abc");
        for part in ["potok_session=abc", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
