//! Billing at the edge: loading the rate-cap schedules for `serve`, and
//! `callward admin account statement`. The rules live in `callward-core`
//! (`tariff.rs`, `rating.rs`, `ledger.rs`; `docs/billing.md`); this reads
//! files and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_core::ledger::{
    Ledger, NOTE_BALANCE_USED_UP, NumberDisplay, StatementRow, statement_csv,
};
use callward_core::tariff::Tariffs;
use callward_core::{Account, AccountHolder, AccountId, Cents, E164Number};
use callward_store::Store;
use clap::Args;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::local::Local;

/// `./tariffs` when run from a checkout, else the checkout this binary was
/// built from (as for the prompts).
pub(crate) fn default_tariffs_dir() -> PathBuf {
    let here = PathBuf::from("tariffs");
    if here.is_dir() {
        here
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tariffs"))
    }
}

/// Reads every `*.toml` file in `dir` (`*.toml.example` and anything else
/// is skipped) and checks them as one set. An invalid file, an empty
/// directory, or a set with no schedule in force today is an error naming
/// the problem: callward does not take calls without a cap it can enforce.
pub(crate) fn load_tariffs(dir: &Path) -> anyhow::Result<Tariffs> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the tariffs directory {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the tariffs directory {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read tariff file {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, text));
        }
    }
    if files.is_empty() {
        bail!(
            "no tariff schedule (*.toml) in {}; see tariffs/README.md",
            dir.display()
        );
    }
    files.sort();
    let tariffs = Tariffs::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .with_context(|| format!("invalid tariffs in {}", dir.display()))?;
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    if tariffs.schedule_on(today).is_none() {
        bail!(
            "no tariff schedule in {} is in force today ({today}); see tariffs/README.md",
            dir.display()
        );
    }
    Ok(tariffs)
}

/// Logs the schedules loaded and the one in force (once the server starts:
/// a start that fails prints only its error).
pub(crate) fn log_loaded(tariffs: &Tariffs) {
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    if let Some(current) = tariffs.schedule_on(today) {
        tracing::info!(
            schedules = tariffs.schedules().len(),
            in_force = %current.name,
            source = %current.source,
            "tariffs loaded"
        );
    }
}

/// `callward admin account statement`.
#[derive(Debug, Args)]
pub(crate) struct StatementArgs {
    /// The account's id (or give --number for a prepaid account).
    #[arg(required_unless_present = "number", conflicts_with = "number")]
    id: Option<i64>,
    /// The prepaid account of this number (E.164 or ten digits).
    #[arg(long)]
    number: Option<String>,
    /// Print CSV (RFC 4180, the columns of docs/billing.md).
    #[arg(long)]
    csv: bool,
    /// Show the numbers called in full (default: masked, +1******0001).
    #[arg(long)]
    full_numbers: bool,
}

/// Prints an account's statement: CSV, JSON (`admin --json`) or text.
pub(crate) async fn statement(args: StatementArgs, dir: &Path, json: bool) -> anyhow::Result<()> {
    let number = args
        .number
        .as_deref()
        .map(E164Number::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--number: {e}"))?;
    let local = Local::open_existing(dir).await?;
    let store = &local.store;
    let account = match (args.id, number) {
        (Some(id), _) => store.account(AccountId(id)).await?,
        (None, Some(n)) => store
            .prepaid_account(&n)
            .await?
            .with_context(|| format!("no prepaid account for {}", n.masked()))?,
        (None, None) => bail!("give an account id or --number"),
    };
    let transactions = store.ledger_transactions(Some(account.id)).await?;
    let ledger = Ledger::replay(transactions)
        .with_context(|| format!("the stored ledger of account {} breaks a rule", account.id))?;
    let display = if args.full_numbers {
        NumberDisplay::Full
    } else {
        NumberDisplay::Masked
    };
    let mut rows = ledger.statement(account.id, display);
    // The ledger knows what was charged; the call record knows why the
    // call ended. A call cut because this balance ran out says so.
    let cut = store.calls_cut_by_balance(account.id).await?;
    for row in rows.iter_mut().filter(|r| r.kind == "call") {
        if cut.binary_search(&row.reference).is_ok() {
            row.note = Some(NOTE_BALANCE_USED_UP.to_owned());
        }
    }
    let tz = time_zone(store, &account.holder).await?;
    if args.csv {
        print!("{}", statement_csv(&rows, &tz));
    } else if json {
        let values: Vec<_> = rows.iter().map(|r| row_json(r, &tz)).collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        for r in &rows {
            println!("{}", row_text(r, &tz));
        }
        println!("balance {}", account.balance);
    }
    tracing::info!(account_id = %account.id, rows = rows.len(), "statement printed");
    Ok(())
}

/// The statement's time zone: a debit account's facility's; for a prepaid
/// account, the facilities' if they all share one, else UTC.
async fn time_zone<S: Store>(store: &S, holder: &AccountHolder) -> anyhow::Result<TimeZone> {
    let names: Vec<String> = match holder {
        AccountHolder::Debit(p) => {
            let person = store.person(*p).await?;
            vec![
                store
                    .facility(person.facility_id)
                    .await?
                    .timezone
                    .name()
                    .to_owned(),
            ]
        }
        AccountHolder::Prepaid(_) => {
            let mut names: Vec<String> = store
                .list_facilities()
                .await?
                .iter()
                .map(|f| f.timezone.name().to_owned())
                .collect();
            names.sort();
            names.dedup();
            names
        }
    };
    Ok(match names.as_slice() {
        [one] => TimeZone::get(one).unwrap_or(TimeZone::UTC),
        _ => TimeZone::UTC,
    })
}

fn local_time(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn row_json(r: &StatementRow, tz: &TimeZone) -> serde_json::Value {
    serde_json::json!({
        "date": local_time(r.at, tz),
        "transaction": r.transaction.to_string(),
        "type": r.kind,
        "reference": r.reference,
        "number": r.number,
        "billed_seconds": r.billed.map(|d| d.as_secs()),
        "rate_cents_per_minute": r.rate.map(|c| c.0),
        "amount_cents": r.amount.0,
        "balance_cents": r.balance.0,
        "note": r.note,
    })
}

fn row_text(r: &StatementRow, tz: &TimeZone) -> String {
    let mut line = format!(
        "{} {} {} {}",
        local_time(r.at, tz),
        r.transaction,
        r.kind,
        r.reference
    );
    if let Some(n) = &r.number {
        line.push_str(&format!(" to {n}"));
    }
    if let (Some(billed), Some(rate)) = (r.billed, r.rate) {
        let s = billed.as_secs();
        line.push_str(&format!(" {}:{:02} at {}c/min", s / 60, s % 60, rate.0));
    }
    let sign = if r.amount.0 < 0 { '-' } else { '+' };
    let amount = Cents(r.amount.0.saturating_abs());
    line.push_str(&format!(" {sign}{amount}, balance {}", r.balance));
    if let Some(note) = &r.note {
        line.push_str(&format!(" ({note})"));
    }
    line
}

/// `callward admin account refund`.
#[derive(Debug, Args)]
pub(crate) struct RefundArgs {
    /// The call whose charge is refunded (its id in `calls list`).
    call_id: String,
    /// Dollars to give back, e.g. 0.25 (at most what is left of the charge).
    #[arg(long)]
    amount: String,
    /// Why, for the statement.
    #[arg(long)]
    reason: String,
}

/// Refunds part or all of a call's charge to the account that paid it.
pub(crate) async fn refund(
    args: RefundArgs,
    dir: &Path,
    key_dir: &Path,
) -> anyhow::Result<Account> {
    let amount =
        Cents::parse_dollars(&args.amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
    let local = Local::open_existing(dir).await?;
    crate::admin::log_change(
        &local,
        key_dir,
        callward_audit::ObjectKind::CallRecord,
        &args.call_id,
        &format!("refund {amount} of the call's charge"),
        "admin account refund",
    )
    .await?;
    let account = local
        .store
        .refund_call(&args.call_id, amount, args.reason, Timestamp::now())
        .await?;
    tracing::info!(account_id = %account.id, amount_cents = amount.0, "call refunded");
    Ok(account)
}

/// Closes an account and prints what is returned to the holder.
pub(crate) async fn close(id: i64, dir: &Path, key_dir: &Path, json: bool) -> anyhow::Result<()> {
    let local = Local::open_existing(dir).await?;
    crate::admin::log_change(
        &local,
        key_dir,
        callward_audit::ObjectKind::Account,
        &id.to_string(),
        "close, returning the balance to the holder",
        "admin account close",
    )
    .await?;
    let returned = local
        .store
        .close_account(AccountId(id), Timestamp::now())
        .await?;
    tracing::info!(
        account_id = id,
        returned_cents = returned.0,
        "account closed"
    );
    if json {
        println!(
            "{}",
            serde_json::json!({ "account_id": id, "returned_cents": returned.0 })
        );
    } else {
        println!("account {id} closed; {returned} returned to the holder");
    }
    Ok(())
}

/// `callward admin account check`: replays the stored ledger through the
/// core's rules, checks every cached balance, and reconciles call revenue
/// with the call records' charges (net of refunds). Fails if they differ.
pub(crate) async fn check(dir: &Path, json: bool) -> anyhow::Result<()> {
    let local = Local::open_existing(dir).await?;
    let check = local.store.check_ledger().await?;
    let refunded = refunded_cents(&local.store).await?;
    let reconciled = check.call_revenue.0 + refunded == check.charged_calls.0;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "transactions": check.transactions,
                "call_revenue_cents": check.call_revenue.0,
                "charged_calls_cents": check.charged_calls.0,
                "refunded_cents": refunded,
                "reconciled": reconciled,
            })
        );
    } else {
        println!(
            "{} transactions; call revenue {}, call records charged {}, refunded {}",
            check.transactions,
            check.call_revenue,
            check.charged_calls,
            Cents(refunded)
        );
    }
    if !reconciled {
        bail!("call revenue does not match the call records' charges less refunds");
    }
    Ok(())
}

/// Net refunds: call revenue given back and not reversed.
async fn refunded_cents<S: Store>(store: &S) -> anyhow::Result<i64> {
    let ledger = Ledger::replay(store.ledger_transactions(None).await?)?;
    let refunds = ledger
        .transactions()
        .iter()
        .filter(|t| matches!(t.kind(), callward_core::ledger::Kind::CallRefund { .. }))
        .filter(|t| {
            !ledger.transactions().iter().any(|r| {
                matches!(r.kind(), callward_core::ledger::Kind::Reversal { of, .. } if *of == t.id())
            })
        })
        .map(|t| -t.effect_on(callward_core::ledger::Book::CallRevenue).0)
        .sum();
    Ok(refunds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile_dir::Dir {
        let dir = tempfile_dir::Dir::new();
        for (name, text) in files {
            std::fs::write(dir.0.join(name), text).unwrap();
        }
        dir
    }

    /// A scratch directory removed on drop (no tempfile dependency here).
    mod tempfile_dir {
        pub(super) struct Dir(pub(super) std::path::PathBuf);
        impl Dir {
            pub(super) fn new() -> Self {
                static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let path = std::env::temp_dir().join(format!(
                    "callward-tariffs-{}-{}-{}",
                    std::process::id(),
                    jiff::Timestamp::now().as_nanosecond(),
                    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const SHIPPED_2024: &str = include_str!("../../../tariffs/2024-order.toml");

    #[test]
    fn loads_toml_files_only() {
        let dir = dir_with(&[
            ("2024-order.toml", SHIPPED_2024),
            ("2025-order.toml.example", "not even toml ["),
            ("notes.txt", "ignored"),
        ]);
        assert_eq!(load_tariffs(&dir.0).unwrap().schedules().len(), 1);
    }

    #[test]
    fn refuses_an_empty_dir_a_bad_file_and_no_schedule_in_force() {
        let empty = dir_with(&[]);
        let err = load_tariffs(&empty.0).unwrap_err().to_string();
        assert!(err.starts_with("no tariff schedule (*.toml) in"), "{err}");
        let bad = dir_with(&[("x.toml", "[schedule]\nname = 1\n")]);
        let err = format!("{:#}", load_tariffs(&bad.0).unwrap_err());
        assert!(
            err.contains("invalid tariffs in") && err.contains("x.toml"),
            "{err}"
        );
        let future =
            SHIPPED_2024.replace("effective_from = 2024-11-19", "effective_from = 2999-01-01");
        let later = dir_with(&[("later.toml", &future)]);
        let err = load_tariffs(&later.0).unwrap_err().to_string();
        assert!(err.contains("in force today"), "{err}");
        let missing = load_tariffs(Path::new("/nonexistent/tariffs")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("cannot read the tariffs directory")
        );
    }

    #[test]
    fn the_shipped_directory_loads() {
        let tariffs = load_tariffs(&default_tariffs_dir()).unwrap();
        assert!(tariffs.schedules().iter().all(|s| !s.source.is_empty()));
        assert!(tariffs.schedules().len() >= 2, "2021 and 2024 orders");
    }
}
