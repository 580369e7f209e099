//! The decision whether a call may be placed, and on what terms.
//!
//! [`authorize_call`] is a pure function of facts the caller gathered (from
//! the store) and the current time. Privilege is decided here and only here:
//! any do-not-record flag yields a call that is neither recorded nor
//! monitored, and no input can turn that back on.

use std::net::IpAddr;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::facility::{Facility, Station};
use crate::ids::AccountId;
use crate::lists::{Account, BlockScope, PrivilegedNumber, Verification};
use crate::money::{Cents, CentsPerMinute};
use crate::number::E164Number;
use crate::person::{Person, PersonStatus};
use crate::rating::allowance;
use crate::tariff::{CappedRate, Tariffs};

/// Failed PIN entries that lock a station's PIN entry (CJIS AC-7).
pub const PIN_FAILURE_LIMIT: usize = 5;
/// The window those failures are counted in.
pub const PIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Whether PIN entry is locked at `now`, given earlier failures (any order).
/// The lock lasts while [`PIN_FAILURE_LIMIT`] failures fall within the
/// trailing [`PIN_FAILURE_WINDOW`]; an administrator can clear it sooner.
pub fn pin_locked(failures: &[Timestamp], now: Timestamp) -> bool {
    let window = jiff::SignedDuration::try_from(PIN_FAILURE_WINDOW)
        // 15 minutes always fits a SignedDuration.
        .unwrap_or(jiff::SignedDuration::from_mins(15));
    let since = now - window;
    failures
        .iter()
        .filter(|t| **t > since && **t <= now)
        .count()
        >= PIN_FAILURE_LIMIT
}

/// Everything [`authorize_call`] needs to know, gathered by the caller.
#[derive(Debug, Clone)]
pub struct CallFacts<'a> {
    /// The facility the station belongs to.
    pub facility: &'a Facility,
    /// The station matched by SIP From user, or `None` if none matched.
    pub station: Option<&'a Station>,
    /// The address the request came from.
    pub source: IpAddr,
    /// Failed PIN entries at this station (at least the last 15 minutes).
    pub pin_failures: &'a [Timestamp],
    /// The person the entered PIN belongs to at this facility, if any.
    pub caller: Option<&'a Person>,
    /// The number dialled.
    pub dialled: &'a E164Number,
    /// Whether the number is on the caller's approved list.
    pub approved: bool,
    /// The first blocklist holding the number for this caller, if any.
    pub blocked: Option<BlockScope>,
    /// The privileged registration of the number, if any.
    pub privileged: Option<&'a PrivilegedNumber>,
    /// The called party's prepaid account for this number, if any.
    pub prepaid: Option<&'a Account>,
    /// The caller's debit account, if any.
    pub debit: Option<&'a Account>,
    /// Calls the caller started since the facility's local midnight.
    pub calls_today: u32,
    /// Calls of the caller in progress now.
    pub active_calls: u32,
    /// The rate caps loaded at start: the call's rate is the cap in force
    /// for the facility's tier on its local date.
    pub tariffs: &'a Tariffs,
}

/// Why a call is neither recorded nor monitored. Several may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrivilegeBasis {
    /// The number is on the privileged registry (pending or verified).
    pub number: bool,
    /// The person is flagged do-not-record.
    pub person: bool,
    /// The station is flagged do-not-record.
    pub station: bool,
}

/// What may be captured of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "capture")]
pub enum Capture {
    /// Recorded and open to live monitoring.
    Recorded,
    /// Privileged: never recorded, monitored or transcribed.
    Privileged(PrivilegeBasis),
}

/// The terms a call is allowed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// What may be captured.
    pub capture: Capture,
    /// Per-minute rate charged.
    pub rate: CentsPerMinute,
    /// The longest the conversation may last.
    pub max_duration: Duration,
    /// The account charged, if the call costs anything.
    pub payer: Option<AccountId>,
    /// Which limit set `max_duration` (terms journalled before this field
    /// existed read as the facility's call length).
    #[serde(default)]
    pub limit: CallLimit,
}

/// Which of a call's limits set its longest conversation: the smallest of
/// what the paying account covers, the facility's longest call and the time
/// left in calling hours. The call record names it when a call is cut there,
/// and the caller's warning a minute before says what is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallLimit {
    /// The paying account's balance runs out.
    Balance,
    /// The facility's longest call.
    #[default]
    CallLength,
    /// The facility's calling hours end.
    CallingHours,
}

impl CallLimit {
    /// Every limit.
    pub const ALL: [Self; 3] = [Self::Balance, Self::CallLength, Self::CallingHours];

    /// The stored form: `balance`, `call_length`, `calling_hours`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Balance => "balance",
            Self::CallLength => "call_length",
            Self::CallingHours => "calling_hours",
        }
    }

    /// Parses [`CallLimit::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

impl std::fmt::Display for CallLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Terms {
    /// Whether audio may be recorded.
    pub fn recording(&self) -> bool {
        matches!(self.capture, Capture::Recorded)
    }

    /// Whether the call may be monitored live.
    pub fn monitoring(&self) -> bool {
        matches!(self.capture, Capture::Recorded)
    }

    /// Whether the call is privileged.
    pub fn privileged(&self) -> bool {
        !self.recording()
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// No station has that SIP user.
    UnknownStation,
    /// The station's request came from an address not among the facility's gateways.
    StationNotAdmitted,
    /// The station is disabled.
    StationDisabled,
    /// Too many wrong PINs at this station lately.
    PinLocked,
    /// No person at this facility has that PIN.
    UnknownPin,
    /// The person's calling is suspended or they were released.
    PersonNotActive,
    /// The person already has a call in progress.
    AlreadyOnCall,
    /// Outside the facility's calling hours.
    OutsideCallingHours,
    /// The person reached the facility's daily call limit.
    DailyLimitReached,
    /// The number is on the person's blocklist.
    BlockedByPerson,
    /// The number is on the facility's blocklist.
    BlockedByFacility,
    /// The called party asked not to be called from this facility.
    BlockedByCalledParty,
    /// The facility requires approved numbers and this one is not approved.
    NotApproved,
    /// No account pays for calls to this number.
    NoAccount,
    /// The paying account cannot cover one minute.
    InsufficientBalance,
}

impl DenyReason {
    /// Every reason, in the order a caller meets them.
    pub const ALL: [Self; 15] = [
        Self::UnknownStation,
        Self::StationNotAdmitted,
        Self::StationDisabled,
        Self::PinLocked,
        Self::UnknownPin,
        Self::PersonNotActive,
        Self::AlreadyOnCall,
        Self::OutsideCallingHours,
        Self::DailyLimitReached,
        Self::BlockedByPerson,
        Self::BlockedByFacility,
        Self::BlockedByCalledParty,
        Self::NotApproved,
        Self::NoAccount,
        Self::InsufficientBalance,
    ];

    /// A stable code, used in call dispositions as `denied:<code>`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownStation => "unknown_station",
            Self::StationNotAdmitted => "station_not_admitted",
            Self::StationDisabled => "station_disabled",
            Self::PinLocked => "pin_locked",
            Self::UnknownPin => "unknown_pin",
            Self::PersonNotActive => "person_not_active",
            Self::AlreadyOnCall => "already_on_call",
            Self::OutsideCallingHours => "outside_calling_hours",
            Self::DailyLimitReached => "daily_limit_reached",
            Self::BlockedByPerson => "blocked_by_person",
            Self::BlockedByFacility => "blocked_by_facility",
            Self::BlockedByCalledParty => "blocked_by_called_party",
            Self::NotApproved => "not_approved",
            Self::NoAccount => "no_account",
            Self::InsufficientBalance => "insufficient_balance",
        }
    }
}

/// The outcome of [`authorize_call`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// The call may proceed on these terms.
    Allowed(Terms),
    /// The call is refused.
    Denied {
        /// Why.
        reason: DenyReason,
    },
}

impl Decision {
    /// The terms, if allowed.
    pub fn terms(&self) -> Option<&Terms> {
        match self {
            Self::Allowed(t) => Some(t),
            Self::Denied { .. } => None,
        }
    }
}

fn deny(reason: DenyReason) -> Decision {
    Decision::Denied { reason }
}

/// Decides whether a call may be placed at `now`, and on what terms.
///
/// Checks run in the order a caller experiences them: station, PIN, person,
/// time, number lists, money. Privilege is computed from every do-not-record
/// flag at once and cannot be overridden.
pub fn authorize_call(facts: &CallFacts<'_>, now: Timestamp) -> Decision {
    let facility = facts.facility;
    let Some(station) = facts.station else {
        return deny(DenyReason::UnknownStation);
    };
    if station.facility_id != facility.id || !facility.gateways.contains(&facts.source) {
        return deny(DenyReason::StationNotAdmitted);
    }
    if !station.enabled {
        return deny(DenyReason::StationDisabled);
    }
    if pin_locked(facts.pin_failures, now) {
        return deny(DenyReason::PinLocked);
    }
    let Some(person) = facts.caller.filter(|p| p.facility_id == facility.id) else {
        return deny(DenyReason::UnknownPin);
    };
    if person.status != PersonStatus::Active {
        return deny(DenyReason::PersonNotActive);
    }
    if facts.active_calls > 0 {
        return deny(DenyReason::AlreadyOnCall);
    }
    let local = facility.timezone.local_time(now);
    let Some(hours_left) = facility.calling_hours.remaining_at(local) else {
        return deny(DenyReason::OutsideCallingHours);
    };
    if facility
        .max_calls_per_day
        .is_some_and(|limit| facts.calls_today >= limit)
    {
        return deny(DenyReason::DailyLimitReached);
    }
    if let Some(scope) = facts.blocked {
        return deny(match scope {
            BlockScope::Person(_) => DenyReason::BlockedByPerson,
            BlockScope::Facility(_) => DenyReason::BlockedByFacility,
            BlockScope::CalledParty(_) => DenyReason::BlockedByCalledParty,
        });
    }
    // Any registration handed in counts, even one for another number: a
    // caller's mistake must err towards not recording (fail closed).
    let registration = facts.privileged;
    let verified_attorney = registration
        .is_some_and(|p| p.verification == Verification::Verified && &p.number == facts.dialled);
    if facility.requires_approved_list && !facts.approved && !verified_attorney {
        return deny(DenyReason::NotApproved);
    }

    let basis = PrivilegeBasis {
        number: registration.is_some_and(PrivilegedNumber::is_privileged),
        person: person.do_not_record,
        station: station.do_not_record,
    };
    let capture = if basis.number || basis.person || basis.station {
        Capture::Privileged(basis)
    } else {
        Capture::Recorded
    };

    // Calls to a verified attorney are free: access to counsel is not billed.
    // Otherwise the rate is the cap in force for the facility's tier today.
    let rate = if verified_attorney {
        CappedRate::FREE
    } else {
        facts.tariffs.rate_for_facility(facility, now)
    };
    let mut max = Duration::from_secs(u64::from(facility.max_call_minutes) * 60);
    let mut limit = CallLimit::CallLength;
    if let Ok(left) = Duration::try_from(hours_left)
        && left < max
    {
        max = left;
        limit = CallLimit::CallingHours;
    }
    // The money limit is the rating core's allowance: the longest
    // conversation the balance pays for at this rate, to the second; an
    // account is chosen only if it covers at least one minute.
    let payer = match allowance(Cents::ZERO, rate) {
        None => None,
        Some(_) => {
            let candidates = [facts.prepaid, facts.debit];
            if candidates.iter().all(Option::is_none) {
                return deny(DenyReason::NoAccount);
            }
            let Some((account, covered)) = candidates.into_iter().flatten().find_map(|a| {
                allowance(a.balance, rate)
                    .filter(|al| al.announced_minutes >= 1)
                    .map(|al| (a, al))
            }) else {
                return deny(DenyReason::InsufficientBalance);
            };
            // On a tie the money is named: it is what the caller can change.
            if covered.limit <= max {
                max = covered.limit;
                limit = CallLimit::Balance;
            }
            Some(account.id)
        }
    };
    let rate = rate.rate();
    Decision::Allowed(Terms {
        capture,
        rate,
        max_duration: max,
        payer,
        limit,
    })
}
