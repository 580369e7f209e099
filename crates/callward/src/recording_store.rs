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
use serde::Deserialize;

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
                .unwrap_or_else(|| "us-east-1".to_owned()),
            key_id,
            Secret::new(secret),
        )?;
        Ok(RecordingStore::s3(spool, &config)?)
    }
}

/// The store a reading command uses: `[recordings]` of `--config` if
/// given, else the local spool directory.
pub(crate) fn for_reading(
    config: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<RecordingStore> {
    match config {
        Some(path) => crate::config::load(path)?.recordings.open(data_dir),
        None => RecordingsConfig::default().open(data_dir),
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
