//! Requests and responses: framing, parsing and serialisation.
//!
//! A datagram is parsed in one pass over its lines: `Lines` finds the start
//! line, each header line (continuations joined) and the body; each header
//! is typed as soon as it is read. Errors still come in the order of the
//! three steps (line structure, start line, first bad header), so a
//! malformed request is answered the same way whatever else is wrong.

use std::borrow::Cow;
use std::fmt;

use crate::header::{CSeq, Contacts, Header, HeaderName, MediaType, NameAddr, Via};
use crate::method::Method;
use crate::text::{Out, Text};
use crate::uri::{Uri, UriError, push_u32};

/// Largest message accepted (UDP datagrams cannot be larger; streams are
/// cut off here so a peer cannot make us buffer without bound).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// Why bytes are not a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Empty input, or the first line is not a request or status line.
    NoStartLine,
    /// A request or status line that breaks the grammar.
    BadStartLine,
    /// The Request-URI did not parse.
    BadRequestUri(UriError),
    /// A SIP version other than 2.0.
    UnsupportedVersion(String),
    /// A header line without a name and colon, or a stray continuation.
    BadHeaderLine,
    /// Header text is not UTF-8.
    NotUtf8,
    /// A known header whose value breaks its grammar.
    BadHeader(HeaderName),
    /// No empty line ends the headers.
    NoEndOfHeaders,
    /// Content-Length is larger than the bytes that follow.
    BodyTooShort {
        /// Declared length.
        declared: u32,
        /// Bytes present.
        available: usize,
    },
    /// Several Content-Length headers that disagree.
    ConflictingContentLength,
    /// A stream message without Content-Length.
    MissingContentLength,
    /// Larger than [`MAX_MESSAGE_LEN`].
    TooLarge,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStartLine => f.write_str("no start line"),
            Self::BadStartLine => f.write_str("malformed start line"),
            Self::BadRequestUri(e) => write!(f, "malformed Request-URI ({e})"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            Self::BadHeaderLine => f.write_str("malformed header line"),
            Self::NotUtf8 => f.write_str("header text is not UTF-8"),
            Self::BadHeader(h) => write!(f, "malformed {h}"),
            Self::NoEndOfHeaders => f.write_str("no empty line after headers"),
            Self::BodyTooShort {
                declared,
                available,
            } => write!(
                f,
                "Content-Length {declared} exceeds body of {available} bytes"
            ),
            Self::ConflictingContentLength => f.write_str("conflicting Content-Length"),
            Self::MissingContentLength => f.write_str("missing Content-Length on a stream"),
            Self::TooLarge => f.write_str("message too large"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A status code, 100 to 699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100 Trying.
    pub const TRYING: Self = Self(100);
    /// 180 Ringing.
    pub const RINGING: Self = Self(180);
    /// 200 OK.
    pub const OK: Self = Self(200);
    /// 400 Bad Request.
    pub const BAD_REQUEST: Self = Self(400);
    /// 405 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    /// 406 Not Acceptable.
    pub const NOT_ACCEPTABLE: Self = Self(406);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: Self = Self(408);
    /// 415 Unsupported Media Type.
    pub const UNSUPPORTED_MEDIA_TYPE: Self = Self(415);
    /// 416 Unsupported URI Scheme.
    pub const UNSUPPORTED_URI_SCHEME: Self = Self(416);
    /// 420 Bad Extension.
    pub const BAD_EXTENSION: Self = Self(420);
    /// 481 Call/Transaction Does Not Exist.
    pub const NO_TRANSACTION: Self = Self(481);
    /// 487 Request Terminated.
    pub const REQUEST_TERMINATED: Self = Self(487);
    /// 488 Not Acceptable Here.
    pub const NOT_ACCEPTABLE_HERE: Self = Self(488);
    /// 491 Request Pending.
    pub const REQUEST_PENDING: Self = Self(491);
    /// 500 Server Internal Error.
    pub const SERVER_ERROR: Self = Self(500);
    /// 513 Message Too Large.
    pub const MESSAGE_TOO_LARGE: Self = Self(513);
    /// 505 Version Not Supported.
    pub const VERSION_NOT_SUPPORTED: Self = Self(505);

    /// A status code, if in 100..=699.
    pub fn new(code: u16) -> Option<Self> {
        (100..=699).contains(&code).then_some(Self(code))
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// 1xx.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// 200..=699.
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The usual reason phrase.
    pub fn default_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            183 => "Session Progress",
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            481 => "Call/Transaction Does Not Exist",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            491 => "Request Pending",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            _ => "",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The headers of a message, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers(Vec<Header>);

impl From<Vec<Header>> for Headers {
    fn from(v: Vec<Header>) -> Self {
        Self(v)
    }
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// All headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Appends a header.
    pub fn push(&mut self, h: Header) {
        self.0.push(h);
    }

    /// Inserts a header at `index` (0 = first).
    pub fn insert(&mut self, index: usize, h: Header) {
        let i = index.min(self.0.len());
        self.0.insert(i, h);
    }

    /// Keeps only the headers for which `f` is true.
    pub fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f);
    }

    /// Number of header lines of the typed kind `name`.
    pub fn count(&self, name: HeaderName) -> usize {
        self.0.iter().filter(|h| h.name() == Some(name)).count()
    }

    /// All Via values, top first.
    pub fn vias(&self) -> impl Iterator<Item = &Via> {
        self.0.iter().flat_map(|h| match h {
            Header::Via(v) => v.as_slice(),
            _ => &[],
        })
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Option<&Via> {
        self.vias().next()
    }

    /// Removes the topmost Via value.
    pub fn pop_via(&mut self) -> Option<Via> {
        let idx = self.0.iter().position(|h| matches!(h, Header::Via(_)))?;
        let Header::Via(list) = &mut self.0[idx] else {
            return None;
        };
        let v = list.remove(0)?;
        if list.is_empty() {
            self.0.remove(idx);
        }
        Some(v)
    }

    /// From.
    pub fn from(&self) -> Option<&NameAddr> {
        self.0.iter().find_map(|h| match h {
            Header::From(a) => Some(a),
            _ => None,
        })
    }

    /// To.
    pub fn to(&self) -> Option<&NameAddr> {
        self.0.iter().find_map(|h| match h {
            Header::To(a) => Some(a),
            _ => None,
        })
    }

    /// To, mutable (for adding a tag).
    pub fn to_mut(&mut self) -> Option<&mut NameAddr> {
        self.0.iter_mut().find_map(|h| match h {
            Header::To(a) => Some(a),
            _ => None,
        })
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.0.iter().find_map(|h| match h {
            Header::CallId(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// CSeq.
    pub fn cseq(&self) -> Option<&CSeq> {
        self.0.iter().find_map(|h| match h {
            Header::CSeq(c) => Some(c),
            _ => None,
        })
    }

    /// Contact addresses (empty for none or `*`).
    pub fn contacts(&self) -> impl Iterator<Item = &NameAddr> {
        self.0.iter().flat_map(|h| match h {
            Header::Contact(Contacts::Addresses(v)) => v.as_slice(),
            _ => &[],
        })
    }

    /// Route values in order.
    pub fn routes(&self) -> impl Iterator<Item = &NameAddr> {
        self.0.iter().flat_map(|h| match h {
            Header::Route(v) => v.as_slice(),
            _ => &[],
        })
    }

    /// Record-Route values in order.
    pub fn record_routes(&self) -> impl Iterator<Item = &NameAddr> {
        self.0.iter().flat_map(|h| match h {
            Header::RecordRoute(v) => v.as_slice(),
            _ => &[],
        })
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u8> {
        self.0.iter().find_map(|h| match h {
            Header::MaxForwards(n) => Some(*n),
            _ => None,
        })
    }

    /// Content-Length as declared.
    pub fn content_length(&self) -> Option<u32> {
        self.0.iter().find_map(|h| match h {
            Header::ContentLength(n) => Some(*n),
            _ => None,
        })
    }

    /// Content-Type.
    pub fn content_type(&self) -> Option<&MediaType> {
        self.0.iter().find_map(|h| match h {
            Header::ContentType(m) => Some(m),
            _ => None,
        })
    }

    /// All Require option tags.
    pub fn require(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|h| match h {
                Header::Require(v) => v.as_slice(),
                _ => &[],
            })
            .map(Text::as_str)
    }

    /// All Supported option tags.
    pub fn supported(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|h| match h {
                Header::Supported(v) => v.as_slice(),
                _ => &[],
            })
            .map(Text::as_str)
    }

    /// Accept ranges: `None` when there is no Accept header.
    pub fn accept(&self) -> Option<Vec<&MediaType>> {
        let mut found = false;
        let mut out = Vec::new();
        for h in &self.0 {
            if let Header::Accept(v) = h {
                found = true;
                out.extend(v.iter());
            }
        }
        found.then_some(out)
    }

    /// First value of an untyped header, by name (compact forms match).
    pub fn other(&self, name: &str) -> Option<&str> {
        let want = crate::header::canonical_name(name);
        self.0.iter().find_map(|h| match h {
            Header::Other { name: n, value }
                if crate::header::canonical_name(n).eq_ignore_ascii_case(want) =>
            {
                Some(value.as_str())
            }
            _ => None,
        })
    }

    fn write(&self, out: &mut impl Out, body_len: usize) {
        let mut wrote_len = false;
        for h in &self.0 {
            if let Header::ContentLength(_) = h {
                if wrote_len {
                    continue;
                }
                wrote_len = true;
                write_content_length(out, body_len);
            } else {
                h.write_to(out);
            }
        }
        if !wrote_len {
            write_content_length(out, body_len);
        }
    }
}

impl Headers {
    /// The cause of the first `Q.850` value in the Reason headers (RFC
    /// 3326): 41 for `Reason: Q.850;cause=41;text="Temporary failure"`.
    /// `None` without one, or when its cause is not a number.
    pub fn q850_cause(&self) -> Option<u16> {
        self.0
            .iter()
            .filter_map(|h| match h {
                Header::Other { name, value } if name.as_str().eq_ignore_ascii_case("Reason") => {
                    Some(value.as_str())
                }
                _ => None,
            })
            .flat_map(|v| split_unquoted(v, b','))
            .find_map(|value| {
                let mut parts = split_unquoted(value, b';');
                let protocol = parts.next()?.trim();
                if !protocol.eq_ignore_ascii_case("Q.850") {
                    return None;
                }
                parts.find_map(|p| {
                    let (name, v) = p.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("cause")
                        .then(|| v.trim().parse().ok())?
                })
            })
    }
}

/// `s` split at `sep` outside quoted strings (with `\` escapes inside).
fn split_unquoted(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    let mut cuts = Vec::new();
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b if b == sep && !quoted => {
                cuts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cuts.push(&s[start..]);
    cuts.into_iter()
}

fn write_content_length(out: &mut impl Out, n: usize) {
    out.push_str("Content-Length: ");
    push_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
    out.push_str("\r\n");
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Headers.
    pub headers: Headers,
    /// Body bytes, untouched.
    pub body: Vec<u8>,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Headers.
    pub headers: Headers,
    /// Body bytes, untouched.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// How the end of the body is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One datagram: Content-Length optional, extra bytes ignored.
    Datagram,
    /// A stream slice from [`frame_stream`]: Content-Length required.
    Stream,
}

/// Finds the end of the header block: returns (end of last header line,
/// start of body).
fn find_head_end(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = crate::syntax::find_byte_fast(&b[i..], b'\n') {
        let nl = i + off;
        let next = nl + 1;
        if b.get(next) == Some(&b'\n') {
            return Some((next, next + 1));
        }
        if b.get(next) == Some(&b'\r') && b.get(next + 1) == Some(&b'\n') {
            return Some((next, next + 2));
        }
        i = next;
    }
    None
}

fn skip_leading_crlf(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count()
}

/// One header line: its name as written, the name recognised, and the
/// value with continuation lines joined.
pub(crate) struct Line<'a> {
    pub(crate) name: &'a str,
    pub(crate) known: Option<HeaderName>,
    pub(crate) value: Cow<'a, str>,
}

/// Walks a message's lines: the start line, then one header at a time with
/// folded continuation lines joined, then the body. [`split`] and the
/// parser share it, so both see exactly the same structure and errors.
pub(crate) struct Lines<'a> {
    /// The message after leading CRLFs.
    b: &'a [u8],
    /// A valid UTF-8 prefix of `b`, grown on demand (the body of a
    /// message usually needs no check); once `complete`, the longest.
    text: &'a str,
    /// `text` is the longest valid UTF-8 prefix of `b`.
    complete: bool,
    /// Where the next line starts.
    pos: usize,
    /// The start line (never empty).
    pub(crate) start: &'a str,
    /// The empty line that ends the headers has been read.
    done: bool,
}

impl<'a> Lines<'a> {
    /// Finds the start line.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge);
        }
        let lead = skip_leading_crlf(bytes);
        let b = &bytes[lead..];
        if b.is_empty() {
            return Err(ParseError::NoStartLine);
        }
        let mut lines = Self {
            b,
            text: "",
            complete: false,
            pos: 0,
            start: "",
            done: false,
        };
        let (start, pos) = lines.line_at(0).ok_or_else(|| lines.cut(false))?;
        if start.is_empty() {
            return Err(ParseError::NoStartLine);
        }
        lines.start = start;
        lines.pos = pos;
        Ok(lines)
    }

    /// Checks more of `b` as UTF-8 (at least up to `want`, at least 512
    /// bytes, doubling); false when `text` cannot grow.
    #[cold]
    fn grow(&mut self, want: usize) -> bool {
        if self.complete {
            return false;
        }
        let end = want.max(self.text.len() * 2).max(512).min(self.b.len());
        let before = self.text.len();
        let checked = self.b.get(..end).unwrap_or(&[]);
        match std::str::from_utf8(checked) {
            Ok(t) => {
                self.text = t;
                self.complete = end == self.b.len();
            }
            Err(e) => {
                self.text = checked
                    .get(..e.valid_up_to())
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .unwrap_or("");
                // An invalid byte ends the text for good; a character cut
                // at `end` may still complete further on.
                self.complete = end == self.b.len() || e.error_len().is_some();
            }
        }
        self.text.len() > before || !self.complete
    }

    /// Where the text stops before the end of headers, say why (called
    /// once `text` is complete).
    fn cut(&self, found_newline: bool) -> ParseError {
        if self.text.len() < self.b.len() {
            ParseError::NotUtf8
        } else if found_newline {
            ParseError::NoEndOfHeaders
        } else {
            ParseError::NoStartLine
        }
    }

    /// The line at `pos` without its line end, and where the next begins.
    #[inline]
    fn line_at(&mut self, pos: usize) -> Option<(&'a str, usize)> {
        let nl = loop {
            let tb = self.text.as_bytes();
            if let Some(off) = tb
                .get(pos..)
                .and_then(|r| crate::syntax::find_byte_fast(r, b'\n'))
            {
                break pos + off;
            }
            if !self.grow(self.text.len() + 1) {
                return None;
            }
        };
        let line = self.text.get(pos..nl)?;
        let line = match line.as_bytes().last() {
            Some(b'\r') => line.get(..line.len() - 1).unwrap_or(""),
            _ => line,
        };
        Some((line, nl + 1))
    }

    /// A guess at the number of header lines, for sizing a `Vec` without
    /// scanning ahead (header lines average well over 32 bytes; a guess too
    /// small only costs a reallocation).
    pub(crate) fn header_estimate(&self) -> usize {
        (self.b.len().saturating_sub(self.pos) / 32).clamp(4, 16)
    }

    /// The next header as (name, unfolded value); `None` after the empty
    /// line that ends the headers.
    #[inline(always)]
    pub(crate) fn next_header(&mut self) -> Result<Option<Line<'a>>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let (line, next) = self.line_at(self.pos).ok_or_else(|| self.cut(true))?;
        self.pos = next;
        if line.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let lb = line.as_bytes();
        // The name runs to the first colon, white space before it trimmed.
        // A known name (matched exactly, letters and '-') is a token
        // already; only other names need the token check.
        let colon = crate::syntax::find_byte_fast(lb, b':').ok_or(ParseError::BadHeaderLine)?;
        let name = crate::syntax::trim_ws_end(line.get(..colon).unwrap_or(""));
        let known = HeaderName::from_wire(name);
        if known.is_none() && (name.is_empty() || !name.bytes().all(crate::syntax::is_token)) {
            return Err(ParseError::BadHeaderLine);
        }
        let mut value = Cow::Borrowed(crate::syntax::trim_ws_start(
            line.get(colon + 1..).unwrap_or(""),
        ));
        // Peeking at `b`: an ASCII byte after a complete line is text too.
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t')) {
            let (cont, next) = self.line_at(self.pos).ok_or_else(|| self.cut(true))?;
            self.pos = next;
            let cont = cont.trim_matches([' ', '\t']);
            let owned = value.to_mut();
            let trimmed_len = owned.trim_end_matches([' ', '\t']).len();
            owned.truncate(trimmed_len);
            if !cont.is_empty() {
                owned.push(' ');
                owned.push_str(cont);
            }
        }
        Ok(Some(Line { name, known, value }))
    }

    /// Everything after the empty line (call once `next_header` gave `None`).
    pub(crate) fn body(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }
}

/// Whether a start line looks like a request line (so a 400 can answer it).
pub(crate) fn looks_like_request_line(start: &str) -> bool {
    if start.starts_with("SIP/") {
        return false;
    }
    let line = crate::syntax::trim_ws_end(start).as_bytes();
    let last = match line.iter().rposition(|&c| c == b' ') {
        Some(i) => line.get(i + 1..).unwrap_or(&[]),
        None => line,
    };
    last.len() > 4
        && last
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// Case-insensitive `SIP/` prefix, safe on any UTF-8 (compares bytes:
/// slicing the `str` could cut a character in two).
fn starts_with_sip(s: &str) -> bool {
    s.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

enum StartLine {
    Request(Method, Uri),
    Response(StatusCode, String),
}

fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let digits = v.get(4..).unwrap_or("\u{0}");
    let looks = v.len() > 4
        && starts_with_sip(v)
        && digits.split('.').count() == 2
        && digits
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if looks {
        Err(ParseError::UnsupportedVersion(v.to_owned()))
    } else {
        Err(ParseError::BadStartLine)
    }
}

fn parse_start(start: &str) -> Result<StartLine, ParseError> {
    if starts_with_sip(start) {
        let (version, rest) = start.split_once(' ').ok_or(ParseError::BadStartLine)?;
        check_version(version)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStartLine);
        }
        let status = code
            .parse()
            .ok()
            .and_then(StatusCode::new)
            .ok_or(ParseError::BadStartLine)?;
        if reason.bytes().any(|b| b < 0x20 && b != b'\t') {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response(status, reason.to_owned()));
    }
    // The usual `METHOD URI SIP/2.0`, one space apart: no general split.
    if let Some(head) = start.strip_suffix(" SIP/2.0")
        && let Some(sp) = crate::uri::find_byte(head, b' ')
        && sp > 0
        && let Some(u) = head.get(sp + 1..)
        && !u.is_empty()
        && !u.as_bytes().contains(&b' ')
    {
        let method = Method::parse(&head[..sp]).ok_or(ParseError::BadStartLine)?;
        let uri = Uri::parse(u).map_err(ParseError::BadRequestUri)?;
        return Ok(StartLine::Request(method, uri));
    }
    if !looks_like_request_line(start) {
        return Err(ParseError::NoStartLine);
    }
    // Trailing white space is tolerated; any other extra space is not.
    let line = crate::syntax::trim_ws_end(start);
    let mut parts = crate::uri::SplitByte::new(line, b' ');
    let (Some(m), Some(u), Some(v), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    check_version(v)?;
    let method = Method::parse(m).ok_or(ParseError::BadStartLine)?;
    if u.is_empty() {
        return Err(ParseError::BadStartLine);
    }
    let uri = Uri::parse(u).map_err(ParseError::BadRequestUri)?;
    Ok(StartLine::Request(method, uri))
}

fn body_of<'a>(
    body: &'a [u8],
    headers: &Headers,
    framing: Framing,
) -> Result<&'a [u8], ParseError> {
    let mut declared = None;
    for h in headers.iter() {
        if let Header::ContentLength(n) = h {
            match declared {
                Some(d) if d != *n => return Err(ParseError::ConflictingContentLength),
                _ => declared = Some(*n),
            }
        }
    }
    match declared {
        None if framing == Framing::Stream => Err(ParseError::MissingContentLength),
        None => Ok(body),
        Some(n) => {
            let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
            body.get(..n_usize).ok_or(ParseError::BodyTooShort {
                declared: n,
                available: body.len(),
            })
        }
    }
}

impl Message {
    /// Parses one UDP datagram.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        Self::parse_framed(bytes, Framing::Datagram)
    }

    /// Parses with the given framing.
    pub fn parse_framed(bytes: &[u8], framing: Framing) -> Result<Self, ParseError> {
        // One pass over the lines. Errors keep the order of the separate
        // steps: the line structure first, then the start line, then the
        // first bad header, then the body.
        let mut lines = Lines::new(bytes)?;
        let start = parse_start(lines.start);
        let mut headers = Vec::new();
        let mut bad_header = None;
        if start.is_ok() {
            headers.reserve_exact(lines.header_estimate());
        }
        while let Some(line) = lines.next_header()? {
            if start.is_ok()
                && bad_header.is_none()
                && let Err(e) =
                    Header::parse_known(line.known, line.name, &line.value, |h| headers.push(h))
            {
                bad_header = Some(ParseError::BadHeader(e.0));
            }
        }
        let start = start?;
        if let Some(e) = bad_header {
            return Err(e);
        }
        let headers = Headers(headers);
        let body = body_of(lines.body(), &headers, framing)?.to_vec();
        Ok(match start {
            StartLine::Request(method, uri) => Self::Request(Request {
                method,
                uri,
                headers,
                body,
            }),
            StartLine::Response(status, reason) => Self::Response(Response {
                status,
                reason,
                headers,
                body,
            }),
        })
    }

    /// Headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    /// Serialises to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Request(r) => r.to_bytes(),
            Self::Response(r) => r.to_bytes(),
        }
    }
}

/// Finds the length of the first complete message at the start of a stream
/// buffer: `Ok(None)` means more bytes are needed. Leading CRLF keep-alives
/// count as part of the message.
pub fn frame_stream(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let lead = skip_leading_crlf(buf);
    let Some((_, body_start)) = find_head_end(&buf[lead..]) else {
        return if buf.len() > MAX_MESSAGE_LEN {
            Err(ParseError::TooLarge)
        } else {
            Ok(None)
        };
    };
    // The whole line structure is checked before any value, as in parsing.
    let mut lines = Lines::new(&buf[..(lead + body_start).min(buf.len())])?;
    let mut headers = Vec::new();
    while let Some(h) = lines.next_header()? {
        headers.push(h);
    }
    let mut declared: Option<u32> = None;
    for Line { name, value, .. } in headers {
        if HeaderName::from_wire(name) == Some(HeaderName::ContentLength) {
            let Ok(Header::ContentLength(n)) = Header::parse(name, &value) else {
                return Err(ParseError::BadHeader(HeaderName::ContentLength));
            };
            if declared.is_some_and(|d| d != n) {
                return Err(ParseError::ConflictingContentLength);
            }
            declared = Some(n);
        }
    }
    let n = declared.ok_or(ParseError::MissingContentLength)?;
    let total = lead + body_start + usize::try_from(n).unwrap_or(usize::MAX);
    if total > MAX_MESSAGE_LEN {
        return Err(ParseError::TooLarge);
    }
    Ok((buf.len() >= total).then_some(total))
}

impl Request {
    /// Parses a datagram that must be a request.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        match Message::parse(bytes)? {
            Message::Request(r) => Ok(r),
            Message::Response(_) => Err(ParseError::NoStartLine),
        }
    }

    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Serialises to bytes (Content-Length always matches the body).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Written as bytes: each Text is copied without a UTF-8 check.
        let mut out: Vec<u8> = Vec::with_capacity(512 + self.body.len());
        out.push_str(self.method.as_str());
        Out::push(&mut out, ' ');
        self.uri.write_to(&mut out);
        out.push_str(" SIP/2.0\r\n");
        self.headers.write(&mut out, self.body.len());
        out.push_str("\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

impl Response {
    /// Parses a datagram that must be a response.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        match Message::parse(bytes)? {
            Message::Response(r) => Ok(r),
            Message::Request(_) => Err(ParseError::NoStartLine),
        }
    }

    /// A response to `req` (RFC 3261 §8.2.6): Via, From, To, Call-ID and
    /// CSeq copied; `to_tag` added to To when given and To has none.
    pub fn to_request(req: &Request, status: StatusCode, to_tag: Option<&str>) -> Self {
        let mut headers = Headers::new();
        for h in req.headers.iter() {
            match h {
                Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                    headers.push(h.clone());
                }
                Header::To(a) => {
                    let mut a = a.clone();
                    if let Some(t) = to_tag
                        && a.tag().is_none()
                    {
                        a.set_tag(t);
                    }
                    headers.push(Header::To(a));
                }
                _ => {}
            }
        }
        Self {
            status,
            reason: status.default_reason().to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    /// Serialises to bytes (Content-Length always matches the body).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::with_capacity(384 + self.body.len());
        out.push_str("SIP/2.0 ");
        push_u32(&mut out, u32::from(self.status.as_u16()));
        Out::push(&mut out, ' ');
        out.push_str(&self.reason);
        out.push_str("\r\n");
        self.headers.write(&mut out, self.body.len());
        out.push_str("\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn q850_cause_from_reason_headers() {
        let cause = |reasons: &[&str]| {
            let mut text = String::from(
                "BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n",
            );
            for r in reasons {
                text.push_str(&format!("Reason: {r}\r\n"));
            }
            text.push_str("Content-Length: 0\r\n\r\n");
            Request::parse(text.as_bytes())
                .expect("a valid BYE")
                .headers
                .q850_cause()
        };
        assert_eq!(cause(&[]), None);
        assert_eq!(cause(&["Q.850;cause=41"]), Some(41));
        assert_eq!(cause(&["q.850 ; CAUSE = 16 ;text=\"Normal\""]), Some(16));
        assert_eq!(
            cause(&["SIP;cause=200;text=\"a, b; c\", Q.850;cause=38"]),
            Some(38)
        );
        assert_eq!(
            cause(&["SIP;cause=503", "Q.850;text=\"x;cause=1\";cause=27"]),
            Some(27)
        );
        assert_eq!(cause(&["SIP;cause=487"]), None);
        assert_eq!(cause(&["Q.850;cause=forty"]), None);
        assert_eq!(cause(&["Q.850;cause=99999999"]), None);
    }

    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn parses_and_reserialises() {
        let m = Message::parse(INVITE).unwrap();
        let Message::Request(r) = &m else { panic!() };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.headers.call_id(), Some("a84b4c76e66710@pc33.example.com"));
        assert_eq!(r.headers.cseq().map(|c| c.seq), Some(314159));
        assert_eq!(r.body, b"v=0\n");
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn stream_framing() {
        let mut buf = b"\r\n".to_vec();
        buf.extend_from_slice(INVITE);
        let total = buf.len();
        buf.extend_from_slice(b"OPTIONS sip:x");
        assert_eq!(frame_stream(&buf), Ok(Some(total)));
        assert_eq!(frame_stream(&INVITE[..50]), Ok(None));
        assert!(Message::parse_framed(&buf[..total], Framing::Stream).is_ok());
        let no_len = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n";
        assert_eq!(frame_stream(no_len), Err(ParseError::MissingContentLength));
    }

    #[test]
    fn body_length_rules() {
        let short = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc";
        assert!(matches!(
            Message::parse(short),
            Err(ParseError::BodyTooShort { .. })
        ));
        let long = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\n\r\nabc";
        let Ok(Message::Request(r)) = Message::parse(long) else {
            panic!()
        };
        assert_eq!(r.body, b"a");
        let two = b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nabc";
        assert_eq!(
            Message::parse(two),
            Err(ParseError::ConflictingContentLength)
        );
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            Message::parse(b"OPTIONS sip:a@b SIP/7.0\r\n\r\n"),
            Err(ParseError::UnsupportedVersion("SIP/7.0".into()))
        );
        assert_eq!(
            Message::parse(b"INVITE  sip:a@b SIP/2.0\r\n\r\n"),
            Err(ParseError::BadStartLine)
        );
        assert_eq!(
            Message::parse(b"SIP/2.0 4294967301 x\r\n\r\n"),
            Err(ParseError::BadStartLine)
        );
        assert_eq!(Message::parse(b""), Err(ParseError::NoStartLine));
        assert_eq!(
            Message::parse(b"hello\r\n\r\n"),
            Err(ParseError::NoStartLine)
        );
        let Ok(Message::Response(r)) = Message::parse(b"SIP/2.0 100 \r\n\r\n") else {
            panic!()
        };
        assert_eq!(r.reason, "");
    }
}
