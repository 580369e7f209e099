//! Signing in and sessions (CJIS IA-2, AC-7, AC-11), shared by the HTTP
//! API and the CLI. The rules are callward-core's `auth` module; this is
//! the I/O around them: the password hash (argon2id, on a blocking
//! thread), the store's sign-in state and sessions, and the access log,
//! which gets every attempt, whatever its outcome, before it takes effect.
//!
//! # Names the console uses
//!
//! - Session cookie: [`SESSION_COOKIE`] (`callward_session`), `HttpOnly;
//!   SameSite=Strict; Path=/`. API clients may send the same token as
//!   `Authorization: Bearer <token>` instead (no CSRF check then).
//! - CSRF: cookie sessions send [`NewSession::csrf`] (also in `GET
//!   /api/v1/me`) on every unsafe request, in the header [`CSRF_HEADER`]
//!   (`X-CSRF-Token`) or the form field [`CSRF_FIELD`] (`csrf`).
//! - The service: [`Sessions`], on `AppState` as `state.sessions()`.
//! - In handlers: the extractor `SignedIn` (`session.rs`; its [`Identity`] and token),
//!   which refuses a request without a usable session.
//!
//! # Tokens
//!
//! A session token is 32 random bytes as 64 hex digits; the store keeps
//! only its SHA-256. The CSRF token is the SHA-256 of a fixed label and the
//! session token: the server derives it again instead of storing it, and
//! nobody without the session token can compute it.

use std::collections::HashMap;
use std::sync::Arc;

use callward_audit::{Action, Entry, ObjectKind, Source};
use callward_core::auth::login::{MAX_FAILURES, SESSION_MAX_MS, recent_failures};
use callward_core::auth::totp::{self, SECRET_LEN};
use callward_core::auth::{
    Actor, Attempt, LoginOutcome as Decision, SessionState, TotpSecret, decide_login, requires_totp,
};
use callward_core::{AgencyId, CaseId, User, UserId};
use callward_store::{SqliteStore, StoreError};
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;

use crate::access_log::{AccessLog, LogError};
use crate::password::PasswordError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "callward_session";
/// The header a cookie session's unsafe requests carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a cookie session's form posts carry the CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// How long a TOTP enrolment may take, from the password to the first code.
pub const ENROLMENT_TTL_MS: i64 = 10 * 60 * 1000;
/// Enrolments in progress held at once (memory bound).
pub const MAX_PENDING_ENROLMENTS: usize = 1024;
/// Wrong first codes before an enrolment is dropped.
const ENROLMENT_TRIES: u32 = 5;
/// The issuer authenticator apps show.
const ISSUER: &str = "callward";

/// The access log, shared by every request (appends are one at a time).
pub type SharedLog = Arc<Mutex<AccessLog>>;

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A signed-in person: the account and its agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The account.
    pub user: User,
    /// The agency the account belongs to.
    pub agency: AgencyId,
}

impl Identity {
    /// The person as the access rules see them.
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.user.id,
            role: self.user.role,
            agency: self.agency,
        }
    }

    /// An access-log entry for something this person did, from `source`.
    pub fn entry(
        &self,
        action: Action,
        object_kind: ObjectKind,
        object_id: &str,
        case: Option<CaseId>,
        justification: &str,
        source: Source,
    ) -> Entry {
        Entry {
            user: self.user.username.as_str().to_owned(),
            role: self.user.role.as_str().to_owned(),
            agency: self.agency.to_string(),
            action,
            object_kind,
            object_id: object_id.to_owned(),
            case_id: case.map(|c| c.to_string()).unwrap_or_default(),
            justification: justification.to_owned(),
            time: crate::access_log::now(),
            source,
        }
    }
}

/// An entry for a sign-in attempt that may name no known account.
fn attempt_entry(
    user: &str,
    role: &str,
    agency: &str,
    action: Action,
    justification: &str,
    source: Source,
) -> Entry {
    Entry {
        user: user.chars().take(64).collect(),
        role: role.to_owned(),
        agency: agency.to_owned(),
        action,
        object_kind: ObjectKind::None,
        object_id: String::new(),
        case_id: String::new(),
        justification: justification.to_owned(),
        time: crate::access_log::now(),
        source,
    }
}

/// Why a sign-in did not succeed. The `Display` text is what a person may
/// be told: the same vague words for a wrong name, password or code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// Wrong user name, password or code (or a code used before).
    #[error("sign-in refused: wrong user name, password or code")]
    Refused,
    /// This failure locked the account.
    #[error(
        "sign-in refused: wrong user name, password or code; the account is now locked until an administrator unlocks it"
    )]
    LockedNow,
    /// The account was already locked; nothing was checked.
    #[error("sign-in refused: the account is locked; an administrator must unlock it")]
    Locked,
    /// The enrolment token is unknown, expired or used up.
    #[error("sign-in refused: the enrolment has expired; sign in again")]
    EnrolmentExpired,
    /// Too many enrolments in progress at once.
    #[error("too many sign-ins in progress; try again in a few minutes")]
    Busy,
    /// The access log could not be written: nothing happened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The store failed.
    #[error("cannot read or write sign-in state")]
    Store(#[from] StoreError),
    /// The password hash could not be checked.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// No randomness, or a blocking task failed.
    #[error("sign-in failed inside the server: {0}")]
    Internal(String),
}

impl SignInError {
    /// Whether the person did something wrong (4xx), rather than the server.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::Refused | Self::LockedNow | Self::Locked | Self::EnrolmentExpired | Self::Busy
        )
    }
}

/// What a correct password (and code, where one is enrolled) came to.
#[derive(Debug)]
#[non_exhaustive]
pub enum Checked {
    /// Signed in (logged as `login`).
    SignedIn(Identity),
    /// The password was right, but the role needs TOTP and none is
    /// enrolled (nothing logged yet: the caller decides what follows).
    EnrolmentRequired(Identity),
}

/// Checks a password off the async threads.
async fn verify_password(password: &str, phc: &str) -> Result<bool, SignInError> {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || crate::password::verify(&password, &phc))
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?
        .map_err(SignInError::from)
}

/// Checks `username`'s password and TOTP code under the login policy
/// (lockout after [`MAX_FAILURES`] in 15 minutes, one use per code), records
/// the outcome in the store and appends it to the log. The CLI's
/// `session login` and the API's `POST /api/v1/sessions` both come here.
pub async fn check_credentials(
    store: &SqliteStore,
    log: &mut AccessLog,
    username: &str,
    password: &str,
    code: Option<&str>,
    source: &Source,
    now_ms: i64,
) -> Result<Checked, SignInError> {
    let failed = |user: &str, role: &str, agency: &str, why: &str| {
        attempt_entry(user, role, agency, Action::LoginFailed, why, source.clone())
    };
    let Some(account) = store.user_account(username, now_ms).await? else {
        log.record(&failed(username, "", "", "unknown user"))
            .await?;
        return Err(SignInError::Refused);
    };
    let identity = Identity {
        user: account.user.clone(),
        agency: account.agency,
    };
    let (name, role, agency) = (
        identity.user.username.as_str(),
        identity.user.role.as_str(),
        identity.agency.to_string(),
    );
    // A locked account is not even checked (nothing learned by guessing).
    let password_ok =
        !account.login.locked && verify_password(password, &account.password_hash).await?;
    let outcome = decide_login(
        &account.login,
        Attempt {
            role: identity.user.role,
            password_ok,
            totp_code: code,
            now_ms,
        },
    );
    match outcome {
        Decision::Success { totp_step } => {
            match store
                .record_login_success(identity.user.id, totp_step)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Refused(_)) => {
                    log.record(&failed(name, role, &agency, "replayed TOTP code"))
                        .await?;
                    return Err(SignInError::Refused);
                }
                Err(e) => return Err(e.into()),
            }
            log.record(&identity.entry(
                Action::Login,
                ObjectKind::None,
                "",
                None,
                "",
                source.clone(),
            ))
            .await?;
            tracing::info!(user = %identity.user.username, role = %identity.user.role, "signed in");
            Ok(Checked::SignedIn(identity))
        }
        Decision::EnrolmentRequired => Ok(Checked::EnrolmentRequired(identity)),
        Decision::Failed { reason, locks } => {
            store
                .record_login_failure(identity.user.id, locks, now_ms)
                .await?;
            log.record(&failed(name, role, &agency, reason.as_str()))
                .await?;
            if locks {
                log.record(&Entry {
                    object_kind: ObjectKind::User,
                    object_id: name.to_owned(),
                    ..attempt_entry(
                        name,
                        role,
                        &agency,
                        Action::Alert,
                        "account locked: 5 failed sign-ins in 15 minutes",
                        source.clone(),
                    )
                })
                .await?;
                tracing::warn!(user = %name, "account locked after failed sign-ins");
                return Err(SignInError::LockedNow);
            }
            Err(SignInError::Refused)
        }
        Decision::Locked => {
            log.record(&failed(name, role, &agency, "account locked"))
                .await?;
            Err(SignInError::Locked)
        }
        _ => Err(SignInError::Refused),
    }
}

/// A session token as given to the client. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken([u8; 32]);

impl SessionToken {
    fn random() -> Result<Self, SignInError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SignInError::Internal(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Parses what a client sent: 64 hex digits, else `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            *byte = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Self(out))
    }

    /// The token's text, to give to the client once (cookie or JSON).
    pub fn expose(&self) -> String {
        hex(&self.0)
    }

    /// What the store keeps.
    fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }

    /// The CSRF token that goes with this session.
    pub fn csrf(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"callward csrf v1\0");
        h.update(self.0);
        hex(&h.finalize())
    }

    /// Whether `given` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let expected = self.csrf();
        expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A session just opened.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The token, to hand to the client once.
    pub token: SessionToken,
    /// The CSRF token cookie sessions send with unsafe requests.
    pub csrf: String,
    /// Who signed in.
    pub identity: Identity,
    /// When the session ends whatever happens (ms since the epoch).
    pub expires_ms: i64,
}

/// A TOTP enrolment in progress: the password was right, the role needs a
/// second factor, and none was enrolled.
#[derive(Clone)]
pub struct Enrolment {
    /// One-time token for [`Sessions::confirm_enrolment`].
    pub token: String,
    /// The `otpauth://` URI to add to an authenticator app (shown once).
    pub otpauth_uri: String,
    /// Who is enrolling.
    pub identity: Identity,
    /// When the enrolment lapses (ms since the epoch).
    pub expires_ms: i64,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("identity", &self.identity)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

/// What a correct password leads to.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Signed in.
    Session(NewSession),
    /// Enrol a TOTP secret first ([`Sessions::confirm_enrolment`]).
    EnrolmentRequired(Enrolment),
}

/// A request's session, checked.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who.
    pub identity: Identity,
    /// The session's token (for its CSRF token and logout).
    pub token: SessionToken,
}

/// Why a session token does not authenticate a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown, malformed or signed out.
    #[error("not signed in")]
    Unknown,
    /// Idle for 30 minutes: locked until the password is given again.
    #[error("the session is locked after 30 minutes idle; give the password again")]
    IdleLocked,
    /// Past its 12-hour lifetime.
    #[error("the session has expired; sign in again")]
    Expired,
    /// The account was locked since.
    #[error("the account is locked; an administrator must unlock it")]
    AccountLocked,
    /// The store failed.
    #[error("cannot read sessions")]
    Store(#[from] StoreError),
}

struct Pending {
    identity: Identity,
    secret: TotpSecret,
    expires_ms: i64,
    tries: u32,
}

/// The sign-in service: sessions over the store, every step logged.
pub struct Sessions {
    store: SqliteStore,
    log: SharedLog,
    /// Enrolments in progress, by the SHA-256 of their token. In memory:
    /// a restart only means signing in again.
    enrolments: std::sync::Mutex<HashMap<[u8; 32], Pending>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// The service over `store`, logging to `log`.
    pub fn new(store: SqliteStore, log: SharedLog) -> Self {
        Self {
            store,
            log,
            enrolments: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// The access log.
    pub fn log(&self) -> &SharedLog {
        &self.log
    }

    /// Signs `username` in with a password and, once enrolled, a TOTP code.
    /// A role that needs TOTP and has none enrols first (the demo users'
    /// first sign-in).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        from: Source,
        now_ms: i64,
    ) -> Result<LoginOutcome, SignInError> {
        let mut log = self.log.lock().await;
        let checked = check_credentials(
            &self.store,
            &mut log,
            username,
            password,
            code,
            &from,
            now_ms,
        )
        .await?;
        match checked {
            Checked::SignedIn(identity) => {
                drop(log);
                Ok(LoginOutcome::Session(self.open(identity, now_ms).await?))
            }
            Checked::EnrolmentRequired(identity) => {
                log.record(&identity.entry(
                    Action::LoginFailed,
                    ObjectKind::None,
                    "",
                    None,
                    "password right; TOTP enrolment started",
                    from,
                ))
                .await?;
                drop(log);
                self.start_enrolment(identity, now_ms)
                    .map(LoginOutcome::EnrolmentRequired)
            }
        }
    }

    fn start_enrolment(&self, identity: Identity, now_ms: i64) -> Result<Enrolment, SignInError> {
        let mut bytes = vec![0u8; SECRET_LEN];
        getrandom::fill(&mut bytes).map_err(|e| SignInError::Internal(e.to_string()))?;
        let secret = TotpSecret::new(bytes).map_err(|e| SignInError::Internal(e.to_string()))?;
        let token = SessionToken::random()?;
        let expires_ms = now_ms.saturating_add(ENROLMENT_TTL_MS);
        let uri = secret.otpauth_uri(ISSUER, identity.user.username.as_str());
        let mut pending = self.pending();
        pending.retain(|_, p| p.expires_ms > now_ms && p.identity.user.id != identity.user.id);
        if pending.len() >= MAX_PENDING_ENROLMENTS {
            return Err(SignInError::Busy);
        }
        pending.insert(
            token.hash(),
            Pending {
                identity: identity.clone(),
                secret,
                expires_ms,
                tries: 0,
            },
        );
        Ok(Enrolment {
            token: token.expose(),
            otpauth_uri: uri,
            identity,
            expires_ms,
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Pending>> {
        // A panic while holding it cannot leave the map half-changed.
        self.enrolments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Finishes a TOTP enrolment with the first code from the app: the
    /// secret is stored, that code's step used up, and a session opened.
    pub async fn confirm_enrolment(
        &self,
        enrolment_token: &str,
        code: &str,
        from: Source,
        now_ms: i64,
    ) -> Result<NewSession, SignInError> {
        let key = SessionToken::parse(enrolment_token)
            .ok_or(SignInError::EnrolmentExpired)?
            .hash();
        let (identity, secret) = {
            let mut pending = self.pending();
            let Some(p) = pending.get_mut(&key) else {
                return Err(SignInError::EnrolmentExpired);
            };
            if p.expires_ms <= now_ms || p.tries >= ENROLMENT_TRIES {
                pending.remove(&key);
                return Err(SignInError::EnrolmentExpired);
            }
            p.tries += 1;
            (p.identity.clone(), p.secret.clone())
        };
        let unix_secs = u64::try_from(now_ms / 1000).unwrap_or(0);
        let mut log = self.log.lock().await;
        let Ok(step) = totp::verify(&secret, code, unix_secs, None) else {
            log.record(&identity.entry(
                Action::LoginFailed,
                ObjectKind::None,
                "",
                None,
                "wrong TOTP code at enrolment",
                from.clone(),
            ))
            .await?;
            self.count_failure(&mut log, &identity, from, now_ms)
                .await?;
            return Err(SignInError::Refused);
        };
        log.record(&identity.entry(
            Action::KeyChange,
            ObjectKind::User,
            identity.user.username.as_str(),
            None,
            "TOTP enrolled at first sign-in",
            from.clone(),
        ))
        .await?;
        if !self
            .store
            .enrol_totp(identity.user.id, &secret, step)
            .await?
        {
            self.pending().remove(&key);
            return Err(SignInError::EnrolmentExpired);
        }
        self.pending().remove(&key);
        log.record(&identity.entry(Action::Login, ObjectKind::None, "", None, "", from))
            .await?;
        drop(log);
        tracing::info!(user = %identity.user.username, "TOTP enrolled; signed in");
        self.open(identity, now_ms).await
    }

    /// Records a failed attempt against the account (lockout counts it).
    async fn count_failure(
        &self,
        log: &mut AccessLog,
        identity: &Identity,
        from: Source,
        now_ms: i64,
    ) -> Result<(), SignInError> {
        let account = self
            .store
            .user_account(identity.user.username.as_str(), now_ms)
            .await?;
        let recent = account.map_or(0, |a| recent_failures(&a.login.failures_ms, now_ms));
        let locks = recent + 1 >= MAX_FAILURES;
        self.store
            .record_login_failure(identity.user.id, locks, now_ms)
            .await?;
        if locks {
            log.record(&identity.entry(
                Action::Alert,
                ObjectKind::User,
                identity.user.username.as_str(),
                None,
                "account locked: 5 failed sign-ins in 15 minutes",
                from,
            ))
            .await?;
            return Err(SignInError::LockedNow);
        }
        Ok(())
    }

    async fn open(&self, identity: Identity, now_ms: i64) -> Result<NewSession, SignInError> {
        let token = SessionToken::random()?;
        self.store
            .open_session(&token.hash(), identity.user.id, now_ms)
            .await?;
        Ok(NewSession {
            csrf: token.csrf(),
            token,
            identity,
            expires_ms: now_ms.saturating_add(SESSION_MAX_MS),
        })
    }

    /// The session `token` names, for a request at `now_ms`: an active one
    /// is extended; one idle 30 minutes is locked until [`Self::unlock`];
    /// one past 12 hours is gone.
    pub async fn authenticate(
        &self,
        token: &SessionToken,
        now_ms: i64,
    ) -> Result<Authenticated, AuthError> {
        let Some((user, state)) = self.store.use_session(&token.hash(), now_ms).await? else {
            return Err(AuthError::Unknown);
        };
        match state {
            SessionState::Active => {}
            SessionState::IdleLocked => return Err(AuthError::IdleLocked),
            SessionState::Expired => return Err(AuthError::Expired),
            _ => return Err(AuthError::Unknown),
        }
        self.identity(user, token).await
    }

    async fn identity(
        &self,
        user: UserId,
        token: &SessionToken,
    ) -> Result<Authenticated, AuthError> {
        let Some(account) = self.store.account_summary(user).await? else {
            return Err(AuthError::Unknown);
        };
        if account.locked {
            return Err(AuthError::AccountLocked);
        }
        // A role that needs TOTP whose secret an administrator removed
        // signs in again (and enrols).
        if requires_totp(account.user.role) && !account.totp_enrolled {
            return Err(AuthError::Unknown);
        }
        Ok(Authenticated {
            identity: Identity {
                user: account.user,
                agency: account.agency,
            },
            token: token.clone(),
        })
    }

    /// Unlocks an idle-locked session with the account's password (a wrong
    /// one counts towards the lockout).
    pub async fn unlock(
        &self,
        token: &SessionToken,
        password: &str,
        from: Source,
        now_ms: i64,
    ) -> Result<Authenticated, SignInError> {
        let Some((user, state)) = self.store.use_session(&token.hash(), now_ms).await? else {
            return Err(SignInError::Refused);
        };
        if state == SessionState::Expired {
            return Err(SignInError::Refused);
        }
        let authed = match self.identity(user, token).await {
            Ok(a) => a,
            Err(AuthError::AccountLocked) => return Err(SignInError::Locked),
            Err(AuthError::Store(e)) => return Err(e.into()),
            Err(_) => return Err(SignInError::Refused),
        };
        let identity = &authed.identity;
        let account = self
            .store
            .user_account(identity.user.username.as_str(), now_ms)
            .await?
            .ok_or(SignInError::Refused)?;
        let mut log = self.log.lock().await;
        if !verify_password(password, &account.password_hash).await? {
            log.record(&identity.entry(
                Action::LoginFailed,
                ObjectKind::None,
                "",
                None,
                "wrong password to unlock an idle session",
                from.clone(),
            ))
            .await?;
            self.count_failure(&mut log, identity, from, now_ms).await?;
            return Err(SignInError::Refused);
        }
        log.record(&identity.entry(
            Action::Login,
            ObjectKind::None,
            "",
            None,
            "idle session unlocked",
            from,
        ))
        .await?;
        drop(log);
        self.store.unlock_session(&token.hash(), now_ms).await?;
        Ok(authed)
    }

    /// Ends the session (logout). Unknown tokens are ignored.
    pub async fn logout(&self, token: &SessionToken) -> Result<(), StoreError> {
        self.store.close_session(&token.hash()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_hash_and_derive_csrf() {
        let t = SessionToken::random().unwrap();
        let text = t.expose();
        assert_eq!(text.len(), 64);
        assert_eq!(SessionToken::parse(&text), Some(t.clone()));
        assert_eq!(SessionToken::parse(&text.to_uppercase()), Some(t.clone()));
        assert_eq!(SessionToken::parse(&text[1..]), None);
        assert_eq!(SessionToken::parse(&format!("{}zz", &text[2..])), None);
        assert!(SessionToken::parse("é".repeat(32).as_str()).is_none());
        assert!(t.csrf_matches(&t.csrf()));
        assert!(!t.csrf_matches(&SessionToken::random().unwrap().csrf()));
        assert!(!t.csrf_matches(""));
        assert_ne!(t.csrf(), text);
        assert_eq!(format!("{t:?}"), "SessionToken(<redacted>)");
    }
}
