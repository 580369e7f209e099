//! Nothing the switch logs, at any level, carries the PIN or a full phone
//! number: a whole call (SIPp station and trunk) runs under a subscriber
//! that keeps every span field and event, and the text is searched.

mod common;

use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

static LOG: Mutex<String> = Mutex::new(String::new());

/// Keeps every field of every span and event, at every level.
struct Capture {
    next: AtomicU64,
}

struct Writer;

impl Visit for Writer {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let line = format!("{}={value:?} ", field.name());
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&line);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        attrs.record(&mut Writer);
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Writer);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        event.record(&mut Writer);
        LOG.lock().unwrap_or_else(|e| e.into_inner()).push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_pin_and_no_full_number() {
    tracing::subscriber::set_global_default(Capture {
        next: AtomicU64::new(0),
    })
    .unwrap();
    let mut run = common::start("pii", Some("trunk_answer_accept.xml"), 1, 13100, 24750).await;
    run.station("station_call.xml", 13200, 1).await;
    let record = run.record().await;
    assert_eq!(record.disposition.to_string(), "completed");
    run.stop().await;

    let log = LOG.lock().unwrap().clone();
    // The capture works: the call's span and its masked number are there.
    assert!(log.contains(&format!("id={}", record.id)), "{log}");
    assert!(log.contains("+1******0001"), "{log}");
    for secret in ["246810", "5551230001", "555123"] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
}
