//! Logging set-up, the process counters that progress lines and benches read, and
//! (in [`metrics`] and [`pipeline`]) the Prometheus series and per-pipeline recent
//! past that the HTTP layer serves. Every layer may write here; nothing here reads
//! from the layers above.

pub mod metrics;
pub mod pipeline;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, `key=value` fields (the default).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown log format `{other}`; use text or json")),
        }
    }
}

/// Sets up `tracing` to stderr in `format`; `RUST_LOG` overrides `level`.
pub fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,sluice_host={level},host={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        // Colour only on a terminal: a log file or a shipper gets plain `key=value` text.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // Fields at the top level, so a shipper indexes `pipeline` and `topic` as is.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// Running totals of one host process.
#[derive(Debug, Default)]
pub struct Stats {
    consumed: AtomicU64,
    processed: AtomicU64,
    rows: AtomicU64,
    dead: AtomicU64,
    batches: AtomicU64,
    batch_micros: AtomicU64,
    incarnations: AtomicU64,
    isolations: AtomicU64,
    stalls: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records read from Kafka.
    pub consumed: u64,
    /// Records whose batch was written.
    pub processed: u64,
    /// Rows inserted into data tables.
    pub rows: u64,
    /// Dead letters inserted.
    pub dead: u64,
    /// Batches written.
    pub batches: u64,
    /// Total time from chain start to sink acknowledgement, in µs.
    pub batch_micros: u64,
    /// Marks or committed offsets found to belong to another incarnation of a topic.
    pub incarnations: u64,
    /// Batches re-run in parts to find the events a plugin trapped on.
    pub isolations: u64,
    /// Partitions found stalled.
    pub stalls: u64,
}

impl Stats {
    /// Counts records read from the source.
    pub fn consumed(&self, n: u64) {
        self.consumed.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a written batch.
    pub fn written(&self, events: u64, rows: u64, dead: u64, took: Duration) {
        self.processed.fetch_add(events, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.dead.fetch_add(dead, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts partitions found stalled.
    pub fn stalled(&self) {
        self.stalls.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts batches re-run in parts to find the events a plugin trapped on.
    pub fn isolated(&self, n: u64) {
        self.isolations.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts marks or offsets found to belong to another incarnation of a topic.
    pub fn incarnation_changed(&self) {
        self.incarnations.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            consumed: self.consumed.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            dead: self.dead.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            batch_micros: self.batch_micros.load(Ordering::Relaxed),
            incarnations: self.incarnations.load(Ordering::Relaxed),
            isolations: self.isolations.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
        }
    }
}
