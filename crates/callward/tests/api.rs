//! The HTTP API (`docs/api.md`) through a real `callward serve --demo` on
//! loopback ports: sign-in with TOTP enrolment, one use per code, lockout,
//! the sign-in rate limit, CSRF for cookie sessions, bearer sessions,
//! paging, privileged calls masked, the authorisation matrix, and the one
//! error shape.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use callward_core::CallDetailRecord;
use callward_core::auth::TotpSecret;
use callward_core::auth::totp::{base32_decode, code_at};
use callward_store::{SqliteStore, Store as _};
use common::{DEADLINE, Server, scratch};
use serde_json::{Value, json};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the one error shape, the status and the stable code.
    fn error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        assert_eq!(
            self.body.as_object().map(serde_json::Map::len),
            Some(1),
            "{}",
            self.body
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
    }
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
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
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

fn login(addr: SocketAddr, user: &str, password: &str, totp: Option<&str>) -> Reply {
    let body = json!({"username": user, "password": password, "totp": totp}).to_string();
    request(addr, "POST", "/api/v1/sessions", &[], &body)
}

fn now_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

fn secret(uri: &str) -> TotpSecret {
    let b32 = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap();
    TotpSecret::new(base32_decode(b32).unwrap()).unwrap()
}

/// Enrols `user` (password then first code); the step used, the secret and the session.
fn enrol(addr: SocketAddr, user: &str) -> (u64, TotpSecret, Value) {
    let password = format!("demo-{user}");
    let r = login(addr, user, &password, None);
    assert_eq!(r.status, 202, "{}", r.body);
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    let secret = secret(uri);
    let step = now_step();
    let body = json!({
        "enrolment_token": r.body["enrolment_token"],
        "code": code_at(&secret, step * 30),
    });
    let r = request(
        addr,
        "POST",
        "/api/v1/sessions/enrolment",
        &[],
        &body.to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("HttpOnly"))
    );
    (step, secret, r.body)
}

fn call(id: &str, number: &str, privileged: bool, minute: u32) -> CallDetailRecord {
    serde_json::from_value(json!({
        "id": id,
        "facility_id": 1,
        "station_id": 1,
        "person_id": 1,
        "number": number,
        "privileged": privileged,
        "disposition": "completed",
        "hung_up_by": "station",
        "offered_at": format!("2026-11-20T10:{minute:02}:00Z"),
        "answered_at": format!("2026-11-20T10:{minute:02}:10Z"),
        "accepted_at": format!("2026-11-20T10:{minute:02}:25Z"),
        "ended_at": format!("2026-11-20T10:{minute:02}:55Z"),
        "billable_seconds": 30,
        "time_limit_reached": false,
        "blocked_by_called_party": false,
        "recording_id": if privileged { Value::Null } else { json!(id) },
        "rate_cents_per_minute": 7,
        "payer_account_id": null,
        "charge_cents": 0,
    }))
    .unwrap()
}

fn seed_calls(db: &std::path::Path) -> Vec<String> {
    let mut ids = Vec::new();
    let calls: Vec<CallDetailRecord> = (0..5)
        .map(|i| call(&format!("api-call-{i}"), "+15551230001", false, i))
        .chain([call("api-call-priv", "+15559870001", true, 9)])
        .collect();
    for c in &calls {
        ids.push(c.id.clone());
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = SqliteStore::open(db).await.unwrap();
            for c in &calls {
                store.record_call(c).await.unwrap();
            }
            store.close().await;
        });
    ids
}

#[test]
fn api_end_to_end_against_serve_demo() {
    let dir = scratch("api-e2e");
    let data = dir.join("data");
    let args = [
        "--demo",
        "--data-dir",
        data.to_str().unwrap(),
        "--http-listen",
        "127.0.0.1:0",
        "--sip-listen",
        "127.0.0.1:0",
    ];
    let mut server = Server::start(&args, &dir);
    let addr = server.wait_ready();
    let seeded = seed_calls(&data.join("callward.db"));

    // Errors all have one shape, even the router's own.
    request(addr, "GET", "/api/v1/nope", &[], "").error(404, "not_found");
    request(addr, "PUT", "/api/v1/me", &[], "").error(405, "method_not_allowed");
    request(addr, "GET", "/api/v1/me", &[], "").error(401, "not_signed_in");
    request(addr, "POST", "/api/v1/sessions", &[], "{not json").error(400, "bad_request");
    let doc = request(addr, "GET", "/api/v1/openapi.json", &[], "");
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");

    // Sign-in with TOTP enrolment; the code used to enrol cannot be used again.
    let (step, secret, session) = enrol(addr, "investigator");
    let token = session["token"].as_str().unwrap().to_owned();
    let csrf = session["csrf"].as_str().unwrap().to_owned();
    login(
        addr,
        "investigator",
        "demo-investigator",
        Some(&code_at(&secret, step * 30)),
    )
    .error(401, "sign_in_refused");
    let fresh = login(
        addr,
        "investigator",
        "demo-investigator",
        Some(&code_at(&secret, (step + 1) * 30)),
    );
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    let bearer = format!("Bearer {token}");
    let me = request(addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], "");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["role"], "investigator");

    // Without an open case the investigator searches (the matrix needs no
    // case for that) but is refused what its role may not do.
    let before = request(
        addr,
        "GET",
        "/api/v1/cases",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.body["items"], json!([]), "{}", before.body);
    let search = request(
        addr,
        "GET",
        "/api/v1/calls?limit=1",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(search.status, 200, "{}", search.body);
    for (method, path) in [
        ("GET", "/api/v1/audit/checkpoint"),
        ("GET", "/api/v1/audit/proof?index=0&size=1"),
        ("POST", "/api/v1/approvals/1/grant"),
        ("POST", "/api/v1/approvals/1/refuse"),
        ("GET", "/api/v1/accounts/+15551230001"),
    ] {
        request(addr, method, path, &[("Authorization", &bearer)], "").error(403, "forbidden");
    }

    // CSRF: a cookie session's unsafe request needs its token and no foreign Origin.
    let cookie = format!("callward_session={token}");
    let case =
        json!({"title": "API test case", "justification": "testing the HTTP API end to end"})
            .to_string();
    request(addr, "POST", "/api/v1/cases", &[("Cookie", &cookie)], &case).error(403, "csrf");
    request(
        addr,
        "POST",
        "/api/v1/cases",
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", "0".repeat(64).as_str()),
        ],
        &case,
    )
    .error(403, "csrf");
    request(
        addr,
        "POST",
        "/api/v1/cases",
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", "http://evil.example"),
        ],
        &case,
    )
    .error(403, "csrf");
    let origin = format!("http://{addr}");
    let opened = request(
        addr,
        "POST",
        "/api/v1/cases",
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", &origin),
        ],
        &case,
    );
    assert_eq!(opened.status, 201, "{}", opened.body);
    // A bearer session needs no CSRF token.
    let opened = request(
        addr,
        "POST",
        "/api/v1/cases",
        &[("Authorization", &bearer)],
        &case,
    );
    assert_eq!(opened.status, 201, "{}", opened.body);
    // A body that is not declared JSON: 415 in the same shape (found by schemathesis).
    request(
        addr,
        "POST",
        "/api/v1/cases",
        &[("Authorization", &bearer)],
        "",
    )
    .error(415, "unsupported_media_type");
    // Validation as the CLI: a short justification is refused, nothing opened.
    let short = json!({"title": "x", "justification": "short"}).to_string();
    request(
        addr,
        "POST",
        "/api/v1/cases",
        &[("Authorization", &bearer)],
        &short,
    )
    .error(400, "bad_request");

    // Paging: limit, after, next; every seeded call once; privileged masked.
    let mut seen = Vec::new();
    let mut path = "/api/v1/calls?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = request(addr, "GET", &path, &[("Authorization", &bearer)], "");
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            let id = item["id"].as_str().unwrap().to_owned();
            if item["privileged"] == true {
                assert!(item.get("number").is_none(), "{item}");
                assert!(item["recording_id"].is_null(), "{item}");
            } else {
                assert_eq!(item["number"], "+15551230001", "{item}");
            }
            seen.push(id);
        }
        assert!(!page.body.to_string().contains("9870001"), "{}", page.body);
        pages += 1;
        match page.body["next"].as_str() {
            Some(next) => path = format!("/api/v1/calls?limit=2&after={next}"),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    seen.sort();
    let mut expected = seeded;
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    request(
        addr,
        "GET",
        "/api/v1/calls?limit=0",
        &[("Authorization", &bearer)],
        "",
    )
    .error(400, "bad_request");
    request(
        addr,
        "GET",
        "/api/v1/calls?after=garbage",
        &[("Authorization", &bearer)],
        "",
    )
    .error(400, "bad_request");
    let detail = request(
        addr,
        "GET",
        "/api/v1/calls/api-call-priv",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(detail.body.get("number").is_none(), "{}", detail.body);
    assert!(detail.body["recording_id"].is_null(), "{}", detail.body);
    request(
        addr,
        "GET",
        "/api/v1/calls/no-such-call",
        &[("Authorization", &bearer)],
        "",
    )
    .error(404, "not_found");

    // An auditor reads the log, never call content.
    let (_, _, auditor) = enrol(addr, "auditor");
    let auditor = format!("Bearer {}", auditor["token"].as_str().unwrap());
    request(
        addr,
        "GET",
        "/api/v1/calls",
        &[("Authorization", &auditor)],
        "",
    )
    .error(403, "forbidden");
    request(
        addr,
        "GET",
        "/api/v1/calls/api-call-0",
        &[("Authorization", &auditor)],
        "",
    )
    .error(403, "forbidden");
    let cp = request(
        addr,
        "GET",
        "/api/v1/audit/checkpoint",
        &[("Authorization", &auditor)],
        "",
    );
    assert_eq!(cp.status, 200, "{}", cp.body);
    assert!(cp.body["size"].as_u64().unwrap() > 0);
    request(
        addr,
        "GET",
        "/api/v1/audit/checkpoint",
        &[("Authorization", &bearer)],
        "",
    )
    .error(403, "forbidden");

    // Call records are the investigator's alone: supervisor and admin are refused too.
    for user in ["supervisor", "admin"] {
        let (_, _, other) = enrol(addr, user);
        let other = format!("Bearer {}", other["token"].as_str().unwrap());
        request(
            addr,
            "GET",
            "/api/v1/calls",
            &[("Authorization", &other)],
            "",
        )
        .error(403, "forbidden");
        request(
            addr,
            "GET",
            "/api/v1/calls/api-call-0",
            &[("Authorization", &other)],
            "",
        )
        .error(403, "forbidden");
    }

    // Logout ends the session.
    let out = request(
        addr,
        "DELETE",
        "/api/v1/sessions",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(out.status, 204);
    request(addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], "")
        .error(401, "not_signed_in");

    // Lockout after five failures: then even the right password is refused.
    for i in 1..=5 {
        let r = login(addr, "attorney", "wrong password", None);
        let code = if i == 5 {
            "account_locked"
        } else {
            "sign_in_refused"
        };
        r.error(401, code);
    }
    login(addr, "attorney", "demo-attorney", None).error(401, "account_locked");

    // The sign-in rate limit (per address and per user name): 429 before
    // the eleventh try of one name, with the same error shape.
    let mut limited = false;
    for _ in 0..11 {
        let r = login(addr, "nobody", "guess", None);
        if r.status == 429 {
            r.error(429, "rate_limited");
            limited = true;
            break;
        }
        r.error(401, "sign_in_refused");
    }
    assert!(limited, "no 429 after 11 sign-in attempts");

    server.signal("TERM");
    assert!(server.wait_exit().success());
    // No secret reached the server's log.
    let log = server.log.join("\n");
    assert!(!log.contains(&token), "session token logged");
    assert!(!log.contains("demo-investigator"), "password logged");
    assert!(!log.contains("5551230001"), "number logged");
}
