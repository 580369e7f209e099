//! `callward sip lint` through the real binary: the output format and exit
//! codes of DESIGN.md over the whole shared RFC 4475/5118 corpus. (Each
//! verdict against VERDICTS.md is checked in callward-sip's corpus test;
//! here the CLI must print exactly what the library decides.)

mod common;

use std::path::PathBuf;

use common::{run, scratch};

fn corpus() -> PathBuf {
    std::env::var_os("CALLWARD_SIP_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sip"),
        PathBuf::from,
    )
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = vec![];
    for sub in ["rfc4475", "rfc5118"] {
        let dir = corpus().join(sub);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the SIP corpus must be present at {}: {e}", dir.display()));
        files.extend(entries.map(|e| e.unwrap().path()));
    }
    files.sort();
    files
}

fn lint(files: &[PathBuf]) -> (Option<i32>, Vec<String>) {
    let dir = scratch("sip-lint");
    let mut args = vec!["sip".to_owned(), "lint".to_owned()];
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, &dir);
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code(),
        stdout.lines().map(str::to_owned).collect(),
    )
}

#[test]
fn one_line_per_file_with_the_library_verdict() {
    let files = corpus_files();
    assert_eq!(files.len(), 61, "49 RFC 4475 and 12 RFC 5118 messages");
    let (code, lines) = lint(&files);
    assert_eq!(lines.len(), files.len());
    for (file, line) in files.iter().zip(&lines) {
        let want = callward_sip::lint::lint(&std::fs::read(file).unwrap()).to_string();
        assert_eq!(line, &format!("{}: {want}", file.display()));
        let status = want.split(' ').nth(1);
        assert!(
            want == "accept"
                || (want.starts_with("reject ")
                    && status.is_some_and(|s| s == "drop" || s.parse::<u16>().is_ok())),
            "{line}"
        );
    }
    assert_eq!(code, Some(1), "exit 0 only if all are accepted");
}

#[test]
fn known_verdicts_and_exit_codes() {
    let pick = |name: &str| {
        corpus_files()
            .into_iter()
            .find(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().trim_end_matches(".dat") == name)
            })
            .unwrap()
    };
    let (code, lines) = lint(&[pick("wsinv"), pick("ipv6-good")]);
    assert_eq!(code, Some(0));
    assert!(lines.iter().all(|l| l.ends_with(": accept")), "{lines:?}");

    let (code, lines) = lint(&[pick("badvers"), pick("scalarlg"), pick("bext01")]);
    assert_eq!(code, Some(1));
    assert!(
        lines[0].ends_with(": reject 505") || lines[0].contains(": reject 505 "),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(": reject drop"), "{}", lines[1]);
    assert!(lines[2].contains(": reject 420"), "{}", lines[2]);

    let (code, lines) = lint(&[PathBuf::from("/nonexistent/message.sip")]);
    assert_eq!(code, Some(1));
    assert!(
        lines[0].starts_with("/nonexistent/message.sip: reject drop"),
        "{lines:?}"
    );
}

/// A reader that goes away (`callward sip lint ... | head -1`) ends the
/// output quietly: no panic, the exit status the verdicts call for.
#[test]
fn a_closed_stdout_is_not_a_crash() {
    let dir = scratch("sip-lint-pipe");
    let files = corpus_files();
    let valid: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("wsinv"))
        .collect();
    assert!(!valid.is_empty());
    // The read end is closed before the command writes a byte.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(common::BIN)
        .args(["sip", "lint"])
        .args(&valid)
        .current_dir(&dir)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
