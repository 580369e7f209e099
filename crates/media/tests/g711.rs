//! G.711 against an independent reference (SoX's decoder, see
//! `data/make-g711-reference.sh`), the values printed in ITU-T G.711, and
//! round trips.

use callward_media::G711;
use callward_media::g711::{
    ALAW_TO_ULAW, ULAW_TO_ALAW, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode,
};
use proptest::prelude::*;

fn reference() -> Vec<(u8, i16, i16)> {
    let text = include_str!("data/g711-reference.txt");
    let rows: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<i64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (
                u8::try_from(f[0]).unwrap(),
                i16::try_from(f[1]).unwrap(),
                i16::try_from(f[2]).unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 256);
    rows
}

#[test]
fn decoders_match_sox_for_every_code() {
    for (code, alaw, ulaw) in reference() {
        assert_eq!(alaw_decode(code), alaw, "A-law code {code:#04x}");
        assert_eq!(ulaw_decode(code), ulaw, "µ-law code {code:#04x}");
    }
}

#[test]
fn itu_known_values() {
    // µ-law: 0xFF and 0x7F are +0 and -0; 0x80 and 0x00 the extremes (G.711 table 2).
    assert_eq!(ulaw_decode(0xFF), 0);
    assert_eq!(ulaw_decode(0x7F), 0);
    assert_eq!(ulaw_decode(0x80), 32124);
    assert_eq!(ulaw_decode(0x00), -32124);
    // A-law: 0xD5 (1000 0000 once the even bits are inverted) is the smallest
    // positive level: +1 on G.711's 13-bit scale, +8 on a 16-bit one.
    assert_eq!(alaw_decode(0xD5), 8);
    assert_eq!(alaw_decode(0x55), -8);
    assert_eq!(alaw_decode(0xAA), 32256);
    assert_eq!(alaw_decode(0x2A), -32256);
    // Encoders at those points.
    assert_eq!(ulaw_encode(0), 0xFF);
    assert_eq!(alaw_encode(0), 0xD5);
    assert_eq!(ulaw_encode(i16::MAX), 0x80);
    assert_eq!(ulaw_encode(i16::MIN), 0x00);
    assert_eq!(alaw_encode(i16::MAX), 0xAA);
    assert_eq!(alaw_encode(i16::MIN), 0x2A);
    assert_eq!(G711::Pcmu.silence(), 0xFF);
    assert_eq!(G711::Pcma.silence(), 0xD5);
}

#[test]
fn encode_of_decode_is_identity() {
    for code in 0..=255u8 {
        assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        // µ-law has two zeros; -0 (0x7F) encodes back as +0 (0xFF).
        let expected = if code == 0x7F { 0xFF } else { code };
        assert_eq!(
            ulaw_encode(ulaw_decode(code)),
            expected,
            "µ-law {code:#04x}"
        );
    }
}

/// Half the width of the quantisation interval of level `y` (the larger
/// gap to its neighbouring levels: at a segment edge the interval is the
/// wider segment's step), plus the bits the algorithm drops before quantising.
fn tolerance(sorted: &[i32], y: i32, dropped: i32) -> i32 {
    let i = sorted.binary_search(&y).unwrap();
    let below = if i == 0 { 0 } else { y - sorted[i - 1] };
    let above = if i + 1 == sorted.len() {
        0
    } else {
        sorted[i + 1] - y
    };
    below.max(above) / 2 + dropped
}

fn sorted_levels(codec: G711) -> Vec<i32> {
    let mut sorted: Vec<i32> = (0..=255u8)
        .map(|c| i32::from(codec.decode_sample(c)))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

fn within_step(codec: G711, levels: &[i32], x: i16) {
    let max = *levels.last().unwrap();
    let min = levels[0];
    let y = i32::from(codec.decode_sample(codec.encode_sample(x)));
    let xi = i32::from(x);
    if xi > max || xi < min {
        // Clipped to the extreme level.
        assert_eq!(y, xi.clamp(min, max), "{codec:?} {x}");
    } else {
        let dropped = if codec == G711::Pcmu { 4 } else { 8 };
        let tol = tolerance(levels, y, dropped);
        assert!(
            (y - xi).abs() <= tol,
            "{codec:?}: {x} -> {y}, tolerance {tol}"
        );
    }
}

#[test]
fn round_trip_within_quantisation_step_exhaustive() {
    let (u, a) = (sorted_levels(G711::Pcmu), sorted_levels(G711::Pcma));
    for x in i16::MIN..=i16::MAX {
        within_step(G711::Pcmu, &u, x);
        within_step(G711::Pcma, &a, x);
    }
}

#[test]
fn transcoding_tables_preserve_levels() {
    // A-law → µ-law → A-law returns to within one code of the start for
    // every code, and the sign is kept.
    for code in 0..=255u8 {
        let a = alaw_decode(code);
        let u = ulaw_decode(ALAW_TO_ULAW[usize::from(code)]);
        assert_eq!(a.signum(), u.signum(), "A-law {code:#04x}");
        within_step(G711::Pcmu, &sorted_levels(G711::Pcmu), a);
        let back = alaw_decode(ULAW_TO_ALAW[usize::from(ALAW_TO_ULAW[usize::from(code)])]);
        assert!(
            (i32::from(back) - i32::from(a)).abs() <= (i32::from(a).abs() / 8).max(16),
            "A-law {code:#04x}: {a} -> {back}"
        );
    }
    let mut out = Vec::new();
    G711::Pcma.transcode_into(G711::Pcmu, &[0xD5, 0x55], &mut out);
    // ±8 exists in both laws.
    assert_eq!(out, vec![0xFE, 0x7E]);
}

proptest! {
    #[test]
    fn decode_encode_monotonic(a in any::<i16>(), b in any::<i16>()) {
        // Encoding preserves order: a larger input never decodes smaller.
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        for codec in [G711::Pcmu, G711::Pcma] {
            let dl = codec.decode_sample(codec.encode_sample(lo));
            let dh = codec.decode_sample(codec.encode_sample(hi));
            prop_assert!(dl <= dh, "{:?}: {} -> {}, {} -> {}", codec, lo, dl, hi, dh);
        }
    }

    #[test]
    fn buffers_match_samples(samples in proptest::collection::vec(any::<i16>(), 0..400)) {
        for codec in [G711::Pcmu, G711::Pcma] {
            let mut enc = Vec::new();
            codec.encode_into(&samples, &mut enc);
            let mut dec = Vec::new();
            codec.decode_into(&enc, &mut dec);
            prop_assert_eq!(enc.len(), samples.len());
            for (i, (&e, &d)) in enc.iter().zip(dec.iter()).enumerate() {
                prop_assert_eq!(e, codec.encode_sample(samples[i]));
                prop_assert_eq!(d, codec.decode_sample(e));
            }
        }
    }
}

/// `encode_into` (table-driven) agrees with the reference encoders on every
/// 16-bit input.
#[test]
fn table_encoding_matches_the_reference_for_every_sample() {
    let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    for codec in [G711::Pcma, G711::Pcmu] {
        let mut out = Vec::new();
        codec.encode_into(&all, &mut out);
        assert_eq!(out.len(), all.len());
        for (&sample, &code) in all.iter().zip(&out) {
            assert_eq!(code, codec.encode_sample(sample), "{codec:?} {sample}");
        }
    }
}
