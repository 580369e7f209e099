//! Validated short text fields typed by administrators.

use serde::{Deserialize, Serialize};

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Empty after trimming.
    #[error("{field} must not be empty")]
    Empty {
        /// The field's name.
        field: &'static str,
    },
    /// Longer than allowed.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// Holds a character the field does not allow.
    #[error("{field} may contain only {allowed}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// What is allowed, in words.
        allowed: &'static str,
    },
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    /// Validates a name for the given field.
    pub fn parse_field(field: &'static str, input: &str) -> Result<Self, TextError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(TextError::Empty { field });
        }
        if s.chars().count() > 200 {
            return Err(TextError::TooLong { field, max: 200 });
        }
        if s.chars().any(char::is_control) {
            return Err(TextError::Invalid {
                field,
                allowed: "printable characters",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse_field("name", &s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An identifier typed by people and used by machines: a booking id, a
/// station id (the SIP From user). 1 to 64 of `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Code(String);

impl Code {
    /// Validates a code for the given field.
    pub fn parse_field(field: &'static str, input: &str) -> Result<Self, TextError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(TextError::Empty { field });
        }
        if s.len() > 64 {
            return Err(TextError::TooLong { field, max: 64 });
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(TextError::Invalid {
                field,
                allowed: "letters, digits, '-', '_' and '.'",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Code {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse_field("code", &s)
    }
}

impl From<Code> for String {
    fn from(c: Code) -> Self {
        c.0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            Name::parse_field("name", "  Ann Lee ").unwrap().as_str(),
            "Ann Lee"
        );
        assert_eq!(
            Name::parse_field("name", " "),
            Err(TextError::Empty { field: "name" })
        );
        assert!(Name::parse_field("name", "a\nb").is_err());
        assert!(Name::parse_field("name", &"x".repeat(201)).is_err());
    }

    #[test]
    fn codes() {
        assert!(Code::parse_field("station id", "station-101").is_ok());
        assert!(Code::parse_field("station id", "bad id").is_err());
        assert!(Code::parse_field("station id", "a@b").is_err());
        assert!(Code::parse_field("station id", &"a".repeat(65)).is_err());
    }
}
