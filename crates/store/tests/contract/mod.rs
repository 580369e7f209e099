//! The behaviour every `Store` backend must show. A backend's test file
//! calls `contract_tests!(make_store)` with an async constructor of a fresh,
//! empty store; every case below then runs against it unchanged.

use std::net::IpAddr;

use callward_core::*;
use callward_store::*;
use jiff::Timestamp;

pub(crate) fn now() -> Timestamp {
    "2026-07-01T17:00:00Z".parse().unwrap()
}

pub(crate) fn number(s: &str) -> E164Number {
    E164Number::parse(s).unwrap()
}

pub(crate) fn new_facility(name: &str) -> NewFacility {
    NewFacility {
        name: Name::parse_field("name", name).unwrap(),
        kind: FacilityKind::Jail,
        average_daily_population: 500,
        timezone: FacilityTimeZone::parse("America/Chicago").unwrap(),
        gateways: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        calling_hours: CallingHours::parse("07:00-22:00").unwrap(),
        max_call_minutes: 15,
        max_calls_per_day: Some(10),
        requires_approved_list: true,
        pin_length: 6,
        rate: None,
    }
}

pub(crate) fn new_person(facility: FacilityId, booking: &str, pin: Option<u8>) -> NewPerson {
    NewPerson {
        facility_id: facility,
        booking_id: Code::parse_field("booking id", booking).unwrap(),
        name: Name::parse_field("name", "John Doe").unwrap(),
        language: Language::Es,
        pin: pin.map(|b| PinDigest([b; 32])),
    }
}

pub(crate) async fn facility_round_trip<S: Store>(s: S) {
    let f = s
        .create_facility(new_facility("Demo County Jail"))
        .await
        .unwrap();
    assert_eq!(f.name.as_str(), "Demo County Jail");
    assert_eq!(f.tier(), RateTier::MediumJail);
    let want: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    let mut got = f.gateways.clone();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    assert_eq!(s.facility(f.id).await.unwrap(), f);
    assert_eq!(
        s.facility_by_name("Demo County Jail").await.unwrap(),
        Some(f.clone())
    );
    assert_eq!(s.facility_by_name("Nowhere").await.unwrap(), None);
    assert_eq!(s.list_facilities().await.unwrap(), vec![f]);
}

pub(crate) async fn duplicate_facility_name_is_a_conflict<S: Store>(s: S) {
    s.create_facility(new_facility("A")).await.unwrap();
    let err = s.create_facility(new_facility("A")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("already exists"));
    // Nothing half-written: still one facility, with its gateways intact.
    let all = s.list_facilities().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].gateways.len(), 2);
}

pub(crate) async fn update_facility_changes_only_what_is_given<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let u = s
        .update_facility(
            f.id,
            FacilityUpdate {
                average_daily_population: Some(1200),
                gateways: Some(vec!["10.0.0.9".parse().unwrap()]),
                max_calls_per_day: Some(None),
                ..FacilityUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.tier(), RateTier::LargeJail);
    assert_eq!(u.gateways, vec!["10.0.0.9".parse::<IpAddr>().unwrap()]);
    assert_eq!(u.max_calls_per_day, None);
    assert_eq!(u.name, f.name);
    assert_eq!(u.calling_hours, f.calling_hours);
    assert!(matches!(
        s.update_facility(FacilityId(999), FacilityUpdate::default())
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn facility_with_stations_cannot_be_removed<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let st = s
        .create_station(NewStation {
            facility_id: f.id,
            code: Code::parse_field("station id", "station-101").unwrap(),
            location: "Unit A".into(),
            do_not_record: false,
        })
        .await
        .unwrap();
    assert!(matches!(
        s.remove_facility(f.id).await,
        Err(StoreError::Refused(_))
    ));
    s.remove_station(st.id).await.unwrap();
    s.remove_facility(f.id).await.unwrap();
    assert!(matches!(
        s.facility(f.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.remove_facility(f.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn stations<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let new = NewStation {
        facility_id: f.id,
        code: Code::parse_field("station id", "station-101").unwrap(),
        location: "Unit A".into(),
        do_not_record: false,
    };
    let st = s.create_station(new.clone()).await.unwrap();
    assert!(st.enabled);
    assert!(matches!(
        s.create_station(new.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = NewStation {
        facility_id: FacilityId(77),
        ..new
    };
    assert!(matches!(
        s.create_station(orphan).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        s.station_by_code("station-101").await.unwrap(),
        Some(st.clone())
    );
    assert_eq!(s.station_by_code("station-999").await.unwrap(), None);
    let u = s
        .update_station(
            st.id,
            StationUpdate {
                enabled: Some(false),
                do_not_record: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!u.enabled && u.do_not_record);
    assert_eq!(u.location, "Unit A");
    assert_eq!(s.list_stations(Some(f.id)).await.unwrap(), vec![u.clone()]);
    assert_eq!(s.list_stations(Some(FacilityId(77))).await.unwrap(), vec![]);
    assert_eq!(s.list_stations(None).await.unwrap(), vec![u]);
}

pub(crate) async fn people_and_pins<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let g = s.create_facility(new_facility("B")).await.unwrap();
    let p = s
        .create_person(new_person(f.id, "B-1", Some(1)))
        .await
        .unwrap();
    assert!(p.has_pin);
    assert_eq!(p.status, PersonStatus::Active);
    assert_eq!(p.language, Language::Es);
    // Duplicate booking id at the same facility: conflict, nothing written.
    let dup = s
        .create_person(new_person(f.id, "B-1", Some(2)))
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    assert_eq!(s.list_people(f.id).await.unwrap().len(), 1);
    // Same booking id and PIN at another facility is fine.
    let other = s
        .create_person(new_person(g.id, "B-1", Some(1)))
        .await
        .unwrap();
    // Same PIN at the same facility is not.
    let clash = s
        .create_person(new_person(f.id, "B-2", Some(1)))
        .await
        .unwrap_err();
    assert!(matches!(clash, StoreError::Conflict(_)));
    assert_eq!(
        s.person_by_pin(f.id, &PinDigest([1; 32])).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.person_by_pin(g.id, &PinDigest([1; 32])).await.unwrap(),
        Some(other)
    );
    assert_eq!(
        s.person_by_pin(f.id, &PinDigest([9; 32])).await.unwrap(),
        None
    );
    assert_eq!(
        s.person_by_booking(f.id, "B-1").await.unwrap(),
        Some(p.clone())
    );

    let q = s
        .create_person(new_person(f.id, "B-2", None))
        .await
        .unwrap();
    assert!(!q.has_pin);
    assert!(matches!(
        s.set_pin(q.id, PinDigest([1; 32])).await,
        Err(StoreError::Conflict(_))
    ));
    s.set_pin(q.id, PinDigest([3; 32])).await.unwrap();
    assert!(s.person(q.id).await.unwrap().has_pin);
    // A PIN reset replaces the old one.
    s.set_pin(p.id, PinDigest([4; 32])).await.unwrap();
    assert_eq!(
        s.person_by_pin(f.id, &PinDigest([1; 32])).await.unwrap(),
        None
    );
    assert_eq!(
        s.person_by_pin(f.id, &PinDigest([4; 32]))
            .await
            .unwrap()
            .map(|x| x.id),
        Some(p.id)
    );
    assert!(matches!(
        s.set_pin(PersonId(999), PinDigest([5; 32])).await,
        Err(StoreError::NotFound(_))
    ));

    let u = s
        .update_person(
            p.id,
            PersonUpdate {
                status: Some(PersonStatus::Suspended),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.status, PersonStatus::Suspended);
    assert_eq!(u.name, p.name);
}

pub(crate) async fn contacts_and_removal_cascade<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let p = s
        .create_person(new_person(f.id, "B-1", None))
        .await
        .unwrap();
    let n = number("+15551230001");
    let c = s
        .add_contact(p.id, n.clone(), "Mother".into())
        .await
        .unwrap();
    assert!(s.is_approved(p.id, &n).await.unwrap());
    assert!(!s.is_approved(p.id, &number("+15551230002")).await.unwrap());
    let dup = s
        .add_contact(p.id, n.clone(), "Again".into())
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)));
    assert!(
        !dup.to_string().contains("5551230001"),
        "errors never show a full number"
    );
    assert_eq!(s.list_contacts(p.id).await.unwrap(), vec![c.clone()]);
    s.add_block(
        BlockScope::Person(p.id),
        number("+15550000666"),
        "threats".into(),
        now(),
    )
    .await
    .unwrap();
    s.remove_person(p.id).await.unwrap();
    assert_eq!(s.list_contacts(p.id).await.unwrap(), vec![]);
    assert_eq!(s.list_blocks(f.id).await.unwrap(), vec![]);
    assert!(matches!(
        s.remove_contact(c.id).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn blocklists<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let g = s.create_facility(new_facility("B")).await.unwrap();
    let p = s
        .create_person(new_person(f.id, "B-1", None))
        .await
        .unwrap();
    let n = number("+15550000666");
    assert_eq!(s.find_block(p.id, f.id, &n).await.unwrap(), None);
    s.add_block(BlockScope::Person(p.id), n.clone(), "".into(), now())
        .await
        .unwrap();
    assert_eq!(
        s.find_block(p.id, f.id, &n).await.unwrap(),
        Some(BlockScope::Person(p.id))
    );
    let cp = s
        .add_block(
            BlockScope::CalledParty(f.id),
            n.clone(),
            "pressed 9".into(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        s.find_block(p.id, f.id, &n).await.unwrap(),
        Some(BlockScope::CalledParty(f.id))
    );
    s.add_block(
        BlockScope::Facility(f.id),
        n.clone(),
        "victim".into(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        s.find_block(p.id, f.id, &n).await.unwrap(),
        Some(BlockScope::Facility(f.id))
    );
    // Another facility's list does not apply here.
    s.add_block(
        BlockScope::Facility(g.id),
        number("+15551112222"),
        "".into(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        s.find_block(p.id, f.id, &number("+15551112222"))
            .await
            .unwrap(),
        None
    );
    let dup = s
        .add_block(BlockScope::CalledParty(f.id), n.clone(), "".into(), now())
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert_eq!(s.list_blocks(f.id).await.unwrap().len(), 3);
    s.remove_block(cp.id).await.unwrap();
    assert_eq!(s.list_blocks(f.id).await.unwrap().len(), 2);
    assert!(matches!(
        s.add_block(BlockScope::Person(PersonId(999)), n, "".into(), now())
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn privileged_registry<S: Store>(s: S) {
    let n = number("+15559870001");
    let new = NewPrivileged {
        number: n.clone(),
        attorney_name: Name::parse_field("name", "Ada Counsel").unwrap(),
        bar_number: "24012345".into(),
        bar_state: UsState::parse("tx").unwrap(),
    };
    let r = s.register_privileged(new.clone(), now()).await.unwrap();
    assert_eq!(r.verification, Verification::Pending);
    assert!(r.is_privileged(), "pending already fails closed");
    assert!(matches!(
        s.register_privileged(new, now()).await,
        Err(StoreError::Conflict(_))
    ));
    let v = s
        .set_verification(r.id, Verification::Verified, "admin".into())
        .await
        .unwrap();
    assert_eq!(v.verification, Verification::Verified);
    assert_eq!(v.verified_by.as_deref(), Some("admin"));
    assert_eq!(s.privileged_by_number(&n).await.unwrap(), Some(v.clone()));
    assert_eq!(s.list_privileged().await.unwrap(), vec![v]);
    s.remove_privileged(r.id).await.unwrap();
    assert_eq!(s.privileged_by_number(&n).await.unwrap(), None);
    assert!(matches!(
        s.set_verification(r.id, Verification::Verified, "x".into())
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn accounts_and_deposits<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let p = s
        .create_person(new_person(f.id, "B-1", None))
        .await
        .unwrap();
    let n = number("+15551230001");
    let a = s
        .open_account(AccountHolder::Prepaid(n.clone()), now())
        .await
        .unwrap();
    assert_eq!(a.balance, Cents::ZERO);
    assert!(matches!(
        s.open_account(AccountHolder::Prepaid(n.clone()), now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    let a = s
        .deposit(a.id, Cents(1000), "pay-1".into(), now())
        .await
        .unwrap();
    let a = s
        .deposit(a.id, Cents(1), "pay-2".into(), now())
        .await
        .unwrap();
    assert_eq!(a.balance, Cents(1001));
    assert!(matches!(
        s.deposit(a.id, Cents(0), "x".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.deposit(a.id, Cents(-5), "x".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.deposit(a.id, Cents(100_000_000), "x".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(
        s.account(a.id).await.unwrap().balance,
        Cents(1001),
        "refused deposits change nothing"
    );
    assert!(matches!(
        s.deposit(AccountId(999), Cents(5), "x".into(), now()).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.prepaid_account(&n).await.unwrap(), Some(a.clone()));
    let d = s
        .open_account(AccountHolder::Debit(p.id), now())
        .await
        .unwrap();
    assert_eq!(s.debit_account(p.id).await.unwrap(), Some(d.clone()));
    assert_eq!(s.list_accounts().await.unwrap(), vec![a, d]);
    // A person holding an account cannot be removed out from under it.
    assert!(matches!(
        s.remove_person(p.id).await,
        Err(StoreError::Refused(_))
    ));
}

pub(crate) async fn pin_failures<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let st = s
        .create_station(NewStation {
            facility_id: f.id,
            code: Code::parse_field("station id", "s1").unwrap(),
            location: "".into(),
            do_not_record: false,
        })
        .await
        .unwrap();
    let t0 = now();
    for m in 0..6 {
        s.record_pin_failure(st.id, t0 + jiff::SignedDuration::from_mins(m))
            .await
            .unwrap();
    }
    let since = t0 + jiff::SignedDuration::from_mins(2);
    let got = s.pin_failures_since(st.id, since).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(s.clear_pin_failures(st.id).await.unwrap(), 6);
    assert!(
        s.pin_failures_since(st.id, t0 - jiff::SignedDuration::from_hours(1))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn users<S: Store>(s: S) {
    let admin = Username::parse("admin").unwrap();
    let u = s
        .create_user(admin.clone(), Role::Admin, "$argon2id$fake".into(), now())
        .await
        .unwrap();
    assert_eq!(u.role, Role::Admin);
    assert!(matches!(
        s.create_user(admin, Role::Auditor, "x".into(), now()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.user_for_login("admin").await.unwrap(),
        Some((u.clone(), "$argon2id$fake".into()))
    );
    assert_eq!(s.user_for_login("nobody").await.unwrap(), None);
    assert_eq!(s.list_users().await.unwrap(), vec![u]);
}

pub(crate) fn cdr(id: &str, facility: FacilityId, offered: Timestamp) -> CallDetailRecord {
    use callward_core::callflow::{Disposition, HungUpBy};
    CallDetailRecord {
        id: id.into(),
        facility_id: facility,
        station_id: StationId(1),
        person_id: Some(PersonId(1)),
        number: Some(number("+15551230001")),
        privileged: false,
        disposition: Disposition::Completed,
        hung_up_by: HungUpBy::Outside,
        offered_at: offered,
        answered_at: Some(offered + jiff::SignedDuration::from_secs(20)),
        accepted_at: Some(offered + jiff::SignedDuration::from_secs(30)),
        ended_at: offered + jiff::SignedDuration::from_secs(90),
        billable_seconds: 60,
        time_limit_reached: false,
        limit: None,
        blocked_by_called_party: false,
        recording_id: Some(format!("rec-{id}")),
        rate_cents_per_minute: Some(7),
        payer_account_id: None,
        charge_cents: 0,
    }
}

pub(crate) async fn call_records<S: Store>(s: S) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let t = now();
    let a = cdr("a", f.id, t);
    let mut b = cdr("b", f.id, t + jiff::SignedDuration::from_mins(5));
    b.privileged = true;
    b.recording_id = None;
    b.number = Some(number("+15559870001"));
    b.disposition = "denied:not_approved".parse().unwrap();
    b.answered_at = None;
    b.accepted_at = None;
    b.billable_seconds = 0;
    s.record_call(&b).await.unwrap();
    s.record_call(&a).await.unwrap();
    assert_eq!(s.call("a").await.unwrap(), a);
    assert_eq!(s.call("b").await.unwrap(), b);
    assert!(matches!(s.call("zz").await, Err(StoreError::NotFound(_))));
    // Oldest first, bounded, filtered by time.
    assert_eq!(
        s.list_calls(None, 10).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(s.list_calls(None, 1).await.unwrap(), vec![a.clone()]);
    assert_eq!(
        s.list_calls(Some(t + jiff::SignedDuration::from_mins(1)), 10)
            .await
            .unwrap(),
        vec![b.clone()]
    );
    // Written once.
    assert!(matches!(
        s.record_call(&a).await,
        Err(StoreError::Conflict(_))
    ));
    // Invariant 1: a privileged call never has a recording.
    let mut bad = cdr("c", f.id, t);
    bad.privileged = true;
    assert!(matches!(
        s.record_call(&bad).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(s.call("c").await, Err(StoreError::NotFound(_))));
    // The daily limit counts a person's accepted calls since a time.
    let mut refused = cdr("d", f.id, t + jiff::SignedDuration::from_mins(7));
    refused.disposition = "refused".parse().unwrap();
    refused.accepted_at = None;
    refused.recording_id = None;
    s.record_call(&refused).await.unwrap();
    let mut other = cdr("e", f.id, t + jiff::SignedDuration::from_mins(8));
    other.person_id = Some(PersonId(2));
    other.recording_id = None;
    s.record_call(&other).await.unwrap();
    assert_eq!(s.count_accepted_calls(PersonId(1), t).await.unwrap(), 1);
    assert_eq!(
        s.count_accepted_calls(PersonId(1), t + jiff::SignedDuration::from_secs(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.count_accepted_calls(PersonId(2), t).await.unwrap(), 1);
    assert_eq!(s.count_accepted_calls(PersonId(3), t).await.unwrap(), 0);
    // Facilities with call history are kept.
    assert!(matches!(
        s.remove_facility(f.id).await,
        Err(StoreError::Refused(_))
    ));
}

/// A facility, a person with a funded prepaid account for +15551230001
/// (medium jail: the 2024 cap is 7 cents a minute).
async fn funded<S: Store>(s: &S, cents: i64) -> (FacilityId, PersonId, Account) {
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let p = s
        .create_person(new_person(f.id, "B-1", None))
        .await
        .unwrap();
    let a = s
        .open_account(AccountHolder::Prepaid(number("+15551230001")), now())
        .await
        .unwrap();
    let a = s
        .deposit(a.id, Cents(cents), "rcpt-1".into(), now())
        .await
        .unwrap();
    (f.id, p.id, a)
}

/// A completed call by `person` paid by `payer`, offered `offset_s` after
/// `now()`, accepted 30 s later and talking `talk_s`.
fn paid_call(
    id: &str,
    f: FacilityId,
    person: PersonId,
    payer: AccountId,
    offset_s: i64,
    talk_s: i64,
) -> CallDetailRecord {
    let offered = now() + jiff::SignedDuration::from_secs(offset_s);
    let mut c = cdr(id, f, offered);
    c.person_id = Some(person);
    c.payer_account_id = Some(payer);
    c.accepted_at = Some(offered + jiff::SignedDuration::from_secs(30));
    c.ended_at = offered + jiff::SignedDuration::from_secs(30 + talk_s);
    c.billable_seconds = u64::try_from(talk_s).unwrap();
    c.recording_id = None;
    c
}

pub(crate) async fn calls_are_rated_and_charged_once<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    // 4:05 at 7 c/min: floor(245 × 7 / 60) = 28 cents.
    let call = paid_call("c-1", f, p, a.id, 0, 245);
    let charged = s.record_call(&call).await.unwrap();
    assert_eq!(charged.charge, Cents(28));
    assert_eq!(charged.billed_seconds, 245);
    assert_eq!(charged.payer, Some(a.id));
    assert!(charged.transaction.is_some());
    let stored = s.call("c-1").await.unwrap();
    assert_eq!(stored.charge_cents, 28, "calls list shows the real charge");
    assert_eq!(stored.payer_account_id, Some(a.id));
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(972));
    // The same record again: refused, and charged no second time.
    let mut again = call.clone();
    again.charge_cents = 28;
    assert!(matches!(
        s.record_call(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(972));
    let txs = s.ledger_transactions(Some(a.id)).await.unwrap();
    assert_eq!(
        txs.iter().map(|t| t.kind().name()).collect::<Vec<_>>(),
        ["deposit", "call"]
    );
    let ledger = ledger::Ledger::replay(txs).unwrap();
    assert_eq!(ledger.balance(a.id), Cents(972));
    assert_eq!(ledger.charged_for("c-1"), Cents(28));
    let rows = ledger.statement(a.id, ledger::NumberDisplay::Masked);
    assert_eq!(rows[1].reference, "c-1");
    assert_eq!(rows[1].billed, Some(std::time::Duration::from_secs(245)));
    assert_eq!(rows[1].amount, Cents(-28));
}

pub(crate) async fn calls_that_never_connected_cost_nothing<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    for (i, d) in [
        "refused",
        "not_accepted",
        "no_answer",
        "busy",
        "failed",
        "abandoned",
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = paid_call(&format!("n-{i}"), f, p, a.id, 0, 120);
        c.disposition = d.parse().unwrap();
        if d != "failed" {
            c.accepted_at = None;
        }
        let charged = s.record_call(&c).await.unwrap();
        assert_eq!(charged.charge, Cents::ZERO, "{d}");
        assert_eq!(charged.transaction, None, "{d}");
        assert_eq!(s.call(&c.id).await.unwrap().charge_cents, 0, "{d}");
    }
    // A denied call has no rate at all; a verified attorney's rate is 0.
    let mut denied = paid_call("d-1", f, p, a.id, 0, 0);
    denied.disposition = "denied:not_approved".parse().unwrap();
    denied.rate_cents_per_minute = None;
    denied.payer_account_id = None;
    denied.accepted_at = None;
    assert_eq!(s.record_call(&denied).await.unwrap().outcome, None);
    let mut free = paid_call("d-2", f, p, a.id, 0, 600);
    free.rate_cents_per_minute = Some(0);
    assert_eq!(s.record_call(&free).await.unwrap().charge, Cents::ZERO);
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(1000));
    assert_eq!(s.ledger_transactions(None).await.unwrap().len(), 1);
}

pub(crate) async fn charges_never_pass_the_cap_nor_the_balance<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 50).await;
    // Terms asking 30 c/min are cut to the 7-cent cap: 10 min = 70 cents,
    // then to the 50 cents the account holds.
    let mut c = paid_call("c-1", f, p, a.id, 0, 600);
    c.rate_cents_per_minute = Some(30);
    let charged = s.record_call(&c).await.unwrap();
    assert_eq!(charged.charge, Cents(50));
    assert_eq!(s.call("c-1").await.unwrap().rate_cents_per_minute, Some(7));
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents::ZERO);
    // Nothing left: the next call is stored, charged nothing.
    let c2 = paid_call("c-2", f, p, a.id, 3600, 60);
    assert_eq!(s.record_call(&c2).await.unwrap().charge, Cents::ZERO);
    assert_eq!(s.call("c-2").await.unwrap().charge_cents, 0);
}

pub(crate) async fn drops_are_free_and_a_redial_continues_them<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    // Interrupted 8 s after acceptance: free, and marked dropped.
    let mut first = paid_call("c-1", f, p, a.id, 0, 8);
    first.disposition = "interrupted".parse().unwrap();
    let r = s.record_call(&first).await.unwrap();
    assert_eq!(r.charge, Cents::ZERO);
    // Redialled 4 minutes after the drop: a continuation, charged pro rata.
    let second = paid_call("c-2", f, p, a.id, 38 + 240, 60);
    let r = s.record_call(&second).await.unwrap();
    assert_eq!(r.continuation_of.as_deref(), Some("c-1"));
    assert_eq!(r.charge, Cents(7));
    // A call after a normal hangup is not a continuation.
    let third = paid_call("c-3", f, p, a.id, 400, 60);
    assert_eq!(s.record_call(&third).await.unwrap().continuation_of, None);
}

pub(crate) async fn a_line_failure_after_acceptance_is_free_and_continued<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    // The trunk leg failed 5 minutes into the conversation: `failed` is
    // never charged, and the call counts as dropped.
    let mut first = paid_call("c-1", f, p, a.id, 0, 300);
    first.disposition = "failed".parse().unwrap();
    let r = s.record_call(&first).await.unwrap();
    assert_eq!(r.charge, Cents::ZERO);
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(1000));
    // Redialled within 5 minutes: its continuation, charged pro rata only.
    let second = paid_call("c-2", f, p, a.id, 330 + 60, 60);
    let r = s.record_call(&second).await.unwrap();
    assert_eq!(r.continuation_of.as_deref(), Some("c-1"));
    assert_eq!(r.charge, Cents(7));
}

pub(crate) async fn the_limit_that_cut_a_call_is_kept<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    for (id, limit) in [
        ("c-1", Some(CallLimit::Balance)),
        ("c-2", Some(CallLimit::CallLength)),
        ("c-3", Some(CallLimit::CallingHours)),
        ("c-4", None),
    ] {
        let offset = 1000 * i64::from(id.as_bytes()[2] - b'0');
        let mut c = paid_call(id, f, p, a.id, offset, 60);
        c.time_limit_reached = limit.is_some();
        c.limit = limit;
        s.record_call(&c).await.unwrap();
        let stored = s.call(id).await.unwrap();
        assert_eq!(
            (stored.time_limit_reached, stored.limit),
            (limit.is_some(), limit)
        );
    }
}

pub(crate) async fn a_facility_s_own_rate_is_charged_never_above_the_cap<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    let own = |audio| FacilityRate {
        audio: CentsPerMinute(audio),
        facility_cost_additive: None,
    };
    let updated = s
        .update_facility(
            f,
            FacilityUpdate {
                rate: Some(Some(own(5))),
                ..FacilityUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.rate, Some(own(5)));
    assert_eq!(s.facility(f).await.unwrap().rate, Some(own(5)));
    // Terms that named the cap (7) are charged the facility's 5 c/min.
    let mut c = paid_call("c-1", f, p, a.id, 0, 600);
    c.rate_cents_per_minute = Some(7);
    let r = s.record_call(&c).await.unwrap();
    assert_eq!(r.charge, Cents(50));
    assert_eq!(s.call("c-1").await.unwrap().rate_cents_per_minute, Some(5));
    // A rate stored above the cap (set before a lower cap came) is charged
    // at the cap: never above it.
    s.update_facility(
        f,
        FacilityUpdate {
            rate: Some(Some(own(30))),
            ..FacilityUpdate::default()
        },
    )
    .await
    .unwrap();
    let mut c = paid_call("c-2", f, p, a.id, 3600, 600);
    c.rate_cents_per_minute = Some(30);
    assert_eq!(s.record_call(&c).await.unwrap().charge, Cents(70));
    // Removed: the cap again.
    let f2 = s
        .update_facility(
            f,
            FacilityUpdate {
                rate: Some(None),
                ..FacilityUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(f2.rate, None);
}

pub(crate) async fn refunds_and_closure_return_money_to_the_holder<S: Store>(s: S) {
    let (f, p, a) = funded(&s, 1000).await;
    // 10:00 at 7 c/min: 70 cents.
    s.record_call(&paid_call("c-1", f, p, a.id, 0, 600))
        .await
        .unwrap();
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents(930));
    let a2 = s
        .refund_call("c-1", Cents(20), "line noise".into(), now())
        .await
        .unwrap();
    assert_eq!(a2.balance, Cents(950));
    // Never more than what is left of the charge; never for an uncharged call.
    assert!(matches!(
        s.refund_call("c-1", Cents(51), "again".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.refund_call("c-9", Cents(1), "none".into(), now()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.refund_call("c-1", Cents(1), " ".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    // Closure returns the whole balance; nothing is kept, nothing comes in.
    assert_eq!(s.close_account(a.id, now()).await.unwrap(), Cents(950));
    assert_eq!(s.account(a.id).await.unwrap().balance, Cents::ZERO);
    assert!(matches!(
        s.close_account(a.id, now()).await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        s.deposit(a.id, Cents(5), "late".into(), now()).await,
        Err(StoreError::Refused(_))
    ));
    // A call a closed account was to pay for is stored, charged nothing.
    let c2 = paid_call("c-2", f, p, a.id, 3600, 60);
    assert_eq!(s.record_call(&c2).await.unwrap().charge, Cents::ZERO);
    let txs = s.ledger_transactions(Some(a.id)).await.unwrap();
    assert_eq!(
        txs.iter().map(|t| t.kind().name()).collect::<Vec<_>>(),
        ["deposit", "call", "call_refund", "closure"]
    );
    let ledger = ledger::Ledger::replay(s.ledger_transactions(None).await.unwrap()).unwrap();
    assert_eq!(ledger.book_balance(ledger::Book::PaidOut), Cents(950));
    assert_eq!(ledger.book_balance(ledger::Book::CallRevenue), Cents(50));
    assert!(ledger.is_closed(a.id));
}

pub(crate) async fn call_journal<S: Store>(s: S) {
    use callward_core::OpenCall;
    let f = s.create_facility(new_facility("A")).await.unwrap();
    let t = now();
    let mut open = OpenCall {
        id: "j1".into(),
        facility_id: f.id,
        station_id: StationId(1),
        person_id: Some(PersonId(1)),
        number: Some(number("+15551230001")),
        privileged: false,
        offered_at: t,
        answered_at: None,
        accepted_at: None,
        recording_id: None,
        rate_cents_per_minute: Some(7),
        payer_account_id: None,
        max_seconds: 900,
        last_seen: t,
        seq: 1,
    };
    s.journal_call(&open).await.unwrap();
    assert_eq!(s.open_calls().await.unwrap(), vec![open.clone()]);
    // A newer snapshot replaces it; an older one arriving late does not.
    let mut newer = open.clone();
    newer.accepted_at = Some(t + jiff::SignedDuration::from_secs(20));
    newer.recording_id = Some("j1".into());
    newer.last_seen = t + jiff::SignedDuration::from_secs(40);
    newer.seq = 3;
    s.journal_call(&newer).await.unwrap();
    open.seq = 2;
    s.journal_call(&open).await.unwrap();
    assert_eq!(s.open_calls().await.unwrap(), vec![newer.clone()]);
    // Invariant 1 in the journal too.
    let mut bad = newer.clone();
    bad.id = "j2".into();
    bad.privileged = true;
    assert!(matches!(
        s.journal_call(&bad).await,
        Err(StoreError::Refused(_))
    ));
    // Storing the record ends the entry; a late snapshot does not bring it back.
    let record = newer.interrupted();
    s.record_call(&record).await.unwrap();
    assert_eq!(s.open_calls().await.unwrap(), vec![]);
    newer.seq = 9;
    s.journal_call(&newer).await.unwrap();
    assert_eq!(s.open_calls().await.unwrap(), vec![]);
    assert_eq!(s.call("j1").await.unwrap(), record);
    // forget_open_call removes an entry whose call was recorded otherwise.
    let mut other = newer.clone();
    other.id = "j3".into();
    s.journal_call(&other).await.unwrap();
    s.forget_open_call("j3").await.unwrap();
    assert_eq!(s.open_calls().await.unwrap(), vec![]);
}

/// Expands to one `#[tokio::test]` per contract case, each on a fresh store
/// made by `$make().await`.
#[macro_export]
macro_rules! contract_tests {
    ($make:path) => {
        $crate::contract_tests!(@cases $make;
            facility_round_trip,
            duplicate_facility_name_is_a_conflict,
            update_facility_changes_only_what_is_given,
            facility_with_stations_cannot_be_removed,
            stations,
            people_and_pins,
            contacts_and_removal_cascade,
            blocklists,
            privileged_registry,
            accounts_and_deposits,
            pin_failures,
            users,
            call_records,
            calls_are_rated_and_charged_once,
            calls_that_never_connected_cost_nothing,
            charges_never_pass_the_cap_nor_the_balance,
            drops_are_free_and_a_redial_continues_them,
            a_line_failure_after_acceptance_is_free_and_continued,
            the_limit_that_cut_a_call_is_kept,
            a_facility_s_own_rate_is_charged_never_above_the_cap,
            refunds_and_closure_return_money_to_the_holder,
            call_journal,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $make().await;
                contract::$case(store).await;
            }
        )*
    };
}
