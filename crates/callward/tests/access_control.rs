//! The authorisation matrix (issue 7, item 8): every operation × every
//! role × own or other agency × privileged or not × case open, closed or
//! none, generated, each cell asserted against a table written here
//! independently of `callward_core::auth::decide`.

use callward_core::auth::{
    Access, AccessRequest, CaseStatus, Denied, Operation, decide, decide_account,
};
use std::path::Path;

use callward_core::{AgencyId, Role};

/// What the table says, written from the brief, cell by cell in words:
/// who may do it (own agency only, except health), and how privilege and
/// cases change it. `own_account`: the prepaid account is the one the
/// family user is bound to.
fn expected(
    op: Operation,
    role: Role,
    own: bool,
    own_account: bool,
    privileged: bool,
    case: CaseStatus,
) -> Access {
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
        // The called party reads, funds, closes and blocks its own account;
        // no staff role does these through the console.
        O::ViewOwnAccount | O::DepositOwnAccount | O::CloseOwnAccount | O::BlockOwnNumber => {
            &[R::Family]
        }
        _ => &[],
    };
    if !allowed_roles.contains(&role) {
        return Access::Deny(Denied::Role);
    }
    if !own && op != O::ViewHealth {
        return Access::Deny(Denied::OtherAgency);
    }
    let account = matches!(
        op,
        O::ViewOwnAccount | O::DepositOwnAccount | O::CloseOwnAccount | O::BlockOwnNumber
    );
    if account && !own_account {
        return Access::Deny(Denied::NotOwnAccount);
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
                for own_account in [true, false] {
                    for privileged in [false, true] {
                        for case in [CaseStatus::None, CaseStatus::Open, CaseStatus::Closed] {
                            let req = AccessRequest {
                                op,
                                role,
                                actor_agency: AgencyId(1),
                                object_agency: if own { AgencyId(1) } else { AgencyId(2) },
                                privileged,
                                case,
                            };
                            let got = decide_account(req, own_account);
                            let want = expected(op, role, own, own_account, privileged, case);
                            assert_eq!(
                                got,
                                want,
                                "{} by {role}, {} agency, {} account, {}privileged, case {case:?}",
                                op.as_str(),
                                if own { "own" } else { "other" },
                                if own_account { "own" } else { "another's" },
                                if privileged { "" } else { "not " },
                            );
                            // Plain decide never grants an account operation.
                            assert_eq!(
                                decide(req),
                                expected(op, role, own, false, privileged, case)
                            );
                            cells += 1;
                            allowed += usize::from(!matches!(got, Access::Deny(_)));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cells, 16 * 7 * 2 * 2 * 2 * 3);
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

mod access_site;

use access_site::{Site, text};
use callward_audit::Action;

/// `recording export CALL --out F --reason R` without `--user` (the fixed
/// interface) runs as the local operator, and that counts against the
/// recording's agency's quota like a person's: here 2 a day. The third is
/// refused with a `refused` and an `alert` entry, also under another
/// `$USER` (the uid counts); an approval the operator asks for and a
/// supervisor grants lets one more through, once.
#[test]
fn the_local_operator_exports_within_a_quota() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("callward-local-quota");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut site = Site::new(&dir);
    site.add_recording("call-1", 3);
    let out = site.run(
        "admin",
        &["agency", "set-quota", "1", "--daily", "2", "--bulk", "10"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    let export = |site: &Site, user: &str, n: u32, extra: &[&str]| {
        let wav = dir.join(format!("out-{n}.wav"));
        let mut args = vec![
            "export",
            "call-1",
            "--out",
            wav.to_str().unwrap(),
            "--reason",
            "local quota test",
        ];
        args.extend_from_slice(extra);
        let out = site.run_as(user, "recording", &args, "");
        (out, wav)
    };
    for n in 0..2 {
        let (out, wav) = export(&site, "ops", n, &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(wav.exists());
    }
    // Over quota: refused, nothing written, under any $USER.
    for (n, user) in [(2, "ops"), (3, "someone-else")] {
        let (out, wav) = export(&site, user, n, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = text(&out);
        assert!(err.contains("refused: local:uid-"), "{err}");
        assert!(err.contains("over quota: 2 recordings released"), "{err}");
        assert!(err.contains("request-approval"), "{err}");
        assert!(!wav.exists());
    }
    let local = "local_user IS NOT NULL AND user_id IS NULL AND case_id IS NULL";
    assert_eq!(
        site.count(&format!("SELECT count(*) FROM releases WHERE {local}")),
        2
    );
    let log = site.log();
    let of = |action: Action| log.iter().filter(|e| e.action == action).count();
    assert_eq!(of(Action::Export), 2);
    assert_eq!(of(Action::Refused), 2);
    assert_eq!(of(Action::Alert), 2);
    let alert = log.iter().find(|e| e.action == Action::Alert).unwrap();
    assert!(alert.object_id.starts_with("local:uid-"), "{alert:?}");
    assert!(alert.justification.starts_with("quota: "), "{alert:?}");
    assert_eq!(alert.role, "local operator");

    // An approval: asked for by the operator, granted by a supervisor.
    let out = site.run(
        "recording",
        &[
            "request-approval",
            "--count",
            "1",
            "--reason",
            "court order 5 needs call-1",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("approval 1 requested"),
        "{}",
        text(&out)
    );
    // Not granted yet: refused, logged.
    let (out, wav) = export(&site, "ops", 4, &["--approval", "1"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not granted"), "{}", text(&out));
    assert!(!wav.exists());
    let secret = site
        .create_user("sup", "supervisor", "supervise that")
        .unwrap();
    let creds = site.creds("sup", &secret, "supervise that");
    // The queue names the local operator by uid, not as a user id.
    let out = site.run("approval", &["--user", "sup", "list"], &creds);
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        line.starts_with("1\tpending\tlocal operator local:uid-"),
        "{line}"
    );
    let creds = site.creds("sup", &secret, "supervise that");
    let out = site.run("approval", &["--user", "sup", "grant", "1"], &creds);
    assert!(out.status.success(), "{}", text(&out));
    let (out, wav) = export(&site, "ops", 5, &["--approval", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(wav.exists());
    // Used once.
    let (out, _) = export(&site, "ops", 6, &["--approval", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not granted, or was already used"),
        "{}",
        text(&out)
    );
    assert_eq!(
        site.count(&format!(
            "SELECT count(*) FROM releases WHERE {local} AND approval_id = 1"
        )),
        1
    );
    let log = site.log();
    let export = log
        .iter()
        .filter(|e| e.action == Action::Export)
        .nth(2)
        .unwrap();
    assert_eq!(export.justification, "local quota test (approval 1)");
    assert!(
        log.iter().any(|e| e.action == Action::ApprovalRequest
            && e.role == "local operator"
            && e.object_id == "1"),
        "{log:?}"
    );
}
