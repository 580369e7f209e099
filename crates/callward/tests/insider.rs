//! The insider test (issue 7, item 8) through the real binary: an
//! investigator, signed in once (a session kept in a file) with an open
//! case, runs a script that tries to export 1,000 recordings, spread over
//! three recorded calls that SIPp placed through `serve --demo` (the same
//! recording asked for again counts again). With the agency's daily quota
//! set to Q = 5 for speed (the default is 50), it gets exactly 5 WAVs, then
//! 995 refusals, each with a `refused` entry, and `alert` entries naming it;
//! `watermark detect` on every copy it received names that investigator and
//! no one else (a copy the local operator exported earlier names the
//! operator). SIPp, opusenc-free: only sipp (scripts/test installs it).

mod access_site;
mod common;

use std::time::{Duration, Instant};

use access_site::{Site, text};
use callward_audit::Action;
use common::{Demo, add_people, scratch, wait};

const QUOTA: usize = 5;
const ATTEMPTS: usize = 1000;
const CALLS: u32 = 3;

#[test]
fn an_investigator_pulling_1000_recordings_gets_the_quota_and_is_traced() {
    let dir = scratch("insider");
    let mut demo = Demo::start(&dir);
    let pins = add_people(&demo.data, CALLS);
    let mut trunk = demo.trunk("trunk_answer_accept.xml", CALLS, 12100);
    let mut station = demo.station(
        "station_call_pins.xml",
        CALLS,
        12200,
        &["-inf", pins.to_str().unwrap()],
    );
    let station_ok = wait(&mut station, Duration::from_secs(120), "station SIPp");
    let trunk_ok = wait(&mut trunk, Duration::from_secs(30), "trunk SIPp");
    assert!(
        station_ok.success() && trunk_ok.success(),
        "SIPp failed; server log: {:#?}",
        demo.server.log
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let recordings: Vec<String> = loop {
        let ids: Vec<String> = demo
            .calls()
            .iter()
            .filter_map(|c| c["recording_id"].as_str().map(str::to_owned))
            .collect();
        if ids.len() == CALLS as usize {
            break ids;
        }
        assert!(Instant::now() < deadline, "recordings: {ids:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);

    let mut site = Site::at(&dir, &demo.data, &demo.key_dir());
    let out = site.run(
        "admin",
        &["agency", "set-quota", "1", "--daily", "5", "--bulk", "10"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    // The demo investigator, enrolled for TOTP by an admin.
    let out = site.run("admin", &["user", "reset-totp", "investigator"], "");
    assert!(out.status.success(), "{}", text(&out));
    let secret = access_site::secret_from(&out);
    let password = "demo-investigator";
    let creds = site.creds("investigator", &secret, password);
    let out = site.run(
        "case",
        &[
            "--user",
            "investigator",
            "open",
            "--title",
            "Contraband ring",
            "--justification",
            "calls arranging contraband deliveries",
        ],
        &creds,
    );
    assert!(out.status.success(), "{}", text(&out));

    // Someone else's copy first: the local operator's.
    let ops_wav = dir.join("ops.wav");
    let out = site.run(
        "recording",
        &[
            "export",
            &recordings[0],
            "--out",
            ops_wav.to_str().unwrap(),
            "--reason",
            "operator check",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));

    // The script: 1,000 exports, signed in once.
    let session = dir.join("investigator.session");
    let first_creds = site.creds("investigator", &secret, password);
    let started = Instant::now();
    let (mut got, mut refused) = (Vec::new(), 0usize);
    let (mut ok_time, mut refused_time) = (Duration::ZERO, Duration::ZERO);
    for i in 0..ATTEMPTS {
        let recording = &recordings[i % recordings.len()];
        let wav = dir.join(format!("pull-{i:04}.wav"));
        let stdin = if i == 0 { first_creds.as_str() } else { "" };
        let t = Instant::now();
        let out = site.run(
            "recording",
            &[
                "export",
                recording,
                "--out",
                wav.to_str().unwrap(),
                "--reason",
                "case work",
                "--user",
                "investigator",
                "--case",
                "1",
                "--session-file",
                session.to_str().unwrap(),
            ],
            stdin,
        );
        if out.status.success() {
            ok_time += t.elapsed();
            assert!(wav.exists(), "{}", text(&out));
            got.push(wav);
        } else {
            refused_time += t.elapsed();
            refused += 1;
            let err = text(&out);
            assert!(
                err.contains("refused: over quota: 5 recordings released in the last 24 hours"),
                "attempt {i}: {err}"
            );
            assert!(!wav.exists(), "attempt {i} wrote a file");
        }
    }
    let wall = started.elapsed();
    eprintln!(
        "{ATTEMPTS} attempts in {:.1} s: {} released (mean {:.0} ms), {refused} refused (mean {:.0} ms)",
        wall.as_secs_f64(),
        got.len(),
        ok_time.as_secs_f64() * 1000.0 / got.len().max(1) as f64,
        refused_time.as_secs_f64() * 1000.0 / refused.max(1) as f64,
    );
    assert_eq!(got.len(), QUOTA, "exactly the quota is released");
    assert_eq!(refused, ATTEMPTS - QUOTA);
    // The quota stops the script at once: the first 5 attempts got through.
    for (i, wav) in got.iter().enumerate() {
        assert!(wav.ends_with(format!("pull-{i:04}.wav")), "{wav:?}");
    }

    // The log: one sign-in, 5 exports, 995 refusals, alerts naming it.
    let log = site.log();
    let by_inv = |a: Action| {
        log.iter()
            .filter(|e| e.action == a && e.user == "investigator")
            .count()
    };
    assert_eq!(by_inv(Action::Login), 2, "the case, then the script, once");
    assert_eq!(by_inv(Action::Export), QUOTA);
    assert_eq!(by_inv(Action::Refused), ATTEMPTS - QUOTA);
    assert!(by_inv(Action::Alert) >= 1);
    assert!(
        log.iter()
            .filter(|e| e.action == Action::Alert)
            .all(|e| e.object_id == "investigator" && e.justification.starts_with("quota: ")),
        "alerts name the investigator"
    );
    let export_entries: Vec<u64> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| e.action == Action::Export && e.user == "investigator")
        .map(|(i, _)| i as u64)
        .collect();

    // Every copy it received names it, each by its own export entry.
    let detect = |wav: &std::path::Path| {
        let out = site.run(
            "watermark",
            &[
                "detect",
                wav.to_str().unwrap(),
                "--json",
                "--reason",
                "leak check",
            ],
            "",
        );
        assert!(out.status.success(), "{}: {}", wav.display(), text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let mut traced = Vec::new();
    for wav in &got {
        let found = detect(wav);
        assert_eq!(found["user"], "investigator", "{found}");
        assert_eq!(found["case_id"], "1", "{found}");
        traced.push(found["entry_index"].as_u64().unwrap());
    }
    assert_eq!(traced, export_entries, "each copy names its own export");
    let ops = detect(&ops_wav);
    assert_ne!(ops["user"], "investigator", "{ops}");
    assert_eq!(ops["role"], "local operator", "{ops}");
}
