//! Retention and legal holds (`docs/keys.md`): `callward recordings
//! expire`, `recordings hold add/remove/list`, `recordings seals`, and the
//! expiry job `serve` runs on a schedule.
//!
//! The job, in an order a rerun finishes whatever a crash cut short:
//!
//! 1. for each facility, every recording of a call offered before its
//!    retention period and on no hold is deleted with its key records
//!    ([`RecordingFiles::delete`], repeatable), then the call record notes
//!    it expired (the record itself stays);
//! 2. each retired epoch whose every remaining recording is sealed for
//!    privilege review or on hold (and whose hold record opens through the
//!    hold key) is crypto-shredded; a shred cut short finishes when
//!    repeated. The epoch the switch writes to is never shredded, nor one
//!    retired less than the grace period ago (a server started before the
//!    rotation may still write to it).

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context as _, bail};
use callward_store::{LegalHold, SqliteStore, Store as _};
use callward_vault::keyrecord::sealed_to;
use callward_vault::{
    EpochStatus, HoldKeys, KeyDir, KeyProvider as _, RecordKind, RecordingHeader, rewrap_for_hold,
};
use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};

use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;
use crate::recording_files::RecordingFiles;

/// Hours after an epoch is retired before the job may shred it.
pub(crate) const DEFAULT_SHRED_GRACE_HOURS: u32 = 24;

/// How often `serve` runs the expiry job unless told otherwise.
pub(crate) const DEFAULT_EXPIRY_INTERVAL_SECS: u64 = 3600;

/// `serve`'s expiry job: at start, then every `interval`. Each run appends
/// its access-log entry (deletions and shreds are key operations) before
/// it touches anything; a run whose entry cannot be written does nothing.
/// A failed run is logged and the next one retries (the job finishes what
/// a failed run left).
pub(crate) async fn run_periodically(
    store: SqliteStore,
    key_dir: std::path::PathBuf,
    data_dir: std::path::PathBuf,
    files: RecordingFiles,
    writer: callward_switch::RecordingKey,
    interval: std::time::Duration,
    log: std::sync::Arc<tokio::sync::Mutex<callward_web::access_log::AccessLog>>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let keys = match KeyDir::open(&key_dir, &data_dir) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "expiry job: cannot open the agency keys");
                continue;
            }
        };
        let opts = ExpiryOptions {
            shred_grace: SignedDuration::from_hours(i64::from(DEFAULT_SHRED_GRACE_HOURS)),
            writer_epoch: Some(writer.current().epoch),
        };
        let entry = callward_audit::Entry {
            source: callward_audit::Source::Local("serve: expiry job".into()),
            ..crate::access_log::local_entry(
                callward_audit::Action::KeyChange,
                callward_audit::ObjectKind::Key,
                "keyring",
                "expiry job: delete expired recordings, shred epochs",
                "serve",
            )
        };
        if let Err(e) = log.lock().await.record(&entry).await {
            tracing::warn!(error = %e, "expiry job: the access log cannot be written; nothing expired this run");
            continue;
        }
        match expire(&store, &keys, &files, Timestamp::now(), opts).await {
            Ok(r) => tracing::info!(
                deleted = r.deleted,
                held = r.held,
                shredded_epochs = ?r.shredded,
                "expiry job ran"
            ),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "expiry job failed; the next run retries")
            }
        }
    }
}

/// `callward recordings`.
#[derive(Debug, Args)]
pub(crate) struct RecordingsArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// A config file whose `[recordings]` gives the S3 credentials (or set
    /// CALLWARD_S3_*); the store is the one `serve` recorded in the data dir.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: RecordingsCommand,
}

#[derive(Debug, Subcommand)]
enum RecordingsCommand {
    /// Delete recordings past their facility's retention period (not those on
    /// hold) and crypto-shred epochs left with only held or sealed recordings.
    Expire {
        /// Hours an epoch must have been retired before it is shredded.
        #[arg(long, value_name = "HOURS", default_value_t = DEFAULT_SHRED_GRACE_HOURS)]
        shred_grace_hours: u32,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Legal holds: a held recording is kept past retention and stays readable
    /// after its epoch is shredded.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Privilege sealing runs: when, by whom, how many recordings.
    Seals {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum HoldCommand {
    /// Hold a call's recording.
    Add {
        /// The call id.
        call_id: String,
        /// Who orders the hold (a console user name).
        #[arg(long)]
        by: String,
        /// Why: the case, order or request.
        #[arg(long)]
        reason: String,
    },
    /// Release the hold on a call's recording (it expires with its retention).
    Remove {
        /// The call id.
        call_id: String,
        /// Who releases it.
        #[arg(long)]
        by: String,
    },
    /// Holds in force (with --all, released ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

/// What one run of the expiry job did.
#[derive(Debug, Default)]
pub(crate) struct ExpiryReport {
    /// Recordings deleted now.
    pub(crate) deleted: usize,
    /// Holds in force (their recordings are kept).
    pub(crate) held: usize,
    /// Epochs shredded now.
    pub(crate) shredded: Vec<u32>,
    /// Retired epochs kept, and why.
    pub(crate) kept: Vec<(u32, String)>,
}

/// The expiry job's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpiryOptions {
    /// How long an epoch must have been retired before it is shredded.
    pub(crate) shred_grace: SignedDuration,
    /// The epoch the switch of this process writes to: never shredded.
    pub(crate) writer_epoch: Option<u32>,
}

/// Runs the expiry job once (see the module docs).
pub(crate) async fn expire(
    store: &SqliteStore,
    keys: &KeyDir,
    files: &RecordingFiles,
    now: Timestamp,
    opts: ExpiryOptions,
) -> anyhow::Result<ExpiryReport> {
    let mut report = ExpiryReport::default();
    for (facility, days) in store.retention_periods().await? {
        let cutoff = now - SignedDuration::from_hours(24 * i64::from(days));
        for c in store.expiry_candidates(facility, cutoff).await? {
            files.delete(&c.recording_id).await?;
            store
                .note_recording_expired(&c.call_id, &c.recording_id, now)
                .await?;
            tracing::info!(call = %c.call_id, facility_id = %facility, retention_days = days, "recording expired and deleted");
            report.deleted += 1;
        }
    }

    let held: HashSet<String> = store
        .legal_holds(false)
        .await?
        .into_iter()
        .map(|h| h.recording_id)
        .collect();
    report.held = held.len();
    let mut by_epoch: BTreeMap<u32, Vec<(String, RecordingHeader)>> = BTreeMap::new();
    for id in files.list().await? {
        match files.header(&id).await {
            Ok(h) => by_epoch.entry(h.key_epoch()).or_default().push((id, h)),
            Err(e) => {
                tracing::warn!(recording = %id, error = %format!("{e:#}"), "not a readable recording; ignored by the expiry job")
            }
        }
    }
    let keyring = keys.keyring()?;
    let mut epochs: Vec<_> = keyring.epochs().to_vec();
    epochs.sort_by_key(|e| e.number);
    let mut hold_key = None;
    for pair in epochs.windows(2) {
        let (epoch, next) = (&pair[0], &pair[1]);
        if epoch.status != EpochStatus::Retired || Some(epoch.number) == opts.writer_epoch {
            continue;
        }
        let retired_for = now.as_second().saturating_sub(next.created_unix);
        if retired_for < opts.shred_grace.as_secs() {
            report.kept.push((
                epoch.number,
                "retired less than the grace period ago".to_owned(),
            ));
            continue;
        }
        let mut blocker = None;
        let recordings = by_epoch.get(&epoch.number).map_or(&[][..], Vec::as_slice);
        for (id, header) in recordings {
            if header.key_id() != epoch.key_id() || sealed_to(header).is_some() {
                continue;
            }
            if !held.contains(id) {
                blocker = Some(format!("recording {id} is still within retention"));
                break;
            }
            let Some(record) = files.record(id, RecordKind::LegalHold).await? else {
                blocker = Some(format!("held recording {id} has no hold record"));
                break;
            };
            if hold_key.is_none() {
                hold_key = Some(keys.hold_key()?);
            }
            let Some(key) = hold_key.as_ref() else {
                bail!("hold key unavailable");
            };
            if let Err(e) = (HoldKeys {
                record: &record,
                key,
            })
            .unwrap_data_key(header)
            {
                blocker = Some(format!(
                    "the hold record of recording {id} does not open: {e}"
                ));
                break;
            }
        }
        match blocker {
            None => {
                keys.shred(epoch.number, now.as_second())?;
                tracing::info!(
                    epoch = epoch.number,
                    "epoch crypto-shredded by the expiry job"
                );
                report.shredded.push(epoch.number);
            }
            Some(why) => report.kept.push((epoch.number, why)),
        }
    }
    Ok(report)
}

pub(crate) async fn run(args: RecordingsArgs) -> anyhow::Result<()> {
    let data_dir = &args.data_dir.data_dir;
    let key_dir = &args.key_dir.key_dir;
    match args.command {
        RecordingsCommand::Expire {
            shred_grace_hours,
            json,
        } => {
            let local = Local::open_existing(data_dir).await?;
            let keys = KeyDir::open(key_dir, data_dir)?;
            let files = RecordingFiles::new(crate::recording_store::for_reading(
                args.config.as_deref(),
                data_dir,
            )?);
            // Deletions and shreds are key operations: logged first.
            log_first(
                &local,
                key_dir,
                callward_audit::ObjectKind::Key,
                "keyring",
                "expiry job: delete expired recordings, shred epochs",
                "recordings expire",
            )
            .await?;
            let report = expire(
                &local.store,
                &keys,
                &files,
                Timestamp::now(),
                ExpiryOptions {
                    shred_grace: SignedDuration::from_hours(i64::from(shred_grace_hours)),
                    writer_epoch: None,
                },
            )
            .await?;
            if json {
                let kept: Vec<_> = report
                    .kept
                    .iter()
                    .map(|(n, why)| serde_json::json!({"epoch": n, "reason": why}))
                    .collect();
                let v = serde_json::json!({
                    "deleted": report.deleted,
                    "held": report.held,
                    "shredded_epochs": report.shredded,
                    "kept_epochs": kept,
                });
                crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
            } else {
                let mut out = format!(
                    "deleted {} recordings past retention; {} on legal hold kept\n",
                    report.deleted, report.held
                );
                for n in &report.shredded {
                    out.push_str(&format!("epoch {n} crypto-shredded\n"));
                }
                for (n, why) in &report.kept {
                    out.push_str(&format!("epoch {n} kept: {why}\n"));
                }
                crate::output::print(&out)?;
            }
        }
        RecordingsCommand::Hold(cmd) => {
            hold(cmd, data_dir, key_dir, args.config.as_deref()).await?;
        }
        RecordingsCommand::Seals { json } => {
            let local = Local::open_existing(data_dir).await?;
            let seals = local.store.privilege_seals().await?;
            if json {
                let rows: Vec<_> = seals
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id,
                            "privileged_id": s.privileged_id,
                            "number": s.number_masked,
                            "sealed": s.sealed,
                            "already_sealed": s.already_sealed,
                            "unreadable": s.unreadable,
                            "by": s.sealed_by,
                            "at": s.sealed_at.to_string(),
                        })
                    })
                    .collect();
                crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
            } else {
                let mut out = String::new();
                for s in &seals {
                    out.push_str(&format!(
                        "{} {} privileged {} ({}): sealed {}, already {}, unreadable {}, by {}\n",
                        s.id,
                        s.sealed_at,
                        s.privileged_id,
                        s.number_masked,
                        s.sealed,
                        s.already_sealed,
                        s.unreadable,
                        s.sealed_by
                    ));
                }
                crate::output::print(&out)?;
            }
        }
    }
    Ok(())
}

fn hold_json(h: &LegalHold) -> serde_json::Value {
    serde_json::json!({
        "id": h.id,
        "call_id": h.call_id,
        "recording_id": h.recording_id,
        "placed_by": h.placed_by,
        "reason": h.reason,
        "placed_at": h.placed_at.to_string(),
        "released_by": h.released_by,
        "released_at": h.released_at.map(|t| t.to_string()),
    })
}

/// Appends the local operator's key-change entry before a retention or
/// legal-hold change; an error means the change must not happen.
async fn log_first(
    local: &Local,
    key_dir: &std::path::Path,
    kind: callward_audit::ObjectKind,
    object: &str,
    what: &str,
    command: &str,
) -> anyhow::Result<()> {
    crate::access_log::record_local(
        local,
        key_dir,
        "key changes",
        (
            callward_audit::Action::KeyChange,
            kind,
            object,
            what,
            command,
        ),
    )
    .await?;
    Ok(())
}

async fn hold(
    cmd: HoldCommand,
    data_dir: &std::path::Path,
    key_dir: &std::path::Path,
    config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    match cmd {
        HoldCommand::Add {
            call_id,
            by,
            reason,
        } => {
            let by =
                callward_core::Username::parse(&by).map_err(|e| anyhow::anyhow!("--by: {e}"))?;
            let reason = reason.trim();
            if reason.chars().count() < 3 {
                bail!("--reason: say why the recording is held (at least 3 characters)");
            }
            let local = Local::open_existing(data_dir).await?;
            let call = local.store.call(call_id.trim()).await?;
            let Some(recording) = call.recording_id.clone() else {
                bail!("call {} has no recording", call.id);
            };
            if let Some(at) = local.store.recording_expired_at(&call.id).await? {
                bail!(
                    "the recording of call {} was deleted at the end of retention ({at})",
                    call.id
                );
            }
            let files = RecordingFiles::new(crate::recording_store::for_reading(config, data_dir)?);
            let header = files.header(&recording).await?;
            log_first(
                &local,
                key_dir,
                callward_audit::ObjectKind::Recording,
                &recording,
                &format!("legal hold by {by}: {reason}"),
                "recordings hold add",
            )
            .await?;
            // The hold record first, then the row: a row always has its record.
            // A sealed recording needs none: its seal record keeps it readable
            // to privilege review.
            if sealed_to(&header).is_none() {
                let keys = KeyDir::open(key_dir, data_dir)?;
                let keyring = keys.keyring()?;
                let record = rewrap_for_hold(
                    &header,
                    &keys,
                    keyring.hold_public(),
                    &mut crate::keys::os_rng()?,
                )
                .with_context(|| format!("cannot hold the recording of call {}", call.id))?;
                files
                    .write_record(&recording, RecordKind::LegalHold, record.as_bytes())
                    .await?;
            }
            let h = local
                .store
                .place_hold(&call.id, &recording, by.as_str(), reason, Timestamp::now())
                .await?;
            tracing::info!(call = %call.id, hold_id = h.id, "legal hold placed");
            println!("hold {} placed on the recording of call {}", h.id, call.id);
        }
        HoldCommand::Remove { call_id, by } => {
            let by =
                callward_core::Username::parse(&by).map_err(|e| anyhow::anyhow!("--by: {e}"))?;
            let local = Local::open_existing(data_dir).await?;
            log_first(
                &local,
                key_dir,
                callward_audit::ObjectKind::CallRecord,
                call_id.trim(),
                &format!("legal hold released by {by}"),
                "recordings hold remove",
            )
            .await?;
            let h = local
                .store
                .release_hold(call_id.trim(), by.as_str(), Timestamp::now())
                .await?;
            tracing::info!(call = %h.call_id, hold_id = h.id, "legal hold released");
            println!(
                "hold {} released; the recording of call {} now expires with its retention period",
                h.id, h.call_id
            );
        }
        HoldCommand::List { all, json } => {
            let local = Local::open_existing(data_dir).await?;
            let holds = local.store.legal_holds(all).await?;
            if json {
                let rows: Vec<_> = holds.iter().map(hold_json).collect();
                crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
            } else {
                let mut out = String::new();
                for h in &holds {
                    out.push_str(&format!(
                        "hold {}: call {}, by {} at {}: {}{}\n",
                        h.id,
                        h.call_id,
                        h.placed_by,
                        h.placed_at,
                        h.reason,
                        match (&h.released_by, h.released_at) {
                            (Some(b), Some(t)) => format!(" (released by {b} at {t})"),
                            _ => String::new(),
                        }
                    ));
                }
                crate::output::print(&out)?;
            }
        }
    }
    Ok(())
}
