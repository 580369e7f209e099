//! Investigator search (`SqliteStore::search_calls`): every filter against
//! a model of the rows, paging without gaps or repeats (including calls
//! that share a millisecond), page-size limits, cursors, and how a number
//! search treats privileged calls and numbers.

use std::path::Path;

use callward_core::callflow::Disposition;
use callward_core::{E164Number, FacilityId, PersonId};
use callward_store::{
    CallSearch, Cursor, MAX_PAGE_SIZE, NumberMatch, PageRequest, SqliteStore, StoreError,
};
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// One stored call, as the model sees it.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    facility: i64,
    person: Option<i64>,
    number: Option<String>,
    privileged: bool,
    disposition: &'static str,
    offered_ms: i64,
    billable: i64,
    time_limit: bool,
    blocked: bool,
}

const T0: i64 = 1_780_000_000_000;
const DISPOSITIONS: [&str; 5] = [
    "completed",
    "no_answer",
    "refused",
    "denied:not_approved",
    "busy",
];

fn number(i: u64) -> String {
    format!("+1555200{:04}", i)
}

/// 600 rows over 3 facilities, 7 people (and none), 9 numbers; offered
/// times on a coarse grid so many calls share a millisecond; ids not in
/// time order.
fn model() -> Vec<Row> {
    (0..600u64)
        .map(|i| {
            let k = i.wrapping_mul(2_654_435_761) % 1_000_003;
            let disposition = DISPOSITIONS[(k % 5) as usize];
            let completed = disposition == "completed";
            Row {
                id: format!("call-{:08x}", k.wrapping_mul(31) ^ i),
                facility: 1 + (i % 3) as i64,
                person: (i % 8 != 7).then_some((k % 7) as i64 + 10),
                number: (i % 11 != 10).then(|| number(k % 9)),
                privileged: k % 9 == 8,
                disposition,
                // 40 distinct times, 15 calls each on average.
                offered_ms: T0 + ((k % 40) as i64) * 3_600_000,
                billable: if completed { (k % 900) as i64 } else { 0 },
                time_limit: completed && k % 4 == 0,
                blocked: disposition == "refused" && k % 2 == 0,
            }
        })
        .collect()
}

async fn pool_of(path: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn store_with(rows: &[Row]) -> (SqliteStore, SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callward.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let pool = pool_of(&path).await;
    for f in 1..=3 {
        sqlx::query(
            "INSERT INTO facilities (id, name, kind, average_daily_population, timezone,
                 calling_hours, max_call_minutes, requires_approved_list, pin_length, created_ms)
             VALUES (?, ?, 'jail', 100, 'America/Chicago', '07:00-22:00', 15, 1, 6, 0)",
        )
        .bind(f)
        .bind(format!("Facility {f}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    insert(&pool, rows).await;
    (store, pool, dir)
}

async fn insert(pool: &SqlitePool, rows: &[Row]) {
    for r in rows {
        sqlx::query(
            "INSERT INTO calls (id, facility_id, station_id, person_id, number, privileged,
                 disposition, hung_up_by, offered_ms, ended_ms, billable_seconds,
                 time_limit_reached, blocked_by_called_party, charge_cents)
             VALUES (?, ?, 1, ?, ?, ?, ?, 'station', ?, ?, ?, ?, ?, 0)",
        )
        .bind(&r.id)
        .bind(r.facility)
        .bind(r.person)
        .bind(&r.number)
        .bind(r.privileged)
        .bind(r.disposition)
        .bind(r.offered_ms)
        .bind(r.offered_ms + 1000 * r.billable + 30_000)
        .bind(r.billable)
        .bind(r.time_limit)
        .bind(r.blocked)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Every page of `search` at `size`, checked for order and the cursor
/// rule; the ids in order.
async fn all_pages(store: &SqliteStore, search: &CallSearch, size: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(size);
    for _ in 0..10_000 {
        let got = store.search_calls(search, &page).await.unwrap();
        assert!(got.items.len() <= size as usize);
        if got.next.is_some() {
            assert_eq!(
                got.items.len(),
                size as usize,
                "only the last page is short"
            );
        }
        ids.extend(got.items.iter().map(|c| c.id.clone()));
        match got.next {
            Some(next) => page.after = Some(next),
            None => return ids,
        }
    }
    panic!("paging did not end");
}

/// The model's answer: matching rows by (offered, id).
fn expected(rows: &[Row], keep: impl Fn(&Row) -> bool) -> Vec<String> {
    let mut m: Vec<&Row> = rows.iter().filter(|r| keep(r)).collect();
    m.sort_by(|a, b| (a.offered_ms, &a.id).cmp(&(b.offered_ms, &b.id)));
    m.iter().map(|r| r.id.clone()).collect()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

#[tokio::test]
async fn every_filter_matches_the_model_at_every_page_size() {
    let rows = model();
    let (store, _pool, _dir) = store_with(&rows).await;
    let n3 = number(3);
    let n8 = number(8);
    let from = T0 + 10 * 3_600_000;
    let until = T0 + 25 * 3_600_000;
    type Keep = Box<dyn Fn(&Row) -> bool>;
    let cases: Vec<(&str, CallSearch, Keep)> = vec![
        ("everything", CallSearch::default(), Box::new(|_| true)),
        (
            "person",
            CallSearch {
                person: Some(PersonId(12)),
                ..CallSearch::default()
            },
            Box::new(|r| r.person == Some(12)),
        ),
        (
            "number (ordinary)",
            CallSearch {
                number: Some(E164Number::parse(&n3).unwrap()),
                ..CallSearch::default()
            },
            Box::new(move |r| r.number.as_deref() == Some(n3.as_str()) && !r.privileged),
        ),
        (
            "number, privileged included",
            CallSearch {
                number: Some(E164Number::parse(&n8).unwrap()),
                number_match: NumberMatch::IncludePrivileged,
                ..CallSearch::default()
            },
            Box::new(move |r| r.number.as_deref() == Some(n8.as_str())),
        ),
        (
            "facility",
            CallSearch {
                facility: Some(FacilityId(2)),
                ..CallSearch::default()
            },
            Box::new(|r| r.facility == 2),
        ),
        (
            "date range",
            CallSearch {
                from: Some(ts(from)),
                until: Some(ts(until)),
                ..CallSearch::default()
            },
            Box::new(move |r| r.offered_ms >= from && r.offered_ms < until),
        ),
        (
            "from only",
            CallSearch {
                from: Some(ts(from)),
                ..CallSearch::default()
            },
            Box::new(move |r| r.offered_ms >= from),
        ),
        (
            "disposition",
            CallSearch {
                disposition: Some("denied:not_approved".parse::<Disposition>().unwrap()),
                ..CallSearch::default()
            },
            Box::new(|r| r.disposition == "denied:not_approved"),
        ),
        (
            "facility and disposition",
            CallSearch {
                facility: Some(FacilityId(1)),
                disposition: Some(Disposition::Completed),
                ..CallSearch::default()
            },
            Box::new(|r| r.facility == 1 && r.disposition == "completed"),
        ),
        (
            "duration range",
            CallSearch {
                min_seconds: Some(120),
                max_seconds: Some(600),
                ..CallSearch::default()
            },
            Box::new(|r| (120..=600).contains(&r.billable)),
        ),
        (
            "privileged",
            CallSearch {
                privileged: Some(true),
                ..CallSearch::default()
            },
            Box::new(|r| r.privileged),
        ),
        (
            "not privileged",
            CallSearch {
                privileged: Some(false),
                ..CallSearch::default()
            },
            Box::new(|r| !r.privileged),
        ),
        (
            "time limit reached",
            CallSearch {
                time_limit_reached: Some(true),
                ..CallSearch::default()
            },
            Box::new(|r| r.time_limit),
        ),
        (
            "blocked",
            CallSearch {
                blocked: Some(true),
                ..CallSearch::default()
            },
            Box::new(|r| r.blocked),
        ),
        (
            "person, facility, range and minimum length",
            CallSearch {
                person: Some(PersonId(10)),
                facility: Some(FacilityId(3)),
                from: Some(ts(from)),
                until: Some(ts(until)),
                min_seconds: Some(1),
                ..CallSearch::default()
            },
            Box::new(move |r| {
                r.person == Some(10)
                    && r.facility == 3
                    && r.offered_ms >= from
                    && r.offered_ms < until
                    && r.billable >= 1
            }),
        ),
        (
            "nothing matches",
            CallSearch {
                person: Some(PersonId(999)),
                ..CallSearch::default()
            },
            Box::new(|_| false),
        ),
    ];
    for (name, search, keep) in &cases {
        let want = expected(&rows, keep);
        for size in [1, 7, 50, MAX_PAGE_SIZE] {
            let got = all_pages(&store, search, size).await;
            assert_eq!(got, want, "{name}, pages of {size}");
        }
        if *name != "nothing matches" {
            assert!(!want.is_empty(), "{name}: the model should have matches");
        }
    }
}

#[tokio::test]
async fn pages_through_calls_sharing_one_millisecond_without_gaps_or_repeats() {
    // 1,000 calls in the same millisecond, ids inserted in random order.
    let rows: Vec<Row> = (0..1000u64)
        .map(|i| Row {
            id: format!("c{:06}", (i * 7919) % 1000),
            facility: 1,
            person: Some(1),
            number: Some(number(1)),
            privileged: false,
            disposition: "completed",
            offered_ms: T0,
            billable: 60,
            time_limit: false,
            blocked: false,
        })
        .collect();
    let (store, _pool, _dir) = store_with(&rows).await;
    let want = expected(&rows, |_| true);
    for search in [
        CallSearch::default(),
        CallSearch {
            person: Some(PersonId(1)),
            ..CallSearch::default()
        },
        CallSearch {
            facility: Some(FacilityId(1)),
            disposition: Some(Disposition::Completed),
            ..CallSearch::default()
        },
    ] {
        let got = all_pages(&store, &search, 33).await;
        assert_eq!(got.len(), 1000);
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn calls_stored_while_paging_appear_in_their_place_and_none_repeat() {
    let rows = model();
    let (store, pool, _dir) = store_with(&rows).await;
    let search = CallSearch::default();
    let first = store
        .search_calls(&search, &PageRequest::first(100))
        .await
        .unwrap();
    let cursor = first.next.clone().unwrap();
    let last = first.items.last().unwrap().clone();
    // One call before the cursor's key (must not appear), one at its
    // millisecond after its id and one later (must both appear).
    let late = |id: &str, offered_ms: i64| Row {
        id: id.to_owned(),
        offered_ms,
        ..rows[0].clone()
    };
    let before = late("aaaa-before", T0 - 1);
    let same_ms = late(&format!("{}~", last.id), last.offered_at.as_millisecond());
    let after = late("zzzz-after", T0 + 100 * 3_600_000);
    insert(&pool, &[before.clone(), same_ms.clone(), after.clone()]).await;
    let mut rest = Vec::new();
    let mut page = PageRequest {
        after: Some(cursor),
        size: 100,
    };
    loop {
        let got = store.search_calls(&search, &page).await.unwrap();
        rest.extend(got.items.iter().map(|c| c.id.clone()));
        match got.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    let mut all_rows = rows.clone();
    all_rows.extend([same_ms, after]);
    let want = expected(&all_rows, |_| true);
    let seen: Vec<String> = first
        .items
        .iter()
        .map(|c| c.id.clone())
        .chain(rest)
        .collect();
    assert_eq!(seen, want);
    assert!(!seen.contains(&before.id));
}

#[tokio::test]
async fn page_size_is_one_to_five_hundred() {
    let (store, _pool, _dir) = store_with(&model()).await;
    for size in [0, MAX_PAGE_SIZE + 1, u32::MAX] {
        let err = store
            .search_calls(&CallSearch::default(), &PageRequest::first(size))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{size}: {err}");
    }
    let page = store
        .search_calls(&CallSearch::default(), &PageRequest::first(MAX_PAGE_SIZE))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 500);
    assert!(page.next.is_some());
}

#[test]
fn cursor_text_round_trips_and_rejects_junk() {
    let c: Cursor = "1780000000000:call-1:with:colons".parse().unwrap();
    assert_eq!(c.to_string(), "1780000000000:call-1:with:colons");
    for junk in ["", ":", "12", "x:call", "12:", "1.5:call"] {
        assert!(junk.parse::<Cursor>().is_err(), "{junk:?}");
    }
}

#[tokio::test]
async fn a_number_search_finds_no_privileged_call_nor_a_registered_number() {
    let attorney = number(7001);
    let later_attorney = number(7002);
    let rejected = number(7003);
    let call = |id: &str, n: &str, privileged: bool| Row {
        id: id.to_owned(),
        facility: 1,
        person: Some(1),
        number: Some(n.to_owned()),
        privileged,
        disposition: "completed",
        offered_ms: T0,
        billable: 300,
        time_limit: false,
        blocked: false,
    };
    let rows = vec![
        call("a1", &attorney, true),
        // Called before the number was registered, so stored unprivileged.
        call("b1", &later_attorney, false),
        call("b2", &later_attorney, true),
        call("c1", &rejected, false),
    ];
    let (store, pool, _dir) = store_with(&rows).await;
    for (n, verification) in [
        (&attorney, "verified"),
        (&later_attorney, "pending"),
        (&rejected, "rejected"),
    ] {
        sqlx::query(
            "INSERT INTO privileged_numbers (number, attorney_name, bar_number, bar_state,
                 verification, created_ms) VALUES (?, 'A. Lawyer', '123', 'TX', ?, 0)",
        )
        .bind(n)
        .bind(verification)
        .execute(&pool)
        .await
        .unwrap();
    }
    let by = |n: &str, number_match| CallSearch {
        number: Some(E164Number::parse(n).unwrap()),
        number_match,
        ..CallSearch::default()
    };
    let ids = |search: CallSearch| {
        let store = store.clone();
        async move { all_pages(&store, &search, 10).await }
    };
    // Fail closed by default, for verified and pending registrations.
    assert!(ids(by(&attorney, NumberMatch::default())).await.is_empty());
    assert!(
        ids(by(&later_attorney, NumberMatch::ExcludePrivileged))
            .await
            .is_empty()
    );
    // A rejected registration is an ordinary number.
    assert_eq!(
        ids(by(&rejected, NumberMatch::ExcludePrivileged)).await,
        ["c1"]
    );
    // Only the explicit mode finds them.
    assert_eq!(
        ids(by(&attorney, NumberMatch::IncludePrivileged)).await,
        ["a1"]
    );
    assert_eq!(
        ids(by(&later_attorney, NumberMatch::IncludePrivileged)).await,
        ["b1", "b2"]
    );
    // Searches without a number still list privileged calls (shown masked
    // by the caller).
    assert_eq!(
        ids(CallSearch {
            privileged: Some(true),
            ..CallSearch::default()
        })
        .await,
        ["a1", "b2"]
    );
}

#[tokio::test]
async fn the_investigator_shapes_are_index_range_scans_without_a_sort() {
    let (store, _pool, _dir) = store_with(&model()).await;
    let range = |search: CallSearch| CallSearch {
        from: Some(ts(T0)),
        until: Some(ts(T0 + 86_400_000)),
        ..search
    };
    let cursor: Cursor = format!("{T0}:call-0").parse().unwrap();
    for (search, index) in [
        (
            range(CallSearch {
                person: Some(PersonId(12)),
                ..CallSearch::default()
            }),
            "calls_search_by_person",
        ),
        (
            CallSearch {
                number: Some(E164Number::parse(&number(3)).unwrap()),
                ..CallSearch::default()
            },
            "calls_search_by_number",
        ),
        (
            range(CallSearch {
                facility: Some(FacilityId(1)),
                disposition: Some(Disposition::Completed),
                ..CallSearch::default()
            }),
            "calls_search_by_facility_disposition",
        ),
    ] {
        for after in [None, Some(cursor.clone())] {
            let page = PageRequest { after, size: 50 };
            let plan = store.search_calls_plan(&search, &page).await.unwrap();
            let text = plan.join("\n");
            assert!(
                plan.iter()
                    .any(|l| l.contains("SEARCH calls USING INDEX") && l.contains(index)),
                "{index}: {text}"
            );
            assert!(!text.contains("TEMP B-TREE"), "{index}: {text}");
        }
    }
}
