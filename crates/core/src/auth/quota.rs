//! Release quotas and the two-person rule (DESIGN invariant 5).
//!
//! Each person may release at most `daily` recordings in any trailing 24
//! hours; releasing more, or exporting more than `bulk` at once, needs a
//! supervisor's approval. The approver is a supervisor of the same agency
//! and never the requester. An approval covers one release of up to its
//! count, once, before it expires.

use crate::Role;
use crate::ids::{AgencyId, ApprovalId, UserId};

/// Default recordings a person may release a day.
pub const DEFAULT_DAILY_QUOTA: u32 = 50;
/// Default most recordings in one export without approval.
pub const DEFAULT_BULK_LIMIT: u32 = 10;
/// The window quotas count over (24 hours, in ms).
pub const QUOTA_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// How long an approval request (and a granted approval) stays valid (24 hours).
pub const APPROVAL_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// An agency's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Recordings a person may release in 24 hours without approval.
    pub daily: u32,
    /// Most recordings one export may hold without approval.
    pub bulk: u32,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        Self {
            daily: DEFAULT_DAILY_QUOTA,
            bulk: DEFAULT_BULK_LIMIT,
        }
    }
}

/// Whether a release may go ahead alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseCheck {
    /// Within quota.
    Allowed,
    /// Needs a supervisor's approval.
    NeedsApproval(ApprovalNeed),
}

/// Why an approval is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalNeed {
    /// It would take the person past the daily quota.
    OverQuota {
        /// Released in the last 24 hours.
        released: u32,
        /// The quota.
        quota: u32,
    },
    /// More recordings at once than the bulk limit.
    Bulk {
        /// Recordings asked for.
        count: u32,
        /// The limit.
        limit: u32,
    },
}

impl std::fmt::Display for ApprovalNeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OverQuota { released, quota } => write!(
                f,
                "over quota: {released} recordings released in the last 24 hours, quota {quota}"
            ),
            Self::Bulk { count, limit } => {
                write!(f, "bulk export: {count} recordings at once, limit {limit}")
            }
        }
    }
}

/// Checks a release of `count` recordings by someone who released
/// `released` in the last 24 hours.
pub fn check_release(policy: QuotaPolicy, released: u32, count: u32) -> ReleaseCheck {
    if count > policy.bulk {
        return ReleaseCheck::NeedsApproval(ApprovalNeed::Bulk {
            count,
            limit: policy.bulk,
        });
    }
    if released.saturating_add(count) > policy.daily {
        return ReleaseCheck::NeedsApproval(ApprovalNeed::OverQuota {
            released,
            quota: policy.daily,
        });
    }
    ReleaseCheck::Allowed
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a supervisor.
    Pending,
    /// Granted by this supervisor; not used yet.
    Granted(UserId),
    /// Refused by this supervisor.
    Refused(UserId),
    /// Granted and used.
    Used,
}

impl ApprovalState {
    /// A stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Granted(_) => "granted",
            Self::Refused(_) => "refused",
            Self::Used => "used",
        }
    }
}

/// A request for a second person's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Its id.
    pub id: ApprovalId,
    /// The requester's agency.
    pub agency: AgencyId,
    /// Who asked.
    pub requester: UserId,
    /// Recordings it covers.
    pub count: u32,
    /// Why (written by the requester).
    pub reason: String,
    /// When asked (ms).
    pub created_ms: i64,
    /// After this it can be neither granted nor used.
    pub expires_ms: i64,
    /// Where it stands.
    pub state: ApprovalState,
}

/// The person deciding on or using an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub user: UserId,
    /// Their role.
    pub role: Role,
    /// Their agency.
    pub agency: AgencyId,
}

/// Why an approval cannot be decided or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The requester cannot approve their own request.
    #[error("the approver must be a different person from the requester")]
    SelfApproval,
    /// Only supervisors approve.
    #[error("only a supervisor may approve")]
    NotSupervisor,
    /// Of another agency.
    #[error("the approval belongs to another agency")]
    OtherAgency,
    /// Too late.
    #[error("the approval has expired")]
    Expired,
    /// Already decided (or used).
    #[error("the approval was already decided or used")]
    NotPending,
    /// Not granted (pending, refused or used).
    #[error("the approval is not granted, or was already used")]
    NotGranted,
    /// Someone else's approval.
    #[error("the approval was asked for by someone else")]
    WrongPerson,
    /// Covers fewer recordings than asked for.
    #[error("the approval covers fewer recordings than this release")]
    TooFew,
}

/// Checks a supervisor's decision on `approval`; on `Ok`, store
/// `Granted(approver)` or `Refused(approver)`.
pub fn check_decision(
    approval: &Approval,
    approver: Actor,
    now_ms: i64,
) -> Result<(), ApprovalError> {
    if approver.role != Role::Supervisor {
        return Err(ApprovalError::NotSupervisor);
    }
    if approver.agency != approval.agency {
        return Err(ApprovalError::OtherAgency);
    }
    if approver.user == approval.requester {
        return Err(ApprovalError::SelfApproval);
    }
    if approval.state != ApprovalState::Pending {
        return Err(ApprovalError::NotPending);
    }
    if now_ms >= approval.expires_ms {
        return Err(ApprovalError::Expired);
    }
    Ok(())
}

/// Checks that `user` may use `approval` for `count` recordings now; on
/// `Ok`, store `Used` in the same transaction as the release.
pub fn check_use(
    approval: &Approval,
    user: UserId,
    count: u32,
    now_ms: i64,
) -> Result<(), ApprovalError> {
    if approval.requester != user {
        return Err(ApprovalError::WrongPerson);
    }
    let ApprovalState::Granted(by) = approval.state else {
        return Err(ApprovalError::NotGranted);
    };
    // The store should never hold this; refuse it anyway.
    if by == user {
        return Err(ApprovalError::SelfApproval);
    }
    if now_ms >= approval.expires_ms {
        return Err(ApprovalError::Expired);
    }
    if count > approval.count {
        return Err(ApprovalError::TooFew);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn approval() -> Approval {
        Approval {
            id: ApprovalId(1),
            agency: AgencyId(1),
            requester: UserId(10),
            count: 5,
            reason: "case 12: five more calls".into(),
            created_ms: T0,
            expires_ms: T0 + APPROVAL_TTL_MS,
            state: ApprovalState::Pending,
        }
    }

    fn sup(user: i64, agency: i64) -> Actor {
        Actor {
            user: UserId(user),
            role: Role::Supervisor,
            agency: AgencyId(agency),
        }
    }

    #[test]
    fn quota_and_bulk() {
        let p = QuotaPolicy::default();
        assert_eq!(check_release(p, 0, 1), ReleaseCheck::Allowed);
        assert_eq!(check_release(p, 49, 1), ReleaseCheck::Allowed);
        assert_eq!(
            check_release(p, 50, 1),
            ReleaseCheck::NeedsApproval(ApprovalNeed::OverQuota {
                released: 50,
                quota: 50
            })
        );
        assert_eq!(check_release(p, 0, 10), ReleaseCheck::Allowed);
        assert_eq!(
            check_release(p, 0, 11),
            ReleaseCheck::NeedsApproval(ApprovalNeed::Bulk {
                count: 11,
                limit: 10
            })
        );
        assert_eq!(
            check_release(p, 45, 6),
            ReleaseCheck::NeedsApproval(ApprovalNeed::OverQuota {
                released: 45,
                quota: 50
            })
        );
    }

    #[test]
    fn two_person_rule() {
        let a = approval();
        assert_eq!(check_decision(&a, sup(11, 1), T0 + 1), Ok(()));
        assert_eq!(
            check_decision(&a, sup(10, 1), T0 + 1),
            Err(ApprovalError::SelfApproval)
        );
        assert_eq!(
            check_decision(&a, sup(11, 2), T0 + 1),
            Err(ApprovalError::OtherAgency)
        );
        let inv = Actor {
            role: Role::Investigator,
            ..sup(11, 1)
        };
        assert_eq!(
            check_decision(&a, inv, T0 + 1),
            Err(ApprovalError::NotSupervisor)
        );
        assert_eq!(
            check_decision(&a, sup(11, 1), T0 + APPROVAL_TTL_MS),
            Err(ApprovalError::Expired)
        );
        let granted = Approval {
            state: ApprovalState::Granted(UserId(11)),
            ..a
        };
        assert_eq!(
            check_decision(&granted, sup(12, 1), T0 + 1),
            Err(ApprovalError::NotPending)
        );
    }

    #[test]
    fn approvals_are_one_use_personal_and_expire() {
        let a = approval();
        assert_eq!(
            check_use(&a, UserId(10), 1, T0),
            Err(ApprovalError::NotGranted)
        );
        let g = Approval {
            state: ApprovalState::Granted(UserId(11)),
            ..a.clone()
        };
        assert_eq!(check_use(&g, UserId(10), 5, T0 + 1), Ok(()));
        assert_eq!(
            check_use(&g, UserId(12), 5, T0 + 1),
            Err(ApprovalError::WrongPerson)
        );
        assert_eq!(
            check_use(&g, UserId(10), 6, T0 + 1),
            Err(ApprovalError::TooFew)
        );
        assert_eq!(
            check_use(&g, UserId(10), 1, T0 + APPROVAL_TTL_MS),
            Err(ApprovalError::Expired)
        );
        let used = Approval {
            state: ApprovalState::Used,
            ..a.clone()
        };
        assert_eq!(
            check_use(&used, UserId(10), 1, T0 + 1),
            Err(ApprovalError::NotGranted)
        );
        let refused = Approval {
            state: ApprovalState::Refused(UserId(11)),
            ..a
        };
        assert_eq!(
            check_use(&refused, UserId(10), 1, T0 + 1),
            Err(ApprovalError::NotGranted)
        );
    }
}
