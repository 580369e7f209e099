//! `callward keys ...`: the agency key directory (`docs/keys.md`).
//!
//! - `init`: a new key directory with epoch 1, the hold key and the review key;
//! - `rotate`: a new current epoch; `list [--json]`: the epochs;
//! - `shred EPOCH`: crypto-shred an epoch (its recordings become unreadable);
//! - `hold RECORDING...`: write each recording's `.hold` record (legal hold);
//! - `seal RECORDING...`: seal each recording for privilege review.
//!
//! The key directory must lie outside the data dir; every command checks.
//! Key bytes are never printed or logged.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_vault::keyrecord::{sealed_header, sealed_to};
use callward_vault::{
    EpochStatus, HoldKeys, KeyDir, KeyError, KeyProvider as _, Keyring, OsRng, RecordKind,
    RecordingHeader, rewrap_for_hold, seal,
};
use clap::{Args, Subcommand};

use crate::cli::DataDirArg;

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
    /// Only used to refuse a key directory inside it.
    #[command(flatten)]
    data_dir: DataDirArg,
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
        /// Recording container files.
        #[arg(required = true)]
        recordings: Vec<PathBuf>,
    },
    /// Retention: shred every epoch whose recordings are all older than the retention
    /// period, and delete its recordings in DIR except those on legal hold.
    Expire {
        #[command(flatten)]
        dirs: Dirs,
        /// Retention period in days.
        #[arg(long, value_name = "DAYS")]
        retention_days: u32,
        /// Directory of recording files.
        #[arg(long, value_name = "DIR")]
        recordings: PathBuf,
    },
    /// Privilege seal: move each recording's data key to the privilege-review key
    /// (RECORDING.seal) and erase the agency wrap from its header.
    Seal {
        #[command(flatten)]
        dirs: Dirs,
        /// Recording container files.
        #[arg(required = true)]
        recordings: Vec<PathBuf>,
    },
}

impl Dirs {
    fn open(&self) -> anyhow::Result<KeyDir> {
        Ok(KeyDir::open(
            &self.key_dir.key_dir,
            &self.data_dir.data_dir,
        )?)
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

pub(crate) fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Init { dirs } => {
            let key_dir = &dirs.key_dir.key_dir;
            let (_, keyring) =
                KeyDir::create(key_dir, &dirs.data_dir.data_dir, now_unix(), &mut os_rng()?)?;
            let current = keyring.current();
            let vkey = crate::audit_key::ensure(key_dir)?;
            println!(
                "created key directory {} with epoch {} (key id {}); audit log key {vkey}",
                key_dir.display(),
                current.number,
                current.key_id()
            );
        }
        KeysCommand::Rotate { dirs } => {
            let epoch = dirs.open()?.rotate(now_unix(), &mut os_rng()?)?;
            println!(
                "epoch {} (key id {}) is now current",
                epoch.number,
                epoch.key_id()
            );
        }
        KeysCommand::List { dirs, json } => list(&dirs.open()?.keyring()?, json)?,
        KeysCommand::Shred { dirs, epoch } => {
            if dirs.open()?.shred(epoch, now_unix())? {
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
            for path in &recordings {
                let header = read_header(path)?;
                let record = rewrap_for_hold(&header, &dir, keyring.hold_public(), &mut rng)
                    .with_context(|| format!("cannot hold {}", path.display()))?;
                write_new(&sidecar(path, RecordKind::LegalHold), record.as_bytes())?;
            }
            println!("held {} recordings", recordings.len());
        }
        KeysCommand::Expire {
            dirs,
            retention_days,
            recordings,
        } => expire(&dirs.open()?, retention_days, &recordings)?,
        KeysCommand::Seal { dirs, recordings } => {
            let count = seal_all(&dirs.open()?, &recordings)?;
            println!(
                "sealed {} recordings ({} already sealed, {} unreadable: epoch shredded)",
                count.sealed, count.already, count.shredded
            );
        }
    }
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

/// `RECORDING.hold` or `RECORDING.seal`.
pub(crate) fn sidecar(recording: &Path, kind: RecordKind) -> PathBuf {
    let mut name = recording.as_os_str().to_owned();
    name.push(".");
    name.push(kind.suffix());
    PathBuf::from(name)
}

/// Reads the header at the start of a recording file.
pub(crate) fn read_header(path: &Path) -> anyhow::Result<RecordingHeader> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut head = Vec::with_capacity(400);
    std::io::Read::by_ref(&mut file)
        .take(400)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    RecordingHeader::parse(&head).with_context(|| format!("{}", path.display()))
}

/// Writes a new file (0600) and syncs it; an existing one is replaced
/// only through a rename, never half-written.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = sidecar_tmp(path);
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

fn sidecar_tmp(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
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

/// Seals each recording: the `.seal` record is written and synced first,
/// then the header is overwritten in place. A recording whose `.seal`
/// record exists but whose header is not yet sealed (an interrupted seal)
/// gets its header from the record. One whose epoch is shredded is sealed
/// through its hold record if it has one, else skipped.
pub(crate) fn seal_all(dir: &KeyDir, recordings: &[PathBuf]) -> anyhow::Result<SealCount> {
    let keyring = dir.keyring()?;
    let mut rng = os_rng()?;
    let mut hold_key = None;
    let mut count = SealCount::default();
    for path in recordings {
        let header = read_header(path)?;
        if sealed_to(&header).is_some() {
            count.already += 1;
            continue;
        }
        let seal_path = sidecar(path, RecordKind::PrivilegeSeal);
        if seal_path.exists() {
            let record = KeyDir::read_record(&seal_path)?;
            if record.kind() == RecordKind::PrivilegeSeal && record.made_for(&header) {
                overwrite_header(path, &sealed_header(&header, record.key_id()))?;
                count.sealed += 1;
                continue;
            }
        }
        let hold_path = sidecar(path, RecordKind::LegalHold);
        let result = match dir.unwrap_data_key(&header) {
            Err(KeyError::Shredded { .. }) if hold_path.exists() => {
                let record = KeyDir::read_record(&hold_path)?;
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
            Err(KeyError::Shredded { .. }) => {
                count.shredded += 1;
                continue;
            }
            _ => seal(&header, dir, keyring.review_public(), &mut rng),
        };
        let out = result.with_context(|| format!("cannot seal {}", path.display()))?;
        write_new(&seal_path, out.record.as_bytes())?;
        overwrite_header(path, &out.header)?;
        count.sealed += 1;
    }
    Ok(count)
}

/// Writes `header` over the start of the recording and syncs it.
fn overwrite_header(path: &Path, header: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot seal {}", path.display()))?;
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.write_all(header))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot seal {}", path.display()))
}

/// The recordings in `dir` (files that start with a recording header),
/// with their headers. Sidecars and other files are skipped.
fn recordings_in(dir: &Path) -> anyhow::Result<Vec<(PathBuf, RecordingHeader)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if !path.is_file() {
            continue;
        }
        if let Ok(header) = read_header(&path) {
            found.push((path, header));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The retention job's key part: for each expired epoch, check that every
/// held recording of it opens through its hold record, shred the epoch,
/// then delete the epoch's recordings (and seal records) that are not held.
/// An epoch with a hold record that does not open is left alone.
fn expire(dir: &KeyDir, retention_days: u32, recordings: &Path) -> anyhow::Result<()> {
    let keyring = dir.keyring()?;
    let now = now_unix();
    let expired = keyring.expired_epochs(now, i64::from(retention_days) * 86_400);
    let files = recordings_in(recordings)?;
    let hold_key = dir.hold_key()?;
    let mut out = String::new();
    for epoch in &expired {
        let Some(info) = keyring.epoch(*epoch) else {
            continue;
        };
        // Only this keyring's recordings of the epoch: same number and key id.
        let of_epoch: Vec<_> = files
            .iter()
            .filter(|(_, h)| h.key_epoch() == *epoch && h.key_id() == info.key_id())
            .collect();
        let mut held = 0;
        for (path, header) in &of_epoch {
            let hold_path = sidecar(path, RecordKind::LegalHold);
            if !hold_path.exists() {
                continue;
            }
            let record = KeyDir::read_record(&hold_path)?;
            HoldKeys {
                record: &record,
                key: &hold_key,
            }
            .unwrap_data_key(header)
            .with_context(|| {
                format!(
                    "epoch {epoch} not shredded: the hold record {} does not open",
                    hold_path.display()
                )
            })?;
            held += 1;
        }
        dir.shred(*epoch, now)?;
        let mut deleted = 0;
        for (path, _) in &of_epoch {
            if sidecar(path, RecordKind::LegalHold).exists() {
                continue;
            }
            let seal_path = sidecar(path, RecordKind::PrivilegeSeal);
            if seal_path.exists() {
                std::fs::remove_file(&seal_path)
                    .with_context(|| format!("cannot delete {}", seal_path.display()))?;
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot delete {}", path.display()))?;
            deleted += 1;
        }
        sync_parent(&recordings.join("x"))?;
        out.push_str(&format!(
            "epoch {epoch} expired and shredded: deleted {deleted} recordings, kept {held} on legal hold\n"
        ));
    }
    if expired.is_empty() {
        out.push_str("no epoch has expired\n");
    }
    crate::output::print(&out)
}
