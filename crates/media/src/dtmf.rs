//! DTMF digits and the two signalled ways they arrive: RFC 4733
//! telephone-events in RTP and SIP INFO bodies.
//!
//! In-band tones are in [`crate::goertzel`].

use core::fmt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtp::{RtpHeader, RtpPacket};

/// One of the sixteen DTMF digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Digit {
    /// 0
    D0,
    /// 1
    D1,
    /// 2
    D2,
    /// 3
    D3,
    /// 4
    D4,
    /// 5
    D5,
    /// 6
    D6,
    /// 7
    D7,
    /// 8
    D8,
    /// 9
    D9,
    /// `*`
    Star,
    /// `#`
    Pound,
    /// A
    A,
    /// B
    B,
    /// C
    C,
    /// D
    D,
}

impl Digit {
    /// All sixteen, in RFC 4733 event-code order.
    pub const ALL: [Self; 16] = [
        Self::D0,
        Self::D1,
        Self::D2,
        Self::D3,
        Self::D4,
        Self::D5,
        Self::D6,
        Self::D7,
        Self::D8,
        Self::D9,
        Self::Star,
        Self::Pound,
        Self::A,
        Self::B,
        Self::C,
        Self::D,
    ];

    /// The digit for an RFC 4733 event code (0–15).
    #[must_use]
    pub fn from_event_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code.
    #[must_use]
    pub const fn event_code(self) -> u8 {
        self as u8
    }

    /// The digit for a character (`0`–`9`, `*`, `#`, `A`–`D` in either case).
    #[must_use]
    pub const fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0' => Self::D0,
            '1' => Self::D1,
            '2' => Self::D2,
            '3' => Self::D3,
            '4' => Self::D4,
            '5' => Self::D5,
            '6' => Self::D6,
            '7' => Self::D7,
            '8' => Self::D8,
            '9' => Self::D9,
            '*' => Self::Star,
            '#' => Self::Pound,
            'A' | 'a' => Self::A,
            'B' | 'b' => Self::B,
            'C' | 'c' => Self::C,
            'D' | 'd' => Self::D,
            _ => return None,
        })
    }

    /// The character for this digit.
    #[must_use]
    pub const fn as_char(self) -> char {
        b"0123456789*#ABCD"[self as usize] as char
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// The 4-byte RFC 4733 telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code (0–15 are the DTMF digits).
    pub event: u8,
    /// E bit: this is (a retransmission of) the final packet of the event.
    pub end: bool,
    /// Power level in -dBm0, 0–63.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

/// Why a telephone-event payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TelephoneEventError {
    /// Fewer than 4 bytes.
    TooShort,
}

impl fmt::Display for TelephoneEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("telephone-event payload shorter than 4 bytes"),
        }
    }
}

impl std::error::Error for TelephoneEventError {}

impl TelephoneEvent {
    /// Parses the first event of a payload (RFC 4733 allows only one per
    /// packet outside RFC 2198 redundancy).
    ///
    /// # Errors
    /// [`TelephoneEventError::TooShort`] below 4 bytes.
    pub fn parse(payload: &[u8]) -> Result<Self, TelephoneEventError> {
        let b = payload.get(..4).ok_or(TelephoneEventError::TooShort)?;
        Ok(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4 payload bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The digit this event stands for, if any.
    #[must_use]
    pub fn digit(&self) -> Option<Digit> {
        Digit::from_event_code(self.event)
    }
}

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DtmfSource {
    /// RFC 4733 telephone-event in RTP.
    Rfc4733,
    /// SIP INFO.
    SipInfo,
    /// In-band tones detected in the audio.
    Inband,
}

/// A digit pressed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfEvent {
    /// The digit.
    pub digit: Digit,
    /// How long it was held, as far as known.
    pub duration: Duration,
    /// How it was signalled.
    pub source: DtmfSource,
    /// False when the event's end was never seen (end packets lost) and it
    /// was closed by a following event or a timeout.
    pub end_seen: bool,
}

/// Configuration of a [`TelephoneEventReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventConfig {
    /// The negotiated payload type of `telephone-event/8000`.
    pub payload_type: u8,
    /// Clock rate of the telephone-event payload type.
    pub clock_rate: u32,
    /// How long after its last packet an event without an end packet is
    /// closed and reported.
    pub end_timeout: Duration,
}

impl TelephoneEventConfig {
    /// The usual setting for `payload_type`: 8 kHz, 300 ms end timeout.
    #[must_use]
    pub const fn new(payload_type: u8) -> Self {
        Self {
            payload_type,
            clock_rate: 8000,
            end_timeout: Duration::from_millis(300),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct CurrentEvent {
    ssrc: u32,
    timestamp: u32,
    event: u8,
    last_seen: Instant,
    /// Duration of earlier segments of a long event (timestamp units).
    earlier: u64,
    duration: u16,
}

const RECENT: usize = 16;
const MAX_QUEUED: usize = 64;

/// Turns RFC 4733 telephone-event packets into digits, each counted once.
///
/// An event is identified by its source and RTP timestamp (RFC 4733 §2.5.2):
/// updates and the (usually three) end packets share it, so any packet with
/// an identifier among the last 16 reported is a retransmission and ignored,
/// even when a sender replays a capture byte for byte. Nothing is assumed
/// about the order of timestamps between events: SIPp's captures all share
/// one SSRC and carry fixed timestamps that are not in key order. An event whose end packets were
/// all lost is reported when the next event starts or, via
/// [`handle_timeout`](Self::handle_timeout), `end_timeout` after its last packet.
#[derive(Debug)]
pub struct TelephoneEventReceiver {
    config: TelephoneEventConfig,
    current: Option<CurrentEvent>,
    recent: [Option<(u32, u32)>; RECENT],
    recent_next: usize,
    events: VecDeque<DtmfEvent>,
    malformed: u64,
}

impl TelephoneEventReceiver {
    /// A receiver for the given payload type.
    #[must_use]
    pub fn new(config: TelephoneEventConfig) -> Self {
        Self {
            config,
            current: None,
            recent: [None; RECENT],
            recent_next: 0,
            events: VecDeque::new(),
            malformed: 0,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &TelephoneEventConfig {
        &self.config
    }

    /// Packets of the event payload type that were too short to parse.
    #[must_use]
    pub const fn malformed_packets(&self) -> u64 {
        self.malformed
    }

    /// Feeds one received RTP packet. Returns whether it carried the
    /// telephone-event payload type (so the caller need not treat it as audio).
    pub fn handle_rtp(&mut self, now: Instant, packet: &RtpPacket<'_>) -> bool {
        if packet.payload_type != self.config.payload_type {
            return false;
        }
        match TelephoneEvent::parse(packet.payload) {
            Ok(ev) => self.handle_event(now, packet.ssrc, packet.timestamp, ev),
            Err(_) => self.malformed = self.malformed.saturating_add(1),
        }
        true
    }

    /// Feeds one already-parsed event from source `ssrc` with RTP `timestamp`.
    pub fn handle_event(&mut self, now: Instant, ssrc: u32, timestamp: u32, ev: TelephoneEvent) {
        if Digit::from_event_code(ev.event).is_none() {
            // Not a DTMF digit (flash, fax tones, ...): nothing to report.
            return;
        }
        if self.is_recent(ssrc, timestamp) {
            return;
        }
        if let Some(cur) = self.current {
            if cur.ssrc == ssrc && cur.timestamp == timestamp {
                if let Some(cur) = self.current.as_mut() {
                    cur.last_seen = now;
                    cur.duration = cur.duration.max(ev.duration);
                }
                if ev.end {
                    self.finish(true);
                }
                return;
            }
            if cur.ssrc == ssrc {
                // A long event continues in a new segment at ts + duration (§2.5.1.3).
                if cur.event == ev.event
                    && timestamp == cur.timestamp.wrapping_add(u32::from(cur.duration))
                    && cur.duration > 0
                {
                    self.remember(cur.ssrc, cur.timestamp);
                    self.current = Some(CurrentEvent {
                        timestamp,
                        earlier: cur.earlier + u64::from(cur.duration),
                        duration: ev.duration,
                        last_seen: now,
                        ..cur
                    });
                    if ev.end {
                        self.finish(true);
                    }
                    return;
                }
            }
            // A new event while the current one never ended: its end packets
            // were lost. Its timestamp may well be lower than the current
            // one's: senders replaying captures (SIPp) reuse fixed ones.
            self.finish(false);
        }
        self.current = Some(CurrentEvent {
            ssrc,
            timestamp,
            event: ev.event,
            last_seen: now,
            earlier: 0,
            duration: ev.duration,
        });
        if ev.end {
            self.finish(true);
        }
    }

    fn is_recent(&self, ssrc: u32, timestamp: u32) -> bool {
        self.recent.contains(&Some((ssrc, timestamp)))
    }

    fn remember(&mut self, ssrc: u32, timestamp: u32) {
        self.recent[self.recent_next] = Some((ssrc, timestamp));
        self.recent_next = (self.recent_next + 1) % RECENT;
    }

    fn finish(&mut self, end_seen: bool) {
        let Some(cur) = self.current.take() else {
            return;
        };
        self.remember(cur.ssrc, cur.timestamp);
        let Some(digit) = Digit::from_event_code(cur.event) else {
            return;
        };
        let units = cur.earlier + u64::from(cur.duration);
        let rate = u64::from(self.config.clock_rate.max(1));
        let duration = Duration::from_micros(units * 1_000_000 / rate);
        if self.events.len() >= MAX_QUEUED {
            // The caller is not draining; keep memory bounded, drop the oldest.
            self.events.pop_front();
        }
        self.events.push_back(DtmfEvent {
            digit,
            duration,
            source: DtmfSource::Rfc4733,
            end_seen,
        });
    }

    /// Closes an event whose end never came, once `end_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(cur) = self.current
            && now.saturating_duration_since(cur.last_seen) >= self.config.end_timeout
        {
            self.finish(false);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        // An end timeout too large to add is one that never fires.
        self.current
            .and_then(|cur| cur.last_seen.checked_add(self.config.end_timeout))
    }

    /// The next digit, in the order pressed.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }
}

/// Writes the RTP packets of one telephone-event (for tests and for sending
/// digits to a leg): `updates` updates `interval` timestamp units apart, then
/// the end packet three times with the same sequence number, the way SIPp's
/// captures do.
#[derive(Debug, Clone, Copy)]
pub struct TelephoneEventBurst {
    /// Header of the first packet: its timestamp is the event's.
    pub first: RtpHeader,
    /// The digit.
    pub digit: Digit,
    /// Number of non-final updates.
    pub updates: u16,
    /// Duration step between updates, in timestamp units.
    pub interval: u16,
}

impl TelephoneEventBurst {
    /// The packets, in sending order.
    pub fn packets(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let total = self.updates + 3;
        (0..total).map(move |i| {
            let is_end = i >= self.updates;
            let step = i.min(self.updates);
            let header = RtpHeader {
                marker: i == 0,
                sequence: self.first.sequence.wrapping_add(step),
                ..self.first
            };
            let ev = TelephoneEvent {
                event: self.digit.event_code(),
                end: is_end,
                volume: 10,
                duration: self.interval.saturating_mul(step + 1),
            };
            let mut out = Vec::with_capacity(16);
            // Payload types come from `first`; a test passing one above 127
            // gets an empty packet, which receivers ignore.
            let _ = header.write(&ev.to_bytes(), &mut out);
            out
        })
    }
}

/// Why a SIP INFO body did not yield a digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InfoDtmfError {
    /// Neither `application/dtmf-relay` nor `application/dtmf`.
    UnsupportedContentType,
    /// Body is not UTF-8 text.
    NotText,
    /// No `Signal=` line (dtmf-relay) or empty body (dtmf).
    MissingSignal,
    /// The signal is not one of the sixteen digits.
    BadSignal,
    /// The duration is not a number of milliseconds.
    BadDuration,
}

impl fmt::Display for InfoDtmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnsupportedContentType => "INFO content type is not a DTMF type",
            Self::NotText => "INFO DTMF body is not text",
            Self::MissingSignal => "INFO DTMF body has no signal",
            Self::BadSignal => "INFO DTMF signal is not a digit",
            Self::BadDuration => "INFO DTMF duration is not a number",
        })
    }
}

impl std::error::Error for InfoDtmfError {}

/// Whether a Content-Type (parameters allowed) is one of the DTMF INFO types.
#[must_use]
pub fn is_dtmf_info_type(content_type: &str) -> bool {
    info_kind(content_type).is_some()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InfoKind {
    Relay,
    Dtmf,
}

fn info_kind(content_type: &str) -> Option<InfoKind> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/dtmf-relay") {
        Some(InfoKind::Relay)
    } else if media.eq_ignore_ascii_case("application/dtmf") {
        Some(InfoKind::Dtmf)
    } else {
        None
    }
}

fn parse_signal(value: &str) -> Result<Digit, InfoDtmfError> {
    let value = value.trim();
    let mut chars = value.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some(d) = Digit::from_char(c)
    {
        return Ok(d);
    }
    // Some gateways send the RFC 4733 event code instead ("Signal=11" for #).
    value
        .parse::<u8>()
        .ok()
        .and_then(Digit::from_event_code)
        .ok_or(InfoDtmfError::BadSignal)
}

/// Reads the digit from a SIP INFO body.
///
/// `application/dtmf-relay` bodies are `Signal=5` and `Duration=160` lines
/// (any order, keys case-insensitive, other keys ignored; duration in ms).
/// `application/dtmf` bodies are the digit alone; the `Signal=` form is
/// accepted there too since phones send it.
///
/// # Errors
/// [`InfoDtmfError`] when the type is not a DTMF type or the body holds no digit.
pub fn parse_dtmf_info(content_type: &str, body: &[u8]) -> Result<DtmfEvent, InfoDtmfError> {
    let kind = info_kind(content_type).ok_or(InfoDtmfError::UnsupportedContentType)?;
    let text = core::str::from_utf8(body).map_err(|_| InfoDtmfError::NotText)?;
    let mut signal = None;
    let mut duration = None;
    let has_keys = text.contains('=');
    if kind == InfoKind::Dtmf && !has_keys {
        let value = text.trim();
        if value.is_empty() {
            return Err(InfoDtmfError::MissingSignal);
        }
        signal = Some(parse_signal(value)?);
    } else {
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.eq_ignore_ascii_case("signal") {
                signal = Some(parse_signal(value)?);
            } else if key.eq_ignore_ascii_case("duration") {
                let ms = value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| InfoDtmfError::BadDuration)?;
                duration = Some(Duration::from_millis(ms));
            }
        }
    }
    let digit = signal.ok_or(InfoDtmfError::MissingSignal)?;
    Ok(DtmfEvent {
        digit,
        // The customary default when a body names no duration.
        duration: duration.unwrap_or(Duration::from_millis(250)),
        source: DtmfSource::SipInfo,
        end_seen: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_codes_and_chars() {
        for (i, d) in Digit::ALL.iter().enumerate() {
            assert_eq!(usize::from(d.event_code()), i);
            assert_eq!(Digit::from_char(d.as_char()), Some(*d));
        }
        assert_eq!(Digit::from_event_code(16), None);
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::Pound.to_string(), "#");
        assert_eq!(Digit::from_char('b'), Some(Digit::B));
    }

    #[test]
    fn event_payload_round_trip() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        assert_eq!(ev.to_bytes(), [11, 0x8A, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(TelephoneEventError::TooShort)
        );
    }

    #[test]
    fn info_relay_bodies() {
        let ev =
            parse_dtmf_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n").unwrap();
        assert_eq!(ev.digit, Digit::D5);
        assert_eq!(ev.duration, Duration::from_millis(160));
        assert_eq!(ev.source, DtmfSource::SipInfo);
        let ev = parse_dtmf_info(
            "Application/DTMF-Relay; charset=x",
            b"duration = 100\nsignal = #\n",
        )
        .unwrap();
        assert_eq!(
            (ev.digit, ev.duration),
            (Digit::Pound, Duration::from_millis(100))
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", b"Signal=11")
                .unwrap()
                .digit,
            Digit::Pound
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", b"Signal=*")
                .unwrap()
                .digit,
            Digit::Star
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", b"Duration=100"),
            Err(InfoDtmfError::MissingSignal)
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", b"Signal=!"),
            Err(InfoDtmfError::BadSignal)
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", b"Signal=1\nDuration=x"),
            Err(InfoDtmfError::BadDuration)
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf-relay", &[0xFF, 0xFE]),
            Err(InfoDtmfError::NotText)
        );
    }

    #[test]
    fn info_dtmf_bodies() {
        assert_eq!(
            parse_dtmf_info("application/dtmf", b"7").unwrap().digit,
            Digit::D7
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf", b" *\r\n")
                .unwrap()
                .digit,
            Digit::Star
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf", b"Signal=9")
                .unwrap()
                .digit,
            Digit::D9
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf", b""),
            Err(InfoDtmfError::MissingSignal)
        );
        assert_eq!(
            parse_dtmf_info("application/dtmf", b"16"),
            Err(InfoDtmfError::BadSignal)
        );
        assert_eq!(
            parse_dtmf_info("application/sdp", b"1"),
            Err(InfoDtmfError::UnsupportedContentType)
        );
        assert!(is_dtmf_info_type("application/dtmf"));
        assert!(!is_dtmf_info_type("application/dtmfx"));
    }
}
