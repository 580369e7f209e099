//! The README's promise, end to end: `callward serve --demo` (the real
//! binary), SIPp as station-101 entering PIN 246810 and 5551230001, SIPp as
//! the trunk answering and pressing 1; the call record appears in
//! `callward calls list` while the server runs, with a recording on disk.
//! SIPp is required (scripts/test installs sip-tester).

mod common;

use std::time::{Duration, Instant};

use common::{Demo, run, scratch, wait};

#[test]
fn a_demo_call_is_completed_recorded_and_listed() {
    let mut demo = Demo::start(&scratch("demo-call"));
    let (dir, data) = (demo.dir.clone(), demo.data.clone());
    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", 1, 13300);
    let mut station = demo.station("station_call.xml", 1, 13400, &[]);
    let station_status = wait(&mut station, Duration::from_secs(100), "station SIPp");
    let trunk_status = wait(&mut trunk_sipp, Duration::from_secs(30), "trunk SIPp");
    assert!(
        station_status.success(),
        "station SIPp failed; server log: {:#?}",
        demo.server.log
    );
    assert!(
        trunk_status.success(),
        "trunk SIPp failed; server log: {:#?}",
        demo.server.log
    );

    // The record is written as the call ends; read it while serve runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    let call = loop {
        if let Some(first) = demo.calls().first() {
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
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);

    // The recording opens only through the agency keys (serve --demo made
    // them in ./callward-keys, outside the data dir), complete, with both
    // voices.
    let audio = common::recording_audio(&demo.key_dir(), &data, recording);
    let billable = call["billable_seconds"].as_u64().unwrap();
    assert!(
        audio.len() as u64 >= billable.saturating_sub(1) * 16_000,
        "{} bytes of audio for {billable} s",
        audio.len()
    );
    let loud = common::loud_samples(&audio);
    assert!(loud[0] >= 8000, "station channel: {} loud samples", loud[0]);
    assert!(loud[1] >= 8000, "outside channel: {} loud samples", loud[1]);
    // And nothing the caller said is anywhere on disk in clear.
    let (files, runs) = common::assert_no_speech_under(&data);
    assert!(files >= 2, "only {files} files under the data dir");
    eprintln!("no clear speech: {runs} runs of SIPp's speech checked in {files} files");

    // `recording export` writes the WAV the README promises.
    let data_s = data.to_str().unwrap();
    let wav = dir.join("call.wav");
    let wav_s = wav.to_str().unwrap();
    let export = |out: &str| {
        run(
            &[
                "recording",
                "--data-dir",
                data_s,
                "export",
                call["id"].as_str().unwrap(),
                "--out",
                out,
                "--reason",
                "test: the README's export",
            ],
            &dir,
        )
    };
    let out = export(wav_s);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&wav).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(
        u16::from_le_bytes([bytes[22], bytes[23]]),
        2,
        "two channels"
    );
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 8000);
    assert_eq!(u16::from_le_bytes([bytes[34], bytes[35]]), 16, "16-bit");
    assert_eq!(
        bytes.len() - 44,
        audio.len() * 2,
        "every sample, as 16-bit PCM"
    );
    // Never over an existing file.
    let again = export(wav_s);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let verify = |args: &[&str]| {
        run(
            &[&["recording", "--data-dir", data_s, "verify"], args].concat(),
            &dir,
        )
    };
    let ok = verify(&["--all"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("1 recordings checked, 0 bad"));

    // Flipping any byte (header fields, wrapped key, salt, commitment, a
    // chunk, the final tag) makes export fail, naming the recording, and
    // writes nothing; verify reports it.
    let file = data.join("recordings").join(format!("{recording}.cwrec"));
    let original = std::fs::read(&file).unwrap();
    let header_len = usize::from(u16::from_be_bytes([original[9], original[10]]));
    let n = original.len();
    for at in [
        0,
        8,
        10,
        17,
        19,
        25,
        31,
        33,
        header_len - 50,
        header_len - 1,
        header_len + 5,
        header_len + 40,
        header_len + 56 + 100,
        n / 2,
        n - 17,
        n - 1,
    ] {
        let mut bad = original.clone();
        bad[at] ^= 0x01;
        std::fs::write(&file, &bad).unwrap();
        let target = dir.join(format!("bad-{at}.wav"));
        let out = export(target.to_str().unwrap());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "byte {at} flipped, export succeeded");
        assert!(
            err.contains(recording),
            "byte {at}: error does not name the recording: {err}"
        );
        assert!(!target.exists(), "byte {at}: a file was written");
        let v = verify(&["--all"]);
        assert!(!v.status.success(), "byte {at}: verify passed");
        assert!(
            String::from_utf8_lossy(&v.stdout).contains(&format!("BAD {recording}")),
            "byte {at}"
        );
    }
    std::fs::write(&file, &original).unwrap();
    assert!(verify(&[call["id"].as_str().unwrap()]).status.success());
}

/// SIGTERM while a call is bridged: the server hangs up both legs with BYE
/// (both SIPp runs receive it and end cleanly), closes the recording and
/// stores the record as `interrupted`, hung up by the system, before it
/// exits 0.
#[test]
fn a_stop_signal_ends_calls_in_progress_cleanly() {
    let mut demo = Demo::start(&scratch("stop-mid-call"));
    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", 1, 13500);
    let mut station = demo.station("station_until_hangup.xml", 1, 13600, &[]);
    // The recording starts when the called party accepts; let both sides
    // talk a little.
    demo.server
        .wait_for_within("recording", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    demo.server.signal("TERM");
    let station_status = wait(&mut station, Duration::from_secs(20), "station SIPp");
    let trunk_status = wait(&mut trunk_sipp, Duration::from_secs(20), "trunk SIPp");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    assert!(
        station_status.success() && trunk_status.success(),
        "a leg was not hung up (station {station_status}, trunk {trunk_status}); log: {:#?}",
        demo.server.log
    );
    let calls = demo.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call["disposition"], "interrupted", "{call}");
    assert_eq!(call["hung_up_by"], "system", "{call}");
    assert!(call["billable_seconds"].as_u64().unwrap() >= 1, "{call}");
    // The recording was finished, not cut: it opens complete.
    let recording = call["recording_id"].as_str().expect("a recording id");
    let audio = common::recording_audio(&demo.key_dir(), &demo.data, recording);
    assert!(
        audio.len() >= 16_000,
        "recording holds {} bytes",
        audio.len()
    );
}

/// `[sip] max_calls` is the cap: with 1, a second station call while the
/// first is carried is answered 503 at once (SIPp's scenario expects it),
/// and only the first call has a record.
#[test]
fn a_call_over_the_configured_cap_is_answered_503() {
    let dir = scratch("call-cap");
    let config = dir.join("callward.toml");
    std::fs::write(&config, "[sip]\nmax_calls = 1\n").unwrap();
    let mut demo = Demo::start_with(&dir, &["--config", config.to_str().unwrap()]);
    // The first call rings the trunk, which answers and accepts, and stays
    // up until the server stops it.
    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", 1, 15200);
    let mut first = demo.station("station_until_hangup.xml", 1, 15300, &[]);
    demo.server
        .wait_for_within("recording", Duration::from_secs(60));
    let mut busy = demo.station("station_busy.xml", 1, 15700, &[]);
    let busy_status = wait(&mut busy, Duration::from_secs(20), "busy station SIPp");
    assert!(
        busy_status.success(),
        "the second call was not answered 503 ({busy_status}); log: {:#?}",
        demo.server.log
    );
    demo.server.signal("TERM");
    let _ = wait(&mut first, Duration::from_secs(20), "station SIPp");
    let _ = wait(&mut trunk_sipp, Duration::from_secs(20), "trunk SIPp");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    assert_eq!(demo.calls().len(), 1, "only the carried call has a record");
}
