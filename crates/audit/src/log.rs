//! The log engine: appends batches, keeps the tree's right edge in memory,
//! signs a checkpoint per batch and serves proofs from stored nodes.
//!
//! [`LogCore`] is the sans-IO part (state, batch preparation, checks) that
//! any backend drives, async or not; [`Log`] drives it over a synchronous
//! [`LogStore`].

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::{Entry, EntryError};
use crate::hash::{Hash, leaf_hash};
use crate::note::NoteSigner;
use crate::store::{Batch, LogStore};
use crate::tree::{
    NodeId, NodeSource, ProofRequestError, TreeBuilder, consistency_proof, frontier_ids,
    inclusion_proof,
};

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError<E> {
    /// The store failed.
    #[error("audit store: {0}")]
    Store(E),
    /// An entry cannot be encoded.
    #[error("audit entry: {0}")]
    Entry(#[from] EntryError),
    /// An append with no entries.
    #[error("empty batch")]
    EmptyBatch,
    /// A proof was asked for beyond the log's size.
    #[error("proof request outside the log")]
    OutOfRange,
    /// A node the tree needs is not stored.
    #[error("audit store lacks {0}")]
    NodeMissing(NodeId),
    /// An entry index below the size has no row.
    #[error("audit store lacks entry {0}")]
    EntryMissing(u64),
    /// The stored latest checkpoint does not open, or does not match the
    /// stored tree: run `verify` to find where.
    #[error("latest checkpoint does not match the stored log")]
    CheckpointMismatch,
    /// The stored checkpoint's signature or body.
    #[error("latest checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
}

/// The log's state without its storage: origin, signing key and the right
/// edge of the tree.
#[derive(Debug)]
pub struct LogCore {
    origin: String,
    signer: NoteSigner,
    tree: TreeBuilder,
    checkpoint: Option<String>,
}

/// A batch ready to be written, and the state to move to once it is.
#[derive(Debug)]
pub struct Prepared {
    /// What to write, in one transaction.
    pub batch: Batch,
    /// The checkpoint signed in it.
    pub checkpoint: Checkpoint,
    tree: TreeBuilder,
}

impl LogCore {
    /// The state of an empty log.
    pub fn empty(origin: &str, signer: NoteSigner) -> Self {
        Self {
            origin: origin.to_owned(),
            signer,
            tree: TreeBuilder::new(),
            checkpoint: None,
        }
    }

    /// The state of a stored log of `size` entries, from its right-edge
    /// nodes (those named by [`frontier_ids`], in that order) and its latest
    /// checkpoint, which must open under the signer's key and match them.
    pub fn resume<E>(
        origin: &str,
        signer: NoteSigner,
        size: u64,
        frontier: Vec<Hash>,
        latest: Option<&(u64, String)>,
    ) -> Result<Self, LogError<E>> {
        let mut core = Self::empty(origin, signer);
        core.resync(size, frontier, latest)?;
        Ok(core)
    }

    /// Moves to the stored state read again (as [`Self::resume`] takes it):
    /// what a writer does when another one appended meanwhile. On error
    /// nothing changes.
    pub fn resync<E>(
        &mut self,
        size: u64,
        frontier: Vec<Hash>,
        latest: Option<&(u64, String)>,
    ) -> Result<(), LogError<E>> {
        let tree =
            TreeBuilder::from_frontier(size, frontier).ok_or(LogError::CheckpointMismatch)?;
        let checkpoint = match latest {
            None if size == 0 => None,
            None => return Err(LogError::CheckpointMismatch),
            Some((cp_size, note)) => {
                let cp = Checkpoint::open(note, self.signer.verifier(), &self.origin)?;
                if cp.size != size || *cp_size != size || cp.root != tree.root() {
                    return Err(LogError::CheckpointMismatch);
                }
                Some(note.clone())
            }
        };
        self.tree = tree;
        self.checkpoint = checkpoint;
        Ok(())
    }

    /// Encodes and hashes `entries`, computes the nodes they complete and
    /// signs the checkpoint for the new size. Changes nothing: call
    /// [`Self::commit`] once the batch is stored.
    pub fn prepare<E>(&self, entries: &[Entry]) -> Result<Prepared, LogError<E>> {
        if entries.is_empty() {
            return Err(LogError::EmptyBatch);
        }
        let encoded = entries
            .iter()
            .map(Entry::encode)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tree = self.tree.clone();
        let mut nodes = Vec::with_capacity(encoded.len() * 2 + 64);
        for e in &encoded {
            tree.push(leaf_hash(e), |id, h| nodes.push((id, *h)));
        }
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: tree.size(),
            root: tree.root(),
            extensions: Vec::new(),
        };
        let note = checkpoint.sign(&self.signer)?;
        Ok(Prepared {
            batch: Batch {
                first_index: self.tree.size(),
                entries: encoded,
                nodes,
                size: tree.size(),
                checkpoint: note,
            },
            checkpoint,
            tree,
        })
    }

    /// Moves to the state after `prepared`, which has been stored. A batch
    /// prepared from another state is refused (returns it back).
    pub fn commit(&mut self, prepared: Prepared) -> Result<Checkpoint, Box<Prepared>> {
        if prepared.batch.first_index != self.tree.size() {
            return Err(Box::new(prepared));
        }
        self.tree = prepared.tree;
        self.checkpoint = Some(prepared.batch.checkpoint);
        Ok(prepared.checkpoint)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The latest signed checkpoint note, `None` while empty.
    pub fn checkpoint(&self) -> Option<&str> {
        self.checkpoint.as_deref()
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

struct Nodes<'a, S>(&'a S);

impl<S: LogStore> NodeSource for Nodes<'_, S> {
    type Error = LogError<S::Error>;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        self.0
            .node(id)
            .map_err(LogError::Store)?
            .ok_or(LogError::NodeMissing(id))
    }
}

/// Maps a proof request failure from a node source whose error is already
/// a [`LogError`].
pub fn proof_error<E>(e: ProofRequestError<LogError<E>>) -> LogError<E> {
    match e {
        ProofRequestError::Source(e) => e,
        _ => LogError::OutOfRange,
    }
}

/// An append-only Merkle log over a [`LogStore`].
#[derive(Debug)]
pub struct Log<S> {
    store: S,
    core: LogCore,
}

impl<S: LogStore> Log<S> {
    /// Opens the log in `store`: reads the right edge of the tree (O(log n)
    /// nodes) and checks that the latest checkpoint opens under the signer's
    /// key and matches it.
    pub fn open(store: S, origin: &str, signer: NoteSigner) -> Result<Self, LogError<S::Error>> {
        let size = store.size().map_err(LogError::Store)?;
        let nodes = Nodes(&store);
        let frontier = frontier_ids(size)
            .into_iter()
            .map(|id| nodes.node(id))
            .collect::<Result<Vec<_>, _>>()?;
        let latest = store.latest_checkpoint().map_err(LogError::Store)?;
        let core = LogCore::resume(origin, signer, size, frontier, latest.as_ref())?;
        Ok(Self { store, core })
    }

    /// Appends `entries` as one batch: one store write holding the entries,
    /// the nodes they complete and the new signed checkpoint. Returns the
    /// checkpoint. On error nothing changes.
    pub fn append(&mut self, entries: &[Entry]) -> Result<Checkpoint, LogError<S::Error>> {
        let prepared = self.core.prepare(entries)?;
        self.store
            .append(&prepared.batch)
            .map_err(LogError::Store)?;
        // Prepared from the current state just above.
        self.core
            .commit(prepared)
            .map_err(|_| LogError::CheckpointMismatch)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.core.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.core.root()
    }

    /// The latest signed checkpoint note, `None` while empty.
    pub fn checkpoint(&self) -> Option<&str> {
        self.core.checkpoint()
    }

    /// Entry `index`, decoded.
    pub fn entry(&self, index: u64) -> Result<Entry, LogError<S::Error>> {
        let bytes = self
            .store
            .entry(index)
            .map_err(LogError::Store)?
            .ok_or(LogError::EntryMissing(index))?;
        Ok(Entry::decode(&bytes)?)
    }

    /// The stored leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, LogError<S::Error>> {
        Nodes(&self.store).node(NodeId::new(0, index))
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError<S::Error>> {
        if size > self.size() {
            return Err(LogError::OutOfRange);
        }
        inclusion_proof(&Nodes(&self.store), index, size).map_err(proof_error)
    }

    /// Consistency proof from the tree of `size1` entries to `size2`.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<Vec<Hash>, LogError<S::Error>> {
        if size2 > self.size() {
            return Err(LogError::OutOfRange);
        }
        consistency_proof(&Nodes(&self.store), size1, size2).map_err(proof_error)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }
}
