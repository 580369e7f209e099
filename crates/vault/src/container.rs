//! The recording container: a small header naming the call, the audio
//! format and the agency key, with the HPKE-wrapped data key, followed by
//! the audio as one Cobblestone-256 stream whose context is the whole header.
//!
//! The byte layout is written down in `docs/recording-format.md`.
//!
//! Binding: the wrapped key is sealed with the header up to (not including)
//! the encapsulated key as HPKE `info`, so it cannot be moved to another
//! recording; the stream is keyed with the entire header as context, so no
//! header byte can change without the key commitment failing.

use std::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::chunked::{ChunkedError, Decryptor, Encryptor, SALT_LEN, STREAM_HEADER_LEN};
use crate::keys::{
    AgencyPublicKey, DataKey, ENCAPPED_KEY_LEN, HPKE_AEAD_ID, HPKE_KDF_ID, HPKE_KEM_ID, KeyError,
    KeyId, KeyProvider, WRAPPED_KEY_LEN,
};

/// The first eight bytes of every recording.
pub const MAGIC: [u8; 8] = *b"CWREC\r\n\x1a";
/// The container version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Longest call id, in bytes.
pub const MAX_CALL_ID_LEN: usize = 255;

/// Offsets of the fixed part of the header.
const OFF_VERSION: usize = 8;
const OFF_HEADER_LEN: usize = 9;
const OFF_KEM: usize = 11;
const OFF_KDF: usize = 13;
const OFF_AEAD: usize = 15;
const OFF_CODEC: usize = 17;
const OFF_LAYOUT: usize = 18;
const OFF_EPOCH: usize = 19;
const OFF_KEY_ID: usize = 23;
const OFF_CALL_ID_LEN: usize = 31;
const OFF_CALL_ID: usize = 32;
/// Header bytes besides the call id.
const FIXED_HEADER_LEN: usize = OFF_CALL_ID + ENCAPPED_KEY_LEN + WRAPPED_KEY_LEN;

/// Why a recording could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContainerError {
    /// Not a callward recording (wrong magic).
    BadMagic,
    /// A container version this build does not read.
    UnsupportedVersion(u8),
    /// The input ended inside the header.
    HeaderTruncated,
    /// A header field is invalid; names the field.
    Malformed(&'static str),
    /// A call id that is empty, too long or not visible ASCII.
    InvalidCallId,
    /// The data key could not be wrapped or unwrapped.
    Key(KeyError),
    /// The audio stream failed (commitment, authentication, truncation).
    Stream(ChunkedError),
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a callward recording (bad magic)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported recording version {v}"),
            Self::HeaderTruncated => f.write_str("recording header truncated"),
            Self::Malformed(field) => write!(f, "recording header field {field} is invalid"),
            Self::InvalidCallId => f.write_str("call id must be 1 to 255 visible ASCII characters"),
            Self::Key(e) => write!(f, "recording key: {e}"),
            Self::Stream(e) => write!(f, "recording audio: {e}"),
        }
    }
}

impl std::error::Error for ContainerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Key(e) => Some(e),
            Self::Stream(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for ContainerError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<ChunkedError> for ContainerError {
    fn from(e: ChunkedError) -> Self {
        Self::Stream(e)
    }
}

/// The audio codec of the recorded samples (all at 8 kHz, one byte a sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
}

impl Codec {
    fn to_byte(self) -> u8 {
        match self {
            Self::Pcmu => 1,
            Self::Pcma => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Pcmu),
            2 => Some(Self::Pcma),
            _ => None,
        }
    }
}

/// How channels are laid out in the audio bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelLayout {
    /// One channel.
    Mono,
    /// Two channels, sample-interleaved: the station first, then the outside party.
    StationOutside,
}

impl ChannelLayout {
    fn to_byte(self) -> u8 {
        match self {
            Self::Mono => 1,
            Self::StationOutside => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Mono),
            2 => Some(Self::StationOutside),
            _ => None,
        }
    }

    /// Number of channels.
    pub fn channels(self) -> u8 {
        self.to_byte()
    }
}

/// A call id as the container stores it: 1 to 255 visible ASCII bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(String);

impl CallId {
    /// Checks and wraps a call id.
    pub fn new(id: &str) -> Result<Self, ContainerError> {
        if id.is_empty() || id.len() > MAX_CALL_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ContainerError::InvalidCallId);
        }
        Ok(Self(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the writer records about a recording, besides its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMeta {
    /// The call.
    pub call_id: CallId,
    /// Audio codec.
    pub codec: Codec,
    /// Channel layout.
    pub layout: ChannelLayout,
    /// Epoch of the agency key the data key is wrapped to.
    pub key_epoch: u32,
}

/// A parsed container header. Holds its exact bytes, which are the stream's
/// context.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordingHeader {
    bytes: Vec<u8>,
    meta: RecordingMeta,
    key_id: KeyId,
    encapped: [u8; ENCAPPED_KEY_LEN],
    wrapped: [u8; WRAPPED_KEY_LEN],
}

impl fmt::Debug for RecordingHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingHeader")
            .field("meta", &self.meta)
            .field("key_id", &self.key_id)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl RecordingHeader {
    /// Header bytes up to the encapsulated key, for `call_id` of `n` bytes.
    fn unwrapped_part(meta: &RecordingMeta, key_id: KeyId) -> Vec<u8> {
        let id = meta.call_id.as_str().as_bytes();
        let total = FIXED_HEADER_LEN + id.len();
        let mut b = Vec::with_capacity(total);
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        // At most 32 + 255 + 80 bytes: always fits in u16.
        b.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
        b.extend_from_slice(&HPKE_KEM_ID.to_be_bytes());
        b.extend_from_slice(&HPKE_KDF_ID.to_be_bytes());
        b.extend_from_slice(&HPKE_AEAD_ID.to_be_bytes());
        b.push(meta.codec.to_byte());
        b.push(meta.layout.to_byte());
        b.extend_from_slice(&meta.key_epoch.to_be_bytes());
        b.extend_from_slice(&key_id.0);
        // CallId guarantees 1..=255 bytes.
        b.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        b.extend_from_slice(id);
        b
    }

    /// Parses a header from the start of `input`; returns it and its length.
    pub fn parse(input: &[u8]) -> Result<Self, ContainerError> {
        if input.len() < OFF_CALL_ID {
            return Err(
                if input.len() >= MAGIC.len() && input[..MAGIC.len()] != MAGIC {
                    ContainerError::BadMagic
                } else {
                    ContainerError::HeaderTruncated
                },
            );
        }
        if input[..MAGIC.len()] != MAGIC {
            return Err(ContainerError::BadMagic);
        }
        if input[OFF_VERSION] != VERSION {
            return Err(ContainerError::UnsupportedVersion(input[OFF_VERSION]));
        }
        if be_u16(input, OFF_KEM) != HPKE_KEM_ID
            || be_u16(input, OFF_KDF) != HPKE_KDF_ID
            || be_u16(input, OFF_AEAD) != HPKE_AEAD_ID
        {
            return Err(ContainerError::Malformed("hpke suite"));
        }
        let codec = Codec::from_byte(input[OFF_CODEC]).ok_or(ContainerError::Malformed("codec"))?;
        let layout = ChannelLayout::from_byte(input[OFF_LAYOUT])
            .ok_or(ContainerError::Malformed("channel layout"))?;
        let mut epoch = [0u8; 4];
        epoch.copy_from_slice(&input[OFF_EPOCH..OFF_EPOCH + 4]);
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&input[OFF_KEY_ID..OFF_KEY_ID + 8]);
        let id_len = usize::from(input[OFF_CALL_ID_LEN]);
        let total = FIXED_HEADER_LEN + id_len;
        if usize::from(be_u16(input, OFF_HEADER_LEN)) != total {
            return Err(ContainerError::Malformed("header length"));
        }
        if input.len() < total {
            return Err(ContainerError::HeaderTruncated);
        }
        let id = std::str::from_utf8(&input[OFF_CALL_ID..OFF_CALL_ID + id_len])
            .map_err(|_| ContainerError::InvalidCallId)?;
        let call_id = CallId::new(id)?;
        let off_enc = OFF_CALL_ID + id_len;
        let mut encapped = [0u8; ENCAPPED_KEY_LEN];
        encapped.copy_from_slice(&input[off_enc..off_enc + ENCAPPED_KEY_LEN]);
        let mut wrapped = [0u8; WRAPPED_KEY_LEN];
        wrapped.copy_from_slice(&input[off_enc + ENCAPPED_KEY_LEN..total]);
        Ok(Self {
            bytes: input[..total].to_vec(),
            meta: RecordingMeta {
                call_id,
                codec,
                layout,
                key_epoch: u32::from_be_bytes(epoch),
            },
            key_id: KeyId(key_id),
            encapped,
            wrapped,
        })
    }

    /// The header's exact bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Header length in bytes; the stream starts here.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a header has at least its fixed fields.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Call, codec, layout and key epoch.
    pub fn meta(&self) -> &RecordingMeta {
        &self.meta
    }

    /// The call id.
    pub fn call_id(&self) -> &CallId {
        &self.meta.call_id
    }

    /// Epoch of the agency key.
    pub fn key_epoch(&self) -> u32 {
        self.meta.key_epoch
    }

    /// Which agency key the data key is wrapped to.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The HPKE encapsulated key.
    pub fn encapped_key(&self) -> &[u8; ENCAPPED_KEY_LEN] {
        &self.encapped
    }

    /// The HPKE-sealed data key.
    pub fn wrapped_key(&self) -> &[u8; WRAPPED_KEY_LEN] {
        &self.wrapped
    }

    /// The HPKE `info` the data key is wrapped under: the header up to the
    /// encapsulated key.
    pub fn binding_info(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - ENCAPPED_KEY_LEN - WRAPPED_KEY_LEN]
    }
}

/// Writes one recording as audio arrives. Holds the data key's derived
/// stream key while the call lasts; built from the agency's *public* key,
/// it has no way to read anything back.
#[derive(Debug)]
pub struct RecordingWriter {
    encryptor: Encryptor,
    audio_len: u64,
}

impl RecordingWriter {
    /// Starts a recording: draws a data key and salt from `rng`, wraps the
    /// key to `agency`, and appends the container header and stream header to `out`.
    pub fn start<R: CryptoRng + ?Sized>(
        meta: &RecordingMeta,
        agency: &AgencyPublicKey,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) -> Result<Self, ContainerError> {
        let data_key = DataKey::generate(rng);
        let mut header = RecordingHeader::unwrapped_part(meta, agency.key_id());
        let (encapped, wrapped) = agency.wrap(&data_key, &header, rng)?;
        header.extend_from_slice(&encapped);
        header.extend_from_slice(&wrapped);
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::resume_fresh(&data_key, &header, salt, out)
    }

    /// A writer for `header` (already complete) under `data_key` and `salt`.
    fn resume_fresh(
        data_key: &DataKey,
        header: &[u8],
        salt: [u8; SALT_LEN],
        out: &mut Vec<u8>,
    ) -> Result<Self, ContainerError> {
        let encryptor = Encryptor::new(data_key, salt, header)?;
        out.extend_from_slice(header);
        out.extend_from_slice(&encryptor.header());
        Ok(Self {
            encryptor,
            audio_len: 0,
        })
    }

    /// Adds audio; appends to `out` each chunk (about a second of two-channel
    /// G.711) as it fills. Write `out` through at once: a crash then loses
    /// only [`RecordingWriter::pending_len`] bytes.
    pub fn push(&mut self, audio: &[u8], out: &mut Vec<u8>) -> Result<(), ContainerError> {
        self.encryptor.push(audio, out)?;
        self.audio_len += audio.len() as u64;
        Ok(())
    }

    /// Audio bytes accepted but not yet sealed.
    pub fn pending_len(&self) -> usize {
        self.encryptor.pending_len()
    }

    /// Audio bytes accepted so far.
    pub fn audio_len(&self) -> u64 {
        self.audio_len
    }

    /// Seals the final chunk; the recording is complete once `out` is written.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), ContainerError> {
        self.encryptor.finish(out)?;
        Ok(())
    }
}

/// How a recording's stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The final chunk authenticated: this is the whole recording.
    Complete,
    /// The stream stopped before its final chunk (a crash): the audio is the
    /// authenticated prefix, and `discarded_bytes` trailing bytes were dropped.
    Truncated {
        /// Bytes after the last authenticated chunk.
        discarded_bytes: usize,
    },
}

/// A decrypted recording.
pub struct Recording {
    /// The parsed header.
    pub header: RecordingHeader,
    /// The audio (the authenticated prefix if `end` is `Truncated`).
    pub audio: Vec<u8>,
    /// Whether that is all of it.
    pub end: StreamEnd,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print audio.
        f.debug_struct("Recording")
            .field("header", &self.header)
            .field("audio_len", &self.audio.len())
            .field("end", &self.end)
            .finish()
    }
}

/// Decrypts a complete recording. Anything short of a complete, authentic
/// container is an error: a truncated one is `Stream(Truncated)` or
/// `Stream(Authentication)`; see [`open_prefix`] to read what a crash left.
pub fn open(bytes: &[u8], keys: &dyn KeyProvider) -> Result<Recording, ContainerError> {
    let header = RecordingHeader::parse(bytes)?;
    let data_key = keys.unwrap_data_key(&header)?;
    let audio = crate::chunked::open(&data_key, header.as_bytes(), &bytes[header.len()..])?;
    Ok(Recording {
        header,
        audio,
        end: StreamEnd::Complete,
    })
}

/// Decrypts what a recording holds, accepting a stream that stops before its
/// final chunk (a crashed writer): returns the authenticated prefix and says
/// it was truncated. A chunk that fails to authenticate with more data after
/// it, a wrong key or a modified header is still an error.
pub fn open_prefix(bytes: &[u8], keys: &dyn KeyProvider) -> Result<Recording, ContainerError> {
    let header = RecordingHeader::parse(bytes)?;
    let data_key = keys.unwrap_data_key(&header)?;
    let stream = &bytes[header.len()..];
    let mut decryptor = Decryptor::new(&data_key, header.as_bytes());
    let mut audio = Vec::with_capacity(stream.len());
    if let Err(e) = decryptor.push(stream, &mut audio) {
        audio.zeroize();
        return Err(e.into());
    }
    if stream.len() < STREAM_HEADER_LEN {
        // The writer died before the stream header reached the disk.
        return Ok(Recording {
            header,
            audio,
            end: StreamEnd::Truncated {
                discarded_bytes: stream.len(),
            },
        });
    }
    let tail = decryptor.unprocessed_len();
    let end = match decryptor.finish(&mut audio) {
        Ok(()) => StreamEnd::Complete,
        // A tail that is not a valid final chunk at the next index is what a
        // torn write leaves: keep the prefix, drop the tail.
        Err(ChunkedError::Truncated | ChunkedError::Authentication { .. }) => {
            StreamEnd::Truncated {
                discarded_bytes: tail,
            }
        }
        Err(e) => {
            audio.zeroize();
            return Err(e.into());
        }
    };
    Ok(Recording { header, audio, end })
}

/// Reads a recording as its bytes arrive (a long recording need not be held
/// in memory): the header is parsed and the data key unwrapped once enough
/// bytes are in, then audio is released chunk by chunk as it authenticates.
/// Until [`RecordingReader::finish`] returns `Ok`, what was released is only
/// an authenticated prefix.
#[derive(Debug, Default)]
pub struct RecordingReader {
    /// Bytes of an incomplete header.
    pending: Vec<u8>,
    opened: Option<(RecordingHeader, Decryptor)>,
}

impl RecordingReader {
    /// A reader waiting for the first bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The header, once it has been read and its key unwrapped.
    pub fn header(&self) -> Option<&RecordingHeader> {
        self.opened.as_ref().map(|(h, _)| h)
    }

    /// Adds bytes; appends authenticated audio to `out`.
    pub fn push(
        &mut self,
        mut bytes: &[u8],
        keys: &dyn KeyProvider,
        out: &mut Vec<u8>,
    ) -> Result<(), ContainerError> {
        if self.opened.is_none() {
            // A header is at most FIXED_HEADER_LEN + 255 bytes: take no more.
            let room = (FIXED_HEADER_LEN + MAX_CALL_ID_LEN).saturating_sub(self.pending.len());
            let take = room.min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            let header = match RecordingHeader::parse(&self.pending) {
                Ok(header) => header,
                Err(ContainerError::HeaderTruncated) => return Ok(()),
                Err(e) => return Err(e),
            };
            let data_key = keys.unwrap_data_key(&header)?;
            let mut decryptor = Decryptor::new(&data_key, header.as_bytes());
            // Bytes taken past the header already belong to the stream.
            decryptor.push(&self.pending[header.len()..], out)?;
            bytes = &bytes[take..];
            self.pending.clear();
            self.opened = Some((header, decryptor));
        }
        match &mut self.opened {
            Some((_, decryptor)) => Ok(decryptor.push(bytes, out)?),
            None => Ok(()),
        }
    }

    /// Ends the input: checks the final chunk. `Stream(Truncated)` or
    /// `Stream(Authentication)` mean the recording is cut short (see
    /// [`open_prefix`] and [`recover`]).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ContainerError> {
        match &mut self.opened {
            Some((_, decryptor)) => Ok(decryptor.finish(out)?),
            None => Err(ContainerError::HeaderTruncated),
        }
    }
}

/// What [`recover`] made of a crashed recording.
#[derive(Debug)]
pub struct Recovered {
    /// The new, complete container: same header, fresh salt, the
    /// authenticated audio re-encrypted and properly finished.
    pub container: Vec<u8>,
    /// Audio bytes kept.
    pub audio_len: usize,
    /// How the original stream ended.
    pub original_end: StreamEnd,
}

/// Re-seals what a crashed writer left as a complete container: the
/// authenticated prefix re-encrypted under a fresh salt from `rng`. Never
/// appends to the old stream, whose next nonce may already have been used.
/// Needs the data key, so it runs on the key service's side.
pub fn recover<R: CryptoRng + ?Sized>(
    bytes: &[u8],
    keys: &dyn KeyProvider,
    rng: &mut R,
) -> Result<Recovered, ContainerError> {
    let recording = open_prefix(bytes, keys)?;
    let data_key = keys.unwrap_data_key(&recording.header)?;
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut container = Vec::with_capacity(bytes.len());
    let mut writer = RecordingWriter::resume_fresh(
        &data_key,
        recording.header.as_bytes(),
        salt,
        &mut container,
    )?;
    writer.push(&recording.audio, &mut container)?;
    writer.finish(&mut container)?;
    Ok(Recovered {
        container,
        audio_len: recording.audio.len(),
        original_end: recording.end,
    })
}
