//! Small lexer shared by the header, URI and SDP parsers.
//!
//! Works on `&str` but only ever splits at ASCII bytes, so every slice it
//! hands out is on a character boundary.

/// A 256-entry membership table: alphanumerics plus `extra`.
const fn class(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        // i < 256, so the cast is exact.
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

static TOKEN: [bool; 256] = class(b"-.!%*_+`'~");
/// URI user part: unreserved and user-unreserved (escapes checked apart).
pub(crate) static USER: [bool; 256] = class(b"-_.!~*'()&=+$,;?/");
/// URI password.
pub(crate) static PASSWORD: [bool; 256] = class(b"-_.!~*'()&=+$,");
/// URI parameter names and values (paramchar without escapes).
pub(crate) static PARAM: [bool; 256] = class(b"-_.!~*'()[]/:&+$");
/// URI header names and values (hnv-unreserved and unreserved).
pub(crate) static HNV: [bool; 256] = class(b"-_.!~*'()[]/?:+$");

/// RFC 3261 `token` characters.
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Membership in one of the tables above.
#[inline]
pub(crate) fn in_class(table: &[bool; 256], b: u8) -> bool {
    table[usize::from(b)]
}

/// Checks that `s` is non-empty, made of `allowed` bytes or well-formed
/// `%HH` escapes.
#[inline]
pub(crate) fn valid_escaped(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() {
                return false;
            }
            if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Decodes `%HH` escapes; bytes that are not valid escapes are kept.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Position of the first `needle` in `hay`, eight bytes at a time (SWAR:
/// a zero byte in `word ^ needle*0x01..` shows up as a high bit in
/// `(x - 0x01..) & !x & 0x80..`, and the lowest such bit is the first
/// match because borrows only propagate upwards).
#[inline]
pub(crate) fn find_byte_fast(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(needle));
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == needle)
        .map(|i| base + i)
}

/// Whether `hay` holds a space or a tab, eight bytes at a time (the same
/// SWAR test as [`find_byte_fast`], for two bytes at once).
#[inline]
pub(crate) fn has_space_or_tab(hay: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    let mut chunks = hay.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if zero(w ^ (LO * u64::from(b' '))) || zero(w ^ (LO * u64::from(b'\t'))) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == b' ' || b == b'\t')
}

/// Strips leading spaces and tabs (byte-wise; cheaper than a `char` pattern).
#[inline]
pub(crate) fn trim_ws_start(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    s.get(n..).unwrap_or("")
}

/// Strips trailing spaces and tabs.
#[inline]
pub(crate) fn trim_ws_end(s: &str) -> &str {
    let n = s
        .bytes()
        .rev()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    s.get(..s.len() - n).unwrap_or("")
}

/// A cursor over a header value.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// How many `b` bytes remain after the cursor (an upper bound for
    /// sizing a list or parameter `Vec`).
    #[inline]
    pub(crate) fn count_ahead(&self, b: u8) -> usize {
        self.s
            .as_bytes()
            .get(self.pos..)
            .map_or(0, |r| r.iter().filter(|&&c| c == b).count())
    }

    #[inline]
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    /// Skips linear white space (folding has already been replaced by SP).
    #[inline]
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
        self.pos > start
    }

    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Steps over `prefix` if the text continues with exactly it.
    #[inline]
    pub(crate) fn eat_prefix(&mut self, prefix: &[u8]) -> bool {
        let here = self.s.as_bytes().get(self.pos..).unwrap_or(&[]);
        if here.starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    /// Takes the longest run of bytes matching `f`.
    #[inline]
    pub(crate) fn take_while(&mut self, mut f: impl FnMut(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = self.s.as_bytes().get(start..).unwrap_or(&[]);
        // A slice iterator loop: a pointer compare per byte, no index
        // bounds check.
        let n = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.pos = start + n;
        self.slice(start, self.pos)
    }

    /// Takes everything before the first `stop` byte, if there is one and
    /// no space or tab comes before it (a SWAR search, then a check of
    /// the bytes found); otherwise the cursor does not move.
    #[inline]
    pub(crate) fn take_until_no_ws(&mut self, stop: u8) -> Option<&'a str> {
        let start = self.pos;
        let rest = self.s.as_bytes().get(start..)?;
        let n = find_byte_fast(rest, stop)?;
        if has_space_or_tab(rest.get(..n)?) {
            return None;
        }
        self.pos = start + n;
        Some(self.slice(start, self.pos))
    }

    /// A non-empty token, or `None` (cursor unchanged).
    #[inline]
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token);
        if t.is_empty() { None } else { Some(t) }
    }

    /// A quoted string including its quotes, escapes left as they are.
    #[inline]
    pub(crate) fn quoted_raw(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !self.eat(b'"') {
            return None;
        }
        let b = self.s.as_bytes();
        while self.pos < b.len() {
            match b[self.pos] {
                b'\\' => {
                    // quoted-pair: any byte but CR and LF.
                    if self.pos + 1 >= b.len() || matches!(b[self.pos + 1], b'\r' | b'\n') {
                        self.pos = start;
                        return None;
                    }
                    self.pos += 2;
                }
                b'"' => {
                    self.pos += 1;
                    return Some(self.slice(start, self.pos));
                }
                b'\r' | b'\n' => {
                    self.pos = start;
                    return None;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = start;
        None
    }
}

/// Removes the quotes and resolves quoted-pairs of a quoted string.
pub(crate) fn unquote(raw: &str) -> crate::text::Text {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    if !inner.as_bytes().contains(&b'\\') {
        return crate::text::Text::copy(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Quotes `s` as a quoted-string, escaping what qdtext may not hold.
pub(crate) fn quote_into(out: &mut impl crate::text::Out, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || (c.is_ascii_control() && c != '\t') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Can `s` be carried in a quoted-string at all? (CR and LF cannot.)
pub fn quotable(s: &str) -> bool {
    !s.contains(['\r', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_tables_match_the_grammar() {
        for b in 0..=255u8 {
            let token = b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
            assert_eq!(is_token(b), token, "{b}");
            let unres = b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b);
            assert_eq!(
                in_class(&PASSWORD, b),
                unres || b"&=+$,".contains(&b),
                "{b}"
            );
        }
    }

    #[test]
    fn escapes_validate_and_decode() {
        assert!(valid_escaped("a%41b", |b| in_class(&USER, b)));
        assert!(!valid_escaped("a%4", |b| in_class(&USER, b)));
        assert!(!valid_escaped("a%", |b| in_class(&USER, b)));
        assert!(!valid_escaped("%ZZ", |b| in_class(&USER, b)));
        assert!(!valid_escaped("", |b| in_class(&USER, b)));
        assert_eq!(percent_decode("%75se%72"), b"user");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%4"), b"%4");
    }

    #[test]
    fn swar_search_matches_position() {
        let hay: Vec<u8> = (0u8..=255).chain(0u8..40).collect();
        for needle in [0u8, 1, 10, 13, 127, 128, 200, 255] {
            for start in 0..20 {
                let want = hay[start..].iter().position(|&c| c == needle);
                assert_eq!(
                    find_byte_fast(&hay[start..], needle),
                    want,
                    "{needle} from {start}"
                );
            }
        }
        assert_eq!(find_byte_fast(b"", b'x'), None);
        assert_eq!(find_byte_fast(b"abcdefgh\n", b'\n'), Some(8));
    }

    #[test]
    fn swar_space_or_tab() {
        for n in 0..40 {
            let mut v = vec![b'a'; n];
            assert!(!has_space_or_tab(&v));
            for i in 0..n {
                for ws in [b' ', b'\t'] {
                    v[i] = ws;
                    assert!(has_space_or_tab(&v), "{n} {i}");
                    v[i] = b'a';
                }
                v[i] = 0x20 ^ 0x80;
                assert!(!has_space_or_tab(&v));
                v[i] = b'a';
            }
        }
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(r#""a \"b\" \\" rest"#);
        let q = c.quoted_raw();
        assert_eq!(q, Some(r#""a \"b\" \\""#));
        assert_eq!(unquote(q.unwrap_or_default()), r#"a "b" \"#);
        let mut c = Cursor::new("\"unterminated");
        assert_eq!(c.quoted_raw(), None);
        let mut s = String::new();
        quote_into(&mut s, "x\"\\\0");
        assert_eq!(s, "\"x\\\"\\\\\\\0\"");
    }
}
