//! Dialogs (RFC 3261 §12–15): creation from 1xx-with-tag and 2xx, route
//! sets, CSeq bookkeeping, in-dialog requests and their checks, and the set
//! of early dialogs a forked INVITE creates.
//!
//! Plain data plus functions: the TU keeps its dialogs and feeds them what
//! the [`TransactionLayer`](crate::transaction::TransactionLayer) delivers.

use std::fmt;

use crate::header::{CSeq, Contacts, Header, NameAddr, Via};
use crate::list::List;
use crate::message::{Request, Response, StatusCode};
use crate::method::Method;
use crate::text::Text;
use crate::uri::Uri;

/// Identifies a dialog: Call-ID and both tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog a request received by us belongs to.
    pub fn of_incoming(req: &Request) -> Option<Self> {
        Some(Self {
            call_id: req.headers.call_id()?.to_owned(),
            local_tag: req.headers.to()?.tag()?.to_owned(),
            remote_tag: req.headers.from()?.tag()?.to_owned(),
        })
    }

    /// The id of the dialog a response to our request belongs to.
    pub fn of_response(resp: &Response) -> Option<Self> {
        Some(Self {
            call_id: resp.headers.call_id()?.to_owned(),
            local_tag: resp.headers.from()?.tag()?.to_owned(),
            remote_tag: resp.headers.to()?.tag()?.to_owned(),
        })
    }
}

/// Dialog state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// We sent BYE; waiting for its answer.
    Terminating,
    /// Ended.
    Terminated,
}

/// Why an in-dialog request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// CSeq lower than the last one seen: 500.
    CSeqOutOfOrder,
    /// A re-INVITE while ours is pending: 491.
    RequestPending,
    /// A re-INVITE while the peer's previous one is unanswered: 500
    /// (with Retry-After, RFC 3261 §14.2).
    InviteInProgress,
    /// Request not for this dialog, or the dialog has ended: 481.
    NoDialog,
}

impl DialogError {
    /// The status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::CSeqOutOfOrder | Self::InviteInProgress => StatusCode::SERVER_ERROR,
            Self::RequestPending => StatusCode::REQUEST_PENDING,
            Self::NoDialog => StatusCode::NO_TRANSACTION,
        }
    }
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CSeqOutOfOrder => "CSeq lower than the last one",
            Self::RequestPending => "our re-INVITE is pending",
            Self::InviteInProgress => "previous re-INVITE unanswered",
            Self::NoDialog => "no such dialog",
        })
    }
}

impl std::error::Error for DialogError {}

/// One dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Id.
    pub id: DialogId,
    /// State.
    pub state: DialogState,
    /// Our CSeq (last used).
    pub local_seq: u32,
    /// The peer's last CSeq, if any request came yet.
    pub remote_seq: Option<u32>,
    /// Our address (From of our requests), without tag.
    pub local_uri: NameAddr,
    /// The peer's address (To of our requests), without tag.
    pub remote_uri: NameAddr,
    /// Where requests go (the peer's Contact).
    pub remote_target: Uri,
    /// Our Contact.
    pub local_target: Uri,
    /// Route set, in the order our requests carry it.
    pub route_set: Vec<NameAddr>,
    /// Whether we sent the request that created the dialog.
    pub is_uac: bool,
    /// CSeq of our INVITE / re-INVITE awaiting a final response.
    pub pending_local_invite: Option<u32>,
    /// CSeq of the peer's re-INVITE we have not answered finally.
    pub pending_remote_invite: Option<u32>,
}

fn without_tag(a: &NameAddr) -> NameAddr {
    let mut a = a.clone();
    a.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
    a
}

fn first_contact(h: &crate::message::Headers) -> Option<Uri> {
    h.contacts().next().map(|c| c.uri.clone())
}

impl Dialog {
    /// The dialog a response to our INVITE creates (1xx with a To tag, or
    /// 2xx). `None` for 100, tagless or non-dialog responses.
    pub fn uac(request: &Request, response: &Response) -> Option<Self> {
        let status = response.status;
        if status.as_u16() == 100 || status.as_u16() >= 300 {
            return None;
        }
        let id = DialogId::of_response(response)?;
        let mut route_set: Vec<NameAddr> = response.headers.record_routes().cloned().collect();
        route_set.reverse();
        Some(Self {
            id,
            state: if status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_seq: request.headers.cseq()?.seq,
            remote_seq: None,
            local_uri: without_tag(request.headers.from()?),
            remote_uri: without_tag(response.headers.to()?),
            remote_target: first_contact(&response.headers).unwrap_or_else(|| request.uri.clone()),
            local_target: first_contact(&request.headers).unwrap_or_else(|| request.uri.clone()),
            route_set,
            is_uac: true,
            pending_local_invite: (!status.is_success()).then_some(request.headers.cseq()?.seq),
            pending_remote_invite: None,
        })
    }

    /// The dialog we create by answering `request` with a 1xx/2xx carrying
    /// `local_tag`; `local_target` is our Contact.
    pub fn uas(
        request: &Request,
        local_tag: &str,
        local_target: Uri,
        confirmed: bool,
    ) -> Option<Self> {
        let from = request.headers.from()?;
        Some(Self {
            id: DialogId {
                call_id: request.headers.call_id()?.to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: from.tag()?.to_owned(),
            },
            state: if confirmed {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_seq: 0,
            remote_seq: Some(request.headers.cseq()?.seq),
            local_uri: without_tag(request.headers.to()?),
            remote_uri: without_tag(from),
            remote_target: first_contact(&request.headers)?,
            local_target,
            route_set: request.headers.record_routes().cloned().collect(),
            is_uac: false,
            pending_local_invite: None,
            pending_remote_invite: (!confirmed).then_some(request.headers.cseq()?.seq),
        })
    }

    /// Builds an in-dialog request (RFC 3261 §12.2.1.1). CSeq advances
    /// except for ACK and CANCEL; `via` carries the fresh branch.
    pub fn create_request(&mut self, method: Method, via: Via) -> Request {
        if !matches!(method, Method::Ack | Method::Cancel) {
            self.local_seq = self.local_seq.wrapping_add(1) & 0x7fff_ffff;
        }
        let seq = self.local_seq;
        self.build(method, seq, via)
    }

    /// The ACK for our (re-)INVITE's 2xx with CSeq `invite_seq`.
    pub fn create_ack(&self, invite_seq: u32, via: Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    fn build(&self, method: Method, seq: u32, via: Via) -> Request {
        // Loose routing when the first route has `lr`; strict otherwise
        // (RFC 3261 §12.2.1.1): the first route becomes the Request-URI and
        // the remote target goes last in Route.
        let (uri, routes) = match self.route_set.split_first() {
            Some((first, rest)) if first.uri.as_sip().is_none_or(|s| s.param("lr").is_none()) => {
                let mut routes = rest.to_vec();
                routes.push(NameAddr::new(self.remote_target.clone()));
                (first.uri.clone(), routes)
            }
            _ => (self.remote_target.clone(), self.route_set.clone()),
        };
        let mut req = Request::new(method, uri);
        let method = req.method.clone();
        req.headers.push(Header::Via(List::one(via)));
        req.headers.push(Header::MaxForwards(70));
        if !routes.is_empty() {
            req.headers.push(Header::Route(routes.into()));
        }
        let mut from = self.local_uri.clone();
        from.set_tag(&self.id.local_tag);
        let mut to = self.remote_uri.clone();
        to.set_tag(&self.id.remote_tag);
        req.headers.push(Header::From(from));
        req.headers.push(Header::To(to));
        req.headers
            .push(Header::CallId(Text::from(self.id.call_id.as_str())));
        req.headers.push(Header::CSeq(CSeq {
            seq,
            method: method.clone(),
        }));
        if matches!(method, Method::Invite | Method::Update) {
            req.headers
                .push(Header::Contact(Contacts::Addresses(List::one(
                    NameAddr::new(self.local_target.clone()),
                ))));
        }
        req
    }

    /// Marks our (re-)INVITE with CSeq `seq` as sent (for 491 glare).
    pub fn invite_sent(&mut self, seq: u32) {
        self.pending_local_invite = Some(seq);
    }

    /// Checks and records a request the peer sent in this dialog (RFC 3261
    /// §12.2.2): CSeq order, re-INVITE glare, target refresh, BYE.
    pub fn on_request(&mut self, req: &Request) -> Result<(), DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::NoDialog);
        }
        let seq = req.headers.cseq().ok_or(DialogError::NoDialog)?.seq;
        if matches!(req.method, Method::Ack | Method::Cancel) {
            if req.method == Method::Ack && self.pending_remote_invite.is_none() {
                self.state = match self.state {
                    DialogState::Early => DialogState::Confirmed,
                    s => s,
                };
            }
            return Ok(());
        }
        if let Some(last) = self.remote_seq
            && seq <= last
        {
            return Err(DialogError::CSeqOutOfOrder);
        }
        if req.method == Method::Invite {
            if self.pending_local_invite.is_some() {
                self.remote_seq = Some(seq);
                return Err(DialogError::RequestPending);
            }
            if self.pending_remote_invite.is_some() {
                self.remote_seq = Some(seq);
                return Err(DialogError::InviteInProgress);
            }
            self.pending_remote_invite = Some(seq);
            if let Some(c) = first_contact(&req.headers) {
                self.remote_target = c;
            }
        }
        self.remote_seq = Some(seq);
        if req.method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Records our final answer to the peer's (re-)INVITE.
    pub fn answered_invite(&mut self, status: StatusCode) {
        if status.is_final() {
            self.pending_remote_invite = None;
            if status.is_success() && self.state == DialogState::Early {
                self.state = DialogState::Confirmed;
            }
        }
    }

    /// Records a response to a request we sent in this dialog.
    pub fn on_response(&mut self, resp: &Response) {
        let Some(cseq) = resp.headers.cseq() else {
            return;
        };
        let status = resp.status;
        match cseq.method {
            Method::Invite => {
                if status.is_success() {
                    if let Some(c) = first_contact(&resp.headers) {
                        self.remote_target = c;
                    }
                    if self.state == DialogState::Early {
                        self.state = DialogState::Confirmed;
                    }
                }
                if status.is_final() && self.pending_local_invite == Some(cseq.seq) {
                    self.pending_local_invite = None;
                }
                // A failed initial INVITE ends an early dialog.
                if status.as_u16() >= 300 && self.state == DialogState::Early {
                    self.state = DialogState::Terminated;
                }
            }
            Method::Bye if status.is_final() => self.state = DialogState::Terminated,
            _ => {
                // 481 and 408 to an in-dialog request end the dialog (§12.2.1.2).
                if matches!(status.as_u16(), 481 | 408) {
                    self.state = DialogState::Terminated;
                }
            }
        }
    }

    /// Marks a BYE as sent.
    pub fn bye_sent(&mut self) {
        if self.state != DialogState::Terminated {
            self.state = DialogState::Terminating;
        }
    }
}

/// The dialogs one INVITE of ours creates: one per To tag when a proxy
/// forks it (RFC 3261 §12.1.2, §13.2.2.4).
#[derive(Debug, Clone, Default)]
pub struct DialogSet {
    dialogs: Vec<Dialog>,
}

/// What a response to our INVITE did to the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkOutcome {
    /// A new early dialog.
    NewEarly,
    /// A new dialog confirmed directly by a 2xx (ACK it; BYE it if
    /// another branch already answered).
    NewConfirmed,
    /// An early dialog confirmed.
    Confirmed,
    /// Nothing new (retransmission, provisional on a known dialog).
    Unchanged,
    /// No dialog (100, tagless 1xx, error response).
    None,
}

impl DialogSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dialogs.
    pub fn dialogs(&self) -> &[Dialog] {
        &self.dialogs
    }

    /// A dialog by the peer's tag.
    pub fn get_mut(&mut self, remote_tag: &str) -> Option<&mut Dialog> {
        self.dialogs
            .iter_mut()
            .find(|d| d.id.remote_tag == remote_tag)
    }

    /// Applies a response to our INVITE `request`.
    pub fn on_response(&mut self, request: &Request, response: &Response) -> ForkOutcome {
        let tag = response.headers.to().and_then(|a| a.tag());
        if let Some(d) = tag.and_then(|t| self.dialogs.iter_mut().find(|d| d.id.remote_tag == t)) {
            let before = d.state;
            d.on_response(response);
            return if before == DialogState::Early && d.state == DialogState::Confirmed {
                ForkOutcome::Confirmed
            } else {
                ForkOutcome::Unchanged
            };
        }
        if response.status.as_u16() >= 300 {
            for d in &mut self.dialogs {
                d.on_response(response);
            }
            return ForkOutcome::None;
        }
        match Dialog::uac(request, response) {
            Some(d) => {
                let out = if d.state == DialogState::Confirmed {
                    ForkOutcome::NewConfirmed
                } else {
                    ForkOutcome::NewEarly
                };
                self.dialogs.push(d);
                out
            }
            None => ForkOutcome::None,
        }
    }

    /// Number of confirmed dialogs.
    pub fn confirmed(&self) -> usize {
        self.dialogs
            .iter()
            .filter(|d| d.state == DialogState::Confirmed)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Transport;
    use crate::uri::Host;

    fn invite() -> Request {
        Request::parse(
            b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9\r\nMax-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\nCSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
    }

    fn via(b: &str) -> Via {
        Via::new(
            Transport::Udp,
            Host::Domain("h.example.com".into()),
            None,
            b,
        )
    }

    #[test]
    fn uac_and_uas_views_agree() {
        let req = invite();
        let mut ok = Response::to_request(&req, StatusCode::OK, Some("8321234356"));
        ok.headers
            .push(Header::Contact(Contacts::Addresses(List::one(
                NameAddr::new(Uri::parse("sip:bob@192.0.2.4").unwrap()),
            ))));
        for h in req.headers.iter() {
            if let Header::RecordRoute(_) = h {
                ok.headers.push(h.clone());
            }
        }
        let mut uac = Dialog::uac(&req, &ok).unwrap();
        let mut uas = Dialog::uas(
            &req,
            "8321234356",
            Uri::parse("sip:bob@192.0.2.4").unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(uac.id.local_tag, uas.id.remote_tag);
        assert_eq!(uac.id.remote_tag, uas.id.local_tag);
        // UAC reverses the Record-Route; UAS keeps it.
        assert_eq!(uac.route_set[0].uri.to_string(), "sip:p1.example.com;lr");
        assert_eq!(uas.route_set[0].uri.to_string(), "sip:p2.example.com;lr");
        let bye = uac.create_request(Method::Bye, via("z9hG4bKb1"));
        assert_eq!(bye.headers.cseq().map(|c| c.seq), Some(2));
        assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4");
        assert_eq!(bye.headers.routes().count(), 2);
        assert_eq!(DialogId::of_incoming(&bye), Some(uas.id.clone()));
        assert_eq!(uas.on_request(&bye), Ok(()));
        assert_eq!(uas.state, DialogState::Terminated);
        assert_eq!(uas.on_request(&bye), Err(DialogError::NoDialog));
    }

    #[test]
    fn cseq_order_and_glare() {
        let req = invite();
        let mut uas =
            Dialog::uas(&req, "t", Uri::parse("sip:bob@192.0.2.4").unwrap(), true).unwrap();
        let mut uac = Dialog::uac(&req, &{
            let mut r = Response::to_request(&req, StatusCode::OK, Some("t"));
            r.headers
                .push(Header::Contact(Contacts::Addresses(List::one(
                    NameAddr::new(Uri::parse("sip:bob@192.0.2.4").unwrap()),
                ))));
            r
        })
        .unwrap();
        let info = uac.create_request(Method::Info, via("z9hG4bK1"));
        assert_eq!(uas.on_request(&info), Ok(()));
        assert_eq!(uas.on_request(&info), Err(DialogError::CSeqOutOfOrder));
        assert_eq!(DialogError::CSeqOutOfOrder.status().as_u16(), 500);
        // Both sides re-INVITE at once: each answers the other 491.
        let reinv_uas = uas.create_request(Method::Invite, via("z9hG4bK2"));
        uas.invite_sent(reinv_uas.headers.cseq().map_or(0, |c| c.seq));
        let reinv_uac = uac.create_request(Method::Invite, via("z9hG4bK3"));
        assert_eq!(uas.on_request(&reinv_uac), Err(DialogError::RequestPending));
        assert_eq!(DialogError::RequestPending.status().as_u16(), 491);
    }

    #[test]
    fn strict_route_puts_target_last() {
        let req = invite();
        let mut d = Dialog::uas(&req, "t", Uri::parse("sip:bob@192.0.2.4").unwrap(), true).unwrap();
        d.route_set = vec![NameAddr::new(Uri::parse("sip:strict.example.com").unwrap())];
        let r = d.create_request(Method::Bye, via("z9hG4bKs"));
        assert_eq!(r.uri.to_string(), "sip:strict.example.com");
        let last = r.headers.routes().last().map(|a| a.uri.to_string());
        assert_eq!(
            last.as_deref(),
            Some("sip:alice@client.atlanta.example.com;transport=udp")
        );
    }
}
