//! Billing end to end, pure: the shipped tariffs, rating and the ledger
//! together. Whatever calls happen, no minute costs more than the cap, no
//! account goes below zero, and the ledger's call revenue is exactly the sum
//! of the rated calls.

use std::time::Duration;

use callward_core::callflow::Disposition;
use callward_core::ledger::{
    Book, CallLine, DepositChannel, Ledger, LedgerError, NumberDisplay, Reference,
};
use callward_core::rating::{CallToRate, Outcome, allowance, prorate, rate_call};
use callward_core::tariff::{CappedRate, Tariffs};
use callward_core::{
    AccountId, CallingHours, Cents, CentsPerMinute, E164Number, Facility, FacilityId, FacilityKind,
    FacilityRate, FacilityTimeZone, Name,
};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

fn shipped() -> Tariffs {
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

#[derive(Debug, Clone)]
struct Call {
    disposition: Disposition,
    talk_ms: i64,
    technical: bool,
    overrun_ms: i64,
}

fn call() -> impl Strategy<Value = Call> {
    (
        prop_oneof![
            6 => Just(Disposition::Completed),
            1 => Just(Disposition::Interrupted),
            1 => Just(Disposition::Failed),
            1 => Just(Disposition::NoAnswer),
            1 => Just(Disposition::NotAccepted),
        ],
        0i64..3_600_000,
        any::<bool>(),
        0i64..3_000,
    )
        .prop_map(|(disposition, talk_ms, technical, overrun_ms)| Call {
            disposition,
            talk_ms,
            technical,
            overrun_ms,
        })
}

proptest! {
    #[test]
    fn ledger_revenue_is_the_sum_of_rated_calls_and_nothing_exceeds_cap_or_balance(
        jail in any::<bool>(),
        adp in 0u32..3_000,
        asked in 0u32..40,
        year in 2022i16..2027,
        deposit in 1i64..5_000,
        calls in proptest::collection::vec(call(), 1..25),
    ) {
        let tariffs = shipped();
        let kind = if jail { FacilityKind::Jail } else { FacilityKind::Prison };
        let day = date(year, 6, 1);
        let cap = tariffs.cap_for(kind, adp, day).unwrap();
        let rate = CappedRate::clamped(CentsPerMinute(asked), cap.limit(false));
        // A rate above the cap is refused when configured.
        prop_assert_eq!(
            tariffs.check_rate(kind, adp, day, CentsPerMinute(asked), false).is_ok(),
            rate.rate() == CentsPerMinute(asked)
        );

        let account = AccountId(7);
        let number = E164Number::parse("+15551230001").unwrap();
        let mut ledger = Ledger::new();
        let t0 = Timestamp::from_second(1_780_000_000).unwrap();
        ledger
            .deposit(t0, account, Cents(deposit), Reference::parse("r-1").unwrap(), DepositChannel::FamilyPage)
            .unwrap();
        let mut rated_total = 0i64;
        let mut at = t0;
        for (i, c) in calls.into_iter().enumerate() {
            let balance = ledger.balance(account);
            // The switch limits the call to what the balance covers (a
            // little overrun models timer lateness).
            let limit_ms = allowance(balance, rate)
                .map_or(i64::MAX, |a| i64::try_from(a.limit.as_millis()).unwrap());
            let talk_ms = c.talk_ms.min(limit_ms.saturating_add(c.overrun_ms));
            let offered = at;
            let accepted = offered.checked_add(SignedDuration::from_secs(20)).unwrap();
            let ended = accepted.checked_add(SignedDuration::from_millis(talk_ms)).unwrap();
            let id = format!("c-{i}");
            let rating = rate_call(
                &CallToRate {
                    call_id: &id,
                    disposition: c.disposition,
                    technical_drop: c.technical,
                    number: Some(&number),
                    offered_at: offered,
                    accepted_at: Some(accepted),
                    ended_at: ended,
                    billable_limit: None,
                    rate,
                    covered: balance,
                },
                None,
            );
            // Never above the cap: charge ≤ billed minutes × cap.
            let charge_units = u128::try_from(rating.charge.0).unwrap() * 100 * 60;
            prop_assert!(
                charge_units
                    <= u128::from(rating.billed_seconds) * u128::from(cap.audio_cap.hundredths_of_cent())
            );
            prop_assert!(rating.charge <= balance);
            if rating.charge.0 > 0 {
                prop_assert_eq!(rating.outcome, Outcome::Charged);
                ledger
                    .charge_call(
                        ended,
                        account,
                        CallLine {
                            call_id: id.clone(),
                            number: Some(number.clone()),
                            billed_seconds: rating.billed_seconds,
                            rate: rating.rate,
                        },
                        rating.charge,
                    )
                    .unwrap();
                // Exactly once: the same call cannot be charged again.
                let again = CallLine {
                    call_id: id,
                    number: None,
                    billed_seconds: 0,
                    rate: rating.rate,
                };
                prop_assert!(matches!(
                    ledger.charge_call(ended, account, again, Cents(1)),
                    Err(LedgerError::AlreadyCharged(_))
                ));
            }
            rated_total += rating.charge.0;
            prop_assert!(ledger.balance(account).0 >= 0);
            at = ended.checked_add(SignedDuration::from_secs(60)).unwrap();
        }
        prop_assert_eq!(
            ledger.book_balance(Book::CallRevenue).0,
            rated_total
        );
        prop_assert_eq!(ledger.balance(account).0, deposit - rated_total);
        let rows = ledger.statement(account, NumberDisplay::Masked);
        prop_assert_eq!(rows.len(), ledger.transactions().len());
        prop_assert_eq!(rows.last().map(|r| r.balance), Some(ledger.balance(account)));
        let (_, returned) = ledger.close(at, account).unwrap();
        prop_assert_eq!(returned.0, deposit - rated_total, "closure returns every cent");
    }
}

proptest! {
    /// A facility's own rate (audio plus an optional facility-cost
    /// additive) is accepted exactly when the schedule in force on the day
    /// it is set, and every later one, admits it; and whatever is stored, a
    /// call is never charged above the cap in force on its day, nor above
    /// the facility's rate.
    #[test]
    fn a_facility_rate_is_refused_above_the_cap_and_never_charged_above_it(
        jail in any::<bool>(),
        adp in 0u32..3_000,
        audio in 0u32..40,
        additive in proptest::option::of(0u32..6),
        set_year in 2022i16..2027,
        call_year in 2022i16..2027,
        seconds in 0u64..36_000,
    ) {
        let tariffs = shipped();
        let kind = if jail { FacilityKind::Jail } else { FacilityKind::Prison };
        let rate = FacilityRate {
            audio: CentsPerMinute(audio),
            facility_cost_additive: additive.map(CentsPerMinute),
        };
        let with_costs = additive.is_some_and(|a| a > 0);
        let set_on = date(set_year, 6, 1);
        let admits = |day| {
            let cap = tariffs.cap_for(kind, adp, day).unwrap();
            let additive_ok = match additive.filter(|a| *a > 0) {
                None => true,
                Some(a) => cap
                    .facility_cost_additive
                    .is_some_and(|allowed| allowed.admits(CentsPerMinute(a))),
            };
            cap.audio_cap.admits(rate.audio)
                && additive_ok
                && cap.limit(with_costs).admits(rate.per_minute())
        };
        let mut days = vec![set_on];
        days.extend(
            tariffs
                .schedules()
                .iter()
                .map(|s| s.effective_from)
                .filter(|d| *d > set_on),
        );
        let checked = tariffs.check_facility_rate(kind, adp, set_on, rate);
        prop_assert_eq!(checked.is_ok(), days.into_iter().all(admits), "{:?}", checked);

        let facility = Facility {
            id: FacilityId(1),
            name: Name::parse_field("name", "A").unwrap(),
            kind,
            average_daily_population: adp,
            timezone: FacilityTimeZone::parse("UTC").unwrap(),
            gateways: vec![],
            calling_hours: CallingHours::ALWAYS,
            max_call_minutes: 15,
            max_calls_per_day: None,
            requires_approved_list: true,
            pin_length: 6,
            rate: Some(rate),
        };
        let day = date(call_year, 6, 1);
        let at = day.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
        let cap = tariffs.cap_for(kind, adp, day).unwrap();
        let charged = tariffs.rate_for_facility(&facility, at);
        prop_assert!(charged.rate() <= rate.per_minute());
        prop_assert!(cap.limit(with_costs).admits(charged.rate()));
        if !with_costs {
            prop_assert!(cap.audio_cap.admits(charged.rate()));
        }
        // The charge itself: never above the cap for the time billed.
        let charge = prorate(seconds, charged);
        prop_assert!(
            u128::try_from(charge.0).unwrap() * 60 * 100
                <= u128::from(seconds) * u128::from(cap.limit(with_costs).hundredths_of_cent())
        );
    }
}

#[test]
fn a_facility_cost_additive_is_refused_where_no_schedule_allows_one() {
    let tariffs = shipped();
    let rate = |audio, add: Option<u32>| FacilityRate {
        audio: CentsPerMinute(audio),
        facility_cost_additive: add.map(CentsPerMinute),
    };
    // A prison under the 2021 caps: 12 c audio + 2 c additive would fit
    // then, but the 2024 order that follows allows no additive and caps
    // audio at 6 c: refused, naming why.
    let day = date(2023, 6, 1);
    let err = tariffs
        .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(6, Some(2)))
        .unwrap_err();
    assert!(
        err.to_string().contains("allows no facility-cost additive"),
        "{err}"
    );
    let err = tariffs
        .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(7, None))
        .unwrap_err();
    assert!(err.to_string().contains("above the $0.06 cap"), "{err}");
    assert_eq!(
        tariffs
            .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(5, None))
            .unwrap()
            .rate(),
        CentsPerMinute(5)
    );
    // With only the 2021 schedule loaded, the additive is allowed up to 2 c.
    let only_2021 = Tariffs::parse([(
        "2021-interim.toml",
        include_str!("../../../tariffs/2021-interim.toml"),
    )])
    .unwrap();
    let ok = only_2021
        .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(12, Some(2)))
        .unwrap();
    assert_eq!(ok.rate(), CentsPerMinute(14));
    let err = only_2021
        .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(12, Some(3)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("facility-cost additive of 3 cents"),
        "{err}"
    );
    let err = only_2021
        .check_facility_rate(FacilityKind::Prison, 2_000, day, rate(13, Some(1)))
        .unwrap_err();
    assert!(err.to_string().contains("above the $0.12 cap"), "{err}");
}

#[test]
fn a_medium_jail_call_in_2025_is_rated_at_the_2024_cap() {
    let tariffs = shipped();
    let day = date(2025, 3, 1);
    let rate = tariffs
        .check_rate(FacilityKind::Jail, 500, day, CentsPerMinute(7), false)
        .unwrap();
    let a = allowance(Cents(1000), rate).unwrap();
    assert_eq!(a.announced_minutes, 142);
    assert_eq!(a.limit, Duration::from_secs(8571));
    let t0 = Timestamp::from_second(1_740_000_000).unwrap();
    let number = E164Number::parse("+15551230001").unwrap();
    let r = rate_call(
        &CallToRate {
            call_id: "c-1",
            disposition: Disposition::Completed,
            technical_drop: false,
            number: Some(&number),
            offered_at: t0,
            accepted_at: Some(t0 + SignedDuration::from_secs(15)),
            ended_at: t0 + SignedDuration::from_secs(15 + 15 * 60),
            billable_limit: None,
            rate,
            covered: Cents(1000),
        },
        None,
    );
    assert_eq!(r.charge, Cents(105), "15 minutes at 7 cents");
}
