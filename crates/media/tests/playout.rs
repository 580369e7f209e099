//! Prompt playout through a leg's sender: 20 ms pacing, sequence,
//! timestamp, marker and SSRC.

use std::time::{Duration, Instant};

use callward_media::playout::PlayoutEvent;
use callward_media::{G711, Prompt, PromptPlayer, Ptime, RtpPacket, RtpSender, SenderConfig};

fn sender(codec: G711) -> RtpSender {
    RtpSender::new(SenderConfig {
        ssrc: 0xCAFE,
        initial_sequence: 65534,
        initial_timestamp: u32::MAX - 100,
        codec,
        ptime: Ptime::MS20,
        event_payload_type: Some(101),
    })
}

#[derive(Debug, Clone, PartialEq)]
struct Sent {
    at: Instant,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// Runs the player on a virtual clock until it is idle, collecting packets.
fn run(player: &mut PromptPlayer, out: &mut RtpSender, until: Instant) -> Vec<Sent> {
    let mut sent = Vec::new();
    while let Some(t) = player.poll_timeout() {
        if t > until {
            break;
        }
        player.handle_timeout(t, out);
        while let Some(p) = out.poll_transmit() {
            let p = RtpPacket::parse(p).unwrap();
            sent.push(Sent {
                at: t,
                marker: p.marker,
                pt: p.payload_type,
                seq: p.sequence,
                ts: p.timestamp,
                ssrc: p.ssrc,
                payload: p.payload.to_vec(),
            });
        }
    }
    sent
}

#[test]
fn paces_at_20ms_with_continuous_seq_and_ts() {
    let t0 = Instant::now();
    let mut out = sender(G711::Pcma);
    let mut player = PromptPlayer::new();
    // 1 s and a bit: 51 packets, the last padded.
    let samples: Vec<u8> = (0..8050u32).map(|i| (i % 251) as u8).collect();
    player.play(t0, Prompt::new(G711::Pcma, samples.clone()));
    let sent = run(&mut player, &mut out, t0 + Duration::from_secs(10));
    assert_eq!(sent.len(), 51);
    for (i, s) in sent.iter().enumerate() {
        let i32_ = u32::try_from(i).unwrap();
        assert_eq!(s.at, t0 + Duration::from_millis(20 * u64::from(i32_)));
        assert_eq!(s.seq, 65534u16.wrapping_add(u16::try_from(i).unwrap()));
        assert_eq!(s.ts, (u32::MAX - 100).wrapping_add(160 * i32_));
        assert_eq!(s.ssrc, 0xCAFE);
        assert_eq!(s.pt, 8);
        assert_eq!(s.marker, i == 0, "marker only on the first packet");
        assert_eq!(s.payload.len(), 160);
    }
    let played: Vec<u8> = sent.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(&played[..8050], &samples[..]);
    assert!(
        played[8050..].iter().all(|&b| b == 0xD5),
        "padding is A-law silence"
    );
    assert_eq!(player.poll_event(), Some(PlayoutEvent::Finished));
    assert!(!player.is_playing());
}

#[test]
fn late_timer_catches_up_without_drift() {
    let t0 = Instant::now();
    let mut out = sender(G711::Pcmu);
    let mut player = PromptPlayer::new();
    player.play(t0, Prompt::new(G711::Pcmu, vec![0x11; 1600]));
    // The driver wakes 55 ms late: the three overdue packets go at once.
    player.handle_timeout(t0 + Duration::from_millis(55), &mut out);
    let mut ts = Vec::new();
    while let Some(p) = out.poll_transmit() {
        ts.push(RtpPacket::parse(p).unwrap().timestamp);
    }
    let base = u32::MAX - 100;
    assert_eq!(
        ts,
        vec![base, base.wrapping_add(160), base.wrapping_add(320)]
    );
    assert_eq!(player.poll_timeout(), Some(t0 + Duration::from_millis(60)));
}

#[test]
fn back_to_back_prompts_are_one_talkspurt_and_transcoded() {
    let t0 = Instant::now();
    let mut out = sender(G711::Pcmu);
    let mut player = PromptPlayer::new();
    // Two A-law prompts of 250 samples each, played to a µ-law leg.
    player.play(t0, Prompt::new(G711::Pcma, vec![0xD5; 250]));
    player.play(t0, Prompt::new(G711::Pcma, vec![0x55; 250]));
    let sent = run(&mut player, &mut out, t0 + Duration::from_secs(1));
    assert_eq!(sent.len(), 4);
    assert_eq!(sent.iter().filter(|s| s.marker).count(), 1);
    assert!(sent.iter().all(|s| s.pt == 0));
    let played: Vec<u8> = sent.iter().flat_map(|s| s.payload.clone()).collect();
    assert!(played[..250].iter().all(|&b| b == 0xFE));
    assert!(played[250..500].iter().all(|&b| b == 0x7E));
    assert!(played[500..].iter().all(|&b| b == 0xFF));
    assert_eq!(player.poll_event(), Some(PlayoutEvent::Finished));
    assert_eq!(player.poll_event(), None);
}

#[test]
fn second_prompt_after_silence_jumps_timestamp_and_sets_marker() {
    let t0 = Instant::now();
    let mut out = sender(G711::Pcma);
    let mut player = PromptPlayer::new();
    player.play(t0, Prompt::new(G711::Pcma, vec![1; 320]));
    let first = run(&mut player, &mut out, t0 + Duration::from_secs(1));
    assert_eq!(first.len(), 2);
    // Two seconds of silence, then another prompt.
    let t1 = t0 + Duration::from_secs(2);
    player.play(t1, Prompt::new(G711::Pcma, vec![2; 320]));
    let second = run(&mut player, &mut out, t1 + Duration::from_secs(1));
    assert_eq!(second.len(), 2);
    assert!(second[0].marker);
    assert!(!second[1].marker);
    assert_eq!(second[0].seq, first[1].seq.wrapping_add(1));
    // The timestamp follows the clock: 2 s = 16000 samples after the first packet.
    assert_eq!(second[0].ts.wrapping_sub(first[0].ts), 16000);
}

#[test]
fn stop_silences_at_once() {
    let t0 = Instant::now();
    let mut out = sender(G711::Pcma);
    let mut player = PromptPlayer::new();
    player.play(t0, Prompt::new(G711::Pcma, vec![1; 8000]));
    player.handle_timeout(t0, &mut out);
    player.stop();
    assert_eq!(player.poll_timeout(), None);
    assert_eq!(out.queued(), 1);
    assert_eq!(player.poll_event(), None);
}

#[test]
fn other_ptimes() {
    let t0 = Instant::now();
    let mut out = RtpSender::new(SenderConfig {
        ptime: Ptime::from_millis(30).unwrap(),
        ..*sender(G711::Pcma).config()
    });
    let mut player = PromptPlayer::new();
    player.play(t0, Prompt::new(G711::Pcma, vec![1; 480]));
    let sent = run(&mut player, &mut out, t0 + Duration::from_secs(1));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].at - sent[0].at, Duration::from_millis(30));
    assert_eq!(sent[1].ts.wrapping_sub(sent[0].ts), 240);
    assert!(Ptime::from_millis(25).is_err());
    assert!(Ptime::from_millis(0).is_err());
    assert!(Ptime::from_millis(210).is_err());
}
