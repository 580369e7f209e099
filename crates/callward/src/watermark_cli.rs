//! `callward watermark detect FILE`: reads the leak-tracing watermark
//! (`docs/watermark.md`) from an audio copy and names, from the access
//! log, who received that copy.
//!
//! The file must be a 16-bit PCM WAV at 8 kHz (any number of channels; all
//! count together). Looking the mark up in the log is itself an access: an
//! entry (a search, the query naming the entry found) is appended before
//! the log entry is read. A mark is reported only if its payload passes
//! its CRC and the entry it names is a release of audio (an export or a
//! playback of a recording); anything else exits 1 naming no one.
//!
//! The pattern is keyed by the deployment's own secret, `watermark.key` in
//! the key directory ([`deployment_key`]): without it no one can read,
//! strip or forge a mark, and one deployment's copies never decode in
//! another's log.

use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_audit::{Action, Entry, ObjectKind, Source};
use callward_watermark::{Detector, Key, Strength};
use clap::{Args, Subcommand};

use crate::access_log::{AccessLog, local_entry};
use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;

/// `callward watermark`.
#[derive(Debug, Args)]
pub(crate) struct WatermarkArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// Holds the audit log's signing key (`audit.key`).
    #[command(flatten)]
    key_dir: KeyDirArg,
    #[command(subcommand)]
    command: WatermarkCommand,
}

#[derive(Debug, Subcommand)]
enum WatermarkCommand {
    /// Find the watermark in an audio copy and name who received it.
    Detect {
        /// A 16-bit PCM WAV file at 8 kHz (convert others first, e.g.
        /// `sox IN -b 16 -r 8000 OUT.wav`).
        file: PathBuf,
        /// Why the copy is traced (case, complaint); kept in the audit log.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `watermark` command; `false` when no attributable mark was found.
pub(crate) async fn run(args: WatermarkArgs) -> anyhow::Result<bool> {
    match args.command {
        WatermarkCommand::Detect { file, reason, json } => {
            let (samples, channels) = read_wav(&file)?;
            let key = deployment_key(&args.key_dir.key_dir)?;
            let found = match Detector::new(&key).detect_interleaved(&samples, channels) {
                Ok(found) => found,
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    return Ok(false);
                }
            };
            let index = u64::from(found.index);
            let local = Local::open_existing(&args.data_dir.data_dir).await?;
            let mut log = AccessLog::open(&local, &args.key_dir.key_dir).await?;
            // Logged first: the lookup is appended before the entry is read.
            let query = format!("watermark detect: entry {index}");
            let logged = log
                .record(&local_entry(
                    Action::Search,
                    ObjectKind::Query,
                    &query,
                    reason.trim(),
                    "watermark detect",
                ))
                .await?;
            let entry = if index < logged.index {
                Some(log.entry(index).await?)
            } else {
                None
            };
            let Some(entry) = entry.filter(releases_audio) else {
                eprintln!(
                    "error: {}: the mark names access-log entry {index}, which is not a release of audio in this log; no one is named",
                    file.display()
                );
                return Ok(false);
            };
            if json {
                let v = serde_json::json!({
                    "entry_index": index,
                    "sync_score": (found.sync_score * 10.0).round() / 10.0,
                    "bit_errors": found.bit_errors,
                    "coded_bits": found.coded_bits,
                    "user": entry.user,
                    "role": entry.role,
                    "agency": entry.agency,
                    "time": time_text(&entry),
                    "action": action_text(entry.action),
                    "object_kind": "recording",
                    "object_id": entry.object_id,
                    "case_id": entry.case_id,
                    "justification": entry.justification,
                    "source": source_text(&entry.source),
                    "lookup_entry_index": logged.index,
                });
                crate::output::println(serde_json::to_string_pretty(&v)?)?;
            } else {
                crate::output::println(format_args!(
                    "watermark: access-log entry {index} (sync score {:.1}, {} of {} coded bits corrected)\n\
                     received by: {} (role {}{})\n\
                     when:        {}\n\
                     action:      {} of recording {}\n\
                     case:        {}\n\
                     why:         {}\n\
                     from:        {}\n\
                     this lookup: access-log entry {}",
                    found.sync_score,
                    found.bit_errors,
                    found.coded_bits,
                    entry.user,
                    entry.role,
                    if entry.agency.is_empty() {
                        String::new()
                    } else {
                        format!(", agency {}", entry.agency)
                    },
                    time_text(&entry),
                    action_text(entry.action),
                    entry.object_id,
                    if entry.case_id.is_empty() {
                        "-"
                    } else {
                        &entry.case_id
                    },
                    entry.justification,
                    source_text(&entry.source),
                    logged.index,
                ))?;
            }
            Ok(true)
        }
    }
}

/// The deployment's watermark key file in the key directory.
pub(crate) const WATERMARK_KEY_FILE: &str = "watermark.key";

/// The deployment's watermark key, `<key-dir>/watermark.key` (32 random
/// bytes, 0600). `keys init` (and `serve`, creating a key directory) make
/// it; a key directory from before it existed gets one here, on first
/// use, so exports never fall back to a key anyone with the source has.
/// Refused, like every key file, if group or others may use it.
pub(crate) fn deployment_key(key_dir: &Path) -> anyhow::Result<Key> {
    let path = key_dir.join(WATERMARK_KEY_FILE);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            create_key(key_dir)?;
            std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is accessible to group or others (mode {:o}); refusing to use it (chmod 600 it)",
            path.display(),
            mode & 0o777
        );
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(33));
    std::io::Read::by_ref(&mut file)
        .take(33)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!(
            "{} is damaged: it must hold exactly 32 bytes; restore it from the key directory's backup (a new key would leave every earlier copy untraceable)",
            path.display()
        );
    };
    Ok(Key::new(raw))
}

/// Creates `watermark.key` in `key_dir`, which must already be a key
/// directory (it holds the audit log key); an existing one is kept.
pub(crate) fn create_key(key_dir: &Path) -> anyhow::Result<()> {
    if !key_dir.join(crate::audit_key::AUDIT_KEY_FILE).is_file() {
        bail!(
            "no agency keys in {} (run `callward keys init --key-dir {}`, or start `callward serve` once)",
            key_dir.display(),
            key_dir.display()
        );
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("no randomness for the watermark key: {e}"))?;
    let path = key_dir.join(WATERMARK_KEY_FILE);
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(f) => f,
        // Another command made it meanwhile: use that one.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    let written = file
        .write_all(seed.as_slice())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    std::fs::File::open(key_dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", key_dir.display()))?;
    tracing::info!(key_dir = %key_dir.display(), "created the deployment's watermark key");
    Ok(())
}

/// Decodes a two-channel A-law recording to 16-bit PCM and marks both
/// channels, under `key`, with the access-log entry `index` that releases
/// it (what `recording export` writes).
pub(crate) fn marked_pcm(alaw: &[u8], index: u64, key: &Key) -> anyhow::Result<Vec<i16>> {
    let index = u32::try_from(index).with_context(|| {
        format!("access-log entry {index} is beyond the watermark's 32-bit index; nothing is released unmarked")
    })?;
    let mut pcm = Vec::with_capacity(alaw.len());
    callward_media::G711::Pcma.decode_into(alaw, &mut pcm);
    callward_watermark::mark_interleaved(key, index, Strength::default(), &mut pcm, 2);
    Ok(pcm)
}

/// Only an export or a playback of a recording releases a marked copy.
fn releases_audio(entry: &Entry) -> bool {
    matches!(entry.action, Action::Export | Action::Listen)
        && entry.object_kind == ObjectKind::Recording
}

fn action_text(action: Action) -> &'static str {
    match action {
        Action::Export => "export",
        Action::Listen => "playback",
        _ => "access",
    }
}

fn time_text(entry: &Entry) -> String {
    let centis = entry.time.0;
    i64::try_from(centis / 100)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || format!("{centis} (hundredths of a second since 1970)"),
            |t| {
                let t = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
                format!("{t}.{:02}Z", centis % 100)
            },
        )
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Ip(ip) => ip.to_string(),
        Source::Local(text) => text.clone(),
    }
}

/// Reads a 16-bit PCM WAV at 8 kHz: the interleaved samples and the
/// channel count. Anything else is a clear error.
fn read_wav(path: &Path) -> anyhow::Result<(Vec<i16>, usize)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_wav(&bytes).with_context(|| format!("{}", path.display()))
}

fn parse_wav(bytes: &[u8]) -> anyhow::Result<(Vec<i16>, usize)> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        bail!("not a WAV file");
    }
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut format = None;
    let mut at = 12usize;
    while let (Some(id), Some(len)) = (bytes.get(at..at + 4), u32_at(at + 4)) {
        let body = at + 8;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if id == b"fmt " {
            let (Some(tag), Some(channels), Some(rate), Some(bits)) = (
                u16_at(body),
                u16_at(body + 2),
                u32_at(body + 4),
                u16_at(body + 14),
            ) else {
                bail!("truncated fmt chunk");
            };
            format = Some((tag, channels, rate, bits));
        } else if id == b"data" {
            let Some((tag, channels, rate, bits)) = format else {
                bail!("data before the fmt chunk");
            };
            // 1: PCM; 0xFFFE: extensible (sox writes it for some files).
            if (tag != 1 && tag != 0xFFFE) || bits != 16 {
                bail!("not 16-bit PCM (convert with: sox IN -b 16 -e signed -r 8000 OUT.wav)");
            }
            if rate != callward_watermark::SAMPLE_RATE {
                bail!(
                    "sampled at {rate} Hz; the watermark is read at 8 kHz only (convert with: sox IN -b 16 -r 8000 OUT.wav)"
                );
            }
            if channels == 0 {
                bail!("no channels");
            }
            let end = body.saturating_add(len).min(bytes.len());
            let data = bytes.get(body..end).unwrap_or_default();
            let samples = data
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Ok((samples, usize::from(channels)));
        }
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    bail!("no audio data in the file")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * 2).to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_pcm_and_refuses_the_rest() {
        let (s, c) = parse_wav(&wav(2, 8000, 16, &[1, 0, 2, 0])).unwrap();
        assert_eq!((s, c), (vec![1, 2], 2));
        let e = parse_wav(&wav(1, 16000, 16, &[0, 0])).unwrap_err();
        assert!(e.to_string().contains("8 kHz"), "{e}");
        assert!(parse_wav(&wav(1, 8000, 8, &[0, 0])).is_err());
        assert!(parse_wav(&wav(0, 8000, 16, &[0, 0])).is_err());
        assert!(parse_wav(b"RIFF").is_err());
        let mut truncated = wav(1, 8000, 16, &[0, 0, 0, 0]);
        truncated.truncate(30);
        assert!(parse_wav(&truncated).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 1u64;
        for len in 0..400 {
            let mut b = wav(1, 8000, 16, &[0; 8]);
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let i = (state >> 33) as usize % b.len();
                b[i] = (state >> 24) as u8;
            }
            b.truncate(len % (b.len() + 1));
            let _ = parse_wav(&b);
        }
    }
}
