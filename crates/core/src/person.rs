//! People in custody.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{FacilityId, PersonId};
use crate::text::{Code, Name};

/// The language prompts are played in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl FromStr for Language {
    type Err = PersonError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Self::En),
            "es" | "spanish" | "español" => Ok(Self::Es),
            _ => Err(PersonError::UnknownLanguage(s.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::En => "en",
            Self::Es => "es",
        })
    }
}

/// Whether a person may place calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// In custody and allowed to call.
    Active,
    /// Calling privileges suspended (discipline, investigation).
    Suspended,
    /// Released or transferred; kept for the records.
    Released,
}

impl FromStr for PersonStatus {
    type Err = PersonError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "released" => Ok(Self::Released),
            _ => Err(PersonError::UnknownStatus(s.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for PersonStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Released => "released",
        })
    }
}

/// Why a person field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PersonError {
    /// Not `en` or `es`.
    #[error("language must be 'en' or 'es', not {0:?}")]
    UnknownLanguage(String),
    /// Not active, suspended or released.
    #[error("status must be 'active', 'suspended' or 'released', not {0:?}")]
    UnknownStatus(String),
}

/// A person in custody at a facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Row id.
    pub id: PersonId,
    /// Where they are held.
    pub facility_id: FacilityId,
    /// The facility's booking number, unique per facility.
    pub booking_id: Code,
    /// Full name.
    pub name: Name,
    /// Prompt language.
    pub language: Language,
    /// Whether calls are allowed.
    pub status: PersonStatus,
    /// Never record or monitor this person's calls (e.g. a court order).
    pub do_not_record: bool,
    /// Whether a PIN is set (the PIN itself is never held here).
    pub has_pin: bool,
}
