//! What a UAS checks before acting on a request (RFC 3261 §8.2, RFC 4475
//! §3.3), and what becomes of a datagram that fails: a response, or
//! nothing at all when no response can be formed.

use std::fmt;

use crate::header::{Header, HeaderName, MediaType};
use crate::message::{self, Message, ParseError, Request, Response, StatusCode};
use crate::method::Method;
use crate::text::Text;
use crate::uri::Uri;

/// What this UAS supports; the checks are judged against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UasPolicy {
    /// Option tags understood in Require.
    pub extensions: Vec<String>,
    /// Body types accepted in requests.
    pub content_types: Vec<MediaType>,
}

impl Default for UasPolicy {
    fn default() -> Self {
        let ct = |t: &str, s: &str| MediaType::new(t, s);
        Self {
            extensions: Vec::new(),
            content_types: vec![
                ct("application", "sdp"),
                // Multipart bodies are passed through untouched.
                ct("multipart", "mixed"),
                ct("multipart", "alternative"),
                ct("multipart", "related"),
                ct("text", "plain"),
                // DTMF over SIP INFO.
                ct("application", "dtmf-relay"),
                ct("application", "dtmf"),
                ct("message", "sipfrag"),
            ],
        }
    }
}

/// A request the UAS must refuse, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// Status to send.
    pub status: StatusCode,
    /// Human-readable reason (also used as the reason phrase's detail).
    pub reason: String,
    /// For 420: the option tags to list in Unsupported.
    pub unsupported: Vec<String>,
    /// For 415: the body types to list in Accept.
    pub accept: Vec<MediaType>,
}

impl Rejection {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            unsupported: Vec::new(),
            accept: Vec::new(),
        }
    }

    /// The response to send for this rejection of `req`.
    pub fn response(&self, req: &Request, to_tag: &str) -> Response {
        let mut r = Response::to_request(req, self.status, Some(to_tag));
        if !self.unsupported.is_empty() {
            r.headers.push(Header::Unsupported(
                self.unsupported.iter().map(Text::from).collect(),
            ));
        }
        if !self.accept.is_empty() {
            r.headers.push(Header::Accept(self.accept.clone()));
        }
        r
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

const SINGLE: [HeaderName; 8] = [
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::MaxForwards,
    HeaderName::ContentLength,
    HeaderName::ContentType,
    HeaderName::Expires,
];

fn check_common(headers: &message::Headers) -> Result<(), String> {
    if headers.to().is_none() {
        return Err("missing To".into());
    }
    if headers.from().is_none() {
        return Err("missing From".into());
    }
    if headers.call_id().is_none() {
        return Err("missing Call-ID".into());
    }
    if headers.cseq().is_none() {
        return Err("missing CSeq".into());
    }
    if headers.top_via().is_none() {
        return Err("missing Via".into());
    }
    for h in SINGLE {
        if headers.count(h) > 1 {
            return Err(format!("multiple {h} headers"));
        }
    }
    Ok(())
}

/// RFC 3261 §8.2 checks on a parsed request.
pub fn check_request(req: &Request, policy: &UasPolicy) -> Result<(), Rejection> {
    let bad = |r: String| Rejection::new(StatusCode::BAD_REQUEST, r);
    check_common(&req.headers).map_err(bad)?;
    if let Some(cseq) = req.headers.cseq()
        && cseq.method != req.method
    {
        return Err(bad(format!(
            "CSeq method {} does not match {}",
            cseq.method, req.method
        )));
    }
    match &req.uri {
        Uri::Sip(s) if !s.headers.is_empty() => {
            return Err(bad("headers in Request-URI".into()));
        }
        Uri::Sip(_) | Uri::Tel(_) => {}
        Uri::Other { scheme, .. } => {
            return Err(Rejection::new(
                StatusCode::UNSUPPORTED_URI_SCHEME,
                format!("unsupported URI scheme {scheme}"),
            ));
        }
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unknown: Vec<String> = req
            .headers
            .require()
            .filter(|t| !policy.extensions.iter().any(|e| e.eq_ignore_ascii_case(t)))
            .map(str::to_owned)
            .collect();
        if !unknown.is_empty() {
            let mut r = Rejection::new(
                StatusCode::BAD_EXTENSION,
                format!("unsupported extension {}", unknown.join(",")),
            );
            r.unsupported = unknown;
            return Err(r);
        }
    }
    if !req.body.is_empty() {
        let Some(ct) = req.headers.content_type() else {
            return Err(bad("body without Content-Type".into()));
        };
        if !policy
            .content_types
            .iter()
            .any(|t| t.matches(&ct.top, &ct.sub))
        {
            let mut r = Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Type {}/{}", ct.top, ct.sub),
            );
            r.accept.clone_from(&policy.content_types);
            return Err(r);
        }
        if let Some(enc) = req.headers.other("Content-Encoding")
            && !enc.trim().eq_ignore_ascii_case("identity")
        {
            return Err(Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {enc}"),
            ));
        }
    }
    // An INVITE is answered with SDP; an Accept without it cannot be met.
    if req.method == Method::Invite
        && let Some(accept) = req.headers.accept()
        && !accept.iter().any(|m| m.matches("application", "sdp"))
    {
        return Err(Rejection::new(
            StatusCode::NOT_ACCEPTABLE,
            "Accept excludes application/sdp",
        ));
    }
    Ok(())
}

/// Checks a parsed response; the error is why it must be dropped.
pub fn check_response(resp: &Response) -> Result<(), String> {
    check_common(&resp.headers)
}

/// What to do with a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inspection {
    /// A request that passed every check.
    Request(Request),
    /// A response that passed every check.
    Response(Response),
    /// A request to refuse with `status`.
    Reject {
        /// Status to answer with.
        status: StatusCode,
        /// Why.
        reason: String,
    },
    /// Nothing can be answered: drop the datagram.
    Drop {
        /// Why.
        reason: String,
    },
}

/// Parses and checks a datagram as a UAS would.
pub fn inspect(datagram: &[u8], policy: &UasPolicy) -> Inspection {
    match Message::parse(datagram) {
        Ok(Message::Request(req)) => match check_request(&req, policy) {
            Ok(()) => Inspection::Request(req),
            Err(r) if has_via(datagram) => Inspection::Reject {
                status: r.status,
                reason: r.reason,
            },
            Err(r) => Inspection::Drop { reason: r.reason },
        },
        Ok(Message::Response(resp)) => match check_response(&resp) {
            Ok(()) => Inspection::Response(resp),
            Err(reason) => Inspection::Drop { reason },
        },
        Err(e) => {
            let reason = e.to_string();
            if !(request_like(datagram) && has_via(datagram)) {
                return Inspection::Drop { reason };
            }
            let status = match e {
                ParseError::UnsupportedVersion(_) => StatusCode::VERSION_NOT_SUPPORTED,
                ParseError::TooLarge => StatusCode::MESSAGE_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            Inspection::Reject { status, reason }
        }
    }
}

fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    let lead = datagram
        .iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count();
    let body = &datagram[lead..];
    body.split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

fn request_like(datagram: &[u8]) -> bool {
    lines(datagram)
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .is_some_and(message::looks_like_request_line)
}

/// The raw header lines a response must copy (RFC 3261 §8.2.6.2).
fn raw_header<'a>(datagram: &'a [u8], names: [&str; 2]) -> Vec<&'a str> {
    lines(datagram)
        .skip(1)
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| {
            l.split_once(':').is_some_and(|(n, _)| {
                let n = n.trim_end();
                names.iter().any(|w| n.eq_ignore_ascii_case(w))
            })
        })
        .collect()
}

fn has_via(datagram: &[u8]) -> bool {
    !raw_header(datagram, ["Via", "v"]).is_empty()
}

/// Builds a response to a request that could not be parsed, copying the
/// raw Via, From, To, Call-ID and CSeq lines as they came (a To tag is
/// added). `None` when there is no Via to send it back along.
pub fn raw_error_response(datagram: &[u8], status: StatusCode, to_tag: &str) -> Option<Vec<u8>> {
    let vias = raw_header(datagram, ["Via", "v"]);
    if vias.is_empty() || !request_like(datagram) {
        return None;
    }
    let mut out = format!("SIP/2.0 {} {}\r\n", status, status.default_reason());
    for l in vias {
        out.push_str(l);
        out.push_str("\r\n");
    }
    for pair in [["From", "f"], ["Call-ID", "i"], ["CSeq", "CSeq"]] {
        if let Some(l) = raw_header(datagram, pair).first() {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    if let Some(l) = raw_header(datagram, ["To", "t"]).first() {
        out.push_str(l);
        if !l.contains("tag=") {
            out.push_str(";tag=");
            out.push_str(to_tag);
        }
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(extra: &str) -> Vec<u8> {
        format!(
            "INVITE sip:u@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n\
To: <sip:u@example.com>\r\nFrom: <sip:c@example.net>;tag=1\r\n\
Call-ID: x@y\r\nCSeq: 1 INVITE\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    fn status(d: &[u8]) -> Option<u16> {
        match inspect(d, &UasPolicy::default()) {
            Inspection::Reject { status, .. } => Some(status.as_u16()),
            _ => None,
        }
    }

    #[test]
    fn checks_map_to_statuses() {
        assert!(matches!(
            inspect(&req(""), &UasPolicy::default()),
            Inspection::Request(_)
        ));
        assert_eq!(status(&req("Require: foo\r\n")), Some(420));
        assert_eq!(status(&req("Accept: text/plain\r\n")), Some(406));
        assert_eq!(status(&req("Call-ID: z@y\r\n")), Some(400));
        let mut body = req("Content-Type: application/x\r\nContent-Length: 2\r\n");
        body.extend_from_slice(b"hi");
        assert_eq!(status(&body), Some(415));
        let parsed = Request::parse(&body).unwrap();
        let rej = check_request(&parsed, &UasPolicy::default()).unwrap_err();
        let resp = rej.response(&parsed, "t");
        assert!(
            resp.headers
                .accept()
                .is_some_and(|a| a.iter().any(|m| m.matches("application", "sdp")))
        );
        let bext = Request::parse(&req("Require: foo, bar\r\n")).unwrap();
        let rej = check_request(&bext, &UasPolicy::default()).unwrap_err();
        let resp = rej.response(&bext, "t");
        assert!(
            resp.headers
                .iter()
                .any(|h| *h == Header::Unsupported(vec!["foo".into(), "bar".into()].into()))
        );
        assert_eq!(resp.headers.to().and_then(|t| t.tag()), Some("t"));
        let mut policy = UasPolicy::default();
        policy.extensions.push("foo".into());
        assert!(matches!(
            inspect(&req("Require: foo\r\n"), &policy),
            Inspection::Request(_)
        ));
    }

    #[test]
    fn oversized_request_is_513() {
        let big = req(&format!("X-Pad: {}\r\n", "a".repeat(70_000)));
        assert_eq!(status(&big), Some(513));
    }

    #[test]
    fn raw_error_response_copies_headers() {
        let d = b"INVITE sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
To: Bad, Name <sip:u@example.com>\r\nFrom: <sip:c@e>;tag=1\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n";
        assert_eq!(status(d), Some(400));
        let r = raw_error_response(d, StatusCode::BAD_REQUEST, "t1").unwrap();
        let text = String::from_utf8(r).unwrap();
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n")
        );
        assert!(text.contains("To: Bad, Name <sip:u@example.com>;tag=t1\r\n"));
        assert!(raw_error_response(b"garbage\r\n\r\n", StatusCode::BAD_REQUEST, "t").is_none());
    }
}
