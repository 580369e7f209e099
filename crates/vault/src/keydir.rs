//! The file key provider: the agency's private keys in a key directory.
//! The one part of this crate that touches the file system (std only).
//!
//! ```text
//! <key-dir>/             0700, never inside the data dir
//!   keyring              the epochs and public keys (crate::keyring)
//!   epoch-00000001.key   32-byte X25519 private key of epoch 1, 0600
//!   epoch-00000002.key   ...; a shredded epoch has no file
//!   hold.key             legal-hold private key, 0600
//!   review.key           privilege-review private key, 0600 (move it to
//!                        the reviewer: nothing here needs it)
//! ```
//!
//! A key file readable or writable by group or others is refused, naming
//! the file. Keys are read from disk for each unwrap and not kept, so a
//! shred done by another process (`callward keys shred`) takes effect for a
//! running key service at once.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rand_core::CryptoRng;

use crate::container::RecordingHeader;
use crate::evidence::AccessGate;
use crate::keyrecord::{HoldKeys, KeyRecord, sealed_to};
use crate::keyring::{Epoch, EpochStatus, Keyring, KeyringError};
use crate::keys::{AGENCY_KEY_LEN, AgencyPrivateKey, DataKey, KeyError, KeyProvider};
use crate::protocol::UnwrapRequest;

/// The keyring file's name in the key directory.
pub const KEYRING_FILE: &str = "keyring";
/// The legal-hold private key's file name.
pub const HOLD_KEY_FILE: &str = "hold.key";
/// The privilege-review private key's file name.
pub const REVIEW_KEY_FILE: &str = "review.key";

/// The private key file of epoch `n`.
pub fn epoch_key_file(n: u32) -> String {
    format!("epoch-{n:08}.key")
}

/// Why the key directory could not be used or changed.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyDirError {
    /// An I/O error on this path.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key directory is inside the data directory (where backups and
    /// the call servers reach); keys must live elsewhere.
    InsideDataDir {
        /// The key directory, resolved.
        key_dir: PathBuf,
        /// The data directory, resolved.
        data_dir: PathBuf,
    },
    /// A key file or the directory is open to group or others.
    Unsafe {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// No keyring here: run `callward keys init`.
    NotInitialised(PathBuf),
    /// `init` on a directory that already has a keyring.
    AlreadyInitialised(PathBuf),
    /// A key file that is not a key, or not the key the keyring names.
    CorruptKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: &'static str,
    },
    /// The keyring refused the change or does not parse.
    Keyring(KeyringError),
}

impl fmt::Display for KeyDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::InsideDataDir { key_dir, data_dir } => write!(
                f,
                "key directory {} is inside the data dir {}; keep agency keys outside it",
                key_dir.display(),
                data_dir.display()
            ),
            Self::Unsafe { path, mode } => write!(
                f,
                "{} is accessible to group or others (mode {:o}); refusing to use it (chmod {} it)",
                path.display(),
                mode & 0o777,
                if mode & 0o040_000 != 0 { "700" } else { "600" }
            ),
            Self::NotInitialised(p) => write!(
                f,
                "no keyring in {} (create one with `callward keys init`)",
                p.display()
            ),
            Self::AlreadyInitialised(p) => {
                write!(f, "{} already holds a keyring", p.display())
            }
            Self::CorruptKey { path, why } => write!(f, "{}: {why}", path.display()),
            Self::Keyring(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for KeyDirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Keyring(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyringError> for KeyDirError {
    fn from(e: KeyringError) -> Self {
        Self::Keyring(e)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyDirError + '_ {
    move |source| KeyDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `path` made absolute with symlinks resolved, even if its last parts do
/// not exist yet (they are appended to the nearest existing ancestor).
fn resolve(path: &Path) -> Result<PathBuf, KeyDirError> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().map_err(io(path))?.join(path)
    };
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        match base.canonicalize() {
            Ok(mut found) => {
                for part in rest.iter().rev() {
                    found.push(part);
                }
                return Ok(found);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (base.parent(), base.file_name()) else {
                    return Err(io(path)(e));
                };
                rest.push(name.to_owned());
                base = parent;
            }
            Err(e) => return Err(io(path)(e)),
        }
    }
}

/// Refuses a key directory equal to or under the data directory.
fn check_outside(key_dir: &Path, data_dir: &Path) -> Result<(), KeyDirError> {
    let key_dir = resolve(key_dir)?;
    let data_dir = resolve(data_dir)?;
    if key_dir.starts_with(&data_dir) {
        return Err(KeyDirError::InsideDataDir { key_dir, data_dir });
    }
    Ok(())
}

/// Refuses `mode` if group or others have any access.
fn check_private(path: &Path, mode: u32) -> Result<(), KeyDirError> {
    if mode & 0o077 != 0 {
        return Err(KeyDirError::Unsafe {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Reads a 32-byte private key file, refusing it if group or others can
/// read or write it.
pub fn read_key_file(path: &Path) -> Result<AgencyPrivateKey, KeyDirError> {
    let mut file = File::open(path).map_err(io(path))?;
    // Mode of the file actually opened, not of whatever the path names later.
    let mode = file.metadata().map_err(io(path))?.permissions().mode();
    check_private(path, mode)?;
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(AGENCY_KEY_LEN + 1));
    std::io::Read::by_ref(&mut file)
        .take(AGENCY_KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    AgencyPrivateKey::from_bytes(&bytes).map_err(|_| KeyDirError::CorruptKey {
        path: path.to_owned(),
        why: "not a 32-byte private key",
    })
}

/// Writes a new key file, 0600 from its creation; never replaces one.
fn write_key_file(path: &Path, key: &AgencyPrivateKey) -> Result<(), KeyDirError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(key.to_bytes().as_slice())
        .map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), KeyDirError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// A key directory in use: the file [`KeyProvider`].
#[derive(Debug, Clone)]
pub struct KeyDir {
    path: PathBuf,
}

impl KeyDir {
    /// Creates a key directory (0700) with its first epoch, the hold key and
    /// the review key, drawing them from `rng`. Refuses a directory inside
    /// `data_dir` (checked before anything is written) and one that already
    /// has a keyring.
    pub fn create<R: CryptoRng + ?Sized>(
        path: &Path,
        data_dir: &Path,
        now_unix: i64,
        rng: &mut R,
    ) -> Result<(Self, Keyring), KeyDirError> {
        check_outside(path, data_dir)?;
        match std::fs::metadata(path) {
            Ok(meta) => {
                check_private(path, meta.permissions().mode())?;
                if path.join(KEYRING_FILE).exists() {
                    return Err(KeyDirError::AlreadyInitialised(path.to_owned()));
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(io(path))?,
            Err(e) => return Err(io(path)(e)),
        }
        let dir = Self {
            path: path.to_owned(),
        };
        let first = AgencyPrivateKey::generate(rng);
        let hold = AgencyPrivateKey::generate(rng);
        let review = AgencyPrivateKey::generate(rng);
        write_key_file(&dir.path.join(epoch_key_file(1)), &first)?;
        write_key_file(&dir.path.join(HOLD_KEY_FILE), &hold)?;
        write_key_file(&dir.path.join(REVIEW_KEY_FILE), &review)?;
        let keyring = Keyring::new(
            first.public_key().clone(),
            hold.public_key().clone(),
            review.public_key().clone(),
            now_unix,
        );
        dir.write_keyring(&keyring)?;
        Ok((dir, keyring))
    }

    /// Opens an existing key directory, refusing one inside `data_dir` or
    /// open to group or others.
    pub fn open(path: &Path, data_dir: &Path) -> Result<Self, KeyDirError> {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(KeyDirError::NotInitialised(path.to_owned()));
            }
            Err(e) => return Err(io(path)(e)),
        };
        if !meta.is_dir() {
            return Err(io(path)(std::io::Error::other("not a directory")));
        }
        check_outside(path, data_dir)?;
        check_private(path, meta.permissions().mode())?;
        if !path.join(KEYRING_FILE).is_file() {
            return Err(KeyDirError::NotInitialised(path.to_owned()));
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the keyring.
    pub fn keyring(&self) -> Result<Keyring, KeyDirError> {
        let path = self.path.join(KEYRING_FILE);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        Ok(Keyring::parse(&text)?)
    }

    /// Replaces the keyring atomically: a new file, synced, renamed over the
    /// old one, then the directory synced.
    fn write_keyring(&self, keyring: &Keyring) -> Result<(), KeyDirError> {
        let path = self.path.join(KEYRING_FILE);
        let tmp = self.path.join(format!(".{KEYRING_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(keyring.to_text().as_bytes())
            .map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.path)
    }

    /// Makes a new epoch the current one (new recordings are wrapped to it;
    /// the previous one is retired and still read).
    pub fn rotate<R: CryptoRng + ?Sized>(
        &self,
        now_unix: i64,
        rng: &mut R,
    ) -> Result<Epoch, KeyDirError> {
        let mut keyring = self.keyring()?;
        let key = AgencyPrivateKey::generate(rng);
        let number = keyring.next_epoch();
        let file = self.path.join(epoch_key_file(number));
        // A file left by a rotation that crashed before its keyring write
        // was never used to wrap anything: replace it.
        let _ = std::fs::remove_file(&file);
        write_key_file(&file, &key)?;
        keyring.rotate(key.public_key().clone(), now_unix);
        self.write_keyring(&keyring)?;
        keyring
            .epoch(number)
            .cloned()
            .ok_or(KeyDirError::Keyring(KeyringError::NoSuchEpoch(number)))
    }

    /// Crypto-shreds epoch `n`: records the tombstone in the keyring, then
    /// overwrites the private key file, syncs it, deletes it and syncs the
    /// directory. Returns whether it was already shredded (a repeat finishes
    /// a shred that crashed half-way). The current epoch is refused.
    ///
    /// Overwriting is best effort on copy-on-write or wear-levelled storage;
    /// `docs/keys.md` says what that means for backups and disks.
    pub fn shred(&self, n: u32, now_unix: i64) -> Result<bool, KeyDirError> {
        let mut keyring = self.keyring()?;
        let already = keyring.mark_shredded(n, now_unix)?;
        if !already {
            self.write_keyring(&keyring)?;
        }
        let file = self.path.join(epoch_key_file(n));
        match OpenOptions::new().write(true).open(&file) {
            Ok(mut f) => {
                f.write_all(&[0u8; AGENCY_KEY_LEN]).map_err(io(&file))?;
                f.sync_all().map_err(io(&file))?;
                drop(f);
                std::fs::remove_file(&file).map_err(io(&file))?;
                sync_dir(&self.path)?;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(&file)(e)),
        }
        Ok(already)
    }

    /// Loads epoch `n`'s private key for one use, checking it matches the
    /// keyring.
    fn epoch_key(&self, epoch: &Epoch) -> Result<AgencyPrivateKey, KeyDirError> {
        let path = self.path.join(epoch_key_file(epoch.number));
        let key = read_key_file(&path)?;
        if key.public_key() != &epoch.public {
            return Err(KeyDirError::CorruptKey {
                path,
                why: "does not match the public key the keyring lists for this epoch",
            });
        }
        Ok(key)
    }

    /// The legal-hold private key.
    pub fn hold_key(&self) -> Result<AgencyPrivateKey, KeyDirError> {
        let keyring = self.keyring()?;
        let path = self.path.join(HOLD_KEY_FILE);
        let key = read_key_file(&path)?;
        if key.public_key() != keyring.hold_public() {
            return Err(KeyDirError::CorruptKey {
                path,
                why: "does not match the hold key the keyring lists",
            });
        }
        Ok(key)
    }

    /// The key service's answer to one request: the data key of the
    /// recording, through its epoch key or, if the request carries one, its
    /// hold record. Only if `gate` admits the request's access-log evidence
    /// (a request without any is refused); a sealed recording is refused
    /// either way.
    pub fn unwrap(
        &self,
        request: &UnwrapRequest,
        gate: &dyn AccessGate,
    ) -> Result<DataKey, KeyError> {
        let Some(evidence) = &request.evidence else {
            return Err(KeyError::Refused(
                "no access-log evidence: a key is released only for an access in the audit log"
                    .into(),
            ));
        };
        gate.admit(&request.header, evidence)?;
        match &request.hold_record {
            None => self.unwrap_data_key(&request.header),
            Some(record) => {
                let key = self.hold_key().map_err(|e| unavailable(&e))?;
                HoldKeys { record, key: &key }.unwrap_data_key(&request.header)
            }
        }
    }

    /// Reads a `.hold` or `.seal` record file.
    pub fn read_record(path: &Path) -> Result<KeyRecord, KeyDirError> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        KeyRecord::parse(&bytes).map_err(|_| KeyDirError::CorruptKey {
            path: path.to_owned(),
            why: "not a callward key record",
        })
    }
}

fn unavailable(e: &KeyDirError) -> KeyError {
    KeyError::Unavailable(e.to_string())
}

impl KeyProvider for KeyDir {
    fn unwrap_data_key(&self, header: &RecordingHeader) -> Result<DataKey, KeyError> {
        if let Some(review_key) = sealed_to(header) {
            return Err(KeyError::Sealed { review_key });
        }
        let keyring = self.keyring().map_err(|e| unavailable(&e))?;
        let key_id = header.key_id();
        let number = header.key_epoch();
        let epoch = keyring
            .epoch(number)
            .filter(|e| e.key_id() == key_id)
            .ok_or(KeyError::UnknownKey {
                key_id,
                epoch: number,
            })?;
        if let EpochStatus::Shredded { .. } = epoch.status {
            return Err(KeyError::Shredded { epoch: number });
        }
        let key = self.epoch_key(epoch).map_err(|e| unavailable(&e))?;
        key.unwrap(
            header.encapped_key(),
            header.wrapped_key(),
            header.binding_info(),
        )
    }
}
