//! Arbitrary bytes through the parser, the UAS checks and the serialiser.
//! Invariants: no panic; whatever parses reserialises to bytes that parse
//! to the same model, and serialising is idempotent.
#![no_main]

use callward_sip::Message;
use callward_sip::lint::lint;
use callward_sip::sdp::SessionDescription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verdict = lint(data);
    let text = verdict.to_string();
    assert!(!text.contains('\n'));
    let _ = callward_sip::message::frame_stream(data);
    let _ = SessionDescription::parse(data);
    if let Ok(m) = Message::parse(data) {
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).expect("serialised message must parse");
        assert_eq!(again.to_bytes(), bytes, "serialisation must be idempotent");
        let third = Message::parse(&again.to_bytes()).expect("reparse");
        assert_eq!(third, again, "parse . serialize is identity on the model");
    }
});
