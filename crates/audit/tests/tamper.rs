//! Tampering with the stored rows (what someone with write access to the
//! database could do) is found by `verify`, which names the position.

mod common;

use callward_audit::tree::TreeBuilder;
use callward_audit::{
    CheckpointError, Finding, MemoryStore, NodeId, NoteError, NoteSigner, VerifyError, leaf_hash,
    verify,
};
use common::{ORIGIN, encoded, entry, log_of, signer};

/// 100 entries in batches of 10: checkpoints at 10, 20, ..., 100.
fn store() -> MemoryStore {
    log_of(100, 10).into_store()
}

fn finding(store: &MemoryStore) -> Finding {
    match verify(store, signer().verifier(), ORIGIN) {
        Err(VerifyError::Inconsistent(f)) => f,
        other => panic!("expected an inconsistency, got {other:?}"),
    }
}

/// Replaces every node row with one recomputed from the (tampered) entries,
/// as a careful attacker would.
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

#[test]
fn untouched_log_verifies() {
    let s = store();
    let v = verify(&s, signer().verifier(), ORIGIN).expect("verifies");
    assert_eq!((v.size, v.checkpoints), (100, 10));
    assert_eq!(v.root, log_of(100, 100).root());
    let empty = MemoryStore::new();
    let v = verify(&empty, signer().verifier(), ORIGIN).expect("empty log verifies");
    assert_eq!(v.size, 0);
}

#[test]
fn edited_entry_is_named() {
    let mut s = store();
    let mut e = entry(37);
    e.justification = "nothing to see".to_owned();
    s.entries_mut()[37] = e.encode().expect("encodes");
    let f = finding(&s);
    assert_eq!(f, Finding::LeafMismatch { index: 37 });
    assert_eq!(f.entry_index(), Some(37));
    assert_eq!(
        f.to_string(),
        "entry 37: hash differs from its stored leaf hash"
    );
}

#[test]
fn garbled_entry_is_named() {
    let mut s = store();
    s.entries_mut()[37][0] = 9;
    assert!(matches!(
        finding(&s),
        Finding::EntryMalformed { index: 37, .. }
    ));
}

#[test]
fn deleted_entry_is_named() {
    let mut s = store();
    s.entries_mut().remove(37);
    assert_eq!(finding(&s), Finding::LeafMismatch { index: 37 });
    let mut s = store();
    s.entries_mut().pop();
    assert_eq!(finding(&s), Finding::EntryMissing { index: 99 });
}

#[test]
fn reordered_entries_are_named() {
    let mut s = store();
    s.entries_mut().swap(55, 20);
    assert_eq!(finding(&s), Finding::LeafMismatch { index: 20 });
    let mut s = store();
    s.entries_mut().swap(98, 99);
    assert_eq!(finding(&s), Finding::LeafMismatch { index: 98 });
}

#[test]
fn inserted_entry_is_named() {
    let mut s = store();
    s.entries_mut().insert(37, encoded(1000));
    assert_eq!(finding(&s), Finding::LeafMismatch { index: 37 });
    let mut s = store();
    s.entries_mut().push(encoded(100));
    assert_eq!(finding(&s), Finding::UnsignedEntry { index: 100 });
}

#[test]
fn edit_with_matching_leaf_hash_is_caught_by_the_parent_node() {
    let mut s = store();
    let forged = encoded(1000);
    s.level_mut(0)[37] = leaf_hash(&forged);
    s.entries_mut()[37] = forged;
    assert_eq!(
        finding(&s),
        Finding::NodeMismatch {
            node: NodeId::new(1, 18)
        }
    );
}

#[test]
fn edit_with_every_node_recomputed_is_caught_by_the_signed_checkpoint() {
    let mut s = store();
    s.entries_mut()[37] = encoded(1000);
    recompute_nodes(&mut s);
    // Entries 30..40 were signed by the checkpoint at size 40.
    let f = finding(&s);
    assert_eq!(f, Finding::RootMismatch { size: 40 });
    assert_eq!(
        f.to_string(),
        "checkpoint at size 40 does not match entries 0..40"
    );
}

#[test]
fn rewritten_history_with_a_new_key_is_refused() {
    // Re-signing needs the log's key; any other key's checkpoints do not open.
    let mut s = store();
    let thief = NoteSigner::from_seed(ORIGIN, &[0x13; 32]).expect("seed");
    let (size, _) = s.checkpoints_mut()[0].clone();
    let text = format!(
        "{ORIGIN}\n{size}\n{}\n",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    s.checkpoints_mut()[0].1 = thief.sign(&text).expect("signs");
    assert_eq!(
        finding(&s),
        Finding::CheckpointInvalid {
            size: 10,
            error: CheckpointError::Note(NoteError::NoKnownSignature),
        }
    );
}

#[test]
fn tampered_nodes_and_checkpoints_are_named() {
    let mut s = store();
    s.level_mut(3)[5].0[7] ^= 0x80;
    assert_eq!(
        finding(&s),
        Finding::NodeMismatch {
            node: NodeId::new(3, 5)
        }
    );

    let mut s = store();
    s.level_mut(2).truncate(11);
    assert_eq!(
        finding(&s),
        Finding::NodeMissing {
            node: NodeId::new(2, 11)
        }
    );

    let mut s = store();
    let cp = &mut s.checkpoints_mut()[4].1;
    *cp = cp.replacen("\n50\n", "\n51\n", 1);
    assert_eq!(
        finding(&s),
        Finding::CheckpointInvalid {
            size: 50,
            error: CheckpointError::Note(NoteError::BadSignature),
        }
    );

    // Dropping the latest checkpoint leaves entries 90..100 unsigned.
    let mut s = store();
    s.checkpoints_mut().pop();
    assert_eq!(finding(&s), Finding::UnsignedEntry { index: 90 });

    let mut s = store();
    s.checkpoints_mut().clear();
    assert_eq!(finding(&s), Finding::CheckpointMissing);

    // Checkpoints moved out of order: the one for 20 now comes after 30.
    let mut s = store();
    s.checkpoints_mut().swap(1, 2);
    assert_eq!(finding(&s), Finding::RootMismatch { size: 20 });
}

#[test]
fn wrong_key_or_origin_fails_at_the_first_checkpoint() {
    let s = store();
    let other = NoteSigner::from_seed(ORIGIN, &[1; 32]).expect("seed");
    assert!(matches!(
        verify(&s, other.verifier(), ORIGIN),
        Err(VerifyError::Inconsistent(Finding::CheckpointInvalid {
            size: 10,
            ..
        }))
    ));
    assert!(matches!(
        verify(&s, signer().verifier(), "other.example/log"),
        Err(VerifyError::Inconsistent(Finding::CheckpointInvalid {
            size: 10,
            error: CheckpointError::Origin
        }))
    ));
}
