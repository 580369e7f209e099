//! The ledger in SQLite (migration 5, `docs/billing.md`): deposits, the
//! charge of each stored call, and reading transactions back as
//! `callward_core::ledger` values.
//!
//! Exactly once: [`record_call`] rates a call and writes its record and its
//! charge in one `BEGIN IMMEDIATE` transaction, so a record is never stored
//! without its charge, and the record's primary key and the unique call id of
//! charge transactions refuse a second one. The balance read for rating and
//! the previous call read for the continuation rule are read inside that
//! transaction, so two calls ending at once cannot both spend one balance.

use std::collections::BTreeMap;

use callward_core::cdr::CallDetailRecord;
use callward_core::ledger::{
    Book, CallLine, DepositChannel, Kind, Ledger, LedgerError, Posting, Reference, Transaction,
    TransactionId,
};
use callward_core::rating::{PreviousCall, Rating, rate_cdr};
use callward_core::tariff::CappedRate;
use callward_core::{Account, AccountId, CallLimit, Cents, CentsPerMinute, E164Number};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::sqlite::{ms, on_conflict, opt_ms};
use crate::{ChargedCall, LedgerCheck, Result, SqliteStore, StoreError};

/// No account holds more than this ($1,000,000.00): a typing mistake, not a
/// deposit.
const MAX_BALANCE: Cents = Cents(100_000_000);

/// Who records deposits made with `callward admin account deposit`.
pub(crate) const CLI_USER: &str = "cli";

/// A database error from a ledger write, as a store error: the schema's
/// triggers and checks (a closed account, a balance below zero, postings
/// that do not balance) are refusals, not backend failures.
fn refusal(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    let Some(d) = e.as_database_error() else {
        return StoreError::Backend(e);
    };
    if d.is_unique_violation() {
        return on_conflict(e, what);
    }
    if d.is_check_violation() {
        return StoreError::Refused(format!("{}: the account cannot go below $0.00", what()));
    }
    let message = d.message().to_owned();
    if message.contains("ledger") || message.contains("account") {
        return StoreError::Refused(format!("{}: {message}", what()));
    }
    StoreError::Backend(e)
}

fn book_columns(book: Book) -> (&'static str, Option<i64>) {
    match book {
        Book::Account(a) => ("account", Some(a.0)),
        Book::Funding => ("funding", None),
        Book::CallRevenue => ("call_revenue", None),
        Book::PaidOut => ("paid_out", None),
    }
}

/// Appends one transaction: its postings, then the header that seals them
/// (the schema refuses a header whose postings do not sum to zero). Runs in
/// the caller's database transaction.
async fn post(
    conn: &mut SqliteConnection,
    at: Timestamp,
    kind: Kind,
    postings: Vec<Posting>,
) -> Result<TransactionId> {
    let next: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM ledger_transactions")
        .fetch_one(&mut *conn)
        .await?;
    let id = TransactionId(
        u64::try_from(next).map_err(|_| StoreError::Corrupt("ledger: bad next id".into()))?,
    );
    // The core refuses a transaction that does not balance before SQL does.
    let tx = Transaction::new(id, at, kind, postings)
        .map_err(|e| StoreError::Refused(format!("ledger: {e}")))?;
    for (seq, p) in tx.postings().iter().enumerate() {
        let (book, account) = book_columns(p.book);
        sqlx::query(
            "INSERT INTO ledger_postings (transaction_id, seq, book, account_id, amount_cents)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(next)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(book)
        .bind(account)
        .bind(p.amount.0)
        .execute(&mut *conn)
        .await
        .map_err(|e| refusal(e, || format!("transaction {id}")))?;
    }
    let mut reference = None;
    let mut channel = None;
    let mut recorded_by = None;
    let mut call_id = None;
    let mut number = None;
    let mut billed = None;
    let mut rate = None;
    let mut reason = None;
    let mut reverses = None;
    match tx.kind() {
        Kind::Deposit {
            reference: r,
            channel: c,
        } => {
            reference = Some(r.as_str().to_owned());
            match c {
                DepositChannel::Admin(user) => {
                    channel = Some("admin");
                    recorded_by = Some(user.clone());
                }
                DepositChannel::FamilyPage => channel = Some("family_page"),
            }
        }
        Kind::CallCharge(line) => {
            call_id = Some(line.call_id.clone());
            number = line.number.as_ref().map(|n| n.as_str().to_owned());
            billed = Some(i64::try_from(line.billed_seconds).unwrap_or(i64::MAX));
            rate = Some(i64::from(line.rate.0));
        }
        Kind::CallRefund {
            call_id: c,
            reason: r,
        } => {
            call_id = Some(c.clone());
            reason = Some(r.clone());
        }
        Kind::Payout { reference: r } => reference = Some(r.as_str().to_owned()),
        Kind::Reversal { of, reason: r } => {
            reverses = Some(i64::try_from(of.0).unwrap_or(i64::MAX));
            reason = Some(r.clone());
        }
        Kind::Closure => {}
        other => {
            return Err(StoreError::Refused(format!(
                "ledger: {} transactions are not stored yet",
                other.name()
            )));
        }
    }
    sqlx::query(
        "INSERT INTO ledger_transactions (id, at_ms, kind, reference, channel, recorded_by,
             call_id, number, billed_seconds, rate_cents_per_minute, reason, reverses)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(next)
    .bind(ms(at))
    .bind(tx.kind().name())
    .bind(reference)
    .bind(channel)
    .bind(recorded_by)
    .bind(&call_id)
    .bind(number)
    .bind(billed)
    .bind(rate)
    .bind(reason)
    .bind(reverses)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        refusal(e, || match &call_id {
            Some(c) if tx.kind().name() == "call" => format!("call {c} is already charged"),
            _ => format!("transaction {id}"),
        })
    })?;
    Ok(id)
}

/// An account's cached balance and whether it is closed.
async fn balance_of(conn: &mut SqliteConnection, id: AccountId) -> Result<Option<(Cents, bool)>> {
    let row = sqlx::query("SELECT balance_cents, closed_ms FROM accounts WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| -> Result<(Cents, bool)> {
        let closed: Option<i64> = r.try_get("closed_ms")?;
        Ok((Cents(r.try_get("balance_cents")?), closed.is_some()))
    })
    .transpose()
}

/// `Store::deposit`: a ledger deposit recorded by an administrator.
pub(crate) async fn deposit(
    store: &SqliteStore,
    id: AccountId,
    amount: Cents,
    reference: &str,
    channel: DepositChannel,
    now: Timestamp,
) -> Result<Account> {
    if amount.0 <= 0 {
        return Err(StoreError::Refused(
            "a deposit must be more than $0.00".into(),
        ));
    }
    let reference = Reference::parse(reference).map_err(|_| {
        StoreError::Refused("a deposit's reference is 1 to 64 printable characters".into())
    })?;
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    let current = SqliteStore::account_in(&mut tx, id).await?;
    if balance_of(&mut tx, id)
        .await?
        .is_some_and(|(_, closed)| closed)
    {
        return Err(StoreError::Refused(format!("account {id} is closed")));
    }
    current
        .balance
        .checked_add(amount)
        .filter(|b| *b <= MAX_BALANCE)
        .ok_or_else(|| StoreError::Refused("the balance would exceed $1,000,000.00".into()))?;
    post(
        &mut tx,
        now,
        Kind::Deposit { reference, channel },
        vec![
            Posting {
                book: Book::Funding,
                amount: Cents(-amount.0),
            },
            Posting {
                book: Book::Account(id),
                amount,
            },
        ],
    )
    .await?;
    let account = SqliteStore::account_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(account)
}

/// The account's transactions replayed through the core's rules, in the
/// caller's database transaction: the core decides whether a refund or a
/// closure is allowed and builds it; [`post`] stores it under the next id.
async fn account_ledger(conn: &mut SqliteConnection, id: AccountId) -> Result<Ledger> {
    let txs = transactions_in(conn, Some(id)).await?;
    Ledger::replay(txs).map_err(|e| StoreError::Corrupt(format!("ledger of account {id}: {e}")))
}

/// Posts the last transaction the core appended to `ledger`.
async fn post_last(conn: &mut SqliteConnection, ledger: &Ledger) -> Result<TransactionId> {
    let tx = ledger
        .transactions()
        .last()
        .ok_or_else(|| StoreError::Refused("ledger: nothing to post".into()))?;
    post(conn, tx.at(), tx.kind().clone(), tx.postings().to_vec()).await
}

fn ledger_refusal(e: &LedgerError) -> StoreError {
    StoreError::Refused(e.to_string())
}

/// `Store::refund_call`.
pub(crate) async fn refund_call(
    store: &SqliteStore,
    call_id: &str,
    amount: Cents,
    reason: &str,
    now: Timestamp,
) -> Result<Account> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(StoreError::Refused(
            "a refund's reason is 1 to 200 printable characters".into(),
        ));
    }
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    let payer: Option<i64> = sqlx::query_scalar(
        "SELECT p.account_id FROM ledger_transactions t
         JOIN ledger_postings p ON p.transaction_id = t.id AND p.book = 'account'
         WHERE t.kind = 'call' AND t.call_id = ?",
    )
    .bind(call_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payer) = payer.map(AccountId) else {
        return Err(StoreError::NotFound(format!(
            "a charge for call {call_id:?}"
        )));
    };
    let mut ledger = account_ledger(&mut tx, payer).await?;
    ledger
        .refund_call(now, call_id, amount, reason)
        .map_err(|e| ledger_refusal(&e))?;
    post_last(&mut tx, &ledger).await?;
    let account = SqliteStore::account_in(&mut tx, payer).await?;
    tx.commit().await?;
    Ok(account)
}

/// `Store::close_account`.
pub(crate) async fn close_account(
    store: &SqliteStore,
    id: AccountId,
    now: Timestamp,
) -> Result<Cents> {
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    SqliteStore::account_in(&mut tx, id).await?;
    if balance_of(&mut tx, id)
        .await?
        .is_some_and(|(_, closed)| closed)
    {
        return Err(StoreError::Refused(format!(
            "account {id} is already closed"
        )));
    }
    let mut ledger = account_ledger(&mut tx, id).await?;
    let (_, returned) = ledger.close(now, id).map_err(|e| ledger_refusal(&e))?;
    post_last(&mut tx, &ledger).await?;
    sqlx::query("UPDATE accounts SET closed_ms = ? WHERE id = ?")
        .bind(ms(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(returned)
}

/// The caller's last call to the same number that ended by the time this
/// one was offered, for the continuation rule.
struct Previous {
    id: String,
    number: E164Number,
    ended_at: Timestamp,
    dropped: bool,
}

async fn previous_call(
    conn: &mut SqliteConnection,
    call: &CallDetailRecord,
) -> Result<Option<Previous>> {
    let (Some(person), Some(number)) = (call.person_id, call.number.as_ref()) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT id, ended_ms, dropped FROM calls
         WHERE person_id = ? AND number = ? AND ended_ms <= ? AND id != ?
         ORDER BY ended_ms DESC, id DESC LIMIT 1",
    )
    .bind(person.0)
    .bind(number.as_str())
    .bind(ms(call.offered_at))
    .bind(&call.id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let ended: i64 = row.try_get("ended_ms")?;
    let ended_at = Timestamp::from_millisecond(ended)
        .map_err(|_| StoreError::Corrupt(format!("calls row {id}: bad ended_ms")))?;
    Ok(Some(Previous {
        id,
        number: number.clone(),
        ended_at,
        dropped: row.try_get("dropped")?,
    }))
}

/// Rates a call inside the recording transaction. `None` for a call that
/// was never allowed (no rate).
async fn rate(
    store: &SqliteStore,
    conn: &mut SqliteConnection,
    call: &CallDetailRecord,
) -> Result<(Option<Rating>, Option<AccountId>)> {
    let Some(asked) = call.rate_cents_per_minute else {
        return Ok((None, None));
    };
    let rate = if asked == 0 {
        CappedRate::FREE
    } else {
        // The cap in force on the facility's local date at acceptance; the
        // rate the terms named is never exceeded, nor is that cap.
        let facility = SqliteStore::facility_in(conn, call.facility_id).await?;
        let at = call.accepted_at.unwrap_or(call.offered_at);
        let capped = store.tariffs().rate_for_facility(&facility, at);
        CappedRate::clamped(CentsPerMinute(asked.min(capped.rate().0)), capped.cap())
    };
    // The payer's balance now (a closed or vanished account covers nothing).
    let mut payer = None;
    let mut covered = Cents::ZERO;
    if let Some(id) = call.payer_account_id
        && let Some((balance, closed)) = balance_of(conn, id).await?
    {
        payer = Some(id);
        if !closed {
            covered = balance;
        }
    }
    let previous = previous_call(conn, call).await?;
    let previous = previous.as_ref().map(|p| PreviousCall {
        call_id: &p.id,
        number: &p.number,
        ended_at: p.ended_at,
        dropped: p.dropped,
    });
    // The record holds no technical-drop flag of its own: `interrupted` and
    // `failed` count as technical in rating.
    let rating = rate_cdr(call, false, rate, covered, previous.as_ref());
    Ok((Some(rating), payer))
}

/// `Store::record_call`: the record and its charge, at once.
pub(crate) async fn record_call(
    store: &SqliteStore,
    call: &CallDetailRecord,
) -> Result<ChargedCall> {
    if call.privileged && call.recording_id.is_some() {
        return Err(StoreError::Refused(format!(
            "call {} is privileged and cannot have a recording",
            call.id
        )));
    }
    let id = call.id.clone();
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM calls WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "call {id} is already recorded"
        )));
    }
    let (rating, payer) = rate(store, &mut tx, call).await?;
    let charge = rating.as_ref().map_or(Cents::ZERO, |r| r.charge);
    sqlx::query(
        "INSERT INTO calls (id, facility_id, station_id, person_id, number, privileged, disposition,
             hung_up_by, offered_ms, answered_ms, accepted_ms, ended_ms, billable_seconds,
             time_limit_reached, blocked_by_called_party, recording_id, rate_cents_per_minute,
             charge_cents, payer_account_id, dropped, continuation_of, time_limit)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&call.id)
    .bind(call.facility_id.0)
    .bind(call.station_id.0)
    .bind(call.person_id.map(|p| p.0))
    .bind(call.number.as_ref().map(E164Number::as_str))
    .bind(call.privileged)
    .bind(call.disposition.to_string())
    .bind(call.hung_up_by.to_string())
    .bind(ms(call.offered_at))
    .bind(opt_ms(call.answered_at))
    .bind(opt_ms(call.accepted_at))
    .bind(ms(call.ended_at))
    .bind(i64::try_from(call.billable_seconds).unwrap_or(i64::MAX))
    .bind(call.time_limit_reached)
    .bind(call.blocked_by_called_party)
    .bind(call.recording_id.as_deref())
    .bind(rating.as_ref().map(|r| i64::from(r.rate.0)))
    .bind(charge.0)
    .bind(payer.map(|p| p.0))
    .bind(rating.as_ref().is_some_and(|r| r.dropped))
    .bind(rating.as_ref().and_then(|r| r.continuation_of.as_deref()))
    .bind(
        call.limit
            .filter(|_| call.time_limit_reached)
            .map(CallLimit::code),
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| on_conflict(e, || format!("call {id} is already recorded")))?;
    let mut transaction = None;
    if let (Some(r), Some(account)) = (&rating, payer)
        && r.charge > Cents::ZERO
    {
        let line = CallLine {
            call_id: call.id.clone(),
            number: call.number.clone(),
            billed_seconds: r.billed_seconds,
            rate: r.rate,
        };
        transaction = Some(
            post(
                &mut tx,
                call.ended_at,
                Kind::CallCharge(line),
                vec![
                    Posting {
                        book: Book::Account(account),
                        amount: Cents(-r.charge.0),
                    },
                    Posting {
                        book: Book::CallRevenue,
                        amount: r.charge,
                    },
                ],
            )
            .await?,
        );
    }
    // The record ends the call's journal entry, in the same transaction.
    sqlx::query("DELETE FROM calls_open WHERE id = ?")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ChargedCall {
        charge,
        billed_seconds: rating.as_ref().map_or(0, |r| r.billed_seconds),
        outcome: rating.as_ref().map(|r| r.outcome),
        payer: payer.filter(|_| transaction.is_some()),
        transaction,
        continuation_of: rating.and_then(|r| r.continuation_of),
    })
}

fn transaction_from_row(row: &SqliteRow, postings: Vec<Posting>) -> Result<Transaction> {
    let id: i64 = row.try_get("id")?;
    let bad =
        |column: &str| StoreError::Corrupt(format!("ledger_transactions row {id}: bad {column}"));
    let at = Timestamp::from_millisecond(row.try_get("at_ms")?).map_err(|_| bad("at_ms"))?;
    let kind: String = row.try_get("kind")?;
    let text = |column: &str| -> Result<String> {
        row.try_get::<Option<String>, _>(column)?
            .ok_or_else(|| bad(column))
    };
    let reference = |column: &str| -> Result<Reference> {
        Reference::parse(&text(column)?).map_err(|_| bad(column))
    };
    let kind = match kind.as_str() {
        "deposit" => Kind::Deposit {
            reference: reference("reference")?,
            channel: match text("channel")?.as_str() {
                "admin" => DepositChannel::Admin(
                    row.try_get::<Option<String>, _>("recorded_by")?
                        .unwrap_or_default(),
                ),
                "family_page" => DepositChannel::FamilyPage,
                _ => return Err(bad("channel")),
            },
        },
        "call" => {
            let billed: i64 = row
                .try_get::<Option<i64>, _>("billed_seconds")?
                .ok_or_else(|| bad("billed_seconds"))?;
            let rate: i64 = row
                .try_get::<Option<i64>, _>("rate_cents_per_minute")?
                .ok_or_else(|| bad("rate_cents_per_minute"))?;
            Kind::CallCharge(CallLine {
                call_id: text("call_id")?,
                number: row
                    .try_get::<Option<String>, _>("number")?
                    .map(|n| E164Number::parse(&n).map_err(|_| bad("number")))
                    .transpose()?,
                billed_seconds: u64::try_from(billed).map_err(|_| bad("billed_seconds"))?,
                rate: CentsPerMinute(
                    u32::try_from(rate).map_err(|_| bad("rate_cents_per_minute"))?,
                ),
            })
        }
        "call_refund" => Kind::CallRefund {
            call_id: text("call_id")?,
            reason: text("reason").unwrap_or_default(),
        },
        "payout" => Kind::Payout {
            reference: reference("reference")?,
        },
        "reversal" => {
            let of: i64 = row
                .try_get::<Option<i64>, _>("reverses")?
                .ok_or_else(|| bad("reverses"))?;
            Kind::Reversal {
                of: TransactionId(u64::try_from(of).map_err(|_| bad("reverses"))?),
                reason: text("reason").unwrap_or_default(),
            }
        }
        "closure" => Kind::Closure,
        _ => return Err(bad("kind")),
    };
    let id = TransactionId(u64::try_from(id).map_err(|_| bad("id"))?);
    Transaction::new(id, at, kind, postings).map_err(|_| bad("postings"))
}

/// `Store::ledger_transactions`.
pub(crate) async fn transactions(
    store: &SqliteStore,
    account: Option<AccountId>,
) -> Result<Vec<Transaction>> {
    let mut conn = store.pool().acquire().await?;
    // One read transaction, so headers and postings agree.
    sqlx::query("BEGIN").execute(&mut *conn).await?;
    let result = transactions_in(&mut conn, account).await;
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    result
}

/// The transactions touching `account` (or all), read on `conn`.
async fn transactions_in(
    conn: &mut SqliteConnection,
    account: Option<AccountId>,
) -> Result<Vec<Transaction>> {
    let headers = sqlx::query(
        "SELECT * FROM ledger_transactions WHERE ?1 IS NULL OR id IN
             (SELECT transaction_id FROM ledger_postings WHERE account_id = ?1)
         ORDER BY id",
    )
    .bind(account.map(|a| a.0))
    .fetch_all(&mut *conn)
    .await?;
    let posting_rows = sqlx::query(
        "SELECT * FROM ledger_postings WHERE ?1 IS NULL OR transaction_id IN
             (SELECT transaction_id FROM ledger_postings WHERE account_id = ?1)
         ORDER BY transaction_id, seq",
    )
    .bind(account.map(|a| a.0))
    .fetch_all(&mut *conn)
    .await?;
    let mut postings: BTreeMap<i64, Vec<Posting>> = BTreeMap::new();
    for row in posting_rows {
        let tx: i64 = row.try_get("transaction_id")?;
        let book: String = row.try_get("book")?;
        let account: Option<i64> = row.try_get("account_id")?;
        let bad = || StoreError::Corrupt(format!("ledger_postings of {tx}: bad book"));
        let book = match (book.as_str(), account) {
            ("account", Some(a)) => Book::Account(AccountId(a)),
            ("funding", None) => Book::Funding,
            ("call_revenue", None) => Book::CallRevenue,
            ("paid_out", None) => Book::PaidOut,
            _ => return Err(bad()),
        };
        postings.entry(tx).or_default().push(Posting {
            book,
            amount: Cents(row.try_get("amount_cents")?),
        });
    }
    headers
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            transaction_from_row(row, postings.remove(&id).unwrap_or_default())
        })
        .collect()
}

impl SqliteStore {
    /// The ids of the calls `account` paid for that were cut because its
    /// balance ran out (for the statement's note). Ids only: the statement
    /// shows no more of a call record than its ledger line holds.
    pub async fn calls_cut_by_balance(&self, account: AccountId) -> Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT id FROM calls WHERE payer_account_id = ? AND time_limit = 'balance'
             ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await?;
        Ok(ids)
    }

    /// Replays the whole stored ledger through the core's rules
    /// (`Ledger::replay`) and checks every account's cached balance against
    /// it: a row that breaks a rule, or a cache that disagrees, is
    /// [`StoreError::Corrupt`]. Reports call revenue and the sum of the
    /// stored records' charges, which are equal while no charge has been
    /// refunded or reversed.
    pub async fn check_ledger(&self) -> Result<LedgerCheck> {
        let all = transactions(self, None).await?;
        let count = all.len();
        let ledger =
            Ledger::replay(all).map_err(|e| StoreError::Corrupt(format!("ledger: {e}")))?;
        let rows = sqlx::query("SELECT id, balance_cents FROM accounts")
            .fetch_all(self.pool())
            .await?;
        for row in rows {
            let id = AccountId(row.try_get("id")?);
            let cached = Cents(row.try_get("balance_cents")?);
            if cached != ledger.balance(id) {
                return Err(StoreError::Corrupt(format!(
                    "account {id}: balance {cached} but its postings sum to {}",
                    ledger.balance(id)
                )));
            }
        }
        let charged: Option<i64> = sqlx::query_scalar("SELECT sum(charge_cents) FROM calls")
            .fetch_one(self.pool())
            .await?;
        Ok(LedgerCheck {
            transactions: count,
            call_revenue: ledger.book_balance(Book::CallRevenue),
            charged_calls: Cents(charged.unwrap_or(0)),
        })
    }
}
