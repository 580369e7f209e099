//! The interim recording writer: the tap's two-channel stream as raw 16-bit
//! little-endian PCM at 8 kHz (station left, outside right), appended to
//! `<data-dir>/recordings/<call-id>.interim` and flushed at least once a
//! second. `docs/interim-recording.md` describes the format; the vault
//! replaces it with encrypted chunks.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often written audio is flushed to the file at the latest.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// An open interim recording.
#[derive(Debug)]
pub(crate) struct InterimWriter {
    path: PathBuf,
    out: BufWriter<File>,
    last_flush: Instant,
    bytes: u64,
}

impl InterimWriter {
    /// Creates `<data_dir>/recordings/<id>.interim`; `id` is the switch's
    /// own call id (never a peer's Call-ID), so it is a safe file name.
    pub(crate) fn create(data_dir: &Path, id: &str, now: Instant) -> io::Result<Self> {
        let dir = data_dir.join("recordings");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{id}.interim"));
        let file = File::options().create_new(true).write(true).open(&path)?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(32 * 1024, file),
            last_flush: now,
            bytes: 0,
        })
    }

    /// Appends interleaved frames; flushes when a second has passed.
    pub(crate) fn write(&mut self, now: Instant, frames: &[i16]) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(frames.len() * 2);
        for s in frames {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        self.out.write_all(&bytes)?;
        self.bytes += bytes.len() as u64;
        if now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush(now)?;
        }
        Ok(())
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&mut self, now: Instant) -> io::Result<()> {
        self.last_flush = now;
        self.out.flush()
    }

    /// When the next flush is due.
    pub(crate) fn flush_due(&self) -> Instant {
        self.last_flush + FLUSH_EVERY
    }

    /// Bytes written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_little_endian_and_flushed_within_a_second() {
        let dir = std::env::temp_dir().join(format!("cw-interim-{}", crate::ids::token()));
        let t0 = Instant::now();
        let mut w = InterimWriter::create(&dir, "cw-test", t0).unwrap();
        w.write(t0, &[1, -2, 0x1234, 0]).unwrap();
        // Buffered, not yet due.
        assert_eq!(std::fs::metadata(w.path()).unwrap().len(), 0);
        w.write(t0 + FLUSH_EVERY, &[5, 6]).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        assert_eq!(bytes, [1, 0, 0xfe, 0xff, 0x34, 0x12, 0, 0, 5, 0, 6, 0]);
        assert_eq!(w.bytes(), 12);
        // A second recording of the same id is refused, never overwritten.
        assert!(InterimWriter::create(&dir, "cw-test", t0).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
