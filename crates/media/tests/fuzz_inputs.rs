//! The fuzz seeds (and any crash inputs saved under `fuzz/regressions/`)
//! run through the library as ordinary tests, with the fuzz targets'
//! invariants, so they keep passing without the fuzz toolchain.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callward_media::rtcp::RtcpCompound;
use callward_media::{RtpPacket, TelephoneEventConfig, TelephoneEventReceiver};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}

/// The rfc4733 target's record format: [gap_ms / 4, len, datagram].
fn digits_of(data: &[u8]) -> String {
    let mut now = Instant::now();
    let mut rx = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
    let mut rest = data;
    let mut digits = String::new();
    while rest.len() >= 2 {
        let len = usize::from(rest[1]).min(rest.len() - 2);
        now += Duration::from_millis(u64::from(rest[0]) * 4);
        if let Ok(p) = RtpPacket::parse(&rest[2..2 + len]) {
            rx.handle_rtp(now, &p);
        }
        rest = &rest[2 + len..];
        rx.handle_timeout(now);
        digits.extend(std::iter::from_fn(|| rx.poll_event()).map(|e| e.digit.as_char()));
    }
    rx.handle_timeout(now + Duration::from_secs(1));
    digits.extend(std::iter::from_fn(|| rx.poll_event()).map(|e| e.digit.as_char()));
    digits
}

#[test]
fn rtp_inputs_round_trip() {
    let all = inputs("rtp");
    assert!(all.len() >= 3);
    for (path, bytes) in all {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            let csrcs: Vec<u32> = p.csrcs().collect();
            let mut out = Vec::new();
            p.header()
                .write_full(&csrcs, p.extension, p.payload, p.padding, &mut out)
                .unwrap();
            assert_eq!(RtpPacket::parse(&out).unwrap(), p, "{}", path.display());
        }
    }
}

#[test]
fn rtcp_seeds_parse() {
    let all = inputs("rtcp");
    assert!(all.len() >= 2);
    for (path, bytes) in all {
        let ok = RtcpCompound::parse(&bytes).map(|c| c.packets().count());
        if path.to_string_lossy().contains("/seeds/") {
            assert!(ok.unwrap() >= 1, "{}", path.display());
        }
    }
}

#[test]
fn rfc4733_seed_counts_replay_once_and_closes_lost_end() {
    let all = inputs("rfc4733");
    let seed = all
        .iter()
        .find(|(p, _)| p.ends_with("sipp-replay-and-lost-end"))
        .expect("seed present");
    // A 5 sent SIPp-style, the same capture replayed (a retransmission), then
    // a # whose end packets never come.
    assert_eq!(digits_of(&seed.1), "5#");
    for (_, bytes) in &all {
        let _ = digits_of(bytes);
    }
}

#[test]
fn dtmf_info_inputs() {
    let all = inputs("dtmf_info");
    assert!(all.len() >= 2);
    for (path, bytes) in all {
        let Some((&pick, body)) = bytes.split_first() else {
            continue;
        };
        let ct = match pick % 4 {
            0 => "application/dtmf-relay",
            1 => "application/dtmf",
            2 => "Application/DTMF-Relay; charset=utf-8",
            _ => std::str::from_utf8(body).unwrap_or("text/plain"),
        };
        let got = callward_media::parse_dtmf_info(ct, body);
        if path.ends_with("relay") {
            assert_eq!(got.unwrap().digit.as_char(), '5');
        } else if path.ends_with("dtmf") {
            assert_eq!(got.unwrap().digit.as_char(), '#');
        }
    }
}
