//! A recorded call's recording: the tap's two-channel stream, G.711 A-law
//! (station, outside), sealed into the vault's container
//! (`docs/recording-format.md`) as it arrives and handed to the [`Spool`]
//! chunk by chunk.
//!
//! The switch holds the agency's *public* key only ([`WriterKey`]): it draws
//! a fresh data key per recording, wraps it to that key in the header, and
//! keeps the stream key in memory while the call lasts. Nothing here can
//! read a recording back.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use callward_media::G711;
use callward_media::tap::RecordingTap;
use callward_vault::{
    CallId, ChannelLayout, Codec, ContainerError, Keyring, OsRng, RecordingMeta, RecordingWriter,
    WriterKey,
};
use tokio::sync::oneshot;

use crate::spool::Spool;

/// An open recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    id: String,
    writer: RecordingWriter,
    /// G.711 drained from the tap, reused.
    audio: Vec<u8>,
}

impl Recorder {
    /// Starts recording `id` (the switch's own call id, never a peer's
    /// Call-ID): the header goes to the spool at once.
    pub(crate) fn start(
        spool: &Spool,
        id: &str,
        key: &WriterKey,
        mut rng: OsRng,
    ) -> Result<Self, ContainerError> {
        let meta = RecordingMeta {
            call_id: CallId::new(id)?,
            codec: Codec::Pcma,
            layout: ChannelLayout::StationOutside,
            key_epoch: key.epoch,
        };
        let mut header = Vec::with_capacity(256);
        let writer = RecordingWriter::start(&meta, &key.public, &mut rng, &mut header)?;
        spool.create(id, header);
        Ok(Self {
            id: id.to_owned(),
            writer,
            audio: Vec::with_capacity(2 * 1600),
        })
    }

    /// Moves what the tap has ready into the container; every chunk that
    /// fills (about a second) goes to the spool straight away. Returns the
    /// audio moved (two-channel G.711 A-law), for live listeners.
    pub(crate) fn drain(
        &mut self,
        tap: &mut RecordingTap,
        spool: &Spool,
    ) -> Result<&[u8], ContainerError> {
        self.audio.clear();
        while tap.poll_chunk_g711(G711::Pcma, &mut self.audio) {}
        if self.audio.is_empty() {
            return Ok(&self.audio);
        }
        let mut sealed = Vec::new();
        self.writer.push(&self.audio, &mut sealed)?;
        spool.append(&self.id, sealed);
        Ok(&self.audio)
    }

    /// Ends the recording: the tap's rest, then the final chunk. The answer
    /// comes when the file is synced.
    pub(crate) fn finish(
        mut self,
        tap: Option<&mut RecordingTap>,
        spool: &Spool,
    ) -> Result<oneshot::Receiver<std::io::Result<u64>>, ContainerError> {
        if let Some(tap) = tap {
            tap.finish();
            self.drain(tap, spool)?;
        }
        let mut last = Vec::new();
        self.writer.finish(&mut last)?;
        Ok(spool.finish(&self.id, last))
    }

    /// The recording's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

/// The key new recordings are wrapped to: fixed, or following the key
/// directory's `keyring` file (public keys only; the switch never opens a
/// private key), so that after `keys rotate` the next recorded call uses
/// the new epoch without a restart. The file is looked at (one `stat`) at
/// each recording's start and read again only when it changed; `rotate`
/// replaces it by a rename, so it is never seen half-written.
#[derive(Debug, Clone)]
pub struct RecordingKey {
    inner: Arc<Mutex<KeyState>>,
}

#[derive(Debug)]
struct KeyState {
    key: WriterKey,
    keyring: Option<PathBuf>,
    seen: Option<FileStamp>,
}

/// Enough of a file's metadata to notice it was replaced or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path)?;
        Ok(Self {
            ino: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl RecordingKey {
    /// Always `key`.
    pub fn fixed(key: WriterKey) -> Self {
        Self {
            inner: Arc::new(Mutex::new(KeyState {
                key,
                keyring: None,
                seen: None,
            })),
        }
    }

    /// `key` (read from `keyring` just now), then the current epoch of
    /// `keyring` whenever that file changes.
    pub fn following(keyring: PathBuf, key: WriterKey) -> Self {
        let seen = FileStamp::of(&keyring).ok();
        Self {
            inner: Arc::new(Mutex::new(KeyState {
                key,
                keyring: Some(keyring),
                seen,
            })),
        }
    }

    /// The key to wrap a new recording's data key to. If the keyring file
    /// cannot be read or parsed, the last good key stays (and it is tried
    /// again next time).
    pub fn current(&self) -> WriterKey {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(path) = state.keyring.clone() else {
            return state.key.clone();
        };
        let stamp = match FileStamp::of(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look at the keyring; recording key unchanged");
                return state.key.clone();
            }
        };
        if state.seen == Some(stamp) {
            return state.key.clone();
        }
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| Keyring::parse(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(keyring) => {
                let key = keyring.writer_key();
                if key != state.key {
                    tracing::info!(
                        epoch = key.epoch,
                        key_id = %key.public.key_id(),
                        "recording key changed: new recordings use the current epoch"
                    );
                }
                state.key = key;
                state.seen = Some(stamp);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the keyring; recording key unchanged");
            }
        }
        state.key.clone()
    }
}
