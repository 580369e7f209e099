//! The log engine: roots against the RFC 6962 definition, proofs from
//! stored nodes verified for every size up to 130 and for random pairs in a
//! larger log, O(log n) node reads, reopening, refusals.

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::convert::Infallible;

use callward_audit::tree::{self, NodeSource};
use callward_audit::{
    Checkpoint, Hash, Log, LogCore, LogError, LogStore, MemoryStore, NodeId, leaf_hash,
    verify_consistency, verify_inclusion,
};
use common::{ORIGIN, Rng, entry, leaves, log_of, reference_root, signer};

#[test]
fn every_proof_for_every_size_up_to_130() {
    const N: u64 = 130;
    let all = leaves(N);
    let mut log = Log::open(MemoryStore::new(), ORIGIN, signer()).expect("opens");
    let mut roots = vec![Hash::EMPTY_ROOT];
    for i in 0..N {
        let cp = log.append(&[entry(i)]).expect("append");
        assert_eq!(cp.size, i + 1);
        assert_eq!(
            cp.root,
            reference_root(&all[..=i as usize]),
            "root at size {}",
            i + 1
        );
        roots.push(cp.root);
    }
    let mut checked = 0;
    for n in 1..=N {
        let root = roots[n as usize];
        for i in 0..n {
            let proof = log.inclusion_proof(i, n).expect("in range");
            verify_inclusion(i, n, &all[i as usize].0, &proof, &root.0)
                .unwrap_or_else(|e| panic!("inclusion {i} in {n}: {e}"));
            // The same proof does not vouch for a neighbour or another size.
            let other = (i + 1) % n;
            if other != i {
                assert!(verify_inclusion(other, n, &all[i as usize].0, &proof, &root.0).is_err());
            }
            checked += 1;
        }
        for m in 1..=n {
            let proof = log.consistency_proof(m, n).expect("in range");
            verify_consistency(m, n, &proof, &roots[m as usize].0, &root.0)
                .unwrap_or_else(|e| panic!("consistency {m} -> {n}: {e}"));
            if m < n {
                assert!(
                    verify_consistency(m, n, &proof, &roots[m as usize - 1].0, &root.0).is_err()
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, (N * (N + 1) / 2) * 2);
}

#[test]
fn random_pairs_in_a_batched_log() {
    const N: u64 = 5000;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut log = Log::open(MemoryStore::new(), ORIGIN, signer()).expect("opens");
    let mut sizes_roots = vec![];
    let mut next = 0;
    while next < N {
        let end = (next + rng.range(1, 300)).min(N);
        let batch: Vec<_> = (next..end).map(entry).collect();
        let cp = log.append(&batch).expect("append");
        sizes_roots.push((cp.size, cp.root));
        next = end;
    }
    assert_eq!(log.root(), reference_root(&leaves(N)));
    for _ in 0..400 {
        let (n, root_n) = sizes_roots[rng.range(0, sizes_roots.len() as u64 - 1) as usize];
        let i = rng.range(0, n - 1);
        let proof = log.inclusion_proof(i, n).expect("in range");
        let leaf = log.leaf_hash(i).expect("stored");
        assert_eq!(leaf, leaf_hash(&entry(i).encode().expect("encodes")));
        verify_inclusion(i, n, &leaf.0, &proof, &root_n.0).expect("inclusion verifies");
        let (m, root_m) = sizes_roots[rng.range(0, sizes_roots.len() as u64 - 1) as usize];
        let (a, b, ra, rb) = if m <= n {
            (m, n, root_m, root_n)
        } else {
            (n, m, root_n, root_m)
        };
        let proof = log.consistency_proof(a, b).expect("in range");
        verify_consistency(a, b, &proof, &ra.0, &rb.0).expect("consistency verifies");
        // A flipped bit in any element breaks it.
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = rng.range(0, bad.len() as u64 - 1) as usize;
            bad[k].0[rng.range(0, 31) as usize] ^= 1;
            assert!(verify_consistency(a, b, &bad, &ra.0, &rb.0).is_err());
        }
    }
}

/// Counts node reads, to show proofs cost O(log n) of them.
struct Counting<'a> {
    store: &'a MemoryStore,
    reads: Cell<u64>,
}

impl NodeSource for Counting<'_> {
    type Error = Infallible;
    fn node(&self, id: NodeId) -> Result<Hash, Infallible> {
        self.reads.set(self.reads.get() + 1);
        Ok(self.store.node(id)?.expect("stored"))
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    let n = 20_000u64;
    let log = log_of(n, 1000);
    let src = Counting {
        store: log.store(),
        reads: Cell::new(0),
    };
    let log2 = 64 - u64::from(n.leading_zeros()); // 15
    let mut worst = 0;
    for i in (0..n).step_by(97).chain([n - 1]) {
        src.reads.set(0);
        tree::inclusion_proof(&src, i, n).expect("in range");
        worst = worst.max(src.reads.get());
    }
    for m in (1..n).step_by(101) {
        src.reads.set(0);
        tree::consistency_proof(&src, m, n).expect("in range");
        worst = worst.max(src.reads.get());
    }
    assert!(worst <= 2 * log2, "{worst} reads for a tree of {n}");
    // Complete subtrees only: fewer than two nodes stored per entry.
    let stored: u64 = (0..64u8)
        .map(|l| {
            (0..)
                .take_while(|&i| {
                    log.store()
                        .node(NodeId::new(l, i))
                        .unwrap_or(None)
                        .is_some()
                })
                .count() as u64
        })
        .sum();
    assert!(stored < 2 * n, "{stored} nodes for {n} entries");
}

#[test]
fn planned_node_reads_give_the_same_proofs() {
    // What an async backend does: ask which nodes a proof needs, fetch them
    // in one query, build the proof from the map.
    let log = log_of(1234, 100);
    let fetch = |ids: Vec<NodeId>| -> HashMap<NodeId, Hash> {
        ids.into_iter()
            .map(|id| {
                (
                    id,
                    log.store().node(id).expect("infallible").expect("stored"),
                )
            })
            .collect()
    };
    let mut rng = Rng(7);
    for _ in 0..300 {
        let n = rng.range(1, 1234);
        let i = rng.range(0, n - 1);
        let m = rng.range(1, n);
        let map = fetch(tree::inclusion_nodes(i, n));
        assert_eq!(
            tree::inclusion_proof(&map, i, n).expect("planned nodes suffice"),
            log.inclusion_proof(i, n).expect("in range")
        );
        let map = fetch(tree::consistency_nodes(m, n));
        assert_eq!(
            tree::consistency_proof(&map, m, n).expect("planned nodes suffice"),
            log.consistency_proof(m, n).expect("in range")
        );
    }
    assert!(tree::inclusion_nodes(5, 5).is_empty());
}

#[test]
fn a_batch_prepared_from_a_stale_state_is_not_committed() {
    let mut core = LogCore::empty(ORIGIN, signer());
    let a = core.prepare::<Infallible>(&[entry(0)]).expect("prepares");
    let b = core.prepare::<Infallible>(&[entry(1)]).expect("prepares");
    assert_eq!(core.size(), 0, "prepare changes nothing");
    let cp = core.commit(a).expect("current");
    assert_eq!((cp.size, core.size()), (1, 1));
    assert!(core.commit(b).is_err());
    assert_eq!(core.root(), reference_root(&leaves(1)));
}

#[test]
fn reopened_log_continues_where_it_stopped() {
    let log = log_of(77, 10);
    let root = log.root();
    let note = log.checkpoint().expect("has a checkpoint").to_owned();
    let mut reopened = Log::open(log.into_store(), ORIGIN, signer()).expect("reopens");
    assert_eq!((reopened.size(), reopened.root()), (77, root));
    assert_eq!(reopened.checkpoint(), Some(note.as_str()));
    let cp = reopened.append(&[entry(77), entry(78)]).expect("append");
    assert_eq!(cp.root, reference_root(&leaves(79)));
    let opened = Checkpoint::open(
        reopened.checkpoint().expect("has one"),
        signer().verifier(),
        ORIGIN,
    )
    .expect("opens");
    assert_eq!(opened, cp);
}

#[test]
fn open_refuses_a_store_that_does_not_match_its_checkpoint() {
    let other = callward_audit::NoteSigner::from_seed(ORIGIN, &[7; 32]).expect("seed");
    let store = log_of(10, 3).into_store();
    assert!(matches!(
        Log::open(store.clone(), ORIGIN, other),
        Err(LogError::Checkpoint(_))
    ));
    assert!(matches!(
        Log::open(store.clone(), "other.example/audit", signer()),
        Err(LogError::Checkpoint(_))
    ));
    let mut s = store.clone();
    // Size 10 = 8 + 2: the right edge is nodes (3, 0) and (1, 4).
    s.level_mut(1)[4].0[0] ^= 1;
    assert!(matches!(
        Log::open(s, ORIGIN, signer()),
        Err(LogError::CheckpointMismatch)
    ));
    let mut s = store;
    s.checkpoints_mut().clear();
    assert!(matches!(
        Log::open(s, ORIGIN, signer()),
        Err(LogError::CheckpointMismatch)
    ));
}

#[test]
fn bad_requests_are_errors() {
    let mut log = log_of(10, 10);
    assert!(matches!(
        log.inclusion_proof(10, 10),
        Err(LogError::OutOfRange)
    ));
    assert!(matches!(
        log.inclusion_proof(0, 11),
        Err(LogError::OutOfRange)
    ));
    assert!(matches!(
        log.consistency_proof(0, 5),
        Err(LogError::OutOfRange)
    ));
    assert!(matches!(
        log.consistency_proof(6, 5),
        Err(LogError::OutOfRange)
    ));
    assert!(matches!(
        log.consistency_proof(5, 11),
        Err(LogError::OutOfRange)
    ));
    assert!(matches!(log.append(&[]), Err(LogError::EmptyBatch)));
    let mut long = entry(10);
    long.justification = "x".repeat(callward_audit::entry::MAX_FIELD_LEN + 1);
    assert!(matches!(
        log.append(&[entry(10), long]),
        Err(LogError::Entry(_))
    ));
    // Nothing of the refused batch was written.
    assert_eq!(log.size(), 10);
    assert_eq!(log.store().size(), Ok(10));
    assert_eq!(log.entry(3).expect("stored"), entry(3));
}
