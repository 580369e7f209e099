//! The call record (CDR) the flow hands over when a call is over.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::authorize::{CallLimit, DenyReason, Terms};
use crate::ids::{FacilityId, PersonId, StationId};
use crate::number::E164Number;
use crate::person::Language;

use super::prompt::DENY_REASONS;

/// The switch's id for one call (opaque to the flow; the driver draws it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

impl CallId {
    /// Wraps the driver's id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a call was denied before any outbound call was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denial {
    /// A rule refused it: `authorize_call`'s reason, or the flow's own
    /// [`DenyReason::UnknownPin`] (three wrong PINs) and
    /// [`DenyReason::PinLocked`] (the driver answered `PinCheck::Locked`).
    Rule(DenyReason),
    /// Three numbers entered were not valid NANP numbers (`invalid_number`).
    InvalidNumber,
    /// The caller entered nothing through three prompts (`no_input`).
    NoInput,
}

impl Denial {
    /// The code after `denied:` in the disposition.
    pub fn code(self) -> &'static str {
        match self {
            Self::Rule(reason) => reason.code(),
            Self::InvalidNumber => "invalid_number",
            Self::NoInput => "no_input",
        }
    }
}

/// How a call ended, as stored in the call record.
///
/// `Display` and `FromStr` give the stored form: `completed`, `refused`,
/// `not_accepted`, `no_answer`, `busy`, `failed`, `denied:<code>`,
/// `abandoned`, `interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disposition {
    /// The called party accepted and the parties talked (see
    /// [`CallRecord::time_limit_reached`] for calls cut at the limit).
    Completed,
    /// The called party pressed 2, or 9 and 9 to block (see
    /// [`CallRecord::blocked_by_called_party`]).
    Refused,
    /// The called party answered but did not accept: no choice in time, or
    /// either side hung up during the notice.
    NotAccepted,
    /// Nobody answered within the ringing timeout, the trunk reported no
    /// answer (408, 480), or the caller hung up while it rang.
    NoAnswer,
    /// The called line was busy (486, 600).
    Busy,
    /// The outbound call failed, the driver did not answer a PIN check or
    /// an authorisation in time, or the line dropped after acceptance (a
    /// BYE with a failure cause, or no media from the called party).
    Failed,
    /// Refused before dialling out.
    Denied(Denial),
    /// The caller hung up before an outbound call was placed (during PIN or
    /// number entry, or while it was being checked).
    Abandoned,
    /// The server stopped during the call; set by the driver's crash
    /// recovery, never by the flow.
    Interrupted,
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::Refused => f.write_str("refused"),
            Self::NotAccepted => f.write_str("not_accepted"),
            Self::NoAnswer => f.write_str("no_answer"),
            Self::Busy => f.write_str("busy"),
            Self::Failed => f.write_str("failed"),
            Self::Denied(denial) => write!(f, "denied:{}", denial.code()),
            Self::Abandoned => f.write_str("abandoned"),
            Self::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// A stored disposition that is not one this version knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown call disposition {0:?}")]
pub struct ParseDispositionError(String);

impl FromStr for Disposition {
    type Err = ParseDispositionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let known = match s {
            "completed" => Some(Self::Completed),
            "refused" => Some(Self::Refused),
            "not_accepted" => Some(Self::NotAccepted),
            "no_answer" => Some(Self::NoAnswer),
            "busy" => Some(Self::Busy),
            "failed" => Some(Self::Failed),
            "abandoned" => Some(Self::Abandoned),
            "interrupted" => Some(Self::Interrupted),
            _ => s.strip_prefix("denied:").and_then(|code| match code {
                "invalid_number" => Some(Self::Denied(Denial::InvalidNumber)),
                "no_input" => Some(Self::Denied(Denial::NoInput)),
                _ => DENY_REASONS
                    .into_iter()
                    .find(|r| r.code() == code)
                    .map(|r| Self::Denied(Denial::Rule(r))),
            }),
        };
        known.ok_or_else(|| ParseDispositionError(s.chars().take(64).collect()))
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HungUpBy {
    /// The caller (BYE or CANCEL from the station).
    Station,
    /// The called party: BYE, a final failure response from the trunk
    /// (busy, no answer, failure), or a choice (refuse, block).
    Outside,
    /// The flow: a timeout, a denial, the time limit.
    System,
}

impl fmt::Display for HungUpBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Station => "station",
            Self::Outside => "outside",
            Self::System => "system",
        })
    }
}

/// The call record of one call, emitted once in `Action::Finished`.
///
/// Times are the `Instant`s the driver passed in; the driver turns them into
/// wall time from the one wall-clock reading it took when the INVITE arrived
/// ([`CallRecord::offered`]), e.g. with [`CallRecord::since_offered`]. The
/// recording id is the driver's: it exists exactly when
/// [`CallRecord::recorded`] is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The driver's call id.
    pub call_id: CallId,
    /// The station's facility.
    pub facility: FacilityId,
    /// The calling station.
    pub station: StationId,
    /// The caller, once a PIN was accepted.
    pub person: Option<PersonId>,
    /// The language prompts were last played in.
    pub language: Language,
    /// The number dialled, once one parsed (invalid entries are not kept).
    pub dialled: Option<E164Number>,
    /// The terms the call was allowed on, if it was.
    pub terms: Option<Terms>,
    /// Whether the allowed terms were privileged (never recorded or
    /// monitored). False for calls denied before terms existed.
    pub privileged: bool,
    /// Whether the flow bridged the call with `Capture::Recorded`, i.e.
    /// whether the driver may hold a recording of it.
    pub recorded: bool,
    /// When the station's INVITE arrived.
    pub offered: Instant,
    /// When the station's INVITE was answered (the flow was created).
    pub station_answered: Instant,
    /// When the called party answered the outbound call.
    pub answered: Option<Instant>,
    /// When the called party pressed 1.
    pub accepted: Option<Instant>,
    /// When the call ended: the hangup, choice, timeout or limit that decided
    /// its disposition. Goodbye prompts played after it are not billed.
    pub ended: Instant,
    /// When the last leg was hung up (after any goodbye prompts).
    pub released: Instant,
    /// From acceptance to the end, at most the allowed duration; zero if never
    /// accepted.
    pub billable: Duration,
    /// How the call ended.
    pub disposition: Disposition,
    /// Who ended it.
    pub who_hung_up: HungUpBy,
    /// Whether the call was cut at its time limit (disposition `completed`,
    /// hung up by `system`).
    pub time_limit_reached: bool,
    /// Which limit cut the call, when [`CallRecord::time_limit_reached`]:
    /// the balance, the facility's longest call or its calling hours.
    pub limit: Option<CallLimit>,
    /// Whether the called party blocked calls from the facility (disposition
    /// `refused`).
    pub blocked_by_called_party: bool,
}

impl CallRecord {
    /// Billable time in whole seconds, rounded down (fractions favour the
    /// payer).
    pub fn billable_seconds(&self) -> u64 {
        self.billable.as_secs()
    }

    /// How long after the offer `at` was (zero if before).
    pub fn since_offered(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.offered)
    }
}
