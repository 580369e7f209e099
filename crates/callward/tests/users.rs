//! Console users and signing in through the real binary: `admin user
//! create` (password on stdin, TOTP shown once), `session login` (password
//! and code on stdin), five wrong passwords lock the account, an admin
//! unlocks it, a replayed code is refused; cases and the two-person rule
//! for approvals; each decision is in the access log.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use callward_audit::{Action, Entry};
use callward_core::auth::TotpSecret;
use callward_core::auth::totp::{base32_decode, code_at};
use common::{BIN, admin, scratch};

/// Runs `callward ARGS` with `stdin` written to it.
fn with_stdin(args: &[&str], cwd: &Path, stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
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

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn secret_from(out: &Output) -> TotpSecret {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let uri = stdout
        .split_whitespace()
        .find(|w| w.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("no otpauth URI in {stdout}"));
    let b32 = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap();
    TotpSecret::new(base32_decode(b32).unwrap()).unwrap()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Site {
    dir: std::path::PathBuf,
    data: String,
    keys: String,
}

impl Site {
    fn new(name: &str) -> Self {
        let dir = scratch(name);
        let data = dir.join("data");
        let keys = dir.join("keys");
        let out = admin(
            &data,
            &[
                "facility",
                "create",
                "--name",
                "Test Jail",
                "--kind",
                "jail",
                "--adp",
                "100",
                "--timezone",
                "America/Chicago",
                "--gateway",
                "127.0.0.1",
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        let (d, k) = (
            data.to_str().unwrap().to_owned(),
            keys.to_str().unwrap().to_owned(),
        );
        let out = common::run(&["keys", "init", "--key-dir", &k, "--data-dir", &d], &dir);
        assert!(out.status.success(), "{}", text(&out));
        Self {
            dir,
            data: d,
            keys: k,
        }
    }

    fn admin_in(&self, args: &[&str], stdin: &str) -> Output {
        let mut full = vec!["admin", "--data-dir", &self.data];
        full.extend_from_slice(args);
        if args.get(1) != Some(&"list") {
            full.extend_from_slice(&["--key-dir", &self.keys]);
        }
        with_stdin(&full, &self.dir, stdin)
    }

    fn create(&self, user: &str, role: &str, password: &str) -> Output {
        let out = self.admin_in(
            &["user", "create", user, "--role", role],
            &format!("{password}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
        out
    }

    /// `callward GROUP --data-dir D --key-dir K ARGS` with credentials on stdin.
    fn signed(&self, group: &str, args: &[&str], stdin: &str) -> Output {
        let mut full = vec![group, "--data-dir", &self.data, "--key-dir", &self.keys];
        full.extend_from_slice(args);
        with_stdin(&full, &self.dir, stdin)
    }

    fn login(&self, user: &str, stdin: &str) -> Output {
        self.signed("session", &["login", "--user", user], stdin)
    }

    /// The access log, decoded, from `audit export`.
    fn log(&self) -> Vec<Entry> {
        let out_file = self.dir.join(format!("log-{}.json", now_secs()));
        let out = common::run(
            &[
                "audit",
                "--data-dir",
                &self.data,
                "--key-dir",
                &self.keys,
                "export",
                "--out",
                out_file.to_str().unwrap(),
            ],
            &self.dir,
        );
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        std::fs::remove_file(&out_file).unwrap();
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let hex = e[1].as_str().unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                Entry::decode(&bytes).unwrap()
            })
            .collect()
    }
}

#[test]
fn lockout_unlock_totp_and_replay_through_the_binary() {
    let site = Site::new("users-login");
    // A password that fails validation changes nothing.
    let out = site.admin_in(&["user", "create", "weak", "--role", "attorney"], "short\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("at least 8"), "{}", text(&out));

    let created = site.create("j.doe", "investigator", "correct horse battery");
    let secret = secret_from(&created);
    assert!(!text(&created).contains("correct horse"));

    // Wrong password four times: refused, not locked; the fifth locks.
    for i in 0..5 {
        let out = site.login("j.doe", "not-the-passphrase\n000000\n");
        assert!(!out.status.success());
        assert_eq!(
            text(&out).contains("now locked"),
            i == 4,
            "attempt {i}: {}",
            text(&out)
        );
    }
    // Locked: the right password and code are refused too.
    let code = code_at(&secret, now_secs());
    let out = site.login("j.doe", &format!("correct horse battery\n{code}\n"));
    assert!(!out.status.success());
    assert!(text(&out).contains("locked"), "{}", text(&out));
    let list = site.admin_in(&["user", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("LOCKED"));

    let out = site.admin_in(&["user", "unlock", "j.doe"], "");
    assert!(out.status.success(), "{}", text(&out));
    // No code: refused (investigators need TOTP).
    let out = site.login("j.doe", "correct horse battery\n");
    assert!(!out.status.success(), "{}", text(&out));
    let code = code_at(&secret, now_secs());
    let out = site.login("j.doe", &format!("correct horse battery\n{code}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed in as j.doe (investigator"));
    assert!(!text(&out).contains(&code), "the code is not echoed");
    // The same code again: a replay.
    let out = site.login("j.doe", &format!("correct horse battery\n{code}\n"));
    assert!(!out.status.success(), "replayed code accepted");

    // An attorney needs no second factor.
    site.create("a.lawyer", "attorney", "objection sustained");
    let out = site.login("a.lawyer", "objection sustained\n");
    assert!(out.status.success(), "{}", text(&out));

    // Every attempt is in the log: 5 + 1 + 1 + 1 failures, 2 sign-ins, an alert.
    let entries = site.log();
    let count = |action: Action| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(count(Action::Login), 2);
    assert_eq!(count(Action::LoginFailed), 8);
    assert_eq!(count(Action::Alert), 1, "the lock");
    // Passwords and codes never reach the log.
    for e in &entries {
        for field in [&e.user, &e.justification, &e.object_id] {
            assert!(!field.contains("correct horse") && !field.contains("not-the-passphrase"));
        }
    }
}

#[test]
fn cases_and_the_two_person_rule() {
    let site = Site::new("users-approvals");
    let inv = secret_from(&site.create("inv", "investigator", "investigate this"));
    let sup = secret_from(&site.create("sup", "supervisor", "supervise that"));
    // Codes are single-use, so each command waits for its own step when needed.
    let mut last: std::collections::HashMap<&str, u64> = Default::default();
    let mut creds = |user: &'static str, secret: &TotpSecret, password: &str| {
        let mut t = now_secs();
        while last.get(user).is_some_and(|&s| s >= t / 30) {
            std::thread::sleep(std::time::Duration::from_millis(500));
            t = now_secs();
        }
        last.insert(user, t / 30);
        format!("{password}\n{}\n", code_at(secret, t))
    };
    let out = site.signed(
        "case",
        &[
            "--user",
            "inv",
            "open",
            "--title",
            "Case 12",
            "--justification",
            "threats against a witness",
        ],
        &creds("inv", &inv, "investigate this"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("case 1 opened"));
    // A supervisor may not open cases.
    let out = site.signed(
        "case",
        &[
            "--user",
            "sup",
            "open",
            "--title",
            "Case 13",
            "--justification",
            "a supervisor's own case",
        ],
        &creds("sup", &sup, "supervise that"),
    );
    assert!(!out.status.success());
    let out = site.signed(
        "approval",
        &[
            "--user",
            "inv",
            "request",
            "--count",
            "5",
            "--reason",
            "five more calls for case 12",
        ],
        &creds("inv", &inv, "investigate this"),
    );
    assert!(out.status.success(), "{}", text(&out));
    // The requester cannot grant it (not a supervisor, and the same person).
    let out = site.signed(
        "approval",
        &["--user", "inv", "grant", "1"],
        &creds("inv", &inv, "investigate this"),
    );
    assert!(!out.status.success());
    let out = site.signed(
        "approval",
        &["--user", "sup", "grant", "1"],
        &creds("sup", &sup, "supervise that"),
    );
    assert!(out.status.success(), "{}", text(&out));
    // Decided once.
    let out = site.signed(
        "approval",
        &["--user", "sup", "refuse", "1"],
        &creds("sup", &sup, "supervise that"),
    );
    assert!(!out.status.success());
    let entries = site.log();
    let count = |action: Action| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(count(Action::CaseOpen), 1);
    assert_eq!(count(Action::ApprovalRequest), 1);
    assert_eq!(count(Action::ApprovalGrant), 1);
    assert_eq!(count(Action::Refused), 3, "{entries:?}");
}

#[test]
fn a_family_user_is_created_bound_to_its_number() {
    let site = Site::new("users-family");
    let pw = "family passphrase\n";
    // A family user without a number, and a number for another role: refused, nothing made.
    let out = site.admin_in(&["user", "create", "kin", "--role", "family"], pw);
    assert!(!out.status.success());
    assert!(text(&out).contains("needs --number"), "{}", text(&out));
    let out = site.admin_in(
        &[
            "user",
            "create",
            "inv",
            "--role",
            "investigator",
            "--number",
            "+15551230001",
        ],
        pw,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("only for --role family"),
        "{}",
        text(&out)
    );
    let out = site.admin_in(
        &[
            "user", "create", "kin", "--role", "family", "--number", "12",
        ],
        pw,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--number"), "{}", text(&out));
    let out = site.admin_in(&["user", "list"], "");
    assert!(!text(&out).contains("kin"), "{}", text(&out));
    assert!(!text(&out).contains("inv"), "{}", text(&out));

    // No account for the number yet: it is opened, then bound; no TOTP.
    let out = site.admin_in(
        &[
            "user",
            "create",
            "kin",
            "--role",
            "family",
            "--number",
            "(555) 123-0001",
        ],
        pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("+1******0001"), "{}", text(&out));
    assert!(!text(&out).contains("5551230001"), "{}", text(&out));
    assert!(!text(&out).contains("otpauth://"), "{}", text(&out));
    let statement = admin(
        Path::new(&site.data),
        &["account", "statement", "--number", "+15551230001"],
    );
    assert!(statement.status.success(), "{}", text(&statement));
    assert!(
        text(&statement).contains("balance $0.00"),
        "{}",
        text(&statement)
    );

    // The number is bound once; the user name is taken.
    let out = site.admin_in(
        &[
            "user",
            "create",
            "kin2",
            "--role",
            "family",
            "--number",
            "+15551230001",
        ],
        pw,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("already bound"), "{}", text(&out));
    // A family user keeps its role, and no one becomes one by set-role.
    let out = site.admin_in(&["user", "set-role", "kin", "admin"], "");
    assert!(!out.status.success());
    assert!(text(&out).contains("keeps that role"), "{}", text(&out));

    // It signs in with the password alone, and its creation is in the log.
    let out = site.login("kin", pw);
    assert!(out.status.success(), "{}", text(&out));
    let created = site
        .log()
        .into_iter()
        .find(|e| e.action == Action::PermissionChange && e.object_id == "kin")
        .expect("the creation is logged");
    assert!(
        created.justification.contains("bound to +1******0001"),
        "{}",
        created.justification
    );
}
