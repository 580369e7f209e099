//! The audit log in SQLite: the same tree, checkpoints and proofs as the
//! in-memory reference, durable across reopen and shared by two handles;
//! edits made straight in the database (triggers dropped) are named by
//! `verify_audit_log`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use callward_audit::{
    Action, Entry, Finding, Log, MemoryStore, NodeId, NoteSigner, ObjectKind, Source, Timestamp,
    VerifyError, verify_consistency, verify_inclusion,
};
use callward_store::{SqliteAuditLog, SqliteStore, StoreError, verify_audit_log};
use sqlx::SqlitePool;

const ORIGIN: &str = "callward.example/audit";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[0x42; 32]).unwrap()
}

fn entry(i: u64) -> Entry {
    Entry {
        user: format!("user{}", i % 7),
        role: "investigator".to_owned(),
        agency: "Demo County Sheriff".to_owned(),
        action: Action::Listen,
        object_kind: ObjectKind::Recording,
        object_id: format!("rec-{i:06}"),
        case_id: "2026-CR-0042".to_owned(),
        justification: "case review".to_owned(),
        time: Timestamp(179_500_000_000 + i),
        source: Source::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8))),
    }
}

fn entries(range: std::ops::Range<u64>) -> Vec<Entry> {
    range.map(entry).collect()
}

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    (store, dir)
}

/// 100 entries in batches of 10.
async fn hundred() -> (SqliteStore, tempfile::TempDir) {
    let (store, dir) = fresh().await;
    let mut log = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    for b in 0..10 {
        log.append(&entries(b * 10..b * 10 + 10)).await.unwrap();
    }
    (store, dir)
}

/// A second connection, as someone with the file would open it, with the
/// append-only triggers dropped.
async fn raw(dir: &Path) -> SqlitePool {
    let url = format!("sqlite://{}", dir.join("callward.db").display());
    let pool = SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;
         DROP TRIGGER audit_nodes_no_update; DROP TRIGGER audit_nodes_no_delete;
         DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool
}

async fn finding(store: &SqliteStore) -> Finding {
    match verify_audit_log(store, signer().verifier(), ORIGIN).await {
        Err(VerifyError::Inconsistent(f)) => f,
        other => panic!("expected an inconsistency, got {other:?}"),
    }
}

#[tokio::test]
async fn same_tree_and_checkpoints_as_the_in_memory_log() {
    let (store, _dir) = fresh().await;
    let mut sql = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    let mut mem = Log::open(MemoryStore::new(), ORIGIN, signer()).unwrap();
    let mut next = 0;
    let mut heads = vec![];
    for batch in [1u64, 2, 5, 1, 64, 200, 7, 1500] {
        let e = entries(next..next + batch);
        let a = sql.append(&e).await.unwrap();
        let b = mem.append(&e).unwrap();
        assert_eq!(a, b);
        // Ed25519 is deterministic: the notes are byte-identical.
        assert_eq!(sql.checkpoint(), mem.checkpoint());
        next += batch;
        heads.push(a);
    }
    for (k, head) in heads.iter().enumerate() {
        for i in [0, head.size / 2, head.size - 1] {
            let p = sql.inclusion_proof(i, head.size).await.unwrap();
            assert_eq!(p, mem.inclusion_proof(i, head.size).unwrap());
            let leaf = sql.leaf_hash(i).await.unwrap();
            verify_inclusion(i, head.size, &leaf.0, &p, &head.root.0).unwrap();
        }
        for old in &heads[..=k] {
            let p = sql.consistency_proof(old.size, head.size).await.unwrap();
            assert_eq!(p, mem.consistency_proof(old.size, head.size).unwrap());
            verify_consistency(old.size, head.size, &p, &old.root.0, &head.root.0).unwrap();
        }
    }
    assert_eq!(sql.entry(1234).await.unwrap(), entry(1234));
    assert!(matches!(
        sql.entry(next).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        sql.inclusion_proof(0, next + 1).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(sql.append(&[]).await, Err(StoreError::Refused(_))));
    let v = verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();
    assert_eq!(
        (v.size, v.root, v.checkpoints),
        (next, mem.root(), heads.len())
    );
}

#[tokio::test]
async fn reopened_and_concurrent_handles_extend_one_log() {
    let (store, dir) = fresh().await;
    let mut a = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    a.append(&entries(0..10)).await.unwrap();
    store.close().await;
    let store = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let mut a = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    assert_eq!(a.size(), 10);
    let mut b = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    a.append(&entries(10..15)).await.unwrap();
    // b has not seen a's append; it re-reads the edge inside its transaction.
    let cp = b.append(&entries(15..20)).await.unwrap();
    assert_eq!(cp.size, 20);
    let cp = a.append(&entries(20..21)).await.unwrap();
    let mut mem = Log::open(MemoryStore::new(), ORIGIN, signer()).unwrap();
    mem.append(&entries(0..21)).unwrap();
    assert_eq!((cp.size, cp.root), (21, mem.root()));
    verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();
    // Another key cannot open this log.
    let thief = NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap();
    assert!(matches!(
        SqliteAuditLog::open(&store, ORIGIN, thief).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn the_tables_refuse_updates_and_deletes() {
    let (store, dir) = hundred().await;
    let url = format!("sqlite://{}", dir.path().join("callward.db").display());
    let pool = SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "UPDATE audit_entries SET entry = x'00' WHERE idx = 3",
        "DELETE FROM audit_entries WHERE idx = 3",
        "UPDATE audit_nodes SET hash = zeroblob(32) WHERE pos = 3",
        "DELETE FROM audit_nodes WHERE pos = 3",
        "UPDATE audit_checkpoints SET note = 'x' WHERE size = 10",
        "DELETE FROM audit_checkpoints",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();
}

#[tokio::test]
async fn edited_deleted_reordered_and_inserted_rows_are_named() {
    let (store, dir) = hundred().await;
    let pool = raw(dir.path()).await;
    let forged = {
        let mut e = entry(37);
        e.justification = "nothing to see".into();
        e.encode().unwrap()
    };
    let original = entry(37).encode().unwrap();

    // Edit.
    sqlx::query("UPDATE audit_entries SET entry = ? WHERE idx = 37")
        .bind(&forged)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::LeafMismatch { index: 37 });

    // Delete.
    sqlx::query("DELETE FROM audit_entries WHERE idx = 37")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::EntryMissing { index: 37 });

    // Insert back at 37, now the original: the log verifies again.
    sqlx::query("INSERT INTO audit_entries (idx, entry) VALUES (37, ?)")
        .bind(&original)
        .execute(&pool)
        .await
        .unwrap();
    verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();

    // Reorder: swap 20 and 55 (through a spare index; idx >= 0 is CHECKed).
    sqlx::raw_sql(
        "UPDATE audit_entries SET idx = 1000 WHERE idx = 20;
         UPDATE audit_entries SET idx = 20 WHERE idx = 55;
         UPDATE audit_entries SET idx = 55 WHERE idx = 1000;",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(finding(&store).await, Finding::LeafMismatch { index: 20 });
    sqlx::raw_sql(
        "UPDATE audit_entries SET idx = 1000 WHERE idx = 20;
         UPDATE audit_entries SET idx = 20 WHERE idx = 55;
         UPDATE audit_entries SET idx = 55 WHERE idx = 1000;",
    )
    .execute(&pool)
    .await
    .unwrap();
    verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();

    // Insert in the middle, shifting the rows after it up by one.
    sqlx::raw_sql("UPDATE audit_entries SET idx = idx + 1000 WHERE idx >= 37; UPDATE audit_entries SET idx = idx - 999 WHERE idx >= 1000;")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO audit_entries (idx, entry) VALUES (37, ?)")
        .bind(&forged)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::LeafMismatch { index: 37 });
    // ...whose new last row lies beyond the signed size; that shows when
    // the rows before it are put back.
    sqlx::raw_sql("DELETE FROM audit_entries WHERE idx = 37; UPDATE audit_entries SET idx = idx + 1000 WHERE idx >= 38; UPDATE audit_entries SET idx = idx - 1001 WHERE idx >= 1000;")
        .execute(&pool)
        .await
        .unwrap();
    verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();
    sqlx::query("INSERT INTO audit_entries (idx, entry) VALUES (100, ?)")
        .bind(&forged)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::UnsignedEntry { index: 100 });
}

#[tokio::test]
async fn edited_nodes_and_checkpoints_are_named() {
    let (store, dir) = hundred().await;
    let pool = raw(dir.path()).await;
    let node = NodeId::new(3, 5);
    let pos = node.position() as i64;
    sqlx::query("UPDATE audit_nodes SET hash = zeroblob(32) WHERE pos = ?")
        .bind(pos)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::NodeMismatch { node });
    sqlx::query("DELETE FROM audit_nodes WHERE pos = ?")
        .bind(pos)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::NodeMissing { node });

    let (store, dir) = hundred().await;
    let pool = raw(dir.path()).await;
    sqlx::query("UPDATE audit_checkpoints SET note = replace(note, 'audit\n50\n', 'audit\n51\n') WHERE size = 50")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        finding(&store).await,
        Finding::CheckpointInvalid { size: 50, .. }
    ));
    sqlx::query("DELETE FROM audit_checkpoints WHERE size >= 50")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::UnsignedEntry { index: 40 });
    // The writer refuses to extend a log in that state.
    assert!(matches!(
        SqliteAuditLog::open(&store, ORIGIN, signer()).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// Rows cut at other places with their concatenation unchanged (what
/// verify reads in one piece per chunk) are still named at the first row.
#[tokio::test]
async fn rows_recut_with_the_same_bytes_are_named() {
    let (store, dir) = hundred().await;
    let pool = raw(dir.path()).await;
    // Entry 30 takes the first byte of entry 31.
    let (e30, e31) = (entry(30).encode().unwrap(), entry(31).encode().unwrap());
    let mut longer = e30.clone();
    longer.push(e31[0]);
    for (idx, bytes) in [(30, longer), (31, e31[1..].to_vec())] {
        sqlx::query("UPDATE audit_entries SET entry = ? WHERE idx = ?")
            .bind(bytes)
            .bind(idx)
            .execute(&pool)
            .await
            .unwrap();
    }
    assert!(matches!(
        finding(&store).await,
        Finding::EntryMalformed { index: 30, .. } | Finding::LeafMismatch { index: 30 }
    ));

    // Leaf 20's stored hash loses its last byte to leaf 21's (the CHECK on
    // hash lengths switched off, as someone with the file can).
    let (store, dir) = hundred().await;
    let pool = raw(dir.path()).await;
    let mut conn = pool.acquire().await.unwrap();
    let (a, b) = (NodeId::new(0, 20), NodeId::new(0, 21));
    assert_eq!(a.position() + 1, b.position());
    let hash = |pos: u64| {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT hash FROM audit_nodes WHERE pos = ?")
            .bind(pos as i64)
    };
    let ha = hash(a.position()).fetch_one(&mut *conn).await.unwrap();
    let hb = hash(b.position()).fetch_one(&mut *conn).await.unwrap();
    let mut longer = ha[31..].to_vec();
    longer.extend_from_slice(&hb);
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *conn)
        .await
        .unwrap();
    for (pos, bytes) in [(a.position(), ha[..31].to_vec()), (b.position(), longer)] {
        sqlx::query("UPDATE audit_nodes SET hash = ? WHERE pos = ?")
            .bind(bytes)
            .bind(pos as i64)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    drop(conn);
    assert_eq!(finding(&store).await, Finding::LeafMismatch { index: 20 });
}

#[tokio::test]
async fn a_log_of_several_verify_chunks_is_checked_across_them() {
    // verify reads 32,768 entries at a time, the next while it checks the
    // current one: 70,000 entries make three chunks.
    let (store, dir) = fresh().await;
    let mut log = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    for b in 0..7 {
        log.append(&entries(b * 10_000..(b + 1) * 10_000))
            .await
            .unwrap();
    }
    let v = verify_audit_log(&store, signer().verifier(), ORIGIN)
        .await
        .unwrap();
    assert_eq!((v.size, v.root, v.checkpoints), (70_000, log.root(), 7));

    let pool = raw(dir.path()).await;
    sqlx::query("UPDATE audit_entries SET entry = ? WHERE idx = 69000")
        .bind(entry(1).encode().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        finding(&store).await,
        Finding::LeafMismatch { index: 69_000 }
    );
    let node = NodeId::new(4, 2500); // entries 40,000..40,016: the second chunk
    sqlx::query("DELETE FROM audit_nodes WHERE pos = ?")
        .bind(node.position() as i64)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(finding(&store).await, Finding::NodeMissing { node });
}

#[tokio::test]
async fn a_handle_that_was_behind_serves_the_same_proofs() {
    // Each handle keeps the upper tree levels in memory; one that another
    // handle overtook reads the new ones when it next appends.
    let (store, _dir) = fresh().await;
    let mut a = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    a.append(&entries(0..700)).await.unwrap();
    let mut b = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    a.append(&entries(700..1400)).await.unwrap();
    let cp = b.append(&entries(1400..1410)).await.unwrap();
    let mut mem = Log::open(MemoryStore::new(), ORIGIN, signer()).unwrap();
    mem.append(&entries(0..1410)).unwrap();
    assert_eq!(cp.root, mem.root());
    for i in [0, 255, 256, 700, 1023, 1024, 1300, 1409] {
        assert_eq!(
            b.inclusion_proof(i, 1410).await.unwrap(),
            mem.inclusion_proof(i, 1410).unwrap(),
            "entry {i}"
        );
    }
    for m in [1, 256, 700, 1024, 1400] {
        assert_eq!(
            b.consistency_proof(m, 1410).await.unwrap(),
            mem.consistency_proof(m, 1410).unwrap()
        );
        // a is at 1400: its proofs stop there and agree too.
        assert_eq!(
            a.consistency_proof(m, 1400).await.unwrap(),
            mem.consistency_proof(m, 1400).unwrap()
        );
    }
}

/// Opening the log while another process appends (the CLI beside `serve`)
/// never sees entries without their checkpoint: each open is one snapshot.
/// Two stores on one file stand for the two processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_while_another_process_appends_sees_a_whole_log() {
    let (store, dir) = fresh().await;
    SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap()
        .append(&entries(0..1))
        .await
        .unwrap();
    let writer_store = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        let mut log = SqliteAuditLog::open(&writer_store, ORIGIN, signer())
            .await
            .unwrap();
        for i in 1..300 {
            log.append(&entries(i..i + 1)).await.unwrap();
        }
    });
    let mut opens = 0;
    while !writer.is_finished() {
        let log = SqliteAuditLog::open(&store, ORIGIN, signer()).await;
        assert!(log.is_ok(), "open {opens}: {:?}", log.err());
        opens += 1;
    }
    writer.await.unwrap();
    assert!(opens > 10, "only {opens} opens overlapped the appends");
    let log = SqliteAuditLog::open(&store, ORIGIN, signer())
        .await
        .unwrap();
    assert_eq!(log.size(), 300);
}
