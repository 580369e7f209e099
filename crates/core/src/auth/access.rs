//! Who may do what: one function, [`decide`], for every operation a person
//! can ask for, from their role, their agency against the object's, whether
//! the call is privileged and whether they act inside an open case.
//!
//! Fails closed: anything not granted below is refused. The matrix is
//! written down in `docs/access-control.md` and checked cell by cell
//! against an independently written table in
//! `crates/callward/tests/access_control.rs`.

use crate::Role;
use crate::ids::AgencyId;
use crate::text::TextError;

/// Everything a person can ask the system to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Search call records (the results, one by one, as [`Operation::ViewCall`]).
    SearchCalls,
    /// Open one call record.
    ViewCall,
    /// Play a recording.
    Listen,
    /// Listen to a call as it happens.
    MonitorLive,
    /// Export recordings as files.
    Export,
    /// Open or close a case.
    ManageCases,
    /// Approve or refuse a request over quota or a bulk export.
    Approve,
    /// Read the access log (entries, checkpoints, proofs).
    ReadAuditLog,
    /// Health and metrics of the servers.
    ViewHealth,
    /// Create and change facilities, stations, people and lists.
    ManageFacilities,
    /// Create users, change roles, unlock accounts, reset TOTP.
    ManageUsers,
    /// Register and track one's own privileged (attorney) numbers.
    ManageOwnNumbers,
    /// Read one's own prepaid account: balance, deposits, statement and
    /// its calls' metadata and charges (never content).
    ViewOwnAccount,
    /// Record a deposit (with a payment reference) to one's own account.
    DepositOwnAccount,
    /// Close one's own account with a refund of the balance.
    CloseOwnAccount,
    /// Block or unblock the facility for one's own number.
    BlockOwnNumber,
}

impl Operation {
    /// Every operation, for matrices.
    pub const ALL: [Self; 16] = [
        Self::SearchCalls,
        Self::ViewCall,
        Self::Listen,
        Self::MonitorLive,
        Self::Export,
        Self::ManageCases,
        Self::Approve,
        Self::ReadAuditLog,
        Self::ViewHealth,
        Self::ManageFacilities,
        Self::ManageUsers,
        Self::ManageOwnNumbers,
        Self::ViewOwnAccount,
        Self::DepositOwnAccount,
        Self::CloseOwnAccount,
        Self::BlockOwnNumber,
    ];

    /// A stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SearchCalls => "search_calls",
            Self::ViewCall => "view_call",
            Self::Listen => "listen",
            Self::MonitorLive => "monitor_live",
            Self::Export => "export",
            Self::ManageCases => "manage_cases",
            Self::Approve => "approve",
            Self::ReadAuditLog => "read_audit_log",
            Self::ViewHealth => "view_health",
            Self::ManageFacilities => "manage_facilities",
            Self::ManageUsers => "manage_users",
            Self::ManageOwnNumbers => "manage_own_numbers",
            Self::ViewOwnAccount => "view_own_account",
            Self::DepositOwnAccount => "deposit_own_account",
            Self::CloseOwnAccount => "close_own_account",
            Self::BlockOwnNumber => "block_own_number",
        }
    }

    /// Operations that release call content: only inside an open case,
    /// never for a privileged call.
    pub fn releases_content(self) -> bool {
        matches!(self, Self::Listen | Self::MonitorLive | Self::Export)
    }

    /// Operations on call records, where a privileged call is shown without
    /// its number.
    fn shows_call_records(self) -> bool {
        matches!(self, Self::SearchCalls | Self::ViewCall)
    }

    /// Operations on one prepaid account: only by the family user bound to
    /// it ([`decide_account`]); [`decide`] alone refuses them.
    pub fn on_own_account(self) -> bool {
        matches!(
            self,
            Self::ViewOwnAccount
                | Self::DepositOwnAccount
                | Self::CloseOwnAccount
                | Self::BlockOwnNumber
        )
    }

    /// The roles that may do it (in their own agency).
    fn roles(self) -> &'static [Role] {
        match self {
            Self::SearchCalls
            | Self::ViewCall
            | Self::Listen
            | Self::MonitorLive
            | Self::Export
            | Self::ManageCases => &[Role::Investigator],
            Self::Approve => &[Role::Supervisor],
            Self::ReadAuditLog => &[Role::Auditor],
            Self::ViewHealth => &[Role::Operator, Role::Admin],
            Self::ManageFacilities | Self::ManageUsers => &[Role::Admin],
            Self::ManageOwnNumbers => &[Role::Attorney],
            Self::ViewOwnAccount
            | Self::DepositOwnAccount
            | Self::CloseOwnAccount
            | Self::BlockOwnNumber => &[Role::Family],
        }
    }
}

/// The case an access is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// None given.
    None,
    /// An open case of the actor's agency (opened with a justification).
    Open,
    /// A case that was closed.
    Closed,
}

/// One request to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest {
    /// What.
    pub op: Operation,
    /// The actor's role.
    pub role: Role,
    /// The actor's agency.
    pub actor_agency: AgencyId,
    /// The agency the object belongs to (the call's facility's agency).
    pub object_agency: AgencyId,
    /// The call is privileged (attorney).
    pub privileged: bool,
    /// The case it is made under.
    pub case: CaseStatus,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed in full.
    Allow,
    /// Allowed, but a privileged call is shown as having happened, without
    /// its dialled number and with no content.
    Redacted,
    /// Refused.
    Deny(Denied),
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The role may not do this at all.
    #[error("your role may not do this")]
    Role,
    /// The object belongs to another agency.
    #[error("this belongs to another agency")]
    OtherAgency,
    /// Privileged calls are never listened to, monitored or exported.
    #[error("privileged (attorney) calls are never released")]
    Privileged,
    /// Content is released only inside an open case.
    #[error("only inside an open case with a written justification")]
    NoOpenCase,
    /// A family user reaches only the account it is bound to.
    #[error("this is not your account")]
    NotOwnAccount,
}

/// Decides one request. Checks run in a fixed order (role, agency,
/// privilege, case) so the reason given is stable. Operations on a prepaid
/// account are refused here (the request does not say whose account it
/// is): ask [`decide_account`].
pub fn decide(req: AccessRequest) -> Access {
    decide_account(req, false)
}

/// Decides one request where the object may be a prepaid account:
/// `own_account` is true when the account's number is the one the actor
/// (a family user) is bound to. The account's agency is `object_agency`.
/// Checks run role, agency, own account, then as [`decide`].
pub fn decide_account(req: AccessRequest, own_account: bool) -> Access {
    if !req.op.roles().contains(&req.role) {
        return Access::Deny(Denied::Role);
    }
    // Health is about the servers, not any agency's data.
    if req.op != Operation::ViewHealth && req.actor_agency != req.object_agency {
        return Access::Deny(Denied::OtherAgency);
    }
    if req.op.on_own_account() && !own_account {
        return Access::Deny(Denied::NotOwnAccount);
    }
    if req.op.releases_content() {
        if req.privileged {
            return Access::Deny(Denied::Privileged);
        }
        if req.case != CaseStatus::Open {
            return Access::Deny(Denied::NoOpenCase);
        }
    }
    if req.op.shows_call_records() && req.privileged {
        return Access::Redacted;
    }
    Access::Allow
}

/// A written justification (for a case): 10 to 2000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Justification(String);

impl Justification {
    /// Validates the text.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let field = "justification";
        let s = input.trim();
        if s.chars().count() < 10 {
            return Err(TextError::Invalid {
                field,
                allowed: "a written reason of at least 10 characters",
            });
        }
        if s.len() > 2000 {
            return Err(TextError::TooLong { field, max: 2000 });
        }
        if s.chars().any(char::is_control) {
            return Err(TextError::Invalid {
                field,
                allowed: "text without control characters",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_needs_open_case_and_never_privileged() {
        let base = AccessRequest {
            op: Operation::Export,
            role: Role::Investigator,
            actor_agency: AgencyId(1),
            object_agency: AgencyId(1),
            privileged: false,
            case: CaseStatus::Open,
        };
        assert_eq!(decide(base), Access::Allow);
        assert_eq!(
            decide(AccessRequest {
                case: CaseStatus::Closed,
                ..base
            }),
            Access::Deny(Denied::NoOpenCase)
        );
        assert_eq!(
            decide(AccessRequest {
                privileged: true,
                ..base
            }),
            Access::Deny(Denied::Privileged)
        );
        assert_eq!(
            decide(AccessRequest {
                op: Operation::ViewCall,
                privileged: true,
                case: CaseStatus::None,
                ..base
            }),
            Access::Redacted
        );
    }

    #[test]
    fn family_reaches_only_its_own_account() {
        let base = AccessRequest {
            op: Operation::ViewOwnAccount,
            role: Role::Family,
            actor_agency: AgencyId(1),
            object_agency: AgencyId(1),
            privileged: false,
            case: CaseStatus::None,
        };
        for op in [
            Operation::ViewOwnAccount,
            Operation::DepositOwnAccount,
            Operation::CloseOwnAccount,
            Operation::BlockOwnNumber,
        ] {
            let req = AccessRequest { op, ..base };
            assert_eq!(decide_account(req, true), Access::Allow);
            assert_eq!(
                decide_account(req, false),
                Access::Deny(Denied::NotOwnAccount)
            );
            assert_eq!(decide(req), Access::Deny(Denied::NotOwnAccount));
            assert_eq!(
                decide_account(
                    AccessRequest {
                        object_agency: AgencyId(2),
                        ..req
                    },
                    true
                ),
                Access::Deny(Denied::OtherAgency)
            );
            assert_eq!(
                decide_account(
                    AccessRequest {
                        role: Role::Admin,
                        ..req
                    },
                    true
                ),
                Access::Deny(Denied::Role)
            );
        }
        for op in Operation::ALL.into_iter().filter(|op| !op.on_own_account()) {
            assert_eq!(
                decide_account(AccessRequest { op, ..base }, true),
                Access::Deny(Denied::Role),
                "{}",
                op.as_str()
            );
        }
    }

    #[test]
    fn justifications() {
        assert!(Justification::parse("short").is_err());
        assert!(Justification::parse("Case 2026-114: threats to a witness").is_ok());
        assert!(Justification::parse(&"x".repeat(2001)).is_err());
        assert!(Justification::parse("line one\u{7}bell here").is_err());
    }
}
