//! Family (called party) users and the one prepaid account each is bound
//! to (migration 17; `docs/access-control.md`, "Family").

use callward_core::{E164Number, UserId};
use sqlx::Row as _;

use crate::{Result, SqliteStore, StoreError};

/// The prepaid account a family user is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyAccount {
    /// The user.
    pub user: UserId,
    /// The account's row id.
    pub account_id: i64,
    /// The called party's number (log it masked).
    pub number: E164Number,
}

impl SqliteStore {
    /// Binds family user `user` to the prepaid account of `number`. The
    /// account must exist; a user is bound once (delete the user to change).
    pub async fn bind_family_account(
        &self,
        user: UserId,
        number: &E164Number,
        now_ms: i64,
    ) -> Result<FamilyAccount> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let account: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE kind = 'prepaid' AND number = ?")
                .bind(number.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(account_id) = account else {
            return Err(StoreError::NotFound(format!(
                "a prepaid account for {}",
                number.masked()
            )));
        };
        sqlx::query(
            "INSERT INTO family_accounts (user_id, account_id, created_ms) VALUES (?, ?, ?)",
        )
        .bind(user.0)
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::sqlite::on_conflict(e, || format!("user {} is already bound", user.0))
        })?;
        tx.commit().await?;
        Ok(FamilyAccount {
            user,
            account_id,
            number: number.clone(),
        })
    }

    /// The account family user `user` is bound to, if any.
    pub async fn family_account(&self, user: UserId) -> Result<Option<FamilyAccount>> {
        let row = sqlx::query(
            "SELECT a.id, a.number FROM family_accounts f JOIN accounts a ON a.id = f.account_id
             WHERE f.user_id = ?",
        )
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let number: String = row.try_get("number")?;
        let number = E164Number::parse(&number)
            .map_err(|e| StoreError::Corrupt(format!("family account number: {e}")))?;
        Ok(Some(FamilyAccount {
            user,
            account_id: row.try_get("id")?,
            number,
        }))
    }
}
