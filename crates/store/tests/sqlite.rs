//! The store contract, run against SQLite, plus what only SQLite needs
//! (the file, WAL, migrations, two processes on one file).

#[macro_use]
mod contract;

use callward_store::{SqliteStore, Store};

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    (store, dir)
}

contract_tests!(fresh);

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let s = SqliteStore::open(&path).await.unwrap();
    s.create_facility(contract::new_facility("A"))
        .await
        .unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 3);
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 3);
    assert_eq!(s.list_facilities().await.unwrap().len(), 1);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool_of(&path).await)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let f = a
        .create_facility(contract::new_facility("A"))
        .await
        .unwrap();
    assert_eq!(b.facility(f.id).await.unwrap(), f);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    SqliteStore::open(&path).await.unwrap().close().await;
    let pool = pool_of(&path).await;
    sqlx::query("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn a_row_edited_behind_our_back_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let f = s
        .create_facility(contract::new_facility("A"))
        .await
        .unwrap();
    let pool = pool_of(&path).await;
    sqlx::query("UPDATE facilities SET timezone = 'Mars/Olympus'")
        .execute(&pool)
        .await
        .unwrap();
    let err = s.facility(f.id).await.unwrap_err();
    assert!(
        matches!(err, callward_store::StoreError::Corrupt(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("timezone"));
}

async fn pool_of(path: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_schema_itself_refuses_a_recorded_privileged_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let f = s
        .create_facility(contract::new_facility("A"))
        .await
        .unwrap();
    let pool = pool_of(&path).await;
    let err = sqlx::query(
        "INSERT INTO calls (id, facility_id, station_id, privileged, disposition, hung_up_by,
             offered_ms, ended_ms, billable_seconds, time_limit_reached, blocked_by_called_party,
             recording_id, charge_cents)
         VALUES ('x', ?, 1, 1, 'completed', 'station', 0, 1, 0, 0, 0, 'rec-x', 0)",
    )
    .bind(f.id.0)
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
}
