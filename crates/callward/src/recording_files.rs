//! Where retention, legal holds, privilege seals and `recording
//! export/verify` find a call's recording and its key records: the one
//! seam between them and storage, over the switch's [`RecordingStore`]
//! (the local directory `<data-dir>/recordings/`, or S3 with the spool in
//! front). A recording's key records (`.hold`, `.seal`) live beside it: as
//! files in the directory, as objects (`<id>.cwrec.hold`) in the bucket.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use callward_switch::recording_store::RecordingStore;
use callward_vault::{KeyRecord, RecordKind, RecordingHeader};

/// Bytes read to parse a header (headers are about 200 bytes).
const HEAD_LEN: usize = 400;

/// The recordings of one store.
#[derive(Debug, Clone)]
pub(crate) struct RecordingFiles {
    store: RecordingStore,
}

impl RecordingFiles {
    /// The recordings of `store`.
    pub(crate) fn new(store: RecordingStore) -> Self {
        Self { store }
    }

    /// The recordings kept as files in `dir` (`keys hold/seal` given paths).
    pub(crate) fn local_dir(dir: PathBuf) -> Self {
        Self::new(RecordingStore::local(dir))
    }

    /// The store underneath.
    pub(crate) fn store(&self) -> &RecordingStore {
        &self.store
    }

    /// Whether recording `id` exists.
    pub(crate) async fn exists(&self, id: &str) -> anyhow::Result<bool> {
        self.store
            .exists(id)
            .await
            .with_context(|| format!("recording {id}"))
    }

    /// The header of recording `id`.
    pub(crate) async fn header(&self, id: &str) -> anyhow::Result<RecordingHeader> {
        let head = self
            .store
            .read_head(id, HEAD_LEN)
            .await
            .with_context(|| format!("recording {id}: cannot read it"))?;
        RecordingHeader::parse(&head).with_context(|| format!("recording {id}"))
    }

    /// The key record of `kind` kept for recording `id`, if any.
    pub(crate) async fn record(
        &self,
        id: &str,
        kind: RecordKind,
    ) -> anyhow::Result<Option<KeyRecord>> {
        let Some(bytes) = self
            .store
            .read_record(id, kind.suffix())
            .await
            .with_context(|| format!("recording {id}: cannot read its .{}", kind.suffix()))?
        else {
            return Ok(None);
        };
        let record = KeyRecord::parse(&bytes)
            .with_context(|| format!("recording {id}: its .{} is damaged", kind.suffix()))?;
        Ok(Some(record))
    }

    /// Writes the key record of `kind` for recording `id`, whole or not at
    /// all.
    pub(crate) async fn write_record(
        &self,
        id: &str,
        kind: RecordKind,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        self.store
            .write_record(id, kind.suffix(), bytes.to_vec())
            .await
            .with_context(|| format!("recording {id}: cannot write its .{}", kind.suffix()))
    }

    /// Writes `header` (a sealed header, same length) over recording `id`'s.
    pub(crate) async fn replace_header(&self, id: &str, header: &[u8]) -> anyhow::Result<()> {
        self.store
            .replace_head(id, header.to_vec())
            .await
            .with_context(|| format!("cannot seal recording {id}"))
    }

    /// Every recording id, sorted (the spool and the object store).
    pub(crate) async fn list(&self) -> anyhow::Result<Vec<String>> {
        self.store
            .list()
            .await
            .with_context(|| format!("cannot list the recordings in {}", self.store.describe()))
    }

    /// Deletes recording `id`, then its key records. What is already gone
    /// is not an error, so a deletion cut short finishes when repeated. The
    /// recording goes first: a key record left behind by a crash opens
    /// nothing.
    pub(crate) async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.store
            .delete(
                id,
                &[
                    RecordKind::PrivilegeSeal.suffix(),
                    RecordKind::LegalHold.suffix(),
                ],
            )
            .await
            .with_context(|| format!("cannot delete recording {id}"))
    }
}

/// `keys hold/seal` arguments: a path to a recording file (`x/ID.cwrec`)
/// names it in its own directory; anything else is a recording id in the
/// data dir's store.
pub(crate) fn by_path(arg: &str) -> Option<(RecordingFiles, String)> {
    let path = Path::new(arg);
    let is_path = arg.contains('/')
        || path
            .extension()
            .is_some_and(|e| e == callward_switch::RECORDING_EXTENSION);
    if !is_path {
        return None;
    }
    let id = path.file_stem()?.to_str()?.to_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Some((RecordingFiles::local_dir(dir), id))
}
