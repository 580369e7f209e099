//! The audit log's signing key, in the key directory beside the agency keys
//! (`docs/audit-log.md`, "The log's key"):
//!
//! ```text
//! <key-dir>/
//!   audit.key    32-byte Ed25519 seed that signs the log's checkpoints, 0600
//!   audit.vkey   the verifier key, `<origin>+<key id>+<base64>`, one line:
//!                what the key service, auditors and witnesses trust
//! ```
//!
//! The key name is the log's origin, `callward/audit/<16 hex digits>` drawn
//! at random when the key is made, so two installations never share one.
//! Whoever writes the log (serve, the CLI's readers) needs `audit.key`;
//! whoever checks it needs only `audit.vkey`.

use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use callward_audit::{NoteSigner, VerifierKey};

pub(crate) const AUDIT_KEY_FILE: &str = "audit.key";
pub(crate) const AUDIT_VKEY_FILE: &str = "audit.vkey";

/// Creates the log key in `key_dir` unless it is there; returns the
/// verifier key either way. `key_dir` must exist (the agency key directory).
pub(crate) fn ensure(key_dir: &Path) -> anyhow::Result<VerifierKey> {
    let key_path = key_dir.join(AUDIT_KEY_FILE);
    if key_path.exists() {
        return Ok(load(key_dir)?.verifier().clone());
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("no randomness for the audit key: {e}"))?;
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let origin = format!(
        "callward/audit/{}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let signer = NoteSigner::from_seed(&origin, &seed)
        .map_err(|e| anyhow::anyhow!("cannot make the audit key: {e}"))?;
    let vkey = signer.verifier().clone();
    // The public half first: a crash between the two leaves no key that
    // signs what nobody can check.
    write_new(
        &key_dir.join(AUDIT_VKEY_FILE),
        format!("{vkey}\n").as_bytes(),
    )?;
    let mut file = seed.to_vec();
    file.extend_from_slice(origin.as_bytes());
    let written = write_new(&key_path, &file);
    file.fill(0);
    written?;
    Ok(vkey)
}

/// The log's signer, from `audit.key` (seed, then the origin as text).
/// Refused if group or others may use the file, or if it does not match
/// `audit.vkey`.
pub(crate) fn load(key_dir: &Path) -> anyhow::Result<NoteSigner> {
    let path = key_dir.join(AUDIT_KEY_FILE);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "no audit log key in {} (run `callward keys init`, or start `callward serve` once)",
            key_dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is accessible to group or others (mode {:o}); refusing to use it (chmod 600 it)",
            path.display(),
            mode & 0o777
        );
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    std::io::Read::by_ref(&mut file)
        .take(1024)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let corrupt = || anyhow::anyhow!("{} is not a callward audit key", path.display());
    let (seed, origin) = bytes.split_at_checked(32).ok_or_else(corrupt)?;
    let seed: &[u8; 32] = seed.try_into().map_err(|_| corrupt())?;
    let origin = std::str::from_utf8(origin).map_err(|_| corrupt())?;
    let signer = NoteSigner::from_seed(origin, seed).map_err(|_| corrupt())?;
    if signer.verifier() != &verifier(key_dir)? {
        bail!(
            "{} does not match {}",
            path.display(),
            key_dir.join(AUDIT_VKEY_FILE).display()
        );
    }
    Ok(signer)
}

/// The verifier key in `key_dir/audit.vkey`.
pub(crate) fn verifier(key_dir: &Path) -> anyhow::Result<VerifierKey> {
    read_vkey(&key_dir.join(AUDIT_VKEY_FILE))
}

/// A verifier key from a file holding one line.
pub(crate) fn read_vkey(path: &Path) -> anyhow::Result<VerifierKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    VerifierKey::parse(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Writes a new 0600 file, synced; never replaces one.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_creates_once_and_load_matches() {
        let dir = std::env::temp_dir().join(format!("callward-audit-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let vkey = ensure(&dir).unwrap();
        assert!(vkey.name().starts_with("callward/audit/"), "{vkey}");
        assert_eq!(ensure(&dir).unwrap(), vkey, "a second ensure keeps the key");
        assert_eq!(load(&dir).unwrap().verifier(), &vkey);
        let mode = std::fs::metadata(dir.join(AUDIT_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(
            dir.join(AUDIT_KEY_FILE),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
