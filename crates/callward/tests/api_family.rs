//! The family API through a real `callward serve --demo`: the demo
//! `family` user (bound to +15551230001) reads its own account, statement
//! (JSON and CSV) and calls, records a deposit, blocks and unblocks the
//! facility; another number (+15551230002), the call search, recordings
//! and admin endpoints are refused.

mod common;

use std::net::SocketAddr;

use common::{Server, admin, json_of, scratch};
use serde_json::{Value, json};

/// One HTTP/1.1 request with a bearer token: (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    common::http(addr, method, path, &headers, body)
}

#[test]
fn the_family_user_reaches_its_own_account_and_nothing_else() {
    let dir = scratch("api-family");
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

    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/sessions",
        None,
        Some(&json!({"username": "family", "password": "demo-family"})),
    );
    assert_eq!(code, 201, "{body}");
    let token = json_of(&body)["token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());

    let (code, body) = http(addr, "GET", "/api/v1/accounts/+15551230001", t, None);
    assert_eq!(code, 200, "{body}");
    let account = json_of(&body);
    assert_eq!(account["balance_cents"], 1000);
    assert_eq!(account["number"], "+1******0001");

    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/accounts/+15551230001/deposits",
        t,
        Some(&json!({"amount_cents": 2550, "reference": "RCPT-API-1"})),
    );
    assert_eq!(code, 201, "{body}");
    assert_eq!(json_of(&body)["balance_cents"], 3550);
    // A bad amount is a 400 and changes nothing.
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/accounts/+15551230001/deposits",
        t,
        Some(&json!({"amount_cents": -5, "reference": "x"})),
    );
    assert_eq!(code, 400, "{body}");

    let (code, body) = http(
        addr,
        "GET",
        "/api/v1/accounts/+15551230001/statement",
        t,
        None,
    );
    assert_eq!(code, 200, "{body}");
    let items = json_of(&body)["items"].as_array().unwrap().clone();
    let last = items.last().unwrap();
    assert_eq!(last["type"], "deposit");
    assert_eq!(last["reference"], "RCPT-API-1");
    assert_eq!(last["balance_cents"], 3550);
    let (code, csv) = http(
        addr,
        "GET",
        "/api/v1/accounts/+15551230001/statement?format=csv",
        t,
        None,
    );
    assert_eq!(code, 200, "{csv}");
    assert!(
        csv.starts_with(callward_core::ledger::STATEMENT_HEADER),
        "{csv}"
    );
    assert!(csv.contains("RCPT-API-1") && csv.contains("35.50"), "{csv}");
    // Dates in the demo facility's zone (America/Chicago), offset written.
    let deposit_line = csv.lines().find(|l| l.contains("RCPT-API-1")).unwrap();
    assert!(
        deposit_line.contains("-06:00") || deposit_line.contains("-05:00"),
        "{deposit_line}"
    );
    let (code, body) = http(addr, "GET", "/api/v1/accounts/+15551230001/calls", t, None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["items"], json!([]));

    // Block and unblock the demo facility (id 1), as pressing 9 would.
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/accounts/+15551230001/block",
        t,
        Some(&json!({"facility": 1})),
    );
    assert_eq!(code, 200, "{body}");
    let listed = admin(&data, &["--json", "block", "list", "--facility", "1"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("called_party"),
        "{listed:?}"
    );
    let (code, body) = http(
        addr,
        "DELETE",
        "/api/v1/accounts/+15551230001/block?facility=1",
        t,
        None,
    );
    assert_eq!(code, 200, "{body}");
    let listed = admin(&data, &["--json", "block", "list", "--facility", "1"]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("called_party"),
        "{listed:?}"
    );

    // Another number's account: refused, for reads and changes alike.
    for (method, path, body) in [
        ("GET", "/api/v1/accounts/+15551230002", None),
        ("GET", "/api/v1/accounts/+15551230002/statement", None),
        ("GET", "/api/v1/accounts/+15551230002/calls", None),
        (
            "POST",
            "/api/v1/accounts/+15551230002/deposits",
            Some(json!({"amount_cents": 100, "reference": "r"})),
        ),
        (
            "POST",
            "/api/v1/accounts/+15551230002/block",
            Some(json!({"facility": 1})),
        ),
    ] {
        let (code, text) = http(addr, method, path, t, body.as_ref());
        assert_eq!(code, 403, "{method} {path}: {text}");
        assert!(text.contains("not your account"), "{text}");
    }
    // Call search, a call, recordings-bearing routes, admin and audit: refused.
    for path in [
        "/api/v1/calls",
        "/api/v1/cases",
        "/api/v1/approvals",
        "/api/v1/audit/checkpoint",
    ] {
        let (code, text) = http(addr, "GET", path, t, None);
        assert_eq!(code, 403, "{path}: {text}");
    }
    let admin_out = admin(&data, &["account", "statement", "--number", "+15551230002"]);
    assert!(
        String::from_utf8_lossy(&admin_out.stdout).contains("balance $0.00"),
        "the other account is unchanged: {admin_out:?}"
    );

    // Another role cannot use the family routes, even on the bound number.
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/sessions",
        None,
        Some(&json!({"username": "attorney", "password": "demo-attorney"})),
    );
    assert_eq!(code, 201, "{body}");
    let other = json_of(&body)["token"].as_str().unwrap().to_owned();
    let (code, text) = http(
        addr,
        "GET",
        "/api/v1/accounts/+15551230001",
        Some(&other),
        None,
    );
    assert_eq!(code, 403, "{text}");
    // Nor close it; and the family user cannot close another number's.
    let (code, text) = http(
        addr,
        "POST",
        "/api/v1/accounts/+15551230001/close",
        Some(&other),
        None,
    );
    assert_eq!(code, 403, "{text}");
    let (code, text) = http(addr, "POST", "/api/v1/accounts/+15551230002/close", t, None);
    assert_eq!(code, 403, "{text}");

    // Closing the own account returns the whole balance, once.
    let (code, body) = http(addr, "POST", "/api/v1/accounts/+15551230001/close", t, None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["returned_cents"], 3550);
    let (code, body) = http(addr, "GET", "/api/v1/accounts/+15551230001", t, None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["closed"], true);
    assert_eq!(json_of(&body)["balance_cents"], 0);
    let (code, body) = http(addr, "POST", "/api/v1/accounts/+15551230001/close", t, None);
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("already closed"), "{body}");
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/accounts/+15551230001/deposits",
        t,
        Some(&json!({"amount_cents": 100, "reference": "after-close"})),
    );
    assert_eq!(code, 409, "a closed account takes no deposit: {body}");
    let statement = admin(&data, &["account", "statement", "--number", "+15551230001"]);
    let statement = String::from_utf8_lossy(&statement.stdout);
    assert!(statement.contains("closure"), "{statement}");
    assert!(statement.contains("balance $0.00"), "{statement}");

    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    // No full number in the server's log.
    assert!(
        !server.log.join("\n").contains("5551230001"),
        "a full number was logged"
    );
}
