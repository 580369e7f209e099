//! `callward admin` as an administrator uses it: the real binary on a real
//! data dir. Builds a facility from nothing, reads it back as JSON, and
//! checks that bad input prints one clear line, exits non-zero and changes
//! nothing.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{BIN, admin, scratch, stderr_lines};

fn admin_stdin(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("admin")
        .arg("--data-dir")
        .arg(data)
        .arg("--key-dir")
        .arg(common::admin_key_dir(data))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[track_caller]
fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// Exit 1, exactly one stderr line starting `error:` and containing `needle`.
#[track_caller]
fn refused(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "one line: {lines:#?}");
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(
        lines[0].contains(needle),
        "{:?} should mention {needle:?}",
        lines[0]
    );
}

/// Everything the data dir holds, as the admin commands read it back.
fn everything(data: &Path) -> Vec<serde_json::Value> {
    let mut all = vec![];
    for args in [
        vec!["--json", "facility", "list"],
        vec!["--json", "station", "list"],
        vec!["--json", "person", "list", "--facility", "Small Jail"],
        vec![
            "--json",
            "contact",
            "list",
            "--facility",
            "Small Jail",
            "--booking-id",
            "B-1",
        ],
        vec!["--json", "block", "list", "--facility", "Small Jail"],
        vec!["--json", "privileged", "list"],
        vec!["--json", "account", "list"],
    ] {
        all.push(json(&admin(data, &args)));
    }
    all
}

fn create_facility(data: &Path) -> serde_json::Value {
    json(&admin(
        data,
        &[
            "--json",
            "facility",
            "create",
            "--name",
            "Small Jail",
            "--kind",
            "jail",
            "--adp",
            "80",
            "--timezone",
            "America/Denver",
            "--gateway",
            "127.0.0.1",
            "--gateway",
            "::1",
            "--hours",
            "06:30-21:00",
            "--max-calls-per-day",
            "5",
        ],
    ))
}

#[test]
fn builds_a_small_facility_from_nothing_and_shows_it_as_json() {
    let dir = scratch("admin-build");
    let data = dir.join("data");
    let f = create_facility(&data);
    assert_eq!(f["name"], "Small Jail");
    assert_eq!(f["kind"], "jail");
    assert_eq!(f["calling_hours"]["open"], "06:30:00");

    ok(&admin(
        &data,
        &[
            "station",
            "create",
            "--facility",
            "Small Jail",
            "--id",
            "sj-1",
            "--location",
            "Pod 1",
        ],
    ));
    let p = json(&admin_stdin(
        &data,
        &[
            "--json",
            "person",
            "create",
            "--facility",
            "Small Jail",
            "--booking-id",
            "SJ-100",
            "--name",
            "Ana Ruiz",
            "--language",
            "es",
            "--pin-stdin",
        ],
        "135790\n",
    ));
    assert_eq!(p["has_pin"], true);
    assert_eq!(p["language"], "es");
    assert!(!p.to_string().contains("135790"), "the PIN is never echoed");

    ok(&admin(
        &data,
        &[
            "contact",
            "add",
            "--facility",
            "Small Jail",
            "--booking-id",
            "SJ-100",
            "--number",
            "(555) 123-0001",
            "--label",
            "Mother",
        ],
    ));
    ok(&admin(
        &data,
        &[
            "block",
            "add",
            "--facility",
            "Small Jail",
            "--number",
            "555-000-0666",
            "--reason",
            "victim",
        ],
    ));
    ok(&admin(
        &data,
        &[
            "block",
            "add",
            "--facility",
            "Small Jail",
            "--booking-id",
            "SJ-100",
            "--number",
            "1 555 000 0777",
        ],
    ));
    let acct = json(&admin(
        &data,
        &["--json", "account", "open", "--number", "+15551230001"],
    ));
    let id = acct["id"].to_string();
    let acct = json(&admin(
        &data,
        &[
            "--json",
            "account",
            "deposit",
            &id,
            "--amount",
            "12.50",
            "--reference",
            "pay-1",
        ],
    ));
    assert_eq!(acct["balance"], 1250);
    let reg = json(&admin(
        &data,
        &[
            "--json",
            "privileged",
            "register",
            "--number",
            "+15559870001",
            "--attorney",
            "Alex Counsel",
            "--bar-number",
            "24000001",
            "--bar-state",
            "tx",
        ],
    ));
    assert_eq!(reg["verification"], "pending");
    let reg = json(&admin(
        &data,
        &[
            "--json",
            "privileged",
            "verify",
            &reg["id"].to_string(),
            "--by",
            "admin",
        ],
    ));
    assert_eq!(reg["verification"], "verified");
    assert_eq!(reg["bar_state"], "TX");

    // Read it all back.
    let shown = json(&admin(&data, &["--json", "facility", "show", "Small Jail"]));
    assert_eq!(shown, f);
    let by_id = json(&admin(
        &data,
        &["--json", "facility", "show", &f["id"].to_string()],
    ));
    assert_eq!(by_id, f);
    let stations = json(&admin(
        &data,
        &["--json", "station", "list", "--facility", "Small Jail"],
    ));
    assert_eq!(stations[0]["code"], "sj-1");
    assert_eq!(stations[0]["location"], "Pod 1");
    let contacts = json(&admin(
        &data,
        &[
            "--json",
            "contact",
            "list",
            "--facility",
            "Small Jail",
            "--booking-id",
            "SJ-100",
        ],
    ));
    assert_eq!(contacts[0]["number"], "+15551230001");
    let blocks = json(&admin(
        &data,
        &["--json", "block", "list", "--facility", "Small Jail"],
    ));
    assert_eq!(blocks.as_array().unwrap().len(), 2);
    assert_eq!(blocks[0]["scope"]["scope"], "facility");
    assert_eq!(blocks[1]["scope"]["scope"], "person");
    let people = json(&admin(
        &data,
        &["--json", "person", "list", "--facility", "Small Jail"],
    ));
    assert_eq!(people[0]["booking_id"], "SJ-100");

    // Text output is for people.
    let text = ok(&admin(&data, &["facility", "show", "Small Jail"]));
    assert!(
        text.contains("very_small_jail") && text.contains("cap 12 c/min"),
        "{text}"
    );

    // Updates and removals.
    let u = json(&admin(
        &data,
        &[
            "--json",
            "facility",
            "update",
            "Small Jail",
            "--adp",
            "1500",
            "--max-calls-per-day",
            "none",
        ],
    ));
    assert_eq!(u["average_daily_population"], 1500);
    assert!(u["max_calls_per_day"].is_null());
    let s = json(&admin(
        &data,
        &["--json", "station", "update", "sj-1", "--enabled", "false"],
    ));
    assert_eq!(s["enabled"], false);
    let p = json(&admin(
        &data,
        &[
            "--json",
            "person",
            "update",
            "--facility",
            "Small Jail",
            "SJ-100",
            "--status",
            "suspended",
        ],
    ));
    assert_eq!(p["status"], "suspended");
    ok(&admin(&data, &["station", "unlock", "sj-1"]));
    refused(
        &admin(&data, &["facility", "remove", "Small Jail"]),
        "remove them first",
    );
}

#[test]
fn generated_pins_are_shown_once_and_work_as_digests() {
    let dir = scratch("admin-genpin");
    let data = dir.join("data");
    create_facility(&data);
    let p = json(&admin(
        &data,
        &[
            "--json",
            "person",
            "create",
            "--facility",
            "Small Jail",
            "--booking-id",
            "G-1",
            "--name",
            "Gen Pin",
            "--generate-pin",
        ],
    ));
    let pin = p["pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 6);
    assert!(pin.bytes().all(|b| b.is_ascii_digit()));
    // The same PIN for another person at the facility is refused: PINs identify people.
    let out = admin(
        &data,
        &[
            "person",
            "create",
            "--facility",
            "Small Jail",
            "--booking-id",
            "G-2",
            "--name",
            "Other",
            "--pin",
            &pin,
        ],
    );
    refused(&out, "already");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&pin));
    // Reset replaces it.
    let reset = json(&admin(
        &data,
        &[
            "--json",
            "person",
            "set-pin",
            "--facility",
            "Small Jail",
            "G-1",
            "--generate-pin",
        ],
    ));
    assert_ne!(reset["pin"], p["pin"]);
    ok(&admin(
        &data,
        &[
            "person",
            "create",
            "--facility",
            "Small Jail",
            "--booking-id",
            "G-2",
            "--name",
            "Other",
            "--pin",
            &pin,
        ],
    ));
}

#[test]
fn bad_input_is_one_clear_line_and_changes_nothing() {
    let dir = scratch("admin-bad");
    let data = dir.join("data");

    // Before any data exists: nothing is created by a failing or reading command.
    refused(
        &admin(
            &data,
            &[
                "facility",
                "create",
                "--name",
                "X",
                "--kind",
                "jail",
                "--adp",
                "10",
                "--timezone",
                "Mars/Olympus",
                "--gateway",
                "127.0.0.1",
            ],
        ),
        "unknown time zone",
    );
    refused(&admin(&data, &["facility", "list"]), "no callward data");
    assert!(!data.exists(), "nothing written");

    create_facility(&data);
    ok(&admin(
        &data,
        &[
            "person",
            "create",
            "--facility",
            "Small Jail",
            "--booking-id",
            "B-1",
            "--name",
            "A B",
            "--pin",
            "246810",
        ],
    ));
    ok(&admin(
        &data,
        &["account", "open", "--number", "+15551230001"],
    ));
    ok(&admin(
        &data,
        &[
            "block",
            "add",
            "--facility",
            "Small Jail",
            "--number",
            "+15550000666",
        ],
    ));
    let before = everything(&data);

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "contact",
                "add",
                "--facility",
                "Small Jail",
                "--booking-id",
                "B-1",
                "--number",
                "555-123-00",
            ],
            "--number",
        ),
        (
            vec![
                "contact",
                "add",
                "--facility",
                "Small Jail",
                "--booking-id",
                "B-1",
                "--number",
                "+1 555 123 0001x",
            ],
            "not a digit",
        ),
        (
            vec![
                "station",
                "create",
                "--facility",
                "Nowhere Jail",
                "--id",
                "s-9",
            ],
            "unknown facility",
        ),
        (
            vec![
                "station",
                "create",
                "--facility",
                "Small Jail",
                "--id",
                "bad id",
            ],
            "--id",
        ),
        (
            vec![
                "person",
                "create",
                "--facility",
                "Small Jail",
                "--booking-id",
                "B-1",
                "--name",
                "Dup",
                "--pin",
                "975310",
            ],
            "booking id",
        ),
        (
            vec![
                "person",
                "create",
                "--facility",
                "Small Jail",
                "--booking-id",
                "B-2",
                "--name",
                "Short",
                "--pin",
                "1357",
            ],
            "exactly 6 digits",
        ),
        (
            vec![
                "person",
                "create",
                "--facility",
                "Small Jail",
                "--booking-id",
                "B-2",
                "--name",
                "Easy",
                "--pin",
                "111111",
            ],
            "too easy",
        ),
        (
            vec![
                "person",
                "update",
                "--facility",
                "Small Jail",
                "B-1",
                "--status",
                "gone",
            ],
            "--status",
        ),
        (
            vec!["person", "show", "--facility", "Small Jail", "NOPE"],
            "no person",
        ),
        (
            vec![
                "facility",
                "create",
                "--name",
                "Y",
                "--kind",
                "castle",
                "--adp",
                "1",
                "--timezone",
                "UTC",
                "--gateway",
                "127.0.0.1",
            ],
            "--kind",
        ),
        (
            vec![
                "facility",
                "create",
                "--name",
                "Small Jail",
                "--kind",
                "jail",
                "--adp",
                "1",
                "--timezone",
                "UTC",
                "--gateway",
                "127.0.0.1",
            ],
            "already exists",
        ),
        (
            vec![
                "facility",
                "create",
                "--name",
                "Z",
                "--kind",
                "jail",
                "--adp",
                "1",
                "--timezone",
                "UTC",
                "--gateway",
                "localhost",
            ],
            "--gateway",
        ),
        (
            vec!["facility", "update", "Small Jail", "--hours", "9-5"],
            "--hours",
        ),
        (
            vec![
                "account",
                "deposit",
                "99",
                "--amount",
                "5",
                "--reference",
                "r",
            ],
            "not found",
        ),
        (
            vec!["account", "open", "--number", "+15551230001"],
            "already has a prepaid account",
        ),
        (
            vec![
                "block",
                "add",
                "--facility",
                "Small Jail",
                "--number",
                "555-000-0666",
            ],
            "already on that facility blocklist",
        ),
        (
            vec!["account", "deposit", "1", "--amount=-5", "--reference", "r"],
            "--amount",
        ),
        (
            vec![
                "privileged",
                "register",
                "--number",
                "+15559870001",
                "--attorney",
                "A",
                "--bar-number",
                "1",
                "--bar-state",
                "ZZ",
            ],
            "--bar-state",
        ),
        (
            vec!["privileged", "verify", "7", "--by", "admin"],
            "not found",
        ),
        (vec!["block", "remove", "42"], "not found"),
    ];
    for (args, needle) in cases {
        refused(&admin(&data, &args), needle);
    }
    assert_eq!(
        everything(&data),
        before,
        "refused commands changed nothing"
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_refused_untouched() {
    let dir = scratch("admin-file");
    let file = dir.join("data");
    std::fs::write(&file, "not a dir").unwrap();
    refused(&admin(&file, &["facility", "list"]), "not a directory");
    refused(
        &admin(
            &file,
            &[
                "facility",
                "create",
                "--name",
                "X",
                "--kind",
                "jail",
                "--adp",
                "10",
                "--timezone",
                "UTC",
                "--gateway",
                "127.0.0.1",
            ],
        ),
        "not a directory",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a dir");
}
