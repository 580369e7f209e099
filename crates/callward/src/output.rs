//! Writing command output to stdout. Rust's `println!` panics when the
//! reader has gone away (`callward calls list | head -1`); these end the
//! output quietly instead, and report any other write error.

use std::io::Write as _;

use anyhow::Context as _;

/// Writes `text` to stdout as it is.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// Writes `line` and a newline to stdout.
pub(crate) fn println(line: impl std::fmt::Display) -> anyhow::Result<()> {
    print(&format!("{line}\n"))
}
