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
    assert_eq!(s.schema_version().await.unwrap(), 18);
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 18);
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

#[tokio::test]
async fn the_ledger_is_append_only_and_balances_follow_it() {
    use callward_core::{AccountHolder, Cents};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let a = s
        .open_account(
            AccountHolder::Prepaid(contract::number("+15551230001")),
            contract::now(),
        )
        .await
        .unwrap();
    s.deposit(a.id, Cents(500), "rcpt-1".into(), contract::now())
        .await
        .unwrap();
    let pool = pool_of(&path).await;
    for (sql, refused_because) in [
        (
            "UPDATE ledger_transactions SET reference = 'x'",
            "never updated",
        ),
        ("DELETE FROM ledger_transactions", "never deleted"),
        (
            "UPDATE ledger_postings SET amount_cents = 1",
            "never updated",
        ),
        ("DELETE FROM ledger_postings", "never deleted"),
        (
            "UPDATE accounts SET balance_cents = 9999",
            "sum of its ledger postings",
        ),
        // A posting may not join a sealed transaction...
        (
            "INSERT INTO ledger_postings VALUES (1, 5, 'funding', NULL, 0)",
            "sealed",
        ),
        // ...nor a header seal postings that do not balance.
        (
            "INSERT INTO ledger_postings VALUES (7, 0, 'funding', NULL, -5)",
            "",
        ),
    ] {
        let result = sqlx::query(sql).execute(&pool).await;
        if refused_because.is_empty() {
            result.unwrap();
            let err = sqlx::query(
                "INSERT INTO ledger_transactions (id, at_ms, kind, reference, channel)
                 VALUES (7, 0, 'deposit', 'r', 'admin')",
            )
            .execute(&pool)
            .await
            .unwrap_err();
            assert!(err.to_string().contains("sum to zero"), "{err}");
        } else {
            let err = result.unwrap_err();
            assert!(err.to_string().contains(refused_because), "{sql}: {err}");
        }
    }
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(500));
    // A stray unsealed posting is ignored by the replay (no header), and the
    // ledger still checks out against the cached balances.
    let check = s.check_ledger().await.unwrap();
    assert_eq!(check.transactions, 1);
    assert_eq!(check.call_revenue, Cents::ZERO);
}

#[tokio::test]
async fn deposits_made_before_the_ledger_are_migrated_into_it() {
    use callward_core::{AccountId, Cents};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    // A database at schema 3, as callward left it before the ledger.
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        for (v, sql) in [
            (1, include_str!("../migrations/sqlite/0001_init.sql")),
            (2, include_str!("../migrations/sqlite/0002_calls.sql")),
            (3, include_str!("../migrations/sqlite/0003_audit.sql")),
        ] {
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            if v == 1 {
                sqlx::query(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,
                         description TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
                )
                .execute(&pool)
                .await
                .unwrap();
            }
            sqlx::query("INSERT INTO schema_migrations VALUES (?, 'old', 0)")
                .bind(v)
                .execute(&pool)
                .await
                .unwrap();
        }
        // Account 1: two deposits. Account 2: a balance with no entries.
        sqlx::raw_sql(
            "INSERT INTO accounts (id, kind, number, balance_cents, created_ms)
                 VALUES (1, 'prepaid', '+15551230001', 1500, 0),
                        (2, 'prepaid', '+15551230002', 250, 0);
             INSERT INTO account_entries (account_id, amount_cents, kind, reference, created_ms)
                 VALUES (1, 1000, 'deposit', 'demo seed', 1000), (1, 500, 'deposit', 'pay-2', 2000);",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 18);
    assert_eq!(s.account(AccountId(1)).await.unwrap().balance, Cents(1500));
    assert_eq!(s.account(AccountId(2)).await.unwrap().balance, Cents(250));
    let one = s.ledger_transactions(Some(AccountId(1))).await.unwrap();
    assert_eq!(one.len(), 2);
    assert!(matches!(
        one[0].kind(),
        callward_core::ledger::Kind::Deposit { reference, .. } if reference.as_str() == "demo seed"
    ));
    let two = s.ledger_transactions(Some(AccountId(2))).await.unwrap();
    assert_eq!(
        two.len(),
        1,
        "an opening deposit for the unexplained balance"
    );
    assert_eq!(s.check_ledger().await.unwrap().transactions, 3);
    // And deposits go on from there.
    s.deposit(AccountId(2), Cents(5), "pay-3".into(), contract::now())
        .await
        .unwrap();
    assert_eq!(s.account(AccountId(2)).await.unwrap().balance, Cents(255));
}

/// Migration numbers are reserved per feature, so one can land after a
/// higher one: a version missing below the highest applied still runs.
#[tokio::test]
async fn a_migration_missing_below_the_highest_applied_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    SqliteStore::open(&path).await.unwrap().close().await;
    let pool = pool_of(&path).await;
    // As if 3 had not existed when this database was migrated to 4 and 5.
    sqlx::raw_sql(
        "DROP TABLE audit_entries; DROP TABLE audit_nodes; DROP TABLE audit_checkpoints;
         DELETE FROM schema_migrations WHERE version = 3;",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 18);
    let pool = pool_of(&path).await;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 18]);
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_entries'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audit, 1, "migration 3 applied after 5 and 6");
}
