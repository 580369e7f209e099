//! The stored call record (CDR): the flow's [`CallRecord`] in wall-clock time,
//! as the store keeps it and investigators will search it.

use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::authorize::CallLimit;
use crate::callflow::{CallRecord, Disposition, HungUpBy};
use crate::ids::{AccountId, FacilityId, PersonId, StationId};
use crate::number::E164Number;

/// A finished call as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDetailRecord {
    /// The switch's call id.
    pub id: String,
    /// The station's facility.
    pub facility_id: FacilityId,
    /// The calling station.
    pub station_id: StationId,
    /// The caller, once a PIN was accepted.
    pub person_id: Option<PersonId>,
    /// The number dialled, once one parsed.
    pub number: Option<E164Number>,
    /// Never recorded or monitored.
    pub privileged: bool,
    /// How it ended, in stored form (`completed`, `denied:<code>`, ...).
    #[serde(with = "disposition_text")]
    pub disposition: Disposition,
    /// Who ended it.
    #[serde(with = "hung_up_text")]
    pub hung_up_by: HungUpBy,
    /// When the station's INVITE arrived.
    pub offered_at: Timestamp,
    /// When the called party answered.
    pub answered_at: Option<Timestamp>,
    /// When the called party accepted (pressed 1).
    pub accepted_at: Option<Timestamp>,
    /// When the call ended.
    pub ended_at: Timestamp,
    /// Billed conversation time, whole seconds.
    pub billable_seconds: u64,
    /// Whether the call was cut at its time limit.
    pub time_limit_reached: bool,
    /// Which limit cut the call, when it was cut (`balance`,
    /// `call_length`, `calling_hours`); `None` otherwise, and for records
    /// stored before the reason was kept.
    #[serde(default)]
    pub limit: Option<CallLimit>,
    /// Whether the called party blocked the facility during this call.
    pub blocked_by_called_party: bool,
    /// The recording, if one was made (never for privileged calls).
    pub recording_id: Option<String>,
    /// Per-minute rate of the allowed terms, if any.
    pub rate_cents_per_minute: Option<u32>,
    /// The account the allowed terms named to pay (`None` for free or
    /// never-allowed calls).
    #[serde(default)]
    pub payer_account_id: Option<AccountId>,
    /// What was charged: set by the store, which rates the call and posts
    /// the charge in the same transaction as the record (0 when free).
    pub charge_cents: i64,
}

/// Why a record could not be built or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdrError {
    /// A privileged or unrecorded call cannot have a recording.
    #[error("call {0} was not recorded, so it cannot name a recording")]
    RecordingWithoutCapture(String),
    /// A time before the offer or after far in the future.
    #[error("call {0} has times out of range")]
    TimeOutOfRange(String),
}

impl CallDetailRecord {
    /// Converts the flow's record, given the wall-clock time read when the
    /// INVITE arrived and the recording id the driver assigned (only for a
    /// call the flow bridged as recorded).
    pub fn from_flow(
        record: &CallRecord,
        offered_at: Timestamp,
        recording_id: Option<String>,
    ) -> Result<Self, CdrError> {
        let id = record.call_id.as_str().to_owned();
        if recording_id.is_some() && (!record.recorded || record.privileged) {
            return Err(CdrError::RecordingWithoutCapture(id));
        }
        let at = |instant| -> Result<Timestamp, CdrError> {
            let since = SignedDuration::try_from(record.since_offered(instant))
                .map_err(|_| CdrError::TimeOutOfRange(id.clone()))?;
            offered_at
                .checked_add(since)
                .map_err(|_| CdrError::TimeOutOfRange(id.clone()))
        };
        Ok(Self {
            facility_id: record.facility,
            station_id: record.station,
            person_id: record.person,
            number: record.dialled.clone(),
            privileged: record.privileged,
            disposition: record.disposition,
            hung_up_by: record.who_hung_up,
            offered_at,
            answered_at: record.answered.map(at).transpose()?,
            accepted_at: record.accepted.map(at).transpose()?,
            ended_at: at(record.ended)?,
            billable_seconds: record.billable_seconds(),
            time_limit_reached: record.time_limit_reached,
            limit: record.limit.filter(|_| record.time_limit_reached),
            blocked_by_called_party: record.blocked_by_called_party,
            recording_id,
            rate_cents_per_minute: record.terms.as_ref().map(|t| t.rate.0),
            payer_account_id: record.terms.as_ref().and_then(|t| t.payer),
            charge_cents: 0,
            id,
        })
    }
}

/// A stored `who hung up` that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hang-up side {0:?}")]
pub struct ParseHungUpByError(String);

impl FromStr for HungUpBy {
    type Err = ParseHungUpByError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "station" => Ok(Self::Station),
            "outside" => Ok(Self::Outside),
            "system" => Ok(Self::System),
            _ => Err(ParseHungUpByError(s.chars().take(32).collect())),
        }
    }
}

mod disposition_text {
    use super::Disposition;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Disposition, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Disposition, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod hung_up_text {
    use super::HungUpBy;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(h: &HungUpBy, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(h)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HungUpBy, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::disallowed_methods,
        reason = "tests need an arbitrary origin instant"
    )]

    use std::time::{Duration, Instant};

    use super::*;
    use crate::callflow::CallId;
    use crate::person::Language;

    fn record(recorded: bool, privileged: bool) -> CallRecord {
        let t0 = Instant::now();
        CallRecord {
            call_id: CallId::new("c-1"),
            facility: FacilityId(1),
            station: StationId(2),
            person: Some(PersonId(3)),
            language: Language::En,
            dialled: Some(E164Number::parse("+15551230001").unwrap()),
            terms: None,
            privileged,
            recorded,
            offered: t0,
            station_answered: t0 + Duration::from_millis(100),
            answered: Some(t0 + Duration::from_secs(20)),
            accepted: Some(t0 + Duration::from_secs(30)),
            ended: t0 + Duration::from_millis(90_900),
            released: t0 + Duration::from_secs(92),
            billable: Duration::from_millis(60_900),
            disposition: Disposition::Completed,
            who_hung_up: HungUpBy::Outside,
            time_limit_reached: false,
            limit: None,
            blocked_by_called_party: false,
        }
    }

    #[test]
    fn converts_instants_to_wall_time() {
        let offered: Timestamp = "2026-07-01T17:00:00Z".parse().unwrap();
        let cdr =
            CallDetailRecord::from_flow(&record(true, false), offered, Some("r-1".into())).unwrap();
        assert_eq!(
            cdr.answered_at,
            Some("2026-07-01T17:00:20Z".parse().unwrap())
        );
        assert_eq!(
            cdr.accepted_at,
            Some("2026-07-01T17:00:30Z".parse().unwrap())
        );
        assert_eq!(cdr.ended_at, "2026-07-01T17:01:30.9Z".parse().unwrap());
        assert_eq!(cdr.billable_seconds, 60, "rounded down");
        assert_eq!(cdr.recording_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn an_unrecorded_or_privileged_call_cannot_name_a_recording() {
        let offered: Timestamp = "2026-07-01T17:00:00Z".parse().unwrap();
        for (recorded, privileged) in [(false, false), (false, true), (true, true)] {
            assert!(matches!(
                CallDetailRecord::from_flow(
                    &record(recorded, privileged),
                    offered,
                    Some("r".into())
                ),
                Err(CdrError::RecordingWithoutCapture(_))
            ));
        }
        assert!(CallDetailRecord::from_flow(&record(false, true), offered, None).is_ok());
    }

    #[test]
    fn hang_up_sides_round_trip() {
        for h in [HungUpBy::Station, HungUpBy::Outside, HungUpBy::System] {
            assert_eq!(h.to_string().parse::<HungUpBy>(), Ok(h));
        }
        assert!("nobody".parse::<HungUpBy>().is_err());
    }
}
