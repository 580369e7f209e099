//! Attorney (privileged) registrations awaiting verification: list,
//! verify, reject, as `callward admin privileged verify|reject --by USER`
//! with the signed-in administrator as USER. Verifying seals every earlier
//! recording of calls to the number (the binary's sealer, as the CLI does,
//! after the verification is committed, so a sealing failure never
//! unprivileges the number). Pending registrations are already never
//! recorded (fail closed); a rejected one is recorded again.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::ObjectKind;
use callward_core::{PrivilegedId, PrivilegedNumber, Verification};
use callward_store::{Store as _, StoreError};
use serde::Deserialize;

use super::admin::{Done, admin, admin_form, id_field, log_change, notice, store, tools};
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Peer, Signed, server_error};
use crate::AppState;

/// Where the page lives.
const PATH: &str = "/console/admin/privileged";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "rejected" => Some("Registration rejected: calls to the number are recorded again."),
        _ => None,
    }
}

/// `GET /console/admin/privileged`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let text = done.done.as_deref().and_then(done_text);
    render(&state, &signed, StatusCode::OK, text, None).await
}

async fn render(
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
    let all = match store.list_privileged().await {
        Ok(a) => a,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
    notice(&mut b, notice_text);
    b.raw("<p>Calls to a pending registration are already never recorded. Verify it once the bar number checks out; reject it if it does not (calls to the number are then recorded again).</p>");
    let (pending, decided): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|r| r.verification == Verification::Pending);
    b.raw("<h2 id=\"pending-h\">Awaiting verification</h2>");
    if pending.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        table(&mut b, signed, "pending", &pending, true);
    }
    b.raw("<h2 id=\"decided-h\">Verified and rejected</h2>");
    if decided.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        table(&mut b, signed, "decided", &decided, false);
    }
    // Attorneys' requests to review earlier recordings of their numbers.
    let reviews = match store.privilege_reviews(None).await {
        Ok(r) => r,
        Err(e) => return server_error(&e),
    };
    b.raw("<h2 id=\"reviews-h\">Privilege review requests</h2>");
    if reviews.is_empty() {
        b.raw("<p id=\"no-reviews\">None.</p>");
    } else {
        b.raw("<p>Recordings of calls to a registered number are sealed for privilege review when it is registered and verified; a request asks the agency's privilege reviewer to go through those in its dates. Mark it reviewed once that is done.</p>");
        super::attorney::review_table(&mut b, &reviews, &all, "reviews");
        for r in reviews.iter().filter(|r| r.reviewed.is_none()) {
            b.raw("<form class=\"inline\" method=\"post\" action=\"/console/admin/privileged/reviewed\">");
            csrf_field(&mut b, &signed.viewer);
            b.raw("<input type=\"hidden\" name=\"id\" value=\"")
                .num(r.id)
                .raw("\"><button type=\"submit\" class=\"secondary\">Mark request ")
                .num(r.id)
                .raw(" reviewed</button></form> ");
        }
    }
    page(status, "Attorney numbers", Some(&signed.viewer), error, &b)
}

fn table(
    b: &mut Html,
    signed: &Signed,
    id: &'static str,
    rows: &[&PrivilegedNumber],
    buttons: bool,
) {
    b.raw("<div class=\"table-wrap\"><table id=\"")
        .raw(id)
        .raw("\" aria-labelledby=\"")
        .raw(id)
        .raw("-h\"><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Number</th><th scope=\"col\">Attorney</th><th scope=\"col\">Bar</th><th scope=\"col\">State</th>");
    if buttons {
        b.raw("<th scope=\"col\">Decide</th>");
    }
    b.raw("</tr></thead><tbody>");
    for r in rows {
        b.raw("<tr><td>")
            .num(r.id.0)
            .raw("</td><td>")
            .text(r.number.as_str())
            .raw("</td><td>")
            .text(r.attorney_name.as_str())
            .raw("</td><td>")
            .text(r.bar_state.as_str())
            .raw(" ")
            .text(&r.bar_number)
            .raw("</td><td>")
            .text(&r.verification.to_string());
        if let Some(by) = &r.verified_by {
            b.raw(" by ").text(by);
        }
        b.raw("</td>");
        if buttons {
            b.raw("<td>");
            for (action, label) in [("verify", "Verify "), ("reject", "Reject ")] {
                b.raw("<form class=\"inline\" method=\"post\" action=\"/console/admin/privileged/")
                    .raw(action)
                    .raw("\">");
                csrf_field(b, &signed.viewer);
                b.raw("<input type=\"hidden\" name=\"id\" value=\"")
                    .num(r.id.0)
                    .raw("\"><button type=\"submit\"")
                    .raw(if action == "reject" {
                        " class=\"secondary\">"
                    } else {
                        ">"
                    })
                    .raw(label)
                    .text(r.number.as_str())
                    .raw("</button></form>");
            }
            b.raw("</td>");
        }
        b.raw("</tr>");
    }
    b.raw("</tbody></table></div>");
}

/// `POST /console/admin/privileged/verify`.
pub(crate) async fn verify(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(&state, from, &headers, &f, Verification::Verified).await
}

/// `POST /console/admin/privileged/reviewed`: marks a privilege review
/// request done.
pub(crate) async fn reviewed(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(id) = id_field(&f.id) else {
        return render(
            &state,
            &signed,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such request."),
        )
        .await;
    };
    let by = signed.viewer.username.clone();
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Privileged,
        &format!("review {id}"),
        &format!("privilege review request {id} marked reviewed by {by}"),
        from,
    )
    .await
    {
        return r;
    }
    match store
        .mark_privilege_reviewed(id, &by, jiff::Timestamp::now())
        .await
    {
        Ok(_) => {
            render(
                &state,
                &signed,
                StatusCode::OK,
                Some(&format!("Review request {id} marked reviewed.")),
                None,
            )
            .await
        }
        Err(e @ StoreError::Refused(_)) => {
            render(
                &state,
                &signed,
                StatusCode::BAD_REQUEST,
                None,
                Some(&e.to_string()),
            )
            .await
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/privileged/reject`.
pub(crate) async fn reject(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(&state, from, &headers, &f, Verification::Rejected).await
}

async fn decide(
    state: &AppState,
    from: callward_audit::Source,
    headers: &HeaderMap,
    f: &DecideForm,
    v: Verification,
) -> Response {
    let signed = match admin_form(state, headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = match store(state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let registration = match store.list_privileged().await {
        Ok(all) => all.into_iter().find(|r| Some(r.id.0) == id_field(&f.id)),
        Err(e) => return server_error(&e),
    };
    let Some(registration) = registration else {
        return render(
            state,
            &signed,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such registration."),
        )
        .await;
    };
    // Verifying must seal earlier recordings: without the sealer, refuse
    // before anything is logged or changed.
    let sealer = if v == Verification::Verified {
        match tools(state, &signed).map(|t| t.sealer.clone()) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                return render(
                    state,
                    &signed,
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    Some("This server cannot seal recordings; verify with `callward admin privileged verify`."),
                )
                .await;
            }
            Err(r) => return r,
        }
    } else {
        None
    };
    let by = signed.viewer.username.clone();
    if let Err(r) = log_change(
        state,
        &signed,
        ObjectKind::Privileged,
        &registration.id.to_string(),
        &format!("{v} by {by}"),
        from,
    )
    .await
    {
        return r;
    }
    let r = match store
        .set_verification(PrivilegedId(registration.id.0), v, by.clone())
        .await
    {
        Ok(r) => r,
        Err(e @ (StoreError::Conflict(_) | StoreError::Refused(_) | StoreError::NotFound(_))) => {
            return render(
                state,
                &signed,
                StatusCode::BAD_REQUEST,
                None,
                Some(&e.to_string()),
            )
            .await;
        }
        Err(e) => return server_error(&e),
    };
    tracing::info!(privileged_id = %r.id, verification = %v, "privileged registration reviewed (console)");
    match sealer {
        Some(sealer) if r.is_privileged() => match sealer.seal(&r, &by).await {
            Ok(summary) => {
                render(
                    state,
                    &signed,
                    StatusCode::OK,
                    Some(&format!("Registration verified; {summary}.")),
                    None,
                )
                .await
            }
            Err(e) => {
                tracing::warn!(privileged_id = %r.id, error = %e, "sealing after verification failed (console)");
                render(
                    state,
                    &signed,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    Some(&format!(
                        "The registration is verified (its calls are not recorded), but its earlier recordings are not sealed yet (the server log says why). Run `callward admin privileged verify {}` once this is fixed.",
                        r.id
                    )),
                )
                .await
            }
        },
        _ => Redirect::to(&format!("{PATH}?done=rejected")).into_response(),
    }
}
