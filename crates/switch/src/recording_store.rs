//! Where sealed recordings live: the local spool directory
//! (`<data-dir>/recordings`, the default) or an object store (S3 and
//! S3-compatible servers, through the `object_store` crate).
//!
//! The spool always writes to local disk while a call lasts
//! ([`crate::spool`]); only a recording whose final chunk is synced is
//! moved. A move puts the whole file, reads the object back and compares it
//! byte for byte, and only then deletes the local copy: a failed or partial
//! upload leaves the file where it was, to be moved again later (the
//! switch's uploader retries, and `serve` moves everything left at start).
//! Readers look in the spool first and then in the object store, so a
//! recording is readable at every moment of its move.
//!
//! Objects are put plainly (overwriting): Garage ignores `If-None-Match` and
//! has no object lock, so nothing here relies on create-only writes. A
//! recording's bytes never change once sealed, so a second put of the same
//! id writes the same bytes.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;

use crate::spool::{RECORDING_EXTENSION, recording_path};

/// A secret that `Debug` and `Display` never show.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// An S3 (or S3-compatible) location and its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/`; may be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; AWS when absent.
    pub endpoint: Option<String>,
    /// The region (Garage's default is `garage`).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key; never logged.
    pub secret_access_key: Secret,
}

impl S3Config {
    /// Parses `s3://bucket/prefix` (the prefix may be empty).
    ///
    /// # Errors
    /// Another scheme, or no bucket.
    pub fn parse_url(
        url: &str,
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: Secret,
    ) -> Result<Self, RecordingStoreError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            RecordingStoreError::Config(format!("store {url:?}: expected s3://bucket/prefix"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(RecordingStoreError::Config(format!(
                "store {url:?}: no bucket"
            )));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint,
            region,
            access_key_id,
            secret_access_key,
        })
    }
}

/// Why a recording could not be stored or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordingStoreError {
    /// The configuration is unusable.
    Config(String),
    /// Local disk.
    Io(io::Error),
    /// The object store.
    Object(object_store::Error),
    /// The object read back differs from the local file.
    Mismatch {
        /// The recording.
        id: String,
    },
    /// No such recording, locally or in the object store.
    NotFound(String),
}

impl fmt::Display for RecordingStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "recording store: {m}"),
            Self::Io(e) => write!(f, "recording store: {e}"),
            Self::Object(e) => write!(f, "object store: {e}"),
            Self::Mismatch { id } => {
                write!(
                    f,
                    "recording {id}: the uploaded object differs from the local file"
                )
            }
            Self::NotFound(id) => write!(f, "recording {id} not found"),
        }
    }
}

impl std::error::Error for RecordingStoreError {}

impl From<io::Error> for RecordingStoreError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<object_store::Error> for RecordingStoreError {
    fn from(e: object_store::Error) -> Self {
        Self::Object(e)
    }
}

/// The recording store: the spool directory, and the object store sealed
/// recordings move to (none: they stay in the spool directory).
#[derive(Debug, Clone)]
pub struct RecordingStore {
    spool_dir: PathBuf,
    remote: Option<Remote>,
}

#[derive(Clone)]
struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `s3://bucket/prefix`, for messages (no credentials).
    name: String,
}

impl RecordingStore {
    /// Recordings stay as files in `spool_dir` (`<data-dir>/recordings`).
    pub fn local(spool_dir: PathBuf) -> Self {
        Self {
            spool_dir,
            remote: None,
        }
    }

    /// Sealed recordings move from `spool_dir` to S3.
    ///
    /// # Errors
    /// The client cannot be built from `config`.
    pub fn s3(spool_dir: PathBuf, config: &S3Config) -> Result<Self, RecordingStoreError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose())
            // A few quick retries; the switch's uploader retries a failed
            // move later anyway, and the file waits in the spool meanwhile.
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..object_store::RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                // Path-style requests: S3-compatible servers rarely have
                // a DNS name per bucket.
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build()?;
        let name = if config.prefix.is_empty() {
            format!("s3://{}", config.bucket)
        } else {
            format!("s3://{}/{}", config.bucket, config.prefix)
        };
        Ok(Self::with_object_store(
            spool_dir,
            Arc::new(store),
            &config.prefix,
            name,
        ))
    }

    /// Sealed recordings move from `spool_dir` to `store` under `prefix`
    /// (any `object_store` backend; tests use the in-memory one).
    pub fn with_object_store(
        spool_dir: PathBuf,
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        name: String,
    ) -> Self {
        Self {
            spool_dir,
            remote: Some(Remote {
                store,
                prefix: ObjectPath::from(prefix),
                name,
            }),
        }
    }

    /// The local spool directory.
    pub fn spool_dir(&self) -> &Path {
        &self.spool_dir
    }

    /// Whether sealed recordings move to an object store.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// `s3://bucket/prefix`, or the spool directory; never credentials.
    pub fn describe(&self) -> String {
        match &self.remote {
            Some(r) => r.name.clone(),
            None => self.spool_dir.display().to_string(),
        }
    }

    /// The object store and the path recording `id` has in it.
    pub fn object(&self, id: &str) -> Option<(Arc<dyn ObjectStore>, ObjectPath)> {
        self.remote
            .as_ref()
            .map(|r| (Arc::clone(&r.store), object_path(&r.prefix, id)))
    }

    /// Moves sealed recording `id` from the spool to the object store: put,
    /// read back and compare, then delete the local file. Nothing to do
    /// for a local store (`Ok(None)`); otherwise the bytes moved.
    ///
    /// # Errors
    /// Any failure leaves the local file in place.
    pub async fn move_sealed(&self, id: &str) -> Result<Option<u64>, RecordingStoreError> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let path = recording_path(&self.spool_dir, id);
        let bytes = blocking(move || std::fs::read(&path)).await?;
        let len = bytes.len() as u64;
        let object = object_path(&remote.prefix, id);
        remote.store.put(&object, bytes.clone().into()).await?;
        let back = remote.store.get(&object).await?.bytes().await?;
        if back.as_ref() != bytes.as_slice() {
            return Err(RecordingStoreError::Mismatch { id: id.to_owned() });
        }
        let path = recording_path(&self.spool_dir, id);
        let dir = self.spool_dir.clone();
        let moved = blocking(move || {
            // A privilege seal may have rewritten the header in the spool
            // while the put ran: then the file stays, to be moved again,
            // so the object never keeps a header the seal erased.
            if std::fs::read(&path)? != bytes {
                return Ok(false);
            }
            std::fs::remove_file(&path)?;
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(true)
        })
        .await?;
        if !moved {
            return Err(RecordingStoreError::Mismatch { id: id.to_owned() });
        }
        Ok(Some(len))
    }

    /// Moves every sealed recording left in the spool (at start, after
    /// crash recovery has re-sealed what a crash cut off). Returns how many
    /// moved and how many failed (those stay local).
    pub async fn move_all_sealed(&self) -> (usize, usize) {
        if self.remote.is_none() {
            return (0, 0);
        }
        let ids = match self.spooled() {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the recording spool");
                return (0, 0);
            }
        };
        let (mut moved, mut failed) = (0, 0);
        for id in ids {
            match self.move_sealed(&id).await {
                Ok(_) => moved += 1,
                Err(e) => {
                    failed += 1;
                    tracing::warn!(recording = %id, error = %e, "recording not moved; kept in the spool");
                }
            }
        }
        (moved, failed)
    }

    /// The ids of the recordings in the spool directory, sorted.
    ///
    /// # Errors
    /// The directory cannot be read (a missing one is empty).
    pub fn spooled(&self) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.spool_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == RECORDING_EXTENSION)
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                ids.push(stem.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Every recording id, in the spool or in the object store, sorted.
    ///
    /// # Errors
    /// The spool or the object store cannot be listed.
    pub async fn list(&self) -> Result<Vec<String>, RecordingStoreError> {
        let mut ids: BTreeSet<String> = self.spooled()?.into_iter().collect();
        if let Some(r) = &self.remote {
            let suffix = format!(".{RECORDING_EXTENSION}");
            let listed = r.store.list_with_delimiter(Some(&r.prefix)).await?;
            for meta in listed.objects {
                if let Some(name) = meta.location.filename()
                    && let Some(id) = name.strip_suffix(&suffix)
                {
                    ids.insert(id.to_owned());
                }
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// The bytes of recording `id`: from the spool if it is still there,
    /// else from the object store.
    ///
    /// # Errors
    /// Not found in either, or a read failed.
    pub async fn read(&self, id: &str) -> Result<Vec<u8>, RecordingStoreError> {
        let path = recording_path(&self.spool_dir, id);
        match blocking(move || std::fs::read(&path)).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let Some(r) = &self.remote else {
            return Err(RecordingStoreError::NotFound(id.to_owned()));
        };
        match r.store.get(&object_path(&r.prefix, id)).await {
            Ok(got) => Ok(got.bytes().await?.to_vec()),
            Err(object_store::Error::NotFound { .. }) => {
                Err(RecordingStoreError::NotFound(id.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Key records and header rewrites: what retention, legal holds and
/// privilege seals need (`docs/recording-format.md`, "Key records").
///
/// A key record of recording `id` is kept beside it as `<id>.cwrec.<suffix>`
/// (`hold`, `seal`): a file in the spool directory for a local store, an
/// object beside the recording's for S3 (written there even while the
/// recording still waits in the spool). Every write is complete or absent:
/// a file is written under a temporary name, synced, renamed and its
/// directory synced; an object is one PUT.
impl RecordingStore {
    /// Whether recording `id` exists, in the spool or in the object store.
    ///
    /// # Errors
    /// The spool or the object store cannot be asked.
    pub async fn exists(&self, id: &str) -> Result<bool, RecordingStoreError> {
        if recording_path(&self.spool_dir, id).is_file() {
            return Ok(true);
        }
        let Some(r) = &self.remote else {
            return Ok(false);
        };
        match r.store.head(&object_path(&r.prefix, id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// At most the first `max` bytes of recording `id` (enough for its
    /// header), without reading the whole object.
    ///
    /// # Errors
    /// Not found, or a read failed.
    pub async fn read_head(&self, id: &str, max: usize) -> Result<Vec<u8>, RecordingStoreError> {
        let path = recording_path(&self.spool_dir, id);
        let local = blocking(move || {
            use std::io::Read as _;
            let mut head = Vec::with_capacity(max);
            std::fs::File::open(&path)?
                .take(max as u64)
                .read_to_end(&mut head)?;
            Ok(head)
        })
        .await;
        match local {
            Ok(head) => return Ok(head),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let Some(r) = &self.remote else {
            return Err(RecordingStoreError::NotFound(id.to_owned()));
        };
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(0..max as u64)),
            ..object_store::GetOptions::default()
        };
        match r.store.get_opts(&object_path(&r.prefix, id), options).await {
            Ok(got) => Ok(got.bytes().await?.to_vec()),
            Err(object_store::Error::NotFound { .. }) => {
                Err(RecordingStoreError::NotFound(id.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The key record `<id>.cwrec.<suffix>`, if there is one: the spool
    /// directory first, then the object store.
    ///
    /// # Errors
    /// A read failed (a missing record is `Ok(None)`).
    pub async fn read_record(
        &self,
        id: &str,
        suffix: &str,
    ) -> Result<Option<Vec<u8>>, RecordingStoreError> {
        let path = record_path(&self.spool_dir, id, suffix);
        match blocking(move || std::fs::read(&path)).await {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let Some(r) = &self.remote else {
            return Ok(None);
        };
        match r.store.get(&record_object(&r.prefix, id, suffix)).await {
            Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the key record `<id>.cwrec.<suffix>`, complete or not at all
    /// (replacing one already there).
    ///
    /// # Errors
    /// The write failed; nothing half-written is left under the name.
    pub async fn write_record(
        &self,
        id: &str,
        suffix: &str,
        bytes: Vec<u8>,
    ) -> Result<(), RecordingStoreError> {
        if let Some(r) = &self.remote {
            r.store
                .put(&record_object(&r.prefix, id, suffix), bytes.into())
                .await?;
            return Ok(());
        }
        let path = record_path(&self.spool_dir, id, suffix);
        Ok(blocking(move || write_atomically(&path, &bytes)).await?)
    }

    /// Replaces the first `head.len()` bytes of recording `id` (a sealed
    /// header of the same length): in place and synced in the spool, or a
    /// new PUT of the whole object (atomic for readers).
    ///
    /// # Errors
    /// Not found, shorter than `head`, or a read or write failed.
    pub async fn replace_head(&self, id: &str, head: Vec<u8>) -> Result<(), RecordingStoreError> {
        let path = recording_path(&self.spool_dir, id);
        let in_place = head.clone();
        let local = blocking(move || {
            use std::io::{Seek as _, Write as _};
            let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
            if file.metadata()?.len() < in_place.len() as u64 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "shorter than its header",
                ));
            }
            file.seek(io::SeekFrom::Start(0))?;
            file.write_all(&in_place)?;
            file.sync_all()
        });
        match local.await {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let Some(r) = &self.remote else {
            return Err(RecordingStoreError::NotFound(id.to_owned()));
        };
        let object = object_path(&r.prefix, id);
        let mut bytes = match r.store.get(&object).await {
            Ok(got) => got.bytes().await?.to_vec(),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(RecordingStoreError::NotFound(id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(start) = bytes.get_mut(..head.len()) else {
            return Err(RecordingStoreError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("recording {id} is shorter than its header"),
            )));
        };
        start.copy_from_slice(&head);
        r.store.put(&object, bytes.into()).await?;
        Ok(())
    }

    /// Deletes recording `id`, then its key records `suffixes`, from the
    /// spool and from the object store. What is already gone is not an
    /// error, so a deletion cut short finishes when repeated; the recording
    /// goes first, since a key record left behind opens nothing.
    ///
    /// # Errors
    /// A deletion failed.
    pub async fn delete(&self, id: &str, suffixes: &[&str]) -> Result<(), RecordingStoreError> {
        let mut paths = vec![recording_path(&self.spool_dir, id)];
        paths.extend(suffixes.iter().map(|s| record_path(&self.spool_dir, id, s)));
        let dir = self.spool_dir.clone();
        blocking(move || {
            for path in &paths {
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            match std::fs::File::open(&dir) {
                Ok(d) => d.sync_all(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await?;
        let Some(r) = &self.remote else {
            return Ok(());
        };
        let mut objects = vec![object_path(&r.prefix, id)];
        objects.extend(suffixes.iter().map(|s| record_object(&r.prefix, id, s)));
        for object in &objects {
            match r.store.delete(object).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// `<dir>/<id>.cwrec.<suffix>`.
fn record_path(dir: &Path, id: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{id}.{RECORDING_EXTENSION}.{suffix}"))
}

fn record_object(prefix: &ObjectPath, id: &str, suffix: &str) -> ObjectPath {
    prefix.child(format!("{id}.{RECORDING_EXTENSION}.{suffix}"))
}

/// Writes `path` (0600) under a temporary name, syncs it, renames it into
/// place and syncs the directory: after a crash it is whole or absent.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its configuration holds the credentials.
        write!(f, "Remote({})", self.name)
    }
}

fn object_path(prefix: &ObjectPath, id: &str) -> ObjectPath {
    prefix.child(format!("{id}.{RECORDING_EXTENSION}"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("cw-recstore-{}", crate::ids::token()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn local_store_keeps_files_in_the_spool_and_reads_them() {
        let d = dir();
        let store = RecordingStore::local(d.clone());
        assert!(!store.is_remote());
        std::fs::write(recording_path(&d, "cw-b"), b"bee").unwrap();
        std::fs::write(recording_path(&d, "cw-a"), b"ay").unwrap();
        std::fs::write(d.join("cw-c.cwrec.resealing"), b"no").unwrap();
        assert_eq!(store.move_sealed("cw-a").await.unwrap(), None);
        assert_eq!(store.move_all_sealed().await, (0, 0));
        assert!(
            recording_path(&d, "cw-a").exists(),
            "a local store moves nothing"
        );
        assert_eq!(store.list().await.unwrap(), ["cw-a", "cw-b"]);
        assert_eq!(store.read("cw-b").await.unwrap(), b"bee");
        assert!(matches!(
            store.read("cw-z").await,
            Err(RecordingStoreError::NotFound(id)) if id == "cw-z"
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn a_missing_spool_directory_lists_nothing() {
        let store = RecordingStore::local(std::env::temp_dir().join("cw-recstore-none-here"));
        assert!(store.list().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn move_puts_verifies_and_deletes_the_local_copy() {
        let d = dir();
        let mem = Arc::new(InMemory::new());
        let store = RecordingStore::with_object_store(d.clone(), mem.clone(), "rec", "mem".into());
        std::fs::write(recording_path(&d, "cw-a"), b"sealed bytes").unwrap();
        std::fs::write(recording_path(&d, "cw-b"), b"other").unwrap();
        assert_eq!(store.move_sealed("cw-a").await.unwrap(), Some(12));
        assert!(!recording_path(&d, "cw-a").exists());
        let got = mem
            .get(&ObjectPath::from("rec/cw-a.cwrec"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.as_ref(), b"sealed bytes");
        // Readable from both places at once: cw-b is not moved yet.
        assert_eq!(store.list().await.unwrap(), ["cw-a", "cw-b"]);
        assert_eq!(store.read("cw-a").await.unwrap(), b"sealed bytes");
        assert_eq!(store.read("cw-b").await.unwrap(), b"other");
        assert_eq!(store.move_all_sealed().await, (1, 0));
        assert!(store.spooled().unwrap().is_empty());
        assert_eq!(store.read("cw-b").await.unwrap(), b"other");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn key_records_header_rewrites_and_deletion_work_on_both_backends() {
        let d = dir();
        let mem = Arc::new(InMemory::new());
        let local = RecordingStore::local(d.join("local"));
        std::fs::create_dir_all(d.join("local")).unwrap();
        let remote =
            RecordingStore::with_object_store(d.join("spool"), mem.clone(), "p", "mem".into());
        std::fs::create_dir_all(d.join("spool")).unwrap();
        std::fs::write(recording_path(&d.join("local"), "cw-a"), b"HEADER-body").unwrap();
        std::fs::write(recording_path(&d.join("spool"), "cw-a"), b"HEADER-body").unwrap();
        remote.move_sealed("cw-a").await.unwrap();
        for store in [&local, &remote] {
            assert!(store.exists("cw-a").await.unwrap());
            assert!(!store.exists("cw-z").await.unwrap());
            assert_eq!(store.read_head("cw-a", 6).await.unwrap(), b"HEADER");
            assert_eq!(store.read_head("cw-a", 600).await.unwrap(), b"HEADER-body");
            assert_eq!(store.read_record("cw-a", "hold").await.unwrap(), None);
            store
                .write_record("cw-a", "hold", b"record".to_vec())
                .await
                .unwrap();
            assert_eq!(
                store.read_record("cw-a", "hold").await.unwrap().unwrap(),
                b"record"
            );
            store
                .replace_head("cw-a", b"SEALED".to_vec())
                .await
                .unwrap();
            assert_eq!(store.read("cw-a").await.unwrap(), b"SEALED-body");
            assert!(store.replace_head("cw-z", b"X".to_vec()).await.is_err());
            // Records are not recordings.
            assert_eq!(store.list().await.unwrap(), ["cw-a"]);
            store.delete("cw-a", &["seal", "hold"]).await.unwrap();
            store.delete("cw-a", &["seal", "hold"]).await.unwrap();
            assert!(!store.exists("cw-a").await.unwrap());
            assert_eq!(store.read_record("cw-a", "hold").await.unwrap(), None);
            assert!(store.list().await.unwrap().is_empty());
        }
        // On S3 the record is an object beside the recording, never a file.
        assert!(!d.join("spool/cw-a.cwrec.hold").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn a_failed_move_keeps_the_local_file() {
        let d = dir();
        // A store that refuses every write.
        let store = RecordingStore::s3(
            d.clone(),
            &S3Config::parse_url(
                "s3://bucket/p",
                Some("http://127.0.0.1:9".into()),
                "garage".into(),
                "id".into(),
                Secret::new("not-a-secret"),
            )
            .unwrap(),
        )
        .unwrap();
        std::fs::write(recording_path(&d, "cw-a"), b"keep me").unwrap();
        assert!(store.move_sealed("cw-a").await.is_err());
        assert_eq!(
            std::fs::read(recording_path(&d, "cw-a")).unwrap(),
            b"keep me"
        );
        // A file that is not there is an error, not a silent success.
        assert!(store.move_sealed("cw-none").await.is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn s3_urls_parse_and_the_secret_never_prints() {
        let c = S3Config::parse_url(
            "s3://recordings/site-1/",
            None,
            "garage".into(),
            "GK1".into(),
            Secret::new("hush-hush-value"),
        )
        .unwrap();
        assert_eq!(
            (c.bucket.as_str(), c.prefix.as_str()),
            ("recordings", "site-1")
        );
        assert!(!format!("{c:?}").contains("hush-hush-value"));
        let store = RecordingStore::s3("/x".into(), &c).unwrap();
        assert_eq!(store.describe(), "s3://recordings/site-1");
        assert!(!format!("{store:?}").contains("hush-hush-value"));
        assert!(
            S3Config::parse_url(
                "file:///x",
                None,
                String::new(),
                String::new(),
                Secret::new("")
            )
            .is_err()
        );
        assert!(
            S3Config::parse_url(
                "s3:///p",
                None,
                String::new(),
                String::new(),
                Secret::new("")
            )
            .is_err()
        );
    }
}
