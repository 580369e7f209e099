//! Robustness of the real server under abuse: while several real calls run
//! (SIPp stations entering PINs and numbers, SIPp as the trunk answering and
//! accepting, speech both ways), every message of the shared SIP torture
//! corpus is sent to the SIP port from a gateway address and a second SIPp
//! floods INVITEs from 127.0.0.2, which is no facility's gateway. The real
//! calls must all complete and be recorded, the flood must be answered 403,
//! and the server's resident memory must stay flat while the flood goes on.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Demo, free_port, scratch, sipp, sipp_errors, wait};

/// Real calls carried during the abuse, each by its own person.
const CALLS: u32 = 5;
/// Stranger INVITEs per second, and how many in all (bounded in count and
/// time).
const FLOOD_RATE: u32 = 400;
const FLOOD_COUNT: u32 = 12_000;

/// SIPp's cumulative successful and failed calls, from the last row of
/// its `-trace_stat` file (semicolon-separated, named columns).
fn flood_counts(stats: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(stats).expect("SIPp's statistics file");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "no statistics row in {}", stats.display());
    let header: Vec<&str> = lines[0].split(';').collect();
    let last: Vec<&str> = lines[lines.len() - 1].split(';').collect();
    let column = |name: &str| -> u64 {
        let i = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"));
        last[i].trim().parse().unwrap()
    };
    (column("SuccessfulCall(C)"), column("FailedCall(C)"))
}

/// Resident set size of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Every message of the shared SIP torture corpus (RFC 4475, RFC 5118).
fn torture_corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sip");
    let mut out = Vec::new();
    for dir in ["rfc4475", "rfc5118"] {
        for e in std::fs::read_dir(root.join(dir)).expect("the shared conformance corpus") {
            let p = e.unwrap().path();
            if p.is_file() {
                out.push(std::fs::read(p).unwrap());
            }
        }
    }
    assert!(out.len() >= 60, "corpus has {} messages", out.len());
    out
}

#[test]
fn calls_complete_under_torture_and_a_stranger_flood_with_flat_memory() {
    let mut demo = Demo::start(&scratch("robust"));
    let (dir, data, sip) = (demo.dir.clone(), demo.data.clone(), demo.sip.clone());
    let pins = common::add_people(&data, CALLS);
    let pid = demo.server.pid();
    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", CALLS, 13700);
    let mut flood = sipp(
        "stranger_flood.xml",
        "127.0.0.2",
        &dir.join("flood"),
        &[
            "-p",
            &free_port().to_string(),
            "-mp",
            "13900",
            "-r",
            &FLOOD_RATE.to_string(),
            "-m",
            &FLOOD_COUNT.to_string(),
            "-l",
            "2000",
            "-trace_stat",
            "-stf",
            "stats.csv",
            "-fd",
            "1",
            &sip,
        ],
    );
    let flood_started = Instant::now();
    // Memory once the flood is under way and before the calls: the
    // baseline the flood must not grow.
    std::thread::sleep(Duration::from_secs(3));
    let baseline = rss_kib(pid);
    let mut station = demo.station(
        "station_call_pins.xml",
        CALLS,
        13800,
        &["-inf", pins.to_str().unwrap()],
    );
    // The torture corpus from the gateway address, twice over, while the
    // calls are set up.
    let torture = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let corpus = torture_corpus();
        for _ in 0..2 {
            for m in &corpus {
                let _ = s.send_to(m, &sip);
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        corpus.len() * 2
    });
    // Resident memory every half second while the flood lasts.
    let mut samples = Vec::new();
    let flood_status = loop {
        if let Some(status) = flood.try_wait().unwrap() {
            break status;
        }
        assert!(
            flood_started.elapsed() < Duration::from_secs(120),
            "the flood SIPp still runs after 120 s"
        );
        samples.push(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(500));
    };
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let sent = torture.join().unwrap();
    let station_status = wait(&mut station, Duration::from_secs(120), "station SIPp");
    let trunk_status = wait(&mut trunk_sipp, Duration::from_secs(30), "trunk SIPp");
    let after = rss_kib(pid);
    assert!(
        station_status.success(),
        "station SIPp failed: {}",
        sipp_errors(&dir.join("station"))
    );
    assert!(
        trunk_status.success(),
        "trunk SIPp failed: {}",
        sipp_errors(&dir.join("trunk"))
    );
    // The flood was refused with 403. A starved 2-core machine can drop
    // a few UDP answers (SIPp then counts that INVITE failed), so at least
    // 99% of them, counted from SIPp's statistics.
    let (refused, failed) = flood_counts(&dir.join("flood").join("stats.csv"));
    assert!(
        refused + failed >= u64::from(FLOOD_COUNT) && refused * 100 >= u64::from(FLOOD_COUNT) * 99,
        "flood SIPp ({flood_status}): {refused} INVITEs refused with 403, {failed} failed: {}",
        sipp_errors(&dir.join("flood"))
    );

    // Every real call completed and was recorded.
    let list = demo.calls();
    assert_eq!(list.len(), CALLS as usize, "{list:#?}");
    for call in list {
        assert_eq!(call["disposition"], "completed", "{call}");
        assert!(call["billable_seconds"].as_u64().unwrap() > 0, "{call}");
        let recording = call["recording_id"].as_str().expect("a recording");
        let audio = common::recording_audio(&demo.key_dir(), &data, recording);
        assert!(
            audio.len() >= 16_000,
            "recording {recording}: {} bytes",
            audio.len()
        );
    }

    // Flat memory: the last quarter of the flood holds no more than the
    // first quarter plus 1.5 MiB (the calls' own buffers come and go in
    // between), and the server ends near its baseline. A leak of 128 bytes
    // per stranger INVITE would already exceed the allowance.
    let quarter = (samples.len() / 4).max(1);
    let early = *samples[..quarter].iter().max().unwrap();
    let late = *samples[samples.len() - quarter..].iter().max().unwrap();
    let peak = *samples.iter().max().unwrap();
    eprintln!(
        "robust: {FLOOD_COUNT} stranger INVITEs in {flood_secs:.1} s, {sent} torture messages; \
         RSS KiB baseline {baseline}, early {early}, late {late}, peak {peak}, after {after}"
    );
    assert!(
        late <= early + 1536,
        "memory grew during the flood: {early} KiB early, {late} KiB late ({samples:?})"
    );
    assert!(
        after <= baseline + 8 * 1024,
        "memory after the calls: {after} KiB, baseline {baseline} KiB ({samples:?})"
    );

    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
}
