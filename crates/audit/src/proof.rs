//! Verifying inclusion and consistency proofs (RFC 9162 §2.1.3.2 and
//! §2.1.4.2).
//!
//! Hashes are taken as byte slices because proofs come from outside: a proof
//! element that is not 32 bytes is an error, and a root of the wrong length
//! simply does not match.

use crate::hash::{Hash, node_hash};

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// `size1` is larger than `size2`.
    #[error("size1 {size1} is larger than size2 {size2}")]
    SizesReversed {
        /// The older size.
        size1: u64,
        /// The newer size.
        size2: u64,
    },
    /// A consistency proof from the empty tree proves nothing.
    #[error("consistency from the empty tree is not defined")]
    EmptyTree,
    /// The proof has the wrong number of hashes for the sizes.
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    /// A proof element is not 32 bytes.
    #[error("proof element {position} is not a 32-byte hash")]
    MalformedHash {
        /// Its position in the proof.
        position: usize,
    },
    /// The leaf hash is not 32 bytes.
    #[error("leaf hash is not 32 bytes")]
    MalformedLeaf,
    /// The computed root differs from the one given.
    #[error("computed root does not match")]
    RootMismatch,
}

fn element(proof: &[impl AsRef<[u8]>], position: usize) -> Result<Hash, ProofError> {
    Hash::from_slice(proof[position].as_ref()).ok_or(ProofError::MalformedHash { position })
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose
/// root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[impl AsRef<[u8]>],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let leaf = Hash::from_slice(leaf_hash).ok_or(ProofError::MalformedLeaf)?;
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = leaf;
    for position in 0..proof.len() {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        let p = element(proof, position)?;
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(&p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, &p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if r.as_ref() != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1`.
///
/// Equal sizes need an empty proof and equal roots. `size1 == 0` is refused:
/// every tree extends the empty one, so such a proof would vouch for nothing.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[impl AsRef<[u8]>],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let Some(first_root) = Hash::from_slice(root1) else {
        return Err(ProofError::RootMismatch);
    };
    // When size1 is a power of two its root is itself a node of the larger
    // tree and the proof leaves it out: start from it.
    let (mut fr, mut sr, rest) = if size1.is_power_of_two() {
        (first_root, first_root, 0)
    } else {
        let p0 = element(proof, 0)?;
        (p0, p0, 1)
    };
    let mut fnode = size1 - 1;
    let mut snode = size2 - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    for position in rest..proof.len() {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        let c = element(proof, position)?;
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(&c, &fr);
            sr = node_hash(&c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, &c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr.as_ref() != root1 || sr.as_ref() != root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
