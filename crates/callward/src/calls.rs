//! `callward calls list|show`: read call records on the local data dir.
//!
//! The dialled number of a privileged call is shown masked: the local reader
//! has no identity here, and no investigator may see an attorney's number.
//!
//! Logged first: each command appends its access to the audit log (a list
//! is a search, a show a view; `--reason` is the justification) before it
//! reads a record, and fails, printing nothing, if the log cannot be
//! written. The log is signed with the key in `--key-dir`.

use anyhow::bail;
use callward_audit::{Action, ObjectKind};
use callward_core::CallDetailRecord;
use callward_store::Store;
use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};

use crate::access_log::{AccessLog, local_entry};
use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;

/// `callward calls`.
#[derive(Debug, Args)]
pub(crate) struct CallsArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// Holds the audit log's signing key (`audit.key`).
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// Why the records are read; kept in the audit log with the access.
    #[arg(long, global = true, value_name = "TEXT", default_value = "")]
    reason: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CallsCommand,
}

#[derive(Debug, Subcommand)]
enum CallsCommand {
    /// Call records, oldest first.
    List {
        /// Only calls offered at or after T: an RFC 3339 time
        /// (2026-11-21T08:00:00Z), a date (2026-11-21, UTC), or an age (30m, 24h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// One call record.
    Show {
        /// The call id.
        id: String,
    },
}

/// Parses `--since`, relative to `now` for ages.
fn parse_since(input: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let s = input.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp());
    }
    let unit = s.chars().last().unwrap_or(' ');
    let amount = s[..s.len() - unit.len_utf8().min(s.len())]
        .parse::<i64>()
        .ok();
    let seconds = match (amount, unit) {
        (Some(n), 'm') if n >= 0 => n.checked_mul(60),
        (Some(n), 'h') if n >= 0 => n.checked_mul(3600),
        (Some(n), 'd') if n >= 0 => n.checked_mul(86_400),
        _ => None,
    };
    match seconds.and_then(|s| now.checked_sub(SignedDuration::from_secs(s)).ok()) {
        Some(t) => Ok(t),
        None => bail!(
            "--since: {:?} is not a time (2026-11-21T08:00:00Z), a date (2026-11-21) or an age (30m, 24h, 7d)",
            s.chars().take(40).collect::<String>()
        ),
    }
}

/// The record as shown: a privileged call's number masked.
fn view(call: &CallDetailRecord) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(call)?;
    if call.privileged
        && let (Some(n), Some(obj)) = (&call.number, v.as_object_mut())
    {
        obj.insert("number".into(), serde_json::Value::String(n.masked()));
    }
    Ok(v)
}

fn text(call: &CallDetailRecord) -> String {
    let number = match (&call.number, call.privileged) {
        (Some(n), true) => n.masked(),
        (Some(n), false) => n.to_string(),
        (None, _) => "-".into(),
    };
    format!(
        "{} {} {} {} {}s{}{}{}",
        call.offered_at,
        call.id,
        call.disposition,
        number,
        call.billable_seconds,
        if call.privileged { " privileged" } else { "" },
        call.recording_id
            .as_ref()
            .map_or_else(String::new, |r| format!(" recording {r}")),
        // Why a call cut at its time limit was cut there.
        match (call.time_limit_reached, call.limit) {
            (true, Some(limit)) => format!(" limit:{limit}"),
            (true, None) => " limit".to_owned(),
            (false, _) => String::new(),
        }
    )
}

/// Runs one `calls` command.
pub(crate) async fn run(args: CallsArgs) -> anyhow::Result<()> {
    let json = args.json;
    match args.command {
        CallsCommand::List { since, limit } => {
            let since = since
                .map(|s| parse_since(&s, Timestamp::now()))
                .transpose()?;
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            let query = match since {
                Some(t) => format!("calls list since={t} limit={limit}"),
                None => format!("calls list limit={limit}"),
            };
            AccessLog::open(&local, &args.key_dir.key_dir)
                .await?
                .record(&local_entry(
                    Action::Search,
                    ObjectKind::Query,
                    &query,
                    args.reason.trim(),
                    "calls list",
                ))
                .await?;
            let calls = local.store.list_calls(since, limit).await?;
            if json {
                let views = calls.iter().map(view).collect::<anyhow::Result<Vec<_>>>()?;
                crate::output::println(serde_json::to_string_pretty(&views)?)?;
            } else {
                for c in &calls {
                    crate::output::println(text(c))?;
                }
            }
            if calls.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
                eprintln!(
                    "note: showing the first {limit} records; narrow with --since or raise --limit"
                );
            }
        }
        CallsCommand::Show { id } => {
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            AccessLog::open(&local, &args.key_dir.key_dir)
                .await?
                .record(&local_entry(
                    Action::View,
                    ObjectKind::CallRecord,
                    id.trim(),
                    args.reason.trim(),
                    "calls show",
                ))
                .await?;
            let call = local.store.call(id.trim()).await?;
            if json {
                crate::output::println(serde_json::to_string_pretty(&view(&call)?)?)?;
            } else {
                crate::output::println(text(&call))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_since("2026-11-20T08:00:00Z", now).unwrap(),
            "2026-11-20T08:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_since("2026-11-20", now).unwrap(),
            "2026-11-20T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_since("24h", now).unwrap(),
            "2026-11-20T12:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_since("30m", now).unwrap(),
            "2026-11-21T11:30:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_since("7d", now).unwrap(),
            "2026-11-14T12:00:00Z".parse::<Timestamp>().unwrap()
        );
        for bad in ["", "yesterday", "-5h", "5x", "h", "99999999999999d", "é"] {
            assert!(parse_since(bad, now).is_err(), "{bad:?}");
        }
    }
}
