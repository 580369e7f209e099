//! One call's task: the station's dialog, the outbound leg, their media and
//! the call flow, all owned here and driven from one loop.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use callward_core::callflow::{
    Action, CallFlow, CallId, CallSetup, Digit as FlowDigit, HangupCause, Leg, Outbound, PinCheck,
    Prompt,
};
use callward_core::cdr::CallDetailRecord;
use callward_core::{Capture, E164Number, Language, OpenCall, PersonId};
use callward_media::{
    Bridge, DtmfMode, G711, InfoDtmfError, PlayoutEvent, PromptPlayer, Ptime, RecordingTap,
    RelayConfig, RtpPacket, RtpSender, SenderConfig, TapConfig, TelephoneEventConfig,
    TelephoneEventReceiver, parse_dtmf_info,
};
use callward_sip::dialog::Dialog;
use callward_sip::sdp::{self, Codec, LocalMedia, Negotiated, SessionDescription};
use callward_sip::transaction::{TransactionLayer, TxEvent, TxId};
use callward_sip::uri::{Host, SipUri, Uri};
use callward_sip::validate::UasPolicy;
use callward_sip::{
    CSeq, Contacts, Header, MediaType, Method, NameAddr, Request, Response, StatusCode, Text,
    Transport, Via,
};
use jiff::Timestamp;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::live::LiveEntry;
use crate::recording::Recorder;
use crate::services::{AuthorizeRequest, CallServices, StationInfo};
use crate::{ActiveClaim, Inbound, Shared, ids, sleep_until};

const RTP_BUF: usize = 2048;

/// One leg's media once offer/answer is done.
#[derive(Debug)]
struct Media {
    remote: Option<SocketAddr>,
    sender: RtpSender,
    player: PromptPlayer,
    dtmf: Option<TelephoneEventReceiver>,
    event_pt: Option<u8>,
}

impl Media {
    fn new(n: &Negotiated) -> Self {
        let codec = match n.codec {
            Codec::Pcmu => G711::Pcmu,
            Codec::Pcma => G711::Pcma,
        };
        let ptime = n
            .ptime
            .and_then(|p| Ptime::from_millis(p).ok())
            .unwrap_or(Ptime::MS20);
        let r = ids::next_u64();
        Self {
            remote: n.remote,
            sender: RtpSender::new(SenderConfig {
                ssrc: r as u32,
                initial_sequence: (r >> 32) as u16,
                initial_timestamp: (r >> 16) as u32,
                codec,
                ptime,
                event_payload_type: n.telephone_event,
            }),
            player: PromptPlayer::new(),
            dtmf: n
                .telephone_event
                .map(|pt| TelephoneEventReceiver::new(TelephoneEventConfig::new(pt))),
            event_pt: n.telephone_event,
        }
    }
}

#[derive(Debug)]
struct StationLeg {
    rtp: Arc<UdpSocket>,
    media: Media,
    sip: SocketAddr,
    dialog: Option<Dialog>,
    invite_tx: TxId,
}

#[derive(Debug)]
struct OutsideLeg {
    rtp: Arc<UdpSocket>,
    media: Option<Media>,
    offer: SessionDescription,
    invite_tx: Option<TxId>,
    dialog: Option<Dialog>,
    /// A final response to the INVITE arrived.
    final_seen: bool,
    /// The flow asked to cancel: a 2xx that crosses is ACKed and BYEd.
    cancelled: bool,
}

/// What woke the loop.
enum Wake {
    Sip(Option<Inbound>),
    Rtp(Leg, io::Result<(usize, SocketAddr)>),
    Timer,
    /// The switch is stopping.
    Stop,
}

pub(crate) struct Call<S> {
    shared: Arc<Shared>,
    services: Arc<S>,
    id: String,
    sip_call_id: String,
    out_call_id: String,
    rx: mpsc::Receiver<Inbound>,
    layer: TransactionLayer,
    offered_at: Timestamp,
    flow: Option<CallFlow>,
    info: Option<StationInfo>,
    person: Option<PersonId>,
    station: Option<StationLeg>,
    outside: Option<OutsideLeg>,
    bridge: Option<Bridge>,
    recorder: Option<Recorder>,
    /// Listed for live monitoring while the recording runs.
    live: Option<LiveEntry>,
    recording_id: Option<String>,
    /// Answers when the closed recording is synced to disk.
    recording_synced: Option<oneshot::Receiver<io::Result<u64>>>,
    /// The journal entry, from authorisation to the record.
    open: Option<OpenCall>,
    /// When the journal entry is next refreshed (while bridged).
    journal_due: Option<Instant>,
    pending: HashSet<TxId>,
    finished_at: Option<Instant>,
    /// The INVITE was refused: nothing more to do once it is sent.
    refused: bool,
    /// This call counted for its person (from an allowed authorisation).
    claim: Option<ActiveClaim>,
    /// Changes to `true` when the switch stops.
    stop: watch::Receiver<bool>,
    stopping: bool,
}

/// Bound on how long a finished call waits for its recording to be synced
/// before storing its record.
const RECORDING_SYNC_WAIT: Duration = Duration::from_secs(5);
/// How often a bridged call's journal entry is refreshed: after a crash, at
/// most this much talk time goes unbilled (never overbilled).
const JOURNAL_EVERY: Duration = Duration::from_secs(5);
/// Bound on how long a finished call waits for its BYEs to be answered.
const LINGER: Duration = Duration::from_secs(8);

fn flow_digit(d: callward_media::Digit) -> Option<FlowDigit> {
    FlowDigit::from_char(d.as_char())
}

fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(v4) => Host::V4(v4),
        IpAddr::V6(v6) => Host::V6(v6),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::new(code).unwrap_or(StatusCode::SERVER_ERROR)
}

impl<S: CallServices> Call<S> {
    pub(crate) async fn start(
        shared: Arc<Shared>,
        services: Arc<S>,
        id: String,
        sip_call_id: String,
        out_call_id: String,
        rx: mpsc::Receiver<Inbound>,
    ) {
        let layer = TransactionLayer::new(shared.config.sip_timers, UasPolicy::default());
        let stop = shared.stopping.clone();
        let call = Self {
            shared,
            services,
            id,
            sip_call_id,
            out_call_id,
            rx,
            layer,
            offered_at: Timestamp::now(),
            flow: None,
            info: None,
            person: None,
            station: None,
            outside: None,
            bridge: None,
            recorder: None,
            live: None,
            recording_id: None,
            recording_synced: None,
            open: None,
            journal_due: None,
            pending: HashSet::new(),
            finished_at: None,
            refused: false,
            claim: None,
            stop,
            stopping: false,
        };
        call.run().await;
    }

    async fn run(mut self) {
        let mut sbuf = vec![0u8; RTP_BUF];
        let mut obuf = vec![0u8; RTP_BUF];
        loop {
            let now = Instant::now();
            self.tick(now);
            self.pump().await;
            if self.done(Instant::now()) {
                break;
            }
            let deadline = self.deadline();
            let st = self.station.as_ref().map(|s| Arc::clone(&s.rtp));
            let os = self.outside.as_ref().map(|o| Arc::clone(&o.rtp));
            let wake = tokio::select! {
                m = self.rx.recv() => Wake::Sip(m),
                r = recv_opt(st.as_deref(), &mut sbuf) => Wake::Rtp(Leg::Station, r),
                r = recv_opt(os.as_deref(), &mut obuf) => Wake::Rtp(Leg::Outside, r),
                () = sleep_until(deadline) => Wake::Timer,
                _ = self.stop.changed(), if !self.stopping => Wake::Stop,
            };
            let now = Instant::now();
            match wake {
                Wake::Sip(None) => break,
                Wake::Sip(Some(m)) => self.layer.handle_datagram(now, m.source, &m.payload),
                Wake::Rtp(leg, Ok((n, from))) => {
                    let buf = if leg == Leg::Station { &sbuf } else { &obuf };
                    self.on_rtp(now, leg, from, &buf[..n]);
                }
                Wake::Rtp(_, Err(e)) => debug!(error = %e, "RTP receive failed"),
                Wake::Timer => {}
                Wake::Stop => {
                    self.stopping = true;
                    match self.flow.as_mut() {
                        Some(f) => f.handle_shutdown(now),
                        // Not answered yet: nothing to hang up or record.
                        None => self.refused = true,
                    }
                }
            }
        }
        self.close_recording();
        debug!("call task ends");
    }

    fn done(&self, now: Instant) -> bool {
        if self.refused {
            return true;
        }
        match self.finished_at {
            Some(at) => self.pending.is_empty() || now >= at + LINGER,
            None => false,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let mut at: Vec<Option<Instant>> = vec![
            self.layer.poll_timeout(),
            self.flow.as_ref().and_then(CallFlow::poll_timeout),
            self.finished_at.map(|f| f + LINGER),
            self.journal_due,
        ];
        for m in self.medias() {
            at.push(m.player.poll_timeout());
            at.push(
                m.dtmf
                    .as_ref()
                    .and_then(TelephoneEventReceiver::poll_timeout),
            );
        }
        at.push(self.bridge.as_ref().and_then(Bridge::poll_timeout));
        at.into_iter().flatten().min()
    }

    fn medias(&self) -> impl Iterator<Item = &Media> {
        self.station
            .as_ref()
            .map(|s| &s.media)
            .into_iter()
            .chain(self.outside.as_ref().and_then(|o| o.media.as_ref()))
    }

    fn media_mut(&mut self, leg: Leg) -> Option<&mut Media> {
        match leg {
            Leg::Station => self.station.as_mut().map(|s| &mut s.media),
            Leg::Outside => self.outside.as_mut().and_then(|o| o.media.as_mut()),
        }
    }

    /// Writes the journal entry (in its own task: the media loop does not
    /// wait for the database), with `last_seen` now.
    fn journal(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.last_seen = Timestamp::now();
        open.seq += 1;
        let entry = open.clone();
        let services = Arc::clone(&self.services);
        tokio::spawn(async move {
            if let Err(e) = services.journal_call(entry).await {
                warn!(error = %e, "call journal not written");
            }
        });
    }

    /// Advances every timer-driven object to `now`.
    fn tick(&mut self, now: Instant) {
        if let Some(due) = self.journal_due
            && due <= now
        {
            self.journal_due = Some(now + JOURNAL_EVERY);
            self.journal();
        }
        self.layer.handle_timeout(now);
        if let Some(f) = self.flow.as_mut()
            && f.poll_timeout().is_some_and(|t| t <= now)
        {
            f.handle_timeout(now);
        }
        for leg in [Leg::Station, Leg::Outside] {
            if let Some(m) = self.media_mut(leg) {
                m.player.handle_timeout(now, &mut m.sender);
                if let Some(d) = m.dtmf.as_mut() {
                    d.handle_timeout(now);
                }
            }
        }
        if let Some(tap) = self.bridge.as_mut().and_then(Bridge::tap_mut) {
            tap.handle_timeout(now);
        }
    }

    /// Runs every queue until nothing moves, then sends what is due.
    async fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(ev) = self.layer.poll_event() {
                moved = true;
                self.on_tx_event(ev).await;
            }
            while let Some(action) = self.flow.as_mut().and_then(CallFlow::poll_action) {
                moved = true;
                self.on_action(action).await;
            }
            let now = Instant::now();
            for leg in [Leg::Station, Leg::Outside] {
                let mut finished = false;
                let mut digits = Vec::new();
                if let Some(m) = self.media_mut(leg) {
                    while let Some(PlayoutEvent::Finished) = m.player.poll_event() {
                        finished = true;
                    }
                    if let Some(d) = m.dtmf.as_mut() {
                        while let Some(ev) = d.poll_event() {
                            digits.push(ev.digit);
                        }
                    }
                }
                if let Some(flow) = self.flow.as_mut() {
                    if finished {
                        moved = true;
                        flow.handle_prompt_finished(now, leg);
                    }
                    for d in digits.into_iter().filter_map(flow_digit) {
                        moved = true;
                        flow.handle_digit(now, leg, d);
                    }
                }
            }
            if !moved {
                break;
            }
        }
        self.drain_tap();
        self.send_rtp();
        while let Some(t) = self.layer.poll_transmit() {
            if let Err(e) = self.shared.socket.send_to(&t.payload, t.destination).await {
                debug!(error = %e, "SIP send failed");
            }
        }
    }

    fn send_rtp(&mut self) {
        if let Some(s) = self.station.as_mut() {
            flush_sender(&s.rtp, &mut s.media);
        }
        if let Some(o) = self.outside.as_mut()
            && let Some(m) = o.media.as_mut()
        {
            flush_sender(&o.rtp, m);
        }
    }

    fn drain_tap(&mut self) {
        let (Some(bridge), Some(recorder)) = (self.bridge.as_mut(), self.recorder.as_mut()) else {
            return;
        };
        let Some(tap) = bridge.tap_mut() else {
            return;
        };
        match recorder.drain(tap, &self.shared.spool) {
            Ok(audio) => {
                if let Some(live) = &self.live {
                    live.publish(audio);
                }
            }
            Err(e) => {
                warn!(error = %e, "recording failed; recording stops");
                self.recorder = None;
                self.live = None;
            }
        }
    }

    /// Ends the recording, if any: the tap's rest and the final chunk go
    /// to the spool; `recording_synced` answers once they are on disk.
    fn close_recording(&mut self) {
        // Listeners' streams end with the recording.
        self.live = None;
        let mut tap = self.bridge.as_mut().and_then(Bridge::take_tap);
        if let Some(recorder) = self.recorder.take() {
            let id = recorder.id().to_owned();
            match recorder.finish(tap.as_mut(), &self.shared.spool) {
                Ok(synced) => {
                    info!(recording = %id, "recording closed");
                    self.recording_synced = Some(synced);
                }
                Err(e) => warn!(error = %e, "recording could not be finished"),
            }
        }
    }

    fn leg_of(&self, call_id: Option<&str>) -> Option<Leg> {
        match call_id {
            Some(c) if c == self.sip_call_id => Some(Leg::Station),
            Some(c) if c == self.out_call_id => Some(Leg::Outside),
            _ => None,
        }
    }

    fn respond(&mut self, tx: TxId, req: &Request, code: u16) {
        let tag = self
            .station
            .as_ref()
            .and_then(|s| s.dialog.as_ref())
            .map(|d| d.id.local_tag.clone());
        let resp = Response::to_request(req, status(code), tag.as_deref().or(Some("cw")));
        let _ = self.layer.respond(Instant::now(), tx, &resp);
    }

    async fn on_tx_event(&mut self, ev: TxEvent) {
        let now = Instant::now();
        match ev {
            TxEvent::Request {
                tx,
                source,
                request,
            } => {
                let leg = self.leg_of(request.headers.call_id());
                match (request.method.clone(), tx, leg) {
                    (Method::Invite, Some(tx), Some(Leg::Station)) if self.station.is_none() => {
                        self.on_invite(tx, source, request).await;
                    }
                    (Method::Ack, _, _) => {}
                    (_, Some(tx), Some(leg)) => self.in_dialog(now, tx, leg, &request),
                    (_, Some(tx), None) => self.respond(tx, &request, 481),
                    _ => {}
                }
            }
            TxEvent::Cancel {
                tx,
                invite,
                request,
            } => {
                self.respond(tx, &request, 200);
                // The station's INVITE is answered as soon as it is
                // admitted, so a CANCEL that still matches one in progress
                // only comes while its station lookup ran.
                if let (Some(inv), None) = (invite, self.station.as_ref())
                    && let Some(req) = self.layer.request(inv).cloned()
                {
                    self.respond(inv, &req, 487);
                    self.refused = true;
                }
            }
            TxEvent::Response {
                tx: Some(tx),
                response,
            } => self.on_response(now, tx, &response),
            TxEvent::Timeout { tx } => {
                self.pending.remove(&tx);
                if self.outside.as_ref().and_then(|o| o.invite_tx) == Some(tx) {
                    if let Some(o) = self.outside.as_mut() {
                        o.final_seen = true;
                    }
                    if let Some(f) = self.flow.as_mut() {
                        f.handle_outbound(now, Outbound::Failed { status: None });
                    }
                }
            }
            TxEvent::AckTimeout { tx }
                if self.station.as_ref().is_some_and(|s| s.invite_tx == tx) =>
            {
                info!("the station never acknowledged the answer");
                if let Some(f) = self.flow.as_mut() {
                    f.handle_hangup(now, Leg::Station);
                }
            }
            _ => {}
        }
    }

    /// A request inside one of the call's dialogs.
    fn in_dialog(&mut self, now: Instant, tx: TxId, leg: Leg, req: &Request) {
        let dialog = match leg {
            Leg::Station => self.station.as_mut().and_then(|s| s.dialog.as_mut()),
            Leg::Outside => self.outside.as_mut().and_then(|o| o.dialog.as_mut()),
        };
        let Some(dialog) = dialog else {
            self.respond(tx, req, 481);
            return;
        };
        if let Err(e) = dialog.on_request(req) {
            let code = e.status().as_u16();
            self.respond(tx, req, code);
            return;
        }
        match req.method {
            Method::Bye => {
                self.respond(tx, req, 200);
                let q850 = req.headers.q850_cause();
                let cause = HangupCause::from_q850(q850);
                info!(leg = ?leg, q850_cause = q850, failure = cause == HangupCause::Failure, "hung up by the peer");
                match leg {
                    Leg::Station => {
                        if let Some(s) = self.station.as_mut() {
                            s.dialog = None;
                            s.media.player.stop();
                        }
                    }
                    Leg::Outside => {
                        if let Some(o) = self.outside.as_mut() {
                            o.dialog = None;
                            if let Some(m) = o.media.as_mut() {
                                m.player.stop();
                            }
                        }
                    }
                }
                if let Some(f) = self.flow.as_mut() {
                    f.handle_hangup_with(now, leg, cause);
                }
            }
            Method::Info => {
                let ct = req
                    .headers
                    .content_type()
                    .map(|m| format!("{}/{}", m.top.as_str(), m.sub.as_str()));
                match ct {
                    None if req.body.is_empty() => self.respond(tx, req, 200),
                    None => self.respond(tx, req, 415),
                    Some(ct) => match parse_dtmf_info(&ct, &req.body) {
                        Ok(ev) => {
                            self.respond(tx, req, 200);
                            if let (Some(f), Some(d)) = (self.flow.as_mut(), flow_digit(ev.digit)) {
                                f.handle_digit(now, leg, d);
                            }
                        }
                        Err(InfoDtmfError::UnsupportedContentType) => {
                            self.respond(tx, req, 415);
                        }
                        Err(_) => self.respond(tx, req, 400),
                    },
                }
            }
            Method::Options => self.respond(tx, req, 200),
            // No re-negotiation yet: the media stays as agreed.
            Method::Invite | Method::Update => self.respond(tx, req, 488),
            _ => self.respond(tx, req, 501),
        }
    }

    /// The station's INVITE: admit it by From user and gateway, answer it.
    async fn on_invite(&mut self, tx: TxId, source: SocketAddr, req: Request) {
        let user = req
            .headers
            .from()
            .and_then(|f| f.uri.as_sip())
            .and_then(|u| u.user.as_ref())
            .map(|u| u.as_str().to_owned());
        let info = match user {
            Some(u) => match self.services.station(&u).await {
                Ok(i) => i,
                Err(e) => {
                    warn!(error = %e, "station lookup failed");
                    self.refuse(tx, &req, 503);
                    return;
                }
            },
            None => None,
        };
        let Some(info) = info.filter(|i| i.facility.gateways.contains(&source.ip())) else {
            info!(source = %source.ip(), "INVITE from an unknown station or the wrong gateway");
            self.refuse(tx, &req, 403);
            return;
        };
        let Ok(offer) = SessionDescription::parse(&req.body) else {
            self.refuse(tx, &req, 488);
            return;
        };
        let rtp = match bind_rtp(&self.shared).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "no RTP port");
                self.refuse(tx, &req, 503);
                return;
            }
        };
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let local = LocalMedia {
            address: self.shared.config.rtp_address,
            port,
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            telephone_event: true,
            session_id: ids::next_u64() >> 2,
            session_version: 1,
        };
        let (answer, negotiated) = match sdp::answer(&offer, &local) {
            Ok(a) => a,
            Err(e) => {
                info!(error = %e, "no usable media in the offer");
                self.refuse(tx, &req, 488);
                return;
            }
        };
        let tag = ids::token();
        let contact = self.contact("ivr");
        let Some(dialog) = Dialog::uas(&req, &tag, contact.clone(), true) else {
            self.refuse(tx, &req, 400);
            return;
        };
        let mut ok = Response::to_request(&req, StatusCode::OK, Some(&tag));
        ok.headers.push(Header::Contact(Contacts::Addresses(
            std::iter::once(NameAddr::new(contact)).collect(),
        )));
        ok.headers
            .push(Header::ContentType(MediaType::new("application", "sdp")));
        ok.body = answer.to_bytes();
        let now = Instant::now();
        if let Err(e) = self.layer.respond(now, tx, &ok) {
            warn!(error = %e, "could not answer the INVITE");
            self.refused = true;
            return;
        }
        info!(
            station = %info.station.id,
            facility = %info.facility.id,
            codec = negotiated.codec.name(),
            "station answered"
        );
        let setup = CallSetup {
            call_id: CallId::new(self.id.clone()),
            facility: info.facility.id,
            station: info.station.id,
            language: Language::En,
            offered: now,
        };
        self.flow = Some(CallFlow::with_timeouts(
            now,
            setup,
            self.shared.config.call_timeouts,
        ));
        self.station = Some(StationLeg {
            rtp: Arc::new(rtp),
            media: Media::new(&negotiated),
            sip: source,
            dialog: Some(dialog),
            invite_tx: tx,
        });
        self.info = Some(info);
    }

    fn refuse(&mut self, tx: TxId, req: &Request, code: u16) {
        let resp = Response::to_request(req, status(code), Some(&ids::token()));
        let _ = self.layer.respond(Instant::now(), tx, &resp);
        self.refused = true;
    }

    fn contact(&self, user: &str) -> Uri {
        let mut u = SipUri::new(Some(user), host_of(self.shared.local.ip()));
        u.port = Some(self.shared.local.port());
        Uri::Sip(u)
    }

    fn via(&self) -> Via {
        Via::new(
            Transport::Udp,
            host_of(self.shared.local.ip()),
            Some(self.shared.local.port()),
            &ids::branch(),
        )
    }

    fn on_response(&mut self, now: Instant, tx: TxId, resp: &Response) {
        if self.pending.remove(&tx) {
            return;
        }
        let (ack_via, bye_via) = (self.via(), self.via());
        let Some(out) = self.outside.as_mut() else {
            return;
        };
        if out.invite_tx != Some(tx) {
            return;
        }
        let code = resp.status.as_u16();
        if resp.status.is_provisional() {
            if let (Some(f), Some(ev)) = (self.flow.as_mut(), Outbound::from_status(code))
                && !out.cancelled
            {
                f.handle_outbound(now, ev);
            }
            return;
        }
        out.final_seen = true;
        if !resp.status.is_success() {
            info!(status = code, "outbound call failed");
            if let (Some(f), Some(ev)) = (self.flow.as_mut(), Outbound::from_status(code))
                && !out.cancelled
            {
                f.handle_outbound(now, ev);
            }
            return;
        }
        let Some(invite) = self.layer.request(tx).cloned() else {
            return;
        };
        let Some(mut dialog) = Dialog::uac(&invite, resp) else {
            return;
        };
        let seq = invite.headers.cseq().map_or(1, |c| c.seq);
        let ack = dialog.create_ack(seq, ack_via);
        let trunk = self.shared.config.trunk;
        self.layer.send_ack(Some(tx), &ack, trunk);
        let negotiated = SessionDescription::parse(&resp.body)
            .ok()
            .and_then(|a| sdp::accept_answer(&out.offer, &a).ok());
        let over = self.flow.as_ref().is_none_or(CallFlow::is_finished);
        if out.cancelled || over || negotiated.is_none() {
            // A 2xx crossing our CANCEL, or an answer we cannot use.
            let bye = dialog.create_request(Method::Bye, bye_via);
            dialog.bye_sent();
            if let Ok(t) = self.layer.send_request(now, bye, trunk) {
                self.pending.insert(t);
            }
            if negotiated.is_none()
                && !out.cancelled
                && let Some(f) = self.flow.as_mut()
            {
                f.handle_outbound(now, Outbound::Failed { status: Some(488) });
            }
            return;
        }
        if let Some(n) = negotiated {
            out.media = Some(Media::new(&n));
        }
        out.dialog = Some(dialog);
        info!("called party answered");
        if let Some(open) = self.open.as_mut() {
            open.answered_at = Some(Timestamp::now());
        }
        self.journal();
        if let Some(f) = self.flow.as_mut() {
            f.handle_outbound(now, Outbound::Answered);
        }
    }

    fn on_rtp(&mut self, now: Instant, leg: Leg, from: SocketAddr, datagram: &[u8]) {
        if callward_media::rtp::is_rtcp(datagram) {
            return;
        }
        let Ok(packet) = RtpPacket::parse(datagram) else {
            return;
        };
        let (Some(station), Some(outside)) = (
            self.station.as_mut().map(|s| &mut s.media),
            self.outside.as_mut().and_then(|o| o.media.as_mut()),
        ) else {
            // Only one leg has media: digits only.
            if let Some(m) = self.media_mut(leg)
                && m.remote.is_none_or(|r| r.ip() == from.ip())
                && let Some(d) = m.dtmf.as_mut()
            {
                d.handle_rtp(now, &packet);
            }
            return;
        };
        let (src, dst) = match leg {
            Leg::Station => (station, outside),
            Leg::Outside => (outside, station),
        };
        if src.remote.is_some_and(|r| r.ip() != from.ip()) {
            return;
        }
        // The line is alive: the flow ends a bridged call whose called
        // party sends nothing for its media timeout.
        if let Some(f) = self.flow.as_mut() {
            f.handle_media(now, leg);
        }
        if let Some(d) = src.dtmf.as_mut()
            && d.handle_rtp(now, &packet)
        {
            return;
        }
        // A prompt playing to the other leg replaces the relayed audio.
        if let Some(bridge) = self.bridge.as_mut()
            && !dst.player.is_playing()
        {
            let from_leg = match leg {
                Leg::Station => callward_media::Leg::Station,
                Leg::Outside => callward_media::Leg::Outside,
            };
            bridge.handle_rtp(now, from_leg, &packet, &mut dst.sender);
        }
    }

    async fn on_action(&mut self, action: Action) {
        let now = Instant::now();
        match action {
            Action::PlayPrompts {
                leg,
                language,
                prompts,
            } => self.play(now, leg, language, &prompts),
            Action::StopPrompts { leg } => {
                if let Some(m) = self.media_mut(leg) {
                    m.player.stop();
                }
            }
            Action::CheckPin { pin } => {
                let Some(info) = self.info.as_ref() else {
                    return;
                };
                match self.services.check_pin(info, &pin, Timestamp::now()).await {
                    Ok(check) => {
                        match check {
                            PinCheck::Valid { person, .. } => {
                                info!(person = %person, "PIN accepted");
                                self.person = Some(person);
                            }
                            PinCheck::Invalid => info!("PIN refused"),
                            _ => info!("PIN entry locked at this station"),
                        }
                        if let Some(f) = self.flow.as_mut() {
                            f.handle_pin_checked(Instant::now(), check);
                        }
                    }
                    Err(e) => warn!(error = %e, "PIN check failed"),
                }
            }
            Action::Authorize { number } => {
                let (Some(info), Some(station)) = (self.info.as_ref(), self.station.as_ref())
                else {
                    return;
                };
                let (facility_id, station_id) = (info.facility.id, info.station.id);
                // Counted before asking, so two calls of one person
                // authorised at the same moment cannot both pass.
                let (claim, active_calls) = match self.person {
                    Some(p) => {
                        let (claim, before) = self.shared.claim(p);
                        (Some(claim), before)
                    }
                    None => (None, 0),
                };
                let request = AuthorizeRequest {
                    station: info,
                    source: station.sip.ip(),
                    person: self.person,
                    number: &number,
                    active_calls,
                    now: Timestamp::now(),
                };
                match self.services.authorize(request).await {
                    Ok(decision) => {
                        info!(
                            number = %number.masked(),
                            allowed = decision.terms().is_some(),
                            "authorised"
                        );
                        if let Some(terms) = decision.terms() {
                            self.claim = claim;
                            self.open = Some(OpenCall {
                                id: self.id.clone(),
                                facility_id,
                                station_id,
                                person_id: self.person,
                                number: Some(number.clone()),
                                privileged: terms.privileged(),
                                offered_at: self.offered_at,
                                answered_at: None,
                                accepted_at: None,
                                recording_id: None,
                                rate_cents_per_minute: Some(terms.rate.0),
                                payer_account_id: terms.payer,
                                max_seconds: terms.max_duration.as_secs(),
                                last_seen: Timestamp::now(),
                                seq: 0,
                            });
                            self.journal();
                        }
                        if let Some(f) = self.flow.as_mut() {
                            f.handle_decision(Instant::now(), decision);
                        }
                    }
                    Err(e) => warn!(error = %e, "authorisation failed"),
                }
            }
            Action::PlaceOutbound { number } => self.place_outbound(now, &number).await,
            Action::CancelOutbound => {
                if let Some(o) = self.outside.as_mut() {
                    o.cancelled = true;
                    if let Some(tx) = o.invite_tx
                        && !o.final_seen
                    {
                        let _ = self.layer.cancel(now, tx);
                    }
                }
            }
            Action::Bridge { capture } => self.bridge(now, capture),
            Action::Unbridge => {
                self.close_recording();
                self.bridge = None;
            }
            Action::BlockNumberForFacility { facility, number } => {
                if let Err(e) = self
                    .services
                    .block_for_facility(facility, &number, Timestamp::now())
                    .await
                {
                    warn!(error = %e, "called-party block failed");
                } else {
                    info!(number = %number.masked(), "called party blocked the facility");
                }
            }
            Action::Hangup { leg } => self.hang_up(now, leg),
            Action::Finished(record) => {
                self.finished_at = Some(now);
                // The record replaces the journal entry.
                self.open = None;
                self.journal_due = None;
                self.close_recording();
                info!(
                    disposition = %record.disposition,
                    billable_s = record.billable_seconds(),
                    privileged = record.privileged,
                    "call finished"
                );
                // The record names the recording only once the recording
                // is on disk; waiting here holds no other call up.
                if let Some(synced) = self.recording_synced.take() {
                    match tokio::time::timeout(RECORDING_SYNC_WAIT, synced).await {
                        Ok(Ok(Ok(bytes))) => {
                            debug!(bytes, "recording synced");
                            if let (Some(up), Some(id)) =
                                (&self.shared.uploader, &self.recording_id)
                            {
                                up.sealed(id);
                            }
                        }
                        Ok(Ok(Err(e))) => warn!(error = %e, "recording not fully written"),
                        Ok(Err(_)) | Err(_) => warn!("recording sync not confirmed in time"),
                    }
                }
                match CallDetailRecord::from_flow(
                    &record,
                    self.offered_at,
                    self.recording_id.clone(),
                ) {
                    Ok(cdr) => {
                        if let Err(e) = self.services.record_call(cdr).await {
                            warn!(error = %e, "call record not stored");
                        }
                    }
                    Err(e) => warn!(error = %e, "call record not built"),
                }
            }
            other => debug!(action = ?other, "action not handled"),
        }
    }

    fn play(&mut self, now: Instant, leg: Leg, language: Language, prompts: &[Prompt]) {
        let facility = self
            .info
            .as_ref()
            .map(|i| i.facility.name.as_str().to_owned())
            .unwrap_or_default();
        let shared = Arc::clone(&self.shared);
        let mut queued = false;
        if let Some(m) = self.media_mut(leg) {
            m.player.stop();
            for p in prompts {
                match shared.prompts.get(language, *p, &facility) {
                    Some(audio) => {
                        m.player
                            .play(now, callward_media::Prompt::new(G711::Pcma, audio));
                        queued = true;
                    }
                    None => warn!(prompt = p.name(), %language, "prompt missing"),
                }
            }
        }
        if !queued && let Some(f) = self.flow.as_mut() {
            f.handle_prompt_finished(now, leg);
        }
    }

    async fn place_outbound(&mut self, now: Instant, number: &E164Number) {
        let rtp = match bind_rtp(&self.shared).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "no RTP port for the outbound leg");
                if let Some(f) = self.flow.as_mut() {
                    f.handle_outbound(now, Outbound::Failed { status: None });
                }
                return;
            }
        };
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let offer = sdp::offer(&LocalMedia {
            address: self.shared.config.rtp_address,
            port,
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            telephone_event: true,
            session_id: ids::next_u64() >> 2,
            session_version: 1,
        });
        let trunk = self.shared.config.trunk;
        let mut target = SipUri::new(Some(number.as_str()), host_of(trunk.ip()));
        target.port = Some(trunk.port());
        let target = Uri::Sip(target);
        let mut invite = Request::new(Method::Invite, target.clone());
        invite
            .headers
            .push(Header::Via(std::iter::once(self.via()).collect()));
        invite.headers.push(Header::MaxForwards(70));
        let mut from = NameAddr::new(self.contact("callward"));
        from.set_tag(&ids::token());
        invite.headers.push(Header::From(from));
        invite.headers.push(Header::To(NameAddr::new(target)));
        invite
            .headers
            .push(Header::CallId(Text::from(self.out_call_id.as_str())));
        invite.headers.push(Header::CSeq(CSeq {
            seq: 1,
            method: Method::Invite,
        }));
        invite.headers.push(Header::Contact(Contacts::Addresses(
            std::iter::once(NameAddr::new(self.contact("callward"))).collect(),
        )));
        invite
            .headers
            .push(Header::ContentType(MediaType::new("application", "sdp")));
        invite.body = offer.to_bytes();
        let tx = match self.layer.send_request(now, invite, trunk) {
            Ok(tx) => Some(tx),
            Err(e) => {
                warn!(error = %e, "outbound INVITE not sent");
                if let Some(f) = self.flow.as_mut() {
                    f.handle_outbound(now, Outbound::Failed { status: None });
                }
                None
            }
        };
        info!(number = %number.masked(), "calling out");
        self.outside = Some(OutsideLeg {
            rtp: Arc::new(rtp),
            media: None,
            offer,
            invite_tx: tx,
            dialog: None,
            final_seen: tx.is_none(),
            cancelled: false,
        });
    }

    fn bridge(&mut self, now: Instant, capture: Capture) {
        let (Some(station), Some(outside)) = (
            self.station.as_ref().map(|s| &s.media),
            self.outside.as_ref().and_then(|o| o.media.as_ref()),
        ) else {
            warn!("bridge asked for without both legs' media");
            return;
        };
        let mut bridge = Bridge::new(
            RelayConfig {
                event_payload_type: station.event_pt,
                dtmf: DtmfMode::Consume,
            },
            RelayConfig {
                event_payload_type: outside.event_pt,
                dtmf: DtmfMode::Consume,
            },
        );
        // Privilege fails closed: only an explicitly recorded call gets a
        // tap; anything else (privileged for any reason) has none at all.
        if capture == Capture::Recorded {
            let shared = &self.shared;
            let key = shared.config.recording_key.current();
            match Recorder::start(&shared.spool, &self.id, &key, shared.rng) {
                Ok(r) => {
                    info!(recording = %self.id, epoch = key.epoch, "recording");
                    bridge.attach_tap(RecordingTap::new(now, TapConfig::default()));
                    self.recording_id = Some(self.id.clone());
                    self.recorder = Some(r);
                    // Listed only here, with the tap: an unrecorded call
                    // (privileged for any reason) is never listed.
                    if let Some(open) = &self.open {
                        let mut call = open.clone();
                        call.recording_id = Some(self.id.clone());
                        self.live = Some(shared.config.live.add(call));
                    }
                }
                Err(e) => {
                    warn!(error = %e, "cannot start the recording; the call goes on unrecorded")
                }
            }
        } else {
            info!("privileged call: no recording tap");
        }
        self.bridge = Some(bridge);
        if let Some(open) = self.open.as_mut() {
            open.accepted_at = Some(Timestamp::now());
            open.recording_id.clone_from(&self.recording_id);
        }
        self.journal();
        self.journal_due = Some(now + JOURNAL_EVERY);
    }

    fn hang_up(&mut self, now: Instant, leg: Leg) {
        let via = self.via();
        match leg {
            Leg::Station => {
                let Some(s) = self.station.as_mut() else {
                    return;
                };
                s.media.player.stop();
                if let Some(mut d) = s.dialog.take() {
                    let bye = d.create_request(Method::Bye, via);
                    d.bye_sent();
                    let dest = s.sip;
                    if let Ok(tx) = self.layer.send_request(now, bye, dest) {
                        self.pending.insert(tx);
                    }
                }
            }
            Leg::Outside => {
                let Some(o) = self.outside.as_mut() else {
                    return;
                };
                if let Some(m) = o.media.as_mut() {
                    m.player.stop();
                }
                if let Some(mut d) = o.dialog.take() {
                    let bye = d.create_request(Method::Bye, via);
                    d.bye_sent();
                    if let Ok(tx) = self.layer.send_request(now, bye, self.shared.config.trunk) {
                        self.pending.insert(tx);
                    }
                } else if let Some(tx) = o.invite_tx
                    && !o.final_seen
                {
                    o.cancelled = true;
                    let _ = self.layer.cancel(now, tx);
                }
            }
        }
    }
}

fn flush_sender(socket: &UdpSocket, media: &mut Media) {
    let remote = media.remote;
    while let Some(datagram) = media.sender.poll_transmit() {
        if let Some(to) = remote {
            // A full socket buffer drops the packet, as the network would.
            let _ = socket.try_send_to(datagram, to);
        }
    }
}

async fn recv_opt(socket: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// Binds an even RTP port from the configured range, starting where the
/// last call left off.
async fn bind_rtp(shared: &Shared) -> io::Result<UdpSocket> {
    let range = &shared.config.rtp_ports;
    let base = range.start().saturating_add(range.start() % 2);
    let end = *range.end();
    let slots = u32::from(end.saturating_sub(base)) / 2 + 1;
    for _ in 0..slots {
        let off = shared.port_cursor.fetch_add(1, Ordering::Relaxed) % slots;
        let Ok(port) = u16::try_from(u32::from(base) + 2 * off) else {
            continue;
        };
        if port > end {
            continue;
        }
        if let Ok(s) = UdpSocket::bind(SocketAddr::new(shared.config.rtp_address, port)).await {
            return Ok(s);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free RTP port in the range",
    ))
}
