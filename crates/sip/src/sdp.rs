//! SDP (RFC 4566) session and media descriptions, and the RFC 3264
//! offer/answer subset callward needs: one audio stream, PCMU or PCMA,
//! optionally RFC 4733 telephone-events.
//!
//! Lines the model does not type (`i=`, `u=`, `b=`, `k=` ...) are kept as
//! they came, in order within their section, so serialising keeps them.

use std::fmt;
use std::net::IpAddr;

/// Why SDP did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpError {
    /// Not UTF-8.
    NotUtf8,
    /// A line not of the form `x=value`.
    BadLine(usize),
    /// `v=` is not the first line, or not `0`.
    Version,
    /// A bad `o=` line.
    Origin,
    /// A bad `c=` line.
    Connection,
    /// A bad `t=` line.
    Timing,
    /// A bad `m=` line.
    Media,
    /// A required line (`o=`, `s=`) is missing.
    Missing(char),
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("SDP is not UTF-8"),
            Self::BadLine(n) => write!(f, "malformed SDP line {n}"),
            Self::Version => f.write_str("bad or misplaced v= line"),
            Self::Origin => f.write_str("bad o= line"),
            Self::Connection => f.write_str("bad c= line"),
            Self::Timing => f.write_str("bad t= line"),
            Self::Media => f.write_str("bad m= line"),
            Self::Missing(c) => write!(f, "missing {c}= line"),
        }
    }
}

impl std::error::Error for SdpError {}

/// `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Username (`-` when none).
    pub username: String,
    /// Session id (digits).
    pub session_id: u64,
    /// Session version (digits).
    pub session_version: u64,
    /// Address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// Unicast address or host name.
    pub address: String,
}

/// `c=` line (network type IN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// Address as written, without any `/ttl` suffix.
    pub address: String,
    /// `/ttl[/count]` suffix as written, if any.
    pub suffix: Option<String>,
}

impl Connection {
    /// A unicast connection to `ip`.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
            suffix: None,
        }
    }

    /// The address as an IP, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// An `a=` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Name.
    pub name: String,
    /// Value after the colon, if any.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }

    /// `a=name`.
    pub fn flag(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            value: None,
        }
    }
}

/// Media direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Both ways (the default).
    SendRecv,
    /// Only send.
    SendOnly,
    /// Only receive.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    /// Attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to this offered direction.
    pub fn answer(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }
}

/// An `a=rtpmap` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written.
    pub encoding: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// Channels, if given.
    pub channels: Option<u8>,
}

/// An `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, ...
    pub kind: String,
    /// Port (0 = stream rejected or disabled).
    pub port: u16,
    /// `/count` after the port.
    pub port_count: Option<u16>,
    /// Transport protocol (`RTP/AVP`).
    pub proto: String,
    /// Formats (payload types for RTP).
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// Other lines (`i=`, `b=`, `k=`), as `(type, value)`.
    pub other: Vec<(char, String)>,
}

impl Media {
    fn attr(&self, name: &str) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value.as_deref())
    }

    /// All `a=rtpmap` values that parse.
    pub fn rtpmaps(&self) -> Vec<RtpMap> {
        self.attr("rtpmap").filter_map(parse_rtpmap).collect()
    }

    /// The `a=fmtp` parameters for `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attr("fmtp").find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            (p.parse::<u8>().ok()? == pt).then_some(rest)
        })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attr("ptime").find_map(|v| v.trim().parse().ok())
    }

    /// The media-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|a| Direction::from_attr(&a.name))
    }
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.to_owned();
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding,
        clock_rate,
        channels,
    })
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (may be empty in the wild).
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// `t=` lines as (start, stop).
    pub timing: Vec<(u64, u64)>,
    /// Session-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines, as `(type, value)`.
    pub other: Vec<(char, String)>,
    /// Media sections.
    pub media: Vec<Media>,
}

fn parse_connection(v: &str) -> Result<Connection, SdpError> {
    let mut p = v.split(' ');
    let (Some("IN"), Some(at), Some(addr), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return Err(SdpError::Connection);
    };
    let (address, suffix) = match addr.split_once('/') {
        Some((a, s)) => (a, Some(s.to_owned())),
        None => (addr, None),
    };
    if address.is_empty() || at.is_empty() {
        return Err(SdpError::Connection);
    }
    match at {
        "IP4" if address.contains(':') => return Err(SdpError::Connection),
        "IP6" if address.parse::<std::net::Ipv4Addr>().is_ok() => {
            return Err(SdpError::Connection);
        }
        _ => {}
    }
    Ok(Connection {
        addr_type: at.to_owned(),
        address: address.to_owned(),
        suffix,
    })
}

fn parse_origin(v: &str) -> Result<Origin, SdpError> {
    let p: Vec<&str> = v.split(' ').collect();
    let [user, id, ver, "IN", at, addr] = p.as_slice() else {
        return Err(SdpError::Origin);
    };
    Ok(Origin {
        username: (*user).to_owned(),
        session_id: id.parse().map_err(|_| SdpError::Origin)?,
        session_version: ver.parse().map_err(|_| SdpError::Origin)?,
        addr_type: (*at).to_owned(),
        address: (*addr).to_owned(),
    })
}

fn parse_media(v: &str) -> Result<Media, SdpError> {
    let mut p = v.split(' ');
    let kind = p.next().filter(|k| !k.is_empty()).ok_or(SdpError::Media)?;
    let port_s = p.next().ok_or(SdpError::Media)?;
    let (port, port_count) = match port_s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse().map_err(|_| SdpError::Media)?)),
        None => (port_s, None),
    };
    let port = port.parse().map_err(|_| SdpError::Media)?;
    let proto = p.next().filter(|k| !k.is_empty()).ok_or(SdpError::Media)?;
    let formats: Vec<String> = p.map(str::to_owned).collect();
    if formats.is_empty() || formats.iter().any(String::is_empty) {
        return Err(SdpError::Media);
    }
    Ok(Media {
        kind: kind.to_owned(),
        port,
        port_count,
        proto: proto.to_owned(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

impl SessionDescription {
    /// Parses SDP text (CRLF or LF line ends).
    pub fn parse(bytes: &[u8]) -> Result<Self, SdpError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SdpError::NotUtf8)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError::Version),
        }
        let mut origin = None;
        let mut session_name = None;
        let mut sd_connection = None;
        let mut timing = Vec::new();
        let mut attributes = Vec::new();
        let mut other = Vec::new();
        let mut media: Vec<Media> = Vec::new();
        for (n, line) in lines {
            let b = line.as_bytes();
            // Indexing is guarded by the length test that short-circuits first.
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(SdpError::BadLine(n + 1));
            }
            let kind = char::from(b[0]);
            let v = &line[2..];
            if let Some(m) = media.last_mut() {
                match kind {
                    'm' => media.push(parse_media(v)?),
                    'c' => m.connection = Some(parse_connection(v)?),
                    'a' => m.attributes.push(parse_attr(v)),
                    'i' | 'b' | 'k' => m.other.push((kind, v.to_owned())),
                    _ => return Err(SdpError::BadLine(n + 1)),
                }
                continue;
            }
            match kind {
                'v' => return Err(SdpError::Version),
                'o' if origin.is_none() => origin = Some(parse_origin(v)?),
                's' if session_name.is_none() => session_name = Some(v.to_owned()),
                'c' if sd_connection.is_none() => sd_connection = Some(parse_connection(v)?),
                't' => {
                    let (a, z) = v.split_once(' ').ok_or(SdpError::Timing)?;
                    timing.push((
                        a.parse().map_err(|_| SdpError::Timing)?,
                        z.parse().map_err(|_| SdpError::Timing)?,
                    ));
                }
                'a' => attributes.push(parse_attr(v)),
                'm' => media.push(parse_media(v)?),
                'i' | 'u' | 'e' | 'p' | 'b' | 'z' | 'k' | 'r' => other.push((kind, v.to_owned())),
                _ => return Err(SdpError::BadLine(n + 1)),
            }
        }
        Ok(Self {
            origin: origin.ok_or(SdpError::Missing('o'))?,
            session_name: session_name.ok_or(SdpError::Missing('s'))?,
            connection: sd_connection,
            timing,
            attributes,
            other,
            media,
        })
    }

    /// Serialises with CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// The connection that applies to `media` (media level, else session).
    pub fn connection_for<'a>(&'a self, media: &'a Media) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// The direction of `media` (media level, else session level, else
    /// sendrecv).
    pub fn direction_for(&self, media: &Media) -> Direction {
        media
            .direction()
            .or_else(|| {
                self.attributes
                    .iter()
                    .find_map(|a| Direction::from_attr(&a.name))
            })
            .unwrap_or(Direction::SendRecv)
    }
}

fn parse_attr(v: &str) -> Attribute {
    match v.split_once(':') {
        Some((n, val)) => Attribute::new(n, val),
        None => Attribute::flag(v),
    }
}

fn write_conn(f: &mut fmt::Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c=IN {} {}", c.addr_type, c.address)?;
    if let Some(s) = &c.suffix {
        write!(f, "/{s}")?;
    }
    f.write_str("\r\n")
}

fn write_attr(f: &mut fmt::Formatter<'_>, a: &Attribute) -> fmt::Result {
    match &a.value {
        Some(v) => write!(f, "a={}:{}\r\n", a.name, v),
        None => write!(f, "a={}\r\n", a.name),
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.session_version, o.addr_type, o.address, self.session_name
        )?;
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| matches!(k, 'i' | 'u' | 'e' | 'p'))
        {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write_conn(f, c)?;
        }
        for (k, v) in self.other.iter().filter(|(k, _)| *k == 'b') {
            write!(f, "{k}={v}\r\n")?;
        }
        for (a, z) in &self.timing {
            write!(f, "t={a} {z}\r\n")?;
        }
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| matches!(k, 'r' | 'z' | 'k'))
        {
            write!(f, "{k}={v}\r\n")?;
        }
        for a in &self.attributes {
            write_attr(f, a)?;
        }
        for m in &self.media {
            write!(f, "m={} {}", m.kind, m.port)?;
            if let Some(c) = m.port_count {
                write!(f, "/{c}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            f.write_str("\r\n")?;
            for (k, v) in m.other.iter().filter(|(k, _)| *k == 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            if let Some(c) = &m.connection {
                write_conn(f, c)?;
            }
            for (k, v) in m.other.iter().filter(|(k, _)| *k != 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            for a in &m.attributes {
                write_attr(f, a)?;
            }
        }
        Ok(())
    }
}

/// An audio codec callward can relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// Encoding name in rtpmap.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// Static payload type.
    pub fn static_pt(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }
}

/// Our side of the media, for building offers and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address RTP is received on.
    pub address: IpAddr,
    /// RTP port.
    pub port: u16,
    /// Codecs we accept, in our order of preference (used for offers).
    pub codecs: Vec<Codec>,
    /// Offer/accept RFC 4733 telephone-events.
    pub telephone_event: bool,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version.
    pub session_version: u64,
}

/// What offer/answer agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec.
    pub codec: Codec,
    /// Its payload type.
    pub payload_type: u8,
    /// telephone-event payload type, if agreed.
    pub telephone_event: Option<u8>,
    /// Where to send RTP (None when the peer holds or is inactive at
    /// 0.0.0.0).
    pub remote: Option<std::net::SocketAddr>,
    /// Packet time asked by the peer, in ms.
    pub ptime: Option<u32>,
    /// The direction of our side.
    pub direction: Direction,
}

/// Offer/answer failures; each is a 488 (Not Acceptable Here).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfferAnswerError {
    /// No audio stream with PCMU or PCMA.
    NoCommonCodec,
    /// An accepted stream without a usable connection address.
    NoConnection,
    /// The answer does not fit the offer (stream count, codecs).
    AnswerMismatch,
}

impl fmt::Display for OfferAnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCommonCodec => "no common audio codec",
            Self::NoConnection => "no connection address",
            Self::AnswerMismatch => "answer does not match offer",
        })
    }
}

impl std::error::Error for OfferAnswerError {}

/// Codecs found in an audio m-line, in the offerer's order, with their
/// payload types; plus the telephone-event payload type.
fn codecs_in(m: &Media, allowed: &[Codec]) -> (Vec<(Codec, u8)>, Option<u8>) {
    let maps = m.rtpmaps();
    let mut found = Vec::new();
    let mut te = None;
    for f in &m.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        let map = maps.iter().find(|r| r.payload_type == pt);
        let codec = match map {
            Some(r) if r.clock_rate == 8000 && r.encoding.eq_ignore_ascii_case("PCMU") => {
                Some(Codec::Pcmu)
            }
            Some(r) if r.clock_rate == 8000 && r.encoding.eq_ignore_ascii_case("PCMA") => {
                Some(Codec::Pcma)
            }
            Some(r)
                if r.clock_rate == 8000 && r.encoding.eq_ignore_ascii_case("telephone-event") =>
            {
                te = te.or(Some(pt));
                None
            }
            Some(_) => None,
            None if pt == 0 => Some(Codec::Pcmu),
            None if pt == 8 => Some(Codec::Pcma),
            None => None,
        };
        if let Some(c) = codec
            && allowed.contains(&c)
        {
            found.push((c, pt));
        }
    }
    (found, te)
}

fn remote_of(
    sd: &SessionDescription,
    m: &Media,
) -> Result<Option<std::net::SocketAddr>, OfferAnswerError> {
    let c = sd.connection_for(m).ok_or(OfferAnswerError::NoConnection)?;
    let ip = c.ip().ok_or(OfferAnswerError::NoConnection)?;
    Ok((!ip.is_unspecified()).then(|| std::net::SocketAddr::new(ip, m.port)))
}

fn base_sdp(local: &LocalMedia) -> SessionDescription {
    let conn = Connection::new(local.address);
    SessionDescription {
        origin: Origin {
            username: "callward".into(),
            session_id: local.session_id,
            session_version: local.session_version,
            addr_type: conn.addr_type.clone(),
            address: conn.address.clone(),
        },
        session_name: "callward".into(),
        connection: Some(conn),
        timing: vec![(0, 0)],
        attributes: Vec::new(),
        other: Vec::new(),
        media: Vec::new(),
    }
}

fn audio_media(
    local: &LocalMedia,
    codecs: &[(Codec, u8)],
    te: Option<u8>,
    ptime: Option<u32>,
    dir: Direction,
) -> Media {
    let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(c, pt)| Attribute::new("rtpmap", &format!("{pt} {}/8000", c.name())))
        .collect();
    if let Some(te) = te {
        formats.push(te.to_string());
        attributes.push(Attribute::new(
            "rtpmap",
            &format!("{te} telephone-event/8000"),
        ));
        attributes.push(Attribute::new("fmtp", &format!("{te} 0-16")));
    }
    if let Some(p) = ptime {
        attributes.push(Attribute::new("ptime", &p.to_string()));
    }
    attributes.push(Attribute::flag(dir.as_str()));
    Media {
        kind: "audio".into(),
        port: local.port,
        port_count: None,
        proto: "RTP/AVP".into(),
        formats,
        connection: None,
        attributes,
        other: Vec::new(),
    }
}

/// Builds an offer with our codecs (and telephone-event at payload type 101).
pub fn offer(local: &LocalMedia) -> SessionDescription {
    let mut sd = base_sdp(local);
    let codecs: Vec<(Codec, u8)> = local.codecs.iter().map(|c| (*c, c.static_pt())).collect();
    let te = local.telephone_event.then_some(101);
    sd.media.push(audio_media(
        local,
        &codecs,
        te,
        Some(20),
        Direction::SendRecv,
    ));
    sd
}

/// Answers `offer` (RFC 3264 §6): the first audio stream with PCMU or PCMA
/// is accepted with the offerer's first such codec; every other stream is
/// refused with port 0. An error means 488.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(SessionDescription, Negotiated), OfferAnswerError> {
    let mut sd = base_sdp(local);
    let mut chosen = None;
    for m in &offer.media {
        let usable =
            chosen.is_none() && m.kind == "audio" && m.port != 0 && m.proto.starts_with("RTP/");
        let (codecs, te) = if usable {
            codecs_in(m, &local.codecs)
        } else {
            (Vec::new(), None)
        };
        if let Some(&(codec, pt)) = codecs.first() {
            let te = if local.telephone_event { te } else { None };
            let dir = offer.direction_for(m).answer();
            let remote = remote_of(offer, m)?;
            let ptime = m.ptime();
            sd.media
                .push(audio_media(local, &[(codec, pt)], te, ptime, dir));
            chosen = Some(Negotiated {
                codec,
                payload_type: pt,
                telephone_event: te,
                remote,
                ptime,
                direction: dir,
            });
        } else {
            // Refused stream: port 0, formats echoed (RFC 3264 §6).
            sd.media.push(Media {
                kind: m.kind.clone(),
                port: 0,
                port_count: None,
                proto: m.proto.clone(),
                formats: m.formats.clone(),
                connection: None,
                attributes: Vec::new(),
                other: Vec::new(),
            });
        }
    }
    let n = chosen.ok_or(OfferAnswerError::NoCommonCodec)?;
    Ok((sd, n))
}

/// Reads the answer to an offer we made.
pub fn accept_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, OfferAnswerError> {
    if offer.media.len() != answer.media.len() {
        return Err(OfferAnswerError::AnswerMismatch);
    }
    for (o, a) in offer.media.iter().zip(&answer.media) {
        if o.kind != "audio" || a.port == 0 {
            continue;
        }
        let offered: Vec<Codec> = codecs_in(o, &[Codec::Pcmu, Codec::Pcma])
            .0
            .iter()
            .map(|(c, _)| *c)
            .collect();
        let (codecs, te) = codecs_in(a, &offered);
        let &(codec, pt) = codecs.first().ok_or(OfferAnswerError::AnswerMismatch)?;
        return Ok(Negotiated {
            codec,
            payload_type: pt,
            telephone_event: te,
            remote: remote_of(answer, a)?,
            ptime: a.ptime(),
            direction: answer.direction_for(a).answer(),
        });
    }
    Err(OfferAnswerError::NoCommonCodec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\ns=-\r\n\
c=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49170 RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\n\
a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:30\r\n\
a=sendonly\r\nm=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n";

    fn local() -> LocalMedia {
        LocalMedia {
            address: "198.51.100.7".parse().unwrap(),
            port: 40000,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            session_id: 1,
            session_version: 1,
        }
    }

    #[test]
    fn parse_roundtrip() {
        let sd = SessionDescription::parse(OFFER.as_bytes()).unwrap();
        assert_eq!(sd.to_string(), OFFER);
        assert_eq!(sd.media[0].fmtp(101), Some("0-15"));
        assert_eq!(sd.media[0].ptime(), Some(30));
        assert_eq!(sd.direction_for(&sd.media[0]), Direction::SendOnly);
        let v6 = "v=0\r\no=- 1 0 IN IP6 2001:db8::20\r\ns=\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\nc=IN IP6 2001:db8::20\r\n";
        let sd = SessionDescription::parse(v6.as_bytes()).unwrap();
        assert_eq!(sd.to_string(), v6);
        assert_eq!(
            sd.media[0].connection.as_ref().and_then(Connection::ip),
            "2001:db8::20".parse().ok()
        );
        assert!(SessionDescription::parse(b"v=0\r\nm =video 1 RTP/AVP 1\r\n").is_err());
        assert!(SessionDescription::parse(b"o=x\r\n").is_err());
    }

    #[test]
    fn answer_picks_offerers_first_g711_and_refuses_video() {
        let sd = SessionDescription::parse(OFFER.as_bytes()).unwrap();
        let (ans, n) = answer(&sd, &local()).unwrap();
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(n.payload_type, 8);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.direction, Direction::RecvOnly);
        assert_eq!(n.ptime, Some(30));
        assert_eq!(n.remote, Some("192.0.2.101:49170".parse().unwrap()));
        assert_eq!(ans.media.len(), 2);
        assert_eq!(ans.media[0].formats, ["8", "101"]);
        assert_eq!(ans.media[1].port, 0);
        let back =
            accept_answer(&sd, &SessionDescription::parse(&ans.to_bytes()).unwrap()).unwrap();
        assert_eq!(back.codec, Codec::Pcma);
        assert_eq!(back.remote, Some("198.51.100.7:40000".parse().unwrap()));
    }

    #[test]
    fn no_common_codec_is_488() {
        let g729 = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
        let sd = SessionDescription::parse(g729.as_bytes()).unwrap();
        assert_eq!(
            answer(&sd, &local()).err(),
            Some(OfferAnswerError::NoCommonCodec)
        );
        let no_c = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        let sd = SessionDescription::parse(no_c.as_bytes()).unwrap();
        assert_eq!(
            answer(&sd, &local()).err(),
            Some(OfferAnswerError::NoConnection)
        );
    }

    #[test]
    fn offer_then_answer_from_peer() {
        let o = offer(&local());
        let parsed = SessionDescription::parse(&o.to_bytes()).unwrap();
        assert_eq!(parsed, o);
        let mut peer = local();
        peer.codecs = vec![Codec::Pcma];
        peer.address = "2001:db8::1".parse().unwrap();
        let (a, n) = answer(&parsed, &peer).unwrap();
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(
            a.connection.as_ref().map(|c| c.addr_type.as_str()),
            Some("IP6")
        );
        assert_eq!(
            accept_answer(&o, &a).map(|n| n.telephone_event),
            Ok(Some(101))
        );
    }
}
