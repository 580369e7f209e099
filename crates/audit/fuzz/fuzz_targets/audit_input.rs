//! Everything the audit crate reads from outside, fed arbitrary bytes: the
//! first byte picks the reader. None may panic; what is accepted must be in
//! canonical form (it re-encodes to the same bytes).
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run audit_input` in crates/audit/fuzz.

#![no_main]

use callward_audit::{Checkpoint, Entry, VerifierKey, note, verify_consistency, verify_inclusion};
use libfuzzer_sys::fuzz_target;

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    for (k, x) in b.iter().skip(at).take(8).enumerate() {
        a[k] = *x;
    }
    u64::from_le_bytes(a)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = std::str::from_utf8(rest).ok();
    match which % 5 {
        0 => match Entry::decode(rest) {
            Ok(e) => {
                assert!(Entry::check(rest).is_ok());
                assert_eq!(e.encode().expect("decoded entries encode"), rest);
            }
            Err(err) => assert_eq!(Entry::check(rest), Err(err)),
        },
        1 => {
            if let Some(s) = text {
                let key = VerifierKey::parse(SPEC_VKEY).expect("spec key");
                if let Ok(opened) = note::open(s, &[key]) {
                    assert!(s.starts_with(opened.text));
                }
            }
        }
        2 => {
            if let Some(s) = text {
                if let Ok(cp) = Checkpoint::parse(s) {
                    assert_eq!(cp.to_text(), s);
                }
            }
        }
        3 => {
            if let Some(s) = text {
                if let Ok(k) = VerifierKey::parse(s) {
                    // Canonical except the key ID's hex digits, which may
                    // arrive in upper case (as Go's note package accepts).
                    let printed = k.to_string();
                    assert_eq!(printed.len(), s.len());
                    assert!(printed.eq_ignore_ascii_case(s));
                    let (_, tail) = s.rsplit_once('+').expect("parsed keys have parts");
                    assert!(printed.ends_with(tail));
                    assert_eq!(VerifierKey::parse(&printed), Ok(k));
                }
            }
        }
        _ => {
            // Sizes and index from the first 24 bytes (small ones often),
            // then 32-byte proof elements; the last element may be short.
            let shrink = |v: u64| if v & 1 == 0 { v % 300 } else { v };
            let (a, b, c) = (
                shrink(u64_at(rest, 0)),
                shrink(u64_at(rest, 8)),
                u64_at(rest, 16),
            );
            let proof: Vec<&[u8]> = rest.get(24..).unwrap_or(&[]).chunks(32).collect();
            let root = [c as u8; 32];
            let _ = verify_inclusion(a, b, &root, &proof, &root);
            let _ = verify_consistency(a, b, &proof, &root, &[0u8; 32]);
        }
    }
});
