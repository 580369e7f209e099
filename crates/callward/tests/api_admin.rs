//! The administrator's API through a real `callward serve --demo`:
//! stations (list, add, disable, unlock), people (listed without PINs)
//! and the attorney registry (verify with the sealing run, reject), each
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
        post(&format!("/api/v1/privileged/{two}/verify"), &i, json!({})).0,
        403
    );
    assert_eq!(
        post(&format!("/api/v1/privileged/{one}/reject"), &t, json!({})).0,
        403
    );

    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
}
