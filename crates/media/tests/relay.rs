//! Relay between legs: rewriting, transcoding, repacketising, events, and
//! the bridge's tap.

use std::time::{Duration, Instant};

use callward_media::dtmf::TelephoneEventBurst;
use callward_media::g711::{ALAW_TO_ULAW, alaw_decode};
use callward_media::{
    Bridge, Digit, DtmfMode, G711, Leg, Prompt, PromptPlayer, Ptime, RecordingTap, Relay,
    RelayConfig, Relayed, RtpHeader, RtpPacket, RtpSender, SenderConfig, TapConfig,
};

fn out_sender(codec: G711, event_pt: Option<u8>) -> RtpSender {
    RtpSender::new(SenderConfig {
        ssrc: 0x0BAD_F00D,
        initial_sequence: 1000,
        initial_timestamp: 5000,
        codec,
        ptime: Ptime::MS20,
        event_payload_type: event_pt,
    })
}

fn relay(dtmf: DtmfMode) -> Relay {
    Relay::new(RelayConfig {
        event_payload_type: Some(101),
        dtmf,
    })
}

/// A SIPp-like source: PCMA, 30 ms, fixed SSRC.
fn pcma30(seq: u16, ts: u32, ssrc: u32, fill: impl Fn(u32) -> u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..240).map(|i| fill(ts.wrapping_add(i))).collect();
    let mut v = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: 8,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
    .write(&payload, &mut v)
    .unwrap();
    v
}

#[derive(Debug)]
struct Out {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn drain(out: &mut RtpSender) -> Vec<Out> {
    std::iter::from_fn(|| {
        out.poll_transmit().map(|b| {
            let p = RtpPacket::parse(b).unwrap();
            Out {
                marker: p.marker,
                pt: p.payload_type,
                seq: p.sequence,
                ts: p.timestamp,
                ssrc: p.ssrc,
                payload: p.payload.to_vec(),
            }
        })
    })
    .collect()
}

fn assert_continuous(pkts: &[Out]) {
    for w in pkts.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
}

fn sample(i: u32) -> u8 {
    (i % 200) as u8
}

#[test]
fn pcma_30ms_becomes_pcmu_20ms() {
    let t0 = Instant::now();
    let mut r = relay(DtmfMode::Consume);
    let mut out = out_sender(G711::Pcmu, None);
    for i in 0..10u32 {
        let p = pcma30(u16::try_from(i).unwrap(), 240 * i, 0x4321, sample);
        let now = t0 + Duration::from_millis(30 * u64::from(i));
        assert_eq!(
            r.handle_rtp(now, &RtpPacket::parse(&p).unwrap(), &mut out),
            Relayed::Audio(G711::Pcma)
        );
    }
    let pkts = drain(&mut out);
    // 2400 samples = 15 packets of 160.
    assert_eq!(pkts.len(), 15);
    assert_continuous(&pkts);
    assert!(pkts[0].marker);
    assert!(pkts[1..].iter().all(|p| !p.marker));
    for (i, p) in pkts.iter().enumerate() {
        assert_eq!(p.pt, 0);
        assert_eq!(p.ssrc, 0x0BAD_F00D);
        assert_eq!(p.ts, 5000 + 160 * u32::try_from(i).unwrap());
        assert_eq!(p.payload.len(), 160);
    }
    let audio: Vec<u8> = pkts.iter().flat_map(|p| p.payload.clone()).collect();
    for (i, &b) in audio.iter().enumerate() {
        assert_eq!(
            b,
            ALAW_TO_ULAW[usize::from(sample(u32::try_from(i).unwrap()))]
        );
    }
    assert_eq!(r.stats().audio_packets, 10);
}

#[test]
fn same_law_is_copied_and_repacketised_to_any_multiple_of_10ms() {
    for ptime in [10, 20, 40, 60] {
        let t0 = Instant::now();
        let mut r = relay(DtmfMode::Consume);
        let mut out = RtpSender::new(SenderConfig {
            ptime: Ptime::from_millis(ptime).unwrap(),
            ..*out_sender(G711::Pcma, None).config()
        });
        for i in 0..8u32 {
            let p = pcma30(u16::try_from(i).unwrap(), 240 * i, 1, sample);
            r.handle_rtp(
                t0 + Duration::from_millis(30 * u64::from(i)),
                &RtpPacket::parse(&p).unwrap(),
                &mut out,
            );
        }
        let pkts = drain(&mut out);
        let frame = usize::try_from(ptime * 8).unwrap();
        assert_eq!(pkts.len(), 1920 / frame, "ptime {ptime}");
        assert!(pkts.iter().all(|p| p.payload.len() == frame && p.pt == 8));
        let audio: Vec<u8> = pkts.iter().flat_map(|p| p.payload.clone()).collect();
        assert!(
            audio
                .iter()
                .enumerate()
                .all(|(i, &b)| b == sample(u32::try_from(i).unwrap()))
        );
    }
}

#[test]
fn prompt_then_relay_then_replay_is_one_stream() {
    // A leg hears a prompt, then bridged audio from a source whose SSRC
    // differs, then the same capture replayed (same SSRC, timestamps back).
    let t0 = Instant::now();
    let mut out = out_sender(G711::Pcma, None);
    let mut player = PromptPlayer::new();
    player.play(t0, Prompt::new(G711::Pcma, vec![7; 800]));
    let mut now = t0;
    while let Some(t) = player.poll_timeout() {
        now = t;
        player.handle_timeout(t, &mut out);
    }
    let mut r = relay(DtmfMode::Consume);
    let start = now + Duration::from_millis(20);
    for round in 0..2u64 {
        for i in 0..20u32 {
            let at = start + Duration::from_millis(round * 1000 + 30 * u64::from(i));
            let p = pcma30(
                u16::try_from(i).unwrap(),
                1_000_000 + 240 * i,
                0xFEED,
                sample,
            );
            r.handle_rtp(at, &RtpPacket::parse(&p).unwrap(), &mut out);
        }
        r.flush(start + Duration::from_millis(round * 1000 + 600), &mut out);
    }
    let pkts = drain(&mut out);
    assert_continuous(&pkts);
    // 5 prompt packets, then 4800 samples relayed in 2 rounds of 30 packets.
    assert_eq!(pkts.len(), 5 + 60);
    let markers: Vec<usize> = pkts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(markers, vec![0, 5, 35]);
    // Timestamps only move forward, by at least a packet.
    for w in pkts.windows(2) {
        let d = w[1].ts.wrapping_sub(w[0].ts);
        assert!((160..16000).contains(&d), "timestamp step {d}");
    }
    // The replay started 1 s after the first round: ~8000 samples later.
    let jump = pkts[35].ts.wrapping_sub(pkts[5].ts);
    assert!((7900..=8100).contains(&jump), "replay jump {jump}");
    assert_eq!(r.stats().resyncs, 1);
}

#[test]
fn loss_is_filled_and_late_or_duplicate_dropped() {
    let t0 = Instant::now();
    let mut r = relay(DtmfMode::Consume);
    let mut out = out_sender(G711::Pcma, None);
    let pkt = |i: u32| pcma30(u16::try_from(i).unwrap(), 240 * i, 2, |_| 0x11);
    let at = |i: u32| t0 + Duration::from_millis(30 * u64::from(i));
    let results: Vec<Relayed> = [0u32, 1, 3, 2, 3, 4]
        .into_iter()
        .map(|i| r.handle_rtp(at(i), &RtpPacket::parse(&pkt(i)).unwrap(), &mut out))
        .collect();
    // Packet 2 came after 3 (late), the second 3 is a duplicate.
    let audio = Relayed::Audio(G711::Pcma);
    let late = Relayed::Late(G711::Pcma);
    assert_eq!(results, vec![audio, audio, audio, late, late, audio]);
    r.flush(at(5), &mut out);
    let stats = r.stats();
    assert_eq!(stats.audio_packets, 4);
    assert_eq!(stats.late, 2);
    assert_eq!(stats.concealed_samples, 240);
    let pkts = drain(&mut out);
    assert_continuous(&pkts);
    let audio: Vec<u8> = pkts.iter().flat_map(|p| p.payload.clone()).collect();
    // 5 × 240 samples in order, packet 2's place silent, the flush padded.
    assert_eq!(audio.len(), 1280);
    assert!(audio[1200..].iter().all(|&b| b == 0xD5));
    assert!(audio[..480].iter().all(|&b| b == 0x11));
    assert!(audio[480..720].iter().all(|&b| b == 0xD5));
    assert!(audio[720..1200].iter().all(|&b| b == 0x11));
    assert!(pkts.iter().skip(1).all(|p| !p.marker));
}

#[test]
fn short_clip_replayed_restarts_after_a_run_of_late_packets() {
    // A 150 ms clip (5 packets) played twice back to back with the same
    // SSRC and timestamps: the replay looks late at first, then is taken
    // as a restart, and only the first packets of the replay are lost.
    let t0 = Instant::now();
    let mut r = relay(DtmfMode::Consume);
    let mut out = out_sender(G711::Pcma, None);
    let mut n = 0u64;
    for _ in 0..2 {
        for i in 0..5u32 {
            let p = pcma30(u16::try_from(i).unwrap(), 240 * i, 3, |_| 0x33);
            r.handle_rtp(
                t0 + Duration::from_millis(30 * n),
                &RtpPacket::parse(&p).unwrap(),
                &mut out,
            );
            n += 1;
        }
    }
    let stats = r.stats();
    assert_eq!(stats.late, 4);
    assert_eq!(stats.resyncs, 1);
    assert_eq!(stats.audio_packets, 6);
    let pkts = drain(&mut out);
    assert_continuous(&pkts);
    // Markers: the first packet; the first round's padded tail, flushed at
    // the restart 130 ms after it was due (so stamped at real time); the
    // replay's first packet.
    let markers: Vec<usize> = pkts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(markers, vec![0, 7, 8]);
    assert_eq!(pkts.len(), 8 + 1);
}

fn event_packets(ssrc: u32, seq: u16, ts: u32) -> Vec<Vec<u8>> {
    TelephoneEventBurst {
        first: RtpHeader {
            marker: true,
            payload_type: 101,
            sequence: seq,
            timestamp: ts,
            ssrc,
        },
        digit: Digit::D1,
        updates: 8,
        interval: 160,
    }
    .packets()
    .collect()
}

#[test]
fn events_forwarded_with_rewritten_pt_and_timestamp() {
    let t0 = Instant::now();
    let mut r = relay(DtmfMode::Forward);
    // The other leg negotiated telephone-event as 96.
    let mut out = out_sender(G711::Pcma, Some(96));
    for (i, p) in event_packets(77, 10, 123_456).iter().enumerate() {
        let now = t0 + Duration::from_millis(20 * u64::try_from(i).unwrap());
        assert_eq!(
            r.handle_rtp(now, &RtpPacket::parse(p).unwrap(), &mut out),
            Relayed::Event
        );
    }
    let pkts = drain(&mut out);
    assert_eq!(pkts.len(), 11);
    assert_continuous(&pkts);
    assert!(pkts.iter().all(|p| p.pt == 96 && p.ts == 5000));
    assert!(pkts[0].marker && pkts[1..].iter().all(|p| !p.marker));
    assert_eq!(pkts[10].payload[1] & 0x80, 0x80);
    assert_eq!(r.stats().events_forwarded, 11);
    // A leg without telephone-event gets nothing, and so does a consuming relay.
    let mut plain = out_sender(G711::Pcma, None);
    let mut c = relay(DtmfMode::Forward);
    let mut consumer = relay(DtmfMode::Consume);
    let mut out2 = out_sender(G711::Pcma, Some(101));
    for p in event_packets(77, 10, 123_456) {
        c.handle_rtp(t0, &RtpPacket::parse(&p).unwrap(), &mut plain);
        consumer.handle_rtp(t0, &RtpPacket::parse(&p).unwrap(), &mut out2);
    }
    assert_eq!(plain.poll_transmit(), None);
    assert_eq!(out2.poll_transmit(), None);
}

#[test]
fn unknown_payload_types_ignored() {
    let mut r = relay(DtmfMode::Consume);
    let mut out = out_sender(G711::Pcma, None);
    let mut v = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: 18,
        sequence: 1,
        timestamp: 0,
        ssrc: 1,
    }
    .write(&[0; 20], &mut v)
    .unwrap();
    assert_eq!(
        r.handle_rtp(Instant::now(), &RtpPacket::parse(&v).unwrap(), &mut out),
        Relayed::Ignored
    );
    assert_eq!(out.poll_transmit(), None);
    assert_eq!(r.stats().unknown_payload, 1);
}

/// Runs 1.5 s of both directions, draining the tap (if any) as a driver
/// does after every input; returns the tap's frames so far.
fn run_bridge(bridge: &mut Bridge, t0: Instant) -> Vec<i16> {
    let mut frames = Vec::new();
    let mut to_outside = out_sender(G711::Pcmu, None);
    let mut to_station = out_sender(G711::Pcma, None);
    for i in 0..50u32 {
        let now = t0 + Duration::from_millis(30 * u64::from(i));
        let s = pcma30(u16::try_from(i).unwrap(), 240 * i, 1, |_| 0xAA);
        let o = pcma30(u16::try_from(i).unwrap(), 9000 + 240 * i, 2, |_| 0x2A);
        bridge.handle_rtp(
            now,
            Leg::Station,
            &RtpPacket::parse(&s).unwrap(),
            &mut to_outside,
        );
        bridge.handle_rtp(
            now,
            Leg::Outside,
            &RtpPacket::parse(&o).unwrap(),
            &mut to_station,
        );
        if let Some(tap) = bridge.tap_mut() {
            tap.handle_timeout(now);
            while let Some(c) = tap.poll_chunk() {
                frames.extend_from_slice(c);
            }
        }
    }
    // Both directions relayed whatever the tap.
    assert_eq!(drain(&mut to_outside).len(), 75);
    assert_eq!(drain(&mut to_station).len(), 75);
    frames
}

#[test]
fn bridge_without_tap_records_nothing() {
    let t0 = Instant::now();
    let mut bridge = Bridge::new(
        RelayConfig {
            event_payload_type: None,
            dtmf: DtmfMode::Consume,
        },
        RelayConfig {
            event_payload_type: None,
            dtmf: DtmfMode::Consume,
        },
    );
    assert!(run_bridge(&mut bridge, t0).is_empty());
    assert!(!bridge.is_recording());
    assert_eq!(bridge.poll_timeout(), None, "nothing to wake for");
    assert!(bridge.tap_mut().is_none());
    assert!(bridge.take_tap().is_none());
}

#[test]
fn bridge_with_tap_records_both_sides() {
    let t0 = Instant::now();
    let mut bridge = Bridge::new(
        RelayConfig {
            event_payload_type: None,
            dtmf: DtmfMode::Consume,
        },
        RelayConfig {
            event_payload_type: None,
            dtmf: DtmfMode::Consume,
        },
    );
    bridge.attach_tap(RecordingTap::new(t0, TapConfig::default()));
    assert!(bridge.is_recording());
    // The driver's wake-up is the tap's own deadline, not a fixed pace.
    let first = bridge.poll_timeout().expect("a tap has a deadline");
    assert!(first > t0);
    assert_eq!(Some(first), bridge.tap_mut().map(|t| t.poll_timeout()));
    let mut frames = run_bridge(&mut bridge, t0);
    assert!(
        bridge.poll_timeout().unwrap() > first,
        "the deadline moves on as chunks are drained"
    );
    assert!(!frames.is_empty(), "the tap writes out while the call runs");
    let mut tap = bridge.take_tap().unwrap();
    tap.finish();
    assert_eq!(tap.stats().overrun_samples, [0, 0]);
    while let Some(c) = tap.poll_chunk() {
        frames.extend_from_slice(c);
    }
    let station = alaw_decode(0xAA);
    let outside = alaw_decode(0x2A);
    let both = frames
        .chunks_exact(2)
        .filter(|f| f[0] == station && f[1] == outside)
        .count();
    assert!(both >= 11_900, "aligned frames with both voices: {both}");
    assert!(frames.chunks_exact(2).all(|f| f[0] == station || f[0] == 0));
    assert!(frames.chunks_exact(2).all(|f| f[1] == outside || f[1] == 0));
}
