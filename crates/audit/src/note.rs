//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519
//! signatures (type `0x01`), and verifier keys (`name+hash+base64`).
//!
//! A note is text ending in a newline, a blank line, then signature lines
//! `— <key name> base64(key ID || signature)`. The key ID is
//! `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.

use std::fmt;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hash::sha256;

/// The signed-note signature type of Ed25519.
pub const ED25519_TYPE: u8 = 0x01;

/// Signature lines read before a note is refused (the spec asks for at
/// least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key or signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name that is empty or holds a space or `+`.
    #[error("invalid key name")]
    KeyName,
    /// A verifier key that is not `name+8 hex digits+base64(0x01 || key)`,
    /// or whose hash does not match its name and key.
    #[error("invalid verifier key")]
    VerifierKey,
    /// A seed that is not a valid Ed25519 private key.
    #[error("invalid signing key")]
    SigningKey,
    /// Note text that is empty, does not end in a newline, or has control
    /// characters.
    #[error("invalid note text")]
    Text,
    /// The note is not text, a blank line and well-formed signature lines.
    #[error("malformed signed note")]
    Malformed,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("too many signatures")]
    TooManySignatures,
    /// A signature by a known key does not verify.
    #[error("invalid signature by a known key")]
    BadSignature,
    /// No signature by any known key.
    #[error("no signature by a known key")]
    NoKnownSignature,
}

/// A standard base64 decode that also refuses non-canonical forms (missing
/// padding, stray bits), so each value has one text form.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(s).ok()?;
    (STANDARD.encode(&bytes) == s).then_some(bytes)
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::KeyName);
    }
    // Control characters are not whitespace in every case (e.g. U+0000).
    if name.chars().any(char::is_control) {
        return Err(NoteError::KeyName);
    }
    Ok(())
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub(crate) fn key_id_of(name: &str, sig_type: u8, public_key: &[u8; 32]) -> u32 {
    let mut buf = Vec::with_capacity(name.len() + 2 + 32);
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(sig_type);
    buf.extend_from_slice(public_key);
    let h = sha256(&buf);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Splits a verifier key `name+hash+base64(type || public key)` of an
/// Ed25519 key of `sig_type`, checking that the hash is the key ID.
pub(crate) fn parse_vkey(vkey: &str, sig_type: u8) -> Result<(&str, [u8; 32]), NoteError> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::VerifierKey);
    };
    check_name(name).map_err(|_| NoteError::VerifierKey)?;
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::VerifierKey);
    }
    let id = u32::from_str_radix(hash, 16).map_err(|_| NoteError::VerifierKey)?;
    let key = b64_decode(key).ok_or(NoteError::VerifierKey)?;
    let [t, rest @ ..] = key.as_slice() else {
        return Err(NoteError::VerifierKey);
    };
    if *t != sig_type {
        return Err(NoteError::VerifierKey);
    }
    let public_key = <[u8; 32]>::try_from(rest).map_err(|_| NoteError::VerifierKey)?;
    if key_id_of(name, sig_type, &public_key) != id {
        return Err(NoteError::VerifierKey);
    }
    Ok((name, public_key))
}

/// `name+hash+base64(type || public key)`.
pub(crate) fn format_vkey(name: &str, key_id: u32, sig_type: u8, public_key: &[u8; 32]) -> String {
    let mut key = Vec::with_capacity(33);
    key.push(sig_type);
    key.extend_from_slice(public_key);
    format!("{name}+{key_id:08x}+{}", b64_encode(&key))
}

/// An Ed25519 note verifier: key name, key ID and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    public_key: [u8; 32],
}

impl VerifierKey {
    /// The verifier for `public_key` under `name`.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id_of(name, ED25519_TYPE, &public_key),
            public_key,
        })
    }

    /// Parses `name+hash+base64(0x01 || public key)`; the hash must be the
    /// key ID of that name and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, public_key) = parse_vkey(vkey, ED25519_TYPE)?;
        Self::new(name, public_key)
    }

    /// The key name.
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

    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(text, sig)
            .is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_vkey(
            &self.name,
            self.key_id,
            ED25519_TYPE,
            &self.public_key,
        ))
    }
}

/// An Ed25519 note signer. Its `Debug` shows the name and key ID only.
pub struct NoteSigner {
    verifier: VerifierKey,
    key: Ed25519KeyPair,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.verifier.name)
            .field("key_id", &format_args!("{:08x}", self.verifier.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// The signer for the Ed25519 key with this 32-byte seed (RFC 8032
    /// private key), under `name`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::SigningKey)?;
        let public_key =
            <[u8; 32]>::try_from(key.public_key().as_ref()).map_err(|_| NoteError::SigningKey)?;
        Ok(Self {
            verifier: VerifierKey::new(name, public_key)?,
            key,
        })
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The signature line for `text` (not checked; see [`Self::sign`]).
    fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = Vec::with_capacity(4 + 64);
        raw.extend_from_slice(&self.verifier.key_id.to_be_bytes());
        raw.extend_from_slice(sig.as_ref());
        signature_line(&self.verifier.name, &raw)
    }

    /// The signed note: `text`, a blank line, this key's signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let mut note = String::with_capacity(text.len() + 128);
        note.push_str(text);
        note.push('\n');
        note.push_str(&self.signature_line(text));
        Ok(note)
    }
}

pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') || has_control(text) {
        return Err(NoteError::Text);
    }
    Ok(())
}

fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// A note whose signature by a known key verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The signed text, with its final newline.
    pub text: &'a str,
    /// Names of the known keys whose signatures verified.
    pub verified_by: Vec<&'a str>,
}

/// `— <name> base64(raw)\n`.
pub(crate) fn signature_line(name: &str, raw: &[u8]) -> String {
    format!("{SIG_PREFIX}{name} {}\n", b64_encode(raw))
}

/// One signature line: key name, key ID, the bytes after the key ID.
pub(crate) type SignatureLine<'a> = (&'a str, u32, Vec<u8>);

/// A note split at its last blank line: the text (with its final newline)
/// and each signature line's key name, key ID and the bytes after the key
/// ID. Every line must be well formed; at most [`MAX_SIGNATURES`].
pub(crate) fn split(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    if has_control(note) {
        return Err(NoteError::Malformed);
    }
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
    let text = &note[..=split];
    let sigs = &note[split + 2..];
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed);
    }
    let mut lines = Vec::new();
    for (n, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        check_name(name).map_err(|_| NoteError::Malformed)?;
        let raw = b64_decode(b64).ok_or(NoteError::Malformed)?;
        let [a, b, c, d, sig @ ..] = raw.as_slice() else {
            return Err(NoteError::Malformed);
        };
        lines.push((name, u32::from_be_bytes([*a, *b, *c, *d]), sig.to_vec()));
    }
    Ok((text, lines))
}

/// `note` with every signature line by `name` and `key_id` removed and
/// `line` (a whole signature line, as [`signature_line`] makes) added last.
/// The other lines are kept in order, re-spelled from what [`split`] read
/// (base64 is canonical, so byte for byte as they were).
pub(crate) fn replace_lines_of(
    note: &str,
    name: &str,
    key_id: u32,
    line: &str,
) -> Result<String, NoteError> {
    let (text, lines) = split(note)?;
    let mut out = String::with_capacity(note.len() + line.len());
    out.push_str(text);
    out.push('\n');
    for (n, id, rest) in lines {
        if n == name && id == key_id {
            continue;
        }
        let mut raw = Vec::with_capacity(4 + rest.len());
        raw.extend_from_slice(&id.to_be_bytes());
        raw.extend_from_slice(&rest);
        out.push_str(&signature_line(n, &raw));
    }
    out.push_str(line);
    Ok(out)
}

/// Opens a signed note: splits text from signatures at the last blank line,
/// checks every signature by a key in `known` (name and key ID both match),
/// ignores the others. Refused if any known signature fails or none is found.
pub fn open<'a>(note: &'a str, known: &[VerifierKey]) -> Result<Opened<'a>, NoteError> {
    let (text, lines) = split(note)?;
    let mut verified_by = Vec::new();
    for (name, id, sig) in lines {
        for key in known.iter().filter(|k| k.name == name && k.key_id == id) {
            if !key.verify(text.as_bytes(), &sig) {
                return Err(NoteError::BadSignature);
            }
            verified_by.push(name);
        }
    }
    if verified_by.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(Opened { text, verified_by })
}
