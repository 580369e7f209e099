//! Money in integer cents. Never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in US cents. May be negative only as a ledger delta;
/// balances are kept non-negative by the code that changes them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// Why a typed amount was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not of the form `12`, `12.3` or `12.34`, optionally with a leading `$`.
    #[error("{0:?} is not an amount like 10.00")]
    Malformed(String),
    /// Larger than any account could sensibly hold.
    #[error("the amount is too large")]
    TooLarge,
}

impl Cents {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Parses dollars as typed: `10`, `10.5`, `$10.00`. At most two decimals;
    /// negative amounts are refused (refunds and charges are separate operations).
    pub fn parse_dollars(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        let s = s.strip_prefix('$').unwrap_or(s);
        let malformed = || MoneyError::Malformed(input.chars().take(32).collect());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (s.contains('.') && frac.is_empty())
        {
            return Err(malformed());
        }
        if whole.len() > 9 {
            return Err(MoneyError::TooLarge);
        }
        let whole: i64 = whole.parse().map_err(|_| malformed())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| malformed())? * 10,
            _ => frac.parse().map_err(|_| malformed())?,
        };
        Ok(Self(whole * 100 + frac))
    }

    /// Checked addition.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

/// A per-minute rate in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CentsPerMinute(pub u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dollars() {
        assert_eq!(Cents::parse_dollars("10"), Ok(Cents(1000)));
        assert_eq!(Cents::parse_dollars("$10.00"), Ok(Cents(1000)));
        assert_eq!(Cents::parse_dollars("0.5"), Ok(Cents(50)));
        assert_eq!(Cents::parse_dollars("12.34"), Ok(Cents(1234)));
        for bad in ["", "-1", "1.234", "1.", ".5", "1,00", "abc", "1e3"] {
            assert!(Cents::parse_dollars(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Cents::parse_dollars("1234567890"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn displays_dollars() {
        assert_eq!(Cents(1000).to_string(), "$10.00");
        assert_eq!(Cents(7).to_string(), "$0.07");
        assert_eq!(Cents(-250).to_string(), "-$2.50");
    }
}
