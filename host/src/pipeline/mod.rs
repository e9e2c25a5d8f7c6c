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
mod lag;
mod skipped;
pub mod stall;
mod watch;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use self::batch::Batcher;
use self::control::PipelineControl;
use self::flow::{Flow, InFlightBytes, Offer};
use self::worker::ChainSlot;
use crate::config::PipelineConfig;
use crate::record::Batch;
use crate::runtime::{Plugin, PluginKind, Runtime};
use crate::sink::Sink;
use crate::sink::clickhouse::ClickHouse;
use crate::source::kafka::{self, KafkaSource, KafkaSourceConfig};
use crate::source::settings::KafkaSettings;
use crate::telemetry::Stats;

/// Batches queued per worker before the reader waits: backpressure, not buffering.
const WORKER_QUEUE: usize = 2;

/// A partition to read again from `from`.
struct Restart {
    topic: Arc<str>,
    partition: i32,
    from: rdkafka::Offset,
}

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
    /// Partitions to read again from an offset: from their beginning when their topic
    /// was created anew, from the committed offset when the consumer handed a new
    /// owner records past it. The reader seeks and starts a new epoch between two
    /// records, so no record of before the seek mixes with one of after it.
    restarts: mpsc::UnboundedSender<Restart>,
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
/// `drain` and returns. Only written batches are ever committed. An error means the
/// pipeline could not start (a plugin, a table, the broker); it is returned before
/// anything is read.
pub async fn run(
    control: Arc<PipelineControl>,
    ch: ClickHouse,
    kafka: KafkaSettings,
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
    let without_id = sink.tables_without_topic_id();
    if !without_id.is_empty() {
        warn!(pipeline = %config.name, tables = ?without_id, "These tables lack the `_topic_id String` column, so a topic deleted and created again is caught only when its offsets run past the old ones; add the column (scripts/schema.sh does).");
    }
    let source = KafkaSource::connect(&KafkaSourceConfig {
        settings: kafka,
        group: config.group.clone(),
        topics: config.topics.clone(),
        topic_patterns: config.topic_patterns.clone(),
    })?;
    info!(pipeline = %config.name, topics = ?config.topics, table = %config.table, plugins = plugins.len(), "Pipeline started.");
    let (restart_tx, restart_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        config,
        control: control.clone(),
        sink,
        source,
        stats,
        abandon: CancellationToken::new(),
        in_flight: Arc::new(InFlightBytes::default()),
        restarts: restart_tx,
    });
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for chain in chains {
        let (tx, rx) = mpsc::channel::<Batch>(WORKER_QUEUE);
        senders.push(tx);
        let slot = ChainSlot::new(chain, generation);
        workers.push(tokio::spawn(worker::run(shared.clone(), slot, rx)));
    }
    let lag = tokio::spawn(lag::run(
        control.clone(),
        shared.source.consumer.clone(),
        shared.source.ownership.clone(),
        shutdown.clone(),
    ));
    let watcher = shared
        .config
        .lifecycle
        .watch
        .then(|| tokio::spawn(watch::run(control, shutdown.clone())));
    // The drain deadline runs from the moment shutdown is asked for, whatever the
    // reader and workers are waiting on (a frozen ClickHouse must not hold the exit).
    let abandon = shared.abandon.clone();
    let stopping = shutdown.clone();
    let deadline = tokio::spawn(async move {
        stopping.cancelled().await;
        tokio::time::sleep(drain).await;
        abandon.cancel();
    });
    read(&shared, &senders, restart_rx, &shutdown).await;
    if let Some(w) = watcher {
        w.abort();
    }
    lag.abort();
    drop(senders);
    for w in workers {
        if let Err(e) = w.await {
            warn!(error = %e, "A pipeline worker panicked.");
        }
    }
    deadline.abort();
    info!(pipeline = %shared.config.name, "Pipeline stopped.");
    Ok(())
}

async fn read(
    shared: &Shared,
    senders: &[mpsc::Sender<Batch>],
    mut restarts: mpsc::UnboundedReceiver<Restart>,
    shutdown: &CancellationToken,
) {
    let consumer = &shared.source.consumer;
    let ownership = &shared.source.ownership;
    let mut batcher = Batcher::new(shared.config.batch, shared.in_flight.clone());
    let mut flow = Flow::new(senders.len(), shared.config.batch.max_in_flight_bytes);
    let tick_ms = (shared.config.batch.max_wait_ms / 4).clamp(5, 250);
    let mut tick = tokio::time::interval(Duration::from_millis(tick_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut topics: HashMap<String, Arc<str>> = HashMap::new();
    let mut skips = skipped::SkipWatch::default();
    let mut skipped_at = Instant::now();
    let mut stalls = stall::StallWatch::default();
    let mut stall_at = Instant::now();
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
                    skips.read(&topic, m.partition(), epoch, m.offset());
                    batcher
                        .push(&topic, m.partition(), epoch, m.offset(), ts, m.key().map(<[u8]>::to_vec), headers, payload, Instant::now())
                        .into_iter()
                        .collect::<Vec<_>>()
                }
                Err(e) => {
                    let text = e.to_string();
                    if stalls.consumer_error(&text, Instant::now()) {
                        warn!(pipeline = %shared.config.name, error = %text, "Kafka consumer error (logged once a minute while it repeats).");
                    }
                    Vec::new()
                }
            },
            Some(Restart { topic, partition, from }) = restarts.recv() => {
                // librdkafka drops what it fetched before the seek; what we read before
                // it carries the old epoch and is dropped as stale.
                match kafka::seek(consumer, &topic, partition, from) {
                    Ok(()) => {
                        ownership.renew(&topic, partition);
                        info!(pipeline = %shared.config.name, %topic, partition, from = ?from, "Reading the partition again.");
                    }
                    Err(e) => warn!(error = %format!("{e:#}"), "Cannot seek the partition; a restart or rebalance reads it from the committed offset."),
                }
                Vec::new()
            }
            _ = tick.tick() => {
                if flow.flush(senders) == Offer::Closed {
                    return;
                }
                flow.apply(consumer, shared.control.quarantined(), shared.in_flight.get(), &shared.config.name);
                shared.control.telemetry().flow(shared.in_flight.get(), flow.paused().len());
                if skipped_at.elapsed() >= SKIPPED_COMMIT_EVERY && !shared.control.quarantined() {
                    skipped_at = Instant::now();
                    skips.commit(shared);
                }
                if stall_at.elapsed() >= STALL_CHECK_EVERY {
                    stall_at = Instant::now();
                    watch_stalls(shared, &mut stalls, &flow);
                }
                batcher.expired(Instant::now())
            }
        };
        let mut parked = false;
        for batch in closed {
            shared
                .control
                .telemetry()
                .consumed(batch.events.len() as u64);
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
    // Hand over what was read, unless the drain deadline passes first.
    let handed = async {
        if flow.drain(senders).await == Offer::Closed {
            return;
        }
        for batch in batcher.drain() {
            shared
                .control
                .telemetry()
                .consumed(batch.events.len() as u64);
            if !dispatch(senders, batch).await {
                return;
            }
        }
    };
    tokio::select! {
        _ = handed => {}
        _ = shared.abandon.cancelled() => {}
    }
}

/// How often the reader looks for partitions that stopped making progress.
const STALL_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Looks for partitions stuck behind records they cannot read; logs each change once
/// and shows the stalled ones in the pipeline's status.
fn watch_stalls(shared: &Shared, stalls: &mut stall::StallWatch, flow: &Flow) {
    let consumer = &shared.source.consumer;
    let Ok(positions) = tokio::task::block_in_place(|| kafka::positions(consumer)) else {
        return;
    };
    let mut paused = flow.paused().clone();
    if shared.control.quarantined() {
        paused.extend(positions.keys().cloned());
    }
    let changes = stalls.check(&positions, &paused, Instant::now(), |(topic, partition)| {
        tokio::task::block_in_place(|| kafka::end_offset(consumer, topic, *partition)).ok()
    });
    if changes.is_empty() {
        return;
    }
    for change in changes {
        match change {
            stall::Change::Stalled(s) => {
                tracing::error!(pipeline = %shared.config.name, topic = %s.topic, partition = s.partition, offset = s.offset, end = s.end, error = s.error.as_deref().unwrap_or("none seen"), "Partition stalled: the consumer makes no progress although records wait; the other partitions go on.");
                shared.stats.stalled();
            }
            stall::Change::Moving { topic, partition } => {
                info!(pipeline = %shared.config.name, %topic, partition, "Stalled partition moves again.");
            }
        }
    }
    shared.control.set_stalled(stalls.stalled());
}

/// How often the reader looks for partitions whose consumer position moved past what
/// was committed without a record to show for it.
const SKIPPED_COMMIT_EVERY: Duration = Duration::from_secs(1);

/// Hands a batch to its partition's worker, waiting for room: for shutdown only,
/// when the reader no longer has to keep polling.
async fn dispatch(senders: &[mpsc::Sender<Batch>], batch: Batch) -> bool {
    let worker = flow::worker_of(&batch, senders.len());
    senders[worker].send(batch).await.is_ok()
}
