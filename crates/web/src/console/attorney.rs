//! The attorney's page (`/console/attorney`): the attorney's own number
//! registrations and where each stands (pending, verified, rejected);
//! registering a number (number, name, bar number and state); asking for a
//! privilege review of recordings of calls to one of its numbers in a date
//! range, and following the request.
//!
//! A registration is privileged from the moment it is made (pending ones
//! are never recorded: fail closed) and, as `callward admin privileged
//! register` does, earlier recordings of calls to the number are sealed for
//! privilege review at once (the binary's sealer). An attorney sees its
//! own registrations and requests only, never call records or recordings;
//! a number someone else registered is refused without saying who.
//! Every read and change is decided (`manage_own_numbers`) and appended to
//! the access log first.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::{Action, ObjectKind, Source};
use callward_core::auth::{Access, Justification, Operation};
use callward_core::{E164Number, Name, PrivilegedId, PrivilegedNumber, UsState, Verification};
use callward_store::{NewPrivileged, PrivilegeReview, StoreError};
use serde::Deserialize;

use super::approvals::utc;
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{
    Peer, Signed, access, append, not_allowed, server_error, sessions, signed_form, signed_in,
};
use crate::AppState;

/// Where the page lives.
pub(crate) const PATH: &str = "/console/attorney";

/// `?done=registered|review` after a change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    sealed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    bar_number: String,
    #[serde(default)]
    bar_state: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// The signed-in attorney, or the refusal page (logged).
async fn attorney(state: &AppState, signed: Signed, from: &Source) -> Result<Signed, Response> {
    if let Access::Deny(why) = access(
        &signed,
        Operation::ManageOwnNumbers,
        signed.auth.identity.agency,
    ) {
        let entry = signed.auth.identity.entry(
            Action::Refused,
            ObjectKind::Privileged,
            "",
            None,
            &format!("{}: {why}", Operation::ManageOwnNumbers.as_str()),
            from.clone(),
        );
        append(state, &entry).await?;
        return Err(not_allowed(
            &signed.viewer,
            &format!("Only an attorney has this page: {why}."),
        ));
    }
    Ok(signed)
}

fn state_text(r: &PrivilegedNumber) -> String {
    match (r.verification, &r.verified_by) {
        (Verification::Pending, _) => {
            "pending: awaiting the agency's check of the bar number (calls are already never recorded)".into()
        }
        (Verification::Verified, Some(by)) => format!("verified by {by}"),
        (Verification::Verified, None) => "verified".into(),
        (Verification::Rejected, Some(by)) => {
            format!("rejected by {by}: calls to this number are recorded")
        }
        (Verification::Rejected, None) => "rejected: calls to this number are recorded".into(),
    }
}

/// `GET /console/attorney`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let signed = match attorney(&state, signed, &from).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let entry = signed.auth.identity.entry(
        Action::View,
        ObjectKind::Privileged,
        signed.auth.identity.user.username.as_str(),
        None,
        "attorney page: own registrations and review requests",
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let notice = match (done.done.as_deref(), done.sealed.as_deref()) {
        (Some("registered"), Some("no")) => Some(
            "Registered, pending verification: calls to the number are no longer recorded. Earlier recordings could not be sealed yet; the agency has been told in its log.".to_owned(),
        ),
        (Some("registered"), _) => Some(
            "Registered, pending verification: calls to the number are no longer recorded, and earlier recordings are sealed for privilege review.".to_owned(),
        ),
        (Some("review"), _) => Some("Review requested: the agency sees it on its attorney numbers page.".to_owned()),
        _ => None,
    };
    render(
        &state,
        &signed,
        StatusCode::OK,
        notice.as_deref(),
        None,
        &RegisterForm::default(),
        &ReviewForm::default(),
    )
    .await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    register: &RegisterForm,
    review: &ReviewForm,
) -> Response {
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let user = signed.auth.identity.user.id;
    let (own, reviews) = match (
        store.privileged_of(user).await,
        store.privilege_reviews(Some(user)).await,
    ) {
        (Ok(o), Ok(r)) => (o, r),
        (Err(e), _) | (_, Err(e)) => return server_error(&e),
    };
    let mut b = Html::new();
    if let Some(n) = notice {
        b.raw("<p class=\"ok\" role=\"status\" id=\"result\">")
            .text(n)
            .raw("</p>");
    }
    b.raw("<p>Calls from the facilities to a number registered here are privileged: they are never recorded, and the number is withheld from investigators. The agency verifies the bar number.</p>");
    b.raw("<h2 id=\"numbers-h\">Registered numbers</h2>");
    if own.is_empty() {
        b.raw("<p id=\"no-numbers\">You have registered no number yet.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"numbers\" aria-labelledby=\"numbers-h\"><thead><tr><th scope=\"col\">Number</th><th scope=\"col\">Attorney</th><th scope=\"col\">Bar</th><th scope=\"col\">State</th></tr></thead><tbody>");
        for r in &own {
            b.raw("<tr><td>")
                .text(r.number.as_str())
                .raw("</td><td>")
                .text(r.attorney_name.as_str())
                .raw("</td><td>")
                .text(&format!("{} {}", r.bar_state.as_str(), r.bar_number))
                .raw("</td><td class=\"verification\">")
                .text(&state_text(r))
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }

    b.raw("<h2 id=\"register-h\">Register a number</h2><form class=\"stacked\" method=\"post\" action=\"/console/attorney/numbers\" aria-labelledby=\"register-h\">");
    csrf_field(&mut b, &signed.viewer);
    b.raw("<label for=\"number\">Phone number</label><span class=\"hint\" id=\"number-hint\">The number the facilities dial, e.g. +15551234567.</span><input id=\"number\" name=\"number\" type=\"tel\" required autocomplete=\"off\" aria-describedby=\"number-hint\" value=\"")
        .text(&register.number)
        .raw("\"><label for=\"name\">Attorney's name</label><input id=\"name\" name=\"name\" required maxlength=\"200\" value=\"")
        .text(&register.name)
        .raw("\"><label for=\"bar-number\">Bar number</label><input id=\"bar-number\" name=\"bar_number\" required maxlength=\"32\" autocomplete=\"off\" value=\"")
        .text(&register.bar_number)
        .raw("\"><label for=\"bar-state\">Bar state</label><span class=\"hint\" id=\"bar-state-hint\">Two letters, e.g. TX.</span><input id=\"bar-state\" name=\"bar_state\" required maxlength=\"2\" autocomplete=\"off\" aria-describedby=\"bar-state-hint\" value=\"")
        .text(&register.bar_state)
        .raw("\"><button type=\"submit\">Register number</button></form>");

    b.raw("<h2 id=\"reviews-h\">Privilege reviews</h2>")
        .raw("<p>Ask the agency to review recordings of calls to one of your numbers between two dates (for calls recorded before it was registered). Recordings already found are sealed when a number is registered and again when it is verified.</p>");
    let reviewable: Vec<&PrivilegedNumber> = own
        .iter()
        .filter(|r| r.verification != Verification::Rejected)
        .collect();
    if reviewable.is_empty() {
        b.raw("<p>Register a number first.</p>");
    } else {
        b.raw("<form class=\"stacked\" method=\"post\" action=\"/console/attorney/reviews\" aria-label=\"Ask for a privilege review\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<label for=\"registration\">Number</label><select id=\"registration\" name=\"registration\" required>");
        for r in &reviewable {
            b.raw("<option value=\"")
                .num(r.id.0)
                .raw("\">")
                .text(r.number.as_str())
                .raw("</option>");
        }
        b.raw("</select><label for=\"since\">Calls from (date, UTC)</label><input id=\"since\" name=\"since\" type=\"date\" required value=\"")
            .text(&review.since)
            .raw("\"><label for=\"until\">Calls until (date, UTC)</label><input id=\"until\" name=\"until\" type=\"date\" required value=\"")
            .text(&review.until)
            .raw("\"><label for=\"reason\">Reason</label><span class=\"hint\" id=\"reason-hint\">At least 10 characters, e.g. which client and why.</span><textarea id=\"reason\" name=\"reason\" rows=\"3\" required minlength=\"10\" aria-describedby=\"reason-hint\">")
            .text(&review.reason)
            .raw("</textarea><button type=\"submit\">Ask for a review</button></form>");
    }
    if reviews.is_empty() {
        b.raw("<p id=\"no-reviews\">No review requested yet.</p>");
    } else {
        review_table(&mut b, &reviews, &own, "reviews");
    }
    page(status, "Your numbers", Some(&signed.viewer), error, &b)
}

/// A table of review requests (`registrations` names their numbers).
pub(crate) fn review_table(
    b: &mut Html,
    reviews: &[PrivilegeReview],
    registrations: &[PrivilegedNumber],
    id: &'static str,
) {
    b.raw("<div class=\"table-wrap\"><table id=\"")
        .raw(id)
        .raw("\"><thead><tr><th scope=\"col\">Request</th><th scope=\"col\">Number</th><th scope=\"col\">Calls</th><th scope=\"col\">Reason</th><th scope=\"col\">Asked</th><th scope=\"col\">State</th></tr></thead><tbody>");
    for r in reviews {
        let number = registrations
            .iter()
            .find(|p| p.id == r.privileged)
            .map_or_else(
                || format!("registration {}", r.privileged),
                |p| p.number.to_string(),
            );
        b.raw("<tr><td>")
            .num(r.id)
            .raw("</td><td>")
            .text(&number)
            .raw("</td><td>")
            .text(&format!("{} to {}", day(r.since_ms), day(r.until_ms)))
            .raw("</td><td>")
            .text(&r.reason)
            .raw("</td><td>")
            .text(&utc(r.created_ms))
            .raw("</td><td class=\"review-state\">");
        match &r.reviewed {
            Some((by, at)) => {
                b.text(&format!("reviewed by {by}, {}", utc(*at)));
            }
            None => {
                b.raw("requested");
            }
        }
        b.raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
}

pub(crate) fn day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| "-".to_owned(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// `POST /console/attorney/numbers`: registers a number.
pub(crate) async fn register(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let signed = match attorney(&state, signed, &from).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bad = |e: String| {
        let (state, signed, f) = (&state, &signed, &f);
        async move {
            render(
                state,
                signed,
                StatusCode::BAD_REQUEST,
                None,
                Some(&format!("{e} Nothing was registered.")),
                f,
                &ReviewForm::default(),
            )
            .await
        }
    };
    let new = match parse_registration(&f) {
        Ok(n) => n,
        Err(e) => return bad(e).await,
    };
    let sealed = match register_number(&state, &signed.auth.identity, from, new).await {
        Ok((_, sealed)) => sealed,
        Err(Refusal::Taken) => {
            return render(
                &state,
                &signed,
                StatusCode::CONFLICT,
                None,
                Some("That number is already registered. If it is yours, ask the agency."),
                &f,
                &ReviewForm::default(),
            )
            .await;
        }
        Err(e) => return server_error(&e),
    };
    Redirect::to(&format!(
        "{PATH}?done=registered&sealed={}",
        if sealed { "yes" } else { "no" }
    ))
    .into_response()
}

/// Why an attorney's registration or review request was not made.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The number is registered already (by whom is not said).
    Taken,
    /// Not a registration of this attorney.
    NotYours,
    /// The server failed; nothing was changed.
    Failed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Taken => f.write_str("that number is already registered"),
            Self::NotYours => f.write_str("not one of your registrations"),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

async fn log(state: &AppState, entry: &callward_audit::Entry) -> Result<(), Refusal> {
    let sessions = state
        .sessions()
        .ok_or_else(|| Refusal::Failed("no sign-in service".into()))?;
    let mut log = sessions.log().lock().await;
    log.record(entry)
        .await
        .map(|_| ())
        .map_err(|e| Refusal::Failed(e.to_string()))
}

/// Registers `new` for attorney `who` (logged first, the number masked),
/// then seals earlier recordings of calls to it as the CLI's register
/// does; `true` when they were sealed. The console and the API share it.
pub(crate) async fn register_number(
    state: &AppState,
    who: &crate::auth::Identity,
    from: Source,
    new: NewPrivileged,
) -> Result<(PrivilegedNumber, bool), Refusal> {
    let store = state
        .store()
        .ok_or_else(|| Refusal::Failed("no store".into()))?;
    let masked = new.number.masked();
    // Logged first (the registration has no id yet: the masked number).
    let entry = who.entry(
        Action::AdminChange,
        ObjectKind::Privileged,
        &masked,
        None,
        &format!(
            "attorney registers {masked} (bar {} {})",
            new.bar_state.as_str(),
            new.bar_number
        ),
        from,
    );
    log(state, &entry).await?;
    let registration = match store
        .register_privileged_by(new, who.user.id, jiff::Timestamp::now())
        .await
    {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => return Err(Refusal::Taken),
        Err(e) => return Err(Refusal::Failed(e.to_string())),
    };
    tracing::info!(privileged_id = %registration.id, "attorney registered a number");
    // Retroactive privilege, as the CLI's register: earlier recordings of
    // calls to the number are sealed for privilege review.
    let by = who.user.username.as_str();
    let sealed = match state.admin_tools().and_then(|t| t.sealer.clone()) {
        Some(sealer) => match sealer.seal(&registration, by).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(privileged_id = %registration.id, error = %e, "sealing after an attorney's registration failed");
                false
            }
        },
        None => false,
    };
    Ok((registration, sealed))
}

/// Records attorney `who`'s review request (logged first); only of its
/// own registration.
pub(crate) async fn request_review(
    state: &AppState,
    who: &crate::auth::Identity,
    from: Source,
    registration: PrivilegedId,
    (since, until): (i64, i64),
    reason: &Justification,
) -> Result<PrivilegeReview, Refusal> {
    let store = state
        .store()
        .ok_or_else(|| Refusal::Failed("no store".into()))?;
    let entry = who.entry(
        Action::AdminChange,
        ObjectKind::Privileged,
        &registration.to_string(),
        None,
        &format!(
            "attorney asks for a privilege review of calls {} to {}: {}",
            day(since),
            day(until),
            reason.as_str()
        ),
        from,
    );
    log(state, &entry).await?;
    match store
        .request_privilege_review(
            registration,
            who.user.id,
            since,
            until,
            reason.as_str(),
            jiff::Timestamp::now(),
        )
        .await
    {
        Ok(r) => Ok(r),
        // Another attorney's registration is as good as absent.
        Err(StoreError::NotFound(_) | StoreError::Refused(_)) => Err(Refusal::NotYours),
        Err(e) => Err(Refusal::Failed(e.to_string())),
    }
}

/// The registration form, checked as `admin privileged register` checks it.
fn parse_registration(f: &RegisterForm) -> Result<NewPrivileged, String> {
    registration(&f.number, &f.name, &f.bar_number, &f.bar_state)
}

/// A registration's fields, checked (console and API).
pub(crate) fn registration(
    number: &str,
    name: &str,
    bar_number: &str,
    bar_state: &str,
) -> Result<NewPrivileged, String> {
    let number = E164Number::parse(number.trim()).map_err(|e| format!("Phone number: {e}."))?;
    let attorney_name = Name::parse_field("attorney's name", name).map_err(|e| format!("{e}."))?;
    let bar_number = bar_number.trim();
    if bar_number.is_empty()
        || bar_number.len() > 32
        || !bar_number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ')
    {
        return Err("Bar number: 1 to 32 letters, digits, spaces or dashes.".into());
    }
    let bar_state = UsState::parse(bar_state.trim())
        .map_err(|_| "Bar state: the two-letter code of a US state, e.g. TX.".to_owned())?;
    Ok(NewPrivileged {
        number,
        attorney_name,
        bar_number: bar_number.to_owned(),
        bar_state,
    })
}

/// `POST /console/attorney/reviews`: asks for a privilege review.
pub(crate) async fn review(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<ReviewForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let signed = match attorney(&state, signed, &from).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bad = |status: StatusCode, e: String| {
        let (state, signed, f) = (&state, &signed, &f);
        async move {
            render(
                state,
                signed,
                status,
                None,
                Some(&format!("{e} No review was requested.")),
                &RegisterForm::default(),
                f,
            )
            .await
        }
    };
    let day_ms = |text: &str, end: bool| -> Option<i64> {
        let date: jiff::civil::Date = text.trim().parse().ok()?;
        let start = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
        Some(start.as_millisecond() + if end { 86_400_000 - 1 } else { 0 })
    };
    let (Some(since), Some(until)) = (day_ms(&f.since, false), day_ms(&f.until, true)) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "Dates: give both, as YYYY-MM-DD.".into(),
        )
        .await;
    };
    if since > until {
        return bad(
            StatusCode::BAD_REQUEST,
            "Dates: the first is after the last.".into(),
        )
        .await;
    }
    let reason = match Justification::parse(&f.reason) {
        Ok(j) => j,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("Reason: {e}.")).await,
    };
    let Some(registration) = f.registration.trim().parse::<i64>().ok().map(PrivilegedId) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "Number: choose one of yours.".into(),
        )
        .await;
    };
    match request_review(
        &state,
        &signed.auth.identity,
        from,
        registration,
        (since, until),
        &reason,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("{PATH}?done=review")).into_response(),
        Err(Refusal::NotYours | Refusal::Taken) => {
            bad(
                StatusCode::BAD_REQUEST,
                "Number: choose one of yours.".into(),
            )
            .await
        }
        Err(e) => server_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(number: &str, bar: &str, state: &str) -> RegisterForm {
        RegisterForm {
            csrf: String::new(),
            number: number.into(),
            name: "Ann Counsel".into(),
            bar_number: bar.into(),
            bar_state: state.into(),
        }
    }

    #[test]
    fn a_registration_is_checked_like_the_cli_checks_it() {
        let ok = parse_registration(&form("+15559870123", "TX-24000", "tx")).unwrap();
        assert_eq!(ok.number.as_str(), "+15559870123");
        assert_eq!(ok.bar_state.as_str(), "TX");
        for (f, field) in [
            (form("555", "1", "TX"), "Phone number"),
            (form("+15559870123", "", "TX"), "Bar number"),
            (form("+15559870123", "<b>", "TX"), "Bar number"),
            (form("+15559870123", &"9".repeat(33), "TX"), "Bar number"),
            (form("+15559870123", "1", "XX"), "Bar state"),
        ] {
            let e = parse_registration(&f).unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }
}
