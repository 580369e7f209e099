//! Playing and exporting a recording in the console: an investigator, on
//! a call's page, picks an open case and presses **Play** or **Export**.
//!
//! Either press is decided (`decide` with the case: `listen` or `export`),
//! counted against the person's quota (`SqliteStore::release`, the same
//! transaction the CLI's export uses) and appended to the access log
//! before a byte of audio is read; refusals are logged too, and a quota
//! refusal also raises an alert, as the CLI does. The audio then comes
//! through [`crate::release::Recordings`], watermarked with the entry's
//! index.
//!
//! **Play** holds the released WAV for this session for [`HOLD`] under a
//! random token and shows an HTML `<audio>` player on it; the player's
//! range requests (seeking) read the held copy, so one press is one log
//! entry however the browser fetches it. Nobody else's session can fetch
//! it, and the held copies are bounded per session and in total.
//! **Export** sends the WAV as a download.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callward_audit::{Action, ObjectKind, Source};
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide};
use callward_core::{ApprovalId, CallDetailRecord, CaseId};
use callward_store::{Case, Release, Store as _, StoreError};
use serde::Deserialize;

use super::html::Html;
use super::layout::{Viewer, csrf_field, page};
use super::{Peer, Signed, not_allowed, server_error, signed_form, signed_in};
use crate::AppState;

/// How long a released copy stays playable.
pub(crate) const HOLD: Duration = Duration::from_secs(10 * 60);
/// Copies one session may hold at once; the oldest goes first.
const PER_SESSION: usize = 4;
/// Bytes held for all sessions together; the oldest copies go first.
const TOTAL_BYTES: usize = 256 * 1024 * 1024;
/// The longest export reason kept (as the CLI's `--reason`).
const MAX_REASON_LEN: usize = 2000;

/// Released audio held for the sessions' players.
#[derive(Default)]
pub struct Playbacks {
    held: Mutex<Vec<Held>>,
}

impl std::fmt::Debug for Playbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.held.lock().map_or(0, |h| h.len());
        f.debug_struct("Playbacks").field("held", &n).finish()
    }
}

struct Held {
    /// What the player's address carries (32 random bytes, hex).
    token: String,
    /// The CSRF token of the session it was released to (derived from the
    /// session's secret; compared in constant time).
    session: String,
    until: Instant,
    wav: Arc<[u8]>,
}

impl Playbacks {
    /// Holds `wav` for the session whose CSRF token is `session`; returns
    /// the token of its address, or `None` without randomness.
    fn hold(&self, session: &str, wav: Vec<u8>, now: Instant) -> Option<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let wav: Arc<[u8]> = wav.into();
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|h| h.until > now);
        // Oldest first: drop this session's oldest beyond the allowance,
        // then anyone's oldest until the new copy fits.
        while held.iter().filter(|h| h.session == session).count() >= PER_SESSION {
            if let Some(i) = held.iter().position(|h| h.session == session) {
                held.remove(i);
            }
        }
        while !held.is_empty()
            && held.iter().map(|h| h.wav.len()).sum::<usize>() + wav.len() > TOTAL_BYTES
        {
            held.remove(0);
        }
        held.push(Held {
            token: token.clone(),
            session: session.to_owned(),
            until: now + HOLD,
            wav,
        });
        Some(token)
    }

    /// The copy held under `token`, if it is for the session whose CSRF
    /// check `is_session` passes and has not expired.
    fn get(
        &self,
        token: &str,
        is_session: impl Fn(&str) -> bool,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.iter()
            .find(|h| h.token == token && h.until > now && is_session(&h.session))
            .map(|h| Arc::clone(&h.wav))
    }
}

/// The play and export forms on a call's page, for a person `decide`
/// allows to listen to it under one of `open` (the agency's open cases).
pub(crate) fn controls(b: &mut Html, viewer: &Viewer, call: &str, open: &[&Case]) {
    let case_select = |b: &mut Html, id: &'static str| {
        b.raw("<label for=\"")
            .raw(id)
            .raw("\">Case</label><select id=\"")
            .raw(id)
            .raw("\" name=\"case\" required>");
        for c in open {
            b.raw("<option value=\"")
                .num(c.id.0)
                .raw("\">")
                .text(&format!("{} {}", c.id, c.title))
                .raw("</option>");
        }
        b.raw("</select>");
    };
    let approval = |b: &mut Html, id: &'static str| {
        b.raw("<label for=\"")
            .raw(id)
            .raw("\">Approval number</label><span class=\"hint\">Only when a supervisor granted you more than your quota.</span><input id=\"")
            .raw(id)
            .raw("\" name=\"approval\" inputmode=\"numeric\" autocomplete=\"off\">");
    };
    b.raw("<p>Playing or exporting is written to the access log with your case before any audio is released, counts against your daily quota, and the audio carries a watermark that names you.</p>");
    b.raw("<form class=\"stacked\" method=\"post\" id=\"play\" action=\"/console/calls/")
        .text(call)
        .raw("/play\" aria-label=\"Play the recording\">");
    csrf_field(b, viewer);
    case_select(b, "play-case");
    approval(b, "play-approval");
    b.raw("<button type=\"submit\">Play</button></form>");
    b.raw("<form class=\"stacked\" method=\"post\" id=\"export\" action=\"/console/calls/")
        .text(call)
        .raw("/export\" aria-label=\"Export the recording\">");
    csrf_field(b, viewer);
    case_select(b, "export-case");
    b.raw("<label for=\"export-reason\">Reason for the export</label><span class=\"hint\">Who it is for and why, at least 3 characters.</span><input id=\"export-reason\" name=\"reason\" required minlength=\"3\" maxlength=\"2000\" autocomplete=\"off\">");
    approval(b, "export-approval");
    b.raw("<button type=\"submit\" class=\"secondary\">Export WAV</button></form>");
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReleaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approval: String,
}

/// What was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Play in the page (`listen`).
    Play,
    /// A copy to keep (`export`).
    Export,
}

impl Kind {
    fn operation(self) -> Operation {
        match self {
            Self::Play => Operation::Listen,
            Self::Export => Operation::Export,
        }
    }

    fn action(self) -> Action {
        match self {
            Self::Play => Action::Listen,
            Self::Export => Action::Export,
        }
    }
}

/// `POST /console/calls/{id}/play`.
pub(crate) async fn play(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let asked = match ask(&id, &f, Kind::Play) {
        Ok(a) => a,
        Err(e) => return refused_page(&signed, &id, e),
    };
    let Released { call, entry, wav } =
        match release(&state, &signed.auth.identity, from, &asked).await {
            Ok(r) => r,
            Err(e) => return refused_page(&signed, &id, e),
        };
    let seconds = wav.seconds;
    let Some(token) = state
        .playbacks()
        .hold(&signed.auth.token.csrf(), wav.bytes, Instant::now())
    else {
        return server_error(&"no randomness for the player's address");
    };
    let mut b = Html::new();
    b.raw("<p id=\"released\" role=\"status\">Released under access log entry <strong>")
        .num(entry)
        .raw("</strong>: ")
        .text(&format!("{seconds:.1}"))
        .raw(" s, station on the left, outside party on the right. This copy plays for ")
        .num(HOLD.as_secs() / 60)
        .raw(" minutes in this session only.</p>")
        .raw("<audio id=\"player\" controls preload=\"auto\" src=\"/console/playback/")
        .text(&token)
        .raw("\">Your browser cannot play WAV audio; export it instead.</audio>")
        .raw("<p><a href=\"/console/calls/")
        .text(&call.id)
        .raw("\">Back to the call</a></p>");
    page(
        StatusCode::OK,
        "Play recording",
        Some(&signed.viewer),
        None,
        &b,
    )
}

/// `POST /console/calls/{id}/export`: the WAV as a download.
pub(crate) async fn export(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let asked = match ask(&id, &f, Kind::Export) {
        Ok(a) => a,
        Err(e) => return refused_page(&signed, &id, e),
    };
    let Released { call, wav, .. } =
        match release(&state, &signed.auth.identity, from, &asked).await {
            Ok(r) => r,
            Err(e) => return refused_page(&signed, &id, e),
        };
    download(&call, wav)
}

/// A released WAV as a download named after the call.
pub(crate) fn download(call: &CallDetailRecord, wav: crate::release::Wav) -> Response {
    // Call ids are the switch's own (letters, digits, '-'); anything else
    // is left out of the file name.
    let name: String = call
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"call-{name}.wav\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("audio/wav")),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        wav.bytes,
    )
        .into_response()
}

/// `GET /console/playback/{token}`: the held copy for this session, with
/// byte ranges for seeking.
pub(crate) async fn audio(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(wav) = state.playbacks().get(
        &token,
        |session| signed.auth.token.csrf_matches(session),
        Instant::now(),
    ) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no playable copy here: it expired or belongs to another session; press Play again",
        )
            .into_response();
    };
    let len = wav.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| byte_range(v, len));
    let common = [
        (header::CONTENT_TYPE, HeaderValue::from_static("audio/wav")),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    match range {
        None | Some(Ranged::Whole) => (common, wav.to_vec()).into_response(),
        Some(Ranged::Part(start, end)) => {
            let content_range = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
                .unwrap_or_else(|_| HeaderValue::from_static("bytes */0"));
            (
                StatusCode::PARTIAL_CONTENT,
                common,
                [(header::CONTENT_RANGE, content_range)],
                wav[start..=end].to_vec(),
            )
                .into_response()
        }
        Some(Ranged::Unsatisfiable) => {
            let content_range = HeaderValue::from_str(&format!("bytes */{len}"))
                .unwrap_or_else(|_| HeaderValue::from_static("bytes */0"));
            (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, content_range)],
            )
                .into_response()
        }
    }
}

/// How a `Range` header applies to `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Ranged {
    /// Not a single byte range this server reads: the whole body (RFC 9110
    /// lets a server ignore `Range`).
    Whole,
    /// Bytes `start..=end`.
    Part(usize, usize),
    /// A single range wholly past the end.
    Unsatisfiable,
}

/// Reads `bytes=a-b`, `bytes=a-` and `bytes=-n`; several ranges or
/// anything malformed give the whole body.
fn byte_range(header: &str, len: usize) -> Ranged {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let num = |s: &str| -> Option<usize> {
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.trim(), b.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) => Ranged::Unsatisfiable,
            Some(n) if len > 0 => Ranged::Part(len.saturating_sub(n), len - 1),
            Some(_) => Ranged::Unsatisfiable,
            None => Ranged::Whole,
        },
        (start, "") => match num(start) {
            Some(s) if s < len => Ranged::Part(s, len - 1),
            Some(_) => Ranged::Unsatisfiable,
            None => Ranged::Whole,
        },
        (start, end) => match (num(start), num(end)) {
            (Some(s), Some(e)) if s <= e && s < len => Ranged::Part(s, e.min(len - 1)),
            (Some(s), Some(e)) if s <= e => Ranged::Unsatisfiable,
            _ => Ranged::Whole,
        },
    }
}

/// Why nothing was released. Refusals by the rules or the quota are in
/// the access log before this is returned.
#[derive(Debug)]
pub(crate) enum NotReleased {
    /// No call has that id.
    NoSuchCall,
    /// The call has no recording (privileged calls are never recorded).
    NoRecording,
    /// The request itself is invalid (a reason, an approval number).
    Invalid(String),
    /// The rules refuse it: no open case, another agency, privileged (logged).
    Refused(String),
    /// Over the daily quota or a bulk release without approval (refusal
    /// and alert logged).
    OverQuota(String),
    /// Allowed and logged, but the recording could not be released
    /// (deleted at retention end, sealed for privilege review, damaged).
    Unavailable(String),
    /// The server failed (store, log); nothing was released.
    Failed(String),
}

/// What a person asked to release.
pub(crate) struct Ask<'a> {
    pub(crate) call: &'a str,
    pub(crate) case: Option<i64>,
    /// The export's reason (a playback uses the case's justification).
    pub(crate) reason: &'a str,
    pub(crate) approval: Option<i64>,
    pub(crate) kind: Kind,
}

/// A released recording and the entry it was released under.
pub(crate) struct Released {
    pub(crate) call: CallDetailRecord,
    pub(crate) entry: u64,
    pub(crate) wav: crate::release::Wav,
}

async fn log_entry(state: &AppState, entry: &callward_audit::Entry) -> Result<u64, NotReleased> {
    let sessions = state
        .sessions()
        .ok_or_else(|| NotReleased::Failed("no sign-in service".into()))?;
    let mut log = sessions.log().lock().await;
    log.record(entry)
        .await
        .map(|a| a.index)
        .map_err(|e| NotReleased::Failed(e.to_string()))
}

/// Decides, counts, logs and releases, for the console and the API alike.
pub(crate) async fn release(
    state: &AppState,
    who: &crate::auth::Identity,
    from: Source,
    ask: &Ask<'_>,
) -> Result<Released, NotReleased> {
    let failed = |e: &dyn std::fmt::Display| NotReleased::Failed(e.to_string());
    let store = state
        .store()
        .ok_or_else(|| NotReleased::Failed("no store".into()))?;
    let id: String = ask.call.trim().chars().take(128).collect();
    let call = match store.call(&id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(NotReleased::NoSuchCall),
        Err(e) => return Err(failed(&e)),
    };
    let owner = store
        .facility_agency(call.facility_id)
        .await
        .map_err(|e| failed(&e))?;
    let case: Option<Case> = match ask.case {
        Some(n) => match store.case(CaseId(n)).await {
            // A case of another agency counts as none.
            Ok(c) if c.agency == who.agency => Some(c),
            Ok(_) | Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(failed(&e)),
        },
        None => None,
    };
    let case_id = case.as_ref().map(|c| c.id);
    let object = call.recording_id.clone().unwrap_or_else(|| call.id.clone());
    // A refusal is logged before it is answered.
    let refusal = |why: &str| {
        who.entry(
            Action::Refused,
            ObjectKind::Recording,
            &object,
            case_id,
            &format!("{}: {why}", ask.kind.operation().as_str()),
            from.clone(),
        )
    };
    let access = decide(AccessRequest {
        op: ask.kind.operation(),
        role: who.user.role,
        actor_agency: who.agency,
        object_agency: owner,
        privileged: call.privileged,
        case: case.as_ref().map_or(CaseStatus::None, Case::status),
    });
    if let Access::Deny(why) = access {
        log_entry(state, &refusal(&why.to_string())).await?;
        return Err(NotReleased::Refused(why.to_string()));
    }
    let Some(recording) = call.recording_id.clone() else {
        return Err(NotReleased::NoRecording);
    };
    let Some(case) = case else {
        log_entry(state, &refusal("no case")).await?;
        return Err(NotReleased::Refused("no open case was named".into()));
    };
    let reason = match ask.kind {
        Kind::Play => case.justification.clone(),
        Kind::Export => {
            let r = ask.reason.trim();
            if r.chars().count() < 3 || r.len() > MAX_REASON_LEN || r.chars().any(char::is_control)
            {
                return Err(NotReleased::Invalid(
                    "reason: say who the export is for and why, 3 to 2,000 characters".into(),
                ));
            }
            r.to_owned()
        }
    };
    let approval = match ask.approval {
        None => None,
        Some(n) if n > 0 => Some(ApprovalId(n)),
        Some(_) => {
            return Err(NotReleased::Invalid(
                "approval: the number of a granted approval".into(),
            ));
        }
    };
    let Some(recordings) = state.recordings() else {
        return Err(NotReleased::Failed(
            "the server has no access to recordings".into(),
        ));
    };
    let policy = store
        .agency(who.agency)
        .await
        .map_err(|e| failed(&e))?
        .policy;
    let released = store
        .release(
            who.user.id,
            case.id,
            std::slice::from_ref(&recording),
            policy,
            approval,
            crate::auth::now_ms(),
        )
        .await;
    let why = match released {
        Ok(Release::Done { approval, .. }) => match approval {
            Some(a) => format!("{reason} (approval {a})"),
            None => reason,
        },
        Ok(Release::NeedsApproval(need)) => {
            let need = need.to_string();
            log_entry(state, &refusal(&need)).await?;
            let alert = who.entry(
                Action::Alert,
                ObjectKind::User,
                who.user.username.as_str(),
                Some(case.id),
                &format!("quota: {need}"),
                from.clone(),
            );
            log_entry(state, &alert).await?;
            return Err(NotReleased::OverQuota(need));
        }
        Err(e @ (StoreError::Refused(_) | StoreError::NotFound(_))) => {
            let text = e.to_string();
            log_entry(state, &refusal(&text)).await?;
            return Err(NotReleased::Refused(text));
        }
        Err(e) => return Err(failed(&e)),
    };
    // Logged first: nothing is read before the entry is committed.
    let entry = who.entry(
        ask.kind.action(),
        ObjectKind::Recording,
        &recording,
        Some(case.id),
        &why,
        from,
    );
    let index = log_entry(state, &entry).await?;
    match recordings.wav(&call.id, &recording, index).await {
        Ok(wav) => {
            tracing::info!(call = %call.id, entry = index, "recording released");
            Ok(Released {
                call,
                entry: index,
                wav,
            })
        }
        Err(why) => Err(NotReleased::Unavailable(why)),
    }
}

/// The console's page for a [`NotReleased`].
fn refused_page(signed: &Signed, call: &str, e: NotReleased) -> Response {
    match e {
        NotReleased::NoSuchCall => page(
            StatusCode::NOT_FOUND,
            "Call",
            Some(&signed.viewer),
            Some("No call has that id."),
            &Html::new(),
        ),
        NotReleased::NoRecording => not_allowed(
            &signed.viewer,
            "This call has no recording (privileged calls are never recorded).",
        ),
        NotReleased::Invalid(why) => page(
            StatusCode::BAD_REQUEST,
            "Recording",
            Some(&signed.viewer),
            Some(&format!("{why}. Nothing was released.")),
            &back(call),
        ),
        NotReleased::Refused(why) => not_allowed(
            &signed.viewer,
            &format!(
                "You cannot play or export this recording: {why}. The refusal is in the access log."
            ),
        ),
        NotReleased::OverQuota(need) => {
            let mut b = Html::new();
            b.raw("<p id=\"over-quota\">You have reached your quota (")
                .text(&need)
                .raw("). A supervisor can release more: <a href=\"/console/approvals\">ask on the Approvals page</a>, then give the approval's number here.</p>");
            b.raw("<p><a href=\"/console/calls/")
                .text(call)
                .raw("\">Back to the call</a></p>");
            page(
                StatusCode::FORBIDDEN,
                "Over your quota",
                Some(&signed.viewer),
                Some("Not released: over your quota. The refusal is in the access log."),
                &b,
            )
        }
        NotReleased::Unavailable(why) => page(
            StatusCode::CONFLICT,
            "Recording",
            Some(&signed.viewer),
            Some(&format!("The recording was not released: {why}")),
            &back(call),
        ),
        NotReleased::Failed(why) => server_error(&why),
    }
}

/// The console's form as an [`Ask`].
fn ask<'a>(call: &'a str, f: &'a ReleaseForm, kind: Kind) -> Result<Ask<'a>, NotReleased> {
    let number = |field: &str, text: &str| -> Result<Option<i64>, NotReleased> {
        match text.trim() {
            "" => Ok(None),
            t => t
                .parse::<i64>()
                .map(Some)
                .map_err(|_| NotReleased::Invalid(format!("{field}: a number, or leave it empty"))),
        }
    };
    Ok(Ask {
        call,
        case: number("case", &f.case)?,
        reason: &f.reason,
        approval: number("approval number", &f.approval)?,
        kind,
    })
}

fn back(call: &str) -> Html {
    let mut b = Html::new();
    b.raw("<p><a href=\"/console/calls/")
        .text(call)
        .raw("\">Back to the call</a></p>");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says_and_bad_ones_give_the_whole() {
        assert_eq!(byte_range("bytes=0-99", 1000), Ranged::Part(0, 99));
        assert_eq!(byte_range("bytes=990-2000", 1000), Ranged::Part(990, 999));
        assert_eq!(byte_range("bytes=500-", 1000), Ranged::Part(500, 999));
        assert_eq!(byte_range("bytes=-100", 1000), Ranged::Part(900, 999));
        assert_eq!(byte_range("bytes=-5000", 1000), Ranged::Part(0, 999));
        assert_eq!(byte_range("bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(byte_range("bytes=1000-1001", 1000), Ranged::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 1000), Ranged::Unsatisfiable);
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=0-1,5-6",
            "bytes=99999999999999999999-",
            "bytes=+1-2",
            "bytes= 1 - x",
        ] {
            assert_eq!(byte_range(bad, 1000), Ranged::Whole, "{bad:?}");
        }
        assert_eq!(byte_range("bytes=0-", 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn a_held_copy_is_for_its_session_until_it_expires() {
        let p = Playbacks::default();
        let now = Instant::now();
        let t = p.hold("session-a", vec![1, 2, 3], now).unwrap();
        assert_eq!(t.len(), 64);
        let is = |s: &'static str| move |held: &str| held == s;
        assert_eq!(
            p.get(&t, is("session-a"), now).as_deref(),
            Some(&[1u8, 2, 3][..])
        );
        assert!(p.get(&t, is("session-b"), now).is_none(), "another session");
        assert!(
            p.get("0".repeat(64).as_str(), is("session-a"), now)
                .is_none()
        );
        assert!(p.get(&t, is("session-a"), now + HOLD).is_none(), "expired");
    }

    #[test]
    fn held_copies_are_bounded_per_session_and_in_total() {
        let p = Playbacks::default();
        let now = Instant::now();
        let tokens: Vec<String> = (0..=PER_SESSION)
            .map(|i| p.hold("a", vec![u8::try_from(i).unwrap()], now).unwrap())
            .collect();
        let is_a = |s: &str| s == "a";
        assert!(
            p.get(&tokens[0], is_a, now).is_none(),
            "the oldest went first"
        );
        for t in &tokens[1..] {
            assert!(p.get(t, is_a, now).is_some());
        }
        // A copy as large as the whole allowance pushes out everyone's.
        let other = p.hold("b", vec![0; TOTAL_BYTES], now).unwrap();
        assert!(p.get(&other, |s| s == "b", now).is_some());
        for t in &tokens {
            assert!(p.get(t, is_a, now).is_none());
        }
    }
}
