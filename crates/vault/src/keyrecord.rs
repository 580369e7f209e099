//! Key records: a recording's data key wrapped to a key other than the
//! agency epoch key it was written under, kept in a sidecar file beside the
//! recording (`<recording>.hold`, `<recording>.seal`). Layout and reasoning:
//! `docs/keys.md`.
//!
//! - **Legal hold** ([`rewrap_for_hold`]): the data key, wrapped to the hold
//!   key, so the recording stays readable after its epoch is shredded. The
//!   recording itself is not changed.
//! - **Privilege seal** ([`seal`]): the data key *and the original 80 bytes of
//!   HPKE enc and wrapped key* go to the privilege-review key, and those 80
//!   bytes in the recording's header are overwritten with a marker. The audio
//!   stream is keyed with the whole original header as its context, so once
//!   those bytes are gone nothing but the seal record can rebuild it: the
//!   agency key has no ciphertext left to open, and even a copy of the data
//!   key (a hold record, a cache) cannot derive the stream key. The ordinary
//!   path is unable, not merely unwilling.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use rand_core::CryptoRng;

use crate::chunked::KEY_LEN;
use crate::container::{CallId, ContainerError, Recording, RecordingHeader, open};
use crate::keys::{
    AgencyPrivateKey, AgencyPublicKey, DataKey, ENCAPPED_KEY_LEN, KeyError, KeyId, KeyProvider,
    WRAPPED_KEY_LEN,
};

/// The first eight bytes of every key record.
pub const RECORD_MAGIC: [u8; 8] = *b"CWKEY\r\n\x1a";
/// The key record version this crate writes and reads.
pub const RECORD_VERSION: u8 = 1;
/// What a sealed header carries in place of its HPKE enc: this marker, then
/// the review key id, then zeros up to the end of the wrapped key.
pub const SEALED_MARKER: [u8; 8] = *b"CWSEALED";

const OFF_KIND: usize = 9;
const OFF_KEY_ID: usize = 10;
const OFF_DIGEST: usize = 18;
const OFF_CALL_ID_LEN: usize = 50;
const OFF_CALL_ID: usize = 51;
/// A hold record seals the data key.
const HOLD_PLAINTEXT_LEN: usize = KEY_LEN;
/// A seal record seals the data key, the original enc and wrapped key.
const SEAL_PLAINTEXT_LEN: usize = KEY_LEN + ENCAPPED_KEY_LEN + WRAPPED_KEY_LEN;
const TAG_LEN: usize = 16;

/// What a key record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// A legal hold: the data key wrapped to the hold key.
    LegalHold,
    /// A privilege seal: the data key and the destroyed header bytes wrapped
    /// to the privilege-review key.
    PrivilegeSeal,
}

impl RecordKind {
    fn to_byte(self) -> u8 {
        match self {
            Self::LegalHold => 1,
            Self::PrivilegeSeal => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::LegalHold),
            2 => Some(Self::PrivilegeSeal),
            _ => None,
        }
    }

    fn plaintext_len(self) -> usize {
        match self {
            Self::LegalHold => HOLD_PLAINTEXT_LEN,
            Self::PrivilegeSeal => SEAL_PLAINTEXT_LEN,
        }
    }

    /// The sidecar file suffix: `hold` or `seal`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::LegalHold => "hold",
            Self::PrivilegeSeal => "seal",
        }
    }
}

/// A parsed key record.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    bytes: Vec<u8>,
    kind: RecordKind,
    key_id: KeyId,
    header_digest: [u8; 32],
    call_id: CallId,
    encapped: [u8; ENCAPPED_KEY_LEN],
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .field("call_id", &self.call_id)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// The record bytes up to the encapsulated key: the HPKE `info`.
    fn prefix(kind: RecordKind, key_id: KeyId, digest: &[u8; 32], call_id: &CallId) -> Vec<u8> {
        let id = call_id.as_str().as_bytes();
        let mut b = Vec::with_capacity(OFF_CALL_ID + id.len() + 200);
        b.extend_from_slice(&RECORD_MAGIC);
        b.push(RECORD_VERSION);
        b.push(kind.to_byte());
        b.extend_from_slice(&key_id.0);
        b.extend_from_slice(digest);
        // CallId guarantees 1..=255 bytes.
        b.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        b.extend_from_slice(id);
        b
    }

    /// Parses a whole key record; any trailing byte is an error.
    pub fn parse(input: &[u8]) -> Result<Self, ContainerError> {
        if input.len() < OFF_CALL_ID {
            return Err(ContainerError::HeaderTruncated);
        }
        if input[..RECORD_MAGIC.len()] != RECORD_MAGIC {
            return Err(ContainerError::BadMagic);
        }
        if input[8] != RECORD_VERSION {
            return Err(ContainerError::UnsupportedVersion(input[8]));
        }
        let kind = RecordKind::from_byte(input[OFF_KIND])
            .ok_or(ContainerError::Malformed("record kind"))?;
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&input[OFF_KEY_ID..OFF_DIGEST]);
        let mut header_digest = [0u8; 32];
        header_digest.copy_from_slice(&input[OFF_DIGEST..OFF_CALL_ID_LEN]);
        let id_len = usize::from(input[OFF_CALL_ID_LEN]);
        let off_enc = OFF_CALL_ID + id_len;
        let total = off_enc + ENCAPPED_KEY_LEN + kind.plaintext_len() + TAG_LEN;
        if input.len() < total {
            return Err(ContainerError::HeaderTruncated);
        }
        if input.len() > total {
            return Err(ContainerError::Malformed("record length"));
        }
        let id = std::str::from_utf8(&input[OFF_CALL_ID..off_enc])
            .map_err(|_| ContainerError::InvalidCallId)?;
        let call_id = CallId::new(id)?;
        let mut encapped = [0u8; ENCAPPED_KEY_LEN];
        encapped.copy_from_slice(&input[off_enc..off_enc + ENCAPPED_KEY_LEN]);
        Ok(Self {
            bytes: input.to_vec(),
            kind,
            key_id: KeyId(key_id),
            header_digest,
            call_id,
            encapped,
        })
    }

    /// The record's bytes, as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Hold or seal.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The hold or review key the data key is wrapped to.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The recording's call id.
    pub fn call_id(&self) -> &CallId {
        &self.call_id
    }

    /// Whether the record was made for the recording with this header (as
    /// the call server wrote it: for a sealed recording, the original).
    pub fn made_for(&self, header: &RecordingHeader) -> bool {
        self.header_digest == header_digest(header.as_bytes())
    }

    fn info(&self) -> &[u8] {
        &self.bytes[..OFF_CALL_ID + self.call_id.as_str().len()]
    }

    fn sealed_part(&self) -> &[u8] {
        &self.bytes[self.info().len() + ENCAPPED_KEY_LEN..]
    }

    /// Opens the record's secret with `key`, after checking it is the key
    /// the record names.
    fn open_with(&self, key: &AgencyPrivateKey) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        let key_id = key.public_key().key_id();
        if key_id != self.key_id {
            return Err(KeyError::Refused(format!(
                "the record is wrapped to key {}, not to key {key_id}",
                self.key_id
            )));
        }
        let opened = key.open_bytes(&self.encapped, self.sealed_part(), self.info())?;
        if opened.len() != self.kind.plaintext_len() {
            return Err(KeyError::UnwrapFailed);
        }
        Ok(opened)
    }

    fn build<R: CryptoRng + ?Sized>(
        kind: RecordKind,
        to: &AgencyPublicKey,
        original_header: &[u8],
        call_id: &CallId,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Self, ContainerError> {
        let digest = header_digest(original_header);
        let mut bytes = Self::prefix(kind, to.key_id(), &digest, call_id);
        let (enc, sealed) = to.seal_bytes(plaintext, &bytes, rng)?;
        bytes.extend_from_slice(&enc);
        bytes.extend_from_slice(&sealed);
        Self::parse(&bytes)
    }
}

fn header_digest(header: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, header).as_ref());
    out
}

/// If the header is sealed, the review key it is sealed to.
pub fn sealed_to(header: &RecordingHeader) -> Option<KeyId> {
    let enc = header.encapped_key();
    let wrapped = header.wrapped_key();
    let marked = enc[..8] == SEALED_MARKER
        && enc[16..].iter().all(|&b| b == 0)
        && wrapped.iter().all(|&b| b == 0);
    marked.then(|| {
        let mut id = [0u8; 8];
        id.copy_from_slice(&enc[8..16]);
        KeyId(id)
    })
}

/// Legal hold: wraps the recording's data key (unwrapped through `keys`,
/// the key service) to the hold key. Store the record's bytes as the
/// recording's `.hold` sidecar; [`HoldKeys`] then opens the recording
/// after its epoch is shredded.
pub fn rewrap_for_hold<R: CryptoRng + ?Sized>(
    header: &RecordingHeader,
    keys: &dyn KeyProvider,
    hold: &AgencyPublicKey,
    rng: &mut R,
) -> Result<KeyRecord, ContainerError> {
    let data_key = keys.unwrap_data_key(header)?;
    KeyRecord::build(
        RecordKind::LegalHold,
        hold,
        header.as_bytes(),
        header.call_id(),
        data_key.expose(),
        rng,
    )
}

/// Opens held recordings: a [`KeyProvider`] for one recording, from its hold
/// record and the hold private key.
#[derive(Debug)]
pub struct HoldKeys<'a> {
    /// The recording's `.hold` record.
    pub record: &'a KeyRecord,
    /// The hold private key.
    pub key: &'a AgencyPrivateKey,
}

impl KeyProvider for HoldKeys<'_> {
    fn unwrap_data_key(&self, header: &RecordingHeader) -> Result<DataKey, KeyError> {
        if let Some(review_key) = sealed_to(header) {
            return Err(KeyError::Sealed { review_key });
        }
        if self.record.kind != RecordKind::LegalHold
            || self.record.header_digest != header_digest(header.as_bytes())
        {
            return Err(KeyError::Refused(
                "the hold record was not made for this recording".into(),
            ));
        }
        let opened = self.record.open_with(self.key)?;
        DataKey::from_slice(&opened).map_err(|_| KeyError::UnwrapFailed)
    }
}

/// A recording sealed by [`seal`]: write `record` as the `.seal` sidecar
/// first, then replace the recording's header with `header` (same length,
/// so it can be overwritten in place).
#[derive(Debug)]
pub struct SealedRecording {
    /// The new header bytes: the original with its enc and wrapped key
    /// replaced by the sealed marker.
    pub header: Vec<u8>,
    /// The seal record.
    pub record: KeyRecord,
}

/// Privilege seal: moves the recording's data key (unwrapped through
/// `keys`) to the privilege-review key and returns the header to write in
/// place of the original, from which the agency wrap is gone.
pub fn seal<R: CryptoRng + ?Sized>(
    header: &RecordingHeader,
    keys: &dyn KeyProvider,
    review: &AgencyPublicKey,
    rng: &mut R,
) -> Result<SealedRecording, ContainerError> {
    let data_key = keys.unwrap_data_key(header)?;
    let mut secret = zeroize::Zeroizing::new(Vec::with_capacity(SEAL_PLAINTEXT_LEN));
    secret.extend_from_slice(data_key.expose());
    secret.extend_from_slice(header.encapped_key());
    secret.extend_from_slice(header.wrapped_key());
    let record = KeyRecord::build(
        RecordKind::PrivilegeSeal,
        review,
        header.as_bytes(),
        header.call_id(),
        &secret,
        rng,
    )?;
    Ok(SealedRecording {
        header: sealed_header(header, record.key_id()),
        record,
    })
}

/// The header a recording has once sealed to `review_key`: its enc and
/// wrapped key replaced by the marker. Needs no key, so a seal interrupted
/// after its record was written can be finished from the record alone.
pub fn sealed_header(header: &RecordingHeader, review_key: KeyId) -> Vec<u8> {
    let mut sealed = header.binding_info().to_vec();
    sealed.extend_from_slice(&SEALED_MARKER);
    sealed.extend_from_slice(&review_key.0);
    sealed.resize(header.len(), 0);
    sealed
}

/// A provider that hands out one data key it already holds.
struct Fixed(DataKey);

impl KeyProvider for Fixed {
    fn unwrap_data_key(&self, _header: &RecordingHeader) -> Result<DataKey, KeyError> {
        Ok(self.0.clone())
    }
}

/// Privilege review: opens a sealed recording with its seal record and the
/// privilege-review private key, by rebuilding the original header.
pub fn open_sealed(
    bytes: &[u8],
    record: &KeyRecord,
    review_key: &AgencyPrivateKey,
) -> Result<Recording, ContainerError> {
    let header = RecordingHeader::parse(bytes)?;
    if sealed_to(&header).is_none() {
        return Err(ContainerError::Malformed("not a sealed recording"));
    }
    if record.kind != RecordKind::PrivilegeSeal || record.call_id != *header.call_id() {
        return Err(
            KeyError::Refused("the seal record was not made for this recording".into()).into(),
        );
    }
    let opened = record.open_with(review_key)?;
    let data_key = DataKey::from_slice(&opened[..KEY_LEN]).map_err(|_| KeyError::UnwrapFailed)?;
    let mut original = Vec::with_capacity(bytes.len());
    original.extend_from_slice(header.binding_info());
    original.extend_from_slice(&opened[KEY_LEN..]);
    if header_digest(&original) != record.header_digest {
        return Err(
            KeyError::Refused("the seal record was not made for this recording".into()).into(),
        );
    }
    original.extend_from_slice(&bytes[header.len()..]);
    let mut recording = open(&original, &Fixed(data_key))?;
    recording.header = header;
    Ok(recording)
}
