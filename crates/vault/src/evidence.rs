//! The access-log evidence a key request carries, and the gate that checks
//! it (issue 7: key release gated by the log).
//!
//! The key service releases a data key only for an access that is in the
//! audit log: the request carries the log entry for it, the entry's
//! inclusion proof, a signed checkpoint, and a consistency proof from the
//! checkpoint the service saw last. This crate carries those bytes and
//! refuses a request without them; checking them is the [`AccessGate`]'s
//! job, implemented by the binary with `callward-audit` (this crate depends
//! on no other workspace crate, and a second copy of RFC 6962 proof and
//! signed-note checking here would be a second place for a bug).

use crate::container::RecordingHeader;
use crate::keys::KeyError;
use crate::protocol::WireError;

/// Longest proof accepted, in hashes (a tree of 2^64 entries needs 64).
pub const MAX_PROOF_LEN: usize = 64;

/// Proof that an access to a recording is in the audit log.
#[derive(Clone, PartialEq, Eq)]
pub struct LogEvidence {
    /// The log entry for this access, its canonical bytes.
    pub entry: Vec<u8>,
    /// Its index in the log.
    pub index: u64,
    /// Inclusion proof of the entry in the checkpoint's tree.
    pub inclusion: Vec<[u8; 32]>,
    /// The log's signed checkpoint (a C2SP signed note).
    pub checkpoint: String,
    /// Size of the checkpoint the proof below starts from: the one the key
    /// service last accepted (0 when it has seen none).
    pub consistency_from: u64,
    /// Consistency proof from that checkpoint to this one.
    pub consistency: Vec<[u8; 32]>,
}

impl std::fmt::Debug for LogEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The entry may hold a justification; its length is enough here.
        f.debug_struct("LogEvidence")
            .field("entry_len", &self.entry.len())
            .field("index", &self.index)
            .field("inclusion_len", &self.inclusion.len())
            .field("consistency_from", &self.consistency_from)
            .field("consistency_len", &self.consistency.len())
            .finish_non_exhaustive()
    }
}

/// Decides whether a request's evidence admits releasing the key of the
/// recording with `header`. Implementations keep the last checkpoint they
/// admitted and refuse one that does not extend it.
pub trait AccessGate {
    /// `Ok` to release; `Err(KeyError::Refused(why))` otherwise.
    fn admit(&self, header: &RecordingHeader, evidence: &LogEvidence) -> Result<(), KeyError>;
}

fn put_proof(out: &mut Vec<u8>, proof: &[[u8; 32]]) {
    // Callers keep proofs within MAX_PROOF_LEN; a longer one is cut and so
    // fails verification rather than the encoding.
    let n = proof.len().min(MAX_PROOF_LEN);
    out.push(n as u8);
    for h in &proof[..n] {
        out.extend_from_slice(h);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&bytes[..n]);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let (a, b) = self
            .0
            .split_at_checked(n)
            .ok_or(WireError::Malformed("log evidence"))?;
        self.0 = b;
        Ok(a)
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let b = self.take(2)?;
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        self.take(n)
    }
    fn proof(&mut self) -> Result<Vec<[u8; 32]>, WireError> {
        let n = usize::from(self.take(1)?[0]);
        if n > MAX_PROOF_LEN {
            return Err(WireError::Malformed("log evidence proof too long"));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.take(32)?);
            out.push(h);
        }
        Ok(out)
    }
}

impl LogEvidence {
    /// The field value: index (u64), entry (u16 length, bytes), checkpoint
    /// (u16 length, UTF-8), inclusion proof (count byte, 32-byte hashes),
    /// consistency-from size (u64), consistency proof (count, hashes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            32 + self.entry.len() + self.checkpoint.len() + 32 * self.inclusion.len(),
        );
        out.extend_from_slice(&self.index.to_be_bytes());
        put_bytes(&mut out, &self.entry);
        put_bytes(&mut out, self.checkpoint.as_bytes());
        put_proof(&mut out, &self.inclusion);
        out.extend_from_slice(&self.consistency_from.to_be_bytes());
        put_proof(&mut out, &self.consistency);
        out
    }

    /// Parses [`Self::encode`]'s output, exactly.
    pub fn decode(value: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader(value);
        let index = r.u64()?;
        let entry = r.bytes()?.to_vec();
        let checkpoint = std::str::from_utf8(r.bytes()?)
            .map_err(|_| WireError::Malformed("log evidence checkpoint"))?
            .to_owned();
        let inclusion = r.proof()?;
        let consistency_from = r.u64()?;
        let consistency = r.proof()?;
        if !r.0.is_empty() {
            return Err(WireError::Malformed("log evidence has bytes left over"));
        }
        Ok(Self {
            entry,
            index,
            inclusion,
            checkpoint,
            consistency_from,
            consistency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let e = LogEvidence {
            entry: vec![1, 2, 3],
            index: 7,
            inclusion: vec![[9; 32], [8; 32]],
            checkpoint: "origin\n8\nroot\n\n— sig\n".into(),
            consistency_from: 5,
            consistency: vec![[4; 32]],
        };
        let bytes = e.encode();
        assert_eq!(LogEvidence::decode(&bytes).unwrap(), e);
        for cut in 0..bytes.len() {
            assert!(LogEvidence::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes;
        longer.push(0);
        assert!(LogEvidence::decode(&longer).is_err());
        // Debug shows no entry bytes.
        assert!(!format!("{e:?}").contains("[1, 2, 3]"));
    }
}
