//! Every administrative change is written to the access log before it is
//! made (issue 7, item 2; CJIS AU-2), through the real binary:
//!
//! - generated over clap's command tree (`admin --help` and each group's):
//!   every `admin` subcommand is either read-only (listed here) or has a
//!   case below that runs it and finds exactly one new entry with its
//!   action, object kind and object. A new subcommand without a case fails
//!   the test.
//! - when the log cannot be written (its key gone, or the database refusing
//!   the entry), several kinds of change each fail with a clear error and
//!   leave the state as it was.

mod access_site;
mod common;

use std::collections::BTreeSet;

use access_site::{Site, text};
use callward_audit::{Action, ObjectKind};
use common::{BIN, scratch};

/// Subcommands that change nothing, so log nothing here (reads of call
/// records and recordings are logged by their own commands).
const READ_ONLY: &[&str] = &[
    "facility list",
    "facility show",
    "station list",
    "station show",
    "person list",
    "person show",
    "contact list",
    "block list",
    "privileged list",
    "account list",
    "account show",
    "account statement",
    "account check",
    "user list",
    "agency list",
];

/// The subcommand names under `Commands:` in `callward ARGS --help`.
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(BIN)
        .args(args)
        .arg("--help")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// `admin GROUP SUB` for every subcommand in the binary.
fn every_admin_subcommand() -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for group in subcommands(&["admin"]) {
        let subs = subcommands(&["admin", &group]);
        assert!(!subs.is_empty(), "admin {group} lists no subcommands");
        for sub in subs {
            all.insert(format!("{group} {sub}"));
        }
    }
    all
}

/// Runs `admin ARGS` (stdin `stdin`) and returns stdout; fails on error.
fn ok_admin(site: &Site, args: &[&str], stdin: &str) -> String {
    let out = site.run("admin", args, stdin);
    assert!(out.status.success(), "admin {args:?}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The `id` of a `--json` object printed by an admin command.
fn id_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["id"].to_string()
}

#[test]
fn every_admin_change_appends_exactly_one_entry_first() {
    let root = scratch("admin-log-every");
    let site = Site::new(&root);
    // Site::new made the facility "Test Jail" (id 1) after `keys init`.
    let log = site.log();
    assert_eq!(
        (log.last().unwrap().action, log.last().unwrap().object_kind),
        (Action::AdminChange, ObjectKind::Facility)
    );

    let mut covered = BTreeSet::new();
    // One case: the command, its stdin, what it must append (action, kind,
    // object id, or "" to skip the id check) and whether it must succeed.
    let mut case = |name: &str,
                    args: Vec<String>,
                    stdin: &str,
                    action: Action,
                    kind: ObjectKind,
                    object: &str,
                    succeeds: bool|
     -> String {
        let before = site.log().len();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = site.run("admin", &argv, stdin);
        assert_eq!(
            out.status.success(),
            succeeds,
            "admin {argv:?}: {}",
            text(&out)
        );
        let log = site.log();
        assert_eq!(
            log.len(),
            before + 1,
            "admin {name}: {:?}",
            &log[before.min(log.len())..]
        );
        let e = &log[before];
        assert_eq!(
            (e.action, e.object_kind),
            (action, kind),
            "admin {name}: {e:?}"
        );
        if !object.is_empty() {
            assert_eq!(e.object_id, object, "admin {name}: {e:?}");
        }
        assert_eq!(e.role, "local operator", "{e:?}");
        // No full phone number in the entry (the cases use +1555...).
        for field in [&e.object_id, &e.justification] {
            assert!(!field.contains("+1555"), "admin {name}: {field}");
        }
        covered.insert(name.to_owned());
        String::from_utf8(out.stdout).unwrap()
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    use Action::{AdminChange as Change, KeyChange, PermissionChange as Perm};
    use ObjectKind as K;

    let facility = case(
        "facility create",
        s(&[
            "--json",
            "facility",
            "create",
            "--name",
            "Second Jail",
            "--kind",
            "jail",
            "--adp",
            "50",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.2",
        ]),
        "",
        Change,
        K::Facility,
        "Second Jail",
        true,
    );
    let facility = id_of(&facility);
    case(
        "facility update",
        s(&["facility", "update", "Second Jail", "--hours", "always"]),
        "",
        Change,
        K::Facility,
        &facility,
        true,
    );
    let station = case(
        "station create",
        s(&[
            "--json",
            "station",
            "create",
            "--facility",
            "Test Jail",
            "--id",
            "st-1",
        ]),
        "",
        Change,
        K::Station,
        "st-1",
        true,
    );
    let station = id_of(&station);
    case(
        "station update",
        s(&["station", "update", "st-1", "--location", "Block A"]),
        "",
        Change,
        K::Station,
        &station,
        true,
    );
    case(
        "station unlock",
        s(&["station", "unlock", "st-1"]),
        "",
        Change,
        K::Station,
        &station,
        true,
    );
    let person = case(
        "person create",
        s(&[
            "--json",
            "person",
            "create",
            "--facility",
            "Test Jail",
            "--booking-id",
            "B1",
            "--name",
            "Ann Doe",
            "--pin",
            "135792",
        ]),
        "",
        Change,
        K::Person,
        "B1",
        true,
    );
    let person = id_of(&person);
    case(
        "person update",
        s(&[
            "person",
            "update",
            "--facility",
            "Test Jail",
            "B1",
            "--language",
            "es",
        ]),
        "",
        Change,
        K::Person,
        &person,
        true,
    );
    case(
        "person set-pin",
        s(&[
            "person",
            "set-pin",
            "--facility",
            "Test Jail",
            "B1",
            "--pin-stdin",
        ]),
        "246813\n",
        Change,
        K::Person,
        &person,
        true,
    );
    let contact = case(
        "contact add",
        s(&[
            "--json",
            "contact",
            "add",
            "--facility",
            "Test Jail",
            "--booking-id",
            "B1",
            "--number",
            "+15551112222",
        ]),
        "",
        Change,
        K::Contact,
        "",
        true,
    );
    let contact = id_of(&contact);
    case(
        "contact remove",
        s(&["contact", "remove", &contact]),
        "",
        Change,
        K::Contact,
        &contact,
        true,
    );
    let block = case(
        "block add",
        s(&[
            "--json",
            "block",
            "add",
            "--facility",
            "Test Jail",
            "--number",
            "+15553334444",
        ]),
        "",
        Change,
        K::Block,
        "",
        true,
    );
    let block = id_of(&block);
    case(
        "block remove",
        s(&["block", "remove", &block]),
        "",
        Change,
        K::Block,
        &block,
        true,
    );
    let reg = case(
        "privileged register",
        s(&[
            "--json",
            "privileged",
            "register",
            "--number",
            "+15556667777",
            "--attorney",
            "Jo Law",
            "--bar-number",
            "12345",
            "--bar-state",
            "TX",
        ]),
        "",
        Change,
        K::Privileged,
        "",
        true,
    );
    let reg = id_of(&reg);
    case(
        "privileged verify",
        s(&["privileged", "verify", &reg, "--by", "admin"]),
        "",
        Change,
        K::Privileged,
        &reg,
        true,
    );
    case(
        "privileged reject",
        s(&["privileged", "reject", &reg, "--by", "admin"]),
        "",
        Change,
        K::Privileged,
        &reg,
        true,
    );
    case(
        "privileged remove",
        s(&["privileged", "remove", &reg]),
        "",
        Change,
        K::Privileged,
        &reg,
        true,
    );
    let account = case(
        "account open",
        s(&["--json", "account", "open", "--number", "+15558889999"]),
        "",
        Change,
        K::Account,
        "",
        true,
    );
    let account = id_of(&account);
    case(
        "account deposit",
        s(&[
            "account",
            "deposit",
            &account,
            "--amount",
            "10.00",
            "--reference",
            "pay-1",
        ]),
        "",
        Change,
        K::Account,
        &account,
        true,
    );
    // No call was charged: the refund is refused, after its entry (the
    // attempt is on the log).
    case(
        "account refund",
        s(&[
            "account",
            "refund",
            "call-none",
            "--amount",
            "0.10",
            "--reason",
            "dropped",
        ]),
        "",
        Change,
        K::CallRecord,
        "call-none",
        false,
    );
    case(
        "account close",
        s(&["account", "close", &account]),
        "",
        Change,
        K::Account,
        &account,
        true,
    );
    case(
        "person remove",
        s(&["person", "remove", "--facility", "Test Jail", "B1"]),
        "",
        Change,
        K::Person,
        &person,
        true,
    );
    case(
        "station remove",
        s(&["station", "remove", "st-1"]),
        "",
        Change,
        K::Station,
        &station,
        true,
    );
    case(
        "user create",
        s(&["user", "create", "clerk2", "--role", "investigator"]),
        "clerk2-long-password-1\n",
        Perm,
        K::User,
        "clerk2",
        true,
    );
    case(
        "user unlock",
        s(&["user", "unlock", "clerk2"]),
        "",
        Perm,
        K::User,
        "clerk2",
        true,
    );
    case(
        "user reset-totp",
        s(&["user", "reset-totp", "clerk2"]),
        "",
        KeyChange,
        K::User,
        "clerk2",
        true,
    );
    case(
        "user set-role",
        s(&["user", "set-role", "clerk2", "supervisor"]),
        "",
        Perm,
        K::User,
        "clerk2",
        true,
    );
    case(
        "agency create",
        s(&["agency", "create", "Other Agency"]),
        "",
        Perm,
        K::Agency,
        "",
        true,
    );
    case(
        "agency set-quota",
        s(&["agency", "set-quota", "1", "--daily", "5", "--bulk", "10"]),
        "",
        Perm,
        K::Agency,
        "",
        true,
    );
    case(
        "agency assign-facility",
        s(&["agency", "assign-facility", "Other Agency", &facility]),
        "",
        Perm,
        K::Agency,
        "",
        true,
    );
    case(
        "facility remove",
        s(&["facility", "remove", "Second Jail"]),
        "",
        Change,
        K::Facility,
        &facility,
        true,
    );

    let all = every_admin_subcommand();
    assert!(all.len() >= 40, "too few subcommands found: {all:?}");
    let read_only: BTreeSet<String> = READ_ONLY.iter().map(|s| (*s).to_owned()).collect();
    let missing: Vec<&String> = all
        .iter()
        .filter(|c| !covered.contains(*c) && !read_only.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "admin subcommands with no logging case here: {missing:?}"
    );
    let unknown: Vec<&String> = covered
        .union(&read_only)
        .filter(|c| !all.contains(*c))
        .collect();
    assert!(unknown.is_empty(), "cases for no subcommand: {unknown:?}");
    // The whole log still verifies.
    let out = site.run("audit", &["verify"], "");
    assert!(out.status.success(), "{}", text(&out));
}

/// The state as the read-only commands show it.
fn state(site: &Site) -> String {
    let mut all = String::new();
    for args in [
        &["--json", "facility", "list"][..],
        &["--json", "station", "list"],
        &["--json", "person", "list", "--facility", "Test Jail"],
        &["--json", "block", "list", "--facility", "Test Jail"],
        &["--json", "privileged", "list"],
        &["--json", "account", "list"],
        &["--json", "user", "list"],
    ] {
        all.push_str(&ok_admin(site, args, ""));
    }
    all
}

/// Changes of several kinds, each of which must be refused whole.
fn attempts() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "facility",
            "create",
            "--name",
            "Third Jail",
            "--kind",
            "jail",
            "--adp",
            "50",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.3",
        ],
        vec!["facility", "update", "Test Jail", "--hours", "always"],
        vec![
            "station",
            "create",
            "--facility",
            "Test Jail",
            "--id",
            "st-9",
        ],
        vec![
            "person",
            "create",
            "--facility",
            "Test Jail",
            "--booking-id",
            "B9",
            "--name",
            "Bo Roe",
        ],
        vec![
            "block",
            "add",
            "--facility",
            "Test Jail",
            "--number",
            "+15553330000",
        ],
        vec![
            "privileged",
            "register",
            "--number",
            "+15556660000",
            "--attorney",
            "Al Law",
            "--bar-number",
            "999",
            "--bar-state",
            "CA",
        ],
        vec!["account", "open", "--number", "+15558880000"],
        vec!["user", "create", "clerk9", "--role", "auditor"],
    ]
}

#[test]
fn when_the_log_cannot_be_written_no_admin_change_is_made() {
    let root = scratch("admin-log-fails");
    let site = Site::new(&root);
    let before = state(&site);
    let entries = site.log().len();

    // 1. The log key is gone: each change is refused, naming the key.
    let key = site.keys.join("audit.key");
    let aside = root.join("audit.key.aside");
    std::fs::rename(&key, &aside).unwrap();
    for args in attempts() {
        let out = site.run("admin", &args, "clerk9-long-password-1\n");
        assert!(
            !out.status.success(),
            "admin {args:?} ran without its log key"
        );
        let err = text(&out);
        assert!(
            err.contains("access log first") && err.contains("no audit log key"),
            "admin {args:?}: {err}"
        );
    }
    std::fs::rename(&aside, &key).unwrap();
    assert_eq!(state(&site), before, "a change was made with no log key");
    assert_eq!(site.log().len(), entries);

    // 2. The database refuses the entry (a full disk, say): the same.
    let db = site.data.join("callward.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER full BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    for args in attempts() {
        let out = site.run("admin", &args, "clerk9-long-password-1\n");
        assert!(!out.status.success(), "admin {args:?} ran unlogged");
        assert!(
            text(&out).contains("access log first"),
            "admin {args:?}: {}",
            text(&out)
        );
    }
    // `state` reads through the CLI, which never writes the log.
    assert_eq!(
        state(&site),
        before,
        "a change was made that was not logged"
    );
}
