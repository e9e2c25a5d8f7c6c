//! One pipeline end to end: the reader pulls records from the Kafka source into
//! per-partition batches; workers run each batch through the plugin chain, write it
//! with the sink, and only then commit its offsets. A partition always maps to the
//! same worker, so its batches are written in offset order. Plugin versions change
//! only between batches: each worker checks the pipeline's [`control`] generation at
//! every batch boundary.

pub mod batch;
pub mod chain;
pub mod control;
pub mod flow;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::batch::{Batch, Batcher};
use self::chain::{Chain, ChainOutput};
use self::control::PipelineControl;
use self::flow::{Flow, InFlightBytes, Offer};
use crate::config::PipelineConfig;
use crate::runtime::{Plugin, PluginKind, Runtime};
use crate::sink::clickhouse::ClickHouse;
use crate::sink::{Marks, Sink, Source, Written};
use crate::source::kafka::{self, KafkaSource, KafkaSourceConfig, Ownership};
use crate::telemetry::Stats;

/// Batches queued per worker before the reader waits: backpressure, not buffering.
const WORKER_QUEUE: usize = 2;
/// First and largest pause between retries of a failed write.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// How often a held batch re-checks whether its pipeline left quarantine.
const QUARANTINE_POLL: Duration = Duration::from_millis(100);
/// At most this often a worker leaves its batch as the next swap's canary.
const CANARY_EVERY: Duration = Duration::from_secs(1);

/// Everything a worker needs besides its own chain.
struct Shared {
    config: PipelineConfig,
    control: Arc<PipelineControl>,
    sink: Sink,
    source: KafkaSource,
    stats: Arc<Stats>,
    /// Cancelled when in-flight work must be abandoned (shutdown deadline passed).
    abandon: CancellationToken,
    /// Payload bytes read and not yet finished, against `batch.max_in_flight_bytes`.
    in_flight: Arc<InFlightBytes>,
}

/// Loads and checks a pipeline's plugins (compile once; each worker instantiates).
pub fn load_plugins(runtime: &Runtime, config: &PipelineConfig) -> Result<Vec<Arc<Plugin>>> {
    config
        .plugins
        .iter()
        .map(|spec| {
            let plugin = Plugin::load(runtime, &spec.path)?;
            plugin.expect_kind(PluginKind::Transform)?;
            Ok(plugin)
        })
        .collect()
}

/// Runs one pipeline until `shutdown`; then finishes in-flight batches within
/// `drain` and returns. Only written batches are ever committed.
pub async fn run(
    control: Arc<PipelineControl>,
    ch: ClickHouse,
    brokers: &str,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
    drain: Duration,
) -> Result<()> {
    let config = control.config().clone();
    let (generation, plugins) = control.active();
    let chains = (0..config.workers)
        .map(|_| {
            control.build_chain(&plugins).map_err(|e| {
                anyhow::anyhow!("pipeline {}: a plugin failed to start: {e}", config.name)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let sink = Sink::new(
        ch,
        &config.table,
        &config.outputs,
        &config.dead_letter_table,
    )
    .await?;
    let source = KafkaSource::connect(&KafkaSourceConfig {
        brokers: brokers.to_owned(),
        group: config.group.clone(),
        topics: config.topics.clone(),
    })?;
    info!(pipeline = %config.name, topics = ?config.topics, table = %config.table, plugins = plugins.len(), "Pipeline started.");
    let shared = Arc::new(Shared {
        config,
        control: control.clone(),
        sink,
        source,
        stats,
        abandon: CancellationToken::new(),
        in_flight: Arc::new(InFlightBytes::default()),
    });
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for chain in chains {
        let (tx, rx) = mpsc::channel::<Batch>(WORKER_QUEUE);
        senders.push(tx);
        workers.push(tokio::spawn(worker(shared.clone(), generation, chain, rx)));
    }
    let watcher = shared
        .config
        .lifecycle
        .watch
        .then(|| tokio::spawn(watch::run(control, shutdown.clone())));
    read(&shared, &senders, &shutdown).await;
    if let Some(w) = watcher {
        w.abort();
    }
    drop(senders);
    let abandon = shared.abandon.clone();
    let deadline = tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        abandon.cancel();
    });
    for w in workers {
        if let Err(e) = w.await {
            warn!(error = %e, "A pipeline worker panicked.");
        }
    }
    deadline.abort();
    info!(pipeline = %shared.config.name, "Pipeline stopped.");
    Ok(())
}

async fn read(shared: &Shared, senders: &[mpsc::Sender<Batch>], shutdown: &CancellationToken) {
    let consumer = &shared.source.consumer;
    let ownership = &shared.source.ownership;
    let mut batcher = Batcher::new(shared.config.batch);
    let mut flow = Flow::new(senders.len(), shared.config.batch.max_in_flight_bytes);
    let tick_ms = (shared.config.batch.max_wait_ms / 4).clamp(5, 250);
    let mut tick = tokio::time::interval(Duration::from_millis(tick_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut topics: HashMap<String, Arc<str>> = HashMap::new();
    loop {
        let closed = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            msg = consumer.recv() => match msg {
                Ok(m) => {
                    let Some(epoch) = ownership.epoch(m.topic(), m.partition()) else { continue };
                    let topic = topics.entry(m.topic().to_owned()).or_insert_with(|| m.topic().into()).clone();
                    let headers = kafka::headers(m.headers());
                    let ts = m.timestamp().to_millis().unwrap_or(-1);
                    let payload = m.payload().unwrap_or(&[]);
                    shared.stats.consumed(1);
                    shared.in_flight.add(payload.len());
                    batcher
                        .push(&topic, m.partition(), epoch, m.offset(), ts, m.key().map(<[u8]>::to_vec), headers, payload, Instant::now())
                        .into_iter()
                        .collect::<Vec<_>>()
                }
                Err(e) => {
                    warn!(error = %e, "Kafka consumer error.");
                    Vec::new()
                }
            },
            _ = tick.tick() => {
                if flow.flush(senders) == Offer::Closed {
                    return;
                }
                flow.apply(consumer, shared.control.quarantined(), shared.in_flight.get(), &shared.config.name);
                batcher.expired(Instant::now())
            }
        };
        let mut parked = false;
        for batch in closed {
            if flow.offer(senders, batch) == Offer::Closed {
                return;
            }
            parked |= flow.has_parked();
        }
        if parked {
            flow.apply(
                consumer,
                shared.control.quarantined(),
                shared.in_flight.get(),
                &shared.config.name,
            );
        }
    }
    if flow.drain(senders).await == Offer::Closed {
        return;
    }
    for batch in batcher.drain() {
        if !dispatch(senders, batch).await {
            return;
        }
    }
}

/// Hands a batch to its partition's worker, waiting for room: for shutdown only,
/// when the reader no longer has to keep polling.
async fn dispatch(senders: &[mpsc::Sender<Batch>], batch: Batch) -> bool {
    let worker = flow::worker_of(&batch, senders.len());
    senders[worker].send(batch).await.is_ok()
}

async fn worker(
    shared: Arc<Shared>,
    mut generation: u64,
    mut chain: Chain,
    mut rx: mpsc::Receiver<Batch>,
) {
    let ownership: &Arc<Ownership> = &shared.source.ownership;
    let mut marks: HashMap<(Arc<str>, i32), (u64, Marks)> = HashMap::new();
    let mut canary_at: Option<Instant> = None;
    while let Some(batch) = rx.recv().await {
        let _bytes = shared.in_flight.release_on_drop(&batch);
        let _in_flight = ownership.start(&batch.topic, batch.partition);
        if !ownership.is_current(&batch.topic, batch.partition, batch.epoch) {
            debug!(topic = %batch.topic, partition = batch.partition, "Dropping a batch of a partition we no longer own.");
            continue;
        }
        if !hold_while_quarantined(&shared, &batch).await {
            continue;
        }
        // The batch boundary: the only place a worker changes plugin versions.
        if shared.control.generation() != generation {
            let (next, plugins) = shared.control.active();
            match tokio::task::block_in_place(|| shared.control.build_chain(&plugins)) {
                Ok(c) => {
                    chain = c;
                    generation = next;
                }
                Err(e) => {
                    warn!(pipeline = %shared.config.name, error = %e, "Cannot start the new plugin version; this worker keeps the old one.");
                    generation = next;
                }
            }
        }
        if canary_at.is_none_or(|at| at.elapsed() >= CANARY_EVERY) {
            shared.control.saw(&batch);
            canary_at = Some(Instant::now());
        }
        let key = (batch.topic.clone(), batch.partition);
        let fresh = !matches!(marks.get(&key), Some((epoch, _)) if *epoch == batch.epoch);
        if fresh {
            let Some(loaded) = load_marks(&shared, &batch).await else {
                continue;
            };
            marks.insert(key.clone(), (batch.epoch, loaded));
        }
        let Some((_, partition_marks)) = marks.get_mut(&key) else {
            continue;
        };
        let Some(last) = batch.last_offset() else {
            continue;
        };
        if !process(
            &shared,
            generation,
            &mut chain,
            batch.clone(),
            partition_marks,
        )
        .await
        {
            continue;
        }
        let committed = tokio::task::block_in_place(|| {
            kafka::commit(
                &shared.source.consumer,
                ownership,
                &batch.topic,
                batch.partition,
                batch.epoch,
                last + 1,
            )
        });
        if let Err(e) = committed {
            warn!(error = %format!("{e:#}"), "Commit failed; a restart replays and the sink skips what it has.");
        }
    }
}

/// Reads the sink's marks for a new assignment, retrying until it works or we stop.
async fn load_marks(shared: &Shared, batch: &Batch) -> Option<Marks> {
    let mut pause = RETRY_MIN;
    loop {
        match shared
            .sink
            .load_marks(&shared.config.name, &batch.topic, batch.partition)
            .await
        {
            Ok(m) => return Some(m),
            Err(e) => warn!(error = %format!("{e:#}"), "Cannot read sink offsets; retrying."),
        }
        if !wait_retry(shared, batch, &mut pause).await {
            return None;
        }
    }
}

/// Runs the chain and writes the result, cutting the batch where a table's mark
/// falls inside it. Returns false if the batch was abandoned.
async fn process(
    shared: &Shared,
    generation: u64,
    chain: &mut Chain,
    mut batch: Batch,
    marks: &mut Marks,
) -> bool {
    let mut parts = Vec::new();
    for cut in marks.cut_points() {
        if batch.events.first().is_some_and(|e| e.offset <= cut)
            && batch.last_offset().is_some_and(|l| l > cut)
        {
            let rest = batch.split_after(cut);
            parts.push(std::mem::replace(&mut batch, rest));
        }
    }
    parts.push(batch);
    for part in parts {
        let started = Instant::now();
        let out = tokio::task::block_in_place(|| chain.run(&part));
        shared.control.report(generation, &out);
        let source = Source {
            pipeline: &shared.config.name,
            topic: &part.topic,
            partition: part.partition,
            version: chain.version(),
        };
        let mut attempt = SinkAttempt {
            shared,
            source,
            out: &out,
            part: &part,
            pause: RETRY_MIN,
        };
        let Some(w) = write_with_retry(&mut attempt, marks).await else {
            return false;
        };
        shared
            .stats
            .written(part.events.len() as u64, w.rows, w.dead, started.elapsed());
        if let Some(last) = part.last_offset() {
            marks.advance_all(shared.sink.table_names(), last);
        }
    }
    true
}

/// One part's write as the retry loop sees it; a trait so that a test can script a
/// sink that fails the way a real one does.
trait Attempt {
    /// Where the part came from, for logs.
    fn source(&self) -> (&str, i32);
    /// Inserts what `marks` say the tables lack.
    async fn write(&mut self, marks: &Marks) -> Result<Written>;
    /// Reads what the tables hold now.
    async fn reload(&mut self) -> Result<Marks>;
    /// Waits before the next try; false if the part must be given up.
    async fn pause(&mut self) -> bool;
}

/// Writes until an insert succeeds; None if the part was given up. A failed insert
/// may still have landed (committed by the server, the answer lost), so every retry
/// first re-reads the marks, and no insert runs before that re-read has succeeded:
/// an insert on the old marks would write the landed rows a second time.
async fn write_with_retry(attempt: &mut impl Attempt, marks: &mut Marks) -> Option<Written> {
    loop {
        match attempt.write(marks).await {
            Ok(w) => return Some(w),
            Err(e) => {
                let (topic, partition) = attempt.source();
                warn!(%topic, partition, error = %format!("{e:#}"), "Write failed; retrying.");
            }
        }
        loop {
            if !attempt.pause().await {
                return None;
            }
            match attempt.reload().await {
                Ok(m) => {
                    *marks = m;
                    break;
                }
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "Cannot re-read sink offsets; not writing until they are read.")
                }
            }
        }
    }
}

/// The real sink behind [`write_with_retry`].
struct SinkAttempt<'a> {
    shared: &'a Shared,
    source: Source<'a>,
    out: &'a ChainOutput,
    part: &'a Batch,
    pause: Duration,
}

impl Attempt for SinkAttempt<'_> {
    fn source(&self) -> (&str, i32) {
        (&self.part.topic, self.part.partition)
    }

    async fn write(&mut self, marks: &Marks) -> Result<Written> {
        self.shared.sink.write(self.source, self.out, marks).await
    }

    async fn reload(&mut self) -> Result<Marks> {
        self.shared
            .sink
            .load_marks(
                &self.shared.config.name,
                &self.part.topic,
                self.part.partition,
            )
            .await
    }

    async fn pause(&mut self) -> bool {
        wait_retry(self.shared, self.part, &mut self.pause).await
    }
}

/// Holds a batch while the pipeline is quarantined; false if it must be dropped
/// instead (partition revoked, or shutdown deadline passed).
async fn hold_while_quarantined(shared: &Shared, batch: &Batch) -> bool {
    while shared.control.quarantined() {
        tokio::select! {
            _ = shared.abandon.cancelled() => return false,
            _ = tokio::time::sleep(QUARANTINE_POLL) => {}
        }
        if !shared
            .source
            .ownership
            .is_current(&batch.topic, batch.partition, batch.epoch)
        {
            return false;
        }
    }
    true
}

/// Sleeps before a retry with capped exponential backoff; false if the batch must
/// be given up (shutdown deadline passed, or the partition was revoked).
async fn wait_retry(shared: &Shared, batch: &Batch, pause: &mut Duration) -> bool {
    tokio::select! {
        _ = shared.abandon.cancelled() => return false,
        _ = tokio::time::sleep(*pause) => {}
    }
    *pause = (*pause * 2).min(RETRY_MAX);
    shared
        .source
        .ownership
        .is_current(&batch.topic, batch.partition, batch.epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table that fails the way ClickHouse does when it dies mid-insert: the first
    /// insert lands but its answer is lost, and the first re-read of the marks fails.
    struct LostAnswer {
        batch: Vec<i64>,
        held: Vec<i64>,
        writes: usize,
        reloads: usize,
    }

    impl Attempt for LostAnswer {
        fn source(&self) -> (&str, i32) {
            ("t", 0)
        }

        async fn write(&mut self, marks: &Marks) -> Result<Written> {
            self.writes += 1;
            let missing: Vec<i64> = self
                .batch
                .iter()
                .copied()
                .filter(|o| !marks.covers("t", *o))
                .collect();
            self.held.extend(&missing);
            if self.writes == 1 {
                anyhow::bail!("connection reset by peer");
            }
            Ok(Written {
                rows: missing.len() as u64,
                ..Written::default()
            })
        }

        async fn reload(&mut self) -> Result<Marks> {
            self.reloads += 1;
            if self.reloads == 1 {
                anyhow::bail!("connection refused");
            }
            let mut marks = Marks::default();
            if let Some(max) = self.held.iter().max() {
                marks.advance_all(&["t".to_owned()], *max);
            }
            Ok(marks)
        }

        async fn pause(&mut self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_write_that_landed_unanswered_is_not_repeated_when_the_marks_cannot_be_read() {
        let mut sink = LostAnswer {
            batch: (100..110).collect(),
            held: Vec::new(),
            writes: 0,
            reloads: 0,
        };
        let mut marks = Marks::default();
        let written = write_with_retry(&mut sink, &mut marks).await;
        assert_eq!(
            written.map(|w| w.rows),
            Some(0),
            "the retry skips what landed"
        );
        assert_eq!(
            sink.held,
            (100..110).collect::<Vec<_>>(),
            "each offset once"
        );
        assert_eq!((sink.writes, sink.reloads), (2, 2));
    }
}
