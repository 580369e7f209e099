//! The administrator's pages: facilities with their stations, and the
//! people in custody, with the changes `callward admin` makes (the forms'
//! handlers are in `admin_*.rs`).
//!
//! Every change is decided by `auth::decide` (admin, own agency: the
//! facility's agency for facilities, stations, people and numbers),
//! validated with the same domain parsers as the CLI (same error texts),
//! and appended to the access log as the CLI's entry (action
//! `admin_change`, its object kind, object and justification) **before**
//! the store is touched: if the entry cannot be written, nothing changes.
//! Full phone numbers are shown to the administrator, never logged; a PIN
//! is shown once, when the console generates it.

use std::future::Future;
use std::pin::Pin as BoxPin;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use callward_audit::{Action, ObjectKind, Source};
use callward_core::auth::{Access, Operation};
use callward_core::authorize::{PIN_FAILURE_WINDOW, pin_locked};
use callward_core::tariff::Tariffs;
use callward_core::{AgencyId, Facility, FacilityId, PinKey, PrivilegedNumber};
use callward_store::{SqliteStore, Store as _, StoreError};
use serde::Deserialize;

use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Signed, access, append, server_error, sessions, signed_form, signed_in};
use crate::AppState;

/// What the administrator's pages need besides the store and the access
/// log, given by the binary ([`crate::AppState::set_admin_tools`]).
pub struct AdminTools {
    /// The data dir's PIN key: PINs are stored as their digest under it.
    pub pin_key: PinKey,
    /// Seals earlier recordings when a privileged number is verified
    /// (`None`: the console refuses to verify).
    pub sealer: Option<Arc<dyn PrivilegeSealer>>,
    /// The rate-cap schedules the server loaded (`serve --tariffs-dir`),
    /// shown on the hours-and-tariffs page.
    pub tariffs: Option<Arc<Tariffs>>,
}

impl std::fmt::Debug for AdminTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTools")
            .field("sealer", &self.sealer.is_some())
            .finish_non_exhaustive()
    }
}

/// A boxed future, for the object-safe [`PrivilegeSealer`].
pub type SealFuture<'a> = BoxPin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Retroactive privilege (`docs/keys.md`): seals every earlier recording of
/// calls to a registration's number, as `admin privileged verify` does.
pub trait PrivilegeSealer: Send + Sync {
    /// Seals and records the run; `Ok` is a one-line summary for the page,
    /// `Err` says what went wrong (the registration stays verified).
    fn seal<'a>(&'a self, registration: &'a PrivilegedNumber, by: &'a str) -> SealFuture<'a>;
}

/// `?done=...&error=...` after a change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    pub(crate) done: Option<String>,
}

/// The signed-in person, if an administrator (of some agency); the page
/// that says why not otherwise.
pub(crate) async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let signed = signed_in(state, headers).await?;
    refuse_non_admin(signed)
}

/// [`admin`] for a form post (CSRF checked).
pub(crate) async fn admin_form(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Signed, Response> {
    let signed = signed_form(state, headers, csrf).await?;
    refuse_non_admin(signed)
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
fn refuse_non_admin(signed: Signed) -> Result<Signed, Response> {
    let agency = signed.auth.identity.agency;
    if let Access::Deny(why) = access(&signed, Operation::ManageFacilities, agency) {
        return Err(refused(&signed, &why.to_string()));
    }
    Ok(signed)
}

fn refused(signed: &Signed, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        Some(&signed.viewer),
        Some(&format!(
            "Only an administrator of this agency manages facilities, people and numbers: {why}."
        )),
        &Html::new(),
    )
}

/// The store.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
pub(crate) fn store(state: &AppState) -> Result<&SqliteStore, Response> {
    Ok(sessions(state)?.store())
}

/// The admin tools, or the page saying this server has none.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
pub(crate) fn tools<'a>(state: &'a AppState, signed: &Signed) -> Result<&'a AdminTools, Response> {
    state.admin_tools().ok_or_else(|| {
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            Some(&signed.viewer),
            Some("This server was started without the data dir's PIN key; use `callward admin` on it."),
            &Html::new(),
        )
    })
}

/// The facilities of `agency`.
pub(crate) async fn own_facilities(
    store: &SqliteStore,
    agency: AgencyId,
) -> Result<Vec<Facility>, StoreError> {
    let mut own = Vec::new();
    for f in store.list_facilities().await? {
        if store.facility_agency(f.id).await? == agency {
            own.push(f);
        }
    }
    Ok(own)
}

/// The facility `id`, if `decide` lets the administrator manage it (its
/// agency is the administrator's); an unknown id and another agency's
/// facility are refused alike.
pub(crate) async fn managed_facility(
    state: &AppState,
    signed: &Signed,
    id: FacilityId,
) -> Result<Facility, Response> {
    let store = store(state)?;
    let facility = match store.facility(id).await {
        Ok(f) => f,
        Err(StoreError::NotFound(_)) => return Err(refused(signed, "no such facility")),
        Err(e) => return Err(server_error(&e)),
    };
    let agency = match store.facility_agency(id).await {
        Ok(a) => a,
        Err(e) => return Err(server_error(&e)),
    };
    match access(signed, Operation::ManageFacilities, agency) {
        Access::Deny(why) => Err(refused(signed, &why.to_string())),
        _ => Ok(facility),
    }
}

/// Appends the administrator's change to the access log (committed): the
/// change may be made only after this returns `Ok`.
pub(crate) async fn log_change(
    state: &AppState,
    signed: &Signed,
    kind: ObjectKind,
    object: &str,
    what: &str,
    from: Source,
) -> Result<(), Response> {
    log_action(state, signed, Action::AdminChange, kind, object, what, from).await
}

/// [`log_change`] with another action (user changes are permission changes).
pub(crate) async fn log_action(
    state: &AppState,
    signed: &Signed,
    action: Action,
    kind: ObjectKind,
    object: &str,
    what: &str,
    from: Source,
) -> Result<(), Response> {
    let entry = signed
        .auth
        .identity
        .entry(action, kind, object, None, what, from);
    append(state, &entry).await.map(|_| ())
}

/// An id from a form field (`None` for anything else).
pub(crate) fn id_field(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().filter(|i| *i > 0)
}

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A success line (`role=status`) above a page.
pub(crate) fn notice(b: &mut Html, text: Option<&str>) {
    if let Some(n) = text {
        b.raw("<p class=\"ok\" role=\"status\" id=\"result\">")
            .text(n)
            .raw("</p>");
    }
}

/// `GET /console/admin/facilities`.
pub(crate) async fn facilities(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let text = done
        .done
        .as_deref()
        .and_then(super::admin_stations::done_text);
    facilities_page(&state, &signed, StatusCode::OK, text, None).await
}

/// The facilities page, with `notice` or `error` at the top.
pub(crate) async fn facilities_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice_text: Option<&str>,
    error: Option<&str>,
) -> Response {
    let store = match store(state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let facilities = match own_facilities(store, signed.auth.identity.agency).await {
        Ok(f) => f,
        Err(e) => return server_error(&e),
    };
    let now = jiff::Timestamp::now();
    // The switch's lockout window (15 minutes always fits).
    let window = jiff::SignedDuration::try_from(PIN_FAILURE_WINDOW)
        .unwrap_or(jiff::SignedDuration::from_mins(15));
    let mut b = Html::new();
    notice(&mut b, notice_text);
    if facilities.is_empty() {
        b.raw("<p>Your agency has no facilities yet.</p>");
    }
    for f in &facilities {
        b.raw("<section aria-labelledby=\"facility-")
            .num(f.id.0)
            .raw("\"><h2 id=\"facility-")
            .num(f.id.0)
            .raw("\">")
            .text(f.name.as_str())
            .raw("</h2><dl>");
        let rows: [(&'static str, String); 6] = [
            ("Kind", f.kind.to_string()),
            (
                "Average daily population",
                f.average_daily_population.to_string(),
            ),
            ("Time zone", f.timezone.name().to_owned()),
            ("Calling hours", f.calling_hours.to_string()),
            ("Longest call", format!("{} minutes", f.max_call_minutes)),
            (
                "Calls per day",
                f.max_calls_per_day
                    .map_or_else(|| "no limit".to_owned(), |n| n.to_string()),
            ),
        ];
        for (label, value) in &rows {
            b.raw("<dt>")
                .raw(label)
                .raw("</dt><dd>")
                .text(value)
                .raw("</dd>");
        }
        b.raw("<dt>Approved list required</dt><dd>")
            .raw(yes_no(f.requires_approved_list))
            .raw("</dd></dl><h3>Stations</h3>");
        let stations = match store.list_stations(Some(f.id)).await {
            Ok(s) => s,
            Err(e) => return server_error(&e),
        };
        if stations.is_empty() {
            b.raw("<p>No stations.</p>");
        } else {
            b.raw("<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Station</th><th scope=\"col\">Location</th><th scope=\"col\">Enabled</th><th scope=\"col\">Do not record</th><th scope=\"col\">PIN entry</th><th scope=\"col\">Change</th></tr></thead><tbody>");
            for s in &stations {
                let failures = match store.pin_failures_since(s.id, now - window).await {
                    Ok(f) => f,
                    Err(e) => return server_error(&e),
                };
                let locked = pin_locked(&failures, now);
                b.raw("<tr><td>")
                    .text(s.code.as_str())
                    .raw("</td><td>")
                    .text(&s.location)
                    .raw("</td><td>")
                    .raw(yes_no(s.enabled))
                    .raw("</td><td>")
                    .raw(yes_no(s.do_not_record))
                    .raw("</td><td>");
                if locked {
                    b.raw("<strong>locked</strong>");
                } else if failures.is_empty() {
                    b.raw("open");
                } else {
                    b.raw("open, ")
                        .num(i64::try_from(failures.len()).unwrap_or(i64::MAX))
                        .raw(" failed");
                }
                b.raw("</td><td>");
                station_button(
                    &mut b,
                    signed,
                    "/console/admin/stations/enabled",
                    s.code.as_str(),
                    if s.enabled { "false" } else { "true" },
                    if s.enabled { "Disable " } else { "Enable " },
                );
                if !failures.is_empty() {
                    station_button(
                        &mut b,
                        signed,
                        "/console/admin/stations/unlock",
                        s.code.as_str(),
                        "",
                        "Unlock PIN entry at ",
                    );
                }
                b.raw("</td></tr>");
            }
            b.raw("</tbody></table></div>");
        }
        b.raw("<h4 id=\"add-station-")
            .num(f.id.0)
            .raw("\">Add a station</h4><form class=\"stacked\" method=\"post\" action=\"/console/admin/stations\" aria-labelledby=\"add-station-")
            .num(f.id.0)
            .raw("\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<input type=\"hidden\" name=\"facility\" value=\"")
            .num(f.id.0)
            .raw("\"><label for=\"code-")
            .num(f.id.0)
            .raw("\">Station id (SIP user)</label><input type=\"text\" id=\"code-")
            .num(f.id.0)
            .raw("\" name=\"code\" required autocomplete=\"off\"><label for=\"location-")
            .num(f.id.0)
            .raw("\">Location</label><input type=\"text\" id=\"location-")
            .num(f.id.0)
            .raw("\" name=\"location\" autocomplete=\"off\"><label><input type=\"checkbox\" name=\"do_not_record\" value=\"true\"> Never record calls from it (legal visit room)</label><button type=\"submit\">Add station</button></form></section>");
    }
    page(status, "Facilities", Some(&signed.viewer), error, &b)
}

/// One small form with a button acting on a station.
fn station_button(
    b: &mut Html,
    signed: &Signed,
    action: &'static str,
    code: &str,
    value: &'static str,
    label: &'static str,
) {
    b.raw("<form class=\"inline\" method=\"post\" action=\"")
        .raw(action)
        .raw("\">");
    csrf_field(b, &signed.viewer);
    b.raw("<input type=\"hidden\" name=\"station\" value=\"")
        .text(code)
        .raw("\"><input type=\"hidden\" name=\"value\" value=\"")
        .raw(value)
        .raw("\"><button type=\"submit\" class=\"secondary\">")
        .raw(label)
        .text(code)
        .raw("</button></form>");
}
