//! Reception statistics (RFC 3550 A.1, A.3, A.8) and SR sender info.

use std::time::{Duration, Instant};

use callward_media::rtcp::SenderInfo;
use callward_media::{G711, Ptime, ReceiveStats, RtpHeader, RtpPacket, RtpSender, SenderConfig};

fn pkt(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
    .write(&[0xFF; 160], &mut v)
    .unwrap();
    v
}

#[test]
fn loss_across_sequence_wrap() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(8000);
    // 200 packets from 65500, wrapping; every 20th lost.
    for i in 0..200u16 {
        if i % 20 == 10 {
            continue;
        }
        let seq = 65500u16.wrapping_add(i);
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        s.handle_rtp(
            now,
            &RtpPacket::parse(&pkt(seq, 160 * u32::from(i), 9)).unwrap(),
        );
    }
    // The first packet only ends probation (RFC 3550 A.1): counting starts at the second.
    assert_eq!(s.expected(), 199);
    assert_eq!(s.received(), 189);
    assert_eq!(s.lost(), 10);
    assert_eq!(
        s.extended_max(),
        65536 + u32::from(65500u16.wrapping_add(199))
    );
    // Constant transit: no jitter.
    assert_eq!(s.jitter(), 0);
    let rb = s.report_block(t0 + Duration::from_secs(4)).unwrap();
    assert_eq!(rb.ssrc, 9);
    assert_eq!(rb.cumulative_lost, 10);
    assert_eq!(rb.fraction_lost, u8::try_from(10 * 256 / 199).unwrap());
    assert_eq!((rb.last_sr, rb.delay_since_last_sr), (0, 0));
    // Next interval without loss: fraction 0, cumulative unchanged.
    for i in 200..250u16 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        s.handle_rtp(
            now,
            &RtpPacket::parse(&pkt(65500u16.wrapping_add(i), 160 * u32::from(i), 9)).unwrap(),
        );
    }
    let rb = s.report_block(t0 + Duration::from_secs(5)).unwrap();
    assert_eq!((rb.fraction_lost, rb.cumulative_lost), (0, 10));
}

#[test]
fn jitter_follows_arrival_variation() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(8000);
    // Packets every 20 ms of media, arriving alternately 0 and 10 ms late:
    // |D| is 80 units every time, so J converges to 80.
    for i in 0..400u32 {
        let late = if i % 2 == 0 { 0 } else { 10 };
        let now = t0 + Duration::from_millis(20 * u64::from(i) + late);
        s.handle_rtp(
            now,
            &RtpPacket::parse(&pkt(u16::try_from(i).unwrap(), 160 * i, 1)).unwrap(),
        );
    }
    assert!((75..=80).contains(&s.jitter()), "jitter {}", s.jitter());
    assert_eq!(s.jitter_duration().as_millis(), u128::from(s.jitter()) / 8);
}

#[test]
fn reordered_and_duplicate_packets_are_counted_not_lost() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(8000);
    for seq in [1u16, 2, 3, 5, 4, 6, 6, 7] {
        s.handle_rtp(t0, &RtpPacket::parse(&pkt(seq, 0, 3)).unwrap());
    }
    assert_eq!(s.expected(), 6);
    assert_eq!(s.received(), 7);
    assert_eq!(s.lost(), -1);
    let rb = s.report_block(t0).unwrap();
    assert_eq!(rb.fraction_lost, 0);
    assert_eq!(rb.cumulative_lost, -1);
}

#[test]
fn new_ssrc_restarts_and_sr_gives_lsr_dlsr() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(8000);
    assert!(s.report_block(t0).is_none());
    for seq in 0..10u16 {
        s.handle_rtp(t0, &RtpPacket::parse(&pkt(seq, 0, 1)).unwrap());
    }
    for seq in 500..505u16 {
        s.handle_rtp(t0, &RtpPacket::parse(&pkt(seq, 0, 2)).unwrap());
    }
    assert_eq!(s.ssrc(), Some(2));
    assert_eq!(s.received(), 4);
    let info = SenderInfo {
        ssrc: 2,
        ntp_timestamp: 0x1234_5678_9ABC_DEF0,
        ..SenderInfo::default()
    };
    s.handle_sender_report(t0, &info);
    let rb = s.report_block(t0 + Duration::from_millis(500)).unwrap();
    assert_eq!(rb.last_sr, 0x5678_9ABC);
    assert_eq!(rb.delay_since_last_sr, 32768);
    // An SR from another source is not ours.
    s.handle_sender_report(t0, &SenderInfo { ssrc: 7, ..info });
    assert_eq!(
        s.report_block(t0 + Duration::from_secs(1))
            .unwrap()
            .delay_since_last_sr,
        65536
    );
}

#[test]
fn sender_info_extrapolates_the_timestamp() {
    let t0 = Instant::now();
    let mut out = RtpSender::new(SenderConfig {
        ssrc: 4,
        initial_sequence: 0,
        initial_timestamp: 1000,
        codec: G711::Pcma,
        ptime: Ptime::MS20,
        event_payload_type: None,
    });
    assert_eq!(out.sender_info(t0, 1).rtp_timestamp, 1000);
    out.send_audio(t0, &[0xD5; 160], true);
    out.send_audio(t0 + Duration::from_millis(20), &[0xD5; 160], false);
    let info = out.sender_info(t0 + Duration::from_millis(100), 42);
    assert_eq!(info.ssrc, 4);
    assert_eq!(info.ntp_timestamp, 42);
    assert_eq!(info.rtp_timestamp, 1000 + 800);
    assert_eq!(info.packet_count, 2);
    assert_eq!(info.octet_count, 320);
}
