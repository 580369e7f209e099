//! Retention, legal holds and privilege sealing runs in SQLite (migration 6):
//! which recordings the expiry job may delete, notes that keep the call
//! record, holds placed and released, and sealing runs with masked numbers.

use callward_core::callflow::{Disposition, HungUpBy};
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId, PrivilegedId, StationId};
use callward_store::{DEFAULT_RETENTION_DAYS, NewFacility, SqliteStore, Store as _, StoreError};
use jiff::{SignedDuration, Timestamp};

fn facility(name: &str) -> NewFacility {
    NewFacility {
        name: callward_core::Name::parse_field("name", name).unwrap(),
        kind: "jail".parse().unwrap(),
        average_daily_population: 100,
        timezone: callward_core::FacilityTimeZone::parse("UTC").unwrap(),
        gateways: vec!["127.0.0.1".parse().unwrap()],
        calling_hours: callward_core::CallingHours::parse("always").unwrap(),
        max_call_minutes: 15,
        max_calls_per_day: None,
        requires_approved_list: false,
        pin_length: 6,
        rate: None,
    }
}

fn cdr(id: &str, facility: FacilityId, number: &str, offered: Timestamp) -> CallDetailRecord {
    CallDetailRecord {
        id: id.into(),
        facility_id: facility,
        station_id: StationId(1),
        person_id: Some(PersonId(1)),
        number: Some(E164Number::parse(number).unwrap()),
        privileged: false,
        disposition: Disposition::Completed,
        hung_up_by: HungUpBy::Station,
        offered_at: offered,
        answered_at: Some(offered + SignedDuration::from_secs(5)),
        accepted_at: Some(offered + SignedDuration::from_secs(10)),
        ended_at: offered + SignedDuration::from_secs(70),
        billable_seconds: 60,
        time_limit_reached: false,
        limit: None,
        blocked_by_called_party: false,
        recording_id: Some(id.to_owned()),
        rate_cents_per_minute: Some(0),
        payer_account_id: None,
        charge_cents: 0,
    }
}

#[tokio::test]
async fn expiry_candidates_leave_out_held_expired_young_and_other_facilities() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let a = s.create_facility(facility("A")).await.unwrap().id;
    let b = s.create_facility(facility("B")).await.unwrap().id;
    assert_eq!(
        s.retention_periods().await.unwrap(),
        [(a, DEFAULT_RETENTION_DAYS), (b, DEFAULT_RETENTION_DAYS)]
    );
    s.set_retention_days(a, 30).await.unwrap();
    assert!(matches!(
        s.set_retention_days(a, 0).await,
        Err(StoreError::Refused(_))
    ));
    let now: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let days = |n: i64| now - SignedDuration::from_hours(24 * n);
    for (id, f, age) in [
        ("old", a, 40),
        ("held", a, 40),
        ("young", a, 10),
        ("other", b, 40),
    ] {
        s.record_call(&cdr(id, f, "+15551230001", days(age)))
            .await
            .unwrap();
    }
    s.place_hold("held", "held", "investigator", "case 7", now)
        .await
        .unwrap();
    assert!(matches!(
        s.place_hold("held", "held", "investigator", "again", now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let ids = |v: Vec<callward_store::ExpiryCandidate>| {
        v.into_iter().map(|c| c.call_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.expiry_candidates(a, days(30)).await.unwrap()),
        ["old"]
    );
    assert!(s.expiry_candidates(b, days(365)).await.unwrap().is_empty());

    s.note_recording_expired("old", "old", now).await.unwrap();
    s.note_recording_expired("old", "old", now).await.unwrap();
    assert_eq!(s.recording_expired_at("old").await.unwrap(), Some(now));
    assert!(s.expiry_candidates(a, days(30)).await.unwrap().is_empty());
    assert!(s.call("old").await.is_ok(), "the call record stays");

    let released = s.release_hold("held", "supervisor", now).await.unwrap();
    assert_eq!(released.released_by.as_deref(), Some("supervisor"));
    assert_eq!(
        ids(s.expiry_candidates(a, days(30)).await.unwrap()),
        ["held"]
    );
    assert!(matches!(
        s.release_hold("held", "supervisor", now).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.legal_holds(false).await.unwrap().is_empty());
    assert_eq!(s.legal_holds(true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn recorded_calls_to_a_number_and_sealing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("callward.db"))
        .await
        .unwrap();
    let f = s.create_facility(facility("A")).await.unwrap().id;
    let now: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let atty = E164Number::parse("+15557770001").unwrap();
    for (i, n) in ["+15557770001", "+15557770001", "+15551230001"]
        .iter()
        .enumerate()
    {
        s.record_call(&cdr(
            &format!("c{i}"),
            f,
            n,
            now - SignedDuration::from_hours(i as i64),
        ))
        .await
        .unwrap();
    }
    s.note_recording_expired("c0", "c0", now).await.unwrap();
    let calls = s.recorded_calls_to(&atty).await.unwrap();
    assert_eq!(calls.len(), 1, "expired recordings are not sealed again");
    assert_eq!(calls[0].call_id, "c1");

    let run = s
        .record_privilege_seal(PrivilegedId(4), &atty, 1, 0, 0, "cli", now)
        .await
        .unwrap();
    assert_eq!(run.number_masked, "+1******0001");
    assert_eq!(s.privilege_seals().await.unwrap(), [run]);
}
