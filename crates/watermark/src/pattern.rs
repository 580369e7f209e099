//! The keyed spreading pattern: one block of [`BLOCK`] chip positions, each
//! a pseudo-random ±1 chip and a role: synchronisation (a quarter of the
//! positions) or one of the coded payload bits (the rest, interleaved over
//! the whole block so a pause or a burst of noise hits every bit a little).

use crate::code::CODED_BITS;

/// Samples per block: 2^16, 8.192 s at 8 kHz. The block repeats.
pub const BLOCK: usize = 1 << 16;
/// Positions that carry the synchronisation pattern.
pub(crate) const SYNC_POSITIONS: usize = BLOCK / 4;
/// The role of a synchronisation position.
pub(crate) const SYNC: u8 = u8::MAX;

/// The secret that fixes the pattern. The same key embeds and detects.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl Key {
    /// A key from 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn seed(&self) -> u64 {
        self.0
            .chunks_exact(8)
            .fold(0x5157_4D41_524B_0001, |acc, c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                splitmix(acc ^ u64::from_le_bytes(b))
            })
    }
}

impl Default for Key {
    /// The project's built-in key (`docs/watermark.md`: anyone with the
    /// source can read the mark; a deployment key is a later step).
    fn default() -> Self {
        Self(*b"callward watermark v1 builtin ke")
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.0)
    }
}

/// The block layout a key gives.
pub(crate) struct Pattern {
    /// +1 or -1 per position.
    pub(crate) chip: Vec<i8>,
    /// [`SYNC`] or the coded bit the position carries.
    pub(crate) role: Vec<u8>,
    /// Masks the information bits.
    pub(crate) mask: u64,
}

impl Pattern {
    pub(crate) fn new(key: &Key) -> Self {
        let mut rng = Rng(key.seed());
        let mut order: Vec<u32> = (0..BLOCK as u32).collect();
        for i in (1..BLOCK).rev() {
            // The bound is at most 2^16, so the cast keeps the value.
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut role = vec![SYNC; BLOCK];
        for (i, &pos) in order.iter().enumerate().skip(SYNC_POSITIONS) {
            // CODED_BITS < 255.
            role[pos as usize] = ((i - SYNC_POSITIONS) % CODED_BITS) as u8;
        }
        let mut chip = Vec::with_capacity(BLOCK);
        let mut bits = 0u64;
        for i in 0..BLOCK {
            if i % 64 == 0 {
                bits = rng.next();
            }
            chip.push(if (bits >> (i % 64)) & 1 == 1 { 1 } else { -1 });
        }
        let mask = rng.next();
        Self { chip, role, mask }
    }
}
