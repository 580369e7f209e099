//! In-band DTMF on synthesised audio: all sixteen digits through noise and
//! G.711, and nothing from tones outside the rules or speech-like sound.

use std::f64::consts::PI;

use callward_media::{Digit, G711, InbandDtmfDetector};

const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: &str = "123A456B789C*0#D";

/// Deterministic white noise (xorshift), uniform in ±amplitude.
struct Noise(u64);

impl Noise {
    fn next(&mut self, amplitude: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amplitude
    }
}

fn freqs(d: Digit) -> (f64, f64) {
    let i = KEYS.find(d.as_char()).unwrap();
    (ROWS[i / 4], COLS[i % 4])
}

/// `ms` of a two-tone signal, amplitudes in 16-bit units, into `out`.
fn tone(out: &mut Vec<f64>, row: (f64, f64), col: (f64, f64), ms: usize) {
    let start = out.len();
    for n in 0..ms * 8 {
        let t = (start + n) as f64 / 8000.0;
        out.push(row.1 * (2.0 * PI * row.0 * t).sin() + col.1 * (2.0 * PI * col.0 * t).sin());
    }
}

fn silence(out: &mut Vec<f64>, ms: usize) {
    out.extend(std::iter::repeat_n(0.0, ms * 8));
}

fn to_i16(x: &[f64], noise: f64, seed: u64) -> Vec<i16> {
    let mut n = Noise(seed);
    x.iter()
        .map(|v| (v + n.next(noise)).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn detect(samples: &[i16]) -> String {
    let mut d = InbandDtmfDetector::new();
    // Feed in 20 ms packets, as from RTP.
    for chunk in samples.chunks(160) {
        d.handle_samples(chunk);
    }
    d.finish();
    std::iter::from_fn(|| d.poll_event())
        .map(|e| e.digit.as_char())
        .collect()
}

fn keyed(digits: &str, amp: f64, on_ms: usize, off_ms: usize) -> Vec<f64> {
    let mut x = Vec::new();
    silence(&mut x, 30);
    for c in digits.chars() {
        let (r, k) = freqs(Digit::from_char(c).unwrap());
        tone(&mut x, (r, amp), (k, amp), on_ms);
        silence(&mut x, off_ms);
    }
    x
}

#[test]
fn all_sixteen_digits_clean() {
    let x = keyed(KEYS, 6000.0, 80, 60);
    assert_eq!(detect(&to_i16(&x, 0.0, 1)), KEYS);
}

#[test]
fn digits_through_noise_and_g711() {
    // About 12 dB SNR: tones of 3000 each (power 9e6), uniform noise of ±1300 (power 5.6e5).
    let x = keyed("246810#", 3000.0, 70, 50);
    let noisy = to_i16(&x, 1300.0, 7);
    assert_eq!(detect(&noisy), "246810#");
    for codec in [G711::Pcma, G711::Pcmu] {
        let mut enc = Vec::new();
        codec.encode_into(&noisy, &mut enc);
        let mut d = InbandDtmfDetector::new();
        for chunk in enc.chunks(240) {
            d.handle_g711(codec, chunk);
        }
        d.finish();
        let got: String = std::iter::from_fn(|| d.poll_event())
            .map(|e| e.digit.as_char())
            .collect();
        assert_eq!(got, "246810#", "{codec:?}");
    }
}

#[test]
fn quiet_and_twisted_within_limits() {
    let mut x = Vec::new();
    silence(&mut x, 20);
    // -30 dB below full scale.
    tone(&mut x, (697.0, 700.0), (1209.0, 700.0), 60);
    silence(&mut x, 60);
    // Column 6 dB stronger (normal twist, allowed).
    tone(&mut x, (770.0, 2000.0), (1336.0, 4000.0), 60);
    silence(&mut x, 60);
    // Row 3 dB stronger (reverse twist, allowed).
    tone(&mut x, (852.0, 4200.0), (1477.0, 3000.0), 60);
    silence(&mut x, 60);
    assert_eq!(detect(&to_i16(&x, 50.0, 3)), "159");
}

#[test]
fn frequency_deviation_within_one_and_a_half_percent_accepted() {
    // ITU-T Q.24: operate within ±1.5 %, never at ±3.5 % or more.
    for dev in [-0.015, -0.008, 0.0, 0.008, 0.015] {
        let mut x = Vec::new();
        silence(&mut x, 20);
        for c in KEYS.chars() {
            let (r, k) = freqs(Digit::from_char(c).unwrap());
            tone(
                &mut x,
                (r * (1.0 + dev), 4000.0),
                (k * (1.0 + dev), 4000.0),
                70,
            );
            silence(&mut x, 60);
        }
        assert_eq!(detect(&to_i16(&x, 300.0, 5)), KEYS, "deviation {dev}");
    }
    for dev in [-0.035, 0.035, -0.05, 0.05] {
        let x = keyed_dev("1593", 4000.0, dev);
        assert_eq!(detect(&to_i16(&x, 0.0, 5)), "", "deviation {dev}");
    }
}

fn keyed_dev(digits: &str, amp: f64, dev: f64) -> Vec<f64> {
    let mut x = Vec::new();
    silence(&mut x, 20);
    for c in digits.chars() {
        let (r, k) = freqs(Digit::from_char(c).unwrap());
        tone(&mut x, (r * (1.0 + dev), amp), (k * (1.0 + dev), amp), 100);
        silence(&mut x, 60);
    }
    x
}

#[test]
fn duration_and_repeats() {
    // The same digit twice with a 50 ms gap counts twice; one held for a
    // second counts once with its length.
    let mut x = keyed("55", 5000.0, 60, 50);
    let (r, c) = freqs(Digit::D8);
    tone(&mut x, (r, 5000.0), (c, 5000.0), 1000);
    silence(&mut x, 60);
    let samples = to_i16(&x, 0.0, 1);
    let mut d = InbandDtmfDetector::new();
    d.handle_samples(&samples);
    let events: Vec<_> = std::iter::from_fn(|| d.poll_event()).collect();
    let digits: String = events.iter().map(|e| e.digit.as_char()).collect();
    assert_eq!(digits, "558");
    let held = events[2].duration.as_millis();
    assert!((950..=1050).contains(&held), "held {held} ms");
    // A 40 ms tone is accepted, 20 ms is not.
    assert_eq!(detect(&to_i16(&keyed("3", 5000.0, 40, 60), 0.0, 1)), "3");
    assert_eq!(detect(&to_i16(&keyed("3", 5000.0, 20, 60), 0.0, 1)), "");
}

#[test]
fn rejects_non_dtmf() {
    let mut x = Vec::new();
    // Single tones.
    tone(&mut x, (697.0, 8000.0), (1209.0, 0.0), 200);
    silence(&mut x, 60);
    tone(&mut x, (1000.0, 8000.0), (1633.0, 0.0), 200);
    silence(&mut x, 60);
    // Twist beyond the limits: column 12 dB stronger, row 7 dB stronger.
    tone(&mut x, (697.0, 1000.0), (1209.0, 4000.0), 200);
    silence(&mut x, 60);
    tone(&mut x, (770.0, 6700.0), (1336.0, 3000.0), 200);
    silence(&mut x, 60);
    // Two tones that are not a row/column pair (both low group).
    tone(&mut x, (697.0, 5000.0), (852.0, 5000.0), 200);
    silence(&mut x, 60);
    // Row and column off by 4 %.
    tone(&mut x, (697.0 * 1.04, 5000.0), (1209.0 * 1.04, 5000.0), 200);
    assert_eq!(detect(&to_i16(&x, 0.0, 1)), "");
    // Loud white noise.
    let noise = to_i16(&vec![0.0; 8000 * 3], 12000.0, 99);
    assert_eq!(detect(&noise), "");
}

/// Voiced speech-like sound: a glottal pulse train (harmonics of a gliding
/// f0) shaped by three moving formants, with syllable-rate amplitude.
fn speech_like(seconds: f64, seed: u64) -> Vec<i16> {
    let mut noise = Noise(seed);
    let n = (seconds * 8000.0) as usize;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / 8000.0;
        let f0 = 110.0 + 60.0 * (2.0 * PI * 0.7 * t).sin() + 30.0 * (2.0 * PI * 2.3 * t).sin();
        let formants = [
            500.0 + 300.0 * (2.0 * PI * 1.1 * t).sin(),
            1500.0 + 500.0 * (2.0 * PI * 0.9 * t).cos(),
            2500.0 + 200.0 * (2.0 * PI * 1.7 * t).sin(),
        ];
        let mut v = 0.0;
        let mut k = 1.0;
        while k * f0 < 3800.0 {
            let f = k * f0;
            let gain: f64 = formants
                .iter()
                .map(|fc| 1.0 / (1.0 + ((f - fc) / 120.0).powi(2)))
                .sum();
            // Phase from the integral of f0 keeps harmonics coherent as it glides.
            let phase = 2.0
                * PI
                * k
                * (110.0 * t
                    - 60.0 / (2.0 * PI * 0.7) * (2.0 * PI * 0.7 * t).cos()
                    - 30.0 / (2.0 * PI * 2.3) * (2.0 * PI * 2.3 * t).cos());
            v += gain * phase.sin() / k.sqrt();
            k += 1.0;
        }
        let syllable = (2.0 * PI * 4.0 * t).sin().abs();
        out.push((v * 4000.0 * syllable + noise.next(200.0)).clamp(-32768.0, 32767.0) as i16);
    }
    out
}

/// A sustained vowel with two narrow formants inside the DTMF groups (like
/// /a/ or /ae/) and a slowly gliding pitch, so harmonics keep crossing row
/// and column frequencies: the classic cause of talk-off.
fn vowel(f1: f64, f2: f64, f0_lo: f64, f0_hi: f64, seconds: f64) -> Vec<i16> {
    let n = (seconds * 8000.0) as usize;
    let mut phase = 0.0;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let f0 = f0_lo + (f0_hi - f0_lo) * t / seconds;
            phase += 2.0 * PI * f0 / 8000.0;
            let mut v = 0.0;
            let mut k = 1.0;
            while k * f0 < 3800.0 {
                let f = k * f0;
                let g = 1.0 / (1.0 + ((f - f1) / 60.0).powi(2))
                    + 1.0 / (1.0 + ((f - f2) / 60.0).powi(2));
                v += (0.15 + g) * (k * phase).sin();
                k += 1.0;
            }
            (v * 3000.0).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[test]
fn vowels_with_formants_on_dtmf_frequencies_do_not_trigger() {
    let mut total = 0;
    for (f1, f2) in [
        (697.0, 1209.0),
        (770.0, 1336.0),
        (852.0, 1477.0),
        (941.0, 1633.0),
        (730.0, 1300.0),
    ] {
        let s = vowel(f1, f2, 90.0, 320.0, 4.0);
        let got = detect(&s);
        total += got.len();
        assert_eq!(got, "", "formants {f1}/{f2}");
    }
    assert_eq!(total, 0);
}

#[test]
fn speech_like_signal_does_not_trigger() {
    for seed in 1..=5 {
        let s = speech_like(6.0, seed);
        assert!(s.iter().any(|&v| v.abs() > 4000), "the signal is loud");
        assert_eq!(detect(&s), "", "seed {seed}");
    }
}

#[test]
fn digits_over_speech_are_found() {
    // A caller pressing keys while the other side talks quietly.
    let speech = speech_like(2.0, 4);
    let x = keyed("19", 6000.0, 100, 400);
    let mixed: Vec<i16> = x
        .iter()
        .zip(speech.iter().cycle())
        .map(|(a, b)| (a + f64::from(*b) * 0.1).clamp(-32768.0, 32767.0) as i16)
        .collect();
    assert_eq!(detect(&mixed), "19");
}

/// 13 s of espeak-ng speech (English and Spanish, low and high voices) as
/// 8 kHz A-law; see `data/make-speech-fixture.sh`.
fn speech_fixture() -> Vec<i16> {
    let alaw = include_bytes!("data/speech.al");
    let mut out = Vec::new();
    G711::Pcma.decode_into(alaw, &mut out);
    out
}

#[test]
fn recorded_speech_does_not_trigger() {
    let speech = speech_fixture();
    assert!(speech.len() > 8000 * 10);
    assert!(
        speech.iter().any(|&v| v.abs() > 8000),
        "the fixture is loud speech"
    );
    assert_eq!(detect(&speech), "");
}

#[test]
fn digits_pressed_while_recorded_speech_plays() {
    // A caller keys a PIN while a prompt talks over them, at equal loudness.
    let speech = speech_fixture();
    let mut tones = Vec::new();
    silence(&mut tones, 500);
    for c in "246810#".chars() {
        let (r, k) = freqs(Digit::from_char(c).unwrap());
        tone(&mut tones, (r, 7000.0), (k, 7000.0), 100);
        silence(&mut tones, 900);
    }
    let mixed: Vec<i16> = tones
        .iter()
        .zip(speech.iter())
        .map(|(a, b)| (a + f64::from(*b) * 0.25).clamp(-32768.0, 32767.0) as i16)
        .collect();
    assert_eq!(detect(&mixed), "246810#");
}
