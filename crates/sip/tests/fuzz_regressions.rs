//! Inputs the fuzzers found that once panicked, kept as regression tests.
//! Each is checked through every entry point that takes untrusted bytes.

use callward_sip::Message;
use callward_sip::lint::lint;
use callward_sip::message::frame_stream;
use callward_sip::sdp::SessionDescription;

fn all_entry_points(data: &[u8]) -> String {
    let verdict = lint(data).to_string();
    let _ = frame_stream(data);
    let _ = SessionDescription::parse(data);
    if let Ok(m) = Message::parse(data) {
        let bytes = m.to_bytes();
        assert_eq!(Message::parse(&bytes).map(|m| m.to_bytes()), Ok(bytes));
    }
    verdict
}

/// parse target, 2026-11-21: a start line whose last word holds a
/// multi-byte character at byte 4 made `looks_like_request_line` slice a
/// `str` inside a character.
#[test]
fn multibyte_char_at_sip_prefix_boundary() {
    let data = b"\x0a\x00\x53\x49\x50\x2f\x32\x2e\x30\x20\x32\x30\x30\x20\x3d\x20\x32\x2a\x2a\xd0\xb4\x7a\x39\x68\x47\x67\x3d\x39\x30\xd0\xb4\x7a\x39\x68\x47\x0d\x0a\x54\x6f\x3a\x20\x73\x69\x70\x3a\x75\x73\x65\x72\x40\x5b\x32\x4e\x53\x20\x73\x96\x8f\x3a\x74\x2e\x77\x61\x74\x73\x6f\x6e\x40\x65\x78\x61\x6d\x70\x6c\x65\x2e\x6f\x72\x67\x20\x53\x49\x50\x2f\x32\x2e\x30\x0d\x0a\x56\x69\x61\x3a\x20\x20\x20\x20\x20\x53\x49\x50\x2f\x32\x2e\x30\x2f\x55\x45\x50\x20\x63\x2e\x65\x78\x20\x15\x4c\x3d\x00\x00\x00\x50\x43\x0d\x0a";
    let v = all_entry_points(data);
    assert!(v.starts_with("reject drop"), "{v}");
}
