//! The uploader: one task that moves each sealed recording from the spool
//! to the object store ([`RecordingStore::move_sealed`]) once the spool has
//! synced its final chunk, and retries failed moves every
//! [`RETRY_EVERY`] until they succeed. A recording waiting for its move
//! stays on local disk and readable; a switch stopped with moves pending
//! leaves them to `serve`'s next start, which moves everything in the
//! spool.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::recording_store::RecordingStore;

/// How often failed moves are tried again.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(30);

/// The handle call tasks share: ids of sealed, synced recordings.
#[derive(Debug)]
pub(crate) struct Uploader {
    tx: mpsc::UnboundedSender<String>,
}

impl Uploader {
    /// Starts the task; it ends when every handle is dropped and what was
    /// queued has been tried once.
    pub(crate) fn start(
        store: Arc<RecordingStore>,
        retry_every: Duration,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, rx, retry_every));
        (Self { tx }, task)
    }

    /// Recording `id` is sealed and synced: move it.
    pub(crate) fn sealed(&self, id: &str) {
        if self.tx.send(id.to_owned()).is_err() {
            warn!(
                recording = id,
                "uploader stopped; the recording stays in the spool until the next start"
            );
        }
    }
}

async fn run(
    store: Arc<RecordingStore>,
    mut rx: mpsc::UnboundedReceiver<String>,
    retry_every: Duration,
) {
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut retry = tokio::time::interval(retry_every);
    retry.tick().await;
    loop {
        tokio::select! {
            id = rx.recv() => match id {
                Some(id) => {
                    if !move_one(&store, &id).await {
                        failed.insert(id);
                    }
                }
                None => break,
            },
            _ = retry.tick(), if !failed.is_empty() => {
                let ids: Vec<String> = failed.iter().cloned().collect();
                for id in ids {
                    if move_one(&store, &id).await {
                        failed.remove(&id);
                    }
                }
            }
        }
    }
    if !failed.is_empty() {
        warn!(
            recordings = failed.len(),
            "recordings not moved yet; they stay in the spool until the next start"
        );
    }
}

async fn move_one(store: &RecordingStore, id: &str) -> bool {
    let started = Instant::now();
    match store.move_sealed(id).await {
        Ok(bytes) => {
            info!(
                recording = id,
                bytes,
                upload_ms = started.elapsed().as_millis(),
                store = %store.describe(),
                "recording moved to the object store"
            );
            true
        }
        Err(e) => {
            warn!(recording = id, error = %e, "recording not moved; kept in the spool, will retry");
            false
        }
    }
}
