//! The recording spool: one OS thread that writes every call's encrypted
//! recording chunks to disk and makes them durable, in batches.
//!
//! Call tasks never touch the disk: they hand the spool bytes that are
//! already sealed (the container header, then each ~1 s chunk as it fills,
//! then the final chunk) and go on with their 20 ms media clock. The spool
//! takes everything queued, writes it, then calls `fsync` once per file
//! written in that batch (and once on the directory when files were created
//! or finished), so a busy switch pays one sync per file per batch rather
//! than one per chunk. A recording's [`Spool::finish`] answers only after
//! its last bytes are synced: the call record that names it is stored after
//! that.
//!
//! Files are created new (never overwritten), mode 0600, as
//! `<dir>/<call-id>.cwrec`. Dropping the spool drains the queue and syncs
//! before the thread ends; [`Spool::close`] waits for that.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tracing::warn;

/// The file name extension of a recording container.
pub const RECORDING_EXTENSION: &str = "cwrec";

/// Messages taken in one batch at most, so a flood of writes still syncs
/// now and then.
const MAX_BATCH: usize = 4096;

enum Msg {
    Create {
        id: String,
        bytes: Vec<u8>,
    },
    Append {
        id: String,
        bytes: Vec<u8>,
    },
    Finish {
        id: String,
        bytes: Vec<u8>,
        done: oneshot::Sender<io::Result<u64>>,
    },
}

/// The handle call tasks share. Public for the write-path benchmark
/// (`benches/write_path.rs`); the switch starts its own.
#[derive(Debug)]
pub struct Spool {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they are ciphertext, but there is no reason to log them.
        match self {
            Self::Create { id, bytes }
            | Self::Append { id, bytes }
            | Self::Finish { id, bytes, .. } => {
                write!(f, "Msg({id}, {} bytes)", bytes.len())
            }
        }
    }
}

impl Spool {
    /// Starts the spool thread writing into `dir` (created if missing).
    pub fn start(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("cw-spool".into())
            .spawn(move || Writer::new(dir).run(&rx))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx
            && tx.send(msg).is_err()
        {
            warn!("recording spool has stopped; chunk dropped");
        }
    }

    /// A new recording `id` beginning with `bytes` (its header).
    pub fn create(&self, id: &str, bytes: Vec<u8>) {
        self.send(Msg::Create {
            id: id.to_owned(),
            bytes,
        });
    }

    /// More sealed bytes of recording `id`.
    pub fn append(&self, id: &str, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.send(Msg::Append {
                id: id.to_owned(),
                bytes,
            });
        }
    }

    /// The last bytes of recording `id`; the answer comes once the whole
    /// file is synced (its length), or with the first error it met.
    pub fn finish(&self, id: &str, bytes: Vec<u8>) -> oneshot::Receiver<io::Result<u64>> {
        let (done, rx) = oneshot::channel();
        self.send(Msg::Finish {
            id: id.to_owned(),
            bytes,
            done,
        });
        rx
    }

    /// Stops taking work, and waits (blocking) until everything queued is
    /// written and synced.
    pub fn close(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The path of recording `id` in `dir` (`<dir>/<id>.cwrec`).
pub fn recording_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.{RECORDING_EXTENSION}"))
}

struct Open {
    file: File,
    len: u64,
}

struct Writer {
    dir: PathBuf,
    open: HashMap<String, Open>,
    /// Recordings that failed: later bytes are dropped, the finish reports it.
    failed: HashMap<String, io::ErrorKind>,
}

impl Writer {
    fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            open: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    fn run(mut self, rx: &Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            self.batch(batch);
        }
    }

    fn batch(&mut self, batch: Vec<Msg>) {
        let mut dirty: HashSet<String> = HashSet::new();
        let mut dir_changed = false;
        let mut finished = Vec::new();
        for msg in batch {
            match msg {
                Msg::Create { id, bytes } => {
                    dir_changed = true;
                    let path = recording_path(&self.dir, &id);
                    let opened = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&path);
                    match opened {
                        Ok(file) => {
                            self.open.insert(id.clone(), Open { file, len: 0 });
                            self.write(&id, &bytes);
                            dirty.insert(id);
                        }
                        Err(e) => self.fail(&id, &e),
                    }
                }
                Msg::Append { id, bytes } => {
                    self.write(&id, &bytes);
                    dirty.insert(id);
                }
                Msg::Finish { id, bytes, done } => {
                    self.write(&id, &bytes);
                    dirty.insert(id.clone());
                    dir_changed = true;
                    finished.push((id, done));
                }
            }
        }
        for id in &dirty {
            let synced = self.open.get(id).map(|o| o.file.sync_data());
            if let Some(Err(e)) = synced {
                self.fail(id, &e);
            }
        }
        if dir_changed && let Err(e) = File::open(&self.dir).and_then(|d| d.sync_all()) {
            warn!(error = %e, "recording directory sync failed");
        }
        for (id, done) in finished {
            let result = match (self.open.remove(&id), self.failed.remove(&id)) {
                (_, Some(kind)) => Err(io::Error::from(kind)),
                (Some(o), None) => Ok(o.len),
                (None, None) => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "recording was never created",
                )),
            };
            let _ = done.send(result);
        }
    }

    fn write(&mut self, id: &str, bytes: &[u8]) {
        let Some(o) = self.open.get_mut(id) else {
            return;
        };
        match o.file.write_all(bytes) {
            Ok(()) => o.len += bytes.len() as u64,
            Err(e) => self.fail(id, &e),
        }
    }

    fn fail(&mut self, id: &str, e: &io::Error) {
        warn!(recording = id, error = %e, "recording write failed; the rest of it is dropped");
        self.open.remove(id);
        self.failed.insert(id.to_owned(), e.kind());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("cw-spool-{}", crate::ids::token()))
    }

    #[tokio::test]
    async fn writes_in_order_syncs_and_answers_with_the_length() {
        let d = dir();
        let spool = Spool::start(d.clone()).unwrap();
        spool.create("cw-a", b"head".to_vec());
        spool.create("cw-b", b"B".to_vec());
        spool.append("cw-a", b"-one".to_vec());
        spool.append("cw-a", Vec::new());
        let a = spool.finish("cw-a", b"-end".to_vec());
        assert_eq!(a.await.unwrap().unwrap(), 12);
        assert_eq!(
            std::fs::read(recording_path(&d, "cw-a")).unwrap(),
            b"head-one-end"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(recording_path(&d, "cw-a"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Never overwritten: a second recording of one id fails at its finish.
        spool.create("cw-a", b"again".to_vec());
        let again = spool.finish("cw-a", Vec::new()).await.unwrap();
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read(recording_path(&d, "cw-a")).unwrap(),
            b"head-one-end"
        );
        // A finish for something never created says so.
        let none = spool.finish("cw-none", b"x".to_vec()).await.unwrap();
        assert_eq!(none.unwrap_err().kind(), io::ErrorKind::NotFound);
        // Closing drains what is queued.
        spool.append("cw-b", b"bb".to_vec());
        spool.close();
        assert_eq!(std::fs::read(recording_path(&d, "cw-b")).unwrap(), b"Bbb");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
