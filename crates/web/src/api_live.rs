//! Live monitoring in `/api/v1`: the agency's recorded calls in progress
//! (`GET /live`, logged as a search: it shows numbers). Listening is the
//! console's WebSocket, `/console/live/{id}/audio?case=N`, which an API
//! client opens with its session token as the `callward_session` cookie
//! and this server's `Origin` (`docs/api.md`): the same decision, entry
//! and stream as the console's player.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{CaseStatus, Operation};
use serde_json::{Value, json};

use crate::api::{Route, record, require, route, store_error};
use crate::session::SignedIn;
use crate::{ApiError, AppState};

/// The live routes (added to the API's route tables).
pub(crate) const ROUTES: &[Route] = &[route!(get "/live",
    "Recorded calls in progress at the agency's facilities (privileged calls are never recorded, so never listed); listen over the console's WebSocket",
    signed_in: true, query: &[], body: None, status: 200, live)];

async fn live(State(state): State<AppState>, who: SignedIn) -> Result<Json<Value>, ApiError> {
    let agency = who.identity.agency;
    // Whoever could listen inside a case may see the list.
    require(
        &state,
        &who,
        Operation::MonitorLive,
        agency,
        false,
        CaseStatus::Open,
        (ObjectKind::CallRecord, "live calls"),
    )
    .await?;
    record(
        &state,
        &who.identity.entry(
            Action::Search,
            ObjectKind::CallRecord,
            "live calls",
            None,
            "api: recorded calls in progress",
            who.source(),
        ),
    )
    .await?;
    let calls = crate::console::live::agency_calls(&state, agency)
        .await
        .map_err(store_error)?;
    let items: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "offered_ms": c.offered_at.as_millisecond(),
                "facility": c.facility_id.0,
                "station": c.station_id.0,
                "person": c.person_id.map(|p| p.0),
                "number": c.number.as_ref().map(ToString::to_string),
                "audio": format!("/console/live/{}/audio", c.id),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
