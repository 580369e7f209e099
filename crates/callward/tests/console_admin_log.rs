//! Every administrator's form in the console writes exactly one access-log
//! entry, with the CLI's action, object kind and object (as
//! `admin_log.rs` checks for `callward admin`), before its change, through
//! the real binary: `serve --demo`, the demo admin signed in over HTTP
//! (password and TOTP code), each form posted with the session's CSRF
//! token. A form with bad input writes none; another role's post writes
//! no change entry.

mod access_site;
mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use access_site::{Site, text};
use callward_audit::{Action, ObjectKind};
use common::{Server, scratch};

/// One HTTP/1.1 request: (status, headers lower-cased, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let body = body.join("&");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (code, headers, body.to_owned())
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first `name="csrf" value="..."` of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Signs `user` in on the console; the session cookie.
fn sign_in(addr: SocketAddr, site: &mut Site, user: &str) -> String {
    sign_in_with(addr, site, user, &format!("demo-{user}"))
}

/// [`sign_in`] with another password.
fn sign_in_with(addr: SocketAddr, site: &mut Site, user: &str, password: &str) -> String {
    let out = site.run("admin", &["user", "reset-totp", user], "");
    assert!(out.status.success(), "{}", text(&out));
    let secret = access_site::secret_from(&out);
    let password = password.to_owned();
    let creds = site.creds(user, &secret, &password);
    let code = creds.lines().nth(1).unwrap().to_owned();
    let (status, headers, body) = http(
        addr,
        "POST",
        "/console/sign-in",
        None,
        &[("username", user), ("password", &password), ("code", &code)],
    );
    assert!(status == 303 || status == 200, "{status}: {body}");
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no session cookie: {body}"));
    assert!(cookie.starts_with("callward_session="), "{cookie}");
    cookie
}

/// A form: path, fields, the entry's action, kind, object id ("" to skip)
/// and justification.
type Case<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    Action,
    ObjectKind,
    &'a str,
    &'a str,
);

#[test]
fn every_admin_form_in_the_console_appends_exactly_one_entry() {
    let dir = scratch("console-admin-log");
    let data = dir.join("data");
    let mut server = Server::start(
        &[
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--demo",
        ],
        &dir,
    );
    let addr = server.wait_ready();
    let mut site = Site::at(&dir, &data, &dir.join("callward-keys"));
    let out = site.run(
        "admin",
        &[
            "privileged",
            "register",
            "--number",
            "+15559870002",
            "--attorney",
            "Sam Counsel",
            "--bar-number",
            "24000002",
            "--bar-state",
            "TX",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    let registration = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();

    let cookie = sign_in(addr, &mut site, "admin");
    let (status, _, page) = http(addr, "GET", "/console/admin/facilities", Some(&cookie), &[]);
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);

    // (path, form, action, kind, object id or "" to skip, justification).
    let cases: Vec<Case<'_>> = vec![
        (
            "/console/admin/stations",
            vec![
                ("facility", "1"),
                ("code", "station-102"),
                ("location", "B"),
            ],
            Action::AdminChange,
            ObjectKind::Station,
            "station-102",
            "create in facility 1",
        ),
        (
            "/console/admin/stations/enabled",
            vec![("station", "station-102"), ("value", "false")],
            Action::AdminChange,
            ObjectKind::Station,
            "",
            "update: enabled",
        ),
        (
            "/console/admin/stations/unlock",
            vec![("station", "station-101")],
            Action::AdminChange,
            ObjectKind::Station,
            "",
            "unlock: clear failed PIN entries",
        ),
        (
            "/console/admin/people",
            vec![
                ("facility", "1"),
                ("booking_id", "24-00117"),
                ("name", "Jordan Reyes"),
                ("language", "es"),
            ],
            Action::AdminChange,
            ObjectKind::Person,
            "24-00117",
            "create in facility 1, PIN set",
        ),
        (
            "/console/admin/people/reset-pin",
            vec![("person", "1")],
            Action::AdminChange,
            ObjectKind::Person,
            "1",
            "set PIN",
        ),
        (
            "/console/admin/people/language",
            vec![("person", "1"), ("language", "es")],
            Action::AdminChange,
            ObjectKind::Person,
            "1",
            "update: language",
        ),
        (
            "/console/admin/people/1/contacts",
            vec![("number", "5551230003"), ("label", "Aunt")],
            Action::AdminChange,
            ObjectKind::Contact,
            "+1******0003",
            "approve for person 1",
        ),
        (
            "/console/admin/people/1/blocks",
            vec![("number", "+15550000777"), ("list", "facility")],
            Action::AdminChange,
            ObjectKind::Block,
            "+1******0777",
            "block (facility list)",
        ),
        (
            "/console/admin/privileged/reject",
            vec![("id", registration.as_str())],
            Action::AdminChange,
            ObjectKind::Privileged,
            registration.as_str(),
            "rejected by admin",
        ),
        (
            "/console/admin/rules",
            vec![
                ("facility", "1"),
                ("hours", "08:00-20:00"),
                ("max_call_minutes", "20"),
                ("max_calls_per_day", "none"),
            ],
            Action::AdminChange,
            ObjectKind::Facility,
            "1",
            "update: hours, max call minutes, max calls per day",
        ),
        (
            "/console/admin/users",
            vec![
                ("username", "j.doe"),
                ("role", "investigator"),
                ("password", "a long passphrase"),
            ],
            Action::PermissionChange,
            ObjectKind::User,
            "j.doe",
            "create user, role investigator, agency 1",
        ),
        (
            "/console/admin/users/unlock",
            vec![("username", "j.doe")],
            Action::PermissionChange,
            ObjectKind::User,
            "j.doe",
            "unlock",
        ),
    ];
    for (path, form, action, kind, object, what) in cases {
        let before = site.log().len();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let (status, _, body) = http(addr, "POST", path, Some(&cookie), &fields);
        assert!(status == 303 || status == 200, "{path}: {status} {body}");
        let log = site.log();
        assert_eq!(log.len(), before + 1, "{path}: exactly one entry");
        let e = log.last().unwrap();
        assert_eq!((e.action, e.object_kind), (action, kind), "{path}");
        assert_eq!(e.user, "admin", "{path}");
        if !object.is_empty() {
            assert_eq!(e.object_id, object, "{path}");
        }
        assert_eq!(e.justification, what, "{path}");
        assert!(
            !e.object_id.contains("555123") && !e.justification.contains("555123"),
            "{path}: no full number"
        );
    }

    // Bad input: refused with the parser's text, nothing logged.
    let before = site.log().len();
    for (path, form) in [
        (
            "/console/admin/stations",
            vec![("facility", "1"), ("code", "bad id!")],
        ),
        (
            "/console/admin/people/1/contacts",
            vec![("number", "555-01")],
        ),
        (
            "/console/admin/rules",
            vec![
                ("facility", "1"),
                ("hours", "25:00-01:00"),
                ("max_call_minutes", "15"),
                ("max_calls_per_day", "none"),
            ],
        ),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let (status, _, body) = http(addr, "POST", path, Some(&cookie), &fields);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("role=\"alert\""), "{path}");
    }
    assert_eq!(site.log().len(), before, "bad input logs nothing");

    // Another role, with its own valid CSRF token: refused, no change entry.
    let other = sign_in(addr, &mut site, "investigator");
    let (_, _, home) = http(addr, "GET", "/console", Some(&other), &[]);
    let other_csrf = csrf_of(&home);
    let before = site.log().len();
    let (status, _, _) = http(
        addr,
        "POST",
        "/console/admin/stations",
        Some(&other),
        &[
            ("csrf", &other_csrf),
            ("facility", "1"),
            ("code", "station-666"),
        ],
    );
    assert_eq!(status, 403);
    assert!(
        site.log()[before..]
            .iter()
            .all(|e| e.action != Action::AdminChange),
        "no change logged for a refused role"
    );

    // An administrator of another agency: the demo agency's facility,
    // person and users are refused as unknown, and nothing is logged as a
    // change.
    for args in [
        &["agency", "create", "Other County"][..],
        &[
            "user",
            "create",
            "other.admin",
            "--role",
            "admin",
            "--agency",
            "2",
        ],
    ] {
        let out = site.run("admin", args, "another long passphrase\n");
        assert!(out.status.success(), "{}", text(&out));
    }
    let foreign = sign_in_with(addr, &mut site, "other.admin", "another long passphrase");
    let (status, _, page) = http(
        addr,
        "GET",
        "/console/admin/facilities",
        Some(&foreign),
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        !page.contains("Demo County Jail"),
        "another agency's facility listed"
    );
    let foreign_csrf = csrf_of(&page);
    let (status, _, _) = http(addr, "GET", "/console/admin/people/1", Some(&foreign), &[]);
    assert_eq!(status, 403, "another agency's person");
    let before = site.log().len();
    for (path, form) in [
        (
            "/console/admin/stations",
            vec![("facility", "1"), ("code", "station-777")],
        ),
        (
            "/console/admin/stations/unlock",
            vec![("station", "station-101")],
        ),
        ("/console/admin/people/reset-pin", vec![("person", "1")]),
        (
            "/console/admin/people/1/blocks",
            vec![("number", "+15550000778")],
        ),
        (
            "/console/admin/rules",
            vec![
                ("facility", "1"),
                ("hours", "always"),
                ("max_call_minutes", "15"),
                ("max_calls_per_day", "none"),
            ],
        ),
    ] {
        let mut fields = vec![("csrf", foreign_csrf.as_str())];
        fields.extend(form.iter().copied());
        let (status, _, body) = http(addr, "POST", path, Some(&foreign), &fields);
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, _, body) = http(
        addr,
        "POST",
        "/console/admin/users/unlock",
        Some(&foreign),
        &[("csrf", &foreign_csrf), ("username", "j.doe")],
    );
    assert_eq!(status, 400, "another agency's user is unknown: {body}");
    assert!(
        site.log()[before..]
            .iter()
            .all(|e| e.action != Action::AdminChange && e.action != Action::PermissionChange),
        "no change logged for another agency's admin"
    );

    // The log refuses entries (a full disk, say): every change is refused
    // and nothing changes.
    let state = |site: &Site| -> String {
        let mut all = String::new();
        for args in [
            &["--json", "station", "list"][..],
            &["--json", "person", "list", "--facility", "1"],
            &[
                "--json",
                "contact",
                "list",
                "--facility",
                "1",
                "--booking-id",
                "24-00117",
            ],
            &["--json", "user", "list"],
        ] {
            let out = site.run("admin", args, "");
            assert!(out.status.success(), "{}", text(&out));
            all.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        all
    };
    let before = state(&site);
    let entries = site.log().len();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = data.join("callward.db");
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
    for (path, form) in [
        (
            "/console/admin/stations",
            vec![("facility", "1"), ("code", "station-103")],
        ),
        (
            "/console/admin/people",
            vec![
                ("facility", "1"),
                ("booking_id", "24-00118"),
                ("name", "A B"),
                ("language", "en"),
            ],
        ),
        (
            "/console/admin/people/2/contacts",
            vec![("number", "5551230004")],
        ),
        (
            "/console/admin/users",
            vec![
                ("username", "k.doe"),
                ("role", "auditor"),
                ("password", "a long passphrase"),
            ],
        ),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let (status, _, body) = http(addr, "POST", path, Some(&cookie), &fields);
        assert_eq!(status, 500, "{path}: {body}");
        assert!(body.contains("Nothing was changed"), "{path}");
    }
    assert_eq!(
        state(&site),
        before,
        "a change was made that was not logged"
    );
    assert_eq!(site.log().len(), entries);

    server.signal("TERM");
    assert!(server.wait_exit().success());
}
