//! The audit log in the SQLite database (migration 3): the async driver of
//! `callward-audit`'s sans-IO [`LogCore`] and [`Verifier`].
//!
//! Tables: `audit_entries` (index → entry bytes), `audit_nodes` (node
//! position → hash) and `audit_checkpoints` (size → signed note), append-only
//! by trigger. One batch is one `BEGIN IMMEDIATE` transaction: a durable
//! append is one WAL fsync (the pool runs `synchronous = FULL`), whatever
//! the batch size.

use std::collections::HashMap;
use std::future::{Future as _, poll_fn};
use std::pin::pin;
use std::task::Poll;

use callward_audit::tree::{self, NodeId, frontier_ids};
use callward_audit::{
    Batch, Block, Checkpoint, Entry, Found, Hash, LogCore, LogError, NoteSigner, Verified,
    Verifier, VerifierKey, VerifyError,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use crate::{Result, SqliteStore, StoreError};

/// Rows per multi-row INSERT (two bound values each, well under SQLite's
/// limit of 32,766).
const INSERT_ROWS: usize = 1000;

/// Nodes from this level up are kept in memory by each handle: n/128
/// hashes (250 KB per million entries). A proof then reads only its low
/// levels from the database, and those lie next to its leaf in the node
/// table (one or two pages instead of one page per level).
const CACHED_LEVEL: u8 = 8;

/// Entries read per step of verification.
const VERIFY_CHUNK: u64 = 32_768;

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Refused(format!("audit index {n} is out of range")))
}

fn log_error(e: LogError<StoreError>) -> StoreError {
    match e {
        LogError::Store(e) => e,
        LogError::Entry(e) => StoreError::Refused(format!("audit entry: {e}")),
        LogError::EmptyBatch | LogError::OutOfRange => StoreError::Refused(e.to_string()),
        other => StoreError::Corrupt(format!("audit log: {other}")),
    }
}

fn hash_of(blob: &[u8], what: impl FnOnce() -> String) -> Result<Hash> {
    Hash::from_slice(blob).ok_or_else(|| StoreError::Corrupt(format!("{} is not 32 bytes", what())))
}

/// The audit log in a [`SqliteStore`]'s database. One writer per handle;
/// several handles (processes) may append to one file: each append
/// re-reads the tree's edge if another handle moved it.
#[derive(Debug)]
pub struct SqliteAuditLog {
    pool: SqlitePool,
    core: LogCore,
    /// Stored nodes of level >= CACHED_LEVEL up to `core.size()`. Only a
    /// shortcut: a node missing here is read from the database.
    upper: HashMap<NodeId, Hash>,
}

impl SqliteAuditLog {
    /// Opens the log, checking the newest checkpoint against the stored
    /// nodes and `signer`'s key.
    pub async fn open(store: &SqliteStore, origin: &str, signer: NoteSigner) -> Result<Self> {
        let pool = store.pool().clone();
        // One read transaction: a snapshot, so an append committed by
        // another process (serve, while the CLI opens the log) between the
        // reads of the entries and of the checkpoints is not half seen.
        let mut tx = pool.begin().await?;
        let mut core = LogCore::empty(origin, signer);
        resync(&mut tx, &mut core).await?;
        let mut upper = HashMap::new();
        load_upper(&mut tx, 0, core.size(), &mut upper).await?;
        tx.rollback().await?;
        Ok(Self { pool, core, upper })
    }

    /// Appends `entries` as one batch in one transaction and returns the
    /// checkpoint signed for it.
    pub async fn append(&mut self, entries: &[Entry]) -> Result<Checkpoint> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(&mut *tx)
            .await?;
        if stored.unwrap_or(0) != to_i64(self.core.size())? {
            let old = self.core.size();
            resync(&mut tx, &mut self.core).await?;
            if self.core.size() < old {
                self.upper.clear();
            }
            load_upper(
                &mut tx,
                old.min(self.core.size()),
                self.core.size(),
                &mut self.upper,
            )
            .await?;
        }
        let prepared = self
            .core
            .prepare::<StoreError>(entries)
            .map_err(log_error)?;
        write_batch(&mut tx, &prepared.batch).await?;
        tx.commit().await?;
        for (id, h) in &prepared.batch.nodes {
            if id.level >= CACHED_LEVEL {
                self.upper.insert(*id, *h);
            }
        }
        // Prepared from the state read inside the transaction just committed.
        self.core
            .commit(prepared)
            .map_err(|_| StoreError::Corrupt("audit log state moved during an append".into()))
    }

    /// Number of entries (as of this handle's last append or open).
    pub fn size(&self) -> u64 {
        self.core.size()
    }

    /// The root at [`Self::size`].
    pub fn root(&self) -> Hash {
        self.core.root()
    }

    /// The newest signed checkpoint note this handle knows.
    pub fn checkpoint(&self) -> Option<&str> {
        self.core.checkpoint()
    }

    /// Entry `index`, decoded.
    pub async fn entry(&self, index: u64) -> Result<Entry> {
        let blob: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT entry FROM audit_entries WHERE idx = ?")
                .bind(to_i64(index)?)
                .fetch_optional(&self.pool)
                .await?;
        let blob = blob.ok_or_else(|| StoreError::NotFound(format!("audit entry {index}")))?;
        Entry::decode(&blob).map_err(|e| StoreError::Corrupt(format!("audit entry {index}: {e}")))
    }

    /// The stored leaf hash of entry `index`.
    pub async fn leaf_hash(&self, index: u64) -> Result<Hash> {
        let nodes = fetch_nodes(&self.pool, &[NodeId::new(0, index)]).await?;
        nodes
            .get(&NodeId::new(0, index))
            .copied()
            .ok_or_else(|| StoreError::NotFound(format!("audit entry {index}")))
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries: one
    /// query for the O(log n) nodes it needs.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        if size > self.size() || index >= size {
            return Err(StoreError::Refused("proof request outside the log".into()));
        }
        let nodes = self.nodes(tree::inclusion_nodes(index, size)).await?;
        tree::inclusion_proof(&nodes, index, size).map_err(missing)
    }

    /// Consistency proof from the tree of `size1` entries to `size2`.
    pub async fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>> {
        if size2 > self.size() || size1 == 0 || size1 > size2 {
            return Err(StoreError::Refused("proof request outside the log".into()));
        }
        let nodes = self.nodes(tree::consistency_nodes(size1, size2)).await?;
        tree::consistency_proof(&nodes, size1, size2).map_err(missing)
    }

    /// The nodes `ids`: upper levels from memory, the rest in one query.
    async fn nodes(&self, ids: Vec<NodeId>) -> Result<HashMap<NodeId, Hash>> {
        let mut have = HashMap::with_capacity(ids.len());
        let mut need = Vec::with_capacity(ids.len());
        for id in ids {
            match self.upper.get(&id) {
                Some(h) => {
                    have.insert(id, *h);
                }
                None => need.push(id),
            }
        }
        have.extend(fetch_nodes(&self.pool, &need).await?);
        Ok(have)
    }
}

/// The stored nodes of level >= CACHED_LEVEL completed by entries
/// `from..to` (whose last entry lies in that range).
fn upper_ids(from: u64, to: u64) -> Vec<NodeId> {
    let mut ids = Vec::new();
    for level in CACHED_LEVEL..64 {
        let width = 1u64 << level;
        if width > to {
            break;
        }
        // Node (level, i) ends at entry (i + 1) * width - 1.
        for end in (from + 1).div_ceil(width)..=to / width {
            ids.push(NodeId::new(level, end - 1));
        }
    }
    ids
}

/// Reads the upper nodes completed by entries `from..to` into `upper`.
async fn load_upper(
    conn: &mut SqliteConnection,
    from: u64,
    to: u64,
    upper: &mut HashMap<NodeId, Hash>,
) -> Result<()> {
    for ids in upper_ids(from, to).chunks(INSERT_ROWS) {
        upper.extend(fetch_nodes(&mut *conn, ids).await?);
    }
    Ok(())
}

fn missing(e: tree::ProofRequestError<NodeId>) -> StoreError {
    match e {
        tree::ProofRequestError::Source(id) => StoreError::Corrupt(format!("audit log lacks {id}")),
        _ => StoreError::Refused("proof request outside the log".into()),
    }
}

async fn fetch_nodes<'c, X>(exec: X, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>>
where
    X: sqlx::Executor<'c, Database = Sqlite>,
{
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let by_pos: HashMap<u64, NodeId> = ids.iter().map(|id| (id.position(), *id)).collect();
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT pos, hash FROM audit_nodes WHERE pos IN (");
    let mut list = qb.separated(", ");
    for pos in by_pos.keys() {
        list.push_bind(to_i64(*pos)?);
    }
    qb.push(")");
    let rows = qb.build().fetch_all(exec).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let pos: i64 = row.try_get(0)?;
        let blob: Vec<u8> = row.try_get(1)?;
        let Some(id) = u64::try_from(pos).ok().and_then(|p| by_pos.get(&p)) else {
            continue;
        };
        out.insert(*id, hash_of(&blob, || id.to_string())?);
    }
    Ok(out)
}

/// Reads the stored size, right edge and newest checkpoint into `core`.
async fn resync(conn: &mut SqliteConnection, core: &mut LogCore) -> Result<()> {
    let latest = sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let latest = match latest {
        Some(row) => {
            let size: i64 = row.try_get(0)?;
            let size = u64::try_from(size)
                .map_err(|_| StoreError::Corrupt("negative audit checkpoint size".into()))?;
            Some((size, row.try_get::<String, _>(1)?))
        }
        None => None,
    };
    let size = latest.as_ref().map_or(0, |l| l.0);
    let rows: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) + 1 FROM audit_entries")
        .fetch_one(&mut *conn)
        .await?;
    if rows.unwrap_or(0) != to_i64(size)? {
        return Err(StoreError::Corrupt(format!(
            "the audit log holds entries up to {} but its newest checkpoint is for {size}; run callward audit verify",
            rows.unwrap_or(0)
        )));
    }
    let ids = frontier_ids(size);
    let nodes = fetch_nodes(&mut *conn, &ids).await?;
    let frontier = ids
        .iter()
        .map(|id| {
            nodes
                .get(id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("audit log lacks {id}")))
        })
        .collect::<Result<Vec<_>>>()?;
    core.resync::<StoreError>(size, frontier, latest.as_ref())
        .map_err(log_error)
}

async fn write_batch(conn: &mut SqliteConnection, batch: &Batch) -> Result<()> {
    for (n, chunk) in batch.entries.chunks(INSERT_ROWS).enumerate() {
        let first = batch.first_index + (n * INSERT_ROWS) as u64;
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO audit_entries (idx, entry) ");
        let mut rows = Vec::with_capacity(chunk.len());
        for (k, e) in chunk.iter().enumerate() {
            rows.push((to_i64(first + k as u64)?, e.as_slice()));
        }
        qb.push_values(rows, |mut b, (idx, e)| {
            b.push_bind(idx).push_bind(e);
        });
        qb.build().execute(&mut *conn).await?;
    }
    for chunk in batch.nodes.chunks(INSERT_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO audit_nodes (pos, hash) ");
        let mut rows = Vec::with_capacity(chunk.len());
        for (id, h) in chunk {
            rows.push((to_i64(id.position())?, h.0.as_slice()));
        }
        qb.push_values(rows, |mut b, (pos, h)| {
            b.push_bind(pos).push_bind(h);
        });
        qb.build().execute(&mut *conn).await?;
    }
    sqlx::query("INSERT INTO audit_checkpoints (size, note) VALUES (?, ?)")
        .bind(to_i64(batch.size)?)
        .bind(batch.checkpoint.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One step of verification: the rows of entries `start..stop` and of the
/// nodes they complete, as stored (`None` where a row is missing).
struct Chunk {
    start: u64,
    stop: u64,
    /// The one row of concatenated values, when the chunk was read that way:
    /// its column 1 holds the entry bytes back to back.
    row: Option<SqliteRow>,
    /// Entry bytes read row by row, back to back, otherwise.
    data: Vec<u8>,
    /// `spans[k]` locates entry `start + k` in those bytes.
    spans: Vec<Option<(usize, usize)>>,
    /// Stored nodes from position `first_position_of_leaf(start)`.
    nodes: Vec<Option<Hash>>,
}

impl Chunk {
    fn entry_bytes(&self) -> &[u8] {
        self.row
            .as_ref()
            .and_then(|r| r.try_get::<&[u8], _>(1).ok())
            .unwrap_or(&self.data)
    }
}

/// The numbers in `list`, SQLite's `group_concat` of integers (ASCII
/// digits and commas); `None` at anything else.
fn numbers(list: &[u8]) -> impl Iterator<Item = Option<u64>> + '_ {
    list.split(|b| *b == b',').map(|item| {
        if item.is_empty() || item.len() > 19 {
            return None;
        }
        item.iter().try_fold(0u64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
        })
    })
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("audit log: unreadable {what}"))
}

/// Reads a chunk. The usual case, every row present, takes one row per
/// table: SQLite concatenates the chunk's values, raw, in index order
/// (`group_concat` copies a blob's bytes as they are), with the entries'
/// lengths to cut them apart, and the values are used where the driver
/// left them. That avoids the driver's per-row cost (about 2 us a row,
/// against 0.4 us for SQLite's own scan), any hex and any copy. A chunk
/// with rows missing, or whose lengths do not add up, is read row by row
/// so each row keeps its index.
async fn fetch_chunk(conn: &mut SqliteConnection, start: u64, stop: u64) -> Result<Chunk> {
    let (lo, hi) = (to_i64(start)?, to_i64(stop)?);
    let want = usize::try_from(stop - start).map_err(|_| corrupt("chunk"))?;
    let node_base = NodeId::first_position_of_leaf(start);
    let node_end = NodeId::first_position_of_leaf(stop);
    let (plo, phi) = (to_i64(node_base)?, to_i64(node_end)?);
    let want_nodes = usize::try_from(node_end - node_base).map_err(|_| corrupt("chunk"))?;
    // One statement for both tables, so the caller can have SQLite run it
    // while it checks the previous chunk. Each aggregate costs SQLite a call
    // per row, so there are as few as proof needs (no indexes or positions
    // as text: 0.2 s of the 1M-entry verify). Order: NOT INDEXED leaves
    // SQLite only the table's own b-tree, which it walks in rowid order, so
    // an index or statistics someone added to the file cannot reorder the
    // scan (an ORDER BY would, in a subquery, cost more than the indexes
    // did). Completeness: the range holds at most `stop - start` rows, so
    // that many lengths (a NULL entry has none) means every row is there;
    // likewise that many 32-byte hashes for the nodes.
    let row = sqlx::query(
        "SELECT e.l, e.b, n.c, n.b FROM
           (SELECT group_concat(length(entry)) AS l, group_concat(entry, '') AS b
              FROM audit_entries NOT INDEXED WHERE idx >= ? AND idx < ?) AS e,
           (SELECT sum(length(hash) = 32) AS c, group_concat(hash, '') AS b
              FROM audit_nodes NOT INDEXED WHERE pos >= ? AND pos < ?) AS n",
    )
    .bind(lo)
    .bind(hi)
    .bind(plo)
    .bind(phi)
    .fetch_one(&mut *conn)
    .await?;
    let lengths: Option<&[u8]> = row.try_get(0)?;
    let bytes: Option<&[u8]> = row.try_get(1)?;
    let mut spans = Vec::with_capacity(want);
    let mut at = 0usize;
    for len in numbers(lengths.unwrap_or_default()) {
        let Some(len) = len.and_then(|l| usize::try_from(l).ok()) else {
            break;
        };
        let end = at.saturating_add(len);
        spans.push(Some((at, end)));
        at = end;
    }
    if spans.len() != want || at != bytes.map_or(0, <[u8]>::len) {
        spans.clear();
    }
    let mut data = Vec::new();
    let whole = spans.len() == want;
    if !whole {
        let rows = sqlx::query(
            "SELECT idx, entry FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *conn)
        .await?;
        spans.clear();
        spans.resize(want, None);
        for row in rows {
            let idx: i64 = row.try_get(0)?;
            let bytes: &[u8] = row.try_get(1)?;
            let k = usize::try_from(idx - lo).map_err(|_| corrupt("entry index"))?;
            let from = data.len();
            data.extend_from_slice(bytes);
            *spans.get_mut(k).ok_or_else(|| corrupt("entry index"))? = Some((from, data.len()));
        }
    }

    let want = want_nodes;
    let node_count: Option<i64> = row.try_get(2)?;
    let node_bytes: &[u8] = row.try_get::<Option<&[u8]>, _>(3)?.unwrap_or_default();
    let mut nodes = Vec::with_capacity(want);
    if node_count.and_then(|c| usize::try_from(c).ok()) == Some(want)
        && node_bytes.len() == 32 * want
    {
        nodes.extend(node_bytes.chunks_exact(32).map(Hash::from_slice));
    } else {
        let rows = sqlx::query(
            "SELECT pos, hash FROM audit_nodes WHERE pos >= ? AND pos < ? ORDER BY pos",
        )
        .bind(plo)
        .bind(phi)
        .fetch_all(&mut *conn)
        .await?;
        nodes.resize(want, None);
        for row in rows {
            let pos: i64 = row.try_get(0)?;
            let hash: &[u8] = row.try_get(1)?;
            let k = usize::try_from(pos - plo).map_err(|_| corrupt("node position"))?;
            // The table CHECKs 32-byte hashes; any other length cannot
            // equal a computed one, so it reads as all ones.
            *nodes.get_mut(k).ok_or_else(|| corrupt("node position"))? =
                Some(Hash::from_slice(hash).unwrap_or(Hash([0xff; 32])));
        }
    }
    Ok(Chunk {
        start,
        stop,
        row: whole.then_some(row),
        data,
        spans,
        nodes,
    })
}

/// Checks a chunk on every core: the entries are split into one part per
/// thread ([`Verifier::check_part`] hashes each entry and node once), and
/// the first finding wins ([`Verifier::finish_block`]). Blocks this thread
/// for the chunk's hashing (tens of milliseconds).
fn check_chunk(
    v: &mut Verifier,
    c: &Chunk,
    threads: usize,
) -> std::result::Result<(), VerifyError<StoreError>> {
    let bytes = c.entry_bytes();
    let entries: Vec<Option<&[u8]>> = c
        .spans
        .iter()
        .map(|s| s.and_then(|(a, b)| bytes.get(a..b)))
        .collect();
    let block = Block {
        start: c.start,
        entries: &entries,
        nodes: &c.nodes,
    };
    let parts = threads.max(1) as u64;
    let step = (c.stop - c.start).div_ceil(parts);
    let range = |k: u64| c.start + k * step..c.start + (k + 1) * step;
    let verifier = &*v;
    let found: Option<Vec<Option<Found>>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..parts)
            .map(|k| scope.spawn(move || verifier.check_part(&block, range(k))))
            .collect();
        let mut found = vec![Some(verifier.check_part(&block, range(0)))];
        // A part that panicked (a bug) leaves its range unchecked.
        found.extend(others.into_iter().map(|h| h.join().ok()));
        found.into_iter().collect()
    });
    let found = found.ok_or_else(|| {
        VerifyError::Store(StoreError::Corrupt(
            "audit log: a verification thread failed".into(),
        ))
    })?;
    v.finish_block(&block, found)
}

/// Recomputes the audit log in `store` from its entries and checks every
/// checkpoint (signature by `key`, `origin`, root), entry and node; the
/// first inconsistency is returned as [`VerifyError::Inconsistent`] with its
/// position. Reads entries and nodes in two sequential scans, a chunk at a
/// time, inside one read transaction (a consistent snapshot while `serve`
/// appends).
pub async fn verify_audit_log(
    store: &SqliteStore,
    key: &VerifierKey,
    origin: &str,
) -> std::result::Result<Verified, VerifyError<StoreError>> {
    verify_audit_log_with_progress(store, key, origin, |_, _| {}).await
}

/// [`verify_audit_log`], calling `progress(checked, total)` after each
/// chunk of entries (for a progress bar).
pub async fn verify_audit_log_with_progress(
    store: &SqliteStore,
    key: &VerifierKey,
    origin: &str,
    mut progress: impl FnMut(u64, u64),
) -> std::result::Result<Verified, VerifyError<StoreError>> {
    let st = |e: sqlx::Error| VerifyError::Store(StoreError::from(e));
    let mut tx = store.pool().begin().await.map_err(st)?;
    let rows = sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size")
        .fetch_all(&mut *tx)
        .await
        .map_err(st)?;
    let mut checkpoints = Vec::with_capacity(rows.len());
    for row in rows {
        let size: i64 = row.try_get(0).map_err(st)?;
        let note: String = row.try_get(1).map_err(st)?;
        // Sizes are CHECKed positive.
        checkpoints.push((u64::try_from(size).unwrap_or(0), note));
    }
    let mut v = Verifier::new(key, origin, &checkpoints).map_err(VerifyError::Inconsistent)?;
    let stored: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) + 1 FROM audit_entries")
        .fetch_one(&mut *tx)
        .await
        .map_err(st)?;
    let stored = u64::try_from(stored.unwrap_or(0)).unwrap_or(0);
    let end = v.signed_size().max(stored);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if end == 0 {
        return v.finish(stored);
    }
    let mut chunk = fetch_chunk(&mut tx, 0, VERIFY_CHUNK.min(end))
        .await
        .map_err(VerifyError::Store)?;
    while chunk.stop < end {
        let (start, stop) = (chunk.stop, (chunk.stop + VERIFY_CHUNK).min(end));
        let mut next = pin!(fetch_chunk(&mut tx, start, stop));
        // Poll once: the next chunk's statement goes to SQLite's worker
        // thread and runs there while this thread checks the current one.
        let early = poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await;
        check_chunk(&mut v, &chunk, threads)?;
        progress(chunk.stop, end);
        let fetched = match early {
            Poll::Ready(r) => r,
            Poll::Pending => next.await,
        };
        chunk = fetched.map_err(VerifyError::Store)?;
    }
    check_chunk(&mut v, &chunk, threads)?;
    progress(chunk.stop, end);
    v.finish(stored)
}

/// The audit tables' rows as stored, for `callward audit export`: entries
/// by index, nodes by position, checkpoints by size, each ordered.
#[derive(Debug, Clone, Default)]
pub struct AuditRows {
    /// `(idx, entry bytes)`.
    pub entries: Vec<(u64, Vec<u8>)>,
    /// `(pos, hash bytes)`.
    pub nodes: Vec<(u64, Vec<u8>)>,
    /// `(size, signed note)`.
    pub checkpoints: Vec<(u64, String)>,
}

/// Reads every audit row in one read transaction (a consistent snapshot
/// while `serve` appends). Rows are copied as they are, unchecked: the
/// export is for a verifier to check.
pub async fn audit_rows(store: &SqliteStore) -> Result<AuditRows> {
    let mut tx = store.pool().begin().await?;
    let mut out = AuditRows::default();
    let index = |i: i64| u64::try_from(i).map_err(|_| corrupt("negative index"));
    for row in sqlx::query("SELECT idx, entry FROM audit_entries ORDER BY idx")
        .fetch_all(&mut *tx)
        .await?
    {
        out.entries
            .push((index(row.try_get(0)?)?, row.try_get::<Vec<u8>, _>(1)?));
    }
    for row in sqlx::query("SELECT pos, hash FROM audit_nodes ORDER BY pos")
        .fetch_all(&mut *tx)
        .await?
    {
        out.nodes
            .push((index(row.try_get(0)?)?, row.try_get::<Vec<u8>, _>(1)?));
    }
    for row in sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size")
        .fetch_all(&mut *tx)
        .await?
    {
        out.checkpoints
            .push((index(row.try_get(0)?)?, row.try_get::<String, _>(1)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_ids_are_the_upper_nodes_ending_in_the_range() {
        let n = |l, i| NodeId::new(l, i);
        assert_eq!(
            upper_ids(700, 1400),
            vec![n(8, 2), n(8, 3), n(8, 4), n(9, 1), n(10, 0)]
        );
        assert_eq!(upper_ids(0, 255), vec![]);
        let all = upper_ids(0, 1410);
        assert_eq!(all.len(), 5 + 2 + 1);
        // Split ranges give the same nodes as one.
        let mut parts = upper_ids(0, 700);
        parts.extend(upper_ids(700, 1410));
        parts.sort();
        let mut whole = all;
        whole.sort();
        assert_eq!(parts, whole);
    }
}
