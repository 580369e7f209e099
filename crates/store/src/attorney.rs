//! The attorney's registrations and privilege review requests (migration
//! 18; `docs/console.md`, "attorney").

use callward_core::{PrivilegedId, PrivilegedNumber, UserId};
use jiff::Timestamp;
use sqlx::Row as _;

use crate::sqlite::{ms, on_conflict, privileged_from_row};
use crate::{NewPrivileged, Result, SqliteStore, StoreError};

/// A request to review recordings of calls to a registered number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeReview {
    /// Row id.
    pub id: i64,
    /// The registration it is about.
    pub privileged: PrivilegedId,
    /// Who asked.
    pub requested_by: UserId,
    /// The calls from (ms, inclusive).
    pub since_ms: i64,
    /// The calls until (ms, inclusive).
    pub until_ms: i64,
    /// Why.
    pub reason: String,
    /// When it was asked (ms).
    pub created_ms: i64,
    /// Who marked it reviewed and when (ms), once someone has.
    pub reviewed: Option<(String, i64)>,
}

fn review_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<PrivilegeReview> {
    let reviewed_ms: Option<i64> = row.try_get("reviewed_ms")?;
    let reviewed_by: Option<String> = row.try_get("reviewed_by")?;
    Ok(PrivilegeReview {
        id: row.try_get("id")?,
        privileged: PrivilegedId(row.try_get("privileged_id")?),
        requested_by: UserId(row.try_get("requested_by")?),
        since_ms: row.try_get("since_ms")?,
        until_ms: row.try_get("until_ms")?,
        reason: row.try_get("reason")?,
        created_ms: row.try_get("created_ms")?,
        reviewed: reviewed_ms.map(|at| (reviewed_by.unwrap_or_default(), at)),
    })
}

impl SqliteStore {
    /// Registers an attorney number for attorney user `user`, pending
    /// verification (as `Store::register_privileged`, the user named).
    pub async fn register_privileged_by(
        &self,
        new: NewPrivileged,
        user: UserId,
        now: Timestamp,
    ) -> Result<PrivilegedNumber> {
        let masked = new.number.masked();
        let row = sqlx::query(
            "INSERT INTO privileged_numbers (number, attorney_name, bar_number, bar_state, verification, created_ms, registered_by)
             VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING *",
        )
        .bind(new.number.as_str())
        .bind(new.attorney_name.as_str())
        .bind(&new.bar_number)
        .bind(new.bar_state.as_str())
        .bind(ms(now))
        .bind(user.0)
        .fetch_one(self.pool())
        .await
        .map_err(|e| on_conflict(e, || format!("{masked} is already registered")))?;
        privileged_from_row(&row)
    }

    /// Names `user` as the attorney who holds registration `id` (the demo
    /// seed; a registration made with the CLI names no one).
    pub async fn set_privileged_owner(&self, id: PrivilegedId, user: UserId) -> Result<()> {
        let done = sqlx::query("UPDATE privileged_numbers SET registered_by = ? WHERE id = ?")
            .bind(user.0)
            .bind(id.0)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "privileged registration {id}"
            )));
        }
        Ok(())
    }

    /// The registrations attorney user `user` made, oldest first.
    pub async fn privileged_of(&self, user: UserId) -> Result<Vec<PrivilegedNumber>> {
        let rows =
            sqlx::query("SELECT * FROM privileged_numbers WHERE registered_by = ? ORDER BY id")
                .bind(user.0)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(privileged_from_row).collect()
    }

    /// Records `user`'s request to review recordings of calls to
    /// registration `privileged` between `since_ms` and `until_ms`; only
    /// for a registration that user holds.
    pub async fn request_privilege_review(
        &self,
        privileged: PrivilegedId,
        user: UserId,
        since_ms: i64,
        until_ms: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<PrivilegeReview> {
        if since_ms > until_ms {
            return Err(StoreError::Refused(
                "the review's start is after its end".into(),
            ));
        }
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let holder: Option<Option<i64>> =
            sqlx::query_scalar("SELECT registered_by FROM privileged_numbers WHERE id = ?")
                .bind(privileged.0)
                .fetch_optional(&mut *tx)
                .await?;
        if holder.flatten() != Some(user.0) {
            return Err(StoreError::NotFound(format!(
                "a registration {privileged} of yours"
            )));
        }
        let row = sqlx::query(
            "INSERT INTO privilege_reviews (privileged_id, requested_by, since_ms, until_ms, reason, state, created_ms)
             VALUES (?, ?, ?, ?, ?, 'requested', ?) RETURNING *",
        )
        .bind(privileged.0)
        .bind(user.0)
        .bind(since_ms)
        .bind(until_ms)
        .bind(reason)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        review_from_row(&row)
    }

    /// Review requests: `user`'s own, or everyone's with `None`; newest first.
    pub async fn privilege_reviews(&self, user: Option<UserId>) -> Result<Vec<PrivilegeReview>> {
        let rows = match user {
            Some(u) => {
                sqlx::query(
                    "SELECT * FROM privilege_reviews WHERE requested_by = ? ORDER BY id DESC",
                )
                .bind(u.0)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query("SELECT * FROM privilege_reviews ORDER BY id DESC")
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter().map(review_from_row).collect()
    }

    /// Marks review request `id` reviewed by `by`; a request already
    /// reviewed is refused.
    pub async fn mark_privilege_reviewed(
        &self,
        id: i64,
        by: &str,
        now: Timestamp,
    ) -> Result<PrivilegeReview> {
        let row = sqlx::query(
            "UPDATE privilege_reviews SET state = 'reviewed', reviewed_by = ?, reviewed_ms = ?
             WHERE id = ? AND state = 'requested' RETURNING *",
        )
        .bind(by)
        .bind(ms(now))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => review_from_row(&r),
            None => Err(StoreError::Refused(format!(
                "review request {id} does not exist or is already reviewed"
            ))),
        }
    }
}
