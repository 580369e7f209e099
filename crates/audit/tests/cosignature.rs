//! C2SP tlog-cosignature v1 (Ed25519): known answers, round trips and
//! refusals.
//!
//! Known answers: the key ID of a real witness's published cosignature
//! verifier key (`remora.n621.de`, type 0x04, from transparency-dev/formats'
//! tests), the timestamp inside the spec's example cosignature line
//! (c2sp.org/tlog-cosignature: time 1679315147), and a cosignature made with
//! Python's `cryptography` (Ed25519 is deterministic) from the seed, name,
//! checkpoint and time below, which ours must equal byte for byte.

use callward_audit::cosignature::{COSIGNATURE_V1_TYPE, message};
use callward_audit::note;
use callward_audit::{
    Checkpoint, CosignatureError, CosignatureSigner, CosignatureVerifier, Hash, NoteError,
    NoteSigner, VerifierKey,
};

const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

/// The spec's example: a log signature and a cosignature by
/// `witness.example.com/w1` at time 1679315147.
const SPEC_EXAMPLE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

/// Seed 32 bytes of 0x43, name `witness.example/callward` (test key only).
const KAT_NAME: &str = "witness.example/callward";
const KAT_VKEY: &str =
    "witness.example/callward+72881598+BCL8KXeS8Lb/wL/P237bDAqhTgJaNl7A40Lobjgpy3S2";
/// The checkpoint of `docs/audit-log.md`'s worked example.
const KAT_TEXT: &str = "callward.example/audit\n3\ncR9qrC19d0k8ENCDI0q9EgO6EoAMiUrqClWkD4P8eXc=\n";
const KAT_TIME: u64 = 1_795_000_000;
const KAT_LINE: &str = "\u{2014} witness.example/callward cogVmAAAAABq/YbAk7l1G6pP9uP9/NcGQ4pcOnwZyztz5rK0V79MIm3310Y4Rv/u0u/A3X0WkUI6YMcbM2huQnENR9S2VwzTzDLyAA==\n";

fn kat_signer() -> CosignatureSigner {
    CosignatureSigner::from_seed(KAT_NAME, &[0x43; 32]).unwrap()
}

fn kat_checkpoint() -> Checkpoint {
    Checkpoint::parse(KAT_TEXT).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("callward.example/audit", &[0x42; 32]).unwrap()
}

/// The log's signed note for `cp` with `lines` appended.
fn cosigned(cp: &Checkpoint, lines: &[&str]) -> String {
    let mut n = cp.sign(&log_signer()).unwrap();
    for l in lines {
        n.push_str(l);
    }
    n
}

#[test]
fn a_real_witness_key_id_is_computed_with_type_0x04() {
    let v = CosignatureVerifier::parse(REMORA_VKEY).expect("published witness key");
    assert_eq!(v.name(), "remora.n621.de");
    assert_eq!(v.key_id(), 0xda77ade7);
    assert_eq!(v.to_string(), REMORA_VKEY);
    // The same key is not an ordinary (type 0x01) note key.
    assert_eq!(VerifierKey::parse(REMORA_VKEY), Err(NoteError::VerifierKey));
    // A key ID computed with another type byte is refused.
    let wrong = REMORA_VKEY.replace("da77ade7", "da77ade8");
    assert!(CosignatureVerifier::parse(&wrong).is_err());
}

#[test]
fn spec_example_line_carries_key_id_then_time_then_signature() {
    let sig = SPEC_EXAMPLE
        .lines()
        .find_map(|l| l.strip_prefix("\u{2014} witness.example.com/w1 "))
        .unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64);
    assert_eq!(
        u64::from_be_bytes(raw[4..12].try_into().unwrap()),
        1679315147
    );
    // Our message for that checkpoint and time is the spec's example.
    let text = SPEC_EXAMPLE.split("\n\n").next().unwrap().to_owned() + "\n";
    assert_eq!(
        String::from_utf8(message(&text, 1679315147)).unwrap(),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn known_answer_from_an_independent_implementation() {
    let s = kat_signer();
    assert_eq!(s.verifier().to_string(), KAT_VKEY);
    assert_eq!(s.cosign(&kat_checkpoint(), KAT_TIME).unwrap(), KAT_LINE);
    let v = CosignatureVerifier::parse(KAT_VKEY).unwrap();
    let note = cosigned(&kat_checkpoint(), &[KAT_LINE]);
    assert_eq!(v.verify(&note).unwrap().time, KAT_TIME);
    assert_eq!(COSIGNATURE_V1_TYPE, 0x04);
}

#[test]
fn round_trip_and_the_log_signature_still_opens() {
    let s = kat_signer();
    let cp = Checkpoint {
        origin: "callward/audit/0123456789abcdef".into(),
        size: 1_000_000,
        root: Hash([7; 32]),
        extensions: vec![],
    };
    let line = s.cosign(&cp, 1_800_000_000).unwrap();
    let mut note = cp.sign(&log_signer_for(&cp.origin)).unwrap();
    note.push_str(&line);
    assert_eq!(s.verifier().verify(&note).unwrap().time, 1_800_000_000);
    // The log's own key still opens the note, ignoring the cosignature.
    let opened = Checkpoint::open(&note, log_signer_for(&cp.origin).verifier(), &cp.origin);
    assert_eq!(opened.unwrap(), cp);
    // And the cosignature is not an ordinary note signature of the
    // witness's key: a type-0x01 key of the same name and public key has
    // another key ID, so it finds nothing to check.
    let plain = VerifierKey::new(KAT_NAME, *s.verifier().public_key()).unwrap();
    assert_ne!(plain.key_id(), s.verifier().key_id());
    assert_eq!(
        note::open(&note, &[plain]),
        Err(NoteError::NoKnownSignature)
    );
}

fn log_signer_for(origin: &str) -> NoteSigner {
    NoteSigner::from_seed(origin, &[0x42; 32]).unwrap()
}

#[test]
fn a_cosignature_moved_to_another_checkpoint_is_refused() {
    let v = kat_signer().verifier().clone();
    let mut other = kat_checkpoint();
    other.size = 4;
    assert_eq!(
        v.verify(&cosigned(&other, &[KAT_LINE])),
        Err(CosignatureError::BadSignature)
    );
    let mut other = kat_checkpoint();
    other.root.0[0] ^= 1;
    assert_eq!(
        v.verify(&cosigned(&other, &[KAT_LINE])),
        Err(CosignatureError::BadSignature)
    );
}

#[test]
fn a_cosignature_with_another_time_is_refused() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let v = kat_signer().verifier().clone();
    let enc = KAT_LINE
        .trim_end()
        .strip_prefix(&format!("\u{2014} {KAT_NAME} "))
        .unwrap();
    for time in [KAT_TIME + 1, KAT_TIME - 1, 0] {
        let mut raw = b64.decode(enc).unwrap();
        raw[4..12].copy_from_slice(&time.to_be_bytes());
        let line = format!("\u{2014} {KAT_NAME} {}\n", b64.encode(&raw));
        assert_eq!(
            v.verify(&cosigned(&kat_checkpoint(), &[&line])),
            Err(CosignatureError::BadSignature),
            "time {time}"
        );
    }
    // A time of 2^63 or more is refused before any signature check.
    let mut raw = b64.decode(enc).unwrap();
    raw[4..12].copy_from_slice(&(1u64 << 63).to_be_bytes());
    let line = format!("\u{2014} {KAT_NAME} {}\n", b64.encode(&raw));
    assert_eq!(
        v.verify(&cosigned(&kat_checkpoint(), &[&line])),
        Err(CosignatureError::Time)
    );
    assert_eq!(
        kat_signer().cosign(&kat_checkpoint(), 1 << 63),
        Err(CosignatureError::Time)
    );
}

#[test]
fn missing_truncated_or_foreign_cosignatures() {
    let v = kat_signer().verifier().clone();
    // No line by this witness.
    assert_eq!(
        v.verify(&cosigned(&kat_checkpoint(), &[])),
        Err(CosignatureError::Missing(0x72881598))
    );
    // Another witness's line is ignored, not an error.
    let other = CosignatureSigner::from_seed("witness.example/other", &[9; 32]).unwrap();
    let line = other.cosign(&kat_checkpoint(), KAT_TIME).unwrap();
    assert_eq!(
        v.verify(&cosigned(&kat_checkpoint(), &[&line, KAT_LINE]))
            .unwrap()
            .time,
        KAT_TIME
    );
    // A line of this key with the signature cut short.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let enc = KAT_LINE
        .trim_end()
        .strip_prefix(&format!("\u{2014} {KAT_NAME} "))
        .unwrap();
    let raw = b64.decode(enc).unwrap();
    for cut in [4 + 7, 4 + 8, 4 + 8 + 63] {
        let line = format!("\u{2014} {KAT_NAME} {}\n", b64.encode(&raw[..cut]));
        assert_eq!(
            v.verify(&cosigned(&kat_checkpoint(), &[&line])),
            Err(CosignatureError::BadSignature),
            "cut at {cut}"
        );
    }
    // Something that is not a checkpoint is neither verified nor cosigned.
    let not_cp = log_signer().sign("hello\n").unwrap() + KAT_LINE;
    assert!(matches!(
        v.verify(&not_cp),
        Err(CosignatureError::Checkpoint(_))
    ));
}

#[test]
fn verifier_keys_round_trip_through_text() {
    let s = CosignatureSigner::from_seed("a.example/w", &[1; 32]).unwrap();
    let text = s.verifier().to_string();
    assert!(text.starts_with("a.example/w+"));
    assert_eq!(CosignatureVerifier::parse(&text).unwrap(), *s.verifier());
    assert!(CosignatureSigner::from_seed("bad name", &[1; 32]).is_err());
}

#[test]
fn cosign_note_keeps_other_lines_and_replaces_its_own() {
    let s = kat_signer();
    let other = CosignatureSigner::from_seed("witness.example/other", &[9; 32]).unwrap();
    let other_line = other.cosign(&kat_checkpoint(), KAT_TIME).unwrap();
    // An earlier cosignature of this witness, then another witness's line.
    let note = cosigned(&kat_checkpoint(), &[KAT_LINE, &other_line]);
    let later = KAT_TIME + 60;
    let renewed = s.cosign_note(&note, later).unwrap();
    let expected = cosigned(
        &kat_checkpoint(),
        &[&other_line, &s.cosign(&kat_checkpoint(), later).unwrap()],
    );
    assert_eq!(renewed, expected);
    assert_eq!(s.verifier().verify(&renewed).unwrap().time, later);
    assert_eq!(other.verifier().verify(&renewed).unwrap().time, KAT_TIME);
    assert!(Checkpoint::open(&renewed, log_signer().verifier(), "callward.example/audit").is_ok());
    // First cosignature: the known answer.
    let first = s
        .cosign_note(&cosigned(&kat_checkpoint(), &[]), KAT_TIME)
        .unwrap();
    assert_eq!(first, cosigned(&kat_checkpoint(), &[KAT_LINE]));
    // Not a checkpoint, or not a note: refused.
    let not_cp = log_signer().sign("hello\n").unwrap();
    assert!(matches!(
        s.cosign_note(&not_cp, KAT_TIME),
        Err(CosignatureError::Checkpoint(_))
    ));
    assert!(matches!(
        s.cosign_note(KAT_TEXT, KAT_TIME),
        Err(CosignatureError::Note(_))
    ));
}
