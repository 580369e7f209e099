//! Family users bound to one prepaid account (migration 17).

use callward_core::{AccountHolder, AgencyId, E164Number, Role, Username};
use callward_store::{SqliteStore, Store as _};
use jiff::Timestamp;

const T0: i64 = 1_800_000_000_000;

fn number(s: &str) -> E164Number {
    E164Number::parse(s).unwrap()
}

#[tokio::test]
async fn a_family_user_is_bound_to_one_prepaid_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let now: Timestamp = "2026-07-01T17:00:00Z".parse().unwrap();
    let own = s
        .open_account(AccountHolder::Prepaid(number("+15551230001")), now)
        .await
        .unwrap();
    s.open_account(AccountHolder::Prepaid(number("+15551230002")), now)
        .await
        .unwrap();
    let user = |name: &'static str, role| {
        let s = s.clone();
        async move {
            s.create_account(
                &Username::parse(name).unwrap(),
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
    let family = user("family", Role::Family).await;
    let admin = user("admin", Role::Admin).await;

    // No account for the number: refused, nothing bound.
    let err = s
        .bind_family_account(family.id, &number("+15559990000"), T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    assert_eq!(s.family_account(family.id).await.unwrap(), None);

    let bound = s
        .bind_family_account(family.id, &number("+15551230001"), T0)
        .await
        .unwrap();
    assert_eq!(bound.account_id, own.id.0);
    assert_eq!(s.family_account(family.id).await.unwrap(), Some(bound));

    // Bound once: a second binding (even to another number) is refused.
    assert!(
        s.bind_family_account(family.id, &number("+15551230002"), T0)
            .await
            .is_err()
    );
    assert_eq!(
        s.family_account(family.id).await.unwrap().unwrap().number,
        number("+15551230001")
    );
    // Only family users are bound.
    assert!(
        s.bind_family_account(admin.id, &number("+15551230001"), T0)
            .await
            .is_err()
    );
    assert_eq!(s.family_account(admin.id).await.unwrap(), None);
}

#[tokio::test]
async fn creating_a_family_user_opens_the_account_and_refuses_a_bound_number() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let name = |n: &str| Username::parse(n).unwrap();
    // No account yet: it is opened at $0.00 and bound.
    let a = s
        .create_family_user(&name("fam1"), AgencyId(1), "h", &number("+15551239999"), T0)
        .await
        .unwrap();
    let account = s
        .prepaid_account(&number("+15551239999"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.id.0, a.account_id);
    assert_eq!(account.balance.0, 0);
    assert_eq!(s.family_account(a.user).await.unwrap(), Some(a));

    // The same number again: refused, and no user is left behind.
    let err = s
        .create_family_user(&name("fam2"), AgencyId(1), "h", &number("+15551239999"), T0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already bound"), "{err}");
    assert!(s.user_account("fam2", 0).await.unwrap().is_none());

    // A taken user name: refused, and no account is opened for the number.
    assert!(
        s.create_family_user(&name("fam1"), AgencyId(1), "h", &number("+15551238888"), T0)
            .await
            .is_err()
    );
    assert!(
        s.prepaid_account(&number("+15551238888"))
            .await
            .unwrap()
            .is_none()
    );
}
