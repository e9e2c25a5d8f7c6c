//! One pipeline's telemetry: its Prometheus series (registered when the pipeline is
//! created, so counters exist at 0 before the first event) and the recent past the
//! status page shows (totals every 5 s for 10 minutes, batch latencies, the last dead
//! letters, partitions with lag). Workers and the reader write it once per batch or
//! tick, never per record; the HTTP layer reads it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Histogram};
use serde::Serialize;

use super::metrics::{self as m, Metrics};
use crate::record::DeadLetter;

/// Samples of the totals kept for the chart: 10 minutes at one per 5 s, plus one.
const HISTORY_KEPT: usize = 121;
/// Batch latencies kept for p50/p99.
const LATENCIES_KEPT: usize = 512;
/// Only batches this recent count toward p50/p99.
const LATENCY_WINDOW_S: u64 = 300;
/// Dead letters kept for the page.
const DEAD_KEPT: usize = 20;
/// Bytes of a dead letter's payload and characters of its message the page gets.
const PAYLOAD_PREFIX: usize = 200;
const MESSAGE_PREFIX: usize = 300;
/// Distinct dead-letter codes given their own series; more share `other`, so a
/// plugin inventing codes cannot grow the label set without bound.
const CODES_KEPT: usize = 64;
/// Trap kinds every plugin has a series for from the start.
const TRAP_KINDS: &[&str] = &[
    "trap-panic",
    "trap-deadline",
    "trap-memory",
    "trap-stack",
    "trap",
];

/// Why an insert failed, as `sluice_insert_*_total{class}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertClass {
    /// Passing (a timeout, a refused connection): retried with backoff.
    Retryable = 0,
    /// The table's columns changed: re-read once, then halt.
    Schema = 1,
    /// Only a person can fix it: the pipeline halts until resumed.
    Fatal = 2,
}

const CLASSES: [&str; 3] = ["retryable", "schema", "fatal"];

/// A pipeline's lifecycle state, as `sluice_pipeline_state{state}` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Consuming.
    Running = 0,
    /// Paused until a swap, rollback or resume.
    Quarantined = 1,
    /// Could not start.
    Failed = 2,
}

const STATES: [&str; 3] = ["running", "quarantined", "failed"];

/// What became of a swap or rollback, as `sluice_swaps_total` and
/// `sluice_rollbacks_total` count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A swap took effect.
    Swapped,
    /// A swap was refused; the old version runs on.
    SwapRefused,
    /// An operator rolled back.
    RolledBack,
    /// Probation rolled back by itself.
    AutoRolledBack,
    /// A rollback was refused (no earlier version, no such plugin).
    RollbackRefused,
}

/// Cumulative counts, as the page shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Records read from Kafka.
    pub consumed: u64,
    /// Rows inserted into data tables.
    pub rows: u64,
    /// Dead letters inserted.
    pub dead: u64,
}

/// The totals at one moment, for the throughput chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// Unix seconds.
    pub t: u64,
    /// Records read by then.
    pub consumed: u64,
    /// Rows inserted by then.
    pub rows: u64,
    /// Dead letters by then.
    pub dead: u64,
}

/// Per-second rates over the last 10 seconds or so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Records read per second.
    pub consumed_per_s: f64,
    /// Rows inserted per second.
    pub rows_per_s: f64,
    /// Dead letters per second.
    pub dead_per_s: f64,
}

/// Batch latency (chain start to commit) over the recent batches, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// One dead letter as the page lists it: a prefix of the payload, never all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterView {
    /// Unix seconds when it was written.
    pub at: u64,
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// The plugin (or `host`) that refused it.
    pub plugin: String,
    /// Reason code.
    pub code: String,
    /// Detail, cut to a few hundred characters.
    pub message: String,
    /// The first bytes of the payload, as text.
    pub payload: String,
}

/// One assigned partition as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionView {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// `running`, `paused` or `stalled`.
    pub state: String,
    /// Records between the committed offset and the end, when both are known.
    pub lag: Option<i64>,
    /// The group's committed offset (the next record to read), if any.
    pub committed: Option<i64>,
    /// The partition's end (high watermark), if known.
    pub end: Option<i64>,
    /// Which member reads it (this host: it lists only its own partitions).
    pub owner: String,
}

/// What the status page shows of one pipeline, besides its control state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// Cumulative counts.
    pub totals: Totals,
    /// Recent rates.
    pub rates: Rates,
    /// Totals every 5 s over the last 10 minutes, oldest first.
    pub history: Vec<Sample>,
    /// Batch latency; none before the first batch.
    pub latency_ms: Option<Latency>,
    /// Assigned partitions.
    pub partitions: Vec<PartitionView>,
    /// Unix seconds of the last insert, if any.
    pub last_insert: Option<u64>,
    /// Unix seconds of the last commit, if any.
    pub last_commit: Option<u64>,
    /// The last dead letters, newest first.
    pub dead_letters: Vec<DeadLetterView>,
}

#[derive(Default)]
struct Recent {
    history: VecDeque<Sample>,
    latencies: VecDeque<(u64, f64)>,
    dead: VecDeque<DeadLetterView>,
    partitions: Vec<PartitionView>,
}

/// A pipeline's series and recent past; shared by its reader, workers, control and
/// the HTTP layer.
pub struct PipelineTelemetry {
    name: String,
    metrics: Metrics,
    consumed: Counter,
    tables: Vec<(String, Counter)>,
    stages: [Histogram; 3],
    retries: [Counter; 3],
    errors: [Counter; 3],
    in_flight: Gauge,
    paused: Gauge,
    stalled: Gauge,
    states: [Gauge; 3],
    swaps: [Counter; 2],
    rollbacks: [Counter; 3],
    last_commit_gauge: Gauge,
    isolations: Counter,
    dead_codes: Mutex<HashMap<String, Counter>>,
    traps: Mutex<HashMap<(String, String), Counter>>,
    lag: Mutex<HashMap<(String, i32), Gauge>>,
    timers: Mutex<HashMap<(String, String), Histogram>>,
    totals: [AtomicU64; 3],
    last_insert: AtomicU64,
    last_commit: AtomicU64,
    joined: AtomicBool,
    /// 0 unknown, 1 reachable, 2 not.
    kafka: AtomicU8,
    recent: Mutex<Recent>,
}

impl std::fmt::Debug for PipelineTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineTelemetry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl PipelineTelemetry {
    /// Registers every series of pipeline `name` (writing `tables`, running
    /// `plugins`) at 0; none of it is recorded when `metrics` is off.
    pub fn new(metrics: &Metrics, name: &str, tables: &[String], plugins: &[&str]) -> Arc<Self> {
        let p = ("pipeline", name);
        let counters = |family: &'static str, label: &'static str, vals: &[&str]| {
            vals.iter()
                .map(|v| metrics.counter(family, &[p, (label, v)]))
                .collect::<Vec<_>>()
        };
        let arr3 = |v: Vec<Counter>| -> [Counter; 3] {
            let mut it = v.into_iter();
            std::array::from_fn(|_| it.next().unwrap_or_else(Counter::noop))
        };
        let states: Vec<Gauge> = STATES
            .iter()
            .map(|s| metrics.gauge(m::PIPELINE_STATE, &[p, ("state", s)]))
            .collect();
        let mut states_it = states.into_iter();
        let mut traps = HashMap::new();
        for plugin in plugins {
            for kind in TRAP_KINDS {
                traps.insert(
                    ((*plugin).to_owned(), (*kind).to_owned()),
                    metrics.counter(m::PLUGIN_TRAPS, &[p, ("plugin", plugin), ("kind", kind)]),
                );
            }
        }
        let stages = ["chain", "insert", "commit"]
            .map(|s| metrics.histogram(m::BATCH_DURATION, &[p, ("stage", s)]));
        let mut swaps = counters(m::SWAPS, "result", &["ok", "refused"]).into_iter();
        let this = Self {
            name: name.to_owned(),
            metrics: metrics.clone(),
            consumed: metrics.counter(m::RECORDS_CONSUMED, &[p]),
            tables: tables
                .iter()
                .map(|t| {
                    (
                        t.clone(),
                        metrics.counter(m::ROWS_WRITTEN, &[p, ("table", t)]),
                    )
                })
                .collect(),
            stages,
            retries: arr3(counters(m::INSERT_RETRIES, "class", &CLASSES)),
            errors: arr3(counters(m::INSERT_ERRORS, "class", &CLASSES)),
            in_flight: metrics.gauge(m::IN_FLIGHT_BYTES, &[p]),
            paused: metrics.gauge(m::PAUSED_PARTITIONS, &[p]),
            stalled: metrics.gauge(m::STALLED_PARTITIONS, &[p]),
            states: std::array::from_fn(|_| states_it.next().unwrap_or_else(Gauge::noop)),
            swaps: std::array::from_fn(|_| swaps.next().unwrap_or_else(Counter::noop)),
            rollbacks: arr3(counters(
                m::ROLLBACKS,
                "result",
                &["manual", "automatic", "refused"],
            )),
            last_commit_gauge: metrics.gauge(m::LAST_COMMIT, &[p]),
            isolations: metrics.counter(m::ISOLATIONS, &[p]),
            dead_codes: Mutex::new(HashMap::new()),
            traps: Mutex::new(traps),
            lag: Mutex::new(HashMap::new()),
            timers: Mutex::new(HashMap::new()),
            totals: Default::default(),
            last_insert: AtomicU64::new(0),
            last_commit: AtomicU64::new(0),
            joined: AtomicBool::new(false),
            kafka: AtomicU8::new(0),
            recent: Mutex::new(Recent::default()),
        };
        this.set_state(State::Running);
        Arc::new(this)
    }

    /// Telemetry that records nothing to Prometheus, for tests and tools.
    pub fn detached(name: &str) -> Arc<Self> {
        Self::new(&Metrics::off(), name, &[], &[])
    }

    fn recent(&self) -> MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pipeline name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counts records read from Kafka (once per batch handed to a worker).
    pub fn consumed(&self, n: u64) {
        self.consumed.increment(n);
        self.totals[0].fetch_add(n, Ordering::Relaxed);
    }

    /// The histogram a plugin version's time per batch goes to; a worker asks once per
    /// chain it builds.
    pub fn plugin_timer(&self, plugin: &str, version: &str) -> Histogram {
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        timers
            .entry((plugin.to_owned(), version.to_owned()))
            .or_insert_with(|| {
                self.metrics.histogram(
                    m::PLUGIN_SECONDS,
                    &[
                        ("pipeline", &self.name),
                        ("plugin", plugin),
                        ("version", version),
                    ],
                )
            })
            .clone()
    }

    /// Counts plugin calls that trapped, by fault code.
    pub fn trapped(&self, plugin: &str, kind: &str, n: u64) {
        let mut traps = self.traps.lock().unwrap_or_else(|e| e.into_inner());
        traps
            .entry((plugin.to_owned(), kind.to_owned()))
            .or_insert_with(|| {
                self.metrics.counter(
                    m::PLUGIN_TRAPS,
                    &[("pipeline", &self.name), ("plugin", plugin), ("kind", kind)],
                )
            })
            .increment(n);
    }

    /// Counts batches split to isolate the records that broke them.
    pub fn isolated(&self, n: u64) {
        self.isolations.increment(n);
    }

    /// Records the time a batch spent in the plugin chain.
    pub fn chain_took(&self, took: Duration) {
        self.stages[0].record(took.as_secs_f64());
    }

    /// Records one written part of a batch: its insert time, rows per table, and the
    /// dead letters written (by code, and the last few for the page).
    pub fn inserted<'a>(
        &self,
        took: Duration,
        rows: &[(String, u64)],
        dead: impl Iterator<Item = (&'a str, &'a DeadLetter)>,
        topic: &str,
        partition: i32,
    ) {
        self.stages[1].record(took.as_secs_f64());
        let now = now_s();
        self.last_insert.store(now, Ordering::Relaxed);
        let mut total_rows = 0;
        for (table, n) in rows {
            total_rows += n;
            match self.tables.iter().find(|(t, _)| t == table) {
                Some((_, c)) => c.increment(*n),
                None => self
                    .metrics
                    .counter(
                        m::ROWS_WRITTEN,
                        &[("pipeline", &self.name), ("table", table)],
                    )
                    .increment(*n),
            }
        }
        self.totals[1].fetch_add(total_rows, Ordering::Relaxed);
        let mut n_dead = 0u64;
        let mut shown = Vec::new();
        {
            let mut codes = self.dead_codes.lock().unwrap_or_else(|e| e.into_inner());
            for (code, letter) in dead {
                n_dead += 1;
                let key = if codes.contains_key(code) || codes.len() < CODES_KEPT {
                    code
                } else {
                    "other"
                };
                if let Some(c) = codes.get(key) {
                    c.increment(1);
                } else {
                    let c = self
                        .metrics
                        .counter(m::DEAD_LETTERS, &[("pipeline", &self.name), ("code", key)]);
                    c.increment(1);
                    codes.insert(key.to_owned(), c);
                }
                shown.push(letter);
                if shown.len() > DEAD_KEPT {
                    shown.remove(0);
                }
            }
        }
        if n_dead == 0 {
            return;
        }
        self.totals[2].fetch_add(n_dead, Ordering::Relaxed);
        let mut recent = self.recent();
        for letter in shown {
            recent.dead.push_front(DeadLetterView {
                at: now,
                topic: topic.to_owned(),
                partition,
                offset: letter.offset,
                plugin: letter.plugin.to_string(),
                code: letter.code.clone(),
                message: prefix_chars(&letter.message, MESSAGE_PREFIX),
                payload: prefix_bytes(&letter.payload, PAYLOAD_PREFIX),
            });
        }
        recent.dead.truncate(DEAD_KEPT);
    }

    /// Records a commit: its time, and the batch's whole latency (chain to commit).
    pub fn committed(&self, took: Duration, batch: Duration) {
        self.stages[2].record(took.as_secs_f64());
        let now = now_s();
        self.last_commit.store(now, Ordering::Relaxed);
        self.last_commit_gauge.set(now as f64);
        let mut recent = self.recent();
        recent
            .latencies
            .push_back((now, batch.as_secs_f64() * 1000.0));
        if recent.latencies.len() > LATENCIES_KEPT {
            recent.latencies.pop_front();
        }
    }

    /// Counts a failed insert, and whether it is tried again.
    pub fn insert_failed(&self, class: InsertClass, retried: bool) {
        self.errors[class as usize].increment(1);
        if retried {
            self.retries[class as usize].increment(1);
        }
    }

    /// Sets the state series: 1 for `state`, 0 for the others.
    pub fn set_state(&self, state: State) {
        for (i, g) in self.states.iter().enumerate() {
            g.set(if i == state as usize { 1.0 } else { 0.0 });
        }
    }

    /// Counts a swap or rollback by its result.
    pub fn changed(&self, change: Change) {
        match change {
            Change::Swapped => self.swaps[0].increment(1),
            Change::SwapRefused => self.swaps[1].increment(1),
            Change::RolledBack => self.rollbacks[0].increment(1),
            Change::AutoRolledBack => self.rollbacks[1].increment(1),
            Change::RollbackRefused => self.rollbacks[2].increment(1),
        }
    }

    /// Sets the reader's gauges: bytes in flight and partitions paused.
    pub fn flow(&self, in_flight: usize, paused: usize) {
        self.in_flight.set(in_flight as f64);
        self.paused.set(paused as f64);
    }

    /// Sets how many partitions are stalled.
    pub fn stalled(&self, n: usize) {
        self.stalled.set(n as f64);
    }

    /// Replaces the partition list and sets their lag series. A partition this host
    /// no longer owns reads 0 (the exporter cannot drop a series, and its new owner
    /// reports the real lag, so a sum over hosts stays right).
    pub fn partitions(&self, parts: Vec<PartitionView>) {
        {
            let mut lag = self.lag.lock().unwrap_or_else(|e| e.into_inner());
            for ((t, p), g) in lag.iter() {
                if !parts.iter().any(|v| v.topic == *t && v.partition == *p) {
                    g.set(0.0);
                }
            }
            for v in &parts {
                let Some(n) = v.lag else { continue };
                let partition = v.partition.to_string();
                lag.entry((v.topic.clone(), v.partition))
                    .or_insert_with(|| {
                        self.metrics.gauge(
                            m::CONSUMER_LAG,
                            &[
                                ("pipeline", &self.name),
                                ("topic", &v.topic),
                                ("partition", &partition),
                            ],
                        )
                    })
                    .set(n as f64);
            }
        }
        self.recent().partitions = parts;
    }

    /// Records that the consumer has joined its group (got its first assignment).
    pub fn set_joined(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    /// Whether the consumer has joined its group.
    pub fn joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    /// Records whether the last request to Kafka answered.
    pub fn set_kafka_reachable(&self, ok: bool) {
        self.kafka.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
    }

    /// Whether the last request to Kafka answered; none before the first.
    pub fn kafka_reachable(&self) -> Option<bool> {
        match self.kafka.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    /// Cumulative counts now.
    pub fn totals(&self) -> Totals {
        Totals {
            consumed: self.totals[0].load(Ordering::Relaxed),
            rows: self.totals[1].load(Ordering::Relaxed),
            dead: self.totals[2].load(Ordering::Relaxed),
        }
    }

    /// Adds a sample of the totals at unix second `t` to the chart's history.
    pub fn sample(&self, t: u64) {
        let totals = self.totals();
        let mut recent = self.recent();
        if recent.history.back().is_some_and(|s| s.t >= t) {
            return;
        }
        recent.history.push_back(Sample {
            t,
            consumed: totals.consumed,
            rows: totals.rows,
            dead: totals.dead,
        });
        if recent.history.len() > HISTORY_KEPT {
            recent.history.pop_front();
        }
    }

    /// Everything the page shows, as of `now` (unix seconds).
    pub fn view(&self, now: u64) -> View {
        let totals = self.totals();
        let recent = self.recent();
        let history: Vec<Sample> = recent.history.iter().copied().collect();
        let latencies: Vec<f64> = recent
            .latencies
            .iter()
            .filter(|(at, _)| at + LATENCY_WINDOW_S >= now)
            .map(|(_, ms)| *ms)
            .collect();
        let last = |a: &AtomicU64| Some(a.load(Ordering::Relaxed)).filter(|t| *t > 0);
        View {
            totals,
            rates: rates(&history, totals, now),
            history,
            latency_ms: latency(latencies),
            partitions: recent.partitions.clone(),
            last_insert: last(&self.last_insert),
            last_commit: last(&self.last_commit),
            dead_letters: recent.dead.iter().cloned().collect(),
        }
    }
}

/// Rates from the newest sample at least 10 s old (or the oldest there is) to now.
fn rates(history: &[Sample], now_totals: Totals, now: u64) -> Rates {
    let base = history
        .iter()
        .rev()
        .find(|s| s.t + 10 <= now)
        .or_else(|| history.first().filter(|s| s.t < now));
    let Some(b) = base else {
        return Rates::default();
    };
    let dt = (now - b.t) as f64;
    let per = |a: u64, b: u64| (a.saturating_sub(b) as f64 / dt * 100.0).round() / 100.0;
    Rates {
        consumed_per_s: per(now_totals.consumed, b.consumed),
        rows_per_s: per(now_totals.rows, b.rows),
        dead_per_s: per(now_totals.dead, b.dead),
    }
}

/// p50 and p99 (nearest rank) of `ms`; none when empty.
fn latency(mut ms: Vec<f64>) -> Option<Latency> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    let round = |v: f64| (v * 100.0).round() / 100.0;
    Some(Latency {
        p50: round(at(0.5)),
        p99: round(at(0.99)),
    })
}

fn prefix_bytes(bytes: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(n)]).into_owned()
}

fn prefix_chars(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(offset: i64, code: &str) -> DeadLetter {
        DeadLetter {
            offset,
            plugin: "p".into(),
            code: code.into(),
            message: "m".repeat(400),
            payload: vec![b'x'; 1000],
        }
    }

    #[test]
    fn counters_exist_at_zero_from_the_start() {
        let metrics = Metrics::prometheus();
        let _t = PipelineTelemetry::new(&metrics, "p", &["t".into()], &["sentiment"]);
        let text = metrics.render().expect("on");
        for needle in [
            "sluice_records_consumed_total{pipeline=\"p\"} 0",
            "sluice_rows_written_total{pipeline=\"p\",table=\"t\"} 0",
            "sluice_plugin_traps_total{pipeline=\"p\",plugin=\"sentiment\",kind=\"trap-panic\"} 0",
            "sluice_insert_errors_total{pipeline=\"p\",class=\"fatal\"} 0",
            "sluice_pipeline_state{pipeline=\"p\",state=\"running\"} 1",
            "sluice_pipeline_state{pipeline=\"p\",state=\"failed\"} 0",
            "sluice_rollbacks_total{pipeline=\"p\",result=\"automatic\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn dead_letters_keep_the_last_twenty_newest_first_with_prefixes() {
        let t = PipelineTelemetry::detached("p");
        let letters: Vec<DeadLetter> = (0..30).map(|i| letter(i, "bad-json")).collect();
        t.inserted(
            Duration::ZERO,
            &[],
            letters.iter().map(|l| (l.code.as_str(), l)),
            "topic",
            2,
        );
        let v = t.view(now_s());
        assert_eq!(v.totals.dead, 30);
        assert_eq!(v.dead_letters.len(), 20);
        assert_eq!(v.dead_letters[0].offset, 29, "newest first");
        assert_eq!(v.dead_letters[19].offset, 10);
        assert_eq!(v.dead_letters[0].payload.len(), PAYLOAD_PREFIX);
        assert!(v.dead_letters[0].message.chars().count() <= MESSAGE_PREFIX + 1);
    }

    #[test]
    fn codes_past_the_cap_share_one_series() {
        let metrics = Metrics::prometheus();
        let t = PipelineTelemetry::new(&metrics, "p", &[], &[]);
        let letters: Vec<DeadLetter> = (0..100).map(|i| letter(i, &format!("c{i}"))).collect();
        t.inserted(
            Duration::ZERO,
            &[],
            letters.iter().map(|l| (l.code.as_str(), l)),
            "t",
            0,
        );
        let text = metrics.render().expect("on");
        let series = text
            .lines()
            .filter(|l| l.starts_with("sluice_dead_letters_total{"))
            .count();
        assert_eq!(series, CODES_KEPT + 1, "{text}");
        assert!(text.contains("code=\"other\"} 36"), "{text}");
    }

    #[test]
    fn rates_come_from_a_sample_ten_seconds_back() {
        let h = [
            Sample {
                t: 100,
                consumed: 0,
                rows: 0,
                dead: 0,
            },
            Sample {
                t: 105,
                consumed: 50,
                rows: 40,
                dead: 1,
            },
            Sample {
                t: 110,
                consumed: 100,
                rows: 90,
                dead: 2,
            },
        ];
        let now = Totals {
            consumed: 200,
            rows: 180,
            dead: 4,
        };
        let r = rates(&h, now, 115);
        assert_eq!(r.consumed_per_s, 15.0, "(200 - 50) / 10");
        assert_eq!(r.dead_per_s, 0.3);
        assert_eq!(rates(&[], now, 115), Rates::default());
    }

    #[test]
    fn latency_percentiles_by_nearest_rank() {
        let l = latency((1..=100).map(f64::from).collect()).expect("some");
        assert_eq!((l.p50, l.p99), (50.0, 99.0));
        assert!(latency(Vec::new()).is_none());
    }

    #[test]
    fn history_keeps_ten_minutes() {
        let t = PipelineTelemetry::detached("p");
        for i in 0..200 {
            t.sample(1000 + 5 * i);
        }
        t.sample(1000); // older than the newest: ignored
        let v = t.view(2000);
        assert_eq!(v.history.len(), HISTORY_KEPT);
        assert_eq!(v.history.last().map(|s| s.t), Some(1995));
    }

    #[test]
    fn partitions_that_go_away_read_zero_lag() {
        let metrics = Metrics::prometheus();
        let t = PipelineTelemetry::new(&metrics, "p", &[], &[]);
        let part = |p, lag| PartitionView {
            topic: "t".into(),
            partition: p,
            state: "running".into(),
            lag: Some(lag),
            committed: Some(1),
            end: Some(1 + lag),
            owner: "this host".into(),
        };
        t.partitions(vec![part(0, 5), part(1, 7)]);
        let text = metrics.render().expect("on");
        assert!(
            text.contains(
                "sluice_consumer_lag_records{pipeline=\"p\",topic=\"t\",partition=\"1\"} 7"
            ),
            "{text}"
        );
        t.partitions(vec![part(0, 3)]);
        let text = metrics.render().expect("on");
        assert!(text.contains("partition=\"0\"} 3"), "{text}");
        assert!(text.contains("partition=\"1\"} 0"), "{text}");
    }
}
