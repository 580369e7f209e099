//! The recording vault: the encrypted recording container, the key hierarchy
//! and object storage.
//!
//! Call servers hold only the agency's public key, so they can write
//! recordings and never read them (invariant 3).
//!
//! Pure apart from [`keydir`]: no I/O, no clock, no randomness of its own
//! (callers pass a `rand_core::CryptoRng` and the time). [`keydir`] is the
//! file key provider, std-only file work on the key directory. Map:
//!
//! - [`chunked`]: C2SP chunked encryption, Cobblestone-256 (HKDF-SHA-512,
//!   AES-256-GCM from aws-lc-rs, 16 KiB chunks), streaming both ways. A
//!   chunk is sealed as soon as it fills, so a crash loses at most the
//!   unsealed tail (about a second of call audio), and a reader tells a
//!   complete stream from a truncated one.
//! - [`keys`]: the per-recording [`DataKey`], HPKE-wrapped (RFC 9180) to the
//!   [`AgencyPublicKey`]; the [`KeyProvider`] trait the key service
//!   implements with the [`AgencyPrivateKey`].
//! - [`container`]: the recording file (`docs/recording-format.md`): header,
//!   wrapped key, then the audio stream with the header as its context.
//!   [`RecordingWriter`] writes, [`open`] (or [`RecordingReader`], as bytes
//!   arrive) reads, [`open_prefix`] and
//!   [`recover`] deal with what a crash left.
//! - [`keyring`]: the agency's key epochs (current, retired, shredded) and
//!   the hold and privilege-review public keys; [`keydir`] keeps their
//!   private keys in a key directory and is the file [`KeyProvider`].
//! - [`keyrecord`]: legal-hold and privilege-seal records, a recording's data
//!   key wrapped to the hold or review key (`docs/keys.md`).
//! - [`protocol`]: the key service's request/response frames (`callward keyd`).
//! - [`evidence`]: the access-log evidence a request carries and the
//!   [`AccessGate`] that must admit it before [`KeyDir::unwrap`] releases a
//!   key.

#![warn(missing_docs)]

pub mod chunked;
pub mod container;
pub mod evidence;
pub mod keydir;
pub mod keyrecord;
pub mod keyring;
pub mod keys;
#[cfg(feature = "os-rng")]
pub mod os_rng;
pub mod protocol;

/// The RNG traits callers pass randomness through (rand_core 0.10).
pub use rand_core;

pub use chunked::{ChunkedError, Decryptor, Encryptor};
pub use container::{
    CallId, ChannelLayout, Codec, ContainerError, Recording, RecordingHeader, RecordingMeta,
    RecordingReader, RecordingWriter, Recovered, StreamEnd, open, open_prefix, recover,
};
pub use evidence::{AccessGate, LogEvidence};
pub use keydir::{KeyDir, KeyDirError};
pub use keyrecord::{
    HoldKeys, KeyRecord, RecordKind, SealedRecording, open_sealed, rewrap_for_hold, seal,
};
pub use keyring::{Epoch, EpochStatus, Keyring, KeyringError, WriterKey};
pub use keys::{
    AgencyPrivateKey, AgencyPublicKey, DataKey, InMemoryKeyProvider, KeyError, KeyId, KeyProvider,
};
#[cfg(feature = "os-rng")]
pub use os_rng::OsRng;
pub use protocol::{UnwrapRequest, UnwrapResponse, WireError};
