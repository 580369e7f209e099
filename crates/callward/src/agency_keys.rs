//! The agency key directory as `serve` uses it in the embedded set-up
//! (created on first start if missing):
//! the current epoch's public key for the switch, and (for re-sealing what
//! a crash cut short) the key directory itself. The audit log's key
//! (`audit_key`) is created beside them if missing.

use std::path::Path;

use anyhow::Context as _;
use callward_vault::{KeyDir, KeyDirError, WriterKey};

/// Opens the key directory, creating it first if there is none (the
/// embedded default works on a fresh machine; outside `--demo` that is
/// logged as a warning, since the agency must keep that directory safe).
/// Returns it and the key the switch wraps recordings to.
pub(crate) fn open(
    key_dir: &Path,
    data_dir: &Path,
    demo: bool,
) -> anyhow::Result<(KeyDir, WriterKey)> {
    let dir = match KeyDir::open(key_dir, data_dir) {
        Ok(dir) => dir,
        Err(KeyDirError::NotInitialised(_)) => {
            let mut rng = crate::keys::os_rng()?;
            let now = jiff::Timestamp::now().as_second();
            let (dir, _) = KeyDir::create(key_dir, data_dir, now, &mut rng)
                .with_context(|| format!("cannot create agency keys in {}", key_dir.display()))?;
            if demo {
                tracing::info!(key_dir = %key_dir.display(), "agency keys created for the demo");
            } else {
                tracing::warn!(
                    key_dir = %key_dir.display(),
                    "no agency keys found: created a new key directory; keep it safe and outside backups of the data dir (docs/keys.md)"
                );
            }
            dir
        }
        Err(e) => return Err(e).context("cannot open the agency keys"),
    };
    // The audit log's signing key lives beside the agency keys; a key
    // directory made before the log existed gets one now.
    crate::audit_key::ensure(key_dir).context("cannot set up the audit log key")?;
    // And the deployment's watermark key (docs/watermark.md).
    crate::watermark_cli::create_key(key_dir).context("cannot set up the watermark key")?;
    let writer = dir
        .keyring()
        .context("cannot read the agency keyring")?
        .writer_key();
    Ok((dir, writer))
}
