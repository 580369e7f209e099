//! Axum plumbing for signed-in requests: the [`SignedIn`] extractor
//! (cookie or bearer session), the CSRF guard for cookie sessions, and the
//! login rate limiter.
//!
//! CSRF: a request with an unsafe method (anything but GET, HEAD, OPTIONS)
//! whose `Origin` names another host than `Host` is refused outright. A
//! cookie session's unsafe request must also carry the session's CSRF
//! token in the `X-CSRF-Token` header or, for an HTML form
//! (`application/x-www-form-urlencoded`), the `csrf` field; [`SignedIn`]
//! refuses it otherwise. Bearer tokens are not sent by browsers on their
//! own, so they need no CSRF token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use callward_audit::Source;

use crate::auth::{AuthError, CSRF_FIELD, CSRF_HEADER, Identity, SessionToken};
use crate::{ApiError, AppState};

/// Largest form body the CSRF guard reads to find the `csrf` field.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A request made in a usable session. Extracting it refuses (401) a
/// request without one, a locked or expired session, and (403) a cookie
/// session's unsafe request without its CSRF token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub identity: Identity,
    /// The session's token.
    pub token: SessionToken,
    /// The session came in a cookie (not `Authorization: Bearer`).
    pub cookie: bool,
    /// The client's address, when the server knows it.
    pub peer: Option<IpAddr>,
}

impl SignedIn {
    /// Where the request came from, for the access log.
    pub fn source(&self) -> Source {
        source(self.peer)
    }
}

/// An access-log source for a peer.
pub fn source(peer: Option<IpAddr>) -> Source {
    peer.map_or_else(|| Source::Local("http".into()), Source::Ip)
}

/// The client's address (set by [`crate::serve`]).
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The session token a request carries: `Authorization: Bearer` first,
/// then the console's session cookie (read by the console's own
/// [`crate::console::session_token`], so both read it the same way). The
/// flag says it came in the cookie. A malformed bearer token is no token.
pub fn request_token(headers: &HeaderMap) -> Option<(SessionToken, bool)> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        return auth
            .to_str()
            .ok()
            .and_then(|a| a.strip_prefix("Bearer "))
            .and_then(|t| SessionToken::parse(t.trim()))
            .map(|t| (t, false));
    }
    crate::console::session_token(headers).map(|t| (t, true))
}

/// The CSRF token a request presented (header or form field), put in the
/// request's extensions by [`csrf_guard`].
#[derive(Debug, Clone)]
struct PresentedCsrf(String);

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: refuses cross-origin unsafe requests and notes the CSRF
/// token presented, for [`SignedIn`] to check.
pub async fn csrf_guard(request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, rest)| rest))
            .is_some_and(|o| Some(o) == host);
        if !same {
            return axum::response::IntoResponse::into_response(ApiError::Forbidden {
                code: "csrf",
                message: "cross-origin request refused".into(),
            });
        }
    }
    let mut request = request;
    if let Some(v) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.to_owned();
        request.extensions_mut().insert(PresentedCsrf(v));
        return next.run(request).await;
    }
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return axum::response::IntoResponse::into_response(ApiError::TooLarge);
    };
    let presented = bytes
        .split(|&b| b == b'&')
        .filter_map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            Some((kv.next()?, kv.next()?))
        })
        .find(|(k, _)| *k == CSRF_FIELD.as_bytes())
        .and_then(|(_, v)| std::str::from_utf8(v).ok().map(str::to_owned));
    let mut request = Request::from_parts(parts, Body::from(bytes));
    if let Some(p) = presented {
        request.extensions_mut().insert(PresentedCsrf(p));
    }
    next.run(request).await
}

/// The 401/403 for a session that does not authenticate.
pub fn auth_error(e: AuthError) -> ApiError {
    let (code, message) = match e {
        AuthError::Unknown => ("not_signed_in", e.to_string()),
        AuthError::IdleLocked => ("session_locked", e.to_string()),
        AuthError::Expired => ("session_expired", e.to_string()),
        AuthError::AccountLocked => {
            return ApiError::Forbidden {
                code: "account_locked",
                message: e.to_string(),
            };
        }
        AuthError::Store(e) => return ApiError::internal(e),
    };
    ApiError::Unauthorized { code, message }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let sessions = state
            .sessions()
            .ok_or_else(|| ApiError::Unavailable("sign-in is not configured".into()))?;
        let not_signed_in = || ApiError::Unauthorized {
            code: "not_signed_in",
            message: "not signed in".into(),
        };
        let (token, cookie) = request_token(&parts.headers).ok_or_else(not_signed_in)?;
        if cookie && !is_safe(&parts.method) {
            let ok = parts
                .extensions
                .get::<PresentedCsrf>()
                .is_some_and(|p| token.csrf_matches(&p.0));
            if !ok {
                return Err(ApiError::Forbidden {
                    code: "csrf",
                    message: "missing or wrong CSRF token (X-CSRF-Token header or csrf field)"
                        .into(),
                });
            }
        }
        let authed = sessions
            .authenticate(&token, crate::auth::now_ms())
            .await
            .map_err(auth_error)?;
        Ok(Self {
            identity: authed.identity,
            token: authed.token,
            cookie,
            peer: peer(parts),
        })
    }
}

/// Sign-in attempts allowed per client address in a window.
pub const LOGIN_PER_ADDRESS: u32 = 20;
/// Sign-in attempts allowed per user name in a window.
pub const LOGIN_PER_USER: u32 = 10;
/// The window, in milliseconds.
pub const LOGIN_WINDOW_MS: i64 = 60_000;
/// Keys tracked at once; past this, stale ones are dropped and, if none
/// are stale, new keys are refused (fail closed, bounded memory).
pub const LOGIN_MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LimitKey {
    Address(IpAddr),
    User(String),
}

/// Fixed-window counters of sign-in attempts per client address and per
/// user name, in bounded memory.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    windows: std::sync::Mutex<HashMap<LimitKey, (i64, u32)>>,
}

impl LoginLimiter {
    /// A limiter with nothing counted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts an attempt by `username` from `peer` at `now_ms`; `false`
    /// if either is over its limit (then nothing should be checked).
    pub fn allow(&self, peer: Option<IpAddr>, username: &str, now_ms: i64) -> bool {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let user: String = username.trim().to_lowercase().chars().take(64).collect();
        let mut keys = vec![(LimitKey::User(user), LOGIN_PER_USER)];
        if let Some(ip) = peer {
            keys.push((LimitKey::Address(ip), LOGIN_PER_ADDRESS));
        }
        if windows.len() + keys.len() > LOGIN_MAX_KEYS {
            windows.retain(|_, (start, _)| now_ms - *start < LOGIN_WINDOW_MS);
        }
        let mut allowed = true;
        for (key, limit) in keys {
            if !windows.contains_key(&key) && windows.len() >= LOGIN_MAX_KEYS {
                allowed = false;
                continue;
            }
            let w = windows.entry(key).or_insert((now_ms, 0));
            if now_ms - w.0 >= LOGIN_WINDOW_MS || now_ms < w.0 {
                *w = (now_ms, 0);
            }
            w.1 = w.1.saturating_add(1);
            if w.1 > limit {
                allowed = false;
            }
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_user_and_address_then_releases() {
        let l = LoginLimiter::new();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..LOGIN_PER_USER {
            assert!(l.allow(Some(a), "Alice", 0));
        }
        assert!(!l.allow(Some(b), "alice ", 1), "same user, other address");
        assert!(l.allow(Some(a), "bob", 2));
        assert!(l.allow(Some(a), "alice", LOGIN_WINDOW_MS), "next window");
        for i in 0..LOGIN_PER_ADDRESS {
            l.allow(Some(b), &format!("u{i}"), LOGIN_WINDOW_MS);
        }
        assert!(!l.allow(Some(b), "fresh", LOGIN_WINDOW_MS));
    }

    #[test]
    fn memory_is_bounded() {
        let l = LoginLimiter::new();
        for i in 0..(LOGIN_MAX_KEYS + 50) {
            l.allow(None, &format!("user{i}"), 0);
        }
        assert!(l.windows.lock().unwrap().len() <= LOGIN_MAX_KEYS);
        // Once the window passes, stale keys make room again.
        assert!(l.allow(None, "late", LOGIN_WINDOW_MS + 1));
    }

    #[test]
    fn bearer_first_then_cookie() {
        let a = "ab".repeat(32);
        let b = "cd".repeat(32);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; callward_session={a}; y=2").parse().unwrap(),
        );
        let (t, cookie) = request_token(&h).unwrap();
        assert!(cookie);
        assert_eq!(t.expose(), a);
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {b}").parse().unwrap(),
        );
        let (t, cookie) = request_token(&h).unwrap();
        assert!(!cookie);
        assert_eq!(t.expose(), b);
        h.insert(header::AUTHORIZATION, "Bearer nonsense".parse().unwrap());
        assert!(request_token(&h).is_none());
    }
}
