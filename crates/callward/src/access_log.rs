//! The CLI's handle on the access log (`callward_web::access_log`): opened
//! from the data dir's database with the log key in the key directory, its
//! errors as the one-line `anyhow` errors the commands print. The rules
//! (append before release, the key service's [`LogGate`]) live in
//! callward-web, which the HTTP API shares.

use std::path::Path;

use anyhow::Context as _;
use callward_audit::{Action, Entry, ObjectKind};
pub(crate) use callward_web::access_log::{Appended, LogGate, local_entry};

use crate::local::Local;

/// The audit log, opened for appending with the log's key.
pub(crate) struct AccessLog(callward_web::access_log::AccessLog);

impl AccessLog {
    /// Opens the log in `local`'s database, signing with the key in
    /// `key_dir`. Fails if the key is missing or the stored log does not
    /// match its newest checkpoint.
    pub(crate) async fn open(local: &Local, key_dir: &Path) -> anyhow::Result<Self> {
        let signer = crate::audit_key::load(key_dir)?;
        Ok(Self(
            callward_web::access_log::AccessLog::open(&local.store, signer).await?,
        ))
    }

    /// Appends `entry` (committed and fsynced) and returns its index.
    /// Nothing may be released before this returns `Ok`.
    pub(crate) async fn record(&mut self, entry: &Entry) -> anyhow::Result<Appended> {
        Ok(self.0.record(entry).await?)
    }

    /// Entry `index`, decoded (for `watermark detect`, which logs its own
    /// access first).
    pub(crate) async fn entry(&self, index: u64) -> anyhow::Result<Entry> {
        Ok(self.0.entry(index).await?)
    }

    /// The web crate's log, for its sign-in service.
    pub(crate) fn inner(&mut self) -> &mut callward_web::access_log::AccessLog {
        &mut self.0
    }
}

/// Appends the local operator's entry (`local_entry`) to `local`'s access
/// log, signed with the key in `key_dir`, before a change: an error means
/// the change must not happen. `doing` names what is logged first, for the
/// error (`admin changes`, `key changes`).
pub(crate) async fn record_local(
    local: &Local,
    key_dir: &Path,
    doing: &str,
    entry: (Action, ObjectKind, &str, &str, &str),
) -> anyhow::Result<Appended> {
    let (action, kind, object, what, command) = entry;
    let mut log = AccessLog::open(local, key_dir).await.with_context(|| {
        format!("{doing} are written to the access log first, and it cannot be opened")
    })?;
    log.record(&local_entry(action, kind, object, what, command))
        .await
        .with_context(|| {
            format!("{doing} are written to the access log first, and it cannot be written")
        })
}
