//! `callward keys ...`: the agency key directory (`docs/keys.md`).
//!
//! - `init`: a new key directory with epoch 1, the hold key and the review key;
//! - `rotate`: a new current epoch; `list [--json]`: the epochs;
//! - `shred EPOCH`: crypto-shred an epoch (its recordings become unreadable);
//! - `hold RECORDING...`: write each recording's `.hold` record (legal hold);
//! - `seal RECORDING...`: seal each recording for privilege review;
//! - `expire`: shred expired epochs, delete their unheld recordings.
//!
//! A RECORDING is an id in the data dir's store (local or S3, the one
//! `serve` recorded) or the path of a recording file.
//!
//! The key directory must lie outside the data dir; every command checks.
//! Key bytes are never printed or logged.
//!
//! Every command that changes keys or key records appends an access-log
//! entry (a key change, or a privilege seal, by the local operator) to the
//! data dir's log first; if it cannot, nothing changes (issue 7, item 2).
//! `init` is the exception that cannot be: the log's key is made by it, so
//! it appends its entry just after, when the data dir has a database.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_vault::keyrecord::{sealed_header, sealed_to};
use callward_vault::{
    EpochStatus, HoldKeys, KeyDir, KeyError, KeyProvider as _, Keyring, OsRng, RecordKind,
    rewrap_for_hold, seal,
};
use clap::{Args, Subcommand};

use callward_audit::{Action, ObjectKind};

use crate::cli::DataDirArg;
use crate::recording_files::RecordingFiles;

/// Where the agency keys live unless `--key-dir` says otherwise: beside,
/// never inside, the default data dir.
pub(crate) const DEFAULT_KEY_DIR: &str = "./callward-keys";

/// `--key-dir`, shared by `keys` and `keyd`.
#[derive(Debug, Clone, Args)]
pub(crate) struct KeyDirArg {
    /// Directory holding the agency's private keys (0700, outside the data dir).
    #[arg(long = "key-dir", value_name = "DIR", default_value = DEFAULT_KEY_DIR)]
    pub(crate) key_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

/// The flags every `keys` subcommand takes.
#[derive(Debug, Args)]
struct Dirs {
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// Refused as a key directory's parent; `hold`, `seal` and `expire`
    /// find recordings named by id in its store.
    #[command(flatten)]
    data_dir: DataDirArg,
    /// A config file whose `[recordings]` gives the S3 credentials (or set
    /// CALLWARD_S3_*) when the data dir's recordings are in S3.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create the key directory: epoch 1, the legal-hold key and the privilege-review key.
    Init {
        #[command(flatten)]
        dirs: Dirs,
    },
    /// Start a new epoch; new recordings are wrapped to it, older epochs stay readable.
    Rotate {
        #[command(flatten)]
        dirs: Dirs,
    },
    /// List the epochs: number, key id, created, status.
    List {
        #[command(flatten)]
        dirs: Dirs,
        /// A JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Crypto-shred an epoch: destroy its private key, so its recordings can never be read.
    Shred {
        #[command(flatten)]
        dirs: Dirs,
        /// The epoch number (see `keys list`).
        epoch: u32,
    },
    /// Legal hold: write RECORDING.hold, the data key wrapped to the hold key, so the
    /// recording stays readable after its epoch is shredded.
    Hold {
        #[command(flatten)]
        dirs: Dirs,
        /// Recording ids in the data dir's store, or paths of recording files.
        #[arg(required = true)]
        recordings: Vec<String>,
    },
    /// Retention: shred every epoch whose recordings are all older than the retention
    /// period, and delete its recordings in DIR except those on legal hold.
    Expire {
        #[command(flatten)]
        dirs: Dirs,
        /// Retention period in days.
        #[arg(long, value_name = "DAYS")]
        retention_days: u32,
        /// A directory of recording files; by default the data dir's store.
        #[arg(long, value_name = "DIR")]
        recordings: Option<PathBuf>,
    },
    /// Privilege seal: move each recording's data key to the privilege-review key
    /// (RECORDING.seal) and erase the agency wrap from its header.
    Seal {
        #[command(flatten)]
        dirs: Dirs,
        /// Recording ids in the data dir's store, or paths of recording files.
        #[arg(required = true)]
        recordings: Vec<String>,
    },
}

impl Dirs {
    fn open(&self) -> anyhow::Result<KeyDir> {
        Ok(KeyDir::open(
            &self.key_dir.key_dir,
            &self.data_dir.data_dir,
        )?)
    }

    /// The data dir's recording store.
    fn store(&self) -> anyhow::Result<RecordingFiles> {
        Ok(RecordingFiles::new(crate::recording_store::for_reading(
            self.config.as_deref(),
            &self.data_dir.data_dir,
        )?))
    }

    /// Each argument as a store and an id: a path names a file in its own
    /// directory, anything else a recording in the data dir's store.
    fn resolve(&self, args: &[String]) -> anyhow::Result<Vec<(RecordingFiles, String)>> {
        let mut store = None;
        let mut out = Vec::with_capacity(args.len());
        for arg in args {
            if let Some(found) = crate::recording_files::by_path(arg) {
                out.push(found);
                continue;
            }
            if store.is_none() {
                store = Some(self.store()?);
            }
            let Some(files) = store.clone() else {
                bail!("no recording store");
            };
            out.push((files, arg.clone()));
        }
        Ok(out)
    }
}

/// The OS CSPRNG, checked once.
pub(crate) fn os_rng() -> anyhow::Result<OsRng> {
    OsRng::new().map_err(|e| anyhow::anyhow!("no randomness: {e}"))
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn timestamp(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

pub(crate) async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Init { dirs } => {
            let key_dir = &dirs.key_dir.key_dir;
            let (_, keyring) =
                KeyDir::create(key_dir, &dirs.data_dir.data_dir, now_unix(), &mut os_rng()?)?;
            let current = keyring.current();
            let vkey = crate::audit_key::ensure(key_dir)?;
            crate::watermark_cli::create_key(key_dir)?;
            if dirs.data_dir.data_dir.join(crate::local::DB_FILE).is_file() {
                log_first(
                    &dirs,
                    Action::KeyChange,
                    ObjectKind::Key,
                    "keyring",
                    "init",
                    "keys init",
                )
                .await?;
            }
            println!(
                "created key directory {} with epoch {} (key id {}); audit log key {vkey}",
                key_dir.display(),
                current.number,
                current.key_id()
            );
        }
        KeysCommand::Rotate { dirs } => {
            let dir = dirs.open()?;
            log_first(
                &dirs,
                Action::KeyChange,
                ObjectKind::Key,
                "keyring",
                "rotate",
                "keys rotate",
            )
            .await?;
            let epoch = dir.rotate(now_unix(), &mut os_rng()?)?;
            println!(
                "epoch {} (key id {}) is now current",
                epoch.number,
                epoch.key_id()
            );
        }
        KeysCommand::List { dirs, json } => list(&dirs.open()?.keyring()?, json)?,
        KeysCommand::Shred { dirs, epoch } => {
            let dir = dirs.open()?;
            log_first(
                &dirs,
                Action::KeyChange,
                ObjectKind::Key,
                &format!("epoch {epoch}"),
                "crypto-shred",
                "keys shred",
            )
            .await?;
            if dir.shred(epoch, now_unix())? {
                println!("epoch {epoch} was already shredded");
            } else {
                println!(
                    "epoch {epoch} shredded: its private key is destroyed and its recordings can no longer be read"
                );
            }
        }
        KeysCommand::Hold { dirs, recordings } => {
            let dir = dirs.open()?;
            let keyring = dir.keyring()?;
            let mut rng = os_rng()?;
            for (files, id) in dirs.resolve(&recordings)? {
                log_first(
                    &dirs,
                    Action::KeyChange,
                    ObjectKind::Recording,
                    &id,
                    "legal hold record",
                    "keys hold",
                )
                .await?;
                let header = files.header(&id).await?;
                let record = rewrap_for_hold(&header, &dir, keyring.hold_public(), &mut rng)
                    .with_context(|| format!("cannot hold recording {id}"))?;
                files
                    .write_record(&id, RecordKind::LegalHold, record.as_bytes())
                    .await?;
            }
            println!("held {} recordings", recordings.len());
        }
        KeysCommand::Expire {
            dirs,
            retention_days,
            recordings,
        } => {
            let files = match recordings {
                Some(dir) => RecordingFiles::local_dir(dir),
                None => dirs.store()?,
            };
            let dir = dirs.open()?;
            log_first(
                &dirs,
                Action::KeyChange,
                ObjectKind::Key,
                "keyring",
                &format!("expire: retention {retention_days} days"),
                "keys expire",
            )
            .await?;
            expire(&dir, retention_days, &files).await?;
        }
        KeysCommand::Seal { dirs, recordings } => {
            let dir = dirs.open()?;
            let mut count = SealCount::default();
            for (files, id) in dirs.resolve(&recordings)? {
                log_first(
                    &dirs,
                    Action::PrivilegeSeal,
                    ObjectKind::Recording,
                    &id,
                    "privilege seal",
                    "keys seal",
                )
                .await?;
                let c = seal_all(&dir, &files, std::slice::from_ref(&id)).await?;
                count.sealed += c.sealed;
                count.already += c.already;
                count.shredded += c.shredded;
            }
            println!(
                "sealed {} recordings ({} already sealed, {} unreadable: epoch shredded)",
                count.sealed, count.already, count.shredded
            );
        }
    }
    Ok(())
}

/// Appends the local operator's entry for a key operation to the data
/// dir's access log; an error means the operation must not happen.
async fn log_first(
    dirs: &Dirs,
    action: Action,
    kind: ObjectKind,
    object: &str,
    what: &str,
    command: &str,
) -> anyhow::Result<()> {
    let local = crate::local::Local::open_existing(&dirs.data_dir.data_dir)
        .await
        .context("key changes are logged first, in the data dir's access log")?;
    crate::access_log::record_local(
        &local,
        &dirs.key_dir.key_dir,
        "key changes",
        (action, kind, object, what, command),
    )
    .await?;
    Ok(())
}

fn list(keyring: &Keyring, json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = keyring
            .epochs()
            .iter()
            .map(|e| {
                let shredded_at = match e.status {
                    EpochStatus::Shredded { at_unix } => serde_json::json!(timestamp(at_unix)),
                    _ => serde_json::Value::Null,
                };
                let public: String = e
                    .public
                    .to_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                serde_json::json!({
                    "epoch": e.number,
                    "key_id": e.key_id().to_string(),
                    "public_key": public,
                    "created": timestamp(e.created_unix),
                    "status": e.status.name(),
                    "shredded_at": shredded_at,
                })
            })
            .collect();
        return crate::output::print(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
    }
    let mut out = format!(
        "{:<6} {:<16}  {:<20}  STATUS\n",
        "EPOCH", "KEY ID", "CREATED"
    );
    for e in keyring.epochs() {
        let status = match e.status {
            EpochStatus::Shredded { at_unix } => format!("shredded {}", timestamp(at_unix)),
            other => other.name().to_owned(),
        };
        out.push_str(&format!(
            "{:<6} {:<16}  {:<20}  {status}\n",
            e.number,
            e.key_id().to_string(),
            timestamp(e.created_unix)
        ));
    }
    crate::output::print(&out)
}

/// Writes a new file (0600) and syncs it; an existing one is replaced
/// only through a rename, never half-written.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    sync_parent(path)
}

pub(crate) fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", parent.display()))
}

/// What [`seal_all`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SealCount {
    /// Sealed now (including seals an interruption had left half done).
    pub(crate) sealed: usize,
    /// Sealed before.
    pub(crate) already: usize,
    /// Not sealed because their epoch is shredded and they are not held:
    /// nothing can read them anyway.
    pub(crate) shredded: usize,
}

/// Seals each recording: the `.seal` record is written first (whole or
/// not at all), then the header is replaced (in place and synced in a
/// directory, one PUT of the object in S3). A recording whose `.seal`
/// record exists but whose header is not yet sealed (an interrupted seal)
/// gets its header from the record. One whose epoch is shredded is sealed
/// through its hold record if it has one, else skipped.
pub(crate) async fn seal_all(
    dir: &KeyDir,
    files: &RecordingFiles,
    ids: &[String],
) -> anyhow::Result<SealCount> {
    let keyring = dir.keyring()?;
    let mut rng = os_rng()?;
    let mut hold_key = None;
    let mut count = SealCount::default();
    for id in ids {
        let header = files.header(id).await?;
        if sealed_to(&header).is_some() {
            count.already += 1;
            continue;
        }
        if let Some(record) = files.record(id, RecordKind::PrivilegeSeal).await?
            && record.kind() == RecordKind::PrivilegeSeal
            && record.made_for(&header)
        {
            files
                .replace_header(id, &sealed_header(&header, record.key_id()))
                .await?;
            count.sealed += 1;
            continue;
        }
        let result = match dir.unwrap_data_key(&header) {
            Err(KeyError::Shredded { .. }) => {
                let Some(record) = files.record(id, RecordKind::LegalHold).await? else {
                    count.shredded += 1;
                    continue;
                };
                if hold_key.is_none() {
                    hold_key = Some(dir.hold_key()?);
                }
                let Some(key) = hold_key.as_ref() else {
                    bail!("hold key unavailable");
                };
                seal(
                    &header,
                    &HoldKeys {
                        record: &record,
                        key,
                    },
                    keyring.review_public(),
                    &mut rng,
                )
            }
            _ => seal(&header, dir, keyring.review_public(), &mut rng),
        };
        let out = result.with_context(|| format!("cannot seal recording {id}"))?;
        files
            .write_record(id, RecordKind::PrivilegeSeal, out.record.as_bytes())
            .await?;
        files.replace_header(id, &out.header).await?;
        count.sealed += 1;
    }
    Ok(count)
}

/// The retention job's key part: for each expired epoch, check that every
/// held recording of it opens through its hold record, shred the epoch,
/// then delete the epoch's recordings (and seal records) that are not held.
/// An epoch with a hold record that does not open is left alone.
async fn expire(dir: &KeyDir, retention_days: u32, files: &RecordingFiles) -> anyhow::Result<()> {
    let keyring = dir.keyring()?;
    let now = now_unix();
    let expired = keyring.expired_epochs(now, i64::from(retention_days) * 86_400);
    let mut recordings = Vec::new();
    for id in files.list().await? {
        if let Ok(header) = files.header(&id).await {
            recordings.push((id, header));
        }
    }
    let hold_key = dir.hold_key()?;
    let mut out = String::new();
    for epoch in &expired {
        let Some(info) = keyring.epoch(*epoch) else {
            continue;
        };
        // Only this keyring's recordings of the epoch: same number and key id.
        let of_epoch: Vec<_> = recordings
            .iter()
            .filter(|(_, h)| h.key_epoch() == *epoch && h.key_id() == info.key_id())
            .collect();
        let mut held_ids = Vec::new();
        for (id, header) in &of_epoch {
            let Some(record) = files.record(id, RecordKind::LegalHold).await? else {
                continue;
            };
            HoldKeys {
                record: &record,
                key: &hold_key,
            }
            .unwrap_data_key(header)
            .with_context(|| {
                format!(
                    "epoch {epoch} not shredded: the hold record of recording {id} does not open"
                )
            })?;
            held_ids.push(id.as_str());
        }
        dir.shred(*epoch, now)?;
        let mut deleted = 0;
        for (id, _) in &of_epoch {
            if held_ids.contains(&id.as_str()) {
                continue;
            }
            files.delete(id).await?;
            deleted += 1;
        }
        out.push_str(&format!(
            "epoch {epoch} expired and shredded: deleted {deleted} recordings, kept {} on legal hold\n",
            held_ids.len()
        ));
    }
    if expired.is_empty() {
        out.push_str("no epoch has expired\n");
    }
    crate::output::print(&out)
}
