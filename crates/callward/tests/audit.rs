//! The access log through the real binary: reads are logged first (and
//! fail, releasing nothing, when the log cannot be written), a recording is
//! exported only through the log-gated key path, and `audit verify` names
//! the position of a row edited, deleted, reordered or inserted in the
//! SQLite file; `audit export`, offline verify and `audit witness`.

mod common;

use std::path::{Path, PathBuf};

use callward_core::callflow::{Disposition, HungUpBy};
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId, StationId};
use callward_store::{SqliteStore, Store as _};
use callward_vault::{
    AgencyPublicKey, CallId, ChannelLayout, Codec, OsRng, RecordingMeta, RecordingWriter,
};
use common::{admin, run, scratch};
use jiff::{SignedDuration, Timestamp};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// `callward ARGS` run from `root`, whose `data` and `callward-keys` are
/// the defaults' stand-ins.
fn cw(root: &Path, args: &[&str]) -> std::process::Output {
    let data = root.join("data");
    let mut full: Vec<&str> = Vec::new();
    let (head, rest) = args.split_at(1);
    full.extend_from_slice(head);
    full.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
    full.extend_from_slice(rest);
    run(&full, root)
}

/// A data dir with a facility, agency and log keys, and one recorded call
/// `call-1` whose recording is on disk.
fn setup(name: &str) -> PathBuf {
    let root = scratch(name);
    let data = root.join("data");
    ok(run(
        &["keys", "init", "--data-dir", data.to_str().unwrap()],
        &root,
    ));
    assert!(
        admin(
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
        )
        .status
        .success()
    );
    let epochs: serde_json::Value = serde_json::from_str(&ok(run(
        &[
            "keys",
            "list",
            "--json",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &root,
    )))
    .unwrap();
    let public: Vec<u8> = (0..32)
        .map(|i| {
            u8::from_str_radix(
                &epochs[0]["public_key"].as_str().unwrap()[2 * i..2 * i + 2],
                16,
            )
            .unwrap()
        })
        .collect();
    let meta = RecordingMeta {
        call_id: CallId::new("call-1").unwrap(),
        codec: Codec::Pcma,
        layout: ChannelLayout::StationOutside,
        key_epoch: 1,
    };
    let mut bytes = Vec::new();
    let mut rng = OsRng::new().unwrap();
    let public = AgencyPublicKey::from_bytes(&public).unwrap();
    let mut w = RecordingWriter::start(&meta, &public, &mut rng, &mut bytes).unwrap();
    w.push(&[0xd5; 8000], &mut bytes).unwrap();
    w.finish(&mut bytes).unwrap();
    let dir = data.join("recordings");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(callward_switch::recording_path(&dir, "call-1"), bytes).unwrap();
    let t0: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
    let cdr = CallDetailRecord {
        id: "call-1".into(),
        facility_id: FacilityId(1),
        station_id: StationId(1),
        person_id: Some(PersonId(1)),
        number: Some(E164Number::parse("+15551230001").unwrap()),
        privileged: false,
        disposition: Disposition::Completed,
        hung_up_by: HungUpBy::Station,
        offered_at: t0,
        answered_at: Some(t0 + SignedDuration::from_secs(10)),
        accepted_at: Some(t0 + SignedDuration::from_secs(25)),
        ended_at: t0 + SignedDuration::from_secs(145),
        billable_seconds: 120,
        time_limit_reached: false,
        limit: None,
        blocked_by_called_party: false,
        recording_id: Some("call-1".into()),
        rate_cents_per_minute: Some(7),
        payer_account_id: None,
        charge_cents: 0,
    };
    runtime().block_on(async {
        let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
        store.record_call(&cdr).await.unwrap();
        store.close().await;
    });
    root
}

/// Runs SQL on the data dir's database, as someone with write access to
/// the file could.
fn sql(root: &Path, statements: &[&str]) {
    let db = root.join("data/callward.db");
    runtime().block_on(async {
        let url = format!("sqlite://{}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for s in statements {
            // Fixed statements written in this file.
            sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    });
}

fn verify(root: &Path) -> (Option<i32>, String) {
    let o = cw(root, &["audit", "verify"]);
    (o.status.code(), out(&o))
}

#[test]
fn reads_are_logged_first_and_an_export_is_released_through_the_log() {
    let root = setup("audit-logged-first");
    let (code, text) = verify(&root);
    assert_eq!(code, Some(0), "{text}");
    // The facility's creation, logged first.
    assert!(text.contains("OK: 1 entries"), "{text}");

    ok(cw(&root, &["calls", "list"]));
    ok(cw(
        &root,
        &["calls", "show", "call-1", "--reason", "case 42"],
    ));
    let wav = root.join("call-1.wav");
    ok(cw(
        &root,
        &[
            "recording",
            "export",
            "call-1",
            "--out",
            wav.to_str().unwrap(),
            "--reason",
            "subpoena 7",
        ],
    ));
    assert_eq!(std::fs::metadata(&wav).unwrap().len(), 44 + 4 * 4000);
    // The key service kept the checkpoint it admitted.
    let seen = std::fs::read_to_string(root.join("callward-keys/audit.seen")).unwrap();
    assert!(seen.contains("\n4\n"), "{seen}");

    let (code, text) = verify(&root);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("OK: 4 entries, 4 checkpoints"), "{text}");

    // What was logged, from an export.
    let export = root.join("log.json");
    ok(cw(
        &root,
        &["audit", "export", "--out", export.to_str().unwrap()],
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let entries: Vec<Vec<u8>> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let h = e[1].as_str().unwrap();
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    let decoded: Vec<_> = entries
        .iter()
        .map(|e| callward_audit::Entry::decode(e).unwrap())
        .collect();
    assert_eq!(decoded[0].action, callward_audit::Action::AdminChange);
    assert_eq!(decoded[0].object_kind, callward_audit::ObjectKind::Facility);
    let decoded = &decoded[1..];
    assert_eq!(decoded[0].action, callward_audit::Action::Search);
    assert_eq!(decoded[1].action, callward_audit::Action::View);
    assert_eq!(decoded[1].object_id, "call-1");
    assert_eq!(decoded[1].justification, "case 42");
    assert_eq!(decoded[2].action, callward_audit::Action::Export);
    assert_eq!(
        decoded[2].object_kind,
        callward_audit::ObjectKind::Recording
    );
    assert_eq!(decoded[2].justification, "subpoena 7");
    assert!(!decoded[2].user.is_empty());
}

#[test]
fn when_the_log_cannot_be_written_nothing_is_released() {
    let root = setup("audit-unwritable");
    sql(
        &root,
        &[
            "CREATE TRIGGER full BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        ],
    );
    for args in [
        &["calls", "show", "call-1"][..],
        &["calls", "list", "--json"][..],
    ] {
        let o = cw(&root, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(out(&o).is_empty(), "{args:?} printed {}", out(&o));
        assert!(
            err(&o).contains("cannot write the audit log"),
            "{}",
            err(&o)
        );
    }
    let wav = root.join("call-1.wav");
    let o = cw(
        &root,
        &[
            "recording",
            "export",
            "call-1",
            "--out",
            wav.to_str().unwrap(),
            "--reason",
            "subpoena 7",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("cannot write the audit log"),
        "{}",
        err(&o)
    );
    assert!(!wav.exists());
    assert!(
        !root.join("callward-keys/audit.seen").exists(),
        "no key asked for"
    );
}

/// A log of 6 entries (the facility's creation and 5 reads), then each
/// tampering on its own copy.
#[test]
fn verify_names_the_row_edited_deleted_reordered_or_inserted() {
    let base = setup("audit-tamper");
    for i in 0..5 {
        ok(cw(
            &base,
            &["calls", "show", "call-1", "--reason", &format!("r{i}")],
        ));
    }
    let (code, text) = verify(&base);
    assert_eq!(code, Some(0), "{text}");
    let drop_triggers = "DROP TRIGGER audit_entries_no_update";
    let cases: [(&str, Vec<&str>, &str); 5] = [
        (
            "edit",
            vec![
                drop_triggers,
                "UPDATE audit_entries SET entry = substr(entry, 1, length(entry) - 1) || x'21' WHERE idx = 3",
            ],
            "FAIL: entry 3: hash differs from its stored leaf hash",
        ),
        (
            "delete",
            vec![
                "DROP TRIGGER audit_entries_no_delete",
                "DELETE FROM audit_entries WHERE idx = 3",
            ],
            "FAIL: entry 3: missing",
        ),
        (
            "reorder",
            vec![
                drop_triggers,
                "UPDATE audit_entries SET idx = 100 WHERE idx = 2",
                "UPDATE audit_entries SET idx = 2 WHERE idx = 3",
                "UPDATE audit_entries SET idx = 3 WHERE idx = 100",
            ],
            "FAIL: entry 2: hash differs from its stored leaf hash",
        ),
        (
            "insert",
            vec![
                drop_triggers,
                "UPDATE audit_entries SET idx = 6 WHERE idx = 5",
                "UPDATE audit_entries SET idx = 5 WHERE idx = 4",
                "UPDATE audit_entries SET idx = 4 WHERE idx = 3",
                "INSERT INTO audit_entries (idx, entry) SELECT 3, entry FROM audit_entries WHERE idx = 0",
            ],
            "FAIL: entry 3: hash differs from its stored leaf hash",
        ),
        (
            "append",
            vec![
                "INSERT INTO audit_entries (idx, entry) SELECT 6, entry FROM audit_entries WHERE idx = 0",
            ],
            "FAIL: entry 6: beyond the latest signed checkpoint",
        ),
    ];
    for (name, statements, expect) in cases {
        let root = scratch(&format!("audit-tamper-{name}"));
        copy_dir(&base, &root);
        sql(&root, &statements);
        let (code, text) = verify(&root);
        assert_eq!(code, Some(1), "{name}: {text}");
        assert_eq!(text.trim(), expect, "{name}");
    }
}

#[test]
fn offline_verify_and_witness_refuse_a_rewritten_log() {
    let root = setup("audit-witness");
    // 3 entries: the facility's creation and 2 reads.
    for i in 0..2 {
        ok(cw(
            &root,
            &["calls", "show", "call-1", "--reason", &format!("r{i}")],
        ));
    }
    let export = |name: &str| {
        let p = root.join(name);
        ok(cw(
            &root,
            &["audit", "export", "--out", p.to_str().unwrap()],
        ));
        p
    };
    let latest = |log: &Path, name: &str| {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(log).unwrap()).unwrap();
        let cps = json["checkpoints"].as_array().unwrap();
        let p = root.join(name);
        std::fs::write(&p, cps.last().unwrap()[1].as_str().unwrap()).unwrap();
        p
    };
    let log3 = export("log3.json");
    let cp3 = latest(&log3, "cp3");
    let o = cw(
        &root,
        &[
            "audit",
            "verify",
            "--log",
            log3.to_str().unwrap(),
            "--checkpoint",
            cp3.to_str().unwrap(),
        ],
    );
    assert!(ok(o).contains("checkpoint at size 3 matches"));

    let state = root.join("witness");
    let s = state.to_str().unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = now();
    let cosigned = ok(cw(
        &root,
        &[
            "audit",
            "witness",
            "--state",
            s,
            "--checkpoint",
            cp3.to_str().unwrap(),
        ],
    ));
    let after = now();
    assert!(
        cosigned.contains("\u{2014} callward-witness "),
        "{cosigned}"
    );
    assert_eq!(cosigned.matches('\u{2014}').count(), 2, "{cosigned}");
    // The log's signature verifies under audit.vkey; the witness's is a
    // C2SP tlog-cosignature v1 under the key it published in its state
    // dir (type 0x04), timestamped now; neither over other text.
    let cosigned = format!("{}\n", cosigned.trim_end());
    let log_key = callward_audit::VerifierKey::parse(
        std::fs::read_to_string(root.join("callward-keys/audit.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let witness_key = callward_audit::CosignatureVerifier::parse(
        std::fs::read_to_string(state.join("witness.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let opened = callward_audit::note::open(&cosigned, std::slice::from_ref(&log_key)).unwrap();
    assert_eq!(opened.verified_by, vec![log_key.name()]);
    let time = witness_key.verify(&cosigned).unwrap().time;
    assert!(
        (before..=after).contains(&time),
        "{before} <= {time} <= {after}"
    );
    let forged = cosigned.replacen("\n3\n", "\n4\n", 1);
    assert_ne!(forged, cosigned);
    assert_eq!(
        witness_key.verify(&forged),
        Err(callward_audit::CosignatureError::BadSignature)
    );
    // The state keeps the checkpoint as cosigned.
    assert_eq!(
        std::fs::read_to_string(state.join("checkpoint")).unwrap(),
        cosigned
    );

    for i in 3..5 {
        ok(cw(
            &root,
            &["calls", "show", "call-1", "--reason", &format!("r{i}")],
        ));
    }
    let log5 = export("log5.json");
    let cp5 = latest(&log5, "cp5");
    let cosigned5 = ok(cw(
        &root,
        &[
            "audit",
            "witness",
            "--state",
            s,
            "--checkpoint",
            cp5.to_str().unwrap(),
            "--log",
            log5.to_str().unwrap(),
        ],
    ));
    let time5 = witness_key
        .verify(&format!("{}\n", cosigned5.trim_end()))
        .unwrap()
        .time;
    assert!(time5 >= time, "a later cosignature is not dated earlier");
    // The size-3 cosignature does not cosign size 5.
    let line3 = cosigned.lines().last().unwrap();
    let moved = format!(
        "{}\n{line3}\n",
        std::fs::read_to_string(&cp5).unwrap().trim_end()
    );
    assert_eq!(
        witness_key.verify(&moved),
        Err(callward_audit::CosignatureError::BadSignature)
    );
    // Stale: the witness has seen size 5.
    let o = cw(
        &root,
        &[
            "audit",
            "witness",
            "--state",
            s,
            "--checkpoint",
            cp3.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).contains("older than the last one accepted"),
        "{}",
        out(&o)
    );

    // The operator rewrites entry 1 and rebuilds the log from there with the
    // log key (they hold it): every row and checkpoint re-signed, so verify
    // alone passes; the witness, holding size 5, refuses the new head.
    let forked = scratch("audit-witness-fork");
    copy_dir(&root, &forked);
    sql(
        &forked,
        &[
            "DROP TRIGGER audit_entries_no_delete",
            "DROP TRIGGER audit_nodes_no_delete",
            "DROP TRIGGER audit_checkpoints_no_delete",
            "DELETE FROM audit_entries WHERE idx >= 1",
            "DELETE FROM audit_nodes WHERE pos >= 1",
            "DELETE FROM audit_checkpoints WHERE size >= 2",
        ],
    );
    for i in 0..6 {
        ok(cw(
            &forked,
            &["calls", "show", "call-1", "--reason", &format!("other {i}")],
        ));
    }
    let (code, text) = verify(&forked);
    assert_eq!(code, Some(0), "the rebuilt log verifies on its own: {text}");
    let flog = forked.join("fork.json");
    ok(cw(
        &forked,
        &["audit", "export", "--out", flog.to_str().unwrap()],
    ));
    let fcp = latest(&flog, "fork-cp");
    let o = cw(
        &root,
        &[
            "audit",
            "witness",
            "--state",
            s,
            "--checkpoint",
            fcp.to_str().unwrap(),
            "--log",
            flog.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("rewritten or forked"), "{}", out(&o));
    // And the old export does not match a checkpoint of the fork.
    let o = cw(
        &root,
        &[
            "audit",
            "verify",
            "--log",
            log5.to_str().unwrap(),
            "--checkpoint",
            fcp.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

#[test]
fn check_cosignature_accepts_the_witness_and_refuses_other_keys_checkpoints_and_bad_signatures() {
    let root = setup("audit-check-cosig");
    let show = |i: usize| {
        ok(cw(
            &root,
            &["calls", "show", "call-1", "--reason", &format!("r{i}")],
        ));
    };
    let latest = |name: &str| {
        let log = root.join(format!("{name}.json"));
        ok(cw(
            &root,
            &["audit", "export", "--out", log.to_str().unwrap()],
        ));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
        let cps = json["checkpoints"].as_array().unwrap();
        let p = root.join(name);
        std::fs::write(&p, cps.last().unwrap()[1].as_str().unwrap()).unwrap();
        p
    };
    let write = |name: &str, text: &str| {
        let p = root.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cosign = |state: &str, name: &str, cp: &Path| {
        let text = ok(cw(
            &root,
            &[
                "audit",
                "witness",
                "--state",
                root.join(state).to_str().unwrap(),
                "--name",
                name,
                "--checkpoint",
                cp.to_str().unwrap(),
            ],
        ));
        format!("{}\n", text.trim_end())
    };
    let check = |cp: &Path, wkey: &Path| {
        cw(
            &root,
            &[
                "audit",
                "check-cosignature",
                "--checkpoint",
                cp.to_str().unwrap(),
                "--witness-key",
                wkey.to_str().unwrap(),
            ],
        )
    };
    // 3 entries: the facility's creation and 2 reads.
    for i in 0..2 {
        show(i);
    }
    let cp3 = latest("cp3");
    let cosigned3 = cosign("w1", "pd.example/witness", &cp3);
    let good = write("cosigned3", &cosigned3);
    let w1 = root.join("w1/witness.vkey");

    // A good cosignature: accepted, naming the checkpoint and the witness.
    let o = ok(check(&good, &w1));
    assert!(o.starts_with("OK: checkpoint size 3, root "), "{o}");
    assert!(o.contains("cosigned by pd.example/witness at "), "{o}");

    let refused = |o: std::process::Output, why: &str| {
        assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
        assert!(out(&o).starts_with("REFUSED: "), "{}", out(&o));
        assert!(out(&o).contains(why), "{} lacks {why:?}", out(&o));
    };
    // Another witness's key (same name, another key): nothing by it.
    cosign("w2", "pd.example/witness", &cp3);
    refused(
        check(&good, &root.join("w2/witness.vkey")),
        "no cosignature by witness pd.example/witness",
    );
    // The size-3 cosignature moved onto the size-5 checkpoint.
    show(3);
    show(4);
    let cp5 = latest("cp5");
    let line3 = cosigned3.lines().last().unwrap();
    let moved = write(
        "moved",
        &format!(
            "{}\n{line3}\n",
            std::fs::read_to_string(&cp5).unwrap().trim_end()
        ),
    );
    refused(check(&moved, &w1), "made on another checkpoint, or altered");
    // One signature byte changed (a base64 digit well inside the signature,
    // past the key ID and time; still canonical base64).
    let (head, b64) = line3.rsplit_once(' ').unwrap();
    let mut chars: Vec<char> = b64.chars().collect();
    chars[40] = if chars[40] == 'A' { 'B' } else { 'A' };
    let bad_line = format!("{head} {}", chars.into_iter().collect::<String>());
    let bad = write("bad-sig", &cosigned3.replace(line3, &bad_line));
    assert_ne!(std::fs::read_to_string(&bad).unwrap(), cosigned3);
    refused(check(&bad, &w1), "does not verify");
    // A checkpoint the log did not sign (its line dropped): refused before
    // the cosignature is looked at.
    let log_line = cosigned3.lines().nth(4).unwrap();
    assert!(!log_line.contains("pd.example"), "{cosigned3}");
    let unsigned = write("unsigned", &cosigned3.replace(&format!("{log_line}\n"), ""));
    refused(
        check(&unsigned, &w1),
        "not a checkpoint signed by the log's key",
    );
    // The log's own verifier key is not a witness key: a clear error.
    let o = check(&good, &root.join("callward-keys/audit.vkey"));
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains("is not a witness's verifier key"),
        "{}",
        err(&o)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
