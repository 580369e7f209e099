//! SIP INFO DTMF bodies: never panics; a body that parses names one of the
//! sixteen digits.
#![no_main]

use callward_media::parse_dtmf_info;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte picks the content type, the rest is the body.
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = match pick % 4 {
        0 => "application/dtmf-relay",
        1 => "application/dtmf",
        2 => "Application/DTMF-Relay; charset=utf-8",
        _ => core::str::from_utf8(body).unwrap_or("text/plain"),
    };
    if let Ok(ev) = parse_dtmf_info(content_type, body) {
        assert!(ev.digit.event_code() < 16);
    }
});
