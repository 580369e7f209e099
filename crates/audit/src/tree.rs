//! The tree's shape and its stored nodes.
//!
//! A node is named by its coordinates: `level` (0 = leaf hash) and `index`
//! (position among the nodes of that level). Node `(l, i)` is the hash of the
//! complete subtree over leaves `[i * 2^l, (i + 1) * 2^l)`. Only complete
//! subtrees are ever stored, so a stored node never changes once written;
//! the log appends about `2n` nodes for `n` entries. Every subtree an RFC 6962
//! proof needs is either one stored node or (at the tree's right edge) the
//! fold of at most `log2 n` of them, so proofs take O(log n) reads.

use crate::hash::{Hash, node_hash};

/// The coordinates of a stored node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// 0 for leaf hashes, up to 63.
    pub level: u8,
    /// Position among the nodes of this level, from 0.
    pub index: u64,
}

impl NodeId {
    /// Node `(level, index)`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The first leaf this node covers.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// The last leaf this node covers: the one whose arrival completes it.
    pub fn last_leaf(&self) -> u64 {
        ((self.index + 1) << self.level) - 1
    }

    /// The node's place in the order nodes are completed (by last leaf,
    /// then level): 0, 1, 2, ... with no gaps. Leaf `k` completes
    /// `1 + trailing_ones(k)` nodes, and those counts sum to
    /// `2j - popcount(j)` over `k < j`. A database keys its node rows by this
    /// number, so verification reads entries and nodes in one pass each.
    pub fn position(&self) -> u64 {
        Self::first_position_of_leaf(self.last_leaf()) + u64::from(self.level)
    }

    /// The position of leaf `j`'s node `(0, j)`: every node completed before
    /// entry `j` arrived has a smaller one.
    pub fn first_position_of_leaf(j: u64) -> u64 {
        2 * j - u64::from(j.count_ones())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node (level {}, index {})", self.level, self.index)
    }
}

/// Appends leaf hashes one at a time, keeping only the right edge of the
/// tree (one complete-subtree hash per set bit of the size), and reports each
/// node that becomes complete. The log engine uses it to compute the nodes to
/// store; the verifier uses it to recompute them.
#[derive(Clone, Debug, Default)]
pub struct TreeBuilder {
    size: u64,
    /// Complete subtree hashes along the right edge, largest (leftmost) first.
    frontier: Vec<Hash>,
}

impl TreeBuilder {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of `size` leaves from its right-edge subtrees, largest first
    /// (as read by [`frontier_ids`]). `None` if the count does not fit the size.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Option<Self> {
        (frontier.len() == size.count_ones() as usize).then_some(Self { size, frontier })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; `completed` is called with the leaf's node
    /// `(0, index)` and then every interior node it completes, lowest first.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        let mut h = leaf;
        let mut level = 0u8;
        completed(NodeId::new(0, index), &h);
        while (index >> level) & 1 == 1 {
            // A right child: its left sibling is the last frontier entry.
            // The frontier holds one hash per set bit of `index`, and bit
            // `level` is set, so it is not empty.
            let Some(left) = self.frontier.pop() else {
                break;
            };
            h = node_hash(&left, &h);
            level += 1;
            completed(NodeId::new(level, index >> level), &h);
        }
        self.frontier.push(h);
        self.size += 1;
    }

    /// The right edge: complete subtree hashes, largest first, one per set
    /// bit of the size (the nodes [`frontier_ids`] names).
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The RFC 6962 root of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        let Some(first) = it.next() else {
            return Hash::EMPTY_ROOT;
        };
        it.fold(*first, |acc, left| node_hash(left, &acc))
    }
}

/// The stored nodes that make up the right edge of a tree of `size` leaves,
/// largest first: what [`TreeBuilder::from_frontier`] needs.
pub fn frontier_ids(size: u64) -> Vec<NodeId> {
    let mut ids = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if size >> level & 1 == 1 {
            ids.push(NodeId::new(level, start >> level));
            start += 1 << level;
        }
    }
    ids
}

/// Somewhere stored node hashes can be read from.
pub trait NodeSource {
    /// Why a read failed.
    type Error;
    /// The node's hash; an error if it is missing or cannot be read.
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;
}

impl<S: std::hash::BuildHasher> NodeSource for std::collections::HashMap<NodeId, Hash, S> {
    /// The node that was not in the map.
    type Error = NodeId;
    fn node(&self, id: NodeId) -> Result<Hash, NodeId> {
        self.get(&id).copied().ok_or(id)
    }
}

/// Records which nodes are read, answering with a placeholder: which nodes a
/// proof needs depends only on the sizes, not on the hashes.
struct Planner(std::cell::RefCell<Vec<NodeId>>);

impl NodeSource for Planner {
    type Error = std::convert::Infallible;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        self.0.borrow_mut().push(id);
        Ok(Hash([0; 32]))
    }
}

/// The stored nodes [`inclusion_proof`] reads for these arguments, so an
/// async backend can fetch them in one query and then build the proof from
/// a `HashMap<NodeId, Hash>`.
pub fn inclusion_nodes(index: u64, size: u64) -> Vec<NodeId> {
    let p = Planner(std::cell::RefCell::new(Vec::new()));
    let _ = inclusion_proof(&p, index, size);
    p.0.into_inner()
}

/// The stored nodes [`consistency_proof`] reads for these arguments.
pub fn consistency_nodes(size1: u64, size2: u64) -> Vec<NodeId> {
    let p = Planner(std::cell::RefCell::new(Vec::new()));
    let _ = consistency_proof(&p, size1, size2);
    p.0.into_inner()
}

/// The largest power of two strictly less than `n` (`n >= 2`).
pub(crate) fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)`, `start < end`, where the range is one that
/// RFC 6962's recursion produces (its left parts are aligned powers of two).
pub fn subtree_hash<S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    end: u64,
) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(NodeId::new(
            n.trailing_zeros() as u8,
            start >> n.trailing_zeros(),
        ));
    }
    let k = split(n);
    let left = subtree_hash(src, start, start + k)?;
    let right = subtree_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// Why a proof cannot be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofRequestError<E> {
    /// Index, or sizes, outside what the tree holds.
    OutOfRange,
    /// A node read failed.
    Source(E),
}

/// RFC 6962 §2.1.1 audit path for leaf `index` in the tree of `size` leaves,
/// leaf to root.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofRequestError<S::Error>> {
    if index >= size {
        return Err(ProofRequestError::OutOfRange);
    }
    let mut out = Vec::with_capacity(64);
    path(src, index, 0, size, &mut out).map_err(ProofRequestError::Source)?;
    Ok(out)
}

fn path<S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n == 1 {
        return Ok(());
    }
    let k = split(n);
    if m - start < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        path(src, m, start + k, end, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

/// RFC 6962 §2.1.2 consistency proof from the tree of `size1` leaves to the
/// tree of `size2`. Empty when the sizes are equal; `0 < size1 <= size2`.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProofRequestError<S::Error>> {
    if size1 == 0 || size1 > size2 {
        return Err(ProofRequestError::OutOfRange);
    }
    let mut out = Vec::with_capacity(64);
    if size1 < size2 {
        subproof(src, size1, 0, size2, true, &mut out).map_err(ProofRequestError::Source)?;
    }
    Ok(out)
}

fn subproof<S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(subtree_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    #[test]
    fn positions_follow_completion_order_without_gaps() {
        let mut b = TreeBuilder::new();
        let mut next = 0u64;
        for leaf in 0..5000u64 {
            assert_eq!(
                NodeId::first_position_of_leaf(leaf),
                next,
                "leaf {leaf} starts at the next position"
            );
            b.push(Hash([0; 32]), |id, _| {
                assert_eq!(id.position(), next, "{id}");
                assert_eq!(id.last_leaf(), leaf);
                next += 1;
            });
        }
    }

    #[test]
    fn frontier_ids_follow_the_set_bits() {
        assert_eq!(frontier_ids(0), vec![]);
        assert_eq!(
            frontier_ids(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
    }
}
