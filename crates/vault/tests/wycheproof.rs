//! Every Wycheproof vector for Cobblestone-256 (c2sp.org/chunked-encryption),
//! applied as `c2sp_chunked_encryption.md` describes: valid vectors decrypt to
//! `msgLength` bytes with SHA-512 `msgSha512`, whole and streamed in pieces;
//! invalid ones fail, and a streaming decryptor releases at most the valid
//! prefix and keeps failing. The vector file is read in place from
//! `shared/`; a missing file fails the test.

mod common;

use std::io::Read;
use std::path::PathBuf;

use aws_lc_rs::digest::{SHA512, digest};
use callward_vault::chunked::{self, ChunkedError, Decryptor};
use callward_vault::{DataKey, Encryptor};
use common::{hex, to_hex};
use serde_json::Value;

fn vectors_path() -> PathBuf {
    std::env::var_os("CALLWARD_CHUNKED_VECTORS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
                "../../../shared/conformance/chunked-encryption/c2sp_chunked_encryption_aes_256_gcm_test.json",
            )
        },
        PathBuf::from,
    )
}

struct Vector {
    id: u64,
    comment: String,
    key: Vec<u8>,
    ctx: Vec<u8>,
    ct: Vec<u8>,
    msg_len: usize,
    msg_sha512: String,
    valid: bool,
    flags: Vec<String>,
}

fn load() -> Vec<Vector> {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Wycheproof vectors missing at {} ({e}); set CALLWARD_CHUNKED_VECTORS",
            path.display()
        )
    });
    let json: Value = serde_json::from_str(&text).expect("vector file is JSON");
    assert_eq!(json["algorithm"], "Cobblestone-256");
    let mut out = Vec::new();
    for group in json["testGroups"].as_array().expect("testGroups") {
        assert_eq!(group["aead"], "AEAD_AES_256_GCM");
        assert_eq!(group["sha"], "SHA-512");
        for t in group["tests"].as_array().expect("tests") {
            let compressed = hex(t["ct"].as_str().expect("ct"));
            let mut ct = Vec::new();
            flate2::read::ZlibDecoder::new(&compressed[..])
                .read_to_end(&mut ct)
                .expect("ct is a zlib stream");
            out.push(Vector {
                id: t["tcId"].as_u64().expect("tcId"),
                comment: t["comment"].as_str().unwrap_or_default().to_owned(),
                key: hex(t["key"].as_str().expect("key")),
                ctx: hex(t["ctx"].as_str().expect("ctx")),
                ct,
                // Header failures carry no message description.
                msg_len: usize::try_from(t["msgLength"].as_u64().unwrap_or(0)).expect("fits"),
                msg_sha512: t["msgSha512"].as_str().unwrap_or_default().to_owned(),
                valid: match t["result"].as_str() {
                    Some("valid") => true,
                    Some("invalid") => false,
                    other => panic!("tcId {}: unexpected result {other:?}", t["tcId"]),
                },
                flags: t["flags"]
                    .as_array()
                    .expect("flags")
                    .iter()
                    .map(|f| f.as_str().expect("flag").to_owned())
                    .collect(),
            });
        }
    }
    assert_eq!(
        out.len() as u64,
        json["numberOfTests"].as_u64().expect("numberOfTests"),
        "every vector loaded"
    );
    out
}

fn sha512_hex(b: &[u8]) -> String {
    to_hex(digest(&SHA512, b).as_ref())
}

/// Streams `ct` through a decryptor in `piece`-byte pieces; returns what was
/// released and the outcome.
fn stream(v: &Vector, piece: usize) -> (Vec<u8>, Result<(), ChunkedError>) {
    let mut d = match Decryptor::from_key_bytes(&v.key, &v.ctx) {
        Ok(d) => d,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let mut out = Vec::new();
    for part in v.ct.chunks(piece.max(1)) {
        if let Err(e) = d.push(part, &mut out) {
            // A failed stream keeps failing.
            assert_eq!(d.push(b"x", &mut out), Err(ChunkedError::Poisoned));
            assert_eq!(d.finish(&mut out), Err(ChunkedError::Poisoned));
            return (out, Err(e));
        }
    }
    let r = d.finish(&mut out);
    if r.is_err() {
        assert_eq!(d.finish(&mut out), Err(ChunkedError::Poisoned));
    }
    (out, r)
}

#[test]
fn every_wycheproof_vector_passes() {
    let vectors = load();
    let mut valid = 0;
    let mut invalid = 0;
    for v in &vectors {
        let label = format!("tcId {} ({}; {:?})", v.id, v.comment, v.flags);
        let whole = DataKey::from_slice(&v.key).and_then(|k| chunked::open(&k, &v.ctx, &v.ct));
        if v.flags.iter().any(|f| f == "InvalidKeySize") {
            assert_eq!(
                DataKey::from_slice(&v.key).err(),
                Some(ChunkedError::InvalidKeySize),
                "{label}: key size must be rejected up front"
            );
        }
        for piece in [v.ct.len().max(1), 1000, 16400, 7] {
            let (out, result) = stream(v, piece);
            if v.valid {
                assert_eq!(result, Ok(()), "{label}: streamed in {piece}-byte pieces");
                assert_eq!(out.len(), v.msg_len, "{label}");
                assert_eq!(sha512_hex(&out), v.msg_sha512, "{label}");
            } else {
                assert!(result.is_err(), "{label}: must fail streamed in {piece}");
                // Never more than the valid prefix, and only that prefix.
                if v.flags.iter().any(|f| f == "PartialPlaintext") {
                    assert!(out.len() <= v.msg_len, "{label}: released too much");
                    if out.len() == v.msg_len {
                        assert_eq!(sha512_hex(&out), v.msg_sha512, "{label}");
                    }
                } else {
                    assert!(out.is_empty(), "{label}: released plaintext");
                }
                if v.flags.iter().any(|f| f == "HeaderFailure") {
                    assert!(out.is_empty(), "{label}: header failure released data");
                }
            }
        }
        match whole {
            Ok(msg) => {
                assert!(v.valid, "{label}: invalid vector decrypted");
                assert_eq!(msg.len(), v.msg_len, "{label}");
                assert_eq!(sha512_hex(&msg), v.msg_sha512, "{label}");
                valid += 1;
            }
            Err(e) => {
                assert!(!v.valid, "{label}: valid vector failed: {e}");
                if v.flags
                    .iter()
                    .any(|f| f == "WrongKey" || f == "WrongContext")
                {
                    assert_eq!(e, ChunkedError::CommitmentMismatch, "{label}");
                }
                invalid += 1;
            }
        }
    }
    eprintln!("Cobblestone-256 Wycheproof: {valid} valid and {invalid} invalid vectors passed");
    assert_eq!(valid + invalid, vectors.len());
    assert!(valid >= 10 && invalid >= 20, "suspiciously few vectors");
}

/// Encryption check 2 of the .md: the salt is injectable, so re-encrypting a
/// valid vector's message with its key, context and salt must give `ct`
/// byte for byte.
#[test]
fn encryption_with_the_vector_salt_reproduces_every_valid_ciphertext() {
    let mut checked = 0;
    for v in load().iter().filter(|v| v.valid) {
        let key = DataKey::from_slice(&v.key).expect("valid key");
        let msg = chunked::open(&key, &v.ctx, &v.ct).expect("valid vector");
        let salt: [u8; 24] = v.ct[..24].try_into().expect("salt");
        assert_eq!(
            chunked::seal(&key, salt, &v.ctx, &msg).expect("seal"),
            v.ct,
            "tcId {}",
            v.id
        );
        // And pushed in odd pieces through the streaming encryptor.
        let mut e = Encryptor::new(&key, salt, &v.ctx).expect("encryptor");
        let mut out = e.header().to_vec();
        for part in msg.chunks(5000) {
            e.push(part, &mut out).expect("push");
        }
        e.finish(&mut out).expect("finish");
        assert_eq!(out, v.ct, "tcId {} streamed", v.id);
        checked += 1;
    }
    assert!(checked >= 10);
}
