//! Local state in the data dir: the SQLite database and the PIN key.
//!
//! ```text
//! <data-dir>/
//!   callward.db        SQLite (WAL: also callward.db-wal, callward.db-shm)
//!   pin.key            32 random bytes, mode 0600: the HMAC key for PIN digests
//! ```
//!
//! The PIN key lives beside the database but not in it, so a copy of the
//! database alone does not let anyone test PINs. Both are created together
//! the first time state is created, and never one without the other.

use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_core::PinKey;
use callward_store::SqliteStore;

use crate::data_dir::DataDir;

pub(crate) const DB_FILE: &str = "callward.db";
pub(crate) const PIN_KEY_FILE: &str = "pin.key";

/// The opened local state.
pub(crate) struct Local {
    pub(crate) dir: DataDir,
    pub(crate) store: SqliteStore,
    pub(crate) pin_key: PinKey,
}

impl Local {
    /// Opens state that must already exist: reading or changing records
    /// never creates a data dir as a side effect.
    pub(crate) async fn open_existing(path: &Path) -> anyhow::Result<Self> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("data dir {} exists and is not a directory", path.display()),
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "no callward data in {} (start with `callward admin facility create` or `callward serve`)",
                path.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot use data dir {}", path.display()));
            }
        }
        if !path.join(DB_FILE).is_file() {
            bail!(
                "no callward database in {} (start with `callward admin facility create` or `callward serve`)",
                path.display()
            );
        }
        let dir = DataDir::create_or_open(path)?;
        let pin_key = read_pin_key(&dir.path().join(PIN_KEY_FILE))?;
        let store = open_store(dir.path()).await?;
        Ok(Self {
            dir,
            store,
            pin_key,
        })
    }

    /// Opens state, creating the data dir, the PIN key and the database if absent.
    pub(crate) async fn open_or_create(path: &Path) -> anyhow::Result<Self> {
        let dir = DataDir::create_or_open(path)?;
        let key_path = dir.path().join(PIN_KEY_FILE);
        let db_exists = dir.path().join(DB_FILE).exists();
        let pin_key = match read_pin_key(&key_path) {
            Ok(key) => key,
            Err(_) if !key_path.exists() && !db_exists => create_pin_key(&key_path)?,
            Err(e) => return Err(e),
        };
        let store = open_store(dir.path()).await?;
        Ok(Self {
            dir,
            store,
            pin_key,
        })
    }
}

async fn open_store(dir: &Path) -> anyhow::Result<SqliteStore> {
    let db = dir.join(DB_FILE);
    SqliteStore::open(&db)
        .await
        .with_context(|| format!("cannot open {}", db.display()))
}

fn read_pin_key(path: &Path) -> anyhow::Result<PinKey> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "{} is missing: PINs cannot be checked without it (restore it from backup)",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        );
    }
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "{} is corrupt: {} bytes where 32 are expected",
            path.display(),
            b.len()
        )
    })?;
    Ok(PinKey::from_bytes(key))
}

/// Writes a fresh key atomically: to a temporary file, then linked into
/// place only if no key exists (two processes racing both end up with the
/// same key on disk, the winner's).
fn create_pin_key(path: &Path) -> anyhow::Result<PinKey> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for the PIN key: {e}"))?;
    let tmp: PathBuf = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(&key)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(PinKey::from_bytes(key)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_pin_key(path),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callward-local-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn creates_then_reopens_the_same_key() {
        let dir = scratch("reopen");
        let a = Local::open_or_create(&dir).await.unwrap();
        let mode = std::fs::metadata(dir.join(PIN_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let pin = callward_core::Pin::parse("246810", 6).unwrap();
        let f = callward_core::FacilityId(1);
        let before = a.pin_key.digest(f, &pin);
        a.store.close().await;
        let b = Local::open_existing(&dir).await.unwrap();
        assert_eq!(b.pin_key.digest(f, &pin), before);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn open_existing_writes_nothing_when_absent() {
        let dir = scratch("absent");
        let err = Local::open_existing(&dir).await.err().unwrap();
        assert!(err.to_string().contains("no callward data"), "{err}");
        assert!(!dir.exists());
    }

    #[tokio::test]
    async fn a_lost_key_is_not_silently_replaced() {
        let dir = scratch("lost");
        Local::open_or_create(&dir)
            .await
            .unwrap()
            .store
            .close()
            .await;
        std::fs::remove_file(dir.join(PIN_KEY_FILE)).unwrap();
        let err = Local::open_or_create(&dir).await.err().unwrap();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!dir.join(PIN_KEY_FILE).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_world_readable_key_is_refused() {
        let dir = scratch("perm");
        Local::open_or_create(&dir)
            .await
            .unwrap()
            .store
            .close()
            .await;
        let key = dir.join(PIN_KEY_FILE);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Local::open_existing(&dir).await.err().unwrap();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
