//! The outgoing RTP stream of one leg.
//!
//! A leg hears prompts, then relayed audio, then perhaps a warning prompt;
//! whatever the source, the peer must see one stream with one SSRC, a
//! sequence number that advances by one per packet and a timestamp that
//! follows real time. [`RtpSender`] owns those counters; the prompt player
//! and the relay write through it and the I/O driver drains it with
//! [`RtpSender::poll_transmit`].

use core::fmt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dtmf::TelephoneEvent;
use crate::g711::G711;
use crate::rtcp::SenderInfo;
use crate::rtp::RtpHeader;

/// A packet time: a multiple of 10 ms from 10 to 200 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ptime(u16);

/// A packet time that is not a multiple of 10 ms in 10–200 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadPtime(pub u32);

impl fmt::Display for BadPtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ptime {} ms is not a multiple of 10 ms in 10-200 ms",
            self.0
        )
    }
}

impl std::error::Error for BadPtime {}

impl Ptime {
    /// 20 ms, the default of RFC 3551.
    pub const MS20: Self = Self(20);

    /// A packet time in milliseconds.
    ///
    /// # Errors
    /// [`BadPtime`] unless `ms` is a multiple of 10 in 10–200.
    pub fn from_millis(ms: u32) -> Result<Self, BadPtime> {
        if ms.is_multiple_of(10) && (10..=200).contains(&ms) {
            // Checked above: at most 200.
            Ok(Self(ms as u16))
        } else {
            Err(BadPtime(ms))
        }
    }

    /// Milliseconds.
    #[must_use]
    pub const fn millis(self) -> u32 {
        self.0 as u32
    }

    /// Samples per packet at 8 kHz.
    #[must_use]
    pub const fn samples(self) -> usize {
        self.0 as usize * 8
    }

    /// As a duration.
    #[must_use]
    pub const fn duration(self) -> Duration {
        Duration::from_millis(self.0 as u64)
    }
}

impl Default for Ptime {
    fn default() -> Self {
        Self::MS20
    }
}

/// What a leg's outgoing stream looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Our SSRC for this leg (the caller draws it).
    pub ssrc: u32,
    /// First sequence number (the caller draws it).
    pub initial_sequence: u16,
    /// First timestamp (the caller draws it).
    pub initial_timestamp: u32,
    /// The negotiated audio codec.
    pub codec: G711,
    /// The negotiated packet time.
    pub ptime: Ptime,
    /// The negotiated telephone-event payload type, if any.
    pub event_payload_type: Option<u8>,
}

/// Counters of what a sender has emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderStats {
    /// RTP packets written.
    pub packets: u64,
    /// Payload octets written.
    pub octets: u64,
    /// Packets dropped because the queue was not drained.
    pub dropped: u64,
}

/// How far behind real time a stream may fall before its timestamp is
/// moved forward (and the marker set) to follow the clock.
const LATE_LIMIT: Duration = Duration::from_millis(120);
/// Packets kept when the driver does not drain the queue.
const MAX_QUEUED: usize = 256;

/// Ready packets, stored back to back in one buffer that is reused once
/// drained, so steady-state sending allocates nothing.
#[derive(Debug, Default)]
struct PacketQueue {
    buf: Vec<u8>,
    spans: VecDeque<(usize, usize)>,
}

impl PacketQueue {
    fn push(&mut self, header: &RtpHeader, payload: &[u8]) -> bool {
        if self.spans.is_empty() {
            self.buf.clear();
        }
        let dropped = if self.spans.len() >= MAX_QUEUED {
            self.spans.pop_front();
            true
        } else {
            false
        };
        let start = self.buf.len();
        if header.write(payload, &mut self.buf).is_ok() {
            self.spans.push_back((start, self.buf.len() - start));
        } else {
            self.buf.truncate(start);
        }
        dropped
    }

    fn pop(&mut self) -> Option<&[u8]> {
        let (start, len) = self.spans.pop_front()?;
        self.buf.get(start..start + len)
    }

    fn len(&self) -> usize {
        self.spans.len()
    }
}

/// The outgoing RTP stream of one leg: SSRC, sequence, timestamp and a
/// queue of packets ready to send.
#[derive(Debug)]
pub struct RtpSender {
    config: SenderConfig,
    next_sequence: u16,
    next_timestamp: u32,
    /// Wall time at which `anchor_ts` was due; `None` before the first packet.
    anchor: Option<(Instant, u32)>,
    queue: PacketQueue,
    stats: SenderStats,
}

impl RtpSender {
    /// A sender that has sent nothing yet.
    #[must_use]
    pub fn new(config: SenderConfig) -> Self {
        Self {
            next_sequence: config.initial_sequence,
            next_timestamp: config.initial_timestamp,
            config,
            anchor: None,
            queue: PacketQueue::default(),
            stats: SenderStats::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// The audio codec of this leg.
    #[must_use]
    pub const fn codec(&self) -> G711 {
        self.config.codec
    }

    /// The packet time of this leg.
    #[must_use]
    pub const fn ptime(&self) -> Ptime {
        self.config.ptime
    }

    /// What has been sent.
    #[must_use]
    pub const fn stats(&self) -> SenderStats {
        self.stats
    }

    /// The sequence number the next packet will carry.
    #[must_use]
    pub const fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// The timestamp the next audio packet will carry unless time has jumped.
    #[must_use]
    pub const fn next_timestamp(&self) -> u32 {
        self.next_timestamp
    }

    /// Moves the timestamp forward to follow real time when the stream has
    /// fallen behind `now` by more than the limit (or at all, when a new
    /// talkspurt starts). Returns whether the next packet carries the marker.
    fn catch_up(&mut self, now: Instant, talkspurt: bool) -> bool {
        let Some((at, ts)) = self.anchor else {
            self.anchor = Some((now, self.next_timestamp));
            return true;
        };
        let ahead = u64::from(self.next_timestamp.wrapping_sub(ts));
        let due = at + Duration::from_micros(ahead * 125);
        let late = now.saturating_duration_since(due);
        if late > LATE_LIMIT || (talkspurt && !late.is_zero()) {
            // 8 samples per millisecond; truncation keeps us behind real time, never ahead.
            let samples = (late.as_micros() / 125) as u32;
            self.next_timestamp = self.next_timestamp.wrapping_add(samples);
            self.anchor = Some((now, self.next_timestamp));
            return true;
        }
        if talkspurt {
            self.anchor = Some((now.max(due), self.next_timestamp));
        }
        talkspurt
    }

    /// Queues one audio packet with `payload` (in this leg's codec; one byte
    /// per sample). `talkspurt` marks the start of a new talkspurt (a prompt
    /// starting, a new source being relayed): the marker is set and the
    /// timestamp jumps over the silence since the last packet.
    pub fn send_audio(&mut self, now: Instant, payload: &[u8], talkspurt: bool) {
        let marker = self.catch_up(now, talkspurt);
        let header = RtpHeader {
            marker,
            payload_type: self.config.codec.payload_type(),
            sequence: self.next_sequence,
            timestamp: self.next_timestamp,
            ssrc: self.config.ssrc,
        };
        self.enqueue(&header, payload);
        // A G.711 payload longer than 4 GiB cannot be a datagram.
        self.next_timestamp = self
            .next_timestamp
            .wrapping_add(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    }

    /// The timestamp a telephone-event starting at `now` should carry.
    pub fn event_timestamp(&mut self, now: Instant) -> u32 {
        self.catch_up(now, true);
        self.next_timestamp
    }

    /// Queues one telephone-event packet with event timestamp `timestamp`
    /// (from [`event_timestamp`](Self::event_timestamp)). Returns false, and
    /// sends nothing, when this leg negotiated no telephone-event.
    pub fn send_event(&mut self, timestamp: u32, marker: bool, event: &TelephoneEvent) -> bool {
        let Some(pt) = self.config.event_payload_type else {
            return false;
        };
        let header = RtpHeader {
            marker,
            payload_type: pt,
            sequence: self.next_sequence,
            timestamp,
            ssrc: self.config.ssrc,
        };
        self.enqueue(&header, &event.to_bytes());
        true
    }

    fn enqueue(&mut self, header: &RtpHeader, payload: &[u8]) {
        if self.queue.push(header, payload) {
            self.stats.dropped += 1;
        }
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.stats.packets += 1;
        self.stats.octets += payload.len() as u64;
    }

    /// The sender information of an RTCP SR at `now`, whose wall-clock time
    /// is `ntp_timestamp` (64-bit NTP format, supplied by the caller: this
    /// crate reads no clock). The RTP timestamp is extrapolated from the
    /// stream's anchor to `now`.
    #[must_use]
    pub fn sender_info(&self, now: Instant, ntp_timestamp: u64) -> SenderInfo {
        let rtp_timestamp = match self.anchor {
            Some((at, ts)) => {
                let units = if now >= at {
                    (now.duration_since(at).as_micros() / 125) as u32
                } else {
                    ((at.duration_since(now).as_micros() / 125) as u32).wrapping_neg()
                };
                ts.wrapping_add(units)
            }
            None => self.next_timestamp,
        };
        SenderInfo {
            ssrc: self.config.ssrc,
            ntp_timestamp,
            rtp_timestamp,
            // RTCP counters are 32 bits and wrap (RFC 3550 §6.4.1).
            packet_count: self.stats.packets as u32,
            octet_count: self.stats.octets as u32,
        }
    }

    /// The next packet to send on this leg's socket.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        self.queue.pop()
    }

    /// Packets waiting in the queue.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}
