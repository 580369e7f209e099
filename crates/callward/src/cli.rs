//! The command line, as clap derive types. Parsing turns addresses into
//! `SocketAddr` at the edge; a malformed one is a usage error (exit 2).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

/// Where local state lives unless `--data-dir` or the config file says otherwise.
pub(crate) const DEFAULT_DATA_DIR: &str = "./callward-data";
pub(crate) const DEFAULT_SIP_LISTEN: &str = "127.0.0.1:5060";
pub(crate) const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";
pub(crate) const DEFAULT_TRUNK: &str = "127.0.0.1:5070";

/// callward: an inmate calling system that cannot leak what it records.
#[derive(Debug, Parser)]
#[command(name = "callward", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Log format on stderr. The level comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the call switch and the web server until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Manage facilities, stations, people, numbers and accounts.
    Admin(crate::admin::AdminArgs),
    /// Read call records.
    Calls(crate::calls::CallsArgs),
    /// Recordings: export one as WAV, verify them.
    Recording(crate::recording_cli::RecordingArgs),
    /// Retention and legal holds: expire old recordings, hold, list sealing runs.
    Recordings(crate::retention::RecordingsArgs),
    /// SIP tools: `sip lint FILE...`.
    Sip(crate::sip_cli::SipArgs),
    /// Agency keys: init, rotate, list, shred an epoch, legal hold, privilege seal.
    Keys(crate::keys::KeysArgs),
    /// Run the key service: unwrap data keys over a Unix socket.
    Keyd(crate::keyd::KeydArgs),
    /// The access log: verify it, export it, witness its checkpoints.
    Audit(crate::audit_cli::AuditArgs),
    /// Sign in (password and TOTP code on stdin): `session login --user U`.
    Session(crate::session_cli::SessionArgs),
    /// Investigation cases: open, close, list (signed in).
    Case(crate::session_cli::CaseArgs),
    /// Supervisor approvals: request, grant, refuse, list (signed in).
    Approval(crate::session_cli::ApprovalArgs),
    /// Leak tracing: `watermark detect FILE` names who received an audio copy.
    Watermark(crate::watermark_cli::WatermarkArgs),
}

/// `--data-dir` for every subcommand that reads or writes local state, so
/// they share one flag and one default. Flatten it into a subcommand's args:
/// `#[command(flatten)] data_dir: DataDirArg`.
///
/// `serve` takes its own optional form, because there the config file may set it.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataDirArg {
    /// Directory holding the database, keys and recordings.
    #[arg(long = "data-dir", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub(crate) data_dir: PathBuf,
}

/// Flags of `callward serve`. Each flag left out falls back to the config
/// file, then to the default shown.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ServeArgs {
    /// Directory holding the database, keys and recordings [default: ./callward-data]
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// UDP address for SIP from the stations [default: 127.0.0.1:5060]
    #[arg(long, value_name = "ADDR")]
    pub(crate) sip_listen: Option<SocketAddr>,

    /// TCP address for the web console, API, /healthz and /metrics [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub(crate) http_listen: Option<SocketAddr>,

    /// SIP trunk that outside calls are sent to [default: 127.0.0.1:5070]
    #[arg(long, value_name = "ADDR")]
    pub(crate) trunk: Option<SocketAddr>,

    /// Seed the demo facility into an empty data dir.
    #[arg(long)]
    pub(crate) demo: bool,

    /// Agency key directory; serve reads only the current public key from it (and, in
    /// this embedded set-up, the private keys to re-seal recordings a crash cut short)
    /// [default: ./callward-keys; created by --demo if missing]
    #[arg(long, value_name = "DIR")]
    pub(crate) key_dir: Option<PathBuf>,

    /// IVR prompts directory (`<dir>/<lang>/<name>.al`) [default: ./prompts, else the source checkout's]
    #[arg(long, value_name = "DIR")]
    pub(crate) prompts_dir: Option<PathBuf>,

    /// Rate-cap schedules, every `*.toml` in it (`docs/billing.md`) [default: ./tariffs, else the source checkout's]
    #[arg(long, value_name = "DIR")]
    pub(crate) tariffs_dir: Option<PathBuf>,

    /// Seconds between runs of the recording expiry job (retention, docs/keys.md) [default: 3600]
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) expiry_interval_secs: Option<u64>,

    /// TOML configuration file; flags given on the command line win over it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse_into_typed_values() {
        let cli = Cli::try_parse_from([
            "callward",
            "serve",
            "--data-dir",
            "/tmp/x",
            "--sip-listen",
            "0.0.0.0:5062",
            "--http-listen",
            "[::1]:8081",
            "--trunk",
            "10.0.0.7:5080",
            "--demo",
            "--config",
            "c.toml",
        ])
        .unwrap();
        #[allow(unreachable_patterns, reason = "more subcommands will follow")]
        let args = match cli.command {
            Command::Serve(args) => args,
            other => panic!("expected serve, got {other:?}"),
        };
        assert_eq!(args.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(args.sip_listen, Some("0.0.0.0:5062".parse().unwrap()));
        assert_eq!(args.http_listen, Some("[::1]:8081".parse().unwrap()));
        assert_eq!(args.trunk, Some("10.0.0.7:5080".parse().unwrap()));
        assert!(args.demo);
        assert_eq!(args.config, Some(PathBuf::from("c.toml")));
    }

    #[test]
    fn malformed_address_is_a_usage_error() {
        let err =
            Cli::try_parse_from(["callward", "serve", "--sip-listen", "localhost"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn log_format_is_global() {
        let cli = Cli::try_parse_from(["callward", "serve", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
    }

    #[test]
    fn data_dir_arg_defaults_to_the_serve_default() {
        #[derive(Debug, Parser)]
        struct Probe {
            #[command(flatten)]
            data_dir: DataDirArg,
        }
        let probe = Probe::try_parse_from(["probe"]).unwrap();
        assert_eq!(probe.data_dir.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        let probe = Probe::try_parse_from(["probe", "--data-dir", "elsewhere"]).unwrap();
        assert_eq!(probe.data_dir.data_dir, PathBuf::from("elsewhere"));
    }
}
