//! Typed SIP headers.
//!
//! The headers the stack acts on are parsed into types; every other header
//! is kept as [`Header::Other`] with its name and value as they came (line
//! folding replaced by a single space).

use std::fmt;

use crate::list::List;
use crate::method::Method;
use crate::syntax::{Cursor, is_token, quote_into, unquote};
use crate::text::{Out, Text};
use crate::uri::{
    Host, Param, Uri, find_param, push_u32, split_hostport, write_host, write_params,
};

/// Which header failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderName {
    /// Via (v).
    Via,
    /// From (f).
    From,
    /// To (t).
    To,
    /// Call-ID (i).
    CallId,
    /// CSeq.
    CSeq,
    /// Contact (m).
    Contact,
    /// Route.
    Route,
    /// Record-Route.
    RecordRoute,
    /// Max-Forwards.
    MaxForwards,
    /// Content-Length (l).
    ContentLength,
    /// Content-Type (c).
    ContentType,
    /// Require.
    Require,
    /// Proxy-Require.
    ProxyRequire,
    /// Supported (k).
    Supported,
    /// Unsupported.
    Unsupported,
    /// Allow.
    Allow,
    /// Accept.
    Accept,
    /// Expires.
    Expires,
}

impl HeaderName {
    /// The canonical header name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Via => "Via",
            Self::From => "From",
            Self::To => "To",
            Self::CallId => "Call-ID",
            Self::CSeq => "CSeq",
            Self::Contact => "Contact",
            Self::Route => "Route",
            Self::RecordRoute => "Record-Route",
            Self::MaxForwards => "Max-Forwards",
            Self::ContentLength => "Content-Length",
            Self::ContentType => "Content-Type",
            Self::Require => "Require",
            Self::ProxyRequire => "Proxy-Require",
            Self::Supported => "Supported",
            Self::Unsupported => "Unsupported",
            Self::Allow => "Allow",
            Self::Accept => "Accept",
            Self::Expires => "Expires",
        }
    }

    /// Recognises a header name, compact forms included (case-insensitive).
    pub fn from_wire(name: &str) -> Option<Self> {
        if name.len() == 1 {
            // Indexing is in bounds: the length is 1.
            return match name.as_bytes()[0].to_ascii_lowercase() {
                b'v' => Some(Self::Via),
                b'f' => Some(Self::From),
                b't' => Some(Self::To),
                b'i' => Some(Self::CallId),
                b'm' => Some(Self::Contact),
                b'l' => Some(Self::ContentLength),
                b'c' => Some(Self::ContentType),
                b'k' => Some(Self::Supported),
                _ => None,
            };
        }
        let eq = |s: &str| eq_lower(name.as_bytes(), s.as_bytes());
        // Length and first letter pick at most three candidates.
        let found = match (name.len(), name.as_bytes().first()?.to_ascii_lowercase()) {
            (2, b't') if eq("To") => Self::To,
            (3, b'v') if eq("Via") => Self::Via,
            (4, b'f') if eq("From") => Self::From,
            (4, b'c') if eq("CSeq") => Self::CSeq,
            (5, b'r') if eq("Route") => Self::Route,
            (5, b'a') if eq("Allow") => Self::Allow,
            (6, b'a') if eq("Accept") => Self::Accept,
            (7, b'c') if eq("Call-ID") => Self::CallId,
            (7, b'c') if eq("Contact") => Self::Contact,
            (7, b'r') if eq("Require") => Self::Require,
            (7, b'e') if eq("Expires") => Self::Expires,
            (9, b's') if eq("Supported") => Self::Supported,
            (11, b'u') if eq("Unsupported") => Self::Unsupported,
            (12, b'm') if eq("Max-Forwards") => Self::MaxForwards,
            (12, b'c') if eq("Content-Type") => Self::ContentType,
            (12, b'r') if eq("Record-Route") => Self::RecordRoute,
            (13, b'p') if eq("Proxy-Require") => Self::ProxyRequire,
            (14, b'c') if eq("Content-Length") => Self::ContentLength,
            _ => return None,
        };
        Some(found)
    }
}

/// ASCII case-insensitive equality of `name` with a known name made of
/// letters and `-`, eight bytes at a time. Letters (bit 0x40 set) may
/// differ from `name` only in bit 0x20; every other byte must be equal.
#[inline]
fn eq_lower(name: &[u8], known: &[u8]) -> bool {
    const LETTER_BIT: u64 = 0x4040_4040_4040_4040;
    let eq8 = |a: u64, b: u64| (a ^ b) & !((b & LETTER_BIT) >> 1) == 0;
    if name.len() != known.len() {
        return false;
    }
    // Fixed-size loads only (a variable-length copy would call memcpy):
    // up to 16 bytes as two overlapping words, up to 8 as one folded word.
    match (
        name.first_chunk::<8>(),
        known.first_chunk::<8>(),
        name.last_chunk::<8>(),
        known.last_chunk::<8>(),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) if name.len() <= 16 => {
            eq8(u64::from_le_bytes(*a), u64::from_le_bytes(*b))
                && eq8(u64::from_le_bytes(*c), u64::from_le_bytes(*d))
        }
        (None, ..) => {
            let fold = |s: &[u8]| s.iter().fold(0u64, |w, &x| (w << 8) | u64::from(x));
            eq8(fold(name), fold(known))
        }
        _ => name.eq_ignore_ascii_case(known),
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Expands a compact header name to its full form (for [`Header::Other`]
/// look-ups); other names come back unchanged.
pub fn canonical_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    // Indexing is in bounds: the length is 1.
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'v' => "Via",
        b'f' => "From",
        b't' => "To",
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'k' => "Supported",
        b's' => "Subject",
        b'e' => "Content-Encoding",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'u' => "Allow-Events",
        b'b' => "Referred-By",
        b'x' => "Session-Expires",
        b'a' => "Accept-Contact",
        b'j' => "Reject-Contact",
        b'd' => "Request-Disposition",
        b'y' => "Identity",
        b'n' => "Identity-Info",
        _ => name,
    }
}

/// Transport named in a Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket.
    Ws,
    /// Secure WebSocket.
    Wss,
    /// Anything else, as written.
    Other(Text),
}

impl Transport {
    fn parse(s: &str) -> Self {
        let is = |n: &str| s.eq_ignore_ascii_case(n);
        if is("UDP") {
            Self::Udp
        } else if is("TCP") {
            Self::Tcp
        } else if is("TLS") {
            Self::Tls
        } else if is("SCTP") {
            Self::Sctp
        } else if is("WS") {
            Self::Ws
        } else if is("WSS") {
            Self::Wss
        } else {
            Self::Other(Text::copy(s))
        }
    }

    /// The transport's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Sctp => "SCTP",
            Self::Ws => "WS",
            Self::Wss => "WSS",
            Self::Other(s) => s,
        }
    }

    /// Whether retransmissions are the transport's job (RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Self::Udp)
    }
}

/// The RFC 3261 branch magic cookie.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Transport.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (branch, received, rport, ...), as written.
    pub params: Vec<Param>,
}

impl Via {
    /// A Via for `transport host[:port];branch=...`.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Self {
        Self {
            transport,
            host,
            port,
            params: vec![Param::new("branch", branch)],
        }
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").flatten()
    }

    /// Whether the branch carries the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// The `received` parameter as a host.
    pub fn received(&self) -> Option<Host> {
        find_param(&self.params, "received")
            .flatten()
            .and_then(|v| Host::parse_lenient(v).ok())
    }

    /// `rport`: `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|v| v.and_then(|v| v.parse().ok()))
    }

    /// `sent-by` as text (`host[:port]`).
    pub fn sent_by(&self) -> String {
        let mut s = String::new();
        write_host(&mut s, &self.host);
        if let Some(p) = self.port {
            s.push(':');
            push_u32(&mut s, u32::from(p));
        }
        s
    }

    fn write<O: Out>(&self, out: &mut O) {
        out.push_str("SIP/2.0/");
        out.push_str(self.transport.as_str());
        out.push(' ');
        write_host(out, &self.host);
        if let Some(p) = self.port {
            out.push(':');
            push_u32(out, u32::from(p));
        }
        write_params(out, &self.params);
    }
}

/// A name-addr or addr-spec (From, To, Contact, Route, Record-Route).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display_name: Option<Text>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (tag, expires, q, ...), as written.
    pub params: List<Param>,
}

impl NameAddr {
    /// A bare address.
    pub fn new(uri: Uri) -> Self {
        Self {
            display_name: None,
            uri,
            params: List::new(),
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").flatten()
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
        self.params.push(Param::new("tag", tag));
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    fn write<O: Out>(&self, out: &mut O) {
        if let Some(d) = &self.display_name {
            quote_into(out, d);
            out.push(' ');
        }
        out.push('<');
        self.uri.write_to(out);
        out.push('>');
        write_params(out, &self.params);
    }
}

/// The Contact header's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contacts {
    /// `*` (REGISTER removal of all bindings).
    Wildcard,
    /// A list of addresses.
    Addresses(List<NameAddr>),
}

/// A CSeq value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number (below 2^31).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

/// A media type or range (`application/sdp`, `*/*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaType {
    /// Type (`application`).
    pub top: Text,
    /// Subtype (`sdp`).
    pub sub: Text,
    /// Parameters.
    pub params: Vec<Param>,
}

impl MediaType {
    /// `top/sub` without parameters.
    pub fn new(top: &str, sub: &str) -> Self {
        Self {
            top: Text::copy(top),
            sub: Text::copy(sub),
            params: Vec::new(),
        }
    }

    /// Case-insensitive match of `top/sub`, wildcards in `self` allowed.
    pub fn matches(&self, top: &str, sub: &str) -> bool {
        (self.top == "*" || self.top.eq_ignore_ascii_case(top))
            && (self.sub == "*" || self.sub.eq_ignore_ascii_case(sub))
    }

    fn write<O: Out>(&self, out: &mut O) {
        out.push_text(&self.top);
        out.push('/');
        out.push_text(&self.sub);
        write_params(out, &self.params);
    }
}

/// One header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Header {
    /// Via values of one header line.
    Via(List<Via>),
    /// From.
    From(NameAddr),
    /// To.
    To(NameAddr),
    /// Call-ID.
    CallId(Text),
    /// CSeq.
    CSeq(CSeq),
    /// Contact.
    Contact(Contacts),
    /// Route.
    Route(List<NameAddr>),
    /// Record-Route.
    RecordRoute(List<NameAddr>),
    /// Max-Forwards (0..=255).
    MaxForwards(u8),
    /// Content-Length as declared.
    ContentLength(u32),
    /// Content-Type.
    ContentType(MediaType),
    /// Require option tags.
    Require(List<Text>),
    /// Proxy-Require option tags.
    ProxyRequire(List<Text>),
    /// Supported option tags.
    Supported(List<Text>),
    /// Unsupported option tags.
    Unsupported(List<Text>),
    /// Allow methods.
    Allow(Vec<Method>),
    /// Accept media ranges (empty: nothing acceptable).
    Accept(Vec<MediaType>),
    /// Expires (seconds).
    Expires(u32),
    /// Any other header, as it came.
    Other {
        /// Name as written.
        name: Text,
        /// Value, folding replaced by single spaces, outer white space trimmed.
        value: Text,
    },
}

/// A header value failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHeader(pub HeaderName);

impl Header {
    /// The name of a typed header (`None` for [`Header::Other`]).
    pub fn name(&self) -> Option<HeaderName> {
        Some(match self {
            Self::Via(_) => HeaderName::Via,
            Self::From(_) => HeaderName::From,
            Self::To(_) => HeaderName::To,
            Self::CallId(_) => HeaderName::CallId,
            Self::CSeq(_) => HeaderName::CSeq,
            Self::Contact(_) => HeaderName::Contact,
            Self::Route(_) => HeaderName::Route,
            Self::RecordRoute(_) => HeaderName::RecordRoute,
            Self::MaxForwards(_) => HeaderName::MaxForwards,
            Self::ContentLength(_) => HeaderName::ContentLength,
            Self::ContentType(_) => HeaderName::ContentType,
            Self::Require(_) => HeaderName::Require,
            Self::ProxyRequire(_) => HeaderName::ProxyRequire,
            Self::Supported(_) => HeaderName::Supported,
            Self::Unsupported(_) => HeaderName::Unsupported,
            Self::Allow(_) => HeaderName::Allow,
            Self::Accept(_) => HeaderName::Accept,
            Self::Expires(_) => HeaderName::Expires,
            Self::Other { .. } => return None,
        })
    }

    /// Parses one header from its wire name and unfolded value.
    pub fn parse(name: &str, value: &str) -> Result<Self, BadHeader> {
        let mut out = None;
        Self::parse_with(name, value, |h| out = Some(h))?;
        // parse_with calls `put` exactly once when it returns Ok.
        out.ok_or(BadHeader(HeaderName::Via))
    }

    /// [`Header::parse`], handing the header to `put` instead of returning
    /// it: a `Header` is large, and pushing it straight into the message's
    /// `Vec` saves copying it through each return.
    #[inline]
    pub(crate) fn parse_with(
        name: &str,
        value: &str,
        put: impl FnOnce(Self),
    ) -> Result<(), BadHeader> {
        Self::parse_known(HeaderName::from_wire(name), name, value, put)
    }

    /// [`Header::parse_with`] for a name already looked up.
    #[inline]
    pub(crate) fn parse_known(
        known: Option<HeaderName>,
        name: &str,
        value: &str,
        put: impl FnOnce(Self),
    ) -> Result<(), BadHeader> {
        let Some(h) = known else {
            put(Self::Other {
                name: Text::copy(name),
                value: Text::copy(crate::syntax::trim_ws_end(crate::syntax::trim_ws_start(
                    value,
                ))),
            });
            return Ok(());
        };
        parse_typed(h, value, put).ok_or(BadHeader(h))
    }

    /// Appends `Name: value\r\n`.
    pub fn write(&self, out: &mut String) {
        self.write_to(out);
    }

    /// [`Header::write`] to any [`Out`].
    pub(crate) fn write_to<O: Out>(&self, out: &mut O) {
        match self {
            Self::Other { name, value } => {
                out.push_text(name);
                out.push_str(": ");
                out.push_text(value);
                out.push_str("\r\n");
                return;
            }
            _ => {
                // name() is Some for every variant but Other, handled above.
                out.push_str(self.name().map_or("", HeaderName::as_str));
                out.push_str(": ");
            }
        }
        match self {
            Self::Via(v) => join(out, v, Via::write),
            Self::From(a) | Self::To(a) => a.write(out),
            Self::CallId(s) => out.push_text(s),
            Self::CSeq(c) => {
                push_u32(out, c.seq);
                out.push(' ');
                out.push_str(c.method.as_str());
            }
            Self::Contact(Contacts::Wildcard) => out.push('*'),
            Self::Contact(Contacts::Addresses(v)) | Self::Route(v) | Self::RecordRoute(v) => {
                join(out, v, NameAddr::write);
            }
            Self::MaxForwards(n) => push_u32(out, u32::from(*n)),
            Self::ContentLength(n) | Self::Expires(n) => push_u32(out, *n),
            Self::ContentType(m) => m.write(out),
            Self::Require(v)
            | Self::ProxyRequire(v)
            | Self::Supported(v)
            | Self::Unsupported(v) => {
                join(out, v, |s, o| o.push_text(s));
            }
            Self::Allow(v) => join(out, v, |m, o| o.push_str(m.as_str())),
            Self::Accept(v) => join(out, v, MediaType::write),
            Self::Other { .. } => {}
        }
        out.push_str("\r\n");
    }
}

fn join<T, O: Out>(out: &mut O, items: &[T], f: impl Fn(&T, &mut O)) {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        f(it, out);
    }
}

fn parse_typed(h: HeaderName, v: &str, put: impl FnOnce(Header)) -> Option<()> {
    let mut c = Cursor::new(v);
    c.skip_ws();
    let hdr = match h {
        HeaderName::Via => Header::Via(list(&mut c, parse_via)?),
        HeaderName::From => Header::From(parse_name_addr(&mut c)?),
        HeaderName::To => Header::To(parse_name_addr(&mut c)?),
        HeaderName::CallId => {
            // callid = word ["@" word]; word excludes only a few graphic
            // chars. One scan takes the id and counts its '@'s.
            let mut ats = 0u32;
            let mut last_at = 0;
            let mut n = 0;
            let id = c.take_while(|b| {
                let ok = b.is_ascii_graphic() && b != b',';
                if ok && b == b'@' {
                    ats += 1;
                    last_at = n;
                }
                n += 1;
                ok
            });
            let at_ok = ats == 0 || (ats == 1 && last_at > 0 && last_at + 1 < id.len());
            if id.is_empty() || !at_ok {
                return None;
            }
            Header::CallId(Text::copy(id))
        }
        HeaderName::CSeq => {
            let n = number(&mut c, 10)?;
            if n >= 1 << 31 {
                return None;
            }
            if !c.skip_ws() {
                return None;
            }
            let m = c.token()?;
            Header::CSeq(CSeq {
                seq: u32::try_from(n).ok()?,
                method: Method::from_token(m),
            })
        }
        HeaderName::Contact => {
            if c.eat(b'*') {
                Header::Contact(Contacts::Wildcard)
            } else {
                Header::Contact(Contacts::Addresses(list(&mut c, parse_name_addr)?))
            }
        }
        HeaderName::Route => Header::Route(list(&mut c, parse_name_addr)?),
        HeaderName::RecordRoute => Header::RecordRoute(list(&mut c, parse_name_addr)?),
        HeaderName::MaxForwards => Header::MaxForwards(u8::try_from(number(&mut c, 10)?).ok()?),
        HeaderName::ContentLength => {
            Header::ContentLength(u32::try_from(number(&mut c, 10)?).ok()?)
        }
        HeaderName::Expires => Header::Expires(u32::try_from(number(&mut c, 10)?).ok()?),
        HeaderName::ContentType => Header::ContentType(parse_media(&mut c)?),
        HeaderName::Require => Header::Require(tokens(&mut c)?),
        HeaderName::ProxyRequire => Header::ProxyRequire(tokens(&mut c)?),
        HeaderName::Supported => Header::Supported(tokens(&mut c)?),
        HeaderName::Unsupported => Header::Unsupported(tokens(&mut c)?),
        HeaderName::Allow => {
            if c.at_end() {
                Header::Allow(Vec::new())
            } else {
                Header::Allow(list(&mut c, |c| c.token().map(Method::from_token))?.into())
            }
        }
        HeaderName::Accept => {
            if c.at_end() {
                Header::Accept(Vec::new())
            } else {
                Header::Accept(list(&mut c, parse_media)?.into())
            }
        }
    };
    c.skip_ws();
    if !c.at_end() {
        return None;
    }
    put(hdr);
    Some(())
}

/// Digits (at most `max_len` significant ones, `max_len` <= 19), leading
/// zeros allowed.
fn number(c: &mut Cursor<'_>, max_len: usize) -> Option<u64> {
    let d = c.take_while(|b| b.is_ascii_digit()).as_bytes();
    if d.is_empty() {
        return None;
    }
    let zeros = d.iter().take_while(|&&b| b == b'0').count();
    let significant = d.get(zeros..).unwrap_or(&[]);
    if significant.len() > max_len {
        return None;
    }
    // At most 19 digits: fits in a u64.
    Some(
        significant
            .iter()
            .fold(0u64, |n, &b| n * 10 + u64::from(b - b'0')),
    )
}

/// Comma-separated list of at least one item.
fn list<T>(c: &mut Cursor<'_>, item: impl Fn(&mut Cursor<'_>) -> Option<T>) -> Option<List<T>> {
    c.skip_ws();
    let first = item(c)?;
    c.skip_ws();
    if !c.eat(b',') {
        // The usual single value: no scan ahead, no allocation.
        return Some(List::one(first));
    }
    // Small items (methods, option tags): room for eight without a scan;
    // otherwise count the commas (inside quotes or URIs they only make
    // the guess too large).
    let cap = if size_of::<T>() <= 32 {
        8
    } else {
        c.count_ahead(b',') + 2
    };
    let mut v = Vec::with_capacity(cap);
    v.push(first);
    loop {
        c.skip_ws();
        v.push(item(c)?);
        c.skip_ws();
        if !c.eat(b',') {
            return Some(v.into());
        }
    }
}

/// Comma-separated tokens (may be empty: `Supported:` with no value).
fn tokens(c: &mut Cursor<'_>) -> Option<List<Text>> {
    if c.at_end() {
        return Some(List::new());
    }
    list(c, |c| c.token().map(Text::copy))
}

/// `*(SEMI name [EQUAL value])`, value a token, host or quoted-string.
pub(crate) fn parse_params(c: &mut Cursor<'_>) -> Option<List<Param>> {
    parse_params_checked(c, |_, _| true)
}

/// [`parse_params`], refusing a parameter for which `check(name, value)`
/// is false (checked on the text, before anything is copied).
fn parse_params_checked(
    c: &mut Cursor<'_>,
    check: impl Fn(&str, Option<&str>) -> bool,
) -> Option<List<Param>> {
    // One parameter (a tag) stays inline; two or more get room for four.
    let mut params = List::new();
    loop {
        let save = c.pos();
        c.skip_ws();
        if !c.eat(b';') {
            c.set_pos(save);
            return Some(params);
        }
        c.skip_ws();
        let name = c.token()?;
        let save = c.pos();
        c.skip_ws();
        let value = if c.eat(b'=') {
            c.skip_ws();
            let v = if c.peek() == Some(b'"') {
                c.quoted_raw()?
            } else {
                let start = c.pos();
                c.take_while(is_token);
                if matches!(c.peek(), Some(b':' | b'[' | b']')) {
                    c.take_while(is_param_value);
                }
                let v = c.slice(start, c.pos());
                if v.is_empty() {
                    return None;
                }
                v
            };
            Some(v)
        } else {
            c.set_pos(save);
            None
        };
        if !check(name, value) {
            return None;
        }
        params.push(Param {
            name: Text::copy(name),
            value: value.map(Text::copy),
        });
    }
}

/// Token characters plus `:`, `[` and `]` (IPv6 hosts as values).
#[inline]
fn is_param_value(b: u8) -> bool {
    is_token(b) || matches!(b, b':' | b'[' | b']')
}

/// The Via parameters RFC 3261 gives a grammar to.
fn via_param_ok(name: &str, v: Option<&str>) -> bool {
    let is = |n: &str| eq_lower(name.as_bytes(), n.as_bytes());
    match name.len() {
        6 if is("branch") => v.is_some_and(|v| v.bytes().all(is_token)),
        8 if is("received") => v.is_some_and(|v| Host::parse_lenient(v).is_ok()),
        5 if is("maddr") => v.is_some_and(|v| Host::parse_lenient(v).is_ok()),
        5 if is("rport") => v.is_none_or(|v| v.parse::<u16>().is_ok()),
        3 if is("ttl") => v.is_some_and(|v| v.parse::<u8>().is_ok()),
        _ => true,
    }
}

fn parse_via(c: &mut Cursor<'_>) -> Option<Via> {
    // Nearly every Via starts "SIP/2.0/" exactly; anything else (case,
    // white space) is read token by token.
    if !c.eat_prefix(b"SIP/2.0/") {
        let proto = c.token()?;
        c.skip_ws();
        if !proto.eq_ignore_ascii_case("SIP") || !c.eat(b'/') {
            return None;
        }
        c.skip_ws();
        if c.token()? != "2.0" {
            return None;
        }
        c.skip_ws();
        if !c.eat(b'/') {
            return None;
        }
    }
    c.skip_ws();
    let transport = Transport::parse(c.token()?);
    if !c.skip_ws() {
        return None;
    }
    let sent_by = c
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let (host, port) = match crate::uri::fast_hostport(sent_by) {
        Some((h, p, "")) => (h, p),
        _ => split_hostport(sent_by).ok()?,
    };
    let params = parse_params_checked(c, via_param_ok)?.into();
    Some(Via {
        transport,
        host,
        port,
        params,
    })
}

/// Parses a name-addr or addr-spec followed by header parameters.
pub(crate) fn parse_name_addr(c: &mut Cursor<'_>) -> Option<NameAddr> {
    c.skip_ws();
    let mut display_name = None;
    let angle = if c.peek() == Some(b'"') {
        display_name = Some(unquote(c.quoted_raw()?));
        c.skip_ws();
        if !c.eat(b'<') {
            return None;
        }
        true
    } else if c.eat(b'<') {
        true
    } else {
        // *(token LWS) "<" is a display name; otherwise an addr-spec.
        let start = c.pos();
        let mut words: Vec<&str> = Vec::new();
        while let Some(t) = c.token() {
            words.push(t);
            c.skip_ws();
        }
        if !words.is_empty() && c.eat(b'<') {
            display_name = Some(Text::from(words.join(" ")));
            true
        } else {
            c.set_pos(start);
            false
        }
    };
    let uri = if angle {
        // The URI runs to the '>'; white space before it is an error.
        let text = c.take_until_no_ws(b'>')?;
        c.eat(b'>');
        Uri::parse(text).ok()?
    } else {
        let text = c.take_while(|b| !matches!(b, b';' | b',' | b' ' | b'\t' | b'<' | b'>' | b'"'));
        let uri = Uri::parse(text).ok()?;
        // RFC 3261 §20: a URI with a comma, question mark or semicolon
        // must be in name-addr form.
        if text.contains('?') {
            return None;
        }
        uri
    };
    let params = parse_params(c)?;
    Some(NameAddr {
        display_name,
        uri,
        params,
    })
}

fn parse_media(c: &mut Cursor<'_>) -> Option<MediaType> {
    let top = c.token()?;
    c.skip_ws();
    if !c.eat(b'/') {
        return None;
    }
    c.skip_ws();
    let sub = c.token()?;
    let params = parse_params(c)?;
    Some(MediaType {
        top: Text::copy(top),
        sub: Text::copy(sub),
        params: params.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_and_spaced_values() {
        let h = Header::parse(
            "v",
            "SIP  / 2.0  / TCP     spindle.example.com   ;   branch  =   z9hG4bK9ikj8  ,  SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239",
        )
        .unwrap();
        let Header::Via(v) = h else {
            panic!("not a Via")
        };
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[1].transport, Transport::Udp);
        assert_eq!(v[1].branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn name_addr_forms() {
        let Header::From(a) = Header::parse(
            "from",
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ;  tag = 98asjd8"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(a.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag(), Some("98asjd8"));
        let Header::To(a) = Header::parse("To", "caller<sip:caller@example.com>;tag=323").unwrap()
        else {
            panic!()
        };
        assert_eq!(a.display_name.as_deref(), Some("caller"));
        assert!(Header::parse("To", "Watson, Thomas <sip:t.watson@example.org>").is_err());
        assert!(Header::parse("To", "< sip:t.watson@example.org >").is_err());
        assert!(Header::parse("To", "\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(Header::parse("Contact", "\"Joe\" <sip:joe@example.org>;;;;").is_err());
        assert!(
            Header::parse(
                "Contact",
                "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
            )
            .is_err()
        );
        let Header::Contact(Contacts::Addresses(v)) =
            Header::parse("m", "sip:+19725552222@gw1.example.net;unknownparam").unwrap()
        else {
            panic!()
        };
        assert_eq!(v[0].param("unknownparam"), Some(None));
    }

    #[test]
    fn header_names_match_case_insensitively_and_exactly() {
        for n in [
            HeaderName::CallId,
            HeaderName::ContentLength,
            HeaderName::To,
        ] {
            let s = n.as_str();
            assert_eq!(HeaderName::from_wire(s), Some(n));
            assert_eq!(HeaderName::from_wire(&s.to_uppercase()), Some(n));
            assert_eq!(HeaderName::from_wire(&s.to_lowercase()), Some(n));
        }
        for s in [
            "Call\rID",
            "Call_ID",
            "Call-IE",
            "Content-Lengtg",
            "Tp",
            "Content-Length ",
        ] {
            assert_eq!(HeaderName::from_wire(s), None, "{s:?}");
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(
            Header::parse("Max-Forwards", "0068"),
            Ok(Header::MaxForwards(68))
        );
        assert!(Header::parse("Max-Forwards", "300").is_err());
        assert!(Header::parse("CSeq", "36893488147419103232 REGISTER").is_err());
        assert!(Header::parse("CSeq", "2147483648 REGISTER").is_err());
        assert!(Header::parse("l", "-999").is_err());
        assert_eq!(
            Header::parse("cseq", "0009 INVITE"),
            Ok(Header::CSeq(CSeq {
                seq: 9,
                method: Method::Invite
            }))
        );
        assert!(Header::parse("Via", "SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert_eq!(Header::parse("Accept", ""), Ok(Header::Accept(vec![])));
    }
}
