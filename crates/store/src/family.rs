//! Family (called party) users and the one prepaid account each is bound
//! to (migration 17; `docs/access-control.md`, "Family").

use callward_core::{AgencyId, E164Number, Role, UserId, Username};
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
    /// Creates family user `username` in `agency` and binds it to the
    /// prepaid account of `number`, opening the account (at $0.00) if there
    /// is none, all in one transaction: a number another family user is
    /// already bound to is refused, and a refusal leaves no user behind.
    pub async fn create_family_user(
        &self,
        username: &Username,
        agency: AgencyId,
        password_hash: &str,
        number: &E164Number,
        now_ms: i64,
    ) -> Result<FamilyAccount> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE kind = 'prepaid' AND number = ?")
                .bind(number.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let account_id = match existing {
            Some(id) => {
                let bound: Option<i64> = sqlx::query_scalar(
                    "SELECT user_id FROM family_accounts WHERE account_id = ? LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if bound.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "{} is already bound to another family user",
                        number.masked()
                    )));
                }
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO accounts (kind, number, person_id, balance_cents, created_ms)
                     VALUES ('prepaid', ?, NULL, 0, ?) RETURNING id",
                )
                .bind(number.as_str())
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let user: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, role, password_hash, created_ms, agency_id)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(username.as_str())
        .bind(Role::Family.as_str())
        .bind(password_hash)
        .bind(now_ms)
        .bind(agency.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e.as_database_error() {
            Some(d) if d.message().contains("no such agency") => {
                StoreError::NotFound(format!("agency {agency}"))
            }
            _ => {
                crate::sqlite::on_conflict(e, || format!("a user named {username} already exists"))
            }
        })?;
        sqlx::query(
            "INSERT INTO family_accounts (user_id, account_id, created_ms) VALUES (?, ?, ?)",
        )
        .bind(user)
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(FamilyAccount {
            user: UserId(user),
            account_id,
            number: number.clone(),
        })
    }

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

    /// Records a deposit the family made on its own page (the payment
    /// processor is outside callward: `reference` is its receipt).
    pub async fn family_deposit(
        &self,
        account: &FamilyAccount,
        amount: callward_core::Cents,
        reference: &str,
        now: jiff::Timestamp,
    ) -> Result<callward_core::Account> {
        crate::sqlite_ledger::deposit(
            self,
            callward_core::AccountId(account.account_id),
            amount,
            reference,
            callward_core::ledger::DepositChannel::FamilyPage,
            now,
        )
        .await
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
