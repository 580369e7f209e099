//! Retention, legal holds and privilege seals in SQLite (migration 6,
//! `docs/keys.md`): each facility's retention period, the holds placed on
//! recordings, the recordings deleted at the end of retention (the call
//! record stays) and one row per sealing run for a privileged number.
//!
//! The files and key records these rows describe are handled by the
//! binary; the rows are written after the files, so a job cut short is
//! finished by running it again.

use callward_core::{E164Number, FacilityId, PrivilegedId};
use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use crate::sqlite::{ms, on_conflict};
use crate::{Result, SqliteStore, StoreError};

/// Days a facility keeps recordings unless set otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// A recording past its facility's retention period and on no hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryCandidate {
    /// The call.
    pub call_id: String,
    /// Its recording.
    pub recording_id: String,
}

/// A call with a recording that has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// The call.
    pub call_id: String,
    /// Its recording.
    pub recording_id: String,
}

/// A legal hold on one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    /// Row id.
    pub id: i64,
    /// The call.
    pub call_id: String,
    /// Its recording.
    pub recording_id: String,
    /// Who placed it.
    pub placed_by: String,
    /// Why (case, order).
    pub reason: String,
    /// When.
    pub placed_at: Timestamp,
    /// Who released it, if it was.
    pub released_by: Option<String>,
    /// When it was released.
    pub released_at: Option<Timestamp>,
}

/// One sealing run for a privileged number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeSealEvent {
    /// Row id.
    pub id: i64,
    /// The registration.
    pub privileged_id: PrivilegedId,
    /// The number, masked.
    pub number_masked: String,
    /// Recordings sealed by this run.
    pub sealed: u64,
    /// Recordings found already sealed.
    pub already_sealed: u64,
    /// Recordings nothing can read any more (epoch shredded, no hold).
    pub unreadable: u64,
    /// Who registered or verified the number.
    pub sealed_by: String,
    /// When.
    pub sealed_at: Timestamp,
}

fn time(v: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(v).map_err(|_| StoreError::Corrupt(format!("bad time {v}")))
}

fn hold_row(row: &SqliteRow) -> Result<LegalHold> {
    Ok(LegalHold {
        id: row.try_get("id")?,
        call_id: row.try_get("call_id")?,
        recording_id: row.try_get("recording_id")?,
        placed_by: row.try_get("placed_by")?,
        reason: row.try_get("reason")?,
        placed_at: time(row.try_get("placed_ms")?)?,
        released_by: row.try_get("released_by")?,
        released_at: row
            .try_get::<Option<i64>, _>("released_ms")?
            .map(time)
            .transpose()?,
    })
}

fn count(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("bad count {v}")))
}

impl SqliteStore {
    /// Every facility with its retention period in days.
    pub async fn retention_periods(&self) -> Result<Vec<(FacilityId, u32)>> {
        let rows = sqlx::query(
            "SELECT f.id, r.retention_days FROM facilities f
             LEFT JOIN facility_retention r ON r.facility_id = f.id ORDER BY f.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get(0)?;
                let days: Option<i64> = row.try_get(1)?;
                let days = match days {
                    None => DEFAULT_RETENTION_DAYS,
                    Some(d) => u32::try_from(d).map_err(|_| {
                        StoreError::Corrupt(format!("facility {id}: bad retention"))
                    })?,
                };
                Ok((FacilityId(id), days))
            })
            .collect()
    }

    /// Sets a facility's retention period (1 to 36 500 days).
    pub async fn set_retention_days(&self, facility: FacilityId, days: u32) -> Result<()> {
        if !(1..=36_500).contains(&days) {
            return Err(StoreError::Refused(
                "retention must be 1 to 36500 days".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO facility_retention (facility_id, retention_days) VALUES (?, ?)
             ON CONFLICT (facility_id) DO UPDATE SET retention_days = excluded.retention_days",
        )
        .bind(facility.0)
        .bind(i64::from(days))
        .execute(self.pool())
        .await
        .map_err(|e| on_conflict(e, || format!("facility {facility}")))?;
        Ok(())
    }

    /// Recordings of `facility`'s calls offered before `cutoff`, not yet
    /// expired and on no hold in force, oldest first.
    pub async fn expiry_candidates(
        &self,
        facility: FacilityId,
        cutoff: Timestamp,
    ) -> Result<Vec<ExpiryCandidate>> {
        let rows = sqlx::query(
            "SELECT c.id, c.recording_id FROM calls c
             WHERE c.facility_id = ? AND c.offered_ms < ? AND c.recording_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM recording_expiries e WHERE e.call_id = c.id)
               AND NOT EXISTS (SELECT 1 FROM legal_holds h
                               WHERE h.recording_id = c.recording_id AND h.released_ms IS NULL)
             ORDER BY c.offered_ms, c.id",
        )
        .bind(facility.0)
        .bind(ms(cutoff))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ExpiryCandidate {
                    call_id: row.try_get(0)?,
                    recording_id: row.try_get(1)?,
                })
            })
            .collect()
    }

    /// Notes that the call's recording was deleted at `at` (a repeat is a no-op).
    pub async fn note_recording_expired(
        &self,
        call_id: &str,
        recording_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO recording_expiries (call_id, recording_id, expired_ms) VALUES (?, ?, ?)
             ON CONFLICT (call_id) DO NOTHING",
        )
        .bind(call_id)
        .bind(recording_id)
        .bind(ms(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// When the call's recording was deleted at the end of retention, if it was.
    pub async fn recording_expired_at(&self, call_id: &str) -> Result<Option<Timestamp>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT expired_ms FROM recording_expiries WHERE call_id = ?")
                .bind(call_id)
                .fetch_optional(self.pool())
                .await?;
        v.map(time).transpose()
    }

    /// Places a hold on the call's recording. A second hold in force on
    /// the same recording is a conflict.
    pub async fn place_hold(
        &self,
        call_id: &str,
        recording_id: &str,
        by: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<LegalHold> {
        let row = sqlx::query(
            "INSERT INTO legal_holds (call_id, recording_id, placed_by, reason, placed_ms)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(call_id)
        .bind(recording_id)
        .bind(by)
        .bind(reason)
        .bind(ms(at))
        .fetch_one(self.pool())
        .await
        .map_err(|e| {
            on_conflict(e, || {
                format!("the recording of call {call_id} is already on hold")
            })
        })?;
        hold_row(&row)
    }

    /// Releases the hold in force on the call's recording.
    pub async fn release_hold(&self, call_id: &str, by: &str, at: Timestamp) -> Result<LegalHold> {
        let row = sqlx::query(
            "UPDATE legal_holds SET released_by = ?, released_ms = ?
             WHERE call_id = ? AND released_ms IS NULL RETURNING *",
        )
        .bind(by)
        .bind(ms(at))
        .bind(call_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => hold_row(&row),
            None => Err(StoreError::NotFound(format!(
                "a hold in force on the recording of call {call_id}"
            ))),
        }
    }

    /// Holds, oldest first: those in force, or all of them.
    pub async fn legal_holds(&self, include_released: bool) -> Result<Vec<LegalHold>> {
        let rows = sqlx::query(
            "SELECT * FROM legal_holds WHERE released_ms IS NULL OR ? ORDER BY placed_ms, id",
        )
        .bind(include_released)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(hold_row).collect()
    }

    /// Calls to `number` whose recording has not expired, oldest first.
    pub async fn recorded_calls_to(&self, number: &E164Number) -> Result<Vec<RecordedCall>> {
        let rows = sqlx::query(
            "SELECT c.id, c.recording_id FROM calls c
             WHERE c.number = ? AND c.recording_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM recording_expiries e WHERE e.call_id = c.id)
             ORDER BY c.offered_ms, c.id",
        )
        .bind(number.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordedCall {
                    call_id: row.try_get(0)?,
                    recording_id: row.try_get(1)?,
                })
            })
            .collect()
    }

    /// Records one sealing run for a privileged number.
    #[allow(clippy::too_many_arguments)] // one row's columns
    pub async fn record_privilege_seal(
        &self,
        privileged: PrivilegedId,
        number: &E164Number,
        sealed: u64,
        already_sealed: u64,
        unreadable: u64,
        by: &str,
        at: Timestamp,
    ) -> Result<PrivilegeSealEvent> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "INSERT INTO privilege_seals (privileged_id, number_masked, sealed, already_sealed,
                 unreadable, sealed_by, sealed_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(privileged.0)
        .bind(number.masked())
        .bind(n(sealed))
        .bind(n(already_sealed))
        .bind(n(unreadable))
        .bind(by)
        .bind(ms(at))
        .fetch_one(self.pool())
        .await?;
        seal_row(&row)
    }

    /// Every sealing run, oldest first.
    pub async fn privilege_seals(&self) -> Result<Vec<PrivilegeSealEvent>> {
        let rows = sqlx::query("SELECT * FROM privilege_seals ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(seal_row).collect()
    }
}

fn seal_row(row: &SqliteRow) -> Result<PrivilegeSealEvent> {
    Ok(PrivilegeSealEvent {
        id: row.try_get("id")?,
        privileged_id: PrivilegedId(row.try_get("privileged_id")?),
        number_masked: row.try_get("number_masked")?,
        sealed: count(row.try_get("sealed")?)?,
        already_sealed: count(row.try_get("already_sealed")?)?,
        unreadable: count(row.try_get("unreadable")?)?,
        sealed_by: row.try_get("sealed_by")?,
        sealed_at: time(row.try_get("sealed_ms")?)?,
    })
}
