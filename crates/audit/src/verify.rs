//! Verifying a stored log from scratch: every entry decoded and hashed,
//! every stored node and checkpoint compared with the recomputed tree. The
//! first inconsistency is reported with its position.

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{Entry, EntryError};
use crate::hash::node_hash;
use crate::hash::{Hash, leaf_hash};
use crate::lanes;
use crate::note::VerifierKey;
use crate::store::LogStore;
use crate::tree::{NodeId, TreeBuilder, frontier_ids};

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

/// A run of entries and the stored nodes they complete, as read from a
/// store in one step, for [`Verifier::check_part`] and
/// [`Verifier::finish_block`].
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// Index of `entries[0]`; must be [`Verifier::next_index`].
    pub start: u64,
    /// Entry rows `start..start + entries.len()`, `None` where missing.
    pub entries: &'a [Option<&'a [u8]>],
    /// Stored nodes by position from
    /// `NodeId::first_position_of_leaf(start)`, `None` where missing: those
    /// the block's entries complete (more are ignored, fewer read as
    /// missing).
    pub nodes: &'a [Option<Hash>],
}

impl Block<'_> {
    fn stop(&self) -> u64 {
        self.start + self.entries.len() as u64
    }

    /// The stored node `id` if it is in the block.
    fn node(&self, id: NodeId) -> Option<Option<Hash>> {
        let k = id
            .position()
            .checked_sub(NodeId::first_position_of_leaf(self.start))?;
        Some(
            usize::try_from(k)
                .ok()
                .and_then(|k| self.nodes.get(k).copied().flatten()),
        )
    }
}

/// A finding from [`Verifier::check_part`], ordered as the sequential
/// verifier would meet it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// (entry index, step): 0 the entry itself, 1 + level its nodes,
    /// [`CHECKPOINT_STEP`] the checkpoints of size index + 1.
    key: (u64, u16),
    finding: Finding,
}

const CHECKPOINT_STEP: u16 = 1000;

impl Found {
    /// What was found.
    pub fn finding(&self) -> &Finding {
        &self.finding
    }
}

impl Verifier {
    /// The hash of a node completed before the block: on the verified right
    /// edge at its start.
    fn edge(&self, id: NodeId) -> Option<Hash> {
        frontier_ids(self.tree.size())
            .iter()
            .position(|e| *e == id)
            .and_then(|k| self.tree.frontier().get(k).copied())
    }

    /// The stored hash of `id` from the block, else from the verified edge;
    /// `None` if missing.
    fn stored(&self, block: &Block<'_>, id: NodeId) -> Option<Hash> {
        match block.node(id) {
            Some(h) => h,
            None => self.edge(id),
        }
    }

    /// Checks entries `range` of `block` without changing the verifier, so
    /// parts of a block can be checked on several threads: each entry is
    /// decoded and hashed and compared with its stored leaf, and each node
    /// it completes with the hash of the node's stored children. Returns
    /// the first finding in the range.
    ///
    /// With every node before it stored correctly, a node's stored children
    /// are the recomputed ones, so the first node found this way is the
    /// first one the sequential [`Self::entry`] reports; nodes after it
    /// do not matter. Each entry and node is hashed once, as in
    /// [`Self::entry`].
    pub fn check_part(&self, block: &Block<'_>, range: std::ops::Range<u64>) -> Option<Found> {
        let lo = range.start.max(block.start);
        let hi = range.end.min(block.stop()).min(self.signed_size());
        // In range: j - start < entries.len().
        let bytes = |j: u64| block.entries[(j - block.start) as usize];
        // Everything to hash, first, in bulk: the hashes are independent of
        // one another (a node is checked against its stored children), so
        // they go through SHA-256 side by side (`lanes`). The check below
        // takes them in the same order, under the same conditions.
        let present: Vec<&[u8]> = (lo..hi).filter_map(bytes).collect();
        let mut leaves = lanes::leaf_hashes(&present).into_iter();
        let mut pairs = Vec::with_capacity(present.len());
        for j in lo..hi {
            for level in 1..=j.trailing_ones() as u8 {
                let id = NodeId::new(level, j >> level);
                let (left, right) = children(id);
                if self.stored(block, id).is_some()
                    && let (Some(l), Some(r)) =
                        (self.stored(block, left), self.stored(block, right))
                {
                    pairs.push((l, r));
                }
            }
        }
        let mut nodes = lanes::node_hashes(&pairs).into_iter();
        for j in lo..hi {
            let found = |step: u16, finding| {
                Some(Found {
                    key: (j, step),
                    finding,
                })
            };
            let Some(bytes) = bytes(j) else {
                return found(0, Finding::EntryMissing { index: j });
            };
            let hash = leaves.next().unwrap_or_else(|| leaf_hash(bytes));
            if let Err(error) = Entry::check(bytes) {
                return found(0, Finding::EntryMalformed { index: j, error });
            }
            let leaf = NodeId::new(0, j);
            match self.stored(block, leaf) {
                None => return found(1, Finding::NodeMissing { node: leaf }),
                Some(s) if s != hash => {
                    return found(1, Finding::LeafMismatch { index: j });
                }
                Some(_) => {}
            }
            for level in 1..=j.trailing_ones() as u8 {
                let id = NodeId::new(level, j >> level);
                let Some(s) = self.stored(block, id) else {
                    return found(1 + u16::from(level), Finding::NodeMissing { node: id });
                };
                let (left, right) = children(id);
                // A missing child was reported at its own, earlier, step.
                let (Some(l), Some(r)) = (self.stored(block, left), self.stored(block, right))
                else {
                    continue;
                };
                if nodes.next().unwrap_or_else(|| node_hash(&l, &r)) != s {
                    return found(1 + u16::from(level), Finding::NodeMismatch { node: id });
                }
            }
        }
        None
    }

    /// Ends `block` once its parts have been checked (together covering
    /// it): the first of their findings, the checkpoints the block reaches
    /// and entries beyond the newest checkpoint, in log order. On success
    /// the verifier moves to the block's end, as if each entry had been
    /// given to [`Self::entry`], and reports the same first finding.
    pub fn finish_block<E>(
        &mut self,
        block: &Block<'_>,
        parts: impl IntoIterator<Item = Option<Found>>,
    ) -> Result<(), VerifyError<E>> {
        debug_assert_eq!(block.start, self.tree.size());
        let mut first = parts.into_iter().flatten().min_by_key(|f| f.key);
        let stop = block.stop();
        let signed = self.signed_size();
        if stop > signed {
            let finding = if self.checkpoints.is_empty() {
                Finding::CheckpointMissing
            } else {
                Finding::UnsignedEntry { index: signed }
            };
            let f = Found {
                key: (signed.max(block.start), 0),
                finding,
            };
            if first.as_ref().is_none_or(|g| f.key < g.key) {
                first = Some(f);
            }
        }
        // The checkpoints the sequential verifier would meet in this block,
        // in its order, and their roots from the stored nodes.
        let mut next = self.next_checkpoint;
        let mut lo = block.start + 1;
        while let Some(cp) = self.checkpoints.get(next) {
            if cp.size < lo || cp.size > stop.min(signed) {
                break;
            }
            let key = (cp.size - 1, CHECKPOINT_STEP);
            if first.as_ref().is_some_and(|g| g.key < key) {
                break;
            }
            let edge: Option<Vec<Hash>> = frontier_ids(cp.size)
                .into_iter()
                .map(|id| self.stored(block, id))
                .collect();
            // A missing node on the edge was reported before this step.
            if let Some(edge) = edge
                && TreeBuilder::from_frontier(cp.size, edge).map(|t| t.root()) != Some(cp.root)
            {
                first = Some(Found {
                    key,
                    finding: Finding::RootMismatch { size: cp.size },
                });
                break;
            }
            lo = cp.size;
            next += 1;
        }
        if let Some(f) = first {
            return Err(VerifyError::Inconsistent(f.finding));
        }
        let edge: Option<Vec<Hash>> = frontier_ids(stop)
            .into_iter()
            .map(|id| self.stored(block, id))
            .collect();
        // Every node up to `stop` was found stored and equal to the
        // recomputed one, so the edge is complete.
        let tree = edge
            .and_then(|e| TreeBuilder::from_frontier(stop, e))
            .ok_or(VerifyError::Inconsistent(Finding::EntryMissing {
                index: stop,
            }))?;
        self.tree = tree;
        self.next_checkpoint = next;
        Ok(())
    }
}

/// A node's two children.
fn children(id: NodeId) -> (NodeId, NodeId) {
    (
        NodeId::new(id.level - 1, id.index * 2),
        NodeId::new(id.level - 1, id.index * 2 + 1),
    )
}

/// [`verify`] a block at a time with [`Verifier::check_part`] and
/// [`Verifier::finish_block`], each block checked in `parts` pieces (one
/// after the other here; a backend runs them on threads). Gives the same
/// result as [`verify`]; tests compare the two.
pub fn verify_in_blocks<S: LogStore>(
    store: &S,
    key: &VerifierKey,
    origin: &str,
    block_size: u64,
    parts: u64,
) -> Result<Verified, VerifyError<S::Error>> {
    let checkpoints = store.checkpoints().map_err(VerifyError::Store)?;
    let mut v = Verifier::new(key, origin, &checkpoints).map_err(VerifyError::Inconsistent)?;
    let stored = store.size().map_err(VerifyError::Store)?;
    let end = v.signed_size().max(stored);
    let (block_size, parts) = (block_size.max(1), parts.max(1));
    let mut start = 0;
    while start < end {
        let stop = (start + block_size).min(end);
        let rows = (start..stop)
            .map(|i| store.entry(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(VerifyError::Store)?;
        let entries: Vec<Option<&[u8]>> = rows.iter().map(Option::as_deref).collect();
        let (p0, p1) = (
            NodeId::first_position_of_leaf(start),
            NodeId::first_position_of_leaf(stop),
        );
        let mut nodes = vec![None; (p1 - p0) as usize];
        for j in start..stop {
            for level in 0..=j.trailing_ones() as u8 {
                let id = NodeId::new(level, j >> level);
                nodes[(id.position() - p0) as usize] =
                    store.node(id).map_err(VerifyError::Store)?;
            }
        }
        let block = Block {
            start,
            entries: &entries,
            nodes: &nodes,
        };
        let step = (stop - start).div_ceil(parts);
        let found: Vec<Option<Found>> = (0..parts)
            .map(|k| v.check_part(&block, start + k * step..start + (k + 1) * step))
            .collect();
        v.finish_block(&block, found)?;
        start = stop;
    }
    v.finish(stored)
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
