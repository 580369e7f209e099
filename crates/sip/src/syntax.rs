//! Small lexer shared by the header, URI and SDP parsers.
//!
//! Works on `&str` but only ever splits at ASCII bytes, so every slice it
//! hands out is on a character boundary.

/// RFC 3261 `token` characters.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// RFC 3261 `unreserved` (alphanum / mark).
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Checks that `s` is non-empty, made of `allowed` bytes or well-formed
/// `%HH` escapes.
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

/// A cursor over a header value.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        self.s.get(from..to).unwrap_or("")
    }

    /// Skips linear white space (folding has already been replaced by SP).
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Takes the longest run of bytes matching `f`.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let b = self.s.as_bytes();
        while self.pos < b.len() && f(b[self.pos]) {
            self.pos += 1;
        }
        self.slice(start, self.pos)
    }

    /// A non-empty token, or `None` (cursor unchanged).
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token);
        if t.is_empty() { None } else { Some(t) }
    }

    /// A quoted string including its quotes, escapes left as they are.
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
pub(crate) fn unquote(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
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
    out
}

/// Quotes `s` as a quoted-string, escaping what qdtext may not hold.
pub(crate) fn quote_into(out: &mut String, s: &str) {
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
    fn escapes_validate_and_decode() {
        assert!(valid_escaped("a%41b", is_unreserved));
        assert!(!valid_escaped("a%4", is_unreserved));
        assert!(!valid_escaped("a%", is_unreserved));
        assert!(!valid_escaped("%ZZ", is_unreserved));
        assert!(!valid_escaped("", is_unreserved));
        assert_eq!(percent_decode("%75se%72"), b"user");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%4"), b"%4");
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
