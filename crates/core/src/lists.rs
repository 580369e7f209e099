//! Approved contacts, blocklists and the privileged (attorney) registry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, BlockId, ContactId, FacilityId, PersonId, PrivilegedId};
use crate::money::Cents;
use crate::number::E164Number;
use crate::text::Name;

/// A number a person may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedContact {
    /// Row id.
    pub id: ContactId,
    /// Whose list it is on.
    pub person_id: PersonId,
    /// The number.
    pub number: E164Number,
    /// Who answers it ("Mother", "Jane Doe").
    pub label: String,
}

/// Who put a number on a blocklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "id")]
pub enum BlockScope {
    /// Blocked for one person (their list).
    Person(PersonId),
    /// Blocked for everyone at a facility (victims, officials).
    Facility(FacilityId),
    /// The called party asked not to be called from this facility (pressed 9).
    CalledParty(FacilityId),
}

impl BlockScope {
    /// A stable name for the kind of list.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Person(_) => "person",
            Self::Facility(_) => "facility",
            Self::CalledParty(_) => "called_party",
        }
    }
}

/// A blocked number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEntry {
    /// Row id.
    pub id: BlockId,
    /// Which list.
    pub scope: BlockScope,
    /// The number.
    pub number: E164Number,
    /// Why (free text, for the administrator).
    pub reason: String,
}

/// Where an attorney registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Registered, not yet checked against the bar. Already not recorded:
    /// privilege fails closed.
    Pending,
    /// Checked by an administrator.
    Verified,
    /// Checked and refused (not an attorney's number). Recorded as usual.
    Rejected,
}

impl FromStr for Verification {
    type Err = ListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(Self::Pending),
            "verified" => Ok(Self::Verified),
            "rejected" => Ok(Self::Rejected),
            _ => Err(ListError::UnknownVerification(s.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        })
    }
}

/// A US state or territory postal code, e.g. `TX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UsState(String);

const STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
];

impl UsState {
    /// Parses a two-letter postal code, any case.
    pub fn parse(input: &str) -> Result<Self, ListError> {
        let up = input.trim().to_ascii_uppercase();
        if STATES.contains(&up.as_str()) {
            Ok(Self(up))
        } else {
            Err(ListError::UnknownState(input.chars().take(8).collect()))
        }
    }

    /// The postal code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UsState {
    type Error = ListError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<UsState> for String {
    fn from(s: UsState) -> Self {
        s.0
    }
}

/// Why a list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// Not pending, verified or rejected.
    #[error("verification must be 'pending', 'verified' or 'rejected', not {0:?}")]
    UnknownVerification(String),
    /// Not a US postal code.
    #[error("{0:?} is not a US state or territory code")]
    UnknownState(String),
    /// Bar numbers are 1 to 20 letters and digits.
    #[error("a bar number is 1 to 20 letters or digits")]
    BadBarNumber,
}

/// Validates a bar number.
pub fn validate_bar_number(input: &str) -> Result<String, ListError> {
    let s = input.trim();
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ListError::BadBarNumber);
    }
    Ok(s.to_owned())
}

/// A number registered as an attorney's: calls to it are never recorded or
/// monitored, whatever its verification state, unless it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegedNumber {
    /// Row id.
    pub id: PrivilegedId,
    /// The attorney's number.
    pub number: E164Number,
    /// The attorney's name.
    pub attorney_name: Name,
    /// Bar number.
    pub bar_number: String,
    /// State of the bar.
    pub bar_state: UsState,
    /// Where the registration stands.
    pub verification: Verification,
    /// Who verified or rejected it (a console user name), if anyone.
    pub verified_by: Option<String>,
}

impl PrivilegedNumber {
    /// Whether calls to the number are privileged: pending and verified
    /// registrations both are (fail closed); only a rejected one is not.
    pub fn is_privileged(&self) -> bool {
        self.verification != Verification::Rejected
    }
}

/// Who holds an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "holder")]
pub enum AccountHolder {
    /// A prepaid account funded by the called party, paying for calls to that number.
    Prepaid(E164Number),
    /// A debit account of the person in custody.
    Debit(PersonId),
}

/// A prepaid or debit account. The balance is integer cents and never negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Row id.
    pub id: AccountId,
    /// Who holds it.
    pub holder: AccountHolder,
    /// Current balance.
    pub balance: Cents,
}
