//! PINs: validated, never stored or printed in the clear.
//!
//! The PIN alone identifies a person at a facility, so the store must find a
//! person by PIN. A salted slow hash cannot be looked up; a plain hash of a
//! six-digit PIN is reversed in a millisecond. We keep HMAC-SHA-256 under a
//! secret key held outside the database: a stolen database alone reveals
//! nothing, and the digest is deterministic so it can be indexed (unique per
//! facility).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::FacilityId;

/// A PIN as entered: digits only. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a PIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Holds something other than digits.
    #[error("a PIN may contain only digits")]
    NotDigits,
    /// Not the facility's PIN length.
    #[error("a PIN at this facility must have exactly {expected} digits")]
    WrongLength {
        /// The facility's PIN length.
        expected: u8,
    },
    /// All one digit or a straight run (e.g. 111111, 123456).
    #[error("that PIN is too easy to guess (all one digit or a straight run)")]
    Trivial,
}

impl Pin {
    /// Parses a PIN of exactly `len` digits, refusing trivial ones.
    pub fn parse(input: &str, len: u8) -> Result<Self, PinError> {
        let pin = Self::parse_entered(input, len)?;
        let b = pin.0.as_bytes();
        let same = b.iter().all(|&d| d == b[0]);
        let up = b.windows(2).all(|w| w[1] == w[0] + 1);
        let down = b.windows(2).all(|w| w[0] == w[1] + 1);
        if same || up || down {
            return Err(PinError::Trivial);
        }
        Ok(pin)
    }

    /// Parses a PIN as entered at a phone: the length is checked, the
    /// trivial-PIN rule is not (it applies when a PIN is set).
    pub fn parse_entered(input: &str, len: u8) -> Result<Self, PinError> {
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::NotDigits);
        }
        if input.len() != usize::from(len) {
            return Err(PinError::WrongLength { expected: len });
        }
        Ok(Self(input.to_owned()))
    }

    /// A random PIN of `len` digits that [`Self::parse`] accepts, from the
    /// bytes `fill` draws (the caller's CSPRNG: this crate draws no
    /// randomness). Digits are uniform: bytes of 250 and above are drawn
    /// again, as are trivial PINs. The CLI and the console both use it.
    pub fn generate<E>(
        len: u8,
        mut fill: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut bytes = vec![0u8; usize::from(len)];
        loop {
            fill(&mut bytes)?;
            // 250 is the largest multiple of 10 below 256: reject above it to stay uniform.
            if bytes.iter().any(|b| *b >= 250) {
                continue;
            }
            let digits: String = bytes.iter().map(|b| char::from(b'0' + b % 10)).collect();
            if let Ok(pin) = Self::parse(&digits, len) {
                return Ok(pin);
            }
        }
    }

    /// The digits. Only for showing a freshly generated PIN to the
    /// administrator once; never for logs or storage.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// The secret key PIN digests are computed under. `Debug` never shows it.
#[derive(Clone)]
pub struct PinKey([u8; 32]);

impl PinKey {
    /// Wraps 32 secret bytes (drawn by the caller from a CSPRNG).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest stored and indexed for `pin` at `facility`.
    pub fn digest(&self, facility: FacilityId, pin: &Pin) -> PinDigest {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"callward-pin-v1\0");
        mac.update(&facility.0.to_be_bytes());
        mac.update(pin.0.as_bytes());
        PinDigest(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for PinKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinKey(<redacted>)")
    }
}

/// HMAC-SHA-256 of a PIN under the [`PinKey`], bound to a facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinDigest(pub [u8; 32]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_rules() {
        assert!(Pin::parse("246810", 6).is_ok());
        assert_eq!(
            Pin::parse("24681", 6),
            Err(PinError::WrongLength { expected: 6 })
        );
        assert_eq!(Pin::parse("24681a", 6), Err(PinError::NotDigits));
        assert_eq!(Pin::parse("111111", 6), Err(PinError::Trivial));
        assert_eq!(Pin::parse("123456", 6), Err(PinError::Trivial));
        assert_eq!(Pin::parse("654321", 6), Err(PinError::Trivial));
        assert!(Pin::parse_entered("123456", 6).is_ok());
        assert!(!format!("{:?}", Pin::parse("246810", 6).unwrap()).contains("246810"));
    }

    #[test]
    fn generated_pins_are_valid_and_skip_biased_and_trivial_draws() {
        // Draws: one byte over 249 (redrawn), a trivial run (redrawn), then 2,4,6,8,1,0.
        let draws: [[u8; 6]; 3] = [
            [250, 0, 0, 0, 0, 0],
            [1, 2, 3, 4, 5, 6],
            [2, 14, 26, 8, 91, 0],
        ];
        let mut next = draws.iter();
        let pin = Pin::generate(6, |b: &mut [u8]| {
            b.copy_from_slice(next.next().ok_or(())?);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(pin.expose_secret(), "246810");
        assert!(next.next().is_none(), "three draws");
        assert_eq!(
            Pin::generate(4, |_: &mut [u8]| Err::<(), _>("no rng")).unwrap_err(),
            "no rng"
        );
    }

    #[test]
    fn digests_depend_on_key_facility_and_pin() {
        let k1 = PinKey::from_bytes([1; 32]);
        let k2 = PinKey::from_bytes([2; 32]);
        let pin = Pin::parse("246810", 6).unwrap();
        let other = Pin::parse("246811", 6).unwrap();
        let f = FacilityId(1);
        assert_eq!(k1.digest(f, &pin), k1.digest(f, &pin));
        assert_ne!(k1.digest(f, &pin), k2.digest(f, &pin));
        assert_ne!(k1.digest(f, &pin), k1.digest(FacilityId(2), &pin));
        assert_ne!(k1.digest(f, &pin), k1.digest(f, &other));
        assert!(!format!("{k1:?}").contains('1'));
    }
}
