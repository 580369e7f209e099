//! The recording tap: both directions of a call as one two-channel 8 kHz
//! stream (channel 1 the station, channel 2 the outside party).
//!
//! Each channel's packets are placed on a common timeline by their RTP
//! timestamps, anchored to their arrival time when a source starts (or
//! jumps). Output runs `jitter` behind real time, so packets reordered
//! within that window land in place; samples nobody wrote are silence, so
//! the channels stay aligned through loss, pauses and source changes.
//! Memory is a fixed ring per channel (about 20 KB each with the default
//! 200 ms window), so drain [`RecordingTap::poll_chunk`] after every input
//! and timeout, as with every object here.

use std::time::{Duration, Instant};

use crate::g711::G711;

/// One side of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The station (channel 1, left).
    Station = 0,
    /// The outside party (channel 2, right).
    Outside = 1,
}

/// Tap settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapConfig {
    /// How far output runs behind real time; packets later than this are dropped.
    pub jitter: Duration,
    /// Frames per output chunk.
    pub chunk_frames: usize,
}

impl Default for TapConfig {
    fn default() -> Self {
        Self {
            jitter: Duration::from_millis(200),
            chunk_frames: 160,
        }
    }
}

/// Counters of a tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapStats {
    /// Samples placed, per channel.
    pub samples: [u64; 2],
    /// Samples dropped for arriving after their time was written out.
    pub late_samples: [u64; 2],
    /// Times a channel's timeline was re-anchored (new SSRC, jump).
    pub resyncs: [u64; 2],
    /// Samples dropped because chunks were not drained in time.
    pub overrun_samples: [u64; 2],
    /// Frames written out.
    pub frames_out: u64,
}

/// A timestamp this far (in samples) behind where arrival says it should be
/// means the source jumped back: re-anchor rather than trust it.
const RESYNC_BEHIND: i64 = 8000;
/// Ahead of arrival, the limit is tighter (250 ms): it bounds the ring.
const RESYNC_AHEAD: i64 = 2000;
/// Largest packet placed whole (256 ms); longer ones are cut.
const MAX_PACKET: i64 = 2048;
/// How far output may lag behind what is ready (500 ms) before new audio
/// no longer fits: chunks should be drained after every input.
const POLL_SLACK: i64 = 4000;

/// Too-late packets in a row that make a channel re-anchor.
const LATE_RUN_RESYNC: u32 = 5;

#[derive(Debug, Clone, Copy)]
struct Anchor {
    ssrc: u32,
    ts: u32,
    pos: i64,
}

/// Two channels in, interleaved 16-bit frames out.
#[derive(Debug)]
pub struct RecordingTap {
    config: TapConfig,
    start: Instant,
    jitter_samples: i64,
    /// Timeline position of the next frame to write out.
    emitted: i64,
    /// Positions below this may be written out.
    ready_until: i64,
    /// Highest position written, for the final flush.
    high_water: i64,
    anchors: [Option<Anchor>; 2],
    /// Packets in a row, per channel, that came too late to place.
    late_run: [u32; 2],
    /// One ring per channel, indexed by position modulo its length.
    rings: [Vec<i16>; 2],
    out: Vec<i16>,
    stats: TapStats,
}

impl RecordingTap {
    /// A tap whose timeline starts at `now`.
    #[must_use]
    pub fn new(now: Instant, config: TapConfig) -> Self {
        let chunk = config.chunk_frames.max(1);
        let jitter_samples = duration_samples(config.jitter);
        // Room for the jitter window, a resync's worth of early data and a chunk.
        let ring_len = usize::try_from(jitter_samples + RESYNC_AHEAD + MAX_PACKET + POLL_SLACK)
            .unwrap_or(usize::MAX / 4)
            + 2 * chunk;
        Self {
            config: TapConfig {
                chunk_frames: chunk,
                ..config
            },
            start: now,
            jitter_samples,
            emitted: 0,
            ready_until: 0,
            high_water: 0,
            anchors: [None; 2],
            late_run: [0; 2],
            rings: [vec![0; ring_len], vec![0; ring_len]],
            out: Vec::with_capacity(chunk * 2),
            stats: TapStats::default(),
        }
    }

    /// Counters.
    #[must_use]
    pub const fn stats(&self) -> TapStats {
        self.stats
    }

    fn position(&self, now: Instant) -> i64 {
        duration_samples(now.saturating_duration_since(self.start))
    }

    /// Adds G.711 audio that arrived at `now` on `channel`.
    pub fn handle_g711(
        &mut self,
        now: Instant,
        channel: Channel,
        ssrc: u32,
        timestamp: u32,
        codec: G711,
        payload: &[u8],
    ) {
        let table = codec.decode_table();
        let payload = &payload[..payload.len().min(MAX_PACKET as usize)];
        let Some((pos, skip)) = self.place(now, channel, ssrc, timestamp, payload.len()) else {
            return;
        };
        let ring = &mut self.rings[channel as usize];
        let at = ring_index(pos + skip as i64, ring.len());
        let (first, second) = split_at_ring(ring, at, payload.len() - skip);
        let (a, b) = payload[skip..].split_at(first.len());
        for (dst, &code) in first.iter_mut().zip(a).chain(second.iter_mut().zip(b)) {
            *dst = table[usize::from(code)];
        }
    }

    /// Adds linear audio that arrived at `now` on `channel`.
    pub fn handle_samples(
        &mut self,
        now: Instant,
        channel: Channel,
        ssrc: u32,
        timestamp: u32,
        samples: &[i16],
    ) {
        let samples = &samples[..samples.len().min(MAX_PACKET as usize)];
        let Some((pos, skip)) = self.place(now, channel, ssrc, timestamp, samples.len()) else {
            return;
        };
        let ring = &mut self.rings[channel as usize];
        let at = ring_index(pos + skip as i64, ring.len());
        let (first, second) = split_at_ring(ring, at, samples.len() - skip);
        let (a, b) = samples[skip..].split_at(first.len());
        first.copy_from_slice(a);
        second.copy_from_slice(b);
    }

    /// Maps a packet to its timeline position; returns the position and how
    /// many leading samples fall before what was already written out.
    fn place(
        &mut self,
        now: Instant,
        channel: Channel,
        ssrc: u32,
        timestamp: u32,
        count: usize,
    ) -> Option<(i64, usize)> {
        let c = channel as usize;
        let arrival = self.position(now);
        self.advance(arrival);
        let count = i64::try_from(count).ok()?;
        let mapped = match self.anchors[c] {
            Some(a) if a.ssrc == ssrc => {
                Some(a.pos + i64::from(timestamp.wrapping_sub(a.ts) as i32))
            }
            _ => None,
        };
        // A new source, timestamps that no longer agree with arrival, or a
        // run of packets all too late (a short clip replayed with its old
        // timestamps): anchor this packet at its arrival, less its length
        // (it was captured before it was sent).
        let too_late = |p: i64| p + count <= self.emitted;
        let resync = match mapped {
            None => true,
            Some(p) => {
                p - arrival > RESYNC_AHEAD
                    || arrival - p > RESYNC_BEHIND
                    || (too_late(p) && self.late_run[c] + 1 >= LATE_RUN_RESYNC)
            }
        };
        let mut pos = mapped.unwrap_or(arrival);
        if resync {
            if self.anchors[c].is_some() {
                self.stats.resyncs[c] += 1;
            }
            pos = (arrival - count).max(self.emitted);
            self.anchors[c] = Some(Anchor {
                ssrc,
                ts: timestamp,
                pos,
            });
        }
        let ring_len = self.rings[c].len() as i64;
        let end = pos + count;
        if end <= self.emitted {
            self.stats.late_samples[c] += count as u64;
            self.late_run[c] = self.late_run[c].saturating_add(1);
            return None;
        }
        self.late_run[c] = 0;
        if end > self.emitted + ring_len {
            // Output was not drained for longer than the slack allows.
            self.stats.overrun_samples[c] += count as u64;
            return None;
        }
        let skip = (self.emitted - pos).max(0);
        self.stats.late_samples[c] += skip as u64;
        self.stats.samples[c] += (count - skip) as u64;
        self.high_water = self.high_water.max(end);
        // `skip` is within 0..count, which came from a usize.
        Some((pos, usize::try_from(skip).unwrap_or(0)))
    }

    fn advance(&mut self, arrival: i64) {
        self.ready_until = self.ready_until.max(arrival - self.jitter_samples);
    }

    /// Lets output advance to `now` less the jitter window.
    pub fn handle_timeout(&mut self, now: Instant) {
        let arrival = self.position(now);
        self.advance(arrival);
    }

    /// When the next chunk will be ready.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        let due = self.emitted + self.config.chunk_frames as i64 + self.jitter_samples;
        self.start + Duration::from_micros(u64::try_from(due).unwrap_or(0) * 125)
    }

    /// The call ended: everything placed may be written out without waiting.
    pub fn finish(&mut self) {
        let chunk = self.config.chunk_frames as i64;
        let end = self.high_water.max(self.emitted);
        self.ready_until = self.ready_until.max((end + chunk - 1) / chunk * chunk);
    }

    /// The next chunk of interleaved frames (station, outside), if ready.
    pub fn poll_chunk(&mut self) -> Option<&[i16]> {
        let chunk = self.config.chunk_frames;
        if self.emitted + chunk as i64 > self.ready_until {
            return None;
        }
        self.out.clear();
        let [station, outside] = &mut self.rings;
        let at = ring_index(self.emitted, station.len());
        let (s1, s2) = split_at_ring(station, at, chunk);
        let (o1, o2) = split_at_ring(outside, at, chunk);
        for (s, o) in [(s1, o1), (s2, o2)] {
            self.out
                .extend(s.iter().zip(o.iter()).flat_map(|(&a, &b)| [a, b]));
            // Leave silence behind for the ring's next lap.
            s.fill(0);
            o.fill(0);
        }
        self.emitted += chunk as i64;
        self.stats.frames_out += chunk as u64;
        Some(&self.out)
    }

    /// Like [`poll_chunk`](Self::poll_chunk), encoded to two-channel G.711
    /// appended to `out`. Returns whether a chunk was ready.
    pub fn poll_chunk_g711(&mut self, codec: G711, out: &mut Vec<u8>) -> bool {
        match self.poll_chunk() {
            Some(frames) => {
                codec.encode_into(frames, out);
                true
            }
            None => false,
        }
    }
}

/// The `count` ring slots from `at` on, as one or two slices (the ring wraps).
/// `count` never exceeds the ring length here (packets and chunks are far smaller).
fn split_at_ring(ring: &mut [i16], at: usize, count: usize) -> (&mut [i16], &mut [i16]) {
    let count = count.min(ring.len());
    let (head, tail) = ring.split_at_mut(at);
    if count <= tail.len() {
        (&mut tail[..count], &mut [])
    } else {
        let wrap = count - tail.len();
        (tail, &mut head[..wrap])
    }
}

/// Where timeline position `pos` lives in a ring of `len` samples.
fn ring_index(pos: i64, len: usize) -> usize {
    // `len` is a few tens of thousands; the remainder is below it.
    pos.rem_euclid(len as i64) as usize
}

fn duration_samples(d: Duration) -> i64 {
    i64::try_from(d.as_micros() / 125).unwrap_or(i64::MAX / 4)
}
