//! Transactions (RFC 3261 §17, with the RFC 6026 Accepted state).
//!
//! [`TransactionLayer`] is a sans-IO state machine: feed it datagrams with
//! [`handle_datagram`](TransactionLayer::handle_datagram), requests and
//! responses from the transaction user (TU), and the time with
//! [`handle_timeout`](TransactionLayer::handle_timeout); drain
//! [`poll_transmit`](TransactionLayer::poll_transmit),
//! [`poll_event`](TransactionLayer::poll_event) and ask
//! [`poll_timeout`](TransactionLayer::poll_timeout) when to call again.
//!
//! A UAS answering OPTIONS:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use callward_sip::transaction::{TimerConfig, TransactionLayer, TxEvent};
//! use callward_sip::validate::UasPolicy;
//! use callward_sip::{Response, StatusCode};
//!
//! let mut layer = TransactionLayer::new(TimerConfig::default(), UasPolicy::default());
//! let now = Instant::now(); // the driver's clock; the layer never reads one
//! let peer = "192.0.2.1:5060".parse().unwrap();
//! let options = b"OPTIONS sip:ivr@192.0.2.9 SIP/2.0\r\n\
//! Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nTo: <sip:ivr@192.0.2.9>\r\n\
//! From: <sip:station-101@192.0.2.1>;tag=a\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
//! layer.handle_datagram(now, peer, options);
//! let Some(TxEvent::Request { tx: Some(tx), request, .. }) = layer.poll_event() else {
//!     panic!("expected a request");
//! };
//! let ok = Response::to_request(&request, StatusCode::OK, Some("our-tag"));
//! layer.respond(now, tx, &ok).unwrap();
//! let out = layer.poll_transmit().unwrap();
//! assert_eq!(out.destination, peer);
//! assert!(out.payload.starts_with(b"SIP/2.0 200 OK\r\n"));
//! // A retransmitted OPTIONS is answered again without bothering the TU.
//! layer.handle_datagram(now + Duration::from_millis(500), peer, options);
//! assert!(layer.poll_event().is_none());
//! assert!(layer.poll_transmit().is_some());
//! // Timer J ends the transaction 64*T1 later.
//! let deadline = layer.poll_timeout().unwrap();
//! layer.handle_timeout(deadline);
//! assert!(layer.is_empty());
//! ```
//!
//! Beyond §17 the layer does two jobs RFC 3261 gives the TU core, because
//! every TU needs them done the same way: it retransmits a UAS's 2xx to
//! INVITE until the ACK arrives (§13.3.1.4), and it answers a UAC's 2xx
//! retransmissions with the ACK the TU sent for that 2xx (§13.2.2.4).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::header::{Header, MAGIC_COOKIE};
use crate::list::List;
use crate::message::{Request, Response, StatusCode};
use crate::method::Method;
use crate::validate::{Inspection, UasPolicy, inspect, raw_error_response};

/// Timer base values (RFC 3261 §17.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip estimate (default 500 ms).
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE (default 4 s).
    pub t2: Duration,
    /// Longest time a message stays in the network (default 5 s).
    pub t4: Duration,
    /// Most transactions kept at once; beyond, new requests get a
    /// stateless 503.
    pub max_transactions: usize,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_transactions: 100_000,
        }
    }
}

/// A transaction handle, unique within one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(u64);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// The datagram.
    pub payload: Vec<u8>,
}

/// What the layer tells the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxEvent {
    /// A new request (retransmissions are absorbed). `tx` is `None` for an
    /// ACK that belongs to no transaction (the end-to-end ACK of a 2xx whose
    /// transaction has ended).
    Request {
        /// The server transaction to answer through.
        tx: Option<TxId>,
        /// Where it came from (responses go back there).
        source: SocketAddr,
        /// The request.
        request: Request,
    },
    /// A CANCEL, in its own server transaction; `invite` is the INVITE
    /// server transaction it cancels, if one matches (answer 481 if not).
    Cancel {
        /// The CANCEL's server transaction.
        tx: TxId,
        /// The cancelled INVITE's server transaction.
        invite: Option<TxId>,
        /// The CANCEL.
        request: Request,
    },
    /// A response for a client transaction; `tx` is `None` for a response
    /// matching none (a stray 2xx retransmission).
    Response {
        /// The client transaction.
        tx: Option<TxId>,
        /// The response.
        response: Response,
    },
    /// Timer B or F fired: treat as 408 Request Timeout.
    Timeout {
        /// The client transaction.
        tx: TxId,
    },
    /// A final response to INVITE was never acknowledged (timer H, or the
    /// 2xx retransmission gave up): the UAS should end the dialog.
    AckTimeout {
        /// The server transaction.
        tx: TxId,
    },
    /// The transaction is gone.
    Terminated {
        /// The transaction.
        tx: TxId,
    },
}

/// Errors from TU calls.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxError {
    /// The request's top Via has no RFC 3261 branch.
    NoBranch,
    /// ACK is not sent in a transaction: use [`TransactionLayer::send_ack`].
    AckNotTransaction,
    /// A transaction with this branch and method already exists.
    Duplicate,
    /// No such transaction.
    Unknown(TxId),
    /// The call does not fit the transaction's kind or state.
    InvalidState(TxId),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBranch => f.write_str("top Via lacks an RFC 3261 branch"),
            Self::AckNotTransaction => f.write_str("ACK is sent outside transactions"),
            Self::Duplicate => f.write_str("transaction already exists"),
            Self::Unknown(t) => write!(f, "no transaction {t}"),
            Self::InvalidState(t) => write!(f, "{t} cannot do that in its state"),
        }
    }
}

impl std::error::Error for TxError {}

/// Kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Client INVITE.
    ClientInvite,
    /// Client non-INVITE.
    ClientNonInvite,
    /// Server INVITE.
    ServerInvite,
    /// Server non-INVITE.
    ServerNonInvite,
}

/// Transaction state (RFC 3261 §17 and RFC 6026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Client INVITE, request sent.
    Calling,
    /// Non-INVITE, request sent or received.
    Trying,
    /// Provisional response seen or sent.
    Proceeding,
    /// Final non-2xx (or non-INVITE final) response seen or sent.
    Completed,
    /// Server INVITE: ACK received.
    Confirmed,
    /// INVITE: 2xx seen or sent (RFC 6026).
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client {
        branch: String,
        method: Method,
    },
    Server {
        branch: String,
        sent_by: String,
        method: Method,
    },
    Rfc2543 {
        id: String,
        method: Method,
    },
    /// The ACK to a 2xx has a branch of its own (§17.1.1.3): it is matched to
    /// the Accepted INVITE by Call-ID, CSeq number and both tags.
    Ack2xx(String),
}

fn ack_key(call_id: &str, seq: u32, from_tag: &str, to_tag: &str) -> Key {
    Key::Ack2xx(format!("{call_id}|{seq}|{from_tag}|{to_tag}"))
}

fn ack_key_of(req: &Request, to_tag: &str) -> Option<Key> {
    let h = &req.headers;
    Some(ack_key(
        h.call_id()?,
        h.cseq()?.seq,
        h.from()?.tag().unwrap_or(""),
        to_tag,
    ))
}

#[derive(Debug)]
struct Tx {
    kind: TxKind,
    state: TxState,
    reliable: bool,
    peer: SocketAddr,
    request: Request,
    request_bytes: Vec<u8>,
    /// Server: last response sent. Client INVITE: ACK for a non-2xx.
    last: Option<Vec<u8>>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    /// B, F, H, L, M (or the 2xx retransmission limit).
    timeout_at: Option<Instant>,
    /// D, K, I, J.
    linger_at: Option<Instant>,
    keys: Vec<Key>,
    /// Server INVITE: To tag of the final response (RFC 2543 ACK matching).
    final_to_tag: Option<String>,
    /// Client INVITE: ACKs sent for 2xx, by To tag.
    acks: Vec<(String, Vec<u8>)>,
    /// Client INVITE: CANCEL waiting for a provisional response.
    pending_cancel: Option<Request>,
}

/// The transaction layer. See the module docs.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    policy: UasPolicy,
    next_id: u64,
    txs: BTreeMap<TxId, Tx>,
    index: HashMap<Key, TxId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
    dropped: u64,
}

fn sent_by_key(req: &Request) -> Option<(String, String)> {
    let via = req.headers.top_via()?;
    let branch = via.branch()?;
    if !branch.starts_with(MAGIC_COOKIE) {
        return None;
    }
    Some((branch.to_owned(), via.sent_by()))
}

fn server_method(m: &Method) -> Method {
    if *m == Method::Ack {
        Method::Invite
    } else {
        m.clone()
    }
}

/// RFC 3261 §17.2.3 matching keys for a received request.
fn server_key(req: &Request) -> Key {
    let method = server_method(&req.method);
    if let Some((branch, sent_by)) = sent_by_key(req) {
        return Key::Server {
            branch,
            sent_by,
            method,
        };
    }
    // RFC 2543: Request-URI, From tag, Call-ID, CSeq number and top Via.
    let h = &req.headers;
    let mut id = req.uri.to_string();
    id.push('|');
    id.push_str(h.from().and_then(|f| f.tag()).unwrap_or(""));
    id.push('|');
    id.push_str(h.call_id().unwrap_or(""));
    id.push('|');
    id.push_str(&h.cseq().map(|c| c.seq).unwrap_or(0).to_string());
    id.push('|');
    if let Some(v) = h.top_via() {
        let mut s = String::new();
        Header::Via(List::one(v.clone())).write(&mut s);
        id.push_str(&s);
    }
    Key::Rfc2543 { id, method }
}

/// A To tag derived from the request, so a stateless answer to its
/// retransmission carries the same tag (FNV-1a of branch and Call-ID).
fn derived_tag(datagram: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in datagram.iter().take(2048) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("sl{h:016x}")
}

impl TransactionLayer {
    /// A layer with the given timers and UAS policy.
    pub fn new(config: TimerConfig, policy: UasPolicy) -> Self {
        Self {
            config,
            policy,
            next_id: 1,
            txs: BTreeMap::new(),
            index: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Datagrams dropped so far (unparseable, or failing checks with no way
    /// to answer).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// State of a transaction, if it is live.
    pub fn state(&self, tx: TxId) -> Option<(TxKind, TxState)> {
        self.txs.get(&tx).map(|t| (t.kind, t.state))
    }

    /// The original request of a live transaction.
    pub fn request(&self, tx: TxId) -> Option<&Request> {
        self.txs.get(&tx).map(|t| &t.request)
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the TU.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.txs
            .values()
            .flat_map(|t| [t.retransmit_at, t.timeout_at, t.linger_at])
            .flatten()
            .min()
    }

    fn alloc(&mut self) -> TxId {
        let id = TxId(self.next_id);
        self.next_id += 1;
        id
    }

    fn send(&mut self, destination: SocketAddr, payload: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination,
            payload,
        });
    }

    fn terminate(&mut self, id: TxId) {
        if let Some(t) = self.txs.remove(&id) {
            for k in &t.keys {
                if self.index.get(k) == Some(&id) {
                    self.index.remove(k);
                }
            }
            self.events.push_back(TxEvent::Terminated { tx: id });
        }
    }

    /// Starts a client transaction for `request` (not ACK) towards
    /// `destination`. The TU has put a top Via with a fresh RFC 3261 branch.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: SocketAddr,
    ) -> Result<TxId, TxError> {
        if request.method == Method::Ack {
            return Err(TxError::AckNotTransaction);
        }
        let via = request.headers.top_via().ok_or(TxError::NoBranch)?;
        let branch = via
            .branch()
            .filter(|b| b.starts_with(MAGIC_COOKIE))
            .ok_or(TxError::NoBranch)?
            .to_owned();
        let reliable = via.transport.is_reliable();
        let key = Key::Client {
            branch,
            method: request.method.clone(),
        };
        if self.index.contains_key(&key) {
            return Err(TxError::Duplicate);
        }
        let invite = request.method == Method::Invite;
        let t1 = self.config.t1;
        let bytes = request.to_bytes();
        let id = self.alloc();
        self.send(destination, bytes.clone());
        self.index.insert(key.clone(), id);
        self.txs.insert(
            id,
            Tx {
                kind: if invite {
                    TxKind::ClientInvite
                } else {
                    TxKind::ClientNonInvite
                },
                state: if invite {
                    TxState::Calling
                } else {
                    TxState::Trying
                },
                reliable,
                peer: destination,
                request,
                request_bytes: bytes,
                last: None,
                retransmit_at: (!reliable).then_some(now + t1),
                interval: t1,
                timeout_at: Some(now + 64 * t1),
                linger_at: None,
                keys: vec![key],
                final_to_tag: None,
                acks: Vec::new(),
                pending_cancel: None,
            },
        );
        Ok(id)
    }

    /// Sends an ACK for a 2xx (end to end, outside any transaction). When
    /// `invite` is the client INVITE transaction, later retransmissions of
    /// that 2xx are answered with this ACK by the layer itself.
    pub fn send_ack(&mut self, invite: Option<TxId>, ack: &Request, destination: SocketAddr) {
        let bytes = ack.to_bytes();
        if let Some(t) = invite.and_then(|i| self.txs.get_mut(&i)) {
            let tag = ack
                .headers
                .to()
                .and_then(|a| a.tag())
                .unwrap_or("")
                .to_owned();
            t.acks.retain(|(k, _)| *k != tag);
            t.acks.push((tag, bytes.clone()));
        }
        self.send(destination, bytes);
    }

    /// Sends a message outside any transaction (stateless).
    pub fn send_stateless(&mut self, destination: SocketAddr, payload: Vec<u8>) {
        self.send(destination, payload);
    }

    /// Cancels a client INVITE (RFC 3261 §9.1). The CANCEL goes out now if a
    /// provisional response has arrived, else as soon as one does; it is
    /// not sent once a final response has arrived.
    pub fn cancel(&mut self, now: Instant, invite: TxId) -> Result<(), TxError> {
        let t = self.txs.get_mut(&invite).ok_or(TxError::Unknown(invite))?;
        if t.kind != TxKind::ClientInvite {
            return Err(TxError::InvalidState(invite));
        }
        let cancel = build_cancel(&t.request);
        match t.state {
            TxState::Calling => {
                t.pending_cancel = Some(cancel);
                Ok(())
            }
            TxState::Proceeding => {
                let dest = t.peer;
                self.send_request(now, cancel, dest).map(|_| ())
            }
            _ => Err(TxError::InvalidState(invite)),
        }
    }

    /// Sends `response` through server transaction `tx`.
    pub fn respond(&mut self, now: Instant, tx: TxId, response: &Response) -> Result<(), TxError> {
        let cfg = self.config;
        let t = self.txs.get_mut(&tx).ok_or(TxError::Unknown(tx))?;
        let bytes = response.to_bytes();
        let status = response.status;
        let mut new_key = None;
        let ok = match (t.kind, t.state) {
            (TxKind::ServerInvite, TxState::Proceeding) => {
                if status.is_provisional() {
                    t.last = Some(bytes.clone());
                } else {
                    t.final_to_tag = response
                        .headers
                        .to()
                        .and_then(|a| a.tag())
                        .map(str::to_owned);
                    t.last = Some(bytes.clone());
                    if status.is_success() {
                        // RFC 6026 Accepted; 2xx retransmission (§13.3.1.4).
                        if let Some(k) =
                            ack_key_of(&t.request, t.final_to_tag.as_deref().unwrap_or(""))
                        {
                            t.keys.push(k.clone());
                            new_key = Some(k);
                        }
                        t.state = TxState::Accepted;
                        // §13.3.1.4 retransmits the 2xx on every transport:
                        // a stateless hop may sit between us and the UAC.
                        t.retransmit_at = Some(now + cfg.t1);
                    } else {
                        t.state = TxState::Completed;
                        t.retransmit_at = (!t.reliable).then_some(now + cfg.t1);
                    }
                    t.interval = cfg.t1;
                    t.timeout_at = Some(now + 64 * cfg.t1);
                }
                true
            }
            // A TU may resend its 2xx (or send a 2xx for another fork).
            (TxKind::ServerInvite, TxState::Accepted) => status.is_success(),
            (TxKind::ServerNonInvite, TxState::Trying | TxState::Proceeding) => {
                t.last = Some(bytes.clone());
                if status.is_provisional() {
                    t.state = TxState::Proceeding;
                } else {
                    t.state = TxState::Completed;
                    t.linger_at = Some(
                        now + if t.reliable {
                            Duration::ZERO
                        } else {
                            64 * cfg.t1
                        },
                    );
                }
                true
            }
            _ => false,
        };
        if !ok {
            return Err(TxError::InvalidState(tx));
        }
        let peer = t.peer;
        if let Some(k) = new_key {
            self.index.insert(k, tx);
        }
        self.send(peer, bytes);
        Ok(())
    }

    /// Advances timers to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TxId> = self
            .txs
            .iter()
            .filter(|(_, t)| {
                [t.retransmit_at, t.timeout_at, t.linger_at]
                    .into_iter()
                    .flatten()
                    .any(|at| at <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.fire(now, id);
        }
    }

    fn fire(&mut self, now: Instant, id: TxId) {
        let cfg = self.config;
        let Some(t) = self.txs.get_mut(&id) else {
            return;
        };
        if t.linger_at.is_some_and(|at| at <= now) {
            // Timers D, I, J, K.
            self.terminate(id);
            return;
        }
        if t.timeout_at.is_some_and(|at| at <= now) {
            let ev = match (t.kind, t.state) {
                (
                    TxKind::ClientInvite | TxKind::ClientNonInvite,
                    TxState::Calling | TxState::Trying | TxState::Proceeding,
                ) => Some(TxEvent::Timeout { tx: id }),
                (TxKind::ServerInvite, TxState::Completed) => Some(TxEvent::AckTimeout { tx: id }),
                // Accepted: timer L / M, or the 2xx was never acknowledged.
                (TxKind::ServerInvite, TxState::Accepted) if t.retransmit_at.is_some() => {
                    Some(TxEvent::AckTimeout { tx: id })
                }
                _ => None,
            };
            if let Some(ev) = ev {
                self.events.push_back(ev);
            }
            self.terminate(id);
            return;
        }
        if t.retransmit_at.is_some_and(|at| at <= now) {
            let (bytes, next) = match (t.kind, t.state) {
                // Timer A doubles without bound.
                (TxKind::ClientInvite, TxState::Calling) => {
                    (t.request_bytes.clone(), t.interval * 2)
                }
                // Timer E: doubling up to T2, T2 once a provisional arrived.
                (TxKind::ClientNonInvite, TxState::Trying) => {
                    (t.request_bytes.clone(), (t.interval * 2).min(cfg.t2))
                }
                (TxKind::ClientNonInvite, TxState::Proceeding) => (t.request_bytes.clone(), cfg.t2),
                // Timer G and the 2xx retransmission: doubling up to T2.
                (TxKind::ServerInvite, TxState::Completed | TxState::Accepted) => (
                    t.last.clone().unwrap_or_default(),
                    (t.interval * 2).min(cfg.t2),
                ),
                _ => {
                    t.retransmit_at = None;
                    return;
                }
            };
            t.interval = next;
            t.retransmit_at = Some(now + next);
            let peer = t.peer;
            if !bytes.is_empty() {
                self.send(peer, bytes);
            }
        }
    }

    /// Feeds one received datagram.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        match inspect(datagram, &self.policy) {
            Inspection::Request(req) => self.on_request(now, source, req),
            Inspection::Response(resp) => self.on_response(now, resp),
            Inspection::Reject { status, .. } => {
                // Never answer an ACK; answer anything else statelessly with
                // a tag derived from the request, so retransmissions get the
                // same answer.
                if datagram.starts_with(b"ACK ") {
                    self.dropped += 1;
                    return;
                }
                match Request::parse(datagram) {
                    Ok(req) if status != StatusCode::BAD_REQUEST => {
                        let rej = crate::validate::check_request(&req, &self.policy);
                        if let Err(rej) = rej {
                            let resp = rej.response(&req, &derived_tag(datagram));
                            self.send(source, resp.to_bytes());
                            return;
                        }
                        self.dropped += 1;
                    }
                    _ => match raw_error_response(datagram, status, &derived_tag(datagram)) {
                        Some(bytes) => self.send(source, bytes),
                        None => self.dropped += 1,
                    },
                }
            }
            _ => self.dropped += 1,
        }
    }

    fn on_request(&mut self, now: Instant, source: SocketAddr, req: Request) {
        let cfg = self.config;
        let mut key = server_key(&req);
        if req.method == Method::Ack
            && !self.index.contains_key(&key)
            && let Some(k) = ack_key_of(&req, req.headers.to().and_then(|a| a.tag()).unwrap_or(""))
            && self.index.contains_key(&k)
        {
            key = k;
        }
        if let Some(&id) = self.index.get(&key)
            && let Some(t) = self.txs.get_mut(&id)
        {
            if req.method == Method::Ack {
                if let Key::Rfc2543 { .. } = key {
                    let ack_tag = req.headers.to().and_then(|a| a.tag());
                    if t.final_to_tag.as_deref() != ack_tag {
                        self.events.push_back(TxEvent::Request {
                            tx: None,
                            source,
                            request: req,
                        });
                        return;
                    }
                }
                match t.state {
                    TxState::Completed => {
                        t.state = TxState::Confirmed;
                        t.retransmit_at = None;
                        t.timeout_at = None;
                        t.linger_at = Some(now + if t.reliable { Duration::ZERO } else { cfg.t4 });
                    }
                    TxState::Accepted => {
                        // The 2xx is acknowledged: stop retransmitting it and
                        // linger (timer L) to absorb INVITE retransmissions.
                        let first = t.retransmit_at.take().is_some();
                        t.timeout_at = Some(now + 64 * cfg.t1);
                        t.linger_at = None;
                        if first {
                            self.events.push_back(TxEvent::Request {
                                tx: Some(id),
                                source,
                                request: req,
                            });
                        }
                    }
                    _ => {}
                }
                return;
            }
            // A retransmission: resend the last response, if any.
            if let Some(last) = t.last.clone()
                && t.state != TxState::Accepted
            {
                let peer = t.peer;
                self.send(peer, last);
            }
            return;
        }
        if req.method == Method::Ack {
            // End-to-end ACK for a 2xx whose transaction is gone.
            self.events.push_back(TxEvent::Request {
                tx: None,
                source,
                request: req,
            });
            return;
        }
        if self.txs.len() >= cfg.max_transactions {
            let resp = Response::to_request(
                &req,
                StatusCode::new(503).unwrap_or(StatusCode::SERVER_ERROR),
                Some("overload"),
            );
            self.send(source, resp.to_bytes());
            return;
        }
        let invite = req.method == Method::Invite;
        let reliable = req
            .headers
            .top_via()
            .is_some_and(|v| v.transport.is_reliable());
        let id = self.alloc();
        let mut last = None;
        if invite {
            // §17.2.1: a 100 Trying at once, so the client stops timer A.
            let trying = Response::to_request(&req, StatusCode::TRYING, None).to_bytes();
            self.send(source, trying.clone());
            last = Some(trying);
        }
        let mut keys = vec![key];
        let cancels = if req.method == Method::Cancel {
            let mut k = server_key(&req);
            match &mut k {
                Key::Server { method, .. } | Key::Rfc2543 { method, .. } => {
                    *method = Method::Invite
                }
                Key::Client { .. } | Key::Ack2xx(_) => {}
            }
            self.index.get(&k).copied()
        } else {
            None
        };
        for k in &keys {
            self.index.insert(k.clone(), id);
        }
        keys.shrink_to_fit();
        self.txs.insert(
            id,
            Tx {
                kind: if invite {
                    TxKind::ServerInvite
                } else {
                    TxKind::ServerNonInvite
                },
                state: if invite {
                    TxState::Proceeding
                } else {
                    TxState::Trying
                },
                reliable,
                peer: source,
                request: req.clone(),
                request_bytes: Vec::new(),
                last,
                retransmit_at: None,
                interval: cfg.t1,
                timeout_at: None,
                linger_at: None,
                keys,
                final_to_tag: None,
                acks: Vec::new(),
                pending_cancel: None,
            },
        );
        if req.method == Method::Cancel {
            self.events.push_back(TxEvent::Cancel {
                tx: id,
                invite: cancels,
                request: req,
            });
        } else {
            self.events.push_back(TxEvent::Request {
                tx: Some(id),
                source,
                request: req,
            });
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        let cfg = self.config;
        let key = match (
            resp.headers.top_via().and_then(|v| v.branch()),
            resp.headers.cseq(),
        ) {
            (Some(b), Some(c)) => Key::Client {
                branch: b.to_owned(),
                method: c.method.clone(),
            },
            _ => {
                self.dropped += 1;
                return;
            }
        };
        let Some(&id) = self.index.get(&key) else {
            self.events.push_back(TxEvent::Response {
                tx: None,
                response: resp,
            });
            return;
        };
        let Some(t) = self.txs.get_mut(&id) else {
            return;
        };
        let status = resp.status;
        let mut pass_up = true;
        let mut send_cancel = None;
        let mut to_send = None;
        match (t.kind, t.state) {
            (TxKind::ClientInvite, TxState::Calling | TxState::Proceeding) => {
                t.retransmit_at = None;
                if status.is_provisional() {
                    t.state = TxState::Proceeding;
                    t.timeout_at = None;
                    send_cancel = t.pending_cancel.take();
                } else if status.is_success() {
                    t.state = TxState::Accepted;
                    t.pending_cancel = None;
                    // Timer M: keep absorbing 2xx retransmissions (RFC 6026).
                    t.timeout_at = Some(now + 64 * cfg.t1);
                } else {
                    t.pending_cancel = None;
                    let ack = build_non2xx_ack(&t.request, &resp).to_bytes();
                    t.last = Some(ack.clone());
                    t.state = TxState::Completed;
                    t.timeout_at = None;
                    t.linger_at = Some(
                        now + if t.reliable {
                            Duration::ZERO
                        } else {
                            Duration::from_secs(32)
                        },
                    );
                    let peer = t.peer;
                    to_send = Some((peer, ack));
                }
            }
            (TxKind::ClientInvite, TxState::Accepted) => {
                if status.is_success() {
                    let tag = resp.headers.to().and_then(|a| a.tag()).unwrap_or("");
                    if let Some((_, ack)) = t.acks.iter().find(|(k, _)| k == tag) {
                        // A 2xx retransmission we already acknowledged.
                        let (peer, ack) = (t.peer, ack.clone());
                        to_send = Some((peer, ack));
                        pass_up = false;
                    }
                } else {
                    pass_up = false;
                }
            }
            (TxKind::ClientInvite, TxState::Completed) => {
                if status.is_final()
                    && let Some(ack) = t.last.clone()
                {
                    let peer = t.peer;
                    to_send = Some((peer, ack));
                }
                pass_up = false;
            }
            (TxKind::ClientNonInvite, TxState::Trying | TxState::Proceeding) => {
                if status.is_provisional() {
                    t.state = TxState::Proceeding;
                } else {
                    t.state = TxState::Completed;
                    t.retransmit_at = None;
                    t.timeout_at = None;
                    t.linger_at = Some(now + if t.reliable { Duration::ZERO } else { cfg.t4 });
                }
            }
            _ => pass_up = false,
        }
        let peer = t.peer;
        if let Some((peer, bytes)) = to_send {
            self.send(peer, bytes);
        }
        if let Some(cancel) = send_cancel {
            // The CANCEL shares the INVITE's branch under another method,
            // so it cannot collide; an error would only mean it is already
            // under way.
            let _ = self.send_request(now, cancel, peer);
        }
        if pass_up {
            self.events.push_back(TxEvent::Response {
                tx: Some(id),
                response: resp,
            });
        }
    }
}

/// CANCEL for `invite` (RFC 3261 §9.1): same Request-URI, Call-ID, To,
/// From, CSeq number, top Via and Route.
pub fn build_cancel(invite: &Request) -> Request {
    let mut c = Request::new(Method::Cancel, invite.uri.clone());
    copy_for_ack_or_cancel(invite, &mut c, None);
    c
}

/// ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
pub fn build_non2xx_ack(invite: &Request, resp: &Response) -> Request {
    let mut a = Request::new(Method::Ack, invite.uri.clone());
    copy_for_ack_or_cancel(invite, &mut a, resp.headers.to());
    a
}

fn copy_for_ack_or_cancel(
    invite: &Request,
    out: &mut Request,
    to: Option<&crate::header::NameAddr>,
) {
    let method = out.method.clone();
    if let Some(v) = invite.headers.top_via() {
        out.headers.push(Header::Via(List::one(v.clone())));
    }
    out.headers.push(Header::MaxForwards(70));
    for h in invite.headers.iter() {
        match h {
            Header::From(_) | Header::CallId(_) | Header::Route(_) => out.headers.push(h.clone()),
            Header::To(a) => out
                .headers
                .push(Header::To(to.cloned().unwrap_or_else(|| a.clone()))),
            Header::CSeq(c) => out.headers.push(Header::CSeq(crate::header::CSeq {
                seq: c.seq,
                method: method.clone(),
            })),
            _ => {}
        }
    }
}
