//! Approvals: what one person may not do alone (invariant 5). A supervisor
//! sees the agency's queue (who asked, why, for how many recordings, a
//! bulk export or more than the daily quota) and grants or refuses; an
//! investigator asks and follows their own requests. The same steps as
//! `callward approval request|grant|refuse`: the access matrix, the
//! two-person rule (`check_decision`, checked again by the store in its
//! transaction), and the access-log entry appended before the change.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{
    Access, Approval, ApprovalState, Justification, Operation, check_decision,
};
use callward_core::{Role, UserId};
use callward_store::{SqliteStore, StoreError};
use serde::Deserialize;

use super::html::Html;
use super::layout::{csrf_field, page};
use super::{
    Peer, Signed, access, append, not_allowed, server_error, sessions, signed_form, signed_in,
};
use crate::AppState;
use crate::auth::now_ms;

/// `?decided=ID` after a decision, `?asked=ID` after a request.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    decided: Option<i64>,
    #[serde(default)]
    asked: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    reason: String,
}

/// A time in milliseconds as UTC text.
pub(crate) fn utc(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(
        |_| "-".to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Who decided, for people to read (a supervisor's account).
pub(crate) async fn who(store: &SqliteStore, user: UserId) -> Result<String, StoreError> {
    Ok(store.account_summary(user).await?.map_or_else(
        || format!("user {user} (removed)"),
        |a| a.user.username.as_str().to_owned(),
    ))
}

fn state_text(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::Pending => "waiting",
        ApprovalState::Granted(_) => "granted",
        ApprovalState::Refused(_) => "refused",
        ApprovalState::Used => "granted and used",
    }
}

/// The page as the signed-in person may see it, with `notice` (the result
/// of what they just did) or `error` at the top.
async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<&str>,
    form: &RequestForm,
) -> Response {
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let agency_id = signed.auth.identity.agency;
    let me = signed.auth.identity.user.id;
    let supervisor = signed.auth.identity.user.role == Role::Supervisor;
    let (all, agency) = match (
        store.list_approvals(agency_id).await,
        store.agency(agency_id).await,
    ) {
        (Ok(a), Ok(g)) => (a, g),
        (Err(e), _) | (_, Err(e)) => return server_error(&e),
    };
    let mine: Vec<&Approval> = all
        .iter()
        .filter(|a| supervisor || a.requester == me)
        .collect();
    let now = now_ms();
    let mut b = Html::new();
    if let Some(n) = notice {
        b.raw("<p class=\"notice\" role=\"status\" id=\"result\">")
            .text(&n)
            .raw("</p>");
    }
    b.raw("<p>Your agency's limits without a second person: ")
        .num(agency.policy.daily)
        .raw(" recordings a day for each person, ")
        .num(agency.policy.bulk)
        .raw(" in one export. Requests expire unused after 24 hours.</p>");
    let (pending, decided): (Vec<&Approval>, Vec<&Approval>) = mine
        .into_iter()
        .partition(|a| a.state == ApprovalState::Pending && now < a.expires_ms);
    b.raw("<h2 id=\"waiting\">Waiting for a decision</h2>");
    if pending.is_empty() {
        b.raw("<p>Nothing is waiting.</p>");
    }
    for a in &pending {
        let asker = match store.approval_requester(a).await {
            Ok(w) => w,
            Err(e) => return server_error(&e),
        };
        b.raw("<section class=\"card\" aria-labelledby=\"approval-")
            .num(a.id.0)
            .raw("\"><h3 id=\"approval-")
            .num(a.id.0)
            .raw("\">Request ")
            .num(a.id.0)
            .raw(": ")
            .num(a.count)
            .raw(if a.count == 1 {
                " recording"
            } else {
                " recordings"
            })
            .raw("</h3><dl><dt>Asked by</dt><dd>")
            .text(&asker)
            .raw("</dd><dt>What for</dt><dd>")
            .raw(if a.count > agency.policy.bulk {
                "a bulk export (more than one export may hold)"
            } else {
                "more than the daily quota"
            })
            .raw("</dd><dt>Why</dt><dd>")
            .text(&a.reason)
            .raw("</dd><dt>Asked</dt><dd>")
            .text(&utc(a.created_ms))
            .raw("</dd><dt>Expires</dt><dd>")
            .text(&utc(a.expires_ms))
            .raw("</dd></dl>");
        if supervisor && a.requester != me {
            for (verb, label, class) in [
                ("grant", "Approve", ""),
                ("refuse", "Refuse", " class=\"secondary\""),
            ] {
                b.raw("<form class=\"inline\" method=\"post\" action=\"/console/approvals/")
                    .num(a.id.0)
                    .raw("/")
                    .raw(verb)
                    .raw("\">");
                csrf_field(&mut b, &signed.viewer);
                b.raw("<button type=\"submit\"")
                    .raw(class)
                    .raw(" aria-describedby=\"approval-")
                    .num(a.id.0)
                    .raw("\">")
                    .raw(label)
                    .raw("</button></form>");
            }
        } else if supervisor {
            b.raw("<p class=\"notice\">Your own request: another supervisor decides.</p>");
        }
        b.raw("</section>");
    }
    b.raw("<h2 id=\"decided\">Decided or expired</h2>");
    if decided.is_empty() {
        b.raw("<p>None yet.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table aria-labelledby=\"decided\"><thead><tr><th scope=\"col\">Request</th><th scope=\"col\">Asked by</th><th scope=\"col\">Recordings</th><th scope=\"col\">Why</th><th scope=\"col\">State</th><th scope=\"col\">Decided by</th></tr></thead><tbody>");
        for a in &decided {
            let asker = match store.approval_requester(a).await {
                Ok(w) => w,
                Err(e) => return server_error(&e),
            };
            let by = match a.state {
                ApprovalState::Granted(u) | ApprovalState::Refused(u) => {
                    match who(store, u).await {
                        Ok(w) => w,
                        Err(e) => return server_error(&e),
                    }
                }
                _ => "-".to_owned(),
            };
            let state_text = if a.state == ApprovalState::Pending {
                "expired"
            } else {
                state_text(a.state)
            };
            b.raw("<tr id=\"request-")
                .num(a.id.0)
                .raw("\"><td>")
                .num(a.id.0)
                .raw("</td><td>")
                .text(&asker)
                .raw("</td><td>")
                .num(a.count)
                .raw("</td><td>")
                .text(&a.reason)
                .raw("</td><td>")
                .raw(state_text)
                .raw("</td><td>")
                .text(&by)
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    if matches!(
        access(signed, Operation::ManageCases, agency_id),
        Access::Allow
    ) {
        b.raw("<h2 id=\"ask\">Ask to release more recordings</h2>")
            .raw("<p>For an export larger than one export may hold, or more than your daily quota. A supervisor of your agency decides; you cannot approve your own request.</p>")
            .raw("<form class=\"stacked\" method=\"post\" action=\"/console/approvals\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<label for=\"count\">Recordings</label><input type=\"number\" id=\"count\" name=\"count\" min=\"1\" required value=\"")
            .text(&form.count)
            .raw("\"><label for=\"reason\">Why</label><span class=\"hint\" id=\"reason-hint\">At least 10 characters. The supervisor and the access log read this.</span>")
            .raw("<textarea id=\"reason\" name=\"reason\" rows=\"3\" required aria-describedby=\"reason-hint\">")
            .text(&form.reason)
            .raw("</textarea><button type=\"submit\">Ask for approval</button></form>");
    }
    page(status, "Approvals", Some(&signed.viewer), error, &b)
}

/// Supervisors decide; investigators ask and follow their own requests.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
fn may_see(signed: &Signed) -> Result<(), Response> {
    let agency = signed.auth.identity.agency;
    let approve = access(signed, Operation::Approve, agency);
    let ask = access(signed, Operation::ManageCases, agency);
    if matches!(approve, Access::Allow) || matches!(ask, Access::Allow) {
        Ok(())
    } else {
        Err(not_allowed(
            &signed.viewer,
            "Only supervisors (who decide) and investigators (who ask) see approvals.",
        ))
    }
}

/// `GET /console/approvals`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_see(&signed) {
        return r;
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    // The result of what this person just did, read back from the store.
    let mut notice = None;
    if let Some(id) = done.decided.or(done.asked)
        && let Ok(a) = store.approval(callward_core::ApprovalId(id)).await
        && a.agency == signed.auth.identity.agency
    {
        notice = Some(if done.decided.is_some() {
            format!("Request {id} is now {}.", state_text(a.state))
        } else {
            format!(
                "Request {id} for {} recordings is waiting for a supervisor.",
                a.count
            )
        });
    }
    render(
        &state,
        &signed,
        StatusCode::OK,
        notice,
        None,
        &RequestForm::default(),
    )
    .await
}

/// `POST /console/approvals`: an investigator asks.
pub(crate) async fn request(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<RequestForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let agency = signed.auth.identity.agency;
    // Only those who may export ask to export more (as if inside a case:
    // the role and agency are what matter here), as the CLI checks.
    let may = callward_core::auth::decide(callward_core::auth::AccessRequest {
        op: Operation::Export,
        role: signed.auth.identity.user.role,
        actor_agency: agency,
        object_agency: agency,
        privileged: false,
        case: callward_core::auth::CaseStatus::Open,
    });
    if let Access::Deny(why) = may {
        return not_allowed(
            &signed.viewer,
            &format!("You cannot ask to release recordings: {why}."),
        );
    }
    let parsed = f
        .count
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "Recordings: give a whole number, at least 1.".to_owned())
        .and_then(|count| {
            Justification::parse(&f.reason)
                .map(|r| (count, r))
                .map_err(|e| format!("Why: {e}."))
        });
    let (count, reason) = match parsed {
        Ok(x) => x,
        Err(e) => {
            return render(&state, &signed, StatusCode::BAD_REQUEST, None, Some(&e), &f).await;
        }
    };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let a = match store
        .request_approval(
            signed.auth.identity.user.id,
            agency,
            count,
            &reason,
            now_ms(),
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return server_error(&e),
    };
    let entry = signed.auth.identity.entry(
        Action::ApprovalRequest,
        ObjectKind::Approval,
        &a.id.to_string(),
        None,
        &format!("{count} recordings: {}", reason.as_str()),
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    Redirect::to(&format!("/console/approvals?asked={}", a.id.0)).into_response()
}

/// `POST /console/approvals/{id}/grant`.
pub(crate) async fn grant(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(&state, from, &headers, id, &f.csrf, true).await
}

/// `POST /console/approvals/{id}/refuse`.
pub(crate) async fn refuse(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(&state, from, &headers, id, &f.csrf, false).await
}

/// A supervisor's decision, as `callward approval grant|refuse` makes it:
/// the matrix, the two-person rule, the entry appended, then the change.
async fn decide(
    state: &AppState,
    from: callward_audit::Source,
    headers: &HeaderMap,
    id: i64,
    csrf: &str,
    grant: bool,
) -> Response {
    let signed = match signed_form(state, headers, csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let approval = match store.approval(callward_core::ApprovalId(id)).await {
        Ok(a) => a,
        Err(StoreError::NotFound(_)) => {
            return render(
                state,
                &signed,
                StatusCode::NOT_FOUND,
                None,
                Some("No request has that number."),
                &RequestForm::default(),
            )
            .await;
        }
        Err(e) => return server_error(&e),
    };
    let object = id.to_string();
    let refusal = match access(&signed, Operation::Approve, approval.agency) {
        Access::Deny(why) => Some(why.to_string()),
        _ => check_decision(&approval, signed.auth.identity.actor(), now_ms())
            .err()
            .map(|e| e.to_string()),
    };
    if let Some(why) = refusal {
        // A refused attempt is logged too, as the CLI does.
        let entry = signed.auth.identity.entry(
            Action::Refused,
            ObjectKind::Approval,
            &object,
            None,
            &why,
            from,
        );
        if let Err(r) = append(state, &entry).await {
            return r;
        }
        if matches!(
            access(&signed, Operation::Approve, signed.auth.identity.agency),
            Access::Deny(_)
        ) {
            return not_allowed(
                &signed.viewer,
                &format!("You cannot decide on approvals: {why}."),
            );
        }
        return render(
            state,
            &signed,
            StatusCode::FORBIDDEN,
            None,
            Some(&format!("Request {id} was not changed: {why}.")),
            &RequestForm::default(),
        )
        .await;
    }
    let action = if grant {
        Action::ApprovalGrant
    } else {
        Action::ApprovalRefuse
    };
    let entry = signed.auth.identity.entry(
        action,
        ObjectKind::Approval,
        &object,
        None,
        &approval.reason,
        from,
    );
    if let Err(r) = append(state, &entry).await {
        return r;
    }
    match store
        .decide_approval(approval.id, signed.auth.identity.actor(), grant, now_ms())
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/approvals?decided={id}")).into_response(),
        // Someone else decided in between: the store's transaction said no.
        Err(StoreError::Refused(why)) => {
            render(
                state,
                &signed,
                StatusCode::CONFLICT,
                None,
                Some(&format!("Request {id} was not changed: {why}.")),
                &RequestForm::default(),
            )
            .await
        }
        Err(e) => server_error(&e),
    }
}
