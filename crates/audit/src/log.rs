//! The log engine: appends batches, keeps the tree's right edge in memory,
//! signs a checkpoint per batch and serves proofs from stored nodes.

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

fn proof_error<E>(e: ProofRequestError<LogError<E>>) -> LogError<E> {
    match e {
        ProofRequestError::Source(e) => e,
        _ => LogError::OutOfRange,
    }
}

/// An append-only Merkle log over a [`LogStore`].
#[derive(Debug)]
pub struct Log<S> {
    store: S,
    origin: String,
    signer: NoteSigner,
    tree: TreeBuilder,
    checkpoint: Option<String>,
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
        let tree =
            TreeBuilder::from_frontier(size, frontier).ok_or(LogError::CheckpointMismatch)?;
        let latest = store.latest_checkpoint().map_err(LogError::Store)?;
        let checkpoint = match latest {
            None if size == 0 => None,
            None => return Err(LogError::CheckpointMismatch),
            Some((cp_size, note)) => {
                let cp = Checkpoint::open(&note, signer.verifier(), origin)?;
                if cp.size != size || cp_size != size || cp.root != tree.root() {
                    return Err(LogError::CheckpointMismatch);
                }
                Some(note)
            }
        };
        Ok(Self {
            store,
            origin: origin.to_owned(),
            signer,
            tree,
            checkpoint,
        })
    }

    /// Appends `entries` as one batch: one store write holding the entries,
    /// the nodes they complete and the new signed checkpoint. Returns the
    /// checkpoint. On error nothing changes.
    pub fn append(&mut self, entries: &[Entry]) -> Result<Checkpoint, LogError<S::Error>> {
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
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: tree.size(),
            root: tree.root(),
            extensions: Vec::new(),
        };
        let note = cp.sign(&self.signer)?;
        let batch = Batch {
            first_index: self.tree.size(),
            entries: encoded,
            nodes,
            size: tree.size(),
            checkpoint: note,
        };
        self.store.append(&batch).map_err(LogError::Store)?;
        self.tree = tree;
        self.checkpoint = Some(batch.checkpoint);
        Ok(cp)
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
