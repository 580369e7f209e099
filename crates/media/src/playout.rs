//! Prompt playout: G.711 audio paced out in packets of the leg's packet
//! time, driven by `handle_timeout(now)`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::g711::G711;
use crate::sender::RtpSender;

/// A prompt: G.711 samples at 8 kHz, shared between all calls that play it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    codec: G711,
    samples: Arc<[u8]>,
}

impl Prompt {
    /// A prompt from G.711 bytes in `codec`.
    #[must_use]
    pub fn new(codec: G711, samples: impl Into<Arc<[u8]>>) -> Self {
        Self {
            codec,
            samples: samples.into(),
        }
    }

    /// A prompt encoded from 16-bit linear samples.
    #[must_use]
    pub fn from_linear(codec: G711, samples: &[i16]) -> Self {
        let mut bytes = Vec::with_capacity(samples.len());
        codec.encode_into(samples, &mut bytes);
        Self::new(codec, bytes)
    }

    /// The law the samples are in.
    #[must_use]
    pub const fn codec(&self) -> G711 {
        self.codec
    }

    /// The G.711 bytes.
    #[must_use]
    pub fn samples(&self) -> &[u8] {
        &self.samples
    }

    /// Playing time.
    #[must_use]
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 125)
    }
}

/// What a [`PromptPlayer`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlayoutEvent {
    /// Every queued prompt has been sent.
    Finished,
}

/// Plays queued prompts to one leg, one packet per packet time.
///
/// Packets are scheduled from the moment playing started (not from the
/// previous call), so a late `handle_timeout` sends the overdue packets at
/// once and the timestamps never drift. Prompts queued back to back play as
/// one talkspurt: the marker is set only on the first packet after silence.
/// The last packet is padded with silence to a whole packet time.
#[derive(Debug)]
pub struct PromptPlayer {
    queue: VecDeque<Prompt>,
    /// Position in the front prompt.
    offset: usize,
    next_send: Option<Instant>,
    frame: Vec<u8>,
    events: VecDeque<PlayoutEvent>,
    /// The next packet starts a talkspurt.
    starting: bool,
}

impl PromptPlayer {
    /// A silent player.
    #[must_use]
    pub fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            offset: 0,
            next_send: None,
            frame: Vec::new(),
            events: VecDeque::new(),
            starting: true,
        }
    }

    /// Queues `prompt` after anything already playing; starts at `now` if idle.
    pub fn play(&mut self, now: Instant, prompt: Prompt) {
        if prompt.samples.is_empty() {
            if self.queue.is_empty() {
                self.events.push_back(PlayoutEvent::Finished);
            }
            return;
        }
        if self.next_send.is_none() {
            self.next_send = Some(now);
        }
        self.queue.push_back(prompt);
    }

    /// Stops at once and forgets the queue (a caller who pressed a key
    /// during a prompt, a call that ends). No `Finished` is reported.
    pub fn stop(&mut self) {
        self.queue.clear();
        self.offset = 0;
        self.next_send = None;
        self.starting = true;
    }

    /// Whether anything is left to send.
    #[must_use]
    pub fn is_playing(&self) -> bool {
        self.next_send.is_some()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    #[must_use]
    pub const fn poll_timeout(&self) -> Option<Instant> {
        self.next_send
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PlayoutEvent> {
        self.events.pop_front()
    }

    /// Sends every packet due by `now` through `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut RtpSender) {
        let frame_len = out.ptime().samples();
        let codec = out.codec();
        while let Some(due) = self.next_send {
            if due > now {
                break;
            }
            self.frame.clear();
            while self.frame.len() < frame_len {
                let Some(prompt) = self.queue.front() else {
                    break;
                };
                let take = (frame_len - self.frame.len()).min(prompt.samples.len() - self.offset);
                prompt.codec.transcode_into(
                    codec,
                    &prompt.samples[self.offset..self.offset + take],
                    &mut self.frame,
                );
                self.offset += take;
                if self.offset >= prompt.samples.len() {
                    self.queue.pop_front();
                    self.offset = 0;
                }
            }
            self.frame.resize(frame_len, codec.silence());
            out.send_audio(due, &self.frame, self.starting);
            self.starting = false;
            if self.queue.is_empty() {
                self.next_send = None;
                self.starting = true;
                self.events.push_back(PlayoutEvent::Finished);
            } else {
                self.next_send = Some(due + out.ptime().duration());
            }
        }
    }
}

impl Default for PromptPlayer {
    fn default() -> Self {
        Self::new()
    }
}
