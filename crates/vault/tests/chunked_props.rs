//! Property tests of Cobblestone-256: round trips over lengths around chunk
//! boundaries, contexts and push patterns; any single flipped byte, any
//! truncation and any reordering of chunks fails.

use callward_vault::DataKey;
use callward_vault::chunked::{
    self, CHUNK_SIZE, ChunkedError, Decryptor, Encryptor, SEALED_CHUNK_SIZE, STREAM_HEADER_LEN,
};
use proptest::prelude::*;

fn message(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn interesting_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(CHUNK_SIZE - 1),
        Just(CHUNK_SIZE),
        Just(CHUNK_SIZE + 1),
        Just(2 * CHUNK_SIZE - 1),
        Just(2 * CHUNK_SIZE),
        Just(2 * CHUNK_SIZE + 1),
        0usize..5 * CHUNK_SIZE,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip_streaming(
        len in interesting_len(),
        key in any::<[u8; 32]>(),
        salt in any::<[u8; 24]>(),
        context in proptest::collection::vec(any::<u8>(), 0..80),
        enc_piece in 1usize..40_000,
        dec_piece in 1usize..40_000,
        seed in any::<u8>(),
    ) {
        let key = DataKey::from_bytes(key);
        let msg = message(len, seed);
        let mut e = Encryptor::new(&key, salt, &context).unwrap();
        let mut ct = e.header().to_vec();
        for part in msg.chunks(enc_piece) {
            e.push(part, &mut ct).unwrap();
            // Only whole sealed chunks are ever emitted while pushing.
            prop_assert_eq!((ct.len() - STREAM_HEADER_LEN) % SEALED_CHUNK_SIZE, 0);
            prop_assert!(e.pending_len() < CHUNK_SIZE);
        }
        e.finish(&mut ct).unwrap();
        prop_assert_eq!(ct.len(), STREAM_HEADER_LEN + len + (len / CHUNK_SIZE + 1) * 16);
        prop_assert_eq!(&ct, &chunked::seal(&key, salt, &context, &msg).unwrap());

        let mut d = Decryptor::new(&key, &context);
        let mut out = Vec::new();
        for part in ct.chunks(dec_piece) {
            d.push(part, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        prop_assert_eq!(&out, &msg);

        // A different context never opens it.
        let mut other = context;
        other.push(0);
        prop_assert_eq!(chunked::open(&key, &other, &ct), Err(ChunkedError::CommitmentMismatch));
    }

    #[test]
    fn any_flipped_byte_fails(
        len in interesting_len(),
        at in any::<proptest::sample::Index>(),
        mask in 1u8..=255,
        context in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let key = DataKey::from_bytes([7; 32]);
        let mut ct = chunked::seal(&key, [9; 24], &context, &message(len, 1)).unwrap();
        let i = at.index(ct.len());
        ct[i] ^= mask;
        prop_assert!(chunked::open(&key, &context, &ct).is_err(), "flip at {} of {}", i, ct.len());
    }

    #[test]
    fn any_truncation_fails(len in interesting_len(), cut in any::<proptest::sample::Index>()) {
        let key = DataKey::from_bytes([3; 32]);
        let msg = message(len, 2);
        let ct = chunked::seal(&key, [1; 24], b"ctx", &msg).unwrap();
        let cut = cut.index(ct.len()); // strictly shorter than ct
        let mut d = Decryptor::new(&key, b"ctx");
        let mut out = Vec::new();
        let result = d.push(&ct[..cut], &mut out).and_then(|()| d.finish(&mut out));
        prop_assert!(result.is_err());
        // What was released is a whole-chunk prefix of the message.
        prop_assert_eq!(out.len() % CHUNK_SIZE, 0);
        prop_assert_eq!(&out[..], &msg[..out.len()]);
    }
}

#[test]
fn every_single_byte_flip_of_a_two_chunk_message_fails() {
    let key = DataKey::from_bytes([5; 32]);
    let ct = chunked::seal(&key, [6; 24], b"c", &message(CHUNK_SIZE + 40, 3)).unwrap();
    for i in (0..ct.len()).step_by(1) {
        let mut bad = ct.clone();
        bad[i] ^= 0x80;
        assert!(chunked::open(&key, b"c", &bad).is_err(), "flip at {i}");
    }
}

#[test]
fn reordered_duplicated_or_dropped_chunks_fail() {
    let key = DataKey::from_bytes([8; 32]);
    let msg = message(3 * CHUNK_SIZE + 10, 4);
    let ct = chunked::seal(&key, [2; 24], b"", &msg).unwrap();
    let head = &ct[..STREAM_HEADER_LEN];
    let chunk = |i: usize| {
        let start = STREAM_HEADER_LEN + i * SEALED_CHUNK_SIZE;
        &ct[start..(start + SEALED_CHUNK_SIZE).min(ct.len())]
    };
    let build = |order: &[usize]| {
        let mut v = head.to_vec();
        for &i in order {
            v.extend_from_slice(chunk(i));
        }
        v
    };
    assert_eq!(
        chunked::open(&key, b"", &build(&[0, 1, 2, 3])).unwrap(),
        msg
    );
    for order in [
        &[1, 0, 2, 3][..],
        &[0, 2, 1, 3],
        &[0, 1, 1, 3],
        &[0, 1, 3],
        &[0, 1, 2],
        &[0, 1, 2, 3, 3],
        &[3],
    ] {
        assert!(
            chunked::open(&key, b"", &build(order)).is_err(),
            "{order:?}"
        );
    }
    // Missing final chunk: the prefix is released, then Truncated.
    let mut d = Decryptor::new(&key, b"");
    let mut out = Vec::new();
    d.push(&build(&[0, 1, 2]), &mut out).unwrap();
    assert_eq!(out, msg[..3 * CHUNK_SIZE]);
    assert_eq!(d.finish(&mut out), Err(ChunkedError::Truncated));
}

#[test]
fn a_wrong_length_key_is_refused() {
    assert_eq!(
        DataKey::from_slice(&[0; 16]).err(),
        Some(ChunkedError::InvalidKeySize)
    );
    assert_eq!(
        Decryptor::from_key_bytes(&[0; 33], b"").err(),
        Some(ChunkedError::InvalidKeySize)
    );
}

#[test]
fn secrets_do_not_print() {
    let key = DataKey::from_bytes([0xab; 32]);
    let printed = format!("{key:?}");
    assert!(
        !printed.contains("ab") && !printed.contains("171"),
        "{printed}"
    );
    let e = Encryptor::new(&key, [0; 24], b"").unwrap();
    let printed = format!("{e:?} {:?}", Decryptor::new(&key, b""));
    assert!(!printed.contains("171"), "{printed}");
}
