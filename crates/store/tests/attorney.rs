//! Attorney registrations and privilege review requests (migration 18):
//! an attorney sees only its own registrations and asks for reviews only
//! of those; a request is reviewed once.

use callward_core::{E164Number, Name, Role, UsState, Username, Verification};
use callward_store::{NewPrivileged, SqliteStore, Store as _, StoreError};
use jiff::Timestamp;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    (dir, s)
}

fn new(number: &str) -> NewPrivileged {
    NewPrivileged {
        number: E164Number::parse(number).unwrap(),
        attorney_name: Name::parse_field("name", "Ann Counsel").unwrap(),
        bar_number: "12345".into(),
        bar_state: UsState::parse("IL").unwrap(),
    }
}

#[tokio::test]
async fn an_attorney_holds_its_own_registrations_and_asks_reviews_of_them() {
    let (_d, s) = store().await;
    let now = Timestamp::now();
    let user = |name: &str| {
        let s = s.clone();
        let name = name.to_owned();
        async move {
            s.create_user(
                Username::parse(&name).unwrap(),
                Role::Attorney,
                "h".into(),
                now,
            )
            .await
            .unwrap()
            .id
        }
    };
    let (ann, bob) = (user("ann").await, user("bob").await);
    let mine = s
        .register_privileged_by(new("+15559870101"), ann, now)
        .await
        .unwrap();
    assert_eq!(mine.verification, Verification::Pending);
    // The same number again, by anyone: refused, naming no holder.
    let again = s
        .register_privileged_by(new("+15559870101"), bob, now)
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
    assert!(!again.to_string().contains("ann"));
    // A CLI registration names no one.
    let cli = s
        .register_privileged(new("+15559870102"), now)
        .await
        .unwrap();
    assert_eq!(s.privileged_of(ann).await.unwrap(), vec![mine.clone()]);
    assert!(s.privileged_of(bob).await.unwrap().is_empty());
    s.set_privileged_owner(cli.id, bob).await.unwrap();
    assert_eq!(s.privileged_of(bob).await.unwrap().len(), 1);

    // Reviews: only of one's own registration, a range in order.
    let t = now.as_millisecond();
    let r = s
        .request_privilege_review(
            mine.id,
            ann,
            t - 86_400_000,
            t,
            "calls before registering",
            now,
        )
        .await
        .unwrap();
    assert_eq!(r.reviewed, None);
    assert!(matches!(
        s.request_privilege_review(mine.id, bob, t - 1, t, "not mine", now)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.request_privilege_review(mine.id, ann, t, t - 1, "backwards", now)
            .await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(
        s.privilege_reviews(Some(ann)).await.unwrap(),
        vec![r.clone()]
    );
    assert!(s.privilege_reviews(Some(bob)).await.unwrap().is_empty());
    assert_eq!(s.privilege_reviews(None).await.unwrap().len(), 1);
    let done = s.mark_privilege_reviewed(r.id, "admin", now).await.unwrap();
    assert_eq!(
        done.reviewed.as_ref().map(|(by, _)| by.as_str()),
        Some("admin")
    );
    assert!(matches!(
        s.mark_privilege_reviewed(r.id, "admin", now).await,
        Err(StoreError::Refused(_))
    ));
}
