//! TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second
//! steps, codes of the previous and next step accepted for clock skew.
//! A step once accepted is never accepted again for the same user: the
//! caller stores the step [`verify`] returns and passes it back.

use std::fmt;

use hmac::{Hmac, Mac as _};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are accepted.
pub const SKEW_STEPS: u64 = 1;
/// Bytes of a secret made at enrolment (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;

/// A TOTP shared secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A secret from its raw bytes (at least 10, at most 64).
    pub fn new(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if (10..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(TotpError::BadSecret)
        }
    }

    /// The raw bytes, for storing.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The `otpauth://` URI an authenticator app scans, shown once at enrolment.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            base32(&self.0),
            enc(issuer)
        )
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Not six digits.
    #[error("the code must be 6 digits")]
    Malformed,
    /// Matches no step within the accepted window.
    #[error("wrong code")]
    Wrong,
    /// Matches a step at or before the last one accepted.
    #[error("this code was already used; wait for the next one")]
    Replayed,
    /// A secret of the wrong length.
    #[error("a TOTP secret must be 10 to 64 bytes")]
    BadSecret,
}

/// The step a Unix time falls in.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// RFC 4226 HOTP with `digits` digits (6 or 8), for the step counter.
pub fn hotp(secret: &TotpSecret, counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&secret.0) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The 6-digit code for a Unix time, zero-padded.
pub fn code_at(secret: &TotpSecret, unix_secs: u64) -> String {
    format!("{:06}", hotp(secret, step_at(unix_secs), DIGITS))
}

/// Checks `code` at `unix_secs`. `last_used` is the step of the last code
/// this user had accepted; any step at or before it is a replay. Returns
/// the step that matched, to be stored as the new `last_used`.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_secs: u64,
    last_used: Option<u64>,
) -> Result<u64, TotpError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let now = step_at(unix_secs);
    let mut replayed = false;
    for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
        let expected = format!("{:06}", hotp(secret, step, DIGITS));
        // Compare every byte; the result does not depend on where they differ.
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            if last_used.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Ok(step);
        }
    }
    Err(if replayed {
        TotpError::Replayed
    } else {
        TotpError::Wrong
    })
}

/// RFC 4648 base32, upper case, no padding (what authenticator apps read).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes [`base32`] text (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
        buf &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::new(b"12345678901234567890".to_vec()).unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1 column (8 digits).
    #[test]
    fn rfc6238_appendix_b_sha1() {
        let cases = [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        for (t, want) in cases {
            assert_eq!(hotp(&rfc_secret(), step_at(t), 8), want, "T = {t}");
        }
        // Six digits are the last six of the same value.
        assert_eq!(code_at(&rfc_secret(), 59), "287082");
    }

    /// RFC 4226 Appendix D.
    #[test]
    fn rfc4226_hotp_vectors() {
        let want = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (i, w) in want.into_iter().enumerate() {
            assert_eq!(hotp(&rfc_secret(), i as u64, 6), w);
        }
    }

    #[test]
    fn window_and_replay() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let code = code_at(&s, t);
        let step = verify(&s, &code, t, None).unwrap();
        assert_eq!(step, step_at(t));
        // The same code again is a replay, within its window too.
        assert_eq!(
            verify(&s, &code, t + 1, Some(step)),
            Err(TotpError::Replayed)
        );
        // One step early or late is accepted; two are not.
        assert!(verify(&s, &code, t + 30, None).is_ok());
        assert!(verify(&s, &code, t - 30, None).is_ok());
        assert_eq!(verify(&s, &code, t + 61, None), Err(TotpError::Wrong));
        // The next step's code after the last used is fine.
        let next = code_at(&s, t + 30);
        assert_eq!(verify(&s, &next, t + 30, Some(step)), Ok(step + 1));
        assert_eq!(verify(&s, "12345", t, None), Err(TotpError::Malformed));
        assert_eq!(verify(&s, "12345a", t, None), Err(TotpError::Malformed));
    }

    #[test]
    fn base32_round_trips_and_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"f"), "MY");
        for n in 0..30u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base32_decode(&base32(&v)).unwrap(), v);
        }
        assert!(base32_decode("MZ1").is_none());
    }

    #[test]
    fn uri_and_debug_hide_nothing_they_should_not() {
        let s = rfc_secret();
        assert_eq!(format!("{s:?}"), "TotpSecret(<redacted>)");
        let uri = s.otpauth_uri("callward", "j.doe");
        assert!(
            uri.starts_with(
                "otpauth://totp/callward:j.doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
            )
        );
        assert!(TotpSecret::new(vec![0; 5]).is_err());
    }
}
