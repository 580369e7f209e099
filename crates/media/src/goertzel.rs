//! In-band DTMF detection (Goertzel) on 8 kHz linear audio, for a leg that
//! offers neither telephone-events nor SIP INFO.
//!
//! Blocks of 205 samples (25.6 ms; the DTMF frequencies sit close to whole
//! bins at this length) are analysed every 51 samples, so a 40 ms tone
//! always fills at least two whole blocks. A block holds a
//! digit when exactly one row and one column tone stand out: both above a
//! minimum level, each at least 8 dB over the other tones of its group,
//! twist within 8 dB (column stronger) or 4 dB (row stronger), each
//! nearer its nominal frequency than 3.5 % off, together 88 % of the
//! block's energy, and no second harmonic within 10 dB (speech has them,
//! DTMF has none). A digit is reported once, when it stops (two analyses
//! without it), if at least two analyses found it (32–38 ms of tone).

use std::collections::VecDeque;
use std::time::Duration;

use crate::dtmf::{Digit, DtmfEvent, DtmfSource};
use crate::g711::G711;

const BLOCK: usize = 205;
const HOP: usize = 51;
const RATE: f32 = 8000.0;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Keypad layout: row-major.
const KEYPAD: [[Digit; 4]; 4] = [
    [Digit::D1, Digit::D2, Digit::D3, Digit::A],
    [Digit::D4, Digit::D5, Digit::D6, Digit::B],
    [Digit::D7, Digit::D8, Digit::D9, Digit::C],
    [Digit::Star, Digit::D0, Digit::Pound, Digit::D],
];
/// Smallest tone amplitude accepted (16-bit scale; about -40 dB below full scale).
const MIN_AMPLITUDE: f32 = 300.0;
/// 8 dB.
const RELATIVE_PEAK: f32 = 6.3;
/// 8 dB, column (high group) stronger.
const NORMAL_TWIST: f32 = 6.3;
/// 4 dB, row (low group) stronger.
const REVERSE_TWIST: f32 = 2.5;
/// Share of the block energy the two tones must carry.
const TONE_SHARE: f32 = 0.88;
/// Largest second-harmonic power relative to its fundamental (-10 dB; the
/// row tones' second harmonics sit near the column tones, so no tighter).
const HARMONIC_LIMIT: f32 = 0.1;
/// Relative offsets probed around each tone: a tone within ±1.5 % (which
/// must be accepted) peaks at one of nominal, ±`NEAR`; one off by 3.5 %
/// or more (which must be rejected) is nearer ±`FAR`.
const NEAR: f32 = 0.012;
const FAR: f32 = 0.035;
/// Analyses without the digit that end it.
const END_MISSES: u32 = 2;
/// Analyses with the digit needed to report it.
const MIN_HITS: u32 = 2;

fn coeff(freq: f32) -> f32 {
    2.0 * (2.0 * core::f32::consts::PI * freq / RATE).cos()
}

/// Goertzel power of `coeff`'s frequency over `x`.
fn goertzel(x: &[f32], coeff: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

/// The eight DTMF powers in one pass (eight independent lanes vectorise).
fn goertzel8(x: &[f32], coeffs: &[f32; 8]) -> [f32; 8] {
    let mut s1 = [0.0f32; 8];
    let mut s2 = [0.0f32; 8];
    for &v in x {
        for k in 0..8 {
            let s0 = v + coeffs[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    let mut p = [0.0f32; 8];
    for k in 0..8 {
        p[k] = (s1[k] * s1[k] + s2[k] * s2[k] - coeffs[k] * s1[k] * s2[k]).max(0.0);
    }
    p
}

/// Finds DTMF digits in 8 kHz audio.
#[derive(Debug)]
pub struct InbandDtmfDetector {
    buf: Vec<f32>,
    coeffs: [f32; 8],
    harmonics: [f32; 8],
    /// Per tone: slightly below, slightly above, well below, well above.
    offsets: [[f32; 4]; 8],
    active: Option<(Digit, u32)>,
    misses: u32,
    events: VecDeque<DtmfEvent>,
}

impl Default for InbandDtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDtmfDetector {
    /// A detector that has heard nothing.
    #[must_use]
    pub fn new() -> Self {
        let mut coeffs = [0.0; 8];
        let mut harmonics = [0.0; 8];
        let mut offsets = [[0.0; 4]; 8];
        for (i, f) in ROWS.iter().chain(COLS.iter()).enumerate() {
            coeffs[i] = coeff(*f);
            harmonics[i] = coeff(2.0 * f);
            offsets[i] = [
                coeff(f * (1.0 - NEAR)),
                coeff(f * (1.0 + NEAR)),
                coeff(f * (1.0 - FAR)),
                coeff(f * (1.0 + FAR)),
            ];
        }
        Self {
            buf: Vec::with_capacity(BLOCK),
            coeffs,
            harmonics,
            offsets,
            active: None,
            misses: 0,
            events: VecDeque::new(),
        }
    }

    /// Feeds 16-bit linear samples.
    pub fn handle_samples(&mut self, samples: &[i16]) {
        for &s in samples {
            self.push(f32::from(s));
        }
    }

    /// Feeds a G.711 payload.
    pub fn handle_g711(&mut self, codec: G711, payload: &[u8]) {
        let table = codec.decode_table();
        for &c in payload {
            self.push(f32::from(table[usize::from(c)]));
        }
    }

    fn push(&mut self, sample: f32) {
        self.buf.push(sample);
        if self.buf.len() == BLOCK {
            let found = self.analyse();
            self.step(found);
            self.buf.drain(..HOP);
        }
    }

    /// Reports a digit still sounding (the audio ended).
    pub fn finish(&mut self) {
        self.end_digit();
        self.buf.clear();
    }

    /// The next digit heard.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    fn step(&mut self, found: Option<Digit>) {
        match (self.active, found) {
            (Some((d, hits)), Some(f)) if d == f => {
                self.active = Some((d, hits.saturating_add(1)));
                self.misses = 0;
            }
            (Some(_), Some(other)) => {
                self.end_digit();
                self.active = Some((other, 1));
            }
            (Some(_), None) => {
                self.misses += 1;
                if self.misses >= END_MISSES {
                    self.end_digit();
                }
            }
            (None, Some(f)) => self.active = Some((f, 1)),
            (None, None) => {}
        }
    }

    fn end_digit(&mut self) {
        if let Some((digit, hits)) = self.active.take()
            && hits >= MIN_HITS
        {
            let samples = (hits as usize - 1) * HOP + BLOCK;
            self.events.push_back(DtmfEvent {
                digit,
                duration: Duration::from_micros(samples as u64 * 125),
                source: DtmfSource::Inband,
                end_seen: true,
            });
            if self.events.len() > 64 {
                self.events.pop_front();
            }
        }
        self.misses = 0;
    }

    fn analyse(&self) -> Option<Digit> {
        let x = &self.buf[..];
        let energy: f32 = x.iter().map(|v| v * v).sum();
        let n = BLOCK as f32;
        let min_power = (MIN_AMPLITUDE * n / 2.0).powi(2);
        let p = goertzel8(x, &self.coeffs);
        let best = |group: &[f32]| -> (usize, f32) {
            group
                .iter()
                .copied()
                .enumerate()
                .fold((0, 0.0), |acc, (i, v)| if v > acc.1 { (i, v) } else { acc })
        };
        let (r, pr) = best(&p[..4]);
        let (c, pc) = best(&p[4..]);
        // Cheap early exit; the exact level check is on the tones' peaks below.
        if pr < min_power / 4.0 || pc < min_power / 4.0 {
            return None;
        }
        let stands_out = |group: &[f32], idx: usize, peak: f32| {
            group
                .iter()
                .enumerate()
                .all(|(i, &v)| i == idx || v * RELATIVE_PEAK < peak)
        };
        if !stands_out(&p[..4], r, pr) || !stands_out(&p[4..], c, pc) {
            return None;
        }
        // The tone may sit up to 1.5 % off nominal: measure it at its peak,
        // and reject it when it is nearer 3.5 % off than nominal.
        let mut tone_power = [pr, pc];
        for (k, idx) in [r, 4 + c].into_iter().enumerate() {
            let [below, above, far_below, far_above] = self.offsets[idx].map(|co| goertzel(x, co));
            let peak = tone_power[k].max(below).max(above);
            if far_below > peak || far_above > peak {
                return None;
            }
            tone_power[k] = peak;
        }
        let [pr, pc] = tone_power;
        if pr < min_power || pc < min_power {
            return None;
        }
        if pc > pr * NORMAL_TWIST || pr > pc * REVERSE_TWIST {
            return None;
        }
        // A tone of power P over n samples carries 2P/n of energy.
        if (tone_power[0] + tone_power[1]) * 2.0 / n < TONE_SHARE * energy {
            return None;
        }
        let h_row = goertzel(x, self.harmonics[r]);
        let h_col = goertzel(x, self.harmonics[4 + c]);
        if h_row > tone_power[0] * HARMONIC_LIMIT || h_col > tone_power[1] * HARMONIC_LIMIT {
            return None;
        }
        Some(KEYPAD[r][c])
    }
}
