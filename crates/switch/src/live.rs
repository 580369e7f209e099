//! Live monitoring: the recorded calls in progress, and their audio for
//! whoever is allowed to listen.
//!
//! Only a call that gets a recording tap is listed, so a privileged call
//! (never recorded, invariant 1) can never be listened to: there is no
//! audio of it anywhere to hand out. The audio is what the tap gives the
//! recorder, the same bytes, copied to each listener without waiting: a
//! slow listener loses chunks, the call and its recording never wait for
//! it. Who may listen, and the log entry first, are decided by the web
//! console before it subscribes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use callward_core::journal::OpenCall;
use tokio::sync::broadcast;

/// Chunks a listener may fall behind before it loses the oldest.
const BACKLOG: usize = 64;

/// The audio format of every chunk: G.711 A-law, 8 kHz, two channels
/// interleaved (station left, outside right), as recorded.
pub const AUDIO_FORMAT: &str = "audio/pcma;rate=8000;channels=2";

/// Recorded calls in progress, shared by the switch (which adds, feeds and
/// removes them) and the console (which lists them and subscribes).
#[derive(Debug, Default)]
pub struct LiveCalls {
    calls: Mutex<HashMap<String, Live>>,
}

#[derive(Debug)]
struct Live {
    call: OpenCall,
    audio: broadcast::Sender<Arc<[u8]>>,
}

/// A listener's view of one call: what it is, and its audio from now on.
#[derive(Debug)]
pub struct Listener {
    /// The call as journaled when its recording started.
    pub call: OpenCall,
    /// Its audio chunks ([`AUDIO_FORMAT`]); closed when the call ends.
    pub audio: broadcast::Receiver<Arc<[u8]>>,
}

impl LiveCalls {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The recorded calls in progress, oldest first.
    pub fn list(&self) -> Vec<OpenCall> {
        let mut calls: Vec<OpenCall> = self.lock().values().map(|l| l.call.clone()).collect();
        calls.sort_by(|a, b| a.offered_at.cmp(&b.offered_at).then(a.id.cmp(&b.id)));
        calls
    }

    /// Subscribes to call `id`'s audio, if it is a recorded call in
    /// progress.
    pub fn listen(&self, id: &str) -> Option<Listener> {
        self.lock().get(id).map(|l| Listener {
            call: l.call.clone(),
            audio: l.audio.subscribe(),
        })
    }

    /// Lists `call` until the returned handle is dropped.
    pub(crate) fn add(self: &Arc<Self>, call: OpenCall) -> LiveEntry {
        let id = call.id.clone();
        let (audio, _) = broadcast::channel(BACKLOG);
        self.lock().insert(id.clone(), Live { call, audio });
        LiveEntry {
            calls: Arc::clone(self),
            id,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One call listed in [`LiveCalls`]; dropping it (the recording closed,
/// the call ended or its task failed) removes the call and ends every
/// listener's stream.
#[derive(Debug)]
pub(crate) struct LiveEntry {
    calls: Arc<LiveCalls>,
    id: String,
}

impl LiveEntry {
    /// Hands `audio` to the call's listeners, if any, without waiting.
    pub(crate) fn publish(&self, audio: &[u8]) {
        if audio.is_empty() {
            return;
        }
        let calls = self.calls.lock();
        if let Some(live) = calls.get(&self.id)
            && live.audio.receiver_count() > 0
        {
            // No listener left between the count and the send: nothing to do.
            let _ = live.audio.send(Arc::from(audio));
        }
    }
}

impl Drop for LiveEntry {
    fn drop(&mut self) {
        self.calls.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use callward_core::ids::{FacilityId, StationId};
    use jiff::Timestamp;

    use super::*;

    fn call(id: &str, at: i64) -> OpenCall {
        let at = Timestamp::from_second(1_800_000_000 + at).unwrap();
        OpenCall {
            id: id.to_owned(),
            facility_id: FacilityId(1),
            station_id: StationId(1),
            person_id: None,
            number: None,
            privileged: false,
            offered_at: at,
            answered_at: None,
            accepted_at: None,
            recording_id: None,
            rate_cents_per_minute: None,
            payer_account_id: None,
            max_seconds: 900,
            last_seen: at,
            seq: 0,
        }
    }

    #[test]
    fn a_listener_gets_the_audio_until_the_call_ends() {
        let calls = LiveCalls::new();
        let first = calls.add(call("b", 2));
        let _second = calls.add(call("a", 1));
        let ids: Vec<String> = calls.list().into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["a", "b"]);
        // Nobody listening: nothing is kept.
        first.publish(b"before");
        let mut l = calls.listen("b").expect("listed");
        assert!(calls.listen("nope").is_none());
        first.publish(b"chunk");
        first.publish(b"");
        assert_eq!(&*l.audio.try_recv().unwrap(), b"chunk");
        assert!(l.audio.try_recv().is_err());
        drop(first);
        assert!(matches!(
            l.audio.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        ));
        assert_eq!(calls.list().len(), 1);
        assert!(calls.listen("b").is_none());
    }

    #[test]
    fn a_slow_listener_loses_chunks_and_never_blocks_the_call() {
        let calls = LiveCalls::new();
        let entry = calls.add(call("c", 1));
        let mut l = calls.listen("c").unwrap();
        for k in 0..(BACKLOG as u8 + 10) {
            entry.publish(&[k]);
        }
        assert!(matches!(
            l.audio.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(10))
        ));
        assert_eq!(&*l.audio.try_recv().unwrap(), &[10u8]);
    }
}
