//! Console passwords: argon2id with RustCrypto's default parameters
//! (19 MiB, 2 passes), stored as PHC strings.

use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// Hashes a password with a fresh random salt.
pub(crate) fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(phc.to_string())
}

/// Whether `password` matches a stored PHC string.
pub(crate) fn verify(password: &str, phc: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))
        .context("cannot check the password")?;
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
