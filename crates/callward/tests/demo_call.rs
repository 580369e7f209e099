//! The README's promise, end to end: `callward serve --demo` (the real
//! binary), SIPp as station-101 entering PIN 246810 and 5551230001, SIPp as
//! the trunk answering and pressing 1; the call record appears in
//! `callward calls list` while the server runs, with a recording on disk.
//! SIPp is required (scripts/test installs sip-tester).

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, run, scratch};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../switch/tests/sipp")
        .join(name)
}

fn sipp(name: &str, port: u16, media: u16, work: &Path, target: Option<&str>) -> Child {
    std::fs::create_dir_all(work).unwrap();
    let _ = std::os::unix::fs::symlink("/usr/share/sip-tester", work.join("pcap"));
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work)
        .arg("-sf")
        .arg(scenario(name))
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &media.to_string()])
        .args([
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "90s",
            "-timeout_error",
            "-trace_err",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(t) = target {
        cmd.arg(t);
    }
    cmd.spawn()
        .expect("sipp must be installed (Debian package sip-tester)")
}

/// Waits for a child at most `limit`, killing it on timeout.
fn wait(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_demo_call_is_completed_recorded_and_listed() {
    let dir = scratch("demo-call");
    let data = dir.join("data");
    let (sip_port, trunk_port) = (free_port(), free_port());
    let sip = format!("127.0.0.1:{sip_port}");
    let trunk = format!("127.0.0.1:{trunk_port}");
    let mut server = Server::start(
        &[
            "--demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            &sip,
            "--trunk",
            &trunk,
        ],
        &dir,
    );
    server.wait_ready();

    let mut trunk_sipp = sipp(
        "trunk_answer_accept.xml",
        trunk_port,
        13300,
        &dir.join("trunk"),
        None,
    );
    let mut station = sipp(
        "station_call.xml",
        free_port(),
        13400,
        &dir.join("station"),
        Some(&sip),
    );
    let station_status = wait(&mut station, Duration::from_secs(100), "station SIPp");
    let trunk_status = wait(&mut trunk_sipp, Duration::from_secs(30), "trunk SIPp");
    assert!(
        station_status.success(),
        "station SIPp failed; server log: {:#?}",
        server.log
    );
    assert!(
        trunk_status.success(),
        "trunk SIPp failed; server log: {:#?}",
        server.log
    );

    // The record is written as the call ends; read it while serve runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    let call = loop {
        let out = run(
            &[
                "calls",
                "--data-dir",
                data.to_str().unwrap(),
                "list",
                "--json",
            ],
            &dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(first) = list.as_array().and_then(|a| a.first()) {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no call record within 10 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(call["disposition"], "completed");
    assert_eq!(call["privileged"], false);
    assert_eq!(call["number"], "+15551230001");
    assert!(call["billable_seconds"].as_u64().unwrap() > 0, "{call}");
    let recording = call["recording_id"].as_str().expect("a recording id");
    let file = data.join("recordings").join(format!("{recording}.interim"));
    let len = std::fs::metadata(&file).unwrap().len();
    assert!(len >= 32_000, "{} holds {len} bytes", file.display());

    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}

/// The call records, as `callward calls list --json` prints them.
fn calls_json(data: &Path, dir: &Path) -> Vec<serde_json::Value> {
    let out = run(
        &[
            "calls",
            "--data-dir",
            data.to_str().unwrap(),
            "list",
            "--json",
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// SIGTERM while a call is bridged: the server hangs up both legs with BYE
/// (both SIPp runs receive it and end cleanly), closes the recording and
/// stores the record as `interrupted`, hung up by the system, before it
/// exits 0.
#[test]
fn a_stop_signal_ends_calls_in_progress_cleanly() {
    let dir = scratch("stop-mid-call");
    let data = dir.join("data");
    let (sip_port, trunk_port) = (free_port(), free_port());
    let sip = format!("127.0.0.1:{sip_port}");
    let trunk = format!("127.0.0.1:{trunk_port}");
    let mut server = Server::start(
        &[
            "--demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            &sip,
            "--trunk",
            &trunk,
        ],
        &dir,
    );
    server.wait_ready();
    let mut trunk_sipp = sipp(
        "trunk_answer_accept.xml",
        trunk_port,
        13500,
        &dir.join("trunk"),
        None,
    );
    let mut station = sipp(
        "station_until_hangup.xml",
        free_port(),
        13600,
        &dir.join("station"),
        Some(&sip),
    );
    // The recording starts when the called party accepts; let both sides
    // talk a little.
    server.wait_for_within("recording", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    server.signal("TERM");
    let station_status = wait(&mut station, Duration::from_secs(20), "station SIPp");
    let trunk_status = wait(&mut trunk_sipp, Duration::from_secs(20), "trunk SIPp");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    assert!(
        station_status.success() && trunk_status.success(),
        "a leg was not hung up (station {station_status}, trunk {trunk_status}); log: {:#?}",
        server.log
    );
    let calls = calls_json(&data, &dir);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call["disposition"], "interrupted", "{call}");
    assert_eq!(call["hung_up_by"], "system", "{call}");
    assert!(call["billable_seconds"].as_u64().unwrap() >= 1, "{call}");
    let recording = call["recording_id"].as_str().expect("a recording id");
    let len = std::fs::metadata(data.join("recordings").join(format!("{recording}.interim")))
        .unwrap()
        .len();
    assert!(len >= 16_000, "recording holds {len} bytes");
}
