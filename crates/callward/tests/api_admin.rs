//! The administrator's API through a real `callward serve --demo`:
//! stations (list, add, disable, unlock), people (admitted with a PIN
//! shown once, PIN reset, language; listed without PINs), a person's
//! approved and blocked numbers, and the attorney registry (verify with the sealing run, reject), each
//! change refused to other roles and to other agencies' facilities.

mod common;

use common::{Demo, api_sign_in, http, json_of, scratch};
use serde_json::{Value, json};

#[test]
fn an_administrator_manages_stations_and_the_registry_through_the_api() {
    let mut demo = Demo::start(&scratch("api-admin"));
    let addr = demo.http;
    let admin = format!("Bearer {}", api_sign_in(addr, "admin"));
    let a = [("Authorization", admin.as_str())];
    let get = |path: &str, auth: &[(&str, &str)]| -> (u16, Value) {
        let (code, body) = http(addr, "GET", path, auth, None);
        (
            code,
            if code == 200 {
                json_of(&body)
            } else {
                json!(body)
            },
        )
    };
    let post = |path: &str, auth: &[(&str, &str)], body: Value| {
        http(addr, "POST", path, auth, Some(&body))
    };

    // Stations of the demo facility (1).
    let (code, list) = get("/api/v1/facilities/1/stations", &a);
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["items"][0]["code"], "station-101");
    let (code, body) = post(
        "/api/v1/facilities/1/stations",
        &a,
        json!({"code": "station-102", "location": "B unit"}),
    );
    assert_eq!(code, 201, "{body}");
    let station = json_of(&body)["id"].as_i64().unwrap();
    let (code, body) = post(
        "/api/v1/facilities/1/stations",
        &a,
        json!({"code": "station-102"}),
    );
    assert_eq!(code, 409, "a code is unique: {body}");
    let (code, body) = post(
        "/api/v1/facilities/1/stations",
        &a,
        json!({"code": "bad code!"}),
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(get("/api/v1/facilities/999/stations", &a).0, 404);
    let (code, body) = post(
        &format!("/api/v1/stations/{station}/enabled"),
        &a,
        json!({"enabled": false}),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["enabled"], false);
    let (code, body) = post(&format!("/api/v1/stations/{station}/unlock"), &a, json!({}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["cleared"], 0);
    assert_eq!(post("/api/v1/stations/999/unlock", &a, json!({})).0, 404);

    // People: listed, with whether a PIN is set, never the PIN.
    let (code, people) = get("/api/v1/facilities/1/people", &a);
    assert_eq!(code, 200, "{people}");
    assert_eq!(people["items"][0]["booking_id"], "DEMO-0001");
    assert_eq!(people["items"][0]["has_pin"], true);
    assert!(!people.to_string().contains("246810"), "no PIN in {people}");

    // Admit a person: the PIN is in that response only, never in a list.
    let (code, body) = post(
        "/api/v1/facilities/1/people",
        &a,
        json!({"booking_id": "API-0002", "name": "Sam Smith", "language": "es"}),
    );
    assert_eq!(code, 201, "{body}");
    let admitted = json_of(&body);
    let person = admitted["id"].as_i64().unwrap();
    let pin = admitted["pin"].as_str().unwrap().to_owned();
    assert!(
        pin.len() >= 4 && pin.bytes().all(|b| b.is_ascii_digit()),
        "{pin}"
    );
    assert_eq!(admitted["has_pin"], true);
    let (code, body) = post(
        "/api/v1/facilities/1/people",
        &a,
        json!({"booking_id": "API-0002", "name": "Again", "language": "en"}),
    );
    assert_eq!(code, 409, "a booking id is unique per facility: {body}");
    // Paged by id: one at a time, then the next page from the cursor.
    let (code, first) = get("/api/v1/facilities/1/people?limit=1", &a);
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next"].as_str().expect("a second page").to_owned();
    let (code, second) = get(
        &format!("/api/v1/facilities/1/people?limit=1&after={cursor}"),
        &a,
    );
    assert_eq!(code, 200, "{second}");
    assert_eq!(second["items"][0]["id"], person);
    assert_eq!(second["next"], Value::Null);
    assert_eq!(get("/api/v1/facilities/1/people?limit=0", &a).0, 400);
    assert_eq!(get("/api/v1/facilities/1/people?after=x", &a).0, 400);
    let (code, body) = post(
        "/api/v1/facilities/1/people",
        &a,
        json!({"booking_id": "API-0003", "name": "X", "language": "fr"}),
    );
    assert_eq!(code, 400, "{body}");
    let (_, people) = get("/api/v1/facilities/1/people", &a);
    assert!(!people.to_string().contains(&pin), "no PIN in the list");
    let (code, body) = post(&format!("/api/v1/people/{person}/pin"), &a, json!({}));
    assert_eq!(code, 200, "{body}");
    let new_pin = json_of(&body)["pin"].as_str().unwrap().to_owned();
    assert_eq!(new_pin.len(), pin.len());
    let (code, body) = post(
        &format!("/api/v1/people/{person}/language"),
        &a,
        json!({"language": "en"}),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["language"], "en");
    assert_eq!(post("/api/v1/people/999/pin", &a, json!({})).0, 404);

    // The person's numbers: approve, block (own list and the facility's),
    // list, remove.
    let numbers = format!("/api/v1/people/{person}/numbers");
    let (code, body) = post(
        &numbers,
        &a,
        json!({"list": "approved", "number": "+15551239001", "label": "Mother"}),
    );
    assert_eq!(code, 201, "{body}");
    let approval = json_of(&body)["id"].as_i64().unwrap();
    assert_eq!(
        post(
            &numbers,
            &a,
            json!({"list": "approved", "number": "+15551239001"})
        )
        .0,
        409
    );
    assert_eq!(
        post(&numbers, &a, json!({"list": "approved", "number": "12"})).0,
        400
    );
    assert_eq!(
        post(
            &numbers,
            &a,
            json!({"list": "maybe", "number": "+15551239002"})
        )
        .0,
        400
    );
    let (code, body) = post(
        &numbers,
        &a,
        json!({"list": "blocked", "number": "+15551239002", "label": "threats"}),
    );
    assert_eq!(code, 201, "{body}");
    let (code, body) = post(
        &numbers,
        &a,
        json!({"list": "facility_blocked", "number": "+15551239003"}),
    );
    assert_eq!(code, 201, "{body}");
    let (code, lists) = get(&numbers, &a);
    assert_eq!(code, 200, "{lists}");
    assert_eq!(lists["approved"][0]["label"], "Mother");
    let blocked: Vec<&str> = lists["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["number"].as_str().unwrap())
        .collect();
    assert!(
        blocked.contains(&"+15551239002") && blocked.contains(&"+15551239003"),
        "{lists}"
    );
    let remove = format!("{numbers}/{approval}?list=approved");
    assert_eq!(http(addr, "DELETE", &remove, &a, None).0, 200);
    assert_eq!(
        http(addr, "DELETE", &remove, &a, None).0,
        404,
        "gone already"
    );
    assert_eq!(
        http(
            addr,
            "DELETE",
            &format!("{numbers}/{approval}?list=other"),
            &a,
            None
        )
        .0,
        400
    );

    // The registry: an attorney's registration, verified (sealing run)
    // and another rejected.
    let attorney = format!("Bearer {}", api_sign_in(addr, "attorney"));
    let t = [("Authorization", attorney.as_str())];
    let register = |number: &str| {
        let (code, body) = post(
            "/api/v1/attorney/numbers",
            &t,
            json!({"number": number, "name": "Ann Counsel", "bar_number": "555", "bar_state": "IL"}),
        );
        assert_eq!(code, 201, "{body}");
        json_of(&body)["id"].as_i64().unwrap()
    };
    let (one, two) = (register("+15559870601"), register("+15559870602"));
    let (code, reg) = get("/api/v1/privileged", &a);
    assert_eq!(code, 200, "{reg}");
    assert_eq!(reg["items"].as_array().unwrap().len(), 3, "{reg}");
    let (code, body) = post(&format!("/api/v1/privileged/{one}/verify"), &a, json!({}));
    assert_eq!(code, 200, "{body}");
    let verified = json_of(&body);
    assert_eq!(verified["verification"], "verified");
    assert_eq!(verified["verified_by"], "admin");
    assert!(
        verified["sealing"].is_string(),
        "the sealing run's summary: {verified}"
    );
    let (code, body) = post(&format!("/api/v1/privileged/{two}/reject"), &a, json!({}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["verification"], "rejected");
    assert_eq!(post("/api/v1/privileged/999/verify", &a, json!({})).0, 404);

    // Other roles: refused.
    let inv = format!("Bearer {}", api_sign_in(addr, "investigator"));
    let i = [("Authorization", inv.as_str())];
    assert_eq!(get("/api/v1/facilities/1/stations", &i).0, 403);
    assert_eq!(get("/api/v1/facilities/1/people", &i).0, 403);
    assert_eq!(get("/api/v1/privileged", &i).0, 403);
    assert_eq!(
        post(
            "/api/v1/facilities/1/people",
            &i,
            json!({"booking_id": "Z", "name": "Z", "language": "en"})
        )
        .0,
        403
    );
    assert_eq!(
        post(
            &numbers,
            &i,
            json!({"list": "approved", "number": "+15551239009"})
        )
        .0,
        403
    );
    assert_eq!(
        post(&format!("/api/v1/privileged/{two}/verify"), &i, json!({})).0,
        403
    );
    assert_eq!(
        post(&format!("/api/v1/privileged/{one}/reject"), &t, json!({})).0,
        403
    );

    // An administrator of another agency: the demo agency's facility,
    // station, person and registry changes are unknown or refused, and
    // nothing is changed.
    let out = common::admin(&demo.data, &["agency", "create", "Other County"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::admin_with_stdin(
        &demo.data,
        &[
            "user",
            "create",
            "other.admin",
            "--role",
            "admin",
            "--agency",
            "2",
        ],
        "another long passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI enrols an administrator's authenticator at creation: its
    // secret is printed once, as an otpauth URI.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secret = stdout
        .split_whitespace()
        .find(|w| w.starts_with("otpauth://totp/"))
        .and_then(|uri| {
            uri.split(['?', '&'])
                .find_map(|p| p.strip_prefix("secret="))
        })
        .unwrap_or_else(|| panic!("no TOTP secret in {stdout}"));
    let secret = callward_core::auth::totp::TotpSecret::new(
        callward_core::auth::totp::base32_decode(secret).unwrap(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (code, body) = post(
        "/api/v1/sessions",
        &[],
        json!({"username": "other.admin", "password": "another long passphrase",
               "totp": callward_core::auth::totp::code_at(&secret, now)}),
    );
    assert_eq!(code, 201, "{body}");
    let foreign = format!("Bearer {}", json_of(&body)["token"].as_str().unwrap());
    let f = [("Authorization", foreign.as_str())];
    assert_eq!(get("/api/v1/facilities/1/stations", &f).0, 404);
    assert_eq!(get("/api/v1/facilities/1/people", &f).0, 404);
    assert_eq!(
        post(
            "/api/v1/facilities/1/stations",
            &f,
            json!({"code": "station-777"})
        )
        .0,
        404
    );
    assert_eq!(
        post(&format!("/api/v1/stations/{station}/unlock"), &f, json!({})).0,
        404
    );
    assert_eq!(
        post(&format!("/api/v1/people/{person}/pin"), &f, json!({})).0,
        404
    );
    assert_eq!(get(&numbers, &f).0, 404);
    assert_eq!(
        post(
            &numbers,
            &f,
            json!({"list": "approved", "number": "+15551239010"})
        )
        .0,
        404
    );

    // One entry per change the administrator asked for, written before the
    // change: the 12 that were made and the 3 the store then refused as
    // duplicates (station code, booking id, approval); input refused
    // before anything was looked up (400) writes none. Other roles'
    // attempts are logged as refusals.
    let entries = demo.log_entries();
    let changes = entries
        .iter()
        .filter(|e| e.action == callward_audit::Action::AdminChange && e.user == "admin")
        .count();
    assert_eq!(changes, 15);
    assert!(
        entries
            .iter()
            .all(|e| !(e.action == callward_audit::Action::AdminChange && e.user == "other.admin")),
        "nothing changed for another agency's administrator"
    );
    let refused = entries
        .iter()
        .filter(|e| e.action == callward_audit::Action::Refused && e.user == "investigator")
        .count();
    assert_eq!(refused, 6, "each refused attempt of the investigator");

    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    // A PIN on its own (not inside a longer run of digits such as a
    // timestamp) must appear nowhere in the server's log.
    let log = demo.server.log.join("\n");
    for secret in [&pin, &new_pin] {
        let alone = log.match_indices(secret.as_str()).any(|(i, _)| {
            let before = log[..i].chars().next_back();
            let after = log[i + secret.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_digit())
                && !after.is_some_and(|c| c.is_ascii_digit())
        });
        assert!(!alone, "a PIN was logged");
    }
}
