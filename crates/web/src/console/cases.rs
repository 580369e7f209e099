//! The investigator's cases (`/console/cases`): the agency's cases, open
//! and closed, who opened each and why; open one with a title and a
//! written justification (the same rules as the API and `callward case
//! open`); close one. Playback, export and live monitoring are allowed
//! only inside an open case, which is named in each access entry.
//!
//! Every change is decided (`manage_cases`) and appended to the access log;
//! a refused attempt is logged too.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{Access, Justification, Operation};
use callward_core::{CaseId, Name};
use callward_store::StoreError;
use serde::Deserialize;

use super::approvals::{utc, who};
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{
    Peer, Signed, access, append, not_allowed, server_error, sessions, signed_form, signed_in,
};
use crate::AppState;
use crate::auth::now_ms;

/// `?opened=N` or `?closed=N` after a change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    opened: Option<i64>,
    #[serde(default)]
    closed: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    justification: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    csrf: String,
}

/// The refusal page unless `decide` lets this person manage cases.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
fn may_manage(signed: &Signed) -> Result<(), Response> {
    match access(signed, Operation::ManageCases, signed.auth.identity.agency) {
        Access::Deny(why) => Err(not_allowed(
            &signed.viewer,
            &format!("You cannot see or change cases: {why}."),
        )),
        _ => Ok(()),
    }
}

/// `GET /console/cases`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage(&signed) {
        return r;
    }
    let notice = match (done.opened, done.closed) {
        (Some(id), _) => Some(format!("Case {id} is open.")),
        (None, Some(id)) => Some(format!("Case {id} is closed.")),
        (None, None) => None,
    };
    render(
        &state,
        &signed,
        StatusCode::OK,
        notice,
        None,
        &OpenForm::default(),
    )
    .await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<&str>,
    form: &OpenForm,
) -> Response {
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let cases = match store.list_cases(signed.auth.identity.agency).await {
        Ok(c) => c,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
    if let Some(n) = notice {
        b.raw("<p class=\"ok\" role=\"status\" id=\"result\">")
            .text(&n)
            .raw("</p>");
    }
    b.raw("<p>Recordings are played, exported or listened to live only inside an open case of your agency, and the case is named in every access-log entry. Close a case when the work is done.</p>");
    b.raw("<h2 id=\"open-h\">Open a case</h2><form class=\"stacked\" method=\"post\" action=\"/console/cases\" aria-labelledby=\"open-h\">");
    csrf_field(&mut b, &signed.viewer);
    b.raw("<label for=\"title\">Title</label><input id=\"title\" name=\"title\" required maxlength=\"200\" autocomplete=\"off\" value=\"")
        .text(&form.title)
        .raw("\"><label for=\"justification\">Justification</label><span class=\"hint\" id=\"justification-hint\">Why this case needs call records or recordings (a warrant, an incident), at least 10 characters.</span><textarea id=\"justification\" name=\"justification\" required minlength=\"10\" rows=\"3\" aria-describedby=\"justification-hint\">")
        .text(&form.justification)
        .raw("</textarea><button type=\"submit\">Open case</button></form>");

    b.raw("<h2 id=\"cases-h\">Your agency's cases</h2>");
    if cases.is_empty() {
        b.raw("<p id=\"no-cases\">No case yet.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"cases\" aria-labelledby=\"cases-h\"><thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Title</th><th scope=\"col\">Justification</th><th scope=\"col\">Opened</th><th scope=\"col\">State</th><th scope=\"col\">Close</th></tr></thead><tbody>");
        for c in cases.iter().rev() {
            let opener = match who(store, c.opened_by).await {
                Ok(w) => w,
                Err(e) => return server_error(&e),
            };
            b.raw("<tr><td>")
                .num(c.id.0)
                .raw("</td><td>")
                .text(&c.title)
                .raw("</td><td>")
                .text(&c.justification)
                .raw("</td><td>")
                .text(&format!("{} by {opener}", utc(c.opened_ms)))
                .raw("</td><td class=\"state\">");
            match c.closed_ms {
                Some(at) => {
                    b.raw("closed ").text(&utc(at)).raw("</td><td>");
                }
                None => {
                    b.raw("open</td><td><form method=\"post\" action=\"/console/cases/")
                        .num(c.id.0)
                        .raw("/close\">");
                    csrf_field(&mut b, &signed.viewer);
                    b.raw("<button type=\"submit\" class=\"secondary\">Close case ")
                        .num(c.id.0)
                        .raw("</button></form>");
                }
            }
            b.raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    page(status, "Cases", Some(&signed.viewer), error, &b)
}

/// `POST /console/cases`: opens a case.
pub(crate) async fn open(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<OpenForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage(&signed) {
        return r;
    }
    let parsed = Name::parse_field("case title", &f.title)
        .map_err(|e| e.to_string())
        .and_then(|t| {
            Justification::parse(&f.justification)
                .map(|j| (t, j))
                .map_err(|e| e.to_string())
        });
    let (title, justification) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return render(
                &state,
                &signed,
                StatusCode::BAD_REQUEST,
                None,
                Some(&format!("{e}. No case was opened.")),
                &f,
            )
            .await;
        }
    };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let who = &signed.auth.identity;
    // The entry names the case, so the case row comes first (in the same
    // order as the API); a failed append leaves an unused case, never an
    // unlogged access.
    let case = match store
        .open_case(who.agency, who.user.id, &title, &justification, now_ms())
        .await
    {
        Ok(c) => c,
        Err(e) => return server_error(&e),
    };
    let entry = who.entry(
        Action::CaseOpen,
        ObjectKind::Case,
        &case.id.to_string(),
        Some(case.id),
        justification.as_str(),
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    Redirect::to(&format!("/console/cases?opened={}", case.id.0)).into_response()
}

/// `POST /console/cases/{id}/close`.
pub(crate) async fn close(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage(&signed) {
        return r;
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let who = &signed.auth.identity;
    // Another agency's case is as good as absent.
    let case = match store.case(CaseId(id)).await {
        Ok(c) if c.agency == who.agency => c,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return render(
                &state,
                &signed,
                StatusCode::NOT_FOUND,
                None,
                Some("No case of your agency has that number."),
                &OpenForm::default(),
            )
            .await;
        }
        Err(e) => return server_error(&e),
    };
    if case.closed_ms.is_some() {
        return render(
            &state,
            &signed,
            StatusCode::CONFLICT,
            None,
            Some(&format!("Case {id} is already closed.")),
            &OpenForm::default(),
        )
        .await;
    }
    let entry = who.entry(
        Action::CaseClose,
        ObjectKind::Case,
        &case.id.to_string(),
        Some(case.id),
        "",
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    match store.close_case(case.id, who.user.id, now_ms()).await {
        Ok(()) => Redirect::to(&format!("/console/cases?closed={id}")).into_response(),
        Err(e) => server_error(&e),
    }
}
