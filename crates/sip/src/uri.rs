//! URIs: `sip:`, `sips:`, `tel:` and any other scheme kept opaque.
//!
//! Escaped text (user, parameters, headers) is kept escaped, exactly as it
//! came, so serialising gives back the same bytes; [`percent_decode`] turns
//! it into raw octets when a caller needs them.
//!
//! [`percent_decode`]: crate::syntax::percent_decode

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::syntax::{HNV, PARAM, PASSWORD, USER, in_class, valid_escaped};
use crate::text::{Out, Text};

/// Why a URI did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` prefix, or an invalid scheme.
    Scheme,
    /// Bad user or password part.
    UserInfo,
    /// Bad host (including IPv6 references).
    Host,
    /// Port not a number in 0..=65535.
    Port,
    /// Bad URI parameter.
    Param,
    /// Bad URI header.
    Header,
    /// Bad telephone number.
    Tel,
    /// Bad character in an opaque URI.
    Opaque,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheme => "bad URI scheme",
            Self::UserInfo => "bad URI user part",
            Self::Host => "bad URI host",
            Self::Port => "bad URI port",
            Self::Param => "bad URI parameter",
            Self::Header => "bad URI header",
            Self::Tel => "bad telephone number",
            Self::Opaque => "bad URI",
        })
    }
}

impl std::error::Error for UriError {}

/// A host: a domain name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written.
    Domain(Text),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets in SIP).
    V6(Ipv6Addr),
}

impl Host {
    /// Parses `host` (IPv6 in brackets).
    pub fn parse(s: &str) -> Result<Self, UriError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(UriError::Host)?;
            return inner.parse().map(Self::V6).map_err(|_| UriError::Host);
        }
        let b = s.as_bytes();
        if let Some(a) = parse_ipv4(b) {
            return Ok(Self::V4(a));
        }
        // One pass: labels of alphanumerics and inner hyphens, one optional
        // trailing dot; all digits and dots means an IPv4 address.
        // `prev` starts as a dot: a label may not begin with `-` or `.`.
        let mut prev = HOST_DOT;
        let mut seen = 0u8;
        for &c in b {
            let k = HOST_CLASS[usize::from(c)];
            let bad = match k {
                0 => true,
                HOST_DOT => prev & (HOST_DOT | HOST_HYPHEN) != 0,
                HOST_HYPHEN => prev == HOST_DOT,
                _ => false,
            };
            if bad {
                return Err(UriError::Host);
            }
            seen |= k;
            prev = k;
        }
        if b.is_empty() || prev == HOST_HYPHEN {
            return Err(UriError::Host);
        }
        let digits_only = seen & (HOST_LETTER | HOST_HYPHEN) == 0;
        if digits_only {
            return s.parse().map(Self::V4).map_err(|_| UriError::Host);
        }
        Ok(Self::Domain(Text::copy(s)))
    }

    /// Parses a host that may be an IPv6 address without brackets (as
    /// in Via `received`, RFC 5118 §4.5).
    pub fn parse_lenient(s: &str) -> Result<Self, UriError> {
        if s.contains(':') && !s.starts_with('[') {
            return s.parse().map(Self::V6).map_err(|_| UriError::Host);
        }
        Self::parse(s)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::V4(a) => write!(f, "{a}"),
            Self::V6(a) => write!(f, "[{a}]"),
        }
    }
}

const HOST_LETTER: u8 = 1;
const HOST_DIGIT: u8 = 2;
const HOST_HYPHEN: u8 = 4;
const HOST_DOT: u8 = 8;

/// For each class: the classes that may not come just before it.
const BAD_BEFORE: [u8; 9] = {
    let mut t = [0u8; 9];
    t[HOST_DOT as usize] = HOST_DOT | HOST_HYPHEN;
    t[HOST_HYPHEN as usize] = HOST_DOT;
    t
};

/// Host name byte classes (0: not allowed in a host name).
static HOST_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        // i < 256, so the cast is exact.
        let c = i as u8;
        t[i] = if c.is_ascii_alphabetic() {
            HOST_LETTER
        } else if c.is_ascii_digit() {
            HOST_DIGIT
        } else if c == b'-' {
            HOST_HYPHEN
        } else if c == b'.' {
            HOST_DOT
        } else {
            0
        };
        i += 1;
    }
    t
};

/// One scan over the common `host[:port]` (a host name or dotted quad,
/// a port of 1 to 5 digits) that ends the text or is followed by `;` or
/// `?`: the host, the port and the rest. `None` when anything is unusual
/// (IPv6, a bad character, a bad port): the general path then gives the
/// same answer or the right error.
#[inline]
pub(crate) fn fast_hostport(s: &str) -> Option<(Host, Option<u16>, &str)> {
    let b = s.as_bytes();
    let mut prev = HOST_DOT;
    let mut seen = 0u8;
    let mut i = 0;
    for &c in b {
        let k = HOST_CLASS[usize::from(c)];
        if k == 0 {
            break;
        }
        // A dot may not follow a dot or hyphen, a hyphen not a dot (the
        // start counts as a dot).
        if prev & BAD_BEFORE[usize::from(k)] != 0 {
            return None;
        }
        seen |= k;
        prev = k;
        i += 1;
    }
    if i == 0 || prev == HOST_HYPHEN {
        return None;
    }
    let host_text = &s[..i];
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let start = i + 1;
        let mut j = start;
        let mut v: u32 = 0;
        while let Some(&d) = b.get(j) {
            if !d.is_ascii_digit() || j - start == 5 {
                break;
            }
            v = v * 10 + u32::from(d - b'0');
            j += 1;
        }
        if j == start {
            return None;
        }
        port = Some(u16::try_from(v).ok()?);
        i = j;
    }
    if !matches!(b.get(i), None | Some(b';' | b'?')) {
        return None;
    }
    let host = if seen & (HOST_LETTER | HOST_HYPHEN) == 0 {
        Host::V4(parse_ipv4(host_text.as_bytes())?)
    } else {
        Host::Domain(Text::copy(host_text))
    };
    Some((host, port, &s[i..]))
}

/// A dotted quad as `Ipv4Addr::from_str` accepts it (four decimal octets,
/// no leading zeros), without its general-purpose parser; `None` for
/// anything else, which then takes the slow path.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(&d) = b.get(i) {
            if !d.is_ascii_digit() || i - start == 3 {
                break;
            }
            v = v * 10 + u32::from(d - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *octet = u8::try_from(v).ok()?;
    }
    (i == b.len()).then(|| Ipv4Addr::from(octets))
}

/// A `name[=value]` parameter, value kept as written (quotes included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name as written.
    pub name: Text,
    /// Value as written, if any.
    pub value: Option<Text>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl Into<Text>, value: impl Into<Text>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// A parameter without a value (`;lr`).
    pub fn flag(name: impl Into<Text>) -> Self {
        Self {
            name: name.into(),
            value: None,
        }
    }
}

/// Finds a parameter by case-insensitive name: `Some(None)` when present
/// without a value.
pub fn find_param<'p>(params: &'p [Param], name: &str) -> Option<Option<&'p str>> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_deref())
}

/// Splits at an ASCII byte (like `str::split`, without the `char`
/// searcher's set-up cost on short strings).
pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> SplitByte<'a> {
    pub(crate) fn new(s: &'a str, sep: u8) -> Self {
        Self { rest: Some(s), sep }
    }
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match find_byte(s, self.sep) {
            Some(i) => {
                self.rest = s.get(i + 1..);
                s.get(..i)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

/// Position of an ASCII byte: a plain loop beats the `char` searcher on
/// the short strings URIs are made of.
#[inline]
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    crate::syntax::find_byte_fast(s.as_bytes(), b)
}

pub(crate) fn write_params(out: &mut impl Out, params: &[Param]) {
    for p in params {
        out.push(';');
        out.push_text(&p.name);
        if let Some(v) = &p.value {
            out.push('=');
            out.push_text(v);
        }
    }
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// User part, escaped as written.
    pub user: Option<Text>,
    /// Password, escaped as written.
    pub password: Option<Text>,
    /// Host.
    pub host: Host,
    /// Port, if written.
    pub port: Option<u16>,
    /// URI parameters, escaped as written.
    pub params: Vec<Param>,
    /// URI headers (`?a=b&c=d`), escaped as written.
    pub headers: Vec<(Text, Text)>,
}

impl SipUri {
    /// A plain `sip:user@host` URI.
    pub fn new(user: Option<&str>, host: Host) -> Self {
        Self {
            secure: false,
            user: user.map(Text::copy),
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A URI parameter by name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    fn parse_after_scheme(s: &str, secure: bool) -> Result<Self, UriError> {
        let (userinfo, rest) = match find_byte(s, b'@') {
            Some(at) => (Some(&s[..at]), &s[at + 1..]),
            None => (None, s),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                // One scan checks the user part and finds the ':' before a
                // password (':' is not a user character).
                let ub = ui.as_bytes();
                let mut i = 0;
                while let Some(&c) = ub.get(i) {
                    if in_class(&USER, c) {
                        i += 1;
                    } else if c == b'%'
                        && ub.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && ub.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                    {
                        i += 3;
                    } else {
                        break;
                    }
                }
                if i == 0 || !matches!(ub.get(i), None | Some(b':')) {
                    return Err(UriError::UserInfo);
                }
                let (u, p) = match ub.get(i) {
                    Some(_) => (&ui[..i], Some(&ui[i + 1..])),
                    None => (ui, None),
                };
                if let Some(p) = p
                    && !p.is_empty()
                    && !valid_escaped(p, |b| in_class(&PASSWORD, b))
                {
                    return Err(UriError::UserInfo);
                }
                (Some(Text::copy(u)), p.map(Text::copy))
            }
        };
        let (host, port, tail) = match fast_hostport(rest) {
            Some(found) => found,
            None => Self::general_hostport(rest)?,
        };
        // `tail` is empty or starts with `;` or `?`; parameters may only
        // come before headers.
        let (params_part, headers_part) = match tail.as_bytes().first() {
            None => (None, None),
            Some(b'?') => (None, Some(&tail[1..])),
            Some(_) => {
                let after = &tail[1..];
                match find_byte(after, b'?') {
                    Some(q) => (Some(&after[..q]), Some(&after[q + 1..])),
                    None => (Some(after), None),
                }
            }
        };
        let mut params = Vec::new();
        if let Some(pp) = params_part {
            for item in SplitByte::new(pp, b';') {
                let (n, v) = match find_byte(item, b'=') {
                    Some(e) => (&item[..e], Some(&item[e + 1..])),
                    None => (item, None),
                };
                let pc = |b: u8| in_class(&PARAM, b);
                if !valid_escaped(n, pc) {
                    return Err(UriError::Param);
                }
                if let Some(v) = v
                    && !valid_escaped(v, pc)
                {
                    return Err(UriError::Param);
                }
                params.push(Param {
                    name: Text::copy(n),
                    value: v.map(Text::copy),
                });
            }
        }
        let mut headers = Vec::new();
        if let Some(hp) = headers_part {
            for item in SplitByte::new(hp, b'&') {
                let e = find_byte(item, b'=').ok_or(UriError::Header)?;
                let (n, v) = (&item[..e], &item[e + 1..]);
                let hc = |b: u8| in_class(&HNV, b);
                if !valid_escaped(n, hc) || (!v.is_empty() && !valid_escaped(v, hc)) {
                    return Err(UriError::Header);
                }
                headers.push((Text::copy(n), Text::copy(v)));
            }
        }
        Ok(Self {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// `host[:port]` up to the first `;` or `?`, by the general rules.
    fn general_hostport(rest: &str) -> Result<(Host, Option<u16>, &str), UriError> {
        let end = rest
            .bytes()
            .position(|c| c == b';' || c == b'?')
            .unwrap_or(rest.len());
        let (host, port) = split_hostport(&rest[..end])?;
        Ok((host, port, &rest[end..]))
    }

    pub(crate) fn write(&self, out: &mut impl Out) {
        out.push_str(if self.secure { "sips:" } else { "sip:" });
        if let Some(u) = &self.user {
            out.push_text(u);
            if let Some(p) = &self.password {
                out.push(':');
                out.push_text(p);
            }
            out.push('@');
        }
        write_host(out, &self.host);
        if let Some(p) = self.port {
            out.push(':');
            push_u32(out, u32::from(p));
        }
        write_params(out, &self.params);
        for (i, (n, v)) in self.headers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_text(n);
            out.push('=');
            out.push_text(v);
        }
    }
}

pub(crate) fn write_host(out: &mut impl Out, host: &Host) {
    match host {
        Host::Domain(d) => out.push_text(d),
        // Dotted quad by hand: the formatting machinery costs more than
        // the rest of a Via.
        Host::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u32(out, u32::from(o));
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn push_u32(out: &mut impl Out, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Splits `host[:port]`, IPv6 references included.
pub(crate) fn split_hostport(s: &str) -> Result<(Host, Option<u16>), UriError> {
    let (host, port) = if s.starts_with('[') {
        let end = find_byte(s, b']').ok_or(UriError::Host)?;
        let after = &s[end + 1..];
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':').ok_or(UriError::Port)?)
        };
        (&s[..=end], port)
    } else {
        match find_byte(s, b':') {
            Some(c) => (&s[..c], Some(&s[c + 1..])),
            None => (s, None),
        }
    };
    let host = Host::parse(host)?;
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::Port);
            }
            Some(p.parse::<u16>().map_err(|_| UriError::Port)?)
        }
    };
    Ok((host, port))
}

/// A `tel:` URI (RFC 3966), parameters kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number, visual separators included (`+1-555-123-0001`).
    pub number: Text,
    /// Parameters (`phone-context`, `ext`, ...).
    pub params: Vec<Param>,
}

/// Any URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Uri {
    /// `sip:` / `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other scheme, kept opaque.
    Other {
        /// Scheme as written.
        scheme: Text,
        /// Everything after the colon.
        rest: Text,
    },
}

impl Uri {
    /// Parses an absolute URI.
    pub fn parse(s: &str) -> Result<Self, UriError> {
        // The usual schemes without the general scheme check.
        match s.as_bytes().first_chunk::<5>() {
            Some(p) if p[..4].eq_ignore_ascii_case(b"sip:") => {
                return SipUri::parse_after_scheme(s.get(4..).unwrap_or(""), false).map(Self::Sip);
            }
            Some(p) if p.eq_ignore_ascii_case(b"sips:") => {
                return SipUri::parse_after_scheme(s.get(5..).unwrap_or(""), true).map(Self::Sip);
            }
            _ => {}
        }
        let colon = find_byte(s, b':').ok_or(UriError::Scheme)?;
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        let sb = scheme.as_bytes();
        if sb.is_empty()
            || !sb[0].is_ascii_alphabetic()
            || !sb
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(UriError::Scheme);
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_after_scheme(rest, false).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_after_scheme(rest, true).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            parse_tel(rest).map(Self::Tel)
        } else {
            if rest.is_empty()
                || !rest
                    .bytes()
                    .all(|b| b > b' ' && b < 0x7f && !matches!(b, b'<' | b'>' | b'"' | b'\\'))
            {
                return Err(UriError::Opaque);
            }
            Ok(Self::Other {
                scheme: Text::copy(scheme),
                rest: Text::copy(rest),
            })
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Self::Sip(s) => Some(s),
            _ => None,
        }
    }

    /// Appends the URI text to `out`.
    pub fn write(&self, out: &mut String) {
        self.write_to(out);
    }

    /// [`Uri::write`] to any [`Out`].
    pub(crate) fn write_to(&self, out: &mut impl Out) {
        match self {
            Self::Sip(s) => s.write(out),
            Self::Tel(t) => {
                out.push_str("tel:");
                out.push_text(&t.number);
                write_params(out, &t.params);
            }
            Self::Other { scheme, rest } => {
                out.push_text(scheme);
                out.push(':');
                out.push_text(rest);
            }
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write(&mut s);
        f.write_str(&s)
    }
}

fn parse_tel(s: &str) -> Result<TelUri, UriError> {
    let mut parts = s.split(';');
    let number = parts.next().unwrap_or("");
    let global = number.starts_with('+');
    let digits = number.strip_prefix('+').unwrap_or(number);
    let ok_char = |b: u8| {
        b.is_ascii_digit()
            || matches!(b, b'-' | b'.' | b'(' | b')')
            || (!global && (b.is_ascii_hexdigit() || b == b'*' || b == b'#'))
    };
    if digits.is_empty()
        || !digits.bytes().all(ok_char)
        || !digits
            .bytes()
            .any(|b| b.is_ascii_hexdigit() || b == b'*' || b == b'#')
    {
        return Err(UriError::Tel);
    }
    let mut params = Vec::new();
    for item in parts {
        let (n, v) = match find_byte(item, b'=') {
            Some(e) => (&item[..e], Some(&item[e + 1..])),
            None => (item, None),
        };
        let pc = |b: u8| in_class(&PARAM, b);
        if !valid_escaped(n, pc) || v.is_some_and(|v| !valid_escaped(v, pc)) {
            return Err(UriError::Param);
        }
        params.push(Param {
            name: Text::copy(n),
            value: v.map(Text::copy),
        });
    }
    Ok(TelUri {
        number: Text::copy(number),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Uri {
        let u = Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(u.to_string(), s, "round trip of {s}");
        u
    }

    #[test]
    fn sip_uris() {
        let u = rt("sip:user;par=u%40example.net@example.com");
        let s = u.as_sip().unwrap();
        assert_eq!(s.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(s.host, Host::Domain("example.com".into()));
        rt(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        let u = rt("sips:[2001:db8::10]:5070;lr;transport=tcp?Route=%3Csip:x%3E&a=b");
        let s = u.as_sip().unwrap();
        assert!(s.secure);
        assert_eq!(s.port, Some(5070));
        assert_eq!(s.param("LR"), Some(None));
        assert_eq!(s.headers.len(), 2);
        rt("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        rt("tel:+1-201-555-0123;phone-context=example.com");
        rt("soap.beep://192.0.2.103:3002");
    }

    #[test]
    fn fast_ipv4_agrees_with_std() {
        let parts = [
            "0", "1", "9", "10", "99", "100", "255", "256", "00", "01", "1000", "", "a",
        ];
        for a in parts {
            for b in parts {
                for s in [
                    format!("{a}.{b}.{a}.{b}"),
                    format!("{a}.{b}.{b}"),
                    format!("{a}.{b}.{a}.{b}."),
                    format!("{a}.{b}.{a}.{b}.{a}"),
                    format!("{a}{b}.1.2.3"),
                ] {
                    let fast = parse_ipv4(s.as_bytes());
                    if let Some(f) = fast {
                        assert_eq!(s.parse::<Ipv4Addr>().ok(), Some(f), "{s}");
                    }
                    let std_ok = s.parse::<Ipv4Addr>().ok();
                    assert_eq!(fast, std_ok, "{s}");
                }
            }
        }
    }

    #[test]
    fn bad_uris() {
        for s in [
            "sip:2001:db8::10",
            "sip:user@[2001:db8:::192.0.2.1]",
            "<sip:a@b>",
            "sip:a@b:99999",
            "sip:a@b;",
            "sip:a%zz@b",
            "sip:",
            "1sip:x",
            "tel:",
            "sip:a@256.1.1.1",
        ] {
            assert!(Uri::parse(s).is_err(), "{s} should not parse");
        }
        assert_eq!(
            Host::parse("[2001:db8::10:5070]"),
            Ok(Host::V6("2001:db8::10:5070".parse().unwrap()))
        );
        assert!(Host::parse_lenient("2001:db8::9:255").is_ok());
    }
}
