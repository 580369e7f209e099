//! Retroactive privilege (`docs/keys.md`): when a number is registered as
//! privileged, or its registration verified, every existing recording of a
//! call to it is sealed for privilege review at once, through the key
//! directory (sealing needs only the review public key in the keyring), and
//! the run is recorded in the store with how many were sealed.
//!
//! Every path that registers or verifies a privileged number must call
//! [`seal_recordings_of`] after the store change; today that is
//! `callward admin privileged register|verify`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use callward_core::PrivilegedNumber;
use callward_store::PrivilegeSealEvent;
use callward_vault::KeyDir;

use crate::keys::{SealCount, seal_all};
use crate::local::Local;
use crate::recording_files::RecordingFiles;

/// A sealing run: the stored event, and recordings the store names but
/// storage does not have.
#[derive(Debug)]
pub(crate) struct SealRun {
    pub(crate) event: PrivilegeSealEvent,
    pub(crate) missing: usize,
}

/// Seals every recording of a call to `registration`'s number and records
/// the run. A crash midway is finished by verifying again: what was sealed
/// counts as already sealed.
pub(crate) async fn seal_recordings_of(
    local: &Local,
    key_dir: &Path,
    registration: &PrivilegedNumber,
    by: &str,
) -> anyhow::Result<SealRun> {
    let data_dir = local.dir.path();
    let calls = local.store.recorded_calls_to(&registration.number).await?;
    let files = RecordingFiles::new(data_dir);
    let paths: Vec<PathBuf> = calls
        .iter()
        .map(|c| files.path(&c.recording_id))
        .filter(|p| p.is_file())
        .collect();
    let missing = calls.len() - paths.len();
    let count = if paths.is_empty() {
        SealCount::default()
    } else {
        let keys = KeyDir::open(key_dir, data_dir).with_context(|| {
            format!(
                "privileged {} is registered, but its {} earlier recordings are not sealed yet (verify it again once the key directory opens)",
                registration.id,
                paths.len()
            )
        })?;
        seal_all(&keys, &paths)?
    };
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    let event = local
        .store
        .record_privilege_seal(
            registration.id,
            &registration.number,
            n(count.sealed),
            n(count.already),
            n(count.shredded),
            by,
            jiff::Timestamp::now(),
        )
        .await?;
    tracing::info!(
        privileged_id = %registration.id,
        number = %registration.number.masked(),
        sealed = count.sealed,
        already_sealed = count.already,
        unreadable = count.shredded,
        missing,
        "earlier recordings sealed for privilege review"
    );
    Ok(SealRun { event, missing })
}
