//! Signing in (CJIS IA-2, AC-7) and sessions (AC-11), as pure decisions.
//!
//! The caller checks the password (argon2id is slow and lives in the
//! binary), reads the user's [`LoginState`], calls [`decide_login`] with the
//! time, stores what the outcome says, and logs it. Sessions: [`Session`]
//! with [`Session::check`]; a session idle for 30 minutes is locked, not
//! extended, and needs the password again.

use crate::Role;

use super::totp::{self, TotpError, TotpSecret};

/// Failed sign-ins that lock an account.
pub const MAX_FAILURES: usize = 5;
/// The window they are counted in, in milliseconds (15 minutes).
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// A session's absolute lifetime (12 hours).
pub const SESSION_MAX_MS: i64 = 12 * 60 * 60 * 1000;
/// Idle time after which a session locks (30 minutes).
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;

/// Whether a role must give a second factor (CJIS IA-2: every role that
/// can reach criminal-justice information or administer the system).
pub fn requires_totp(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Investigator | Role::Supervisor | Role::Auditor
    )
}

/// What the store knows about a user's sign-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginState {
    /// Times of failed attempts (ms since the epoch); older ones may be left out.
    pub failures_ms: Vec<i64>,
    /// Locked (by failures) until an administrator unlocks it.
    pub locked: bool,
    /// The TOTP secret, if enrolled.
    pub totp: Option<TotpSecret>,
    /// The step of the last TOTP code accepted.
    pub last_totp_step: Option<u64>,
}

/// What was presented.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The user's role.
    pub role: Role,
    /// Whether the password matched its argon2id hash.
    pub password_ok: bool,
    /// The TOTP code typed, if any.
    pub totp_code: Option<&'a str>,
    /// Now, in ms since the epoch.
    pub now_ms: i64,
}

/// The decision, and what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Signed in; store `totp_step` (if any) as the last used step and
    /// clear the failures.
    Success {
        /// The TOTP step accepted.
        totp_step: Option<u64>,
    },
    /// The password was right but the role needs TOTP and none is
    /// enrolled: enrol before anything else. Not a failure.
    EnrolmentRequired,
    /// Refused; record a failure at `now`. `locks` says this failure locks
    /// the account.
    Failed {
        /// Why (for the log and the user: the same vague text either way).
        reason: FailReason,
        /// This failure is the one that locks the account.
        locks: bool,
    },
    /// The account is locked; nothing is checked, nothing recorded but the log entry.
    Locked,
}

/// Why a sign-in failed (logged; the user is told only "wrong password or code").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// Wrong password.
    Password,
    /// The role needs a code and none was given.
    TotpMissing,
    /// A code of the wrong form or value.
    TotpWrong,
    /// A code already used.
    TotpReplayed,
}

impl FailReason {
    /// A short stable name, for logs and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "wrong password",
            Self::TotpMissing => "no TOTP code",
            Self::TotpWrong => "wrong TOTP code",
            Self::TotpReplayed => "replayed TOTP code",
        }
    }
}

/// Failures within the window ending at `now_ms`.
pub fn recent_failures(failures_ms: &[i64], now_ms: i64) -> usize {
    failures_ms
        .iter()
        .filter(|&&t| t <= now_ms && now_ms - t < FAILURE_WINDOW_MS)
        .count()
}

/// Decides a sign-in. A locked account is refused before anything is
/// checked, so guessing on it learns nothing.
pub fn decide_login(state: &LoginState, attempt: Attempt<'_>) -> LoginOutcome {
    if state.locked {
        return LoginOutcome::Locked;
    }
    let fail = |reason| LoginOutcome::Failed {
        reason,
        locks: recent_failures(&state.failures_ms, attempt.now_ms) + 1 >= MAX_FAILURES,
    };
    if !attempt.password_ok {
        return fail(FailReason::Password);
    }
    let secret = match (&state.totp, requires_totp(attempt.role)) {
        (Some(secret), _) => secret,
        (None, true) => return LoginOutcome::EnrolmentRequired,
        (None, false) => return LoginOutcome::Success { totp_step: None },
    };
    let Some(code) = attempt.totp_code else {
        return fail(FailReason::TotpMissing);
    };
    let unix_secs = u64::try_from(attempt.now_ms / 1000).unwrap_or(0);
    match totp::verify(secret, code, unix_secs, state.last_totp_step) {
        Ok(step) => LoginOutcome::Success {
            totp_step: Some(step),
        },
        Err(TotpError::Replayed) => fail(FailReason::TotpReplayed),
        Err(_) => fail(FailReason::TotpWrong),
    }
}

/// A signed-in session, as stored (the token itself is stored only as its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// When it was opened (ms).
    pub created_ms: i64,
    /// The last request it made (ms).
    pub last_seen_ms: i64,
    /// Locked for idleness: the password is needed again.
    pub locked: bool,
}

/// A session's state at a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Usable: store `now` as its last request.
    Active,
    /// Idle too long, or locked before: ask for the password; do not extend.
    IdleLocked,
    /// Past its absolute lifetime: sign in again.
    Expired,
}

impl Session {
    /// A session opened at `now_ms`.
    pub fn open(now_ms: i64) -> Self {
        Self {
            created_ms: now_ms,
            last_seen_ms: now_ms,
            locked: false,
        }
    }

    /// The session's state for a request at `now_ms`.
    pub fn check(&self, now_ms: i64) -> SessionState {
        if now_ms.saturating_sub(self.created_ms) >= SESSION_MAX_MS || now_ms < self.created_ms {
            SessionState::Expired
        } else if self.locked || now_ms.saturating_sub(self.last_seen_ms) >= SESSION_IDLE_MS {
            SessionState::IdleLocked
        } else {
            SessionState::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn enrolled() -> LoginState {
        LoginState {
            totp: Some(TotpSecret::new(b"12345678901234567890".to_vec()).unwrap()),
            ..LoginState::default()
        }
    }

    fn code(state: &LoginState, now_ms: i64) -> String {
        totp::code_at(state.totp.as_ref().unwrap(), (now_ms / 1000) as u64)
    }

    #[test]
    fn totp_roles() {
        assert!(requires_totp(Role::Admin));
        assert!(requires_totp(Role::Investigator));
        assert!(requires_totp(Role::Supervisor));
        assert!(requires_totp(Role::Auditor));
        assert!(!requires_totp(Role::Attorney));
        assert!(!requires_totp(Role::Operator));
    }

    #[test]
    fn fifth_failure_in_fifteen_minutes_locks() {
        let mut state = enrolled();
        for i in 0..5 {
            let now = T0 + i * 60_000;
            let out = decide_login(
                &state,
                Attempt {
                    role: Role::Investigator,
                    password_ok: false,
                    totp_code: None,
                    now_ms: now,
                },
            );
            assert_eq!(
                out,
                LoginOutcome::Failed {
                    reason: FailReason::Password,
                    locks: i == 4
                }
            );
            state.failures_ms.push(now);
        }
        state.locked = true;
        // Locked: even the right password and code are refused.
        let now = T0 + 10 * 60_000;
        let c = code(&state, now);
        let out = decide_login(
            &state,
            Attempt {
                role: Role::Investigator,
                password_ok: true,
                totp_code: Some(&c),
                now_ms: now,
            },
        );
        assert_eq!(out, LoginOutcome::Locked);
    }

    #[test]
    fn old_failures_do_not_count() {
        let state = LoginState {
            failures_ms: vec![T0, T0 + 1, T0 + 2, T0 + 3],
            ..LoginState::default()
        };
        let at = |now_ms| {
            decide_login(
                &state,
                Attempt {
                    role: Role::Attorney,
                    password_ok: false,
                    totp_code: None,
                    now_ms,
                },
            )
        };
        assert!(matches!(
            at(T0 + 60_000),
            LoginOutcome::Failed { locks: true, .. }
        ));
        assert!(matches!(
            at(T0 + FAILURE_WINDOW_MS + 1),
            LoginOutcome::Failed { locks: false, .. }
        ));
    }

    #[test]
    fn totp_required_replay_refused_attorney_without() {
        let mut state = enrolled();
        let attempt = |s: &LoginState, code: Option<&str>| {
            decide_login(
                s,
                Attempt {
                    role: Role::Supervisor,
                    password_ok: true,
                    totp_code: code,
                    now_ms: T0,
                },
            )
        };
        assert!(matches!(
            attempt(&state, None),
            LoginOutcome::Failed {
                reason: FailReason::TotpMissing,
                ..
            }
        ));
        assert!(matches!(
            attempt(&state, Some("000000")),
            LoginOutcome::Failed {
                reason: FailReason::TotpWrong | FailReason::TotpReplayed,
                ..
            }
        ));
        let c = code(&state, T0);
        let LoginOutcome::Success {
            totp_step: Some(step),
        } = attempt(&state, Some(&c))
        else {
            panic!("right code refused")
        };
        state.last_totp_step = Some(step);
        assert_eq!(
            attempt(&state, Some(&c)),
            LoginOutcome::Failed {
                reason: FailReason::TotpReplayed,
                locks: false
            }
        );
        // Not enrolled: enrol first.
        assert_eq!(
            attempt(&LoginState::default(), None),
            LoginOutcome::EnrolmentRequired
        );
        // An attorney needs no code.
        let out = decide_login(
            &LoginState::default(),
            Attempt {
                role: Role::Attorney,
                password_ok: true,
                totp_code: None,
                now_ms: T0,
            },
        );
        assert_eq!(out, LoginOutcome::Success { totp_step: None });
    }

    #[test]
    fn sessions_lock_when_idle_and_expire() {
        let mut s = Session::open(T0);
        assert_eq!(s.check(T0 + SESSION_IDLE_MS - 1), SessionState::Active);
        s.last_seen_ms = T0 + SESSION_IDLE_MS - 1;
        assert_eq!(s.check(T0 + 2 * SESSION_IDLE_MS - 2), SessionState::Active);
        assert_eq!(s.check(T0 + 2 * SESSION_IDLE_MS), SessionState::IdleLocked);
        // Locked stays locked even if a request comes soon after.
        s.locked = true;
        assert_eq!(s.check(T0 + SESSION_IDLE_MS), SessionState::IdleLocked);
        s.locked = false;
        s.last_seen_ms = T0 + SESSION_MAX_MS - 1;
        assert_eq!(s.check(T0 + SESSION_MAX_MS), SessionState::Expired);
        assert_eq!(s.check(T0 - 1), SessionState::Expired);
    }
}
