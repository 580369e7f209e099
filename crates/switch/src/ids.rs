//! Fresh identifiers: tags, branches, Call-IDs, SSRCs, RTP starting points.
//!
//! Unpredictable enough that a peer cannot guess the next one (SipHash under
//! the process's random keys, over a counter), but not a source of secrets.

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static KEYS: OnceLock<RandomState> = OnceLock::new();

/// A fresh 64-bit value.
pub(crate) fn next_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    KEYS.get_or_init(RandomState::new).hash_one(n)
}

/// A fresh token of 16 hex digits.
pub(crate) fn token() -> String {
    format!("{:016x}", next_u64())
}

/// A fresh RFC 3261 branch.
pub(crate) fn branch() -> String {
    format!("z9hG4bK{}", token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        let a: Vec<String> = (0..1000).map(|_| token()).collect();
        let mut b = a.clone();
        b.sort();
        b.dedup();
        assert_eq!(a.len(), b.len());
        assert!(branch().starts_with("z9hG4bK"));
    }
}
