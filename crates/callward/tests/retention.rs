//! Retention and legal holds through the real binary: recordings written as
//! a call server writes them (the agency public key only) with matching
//! call records in the store; `recordings expire` deletes those past the
//! facility's retention, keeps held ones (readable after their epoch is
//! shredded) and every call record, and does nothing more when repeated.

mod common;
mod site;

use common::{Server, admin, free_port, scratch};
use site::calls;
use site::{Site, fails_with, ok};

#[test]
fn expiry_deletes_old_recordings_keeps_held_ones_readable_after_the_shred_and_every_call_record() {
    let site = Site::new("retention-expire", "30");
    site.recorded_call("old-1", "+15551230001", 60);
    site.recorded_call("old-held", "+15551230001", 60);
    site.recorded_call("recent", "+15551230002", 5);
    ok(site.cmd(&["keys", "rotate"], true));
    site.recorded_call("epoch2", "+15551230002", 1);

    ok(site.cmd(
        &[
            "recordings",
            "hold",
            "add",
            "old-held",
            "--by",
            "investigator",
            "--reason",
            "case 2026-114",
        ],
        true,
    ));
    let holds: serde_json::Value = serde_json::from_str(&ok(
        site.cmd(&["recordings", "hold", "list", "--json"], true)
    ))
    .unwrap();
    assert_eq!(holds.as_array().unwrap().len(), 1);
    assert_eq!(holds[0]["call_id"], "old-held");
    assert_eq!(holds[0]["placed_by"], "investigator");
    assert_eq!(holds[0]["reason"], "case 2026-114");
    assert!(site.data().join("recordings/old-held.cwrec.hold").exists());

    // 30 days: old-1 goes; epoch 1 still has "recent", so it is kept.
    let report = site.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    assert_eq!(report["shredded_epochs"], serde_json::json!([]), "{report}");
    assert!(
        report["kept_epochs"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("recent"),
        "{report}"
    );
    assert!(!site.recording("old-1").exists());
    assert!(site.recording("old-held").exists());
    assert!(site.recording("recent").exists());
    fails_with(
        &site.export("old-1"),
        "deleted at the end of its retention period",
    );
    ok(site.export("recent"));

    // 3 days: "recent" goes too, and epoch 1 holds only the held recording: shredded.
    ok(admin(
        &site.data(),
        &["facility", "update", "1", "--retention-days", "3"],
    ));
    let report = site.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    assert_eq!(
        report["shredded_epochs"],
        serde_json::json!([1]),
        "{report}"
    );
    assert!(!site.recording("recent").exists());
    assert!(
        site.recording("epoch2").exists(),
        "epoch 2's recording is within retention"
    );
    let keys: serde_json::Value =
        serde_json::from_str(&ok(site.cmd(&["keys", "list", "--json"], true))).unwrap();
    assert_eq!(keys[0]["status"], "shredded");

    // The held recording still reads, through the hold key.
    ok(site.export("old-held"));
    ok(site.export("epoch2"));

    // Every call record is kept.
    let ids: Vec<_> = calls(&site)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");

    // Repeating changes nothing.
    let report = site.expire();
    assert_eq!(report["deleted"], 0, "{report}");
    assert_eq!(report["shredded_epochs"], serde_json::json!([]), "{report}");
    ok(site.export("old-held"));

    // Released, the held recording expires with its retention.
    ok(site.cmd(
        &[
            "recordings",
            "hold",
            "remove",
            "old-held",
            "--by",
            "supervisor",
        ],
        true,
    ));
    let report = site.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    assert!(!site.recording("old-held").exists());
    assert!(!site.data().join("recordings/old-held.cwrec.hold").exists());
    let all: serde_json::Value = serde_json::from_str(&ok(
        site.cmd(&["recordings", "hold", "list", "--all", "--json"], true)
    ))
    .unwrap();
    assert_eq!(all[0]["released_by"], "supervisor");
}

#[test]
fn a_deletion_cut_short_is_finished_by_the_next_run() {
    let site = Site::new("retention-crash", "10");
    site.recorded_call("old", "+15551230001", 20);
    // As if a run deleted the key record and crashed before the recording
    // and the note: the next run finishes both.
    std::fs::write(site.data().join("recordings/old.cwrec.seal"), b"x").unwrap();
    let report = site.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    assert!(!site.recording("old").exists());
    assert!(!site.data().join("recordings/old.cwrec.seal").exists());
    // The file already gone (a crash after the delete, before the note):
    // the note is still written, once.
    site.recorded_call("old2", "+15551230001", 20);
    std::fs::remove_file(site.recording("old2")).unwrap();
    let report = site.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    fails_with(
        &site.export("old2"),
        "deleted at the end of its retention period",
    );
    assert_eq!(site.expire()["deleted"], 0);
}

#[test]
fn retention_days_out_of_range_are_refused() {
    let root = scratch("retention-bad");
    let data = root.join("data");
    let out = admin(
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
            "--retention-days",
            "0",
        ],
    );
    fails_with(&out, "retention-days");
    assert!(!data.join("callward.db").exists(), "nothing was created");
}

#[test]
fn serve_runs_the_expiry_job_at_start_and_on_its_interval() {
    let site = Site::new("retention-serve", "30");
    site.recorded_call("old", "+15551230001", 40);
    site.recorded_call("young", "+15551230001", 25);
    let data = site.data();
    let keys = site.root.join("keys");
    let http = format!("127.0.0.1:{}", free_port());
    let sip = format!("127.0.0.1:{}", free_port());
    let mut server = Server::start(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--key-dir",
            keys.to_str().unwrap(),
            "--http-listen",
            &http,
            "--sip-listen",
            &sip,
            "--expiry-interval-secs",
            "1",
        ],
        &site.root,
    );
    let first = server.wait_for("expiry job ran");
    assert_eq!(first["deleted"], 1, "{first}");
    assert!(!site.recording("old").exists());
    assert!(site.recording("young").exists());

    // While it runs, the retention shortens: the next run deletes "young".
    ok(admin(
        &data,
        &["facility", "update", "1", "--retention-days", "20"],
    ));
    let mut deleted = 0;
    for _ in 0..5 {
        deleted = server.wait_for("expiry job ran")["deleted"]
            .as_u64()
            .unwrap();
        if deleted > 0 {
            break;
        }
    }
    assert_eq!(deleted, 1);
    assert!(!site.recording("young").exists());
    server.signal("TERM");
    assert!(server.wait_exit().success());

    // Each run appended its entry before deleting: at least the two runs
    // that deleted, the second after the retention change it acted on.
    let export = site.root.join("log.json");
    ok(common::run(
        &[
            "audit",
            "--data-dir",
            data.to_str().unwrap(),
            "--key-dir",
            keys.to_str().unwrap(),
            "export",
            "--out",
            export.to_str().unwrap(),
        ],
        &site.root,
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let entries: Vec<callward_audit::Entry> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let h = e[1].as_str().unwrap();
            let bytes: Vec<u8> = (0..h.len() / 2)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            callward_audit::Entry::decode(&bytes).unwrap()
        })
        .collect();
    let runs: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.source == callward_audit::Source::Local("serve: expiry job".into())
                && e.action == callward_audit::Action::KeyChange
        })
        .map(|(i, _)| i)
        .collect();
    assert!(runs.len() >= 2, "{entries:?}");
    let change = entries
        .iter()
        .position(|e| {
            e.action == callward_audit::Action::AdminChange
                && e.justification.contains("retention days")
        })
        .expect("the retention change is logged");
    assert!(
        runs[0] < change && *runs.last().unwrap() > change,
        "{runs:?} {change}"
    );
}
