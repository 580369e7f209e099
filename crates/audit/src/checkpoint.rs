//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the note text
//! `origin\nsize\nbase64(root)\n`, signed as a note.

use crate::hash::Hash;
use crate::note::{self, NoteError, NoteSigner, VerifierKey, b64_decode, b64_encode};

/// A tree head: the log's origin line, its size and its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `callward.example/audit`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root of the first `size` entries.
    pub root: Hash,
    /// Extension lines (callward writes none; kept when read).
    pub extensions: Vec<String>,
}

/// Why a checkpoint is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body is not origin, size, root and non-empty extension lines.
    #[error("malformed checkpoint body")]
    Body,
    /// The origin is not the expected one.
    #[error("checkpoint is for another log")]
    Origin,
    /// The note around it did not open.
    #[error("checkpoint signature: {0}")]
    Note(#[from] NoteError),
}

impl Checkpoint {
    /// The note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64_encode(&self.root.0)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses note text (already verified) into a checkpoint.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Body)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Body);
        };
        if origin.is_empty() {
            return Err(CheckpointError::Body);
        }
        let canonical = size == "0" || (!size.starts_with('0') && !size.is_empty());
        if !canonical || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CheckpointError::Body);
        }
        let size: u64 = size.parse().map_err(|_| CheckpointError::Body)?;
        let root = b64_decode(root)
            .and_then(|r| Hash::from_slice(&r))
            .ok_or(CheckpointError::Body)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Body);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The signed checkpoint note.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(signer.sign(&self.to_text())?)
    }

    /// Opens a signed checkpoint with the log's key and checks its origin.
    pub fn open(note: &str, key: &VerifierKey, origin: &str) -> Result<Self, CheckpointError> {
        let opened = note::open(note, std::slice::from_ref(key))?;
        let cp = Self::parse(opened.text)?;
        if cp.origin != origin {
            return Err(CheckpointError::Origin);
        }
        Ok(cp)
    }
}
