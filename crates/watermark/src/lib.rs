//! A leak-tracing watermark for 8 kHz speech: every audio copy callward
//! releases carries, under the speech, the index of the access-log entry
//! that released it; the detector recovers the index from a copy that has
//! been re-encoded (G.711, Opus), made noisy or cut to an excerpt.
//!
//! Pure and sans-IO: [`Embedder`] takes 16-bit samples and returns marked
//! ones, one 20 ms frame late, in constant memory, so an export and a live
//! playback stream use the same code; [`Detector`] takes whole channels.
//! The method (LPC-shaped spread spectrum, a repeating 8.192 s block with
//! sync chips, a CRC-24 and a convolutional code) and its measured
//! robustness are in `docs/watermark.md`.

mod code;
mod detect;
mod embed;
mod fft;
mod lpc;
mod pattern;

pub use detect::{Detector, Found, NotFound, SYNC_THRESHOLD};
pub use embed::{DEFAULT_STRENGTH_DB, Embedder, Strength, mark_interleaved};
pub use pattern::{BLOCK, Key};

/// The sample rate marks are made and read at.
pub const SAMPLE_RATE: u32 = 8000;

/// Largest index a mark carries.
pub const MAX_INDEX: u64 = u32::MAX as u64;
