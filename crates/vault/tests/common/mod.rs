//! Test helpers: a deterministic RNG and hex.

#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::convert::Infallible;

use aws_lc_rs::digest::{SHA256, digest};
use rand_core::{TryCryptoRng, TryRng};

/// A deterministic byte stream (SHA-256 of seed and counter). Test-only: it
/// makes runs and the worked example reproducible; it is not a CSPRNG.
pub struct TestRng {
    seed: u64,
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl TryRng for TestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            if self.buf.is_empty() {
                let mut input = self.seed.to_be_bytes().to_vec();
                input.extend_from_slice(&self.counter.to_be_bytes());
                self.counter += 1;
                self.buf = digest(&SHA256, &input).as_ref().to_vec();
            }
            *byte = self.buf.remove(0);
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
