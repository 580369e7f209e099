//! The administrator's read views: facilities with their stations, and
//! the people in custody. Changes stay in `callward admin` for now.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide};
use callward_core::{AgencyId, Facility};
use callward_store::{SqliteStore, Store as _, StoreError};

use super::html::Html;
use super::layout::page;
use super::{Signed, server_error, sessions, signed_in};
use crate::AppState;

/// The signed-in administrator, or the page that says why not.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let signed = signed_in(state, headers).await?;
    let agency = signed.auth.identity.agency;
    let access = decide(AccessRequest {
        op: Operation::ManageFacilities,
        role: signed.auth.identity.user.role,
        actor_agency: agency,
        object_agency: agency,
        privileged: false,
        case: CaseStatus::None,
    });
    if let Access::Deny(why) = access {
        let b = Html::new();
        return Err(page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            Some(&signed.viewer),
            Some(&format!(
                "Only an administrator sees facilities and people: {why}."
            )),
            &b,
        ));
    }
    Ok(signed)
}

/// The facilities of the administrator's agency.
async fn own_facilities(
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

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `GET /console/admin/facilities`.
pub(crate) async fn facilities(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let facilities = match own_facilities(store, signed.auth.identity.agency).await {
        Ok(f) => f,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
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
            b.raw("<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Station</th><th scope=\"col\">Location</th><th scope=\"col\">Enabled</th><th scope=\"col\">Do not record</th></tr></thead><tbody>");
            for s in &stations {
                b.raw("<tr><td>")
                    .text(s.code.as_str())
                    .raw("</td><td>")
                    .text(&s.location)
                    .raw("</td><td>")
                    .raw(yes_no(s.enabled))
                    .raw("</td><td>")
                    .raw(yes_no(s.do_not_record))
                    .raw("</td></tr>");
            }
            b.raw("</tbody></table></div>");
        }
        b.raw("</section>");
    }
    page(StatusCode::OK, "Facilities", Some(&signed.viewer), None, &b)
}

/// `GET /console/admin/people`.
pub(crate) async fn people(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let facilities = match own_facilities(store, signed.auth.identity.agency).await {
        Ok(f) => f,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
    for f in &facilities {
        let people = match store.list_people(f.id).await {
            Ok(p) => p,
            Err(e) => return server_error(&e),
        };
        b.raw("<h2>").text(f.name.as_str()).raw("</h2>");
        if people.is_empty() {
            b.raw("<p>Nobody in custody.</p>");
            continue;
        }
        b.raw("<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Booking</th><th scope=\"col\">Name</th><th scope=\"col\">Language</th><th scope=\"col\">Status</th><th scope=\"col\">PIN set</th><th scope=\"col\">Do not record</th></tr></thead><tbody>");
        for p in &people {
            b.raw("<tr><td>")
                .num(p.id.0)
                .raw("</td><td>")
                .text(p.booking_id.as_str())
                .raw("</td><td>")
                .text(p.name.as_str())
                .raw("</td><td>")
                .text(&p.language.to_string())
                .raw("</td><td>")
                .text(&p.status.to_string())
                .raw("</td><td>")
                .raw(yes_no(p.has_pin))
                .raw("</td><td>")
                .raw(yes_no(p.do_not_record))
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }
    if facilities.is_empty() {
        b.raw("<p>Your agency has no facilities yet.</p>");
    }
    page(StatusCode::OK, "People", Some(&signed.viewer), None, &b)
}
