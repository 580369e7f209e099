//! `authorize_call`: one test per denial reason, the terms of allowed calls,
//! and a property test that privilege always wins.

use std::net::IpAddr;
use std::time::Duration;

use callward_core::tariff::Tariffs;
use callward_core::*;
use jiff::Timestamp;
use proptest::prelude::*;

const GATEWAY: &str = "127.0.0.1";

/// A medium jail open 07:00-22:00 Chicago time, with one station and one person.
struct World {
    facility: Facility,
    station: Station,
    person: Person,
    dialled: E164Number,
    prepaid: Account,
    debit: Option<Account>,
    privileged: Option<PrivilegedNumber>,
    approved: bool,
    blocked: Option<BlockScope>,
    failures: Vec<Timestamp>,
    source: IpAddr,
    calls_today: u32,
    active_calls: u32,
    pin_known: bool,
    station_known: bool,
    tariffs: Tariffs,
}

/// The shipped schedules (2021 interim and 2024 order).
fn shipped_tariffs() -> Tariffs {
    Tariffs::parse([
        (
            "2021-interim.toml",
            include_str!("../../../tariffs/2021-interim.toml"),
        ),
        (
            "2024-order.toml",
            include_str!("../../../tariffs/2024-order.toml"),
        ),
    ])
    .unwrap()
}

fn noon() -> Timestamp {
    // 12:00 in Chicago (CDT, UTC-5).
    "2026-07-01T17:00:00Z".parse().unwrap()
}

impl World {
    fn new() -> Self {
        let facility = Facility {
            id: FacilityId(1),
            name: Name::parse_field("name", "Demo County Jail").unwrap(),
            kind: FacilityKind::Jail,
            average_daily_population: 500,
            timezone: FacilityTimeZone::parse("America/Chicago").unwrap(),
            gateways: vec![GATEWAY.parse().unwrap()],
            calling_hours: CallingHours::parse("07:00-22:00").unwrap(),
            max_call_minutes: 15,
            max_calls_per_day: Some(10),
            requires_approved_list: true,
            pin_length: 6,
            rate: None,
        };
        let station = Station {
            id: StationId(1),
            facility_id: FacilityId(1),
            code: Code::parse_field("station", "station-101").unwrap(),
            location: "Unit A".into(),
            enabled: true,
            do_not_record: false,
        };
        let person = Person {
            id: PersonId(1),
            facility_id: FacilityId(1),
            booking_id: Code::parse_field("booking", "B-1").unwrap(),
            name: Name::parse_field("name", "John Doe").unwrap(),
            language: Language::En,
            status: PersonStatus::Active,
            do_not_record: false,
            has_pin: true,
        };
        let dialled = E164Number::parse("+15551230001").unwrap();
        Self {
            prepaid: Account {
                id: AccountId(1),
                holder: AccountHolder::Prepaid(dialled.clone()),
                balance: Cents(1000),
            },
            facility,
            station,
            person,
            dialled,
            debit: None,
            privileged: None,
            approved: true,
            blocked: None,
            failures: vec![],
            source: GATEWAY.parse().unwrap(),
            calls_today: 0,
            active_calls: 0,
            pin_known: true,
            station_known: true,
            tariffs: shipped_tariffs(),
        }
    }

    fn decide_at(&self, now: Timestamp) -> Decision {
        let facts = CallFacts {
            facility: &self.facility,
            station: self.station_known.then_some(&self.station),
            source: self.source,
            pin_failures: &self.failures,
            caller: self.pin_known.then_some(&self.person),
            dialled: &self.dialled,
            approved: self.approved,
            blocked: self.blocked,
            privileged: self.privileged.as_ref(),
            prepaid: Some(&self.prepaid),
            debit: self.debit.as_ref(),
            calls_today: self.calls_today,
            active_calls: self.active_calls,
            tariffs: &self.tariffs,
        };
        authorize_call(&facts, now)
    }

    fn decide(&self) -> Decision {
        self.decide_at(noon())
    }

    fn attorney(&mut self, verification: Verification) {
        self.privileged = Some(PrivilegedNumber {
            id: PrivilegedId(1),
            number: self.dialled.clone(),
            attorney_name: Name::parse_field("name", "Ada Counsel").unwrap(),
            bar_number: "12345".into(),
            bar_state: UsState::parse("TX").unwrap(),
            verification,
            verified_by: None,
        });
    }
}

fn denied(d: &Decision) -> Option<DenyReason> {
    match d {
        Decision::Denied { reason } => Some(*reason),
        Decision::Allowed(_) => None,
    }
}

#[test]
fn an_ordinary_call_is_recorded_at_the_tier_cap() {
    let d = World::new().decide();
    let t = d.terms().expect("allowed");
    assert!(t.recording() && t.monitoring() && !t.privileged());
    assert_eq!(t.rate, CentsPerMinute(7), "medium jail 2024 cap");
    assert_eq!(t.max_duration, Duration::from_secs(15 * 60));
    assert_eq!(t.limit, CallLimit::CallLength);
    assert_eq!(t.payer, Some(AccountId(1)));
}

#[test]
fn every_denial_reason() {
    type Setup = fn(&mut World);
    let cases: Vec<(&str, Setup, DenyReason)> = vec![
        (
            "unknown station",
            |w| w.station_known = false,
            DenyReason::UnknownStation,
        ),
        (
            "not from a gateway",
            |w| w.source = "127.0.0.2".parse().unwrap(),
            DenyReason::StationNotAdmitted,
        ),
        (
            "station of another facility",
            |w| w.station.facility_id = FacilityId(2),
            DenyReason::StationNotAdmitted,
        ),
        (
            "station disabled",
            |w| w.station.enabled = false,
            DenyReason::StationDisabled,
        ),
        (
            "five failures in 15 minutes",
            |w| {
                w.failures = (1..=5)
                    .map(|m| noon() - jiff::SignedDuration::from_mins(m))
                    .collect();
            },
            DenyReason::PinLocked,
        ),
        (
            "unknown PIN",
            |w| w.pin_known = false,
            DenyReason::UnknownPin,
        ),
        (
            "PIN of another facility's person",
            |w| w.person.facility_id = FacilityId(2),
            DenyReason::UnknownPin,
        ),
        (
            "suspended",
            |w| w.person.status = PersonStatus::Suspended,
            DenyReason::PersonNotActive,
        ),
        (
            "released",
            |w| w.person.status = PersonStatus::Released,
            DenyReason::PersonNotActive,
        ),
        (
            "already on a call",
            |w| w.active_calls = 1,
            DenyReason::AlreadyOnCall,
        ),
        (
            "before hours",
            |w| w.facility.calling_hours = CallingHours::parse("13:00-22:00").unwrap(),
            DenyReason::OutsideCallingHours,
        ),
        (
            "daily limit",
            |w| w.calls_today = 10,
            DenyReason::DailyLimitReached,
        ),
        (
            "person blocklist",
            |w| w.blocked = Some(BlockScope::Person(PersonId(1))),
            DenyReason::BlockedByPerson,
        ),
        (
            "facility blocklist",
            |w| w.blocked = Some(BlockScope::Facility(FacilityId(1))),
            DenyReason::BlockedByFacility,
        ),
        (
            "called party blocked the facility",
            |w| w.blocked = Some(BlockScope::CalledParty(FacilityId(1))),
            DenyReason::BlockedByCalledParty,
        ),
        (
            "not approved",
            |w| w.approved = false,
            DenyReason::NotApproved,
        ),
        (
            "pending attorney still needs approval",
            |w| {
                w.approved = false;
                w.attorney(Verification::Pending);
            },
            DenyReason::NotApproved,
        ),
        (
            "balance under one minute",
            |w| w.prepaid.balance = Cents(6),
            DenyReason::InsufficientBalance,
        ),
        (
            "blocked beats attorney",
            |w| {
                w.attorney(Verification::Verified);
                w.blocked = Some(BlockScope::CalledParty(FacilityId(1)));
            },
            DenyReason::BlockedByCalledParty,
        ),
    ];
    for (name, setup, want) in cases {
        let mut w = World::new();
        setup(&mut w);
        assert_eq!(denied(&w.decide()), Some(want), "{name}");
    }
}

#[test]
fn no_account_at_all() {
    let w = World::new();
    let facts = CallFacts {
        facility: &w.facility,
        station: Some(&w.station),
        source: w.source,
        pin_failures: &[],
        caller: Some(&w.person),
        dialled: &w.dialled,
        approved: true,
        blocked: None,
        privileged: None,
        prepaid: None,
        debit: None,
        calls_today: 0,
        active_calls: 0,
        tariffs: &w.tariffs,
    };
    assert_eq!(
        denied(&authorize_call(&facts, noon())),
        Some(DenyReason::NoAccount)
    );
}

#[test]
fn pin_lock_counts_only_the_window() {
    let mut w = World::new();
    // Four recent failures and one 16 minutes ago: not locked.
    w.failures = (1..=4)
        .map(|m| noon() - jiff::SignedDuration::from_mins(m))
        .collect();
    w.failures
        .push(noon() - jiff::SignedDuration::from_mins(16));
    assert!(w.decide().terms().is_some());
    // The lock releases once the oldest of five leaves the window.
    w.failures = (1..=5)
        .map(|m| noon() - jiff::SignedDuration::from_mins(m))
        .collect();
    assert_eq!(denied(&w.decide()), Some(DenyReason::PinLocked));
    let later = noon() + jiff::SignedDuration::from_mins(11);
    assert!(w.decide_at(later).terms().is_some());
}

#[test]
fn pin_lock_applies_even_to_a_correct_pin() {
    let mut w = World::new();
    w.failures = vec![noon(); 5];
    assert!(w.pin_known);
    assert_eq!(denied(&w.decide()), Some(DenyReason::PinLocked));
}

#[test]
fn duration_is_bounded_by_hours_and_money() {
    let mut w = World::new();
    // 21:55 Chicago: five minutes of calling hours left.
    let late: Timestamp = "2026-07-02T02:55:00Z".parse().unwrap();
    let t = w.decide_at(late).terms().cloned().unwrap();
    assert_eq!(t.max_duration, Duration::from_secs(300));
    assert_eq!(t.limit, CallLimit::CallingHours);
    // $0.20 at 7 c/min pays for floor(20 × 60 / 7) = 171 seconds of
    // conversation (per-second rating; the caller hears "2 minutes").
    w.prepaid.balance = Cents(20);
    let t = w.decide().terms().cloned().unwrap();
    assert_eq!(t.max_duration, Duration::from_secs(171));
    assert_eq!(t.limit, CallLimit::Balance);
    // Late and short of money: the smaller one names the limit.
    let t = w.decide_at(late).terms().cloned().unwrap();
    assert_eq!(
        (t.max_duration, t.limit),
        (Duration::from_secs(171), CallLimit::Balance)
    );
    w.prepaid.balance = Cents(70);
    let t = w.decide_at(late).terms().cloned().unwrap();
    assert_eq!(
        (t.max_duration, t.limit),
        (Duration::from_secs(300), CallLimit::CallingHours)
    );
    // A balance covering exactly the facility's longest call: the money is
    // named (it is what the caller can change).
    w.prepaid.balance = Cents(105);
    let t = w.decide().terms().cloned().unwrap();
    assert_eq!(
        (t.max_duration, t.limit),
        (Duration::from_secs(900), CallLimit::Balance)
    );
}

#[test]
fn the_rate_is_the_cap_in_force_on_the_facilitys_local_date() {
    let mut w = World::new();
    // Before the 2024 order: the 2021 interim cap for jails under 1,000.
    let before: Timestamp = "2024-11-18T17:00:00Z".parse().unwrap();
    assert_eq!(
        w.decide_at(before).terms().unwrap().rate,
        CentsPerMinute(21)
    );
    assert_eq!(w.decide().terms().unwrap().rate, CentsPerMinute(7));
    // A schedule the operator loads wins from its first day; a cap with a
    // fraction of a cent admits the whole cent below it.
    let later = r#"
        [schedule]
        name = "test order"
        source = "a test"
        effective_from = 2026-07-01
        applies_to = "all"
        [[tier]]
        tier = "prison"
        adp_min = 0
        audio_cap = "0.05"
        [[tier]]
        tier = "medium_jail"
        adp_min = 0
        audio_cap = "0.055"
    "#;
    w.tariffs = Tariffs::parse([
        (
            "2024-order.toml",
            include_str!("../../../tariffs/2024-order.toml"),
        ),
        ("later.toml", later),
    ])
    .unwrap();
    let t = w.decide().terms().cloned().unwrap();
    assert_eq!(t.rate, CentsPerMinute(5));
    // $0.20 at 5 c/min: 240 s.
    w.prepaid.balance = Cents(20);
    assert_eq!(
        w.decide().terms().unwrap().max_duration,
        Duration::from_secs(240)
    );
    // 23:30 in Chicago on June 30 is still under the 2024 cap.
    let eve: Timestamp = "2026-07-01T04:30:00Z".parse().unwrap();
    w.facility.calling_hours = CallingHours::ALWAYS;
    assert_eq!(w.decide_at(eve).terms().unwrap().rate, CentsPerMinute(7));
}

#[test]
fn debit_account_pays_when_prepaid_is_short() {
    let mut w = World::new();
    w.prepaid.balance = Cents(0);
    w.debit = Some(Account {
        id: AccountId(9),
        holder: AccountHolder::Debit(PersonId(1)),
        balance: Cents(70),
    });
    let t = w.decide().terms().cloned().unwrap();
    assert_eq!(t.payer, Some(AccountId(9)));
    assert_eq!(t.max_duration, Duration::from_secs(600));
}

#[test]
fn verified_attorney_calls_are_privileged_free_and_need_no_approval() {
    let mut w = World::new();
    w.attorney(Verification::Verified);
    w.approved = false;
    w.prepaid.balance = Cents(0);
    let t = w.decide().terms().cloned().expect("allowed");
    assert!(!t.recording() && !t.monitoring());
    assert_eq!(
        t.capture,
        Capture::Privileged(PrivilegeBasis {
            number: true,
            person: false,
            station: false
        })
    );
    assert_eq!(t.rate, CentsPerMinute(0));
    assert_eq!(t.payer, None);
}

#[test]
fn pending_registration_is_already_unrecorded() {
    let mut w = World::new();
    w.attorney(Verification::Pending);
    let t = w.decide().terms().cloned().expect("approved, so allowed");
    assert!(!t.recording() && !t.monitoring());
    assert_eq!(
        t.rate,
        CentsPerMinute(7),
        "pending registrations are not free"
    );
}

#[test]
fn rejected_registration_is_recorded() {
    let mut w = World::new();
    w.attorney(Verification::Rejected);
    assert!(w.decide().terms().unwrap().recording());
}

#[test]
fn person_and_station_flags_are_privileged_too() {
    let mut w = World::new();
    w.person.do_not_record = true;
    let t = w.decide().terms().cloned().unwrap();
    assert_eq!(
        t.capture,
        Capture::Privileged(PrivilegeBasis {
            number: false,
            person: true,
            station: false
        })
    );
    let mut w = World::new();
    w.station.do_not_record = true;
    assert!(!w.decide().terms().unwrap().monitoring());
}

#[test]
fn deny_codes_are_distinct() {
    use std::collections::HashSet;
    let all = DenyReason::ALL;
    let codes: HashSet<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
}

fn verification() -> impl Strategy<Value = Option<Verification>> {
    prop_oneof![
        Just(None),
        Just(Some(Verification::Pending)),
        Just(Some(Verification::Verified)),
        Just(Some(Verification::Rejected)),
    ]
}

proptest! {
    /// Whatever else is true, a do-not-record flag means no recording and no
    /// monitoring; and a recorded call has no such flag.
    #[test]
    fn privileged_always_wins(
        reg in verification(),
        person_dnr: bool,
        station_dnr: bool,
        approved: bool,
        balance in 0i64..5000,
        minutes in 0i64..(24 * 60),
        failures in 0usize..7,
        calls_today in 0u32..12,
        active in 0u32..2,
        requires_list: bool,
        status in 0u8..3,
    ) {
        let mut w = World::new();
        if let Some(v) = reg { w.attorney(v); }
        w.person.do_not_record = person_dnr;
        w.station.do_not_record = station_dnr;
        w.approved = approved;
        w.prepaid.balance = Cents(balance);
        w.failures = vec![noon(); failures];
        w.calls_today = calls_today;
        w.active_calls = active;
        w.facility.requires_approved_list = requires_list;
        w.person.status = [PersonStatus::Active, PersonStatus::Suspended, PersonStatus::Released][usize::from(status)];
        let now = noon() + jiff::SignedDuration::from_mins(minutes);
        let dnr = person_dnr || station_dnr || matches!(reg, Some(Verification::Pending | Verification::Verified));
        if let Decision::Allowed(t) = w.decide_at(now) {
            prop_assert_eq!(t.recording(), !dnr);
            prop_assert_eq!(t.monitoring(), !dnr);
            prop_assert!(t.rate <= w.facility.tier().audio_cap());
            prop_assert!(t.max_duration <= Duration::from_secs(15 * 60));
            if let Some(payer) = t.payer {
                prop_assert_eq!(payer, AccountId(1));
                // Never allowed for longer than the balance pays for.
                let paid = t.max_duration.as_secs() as i64 * i64::from(t.rate.0) / 60;
                prop_assert!(paid <= balance);
            }
        }
    }
}
