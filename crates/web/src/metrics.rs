//! A small Prometheus registry, written by hand because we need a few
//! counters and gauges, not a metrics framework.
//!
//! Metrics are registered once at start-up and updated through cheap handles
//! (an atomic, or a short-held mutex for labelled families). The exposition is
//! the Prometheus text format, version 0.0.4.
//!
//! ```
//! use callward_web::metrics::Registry;
//!
//! let registry = Registry::new();
//! let calls = registry
//!     .counter_vec("callward_calls_total", "Calls by disposition.", ["disposition"])
//!     .expect("a valid, unused name");
//! calls.inc(["completed"]);
//! assert!(registry.render().contains("callward_calls_total{disposition=\"completed\"} 1\n"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Why a metric could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metric name is not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}")]
    InvalidName(String),
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`, or repeats.
    #[error("invalid label name {0:?}")]
    InvalidLabel(String),
    /// A metric of that name is already registered.
    #[error("metric {0:?} is already registered")]
    Duplicate(String),
}

/// The set of metrics served on `/metrics`. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<Mutex<Vec<Family>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = lock(&self.families).iter().map(|f| f.name).collect();
        f.debug_struct("Registry").field("metrics", &names).finish()
    }
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    source: Source,
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
        }
    }
}

type Sampler = Box<dyn Fn() -> f64 + Send + Sync>;

enum Source {
    Unsigned(Arc<AtomicU64>),
    Signed(Arc<AtomicI64>),
    Labelled(Box<dyn Labelled>),
    Sampled(Sampler),
}

/// A family of series told apart by label values.
trait Labelled: Send + Sync {
    fn write_series(&self, name: &str, out: &mut String);
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a counter: a value that only goes up.
    pub fn counter(&self, name: &'static str, help: &'static str) -> Result<Counter, MetricsError> {
        let value = Arc::new(AtomicU64::new(0));
        self.register(name, help, Kind::Counter, Source::Unsigned(value.clone()))?;
        Ok(Counter(value))
    }

    /// Registers a gauge: a value that goes up and down.
    pub fn gauge(&self, name: &'static str, help: &'static str) -> Result<Gauge, MetricsError> {
        let value = Arc::new(AtomicI64::new(0));
        self.register(name, help, Kind::Gauge, Source::Signed(value.clone()))?;
        Ok(Gauge(value))
    }

    /// Registers a gauge whose value is sampled by `sample` at each scrape.
    pub fn gauge_fn(
        &self,
        name: &'static str,
        help: &'static str,
        sample: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<(), MetricsError> {
        self.register(name, help, Kind::Gauge, Source::Sampled(Box::new(sample)))
    }

    /// Registers a family of counters told apart by the values of `labels`.
    ///
    /// Label values should come from a small, bounded set (a route pattern, a
    /// status code, a disposition), never from raw input such as a path or a
    /// phone number.
    pub fn counter_vec<const N: usize>(
        &self,
        name: &'static str,
        help: &'static str,
        labels: [&'static str; N],
    ) -> Result<CounterVec<N>, MetricsError> {
        let series = Arc::new(Series::new(labels)?);
        self.register(
            name,
            help,
            Kind::Counter,
            Source::Labelled(Box::new(series.clone())),
        )?;
        Ok(CounterVec(series))
    }

    /// Registers a family of gauges told apart by the values of `labels`.
    pub fn gauge_vec<const N: usize>(
        &self,
        name: &'static str,
        help: &'static str,
        labels: [&'static str; N],
    ) -> Result<GaugeVec<N>, MetricsError> {
        let series = Arc::new(Series::new(labels)?);
        self.register(
            name,
            help,
            Kind::Gauge,
            Source::Labelled(Box::new(series.clone())),
        )?;
        Ok(GaugeVec(series))
    }

    fn register(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        source: Source,
    ) -> Result<(), MetricsError> {
        if !valid_metric_name(name) {
            return Err(MetricsError::InvalidName(name.to_owned()));
        }
        let mut families = lock(&self.families);
        if families.iter().any(|f| f.name == name) {
            return Err(MetricsError::Duplicate(name.to_owned()));
        }
        families.push(Family {
            name,
            help,
            kind,
            source,
        });
        Ok(())
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, in
    /// registration order.
    pub fn render(&self) -> String {
        let families = lock(&self.families);
        let mut out = String::new();
        for family in families.iter() {
            out.push_str("# HELP ");
            out.push_str(family.name);
            out.push(' ');
            escape_into(&mut out, family.help, false);
            out.push('\n');
            // Writing to a String cannot fail; here and below the Result is ignored.
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
            match &family.source {
                Source::Unsigned(v) => {
                    let _ = writeln!(out, "{} {}", family.name, v.load(Ordering::Relaxed));
                }
                Source::Signed(v) => {
                    let _ = writeln!(out, "{} {}", family.name, v.load(Ordering::Relaxed));
                }
                Source::Sampled(sample) => {
                    let _ = writeln!(out, "{} {}", family.name, format_float(sample()));
                }
                Source::Labelled(series) => series.write_series(family.name, &mut out),
            }
        }
        out
    }
}

/// A counter handle. Cloning shares the value.
#[derive(Debug, Clone)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge handle. Cloning shares the value.
#[derive(Debug, Clone)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Labelled series: label names, and a value per distinct tuple of label values.
struct Series<T, const N: usize> {
    labels: [&'static str; N],
    values: Mutex<BTreeMap<[String; N], T>>,
}

impl<T, const N: usize> Series<T, N> {
    fn new(labels: [&'static str; N]) -> Result<Self, MetricsError> {
        for (i, label) in labels.iter().enumerate() {
            if !valid_label_name(label) || labels[..i].contains(label) {
                return Err(MetricsError::InvalidLabel((*label).to_owned()));
            }
        }
        Ok(Self {
            labels,
            values: Mutex::new(BTreeMap::new()),
        })
    }

    fn update(&self, values: [&str; N], f: impl FnOnce(&mut T))
    where
        T: Default,
    {
        let key = values.map(str::to_owned);
        f(lock(&self.values).entry(key).or_default());
    }
}

impl<T, const N: usize> Labelled for Arc<Series<T, N>>
where
    T: std::fmt::Display + Send,
{
    fn write_series(&self, name: &str, out: &mut String) {
        for (values, v) in lock(&self.values).iter() {
            out.push_str(name);
            if N > 0 {
                out.push('{');
                for (i, (label, value)) in self.labels.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(label);
                    out.push_str("=\"");
                    escape_into(out, value, true);
                    out.push('"');
                }
                out.push('}');
            }
            let _ = writeln!(out, " {v}");
        }
    }
}

/// A family of counters told apart by `N` label values. Cloning shares it.
#[derive(Clone)]
pub struct CounterVec<const N: usize>(Arc<Series<u64, N>>);

impl<const N: usize> std::fmt::Debug for CounterVec<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterVec")
            .field("labels", &self.0.labels)
            .finish()
    }
}

impl<const N: usize> CounterVec<N> {
    /// Adds one to the series with these label values.
    pub fn inc(&self, values: [&str; N]) {
        self.inc_by(values, 1);
    }

    /// Adds `n` to the series with these label values.
    pub fn inc_by(&self, values: [&str; N], n: u64) {
        self.0.update(values, |v| *v = v.saturating_add(n));
    }

    /// The value of the series with these label values (0 if never touched).
    pub fn get(&self, values: [&str; N]) -> u64 {
        let key = values.map(str::to_owned);
        lock(&self.0.values).get(&key).copied().unwrap_or(0)
    }
}

/// A family of gauges told apart by `N` label values. Cloning shares it.
#[derive(Clone)]
pub struct GaugeVec<const N: usize>(Arc<Series<i64, N>>);

impl<const N: usize> std::fmt::Debug for GaugeVec<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeVec")
            .field("labels", &self.0.labels)
            .finish()
    }
}

impl<const N: usize> GaugeVec<N> {
    /// Sets the series with these label values.
    pub fn set(&self, values: [&str; N], v: i64) {
        self.0.update(values, |slot| *slot = v);
    }

    /// Adds `delta` (which may be negative) to the series with these label values.
    pub fn add(&self, values: [&str; N], delta: i64) {
        self.0
            .update(values, |slot| *slot = slot.saturating_add(delta));
    }

    /// The value of the series with these label values (0 if never touched).
    pub fn get(&self, values: [&str; N]) -> i64 {
        let key = values.map(str::to_owned);
        lock(&self.0.values).get(&key).copied().unwrap_or(0)
    }
}

/// Counts stay meaningful even if a thread panicked while holding the lock,
/// so a poisoned mutex is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Escapes `\` and newline (and `"` in label values), as the format requires.
fn escape_into(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_with_help_and_type() {
        let r = Registry::new();
        let c = r.counter("requests_total", "All requests.").unwrap();
        let g = r.gauge("active_calls", "Calls in progress.").unwrap();
        c.inc();
        c.inc_by(2);
        g.inc();
        g.inc();
        g.dec();
        assert_eq!(
            r.render(),
            "# HELP requests_total All requests.\n\
             # TYPE requests_total counter\n\
             requests_total 3\n\
             # HELP active_calls Calls in progress.\n\
             # TYPE active_calls gauge\n\
             active_calls 1\n"
        );
    }

    #[test]
    fn labelled_series_are_sorted_and_escaped() {
        let r = Registry::new();
        let v = r
            .counter_vec("hits_total", "Hits.", ["route", "status"])
            .unwrap();
        v.inc(["/b", "200"]);
        v.inc(["/a", "404"]);
        v.inc_by(["/a", "404"], 4);
        v.inc(["quote\"back\\slash\nline", "500"]);
        assert_eq!(v.get(["/a", "404"]), 5);
        assert_eq!(v.get(["/never", "200"]), 0);
        let text = r.render();
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                r#"hits_total{route="/a",status="404"} 5"#,
                r#"hits_total{route="/b",status="200"} 1"#,
                r#"hits_total{route="quote\"back\\slash\nline",status="500"} 1"#,
            ]
        );
    }

    #[test]
    fn gauge_vec_and_sampled_gauge() {
        let r = Registry::new();
        let info = r.gauge_vec("build_info", "Build.", ["version"]).unwrap();
        info.set(["1.2.3"], 1);
        info.add(["1.2.3"], -3);
        assert_eq!(info.get(["1.2.3"]), -2);
        r.gauge_fn("up_seconds", "Up.", || 1.5).unwrap();
        r.gauge_fn("weird", "Not a number.", || f64::NAN).unwrap();
        r.gauge_fn("huge", "Infinite.", || f64::INFINITY).unwrap();
        let text = r.render();
        assert!(
            text.contains("build_info{version=\"1.2.3\"} -2\n"),
            "{text}"
        );
        assert!(text.contains("\nup_seconds 1.5\n"), "{text}");
        assert!(text.contains("\nweird NaN\n"), "{text}");
        assert!(text.contains("\nhuge +Inf\n"), "{text}");
    }

    #[test]
    fn help_text_is_escaped() {
        let r = Registry::new();
        r.counter("x_total", "two\nlines \\ here").unwrap();
        assert!(
            r.render()
                .starts_with("# HELP x_total two\\nlines \\\\ here\n")
        );
    }

    #[test]
    fn rejects_bad_names_duplicates_and_bad_labels() {
        let r = Registry::new();
        assert_eq!(
            r.counter("9lives", "").unwrap_err(),
            MetricsError::InvalidName("9lives".into())
        );
        assert_eq!(
            r.counter("has-dash", "").unwrap_err(),
            MetricsError::InvalidName("has-dash".into())
        );
        assert_eq!(
            r.counter("", "").unwrap_err(),
            MetricsError::InvalidName(String::new())
        );
        r.counter("ok:name_total", "").unwrap();
        assert_eq!(
            r.gauge("ok:name_total", "").unwrap_err(),
            MetricsError::Duplicate("ok:name_total".into())
        );
        assert_eq!(
            r.counter_vec("a_total", "", ["__reserved"]).unwrap_err(),
            MetricsError::InvalidLabel("__reserved".into())
        );
        assert_eq!(
            r.counter_vec("b_total", "", ["x", "x"]).unwrap_err(),
            MetricsError::InvalidLabel("x".into())
        );
        assert_eq!(
            r.gauge_vec("c", "", ["has:colon"]).unwrap_err(),
            MetricsError::InvalidLabel("has:colon".into())
        );
        // Failed registrations leave nothing behind.
        assert_eq!(r.render().matches("# TYPE").count(), 1);
    }

    #[test]
    fn clones_share_values() {
        let r = Registry::new();
        let c = r.counter("shared_total", "").unwrap();
        let c2 = c.clone();
        std::thread::spawn(move || c2.inc()).join().unwrap();
        assert_eq!(c.get(), 1);
        let r2 = r.clone();
        r2.counter("other_total", "").unwrap();
        let text = r.render();
        assert!(text.contains("\nshared_total 1\n"), "{text}");
        assert!(text.contains("\nother_total 0\n"), "{text}");
    }
}
