//! Logged first (issue 7, item 2): every read of a call record or recording
//! appends an audit entry before anything is released, and a failed append
//! fails the request. And the key service's side of item 3: [`LogGate`],
//! the [`AccessGate`] that admits a key request only with proof that its
//! access is in the signed log, consistent with the last checkpoint the
//! service saw.
//!
//! Used by the HTTP API and by the CLI (which has no signed-in user: its
//! [`local_entry`] names the local OS user, from `$USER` with the uid the
//! kernel reports, role `local operator`, and the command as its source).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use callward_audit::{
    Action, Checkpoint, Entry, NoteSigner, ObjectKind, Source, Timestamp, VerifierKey, leaf_hash,
    verify_consistency, verify_inclusion,
};
use callward_store::{SqliteAuditLog, SqliteStore, StoreError};
use callward_vault::{AccessGate, KeyError, LogEvidence, RecordingHeader};

/// The last checkpoint the key service admitted, in the key directory.
pub const SEEN_FILE: &str = "audit.seen";
/// The log's verifier key, one line, in the key directory.
pub const VKEY_FILE: &str = "audit.vkey";

/// Why the access log could not be used. Whatever the variant, nothing
/// may be released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The stored log could not be opened or does not match its newest
    /// checkpoint.
    #[error("cannot open the audit log")]
    Open(#[source] StoreError),
    /// An entry could not be appended.
    #[error("cannot write the audit log, so nothing is released")]
    Append(#[source] StoreError),
    /// An entry or proof could not be read.
    #[error("cannot read the audit log")]
    Read(#[source] StoreError),
    /// An entry could not be encoded (a field too long).
    #[error("cannot encode the log entry: {0}")]
    Encode(String),
    /// Nothing was ever appended.
    #[error("the audit log has no checkpoint")]
    NoCheckpoint,
}

/// The audit log, opened for appending with the log's key.
pub struct AccessLog {
    log: SqliteAuditLog,
    verifier: VerifierKey,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("size", &self.log.size())
            .finish_non_exhaustive()
    }
}

/// Where an appended entry landed.
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    /// The entry's index in the log.
    pub index: u64,
}

impl AccessLog {
    /// Opens the log in `store`, signing with `signer` (the log's key,
    /// `audit.key`). Fails if the stored log does not match its newest
    /// checkpoint.
    pub async fn open(store: &SqliteStore, signer: NoteSigner) -> Result<Self, LogError> {
        let verifier = signer.verifier().clone();
        let origin = verifier.name().to_owned();
        let log = SqliteAuditLog::open(store, &origin, signer)
            .await
            .map_err(LogError::Open)?;
        Ok(Self { log, verifier })
    }

    /// Appends `entry` (one batch, committed and fsynced) and returns its
    /// index. Nothing may be released before this returns `Ok`.
    pub async fn record(&mut self, entry: &Entry) -> Result<Appended, LogError> {
        let cp = self
            .log
            .append(std::slice::from_ref(entry))
            .await
            .map_err(LogError::Append)?;
        Ok(Appended { index: cp.size - 1 })
    }

    /// Entry `index`, decoded.
    pub async fn entry(&self, index: u64) -> Result<Entry, LogError> {
        self.log.entry(index).await.map_err(LogError::Read)
    }

    /// The log's size as this handle last saw it.
    pub fn size(&self) -> u64 {
        self.log.size()
    }

    /// The log's verifier key (its public half), for `verify_audit_log`.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The newest signed checkpoint (a C2SP signed note), if any.
    pub fn checkpoint(&self) -> Option<&str> {
        self.log.checkpoint()
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>, LogError> {
        let proof = self
            .log
            .inclusion_proof(index, size)
            .await
            .map_err(LogError::Read)?;
        Ok(proof.into_iter().map(|h| h.0).collect())
    }

    /// The evidence a key request carries for the entry at `index`: the
    /// entry, its inclusion proof in this handle's newest checkpoint, that
    /// checkpoint, and a consistency proof from size `from` (the key
    /// service's last checkpoint; 0 when it has none).
    pub async fn evidence(&self, index: u64, from: u64) -> Result<LogEvidence, LogError> {
        let size = self.log.size();
        let entry = self
            .log
            .entry(index)
            .await
            .map_err(LogError::Read)?
            .encode()
            .map_err(|e| LogError::Encode(e.to_string()))?;
        let inclusion = self
            .log
            .inclusion_proof(index, size)
            .await
            .map_err(LogError::Read)?;
        let consistency = if from > 0 && from < size {
            self.log
                .consistency_proof(from, size)
                .await
                .map_err(LogError::Read)?
        } else {
            Vec::new()
        };
        let checkpoint = self
            .log
            .checkpoint()
            .ok_or(LogError::NoCheckpoint)?
            .to_owned();
        Ok(LogEvidence {
            entry,
            index,
            inclusion: inclusion.into_iter().map(|h| h.0).collect(),
            checkpoint,
            consistency_from: from,
            consistency: consistency.into_iter().map(|h| h.0).collect(),
        })
    }
}

/// The local user: `$USER` (or `$LOGNAME`) and the real uid, which the
/// environment cannot change.
fn os_user() -> (String, Option<u32>) {
    let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|n| !n.is_empty() && n.len() <= 64);
    let name = name.unwrap_or_else(|| uid.map_or_else(|| "unknown".into(), |u| format!("uid-{u}")));
    (name, uid)
}

/// Now, as an entry's timestamp (centiseconds).
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let centis = u8::try_from(since.subsec_millis() / 10).unwrap_or(0);
    Timestamp::from_unix(since.as_secs(), centis).unwrap_or(Timestamp(0))
}

/// An entry for an access made through the CLI by the local user.
pub fn local_entry(
    action: Action,
    object_kind: ObjectKind,
    object_id: &str,
    justification: &str,
    command: &str,
) -> Entry {
    let (user, uid) = os_user();
    let source = match uid {
        Some(uid) => format!("cli: callward {command} (uid {uid})"),
        None => format!("cli: callward {command}"),
    };
    Entry {
        user,
        role: "local operator".into(),
        agency: String::new(),
        action,
        object_kind,
        object_id: object_id.to_owned(),
        case_id: String::new(),
        justification: justification.to_owned(),
        time: now(),
        source: Source::Local(source),
    }
}

/// The key service's check of access-log evidence: trusts the log's
/// verifier key only, and keeps the newest checkpoint it admitted in
/// `<key-dir>/audit.seen`, so the log can be neither rolled back nor forked
/// behind its back, across restarts too.
#[derive(Debug)]
pub struct LogGate {
    key: VerifierKey,
    seen: PathBuf,
}

fn refused(why: impl Into<String>) -> KeyError {
    KeyError::Refused(why.into())
}

impl LogGate {
    /// The gate of the key service whose keys are in `key_dir`, trusting
    /// `key` (the log's verifier key, `audit.vkey`).
    pub fn new(key: VerifierKey, key_dir: &Path) -> Self {
        Self {
            key,
            seen: key_dir.join(SEEN_FILE),
        }
    }

    /// The gate of the key service whose keys are in `key_dir`, trusting
    /// the verifier key in `key_dir/audit.vkey`.
    pub fn open(key_dir: &Path) -> Result<Self, KeyError> {
        let path = key_dir.join(VKEY_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| KeyError::Unavailable(format!("cannot read {}: {e}", path.display())))?;
        let key = VerifierKey::parse(text.trim())
            .map_err(|e| KeyError::Unavailable(format!("{}: {e}", path.display())))?;
        Ok(Self::new(key, key_dir))
    }
    /// The newest checkpoint admitted so far, `None` before the first.
    pub fn last_seen(&self) -> Result<Option<Checkpoint>, KeyError> {
        let note = match std::fs::read_to_string(&self.seen) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(KeyError::Unavailable(format!(
                    "cannot read {}: {e}",
                    self.seen.display()
                )));
            }
        };
        Checkpoint::open(&note, &self.key, self.key.name())
            .map(Some)
            .map_err(|e| {
                KeyError::Unavailable(format!(
                    "{} does not hold a checkpoint of this log: {e}",
                    self.seen.display()
                ))
            })
    }

    /// Size of [`Self::last_seen`], 0 before the first.
    pub fn seen_size(&self) -> Result<u64, KeyError> {
        Ok(self.last_seen()?.map_or(0, |c| c.size))
    }

    /// Replaces the saved checkpoint: new file, synced, renamed over.
    fn save(&self, note: &str) -> Result<(), KeyError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let tmp = self
            .seen
            .with_extension(format!("tmp-{}", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(note.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &self.seen));
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            KeyError::Unavailable(format!("cannot save {}: {e}", self.seen.display()))
        })
    }
}

impl AccessGate for LogGate {
    fn admit(&self, header: &RecordingHeader, ev: &LogEvidence) -> Result<(), KeyError> {
        let entry = Entry::decode(&ev.entry)
            .map_err(|e| refused(format!("the log entry is not valid: {e}")))?;
        let recording = header.call_id().as_str();
        if entry.object_kind != ObjectKind::Recording
            || entry.object_id != recording
            || !matches!(entry.action, Action::Listen | Action::Export)
        {
            return Err(refused(format!(
                "the log entry is not an access to recording {recording}"
            )));
        }
        let cp = Checkpoint::open(&ev.checkpoint, &self.key, self.key.name())
            .map_err(|e| refused(format!("the log checkpoint does not verify: {e}")))?;
        verify_inclusion(
            ev.index,
            cp.size,
            leaf_hash(&ev.entry).as_bytes(),
            &ev.inclusion,
            cp.root.as_bytes(),
        )
        .map_err(|e| refused(format!("the log entry is not in the signed log: {e}")))?;
        let last = self.last_seen()?;
        if let Some(last) = &last {
            if cp.size < last.size {
                return Err(refused(format!(
                    "stale checkpoint: size {} is older than the last one seen, size {}",
                    cp.size, last.size
                )));
            }
            if ev.consistency_from != last.size {
                return Err(KeyError::ConsistencyNeeded {
                    from_size: last.size,
                });
            }
            verify_consistency(
                last.size,
                cp.size,
                &ev.consistency,
                last.root.as_bytes(),
                cp.root.as_bytes(),
            )
            .map_err(|e| {
                refused(format!(
                    "the checkpoint does not extend the last one seen (size {}): the log was rolled back or forked ({e})",
                    last.size
                ))
            })?;
        }
        if last.is_none_or(|l| cp.size > l.size) {
            self.save(&ev.checkpoint)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use callward_audit::{Log, MemoryStore, NoteSigner};
    use callward_vault::{
        AgencyPrivateKey, CallId, ChannelLayout, Codec, RecordingMeta, RecordingWriter,
    };

    use super::*;

    const ORIGIN: &str = "callward/audit/test";

    fn header(call_id: &str) -> RecordingHeader {
        let mut rng = callward_vault::OsRng::new().unwrap();
        let agency = AgencyPrivateKey::generate(&mut rng);
        let meta = RecordingMeta {
            call_id: CallId::new(call_id).unwrap(),
            codec: Codec::Pcma,
            layout: ChannelLayout::StationOutside,
            key_epoch: 1,
        };
        let mut out = Vec::new();
        RecordingWriter::start(&meta, agency.public_key(), &mut rng, &mut out).unwrap();
        RecordingHeader::parse(&out).unwrap()
    }

    fn signer(seed: u8) -> NoteSigner {
        NoteSigner::from_seed(ORIGIN, &[seed; 32]).unwrap()
    }

    /// The same every time for the same arguments (the time is fixed).
    fn access(recording: &str, n: u8) -> Entry {
        let mut e = local_entry(
            Action::Export,
            ObjectKind::Recording,
            recording,
            &format!("case {n}"),
            "test",
        );
        e.time = Timestamp(179_500_000_000 + u64::from(n));
        e
    }

    /// A log of `n` exports, alternating between two recordings, each
    /// appended as its own batch.
    fn log(n: u8, key_seed: u8, salt: u8) -> Log<MemoryStore> {
        let mut log = Log::open(MemoryStore::new(), ORIGIN, signer(key_seed)).unwrap();
        for i in 0..n {
            let rec = if i % 2 == 0 { "call-a" } else { "call-b" };
            log.append(&[access(rec, i.wrapping_add(salt))]).unwrap();
        }
        log
    }

    fn evidence(log: &Log<MemoryStore>, index: u64, from: u64) -> LogEvidence {
        let size = log.size();
        LogEvidence {
            entry: log.entry(index).unwrap().encode().unwrap(),
            index,
            inclusion: log
                .inclusion_proof(index, size)
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect(),
            checkpoint: log.checkpoint().unwrap().to_owned(),
            consistency_from: from,
            consistency: if from > 0 && from < size {
                log.consistency_proof(from, size)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.0)
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// A gate over a fresh key directory, removed when the test ends.
    fn gate() -> (LogGate, tempfile::TempDir) {
        let dir = tempfile::Builder::new()
            .prefix("callward-gate-")
            .tempdir()
            .unwrap();
        (LogGate::new(signer(1).verifier().clone(), dir.path()), dir)
    }

    fn refusal(r: Result<(), KeyError>) -> String {
        match r {
            Err(KeyError::Refused(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_entry_and_proof_release_and_move_the_seen_checkpoint() {
        let (gate, _dir) = gate();
        let a = header("call-a");
        let log = log(5, 1, 0);
        assert_eq!(gate.seen_size().unwrap(), 0);
        gate.admit(&a, &evidence(&log, 4, 0)).unwrap();
        assert_eq!(gate.seen_size().unwrap(), 5);
        // The same checkpoint again, and a later one with its proof.
        gate.admit(&a, &evidence(&log, 2, 5)).unwrap();
        let longer = self::log(9, 1, 0);
        gate.admit(&a, &evidence(&longer, 8, 5)).unwrap();
        assert_eq!(gate.seen_size().unwrap(), 9);
    }

    #[test]
    fn a_forged_entry_is_refused() {
        let (gate, _dir) = gate();
        let a = header("call-a");
        let log = log(5, 1, 0);
        let mut ev = evidence(&log, 2, 0);
        // Another justification, same proof: not the entry that was logged.
        ev.entry = access("call-a", 77).encode().unwrap();
        let why = refusal(gate.admit(&a, &ev));
        assert!(why.contains("not in the signed log"), "{why}");
        // Garbage bytes are not an entry at all.
        ev.entry = b"not an entry".to_vec();
        let why = refusal(gate.admit(&a, &ev));
        assert!(why.contains("not valid"), "{why}");
        // A checkpoint signed by another key.
        let other = self::log(5, 2, 0);
        let why = refusal(gate.admit(&a, &evidence(&other, 2, 0)));
        assert!(why.contains("does not verify"), "{why}");
        assert_eq!(gate.seen_size().unwrap(), 0, "nothing admitted");
    }

    #[test]
    fn a_proof_for_another_recording_is_refused() {
        let (gate, _dir) = gate();
        let log = log(5, 1, 0);
        // Entry 1 is an export of call-b: it opens nothing for call-a.
        let why = refusal(gate.admit(&header("call-a"), &evidence(&log, 1, 0)));
        assert!(why.contains("not an access to recording call-a"), "{why}");
        gate.admit(&header("call-b"), &evidence(&log, 1, 0))
            .unwrap();
    }

    #[test]
    fn a_stale_checkpoint_is_refused() {
        let (gate, _dir) = gate();
        let a = header("call-a");
        gate.admit(&a, &evidence(&log(7, 1, 0), 6, 0)).unwrap();
        let why = refusal(gate.admit(&a, &evidence(&log(5, 1, 0), 4, 7)));
        assert!(why.contains("stale checkpoint"), "{why}");
        // A newer checkpoint whose proof starts elsewhere: asked for the
        // proof from what was seen, which then releases.
        assert_eq!(
            gate.admit(&a, &evidence(&log(9, 1, 0), 8, 5)),
            Err(KeyError::ConsistencyNeeded { from_size: 7 })
        );
        gate.admit(&a, &evidence(&log(9, 1, 0), 8, 7)).unwrap();
    }

    #[test]
    fn a_forked_checkpoint_is_refused() {
        let (gate, _dir) = gate();
        let a = header("call-a");
        gate.admit(&a, &evidence(&log(5, 1, 0), 4, 0)).unwrap();
        // Same key, different history (an entry rewritten): signed, and
        // the entry is in it, but it does not extend what was seen.
        let fork = log(9, 1, 50);
        let why = refusal(gate.admit(&a, &evidence(&fork, 8, 5)));
        assert!(why.contains("rolled back or forked"), "{why}");
        // Same size, other root.
        let fork = log(5, 1, 50);
        let why = refusal(gate.admit(&a, &evidence(&fork, 4, 5)));
        assert!(why.contains("rolled back or forked"), "{why}");
        assert_eq!(gate.seen_size().unwrap(), 5);
    }
}
