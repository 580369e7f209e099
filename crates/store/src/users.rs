//! Agencies, console accounts' sign-in state, sessions, cases, approvals
//! and releases in SQLite (migration 8, `docs/access-control.md`). The
//! rules are callward-core's `auth` module; these methods store what its
//! decisions say, and run the quota check and the release it allows in one
//! `BEGIN IMMEDIATE` transaction so two exports cannot both take the last
//! place. Inherent `SqliteStore` methods, not yet in the `Store` trait.

use callward_core::auth::login::FAILURE_WINDOW_MS;
use callward_core::auth::quota::{APPROVAL_TTL_MS, QUOTA_WINDOW_MS};
use callward_core::auth::{
    Actor, Approval, ApprovalNeed, ApprovalState, CaseStatus, Justification, LoginState,
    QuotaPolicy, ReleaseCheck, Session, SessionState, TotpSecret, check_decision, check_release,
    check_use,
};
use callward_core::{AgencyId, ApprovalId, CaseId, FacilityId, Name, Role, User, UserId, Username};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use crate::sqlite::on_conflict;
use crate::{Result, SqliteStore, StoreError};

/// An agency and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Row id.
    pub id: AgencyId,
    /// Unique name.
    pub name: Name,
    /// Its quota and bulk limit.
    pub policy: QuotaPolicy,
}

/// A console account: the user, their agency, and what signing in needs.
/// `Debug` shows neither the hash nor the TOTP secret.
#[derive(Clone)]
pub struct UserAccount {
    /// The user.
    pub user: User,
    /// Their agency.
    pub agency: AgencyId,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Failures in the window, lock, TOTP.
    pub login: LoginState,
}

impl std::fmt::Debug for UserAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAccount")
            .field("user", &self.user)
            .field("agency", &self.agency)
            .field("locked", &self.login.locked)
            .field("totp_enrolled", &self.login.totp.is_some())
            .finish_non_exhaustive()
    }
}

/// A row of `admin user list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The user.
    pub user: User,
    /// Their agency.
    pub agency: AgencyId,
    /// Locked by failed sign-ins.
    pub locked: bool,
    /// TOTP enrolled.
    pub totp_enrolled: bool,
}

/// An investigation case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Row id.
    pub id: CaseId,
    /// The agency it belongs to.
    pub agency: AgencyId,
    /// A short title.
    pub title: String,
    /// The written justification.
    pub justification: String,
    /// Who opened it.
    pub opened_by: UserId,
    /// When (ms).
    pub opened_ms: i64,
    /// When it was closed (ms), if it was.
    pub closed_ms: Option<i64>,
}

impl Case {
    /// Open or closed.
    pub fn status(&self) -> CaseStatus {
        if self.closed_ms.is_some() {
            CaseStatus::Closed
        } else {
            CaseStatus::Open
        }
    }
}

/// What [`SqliteStore::release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// Recorded; the recordings may be released.
    Done {
        /// Released in the 24 hours before this one.
        released_before: u32,
        /// The approval it used, if it needed one.
        approval: Option<ApprovalId>,
    },
    /// Over quota or bulk and no usable approval: nothing recorded.
    NeedsApproval(ApprovalNeed),
}

/// The requester of an [`Approval`] asked for by the local operator (the
/// server's own CLI user, who has no console account; migration 13). No
/// account has id 0, so the two-person check never confuses it with a
/// supervisor; which local user asked is in the row's `local_requester`.
pub const LOCAL_OPERATOR: UserId = UserId(0);

fn corrupt(table: &str, column: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}: bad {column}"))
}

fn agency_from_row(row: &SqliteRow) -> Result<Agency> {
    let name: String = row.try_get("name")?;
    let daily: i64 = row.try_get("daily_quota")?;
    let bulk: i64 = row.try_get("bulk_limit")?;
    Ok(Agency {
        id: AgencyId(row.try_get("id")?),
        name: Name::parse_field("agency name", &name).map_err(|_| corrupt("agencies", "name"))?,
        policy: QuotaPolicy {
            daily: u32::try_from(daily).map_err(|_| corrupt("agencies", "daily_quota"))?,
            bulk: u32::try_from(bulk).map_err(|_| corrupt("agencies", "bulk_limit"))?,
        },
    })
}

fn user_of(row: &SqliteRow) -> Result<User> {
    let name: String = row.try_get("username")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: Username::parse(&name).map_err(|_| corrupt("users", "username"))?,
        role: role.parse::<Role>().map_err(|_| corrupt("users", "role"))?,
    })
}

fn totp_of(row: &SqliteRow) -> Result<Option<TotpSecret>> {
    let secret: Option<Vec<u8>> = row.try_get("totp_secret")?;
    secret
        .map(|s| TotpSecret::new(s).map_err(|_| corrupt("users", "totp_secret")))
        .transpose()
}

fn step_of(row: &SqliteRow) -> Result<Option<u64>> {
    let step: Option<i64> = row.try_get("last_totp_step")?;
    step.map(|s| u64::try_from(s).map_err(|_| corrupt("users", "last_totp_step")))
        .transpose()
}

fn case_from_row(row: &SqliteRow) -> Result<Case> {
    Ok(Case {
        id: CaseId(row.try_get("id")?),
        agency: AgencyId(row.try_get("agency_id")?),
        title: row.try_get("title")?,
        justification: row.try_get("justification")?,
        opened_by: UserId(row.try_get("opened_by")?),
        opened_ms: row.try_get("opened_ms")?,
        closed_ms: row.try_get("closed_ms")?,
    })
}

fn approval_from_row(row: &SqliteRow) -> Result<Approval> {
    let state: String = row.try_get("state")?;
    let by: Option<i64> = row.try_get("decided_by")?;
    let state = match (state.as_str(), by) {
        ("pending", None) => ApprovalState::Pending,
        ("granted", Some(by)) => ApprovalState::Granted(UserId(by)),
        ("refused", Some(by)) => ApprovalState::Refused(UserId(by)),
        ("used", Some(_)) => ApprovalState::Used,
        _ => return Err(corrupt("approvals", "state")),
    };
    let count: i64 = row.try_get("count")?;
    // NULL: asked for by the local operator (migration 13).
    let requester: Option<i64> = row.try_get("requester")?;
    Ok(Approval {
        id: ApprovalId(row.try_get("id")?),
        agency: AgencyId(row.try_get("agency_id")?),
        requester: requester.map_or(LOCAL_OPERATOR, UserId),
        count: u32::try_from(count).map_err(|_| corrupt("approvals", "count"))?,
        reason: row.try_get("reason")?,
        created_ms: row.try_get("created_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        state,
    })
}

fn u64_to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Refused("value out of range".into()))
}

impl SqliteStore {
    // ---- agencies ----

    /// Creates an agency with the default quota and bulk limit.
    pub async fn create_agency(&self, name: &Name, now_ms: i64) -> Result<Agency> {
        let row = sqlx::query("INSERT INTO agencies (name, created_ms) VALUES (?, ?) RETURNING *")
            .bind(name.as_str())
            .bind(now_ms)
            .fetch_one(self.pool())
            .await
            .map_err(|e| on_conflict(e, || format!("an agency named {name} already exists")))?;
        agency_from_row(&row)
    }

    /// All agencies by id.
    pub async fn list_agencies(&self) -> Result<Vec<Agency>> {
        sqlx::query("SELECT * FROM agencies ORDER BY id")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(agency_from_row)
            .collect()
    }

    /// An agency by id or exact name.
    pub async fn find_agency(&self, id_or_name: &str) -> Result<Agency> {
        let id = id_or_name.trim().parse::<i64>().unwrap_or(-1);
        sqlx::query("SELECT * FROM agencies WHERE id = ? OR name = ?")
            .bind(id)
            .bind(id_or_name.trim())
            .fetch_optional(self.pool())
            .await?
            .map(|r| agency_from_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("agency {}", id_or_name.trim())))
    }

    /// An agency by id.
    pub async fn agency(&self, id: AgencyId) -> Result<Agency> {
        self.find_agency(&id.0.to_string()).await
    }

    /// Renames an agency.
    pub async fn rename_agency(&self, id: AgencyId, name: &Name) -> Result<()> {
        let done = sqlx::query("UPDATE agencies SET name = ? WHERE id = ?")
            .bind(name.as_str())
            .bind(id.0)
            .execute(self.pool())
            .await
            .map_err(|e| on_conflict(e, || format!("an agency named {name} already exists")))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agency {id}")));
        }
        Ok(())
    }

    /// Sets an agency's quota and bulk limit.
    pub async fn set_agency_policy(&self, id: AgencyId, policy: QuotaPolicy) -> Result<()> {
        let done = sqlx::query("UPDATE agencies SET daily_quota = ?, bulk_limit = ? WHERE id = ?")
            .bind(i64::from(policy.daily))
            .bind(i64::from(policy.bulk))
            .bind(id.0)
            .execute(self.pool())
            .await
            .map_err(|e| match e.as_database_error() {
                Some(d) if d.message().contains("CHECK") => {
                    StoreError::Refused("the bulk limit must be at least 1".into())
                }
                _ => StoreError::Backend(e),
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agency {id}")));
        }
        Ok(())
    }

    /// Moves a facility to an agency.
    pub async fn set_facility_agency(&self, facility: FacilityId, agency: AgencyId) -> Result<()> {
        let done = sqlx::query("UPDATE facilities SET agency_id = ? WHERE id = ?")
            .bind(agency.0)
            .bind(facility.0)
            .execute(self.pool())
            .await
            .map_err(|e| on_conflict(e, String::new))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("facility {facility}")));
        }
        Ok(())
    }

    /// The agency a facility belongs to.
    pub async fn facility_agency(&self, facility: FacilityId) -> Result<AgencyId> {
        sqlx::query_scalar("SELECT agency_id FROM facilities WHERE id = ?")
            .bind(facility.0)
            .fetch_optional(self.pool())
            .await?
            .map(AgencyId)
            .ok_or_else(|| StoreError::NotFound(format!("facility {facility}")))
    }

    // ---- accounts and signing in ----

    /// Creates a console account in `agency` with an argon2id hash and,
    /// for roles that need it, a TOTP secret.
    pub async fn create_account(
        &self,
        username: &Username,
        role: Role,
        agency: AgencyId,
        password_hash: &str,
        totp: Option<&TotpSecret>,
        now_ms: i64,
    ) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (username, role, password_hash, created_ms, agency_id, totp_secret)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(username.as_str())
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now_ms)
        .bind(agency.0)
        .bind(totp.map(TotpSecret::expose))
        .fetch_one(self.pool())
        .await
        .map_err(|e| match e.as_database_error() {
            Some(d) if d.message().contains("no such agency") => {
                StoreError::NotFound(format!("agency {agency}"))
            }
            _ => on_conflict(e, || format!("a user named {username} already exists")),
        })?;
        user_of(&row)
    }

    /// The account to sign in as, with its failures in the window ending at `now_ms`.
    pub async fn user_account(&self, username: &str, now_ms: i64) -> Result<Option<UserAccount>> {
        let Some(row) = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username.trim())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let user = user_of(&row)?;
        let failures_ms: Vec<i64> =
            sqlx::query_scalar("SELECT at_ms FROM login_failures WHERE user_id = ? AND at_ms > ?")
                .bind(user.id.0)
                .bind(now_ms - FAILURE_WINDOW_MS)
                .fetch_all(self.pool())
                .await?;
        let locked: Option<i64> = row.try_get("locked_ms")?;
        Ok(Some(UserAccount {
            agency: AgencyId(row.try_get("agency_id")?),
            password_hash: row.try_get("password_hash")?,
            login: LoginState {
                failures_ms,
                locked: locked.is_some(),
                totp: totp_of(&row)?,
                last_totp_step: step_of(&row)?,
            },
            user,
        }))
    }

    /// Every account, by id.
    pub async fn list_user_accounts(&self) -> Result<Vec<AccountSummary>> {
        sqlx::query(
            "SELECT id, username, role, agency_id, locked_ms IS NOT NULL AS locked,
                    totp_secret IS NOT NULL AS enrolled FROM users ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(AccountSummary {
                user: user_of(row)?,
                agency: AgencyId(row.try_get("agency_id")?),
                locked: row.try_get("locked")?,
                totp_enrolled: row.try_get("enrolled")?,
            })
        })
        .collect()
    }

    /// Who asked for an approval, for people to read: the console user's
    /// name, or `local operator local:uid-N` for the server's CLI user
    /// (the uid the row recorded), or `user N (removed)`.
    pub async fn approval_requester(&self, approval: &Approval) -> Result<String> {
        if approval.requester == LOCAL_OPERATOR {
            let local: Option<String> =
                sqlx::query_scalar("SELECT local_requester FROM approvals WHERE id = ?")
                    .bind(approval.id.0)
                    .fetch_optional(self.pool())
                    .await?
                    .flatten();
            return Ok(format!(
                "local operator {}",
                local.as_deref().unwrap_or("(unknown uid)")
            ));
        }
        Ok(self.account_summary(approval.requester).await?.map_or_else(
            || format!("user {} (removed)", approval.requester),
            |a| a.user.username.as_str().to_owned(),
        ))
    }

    /// One account by id (the HTTP API's session check), `None` if it is gone.
    pub async fn account_summary(&self, user: UserId) -> Result<Option<AccountSummary>> {
        let Some(row) = sqlx::query(
            "SELECT id, username, role, agency_id, locked_ms IS NOT NULL AS locked,
                    totp_secret IS NOT NULL AS enrolled FROM users WHERE id = ?",
        )
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(AccountSummary {
            user: user_of(&row)?,
            agency: AgencyId(row.try_get("agency_id")?),
            locked: row.try_get("locked")?,
            totp_enrolled: row.try_get("enrolled")?,
        }))
    }

    /// Enrols a first TOTP secret and records the sign-in its first code
    /// made (step kept, failures cleared), in one transaction. `false`, and
    /// nothing changed, if the user already has a secret (another
    /// enrolment won, or an administrator set one).
    pub async fn enrol_totp(&self, user: UserId, totp: &TotpSecret, step: u64) -> Result<bool> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = ?, last_totp_step = ?
             WHERE id = ? AND totp_secret IS NULL",
        )
        .bind(totp.expose())
        .bind(u64_to_i64(step)?)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM login_failures WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a failed sign-in; `lock` locks the account (AC-7).
    pub async fn record_login_failure(&self, user: UserId, lock: bool, now_ms: i64) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO login_failures (user_id, at_ms) VALUES (?, ?)")
            .bind(user.0)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        // Older failures no longer count.
        sqlx::query("DELETE FROM login_failures WHERE user_id = ? AND at_ms <= ?")
            .bind(user.0)
            .bind(now_ms - FAILURE_WINDOW_MS)
            .execute(&mut *tx)
            .await?;
        if lock {
            sqlx::query("UPDATE users SET locked_ms = ? WHERE id = ? AND locked_ms IS NULL")
                .bind(now_ms)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a successful sign-in: failures cleared, the TOTP step kept
    /// so its code cannot be used again. Refused if another sign-in used
    /// this step or a later one meanwhile.
    pub async fn record_login_success(&self, user: UserId, totp_step: Option<u64>) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        if let Some(step) = totp_step {
            let done = sqlx::query(
                "UPDATE users SET last_totp_step = ?
                 WHERE id = ? AND (last_totp_step IS NULL OR last_totp_step < ?)",
            )
            .bind(u64_to_i64(step)?)
            .bind(user.0)
            .bind(u64_to_i64(step)?)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Refused(
                    "this code was already used; wait for the next one".into(),
                ));
            }
        }
        sqlx::query("DELETE FROM login_failures WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unlocks an account and forgets its failures. `false` if it was not locked.
    pub async fn unlock_account(&self, user: UserId) -> Result<bool> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let done =
            sqlx::query("UPDATE users SET locked_ms = NULL WHERE id = ? AND locked_ms IS NOT NULL")
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM login_failures WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces (or removes) the TOTP secret and forgets the last step;
    /// ends the user's sessions.
    pub async fn set_totp(&self, user: UserId, totp: Option<&TotpSecret>) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET totp_secret = ?, last_totp_step = NULL WHERE id = ?")
            .bind(totp.map(TotpSecret::expose))
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's role; ends their sessions.
    pub async fn set_role(&self, user: UserId, role: Role) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a user to another agency; ends their sessions.
    pub async fn set_user_agency(&self, user: UserId, agency: AgencyId) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET agency_id = ? WHERE id = ?")
            .bind(agency.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(|_| StoreError::NotFound(format!("agency {agency}")))?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- sessions ----

    /// Stores a new session under the SHA-256 of its token.
    pub async fn open_session(
        &self,
        token_hash: &[u8; 32],
        user: UserId,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(&token_hash[..])
        .bind(user.0)
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(|e| on_conflict(e, || "session token collision".into()))?;
        Ok(())
    }

    /// Uses a session for a request at `now_ms`: an active one is
    /// extended; an idle one is locked (and stays locked until
    /// [`Self::unlock_session`]); an expired one is deleted. `None` for an
    /// unknown token.
    pub async fn use_session(
        &self,
        token_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<(UserId, SessionState)>> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let Some(row) = sqlx::query("SELECT * FROM sessions WHERE token_hash = ?")
            .bind(&token_hash[..])
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let user = UserId(row.try_get("user_id")?);
        let session = Session {
            created_ms: row.try_get("created_ms")?,
            last_seen_ms: row.try_get("last_seen_ms")?,
            locked: row.try_get("locked")?,
        };
        let state = session.check(now_ms);
        let query = match state {
            SessionState::Active => {
                sqlx::query("UPDATE sessions SET last_seen_ms = ? WHERE token_hash = ?")
                    .bind(now_ms)
            }
            // Locked, not extended: the password is needed again.
            SessionState::IdleLocked => {
                sqlx::query("UPDATE sessions SET locked = 1 WHERE token_hash = ?")
            }
            _ => sqlx::query("DELETE FROM sessions WHERE token_hash = ?"),
        };
        query.bind(&token_hash[..]).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some((user, state)))
    }

    /// Unlocks an idle-locked session after the password was given again.
    pub async fn unlock_session(&self, token_hash: &[u8; 32], now_ms: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE sessions SET locked = 0, last_seen_ms = ? WHERE token_hash = ?")
                .bind(now_ms)
                .bind(&token_hash[..])
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends a session (logout).
    pub async fn close_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(&token_hash[..])
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ---- cases ----

    /// Opens a case in `agency`.
    pub async fn open_case(
        &self,
        agency: AgencyId,
        by: UserId,
        title: &Name,
        justification: &Justification,
        now_ms: i64,
    ) -> Result<Case> {
        let row = sqlx::query(
            "INSERT INTO cases (agency_id, title, justification, opened_by, opened_ms)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(agency.0)
        .bind(title.as_str())
        .bind(justification.as_str())
        .bind(by.0)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .map_err(|e| on_conflict(e, String::new))?;
        case_from_row(&row)
    }

    /// A case by id.
    pub async fn case(&self, id: CaseId) -> Result<Case> {
        sqlx::query("SELECT * FROM cases WHERE id = ?")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .map(|r| case_from_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("case {id}")))
    }

    /// An agency's cases, newest first.
    pub async fn list_cases(&self, agency: AgencyId) -> Result<Vec<Case>> {
        sqlx::query("SELECT * FROM cases WHERE agency_id = ? ORDER BY id DESC")
            .bind(agency.0)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(case_from_row)
            .collect()
    }

    /// Closes an open case.
    pub async fn close_case(&self, id: CaseId, by: UserId, now_ms: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE cases SET closed_by = ?, closed_ms = ? WHERE id = ? AND closed_ms IS NULL",
        )
        .bind(by.0)
        .bind(now_ms)
        .bind(id.0)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            self.case(id).await?;
            return Err(StoreError::Refused(format!("case {id} is already closed")));
        }
        Ok(())
    }

    // ---- approvals and releases ----

    /// Asks for a supervisor's approval to release `count` recordings.
    pub async fn request_approval(
        &self,
        requester: UserId,
        agency: AgencyId,
        count: u32,
        reason: &Justification,
        now_ms: i64,
    ) -> Result<Approval> {
        if count == 0 {
            return Err(StoreError::Refused(
                "an approval covers at least one recording".into(),
            ));
        }
        let row = sqlx::query(
            "INSERT INTO approvals (agency_id, requester, count, reason, created_ms, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(agency.0)
        .bind(requester.0)
        .bind(i64::from(count))
        .bind(reason.as_str())
        .bind(now_ms)
        .bind(now_ms + APPROVAL_TTL_MS)
        .fetch_one(self.pool())
        .await
        .map_err(|e| on_conflict(e, String::new))?;
        approval_from_row(&row)
    }

    /// An approval by id.
    pub async fn approval(&self, id: ApprovalId) -> Result<Approval> {
        sqlx::query("SELECT * FROM approvals WHERE id = ?")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .map(|r| approval_from_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))
    }

    /// An agency's approvals, newest first.
    pub async fn list_approvals(&self, agency: AgencyId) -> Result<Vec<Approval>> {
        sqlx::query("SELECT * FROM approvals WHERE agency_id = ? ORDER BY id DESC")
            .bind(agency.0)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(approval_from_row)
            .collect()
    }

    /// A supervisor grants or refuses a pending approval (the two-person
    /// rule is checked here, in the transaction).
    pub async fn decide_approval(
        &self,
        id: ApprovalId,
        approver: Actor,
        grant: bool,
        now_ms: i64,
    ) -> Result<Approval> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT * FROM approvals WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
        let approval = approval_from_row(&row)?;
        check_decision(&approval, approver, now_ms)
            .map_err(|e| StoreError::Refused(e.to_string()))?;
        let row = sqlx::query(
            "UPDATE approvals SET state = ?, decided_by = ?, decided_ms = ? WHERE id = ? RETURNING *",
        )
        .bind(if grant { "granted" } else { "refused" })
        .bind(approver.user.0)
        .bind(now_ms)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        approval_from_row(&row)
    }

    /// Recordings `user` was released in the 24 hours before `now_ms`.
    pub async fn released_recently(&self, user: UserId, now_ms: i64) -> Result<u32> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM releases WHERE user_id = ? AND at_ms > ?")
                .bind(user.0)
                .bind(now_ms - QUOTA_WINDOW_MS)
                .fetch_one(self.pool())
                .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Checks the quota and, if it allows (alone or with `approval`, which
    /// is then used up), records the release of `recordings` to `user`
    /// under `case`, all in one transaction.
    pub async fn release(
        &self,
        user: UserId,
        case: CaseId,
        recordings: &[String],
        policy: QuotaPolicy,
        approval: Option<ApprovalId>,
        now_ms: i64,
    ) -> Result<Release> {
        let count = u32::try_from(recordings.len())
            .map_err(|_| StoreError::Refused("too many recordings".into()))?;
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let released: i64 =
            sqlx::query_scalar("SELECT count(*) FROM releases WHERE user_id = ? AND at_ms > ?")
                .bind(user.0)
                .bind(now_ms - QUOTA_WINDOW_MS)
                .fetch_one(&mut *tx)
                .await?;
        let released = u32::try_from(released).unwrap_or(u32::MAX);
        let used = match (check_release(policy, released, count), approval) {
            (ReleaseCheck::Allowed, _) => None,
            (ReleaseCheck::NeedsApproval(need), None) => return Ok(Release::NeedsApproval(need)),
            (ReleaseCheck::NeedsApproval(_), Some(id)) => {
                let row = sqlx::query("SELECT * FROM approvals WHERE id = ?")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
                let a = approval_from_row(&row)?;
                check_use(&a, user, count, now_ms)
                    .map_err(|e| StoreError::Refused(e.to_string()))?;
                sqlx::query(
                    "UPDATE approvals SET state = 'used' WHERE id = ? AND state = 'granted'",
                )
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                Some(id)
            }
        };
        for recording in recordings {
            sqlx::query(
                "INSERT INTO releases (user_id, recording_id, case_id, approval_id, at_ms)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(user.0)
            .bind(recording)
            .bind(case.0)
            .bind(used.map(|a| a.0))
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_conflict(e, String::new))?;
        }
        tx.commit().await?;
        Ok(Release::Done {
            released_before: released,
            approval: used,
        })
    }

    // ---- the local operator's quota (migration 13) ----

    /// The local operator `operator` (`local:uid-<uid>`) asks a supervisor
    /// of `agency` to release `count` recordings over its quota.
    pub async fn request_local_approval(
        &self,
        operator: &str,
        agency: AgencyId,
        count: u32,
        reason: &Justification,
        now_ms: i64,
    ) -> Result<Approval> {
        if count == 0 {
            return Err(StoreError::Refused(
                "an approval covers at least one recording".into(),
            ));
        }
        let row = sqlx::query(
            "INSERT INTO approvals (agency_id, local_requester, count, reason, created_ms, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(agency.0)
        .bind(operator)
        .bind(i64::from(count))
        .bind(reason.as_str())
        .bind(now_ms)
        .bind(now_ms + APPROVAL_TTL_MS)
        .fetch_one(self.pool())
        .await
        .map_err(|e| match e.as_database_error() {
            Some(d) if d.message().contains("FOREIGN KEY") => {
                StoreError::NotFound(format!("agency {agency}"))
            }
            _ => on_conflict(e, String::new),
        })?;
        approval_from_row(&row)
    }

    /// Like [`Self::release`] for the local operator `operator`: its
    /// releases in the trailing 24 hours (over every agency) are checked
    /// against `policy` (the recordings' agency's), and with `approval` (one
    /// it asked for, granted by a supervisor of `agency`) it may go over.
    /// Counted in the same `releases` table, in one transaction.
    pub async fn release_local(
        &self,
        operator: &str,
        agency: AgencyId,
        recordings: &[String],
        policy: QuotaPolicy,
        approval: Option<ApprovalId>,
        now_ms: i64,
    ) -> Result<Release> {
        let count = u32::try_from(recordings.len())
            .map_err(|_| StoreError::Refused("too many recordings".into()))?;
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let released: i64 =
            sqlx::query_scalar("SELECT count(*) FROM releases WHERE local_user = ? AND at_ms > ?")
                .bind(operator)
                .bind(now_ms - QUOTA_WINDOW_MS)
                .fetch_one(&mut *tx)
                .await?;
        let released = u32::try_from(released).unwrap_or(u32::MAX);
        let used = match (check_release(policy, released, count), approval) {
            (ReleaseCheck::Allowed, _) => None,
            (ReleaseCheck::NeedsApproval(need), None) => return Ok(Release::NeedsApproval(need)),
            (ReleaseCheck::NeedsApproval(_), Some(id)) => {
                let row = sqlx::query("SELECT * FROM approvals WHERE id = ?")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
                let asked_by: Option<String> = row.try_get("local_requester")?;
                if asked_by.as_deref() != Some(operator) {
                    return Err(StoreError::Refused(
                        "the approval was asked for by someone else".into(),
                    ));
                }
                let a = approval_from_row(&row)?;
                if a.agency != agency {
                    return Err(StoreError::Refused(
                        "the approval is for another agency's recordings".into(),
                    ));
                }
                check_use(&a, LOCAL_OPERATOR, count, now_ms)
                    .map_err(|e| StoreError::Refused(e.to_string()))?;
                sqlx::query(
                    "UPDATE approvals SET state = 'used' WHERE id = ? AND state = 'granted'",
                )
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                Some(id)
            }
        };
        for recording in recordings {
            sqlx::query(
                "INSERT INTO releases (local_user, recording_id, approval_id, at_ms)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(operator)
            .bind(recording)
            .bind(used.map(|a| a.0))
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_conflict(e, String::new))?;
        }
        tx.commit().await?;
        Ok(Release::Done {
            released_before: released,
            approval: used,
        })
    }
}
