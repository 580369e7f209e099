//! `callward recording export|verify`: read recordings through the agency
//! keys (the key service, in this process in the embedded set-up).
//!
//! - `export CALL_ID --out FILE.wav --reason TEXT`: the call's recording
//!   as a 16-bit PCM WAV, 8 kHz, channel 1 the station, channel 2 the
//!   outside party. The file is created new (never overwritten) and only
//!   once the whole recording has authenticated: a damaged recording gives
//!   an error naming it and no file.
//! - `verify [--all | CALL_ID...]`: opens each recording completely (header,
//!   header binding through the key commitment, every chunk's tag and the
//!   final chunk) and reports each bad one; exit status 1 if any is bad.
//!
//! Export is logged first: the access is appended to the audit log (the
//! local user, the recording, the reason) before the key is asked for, and
//! the key is released only against that entry's inclusion proof and a
//! signed checkpoint (`access_log::LogGate`). If the log cannot be written,
//! nothing is read.
//!
//! Every export counts against a quota before anything is decrypted: a
//! console user's (`--user`, `session_cli::authorise_export`) or, without
//! `--user`, the local operator's, `local:uid-<uid>` (the kernel's uid, which
//! `$USER` cannot change), under the recording's agency's daily quota and
//! bulk limit. Over it the export is refused (a `refused` and an `alert`
//! entry) unless `--approval` names a supervisor's grant of a request made
//! with `recording request-approval` (`docs/access-control.md`).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_audit::{Action, ObjectKind};
use callward_store::Store as _;
use callward_vault::{
    AgencyPrivateKey, DataKey, EpochStatus, HoldKeys, KeyDir, KeyError, KeyProvider, KeyRecord,
    RecordKind, RecordingHeader,
};
use clap::{Args, Subcommand};

use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;
use crate::recording_files::RecordingFiles;

/// `callward recording`.
#[derive(Debug, Args)]
pub(crate) struct RecordingArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// A config file whose `[recordings]` gives the S3 credentials (or set
    /// CALLWARD_S3_*); the store is the one `serve` recorded in the data dir.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: RecordingCommand,
}

#[derive(Debug, Subcommand)]
enum RecordingCommand {
    /// Write a call's recording as a WAV file (station left, outside right).
    Export {
        /// The call id (see `callward calls list`).
        call_id: String,
        /// The WAV file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE.wav")]
        out: PathBuf,
        /// Why it is exported (case, request); kept with the access.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Export as this console user (password, then TOTP code, on
        /// stdin): inside an open case of theirs, within their quota.
        #[arg(long, requires = "case")]
        user: Option<String>,
        /// The open case the export is for (with --user).
        #[arg(long, value_name = "ID")]
        case: Option<i64>,
        /// A supervisor's granted approval, for an export over quota.
        #[arg(long, value_name = "ID")]
        approval: Option<i64>,
        /// With --user: keep the sign-in in this file (a session token,
        /// 0600) and use it again, so a series of exports signs in once;
        /// the session locks after 30 idle minutes and ends after 12 hours.
        #[arg(long, value_name = "FILE", requires = "user")]
        session_file: Option<PathBuf>,
    },
    /// As the local operator (no --user), ask a supervisor to allow
    /// exports over the quota; they run `callward approval grant ID`.
    RequestApproval {
        /// Recordings it should cover.
        #[arg(long)]
        count: u32,
        /// Why (at least 10 characters).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The agency whose recordings (id or name); needed when there are several.
        #[arg(long, value_name = "AGENCY")]
        agency: Option<String>,
    },
    /// Check stored recordings: structure, header binding, chunk framing.
    Verify {
        /// Every recording in the data dir.
        #[arg(long, conflicts_with = "call_ids")]
        all: bool,
        /// The calls whose recordings to check.
        call_ids: Vec<String>,
    },
}

/// Runs one `recording` command; `false` when `verify` found a bad one.
pub(crate) async fn run(args: RecordingArgs) -> anyhow::Result<bool> {
    let data_dir = &args.data_dir.data_dir;
    let store = crate::recording_store::for_reading(args.config.as_deref(), data_dir)?;
    match args.command {
        RecordingCommand::Export {
            call_id,
            out,
            reason,
            user,
            case,
            approval,
            session_file,
        } => {
            let reason = reason.trim();
            if reason.chars().count() < 3 {
                bail!("--reason: say why the recording is exported (at least 3 characters)");
            }
            // The key request carries the entry; keep it well inside a frame.
            if reason.len() > MAX_REASON_LEN {
                bail!("--reason: at most {MAX_REASON_LEN} bytes");
            }
            if out.exists() {
                bail!("{} already exists; choose a new file", out.display());
            }
            let local = Local::open_existing(data_dir).await?;
            let call = local.store.call(call_id.trim()).await?;
            let Some(recording) = call.recording_id.clone() else {
                bail!(
                    "call {} has no recording{}",
                    call.id,
                    if call.privileged {
                        " (privileged calls are never recorded)"
                    } else {
                        ""
                    }
                );
            };
            let key_dir = &args.key_dir.key_dir;
            let release = crate::release::Release::open(key_dir, data_dir, store.clone())?;
            // Logged first: nothing is read before the entry is durable.
            let mut log = crate::access_log::AccessLog::open(&local, key_dir).await?;
            // A console user: signed in, case, privilege, quota (refusals logged).
            let entry = match (&user, &session_file) {
                (Some(user), session_file) => {
                    let who = match session_file {
                        Some(file) => session_sign_in(&local, key_dir, user, file).await?,
                        None => {
                            crate::session_cli::sign_in(&local, &mut log, user, "recording export")
                                .await?
                        }
                    };
                    crate::session_cli::authorise_export(
                        &local, &mut log, &who, case, approval, &call, &recording, reason,
                    )
                    .await?
                }
                (None, _) => {
                    authorise_local_export(&local, &mut log, approval, &call, &recording, reason)
                        .await?
                }
            };
            let appended = log.record(&entry).await?;
            // From the entry to the watermarked WAV: the path the console shares.
            let wav = release
                .wav(
                    &local.store,
                    log.inner(),
                    &call.id,
                    &recording,
                    appended.index,
                )
                .await?;
            write_file(&out, &wav.bytes)?;
            tracing::info!(call = %call.id, recording = %recording, reason, "recording exported");
            eprintln!(
                "wrote {} ({:.1} s, station left, outside right)",
                out.display(),
                wav.seconds
            );
        }
        RecordingCommand::RequestApproval {
            count,
            reason,
            agency,
        } => {
            if count == 0 {
                bail!("--count: at least 1");
            }
            let reason = callward_core::auth::Justification::parse(&reason)?;
            let local = Local::open_existing(data_dir).await?;
            let agency = match agency {
                Some(a) => local.store.find_agency(&a).await?,
                None => {
                    let mut all = local.store.list_agencies().await?;
                    if all.len() != 1 {
                        bail!(
                            "--agency: name the agency whose recordings (there are {})",
                            all.len()
                        );
                    }
                    all.remove(0)
                }
            };
            let mut log = crate::access_log::AccessLog::open(&local, &args.key_dir.key_dir).await?;
            let operator = local_operator();
            let a = local
                .store
                .request_local_approval(
                    &operator,
                    agency.id,
                    count,
                    &reason,
                    crate::session_cli::now_ms(),
                )
                .await?;
            log.record(&crate::access_log::local_entry(
                Action::ApprovalRequest,
                ObjectKind::Approval,
                &a.id.to_string(),
                &format!("{count} recordings for {operator}: {}", reason.as_str()),
                "recording request-approval",
            ))
            .await?;
            crate::output::println(format_args!(
                "approval {} requested for {count} recordings by {operator}; a supervisor of agency {} decides (`callward approval grant {}`)",
                a.id, agency.name, a.id
            ))?;
        }
        RecordingCommand::Verify { all, call_ids } => {
            if !all && call_ids.is_empty() {
                bail!("name the calls to verify, or use --all");
            }
            let keys = KeyDir::open(&args.key_dir.key_dir, data_dir)?;
            let ids = if all {
                store.list().await?
            } else {
                let local = Local::open_existing(data_dir).await?;
                let mut ids = Vec::new();
                for id in &call_ids {
                    match local.store.call(id.trim()).await?.recording_id {
                        Some(r) => ids.push(r),
                        None => bail!("call {} has no recording", id.trim()),
                    }
                }
                ids
            };
            let progress = Progress::new(ids.len());
            let mut bad = 0usize;
            let files = RecordingFiles::new(store);
            // Sealed for privilege review: only the review key opens them,
            // and it is not here; they are counted, not reported bad.
            let mut sealed = 0usize;
            let mut hold_key = None;
            for (i, id) in ids.iter().enumerate() {
                let header = files.header(id).await;
                if header
                    .as_ref()
                    .is_ok_and(|h| callward_vault::keyrecord::sealed_to(h).is_some())
                {
                    sealed += 1;
                } else if let Err(e) =
                    verify_one(&keys, &files, id, header.ok(), &mut hold_key).await
                {
                    bad += 1;
                    progress.clear();
                    crate::output::println(format_args!("BAD {id}: {e:#}"))?;
                }
                progress.show(i + 1);
            }
            progress.clear();
            let sealed = if sealed > 0 {
                format!(", {sealed} sealed for privilege review (not opened)")
            } else {
                String::new()
            };
            crate::output::println(format_args!(
                "{} recordings checked, {bad} bad{sealed}",
                ids.len()
            ))?;
            return Ok(bad == 0);
        }
    }
    Ok(true)
}

/// The local operator as quotas count it: `local:uid-<uid>`, the real uid
/// the kernel reports (as `access_log::local_entry` names it in the source),
/// so changing `$USER` does not give a fresh quota.
fn local_operator() -> String {
    use std::os::unix::fs::MetadataExt as _;
    match std::fs::metadata("/proc/self") {
        Ok(m) => format!("local:uid-{}", m.uid()),
        Err(_) => {
            let name = crate::access_log::local_entry(
                Action::Export,
                ObjectKind::None,
                "",
                "",
                "recording export",
            )
            .user;
            format!("local:{name}")
        }
    }
}

/// The quota check of an export without `--user`: the local operator's
/// releases against the recording's agency's policy, with `approval` if
/// given. A refusal is logged (over quota with an alert) and fails; on
/// success the release is recorded and the export entry to append is
/// returned.
async fn authorise_local_export(
    local: &Local,
    log: &mut crate::access_log::AccessLog,
    approval: Option<i64>,
    call: &callward_core::CallDetailRecord,
    recording: &str,
    reason: &str,
) -> anyhow::Result<callward_audit::Entry> {
    const CMD: &str = "recording export";
    let entry = |action, kind, object: &str, why: &str| {
        crate::access_log::local_entry(action, kind, object, why, CMD)
    };
    let operator = local_operator();
    let agency = local.store.facility_agency(call.facility_id).await?;
    let policy = local.store.agency(agency).await?.policy;
    let released = local
        .store
        .release_local(
            &operator,
            agency,
            &[recording.to_owned()],
            policy,
            approval.map(callward_core::ApprovalId),
            crate::session_cli::now_ms(),
        )
        .await;
    match released {
        Ok(callward_store::Release::Done { approval, .. }) => {
            let why = match approval {
                Some(a) => format!("{reason} (approval {a})"),
                None => reason.to_owned(),
            };
            Ok(entry(
                Action::Export,
                ObjectKind::Recording,
                recording,
                &why,
            ))
        }
        Ok(callward_store::Release::NeedsApproval(need)) => {
            let why = format!("{operator}: {need}");
            log.record(&entry(
                Action::Refused,
                ObjectKind::Recording,
                recording,
                &why,
            ))
            .await?;
            log.record(&entry(
                Action::Alert,
                ObjectKind::User,
                &operator,
                &format!("quota: {why}"),
            ))
            .await?;
            tracing::warn!(operator, "export refused over quota");
            bail!(
                "refused: {why}; ask a supervisor (`callward recording request-approval --count N --reason TEXT`, then export with --approval ID)"
            )
        }
        Err(e) => {
            let why = format!("{operator}: {e}");
            log.record(&entry(
                Action::Refused,
                ObjectKind::Recording,
                recording,
                &why,
            ))
            .await?;
            bail!("refused: {why}")
        }
    }
}

/// `--user U --session-file FILE`: the console's sign-in service
/// (`callward_web::auth::Sessions`) from the command line. The session in
/// FILE if it is U's and usable (AC-11: not idle-locked, not expired, the
/// account not locked), else a sign-in from stdin (password, TOTP code;
/// logged like every sign-in) whose new session replaces FILE (0600). A
/// console session's token works here too: the store keeps only hashes.
async fn session_sign_in(
    local: &Local,
    key_dir: &Path,
    username: &str,
    file: &Path,
) -> anyhow::Result<crate::session_cli::SignedIn> {
    use callward_web::auth::{LoginOutcome, SessionToken, Sessions};
    let now = crate::session_cli::now_ms();
    let log =
        callward_web::access_log::AccessLog::open(&local.store, crate::audit_key::load(key_dir)?)
            .await?;
    let sessions = Sessions::new(
        local.store.clone(),
        std::sync::Arc::new(tokio::sync::Mutex::new(log)),
    );
    let saved = match std::fs::read_to_string(file) {
        Ok(t) => SessionToken::parse(t.trim()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    if let Some(token) = saved
        // Locked for idleness, expired, unknown: sign in again below.
        && let Ok(auth) = sessions.authenticate(&token, now).await
        && auth.identity.user.username.as_str() == username.trim()
    {
        return Ok(crate::session_cli::SignedIn {
            user: auth.identity.user,
            agency: auth.identity.agency,
        });
    }
    let (password, code) = read_credentials()?;
    let source = callward_audit::Source::Local("cli: callward recording export".into());
    let outcome = sessions
        .login(username, &password, code.as_deref(), source, now)
        .await?;
    let LoginOutcome::Session(session) = outcome else {
        bail!(
            "sign-in refused: {username} has no TOTP second factor enrolled; an administrator runs `callward admin user reset-totp {username}`"
        );
    };
    let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
    let token = zeroize::Zeroizing::new(session.token.expose());
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(token.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write the session to {}", file.display()));
    }
    Ok(crate::session_cli::SignedIn {
        user: session.identity.user,
        agency: session.identity.agency,
    })
}

/// The password (first line of stdin) and the TOTP code (second, optional).
fn read_credentials() -> anyhow::Result<(zeroize::Zeroizing<String>, Option<String>)> {
    use std::io::BufRead as _;
    let mut lines = std::io::stdin().lock().lines();
    let password = zeroize::Zeroizing::new(
        lines
            .next()
            .transpose()
            .context("cannot read the password from stdin")?
            .unwrap_or_default()
            .trim_end_matches('\r')
            .to_owned(),
    );
    if password.is_empty() {
        bail!("give the password on the first line of stdin (and the TOTP code on the second)");
    }
    let code = lines
        .next()
        .transpose()
        .context("cannot read the TOTP code from stdin")?
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    Ok((password, code))
}

/// Longest `--reason` accepted for an export.
const MAX_REASON_LEN: usize = 2000;

/// The one data key the key service released for this export.
pub(crate) struct Released(pub(crate) DataKey);

impl KeyProvider for Released {
    fn unwrap_data_key(&self, _: &RecordingHeader) -> Result<DataKey, KeyError> {
        Ok(self.0.clone())
    }
}

/// The hold record of a recording on legal hold whose epoch is shredded;
/// `None` for any other.
pub(crate) async fn held_after_shred(
    keys: &KeyDir,
    files: &RecordingFiles,
    id: &str,
    header: &RecordingHeader,
) -> anyhow::Result<Option<KeyRecord>> {
    let shredded = keys.keyring()?.epoch(header.key_epoch()).is_some_and(|e| {
        e.key_id() == header.key_id() && matches!(e.status, EpochStatus::Shredded { .. })
    });
    if !shredded {
        return Ok(None);
    }
    files.record(id, RecordKind::LegalHold).await
}

/// Opens recording `id` completely with the key directory, or for a held
/// recording of a shredded epoch through its hold record and the hold key
/// (loaded once, on first need).
async fn verify_one(
    keys: &KeyDir,
    files: &RecordingFiles,
    id: &str,
    header: Option<RecordingHeader>,
    hold_key: &mut Option<AgencyPrivateKey>,
) -> anyhow::Result<()> {
    let record = match &header {
        Some(h) => held_after_shred(keys, files, id, h).await?,
        None => None,
    };
    match record {
        Some(record) => {
            if hold_key.is_none() {
                *hold_key = Some(keys.hold_key()?);
            }
            let Some(key) = hold_key.as_ref() else {
                bail!("hold key unavailable");
            };
            open_recording(
                files,
                id,
                &HoldKeys {
                    record: &record,
                    key,
                },
            )
            .await?;
        }
        None => {
            open_recording(files, id, keys).await?;
        }
    }
    Ok(())
}

/// Reads and fully authenticates recording `id`; the audio (two-channel
/// A-law). Errors name the recording.
pub(crate) async fn open_recording(
    files: &RecordingFiles,
    id: &str,
    keys: &(dyn KeyProvider + Sync),
) -> anyhow::Result<Vec<u8>> {
    let bytes = files
        .store()
        .read(id)
        .await
        .with_context(|| format!("recording {id}: cannot read it"))?;
    let recording = callward_vault::open(&bytes, keys)
        .with_context(|| format!("recording {id} is damaged or unreadable"))?;
    if recording.header.call_id().as_str() != id {
        bail!(
            "recording {id} is damaged or misplaced: its header names call {}",
            recording.header.call_id()
        );
    }
    Ok(recording.audio)
}

/// Writes the released WAV `bytes` to `out`, created new, owner-only.
fn write_file(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("cannot create {}", out.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// A one-line progress bar on stderr, when stderr is a terminal.
struct Progress {
    total: usize,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        use std::io::IsTerminal as _;
        Self {
            total,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize) {
        if self.tty && self.total > 0 {
            let width = 30;
            let filled = done * width / self.total;
            eprint!(
                "\r[{}{}] {done}/{}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.total
            );
        }
    }

    fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}
