//! The payload's channel code: the 32-bit entry index, a CRC-24 over it,
//! both masked with key-derived bits, then a rate-1/2 convolutional code
//! (constraint length 7, generators 171/133 octal, six tail bits) decoded
//! with soft-decision Viterbi.

/// Information bits: index (32) and CRC-24.
pub(crate) const INFO_BITS: usize = 56;
const TAIL: usize = 6;
/// Coded bits per block.
pub(crate) const CODED_BITS: usize = 2 * (INFO_BITS + TAIL);
const G1: u32 = 0o171;
const G2: u32 = 0o133;

/// CRC-24 (OpenPGP polynomial and initial value) over `bytes`.
fn crc24(bytes: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in bytes {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// The 56 information bits of `index`, masked with `mask`.
pub(crate) fn info_bits(index: u32, mask: u64) -> u64 {
    let crc = u64::from(crc24(&index.to_be_bytes()));
    ((u64::from(index) << 24) | crc) ^ (mask & ((1 << INFO_BITS) - 1))
}

/// The index in `info`, if its CRC holds.
pub(crate) fn check_info(info: u64, mask: u64) -> Option<u32> {
    let plain = info ^ (mask & ((1 << INFO_BITS) - 1));
    // The shift leaves 32 bits.
    let index = u32::try_from(plain >> 24).ok()?;
    (u64::from(crc24(&index.to_be_bytes())) == plain & 0xFF_FFFF).then_some(index)
}

fn parity(x: u32) -> u8 {
    (x.count_ones() & 1) as u8
}

/// Convolutional encoding of `info` (most significant bit first), with the
/// tail that returns the encoder to state 0. Bits are 0 or 1.
pub(crate) fn encode(info: u64) -> [u8; CODED_BITS] {
    let mut out = [0u8; CODED_BITS];
    let mut reg: u32 = 0;
    for i in 0..INFO_BITS + TAIL {
        let bit = if i < INFO_BITS {
            ((info >> (INFO_BITS - 1 - i)) & 1) as u32
        } else {
            0
        };
        reg = ((reg << 1) | bit) & 0x7F;
        out[2 * i] = parity(reg & G1);
        out[2 * i + 1] = parity(reg & G2);
    }
    out
}

/// Soft-decision Viterbi: `soft[k] > 0` favours coded bit 1. Returns the
/// information bits of the most likely path ending in state 0.
pub(crate) fn decode(soft: &[f64; CODED_BITS]) -> u64 {
    const STATES: usize = 64;
    let mut metric = [f64::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    // Survivor bits per step: for each state, the input bit and the predecessor.
    let mut prev = vec![[0u8; STATES]; INFO_BITS + TAIL];
    for (step, prev_step) in prev.iter_mut().enumerate() {
        let mut next = [f64::NEG_INFINITY; STATES];
        let inputs: &[u32] = if step < INFO_BITS { &[0, 1] } else { &[0] };
        for (state, &m) in metric.iter().enumerate() {
            if m == f64::NEG_INFINITY {
                continue;
            }
            for &bit in inputs {
                // The state holds the last six input bits.
                let reg = ((state as u32) << 1) | bit;
                let s1 = if parity(reg & G1) == 1 { 1.0 } else { -1.0 };
                let s2 = if parity(reg & G2) == 1 { 1.0 } else { -1.0 };
                let candidate = m + s1 * soft[2 * step] + s2 * soft[2 * step + 1];
                let to = (reg & 0x3F) as usize;
                if candidate > next[to] {
                    next[to] = candidate;
                    // Predecessor state fits in six bits.
                    prev_step[to] = state as u8;
                }
            }
        }
        metric = next;
    }
    let mut state = 0usize;
    let mut info = 0u64;
    for step in (0..INFO_BITS + TAIL).rev() {
        let bit = (state & 1) as u64;
        if step < INFO_BITS {
            info |= bit << (INFO_BITS - 1 - step);
        }
        state = usize::from(prev[step][state]);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc24_check_value() {
        // The catalogue's check value for CRC-24/OPENPGP over "123456789".
        assert_eq!(crc24(b"123456789"), 0x21CF02);
    }

    proptest! {
        #[test]
        fn clean_codewords_decode(index: u32, mask: u64) {
            let info = info_bits(index, mask);
            let code = encode(info);
            let soft: [f64; CODED_BITS] = code.map(|b| if b == 1 { 1.0 } else { -1.0 });
            let decoded = decode(&soft);
            prop_assert_eq!(decoded, info);
            prop_assert_eq!(check_info(decoded, mask), Some(index));
        }

        #[test]
        fn a_few_flipped_bits_are_corrected(index: u32, mask: u64, flips in proptest::collection::btree_set(0..CODED_BITS, 0..4)) {
            let info = info_bits(index, mask);
            let code = encode(info);
            let mut soft: [f64; CODED_BITS] = code.map(|b| if b == 1 { 1.0 } else { -1.0 });
            // Free distance 10: up to 4 flips anywhere are corrected.
            for f in flips {
                soft[f] = -soft[f];
            }
            prop_assert_eq!(check_info(decode(&soft), mask), Some(index));
        }
    }

    #[test]
    fn another_index_fails_the_check() {
        let info = info_bits(42, 7);
        assert_eq!(check_info(info ^ (1 << 30), 7), None);
        assert_eq!(check_info(info, 8), None);
    }
}
