//! Live monitoring (issue 9): an investigator lists the agency's recorded
//! calls in progress and listens to one inside an open case, the audio
//! sent to the browser over a WebSocket.
//!
//! The steps, in order: a signed-in session (cookie) from this site's own
//! page (the `Origin` must be this host: a WebSocket carries no CSRF
//! token); the call listed by the switch (privileged calls never are: they
//! have no recording tap, so no audio exists to send); `decide` for
//! `monitor_live` with the case's status (refusals logged); the `monitor`
//! entry appended to the access log; only then the subscription. The call
//! is unaffected: the switch hands each listener a copy without waiting,
//! and a slow listener loses chunks. The session is checked again every
//! minute: once it expires or locks, the stream ends.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide};
use callward_core::{CaseId, OpenCall};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::html::Html;
use super::layout::page;
use super::{Peer, Signed, append, not_allowed, server_error, session_token, sessions, signed_in};
use crate::AppState;
use crate::auth::{SessionToken, now_ms};
use crate::live::AUDIO_FORMAT;

/// How often a listening session is checked again.
const RECHECK: Duration = Duration::from_secs(60);

/// The recorded calls in progress at `agency`'s facilities.
pub(crate) async fn agency_calls(
    state: &AppState,
    agency: callward_core::AgencyId,
) -> Result<Vec<OpenCall>, callward_store::StoreError> {
    let Some(store) = state.store() else {
        return Ok(Vec::new());
    };
    let mut calls = Vec::new();
    for call in state.live().map(|l| l.calls()).unwrap_or_default() {
        if store.facility_agency(call.facility_id).await? == agency {
            calls.push(call);
        }
    }
    Ok(calls)
}

/// `GET /console/live`: the agency's recorded calls in progress (the
/// listing is logged as a search: it shows numbers).
pub(crate) async fn list(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let agency = signed.auth.identity.agency;
    if let Access::Deny(why) = monitor(&signed, agency, false, CaseStatus::Open) {
        return not_allowed(&signed.viewer, &format!("You cannot monitor calls: {why}."));
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let cases = match store.list_cases(agency).await {
        Ok(c) => c,
        Err(e) => return server_error(&e),
    };
    let open: Vec<_> = cases.iter().filter(|c| c.closed_ms.is_none()).collect();
    let entry = signed.auth.identity.entry(
        Action::Search,
        ObjectKind::CallRecord,
        "live calls",
        None,
        "recorded calls in progress",
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let calls = match agency_calls(&state, agency).await {
        Ok(c) => c,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
    b.raw("<p>Recorded calls in progress at your agency's facilities. Privileged (attorney) calls are never recorded and never listed. Listening is logged with your case; the call is not affected.</p>");
    if open.is_empty() {
        b.raw("<p class=\"notice\" id=\"no-case\">You have no open case. Open one with a written justification before you listen.</p>");
    }
    if calls.is_empty() {
        b.raw("<p id=\"no-calls\">No recorded call is in progress.</p>");
    } else {
        b.raw("<table id=\"live-calls\"><thead><tr><th scope=\"col\">Call</th><th scope=\"col\">Started (UTC)</th><th scope=\"col\">Facility</th><th scope=\"col\">Station</th><th scope=\"col\">Person</th><th scope=\"col\">Number</th><th scope=\"col\">Listen</th></tr></thead><tbody>");
        for call in &calls {
            b.raw("<tr><td>")
                .text(&call.id)
                .raw("</td><td>")
                .text(&call.offered_at.to_string())
                .raw("</td><td>")
                .text(&call.facility_id.0.to_string())
                .raw("</td><td>")
                .text(&call.station_id.0.to_string())
                .raw("</td><td>")
                .text(
                    &call
                        .person_id
                        .map_or_else(|| "-".to_owned(), |p| p.0.to_string()),
                )
                .raw("</td><td>")
                .text(
                    &call
                        .number
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                )
                .raw("</td><td>");
            if open.is_empty() {
                b.raw("no open case");
            } else {
                b.raw("<form class=\"live\" data-live=\"")
                    .text(&call.id)
                    .raw("\"><label>Case <select name=\"case\">");
                for c in &open {
                    b.raw("<option value=\"")
                        .text(&c.id.to_string())
                        .raw("\">")
                        .text(&format!("{} {}", c.id, c.title))
                        .raw("</option>");
                }
                b.raw("</select></label> <button type=\"submit\">Listen</button> <button type=\"button\" class=\"stop\" disabled>Stop</button> <output class=\"live-status\" aria-live=\"polite\" data-bytes=\"0\"></output></form>");
            }
            b.raw("</td></tr>");
        }
        b.raw("</tbody></table>");
    }
    b.raw("<p><a href=\"/console/live\">Refresh the list</a></p>");
    page(StatusCode::OK, "Live calls", Some(&signed.viewer), None, &b)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AudioQuery {
    case: Option<i64>,
}

/// `GET /console/live/{id}/audio?case=N`: the WebSocket that carries call
/// `id`'s audio, once allowed and logged. The first message is text
/// (`{"format", "call", "entry"}`), then binary chunks in
/// [`AUDIO_FORMAT`]; the socket closes when the call ends.
pub(crate) async fn audio(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<AudioQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !same_origin(&headers) {
        return plain(
            StatusCode::FORBIDDEN,
            "live audio is only for this console's own pages",
        );
    }
    let Some(live) = state.live() else {
        return plain(StatusCode::NOT_FOUND, "no recorded call is in progress");
    };
    let id: String = id.trim().chars().take(128).collect();
    let Some(call) = live.calls().into_iter().find(|c| c.id == id) else {
        return plain(
            StatusCode::NOT_FOUND,
            "no recorded call in progress has that id",
        );
    };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let owner = match store.facility_agency(call.facility_id).await {
        Ok(a) => a,
        Err(e) => return server_error(&e),
    };
    let agency = signed.auth.identity.agency;
    let case = match q.case {
        None => None,
        Some(n) => match store.list_cases(agency).await {
            Ok(cases) => cases.into_iter().find(|c| c.id == CaseId(n)),
            Err(e) => return server_error(&e),
        },
    };
    let status = case.as_ref().map_or(CaseStatus::None, |c| c.status());
    let who = &signed.auth.identity;
    if let Access::Deny(why) = monitor(&signed, owner, call.privileged, status) {
        let why = format!("monitor_live: {why}");
        let entry = who.entry(
            Action::Refused,
            ObjectKind::CallRecord,
            &call.id,
            case.as_ref().map(|c| c.id),
            &why,
            from,
        );
        if let Err(r) = append(&state, &entry).await {
            return r;
        }
        return plain(StatusCode::FORBIDDEN, &format!("not allowed: {why}"));
    }
    let Some(case) = case else {
        return plain(StatusCode::FORBIDDEN, "not allowed: no open case");
    };
    // Logged first: no audio leaves before the entry is committed.
    let entry = who.entry(
        Action::Monitor,
        ObjectKind::CallRecord,
        &call.id,
        Some(case.id),
        &case.justification,
        from,
    );
    let index = match append(&state, &entry).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Some((call, audio)) = live.listen(&call.id) else {
        return plain(StatusCode::GONE, "the call ended");
    };
    tracing::info!(call = %call.id, entry = index, "live monitoring started");
    let token = session_token(&headers);
    upgrade.on_upgrade(move |socket| async move {
        stream(socket, &call, index, audio, &state, token).await;
    })
}

/// Sends the call's audio until it ends, the browser closes, or the
/// session lapses.
async fn stream(
    mut socket: WebSocket,
    call: &OpenCall,
    entry: u64,
    mut audio: broadcast::Receiver<Arc<[u8]>>,
    state: &AppState,
    token: Option<SessionToken>,
) {
    let hello = format!(
        "{{\"format\":\"{AUDIO_FORMAT}\",\"call\":{},\"entry\":{entry}}}",
        serde_json::Value::from(call.id.as_str())
    );
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            chunk = audio.recv() => match chunk {
                Ok(bytes) => {
                    if socket.send(Message::Binary(bytes.to_vec().into())).await.is_err() {
                        break;
                    }
                }
                // Fell behind: the oldest chunks are gone, go on from here.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                let still = match (state.sessions(), &token) {
                    (Some(s), Some(t)) => s.authenticate(t, now_ms()).await.is_ok(),
                    _ => false,
                };
                if !still {
                    break;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    tracing::info!(call = %call.id, entry, "live monitoring ended");
}

/// What `decide` says about listening live, for the signed-in person, to a
/// call of `owner`'s facilities.
fn monitor(
    signed: &Signed,
    owner: callward_core::AgencyId,
    privileged: bool,
    case: CaseStatus,
) -> Access {
    decide(AccessRequest {
        op: Operation::MonitorLive,
        role: signed.auth.identity.user.role,
        actor_agency: signed.auth.identity.agency,
        object_agency: owner,
        // Never true for a listed call (privileged calls are not listed);
        // passed on so the matrix, not this page, has the last word.
        privileged,
        case,
    })
}

/// Whether the request's `Origin` is this host (a browser always sends
/// one with a WebSocket; a page of another site cannot forge it).
fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

fn plain(status: StatusCode, text: &str) -> Response {
    (status, text.to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_this_hosts_pages_may_open_the_audio() {
        let h = |origin: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_static(o));
            }
            h
        };
        assert!(same_origin(&h(Some("http://127.0.0.1:8080"))));
        assert!(same_origin(&h(Some("https://127.0.0.1:8080"))));
        assert!(!same_origin(&h(Some("http://evil.example"))));
        assert!(!same_origin(&h(Some("http://127.0.0.1:8081"))));
        assert!(!same_origin(&h(Some("null"))));
        assert!(!same_origin(&h(None)));
    }
}
