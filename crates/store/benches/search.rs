//! Investigator search figures for BENCHMARKS.md: `SqliteStore::search_calls`
//! over synthetic call records (default 10 million).
//!
//! The database is generated once and cached (default
//! `<target dir>/search-bench/calls-<N>.db`; `SEARCH_BENCH_DB` overrides);
//! it is regenerated when its schema version is not the store's. Then, for
//! each of three investigator shapes, `SEARCH_BENCH_QUERIES` (default 400)
//! random queries each ask for the first page of 50 rows:
//!
//! - by person and a 30-day range of offered time;
//! - by number (privileged numbers excluded, as investigators search);
//! - by facility and disposition over one day.
//!
//! Each query is timed wall-clock and on-CPU (the sum over this process's
//! threads from `/proc/self/task/*/schedstat`, since sqlx runs SQLite on its
//! own worker thread), and p50/p99 of both are printed with the load
//! average and each shape's query plan.
//!
//! `cargo bench -p callward-store --bench search`; `SEARCH_BENCH_CALLS`
//! sets the size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use callward_core::callflow::Disposition;
use callward_core::{E164Number, FacilityId, PersonId};
use callward_store::{CallSearch, PageRequest, SqliteStore};
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, SqliteConnection};

const FACILITIES: u64 = 20;
const PEOPLE: u64 = 50_000;
const NUMBERS: u64 = 500_000;
const ATTORNEYS: u64 = 2_000;
const DAYS: i64 = 730;
/// 2024-11-22T00:00:00Z: two years before the benchmark was written.
const START_MS: i64 = 1_732_233_600_000;
const DAY_MS: i64 = 86_400_000;
const ROWS_PER_INSERT: usize = 100;
const ROWS_PER_TRANSACTION: u64 = 200_000;

/// Disposition shares in per mille, roughly as a jail's call records show
/// them: most calls are completed; unanswered, refused and denied
/// (unapproved number, no money, wrong PIN) calls make up the rest.
const DISPOSITIONS: [(&str, u64); 14] = [
    ("completed", 520),
    ("no_answer", 140),
    ("not_accepted", 80),
    ("abandoned", 60),
    ("busy", 40),
    ("refused", 30),
    ("failed", 20),
    ("denied:not_approved", 30),
    ("denied:insufficient_balance", 30),
    ("denied:unknown_pin", 20),
    ("denied:outside_calling_hours", 10),
    ("denied:daily_limit_reached", 10),
    ("denied:blocked_by_person", 5),
    ("denied:already_on_call", 5),
];

/// splitmix64: a small deterministic generator, so every run builds the
/// same database and asks the same queries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn mix(a: u64, b: u64) -> u64 {
    Rng(a.wrapping_mul(0x1000_0000_01b3) ^ b).next()
}

/// A valid NANP number for index `m` (< 635,209 distinct).
fn number(m: u64) -> String {
    format!(
        "+1{}{}{:04}",
        201 + m % 797,
        201 + (m / 797) % 797,
        mix(m, 7) % 10_000
    )
}

/// Facility sizes are uneven: facility f has weight 1 + f % 7 (a few
/// prisons, many jails). Its people are a contiguous range of ids.
fn facility_of_person(p: u64) -> u64 {
    let total: u64 = (0..FACILITIES).map(|f| 1 + f % 7).sum();
    let mut acc = 0;
    for f in 0..FACILITIES {
        acc += 1 + f % 7;
        if p * total < acc * PEOPLE {
            return f + 1;
        }
    }
    FACILITIES
}

/// Person p's contacts: 3 to 14 numbers, drawn from a pool where low
/// indexes are more popular (shared family lines); one in 25 people has an
/// attorney number (the first `ATTORNEYS` indexes) among them.
fn contact(p: u64, pick: u64) -> u64 {
    let count = 3 + mix(p, 1) % 12;
    // The first contact takes half the calls.
    let j = if pick.is_multiple_of(2) {
        0
    } else {
        pick / 2 % count
    };
    if j == count - 1 && mix(p, 2).is_multiple_of(25) {
        return mix(p, 3) % ATTORNEYS;
    }
    let r = mix(p, 10 + j);
    // Skewed: squaring a uniform draw favours low indexes.
    let u = (r >> 11) as f64 / (1u64 << 53) as f64;
    ATTORNEYS + ((u * u) * (NUMBERS - ATTORNEYS) as f64) as u64
}

fn disposition(r: u64) -> &'static str {
    let mut x = r % 1000;
    for (d, share) in DISPOSITIONS {
        if x < share {
            return d;
        }
        x -= share;
    }
    "completed"
}

struct Call {
    id: String,
    facility: u64,
    station: u64,
    person: Option<u64>,
    number: Option<String>,
    privileged: bool,
    disposition: &'static str,
    hung_up_by: &'static str,
    offered_ms: i64,
    answered_ms: Option<i64>,
    accepted_ms: Option<i64>,
    ended_ms: i64,
    billable: i64,
    time_limit: bool,
    blocked: bool,
    recording: Option<String>,
    rate: Option<i64>,
    charge: i64,
}

fn call(seq: u64, rng: &mut Rng) -> Call {
    // Calls spread evenly over the days, 07:00 to 22:00 local
    // (UTC-6 for all, for simplicity).
    let day = (seq as i64 * DAYS) / calls_total() as i64;
    let minute = 7 * 60 + 6 * 60 + rng.below(15 * 60) as i64;
    let offered_ms = START_MS + day * DAY_MS + minute * 60_000 + rng.below(60_000) as i64;
    let person_id = rng.below(PEOPLE);
    let facility = facility_of_person(person_id);
    let d = disposition(rng.next());
    let wrong_pin = d == "denied:unknown_pin";
    let m = contact(person_id, rng.next());
    let privileged = m < ATTORNEYS;
    let answered = matches!(d, "completed" | "refused" | "not_accepted");
    let completed = d == "completed";
    // Conversation: mostly 2-15 minutes, a fifth cut at the 15-minute limit.
    let billable = if completed {
        if rng.below(5) == 0 {
            900
        } else {
            30 + rng.below(870) as i64
        }
    } else {
        0
    };
    let ring = 5_000 + rng.below(20_000) as i64;
    let answered_ms = answered.then_some(offered_ms + 20_000 + ring);
    let accepted_ms = completed.then(|| offered_ms + 35_000 + ring);
    let ended_ms = accepted_ms.map_or(offered_ms + 25_000 + ring, |a| a + billable * 1000);
    let rate = (completed && !privileged).then_some(14);
    Call {
        id: format!("{:016x}-{seq:08}", mix(seq, 99)),
        facility,
        station: facility * 100 + rng.below(40),
        person: (!wrong_pin).then_some(person_id + 1),
        number: (!wrong_pin).then(|| number(m)),
        privileged: privileged && !wrong_pin,
        disposition: d,
        hung_up_by: if billable == 900 {
            "system"
        } else if rng.below(2) == 0 {
            "station"
        } else {
            "outside"
        },
        offered_ms,
        answered_ms,
        accepted_ms,
        ended_ms,
        billable,
        time_limit: billable == 900,
        blocked: d == "refused" && rng.below(10) == 0,
        recording: (completed && !privileged).then(|| format!("rec-{seq:010}")),
        rate,
        charge: rate.map_or(0, |r| r * ((billable + 59) / 60)),
    }
}

type Insert<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds one call's 18 columns, in the insert's order.
fn bind<'q>(q: Insert<'q>, k: &'q Call) -> Insert<'q> {
    q.bind(&k.id)
        .bind(k.facility as i64)
        .bind(k.station as i64)
        .bind(k.person.map(|p| p as i64))
        .bind(&k.number)
        .bind(k.privileged)
        .bind(k.disposition)
        .bind(k.hung_up_by)
        .bind(k.offered_ms)
        .bind(k.answered_ms)
        .bind(k.accepted_ms)
        .bind(k.ended_ms)
        .bind(k.billable)
        .bind(k.time_limit)
        .bind(k.blocked)
        .bind(&k.recording)
        .bind(k.rate)
        .bind(k.charge)
}

fn calls_total() -> u64 {
    std::env::var("SEARCH_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

fn db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SEARCH_BENCH_DB") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target
        .join("search-bench")
        .join(format!("calls-{}.db", calls_total()))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Nanoseconds all of this process's threads have spent on a CPU.
fn process_on_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .pragma("cache_size", "-1000000")
        .connect()
        .await
        .unwrap()
}

/// The cached database's schema version, if it is complete.
async fn cached_version(path: &Path) -> Option<i64> {
    if !path.exists() {
        return None;
    }
    let mut c = raw(path).await;
    let done: Option<i64> = sqlx::query_scalar("SELECT calls FROM bench_generated")
        .fetch_optional(&mut c)
        .await
        .ok()
        .flatten();
    if done != Some(calls_total() as i64) {
        return None;
    }
    sqlx::query_scalar("SELECT max(version) FROM schema_migrations")
        .fetch_one(&mut c)
        .await
        .ok()
}

async fn generate(path: &Path) {
    let total = calls_total();
    let started = Instant::now();
    let cpu0 = process_on_cpu_ns();
    // The store creates the schema; rows go in through one connection
    // with the search indexes dropped, which are then rebuilt from their
    // own definitions (a sort each, much faster than 10 million inserts
    // into five random-order B-trees).
    SqliteStore::open(path).await.unwrap().close().await;
    let mut c = raw(path).await;
    for f in 1..=FACILITIES {
        sqlx::query(
            "INSERT INTO facilities (id, name, kind, average_daily_population, timezone,
                 calling_hours, max_call_minutes, requires_approved_list, pin_length, created_ms)
             VALUES (?, ?, 'jail', 500, 'America/Chicago', '07:00-22:00', 15, 1, 6, 0)",
        )
        .bind(f as i64)
        .bind(format!("Facility {f}"))
        .execute(&mut c)
        .await
        .unwrap();
    }
    for m in 0..ATTORNEYS {
        sqlx::query(
            "INSERT INTO privileged_numbers (number, attorney_name, bar_number, bar_state,
                 verification, created_ms) VALUES (?, 'Attorney', ?, 'TX', 'verified', 0)",
        )
        .bind(number(m))
        .bind(m.to_string())
        .execute(&mut c)
        .await
        .unwrap();
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for (name, _) in &indexes {
        sqlx::query(AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let insert = "INSERT INTO calls (id, facility_id, station_id, person_id, number, privileged,
             disposition, hung_up_by, offered_ms, answered_ms, accepted_ms, ended_ms,
             billable_seconds, time_limit_reached, blocked_by_called_party, recording_id,
             rate_cents_per_minute, charge_cents) VALUES ";
    let row = format!("({})", ["?"; 18].join(","));
    let multi = format!("{insert}{}", vec![row.as_str(); ROWS_PER_INSERT].join(","));
    let single = format!("{insert}{row}");
    let mut rng = Rng(0x5eed);
    let mut seq = 0;
    while seq < total {
        let mut tx = c.begin().await.unwrap();
        let end = (seq + ROWS_PER_TRANSACTION).min(total);
        while seq < end {
            let n = ((end - seq) as usize).min(ROWS_PER_INSERT);
            let calls: Vec<Call> = (seq..seq + n as u64).map(|s| call(s, &mut rng)).collect();
            seq += n as u64;
            if n == ROWS_PER_INSERT {
                let mut q = sqlx::query(AssertSqlSafe(multi.clone()));
                for k in &calls {
                    q = bind(q, k);
                }
                q.execute(&mut *tx).await.unwrap();
            } else {
                // The short tail, one row at a time.
                for k in &calls {
                    bind(sqlx::query(AssertSqlSafe(single.clone())), k)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
            }
        }
        tx.commit().await.unwrap();
        if seq % 1_000_000 == 0 || seq == total {
            println!(
                "  generated {seq} calls in {:.0} s (load {})",
                started.elapsed().as_secs_f64(),
                load()
            );
        }
    }
    let rows_done = started.elapsed().as_secs_f64();
    for (name, sql) in &indexes {
        let t = Instant::now();
        sqlx::query(AssertSqlSafe(sql.clone()))
            .execute(&mut c)
            .await
            .unwrap();
        println!("  index {name}: {:.0} s", t.elapsed().as_secs_f64());
    }
    sqlx::query("ANALYZE").execute(&mut c).await.unwrap();
    sqlx::query("CREATE TABLE bench_generated (calls INTEGER NOT NULL)")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("INSERT INTO bench_generated VALUES (?)")
        .bind(total as i64)
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "generated {total} calls in {:.0} s wall ({:.0} s rows, the rest indexes and ANALYZE; \
         {:.0} s on-CPU in this process); database {:.2} GB; load {}",
        started.elapsed().as_secs_f64(),
        rows_done,
        (process_on_cpu_ns() - cpu0) as f64 / 1e9,
        size as f64 / 1e9,
        load()
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let path = db_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // The store's schema version, from a scratch database.
    let scratch = tempfile::tempdir().unwrap();
    let current = {
        let s = SqliteStore::open(&scratch.path().join("v.db"))
            .await
            .unwrap();
        let v = s.schema_version().await.unwrap();
        s.close().await;
        v
    };
    match cached_version(&path).await {
        Some(v) if v == current => println!("reusing {} (schema {v})", path.display()),
        other => {
            println!(
                "generating {} (cached schema {other:?}, store schema {current})",
                path.display()
            );
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            generate(&path).await;
        }
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let queries: usize = std::env::var("SEARCH_BENCH_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let mut rng = Rng(0xbe4c);
    let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap();
    type Shape = (&'static str, Box<dyn FnMut(&mut Rng) -> CallSearch>);
    let shapes: Vec<Shape> = vec![
        (
            "person + 30 days",
            Box::new(move |rng: &mut Rng| {
                let start = START_MS + rng.below((DAYS - 30) as u64) as i64 * DAY_MS;
                CallSearch {
                    person: Some(PersonId(rng.below(PEOPLE) as i64 + 1)),
                    from: Some(at(start)),
                    until: Some(at(start + 30 * DAY_MS)),
                    ..CallSearch::default()
                }
            }),
        ),
        (
            "number",
            Box::new(|rng: &mut Rng| {
                // A number someone calls, picked as investigators would:
                // from a random person's contacts.
                let m = contact(rng.below(PEOPLE), rng.next());
                CallSearch {
                    number: Some(E164Number::parse(&number(m)).unwrap()),
                    ..CallSearch::default()
                }
            }),
        ),
        (
            "facility + disposition + 1 day",
            Box::new(move |rng: &mut Rng| {
                let start = START_MS + rng.below(DAYS as u64) as i64 * DAY_MS;
                let d = disposition(rng.next());
                CallSearch {
                    facility: Some(FacilityId(rng.below(FACILITIES) as i64 + 1)),
                    disposition: Some(d.parse::<Disposition>().unwrap()),
                    from: Some(at(start)),
                    until: Some(at(start + DAY_MS)),
                    ..CallSearch::default()
                }
            }),
        ),
    ];
    let page = PageRequest::first(50);
    // Reading every thread's schedstat costs CPU itself: measure a probe
    // pair with nothing between and take it off each figure.
    let mut probe: Vec<u64> = (0..200)
        .map(|_| {
            let a = process_on_cpu_ns();
            process_on_cpu_ns().saturating_sub(a)
        })
        .collect();
    probe.sort_unstable();
    let probe_ns = probe[probe.len() / 2];
    println!(
        "on-CPU probe overhead {:.3} ms (subtracted); load {}",
        probe_ns as f64 / 1e6,
        load()
    );
    println!(
        "{:<32} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7}  load",
        "query (first page of 50)", "queries", "p50 cpu", "p99 cpu", "p50 wall", "p99 wall", "rows"
    );
    for (name, mut make) in shapes {
        let plan = store
            .search_calls_plan(&make(&mut Rng(1)), &page)
            .await
            .unwrap();
        // Warm up: the first queries pull the upper index pages in.
        for _ in 0..20 {
            store.search_calls(&make(&mut rng), &page).await.unwrap();
        }
        let mut cpu = Vec::with_capacity(queries);
        let mut wall = Vec::with_capacity(queries);
        let mut rows = 0usize;
        for _ in 0..queries {
            let search = make(&mut rng);
            let c0 = process_on_cpu_ns();
            let t0 = Instant::now();
            let got = store.search_calls(&search, &page).await.unwrap();
            wall.push(t0.elapsed().as_secs_f64() * 1e3);
            cpu.push(process_on_cpu_ns().saturating_sub(c0 + probe_ns) as f64 / 1e6);
            rows += got.items.len();
        }
        cpu.sort_by(f64::total_cmp);
        wall.sort_by(f64::total_cmp);
        println!(
            "{name:<32} {queries:>8} {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.1}  {}",
            percentile(&cpu, 0.5),
            percentile(&cpu, 0.99),
            percentile(&wall, 0.5),
            percentile(&wall, 0.99),
            rows as f64 / queries as f64,
            load()
        );
        println!("    plan: {}", plan.join(" | "));
    }
    store.close().await;
}
