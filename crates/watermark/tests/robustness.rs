//! Robustness of the mark on speech-like audio (issue 7, item 6): 50
//! exports of 70-120 s, stereo, made from the committed prompt audio with
//! pauses, each marked with its own entry index and attacked by
//!
//! - a G.711 round trip (A-law and µ-law), cut to a random 60 s excerpt;
//! - Opus at 16 kbit/s (opusenc/opusdec; complexity 5 of 10, which keeps
//!   the encoder's time to two thirds and its quality a little lower),
//!   cut to a random 60 s excerpt;
//! - white noise at 20 dB SNR, cut to a random 60 s excerpt;
//! - the random 60 s excerpt alone.
//!
//! Every attacked copy must name its own index; a wrong index (a wrong
//! person named) fails the test at once. The ±3% speed change is measured
//! and reported, not required. Unmarked audio must give nothing.

use std::path::Path;
use std::process::Command;

use callward_media::G711;
use callward_watermark::{Detector, Key, Strength, mark_interleaved};

const RATE: usize = 8000;
const EXPORTS: u32 = 50;

/// A tiny deterministic generator for the test's choices and noise.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn gaussian(&mut self) -> f64 {
        let u1 = (self.next() >> 11) as f64 / (1u64 << 53) as f64 + 1e-300;
        let u2 = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn prompts() -> Vec<Vec<i16>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    let mut out = Vec::new();
    for lang in ["en", "es"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(lang))
            .expect("prompts dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "al"))
            .collect();
        names.sort();
        for p in names {
            let codes = std::fs::read(&p).expect("prompt");
            let mut pcm = Vec::new();
            G711::Pcma.decode_into(&codes, &mut pcm);
            out.push(pcm);
        }
    }
    assert!(out.len() > 20, "expected the committed prompts");
    out
}

/// One channel of `seconds` of prompts in random order with 0.2-1.5 s pauses.
fn speech(rng: &mut Rng, prompts: &[Vec<i16>], seconds: usize) -> Vec<i16> {
    let len = seconds * RATE;
    let mut out = Vec::with_capacity(len + RATE * 10);
    while out.len() < len {
        out.extend_from_slice(&prompts[rng.below(prompts.len())]);
        let gap = RATE / 5 + rng.below(RATE * 13 / 10);
        out.extend(std::iter::repeat_n(0i16, gap));
    }
    out.truncate(len);
    out
}

fn interleave(l: &[i16], r: &[i16]) -> Vec<i16> {
    l.iter().zip(r).flat_map(|(a, b)| [*a, *b]).collect()
}

fn trim(rng: &mut Rng, stereo: &[i16]) -> Vec<i16> {
    let frames = stereo.len() / 2;
    let keep = 60 * RATE;
    let start = rng.below(frames - keep + 1);
    stereo[start * 2..(start + keep) * 2].to_vec()
}

fn g711_round_trip(stereo: &[i16], law: G711) -> Vec<i16> {
    let mut codes = Vec::new();
    law.encode_into(stereo, &mut codes);
    let mut out = Vec::new();
    law.decode_into(&codes, &mut out);
    out
}

fn add_noise(rng: &mut Rng, stereo: &[i16], snr_db: f64) -> Vec<i16> {
    let power = stereo.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / stereo.len() as f64;
    let sigma = (power / 10f64.powf(snr_db / 10.0)).sqrt();
    stereo
        .iter()
        .map(|&s| {
            (f64::from(s) + sigma * rng.gaussian())
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

fn write_wav(path: &Path, samples: &[i16], channels: u16) {
    let mut b = Vec::new();
    let data = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&(8000 * 2 * u32::from(channels)).to_le_bytes());
    b.extend_from_slice(&(2 * channels).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, b).expect("write wav");
}

/// Reads the data chunk of a 16-bit WAV (as sox and opusdec write them).
fn read_wav(path: &Path) -> Vec<i16> {
    let b = std::fs::read(path).expect("read wav");
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().expect("4 bytes")) as usize;
        if &b[i..i + 4] == b"data" {
            let end = (i + 8 + len).min(b.len());
            return b[i + 8..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
        }
        i += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn opus_round_trip(dir: &Path, stereo: &[i16]) -> Vec<i16> {
    let wav = dir.join("in.wav");
    let opus = dir.join("x.opus");
    let back = dir.join("back.wav");
    write_wav(&wav, stereo, 2);
    run(Command::new("opusenc")
        .args(["--quiet", "--bitrate", "16", "--comp", "5"])
        .arg(&wav)
        .arg(&opus));
    run(Command::new("opusdec")
        .args(["--quiet", "--rate", "8000"])
        .arg(&opus)
        .arg(&back));
    read_wav(&back)
}

fn speed(dir: &Path, stereo: &[i16], factor: f64) -> Vec<i16> {
    let wav = dir.join("in.wav");
    let back = dir.join("speed.wav");
    write_wav(&wav, stereo, 2);
    run(Command::new("sox").arg(&wav).arg(&back).args([
        "speed",
        &format!("{factor}"),
        "rate",
        "8000",
    ]));
    read_wav(&back)
}

#[derive(Default)]
struct Tally {
    found: u32,
    missed: u32,
    scores: Vec<f64>,
}

impl Tally {
    fn add(&mut self, name: &str, want: u32, got: Outcome) {
        match got {
            Ok(f) => {
                assert_eq!(
                    f.index, want,
                    "{name}: a wrong index was named: false attribution"
                );
                self.found += 1;
                self.scores.push(f.sync_score);
            }
            Err(e) => {
                eprintln!("{name}: export {want}: {e}");
                self.missed += 1;
            }
        }
    }

    fn report(&self, name: &str) -> f64 {
        let n = self.found + self.missed;
        let rate = f64::from(self.found) / f64::from(n.max(1));
        let mut s = self.scores.clone();
        s.sort_by(f64::total_cmp);
        let min = s.first().copied().unwrap_or(0.0);
        let median = s.get(s.len() / 2).copied().unwrap_or(0.0);
        eprintln!(
            "{name:<28} {}/{n} detected ({:.0}%), sync score min {min:.1} median {median:.1}",
            self.found,
            rate * 100.0
        );
        rate
    }
}

const ATTACKS: [&str; 7] = [
    "60 s excerpt",
    "G.711 A-law + excerpt",
    "G.711 mu-law + excerpt",
    "Opus 16 kbit/s + excerpt",
    "noise 20 dB SNR + excerpt",
    "speed +3% + excerpt",
    "speed -3% + excerpt",
];

type Outcome = Result<callward_watermark::Found, callward_watermark::NotFound>;

/// One export: its index, the SNR of marked vs original (dB), and the
/// detector's answer after each attack in [`ATTACKS`].
fn one_export(
    detector: &Detector,
    prompts: &[Vec<i16>],
    dir: &Path,
    e: u32,
) -> (u32, f64, Vec<Outcome>) {
    let key = Key::default();
    let mut rng = Rng(0x5EED ^ (u64::from(e) << 32));
    // Entry indices spread over the 32-bit range, each different.
    let index = (rng.next() as u32 & 0x00FF_FFFF) * 97 + e;
    let seconds = 70 + rng.below(51);
    let left = speech(&mut rng, prompts, seconds);
    let right = speech(&mut rng, prompts, seconds);
    let original = interleave(&left, &right);
    let mut marked = original.clone();
    mark_interleaved(&key, index, Strength::default(), &mut marked, 2);
    let signal: f64 = original.iter().map(|&s| f64::from(s).powi(2)).sum();
    let diff: f64 = original
        .iter()
        .zip(&marked)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let snr = 10.0 * (signal / diff).log10();
    let attacked = [
        trim(&mut rng, &marked),
        g711_round_trip(&trim(&mut rng, &marked), G711::Pcma),
        g711_round_trip(&trim(&mut rng, &marked), G711::Pcmu),
        opus_round_trip(dir, &trim(&mut rng, &marked)),
        {
            let excerpt = trim(&mut rng, &marked);
            add_noise(&mut rng, &excerpt, 20.0)
        },
        speed(dir, &trim(&mut rng, &marked), 1.03),
        speed(dir, &trim(&mut rng, &marked), 0.97),
    ];
    let outcomes = attacked
        .iter()
        .map(|audio| detector.detect_interleaved(audio, 2))
        .collect();
    (index, snr, outcomes)
}

#[test]
fn fifty_exports_survive_codecs_noise_and_excerpts() {
    let detector = Detector::new(&Key::default());
    let prompts = prompts();
    let count: u32 = std::env::var("WATERMARK_EXPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EXPORTS);
    // Two workers: opusenc is most of the time.
    let results: Vec<(u32, f64, Vec<Outcome>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u32)
            .map(|w| {
                let (detector, prompts) = (&detector, &prompts);
                s.spawn(move || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    (0..count)
                        .filter(|e| e % 2 == w)
                        .map(|e| one_export(detector, prompts, dir.path(), e))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let mut tallies: Vec<Tally> = ATTACKS.iter().map(|_| Tally::default()).collect();
    let mut snr_sum = 0.0;
    let mut indices = std::collections::BTreeSet::new();
    for (index, snr, outcomes) in results {
        assert!(indices.insert(index), "indices are distinct");
        snr_sum += snr;
        for ((name, tally), got) in ATTACKS.iter().zip(&mut tallies).zip(outcomes) {
            tally.add(name, index, got);
        }
    }
    assert_eq!(indices.len(), count as usize);
    eprintln!(
        "{count} exports, mean SNR of marked vs original {:.1} dB",
        snr_sum / f64::from(count)
    );
    let rates: Vec<f64> = ATTACKS
        .iter()
        .zip(&tallies)
        .map(|(name, t)| t.report(name))
        .collect();
    // Required: every attack but the speed change, in every export.
    for (name, rate) in ATTACKS.iter().zip(&rates).take(5) {
        assert!(*rate >= 1.0, "{name}: detection rate {rate}");
    }
}

#[test]
fn unmarked_audio_names_no_one() {
    let detector = Detector::new(&Key::default());
    let prompts = prompts();
    let mut rng = Rng(0xC1EA);
    for _ in 0..5 {
        let l = speech(&mut rng, &prompts, 60);
        let r = speech(&mut rng, &prompts, 60);
        let got = detector.detect_interleaved(&interleave(&l, &r), 2);
        assert!(got.is_err(), "unmarked audio gave {got:?}");
    }
    // Marked under another key: not ours either.
    let l = speech(&mut rng, &prompts, 60);
    let mut marked = l;
    mark_interleaved(
        &Key::new([7; 32]),
        1234,
        Strength::default(),
        &mut marked,
        1,
    );
    assert!(detector.detect(&[&marked]).is_err());
}
