//! A stream of arbitrary datagrams with arbitrary arrival gaps into the
//! RFC 4733 receiver, both relay directions of a bridge with a recording
//! tap, and the in-band detector. Nothing may panic, output stays well
//! formed and bounded.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use callward_media::{
    Bridge, DtmfMode, G711, InbandDtmfDetector, Leg, Ptime, ReceiveStats, RecordingTap,
    RelayConfig, RtpPacket, RtpSender, SenderConfig, TapConfig, TelephoneEventConfig,
    TelephoneEventReceiver,
};
use libfuzzer_sys::fuzz_target;

fn start() -> Instant {
    // One fixed origin per process keeps runs reproducible in what matters
    // (differences of instants).
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    let t0 = start();
    let mut now = t0;
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
    let cfg = RelayConfig {
        event_payload_type: Some(101),
        dtmf: DtmfMode::Forward,
    };
    let mut bridge = Bridge::new(
        cfg,
        RelayConfig {
            dtmf: DtmfMode::Consume,
            ..cfg
        },
    );
    bridge.attach_tap(RecordingTap::new(t0, TapConfig::default()));
    let ptime = Ptime::from_millis(u32::from(data.first().copied().unwrap_or(2) % 20 + 1) * 10)
        .expect("10..=200 in steps of 10");
    let mut to_outside = RtpSender::new(SenderConfig {
        ssrc: 1,
        initial_sequence: 65535,
        initial_timestamp: u32::MAX,
        codec: G711::Pcmu,
        ptime,
        event_payload_type: Some(96),
    });
    let mut to_station = RtpSender::new(SenderConfig {
        codec: G711::Pcma,
        ptime: Ptime::MS20,
        ..*to_outside.config()
    });
    let mut inband = InbandDtmfDetector::new();
    let mut stats = ReceiveStats::new(8000);
    // Records: [gap_ms, flags, len_hi, len_lo, bytes...]
    let mut rest = data.get(1..).unwrap_or_default();
    let mut digits = 0usize;
    let mut packets = 0usize;
    while rest.len() >= 3 {
        let gap = u64::from(rest[0]);
        let flags = rest[1];
        let len = usize::from(rest[2]).min(rest.len() - 3);
        let datagram = &rest[3..3 + len];
        rest = &rest[3 + len..];
        now += Duration::from_millis(gap * if flags & 0x80 != 0 { 40 } else { 1 });
        if now - t0 > Duration::from_secs(5) {
            // The tap writes out every 20 ms of the call; keep runs fast.
            break;
        }
        packets += 1;
        if let Ok(p) = RtpPacket::parse(datagram) {
            let from = if flags & 1 == 0 {
                Leg::Station
            } else {
                Leg::Outside
            };
            if from == Leg::Station {
                stats.handle_rtp(now, &p);
                if flags & 0x40 != 0
                    && let Some(block) = stats.report_block(now)
                {
                    assert_eq!(Some(block.ssrc), stats.ssrc());
                }
                rx.handle_rtp(now, &p);
                if let Some(codec) = G711::from_payload_type(p.payload_type) {
                    inband.handle_g711(codec, p.payload);
                }
                bridge.handle_rtp(now, from, &p, &mut to_outside);
            } else {
                bridge.handle_rtp(now, from, &p, &mut to_station);
            }
        }
        rx.handle_timeout(now);
        if let Some(tap) = bridge.tap_mut() {
            tap.handle_timeout(now);
            while let Some(chunk) = tap.poll_chunk() {
                assert_eq!(chunk.len(), 320);
            }
        }
        for out in [&mut to_outside, &mut to_station] {
            while let Some(bytes) = out.poll_transmit() {
                let p = RtpPacket::parse(bytes).expect("we write valid RTP");
                assert_eq!(p.ssrc, 1);
            }
        }
        while rx.poll_event().is_some() {
            digits += 1;
        }
    }
    rx.handle_timeout(now + Duration::from_secs(60));
    while rx.poll_event().is_some() {
        digits += 1;
    }
    assert!(digits <= packets);
    inband.finish();
    while inband.poll_event().is_some() {}
    if let Some(mut tap) = bridge.take_tap() {
        tap.finish();
        let mut n = 0;
        while tap.poll_chunk().is_some() {
            n += 1;
            assert!(n < 1_000_000);
        }
    }
});
