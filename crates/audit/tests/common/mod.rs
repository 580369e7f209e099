//! Shared helpers: sample entries, a fixed signer, a reference tree hash.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::net::{IpAddr, Ipv4Addr};

use callward_audit::{
    Action, Entry, Hash, Log, MemoryStore, NoteSigner, ObjectKind, Source, Timestamp, leaf_hash,
    node_hash,
};

pub const ORIGIN: &str = "callward.example/audit";

/// A fixed test key (seed bytes 0x42): never use outside tests.
pub fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[0x42; 32]).expect("valid seed")
}

/// Entry number `i`, all distinct.
pub fn entry(i: u64) -> Entry {
    Entry {
        user: format!("user{}", i % 7),
        role: "investigator".to_owned(),
        agency: "Demo County Sheriff".to_owned(),
        action: Action::ALL[(i % 10) as usize],
        object_kind: ObjectKind::Recording,
        object_id: format!("rec-{i:06}"),
        case_id: format!("2026-CR-{:04}", i % 50),
        justification: "case review".to_owned(),
        time: Timestamp(179_500_000_000 + i * 37),
        source: Source::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8))),
    }
}

pub fn encoded(i: u64) -> Vec<u8> {
    entry(i).encode().expect("sample entries encode")
}

/// RFC 6962 MTH, straight from the definition (recursive, O(n log n)).
pub fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = 1 << (63 - ((n - 1) as u64).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

pub fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&encoded(i))).collect()
}

/// A log of `n` sample entries appended in batches of `batch`.
pub fn log_of(n: u64, batch: u64) -> Log<MemoryStore> {
    let mut log = Log::open(MemoryStore::new(), ORIGIN, signer()).expect("empty log opens");
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let entries: Vec<Entry> = (i..end).map(entry).collect();
        log.append(&entries).expect("append");
        i = end;
    }
    log
}

/// A small deterministic generator (xorshift64*), so failures replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}
