//! The crate dependency rules of ARCHITECTURE.md / DESIGN.md, checked from
//! `cargo metadata`:
//!
//! - dependencies point down: `callward` -> `switch`, `web` -> `store`,
//!   `vault`, `audit`, `core`, `sip`, `media`;
//! - `core`, `sip`, `media`, `vault` and `audit` depend on no other workspace
//!   crate and, even transitively, on no async runtime, database or HTTP crate.
//!
//! Normal and build dependencies count; dev-dependencies do not. Every
//! target platform counts (the metadata is not filtered), so a runtime that
//! only comes in on one platform is still caught.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

use serde_json::Value;

const CALLWARD: &str = "callward";
const SWITCH: &str = "callward-switch";
const WEB: &str = "callward-web";
const STORE: &str = "callward-store";
const VAULT: &str = "callward-vault";
const AUDIT: &str = "callward-audit";
const CORE: &str = "callward-core";
const SIP: &str = "callward-sip";
const MEDIA: &str = "callward-media";
const WATERMARK: &str = "callward-watermark";

/// The workspace crates each crate may depend on. A workspace crate missing
/// here fails the test: a new crate needs a rule.
fn allowed_workspace_deps(krate: &str) -> Option<&'static [&'static str]> {
    Some(match krate {
        CALLWARD => &[
            SWITCH, WEB, STORE, VAULT, AUDIT, CORE, SIP, MEDIA, WATERMARK,
        ],
        SWITCH | WEB => &[STORE, VAULT, AUDIT, CORE, SIP, MEDIA],
        STORE => &[VAULT, AUDIT, CORE, SIP, MEDIA],
        CORE | SIP | MEDIA | VAULT | AUDIT | WATERMARK => &[],
        _ => return None,
    })
}

/// Crates that must stay free of I/O frameworks.
const PURE: [&str; 6] = [CORE, SIP, MEDIA, VAULT, AUDIT, WATERMARK];

/// Async runtimes, databases and HTTP stacks, by exact name...
const DENIED: &[&str] = &[
    "tokio",
    "async-std",
    "async-io",
    "async-executor",
    "smol",
    "mio",
    "sqlx",
    "rusqlite",
    "libsqlite3-sys",
    "diesel",
    "sea-orm",
    "postgres",
    "tokio-postgres",
    "mysql",
    "redis",
    "axum",
    "hyper",
    "h2",
    "http-body",
    "tower",
    "tonic",
    "actix-web",
    "warp",
    "rocket",
    "poem",
    "reqwest",
    "ureq",
    "isahc",
    "surf",
    "curl",
];

/// ...and by family prefix.
const DENIED_PREFIXES: &[&str] = &[
    "tokio-",
    "async-std",
    "sqlx-",
    "diesel",
    "postgres-",
    "axum-",
    "hyper-",
    "tower-",
    "actix",
    "reqwest-",
];

fn is_denied(name: &str) -> bool {
    DENIED.contains(&name) || DENIED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The dependency graph from `cargo metadata`, by package name.
struct Graph {
    members: BTreeSet<String>,
    /// Package id -> name.
    names: BTreeMap<String, String>,
    /// Package id -> ids of its normal and build dependencies.
    deps: BTreeMap<String, Vec<String>>,
}

impl Graph {
    fn from_metadata(meta: &Value) -> Self {
        let names: BTreeMap<String, String> = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (str_of(&p["id"]), str_of(&p["name"])))
            .collect();
        let members = meta["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .map(|id| names[&str_of(id)].clone())
            .collect();
        let deps = meta["resolve"]["nodes"]
            .as_array()
            .expect("resolve.nodes")
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .expect("deps")
                    .iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .expect("dep_kinds")
                            .iter()
                            .any(|k| k["kind"].as_str() != Some("dev"))
                    })
                    .map(|d| str_of(&d["pkg"]))
                    .collect();
                (str_of(&node["id"]), deps)
            })
            .collect();
        Self {
            members,
            names,
            deps,
        }
    }

    fn id_of(&self, name: &str) -> Option<&String> {
        self.names
            .iter()
            .find(|(id, n)| *n == name && self.deps.contains_key(*id))
            .map(|(id, _)| id)
    }

    fn direct(&self, id: &str) -> impl Iterator<Item = &String> {
        self.deps.get(id).into_iter().flatten()
    }

    /// The shortest dependency path from `from` to each package it reaches.
    fn reachable(&self, from: &str) -> BTreeMap<&String, Vec<&String>> {
        let mut paths: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
        let mut queue = VecDeque::from([(from.to_owned(), Vec::new())]);
        let mut seen = BTreeSet::from([from.to_owned()]);
        while let Some((id, path)) = queue.pop_front() {
            for dep in self.direct(&id) {
                if seen.insert(dep.clone()) {
                    let mut path = path.clone();
                    path.push(dep);
                    paths.insert(dep, path.clone());
                    queue.push_back((dep.clone(), path));
                }
            }
        }
        paths
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

/// Every broken rule, one line each.
fn violations(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for member in &graph.members {
        let Some(allowed) = allowed_workspace_deps(member) else {
            found.push(format!(
                "{member}: no dependency rule for this workspace crate; add one"
            ));
            continue;
        };
        let Some(id) = graph.id_of(member) else {
            found.push(format!("{member}: not in the resolved graph"));
            continue;
        };
        for dep in graph.direct(id) {
            let dep_name = &graph.names[dep];
            if graph.members.contains(dep_name) && !allowed.contains(&dep_name.as_str()) {
                found.push(format!("{member} must not depend on {dep_name}"));
            }
        }
        if PURE.contains(&member.as_str()) {
            for (dep, path) in graph.reachable(id) {
                let dep_name = &graph.names[dep];
                if is_denied(dep_name) {
                    let chain: Vec<&str> =
                        path.iter().map(|id| graph.names[*id].as_str()).collect();
                    found.push(format!(
                        "{member} must not depend on {dep_name} (via {member} -> {})",
                        chain.join(" -> ")
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn workspace_crates_keep_the_dependency_rules() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let graph = Graph::from_metadata(&meta);

    for krate in [CALLWARD, SWITCH, WEB, STORE, VAULT, AUDIT, CORE, SIP, MEDIA] {
        assert!(
            graph.members.contains(krate),
            "{krate} is a workspace member"
        );
    }
    let found = violations(&graph);
    assert!(
        found.is_empty(),
        "dependency rules broken:\n{}",
        found.join("\n")
    );
}

/// A made-up workspace that breaks each rule once, so the checker is known
/// to catch what it is for.
#[test]
fn the_checker_catches_each_kind_of_violation() {
    fn pkg(name: &str) -> Value {
        serde_json::json!({ "id": format!("{name}-id"), "name": name })
    }
    fn node(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        let deps: Vec<Value> = deps
            .iter()
            .map(|(dep, kind)| {
                serde_json::json!({
                    "name": dep.replace('-', "_"),
                    "pkg": format!("{dep}-id"),
                    "dep_kinds": [{ "kind": kind, "target": null }],
                })
            })
            .collect();
        serde_json::json!({ "id": format!("{name}-id"), "deps": deps })
    }
    let members = [
        CALLWARD,
        SWITCH,
        WEB,
        STORE,
        VAULT,
        AUDIT,
        CORE,
        SIP,
        MEDIA,
        "callward-extra",
    ];
    let externals = [
        "helper",
        "tokio",
        "hyper-util",
        "proptest",
        "cc",
        "rusqlite",
    ];
    let meta = serde_json::json!({
        "packages": members.iter().chain(&externals).map(|n| pkg(n)).collect::<Vec<_>>(),
        "workspace_members": members.iter().map(|n| format!("{n}-id")).collect::<Vec<_>>(),
        "resolve": { "root": null, "nodes": [
            node(CALLWARD, &[(SWITCH, None), (WEB, None), (STORE, None)]),
            node(SWITCH, &[(WEB, None), (SIP, None), ("tokio", None)]),
            node(WEB, &[(STORE, None), ("hyper-util", None)]),
            node(STORE, &[(CORE, None), ("rusqlite", None)]),
            // Pure crates: a runtime two hops away, an HTTP crate via a build
            // dependency, and dev-dependencies that are allowed.
            node(SIP, &[("helper", None)]),
            node(MEDIA, &[("cc", Some("build"))]),
            node(CORE, &[("proptest", Some("dev")), ("tokio", Some("dev")), (STORE, Some("dev"))]),
            node(VAULT, &[(CORE, None)]),
            node(AUDIT, &[]),
            node("callward-extra", &[]),
            node("helper", &[("tokio", None)]),
            node("cc", &[("hyper-util", None)]),
            node("tokio", &[]),
            node("hyper-util", &[]),
            node("proptest", &[]),
            node("rusqlite", &[]),
        ]},
    });
    let found = violations(&Graph::from_metadata(&meta));
    assert_eq!(
        found,
        [
            "callward-extra: no dependency rule for this workspace crate; add one",
            "callward-media must not depend on hyper-util (via callward-media -> cc -> hyper-util)",
            "callward-sip must not depend on tokio (via callward-sip -> helper -> tokio)",
            "callward-switch must not depend on callward-web",
            "callward-vault must not depend on callward-core",
        ]
    );
}

#[test]
fn deny_list_matches_families_not_lookalikes() {
    for name in [
        "tokio",
        "tokio-util",
        "sqlx-sqlite",
        "hyper",
        "hyper-util",
        "axum-core",
        "rusqlite",
        "reqwest",
    ] {
        assert!(is_denied(name), "{name}");
    }
    for name in [
        "serde",
        "thiserror",
        "proptest",
        "hmac",
        "towering",
        "mioara",
        "httparse",
    ] {
        assert!(!is_denied(name), "{name}");
    }
}
