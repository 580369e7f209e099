//! Console users and their roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::TextError;

/// What a console user may do. The authorisation matrix (a later issue)
/// is written against these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Facility administrator: facilities, stations, people, lists, tariffs.
    Admin,
    /// Searches records and listens within an open case.
    Investigator,
    /// Approves what one person may not do alone.
    Supervisor,
    /// Verifies and reads the access log; never call content.
    Auditor,
    /// Registers and tracks privileged numbers.
    Attorney,
    /// Runs the servers: health and metrics only.
    Operator,
    /// The called party: bound to one prepaid account (its own number) in
    /// one agency; reads that account and its calls' charges, deposits,
    /// closes it, blocks the facility for its number. Never call content.
    Family,
}

impl Role {
    /// Every role, for matrices and listings.
    pub const ALL: [Self; 7] = [
        Self::Admin,
        Self::Investigator,
        Self::Supervisor,
        Self::Auditor,
        Self::Attorney,
        Self::Operator,
        Self::Family,
    ];

    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Investigator => "investigator",
            Self::Supervisor => "supervisor",
            Self::Auditor => "auditor",
            Self::Attorney => "attorney",
            Self::Operator => "operator",
            Self::Family => "family",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?} (admin, investigator, supervisor, auditor, attorney, operator or family)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownRole(s.chars().take(32).collect()))
    }
}

/// A console user name: 1 to 64 of lowercase `a-z 0-9 . _ -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Validates a user name.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let field = "user name";
        let s = input.trim();
        if s.is_empty() {
            return Err(TextError::Empty { field });
        }
        if s.len() > 64 {
            return Err(TextError::TooLong { field, max: 64 });
        }
        let ok = s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if !ok {
            return Err(TextError::Invalid {
                field,
                allowed: "lowercase letters, digits, '.', '_' and '-', starting with a letter",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> Self {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A console user. The password hash is not part of it, so a `User` can be
/// shown or logged without exposing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Row id.
    pub id: crate::ids::UserId,
    /// Unique login name.
    pub username: Username,
    /// What they may do.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn usernames() {
        assert!(Username::parse("investigator").is_ok());
        assert!(Username::parse("j.doe-2").is_ok());
        assert!(Username::parse("2fast").is_err());
        assert!(Username::parse("Admin").is_err());
        assert!(Username::parse("a b").is_err());
    }
}
