//! Console passwords: argon2id with RustCrypto's default parameters
//! (19 MiB, 2 passes), stored as PHC strings.
//!
//! Both functions are slow on purpose (tens of milliseconds); async callers
//! run them on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// Why a password could not be hashed or checked (never because it was
/// wrong: that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The OS gave no randomness for a salt.
    #[error("no randomness for a salt: {0}")]
    Random(String),
    /// Hashing failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The stored hash is not a PHC string argon2 reads.
    #[error("cannot check the password: stored password hash is malformed: {0}")]
    Malformed(String),
}

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(phc.to_string())
}

/// Whether `password` matches a stored PHC string.
pub fn verify(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::Malformed(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("demo-admin").unwrap();
        let b = hash("demo-admin").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "fresh salt each time");
        assert!(!a.contains("demo-admin"));
        assert!(verify("demo-admin", &a).unwrap());
        assert!(!verify("demo-admin2", &a).unwrap());
        assert!(verify("x", "not a hash").is_err());
    }
}
