//! Messages parsed and serialised per second on one core, for a typical
//! INVITE with SDP and its 200 OK. A plain timing loop (no criterion) keeps
//! the crate's dependency list short.
//!
//! `cargo bench -p callward-sip --bench parse` (release profile).
//!
//! Instructions per message, stable on a busy machine: run the bench binary
//! under callgrind twice with `SIP_BENCH_ONLY=<case>` and
//! `SIP_BENCH_ITERS=<n>` for two values of n; the difference in instructions
//! divided by the difference in n is the cost of one message.

use std::hint::black_box;
use std::time::{Duration, Instant};

use callward_sip::Message;
use callward_sip::lint::lint;

const INVITE: &[u8] = b"INVITE sip:+15551230001@trunk.example.net SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:+15551230001@trunk.example.net>\r\n\
From: \"Station 101\" <sip:station-101@jail.example.org>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:station-101@192.0.2.10:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n\
Supported: timer\r\n\
User-Agent: callward-bench\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 229\r\n\
\r\n\
v=0\r\n\
o=station 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n\
To: <sip:+15551230001@trunk.example.net>;tag=a6c85cf\r\n\
From: \"Station 101\" <sip:station-101@jail.example.org>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:+15551230001@198.51.100.20:5060>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 0\r\n\
\r\n";

/// Nanoseconds this process has spent on a CPU (Linux `schedstat`), so a
/// busy shared machine does not count other processes' time against us.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

#[allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
fn rate(name: &str, bytes: usize, mut f: impl FnMut()) {
    // `SIP_BENCH_ONLY=parse` runs only the cases whose name contains it
    // (handy under a profiler).
    if std::env::var("SIP_BENCH_ONLY").is_ok_and(|only| !name.contains(only.as_str())) {
        return;
    }
    // `SIP_BENCH_ITERS=N` runs exactly N iterations and times nothing, for
    // counting instructions under `valgrind --tool=callgrind`.
    if let Some(iters) = std::env::var("SIP_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        for _ in 0..iters {
            f();
        }
        println!("{name:<28} {iters} iterations");
        return;
    }
    // Warm up, then time batches until at least two seconds have passed.
    for _ in 0..10_000 {
        f();
    }
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..10_000 {
            f();
        }
        n += 10_000;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => wall,
    };
    let per_s = n as f64 / cpu;
    println!(
        "{name:<28} {per_s:>10.0} msg/s on-CPU ({:>6.0} ns/msg, {:>6.1} MB/s); wall {:>10.0} msg/s",
        1e9 / per_s,
        per_s * bytes as f64 / 1e6,
        n as f64 / wall
    );
}

fn main() {
    let invite = Message::parse(INVITE).expect("bench INVITE parses");
    let ok = Message::parse(OK).expect("bench 200 parses");
    println!(
        "INVITE with SDP: {} bytes; 200 OK: {} bytes",
        INVITE.len(),
        OK.len()
    );
    rate("parse INVITE+SDP", INVITE.len(), || {
        black_box(Message::parse(black_box(INVITE)).is_ok());
    });
    rate("serialize INVITE+SDP", INVITE.len(), || {
        black_box(black_box(&invite).to_bytes());
    });
    rate("parse 200 OK", OK.len(), || {
        black_box(Message::parse(black_box(OK)).is_ok());
    });
    rate("serialize 200 OK", OK.len(), || {
        black_box(black_box(&ok).to_bytes());
    });
    rate("lint INVITE (parse+checks)", INVITE.len(), || {
        black_box(lint(black_box(INVITE)));
    });
}
