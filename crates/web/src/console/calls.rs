//! The investigator's pages: call search (filters, keyset paging) and call
//! detail. Same store search and same access rules as `callward calls`:
//! the search is logged before it runs and each record view before the
//! record is read (invariant 4); a privileged call is shown as having
//! happened, without its number and with no audio.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide};
use callward_core::callflow::Disposition;
use callward_core::{AgencyId, CallDetailRecord, E164Number, FacilityId, PersonId};
use callward_store::{CallSearch, Cursor, PageRequest, Store as _, StoreError};
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;

use super::html::Html;
use super::layout::page;
use super::{Peer, Signed, server_error, sessions, signed_in};
use crate::AppState;

/// Records per page unless the form asks for another size.
const PAGE_SIZE: u32 = 50;
/// The most records one page shows.
const MAX_SIZE: u32 = 200;
/// The most store pages one request reads to fill a page with the
/// agency's own calls.
const SCAN_PAGES: usize = 20;

/// The cursor just after `call`, so the next page starts behind it.
fn cursor_after(call: &CallDetailRecord) -> Option<Cursor> {
    format!("{}:{}", call.offered_at.as_millisecond(), call.id)
        .parse()
        .ok()
}

/// The search form's fields, all optional, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    min_seconds: String,
    #[serde(default)]
    max_seconds: String,
    #[serde(default)]
    privileged: String,
    #[serde(default)]
    time_limit_reached: String,
    #[serde(default)]
    blocked: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    after: String,
}

fn trimmed(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// A date (`YYYY-MM-DD`, UTC midnight) or an RFC 3339 time.
fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let date = s.parse::<jiff::civil::Date>().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// The form as a search, or what is wrong with it (said to the person).
fn parse_size(f: &SearchForm) -> Result<u32, String> {
    trimmed(&f.size).map_or(Ok(PAGE_SIZE), |v| {
        v.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_SIZE).contains(n))
            .ok_or_else(|| format!("Per page: give a number from 1 to {MAX_SIZE}."))
    })
}

fn parse_search(f: &SearchForm) -> Result<(CallSearch, Option<Cursor>), String> {
    let mut s = CallSearch::default();
    if let Some(p) = trimmed(&f.person) {
        s.person =
            Some(PersonId(p.parse().map_err(|_| {
                "Person: give the person's id, a number.".to_owned()
            })?));
    }
    if let Some(n) = trimmed(&f.number) {
        s.number = Some(E164Number::parse(n).map_err(|_| {
            "Number: give a phone number, such as 555 123 0001 or +15551230001.".to_owned()
        })?);
    }
    if let Some(t) = trimmed(&f.from) {
        s.from = Some(parse_time(t).ok_or("From: give a date (YYYY-MM-DD).")?);
    }
    if let Some(t) = trimmed(&f.until) {
        s.until = Some(parse_time(t).ok_or("Until: give a date (YYYY-MM-DD).")?);
    }
    if let Some(d) = trimmed(&f.disposition) {
        s.disposition = Some(
            d.parse::<Disposition>()
                .map_err(|_| "Outcome: choose one from the list.".to_owned())?,
        );
    }
    let seconds = |v: &str, what: &str| -> Result<Option<u64>, String> {
        trimmed(v)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{what}: give whole seconds."))
            })
            .transpose()
    };
    s.min_seconds = seconds(&f.min_seconds, "At least")?;
    s.max_seconds = seconds(&f.max_seconds, "At most")?;
    let flag = |v: &str| (!v.is_empty()).then_some(true);
    s.privileged = flag(&f.privileged);
    s.time_limit_reached = flag(&f.time_limit_reached);
    s.blocked = flag(&f.blocked);
    let after = trimmed(&f.after)
        .map(|a| {
            a.parse::<Cursor>()
                .map_err(|_| "That page link is not valid; search again.".to_owned())
        })
        .transpose()?;
    Ok((s, after))
}

/// The search as the access log keeps it: every filter, numbers masked
/// (the words `callward calls list` uses).
fn describe(s: &CallSearch) -> String {
    s.describe_filters("console call search")
}

/// What a role may do with call records, or the refusal page.
fn allowed(signed: &Signed, op: Operation, object_agency: AgencyId, privileged: bool) -> Access {
    decide(AccessRequest {
        op,
        role: signed.auth.identity.user.role,
        actor_agency: signed.auth.identity.agency,
        object_agency,
        privileged,
        case: CaseStatus::None,
    })
}

fn refused(signed: &Signed, why: &str) -> Response {
    let mut b = Html::new();
    b.raw("<p><a href=\"/console\">Back to the home page</a></p>");
    page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        Some(&signed.viewer),
        Some(why),
        &b,
    )
}

/// Appends `entry` to the access log; the page is sent only after.
async fn log(state: &AppState, entry: &callward_audit::Entry) -> Result<(), Response> {
    let mut log = sessions(state)?.log().lock().await;
    log.record(entry)
        .await
        .map(|_| ())
        .map_err(|e| server_error(&e))
}

fn number_text(call: &CallDetailRecord) -> String {
    match (&call.number, call.privileged) {
        (_, true) => "withheld (privileged)".to_owned(),
        (Some(n), false) => n.to_string(),
        (None, false) => "none".to_owned(),
    }
}

fn input(
    h: &mut Html,
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: &str,
    hint: &'static str,
) {
    h.raw("<div><label for=\"").raw(id).raw("\">").raw(label);
    if !hint.is_empty() {
        h.raw("<span class=\"hint\">").raw(hint).raw("</span>");
    }
    h.raw("</label><input type=\"")
        .raw(kind)
        .raw("\" id=\"")
        .raw(id)
        .raw("\" name=\"")
        .raw(id)
        .raw("\" value=\"")
        .text(value)
        .raw("\"></div>");
}

fn checkbox(h: &mut Html, id: &'static str, label: &'static str, checked: bool) {
    h.raw("<div><label><input type=\"checkbox\" name=\"")
        .raw(id)
        .raw("\" value=\"1\"")
        .raw(if checked { " checked" } else { "" })
        .raw("> ")
        .raw(label)
        .raw("</label></div>");
}

const DISPOSITIONS: [&str; 8] = [
    "completed",
    "no_answer",
    "busy",
    "refused",
    "not_accepted",
    "call_failed",
    "abandoned",
    "interrupted",
];

fn search_form(h: &mut Html, f: &SearchForm) {
    h.raw("<form method=\"get\" action=\"/console/calls\" role=\"search\" aria-label=\"Call search\"><div class=\"filters\">");
    input(h, "person", "Person id", "text", &f.person, "");
    input(
        h,
        "number",
        "Number called",
        "text",
        &f.number,
        "Never finds privileged calls.",
    );
    input(
        h,
        "facility",
        "Facility",
        "text",
        &f.facility,
        "Name or id.",
    );
    input(h, "from", "From", "date", &f.from, "");
    input(h, "until", "Until (before)", "date", &f.until, "");
    h.raw("<div><label for=\"disposition\">Outcome</label><select id=\"disposition\" name=\"disposition\"><option value=\"\">any</option>");
    for d in DISPOSITIONS {
        h.raw("<option value=\"").raw(d).raw("\"");
        if f.disposition.trim() == d {
            h.raw(" selected");
        }
        h.raw(">").raw(d).raw("</option>");
    }
    h.raw("</select></div>");
    input(
        h,
        "min_seconds",
        "At least (seconds)",
        "number",
        &f.min_seconds,
        "",
    );
    input(
        h,
        "max_seconds",
        "At most (seconds)",
        "number",
        &f.max_seconds,
        "",
    );
    input(h, "size", "Per page", "number", &f.size, "");
    h.raw("</div><fieldset><legend>Only calls that were</legend>");
    checkbox(
        h,
        "privileged",
        "privileged (attorney)",
        !f.privileged.is_empty(),
    );
    checkbox(
        h,
        "time_limit_reached",
        "cut at their time limit",
        !f.time_limit_reached.is_empty(),
    );
    checkbox(
        h,
        "blocked",
        "blocked by the called party",
        !f.blocked.is_empty(),
    );
    h.raw("</fieldset><button type=\"submit\">Search</button></form>");
}

/// The query string for the next page: the same filters, after `cursor`.
fn next_link(f: &SearchForm, cursor: &Cursor) -> String {
    let pairs = [
        ("person", f.person.as_str()),
        ("number", &f.number),
        ("facility", &f.facility),
        ("from", &f.from),
        ("until", &f.until),
        ("disposition", &f.disposition),
        ("min_seconds", &f.min_seconds),
        ("max_seconds", &f.max_seconds),
        ("privileged", &f.privileged),
        ("time_limit_reached", &f.time_limit_reached),
        ("blocked", &f.blocked),
        ("size", &f.size),
    ];
    let mut q: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", super::html::query_encode(v.trim())))
        .collect();
    q.push(format!(
        "after={}",
        super::html::query_encode(&cursor.to_string())
    ));
    format!("/console/calls?{}", q.join("&"))
}

/// `GET /console/calls`: the form and one page of results (all calls when no filter is given).
pub(crate) async fn search(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Query(f): Query<SearchForm>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let agency = signed.auth.identity.agency;
    if let Access::Deny(why) = allowed(&signed, Operation::SearchCalls, agency, false) {
        return refused(&signed, &format!("You cannot search call records: {why}."));
    }
    let mut body = Html::new();
    search_form(&mut body, &f);
    let (mut search, after, size) =
        match parse_search(&f).and_then(|(s, a)| Ok((s, a, parse_size(&f)?))) {
            Ok(x) => x,
            Err(e) => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Call search",
                    Some(&signed.viewer),
                    Some(&e),
                    &body,
                );
            }
        };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    if let Some(name) = trimmed(&f.facility) {
        let found = match store.facility_by_name(name).await {
            Ok(Some(fac)) => Some(fac.id),
            Ok(None) => match name.parse::<i64>() {
                Ok(id) => store.facility(FacilityId(id)).await.ok().map(|fac| fac.id),
                Err(_) => None,
            },
            Err(e) => return server_error(&e),
        };
        match found {
            Some(id) => search.facility = Some(id),
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Call search",
                    Some(&signed.viewer),
                    Some("Facility: no facility has that name or id."),
                    &body,
                );
            }
        }
    }
    // Logged before anything is read.
    let entry = signed.auth.identity.entry(
        Action::Search,
        ObjectKind::Query,
        &describe(&search),
        None,
        "",
        from,
    );
    if let Err(r) = log(&state, &entry).await {
        return r;
    }
    // Only this agency's facilities' calls are shown. Other agencies' calls
    // are skipped while reading, and store pages are read on until this
    // page is full, so a page is never short because of them (at most
    // SCAN_PAGES store pages a request; then "Next page" goes on).
    let mut agencies: HashMap<FacilityId, Option<AgencyId>> = HashMap::new();
    let mut rows: Vec<CallDetailRecord> = Vec::new();
    let mut request = PageRequest::first(size);
    request.after = after;
    let mut next: Option<Cursor> = None;
    for _ in 0..SCAN_PAGES {
        let found = match store.search_calls(&search, &request).await {
            Ok(p) => p,
            Err(e) => return server_error(&e),
        };
        let count = found.items.len();
        for (i, call) in found.items.into_iter().enumerate() {
            let owner = match agencies.get(&call.facility_id) {
                Some(a) => *a,
                None => {
                    let a = match store.facility_agency(call.facility_id).await {
                        Ok(a) => Some(a),
                        Err(StoreError::NotFound(_)) => None,
                        Err(e) => return server_error(&e),
                    };
                    agencies.insert(call.facility_id, a);
                    a
                }
            };
            if owner == Some(agency) {
                rows.push(call);
            }
            if rows.len() == size as usize {
                let more = i + 1 < count || found.next.is_some();
                next = more.then(|| rows.last().and_then(cursor_after)).flatten();
                break;
            }
        }
        if rows.len() == size as usize {
            break;
        }
        match found.next {
            Some(c) => {
                next = Some(c.clone());
                request.after = Some(c);
            }
            None => {
                next = None;
                break;
            }
        }
    }
    let rows: Vec<&CallDetailRecord> = rows.iter().collect();
    body.raw("<h2 id=\"results\">Results</h2>");
    if rows.is_empty() {
        body.raw("<p id=\"count\">No calls match.</p>");
    } else {
        body.raw("<p id=\"count\">")
            .num(i128::try_from(rows.len()).unwrap_or(0))
            .raw(if rows.len() == 1 { " call" } else { " calls" })
            .raw(" on this page, oldest first.</p>")
            .raw("<div class=\"table-wrap\"><table aria-describedby=\"count\"><thead><tr><th scope=\"col\">Offered (UTC)</th><th scope=\"col\">Call</th><th scope=\"col\">Person</th><th scope=\"col\">Number</th><th scope=\"col\">Outcome</th><th scope=\"col\">Seconds</th></tr></thead><tbody>");
        for call in rows {
            body.raw("<tr><td>")
                .text(&call.offered_at.strftime("%Y-%m-%d %H:%M:%S").to_string())
                .raw("</td><td><a href=\"/console/calls/")
                .text(&call.id)
                .raw("\">")
                .text(&call.id)
                .raw("</a></td><td>")
                .text(
                    &call
                        .person_id
                        .map_or_else(|| "-".to_owned(), |p| p.0.to_string()),
                )
                .raw(if call.privileged {
                    "</td><td class=\"privileged\">"
                } else {
                    "</td><td>"
                })
                .text(&number_text(call))
                .raw("</td><td>")
                .text(&call.disposition.to_string())
                .raw("</td><td>")
                .num(call.billable_seconds)
                .raw("</td></tr>");
        }
        body.raw("</tbody></table></div>");
    }
    if let Some(next) = &next {
        body.raw("<p><a id=\"next\" href=\"")
            .text(&next_link(&f, next))
            .raw("\">Next page</a></p>");
    }
    page(
        StatusCode::OK,
        "Call search",
        Some(&signed.viewer),
        None,
        &body,
    )
}

fn row(h: &mut Html, label: &'static str, value: &str) {
    h.raw("<dt>")
        .raw(label)
        .raw("</dt><dd>")
        .text(value)
        .raw("</dd>");
}

/// `GET /console/calls/{id}`: one call record.
pub(crate) async fn detail(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let agency = signed.auth.identity.agency;
    if let Access::Deny(why) = allowed(&signed, Operation::ViewCall, agency, false) {
        return refused(&signed, &format!("You cannot read call records: {why}."));
    }
    let id: String = id.trim().chars().take(128).collect();
    // Logged before the record is read.
    let entry =
        signed
            .auth
            .identity
            .entry(Action::View, ObjectKind::CallRecord, &id, None, "", from);
    if let Err(r) = log(&state, &entry).await {
        return r;
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let call = match store.call(&id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => {
            let b = Html::new();
            return page(
                StatusCode::NOT_FOUND,
                "Call",
                Some(&signed.viewer),
                Some("No call has that id."),
                &b,
            );
        }
        Err(e) => return server_error(&e),
    };
    let owner = match store.facility_agency(call.facility_id).await {
        Ok(a) => a,
        Err(e) => return server_error(&e),
    };
    if let Access::Deny(why) = allowed(&signed, Operation::ViewCall, owner, call.privileged) {
        return refused(
            &signed,
            &format!("You cannot read this call record: {why}."),
        );
    }
    let mut b = Html::new();
    b.raw("<dl>");
    row(&mut b, "Call", &call.id);
    row(&mut b, "Offered (UTC)", &call.offered_at.to_string());
    row(&mut b, "Ended (UTC)", &call.ended_at.to_string());
    row(&mut b, "Facility", &call.facility_id.0.to_string());
    row(&mut b, "Station", &call.station_id.0.to_string());
    row(
        &mut b,
        "Person",
        &call
            .person_id
            .map_or_else(|| "-".to_owned(), |p| p.0.to_string()),
    );
    b.raw("<dt>Number</dt><dd id=\"number\"")
        .raw(if call.privileged {
            " class=\"privileged\">"
        } else {
            ">"
        })
        .text(&number_text(&call))
        .raw("</dd>");
    row(&mut b, "Outcome", &call.disposition.to_string());
    row(
        &mut b,
        "Billable seconds",
        &call.billable_seconds.to_string(),
    );
    row(&mut b, "Charge (cents)", &call.charge_cents.to_string());
    row(
        &mut b,
        "Cut at time limit",
        if call.time_limit_reached { "yes" } else { "no" },
    );
    row(
        &mut b,
        "Called party blocked",
        if call.blocked_by_called_party {
            "yes"
        } else {
            "no"
        },
    );
    b.raw("</dl><h2>Recording</h2><div id=\"recording\">");
    if call.privileged {
        b.raw("<p>Privileged (attorney) call: it was never recorded. There is no audio and the number is withheld.</p>");
    } else if call.recording_id.is_none() {
        b.raw("<p>This call has no recording.</p>");
    } else {
        // Content is released only inside an open case of the agency.
        let cases = match store.list_cases(agency).await {
            Ok(cases) => cases,
            Err(e) => return server_error(&e),
        };
        let open: Vec<_> = cases.iter().filter(|c| c.closed_ms.is_none()).collect();
        let case = if open.is_empty() {
            CaseStatus::None
        } else {
            CaseStatus::Open
        };
        let listen = decide(AccessRequest {
            op: Operation::Listen,
            role: signed.auth.identity.user.role,
            actor_agency: agency,
            object_agency: owner,
            privileged: false,
            case,
        });
        match listen {
            Access::Deny(why) => {
                b.raw("<p class=\"notice\" id=\"no-playback\">You cannot play or export this recording: ")
                    .text(&why.to_string())
                    .raw(". ")
                    .raw(if open.is_empty() { "You have no open case. Open one with a written justification on the <a href=\"/console/cases\">Cases</a> page first." } else { "" })
                    .raw("</p>");
            }
            _ => super::playback::controls(&mut b, &signed.viewer, &call.id, &open),
        }
    }
    b.raw("</div><p><a href=\"/console/calls\">New search</a></p>");
    page(StatusCode::OK, "Call", Some(&signed.viewer), None, &b)
}
