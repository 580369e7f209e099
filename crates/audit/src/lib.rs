//! The tamper-evident access log: an append-only Merkle log (RFC 6962
//! hashing), signed checkpoints, inclusion and consistency proofs.
//!
//! Every read of a recording or call record is appended here before the data
//! is released (invariant 4). The crate is pure: no clock, no I/O of its own.
//! A [`LogStore`] holds entries, every complete-subtree node and one signed
//! checkpoint per batch; [`Log`] appends and serves O(log n) proofs from the
//! stored nodes; [`verify`] recomputes everything and names the first
//! inconsistency. Formats: `docs/audit-log.md`.
//!
//! - hashing: [`leaf_hash`], [`node_hash`] (SHA-256, prefixes `0x00`/`0x01`);
//! - proofs: [`tree::inclusion_proof`], [`tree::consistency_proof`] from any
//!   [`tree::NodeSource`], checked by [`verify_inclusion`] and
//!   [`verify_consistency`] (RFC 9162 §2.1.3.2, §2.1.4.2);
//! - entries: [`Entry`], canonical versioned encoding;
//! - checkpoints: [`Checkpoint`] (C2SP tlog-checkpoint) in C2SP signed notes
//!   ([`note`], Ed25519);
//! - witnesses: C2SP tlog-cosignature v1 ([`cosignature`]), a timestamped
//!   Ed25519 cosignature of a checkpoint.

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod hash;
pub mod lanes;
pub mod log;
pub mod note;
pub mod proof;
pub mod store;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use cosignature::{CosignatureError, CosignatureSigner, CosignatureVerifier, Cosigned};
pub use entry::{Action, Entry, EntryError, ObjectKind, Source, Timestamp};
pub use hash::{Hash, leaf_hash, node_hash};
pub use log::{Log, LogCore, LogError, Prepared};
pub use note::{NoteError, NoteSigner, VerifierKey};
pub use proof::{ProofError, verify_consistency, verify_inclusion};
pub use store::{Batch, LogStore, MemoryStore};
pub use tree::NodeId;
pub use verify::{
    Block, Finding, Found, Verified, Verifier, VerifyError, verify, verify_in_blocks,
};
