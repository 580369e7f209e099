//! `callward audit verify|export|witness`: the auditor's tools
//! (`docs/audit-log.md`, "Auditor tools").
//!
//! - `verify`: recomputes the log from its entries and checks every stored
//!   node and signed checkpoint, on the live database in `--data-dir`, or
//!   offline on an export (`--log FILE`) against a checkpoint the auditor
//!   holds (`--checkpoint FILE`); the first inconsistency is reported with
//!   its position and the exit status is 1.
//! - `export --out FILE`: entries, nodes and checkpoints as stored, in one
//!   JSON file.
//! - `witness --state DIR --checkpoint FILE --log FILE`: an outside party
//!   keeps the last checkpoint it accepted, checks the new one extends it
//!   (consistency proof computed from the exported log, checked against
//!   both signed roots) and cosigns it with its own key (C2SP
//!   tlog-cosignature v1: Ed25519, timestamped).
//! - `check-cosignature --checkpoint FILE --witness-key FILE`: checks that
//!   a checkpoint is the log's and that the witness cosigned it.
//!
//! Only the verifier key is trusted: `--vkey FILE`, else `audit.vkey` in
//! `--key-dir`. The origin is the key's name.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_audit::hash::{hex, root_of};
use callward_audit::tree::consistency_proof;
use callward_audit::{
    Checkpoint, CosignatureError, CosignatureSigner, CosignatureVerifier, Hash, LogStore, NodeId,
    Verified, Verifier, VerifierKey, VerifyError, leaf_hash, verify_consistency,
};
use clap::{Args, Subcommand};

use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;

/// The export file's format line.
pub(crate) const EXPORT_FORMAT: &str = "callward-audit-export v1";

/// `callward audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// The log's verifier key, one line `origin+keyid+base64` [default: KEY_DIR/audit.vkey]
    #[arg(long, global = true, value_name = "FILE")]
    vkey: Option<PathBuf>,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the log and check every entry, node and signed checkpoint.
    Verify {
        /// An exported log (`audit export`) instead of the live one.
        #[arg(long, value_name = "FILE", requires = "checkpoint")]
        log: Option<PathBuf>,
        /// A signed checkpoint the exported log must match (offline form).
        #[arg(long, value_name = "FILE", requires = "log")]
        checkpoint: Option<PathBuf>,
    },
    /// Write the stored log (entries, nodes, checkpoints) to a new file.
    Export {
        /// The file to create; an existing one is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Witness: accept a new checkpoint only if it extends the last one this
    /// witness accepted, then cosign it (printed on stdout).
    Witness {
        /// The witness's own directory: its key and the last checkpoint.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The new signed checkpoint.
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// An exported log holding both checkpoints' entries, for the
        /// consistency proof (needed once a checkpoint has been accepted).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// The witness key's name, when the state dir is created.
        #[arg(long, value_name = "NAME", default_value = "callward-witness")]
        name: String,
    },
    /// Check a witness's cosignature on a checkpoint: the checkpoint must be
    /// signed by the log's key and cosigned by the witness's.
    CheckCosignature {
        /// The cosigned checkpoint (what `audit witness` printed or saved).
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// The witness's verifier key (its `witness.vkey`), one line
        /// `name+keyid+base64`.
        #[arg(long, value_name = "FILE")]
        witness_key: PathBuf,
    },
}

/// Runs one `audit` command; `false` when verification found a problem.
pub(crate) async fn run(args: AuditArgs) -> anyhow::Result<bool> {
    let vkey = || match &args.vkey {
        Some(path) => crate::audit_key::read_vkey(path),
        None => crate::audit_key::verifier(&args.key_dir.key_dir),
    };
    match args.command {
        AuditCommand::Verify {
            log: None,
            checkpoint: _,
        } => {
            let key = vkey()?;
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            eprintln!(
                "verifying the audit log in {}",
                args.data_dir.data_dir.display()
            );
            let bar = Bar::new();
            let result = callward_store::verify_audit_log_with_progress(
                &local.store,
                &key,
                key.name(),
                |done, total| bar.show(done, total),
            )
            .await;
            bar.clear();
            report(result)
        }
        AuditCommand::Verify {
            log: Some(log),
            checkpoint,
        } => {
            let key = vkey()?;
            let store = ExportStore::read(&log)?;
            let result = verify_with_progress(&store, &key);
            let ok = report(result.map_err(|e| match e {
                VerifyError::Store(e) => VerifyError::Store(anyhow::Error::from(e)),
                VerifyError::Inconsistent(f) => VerifyError::Inconsistent(f),
                other => VerifyError::Store(anyhow::anyhow!("{other}")),
            }))?;
            if !ok {
                return Ok(false);
            }
            // Verify requires the checkpoint with the log.
            let Some(cp_path) = checkpoint else {
                return Ok(true);
            };
            let cp = read_checkpoint(&cp_path, &key)?;
            let leaves = store.leaves(cp.size);
            match leaves {
                None => {
                    println!(
                        "FAIL: checkpoint {} signs {} entries; the export holds {}",
                        cp_path.display(),
                        cp.size,
                        store.size_hint()
                    );
                    Ok(false)
                }
                Some(leaves) if root_of(&leaves) != cp.root => {
                    println!(
                        "FAIL: checkpoint at size {}: the export's entries 0..{} do not give its root (rewritten or forked log)",
                        cp.size, cp.size
                    );
                    Ok(false)
                }
                Some(_) => {
                    println!("checkpoint at size {} matches the export", cp.size);
                    Ok(true)
                }
            }
        }
        AuditCommand::Export { out } => {
            if out.exists() {
                bail!("{} already exists; choose a new file", out.display());
            }
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            let rows = callward_store::audit_rows(&local.store).await?;
            let vkey = vkey().ok().map(|k| k.to_string());
            let json = serde_json::json!({
                "format": EXPORT_FORMAT,
                "vkey": vkey,
                "entries": rows.entries.iter().map(|(i, e)| serde_json::json!([i, hex(e)])).collect::<Vec<_>>(),
                "nodes": rows.nodes.iter().map(|(p, h)| serde_json::json!([p, hex(h)])).collect::<Vec<_>>(),
                "checkpoints": rows.checkpoints.iter().map(|(s, n)| serde_json::json!([s, n])).collect::<Vec<_>>(),
            });
            crate::audit_key::write_new(&out, serde_json::to_string(&json)?.as_bytes())?;
            eprintln!(
                "wrote {}: {} entries, {} nodes, {} checkpoints",
                out.display(),
                rows.entries.len(),
                rows.nodes.len(),
                rows.checkpoints.len()
            );
            Ok(true)
        }
        AuditCommand::Witness {
            state,
            checkpoint,
            log,
            name,
        } => {
            let key = vkey()?;
            witness(&state, &checkpoint, log.as_deref(), &name, &key)
        }
        AuditCommand::CheckCosignature {
            checkpoint,
            witness_key,
        } => {
            let key = vkey()?;
            check_cosignature(&checkpoint, &witness_key, &key)
        }
    }
}

/// `audit check-cosignature`: `Ok(false)` (and `REFUSED: ...` on stdout)
/// when the checkpoint is not the log's or the witness did not cosign it.
fn check_cosignature(
    checkpoint: &Path,
    witness_key: &Path,
    key: &VerifierKey,
) -> anyhow::Result<bool> {
    let line = std::fs::read_to_string(witness_key)
        .with_context(|| format!("cannot read {}", witness_key.display()))?;
    let witness = CosignatureVerifier::parse(line.trim_end_matches('\n')).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a witness's verifier key (name+keyid+base64 of a tlog-cosignature/v1 Ed25519 key, as in witness.vkey)",
            witness_key.display()
        )
    })?;
    let note = std::fs::read_to_string(checkpoint)
        .with_context(|| format!("cannot read {}", checkpoint.display()))?;
    let cp = match Checkpoint::open(&note, key, key.name()) {
        Ok(cp) => cp,
        Err(e) => {
            println!(
                "REFUSED: {} is not a checkpoint signed by the log's key {}: {e}",
                checkpoint.display(),
                key.name()
            );
            return Ok(false);
        }
    };
    match witness.verify(&note) {
        Ok(c) => {
            println!(
                "OK: checkpoint size {}, root {}, cosigned by {} at {} (POSIX seconds)",
                cp.size,
                cp.root.to_hex(),
                witness.name(),
                c.time
            );
            Ok(true)
        }
        Err(CosignatureError::Missing(_)) => {
            println!(
                "REFUSED: no cosignature by witness {} (key ID {:08x}) on checkpoint size {}",
                witness.name(),
                witness.key_id(),
                cp.size
            );
            Ok(false)
        }
        Err(CosignatureError::BadSignature) => {
            println!(
                "REFUSED: the cosignature by witness {} does not verify for checkpoint size {}: it was made on another checkpoint, or altered",
                witness.name(),
                cp.size
            );
            Ok(false)
        }
        Err(e) => {
            println!(
                "REFUSED: the cosignature by witness {} is invalid: {e}",
                witness.name()
            );
            Ok(false)
        }
    }
}

/// Prints the outcome; `Ok(false)` for an inconsistency.
fn report<E: std::fmt::Display>(result: Result<Verified, VerifyError<E>>) -> anyhow::Result<bool> {
    match result {
        Ok(v) => {
            println!(
                "OK: {} entries, {} checkpoints, root {}",
                v.size,
                v.checkpoints,
                v.root.to_hex()
            );
            Ok(true)
        }
        Err(VerifyError::Inconsistent(finding)) => {
            println!("FAIL: {finding}");
            Ok(false)
        }
        Err(e) => bail!("cannot verify the audit log: {e}"),
    }
}

fn read_checkpoint(path: &Path, key: &VerifierKey) -> anyhow::Result<Checkpoint> {
    let note =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Checkpoint::open(&note, key, key.name())
        .with_context(|| format!("{}: not a checkpoint signed by {}", path.display(), key))
}

/// An exported log, read back: rows by index and position as exported.
struct ExportStore {
    entries: BTreeMap<u64, Vec<u8>>,
    nodes: HashMap<u64, Vec<u8>>,
    checkpoints: Vec<(u64, String)>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl ExportStore {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let bad = || anyhow::anyhow!("{} is not a callward audit export", path.display());
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
        if json["format"] != EXPORT_FORMAT {
            return Err(bad());
        }
        let rows = |name: &str| json[name].as_array().cloned().ok_or_else(bad);
        let pair = |v: &serde_json::Value| -> anyhow::Result<(u64, String)> {
            Ok((
                v[0].as_u64().ok_or_else(bad)?,
                v[1].as_str().ok_or_else(bad)?.to_owned(),
            ))
        };
        let mut entries = BTreeMap::new();
        for v in rows("entries")? {
            let (i, h) = pair(&v)?;
            entries.insert(i, unhex(&h).ok_or_else(bad)?);
        }
        let mut nodes = HashMap::new();
        for v in rows("nodes")? {
            let (p, h) = pair(&v)?;
            nodes.insert(p, unhex(&h).ok_or_else(bad)?);
        }
        let mut checkpoints = Vec::new();
        for v in rows("checkpoints")? {
            checkpoints.push(pair(&v)?);
        }
        Ok(Self {
            entries,
            nodes,
            checkpoints,
        })
    }

    fn size_hint(&self) -> u64 {
        self.entries.last_key_value().map_or(0, |(i, _)| i + 1)
    }

    /// Leaf hashes of entries `0..size`, `None` if one is missing.
    fn leaves(&self, size: u64) -> Option<Vec<Hash>> {
        (0..size)
            .map(|i| self.entries.get(&i).map(|e| leaf_hash(e)))
            .collect()
    }

    /// Every stored node the tree of `size` entries has, by id.
    fn node_map(&self, size: u64) -> HashMap<NodeId, Hash> {
        let mut out = HashMap::new();
        for j in 0..size {
            for level in 0..=j.trailing_ones() {
                let id = NodeId::new(level as u8, ((j + 1) >> level) - 1);
                if let Some(h) = self
                    .nodes
                    .get(&id.position())
                    .and_then(|b| Hash::from_slice(b))
                {
                    out.insert(id, h);
                }
            }
        }
        out
    }
}

impl LogStore for ExportStore {
    type Error = std::io::Error;

    fn size(&self) -> Result<u64, Self::Error> {
        Ok(self.size_hint())
    }

    fn append(&mut self, _: &callward_audit::Batch) -> Result<(), Self::Error> {
        Err(std::io::Error::other("an exported log is read only"))
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.entries.get(&index).cloned())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error> {
        // A stored value that is not 32 bytes can never match: all ones.
        Ok(self
            .nodes
            .get(&id.position())
            .map(|b| Hash::from_slice(b).unwrap_or(Hash([0xff; 32]))))
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Self::Error> {
        Ok(self.checkpoints.clone())
    }
}

/// `callward_audit::verify` with a progress bar on a terminal.
fn verify_with_progress(
    store: &ExportStore,
    key: &VerifierKey,
) -> Result<Verified, VerifyError<std::io::Error>> {
    let mut v =
        Verifier::new(key, key.name(), &store.checkpoints).map_err(VerifyError::Inconsistent)?;
    let stored = store.size_hint();
    let total = v.signed_size().max(stored);
    let bar = Bar::new();
    for index in 0..total {
        let bytes = store.entries.get(&index);
        v.entry(bytes.map(Vec::as_slice), |id| store.node(id))?;
        if index % 4096 == 0 || index + 1 == total {
            bar.show(index + 1, total);
        }
    }
    bar.clear();
    v.finish(stored)
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
struct Bar {
    tty: bool,
}

impl Bar {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: u64, total: u64) {
        if self.tty && total > 0 {
            let filled = usize::try_from(done.min(total) * 30 / total).unwrap_or(30);
            eprint!(
                "\r[{}{}] {done}/{total} entries",
                "#".repeat(filled),
                " ".repeat(30 - filled)
            );
        }
    }

    fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }
}

/// The witness state: `witness.key` (seed + name), `witness.vkey` (its
/// cosignature/v1 verifier key), and `checkpoint`, the last one accepted,
/// as cosigned (`docs/audit-log.md`, "Witness").
fn witness(
    state: &Path,
    checkpoint: &Path,
    log: Option<&Path>,
    name: &str,
    key: &VerifierKey,
) -> anyhow::Result<bool> {
    let key_file = state.join("witness.key");
    if !key_file.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state)
            .with_context(|| format!("cannot create {}", state.display()))?;
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let signer = CosignatureSigner::from_seed(name, &seed)
            .map_err(|e| anyhow::anyhow!("--name {name:?}: {e}"))?;
        let mut bytes = zeroize::Zeroizing::new(seed.to_vec());
        bytes.extend_from_slice(name.as_bytes());
        crate::audit_key::write_new(&key_file, &bytes)?;
        eprintln!("new witness key {}", signer.verifier());
    }
    let signer = {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(&key_file)
                .with_context(|| format!("cannot read {}", key_file.display()))?,
        );
        let bad = || anyhow::anyhow!("{} is not a witness key", key_file.display());
        let (seed, name) = bytes.split_at_checked(32).ok_or_else(bad)?;
        let seed: &[u8; 32] = seed.try_into().map_err(|_| bad())?;
        CosignatureSigner::from_seed(std::str::from_utf8(name).map_err(|_| bad())?, seed)
            .map_err(|_| bad())?
    };
    // witness.vkey is derived from the key; a state dir from before
    // cosignature/v1 holds the type-0x01 form, which is replaced.
    let vkey_file = state.join("witness.vkey");
    let vkey_line = format!("{}\n", signer.verifier());
    if std::fs::read_to_string(&vkey_file).ok().as_deref() != Some(vkey_line.as_str()) {
        replace_file(state, &vkey_file, vkey_line.as_bytes())?;
    }
    let note = std::fs::read_to_string(checkpoint)
        .with_context(|| format!("cannot read {}", checkpoint.display()))?;
    let new = read_checkpoint(checkpoint, key)?;
    let last_path = state.join("checkpoint");
    if last_path.exists() {
        let last = read_checkpoint(&last_path, key)?;
        if new.size < last.size {
            println!(
                "REFUSED: checkpoint size {} is older than the last one accepted, size {}",
                new.size, last.size
            );
            return Ok(false);
        }
        let proof = if new.size == last.size {
            Vec::new()
        } else {
            let Some(log) = log else {
                bail!(
                    "--log: an export holding the entries up to size {} is needed to prove consistency from size {}",
                    new.size,
                    last.size
                );
            };
            let store = ExportStore::read(log)?;
            let nodes = store.node_map(new.size);
            match consistency_proof(&nodes, last.size, new.size) {
                Ok(p) => p,
                Err(_) => {
                    println!(
                        "REFUSED: the export cannot prove consistency from size {} to {}",
                        last.size, new.size
                    );
                    return Ok(false);
                }
            }
        };
        if let Err(e) = verify_consistency(
            last.size,
            new.size,
            &proof,
            last.root.as_bytes(),
            new.root.as_bytes(),
        ) {
            println!(
                "REFUSED: checkpoint size {} does not extend the last one accepted (size {}): the log was rewritten or forked ({e})",
                new.size, last.size
            );
            return Ok(false);
        }
    }
    // Cosign (C2SP tlog-cosignature v1) at the current time, never earlier
    // than this witness's last cosignature: its statements are "as of".
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last_time = std::fs::read_to_string(&last_path)
        .ok()
        .and_then(|n| signer.verifier().verify(&n).ok())
        .map_or(0, |c| c.time);
    // The note as given, less any earlier line of this witness, plus ours.
    let cosigned = signer
        .cosign_note(&note, now.max(last_time))
        .map_err(|e| anyhow::anyhow!("cannot cosign: {e}"))?;
    replace_file(state, &last_path, cosigned.as_bytes())?;
    crate::output::println(format_args!("{}", cosigned.trim_end_matches('\n')))?;
    Ok(true)
}

/// Writes `path` (in `dir`) as a new 0600 file under a temporary name,
/// then renames it over the old one.
fn replace_file(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".witness.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    crate::audit_key::write_new(&tmp, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot save {}", path.display()))
}
