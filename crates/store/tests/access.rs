//! Agencies, sign-in state, sessions, cases, approvals and releases in
//! SQLite (migration 8): what the rules in callward-core decide is stored
//! and enforced in one transaction.

use callward_core::auth::login::{SESSION_IDLE_MS, SESSION_MAX_MS};
use callward_core::auth::{
    Actor, ApprovalNeed, ApprovalState, CaseStatus, Justification, QuotaPolicy, SessionState,
    TotpSecret,
};
use callward_core::{AgencyId, Name, Role, Username};
use callward_store::{Release, SqliteStore, Store as _};

const T0: i64 = 1_800_000_000_000;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    (dir, s)
}

fn name(s: &str) -> Name {
    Name::parse_field("name", s).unwrap()
}

#[tokio::test]
async fn old_rows_go_to_the_default_agency_and_agencies_are_enforced() {
    let (_d, s) = store().await;
    let agencies = s.list_agencies().await.unwrap();
    assert_eq!(agencies.len(), 1);
    assert_eq!(agencies[0].id, AgencyId(1));
    assert_eq!(agencies[0].policy, QuotaPolicy::default());
    // A user made through the older Store method lands in agency 1.
    let u = s
        .create_user(
            Username::parse("old").unwrap(),
            Role::Auditor,
            "x".into(),
            jiff::Timestamp::UNIX_EPOCH,
        )
        .await
        .unwrap();
    let acct = s.user_account("old", T0).await.unwrap().unwrap();
    assert_eq!((acct.user.id, acct.agency), (u.id, AgencyId(1)));
    let b = s.create_agency(&name("Other County"), T0).await.unwrap();
    assert!(s.create_agency(&name("Other County"), T0).await.is_err());
    s.set_user_agency(u.id, b.id).await.unwrap();
    assert!(s.set_user_agency(u.id, AgencyId(99)).await.is_err());
    assert_eq!(
        s.user_account("old", T0).await.unwrap().unwrap().agency,
        b.id
    );
    assert!(
        s.create_account(
            &Username::parse("ghost").unwrap(),
            Role::Admin,
            AgencyId(42),
            "h",
            None,
            T0
        )
        .await
        .is_err()
    );
    s.set_agency_policy(b.id, QuotaPolicy { daily: 3, bulk: 2 })
        .await
        .unwrap();
    assert!(
        s.set_agency_policy(b.id, QuotaPolicy { daily: 3, bulk: 0 })
            .await
            .is_err()
    );
    assert_eq!(s.find_agency("Other County").await.unwrap().policy.daily, 3);
}

#[tokio::test]
async fn failures_lock_success_clears_and_a_used_step_is_kept() {
    let (_d, s) = store().await;
    let secret = TotpSecret::new(vec![7; 20]).unwrap();
    let u = s
        .create_account(
            &Username::parse("inv").unwrap(),
            Role::Investigator,
            AgencyId(1),
            "h",
            Some(&secret),
            T0,
        )
        .await
        .unwrap();
    for i in 0..4 {
        s.record_login_failure(u.id, false, T0 + i).await.unwrap();
    }
    let a = s.user_account("inv", T0 + 10).await.unwrap().unwrap();
    assert_eq!(a.login.failures_ms.len(), 4);
    assert!(!a.login.locked);
    assert_eq!(a.login.totp, Some(secret.clone()));
    // Outside the window they are not counted.
    let later = T0 + 16 * 60 * 1000;
    assert!(
        s.user_account("inv", later)
            .await
            .unwrap()
            .unwrap()
            .login
            .failures_ms
            .is_empty()
    );
    s.record_login_failure(u.id, true, T0 + 5).await.unwrap();
    assert!(
        s.user_account("inv", T0 + 6)
            .await
            .unwrap()
            .unwrap()
            .login
            .locked
    );
    assert!(s.unlock_account(u.id).await.unwrap());
    assert!(!s.unlock_account(u.id).await.unwrap());
    let a = s.user_account("inv", T0 + 7).await.unwrap().unwrap();
    assert!(!a.login.locked && a.login.failures_ms.is_empty());
    s.record_login_success(u.id, Some(100)).await.unwrap();
    assert_eq!(
        s.user_account("inv", T0)
            .await
            .unwrap()
            .unwrap()
            .login
            .last_totp_step,
        Some(100)
    );
    // The same step (or an older one) again: refused in the store too.
    assert!(s.record_login_success(u.id, Some(100)).await.is_err());
    assert!(s.record_login_success(u.id, Some(99)).await.is_err());
    s.record_login_success(u.id, Some(101)).await.unwrap();
    // Reset: no secret, no step.
    s.set_totp(u.id, None).await.unwrap();
    let a = s.user_account("inv", T0).await.unwrap().unwrap();
    assert!(a.login.totp.is_none() && a.login.last_totp_step.is_none());
    assert!(!format!("{a:?}").contains("password_hash"));
}

#[tokio::test]
async fn sessions_extend_lock_when_idle_and_expire() {
    let (_d, s) = store().await;
    let u = s
        .create_account(
            &Username::parse("att").unwrap(),
            Role::Attorney,
            AgencyId(1),
            "h",
            None,
            T0,
        )
        .await
        .unwrap();
    let token = [9u8; 32];
    s.open_session(&token, u.id, T0).await.unwrap();
    assert_eq!(s.use_session(&[1; 32], T0).await.unwrap(), None);
    let t1 = T0 + SESSION_IDLE_MS - 1;
    assert_eq!(
        s.use_session(&token, t1).await.unwrap(),
        Some((u.id, SessionState::Active))
    );
    // Extended from t1, so still active just under 30 min later.
    let t2 = t1 + SESSION_IDLE_MS - 1;
    assert_eq!(
        s.use_session(&token, t2).await.unwrap().unwrap().1,
        SessionState::Active
    );
    let t3 = t2 + SESSION_IDLE_MS;
    assert_eq!(
        s.use_session(&token, t3).await.unwrap().unwrap().1,
        SessionState::IdleLocked
    );
    // Locked stays locked: a quick request does not revive it.
    assert_eq!(
        s.use_session(&token, t3 + 1).await.unwrap().unwrap().1,
        SessionState::IdleLocked
    );
    assert!(s.unlock_session(&token, t3 + 2).await.unwrap());
    assert_eq!(
        s.use_session(&token, t3 + 3).await.unwrap().unwrap().1,
        SessionState::Active
    );
    assert_eq!(
        s.use_session(&token, T0 + SESSION_MAX_MS)
            .await
            .unwrap()
            .unwrap()
            .1,
        SessionState::Expired
    );
    assert_eq!(
        s.use_session(&token, T0 + SESSION_MAX_MS).await.unwrap(),
        None,
        "deleted"
    );
}

#[tokio::test]
async fn quota_then_approval_by_another_supervisor_once() {
    let (_d, s) = store().await;
    let user = |n: &'static str, role| {
        let s = s.clone();
        async move {
            s.create_account(
                &Username::parse(n).unwrap(),
                role,
                AgencyId(1),
                "h",
                None,
                T0,
            )
            .await
            .unwrap()
        }
    };
    let inv = user("inv", Role::Investigator).await;
    let sup = user("sup", Role::Supervisor).await;
    let j = Justification::parse("Case 7: threats against a witness").unwrap();
    let case = s
        .open_case(AgencyId(1), inv.id, &name("Case 7"), &j, T0)
        .await
        .unwrap();
    assert_eq!(case.status(), CaseStatus::Open);
    let policy = QuotaPolicy { daily: 2, bulk: 2 };
    let rec = |i: usize| vec![format!("rec-{i}")];
    for i in 0..2 {
        assert!(matches!(
            s.release(inv.id, case.id, &rec(i), policy, None, T0 + i as i64)
                .await
                .unwrap(),
            Release::Done { approval: None, .. }
        ));
    }
    assert_eq!(
        s.release(inv.id, case.id, &rec(3), policy, None, T0 + 3)
            .await
            .unwrap(),
        Release::NeedsApproval(ApprovalNeed::OverQuota {
            released: 2,
            quota: 2
        })
    );
    let three: Vec<String> = (0..3).map(|i| format!("bulk-{i}")).collect();
    assert_eq!(
        s.release(inv.id, case.id, &three, policy, None, T0 + 3)
            .await
            .unwrap(),
        Release::NeedsApproval(ApprovalNeed::Bulk { count: 3, limit: 2 })
    );
    assert_eq!(s.released_recently(inv.id, T0 + 4).await.unwrap(), 2);
    let ask = s
        .request_approval(inv.id, AgencyId(1), 1, &j, T0 + 4)
        .await
        .unwrap();
    // Not granted yet: no use.
    assert!(
        s.release(inv.id, case.id, &rec(3), policy, Some(ask.id), T0 + 5)
            .await
            .is_err()
    );
    let me = Actor {
        user: inv.id,
        role: Role::Investigator,
        agency: AgencyId(1),
    };
    assert!(
        s.decide_approval(ask.id, me, true, T0 + 5).await.is_err(),
        "self"
    );
    let sup_actor = Actor {
        user: sup.id,
        role: Role::Supervisor,
        agency: AgencyId(1),
    };
    let granted = s
        .decide_approval(ask.id, sup_actor, true, T0 + 6)
        .await
        .unwrap();
    assert_eq!(granted.state, ApprovalState::Granted(sup.id));
    assert!(
        s.decide_approval(ask.id, sup_actor, false, T0 + 6)
            .await
            .is_err(),
        "decided once"
    );
    assert!(matches!(
        s.release(inv.id, case.id, &rec(3), policy, Some(ask.id), T0 + 7)
            .await
            .unwrap(),
        Release::Done {
            approval: Some(_),
            released_before: 2
        }
    ));
    // One use only.
    assert!(
        s.release(inv.id, case.id, &rec(4), policy, Some(ask.id), T0 + 8)
            .await
            .is_err()
    );
    assert_eq!(s.approval(ask.id).await.unwrap().state, ApprovalState::Used);
    // A day later the quota is free again.
    assert!(matches!(
        s.release(
            inv.id,
            case.id,
            &rec(5),
            policy,
            None,
            T0 + 24 * 3600 * 1000 + 10
        )
        .await
        .unwrap(),
        Release::Done { .. }
    ));
    s.close_case(case.id, inv.id, T0 + 9).await.unwrap();
    assert_eq!(s.case(case.id).await.unwrap().status(), CaseStatus::Closed);
    assert!(s.close_case(case.id, inv.id, T0 + 9).await.is_err());
}
