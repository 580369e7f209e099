//! The one place where errors become HTTP responses, all of one shape:
//!
//! ```json
//! {"error": {"code": "not_found", "message": "not found"}}
//! ```
//!
//! `code` is stable (clients branch on it); `message` is for people.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error a handler returns; [`IntoResponse`] turns it into the response.
///
/// Client errors (4xx) are answered with their message and not logged as
/// errors. Server errors (5xx) are logged with their cause and answered with
/// a fixed message, so no internal detail (paths, SQL, peer addresses)
/// reaches the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No route or resource at this path.
    #[error("not found")]
    NotFound,
    /// The route exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request is malformed or a value is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// Not signed in, or the session ended (401); `code` says which.
    #[error("{message}")]
    Unauthorized {
        /// `not_signed_in`, `session_locked`, `session_expired`, `sign_in_refused`.
        code: &'static str,
        /// What to tell the person.
        message: String,
    },
    /// Signed in, but the rules forbid it (403); `code` says which.
    #[error("{message}")]
    Forbidden {
        /// `forbidden`, `csrf`, `account_locked`.
        code: &'static str,
        /// What to tell the person.
        message: String,
    },
    /// A state conflict (409), e.g. a case already closed.
    #[error("{0}")]
    Conflict(String),
    /// The body is too large (413).
    #[error("the request body is too large")]
    TooLarge,
    /// Too many attempts (429).
    #[error("too many attempts; wait a minute")]
    RateLimited,
    /// Something the server needs is not running (503).
    #[error("{0}")]
    Unavailable(String),
    /// Something failed inside the server.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Wraps any error as an internal (500) error.
    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    /// A 403 with code `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    /// The status and the stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The JSON error body: `{"error":{"code":…,"message":…}}`.
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "{{\"error\":{{\"code\":{},\"message\":{}}}}}\n",
        json_string(code),
        json_string(message)
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(err) = &self {
            tracing::error!(error = %Chain(&**err), "internal error");
            return error_body(status, code, "internal server error");
        }
        error_body(status, code, &self.to_string())
    }
}

/// Displays an error and its sources on one line: `outer: inner: root`.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}
