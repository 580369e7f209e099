//! Persistence for callward behind the [`Store`] trait, with SQLite as the
//! embedded default ([`SqliteStore`]). Each backend keeps its own migration
//! folder (`migrations/<backend>/`), embedded in the binary and applied at
//! open, and runs the same contract test suite (`tests/contract/`).
//!
//! Values come back as `callward-core` types, re-validated on the way out of
//! the database: a row that no longer parses is reported as
//! [`StoreError::Corrupt`], never passed on half-valid. Every change that
//! touches more than one row happens in one transaction.

use std::future::Future;
use std::net::IpAddr;

use callward_core::{
    Account, AccountHolder, AccountId, ApprovedContact, BlockEntry, BlockId, BlockScope,
    CallDetailRecord, CallingHours, Cents, Code, ContactId, E164Number, Facility, FacilityId,
    FacilityKind, FacilityRate, FacilityTimeZone, Language, Name, OpenCall, Person, PersonId,
    PersonStatus, PinDigest, PrivilegedId, PrivilegedNumber, Role, Station, StationId, UsState,
    User, Username, Verification,
};
use jiff::Timestamp;

mod attorney;
mod audit;
mod family;
mod ledger;
mod search;
mod sqlite;
mod sqlite_ledger;
mod sqlite_retention;
mod users;

pub use attorney::PrivilegeReview;
pub use audit::{
    AuditRows, SqliteAuditLog, audit_rows, verify_audit_log, verify_audit_log_with_progress,
};
pub use family::FamilyAccount;
pub use ledger::{ChargedCall, LedgerCheck};
pub use search::{BadCursor, CallSearch, Cursor, MAX_PAGE_SIZE, NumberMatch, Page, PageRequest};
pub use sqlite::SqliteStore;
pub use sqlite_retention::{
    DEFAULT_RETENTION_DAYS, ExpiryCandidate, LegalHold, PrivilegeSealEvent, RecordedCall,
};
pub use users::{AccountSummary, Agency, Case, LOCAL_OPERATOR, Release, UserAccount};

/// Why a store operation failed. The message is one line fit for a user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule would be broken (e.g. a duplicate booking id).
    #[error("{0}")]
    Conflict(String),
    /// The change would break a rule that needs the database to check
    /// (e.g. removing a facility that still has stations).
    #[error("{0}")]
    Refused(String),
    /// A stored row no longer parses: the database was changed outside callward.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database could not be opened, read or written.
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A facility to create.
#[derive(Debug, Clone)]
pub struct NewFacility {
    /// Unique display name.
    pub name: Name,
    /// Prison or jail.
    pub kind: FacilityKind,
    /// Average daily population.
    pub average_daily_population: u32,
    /// Local time zone.
    pub timezone: FacilityTimeZone,
    /// Gateway addresses stations call from.
    pub gateways: Vec<IpAddr>,
    /// Calling hours.
    pub calling_hours: CallingHours,
    /// Longest call.
    pub max_call_minutes: u32,
    /// Daily call limit per person.
    pub max_calls_per_day: Option<u32>,
    /// Whether only approved numbers may be called.
    pub requires_approved_list: bool,
    /// PIN length.
    pub pin_length: u8,
    /// Its own per-minute rate, already checked against the caps
    /// (`Tariffs::check_facility_rate`); `None` charges the cap.
    pub rate: Option<FacilityRate>,
}

/// Changes to a facility; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FacilityUpdate {
    /// New name.
    pub name: Option<Name>,
    /// New kind.
    pub kind: Option<FacilityKind>,
    /// New ADP.
    pub average_daily_population: Option<u32>,
    /// New time zone.
    pub timezone: Option<FacilityTimeZone>,
    /// Replaces the whole gateway list.
    pub gateways: Option<Vec<IpAddr>>,
    /// New hours.
    pub calling_hours: Option<CallingHours>,
    /// New max minutes.
    pub max_call_minutes: Option<u32>,
    /// New daily limit (`Some(None)` removes it).
    pub max_calls_per_day: Option<Option<u32>>,
    /// New list rule.
    pub requires_approved_list: Option<bool>,
    /// New own rate, already checked against the caps (`Some(None)`
    /// removes it: the facility is charged the cap).
    pub rate: Option<Option<FacilityRate>>,
}

/// A station to create.
#[derive(Debug, Clone)]
pub struct NewStation {
    /// Its facility.
    pub facility_id: FacilityId,
    /// SIP From user, unique.
    pub code: Code,
    /// Where it is.
    pub location: String,
    /// Never record calls from it.
    pub do_not_record: bool,
}

/// Changes to a station.
#[derive(Debug, Clone, Default)]
pub struct StationUpdate {
    /// New location.
    pub location: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Set or clear do-not-record.
    pub do_not_record: Option<bool>,
}

/// A person to admit.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Facility.
    pub facility_id: FacilityId,
    /// Booking number, unique per facility.
    pub booking_id: Code,
    /// Full name.
    pub name: Name,
    /// Prompt language.
    pub language: Language,
    /// Digest of the initial PIN, if one is set now.
    pub pin: Option<PinDigest>,
}

/// Changes to a person.
#[derive(Debug, Clone, Default)]
pub struct PersonUpdate {
    /// New name.
    pub name: Option<Name>,
    /// New language.
    pub language: Option<Language>,
    /// New status.
    pub status: Option<PersonStatus>,
    /// Set or clear do-not-record.
    pub do_not_record: Option<bool>,
}

/// An attorney number to register.
#[derive(Debug, Clone)]
pub struct NewPrivileged {
    /// The number.
    pub number: E164Number,
    /// Attorney's name.
    pub attorney_name: Name,
    /// Bar number.
    pub bar_number: String,
    /// Bar state.
    pub bar_state: UsState,
}

/// Persistence of everything callward keeps. Implemented by each backend;
/// `tests/contract` holds the behaviour every implementation must show.
///
/// Methods return `Send` futures so a store can be shared across tasks.
pub trait Store: Send + Sync {
    // ---- facilities ----

    /// Creates a facility with its gateways.
    fn create_facility(&self, new: NewFacility) -> impl Future<Output = Result<Facility>> + Send;
    /// All facilities by id.
    fn list_facilities(&self) -> impl Future<Output = Result<Vec<Facility>>> + Send;
    /// One facility.
    fn facility(&self, id: FacilityId) -> impl Future<Output = Result<Facility>> + Send;
    /// A facility by exact name.
    fn facility_by_name(&self, name: &str)
    -> impl Future<Output = Result<Option<Facility>>> + Send;
    /// Applies changes and returns the facility as it now is.
    fn update_facility(
        &self,
        id: FacilityId,
        update: FacilityUpdate,
    ) -> impl Future<Output = Result<Facility>> + Send;
    /// Removes a facility that has no stations, people or accounts left.
    fn remove_facility(&self, id: FacilityId) -> impl Future<Output = Result<()>> + Send;

    // ---- stations ----

    /// Creates a station.
    fn create_station(&self, new: NewStation) -> impl Future<Output = Result<Station>> + Send;
    /// Stations, of one facility or all.
    fn list_stations(
        &self,
        facility: Option<FacilityId>,
    ) -> impl Future<Output = Result<Vec<Station>>> + Send;
    /// A station by SIP user.
    fn station_by_code(&self, code: &str) -> impl Future<Output = Result<Option<Station>>> + Send;
    /// Applies changes.
    fn update_station(
        &self,
        id: StationId,
        update: StationUpdate,
    ) -> impl Future<Output = Result<Station>> + Send;
    /// Removes a station.
    fn remove_station(&self, id: StationId) -> impl Future<Output = Result<()>> + Send;

    // ---- people ----

    /// Admits a person.
    fn create_person(&self, new: NewPerson) -> impl Future<Output = Result<Person>> + Send;
    /// People at a facility.
    fn list_people(&self, facility: FacilityId)
    -> impl Future<Output = Result<Vec<Person>>> + Send;
    /// One person.
    fn person(&self, id: PersonId) -> impl Future<Output = Result<Person>> + Send;
    /// A person by booking id at a facility.
    fn person_by_booking(
        &self,
        facility: FacilityId,
        booking_id: &str,
    ) -> impl Future<Output = Result<Option<Person>>> + Send;
    /// The person whose PIN has this digest at a facility.
    fn person_by_pin(
        &self,
        facility: FacilityId,
        pin: &PinDigest,
    ) -> impl Future<Output = Result<Option<Person>>> + Send;
    /// Applies changes.
    fn update_person(
        &self,
        id: PersonId,
        update: PersonUpdate,
    ) -> impl Future<Output = Result<Person>> + Send;
    /// Sets (or resets) a person's PIN digest. Refused if another person at
    /// the facility has the same PIN.
    fn set_pin(&self, id: PersonId, pin: PinDigest) -> impl Future<Output = Result<()>> + Send;
    /// Removes a person with their approved contacts and personal blocks.
    fn remove_person(&self, id: PersonId) -> impl Future<Output = Result<()>> + Send;

    // ---- approved contacts ----

    /// Approves a number for a person.
    fn add_contact(
        &self,
        person: PersonId,
        number: E164Number,
        label: String,
    ) -> impl Future<Output = Result<ApprovedContact>> + Send;
    /// A person's approved numbers.
    fn list_contacts(
        &self,
        person: PersonId,
    ) -> impl Future<Output = Result<Vec<ApprovedContact>>> + Send;
    /// Removes an approval.
    fn remove_contact(&self, id: ContactId) -> impl Future<Output = Result<()>> + Send;
    /// Whether the number is on the person's approved list.
    fn is_approved(
        &self,
        person: PersonId,
        number: &E164Number,
    ) -> impl Future<Output = Result<bool>> + Send;

    // ---- blocklists ----

    /// Blocks a number on one list.
    fn add_block(
        &self,
        scope: BlockScope,
        number: E164Number,
        reason: String,
        now: Timestamp,
    ) -> impl Future<Output = Result<BlockEntry>> + Send;
    /// Entries of every list that concerns a facility (its own, its
    /// called-party blocks, and its people's lists).
    fn list_blocks(
        &self,
        facility: FacilityId,
    ) -> impl Future<Output = Result<Vec<BlockEntry>>> + Send;
    /// Removes an entry.
    fn remove_block(&self, id: BlockId) -> impl Future<Output = Result<()>> + Send;
    /// The first list blocking `number` for this person at this facility.
    fn find_block(
        &self,
        person: PersonId,
        facility: FacilityId,
        number: &E164Number,
    ) -> impl Future<Output = Result<Option<BlockScope>>> + Send;

    // ---- privileged registry ----

    /// Registers an attorney number, pending verification.
    fn register_privileged(
        &self,
        new: NewPrivileged,
        now: Timestamp,
    ) -> impl Future<Output = Result<PrivilegedNumber>> + Send;
    /// The whole registry.
    fn list_privileged(&self) -> impl Future<Output = Result<Vec<PrivilegedNumber>>> + Send;
    /// Records a verification decision and who made it.
    fn set_verification(
        &self,
        id: PrivilegedId,
        verification: Verification,
        by: String,
    ) -> impl Future<Output = Result<PrivilegedNumber>> + Send;
    /// Removes a registration.
    fn remove_privileged(&self, id: PrivilegedId) -> impl Future<Output = Result<()>> + Send;
    /// The registration of a number, if any.
    fn privileged_by_number(
        &self,
        number: &E164Number,
    ) -> impl Future<Output = Result<Option<PrivilegedNumber>>> + Send;

    // ---- accounts ----

    /// Opens an account with a zero balance.
    fn open_account(
        &self,
        holder: AccountHolder,
        now: Timestamp,
    ) -> impl Future<Output = Result<Account>> + Send;
    /// All accounts.
    fn list_accounts(&self) -> impl Future<Output = Result<Vec<Account>>> + Send;
    /// One account.
    fn account(&self, id: AccountId) -> impl Future<Output = Result<Account>> + Send;
    /// The prepaid account paying for calls to a number.
    fn prepaid_account(
        &self,
        number: &E164Number,
    ) -> impl Future<Output = Result<Option<Account>>> + Send;
    /// A person's debit account.
    fn debit_account(
        &self,
        person: PersonId,
    ) -> impl Future<Output = Result<Option<Account>>> + Send;
    /// Records a deposit made by an administrator through the CLI (a
    /// ledger `deposit` transaction, `docs/billing.md`), with its reference
    /// (payment id, 1 to 64 printable characters).
    fn deposit(
        &self,
        id: AccountId,
        amount: Cents,
        reference: String,
        now: Timestamp,
    ) -> impl Future<Output = Result<Account>> + Send;
    /// Gives back part or all of a call's charge to the account that paid
    /// it (a ledger `call_refund`; never more than the call's net charge).
    /// Returns the account as it now is.
    fn refund_call(
        &self,
        call_id: &str,
        amount: Cents,
        reason: String,
        now: Timestamp,
    ) -> impl Future<Output = Result<Account>> + Send;
    /// Closes an account, returning its whole balance to the holder (a
    /// ledger `closure`); a closed account takes no more money. Returns the
    /// amount returned.
    fn close_account(
        &self,
        id: AccountId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Cents>> + Send;
    /// The ledger's transactions, in posting order: those touching
    /// `account`, or all of them. `callward_core::ledger::Ledger::replay`
    /// re-checks them and makes statements.
    fn ledger_transactions(
        &self,
        account: Option<AccountId>,
    ) -> impl Future<Output = Result<Vec<callward_core::ledger::Transaction>>> + Send;

    // ---- PIN failures (CJIS AC-7) ----

    /// Records a wrong PIN entered at a station.
    fn record_pin_failure(
        &self,
        station: StationId,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Failures at a station after `since`.
    fn pin_failures_since(
        &self,
        station: StationId,
        since: Timestamp,
    ) -> impl Future<Output = Result<Vec<Timestamp>>> + Send;
    /// Clears a station's failures (an administrator's unlock).
    fn clear_pin_failures(&self, station: StationId) -> impl Future<Output = Result<u64>> + Send;

    // ---- console users ----

    /// Creates a user with an already-hashed password (argon2id PHC string).
    fn create_user(
        &self,
        username: Username,
        role: Role,
        password_hash: String,
        now: Timestamp,
    ) -> impl Future<Output = Result<User>> + Send;
    /// All users by id.
    fn list_users(&self) -> impl Future<Output = Result<Vec<User>>> + Send;
    /// A user and their password hash, for logging in.
    fn user_for_login(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<(User, String)>>> + Send;

    // ---- call records ----

    /// Stores a finished call's record and charges it, in one database
    /// transaction: the store rates the call (`callward_core::rating`, the
    /// cap in force at acceptance, the payer's balance, the caller's
    /// previous call to the number) and posts the charge to the ledger, so
    /// a record is never stored uncharged and a call never charged twice.
    /// The record's own `charge_cents` is ignored; the stored one is the
    /// charge. A second record with the same id is a conflict and changes
    /// nothing; a privileged call with a recording is refused (and the
    /// schema refuses it too).
    fn record_call(
        &self,
        call: &CallDetailRecord,
    ) -> impl Future<Output = Result<ChargedCall>> + Send;
    /// Call records offered at or after `since` (all if `None`), oldest
    /// first, at most `limit`.
    fn list_calls(
        &self,
        since: Option<Timestamp>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<CallDetailRecord>>> + Send;
    /// One call record.
    fn call(&self, id: &str) -> impl Future<Output = Result<CallDetailRecord>> + Send;
    /// Journals a call in progress (`callward_core::journal`): inserts or
    /// replaces its entry, unless the stored one is newer (`seq`) or the
    /// call is already recorded. [`Store::record_call`] removes the entry
    /// in the same transaction as it stores the record.
    fn journal_call(&self, call: &OpenCall) -> impl Future<Output = Result<()>> + Send;
    /// The journal's entries: at start-up, the calls a crash interrupted.
    fn open_calls(&self) -> impl Future<Output = Result<Vec<OpenCall>>> + Send;
    /// Removes a journal entry (its call was recorded some other way).
    fn forget_open_call(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// How many of `person`'s calls offered at or after `since` were
    /// accepted by the called party: what a facility's daily call limit
    /// counts (denied, unanswered and refused attempts do not).
    fn count_accepted_calls(
        &self,
        person: PersonId,
        since: Timestamp,
    ) -> impl Future<Output = Result<u32>> + Send;
}
