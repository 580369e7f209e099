//! Retroactive privilege (`docs/keys.md`): when a number is registered as
//! privileged, or its registration verified, every existing recording of a
//! call to it is sealed for privilege review at once, through the key
//! directory (sealing needs only the review public key in the keyring), and
//! the run is recorded in the store with how many were sealed.
//!
//! The recordings are found in the store `serve` recorded in the data dir
//! (S3 credentials from the `CALLWARD_S3_*` environment).
//!
//! Every path that registers or verifies a privileged number must call
//! [`seal_recordings_of`] after the store change; today that is
//! `callward admin privileged register|verify`.

use std::path::Path;

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
    if calls.is_empty() {
        return record(local, registration, by, SealCount::default(), 0).await;
    }
    let not_sealed = |e: anyhow::Error| {
        e.context(format!(
            "privileged {} is registered, but its {} earlier recordings are not sealed yet (verify it again once this is fixed)",
            registration.id,
            calls.len()
        ))
    };
    let files = RecordingFiles::new(
        crate::recording_store::for_reading(None, data_dir).map_err(not_sealed)?,
    );
    let mut ids = Vec::with_capacity(calls.len());
    for c in &calls {
        if files.exists(&c.recording_id).await.map_err(not_sealed)? {
            ids.push(c.recording_id.clone());
        }
    }
    let missing = calls.len() - ids.len();
    let count = if ids.is_empty() {
        SealCount::default()
    } else {
        let keys = KeyDir::open(key_dir, data_dir).map_err(|e| not_sealed(e.into()))?;
        // Each seal is a key operation: logged first (one entry a recording).
        let mut log = crate::access_log::AccessLog::open(local, key_dir)
            .await
            .map_err(not_sealed)?;
        for id in &ids {
            log.record(&crate::access_log::local_entry(
                callward_audit::Action::PrivilegeSeal,
                callward_audit::ObjectKind::Recording,
                id,
                &format!("privileged number {} registered", registration.id),
                "admin privileged",
            ))
            .await
            .map_err(not_sealed)?;
        }
        seal_all(&keys, &files, &ids).await?
    };
    record(local, registration, by, count, missing).await
}

/// Stores the run and logs it.
async fn record(
    local: &Local,
    registration: &PrivilegedNumber,
    by: &str,
    count: SealCount,
    missing: usize,
) -> anyhow::Result<SealRun> {
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

/// The console's [`callward_web::console::PrivilegeSealer`]: verifying a
/// registration in the browser seals as `admin privileged verify` does.
pub(crate) struct ConsoleSealer {
    pub(crate) data_dir: std::path::PathBuf,
    pub(crate) key_dir: std::path::PathBuf,
}

impl callward_web::console::PrivilegeSealer for ConsoleSealer {
    fn seal<'a>(
        &'a self,
        registration: &'a PrivilegedNumber,
        by: &'a str,
    ) -> callward_web::console::SealFuture<'a> {
        Box::pin(async move {
            let run = async {
                let local = Local::open_existing(&self.data_dir).await?;
                seal_recordings_of(&local, &self.key_dir, registration, by).await
            }
            .await
            .map_err(|e| format!("{e:#}"))?;
            let e = &run.event;
            Ok(format!(
                "sealed {} earlier recordings of calls to it for privilege review ({} already sealed, {} unreadable: epoch shredded, {} missing)",
                e.sealed, e.already_sealed, e.unreadable, run.missing
            ))
        })
    }
}
