//! Rating: what a finished call costs, in integer cents, and how long a
//! balance lets a call run.
//!
//! # The rounding rule
//!
//! A call is billed for its conversation time only: from the called party's
//! acceptance (pressing 1) to the end of the call (the hangup, the choice or
//! the time limit; goodbye prompts after it are free). That time is counted
//! in **whole seconds, rounded down**, and charged **pro rata per second,
//! rounded down to the cent**:
//!
//! ```text
//! charge_cents = floor(billed_seconds × rate_cents_per_minute / 60)
//! ```
//!
//! There is no minimum charge and no "first minute": a 20-second call at
//! 6 cents a minute costs 2 cents, a 61-second call 6 cents. Every rounding
//! is down, so it always favours the person paying.
//!
//! # No charge
//!
//! Calls refused, not accepted, unanswered, busy, denied, abandoned or
//! failed cost nothing, whatever their times say. A call that ends for a
//! technical reason (disposition `interrupted`, or the driver saw the line
//! drop) within [`TECHNICAL_DROP_GRACE`] of acceptance costs nothing either.
//!
//! # Continuations
//!
//! A call to the same number dialled within [`CONTINUATION_WINDOW`] after an
//! accepted call dropped for a technical reason is its continuation. Under
//! per-second proration no call pays a first minute, so a continuation is
//! never charged a new one; [`Rating::continuation_of`] records the link
//! (for statements and disputes), and a property test proves a dropped call
//! plus its continuation never costs more than the same conversation
//! unbroken.
//!
//! # Never above the cap
//!
//! The rate comes in as a [`CappedRate`], which cannot be built above the
//! cap in force, and the charge is computed from it alone; it is also never
//! more than the paying account holds ([`CallToRate::covered`]).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::callflow::Disposition;
use crate::cdr::CallDetailRecord;
use crate::money::{Cents, CentsPerMinute};
use crate::number::E164Number;
use crate::tariff::CappedRate;

/// A call that ends for a technical reason this soon after acceptance (or
/// sooner) is not charged.
pub const TECHNICAL_DROP_GRACE: Duration = Duration::from_secs(10);

/// A redial to the same number this soon after a technical drop (or sooner)
/// continues the dropped call.
pub const CONTINUATION_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Warn both sides this long before the money runs out.
pub const LOW_BALANCE_WARNING: Duration = Duration::from_secs(60);

/// The facts of one finished call that rating needs.
#[derive(Debug, Clone, Copy)]
pub struct CallToRate<'a> {
    /// The call's id.
    pub call_id: &'a str,
    /// How it ended.
    pub disposition: Disposition,
    /// The driver saw the call end for a technical reason (media loss, trunk
    /// failure) rather than a hangup. `interrupted` and `failed` count as
    /// technical whatever this says.
    pub technical_drop: bool,
    /// The number called.
    pub number: Option<&'a E164Number>,
    /// When the caller's INVITE arrived (for the continuation window).
    pub offered_at: Timestamp,
    /// When the called party accepted, if they did.
    pub accepted_at: Option<Timestamp>,
    /// When the call ended.
    pub ended_at: Timestamp,
    /// An upper bound on billed time the driver already knows (the
    /// record's `billable_seconds`, capped at the allowed duration).
    pub billable_limit: Option<Duration>,
    /// The rate, checked against the cap in force.
    pub rate: CappedRate,
    /// The most the paying account can pay (its balance when the call is
    /// rated). The charge never exceeds it.
    pub covered: Cents,
}

/// The caller's previous call to the same number, for the continuation
/// rule.
#[derive(Debug, Clone, Copy)]
pub struct PreviousCall<'a> {
    /// Its id.
    pub call_id: &'a str,
    /// The number it called.
    pub number: &'a E164Number,
    /// When it ended.
    pub ended_at: Timestamp,
    /// Whether it was accepted and then dropped for a technical reason
    /// ([`Rating::dropped`] when it was rated).
    pub dropped: bool,
}

/// Why a call cost what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Charged for its billed seconds (possibly zero cents for a very short
    /// call).
    Charged,
    /// Never connected to a conversation: refused, not accepted, no answer,
    /// busy, denied, abandoned, or interrupted before acceptance.
    NotConnected,
    /// Failed: never charged.
    Failed,
    /// Dropped for a technical reason within the grace period.
    DroppedInGrace,
    /// Free by its terms (a verified attorney; rate zero).
    Free,
}

/// The rated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// What the call costs.
    pub charge: Cents,
    /// Seconds billed (whole, rounded down); zero when not charged.
    pub billed_seconds: u64,
    /// The rate applied.
    pub rate: CentsPerMinute,
    /// Why.
    pub outcome: Outcome,
    /// The dropped call this one continues, if it does.
    pub continuation_of: Option<String>,
    /// Whether the call was accepted and then dropped for a technical
    /// reason: a redial soon after continues it.
    pub dropped: bool,
    /// Whether the charge was cut to what the account held.
    pub limited_by_balance: bool,
}

/// Whether a disposition can carry a charge at all.
pub fn chargeable(disposition: Disposition) -> bool {
    matches!(
        disposition,
        Disposition::Completed | Disposition::Interrupted
    )
}

/// The charge for `seconds` at `rate`: per-second proration, rounded down
/// to the cent.
pub fn prorate(seconds: u64, rate: CappedRate) -> Cents {
    let cents = u128::from(seconds) * u128::from(rate.rate().0) / 60;
    Cents(i64::try_from(cents).unwrap_or(i64::MAX))
}

fn whole_seconds(d: SignedDuration) -> u64 {
    u64::try_from(d.as_secs()).unwrap_or(0)
}

/// Rates one finished call. `previous` is the caller's last call to the same
/// number before this one, if any.
pub fn rate_call(call: &CallToRate<'_>, previous: Option<&PreviousCall<'_>>) -> Rating {
    let technical = call.technical_drop
        || matches!(
            call.disposition,
            Disposition::Interrupted | Disposition::Failed
        );
    let talked = call
        .accepted_at
        .map(|a| call.ended_at.duration_since(a))
        .filter(|d| !d.is_negative());
    let dropped = talked.is_some() && technical;
    let continuation_of = previous
        .filter(|p| {
            p.dropped
                && call.number == Some(p.number)
                && call.offered_at >= p.ended_at
                && call.offered_at.duration_since(p.ended_at).unsigned_abs() <= CONTINUATION_WINDOW
        })
        .map(|p| p.call_id.to_owned());
    let nothing = |outcome| Rating {
        charge: Cents::ZERO,
        billed_seconds: 0,
        rate: call.rate.rate(),
        outcome,
        continuation_of: continuation_of.clone(),
        dropped,
        limited_by_balance: false,
    };
    if call.disposition == Disposition::Failed {
        return nothing(Outcome::Failed);
    }
    let Some(talked) = talked.filter(|_| chargeable(call.disposition)) else {
        return nothing(Outcome::NotConnected);
    };
    if technical && talked.unsigned_abs() <= TECHNICAL_DROP_GRACE {
        return nothing(Outcome::DroppedInGrace);
    }
    if call.rate.rate().0 == 0 {
        return nothing(Outcome::Free);
    }
    let mut billed_seconds = whole_seconds(talked);
    if let Some(limit) = call.billable_limit {
        billed_seconds = billed_seconds.min(limit.as_secs());
    }
    let full = prorate(billed_seconds, call.rate);
    let covered = call.covered.max(Cents::ZERO);
    Rating {
        charge: full.min(covered),
        billed_seconds,
        rate: call.rate.rate(),
        outcome: Outcome::Charged,
        continuation_of,
        dropped,
        limited_by_balance: full > covered,
    }
}

/// Rates a stored call record. `technical_drop` is the driver's knowledge
/// that the line dropped (see [`CallToRate::technical_drop`]).
pub fn rate_cdr(
    cdr: &CallDetailRecord,
    technical_drop: bool,
    rate: CappedRate,
    covered: Cents,
    previous: Option<&PreviousCall<'_>>,
) -> Rating {
    rate_call(
        &CallToRate {
            call_id: &cdr.id,
            disposition: cdr.disposition,
            technical_drop,
            number: cdr.number.as_ref(),
            offered_at: cdr.offered_at,
            accepted_at: cdr.accepted_at,
            ended_at: cdr.ended_at,
            billable_limit: Some(Duration::from_secs(cdr.billable_seconds)),
            rate,
            covered,
        },
        previous,
    )
}

/// How long a balance lets a call run, and what the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Whole minutes the balance covers, rounded down: what the caller
    /// hears before the call is placed.
    pub announced_minutes: u64,
    /// The conversation time the balance pays for: the call ends then.
    pub limit: Duration,
    /// When (after acceptance) both sides hear that one minute is left;
    /// `None` when the whole call is a minute or less.
    pub warn_at: Option<Duration>,
}

/// What `balance` buys at `rate`, or `None` if the call is free (no money
/// limit). A call rated at no more than [`Allowance::limit`] seconds is
/// charged no more than `balance`.
pub fn allowance(balance: Cents, rate: CappedRate) -> Option<Allowance> {
    let per_minute = u64::from(rate.rate().0);
    if per_minute == 0 {
        return None;
    }
    let balance = u64::try_from(balance.0).unwrap_or(0);
    // floor(balance × 60 / rate): the most seconds whose prorated charge
    // is still within the balance.
    let seconds = u128::from(balance) * 60 / u128::from(per_minute);
    let seconds = u64::try_from(seconds).unwrap_or(u64::MAX);
    let limit = Duration::from_secs(seconds);
    Some(Allowance {
        announced_minutes: seconds / 60,
        limit,
        warn_at: limit
            .checked_sub(LOW_BALANCE_WARNING)
            .filter(|w| !w.is_zero()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::authorize::DenyReason;
    use crate::callflow::Denial;
    use crate::tariff::CapPerMinute;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_780_000_000 + secs).unwrap()
    }

    fn rate(cents: u32) -> CappedRate {
        CappedRate::new(CentsPerMinute(cents), CapPerMinute::from_cents(cents)).unwrap()
    }

    fn number() -> E164Number {
        E164Number::parse("+15551230001").unwrap()
    }

    /// A call offered at 0, accepted at 30 s (if at all), ended `talk_ms`
    /// after acceptance.
    fn call<'a>(
        n: &'a E164Number,
        disposition: Disposition,
        accepted: bool,
        talk_ms: i64,
        cents: u32,
    ) -> CallToRate<'a> {
        let accepted_at = accepted.then(|| t(30));
        CallToRate {
            call_id: "c-2",
            disposition,
            technical_drop: false,
            number: Some(n),
            offered_at: t(0),
            accepted_at,
            ended_at: t(30)
                .checked_add(SignedDuration::from_millis(talk_ms))
                .unwrap(),
            billable_limit: None,
            rate: rate(cents),
            covered: Cents(1_000_000),
        }
    }

    fn every_disposition() -> Vec<Disposition> {
        let mut all = vec![
            Disposition::Completed,
            Disposition::Refused,
            Disposition::NotAccepted,
            Disposition::NoAnswer,
            Disposition::Busy,
            Disposition::Failed,
            Disposition::Abandoned,
            Disposition::Interrupted,
            Disposition::Denied(Denial::InvalidNumber),
            Disposition::Denied(Denial::NoInput),
        ];
        all.extend(
            DenyReason::ALL
                .into_iter()
                .map(|r| Disposition::Denied(Denial::Rule(r))),
        );
        all
    }

    #[test]
    fn every_disposition_has_its_charge() {
        let n = number();
        // A 5-minute conversation at 6 cents, accepted or not, normal end.
        for d in every_disposition() {
            for accepted in [true, false] {
                let r = rate_call(&call(&n, d, accepted, 300_000, 6), None);
                let (charge, outcome) = match (d, accepted) {
                    (Disposition::Completed | Disposition::Interrupted, true) => {
                        (30, Outcome::Charged)
                    }
                    (Disposition::Failed, _) => (0, Outcome::Failed),
                    _ => (0, Outcome::NotConnected),
                };
                assert_eq!(r.charge, Cents(charge), "{d} accepted={accepted}");
                assert_eq!(r.outcome, outcome, "{d} accepted={accepted}");
                if charge == 0 {
                    assert_eq!(r.billed_seconds, 0, "{d}");
                }
            }
        }
    }

    #[test]
    fn rounding_edges() {
        let n = number();
        // (talk ms, rate, billed seconds, cents)
        let cases = [
            (0, 6, 0, 0),
            (999, 6, 0, 0),
            (1_000, 6, 1, 0),
            (9_999, 6, 9, 0),
            (10_000, 6, 10, 1),
            (19_999, 6, 19, 1),
            (20_000, 6, 20, 2),
            (59_999, 6, 59, 5),
            (60_000, 6, 60, 6),
            (60_999, 6, 60, 6),
            (61_000, 6, 61, 6),
            (119_999, 6, 119, 11),
            (120_000, 6, 120, 12),
            (3_600_000, 6, 3600, 360),
            (1_000, 21, 1, 0),
            (3_000, 21, 3, 1),
            (59_000, 21, 59, 20),
            (60_000, 21, 60, 21),
            (900_000, 7, 900, 105),
            (900_500, 12, 900, 180),
            (45_000, 9, 45, 6),
            (30_000, 1, 30, 0),
            (60_000, 1, 60, 1),
        ];
        for (ms, cents, secs, charge) in cases {
            let r = rate_call(&call(&n, Disposition::Completed, true, ms, cents), None);
            assert_eq!(r.billed_seconds, secs, "{ms} ms at {cents}");
            assert_eq!(r.charge, Cents(charge), "{ms} ms at {cents}");
            assert_eq!(r.outcome, Outcome::Charged);
        }
    }

    #[test]
    fn technical_drops_in_the_first_ten_seconds_are_free() {
        let n = number();
        // (disposition, driver saw a drop, talk ms, outcome, cents) at 21 c.
        let cases = [
            (
                Disposition::Interrupted,
                false,
                9_000,
                Outcome::DroppedInGrace,
                0,
            ),
            (
                Disposition::Interrupted,
                false,
                10_000,
                Outcome::DroppedInGrace,
                0,
            ),
            (Disposition::Interrupted, false, 10_001, Outcome::Charged, 3),
            (
                Disposition::Interrupted,
                false,
                120_000,
                Outcome::Charged,
                42,
            ),
            (Disposition::Completed, true, 0, Outcome::DroppedInGrace, 0),
            (
                Disposition::Completed,
                true,
                10_000,
                Outcome::DroppedInGrace,
                0,
            ),
            (Disposition::Completed, true, 11_000, Outcome::Charged, 3),
            // An ordinary hangup in the first seconds is charged pro rata.
            (Disposition::Completed, false, 9_000, Outcome::Charged, 3),
            (Disposition::Failed, false, 9_000, Outcome::Failed, 0),
            (Disposition::Failed, true, 600_000, Outcome::Failed, 0),
        ];
        for (d, drop, ms, outcome, cents) in cases {
            let mut c = call(&n, d, true, ms, 21);
            c.technical_drop = drop;
            let r = rate_call(&c, None);
            assert_eq!(r.outcome, outcome, "{d} drop={drop} {ms}");
            assert_eq!(r.charge, Cents(cents), "{d} drop={drop} {ms}");
            assert_eq!(r.dropped, drop || d != Disposition::Completed, "{d}");
        }
    }

    #[test]
    fn a_redial_within_five_minutes_of_a_drop_continues_it() {
        let n = number();
        let other = E164Number::parse("+15551230002").unwrap();
        let prev = |dropped, number| PreviousCall {
            call_id: "c-1",
            number,
            ended_at: t(-300),
            dropped,
        };
        // The redial is offered at t(0): exactly 5 minutes after the drop.
        let c = call(&n, Disposition::Completed, true, 30_000, 6);
        let r = rate_call(&c, Some(&prev(true, &n)));
        assert_eq!(r.continuation_of.as_deref(), Some("c-1"));
        assert_eq!(r.charge, Cents(3), "no first minute: 30 s cost 3 cents");
        // Not after a normal hangup, not to another number, not later.
        assert_eq!(rate_call(&c, Some(&prev(false, &n))).continuation_of, None);
        assert_eq!(
            rate_call(&c, Some(&prev(true, &other))).continuation_of,
            None
        );
        let mut late = prev(true, &n);
        late.ended_at = t(-301);
        assert_eq!(rate_call(&c, Some(&late)).continuation_of, None);
        let mut future = prev(true, &n);
        future.ended_at = t(1);
        assert_eq!(rate_call(&c, Some(&future)).continuation_of, None);
        // A continuation that itself never connects is still free.
        let busy = call(&n, Disposition::Busy, false, 0, 6);
        let r = rate_call(&busy, Some(&prev(true, &n)));
        assert_eq!(
            (r.charge, r.continuation_of.as_deref()),
            (Cents(0), Some("c-1"))
        );
    }

    #[test]
    fn free_calls_and_the_balance_limit() {
        let n = number();
        let mut c = call(&n, Disposition::Completed, true, 600_000, 0);
        c.rate = CappedRate::FREE;
        let r = rate_call(&c, None);
        assert_eq!((r.charge, r.outcome), (Cents(0), Outcome::Free));
        let mut c = call(&n, Disposition::Completed, true, 600_000, 6);
        c.covered = Cents(50);
        let r = rate_call(&c, None);
        assert_eq!(r.charge, Cents(50));
        assert!(r.limited_by_balance);
        c.covered = Cents(-5);
        assert_eq!(rate_call(&c, None).charge, Cents(0));
        let mut c = call(&n, Disposition::Completed, true, 600_000, 6);
        c.billable_limit = Some(Duration::from_secs(120));
        assert_eq!(rate_call(&c, None).charge, Cents(12));
        // Times out of order bill nothing.
        let mut c = call(&n, Disposition::Completed, true, 0, 6);
        c.ended_at = t(0);
        assert_eq!(rate_call(&c, None).outcome, Outcome::NotConnected);
    }

    #[test]
    fn a_stored_record_is_rated_no_longer_than_its_billable_seconds() {
        use crate::callflow::HungUpBy;
        use crate::ids::{FacilityId, PersonId, StationId};
        let cdr = CallDetailRecord {
            id: "cw-1".into(),
            facility_id: FacilityId(1),
            station_id: StationId(1),
            person_id: Some(PersonId(1)),
            number: Some(number()),
            privileged: false,
            disposition: Disposition::Completed,
            hung_up_by: HungUpBy::System,
            offered_at: t(0),
            answered_at: Some(t(20)),
            accepted_at: Some(t(30)),
            // Ended 10:00.9 after acceptance, but the limit was 10:00.
            ended_at: t(630)
                .checked_add(SignedDuration::from_millis(900))
                .unwrap(),
            billable_seconds: 600,
            time_limit_reached: true,
            limit: Some(crate::CallLimit::CallLength),
            blocked_by_called_party: false,
            recording_id: None,
            rate_cents_per_minute: Some(7),
            payer_account_id: None,
            charge_cents: 0,
        };
        let r = rate_cdr(&cdr, false, rate(7), Cents(1000), None);
        assert_eq!((r.billed_seconds, r.charge), (600, Cents(70)));
        let dropped = rate_cdr(&cdr, true, rate(7), Cents(1000), None);
        assert!(dropped.dropped);
        let prev = PreviousCall {
            call_id: &cdr.id,
            number: cdr.number.as_ref().unwrap(),
            ended_at: cdr.ended_at,
            dropped: dropped.dropped,
        };
        let mut redial = cdr.clone();
        redial.id = "cw-2".into();
        redial.offered_at = cdr
            .ended_at
            .checked_add(SignedDuration::from_secs(90))
            .unwrap();
        redial.accepted_at = Some(
            redial
                .offered_at
                .checked_add(SignedDuration::from_secs(20))
                .unwrap(),
        );
        redial.ended_at = redial
            .offered_at
            .checked_add(SignedDuration::from_secs(80))
            .unwrap();
        redial.billable_seconds = 60;
        let r = rate_cdr(&redial, false, rate(7), Cents(1000), Some(&prev));
        assert_eq!(r.continuation_of.as_deref(), Some("cw-1"));
        assert_eq!(r.charge, Cents(7));
    }

    #[test]
    fn allowances() {
        // (balance, rate, announced minutes, limit s, warn at s)
        let cases = [
            (1000, 7, 142, 8571, Some(8511)),
            (1000, 6, 166, 10_000, Some(9940)),
            (6, 6, 1, 60, None),
            (7, 6, 1, 70, Some(10)),
            (5, 6, 0, 50, None),
            (0, 6, 0, 0, None),
            (-10, 6, 0, 0, None),
            (21, 21, 1, 60, None),
        ];
        for (balance, cents, minutes, limit, warn) in cases {
            let a = allowance(Cents(balance), rate(cents)).unwrap();
            assert_eq!(a.announced_minutes, minutes, "{balance} at {cents}");
            assert_eq!(a.limit, Duration::from_secs(limit), "{balance} at {cents}");
            assert_eq!(
                a.warn_at,
                warn.map(Duration::from_secs),
                "{balance} at {cents}"
            );
        }
        assert_eq!(allowance(Cents(1000), CappedRate::FREE), None);
    }

    fn any_disposition() -> impl Strategy<Value = Disposition> {
        proptest::sample::select(every_disposition())
    }

    proptest! {
        #[test]
        fn never_above_the_cap_nor_the_balance(
            d in prop_oneof![3 => Just(Disposition::Completed), 2 => any_disposition()],
            asked in 0u32..100,
            cap in prop_oneof![(1u32..30).prop_map(|c| c * 100), 1u32..3000],
            talk_ms in prop_oneof![0i64..200_000, 0i64..20_000_000],
            accepted in any::<bool>(),
            drop in any::<bool>(),
            covered in prop_oneof![Just(1_000_000i64), -100i64..1_000_000],
        ) {
            let n = number();
            let cap = CapPerMinute::parse_dollars(&format!("0.{cap:04}")).unwrap();
            let mut c = call(&n, d, accepted, talk_ms, 1);
            c.rate = CappedRate::clamped(CentsPerMinute(asked), cap);
            c.technical_drop = drop;
            c.covered = Cents(covered);
            let r = rate_call(&c, None);
            prop_assert!(r.charge >= Cents::ZERO);
            prop_assert!(r.charge <= Cents(covered.max(0)));
            // charge ≤ billed minutes × cap, in hundredths of a cent.
            let charge_units = u128::try_from(r.charge.0).unwrap() * 100 * 60;
            let cap_units = u128::from(r.billed_seconds) * u128::from(cap.hundredths_of_cent());
            prop_assert!(charge_units <= cap_units, "{} > {}", charge_units, cap_units);
            // And billed time never exceeds the conversation.
            prop_assert!(r.billed_seconds * 1000 <= u64::try_from(talk_ms).unwrap());
            if !chargeable(d) || !accepted {
                prop_assert_eq!(r.charge, Cents::ZERO);
            }
        }

        #[test]
        fn what_is_announced_and_allowed_is_covered(
            balance in 0i64..10_000_000,
            cents in 1u32..50,
            overrun_ms in 0i64..2_000,
        ) {
            let a = allowance(Cents(balance), rate(cents)).unwrap();
            let minutes = i64::try_from(a.announced_minutes).unwrap();
            prop_assert!(minutes * i64::from(cents) <= balance);
            // One more minute would not be covered.
            prop_assert!((minutes + 1) * i64::from(cents) > balance);
            // A call running to the limit costs no more than the balance,
            // even before the covered clamp.
            let limit_ms = i64::try_from(a.limit.as_millis()).unwrap();
            let n = number();
            let c = call(&n, Disposition::Completed, true, limit_ms + overrun_ms.min(999), cents);
            let r = rate_call(&c, None);
            prop_assert!(prorate(r.billed_seconds, rate(cents)) <= Cents(balance));
            if let Some(w) = a.warn_at {
                prop_assert_eq!(w + LOW_BALANCE_WARNING, a.limit);
            }
        }

        #[test]
        fn a_drop_and_its_continuation_never_cost_more_than_one_call(
            first_ms in 0i64..3_600_000,
            second_ms in 0i64..3_600_000,
            cents in 0u32..30,
            gap_s in 0i64..=300,
        ) {
            let n = number();
            let mut first = call(&n, Disposition::Interrupted, true, first_ms, cents);
            first.call_id = "c-1";
            let r1 = rate_call(&first, None);
            prop_assert!(r1.dropped);
            let prev = PreviousCall {
                call_id: "c-1",
                number: &n,
                ended_at: first.ended_at,
                dropped: r1.dropped,
            };
            let offered = first.ended_at.checked_add(SignedDuration::from_secs(gap_s)).unwrap();
            let second = CallToRate {
                offered_at: offered,
                accepted_at: Some(offered),
                ended_at: offered.checked_add(SignedDuration::from_millis(second_ms)).unwrap(),
                ..call(&n, Disposition::Completed, true, 0, cents)
            };
            let r2 = rate_call(&second, Some(&prev));
            prop_assert_eq!(r2.continuation_of.as_deref(), Some("c-1"));
            let unbroken = call(&n, Disposition::Completed, true, first_ms + second_ms, cents);
            let whole = rate_call(&unbroken, None);
            prop_assert!(r1.charge.0 + r2.charge.0 <= whole.charge.0);
        }
    }
}
