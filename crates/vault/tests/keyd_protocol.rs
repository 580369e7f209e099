//! The key service's wire protocol: requests and responses round-trip,
//! every frame split point works, and no input makes the parser panic.

mod common;

use callward_vault::protocol::{MAX_FRAME_LEN, split_frame};
use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, DataKey, InMemoryKeyProvider, KeyError, KeyId,
    RecordingHeader, RecordingMeta, RecordingWriter, UnwrapRequest, UnwrapResponse, WireError,
    rewrap_for_hold,
};
use common::TestRng;
use proptest::prelude::*;

/// A header and a hold record for `call_id`.
fn request_parts(call_id: &str, seed: u64) -> (RecordingHeader, callward_vault::KeyRecord) {
    let mut rng = TestRng::new(seed);
    let agency = AgencyPrivateKey::generate(&mut rng);
    let hold = AgencyPrivateKey::generate(&mut rng);
    let meta = RecordingMeta {
        call_id: CallId::new(call_id).unwrap(),
        codec: Codec::Pcma,
        layout: ChannelLayout::Mono,
        key_epoch: 7,
    };
    let mut out = Vec::new();
    RecordingWriter::start(&meta, agency.public_key(), &mut rng, &mut out).unwrap();
    let header = RecordingHeader::parse(&out).unwrap();
    let provider = InMemoryKeyProvider::with_key(7, agency);
    let record = rewrap_for_hold(&header, &provider, hold.public_key(), &mut rng).unwrap();
    (header, record)
}

fn body(frame: &[u8]) -> &[u8] {
    let (body, used) = split_frame(frame).unwrap().unwrap();
    assert_eq!(used, frame.len());
    body
}

fn any_error() -> impl Strategy<Value = KeyError> {
    prop_oneof![
        Just(KeyError::InvalidKey),
        Just(KeyError::UnwrapFailed),
        Just(KeyError::WrapFailed),
        (any::<[u8; 8]>(), any::<u32>()).prop_map(|(id, epoch)| KeyError::UnknownKey {
            key_id: KeyId(id),
            epoch
        }),
        any::<u32>().prop_map(|epoch| KeyError::Shredded { epoch }),
        any::<[u8; 8]>().prop_map(|id| KeyError::Sealed {
            review_key: KeyId(id)
        }),
        ".{0,300}".prop_map(KeyError::Unavailable),
        ".{0,300}".prop_map(KeyError::Refused),
        any::<u64>().prop_map(|from_size| KeyError::ConsistencyNeeded { from_size }),
    ]
}

#[test]
fn requests_round_trip_with_and_without_a_hold_record() {
    let (header, record) = request_parts("call-proto", 1);
    let plain = UnwrapRequest::new(header.clone());
    assert_eq!(UnwrapRequest::decode(body(&plain.encode())).unwrap(), plain);
    // docs/keys.md's worked example: a 118-byte header (call id of 6 bytes).
    let (six, _) = request_parts("call-1", 1);
    let frame = UnwrapRequest::new(six.clone()).encode();
    assert_eq!(&frame[..9], &[0, 0, 0, 0x7b, 1, 1, 1, 0, 0x76]);
    assert_eq!(&frame[9..], six.as_bytes());
    let held = UnwrapRequest::new(header).with_hold_record(record);
    assert_eq!(UnwrapRequest::decode(body(&held.encode())).unwrap(), held);
    // With the access-log evidence (field 3).
    let evidence = callward_vault::LogEvidence {
        entry: b"entry".to_vec(),
        index: 41,
        inclusion: vec![[7; 32]; 6],
        checkpoint: "callward/audit/x\n42\nroot\n\n\u{2014} sig\n".into(),
        consistency_from: 40,
        consistency: vec![[3; 32]; 2],
    };
    let full = held.with_evidence(evidence);
    let decoded = UnwrapRequest::decode(body(&full.encode())).unwrap();
    assert_eq!(decoded, full);
    assert_eq!(decoded.evidence.unwrap().index, 41);
}

#[test]
fn a_request_with_an_unknown_or_repeated_field_is_refused() {
    let (header, _) = request_parts("call-x", 2);
    let frame = UnwrapRequest::new(header).encode();
    let b = body(&frame).to_vec();
    // An unknown field (as an older service would see issue 7's evidence).
    let mut unknown = b.clone();
    unknown.extend_from_slice(&[9, 0, 2, 0xaa, 0xbb]);
    assert_eq!(
        UnwrapRequest::decode(&unknown),
        Err(WireError::UnknownField(9))
    );
    let mut twice = b.clone();
    twice.extend_from_slice(&b[2..]);
    assert_eq!(
        UnwrapRequest::decode(&twice),
        Err(WireError::DuplicateField(1))
    );
    assert_eq!(
        UnwrapRequest::decode(&[1, 1]),
        Err(WireError::MissingField("recording header"))
    );
    // Fields out of order: one encoding per request.
    let (header2, record) = request_parts("call-x", 2);
    let mut reordered = vec![1, 1, 2];
    reordered.extend_from_slice(
        &u16::try_from(record.as_bytes().len())
            .unwrap()
            .to_be_bytes(),
    );
    reordered.extend_from_slice(record.as_bytes());
    reordered.push(1);
    reordered.extend_from_slice(&u16::try_from(header2.len()).unwrap().to_be_bytes());
    reordered.extend_from_slice(header2.as_bytes());
    assert_eq!(
        UnwrapRequest::decode(&reordered),
        Err(WireError::Malformed("fields out of order"))
    );
    assert_eq!(
        UnwrapRequest::decode(&[2, 1]),
        Err(WireError::UnsupportedVersion(2))
    );
    assert_eq!(
        UnwrapRequest::decode(&[1, 5]),
        Err(WireError::UnknownOperation(5))
    );
    // A header field with bytes after the header.
    let mut long = vec![1, 1, 1];
    let h = &b[5..];
    long.extend_from_slice(&u16::try_from(h.len() + 1).unwrap().to_be_bytes());
    long.extend_from_slice(h);
    long.push(0);
    assert!(UnwrapRequest::decode(&long).is_err());
}

#[test]
fn frames_are_found_only_when_complete_and_bounded() {
    let (header, _) = request_parts("call-f", 3);
    let frame = UnwrapRequest::new(header).encode();
    for cut in 0..frame.len() {
        assert_eq!(split_frame(&frame[..cut]).unwrap(), None, "cut at {cut}");
    }
    let mut two = frame.clone();
    two.extend_from_slice(&frame);
    let (_, used) = split_frame(&two).unwrap().unwrap();
    assert_eq!(used, frame.len());
    let too_long = u32::try_from(MAX_FRAME_LEN + 1).unwrap().to_be_bytes();
    assert_eq!(
        split_frame(&too_long),
        Err(WireError::FrameTooLong(MAX_FRAME_LEN + 1))
    );
}

#[test]
fn a_key_response_carries_the_key() {
    let key = DataKey::from_bytes([0x5a; 32]);
    let frame = UnwrapResponse::Key(key).encode();
    assert_eq!(frame.len(), 4 + 2 + 32);
    assert_eq!(&frame[..6], &[0, 0, 0, 34, 1, 0]);
    assert_eq!(&frame[6..], &[0x5a; 32]);
    match UnwrapResponse::decode(body(&frame)).unwrap() {
        UnwrapResponse::Key(k) => assert_eq!(UnwrapResponse::Key(k).encode(), frame),
        UnwrapResponse::Error(e) => panic!("got {e:?}"),
    }
    assert!(UnwrapResponse::decode(&frame[4..frame.len() - 1]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn error_responses_round_trip(error in any_error()) {
        let frame = UnwrapResponse::Error(error.clone()).encode();
        match UnwrapResponse::decode(body(&frame)).unwrap() {
            UnwrapResponse::Error(back) => {
                // Text is cut at 1024 bytes; the generated texts are shorter.
                prop_assert_eq!(back, error);
            }
            UnwrapResponse::Key(_) => prop_assert!(false, "decoded as a key"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = split_frame(&bytes);
        let _ = UnwrapRequest::decode(&bytes);
        let _ = UnwrapResponse::decode(&bytes);
    }

    #[test]
    fn mutated_requests_never_panic(
        seed in 0u64..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let (header, record) = request_parts("call-m", seed);
        let frame = UnwrapRequest::new(header).with_hold_record(record).encode();
        let mut b = body(&frame).to_vec();
        for (at, value) in flips {
            let i = at.index(b.len());
            b[i] = value;
        }
        let end = cut.index(b.len() + 1);
        let _ = UnwrapRequest::decode(&b[..end]);
        let _ = UnwrapRequest::decode(&b);
    }
}
