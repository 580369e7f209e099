//! The streaming embedder (sans-IO): 16-bit samples in, marked samples out,
//! one 20 ms frame behind, in constant memory.

use crate::code;
use crate::lpc::{self, FRAME, HISTORY, ORDER};
use crate::pattern::{BLOCK, Key, Pattern, SYNC};

/// How far below the speech the mark lies, as the signal-to-watermark
/// ratio in dB within every 20 ms frame. The default is 20 dB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Strength(f64);

impl Strength {
    /// A ratio between 10 and 60 dB; `None` outside.
    pub fn from_db(db: f64) -> Option<Self> {
        (10.0..=60.0).contains(&db).then_some(Self(db))
    }

    /// The ratio in dB.
    pub fn db(self) -> f64 {
        self.0
    }
}

impl Default for Strength {
    fn default() -> Self {
        Self(DEFAULT_STRENGTH_DB)
    }
}

/// The default signal-to-watermark ratio, dB.
pub const DEFAULT_STRENGTH_DB: f64 = 20.0;

/// Marks one channel of 8 kHz 16-bit audio with an entry index.
///
/// Feed samples with [`Embedder::process`] as they come (any sizes); it
/// appends marked samples to `out`, the same number overall but one frame
/// (160 samples, 20 ms) late. [`Embedder::finish`] flushes the rest. The
/// mark is a pseudo-random ±1 chip sequence (sync and coded payload, one
/// chip per sample) passed through each frame's LPC synthesis filter, so it
/// takes the speech's spectral envelope, and scaled to the frame's power
/// less [`Strength`]. Silence gets no mark.
pub struct Embedder {
    /// Signed chip per block position: the chip, times the coded bit's
    /// sign where the position carries payload.
    signal: Vec<i8>,
    /// Samples fed so far and not yet marked (at most one frame).
    pending: Vec<i16>,
    /// The last [`HISTORY`] input samples before `pending`.
    history: [f64; HISTORY],
    /// Last outputs of the synthesis filter.
    state: [f64; ORDER],
    gain: f64,
    ratio: f64,
    /// Block position of the first pending sample.
    position: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// An embedder of `index` under `key`.
    pub fn new(key: &Key, index: u32, strength: Strength) -> Self {
        let pattern = Pattern::new(key);
        let coded = code::encode(code::info_bits(index, pattern.mask));
        let signal = pattern
            .chip
            .iter()
            .zip(&pattern.role)
            .map(|(&chip, &role)| {
                if role == SYNC || coded[usize::from(role)] == 1 {
                    chip
                } else {
                    -chip
                }
            })
            .collect();
        Self {
            signal,
            pending: Vec::with_capacity(FRAME),
            history: [0.0; HISTORY],
            state: [0.0; ORDER],
            gain: 0.0,
            ratio: 10f64.powf(-strength.db() / 10.0),
            position: 0,
        }
    }

    /// Marks what completes a frame; appends the marked samples to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        for &x in input {
            self.pending.push(x);
            if self.pending.len() == FRAME {
                self.mark_pending(out);
            }
        }
    }

    /// Marks and appends what is still pending (end of stream).
    pub fn finish(&mut self, out: &mut Vec<i16>) {
        if !self.pending.is_empty() {
            self.mark_pending(out);
        }
    }

    fn mark_pending(&mut self, out: &mut Vec<i16>) {
        let n = self.pending.len();
        let mut window = [0.0f64; HISTORY + FRAME];
        window[..HISTORY].copy_from_slice(&self.history);
        for (w, &x) in window[HISTORY..].iter_mut().zip(&self.pending) {
            *w = f64::from(x);
        }
        let power = self
            .pending
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            / n as f64;
        let mut shaped = [0.0f64; FRAME];
        let target = match lpc::analyse(&window[..HISTORY + n]) {
            Some(a) => {
                for (i, u) in shaped.iter_mut().take(n).enumerate() {
                    let chip = f64::from(self.signal[(self.position + i) % BLOCK]);
                    let feedback: f64 = a.iter().zip(&self.state).map(|(a, s)| a * s).sum();
                    let v = chip - feedback;
                    self.state.rotate_right(1);
                    self.state[0] = v;
                    *u = v;
                }
                let shaped_power = shaped[..n].iter().map(|u| u * u).sum::<f64>() / n as f64;
                if shaped_power > 0.0 && shaped_power.is_finite() {
                    (self.ratio * power / shaped_power).sqrt()
                } else {
                    0.0
                }
            }
            None => {
                self.state = [0.0; ORDER];
                0.0
            }
        };
        for (i, (&x, u)) in self.pending.iter().zip(&shaped).enumerate() {
            // The gain glides from the last frame's to this one's.
            let g = self.gain + (target - self.gain) * (i + 1) as f64 / n as f64;
            let y = (f64::from(x) + g * u).round();
            // Clamped to the sample range, so the cast keeps the value.
            out.push(y.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16);
        }
        self.gain = target;
        // Keep the newest HISTORY input samples.
        let total = HISTORY + n;
        self.history
            .copy_from_slice(&window[total - HISTORY..total]);
        self.position = (self.position + n) % BLOCK;
        self.pending.clear();
    }
}

/// Marks interleaved audio of `channels` channels in place, each channel
/// with its own embedder (all with the same index and block alignment).
pub fn mark_interleaved(
    key: &Key,
    index: u32,
    strength: Strength,
    samples: &mut [i16],
    channels: usize,
) {
    if channels == 0 {
        return;
    }
    let frames = samples.len() / channels;
    for c in 0..channels {
        let mut embedder = Embedder::new(key, index, strength);
        let mut marked = Vec::with_capacity(frames);
        let mut chunk = Vec::with_capacity(FRAME);
        for f in 0..frames {
            chunk.push(samples[f * channels + c]);
            if chunk.len() == FRAME {
                embedder.process(&chunk, &mut marked);
                chunk.clear();
            }
        }
        embedder.process(&chunk, &mut marked);
        embedder.finish(&mut marked);
        for (f, y) in marked.into_iter().enumerate().take(frames) {
            samples[f * channels + c] = y;
        }
    }
}
