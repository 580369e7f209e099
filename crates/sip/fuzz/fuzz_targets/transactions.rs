//! Arbitrary datagrams and clock steps into a transaction layer that has
//! client INVITE and OPTIONS transactions open and answers every request
//! it is given. Invariants: no panic, and timers never stay due after
//! `handle_timeout` (no busy loop).
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callward_sip::transaction::{TimerConfig, TransactionLayer, TxEvent};
use callward_sip::validate::UasPolicy;
use callward_sip::{Message, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;

const INVITE: &[u8] = b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzzinv\r\n\
Max-Forwards: 70\r\nTo: <sip:bob@192.0.2.2>\r\nFrom: <sip:alice@192.0.2.1>;tag=a1\r\nCall-ID: fuzz-call\r\n\
CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
const OPTIONS: &[u8] = b"OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzzopt\r\n\
Max-Forwards: 70\r\nTo: <sip:bob@192.0.2.2>\r\nFrom: <sip:alice@192.0.2.1>;tag=a2\r\nCall-ID: fuzz-opt\r\n\
CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let peer: SocketAddr = "192.0.2.2:5060".parse().expect("constant address");
    let mut now = Instant::now();
    let mut layer = TransactionLayer::new(TimerConfig::default(), UasPolicy::default());
    let invite = Request::parse(INVITE).expect("constant INVITE parses");
    let options = Request::parse(OPTIONS).expect("constant OPTIONS parses");
    let inv_tx = layer.send_request(now, invite, peer).expect("fresh layer");
    layer.send_request(now, options, peer).expect("fresh layer");
    for (i, chunk) in data.split(|&b| b == 0xff).enumerate() {
        let Some((&op, rest)) = chunk.split_first() else { continue };
        match op % 4 {
            0 | 1 => layer.handle_datagram(now, peer, rest),
            2 => {
                now += Duration::from_millis(u64::from(op) * 37);
                layer.handle_timeout(now);
                if let Some(t) = layer.poll_timeout() {
                    assert!(t > now, "a timer stayed due after handle_timeout");
                }
            }
            _ => {
                let _ = layer.cancel(now, inv_tx);
            }
        }
        while let Some(ev) = layer.poll_event() {
            if let TxEvent::Request { tx: Some(tx), request, .. } = ev {
                let code = [180u16, 200, 486, 100][i % 4];
                let status = StatusCode::new(code).expect("constant codes are valid");
                let resp = Response::to_request(&request, status, Some("fz"));
                let _ = layer.respond(now, tx, &resp);
            } else if let TxEvent::Cancel { tx, request, .. } = ev {
                let resp = Response::to_request(&request, StatusCode::OK, Some("fz"));
                let _ = layer.respond(now, tx, &resp);
            }
        }
        while let Some(t) = layer.poll_transmit() {
            // Whatever the layer sends from a parsed message parses again.
            let _ = Message::parse(&t.payload);
        }
    }
    // Far future: every timer that exists fires without panicking.
    now += Duration::from_secs(3600);
    layer.handle_timeout(now);
    if let Some(t) = layer.poll_timeout() {
        assert!(t > now);
    }
});
