//! Telephone numbers in E.164 form, parsed from what people type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A telephone number in E.164 form (`+` then 8 to 15 digits, no leading 0).
///
/// Built only through [`E164Number::parse`], so every value held is valid.
/// `Debug` shows a masked form so a number never reaches a log by accident;
/// use [`E164Number::as_str`] where the full number is really meant.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164Number(String);

/// Why a typed number was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// Nothing but separators was given.
    #[error("the number is empty")]
    Empty,
    /// A character other than digits, spaces, `-`, `.`, `(`, `)` or a leading `+`.
    #[error("the number contains {0:?}, which is not a digit or separator")]
    InvalidCharacter(char),
    /// `+` somewhere other than the start.
    #[error("'+' may only begin the number")]
    MisplacedPlus,
    /// Without `+`, a number must be 10 digits (NANP) or 1 and 10 digits.
    #[error("a number without '+' must have 10 digits, or 11 starting with 1 (it has {0})")]
    NotNanp(usize),
    /// NANP area codes start with 2 to 9.
    #[error("the area code must not start with 0 or 1")]
    InvalidAreaCode,
    /// E.164 allows at most 15 digits and at least 8 here.
    #[error("an international number must have 8 to 15 digits (it has {0})")]
    BadLength(usize),
    /// Country codes never start with 0.
    #[error("a country code cannot start with 0")]
    LeadingZero,
}

impl E164Number {
    /// Parses a number as people write it: `555-123-0001`, `(555) 123-0001`,
    /// `1 555 123 0001`, `+15551230001`. Numbers without `+` are read as
    /// North American (country code 1).
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                '+' => return Err(NumberError::MisplacedPlus),
                other => return Err(NumberError::InvalidCharacter(other)),
            }
            // Bound the work on absurd input before it grows a large buffer.
            if digits.len() > 15 {
                return Err(if plus {
                    NumberError::BadLength(digits.len())
                } else {
                    NumberError::NotNanp(digits.len())
                });
            }
        }
        if digits.is_empty() {
            return Err(NumberError::Empty);
        }
        let national = if plus {
            if digits.starts_with('0') {
                return Err(NumberError::LeadingZero);
            }
            if !(8..=15).contains(&digits.len()) {
                return Err(NumberError::BadLength(digits.len()));
            }
            if let Some(nanp) = digits.strip_prefix('1') {
                // +1 numbers are NANP: exactly ten digits follow.
                if nanp.len() != 10 {
                    return Err(NumberError::NotNanp(digits.len()));
                }
            }
            digits
        } else {
            let ten = match digits.len() {
                10 => digits.as_str(),
                11 if digits.starts_with('1') => &digits[1..],
                n => return Err(NumberError::NotNanp(n)),
            };
            format!("1{ten}")
        };
        if let Some(nanp) = national.strip_prefix('1')
            && matches!(nanp.as_bytes().first(), Some(b'0' | b'1'))
        {
            return Err(NumberError::InvalidAreaCode);
        }
        Ok(Self(format!("+{national}")))
    }

    /// The full number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// A form safe for logs and for readers who may not see the number:
    /// the country code 1 (if NANP) and the last four digits.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let tail = &digits[digits.len() - 4..];
        let hidden = digits.len() - 4;
        if let Some(rest) = digits.strip_prefix('1') {
            format!("+1{}{tail}", "*".repeat(rest.len() - 4))
        } else {
            format!("+{}{tail}", "*".repeat(hidden))
        }
    }
}

impl fmt::Debug for E164Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164Number({})", self.masked())
    }
}

impl fmt::Display for E164Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for E164Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for E164Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_forms_people_type() {
        for input in [
            "555-123-0001",
            "(555) 123-0001",
            "1 555 123 0001",
            "+15551230001",
            "555.123.0001",
            " 15551230001 ",
            "+1 (555) 123-0001",
        ] {
            assert_eq!(
                E164Number::parse(input).map(|n| n.0),
                Ok("+15551230001".to_owned()),
                "{input}"
            );
        }
        assert_eq!(
            E164Number::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases: &[(&str, NumberError)] = &[
            ("", NumberError::Empty),
            ("  - ", NumberError::Empty),
            ("555-123-000", NumberError::NotNanp(9)),
            ("25551230001", NumberError::NotNanp(11)),
            ("555-123-0001x", NumberError::InvalidCharacter('x')),
            ("555+1230001", NumberError::MisplacedPlus),
            ("+0123456789", NumberError::LeadingZero),
            ("+1234567", NumberError::BadLength(7)),
            ("+1234567890123456", NumberError::BadLength(16)),
            ("155512300", NumberError::NotNanp(9)),
            ("+1555123000", NumberError::NotNanp(10)),
            ("055-123-0001", NumberError::InvalidAreaCode),
            ("1 155 123 0001", NumberError::InvalidAreaCode),
            ("５５５1230001", NumberError::InvalidCharacter('５')),
        ];
        for (input, want) in cases {
            assert_eq!(E164Number::parse(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn debug_and_masked_hide_the_middle() {
        let n = E164Number::parse("+15551230001").unwrap();
        assert_eq!(n.masked(), "+1******0001");
        assert!(!format!("{n:?}").contains("5551230001"));
        let intl = E164Number::parse("+442079460958").unwrap();
        assert_eq!(intl.masked(), "+********0958");
    }

    #[test]
    fn serde_validates() {
        let n: E164Number = serde_json_like("+15551230001").unwrap();
        assert_eq!(n.as_str(), "+15551230001");
        assert!(serde_json_like("12").is_err());
    }

    fn serde_json_like(s: &str) -> Result<E164Number, serde::de::value::Error> {
        use serde::de::IntoDeserializer;
        E164Number::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(s))
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = E164Number::parse(&s);
        }

        #[test]
        fn nanp_formats_agree(area in 200u32..1000, exch in 0u32..1000, line in 0u32..10000, style in 0usize..5) {
            let want = format!("+1{area:03}{exch:03}{line:04}");
            let typed = match style {
                0 => format!("{area:03}-{exch:03}-{line:04}"),
                1 => format!("({area:03}) {exch:03}-{line:04}"),
                2 => format!("1 {area:03} {exch:03} {line:04}"),
                3 => want.clone(),
                _ => format!("{area:03}.{exch:03}.{line:04}"),
            };
            let n = E164Number::parse(&typed).unwrap();
            prop_assert_eq!(n.as_str(), want.as_str());
            // Parsing the canonical form again is the identity.
            prop_assert_eq!(&E164Number::parse(n.as_str()).unwrap(), &n);
            let middle = format!("{area:03}{exch:03}");
            prop_assert!(!n.masked().contains(&middle));
        }

        #[test]
        fn parsed_numbers_are_e164(s in "[+]?[0-9 ()-]{0,20}") {
            if let Ok(n) = E164Number::parse(&s) {
                let d = n.digits();
                prop_assert!(n.as_str().starts_with('+'));
                prop_assert!((8..=15).contains(&d.len()));
                prop_assert!(d.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!d.starts_with('0'));
            }
        }
    }
}
