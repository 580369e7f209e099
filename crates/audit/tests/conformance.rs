//! Every transparency-dev Merkle vector (inclusion and consistency, valid
//! and mutated) from `../shared/conformance/merkle/testdata`, read in place.
//! A missing directory fails the test.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use callward_audit::{verify_consistency, verify_inclusion};
use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/merkle/testdata")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("conformance vectors missing at {}: {e}", dir.display()));
    for e in entries {
        let path = e.expect("readable directory entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string"));
    STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("{key} is base64: {e}"))
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match &v["proof"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|p| {
                STANDARD
                    .decode(p.as_str().expect("proof item is a string"))
                    .expect("base64")
            })
            .collect(),
        other => panic!("proof is {other}"),
    }
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is an integer"))
}

/// Runs every vector under `kind`; returns (valid, mutated) counts.
fn run(kind: &str, check: impl Fn(&Value) -> Result<(), String>) -> (usize, usize) {
    let mut files = Vec::new();
    json_files(&testdata().join(kind), &mut files);
    files.sort();
    let (mut valid, mut mutated) = (0, 0);
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable vector");
        let v: Value = serde_json::from_str(&text).expect("vector is JSON");
        let want_err = v["wantErr"].as_bool().expect("wantErr is a boolean");
        let got = check(&v);
        if want_err {
            mutated += 1;
        } else {
            valid += 1;
        }
        if got.is_err() != want_err {
            failures.push(format!("{}: wantErr {want_err}, got {got:?}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (valid, mutated)
}

#[test]
fn every_inclusion_vector() {
    let (valid, mutated) = run("inclusion", |v| {
        verify_inclusion(
            u(v, "leafIdx"),
            u(v, "treeSize"),
            &bytes(v, "leafHash"),
            &proof(v),
            &bytes(v, "root"),
        )
        .map_err(|e| e.to_string())
    });
    // The set as shipped: 6 valid and 92 mutated of each kind.
    assert_eq!(valid + mutated, 98, "valid {valid}, mutated {mutated}");
    assert_eq!((valid, mutated), (6, 92));
}

#[test]
fn every_consistency_vector() {
    let (valid, mutated) = run("consistency", |v| {
        verify_consistency(
            u(v, "size1"),
            u(v, "size2"),
            &proof(v),
            &bytes(v, "root1"),
            &bytes(v, "root2"),
        )
        .map_err(|e| e.to_string())
    });
    assert_eq!(valid + mutated, 98, "valid {valid}, mutated {mutated}");
    assert_eq!((valid, mutated), (6, 92));
}
