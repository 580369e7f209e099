//! Reception statistics of one RTP source (RFC 3550 §6.4.1, appendix A.1,
//! A.3 and A.8): sequence tracking with wrap-around, loss, interarrival
//! jitter, and the report block an RTCP RR or SR carries about the source.

use std::time::{Duration, Instant};

use crate::rtcp::{ReportBlock, SenderInfo};
use crate::rtp::RtpPacket;

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u8 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// What [`ReceiveStats`] keeps about one source.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    ssrc: Option<u32>,
    /// Arrival time origin for the jitter computation.
    origin: Option<Instant>,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u8,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    last_transit: Option<i64>,
    /// Jitter in timestamp units, scaled by 16 (RFC 3550 A.8).
    jitter_q4: u64,
    /// Middle 32 bits of the last SR's NTP timestamp and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl ReceiveStats {
    /// Statistics for a source of payload clocked at `clock_rate` Hz.
    #[must_use]
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            ssrc: None,
            origin: None,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            last_transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    /// The source being tracked (the first seen, or the latest after a change).
    #[must_use]
    pub const fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// RFC 3550 A.1 `update_seq`; false when the packet is not counted.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: accept it as a restart only when the next
            // packet follows it.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, max unchanged.
        self.received += 1;
        true
    }

    /// Counts one received packet that arrived at `now`.
    pub fn handle_rtp(&mut self, now: Instant, packet: &RtpPacket<'_>) {
        if self.ssrc != Some(packet.ssrc) {
            *self = Self::new(self.clock_rate);
            self.ssrc = Some(packet.ssrc);
            self.max_seq = packet.sequence.wrapping_sub(1);
        }
        if !self.update_seq(packet.sequence) {
            return;
        }
        let origin = *self.origin.get_or_insert(now);
        let arrival = now.saturating_duration_since(origin);
        // Arrival in timestamp units, wrapped like RTP timestamps.
        let arrival_units =
            (arrival.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = i64::from(arrival_units.wrapping_sub(packet.timestamp) as i32);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs();
            // J += (|D| - J) / 16, in fixed point scaled by 16.
            self.jitter_q4 =
                self.jitter_q4 + d.min(u64::from(u32::MAX)) - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Remembers a sender report from this source, for LSR/DLSR.
    pub fn handle_sender_report(&mut self, now: Instant, info: &SenderInfo) {
        if self.ssrc.is_none_or(|s| s == info.ssrc) {
            self.last_sr = Some(((info.ntp_timestamp >> 16) as u32, now));
        }
    }

    /// Packets counted.
    #[must_use]
    pub const fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number received (cycles in the high bits).
    #[must_use]
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected from the first to the highest sequence number.
    #[must_use]
    pub fn expected(&self) -> u64 {
        if self.received == 0 {
            return 0;
        }
        u64::from(self.extended_max()).saturating_sub(u64::from(self.base_seq)) + 1
    }

    /// Packets lost so far (negative with duplicates, per RFC 3550).
    #[must_use]
    pub fn lost(&self) -> i64 {
        i64::try_from(self.expected()).unwrap_or(i64::MAX)
            - i64::try_from(self.received).unwrap_or(i64::MAX)
    }

    /// Interarrival jitter, in timestamp units.
    #[must_use]
    pub const fn jitter(&self) -> u32 {
        let j = self.jitter_q4 >> 4;
        if j > u32::MAX as u64 {
            u32::MAX
        } else {
            j as u32
        }
    }

    /// Interarrival jitter as a duration.
    #[must_use]
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// The report block about this source at `now`; starts a new interval
    /// for the fraction lost. `None` before any packet was counted.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let ssrc = self.ssrc?;
        if self.received == 0 {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        // Below 256 since lost_interval ≤ expected_interval; 0 for an empty interval.
        let fraction_lost = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| u8::try_from(f).unwrap_or(u8::MAX));
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                let units = (d.as_nanos() * 65536 / 1_000_000_000).min(u128::from(u32::MAX));
                (lsr, units as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_sequence: self.extended_max(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}
