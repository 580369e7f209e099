//! Facilities, their rate tiers, calling hours and stations.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::ids::{FacilityId, StationId};
use crate::money::CentsPerMinute;
use crate::text::{Code, Name};

/// Prison or jail: the FCC's caps differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    /// A prison (state or federal, long sentences).
    Prison,
    /// A jail (local, pre-trial and short sentences).
    Jail,
}

impl FromStr for FacilityKind {
    type Err = FacilityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "prison" => Ok(Self::Prison),
            "jail" => Ok(Self::Jail),
            _ => Err(FacilityError::UnknownKind(s.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prison => "prison",
            Self::Jail => "jail",
        })
    }
}

/// The FCC rate tier a facility falls in, by kind and average daily
/// population (ADP), as banded in the 2024 order (FCC 24-75).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateTier {
    /// Prisons, any size.
    Prison,
    /// Jails with ADP of 1,000 or more.
    LargeJail,
    /// Jails with ADP 350 to 999.
    MediumJail,
    /// Jails with ADP 100 to 349.
    SmallJail,
    /// Jails with ADP under 100.
    VerySmallJail,
}

impl RateTier {
    /// The tier for a facility of this kind and size.
    pub fn for_facility(kind: FacilityKind, average_daily_population: u32) -> Self {
        match (kind, average_daily_population) {
            (FacilityKind::Prison, _) => Self::Prison,
            (FacilityKind::Jail, 1000..) => Self::LargeJail,
            (FacilityKind::Jail, 350..=999) => Self::MediumJail,
            (FacilityKind::Jail, 100..=349) => Self::SmallJail,
            (FacilityKind::Jail, _) => Self::VerySmallJail,
        }
    }

    /// The 2024 order's per-minute audio cap for the tier, in whole cents:
    /// the compiled-in fallback used only when no tariff is loaded
    /// ([`crate::tariff::Tariffs::fallback`]). Loaded tariffs
    /// (`tariffs/*.toml`, [`crate::tariff::Tariffs::cap_for`]) are the source
    /// of truth; a test keeps these figures equal to the shipped
    /// `tariffs/2024-order.toml`.
    pub fn audio_cap(self) -> CentsPerMinute {
        CentsPerMinute(match self {
            Self::Prison | Self::LargeJail => 6,
            Self::MediumJail => 7,
            Self::SmallJail => 9,
            Self::VerySmallJail => 12,
        })
    }

    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prison => "prison",
            Self::LargeJail => "large_jail",
            Self::MediumJail => "medium_jail",
            Self::SmallJail => "small_jail",
            Self::VerySmallJail => "very_small_jail",
        }
    }
}

/// A daily window, in the facility's local time, when calls may be placed.
/// `open == close` means around the clock; `close < open` wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingHours {
    /// Local time calls may start.
    pub open: Time,
    /// Local time after which no call may be in progress.
    pub close: Time,
}

impl CallingHours {
    /// Around the clock.
    pub const ALWAYS: Self = Self {
        open: Time::midnight(),
        close: Time::midnight(),
    };

    /// Parses `HH:MM-HH:MM` (or `always`).
    pub fn parse(input: &str) -> Result<Self, FacilityError> {
        let s = input.trim();
        if s.eq_ignore_ascii_case("always") {
            return Ok(Self::ALWAYS);
        }
        let bad = || FacilityError::BadHours(s.chars().take(32).collect());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let parse = |t: &str| -> Result<Time, FacilityError> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return Err(bad());
            }
            let h: i8 = h.parse().map_err(|_| bad())?;
            let m: i8 = m.parse().map_err(|_| bad())?;
            Time::new(h, m, 0, 0).map_err(|_| bad())
        };
        Ok(Self {
            open: parse(a)?,
            close: parse(b)?,
        })
    }

    fn always(&self) -> bool {
        self.open == self.close
    }

    /// How long calls may still run if one starts at local time `t`,
    /// or `None` if calls may not start at `t`.
    pub fn remaining_at(&self, t: Time) -> Option<jiff::SignedDuration> {
        if self.always() {
            return Some(jiff::SignedDuration::MAX);
        }
        let (open, close) = (self.open, self.close);
        let inside = if open < close {
            t >= open && t < close
        } else {
            t >= open || t < close
        };
        if !inside {
            return None;
        }
        let until = close.duration_since(t);
        Some(if until.is_negative() {
            until + jiff::SignedDuration::from_hours(24)
        } else {
            until
        })
    }
}

impl fmt::Display for CallingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.always() {
            return f.write_str("always");
        }
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.open.hour(),
            self.open.minute(),
            self.close.hour(),
            self.close.minute()
        )
    }
}

/// A facility's IANA time zone, validated against the time zone database.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FacilityTimeZone {
    name: String,
    #[serde(skip)]
    tz: Option<TimeZone>,
}

impl FacilityTimeZone {
    /// Looks up an IANA name such as `America/Chicago`.
    pub fn parse(name: &str) -> Result<Self, FacilityError> {
        let name = name.trim();
        let tz = TimeZone::get(name)
            .map_err(|_| FacilityError::UnknownTimeZone(name.chars().take(64).collect()))?;
        Ok(Self {
            name: name.to_owned(),
            tz: Some(tz),
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone itself, for showing times in it.
    pub fn zone(&self) -> TimeZone {
        self.tz.clone().unwrap_or(TimeZone::UTC)
    }

    /// The local wall-clock time at `now`.
    pub fn local_time(&self, now: Timestamp) -> Time {
        match &self.tz {
            Some(tz) => now.to_zoned(tz.clone()).time(),
            // Unreachable in practice: every constructor fills `tz`.
            None => now.to_zoned(TimeZone::UTC).time(),
        }
    }

    /// The local calendar date at `now`.
    pub fn local_date(&self, now: Timestamp) -> jiff::civil::Date {
        match &self.tz {
            Some(tz) => now.to_zoned(tz.clone()).date(),
            None => now.to_zoned(TimeZone::UTC).date(),
        }
    }

    /// The instant the local day containing `now` started.
    pub fn start_of_day(&self, now: Timestamp) -> Timestamp {
        let tz = self.tz.clone().unwrap_or(TimeZone::UTC);
        let zoned = now.to_zoned(tz);
        zoned
            .start_of_day()
            .map(|z| z.timestamp())
            // A day always has a start; on the impossible error fall back to 24 h before.
            .unwrap_or_else(|_| now - 24.hours())
    }
}

impl fmt::Debug for FacilityTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FacilityTimeZone({})", self.name)
    }
}

impl TryFrom<String> for FacilityTimeZone {
    type Error = FacilityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<FacilityTimeZone> for String {
    fn from(tz: FacilityTimeZone) -> Self {
        tz.name
    }
}

/// Why a facility setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FacilityError {
    /// Not `prison` or `jail`.
    #[error("facility kind must be 'prison' or 'jail', not {0:?}")]
    UnknownKind(String),
    /// Not an IANA time zone name.
    #[error("unknown time zone {0:?} (use an IANA name such as America/Chicago)")]
    UnknownTimeZone(String),
    /// Not `HH:MM-HH:MM`.
    #[error("calling hours {0:?} are not of the form HH:MM-HH:MM or 'always'")]
    BadHours(String),
    /// Not an IP address.
    #[error("gateway {0:?} is not an IP address")]
    BadGateway(String),
    /// Outside 1..=600 minutes.
    #[error("max call minutes must be between 1 and 600")]
    BadMaxMinutes,
    /// Outside 4..=12 digits.
    #[error("PIN length must be between 4 and 12")]
    BadPinLength,
}

/// Parses a gateway address.
pub fn parse_gateway(input: &str) -> Result<IpAddr, FacilityError> {
    input
        .trim()
        .parse()
        .map_err(|_| FacilityError::BadGateway(input.chars().take(64).collect()))
}

/// A jail or prison and its calling rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    /// Row id.
    pub id: FacilityId,
    /// Display name, unique.
    pub name: Name,
    /// Prison or jail.
    pub kind: FacilityKind,
    /// Average daily population, which with the kind sets the rate tier.
    pub average_daily_population: u32,
    /// Local time zone for calling hours and daily limits.
    pub timezone: FacilityTimeZone,
    /// Addresses the facility's station gateways send SIP from.
    pub gateways: Vec<IpAddr>,
    /// When calls may be placed.
    pub calling_hours: CallingHours,
    /// Longest call allowed.
    pub max_call_minutes: u32,
    /// Most calls one person may start in a local day; `None` for no limit.
    pub max_calls_per_day: Option<u32>,
    /// Whether people may call only numbers on their approved list.
    pub requires_approved_list: bool,
    /// Digits in a PIN at this facility.
    pub pin_length: u8,
    /// The facility's own per-minute rate, if an administrator set one
    /// (checked against the caps when set, `Tariffs::check_facility_rate`);
    /// `None` charges the cap in force for its tier.
    #[serde(default)]
    pub rate: Option<FacilityRate>,
}

/// A facility's own per-minute rate: an audio rate and, where the tariff
/// schedule allows one, a facility-cost additive. A minute costs their sum,
/// and never more than the cap in force (rating clamps to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FacilityRate {
    /// The audio rate, cents a minute.
    pub audio: CentsPerMinute,
    /// The facility-cost additive, cents a minute, if the facility recovers
    /// such costs.
    pub facility_cost_additive: Option<CentsPerMinute>,
}

impl FacilityRate {
    /// What a minute costs: the audio rate plus the additive.
    pub fn per_minute(self) -> CentsPerMinute {
        let add = self.facility_cost_additive.map_or(0, |a| a.0);
        CentsPerMinute(self.audio.0.saturating_add(add))
    }
}

impl Facility {
    /// The FCC tier, derived (never stored, so it cannot disagree).
    pub fn tier(&self) -> RateTier {
        RateTier::for_facility(self.kind, self.average_daily_population)
    }
}

/// Checks a max call duration setting.
pub fn validate_max_call_minutes(minutes: u32) -> Result<u32, FacilityError> {
    if (1..=600).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(FacilityError::BadMaxMinutes)
    }
}

/// Parses a daily call limit setting: a number, or `none` for no limit
/// (`Ok(None)`). The CLI's `--max-calls-per-day` and the console's form.
pub fn parse_max_calls_per_day(input: &str) -> Result<Option<u32>, &'static str> {
    match input.trim() {
        "none" => Ok(None),
        n => n
            .parse::<u32>()
            .map(Some)
            .map_err(|_| "must be a number or \"none\""),
    }
}

/// Checks a PIN length setting.
pub fn validate_pin_length(len: u8) -> Result<u8, FacilityError> {
    if (4..=12).contains(&len) {
        Ok(len)
    } else {
        Err(FacilityError::BadPinLength)
    }
}

/// An inmate phone (or a port of a gateway), identified in SIP by the From user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    /// Row id.
    pub id: StationId,
    /// The facility it belongs to.
    pub facility_id: FacilityId,
    /// The SIP From user, unique across the system (e.g. `station-101`).
    pub code: Code,
    /// Where it is (housing unit, visiting room).
    pub location: String,
    /// Disabled stations place no calls.
    pub enabled: bool,
    /// Never record or monitor calls from this station (e.g. a legal visit room).
    pub do_not_record: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_calls_per_day_is_a_number_or_none() {
        assert_eq!(parse_max_calls_per_day(" 12 "), Ok(Some(12)));
        assert_eq!(parse_max_calls_per_day("none"), Ok(None));
        assert_eq!(
            parse_max_calls_per_day("-1"),
            Err("must be a number or \"none\"")
        );
        assert!(parse_max_calls_per_day("").is_err());
    }

    #[test]
    fn tiers_follow_the_2024_bands() {
        use FacilityKind::*;
        let cases = [
            (Prison, 0, RateTier::Prison),
            (Prison, 50_000, RateTier::Prison),
            (Jail, 0, RateTier::VerySmallJail),
            (Jail, 99, RateTier::VerySmallJail),
            (Jail, 100, RateTier::SmallJail),
            (Jail, 349, RateTier::SmallJail),
            (Jail, 350, RateTier::MediumJail),
            (Jail, 999, RateTier::MediumJail),
            (Jail, 1000, RateTier::LargeJail),
        ];
        for (kind, adp, want) in cases {
            assert_eq!(RateTier::for_facility(kind, adp), want, "{kind} {adp}");
        }
        assert_eq!(RateTier::MediumJail.audio_cap(), CentsPerMinute(7));
    }

    #[test]
    fn calling_hours() {
        let h = CallingHours::parse("07:00-22:00").unwrap();
        assert_eq!(h.to_string(), "07:00-22:00");
        assert_eq!(h.remaining_at(Time::constant(6, 59, 0, 0)), None);
        assert_eq!(
            h.remaining_at(Time::constant(21, 50, 0, 0)),
            Some(jiff::SignedDuration::from_mins(10))
        );
        assert_eq!(h.remaining_at(Time::constant(22, 0, 0, 0)), None);
        let night = CallingHours::parse("20:00-02:00").unwrap();
        assert_eq!(
            night.remaining_at(Time::constant(23, 0, 0, 0)),
            Some(jiff::SignedDuration::from_hours(3))
        );
        assert_eq!(
            night.remaining_at(Time::constant(1, 0, 0, 0)),
            Some(jiff::SignedDuration::from_hours(1))
        );
        assert_eq!(night.remaining_at(Time::constant(12, 0, 0, 0)), None);
        assert!(
            CallingHours::parse("always")
                .unwrap()
                .remaining_at(Time::midnight())
                .is_some()
        );
        for bad in [
            "",
            "7-22",
            "07:00",
            "25:00-26:00",
            "07:0-22:00",
            "aa:bb-cc:dd",
            "07:00-22:60",
        ] {
            assert!(CallingHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        let tz = FacilityTimeZone::parse("America/Chicago").unwrap();
        let t: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
        assert_eq!(tz.local_time(t), Time::constant(7, 0, 0, 0));
        assert_eq!(
            tz.start_of_day(t),
            "2026-07-01T05:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(matches!(
            FacilityTimeZone::parse("Mars/Olympus"),
            Err(FacilityError::UnknownTimeZone(_))
        ));
    }
}
