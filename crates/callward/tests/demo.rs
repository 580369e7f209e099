//! `serve --demo`: seeds exactly the demo data of DESIGN.md, is idempotent,
//! refuses a data dir holding anything else, and never logs a PIN, a
//! password or a full phone number, even at trace level.

mod common;

use std::path::Path;

use common::{Server, admin, run, scratch, stderr_lines};

const EPHEMERAL: [&str; 4] = [
    "--http-listen",
    "127.0.0.1:0",
    "--sip-listen",
    "127.0.0.1:0",
];

/// Secrets and numbers that must never appear in a log line.
const NEVER_LOGGED: [&str; 13] = [
    "246810",
    "5551230001",
    "5551230002",
    "5559870001",
    "5550000666",
    "demo-admin",
    "demo-investigator",
    "demo-supervisor",
    "demo-auditor",
    "demo-attorney",
    "demo-family",
    "135790",
    "5557770001",
];

fn admin_json(data: &Path, args: &[&str]) -> serde_json::Value {
    let out = admin(data, &[&["--json"], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_no_secrets(log: &str) {
    for secret in NEVER_LOGGED {
        assert!(
            !log.contains(secret),
            "{secret:?} leaked into the log:\n{log}"
        );
    }
}

fn serve_demo(dir: &Path, data: &Path) -> Server {
    let mut args = EPHEMERAL.to_vec();
    args.extend(["--data-dir", data.to_str().unwrap(), "--demo"]);
    Server::start_env(&args, dir, &[("RUST_LOG", "trace")])
}

#[test]
fn seeds_the_demo_once_and_logs_no_secrets() {
    let dir = scratch("demo-seed");
    let data = dir.join("data");
    let mut server = serve_demo(&dir, &data);
    server.wait_for("demo data seeded");
    server.wait_ready();
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    assert_no_secrets(&server.log.join("\n"));

    let f = admin_json(&data, &["facility", "show", "Demo County Jail"]);
    assert_eq!(f["kind"], "jail");
    assert!(
        (350..=999).contains(&f["average_daily_population"].as_u64().unwrap()),
        "medium jail tier"
    );
    assert_eq!(f["gateways"], serde_json::json!(["127.0.0.1"]));
    let stations = admin_json(&data, &["station", "list"]);
    assert_eq!(stations.as_array().unwrap().len(), 1);
    assert_eq!(stations[0]["code"], "station-101");
    let people = admin_json(&data, &["person", "list", "--facility", "Demo County Jail"]);
    assert_eq!(people.as_array().unwrap().len(), 1);
    assert_eq!(people[0]["has_pin"], true);
    let booking = people[0]["booking_id"].as_str().unwrap();
    let contacts = admin_json(
        &data,
        &[
            "contact",
            "list",
            "--facility",
            "Demo County Jail",
            "--booking-id",
            booking,
        ],
    );
    let numbers: Vec<&str> = contacts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["+15551230001", "+15551230002"]);
    let accounts = admin_json(&data, &["account", "list"]);
    let balances: Vec<(String, i64)> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["holder"]["holder"].as_str().unwrap().to_owned(),
                a["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("+15551230001".to_owned(), 1000),
            ("+15551230002".to_owned(), 0)
        ]
    );
    let privileged = admin_json(&data, &["privileged", "list"]);
    assert_eq!(privileged.as_array().unwrap().len(), 1);
    assert_eq!(privileged[0]["number"], "+15559870001");
    assert_eq!(privileged[0]["verification"], "verified");
    let blocks = admin_json(&data, &["block", "list", "--facility", "Demo County Jail"]);
    assert_eq!(blocks.as_array().unwrap().len(), 1);
    assert_eq!(blocks[0]["number"], "+15550000666");

    // The PIN 246810 identifies the demo person: setting it again for
    // someone else at the facility is refused as a duplicate.
    let out = admin(
        &data,
        &[
            "person",
            "create",
            "--facility",
            "Demo County Jail",
            "--booking-id",
            "X-1",
            "--name",
            "X",
            "--pin",
            "246810",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_lines(&out)[0].contains("already in use"),
        "{:?}",
        stderr_lines(&out)
    );

    // Idempotent: a second --demo run changes nothing.
    let before = (
        admin_json(&data, &["account", "list"]),
        admin_json(&data, &["station", "list"]),
    );
    let mut again = serve_demo(&dir, &data);
    again.wait_for("demo data already present");
    again.wait_ready();
    again.signal("TERM");
    assert!(again.wait_exit().success());
    let after = (
        admin_json(&data, &["account", "list"]),
        admin_json(&data, &["station", "list"]),
    );
    assert_eq!(before, after);
}

#[test]
fn refuses_a_data_dir_with_other_data() {
    let dir = scratch("demo-refuse");
    let data = dir.join("data");
    let out = admin(
        &data,
        &[
            "facility",
            "create",
            "--name",
            "Real Jail",
            "--kind",
            "jail",
            "--adp",
            "40",
            "--timezone",
            "UTC",
            "--gateway",
            "10.1.1.1",
        ],
    );
    assert!(out.status.success());
    let mut args = EPHEMERAL.to_vec();
    args.extend(["--data-dir", data.to_str().unwrap(), "--demo"]);
    let out = run(&[&["serve"], args.as_slice()].concat(), &dir);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("error: ") && last.contains("other facilities"),
        "{lines:#?}"
    );
    let facilities = admin_json(&data, &["facility", "list"]);
    assert_eq!(facilities.as_array().unwrap().len(), 1, "nothing seeded");
}

#[test]
fn admin_commands_log_no_pins_or_numbers_at_trace() {
    let dir = scratch("demo-pii-admin");
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "admin",
            "--data-dir",
            d,
            "facility",
            "create",
            "--name",
            "P",
            "--kind",
            "prison",
            "--adp",
            "2000",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.1",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "person",
            "create",
            "--facility",
            "P",
            "--booking-id",
            "P-1",
            "--name",
            "Pat",
            "--pin",
            "135790",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "contact",
            "add",
            "--facility",
            "P",
            "--booking-id",
            "P-1",
            "--number",
            "+15557770001",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "block",
            "add",
            "--facility",
            "P",
            "--number",
            "+15550000666",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "privileged",
            "register",
            "--number",
            "+15559870001",
            "--attorney",
            "A Lawyer",
            "--bar-number",
            "1",
            "--bar-state",
            "NY",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "account",
            "open",
            "--number",
            "+15551230001",
        ],
        vec![
            "admin",
            "--data-dir",
            d,
            "person",
            "set-pin",
            "--facility",
            "P",
            "P-1",
            "--pin",
            "246810",
        ],
    ];
    for args in runs {
        // From the scratch dir: the log key the first change makes goes
        // to its ./callward-keys.
        let out = std::process::Command::new(common::BIN)
            .args(&args)
            .current_dir(&dir)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            !log.trim().is_empty(),
            "trace logging is on, so something is logged"
        );
        assert_no_secrets(&log);
    }
}

#[test]
fn admin_reads_and_writes_while_serve_runs() {
    let dir = scratch("demo-concurrent");
    let data = dir.join("data");
    let mut server = serve_demo(&dir, &data);
    server.wait_ready();
    let facilities = admin_json(&data, &["facility", "list"]);
    assert_eq!(facilities[0]["name"], "Demo County Jail");
    let p = admin_json(
        &data,
        &[
            "person",
            "create",
            "--facility",
            "Demo County Jail",
            "--booking-id",
            "LIVE-1",
            "--name",
            "Live Add",
            "--generate-pin",
        ],
    );
    assert_eq!(p["booking_id"], "LIVE-1");
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    let people = admin_json(&data, &["person", "list", "--facility", "Demo County Jail"]);
    assert_eq!(people.as_array().unwrap().len(), 2);
}
