//! RTP parsing: never panics; whatever parses writes back to the same length
//! and parses to the same packet.
#![no_main]

use callward_media::rtp::{RtpPacket, is_rtcp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = is_rtcp(data);
    if let Ok(p) = RtpPacket::parse(data) {
        let csrcs: Vec<u32> = p.csrcs().collect();
        let mut out = Vec::new();
        p.header()
            .write_full(&csrcs, p.extension, p.payload, p.padding, &mut out)
            .expect("a parsed packet is writable");
        assert_eq!(out.len(), data.len());
        assert_eq!(RtpPacket::parse(&out).expect("re-parse"), p);
    }
});
