//! Arbitrary bytes as a recording: the container readers and the
//! Cobblestone-256 stream decryptor never panic, and whatever `open`
//! accepts, `open_prefix` reports complete with the same audio.
//!
//! The key provider holds the worked example's agency key (32 bytes of
//! 0x42, epoch 1), so the committed seed (that example) gets past the key
//! unwrap and mutations reach the stream.

#![no_main]

use callward_vault::chunked::Decryptor;
use callward_vault::{
    AgencyPrivateKey, DataKey, InMemoryKeyProvider, RecordingHeader, RecordingReader, StreamEnd,
    open, open_prefix, recover,
};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

struct Counter(u8);

impl callward_vault::rand_core::TryRng for Counter {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}
impl callward_vault::rand_core::TryCryptoRng for Counter {}

/// Built once: deriving the public key is an X25519 scalar multiplication.
fn keys() -> &'static InMemoryKeyProvider {
    static KEYS: OnceLock<InMemoryKeyProvider> = OnceLock::new();
    KEYS.get_or_init(|| {
        let agency = AgencyPrivateKey::from_bytes(&[0x42; 32]).expect("32 bytes is a valid key");
        InMemoryKeyProvider::with_key(1, agency)
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let _ = RecordingHeader::parse(data);
    let strict = open(data, keys);
    let lenient = open_prefix(data, keys);
    if let Ok(rec) = &strict {
        let lenient = lenient
            .as_ref()
            .expect("open accepted it, so open_prefix must");
        assert_eq!(lenient.end, StreamEnd::Complete);
        assert_eq!(lenient.audio, rec.audio);
    }
    // Recovery unwraps the key again: only worth it where the prefix opened.
    if lenient.is_ok()
        && let Ok(recovered) = recover(data, keys, &mut Counter(0))
    {
        let again = open(&recovered.container, keys).expect("a recovered container opens");
        assert_eq!(again.audio.len(), recovered.audio_len);
    }

    // The bare stream and the streaming reader, fed in pieces sized by the
    // first byte; the reader agrees with `open`.
    let piece = usize::from(data.first().copied().unwrap_or(1)).max(1) * 67;
    if strict.is_ok() {
        let mut reader = RecordingReader::new();
        let mut audio = Vec::new();
        for part in data.chunks(piece) {
            reader
                .push(part, keys, &mut audio)
                .expect("open accepted it");
        }
        reader.finish(&mut audio).expect("open accepted it");
        assert_eq!(Some(&audio), strict.as_ref().ok().map(|r| &r.audio));
    }
    let key = DataKey::from_bytes([0x42; 32]);
    let mut d = Decryptor::new(&key, b"fuzz");
    let mut out = Vec::new();
    let mut failed = false;
    for part in data.chunks(piece) {
        if d.push(part, &mut out).is_err() {
            failed = true;
            break;
        }
    }
    if !failed {
        let _ = d.finish(&mut out);
    }
});
