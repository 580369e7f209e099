//! Audit log figures for BENCHMARKS.md, in-memory engine (the SQLite
//! durable figures are `cargo bench -p callward-store --bench audit`):
//!
//! - appends per second at batch sizes 1, 100, 1,000 and 10,000 (each batch:
//!   encode, hash, nodes, one Ed25519-signed checkpoint);
//! - inclusion and consistency proof generation and verification in a log
//!   of 1,000,000 entries;
//! - `verify` of that log (every entry decoded and hashed, every node and
//!   checkpoint compared).
//!
//! - SHA-256 of 1,000,000 leaves and 1,000,000 nodes, one at a time
//!   (aws-lc) and side by side in vector lanes ([`callward_audit::lanes`],
//!   what `verify` in the SQLite store uses).
//!
//! `cargo bench -p callward-audit --bench log`; `AUDIT_BENCH_ONLY=hash`
//! runs only the hashing figures. `AUDIT_BENCH_ENTRIES` sets
//! the log size (default 1,000,000). Each case runs three rounds and keeps
//! the best, so a burst of load from other processes does not decide it.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use callward_audit::{
    Action, Entry, Hash, Log, MemoryStore, NoteSigner, ObjectKind, Source, Timestamp, verify,
    verify_consistency, verify_inclusion,
};

const ORIGIN: &str = "callward.example/audit";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[0x42; 32]).expect("valid seed")
}

/// A realistic entry: about 130 bytes encoded.
fn entry(i: u64) -> Entry {
    Entry {
        user: format!("investigator{}", i % 97),
        role: "investigator".to_owned(),
        agency: "Demo County Sheriff".to_owned(),
        action: Action::Listen,
        object_kind: ObjectKind::Recording,
        object_id: format!("rec-{i:010}"),
        case_id: format!("2026-CR-{:05}", i % 5000),
        justification: "case review".to_owned(),
        time: Timestamp(179_500_000_000 + i),
        source: Source::Ip(IpAddr::V4(Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8))),
    }
}

fn best<T>(rounds: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut out = f();
    for _ in 1..rounds {
        let r = f();
        if r.0 < out.0 {
            out = r;
        }
    }
    out
}

/// Appends `total` entries in batches of `batch` to a fresh log.
fn appends(total: u64, batch: u64) -> (Duration, Log<MemoryStore>) {
    let entries: Vec<Entry> = (0..total).map(entry).collect();
    let mut log = Log::open(MemoryStore::new(), ORIGIN, signer()).expect("opens");
    let start = Instant::now();
    for chunk in entries.chunks(batch as usize) {
        log.append(chunk).expect("append");
    }
    (start.elapsed(), log)
}

fn per_op(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

/// Leaf and node hashes of `n` entries: aws-lc one at a time, then the
/// lanes.
fn hashing(n: u64) {
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| entry(i).encode().expect("encodes"))
        .collect();
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let (d, want) = best(3, || {
        let start = Instant::now();
        let h: Vec<Hash> = refs.iter().map(|e| callward_audit::leaf_hash(e)).collect();
        (start.elapsed(), h)
    });
    println!("leaf hashes, one at a time: {:.3} s", d.as_secs_f64());
    let (d, got) = best(3, || {
        let start = Instant::now();
        let h = callward_audit::lanes::leaf_hashes(black_box(&refs));
        (start.elapsed(), h)
    });
    assert_eq!(got, want);
    println!("leaf hashes, in lanes:      {:.3} s", d.as_secs_f64());
    let pairs: Vec<(Hash, Hash)> = want.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let pairs: Vec<(Hash, Hash)> = pairs.iter().chain(&pairs).copied().collect();
    let (d, want) = best(3, || {
        let start = Instant::now();
        let h: Vec<Hash> = pairs
            .iter()
            .map(|(l, r)| callward_audit::node_hash(l, r))
            .collect();
        (start.elapsed(), h)
    });
    println!(
        "node hashes ({}), one at a time: {:.3} s",
        pairs.len(),
        d.as_secs_f64()
    );
    let (d, got) = best(3, || {
        let start = Instant::now();
        let h = callward_audit::lanes::node_hashes(black_box(&pairs));
        (start.elapsed(), h)
    });
    assert_eq!(got, want);
    println!("node hashes, in lanes:      {:.3} s", d.as_secs_f64());
}

fn main() {
    let n: u64 = std::env::var("AUDIT_BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    hashing(n);
    if std::env::var("AUDIT_BENCH_ONLY").as_deref() == Ok("hash") {
        return;
    }
    println!("audit log, in memory; log of {n} entries");
    println!(
        "entry size: {} bytes encoded",
        entry(123_456).encode().expect("encodes").len()
    );

    for (batch, total) in [
        (1u64, 20_000u64),
        (100, 200_000),
        (1000, 200_000),
        (10_000, 200_000),
    ] {
        let (d, _) = best(3, || appends(total, batch));
        println!(
            "append, batch {batch:>6}: {:>10.0} entries/s ({:.2} us/entry)",
            total as f64 / d.as_secs_f64(),
            per_op(d, total)
        );
    }

    let (d, log) = appends(n, 1000);
    println!(
        "built the {n}-entry log in batches of 1000: {:.2} s ({:.0} entries/s)",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64()
    );
    let root = log.root();

    // Inclusion: leaves spread over the log, proofs against the full size.
    let picks: Vec<u64> = (0..10_000u64).map(|k| (k * 7_919_993) % n).collect();
    let (d, proofs) = best(3, || {
        let start = Instant::now();
        let proofs: Vec<Vec<Hash>> = picks
            .iter()
            .map(|&i| log.inclusion_proof(i, n).expect("in range"))
            .collect();
        (start.elapsed(), proofs)
    });
    println!(
        "inclusion proof, generate: {:.2} us ({} hashes)",
        per_op(d, picks.len() as u64),
        proofs[0].len()
    );
    let leaves: Vec<Hash> = picks
        .iter()
        .map(|&i| log.leaf_hash(i).expect("stored"))
        .collect();
    let (d, ()) = best(3, || {
        let start = Instant::now();
        for ((&i, p), leaf) in picks.iter().zip(&proofs).zip(&leaves) {
            verify_inclusion(i, n, &leaf.0, black_box(p), &root.0).expect("verifies");
        }
        (start.elapsed(), ())
    });
    println!(
        "inclusion proof, verify:   {:.2} us",
        per_op(d, picks.len() as u64)
    );

    // Consistency from a range of older sizes to the full size.
    let olds: Vec<u64> = (1..=2000u64).map(|k| (k * 499_979) % (n - 1) + 1).collect();
    let (d, cproofs) = best(3, || {
        let start = Instant::now();
        let ps: Vec<Vec<Hash>> = olds
            .iter()
            .map(|&m| log.consistency_proof(m, n).expect("in range"))
            .collect();
        (start.elapsed(), ps)
    });
    println!(
        "consistency proof, generate: {:.2} us",
        per_op(d, olds.len() as u64)
    );
    // Old roots, from a second pass over the leaves (not timed).
    let mut old_roots = Vec::new();
    {
        let mut sorted: Vec<(usize, u64)> = olds.iter().copied().enumerate().collect();
        sorted.sort_by_key(|p| p.1);
        old_roots.resize(olds.len(), Hash::EMPTY_ROOT);
        let mut b = callward_audit::tree::TreeBuilder::new();
        let mut k = 0;
        for i in 0..n {
            b.push(log.leaf_hash(i).expect("stored"), |_, _| {});
            while k < sorted.len() && sorted[k].1 == i + 1 {
                old_roots[sorted[k].0] = b.root();
                k += 1;
            }
        }
    }
    let (d, ()) = best(3, || {
        let start = Instant::now();
        for ((&m, p), r) in olds.iter().zip(&cproofs).zip(&old_roots) {
            verify_consistency(m, n, black_box(p), &r.0, &root.0).expect("verifies");
        }
        (start.elapsed(), ())
    });
    println!(
        "consistency proof, verify:   {:.2} us",
        per_op(d, olds.len() as u64)
    );

    let key = signer().verifier().clone();
    let (d, v) = best(3, || {
        let start = Instant::now();
        let v = verify(log.store(), &key, ORIGIN).expect("verifies");
        (start.elapsed(), v)
    });
    assert_eq!(v.root, root);
    println!(
        "verify {n} entries ({} checkpoints): {:.3} s ({:.2} us/entry)",
        v.checkpoints,
        d.as_secs_f64(),
        per_op(d, n)
    );
}
