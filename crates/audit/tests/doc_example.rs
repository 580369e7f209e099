//! The worked example in docs/audit-log.md is real: this test rebuilds it
//! and checks every example block there byte for byte. It also encodes the
//! example entry by hand, field by field as the document describes, and
//! checks that against `Entry::encode`.
//!
//! `CALLWARD_BLESS=1 cargo test -p callward-audit --test doc_example`
//! rewrites the blocks after an intended change.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use callward_audit::{
    Action, Entry, Log, MemoryStore, NodeId, NoteSigner, ObjectKind, Source, Timestamp, leaf_hash,
    verify_consistency, verify_inclusion,
};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit-log.md");
const ORIGIN: &str = "callward.example/audit";

fn entries() -> [Entry; 3] {
    [
        Entry {
            user: "inv.jones".to_owned(),
            role: "investigator".to_owned(),
            agency: "Demo County Sheriff".to_owned(),
            action: Action::Listen,
            object_kind: ObjectKind::Recording,
            object_id: "rec-0001".to_owned(),
            case_id: "2026-CR-0042".to_owned(),
            justification: "witness tampering inquiry".to_owned(),
            // 2026-11-18T11:06:40.25Z
            time: Timestamp::from_unix(1_795_000_000, 25).expect("valid"),
            source: Source::Ip(IpAddr::from([192, 0, 2, 10])),
        },
        Entry {
            user: "aud.smith".to_owned(),
            role: "auditor".to_owned(),
            agency: "State Inspector General".to_owned(),
            action: Action::Search,
            object_kind: ObjectKind::Query,
            object_id: "user:inv.jones since:2026-11-01".to_owned(),
            case_id: String::new(),
            justification: "quarterly access review".to_owned(),
            time: Timestamp::from_unix(1_795_003_600, 0).expect("valid"),
            source: Source::Local("cli".to_owned()),
        },
        Entry {
            user: "admin".to_owned(),
            role: "administrator".to_owned(),
            agency: "Demo County Sheriff".to_owned(),
            action: Action::Login,
            object_kind: ObjectKind::None,
            object_id: String::new(),
            case_id: String::new(),
            justification: String::new(),
            time: Timestamp::from_unix(1_795_007_200, 99).expect("valid"),
            source: Source::Ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5))),
        },
    ]
}

fn hex(b: &[u8]) -> String {
    callward_audit::hash::hex(b)
}

/// Entry 0 encoded by hand, one documented field a line.
fn annotated_entry_0() -> (Vec<u8>, String) {
    let text = |label: &str, s: &str| {
        let mut b = (s.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        (format!("{label} {s:?}"), b)
    };
    let fields: Vec<(String, Vec<u8>)> = vec![
        ("version 1".to_owned(), vec![1]),
        text("user", "inv.jones"),
        text("role", "investigator"),
        text("agency", "Demo County Sheriff"),
        ("action 2 (listen)".to_owned(), vec![2]),
        ("object kind 2 (recording)".to_owned(), vec![2]),
        text("object id", "rec-0001"),
        text("case id", "2026-CR-0042"),
        text("justification", "witness tampering inquiry"),
        (
            "time 179500000025 (2026-11-18T11:06:40.25Z)".to_owned(),
            179_500_000_025u64.to_be_bytes().to_vec(),
        ),
        (
            "source 4 (IPv4) 192.0.2.10".to_owned(),
            vec![4, 192, 0, 2, 10],
        ),
    ];
    let mut bytes = Vec::new();
    let mut s = String::new();
    for (label, b) in fields {
        writeln!(s, "{label}\n    {}", hex(&b)).expect("write to string");
        bytes.extend_from_slice(&b);
    }
    (bytes, s)
}

fn blocks() -> Vec<(&'static str, String)> {
    let signer = NoteSigner::from_seed(ORIGIN, &[0x42; 32]).expect("valid seed");
    let vkey = signer.verifier().to_string();
    let verifier = signer.verifier().clone();
    let entries = entries();
    let mut log = Log::open(MemoryStore::new(), ORIGIN, signer).expect("opens");
    let cp2 = log.append(&entries[..2]).expect("append");
    let cp3 = log.append(&entries[2..]).expect("append");

    let (by_hand, annotated) = annotated_entry_0();
    assert_eq!(
        entries[0].encode().expect("encodes"),
        by_hand,
        "the documented layout"
    );

    let mut leaves = String::new();
    for (i, e) in entries.iter().enumerate() {
        let bytes = e.encode().expect("encodes");
        writeln!(
            leaves,
            "entry {i} ({} bytes)\n    {}",
            bytes.len(),
            hex(&bytes)
        )
        .expect("write");
        writeln!(leaves, "  leaf hash {}", leaf_hash(&bytes)).expect("write");
    }

    let mut nodes = String::new();
    for id in [
        NodeId::new(0, 0),
        NodeId::new(0, 1),
        NodeId::new(1, 0),
        NodeId::new(0, 2),
    ] {
        let h = log.store().node_hash_for_doc(id);
        writeln!(nodes, "({}, {}) {h}", id.level, id.index).expect("write");
    }
    writeln!(nodes, "root at size 2 = (1, 0)            {}", cp2.root).expect("write");
    writeln!(
        nodes,
        "root at size 3 = H(0x01 || (1, 0) || (0, 2))\n      {}",
        cp3.root
    )
    .expect("write");

    let note = log.checkpoint().expect("has one").to_owned();
    assert_eq!(
        callward_audit::Checkpoint::open(&note, &verifier, ORIGIN).expect("opens"),
        cp3
    );

    let inc = log.inclusion_proof(1, 3).expect("in range");
    let leaf1 = log.leaf_hash(1).expect("stored");
    verify_inclusion(1, 3, &leaf1.0, &inc, &cp3.root.0).expect("verifies");
    let con = log.consistency_proof(2, 3).expect("in range");
    verify_consistency(2, 3, &con, &cp2.root.0, &cp3.root.0).expect("verifies");
    let mut proofs = String::from("inclusion of entry 1 in size 3:\n");
    for h in &inc {
        writeln!(proofs, "    {h}").expect("write");
    }
    proofs.push_str("consistency from size 2 to size 3:\n");
    for h in &con {
        writeln!(proofs, "    {h}").expect("write");
    }

    vec![
        ("entry", annotated),
        ("leaves", leaves),
        ("nodes", nodes),
        ("vkey", format!("{vkey}\n")),
        ("checkpoint", note),
        ("proofs", proofs),
    ]
}

trait DocNodes {
    fn node_hash_for_doc(&self, id: NodeId) -> callward_audit::Hash;
}

impl DocNodes for MemoryStore {
    fn node_hash_for_doc(&self, id: NodeId) -> callward_audit::Hash {
        use callward_audit::LogStore as _;
        self.node(id).expect("infallible").expect("stored")
    }
}

fn marker(name: &str) -> String {
    format!("<!-- audit-example: {name} -->\n```\n")
}

#[test]
fn the_documented_example_is_exact() {
    let mut doc = std::fs::read_to_string(DOC).expect("docs/audit-log.md exists");
    let bless = std::env::var_os("CALLWARD_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, expected) in blocks() {
        let m = marker(name);
        let start = doc
            .find(&m)
            .unwrap_or_else(|| panic!("docs/audit-log.md lacks the {name} block"))
            + m.len();
        let len = doc[start..].find("```").expect("block is closed");
        if doc[start..start + len] != expected {
            if bless {
                doc.replace_range(start..start + len, &expected);
            } else {
                stale.push(format!("block {name} should read:\n{expected}"));
            }
        }
    }
    if bless {
        std::fs::write(DOC, &doc).expect("doc is writable");
    }
    assert!(
        stale.is_empty(),
        "docs/audit-log.md is stale:\n{}",
        stale.join("\n")
    );
}
