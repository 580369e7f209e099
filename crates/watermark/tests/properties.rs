//! Properties of the embedder and detector on arbitrary input: no panics,
//! streaming in any chunk sizes gives the same marked audio, the mark is
//! small, and noise or silence never yields an index.

use callward_watermark::{BLOCK, Detector, Embedder, Key, NotFound, Strength, mark_interleaved};
use proptest::prelude::*;

/// A speech-like test signal: two drifting resonances, syllable envelope.
fn voice(len: usize, seed: u64) -> Vec<i16> {
    let mut state = seed | 1;
    (0..len)
        .map(|n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let t = n as f64 / 8000.0;
            let envelope = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 3.0 * t).sin()).powi(2);
            let tone = (2.0 * std::f64::consts::PI * (400.0 + 80.0 * (t * 0.7).sin()) * t).sin()
                + 0.5 * (2.0 * std::f64::consts::PI * 1300.0 * t).sin();
            let noise = (state % 2001) as f64 / 1000.0 - 1.0;
            (envelope * (6000.0 * tone + 800.0 * noise)) as i16
        })
        .collect()
}

fn stream(index: u32, input: &[i16], chunks: &[usize]) -> Vec<i16> {
    let mut e = Embedder::new(&Key::default(), index, Strength::default());
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].clamp(1, rest.len());
        e.process(&rest[..n], &mut out);
        rest = &rest[n..];
        i += 1;
    }
    e.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_chunking_marks_the_same(index: u32, chunks in proptest::collection::vec(1usize..500, 1..8), len in 0usize..3000) {
        let input = voice(len, u64::from(index));
        let streamed = stream(index, &input, &chunks);
        let mut whole = input.clone();
        mark_interleaved(&Key::default(), index, Strength::default(), &mut whole, 1);
        prop_assert_eq!(streamed.len(), input.len());
        prop_assert_eq!(streamed, whole);
    }

    #[test]
    fn arbitrary_samples_never_panic_and_name_no_one(samples in proptest::collection::vec(any::<i16>(), 0..40_000), channels in 0usize..4) {
        let d = Detector::new(&Key::default());
        prop_assert!(d.detect_interleaved(&samples, channels).is_err());
        let mut marked = samples.clone();
        mark_interleaved(&Key::default(), 9, Strength::default(), &mut marked, channels);
        prop_assert_eq!(marked.len(), samples.len());
    }
}

#[test]
fn strength_is_bounded() {
    assert!(Strength::from_db(5.0).is_none());
    assert!(Strength::from_db(f64::NAN).is_none());
    assert_eq!(Strength::from_db(25.0).map(Strength::db), Some(25.0));
}

#[test]
fn mark_lies_20_db_under_the_signal_and_reads_back() {
    let input = voice(20 * 8000, 3);
    let mut marked = input.clone();
    mark_interleaved(
        &Key::default(),
        123_456_789,
        Strength::default(),
        &mut marked,
        1,
    );
    let signal: f64 = input.iter().map(|&s| f64::from(s).powi(2)).sum();
    let diff: f64 = input
        .iter()
        .zip(&marked)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let snr = 10.0 * (signal / diff).log10();
    assert!((18.0..23.0).contains(&snr), "SNR {snr:.1} dB");
    let found = Detector::new(&Key::default())
        .detect(&[&marked])
        .expect("found");
    assert_eq!(found.index, 123_456_789);
    assert_eq!(found.offset, 0);
    // Starting mid-block: the offset is where the excerpt begins.
    let found = Detector::new(&Key::default())
        .detect(&[&marked[12_345..]])
        .expect("found");
    assert_eq!((found.index, found.offset), (123_456_789, 12_345 % BLOCK));
}

#[test]
fn unmarked_and_silent_audio_give_nothing() {
    let d = Detector::new(&Key::default());
    let plain = voice(40 * 8000, 5);
    assert!(matches!(d.detect(&[&plain]), Err(NotFound::NoSync { .. })));
    let silence = vec![0i16; 40 * 8000];
    assert!(matches!(
        d.detect(&[&silence]),
        Err(NotFound::TooShort { .. })
    ));
    assert!(matches!(d.detect(&[]), Err(NotFound::TooShort { .. })));
}
