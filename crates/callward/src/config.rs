//! Configuration for `serve`: the TOML file, merged under the command-line
//! flags, into [`ServeOptions`].
//!
//! Every table denies unknown keys, so a typo is an error naming the key
//! rather than a setting silently ignored. Relative paths in the file are
//! relative to the file's own directory.
//!
//! ```toml
//! data_dir = "/var/lib/callward"
//!
//! [http]
//! listen = "127.0.0.1:8080"
//!
//! [sip]
//! listen = "127.0.0.1:5060"
//! trunk = "127.0.0.1:5070"
//! media_timeout_secs = 20              # no trunk RTP this long: failed; 0: off
//! max_calls = 1000                     # calls carried at once; more get 503
//!
//! [recordings]
//! store = "s3://recordings/site-1"   # see recording_store.rs
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::{
    DEFAULT_DATA_DIR, DEFAULT_HTTP_LISTEN, DEFAULT_SIP_LISTEN, DEFAULT_TRUNK, ServeArgs,
};

/// The contents of a `--config` file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) key_dir: Option<PathBuf>,
    #[serde(default)]
    pub(crate) http: HttpConfig,
    #[serde(default)]
    pub(crate) sip: SipConfig,
    #[serde(default)]
    pub(crate) recordings: crate::recording_store::RecordingsConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpConfig {
    pub(crate) listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipConfig {
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) trunk: Option<SocketAddr>,
    pub(crate) prompts_dir: Option<PathBuf>,
    /// Seconds without RTP from the trunk before a bridged call counts as
    /// dropped (`failed`); 0 turns the check off.
    pub(crate) media_timeout_secs: Option<u64>,
    /// Calls carried at once (1 to 100,000); more INVITEs are answered 503.
    pub(crate) max_calls: Option<usize>,
}

/// The most `[sip] max_calls` may be: far above what one box carries, low
/// enough that a typo (an extra zero or three) is caught.
pub(crate) const MAX_CALLS_LIMIT: usize = 100_000;

/// Everything `serve` needs, resolved: flags, then the config file, then
/// the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServeOptions {
    pub(crate) data_dir: PathBuf,
    pub(crate) sip_listen: SocketAddr,
    pub(crate) http_listen: SocketAddr,
    pub(crate) trunk: SocketAddr,
    /// Seed the demo data into an empty data dir before serving.
    pub(crate) demo: bool,
    /// The IVR prompts, `<dir>/<lang>/<name>.al`.
    pub(crate) prompts_dir: PathBuf,
    /// The rate-cap schedules, `<dir>/*.toml`.
    pub(crate) tariffs_dir: PathBuf,
    /// The agency key directory (outside the data dir).
    pub(crate) key_dir: PathBuf,
    /// How often the recording expiry job runs (the first run is at start).
    pub(crate) expiry_interval: std::time::Duration,
    /// Where sealed recordings live (`[recordings]`; local by default).
    pub(crate) recordings: crate::recording_store::RecordingsConfig,
    /// How long a bridged call's trunk may send no RTP (`None`: forever).
    pub(crate) media_timeout: Option<std::time::Duration>,
    /// Calls carried at once.
    pub(crate) max_calls: usize,
}

/// `./prompts` when run from a checkout, else the checkout this binary was
/// built from (so `target/release/callward` works from any directory).
fn default_prompts_dir() -> PathBuf {
    let here = PathBuf::from("prompts");
    if here.is_dir() {
        here
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../prompts"))
    }
}

impl ServeOptions {
    /// Reads `--config` if given and merges it under the flags.
    pub(crate) fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => load(path)?,
            None => FileConfig::default(),
        };
        Ok(Self::merge(args, file))
    }

    fn merge(args: ServeArgs, file: FileConfig) -> Self {
        Self {
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            sip_listen: args
                .sip_listen
                .or(file.sip.listen)
                .unwrap_or_else(|| default_addr(DEFAULT_SIP_LISTEN)),
            http_listen: args
                .http_listen
                .or(file.http.listen)
                .unwrap_or_else(|| default_addr(DEFAULT_HTTP_LISTEN)),
            trunk: args
                .trunk
                .or(file.sip.trunk)
                .unwrap_or_else(|| default_addr(DEFAULT_TRUNK)),
            demo: args.demo,
            prompts_dir: args
                .prompts_dir
                .or(file.sip.prompts_dir)
                .unwrap_or_else(default_prompts_dir),
            tariffs_dir: args
                .tariffs_dir
                .unwrap_or_else(crate::billing::default_tariffs_dir),
            key_dir: args
                .key_dir
                .or(file.key_dir)
                .unwrap_or_else(|| PathBuf::from(crate::keys::DEFAULT_KEY_DIR)),
            expiry_interval: std::time::Duration::from_secs(
                args.expiry_interval_secs
                    .unwrap_or(crate::retention::DEFAULT_EXPIRY_INTERVAL_SECS),
            ),
            recordings: file.recordings,
            media_timeout: match file.sip.media_timeout_secs {
                None => callward_core::callflow::Timeouts::default().media_inactivity,
                Some(0) => None,
                Some(secs) => Some(std::time::Duration::from_secs(secs)),
            },
            max_calls: file
                .sip
                .max_calls
                .unwrap_or(callward_switch::SwitchConfig::DEFAULT_MAX_CALLS),
        }
    }
}

fn default_addr(addr: &str) -> SocketAddr {
    // The defaults are literals checked by `defaults_are_exactly_the_documented_ones`.
    addr.parse().expect("default addresses are valid")
}

/// Reads and parses a config file. Errors name the file, the line and, for
/// an unknown key, the key.
pub(crate) fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut config =
        parse(&text).map_err(|msg| anyhow::anyhow!("config file {}: {msg}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    if let Some(dir) = &config.data_dir
        && dir.is_relative()
    {
        config.data_dir = Some(base.join(dir));
    }
    if let Some(dir) = &config.sip.prompts_dir
        && dir.is_relative()
    {
        config.sip.prompts_dir = Some(base.join(dir));
    }
    if let Some(dir) = &config.key_dir
        && dir.is_relative()
    {
        config.key_dir = Some(base.join(dir));
    }
    Ok(config)
}

/// Parses config text; the error is one line, `line N: message`.
fn parse(text: &str) -> Result<FileConfig, String> {
    let config: FileConfig = toml::from_str(text).map_err(|err| {
        let message = err.message().trim().replace(['\n', '\r'], " ");
        match err.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {message}")
            }
            None => message,
        }
    })?;
    if let Some(n) = config.sip.max_calls
        && !(1..=MAX_CALLS_LIMIT).contains(&n)
    {
        return Err(format!(
            "[sip] max_calls = {n}: must be 1 to {MAX_CALLS_LIMIT}"
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_exactly_the_documented_ones() {
        let opts = ServeOptions::merge(ServeArgs::default(), FileConfig::default());
        assert_eq!(
            opts,
            ServeOptions {
                data_dir: PathBuf::from("./callward-data"),
                sip_listen: "127.0.0.1:5060".parse().unwrap(),
                http_listen: "127.0.0.1:8080".parse().unwrap(),
                trunk: "127.0.0.1:5070".parse().unwrap(),
                demo: false,
                prompts_dir: default_prompts_dir(),
                tariffs_dir: crate::billing::default_tariffs_dir(),
                key_dir: PathBuf::from("./callward-keys"),
                expiry_interval: std::time::Duration::from_secs(3600),
                recordings: crate::recording_store::RecordingsConfig::default(),
                media_timeout: Some(std::time::Duration::from_secs(20)),
                max_calls: 1000,
            }
        );
    }

    #[test]
    fn config_fills_in_and_flags_win() {
        let file = parse(
            r#"
            data_dir = "/srv/callward"
            [http]
            listen = "0.0.0.0:80"
            [sip]
            listen = "0.0.0.0:5060"
            trunk = "192.0.2.1:5060"
            media_timeout_secs = 45
            "#,
        )
        .unwrap();
        let from_file = ServeOptions::merge(ServeArgs::default(), file.clone());
        assert_eq!(
            from_file.media_timeout,
            Some(std::time::Duration::from_secs(45))
        );
        let cap = parse("[sip]\nmax_calls = 2500\n").unwrap();
        assert_eq!(
            ServeOptions::merge(ServeArgs::default(), cap).max_calls,
            2500
        );
        for (bad, says) in [
            ("0", "max_calls"),
            ("100001", "max_calls"),
            ("-1", "line 2"),
        ] {
            let err = parse(&format!("[sip]\nmax_calls = {bad}\n")).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let off = parse("[sip]\nmedia_timeout_secs = 0\n").unwrap();
        assert_eq!(
            ServeOptions::merge(ServeArgs::default(), off).media_timeout,
            None
        );
        assert_eq!(from_file.data_dir, PathBuf::from("/srv/callward"));
        assert_eq!(from_file.http_listen, "0.0.0.0:80".parse().unwrap());
        assert_eq!(from_file.sip_listen, "0.0.0.0:5060".parse().unwrap());
        assert_eq!(from_file.trunk, "192.0.2.1:5060".parse().unwrap());

        let args = ServeArgs {
            data_dir: Some("/flag".into()),
            http_listen: Some("127.0.0.1:9".parse().unwrap()),
            demo: true,
            ..ServeArgs::default()
        };
        let merged = ServeOptions::merge(args, file);
        assert_eq!(merged.data_dir, PathBuf::from("/flag"));
        assert_eq!(merged.http_listen, "127.0.0.1:9".parse().unwrap());
        assert_eq!(merged.sip_listen, "0.0.0.0:5060".parse().unwrap());
        assert_eq!(merged.trunk, "192.0.2.1:5060".parse().unwrap());
        assert!(merged.demo);
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(parse("").unwrap(), FileConfig::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = parse("data_dir = \"x\"\ncolour = \"blue\"\n").unwrap_err();
        assert!(err.starts_with("line 2: unknown field `colour`"), "{err}");
        assert!(!err.contains('\n'));

        let err = parse("[http]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n").unwrap_err();
        assert!(err.starts_with("line 3: unknown field `lisen`"), "{err}");

        let err = parse("[database]\nurl = \"x\"\n").unwrap_err();
        assert!(err.contains("unknown field `database`"), "{err}");
    }

    #[test]
    fn malformed_values_are_one_line_errors() {
        let err = parse("[sip]\nlisten = \"localhost\"\n").unwrap_err();
        assert!(err.starts_with("line 2: "), "{err}");
        assert!(err.contains("socket address"), "{err}");
        assert!(!err.contains('\n'));

        let err = parse("data_dir = \n").unwrap_err();
        assert!(err.starts_with("line 1: "), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn relative_data_dir_is_relative_to_the_config_file() {
        let dir = std::env::temp_dir().join(format!("callward-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("callward.toml");
        std::fs::write(&path, "data_dir = \"data\"\n").unwrap();
        let config = load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(config.data_dir, Some(dir.join("data")));
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = load(Path::new("/nonexistent/callward.toml")).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("cannot read config file /nonexistent/callward.toml: ")
        );
    }
}
