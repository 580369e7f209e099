//! The administrator's part of `/api/v1` (first part): a facility's
//! stations (list, add, enable or disable, clear a PIN lock) and people
//! (list, never a PIN), and the attorney registry (list, verify with the
//! sealing run, reject). As the console's admin pages and `callward
//! admin`: `decide(manage_facilities)` on the facility's agency (another
//! agency's facility is as good as absent), the same parsers, and one
//! access-log entry per change, written before the change.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{CaseStatus, Operation};
use callward_core::{
    Code, FacilityId, PrivilegedId, PrivilegedNumber, Station, StationId, Verification,
};
use callward_store::{NewStation, StationUpdate, Store as _, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Route, record, require, route, store, store_error};
use crate::session::SignedIn;
use crate::{ApiError, AppState};

/// The administrator's routes (added to the API's route tables).
pub(crate) const ROUTES: &[Route] = &[
    route!(get "/facilities/{id}/stations", "A facility's stations",
        signed_in: true, query: &[], body: None, status: 200, stations),
    route!(post "/facilities/{id}/stations", "Add a station to a facility",
        signed_in: true, query: &[], body: Some(station_schema), status: 201, create_station),
    route!(post "/stations/{id}/enabled", "Enable or disable a station",
        signed_in: true, query: &[], body: Some(enabled_schema), status: 200, set_enabled),
    route!(post "/stations/{id}/unlock", "Clear a station's PIN lock (failed PIN entries)",
        signed_in: true, query: &[], body: None, status: 200, unlock),
    route!(get "/facilities/{id}/people", "A facility's people (never a PIN)",
        signed_in: true, query: &[], body: None, status: 200, people),
    route!(get "/privileged", "The attorney registry: every registration and its state",
        signed_in: true, query: &[], body: None, status: 200, privileged),
    route!(post "/privileged/{id}/verify", "Verify a registration (earlier recordings of calls to it are sealed)",
        signed_in: true, query: &[], body: None, status: 200, verify),
    route!(post "/privileged/{id}/reject", "Reject a registration (calls to it are recorded again)",
        signed_in: true, query: &[], body: None, status: 200, reject),
];

fn station_schema() -> Value {
    json!({"type": "object", "required": ["code"], "additionalProperties": false,
        "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 64},
                       "location": {"type": "string", "maxLength": 200},
                       "do_not_record": {"type": "boolean"}}})
}

fn enabled_schema() -> Value {
    json!({"type": "object", "required": ["enabled"], "additionalProperties": false,
        "properties": {"enabled": {"type": "boolean"}}})
}

fn station_json(s: &Station) -> Value {
    json!({"id": s.id.0, "facility": s.facility_id.0, "code": s.code.as_str(),
        "location": s.location, "enabled": s.enabled, "do_not_record": s.do_not_record})
}

fn privileged_json(r: &PrivilegedNumber) -> Value {
    json!({"id": r.id.0, "number": r.number.as_str(), "name": r.attorney_name.as_str(),
        "bar_number": r.bar_number, "bar_state": r.bar_state.as_str(),
        "verification": r.verification.to_string(), "verified_by": r.verified_by})
}

/// Refused (logged) unless `who` administers `facility`'s agency; an
/// unknown facility and another agency's are both 404.
async fn managed(state: &AppState, who: &SignedIn, facility: FacilityId) -> Result<(), ApiError> {
    let agency = match store(state)?.facility_agency(facility).await {
        Ok(a) => a,
        Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(store_error(e)),
    };
    // The role first (logged), then the agency, without saying whose it is.
    require(
        state,
        who,
        Operation::ManageFacilities,
        who.identity.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Facility, &facility.to_string()),
    )
    .await?;
    if agency != who.identity.agency {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

async fn change(
    state: &AppState,
    who: &SignedIn,
    kind: ObjectKind,
    object: &str,
    what: &str,
) -> Result<(), ApiError> {
    record(
        state,
        &who.identity
            .entry(Action::AdminChange, kind, object, None, what, who.source()),
    )
    .await
}

async fn stations(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    managed(&state, &who, FacilityId(id)).await?;
    let items: Vec<Value> = store(&state)?
        .list_stations(Some(FacilityId(id)))
        .await
        .map_err(store_error)?
        .iter()
        .map(station_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StationBody {
    code: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    do_not_record: bool,
}

async fn create_station(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    Json(body): Json<StationBody>,
) -> Result<Response, ApiError> {
    let facility = FacilityId(id);
    managed(&state, &who, facility).await?;
    let code = Code::parse_field("station id", &body.code)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let location = body.location.trim();
    if location.chars().count() > 200 || location.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "location: at most 200 printable characters".into(),
        ));
    }
    change(
        &state,
        &who,
        ObjectKind::Station,
        code.as_str(),
        &format!(
            "create in facility {facility}{}",
            if body.do_not_record {
                ", do-not-record"
            } else {
                ""
            }
        ),
    )
    .await?;
    let s = store(&state)?
        .create_station(NewStation {
            facility_id: facility,
            code,
            location: location.to_owned(),
            do_not_record: body.do_not_record,
        })
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, Json(station_json(&s))).into_response())
}

/// Station `id`, if `who` administers its facility (else 404).
async fn managed_station(state: &AppState, who: &SignedIn, id: i64) -> Result<Station, ApiError> {
    let station = store(state)?
        .list_stations(None)
        .await
        .map_err(store_error)?
        .into_iter()
        .find(|s| s.id == StationId(id))
        .ok_or(ApiError::NotFound)?;
    managed(state, who, station.facility_id).await?;
    Ok(station)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnabledBody {
    enabled: bool,
}

async fn set_enabled(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    Json(body): Json<EnabledBody>,
) -> Result<Json<Value>, ApiError> {
    let station = managed_station(&state, &who, id).await?;
    change(
        &state,
        &who,
        ObjectKind::Station,
        &station.id.to_string(),
        "update: enabled",
    )
    .await?;
    let s = store(&state)?
        .update_station(
            station.id,
            StationUpdate {
                location: None,
                enabled: Some(body.enabled),
                do_not_record: None,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(Json(station_json(&s)))
}

async fn unlock(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let station = managed_station(&state, &who, id).await?;
    change(
        &state,
        &who,
        ObjectKind::Station,
        &station.id.to_string(),
        "unlock: clear failed PIN entries",
    )
    .await?;
    let cleared = store(&state)?
        .clear_pin_failures(station.id)
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"id": station.id.0, "cleared": cleared})))
}

async fn people(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    managed(&state, &who, FacilityId(id)).await?;
    let items: Vec<Value> = store(&state)?
        .list_people(FacilityId(id))
        .await
        .map_err(store_error)?
        .iter()
        .map(|p| {
            json!({"id": p.id.0, "facility": p.facility_id.0, "booking_id": p.booking_id.as_str(),
                "name": p.name.as_str(), "language": p.language.to_string(),
                "status": p.status.to_string(), "do_not_record": p.do_not_record,
                "has_pin": p.has_pin})
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn registry_allowed(state: &AppState, who: &SignedIn, object: &str) -> Result<(), ApiError> {
    require(
        state,
        who,
        Operation::ManageFacilities,
        who.identity.agency,
        false,
        CaseStatus::None,
        (ObjectKind::Privileged, object),
    )
    .await
    .map(|_| ())
}

async fn privileged(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    registry_allowed(&state, &who, "").await?;
    let items: Vec<Value> = store(&state)?
        .list_privileged()
        .await
        .map_err(store_error)?
        .iter()
        .map(privileged_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn verify(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    decide_registration(&state, &who, id, Verification::Verified).await
}

async fn reject(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    decide_registration(&state, &who, id, Verification::Rejected).await
}

/// As the console's verify and reject: logged first, then the decision,
/// then (verifying) the sealing run over earlier recordings.
async fn decide_registration(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    v: Verification,
) -> Result<Json<Value>, ApiError> {
    registry_allowed(state, who, &id.to_string()).await?;
    let store = store(state)?;
    if !store
        .list_privileged()
        .await
        .map_err(store_error)?
        .iter()
        .any(|r| r.id == PrivilegedId(id))
    {
        return Err(ApiError::NotFound);
    }
    // Verifying must seal: without the sealer, refuse before anything changes.
    let sealer = match v {
        Verification::Verified => Some(
            state
                .admin_tools()
                .and_then(|t| t.sealer.clone())
                .ok_or_else(|| {
                    ApiError::internal("this server cannot seal recordings; verify with `callward admin privileged verify`")
                })?,
        ),
        _ => None,
    };
    let by = who.identity.user.username.as_str().to_owned();
    change(
        state,
        who,
        ObjectKind::Privileged,
        &id.to_string(),
        &format!("{v} by {by}"),
    )
    .await?;
    let r = store
        .set_verification(PrivilegedId(id), v, by.clone())
        .await
        .map_err(store_error)?;
    let mut out = privileged_json(&r);
    if let Some(sealer) = sealer {
        out["sealing"] = match sealer.seal(&r, &by).await {
            Ok(summary) => json!(summary),
            Err(e) => {
                tracing::warn!(privileged_id = %r.id, error = %e, "sealing after verification failed (API)");
                json!(null)
            }
        };
    }
    Ok(Json(out))
}
