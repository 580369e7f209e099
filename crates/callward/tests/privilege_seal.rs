//! Retroactive privilege through the real binary: registering or verifying
//! a privileged number seals every earlier recording of calls to it (written
//! as a call server writes them, with call records in the store), export
//! then refuses them naming the seal, and each run is recorded with its
//! count.

mod common;
mod site;

use common::admin;
use site::{Site, fails_with, ok};

fn register(site: &Site, number: &str) -> serde_json::Value {
    let keys = site.root.join("keys");
    let text = ok(admin(
        &site.data(),
        &[
            "--json",
            "privileged",
            "register",
            "--number",
            number,
            "--attorney",
            "Ada Counsel",
            "--bar-number",
            "123456",
            "--bar-state",
            "TX",
            "--key-dir",
            keys.to_str().unwrap(),
        ],
    ));
    serde_json::from_str(&text).unwrap()
}

fn verify(site: &Site, id: &str) -> serde_json::Value {
    let keys = site.root.join("keys");
    let text = ok(admin(
        &site.data(),
        &[
            "--json",
            "privileged",
            "verify",
            id,
            "--by",
            "admin",
            "--key-dir",
            keys.to_str().unwrap(),
        ],
    ));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn registering_a_number_seals_its_three_recordings_and_export_refuses_them() {
    let site = Site::new("privilege-register", "365");
    for id in ["atty-1", "atty-2", "atty-3"] {
        site.recorded_call(id, "+15557770001", 2);
    }
    site.recorded_call("family", "+15551230001", 2);
    ok(site.export("atty-1"));

    let r = register(&site, "+15557770001");
    assert_eq!(r["privilege_seal"]["sealed"], 3, "{r}");
    assert_eq!(r["privilege_seal"]["already_sealed"], 0, "{r}");
    for id in ["atty-1", "atty-2", "atty-3"] {
        fails_with(&site.export(id), "sealed for privilege review");
        assert!(
            site.data()
                .join(format!("recordings/{id}.cwrec.seal"))
                .exists()
        );
    }
    ok(site.export("family"));
    let verified = ok(site.cmd(&["recording", "verify", "--all"], true));
    assert!(
        verified.contains("4 recordings checked, 0 bad, 3 sealed for privilege review"),
        "{verified}"
    );

    let seals_text = ok(site.cmd(&["recordings", "seals", "--json"], false));
    assert!(
        !seals_text.contains("5557770001"),
        "the number is masked: {seals_text}"
    );
    let seals: serde_json::Value = serde_json::from_str(&seals_text).unwrap();
    assert_eq!(seals.as_array().unwrap().len(), 1);
    assert_eq!(seals[0]["sealed"], 3);
    assert_eq!(seals[0]["number"], "+1******0001");
    assert_eq!(seals[0]["by"], "cli");
    let text = ok(admin(&site.data(), &["privileged", "list"]));
    assert!(!text.is_empty());
}

#[test]
fn verifying_seals_recordings_found_since_and_repeating_seals_nothing_twice() {
    let site = Site::new("privilege-verify", "365");
    site.recorded_call("a-1", "+15557770002", 3);
    let r = register(&site, "+15557770002");
    assert_eq!(r["privilege_seal"]["sealed"], 1, "{r}");
    let id = r["id"].to_string();

    // A recording of an earlier call turns up later (restored, or recovered).
    site.recorded_call("a-2", "+15557770002", 10);
    ok(site.export("a-2"));
    let v = verify(&site, &id);
    assert_eq!(v["verification"], "verified", "{v}");
    assert_eq!(v["privilege_seal"]["sealed"], 1, "{v}");
    assert_eq!(v["privilege_seal"]["already_sealed"], 1, "{v}");
    assert_eq!(v["privilege_seal"]["by"], "admin", "{v}");
    fails_with(&site.export("a-2"), "sealed for privilege review");

    let again = verify(&site, &id);
    assert_eq!(again["privilege_seal"]["sealed"], 0, "{again}");
    assert_eq!(again["privilege_seal"]["already_sealed"], 2, "{again}");
    let seals: serde_json::Value =
        serde_json::from_str(&ok(site.cmd(&["recordings", "seals", "--json"], false))).unwrap();
    let counts: Vec<_> = seals
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sealed"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 1, 0]);
}

#[test]
fn a_number_with_no_recordings_needs_only_the_log_key() {
    let site = Site::new("privilege-nokeys", "365");
    // No agency keys: only the access log's key, which every admin change
    // needs, is left.
    for e in std::fs::read_dir(site.root.join("keys")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("audit.") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let r = register(&site, "+15557770003");
    assert_eq!(r["privilege_seal"]["sealed"], 0, "{r}");
}
