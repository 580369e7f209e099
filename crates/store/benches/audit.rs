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
//! goes (default the system temp dir: say which file system it is);
//! `AUDIT_BENCH_ONLY=verify` skips the append and proof figures.
//!
//! Verify is reported as wall time and as the process's on-CPU time (user +
//! system, every thread, from `/proc/self/stat`), since other work on the
//! machine stretches the wall time.

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

    let only_verify = std::env::var("AUDIT_BENCH_ONLY").is_ok_and(|v| v == "verify");
    for (batch, total) in [
        (1u64, 300u64),
        (100, 20_000),
        (1000, 100_000),
        (10_000, 200_000),
    ] {
        if only_verify {
            break;
        }
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

    // AUDIT_BENCH_KEEP=DIR keeps the big log there and reuses it (for
    // profiling verify alone).
    let keep = std::env::var_os("AUDIT_BENCH_KEEP").map(std::path::PathBuf::from);
    let big_dir = keep.clone().unwrap_or_else(|| dir.path().to_owned());
    let reuse = keep.is_some() && big_dir.join("big.db").exists();
    let (store, mut log) = fresh(&big_dir, "big.db").await;
    if reuse {
        assert_eq!(log.size(), n, "{} holds another size", big_dir.display());
    }
    let d = if reuse {
        Duration::ZERO
    } else {
        append_all(&mut log, 0, n, 10_000).await
    };
    println!(
        "built {n} entries in batches of 10,000: {:.2} s ({:.0} entries/s)",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64()
    );
    let size = std::fs::metadata(big_dir.join("big.db")).map_or(0, |m| m.len())
        + std::fs::metadata(big_dir.join("big.db-wal")).map_or(0, |m| m.len());
    println!("database + WAL: {:.1} MB", size as f64 / 1e6);

    let root = log.root();
    if !only_verify {
        proofs_bench(&big_dir, &log, n).await;
    }

    let key = signer().verifier().clone();
    let mut best = (Duration::MAX, Duration::MAX);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for _ in 0..3 {
        let cpu = cpu_time();
        let start = Instant::now();
        let v = verify_audit_log(&store, &key, ORIGIN).await.unwrap();
        let wall = start.elapsed();
        let cpu = cpu_time() - cpu;
        assert_eq!((v.size, v.root), (n, root));
        println!(
            "verify_audit_log {n} entries: wall {:.2} s, on-CPU {:.2} s ({threads} cores; load {})",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or("?")
        );
        best = (best.0.min(wall), best.1.min(cpu));
    }
    println!(
        "verify_audit_log {n} entries, best of 3: wall {:.2} s ({:.2} us/entry), on-CPU {:.2} s",
        best.0.as_secs_f64(),
        best.0.as_secs_f64() * 1e6 / n as f64,
        best.1.as_secs_f64()
    );
    store.close().await;
}

/// User + system time of this process, all threads (dead ones included),
/// from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

async fn proofs_bench(dir: &Path, log: &SqliteAuditLog, n: u64) {
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
    let url = format!("sqlite://{}", dir.join("big.db").display());
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
}
