//! Verifying a stored log from scratch: every entry decoded and hashed,
//! every stored node and checkpoint compared with the recomputed tree. The
//! first inconsistency is reported with its position.

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{Entry, EntryError};
use crate::hash::{Hash, leaf_hash};
use crate::note::VerifierKey;
use crate::store::LogStore;
use crate::tree::{NodeId, TreeBuilder};

/// The first thing found wrong, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// Entries are stored but no checkpoint is.
    CheckpointMissing,
    /// The checkpoint stored for `size` does not open (signature, origin or
    /// body).
    CheckpointInvalid {
        /// The size it is stored under.
        size: u64,
        /// Why.
        error: CheckpointError,
    },
    /// The checkpoint for `size` has a root other than the entries give.
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// No row for an entry the latest checkpoint covers.
    EntryMissing {
        /// Its index.
        index: u64,
    },
    /// A row that is not a valid entry encoding.
    EntryMalformed {
        /// Its index.
        index: u64,
        /// Why.
        error: EntryError,
    },
    /// The stored leaf hash differs from the entry's hash.
    LeafMismatch {
        /// The entry's index.
        index: u64,
    },
    /// A stored interior node differs from the recomputed one.
    NodeMismatch {
        /// Its coordinates.
        node: NodeId,
    },
    /// A node the tree needs has no row.
    NodeMissing {
        /// Its coordinates.
        node: NodeId,
    },
    /// Entries beyond what the latest checkpoint signs.
    UnsignedEntry {
        /// The first such index.
        index: u64,
    },
}

impl Finding {
    /// The entry index this finding points at, if it is about one entry.
    pub fn entry_index(&self) -> Option<u64> {
        match self {
            Self::EntryMissing { index }
            | Self::EntryMalformed { index, .. }
            | Self::LeafMismatch { index }
            | Self::UnsignedEntry { index } => Some(*index),
            Self::NodeMismatch { node } | Self::NodeMissing { node } if node.level == 0 => {
                Some(node.index)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckpointMissing => write!(f, "entries are stored but no checkpoint"),
            Self::CheckpointInvalid { size, error } => {
                write!(f, "checkpoint at size {size}: {error}")
            }
            Self::RootMismatch { size } => write!(
                f,
                "checkpoint at size {size} does not match entries 0..{size}"
            ),
            Self::EntryMissing { index } => write!(f, "entry {index}: missing"),
            Self::EntryMalformed { index, error } => write!(f, "entry {index}: {error}"),
            Self::LeafMismatch { index } => {
                write!(f, "entry {index}: hash differs from its stored leaf hash")
            }
            Self::NodeMismatch { node } => write!(f, "{node}: differs from the entries"),
            Self::NodeMissing { node } => write!(f, "{node}: missing"),
            Self::UnsignedEntry { index } => {
                write!(f, "entry {index}: beyond the latest signed checkpoint")
            }
        }
    }
}

/// Why verification stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError<E> {
    /// The store could not be read.
    #[error("audit store: {0}")]
    Store(E),
    /// The log is inconsistent here.
    #[error("{0}")]
    Inconsistent(Finding),
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub size: u64,
    /// Their root, equal to the latest checkpoint's.
    pub root: Hash,
    /// Checkpoints checked.
    pub checkpoints: usize,
}

/// Recomputes the log in `store` from its entries and checks every stored
/// checkpoint (signature by `key`, origin, root at its size), every entry
/// and every stored node (all complete subtrees). Returns the first
/// inconsistency in log order: by entry index, then the nodes that entry
/// completes, lowest first.
pub fn verify<S: LogStore>(
    store: &S,
    key: &VerifierKey,
    origin: &str,
) -> Result<Verified, VerifyError<S::Error>> {
    let fail = |f| Err(VerifyError::Inconsistent(f));
    let checkpoints = store.checkpoints().map_err(VerifyError::Store)?;
    let mut opened = Vec::with_capacity(checkpoints.len());
    for (size, note) in &checkpoints {
        match Checkpoint::open(note, key, origin) {
            Ok(cp) if cp.size == *size => opened.push(cp),
            Ok(_) => {
                return fail(Finding::CheckpointInvalid {
                    size: *size,
                    error: CheckpointError::Body,
                });
            }
            Err(error) => return fail(Finding::CheckpointInvalid { size: *size, error }),
        }
    }
    let stored = store.size().map_err(VerifyError::Store)?;
    let signed = opened.last().map_or(0, |c| c.size);
    if opened.is_empty() && stored > 0 {
        return fail(Finding::CheckpointMissing);
    }
    let mut pending = opened.iter().peekable();
    let mut tree = TreeBuilder::new();
    let mut bad_node = None;
    for index in 0..signed.max(stored) {
        if index >= signed {
            return fail(Finding::UnsignedEntry { index });
        }
        let Some(bytes) = store.entry(index).map_err(VerifyError::Store)? else {
            return fail(Finding::EntryMissing { index });
        };
        if let Err(error) = Entry::decode(&bytes) {
            return fail(Finding::EntryMalformed { index, error });
        }
        let mut read_error = None;
        tree.push(leaf_hash(&bytes), |id, h| {
            if bad_node.is_some() || read_error.is_some() {
                return;
            }
            match store.node(id) {
                Err(e) => read_error = Some(e),
                Ok(None) => bad_node = Some(Finding::NodeMissing { node: id }),
                Ok(Some(s)) if s == *h => {}
                Ok(Some(_)) if id.level == 0 => bad_node = Some(Finding::LeafMismatch { index }),
                Ok(Some(_)) => bad_node = Some(Finding::NodeMismatch { node: id }),
            }
        });
        if let Some(e) = read_error {
            return Err(VerifyError::Store(e));
        }
        if let Some(f) = bad_node {
            return fail(f);
        }
        while let Some(cp) = pending.next_if(|cp| cp.size == index + 1) {
            if cp.root != tree.root() {
                return fail(Finding::RootMismatch { size: cp.size });
            }
        }
    }
    // Checkpoints out of order or beyond the entries were not reached.
    if let Some(cp) = pending.next() {
        return fail(Finding::RootMismatch { size: cp.size });
    }
    Ok(Verified {
        size: tree.size(),
        root: tree.root(),
        checkpoints: opened.len(),
    })
}
