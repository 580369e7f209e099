//! The key hierarchy: a random data key per recording, wrapped with HPKE
//! (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM) to the agency's public key.
//!
//! The writing side holds an [`AgencyPublicKey`], which can wrap and never
//! unwrap. Unwrapping needs an [`AgencyPrivateKey`], reached only through a
//! [`KeyProvider`] (the key service).

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::chunked::{ChunkedError, KEY_LEN};

/// HPKE suite identifiers (RFC 9180 §7): KEM, KDF, AEAD.
pub const HPKE_KEM_ID: u16 = 0x0020;
/// HKDF-SHA256.
pub const HPKE_KDF_ID: u16 = 0x0001;
/// AES-256-GCM.
pub const HPKE_AEAD_ID: u16 = 0x0002;
/// Length of the HPKE encapsulated key (an X25519 public key).
pub const ENCAPPED_KEY_LEN: usize = 32;
/// Length of the wrapped data key: the key and the HPKE AEAD tag.
pub const WRAPPED_KEY_LEN: usize = KEY_LEN + 16;
/// Length of an X25519 key, public or private.
pub const AGENCY_KEY_LEN: usize = 32;

/// A recording's data key: the Cobblestone-256 input key. Zeroed on drop,
/// never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh key from the caller's cryptographic RNG (the crate draws no
    /// randomness itself).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = [0u8; KEY_LEN];
        rng.fill_bytes(&mut key);
        Self(key)
    }

    /// Takes ownership of key bytes.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        Self(key)
    }

    /// Copies key bytes, rejecting any length but [`KEY_LEN`].
    pub fn from_slice(key: &[u8]) -> Result<Self, ChunkedError> {
        let key: [u8; KEY_LEN] = key.try_into().map_err(|_| ChunkedError::InvalidKeySize)?;
        Ok(Self(key))
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// A short identifier of an agency key: the first 8 bytes of SHA-256 of its
/// public key. Tells a reader which private key a recording needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The agency's public key: enough to wrap data keys, never to unwrap them.
///
/// A call server configured with it can write recordings:
///
/// ```
/// use callward_vault::{AgencyPublicKey, CallId, ChannelLayout, Codec, RecordingMeta, RecordingWriter};
/// # struct Fixed(u8);
/// # impl rand_core::TryRng for Fixed {
/// #     type Error = core::convert::Infallible;
/// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(u32::from(self.0)) }
/// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(u64::from(self.0)) }
/// #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { self.0 = self.0.wrapping_add(1); d.fill(self.0); Ok(()) }
/// # }
/// # impl rand_core::TryCryptoRng for Fixed {}
/// # let mut rng = Fixed(0);
/// let public = AgencyPublicKey::from_bytes(&[9; 32])?;
/// let meta = RecordingMeta {
///     call_id: CallId::new("call-1")?,
///     codec: Codec::Pcmu,
///     layout: ChannelLayout::Mono,
///     key_epoch: 1,
/// };
/// let mut file = Vec::new();
/// let mut writer = RecordingWriter::start(&meta, &public, &mut rng, &mut file)?;
/// writer.push(&[0xff; 160], &mut file)?;
/// writer.finish(&mut file)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// but it has no way to read one: reading takes a [`KeyProvider`], and a
/// public key is not one (this does not compile):
///
/// ```compile_fail,E0277
/// use callward_vault::AgencyPublicKey;
/// let public = AgencyPublicKey::from_bytes(&[9; 32]).unwrap();
/// let recording = callward_vault::open(&[], &public);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AgencyPublicKey(<X25519HkdfSha256 as hpke::Kem>::PublicKey);

impl fmt::Debug for AgencyPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyPublicKey({})", self.key_id())
    }
}

/// Why a key could not be parsed, wrapped or unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Key bytes of the wrong length or not a valid key.
    InvalidKey,
    /// The wrapped key does not open under this private key and header: wrong
    /// key, or a wrapped key moved from another recording, or modified.
    UnwrapFailed,
    /// The provider holds no private key for this key id and epoch.
    UnknownKey {
        /// The key the recording names.
        key_id: KeyId,
        /// Its epoch.
        epoch: u32,
    },
    /// HPKE refused to wrap (never expected).
    WrapFailed,
    /// The epoch's private key was destroyed (crypto-shredded): every
    /// recording wrapped to it is unreadable, by design.
    Shredded {
        /// The shredded epoch.
        epoch: u32,
    },
    /// The recording is sealed for privilege review: its data key is wrapped
    /// only to the privilege-review key, which the ordinary path never holds.
    Sealed {
        /// The privilege-review key it is sealed to.
        review_key: KeyId,
    },
    /// The key service could not reach its keys (a missing or unsafe key
    /// file, an I/O error); the text says which. Never contains key bytes.
    Unavailable(String),
    /// The key service refused the request (malformed, or not authorised).
    Refused(String),
    /// The access-log evidence must prove consistency from this log size,
    /// the last checkpoint the key service admitted: ask again with that
    /// proof (as C2SP tlog-witness answers a stale old size).
    ConsistencyNeeded {
        /// The size the consistency proof must start from.
        from_size: u64,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey => f.write_str("invalid agency key bytes"),
            Self::UnwrapFailed => f.write_str(
                "data key does not unwrap (wrong agency key, or wrapped key not made for this header)",
            ),
            Self::UnknownKey { key_id, epoch } => {
                write!(f, "no private key for key id {key_id} epoch {epoch}")
            }
            Self::WrapFailed => f.write_str("HPKE wrap failed"),
            Self::Shredded { epoch } => write!(
                f,
                "epoch {epoch} was crypto-shredded: its recordings can no longer be read"
            ),
            Self::Sealed { review_key } => write!(
                f,
                "recording is sealed for privilege review (review key {review_key}); the ordinary key path cannot open it"
            ),
            Self::Unavailable(why) => write!(f, "key service unavailable: {why}"),
            Self::Refused(why) => write!(f, "key service refused: {why}"),
            Self::ConsistencyNeeded { from_size } => write!(
                f,
                "key service refused: a consistency proof from log size {from_size} (the last checkpoint it admitted) is required"
            ),
        }
    }
}

impl std::error::Error for KeyError {}

impl AgencyPublicKey {
    /// Parses the 32-byte X25519 public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != AGENCY_KEY_LEN {
            return Err(KeyError::InvalidKey);
        }
        <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidKey)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; AGENCY_KEY_LEN] {
        let mut out = [0u8; AGENCY_KEY_LEN];
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// This key's [`KeyId`].
    pub fn key_id(&self) -> KeyId {
        let hash = digest(&SHA256, &self.to_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_ref()[..8]);
        KeyId(id)
    }

    /// Wraps `data_key` to this public key, bound to `info` (the recording
    /// header without the wrapped key). Returns the encapsulated key and the
    /// wrapped key.
    pub(crate) fn wrap<R: CryptoRng + ?Sized>(
        &self,
        data_key: &DataKey,
        info: &[u8],
        rng: &mut R,
    ) -> Result<([u8; ENCAPPED_KEY_LEN], [u8; WRAPPED_KEY_LEN]), KeyError> {
        let (enc, sealed) = self.seal_bytes(data_key.expose(), info, rng)?;
        let wrapped: [u8; WRAPPED_KEY_LEN] = sealed.try_into().map_err(|_| KeyError::WrapFailed)?;
        Ok((enc, wrapped))
    }

    /// HPKE base-mode seal of any short secret to this key, bound to `info`
    /// (key records seal more than a bare data key).
    pub(crate) fn seal_bytes<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        info: &[u8],
        rng: &mut R,
    ) -> Result<([u8; ENCAPPED_KEY_LEN], Vec<u8>), KeyError> {
        let (encapped, sealed) =
            hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
                &OpModeS::Base,
                &self.0,
                info,
                plaintext,
                &[],
                &mut RngRef(rng),
            )
            .map_err(|_| KeyError::WrapFailed)?;
        let enc: [u8; ENCAPPED_KEY_LEN] = encapped
            .to_bytes()
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrapFailed)?;
        Ok((enc, sealed))
    }
}

/// Lets hpke's generic `impl CryptoRng` take a caller's `?Sized` RNG
/// (for example a `&mut dyn CryptoRng`).
struct RngRef<'a, R: ?Sized>(&'a mut R);

impl<R: CryptoRng + ?Sized> rand_core::TryRng for RngRef<'_, R> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core::TryCryptoRng for RngRef<'_, R> {}

/// The agency's private key. Lives with the key service only; never printed,
/// zeroed on drop (by the X25519 implementation).
pub struct AgencyPrivateKey {
    secret: <X25519HkdfSha256 as hpke::Kem>::PrivateKey,
    public: AgencyPublicKey,
}

impl fmt::Debug for AgencyPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyPrivateKey({}, <redacted>)", self.public.key_id())
    }
}

impl AgencyPrivateKey {
    /// A fresh key pair from the caller's RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let (secret, public) = X25519HkdfSha256::gen_keypair_with_rng(&mut RngRef(rng));
        Self {
            secret,
            public: AgencyPublicKey(public),
        }
    }

    /// Parses the 32-byte X25519 private key (for example a key file's bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != AGENCY_KEY_LEN {
            return Err(KeyError::InvalidKey);
        }
        let secret = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map_err(|_| KeyError::InvalidKey)?;
        let public = AgencyPublicKey(X25519HkdfSha256::sk_to_pk(&secret));
        Ok(Self { secret, public })
    }

    /// The 32-byte encoding, wrapped so it is zeroed when dropped. For
    /// writing the key file; handle with care.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; AGENCY_KEY_LEN]> {
        let mut out = zeroize::Zeroizing::new([0u8; AGENCY_KEY_LEN]);
        let mut bytes = self.secret.to_bytes();
        out.copy_from_slice(&bytes);
        bytes.zeroize();
        out
    }

    /// The matching public key, for the call servers.
    pub fn public_key(&self) -> &AgencyPublicKey {
        &self.public
    }

    /// Unwraps a data key wrapped by [`AgencyPublicKey::wrap`] with the same `info`.
    pub(crate) fn unwrap(
        &self,
        encapped: &[u8; ENCAPPED_KEY_LEN],
        wrapped: &[u8; WRAPPED_KEY_LEN],
        info: &[u8],
    ) -> Result<DataKey, KeyError> {
        let opened = self.open_bytes(encapped, wrapped, info)?;
        DataKey::from_slice(&opened).map_err(|_| KeyError::UnwrapFailed)
    }

    /// Opens what [`AgencyPublicKey::seal_bytes`] sealed with the same `info`.
    /// The plaintext is zeroed when dropped.
    pub(crate) fn open_bytes(
        &self,
        encapped: &[u8; ENCAPPED_KEY_LEN],
        sealed: &[u8],
        info: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        let encapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(encapped)
            .map_err(|_| KeyError::UnwrapFailed)?;
        hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &self.secret,
            &encapped,
            info,
            sealed,
            &[],
        )
        .map(zeroize::Zeroizing::new)
        .map_err(|_| KeyError::UnwrapFailed)
    }
}

/// What the key service offers a reader: the data key of a recording, given
/// its header. Implementations decide whether to release it (later: only for
/// an access that is in the audit log).
pub trait KeyProvider {
    /// Unwraps the data key of the recording whose header this is.
    fn unwrap_data_key(
        &self,
        header: &crate::container::RecordingHeader,
    ) -> Result<DataKey, KeyError>;
}

/// A key provider holding agency private keys in memory, one per epoch (for
/// the embedded key service, loaded from its key file's bytes).
#[derive(Debug, Default)]
pub struct InMemoryKeyProvider {
    keys: Vec<(u32, AgencyPrivateKey)>,
}

impl InMemoryKeyProvider {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider with one key for `epoch`.
    pub fn with_key(epoch: u32, key: AgencyPrivateKey) -> Self {
        let mut provider = Self::new();
        provider.insert(epoch, key);
        provider
    }

    /// A provider from a key file's bytes: the 32-byte private key for `epoch`.
    pub fn from_key_file_bytes(epoch: u32, bytes: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::with_key(epoch, AgencyPrivateKey::from_bytes(bytes)?))
    }

    /// Adds (or replaces) the key of `epoch`.
    pub fn insert(&mut self, epoch: u32, key: AgencyPrivateKey) {
        self.keys
            .retain(|(e, k)| !(*e == epoch && k.public.key_id() == key.public.key_id()));
        self.keys.push((epoch, key));
    }

    /// Destroys every key of `epoch` (crypto-shredding); returns how many.
    pub fn remove_epoch(&mut self, epoch: u32) -> usize {
        let before = self.keys.len();
        self.keys.retain(|(e, _)| *e != epoch);
        before - self.keys.len()
    }
}

impl KeyProvider for InMemoryKeyProvider {
    fn unwrap_data_key(
        &self,
        header: &crate::container::RecordingHeader,
    ) -> Result<DataKey, KeyError> {
        if let Some(review_key) = crate::keyrecord::sealed_to(header) {
            return Err(KeyError::Sealed { review_key });
        }
        let key_id = header.key_id();
        let epoch = header.key_epoch();
        let (_, key) = self
            .keys
            .iter()
            .find(|(e, k)| *e == epoch && k.public.key_id() == key_id)
            .ok_or(KeyError::UnknownKey { key_id, epoch })?;
        key.unwrap(
            header.encapped_key(),
            header.wrapped_key(),
            header.binding_info(),
        )
    }
}
