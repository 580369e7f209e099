//! The web console: server-rendered HTML pages, one plain stylesheet and a
//! few lines of script, all embedded in the binary; no front-end build.
//!
//! Pages live under `/console`. A page needs a session cookie
//! ([`crate::auth::SESSION_COOKIE`]); without one it sends the browser to
//! the sign-in page, and with an idle-locked one to the lock page. Every
//! form that changes something carries the session's CSRF token
//! ([`crate::auth::CSRF_FIELD`]). All text is escaped as it is written
//! ([`html::Html`]). The browser tests are in `tests/browser/`.

mod admin;
mod admin_numbers;
mod admin_people;
mod admin_privileged;
mod admin_rules;
mod admin_stations;
mod admin_users;
mod approvals;
pub(crate) mod attorney;
mod audit;
mod calls;
mod cases;
mod family;
mod html;
mod layout;
pub(crate) mod live;
pub(crate) mod playback;
mod signin;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use callward_audit::Source;
use callward_core::AgencyId;
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide};

use crate::AppState;
use crate::auth::{AuthError, Authenticated, SESSION_COOKIE, SessionToken, Sessions, now_ms};
use html::Html;
use layout::{Viewer, page};

pub use admin::{AdminTools, PrivilegeSealer, SealFuture};
pub use playback::Playbacks;

/// The console's routes, merged into [`crate::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/sign-in", get(signin::form).post(signin::submit))
        .route("/console/enrol", post(signin::enrol))
        .route("/console/locked", get(signin::locked).post(signin::unlock))
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/calls", get(calls::search))
        .route("/console/calls/{id}", get(calls::detail))
        .route("/console/cases", get(cases::list).post(cases::open))
        .route("/console/cases/{id}/close", post(cases::close))
        .route("/console/calls/{id}/play", post(playback::play))
        .route("/console/calls/{id}/export", post(playback::export))
        .route("/console/playback/{token}", get(playback::audio))
        .route(
            "/console/approvals",
            get(approvals::list).post(approvals::request),
        )
        .route("/console/approvals/{id}/grant", post(approvals::grant))
        .route("/console/approvals/{id}/refuse", post(approvals::refuse))
        .route("/console/live", get(live::list))
        .route("/console/live/{id}/audio", get(live::audio))
        .route("/console/audit", get(audit::log))
        .route("/console/audit/verify", post(audit::verify))
        .route("/console/admin/facilities", get(admin::facilities))
        .route("/console/admin/privileged", get(admin_privileged::list))
        .route(
            "/console/admin/privileged/reviewed",
            post(admin_privileged::reviewed),
        )
        .route(
            "/console/admin/privileged/verify",
            post(admin_privileged::verify),
        )
        .route(
            "/console/admin/privileged/reject",
            post(admin_privileged::reject),
        )
        .route(
            "/console/admin/users",
            get(admin_users::list).post(admin_users::create),
        )
        .route("/console/admin/users/unlock", post(admin_users::unlock))
        .route(
            "/console/admin/rules",
            get(admin_rules::show).post(admin_rules::save),
        )
        .route("/console/admin/stations", post(admin_stations::create))
        .route(
            "/console/admin/stations/enabled",
            post(admin_stations::set_enabled),
        )
        .route(
            "/console/admin/stations/unlock",
            post(admin_stations::unlock),
        )
        .route(
            "/console/admin/people",
            get(admin_people::people).post(admin_people::create),
        )
        .route("/console/admin/people/{id}", get(admin_numbers::show))
        .route(
            "/console/admin/people/{id}/contacts",
            post(admin_numbers::add_contact),
        )
        .route(
            "/console/admin/people/{id}/contacts/remove",
            post(admin_numbers::remove_contact),
        )
        .route(
            "/console/admin/people/{id}/blocks",
            post(admin_numbers::add_block),
        )
        .route(
            "/console/admin/people/{id}/blocks/remove",
            post(admin_numbers::remove_block),
        )
        .route(
            "/console/admin/people/reset-pin",
            post(admin_people::reset_pin),
        )
        .route(
            "/console/admin/people/language",
            post(admin_people::set_language),
        )
        .route(attorney::PATH, get(attorney::show))
        .route("/console/attorney/numbers", post(attorney::register))
        .route("/console/attorney/reviews", post(attorney::review))
        .route(family::PATH, get(family::show))
        .route("/console/family/deposit", post(family::deposit))
        .route("/console/family/block", post(family::block))
        .route("/console/family/unblock", post(family::unblock))
        .route("/console/family/close", post(family::close))
        .route(layout::CSS_PATH, get(layout::css))
        .route(layout::JS_PATH, get(layout::js))
}

/// A request's console session, checked.
pub(crate) struct Signed {
    pub(crate) auth: Authenticated,
    pub(crate) viewer: Viewer,
}

/// The session token in the request's cookie, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<SessionToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| SessionToken::parse(value))
}

/// The sign-in service, or the page saying the server has none.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
pub(crate) fn sessions(state: &AppState) -> Result<&Sessions, Response> {
    state.sessions().map(|s| -> &Sessions { s }).ok_or_else(|| {
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            None,
            Some("This server was started without sign-in; the console needs it."),
            &Html::new(),
        )
    })
}

/// The signed-in person, or the response that sends the browser where it
/// must go first (sign in, or unlock an idle session).
pub(crate) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let Some(token) = session_token(headers) else {
        return Err(Redirect::to("/console/sign-in").into_response());
    };
    match sessions(state)?.authenticate(&token, now_ms()).await {
        Ok(auth) => {
            let viewer = Viewer {
                username: auth.identity.user.username.as_str().to_owned(),
                role: auth.identity.user.role,
                csrf: auth.token.csrf(),
            };
            Ok(Signed { auth, viewer })
        }
        Err(AuthError::IdleLocked) => Err(Redirect::to("/console/locked").into_response()),
        Err(AuthError::Store(e)) => Err(server_error(&e)),
        Err(_) => Err(Redirect::to("/console/sign-in").into_response()),
    }
}

/// The signed-in person for a form post, checked against the form's CSRF
/// token.
pub(crate) async fn signed_form(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Signed, Response> {
    let signed = signed_in(state, headers).await?;
    if cross_site(headers) || !signed.auth.token.csrf_matches(csrf) {
        return Err(forbidden(Some(&signed.viewer)));
    }
    Ok(signed)
}

/// What `decide` says about `op` for the signed-in person on an object of
/// `object_agency` (not privileged, no case).
pub(crate) fn access(signed: &Signed, op: Operation, object_agency: AgencyId) -> Access {
    decide(AccessRequest {
        op,
        role: signed.auth.identity.user.role,
        actor_agency: signed.auth.identity.agency,
        object_agency,
        privileged: false,
        case: CaseStatus::None,
    })
}

/// The 403 page saying why, with a way back.
pub(crate) fn not_allowed(viewer: &Viewer, why: &str) -> Response {
    let mut b = Html::new();
    b.raw("<p><a href=\"/console\">Back to the home page</a></p>");
    page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        Some(viewer),
        Some(why),
        &b,
    )
}

/// Appends `entry` to the access log (committed); nothing is released or
/// changed unless this succeeds.
pub(crate) async fn append(
    state: &AppState,
    entry: &callward_audit::Entry,
) -> Result<u64, Response> {
    let mut log = sessions(state)?.log().lock().await;
    log.record(entry)
        .await
        .map(|a| a.index)
        .map_err(|e| server_error(&e))
}

/// Where a request came from, for the access log: the peer's address
/// when the server was started with connection info.
pub(crate) struct Peer(pub(crate) Source);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || Source::Local("web console (peer address unknown)".to_owned()),
                    |c| Source::Ip(c.0.ip()),
                ),
        ))
    }
}

/// Refuses a form post another site started (the sign-in form has no
/// session, so no CSRF token yet; `SameSite=Strict` covers the rest).
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
}

/// The page for a form another site posted, or without a valid CSRF token.
pub(crate) fn forbidden(viewer: Option<&Viewer>) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        viewer,
        Some("This form came from another page or an old session. Go back, reload and try again."),
        &Html::new(),
    )
}

/// A 500 page that says nothing about the cause (logged here).
pub(crate) fn server_error(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "console request failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        None,
        Some(
            "The server could not do this. Nothing was changed; try again, and tell your administrator if it keeps happening.",
        ),
        &Html::new(),
    )
}

/// Sets the session cookie: script cannot read it and other sites cannot send it.
pub(crate) fn session_cookie(token: &SessionToken) -> HeaderValue {
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        token.expose()
    );
    // 64 hex digits and fixed text: always a valid header value.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Clears the session cookie.
pub(crate) fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("callward_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut body = Html::new();
    body.raw("<p>Signed in as <strong>")
        .text(&signed.viewer.username)
        .raw("</strong>, ")
        .raw(signed.viewer.role.as_str())
        .raw(".</p>");
    let links = layout::nav(signed.viewer.role);
    if links.len() > 1 {
        body.raw("<h2>What you can do here</h2><ul>");
        for (path, label) in &links[1..] {
            body.raw("<li><a href=\"")
                .raw(path)
                .raw("\">")
                .raw(label)
                .raw("</a></li>");
        }
        body.raw("</ul>");
    } else {
        body.raw("<p>The pages for your role are not in the console yet.</p>");
    }
    page(StatusCode::OK, "Home", Some(&signed.viewer), None, &body)
}
