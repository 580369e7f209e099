//! The SQLite backend: one file in the data directory, WAL mode so the CLI
//! can read and write while `serve` runs on the same file.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use callward_core::tariff::Tariffs;
use callward_core::{
    Account, AccountHolder, AccountId, ApprovedContact, BlockEntry, BlockId, BlockScope,
    CallDetailRecord, CallLimit, CallingHours, Cents, CentsPerMinute, Code, ContactId, E164Number,
    Facility, FacilityId, FacilityRate, FacilityTimeZone, Name, OpenCall, Person, PersonId,
    PinDigest, PrivilegedId, PrivilegedNumber, Role, Station, StationId, UsState, User, UserId,
    Username, Verification,
};
use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use crate::{
    FacilityUpdate, NewFacility, NewPerson, NewPrivileged, NewStation, PersonUpdate, Result,
    StationUpdate, Store, StoreError,
};

/// Migrations embedded in the binary, applied in order at open.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "calls",
        include_str!("../migrations/sqlite/0002_calls.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/sqlite/0003_audit.sql"),
    ),
    (
        4,
        "call journal",
        include_str!("../migrations/sqlite/0004_call_journal.sql"),
    ),
    (
        5,
        "ledger",
        include_str!("../migrations/sqlite/0005_ledger.sql"),
    ),
    (
        6,
        "retention",
        include_str!("../migrations/sqlite/0006_retention.sql"),
    ),
    (
        7,
        "call limits and facility rates",
        include_str!("../migrations/sqlite/0007_call_limits_and_facility_rates.sql"),
    ),
    (
        8,
        "agencies and access control",
        include_str!("../migrations/sqlite/0008_agencies_and_access.sql"),
    ),
    (
        9,
        "call search",
        include_str!("../migrations/sqlite/0009_call_search.sql"),
    ),
    (
        13,
        "local operator quota",
        include_str!("../migrations/sqlite/0013_local_operator_quota.sql"),
    ),
    (
        17,
        "family accounts",
        include_str!("../migrations/sqlite/0017_family_accounts.sql"),
    ),
    (
        18,
        "attorney registrations and reviews",
        include_str!("../migrations/sqlite/0018_attorney.sql"),
    ),
];

/// The embedded default store: a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The rate caps finished calls are rated under (`sqlite_ledger.rs`).
    tariffs: Arc<Tariffs>,
}

impl SqliteStore {
    /// Opens (creating if absent) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            tariffs: Arc::new(Tariffs::fallback()),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Rates finished calls under `tariffs` (the compiled-in 2024 caps,
    /// `Tariffs::fallback`, until this is called).
    #[must_use]
    pub fn with_tariffs(mut self, tariffs: Arc<Tariffs>) -> Self {
        self.tariffs = tariffs;
        self
    }

    /// The rate caps calls are rated under.
    pub(crate) fn tariffs(&self) -> &Tariffs {
        &self.tariffs
    }

    /// The pool, for the audit log's tables (`audit.rs`).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The schema version in force.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        let current = applied.iter().copied().max().unwrap_or(0);
        let latest = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        if current > latest {
            return Err(StoreError::Refused(format!(
                "the database has schema version {current}, newer than this callward knows ({latest}); upgrade callward"
            )));
        }
        // Every migration not applied yet, in order: a version that lands
        // after a higher one (numbers are reserved per feature) still runs.
        for &(version, description, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, applied_ms) VALUES (?, ?, ?)",
            )
            .bind(version)
            .bind(description)
            .bind(ms(Timestamp::now()))
            .execute(&mut *tx)
            .await?;
            tracing::info!(version, description, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_gateways(
        conn: &mut SqliteConnection,
        facility: Option<FacilityId>,
    ) -> Result<HashMap<i64, Vec<IpAddr>>> {
        let rows = sqlx::query(
            "SELECT facility_id, address FROM facility_gateways
             WHERE ?1 IS NULL OR facility_id = ?1 ORDER BY facility_id, address",
        )
        .bind(facility.map(|f| f.0))
        .fetch_all(&mut *conn)
        .await?;
        let mut map: HashMap<i64, Vec<IpAddr>> = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get("facility_id")?;
            let addr: String = row.try_get("address")?;
            let ip = addr
                .parse()
                .map_err(|_| corrupt("facility_gateways", id, "address"))?;
            map.entry(id).or_default().push(ip);
        }
        Ok(map)
    }

    pub(crate) async fn facility_in(
        conn: &mut SqliteConnection,
        id: FacilityId,
    ) -> Result<Facility> {
        let row = sqlx::query("SELECT * FROM facilities WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("facility {id}")))?;
        let mut gateways = Self::load_gateways(conn, Some(id)).await?;
        facility_from_row(&row, gateways.remove(&id.0).unwrap_or_default())
    }

    async fn replace_gateways(
        conn: &mut SqliteConnection,
        id: FacilityId,
        gateways: &[IpAddr],
    ) -> Result<()> {
        sqlx::query("DELETE FROM facility_gateways WHERE facility_id = ?")
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
        for gw in gateways {
            sqlx::query(
                "INSERT OR IGNORE INTO facility_gateways (facility_id, address) VALUES (?, ?)",
            )
            .bind(id.0)
            .bind(gw.to_string())
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    async fn station_in(conn: &mut SqliteConnection, id: StationId) -> Result<Station> {
        let row = sqlx::query("SELECT * FROM stations WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("station {id}")))?;
        station_from_row(&row)
    }

    async fn person_in(conn: &mut SqliteConnection, id: PersonId) -> Result<Person> {
        let row = sqlx::query("SELECT * FROM people WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("person {id}")))?;
        person_from_row(&row)
    }

    async fn privileged_in(
        conn: &mut SqliteConnection,
        id: PrivilegedId,
    ) -> Result<PrivilegedNumber> {
        let row = sqlx::query("SELECT * FROM privileged_numbers WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("privileged registration {id}")))?;
        privileged_from_row(&row)
    }

    pub(crate) async fn account_in(conn: &mut SqliteConnection, id: AccountId) -> Result<Account> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
        account_from_row(&row)
    }
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn corrupt(table: &str, id: i64, column: &str) -> StoreError {
    StoreError::Corrupt(format!("{table} row {id}: bad {column}"))
}

/// Maps a unique-constraint violation to a user-facing conflict message.
pub(crate) fn on_conflict(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(message()),
        Some(d) if d.is_foreign_key_violation() => {
            StoreError::Refused("a record it refers to does not exist or is still in use".into())
        }
        _ => StoreError::Backend(e),
    }
}

fn get_parsed<T, E>(
    row: &SqliteRow,
    table: &str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T> {
    let id: i64 = row.try_get("id")?;
    let raw: String = row.try_get(column)?;
    parse(&raw).map_err(|_| corrupt(table, id, column))
}

fn get_u32(row: &SqliteRow, table: &str, column: &str) -> Result<u32> {
    let id: i64 = row.try_get("id")?;
    let v: i64 = row.try_get(column)?;
    u32::try_from(v).map_err(|_| corrupt(table, id, column))
}

fn facility_from_row(row: &SqliteRow, gateways: Vec<IpAddr>) -> Result<Facility> {
    const T: &str = "facilities";
    let id: i64 = row.try_get("id")?;
    let per_day: Option<i64> = row.try_get("max_calls_per_day")?;
    let pin_length: i64 = row.try_get("pin_length")?;
    Ok(Facility {
        id: FacilityId(id),
        name: get_parsed(row, T, "name", |s| Name::parse_field("name", s))?,
        kind: get_parsed(row, T, "kind", callward_core::FacilityKind::from_str)?,
        average_daily_population: get_u32(row, T, "average_daily_population")?,
        timezone: get_parsed(row, T, "timezone", FacilityTimeZone::parse)?,
        gateways,
        calling_hours: get_parsed(row, T, "calling_hours", CallingHours::parse)?,
        max_call_minutes: get_u32(row, T, "max_call_minutes")?,
        max_calls_per_day: per_day
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt(T, id, "max_calls_per_day"))?,
        requires_approved_list: row.try_get("requires_approved_list")?,
        pin_length: u8::try_from(pin_length).map_err(|_| corrupt(T, id, "pin_length"))?,
        rate: facility_rate_from_row(row, id)?,
    })
}

fn facility_rate_from_row(row: &SqliteRow, id: i64) -> Result<Option<FacilityRate>> {
    const T: &str = "facilities";
    let cents = |column: &str| -> Result<Option<CentsPerMinute>> {
        let v: Option<i64> = row.try_get(column)?;
        v.map(|v| {
            u32::try_from(v)
                .map(CentsPerMinute)
                .map_err(|_| corrupt(T, id, column))
        })
        .transpose()
    };
    let audio = cents("rate_cents_per_minute")?;
    let additive = cents("facility_cost_cents_per_minute")?;
    Ok(audio.map(|audio| FacilityRate {
        audio,
        facility_cost_additive: additive,
    }))
}

/// The columns of a facility's own rate.
fn rate_columns(rate: Option<FacilityRate>) -> (Option<i64>, Option<i64>) {
    (
        rate.map(|r| i64::from(r.audio.0)),
        rate.and_then(|r| r.facility_cost_additive)
            .filter(|a| a.0 > 0)
            .map(|a| i64::from(a.0)),
    )
}

fn station_from_row(row: &SqliteRow) -> Result<Station> {
    Ok(Station {
        id: StationId(row.try_get("id")?),
        facility_id: FacilityId(row.try_get("facility_id")?),
        code: get_parsed(row, "stations", "code", |s| {
            Code::parse_field("station id", s)
        })?,
        location: row.try_get("location")?,
        enabled: row.try_get("enabled")?,
        do_not_record: row.try_get("do_not_record")?,
    })
}

fn person_from_row(row: &SqliteRow) -> Result<Person> {
    const T: &str = "people";
    let pin: Option<Vec<u8>> = row.try_get("pin_digest")?;
    Ok(Person {
        id: PersonId(row.try_get("id")?),
        facility_id: FacilityId(row.try_get("facility_id")?),
        booking_id: get_parsed(row, T, "booking_id", |s| Code::parse_field("booking id", s))?,
        name: get_parsed(row, T, "name", |s| Name::parse_field("name", s))?,
        language: get_parsed(row, T, "language", callward_core::Language::from_str)?,
        status: get_parsed(row, T, "status", callward_core::PersonStatus::from_str)?,
        do_not_record: row.try_get("do_not_record")?,
        has_pin: pin.is_some(),
    })
}

fn contact_from_row(row: &SqliteRow) -> Result<ApprovedContact> {
    Ok(ApprovedContact {
        id: ContactId(row.try_get("id")?),
        person_id: PersonId(row.try_get("person_id")?),
        number: get_parsed(row, "approved_contacts", "number", E164Number::parse)?,
        label: row.try_get("label")?,
    })
}

fn block_from_row(row: &SqliteRow) -> Result<BlockEntry> {
    let id: i64 = row.try_get("id")?;
    let scope: String = row.try_get("scope")?;
    let person: Option<i64> = row.try_get("person_id")?;
    let facility: Option<i64> = row.try_get("facility_id")?;
    let scope = match (scope.as_str(), person, facility) {
        ("person", Some(p), None) => BlockScope::Person(PersonId(p)),
        ("facility", None, Some(f)) => BlockScope::Facility(FacilityId(f)),
        ("called_party", None, Some(f)) => BlockScope::CalledParty(FacilityId(f)),
        _ => return Err(corrupt("blocks", id, "scope")),
    };
    Ok(BlockEntry {
        id: BlockId(id),
        scope,
        number: get_parsed(row, "blocks", "number", E164Number::parse)?,
        reason: row.try_get("reason")?,
    })
}

pub(crate) fn privileged_from_row(row: &SqliteRow) -> Result<PrivilegedNumber> {
    const T: &str = "privileged_numbers";
    Ok(PrivilegedNumber {
        id: PrivilegedId(row.try_get("id")?),
        number: get_parsed(row, T, "number", E164Number::parse)?,
        attorney_name: get_parsed(row, T, "attorney_name", |s| Name::parse_field("name", s))?,
        bar_number: row.try_get("bar_number")?,
        bar_state: get_parsed(row, T, "bar_state", UsState::parse)?,
        verification: get_parsed(row, T, "verification", Verification::from_str)?,
        verified_by: row.try_get("verified_by")?,
    })
}

fn account_from_row(row: &SqliteRow) -> Result<Account> {
    const T: &str = "accounts";
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let holder = match kind.as_str() {
        "prepaid" => AccountHolder::Prepaid(get_parsed(row, T, "number", E164Number::parse)?),
        "debit" => AccountHolder::Debit(PersonId(row.try_get("person_id")?)),
        _ => return Err(corrupt(T, id, "kind")),
    };
    Ok(Account {
        id: AccountId(id),
        holder,
        balance: Cents(row.try_get("balance_cents")?),
    })
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

fn time_col(row: &SqliteRow, column: &str) -> Result<Option<Timestamp>> {
    let id: String = row.try_get("id")?;
    let v: Option<i64> = row.try_get(column)?;
    v.map(|v| {
        Timestamp::from_millisecond(v)
            .map_err(|_| StoreError::Corrupt(format!("calls row {id}: bad {column}")))
    })
    .transpose()
}

fn open_call_from_row(row: &SqliteRow) -> Result<OpenCall> {
    let id: String = row.try_get("id")?;
    let bad = |column: &str| StoreError::Corrupt(format!("calls_open row {id}: bad {column}"));
    let number: Option<String> = row.try_get("number")?;
    let rate: Option<i64> = row.try_get("rate_cents_per_minute")?;
    let max: i64 = row.try_get("max_seconds")?;
    let seq: i64 = row.try_get("seq")?;
    Ok(OpenCall {
        facility_id: FacilityId(row.try_get("facility_id")?),
        station_id: StationId(row.try_get("station_id")?),
        person_id: row.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
        number: number
            .map(|n| E164Number::parse(&n).map_err(|_| bad("number")))
            .transpose()?,
        privileged: row.try_get("privileged")?,
        offered_at: time_col(row, "offered_ms")?.ok_or_else(|| bad("offered_ms"))?,
        answered_at: time_col(row, "answered_ms")?,
        accepted_at: time_col(row, "accepted_ms")?,
        recording_id: row.try_get("recording_id")?,
        rate_cents_per_minute: rate
            .map(u32::try_from)
            .transpose()
            .map_err(|_| bad("rate_cents_per_minute"))?,
        payer_account_id: row
            .try_get::<Option<i64>, _>("payer_account_id")?
            .map(AccountId),
        max_seconds: u64::try_from(max).map_err(|_| bad("max_seconds"))?,
        last_seen: time_col(row, "last_seen_ms")?.ok_or_else(|| bad("last_seen_ms"))?,
        seq: u32::try_from(seq).map_err(|_| bad("seq"))?,
        id,
    })
}

pub(crate) fn call_from_row(row: &SqliteRow) -> Result<CallDetailRecord> {
    let id: String = row.try_get("id")?;
    let bad = |column: &str| StoreError::Corrupt(format!("calls row {id}: bad {column}"));
    let number: Option<String> = row.try_get("number")?;
    let disposition: String = row.try_get("disposition")?;
    let hung_up_by: String = row.try_get("hung_up_by")?;
    let billable: i64 = row.try_get("billable_seconds")?;
    let rate: Option<i64> = row.try_get("rate_cents_per_minute")?;
    Ok(CallDetailRecord {
        facility_id: FacilityId(row.try_get("facility_id")?),
        station_id: StationId(row.try_get("station_id")?),
        person_id: row.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
        number: number
            .map(|n| E164Number::parse(&n).map_err(|_| bad("number")))
            .transpose()?,
        privileged: row.try_get("privileged")?,
        disposition: disposition.parse().map_err(|_| bad("disposition"))?,
        hung_up_by: hung_up_by.parse().map_err(|_| bad("hung_up_by"))?,
        offered_at: time_col(row, "offered_ms")?.ok_or_else(|| bad("offered_ms"))?,
        answered_at: time_col(row, "answered_ms")?,
        accepted_at: time_col(row, "accepted_ms")?,
        ended_at: time_col(row, "ended_ms")?.ok_or_else(|| bad("ended_ms"))?,
        payer_account_id: row
            .try_get::<Option<i64>, _>("payer_account_id")?
            .map(AccountId),
        billable_seconds: u64::try_from(billable).map_err(|_| bad("billable_seconds"))?,
        time_limit_reached: row.try_get("time_limit_reached")?,
        limit: row
            .try_get::<Option<String>, _>("time_limit")?
            .map(|l| CallLimit::from_code(&l).ok_or_else(|| bad("time_limit")))
            .transpose()?,
        blocked_by_called_party: row.try_get("blocked_by_called_party")?,
        recording_id: row.try_get("recording_id")?,
        rate_cents_per_minute: rate
            .map(u32::try_from)
            .transpose()
            .map_err(|_| bad("rate_cents_per_minute"))?,
        charge_cents: row.try_get("charge_cents")?,
        id,
    })
}

fn user_from_row(row: &SqliteRow) -> Result<User> {
    const T: &str = "users";
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: get_parsed(row, T, "username", Username::parse)?,
        role: get_parsed(row, T, "role", Role::from_str)?,
    })
}

fn scope_columns(scope: BlockScope) -> (&'static str, Option<i64>, Option<i64>) {
    match scope {
        BlockScope::Person(p) => ("person", Some(p.0), None),
        BlockScope::Facility(f) => ("facility", None, Some(f.0)),
        BlockScope::CalledParty(f) => ("called_party", None, Some(f.0)),
    }
}

fn ensure_changed(rows: u64, what: impl FnOnce() -> String) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn create_facility(&self, new: NewFacility) -> Result<Facility> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let name = new.name.as_str().to_owned();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO facilities (name, kind, average_daily_population, timezone, calling_hours,
                 max_call_minutes, max_calls_per_day, requires_approved_list, pin_length, created_ms,
                 rate_cents_per_minute, facility_cost_cents_per_minute)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.kind.to_string())
        .bind(i64::from(new.average_daily_population))
        .bind(new.timezone.name())
        .bind(new.calling_hours.to_string())
        .bind(i64::from(new.max_call_minutes))
        .bind(new.max_calls_per_day.map(i64::from))
        .bind(new.requires_approved_list)
        .bind(i64::from(new.pin_length))
        .bind(ms(Timestamp::now()))
        .bind(rate_columns(new.rate).0)
        .bind(rate_columns(new.rate).1)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| on_conflict(e, || format!("a facility named {name:?} already exists")))?;
        let id = FacilityId(id);
        Self::replace_gateways(&mut tx, id, &new.gateways).await?;
        let facility = Self::facility_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(facility)
    }

    async fn list_facilities(&self) -> Result<Vec<Facility>> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query("SELECT * FROM facilities ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
        let mut gateways = Self::load_gateways(&mut conn, None).await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                facility_from_row(row, gateways.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    async fn facility(&self, id: FacilityId) -> Result<Facility> {
        let mut conn = self.pool.acquire().await?;
        Self::facility_in(&mut conn, id).await
    }

    async fn facility_by_name(&self, name: &str) -> Result<Option<Facility>> {
        let mut conn = self.pool.acquire().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM facilities WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        match id {
            Some(id) => Ok(Some(Self::facility_in(&mut conn, FacilityId(id)).await?)),
            None => Ok(None),
        }
    }

    async fn update_facility(&self, id: FacilityId, u: FacilityUpdate) -> Result<Facility> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = Self::facility_in(&mut tx, id).await?;
        let name = u.name.unwrap_or(current.name);
        let name_text = name.as_str().to_owned();
        sqlx::query(
            "UPDATE facilities SET name = ?, kind = ?, average_daily_population = ?, timezone = ?,
                 calling_hours = ?, max_call_minutes = ?, max_calls_per_day = ?,
                 requires_approved_list = ?, rate_cents_per_minute = ?,
                 facility_cost_cents_per_minute = ?
             WHERE id = ?",
        )
        .bind(name.as_str())
        .bind(u.kind.unwrap_or(current.kind).to_string())
        .bind(i64::from(
            u.average_daily_population
                .unwrap_or(current.average_daily_population),
        ))
        .bind(u.timezone.as_ref().unwrap_or(&current.timezone).name())
        .bind(u.calling_hours.unwrap_or(current.calling_hours).to_string())
        .bind(i64::from(
            u.max_call_minutes.unwrap_or(current.max_call_minutes),
        ))
        .bind(
            u.max_calls_per_day
                .unwrap_or(current.max_calls_per_day)
                .map(i64::from),
        )
        .bind(
            u.requires_approved_list
                .unwrap_or(current.requires_approved_list),
        )
        .bind(rate_columns(u.rate.unwrap_or(current.rate)).0)
        .bind(rate_columns(u.rate.unwrap_or(current.rate)).1)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            on_conflict(e, || {
                format!("a facility named {name_text:?} already exists")
            })
        })?;
        if let Some(gateways) = &u.gateways {
            Self::replace_gateways(&mut tx, id, gateways).await?;
        }
        let facility = Self::facility_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(facility)
    }

    async fn remove_facility(&self, id: FacilityId) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::facility_in(&mut tx, id).await?;
        let stations: i64 =
            sqlx::query_scalar("SELECT count(*) FROM stations WHERE facility_id = ?")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?;
        let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE facility_id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        if stations > 0 || people > 0 {
            return Err(StoreError::Refused(format!(
                "facility {id} still has {stations} station(s) and {people} person(s); remove them first"
            )));
        }
        let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE facility_id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        if calls > 0 {
            return Err(StoreError::Refused(format!(
                "facility {id} has {calls} call record(s), which are kept; it cannot be removed"
            )));
        }
        sqlx::query("DELETE FROM facilities WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_station(&self, new: NewStation) -> Result<Station> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::facility_in(&mut tx, new.facility_id).await?;
        let code = new.code.as_str().to_owned();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stations (facility_id, code, location, enabled, do_not_record)
             VALUES (?, ?, ?, 1, ?) RETURNING id",
        )
        .bind(new.facility_id.0)
        .bind(new.code.as_str())
        .bind(&new.location)
        .bind(new.do_not_record)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| on_conflict(e, || format!("a station {code:?} already exists")))?;
        let station = Self::station_in(&mut tx, StationId(id)).await?;
        tx.commit().await?;
        Ok(station)
    }

    async fn list_stations(&self, facility: Option<FacilityId>) -> Result<Vec<Station>> {
        let rows =
            sqlx::query("SELECT * FROM stations WHERE ?1 IS NULL OR facility_id = ?1 ORDER BY id")
                .bind(facility.map(|f| f.0))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(station_from_row).collect()
    }

    async fn station_by_code(&self, code: &str) -> Result<Option<Station>> {
        let row = sqlx::query("SELECT * FROM stations WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(station_from_row).transpose()
    }

    async fn update_station(&self, id: StationId, u: StationUpdate) -> Result<Station> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = Self::station_in(&mut tx, id).await?;
        sqlx::query(
            "UPDATE stations SET location = ?, enabled = ?, do_not_record = ? WHERE id = ?",
        )
        .bind(u.location.unwrap_or(current.location))
        .bind(u.enabled.unwrap_or(current.enabled))
        .bind(u.do_not_record.unwrap_or(current.do_not_record))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let station = Self::station_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(station)
    }

    async fn remove_station(&self, id: StationId) -> Result<()> {
        let done = sqlx::query("DELETE FROM stations WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        ensure_changed(done.rows_affected(), || format!("station {id}"))
    }

    async fn create_person(&self, new: NewPerson) -> Result<Person> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::facility_in(&mut tx, new.facility_id).await?;
        let booking = new.booking_id.as_str().to_owned();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO people (facility_id, booking_id, name, language, status, do_not_record, pin_digest)
             VALUES (?, ?, ?, ?, 'active', 0, ?) RETURNING id",
        )
        .bind(new.facility_id.0)
        .bind(new.booking_id.as_str())
        .bind(new.name.as_str())
        .bind(new.language.to_string())
        .bind(new.pin.map(|p| p.0.to_vec()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            on_conflict(e, || {
                // Which uniqueness broke is told apart without revealing whose PIN matched.
                format!("booking id {booking:?} already exists at this facility, or that PIN is already in use there")
            })
        })?;
        let person = Self::person_in(&mut tx, PersonId(id)).await?;
        tx.commit().await?;
        Ok(person)
    }

    async fn list_people(&self, facility: FacilityId) -> Result<Vec<Person>> {
        let rows = sqlx::query("SELECT * FROM people WHERE facility_id = ? ORDER BY id")
            .bind(facility.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(person_from_row).collect()
    }

    async fn person(&self, id: PersonId) -> Result<Person> {
        let mut conn = self.pool.acquire().await?;
        Self::person_in(&mut conn, id).await
    }

    async fn person_by_booking(
        &self,
        facility: FacilityId,
        booking_id: &str,
    ) -> Result<Option<Person>> {
        let row = sqlx::query("SELECT * FROM people WHERE facility_id = ? AND booking_id = ?")
            .bind(facility.0)
            .bind(booking_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    async fn person_by_pin(&self, facility: FacilityId, pin: &PinDigest) -> Result<Option<Person>> {
        let row = sqlx::query("SELECT * FROM people WHERE facility_id = ? AND pin_digest = ?")
            .bind(facility.0)
            .bind(pin.0.as_slice())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    async fn update_person(&self, id: PersonId, u: PersonUpdate) -> Result<Person> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = Self::person_in(&mut tx, id).await?;
        sqlx::query(
            "UPDATE people SET name = ?, language = ?, status = ?, do_not_record = ? WHERE id = ?",
        )
        .bind(u.name.unwrap_or(current.name).as_str())
        .bind(u.language.unwrap_or(current.language).to_string())
        .bind(u.status.unwrap_or(current.status).to_string())
        .bind(u.do_not_record.unwrap_or(current.do_not_record))
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let person = Self::person_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(person)
    }

    async fn set_pin(&self, id: PersonId, pin: PinDigest) -> Result<()> {
        let done = sqlx::query("UPDATE people SET pin_digest = ? WHERE id = ?")
            .bind(pin.0.as_slice())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                on_conflict(e, || {
                    "that PIN is already in use at this facility; choose another".into()
                })
            })?;
        ensure_changed(done.rows_affected(), || format!("person {id}"))
    }

    async fn remove_person(&self, id: PersonId) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::person_in(&mut tx, id).await?;
        let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE person_id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        if accounts > 0 {
            return Err(StoreError::Refused(format!(
                "person {id} holds a debit account; close it first"
            )));
        }
        // Contacts and personal blocks go with the person (ON DELETE CASCADE).
        sqlx::query("DELETE FROM people WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_contact(
        &self,
        person: PersonId,
        number: E164Number,
        label: String,
    ) -> Result<ApprovedContact> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::person_in(&mut tx, person).await?;
        let masked = number.masked();
        let row = sqlx::query(
            "INSERT INTO approved_contacts (person_id, number, label) VALUES (?, ?, ?) RETURNING *",
        )
        .bind(person.0)
        .bind(number.as_str())
        .bind(&label)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            on_conflict(e, || {
                format!("{masked} is already approved for person {person}")
            })
        })?;
        let contact = contact_from_row(&row)?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn list_contacts(&self, person: PersonId) -> Result<Vec<ApprovedContact>> {
        let rows = sqlx::query("SELECT * FROM approved_contacts WHERE person_id = ? ORDER BY id")
            .bind(person.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(contact_from_row).collect()
    }

    async fn remove_contact(&self, id: ContactId) -> Result<()> {
        let done = sqlx::query("DELETE FROM approved_contacts WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        ensure_changed(done.rows_affected(), || format!("approved contact {id}"))
    }

    async fn is_approved(&self, person: PersonId, number: &E164Number) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM approved_contacts WHERE person_id = ? AND number = ?",
        )
        .bind(person.0)
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn add_block(
        &self,
        scope: BlockScope,
        number: E164Number,
        reason: String,
        now: Timestamp,
    ) -> Result<BlockEntry> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        match scope {
            BlockScope::Person(p) => {
                Self::person_in(&mut tx, p).await?;
            }
            BlockScope::Facility(f) | BlockScope::CalledParty(f) => {
                Self::facility_in(&mut tx, f).await?;
            }
        }
        let (kind, person, facility) = scope_columns(scope);
        let masked = number.masked();
        let row = sqlx::query(
            "INSERT INTO blocks (scope, person_id, facility_id, number, reason, created_ms)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(kind)
        .bind(person)
        .bind(facility)
        .bind(number.as_str())
        .bind(&reason)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            on_conflict(e, || {
                format!("{masked} is already on that {kind} blocklist")
            })
        })?;
        let entry = block_from_row(&row)?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn list_blocks(&self, facility: FacilityId) -> Result<Vec<BlockEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM blocks WHERE facility_id = ?1
                OR person_id IN (SELECT id FROM people WHERE facility_id = ?1)
             ORDER BY id",
        )
        .bind(facility.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_from_row).collect()
    }

    async fn remove_block(&self, id: BlockId) -> Result<()> {
        let done = sqlx::query("DELETE FROM blocks WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        ensure_changed(done.rows_affected(), || format!("block {id}"))
    }

    async fn find_block(
        &self,
        person: PersonId,
        facility: FacilityId,
        number: &E164Number,
    ) -> Result<Option<BlockScope>> {
        // Facility-wide lists first: they are the ones an administrator set for everyone.
        let rows = sqlx::query(
            "SELECT * FROM blocks WHERE number = ?1 AND (person_id = ?2 OR facility_id = ?3)
             ORDER BY CASE scope WHEN 'facility' THEN 0 WHEN 'called_party' THEN 1 ELSE 2 END, id",
        )
        .bind(number.as_str())
        .bind(person.0)
        .bind(facility.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .first()
            .map(block_from_row)
            .transpose()?
            .map(|b| b.scope))
    }

    async fn register_privileged(
        &self,
        new: NewPrivileged,
        now: Timestamp,
    ) -> Result<PrivilegedNumber> {
        let masked = new.number.masked();
        let row = sqlx::query(
            "INSERT INTO privileged_numbers (number, attorney_name, bar_number, bar_state, verification, created_ms)
             VALUES (?, ?, ?, ?, 'pending', ?) RETURNING *",
        )
        .bind(new.number.as_str())
        .bind(new.attorney_name.as_str())
        .bind(&new.bar_number)
        .bind(new.bar_state.as_str())
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_conflict(e, || format!("{masked} is already registered as privileged")))?;
        privileged_from_row(&row)
    }

    async fn list_privileged(&self) -> Result<Vec<PrivilegedNumber>> {
        let rows = sqlx::query("SELECT * FROM privileged_numbers ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(privileged_from_row).collect()
    }

    async fn set_verification(
        &self,
        id: PrivilegedId,
        verification: Verification,
        by: String,
    ) -> Result<PrivilegedNumber> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE privileged_numbers SET verification = ?, verified_by = ? WHERE id = ?",
        )
        .bind(verification.to_string())
        .bind(&by)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        ensure_changed(done.rows_affected(), || {
            format!("privileged registration {id}")
        })?;
        let entry = Self::privileged_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn remove_privileged(&self, id: PrivilegedId) -> Result<()> {
        let done = sqlx::query("DELETE FROM privileged_numbers WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        ensure_changed(done.rows_affected(), || {
            format!("privileged registration {id}")
        })
    }

    async fn privileged_by_number(&self, number: &E164Number) -> Result<Option<PrivilegedNumber>> {
        let row = sqlx::query("SELECT * FROM privileged_numbers WHERE number = ?")
            .bind(number.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(privileged_from_row).transpose()
    }

    async fn open_account(&self, holder: AccountHolder, now: Timestamp) -> Result<Account> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (kind, number, person) = match &holder {
            AccountHolder::Prepaid(n) => ("prepaid", Some(n.as_str().to_owned()), None),
            AccountHolder::Debit(p) => {
                Self::person_in(&mut tx, *p).await?;
                ("debit", None, Some(p.0))
            }
        };
        let row = sqlx::query(
            "INSERT INTO accounts (kind, number, person_id, balance_cents, created_ms)
             VALUES (?, ?, ?, 0, ?) RETURNING *",
        )
        .bind(kind)
        .bind(number)
        .bind(person)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            on_conflict(e, || match &holder {
                AccountHolder::Prepaid(n) => {
                    format!("{} already has a prepaid account", n.masked())
                }
                AccountHolder::Debit(p) => format!("person {p} already has a debit account"),
            })
        })?;
        let account = account_from_row(&row)?;
        tx.commit().await?;
        Ok(account)
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn account(&self, id: AccountId) -> Result<Account> {
        let mut conn = self.pool.acquire().await?;
        Self::account_in(&mut conn, id).await
    }

    async fn prepaid_account(&self, number: &E164Number) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE kind = 'prepaid' AND number = ?")
            .bind(number.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn debit_account(&self, person: PersonId) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE kind = 'debit' AND person_id = ?")
            .bind(person.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn deposit(
        &self,
        id: AccountId,
        amount: Cents,
        reference: String,
        now: Timestamp,
    ) -> Result<Account> {
        let channel =
            callward_core::ledger::DepositChannel::Admin(crate::sqlite_ledger::CLI_USER.into());
        crate::sqlite_ledger::deposit(self, id, amount, &reference, channel, now).await
    }

    async fn refund_call(
        &self,
        call_id: &str,
        amount: Cents,
        reason: String,
        now: Timestamp,
    ) -> Result<Account> {
        crate::sqlite_ledger::refund_call(self, call_id, amount, &reason, now).await
    }

    async fn close_account(&self, id: AccountId, now: Timestamp) -> Result<Cents> {
        crate::sqlite_ledger::close_account(self, id, now).await
    }

    async fn ledger_transactions(
        &self,
        account: Option<AccountId>,
    ) -> Result<Vec<callward_core::ledger::Transaction>> {
        crate::sqlite_ledger::transactions(self, account).await
    }

    async fn record_pin_failure(&self, station: StationId, at: Timestamp) -> Result<()> {
        sqlx::query("INSERT INTO pin_failures (station_id, at_ms) VALUES (?, ?)")
            .bind(station.0)
            .bind(ms(at))
            .execute(&self.pool)
            .await
            .map_err(|e| on_conflict(e, || "duplicate PIN failure".into()))?;
        Ok(())
    }

    async fn pin_failures_since(
        &self,
        station: StationId,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT at_ms FROM pin_failures WHERE station_id = ? AND at_ms > ? ORDER BY at_ms",
        )
        .bind(station.0)
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|t| {
                Timestamp::from_millisecond(t)
                    .map_err(|_| StoreError::Corrupt(format!("pin_failures: bad time {t}")))
            })
            .collect()
    }

    async fn clear_pin_failures(&self, station: StationId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM pin_failures WHERE station_id = ?")
            .bind(station.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_user(
        &self,
        username: Username,
        role: Role,
        password_hash: String,
        now: Timestamp,
    ) -> Result<User> {
        let name = username.as_str().to_owned();
        let row = sqlx::query(
            "INSERT INTO users (username, role, password_hash, created_ms) VALUES (?, ?, ?, ?) RETURNING *",
        )
        .bind(username.as_str())
        .bind(role.as_str())
        .bind(&password_hash)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_conflict(e, || format!("a user named {name:?} already exists")))?;
        user_from_row(&row)
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    async fn record_call(&self, call: &CallDetailRecord) -> Result<crate::ChargedCall> {
        crate::sqlite_ledger::record_call(self, call).await
    }

    async fn journal_call(&self, call: &OpenCall) -> Result<()> {
        if call.privileged && call.recording_id.is_some() {
            return Err(StoreError::Refused(format!(
                "call {} is privileged and cannot have a recording",
                call.id
            )));
        }
        // A newer snapshot replaces an older one, never the other way; and
        // a call already recorded is never journalled again.
        sqlx::query(
            "INSERT INTO calls_open (id, facility_id, station_id, person_id, number, privileged,
                 offered_ms, answered_ms, accepted_ms, recording_id, rate_cents_per_minute,
                 payer_account_id, max_seconds, last_seen_ms, seq)
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE NOT EXISTS (SELECT 1 FROM calls WHERE id = ?)
             ON CONFLICT (id) DO UPDATE SET
                 person_id = excluded.person_id, number = excluded.number,
                 privileged = excluded.privileged, answered_ms = excluded.answered_ms,
                 accepted_ms = excluded.accepted_ms, recording_id = excluded.recording_id,
                 rate_cents_per_minute = excluded.rate_cents_per_minute,
                 payer_account_id = excluded.payer_account_id,
                 max_seconds = excluded.max_seconds, last_seen_ms = excluded.last_seen_ms,
                 seq = excluded.seq
             WHERE excluded.seq > calls_open.seq",
        )
        .bind(&call.id)
        .bind(call.facility_id.0)
        .bind(call.station_id.0)
        .bind(call.person_id.map(|p| p.0))
        .bind(call.number.as_ref().map(E164Number::as_str))
        .bind(call.privileged)
        .bind(ms(call.offered_at))
        .bind(opt_ms(call.answered_at))
        .bind(opt_ms(call.accepted_at))
        .bind(call.recording_id.as_deref())
        .bind(call.rate_cents_per_minute.map(i64::from))
        .bind(call.payer_account_id.map(|a| a.0))
        .bind(i64::try_from(call.max_seconds).unwrap_or(i64::MAX))
        .bind(ms(call.last_seen))
        .bind(i64::from(call.seq))
        .bind(&call.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn open_calls(&self) -> Result<Vec<OpenCall>> {
        let rows = sqlx::query("SELECT * FROM calls_open ORDER BY offered_ms, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(open_call_from_row).collect()
    }

    async fn forget_open_call(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM calls_open WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_accepted_calls(&self, person: PersonId, since: Timestamp) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls
             WHERE person_id = ? AND offered_ms >= ? AND accepted_ms IS NOT NULL",
        )
        .bind(person.0)
        .bind(ms(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn list_calls(
        &self,
        since: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<CallDetailRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM calls WHERE offered_ms >= ? ORDER BY offered_ms, id LIMIT ?",
        )
        .bind(since.map_or(i64::MIN, ms))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(call_from_row).collect()
    }

    async fn call(&self, id: &str) -> Result<CallDetailRecord> {
        let row = sqlx::query("SELECT * FROM calls WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("call {id:?}")))?;
        call_from_row(&row)
    }
}
