//! The operating system's CSPRNG as the RNG the vault's functions take
//! (feature `os-rng`). The vault itself draws no randomness: callers pass
//! this (or, in tests, a deterministic one).

use rand_core::{TryCryptoRng, TryRng};

/// The OS random number generator (`getrandom`). [`OsRng::new`] checks once
/// that it answers; a draw that fails after that panics, because a key drawn
/// from anything weaker would be worse than no key.
#[derive(Debug, Clone, Copy)]
pub struct OsRng(());

impl OsRng {
    /// Checks the OS RNG answers.
    ///
    /// # Errors
    /// The operating system has no randomness to give.
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut probe = [0u8; 1];
        getrandom::fill(&mut probe)?;
        Ok(Self(()))
    }
}

impl TryRng for OsRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    #[allow(
        clippy::expect_used,
        reason = "after OsRng::new succeeded, Linux's getrandom does not fail"
    )]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst).expect("the OS random number generator failed");
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng as _;

    #[test]
    fn draws_differ() {
        let mut rng = OsRng::new().unwrap();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        rng.fill_bytes(&mut a);
        rng.fill_bytes(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
