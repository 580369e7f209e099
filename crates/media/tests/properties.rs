//! Property tests: round trips of the wire formats, no panics on any
//! input, and the stream invariants of relay and tap.

use std::time::{Duration, Instant};

use callward_media::dtmf::TelephoneEventBurst;
use callward_media::rtcp::{
    ReportBlock, SenderInfo, write_bye, write_receiver_report, write_sdes_cname,
    write_sender_report,
};
use callward_media::rtp::RtpExtension;
use callward_media::{
    Channel, Digit, DtmfMode, G711, Ptime, RecordingTap, Relay, RelayConfig, RtcpCompound,
    RtcpPacket, RtpHeader, RtpPacket, RtpSender, SenderConfig, TapConfig, TelephoneEvent,
    TelephoneEventConfig, TelephoneEventReceiver, parse_dtmf_info,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn header() -> impl Strategy<Value = RtpHeader> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(marker, payload_type, sequence, timestamp, ssrc)| RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
            },
        )
}

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..0x80_0000,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, highest_sequence, jitter, last_sr, dlsr)| {
                ReportBlock {
                    ssrc,
                    fraction_lost,
                    cumulative_lost,
                    highest_sequence,
                    jitter,
                    last_sr,
                    delay_since_last_sr: dlsr,
                }
            },
        )
}

proptest! {
    #[test]
    fn rtp_round_trip(
        h in header(),
        csrcs in vec(any::<u32>(), 0..=15),
        ext in proptest::option::of((any::<u16>(), vec(any::<u8>(), 0..8).prop_map(|mut v| { v.truncate(v.len() / 4 * 4); v }))),
        payload in vec(any::<u8>(), 0..300),
        padding in 0u8..20,
    ) {
        let extension = ext.as_ref().map(|(profile, data)| RtpExtension { profile: *profile, data });
        let mut out = Vec::new();
        h.write_full(&csrcs, extension, &payload, padding, &mut out).unwrap();
        let p = RtpPacket::parse(&out).unwrap();
        prop_assert_eq!(p.header(), h);
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        prop_assert_eq!(p.extension, extension);
        prop_assert_eq!(p.payload, &payload[..]);
        prop_assert_eq!(p.padding, padding);
    }

    #[test]
    fn rtp_parse_any_bytes(bytes in vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            // What parsed writes back to something that parses the same.
            let csrcs: Vec<u32> = p.csrcs().collect();
            let mut out = Vec::new();
            p.header().write_full(&csrcs, p.extension, p.payload, p.padding, &mut out).unwrap();
            prop_assert_eq!(out.len(), bytes.len());
            prop_assert_eq!(RtpPacket::parse(&out).unwrap(), p);
        }
    }

    #[test]
    fn rtcp_round_trip(
        info in (any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()),
        blocks in vec(report_block(), 0..=31),
        cname in vec(any::<u8>(), 0..=255),
        bye in vec(any::<u32>(), 0..=31),
        reason in proptest::option::of(vec(any::<u8>(), 0..=255)),
    ) {
        let info = SenderInfo { ssrc: info.0, ntp_timestamp: info.1, rtp_timestamp: info.2, packet_count: info.3, octet_count: info.4 };
        let mut out = Vec::new();
        write_sender_report(&mut out, &info, &blocks).unwrap();
        write_receiver_report(&mut out, info.ssrc, &blocks).unwrap();
        write_sdes_cname(&mut out, info.ssrc, &cname).unwrap();
        write_bye(&mut out, &bye, reason.as_deref()).unwrap();
        prop_assert_eq!(out.len() % 4, 0);
        let c = RtcpCompound::parse(&out).unwrap();
        let packets: Vec<_> = c.packets().collect();
        prop_assert_eq!(packets.len(), 4);
        match packets[0] {
            RtcpPacket::SenderReport { info: got, reports } => {
                prop_assert_eq!(got, info);
                prop_assert_eq!(reports.iter().collect::<Vec<_>>(), blocks.clone());
            }
            _ => prop_assert!(false, "not an SR"),
        }
        match packets[1] {
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                prop_assert_eq!(ssrc, info.ssrc);
                prop_assert_eq!(reports.iter().collect::<Vec<_>>(), blocks);
            }
            _ => prop_assert!(false, "not an RR"),
        }
        match packets[1 + 1] {
            RtcpPacket::SourceDescription(chunks) => {
                let all: Vec<_> = chunks.iter().collect();
                prop_assert_eq!(all.len(), 1);
                prop_assert_eq!(all[0].items().collect::<Vec<_>>(), vec![(1u8, &cname[..])]);
            }
            _ => prop_assert!(false, "not SDES"),
        }
        prop_assert_eq!(packets[3].bye_sources().collect::<Vec<_>>(), bye);
        match packets[3] {
            RtcpPacket::Bye { reason: got, .. } => prop_assert_eq!(got, reason.as_deref()),
            _ => prop_assert!(false, "not BYE"),
        }
    }

    #[test]
    fn rtcp_parse_any_bytes(bytes in vec(any::<u8>(), 0..200)) {
        if let Ok(c) = RtcpCompound::parse(&bytes) {
            for p in c.packets() {
                if let RtcpPacket::SourceDescription(chunks) = p {
                    for chunk in chunks.iter() {
                        prop_assert!(chunk.items().count() < 200);
                    }
                }
            }
        }
    }

    #[test]
    fn telephone_event_round_trip(event in any::<u8>(), end in any::<bool>(), volume in 0u8..64, duration in any::<u16>()) {
        let ev = TelephoneEvent { event, end, volume, duration };
        prop_assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
    }

    #[test]
    fn info_never_panics(ct in "[a-zA-Z/;= -]{0,40}", body in vec(any::<u8>(), 0..80)) {
        let _ = parse_dtmf_info(&ct, &body);
        let _ = parse_dtmf_info("application/dtmf-relay", &body);
        let _ = parse_dtmf_info("application/dtmf", &body);
    }

    /// Each distinct event counted once, whatever the duplicates.
    #[test]
    fn each_event_once_despite_duplicates(
        digits in vec(0u8..16, 1..10),
        repeats in vec(1usize..4, 200),
        ssrc in any::<u32>(),
        ts0 in any::<u32>(),
    ) {
        let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
        let mut now = Instant::now();
        let mut r = repeats.iter().cycle();
        for (i, &d) in digits.iter().enumerate() {
            let i = u32::try_from(i).unwrap();
            let burst = TelephoneEventBurst {
                first: RtpHeader { marker: true, payload_type: 101, sequence: u16::try_from(i * 20).unwrap(), timestamp: ts0.wrapping_add(i * 4000), ssrc },
                digit: Digit::from_event_code(d).unwrap(),
                updates: 4,
                interval: 400,
            };
            for p in burst.packets() {
                for _ in 0..*r.next().unwrap() {
                    rx.handle_rtp(now, &RtpPacket::parse(&p).unwrap());
                }
                now += Duration::from_millis(20);
            }
        }
        let got: Vec<u8> = std::iter::from_fn(|| rx.poll_event()).map(|e| e.digit.event_code()).collect();
        prop_assert_eq!(got, digits);
    }

    /// Arbitrary packets never panic, and never yield more digits than packets.
    #[test]
    fn receiver_any_packets(packets in vec((any::<u32>() , any::<u32>(), vec(any::<u8>(), 0..6), 0u64..400), 0..60)) {
        let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
        let mut now = Instant::now();
        let mut count = 0;
        for (i, (ssrc, ts, payload, dt)) in packets.iter().enumerate() {
            let mut b = Vec::new();
            RtpHeader { marker: false, payload_type: 101, sequence: u16::try_from(i).unwrap(), timestamp: *ts % 4 * 1000, ssrc: *ssrc % 3 }
                .write(payload, &mut b).unwrap();
            now += Duration::from_millis(*dt);
            rx.handle_rtp(now, &RtpPacket::parse(&b).unwrap());
            rx.handle_timeout(now);
            while rx.poll_event().is_some() { count += 1; }
        }
        rx.handle_timeout(now + Duration::from_secs(10));
        while rx.poll_event().is_some() { count += 1; }
        prop_assert!(count <= packets.len());
        prop_assert_eq!(rx.poll_timeout(), None);
    }

    /// A continuous source at any packet time comes out at any other, in order,
    /// in the other law, with continuous sequence numbers and timestamps.
    #[test]
    fn relay_repacketises_any_ptimes(
        in_ms in 1u32..=6,
        out_ms in 1u32..=6,
        in_law in prop_oneof![Just(G711::Pcma), Just(G711::Pcmu)],
        out_law in prop_oneof![Just(G711::Pcma), Just(G711::Pcmu)],
        audio in vec(any::<u8>(), 2400),
        ts0 in any::<u32>(),
    ) {
        let (in_len, out_len) = (in_ms as usize * 80, out_ms as usize * 80);
        let mut out = RtpSender::new(SenderConfig {
            ssrc: 5, initial_sequence: 65530, initial_timestamp: 4_294_967_000,
            codec: out_law, ptime: Ptime::from_millis(out_ms * 10).unwrap(), event_payload_type: None,
        });
        let mut relay = Relay::new(RelayConfig { event_payload_type: None, dtmf: DtmfMode::Consume });
        let t0 = Instant::now();
        let mut got = Vec::new();
        let mut headers = Vec::new();
        for (i, chunk) in audio.chunks(in_len).enumerate() {
            let mut b = Vec::new();
            let i32_ = u32::try_from(i).unwrap();
            RtpHeader { marker: i == 0, payload_type: in_law.payload_type(), sequence: u16::try_from(i).unwrap(), timestamp: ts0.wrapping_add(i32_ * u32::try_from(in_len).unwrap()), ssrc: 9 }
                .write(chunk, &mut b).unwrap();
            relay.handle_rtp(t0 + Duration::from_millis(u64::from(i32_ * in_ms * 10)), &RtpPacket::parse(&b).unwrap(), &mut out);
            while let Some(p) = out.poll_transmit() {
                let p = RtpPacket::parse(p).unwrap();
                headers.push(p.header());
                got.extend_from_slice(p.payload);
            }
        }
        let mut expected = Vec::new();
        in_law.transcode_into(out_law, &audio, &mut expected);
        let whole = expected.len() / out_len * out_len;
        prop_assert_eq!(&got[..], &expected[..whole]);
        for (k, h) in headers.iter().enumerate() {
            let k = u32::try_from(k).unwrap();
            prop_assert_eq!(h.sequence, 65530u16.wrapping_add(u16::try_from(k).unwrap()));
            prop_assert_eq!(h.timestamp, 4_294_967_000u32.wrapping_add(k * u32::try_from(out_len).unwrap()));
            prop_assert_eq!(h.marker, k == 0);
            prop_assert_eq!(h.payload_type, out_law.payload_type());
        }
    }

    /// Packets arriving with jitter below the window come out complete and in order.
    #[test]
    fn tap_absorbs_jitter(jitter in vec(0u64..150, 100), outside_offset in 0u64..20) {
        let t0 = Instant::now();
        let mut tap = RecordingTap::new(t0, TapConfig::default());
        let mut arrivals: Vec<(u64, u32)> = (0..100u32).map(|i| (20 * u64::from(i) + 20 + jitter[i as usize], i)).collect();
        arrivals.sort_unstable();
        let mut frames = Vec::new();
        for (at, i) in arrivals {
            let now = t0 + Duration::from_millis(at);
            let samples: Vec<i16> = (0..160).map(|k| i16::try_from(i * 160 + k).unwrap() % 16000 + 1).collect();
            tap.handle_samples(now, Channel::Station, 1, i * 160, &samples);
            tap.handle_samples(now + Duration::from_millis(outside_offset), Channel::Outside, 2, 7 + i * 160, &samples);
            tap.handle_timeout(now);
            while let Some(c) = tap.poll_chunk() { frames.extend_from_slice(c); }
        }
        tap.finish();
        while let Some(c) = tap.poll_chunk() { frames.extend_from_slice(c); }
        let station: Vec<i16> = frames.chunks_exact(2).map(|f| f[0]).filter(|&s| s != 0).collect();
        let expected: Vec<i16> = (0..16000u32).map(|k| i16::try_from(k).unwrap() % 16000 + 1).collect();
        prop_assert_eq!(station.len(), expected.len());
        prop_assert!(station == expected, "station channel out of order");
        prop_assert_eq!(tap.stats().late_samples, [0, 0]);
    }
}
