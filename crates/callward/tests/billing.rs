//! Billing through the real binary: `callward serve --demo` with a tariff
//! directory, SIPp as station-101 and as the trunk (accepting), then the
//! call's charge on `callward admin account statement --csv`, reconciled
//! with `calls list --json` and the stored ledger; and a server killed with
//! SIGKILL right after a call's record is stored keeps exactly one charge;
//! a line the carrier drops is free and its redial continues it; a caller
//! short of money hears the warning a minute before the end.
//! SIPp is required (scripts/test installs sip-tester). SIPp media ports of
//! this binary: 14000-15999.

mod common;

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use callward_store::{SqliteStore, Store as _, StoreError};
use common::{Server, admin, free_port, run, scratch, sipp, wait};

/// A schedule with a high cap for the demo's medium jail, so the short
/// SIPp conversation (about 9 s) costs several cents: 45 c/min.
const TEST_TARIFF: &str = r#"
[schedule]
name = "billing test caps"
source = "callward's billing test: not a real order"
effective_from = 2020-01-01
applies_to = "all"

[[tier]]
tier = "prison"
adp_min = 0
audio_cap = "0.45"

[[tier]]
tier = "medium_jail"
adp_min = 0
audio_cap = "0.45"
"#;

/// A test's directories and the server's flags.
struct Setup {
    dir: PathBuf,
    data: PathBuf,
    sip: String,
    trunk_port: u16,
    args: Vec<String>,
}

impl Setup {
    fn new(name: &str) -> Self {
        let dir = scratch(name);
        let data = dir.join("data");
        let tariffs = dir.join("tariffs");
        std::fs::create_dir_all(&tariffs).unwrap();
        std::fs::write(tariffs.join("test.toml"), TEST_TARIFF).unwrap();
        // Not loaded: only *.toml files are.
        std::fs::write(tariffs.join("broken.toml.example"), "not toml [").unwrap();
        let (sip_port, trunk_port) = (free_port(), free_port());
        let sip = format!("127.0.0.1:{sip_port}");
        let args = vec![
            "--demo".to_owned(),
            "--data-dir".to_owned(),
            data.to_str().unwrap().to_owned(),
            "--http-listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--sip-listen".to_owned(),
            sip.clone(),
            "--trunk".to_owned(),
            format!("127.0.0.1:{trunk_port}"),
            "--tariffs-dir".to_owned(),
            tariffs.to_str().unwrap().to_owned(),
        ];
        Self {
            dir,
            data,
            sip,
            trunk_port,
            args,
        }
    }

    fn start(&self) -> Server {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut server = Server::start(&args, &self.dir);
        server.wait_ready();
        server
    }

    /// Starts SIPp as trunk (accepting) and as station-101 with `station`.
    fn dial(&self, station: &str, media_base: u16) -> (Child, Child) {
        self.dial_with("trunk_answer_accept.xml", station, media_base)
    }

    /// [`Setup::dial`] with the trunk's scenario too.
    fn dial_with(&self, trunk: &str, station: &str, media_base: u16) -> (Child, Child) {
        let trunk = sipp(
            trunk,
            "127.0.0.1",
            &self.dir.join(format!("trunk-{media_base}")),
            &[
                "-p",
                &self.trunk_port.to_string(),
                "-mp",
                &media_base.to_string(),
                "-m",
                "1",
            ],
        );
        let station = sipp(
            station,
            "127.0.0.1",
            &self.dir.join(format!("station-{media_base}")),
            &[
                "-p",
                &free_port().to_string(),
                "-mp",
                &(media_base + 100).to_string(),
                "-m",
                "1",
                &self.sip,
            ],
        );
        (trunk, station)
    }

    /// One accepted demo call to +15551230001, SIPp on both sides.
    fn call(&self, server: &Server, media_base: u16) {
        let (mut trunk, mut station) = self.dial("station_call.xml", media_base);
        let station_status = wait(&mut station, Duration::from_secs(100), "station SIPp");
        let trunk_status = wait(&mut trunk, Duration::from_secs(30), "trunk SIPp");
        assert!(
            station_status.success() && trunk_status.success(),
            "SIPp failed; server log: {:#?}",
            server.log
        );
    }

    fn calls(&self) -> Vec<serde_json::Value> {
        let out = run(
            &[
                "calls",
                "--data-dir",
                self.data.to_str().unwrap(),
                "list",
                "--json",
            ],
            &self.dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The statement of the demo's funded number, as CSV records.
    fn statement(&self) -> Vec<Vec<String>> {
        let out = admin(
            &self.data,
            &["account", "statement", "--number", "+15551230001", "--csv"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.ends_with("\r\n"), "CRLF line ends: {text:?}");
        read_csv(&text)
    }

    async fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.data.join("callward.db"))
            .await
            .unwrap()
    }
}

/// RFC 4180 records: quoted fields may hold commas, doubled quotes and
/// line breaks; records end with CRLF.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty() && !quoted, "{text:?}");
    records
}

/// Dollars as printed ("0.06") to cents.
fn cents(dollars: &str) -> i64 {
    let (whole, frac) = dollars.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

/// Waits for the stored record of the first call.
fn first_call(setup: &Setup) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(first) = setup.calls().first() {
            return first.clone();
        }
        assert!(Instant::now() < deadline, "no call record within 10 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demo_calls_charge_appears_on_the_statement() {
    let setup = Setup::new("billing-statement");
    let mut server = setup.start();
    // The facility's own rate, while the server runs: above the 45-cent cap
    // it is refused and changes nothing; 30 cents is taken and charged.
    let tariffs = setup.dir.join("tariffs");
    let set_rate = |rate: &str| {
        admin(
            &setup.data,
            &[
                "facility",
                "update",
                "Demo County Jail",
                "--rate",
                rate,
                "--tariffs-dir",
                tariffs.to_str().unwrap(),
            ],
        )
    };
    let refused = set_rate("0.46");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("a rate of 46 cents a minute is above the $0.45 cap for medium_jail"),
        "{err}"
    );
    let shown = admin(
        &setup.data,
        &["--json", "facility", "show", "Demo County Jail"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(shown["rate"].is_null(), "{shown}");
    let taken = set_rate("0.30");
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    assert!(String::from_utf8_lossy(&taken.stdout).contains("own rate 30 c/min"));

    setup.call(&server, 14000);
    let call = first_call(&setup);
    assert_eq!(call["disposition"], "completed", "{call}");
    let id = call["id"].as_str().unwrap().to_owned();
    let billed = call["billable_seconds"].as_i64().unwrap();
    let charge = call["charge_cents"].as_i64().unwrap();
    // Per-second proration at the facility's 30 c/min, rounded down, and
    // the record keeps the rate charged.
    assert!(billed >= 3, "{call}");
    assert_eq!(call["rate_cents_per_minute"], 30, "{call}");
    assert_eq!(charge, billed * 30 / 60, "{call}");
    assert!(call["limit"].is_null(), "not cut at a limit: {call}");

    let rows = setup.statement();
    assert_eq!(
        rows[0].join(","),
        "date,transaction,type,reference,number,minutes,rate,charge,credit,balance,note"
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    // The demo's $10.00 is a real deposit with its reference...
    assert_eq!(rows[1][2], "deposit");
    assert_eq!(rows[1][3], "demo seed");
    assert_eq!(
        (rows[1][8].as_str(), rows[1][9].as_str()),
        ("10.00", "10.00")
    );
    // ...and the call's charge follows it, with its number, time and rate.
    assert_eq!(rows[2][2], "call");
    assert_eq!(rows[2][3], id);
    assert_eq!(rows[2][4], "'+1******0001");
    assert_eq!(rows[2][5], format!("{}:{:02}", billed / 60, billed % 60));
    assert_eq!(rows[2][6], "0.30");
    assert_eq!(
        rows[2][10], "",
        "no note: the call was not cut by the balance"
    );
    assert_eq!(cents(&rows[2][7]), charge);
    assert_eq!(cents(&rows[2][9]), 1000 - charge);

    // Reconciled: the ledger's call revenue is the sum of the records' charges.
    let charged: i64 = setup
        .calls()
        .iter()
        .map(|c| c["charge_cents"].as_i64().unwrap())
        .sum();
    let on_statements: i64 = rows
        .iter()
        .filter(|r| r[2] == "call")
        .map(|r| cents(&r[7]))
        .sum();
    assert_eq!(charged, on_statements);
    let check = setup.store().await.check_ledger().await.unwrap();
    assert_eq!(check.call_revenue.0, charged);
    assert_eq!(check.charged_calls.0, charged);

    // A refund of one cent and the closure, on the statement too; a second
    // closure is refused.
    let out = admin(
        &setup.data,
        &[
            "account",
            "refund",
            &id,
            "--amount",
            "0.01",
            "--reason",
            "test, agreed",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = admin(&setup.data, &["account", "close", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let returned = 1000 - charge + 1;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "account 1 closed; ${}.{:02} returned to the holder",
            returned / 100,
            returned % 100
        )
    );
    assert!(
        !admin(&setup.data, &["account", "close", "1"])
            .status
            .success()
    );
    let rows = setup.statement();
    let kinds: Vec<_> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(kinds, ["deposit", "call", "call_refund", "closure"]);
    assert_eq!(rows[3][3], format!("{id}: test, agreed"));
    assert_eq!(rows[4][9], "0.00");
    assert!(rows.iter().all(|r| r.len() == 11), "{rows:?}");
    let check = setup.store().await.check_ledger().await.unwrap();
    assert_eq!(check.call_revenue.0, charged - 1);
    let out = admin(&setup.data, &["--json", "account", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["reconciled"], true, "{report}");
    assert_eq!(report["charged_calls_cents"].as_i64().unwrap(), charged);
    assert_eq!(report["refunded_cents"].as_i64().unwrap(), 1);

    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_after_a_record_is_stored_keeps_exactly_one_charge() {
    let setup = Setup::new("billing-sigkill");
    let mut server = setup.start();
    setup.call(&server, 14200);
    // Killed the moment the record and its charge are committed.
    let logged = server.wait_for("call charged");
    server.signal("KILL");
    let _ = server.wait_exit();
    let charge = logged["charge_cents"].as_i64().unwrap();
    assert!(charge > 0, "{logged}");

    let mut server = setup.start();
    let call = first_call(&setup);
    assert_eq!(call["charge_cents"].as_i64().unwrap(), charge);
    let rows = setup.statement();
    let charges: Vec<_> = rows.iter().filter(|r| r[2] == "call").collect();
    assert_eq!(charges.len(), 1, "charged exactly once: {rows:?}");
    assert_eq!(cents(&charges[0][7]), charge);

    // Storing the same record again (a recovery replaying it) is refused and
    // charges nothing.
    let store = setup.store().await;
    let id = call["id"].as_str().unwrap();
    let cdr = store.call(id).await.unwrap();
    let account = store
        .prepaid_account(&callward_core::E164Number::parse("+15551230001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance.0, 1000 - charge);
    assert!(matches!(
        store.record_call(&cdr).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.account(account.id).await.unwrap().balance.0,
        1000 - charge
    );
    let check = store.check_ledger().await.unwrap();
    assert_eq!(check.call_revenue.0, charge);
    assert_eq!(check.charged_calls.0, charge);

    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}

/// SIGKILL in the middle of a conversation: on restart the call journal's
/// recovery stores the record as `interrupted` (ended at the last journal
/// refresh) and it is charged then, exactly once; a replay is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_cut_by_sigkill_is_charged_once_when_recovered() {
    let setup = Setup::new("billing-midcall");
    let mut server = setup.start();
    let (mut trunk, mut station) = setup.dial("station_call_long.xml", 14400);
    // Bridged (the demo number is recorded); past the 10 s grace for
    // technical drops and a few journal refreshes (every 5 s).
    server.wait_for_within("recording", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(22));
    server.signal("KILL");
    let _ = server.wait_exit();
    for sipp in [&mut trunk, &mut station] {
        let _ = sipp.kill();
        let _ = sipp.wait();
    }
    assert!(setup.calls().is_empty(), "nothing stored before recovery");

    let args: Vec<&str> = setup.args.iter().map(String::as_str).collect();
    let mut server = Server::start(&args, &setup.dir);
    let recovered = server.wait_for("calls interrupted by a crash recorded");
    assert_eq!(recovered["calls"], 1);
    server.wait_ready();
    let call = first_call(&setup);
    assert_eq!(call["disposition"], "interrupted", "{call}");
    let billed = call["billable_seconds"].as_i64().unwrap();
    let charge = call["charge_cents"].as_i64().unwrap();
    assert!(billed > 10, "past the grace for technical drops: {call}");
    assert_eq!(charge, billed * 45 / 60, "{call}");
    let rows = setup.statement();
    let charges: Vec<_> = rows.iter().filter(|r| r[2] == "call").collect();
    assert_eq!(charges.len(), 1, "{rows:?}");
    assert_eq!(cents(&charges[0][7]), charge);
    assert_eq!(charges[0][3], call["id"].as_str().unwrap());
    let store = setup.store().await;
    let cdr = store.call(call["id"].as_str().unwrap()).await.unwrap();
    assert!(matches!(
        store.record_call(&cdr).await,
        Err(StoreError::Conflict(_))
    ));
    let check = store.check_ledger().await.unwrap();
    assert_eq!(
        (check.call_revenue.0, check.charged_calls.0),
        (charge, charge)
    );

    // A clean restart recovers nothing more and charges nothing more.
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
    let mut server = setup.start();
    assert_eq!(setup.statement().len(), rows.len());
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}

#[test]
fn an_invalid_tariff_file_stops_the_start_and_writes_nothing() {
    let dir = scratch("billing-bad-tariff");
    let tariffs = dir.join("tariffs");
    std::fs::create_dir_all(&tariffs).unwrap();
    std::fs::write(
        tariffs.join("2025-order.toml"),
        include_str!("../../../tariffs/2025-order.toml.example"),
    )
    .unwrap();
    let data = dir.join("data");
    let out = run(
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
            "--tariffs-dir",
            tariffs.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: invalid tariffs in"), "{err}");
    assert!(
        err.contains("2025-order.toml: audio_cap of tier prison is not filled in"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!data.exists(), "nothing written");
}

/// A call cut because its balance ran out says so: `calls list` (text and
/// JSON) names the limit, the statement's note says the balance was used
/// up; a call cut by the facility's call length gets no note. Records are
/// stored the way the switch stores them (rated in the same transaction).
#[test]
fn a_call_cut_by_the_balance_says_so_in_the_records_and_on_the_statement() {
    use callward_core::callflow::{Disposition, HungUpBy};
    use callward_core::{
        AccountId, CallDetailRecord, CallLimit, E164Number, FacilityId, PersonId, StationId,
    };
    use jiff::{SignedDuration, Timestamp};

    let dir = scratch("billing-limit");
    let data = dir.join("data");
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    // Keys first: the facility's creation is logged with their log key.
    ok(run(
        &["keys", "init", "--data-dir", data.to_str().unwrap()],
        &dir,
    ));
    ok(admin(
        &data,
        &[
            "facility",
            "create",
            "--name",
            "J",
            "--kind",
            "jail",
            "--adp",
            "500",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.1",
        ],
    ));
    ok(admin(
        &data,
        &["account", "open", "--number", "+15551230001"],
    ));
    ok(admin(
        &data,
        &[
            "account",
            "deposit",
            "1",
            "--amount",
            "0.10",
            "--reference",
            "r-1",
        ],
    ));
    let t0: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
    // At 7 c/min, $0.10 pays for 85 s: the call ran to it.
    let call = |id: &str, offset_h: i64, talk: i64, limit: CallLimit| {
        let offered = t0 + SignedDuration::from_hours(offset_h);
        CallDetailRecord {
            id: id.into(),
            facility_id: FacilityId(1),
            station_id: StationId(1),
            person_id: Some(PersonId(1)),
            number: Some(E164Number::parse("+15551230001").unwrap()),
            privileged: false,
            disposition: Disposition::Completed,
            hung_up_by: HungUpBy::System,
            offered_at: offered,
            answered_at: Some(offered + SignedDuration::from_secs(10)),
            accepted_at: Some(offered + SignedDuration::from_secs(20)),
            ended_at: offered + SignedDuration::from_secs(20 + talk),
            billable_seconds: u64::try_from(talk).unwrap(),
            time_limit_reached: true,
            limit: Some(limit),
            blocked_by_called_party: false,
            recording_id: None,
            rate_cents_per_minute: Some(7),
            payer_account_id: Some(AccountId(1)),
            charge_cents: 0,
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&data.join("callward.db")).await.unwrap();
        let charged = store
            .record_call(&call("c-len", 0, 60, CallLimit::CallLength))
            .await
            .unwrap();
        assert_eq!(charged.charge.0, 7);
        let charged = store
            .record_call(&call("c-bal", 1, 25, CallLimit::Balance))
            .await
            .unwrap();
        assert_eq!(charged.charge.0, 2);
        store.close().await;
    });

    let list = ok(run(
        &[
            "calls",
            "--data-dir",
            data.to_str().unwrap(),
            "list",
            "--json",
        ],
        &dir,
    ));
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["limit"], "call_length", "{list}");
    assert_eq!(list[1]["limit"], "balance", "{list}");
    assert_eq!(list[1]["time_limit_reached"], true, "{list}");
    let text = ok(run(
        &[
            "calls",
            "--data-dir",
            data.to_str().unwrap(),
            "show",
            "c-bal",
        ],
        &dir,
    ));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.trim_end().ends_with("limit:balance"), "{text}");

    let out = ok(admin(&data, &["account", "statement", "1", "--csv"]));
    let rows = read_csv(&String::from_utf8(out.stdout).unwrap());
    let calls: Vec<_> = rows.iter().filter(|r| r[2] == "call").collect();
    assert_eq!(calls.len(), 2, "{rows:?}");
    assert_eq!((calls[0][3].as_str(), calls[0][10].as_str()), ("c-len", ""));
    assert_eq!(
        (calls[1][3].as_str(), calls[1][10].as_str()),
        ("c-bal", "balance used up")
    );
    let out = ok(admin(&data, &["account", "statement", "1"]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(balance used up)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A technical drop through the binary: 5 s after acceptance the carrier's
/// BYE carries `Reason: Q.850;cause=41` (temporary failure). The call is
/// `failed` and charges nothing (no charge on the statement); the caller
/// redials at once, and that ordinary call is charged per second from its
/// own acceptance as the continuation of the dropped one: no first minute
/// is charged (there is none), only its own seconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_line_the_carrier_drops_is_free_and_a_redial_continues_it() {
    let setup = Setup::new("billing-drop");
    let mut server = setup.start();
    let (mut trunk, mut station) = setup.dial_with(
        "trunk_accept_drop_41.xml",
        "station_until_hangup.xml",
        15400,
    );
    let station_status = wait(&mut station, Duration::from_secs(100), "station SIPp");
    let trunk_status = wait(&mut trunk, Duration::from_secs(30), "trunk SIPp");
    assert!(
        station_status.success() && trunk_status.success(),
        "SIPp failed; server log: {:#?}",
        server.log
    );
    let logged = server.wait_for("call charged");
    assert_eq!(logged["charge_cents"], 0, "{logged}");
    let dropped = first_call(&setup);
    assert_eq!(dropped["disposition"], "failed", "{dropped}");
    assert_eq!(dropped["hung_up_by"], "outside", "{dropped}");
    assert_eq!(dropped["charge_cents"], 0, "{dropped}");
    let at = |call: &serde_json::Value, key: &str| -> jiff::Timestamp {
        call[key].as_str().unwrap().parse().unwrap()
    };
    let talked = at(&dropped, "ended_at")
        .duration_since(at(&dropped, "accepted_at"))
        .as_secs_f64();
    assert!((4.0..8.0).contains(&talked), "{talked} s: {dropped}");
    let dropped_id = dropped["id"].as_str().unwrap().to_owned();

    // The redial, within seconds: an ordinary call.
    setup.call(&server, 15600);
    let logged = server.wait_for("call charged");
    assert_eq!(logged["continuation_of"], dropped_id.as_str(), "{logged}");
    let calls = setup.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let redial = calls
        .iter()
        .find(|c| c["id"] != dropped_id.as_str())
        .unwrap();
    assert_eq!(redial["disposition"], "completed", "{redial}");
    let billed = redial["billable_seconds"].as_i64().unwrap();
    let charge = redial["charge_cents"].as_i64().unwrap();
    assert!(billed >= 3, "{redial}");
    assert_eq!(
        charge,
        billed * 45 / 60,
        "per second, no first minute: {redial}"
    );
    assert_eq!(logged["charge_cents"].as_i64(), Some(charge), "{logged}");

    // The statement: the deposit and one charge, the redial's.
    let rows = setup.statement();
    let charges: Vec<_> = rows.iter().filter(|r| r[2] == "call").collect();
    assert_eq!(charges.len(), 1, "{rows:?}");
    assert_eq!(charges[0][3], redial["id"].as_str().unwrap());
    assert_eq!(cents(&charges[0][7]), charge);
    assert_eq!(cents(&charges[0][9]), 1000 - charge);
    let check = setup.store().await.check_ledger().await.unwrap();
    assert_eq!(
        (check.call_revenue.0, check.charged_calls.0),
        (charge, charge)
    );
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}

/// What a test socket standing in for one party's RTP port received:
/// each packet's arrival and its payload.
struct Heard {
    packets: Vec<(Instant, Vec<u8>)>,
}

impl Heard {
    /// Receives on `socket` until `stop` is set.
    fn listen(
        socket: std::net::UdpSocket,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> std::thread::JoinHandle<Self> {
        std::thread::spawn(move || {
            socket
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut packets = Vec::new();
            let mut buf = [0u8; 2048];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    // RTP: version 2, 12-byte header, no CSRC or extension
                    // from this switch; PCMA (8) only.
                    if n > 12 && buf[0] >> 6 == 2 && buf[1] & 0x7f == 8 {
                        packets.push((Instant::now(), buf[12..n].to_vec()));
                    }
                }
            }
            Self { packets }
        })
    }

    /// When the prompt (its A-law file) began to arrive, if it did: the 20 ms
    /// frames of the file that are not near silence are looked for, byte
    /// for byte, in the received stream; at least 90% must be found, in
    /// order. Returns the arrival of the packet holding the first frame
    /// found, less that frame's offset in the prompt.
    fn prompt_started(&self, prompt: &[u8]) -> Option<Instant> {
        let stream: Vec<u8> = self.packets.iter().flat_map(|(_, p)| p.clone()).collect();
        let mut starts = Vec::with_capacity(self.packets.len());
        let mut at = 0;
        for (_, p) in &self.packets {
            starts.push(at);
            at += p.len();
        }
        let loud = |frame: &[u8]| {
            frame
                .iter()
                .filter(|&&c| callward_media::G711::Pcma.decode_sample(c).unsigned_abs() > 1000)
                .count()
                > 16
        };
        let frames: Vec<(usize, &[u8])> = prompt
            .chunks_exact(160)
            .enumerate()
            .filter(|(_, f)| loud(f))
            .collect();
        assert!(frames.len() > 50, "the prompt has speech");
        // Index the frames by their first 8 bytes, then scan the stream once.
        let mut index: std::collections::HashMap<[u8; 8], Vec<usize>> = Default::default();
        for (i, (_, f)) in frames.iter().enumerate() {
            index.entry(f[..8].try_into().unwrap()).or_default().push(i);
        }
        let mut found: Vec<Option<usize>> = vec![None; frames.len()];
        for pos in 0..stream.len().saturating_sub(160) {
            let key: [u8; 8] = stream[pos..pos + 8].try_into().unwrap();
            if let Some(candidates) = index.get(&key) {
                for &i in candidates {
                    if found[i].is_none() && stream[pos..pos + 160] == *frames[i].1 {
                        found[i] = Some(pos);
                    }
                }
            }
        }
        let hits: Vec<(usize, usize)> = found
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .collect();
        if hits.len() * 10 < frames.len() * 9 {
            return None;
        }
        // In order, and as one playout (no frame more than a second early
        // or late against the first).
        let (i0, p0) = hits[0];
        for &(i, p) in &hits {
            let expected = p0 as i64 + (frames[i].0 as i64 - frames[i0].0 as i64) * 160;
            assert!(
                (p as i64 - expected).abs() <= 8000,
                "prompt frames out of place"
            );
        }
        let packet = starts.partition_point(|&s| s <= p0) - 1;
        let offset = Duration::from_millis(20 * frames[i0].0 as u64);
        Some(self.packets[packet].0 - offset)
    }
}

/// The low-balance warning through the binary, heard on the wire. The
/// demo's second number gets 52 cents; at the test tariff's 45 c/min that
/// pays for 69 s of conversation. Both parties' RTP goes to sockets this
/// test holds (the SIPp scenarios' SDP names them), and in both streams
/// the `balance_warning` prompt's audio arrives 60 s before the
/// `balance_spent` prompt's; then the switch hangs up and the record says
/// the balance cut the call, charged all it could.
#[tokio::test(flavor = "multi_thread")]
async fn a_caller_short_of_money_hears_the_warning_a_minute_before_the_end() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let setup = Setup::new("billing-warning");
    let mut server = setup.start();
    let number = callward_core::E164Number::parse("+15551230002").unwrap();
    let account = setup
        .store()
        .await
        .prepaid_account(&number)
        .await
        .unwrap()
        .expect("the demo's second number has an account");
    let out = admin(
        &setup.data,
        &[
            "account",
            "deposit",
            &account.id.0.to_string(),
            "--amount",
            "0.52",
            "--reference",
            "low-balance-test",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stop = Arc::new(AtomicBool::new(false));
    let ear = |port: u16| {
        Heard::listen(
            std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap(),
            Arc::clone(&stop),
        )
    };
    // media_port + 4 of each SIPp (SIPp itself binds media_port and +2).
    let (outside_ear, station_ear) = (ear(15804), ear(15904));
    let (mut trunk, mut station) = setup.dial_with(
        "trunk_accept_listen.xml",
        "station_call_low_balance.xml",
        15800,
    );
    let station_status = wait(&mut station, Duration::from_secs(150), "station SIPp");
    let trunk_status = wait(&mut trunk, Duration::from_secs(30), "trunk SIPp");
    stop.store(true, Ordering::Relaxed);
    let (outside, caller) = (outside_ear.join().unwrap(), station_ear.join().unwrap());
    assert!(
        station_status.success() && trunk_status.success(),
        "SIPp failed; server log: {:#?}",
        server.log
    );

    let call = first_call(&setup);
    assert_eq!(call["disposition"], "completed", "{call}");
    assert_eq!(call["hung_up_by"], "system", "{call}");
    assert_eq!(call["time_limit_reached"], true, "{call}");
    assert_eq!(call["limit"], "balance", "{call}");
    let billed = call["billable_seconds"].as_i64().unwrap();
    assert!((68..=69).contains(&billed), "{call}");
    assert_eq!(
        call["charge_cents"].as_i64().unwrap(),
        billed * 45 / 60,
        "{call}"
    );

    let prompt = |name: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../prompts/en")
                .join(format!("{name}.al")),
        )
        .unwrap()
    };
    let (warning, spent) = (prompt("balance_warning"), prompt("balance_spent"));
    // The caller hears the trunk's speech for the whole call (over 1,000
    // packets of 20 ms); the station sends no speech, so the called party
    // hears only prompts: at least the notice, the warning and the end.
    let prompts_packets = (warning.len() + spent.len()) / 160;
    for (who, heard, least) in [
        ("called party", &outside, prompts_packets),
        ("caller", &caller, 1000),
    ] {
        assert!(
            heard.packets.len() > least,
            "{who}: {} packets, expected more than {least}",
            heard.packets.len()
        );
        let warned = heard
            .prompt_started(&warning)
            .unwrap_or_else(|| panic!("the {who} never heard the balance warning"));
        let ended = heard
            .prompt_started(&spent)
            .unwrap_or_else(|| panic!("the {who} never heard that the balance ran out"));
        let before = ended.duration_since(warned).as_secs_f64();
        eprintln!("{who}: warning heard {before:.2} s before the end");
        assert!(
            (59.0..61.5).contains(&before),
            "{who}: the warning came {before:.2} s before the end"
        );
    }

    let rows = admin(
        &setup.data,
        &["account", "statement", &account.id.0.to_string(), "--csv"],
    );
    let rows = read_csv(&String::from_utf8(rows.stdout).unwrap());
    let charged: Vec<_> = rows.iter().filter(|r| r[2] == "call").collect();
    assert_eq!(charged.len(), 1, "{rows:?}");
    assert_eq!(charged[0][10], "balance used up", "{rows:?}");
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{:#?}", server.log);
}
