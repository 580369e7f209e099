//! Live monitoring's seam: the switch's recorded calls in progress, as the
//! console sees them. `serve` connects the switch's registry
//! (`callward_switch::LiveCalls`) through [`LiveAudio`]; the console
//! decides who may listen and logs it first (`console/live.rs`).

use std::sync::Arc;

use callward_core::journal::OpenCall;
use tokio::sync::broadcast;

/// The audio format of every chunk: G.711 A-law, 8 kHz, two channels
/// interleaved (station left, outside right), as recorded.
pub const AUDIO_FORMAT: &str = "audio/pcma;rate=8000;channels=2";

/// Recorded calls in progress and their audio. Only recorded calls are
/// listed: a privileged call is never recorded, so never here.
pub trait LiveAudio: Send + Sync + std::fmt::Debug {
    /// The calls, oldest first.
    fn calls(&self) -> Vec<OpenCall>;
    /// Subscribes to call `id`'s audio from now on ([`AUDIO_FORMAT`]
    /// chunks; the channel closes when the call ends), if it is listed.
    fn listen(&self, id: &str) -> Option<(OpenCall, broadcast::Receiver<Arc<[u8]>>)>;
}
