//! The family (called party) part of `/api/v1`: the one prepaid account a
//! family user is bound to, named by its number (`docs/access-control.md`,
//! "Family"). Any other number, and any other role, is refused by
//! `decide_account` (logged); every read and change appends its entry
//! first, as the family console page does.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{Access, AccessRequest, CaseStatus, Operation, decide_account};
use callward_core::ledger::{Ledger, NumberDisplay, StatementRow, statement_csv};
use callward_core::{AccountId, BlockScope, Cents, E164Number, FacilityId};
use callward_store::{FamilyAccount, Store as _, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Route, record, route, store, store_error};
use crate::session::SignedIn;
use crate::{ApiError, AppState};

/// The family routes (added to the API's route tables).
pub(crate) const ROUTES: &[Route] = &[
    route!(get "/accounts/{number}", "A family user's own prepaid account: balance",
        signed_in: true, query: &[], body: None, status: 200, account),
    route!(get "/accounts/{number}/statement", "The own account's statement with running balance (JSON, or CSV with format=csv)",
        signed_in: true, query: &[("format", "json (default) or csv")], body: None, status: 200, statement),
    route!(get "/accounts/{number}/calls", "The own account's calls and charges, newest first",
        signed_in: true, query: &[("limit", "page size, 1 to 500 (default 50)"), ("after", "cursor from the previous page's `next`")],
        body: None, status: 200, calls),
    route!(post "/accounts/{number}/deposits", "Record a deposit (integer cents, payment reference)",
        signed_in: true, query: &[], body: Some(deposit_schema), status: 201, deposit),
    route!(post "/accounts/{number}/block", "Block calls from a facility to the own number",
        signed_in: true, query: &[], body: Some(block_schema), status: 200, block),
    route!(delete "/accounts/{number}/block", "Unblock calls from a facility to the own number",
        signed_in: true, query: &[("facility", "facility id")], body: None, status: 200, unblock),
    route!(post "/accounts/{number}/close", "Close the own account, returning its whole balance (no fee)",
        signed_in: true, query: &[], body: None, status: 200, close),
];

fn deposit_schema() -> Value {
    json!({"type": "object", "required": ["amount_cents", "reference"], "additionalProperties": false,
        "properties": {"amount_cents": {"type": "integer", "minimum": 1},
                       "reference": {"type": "string", "minLength": 1, "maxLength": 64}}})
}

fn block_schema() -> Value {
    json!({"type": "object", "required": ["facility"], "additionalProperties": false,
        "properties": {"facility": {"type": "integer"}}})
}

/// The bound account when `number` is it and `op` is allowed; else 403
/// (logged, with the number masked).
async fn own(
    state: &AppState,
    who: &SignedIn,
    number: &str,
    op: Operation,
) -> Result<FamilyAccount, ApiError> {
    let number =
        E164Number::parse(number).map_err(|e| ApiError::BadRequest(format!("number: {e}")))?;
    let bound = store(state)?
        .family_account(who.identity.user.id)
        .await
        .map_err(store_error)?;
    let is_own = bound.as_ref().is_some_and(|b| b.number == number);
    let access = decide_account(
        AccessRequest {
            op,
            role: who.identity.user.role,
            actor_agency: who.identity.agency,
            object_agency: who.identity.agency,
            privileged: false,
            case: CaseStatus::None,
        },
        is_own,
    );
    match (access, bound) {
        (Access::Allow, Some(b)) => Ok(b),
        (access, _) => {
            let why = match access {
                Access::Deny(d) => d.to_string(),
                _ => "no account is bound to this user".to_owned(),
            };
            record(
                state,
                &who.identity.entry(
                    Action::Refused,
                    ObjectKind::Account,
                    &number.masked(),
                    None,
                    &format!("{}: {why}", op.as_str()),
                    who.source(),
                ),
            )
            .await?;
            Err(ApiError::forbidden(why))
        }
    }
}

async fn read_entry(
    state: &AppState,
    who: &SignedIn,
    account: &FamilyAccount,
    what: &str,
) -> Result<(), ApiError> {
    record(
        state,
        &who.identity.entry(
            Action::View,
            ObjectKind::Account,
            &account.account_id.to_string(),
            None,
            what,
            who.source(),
        ),
    )
    .await
}

async fn rows(state: &AppState, account: &FamilyAccount) -> Result<Vec<StatementRow>, ApiError> {
    let id = AccountId(account.account_id);
    let txs = store(state)?
        .ledger_transactions(Some(id))
        .await
        .map_err(store_error)?;
    let ledger = Ledger::replay(txs).map_err(ApiError::internal)?;
    Ok(ledger.statement(id, NumberDisplay::Masked))
}

async fn account(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let own = own(&state, &who, &number, Operation::ViewOwnAccount).await?;
    read_entry(&state, &who, &own, "api: balance").await?;
    let a = store(&state)?
        .account(AccountId(own.account_id))
        .await
        .map_err(store_error)?;
    let closed = is_closed(&state, &own).await?;
    Ok(Json(json!({
        "id": own.account_id,
        "number": own.number.masked(),
        "balance_cents": a.balance.0,
        "closed": closed,
    })))
}

async fn is_closed(state: &AppState, account: &FamilyAccount) -> Result<bool, ApiError> {
    let id = AccountId(account.account_id);
    let txs = store(state)?
        .ledger_transactions(Some(id))
        .await
        .map_err(store_error)?;
    Ok(Ledger::replay(txs)
        .map_err(ApiError::internal)?
        .is_closed(id))
}

/// Closes the own account; the whole balance goes back to the holder.
async fn close(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let own = own(&state, &who, &number, Operation::CloseOwnAccount).await?;
    record(
        &state,
        &who.identity.entry(
            Action::AdminChange,
            ObjectKind::Account,
            &own.account_id.to_string(),
            None,
            "family closes the account, returning the balance to the holder",
            who.source(),
        ),
    )
    .await?;
    let returned = store(&state)?
        .close_account(AccountId(own.account_id), jiff::Timestamp::now())
        .await
        .map_err(store_error)?;
    Ok(Json(
        json!({"id": own.account_id, "returned_cents": returned.0, "closed": true}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatQuery {
    #[serde(default)]
    format: Option<String>,
}

async fn statement(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::BadRequest("format: json or csv".into())),
    };
    let own = own(&state, &who, &number, Operation::ViewOwnAccount).await?;
    read_entry(&state, &who, &own, "api: statement").await?;
    let rows = rows(&state, &own).await?;
    if csv {
        // In the agency's facilities' zone, each time with its offset.
        let zone = crate::local_time::agency_zone(store(&state)?, who.identity.agency)
            .await
            .map_err(store_error)?;
        let body = statement_csv(&rows, &zone);
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response());
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at_ms": r.at.as_millisecond(),
                "transaction": r.transaction.to_string(),
                "type": r.kind,
                "reference": r.reference,
                "billed_seconds": r.billed.map(|d| d.as_secs()),
                "rate_cents_per_minute": r.rate.map(|c| c.0),
                "amount_cents": r.amount.0,
                "balance_cents": r.balance.0,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
}

async fn calls(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 500".into()));
    }
    // The cursor is the transaction id of the last call shown.
    let after: Option<String> = q.after.filter(|a| !a.is_empty());
    let own = own(&state, &who, &number, Operation::ViewOwnAccount).await?;
    read_entry(&state, &who, &own, "api: calls and charges").await?;
    let rows = rows(&state, &own).await?;
    let store = store(&state)?;
    let mut newest_first = rows.iter().filter(|r| r.kind == "call").rev();
    if let Some(after) = &after {
        if !rows.iter().any(|r| &r.transaction.to_string() == after) {
            return Err(ApiError::BadRequest(
                "after: not a cursor of this list".into(),
            ));
        }
        for r in newest_first.by_ref() {
            if &r.transaction.to_string() == after {
                break;
            }
        }
    }
    let page: Vec<&StatementRow> = newest_first.by_ref().take(limit as usize).collect();
    let more = newest_first.next().is_some();
    let mut items = Vec::with_capacity(page.len());
    for r in &page {
        let facility = match store.call(&r.reference).await {
            Ok(c) => Some(c.facility_id),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(store_error(e)),
        };
        let name = match facility {
            Some(f) => Some(
                store
                    .facility(f)
                    .await
                    .map_err(store_error)?
                    .name
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        items.push(json!({
            "call_id": r.reference,
            "at_ms": r.at.as_millisecond(),
            "facility_id": facility.map(|f| f.0),
            "facility": name,
            "billed_seconds": r.billed.map(|d| d.as_secs()),
            "rate_cents_per_minute": r.rate.map(|c| c.0),
            "charge_cents": -r.amount.0,
        }));
    }
    let next = if more {
        page.last().map(|r| r.transaction.to_string())
    } else {
        None
    };
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositBody {
    amount_cents: i64,
    reference: String,
}

async fn deposit(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Json(body): Json<DepositBody>,
) -> Result<Response, ApiError> {
    let own = own(&state, &who, &number, Operation::DepositOwnAccount).await?;
    if body.amount_cents <= 0 {
        return Err(ApiError::BadRequest("amount_cents: more than 0".into()));
    }
    let reference = body.reference.trim();
    if reference.is_empty()
        || reference.chars().count() > 64
        || reference.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(
            "reference: 1 to 64 printable characters".into(),
        ));
    }
    let amount = Cents(body.amount_cents);
    record(
        &state,
        &who.identity.entry(
            Action::AdminChange,
            ObjectKind::Account,
            &own.account_id.to_string(),
            None,
            &format!("family deposit {amount}, reference {reference}"),
            who.source(),
        ),
    )
    .await?;
    let a = store(&state)?
        .family_deposit(&own, amount, reference, jiff::Timestamp::now())
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": own.account_id, "balance_cents": a.balance.0})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockBody {
    facility: i64,
}

async fn block(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Json(body): Json<BlockBody>,
) -> Result<Json<Value>, ApiError> {
    set_block(&state, &who, &number, body.facility, true).await
}

async fn unblock(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Query(body): Query<BlockBody>,
) -> Result<Json<Value>, ApiError> {
    set_block(&state, &who, &number, body.facility, false).await
}

async fn set_block(
    state: &AppState,
    who: &SignedIn,
    number: &str,
    facility: i64,
    block: bool,
) -> Result<Json<Value>, ApiError> {
    let own = own(state, who, number, Operation::BlockOwnNumber).await?;
    let store = store(state)?;
    let facility = FacilityId(facility);
    // Only a facility of the user's agency; another is as good as absent.
    match store.facility_agency(facility).await {
        Ok(a) if a == who.identity.agency => {}
        Ok(_) | Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(store_error(e)),
    }
    let existing = store
        .list_blocks(facility)
        .await
        .map_err(store_error)?
        .into_iter()
        .find(|b| b.scope == BlockScope::CalledParty(facility) && b.number == own.number)
        .map(|b| b.id);
    record(
        state,
        &who.identity.entry(
            Action::AdminChange,
            ObjectKind::Block,
            &own.number.masked(),
            None,
            &format!(
                "family {} calls from facility {} (called_party list)",
                if block { "blocks" } else { "unblocks" },
                facility.0
            ),
            who.source(),
        ),
    )
    .await?;
    match (block, existing) {
        (true, Some(_)) | (false, None) => {}
        (true, None) => {
            store
                .add_block(
                    BlockScope::CalledParty(facility),
                    own.number.clone(),
                    "blocked by the called party through the API".into(),
                    jiff::Timestamp::now(),
                )
                .await
                .map_err(store_error)?;
        }
        (false, Some(id)) => store.remove_block(id).await.map_err(store_error)?,
    }
    Ok(Json(json!({"facility": facility.0, "blocked": block})))
}
