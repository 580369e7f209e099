//! [`Text`]: an immutable string that keeps short values inline.
//!
//! Almost every string in a SIP message is short: user parts, host names,
//! tags, branches, parameter names, option tags. Storing each as a `String`
//! cost one heap allocation apiece (29 per typical INVITE), which was a third
//! of parse time. Up to [`INLINE_CAP`] bytes live inside the value itself, so
//! a typical message needs only a handful of allocations.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest string stored without a heap allocation.
pub const INLINE_CAP: usize = 22;

/// An immutable UTF-8 string, inline when short (same size as a `String`).
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// `len` bytes of `buf` are valid UTF-8 (checked when built).
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    Heap(Box<str>),
}

impl Text {
    /// The empty string.
    pub const fn new() -> Self {
        Self(Repr::Inline {
            len: 0,
            buf: [0; INLINE_CAP],
        })
    }

    /// Copies `s`.
    #[inline]
    pub fn copy(s: &str) -> Self {
        let b = s.as_bytes();
        if b.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            copy_short(&mut buf, b);
            // b.len() <= INLINE_CAP < 256, so the cast is exact.
            Self(Repr::Inline {
                len: b.len() as u8,
                buf,
            })
        } else {
            Self(Repr::Heap(Box::from(s)))
        }
    }

    /// The bytes (no UTF-8 check, unlike going through `as_str`).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&[]),
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `&str` at a character boundary,
            // so the check cannot fail; it is the price of no `unsafe`.
            Repr::Inline { len, buf } => buf
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Repr::Heap(s) => s,
        }
    }
}

/// Copies `src` (at most [`INLINE_CAP`] bytes) to the start of `dst` with
/// two fixed-size, possibly overlapping copies instead of a `memcpy` call:
/// most strings here are a few bytes long and the call cost more than the
/// copy.
#[inline]
fn copy_short(dst: &mut [u8; INLINE_CAP], src: &[u8]) {
    let n = src.len();
    fn two<const K: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        if let (Some(a), Some(b)) = (src.first_chunk::<K>(), src.last_chunk::<K>()) {
            if let Some(d) = dst.first_chunk_mut::<K>() {
                *d = *a;
            }
            if let Some(d) = dst.get_mut(n - K..n).and_then(|d| d.first_chunk_mut::<K>()) {
                *d = *b;
            }
        }
    }
    if n >= 16 {
        two::<16>(dst, src);
    } else if n >= 8 {
        two::<8>(dst, src);
    } else if n >= 4 {
        two::<4>(dst, src);
    } else if n > 0 {
        // n is 1, 2 or 3: these three indices cover every byte.
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// Where serialisation writes: a `String` for the public `write` methods,
/// bytes for `to_bytes`, which then copies each [`Text`] without a UTF-8
/// check (everything written is UTF-8 already).
pub(crate) trait Out {
    /// Appends a string.
    fn push_str(&mut self, s: &str);
    /// Appends a character.
    fn push(&mut self, c: char);
    /// Appends a [`Text`].
    fn push_text(&mut self, t: &Text);
}

impl Out for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        Self::push_str(self, s);
    }

    #[inline]
    fn push(&mut self, c: char) {
        Self::push(self, c);
    }

    #[inline]
    fn push_text(&mut self, t: &Text) {
        Self::push_str(self, t.as_str());
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    #[inline]
    fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    #[inline]
    fn push_text(&mut self, t: &Text) {
        self.extend_from_slice(t.as_bytes());
    }
}

impl Default for Text {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Self {
        Self::copy(s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self::copy(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        if s.len() <= INLINE_CAP {
            Self::copy(&s)
        } else {
            Self(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        match t.0 {
            Repr::Heap(s) => s.into_string(),
            Repr::Inline { .. } => t.as_str().to_owned(),
        }
    }
}

impl PartialEq for Text {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    // Hashes as `str` does, as `Borrow<str>` requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_behave_like_str() {
        // Every length around the inline limit and each copy strategy.
        let mut all = vec![String::new(), "é€😀".to_owned()];
        for n in 1..=40u8 {
            all.push((0..n).map(|i| char::from(b'a' + i % 26)).collect());
        }
        for s in all.iter().map(String::as_str) {
            let t = Text::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(t, s);
            assert_eq!(Text::from(s.to_owned()), t);
            assert_eq!(String::from(t.clone()), s);
        }
        assert_eq!(size_of::<Text>(), size_of::<String>());
        assert_eq!(size_of::<Option<Text>>(), size_of::<String>());
        let long = "x".repeat(100);
        assert_eq!(Text::from(long.as_str()).len(), 100);
    }
}
