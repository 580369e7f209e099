//! `callward sip lint FILE...`: what the switch would do with each message.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `callward sip`.
#[derive(Debug, Args)]
pub(crate) struct SipArgs {
    #[command(subcommand)]
    command: SipCommand,
}

#[derive(Debug, Subcommand)]
enum SipCommand {
    /// Print `FILE: accept` or `FILE: reject <status or drop> <reason>` for
    /// each file holding one SIP message; exit 0 only if all are accepted.
    Lint {
        /// Files, each one message as it would arrive in a UDP datagram.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs the command; `Ok(false)` when some file was not accepted.
pub(crate) fn run(args: SipArgs) -> anyhow::Result<bool> {
    match args.command {
        SipCommand::Lint { files } => {
            let mut all = true;
            for file in files {
                let verdict = match std::fs::read(&file) {
                    Ok(bytes) => callward_sip::lint::lint(&bytes).to_string(),
                    Err(e) => format!("reject drop cannot read file: {e}"),
                };
                all &= verdict == "accept";
                crate::output::println(format_args!("{}: {verdict}", file.display()))?;
            }
            Ok(all)
        }
    }
}
