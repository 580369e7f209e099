//! The call journal: what is known of a call while it is in progress, kept
//! by the switch so that a call cut off by a crash still gets its record.
//!
//! The switch writes an [`OpenCall`] when a call is authorised and again at
//! each step (answered, accepted) and every few seconds while it is
//! bridged; storing the call's record removes it. At the next start, every
//! entry still there belongs to a call the crash interrupted, and
//! [`OpenCall::interrupted`] turns it into that call's record: disposition
//! `interrupted`, hung up by the system, ended at the last time the switch
//! saw it alive (so the billable time never exceeds what was carried).

use jiff::Timestamp;

use crate::callflow::{Disposition, HungUpBy};
use crate::cdr::CallDetailRecord;
use crate::ids::{AccountId, FacilityId, PersonId, StationId};
use crate::number::E164Number;

/// A call in progress, as last journalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCall {
    /// The switch's call id (the future record's id).
    pub id: String,
    /// Facility of the calling station.
    pub facility_id: FacilityId,
    /// The calling station.
    pub station_id: StationId,
    /// The person of the PIN.
    pub person_id: Option<PersonId>,
    /// The number dialled.
    pub number: Option<E164Number>,
    /// Whether the call is to a privileged number (never recorded).
    pub privileged: bool,
    /// When the station's INVITE arrived.
    pub offered_at: Timestamp,
    /// When the called party answered.
    pub answered_at: Option<Timestamp>,
    /// When the called party accepted (pressed 1): billing starts.
    pub accepted_at: Option<Timestamp>,
    /// The recording, once one was started.
    pub recording_id: Option<String>,
    /// The rate in force for the call, cents a minute.
    pub rate_cents_per_minute: Option<u32>,
    /// The account the call is charged to, if it costs anything.
    pub payer_account_id: Option<AccountId>,
    /// The call's time limit, seconds: billable time never exceeds it.
    pub max_seconds: u64,
    /// The last time the switch saw the call alive.
    pub last_seen: Timestamp,
    /// Orders writes of one call: an older snapshot never replaces a newer.
    pub seq: u32,
}

impl OpenCall {
    /// The record of a call the crash interrupted: ended at `last_seen`,
    /// billable from acceptance to then (at most the time limit).
    pub fn interrupted(&self) -> CallDetailRecord {
        let ended_at = self.last_seen.max(self.offered_at);
        let billable_seconds = self
            .accepted_at
            .map(|a| {
                let secs = ended_at.duration_since(a).as_secs();
                u64::try_from(secs).unwrap_or(0).min(self.max_seconds)
            })
            .unwrap_or(0);
        CallDetailRecord {
            id: self.id.clone(),
            facility_id: self.facility_id,
            station_id: self.station_id,
            person_id: self.person_id,
            number: self.number.clone(),
            privileged: self.privileged,
            disposition: Disposition::Interrupted,
            hung_up_by: HungUpBy::System,
            offered_at: self.offered_at,
            answered_at: self.answered_at,
            accepted_at: self.accepted_at,
            ended_at,
            billable_seconds,
            time_limit_reached: false,
            limit: None,
            blocked_by_called_party: false,
            recording_id: if self.privileged {
                None
            } else {
                self.recording_id.clone()
            },
            rate_cents_per_minute: self.rate_cents_per_minute,
            payer_account_id: self.payer_account_id,
            charge_cents: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn open(at: Timestamp) -> OpenCall {
        OpenCall {
            id: "cw-1".into(),
            facility_id: FacilityId(1),
            station_id: StationId(2),
            person_id: Some(PersonId(3)),
            number: Some(E164Number::parse("+15551230001").unwrap()),
            privileged: false,
            offered_at: at,
            answered_at: Some(at + SignedDuration::from_secs(10)),
            accepted_at: Some(at + SignedDuration::from_secs(20)),
            recording_id: Some("cw-1".into()),
            rate_cents_per_minute: Some(7),
            payer_account_id: Some(AccountId(5)),
            max_seconds: 900,
            last_seen: at + SignedDuration::from_secs(95),
            seq: 4,
        }
    }

    #[test]
    fn an_interrupted_call_bills_acceptance_to_last_seen() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let cdr = open(t).interrupted();
        assert_eq!(cdr.disposition, Disposition::Interrupted);
        assert_eq!(cdr.hung_up_by, HungUpBy::System);
        assert_eq!(cdr.billable_seconds, 75);
        assert_eq!(cdr.ended_at, t + SignedDuration::from_secs(95));
        assert_eq!(cdr.recording_id.as_deref(), Some("cw-1"));
        assert_eq!(cdr.payer_account_id, Some(AccountId(5)));
    }

    #[test]
    fn billable_time_is_capped_and_never_negative() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let mut o = open(t);
        o.max_seconds = 30;
        assert_eq!(o.interrupted().billable_seconds, 30);
        o.last_seen = t;
        assert_eq!(o.interrupted().billable_seconds, 0);
        assert_eq!(o.interrupted().ended_at, t);
        o.accepted_at = None;
        o.last_seen = t + SignedDuration::from_secs(500);
        assert_eq!(o.interrupted().billable_seconds, 0);
    }

    #[test]
    fn a_privileged_call_never_names_a_recording() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let mut o = open(t);
        o.privileged = true;
        assert_eq!(o.interrupted().recording_id, None);
    }
}
