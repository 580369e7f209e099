//! Runs `lint` over the RFC 4475 / RFC 5118 corpus and compares each verdict
//! with VERDICTS.md; for `either` messages, with the choice written down in
//! docs/sip-conformance.md. The corpus is read in place, never copied.
//! A missing corpus is a failure, not a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use callward_sip::lint::{LintVerdict, lint};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Accept,
    Reject(Option<u16>),
    Drop,
    Either,
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("CALLWARD_SIP_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sip"),
    }
}

fn bracket_status(s: &str) -> Option<u16> {
    let open = s.find('[')?;
    let close = s[open..].find(']')? + open;
    s[open + 1..close].trim().parse().ok()
}

fn strip_parens(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// file path relative to the corpus -> expected verdict.
fn expectations(dir: &Path) -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(dir.join("VERDICTS.md"))
        .unwrap_or_else(|e| panic!("corpus VERDICTS.md missing under {}: {e}", dir.display()));
    let mut out = BTreeMap::new();
    let mut section = "";
    for line in text.lines() {
        if line.starts_with("## RFC 4475") {
            section = "4475";
        } else if line.starts_with("## RFC 5118") {
            section = "5118";
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4
            || section.is_empty()
            || cells[1] == "verdict"
            || cells[1].starts_with("---")
        {
            continue;
        }
        let verdict = cells[1];
        let row_status = bracket_status(verdict);
        for name in strip_parens(cells[2]).split(',') {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let (name, own_status) = match name.find('[') {
                Some(i) => (name[..i].trim(), bracket_status(name)),
                None => (name, None),
            };
            let exp = if verdict.starts_with("accept") {
                Expected::Accept
            } else if verdict.starts_with("either") {
                Expected::Either
            } else if verdict.contains("dropped") {
                Expected::Drop
            } else {
                Expected::Reject(own_status.or(row_status))
            };
            let path = if section == "4475" {
                format!("rfc4475/{name}.dat")
            } else {
                format!("rfc5118/{name}")
            };
            out.insert(path, exp);
        }
    }
    out
}

/// Our written choices for `either` messages: name -> "accept" / "reject 400".
fn choices() -> BTreeMap<String, String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sip-conformance.md");
    let text =
        std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{} missing: {e}", doc.display()));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4 && cells[1].starts_with('`') {
            out.insert(
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            );
        }
    }
    out
}

fn matches(v: &LintVerdict, e: &Expected) -> bool {
    match (v, e) {
        (_, Expected::Either) => true,
        (LintVerdict::Accept, Expected::Accept) => true,
        (LintVerdict::Reject { status: None, .. }, Expected::Drop) => true,
        (
            LintVerdict::Reject {
                status: Some(s), ..
            },
            Expected::Reject(want),
        ) => want.is_none_or(|w| w == s.as_u16()),
        _ => false,
    }
}

#[test]
fn corpus_verdicts_match() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "SIP conformance corpus not found at {} (set CALLWARD_SIP_CORPUS)",
        dir.display()
    );
    let expected = expectations(&dir);
    assert_eq!(
        expected.len(),
        61,
        "VERDICTS.md should list 49 + 12 messages"
    );
    let mut on_disk = Vec::new();
    for sub in ["rfc4475", "rfc5118"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}")) {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            on_disk.push(format!("{sub}/{}", entry.file_name().to_string_lossy()));
        }
    }
    on_disk.sort();
    let listed: Vec<String> = expected.keys().cloned().collect();
    assert_eq!(
        on_disk, listed,
        "every corpus file has a verdict and vice versa"
    );

    let choices = choices();
    let mut wrong = Vec::new();
    let mut matched = 0;
    for (path, exp) in &expected {
        let bytes = std::fs::read(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let verdict = lint(&bytes);
        println!("{path}: {verdict}");
        let mut ok = matches(&verdict, exp);
        if *exp == Expected::Either {
            let name = Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match choices.get(&name) {
                Some(choice) => ok = verdict.to_string().starts_with(choice.as_str()),
                None => {
                    ok = false;
                    println!("  no written choice for either-message {name}");
                }
            }
        }
        if ok {
            matched += 1;
        } else {
            wrong.push(format!("{path}: got `{verdict}`, expected {exp:?}"));
        }
    }
    println!("{matched}/{} verdicts matched", expected.len());
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}
