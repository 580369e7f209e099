//! The attorney's part of `/api/v1`: its own registrations (register,
//! list with their state) and privilege review requests (ask, list). The
//! same path as the console's attorney page (`console/attorney.rs`):
//! `decide(manage_own_numbers)`, each change logged first with the number
//! masked, earlier recordings sealed when a number is registered.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use callward_audit::ObjectKind;
use callward_core::auth::{CaseStatus, Justification, Operation};
use callward_core::{PrivilegedId, PrivilegedNumber};
use callward_store::PrivilegeReview;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Route, require, route, store, store_error};
use crate::console::attorney::{Refusal, register_number, registration, request_review};
use crate::session::SignedIn;
use crate::{ApiError, AppState};

/// The attorney routes (added to the API's route tables).
pub(crate) const ROUTES: &[Route] = &[
    route!(get "/attorney/numbers", "The attorney's own registrations and their verification state",
        signed_in: true, query: &[], body: None, status: 200, numbers),
    route!(post "/attorney/numbers", "Register a number (pending verification; never recorded from now; earlier recordings sealed)",
        signed_in: true, query: &[], body: Some(number_schema), status: 201, register),
    route!(get "/attorney/reviews", "The attorney's privilege review requests",
        signed_in: true, query: &[], body: None, status: 200, reviews),
    route!(post "/attorney/reviews", "Ask for a privilege review of recordings of calls to an own number in a date range",
        signed_in: true, query: &[], body: Some(review_schema), status: 201, review),
];

fn number_schema() -> Value {
    json!({"type": "object", "required": ["number", "name", "bar_number", "bar_state"], "additionalProperties": false,
        "properties": {"number": {"type": "string", "description": "E.164, e.g. +15551234567"},
                       "name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "bar_number": {"type": "string", "minLength": 1, "maxLength": 32},
                       "bar_state": {"type": "string", "minLength": 2, "maxLength": 2}}})
}

fn review_schema() -> Value {
    json!({"type": "object", "required": ["registration", "since_ms", "until_ms", "reason"], "additionalProperties": false,
        "properties": {"registration": {"type": "integer"},
                       "since_ms": {"type": "integer"}, "until_ms": {"type": "integer"},
                       "reason": {"type": "string", "minLength": 10}}})
}

fn number_json(r: &PrivilegedNumber) -> Value {
    json!({"id": r.id.0, "number": r.number.as_str(), "name": r.attorney_name.as_str(),
        "bar_number": r.bar_number, "bar_state": r.bar_state.as_str(),
        "verification": r.verification.to_string(), "verified_by": r.verified_by})
}

fn review_json(r: &PrivilegeReview) -> Value {
    json!({"id": r.id, "registration": r.privileged.0, "since_ms": r.since_ms, "until_ms": r.until_ms,
        "reason": r.reason, "created_ms": r.created_ms,
        "state": if r.reviewed.is_some() { "reviewed" } else { "requested" },
        "reviewed_by": r.reviewed.as_ref().map(|(by, _)| by),
        "reviewed_ms": r.reviewed.as_ref().map(|(_, at)| at)})
}

async fn allowed(state: &AppState, who: &SignedIn) -> Result<(), ApiError> {
    require(
        state,
        who,
        Operation::ManageOwnNumbers,
        who.identity.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Privileged, ""),
    )
    .await
    .map(|_| ())
}

impl From<Refusal> for ApiError {
    fn from(e: Refusal) -> Self {
        match e {
            Refusal::Taken => Self::Conflict("that number is already registered".into()),
            Refusal::NotYours => Self::NotFound,
            Refusal::Failed(e) => Self::internal(e),
        }
    }
}

async fn numbers(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    allowed(&state, &who).await?;
    let items: Vec<Value> = store(&state)?
        .privileged_of(who.identity.user.id)
        .await
        .map_err(store_error)?
        .iter()
        .map(number_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberBody {
    number: String,
    name: String,
    bar_number: String,
    bar_state: String,
}

async fn register(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<NumberBody>,
) -> Result<Response, ApiError> {
    allowed(&state, &who).await?;
    let new = registration(&body.number, &body.name, &body.bar_number, &body.bar_state)
        .map_err(ApiError::BadRequest)?;
    let (r, sealed) = register_number(&state, &who.identity, who.source(), new).await?;
    let mut out = number_json(&r);
    out["earlier_recordings_sealed"] = json!(sealed);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn reviews(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    allowed(&state, &who).await?;
    let items: Vec<Value> = store(&state)?
        .privilege_reviews(Some(who.identity.user.id))
        .await
        .map_err(store_error)?
        .iter()
        .map(review_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    registration: i64,
    since_ms: i64,
    until_ms: i64,
    reason: String,
}

async fn review(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<ReviewBody>,
) -> Result<Response, ApiError> {
    allowed(&state, &who).await?;
    if body.since_ms > body.until_ms {
        return Err(ApiError::BadRequest("since_ms: at most until_ms".into()));
    }
    let reason = Justification::parse(&body.reason)
        .map_err(|e| ApiError::BadRequest(format!("reason: {e}")))?;
    let r = request_review(
        &state,
        &who.identity,
        who.source(),
        PrivilegedId(body.registration),
        (body.since_ms, body.until_ms),
        &reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(review_json(&r))).into_response())
}
