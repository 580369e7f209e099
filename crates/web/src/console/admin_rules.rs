//! Calling hours and limits per facility (changed as `callward admin
//! facility update --hours --max-call-minutes --max-calls-per-day`: the
//! same parsers, the same entry, first) and the tariffs in force, read
//! only: the caps are the TOML files `serve` loaded (`--tariffs-dir`), which
//! nothing edits, and a facility's own rate stays with `facility update
//! --rate` (it is checked against every later schedule on disk).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::ObjectKind;
use callward_core::facility::{parse_max_calls_per_day, validate_max_call_minutes};
use callward_core::{CallingHours, Cents, FacilityId};
use callward_store::{FacilityUpdate, Store as _};
use serde::Deserialize;

use super::admin::{
    Done, admin, admin_form, id_field, log_change, managed_facility, notice, own_facilities, store,
};
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Peer, Signed, server_error};
use crate::AppState;

const PATH: &str = "/console/admin/rules";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RulesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    max_call_minutes: String,
    #[serde(default)]
    max_calls_per_day: String,
}

/// `GET /console/admin/rules`.
pub(crate) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let text = (done.done.as_deref() == Some("saved")).then_some("Hours and limits saved.");
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
    let facilities = match own_facilities(store, signed.auth.identity.agency).await {
        Ok(f) => f,
        Err(e) => return server_error(&e),
    };
    let tariffs = state.admin_tools().and_then(|t| t.tariffs.clone());
    let now = jiff::Timestamp::now();
    let mut b = Html::new();
    notice(&mut b, notice_text);
    for f in &facilities {
        let id = f.id.0;
        b.raw("<section aria-labelledby=\"rules-")
            .num(id)
            .raw("\"><h2 id=\"rules-")
            .num(id)
            .raw("\">")
            .text(f.name.as_str())
            .raw("</h2><form class=\"stacked\" method=\"post\" action=\"/console/admin/rules\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<input type=\"hidden\" name=\"facility\" value=\"")
            .num(id)
            .raw("\"><label for=\"hours-")
            .num(id)
            .raw("\">Calling hours</label><span class=\"hint\" id=\"hours-hint-")
            .num(id)
            .raw("\">Local time (")
            .text(f.timezone.name())
            .raw("), HH:MM-HH:MM, or always.</span><input type=\"text\" id=\"hours-")
            .num(id)
            .raw("\" name=\"hours\" aria-describedby=\"hours-hint-")
            .num(id)
            .raw("\" value=\"")
            .text(&f.calling_hours.to_string())
            .raw("\"><label for=\"minutes-")
            .num(id)
            .raw("\">Longest call (minutes)</label><input type=\"text\" inputmode=\"numeric\" id=\"minutes-")
            .num(id)
            .raw("\" name=\"max_call_minutes\" value=\"")
            .num(f.max_call_minutes)
            .raw("\"><label for=\"per-day-")
            .num(id)
            .raw("\">Calls per person per day</label><span class=\"hint\" id=\"per-day-hint-")
            .num(id)
            .raw("\">A number, or none.</span><input type=\"text\" id=\"per-day-")
            .num(id)
            .raw("\" name=\"max_calls_per_day\" aria-describedby=\"per-day-hint-")
            .num(id)
            .raw("\" value=\"")
            .text(
                &f.max_calls_per_day
                    .map_or_else(|| "none".to_owned(), |n| n.to_string()),
            )
            .raw("\"><button type=\"submit\">Save hours and limits</button></form>");

        b.raw("<h3>Rate</h3><dl id=\"rate-").num(id).raw("\">");
        match &tariffs {
            Some(t) => {
                let charged = t.rate_for_facility(f, now);
                b.raw("<dt>Charged per minute today</dt><dd>")
                    .text(&format!("{}/min", Cents(i64::from(charged.rate().0))))
                    .raw("</dd>");
                match t.cap_for_facility(f, now) {
                    Ok(cap) => {
                        b.raw("<dt>Cap in force</dt><dd>")
                            .text(&format!("{}/min", cap.audio_cap))
                            .raw(" (")
                            .text(&cap.schedule)
                            .raw(", tier ")
                            .text(cap.tier.as_str())
                            .raw(")</dd><dt>Facility-cost additive allowed</dt><dd>")
                            .text(
                                &cap.facility_cost_additive
                                    .map_or_else(|| "none".to_owned(), |a| format!("{a}/min")),
                            )
                            .raw("</dd><dt>Source</dt><dd>")
                            .text(&cap.source)
                            .raw("</dd>");
                    }
                    Err(e) => {
                        b.raw("<dt>Cap in force</dt><dd>")
                            .text(&e.to_string())
                            .raw("; the compiled-in 2024 caps apply</dd>");
                    }
                }
            }
            None => {
                b.raw("<dt>Cap in force</dt><dd>not known to this page (the server loaded no tariffs for it)</dd>");
            }
        }
        b.raw("<dt>Own rate</dt><dd>");
        match f.rate {
            None => b.raw("none: the cap in force is charged"),
            Some(r) => b.text(&format!(
                "{}/min{}",
                Cents(i64::from(r.audio.0)),
                r.facility_cost_additive
                    .map(|a| format!(" + {}/min facility costs", Cents(i64::from(a.0))))
                    .unwrap_or_default()
            )),
        };
        b.raw("</dd></dl><p class=\"hint\">A facility's own rate is set with <code>callward admin facility update --rate</code>, checked against every schedule on disk.</p></section>");
    }
    if facilities.is_empty() {
        b.raw("<p>Your agency has no facilities yet.</p>");
    }
    if let Some(t) = &tariffs {
        b.raw("<h2 id=\"schedules-h\">Rate-cap schedules loaded</h2><div class=\"table-wrap\"><table id=\"schedules\" aria-labelledby=\"schedules-h\"><thead><tr><th scope=\"col\">Schedule</th><th scope=\"col\">From</th><th scope=\"col\">Until</th><th scope=\"col\">Source</th></tr></thead><tbody>");
        for s in t.schedules() {
            b.raw("<tr><td>")
                .text(&s.name)
                .raw("</td><td>")
                .text(&s.effective_from.to_string())
                .raw("</td><td>")
                .text(
                    &s.effective_until
                        .map_or_else(|| "a later schedule".to_owned(), |d| d.to_string()),
                )
                .raw("</td><td>")
                .text(&s.source)
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div><p class=\"hint\">Schedules are the files in the server's tariffs directory (<code>tariffs/README.md</code>); they are read at start and not edited here.</p>");
    }
    page(status, "Hours and tariffs", Some(&signed.viewer), error, &b)
}

/// `POST /console/admin/rules`: `admin facility update --hours
/// --max-call-minutes --max-calls-per-day`.
pub(crate) async fn save(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<RulesForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(facility) = id_field(&f.facility) else {
        return render(
            &state,
            &signed,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such facility."),
        )
        .await;
    };
    let facility = match managed_facility(&state, &signed, FacilityId(facility)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let parsed = (
        CallingHours::parse(&f.hours).map_err(|e| format!("hours: {e}")),
        f.max_call_minutes
            .trim()
            .parse::<u32>()
            .map_err(|_| callward_core::facility::FacilityError::BadMaxMinutes)
            .and_then(validate_max_call_minutes)
            .map_err(|e| format!("max call minutes: {e}")),
        parse_max_calls_per_day(&f.max_calls_per_day)
            .map_err(|e| format!("max calls per day: {e}")),
    );
    let (hours, minutes, per_day) = match parsed {
        (Ok(h), Ok(m), Ok(p)) => (h, m, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return render(&state, &signed, StatusCode::BAD_REQUEST, None, Some(&e)).await;
        }
    };
    let update = FacilityUpdate {
        name: None,
        kind: None,
        average_daily_population: None,
        timezone: None,
        gateways: None,
        calling_hours: Some(hours),
        max_call_minutes: Some(minutes),
        max_calls_per_day: Some(per_day),
        requires_approved_list: None,
        rate: None,
    };
    if let Err(r) = log_change(
        &state,
        &signed,
        ObjectKind::Facility,
        &facility.id.to_string(),
        "update: hours, max call minutes, max calls per day",
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
    match store.update_facility(facility.id, update).await {
        Ok(_) => {
            tracing::info!(facility_id = %facility.id, "facility hours and limits updated (console)");
            Redirect::to(&format!("{PATH}?done=saved")).into_response()
        }
        Err(e) => server_error(&e),
    }
}
