//! The recording container: round trip, crash prefix and recovery, header
//! binding (a wrapped key moved to another recording does not unwrap), any
//! flipped byte fails, and the writing side holds no way to read.

mod common;

use callward_vault::chunked::{CHUNK_SIZE, ChunkedError, SEALED_CHUNK_SIZE, STREAM_HEADER_LEN};
use callward_vault::keys::{ENCAPPED_KEY_LEN, WRAPPED_KEY_LEN};
use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, ContainerError, InMemoryKeyProvider, KeyError,
    RecordingHeader, RecordingMeta, RecordingReader, RecordingWriter, StreamEnd, open, open_prefix,
    recover,
};
use common::TestRng;

fn meta(call: &str) -> RecordingMeta {
    RecordingMeta {
        call_id: CallId::new(call).unwrap(),
        codec: Codec::Pcma,
        layout: ChannelLayout::StationOutside,
        key_epoch: 3,
    }
}

fn audio(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// An agency key pair, and a recording of `len` audio bytes written with
/// only the public key.
fn setup(call: &str, len: usize, seed: u64) -> (InMemoryKeyProvider, Vec<u8>) {
    let mut rng = TestRng::new(seed);
    let agency = AgencyPrivateKey::generate(&mut rng);
    let public = agency.public_key().clone();
    let provider = InMemoryKeyProvider::with_key(3, agency);
    (provider, write(call, &public, len, seed + 1))
}

fn write(call: &str, public: &callward_vault::AgencyPublicKey, len: usize, seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    let mut out = Vec::new();
    let mut w = RecordingWriter::start(&meta(call), public, &mut rng, &mut out).unwrap();
    for part in audio(len).chunks(160) {
        w.push(part, &mut out).unwrap();
    }
    w.finish(&mut out).unwrap();
    out
}

#[test]
fn round_trip_with_header_fields() {
    for len in [
        0,
        1,
        160,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        5 * CHUNK_SIZE + 77,
    ] {
        let (keys, file) = setup("call-0001", len, 1);
        let rec = open(&file, &keys).unwrap();
        assert_eq!(rec.audio, audio(len), "len {len}");
        assert_eq!(rec.end, StreamEnd::Complete);
        assert_eq!(rec.header.call_id().as_str(), "call-0001");
        assert_eq!(rec.header.meta().codec, Codec::Pcma);
        assert_eq!(rec.header.meta().layout, ChannelLayout::StationOutside);
        assert_eq!(rec.header.key_epoch(), 3);
        assert_eq!(rec.header.len(), 112 + "call-0001".len());
    }
}

#[test]
fn chunks_are_flushed_as_they_fill() {
    let mut rng = TestRng::new(9);
    let public = AgencyPrivateKey::generate(&mut rng).public_key().clone();
    let mut out = Vec::new();
    let mut w = RecordingWriter::start(&meta("c"), &public, &mut rng, &mut out).unwrap();
    let start = out.len();
    assert_eq!(start, 113 + STREAM_HEADER_LEN);
    w.push(&audio(CHUNK_SIZE - 1), &mut out).unwrap();
    assert_eq!(out.len(), start, "nothing sealed before a chunk fills");
    w.push(&audio(CHUNK_SIZE + 11), &mut out).unwrap();
    assert_eq!(out.len(), start + 2 * SEALED_CHUNK_SIZE);
    assert_eq!(w.pending_len(), 10);
    w.finish(&mut out).unwrap();
    assert_eq!(out.len(), start + 2 * SEALED_CHUNK_SIZE + 10 + 16);
}

#[test]
fn a_crashed_recording_yields_its_authenticated_prefix_and_recovers() {
    let len = 4 * CHUNK_SIZE + 500;
    let (keys, file) = setup("call-crash", len, 2);
    let stream_start = RecordingHeader::parse(&file).unwrap().len() + STREAM_HEADER_LEN;
    let all = audio(len);
    for cut in [
        stream_start - 10,
        stream_start,
        stream_start + 5,
        stream_start + SEALED_CHUNK_SIZE,
        stream_start + 2 * SEALED_CHUNK_SIZE + 100,
        stream_start + 4 * SEALED_CHUNK_SIZE,
        file.len() - 1,
    ] {
        let crashed = &file[..cut];
        let whole_chunks = cut.saturating_sub(stream_start) / SEALED_CHUNK_SIZE;
        // The strict reader refuses it.
        assert!(open(crashed, &keys).is_err(), "cut {cut}");
        // The lenient reader returns the authenticated prefix and says so.
        let rec = open_prefix(crashed, &keys).unwrap();
        assert_eq!(rec.audio, all[..whole_chunks * CHUNK_SIZE], "cut {cut}");
        assert!(matches!(rec.end, StreamEnd::Truncated { .. }), "cut {cut}");
        // Recovery re-seals the prefix as a complete container, fresh salt.
        let recovered = recover(crashed, &keys, &mut TestRng::new(cut as u64)).unwrap();
        assert_eq!(recovered.audio_len, whole_chunks * CHUNK_SIZE);
        let reopened = open(&recovered.container, &keys).unwrap();
        assert_eq!(reopened.audio, rec.audio);
        assert_eq!(reopened.end, StreamEnd::Complete);
        assert_eq!(reopened.header, rec.header);
        let salt = |b: &[u8]| b[stream_start - STREAM_HEADER_LEN..][..24].to_vec();
        if cut >= stream_start {
            assert_ne!(salt(&recovered.container), salt(&file), "fresh salt");
        }
    }
    // A complete recording is reported complete by the lenient reader too.
    assert_eq!(open_prefix(&file, &keys).unwrap().end, StreamEnd::Complete);
}

#[test]
fn a_wrapped_key_moved_to_another_recording_does_not_unwrap() {
    let mut rng = TestRng::new(4);
    let agency = AgencyPrivateKey::generate(&mut rng);
    let public = agency.public_key().clone();
    let keys = InMemoryKeyProvider::with_key(3, agency);
    let a = write("call-aaaa", &public, 1000, 10);
    let b = write("call-bbbb", &public, 1000, 20);
    let header_len = RecordingHeader::parse(&a).unwrap().len();
    let key_at = header_len - ENCAPPED_KEY_LEN - WRAPPED_KEY_LEN;
    let mut moved = a.clone();
    moved[key_at..header_len].copy_from_slice(&b[key_at..header_len]);
    assert_eq!(
        open(&moved, &keys).unwrap_err(),
        ContainerError::Key(KeyError::UnwrapFailed)
    );
    // B's whole header on A's stream: the key unwraps, the stream's
    // commitment (context = header) refuses it.
    let mut swapped = b[..header_len].to_vec();
    swapped.extend_from_slice(&a[header_len..]);
    assert_eq!(
        open(&swapped, &keys).unwrap_err(),
        ContainerError::Stream(ChunkedError::CommitmentMismatch)
    );
    assert!(open(&a, &keys).is_ok() && open(&b, &keys).is_ok());
}

#[test]
fn any_flipped_byte_fails() {
    // Every byte of a small recording (header, wrapped key, stream header,
    // final chunk), and a spread of bytes across the full chunk of a larger
    // one (every byte of a two-chunk stream is covered in chunked_props.rs).
    let (keys, small) = setup("call-flip", 300, 5);
    let (_, large) = {
        let mut rng = TestRng::new(5);
        let agency = AgencyPrivateKey::generate(&mut rng);
        (
            agency.public_key().clone(),
            write("call-flip", agency.public_key(), CHUNK_SIZE + 300, 6),
        )
    };
    for (file, step) in [(&small, 1), (&large, 61)] {
        for i in (0..file.len()).step_by(step).chain([file.len() - 1]) {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert!(open(&bad, &keys).is_err(), "flip at {i} of {}", file.len());
        }
    }
    assert!(open(&large, &keys).is_ok());
}

#[test]
fn only_the_right_private_key_reads() {
    let (keys, file) = setup("call-k", 100, 6);
    let other = InMemoryKeyProvider::with_key(3, AgencyPrivateKey::generate(&mut TestRng::new(99)));
    assert!(matches!(
        open(&file, &other).unwrap_err(),
        ContainerError::Key(KeyError::UnknownKey { epoch: 3, .. })
    ));
    // Crypto-shredding the epoch makes it unreadable.
    let mut keys = keys;
    assert_eq!(keys.remove_epoch(3), 1);
    assert!(matches!(
        open(&file, &keys).unwrap_err(),
        ContainerError::Key(KeyError::UnknownKey { .. })
    ));
}

#[test]
fn an_agency_key_survives_its_file_bytes() {
    let key = AgencyPrivateKey::generate(&mut TestRng::new(7));
    let public = key.public_key().clone();
    let file = write("call-file", &public, 2000, 8);
    let provider = InMemoryKeyProvider::from_key_file_bytes(3, &key.to_bytes()[..]).unwrap();
    assert_eq!(open(&file, &provider).unwrap().audio, audio(2000));
    let reparsed = callward_vault::AgencyPublicKey::from_bytes(&public.to_bytes()).unwrap();
    assert_eq!(reparsed, public);
    assert!(InMemoryKeyProvider::from_key_file_bytes(3, &[0; 31]).is_err());
    // Debug never shows the private key.
    let secret_hex = common::to_hex(&key.to_bytes()[..]);
    assert!(!format!("{key:?} {provider:?}").contains(&secret_hex[..16]));
}

#[test]
fn malformed_headers_are_typed_errors() {
    let (keys, file) = setup("call-h", 10, 11);
    assert_eq!(
        open(b"", &keys).unwrap_err(),
        ContainerError::HeaderTruncated
    );
    assert_eq!(
        open(&file[..40], &keys).unwrap_err(),
        ContainerError::HeaderTruncated
    );
    assert_eq!(
        open(b"NOTAREC.................................", &keys).unwrap_err(),
        ContainerError::BadMagic
    );
    let mut v = file.clone();
    v[8] = 2;
    assert_eq!(
        open(&v, &keys).unwrap_err(),
        ContainerError::UnsupportedVersion(2)
    );
    let mut v = file;
    v[17] = 9;
    assert_eq!(
        open(&v, &keys).unwrap_err(),
        ContainerError::Malformed("codec")
    );
    assert_eq!(CallId::new("").unwrap_err(), ContainerError::InvalidCallId);
    assert_eq!(
        CallId::new("a b").unwrap_err(),
        ContainerError::InvalidCallId
    );
    assert!(CallId::new(&"x".repeat(256)).is_err());
    assert!(CallId::new(&"x".repeat(255)).is_ok());
}

#[test]
fn longest_call_id_and_a_dyn_rng_work() {
    let mut rng = TestRng::new(12);
    let agency = AgencyPrivateKey::generate(&mut rng);
    let public = agency.public_key().clone();
    let keys = InMemoryKeyProvider::with_key(3, agency);
    let id = "x".repeat(255);
    // Randomness may come as a trait object.
    let dyn_rng: &mut dyn rand_core::CryptoRng = &mut rng;
    let mut file = Vec::new();
    let mut w = RecordingWriter::start(&meta(&id), &public, dyn_rng, &mut file).unwrap();
    w.push(&audio(40_000), &mut file).unwrap();
    w.finish(&mut file).unwrap();
    let rec = open(&file, &keys).unwrap();
    assert_eq!(rec.header.call_id().as_str(), id);
    assert_eq!(rec.header.len(), 112 + 255);
    assert_eq!(rec.audio, audio(40_000));
}

#[test]
fn the_streaming_reader_matches_open_and_detects_a_cut() {
    let len = 3 * CHUNK_SIZE + 123;
    let (keys, file) = setup("call-stream", len, 13);
    for piece in [1, 7, 100, 500, 16_400, 100_000] {
        let mut reader = RecordingReader::new();
        let mut out = Vec::new();
        for part in file.chunks(piece) {
            reader.push(part, &keys, &mut out).unwrap();
            // Never more than whole authenticated chunks before finish.
            assert_eq!(out.len() % CHUNK_SIZE, 0, "piece {piece}");
        }
        assert_eq!(reader.header().unwrap().call_id().as_str(), "call-stream");
        reader.finish(&mut out).unwrap();
        assert_eq!(out, audio(len), "piece {piece}");
    }
    // Cut before the final chunk: the prefix, then a truncation error.
    let cut = file.len() - 123 - 16;
    let mut reader = RecordingReader::new();
    let mut out = Vec::new();
    reader.push(&file[..cut], &keys, &mut out).unwrap();
    assert_eq!(out, audio(len)[..3 * CHUNK_SIZE]);
    assert_eq!(
        reader.finish(&mut out),
        Err(ContainerError::Stream(ChunkedError::Truncated))
    );
    // A reader that never got a whole header says so.
    let mut reader = RecordingReader::new();
    reader.push(&file[..50], &keys, &mut out).unwrap();
    assert!(reader.header().is_none());
    assert_eq!(
        reader.finish(&mut out),
        Err(ContainerError::HeaderTruncated)
    );
    // Garbage is refused as soon as the magic is in.
    let mut reader = RecordingReader::new();
    assert_eq!(
        reader.push(b"garbage!", &keys, &mut out),
        Err(ContainerError::BadMagic)
    );
}
