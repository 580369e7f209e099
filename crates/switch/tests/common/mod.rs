//! Helpers shared by the switch's integration tests: a seeded store, the
//! store's services observed by the test, SIPp runs, a running switch.

#![allow(dead_code, unreachable_pub, reason = "each test binary uses a part")]

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use callward_core::cdr::CallDetailRecord;
use callward_core::{
    AccountHolder, BlockScope, CallingHours, Cents, Code, Decision, E164Number, FacilityId,
    FacilityKind, FacilityTimeZone, Language, Name, Pin, PinKey, UsState, Verification,
};
use callward_store::{NewFacility, NewPerson, NewPrivileged, NewStation, SqliteStore, Store};
use callward_switch::{
    AuthorizeRequest, CallServices, ServiceError, StationInfo, StoreServices, SwitchConfig,
};
use jiff::Timestamp;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

pub const PIN_KEY: [u8; 32] = [7; 32];

/// The store's services, telling the test about every stored record.
pub struct Observed {
    pub inner: StoreServices<SqliteStore>,
    pub records: mpsc::UnboundedSender<CallDetailRecord>,
}

impl CallServices for Observed {
    async fn gateways(&self) -> Result<Vec<IpAddr>, ServiceError> {
        self.inner.gateways().await
    }
    async fn station(&self, sip_user: &str) -> Result<Option<StationInfo>, ServiceError> {
        // The panic-isolation test's way to make one call task panic.
        assert_ne!(sip_user, "station-panic", "injected panic");
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
    async fn journal_call(&self, call: callward_core::OpenCall) -> Result<(), ServiceError> {
        self.inner.journal_call(call).await
    }

    async fn record_call(&self, call: CallDetailRecord) -> Result<(), ServiceError> {
        self.inner.record_call(call.clone()).await?;
        let _ = self.records.send(call);
        Ok(())
    }
}

/// A fresh directory under the system temp dir, removed when dropped (also
/// when a test panics), so no `callward-switch-*` is left behind.
pub struct TestDir(tempfile::TempDir);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

pub fn temp_dir(name: &str) -> TestDir {
    TestDir(
        tempfile::Builder::new()
            .prefix(&format!("callward-switch-{name}-"))
            .tempdir()
            .unwrap(),
    )
}

/// The demo's facility, station, person and funded number.
pub async fn seed(store: &SqliteStore) {
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
            rate: None,
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
    // Approved, but its prepaid account holds nothing.
    let unfunded = E164Number::parse("+15551230002").unwrap();
    store
        .add_contact(person.id, unfunded.clone(), "Friend".into())
        .await
        .unwrap();
    store
        .open_account(AccountHolder::Prepaid(unfunded), now)
        .await
        .unwrap();
    // Approved, and its prepaid account covers exactly one minute.
    let one_minute = E164Number::parse("+15551230003").unwrap();
    store
        .add_contact(person.id, one_minute.clone(), "Neighbour".into())
        .await
        .unwrap();
    let account = store
        .open_account(AccountHolder::Prepaid(one_minute), now)
        .await
        .unwrap();
    store
        .deposit(account.id, Cents(7), "test".into(), now)
        .await
        .unwrap();
    store
        .add_block(
            BlockScope::Facility(facility.id),
            E164Number::parse("+15550000666").unwrap(),
            "blocked for the whole facility".into(),
            now,
        )
        .await
        .unwrap();
    let attorney = store
        .register_privileged(
            NewPrivileged {
                number: E164Number::parse("+15559870001").unwrap(),
                attorney_name: name("Alex Counsel"),
                bar_number: "24000001".into(),
                bar_state: UsState::parse("TX").unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .set_verification(attorney.id, Verification::Verified, "admin".into())
        .await
        .unwrap();
}

/// Adds `n` more people to the seeded facility, each with its own PIN and
/// the funded number +15551230001 approved, and writes a SIPp injection
/// file (`-inf`) with their PINs, one digit per field, to `dir`.
pub async fn add_people(store: &SqliteStore, n: u32, dir: &Path) -> PathBuf {
    let facility = store.list_facilities().await.unwrap().remove(0);
    let number = E164Number::parse("+15551230001").unwrap();
    let mut inf = String::from("SEQUENTIAL\n");
    for i in 1..=n {
        let pin = format!("7{i:02}3{i:02}");
        let person = store
            .create_person(NewPerson {
                facility_id: facility.id,
                booking_id: Code::parse_field("booking id", &format!("LOAD-{i:04}")).unwrap(),
                name: Name::parse_field("name", &format!("Person {i}")).unwrap(),
                language: Language::En,
                pin: Some(
                    PinKey::from_bytes(PIN_KEY).digest(facility.id, &Pin::parse(&pin, 6).unwrap()),
                ),
            })
            .await
            .unwrap();
        store
            .add_contact(person.id, number.clone(), "Family".into())
            .await
            .unwrap();
        let digits: Vec<String> = pin.chars().map(String::from).collect();
        inf.push_str(&digits.join(";"));
        inf.push('\n');
    }
    let path = dir.join("pins.csv");
    std::fs::write(&path, inf).unwrap();
    path
}

/// Every file in the data dir's recordings directory.
pub fn recording_files(data: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(data.join("recordings")) {
        Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A UDP port free a moment ago, for a SIPp instance to bind.
pub fn free_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SIPp running `scenario` for `calls` calls, all started at once.
pub fn sipp(scenario: &str, port: u16, media_port: u16, work: &Path, calls: u32) -> Command {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work)
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
        .args(["-m", &calls.to_string(), "-l", &calls.to_string()])
        .args(["-r", &calls.to_string()])
        .args(["-nostdin", "-timeout", "150s", "-timeout_error"])
        .args(["-trace_err", "-trace_msg"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// SIPp's logs from `work`, to explain a failure.
pub fn sipp_logs(work: &Path) -> String {
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

/// A switch on loopback over a seeded store, and the SIPp trunk it calls.
pub struct Running {
    pub data: TestDir,
    /// The agency private key the switch's recordings are wrapped to (the
    /// switch itself got only the public key).
    pub keys: callward_vault::InMemoryKeyProvider,
    pub store: SqliteStore,
    pub sip: SocketAddr,
    pub records: mpsc::UnboundedReceiver<CallDetailRecord>,
    pub trunk: Option<tokio::process::Child>,
    pub trunk_work: TestDir,
    stop: Option<oneshot::Sender<()>>,
    switch: tokio::task::JoinHandle<Result<(), callward_switch::SwitchError>>,
}

/// Starts SIPp as the trunk with `trunk_scenario` (if any) on its own media
/// port, then the switch with RTP ports from `rtp_base`.
pub async fn start(
    name: &str,
    trunk_scenario: Option<&str>,
    calls: u32,
    trunk_media: u16,
    rtp_base: u16,
) -> Running {
    start_with(name, trunk_scenario, calls, trunk_media, rtp_base, |_| {}).await
}

/// [`start`], with the switch's configuration adjusted by `tweak`.
pub async fn start_with(
    name: &str,
    trunk_scenario: Option<&str>,
    calls: u32,
    trunk_media: u16,
    rtp_base: u16,
    tweak: impl FnOnce(&mut SwitchConfig),
) -> Running {
    let data = temp_dir(name);
    let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
    seed(&store).await;
    let (records_tx, records) = mpsc::unbounded_channel();
    let services = Observed {
        inner: StoreServices::new(
            store.clone(),
            PinKey::from_bytes(PIN_KEY),
            std::sync::Arc::new(callward_core::tariff::Tariffs::fallback()),
        ),
        records: records_tx,
    };
    let trunk_port = free_port();
    let trunk_addr: SocketAddr = ([127, 0, 0, 1], trunk_port).into();
    let trunk_work = temp_dir(&format!("{name}-trunk"));
    std::os::unix::fs::symlink("/usr/share/sip-tester", trunk_work.join("pcap")).unwrap();
    let trunk = trunk_scenario.map(|s| {
        sipp(s, trunk_port, trunk_media, &trunk_work, calls)
            .spawn()
            .expect("sipp must be installed (Debian package sip-tester)")
    });
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sip = socket.local_addr().unwrap();
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    let agency =
        callward_vault::AgencyPrivateKey::generate(&mut callward_vault::OsRng::new().unwrap());
    let writer_key = callward_vault::WriterKey {
        epoch: 1,
        public: agency.public_key().clone(),
    };
    let mut keys = callward_vault::InMemoryKeyProvider::new();
    keys.insert(1, agency);
    let mut config = SwitchConfig::new(trunk_addr, prompts, data.to_path_buf(), writer_key);
    config.rtp_ports = rtp_base..=rtp_base + 249;
    tweak(&mut config);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let switch = tokio::spawn(callward_switch::run(socket, services, config, async {
        let _ = stop_rx.await;
    }));
    Running {
        data,
        keys,
        store,
        sip,
        records,
        trunk,
        trunk_work,
        stop: Some(stop_tx),
        switch,
    }
}

impl Running {
    /// Runs SIPp as the station against the switch and waits for both SIPp
    /// runs to end, failing with their logs unless both exit 0.
    pub async fn station(&mut self, scenario: &str, media: u16, calls: u32) {
        self.station_with(scenario, media, calls, &[]).await;
    }

    /// [`Running::station`] with more SIPp arguments (e.g. `-inf FILE`).
    pub async fn station_with(&mut self, scenario: &str, media: u16, calls: u32, extra: &[&str]) {
        let work = temp_dir("station");
        std::os::unix::fs::symlink("/usr/share/sip-tester", work.join("pcap")).unwrap();
        let out = timeout(
            Duration::from_secs(150),
            sipp(scenario, free_port(), media, &work, calls)
                .args(extra)
                .arg(self.sip.to_string())
                .spawn()
                .expect("sipp must be installed (Debian package sip-tester)")
                .wait_with_output(),
        )
        .await
        .expect("station SIPp finished in time")
        .unwrap();
        let trunk = match self.trunk.as_mut() {
            Some(t) => Some(timeout(Duration::from_secs(30), t.wait()).await),
            None => None,
        };
        let logs = || {
            format!(
                "station stderr: {}\nstation:\n{}\ntrunk:\n{}",
                String::from_utf8_lossy(&out.stderr),
                sipp_logs(&work),
                sipp_logs(&self.trunk_work)
            )
        };
        assert!(out.status.success(), "station SIPp failed\n{}", logs());
        match trunk {
            Some(Ok(t)) => assert!(t.unwrap().success(), "trunk SIPp failed\n{}", logs()),
            Some(Err(_)) => panic!("trunk SIPp did not finish in time\n{}", logs()),
            None => {}
        }
        let _ = std::fs::remove_dir_all(work);
    }

    /// The next call record, within 10 s.
    pub async fn record(&mut self) -> CallDetailRecord {
        timeout(Duration::from_secs(10), self.records.recv())
            .await
            .expect("a call record in time")
            .expect("the switch stored a record")
    }

    /// Stops the switch (within 10 s) and removes the test's files.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        timeout(Duration::from_secs(10), &mut self.switch)
            .await
            .expect("switch stopped")
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(&self.data);
        let _ = std::fs::remove_dir_all(&self.trunk_work);
    }
}
