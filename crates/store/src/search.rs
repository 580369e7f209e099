//! Investigator search over call records (migration 9): filters on the
//! caller, the dialled number, the facility, the offered time, the
//! disposition, the conversation length and the call's flags, returned a
//! page at a time in a stable order.
//!
//! Order and paging: records come oldest first by offered time, then by
//! call id, and a page ends with a [`Cursor`] naming the last record
//! returned. The next page is everything strictly after that key, so no
//! record is skipped or repeated across pages, even when many calls share
//! a millisecond, and records stored while an investigator pages through
//! appear in their place. Each filter the indexes cover (person, number,
//! facility, facility and disposition) is one range scan that stops after
//! the page's rows; the other filters are checked on the rows scanned.
//!
//! Privileged numbers: by default ([`NumberMatch::ExcludePrivileged`]) a
//! search by number never finds a privileged call, and finds nothing at
//! all for a number on the privileged registry (pending or verified),
//! including calls made before it was registered. Searching for an
//! attorney's number therefore tells an investigator nothing about who
//! called them. [`NumberMatch::IncludePrivileged`] lifts that and is for
//! roles entitled to privileged records (the attorney reviewing their own
//! calls, a privilege review); which roles those are is for the caller's
//! authorisation to decide. Searches without a number filter return
//! privileged records like any other: the caller shows their number
//! masked.

use std::fmt;
use std::str::FromStr;

use callward_core::callflow::Disposition;
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId};
use jiff::Timestamp;
use sqlx::{QueryBuilder, Row as _, Sqlite};

use crate::sqlite::{call_from_row, ms};
use crate::{Result, SqliteStore, StoreError};

/// The largest page [`SqliteStore::search_calls`] returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How a number filter treats privileged calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumberMatch {
    /// Never match a privileged call, nor any call to a number on the
    /// privileged registry (pending or verified), whenever it was made.
    #[default]
    ExcludePrivileged,
    /// Match every call to the number, privileged or not.
    IncludePrivileged,
}

/// What to search for. Every filter set must hold (AND); an empty search
/// returns every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallSearch {
    /// Calls by this person.
    pub person: Option<PersonId>,
    /// Calls to this number.
    pub number: Option<E164Number>,
    /// How [`Self::number`] treats privileged calls.
    pub number_match: NumberMatch,
    /// Calls from stations of this facility.
    pub facility: Option<FacilityId>,
    /// Calls offered at or after this time.
    pub from: Option<Timestamp>,
    /// Calls offered before this time.
    pub until: Option<Timestamp>,
    /// Calls that ended this way.
    pub disposition: Option<Disposition>,
    /// Calls with at least this many billable seconds (the conversation
    /// from the called party's acceptance to the end).
    pub min_seconds: Option<u64>,
    /// Calls with at most this many billable seconds.
    pub max_seconds: Option<u64>,
    /// Privileged calls only (`true`) or none (`false`).
    pub privileged: Option<bool>,
    /// Calls cut at their time limit (`true`) or not (`false`).
    pub time_limit_reached: Option<bool>,
    /// Calls in which the called party blocked the facility, or not.
    pub blocked: Option<bool>,
}

impl CallSearch {
    /// The filters as the access log keeps them, after `prefix`: each set
    /// filter as ` key=value`, numbers masked. The CLI and the console
    /// name a search in the same words.
    #[must_use]
    pub fn describe_filters(&self, prefix: &str) -> String {
        let mut d = String::from(prefix);
        let mut add = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                d.push_str(&format!(" {k}={v}"));
            }
        };
        add("since", self.from.map(|t| t.to_string()));
        add("until", self.until.map(|t| t.to_string()));
        add("person", self.person.map(|p| p.0.to_string()));
        add("number", self.number.as_ref().map(E164Number::masked));
        add("facility", self.facility.map(|f| f.0.to_string()));
        add("disposition", self.disposition.map(|x| x.to_string()));
        add("min_seconds", self.min_seconds.map(|x| x.to_string()));
        add("max_seconds", self.max_seconds.map(|x| x.to_string()));
        add("privileged", self.privileged.map(|x| x.to_string()));
        add(
            "time_limit_reached",
            self.time_limit_reached.map(|x| x.to_string()),
        );
        add("blocked", self.blocked.map(|x| x.to_string()));
        d
    }
}

/// Where a page starts: after the record with this offered time and id.
/// Written as text (`<offered ms>:<call id>`) for the command line; treat
/// it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    offered_ms: i64,
    id: String,
}

impl Cursor {
    fn after(call: &CallDetailRecord) -> Self {
        Self {
            offered_ms: ms(call.offered_at),
            id: call.id.clone(),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.offered_ms, self.id)
    }
}

/// A cursor that is not `<offered ms>:<call id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a search cursor (expected <ms>:<call id>, as a previous page printed)")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> std::result::Result<Self, BadCursor> {
        let (t, id) = s.trim().split_once(':').ok_or(BadCursor)?;
        let offered_ms = t.parse().map_err(|_| BadCursor)?;
        if id.is_empty() {
            return Err(BadCursor);
        }
        Ok(Self {
            offered_ms,
            id: id.to_owned(),
        })
    }
}

/// Which page to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this record (`None`: the first page).
    pub after: Option<Cursor>,
    /// At most this many records, 1 to [`MAX_PAGE_SIZE`].
    pub size: u32,
}

impl PageRequest {
    /// The first page of `size` records.
    pub fn first(size: u32) -> Self {
        Self { after: None, size }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The records, in order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
}

impl SqliteStore {
    /// The page of call records matching `search`, ordered by offered time
    /// then call id (see the module documentation for paging and for how
    /// privileged numbers are matched).
    pub async fn search_calls(
        &self,
        search: &CallSearch,
        page: &PageRequest,
    ) -> Result<Page<CallDetailRecord>> {
        let mut q = query(search, page, "SELECT * FROM calls")?;
        let rows = q.build().fetch_all(self.pool()).await?;
        let mut items = rows.iter().map(call_from_row).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > page.size as usize {
            items.truncate(page.size as usize);
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// SQLite's plan for [`Self::search_calls`] with these arguments
    /// (`EXPLAIN QUERY PLAN`, one line per step), for benchmarks and for
    /// checking that a search shape is served by an index without a sort.
    pub async fn search_calls_plan(
        &self,
        search: &CallSearch,
        page: &PageRequest,
    ) -> Result<Vec<String>> {
        let mut q = query(search, page, "EXPLAIN QUERY PLAN SELECT * FROM calls")?;
        let rows = q.build().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("detail")?))
            .collect()
    }
}

/// The statement for a search: `select` followed by the filters, the
/// cursor, the order and the limit (one more than the page).
fn query(search: &CallSearch, page: &PageRequest, select: &str) -> Result<QueryBuilder<Sqlite>> {
    if page.size == 0 || page.size > MAX_PAGE_SIZE {
        return Err(StoreError::Refused(format!(
            "a page holds 1 to {MAX_PAGE_SIZE} records, not {}",
            page.size
        )));
    }
    let mut q = QueryBuilder::<Sqlite>::new(select);
    if search.facility.is_some()
        && search.disposition.is_some()
        && search.person.is_none()
        && search.number.is_none()
    {
        // Without statistics SQLite picks the facility index and filters
        // the disposition row by row; this one is a range scan of exactly
        // the matches.
        q.push(" INDEXED BY calls_search_by_facility_disposition");
    }
    q.push(" WHERE 1");
    if let Some(p) = search.person {
        q.push(" AND person_id = ").push_bind(p.0);
    }
    if let Some(n) = &search.number {
        q.push(" AND number = ").push_bind(n.as_str().to_owned());
        if search.number_match == NumberMatch::ExcludePrivileged {
            // Uncorrelated, so SQLite evaluates it once per statement.
            q.push(
                " AND privileged = 0 AND NOT EXISTS (SELECT 1 FROM privileged_numbers
                      WHERE verification IN ('pending', 'verified') AND number = ",
            )
            .push_bind(n.as_str().to_owned())
            .push(")");
        }
    }
    if let Some(f) = search.facility {
        q.push(" AND facility_id = ").push_bind(f.0);
    }
    if let Some(d) = search.disposition {
        q.push(" AND disposition = ").push_bind(d.to_string());
    }
    if let Some(t) = search.from {
        q.push(" AND offered_ms >= ").push_bind(ms(t));
    }
    if let Some(t) = search.until {
        q.push(" AND offered_ms < ").push_bind(ms(t));
    }
    if let Some(s) = search.min_seconds {
        q.push(" AND billable_seconds >= ")
            .push_bind(i64::try_from(s).unwrap_or(i64::MAX));
    }
    if let Some(s) = search.max_seconds {
        q.push(" AND billable_seconds <= ")
            .push_bind(i64::try_from(s).unwrap_or(i64::MAX));
    }
    for (column, value) in [
        ("privileged", search.privileged),
        ("time_limit_reached", search.time_limit_reached),
        ("blocked_by_called_party", search.blocked),
    ] {
        if let Some(v) = value {
            q.push(format_args!(" AND {column} = ")).push_bind(v);
        }
    }
    if let Some(c) = &page.after {
        q.push(" AND (offered_ms, id) > (")
            .push_bind(c.offered_ms)
            .push(", ")
            .push_bind(c.id.clone())
            .push(")");
    }
    // One more than the page, to know whether another page follows.
    q.push(" ORDER BY offered_ms, id LIMIT ")
        .push_bind(i64::from(page.size) + 1);
    Ok(q)
}
