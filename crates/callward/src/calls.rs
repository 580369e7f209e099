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
use callward_core::callflow::Disposition;
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId};
use callward_store::{CallSearch, Cursor, MAX_PAGE_SIZE, PageRequest, Store};
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
    /// Call records, oldest first, filtered (every filter given must hold).
    List {
        /// Only calls offered at or after T: an RFC 3339 time
        /// (2026-11-21T08:00:00Z), a date (2026-11-21, UTC), or an age (30m, 24h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only calls offered before T (same forms as --since).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Only calls by this person (the record's person id).
        #[arg(long, value_name = "ID")]
        person: Option<i64>,
        /// Only calls to this number. Never finds a privileged call, nor
        /// any call to a number on the privileged registry.
        #[arg(long, value_name = "NUMBER")]
        number: Option<String>,
        /// Only calls from this facility (name or id).
        #[arg(long, value_name = "FACILITY")]
        facility: Option<String>,
        /// Only calls that ended this way (completed, no_answer,
        /// denied:not_approved, ...).
        #[arg(long, value_name = "DISPOSITION")]
        disposition: Option<String>,
        /// Only calls with at least this many billable seconds.
        #[arg(long, value_name = "SECONDS")]
        min_seconds: Option<u64>,
        /// Only calls with at most this many billable seconds.
        #[arg(long, value_name = "SECONDS")]
        max_seconds: Option<u64>,
        /// Only privileged calls.
        #[arg(long)]
        privileged: bool,
        /// Only calls cut at their time limit.
        #[arg(long)]
        time_limit_reached: bool,
        /// Only calls in which the called party blocked the facility.
        #[arg(long)]
        blocked: bool,
        /// Continue after this cursor (printed when more records match).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
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

/// A facility by name, or by id when no facility has that name.
async fn facility_id(local: &Local, name: &str) -> anyhow::Result<FacilityId> {
    if let Some(f) = local.store.facility_by_name(name.trim()).await? {
        return Ok(f.id);
    }
    match name.trim().parse::<i64>() {
        Ok(id) => Ok(local.store.facility(FacilityId(id)).await?.id),
        Err(_) => bail!("--facility: no facility named {:?}", name.trim()),
    }
}

/// The search as the audit log keeps it: every filter, numbers masked.
fn describe(s: &CallSearch, limit: u32) -> String {
    format!("{} limit={limit}", s.describe_filters("calls list"))
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
        CallsCommand::List {
            since,
            until,
            person,
            number,
            facility,
            disposition,
            min_seconds,
            max_seconds,
            privileged,
            time_limit_reached,
            blocked,
            after,
            limit,
        } => {
            let now = Timestamp::now();
            let mut search = CallSearch {
                from: since.map(|s| parse_since(&s, now)).transpose()?,
                until: until
                    .map(|s| parse_since(&s, now))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("{}", e.to_string().replace("--since", "--until")))?,
                person: person.map(PersonId),
                number: number
                    .map(|n| E164Number::parse(&n))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--number: {e}"))?,
                disposition: disposition
                    .map(|d| d.trim().parse::<Disposition>())
                    .transpose()
                    .map_err(|_| anyhow::anyhow!("--disposition: not a disposition (completed, no_answer, denied:not_approved, ...)"))?,
                min_seconds,
                max_seconds,
                privileged: privileged.then_some(true),
                time_limit_reached: time_limit_reached.then_some(true),
                blocked: blocked.then_some(true),
                ..CallSearch::default()
            };
            let mut page = PageRequest::first(limit.clamp(1, MAX_PAGE_SIZE));
            page.after = after
                .map(|a| a.parse::<Cursor>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--after: {e}"))?;
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            if let Some(f) = facility {
                search.facility = Some(facility_id(&local, &f).await?);
            }
            AccessLog::open(&local, &args.key_dir.key_dir)
                .await?
                .record(&local_entry(
                    Action::Search,
                    ObjectKind::Query,
                    &describe(&search, limit),
                    args.reason.trim(),
                    "calls list",
                ))
                .await?;
            let mut calls = Vec::new();
            let mut next = None;
            while calls.len() < limit as usize {
                page.size = (limit - calls.len() as u32).min(MAX_PAGE_SIZE);
                let got = local.store.search_calls(&search, &page).await?;
                calls.extend(got.items);
                next = got.next;
                match &next {
                    Some(n) => page.after = Some(n.clone()),
                    None => break,
                }
            }
            if json {
                let views = calls.iter().map(view).collect::<anyhow::Result<Vec<_>>>()?;
                crate::output::println(serde_json::to_string_pretty(&views)?)?;
            } else {
                for c in &calls {
                    crate::output::println(text(c))?;
                }
            }
            if let Some(n) = next {
                eprintln!("note: showing the first {limit} records; continue with --after {n}");
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

    #[test]
    fn the_audit_description_names_every_filter_and_masks_the_number() {
        let search = CallSearch {
            person: Some(PersonId(7)),
            number: Some(E164Number::parse("+15551230001").unwrap()),
            facility: Some(FacilityId(2)),
            disposition: Some(Disposition::Completed),
            min_seconds: Some(60),
            blocked: Some(true),
            ..CallSearch::default()
        };
        let d = describe(&search, 50);
        assert_eq!(
            d,
            "calls list person=7 number=+1******0001 facility=2 disposition=completed \
             min_seconds=60 blocked=true limit=50"
        );
        assert!(!d.contains("5551230001"));
    }
}
