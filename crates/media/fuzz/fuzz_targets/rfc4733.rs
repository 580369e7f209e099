//! The RFC 4733 receiver alone, on datagrams with arbitrary arrival gaps:
//! never panics, reports at most one digit per packet, and always closes
//! the event in progress once its timeout passes.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use callward_media::{RtpPacket, TelephoneEventConfig, TelephoneEventReceiver};
use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    let mut now = start();
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
    // Records: [gap_ms, len, datagram...]
    let mut rest = data;
    let (mut packets, mut digits) = (0usize, 0usize);
    while rest.len() >= 2 {
        let gap = u64::from(rest[0]);
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let datagram = &rest[2..2 + len];
        rest = &rest[2 + len..];
        now += Duration::from_millis(gap * 4);
        packets += 1;
        if let Ok(p) = RtpPacket::parse(datagram) {
            rx.handle_rtp(now, &p);
        }
        if let Some(t) = rx.poll_timeout() {
            // The timeout of an open event is never more than its end_timeout past.
            assert!(t + Duration::from_secs(2) > now);
        }
        rx.handle_timeout(now);
        while let Some(ev) = rx.poll_event() {
            assert!(ev.digit.event_code() < 16);
            digits += 1;
        }
    }
    rx.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(rx.poll_timeout(), None);
    while rx.poll_event().is_some() {
        digits += 1;
    }
    assert!(digits <= packets);
});
