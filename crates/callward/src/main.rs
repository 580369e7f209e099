//! The `callward` binary: CLI, configuration, wiring, tracing and shutdown.
//!
//! `main` parses the command line, sets up logging, starts the runtime and
//! hands the subcommand to its module. Every error ends here and is printed
//! as one line, `error: <message>`, with exit code 1 (clap's usage errors
//! exit 2 on their own).

mod access_log;
mod admin;
mod agency_keys;
mod audit_cli;
mod audit_key;
mod billing;
mod calls;
mod cli;
mod config;
mod data_dir;
mod demo;
mod keyd;
mod keys;
mod local;
mod logging;
mod output;
mod privilege_seal;
mod recording_cli;
mod recording_files;
mod recording_store;
mod recovery;
mod release;
mod retention;
mod serve;
mod session_cli;
mod sip_cli;
mod users;
mod watermark_cli;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    logging::init(cli.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(cli.command))
}

/// Runs one subcommand. New subcommands add an arm here and a variant in
/// [`cli::Command`]. A command that ran but found a problem it reports on
/// stdout (e.g. a rejected message) returns a failure exit code, not an error.
async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::run(config::ServeOptions::resolve(args)?).await?,
        Command::Admin(args) => admin::run(args).await?,
        Command::Calls(args) => calls::run(args).await?,
        Command::Recording(args) => {
            return Ok(if recording_cli::run(args).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Recordings(args) => retention::run(args).await?,
        Command::Session(args) => session_cli::run_session(args).await?,
        Command::Case(args) => session_cli::run_case(args).await?,
        Command::Approval(args) => session_cli::run_approval(args).await?,
        Command::Keys(args) => keys::run(args).await?,
        Command::Keyd(args) => keyd::run(args).await?,
        Command::Audit(args) => {
            return Ok(if audit_cli::run(args).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Watermark(args) => {
            return Ok(if watermark_cli::run(args).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Sip(args) => {
            return Ok(if sip_cli::run(args)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The error and its causes, `outer: inner: root`, on a single line. A cause
/// whose text its wrapper already repeats is left out.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in err.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        if !previous.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Echo(std::io::Error);

    impl std::fmt::Display for Echo {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "wrapped: {}", self.0)
        }
    }

    impl std::error::Error for Echo {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn one_line_joins_causes_and_drops_repeats() {
        let err =
            anyhow::Error::new(Echo(std::io::Error::other("disk\nfull"))).context("cannot write");
        assert_eq!(one_line(&err), "cannot write: wrapped: disk full");

        let err = anyhow::Error::new(std::io::Error::other("root")).context("outer");
        assert_eq!(one_line(&err), "outer: root");
    }
}
