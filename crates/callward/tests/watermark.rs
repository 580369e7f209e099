//! The watermark end to end through the real binary: a recorded call of
//! about 75 s of speech (the committed prompt audio, both channels),
//! `recording export` by one user, the WAV re-encoded with Opus at
//! 16 kbit/s and decoded (opusenc/opusdec, as someone leaking it might),
//! then `watermark detect` names that user, the export's reason and the
//! recording; the lookup itself is logged; unmarked audio names no one;
//! a file at another rate gets a clear error.
//! opusenc and sox are required (scripts/test installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use callward_core::CallDetailRecord;
use callward_core::callflow::{Disposition, HungUpBy};
use callward_media::G711;
use callward_store::{SqliteStore, Store as _};
use callward_vault::{
    AgencyPublicKey, CallId, ChannelLayout, Codec, OsRng, RecordingMeta, RecordingWriter,
};
use common::{BIN, admin, scratch};

/// `callward ARGS --data-dir ROOT/data` from ROOT as local user `user`.
fn cw(root: &Path, user: &str, args: &[&str]) -> Output {
    let data = root.join("data");
    // `keys` takes the flag on its subcommand, the others on the group.
    let at = if args[0] == "keys" { 2 } else { 1 };
    Command::new(BIN)
        .args(&args[..at])
        .args(["--data-dir", data.to_str().unwrap()])
        .args(&args[at..])
        .current_dir(root)
        .env_remove("RUST_LOG")
        .env("USER", user)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tool(cmd: &mut Command) {
    let o = cmd
        .output()
        .expect("tool present (scripts/test installs it)");
    assert!(o.status.success(), "{cmd:?}: {}", text(&o));
}

/// Prompt speech in a fixed order with pauses: `seconds` of A-law.
fn speech_alaw(seconds: usize, skip: usize) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts/en");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "al"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names.iter().cycle().skip(skip) {
        if out.len() >= seconds * 8000 {
            break;
        }
        out.extend(std::fs::read(p).unwrap());
        // Half a second of A-law silence.
        out.extend(std::iter::repeat_n(0xd5, 4000));
    }
    out.truncate(seconds * 8000);
    out
}

/// A data dir with keys, a facility and one recorded call `call-1` of
/// 75 s of speech on both channels.
fn setup(name: &str) -> PathBuf {
    let root = scratch(name);
    let data = root.join("data");
    let init = cw(&root, "setup", &["keys", "init"]);
    assert!(init.status.success(), "{}", text(&init));
    let created = admin(
        &data,
        &[
            "facility",
            "create",
            "--name",
            "J",
            "--kind",
            "jail",
            "--adp",
            "500",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.1",
        ],
    );
    assert!(created.status.success(), "{}", text(&created));
    let listed = cw(&root, "setup", &["keys", "list", "--json"]);
    let epochs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let hex = epochs[0]["public_key"].as_str().unwrap();
    let public: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let meta = RecordingMeta {
        call_id: CallId::new("call-1").unwrap(),
        codec: Codec::Pcma,
        layout: ChannelLayout::StationOutside,
        key_epoch: 1,
    };
    let (station, outside) = (speech_alaw(75, 0), speech_alaw(75, 7));
    let audio: Vec<u8> = station
        .iter()
        .zip(&outside)
        .flat_map(|(a, b)| [*a, *b])
        .collect();
    let mut bytes = Vec::new();
    let mut rng = OsRng::new().unwrap();
    let public = AgencyPublicKey::from_bytes(&public).unwrap();
    let mut w = RecordingWriter::start(&meta, &public, &mut rng, &mut bytes).unwrap();
    w.push(&audio, &mut bytes).unwrap();
    w.finish(&mut bytes).unwrap();
    let dir = data.join("recordings");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(callward_switch::recording_path(&dir, "call-1"), bytes).unwrap();
    // From JSON, so fields added to the record later (optional ones) need
    // no change here.
    let cdr: CallDetailRecord = serde_json::from_value(serde_json::json!({
        "id": "call-1",
        "facility_id": 1,
        "station_id": 1,
        "person_id": 1,
        "number": "+15551230001",
        "privileged": false,
        "disposition": Disposition::Completed.to_string(),
        "hung_up_by": HungUpBy::Station.to_string(),
        "offered_at": "2026-11-20T10:00:00Z",
        "answered_at": "2026-11-20T10:00:10Z",
        "accepted_at": "2026-11-20T10:00:25Z",
        "ended_at": "2026-11-20T10:01:40Z",
        "billable_seconds": 75,
        "time_limit_reached": false,
        "blocked_by_called_party": false,
        "recording_id": "call-1",
        "rate_cents_per_minute": 7,
        "payer_account_id": null,
        "charge_cents": 0,
    }))
    .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
            store.record_call(&cdr).await.unwrap();
            store.close().await;
        });
    root
}

#[test]
fn an_opus_copy_of_an_export_names_who_exported_it() {
    let root = setup("watermark-e2e");
    let wav = root.join("call-1.wav");
    let exported = cw(
        &root,
        "jane.doe",
        &[
            "recording",
            "export",
            "call-1",
            "--out",
            wav.to_str().unwrap(),
            "--reason",
            "case 77 subpoena",
        ],
    );
    assert!(exported.status.success(), "{}", text(&exported));

    // The leaked copy: Opus at 16 kbit/s and back to 8 kHz WAV.
    let opus = root.join("leak.opus");
    let leaked = root.join("leak.wav");
    tool(
        Command::new("opusenc")
            .args(["--quiet", "--bitrate", "16"])
            .arg(&wav)
            .arg(&opus),
    );
    tool(
        Command::new("opusdec")
            .args(["--quiet", "--rate", "8000"])
            .arg(&opus)
            .arg(&leaked),
    );

    let found = cw(
        &root,
        "auditor.sam",
        &[
            "watermark",
            "detect",
            leaked.to_str().unwrap(),
            "--json",
            "--reason",
            "leak report 3",
        ],
    );
    assert!(found.status.success(), "{}", text(&found));
    let v: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(v["user"], "jane.doe", "{v}");
    assert_eq!(v["action"], "export");
    assert_eq!(v["object_id"], "call-1");
    assert_eq!(v["justification"], "case 77 subpoena");
    assert!(v["sync_score"].as_f64().unwrap() >= 7.0, "{v}");
    // The lookup was logged after the export's entry.
    let export_index = v["entry_index"].as_u64().unwrap();
    assert!(v["lookup_entry_index"].as_u64().unwrap() > export_index);

    // The text form names the user too.
    let plain = cw(
        &root,
        "auditor.sam",
        &["watermark", "detect", wav.to_str().unwrap()],
    );
    assert!(plain.status.success(), "{}", text(&plain));
    let out = String::from_utf8_lossy(&plain.stdout);
    assert!(out.contains("received by: jane.doe"), "{out}");
    assert!(
        out.contains(&format!("access-log entry {export_index} ")),
        "{out}"
    );

    // Both lookups are in the log, which still verifies.
    let verified = cw(&root, "auditor.sam", &["audit", "verify"]);
    assert!(verified.status.success(), "{}", text(&verified));
    let log = root.join("log.json");
    let exported_log = cw(
        &root,
        "auditor.sam",
        &["audit", "export", "--out", log.to_str().unwrap()],
    );
    assert!(exported_log.status.success(), "{}", text(&exported_log));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    let lookups = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let h = e[1].as_str()?;
            let bytes: Vec<u8> = (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            callward_audit::Entry::decode(&bytes).ok()
        })
        .filter(|e| e.object_id.starts_with("watermark detect") && e.user == "auditor.sam")
        .count();
    assert_eq!(lookups, 2);
}

#[test]
fn unmarked_audio_names_no_one_and_other_rates_are_refused() {
    let root = setup("watermark-unmarked");
    // The same speech, never exported: no mark.
    let raw = root.join("raw.al");
    std::fs::write(&raw, speech_alaw(75, 3)).unwrap();
    let plain = root.join("plain.wav");
    let mut pcm = Vec::new();
    G711::Pcma.decode_into(&std::fs::read(&raw).unwrap(), &mut pcm);
    let raw_pcm = root.join("plain.raw");
    std::fs::write(
        &raw_pcm,
        pcm.iter()
            .flat_map(|s| s.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    tool(
        Command::new("sox")
            .args([
                "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1",
            ])
            .arg(&raw_pcm)
            .arg(&plain),
    );
    let o = cw(
        &root,
        "sam",
        &["watermark", "detect", plain.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no watermark found"), "{}", text(&o));
    assert!(o.stdout.is_empty());

    let wide = root.join("wide.wav");
    tool(
        Command::new("sox")
            .arg(&plain)
            .args(["-r", "16000"])
            .arg(&wide),
    );
    let o = cw(
        &root,
        "sam",
        &["watermark", "detect", wide.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("8 kHz"), "{}", text(&o));
}

/// The mark is keyed per deployment (`<key-dir>/watermark.key`, made by
/// `keys init`, 32 bytes, 0600): a copy exported by one deployment is
/// traced there and is not found in another, which has its own key; a key
/// directory from before the key existed gets one on first use.
#[test]
fn two_deployments_marks_do_not_cross_detect() {
    use std::os::unix::fs::PermissionsExt as _;
    let (a, b) = (setup("watermark-deploy-a"), setup("watermark-deploy-b"));
    let key_of = |root: &Path| root.join("callward-keys/watermark.key");
    for root in [&a, &b] {
        let meta = std::fs::metadata(key_of(root)).expect("keys init made the watermark key");
        assert_eq!(meta.len(), 32);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert_ne!(
        std::fs::read(key_of(&a)).unwrap(),
        std::fs::read(key_of(&b)).unwrap()
    );
    let export = |root: &Path, user: &str, name: &str| {
        let wav = root.join(name);
        let o = cw(
            root,
            user,
            &[
                "recording",
                "export",
                "call-1",
                "--out",
                wav.to_str().unwrap(),
                "--reason",
                "deployment key test",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        wav
    };
    let detect = |root: &Path, wav: &Path| {
        cw(
            root,
            "auditor",
            &["watermark", "detect", wav.to_str().unwrap(), "--json"],
        )
    };
    let from_a = export(&a, "alice", "a.wav");
    let found = detect(&a, &from_a);
    assert!(found.status.success(), "{}", text(&found));
    let v: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(v["user"], "alice", "{v}");
    // In B, whose log has an export at the same index, A's copy names no one.
    let from_b = export(&b, "bob", "b.wav");
    let crossed = detect(&b, &from_a);
    assert_eq!(crossed.status.code(), Some(1), "{}", text(&crossed));
    assert!(
        text(&crossed).contains("no watermark found"),
        "{}",
        text(&crossed)
    );
    assert!(!text(&crossed).contains("bob"), "{}", text(&crossed));
    let crossed = detect(&a, &from_b);
    assert_eq!(crossed.status.code(), Some(1), "{}", text(&crossed));
    assert!(!text(&crossed).contains("alice"), "{}", text(&crossed));

    // A key directory from before the watermark key: one is made on first
    // use, and copies marked with it are traced.
    std::fs::remove_file(key_of(&b)).unwrap();
    let again = export(&b, "bob", "b2.wav");
    assert_eq!(std::fs::metadata(key_of(&b)).unwrap().len(), 32);
    let found = detect(&b, &again);
    assert!(found.status.success(), "{}", text(&found));
    let v: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(v["user"], "bob", "{v}");
    // A key file others may read is refused, as every key file is.
    std::fs::set_permissions(key_of(&b), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = detect(&b, &again);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("accessible to group or others"),
        "{}",
        text(&o)
    );
}
