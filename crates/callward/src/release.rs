//! The one path that releases a recording's audio after its access entry
//! is in the log: `callward recording export` uses it, and the console's
//! playback and export are to use it too (issue 9, not built yet).
//!
//! From the appended entry to the watermarked WAV: a recording deleted at
//! retention end or sealed for privilege review is refused by name; the
//! key is asked for with the entry's inclusion proof and a signed
//! checkpoint (`LogGate`, one consistency retry when another reader moved
//! the key service on); the recording is opened and authenticated
//! completely; the PCM is watermarked with the entry's index
//! (`docs/watermark.md`). Nothing is released unmarked.

use std::path::Path;

use anyhow::{Context as _, bail};
use callward_store::SqliteStore;
use callward_switch::recording_store::RecordingStore;
use callward_vault::{KeyDir, KeyError, UnwrapRequest};
use callward_web::access_log::{AccessLog, LogGate};

use crate::recording_cli::{Released, held_after_shred, open_recording};
use crate::recording_files::RecordingFiles;

/// What releasing a recording needs: the agency keys, the gate that
/// releases a key only against a logged entry, the deployment's watermark
/// key and the recordings.
pub(crate) struct Release {
    keys: KeyDir,
    gate: LogGate,
    mark: callward_watermark::Key,
    files: RecordingFiles,
}

/// A released recording: a two-channel 16-bit PCM WAV, watermarked.
pub(crate) struct Wav {
    /// The whole file, header included.
    pub(crate) bytes: Vec<u8>,
    /// Its length in seconds.
    pub(crate) seconds: f64,
}

impl Release {
    /// Opens the key directory `key_dir` (of the data dir `data_dir`) over
    /// the recordings in `store`.
    pub(crate) fn open(
        key_dir: &Path,
        data_dir: &Path,
        store: RecordingStore,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            keys: KeyDir::open(key_dir, data_dir)?,
            gate: LogGate::open(key_dir)?,
            mark: crate::watermark_cli::deployment_key(key_dir)?,
            files: RecordingFiles::new(store),
        })
    }

    /// The WAV of `recording` (of call `call_id`) released under the access
    /// entry `entry`, already appended to `log`.
    pub(crate) async fn wav(
        &self,
        store: &SqliteStore,
        log: &AccessLog,
        call_id: &str,
        recording: &str,
        entry: u64,
    ) -> anyhow::Result<Wav> {
        let files = &self.files;
        // The attempt is logged; a recording deleted at retention end
        // or sealed for privilege review is then refused by name.
        if !files.exists(recording).await?
            && let Some(at) = store.recording_expired_at(call_id).await?
        {
            bail!(
                "the recording of call {call_id} was deleted at the end of its retention period ({at}); the call record is kept"
            );
        }
        if let Ok(header) = files.header(recording).await
            && let Some(review) = callward_vault::keyrecord::sealed_to(&header)
        {
            bail!(
                "recording {recording} of call {call_id} is sealed for privilege review (review key {review}): it cannot be exported"
            );
        }
        let evidence = log.evidence(entry, self.gate.seen_size()?).await?;
        let header = files
            .header(recording)
            .await
            .with_context(|| format!("recording {recording}: cannot read its header"))?;
        // A recording on legal hold whose epoch is shredded: through its hold record.
        let hold = held_after_shred(&self.keys, files, recording, &header).await?;
        let mut request = UnwrapRequest::new(header).with_evidence(evidence);
        if let Some(record) = hold {
            request = request.with_hold_record(record);
        }
        let mut answer = self.keys.unwrap(&request, &self.gate);
        // Another reader moved the key service on meanwhile: prove
        // consistency from where it is now (once).
        if let Err(KeyError::ConsistencyNeeded { from_size }) = answer {
            let evidence = log.evidence(entry, from_size).await?;
            request = request.with_evidence(evidence);
            answer = self.keys.unwrap(&request, &self.gate);
        }
        let key = answer.with_context(|| format!("recording {recording}: no key released"))?;
        let audio = open_recording(files, recording, &Released(key)).await?;
        Ok(Wav {
            bytes: wav_bytes(&audio, entry, &self.mark)?,
            seconds: audio.len() as f64 / 16_000.0,
        })
    }
}

/// Two-channel A-law as a 16-bit PCM WAV, watermarked under the
/// deployment's key `mark` with the access-log entry `entry`.
fn wav_bytes(alaw: &[u8], entry: u64, mark: &callward_watermark::Key) -> anyhow::Result<Vec<u8>> {
    let data_len = u32::try_from(alaw.len() * 2).context("recording too long for a WAV file")?;
    let mut bytes = Vec::with_capacity(44 + alaw.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&2u16.to_le_bytes()); // channels
    bytes.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    bytes.extend_from_slice(&32_000u32.to_le_bytes()); // byte rate
    bytes.extend_from_slice(&4u16.to_le_bytes()); // block align
    bytes.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for sample in crate::watermark_cli::marked_pcm(alaw, entry, mark)? {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    Ok(bytes)
}
