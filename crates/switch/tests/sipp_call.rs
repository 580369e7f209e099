//! The switch on loopback against SIPp as the station and as the trunk,
//! asserted on the call record, the recording directory and SIPp's exit
//! status. SIPp is required (scripts/test installs sip-tester); without it
//! these tests fail.

mod common;

use callward_core::E164Number;
use callward_store::Store as _;

/// Recorded: the container exists, opens complete with the agency key the
/// switch never had, holds whole two-channel A-law frames and covers the
/// bridged time (16,000 bytes a second). Returns how many samples of each
/// channel (station, outside) are well above silence.
fn recorded_loudness(
    run: &common::Running,
    record: &callward_core::cdr::CallDetailRecord,
) -> [usize; 2] {
    let recording = record.recording_id.clone().expect("a recorded call");
    let file = callward_switch::recording_path(&run.data.join("recordings"), &recording);
    let bytes = std::fs::read(&file).unwrap();
    let opened = callward_vault::open(&bytes, &run.keys).expect("a complete recording");
    assert_eq!(opened.header.call_id().as_str(), record.id);
    let audio = opened.audio;
    let len = audio.len() as u64;
    assert_eq!(len % 2, 0);
    assert!(
        len >= record.billable_seconds.saturating_sub(1) * 16_000,
        "{len} bytes for {} s",
        record.billable_seconds
    );
    let mut loud = [0usize; 2];
    for frame in audio.chunks_exact(2) {
        for (ch, code) in frame.iter().enumerate() {
            let s = callward_media::G711::Pcma.decode_sample(*code);
            if s.unsigned_abs() > 500 {
                loud[ch] += 1;
            }
        }
    }
    loud
}

/// [`recorded_loudness`], with speech from both sides (each channel at
/// least a second of loud samples).
fn assert_recorded(run: &common::Running, record: &callward_core::cdr::CallDetailRecord) {
    let loud = recorded_loudness(run, record);
    assert!(loud[0] >= 8000, "station channel: {} loud samples", loud[0]);
    assert!(loud[1] >= 8000, "outside channel: {} loud samples", loud[1]);
}

/// Samples the switch's live-monitoring list every 20 ms until dropped:
/// the most calls it ever held.
struct LiveWatch {
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveWatch {
    fn start(live: std::sync::Arc<callward_switch::LiveCalls>) -> Self {
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = most.clone();
        let task = tokio::spawn(async move {
            loop {
                seen.fetch_max(live.list().len(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        });
        Self { most, task }
    }

    fn most(self) -> usize {
        self.task.abort();
        self.most.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_and_trunk_complete_a_recorded_call() {
    let mut live = None;
    let mut run = common::start_with(
        "recorded",
        Some("trunk_answer_accept.xml"),
        1,
        10000,
        20000,
        |c| live = Some(c.live.clone()),
    )
    .await;
    let watch = LiveWatch::start(live.unwrap());
    run.station("station_call.xml", 10100, 1).await;
    // Listed for live monitoring while it was recorded.
    assert_eq!(watch.most(), 1);
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    assert!(!record.privileged);
    assert!(
        record.billable_seconds > 0,
        "billable {}",
        record.billable_seconds
    );
    assert_eq!(
        record.number.as_ref().map(E164Number::as_str),
        Some("+15551230001")
    );
    assert!(record.person_id.is_some());
    assert!(record.accepted_at.is_some());
    // The record is in the store, as `callward calls list` reads it (the
    // store keeps times to the millisecond).
    let stored = run.store.call(&record.id).await.unwrap();
    assert_eq!(stored.disposition, record.disposition);
    assert_eq!(stored.billable_seconds, record.billable_seconds);
    assert_eq!(stored.recording_id, record.recording_id);
    assert_eq!(stored.privileged, record.privileged);
    assert!(
        stored.ended_at.duration_since(record.ended_at).abs()
            < jiff::SignedDuration::from_millis(1)
    );
    assert_recorded(&run, &record);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_call_writes_no_audio() {
    let mut live = None;
    let mut run = common::start_with(
        "privileged",
        Some("trunk_answer_accept.xml"),
        1,
        10200,
        20250,
        |c| live = Some(c.live.clone()),
    )
    .await;
    let watch = LiveWatch::start(live.unwrap());
    run.station("station_attorney.xml", 10300, 1).await;
    // Never listed for live monitoring: there is no audio of it to hand out.
    assert_eq!(watch.most(), 0);
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    assert!(record.privileged);
    assert!(record.billable_seconds > 0);
    assert_eq!(record.recording_id, None);
    // No recording of any kind: the directory was never even created.
    assert_eq!(
        common::recording_files(&run.data),
        Vec::<std::path::PathBuf>::new()
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_by_rfc4733_number_by_info() {
    let mut run = common::start("rfc4733", Some("trunk_answer_accept.xml"), 1, 10400, 20500).await;
    run.station("station_rfc4733_pin.xml", 10500, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    assert!(
        record.person_id.is_some(),
        "the PIN by telephone-events was taken"
    );
    assert!(record.billable_seconds > 0);
    assert_recorded(&run, &record);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_party_refuses() {
    let mut run = common::start("refused", Some("trunk_answer_refuse.xml"), 1, 10600, 20750).await;
    run.station("station_until_hangup.xml", 10700, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "refused");
    assert_eq!(record.billable_seconds, 0);
    assert!(record.answered_at.is_some());
    assert_eq!(record.accepted_at, None);
    assert_eq!(record.recording_id, None);
    assert_eq!(
        common::recording_files(&run.data),
        Vec::<std::path::PathBuf>::new()
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_number() {
    let mut run = common::start("busy", Some("trunk_busy.xml"), 1, 10800, 21000).await;
    run.station("station_until_hangup.xml", 10900, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "busy");
    assert_eq!(record.billable_seconds, 0);
    assert_eq!(record.answered_at, None);
    assert_eq!(record.recording_id, None);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_calls_complete() {
    const CALLS: u32 = 20;
    let mut run = common::start(
        "concurrent",
        Some("trunk_answer_accept.xml"),
        CALLS,
        11000,
        21250,
    )
    .await;
    // Twenty people: one person may hold only one call at a time.
    let pins = common::add_people(&run.store, CALLS, &run.data).await;
    run.station_with(
        "station_call_pins.xml",
        11100,
        CALLS,
        &["-inf", pins.to_str().unwrap()],
    )
    .await;
    let mut ids = std::collections::HashSet::new();
    let mut people = std::collections::HashSet::new();
    for _ in 0..CALLS {
        let record = run.record().await;
        assert_eq!(record.disposition.to_string(), "completed", "{}", record.id);
        assert!(record.billable_seconds > 0);
        assert_recorded(&run, &record);
        people.insert(record.person_id);
        ids.insert(record.id);
    }
    assert_eq!(ids.len(), CALLS as usize);
    assert_eq!(people.len(), CALLS as usize);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_cancels_the_outbound_invite() {
    let mut run = common::start_with(
        "noanswer",
        Some("trunk_ring_no_answer.xml"),
        1,
        11200,
        21500,
        |c| c.call_timeouts.ringing = std::time::Duration::from_secs(3),
    )
    .await;
    run.station("station_until_hangup.xml", 11300, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "no_answer");
    assert_eq!(record.answered_at, None);
    assert_eq!(record.billable_seconds, 0);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hangs_up_during_the_notice() {
    let mut run = common::start("early", Some("trunk_answer_wait.xml"), 1, 11400, 21750).await;
    run.station("station_hang_up_early.xml", 11500, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "not_accepted");
    assert!(record.answered_at.is_some());
    assert_eq!(record.accepted_at, None);
    assert_eq!(record.billable_seconds, 0);
    assert_eq!(record.hung_up_by.to_string(), "station");
    assert_eq!(
        common::recording_files(&run.data),
        Vec::<std::path::PathBuf>::new()
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_party_hangs_up_first() {
    let mut run = common::start(
        "outside-bye",
        Some("trunk_accept_hang_up.xml"),
        1,
        11600,
        22000,
    )
    .await;
    run.station("station_until_hangup.xml", 11700, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    assert_eq!(record.hung_up_by.to_string(), "outside");
    assert!(record.billable_seconds > 0);
    assert!(record.recording_id.is_some());
    run.stop().await;
}

/// A call the switch refuses after the station's entries: the record says
/// why, nothing was dialled out or recorded.
async fn denied(name: &str, scenario: &str, media: u16, rtp_base: u16, code: &str) {
    let mut run = common::start(name, None, 1, 0, rtp_base).await;
    run.station(scenario, media, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), format!("denied:{code}"));
    assert_eq!(record.answered_at, None);
    assert_eq!(record.billable_seconds, 0);
    assert_eq!(record.recording_id, None);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pin_three_times() {
    denied(
        "wrongpin",
        "station_wrong_pin.xml",
        11800,
        22250,
        "unknown_pin",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_number() {
    denied(
        "blocked",
        "station_blocked.xml",
        11900,
        22500,
        "blocked_by_facility",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_balance() {
    denied(
        "nofunds",
        "station_no_funds.xml",
        12000,
        22750,
        "insufficient_balance",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limit_ends_the_call() {
    // 7 cents at the medium jail tier's 7 cents a minute: one minute.
    let mut run = common::start("limit", Some("trunk_answer_accept.xml"), 1, 12300, 23250).await;
    run.station("station_time_limit.xml", 12400, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    assert!(record.time_limit_reached);
    // The money set the limit, and the record says so.
    assert_eq!(record.limit, Some(callward_core::CallLimit::Balance));
    assert_eq!(record.hung_up_by.to_string(), "system");
    assert_eq!(record.rate_cents_per_minute, Some(7));
    assert!(
        (59..=60).contains(&record.billable_seconds),
        "billable {}",
        record.billable_seconds
    );
    // Only the called party speaks in this scenario.
    let loud = recorded_loudness(&run, &record);
    assert!(loud[1] >= 8000, "outside channel: {} loud samples", loud[1]);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_holds_one_call_at_a_time() {
    let mut run = common::start(
        "one-call",
        Some("trunk_accept_hang_up.xml"),
        1,
        12500,
        23500,
    )
    .await;
    let sip = run.sip;
    // The same PIN again, about 8 s later, while the first call rings or
    // talks (it is authorised about 5 s in and lasts about 20 s more). The
    // scenario expects a denial after the number.
    let second = async move {
        tokio::time::sleep(std::time::Duration::from_secs(8)).await;
        let work = common::temp_dir("second-call");
        std::os::unix::fs::symlink("/usr/share/sip-tester", work.join("pcap")).unwrap();
        let out = common::sipp("station_no_funds.xml", common::free_port(), 12600, &work, 1)
            .arg(sip.to_string())
            .spawn()
            .expect("sipp")
            .wait_with_output()
            .await
            .unwrap();
        (out, work)
    };
    let ((), (out, work)) = tokio::join!(run.station("station_until_hangup.xml", 12700, 1), second);
    assert!(
        out.status.success(),
        "second station SIPp failed\n{}",
        common::sipp_logs(&work)
    );
    let mut seen = vec![
        run.record().await.disposition.to_string(),
        run.record().await.disposition.to_string(),
    ];
    seen.sort();
    assert_eq!(seen, ["completed", "denied:already_on_call"]);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_call_limit_counts_todays_accepted_calls() {
    let mut run = common::start("daily", None, 1, 0, 23750).await;
    let facility = run.store.list_facilities().await.unwrap().remove(0);
    run.store
        .update_facility(
            facility.id,
            callward_store::FacilityUpdate {
                max_calls_per_day: Some(Some(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // One call accepted today (a refused one would not count).
    let person = run.store.list_people(facility.id).await.unwrap().remove(0);
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let earlier = callward_core::cdr::CallDetailRecord {
        id: "earlier".into(),
        facility_id: facility.id,
        station_id: callward_core::StationId(1),
        person_id: Some(person.id),
        number: Some(E164Number::parse("+15551230001").unwrap()),
        privileged: false,
        disposition: callward_core::callflow::Disposition::Completed,
        hung_up_by: callward_core::callflow::HungUpBy::Station,
        offered_at: at,
        answered_at: Some(at),
        accepted_at: Some(at),
        ended_at: at + jiff::SignedDuration::from_secs(30),
        billable_seconds: 30,
        time_limit_reached: false,
        limit: None,
        blocked_by_called_party: false,
        recording_id: None,
        rate_cents_per_minute: Some(7),
        payer_account_id: None,
        charge_cents: 0,
    };
    run.store.record_call(&earlier).await.unwrap();
    run.station("station_no_funds.xml", 12800, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "denied:daily_limit_reached");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_party_presses_nothing() {
    // The choice deadline shortened from 20 s to keep the test short; the
    // flow's table tests cover the 20 s default on a virtual clock.
    let mut run = common::start_with(
        "silent",
        Some("trunk_answer_wait.xml"),
        1,
        12900,
        24000,
        |c| c.call_timeouts.choice = std::time::Duration::from_secs(4),
    )
    .await;
    run.station("station_until_hangup.xml", 13000, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "not_accepted");
    assert_eq!(record.hung_up_by.to_string(), "system");
    assert!(record.answered_at.is_some());
    assert_eq!(record.accepted_at, None);
    assert_eq!(record.billable_seconds, 0);
    assert_eq!(record.recording_id, None);
    assert_eq!(
        common::recording_files(&run.data),
        Vec::<std::path::PathBuf>::new()
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_bye_with_a_failure_cause_ends_the_call_failed_and_free() {
    // Accepted, then about 5 s later the carrier's BYE carries
    // `Reason: Q.850;cause=41` (temporary failure): a technical drop. (RTP
    // ranges: this binary's tests run one at a time, so 23000 is shared.)
    let mut run = common::start("drop41", Some("trunk_accept_drop_41.xml"), 1, 14600, 23000).await;
    run.station("station_until_hangup.xml", 14700, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "failed");
    assert_eq!(record.hung_up_by.to_string(), "outside");
    let accepted = record.accepted_at.expect("accepted before the drop");
    let talked = record.ended_at.duration_since(accepted).as_secs_f64();
    assert!(
        (4.0..8.0).contains(&talked),
        "dropped {talked} s after acceptance"
    );
    assert!(!record.time_limit_reached);
    // Rated by the store with the record: a failed call costs nothing.
    let stored = run.store.call(&record.id).await.unwrap();
    assert_eq!(stored.disposition.to_string(), "failed");
    assert_eq!(stored.charge_cents, 0);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_that_goes_silent_is_hung_up_after_the_media_timeout() {
    // The called party speaks 7 s after acceptance, then sends nothing and
    // no BYE. With the media timeout shortened from its 20 s default to 6 s
    // (to keep the test short; `serve` sets it from `media_timeout_secs`)
    // the switch ends the call about 13 s after acceptance: BYE to both
    // legs (both SIPp scenarios pass only if they receive it), disposition
    // failed, by the system.
    let mut run = common::start_with(
        "silent-trunk",
        Some("trunk_accept_go_silent.xml"),
        1,
        14800,
        23000,
        |c| c.call_timeouts.media_inactivity = Some(std::time::Duration::from_secs(6)),
    )
    .await;
    run.station("station_until_hangup.xml", 14900, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "failed");
    assert_eq!(record.hung_up_by.to_string(), "system");
    assert!(!record.time_limit_reached);
    let accepted = record.accepted_at.expect("accepted");
    let talked = record.ended_at.duration_since(accepted).as_secs_f64();
    assert!(
        (11.0..17.0).contains(&talked),
        "ended {talked} s after acceptance, not 7 s of speech + 6 s"
    );
    let stored = run.store.call(&record.id).await.unwrap();
    assert_eq!(stored.charge_cents, 0);
    // The recording was closed cleanly (it opens complete) and holds the
    // called party's speech.
    let loud = recorded_loudness(&run, &record);
    assert!(loud[1] >= 8000, "outside channel: {} loud samples", loud[1]);
    run.stop().await;
}
