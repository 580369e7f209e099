//! The call switch: UDP sockets and timers driving the sans-IO SIP, media and
//! call-flow state machines. One task owns one call.
//!
//! [`run`] takes a bound SIP socket, the [`CallServices`] (lookups,
//! decisions, call records), a [`SwitchConfig`] and a shutdown future. Its
//! socket task refuses SIP from addresses that are neither a facility's
//! gateway nor the trunk with a stateless 403, and routes every other
//! datagram by Call-ID to the task of its call over a channel. Each call
//! task owns its [`TransactionLayer`](callward_sip::transaction::TransactionLayer),
//! dialogs, RTP sockets, prompt players, DTMF receivers, the
//! [`CallFlow`](callward_core::callflow::CallFlow) and, for a recorded call
//! only, the recording tap; nothing is shared across calls but read-only
//! configuration and the services. A call task that panics is logged and
//! dropped; the switch goes on.

mod call;
mod ids;
pub mod live;
mod prompts;
mod recording;
pub mod recording_store;
mod services;
pub mod spool;
mod uploader;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use callward_core::PersonId;
use callward_core::callflow::Timeouts;
use callward_sip::transaction::{TimerConfig, TransactionLayer, TxEvent};
use callward_sip::uri::Uri;
use callward_sip::validate::{Inspection, UasPolicy, inspect, raw_error_response};
use callward_sip::{Method, Request, Response, StatusCode};
use callward_vault::{OsRng, WriterKey};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{Instrument as _, debug, info, info_span, warn};

pub use live::{Listener, LiveCalls};
pub use prompts::PromptLibrary;
pub use recording::RecordingKey;
pub use services::{AuthorizeRequest, CallServices, ServiceError, StationInfo, StoreServices};
pub use spool::{RECORDING_EXTENSION, recording_path};

/// How the switch runs. [`SwitchConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwitchConfig {
    /// Where outbound calls go (`sip:+1NXXNXXXXXX@<trunk>`).
    pub trunk: SocketAddr,
    /// The address RTP sockets bind to and SDP advertises.
    pub rtp_address: IpAddr,
    /// Ports RTP sockets are bound from (even ports are used).
    pub rtp_ports: RangeInclusive<u16>,
    /// `prompts/` with one directory per language.
    pub prompts_dir: PathBuf,
    /// The data dir; recordings go to `<data_dir>/recordings/`.
    pub data_dir: PathBuf,
    /// The agency's current public key and its epoch: every recording's
    /// data key is wrapped to it (fixed, or following the key directory's
    /// keyring). The switch never holds a private key.
    pub recording_key: RecordingKey,
    /// SIP timers (T1, T2, T4) and the transaction cap of each layer.
    pub sip_timers: TimerConfig,
    /// The call flow's deadlines.
    pub call_timeouts: Timeouts,
    /// How often the gateway list is read again.
    pub gateway_refresh: Duration,
    /// Calls carried at once; more INVITEs are answered 503.
    pub max_calls: usize,
    /// Where sealed recordings move from the spool; `None` (the default):
    /// they stay in `<data_dir>/recordings/`.
    pub recording_store: Option<Arc<recording_store::RecordingStore>>,
    /// Recorded calls in progress and their audio, for live monitoring
    /// (share it with the console); privileged calls are never in it.
    pub live: Arc<LiveCalls>,
}

impl SwitchConfig {
    /// Calls carried at once unless configured (`[sip] max_calls`).
    pub const DEFAULT_MAX_CALLS: usize = 1000;

    /// Defaults for everything but the trunk, the directories and the
    /// recording key: RTP on 127.0.0.1 ports 20000–29999, RFC 3261 timers,
    /// the flow's documented deadlines, gateways re-read every 30 s, 1,000
    /// calls.
    pub fn new(
        trunk: SocketAddr,
        prompts_dir: PathBuf,
        data_dir: PathBuf,
        recording_key: WriterKey,
    ) -> Self {
        Self {
            trunk,
            rtp_address: IpAddr::from([127, 0, 0, 1]),
            rtp_ports: 20000..=29999,
            prompts_dir,
            data_dir,
            recording_key: RecordingKey::fixed(recording_key),
            sip_timers: TimerConfig::default(),
            call_timeouts: Timeouts::default(),
            gateway_refresh: Duration::from_secs(30),
            max_calls: Self::DEFAULT_MAX_CALLS,
            recording_store: None,
            live: LiveCalls::new(),
        }
    }
}

/// Why the switch could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum SwitchError {
    /// The socket, prompts, recording directory or randomness.
    Io(std::io::Error),
    /// The gateway list could not be read at start.
    Services(ServiceError),
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "switch: {e}"),
            Self::Services(e) => write!(f, "switch: reading gateways: {e}"),
        }
    }
}

impl std::error::Error for SwitchError {}

/// What every call task shares, read-only (plus the RTP port cursor).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SwitchConfig,
    pub(crate) prompts: PromptLibrary,
    pub(crate) socket: Arc<UdpSocket>,
    pub(crate) local: SocketAddr,
    /// Next RTP port to try, as an offset into the range.
    pub(crate) port_cursor: AtomicU32,
    /// Calls in progress per person, from authorisation to the call
    /// task's end: one person, one call at a time.
    pub(crate) active: Mutex<HashMap<PersonId, u32>>,
    /// Becomes `true` when the switch stops: each call ends itself.
    pub(crate) stopping: watch::Receiver<bool>,
    /// Writes and syncs every recording.
    pub(crate) spool: spool::Spool,
    /// Draws data keys and salts.
    pub(crate) rng: OsRng,
    /// Moves sealed recordings to the object store, if there is one.
    pub(crate) uploader: Option<uploader::Uploader>,
}

impl Shared {
    /// Counts a call for `person`; returns how many they had before. The
    /// count is taken back when the returned claim is dropped.
    pub(crate) fn claim(self: &Arc<Self>, person: PersonId) -> (ActiveClaim, u32) {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let n = active.entry(person).or_insert(0);
        let before = *n;
        *n += 1;
        let claim = ActiveClaim {
            shared: Arc::clone(self),
            person,
        };
        (claim, before)
    }
}

/// One call counted for a person in [`Shared::active`]; dropping it (the
/// call ended, was denied, or its task panicked) takes the count back.
#[derive(Debug)]
pub(crate) struct ActiveClaim {
    shared: Arc<Shared>,
    person: PersonId,
}

impl Drop for ActiveClaim {
    fn drop(&mut self) {
        let mut active = self
            .shared
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = active.get_mut(&self.person) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                active.remove(&self.person);
            }
        }
    }
}

/// A datagram for a call task.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) source: SocketAddr,
    pub(crate) payload: Vec<u8>,
}

/// Datagrams queued per call before more are dropped (UDP: the peer
/// retransmits).
const CALL_QUEUE: usize = 256;
const MAX_DATAGRAM: usize = 65_535;

/// How long calls are given, once `shutdown` completes, to hang up their
/// legs (BYE or CANCEL) and store their records before their tasks are
/// dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs the switch on `socket` until `shutdown` completes. Then no new call
/// is taken (503), and every call in progress is ended as `interrupted`:
/// its legs are hung up and its record stored, within [`SHUTDOWN_GRACE`].
///
/// # Errors
/// Only at start: the socket's address, the prompts or the gateway list.
pub async fn run<S: CallServices>(
    socket: UdpSocket,
    services: S,
    config: SwitchConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SwitchError> {
    let local = socket.local_addr().map_err(SwitchError::Io)?;
    let prompts = PromptLibrary::load(&config.prompts_dir).map_err(SwitchError::Io)?;
    if prompts.is_empty() {
        warn!(dir = %config.prompts_dir.display(), "no prompts found; calls will hear silence");
    }
    let services = Arc::new(services);
    let mut gateways: HashSet<IpAddr> = services
        .gateways()
        .await
        .map_err(SwitchError::Services)?
        .into_iter()
        .collect();
    let rng = OsRng::new().map_err(|e| SwitchError::Io(std::io::Error::other(e.to_string())))?;
    let spool = spool::Spool::start(config.data_dir.join("recordings")).map_err(SwitchError::Io)?;
    let (uploader, upload_task) = match config.recording_store.clone() {
        Some(store) if store.is_remote() => {
            let (u, t) = uploader::Uploader::start(store, uploader::RETRY_EVERY);
            (Some(u), Some(t))
        }
        _ => (None, None),
    };
    let socket = Arc::new(socket);
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        prompts,
        socket: Arc::clone(&socket),
        local,
        port_cursor: AtomicU32::new(0),
        active: Mutex::new(HashMap::new()),
        stopping: stop_rx,
        spool,
        rng,
        uploader,
    });
    info!(sip = %local, trunk = %shared.config.trunk, gateways = gateways.len(), "switch started");

    let mut front = TransactionLayer::new(shared.config.sip_timers, UasPolicy::default());
    let policy = UasPolicy::default();
    let mut routes: HashMap<String, mpsc::Sender<Inbound>> = HashMap::new();
    let mut call_ids: HashMap<tokio::task::Id, Vec<String>> = HashMap::new();
    let mut calls: JoinSet<()> = JoinSet::new();
    let mut refresh = tokio::time::interval(shared.config.gateway_refresh);
    refresh.tick().await;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    tokio::pin!(shutdown);
    // Set once `shutdown` completes: the end of the grace period.
    let mut stopping: Option<Instant> = None;

    loop {
        if let Some(until) = stopping
            && (calls.is_empty() || Instant::now() >= until)
        {
            break;
        }
        let front_deadline = front.poll_timeout();
        // Biased: ended calls and timers first, so a flood of datagrams
        // cannot keep dead routes or retransmissions waiting.
        tokio::select! {
            biased;
            () = &mut shutdown, if stopping.is_none() => {
                info!(calls = calls.len(), "switch stopping: ending calls in progress");
                stopping = Some(Instant::now() + SHUTDOWN_GRACE);
                let _ = stop_tx.send(true);
            },
            () = sleep_until(stopping) => {},
            Some(done) = calls.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        if e.is_panic() {
                            warn!(error = %e, "a call task panicked; the call is dropped");
                        }
                        e.id()
                    }
                };
                for cid in call_ids.remove(&id).unwrap_or_default() {
                    routes.remove(&cid);
                }
            },
            _ = refresh.tick() => match services.gateways().await {
                Ok(list) => gateways = list.into_iter().collect(),
                Err(e) => warn!(error = %e, "gateway refresh failed; keeping the old list"),
            },
            () = sleep_until(front_deadline) => front.handle_timeout(Instant::now()),
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, source)) => {
                    let datagram = &buf[..n];
                    let now = Instant::now();
                    if !gateways.contains(&source.ip()) && source.ip() != shared.config.trunk.ip() {
                        refuse(&socket, source, datagram).await;
                        continue;
                    }
                    route(
                        now, source, datagram, &policy, &mut front, &mut routes,
                        &mut call_ids, &mut calls, &shared, &services, stopping.is_some(),
                    );
                }
                Err(e) => debug!(error = %e, "SIP receive failed"),
            },
        }
        front_tu(&mut front);
        while let Some(t) = front.poll_transmit() {
            let _ = socket.send_to(&t.payload, t.destination).await;
        }
    }
    if !calls.is_empty() {
        warn!(
            calls = calls.len(),
            "calls still ending after the grace period are dropped"
        );
    }
    calls.shutdown().await;
    // Every call task is gone: the spool writes and syncs what is queued.
    drop(routes);
    if let Ok(shared) = Arc::try_unwrap(shared) {
        let Shared {
            spool, uploader, ..
        } = shared;
        let _ = tokio::task::spawn_blocking(move || spool.close()).await;
        // Moves already queued are tried once; what fails waits in the
        // spool for the next start.
        drop(uploader);
        if let Some(task) = upload_task
            && tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err()
        {
            warn!("recording moves still running at stop; the next start finishes them");
        }
    }
    info!("switch stopped");
    Ok(())
}

/// Sleeps until `at`, or forever.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// A stateless 403 for a request from outside the gateways; responses and
/// ACKs are dropped. Nothing is kept.
async fn refuse(socket: &UdpSocket, source: SocketAddr, datagram: &[u8]) {
    if datagram.starts_with(b"SIP/") || datagram.starts_with(b"ACK ") {
        return;
    }
    if let Some(forbidden) = StatusCode::new(403)
        && let Some(bytes) = raw_error_response(datagram, forbidden, "cw-forbidden")
    {
        let _ = socket.send_to(&bytes, source).await;
    }
}

/// Where a datagram from an admitted address goes.
#[allow(
    clippy::too_many_arguments,
    reason = "the socket task's state, borrowed apart"
)]
fn route<S: CallServices>(
    now: Instant,
    source: SocketAddr,
    datagram: &[u8],
    policy: &UasPolicy,
    front: &mut TransactionLayer,
    routes: &mut HashMap<String, mpsc::Sender<Inbound>>,
    call_ids: &mut HashMap<tokio::task::Id, Vec<String>>,
    calls: &mut JoinSet<()>,
    shared: &Arc<Shared>,
    services: &Arc<S>,
    stopping: bool,
) {
    let call_id = match inspect(datagram, policy) {
        Inspection::Request(ref r) => r.headers.call_id().map(str::to_owned),
        Inspection::Response(ref r) => r.headers.call_id().map(str::to_owned),
        _ => None,
    };
    if let Some(cid) = &call_id
        && let Some(tx) = routes.get(cid)
    {
        // A full queue drops the datagram; the peer retransmits.
        let _ = tx.try_send(Inbound {
            source,
            payload: datagram.to_vec(),
        });
        return;
    }
    let new_call = call_id.is_some()
        && datagram.starts_with(b"INVITE ")
        && matches!(Request::parse(datagram), Ok(ref r) if is_ivr(r) && r.headers.to().is_some_and(|t| t.tag().is_none()));
    let Some(cid) = call_id.filter(|_| new_call) else {
        // Malformed, stray, or not for a call: the front layer answers.
        front.handle_datagram(now, source, datagram);
        return;
    };
    if stopping || routes.len() / 2 >= shared.config.max_calls {
        if let Ok(req) = Request::parse(datagram)
            && let Some(busy) = StatusCode::new(503)
        {
            front.send_stateless(
                source,
                Response::to_request(&req, busy, Some("cw-busy")).to_bytes(),
            );
        }
        return;
    }
    let internal = format!("cw-{}", ids::token());
    let out_call_id = format!("{}@callward", ids::token());
    let (tx, rx) = mpsc::channel(CALL_QUEUE);
    let _ = tx.try_send(Inbound {
        source,
        payload: datagram.to_vec(),
    });
    routes.insert(cid.clone(), tx.clone());
    routes.insert(out_call_id.clone(), tx);
    let span = info_span!("call", id = %internal);
    let task = call::Call::start(
        Arc::clone(shared),
        Arc::clone(services),
        internal,
        cid.clone(),
        out_call_id.clone(),
        rx,
    );
    let handle = calls.spawn(task.instrument(span));
    call_ids.insert(handle.id(), vec![cid, out_call_id]);
}

fn is_ivr(r: &Request) -> bool {
    matches!(&r.uri, Uri::Sip(u) if u.user.as_ref().is_some_and(|u| u.as_str() == "ivr"))
}

/// Answers what reaches the front layer: OPTIONS 200, a new INVITE not to
/// the IVR 404, anything else in no known call 481.
fn front_tu(front: &mut TransactionLayer) {
    let now = Instant::now();
    while let Some(ev) = front.poll_event() {
        let (tx, request) = match ev {
            TxEvent::Request {
                tx: Some(tx),
                request,
                ..
            } => (tx, request),
            TxEvent::Cancel { tx, request, .. } => (tx, request),
            _ => continue,
        };
        let status = match request.method {
            Method::Options => 200,
            Method::Invite if request.headers.to().is_some_and(|t| t.tag().is_none()) => 404,
            _ => 481,
        };
        if let Some(status) = StatusCode::new(status) {
            let resp = Response::to_request(&request, status, Some("cw-front"));
            let _ = front.respond(now, tx, &resp);
        }
    }
}
