//! Start-up recovery after a crash: every call still in the journal was
//! cut off. Its recording, if it has one, is re-sealed as a complete
//! container (the authenticated prefix re-encrypted under a fresh salt by
//! the vault's `recover`: never appended to, since the crashed stream's
//! next nonce may already be on disk), and its record is stored as
//! `interrupted`. Runs in `serve` before the switch takes calls; in the
//! embedded set-up the key service is in this process, so the data keys
//! needed for re-sealing never leave it.

use std::fs::File;
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use callward_store::{SqliteStore, Store as _, StoreError};
use callward_vault::{ContainerError, KeyDir, StreamEnd};

/// Suffix of a re-sealed recording before it replaces the original.
const RESEALING: &str = "resealing";

/// What became of one interrupted call's recording.
#[derive(Debug, PartialEq, Eq)]
enum Resealed {
    /// It was complete already (the crash came after its last chunk).
    Complete,
    /// Cut short: re-sealed with this many bytes of audio.
    Recovered { audio_len: usize },
    /// Nothing usable was written (not even the header): removed.
    Missing,
}

/// Recovers every call left in the journal. Returns how many calls were
/// recorded as interrupted.
pub(crate) async fn recover_interrupted_calls(
    store: &SqliteStore,
    keys: &KeyDir,
    data_dir: &Path,
) -> anyhow::Result<usize> {
    let recordings = data_dir.join("recordings");
    remove_leftovers(&recordings);
    let open = store
        .open_calls()
        .await
        .context("cannot read the call journal")?;
    let mut recovered = 0;
    for call in open {
        let mut record = call.interrupted();
        if let Some(id) = record.recording_id.clone() {
            let path = callward_switch::recording_path(&recordings, &id);
            match reseal(&path, keys) {
                Ok(Resealed::Complete) => {}
                Ok(Resealed::Recovered { audio_len }) => {
                    tracing::info!(recording = %id, audio_bytes = audio_len, "recording re-sealed after a crash");
                }
                Ok(Resealed::Missing) => record.recording_id = None,
                // Left as it is, for `recording verify` to report.
                Err(e) => {
                    tracing::warn!(recording = %id, error = %e, "recording could not be re-sealed")
                }
            }
        }
        match store.record_call(&record).await {
            Ok(_) => recovered += 1,
            Err(StoreError::Conflict(_)) => store.forget_open_call(&record.id).await?,
            Err(e) => return Err(e).context("cannot store an interrupted call's record"),
        }
        tracing::warn!(
            call = %record.id,
            billable_s = record.billable_seconds,
            recorded = record.recording_id.is_some(),
            "call interrupted by a crash: record stored"
        );
    }
    Ok(recovered)
}

/// Removes re-sealed copies a crash during recovery left unfinished (the
/// original is untouched until the rename).
fn remove_leftovers(recordings: &Path) {
    let Ok(dir) = std::fs::read_dir(recordings) else {
        return;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == RESEALING) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn reseal(path: &Path, keys: &KeyDir) -> anyhow::Result<Resealed> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Resealed::Missing),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if callward_vault::open(&bytes, keys).is_ok() {
        return Ok(Resealed::Complete);
    }
    let mut rng = crate::keys::os_rng()?;
    let recovered = match callward_vault::recover(&bytes, keys, &mut rng) {
        Ok(r) => r,
        Err(ContainerError::HeaderTruncated) => {
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            return Ok(Resealed::Missing);
        }
        Err(e) => return Err(e).with_context(|| format!("{} cannot be recovered", path.display())),
    };
    debug_assert!(matches!(
        recovered.original_end,
        StreamEnd::Truncated { .. }
    ));
    let tmp = path.with_extension(format!(
        "{}.{RESEALING}",
        callward_switch::RECORDING_EXTENSION
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(&recovered.container)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(Resealed::Recovered {
        audio_len: recovered.audio_len,
    })
}
