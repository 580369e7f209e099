//! Crash safety through the real binary: `callward serve` is killed with
//! SIGKILL while 20 recorded calls talk, then started again on the same
//! data dir. Every call gets its record as `interrupted`, every recording
//! is re-sealed as a complete container that decrypts up to about a second
//! before the kill, and nothing is left half-written.

mod common;

use std::time::{Duration, Instant};

use common::{Server, free_port, run, scratch, sipp};

const CALLS: u32 = 20;

fn serve_args<'a>(data: &'a str, sip: &'a str, trunk: &'a str) -> Vec<&'a str> {
    vec![
        "--demo",
        "--data-dir",
        data,
        "--http-listen",
        "127.0.0.1:0",
        "--sip-listen",
        sip,
        "--trunk",
        trunk,
    ]
}

#[test]
fn sigkill_during_twenty_recorded_calls_loses_at_most_about_a_second() {
    let dir = scratch("crash");
    let data = dir.join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let (sip_port, trunk_port) = (free_port(), free_port());
    let sip = format!("127.0.0.1:{sip_port}");
    let trunk = format!("127.0.0.1:{trunk_port}");
    let mut server = Server::start(&serve_args(&data_s, &sip, &trunk), &dir);
    server.wait_ready();
    let pins = common::add_people(&data, CALLS);
    let calls = CALLS.to_string();
    let mut trunk_sipp = sipp(
        "trunk_answer_accept.xml",
        "127.0.0.1",
        &dir.join("trunk"),
        &["-p", &trunk_port.to_string(), "-mp", "15000", "-m", &calls],
    );
    let mut station = sipp(
        "station_call_pins.xml",
        "127.0.0.1",
        &dir.join("station"),
        &[
            "-p",
            &free_port().to_string(),
            "-mp",
            "15200",
            "-m",
            &calls,
            "-l",
            &calls,
            "-r",
            &calls,
            "-inf",
            pins.to_str().unwrap(),
            &sip,
        ],
    );
    // Every call bridged and recording, then a few seconds of talk.
    for _ in 0..CALLS {
        server.wait_for_within("recording", Duration::from_secs(90));
    }
    std::thread::sleep(Duration::from_secs(4));
    let killed_at = jiff::Timestamp::now();
    server.signal("KILL");
    let status = server.wait_exit();
    assert!(!status.success(), "SIGKILL ends the server: {status:?}");
    // The phones are left hanging; stop them.
    let _ = station.kill();
    let _ = trunk_sipp.kill();
    let _ = station.wait();
    let _ = trunk_sipp.wait();

    // The crash came mid-call: one recording file per call, none finished.
    let recordings = data.join("recordings");
    let before: Vec<_> = std::fs::read_dir(&recordings).unwrap().collect();
    assert_eq!(before.len(), CALLS as usize, "one recording per call");

    let started = Instant::now();
    let mut server = Server::start(&serve_args(&data_s, &sip, &trunk), &dir);
    let recovered = server.wait_for("calls interrupted by a crash recorded");
    assert_eq!(recovered["calls"], CALLS);
    server.wait_ready();
    eprintln!("recovery of {CALLS} calls took {:?}", started.elapsed());

    let out = run(&["calls", "--data-dir", &data_s, "list", "--json"], &dir);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), CALLS as usize);
    let keys = dir.join("callward-keys");
    let mut lost = Vec::new();
    for call in list {
        assert_eq!(call["disposition"], "interrupted", "{call}");
        assert_eq!(call["hung_up_by"], "system", "{call}");
        let accepted: jiff::Timestamp = call["accepted_at"].as_str().unwrap().parse().unwrap();
        let ended: jiff::Timestamp = call["ended_at"].as_str().unwrap().parse().unwrap();
        // Ended at the last journal refresh before the kill: never after it.
        assert!(ended <= killed_at, "{call}");
        let talked = killed_at.duration_since(accepted).as_secs_f64();
        let id = call["recording_id"].as_str().expect("a recording");
        let audio = common::recording_audio(&keys, &data, id);
        let recorded = audio.len() as f64 / 16_000.0;
        lost.push(talked - recorded);
        assert!(
            recorded >= talked - 2.0 && recorded <= talked + 0.5,
            "{id}: {recorded:.2} s recorded of {talked:.2} s talked before the kill"
        );
    }
    lost.sort_by(f64::total_cmp);
    eprintln!(
        "audio lost to the kill per call: min {:.2} s, median {:.2} s, max {:.2} s",
        lost[0],
        lost[lost.len() / 2],
        lost[lost.len() - 1]
    );
    // Nothing half-written: exactly the 20 recordings, each complete.
    let files: Vec<_> = std::fs::read_dir(&recordings)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), CALLS as usize, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "cwrec")),
        "{files:?}"
    );

    // A second restart finds nothing more to recover.
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    let mut server = Server::start(&serve_args(&data_s, &sip, &trunk), &dir);
    server.wait_ready();
    assert!(
        !server
            .log
            .iter()
            .any(|l| l.contains("calls interrupted by a crash recorded")),
        "{:#?}",
        server.log
    );
    server.signal("TERM");
    assert!(server.wait_exit().success());
}
