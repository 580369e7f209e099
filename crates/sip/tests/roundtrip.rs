//! Property tests: parse ∘ serialize is the identity on the message model,
//! and serialize ∘ parse keeps meaning even when the wire form is rewritten
//! the ways RFC 3261 allows (compact names, white space around colons,
//! line folding).

use std::net::{Ipv4Addr, Ipv6Addr};

use callward_sip::header::{Contacts, MediaType};
use callward_sip::sdp::SessionDescription;
use callward_sip::uri::{Host, Param, SipUri, TelUri};
use callward_sip::{
    CSeq, Header, Message, Method, NameAddr, Request, Response, StatusCode, Transport, Uri, Via,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,8}"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,6}[a-z0-9](\\.[a-z][a-z0-9]{0,6}){0,2}"
            .prop_map(|d: String| Host::Domain(d.into())),
        any::<[u8; 4]>().prop_map(|b| Host::V4(Ipv4Addr::from(b))),
        any::<[u16; 8]>().prop_map(|s| Host::V6(Ipv6Addr::new(
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
        ))),
    ]
}

fn uri_param() -> impl Strategy<Value = Param> {
    (
        "[a-z][a-z0-9-]{0,5}",
        proptest::option::of("[a-zA-Z0-9.%2541_-]{1,6}"),
    )
        .prop_filter("escapes must be whole", |(_, v)| {
            v.as_deref()
                .is_none_or(|v| !v.contains('%') || v.contains("%25") || v.contains("%41"))
        })
        .prop_map(|(n, v)| Param {
            name: n.into(),
            value: v.map(Into::into),
        })
}

fn sip_uri() -> impl Strategy<Value = Uri> {
    (
        any::<bool>(),
        proptest::option::of("[a-z0-9_.!~*'()&=+$,;?/-]{1,8}"),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(uri_param(), 0..3),
        proptest::collection::vec(("[a-z]{1,4}", "[a-z0-9]{0,4}"), 0..2),
    )
        .prop_map(|(secure, user, host, port, params, headers)| {
            Uri::Sip(SipUri {
                secure,
                user: user.map(Into::into),
                password: None,
                host,
                port,
                params,
                headers: headers
                    .into_iter()
                    .map(|(n, v)| (n.into(), v.into()))
                    .collect(),
            })
        })
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        4 => sip_uri(),
        1 => ("\\+[0-9]{3,12}", proptest::collection::vec(uri_param(), 0..2))
            .prop_map(|(number, params)| Uri::Tel(TelUri { number: number.into(), params })),
        1 => ("[a-z][a-z0-9+.-]{1,6}", "[a-z0-9:/.@]{1,10}")
            .prop_filter("not a known scheme", |(s, _)| !["sip", "sips", "tel"].contains(&s.as_str()))
            .prop_map(|(scheme, rest)| Uri::Other { scheme: scheme.into(), rest: rest.into() }),
    ]
}

fn header_param() -> impl Strategy<Value = Param> {
    (
        token(),
        proptest::option::of(prop_oneof![
            token(),
            "\"[a-z ,;:<>]{0,6}\"".prop_map(String::from)
        ]),
    )
        .prop_map(|(name, value)| Param {
            name: name.into(),
            value: value.map(Into::into),
        })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of("[ -~]{0,12}"),
        uri(),
        proptest::collection::vec(header_param(), 0..3),
    )
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name: display_name.map(Into::into),
            uri,
            params: params.into(),
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Info),
        "[A-Z][A-Z0-9-]{2,8}".prop_map(|m| Method::parse(&m).unwrap_or(Method::Options)),
    ]
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just(Transport::Udp),
            Just(Transport::Tcp),
            Just(Transport::Tls),
            Just(Transport::Other("FOO".into()))
        ],
        host(),
        proptest::option::of(any::<u16>()),
        "[A-Za-z0-9]{1,10}",
        any::<bool>(),
    )
        .prop_map(|(t, h, p, b, rport)| {
            let mut v = Via::new(t, h, p, &format!("z9hG4bK{b}"));
            if rport {
                v.params.push(Param::flag("rport"));
            }
            v
        })
}

fn media() -> impl Strategy<Value = MediaType> {
    (
        "[a-z]{1,8}",
        "[a-z0-9.+-]{1,8}",
        proptest::collection::vec(header_param(), 0..2),
    )
        .prop_map(|(top, sub, params)| MediaType {
            top: top.into(),
            sub: sub.into(),
            params,
        })
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        proptest::collection::vec(via(), 1..3).prop_map(|v| Header::Via(v.into())),
        name_addr().prop_map(Header::From),
        name_addr().prop_map(Header::To),
        "[A-Za-z0-9.!%*_+-]{1,10}(@[a-z0-9.]{1,8})?".prop_map(|c: String| Header::CallId(c.into())),
        (0u32..(1 << 31), method()).prop_map(|(seq, method)| Header::CSeq(CSeq { seq, method })),
        proptest::collection::vec(name_addr(), 1..3)
            .prop_map(|v| Header::Contact(Contacts::Addresses(v.into()))),
        Just(Header::Contact(Contacts::Wildcard)),
        proptest::collection::vec(name_addr(), 1..3).prop_map(|v| Header::Route(v.into())),
        proptest::collection::vec(name_addr(), 1..3).prop_map(|v| Header::RecordRoute(v.into())),
        any::<u8>().prop_map(Header::MaxForwards),
        media().prop_map(Header::ContentType),
        proptest::collection::vec(token(), 0..3)
            .prop_map(|v| Header::Require(v.into_iter().map(Into::into).collect())),
        proptest::collection::vec(token(), 0..3)
            .prop_map(|v| Header::Supported(v.into_iter().map(Into::into).collect())),
        proptest::collection::vec(method(), 1..3).prop_map(Header::Allow),
        proptest::collection::vec(media(), 0..3).prop_map(Header::Accept),
        any::<u32>().prop_map(Header::Expires),
        ("X-[A-Za-z0-9-]{1,8}", "([!-~]([ -~]{0,15}[!-~])?)?").prop_map(|(name, value)| {
            Header::Other {
                name: name.into(),
                value: value.into(),
            }
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let headers = || proptest::collection::vec(header(), 0..8);
    let body = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (method(), uri(), headers(), body()).prop_map(|(method, uri, mut h, body)| {
            h.push(Header::ContentLength(
                u32::try_from(body.len()).unwrap_or(0),
            ));
            Message::Request(Request {
                method,
                uri,
                headers: h.into(),
                body,
            })
        }),
        (100u16..700, "([!-~][ -~]{0,10})?", headers(), body()).prop_map(
            |(code, reason, mut h, body)| {
                h.push(Header::ContentLength(
                    u32::try_from(body.len()).unwrap_or(0),
                ));
                Message::Response(Response {
                    status: StatusCode::new(code).unwrap_or(StatusCode::OK),
                    reason,
                    headers: h.into(),
                    body,
                })
            }
        ),
    ]
}

/// Rewrites a serialised message in ways that keep its meaning: compact
/// header names, white space before and after the colon, folding after a
/// list comma outside quotes.
fn noisy(bytes: &[u8], seed: u64) -> Vec<u8> {
    let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return bytes.to_vec();
    };
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut out = String::new();
    let mut lines = head.split("\r\n");
    out.push_str(lines.next().unwrap_or(""));
    out.push_str("\r\n");
    for (i, line) in lines.enumerate() {
        let r = seed.rotate_left(u32::try_from(i % 64).unwrap_or(0));
        let Some((name, value)) = line.split_once(": ") else {
            out.push_str(line);
            out.push_str("\r\n");
            continue;
        };
        let compact = match name {
            "Via" => "v",
            "From" => "f",
            "To" => "t",
            "Call-ID" => "i",
            "Contact" => "m",
            "Content-Type" => "c",
            "Content-Length" => "l",
            "Supported" => "k",
            other => other,
        };
        out.push_str(if r & 1 == 1 { compact } else { name });
        out.push_str(if r & 2 == 2 { " \t: " } else { ":" });
        let foldable = matches!(
            name,
            "Via" | "Contact" | "Route" | "Record-Route" | "Require" | "Supported" | "Allow"
        );
        if r & 4 == 4 && foldable {
            let mut in_quote = false;
            let mut in_angle = false;
            let mut escaped = false;
            for c in value.chars() {
                out.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' if in_quote => escaped = true,
                    '"' if !in_angle => in_quote = !in_quote,
                    '<' if !in_quote => in_angle = true,
                    '>' if !in_quote => in_angle = false,
                    ',' if !in_quote && !in_angle => out.push_str("\r\n  "),
                    _ => {}
                }
            }
        } else {
            out.push_str(value);
        }
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut v = out.into_bytes();
    v.extend_from_slice(&bytes[split + 4..]);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_serialize_is_identity(m in message()) {
        let bytes = m.to_bytes();
        let parsed = Message::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&m), "wire:\n{}", String::from_utf8_lossy(&bytes));
        let framed = callward_sip::message::frame_stream(&bytes);
        prop_assert_eq!(framed, Ok(Some(bytes.len())));
    }

    #[test]
    fn rewritten_wire_form_keeps_meaning(m in message(), seed in any::<u64>()) {
        let bytes = noisy(&m.to_bytes(), seed);
        let parsed = Message::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&m), "wire:\n{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let v = callward_sip::lint::lint(&data).to_string();
        prop_assert!(v == "accept" || v.starts_with("reject "));
        let _ = SessionDescription::parse(&data);
    }

    #[test]
    fn sdp_round_trip(port in 1u16.., pts in proptest::collection::vec(0u8..128, 1..5), v6 in any::<bool>(), ptime in proptest::option::of(10u32..200)) {
        let addr = if v6 { "2001:db8::5" } else { "192.0.2.5" };
        let at = if v6 { "IP6" } else { "IP4" };
        let mut text = format!("v=0\r\no=- 1 2 IN {at} {addr}\r\ns=-\r\nc=IN {at} {addr}\r\nt=0 0\r\nm=audio {port} RTP/AVP");
        for pt in &pts {
            text.push_str(&format!(" {pt}"));
        }
        text.push_str("\r\n");
        for pt in &pts {
            text.push_str(&format!("a=rtpmap:{pt} X{pt}/8000\r\n"));
        }
        if let Some(p) = ptime {
            text.push_str(&format!("a=ptime:{p}\r\n"));
        }
        text.push_str("a=sendrecv\r\n");
        let sd = SessionDescription::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sd.to_string(), text);
        prop_assert_eq!(sd.media[0].ptime(), ptime);
        prop_assert_eq!(sd.media[0].rtpmaps().len(), pts.len());
    }
}
