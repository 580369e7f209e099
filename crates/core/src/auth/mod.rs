//! People and sessions, authorisation, quotas and the two-person rule
//! (issue 7, items 4 and 5), as pure decisions the store, the CLI and the
//! web console all call. Time comes in as milliseconds since the epoch;
//! passwords are checked by the caller (argon2id), randomness drawn by the
//! caller. Rules: `docs/access-control.md`.

pub mod access;
pub mod login;
pub mod quota;
pub mod totp;

pub use access::{
    Access, AccessRequest, CaseStatus, Denied, Justification, Operation, decide, decide_account,
};
pub use login::{
    Attempt, FailReason, LoginOutcome, LoginState, Session, SessionState, decide_login,
    requires_totp,
};
pub use quota::{
    Actor, Approval, ApprovalError, ApprovalNeed, ApprovalState, QuotaPolicy, ReleaseCheck,
    check_decision, check_release, check_use,
};
pub use totp::{TotpError, TotpSecret};

/// A password as typed, checked at the edge: 8 to 128 characters, not the
/// user name. Never shown (`Debug` redacts it).
pub struct NewPassword(String);

impl NewPassword {
    /// Validates a new password for `username`.
    pub fn parse(input: &str, username: &str) -> Result<Self, crate::text::TextError> {
        let field = "password";
        let n = input.chars().count();
        if n < 8 {
            return Err(crate::text::TextError::Invalid {
                field,
                allowed: "at least 8 characters",
            });
        }
        if n > 128 {
            return Err(crate::text::TextError::TooLong { field, max: 128 });
        }
        if input.eq_ignore_ascii_case(username) || input.chars().any(char::is_control) {
            return Err(crate::text::TextError::Invalid {
                field,
                allowed: "not the user name, no control characters",
            });
        }
        Ok(Self(input.to_owned()))
    }

    /// The text, to hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short", "bob").is_err());
        assert!(NewPassword::parse("investigator", "investigator").is_err());
        assert!(NewPassword::parse("correct horse", "bob").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129), "bob").is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("correct horse", "bob").unwrap()),
            "NewPassword(<redacted>)"
        );
    }
}
