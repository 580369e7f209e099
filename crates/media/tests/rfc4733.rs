//! RFC 4733 receiver: each digit counted once, however the end packets
//! repeat, whatever SSRC the events use, and when the end is lost.

use std::time::{Duration, Instant};

use callward_media::dtmf::TelephoneEventBurst;
use callward_media::{Digit, RtpHeader, RtpPacket, TelephoneEventConfig, TelephoneEventReceiver};

const PT: u8 = 101;

fn burst(digit: Digit, ssrc: u32, seq: u16, ts: u32) -> Vec<Vec<u8>> {
    TelephoneEventBurst {
        first: RtpHeader {
            marker: true,
            payload_type: PT,
            sequence: seq,
            timestamp: ts,
            ssrc,
        },
        digit,
        updates: 8,
        interval: 160,
    }
    .packets()
    .collect()
}

/// Feeds packets 20 ms apart from `start`; returns the time after the last.
fn feed(rx: &mut TelephoneEventReceiver, start: Instant, packets: &[Vec<u8>]) -> Instant {
    let mut now = start;
    for p in packets {
        let pkt = RtpPacket::parse(p).unwrap();
        assert!(rx.handle_rtp(now, &pkt));
        rx.handle_timeout(now);
        now += Duration::from_millis(20);
    }
    now
}

fn digits(rx: &mut TelephoneEventReceiver) -> String {
    std::iter::from_fn(|| rx.poll_event())
        .map(|e| e.digit.as_char())
        .collect()
}

#[test]
fn sipp_style_burst_counts_once() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t0 = Instant::now();
    let packets = burst(Digit::D5, 0x1234, 100, 8000);
    // 8 updates then three end packets with the same sequence number.
    assert_eq!(packets.len(), 11);
    let seqs: Vec<u16> = packets
        .iter()
        .map(|p| RtpPacket::parse(p).unwrap().sequence)
        .collect();
    assert_eq!(&seqs[8..], &[108, 108, 108]);
    feed(&mut rx, t0, &packets);
    let ev = rx.poll_event().unwrap();
    assert_eq!(ev.digit, Digit::D5);
    assert!(ev.end_seen);
    // 9 × 160 samples at the end packet.
    assert_eq!(ev.duration, Duration::from_millis(180));
    assert_eq!(rx.poll_event(), None);
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn replayed_identical_capture_is_a_retransmission() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t0 = Instant::now();
    let packets = burst(Digit::D1, 7, 5, 1000);
    let t1 = feed(&mut rx, t0, &packets);
    let t2 = feed(&mut rx, t1 + Duration::from_secs(1), &packets);
    rx.handle_timeout(t2 + Duration::from_secs(5));
    assert_eq!(digits(&mut rx), "1");
}

#[test]
fn same_digit_twice_with_new_timestamps_counts_twice() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t0 = Instant::now();
    let t1 = feed(&mut rx, t0, &burst(Digit::D1, 7, 5, 1000));
    feed(&mut rx, t1, &burst(Digit::D1, 7, 16, 1000 + 3200));
    assert_eq!(digits(&mut rx), "11");
}

#[test]
fn each_digit_with_its_own_ssrc() {
    // A sender that uses a new SSRC for every event, unrelated to the audio's.
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let mut now = Instant::now();
    for (i, c) in "246810#".chars().enumerate() {
        let d = Digit::from_char(c).unwrap();
        let i = u32::try_from(i).unwrap();
        now = feed(&mut rx, now, &burst(d, 0xA000 + i, 1, 500));
    }
    assert_eq!(digits(&mut rx), "246810#");
}

#[test]
fn lower_timestamp_on_the_same_ssrc_is_a_new_event() {
    // SIPp's captures share one SSRC with fixed per-digit timestamps: 8 is
    // at 60800 and 1 at 13280.
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t1 = feed(
        &mut rx,
        Instant::now(),
        &burst(Digit::D8, 0x0e05_384e, 8253, 60800),
    );
    feed(&mut rx, t1, &burst(Digit::D1, 0x0e05_384e, 7984, 13280));
    assert_eq!(digits(&mut rx), "81");
}

#[test]
fn lost_end_reported_on_next_event() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t0 = Instant::now();
    let first = burst(Digit::D3, 9, 1, 0);
    let t1 = feed(&mut rx, t0, &first[..8]);
    assert_eq!(rx.poll_event(), None);
    feed(&mut rx, t1, &burst(Digit::D4, 9, 20, 4000));
    let a = rx.poll_event().unwrap();
    assert_eq!((a.digit, a.end_seen), (Digit::D3, false));
    let b = rx.poll_event().unwrap();
    assert_eq!((b.digit, b.end_seen), (Digit::D4, true));
    // Late end packets of the first event change nothing.
    feed(&mut rx, t1 + Duration::from_secs(1), &first[8..]);
    assert_eq!(rx.poll_event(), None);
}

#[test]
fn lost_end_reported_after_timeout() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let t0 = Instant::now();
    let packets = burst(Digit::Star, 9, 1, 0);
    let t1 = feed(&mut rx, t0, &packets[..8]);
    let last = t1 - Duration::from_millis(20);
    let deadline = rx.poll_timeout().unwrap();
    assert_eq!(deadline, last + Duration::from_millis(300));
    rx.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(rx.poll_event(), None);
    rx.handle_timeout(deadline);
    let ev = rx.poll_event().unwrap();
    assert_eq!((ev.digit, ev.end_seen), (Digit::Star, false));
    assert_eq!(rx.poll_timeout(), None);
    // Its end packets arriving later are retransmissions.
    feed(&mut rx, deadline, &packets[8..]);
    assert_eq!(rx.poll_event(), None);
}

#[test]
fn only_end_packets_arrive() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let packets = burst(Digit::D9, 9, 1, 0);
    feed(&mut rx, Instant::now(), &packets[8..]);
    assert_eq!(digits(&mut rx), "9");
}

#[test]
fn reordered_update_after_end_is_ignored() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let packets = burst(Digit::D7, 9, 1, 0);
    let mut order: Vec<Vec<u8>> = packets;
    let late = order.remove(3);
    order.push(late);
    feed(&mut rx, Instant::now(), &order);
    assert_eq!(digits(&mut rx), "7");
}

#[test]
fn other_payload_types_and_junk() {
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let now = Instant::now();
    let mut audio = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: 8,
        sequence: 1,
        timestamp: 0,
        ssrc: 1,
    }
    .write(&[0xD5; 160], &mut audio)
    .unwrap();
    assert!(!rx.handle_rtp(now, &RtpPacket::parse(&audio).unwrap()));
    let mut short = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: PT,
        sequence: 1,
        timestamp: 0,
        ssrc: 1,
    }
    .write(&[1, 2], &mut short)
    .unwrap();
    assert!(rx.handle_rtp(now, &RtpPacket::parse(&short).unwrap()));
    assert_eq!(rx.malformed_packets(), 1);
    // Event 16 (flash) is not a digit.
    let mut flash = Vec::new();
    RtpHeader {
        marker: true,
        payload_type: PT,
        sequence: 2,
        timestamp: 0,
        ssrc: 1,
    }
    .write(&[16, 0x8A, 0, 160], &mut flash)
    .unwrap();
    rx.handle_rtp(now, &RtpPacket::parse(&flash).unwrap());
    assert_eq!(rx.poll_event(), None);
}

#[test]
fn long_event_segments_count_once() {
    // A digit held past 0xFFFF timestamp units continues in a new segment
    // whose timestamp is the old one plus its duration (RFC 4733 §2.5.1.3).
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(PT));
    let now = Instant::now();
    let mk = |ts: u32, end: bool, dur: u16, seq: u16| {
        let mut v = Vec::new();
        let flags = if end { 0x8A } else { 0x0A };
        let d = dur.to_be_bytes();
        RtpHeader {
            marker: false,
            payload_type: PT,
            sequence: seq,
            timestamp: ts,
            ssrc: 3,
        }
        .write(&[5, flags, d[0], d[1]], &mut v)
        .unwrap();
        v
    };
    let packets = vec![
        mk(0, false, 0xFFFF, 1),
        mk(0xFFFF, false, 800, 2),
        mk(0xFFFF, true, 1600, 3),
    ];
    feed(&mut rx, now, &packets);
    let ev = rx.poll_event().unwrap();
    assert_eq!(ev.digit, Digit::D5);
    assert_eq!(ev.duration, Duration::from_micros((0xFFFF + 1600) * 125));
    assert_eq!(rx.poll_event(), None);
}
