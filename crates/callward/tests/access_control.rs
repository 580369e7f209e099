//! The authorisation matrix (issue 7, item 8): every operation × every
//! role × own or other agency × privileged or not × case open, closed or
//! none, generated, each cell asserted against a table written here
//! independently of `callward_core::auth::decide`.

use callward_core::auth::{Access, AccessRequest, CaseStatus, Denied, Operation, decide};
use callward_core::{AgencyId, Role};

/// What the table says, written from the brief, cell by cell in words:
/// who may do it (own agency only, except health), and how privilege and
/// cases change it.
fn expected(op: Operation, role: Role, own: bool, privileged: bool, case: CaseStatus) -> Access {
    use Operation as O;
    use Role as R;
    let allowed_roles: &[Role] = match op {
        // Investigators search and read their agency's call records.
        O::SearchCalls | O::ViewCall => &[R::Investigator],
        // Listening, live monitoring and export: investigators, in a case.
        O::Listen | O::MonitorLive | O::Export => &[R::Investigator],
        O::ManageCases => &[R::Investigator],
        // Supervisors approve.
        O::Approve => &[R::Supervisor],
        // Auditors read the log and nothing else of content.
        O::ReadAuditLog => &[R::Auditor],
        // Operators see health and metrics (and admins, who run the site).
        O::ViewHealth => &[R::Operator, R::Admin],
        // Admins manage their agency's facilities and users.
        O::ManageFacilities | O::ManageUsers => &[R::Admin],
        // Attorneys manage their own numbers.
        O::ManageOwnNumbers => &[R::Attorney],
        _ => &[],
    };
    if !allowed_roles.contains(&role) {
        return Access::Deny(Denied::Role);
    }
    if !own && op != O::ViewHealth {
        return Access::Deny(Denied::OtherAgency);
    }
    let content = matches!(op, O::Listen | O::MonitorLive | O::Export);
    if content && privileged {
        return Access::Deny(Denied::Privileged);
    }
    if content && case != CaseStatus::Open {
        return Access::Deny(Denied::NoOpenCase);
    }
    if matches!(op, O::SearchCalls | O::ViewCall) && privileged {
        return Access::Redacted;
    }
    Access::Allow
}

#[test]
fn every_cell_of_the_matrix() {
    let mut cells = 0;
    let mut allowed = 0;
    for op in Operation::ALL {
        for role in Role::ALL {
            for own in [true, false] {
                for privileged in [false, true] {
                    for case in [CaseStatus::None, CaseStatus::Open, CaseStatus::Closed] {
                        let got = decide(AccessRequest {
                            op,
                            role,
                            actor_agency: AgencyId(1),
                            object_agency: if own { AgencyId(1) } else { AgencyId(2) },
                            privileged,
                            case,
                        });
                        let want = expected(op, role, own, privileged, case);
                        assert_eq!(
                            got,
                            want,
                            "{} by {role}, {} agency, {}privileged, case {case:?}",
                            op.as_str(),
                            if own { "own" } else { "other" },
                            if privileged { "" } else { "not " },
                        );
                        cells += 1;
                        allowed += usize::from(
                            got != Access::Deny(Denied::Role) && !matches!(got, Access::Deny(_)),
                        );
                    }
                }
            }
        }
    }
    assert_eq!(cells, 12 * 6 * 2 * 2 * 3);
    eprintln!("{cells} cells, {allowed} allowed");
}

/// The brief's sentences, as spot checks a reader can match to it.
#[test]
fn the_briefs_rules() {
    let req = |op, role, privileged, case| AccessRequest {
        op,
        role,
        actor_agency: AgencyId(7),
        object_agency: AgencyId(7),
        privileged,
        case,
    };
    // No investigator hears or sees the number of a privileged call, case or not.
    for op in [Operation::Listen, Operation::MonitorLive, Operation::Export] {
        assert_eq!(
            decide(req(op, Role::Investigator, true, CaseStatus::Open)),
            Access::Deny(Denied::Privileged)
        );
    }
    assert_eq!(
        decide(req(
            Operation::ViewCall,
            Role::Investigator,
            true,
            CaseStatus::None
        )),
        Access::Redacted
    );
    // Auditors never reach content; operators only health.
    for op in Operation::ALL {
        let auditor = decide(req(op, Role::Auditor, false, CaseStatus::Open));
        assert_eq!(
            auditor == Access::Allow,
            op == Operation::ReadAuditLog,
            "{}",
            op.as_str()
        );
        let operator = decide(req(op, Role::Operator, false, CaseStatus::Open));
        assert_eq!(
            operator == Access::Allow,
            op == Operation::ViewHealth,
            "{}",
            op.as_str()
        );
    }
    // Nobody releases content outside an open case.
    for role in Role::ALL {
        for case in [CaseStatus::None, CaseStatus::Closed] {
            assert!(matches!(
                decide(req(Operation::Export, role, false, case)),
                Access::Deny(_)
            ));
        }
    }
}
