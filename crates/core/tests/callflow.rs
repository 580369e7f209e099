//! The call flow on a virtual clock: one table of paths (each a script of
//! inputs and the actions and record it must produce), a few focused tests,
//! and property tests over random input sequences.

use std::time::{Duration, Instant};

use callward_core::callflow::{
    Action, CallFlow, CallId, CallRecord, CallSetup, DENY_REASONS, Denial, Digit, Disposition,
    HangupCause, HungUpBy, Leg, Outbound, PinCheck, Prompt, Timeouts,
};
use callward_core::{
    AccountId, CallLimit, Capture, CentsPerMinute, Decision, DenyReason, FacilityId, Language,
    PersonId, PrivilegeBasis, StationId, Terms,
};
use proptest::prelude::*;

/// The one reading of the real clock: an arbitrary origin for virtual time.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary origin; all later times are offsets from it"
)]
fn origin() -> Instant {
    Instant::now()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn recorded(minutes: u64) -> Terms {
    Terms {
        capture: Capture::Recorded,
        rate: CentsPerMinute(21),
        max_duration: secs(minutes * 60),
        payer: Some(AccountId(1)),
        limit: CallLimit::CallLength,
    }
}

fn privileged(minutes: u64) -> Terms {
    Terms {
        capture: Capture::Privileged(PrivilegeBasis {
            number: true,
            person: false,
            station: false,
        }),
        rate: CentsPerMinute(0),
        max_duration: secs(minutes * 60),
        payer: None,
        limit: CallLimit::CallLength,
    }
}

/// One input, applied at the simulation's current time.
#[derive(Debug, Clone)]
enum Step {
    /// Digits pressed on a leg, one after the other.
    Keys(Leg, &'static str),
    /// The leg's prompts played to the end.
    Done(Leg),
    Pin(PinCheck),
    Decide(Decision),
    Out(Outbound),
    Hangup(Leg),
    /// The leg's BYE carried this Q.850 cause.
    HangupQ850(Leg, u16),
    /// The called party's media stops (until then the simulation reports a
    /// packet from each leg every second, as a live line sends them).
    Silence,
    /// The switch is stopping.
    Shutdown,
    /// Let virtual time pass, firing every timer due.
    Wait(u64),
}

use Leg::{Outside, Station};
use Step::*;

/// A flow on a virtual clock, with every action it emitted, timestamped.
struct Sim {
    origin: Instant,
    now: Instant,
    flow: CallFlow,
    log: Vec<(Duration, Action)>,
    /// Whether the called party still sends media.
    outside_media: bool,
}

impl Sim {
    fn new() -> Self {
        Self::with_timeouts(Timeouts::default())
    }

    fn with_timeouts(timeouts: Timeouts) -> Self {
        let origin = origin();
        let setup = CallSetup {
            call_id: CallId::new("call-1"),
            facility: FacilityId(7),
            station: StationId(3),
            language: Language::En,
            offered: origin,
        };
        let now = origin + Duration::from_millis(20);
        let mut sim = Self {
            origin,
            now,
            flow: CallFlow::with_timeouts(now, setup, timeouts),
            log: Vec::new(),
            outside_media: true,
        };
        sim.drain();
        sim
    }

    fn elapsed(&self) -> Duration {
        self.now - self.origin
    }

    fn drain(&mut self) {
        while let Some(action) = self.flow.poll_action() {
            self.log.push((self.elapsed(), action));
        }
    }

    fn step(&mut self, step: &Step) {
        let now = self.now;
        match step {
            Keys(leg, keys) => {
                for c in keys.chars() {
                    let digit = Digit::from_char(c).expect("test digits are DTMF");
                    self.flow.handle_digit(now, *leg, digit);
                    self.drain();
                }
            }
            Done(leg) => self.flow.handle_prompt_finished(now, *leg),
            Pin(check) => self.flow.handle_pin_checked(now, *check),
            Decide(decision) => self.flow.handle_decision(now, decision.clone()),
            Out(event) => self.flow.handle_outbound(now, *event),
            Hangup(leg) => self.flow.handle_hangup(now, *leg),
            HangupQ850(leg, cause) => {
                self.flow
                    .handle_hangup_with(now, *leg, HangupCause::from_q850(Some(*cause)));
            }
            Silence => self.outside_media = false,
            Shutdown => self.flow.handle_shutdown(now),
            Wait(s) => return self.advance(secs(*s)),
        }
        self.drain();
    }

    /// Moves the clock forward by `d`, calling `handle_timeout` at every
    /// deadline on the way, as a driver's timer would, and reporting media
    /// from both legs every second (from the station only once
    /// [`Step::Silence`]).
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        let mut packet = self.now + secs(1);
        loop {
            let timer = self.flow.poll_timeout().filter(|t| *t <= target);
            let media = Some(packet).filter(|p| *p <= target);
            match (timer, media) {
                (Some(t), m) if m.is_none_or(|m| t < m) => {
                    self.now = self.now.max(t);
                    self.flow.handle_timeout(self.now);
                }
                (_, Some(m)) => {
                    self.now = self.now.max(m);
                    if self.outside_media {
                        self.flow.handle_media(self.now, Outside);
                    }
                    self.flow.handle_media(self.now, Station);
                    packet = m + secs(1);
                }
                _ => break,
            }
            self.drain();
        }
        self.now = target;
    }

    fn run(steps: &[Step]) -> Self {
        let mut sim = Self::new();
        for step in steps {
            sim.step(step);
        }
        sim
    }

    /// Every action as a short event string; prompts one event each.
    fn events(&self) -> Vec<String> {
        self.log.iter().flat_map(|(_, a)| events(a)).collect()
    }

    /// When the first event named `name` happened.
    fn at(&self, name: &str) -> Duration {
        self.log
            .iter()
            .find(|(_, a)| events(a).iter().any(|e| e == name))
            .map(|(t, _)| *t)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.events()))
    }

    fn record(&self) -> &CallRecord {
        let finished: Vec<&CallRecord> = self
            .log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Finished(r) => Some(&**r),
                _ => None,
            })
            .collect();
        assert_eq!(
            finished.len(),
            1,
            "Finished exactly once: {:?}",
            self.events()
        );
        assert!(
            matches!(self.log.last(), Some((_, Action::Finished(_)))),
            "Finished is the last action: {:?}",
            self.events()
        );
        finished[0]
    }
}

fn leg_name(leg: Leg) -> &'static str {
    match leg {
        Station => "station",
        Outside => "outside",
    }
}

fn events(action: &Action) -> Vec<String> {
    match action {
        Action::PlayPrompts { leg, prompts, .. } => prompts
            .iter()
            .map(|p| format!("{}:{}", leg_name(*leg), p.name()))
            .collect(),
        Action::StopPrompts { leg } => vec![format!("stop:{}", leg_name(*leg))],
        Action::CheckPin { pin } => vec![format!("check_pin:{}", pin.expose_secret())],
        Action::Authorize { number } => vec![format!("authorize:{}", number.as_str())],
        Action::PlaceOutbound { number } => vec![format!("place:{}", number.as_str())],
        Action::CancelOutbound => vec!["cancel".into()],
        Action::Bridge { capture } => vec![match capture {
            Capture::Recorded => "bridge:recorded".into(),
            Capture::Privileged(_) => "bridge:privileged".into(),
        }],
        Action::Unbridge => vec!["unbridge".into()],
        Action::BlockNumberForFacility { facility, number } => {
            vec![format!("block:{}:{}", facility.0, number.as_str())]
        }
        Action::Hangup { leg } => vec![format!("hangup:{}", leg_name(*leg))],
        Action::Finished(_) => vec!["finished".into()],
        other => vec![format!("{other:?}")],
    }
}

// ---- Scripts ----

const PIN: &str = "246810";
const NUMBER: &str = "+15551230001";

fn valid_pin(language: Language) -> Step {
    Pin(PinCheck::Valid {
        person: PersonId(42),
        language,
    })
}

/// Through a valid PIN and a number entered, waiting for the decision.
fn to_authorize() -> Vec<Step> {
    vec![
        Done(Station),
        Keys(Station, "246810#"),
        valid_pin(Language::En),
        Done(Station),
        Keys(Station, "5551230001#"),
    ]
}

/// Through an allowed decision: ringing.
fn to_ringing(terms: Terms) -> Vec<Step> {
    let mut s = to_authorize();
    s.extend([
        Decide(Decision::Allowed(terms)),
        Done(Station),
        Out(Outbound::Ringing),
        Wait(4),
    ]);
    s
}

/// Through the called party's answer and the notice body: choices playing.
fn to_choices(terms: Terms) -> Vec<Step> {
    let mut s = to_ringing(terms);
    s.extend([Out(Outbound::Answered), Wait(6), Done(Outside)]);
    s
}

/// Through acceptance: bridged.
fn to_bridge(terms: Terms) -> Vec<Step> {
    let mut s = to_choices(terms);
    s.extend([Wait(3), Keys(Outside, "1")]);
    s
}

fn then(mut base: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    base.extend(more);
    base
}

// ---- The table ----

struct Case {
    name: String,
    steps: Vec<Step>,
    disposition: String,
    who: HungUpBy,
    billable: u64,
    /// Events that must happen in this order (others may come between); an
    /// event without arguments matches any (`check_pin` matches
    /// `check_pin:246810`).
    seq: Vec<String>,
    /// Event prefixes that must not happen.
    never: Vec<&'static str>,
    /// Anything else to check.
    check: fn(&Sim),
}

fn case(
    name: &str,
    steps: Vec<Step>,
    disposition: &str,
    who: HungUpBy,
    billable: u64,
    seq: &[&str],
    never: &[&'static str],
) -> Case {
    Case {
        name: name.into(),
        steps,
        disposition: disposition.into(),
        who,
        billable,
        seq: seq.iter().map(|s| (*s).to_owned()).collect(),
        never: never.to_vec(),
        check: |_| {},
    }
}

impl Case {
    fn check(mut self, f: fn(&Sim)) -> Self {
        self.check = f;
        self
    }
}

fn assert_subsequence(name: &str, events: &[String], seq: &[String]) {
    let mut it = events.iter();
    for want in seq {
        assert!(
            it.any(|e| e == want || e.starts_with(&format!("{want}:"))),
            "{name}: expected {want} (in order {seq:?}), got {events:?}"
        );
    }
}

fn run_case(c: &Case) {
    let mut sim = Sim::run(&c.steps);
    assert!(
        sim.flow.is_finished(),
        "{}: not finished: {:?}",
        c.name,
        sim.events()
    );
    let events = sim.events();
    let record = sim.record().clone();
    assert_eq!(
        record.disposition.to_string(),
        c.disposition,
        "{}: {events:?}",
        c.name
    );
    assert_eq!(record.who_hung_up, c.who, "{}", c.name);
    assert_eq!(record.billable_seconds(), c.billable, "{}", c.name);
    assert_subsequence(&c.name, &events, &c.seq);
    for bad in &c.never {
        assert!(
            !events.iter().any(|e| e.starts_with(bad)),
            "{}: {bad} must not happen: {events:?}",
            c.name
        );
    }
    // Every call: both legs released, nothing after Finished, no timers left.
    assert_eq!(sim.flow.poll_timeout(), None, "{}", c.name);
    let len = sim.log.len();
    for step in [
        Keys(Station, "1#"),
        Keys(Outside, "19"),
        Done(Station),
        Done(Outside),
        Out(Outbound::Answered),
        Hangup(Station),
        Hangup(Outside),
        Wait(3600),
    ] {
        sim.step(&step);
    }
    assert_eq!(sim.log.len(), len, "{}: actions after Finished", c.name);
    if let Some(terms) = &record.terms {
        assert!(record.billable <= terms.max_duration, "{}", c.name);
        assert_eq!(record.privileged, terms.privileged(), "{}", c.name);
    }
    assert!(record.ended <= record.released, "{}", c.name);
    (c.check)(&sim);
}

fn table() -> Vec<Case> {
    use HungUpBy::{Outside as ByOutside, Station as ByStation, System};
    let mut cases = vec![
        case(
            "completed recorded call",
            then(to_bridge(recorded(15)), [Wait(120), Hangup(Station)]),
            "completed",
            ByStation,
            120,
            &[
                "station:pin_prompt",
                "check_pin:246810",
                "station:number_prompt",
                "authorize:+15551230001",
                "station:you_have",
                "station:num_15",
                "station:minutes",
                "station:please_wait",
                "place:+15551230001",
                "outside:notice_intro",
                "outside:facility_name",
                "outside:notice_recorded",
                "outside:notice_choices",
                "bridge:recorded",
                "station:connected",
                "unbridge",
                "hangup:outside",
                "finished",
            ],
            &[
                "bridge:privileged",
                "outside:notice_not_recorded",
                "cancel",
                "hangup:station",
            ],
        )
        .check(|sim| {
            let r = sim.record();
            assert!(r.recorded && !r.privileged);
            assert_eq!(r.person, Some(PersonId(42)));
            assert_eq!(r.dialled.as_ref().map(|n| n.as_str()), Some(NUMBER));
            assert_eq!(r.station, StationId(3));
            assert_eq!(r.facility, FacilityId(7));
            assert_eq!(r.offered, sim.origin);
            assert_eq!(
                r.since_offered(r.station_answered),
                Duration::from_millis(20)
            );
            let answered = r.answered.expect("answered");
            let accepted = r.accepted.expect("accepted");
            assert!(r.offered < answered && answered < accepted && accepted < r.ended);
            assert_eq!(accepted - answered, secs(9));
            assert_eq!(r.ended - accepted, secs(120));
            assert!(!r.time_limit_reached && !r.blocked_by_called_party);
        }),
        case(
            "privileged call: not-recorded notice, privileged bridge",
            then(to_bridge(privileged(30)), [Wait(600), Hangup(Outside)]),
            "completed",
            ByOutside,
            600,
            &[
                "station:num_30",
                "outside:notice_intro",
                "outside:facility_name",
                "outside:notice_not_recorded",
                "outside:notice_choices",
                "bridge:privileged",
                "unbridge",
                "hangup:station",
                "finished",
            ],
            &["bridge:recorded", "outside:notice_recorded"],
        )
        .check(|sim| {
            let r = sim.record();
            assert!(r.privileged && !r.recorded);
        }),
        case(
            "wrong PIN three times",
            vec![
                Done(Station),
                Keys(Station, "111111#"),
                Pin(PinCheck::Invalid),
                Keys(Station, "222222#"),
                Pin(PinCheck::Invalid),
                Done(Station),
                Keys(Station, "333333#"),
                Pin(PinCheck::Invalid),
                Done(Station),
            ],
            "denied:unknown_pin",
            System,
            0,
            &[
                "station:pin_prompt",
                "check_pin:111111",
                "station:pin_invalid",
                "station:pin_prompt",
                "stop:station",
                "check_pin:222222",
                "station:pin_invalid",
                "station:pin_prompt",
                "check_pin:333333",
                "station:pin_invalid",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["authorize", "place", "station:number_prompt"],
        ),
        case(
            "two wrong PINs, then a right one",
            then(
                vec![
                    Keys(Station, "111111#"),
                    Pin(PinCheck::Invalid),
                    Keys(Station, "222222#"),
                    Pin(PinCheck::Invalid),
                    Keys(Station, "246810#"),
                    valid_pin(Language::En),
                    Keys(Station, "5551230001#"),
                ],
                [
                    Decide(Decision::Denied {
                        reason: DenyReason::NotApproved,
                    }),
                    Done(Station),
                ],
            ),
            "denied:not_approved",
            System,
            0,
            &[
                "check_pin:246810",
                "station:number_prompt",
                "authorize:+15551230001",
            ],
            &["place"],
        ),
        case(
            "locked PIN",
            vec![
                Keys(Station, "246810#"),
                Pin(PinCheck::Locked),
                Done(Station),
            ],
            "denied:pin_locked",
            System,
            0,
            &[
                "check_pin",
                "station:pin_locked",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["authorize", "station:pin_invalid"],
        ),
        case(
            "empty PIN entries count as wrong PINs without a lookup",
            vec![
                Keys(Station, "#"),
                Keys(Station, "#"),
                Keys(Station, "#"),
                Done(Station),
            ],
            "denied:unknown_pin",
            System,
            0,
            &[
                "station:pin_invalid",
                "station:pin_invalid",
                "station:goodbye",
                "hangup:station",
            ],
            &["check_pin"],
        ),
        case(
            "PIN longer than any facility's is wrong without a lookup",
            vec![
                Keys(Station, "1234567890123#"),
                Keys(Station, "12345678901234567890#"),
                Keys(Station, "#"),
                Wait(60),
            ],
            "denied:unknown_pin",
            System,
            0,
            &["station:pin_invalid", "station:goodbye", "hangup:station"],
            &["check_pin"],
        ),
        case(
            "silence through three PIN prompts",
            vec![
                Done(Station),
                Wait(10),
                Done(Station),
                Wait(10),
                Done(Station),
                Wait(10),
                Done(Station),
            ],
            "denied:no_input",
            System,
            0,
            &[
                "station:pin_prompt",
                "station:pin_prompt",
                "station:pin_prompt",
                "station:goodbye",
                "hangup:station",
            ],
            &["check_pin"],
        )
        .check(|sim| {
            // Re-prompted 10 s after each prompt ended, not before.
            let r = sim.record();
            assert_eq!(r.ended - r.station_answered, secs(30));
        }),
        case(
            "three invalid numbers",
            vec![
                Keys(Station, "246810#"),
                valid_pin(Language::En),
                Keys(Station, "555#"),
                Keys(Station, "0551230001#"),
                Keys(Station, "25551230001#"),
                Done(Station),
            ],
            "denied:invalid_number",
            System,
            0,
            &[
                "station:number_invalid",
                "station:number_prompt",
                "station:number_invalid",
                "station:number_prompt",
                "station:number_invalid",
                "station:goodbye",
                "hangup:station",
            ],
            &["authorize"],
        )
        .check(|sim| assert_eq!(sim.record().dialled, None)),
        case(
            "zero balance",
            then(
                to_authorize(),
                [
                    Decide(Decision::Denied {
                        reason: DenyReason::InsufficientBalance,
                    }),
                    Done(Station),
                ],
            ),
            "denied:insufficient_balance",
            System,
            0,
            &[
                "authorize:+15551230001",
                "station:denied_insufficient_balance",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["place", "station:you_have"],
        ),
        case(
            "called party refuses (2)",
            then(
                to_choices(recorded(15)),
                [Keys(Outside, "2"), Done(Outside), Done(Station)],
            ),
            "refused",
            ByOutside,
            0,
            &[
                "outside:notice_choices",
                "station:refused",
                "station:goodbye",
                "outside:goodbye",
                "hangup:outside",
                "hangup:station",
                "finished",
            ],
            &["bridge", "block"],
        )
        .check(|sim| assert!(!sim.record().blocked_by_called_party)),
        case(
            "called party blocks (9, 9)",
            then(
                to_choices(recorded(15)),
                [
                    Keys(Outside, "9"),
                    Done(Outside),
                    Keys(Outside, "9"),
                    Wait(60),
                ],
            ),
            "refused",
            ByOutside,
            0,
            &[
                "outside:block_confirm",
                "block:7:+15551230001",
                "station:refused",
                "outside:blocked_confirmed",
                "outside:goodbye",
                "hangup:station",
                "hangup:outside",
                "finished",
            ],
            &["bridge"],
        )
        .check(|sim| assert!(sim.record().blocked_by_called_party)),
        case(
            "9 then another key goes back to the choices",
            then(
                to_choices(recorded(15)),
                [
                    Keys(Outside, "93"),
                    Done(Outside),
                    Keys(Outside, "1"),
                    Wait(30),
                    Hangup(Station),
                ],
            ),
            "completed",
            ByStation,
            30,
            &[
                "outside:notice_choices",
                "outside:block_confirm",
                "stop:outside",
                "outside:notice_choices",
                "bridge:recorded",
            ],
            &["block"],
        ),
        case(
            "9 then 1 does not accept: back to the choices",
            then(
                to_choices(recorded(15)),
                [Keys(Outside, "91"), Done(Outside), Wait(20), Wait(60)],
            ),
            "not_accepted",
            System,
            0,
            &[
                "outside:block_confirm",
                "outside:notice_choices",
                "station:not_accepted",
            ],
            &["bridge", "block"],
        ),
        case(
            "9 and no confirmation in 10 s goes back to the choices",
            then(
                to_choices(recorded(15)),
                [
                    Done(Outside),
                    Keys(Outside, "9"),
                    Done(Outside),
                    Wait(10),
                    Keys(Outside, "1"),
                    Hangup(Outside),
                ],
            ),
            "completed",
            ByOutside,
            0,
            &[
                "outside:block_confirm",
                "outside:notice_choices",
                "bridge:recorded",
            ],
            &["block"],
        )
        .check(|sim| {
            let block = sim.at("outside:block_confirm");
            let second_choices = sim
                .log
                .iter()
                .filter(|(_, a)| events(a).iter().any(|e| e == "outside:notice_choices"))
                .nth(1)
                .map(|(t, _)| *t)
                .expect("choices again");
            assert_eq!(second_choices - block, secs(10));
        }),
        case(
            "backing out of a block three times is not accepted",
            then(
                to_choices(recorded(15)),
                [
                    Keys(Outside, "93"),
                    Keys(Outside, "93"),
                    Keys(Outside, "93"),
                    Done(Station),
                    Done(Outside),
                ],
            ),
            "not_accepted",
            System,
            0,
            &[
                "outside:block_confirm",
                "outside:block_confirm",
                "station:not_accepted",
                "outside:goodbye",
            ],
            &["bridge", "block"],
        ),
        case(
            "no choice in 20 s",
            then(
                to_choices(recorded(15)),
                [
                    Done(Outside),
                    Wait(19),
                    Keys(Outside, "5"),
                    Wait(1),
                    Done(Station),
                    Done(Outside),
                ],
            ),
            "not_accepted",
            System,
            0,
            &[
                "outside:notice_choices",
                "station:not_accepted",
                "station:goodbye",
                "outside:goodbye",
                "finished",
            ],
            &["bridge"],
        )
        .check(|sim| {
            let r = sim.record();
            // Answered, 6 s of notice, then 20 s from the end of the choices.
            assert_eq!(r.ended - r.answered.expect("answered"), secs(26));
        }),
        case(
            "choices prompt never reported finished: the guard ends it",
            then(
                to_ringing(recorded(15)),
                [Out(Outbound::Answered), Wait(60 + 60 + 20), Wait(60)],
            ),
            "not_accepted",
            System,
            0,
            &[
                "outside:notice_recorded",
                "stop:outside",
                "outside:notice_choices",
                "station:not_accepted",
            ],
            &["bridge"],
        ),
        case(
            "no answer in 45 s",
            then(
                to_authorize(),
                [
                    Decide(Decision::Allowed(recorded(15))),
                    Wait(44),
                    Out(Outbound::Ringing),
                    Wait(1),
                    Done(Station),
                ],
            ),
            "no_answer",
            System,
            0,
            &[
                "place:+15551230001",
                "cancel",
                "station:no_answer",
                "station:goodbye",
                "hangup:station",
            ],
            &["outside:", "bridge"],
        )
        .check(|sim| assert_eq!(sim.at("cancel") - sim.at("place:+15551230001"), secs(45))),
        case(
            "trunk reports no answer (480)",
            then(
                to_ringing(recorded(15)),
                [
                    Out(Outbound::from_status(480).expect("event")),
                    Done(Station),
                ],
            ),
            "no_answer",
            ByOutside,
            0,
            &["station:no_answer", "station:goodbye", "hangup:station"],
            &["cancel", "bridge"],
        ),
        case(
            "busy",
            then(
                to_ringing(recorded(15)),
                [Out(Outbound::Busy), Done(Station)],
            ),
            "busy",
            ByOutside,
            0,
            &[
                "place",
                "station:busy",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["cancel", "bridge", "outside:"],
        ),
        case(
            "outbound failure",
            then(
                to_ringing(recorded(15)),
                [Out(Outbound::Failed { status: Some(503) }), Done(Station)],
            ),
            "failed",
            ByOutside,
            0,
            &[
                "place",
                "station:call_failed",
                "station:goodbye",
                "hangup:station",
            ],
            &["cancel", "bridge"],
        ),
        case(
            "caller hangs up during PIN entry",
            vec![Keys(Station, "24"), Hangup(Station)],
            "abandoned",
            ByStation,
            0,
            &["station:pin_prompt", "stop:station", "finished"],
            &["check_pin", "hangup:"],
        ),
        case(
            "caller hangs up while the PIN is checked",
            vec![
                Keys(Station, "246810#"),
                Hangup(Station),
                valid_pin(Language::En),
            ],
            "abandoned",
            ByStation,
            0,
            &["check_pin", "finished"],
            &["hangup:", "station:number_prompt"],
        ),
        case(
            "caller hangs up while ringing",
            then(to_ringing(recorded(15)), [Hangup(Station)]),
            "no_answer",
            ByStation,
            0,
            &["place", "cancel", "finished"],
            &["hangup:", "station:no_answer"],
        ),
        case(
            "caller hangs up during the notice",
            then(
                to_ringing(recorded(15)),
                [Out(Outbound::Answered), Wait(2), Hangup(Station)],
            ),
            "not_accepted",
            ByStation,
            0,
            &["outside:notice_intro", "hangup:outside", "finished"],
            &["bridge", "hangup:station", "cancel"],
        ),
        case(
            "called party hangs up during the notice",
            then(
                to_ringing(recorded(15)),
                [
                    Out(Outbound::Answered),
                    Wait(2),
                    Hangup(Outside),
                    Done(Station),
                ],
            ),
            "not_accepted",
            ByOutside,
            0,
            &[
                "station:not_accepted",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["bridge", "hangup:outside"],
        ),
        case(
            "called party hangs up after the bridge",
            then(to_bridge(recorded(15)), [Wait(90), Hangup(Outside)]),
            "completed",
            ByOutside,
            90,
            &["bridge:recorded", "unbridge", "hangup:station", "finished"],
            &["hangup:outside", "station:one_minute_warning"],
        ),
        case(
            "time limit, warned a minute before",
            then(
                to_bridge(recorded(5)),
                [
                    Wait(239),
                    Wait(1),
                    Wait(59),
                    Wait(1),
                    Done(Station),
                    Done(Outside),
                ],
            ),
            "completed",
            System,
            300,
            &[
                "bridge:recorded",
                "station:one_minute_warning",
                "outside:one_minute_warning",
                "unbridge",
                "station:time_limit",
                "outside:time_limit",
                "hangup:station",
                "hangup:outside",
                "finished",
            ],
            &[],
        )
        .check(|sim| {
            let bridge = sim.at("bridge:recorded");
            assert_eq!(sim.at("station:one_minute_warning") - bridge, secs(240));
            assert_eq!(sim.at("outside:one_minute_warning") - bridge, secs(240));
            assert_eq!(sim.at("unbridge") - bridge, secs(300));
            assert!(sim.record().time_limit_reached);
            assert_eq!(sim.record().limit, Some(CallLimit::CallLength));
        }),
        case(
            "a one-minute call gets no warning, only the limit",
            then(to_bridge(recorded(1)), [Wait(70), Wait(60)]),
            "completed",
            System,
            60,
            &[
                "station:num_1",
                "station:minute",
                "bridge:recorded",
                "unbridge",
                "station:time_limit",
            ],
            &["station:one_minute_warning", "station:minutes"],
        ),
        case(
            "type-ahead: PIN over the prompt, number while the PIN is checked",
            vec![
                Keys(Station, "246810#5551230001#"),
                valid_pin(Language::Es),
                Decide(Decision::Allowed(recorded(15))),
                Hangup(Station),
            ],
            "no_answer",
            ByStation,
            0,
            &[
                "station:pin_prompt",
                "stop:station",
                "check_pin:246810",
                "authorize:+15551230001",
                "place",
                "cancel",
            ],
            &["station:number_prompt"],
        )
        .check(|sim| {
            // After the PIN, prompts are in the person's language.
            let languages: Vec<Language> = sim
                .log
                .iter()
                .filter_map(|(_, a)| match a {
                    Action::PlayPrompts { language, .. } => Some(*language),
                    _ => None,
                })
                .collect();
            assert_eq!(languages, [Language::En, Language::Es]);
            assert_eq!(sim.record().language, Language::Es);
        }),
        case(
            "type-ahead over the number prompt; * clears; 1 + ten digits",
            then(
                vec![
                    Keys(Station, "246810#"),
                    valid_pin(Language::En),
                    Keys(Station, "99*15551230001#"),
                ],
                [
                    Decide(Decision::Allowed(recorded(15))),
                    Out(Outbound::Busy),
                    Done(Station),
                ],
            ),
            "busy",
            ByOutside,
            0,
            &[
                "station:number_prompt",
                "stop:station",
                "authorize:+15551230001",
            ],
            &["station:number_invalid"],
        ),
        case(
            "inter-digit timeout takes the digits as entered",
            vec![
                Keys(Station, "246810"),
                Wait(5),
                Pin(PinCheck::Locked),
                Wait(60),
            ],
            "denied:pin_locked",
            System,
            0,
            &["check_pin:246810", "station:pin_locked", "hangup:station"],
            &[],
        ),
        case(
            "driver never answers the PIN check",
            vec![Keys(Station, "246810#"), Wait(15), Done(Station)],
            "failed",
            System,
            0,
            &[
                "check_pin",
                "station:call_failed",
                "station:goodbye",
                "hangup:station",
            ],
            &["authorize"],
        ),
        case(
            "driver never answers the authorisation",
            then(to_authorize(), [Wait(15), Done(Station)]),
            "failed",
            System,
            0,
            &["authorize", "station:call_failed", "hangup:station"],
            &["place"],
        ),
        case(
            "called party's digits during the notice body are not a choice",
            then(
                to_ringing(recorded(15)),
                [
                    Out(Outbound::Answered),
                    Keys(Outside, "1"),
                    Keys(Outside, "2"),
                    Done(Outside),
                    Keys(Outside, "1"),
                    Hangup(Station),
                ],
            ),
            "completed",
            ByStation,
            0,
            &[
                "outside:notice_recorded",
                "outside:notice_choices",
                "bridge:recorded",
            ],
            &["station:refused"],
        ),
        case(
            "duplicate and out-of-place events are ignored",
            then(
                to_ringing(recorded(15)),
                [
                    Out(Outbound::Answered),
                    Out(Outbound::Answered),
                    Out(Outbound::Busy),
                    Decide(Decision::Allowed(privileged(15))),
                    valid_pin(Language::Es),
                    Keys(Station, "123#"),
                    Done(Outside),
                    Keys(Outside, "1"),
                    Out(Outbound::Ringing),
                    Hangup(Station),
                    Hangup(Station),
                ],
            ),
            "completed",
            ByStation,
            0,
            &[
                "outside:notice_recorded",
                "bridge:recorded",
                "unbridge",
                "hangup:outside",
            ],
            &["bridge:privileged", "station:busy"],
        )
        .check(|sim| {
            let notices = sim
                .events()
                .iter()
                .filter(|e| *e == "outside:notice_intro")
                .count();
            assert_eq!(notices, 1);
            assert_eq!(sim.record().language, Language::En);
        }),
        case(
            "caller hangs up during the goodbye prompt",
            then(
                to_authorize(),
                [
                    Decide(Decision::Denied {
                        reason: DenyReason::NotApproved,
                    }),
                    Hangup(Station),
                ],
            ),
            "denied:not_approved",
            System,
            0,
            &["station:denied_not_approved", "finished"],
            &["hangup:"],
        ),
        case(
            "shutdown during PIN entry: interrupted, station hung up at once",
            vec![Done(Station), Keys(Station, "24"), Shutdown],
            "interrupted",
            System,
            0,
            &["station:pin_prompt", "hangup:station", "finished"],
            &["check_pin", "station:goodbye", "cancel"],
        ),
        case(
            "shutdown while ringing: the outbound INVITE is cancelled",
            then(to_ringing(recorded(15)), [Shutdown]),
            "interrupted",
            System,
            0,
            &["place:+15551230001", "cancel", "hangup:station", "finished"],
            &["station:goodbye", "station:call_failed"],
        ),
        case(
            "shutdown during a bridged call: both legs hung up, time billed",
            then(to_bridge(recorded(15)), [Wait(42), Shutdown]),
            "interrupted",
            System,
            42,
            &[
                "bridge:recorded",
                "unbridge",
                "hangup:station",
                "hangup:outside",
                "finished",
            ],
            &["station:goodbye", "outside:goodbye", "station:time_limit"],
        ),
        case(
            "shutdown during the time-limit goodbye keeps the disposition",
            then(to_bridge(recorded(1)), [Wait(60), Shutdown]),
            "completed",
            System,
            60,
            &[
                "station:time_limit",
                "outside:time_limit",
                "hangup:outside",
                "hangup:station",
                "finished",
            ],
            &[],
        )
        .check(|sim| assert!(sim.record().time_limit_reached)),
        case(
            "the money runs out: both sides hear it is the balance, the record says so",
            then(
                to_bridge(Terms {
                    limit: CallLimit::Balance,
                    ..recorded(3)
                }),
                [
                    Wait(119),
                    Wait(1),
                    Wait(59),
                    Wait(1),
                    Done(Station),
                    Done(Outside),
                ],
            ),
            "completed",
            System,
            180,
            &[
                "bridge:recorded",
                "station:balance_warning",
                "outside:balance_warning",
                "unbridge",
                "station:balance_spent",
                "outside:balance_spent",
                "hangup:station",
                "hangup:outside",
                "finished",
            ],
            &["station:one_minute_warning", "station:time_limit"],
        )
        .check(|sim| {
            assert!(sim.record().time_limit_reached);
            assert_eq!(sim.record().limit, Some(CallLimit::Balance));
        }),
        case(
            "calling hours end: the time-limit prompts, the record names the hours",
            then(
                to_bridge(Terms {
                    limit: CallLimit::CallingHours,
                    ..recorded(2)
                }),
                [Wait(60), Wait(60), Done(Station), Done(Outside)],
            ),
            "completed",
            System,
            120,
            &[
                "station:one_minute_warning",
                "station:time_limit",
                "finished",
            ],
            &["station:balance_warning", "station:balance_spent"],
        )
        .check(|sim| assert_eq!(sim.record().limit, Some(CallLimit::CallingHours))),
        case(
            "the trunk drops the line (BYE, Q.850 cause 41) 5 s after acceptance: failed",
            then(
                to_bridge(recorded(15)),
                [Wait(5), HangupQ850(Outside, 41), Done(Station)],
            ),
            "failed",
            ByOutside,
            5,
            &[
                "bridge:recorded",
                "unbridge",
                "station:call_failed",
                "station:goodbye",
                "hangup:station",
                "finished",
            ],
            &["hangup:outside", "outside:call_failed"],
        )
        .check(|sim| {
            let r = sim.record();
            assert!(r.accepted.is_some());
            assert!(!r.time_limit_reached && r.limit.is_none());
        }),
        case(
            "a BYE with Q.850 cause 16 (normal clearing) is a hangup",
            then(to_bridge(recorded(15)), [Wait(5), HangupQ850(Outside, 16)]),
            "completed",
            ByOutside,
            5,
            &["bridge:recorded", "unbridge", "hangup:station", "finished"],
            &["station:call_failed"],
        ),
        case(
            "the station's gateway drops the line (cause 38): failed, the called party told",
            then(
                to_bridge(recorded(15)),
                [Wait(30), HangupQ850(Station, 38), Done(Outside)],
            ),
            "failed",
            ByStation,
            30,
            &[
                "unbridge",
                "outside:call_failed",
                "outside:goodbye",
                "hangup:outside",
                "finished",
            ],
            &["hangup:station"],
        ),
        case(
            "a failure cause before acceptance is an ordinary hangup (not accepted)",
            then(
                to_choices(recorded(15)),
                [HangupQ850(Outside, 41), Done(Station)],
            ),
            "not_accepted",
            ByOutside,
            0,
            &["station:not_accepted", "finished"],
            &["bridge"],
        ),
        case(
            "the called party's media stops: failed 20 s later, the switch hangs up both legs",
            then(
                to_bridge(recorded(15)),
                [Wait(30), Silence, Wait(19), Wait(1), Done(Station)],
            ),
            "failed",
            System,
            50,
            &[
                "bridge:recorded",
                "unbridge",
                "station:call_failed",
                "station:goodbye",
                "hangup:outside",
                "hangup:station",
                "finished",
            ],
            &["outside:call_failed", "station:time_limit"],
        )
        .check(|sim| {
            // Ended by the timer exactly 20 s after the last packet.
            let r = sim.record();
            let accepted = r.accepted.expect("accepted");
            assert_eq!(r.ended - accepted, secs(50));
            assert_eq!(sim.at("unbridge") - sim.at("bridge:recorded"), secs(50));
        }),
        case(
            "a silent line that was never heard after acceptance fails too",
            then(
                to_choices(recorded(15)),
                [
                    Silence,
                    Wait(3),
                    Keys(Outside, "1"),
                    Wait(20),
                    Done(Station),
                ],
            ),
            "failed",
            System,
            20,
            &["bridge:recorded", "hangup:outside", "finished"],
            &[],
        ),
    ];
    // Each denial: its own prompt, then goodbye and hangup.
    for reason in DENY_REASONS {
        let code = reason.code();
        let mut c = case(
            "denial",
            then(
                to_authorize(),
                [Decide(Decision::Denied { reason }), Done(Station)],
            ),
            &format!("denied:{code}"),
            System,
            0,
            &[],
            &["place", "station:you_have"],
        );
        c.name = format!("denied {code}");
        c.seq = vec![
            "authorize:+15551230001".into(),
            format!("station:denied_{code}"),
            "station:goodbye".into(),
            "hangup:station".into(),
            "finished".into(),
        ];
        cases.push(c);
    }
    cases
}

#[test]
fn every_path() {
    let cases = table();
    assert!(cases.len() > 45);
    for c in &cases {
        run_case(c);
    }
}

// ---- Focused tests ----

#[test]
fn q850_failure_causes() {
    for cause in HangupCause::Q850_FAILURES {
        assert_eq!(
            HangupCause::from_q850(Some(cause)),
            HangupCause::Failure,
            "{cause}"
        );
    }
    // Normal clearing, busy, no answer, call rejected, normal unspecified,
    // and no cause at all are hangups.
    for cause in [Some(16), Some(17), Some(19), Some(21), Some(31), None] {
        assert_eq!(
            HangupCause::from_q850(cause),
            HangupCause::Normal,
            "{cause:?}"
        );
    }
}

#[test]
fn no_media_timeout_when_it_is_off_and_media_keeps_a_call_up() {
    // Off: a silent line runs to its limit.
    let mut off = Timeouts::default();
    off.media_inactivity = None;
    let mut sim = Sim::with_timeouts(off);
    for step in then(to_bridge(recorded(2)), [Silence, Wait(120)]) {
        sim.step(&step);
    }
    assert!(sim.events().iter().any(|e| e == "station:time_limit"));
    assert!(!sim.events().iter().any(|e| e == "station:call_failed"));
    // On, with the called party's packets arriving: a long call is not cut.
    let mut sim = Sim::new();
    for step in then(to_bridge(recorded(15)), [Wait(600)]) {
        sim.step(&step);
    }
    assert!(!sim.flow.is_finished(), "{:?}", sim.events());
    // A shorter timeout is honoured to the second.
    let mut five = Timeouts::default();
    five.media_inactivity = Some(secs(5));
    let mut sim = Sim::with_timeouts(five);
    for step in then(to_bridge(recorded(15)), [Wait(10), Silence, Wait(4)]) {
        sim.step(&step);
    }
    assert!(!sim.flow.is_finished());
    sim.step(&Wait(1));
    assert!(sim.events().iter().any(|e| e == "hangup:outside"));
}

#[test]
fn every_step_has_a_deadline_until_finished() {
    let mut sim = Sim::new();
    for step in to_bridge(recorded(15)) {
        assert!(sim.flow.poll_timeout().is_some(), "{step:?}");
        sim.step(&step);
    }
    assert!(sim.flow.poll_timeout().is_some());
    sim.step(&Hangup(Station));
    assert_eq!(sim.flow.poll_timeout(), None);
}

#[test]
fn first_digit_wait_starts_when_the_prompt_ends() {
    let mut sim = Sim::new();
    sim.step(&Wait(30));
    // The prompt still plays (nothing reported): no re-prompt yet.
    assert_eq!(sim.events(), ["station:pin_prompt"]);
    sim.step(&Done(Station));
    sim.step(&Wait(9));
    assert_eq!(sim.events().len(), 1);
    sim.step(&Wait(1));
    assert_eq!(sim.events(), ["station:pin_prompt", "station:pin_prompt"]);
}

#[test]
fn capture_is_known_once_allowed() {
    let mut sim = Sim::run(&to_authorize());
    assert_eq!(sim.flow.capture(), None);
    sim.step(&Decide(Decision::Allowed(privileged(10))));
    assert!(matches!(sim.flow.capture(), Some(Capture::Privileged(_))));
    assert_eq!(sim.flow.call_id().as_str(), "call-1");
}

#[test]
fn pin_is_redacted_in_debug() {
    let sim = Sim::run(&[Keys(Station, "246810#")]);
    let debug = format!("{:?}", sim.log);
    assert!(debug.contains("CheckPin"));
    assert!(!debug.contains(PIN), "{debug}");
    let sim = Sim::run(&to_authorize());
    let debug = format!("{:?}", sim.log);
    assert!(!debug.contains("5551230001"), "{debug}");
}

#[test]
fn minutes_are_spoken_with_the_prompt_rules() {
    let say = |s: u64| -> Vec<&'static str> {
        Prompt::minutes_available(s)
            .iter()
            .map(|p| p.name())
            .collect()
    };
    assert_eq!(say(15 * 60 + 59), ["you_have", "num_15", "minutes"]);
    assert_eq!(say(60), ["you_have", "num_1", "minute"]);
    assert_eq!(say(59), ["you_have", "num_0", "minutes"]);
    assert_eq!(say(100 * 60), ["you_have", "num_100", "minutes"]);
    assert_eq!(
        say(105 * 60),
        ["you_have", "hundreds_1", "num_5", "minutes"]
    );
    assert_eq!(say(200 * 60), ["you_have", "hundreds_2", "minutes"]);
    assert_eq!(say(600 * 60), ["you_have", "hundreds_6", "minutes"]);
    assert_eq!(
        say(u64::MAX),
        ["you_have", "hundreds_9", "num_99", "minutes"]
    );
}

#[test]
fn prompt_names_are_unique_and_complete() {
    let names: Vec<&str> = Prompt::catalogue().iter().map(|p| p.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate prompt names");
    for fixed in [
        "pin_prompt",
        "pin_invalid",
        "pin_locked",
        "number_prompt",
        "number_invalid",
        "you_have",
        "num_0",
        "num_99",
        "num_100",
        "hundreds_1",
        "hundreds_9",
        "hundred",
        "minutes",
        "minute",
        "please_wait",
        "busy",
        "no_answer",
        "call_failed",
        "not_accepted",
        "refused",
        "one_minute_warning",
        "time_limit",
        "goodbye",
        "notice_intro",
        "facility_name",
        "notice_recorded",
        "notice_not_recorded",
        "notice_choices",
        "block_confirm",
        "blocked_confirmed",
        "connected",
        "balance_warning",
        "balance_spent",
    ] {
        assert!(names.contains(&fixed), "{fixed}");
    }
    for reason in DENY_REASONS {
        assert!(names.contains(&format!("denied_{}", reason.code()).as_str()));
    }
    // 5 entry + 15 denials + you_have + 101 numbers + 9 hundreds + 22 others.
    assert_eq!(names.len(), 153);
}

/// The audio under `prompts/` must cover every prompt the flow plays
/// (`facility_name` stands for the facility's own `facility_<name>`).
#[test]
fn every_prompt_has_audio_in_both_languages() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    for language in ["en", "es"] {
        for prompt in Prompt::catalogue() {
            if prompt == Prompt::FacilityName {
                continue;
            }
            let file = root.join(language).join(format!("{}.al", prompt.name()));
            assert!(file.is_file(), "missing {}", file.display());
        }
    }
}

#[test]
fn dispositions_round_trip_through_their_stored_form() {
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
    all.extend(DENY_REASONS.map(|r| Disposition::Denied(Denial::Rule(r))));
    for d in all {
        let s = d.to_string();
        assert_eq!(s.parse::<Disposition>(), Ok(d), "{s}");
    }
    assert_eq!(Disposition::NotAccepted.to_string(), "not_accepted");
    assert_eq!(
        Disposition::Denied(Denial::Rule(DenyReason::InsufficientBalance)).to_string(),
        "denied:insufficient_balance"
    );
    for bad in ["", "denied:", "denied:nope", "Completed", "completed "] {
        assert!(bad.parse::<Disposition>().is_err(), "{bad:?}");
    }
    assert_eq!(HungUpBy::System.to_string(), "system");
}

#[test]
fn outbound_statuses_map_to_events() {
    assert_eq!(Outbound::from_status(100), None);
    assert_eq!(Outbound::from_status(180), Some(Outbound::Ringing));
    assert_eq!(Outbound::from_status(183), Some(Outbound::Ringing));
    assert_eq!(Outbound::from_status(200), Some(Outbound::Answered));
    assert_eq!(Outbound::from_status(486), Some(Outbound::Busy));
    assert_eq!(Outbound::from_status(600), Some(Outbound::Busy));
    assert_eq!(Outbound::from_status(480), Some(Outbound::NoAnswer));
    assert_eq!(Outbound::from_status(408), Some(Outbound::NoAnswer));
    assert_eq!(
        Outbound::from_status(503),
        Some(Outbound::Failed { status: Some(503) })
    );
    assert_eq!(Outbound::from_status(700), None);
}

#[test]
fn digits_round_trip_through_characters() {
    for d in Digit::ALL {
        assert_eq!(Digit::from_char(d.as_char()), Some(d));
    }
    assert_eq!(Digit::from_char('a'), Some(Digit::A));
    assert_eq!(Digit::from_char('x'), None);
    assert_eq!(Digit::D7.decimal(), Some('7'));
    assert_eq!(Digit::Pound.decimal(), None);
}

// ---- Property tests ----

#[derive(Debug, Clone)]
enum Input {
    Digit(Leg, Digit),
    PromptDone(Leg),
    Pin(u8),
    Decide {
        allow: bool,
        privileged: bool,
        reason: usize,
        max_secs: u64,
    },
    Out(u8),
    Hangup(Leg),
    HangupQ850(Leg, u16),
    Media(Leg),
    /// Advance the clock by this many ms, then call handle_timeout.
    Tick(u32),
    /// Jump to the flow's next deadline and fire it.
    NextTimer,
}

fn leg() -> impl Strategy<Value = Leg> {
    prop_oneof![Just(Station), Just(Outside)]
}

fn input(always_privileged: bool) -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (leg(), 0..16usize).prop_map(|(l, i)| Input::Digit(l, Digit::ALL[i])),
        3 => leg().prop_map(Input::PromptDone),
        2 => (0..3u8).prop_map(Input::Pin),
        2 => (any::<bool>(), any::<bool>(), 0..15usize, 0..4000u64).prop_map(
            move |(allow, privileged, reason, max_secs)| Input::Decide {
                allow,
                privileged: privileged || always_privileged,
                reason,
                max_secs,
            }
        ),
        2 => (0..5u8).prop_map(Input::Out),
        1 => leg().prop_map(Input::Hangup),
        1 => (leg(), 0..128u16).prop_map(|(l, c)| Input::HangupQ850(l, c)),
        3 => leg().prop_map(Input::Media),
        2 => (0..70_000u32).prop_map(Input::Tick),
        3 => Just(Input::NextTimer),
    ]
}

/// A likely-useful start, so random inputs reach the later steps often.
fn prelude() -> Vec<Input> {
    let mut v: Vec<Input> = "246810#"
        .chars()
        .map(|c| Input::Digit(Station, Digit::from_char(c).unwrap_or(Digit::D0)))
        .collect();
    v.push(Input::Pin(0));
    v.extend(
        "5551230001#"
            .chars()
            .map(|c| Input::Digit(Station, Digit::from_char(c).unwrap_or(Digit::D0))),
    );
    v
}

struct Checked {
    actions: Vec<Action>,
    finished_at: Option<usize>,
}

/// Feeds the inputs, then hangs both legs up and runs the timers out,
/// checking the invariants after every input.
fn drive(inputs: &[Input]) -> Result<Checked, TestCaseError> {
    let origin = origin();
    let mut now = origin;
    let setup = CallSetup {
        call_id: CallId::new("p"),
        facility: FacilityId(1),
        station: StationId(1),
        language: Language::En,
        offered: origin,
    };
    let mut flow = CallFlow::new(now, setup);
    let mut out = Checked {
        actions: Vec::new(),
        finished_at: None,
    };
    // Invariant 2 bookkeeping: the notice was played on the outside leg,
    // then the choices (only offered once the notice has ended), and 1 was
    // pressed there after that.
    let mut notice_played = false;
    let mut choices_offered = false;
    let mut one_after_notice = false;
    let tail = [Input::Hangup(Station), Input::Hangup(Outside)];
    let all = inputs.iter().chain(tail.iter());
    let step = |flow: &mut CallFlow, now: Instant, input: &Input| match input {
        Input::Digit(leg, d) => flow.handle_digit(now, *leg, *d),
        Input::PromptDone(leg) => flow.handle_prompt_finished(now, *leg),
        Input::Pin(k) => flow.handle_pin_checked(
            now,
            match k {
                0 => PinCheck::Valid {
                    person: PersonId(1),
                    language: Language::Es,
                },
                1 => PinCheck::Invalid,
                _ => PinCheck::Locked,
            },
        ),
        Input::Decide {
            allow,
            privileged: p,
            reason,
            max_secs,
        } => {
            let decision = if *allow {
                let mut terms = if *p { privileged(0) } else { recorded(0) };
                terms.max_duration = secs(*max_secs);
                Decision::Allowed(terms)
            } else {
                Decision::Denied {
                    reason: DENY_REASONS[*reason],
                }
            };
            flow.handle_decision(now, decision);
        }
        Input::Out(k) => flow.handle_outbound(
            now,
            match k {
                0 => Outbound::Ringing,
                1 => Outbound::Answered,
                2 => Outbound::Busy,
                3 => Outbound::NoAnswer,
                _ => Outbound::Failed { status: None },
            },
        ),
        Input::Hangup(leg) => flow.handle_hangup(now, *leg),
        Input::HangupQ850(leg, c) => {
            flow.handle_hangup_with(now, *leg, HangupCause::from_q850(Some(*c)));
        }
        Input::Media(leg) => flow.handle_media(now, *leg),
        Input::Tick(_) | Input::NextTimer => flow.handle_timeout(now),
    };
    for input in all {
        match input {
            Input::Tick(ms) => now += Duration::from_millis(u64::from(*ms)),
            Input::NextTimer => {
                if let Some(t) = flow.poll_timeout() {
                    now = now.max(t);
                }
            }
            Input::Digit(Outside, Digit::D1) => one_after_notice |= choices_offered,
            _ => {}
        }
        step(&mut flow, now, input);
        while let Some(action) = flow.poll_action() {
            prop_assert!(
                out.finished_at.is_none(),
                "action after Finished: {action:?}"
            );
            match &action {
                Action::PlayPrompts {
                    leg: Outside,
                    prompts,
                    ..
                } => {
                    for p in prompts {
                        if *p == Prompt::NoticeRecorded {
                            prop_assert_eq!(flow.capture(), Some(Capture::Recorded));
                            notice_played = true;
                        }
                        if *p == Prompt::NoticeNotRecorded {
                            prop_assert!(matches!(flow.capture(), Some(Capture::Privileged(_))));
                            notice_played = true;
                        }
                        if *p == Prompt::NoticeChoices {
                            prop_assert!(notice_played, "choices before the notice");
                            choices_offered = true;
                        }
                    }
                }
                Action::Bridge { capture } => {
                    prop_assert_eq!(Some(*capture), flow.capture());
                    prop_assert!(one_after_notice, "bridged without notice and 1");
                }
                Action::Finished(_) => out.finished_at = Some(out.actions.len()),
                _ => {}
            }
            out.actions.push(action);
        }
        prop_assert!(
            flow.is_finished() || flow.poll_timeout().is_some(),
            "a live call with no deadline"
        );
    }
    // Both legs are down now; goodbye prompts end by their guard at the latest.
    for _ in 0..8 {
        let Some(t) = flow.poll_timeout() else { break };
        now = now.max(t);
        flow.handle_timeout(now);
        while let Some(action) = flow.poll_action() {
            prop_assert!(
                out.finished_at.is_none(),
                "action after Finished: {action:?}"
            );
            if matches!(action, Action::Finished(_)) {
                out.finished_at = Some(out.actions.len());
            }
            out.actions.push(action);
        }
    }
    prop_assert!(flow.is_finished());
    prop_assert_eq!(flow.poll_timeout(), None);
    Ok(out)
}

fn finished_record(c: &Checked) -> Option<&CallRecord> {
    c.finished_at.and_then(|i| match &c.actions[i] {
        Action::Finished(r) => Some(&**r),
        _ => None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No panic; Finished exactly once and last; billable within the limit;
    /// a bridge only after the notice and a 1.
    #[test]
    fn any_input_sequence_ends_cleanly(
        start in 0..3u8,
        privileged in any::<bool>(),
        inputs in prop::collection::vec(input(false), 0..80),
    ) {
        // From the first prompt, from a number entered, or from the called
        // party's answer: so random inputs reach every step often.
        let mut all = if start == 0 { Vec::new() } else { prelude() };
        if start == 2 {
            all.push(Input::Decide { allow: true, privileged, reason: 0, max_secs: 180 });
            all.push(Input::Out(1));
        }
        all.extend(inputs);
        let checked = drive(&all)?;
        let finished = checked
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Finished(_)))
            .count();
        prop_assert_eq!(finished, 1);
        prop_assert_eq!(checked.finished_at, Some(checked.actions.len() - 1));
        let record = finished_record(&checked).expect("a record");
        let max = record.terms.as_ref().map_or(Duration::ZERO, |t| t.max_duration);
        prop_assert!(record.billable <= max);
        prop_assert!(record.ended <= record.released);
        prop_assert_ne!(record.disposition, Disposition::Interrupted);
        if record.accepted.is_some() {
            // Talked: hung up, cut at the limit, or dropped by the line.
            prop_assert!(matches!(
                record.disposition,
                Disposition::Completed | Disposition::Failed
            ));
        }
        prop_assert_eq!(record.recorded, checked.actions.iter().any(|a| matches!(
            a,
            Action::Bridge { capture: Capture::Recorded }
        )));
    }

    /// Whatever happens, a call whose terms were privileged never produces
    /// an action that records or monitors, nor the recorded notice.
    #[test]
    fn privileged_calls_never_record(
        inputs in prop::collection::vec(input(true), 0..80),
    ) {
        let mut all = prelude();
        all.push(Input::Decide { allow: true, privileged: true, reason: 0, max_secs: 600 });
        all.push(Input::Out(1));
        all.extend(inputs);
        let checked = drive(&all)?;
        for action in &checked.actions {
            let records = matches!(action, Action::Bridge { capture: Capture::Recorded });
            prop_assert!(!records, "{:?}", action);
            if let Action::PlayPrompts { prompts, .. } = action {
                prop_assert!(!prompts.contains(&Prompt::NoticeRecorded));
            }
        }
        let record = finished_record(&checked).expect("a record");
        prop_assert!(record.privileged);
        prop_assert!(!record.recorded);
    }
}
