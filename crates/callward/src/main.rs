//! The `callward` binary: CLI, configuration, wiring, tracing and shutdown.
//!
//! `main` parses the command line, sets up logging, starts the runtime and
//! hands the subcommand to its module. Every error ends here and is printed
//! as one line, `error: <message>`, with exit code 1 (clap's usage errors
//! exit 2 on their own).

mod cli;
mod config;
mod data_dir;
mod logging;
mod serve;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    logging::init(cli.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(cli.command))
}

/// Runs one subcommand. New subcommands add an arm here and a variant in
/// [`cli::Command`].
async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(config::ServeOptions::resolve(args)?).await,
    }
}

/// The error and its causes, `outer: inner: root`, on a single line.
fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace(['\n', '\r'], " ")
}
