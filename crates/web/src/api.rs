//! The HTTP API under `/api/v1` (`docs/api.md`).
//!
//! One route table, [`routes_table`], builds both the router and the OpenAPI 3.1
//! document served at `/api/v1/openapi.json`, so the two cannot drift. Every
//! handler checks the `decide` matrix of callward-core's `auth` module and
//! appends its access-log entry before it reads or changes anything.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use callward_audit::{Action, Entry, ObjectKind};
use callward_core::auth::{
    Access, AccessRequest, CaseStatus, Justification, Operation, check_decision, decide,
};
use callward_core::callflow::Disposition;
use callward_core::{ApprovalId, CallDetailRecord, CaseId, E164Number, FacilityId, Name, PersonId};
use callward_store::{CallSearch, Cursor, MAX_PAGE_SIZE, PageRequest, Store as _, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Enrolment, LoginOutcome, NewSession, SignInError, now_ms};
use crate::error::error_body;
use crate::session::{self, SignedIn};
use crate::{ApiError, AppState};

/// One route: method, path (axum syntax), what it does, and its handler.
pub struct Route {
    /// `get`, `post` or `delete`.
    pub method: &'static str,
    /// The path under `/api/v1`, with `{name}` parameters.
    pub path: &'static str,
    /// One line for the document.
    pub summary: &'static str,
    /// Needs a session.
    pub signed_in: bool,
    /// Query parameters (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// The JSON body's schema, if it takes one.
    pub body: Option<fn() -> Value>,
    /// The success status.
    pub status: u16,
    /// Builds the handler (a route table entry is a plain constant).
    pub(crate) handler: fn() -> MethodRouter<AppState>,
}

/// One [`Route`] from its method, path, documentation and handler; other
/// API modules use it for their own tables.
macro_rules! route {
    ($method:ident $path:literal, $summary:literal, signed_in: $s:expr, query: $q:expr, body: $b:expr, status: $st:literal, $h:expr) => {
        Route {
            method: stringify!($method),
            path: $path,
            summary: $summary,
            signed_in: $s,
            query: $q,
            body: $b,
            status: $st,
            handler: || $method($h),
        }
    };
}

const SEARCH_QUERY: &[(&str, &str)] = &[
    ("person", "person id"),
    (
        "number",
        "dialled number (E.164 or NANP); never matches privileged calls",
    ),
    ("facility", "facility id"),
    ("since", "offered at or after (ms since the epoch)"),
    ("until", "offered before (ms since the epoch)"),
    ("disposition", "how the call ended"),
    ("min_seconds", "at least this many billable seconds"),
    ("max_seconds", "at most this many billable seconds"),
    ("time_limit_reached", "true or false"),
    ("blocked", "true or false"),
    ("limit", "page size, 1 to 500 (default 50)"),
    ("after", "cursor from the previous page's `next`"),
];

#[allow(unused_imports, reason = "for the other API modules' tables")]
pub(crate) use route;

/// Every route table of the API. Another module adds its routes by
/// defining its own `pub(crate) const ROUTES: &[Route]` (with [`route!`])
/// and adding it here; the router and the OpenAPI document both read
/// [`routes_table`], so a route outside the tables is neither served nor
/// documented.
const TABLES: &[&[Route]] = &[
    ROUTES,
    crate::api_family::ROUTES,
    crate::api_recordings::ROUTES,
    crate::api_attorney::ROUTES,
    crate::api_live::ROUTES,
    crate::api_admin::ROUTES,
];

/// All API routes, from every table.
pub fn routes_table() -> impl Iterator<Item = &'static Route> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// This module's routes.
pub const ROUTES: &[Route] = &[
    route!(post "/sessions", "Sign in (password, then TOTP code; enrols TOTP at first sign-in)",
        signed_in: false, query: &[], body: Some(login_schema), status: 201, login),
    route!(delete "/sessions", "Sign out", signed_in: true, query: &[], body: None, status: 204, logout),
    route!(post "/sessions/enrolment", "Finish TOTP enrolment with the first code",
        signed_in: false, query: &[], body: Some(enrol_schema), status: 201, confirm_enrolment),
    route!(post "/sessions/unlock", "Unlock a session locked after 30 minutes idle",
        signed_in: false, query: &[], body: Some(unlock_schema), status: 200, unlock),
    route!(get "/me", "Who is signed in, and the CSRF token", signed_in: true, query: &[], body: None, status: 200, me),
    route!(get "/facilities", "The agency's facilities", signed_in: true, query: &[], body: None, status: 200, facilities),
    route!(get "/calls", "Search call records (privileged calls without number)",
        signed_in: true, query: SEARCH_QUERY, body: None, status: 200, calls),
    route!(get "/calls/{id}", "One call record", signed_in: true, query: &[], body: None, status: 200, call),
    route!(get "/cases", "The agency's cases", signed_in: true, query: &[], body: None, status: 200, cases),
    route!(post "/cases", "Open a case with a justification",
        signed_in: true, query: &[], body: Some(case_schema), status: 201, open_case),
    route!(post "/cases/{id}/close", "Close a case", signed_in: true, query: &[], body: None, status: 200, close_case),
    route!(get "/approvals", "The agency's approval requests", signed_in: true, query: &[], body: None, status: 200, approvals),
    route!(post "/approvals", "Ask a supervisor to release more recordings",
        signed_in: true, query: &[], body: Some(approval_schema), status: 201, request_approval),
    route!(post "/approvals/{id}/grant", "Grant a request (a supervisor, never one's own)",
        signed_in: true, query: &[], body: None, status: 200, grant),
    route!(post "/approvals/{id}/refuse", "Refuse a request", signed_in: true, query: &[], body: None, status: 200, refuse),
    route!(get "/audit/checkpoint", "The access log's newest signed checkpoint",
        signed_in: true, query: &[], body: None, status: 200, checkpoint),
    route!(get "/audit/proof", "Inclusion proof of an entry in a tree size",
        signed_in: true, query: &[("index", "entry index"), ("size", "tree size (default: the newest)")],
        body: None, status: 200, proof),
    route!(get "/openapi.json", "This document", signed_in: false, query: &[], body: None, status: 200, openapi),
];

/// The `/api/v1` router (nested by [`crate::router`]).
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for r in routes_table() {
        router = router.route(r.path, (r.handler)());
    }
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(session::csrf_guard))
        .layer(middleware::from_fn(json_errors))
}

/// Any error response that is not yet JSON (axum's own rejections: bad
/// JSON, a bad path or query parameter) gets the one error shape.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNPROCESSABLE_ENTITY => "bad_request",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let bytes = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let message = if status.is_server_error() {
        "internal server error".to_owned()
    } else {
        String::from_utf8_lossy(&bytes).trim().to_owned()
    };
    // 422 from axum's Json means valid JSON of the wrong shape: a 400 here.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    error_body(status, code, &message)
}

/// A store failure as the API answers it (api.rs and api_family.rs):
/// unknown object 404, a refused or conflicting change 409, else 500.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(_) => ApiError::NotFound,
        StoreError::Refused(why) | StoreError::Conflict(why) => ApiError::Conflict(why),
        other => ApiError::internal(other),
    }
}

fn sign_in_error(e: SignInError) -> ApiError {
    if e.is_client_error() {
        let code = match e {
            SignInError::Locked | SignInError::LockedNow => "account_locked",
            SignInError::EnrolmentExpired => "enrolment_expired",
            SignInError::Busy => "busy",
            _ => "sign_in_refused",
        };
        if matches!(e, SignInError::Busy) {
            return ApiError::Unavailable(e.to_string());
        }
        ApiError::Unauthorized {
            code,
            message: e.to_string(),
        }
    } else {
        ApiError::internal(e)
    }
}

/// Appends `entry`; nothing is released or changed if this fails.
pub(crate) async fn record(state: &AppState, entry: &Entry) -> Result<(), ApiError> {
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("the access log is not configured".into()))?;
    sessions
        .log()
        .lock()
        .await
        .record(entry)
        .await
        .map(|_| ())
        .map_err(ApiError::internal)
}

/// The store behind the sessions (503 when serve has none).
pub(crate) fn store(state: &AppState) -> Result<&callward_store::SqliteStore, ApiError> {
    state
        .sessions()
        .map(crate::auth::Sessions::store)
        .ok_or_else(|| ApiError::Unavailable("the store is not configured".into()))
}

/// Checks `op` for `who` on an object of `object_agency`; a refusal is
/// logged and answered 403.
pub(crate) async fn require(
    state: &AppState,
    who: &SignedIn,
    op: Operation,
    object_agency: callward_core::AgencyId,
    privileged: bool,
    case: CaseStatus,
    (kind, object): (ObjectKind, &str),
) -> Result<Access, ApiError> {
    let access = decide(AccessRequest {
        op,
        role: who.identity.user.role,
        actor_agency: who.identity.agency,
        object_agency,
        privileged,
        case,
    });
    if let Access::Deny(d) = access {
        record(
            state,
            &who.identity.entry(
                Action::Refused,
                kind,
                object,
                None,
                &d.to_string(),
                who.source(),
            ),
        )
        .await?;
        return Err(ApiError::forbidden(d.to_string()));
    }
    Ok(access)
}

// ---- sessions ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

fn login_schema() -> Value {
    json!({"type": "object", "required": ["username", "password"], "additionalProperties": false,
        "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                       "totp": {"type": ["string", "null"]}}})
}

fn session_json(s: &NewSession) -> Value {
    json!({
        "token": s.token.expose(),
        "csrf": s.csrf,
        "expires_ms": s.expires_ms,
        "user": user_json(&s.identity),
    })
}

fn user_json(i: &crate::auth::Identity) -> Value {
    json!({"id": i.user.id, "username": i.user.username.as_str(), "role": i.user.role.as_str(), "agency": i.agency})
}

fn session_response(s: &NewSession) -> Response {
    (
        StatusCode::CREATED,
        [(header::SET_COOKIE, crate::console::session_cookie(&s.token))],
        Json(session_json(s)),
    )
        .into_response()
}

fn enrolment_response(e: &Enrolment) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "enrolment_token": e.token,
            "otpauth_uri": e.otpauth_uri,
            "expires_ms": e.expires_ms,
        })),
    )
        .into_response()
}

async fn login(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let peer = session::peer(&parts);
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let body: LoginBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("bad JSON body: {e}")))?;
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("sign-in is not configured".into()))?;
    let now = now_ms();
    if !state.login_limiter().allow(peer, &body.username, now) {
        return Err(ApiError::RateLimited);
    }
    let outcome = sessions
        .login(
            &body.username,
            &body.password,
            body.totp.as_deref().filter(|c| !c.is_empty()),
            session::source(peer),
            now,
        )
        .await
        .map_err(sign_in_error)?;
    Ok(match outcome {
        LoginOutcome::Session(s) => session_response(&s),
        LoginOutcome::EnrolmentRequired(e) => enrolment_response(&e),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    enrolment_token: String,
    code: String,
}

fn enrol_schema() -> Value {
    json!({"type": "object", "required": ["enrolment_token", "code"], "additionalProperties": false,
        "properties": {"enrolment_token": {"type": "string"}, "code": {"type": "string"}}})
}

async fn confirm_enrolment(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let peer = session::peer(&parts);
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let body: EnrolBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("bad JSON body: {e}")))?;
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("sign-in is not configured".into()))?;
    let s = sessions
        .confirm_enrolment(
            &body.enrolment_token,
            &body.code,
            session::source(peer),
            now_ms(),
        )
        .await
        .map_err(sign_in_error)?;
    Ok(session_response(&s))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockBody {
    password: String,
}

fn unlock_schema() -> Value {
    json!({"type": "object", "required": ["password"], "additionalProperties": false,
        "properties": {"password": {"type": "string"}}})
}

async fn unlock(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let peer = session::peer(&parts);
    let (token, _) = session::request_token(&parts.headers).ok_or(ApiError::Unauthorized {
        code: "not_signed_in",
        message: "not signed in".into(),
    })?;
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let body: UnlockBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("bad JSON body: {e}")))?;
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("sign-in is not configured".into()))?;
    let authed = sessions
        .unlock(&token, &body.password, session::source(peer), now_ms())
        .await
        .map_err(sign_in_error)?;
    Ok(Json(json!({"user": user_json(&authed.identity), "csrf": token.csrf()})).into_response())
}

async fn logout(State(state): State<AppState>, who: SignedIn) -> Result<Response, ApiError> {
    if let Some(s) = state.sessions() {
        s.logout(&who.token).await.map_err(ApiError::internal)?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, crate::console::cleared_cookie())],
    )
        .into_response())
}

async fn me(who: SignedIn) -> Json<Value> {
    Json(json!({"user": user_json(&who.identity), "csrf": who.token.csrf()}))
}

// ---- facilities ----

async fn facilities(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let mut items = Vec::new();
    for f in store.list_facilities().await.map_err(store_error)? {
        if store.facility_agency(f.id).await.map_err(store_error)? == who.identity.agency {
            items.push(json!({
                "id": f.id, "name": f.name.as_str(), "kind": f.kind,
                "average_daily_population": f.average_daily_population,
                "max_call_minutes": f.max_call_minutes,
            }));
        }
    }
    Ok(Json(json!({ "items": items })))
}

// ---- calls ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    person: Option<i64>,
    number: Option<String>,
    facility: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
    disposition: Option<String>,
    min_seconds: Option<u64>,
    max_seconds: Option<u64>,
    time_limit_reached: Option<bool>,
    blocked: Option<bool>,
    limit: Option<u32>,
    after: Option<String>,
}

fn timestamp(field: &str, ms: i64) -> Result<jiff::Timestamp, ApiError> {
    jiff::Timestamp::from_millisecond(ms)
        .map_err(|_| ApiError::BadRequest(format!("{field}: not a time in ms since the epoch")))
}

/// A call record as the reader may see it: a privileged call has no
/// number and no recording.
fn call_json(call: &CallDetailRecord, access: Access) -> Result<Value, ApiError> {
    let mut v = serde_json::to_value(call).map_err(ApiError::internal)?;
    if (call.privileged || access == Access::Redacted)
        && let Some(obj) = v.as_object_mut()
    {
        obj.remove("number");
        obj.insert("recording_id".into(), Value::Null);
    }
    Ok(v)
}

async fn calls(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let agency = who.identity.agency;
    require(
        &state,
        &who,
        Operation::SearchCalls,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::Query, "calls"),
    )
    .await?;
    let number = match &q.number {
        Some(n) => {
            Some(E164Number::parse(n).map_err(|e| ApiError::BadRequest(format!("number: {e}")))?)
        }
        None => None,
    };
    let disposition = match &q.disposition {
        Some(d) => Some(
            d.parse::<Disposition>()
                .map_err(|e| ApiError::BadRequest(format!("disposition: {e}")))?,
        ),
        None => None,
    };
    let search = CallSearch {
        person: q.person.map(PersonId),
        number,
        facility: q.facility.map(FacilityId),
        from: q.since.map(|t| timestamp("since", t)).transpose()?,
        until: q.until.map(|t| timestamp("until", t)).transpose()?,
        disposition,
        min_seconds: q.min_seconds,
        max_seconds: q.max_seconds,
        time_limit_reached: q.time_limit_reached,
        blocked: q.blocked,
        ..CallSearch::default()
    };
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::BadRequest(format!("limit: 1 to {MAX_PAGE_SIZE}")));
    }
    let after = match &q.after {
        Some(c) => Some(
            c.parse::<Cursor>()
                .map_err(|e| ApiError::BadRequest(format!("after: {e}")))?,
        ),
        None => None,
    };
    let mut described = format!("api calls limit={limit}");
    if let Some(n) = &search.number {
        described.push_str(&format!(" number={}", n.masked()));
    }
    for (k, v) in [
        ("person", q.person.map(|x| x.to_string())),
        ("facility", q.facility.map(|x| x.to_string())),
        ("since", q.since.map(|x| x.to_string())),
        ("until", q.until.map(|x| x.to_string())),
        ("disposition", q.disposition.clone()),
    ] {
        if let Some(v) = v {
            described.push_str(&format!(" {k}={v}"));
        }
    }
    record(
        &state,
        &who.identity.entry(
            Action::Search,
            ObjectKind::Query,
            &described,
            None,
            "",
            who.source(),
        ),
    )
    .await?;
    let page = store
        .search_calls(&search, &PageRequest { after, size: limit })
        .await
        .map_err(store_error)?;
    let mut items = Vec::new();
    let mut agencies = std::collections::HashMap::new();
    for call in &page.items {
        let object_agency = match agencies.get(&call.facility_id) {
            Some(a) => *a,
            None => {
                let a = store
                    .facility_agency(call.facility_id)
                    .await
                    .map_err(store_error)?;
                agencies.insert(call.facility_id, a);
                a
            }
        };
        if object_agency != agency {
            continue;
        }
        let access = decide(AccessRequest {
            op: Operation::ViewCall,
            role: who.identity.user.role,
            actor_agency: agency,
            object_agency,
            privileged: call.privileged,
            case: CaseStatus::None,
        });
        if matches!(access, Access::Deny(_)) {
            continue;
        }
        items.push(call_json(call, access)?);
    }
    Ok(Json(json!({
        "items": items,
        "next": page.next.map(|c| c.to_string()),
    })))
}

async fn call(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    if id.is_empty() || id.len() > 128 {
        return Err(ApiError::NotFound);
    }
    // The entry first, then the read.
    let call = match store.call(&id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let object_agency = store
        .facility_agency(call.facility_id)
        .await
        .map_err(store_error)?;
    let access = require(
        &state,
        &who,
        Operation::ViewCall,
        object_agency,
        call.privileged,
        CaseStatus::None,
        (ObjectKind::CallRecord, &id),
    )
    .await?;
    record(
        &state,
        &who.identity.entry(
            Action::View,
            ObjectKind::CallRecord,
            &id,
            None,
            "",
            who.source(),
        ),
    )
    .await?;
    Ok(Json(call_json(&call, access)?))
}

// ---- cases ----

fn case_json(c: &callward_store::Case) -> Value {
    json!({
        "id": c.id, "agency": c.agency, "title": c.title, "justification": c.justification,
        "opened_by": c.opened_by, "opened_ms": c.opened_ms, "closed_ms": c.closed_ms,
    })
}

fn case_schema() -> Value {
    json!({"type": "object", "required": ["title", "justification"], "additionalProperties": false,
        "properties": {"title": {"type": "string"}, "justification": {"type": "string", "minLength": 10}}})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    title: String,
    justification: String,
}

async fn cases(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    let agency = who.identity.agency;
    require(
        &state,
        &who,
        Operation::ManageCases,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::None, ""),
    )
    .await?;
    let items: Vec<Value> = store(&state)?
        .list_cases(agency)
        .await
        .map_err(store_error)?
        .iter()
        .map(case_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn open_case(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<CaseBody>,
) -> Result<Response, ApiError> {
    let title = Name::parse_field("case title", &body.title)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let justification = Justification::parse(&body.justification)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let agency = who.identity.agency;
    require(
        &state,
        &who,
        Operation::ManageCases,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::None, ""),
    )
    .await?;
    let case = store(&state)?
        .open_case(
            agency,
            who.identity.user.id,
            &title,
            &justification,
            now_ms(),
        )
        .await
        .map_err(store_error)?;
    record(
        &state,
        &who.identity.entry(
            Action::CaseOpen,
            ObjectKind::Case,
            &case.id.to_string(),
            Some(case.id),
            justification.as_str(),
            who.source(),
        ),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(case_json(&case))).into_response())
}

async fn close_case(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = store(&state)?;
    let case = store.case(CaseId(id)).await.map_err(store_error)?;
    require(
        &state,
        &who,
        Operation::ManageCases,
        case.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Case, &id.to_string()),
    )
    .await?;
    record(
        &state,
        &who.identity.entry(
            Action::CaseClose,
            ObjectKind::Case,
            &id.to_string(),
            Some(case.id),
            "",
            who.source(),
        ),
    )
    .await?;
    store
        .close_case(case.id, who.identity.user.id, now_ms())
        .await
        .map_err(store_error)?;
    let case = store.case(CaseId(id)).await.map_err(store_error)?;
    Ok(Json(case_json(&case)))
}

// ---- approvals ----

fn approval_json(a: &callward_core::auth::Approval) -> Value {
    json!({
        "id": a.id, "agency": a.agency, "requester": a.requester, "count": a.count,
        "reason": a.reason, "created_ms": a.created_ms, "expires_ms": a.expires_ms,
        "state": a.state.as_str(),
    })
}

fn approval_schema() -> Value {
    json!({"type": "object", "required": ["count", "reason"], "additionalProperties": false,
        "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 4294967295u64},
                       "reason": {"type": "string", "minLength": 10}}})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalBody {
    count: u32,
    reason: String,
}

async fn approvals(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    let agency = who.identity.agency;
    // Supervisors decide; investigators follow their own requests.
    let op = if who.identity.user.role == callward_core::Role::Supervisor {
        Operation::Approve
    } else {
        Operation::ManageCases
    };
    require(
        &state,
        &who,
        op,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::None, ""),
    )
    .await?;
    let items: Vec<Value> = store(&state)?
        .list_approvals(agency)
        .await
        .map_err(store_error)?
        .iter()
        .filter(|a| op == Operation::Approve || a.requester == who.identity.user.id)
        .map(approval_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn request_approval(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<ApprovalBody>,
) -> Result<Response, ApiError> {
    if body.count == 0 {
        return Err(ApiError::BadRequest("count: at least 1".into()));
    }
    let reason =
        Justification::parse(&body.reason).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let agency = who.identity.agency;
    // Only those who may export ask to export more (as if inside a case).
    require(
        &state,
        &who,
        Operation::Export,
        agency,
        false,
        CaseStatus::Open,
        (ObjectKind::None, ""),
    )
    .await?;
    let a = store(&state)?
        .request_approval(who.identity.user.id, agency, body.count, &reason, now_ms())
        .await
        .map_err(store_error)?;
    record(
        &state,
        &who.identity.entry(
            Action::ApprovalRequest,
            ObjectKind::Approval,
            &a.id.to_string(),
            None,
            &format!("{} recordings: {}", body.count, reason.as_str()),
            who.source(),
        ),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(approval_json(&a))).into_response())
}

async fn decide_approval(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    grant: bool,
) -> Result<Json<Value>, ApiError> {
    let store = store(state)?;
    // The role first, so one who may not decide does not learn which ids exist.
    require(
        state,
        who,
        Operation::Approve,
        who.identity.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Approval, &id.to_string()),
    )
    .await?;
    let approval = store.approval(ApprovalId(id)).await.map_err(store_error)?;
    require(
        state,
        who,
        Operation::Approve,
        approval.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Approval, &id.to_string()),
    )
    .await?;
    if let Err(e) = check_decision(&approval, who.identity.actor(), now_ms()) {
        record(
            state,
            &who.identity.entry(
                Action::Refused,
                ObjectKind::Approval,
                &id.to_string(),
                None,
                &e.to_string(),
                who.source(),
            ),
        )
        .await?;
        return Err(ApiError::forbidden(e.to_string()));
    }
    let action = if grant {
        Action::ApprovalGrant
    } else {
        Action::ApprovalRefuse
    };
    record(
        state,
        &who.identity.entry(
            action,
            ObjectKind::Approval,
            &id.to_string(),
            None,
            &approval.reason,
            who.source(),
        ),
    )
    .await?;
    store
        .decide_approval(approval.id, who.identity.actor(), grant, now_ms())
        .await
        .map_err(store_error)?;
    let approval = store.approval(ApprovalId(id)).await.map_err(store_error)?;
    Ok(Json(approval_json(&approval)))
}

async fn grant(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    decide_approval(&state, &who, id, true).await
}

async fn refuse(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    decide_approval(&state, &who, id, false).await
}

// ---- audit ----

async fn checkpoint(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    let agency = who.identity.agency;
    require(
        &state,
        &who,
        Operation::ReadAuditLog,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::None, ""),
    )
    .await?;
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("the access log is not configured".into()))?;
    let log = sessions.log().lock().await;
    Ok(Json(json!({
        "size": log.size(),
        "checkpoint": log.checkpoint(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofQuery {
    index: u64,
    size: Option<u64>,
}

async fn proof(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<ProofQuery>,
) -> Result<Json<Value>, ApiError> {
    let agency = who.identity.agency;
    require(
        &state,
        &who,
        Operation::ReadAuditLog,
        agency,
        false,
        CaseStatus::None,
        (ObjectKind::None, ""),
    )
    .await?;
    let sessions = state
        .sessions()
        .ok_or_else(|| ApiError::Unavailable("the access log is not configured".into()))?;
    let log = sessions.log().lock().await;
    let size = q.size.unwrap_or_else(|| log.size());
    if size == 0 || size > log.size() || q.index >= size {
        return Err(ApiError::BadRequest(
            "index must be below size, and size at most the log's".into(),
        ));
    }
    let proof = log
        .inclusion_proof(q.index, size)
        .await
        .map_err(ApiError::internal)?;
    let hex = |h: &[u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok(Json(json!({
        "index": q.index,
        "size": size,
        "proof": proof.iter().map(hex).collect::<Vec<_>>(),
    })))
}

// ---- the document ----

async fn openapi() -> Json<Value> {
    Json(document())
}

/// The OpenAPI 3.1 document, built from [`routes_table`].
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in routes_table() {
        let entry = paths
            .entry(format!("/api/v1{}", r.path))
            .or_insert_with(|| json!({}));
        let mut parameters: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                // Call ids and phone numbers are strings; the other ids integers.
                let schema = if r.path.starts_with("/calls") || r.path.starts_with("/accounts") {
                    json!({"type": "string"})
                } else {
                    json!({"type": "integer", "format": "int64"})
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        for (name, description) in r.query {
            parameters.push(json!({"name": name, "in": "query", "required": false,
                "description": description, "schema": query_schema(name)}));
        }
        let mut responses = serde_json::Map::new();
        let ok = if r.status == 204 {
            json!({"description": "done"})
        } else if r.path.ends_with("/recording") {
            json!({"description": "the watermarked WAV", "content": {
                "audio/wav": {"schema": {"type": "string", "format": "binary"}}}})
        } else if r.query.iter().any(|(name, _)| *name == "format") {
            json!({"description": "done", "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}}}})
        } else {
            json!({"description": "done", "content": {"application/json": {"schema": {"type": "object"}}}})
        };
        responses.insert(r.status.to_string(), ok);
        if r.path == "/sessions" && r.method == "post" {
            responses.insert(
                "202".into(),
                json!({"description": "TOTP enrolment required",
                "content": {"application/json": {"schema": {"type": "object",
                    "required": ["enrolment_token", "otpauth_uri", "expires_ms"]}}}}),
            );
        }
        for status in ["400", "401", "403", "404", "409", "413", "429", "503"] {
            responses.insert(
                status.into(),
                json!({"$ref": "#/components/responses/Error"}),
            );
        }
        if r.body.is_some() {
            // A body without `Content-Type: application/json`.
            responses.insert(
                "415".into(),
                json!({"$ref": "#/components/responses/Error"}),
            );
        }
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{}{}", r.method, r.path.replace(['/', '{', '}'], "_")),
            "parameters": parameters,
            "responses": responses,
        });
        if r.signed_in {
            op["security"] = json!([{"cookie": []}, {"bearer": []}]);
        }
        if let Some(body) = r.body {
            op["requestBody"] = json!({"required": true,
                "content": {"application/json": {"schema": body()}}});
        }
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(r.method.to_owned(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "callward API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "responses": {"Error": {"description": "an error", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}}}},
        },
    })
}

fn query_schema(name: &str) -> Value {
    match name {
        "person" | "facility" | "since" | "until" => json!({"type": "integer", "format": "int64"}),
        "min_seconds" | "max_seconds" | "index" | "size" => {
            json!({"type": "integer", "minimum": 0})
        }
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
        "time_limit_reached" | "blocked" => json!({"type": "boolean"}),
        _ => json!({"type": "string"}),
    }
}
