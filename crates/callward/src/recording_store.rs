//! `[recordings]` in the config file: where sealed recordings live.
//!
//! ```toml
//! [recordings]
//! store = "s3://recordings/site-1"      # default "local": <data-dir>/recordings
//! endpoint = "http://127.0.0.1:3900"    # S3-compatible server; AWS when absent
//! region = "garage"                      # default "us-east-1"
//! access_key_id = "GK..."                # or CALLWARD_S3_ACCESS_KEY_ID
//! secret_access_key = "..."              # or CALLWARD_S3_SECRET_ACCESS_KEY
//! ```
//!
//! The credentials may come from the environment instead of the file
//! (the environment wins). The secret is never logged or printed.

use std::fmt;
use std::path::Path;

use anyhow::{Context as _, bail};
use callward_switch::recording_store::{RecordingStore, S3Config, Secret};
use serde::{Deserialize, Serialize};

/// Environment variable for the access key id.
pub(crate) const ENV_ACCESS_KEY_ID: &str = "CALLWARD_S3_ACCESS_KEY_ID";
/// Environment variable for the secret access key.
pub(crate) const ENV_SECRET_ACCESS_KEY: &str = "CALLWARD_S3_SECRET_ACCESS_KEY";

/// The `[recordings]` table.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordingsConfig {
    pub(crate) store: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
}

impl fmt::Debug for RecordingsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingsConfig")
            .field("store", &self.store)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| ".."),
            )
            .finish()
    }
}

impl RecordingsConfig {
    /// The store for `data_dir`: its `recordings/` directory is always the
    /// spool; with `store = "s3://..."` sealed recordings move to S3.
    pub(crate) fn open(&self, data_dir: &Path) -> anyhow::Result<RecordingStore> {
        self.open_with_env(data_dir, |k| std::env::var(k).ok())
    }

    fn open_with_env(
        &self,
        data_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<RecordingStore> {
        let spool = data_dir.join("recordings");
        let store = self.store.as_deref().unwrap_or("local");
        if store == "local" {
            return Ok(RecordingStore::local(spool));
        }
        if !store.starts_with("s3://") {
            bail!("[recordings] store: {store:?} is neither \"local\" nor s3://bucket/prefix");
        }
        let key_id = env(ENV_ACCESS_KEY_ID)
            .or_else(|| self.access_key_id.clone())
            .with_context(|| {
                format!("[recordings] access_key_id (or {ENV_ACCESS_KEY_ID}) is needed for {store}")
            })?;
        let secret = env(ENV_SECRET_ACCESS_KEY)
            .or_else(|| self.secret_access_key.clone())
            .with_context(|| {
                format!(
                    "[recordings] secret_access_key (or {ENV_SECRET_ACCESS_KEY}) is needed for {store}"
                )
            })?;
        let config = S3Config::parse_url(
            store,
            self.endpoint.clone(),
            self.region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            key_id,
            Secret::new(secret),
        )?;
        Ok(RecordingStore::s3(spool, &config)?)
    }
}

/// The file in the data dir in which `serve` records where its recordings
/// go (store URL, endpoint, region; never credentials), so that readers
/// use the same store without guessing.
pub(crate) const STORE_FILE: &str = "recording-store.json";

/// What [`STORE_FILE`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreRecord {
    /// `local` or `s3://bucket/prefix`.
    store: String,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

impl StoreRecord {
    fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{} at {e}", self.store),
            None => self.store.clone(),
        }
    }
}

impl RecordingsConfig {
    /// The store this configuration names, as recorded in the data dir.
    fn store_record(&self) -> StoreRecord {
        let store = self.store.as_deref().unwrap_or("local");
        if store == "local" {
            return StoreRecord {
                store: "local".to_owned(),
                endpoint: None,
                region: None,
            };
        }
        StoreRecord {
            store: store.trim_end_matches('/').to_owned(),
            endpoint: self.endpoint.clone(),
            region: Some(
                self.region
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            ),
        }
    }
}

const DEFAULT_REGION: &str = "us-east-1";

fn read_store_record(data_dir: &Path) -> anyhow::Result<Option<StoreRecord>> {
    let path = data_dir.join(STORE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is damaged", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `serve`: records in the data dir which store its recordings go to.
/// A data dir whose recordings already go elsewhere is refused: readers
/// would no longer find the earlier ones.
pub(crate) fn record_for_serve(config: &RecordingsConfig, data_dir: &Path) -> anyhow::Result<()> {
    let wanted = config.store_record();
    match read_store_record(data_dir)? {
        Some(recorded) if recorded == wanted => Ok(()),
        Some(recorded) => bail!(
            "the recordings of {} go to {} ({STORE_FILE}), but the config names {}; move them and remove {STORE_FILE} to change the store",
            data_dir.display(),
            recorded.describe(),
            wanted.describe()
        ),
        None => {
            let json = serde_json::to_vec_pretty(&wanted)?;
            crate::keys::write_new(&data_dir.join(STORE_FILE), &json)
        }
    }
}

/// The store a reading command uses: the one `serve` recorded in the data
/// dir, with credentials from `[recordings]` of `--config` or the
/// environment. A `--config` naming another store is an error; a data dir
/// `serve` has not recorded yet uses `--config`'s store, else the local one.
pub(crate) fn for_reading(
    config: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<RecordingStore> {
    for_reading_with_env(config, data_dir, |k| std::env::var(k).ok())
}

fn for_reading_with_env(
    config: Option<&Path>,
    data_dir: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<RecordingStore> {
    let from_file = config
        .map(|p| crate::config::load(p).map(|c| (p, c.recordings)))
        .transpose()?;
    match (read_store_record(data_dir)?, from_file) {
        (None, None) => RecordingsConfig::default().open_with_env(data_dir, env),
        (None, Some((_, c))) => c.open_with_env(data_dir, env),
        (Some(recorded), Some((path, c))) => {
            let named = c.store_record();
            if named != recorded {
                bail!(
                    "{} names the recording store {}, but the recordings of {} are in {} ({STORE_FILE})",
                    path.display(),
                    named.describe(),
                    data_dir.display(),
                    recorded.describe()
                );
            }
            c.open_with_env(data_dir, env)
        }
        (Some(recorded), None) => {
            if recorded.store != "local"
                && (env(ENV_ACCESS_KEY_ID).is_none() || env(ENV_SECRET_ACCESS_KEY).is_none())
            {
                bail!(
                    "the recordings of {} are in {} ({STORE_FILE}): pass --config FILE whose [recordings] has access_key_id and secret_access_key, or set {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY}",
                    data_dir.display(),
                    recorded.describe()
                );
            }
            RecordingsConfig {
                store: Some(recorded.store),
                endpoint: recorded.endpoint,
                region: recorded.region,
                access_key_id: None,
                secret_access_key: None,
            }
            .open_with_env(data_dir, env)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_is_the_default() {
        let store = RecordingsConfig::default().open(Path::new("/d")).unwrap();
        assert!(!store.is_remote());
        assert_eq!(store.spool_dir(), Path::new("/d/recordings"));
    }

    #[test]
    fn s3_takes_credentials_from_the_environment_first() {
        let config = RecordingsConfig {
            store: Some("s3://bucket/pre".into()),
            endpoint: Some("http://127.0.0.1:3900".into()),
            region: Some("garage".into()),
            access_key_id: Some("from-file".into()),
            secret_access_key: Some("file-secret-value".into()),
        };
        let store = config
            .open_with_env(Path::new("/d"), |k| {
                (k == ENV_SECRET_ACCESS_KEY).then(|| "env-secret-value".to_owned())
            })
            .unwrap();
        assert!(store.is_remote());
        assert_eq!(store.describe(), "s3://bucket/pre");
        assert!(!format!("{config:?}").contains("file-secret-value"));
        assert!(!format!("{store:?}").contains("env-secret-value"));
    }

    fn data_dir() -> std::path::PathBuf {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let d = std::env::temp_dir().join(format!("cw-store-record-{}", u64::from_le_bytes(b)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn readers_use_the_store_serve_recorded_and_refuse_another() {
        let d = data_dir();
        let s3 = RecordingsConfig {
            store: Some("s3://bucket/pre/".into()),
            endpoint: Some("http://127.0.0.1:3900".into()),
            region: Some("garage".into()),
            access_key_id: Some("GK1".into()),
            secret_access_key: Some("file-secret-value".into()),
        };
        // Before serve records anything: the local directory.
        assert!(
            !for_reading_with_env(None, &d, |_| None)
                .unwrap()
                .is_remote()
        );
        record_for_serve(&s3, &d).unwrap();
        record_for_serve(&s3, &d).unwrap();
        let text = std::fs::read_to_string(d.join(STORE_FILE)).unwrap();
        assert!(
            text.contains("s3://bucket/pre") && text.contains("garage"),
            "{text}"
        );
        assert!(
            !text.contains("file-secret-value") && !text.contains("GK1"),
            "{text}"
        );
        // serve with another store is refused.
        let err = record_for_serve(&RecordingsConfig::default(), &d).unwrap_err();
        assert!(format!("{err:#}").contains("s3://bucket/pre"), "{err:#}");

        // No credentials: one line naming what to pass.
        let err = for_reading_with_env(None, &d, |_| None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("s3://bucket/pre")
                && msg.contains("--config")
                && msg.contains(ENV_ACCESS_KEY_ID)
                && msg.contains(ENV_SECRET_ACCESS_KEY),
            "{msg}"
        );
        // From the environment: the recorded store.
        let store = for_reading_with_env(None, &d, |k| Some(format!("{k}-value"))).unwrap();
        assert_eq!(store.describe(), "s3://bucket/pre");

        // A config naming the same store gives credentials; another is refused.
        let same = d.join("same.toml");
        std::fs::write(
            &same,
            "[recordings]\nstore = \"s3://bucket/pre\"\nendpoint = \"http://127.0.0.1:3900\"\nregion = \"garage\"\naccess_key_id = \"GK1\"\nsecret_access_key = \"s\"\n",
        )
        .unwrap();
        assert!(
            for_reading_with_env(Some(&same), &d, |_| None)
                .unwrap()
                .is_remote()
        );
        let other = d.join("other.toml");
        std::fs::write(&other, "[recordings]\nstore = \"s3://elsewhere\"\n").unwrap();
        let err = for_reading_with_env(Some(&other), &d, |_| None).unwrap_err();
        assert!(format!("{err:#}").contains("s3://elsewhere"), "{err:#}");
        let local = d.join("local.toml");
        std::fs::write(&local, "").unwrap();
        assert!(for_reading_with_env(Some(&local), &d, |_| None).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn s3_without_credentials_or_with_a_bad_url_is_an_error() {
        let config = RecordingsConfig {
            store: Some("s3://bucket".into()),
            ..RecordingsConfig::default()
        };
        let err = config.open_with_env(Path::new("/d"), |_| None).unwrap_err();
        assert!(format!("{err:#}").contains("access_key_id"), "{err:#}");
        let config = RecordingsConfig {
            store: Some("ftp://x".into()),
            ..RecordingsConfig::default()
        };
        assert!(config.open_with_env(Path::new("/d"), |_| None).is_err());
    }
}
