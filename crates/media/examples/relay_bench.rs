//! Rough cost of the media hot paths on this machine:
//! `cargo run --release -p callward-media --example relay_bench`.
//!
//! Prints CPU time (not wall time) per call-second (one call = both directions relayed for
//! one second of audio), for relaying with transcoding and repacketising,
//! relaying plus the recording tap, and in-band DTMF detection.

use std::hint::black_box;
use std::time::{Duration, Instant};

use callward_media::{
    Bridge, Channel, DtmfMode, G711, InbandDtmfDetector, Leg, Ptime, RecordingTap, RelayConfig,
    RtpHeader, RtpPacket, RtpSender, SenderConfig, TapConfig,
};

const SECONDS: u32 = 2000;

/// CPU time this thread has used, from Linux's schedstat (wall time lies
/// on a busy machine); falls back to a wall clock elsewhere.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or_else(
            || {
                static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                START.get_or_init(Instant::now).elapsed()
            },
            Duration::from_nanos,
        )
}

fn packets(pt: u8, samples: usize, ssrc: u32) -> Vec<Vec<u8>> {
    let n = SECONDS as usize * 8000 / samples;
    (0..n)
        .map(|i| {
            let mut v = Vec::new();
            let payload: Vec<u8> = (0..samples).map(|k| ((i * 7 + k) % 256) as u8).collect();
            RtpHeader {
                marker: false,
                payload_type: pt,
                sequence: i as u16,
                timestamp: (i * samples) as u32,
                ssrc,
            }
            .write(&payload, &mut v)
            .expect("valid header");
            v
        })
        .collect()
}

fn sender(codec: G711) -> RtpSender {
    RtpSender::new(SenderConfig {
        ssrc: 1,
        initial_sequence: 0,
        initial_timestamp: 0,
        codec,
        ptime: Ptime::MS20,
        event_payload_type: Some(101),
    })
}

fn run(record: bool) -> Duration {
    let station = packets(8, 240, 11); // SIPp: PCMA, 30 ms
    let outside = packets(0, 160, 22); // PCMU, 20 ms
    let cfg = RelayConfig {
        event_payload_type: Some(101),
        dtmf: DtmfMode::Consume,
    };
    let mut bridge = Bridge::new(cfg, cfg);
    let t0 = Instant::now();
    if record {
        bridge.attach_tap(RecordingTap::new(t0, TapConfig::default()));
    }
    let mut to_outside = sender(G711::Pcmu);
    let mut to_station = sender(G711::Pcma);
    let start = cpu_time();
    let mut bytes = 0usize;
    let mut frames = 0usize;
    let (mut si, mut oi) = (0, 0);
    for ms in (0..SECONDS * 1000).step_by(10) {
        let now = t0 + Duration::from_millis(u64::from(ms));
        if ms % 30 == 0 && si < station.len() {
            let p = RtpPacket::parse(&station[si]).expect("valid");
            bridge.handle_rtp(now, Leg::Station, &p, &mut to_outside);
            si += 1;
        }
        if ms % 20 == 0 && oi < outside.len() {
            let p = RtpPacket::parse(&outside[oi]).expect("valid");
            bridge.handle_rtp(now, Leg::Outside, &p, &mut to_station);
            oi += 1;
        }
        while let Some(b) = to_outside.poll_transmit() {
            bytes += black_box(b).len();
        }
        while let Some(b) = to_station.poll_transmit() {
            bytes += black_box(b).len();
        }
        if let Some(tap) = bridge.tap_mut() {
            tap.handle_timeout(now);
            while let Some(c) = tap.poll_chunk() {
                frames += black_box(c).len();
            }
        }
    }
    let elapsed = cpu_time() - start;
    black_box((bytes, frames));
    elapsed
}

fn main() {
    let _ = Channel::Station;
    for _ in 0..2 {
        let relay = run(false);
        let recorded = run(true);
        let per = |d: Duration| d.as_nanos() as f64 / f64::from(SECONDS) / 1000.0;
        println!(
            "relay both ways (PCMA 30 ms <-> PCMU 20 ms): {:.1} us per call-second",
            per(relay)
        );
        println!(
            "relay + recording tap:                      {:.1} us per call-second",
            per(recorded)
        );
    }
    let audio: Vec<i16> = (0..8000 * 60)
        .map(|i| ((i * 37) % 2000) as i16 - 1000)
        .collect();
    let mut det = InbandDtmfDetector::new();
    let start = cpu_time();
    det.handle_samples(&audio);
    let d = cpu_time() - start;
    black_box(det.poll_event());
    println!(
        "in-band DTMF detection:                     {:.1} us per second of audio",
        d.as_nanos() as f64 / 60.0 / 1000.0
    );
}
