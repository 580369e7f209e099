//! C2SP chunked encryption (c2sp.org/chunked-encryption), instantiation
//! Cobblestone-256: HKDF-SHA-512 expand, AES-256-GCM, 16 KiB chunks.
//!
//! A ciphertext is `salt (24) || commitment (32) || chunk 0 || chunk 1 ...`.
//! Every chunk but the last holds exactly [`CHUNK_SIZE`] plaintext bytes; the
//! last is always shorter (possibly empty), which is how the end of a message
//! is told from a truncation. Chunk `i` is sealed under the derived key with
//! nonce `base_nonce XOR i` (big-endian) and empty AAD.
//!
//! Both directions are push-based and streaming: [`Encryptor::push`] seals
//! each chunk as soon as it fills and [`Decryptor::push`] releases plaintext
//! only once its chunk has authenticated. A full chunk is never final, so it
//! can be released at once; only [`Decryptor::finish`] can tell a complete
//! message from a truncated one.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hkdf::{HKDF_SHA512, KeyType, Prk};
use zeroize::Zeroize;

use crate::keys::DataKey;

/// Plaintext bytes in every chunk but the last.
pub const CHUNK_SIZE: usize = 16 * 1024;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Ciphertext bytes of a full chunk.
pub const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// Length of the random salt that opens a ciphertext.
pub const SALT_LEN: usize = 24;
/// Length of the key commitment that follows the salt.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the stream header: salt and commitment.
pub const STREAM_HEADER_LEN: usize = SALT_LEN + COMMITMENT_LEN;
/// Input key length (the AES-256 key size).
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 12;
/// The spec's hard limit: the chunk counter must stay below 2^38.
const MAX_CHUNKS: u64 = 1 << 38;
const INFO_PREFIX: &[u8] = b"c2sp.org/chunked-encryption@v1+";
const AEAD_NAME: &[u8] = b"AEAD_AES_256_GCM";

/// Why chunked encryption or decryption failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// The input key is not [`KEY_LEN`] bytes.
    InvalidKeySize,
    /// The ciphertext ended inside the salt and commitment.
    HeaderTruncated,
    /// The commitment does not match: wrong key, wrong context or a
    /// modified salt or commitment. No chunk was decrypted.
    CommitmentMismatch,
    /// Chunk `index` did not authenticate (modified, reordered, or not the
    /// final chunk it was taken for).
    Authentication {
        /// Zero-based chunk number.
        index: u64,
    },
    /// The ciphertext ended without its short final chunk.
    Truncated,
    /// The message would exceed 2^38 chunks.
    TooLong,
    /// An earlier call failed; a failed stream stays failed.
    Poisoned,
    /// The underlying AEAD or KDF reported an error (never expected).
    Crypto,
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKeySize => write!(f, "input key must be {KEY_LEN} bytes"),
            Self::HeaderTruncated => f.write_str("ciphertext shorter than its 56-byte header"),
            Self::CommitmentMismatch => {
                f.write_str("key commitment mismatch (wrong key or context, or modified header)")
            }
            Self::Authentication { index } => write!(f, "chunk {index} failed to authenticate"),
            Self::Truncated => f.write_str("ciphertext truncated: no final chunk"),
            Self::TooLong => f.write_str("message exceeds 2^38 chunks"),
            Self::Poisoned => f.write_str("stream already failed"),
            Self::Crypto => f.write_str("cryptographic library error"),
        }
    }
}

impl std::error::Error for ChunkedError {}

/// The per-message AEAD key and base nonce derived from the input key.
struct MessageKeys {
    aead: LessSafeKey,
    base_nonce: [u8; NONCE_LEN],
}

impl Drop for MessageKeys {
    fn drop(&mut self) {
        // aws-lc clears its own key schedule; the nonce is ours.
        self.base_nonce.zeroize();
    }
}

struct OkmLen(usize);

impl KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand(prk = key, info = prefix || aead || 0x00 || salt || context)
/// into key (32) || base nonce (12) || commitment (32).
fn derive(
    key: &DataKey,
    salt: &[u8; SALT_LEN],
    context: &[u8],
) -> Result<(MessageKeys, [u8; COMMITMENT_LEN]), ChunkedError> {
    // A 32-byte prk is well under aws-lc's limit, so this cannot panic.
    let prk = Prk::new_less_safe(HKDF_SHA512, key.expose());
    let info: [&[u8]; 5] = [INFO_PREFIX, AEAD_NAME, &[0], salt, context];
    let mut okm = [0u8; KEY_LEN + NONCE_LEN + COMMITMENT_LEN];
    let result = prk
        .expand(&info, OkmLen(okm.len()))
        .and_then(|okm_out| okm_out.fill(&mut okm));
    if result.is_err() {
        okm.zeroize();
        return Err(ChunkedError::Crypto);
    }
    let unbound = UnboundKey::new(&AES_256_GCM, &okm[..KEY_LEN]).map_err(|_| ChunkedError::Crypto);
    let mut base_nonce = [0u8; NONCE_LEN];
    base_nonce.copy_from_slice(&okm[KEY_LEN..KEY_LEN + NONCE_LEN]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    commitment.copy_from_slice(&okm[KEY_LEN + NONCE_LEN..]);
    okm.zeroize();
    Ok((
        MessageKeys {
            aead: LessSafeKey::new(unbound?),
            base_nonce,
        },
        commitment,
    ))
}

impl MessageKeys {
    fn nonce(&self, index: u64) -> Nonce {
        let mut nonce = self.base_nonce;
        for (n, c) in nonce[4..].iter_mut().zip(index.to_be_bytes()) {
            *n ^= c;
        }
        Nonce::assume_unique_for_key(nonce)
    }
}

/// Streaming Cobblestone-256 encryption of one message.
///
/// Output goes to a caller's buffer: [`Encryptor::header`] first, then what
/// each [`Encryptor::push`] appends (whole sealed chunks only), then
/// [`Encryptor::finish`] (the short final chunk).
pub struct Encryptor {
    keys: MessageKeys,
    header: [u8; STREAM_HEADER_LEN],
    /// Plaintext of the chunk being filled (always < CHUNK_SIZE bytes between calls).
    pending: Vec<u8>,
    next_index: u64,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("next_index", &self.next_index)
            .field("pending_len", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Encryptor {
    fn drop(&mut self) {
        self.pending.zeroize();
    }
}

impl Encryptor {
    /// Starts a message under `key`, with a fresh `salt` (it must never repeat
    /// for a key; draw it at random) and the application `context`.
    pub fn new(key: &DataKey, salt: [u8; SALT_LEN], context: &[u8]) -> Result<Self, ChunkedError> {
        let (keys, commitment) = derive(key, &salt, context)?;
        let mut header = [0u8; STREAM_HEADER_LEN];
        header[..SALT_LEN].copy_from_slice(&salt);
        header[SALT_LEN..].copy_from_slice(&commitment);
        Ok(Self {
            keys,
            header,
            pending: Vec::with_capacity(CHUNK_SIZE),
            next_index: 0,
        })
    }

    /// The salt and commitment that open the ciphertext.
    pub fn header(&self) -> [u8; STREAM_HEADER_LEN] {
        self.header
    }

    /// Plaintext bytes accepted but not yet sealed (lost if the process dies now).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Number of chunks sealed so far.
    pub fn chunks_sealed(&self) -> u64 {
        self.next_index
    }

    /// Adds plaintext; appends to `out` every chunk that fills.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if !self.pending.is_empty() {
            let take = (CHUNK_SIZE - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < CHUNK_SIZE {
                return Ok(());
            }
            self.seal_pending(out)?;
        }
        // Whole chunks are sealed straight from the caller's slice into `out`.
        let mut chunks = data.chunks_exact(CHUNK_SIZE);
        for chunk in &mut chunks {
            self.seal_into(chunk, out)?;
        }
        self.pending.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Seals the pending plaintext into `out`. The pending buffer is reused
    /// for the next chunk (which overwrites it) and wiped on drop.
    fn seal_pending(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        let pending = std::mem::take(&mut self.pending);
        let result = self.seal_into(&pending, out);
        self.pending = pending;
        self.pending.clear();
        result
    }

    /// Seals `plaintext` as the next chunk, out of place, appending the
    /// ciphertext and tag to `out` (one pass over the data, no copy).
    fn seal_into(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if self.next_index >= MAX_CHUNKS {
            return Err(ChunkedError::TooLong);
        }
        let start = out.len();
        out.resize(start + plaintext.len() + TAG_LEN, 0);
        let (ciphertext, tag) = out[start..].split_at_mut(plaintext.len());
        let nonce = self.keys.nonce(self.next_index);
        if self
            .keys
            .aead
            .seal_out_of_place_scatter(nonce, Aad::empty(), plaintext, ciphertext, &[], tag)
            .is_err()
        {
            out.truncate(start);
            return Err(ChunkedError::Crypto);
        }
        self.next_index += 1;
        Ok(())
    }

    /// Seals the short final chunk (possibly empty) and appends it to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        self.seal_pending(out)
    }
}

/// Streaming Cobblestone-256 decryption of one message.
///
/// Feed ciphertext with [`Decryptor::push`]; authenticated plaintext is
/// appended to the caller's buffer one full chunk at a time.
/// [`Decryptor::finish`] checks the final chunk: until it returns `Ok`, the
/// plaintext released so far is only a prefix of the message. After any error
/// every further call fails.
pub struct Decryptor {
    key: DataKey,
    context: Vec<u8>,
    keys: Option<MessageKeys>,
    /// Unprocessed ciphertext: the header until it is complete, then less
    /// than one sealed chunk.
    buffered: Vec<u8>,
    next_index: u64,
    failed: bool,
}

impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("next_index", &self.next_index)
            .field("buffered_len", &self.buffered.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Decryptor {
    /// Prepares to decrypt a message under `key` and `context`.
    pub fn new(key: &DataKey, context: &[u8]) -> Self {
        Self {
            key: key.clone(),
            context: context.to_vec(),
            keys: None,
            buffered: Vec::new(),
            next_index: 0,
            failed: false,
        }
    }

    /// Like [`Decryptor::new`] from raw key bytes, rejecting a wrong length.
    pub fn from_key_bytes(key: &[u8], context: &[u8]) -> Result<Self, ChunkedError> {
        Ok(Self::new(&DataKey::from_slice(key)?, context))
    }

    /// Number of chunks authenticated and released so far.
    pub fn chunks_opened(&self) -> u64 {
        self.next_index
    }

    /// Adds ciphertext; appends to `out` the plaintext of every full chunk
    /// that authenticates.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if self.failed {
            return Err(ChunkedError::Poisoned);
        }
        let result = self.push_inner(&mut data, out);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn push_inner(&mut self, data: &mut &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if self.keys.is_none() {
            let take = (STREAM_HEADER_LEN - self.buffered.len()).min(data.len());
            self.buffered.extend_from_slice(&data[..take]);
            *data = &data[take..];
            if self.buffered.len() < STREAM_HEADER_LEN {
                return Ok(());
            }
            self.check_header()?;
        }
        if !self.buffered.is_empty() {
            let take = (SEALED_CHUNK_SIZE - self.buffered.len()).min(data.len());
            self.buffered.extend_from_slice(&data[..take]);
            *data = &data[take..];
            if self.buffered.len() < SEALED_CHUNK_SIZE {
                return Ok(());
            }
            let result = self.open_buffered(out);
            self.buffered.clear();
            result?;
        }
        let mut chunks = data.chunks_exact(SEALED_CHUNK_SIZE);
        for sealed in &mut chunks {
            self.open_chunk(sealed, out)?;
        }
        self.buffered.extend_from_slice(chunks.remainder());
        Ok(())
    }

    fn check_header(&mut self) -> Result<(), ChunkedError> {
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&self.buffered[..SALT_LEN]);
        let (keys, commitment) = derive(&self.key, &salt, &self.context)?;
        verify_slices_are_equal(&commitment, &self.buffered[SALT_LEN..STREAM_HEADER_LEN])
            .map_err(|_| ChunkedError::CommitmentMismatch)?;
        self.keys = Some(keys);
        self.buffered.clear();
        Ok(())
    }

    /// Opens the buffered bytes as one sealed chunk.
    fn open_buffered(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        let keys = self.keys.as_ref().ok_or(ChunkedError::HeaderTruncated)?;
        open_one(keys, self.next_index, &self.buffered, out)?;
        self.next_index += 1;
        Ok(())
    }

    /// Opens one sealed chunk (plaintext + tag) as chunk `next_index`.
    fn open_chunk(&mut self, sealed: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        let keys = self.keys.as_ref().ok_or(ChunkedError::HeaderTruncated)?;
        open_one(keys, self.next_index, sealed, out)?;
        self.next_index += 1;
        Ok(())
    }

    /// Ends the ciphertext: opens the short final chunk into `out`.
    ///
    /// `Err(Truncated)` means the stream stopped at a chunk boundary or inside
    /// a tag; `Err(Authentication)` that the bytes left are not a valid final
    /// chunk (modified, or a chunk cut short). Either way what `out` received
    /// before is an authenticated prefix, and nothing more.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if self.failed {
            return Err(ChunkedError::Poisoned);
        }
        self.failed = true; // a stream is finished once, whatever the outcome
        if self.keys.is_none() {
            return Err(ChunkedError::HeaderTruncated);
        }
        if self.buffered.len() < TAG_LEN {
            return Err(ChunkedError::Truncated);
        }
        let result = self.open_buffered(out);
        self.buffered.clear();
        result
    }

    /// Bytes received after the last authenticated chunk (a torn tail, or
    /// the final chunk before [`Decryptor::finish`]).
    pub fn unprocessed_len(&self) -> usize {
        self.buffered.len()
    }
}

/// Opens `sealed` (ciphertext and tag) as chunk `index`, appending the
/// plaintext to `out` only if it authenticates.
fn open_one(
    keys: &MessageKeys,
    index: u64,
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ChunkedError> {
    if index >= MAX_CHUNKS {
        return Err(ChunkedError::TooLong);
    }
    // Callers pass at least TAG_LEN bytes; checked again so no slice can panic.
    let Some(body_len) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(ChunkedError::Truncated);
    };
    let (body, tag) = sealed.split_at(body_len);
    let start = out.len();
    out.resize(start + body_len, 0);
    if keys
        .aead
        .open_separate_gather(
            keys.nonce(index),
            Aad::empty(),
            body,
            tag,
            &mut out[start..],
        )
        .is_err()
    {
        out[start..].zeroize();
        out.truncate(start);
        return Err(ChunkedError::Authentication { index });
    }
    Ok(())
}

/// Encrypts a whole message at once.
pub fn seal(
    key: &DataKey,
    salt: [u8; SALT_LEN],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ChunkedError> {
    let mut encryptor = Encryptor::new(key, salt, context)?;
    let mut out = Vec::with_capacity(
        STREAM_HEADER_LEN + plaintext.len() + (plaintext.len() / CHUNK_SIZE + 1) * TAG_LEN,
    );
    out.extend_from_slice(&encryptor.header());
    encryptor.push(plaintext, &mut out)?;
    encryptor.finish(&mut out)?;
    Ok(out)
}

/// Decrypts a whole message at once; any failure releases nothing.
pub fn open(key: &DataKey, context: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, ChunkedError> {
    let mut decryptor = Decryptor::new(key, context);
    let mut out = Vec::with_capacity(ciphertext.len());
    let result = decryptor
        .push(ciphertext, &mut out)
        .and_then(|()| decryptor.finish(&mut out));
    match result {
        Ok(()) => Ok(out),
        Err(e) => {
            out.zeroize();
            Err(e)
        }
    }
}
