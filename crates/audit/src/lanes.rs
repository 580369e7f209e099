//! Many independent SHA-256 tree hashes at once, for verification.
//!
//! `callward audit verify` recomputes a million leaf hashes and a million
//! node hashes, all independent of one another once the stored children
//! are read, and SHA-256 was 44 % of its CPU time on machines without SHA
//! extensions (BENCHMARKS.md). One SHA-256 message is a chain of
//! dependent rounds that a core cannot spread over its vector lanes; 16
//! messages side by side can: each 32-bit word of the state becomes a row
//! of 16 (AVX-512) or 8 (AVX2) lanes, one message per lane
//! ("multi-buffer" hashing).
//!
//! The rounds are written once over `[u32; N]` lane rows and compiled for
//! each width inside a `#[target_feature]` function, where the compiler
//! turns each row operation into one vector instruction. The width is
//! chosen at run time; without AVX2 (or off x86-64) each message goes
//! through [`leaf_hash`]/[`node_hash`] (aws-lc) one at a time.
//!
//! This is used only to *check*: appends, proofs and checkpoints hash with
//! aws-lc. A wrong lane result could only make a good log look tampered
//! with, never the reverse; the tests compare every width with aws-lc on
//! random messages of every padding case.

// The lane loops index several rows with one lane number, `for l in 0..N`:
// the shape the compiler turns into one vector instruction per row.
#![allow(clippy::needless_range_loop)]

use crate::hash::{Hash, leaf_hash, node_hash};

/// `SHA-256(0x00 || e)` for each entry `e`, in order: [`leaf_hash`] of
/// each.
pub fn leaf_hashes(entries: &[&[u8]]) -> Vec<Hash> {
    match width() {
        Some(width) => digest(&Leaves(entries), width),
        None => entries.iter().map(|e| leaf_hash(e)).collect(),
    }
}

/// `SHA-256(0x01 || left || right)` for each pair, in order: [`node_hash`]
/// of each.
pub fn node_hashes(pairs: &[(Hash, Hash)]) -> Vec<Hash> {
    match width() {
        Some(width) => digest(&Nodes(pairs), width),
        None => pairs.iter().map(|(l, r)| node_hash(l, r)).collect(),
    }
}

/// Lanes the machine hashes side by side, `None` for one at a time.
fn width() -> Option<Width> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(Width::Avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Some(Width::Avx2);
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// 8 lanes of 32 bits.
    Avx2,
    /// 16 lanes of 32 bits.
    Avx512,
}

/// Messages to hash, each written out on demand.
trait Messages {
    fn count(&self) -> usize;
    /// Message `k`'s length in bytes.
    fn len(&self, k: usize) -> usize;
    /// Appends message `k` to `out`.
    fn write(&self, k: usize, out: &mut Vec<u8>);
}

struct Leaves<'a>(&'a [&'a [u8]]);

impl Messages for Leaves<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn len(&self, k: usize) -> usize {
        1 + self.0[k].len()
    }
    fn write(&self, k: usize, out: &mut Vec<u8>) {
        out.push(0x00);
        out.extend_from_slice(self.0[k]);
    }
}

struct Nodes<'a>(&'a [(Hash, Hash)]);

impl Messages for Nodes<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn len(&self, _: usize) -> usize {
        65
    }
    fn write(&self, k: usize, out: &mut Vec<u8>) {
        let (l, r) = &self.0[k];
        out.push(0x01);
        out.extend_from_slice(&l.0);
        out.extend_from_slice(&r.0);
    }
}

/// SHA-256 blocks of a message of `len` bytes, padding included.
fn blocks(len: usize) -> usize {
    (len + 9).div_ceil(64)
}

/// The digests of every message, in order.
fn digest(messages: &impl Messages, width: Width) -> Vec<Hash> {
    // Messages of similar length side by side waste fewer rounds: a lane
    // that has finished hashes padding until its group has.
    let mut order: Vec<usize> = (0..messages.count()).collect();
    order.sort_by_key(|&k| blocks(messages.len(k)));
    let mut out = vec![Hash([0; 32]); messages.count()];
    match width {
        Width::Avx2 => Group::<8>::default().run(messages, &order, &mut out, width),
        Width::Avx512 => Group::<16>::default().run(messages, &order, &mut out, width),
    }
    out
}

/// One padded message per lane, the buffers kept from group to group.
struct Group<const N: usize> {
    lanes: [Vec<u8>; N],
}

impl<const N: usize> Default for Group<N> {
    fn default() -> Self {
        Self {
            lanes: std::array::from_fn(|_| Vec::new()),
        }
    }
}

impl<const N: usize> Group<N> {
    /// Hashes the messages `N` at a time in `order`, into `out`.
    fn run(&mut self, messages: &impl Messages, order: &[usize], out: &mut [Hash], width: Width) {
        for group in order.chunks(N) {
            for (buf, &k) in self.lanes.iter_mut().zip(group) {
                buf.clear();
                messages.write(k, buf);
                pad(buf);
            }
            let used = &self.lanes[..group.len()];
            let mut state = [[0u32; N]; 8];
            for (row, h) in state.iter_mut().zip(H0) {
                *row = [h; N];
            }
            let most = used.iter().map(|b| b.len() / 64).max().unwrap_or(0);
            let mut words = [[0u32; N]; 16];
            for b in 0..most {
                for (lane, buf) in used.iter().enumerate() {
                    // A lane already done hashes its last block again; its
                    // result was taken.
                    let at = 64 * b.min(buf.len() / 64 - 1);
                    for (t, w) in buf[at..at + 64].chunks_exact(4).enumerate() {
                        words[t][lane] = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
                    }
                }
                compress(width, &mut state, &words);
                for (lane, (buf, &k)) in used.iter().zip(group).enumerate() {
                    if buf.len() / 64 == b + 1 {
                        let mut digest = [0u8; 32];
                        for (d, row) in digest.chunks_exact_mut(4).zip(&state) {
                            d.copy_from_slice(&row[lane].to_be_bytes());
                        }
                        out[k] = Hash(digest);
                    }
                }
            }
        }
    }
}

/// Pads a message as SHA-256 does: `0x80`, zeros, the length in bits, to a
/// multiple of 64 bytes.
fn pad(buf: &mut Vec<u8>) {
    let len = buf.len();
    buf.push(0x80);
    buf.resize(blocks(len) * 64 - 8, 0);
    buf.extend_from_slice(&((len as u64) * 8).to_be_bytes());
}

/// One compression of every lane, compiled for `width`.
fn compress<const N: usize>(width: Width, state: &mut [[u32; N]; 8], words: &[[u32; N]; 16]) {
    #[cfg(target_arch = "x86_64")]
    {
        // The unsafe code of the crate: calling a function compiled for
        // an instruction set extension, which `width()` found on this CPU.
        // SAFETY: `width` comes from `width()`, which returns `Avx512`
        // only when the CPU has AVX-512F and `Avx2` only when it has AVX2.
        #[allow(unsafe_code)]
        unsafe {
            match width {
                Width::Avx512 => x86::compress_avx512(state, words),
                Width::Avx2 => x86::compress_avx2(state, words),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = width;
        rounds(state, words);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx512f")]
    pub(super) fn compress_avx512<const N: usize>(
        state: &mut [[u32; N]; 8],
        words: &[[u32; N]; 16],
    ) {
        super::rounds(state, words);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn compress_avx2<const N: usize>(state: &mut [[u32; N]; 8], words: &[[u32; N]; 16]) {
        super::rounds(state, words);
    }
}

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// One round of FIPS 180-4 §6.2.2 on every lane, the working variables
/// named by the caller so that eight rounds rotate them without moves:
/// only `d` and `h` change.
macro_rules! round {
    ($w:ident, $t:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {
        for l in 0..N {
            let e = $e[l];
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & $f[l]) ^ (!e & $g[l]);
            let t1 = $h[l]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[$t])
                .wrapping_add($w[$t][l]);
            let a = $a[l];
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & $b[l]) ^ (a & $c[l]) ^ ($b[l] & $c[l]);
            $d[l] = $d[l].wrapping_add(t1);
            $h[l] = t1.wrapping_add(s0.wrapping_add(maj));
        }
    };
}

/// FIPS 180-4 §6.2.2 for `N` lanes: the message schedule and 64 rounds.
/// Every loop runs over the lanes innermost, so each becomes vector
/// instructions on whole rows.
#[inline(always)]
fn rounds<const N: usize>(state: &mut [[u32; N]; 8], words: &[[u32; N]; 16]) {
    let mut w = [[0u32; N]; 64];
    w[..16].copy_from_slice(words);
    for t in 16..64 {
        for l in 0..N {
            let x = w[t - 15][l];
            let s0 = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
            let y = w[t - 2][l];
            let s1 = y.rotate_right(17) ^ y.rotate_right(19) ^ (y >> 10);
            w[t][l] = w[t - 16][l]
                .wrapping_add(s0)
                .wrapping_add(w[t - 7][l])
                .wrapping_add(s1);
        }
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in (0..64).step_by(8) {
        round!(w, t, a, b, c, d, e, f, g, h);
        round!(w, t + 1, h, a, b, c, d, e, f, g);
        round!(w, t + 2, g, h, a, b, c, d, e, f);
        round!(w, t + 3, f, g, h, a, b, c, d, e);
        round!(w, t + 4, e, f, g, h, a, b, c, d);
        round!(w, t + 5, d, e, f, g, h, a, b, c);
        round!(w, t + 6, c, d, e, f, g, h, a, b);
        round!(w, t + 7, b, c, d, e, f, g, h, a);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        for l in 0..N {
            s[l] = s[l].wrapping_add(v[l]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages of every length around the padding boundaries (55/56 and
    /// 119/120 bytes with the prefix) and longer, mixed in one batch.
    fn entries() -> Vec<Vec<u8>> {
        let mut x = 0x9e37_79b9_u32;
        (0..300)
            .map(|n| {
                (0..(n % 140) + (n / 140) * 300)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_width_gives_the_hashes_of_aws_lc() {
        let owned = entries();
        let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let want: Vec<Hash> = refs.iter().map(|e| leaf_hash(e)).collect();
        let pairs: Vec<(Hash, Hash)> = want.windows(2).map(|w| (w[0], w[1])).collect();
        let want_nodes: Vec<Hash> = pairs.iter().map(|(l, r)| node_hash(l, r)).collect();
        let mut widths = vec![];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                widths.push(Width::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                widths.push(Width::Avx512);
            }
        }
        for width in widths {
            assert_eq!(digest(&Leaves(&refs), width), want, "{width:?} leaves");
            assert_eq!(digest(&Nodes(&pairs), width), want_nodes, "{width:?} nodes");
        }
        assert_eq!(leaf_hashes(&refs), want);
        assert_eq!(node_hashes(&pairs), want_nodes);
        assert_eq!(leaf_hashes(&[]), vec![]);
    }
}
