//! The data directory: database, keys and recordings live under it.

use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// A data directory that exists and that this process can write to.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// Creates the directory (owner-only permissions) if it is absent, and
    /// checks that it is a directory this process can write to. On error
    /// nothing has been written.
    pub(crate) fn create_or_open(path: &Path) -> anyhow::Result<Self> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!("data dir {} exists and is not a directory", path.display()),
            Err(err) if err.kind() == ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .with_context(|| format!("cannot create data dir {}", path.display()))?;
            }
            Err(err) => {
                return Err(err).with_context(|| format!("cannot use data dir {}", path.display()));
            }
        }
        check_writable(path)?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Permission bits do not tell (root ignores them; a read-only mount
/// overrides them), so try: create a file and remove it again.
fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(format!(".callward-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| format!("data dir {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("cannot remove {} from data dir", probe.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "callward-data-dir-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn creates_a_missing_directory_with_parents_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let base = scratch("create");
        let path = base.join("a/b");
        let dir = DataDir::create_or_open(&path).unwrap();
        assert_eq!(dir.path(), path);
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        // Nothing left behind by the write check.
        assert_eq!(std::fs::read_dir(&path).unwrap().count(), 0);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn opens_an_existing_directory_and_keeps_its_contents() {
        let base = scratch("existing");
        std::fs::write(base.join("keep"), "x").unwrap();
        DataDir::create_or_open(&base).unwrap();
        let names: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep"]);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_file_is_refused_and_left_alone() {
        let base = scratch("file");
        let file = base.join("data");
        std::fs::write(&file, "not a dir").unwrap();
        let err = DataDir::create_or_open(&file).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!("data dir {} exists and is not a directory", file.display())
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a dir");
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn a_path_under_a_file_is_refused() {
        let base = scratch("under-file");
        let file = base.join("data");
        std::fs::write(&file, "").unwrap();
        let err = DataDir::create_or_open(&file.join("sub")).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("cannot use data dir "),
            "{err:#}"
        );
        std::fs::remove_dir_all(base).unwrap();
    }
}
