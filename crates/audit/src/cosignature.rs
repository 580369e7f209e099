//! C2SP tlog-cosignature v1 (<https://c2sp.org/tlog-cosignature>), the
//! Ed25519 form: a witness's timestamped signature on a checkpoint.
//!
//! The cosigner signs `cosignature/v1\ntime <unix secs>\n` followed by the
//! checkpoint's note text, and adds the line
//! `— <name> base64(key ID || u64 BE time || 64-byte signature)` to the
//! signed note. The key ID is `SHA-256(name || 0x0A || 0x04 || public
//! key)[:4]`: signature type `0x04`, so a cosigner's key never verifies as
//! an ordinary note signature, nor the other way round. Semantics: "as of
//! this time, the largest consistent tree head this cosigner has seen for
//! the log has this root".

use std::fmt;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::note::{
    self, NoteError, check_name, format_vkey, key_id_of, parse_vkey, replace_lines_of,
    signature_line,
};

/// The signed-note signature type of an Ed25519 cosignature/v1.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// Timestamps must stay below 2^63 (the spec's limit).
const MAX_TIME: u64 = (1 << 63) - 1;

/// Why a cosignature is refused or cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The note, key name or verifier key is malformed.
    #[error("{0}")]
    Note(#[from] NoteError),
    /// What is cosigned is not a checkpoint.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// A timestamp of 2^63 or more.
    #[error("cosignature timestamp out of range")]
    Time,
    /// No line by this cosigner (name and key ID) in the note.
    #[error("no cosignature by {0:08x}")]
    Missing(u32),
    /// A line by this cosigner that is not a valid cosignature of the text.
    #[error("invalid cosignature")]
    BadSignature,
}

/// The message an Ed25519 cosignature/v1 signs.
pub fn message(text: &str, time: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(text.as_bytes());
    m
}

/// A cosigner's public key: name, key ID (type `0x04`) and Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

/// A verified cosignature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// When the cosigner signed, POSIX seconds (the latest if it signed
    /// more than once).
    pub time: u64,
}

impl CosignatureVerifier {
    /// The verifier for `public_key` under `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id_of(name, COSIGNATURE_V1_TYPE, &public_key),
            public_key,
        })
    }

    /// Parses `name+hash+base64(0x04 || public key)`; the hash must be the
    /// key ID of that name and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, public_key) = parse_vkey(vkey, COSIGNATURE_V1_TYPE)?;
        Self::new(name, public_key)
    }

    /// The cosigner's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Checks this cosigner's signature lines in `note` (a signed
    /// checkpoint): each must sign the note's text at its own time. Lines
    /// by other keys are ignored. Returns the latest time signed.
    pub fn verify(&self, note: &str) -> Result<Cosigned, CosignatureError> {
        let (text, lines) = note::split(note)?;
        Checkpoint::parse(text)?;
        let mut latest = None;
        for (name, id, raw) in lines {
            if name != self.name || id != self.key_id {
                continue;
            }
            let time = self.check_raw(text, &raw)?;
            latest = latest.max(Some(time));
        }
        latest
            .map(|time| Cosigned { time })
            .ok_or(CosignatureError::Missing(self.key_id))
    }

    /// `raw` is the line's bytes after the key ID: time, then signature.
    fn check_raw(&self, text: &str, raw: &[u8]) -> Result<u64, CosignatureError> {
        let (Some(time), Some(sig)) = (raw.get(..8), raw.get(8..)) else {
            return Err(CosignatureError::BadSignature);
        };
        let mut t = [0u8; 8];
        t.copy_from_slice(time);
        let time = u64::from_be_bytes(t);
        if time > MAX_TIME {
            return Err(CosignatureError::Time);
        }
        if sig.len() != 64 {
            return Err(CosignatureError::BadSignature);
        }
        UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(&message(text, time), sig)
            .map_err(|_| CosignatureError::BadSignature)?;
        Ok(time)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_vkey(
            &self.name,
            self.key_id,
            COSIGNATURE_V1_TYPE,
            &self.public_key,
        ))
    }
}

/// An Ed25519 cosigner. Its `Debug` shows the name and key ID only.
pub struct CosignatureSigner {
    verifier: CosignatureVerifier,
    key: Ed25519KeyPair,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.verifier.name)
            .field("key_id", &format_args!("{:08x}", self.verifier.key_id))
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// The cosigner for the Ed25519 key with this 32-byte seed, under
    /// `name`. The spec forbids one key for two cosigner names: the signed
    /// message does not name the cosigner.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::SigningKey)?;
        let public_key =
            <[u8; 32]>::try_from(key.public_key().as_ref()).map_err(|_| NoteError::SigningKey)?;
        Ok(Self {
            verifier: CosignatureVerifier::new(name, public_key)?,
            key,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// The signature line cosigning `checkpoint` at `time` (POSIX seconds),
    /// `— name base64(...)\n`, to append to the checkpoint's signed note.
    pub fn cosign(&self, checkpoint: &Checkpoint, time: u64) -> Result<String, CosignatureError> {
        if time > MAX_TIME {
            return Err(CosignatureError::Time);
        }
        let text = checkpoint.to_text();
        note::check_text(&text)?;
        // Only what parses back as a checkpoint is cosigned.
        Checkpoint::parse(&text)?;
        let sig = self.key.sign(&message(&text, time));
        let mut raw = Vec::with_capacity(4 + 8 + 64);
        raw.extend_from_slice(&self.verifier.key_id.to_be_bytes());
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(sig.as_ref());
        Ok(signature_line(&self.verifier.name, &raw))
    }

    /// `note` (a signed checkpoint) cosigned at `time`: its text and other
    /// signature lines as they were, any earlier line of this cosigner
    /// dropped, this cosignature last. The note's signatures are not
    /// checked here; open it with the log's key first.
    pub fn cosign_note(&self, note: &str, time: u64) -> Result<String, CosignatureError> {
        let (text, _) = note::split(note)?;
        let checkpoint = Checkpoint::parse(text)?;
        // Parsing is canonical, so this signs exactly the note's text.
        let line = self.cosign(&checkpoint, time)?;
        Ok(replace_lines_of(
            note,
            &self.verifier.name,
            self.verifier.key_id,
            &line,
        )?)
    }
}
