//! Typed row identifiers, so a person id cannot be passed where a facility id is meant.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A facility (jail or prison).
    FacilityId
);
id_type!(
    /// A station (an inmate phone or gateway port).
    StationId
);
id_type!(
    /// A person in custody.
    PersonId
);
id_type!(
    /// An approved contact of a person.
    ContactId
);
id_type!(
    /// A blocklist entry.
    BlockId
);
id_type!(
    /// A privileged registry entry.
    PrivilegedId
);
id_type!(
    /// A prepaid or debit account.
    AccountId
);
id_type!(
    /// A console user.
    UserId
);
id_type!(
    /// An agency (a sheriff's office, a department of corrections): owns
    /// facilities, users, cases.
    AgencyId
);
id_type!(
    /// An investigation case.
    CaseId
);
id_type!(
    /// A request for a supervisor's approval.
    ApprovalId
);
