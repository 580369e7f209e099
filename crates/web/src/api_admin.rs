//! The administrator's part of `/api/v1`: a facility's stations (list,
//! add, enable or disable, clear a PIN lock) and people (list, admit with
//! a generated PIN shown once, reset a PIN, language), each person's
//! approved and blocked numbers, and the attorney registry (list, verify
//! with the sealing run, reject). As the console's admin pages and `callward
//! admin`: `decide(manage_facilities)` on the facility's agency (another
//! agency's facility is as good as absent), the same parsers, and one
//! access-log entry per change, written before the change.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
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
    route!(get "/facilities/{id}/people", "A facility's people (never a PIN), paged by id",
        signed_in: true, query: &[("limit", "page size, 1 to 500 (default 100)"), ("after", "cursor from the previous page's `next`")],
        body: None, status: 200, people),
    route!(post "/facilities/{id}/people", "Admit a person; the generated PIN is in this response only",
        signed_in: true, query: &[], body: Some(person_schema), status: 201, admit),
    route!(post "/people/{id}/pin", "Reset a person's PIN; the new PIN is in this response only",
        signed_in: true, query: &[], body: None, status: 200, reset_pin),
    route!(post "/people/{id}/language", "Set a person's prompt language",
        signed_in: true, query: &[], body: Some(language_schema), status: 200, set_language),
    route!(get "/people/{id}/numbers", "A person's approved numbers and the blocks that apply (the person's and the facility's)",
        signed_in: true, query: &[], body: None, status: 200, numbers),
    route!(post "/people/{id}/numbers", "Approve a number for a person, or block one (the person's list or the facility's)",
        signed_in: true, query: &[], body: Some(number_schema), status: 201, add_number),
    route!(delete "/people/{id}/numbers/{entry}", "Remove an approval or a block",
        signed_in: true, query: &[("list", "approved or blocked")], body: None, status: 200, remove_number),
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

fn person_schema() -> Value {
    json!({"type": "object", "required": ["booking_id", "name", "language"], "additionalProperties": false,
        "properties": {"booking_id": {"type": "string", "minLength": 1, "maxLength": 64},
                       "name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "language": {"type": "string", "enum": ["en", "es"]}}})
}

fn language_schema() -> Value {
    json!({"type": "object", "required": ["language"], "additionalProperties": false,
        "properties": {"language": {"type": "string", "enum": ["en", "es"]}}})
}

fn number_schema() -> Value {
    json!({"type": "object", "required": ["list", "number"], "additionalProperties": false,
        "properties": {"list": {"type": "string", "enum": ["approved", "blocked", "facility_blocked"]},
                       "number": {"type": "string", "description": "E.164, e.g. +15551234567"},
                       "label": {"type": "string", "maxLength": 200}}})
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
}

async fn people(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 500".into()));
    }
    // The cursor is the id of the last person shown.
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(
            a.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("after: not a cursor of this list".into()))?,
        ),
    };
    managed(&state, &who, FacilityId(id)).await?;
    let mut all = store(&state)?
        .list_people(FacilityId(id))
        .await
        .map_err(store_error)?;
    all.sort_by_key(|p| p.id.0);
    let mut rest = all
        .iter()
        .filter(|p| after.is_none_or(|a| p.id.0 > a))
        .peekable();
    let page: Vec<&callward_core::Person> = rest.by_ref().take(limit as usize).collect();
    let next = if rest.peek().is_some() {
        page.last().map(|p| p.id.0.to_string())
    } else {
        None
    };
    let items: Vec<Value> = page.iter().map(|p| person_json(p)).collect();
    Ok(Json(json!({ "items": items, "next": next })))
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

fn person_json(p: &callward_core::Person) -> Value {
    json!({"id": p.id.0, "facility": p.facility_id.0, "booking_id": p.booking_id.as_str(),
        "name": p.name.as_str(), "language": p.language.to_string(),
        "status": p.status.to_string(), "do_not_record": p.do_not_record,
        "has_pin": p.has_pin})
}

/// The PIN key (from `serve`), or 503 without it.
fn pin_key(state: &AppState) -> Result<&callward_core::PinKey, ApiError> {
    state.admin_tools().map(|t| &t.pin_key).ok_or_else(|| {
        ApiError::Unavailable("this server was started without the data dir's PIN key".into())
    })
}

/// A new PIN for `facility` from the operating system's randomness.
fn new_pin(facility: &callward_core::Facility) -> Result<callward_core::Pin, ApiError> {
    callward_core::Pin::generate(facility.pin_length, getrandom::fill).map_err(ApiError::internal)
}

/// Person `id` and its facility, if `who` administers it (else 404).
async fn managed_person(
    state: &AppState,
    who: &SignedIn,
    id: i64,
) -> Result<(callward_core::Facility, callward_core::Person), ApiError> {
    let store = store(state)?;
    let person = match store.person(callward_core::PersonId(id)).await {
        Ok(p) => p,
        Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(store_error(e)),
    };
    managed(state, who, person.facility_id).await?;
    let facility = store
        .facility(person.facility_id)
        .await
        .map_err(store_error)?;
    Ok((facility, person))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    booking_id: String,
    name: String,
    language: String,
}

async fn admit(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    Json(body): Json<PersonBody>,
) -> Result<Response, ApiError> {
    let facility_id = FacilityId(id);
    managed(&state, &who, facility_id).await?;
    let bad = |e: &dyn std::fmt::Display| ApiError::BadRequest(e.to_string());
    let booking_id = Code::parse_field("booking id", &body.booking_id).map_err(|e| bad(&e))?;
    let name = callward_core::Name::parse_field("name", &body.name).map_err(|e| bad(&e))?;
    let language = body
        .language
        .parse::<callward_core::Language>()
        .map_err(|e| bad(&e))?;
    let store = store(&state)?;
    let facility = store.facility(facility_id).await.map_err(store_error)?;
    let key = pin_key(&state)?;
    let pin = new_pin(&facility)?;
    change(
        &state,
        &who,
        ObjectKind::Person,
        booking_id.as_str(),
        &format!("create in facility {facility_id}, PIN set"),
    )
    .await?;
    let p = store
        .create_person(callward_store::NewPerson {
            facility_id,
            booking_id,
            name,
            language,
            pin: Some(key.digest(facility_id, &pin)),
        })
        .await
        .map_err(store_error)?;
    let mut out = person_json(&p);
    out["pin"] = json!(pin.expose_secret());
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn reset_pin(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (facility, person) = managed_person(&state, &who, id).await?;
    let key = pin_key(&state)?;
    let pin = new_pin(&facility)?;
    change(
        &state,
        &who,
        ObjectKind::Person,
        &person.id.to_string(),
        "set PIN",
    )
    .await?;
    store(&state)?
        .set_pin(person.id, key.digest(facility.id, &pin))
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"id": person.id.0, "pin": pin.expose_secret()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageBody {
    language: String,
}

async fn set_language(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    Json(body): Json<LanguageBody>,
) -> Result<Json<Value>, ApiError> {
    let language = body
        .language
        .parse::<callward_core::Language>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (_, person) = managed_person(&state, &who, id).await?;
    change(
        &state,
        &who,
        ObjectKind::Person,
        &person.id.to_string(),
        "update: language",
    )
    .await?;
    let p = store(&state)?
        .update_person(
            person.id,
            callward_store::PersonUpdate {
                name: None,
                language: Some(language),
                status: None,
                do_not_record: None,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(Json(person_json(&p)))
}

async fn numbers(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let (facility, person) = managed_person(&state, &who, id).await?;
    let store = store(&state)?;
    let approved: Vec<Value> = store
        .list_contacts(person.id)
        .await
        .map_err(store_error)?
        .iter()
        .map(|c| json!({"id": c.id.0, "number": c.number.as_str(), "label": c.label}))
        .collect();
    let blocked: Vec<Value> = store
        .list_blocks(facility.id)
        .await
        .map_err(store_error)?
        .iter()
        .filter(|b| match b.scope {
            callward_core::BlockScope::Person(p) => p == person.id,
            callward_core::BlockScope::Facility(_) => true,
            _ => false,
        })
        .map(|b| json!({"id": b.id.0, "number": b.number.as_str(), "list": b.scope.kind(), "reason": b.reason}))
        .collect();
    Ok(Json(json!({"approved": approved, "blocked": blocked})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberBody {
    list: String,
    number: String,
    #[serde(default)]
    label: String,
}

async fn add_number(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<i64>,
    Json(body): Json<NumberBody>,
) -> Result<Response, ApiError> {
    let number = callward_core::E164Number::parse(body.number.trim())
        .map_err(|e| ApiError::BadRequest(format!("number: {e}")))?;
    let label = body.label.trim();
    if label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "label: at most 200 printable characters".into(),
        ));
    }
    let (facility, person) = managed_person(&state, &who, id).await?;
    let store = store(&state)?;
    let out = match body.list.as_str() {
        "approved" => {
            change(
                &state,
                &who,
                ObjectKind::Contact,
                &number.masked(),
                &format!("approve for person {}", person.id),
            )
            .await?;
            let c = store
                .add_contact(person.id, number, label.to_owned())
                .await
                .map_err(store_error)?;
            json!({"id": c.id.0, "list": "approved", "number": c.number.as_str(), "label": c.label})
        }
        "blocked" | "facility_blocked" => {
            let scope = if body.list == "blocked" {
                callward_core::BlockScope::Person(person.id)
            } else {
                callward_core::BlockScope::Facility(facility.id)
            };
            change(
                &state,
                &who,
                ObjectKind::Block,
                &number.masked(),
                &format!("block ({} list)", scope.kind()),
            )
            .await?;
            let b = store
                .add_block(scope, number, label.to_owned(), jiff::Timestamp::now())
                .await
                .map_err(store_error)?;
            json!({"id": b.id.0, "list": b.scope.kind(), "number": b.number.as_str(), "reason": b.reason})
        }
        _ => {
            return Err(ApiError::BadRequest(
                "list: approved, blocked or facility_blocked".into(),
            ));
        }
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    list: Option<String>,
}

async fn remove_number(
    State(state): State<AppState>,
    who: SignedIn,
    Path((id, entry)): Path<(i64, i64)>,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (facility, person) = managed_person(&state, &who, id).await?;
    let store = store(&state)?;
    match q.list.as_deref() {
        Some("approved") => {
            // Only an approval on this person's list.
            let contact = store
                .list_contacts(person.id)
                .await
                .map_err(store_error)?
                .into_iter()
                .find(|c| c.id.0 == entry)
                .ok_or(ApiError::NotFound)?;
            change(
                &state,
                &who,
                ObjectKind::Contact,
                &contact.id.to_string(),
                "remove",
            )
            .await?;
            store
                .remove_contact(contact.id)
                .await
                .map_err(store_error)?;
        }
        Some("blocked") => {
            // Only a block of this person's facility.
            let block = store
                .list_blocks(facility.id)
                .await
                .map_err(store_error)?
                .into_iter()
                .find(|b| b.id.0 == entry)
                .ok_or(ApiError::NotFound)?;
            change(
                &state,
                &who,
                ObjectKind::Block,
                &block.id.to_string(),
                "remove",
            )
            .await?;
            store.remove_block(block.id).await.map_err(store_error)?;
        }
        _ => return Err(ApiError::BadRequest("list: approved or blocked".into())),
    }
    Ok(Json(json!({"id": entry, "removed": true})))
}
