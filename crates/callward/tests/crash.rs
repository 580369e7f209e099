//! Crash safety through the real binary: `callward serve` is killed with
//! SIGKILL while 20 recorded calls talk, then started again on the same
//! data dir. Every call gets its record as `interrupted`, every recording
//! is re-sealed as a complete container that decrypts up to about a second
//! before the kill, and nothing is left half-written.

mod common;

use std::time::{Duration, Instant};

use common::Demo;

const CALLS: u32 = 20;

#[test]
fn sigkill_during_twenty_recorded_calls_loses_at_most_about_a_second() {
    let mut demo = Demo::start(&common::scratch("crash"));
    let pins = common::add_people(&demo.data, CALLS);
    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", CALLS, 15000);
    let mut station = demo.station(
        "station_call_pins.xml",
        CALLS,
        15200,
        &["-inf", pins.to_str().unwrap()],
    );
    // Every call bridged and recording, then a few seconds of talk.
    let deadline = Instant::now() + Duration::from_secs(120);
    for bridged in 0..CALLS {
        let left = deadline.saturating_duration_since(Instant::now());
        if demo.server.try_wait_for("recording", left).is_none() {
            let problems: Vec<&String> = demo
                .server
                .log
                .iter()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            panic!(
                "only {bridged} of {CALLS} calls bridged within 120 s\nserver warnings: {problems:#?}\nstation SIPp: {}\ntrunk SIPp: {}",
                common::sipp_errors(&demo.dir.join("station")),
                common::sipp_errors(&demo.dir.join("trunk"))
            );
        }
    }
    std::thread::sleep(Duration::from_secs(4));
    let killed_at = jiff::Timestamp::now();
    demo.server.signal("KILL");
    let status = demo.server.wait_exit();
    assert!(!status.success(), "SIGKILL ends the server: {status:?}");
    // The phones are left hanging; stop them.
    let _ = station.kill();
    let _ = trunk_sipp.kill();
    let _ = station.wait();
    let _ = trunk_sipp.wait();

    // The crash came mid-call: one recording file per call, none finished.
    let recordings = demo.data.join("recordings");
    let before: Vec<_> = std::fs::read_dir(&recordings).unwrap().collect();
    assert_eq!(before.len(), CALLS as usize, "one recording per call");

    let started = Instant::now();
    demo.restart();
    let recovered = demo
        .server
        .wait_for("calls interrupted by a crash recorded");
    assert_eq!(recovered["calls"], CALLS);
    demo.server.wait_ready();
    eprintln!("recovery of {CALLS} calls took {:?}", started.elapsed());

    let list = demo.calls();
    assert_eq!(list.len(), CALLS as usize);
    let keys = demo.key_dir();
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
        let audio = common::recording_audio(&keys, &demo.data, id);
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
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    demo.restart();
    demo.server.wait_ready();
    assert!(
        !demo
            .server
            .log
            .iter()
            .any(|l| l.contains("calls interrupted by a crash recorded")),
        "{:#?}",
        demo.server.log
    );
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success());
}
