//! Billing through the real binary: `callward serve --demo` with a tariff
//! directory, SIPp as station-101 and as the trunk (accepting), then the
//! call's charge on `callward admin account statement --csv`, reconciled
//! with `calls list --json` and the stored ledger; and a server killed with
//! SIGKILL right after a call's record is stored keeps exactly one charge.
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
        let trunk = sipp(
            "trunk_answer_accept.xml",
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
    ok(run(
        &["keys", "init", "--data-dir", data.to_str().unwrap()],
        &dir,
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
