//! Durable audit log figures for BENCHMARKS.md: the SQLite backend
//! (`SqliteAuditLog`, WAL, `synchronous = FULL`, one transaction per batch).
//!
//! - appends per second at batch sizes 1, 100, 1,000 and 10,000, each batch
//!   committed (fsynced) before the next;
//! - inclusion proof generation from the database (one query) in a log of
//!   1,000,000 entries, and its verification;
//! - `verify_audit_log` of that log.
//!
//! `cargo bench -p callward-store --bench audit`. `AUDIT_BENCH_ENTRIES` sets
//! the log size (default 1,000,000); `AUDIT_BENCH_DIR` where the database
//! goes (default the system temp dir: say which file system it is).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use callward_audit::{Action, Entry, NoteSigner, ObjectKind, Source, Timestamp, verify_inclusion};
use callward_store::{SqliteAuditLog, SqliteStore, verify_audit_log};

const ORIGIN: &str = "callward.example/audit";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[0x42; 32]).unwrap()
}

/// The same entry shape as the in-memory bench: about 123 bytes encoded.
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

async fn fresh(dir: &Path, name: &str) -> (SqliteStore, SqliteAuditLog) {
    let path = dir.join(name);
    let store = SqliteStore::open(&path).await.unwrap();
    let log = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    (store, log)
}

async fn append_all(log: &mut SqliteAuditLog, from: u64, total: u64, batch: u64) -> Duration {
    let entries: Vec<Entry> = (from..from + total).map(entry).collect();
    let start = Instant::now();
    for chunk in entries.chunks(batch as usize) {
        log.append(chunk).await.unwrap();
    }
    start.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let n: u64 = std::env::var("AUDIT_BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let base = std::env::var_os("AUDIT_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).unwrap();
    println!(
        "audit log, SQLite (WAL, synchronous=FULL) in {}",
        dir.path().display()
    );

    for (batch, total) in [
        (1u64, 300u64),
        (100, 20_000),
        (1000, 100_000),
        (10_000, 200_000),
    ] {
        let (store, mut log) = fresh(dir.path(), &format!("append-{batch}.db")).await;
        // Warm the file: the first batches pay for growing it.
        log.append(&[entry(0)]).await.unwrap();
        let d = append_all(&mut log, 1, total, batch).await;
        println!(
            "durable append, batch {batch:>6}: {:>9.0} entries/s ({:.2} ms/commit)",
            total as f64 / d.as_secs_f64(),
            d.as_secs_f64() * 1e3 / (total / batch) as f64
        );
        store.close().await;
    }

    let (store, mut log) = fresh(dir.path(), "big.db").await;
    let d = append_all(&mut log, 0, n, 10_000).await;
    println!(
        "built {n} entries in batches of 10,000: {:.2} s ({:.0} entries/s)",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64()
    );
    let size = std::fs::metadata(dir.path().join("big.db")).map_or(0, |m| m.len())
        + std::fs::metadata(dir.path().join("big.db-wal")).map_or(0, |m| m.len());
    println!("database + WAL: {:.1} MB", size as f64 / 1e6);

    let root = log.root();
    let picks: Vec<u64> = (0..2000u64).map(|k| (k * 7_919_993) % n).collect();
    let mut proofs = Vec::with_capacity(picks.len());
    let start = Instant::now();
    for &i in &picks {
        proofs.push(log.inclusion_proof(i, n).await.unwrap());
    }
    let d = start.elapsed();
    println!(
        "inclusion proof from SQLite, generate: {:.1} us",
        d.as_secs_f64() * 1e6 / picks.len() as f64
    );
    let url = format!("sqlite://{}", dir.path().join("big.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let start = Instant::now();
    for _ in 0..2000 {
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
    println!(
        "for scale: one sqlx round trip (SELECT 1): {:.1} us",
        start.elapsed().as_secs_f64() * 1e6 / 2000.0
    );
    pool.close().await;
    let mut leaves = Vec::with_capacity(picks.len());
    for &i in &picks {
        leaves.push(log.leaf_hash(i).await.unwrap());
    }
    let start = Instant::now();
    for ((&i, p), leaf) in picks.iter().zip(&proofs).zip(&leaves) {
        verify_inclusion(i, n, &leaf.0, p, &root.0).unwrap();
    }
    println!(
        "inclusion proof, verify: {:.2} us",
        start.elapsed().as_secs_f64() * 1e6 / picks.len() as f64
    );

    let key = signer().verifier().clone();
    let mut best = Duration::MAX;
    for _ in 0..2 {
        let start = Instant::now();
        let v = verify_audit_log(&store, &key, ORIGIN).await.unwrap();
        best = best.min(start.elapsed());
        assert_eq!((v.size, v.root), (n, root));
    }
    println!(
        "verify_audit_log {n} entries: {:.2} s ({:.2} us/entry)",
        best.as_secs_f64(),
        best.as_secs_f64() * 1e6 / n as f64
    );
    store.close().await;
}
