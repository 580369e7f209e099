//! The HTTP side of callward: health and metrics, the access log
//! ([`access_log`]), passwords and sign-in ([`password`], [`auth`]); the
//! API, console and key release as they land.
//!
//! Built the way the axum examples are: one [`router`] function over an
//! [`AppState`], tested with `oneshot` requests and no listening socket, and a
//! thin [`serve`] that takes its listener and shutdown signal from the caller.
//! Errors become responses in one place ([`ApiError`]).

pub mod access_log;
pub mod api;
mod api_admin;
mod api_attorney;
mod api_family;
mod api_live;
mod api_recordings;
pub mod auth;
pub mod console;
pub mod live;
mod local_time;
pub mod metrics;
pub mod password;
pub mod release;
pub mod session;

mod error;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument as _;

pub use error::{ApiError, error_body};
use metrics::{CounterVec, MetricsError, Registry};

/// The Prometheus text exposition content type.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Route label for requests that matched no route, so arbitrary paths from
/// the network cannot create new metric series.
const UNMATCHED_ROUTE: &str = "unmatched";

/// What the handlers share. Cloning is cheap and shares the state.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ready: AtomicBool,
    registry: Registry,
    http_requests: CounterVec<2>,
    sessions: Option<auth::Sessions>,
    login_limiter: session::LoginLimiter,
    /// The administrator's console pages' PIN key and sealer, set once.
    admin_tools: std::sync::OnceLock<console::AdminTools>,
    /// Recorded calls in progress, for live monitoring (set by `serve`).
    live: std::sync::OnceLock<Arc<dyn live::LiveAudio>>,
    /// Recordings as the console releases them (set by `serve`).
    recordings: std::sync::OnceLock<Arc<dyn release::Recordings>>,
    /// Released audio held for the page's player (`console/playback.rs`).
    playbacks: console::Playbacks,
}

impl AppState {
    /// A state that is not yet ready, with the web crate's own metrics
    /// (requests by route and status, uptime, build info) added to
    /// `registry`. The caller keeps `registry` to add its own metrics.
    pub fn new(registry: Registry) -> Result<Self, MetricsError> {
        Self::build(registry, None)
    }

    /// Like [`Self::new`], with the sign-in service (and through it the
    /// store and the access log) the API and console use.
    pub fn with_sessions(
        registry: Registry,
        sessions: auth::Sessions,
    ) -> Result<Self, MetricsError> {
        Self::build(registry, Some(sessions))
    }

    fn build(registry: Registry, sessions: Option<auth::Sessions>) -> Result<Self, MetricsError> {
        let http_requests = registry.counter_vec(
            "callward_http_requests_total",
            "HTTP requests answered, by route pattern and status code.",
            ["route", "status"],
        )?;
        let started = Instant::now();
        registry.gauge_fn(
            "callward_uptime_seconds",
            "Seconds since the server started.",
            move || started.elapsed().as_secs_f64(),
        )?;
        registry
            .gauge_vec(
                "callward_build_info",
                "Always 1; the version is in the label.",
                ["version"],
            )?
            .set([env!("CARGO_PKG_VERSION")], 1);
        Ok(Self {
            inner: Arc::new(Inner {
                ready: AtomicBool::new(false),
                registry,
                http_requests,
                sessions,
                login_limiter: session::LoginLimiter::new(),
                admin_tools: std::sync::OnceLock::new(),
                live: std::sync::OnceLock::new(),
                recordings: std::sync::OnceLock::new(),
                playbacks: console::Playbacks::default(),
            }),
        })
    }

    /// The sign-in service; `None` on a state made without one (the
    /// console then answers 503).
    pub fn sessions(&self) -> Option<&auth::Sessions> {
        self.inner.sessions.as_ref()
    }

    /// The store, through the sign-in service.
    pub fn store(&self) -> Option<&callward_store::SqliteStore> {
        self.sessions().map(auth::Sessions::store)
    }

    /// Gives the administrator's console pages the data dir's PIN key and
    /// the privilege sealer (once; a second call is refused with `false`).
    pub fn set_admin_tools(&self, tools: console::AdminTools) -> bool {
        self.inner.admin_tools.set(tools).is_ok()
    }

    /// What [`Self::set_admin_tools`] gave, if anything.
    pub(crate) fn admin_tools(&self) -> Option<&console::AdminTools> {
        self.inner.admin_tools.get()
    }

    /// The API's sign-in rate limiter.
    pub fn login_limiter(&self) -> &session::LoginLimiter {
        &self.inner.login_limiter
    }

    /// Connects playback and export in the console to the recordings
    /// (once; a second call is refused with `false`).
    pub fn set_recordings(&self, recordings: Arc<dyn release::Recordings>) -> bool {
        self.inner.recordings.set(recordings).is_ok()
    }

    /// What [`Self::set_recordings`] gave, if anything.
    pub(crate) fn recordings(&self) -> Option<&Arc<dyn release::Recordings>> {
        self.inner.recordings.get()
    }

    /// Audio released to console sessions, held for their players.
    pub(crate) fn playbacks(&self) -> &console::Playbacks {
        &self.inner.playbacks
    }

    /// Connects live monitoring to the switch's calls in progress (once;
    /// a second call is ignored). Without it the console lists no call.
    pub fn set_live(&self, live: Arc<dyn live::LiveAudio>) {
        let _ = self.inner.live.set(live);
    }

    /// The switch's calls in progress, if connected.
    pub fn live(&self) -> Option<&Arc<dyn live::LiveAudio>> {
        self.inner.live.get()
    }

    /// Marks the server ready (`/healthz` answers 200) or not (503).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Whether `/healthz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }

    /// The registry served on `/metrics`.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
}

/// All of callward's HTTP routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(console::routes())
        .nest("/api/v1", api::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
///
/// Graceful shutdown waits for open connections; a caller that must stop in
/// bounded time wraps this in a timeout.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.registry().render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// One span per request, a log line when it ends, and the request counter.
///
/// Only the route pattern is recorded, never the raw path or query, which
/// may later carry identifiers or phone numbers.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", method = %request.method(), route = %route);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), duration_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), duration_ms, "request done");
        }
    });
    state.inner.http_requests.inc([&route, status.as_str()]);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn state() -> AppState {
        AppState::new(Registry::new()).unwrap()
    }

    async fn get(app: Router, uri: &str) -> (StatusCode, Option<String>, String) {
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn healthz_is_503_until_ready_then_200_ok() {
        let state = state();
        let (status, _, body) = get(router(state.clone()), "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "not ready");

        state.set_ready(true);
        let (status, _, body) = get(router(state.clone()), "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "ok");

        state.set_ready(false);
        let (status, _, _) = get(router(state), "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn metrics_are_prometheus_text_with_request_counts() {
        let state = state();
        state.set_ready(true);
        let app = router(state);
        get(app.clone(), "/healthz").await;
        get(app.clone(), "/healthz").await;
        get(app.clone(), "/no/such/+15551230001?pin=246810").await;

        let (status, content_type, body) = get(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(METRICS_CONTENT_TYPE));
        assert!(
            content_type
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        assert!(
            body.contains("# TYPE callward_http_requests_total counter\n"),
            "{body}"
        );
        assert!(
            body.contains("callward_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"),
            "{body}"
        );
        assert!(
            body.contains("callward_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"),
            "{body}"
        );
        assert!(
            body.contains("# TYPE callward_uptime_seconds gauge\n"),
            "{body}"
        );
        assert!(
            body.contains(&format!(
                "callward_build_info{{version=\"{}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{body}"
        );
        // Raw paths never become label values.
        assert!(!body.contains("5551230001"), "{body}");
        assert!(!body.contains("246810"), "{body}");
    }

    #[tokio::test]
    async fn callers_can_add_their_own_metrics() {
        let registry = Registry::new();
        let state = AppState::new(registry.clone()).unwrap();
        let calls = registry
            .counter_vec("callward_calls_total", "Calls.", ["disposition"])
            .unwrap();
        calls.inc(["completed"]);
        let (_, _, body) = get(router(state), "/metrics").await;
        assert!(
            body.contains("callward_calls_total{disposition=\"completed\"} 1\n"),
            "{body}"
        );
    }

    #[test]
    fn one_registry_cannot_back_two_states() {
        let registry = Registry::new();
        AppState::new(registry.clone()).unwrap();
        assert!(matches!(
            AppState::new(registry),
            Err(MetricsError::Duplicate(_))
        ));
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let (status, _, body) = get(router(state()), "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            "{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}\n"
        );
    }

    #[tokio::test]
    async fn wrong_method_is_405() {
        let response = router(state())
            .oneshot(Request::post("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let err = ApiError::internal(std::io::Error::other(
            "open /var/lib/callward/secret.key: permission denied",
        ));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            &b"{\"error\":{\"code\":\"internal\",\"message\":\"internal server error\"}}\n"[..]
        );
    }
}
