//! The callward domain: facilities and their rate tiers, stations, people in
//! custody, numbers, lists, the privileged registry, accounts, and the
//! decision whether a call may be placed and on what terms.
//!
//! Pure: no I/O, no clock, no randomness. Time and secrets are passed in, so
//! every rule is tested deterministically. Values are parsed into rich types
//! at the edge ([`E164Number`], [`Cents`], [`Pin`]); inside, invalid states
//! cannot be represented.

pub mod auth;
pub mod authorize;
pub mod callflow;
pub mod cdr;
pub mod facility;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod lists;
pub mod money;
pub mod number;
pub mod person;
pub mod pin;
pub mod rating;
pub mod tariff;
pub mod text;
pub mod user;

pub use authorize::{
    CallFacts, CallLimit, Capture, Decision, DenyReason, PrivilegeBasis, Terms, authorize_call,
    pin_locked,
};
pub use cdr::{CallDetailRecord, CdrError};
pub use facility::{
    CallingHours, Facility, FacilityError, FacilityKind, FacilityRate, FacilityTimeZone, RateTier,
    Station,
};
pub use ids::{
    AccountId, AgencyId, ApprovalId, BlockId, CaseId, ContactId, FacilityId, PersonId,
    PrivilegedId, StationId, UserId,
};
pub use journal::OpenCall;
pub use lists::{
    Account, AccountHolder, ApprovedContact, BlockEntry, BlockScope, ListError, PrivilegedNumber,
    UsState, Verification,
};
pub use money::{Cents, CentsPerMinute, MoneyError};
pub use number::{E164Number, NumberError};
pub use person::{Language, Person, PersonError, PersonStatus};
pub use pin::{Pin, PinDigest, PinError, PinKey};
pub use text::{Code, Name, TextError};
pub use user::{Role, User, Username};
