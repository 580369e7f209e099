//! A person's approved and blocked numbers: list, add, remove, as
//! `callward admin contact add|remove` and `admin block add|remove` (the
//! person's list or the whole facility's). Numbers are parsed by
//! `E164Number::parse` as the CLI does; the administrator sees them in
//! full, the access log only masked (or by entry id), as the CLI writes it.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::ObjectKind;
use callward_core::{BlockScope, E164Number, Facility, Person};
use callward_store::{Store as _, StoreError};
use serde::Deserialize;

use super::admin::{Done, admin, admin_form, id_field, log_change, notice, store};
use super::admin_people::managed_person;
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Peer, Signed, server_error};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    label: String,
    /// Blocks: `person` (default) or `facility`.
    #[serde(default)]
    list: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "approved" => Some("Number approved."),
        "unapproved" => Some("Approval removed."),
        "blocked" => Some("Number blocked."),
        "unblocked" => Some("Block removed."),
        _ => None,
    }
}

fn path_of(person: &Person) -> String {
    format!("/console/admin/people/{}", person.id)
}

fn back(person: &Person, done: &str) -> Response {
    Redirect::to(&format!("{}?done={done}", path_of(person))).into_response()
}

/// `GET /console/admin/people/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (facility, person) = match managed_person(&state, &signed, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let text = done.done.as_deref().and_then(done_text);
    render(
        &state,
        &signed,
        &facility,
        &person,
        StatusCode::OK,
        text,
        None,
    )
    .await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    facility: &Facility,
    person: &Person,
    status: StatusCode,
    notice_text: Option<&str>,
    error: Option<&str>,
) -> Response {
    let store = match store(state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (contacts, blocks) = match (
        store.list_contacts(person.id).await,
        store.list_blocks(facility.id).await,
    ) {
        (Ok(c), Ok(b)) => (c, b),
        (Err(e), _) | (_, Err(e)) => return server_error(&e),
    };
    let blocks: Vec<_> = blocks
        .into_iter()
        .filter(|b| match b.scope {
            BlockScope::Person(p) => p == person.id,
            BlockScope::Facility(_) | BlockScope::CalledParty(_) => true,
        })
        .collect();
    let action = path_of(person);
    let mut b = Html::new();
    notice(&mut b, notice_text);
    b.raw("<p>")
        .text(person.name.as_str())
        .raw(", booking ")
        .text(person.booking_id.as_str())
        .raw(", ")
        .text(facility.name.as_str())
        .raw(". <a href=\"/console/admin/people\">All people</a></p>");

    b.raw("<h2 id=\"approved-h\">Approved numbers</h2>");
    if contacts.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"approved\" aria-labelledby=\"approved-h\"><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Number</th><th scope=\"col\">Who</th><th scope=\"col\">Change</th></tr></thead><tbody>");
        for c in &contacts {
            b.raw("<tr><td>")
                .num(c.id.0)
                .raw("</td><td>")
                .text(c.number.as_str())
                .raw("</td><td>")
                .text(&c.label)
                .raw("</td><td>");
            remove_button(
                &mut b,
                signed,
                &action,
                "/contacts/remove",
                c.id.0,
                "Remove approval of ",
                c.number.as_str(),
            );
            b.raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    b.raw("<h3 id=\"approve-h\">Approve a number</h3><form class=\"stacked\" method=\"post\" action=\"")
        .text(&action)
        .raw("/contacts\" aria-labelledby=\"approve-h\">");
    csrf_field(&mut b, &signed.viewer);
    b.raw("<label for=\"contact-number\">Number to approve</label><input type=\"text\" id=\"contact-number\" name=\"number\" inputmode=\"tel\" required autocomplete=\"off\"><label for=\"contact-label\">Who answers</label><input type=\"text\" id=\"contact-label\" name=\"label\" autocomplete=\"off\"><button type=\"submit\">Approve number</button></form>");

    b.raw("<h2 id=\"blocked-h\">Blocked numbers</h2>");
    if blocks.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"blocked\" aria-labelledby=\"blocked-h\"><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Number</th><th scope=\"col\">List</th><th scope=\"col\">Reason</th><th scope=\"col\">Change</th></tr></thead><tbody>");
        for e in &blocks {
            b.raw("<tr><td>")
                .num(e.id.0)
                .raw("</td><td>")
                .text(e.number.as_str())
                .raw("</td><td>")
                .raw(match e.scope {
                    BlockScope::Person(_) => "this person",
                    BlockScope::Facility(_) => "whole facility",
                    BlockScope::CalledParty(_) => "called party's request",
                })
                .raw("</td><td>")
                .text(&e.reason)
                .raw("</td><td>");
            remove_button(
                &mut b,
                signed,
                &action,
                "/blocks/remove",
                e.id.0,
                "Remove block of ",
                e.number.as_str(),
            );
            b.raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    b.raw(
        "<h3 id=\"block-h\">Block a number</h3><form class=\"stacked\" method=\"post\" action=\"",
    )
    .text(&action)
    .raw("/blocks\" aria-labelledby=\"block-h\">");
    csrf_field(&mut b, &signed.viewer);
    b.raw("<label for=\"block-number\">Number to block</label><input type=\"text\" id=\"block-number\" name=\"number\" inputmode=\"tel\" required autocomplete=\"off\"><label for=\"block-list\">For</label><select id=\"block-list\" name=\"list\"><option value=\"person\">this person</option><option value=\"facility\">the whole facility</option></select><label for=\"block-reason\">Reason</label><input type=\"text\" id=\"block-reason\" name=\"label\" autocomplete=\"off\"><button type=\"submit\">Block number</button></form>");
    page(status, "Numbers", Some(&signed.viewer), error, &b)
}

fn remove_button(
    b: &mut Html,
    signed: &Signed,
    base: &str,
    suffix: &'static str,
    id: i64,
    label: &'static str,
    number: &str,
) {
    b.raw("<form class=\"inline\" method=\"post\" action=\"")
        .text(base)
        .raw(suffix)
        .raw("\">");
    csrf_field(b, &signed.viewer);
    b.raw("<input type=\"hidden\" name=\"id\" value=\"")
        .num(id)
        .raw("\"><button type=\"submit\" class=\"secondary\">")
        .raw(label)
        .text(number)
        .raw("</button></form>");
}

/// The signed-in administrator and the person of the path, for a form.
async fn form_person(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    id: &str,
) -> Result<(Signed, Facility, Person), Response> {
    let signed = admin_form(state, headers, csrf).await?;
    let (facility, person) = managed_person(state, &signed, id).await?;
    Ok((signed, facility, person))
}

fn parse_number(input: &str) -> Result<E164Number, String> {
    E164Number::parse(input).map_err(|e| format!("number: {e}"))
}

/// `POST /console/admin/people/{id}/contacts`: `admin contact add`.
pub(crate) async fn add_contact(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AddForm>,
) -> Response {
    let (signed, facility, person) = match form_person(&state, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let bad = |e: String| {
        let (state, signed, facility, person) = (&state, &signed, &facility, &person);
        async move {
            render(
                state,
                signed,
                facility,
                person,
                StatusCode::BAD_REQUEST,
                None,
                Some(&e),
            )
            .await
        }
    };
    let number = match parse_number(&f.number) {
        Ok(n) => n,
        Err(e) => return bad(e).await,
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Contact,
        &number.masked(),
        &format!("approve for person {}", person.id),
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store
        .add_contact(person.id, number, f.label.trim().to_owned())
        .await
    {
        Ok(c) => {
            tracing::info!(person_id = %person.id, number = %c.number.masked(), "number approved (console)");
            back(&person, "approved")
        }
        Err(e @ (StoreError::Conflict(_) | StoreError::Refused(_))) => bad(e.to_string()).await,
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/people/{id}/contacts/remove`: `admin contact remove`.
pub(crate) async fn remove_contact(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RemoveForm>,
) -> Response {
    let (signed, facility, person) = match form_person(&state, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Only an approval on this person's list (so of the administrator's agency).
    let contact = match store.list_contacts(person.id).await {
        Ok(list) => list.into_iter().find(|c| Some(c.id.0) == id_field(&f.id)),
        Err(e) => return server_error(&e),
    };
    let Some(contact) = contact else {
        return render(
            &state,
            &signed,
            &facility,
            &person,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such approval on this person's list."),
        )
        .await;
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Contact,
        &contact.id.to_string(),
        "remove",
        from,
    )
    .await
    {
        return r;
    }
    match store.remove_contact(contact.id).await {
        Ok(()) => {
            tracing::info!(contact_id = %contact.id, "approval removed (console)");
            back(&person, "unapproved")
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/people/{id}/blocks`: `admin block add` (the
/// person's list, or the facility's).
pub(crate) async fn add_block(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AddForm>,
) -> Response {
    let (signed, facility, person) = match form_person(&state, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let bad = |e: String| {
        let (state, signed, facility, person) = (&state, &signed, &facility, &person);
        async move {
            render(
                state,
                signed,
                facility,
                person,
                StatusCode::BAD_REQUEST,
                None,
                Some(&e),
            )
            .await
        }
    };
    let number = match parse_number(&f.number) {
        Ok(n) => n,
        Err(e) => return bad(e).await,
    };
    let scope = match f.list.trim() {
        "" | "person" => BlockScope::Person(person.id),
        "facility" => BlockScope::Facility(facility.id),
        _ => return bad("list must be person or facility".to_owned()).await,
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Block,
        &number.masked(),
        &format!("block ({} list)", scope.kind()),
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store
        .add_block(
            scope,
            number,
            f.label.trim().to_owned(),
            jiff::Timestamp::now(),
        )
        .await
    {
        Ok(b) => {
            tracing::info!(block_id = %b.id, list = scope.kind(), number = %b.number.masked(), "number blocked (console)");
            back(&person, "blocked")
        }
        Err(e @ (StoreError::Conflict(_) | StoreError::Refused(_))) => bad(e.to_string()).await,
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/people/{id}/blocks/remove`: `admin block remove`.
pub(crate) async fn remove_block(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RemoveForm>,
) -> Response {
    let (signed, facility, person) = match form_person(&state, &headers, &f.csrf, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Only an entry of a list of this person's facility.
    let entry = match store.list_blocks(facility.id).await {
        Ok(list) => list.into_iter().find(|b| Some(b.id.0) == id_field(&f.id)),
        Err(e) => return server_error(&e),
    };
    let Some(entry) = entry else {
        return render(
            &state,
            &signed,
            &facility,
            &person,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such block at this facility."),
        )
        .await;
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Block,
        &entry.id.to_string(),
        "remove",
        from,
    )
    .await
    {
        return r;
    }
    match store.remove_block(entry.id).await {
        Ok(()) => {
            tracing::info!(block_id = %entry.id, "block removed (console)");
            back(&person, "unblocked")
        }
        Err(e) => server_error(&e),
    }
}
