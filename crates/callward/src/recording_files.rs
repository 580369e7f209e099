//! Where the retention job, legal holds and privilege seals find a call's
//! recording and its key records: the one seam between them and storage.
//! Today a local directory (`<data-dir>/recordings/<id>.cwrec`, its
//! `.hold` and `.seal` beside it); an object store backend changes this
//! file only.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use callward_vault::{RecordKind, RecordingHeader};

use crate::keys::{read_header, sidecar, sync_parent};

/// The recordings of one data dir.
#[derive(Debug, Clone)]
pub(crate) struct RecordingFiles {
    dir: PathBuf,
}

impl RecordingFiles {
    /// The recordings under `data_dir`.
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("recordings"),
        }
    }

    /// The file of recording `id` (it may not exist).
    pub(crate) fn path(&self, id: &str) -> PathBuf {
        callward_switch::recording_path(&self.dir, id)
    }

    /// Whether recording `id` exists.
    pub(crate) fn exists(&self, id: &str) -> bool {
        self.path(id).is_file()
    }

    /// The header of recording `id`.
    pub(crate) fn header(&self, id: &str) -> anyhow::Result<RecordingHeader> {
        read_header(&self.path(id)).with_context(|| format!("recording {id}"))
    }

    /// The key record of `kind` kept for recording `id`.
    pub(crate) fn record_path(&self, id: &str, kind: RecordKind) -> PathBuf {
        sidecar(&self.path(id), kind)
    }

    /// Every recording id, sorted.
    pub(crate) fn list(&self) -> anyhow::Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot read {}", self.dir.display()))?
                .path();
            if path
                .extension()
                .is_some_and(|e| e == callward_switch::RECORDING_EXTENSION)
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                ids.push(stem.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Deletes recording `id` and its key records, and syncs the
    /// directory. What is already gone is not an error, so a deletion cut
    /// short finishes when repeated. The recording goes first: a key record
    /// left behind by a crash opens nothing.
    pub(crate) fn delete(&self, id: &str) -> anyhow::Result<()> {
        let recording = self.path(id);
        let paths = [
            recording.clone(),
            sidecar(&recording, RecordKind::PrivilegeSeal),
            sidecar(&recording, RecordKind::LegalHold),
        ];
        for path in &paths {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot delete {}", path.display()));
                }
            }
        }
        if self.dir.is_dir() {
            sync_parent(&recording)?;
        }
        Ok(())
    }
}
