//! The detector: whitens each channel with its own LPC, folds the whole
//! file onto one block, finds the block's alignment from the sync chips
//! (one FFT correlation over every offset), then decodes the payload.

use crate::code::{self, CODED_BITS};
use crate::fft::circular_correlation;
use crate::lpc::{self, FRAME, HISTORY, ORDER};
use crate::pattern::{BLOCK, Key, Pattern, SYNC};

/// The sync score a mark must reach. Unmarked audio scores like the
/// largest of 65,536 standard normal draws (about 4.5, rarely above 5.5);
/// the chance that one exceeds 7 is below 1 in 10^7.
pub const SYNC_THRESHOLD: f64 = 7.0;
/// Normalised residuals are clipped here: pitch pulses would otherwise
/// dominate the correlation.
const CLIP: f64 = 3.0;
/// Frames more than this far (dB) below the loud frames are left out.
const GATE_DB: f64 = 30.0;

/// A mark found and checked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Found {
    /// The access-log entry index it carries.
    pub index: u32,
    /// The sync score (standard deviations above chance).
    pub sync_score: f64,
    /// Block position of the file's first sample.
    pub offset: usize,
    /// Coded bits whose hard decision differs from the decoded codeword.
    pub bit_errors: usize,
    /// Coded bits per block.
    pub coded_bits: usize,
    /// Seconds of audio that took part (not gated out), over all channels.
    pub seconds_used: f64,
}

/// Why no mark was reported.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NotFound {
    /// Too little audio (or only silence) to look at.
    #[error("too little audio with sound in it ({seconds:.1} s) to look for a watermark")]
    TooShort {
        /// Seconds that took part.
        seconds: f64,
    },
    /// No alignment stood out: no mark, or one destroyed.
    #[error("no watermark found (best sync score {best_score:.1}, need {SYNC_THRESHOLD})")]
    NoSync {
        /// The best sync score seen.
        best_score: f64,
    },
    /// A mark was aligned but its payload failed its check: too damaged
    /// to name anyone.
    #[error(
        "a watermark is present (sync score {sync_score:.1}) but its payload failed its check: too damaged to attribute"
    )]
    Unreadable {
        /// The sync score.
        sync_score: f64,
    },
}

/// Detects marks made under one key.
pub struct Detector {
    pattern: Pattern,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Detector(..)")
    }
}

/// Least audio worth looking at, in seconds of sound.
const MIN_SECONDS: f64 = 2.0;

impl Detector {
    /// A detector for `key`.
    pub fn new(key: &Key) -> Self {
        Self {
            pattern: Pattern::new(key),
        }
    }

    /// Looks for the mark in interleaved audio of `channels` channels.
    pub fn detect_interleaved(&self, samples: &[i16], channels: usize) -> Result<Found, NotFound> {
        if channels == 0 {
            return Err(NotFound::TooShort { seconds: 0.0 });
        }
        let split: Vec<Vec<i16>> = (0..channels)
            .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
            .collect();
        let refs: Vec<&[i16]> = split.iter().map(Vec::as_slice).collect();
        self.detect(&refs)
    }

    /// Looks for the mark in time-aligned channels (each 8 kHz); all
    /// channels count together.
    pub fn detect(&self, channels: &[&[i16]]) -> Result<Found, NotFound> {
        let mut folded = vec![0.0f64; BLOCK];
        let mut used_frames = 0usize;
        for channel in channels {
            used_frames += fold_whitened(channel, &mut folded);
        }
        let seconds = (used_frames * FRAME) as f64 / 8000.0;
        if seconds < MIN_SECONDS {
            return Err(NotFound::TooShort { seconds });
        }
        let (offset, sync_score) = self.align(&folded);
        // NaN counts as not found.
        if sync_score.is_nan() || sync_score < SYNC_THRESHOLD {
            return Err(NotFound::NoSync {
                best_score: sync_score,
            });
        }
        let soft = self.soft_bits(&folded, offset);
        let info = code::decode(&soft);
        let Some(index) = code::check_info(info, self.pattern.mask) else {
            return Err(NotFound::Unreadable { sync_score });
        };
        let coded = code::encode(info);
        let bit_errors = coded
            .iter()
            .zip(&soft)
            .filter(|(b, s)| (**b == 1) != (**s > 0.0))
            .count();
        Ok(Found {
            index,
            sync_score,
            offset,
            bit_errors,
            coded_bits: CODED_BITS,
            seconds_used: seconds,
        })
    }

    /// The best block alignment and its score.
    fn align(&self, folded: &[f64]) -> (usize, f64) {
        let sync: Vec<f64> = self
            .pattern
            .chip
            .iter()
            .zip(&self.pattern.role)
            .map(|(&c, &r)| if r == SYNC { f64::from(c) } else { 0.0 })
            .collect();
        let sync_used: Vec<f64> = sync.iter().map(|s| s.abs()).collect();
        let squared: Vec<f64> = folded.iter().map(|f| f * f).collect();
        let corr = circular_correlation(folded, &sync);
        let var = circular_correlation(&squared, &sync_used);
        let mut best = (0usize, f64::NEG_INFINITY);
        for (o, (c, v)) in corr.iter().zip(&var).enumerate() {
            if *v > 0.0 {
                let z = c / v.sqrt();
                if z > best.1 {
                    best = (o, z);
                }
            }
        }
        best
    }

    /// Per coded bit, the correlation over its positions in units of its
    /// standard deviation; positive favours a 1.
    fn soft_bits(&self, folded: &[f64], offset: usize) -> [f64; CODED_BITS] {
        let mut sum = [0.0f64; CODED_BITS];
        let mut var = [0.0f64; CODED_BITS];
        for (j, (&chip, &role)) in self.pattern.chip.iter().zip(&self.pattern.role).enumerate() {
            if role == SYNC {
                continue;
            }
            // Block position j holds folded sample j - offset.
            let f = folded[(j + BLOCK - offset) % BLOCK];
            sum[usize::from(role)] += f64::from(chip) * f;
            var[usize::from(role)] += f * f;
        }
        let mut soft = [0.0f64; CODED_BITS];
        for k in 0..CODED_BITS {
            soft[k] = if var[k] > 0.0 {
                sum[k] / var[k].sqrt()
            } else {
                0.0
            };
        }
        soft
    }
}

/// Whitens `x` frame by frame with its own LPC, normalises each frame's
/// residual to unit power, clips it and adds it into `folded` at the
/// sample's block position. Returns the number of frames used.
fn fold_whitened(x: &[i16], folded: &mut [f64]) -> usize {
    let frames = x.len() / FRAME;
    let power: Vec<f64> = (0..frames)
        .map(|f| {
            x[f * FRAME..(f + 1) * FRAME]
                .iter()
                .map(|&s| f64::from(s) * f64::from(s))
                .sum::<f64>()
                / FRAME as f64
        })
        .collect();
    let mut sorted = power.clone();
    sorted.sort_by(f64::total_cmp);
    let loud = sorted
        .get(sorted.len().saturating_sub(1) * 95 / 100)
        .copied()
        .unwrap_or(0.0);
    let floor = loud * 10f64.powf(-GATE_DB / 10.0);
    let sample = |i: usize| x.get(i).map_or(0.0, |&s| f64::from(s));
    let mut used = 0;
    let mut residual = [0.0f64; FRAME];
    for (f, &p) in power.iter().enumerate() {
        if p <= floor || p < 1.0 {
            continue;
        }
        let start = f * FRAME;
        let from = start.saturating_sub(HISTORY);
        let window: Vec<f64> = (from..start + FRAME).map(sample).collect();
        let Some(a) = lpc::analyse(&window) else {
            continue;
        };
        let mut energy = 0.0;
        for (i, e) in residual.iter_mut().enumerate() {
            let n = start + i;
            let mut v = sample(n);
            for (k, a) in a.iter().enumerate().take(ORDER) {
                if let Some(m) = n.checked_sub(k + 1) {
                    v += a * sample(m);
                }
            }
            *e = v;
            energy += v * v;
        }
        let rms = (energy / FRAME as f64).sqrt();
        if rms <= 0.0 || !rms.is_finite() {
            continue;
        }
        for (i, e) in residual.iter().enumerate() {
            folded[(start + i) % BLOCK] += (e / rms).clamp(-CLIP, CLIP);
        }
        used += 1;
    }
    used
}
