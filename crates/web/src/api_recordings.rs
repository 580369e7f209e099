//! Recordings in `/api/v1`: an investigator releases a call's recording
//! inside an open case, to listen (`purpose: listen`) or to keep
//! (`purpose: export`). The same path as the console's Play and Export
//! (`console/playback.rs`): `decide` with the case, the quota counted, the
//! entry appended first (refusals, and over the quota an alert, logged),
//! then the WAV watermarked with that entry.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Route, route};
use crate::console::playback::{self, Ask, Kind, NotReleased};
use crate::session::SignedIn;
use crate::{ApiError, AppState};

/// The recording routes (added to the API's route tables).
pub(crate) const ROUTES: &[Route] = &[route!(post "/calls/{id}/recording",
    "Release a call's recording inside an open case (purpose listen or export): a watermarked two-channel WAV, logged first and counted against the quota",
    signed_in: true, query: &[], body: Some(recording_schema), status: 200, recording)];

fn recording_schema() -> Value {
    json!({"type": "object", "required": ["case", "purpose"], "additionalProperties": false,
        "properties": {
            "case": {"type": "integer", "description": "an open case of the agency"},
            "purpose": {"type": "string", "enum": ["listen", "export"]},
            "reason": {"type": "string", "maxLength": 2000, "description": "export: who it is for and why (3 characters at least)"},
            "approval": {"type": "integer", "minimum": 1, "description": "a granted approval, when over the quota"}}})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingBody {
    case: i64,
    purpose: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approval: Option<i64>,
}

impl From<NotReleased> for ApiError {
    fn from(e: NotReleased) -> Self {
        match e {
            NotReleased::NoSuchCall => Self::NotFound,
            NotReleased::NoRecording => Self::Conflict(
                "the call has no recording (privileged calls are never recorded)".into(),
            ),
            NotReleased::Invalid(why) => Self::BadRequest(why),
            NotReleased::Refused(why) => Self::forbidden(why),
            NotReleased::OverQuota(why) => Self::Forbidden {
                code: "over_quota",
                message: format!(
                    "{why}; ask a supervisor (POST /api/v1/approvals) and give the approval"
                ),
            },
            NotReleased::Unavailable(why) => Self::Conflict(why),
            NotReleased::Failed(why) => Self::internal(why),
        }
    }
}

async fn recording(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<RecordingBody>,
) -> Result<Response, ApiError> {
    let kind = match body.purpose.as_str() {
        "listen" => Kind::Play,
        "export" => Kind::Export,
        _ => return Err(ApiError::BadRequest("purpose: listen or export".into())),
    };
    let ask = Ask {
        call: &id,
        case: Some(body.case),
        reason: &body.reason,
        approval: body.approval,
        kind,
    };
    let released = playback::release(&state, &who.identity, who.source(), &ask).await?;
    let mut response = playback::download(&released.call, released.wav);
    if let Ok(entry) = HeaderValue::from_str(&released.entry.to_string()) {
        response.headers_mut().insert("x-callward-entry", entry);
    }
    if kind == Kind::Play {
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        );
    }
    Ok(response.into_response())
}
