//! RTCP compound parsing: never panics, and a validated compound yields
//! packets whose parts can all be read.
#![no_main]

use callward_media::rtcp::{RtcpCompound, RtcpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(compound) = RtcpCompound::parse(data) else {
        return;
    };
    let mut total = 0usize;
    for packet in compound.packets() {
        total += 1;
        match packet {
            RtcpPacket::SenderReport { reports, .. }
            | RtcpPacket::ReceiverReport { reports, .. } => {
                assert_eq!(reports.iter().count(), reports.len());
            }
            RtcpPacket::SourceDescription(chunks) => {
                for chunk in chunks.iter() {
                    for (_, value) in chunk.items() {
                        assert!(value.len() <= 255);
                    }
                }
            }
            other => {
                let _ = other.bye_sources().count();
            }
        }
    }
    // Every packet is at least 4 bytes.
    assert!(total * 4 <= data.len());
});
