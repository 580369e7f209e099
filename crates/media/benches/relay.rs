//! RTP relay packets per second on one core, for BENCHMARKS.md: each
//! packet parsed (`RtpPacket::parse`), relayed through the `Bridge` (new
//! SSRC, sequence and timestamp from the other leg's `RtpSender`,
//! PCMA/PCMU transcoding, repacketising between packet times) and every
//! packet it produces taken with `poll_transmit`, as the switch's call task
//! does between its sockets. A plain timing loop (no criterion) keeps the
//! crate free of dependencies.
//!
//! Cases:
//! - `same`: one direction, PCMA 20 ms in and out (no transcoding);
//! - `transcode`: one direction, PCMU 30 ms in, PCMA 20 ms out;
//! - `call`: a whole call, both directions (station PCMU 30 ms, trunk PCMA
//!   20 ms), no tap (a privileged call);
//! - `call+tap`: the same with the recording tap attached and drained to
//!   two-channel A-law every 20 ms (a recorded call, before sealing).
//!
//! Packets are counted as they arrive (one input packet = one packet).
//! Time is virtual: `now` advances by each leg's packet time, so the
//! senders and the tap see a real call's timing.
//!
//! `cargo bench -p callward-media --bench relay`. `RELAY_BENCH_SECS` sets
//! the time per case (default 2 s; best of 3 rounds). Instructions per
//! packet: run the binary under callgrind with `RELAY_BENCH_ONLY=<case>` and
//! `RELAY_BENCH_PACKETS=<n>` for two values of n; the difference in
//! instructions divided by the difference in n is one packet's cost.

use std::hint::black_box;
use std::time::{Duration, Instant};

use callward_media::{
    Bridge, DtmfMode, G711, Leg, Ptime, RecordingTap, RelayConfig, RtpHeader, RtpPacket, RtpSender,
    SenderConfig, TapConfig,
};

/// One leg's incoming stream: a packet template whose sequence and
/// timestamp are rewritten for each packet.
struct Source {
    bytes: Vec<u8>,
    sequence: u16,
    timestamp: u32,
    samples: u32,
    leg: Leg,
}

impl Source {
    fn new(leg: Leg, codec: G711, ptime_ms: u32, ssrc: u32) -> Self {
        let samples = ptime_ms * 8;
        // Speech-like payload: a slowly varying tone, encoded in the leg's law.
        let pcm: Vec<i16> = (0..samples)
            .map(|i| ((f64::from(i) * 0.07).sin() * 8000.0) as i16)
            .collect();
        let mut payload = Vec::new();
        codec.encode_into(&pcm, &mut payload);
        let mut bytes = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: codec.payload_type(),
            sequence: 0,
            timestamp: 0,
            ssrc,
        }
        .write(&payload, &mut bytes)
        .expect("a 240-byte payload fits");
        Self {
            bytes,
            sequence: 1000,
            timestamp: 160_000,
            samples,
            leg,
        }
    }

    /// The next datagram, as it would arrive from the socket.
    fn next(&mut self) -> &[u8] {
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(self.samples);
        self.bytes[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        self.bytes[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        &self.bytes
    }
}

fn sender(codec: G711, ptime_ms: u32, ssrc: u32) -> RtpSender {
    RtpSender::new(SenderConfig {
        ssrc,
        initial_sequence: 7,
        initial_timestamp: 99,
        codec,
        ptime: Ptime::from_millis(ptime_ms).expect("a valid ptime"),
        event_payload_type: Some(101),
    })
}

const CONSUME: RelayConfig = RelayConfig {
    event_payload_type: Some(101),
    dtmf: DtmfMode::Consume,
};

/// A bridged call being driven: the sources, the senders towards each leg,
/// the bridge, and the schedule of who sends next.
struct Call {
    bridge: Bridge,
    station: Source,
    outside: Source,
    to_outside: RtpSender,
    to_station: RtpSender,
    /// Virtual clock and each leg's next send time.
    start: Instant,
    next_station: Duration,
    next_outside: Duration,
    station_ptime: Duration,
    outside_ptime: Duration,
    one_way: bool,
    /// Next time the tap is drained, and the drained audio.
    next_drain: Duration,
    recorded: Vec<u8>,
    sent_bytes: u64,
}

impl Call {
    fn new(case: &str) -> Self {
        let (station_codec, station_ms) = match case {
            "same" => (G711::Pcma, 20),
            _ => (G711::Pcmu, 30),
        };
        let start = Instant::now();
        let mut bridge = Bridge::new(CONSUME, CONSUME);
        if case == "call+tap" {
            bridge.attach_tap(RecordingTap::new(start, TapConfig::default()));
        }
        Self {
            bridge,
            station: Source::new(Leg::Station, station_codec, station_ms, 0x5747_0001),
            outside: Source::new(Leg::Outside, G711::Pcma, 20, 0x0075_7341),
            to_outside: sender(G711::Pcma, 20, 0xc0ff_ee01),
            to_station: sender(station_codec, station_ms, 0xc0ff_ee02),
            start,
            next_station: Duration::ZERO,
            next_outside: Duration::from_millis(3),
            station_ptime: Duration::from_millis(u64::from(station_ms)),
            outside_ptime: Duration::from_millis(20),
            one_way: matches!(case, "same" | "transcode"),
            next_drain: Duration::from_millis(20),
            recorded: Vec::with_capacity(4096),
            sent_bytes: 0,
        }
    }

    /// Relays the next packet in time order; returns nothing, counts one packet.
    fn step(&mut self) {
        let from_station = self.one_way || self.next_station <= self.next_outside;
        let at = if from_station {
            self.next_station
        } else {
            self.next_outside
        };
        let now = self.start + at;
        let (source, to) = if from_station {
            self.next_station += self.station_ptime;
            (&mut self.station, &mut self.to_outside)
        } else {
            self.next_outside += self.outside_ptime;
            (&mut self.outside, &mut self.to_station)
        };
        let leg = source.leg;
        let datagram = source.next();
        if let Ok(packet) = RtpPacket::parse(datagram) {
            black_box(self.bridge.handle_rtp(now, leg, &packet, to));
        }
        while let Some(out) = to.poll_transmit() {
            self.sent_bytes += out.len() as u64;
        }
        if at >= self.next_drain {
            self.next_drain += Duration::from_millis(20);
            if let Some(tap) = self.bridge.tap_mut() {
                tap.handle_timeout(now);
                self.recorded.clear();
                while tap.poll_chunk_g711(G711::Pcma, &mut self.recorded) {}
                black_box(&self.recorded);
            }
        }
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux).
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

const CASES: [&str; 4] = ["same", "transcode", "call", "call+tap"];

fn main() {
    let only = std::env::var("RELAY_BENCH_ONLY").ok();
    if let Some(n) = std::env::var("RELAY_BENCH_PACKETS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        // Fixed count, for callgrind.
        let case = only.as_deref().unwrap_or("call+tap");
        let mut call = Call::new(case);
        for _ in 0..n {
            call.step();
        }
        println!("{case}: {n} packets, {} bytes sent", call.sent_bytes);
        return;
    }
    let secs = std::env::var("RELAY_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    println!("RTP relay, one core; load {}", load());
    let mut best = vec![(0.0f64, 0.0f64); CASES.len()];
    for round in 1..=3 {
        for (i, case) in CASES.iter().enumerate() {
            if only.as_deref().is_some_and(|o| o != *case) {
                continue;
            }
            let mut call = Call::new(case);
            for _ in 0..10_000 {
                call.step();
            }
            let cpu0 = on_cpu_ns();
            let t0 = Instant::now();
            let mut packets = 0u64;
            while t0.elapsed().as_secs_f64() < secs {
                for _ in 0..1000 {
                    call.step();
                }
                packets += 1000;
            }
            let wall = t0.elapsed().as_secs_f64();
            let cpu = match (cpu0, on_cpu_ns()) {
                (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
                _ => wall,
            };
            let rate = packets as f64 / cpu;
            best[i].0 = best[i].0.max(rate);
            best[i].1 = best[i].1.max(packets as f64 / wall);
            println!(
                "round {round} {case:<10} {:>10.0} packets/s on-CPU ({:>6.0} ns/packet) {:>10.0} wall  load {}",
                rate,
                1e9 / rate,
                packets as f64 / wall,
                load()
            );
        }
    }
    println!("best of 3:");
    for (i, case) in CASES.iter().enumerate() {
        let (cpu, wall) = best[i];
        if cpu == 0.0 {
            continue;
        }
        // A call sends 1000/30 + 1000/20 packets a second in the two-way
        // cases (station 30 ms, trunk 20 ms).
        let per_call = if matches!(*case, "call" | "call+tap") {
            1000.0 / 30.0 + 1000.0 / 20.0
        } else {
            f64::NAN
        };
        println!(
            "{case:<10} {cpu:>10.0} packets/s on-CPU ({:>5.0} ns/packet), {wall:>10.0} wall; {:>6.0} calls per core",
            1e9 / cpu,
            cpu / per_call
        );
    }
}
