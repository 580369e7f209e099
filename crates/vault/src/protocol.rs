//! The key service's wire protocol (`callward keyd`), sans-IO: encoders and
//! a parser that never panics, for the driver to move bytes over a Unix
//! socket. Written down with an example in `docs/keys.md`.
//!
//! Each message is a frame: a 4-byte big-endian body length (at most
//! [`MAX_FRAME_LEN`]) and the body. A request body is a version byte, an
//! operation byte and fields (tag, 2-byte length, value); a response body is
//! a version byte, a status byte and the status's payload. Unknown fields
//! are refused, not skipped: a key service must not release a key while
//! ignoring a condition it does not understand. The access-log evidence
//! (issue 7) is field 3.

use std::fmt;

use crate::chunked::KEY_LEN;
use crate::container::RecordingHeader;
use crate::evidence::LogEvidence;
use crate::keyrecord::KeyRecord;
use crate::keys::{DataKey, KeyError, KeyId};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest frame body accepted.
pub const MAX_FRAME_LEN: usize = 16 * 1024;
/// Length of the frame length prefix.
pub const FRAME_PREFIX_LEN: usize = 4;

const OP_UNWRAP: u8 = 1;
const TAG_HEADER: u8 = 1;
const TAG_HOLD_RECORD: u8 = 2;
const TAG_LOG_EVIDENCE: u8 = 3;

const STATUS_KEY: u8 = 0;
const STATUS_INVALID_KEY: u8 = 1;
const STATUS_UNWRAP_FAILED: u8 = 2;
const STATUS_UNKNOWN_KEY: u8 = 3;
const STATUS_WRAP_FAILED: u8 = 4;
const STATUS_SHREDDED: u8 = 5;
const STATUS_SEALED: u8 = 6;
const STATUS_UNAVAILABLE: u8 = 7;
const STATUS_REFUSED: u8 = 8;
const STATUS_CONSISTENCY_NEEDED: u8 = 9;

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// A frame longer than [`MAX_FRAME_LEN`].
    FrameTooLong(usize),
    /// A protocol version this build does not speak.
    UnsupportedVersion(u8),
    /// An operation this build does not know.
    UnknownOperation(u8),
    /// A request field this build does not know (refused, not skipped).
    UnknownField(u8),
    /// A field given twice.
    DuplicateField(u8),
    /// A required field is absent.
    MissingField(&'static str),
    /// A status this build does not know.
    UnknownStatus(u8),
    /// The body ended early or has bytes left over; names the part.
    Malformed(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLong(n) => {
                write!(f, "frame of {n} bytes exceeds {MAX_FRAME_LEN}")
            }
            Self::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            Self::UnknownOperation(op) => write!(f, "unknown operation {op}"),
            Self::UnknownField(t) => write!(f, "unknown request field {t}"),
            Self::DuplicateField(t) => write!(f, "request field {t} given twice"),
            Self::MissingField(name) => write!(f, "request has no {name}"),
            Self::UnknownStatus(s) => write!(f, "unknown response status {s}"),
            Self::Malformed(what) => write!(f, "malformed message: {what}"),
        }
    }
}

impl std::error::Error for WireError {}

/// Finds the first frame in `buf`: `Ok(Some((body, consumed)))` once it is
/// all there, `Ok(None)` while more bytes are needed, an error for a frame
/// that may never be read (too long).
pub fn split_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, WireError> {
    let Some(prefix) = buf.get(..FRAME_PREFIX_LEN) else {
        return Ok(None);
    };
    let mut len = [0u8; FRAME_PREFIX_LEN];
    len.copy_from_slice(prefix);
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_LEN {
        return Err(WireError::FrameTooLong(len));
    }
    Ok(buf
        .get(FRAME_PREFIX_LEN..FRAME_PREFIX_LEN + len)
        .map(|body| (body, FRAME_PREFIX_LEN + len)))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_PREFIX_LEN + body.len());
    // Bodies are built from bounded parts, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A request to unwrap one recording's data key. The key service releases
/// the key only if it carries the access-log evidence and the service's
/// [`crate::AccessGate`] admits it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnwrapRequest {
    /// The recording's header.
    pub header: RecordingHeader,
    /// The recording's legal-hold record, to unwrap through the hold key
    /// (for a held recording whose epoch was shredded).
    pub hold_record: Option<KeyRecord>,
    /// Proof that this access is in the audit log.
    pub evidence: Option<LogEvidence>,
}

impl UnwrapRequest {
    /// A request for the recording with this header, through its epoch key.
    pub fn new(header: RecordingHeader) -> Self {
        Self {
            header,
            hold_record: None,
            evidence: None,
        }
    }

    /// The same request, with the access-log evidence for it.
    pub fn with_evidence(mut self, evidence: LogEvidence) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// The same request, through this hold record.
    pub fn with_hold_record(mut self, record: KeyRecord) -> Self {
        self.hold_record = Some(record);
        self
    }

    /// The framed request.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![PROTOCOL_VERSION, OP_UNWRAP];
        let mut field = |tag: u8, value: &[u8]| {
            body.push(tag);
            // Headers and records are a few hundred bytes.
            body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
            body.extend_from_slice(value);
        };
        field(TAG_HEADER, self.header.as_bytes());
        if let Some(record) = &self.hold_record {
            field(TAG_HOLD_RECORD, record.as_bytes());
        }
        if let Some(evidence) = &self.evidence {
            field(TAG_LOG_EVIDENCE, &evidence.encode());
        }
        frame(&body)
    }

    /// Parses a request body (a frame's contents).
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let (&version, rest) = body.split_first().ok_or(WireError::Malformed("empty"))?;
        if version != PROTOCOL_VERSION {
            return Err(WireError::UnsupportedVersion(version));
        }
        let (&op, mut rest) = rest
            .split_first()
            .ok_or(WireError::Malformed("no operation"))?;
        if op != OP_UNWRAP {
            return Err(WireError::UnknownOperation(op));
        }
        let mut header = None;
        let mut hold_record = None;
        let mut evidence = None;
        let mut last_tag = 0;
        while let Some((&tag, after)) = rest.split_first() {
            let len = after
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or(WireError::Malformed("field length"))?;
            let value = after
                .get(2..2 + len)
                .ok_or(WireError::Malformed("field value"))?;
            rest = &after[2 + len..];
            // One encoding per request: fields in ascending tag order.
            if tag < last_tag {
                return Err(WireError::Malformed("fields out of order"));
            }
            last_tag = tag;
            match tag {
                TAG_HEADER => {
                    if header.is_some() {
                        return Err(WireError::DuplicateField(tag));
                    }
                    let parsed = RecordingHeader::parse(value)
                        .map_err(|_| WireError::Malformed("recording header"))?;
                    if parsed.len() != value.len() {
                        return Err(WireError::Malformed("recording header"));
                    }
                    header = Some(parsed);
                }
                TAG_HOLD_RECORD => {
                    if hold_record.is_some() {
                        return Err(WireError::DuplicateField(tag));
                    }
                    hold_record = Some(
                        KeyRecord::parse(value).map_err(|_| WireError::Malformed("hold record"))?,
                    );
                }
                TAG_LOG_EVIDENCE => {
                    if evidence.is_some() {
                        return Err(WireError::DuplicateField(tag));
                    }
                    evidence = Some(LogEvidence::decode(value)?);
                }
                other => return Err(WireError::UnknownField(other)),
            }
        }
        Ok(Self {
            header: header.ok_or(WireError::MissingField("recording header"))?,
            hold_record,
            evidence,
        })
    }
}

/// The key service's answer.
#[derive(Debug, Clone)]
pub enum UnwrapResponse {
    /// The data key.
    Key(DataKey),
    /// Why not.
    Error(KeyError),
}

/// Longest error text sent (the rest is cut, on a character boundary).
const MAX_TEXT_LEN: usize = 1024;

fn text(s: &str) -> &[u8] {
    let mut end = s.len().min(MAX_TEXT_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

impl UnwrapResponse {
    /// The framed response.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![PROTOCOL_VERSION];
        match self {
            Self::Key(key) => {
                body.push(STATUS_KEY);
                body.extend_from_slice(key.expose());
            }
            Self::Error(e) => match e {
                KeyError::InvalidKey => body.push(STATUS_INVALID_KEY),
                KeyError::UnwrapFailed => body.push(STATUS_UNWRAP_FAILED),
                KeyError::UnknownKey { key_id, epoch } => {
                    body.push(STATUS_UNKNOWN_KEY);
                    body.extend_from_slice(&key_id.0);
                    body.extend_from_slice(&epoch.to_be_bytes());
                }
                KeyError::WrapFailed => body.push(STATUS_WRAP_FAILED),
                KeyError::Shredded { epoch } => {
                    body.push(STATUS_SHREDDED);
                    body.extend_from_slice(&epoch.to_be_bytes());
                }
                KeyError::Sealed { review_key } => {
                    body.push(STATUS_SEALED);
                    body.extend_from_slice(&review_key.0);
                }
                KeyError::Unavailable(why) => {
                    body.push(STATUS_UNAVAILABLE);
                    body.extend_from_slice(text(why));
                }
                KeyError::Refused(why) => {
                    body.push(STATUS_REFUSED);
                    body.extend_from_slice(text(why));
                }
                KeyError::ConsistencyNeeded { from_size } => {
                    body.push(STATUS_CONSISTENCY_NEEDED);
                    body.extend_from_slice(&from_size.to_be_bytes());
                }
            },
        }
        frame(&body)
    }

    /// Parses a response body (a frame's contents).
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let (&version, rest) = body.split_first().ok_or(WireError::Malformed("empty"))?;
        if version != PROTOCOL_VERSION {
            return Err(WireError::UnsupportedVersion(version));
        }
        let (&status, payload) = rest
            .split_first()
            .ok_or(WireError::Malformed("no status"))?;
        let fixed = |n: usize| {
            if payload.len() == n {
                Ok(payload)
            } else {
                Err(WireError::Malformed("payload length"))
            }
        };
        let key_id = |b: &[u8]| {
            let mut id = [0u8; 8];
            id.copy_from_slice(&b[..8]);
            KeyId(id)
        };
        let epoch = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let utf8 = || {
            if payload.len() > MAX_TEXT_LEN {
                return Err(WireError::Malformed("error text too long"));
            }
            std::str::from_utf8(payload)
                .map(str::to_owned)
                .map_err(|_| WireError::Malformed("error text"))
        };
        Ok(match status {
            STATUS_KEY => Self::Key(
                DataKey::from_slice(fixed(KEY_LEN)?)
                    .map_err(|_| WireError::Malformed("data key"))?,
            ),
            STATUS_INVALID_KEY => {
                fixed(0)?;
                Self::Error(KeyError::InvalidKey)
            }
            STATUS_UNWRAP_FAILED => {
                fixed(0)?;
                Self::Error(KeyError::UnwrapFailed)
            }
            STATUS_UNKNOWN_KEY => {
                let b = fixed(12)?;
                Self::Error(KeyError::UnknownKey {
                    key_id: key_id(b),
                    epoch: epoch(&b[8..]),
                })
            }
            STATUS_WRAP_FAILED => {
                fixed(0)?;
                Self::Error(KeyError::WrapFailed)
            }
            STATUS_SHREDDED => Self::Error(KeyError::Shredded {
                epoch: epoch(fixed(4)?),
            }),
            STATUS_SEALED => Self::Error(KeyError::Sealed {
                review_key: key_id(fixed(8)?),
            }),
            STATUS_UNAVAILABLE => Self::Error(KeyError::Unavailable(utf8()?)),
            STATUS_REFUSED => Self::Error(KeyError::Refused(utf8()?)),
            STATUS_CONSISTENCY_NEEDED => {
                let b = fixed(8)?;
                let mut size = [0u8; 8];
                size.copy_from_slice(b);
                Self::Error(KeyError::ConsistencyNeeded {
                    from_size: u64::from_be_bytes(size),
                })
            }
            other => return Err(WireError::UnknownStatus(other)),
        })
    }
}
