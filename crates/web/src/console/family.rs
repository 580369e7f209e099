//! The family (called party) page: the one prepaid account the family user
//! is bound to (`docs/access-control.md`, "Family"). Balance, a deposit
//! with the payment processor's reference, the statement with its running
//! balance, the calls and their charges (date, facility, minutes, rate,
//! charge: metadata only, never content), and blocking calls from a
//! facility to this number (what pressing 9 on the notice does), undoable,
//! and closing the account with its whole balance returned. Times are in
//! the agency's facilities' zone (`local_time`).
//!
//! Every read and every change is decided by `decide_account` and appended
//! to the access log before anything is shown or changed. One column of
//! plain HTML, so it works at phone width; wide tables scroll inside
//! themselves, never the page.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::{Action, ObjectKind, Source};
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide_account};
use callward_core::ledger::{Ledger, NumberDisplay};
use callward_core::{AccountId, BlockScope, Cents, FacilityId, Role};
use callward_store::{FamilyAccount, SqliteStore, Store as _, StoreError};
use serde::Deserialize;

use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Peer, Signed, append, not_allowed, server_error, sessions, signed_form, signed_in};
use crate::AppState;
use crate::local_time::{agency_zone, minute};

/// Where the page lives.
pub(crate) const PATH: &str = "/console/family";

/// `?done=deposit|blocked|unblocked` after a change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DepositForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    facility: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    csrf: String,
    /// The confirmation box: `yes` when ticked.
    #[serde(default)]
    confirm: String,
}

/// The account of a signed-in family user, after `decide_account` allowed
/// `op` on it; refusals are pages (and a refused family user's attempt on
/// the account is logged).
async fn own_account(
    state: &AppState,
    signed: &Signed,
    op: Operation,
    from: &Source,
) -> Result<FamilyAccount, Response> {
    let identity = &signed.auth.identity;
    if identity.user.role != Role::Family {
        return Err(not_allowed(
            &signed.viewer,
            "Only a family account holder sees this page.",
        ));
    }
    let store = sessions(state)?.store();
    let account = match store.family_account(identity.user.id).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err(not_allowed(
                &signed.viewer,
                "Your sign-in is not linked to an account yet; ask the facility to link it.",
            ));
        }
        Err(e) => return Err(server_error(&e)),
    };
    // The account is the one this user is bound to, in the user's agency.
    let access = decide_account(
        AccessRequest {
            op,
            role: identity.user.role,
            actor_agency: identity.agency,
            object_agency: identity.agency,
            privileged: false,
            case: CaseStatus::None,
        },
        true,
    );
    if let Access::Deny(why) = access {
        let entry = identity.entry(
            Action::Refused,
            ObjectKind::Account,
            &object(&account),
            None,
            &format!("{}: {why}", op.as_str()),
            from.clone(),
        );
        append(state, &entry).await?;
        return Err(not_allowed(&signed.viewer, &format!("Not allowed: {why}.")));
    }
    Ok(account)
}

/// The access log's object for an account: its id (never the number).
fn object(account: &FamilyAccount) -> String {
    account.account_id.to_string()
}

/// Facilities of the user's agency, with whether this number has blocked each.
async fn facilities(
    store: &SqliteStore,
    signed: &Signed,
    account: &FamilyAccount,
) -> Result<Vec<(FacilityId, String, Option<callward_core::BlockId>)>, StoreError> {
    let mut out = Vec::new();
    for f in store.list_facilities().await? {
        if store.facility_agency(f.id).await? != signed.auth.identity.agency {
            continue;
        }
        let block = store
            .list_blocks(f.id)
            .await?
            .into_iter()
            .find(|b| b.scope == BlockScope::CalledParty(f.id) && b.number == account.number)
            .map(|b| b.id);
        out.push((f.id, f.name.as_str().to_owned(), block));
    }
    Ok(out)
}

/// The deposit form, refilled with `form` after an error.
fn deposit_form(b: &mut Html, signed: &Signed, form: &DepositForm) {
    b.raw("<h2 id=\"deposit-h\">Add money</h2>")
        .raw("<p>Pay with the payment service first, then record the payment here with its receipt number. There are no fees.</p>")
        .raw("<form class=\"stacked\" method=\"post\" action=\"/console/family/deposit\" aria-labelledby=\"deposit-h\">");
    csrf_field(b, &signed.viewer);
    b.raw("<label for=\"amount\">Amount in dollars</label><input id=\"amount\" name=\"amount\" inputmode=\"decimal\" autocomplete=\"off\" required placeholder=\"25.00\" value=\"")
        .text(&form.amount)
        .raw("\"><label for=\"reference\">Payment reference</label><span class=\"hint\" id=\"reference-hint\">The receipt number, 1 to 64 characters.</span><input id=\"reference\" name=\"reference\" maxlength=\"64\" required aria-describedby=\"reference-hint\" value=\"")
        .text(&form.reference)
        .raw("\"><button type=\"submit\">Record deposit</button></form>");
}

fn minutes(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The page (read and logged by the caller).
async fn render(
    state: &AppState,
    signed: &Signed,
    account: &FamilyAccount,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
    form: &DepositForm,
) -> Response {
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let id = AccountId(account.account_id);
    let (balance, transactions, facilities, zone) = match (
        store.account(id).await,
        store.ledger_transactions(Some(id)).await,
        facilities(store, signed, account).await,
        agency_zone(store, signed.auth.identity.agency).await,
    ) {
        (Ok(a), Ok(t), Ok(f), Ok(z)) => (a.balance, t, f, z),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return server_error(&e);
        }
    };
    let ledger = match Ledger::replay(transactions) {
        Ok(l) => l,
        Err(e) => return server_error(&e),
    };
    let rows = ledger.statement(id, NumberDisplay::Masked);
    let closed = ledger.is_closed(id);
    let mut b = Html::new();
    if let Some(n) = notice {
        b.raw("<p class=\"ok\" role=\"status\" id=\"result\">")
            .text(n)
            .raw("</p>");
    }
    b.raw("<p>Calls to <strong>")
        .text(&account.number.masked())
        .raw("</strong> are paid from this account.</p>")
        .raw("<h2 id=\"balance-h\">Balance</h2><p class=\"balance\" id=\"balance\" aria-labelledby=\"balance-h\">")
        .text(&balance.to_string())
        .raw("</p>");

    if closed {
        let when = rows
            .iter()
            .rfind(|r| r.kind == "closure")
            .map(|r| (minute(r.at, &zone), Cents(-r.amount.0)));
        b.raw("<p class=\"notice\" id=\"closed\">This account is closed");
        if let Some((at, returned)) = when {
            b.raw(": ")
                .text(&returned.to_string())
                .raw(" was returned to you on ")
                .text(&at);
        }
        b.raw(". Calls can no longer be paid from it; ask the facility to open a new one.</p>");
    } else {
        deposit_form(&mut b, signed, form);
    }

    b.raw("<h2 id=\"calls-h\">Calls and charges</h2>");
    let calls: Vec<_> = rows.iter().filter(|r| r.kind == "call").collect();
    if calls.is_empty() {
        b.raw("<p>No calls charged yet.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"calls\" aria-labelledby=\"calls-h\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Facility</th><th scope=\"col\">Minutes</th><th scope=\"col\">Rate</th><th scope=\"col\">Charge</th></tr></thead><tbody>");
        for r in calls.iter().rev() {
            let facility = match store.call(&r.reference).await {
                Ok(c) => facilities
                    .iter()
                    .find(|(f, _, _)| *f == c.facility_id)
                    .map_or_else(|| "another facility".to_owned(), |(_, n, _)| n.clone()),
                Err(_) => "-".to_owned(),
            };
            b.raw("<tr><td>")
                .text(&minute(r.at, &zone))
                .raw("</td><td>")
                .text(&facility)
                .raw("</td><td>")
                .text(&r.billed.map(|d| minutes(d.as_secs())).unwrap_or_default())
                .raw("</td><td>")
                .text(
                    &r.rate
                        .map(|c| format!("{}/min", Cents(i64::from(c.0))))
                        .unwrap_or_default(),
                )
                .raw("</td><td>")
                .text(&Cents(-r.amount.0).to_string())
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }

    b.raw("<h2 id=\"statement-h\">Statement</h2>");
    if rows.is_empty() {
        b.raw("<p>Nothing yet.</p>");
    } else {
        b.raw("<div class=\"table-wrap\"><table id=\"statement\" aria-labelledby=\"statement-h\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">What</th><th scope=\"col\">Amount</th><th scope=\"col\">Balance</th></tr></thead><tbody>");
        for r in rows.iter().rev() {
            let what = match r.kind {
                "deposit" => format!("Deposit, reference {}", r.reference),
                "call" => format!(
                    "Call, {}",
                    r.billed.map(|d| minutes(d.as_secs())).unwrap_or_default()
                ),
                "closure" => "Account closed, balance returned to you".to_owned(),
                other => format!("{other}: {}", r.reference),
            };
            b.raw("<tr><td>")
                .text(&minute(r.at, &zone))
                .raw("</td><td>")
                .text(&what)
                .raw("</td><td>")
                .text(&r.amount.to_string())
                .raw("</td><td>")
                .text(&r.balance.to_string())
                .raw("</td></tr>");
        }
        b.raw("</tbody></table></div>");
    }

    b.raw("<h2 id=\"block-h\">Calls from facilities</h2>")
        .raw("<p>Blocking stops all calls from a facility to your number, as pressing 9 during a call does. You can undo it here.</p>");
    for (fid, name, block) in &facilities {
        b.raw("<section class=\"card\"><h3>")
            .text(name)
            .raw("</h3><p class=\"block-state\">")
            .raw(if block.is_some() {
                "Blocked: calls from here to your number are refused."
            } else {
                "Allowed."
            })
            .raw("</p><form method=\"post\" action=\"/console/family/")
            .raw(if block.is_some() { "unblock" } else { "block" })
            .raw("\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<input type=\"hidden\" name=\"facility\" value=\"")
            .num(fid.0)
            .raw("\"><button type=\"submit\"")
            .raw(if block.is_some() {
                ">Unblock calls from "
            } else {
                " class=\"secondary\">Block calls from "
            })
            .text(name)
            .raw("</button></form></section>");
    }

    if !closed {
        b.raw("<h2 id=\"close-h\">Close this account</h2>")
            .raw("<p>Closing returns the whole balance, ")
            .text(&balance.to_string())
            .raw(", to you, with no fee. Calls to your number can then no longer be paid from this account.</p>")
            .raw("<form class=\"stacked\" method=\"post\" action=\"/console/family/close\" aria-labelledby=\"close-h\">");
        csrf_field(&mut b, &signed.viewer);
        b.raw("<label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> Yes, close this account and return the balance</label>")
            .raw("<button type=\"submit\" class=\"secondary\">Close account</button></form>");
    }
    page(status, "Your account", Some(&signed.viewer), error, &b)
}

/// `GET /console/family`.
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
    let account = match own_account(&state, &signed, Operation::ViewOwnAccount, &from).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let entry = signed.auth.identity.entry(
        Action::View,
        ObjectKind::Account,
        &object(&account),
        None,
        "family page: balance, statement, calls and charges, blocks",
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let notice = match done.done.as_deref() {
        Some("deposit") => Some("Deposit recorded."),
        Some("blocked") => Some("Blocked. Calls from that facility to your number are refused."),
        Some("unblocked") => Some("Unblocked. Calls from that facility can reach you again."),
        Some("closed") => Some("Account closed. The balance is being returned to you."),
        _ => None,
    };
    render(
        &state,
        &signed,
        &account,
        StatusCode::OK,
        notice,
        None,
        &DepositForm::default(),
    )
    .await
}

/// `POST /console/family/deposit`.
pub(crate) async fn deposit(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<DepositForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let account = match own_account(&state, &signed, Operation::DepositOwnAccount, &from).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    // Zero stands for anything that is not a positive amount.
    let amount = Cents::parse_dollars(&f.amount).unwrap_or(Cents::ZERO);
    let reference = f.reference.trim();
    let invalid = if amount <= Cents::ZERO {
        Some("Amount: give dollars and cents, like 25.00, more than $0.00.")
    } else if reference.is_empty()
        || reference.chars().count() > 64
        || reference.chars().any(char::is_control)
    {
        Some("Payment reference: 1 to 64 printable characters.")
    } else {
        None
    };
    if let Some(e) = invalid {
        return render(
            &state,
            &signed,
            &account,
            StatusCode::BAD_REQUEST,
            None,
            Some(e),
            &f,
        )
        .await;
    }
    let entry = signed.auth.identity.entry(
        Action::AdminChange,
        ObjectKind::Account,
        &object(&account),
        None,
        &format!("family deposit {amount}, reference {reference}"),
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    match store
        .family_deposit(&account, amount, reference, jiff::Timestamp::now())
        .await
    {
        Ok(_) => Redirect::to(&format!("{PATH}?done=deposit")).into_response(),
        Err(StoreError::Refused(why)) => {
            render(
                &state,
                &signed,
                &account,
                StatusCode::BAD_REQUEST,
                None,
                Some(&format!("The deposit was not recorded: {why}.")),
                &f,
            )
            .await
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /console/family/close`: closes the account, returning the whole
/// balance; only with the confirmation box ticked.
pub(crate) async fn close(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<CloseForm>,
) -> Response {
    let signed = match signed_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let account = match own_account(&state, &signed, Operation::CloseOwnAccount, &from).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let refuse = |why: String| {
        let (state, signed, account) = (&state, &signed, &account);
        async move {
            render(
                state,
                signed,
                account,
                StatusCode::BAD_REQUEST,
                None,
                Some(&why),
                &DepositForm::default(),
            )
            .await
        }
    };
    if f.confirm != "yes" {
        return refuse("Tick the box to confirm you want to close the account.".into()).await;
    }
    let entry = signed.auth.identity.entry(
        Action::AdminChange,
        ObjectKind::Account,
        &object(&account),
        None,
        "family closes the account, returning the balance to the holder",
        from,
    );
    if let Err(r) = append(&state, &entry).await {
        return r;
    }
    let store = match sessions(&state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    match store
        .close_account(AccountId(account.account_id), jiff::Timestamp::now())
        .await
    {
        Ok(_) => Redirect::to(&format!("{PATH}?done=closed")).into_response(),
        Err(StoreError::Refused(why)) => {
            refuse(format!("The account was not closed: {why}.")).await
        }
        Err(e) => server_error(&e),
    }
}

/// `POST /console/family/block`.
pub(crate) async fn block(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<BlockForm>,
) -> Response {
    set_block(&state, from, &headers, &f, true).await
}

/// `POST /console/family/unblock`.
pub(crate) async fn unblock(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<BlockForm>,
) -> Response {
    set_block(&state, from, &headers, &f, false).await
}

async fn set_block(
    state: &AppState,
    from: Source,
    headers: &HeaderMap,
    f: &BlockForm,
    block: bool,
) -> Response {
    let signed = match signed_form(state, headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let account = match own_account(state, &signed, Operation::BlockOwnNumber, &from).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = match sessions(state) {
        Ok(s) => s.store(),
        Err(r) => return r,
    };
    let list = match facilities(store, &signed, &account).await {
        Ok(l) => l,
        Err(e) => return server_error(&e),
    };
    // Only a facility of the user's own agency, named by its id.
    let Some((facility, name, existing)) = f
        .facility
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| list.into_iter().find(|(fid, _, _)| fid.0 == id))
    else {
        return render(
            state,
            &signed,
            &account,
            StatusCode::BAD_REQUEST,
            None,
            Some("No such facility."),
            &DepositForm::default(),
        )
        .await;
    };
    let entry = signed.auth.identity.entry(
        Action::AdminChange,
        ObjectKind::Block,
        &account.number.masked(),
        None,
        &format!(
            "family {} calls from facility {} ({name}) (called_party list)",
            if block { "blocks" } else { "unblocks" },
            facility.0
        ),
        from,
    );
    if let Err(r) = append(state, &entry).await {
        return r;
    }
    let result = match (block, existing) {
        // Already as asked: nothing to change.
        (true, Some(_)) | (false, None) => Ok(()),
        (true, None) => store
            .add_block(
                BlockScope::CalledParty(facility),
                account.number.clone(),
                "blocked by the called party on the family page".into(),
                jiff::Timestamp::now(),
            )
            .await
            .map(|_| ()),
        (false, Some(id)) => store.remove_block(id).await,
    };
    match result {
        Ok(()) => Redirect::to(&format!(
            "{PATH}?done={}",
            if block { "blocked" } else { "unblocked" }
        ))
        .into_response(),
        Err(e) => server_error(&e),
    }
}
