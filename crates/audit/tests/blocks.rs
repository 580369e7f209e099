//! Verifying a block at a time (`Verifier::check_part`, `finish_block`,
//! what the SQLite backend runs on several threads) reports exactly what
//! the entry-by-entry `verify` reports, on untouched and tampered logs,
//! whatever the block size and the split into parts.

mod common;

use callward_audit::tree::TreeBuilder;
use callward_audit::{
    Finding, Hash, MemoryStore, Verified, VerifyError, leaf_hash, verify, verify_in_blocks,
};
use common::{ORIGIN, Rng, encoded, log_of, signer};
use proptest::prelude::*;

fn outcome(
    r: Result<Verified, VerifyError<std::convert::Infallible>>,
) -> Result<Verified, Finding> {
    r.map_err(|e| match e {
        VerifyError::Inconsistent(f) => f,
        other => panic!("{other}"),
    })
}

fn both_agree(s: &MemoryStore, block: u64, parts: u64) -> Result<Verified, Finding> {
    let key = signer().verifier().clone();
    let one = outcome(verify(s, &key, ORIGIN));
    let blocks = outcome(verify_in_blocks(s, &key, ORIGIN, block, parts));
    assert_eq!(one, blocks, "block {block}, parts {parts}");
    one
}

/// Every node row recomputed from the (tampered) entries.
fn recompute_nodes(store: &mut MemoryStore) {
    let entries = store.entries_mut().clone();
    let mut nodes = vec![];
    let mut tree = TreeBuilder::new();
    for e in &entries {
        tree.push(leaf_hash(e), |id, h| nodes.push((id, *h)));
    }
    for level in 0..64 {
        store.level_mut(level).clear();
    }
    for (id, h) in nodes {
        store.level_mut(id.level).push(h);
    }
}

/// One change someone with the database could make, chosen by `rng`.
fn tamper(s: &mut MemoryStore, rng: &mut Rng) -> &'static str {
    let n = s.entries_mut().len() as u64;
    if n == 0 {
        s.entries_mut().push(encoded(5_000));
        return "append to an emptied log";
    }
    let pick = |rng: &mut Rng| rng.range(0, n.saturating_sub(1)) as usize;
    match rng.range(0, 12) {
        0 => {
            let i = pick(rng);
            let e = encoded(1_000 + i as u64);
            s.entries_mut()[i] = e;
            "edit entry"
        }
        1 => {
            let i = pick(rng);
            let len = s.entries_mut()[i].len() as u64;
            let b = rng.range(0, len - 1) as usize;
            s.entries_mut()[i][b] ^= 1 << rng.range(0, 7);
            "flip a bit in an entry"
        }
        2 => {
            let i = pick(rng);
            s.entries_mut().remove(i);
            "delete entry"
        }
        3 => {
            let (i, k) = (pick(rng), pick(rng));
            s.entries_mut().swap(i, k);
            "swap entries"
        }
        4 => {
            let i = pick(rng);
            let e = encoded(2_000 + i as u64);
            s.entries_mut().insert(i, e);
            "insert entry"
        }
        5 => {
            s.entries_mut().push(encoded(3_000));
            "append unsigned entry"
        }
        6 => {
            let levels = 64 - n.leading_zeros() as u64;
            let level = rng.range(0, levels.saturating_sub(1)) as u8;
            let row = s.level_mut(level);
            if !row.is_empty() {
                let k = rng.range(0, row.len() as u64 - 1) as usize;
                row[k].0[0] ^= 0x80;
            }
            "edit node"
        }
        7 => {
            let levels = 64 - n.leading_zeros() as u64;
            let level = rng.range(0, levels.saturating_sub(1)) as u8;
            let row = s.level_mut(level);
            let cut = rng.range(0, row.len() as u64) as usize;
            row.truncate(cut);
            "drop nodes from the end of a level"
        }
        8 => {
            let i = pick(rng);
            let e = encoded(4_000 + i as u64);
            s.entries_mut()[i] = e;
            recompute_nodes(s);
            "edit entry and recompute every node"
        }
        9 => {
            let cps = s.checkpoints_mut();
            if !cps.is_empty() {
                let k = rng.range(0, cps.len() as u64 - 1) as usize;
                cps.remove(k);
            }
            "delete checkpoint"
        }
        10 => {
            let cps = s.checkpoints_mut();
            if cps.len() >= 2 {
                let k = rng.range(0, cps.len() as u64 - 2) as usize;
                cps.swap(k, k + 1);
            }
            "reorder checkpoints"
        }
        11 => {
            let cps = s.checkpoints_mut();
            if let Some(k) = cps.len().checked_sub(2) {
                // A checkpoint stored under another checkpoint's note.
                cps[k].1 = cps[k + 1].1.clone();
            }
            "checkpoint under the wrong size"
        }
        _ => {
            let levels = 64 - n.leading_zeros() as u64;
            let level = rng.range(1, levels.max(1)) as u8;
            s.level_mut(level).clear();
            "drop a whole level"
        }
    }
}

#[test]
fn untouched_logs_verify_the_same_in_blocks() {
    for (n, batch) in [
        (0, 1),
        (1, 1),
        (2, 1),
        (100, 10),
        (257, 7),
        (1024, 100),
        (1500, 1500),
    ] {
        let s = log_of(n, batch).into_store();
        for (block, parts) in [(1, 1), (3, 2), (64, 2), (100, 3), (4096, 2)] {
            let v = both_agree(&s, block, parts).expect("verifies");
            assert_eq!(v.size, n);
        }
    }
}

#[test]
fn a_root_mismatch_inside_a_block_is_named_like_verify() {
    // Every node rewritten after an edit: only the checkpoints notice, at
    // the first one after the edit, which may lie inside a block.
    let mut s = log_of(300, 13).into_store();
    s.entries_mut()[150] = encoded(9_999);
    recompute_nodes(&mut s);
    let f = both_agree(&s, 128, 2).unwrap_err();
    assert_eq!(f, Finding::RootMismatch { size: 156 });
}

#[test]
fn an_edited_node_is_named_where_verify_names_it() {
    let mut s = log_of(300, 50).into_store();
    s.level_mut(3)[10].0[5] ^= 1;
    let f = both_agree(&s, 64, 2).unwrap_err();
    assert!(
        matches!(f, Finding::NodeMismatch { node } if node.level == 3 && node.index == 10),
        "{f:?}"
    );
    // A stored node of another length reads as all ones in the backends.
    let mut s = log_of(300, 50).into_store();
    s.level_mut(0)[0] = Hash([0xff; 32]);
    assert_eq!(
        both_agree(&s, 64, 2).unwrap_err(),
        Finding::LeafMismatch { index: 0 }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tampered_logs_give_the_same_first_finding(
        n in 1u64..300,
        batch in 1u64..40,
        block in 1u64..140,
        parts in 1u64..5,
        seed in 1u64..u64::MAX,
        changes in 1usize..3,
    ) {
        let mut s = log_of(n, batch).into_store();
        let mut rng = Rng(seed);
        let mut done = vec![];
        for _ in 0..changes {
            done.push(tamper(&mut s, &mut rng));
        }
        let key = signer().verifier().clone();
        let one = outcome(verify(&s, &key, ORIGIN));
        let blocks = outcome(verify_in_blocks(&s, &key, ORIGIN, block, parts));
        prop_assert_eq!(one, blocks, "{:?}", done);
    }
}
