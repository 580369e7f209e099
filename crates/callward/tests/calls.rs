//! `callward calls list|show` through the real binary, on records written
//! into the data dir's store the way the switch writes them.

mod common;

use std::path::Path;

use callward_core::callflow::{Disposition, HungUpBy};
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId, StationId};
use callward_store::{SqliteStore, Store};
use common::{admin, run, scratch, stderr_lines};
use jiff::{SignedDuration, Timestamp};

fn cdr(id: &str, offered: Timestamp, number: &str, privileged: bool) -> CallDetailRecord {
    CallDetailRecord {
        id: id.into(),
        facility_id: FacilityId(1),
        station_id: StationId(1),
        person_id: Some(PersonId(1)),
        number: Some(E164Number::parse(number).unwrap()),
        privileged,
        disposition: Disposition::Completed,
        hung_up_by: HungUpBy::Station,
        offered_at: offered,
        answered_at: Some(offered + SignedDuration::from_secs(10)),
        accepted_at: Some(offered + SignedDuration::from_secs(25)),
        ended_at: offered + SignedDuration::from_secs(145),
        billable_seconds: 120,
        time_limit_reached: false,
        limit: None,
        blocked_by_called_party: false,
        recording_id: (!privileged).then(|| format!("rec-{id}")),
        rate_cents_per_minute: Some(if privileged { 0 } else { 7 }),
        payer_account_id: None,
        charge_cents: 0,
    }
}

fn calls(data: &Path, args: &[&str]) -> std::process::Output {
    let mut full = vec!["calls", "--data-dir", data.to_str().unwrap()];
    full.extend_from_slice(args);
    run(&full, data.parent().unwrap())
}

#[test]
fn lists_and_shows_call_records_with_privileged_numbers_masked() {
    let dir = scratch("calls-list");
    let data = dir.join("data");
    // Reads are logged first, signed with the log key in ./callward-keys.
    let keys = run(
        &["keys", "init", "--data-dir", data.to_str().unwrap()],
        &dir,
    );
    assert!(keys.status.success(), "{keys:?}");
    let made = admin(
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
    assert!(made.status.success());
    let t0: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
        store
            .record_call(&cdr("call-1", t0, "+15551230001", false))
            .await
            .unwrap();
        store
            .record_call(&cdr(
                "call-2",
                t0 + SignedDuration::from_hours(2),
                "+15559870001",
                true,
            ))
            .await
            .unwrap();
        store.close().await;
    });

    let out = calls(&data, &["list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "call-1");
    assert_eq!(list[0]["disposition"], "completed");
    assert_eq!(list[0]["privileged"], false);
    assert_eq!(list[0]["number"], "+15551230001");
    assert_eq!(list[0]["recording_id"], "rec-call-1");
    assert_eq!(list[0]["charge_cents"], 0);
    assert_eq!(list[1]["id"], "call-2");
    assert_eq!(list[1]["privileged"], true);
    assert_eq!(
        list[1]["number"], "+1******0001",
        "an attorney's number is masked"
    );
    assert!(list[1]["recording_id"].is_null());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("5559870001"));

    let out = calls(
        &data,
        &["list", "--json", "--since", "2026-11-20T11:00:00Z"],
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], "call-2");

    let out = calls(&data, &["show", "call-1", "--json"]);
    let one: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["billable_seconds"], 120);
    assert_eq!(one["hung_up_by"], "station");
    assert_eq!(one["accepted_at"], "2026-11-20T10:00:25Z");

    let text = String::from_utf8(calls(&data, &["list"]).stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.contains("call-2 completed +1******0001 120s privileged"),
        "{text}"
    );

    let out = calls(&data, &["show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_lines(&out), ["error: call \"nope\" not found"]);
    let out = calls(&data, &["list", "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_lines(&out)[0].starts_with("error: --since"),
        "{:?}",
        stderr_lines(&out)
    );
}

#[test]
fn no_data_dir_is_a_clear_error_and_creates_nothing() {
    let dir = scratch("calls-none");
    let data = dir.join("data");
    let out = calls(&data, &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("no callward data"));
    assert!(!data.exists());
}
