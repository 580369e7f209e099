//! Stations from the facilities page: add one, enable or disable it, and
//! clear its PIN lock, as `callward admin station create|update|unlock`
//! (same parsers, same access-log entries, written first).

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::ObjectKind;
use callward_core::{Code, FacilityId, Station};
use callward_store::{NewStation, StationUpdate, Store as _, StoreError};
use serde::Deserialize;

use super::admin::{admin_form, facilities_page, id_field, log_change, managed_facility, store};
use super::{Peer, Signed, server_error};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    do_not_record: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    station: String,
    #[serde(default)]
    value: String,
}

/// The line shown after `?done=`.
pub(crate) fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "station-created" => Some("Station added."),
        "station-enabled" => Some("Station enabled."),
        "station-disabled" => Some("Station disabled: it places no calls."),
        "station-unlocked" => Some("PIN entry unlocked: failed PIN entries cleared."),
        _ => None,
    }
}

fn back(done: &str) -> Response {
    Redirect::to(&format!("/console/admin/facilities?done={done}")).into_response()
}

async fn bad(state: &AppState, signed: &Signed, error: &str) -> Response {
    facilities_page(state, signed, StatusCode::BAD_REQUEST, None, Some(error)).await
}

/// `POST /console/admin/stations`: `admin station create`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(facility) = id_field(&f.facility) else {
        return bad(&state, &signed, "No such facility.").await;
    };
    let facility = match managed_facility(&state, &signed, FacilityId(facility)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let code = match Code::parse_field("station id", &f.code) {
        Ok(c) => c,
        Err(e) => return bad(&state, &signed, &e.to_string()).await,
    };
    let do_not_record = f.do_not_record.is_some();
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Station,
        code.as_str(),
        &format!(
            "create in facility {}{}",
            facility.id,
            if do_not_record { ", do-not-record" } else { "" }
        ),
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store
        .create_station(NewStation {
            facility_id: facility.id,
            code,
            location: f.location.trim().to_owned(),
            do_not_record,
        })
        .await
    {
        Ok(s) => {
            tracing::info!(station_id = %s.id, facility_id = %facility.id, "station created (console)");
            back("station-created")
        }
        Err(e @ (StoreError::Conflict(_) | StoreError::Refused(_))) => {
            bad(&state, &signed, &e.to_string()).await
        }
        Err(e) => server_error(&e),
    }
}

/// The station named by the form, if the administrator manages its facility.
async fn managed_station(
    state: &AppState,
    signed: &Signed,
    code: &str,
) -> Result<Station, Response> {
    let store = store(state)?;
    let station = match store.station_by_code(code.trim()).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(bad(state, signed, &format!("unknown station {:?}", code.trim())).await);
        }
        Err(e) => return Err(server_error(&e)),
    };
    managed_facility(state, signed, station.facility_id).await?;
    Ok(station)
}

/// `POST /console/admin/stations/enabled`: `admin station update --enabled`.
pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<StationForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let enabled = match f.value.trim() {
        "true" => true,
        "false" => false,
        _ => return bad(&state, &signed, "enabled must be true or false").await,
    };
    let station = match managed_station(&state, &signed, &f.station).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Station,
        &station.id.to_string(),
        "update: enabled",
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let update = StationUpdate {
        location: None,
        enabled: Some(enabled),
        do_not_record: None,
    };
    match store.update_station(station.id, update).await {
        Ok(_) => {
            tracing::info!(station_id = %station.id, enabled, "station updated (console)");
            back(if enabled {
                "station-enabled"
            } else {
                "station-disabled"
            })
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/stations/unlock`: `admin station unlock`.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<StationForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let station = match managed_station(&state, &signed, &f.station).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Station,
        &station.id.to_string(),
        "unlock: clear failed PIN entries",
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store.clear_pin_failures(station.id).await {
        Ok(cleared) => {
            tracing::info!(station_id = %station.id, cleared, "station PIN lock cleared (console)");
            back("station-unlocked")
        }
        Err(e) => server_error(&e),
    }
}
