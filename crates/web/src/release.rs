//! Releasing a recording's audio to the console: the binary gives the web
//! crate one [`Recordings`] (`AppState::set_recordings`) over the path
//! `callward recording export` uses (`crates/callward/src/release.rs`):
//! the key is released only against the access entry already appended,
//! the recording is authenticated whole, and the PCM is watermarked with
//! the entry's index. The console decides and logs first
//! (`console/playback.rs`); this only turns an entry into a WAV.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A released recording: a two-channel 16-bit PCM WAV, watermarked.
pub struct Wav {
    /// The whole file, header included.
    pub bytes: Vec<u8>,
    /// Its length in seconds.
    pub seconds: f64,
}

impl fmt::Debug for Wav {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the audio itself.
        f.debug_struct("Wav")
            .field("bytes", &self.bytes.len())
            .field("seconds", &self.seconds)
            .finish()
    }
}

/// What [`Recordings::wav`] returns: the WAV, or why it was not released,
/// in words for the person who asked (a recording deleted at retention
/// end, sealed for privilege review, damaged).
pub type WavFuture<'a> = Pin<Box<dyn Future<Output = Result<Wav, String>> + Send + 'a>>;

/// The recordings, as the console may release them.
pub trait Recordings: Send + Sync + fmt::Debug {
    /// The WAV of `recording` (of call `call_id`) released under the
    /// access entry `entry`, which the caller has already appended.
    fn wav<'a>(&'a self, call_id: &'a str, recording: &'a str, entry: u64) -> WavFuture<'a>;
}
