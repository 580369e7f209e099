//! What the switch asks of the rest of the system, as one trait, so the
//! switch does not care how the store is reached ([`CallServices`]), and its
//! implementation over a [`Store`] ([`StoreServices`]).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use callward_core::callflow::PinCheck;
use callward_core::cdr::CallDetailRecord;
use callward_core::tariff::Tariffs;
use callward_core::{
    BlockScope, CallFacts, Decision, E164Number, Facility, FacilityId, OpenCall, Person, PersonId,
    Pin, PinKey, Station, authorize_call, pin_locked,
};
use callward_store::{Store, StoreError};
use jiff::Timestamp;

/// Why a service call failed. The call flow treats a failed PIN check or
/// authorisation as no answer (its own deadline ends the call).
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceError {
    /// The store failed.
    Store(StoreError),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A station and its facility, found by the SIP From user.
#[derive(Debug, Clone)]
pub struct StationInfo {
    /// The station.
    pub station: Station,
    /// Its facility.
    pub facility: Facility,
}

/// What [`CallServices::authorize`] is asked.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// The calling station and its facility.
    pub station: &'a StationInfo,
    /// Where the station's INVITE came from.
    pub source: IpAddr,
    /// The person of the last valid PIN.
    pub person: Option<PersonId>,
    /// The number dialled.
    pub number: &'a E164Number,
    /// Calls this switch is carrying for the person now (this one
    /// excluded), as counted by the switch's own registry.
    pub active_calls: u32,
    /// Wall-clock time of the request.
    pub now: Timestamp,
}

/// Everything the switch needs from outside: lookups, decisions and
/// writes. Methods return `Send` futures so one value serves every call
/// task (the switch holds it in an `Arc`).
pub trait CallServices: Send + Sync + 'static {
    /// Every facility's gateway addresses (the switch refuses SIP from
    /// anywhere else, and refreshes this now and then).
    fn gateways(&self) -> impl Future<Output = Result<Vec<IpAddr>, ServiceError>> + Send;

    /// The station whose SIP user is `sip_user`, with its facility.
    fn station(
        &self,
        sip_user: &str,
    ) -> impl Future<Output = Result<Option<StationInfo>, ServiceError>> + Send;

    /// Checks a PIN entered at `station`: lockout first, then the digest;
    /// records a failure. Never logs the PIN.
    fn check_pin(
        &self,
        station: &StationInfo,
        pin: &Pin,
        now: Timestamp,
    ) -> impl Future<Output = Result<PinCheck, ServiceError>> + Send;

    /// Gathers the call's facts and runs `authorize_call`.
    fn authorize(
        &self,
        request: AuthorizeRequest<'_>,
    ) -> impl Future<Output = Result<Decision, ServiceError>> + Send;

    /// The called party asked not to be called from this facility again.
    fn block_for_facility(
        &self,
        facility: FacilityId,
        number: &E164Number,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;

    /// Journals a call in progress, so a crash still leaves its record
    /// (see `callward_core::journal`).
    fn journal_call(&self, call: OpenCall)
    -> impl Future<Output = Result<(), ServiceError>> + Send;

    /// Stores the call record (the flow's record in wall-clock time) and
    /// its charge, at once, ending its journal entry: a record is never
    /// stored uncharged nor charged twice.
    fn record_call(
        &self,
        call: CallDetailRecord,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
}

/// [`CallServices`] over a [`Store`], with the PIN key for digests and the
/// rate caps for terms.
#[derive(Debug)]
pub struct StoreServices<S> {
    store: S,
    pin_key: PinKey,
    tariffs: Arc<Tariffs>,
}

impl<S: Store> StoreServices<S> {
    /// Services reading and writing `store`; PINs are digested with
    /// `pin_key`; a call's rate and money limit come from `tariffs` (the
    /// same schedules the store rates finished calls with).
    pub fn new(store: S, pin_key: PinKey, tariffs: Arc<Tariffs>) -> Self {
        Self {
            store,
            pin_key,
            tariffs,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    async fn pin_failures(
        &self,
        station: &Station,
        now: Timestamp,
    ) -> Result<Vec<Timestamp>, ServiceError> {
        let window = jiff::SignedDuration::try_from(callward_core::authorize::PIN_FAILURE_WINDOW)
            // 15 minutes always fits.
            .unwrap_or(jiff::SignedDuration::from_mins(15));
        Ok(self
            .store
            .pin_failures_since(station.id, now - window)
            .await?)
    }
}

impl<S: Store + 'static> CallServices for StoreServices<S> {
    async fn gateways(&self) -> Result<Vec<IpAddr>, ServiceError> {
        let mut all: Vec<IpAddr> = self
            .store
            .list_facilities()
            .await?
            .into_iter()
            .flat_map(|f| f.gateways)
            .collect();
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    async fn station(&self, sip_user: &str) -> Result<Option<StationInfo>, ServiceError> {
        let Some(station) = self.store.station_by_code(sip_user).await? else {
            return Ok(None);
        };
        let facility = self.store.facility(station.facility_id).await?;
        Ok(Some(StationInfo { station, facility }))
    }

    async fn check_pin(
        &self,
        station: &StationInfo,
        pin: &Pin,
        now: Timestamp,
    ) -> Result<PinCheck, ServiceError> {
        let failures = self.pin_failures(&station.station, now).await?;
        if pin_locked(&failures, now) {
            return Ok(PinCheck::Locked);
        }
        let facility = &station.facility;
        let person = if pin.expose_secret().len() == usize::from(facility.pin_length) {
            let digest = self.pin_key.digest(facility.id, pin);
            self.store.person_by_pin(facility.id, &digest).await?
        } else {
            None
        };
        match person {
            Some(p) => Ok(PinCheck::Valid {
                person: p.id,
                language: p.language,
            }),
            None => {
                self.store
                    .record_pin_failure(station.station.id, now)
                    .await?;
                Ok(PinCheck::Invalid)
            }
        }
    }

    async fn authorize(&self, request: AuthorizeRequest<'_>) -> Result<Decision, ServiceError> {
        let info = request.station;
        let now = request.now;
        let failures = self.pin_failures(&info.station, now).await?;
        let person: Option<Person> = match request.person {
            Some(id) => Some(self.store.person(id).await?),
            None => None,
        };
        let number = request.number;
        let (approved, blocked, debit) = match &person {
            Some(p) => (
                self.store.is_approved(p.id, number).await?,
                self.store
                    .find_block(p.id, info.facility.id, number)
                    .await?,
                self.store.debit_account(p.id).await?,
            ),
            None => (false, None::<BlockScope>, None),
        };
        // Only asked when the facility has a daily limit: one more query
        // per call otherwise for nothing.
        let calls_today = match (&person, info.facility.max_calls_per_day) {
            (Some(p), Some(_)) => {
                let midnight = info.facility.timezone.start_of_day(now);
                self.store.count_accepted_calls(p.id, midnight).await?
            }
            _ => 0,
        };
        let privileged = self.store.privileged_by_number(number).await?;
        let prepaid = self.store.prepaid_account(number).await?;
        let facts = CallFacts {
            facility: &info.facility,
            station: Some(&info.station),
            source: request.source,
            pin_failures: &failures,
            caller: person.as_ref(),
            dialled: number,
            approved,
            blocked,
            privileged: privileged.as_ref(),
            prepaid: prepaid.as_ref(),
            debit: debit.as_ref(),
            calls_today,
            active_calls: request.active_calls,
            tariffs: &self.tariffs,
        };
        Ok(authorize_call(&facts, now))
    }

    async fn block_for_facility(
        &self,
        facility: FacilityId,
        number: &E164Number,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.store
            .add_block(
                BlockScope::CalledParty(facility),
                number.clone(),
                "blocked by the called party".into(),
                now,
            )
            .await?;
        Ok(())
    }

    async fn journal_call(&self, call: OpenCall) -> Result<(), ServiceError> {
        Ok(self.store.journal_call(&call).await?)
    }

    async fn record_call(&self, call: CallDetailRecord) -> Result<(), ServiceError> {
        let charged = self.store.record_call(&call).await?;
        tracing::info!(
            charge_cents = charged.charge.0,
            billed_s = charged.billed_seconds,
            continuation_of = charged.continuation_of.as_deref(),
            "call charged"
        );
        Ok(())
    }
}
