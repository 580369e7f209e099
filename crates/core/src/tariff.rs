//! Tariffs as data: the FCC's per-minute rate caps, versioned by effective
//! date, each schedule naming the order it comes from.
//!
//! A schedule is one TOML file (`tariffs/*.toml`, format in
//! `docs/billing.md`). The binary reads the files and hands their text to
//! [`Tariffs::parse`]; this module only parses and validates, it does no I/O.
//! Money is written as a string of dollars (`"0.06"`), never a TOML float,
//! and held as [`CapPerMinute`] (hundredths of a cent), so a future cap with
//! a fraction of a cent is expressible.
//!
//! A schedule is in force from its `effective_from` date until the next
//! schedule starts (or its own `effective_until`, exclusive). Tiers are keyed
//! by facility kind and the lowest average daily population (ADP) of the
//! band; a band runs up to the next band's lower bound.
//!
//! callward does not know where a called party physically is, so a schedule
//! that the FCC set for interstate calls only (the 2021 interim caps) is
//! applied to every call: the consumer's side of the doubt.
//!
//! [`CappedRate`] is the only way to hand a rate to the rating code, and it
//! can only be built at or below a cap, so a charge above the cap cannot be
//! computed.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;

use crate::facility::{Facility, FacilityKind, FacilityRate, RateTier};
use crate::money::CentsPerMinute;

/// A per-minute cap in hundredths of a cent ($0.0001). The 2021 and 2024
/// caps are whole cents; the finer unit leaves room for figures that are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CapPerMinute(u32);

/// Hundredths of a cent in a cent.
const UNITS_PER_CENT: u32 = 100;
/// A cap above this ($0.50 a minute) is taken for a typing mistake: the
/// highest federal cap since 2014 was $0.25 (collect calls, 2014 interim).
pub const ABSURD_CAP: CapPerMinute = CapPerMinute(50 * UNITS_PER_CENT);
/// A facility-cost additive above this ($0.10 a minute) is refused likewise.
pub const ABSURD_ADDITIVE: CapPerMinute = CapPerMinute(10 * UNITS_PER_CENT);

impl CapPerMinute {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// A cap of whole cents.
    pub const fn from_cents(cents: u32) -> Self {
        Self(cents.saturating_mul(UNITS_PER_CENT))
    }

    /// The cap in hundredths of a cent.
    pub fn hundredths_of_cent(self) -> u32 {
        self.0
    }

    /// Parses dollars as written in a tariff file: `0.06`, `$0.135`, at
    /// most four decimals, no sign.
    pub fn parse_dollars(input: &str) -> Option<Self> {
        let s = input.trim();
        let s = s.strip_prefix('$').unwrap_or(s);
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 3
            || !digits(whole)
            || frac.len() > 4
            || !digits(frac)
            || (s.contains('.') && frac.is_empty())
        {
            return None;
        }
        let whole: u32 = whole.parse().ok()?;
        let frac_units = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(4)
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
        whole
            .checked_mul(10_000)
            .and_then(|w| w.checked_add(frac_units))
            .map(Self)
    }

    /// The highest whole-cent rate within the cap (rounded down: a cap of
    /// $0.135 admits a rate of 13 cents, not 14).
    pub fn floor_cents(self) -> CentsPerMinute {
        CentsPerMinute(self.0 / UNITS_PER_CENT)
    }

    /// Whether a whole-cent rate is at or below the cap.
    pub fn admits(self, rate: CentsPerMinute) -> bool {
        u64::from(rate.0) * u64::from(UNITS_PER_CENT) <= u64::from(self.0)
    }

    /// Sum of two caps (audio plus facility-cost additive).
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for CapPerMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dollars = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac.is_multiple_of(100) {
            write!(f, "${dollars}.{:02}", frac / 100)
        } else if frac.is_multiple_of(10) {
            write!(f, "${dollars}.{:03}", frac / 10)
        } else {
            write!(f, "${dollars}.{frac:04}")
        }
    }
}

/// A per-minute rate already checked against the cap in force: the only
/// rate the rating code accepts, so it cannot charge above the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CappedRate {
    rate: CentsPerMinute,
    cap: CapPerMinute,
}

impl CappedRate {
    /// The rate, if it is at or below the cap.
    pub fn new(rate: CentsPerMinute, cap: CapPerMinute) -> Option<Self> {
        cap.admits(rate).then_some(Self { rate, cap })
    }

    /// The rate, lowered to the cap if it is above it.
    pub fn clamped(rate: CentsPerMinute, cap: CapPerMinute) -> Self {
        Self {
            rate: rate.min(cap.floor_cents()),
            cap,
        }
    }

    /// Free calls (verified attorneys): zero is below every cap.
    pub const FREE: Self = Self {
        rate: CentsPerMinute(0),
        cap: CapPerMinute::ZERO,
    };

    /// The rate charged.
    pub fn rate(self) -> CentsPerMinute {
        self.rate
    }

    /// The cap it was checked against.
    pub fn cap(self) -> CapPerMinute {
        self.cap
    }
}

/// The tiers the FCC has used. A tariff file names one of these; any other
/// name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TierName {
    /// Prisons, any size.
    Prison,
    /// Jails with ADP of 1,000 or more.
    LargeJail,
    /// Jails of every size under 1,000 (the 2021 interim caps' one band).
    JailUnder1000,
    /// Jails with ADP 350 to 999 (2024).
    MediumJail,
    /// Jails with ADP 100 to 349 (2024).
    SmallJail,
    /// Jails with ADP under 100 (2024; the 2025 order splits it).
    VerySmallJail,
    /// The 2025 order's extremely small jails (FCC 25-75).
    ExtremelySmallJail,
}

impl TierName {
    /// Every name, in the order of the files.
    pub const ALL: [Self; 7] = [
        Self::Prison,
        Self::LargeJail,
        Self::JailUnder1000,
        Self::MediumJail,
        Self::SmallJail,
        Self::VerySmallJail,
        Self::ExtremelySmallJail,
    ];

    /// The name used in tariff files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prison => "prison",
            Self::LargeJail => "large_jail",
            Self::JailUnder1000 => "jail_under_1000",
            Self::MediumJail => "medium_jail",
            Self::SmallJail => "small_jail",
            Self::VerySmallJail => "very_small_jail",
            Self::ExtremelySmallJail => "extremely_small_jail",
        }
    }

    /// The kind of facility the tier is for.
    pub fn kind(self) -> FacilityKind {
        match self {
            Self::Prison => FacilityKind::Prison,
            _ => FacilityKind::Jail,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which calls the order capped. Informational: callward applies every
/// schedule to every call (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppliesTo {
    /// Interstate (and international) calls only.
    Interstate,
    /// Interstate, intrastate and international calls.
    AllCalls,
}

/// One tier of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Which tier.
    pub name: TierName,
    /// The lowest ADP in the band (the band runs to the next tier's).
    pub adp_min: u32,
    /// The per-minute audio cap.
    pub audio_cap: CapPerMinute,
    /// The most a facility's own costs may add per minute, if the order
    /// allows any.
    pub facility_cost_additive: Option<CapPerMinute>,
}

/// A rate-cap schedule: one order's caps and the date they apply from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Short name, e.g. `FCC 24-75 audio caps`.
    pub name: String,
    /// The citation the figures come from.
    pub source: String,
    /// Where to read it, if given.
    pub source_url: Option<String>,
    /// First day in force.
    pub effective_from: Date,
    /// First day no longer in force, if the file sets one; otherwise the
    /// schedule lasts until a later one starts.
    pub effective_until: Option<Date>,
    /// Which calls the order capped.
    pub applies_to: AppliesTo,
    /// The tiers, sorted by kind and ADP.
    pub tiers: Vec<Tier>,
}

/// The cap in force for one facility on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapInForce {
    /// The schedule's name.
    pub schedule: String,
    /// Its source.
    pub source: String,
    /// The facility's tier.
    pub tier: TierName,
    /// The audio cap.
    pub audio_cap: CapPerMinute,
    /// The additive the order allows, if any.
    pub facility_cost_additive: Option<CapPerMinute>,
}

impl CapInForce {
    /// The most a minute may cost: the audio cap, plus the facility-cost
    /// additive only if the facility is configured to recover such costs.
    pub fn limit(&self, with_facility_costs: bool) -> CapPerMinute {
        match (with_facility_costs, self.facility_cost_additive) {
            (true, Some(add)) => self.audio_cap.saturating_add(add),
            _ => self.audio_cap,
        }
    }
}

/// Why a tariff file or a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TariffError {
    /// Not valid TOML, or a key that is not part of the format.
    #[error("{file}: {message}")]
    Syntax {
        /// The file's name as given.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// `source` is missing or empty.
    #[error("{file}: the schedule must name its source (`source = \"...\"`)")]
    MissingSource {
        /// The file.
        file: String,
    },
    /// A figure still holds the operator placeholder.
    #[error("{file}: {field} of tier {tier} is not filled in; enter the figure from the order")]
    Placeholder {
        /// The file.
        file: String,
        /// The tier as written.
        tier: String,
        /// The key.
        field: &'static str,
    },
    /// A tier name that is not one of [`TierName::ALL`].
    #[error(
        "{file}: unknown tier {tier:?} (known: prison, large_jail, jail_under_1000, medium_jail, small_jail, very_small_jail, extremely_small_jail)"
    )]
    UnknownTier {
        /// The file.
        file: String,
        /// The name as written.
        tier: String,
    },
    /// A value of the wrong shape.
    #[error("{file}: {field} of tier {tier}: {problem}")]
    BadValue {
        /// The file.
        file: String,
        /// The tier.
        tier: String,
        /// The key.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A schedule-level value of the wrong shape.
    #[error("{file}: {problem}")]
    BadSchedule {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A cap of zero.
    #[error("{file}: the audio cap of tier {tier} is zero")]
    ZeroCap {
        /// The file.
        file: String,
        /// The tier.
        tier: TierName,
    },
    /// A cap or additive beyond any the FCC has set.
    #[error("{file}: {field} of tier {tier} is {value}, above the {limit} any order has allowed")]
    AbsurdCap {
        /// The file.
        file: String,
        /// The tier.
        tier: TierName,
        /// The key.
        field: &'static str,
        /// The figure.
        value: CapPerMinute,
        /// The limit.
        limit: CapPerMinute,
    },
    /// The same tier twice, or two tiers starting at the same ADP.
    #[error("{file}: tier {tier} overlaps another tier of the schedule")]
    OverlappingTiers {
        /// The file.
        file: String,
        /// The tier.
        tier: TierName,
    },
    /// No tier covers some facilities of a kind.
    #[error("{file}: no tier covers {kind}s from ADP 0 (every kind needs a tier with adp_min = 0)")]
    UncoveredKind {
        /// The file.
        file: String,
        /// The kind.
        kind: FacilityKind,
    },
    /// Two schedules in force on the same day.
    #[error("schedules {first:?} and {second:?} overlap: both are in force on {on}")]
    OverlappingSchedules {
        /// One schedule.
        first: String,
        /// The other.
        second: String,
        /// A day both cover.
        on: Date,
    },
    /// No schedule was loaded.
    #[error("no tariff schedule is loaded")]
    Empty,
    /// No schedule in force on the date.
    #[error("no rate-cap schedule is in force on {0}")]
    NoScheduleInForce(Date),
    /// A facility-cost additive where the schedule in force allows none.
    #[error(
        "{schedule} allows no facility-cost additive for {tier} (in force on {on}); set the rate without one"
    )]
    NoAdditiveAllowed {
        /// The tier.
        tier: TierName,
        /// The schedule.
        schedule: String,
        /// The date checked.
        on: Date,
    },
    /// A facility-cost additive above what the schedule allows.
    #[error(
        "a facility-cost additive of {additive} cents a minute is above the {allowed} {schedule} allows for {tier} (in force on {on})"
    )]
    AdditiveAboveAllowed {
        /// The additive asked for.
        additive: u32,
        /// The most allowed.
        allowed: CapPerMinute,
        /// The tier.
        tier: TierName,
        /// The schedule.
        schedule: String,
        /// The date checked.
        on: Date,
    },
    /// A facility's rate above the cap in force.
    #[error(
        "a rate of {rate} cents a minute is above the {cap} cap for {tier} under {schedule} (in force on {on})"
    )]
    RateAboveCap {
        /// The rate.
        rate: u32,
        /// The cap.
        cap: CapPerMinute,
        /// The tier.
        tier: TierName,
        /// The schedule.
        schedule: String,
        /// The date checked.
        on: Date,
    },
}

/// What an unfilled figure in an example file says.
pub const PLACEHOLDER: &str = "OPERATOR MUST ENTER";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schedule: RawSchedule,
    #[serde(default)]
    tier: Vec<RawTier>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    source_url: Option<String>,
    effective_from: toml::Value,
    #[serde(default)]
    effective_until: Option<toml::Value>,
    applies_to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    tier: String,
    adp_min: toml::Value,
    audio_cap: toml::Value,
    #[serde(default)]
    facility_cost_additive: Option<toml::Value>,
}

fn parse_date(file: &str, field: &str, v: &toml::Value) -> Result<Date, TariffError> {
    let bad = || TariffError::BadSchedule {
        file: file.to_owned(),
        problem: format!("{field} must be a date such as 2024-11-19"),
    };
    if let toml::Value::String(s) = v
        && s.trim() == PLACEHOLDER
    {
        return Err(TariffError::BadSchedule {
            file: file.to_owned(),
            problem: format!("{field} is not filled in; enter the date from the order"),
        });
    }
    let toml::Value::Datetime(dt) = v else {
        return Err(bad());
    };
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            let year = i16::try_from(d.year).map_err(|_| bad())?;
            let month = i8::try_from(d.month).map_err(|_| bad())?;
            let day = i8::try_from(d.day).map_err(|_| bad())?;
            Date::new(year, month, day).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

fn parse_figure(
    file: &str,
    tier: &str,
    field: &'static str,
    v: &toml::Value,
) -> Result<CapPerMinute, TariffError> {
    let bad = |problem: &str| TariffError::BadValue {
        file: file.to_owned(),
        tier: tier.to_owned(),
        field,
        problem: problem.to_owned(),
    };
    match v {
        toml::Value::String(s) if s.trim() == PLACEHOLDER => Err(TariffError::Placeholder {
            file: file.to_owned(),
            tier: tier.to_owned(),
            field,
        }),
        toml::Value::String(s) => CapPerMinute::parse_dollars(s)
            .ok_or_else(|| bad("not an amount of dollars such as \"0.06\" (at most 4 decimals)")),
        toml::Value::Float(_) | toml::Value::Integer(_) => Err(bad(
            "write money as a quoted string of dollars, e.g. \"0.06\", never a bare number",
        )),
        _ => Err(bad("not an amount of dollars such as \"0.06\"")),
    }
}

fn parse_adp(file: &str, tier: &str, v: &toml::Value) -> Result<u32, TariffError> {
    match v {
        toml::Value::String(s) if s.trim() == PLACEHOLDER => Err(TariffError::Placeholder {
            file: file.to_owned(),
            tier: tier.to_owned(),
            field: "adp_min",
        }),
        toml::Value::Integer(n) => u32::try_from(*n).map_err(|_| TariffError::BadValue {
            file: file.to_owned(),
            tier: tier.to_owned(),
            field: "adp_min",
            problem: "must be a whole number of people, 0 or more".to_owned(),
        }),
        _ => Err(TariffError::BadValue {
            file: file.to_owned(),
            tier: tier.to_owned(),
            field: "adp_min",
            problem: "must be a whole number of people, 0 or more".to_owned(),
        }),
    }
}

impl Schedule {
    /// Parses and checks one tariff file. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, TariffError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| TariffError::Syntax {
            file: file.to_owned(),
            message: e.message().to_owned(),
        })?;
        let s = raw.schedule;
        // A missing source, an empty name and the dates' order are
        // checked in check(), with everything else a schedule must obey.
        let source = s.source.map(|t| t.trim().to_owned()).unwrap_or_default();
        let name = s.name.trim().to_owned();
        let effective_from = parse_date(file, "effective_from", &s.effective_from)?;
        let effective_until = s
            .effective_until
            .as_ref()
            .map(|v| parse_date(file, "effective_until", v))
            .transpose()?;
        let applies_to = match s.applies_to.trim() {
            "interstate" => AppliesTo::Interstate,
            "all" => AppliesTo::AllCalls,
            other => {
                return Err(TariffError::BadSchedule {
                    file: file.to_owned(),
                    problem: format!(
                        "applies_to must be \"interstate\" or \"all\", not {:?}",
                        other.chars().take(32).collect::<String>()
                    ),
                });
            }
        };
        let mut tiers = Vec::with_capacity(raw.tier.len());
        for t in &raw.tier {
            let label = t.tier.trim();
            let name = TierName::parse(label).ok_or_else(|| TariffError::UnknownTier {
                file: file.to_owned(),
                tier: label.chars().take(32).collect(),
            })?;
            tiers.push(Tier {
                name,
                adp_min: parse_adp(file, label, &t.adp_min)?,
                audio_cap: parse_figure(file, label, "audio_cap", &t.audio_cap)?,
                facility_cost_additive: t
                    .facility_cost_additive
                    .as_ref()
                    .map(|v| parse_figure(file, label, "facility_cost_additive", v))
                    .transpose()?,
            });
        }
        let mut schedule = Self {
            name,
            source,
            source_url: s.source_url.filter(|u| !u.trim().is_empty()),
            effective_from,
            effective_until,
            applies_to,
            tiers,
        };
        schedule.check(file)?;
        schedule
            .tiers
            .sort_by_key(|t| (t.name.kind() == FacilityKind::Jail, t.adp_min));
        Ok(schedule)
    }

    /// Checks the rules a parsed schedule obeys; [`Tariffs::new`] runs it
    /// again on schedules built by hand. `file` names it in errors.
    pub fn check(&self, file: &str) -> Result<(), TariffError> {
        if self.source.trim().is_empty() || self.source.trim() == PLACEHOLDER {
            return Err(TariffError::MissingSource {
                file: file.to_owned(),
            });
        }
        if self.name.trim().is_empty() {
            return Err(TariffError::BadSchedule {
                file: file.to_owned(),
                problem: "the schedule needs a name".to_owned(),
            });
        }
        if self
            .effective_until
            .is_some_and(|u| u <= self.effective_from)
        {
            return Err(TariffError::BadSchedule {
                file: file.to_owned(),
                problem: "effective_until must be after effective_from".to_owned(),
            });
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let name = tier.name;
            if tier.audio_cap == CapPerMinute::ZERO {
                return Err(TariffError::ZeroCap {
                    file: file.to_owned(),
                    tier: name,
                });
            }
            if tier.audio_cap > ABSURD_CAP {
                return Err(TariffError::AbsurdCap {
                    file: file.to_owned(),
                    tier: name,
                    field: "audio_cap",
                    value: tier.audio_cap,
                    limit: ABSURD_CAP,
                });
            }
            if let Some(add) = tier.facility_cost_additive
                && add > ABSURD_ADDITIVE
            {
                return Err(TariffError::AbsurdCap {
                    file: file.to_owned(),
                    tier: name,
                    field: "facility_cost_additive",
                    value: add,
                    limit: ABSURD_ADDITIVE,
                });
            }
            if name == TierName::Prison && tier.adp_min != 0 {
                return Err(TariffError::BadValue {
                    file: file.to_owned(),
                    tier: name.as_str().to_owned(),
                    field: "adp_min",
                    problem: "prisons are one tier of any size: adp_min must be 0".to_owned(),
                });
            }
            if self.tiers[..i].iter().any(|o| {
                o.name == name || (o.name.kind() == name.kind() && o.adp_min == tier.adp_min)
            }) {
                return Err(TariffError::OverlappingTiers {
                    file: file.to_owned(),
                    tier: name,
                });
            }
        }
        for kind in [FacilityKind::Prison, FacilityKind::Jail] {
            if !self
                .tiers
                .iter()
                .any(|t| t.name.kind() == kind && t.adp_min == 0)
            {
                return Err(TariffError::UncoveredKind {
                    file: file.to_owned(),
                    kind,
                });
            }
        }
        Ok(())
    }

    /// The tier a facility of this kind and size falls in. Always `Some`
    /// for a parsed schedule (each kind has a tier from ADP 0); `None` only
    /// for one built by hand without.
    pub fn tier_for(&self, kind: FacilityKind, average_daily_population: u32) -> Option<&Tier> {
        self.tiers
            .iter()
            .filter(|t| t.name.kind() == kind && t.adp_min <= average_daily_population)
            .max_by_key(|t| t.adp_min)
    }

    /// The 2024 order's audio caps as compiled into [`RateTier::audio_cap`]:
    /// the fallback when no tariff file is loaded. A test keeps it equal to
    /// the shipped `tariffs/2024-order.toml`.
    pub fn fallback_2024() -> Self {
        let tier = |name, adp_min, rate_tier: RateTier| Tier {
            name,
            adp_min,
            audio_cap: CapPerMinute::from_cents(rate_tier.audio_cap().0),
            facility_cost_additive: None,
        };
        Self {
            name: "FCC 24-75 audio caps (compiled-in fallback)".to_owned(),
            source: "FCC 24-75, Report and Order, 89 FR 77244 (Sept. 20, 2024)".to_owned(),
            source_url: None,
            effective_from: jiff::civil::date(2024, 11, 19),
            effective_until: None,
            applies_to: AppliesTo::AllCalls,
            tiers: vec![
                tier(TierName::Prison, 0, RateTier::Prison),
                tier(TierName::VerySmallJail, 0, RateTier::VerySmallJail),
                tier(TierName::SmallJail, 100, RateTier::SmallJail),
                tier(TierName::MediumJail, 350, RateTier::MediumJail),
                tier(TierName::LargeJail, 1000, RateTier::LargeJail),
            ],
        }
    }

    fn covers(&self, day: Date) -> bool {
        self.effective_from <= day && self.effective_until.is_none_or(|u| day < u)
    }
}

/// Every loaded schedule, validated together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariffs {
    schedules: Vec<Schedule>,
}

impl Tariffs {
    /// Parses `(file name, text)` pairs and validates them as a set.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TariffError> {
        let schedules = files
            .into_iter()
            .map(|(file, text)| Schedule::parse(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(schedules)
    }

    /// Validates schedules as a set: no two start on the same day, and a
    /// schedule with an end date must end before the next one starts.
    pub fn new(mut schedules: Vec<Schedule>) -> Result<Self, TariffError> {
        if schedules.is_empty() {
            return Err(TariffError::Empty);
        }
        for schedule in &schedules {
            schedule.check(&schedule.name)?;
        }
        schedules.sort_by_key(|s| s.effective_from);
        for pair in schedules.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.effective_from == b.effective_from
                || (a.effective_until.is_some() && a.covers(b.effective_from))
            {
                return Err(TariffError::OverlappingSchedules {
                    first: a.name.clone(),
                    second: b.name.clone(),
                    on: b.effective_from,
                });
            }
        }
        Ok(Self { schedules })
    }

    /// Only the compiled-in 2024 caps ([`Schedule::fallback_2024`]).
    pub fn fallback() -> Self {
        Self {
            schedules: vec![Schedule::fallback_2024()],
        }
    }

    /// The schedules, oldest first.
    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    /// The schedule in force on `day`: the latest that has started and not
    /// ended.
    pub fn schedule_on(&self, day: Date) -> Option<&Schedule> {
        self.schedules
            .iter()
            .rev()
            .find(|s| s.effective_from <= day)
            .filter(|s| s.covers(day))
    }

    /// The cap in force for a facility of `kind` and `average_daily_population`
    /// on `day` (the facility's local date).
    pub fn cap_for(
        &self,
        kind: FacilityKind,
        average_daily_population: u32,
        day: Date,
    ) -> Result<CapInForce, TariffError> {
        let schedule = self
            .schedule_on(day)
            .ok_or(TariffError::NoScheduleInForce(day))?;
        let tier = schedule
            .tier_for(kind, average_daily_population)
            .ok_or_else(|| TariffError::UncoveredKind {
                file: schedule.name.clone(),
                kind,
            })?;
        Ok(CapInForce {
            schedule: schedule.name.clone(),
            source: schedule.source.clone(),
            tier: tier.name,
            audio_cap: tier.audio_cap,
            facility_cost_additive: tier.facility_cost_additive,
        })
    }

    /// The cap in force for a facility at the instant `at` (a call's
    /// acceptance, say), on the facility's local date: a call accepted at
    /// 23:30 in Chicago on the eve of a new schedule is under the old one.
    pub fn cap_for_facility(
        &self,
        facility: &Facility,
        at: Timestamp,
    ) -> Result<CapInForce, TariffError> {
        self.cap_for(
            facility.kind,
            facility.average_daily_population,
            facility.timezone.local_date(at),
        )
    }

    /// The rate a facility's calls are charged at the instant `at`: its own
    /// rate ([`Facility::rate`]) if it has one, else the whole-cent rate at
    /// or below the audio cap in force on its local date. Never above the
    /// cap in force: an own rate a later schedule undercuts is lowered to it
    /// (the audio part to the audio cap, the additive to what the schedule
    /// allows, none if it allows none). With no loaded schedule in force
    /// that day, the compiled-in 2024 caps apply ([`Tariffs::fallback`]), so
    /// a call is never rated without a cap.
    pub fn rate_for_facility(&self, facility: &Facility, at: Timestamp) -> CappedRate {
        let in_force = self
            .cap_for_facility(facility, at)
            .or_else(|_| Self::fallback().cap_for_facility(facility, at))
            .ok();
        let audio_cap = in_force.as_ref().map_or_else(
            || CapPerMinute::from_cents(facility.tier().audio_cap().0),
            |c| c.audio_cap,
        );
        let Some(own) = facility.rate else {
            return CappedRate::clamped(audio_cap.floor_cents(), audio_cap);
        };
        let audio = own.audio.min(audio_cap.floor_cents());
        let allowed = in_force
            .as_ref()
            .and_then(|c| c.facility_cost_additive)
            .unwrap_or(CapPerMinute::ZERO);
        let additive = own
            .facility_cost_additive
            .map_or(CentsPerMinute(0), |a| a.min(allowed.floor_cents()));
        let limit = audio_cap.saturating_add(allowed);
        CappedRate::clamped(CentsPerMinute(audio.0.saturating_add(additive.0)), limit)
    }

    /// Checks a facility's own rate set on `from` (a date in the facility's
    /// time zone) against the schedule in force then and every later one
    /// loaded: the audio rate within the audio cap, the additive (if any,
    /// and not zero) only where the schedule allows one and within it, and
    /// their sum within the cap plus the additive. The rate charged on
    /// `from`, or the first rule it breaks.
    pub fn check_facility_rate(
        &self,
        kind: FacilityKind,
        average_daily_population: u32,
        from: Date,
        rate: FacilityRate,
    ) -> Result<CappedRate, TariffError> {
        let additive = rate.facility_cost_additive.filter(|a| a.0 > 0);
        let later = self
            .schedules
            .iter()
            .filter(|s| s.effective_from > from)
            .map(|s| s.effective_from);
        let mut first = None;
        for day in std::iter::once(from).chain(later) {
            let cap = self.cap_for(kind, average_daily_population, day)?;
            self.check_rate(kind, average_daily_population, day, rate.audio, false)?;
            if let Some(add) = additive {
                let Some(allowed) = cap.facility_cost_additive else {
                    return Err(TariffError::NoAdditiveAllowed {
                        tier: cap.tier,
                        schedule: cap.schedule,
                        on: day,
                    });
                };
                if !allowed.admits(add) {
                    return Err(TariffError::AdditiveAboveAllowed {
                        additive: add.0,
                        allowed,
                        tier: cap.tier,
                        schedule: cap.schedule,
                        on: day,
                    });
                }
            }
            let total = self.check_rate(
                kind,
                average_daily_population,
                day,
                rate.per_minute(),
                additive.is_some(),
            )?;
            first.get_or_insert(total);
        }
        first.ok_or(TariffError::NoScheduleInForce(from))
    }

    /// Checks a facility's configured rate on `day`: the rate as a
    /// [`CappedRate`], or [`TariffError::RateAboveCap`].
    pub fn check_rate(
        &self,
        kind: FacilityKind,
        average_daily_population: u32,
        day: Date,
        rate: CentsPerMinute,
        with_facility_costs: bool,
    ) -> Result<CappedRate, TariffError> {
        let cap = self.cap_for(kind, average_daily_population, day)?;
        let limit = cap.limit(with_facility_costs);
        CappedRate::new(rate, limit).ok_or(TariffError::RateAboveCap {
            rate: rate.0,
            cap: limit,
            tier: cap.tier,
            schedule: cap.schedule,
            on: day,
        })
    }

    /// Checks a rate set on `from` against the schedule in force then and
    /// every later one already loaded, so a rate that a coming cap would
    /// forbid is refused when it is configured.
    pub fn check_rate_from(
        &self,
        kind: FacilityKind,
        average_daily_population: u32,
        from: Date,
        rate: CentsPerMinute,
        with_facility_costs: bool,
    ) -> Result<CappedRate, TariffError> {
        let first = self.check_rate(
            kind,
            average_daily_population,
            from,
            rate,
            with_facility_costs,
        )?;
        for s in self.schedules.iter().filter(|s| s.effective_from > from) {
            self.check_rate(
                kind,
                average_daily_population,
                s.effective_from,
                rate,
                with_facility_costs,
            )?;
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    const T2021: &str = include_str!("../../../tariffs/2021-interim.toml");
    const T2024: &str = include_str!("../../../tariffs/2024-order.toml");
    const T2025_EXAMPLE: &str = include_str!("../../../tariffs/2025-order.toml.example");

    fn shipped() -> Tariffs {
        Tariffs::parse([("2021-interim.toml", T2021), ("2024-order.toml", T2024)]).unwrap()
    }

    const MINIMAL: &str = r#"
        [schedule]
        name = "test"
        source = "a test"
        effective_from = 2030-01-01
        applies_to = "all"
        [[tier]]
        tier = "prison"
        adp_min = 0
        audio_cap = "0.05"
        [[tier]]
        tier = "very_small_jail"
        adp_min = 0
        audio_cap = "0.10"
    "#;

    #[test]
    fn shipped_files_load_and_cite_their_orders() {
        let t = shipped();
        let [a, b] = t.schedules() else {
            panic!("two schedules")
        };
        assert!(a.source.contains("FCC 21-60"), "{}", a.source);
        assert_eq!(a.effective_from, date(2021, 10, 26));
        assert_eq!(a.applies_to, AppliesTo::Interstate);
        assert!(b.source.contains("FCC 24-75"), "{}", b.source);
        assert_eq!(b.effective_from, date(2024, 11, 19));
        assert_eq!(b.applies_to, AppliesTo::AllCalls);
    }

    #[test]
    fn caps_by_date_kind_and_population() {
        use FacilityKind::{Jail, Prison};
        let t = shipped();
        let in_2022 = date(2022, 6, 1);
        let in_2025 = date(2025, 6, 1);
        let cases = [
            (Prison, 5000, in_2022, TierName::Prison, 12, Some(2)),
            (Jail, 1000, in_2022, TierName::LargeJail, 14, Some(2)),
            (Jail, 999, in_2022, TierName::JailUnder1000, 21, None),
            (Jail, 0, in_2022, TierName::JailUnder1000, 21, None),
            (Prison, 0, in_2025, TierName::Prison, 6, None),
            (Jail, 1000, in_2025, TierName::LargeJail, 6, None),
            (Jail, 999, in_2025, TierName::MediumJail, 7, None),
            (Jail, 350, in_2025, TierName::MediumJail, 7, None),
            (Jail, 349, in_2025, TierName::SmallJail, 9, None),
            (Jail, 100, in_2025, TierName::SmallJail, 9, None),
            (Jail, 99, in_2025, TierName::VerySmallJail, 12, None),
            (Jail, 0, in_2025, TierName::VerySmallJail, 12, None),
        ];
        for (kind, adp, day, tier, cents, additive) in cases {
            let cap = t.cap_for(kind, adp, day).unwrap();
            assert_eq!(cap.tier, tier, "{kind} {adp} {day}");
            assert_eq!(
                cap.audio_cap,
                CapPerMinute::from_cents(cents),
                "{kind} {adp} {day}"
            );
            assert_eq!(
                cap.facility_cost_additive,
                additive.map(CapPerMinute::from_cents),
                "{kind} {adp} {day}"
            );
        }
        // The day before the 2024 order's effective date is still 2021's.
        assert_eq!(
            t.cap_for(Jail, 500, date(2024, 11, 18)).unwrap().audio_cap,
            CapPerMinute::from_cents(21)
        );
        assert_eq!(
            t.cap_for(Jail, 500, date(2024, 11, 19)).unwrap().audio_cap,
            CapPerMinute::from_cents(7)
        );
        assert_eq!(
            t.cap_for(Prison, 1, date(2021, 10, 25)),
            Err(TariffError::NoScheduleInForce(date(2021, 10, 25)))
        );
    }

    #[test]
    fn the_compiled_in_fallback_equals_the_shipped_2024_file() {
        let shipped = Schedule::parse("2024-order.toml", T2024).unwrap();
        let fallback = Schedule::fallback_2024();
        assert_eq!(shipped.effective_from, fallback.effective_from);
        assert_eq!(shipped.tiers, fallback.tiers);
        for kind in [FacilityKind::Prison, FacilityKind::Jail] {
            for adp in [0, 1, 99, 100, 349, 350, 999, 1000, 100_000] {
                let cap = shipped.tier_for(kind, adp).unwrap().audio_cap;
                assert_eq!(
                    cap.floor_cents(),
                    RateTier::for_facility(kind, adp).audio_cap(),
                    "{kind} {adp}"
                );
            }
        }
    }

    #[test]
    fn the_2025_example_parses_only_once_the_operator_fills_it_in() {
        let err = Schedule::parse("2025-order.toml.example", T2025_EXAMPLE).unwrap_err();
        assert!(matches!(err, TariffError::Placeholder { .. }), "{err}");
        assert!(err.to_string().contains("not filled in"), "{err}");
        // Filled in with made-up test figures (not the order's), the format
        // holds every 2025 tier, the extremely small jails included.
        let mut tier = String::new();
        let filled = T2025_EXAMPLE
            .lines()
            .map(|line| {
                let key = line.split('=').next().unwrap_or("").trim();
                if key == "tier" {
                    tier = line.to_owned();
                }
                if !line.contains(PLACEHOLDER) {
                    return line.to_owned();
                }
                if key != "adp_min" {
                    return format!("{key} = \"0.01\"");
                }
                let adp = [
                    ("large", 1000),
                    ("medium", 350),
                    ("\"small", 100),
                    ("very", 50),
                ]
                .into_iter()
                .find(|(name, _)| tier.contains(name))
                .map_or(9999, |(_, adp)| adp);
                format!("adp_min = {adp}")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let s = Schedule::parse("2025-order.toml", &filled).unwrap();
        assert!(s.source.contains("FCC 25-75"));
        assert!(
            s.tiers
                .iter()
                .any(|t| t.name == TierName::ExtremelySmallJail),
            "the format expresses the extremely-small-jails tier"
        );
        let all = Tariffs::new(vec![
            Schedule::parse("a", T2021).unwrap(),
            Schedule::parse("b", T2024).unwrap(),
            s,
        ])
        .unwrap();
        assert_eq!(
            all.schedule_on(date(2026, 4, 6))
                .map(|s| s.source.contains("25-75")),
            Some(true)
        );
        assert_eq!(
            all.cap_for(FacilityKind::Jail, 10, date(2026, 4, 6))
                .unwrap()
                .tier,
            TierName::ExtremelySmallJail
        );
    }

    fn expect_err(text: &str) -> TariffError {
        Schedule::parse("t.toml", text).unwrap_err()
    }

    #[test]
    fn refuses_bad_files_with_clear_errors() {
        assert!(Schedule::parse("t.toml", MINIMAL).is_ok());
        let no_source = MINIMAL.replace("source = \"a test\"", "");
        assert!(matches!(
            expect_err(&no_source),
            TariffError::MissingSource { .. }
        ));
        let empty_source = MINIMAL.replace("source = \"a test\"", "source = \"  \"");
        assert!(matches!(
            expect_err(&empty_source),
            TariffError::MissingSource { .. }
        ));
        let unknown = MINIMAL.replace("very_small_jail", "tiny_jail");
        let e = expect_err(&unknown);
        assert!(matches!(e, TariffError::UnknownTier { .. }));
        assert!(e.to_string().contains("tiny_jail"));
        let zero = MINIMAL.replace("\"0.05\"", "\"0.00\"");
        assert!(matches!(expect_err(&zero), TariffError::ZeroCap { .. }));
        let absurd = MINIMAL.replace("\"0.05\"", "\"5.00\"");
        assert!(matches!(expect_err(&absurd), TariffError::AbsurdCap { .. }));
        let float = MINIMAL.replace("\"0.05\"", "0.05");
        let e = expect_err(&float);
        assert!(e.to_string().contains("quoted string"), "{e}");
        let typo = MINIMAL.replace(
            "audio_cap = \"0.05\"",
            "audio_cap = \"0.05\"\naudio_cpa = 1",
        );
        assert!(matches!(expect_err(&typo), TariffError::Syntax { .. }));
        let no_jails = MINIMAL.replace(
            "adp_min = 0\n        audio_cap = \"0.10\"",
            "adp_min = 5\n        audio_cap = \"0.10\"",
        );
        assert!(matches!(
            expect_err(&no_jails),
            TariffError::UncoveredKind {
                kind: FacilityKind::Jail,
                ..
            }
        ));
        let twice =
            format!("{MINIMAL}\n[[tier]]\ntier = \"prison\"\nadp_min = 0\naudio_cap = \"0.04\"\n");
        assert!(matches!(
            expect_err(&twice),
            TariffError::OverlappingTiers { .. }
        ));
        let same_band = format!(
            "{MINIMAL}\n[[tier]]\ntier = \"small_jail\"\nadp_min = 0\naudio_cap = \"0.04\"\n"
        );
        assert!(matches!(
            expect_err(&same_band),
            TariffError::OverlappingTiers { .. }
        ));
        let bad_date = MINIMAL.replace("2030-01-01", "\"soon\"");
        assert!(matches!(
            expect_err(&bad_date),
            TariffError::BadSchedule { .. }
        ));
        let ends_first = MINIMAL.replace("applies_to", "effective_until = 2029-01-01\napplies_to");
        assert!(matches!(
            expect_err(&ends_first),
            TariffError::BadSchedule { .. }
        ));
        let scope = MINIMAL.replace("\"all\"", "\"local\"");
        assert!(matches!(
            expect_err(&scope),
            TariffError::BadSchedule { .. }
        ));
        assert!(matches!(
            expect_err("not toml ["),
            TariffError::Syntax { .. }
        ));
    }

    #[test]
    fn overlapping_schedules_are_refused() {
        let a = Schedule::parse("a", MINIMAL).unwrap();
        let mut b = a.clone();
        b.name = "b".into();
        assert!(matches!(
            Tariffs::new(vec![a.clone(), b.clone()]),
            Err(TariffError::OverlappingSchedules { .. })
        ));
        let mut ending = a;
        ending.effective_until = Some(date(2031, 1, 1));
        b.effective_from = date(2030, 6, 1);
        assert!(matches!(
            Tariffs::new(vec![ending.clone(), b.clone()]),
            Err(TariffError::OverlappingSchedules { .. })
        ));
        // Ending the day the next one starts is fine; a gap leaves no cap.
        b.effective_from = date(2031, 1, 1);
        assert!(Tariffs::new(vec![ending.clone(), b.clone()]).is_ok());
        b.effective_from = date(2031, 2, 1);
        let gap = Tariffs::new(vec![ending, b]).unwrap();
        assert_eq!(
            gap.cap_for(FacilityKind::Prison, 0, date(2031, 1, 15)),
            Err(TariffError::NoScheduleInForce(date(2031, 1, 15)))
        );
        assert_eq!(Tariffs::new(vec![]), Err(TariffError::Empty));
        // Schedules built by hand are checked as files are.
        let mut bare = Schedule::fallback_2024();
        bare.tiers.clear();
        assert!(matches!(
            Tariffs::new(vec![bare]),
            Err(TariffError::UncoveredKind { .. })
        ));
        let mut zero = Schedule::fallback_2024();
        zero.tiers[0].audio_cap = CapPerMinute::ZERO;
        assert!(matches!(
            Tariffs::new(vec![zero]),
            Err(TariffError::ZeroCap { .. })
        ));
        let mut unsourced = Schedule::fallback_2024();
        unsourced.source.clear();
        assert!(matches!(
            Tariffs::new(vec![unsourced]),
            Err(TariffError::MissingSource { .. })
        ));
    }

    #[test]
    fn a_facility_s_cap_follows_its_local_date() {
        use crate::facility::{CallingHours, FacilityTimeZone};
        use crate::ids::FacilityId;
        use crate::text::Name;
        let facility = Facility {
            id: FacilityId(1),
            name: Name::parse_field("name", "Demo County Jail").unwrap(),
            kind: FacilityKind::Jail,
            average_daily_population: 500,
            timezone: FacilityTimeZone::parse("America/Chicago").unwrap(),
            gateways: vec![],
            calling_hours: CallingHours::ALWAYS,
            max_call_minutes: 15,
            max_calls_per_day: None,
            requires_approved_list: true,
            pin_length: 6,
            rate: None,
        };
        let t = shipped();
        // 2024-11-19 04:30 UTC is still the 18th in Chicago: 2021's caps.
        let eve: Timestamp = "2024-11-19T04:30:00Z".parse().unwrap();
        assert_eq!(
            t.cap_for_facility(&facility, eve).unwrap().audio_cap,
            CapPerMinute::from_cents(21)
        );
        let day: Timestamp = "2024-11-19T06:30:00Z".parse().unwrap();
        let cap = t.cap_for_facility(&facility, day).unwrap();
        assert_eq!(
            (cap.tier, cap.audio_cap),
            (TierName::MediumJail, CapPerMinute::from_cents(7))
        );
    }

    #[test]
    fn a_rate_above_the_cap_is_refused() {
        let t = shipped();
        let day = date(2025, 6, 1);
        let ok = t
            .check_rate(FacilityKind::Jail, 500, day, CentsPerMinute(7), false)
            .unwrap();
        assert_eq!(ok.rate(), CentsPerMinute(7));
        let e = t
            .check_rate(FacilityKind::Jail, 500, day, CentsPerMinute(8), false)
            .unwrap_err();
        assert!(
            matches!(e, TariffError::RateAboveCap { rate: 8, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("medium_jail"), "{e}");
        // The 2021 additive is allowed only for a facility configured for it.
        let in_2022 = date(2022, 6, 1);
        assert!(
            t.check_rate(FacilityKind::Prison, 10, in_2022, CentsPerMinute(14), false)
                .is_err()
        );
        assert!(
            t.check_rate(FacilityKind::Prison, 10, in_2022, CentsPerMinute(14), true)
                .is_ok()
        );
        // 12 cents is fine in 2022 but the 2024 order's 6 cents is coming.
        assert!(matches!(
            t.check_rate_from(FacilityKind::Prison, 10, in_2022, CentsPerMinute(12), false),
            Err(TariffError::RateAboveCap { on, .. }) if on == date(2024, 11, 19)
        ));
    }

    #[test]
    fn cap_arithmetic() {
        assert_eq!(
            CapPerMinute::parse_dollars("0.06"),
            Some(CapPerMinute::from_cents(6))
        );
        assert_eq!(
            CapPerMinute::parse_dollars("$0.135").map(|c| c.hundredths_of_cent()),
            Some(1350)
        );
        assert_eq!(
            CapPerMinute::parse_dollars("0.1234").map(|c| c.hundredths_of_cent()),
            Some(1234)
        );
        for bad in ["", "0.12345", "-0.06", "0.", ".06", "1e2", "0,06", "1000"] {
            assert_eq!(CapPerMinute::parse_dollars(bad), None, "{bad}");
        }
        let c = CapPerMinute::parse_dollars("0.135").unwrap();
        assert_eq!(c.to_string(), "$0.135");
        assert_eq!(CapPerMinute::from_cents(6).to_string(), "$0.06");
        assert_eq!(c.floor_cents(), CentsPerMinute(13));
        assert!(c.admits(CentsPerMinute(13)));
        assert!(!c.admits(CentsPerMinute(14)));
        assert_eq!(CappedRate::new(CentsPerMinute(14), c), None);
        assert_eq!(
            CappedRate::clamped(CentsPerMinute(14), c).rate(),
            CentsPerMinute(13)
        );
        assert_eq!(
            CappedRate::clamped(CentsPerMinute(5), c).rate(),
            CentsPerMinute(5)
        );
    }
}
