//! The call-flow state machine: what happens between a station picking up and
//! both legs being hung up. Sans-IO, in the style of quinn-proto.
//!
//! The switch creates a [`CallFlow`] when it answers the station's INVITE,
//! feeds it what happens (`handle_*(now, ...)`), performs every [`Action`]
//! from [`CallFlow::poll_action`] until `None`, and calls
//! [`CallFlow::handle_timeout`] at [`CallFlow::poll_timeout`]. The flow never
//! reads a clock, does I/O or draws randomness, so every path runs on a
//! virtual clock in tests.
//!
//! ```text
//! answer ─▶ PIN entry ──#──▶ CheckPin ─Valid─▶ number entry ──#──▶ Authorize
//!             ▲ pin_invalid │ Invalid (3 tries: denied:unknown_pin)     │ Denied: denied_<code>, hang up
//!             └─────────────┘ Locked: pin_locked, hang up               ▼ Allowed
//!                              "you have N minutes", PlaceOutbound ─▶ ringing (45 s: no_answer;
//!                                                                       busy; failed)
//!                                                                         │ Answered
//!   notice (intro, facility, recorded | not recorded) ─▶ choices (20 s: not_accepted)
//!        1: Bridge ─▶ talk ─▶ warning at limit − 60 s ─▶ limit: both legs hung up (completed)
//!        2: refused        9: block_confirm ─9─▶ BlockNumberForFacility (refused)
//!                                   └─other key or 10 s─▶ choices again (3 rounds at most)
//! ```
//!
//! Any hangup (BYE or CANCEL) of either leg at any step ends the call: the
//! other leg hears a short prompt where one fits, then is hung up (or its
//! INVITE cancelled), and [`Action::Finished`] carries the [`CallRecord`].
//! Inputs that do not fit the current step are ignored; nothing panics.
//!
//! Technical drops after acceptance end the call `failed`: a BYE whose
//! signalled cause is a network failure ([`HangupCause::from_q850`]), or no
//! media from the called party for [`Timeouts::media_inactivity`] (the
//! driver reports each packet with [`CallFlow::handle_media`]); then the
//! flow hangs up both legs itself.
//!
//! Invariants kept here: a call is bridged only after the called party heard
//! the whole notice for that call and then pressed 1; a privileged call's
//! notice says it is not recorded and its [`Action::Bridge`] carries the
//! privileged [`Capture`] (no other action records or monitors).

mod prompt;
mod record;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use prompt::{DENY_REASONS, Hundreds, Prompt, SpokenNumber};
pub use record::{CallId, CallRecord, Denial, Disposition, HungUpBy, ParseDispositionError};

use crate::authorize::{CallLimit, Capture, Decision, DenyReason, Terms};
use crate::ids::{FacilityId, PersonId, StationId};
use crate::number::E164Number;
use crate::person::Language;
use crate::pin::Pin;

/// Wrong PINs, and invalid numbers, before the flow gives up.
pub const MAX_TRIES: u8 = 3;
/// Prompts answered with silence (no digit at all) before the flow gives up.
pub const MAX_SILENT_PROMPTS: u8 = 3;
/// Times the called party hears the choices (the first time, and after
/// backing out of a block) before the call counts as not accepted.
pub const MAX_CHOICE_ROUNDS: u8 = 3;
/// The longest PIN sent to the driver; longer entries are wrong PINs.
pub const MAX_PIN_DIGITS: usize = 12;
/// Digits kept in an entry; more make it invalid (but are still read to `#`).
const MAX_ENTRY_DIGITS: usize = 16;
/// Digits kept while a PIN is being checked (type-ahead for the number).
const MAX_TYPEAHEAD: usize = 32;
/// No call lasts longer, whatever the terms say.
pub const MAX_CALL_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The flow's timers. [`Timeouts::default`] gives the documented values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// From the end of an entry prompt to the first digit (10 s); then the
    /// prompt is played again.
    pub first_digit: Duration,
    /// Between digits (5 s); then what was entered is taken as if `#`
    /// followed.
    pub inter_digit: Duration,
    /// The longest a prompt list may play (60 s); a driver that never reports
    /// the end of a prompt is taken to have finished it then.
    pub prompt_guard: Duration,
    /// The longest the driver may take to answer `CheckPin` or `Authorize`
    /// (15 s); then the call fails.
    pub response: Duration,
    /// From the outbound INVITE to an answer (45 s); then `no_answer`.
    pub ringing: Duration,
    /// From the end of the choices prompt to a choice (20 s); then
    /// `not_accepted`.
    pub choice: Duration,
    /// From the end of the block confirmation prompt to the confirming 9
    /// (10 s); then back to the choices.
    pub block_confirm: Duration,
    /// How long before the time limit both legs hear the warning (60 s).
    /// Calls allowed no longer than this get no warning.
    pub warning_before: Duration,
    /// While bridged, how long the called party's leg may send no media
    /// before the line counts as dropped (20 s): the call ends `failed` and
    /// both legs are hung up. `None` never ends a call for silence.
    pub media_inactivity: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            first_digit: Duration::from_secs(10),
            inter_digit: Duration::from_secs(5),
            prompt_guard: Duration::from_secs(60),
            response: Duration::from_secs(15),
            ringing: Duration::from_secs(45),
            choice: Duration::from_secs(20),
            block_confirm: Duration::from_secs(10),
            warning_before: Duration::from_secs(60),
            media_inactivity: Some(Duration::from_secs(20)),
        }
    }
}

/// One of the sixteen DTMF digits. (`callward-media` has its own `Digit`;
/// core depends on no other crate, so the driver converts with
/// `Digit::from_char(d.as_char())`.)
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

    /// The digit for a character (`0`–`9`, `*`, `#`, `A`–`D` in either case).
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
    pub const fn as_char(self) -> char {
        b"0123456789*#ABCD"[self as usize] as char
    }

    /// `0`–`9` as a character; `None` for `*`, `#` and `A`–`D`.
    pub const fn decimal(self) -> Option<char> {
        if (self as u8) < 10 {
            Some(self.as_char())
        } else {
            None
        }
    }
}

/// A call leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The caller's station.
    Station,
    /// The called party, through the trunk.
    Outside,
}

/// The driver's answer to [`Action::CheckPin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinCheck {
    /// The PIN belongs to this person at the station's facility.
    Valid {
        /// Who.
        person: PersonId,
        /// Their prompt language, used from now on.
        language: Language,
    },
    /// No one has that PIN (or it has the wrong length); the driver has
    /// recorded the failure.
    Invalid,
    /// PIN entry at this station is locked (`pin_locked`).
    Locked,
}

/// Why a leg hung up, as far as its signalling says: the driver reads it
/// from the BYE (RFC 3326 `Reason: Q.850;cause=N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HangupCause {
    /// A hangup: no cause given, normal clearing (16), or any cause that
    /// does not say the network failed.
    Normal,
    /// The network dropped the line ([`HangupCause::Q850_FAILURES`]). After
    /// acceptance the call ends `failed`.
    Failure,
}

impl HangupCause {
    /// The ITU-T Q.850 causes taken as a failure of the line rather than a
    /// hangup: destination out of order (27), no circuit available (34),
    /// network out of order (38), temporary failure (41), switching
    /// equipment congestion (42), requested circuit not available (44),
    /// resource unavailable (47), recovery on timer expiry (102).
    pub const Q850_FAILURES: [u16; 8] = [27, 34, 38, 41, 42, 44, 47, 102];

    /// The cause for a BYE's Q.850 cause value, if it carried one.
    pub fn from_q850(cause: Option<u16>) -> Self {
        match cause {
            Some(c) if Self::Q850_FAILURES.contains(&c) => Self::Failure,
            _ => Self::Normal,
        }
    }
}

/// What happened to the outbound INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outbound {
    /// 180 or 183.
    Ringing,
    /// 2xx: the called party picked up.
    Answered,
    /// 486 or 600.
    Busy,
    /// The trunk gave up ringing (408, 480).
    NoAnswer,
    /// Any other final failure, or none (transport error, timer B).
    Failed {
        /// The final status, if one came.
        status: Option<u16>,
    },
}

impl Outbound {
    /// The event for a response status to the outbound INVITE; `None` for
    /// 100 and other non-events.
    pub fn from_status(status: u16) -> Option<Self> {
        Some(match status {
            180 | 183 => Self::Ringing,
            200..=299 => Self::Answered,
            486 | 600 => Self::Busy,
            408 | 480 => Self::NoAnswer,
            300..=699 => Self::Failed {
                status: Some(status),
            },
            _ => return None,
        })
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Play these prompts on a leg, one after the other, replacing whatever
    /// the leg was hearing (a prompt, or the other leg once bridged) until
    /// they end; then report [`CallFlow::handle_prompt_finished`].
    PlayPrompts {
        /// Where.
        leg: Leg,
        /// Which directory: `prompts/<language>/`.
        language: Language,
        /// What, in order.
        prompts: Vec<Prompt>,
    },
    /// Stop the leg's prompts (the caller started typing). No
    /// `handle_prompt_finished` is expected for them.
    StopPrompts {
        /// Where.
        leg: Leg,
    },
    /// Look the PIN up at the station's facility (checking its length and
    /// the station's lockout, recording a failure) and answer with
    /// [`CallFlow::handle_pin_checked`].
    CheckPin {
        /// As entered; `Debug` redacts it.
        pin: Pin,
    },
    /// Gather the call's facts for this number and the person of the last
    /// valid PIN, run `authorize_call`, and answer with
    /// [`CallFlow::handle_decision`].
    Authorize {
        /// The number dialled.
        number: E164Number,
    },
    /// Send the INVITE to the trunk; report what happens with
    /// [`CallFlow::handle_outbound`].
    PlaceOutbound {
        /// Whom to call.
        number: E164Number,
    },
    /// CANCEL the outbound INVITE (a 200 crossing it is ACKed and BYEd by
    /// the driver; the flow is not told).
    CancelOutbound,
    /// Connect the legs' audio. Attach a recording tap and allow monitoring
    /// only if `capture` is [`Capture::Recorded`].
    Bridge {
        /// What may be captured.
        capture: Capture,
    },
    /// Disconnect the legs' audio and close the recording, if any.
    Unbridge,
    /// The called party confirmed: block calls from this facility to this
    /// number (a called-party block).
    BlockNumberForFacility {
        /// The facility.
        facility: FacilityId,
        /// The called number.
        number: E164Number,
    },
    /// Hang the leg up (BYE).
    Hangup {
        /// Which leg.
        leg: Leg,
    },
    /// The call is over; store its record. Always the last action, exactly
    /// once.
    Finished(Box<CallRecord>),
}

/// What the flow is told when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSetup {
    /// The driver's id for the call.
    pub call_id: CallId,
    /// The station's facility.
    pub facility: FacilityId,
    /// The calling station.
    pub station: StationId,
    /// The language of the first prompts (the facility's default), until a
    /// PIN names the person's.
    pub language: Language,
    /// When the station's INVITE arrived.
    pub offered: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegState {
    /// Not a leg (yet): the outside before `PlaceOutbound`.
    Absent,
    /// INVITE sent, no final answer.
    Placing,
    /// Connected.
    Up { playing: bool },
    /// Playing its last prompts; hung up when they end or at `deadline`.
    Closing { deadline: Instant },
    /// Hung up.
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Pin,
    Number,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: EntryKind,
    digits: String,
    overflow: bool,
    tries: u8,
    silent: u8,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoticePhase {
    /// Intro, facility, recorded or not: digits are not taken yet.
    Body,
    /// 1, 2 or 9.
    Choices,
    /// 9 again to block.
    Confirm,
}

#[derive(Debug, Clone)]
enum Stage {
    Entry(Entry),
    CheckingPin {
        tries: u8,
        deadline: Instant,
    },
    Authorizing {
        deadline: Instant,
    },
    Ringing {
        deadline: Instant,
    },
    Notice {
        phase: NoticePhase,
        rounds: u8,
        deadline: Instant,
    },
    Bridged {
        warn_at: Option<Instant>,
        limit_at: Instant,
        /// When the called party's leg last sent media (acceptance at
        /// first).
        heard: Instant,
    },
    /// Ending: waiting for the legs to be hung up.
    Over,
}

#[derive(Debug, Clone, Copy)]
struct Ending {
    disposition: Disposition,
    who: HungUpBy,
    at: Instant,
    time_limit: Option<CallLimit>,
}

/// How to end a call.
struct End {
    disposition: Disposition,
    who: HungUpBy,
    station: Vec<Prompt>,
    outside: Vec<Prompt>,
    time_limit: Option<CallLimit>,
}

impl End {
    fn new(disposition: Disposition, who: HungUpBy) -> Self {
        Self {
            disposition,
            who,
            station: Vec::new(),
            outside: Vec::new(),
            time_limit: None,
        }
    }

    fn station(mut self, prompts: &[Prompt]) -> Self {
        self.station = prompts.to_vec();
        self
    }

    fn outside(mut self, prompts: &[Prompt]) -> Self {
        self.outside = prompts.to_vec();
        self
    }
}

/// One call, from the station's answered INVITE to its record.
#[derive(Debug)]
pub struct CallFlow {
    setup: CallSetup,
    timeouts: Timeouts,
    station_answered: Instant,
    language: Language,
    stage: Stage,
    station: LegState,
    outside: LegState,
    typeahead: VecDeque<Digit>,
    actions: VecDeque<Action>,
    person: Option<PersonId>,
    dialled: Option<E164Number>,
    terms: Option<Terms>,
    bridged: bool,
    recorded: bool,
    answered: Option<Instant>,
    accepted: Option<Instant>,
    blocked: bool,
    ending: Option<Ending>,
    finished: bool,
}

fn after(now: Instant, d: Duration) -> Instant {
    // Only absurd durations overflow; firing at once is the safe reading.
    now.checked_add(d).unwrap_or(now)
}

impl CallFlow {
    /// A call whose station INVITE was answered at `now`, with the default
    /// [`Timeouts`]. The first action plays the PIN prompt.
    pub fn new(now: Instant, setup: CallSetup) -> Self {
        Self::with_timeouts(now, setup, Timeouts::default())
    }

    /// As [`CallFlow::new`], with other timers.
    pub fn with_timeouts(now: Instant, setup: CallSetup, timeouts: Timeouts) -> Self {
        let language = setup.language;
        let mut flow = Self {
            setup,
            timeouts,
            station_answered: now,
            language,
            stage: Stage::Over,
            station: LegState::Up { playing: false },
            outside: LegState::Absent,
            typeahead: VecDeque::new(),
            actions: VecDeque::new(),
            person: None,
            dialled: None,
            terms: None,
            bridged: false,
            recorded: false,
            answered: None,
            accepted: None,
            blocked: false,
            ending: None,
            finished: false,
        };
        flow.start_entry(now, EntryKind::Pin, &[Prompt::PinPrompt], 0, 0);
        flow
    }

    /// The call's id.
    pub fn call_id(&self) -> &CallId {
        &self.setup.call_id
    }

    /// The language prompts are played in now.
    pub fn language(&self) -> Language {
        self.language
    }

    /// What may be captured, once the call is allowed.
    pub fn capture(&self) -> Option<Capture> {
        self.terms.as_ref().map(|t| t.capture)
    }

    /// Whether [`Action::Finished`] has been queued; nothing happens after.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next thing to do, in order; call until `None` after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`CallFlow::handle_timeout`]; `None` once finished. Never
    /// `None` before: every step has a deadline, so no call waits forever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        [
            self.stage_deadline(),
            closing_deadline(self.station),
            closing_deadline(self.outside),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A digit from a leg (RFC 4733, INFO or in-band, counted once).
    pub fn handle_digit(&mut self, now: Instant, leg: Leg, digit: Digit) {
        if self.finished || self.ending.is_some() {
            return;
        }
        match leg {
            Leg::Station => {
                if !matches!(self.station, LegState::Up { .. }) {
                    return;
                }
                match self.stage {
                    Stage::Entry(_) => self.entry_digit(now, digit),
                    Stage::CheckingPin { .. } if self.typeahead.len() < MAX_TYPEAHEAD => {
                        self.typeahead.push_back(digit);
                    }
                    _ => {}
                }
            }
            Leg::Outside => {
                if matches!(self.outside, LegState::Up { .. })
                    && matches!(self.stage, Stage::Notice { .. })
                {
                    self.notice_digit(now, digit);
                }
            }
        }
    }

    /// The prompts last started on `leg` have played to the end.
    pub fn handle_prompt_finished(&mut self, now: Instant, leg: Leg) {
        if self.finished {
            return;
        }
        match *self.leg_mut(leg) {
            LegState::Closing { .. } => self.hang_up(now, leg),
            LegState::Up { playing: true } => {
                *self.leg_mut(leg) = LegState::Up { playing: false };
                self.prompt_done(now, leg);
            }
            _ => {}
        }
    }

    /// The driver's answer to [`Action::CheckPin`].
    pub fn handle_pin_checked(&mut self, now: Instant, check: PinCheck) {
        if self.finished {
            return;
        }
        let Stage::CheckingPin { tries, .. } = self.stage else {
            return;
        };
        match check {
            PinCheck::Valid { person, language } => {
                self.person = Some(person);
                self.language = language;
                self.start_entry(now, EntryKind::Number, &[Prompt::NumberPrompt], 0, 0);
            }
            PinCheck::Invalid => self.entry_failed(now, EntryKind::Pin, tries),
            PinCheck::Locked => self.end(
                now,
                End::new(
                    Disposition::Denied(Denial::Rule(DenyReason::PinLocked)),
                    HungUpBy::System,
                )
                .station(&[Prompt::PinLocked, Prompt::Goodbye]),
            ),
        }
    }

    /// The driver's answer to [`Action::Authorize`].
    pub fn handle_decision(&mut self, now: Instant, decision: Decision) {
        if self.finished || !matches!(self.stage, Stage::Authorizing { .. }) {
            return;
        }
        let terms = match decision {
            Decision::Denied { reason } => {
                return self.end(
                    now,
                    End::new(Disposition::Denied(Denial::Rule(reason)), HungUpBy::System)
                        .station(&[Prompt::Denied(reason), Prompt::Goodbye]),
                );
            }
            Decision::Allowed(terms) => terms,
        };
        let Some(number) = self.dialled.clone() else {
            // Authorizing is only entered with a number; fail safe anyway.
            return self.end(
                now,
                End::new(Disposition::Failed, HungUpBy::System)
                    .station(&[Prompt::CallFailed, Prompt::Goodbye]),
            );
        };
        let mut prompts = Prompt::minutes_available(terms.max_duration.as_secs());
        prompts.push(Prompt::PleaseWait);
        self.terms = Some(terms);
        self.play(Leg::Station, prompts);
        self.actions.push_back(Action::PlaceOutbound { number });
        self.outside = LegState::Placing;
        self.stage = Stage::Ringing {
            deadline: after(now, self.timeouts.ringing),
        };
    }

    /// What happened to the outbound INVITE.
    pub fn handle_outbound(&mut self, now: Instant, event: Outbound) {
        if self.finished
            || self.outside != LegState::Placing
            || !matches!(self.stage, Stage::Ringing { .. })
        {
            return;
        }
        let (disposition, prompt) = match event {
            Outbound::Ringing => return,
            Outbound::Answered => return self.start_notice(now),
            Outbound::Busy => (Disposition::Busy, Prompt::Busy),
            Outbound::NoAnswer => (Disposition::NoAnswer, Prompt::NoAnswer),
            Outbound::Failed { .. } => (Disposition::Failed, Prompt::CallFailed),
        };
        self.outside = LegState::Down;
        self.end(
            now,
            End::new(disposition, HungUpBy::Outside).station(&[prompt, Prompt::Goodbye]),
        );
    }

    /// A leg hung up: BYE, or CANCEL of the station's INVITE.
    pub fn handle_hangup(&mut self, now: Instant, leg: Leg) {
        self.handle_hangup_with(now, leg, HangupCause::Normal);
    }

    /// A leg hung up with a cause. A [`HangupCause::Failure`] while bridged
    /// ends the call `failed` (a technical drop: the other leg hears
    /// `call_failed`); at other steps it is an ordinary hangup.
    pub fn handle_hangup_with(&mut self, now: Instant, leg: Leg, cause: HangupCause) {
        if self.finished {
            return;
        }
        let state = *self.leg_mut(leg);
        if matches!(state, LegState::Absent | LegState::Down) {
            return;
        }
        *self.leg_mut(leg) = LegState::Down;
        if self.ending.is_some() {
            return self.maybe_finish(now);
        }
        let who = match leg {
            Leg::Station => HungUpBy::Station,
            Leg::Outside => HungUpBy::Outside,
        };
        let end = match (&self.stage, leg) {
            (Stage::Bridged { .. }, _) if cause == HangupCause::Failure => {
                End::new(Disposition::Failed, who)
                    .station(&[Prompt::CallFailed, Prompt::Goodbye])
                    .outside(&[Prompt::CallFailed, Prompt::Goodbye])
            }
            (Stage::Bridged { .. }, _) => End::new(Disposition::Completed, who),
            (Stage::Notice { .. }, Leg::Station) => End::new(Disposition::NotAccepted, who),
            (Stage::Notice { .. }, Leg::Outside) => End::new(Disposition::NotAccepted, who)
                .station(&[Prompt::NotAccepted, Prompt::Goodbye]),
            (Stage::Ringing { .. }, Leg::Station) => End::new(Disposition::NoAnswer, who),
            (Stage::Ringing { .. }, Leg::Outside) => {
                End::new(Disposition::Failed, who).station(&[Prompt::CallFailed, Prompt::Goodbye])
            }
            _ => End::new(Disposition::Abandoned, who),
        };
        self.end(now, end);
    }

    /// Media (any RTP packet) arrived from `leg`. While bridged, the called
    /// party's packets keep [`Timeouts::media_inactivity`] from ending the
    /// call; everything else is ignored.
    pub fn handle_media(&mut self, now: Instant, leg: Leg) {
        if leg == Leg::Outside
            && let Stage::Bridged { heard, .. } = &mut self.stage
        {
            *heard = (*heard).max(now);
        }
    }

    /// The switch is stopping: every leg still up is hung up now, without
    /// prompts. A call not already ending is recorded as `interrupted`
    /// (hung up by the system); one already ending keeps its disposition
    /// and only skips its goodbye prompts.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.end(now, End::new(Disposition::Interrupted, HungUpBy::System));
        for leg in [Leg::Outside, Leg::Station] {
            self.hang_up(now, leg);
        }
    }

    /// Time has come for [`CallFlow::poll_timeout`]; runs every timer due at
    /// `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Each round moves a deadline past `now` or ends a step; the bound
        // only guards against zero timeouts looping.
        for _ in 0..16 {
            if self.finished {
                return;
            }
            let mut fired = false;
            for leg in [Leg::Station, Leg::Outside] {
                if closing_deadline(*self.leg_mut(leg)).is_some_and(|d| d <= now) {
                    self.hang_up(now, leg);
                    fired = true;
                }
            }
            if !self.finished && self.stage_deadline().is_some_and(|d| d <= now) {
                self.stage_timeout(now);
                fired = true;
            }
            if !fired {
                return;
            }
        }
    }

    fn leg_mut(&mut self, leg: Leg) -> &mut LegState {
        match leg {
            Leg::Station => &mut self.station,
            Leg::Outside => &mut self.outside,
        }
    }

    fn stage_deadline(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Entry(e) => Some(e.deadline),
            Stage::CheckingPin { deadline, .. }
            | Stage::Authorizing { deadline }
            | Stage::Ringing { deadline }
            | Stage::Notice { deadline, .. } => Some(*deadline),
            Stage::Bridged {
                warn_at,
                limit_at,
                heard,
            } => [*warn_at, Some(*limit_at), self.media_deadline(*heard)]
                .into_iter()
                .flatten()
                .min(),
            Stage::Over => None,
        }
    }

    fn media_deadline(&self, heard: Instant) -> Option<Instant> {
        self.timeouts.media_inactivity.map(|t| after(heard, t))
    }

    fn play(&mut self, leg: Leg, prompts: Vec<Prompt>) {
        let language = self.language;
        let state = self.leg_mut(leg);
        if !matches!(state, LegState::Up { .. }) || prompts.is_empty() {
            return;
        }
        *state = LegState::Up { playing: true };
        self.actions.push_back(Action::PlayPrompts {
            leg,
            language,
            prompts,
        });
    }

    fn stop(&mut self, leg: Leg) {
        let state = self.leg_mut(leg);
        if *state == (LegState::Up { playing: true }) {
            *state = LegState::Up { playing: false };
            self.actions.push_back(Action::StopPrompts { leg });
        }
    }

    fn leg_playing(&self, leg: Leg) -> bool {
        let state = match leg {
            Leg::Station => self.station,
            Leg::Outside => self.outside,
        };
        state == LegState::Up { playing: true }
    }

    fn hang_up(&mut self, now: Instant, leg: Leg) {
        match *self.leg_mut(leg) {
            LegState::Up { .. } | LegState::Closing { .. } => {
                self.actions.push_back(Action::Hangup { leg });
            }
            LegState::Placing => self.actions.push_back(Action::CancelOutbound),
            LegState::Absent | LegState::Down => return,
        }
        *self.leg_mut(leg) = LegState::Down;
        self.maybe_finish(now);
    }

    // ---- PIN and number entry ----

    fn start_entry(
        &mut self,
        now: Instant,
        kind: EntryKind,
        prompts: &[Prompt],
        tries: u8,
        silent: u8,
    ) {
        self.stage = Stage::Entry(Entry {
            kind,
            digits: String::new(),
            overflow: false,
            tries,
            silent,
            deadline: after(now, self.timeouts.prompt_guard),
        });
        if self.typeahead.is_empty() {
            self.play(Leg::Station, prompts.to_vec());
            return;
        }
        // The caller typed ahead: take those digits as if typed now, and skip
        // the prompt they already answered.
        if let Stage::Entry(e) = &mut self.stage {
            e.deadline = after(now, self.timeouts.inter_digit);
        }
        while let Some(digit) = self.typeahead.pop_front() {
            match self.stage {
                Stage::Entry(_) => self.entry_digit(now, digit),
                Stage::CheckingPin { .. } => {
                    self.typeahead.push_front(digit);
                    return;
                }
                _ => {
                    self.typeahead.clear();
                    return;
                }
            }
        }
    }

    fn entry_digit(&mut self, now: Instant, digit: Digit) {
        self.stop(Leg::Station);
        let inter_digit = after(now, self.timeouts.inter_digit);
        let Stage::Entry(e) = &mut self.stage else {
            return;
        };
        e.deadline = inter_digit;
        match digit {
            Digit::Pound => self.submit(now),
            Digit::Star => {
                e.digits.clear();
                e.overflow = false;
            }
            _ => {
                if let Some(c) = digit.decimal() {
                    if e.digits.len() < MAX_ENTRY_DIGITS {
                        e.digits.push(c);
                    } else {
                        e.overflow = true;
                    }
                }
            }
        }
    }

    fn submit(&mut self, now: Instant) {
        let Stage::Entry(e) = std::mem::replace(&mut self.stage, Stage::Over) else {
            return;
        };
        match e.kind {
            EntryKind::Pin => {
                let pin = if e.overflow || e.digits.len() > MAX_PIN_DIGITS {
                    None
                } else {
                    // At most MAX_PIN_DIGITS here, so the length fits a u8.
                    u8::try_from(e.digits.len())
                        .ok()
                        .filter(|&n| n > 0)
                        .and_then(|n| Pin::parse_entered(&e.digits, n).ok())
                };
                match pin {
                    Some(pin) => {
                        self.actions.push_back(Action::CheckPin { pin });
                        self.stage = Stage::CheckingPin {
                            tries: e.tries,
                            deadline: after(now, self.timeouts.response),
                        };
                    }
                    None => self.entry_failed(now, EntryKind::Pin, e.tries),
                }
            }
            EntryKind::Number => {
                let number = if e.overflow {
                    None
                } else {
                    E164Number::parse(&e.digits).ok()
                };
                match number {
                    Some(number) => {
                        self.typeahead.clear();
                        self.dialled = Some(number.clone());
                        self.actions.push_back(Action::Authorize { number });
                        self.stage = Stage::Authorizing {
                            deadline: after(now, self.timeouts.response),
                        };
                    }
                    None => self.entry_failed(now, EntryKind::Number, e.tries),
                }
            }
        }
    }

    fn entry_failed(&mut self, now: Instant, kind: EntryKind, tries: u8) {
        self.typeahead.clear();
        let tries = tries.saturating_add(1);
        let (invalid, again, denial) = match kind {
            EntryKind::Pin => (
                Prompt::PinInvalid,
                Prompt::PinPrompt,
                Denial::Rule(DenyReason::UnknownPin),
            ),
            EntryKind::Number => (
                Prompt::NumberInvalid,
                Prompt::NumberPrompt,
                Denial::InvalidNumber,
            ),
        };
        if tries >= MAX_TRIES {
            self.end(
                now,
                End::new(Disposition::Denied(denial), HungUpBy::System)
                    .station(&[invalid, Prompt::Goodbye]),
            );
        } else {
            self.start_entry(now, kind, &[invalid, again], tries, 0);
        }
    }

    fn entry_timeout(&mut self, now: Instant) {
        let first_digit = after(now, self.timeouts.first_digit);
        let playing = self.leg_playing(Leg::Station);
        let Stage::Entry(e) = &mut self.stage else {
            return;
        };
        if playing {
            // The driver never reported the prompt's end: take it as ended.
            e.deadline = first_digit;
            self.stop(Leg::Station);
            return;
        }
        if !e.digits.is_empty() || e.overflow {
            return self.submit(now);
        }
        let (kind, tries, silent) = (e.kind, e.tries, e.silent.saturating_add(1));
        if silent >= MAX_SILENT_PROMPTS {
            return self.end(
                now,
                End::new(Disposition::Denied(Denial::NoInput), HungUpBy::System)
                    .station(&[Prompt::Goodbye]),
            );
        }
        let prompt = match kind {
            EntryKind::Pin => Prompt::PinPrompt,
            EntryKind::Number => Prompt::NumberPrompt,
        };
        self.start_entry(now, kind, &[prompt], tries, silent);
    }

    // ---- Notice and choices ----

    fn start_notice(&mut self, now: Instant) {
        self.outside = LegState::Up { playing: false };
        self.answered = Some(now);
        // Fail closed: only terms that say Recorded give the recorded notice.
        let recorded = self.terms.as_ref().is_some_and(Terms::recording);
        let variant = if recorded {
            Prompt::NoticeRecorded
        } else {
            Prompt::NoticeNotRecorded
        };
        self.play(
            Leg::Outside,
            vec![Prompt::NoticeIntro, Prompt::FacilityName, variant],
        );
        self.stage = Stage::Notice {
            phase: NoticePhase::Body,
            rounds: 0,
            deadline: after(now, self.timeouts.prompt_guard),
        };
    }

    fn set_notice(&mut self, now: Instant, phase: NoticePhase, rounds: u8, prompt: Prompt) {
        self.stop(Leg::Outside);
        self.play(Leg::Outside, vec![prompt]);
        self.stage = Stage::Notice {
            phase,
            rounds,
            deadline: after(now, self.timeouts.prompt_guard),
        };
    }

    fn notice_prompt_done(&mut self, now: Instant) {
        let Stage::Notice { phase, rounds, .. } = self.stage else {
            return;
        };
        let wait = match phase {
            NoticePhase::Body => {
                return self.set_notice(now, NoticePhase::Choices, rounds, Prompt::NoticeChoices);
            }
            NoticePhase::Choices => self.timeouts.choice,
            NoticePhase::Confirm => self.timeouts.block_confirm,
        };
        self.stage = Stage::Notice {
            phase,
            rounds,
            deadline: after(now, wait),
        };
    }

    fn back_to_choices(&mut self, now: Instant, rounds: u8) {
        let rounds = rounds.saturating_add(1);
        if rounds >= MAX_CHOICE_ROUNDS {
            self.end(now, not_accepted(HungUpBy::System));
        } else {
            self.set_notice(now, NoticePhase::Choices, rounds, Prompt::NoticeChoices);
        }
    }

    fn notice_digit(&mut self, now: Instant, digit: Digit) {
        let Stage::Notice { phase, rounds, .. } = self.stage else {
            return;
        };
        match (phase, digit) {
            // Acceptance counts only after the whole notice was heard.
            (NoticePhase::Body, _) => {}
            (NoticePhase::Choices, Digit::D1) => self.accept(now),
            (NoticePhase::Choices, Digit::D2) => self.end(
                now,
                End::new(Disposition::Refused, HungUpBy::Outside)
                    .station(&[Prompt::Refused, Prompt::Goodbye])
                    .outside(&[Prompt::Goodbye]),
            ),
            (NoticePhase::Choices, Digit::D9) => {
                self.set_notice(now, NoticePhase::Confirm, rounds, Prompt::BlockConfirm);
            }
            (NoticePhase::Choices, _) => {}
            (NoticePhase::Confirm, Digit::D9) => self.block(now),
            (NoticePhase::Confirm, _) => self.back_to_choices(now, rounds),
        }
    }

    fn block(&mut self, now: Instant) {
        if let Some(number) = self.dialled.clone() {
            self.actions.push_back(Action::BlockNumberForFacility {
                facility: self.setup.facility,
                number,
            });
            self.blocked = true;
        }
        self.end(
            now,
            End::new(Disposition::Refused, HungUpBy::Outside)
                .station(&[Prompt::Refused, Prompt::Goodbye])
                .outside(&[Prompt::BlockedConfirmed, Prompt::Goodbye]),
        );
    }

    fn accept(&mut self, now: Instant) {
        let Some(terms) = &self.terms else {
            // Ringing is only entered with terms; fail safe anyway.
            return self.end(
                now,
                End::new(Disposition::Failed, HungUpBy::System)
                    .station(&[Prompt::CallFailed, Prompt::Goodbye]),
            );
        };
        let capture = terms.capture;
        let max = terms.max_duration.min(MAX_CALL_DURATION);
        self.stop(Leg::Outside);
        self.stop(Leg::Station);
        self.accepted = Some(now);
        self.bridged = true;
        self.recorded = capture == Capture::Recorded;
        self.actions.push_back(Action::Bridge { capture });
        let warn_at = max
            .checked_sub(self.timeouts.warning_before)
            .filter(|left| !left.is_zero())
            .map(|left| after(now, left));
        self.stage = Stage::Bridged {
            warn_at,
            limit_at: after(now, max),
            heard: now,
        };
        self.play(Leg::Station, vec![Prompt::Connected]);
    }

    // ---- Timers, prompt ends, ending ----

    fn prompt_done(&mut self, now: Instant, leg: Leg) {
        match (&mut self.stage, leg) {
            (Stage::Entry(e), Leg::Station) if e.digits.is_empty() && !e.overflow => {
                e.deadline = after(now, self.timeouts.first_digit);
            }
            (Stage::Notice { .. }, Leg::Outside) => self.notice_prompt_done(now),
            _ => {}
        }
    }

    fn stage_timeout(&mut self, now: Instant) {
        match self.stage {
            Stage::Entry(_) => self.entry_timeout(now),
            Stage::CheckingPin { .. } | Stage::Authorizing { .. } => self.end(
                now,
                End::new(Disposition::Failed, HungUpBy::System)
                    .station(&[Prompt::CallFailed, Prompt::Goodbye]),
            ),
            Stage::Ringing { .. } => self.end(
                now,
                End::new(Disposition::NoAnswer, HungUpBy::System)
                    .station(&[Prompt::NoAnswer, Prompt::Goodbye]),
            ),
            Stage::Notice { phase, rounds, .. } => {
                if self.leg_playing(Leg::Outside) {
                    // The driver never reported the prompt's end.
                    self.stop(Leg::Outside);
                    return self.notice_prompt_done(now);
                }
                match phase {
                    NoticePhase::Body | NoticePhase::Choices => {
                        self.end(now, not_accepted(HungUpBy::System));
                    }
                    NoticePhase::Confirm => self.back_to_choices(now, rounds),
                }
            }
            Stage::Bridged {
                warn_at,
                limit_at,
                heard,
            } => {
                let limit = self.limit();
                if limit_at > now && self.media_deadline(heard).is_some_and(|d| d <= now) {
                    // The line went silent: a technical drop, not a hangup.
                    return self.end(
                        now,
                        End::new(Disposition::Failed, HungUpBy::System)
                            .station(&[Prompt::CallFailed, Prompt::Goodbye]),
                    );
                }
                if limit_at <= now {
                    let said = match limit {
                        CallLimit::Balance => Prompt::BalanceSpent,
                        _ => Prompt::TimeLimit,
                    };
                    let mut end = End::new(Disposition::Completed, HungUpBy::System)
                        .station(&[said, Prompt::Goodbye])
                        .outside(&[said, Prompt::Goodbye]);
                    end.time_limit = Some(limit);
                    return self.end(now, end);
                }
                if warn_at.is_some_and(|w| w <= now) {
                    self.stage = Stage::Bridged {
                        warn_at: None,
                        limit_at,
                        heard,
                    };
                    let said = match limit {
                        CallLimit::Balance => Prompt::BalanceWarning,
                        _ => Prompt::OneMinuteWarning,
                    };
                    self.play(Leg::Station, vec![said]);
                    self.play(Leg::Outside, vec![said]);
                }
            }
            Stage::Over => {}
        }
    }

    /// Which limit ends the bridged call: the terms' own, unless the
    /// flow's [`MAX_CALL_DURATION`] is shorter.
    fn limit(&self) -> CallLimit {
        match &self.terms {
            Some(t) if t.max_duration <= MAX_CALL_DURATION => t.limit,
            _ => CallLimit::CallLength,
        }
    }

    fn end(&mut self, now: Instant, end: End) {
        if self.finished || self.ending.is_some() {
            return;
        }
        if self.bridged {
            self.bridged = false;
            self.actions.push_back(Action::Unbridge);
        }
        self.stage = Stage::Over;
        self.typeahead.clear();
        self.ending = Some(Ending {
            disposition: end.disposition,
            who: end.who,
            at: now,
            time_limit: end.time_limit,
        });
        // A pending INVITE is cancelled first: it is the one thing still
        // able to ring someone's phone.
        if self.outside == LegState::Placing {
            self.hang_up(now, Leg::Outside);
        }
        self.close_leg(now, Leg::Station, end.station);
        self.close_leg(now, Leg::Outside, end.outside);
        self.maybe_finish(now);
    }

    fn close_leg(&mut self, now: Instant, leg: Leg, prompts: Vec<Prompt>) {
        match *self.leg_mut(leg) {
            LegState::Up { .. } if !prompts.is_empty() => {
                self.play(leg, prompts);
                *self.leg_mut(leg) = LegState::Closing {
                    deadline: after(now, self.timeouts.prompt_guard),
                };
            }
            LegState::Up { .. } | LegState::Placing => self.hang_up(now, leg),
            LegState::Absent | LegState::Closing { .. } | LegState::Down => {}
        }
    }

    fn maybe_finish(&mut self, now: Instant) {
        if self.finished
            || self.station != LegState::Down
            || !matches!(self.outside, LegState::Absent | LegState::Down)
        {
            return;
        }
        let Some(ending) = self.ending else {
            return;
        };
        let max = self
            .terms
            .as_ref()
            .map_or(Duration::ZERO, |t| t.max_duration.min(MAX_CALL_DURATION));
        let billable = self
            .accepted
            .map_or(Duration::ZERO, |a| ending.at.saturating_duration_since(a))
            .min(max);
        let record = CallRecord {
            call_id: self.setup.call_id.clone(),
            facility: self.setup.facility,
            station: self.setup.station,
            person: self.person,
            language: self.language,
            dialled: self.dialled.clone(),
            privileged: self.terms.as_ref().is_some_and(Terms::privileged),
            terms: self.terms.clone(),
            recorded: self.recorded,
            offered: self.setup.offered,
            station_answered: self.station_answered,
            answered: self.answered,
            accepted: self.accepted,
            ended: ending.at,
            released: now,
            billable,
            disposition: ending.disposition,
            who_hung_up: ending.who,
            time_limit_reached: ending.time_limit.is_some(),
            limit: ending.time_limit,
            blocked_by_called_party: self.blocked,
        };
        self.finished = true;
        self.actions.push_back(Action::Finished(Box::new(record)));
    }
}

fn closing_deadline(state: LegState) -> Option<Instant> {
    match state {
        LegState::Closing { deadline } => Some(deadline),
        _ => None,
    }
}

fn not_accepted(who: HungUpBy) -> End {
    End::new(Disposition::NotAccepted, who)
        .station(&[Prompt::NotAccepted, Prompt::Goodbye])
        .outside(&[Prompt::Goodbye])
}
