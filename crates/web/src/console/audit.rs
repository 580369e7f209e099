//! The auditor's page: the access log with filters (user, action, date
//! range) and paging, newest first; the current signed checkpoint; "verify
//! now" (the same check as `callward audit verify` on the live log: every
//! entry, node and checkpoint recomputed); and witness status. An auditor
//! reads who accessed what, never call content: the call pages refuse the
//! role. Browsing and verifying are logged like any other read.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use callward_audit::{Action, Entry, ObjectKind, Source, VerifyError};
use callward_core::auth::{Access, Operation};
use serde::Deserialize;

use super::html::Html;
use super::layout::{csrf_field, page};
use super::{
    Peer, Signed, access, append, not_allowed, server_error, sessions, signed_form, signed_in,
};
use crate::AppState;

/// Entries per page unless the form asks for another size.
const PAGE: usize = 50;
/// The most entries one page shows.
const MAX_PAGE: usize = 500;
/// Most entries one request looks at while filtering (bounds the work a
/// filter that matches little can cause; the page then offers "older").
const SCAN: u64 = 5_000;
/// Entries read per hold of the log's lock.
const CHUNK: u64 = 250;

/// The filters, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    size: String,
    /// Show entries below this index (the paging cursor).
    #[serde(default)]
    before: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default)]
    csrf: String,
}

/// Stable names for the actions, as the filter offers them.
pub(crate) fn action_name(a: Action) -> &'static str {
    match a {
        Action::View => "view",
        Action::Listen => "listen",
        Action::Export => "export",
        Action::Search => "search",
        Action::Login => "login",
        Action::LoginFailed => "login_failed",
        Action::PermissionChange => "permission_change",
        Action::KeyChange => "key_change",
        Action::PrivilegeSeal => "privilege_seal",
        Action::KeyRelease => "key_release",
        Action::Refused => "refused",
        Action::ApprovalRequest => "approval_request",
        Action::ApprovalGrant => "approval_grant",
        Action::ApprovalRefuse => "approval_refuse",
        Action::Alert => "alert",
        Action::CaseOpen => "case_open",
        Action::CaseClose => "case_close",
        Action::AdminChange => "admin_change",
        Action::Monitor => "monitor",
        _ => "other",
    }
}

fn kind_name(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::None => "",
        ObjectKind::CallRecord => "call record",
        ObjectKind::Recording => "recording",
        ObjectKind::Query => "query",
        ObjectKind::User => "user",
        ObjectKind::Key => "key",
        ObjectKind::Person => "person",
        ObjectKind::Case => "case",
        ObjectKind::Approval => "approval",
        ObjectKind::Agency => "agency",
        ObjectKind::Facility => "facility",
        ObjectKind::Station => "station",
        ObjectKind::Contact => "approved number",
        ObjectKind::Block => "blocked number",
        ObjectKind::Privileged => "privileged registration",
        ObjectKind::Account => "account",
        _ => "other",
    }
}

/// A checked filter: what the person typed, parsed.
struct Filter {
    user: Option<String>,
    action: Option<Action>,
    /// Centiseconds, inclusive.
    from: Option<u64>,
    /// Centiseconds, exclusive.
    until: Option<u64>,
    size: usize,
    before: Option<u64>,
}

/// A date (UTC midnight) as entry time (centiseconds since the epoch).
fn day(s: &str, what: &str) -> Result<u64, String> {
    let date = s
        .parse::<jiff::civil::Date>()
        .map_err(|_| format!("{what}: give a date (YYYY-MM-DD)."))?;
    let t = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| format!("{what}: give a date (YYYY-MM-DD)."))?
        .timestamp();
    u64::try_from(t.as_second())
        .map(|s| s * 100)
        .map_err(|_| format!("{what}: give a date after 1970."))
}

fn parse(f: &Filters) -> Result<Filter, String> {
    let t = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    let action = match t(&f.action) {
        None => None,
        Some(name) => Some(
            Action::ALL
                .into_iter()
                .find(|a| action_name(*a) == name)
                .ok_or("Action: choose one from the list.")?,
        ),
    };
    let from = t(&f.from).map(|s| day(&s, "From")).transpose()?;
    // "Until" is inclusive of the day given.
    let until = t(&f.until)
        .map(|s| day(&s, "Until").map(|c| c + 86_400 * 100))
        .transpose()?;
    let before = t(&f.before)
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| "That page link is not valid; search again.".to_owned())
        })
        .transpose()?;
    let size = t(&f.size).map_or(Ok(PAGE), |s| {
        s.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| format!("Per page: give a number from 1 to {MAX_PAGE}."))
    })?;
    Ok(Filter {
        user: t(&f.user),
        action,
        from,
        until,
        size,
        before,
    })
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.user.as_deref().is_none_or(|u| e.user == u)
            && self.action.is_none_or(|a| e.action == a)
            && self.from.is_none_or(|t| e.time.0 >= t)
            && self.until.is_none_or(|t| e.time.0 < t)
    }

    fn describe(&self) -> String {
        let mut d = String::from("console audit log");
        if let Some(u) = &self.user {
            let _ = write!(d, " user={u}");
        }
        if let Some(a) = self.action {
            let _ = write!(d, " action={}", action_name(a));
        }
        if let Some(t) = self.from {
            let _ = write!(d, " from={}", t / 100);
        }
        if let Some(t) = self.until {
            let _ = write!(d, " until={}", t / 100);
        }
        if let Some(b) = self.before {
            let _ = write!(d, " before={b}");
        }
        d
    }
}

fn when(e: &Entry) -> String {
    let secs = i64::try_from(e.time.0 / 100).unwrap_or(0);
    jiff::Timestamp::from_second(secs).map_or_else(
        |_| "-".to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

fn source(s: &Source) -> String {
    match s {
        Source::Ip(ip) => ip.to_string(),
        Source::Local(text) => text.clone(),
    }
}

/// The signed-in auditor, or the page that says why not.
async fn auditor(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let signed = signed_in(state, headers).await?;
    if let Access::Deny(why) = access(
        &signed,
        Operation::ReadAuditLog,
        signed.auth.identity.agency,
    ) {
        return Err(not_allowed(
            &signed.viewer,
            &format!("Only an auditor reads the access log: {why}."),
        ));
    }
    Ok(signed)
}

fn field(h: &mut Html, id: &'static str, label: &'static str, kind: &'static str, value: &str) {
    h.raw("<div><label for=\"")
        .raw(id)
        .raw("\">")
        .raw(label)
        .raw("</label><input type=\"")
        .raw(kind)
        .raw("\" id=\"")
        .raw(id)
        .raw("\" name=\"")
        .raw(id)
        .raw("\" value=\"")
        .text(value)
        .raw("\"></div>");
}

fn filter_form(h: &mut Html, f: &Filters) {
    h.raw("<form method=\"get\" action=\"/console/audit\" role=\"search\" aria-label=\"Access log filters\"><div class=\"filters\">");
    field(h, "user", "User name", "text", &f.user);
    h.raw("<div><label for=\"action\">Action</label><select id=\"action\" name=\"action\"><option value=\"\">any</option>");
    for a in Action::ALL {
        let name = action_name(a);
        h.raw("<option value=\"").raw(name).raw("\"");
        if f.action.trim() == name {
            h.raw(" selected");
        }
        h.raw(">").raw(name).raw("</option>");
    }
    h.raw("</select></div>");
    field(h, "from", "From", "date", &f.from);
    field(h, "until", "Until (including)", "date", &f.until);
    field(h, "size", "Per page", "number", &f.size);
    h.raw("</div><button type=\"submit\">Show entries</button></form>");
}

/// The checkpoint, "verify now" and witness sections.
fn integrity(h: &mut Html, signed: &Signed, checkpoint: Option<&str>, size: u64) {
    h.raw("<h2 id=\"checkpoint-heading\">Current signed checkpoint</h2>");
    match checkpoint {
        Some(note) => {
            h.raw("<p>The log holds <strong id=\"log-size\">")
                .num(size)
                .raw("</strong> entries. Its newest checkpoint, signed with the log's key (C2SP signed note: origin, size, root hash, signature):</p><pre class=\"mono\" id=\"checkpoint\" tabindex=\"0\" aria-labelledby=\"checkpoint-heading\">")
                .text(note)
                .raw("</pre>");
        }
        None => {
            h.raw("<p id=\"checkpoint\">The log has no checkpoint yet.</p>");
        }
    }
    h.raw("<form method=\"post\" action=\"/console/audit/verify\">");
    csrf_field(h, &signed.viewer);
    h.raw("<button type=\"submit\">Verify now</button><span class=\"hint\">Recomputes the whole tree from every entry and checks every stored node and signed checkpoint, as <code>callward audit verify</code> does.</span></form>")
        .raw("<h2>Witness</h2><p id=\"witness\">No witness cosignature is kept on this server. A witness checks each new checkpoint against the one it accepted before, from an export (<code>callward audit export</code>, <code>callward audit witness</code>), and keeps its own state; check its cosignature with <code>callward audit check-cosignature</code>.</p>");
}

/// The access log page; `result` is the outcome of "verify now".
async fn render(
    state: &AppState,
    signed: &Signed,
    from: Source,
    f: &Filters,
    result: Option<Html>,
) -> Response {
    let mut b = Html::new();
    if let Some(r) = result {
        b.html(&r);
    }
    let filter = match parse(f) {
        Ok(x) => x,
        Err(e) => {
            filter_form(&mut b, f);
            return page(
                StatusCode::BAD_REQUEST,
                "Access log",
                Some(&signed.viewer),
                Some(&e),
                &b,
            );
        }
    };
    // The read is logged before anything is read.
    let entry = signed.auth.identity.entry(
        Action::Search,
        ObjectKind::Query,
        &filter.describe(),
        None,
        "",
        from,
    );
    if let Err(r) = append(state, &entry).await {
        return r;
    }
    let log = match sessions(state) {
        Ok(s) => s.log(),
        Err(r) => return r,
    };
    let (checkpoint, size) = {
        let l = log.lock().await;
        (l.checkpoint().map(str::to_owned), l.size())
    };
    integrity(&mut b, signed, checkpoint.as_deref(), size);
    b.raw("<h2 id=\"entries-heading\">Entries</h2>");
    filter_form(&mut b, f);
    // Newest first, from `before`, this agency's entries and the server's
    // own (the local operator's, which name no agency).
    let agency = signed.auth.identity.agency.to_string();
    let mut next = filter.before.unwrap_or(size).min(size);
    let floor = next.saturating_sub(SCAN);
    let mut rows: Vec<(u64, Entry)> = Vec::new();
    while next > floor && rows.len() < filter.size {
        let l = log.lock().await;
        let stop = next.saturating_sub(CHUNK).max(floor);
        while next > stop && rows.len() < filter.size {
            next -= 1;
            let e = match l.entry(next).await {
                Ok(e) => e,
                Err(e) => return server_error(&e),
            };
            if (e.agency == agency || e.agency.is_empty()) && filter.matches(&e) {
                rows.push((next, e));
            }
        }
    }
    if rows.is_empty() {
        b.raw("<p id=\"count\">No entries match");
        b.raw(if next > 0 {
            " among these; older ones may."
        } else {
            "."
        })
        .raw("</p>");
    } else {
        b.raw("<p id=\"count\">")
            .num(i128::try_from(rows.len()).unwrap_or(0))
            .raw(if rows.len() == 1 { " entry" } else { " entries" })
            .raw(", newest first.</p><div class=\"table-wrap\"><table aria-labelledby=\"entries-heading\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time (UTC)</th><th scope=\"col\">User</th><th scope=\"col\">Role</th><th scope=\"col\">Action</th><th scope=\"col\">Object</th><th scope=\"col\">Case</th><th scope=\"col\">Justification or query</th><th scope=\"col\">From</th></tr></thead><tbody>");
        for (i, e) in &rows {
            let kind = kind_name(e.object_kind);
            let object = if kind.is_empty() {
                e.object_id.clone()
            } else {
                format!("{kind} {}", e.object_id)
            };
            b.raw("<tr><td>")
                .num(*i)
                .raw("</td><td>")
                .text(&when(e))
                .raw("</td><td>")
                .text(&e.user)
                .raw("</td><td>")
                .text(&e.role)
                .raw("</td><td>")
                .raw(action_name(e.action))
                .raw("</td><td>")
                .text(object.trim())
                .raw("</td><td>")
                .text(&e.case_id)
                .raw("</td><td>")
                .text(&e.justification)
                .raw("</td><td>")
                .text(&source(&e.source))
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    if next > 0 {
        let mut q = String::from("/console/audit?");
        for (k, v) in [
            ("user", &f.user),
            ("action", &f.action),
            ("from", &f.from),
            ("until", &f.until),
            ("size", &f.size),
        ] {
            if !v.trim().is_empty() {
                let _ = write!(q, "{k}={}&", super::html::query_encode(v.trim()));
            }
        }
        let _ = write!(q, "before={next}");
        b.raw("<p><a id=\"older\" href=\"")
            .text(&q)
            .raw("\">Older entries</a></p>");
    }
    page(StatusCode::OK, "Access log", Some(&signed.viewer), None, &b)
}

/// `GET /console/audit`.
pub(crate) async fn log(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let signed = match auditor(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &signed, from, &f, None).await
}

/// `POST /console/audit/verify`: checks the whole log now.
pub(crate) async fn verify(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(form): Form<VerifyForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Access::Deny(why) = access(
        &signed,
        Operation::ReadAuditLog,
        signed.auth.identity.agency,
    ) {
        return not_allowed(
            &signed.viewer,
            &format!("Only an auditor verifies the access log: {why}."),
        );
    }
    let entry = signed.auth.identity.entry(
        Action::View,
        ObjectKind::Query,
        "console audit verify",
        None,
        "",
        from.clone(),
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let key = sessions.log().lock().await.verifier().clone();
    let outcome = callward_store::verify_audit_log(sessions.store(), &key, key.name()).await;
    let mut r = Html::new();
    match outcome {
        Ok(v) => {
            r.raw("<div class=\"ok\" role=\"status\" id=\"verify-result\"><p><strong>OK.</strong> ")
                .num(v.size)
                .raw(" entries and ")
                .num(i128::try_from(v.checkpoints).unwrap_or(0))
                .raw(" signed checkpoints checked; the tree recomputed from the entries has the root of the newest checkpoint:</p><p class=\"mono\" id=\"verified-root\">")
                .text(&v.root.to_hex())
                .raw("</p></div>");
        }
        Err(VerifyError::Inconsistent(finding)) => {
            r.raw("<div class=\"bad\" role=\"alert\" id=\"verify-result\"><p><strong>FAILED.</strong> The log does not verify. The first inconsistency: ")
                .text(&finding.to_string())
                .raw("</p><p>Keep an export of the log as it is now (<code>callward audit export</code>) and tell whoever oversees this system.</p></div>");
        }
        Err(e) => return server_error(&e),
    }
    render(&state, &signed, from, &Filters::default(), Some(r)).await
}
