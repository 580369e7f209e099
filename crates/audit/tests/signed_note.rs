//! C2SP signed-note and tlog-checkpoint, against the examples in the specs
//! (c2sp.org/signed-note "Verifier keys" example, c2sp.org/tlog-checkpoint).

use callward_audit::note::{self, MAX_SIGNATURES, Opened};
use callward_audit::{Checkpoint, CheckpointError, Hash, NoteError, NoteSigner, VerifierKey};

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn spec_key() -> VerifierKey {
    VerifierKey::parse(SPEC_VKEY).expect("the spec's verifier key parses")
}

#[test]
fn spec_verifier_key_parses_and_prints_back() {
    let k = spec_key();
    assert_eq!(k.name(), "example.com/foo");
    assert_eq!(k.key_id(), 0x530d903a);
    assert_eq!(k.to_string(), SPEC_VKEY);
}

#[test]
fn spec_note_opens_with_spec_key() {
    let opened = note::open(SPEC_NOTE, &[spec_key()]).expect("spec example verifies");
    assert_eq!(
        opened,
        Opened {
            text: "This is an example message.\n",
            verified_by: vec!["example.com/foo"],
        }
    );
}

#[test]
fn spec_note_with_changed_text_is_refused() {
    let changed = SPEC_NOTE.replacen("example message", "example massage", 1);
    assert_eq!(
        note::open(&changed, &[spec_key()]),
        Err(NoteError::BadSignature)
    );
}

#[test]
fn spec_note_with_changed_signature_is_refused() {
    // Flip one base64 digit inside the signature (not the key ID).
    let changed = SPEC_NOTE.replacen("Uw2QOkn8", "Uw2QOkn9", 1);
    assert_eq!(
        note::open(&changed, &[spec_key()]),
        Err(NoteError::BadSignature)
    );
}

#[test]
fn verifier_key_hash_may_be_upper_case_and_prints_lower() {
    // Found by the fuzzer: accepted (as Go's note package does), printed
    // canonically.
    let upper = SPEC_VKEY.replace("530d903a", "530D903A");
    let k = VerifierKey::parse(&upper).expect("upper-case hex key ID");
    assert_eq!(k, spec_key());
    assert_eq!(k.to_string(), SPEC_VKEY);
}

#[test]
fn verifier_key_with_wrong_hash_or_type_is_refused() {
    for bad in [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        // type byte 0x02
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903a",
        "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ] {
        assert_eq!(
            VerifierKey::parse(bad),
            Err(NoteError::VerifierKey),
            "{bad}"
        );
    }
}

fn signer(name: &str, seed_byte: u8) -> NoteSigner {
    NoteSigner::from_seed(name, &[seed_byte; 32]).expect("valid seed")
}

#[test]
fn signed_note_round_trips_and_vkey_reparses() {
    let s = signer("callward.example/audit", 7);
    let vkey = s.verifier().to_string();
    let k = VerifierKey::parse(&vkey).expect("own vkey parses");
    assert_eq!(&k, s.verifier());
    let text = "line one\n\nline three after a blank\n";
    let signed = s.sign(text).expect("valid text");
    let opened = note::open(&signed, &[k]).expect("own signature verifies");
    assert_eq!(opened.text, text);
    // Ed25519 is deterministic: the same key signs the same text the same way.
    assert_eq!(s.sign(text).expect("valid text"), signed);
}

#[test]
fn rfc8032_test_1_key_gives_its_public_key() {
    // RFC 8032 §7.1 TEST 1.
    let seed: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];
    let s = NoteSigner::from_seed("rfc8032", &seed).expect("valid seed");
    assert_eq!(
        callward_audit::hash::hex(s.verifier().public_key()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    // Debug shows no key material.
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("9d61") && !dbg.contains("d75a"), "{dbg}");
}

#[test]
fn unknown_keys_are_ignored_and_at_least_one_known_is_needed() {
    let a = signer("a.example/log", 1);
    let b = signer("b.example/log", 2);
    let text = "hello\n";
    let signed_a = a.sign(text).expect("valid");
    // A second signature line by b, appended.
    let signed_b = b.sign(text).expect("valid");
    let b_line = signed_b.rsplit_once("\n\n").expect("has a blank line").1;
    let both = format!("{signed_a}{b_line}");
    let opened = note::open(&both, &[b.verifier().clone()]).expect("b's signature verifies");
    assert_eq!(opened.verified_by, vec!["b.example/log"]);
    assert_eq!(
        note::open(&signed_a, &[b.verifier().clone()]),
        Err(NoteError::NoKnownSignature)
    );
    // Same name, other key: a different key ID, so ignored, not failed.
    let a2 = signer("a.example/log", 3);
    assert_eq!(
        note::open(&signed_a, &[a2.verifier().clone()]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn malformed_notes_are_refused() {
    let k = spec_key();
    let sig = "\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
    for bad in [
        String::new(),
        "no blank line\n".to_owned(),
        format!("This is an example message.\n\n{sig}"), // no final newline
        "This is an example message.\n\n-- example.com/foo x\n".to_owned(),
        format!("This is an example message.\n\n{sig}\n\n"),
        format!("This is an\texample message.\n\n{sig}\n"),
        "This is an example message.\n\n\u{2014} example.com/foo  Uw2Q\n".to_owned(),
        "This is an example message.\n\n\u{2014} example.com/foo AAA=\n".to_owned(),
        "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8\n".to_owned(),
    ] {
        assert!(
            note::open(&bad, std::slice::from_ref(&k)).is_err(),
            "{bad:?}"
        );
    }
    let many = format!(
        "This is an example message.\n\n{}",
        "\u{2014} other.example AAAAAAAA\n"
            .to_owned()
            .repeat(MAX_SIGNATURES + 1)
    );
    assert_eq!(note::open(&many, &[k]), Err(NoteError::TooManySignatures));
}

#[test]
fn sign_refuses_text_a_note_cannot_hold() {
    let s = signer("x.example", 9);
    for bad in ["", "no newline", "tab\there\n", "nul\0\n"] {
        assert_eq!(s.sign(bad), Err(NoteError::Text), "{bad:?}");
    }
    assert_eq!(
        NoteSigner::from_seed("has space", &[1; 32]).map(|_| ()),
        Err(NoteError::KeyName)
    );
    assert_eq!(
        NoteSigner::from_seed("has+plus", &[1; 32]).map(|_| ()),
        Err(NoteError::KeyName)
    );
}

#[test]
fn spec_checkpoint_body_parses_and_prints_back() {
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse(body).expect("spec example parses");
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        cp.root.to_hex(),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert_eq!(cp.to_text(), body);
}

#[test]
fn malformed_checkpoint_bodies_are_refused() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    for bad in [
        format!("origin\n5\n{root}"),
        format!("\n5\n{root}\n"),
        format!("origin\n05\n{root}\n"),
        format!("origin\n+5\n{root}\n"),
        format!("origin\n\n{root}\n"),
        format!("origin\n18446744073709551616\n{root}\n"),
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
        "origin\n5\nAAAA\n".to_owned(),
        format!("origin\n5\n{root}\n\n"),
        "origin\n5\n".to_owned(),
    ] {
        assert_eq!(
            Checkpoint::parse(&bad),
            Err(CheckpointError::Body),
            "{bad:?}"
        );
    }
    let zero = format!("origin\n0\n{root}\next\n");
    let cp = Checkpoint::parse(&zero).expect("size 0 and an extension line");
    assert_eq!((cp.size, cp.extensions), (0, vec!["ext".to_owned()]));
}

#[test]
fn signed_checkpoint_opens_only_for_its_origin_and_key() {
    let s = signer("callward.example/audit", 5);
    let cp = Checkpoint {
        origin: "callward.example/audit".to_owned(),
        size: 3,
        root: Hash([0xab; 32]),
        extensions: Vec::new(),
    };
    let note = cp.sign(&s).expect("signs");
    assert!(note.starts_with("callward.example/audit\n3\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n\u{2014} callward.example/audit "));
    assert_eq!(
        Checkpoint::open(&note, s.verifier(), "callward.example/audit"),
        Ok(cp)
    );
    assert_eq!(
        Checkpoint::open(&note, s.verifier(), "other.example/audit"),
        Err(CheckpointError::Origin)
    );
    let other = signer("callward.example/audit", 6);
    assert_eq!(
        Checkpoint::open(&note, other.verifier(), "callward.example/audit"),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    );
}
