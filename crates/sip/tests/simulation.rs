//! Deterministic simulations: sans-IO endpoints exchanging datagrams over a
//! virtual network on a virtual clock. Nothing sleeps; a 32-second timer B
//! runs in microseconds. The network can drop, delay, duplicate and fork
//! datagrams so each RFC 3261 transaction and dialog path is exercised.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callward_sip::dialog::{Dialog, DialogSet, DialogState, ForkOutcome};
use callward_sip::header::{Contacts, Header, NameAddr, Transport, Via};
use callward_sip::transaction::{TimerConfig, TransactionLayer, TxEvent, TxId, TxKind, TxState};
use callward_sip::uri::{Host, SipUri};
use callward_sip::validate::UasPolicy;
use callward_sip::{CSeq, List, Method, Request, Response, StatusCode, Uri};

const LATENCY: Duration = Duration::from_millis(10);

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, last], 5060))
}

struct Ua {
    name: &'static str,
    addr: SocketAddr,
    layer: TransactionLayer,
    counter: u64,
    events: Vec<TxEvent>,
    transport: Transport,
}

impl Ua {
    fn new(name: &'static str, last: u8) -> Self {
        Self {
            name,
            addr: addr(last),
            layer: TransactionLayer::new(TimerConfig::default(), UasPolicy::default()),
            counter: 0,
            events: Vec::new(),
            transport: Transport::Udp,
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}-{}-{}", self.name, self.counter)
    }

    fn via(&mut self) -> Via {
        let branch = format!("z9hG4bK{}", self.fresh("b"));
        let std::net::IpAddr::V4(ip) = self.addr.ip() else {
            unreachable!("test addresses are IPv4")
        };
        Via::new(
            self.transport.clone(),
            Host::V4(ip),
            Some(self.addr.port()),
            &branch,
        )
    }

    fn contact(&self) -> Uri {
        let std::net::IpAddr::V4(ip) = self.addr.ip() else {
            unreachable!("test addresses are IPv4")
        };
        let mut u = SipUri::new(Some(self.name), Host::V4(ip));
        u.port = Some(self.addr.port());
        Uri::Sip(u)
    }

    fn request(&mut self, method: Method, to: SocketAddr) -> Request {
        let std::net::IpAddr::V4(ip) = to.ip() else {
            unreachable!("test addresses are IPv4")
        };
        let target = Uri::Sip(SipUri::new(Some("peer"), Host::V4(ip)));
        let mut r = Request::new(method.clone(), target.clone());
        let via = self.via();
        let mut from = NameAddr::new(self.contact());
        from.set_tag(&self.fresh("tag"));
        let call_id = self.fresh("call");
        r.headers.push(Header::Via(List::one(via)));
        r.headers.push(Header::MaxForwards(70));
        r.headers.push(Header::From(from));
        r.headers.push(Header::To(NameAddr::new(target)));
        r.headers.push(Header::CallId(call_id.into()));
        r.headers.push(Header::CSeq(CSeq { seq: 1, method }));
        r.headers
            .push(Header::Contact(Contacts::Addresses(List::one(
                NameAddr::new(self.contact()),
            ))));
        r
    }

    fn answer(&self, req: &Request, status: u16, tag: &str) -> Response {
        let mut r = Response::to_request(
            req,
            StatusCode::new(status).unwrap_or(StatusCode::OK),
            Some(tag),
        );
        if status < 300 && status != 100 {
            r.headers
                .push(Header::Contact(Contacts::Addresses(List::one(
                    NameAddr::new(self.contact()),
                ))));
        }
        r
    }

    fn take(&mut self) -> Vec<TxEvent> {
        std::mem::take(&mut self.events)
    }
}

struct Packet {
    from: SocketAddr,
    to: SocketAddr,
    payload: Vec<u8>,
}

impl Packet {
    fn first_line(&self) -> String {
        let end = self
            .payload
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(self.payload.len());
        String::from_utf8_lossy(&self.payload[..end]).into_owned()
    }
}

/// What the network does with one datagram: deliveries as (to, delay).
type Rule = Box<dyn FnMut(&Packet) -> Vec<(SocketAddr, Duration)>>;

struct Sim {
    start: Instant,
    now: Instant,
    uas: Vec<Ua>,
    in_flight: Vec<(Instant, u64, Packet)>,
    seq: u64,
    rule: Rule,
    /// (time since start, from, to, first line) of every datagram sent.
    wire: Vec<(Duration, SocketAddr, SocketAddr, String)>,
}

impl Sim {
    #[allow(clippy::disallowed_methods, reason = "only the virtual clock's origin")]
    fn new(uas: Vec<Ua>) -> Self {
        // The one place a real clock is read: the virtual clock's origin.
        let start = Instant::now();
        Self {
            start,
            now: start,
            uas,
            in_flight: Vec::new(),
            seq: 0,
            rule: Box::new(|p| vec![(p.to, LATENCY)]),
            wire: Vec::new(),
        }
    }

    fn ua(&mut self, i: usize) -> &mut Ua {
        &mut self.uas[i]
    }

    fn flush(&mut self) {
        for i in 0..self.uas.len() {
            while let Some(t) = self.uas[i].layer.poll_transmit() {
                let p = Packet {
                    from: self.uas[i].addr,
                    to: t.destination,
                    payload: t.payload,
                };
                self.wire
                    .push((self.now - self.start, p.from, p.to, p.first_line()));
                for (to, delay) in (self.rule)(&p) {
                    self.seq += 1;
                    self.in_flight.push((
                        self.now + delay,
                        self.seq,
                        Packet {
                            from: p.from,
                            to,
                            payload: p.payload.clone(),
                        },
                    ));
                }
            }
            while let Some(e) = self.uas[i].layer.poll_event() {
                self.uas[i].events.push(e);
            }
        }
    }

    /// Runs the network and timers until `now + d`.
    fn run(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.flush();
            let next_packet = self.in_flight.iter().map(|(at, s, _)| (*at, *s)).min();
            let next_timer = self.uas.iter().filter_map(|u| u.layer.poll_timeout()).min();
            let next = match (next_packet.map(|p| p.0), next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = next.max(self.now);
            if let Some((_, s)) = next_packet.filter(|(at, _)| *at <= self.now) {
                let idx = self
                    .in_flight
                    .iter()
                    .position(|(_, q, _)| *q == s)
                    .unwrap_or(0);
                let (_, _, p) = self.in_flight.remove(idx);
                if let Some(u) = self.uas.iter_mut().find(|u| u.addr == p.to) {
                    u.layer.handle_datagram(self.now, p.from, &p.payload);
                }
            } else {
                let now = self.now;
                for u in &mut self.uas {
                    if u.layer.poll_timeout().is_some_and(|t| t <= now) {
                        u.layer.handle_timeout(now);
                    }
                }
            }
        }
        self.now = until;
        self.flush();
    }

    fn count(&self, from: SocketAddr, prefix: &str) -> usize {
        self.wire
            .iter()
            .filter(|(_, f, _, l)| *f == from && l.starts_with(prefix))
            .count()
    }

    fn times(&self, from: SocketAddr, prefix: &str) -> Vec<Duration> {
        self.wire
            .iter()
            .filter(|(_, f, _, l)| *f == from && l.starts_with(prefix))
            .map(|(t, ..)| *t)
            .collect()
    }
}

fn requests(events: &[TxEvent], method: &Method) -> Vec<(Option<TxId>, Request)> {
    events
        .iter()
        .filter_map(|e| match e {
            TxEvent::Request { tx, request, .. } if request.method == *method => {
                Some((*tx, request.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Responses the TU saw, 100 Trying left out (it is passed up as RFC 3261
/// requires, but no scenario acts on it).
fn responses(events: &[TxEvent]) -> Vec<(Option<TxId>, Response)> {
    events
        .iter()
        .filter_map(|e| match e {
            TxEvent::Response { tx, response } if response.status != StatusCode::TRYING => {
                Some((*tx, response.clone()))
            }
            _ => None,
        })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn non_invite_transaction_both_sides() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let req = sim.ua(0).request(Method::Options, b);
    let now = sim.now;
    let tx = sim.ua(0).layer.send_request(now, req, b).unwrap();
    sim.run(ms(20));
    let got = requests(&sim.ua(1).take(), &Method::Options);
    assert_eq!(got.len(), 1);
    let (Some(stx), r) = got[0].clone() else {
        panic!("OPTIONS not in a transaction")
    };
    assert_eq!(
        sim.ua(1).layer.state(stx),
        Some((TxKind::ServerNonInvite, TxState::Trying))
    );
    let ok = sim.ua(1).answer(&r, 200, "bt");
    let now = sim.now;
    sim.ua(1).layer.respond(now, stx, &ok).unwrap();
    assert_eq!(
        sim.ua(1).layer.state(stx),
        Some((TxKind::ServerNonInvite, TxState::Completed))
    );
    sim.run(ms(20));
    let resp = responses(&sim.ua(0).take());
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0].0, Some(tx));
    assert_eq!(
        sim.ua(0).layer.state(tx),
        Some((TxKind::ClientNonInvite, TxState::Completed))
    );
    // Answered inside T1: no retransmission on the wire.
    assert_eq!(sim.count(a, "OPTIONS"), 1);
    // Timer K (T4) ends the client, timer J (64*T1) the server.
    sim.run(Duration::from_secs(5));
    assert_eq!(sim.ua(0).layer.state(tx), None);
    assert!(sim.ua(1).layer.state(stx).is_some());
    sim.run(Duration::from_secs(28));
    assert!(sim.ua(1).layer.is_empty());
    assert!(sim.ua(0).layer.is_empty());
}

#[test]
fn invite_retransmits_until_timer_b() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    sim.rule = Box::new(|_| Vec::new()); // the peer is unreachable
    let req = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let tx = sim.ua(0).layer.send_request(now, req, b).unwrap();
    sim.run(Duration::from_secs(40));
    // Timer A doubles from T1: sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    let want: Vec<Duration> = [0, 500, 1500, 3500, 7500, 15500, 31500]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(sim.times(a, "INVITE"), want);
    let ev = sim.ua(0).take();
    assert!(ev.contains(&TxEvent::Timeout { tx }), "{ev:?}");
    assert!(sim.ua(0).layer.is_empty());
}

#[test]
fn non_invite_retransmits_capped_at_t2_until_timer_f() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    sim.rule = Box::new(|_| Vec::new());
    let req = sim.ua(0).request(Method::Options, b);
    let now = sim.now;
    let tx = sim.ua(0).layer.send_request(now, req, b).unwrap();
    sim.run(Duration::from_secs(40));
    let want: Vec<Duration> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(sim.times(a, "OPTIONS"), want);
    assert!(sim.ua(0).take().contains(&TxEvent::Timeout { tx }));
}

/// INVITE, 180, 200 and the ACK: returns the sim (dialog confirmed on
/// both sides), the client tx and both dialogs.
fn establish(mut sim: Sim) -> (Sim, TxId, Dialog, Dialog) {
    let b = addr(2);
    let inv = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let ctx = sim.ua(0).layer.send_request(now, inv.clone(), b).unwrap();
    sim.run(ms(20));
    let got = requests(&sim.ua(1).take(), &Method::Invite);
    assert_eq!(got.len(), 1);
    let (Some(stx), r) = got[0].clone() else {
        panic!()
    };
    let now = sim.now;
    let ringing = sim.ua(1).answer(&r, 180, "bt");
    sim.ua(1).layer.respond(now, stx, &ringing).unwrap();
    let ok = sim.ua(1).answer(&r, 200, "bt");
    sim.ua(1).layer.respond(now, stx, &ok).unwrap();
    let contact = sim.ua(1).contact();
    let uas = Dialog::uas(&r, "bt", contact, true).unwrap();
    sim.run(ms(20));
    let resp = responses(&sim.ua(0).take());
    let statuses: Vec<u16> = resp.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(statuses, [180, 200]);
    let mut set = DialogSet::new();
    assert_eq!(set.on_response(&inv, &resp[0].1), ForkOutcome::NewEarly);
    assert_eq!(set.on_response(&inv, &resp[1].1), ForkOutcome::Confirmed);
    let uac = set.dialogs()[0].clone();
    let via = sim.ua(0).via();
    let ack = uac.create_ack(1, via);
    sim.ua(0).layer.send_ack(Some(ctx), &ack, b);
    (sim, ctx, uac, uas)
}

#[test]
fn two_xx_retransmitted_until_ack_and_lost_ack_recovered() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    // Lose the first two ACKs.
    let mut lost = 0;
    sim.rule = Box::new(move |p| {
        if p.first_line().starts_with("ACK") && lost < 2 {
            lost += 1;
            return Vec::new();
        }
        vec![(p.to, LATENCY)]
    });
    let (mut sim, _ctx, uac, _uas) = establish(sim);
    sim.run(Duration::from_secs(5));
    // 200 at 0 (relative), +0.5, +1.5: the third copy's ACK gets through.
    assert_eq!(sim.count(b, "SIP/2.0 200"), 3);
    assert_eq!(sim.count(a, "ACK"), 3);
    // The UAS TU sees exactly one ACK, and no ACK timeout.
    let ev = sim.ua(1).take();
    assert_eq!(requests(&ev, &Method::Ack).len(), 1);
    assert!(!ev.iter().any(|e| matches!(e, TxEvent::AckTimeout { .. })));
    // The UAC TU saw the 200 once: retransmissions were answered by the layer.
    assert!(responses(&sim.ua(0).take()).is_empty());
    assert_eq!(uac.state, DialogState::Confirmed);
}

#[test]
fn ack_never_arrives_gives_ack_timeout() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let b = addr(2);
    sim.rule = Box::new(|p| {
        if p.first_line().starts_with("ACK") {
            Vec::new()
        } else {
            vec![(p.to, LATENCY)]
        }
    });
    let (mut sim, ..) = establish(sim);
    sim.run(Duration::from_secs(40));
    // 2xx retransmission doubles up to T2 for 64*T1.
    let times = sim.times(b, "SIP/2.0 200");
    let first = times[0];
    let rel: Vec<Duration> = times.iter().map(|t| *t - first).collect();
    let want: Vec<Duration> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(rel, want);
    assert!(
        sim.ua(1)
            .take()
            .iter()
            .any(|e| matches!(e, TxEvent::AckTimeout { .. }))
    );
}

#[test]
fn non_2xx_final_is_acked_in_the_transaction_and_retransmitted_on_loss() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let mut lost = false;
    sim.rule = Box::new(move |p| {
        if p.first_line().starts_with("ACK") && !lost {
            lost = true;
            return Vec::new();
        }
        vec![(p.to, LATENCY)]
    });
    let inv = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let ctx = sim.ua(0).layer.send_request(now, inv, b).unwrap();
    sim.run(ms(20));
    let (Some(stx), r) = requests(&sim.ua(1).take(), &Method::Invite)[0].clone() else {
        panic!()
    };
    let busy = sim.ua(1).answer(&r, 486, "bt");
    let now = sim.now;
    sim.ua(1).layer.respond(now, stx, &busy).unwrap();
    sim.run(Duration::from_secs(2));
    // Timer G resent the 486 once the first ACK was lost; the layer re-ACKed.
    assert_eq!(sim.count(b, "SIP/2.0 486"), 2);
    assert_eq!(sim.count(a, "ACK"), 2);
    assert_eq!(
        sim.ua(1).layer.state(stx),
        Some((TxKind::ServerInvite, TxState::Confirmed))
    );
    // The UAC TU saw the 486 once; the UAS TU never sees the in-transaction ACK.
    assert_eq!(responses(&sim.ua(0).take()).len(), 1);
    assert!(requests(&sim.ua(1).take(), &Method::Ack).is_empty());
    assert_eq!(
        sim.ua(0).layer.state(ctx),
        Some((TxKind::ClientInvite, TxState::Completed))
    );
    sim.run(Duration::from_secs(40));
    assert!(sim.ua(0).layer.is_empty() && sim.ua(1).layer.is_empty());
}

#[test]
fn duplicate_and_late_requests_are_absorbed() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let b = addr(2);
    // Every INVITE is delivered twice, the copy 3 s late.
    sim.rule = Box::new(|p| {
        if p.first_line().starts_with("INVITE") {
            vec![(p.to, LATENCY), (p.to, Duration::from_secs(3))]
        } else {
            vec![(p.to, LATENCY)]
        }
    });
    let (mut sim, ..) = establish(sim);
    sim.run(Duration::from_secs(5));
    // The late copy hit the Accepted server transaction: absorbed.
    assert!(requests(&sim.ua(1).take(), &Method::Invite).is_empty());
    // A late non-INVITE retransmission gets the stored final response again.
    sim.rule = Box::new(|p| {
        if p.first_line().starts_with("OPTIONS") {
            vec![(p.to, LATENCY), (p.to, Duration::from_secs(2))]
        } else {
            vec![(p.to, LATENCY)]
        }
    });
    let req = sim.ua(0).request(Method::Options, b);
    let now = sim.now;
    sim.ua(0).layer.send_request(now, req, b).unwrap();
    sim.run(ms(20));
    let (Some(stx), r) = requests(&sim.ua(1).take(), &Method::Options)[0].clone() else {
        panic!()
    };
    let ok = sim.ua(1).answer(&r, 200, "x");
    let now = sim.now;
    sim.ua(1).layer.respond(now, stx, &ok).unwrap();
    sim.run(Duration::from_secs(3));
    assert!(requests(&sim.ua(1).take(), &Method::Options).is_empty());
    assert_eq!(
        sim.count(b, "SIP/2.0 200"),
        2 + 1,
        "INVITE 200 + OPTIONS 200 twice"
    );
    // The duplicate response is absorbed by the completed client transaction.
    assert_eq!(responses(&sim.ua(0).take()).len(), 1);
}

#[test]
fn cancel_crossing_the_200() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let inv = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let ctx = sim.ua(0).layer.send_request(now, inv.clone(), b).unwrap();
    sim.run(ms(20));
    let (Some(stx), r) = requests(&sim.ua(1).take(), &Method::Invite)[0].clone() else {
        panic!()
    };
    let now = sim.now;
    let ringing = sim.ua(1).answer(&r, 180, "bt");
    sim.ua(1).layer.respond(now, stx, &ringing).unwrap();
    sim.run(ms(20));
    assert_eq!(responses(&sim.ua(0).take())[0].1.status.as_u16(), 180);
    // Both act at the same instant: A cancels, B answers 200.
    let now = sim.now;
    sim.ua(0).layer.cancel(now, ctx).unwrap();
    let ok = sim.ua(1).answer(&r, 200, "bt");
    sim.ua(1).layer.respond(now, stx, &ok).unwrap();
    sim.run(ms(20));
    // B: the CANCEL matched the answered INVITE; it is answered 200 and
    // changes nothing (RFC 3261 §9.2).
    let ev = sim.ua(1).take();
    let Some(TxEvent::Cancel {
        tx: ctx_b,
        invite,
        request,
    }) = ev
        .iter()
        .find(|e| matches!(e, TxEvent::Cancel { .. }))
        .cloned()
    else {
        panic!("no CANCEL event: {ev:?}")
    };
    assert_eq!(invite, Some(stx));
    assert_eq!(
        sim.ua(1).layer.state(stx),
        Some((TxKind::ServerInvite, TxState::Accepted))
    );
    let ok_cancel = sim.ua(1).answer(&request, 200, "bt");
    let now = sim.now;
    sim.ua(1).layer.respond(now, ctx_b, &ok_cancel).unwrap();
    // A: the 200 to INVITE arrived; a dialog exists; ACK it, then BYE.
    let resp = responses(&sim.ua(0).take());
    let ok_inv = resp
        .iter()
        .find(|(_, r)| r.headers.cseq().is_some_and(|c| c.method == Method::Invite))
        .cloned();
    let (_, ok_inv) = ok_inv.expect("200 to INVITE");
    assert_eq!(ok_inv.status, StatusCode::OK);
    let mut d = Dialog::uac(&inv, &ok_inv).unwrap();
    let via = sim.ua(0).via();
    let ack = d.create_ack(1, via);
    sim.ua(0).layer.send_ack(Some(ctx), &ack, b);
    let via = sim.ua(0).via();
    let bye = d.create_request(Method::Bye, via);
    d.bye_sent();
    let now = sim.now;
    sim.ua(0).layer.send_request(now, bye, b).unwrap();
    sim.run(ms(50));
    assert_eq!(sim.count(a, "CANCEL"), 1);
    assert_eq!(
        sim.count(b, "SIP/2.0 487"),
        0,
        "no 487 once the 200 has gone"
    );
    let ev = sim.ua(1).take();
    assert_eq!(requests(&ev, &Method::Ack).len(), 1);
    assert_eq!(requests(&ev, &Method::Bye).len(), 1);
    let a_resp = responses(&sim.ua(0).take());
    assert!(a_resp.iter().any(|(_, r)| r.status == StatusCode::OK
        && r.headers.cseq().is_some_and(|c| c.method == Method::Cancel)));
}

#[test]
fn cancel_before_answer_gets_487() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let inv = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let ctx = sim.ua(0).layer.send_request(now, inv, b).unwrap();
    // Cancel before any provisional: held until the 100 arrives.
    sim.ua(0).layer.cancel(now, ctx).unwrap();
    assert_eq!(sim.count(a, "CANCEL"), 0);
    sim.run(ms(50));
    assert_eq!(sim.count(a, "CANCEL"), 1);
    let ev = sim.ua(1).take();
    let (Some(stx), r) = requests(&ev, &Method::Invite)[0].clone() else {
        panic!()
    };
    let Some(TxEvent::Cancel {
        tx,
        invite: Some(inv_tx),
        request,
    }) = ev
        .iter()
        .find(|e| matches!(e, TxEvent::Cancel { .. }))
        .cloned()
    else {
        panic!("no CANCEL")
    };
    assert_eq!(inv_tx, stx);
    let now = sim.now;
    let ok = sim.ua(1).answer(&request, 200, "bt");
    sim.ua(1).layer.respond(now, tx, &ok).unwrap();
    let term = sim.ua(1).answer(&r, 487, "bt");
    sim.ua(1).layer.respond(now, stx, &term).unwrap();
    sim.run(ms(50));
    let statuses: Vec<(u16, String)> = responses(&sim.ua(0).take())
        .iter()
        .map(|(_, r)| {
            (
                r.status.as_u16(),
                r.headers
                    .cseq()
                    .map(|c| c.method.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert!(statuses.contains(&(200, "CANCEL".into())));
    assert!(statuses.contains(&(487, "INVITE".into())));
    assert_eq!(sim.count(a, "ACK"), 1, "487 is ACKed by the transaction");
}

#[test]
fn bye_crossing_bye() {
    let sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (mut sim, _ctx, mut uac, mut uas) = establish(sim);
    let (a, b) = (addr(1), addr(2));
    sim.run(ms(50));
    sim.ua(1).take();
    // Both hang up at the same instant.
    let now = sim.now;
    let via = sim.ua(0).via();
    let bye_a = uac.create_request(Method::Bye, via);
    uac.bye_sent();
    sim.ua(0).layer.send_request(now, bye_a, b).unwrap();
    let via = sim.ua(1).via();
    let bye_b = uas.create_request(Method::Bye, via);
    uas.bye_sent();
    sim.ua(1).layer.send_request(now, bye_b, a).unwrap();
    sim.run(ms(20));
    // Each receives the other's BYE for a dialog it is ending: 200.
    for (i, d) in [(0usize, &mut uac), (1, &mut uas)] {
        let got = requests(&sim.ua(i).take(), &Method::Bye);
        assert_eq!(got.len(), 1);
        let (Some(tx), r) = got[0].clone() else {
            panic!()
        };
        assert_eq!(d.on_request(&r), Ok(()));
        assert_eq!(d.state, DialogState::Terminated);
        let ok = sim.ua(i).answer(&r, 200, "x");
        let now = sim.now;
        sim.ua(i).layer.respond(now, tx, &ok).unwrap();
    }
    sim.run(ms(20));
    for (i, d) in [(0usize, &mut uac), (1, &mut uas)] {
        let resp = responses(&sim.ua(i).take());
        assert_eq!(resp.len(), 1);
        assert_eq!(resp[0].1.status, StatusCode::OK);
        d.on_response(&resp[0].1);
        assert_eq!(d.state, DialogState::Terminated);
    }
    sim.run(Duration::from_secs(40));
    assert!(sim.ua(0).layer.is_empty() && sim.ua(1).layer.is_empty());
}

#[test]
fn forked_invite_two_early_dialogs_second_200_is_acked_and_ended() {
    // A proxy at .9 forks A's INVITE to B and C.
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2), Ua::new("c", 3)]);
    let (a, proxy) = (addr(1), addr(9));
    sim.rule = Box::new(move |p| {
        if p.to == proxy {
            vec![(addr(2), LATENCY), (addr(3), LATENCY)]
        } else {
            vec![(p.to, LATENCY)]
        }
    });
    let inv = sim.ua(0).request(Method::Invite, proxy);
    let now = sim.now;
    let ctx = sim
        .ua(0)
        .layer
        .send_request(now, inv.clone(), proxy)
        .unwrap();
    sim.run(ms(20));
    let mut server = Vec::new();
    for (i, tag) in [(1usize, "tag-b"), (2, "tag-c")] {
        let (Some(stx), r) = requests(&sim.ua(i).take(), &Method::Invite)[0].clone() else {
            panic!()
        };
        let now = sim.now;
        let ringing = sim.ua(i).answer(&r, 180, tag);
        sim.ua(i).layer.respond(now, stx, &ringing).unwrap();
        server.push((stx, r));
    }
    sim.run(ms(20));
    let mut set = DialogSet::new();
    let outcomes: Vec<ForkOutcome> = responses(&sim.ua(0).take())
        .iter()
        .map(|(_, r)| set.on_response(&inv, r))
        .collect();
    assert_eq!(outcomes, [ForkOutcome::NewEarly, ForkOutcome::NewEarly]);
    assert_eq!(set.dialogs().len(), 2, "two early dialogs, one per To tag");
    // Both answer.
    for (i, tag) in [(1usize, "tag-b"), (2, "tag-c")] {
        let (stx, r) = server[i - 1].clone();
        let ok = sim.ua(i).answer(&r, 200, tag);
        let now = sim.now;
        sim.ua(i).layer.respond(now, stx, &ok).unwrap();
    }
    sim.run(ms(20));
    let oks = responses(&sim.ua(0).take());
    assert_eq!(oks.len(), 2, "both 2xx reach the TU: {oks:?}");
    let mut keep = None;
    for (_, r) in &oks {
        assert_eq!(set.on_response(&inv, r), ForkOutcome::Confirmed);
        let tag = r
            .headers
            .to()
            .and_then(|t| t.tag())
            .unwrap_or_default()
            .to_owned();
        let via = sim.ua(0).via();
        let d = set.get_mut(&tag).unwrap();
        let ack = d.create_ack(1, via);
        sim.ua(0).layer.send_ack(Some(ctx), &ack, proxy);
        if keep.is_none() {
            keep = Some(tag);
        } else {
            // RFC 3261 §13.2.2.4: keep one, BYE the others.
            let via = sim.ua(0).via();
            let bye = d.create_request(Method::Bye, via);
            d.bye_sent();
            let now = sim.now;
            sim.ua(0).layer.send_request(now, bye, addr(3)).unwrap();
        }
    }
    assert_eq!(set.confirmed(), 1);
    sim.run(ms(50));
    assert_eq!(sim.count(a, "ACK"), 2);
    assert_eq!(requests(&sim.ua(2).take(), &Method::Bye).len(), 1);
    assert!(requests(&sim.ua(1).take(), &Method::Bye).is_empty());
}

#[test]
fn thirty_second_call_without_session_refresh() {
    let sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (mut sim, _ctx, mut uac, mut uas) = establish(sim);
    let (a, b) = (addr(1), addr(2));
    sim.run(ms(100));
    let wire_after_ack = sim.wire.len();
    sim.run(Duration::from_secs(30));
    assert_eq!(
        sim.wire.len(),
        wire_after_ack,
        "nothing on the wire during the call"
    );
    assert_eq!(uac.state, DialogState::Confirmed);
    assert_eq!(uas.state, DialogState::Confirmed);
    // In-dialog INFO and OPTIONS, then a refused and an accepted re-INVITE.
    for m in [Method::Info, Method::Options] {
        let via = sim.ua(0).via();
        let req = uac.create_request(m.clone(), via);
        let now = sim.now;
        sim.ua(0).layer.send_request(now, req, b).unwrap();
        sim.run(ms(20));
        let (Some(tx), r) = requests(&sim.ua(1).take(), &m)[0].clone() else {
            panic!()
        };
        assert_eq!(uas.on_request(&r), Ok(()));
        let ok = sim.ua(1).answer(&r, 200, "bt");
        let now = sim.now;
        sim.ua(1).layer.respond(now, tx, &ok).unwrap();
        sim.run(ms(20));
        assert_eq!(responses(&sim.ua(0).take())[0].1.status, StatusCode::OK);
    }
    for status in [488u16, 200] {
        let via = sim.ua(0).via();
        let reinv = uac.create_request(Method::Invite, via);
        let seq = reinv.headers.cseq().map_or(0, |c| c.seq);
        uac.invite_sent(seq);
        let now = sim.now;
        let ctx = sim.ua(0).layer.send_request(now, reinv, b).unwrap();
        sim.run(ms(20));
        let (Some(tx), r) = requests(&sim.ua(1).take(), &Method::Invite)[0].clone() else {
            panic!()
        };
        assert_eq!(uas.on_request(&r), Ok(()));
        let resp = sim.ua(1).answer(&r, status, "bt");
        let now = sim.now;
        sim.ua(1).layer.respond(now, tx, &resp).unwrap();
        uas.answered_invite(resp.status);
        sim.run(ms(20));
        let got = responses(&sim.ua(0).take());
        assert_eq!(got[0].1.status.as_u16(), status);
        uac.on_response(&got[0].1);
        assert_eq!(uac.pending_local_invite, None);
        assert_eq!(
            uac.state,
            DialogState::Confirmed,
            "a refused re-INVITE keeps the dialog"
        );
        if status == 200 {
            let via = sim.ua(0).via();
            let ack = uac.create_ack(seq, via);
            sim.ua(0).layer.send_ack(Some(ctx), &ack, b);
        }
    }
    assert_eq!(
        uac.local_seq, 5,
        "INVITE 1, INFO 2, OPTIONS 3, re-INVITEs 4 and 5"
    );
    // Hang up.
    let via = sim.ua(0).via();
    let bye = uac.create_request(Method::Bye, via);
    uac.bye_sent();
    let now = sim.now;
    sim.ua(0).layer.send_request(now, bye, b).unwrap();
    sim.run(ms(20));
    let (Some(tx), r) = requests(&sim.ua(1).take(), &Method::Bye)[0].clone() else {
        panic!()
    };
    assert_eq!(uas.on_request(&r), Ok(()));
    let ok = sim.ua(1).answer(&r, 200, "bt");
    let now = sim.now;
    sim.ua(1).layer.respond(now, tx, &ok).unwrap();
    sim.run(ms(20));
    uac.on_response(&responses(&sim.ua(0).take())[0].1);
    assert_eq!(uac.state, DialogState::Terminated);
    assert_eq!(uas.state, DialogState::Terminated);
    assert_eq!(sim.count(a, "BYE"), 1);
    sim.run(Duration::from_secs(40));
    assert!(
        sim.ua(0).layer.is_empty() && sim.ua(1).layer.is_empty(),
        "every transaction ends"
    );
}

#[test]
fn rfc2543_requests_without_magic_cookie_match() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let inv = b"INVITE sip:UserB@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\
From: <sip:old@192.0.2.1>;tag=old1\r\nTo: <sip:UserB@192.0.2.2>\r\nCall-ID: 2543@192.0.2.1\r\n\
CSeq: 56 INVITE\r\nContent-Length: 0\r\n\r\n";
    let now = sim.now;
    sim.ua(1).layer.handle_datagram(now, a, inv);
    sim.ua(1).layer.handle_datagram(now + ms(500), a, inv);
    sim.flush();
    let got = requests(&sim.ua(1).take(), &Method::Invite);
    assert_eq!(
        got.len(),
        1,
        "the retransmission matched the RFC 2543 transaction"
    );
    let (Some(stx), r) = got[0].clone() else {
        panic!()
    };
    let now = sim.now;
    let busy = sim.ua(1).answer(&r, 486, "b2543");
    sim.ua(1).layer.respond(now, stx, &busy).unwrap();
    let ack = b"ACK sip:UserB@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\
From: <sip:old@192.0.2.1>;tag=old1\r\nTo: <sip:UserB@192.0.2.2>;tag=b2543\r\nCall-ID: 2543@192.0.2.1\r\n\
CSeq: 56 ACK\r\nContent-Length: 0\r\n\r\n";
    sim.ua(1).layer.handle_datagram(now, a, ack);
    assert_eq!(
        sim.ua(1).layer.state(stx),
        Some((TxKind::ServerInvite, TxState::Confirmed))
    );
    sim.flush();
    assert!(requests(&sim.ua(1).take(), &Method::Ack).is_empty());
    assert_eq!(
        sim.count(b, "SIP/2.0 100"),
        2,
        "the retransmitted INVITE got the 100 again"
    );
}

#[test]
fn malformed_requests_get_stateless_answers_and_garbage_is_dropped() {
    let mut sim = Sim::new(vec![Ua::new("a", 1), Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    let now = sim.now;
    let bad = b"OPTIONS sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbad\r\n\
To: Bad, Name <sip:x@192.0.2.2>\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nCall-ID: bad\r\nCSeq: 1 OPTIONS\r\n\r\n";
    sim.ua(1).layer.handle_datagram(now, a, bad);
    let ext = b"OPTIONS sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKext\r\n\
To: <sip:x@192.0.2.2>\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nCall-ID: ext\r\nCSeq: 1 OPTIONS\r\nRequire: 100rel\r\n\r\n";
    sim.ua(1).layer.handle_datagram(now, a, ext);
    sim.ua(1).layer.handle_datagram(now, a, b"\x00\x01garbage");
    sim.flush();
    assert_eq!(sim.count(b, "SIP/2.0 400"), 1);
    assert_eq!(sim.count(b, "SIP/2.0 420"), 1);
    assert_eq!(sim.ua(1).layer.dropped(), 1);
    assert!(
        sim.ua(1).take().is_empty(),
        "the TU never sees invalid requests"
    );
}

#[test]
fn reliable_transport_no_request_retransmission_but_2xx_until_ack() {
    let mut a_ua = Ua::new("a", 1);
    a_ua.transport = Transport::Tcp;
    let mut sim = Sim::new(vec![a_ua, Ua::new("b", 2)]);
    let (a, b) = (addr(1), addr(2));
    // Nothing reaches B: over TCP the client never retransmits, timer B
    // still ends the transaction.
    sim.rule = Box::new(|_| Vec::new());
    let req = sim.ua(0).request(Method::Invite, b);
    let now = sim.now;
    let tx = sim.ua(0).layer.send_request(now, req, b).unwrap();
    sim.run(Duration::from_secs(40));
    assert_eq!(sim.count(a, "INVITE"), 1);
    assert!(sim.ua(0).take().contains(&TxEvent::Timeout { tx }));
    // Now B answers 200 but the ACKs are lost: the 2xx is still
    // retransmitted (RFC 3261 §13.3.1.4 applies on every transport).
    sim.rule = Box::new(|p| {
        if p.first_line().starts_with("ACK") {
            Vec::new()
        } else {
            vec![(p.to, LATENCY)]
        }
    });
    let (mut sim, ..) = establish(sim);
    sim.run(Duration::from_secs(4));
    assert!(
        sim.count(b, "SIP/2.0 200") >= 3,
        "2xx retransmitted over TCP"
    );
    assert_eq!(sim.count(a, "INVITE"), 2, "the second INVITE was sent once");
}
