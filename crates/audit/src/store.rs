//! Where the log lives: the [`LogStore`] trait and an in-memory store.
//!
//! Layout (the same in every backend): entries by index (their canonical
//! bytes), every complete-subtree node by `(level, index)` (see
//! [`crate::tree`]), and one signed checkpoint per appended batch. A batch is
//! written whole or not at all, so the latest checkpoint always covers
//! exactly the stored entries.

use std::collections::HashMap;
use std::convert::Infallible;

use crate::hash::Hash;
use crate::tree::NodeId;

/// One append, written atomically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Index of the first entry (the log's size before the batch).
    pub first_index: u64,
    /// Canonical entry encodings, in order.
    pub entries: Vec<Vec<u8>>,
    /// Every node the entries complete, leaf hashes included.
    pub nodes: Vec<(NodeId, Hash)>,
    /// Tree size after the batch.
    pub size: u64,
    /// The signed checkpoint note for that size.
    pub checkpoint: String,
}

/// The persistent log. Reads take `&self`; a backend that needs a
/// connection or a transaction keeps it inside.
pub trait LogStore {
    /// Why a read or write failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of entries stored.
    fn size(&self) -> Result<u64, Self::Error>;

    /// Writes a batch whole, or nothing.
    fn append(&mut self, batch: &Batch) -> Result<(), Self::Error>;

    /// The stored bytes of entry `index`, `None` if there is no such row.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Self::Error>;

    /// A stored node hash, `None` if there is no such row.
    fn node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error>;

    /// Every stored checkpoint as `(size, signed note)`, oldest first.
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Self::Error>;

    /// The newest checkpoint, `None` for an empty log.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, Self::Error> {
        Ok(self.checkpoints()?.pop())
    }
}

/// A log kept in memory: for tests, benchmarks and as the reference the
/// persistent backends are compared with.
///
/// Its rows are public through `*_mut` accessors so tests can tamper with
/// them the way someone with write access to a database could.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Vec<Vec<u8>>,
    /// `levels[l][i]` is node `(l, i)`.
    levels: Vec<Vec<Hash>>,
    /// Nodes written out of order (only by tampering).
    stray: HashMap<NodeId, Hash>,
    checkpoints: Vec<(u64, String)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry rows, index = position.
    pub fn entries_mut(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.entries
    }

    /// The node rows of one level, index = position.
    pub fn level_mut(&mut self, level: u8) -> &mut Vec<Hash> {
        let l = usize::from(level);
        if self.levels.len() <= l {
            self.levels.resize_with(l + 1, Vec::new);
        }
        &mut self.levels[l]
    }

    /// The checkpoint rows.
    pub fn checkpoints_mut(&mut self) -> &mut Vec<(u64, String)> {
        &mut self.checkpoints
    }

    fn put_node(&mut self, id: NodeId, h: Hash) {
        let level = self.level_mut(id.level);
        if usize::try_from(id.index).is_ok_and(|i| i == level.len()) {
            level.push(h);
        } else {
            self.stray.insert(id, h);
        }
    }
}

impl LogStore for MemoryStore {
    type Error = Infallible;

    fn size(&self) -> Result<u64, Infallible> {
        Ok(self.entries.len() as u64)
    }

    fn append(&mut self, batch: &Batch) -> Result<(), Infallible> {
        self.entries.extend(batch.entries.iter().cloned());
        for (id, h) in &batch.nodes {
            self.put_node(*id, *h);
        }
        self.checkpoints
            .push((batch.size, batch.checkpoint.clone()));
        Ok(())
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .cloned())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, Infallible> {
        let stored = self
            .levels
            .get(usize::from(id.level))
            .and_then(|l| usize::try_from(id.index).ok().and_then(|i| l.get(i)));
        Ok(stored.or_else(|| self.stray.get(&id)).copied())
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Infallible> {
        Ok(self.checkpoints.clone())
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, Infallible> {
        Ok(self.checkpoints.last().cloned())
    }
}
