//! Relaying audio from one leg to the other.
//!
//! The relay never forwards a packet as is: it takes the payload, converts
//! it to the other leg's law if they differ, repacketises it to that leg's
//! packet time and writes it through the other leg's [`RtpSender`], which
//! owns SSRC, sequence and timestamp. So the outgoing stream stays one
//! continuous stream when the source changes SSRC, restarts its timestamps
//! (a replayed capture) or follows prompts.
//!
//! The relay holds no recording sink: audio reaches a recording only through
//! a [`RecordingTap`] that the [`Bridge`] was given.

use std::time::Instant;

use crate::dtmf::TelephoneEvent;
use crate::g711::G711;
use crate::rtp::RtpPacket;
use crate::sender::RtpSender;
use crate::tap::{Channel, RecordingTap};

/// What to do with telephone-events arriving on the source leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfMode {
    /// Send them on to the other leg (if it negotiated telephone-event).
    Forward,
    /// Drop them: the switch consumes the digits.
    Consume,
}

/// Configuration of one direction of relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// The telephone-event payload type negotiated on the source leg.
    pub event_payload_type: Option<u8>,
    /// Forward or consume telephone-events.
    pub dtmf: DtmfMode,
}

/// Counters of one relay direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayStats {
    /// Audio packets accepted.
    pub audio_packets: u64,
    /// Packets of payload types we do not carry.
    pub unknown_payload: u64,
    /// Audio packets dropped as late or duplicate.
    pub late: u64,
    /// Samples of silence inserted for lost packets.
    pub concealed_samples: u64,
    /// Times the source restarted (new SSRC, timestamp jump).
    pub resyncs: u64,
    /// Telephone-event packets forwarded.
    pub events_forwarded: u64,
}

/// Largest loss (in samples) filled with silence instead of starting a new talkspurt.
const MAX_FILL: u32 = 1600;
/// How far back (in samples) a timestamp may be and still count as a late packet
/// rather than a restarted stream.
const MAX_LATE: u32 = 4000;
/// Late packets in a row that mean the source restarted its timestamps
/// slightly in the past (a short clip replayed) rather than arriving late.
const LATE_RUN_RESTART: u32 = 5;

#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    /// Source timestamp of the sample after the last one taken.
    next_ts: u32,
}

/// One direction of the relay: source leg in, other leg's [`RtpSender`] out.
#[derive(Debug)]
pub struct Relay {
    config: RelayConfig,
    source: Option<Source>,
    /// Samples (in the output law) not yet sent.
    fifo: Vec<u8>,
    /// The next packet starts a talkspurt.
    talkspurt: bool,
    /// Last forwarded event: (source SSRC, source timestamp, our timestamp).
    event: Option<(u32, u32, u32)>,
    /// Late packets in a row.
    late_run: u32,
    stats: RelayStats,
}

/// What a packet given to [`Relay::handle_rtp`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Relayed {
    /// G.711 audio, in this law.
    Audio(G711),
    /// A telephone-event.
    Event,
    /// Audio in this law, not relayed as it came late or twice.
    Late(G711),
    /// A payload type we do not carry.
    Ignored,
}

impl Relay {
    /// A relay that has seen nothing.
    #[must_use]
    pub fn new(config: RelayConfig) -> Self {
        Self {
            config,
            source: None,
            fifo: Vec::with_capacity(1600),
            talkspurt: true,
            event: None,
            late_run: 0,
            stats: RelayStats::default(),
        }
    }

    /// Counters.
    #[must_use]
    pub const fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Relays one packet from the source leg into `out`.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        packet: &RtpPacket<'_>,
        out: &mut RtpSender,
    ) -> Relayed {
        if Some(packet.payload_type) == self.config.event_payload_type {
            self.handle_event(now, packet, out);
            return Relayed::Event;
        }
        let Some(codec) = G711::from_payload_type(packet.payload_type) else {
            self.stats.unknown_payload += 1;
            return Relayed::Ignored;
        };
        if !self.accept_timing(now, packet, out) {
            self.stats.late += 1;
            return Relayed::Late(codec);
        }
        self.stats.audio_packets += 1;
        let len = u32::try_from(packet.payload.len()).unwrap_or(u32::MAX);
        if let Some(src) = self.source.as_mut() {
            src.next_ts = packet.timestamp.wrapping_add(len);
        }
        codec.transcode_into(out.codec(), packet.payload, &mut self.fifo);
        self.drain(now, out);
        Relayed::Audio(codec)
    }

    /// Decides whether the packet continues the source, fills small gaps with
    /// silence and starts a new talkspurt on a restart. False for a late packet.
    fn accept_timing(&mut self, now: Instant, packet: &RtpPacket<'_>, out: &mut RtpSender) -> bool {
        let restart = match self.source {
            Some(src) if src.ssrc == packet.ssrc => {
                let delta = packet.timestamp.wrapping_sub(src.next_ts);
                if delta == 0 {
                    false
                } else if delta >= u32::MAX - MAX_LATE && self.late_run + 1 < LATE_RUN_RESTART {
                    self.late_run += 1;
                    return false;
                } else if delta >= u32::MAX - MAX_LATE {
                    true
                } else if delta <= MAX_FILL && !packet.marker {
                    self.fill_silence(now, delta as usize, out);
                    false
                } else {
                    true
                }
            }
            _ => true,
        };
        self.late_run = 0;
        if restart {
            if self.source.is_some() {
                self.stats.resyncs += 1;
            }
            self.flush(now, out);
            self.source = Some(Source {
                ssrc: packet.ssrc,
                next_ts: packet.timestamp,
            });
            self.talkspurt = true;
        }
        true
    }

    fn fill_silence(&mut self, now: Instant, samples: usize, out: &mut RtpSender) {
        self.stats.concealed_samples += samples as u64;
        let silence = out.codec().silence();
        self.fifo.resize(self.fifo.len() + samples, silence);
        self.drain(now, out);
    }

    /// Sends every whole packet in the FIFO.
    fn drain(&mut self, now: Instant, out: &mut RtpSender) {
        let frame = out.ptime().samples();
        let mut start = 0;
        while self.fifo.len() - start >= frame {
            out.send_audio(now, &self.fifo[start..start + frame], self.talkspurt);
            self.talkspurt = false;
            start += frame;
        }
        if start > 0 {
            self.fifo.drain(..start);
        }
    }

    /// Sends what is left in the FIFO, padded with silence to a whole
    /// packet (the source stopped or is about to change).
    pub fn flush(&mut self, now: Instant, out: &mut RtpSender) {
        if self.fifo.is_empty() {
            return;
        }
        let frame = out.ptime().samples();
        let padded = self.fifo.len().div_ceil(frame) * frame;
        self.fifo.resize(padded, out.codec().silence());
        self.drain(now, out);
    }

    fn handle_event(&mut self, now: Instant, packet: &RtpPacket<'_>, out: &mut RtpSender) {
        if self.config.dtmf == DtmfMode::Consume || out.config().event_payload_type.is_none() {
            return;
        }
        let Ok(ev) = TelephoneEvent::parse(packet.payload) else {
            return;
        };
        let (ts, first) = match self.event {
            Some((ssrc, src_ts, ts)) if ssrc == packet.ssrc && src_ts == packet.timestamp => {
                (ts, false)
            }
            _ => {
                // Audio queued before the digit goes first.
                self.flush(now, out);
                let ts = out.event_timestamp(now);
                self.event = Some((packet.ssrc, packet.timestamp, ts));
                (ts, true)
            }
        };
        if out.send_event(ts, first, &ev) {
            self.stats.events_forwarded += 1;
        }
    }
}

/// Which leg a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The station (the person in custody).
    Station,
    /// The outside party.
    Outside,
}

/// Both directions of a bridged call, and the recording tap when the call
/// is recorded.
///
/// A bridge is created without a tap; [`Bridge::attach_tap`] adds one. A
/// privileged call never calls it, and with no tap the bridge decodes and
/// keeps no audio at all.
#[derive(Debug)]
pub struct Bridge {
    station_to_outside: Relay,
    outside_to_station: Relay,
    tap: Option<RecordingTap>,
}

impl Bridge {
    /// A bridge with the relay settings of each source leg, and no tap.
    #[must_use]
    pub fn new(from_station: RelayConfig, from_outside: RelayConfig) -> Self {
        Self {
            station_to_outside: Relay::new(from_station),
            outside_to_station: Relay::new(from_outside),
            tap: None,
        }
    }

    /// Starts recording into `tap` (both directions, from now on).
    pub fn attach_tap(&mut self, tap: RecordingTap) {
        self.tap = Some(tap);
    }

    /// Whether a tap is attached.
    #[must_use]
    pub const fn is_recording(&self) -> bool {
        self.tap.is_some()
    }

    /// When the tap's next chunk is due (`None` without a tap): a driver
    /// sleeps until then, calls the tap's `handle_timeout` and drains it.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tap.as_ref().map(RecordingTap::poll_timeout)
    }

    /// The tap, to drain its audio.
    pub fn tap_mut(&mut self) -> Option<&mut RecordingTap> {
        self.tap.as_mut()
    }

    /// Detaches and returns the tap (at the end of the call, to flush it).
    pub fn take_tap(&mut self) -> Option<RecordingTap> {
        self.tap.take()
    }

    /// The relay of one direction, by source leg.
    #[must_use]
    pub const fn relay(&self, from: Leg) -> &Relay {
        match from {
            Leg::Station => &self.station_to_outside,
            Leg::Outside => &self.outside_to_station,
        }
    }

    /// A packet from leg `from`, relayed to `to` (the other leg's sender)
    /// and, when recording, copied into the tap.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        from: Leg,
        packet: &RtpPacket<'_>,
        to: &mut RtpSender,
    ) -> Relayed {
        let relay = match from {
            Leg::Station => &mut self.station_to_outside,
            Leg::Outside => &mut self.outside_to_station,
        };
        let relayed = relay.handle_rtp(now, packet, to);
        if let (Relayed::Audio(codec) | Relayed::Late(codec), Some(tap)) =
            (relayed, self.tap.as_mut())
        {
            let channel = match from {
                Leg::Station => Channel::Station,
                Leg::Outside => Channel::Outside,
            };
            tap.handle_g711(
                now,
                channel,
                packet.ssrc,
                packet.timestamp,
                codec,
                packet.payload,
            );
        }
        relayed
    }
}
