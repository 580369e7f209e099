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

/// Verification as a stream, for any backend: give it the stored
/// checkpoints, then every entry in index order with a way to read the
/// nodes each one completes, then the number of stored entries.
///
/// Checks, in log order: every checkpoint opens under the key, names the
/// origin and is stored under its own size; each entry exists, decodes and
/// hashes to its stored leaf node; every node it completes matches the
/// stored one; at each checkpoint's size the recomputed root matches; no
/// entry lies beyond the newest checkpoint.
#[derive(Debug)]
pub struct Verifier {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    tree: TreeBuilder,
}

impl Verifier {
    /// Opens every stored checkpoint `(size, note)`, oldest first.
    pub fn new(
        key: &VerifierKey,
        origin: &str,
        checkpoints: &[(u64, String)],
    ) -> Result<Self, Finding> {
        let mut opened = Vec::with_capacity(checkpoints.len());
        for (size, note) in checkpoints {
            match Checkpoint::open(note, key, origin) {
                Ok(cp) if cp.size == *size => opened.push(cp),
                Ok(_) => {
                    return Err(Finding::CheckpointInvalid {
                        size: *size,
                        error: CheckpointError::Body,
                    });
                }
                Err(error) => return Err(Finding::CheckpointInvalid { size: *size, error }),
            }
        }
        Ok(Self {
            checkpoints: opened,
            next_checkpoint: 0,
            tree: TreeBuilder::new(),
        })
    }

    /// The newest checkpoint's size: entries to expect.
    pub fn signed_size(&self) -> u64 {
        self.checkpoints.last().map_or(0, |c| c.size)
    }

    /// Index of the entry [`Self::entry`] expects next.
    pub fn next_index(&self) -> u64 {
        self.tree.size()
    }

    /// Checks the next entry (`None`: its row is missing). `stored` reads a
    /// stored node; it is asked for each node this entry completes, leaf
    /// hash first. After an error the verifier is spent.
    pub fn entry<E>(
        &mut self,
        bytes: Option<&[u8]>,
        mut stored: impl FnMut(NodeId) -> Result<Option<Hash>, E>,
    ) -> Result<(), VerifyError<E>> {
        let index = self.tree.size();
        let fail = |f| Err(VerifyError::Inconsistent(f));
        if index >= self.signed_size() {
            if self.checkpoints.is_empty() {
                return fail(Finding::CheckpointMissing);
            }
            return fail(Finding::UnsignedEntry { index });
        }
        let Some(bytes) = bytes else {
            return fail(Finding::EntryMissing { index });
        };
        if let Err(error) = Entry::check(bytes) {
            return fail(Finding::EntryMalformed { index, error });
        }
        let mut outcome = Ok(());
        self.tree.push(leaf_hash(bytes), |id, h| {
            if outcome.is_err() {
                return;
            }
            outcome = match stored(id) {
                Err(e) => Err(VerifyError::Store(e)),
                Ok(None) => fail(Finding::NodeMissing { node: id }),
                Ok(Some(s)) if s == *h => Ok(()),
                Ok(Some(_)) if id.level == 0 => fail(Finding::LeafMismatch { index }),
                Ok(Some(_)) => fail(Finding::NodeMismatch { node: id }),
            };
        });
        outcome?;
        while let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.size != index + 1 {
                break;
            }
            if cp.root != self.tree.root() {
                return fail(Finding::RootMismatch { size: cp.size });
            }
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Ends the stream; `stored_entries` is how many entry rows the store
    /// holds (highest index + 1).
    pub fn finish<E>(self, stored_entries: u64) -> Result<Verified, VerifyError<E>> {
        let index = self.tree.size();
        if stored_entries > index {
            let f = if self.checkpoints.is_empty() {
                Finding::CheckpointMissing
            } else {
                Finding::UnsignedEntry { index }
            };
            return Err(VerifyError::Inconsistent(f));
        }
        if index < self.signed_size() {
            return Err(VerifyError::Inconsistent(Finding::EntryMissing { index }));
        }
        // A checkpoint never reached: stored out of order, or beyond the
        // entries.
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            return Err(VerifyError::Inconsistent(Finding::RootMismatch {
                size: cp.size,
            }));
        }
        Ok(Verified {
            size: index,
            root: self.tree.root(),
            checkpoints: self.checkpoints.len(),
        })
    }
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
    let checkpoints = store.checkpoints().map_err(VerifyError::Store)?;
    let mut v = Verifier::new(key, origin, &checkpoints).map_err(VerifyError::Inconsistent)?;
    let stored = store.size().map_err(VerifyError::Store)?;
    for index in 0..v.signed_size().max(stored) {
        let bytes = store.entry(index).map_err(VerifyError::Store)?;
        v.entry(bytes.as_deref(), |id| store.node(id))?;
    }
    v.finish(stored)
}
