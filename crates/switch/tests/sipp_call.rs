//! The switch on loopback against SIPp as the station and as the trunk: a
//! completed, recorded call from PIN to BYE, asserted on the call record and
//! SIPp's exit status. SIPp is required (scripts/test installs sip-tester);
//! without it the test fails.

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use callward_core::cdr::CallDetailRecord;
use callward_core::{
    AccountHolder, CallingHours, Cents, Code, Decision, E164Number, FacilityId, FacilityKind,
    FacilityTimeZone, Language, Name, Pin, PinKey,
};
use callward_store::{NewFacility, NewPerson, NewStation, SqliteStore, Store};
use callward_switch::{
    AuthorizeRequest, CallServices, ServiceError, StationInfo, StoreServices, SwitchConfig,
};
use jiff::Timestamp;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

const PIN_KEY: [u8; 32] = [7; 32];

/// The store's services, telling the test about every stored record.
struct Observed {
    inner: StoreServices<SqliteStore>,
    records: mpsc::UnboundedSender<CallDetailRecord>,
}

impl CallServices for Observed {
    async fn gateways(&self) -> Result<Vec<IpAddr>, ServiceError> {
        self.inner.gateways().await
    }
    async fn station(&self, sip_user: &str) -> Result<Option<StationInfo>, ServiceError> {
        self.inner.station(sip_user).await
    }
    async fn check_pin(
        &self,
        station: &StationInfo,
        pin: &Pin,
        now: Timestamp,
    ) -> Result<callward_core::callflow::PinCheck, ServiceError> {
        self.inner.check_pin(station, pin, now).await
    }
    async fn authorize(&self, request: AuthorizeRequest<'_>) -> Result<Decision, ServiceError> {
        self.inner.authorize(request).await
    }
    async fn block_for_facility(
        &self,
        facility: FacilityId,
        number: &E164Number,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.inner.block_for_facility(facility, number, now).await
    }
    async fn record_call(&self, call: CallDetailRecord) -> Result<(), ServiceError> {
        self.inner.record_call(call.clone()).await?;
        let _ = self.records.send(call);
        Ok(())
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "callward-switch-{name}-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo's facility, station, person and funded number.
async fn seed(store: &SqliteStore) {
    let name = |s: &str| Name::parse_field("name", s).unwrap();
    let facility = store
        .create_facility(NewFacility {
            name: name("Demo County Jail"),
            kind: FacilityKind::Jail,
            average_daily_population: 500,
            timezone: FacilityTimeZone::parse("America/Chicago").unwrap(),
            gateways: vec!["127.0.0.1".parse().unwrap()],
            calling_hours: CallingHours::ALWAYS,
            max_call_minutes: 15,
            max_calls_per_day: None,
            requires_approved_list: true,
            pin_length: 6,
        })
        .await
        .unwrap();
    store
        .create_station(NewStation {
            facility_id: facility.id,
            code: Code::parse_field("station id", "station-101").unwrap(),
            location: "Housing unit A".into(),
            do_not_record: false,
        })
        .await
        .unwrap();
    let pin = Pin::parse("246810", 6).unwrap();
    let person = store
        .create_person(NewPerson {
            facility_id: facility.id,
            booking_id: Code::parse_field("booking id", "DEMO-0001").unwrap(),
            name: name("Sam Demo"),
            language: Language::En,
            pin: Some(PinKey::from_bytes(PIN_KEY).digest(facility.id, &pin)),
        })
        .await
        .unwrap();
    let number = E164Number::parse("+15551230001").unwrap();
    store
        .add_contact(person.id, number.clone(), "Family".into())
        .await
        .unwrap();
    let now = Timestamp::now();
    let account = store
        .open_account(AccountHolder::Prepaid(number), now)
        .await
        .unwrap();
    store
        .deposit(account.id, Cents(1000), "test".into(), now)
        .await
        .unwrap();
}

/// A UDP port free a moment ago, for a SIPp instance to bind.
fn free_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sipp(scenario: &str, port: u16, media_port: u16, work: &Path) -> Command {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work)
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "90s", "-timeout_error"])
        .args(["-trace_err", "-trace_msg"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// SIPp's logs from `work`, to explain a failure.
fn sipp_logs(work: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(work).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let tail: String = text
                .chars()
                .rev()
                .take(6000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            out.push_str(&format!("==== {}\n{tail}\n", p.display()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_and_trunk_complete_a_recorded_call() {
    let data = temp_dir("data");
    let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
    seed(&store).await;
    let (records_tx, mut records) = mpsc::unbounded_channel();
    let services = Observed {
        inner: StoreServices::new(store.clone(), PinKey::from_bytes(PIN_KEY)),
        records: records_tx,
    };

    let trunk_port = free_port();
    let trunk: SocketAddr = ([127, 0, 0, 1], trunk_port).into();
    let trunk_work = temp_dir("trunk");
    let mut trunk_sipp = sipp("trunk_answer_accept.xml", trunk_port, 42000, &trunk_work)
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)");

    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sip = socket.local_addr().unwrap();
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    let mut config = SwitchConfig::new(trunk, prompts, data.clone());
    config.rtp_ports = 31000..=31999;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let switch = tokio::spawn(callward_switch::run(socket, services, config, async {
        let _ = stop_rx.await;
    }));

    let station_work = temp_dir("station");
    let station_port = free_port();
    let station_sipp = sipp("station_call.xml", station_port, 40000, &station_work)
        .arg(sip.to_string())
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)");

    let station_out = timeout(Duration::from_secs(90), station_sipp.wait_with_output())
        .await
        .expect("station SIPp finished in time")
        .unwrap();
    let trunk_status = timeout(Duration::from_secs(30), trunk_sipp.wait())
        .await
        .expect("trunk SIPp finished in time")
        .unwrap();
    let logs = || {
        format!(
            "station stderr: {}\nstation:\n{}\ntrunk:\n{}",
            String::from_utf8_lossy(&station_out.stderr),
            sipp_logs(&station_work),
            sipp_logs(&trunk_work)
        )
    };
    assert!(
        station_out.status.success(),
        "station SIPp failed\n{}",
        logs()
    );
    assert!(trunk_status.success(), "trunk SIPp failed\n{}", logs());

    let record = timeout(Duration::from_secs(10), records.recv())
        .await
        .expect("a call record in time")
        .expect("the switch stored a record");
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
    let stored = store.call(&record.id).await.unwrap();
    assert_eq!(stored.disposition, record.disposition);
    assert_eq!(stored.billable_seconds, record.billable_seconds);
    assert_eq!(stored.recording_id, record.recording_id);
    assert_eq!(stored.privileged, record.privileged);
    assert!(
        stored.ended_at.duration_since(record.ended_at).abs()
            < jiff::SignedDuration::from_millis(1)
    );

    // Recorded: the interim file exists, holds whole stereo frames, and
    // covers the bridged time (8000 frames of 4 bytes a second).
    let recording = record.recording_id.clone().expect("a recorded call");
    let file = data.join("recordings").join(format!("{recording}.interim"));
    let len = std::fs::metadata(&file).unwrap().len();
    assert_eq!(len % 4, 0);
    assert!(
        len >= (record.billable_seconds.saturating_sub(1)) * 32_000,
        "{len} bytes for {} s",
        record.billable_seconds
    );

    let _ = stop_tx.send(());
    timeout(Duration::from_secs(10), switch)
        .await
        .expect("switch stopped")
        .unwrap()
        .unwrap();
    for d in [data, trunk_work, station_work] {
        let _ = std::fs::remove_dir_all(d);
    }
}
