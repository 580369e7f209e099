//! A recorded call's recording: the tap's two-channel stream, G.711 A-law
//! (station, outside), sealed into the vault's container
//! (`docs/recording-format.md`) as it arrives and handed to the [`Spool`]
//! chunk by chunk.
//!
//! The switch holds the agency's *public* key only ([`WriterKey`]): it draws
//! a fresh data key per recording, wraps it to that key in the header, and
//! keeps the stream key in memory while the call lasts. Nothing here can
//! read a recording back.

use callward_media::G711;
use callward_media::tap::RecordingTap;
use callward_vault::{
    CallId, ChannelLayout, Codec, ContainerError, OsRng, RecordingMeta, RecordingWriter, WriterKey,
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
    /// fills (about a second) goes to the spool straight away.
    pub(crate) fn drain(
        &mut self,
        tap: &mut RecordingTap,
        spool: &Spool,
    ) -> Result<(), ContainerError> {
        self.audio.clear();
        while tap.poll_chunk_g711(G711::Pcma, &mut self.audio) {}
        if self.audio.is_empty() {
            return Ok(());
        }
        let mut sealed = Vec::new();
        self.writer.push(&self.audio, &mut sealed)?;
        spool.append(&self.id, sealed);
        Ok(())
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
