//! A pipeline worker: takes its partitions' batches in offset order, runs them through
//! its plugin chain, writes the output with the sink (retrying, re-reading the table
//! or halting the pipeline, by what the error says), and only then commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::chain::{Chain, ChainRun};
use super::control::{PipelineControl, Refusal};
use super::{Restart, Shared};
use crate::record::{Batch, ChainOutput};
use crate::sink::fence::{self, CommitMetadata, Fenced};
use crate::sink::{Marks, Source, WriteError, Written};
use crate::source::kafka::{self, Ownership};
use crate::source::topic_id;
use crate::telemetry::pipeline::InsertClass;

/// First and largest pause between retries of a failed write.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// How often a held batch re-checks whether its pipeline left quarantine.
const QUARANTINE_POLL: Duration = Duration::from_millis(100);
/// At most this often a worker leaves its batch as the next swap's canary.
const CANARY_EVERY: Duration = Duration::from_secs(1);
/// After a new plugin version fails to start in this worker, how long before it is
/// tried again.
const REBUILD_RETRY: Duration = Duration::from_secs(1);
/// How often a new owner asks again whether an old owner's insert has finished.
const FENCE_POLL: Duration = Duration::from_millis(200);

/// A worker's chain and the generation it was built from. The worker changes plugin
/// versions only here, between batches. A version that fails to start keeps the old
/// chain *and its generation*, so the old version's batches never count toward the
/// new one's probation, and the new one is tried again after [`REBUILD_RETRY`].
pub(super) struct ChainSlot {
    chain: Chain,
    generation: u64,
    /// The generation that last failed to start here, and when.
    failed: Option<(u64, Instant)>,
    /// Each stage's plugin-time histogram, for the generation they were made for.
    timers: Option<(u64, Vec<metrics::Histogram>)>,
}

impl ChainSlot {
    /// A slot holding `chain`, built from `generation`.
    pub(super) fn new(chain: Chain, generation: u64) -> Self {
        Self {
            chain,
            generation,
            failed: None,
            timers: None,
        }
    }

    /// The plugin-time histograms of the current chain's stages.
    fn timers(&mut self, shared: &Shared) -> &[metrics::Histogram] {
        if self
            .timers
            .as_ref()
            .is_none_or(|(g, _)| *g != self.generation)
        {
            let telemetry = shared.control.telemetry();
            let timers = self
                .chain
                .stages()
                .map(|(name, version)| telemetry.plugin_timer(name, &version))
                .collect();
            self.timers = Some((self.generation, timers));
        }
        self.timers.as_ref().map_or(&[], |(_, t)| t.as_slice())
    }

    /// At a batch boundary: moves to generation `current` if it is newer, building its
    /// chain with `build` (which returns the generation it read and the chain).
    fn at_boundary(
        &mut self,
        pipeline: &str,
        current: u64,
        now: Instant,
        build: impl FnOnce() -> Result<(u64, Chain), Refusal>,
    ) {
        if current == self.generation {
            return;
        }
        if let Some((generation, at)) = self.failed
            && generation == current
            && now.duration_since(at) < REBUILD_RETRY
        {
            return;
        }
        match build() {
            Ok((generation, chain)) => {
                self.chain = chain;
                self.generation = generation;
                self.failed = None;
            }
            Err(e) => {
                if self.failed.is_none_or(|(g, _)| g != current) {
                    warn!(pipeline, generation = current, error = %e, "Cannot start the new plugin version in this worker; it keeps the old one and tries again.");
                }
                self.failed = Some((current, now));
            }
        }
    }
}

/// What a worker holds for a partition it owns, for one assignment epoch.
struct Owned {
    epoch: u64,
    /// What each table already holds (per table, of this topic incarnation).
    marks: Marks,
    /// The ClickHouse session this owner writes through, named in the commit metadata.
    session: String,
    /// The topic's ID (KIP-516); empty when the cluster has none.
    topic_id: String,
    /// The offset last committed, which every rewrite of the metadata commits again.
    committed: i64,
    /// A newer owner fenced the session: this epoch's batches are dropped.
    fenced: bool,
}

impl Owned {
    fn metadata(&self) -> String {
        CommitMetadata {
            topic_id: self.topic_id.clone(),
            sessions: vec![self.session.clone()],
        }
        .encode()
    }
}

/// Runs until the reader closes the queue: every batch is written and committed, or
/// dropped because its partition moved on or the drain deadline passed.
pub(super) async fn run(shared: Arc<Shared>, mut slot: ChainSlot, mut rx: mpsc::Receiver<Batch>) {
    let ownership: &Arc<Ownership> = &shared.source.ownership;
    let mut owned: HashMap<(Arc<str>, i32), Owned> = HashMap::new();
    let mut sought: HashMap<(Arc<str>, i32), (i64, u64)> = HashMap::new();
    let mut canary_at: Option<Instant> = None;
    while let Some(batch) = rx.recv().await {
        let _bytes = shared.in_flight.release_on_drop(&batch);
        let _in_flight = ownership.start(&batch.topic, batch.partition);
        if !ownership.is_current(&batch.topic, batch.partition, batch.epoch) {
            debug!(topic = %batch.topic, partition = batch.partition, "Dropping a batch of a partition we no longer own.");
            continue;
        }
        if shared.abandon.is_cancelled() {
            // The drain deadline passed: what is left is read again by the next owner.
            continue;
        }
        if !hold_while_quarantined(&shared, &batch).await {
            continue;
        }
        let control: &PipelineControl = &shared.control;
        slot.at_boundary(
            &shared.config.name,
            control.generation(),
            Instant::now(),
            || {
                let (next, plugins) = control.active();
                tokio::task::block_in_place(|| control.build_chain(&plugins)).map(|c| (next, c))
            },
        );
        if canary_at.is_none_or(|at| at.elapsed() >= CANARY_EVERY) {
            control.saw(&batch);
            canary_at = Some(Instant::now());
        }
        let key = (batch.topic.clone(), batch.partition);
        let fresh = !matches!(owned.get(&key), Some(o) if o.epoch == batch.epoch);
        if fresh {
            let Some(o) = establish(&shared, &batch, &mut sought).await else {
                continue;
            };
            owned.insert(key.clone(), o);
        }
        let Some(o) = owned.get_mut(&key) else {
            continue;
        };
        if o.fenced {
            continue;
        }
        let Some(last) = batch.last_offset() else {
            continue;
        };
        let started = Instant::now();
        match process(&shared, &mut slot, batch.clone(), o).await {
            Ok(()) => {}
            Err(Stop::Abandoned) => continue,
            Err(Stop::Fenced) => {
                error!(pipeline = %shared.config.name, topic = %batch.topic, partition = batch.partition, "A newer owner fenced this member's ClickHouse session; it stops writing the partition until it is assigned again.");
                o.fenced = true;
                continue;
            }
        }
        let metadata = o.metadata();
        let commit_started = Instant::now();
        let committed = tokio::task::block_in_place(|| {
            kafka::commit(
                &shared.source.consumer,
                ownership,
                &batch.topic,
                batch.partition,
                batch.epoch,
                last + 1,
                &metadata,
            )
        });
        match committed {
            Ok(true) => {
                shared
                    .control
                    .telemetry()
                    .committed(commit_started.elapsed(), started.elapsed());
                o.committed = last + 1;
                ownership.committed(
                    &batch.topic,
                    batch.partition,
                    batch.epoch,
                    last + 1,
                    &metadata,
                );
            }
            Ok(false) => {}
            Err(e) => {
                warn!(error = %format!("{e:#}"), "Commit failed; a restart replays and the sink skips what it has.")
            }
        }
    }
}

/// Takes over a partition at the first batch of an assignment, retrying until it
/// works or the partition is lost: fences every earlier owner's session (see
/// `sink::fence`), then reads the marks. None if the batch must be dropped.
async fn establish(
    shared: &Shared,
    batch: &Batch,
    sought: &mut HashMap<(Arc<str>, i32), (i64, u64)>,
) -> Option<Owned> {
    let mut pause = RETRY_MIN;
    loop {
        match take_over(shared, batch, sought).await {
            Ok(Some(o)) => return Some(o),
            Ok(None) => return None,
            Err(e) => {
                warn!(pipeline = %shared.config.name, topic = %batch.topic, partition = batch.partition, error = %format!("{e:#}"), "Cannot take over the partition yet; retrying.")
            }
        }
        if !wait_retry(shared, batch, &mut pause).await {
            return None;
        }
    }
}

/// One try of [`establish`]. In order: read the committed offset and metadata; make
/// sure both belong to this incarnation of the topic, and that the consumer starts
/// this owner at the committed offset (else it reads again from there, once per
/// committed offset: past it may lie only transaction markers, compacted or expired
/// records, which a second read skips the same way); open our session and register
/// it beside the earlier ones, so that from here on a later owner fences ours too;
/// fence the earlier ones; read the marks, dropping any past the partition's end.
async fn take_over(
    shared: &Shared,
    batch: &Batch,
    sought: &mut HashMap<(Arc<str>, i32), (i64, u64)>,
) -> Result<Option<Owned>> {
    let (topic, partition, epoch) = (&*batch.topic, batch.partition, batch.epoch);
    let consumer = &shared.source.consumer;
    let ownership = &shared.source.ownership;
    let pipeline = &shared.config.name;
    let (committed, metadata) =
        tokio::task::block_in_place(|| kafka::committed(consumer, topic, partition))?;
    let previous = CommitMetadata::decode(&metadata);
    let topic_id = tokio::task::block_in_place(|| {
        topic_id::describe(consumer, topic, Duration::from_secs(10))
    })?
    .unwrap_or_default();
    if committed.is_some()
        && !previous.topic_id.is_empty()
        && !topic_id.is_empty()
        && previous.topic_id != topic_id
    {
        error!(%pipeline, %topic, partition, committed = ?committed, was = %previous.topic_id, now = %topic_id, "The committed offset belongs to another incarnation of this topic (deleted and created again); reading the partition from its beginning.");
        restart_incarnation(shared, batch, &topic_id, &previous.sessions)?;
        return Ok(None);
    }
    let first = batch.events.first().map(|e| e.offset);
    let key = (batch.topic.clone(), partition);
    match start_check(committed, first, epoch, sought.get(&key).copied()) {
        Start::AtCommitted => {}
        Start::BeforeTheSeek => return Ok(None),
        Start::PastSkipped {
            committed: c,
            first: f,
        } => {
            debug!(%pipeline, %topic, partition, committed = c, first = f, "The first record past the committed offset is later than it (transaction markers, compaction or retention); going on.");
        }
        Start::ReadAgain {
            committed: c,
            first: f,
        } => {
            // Records between were read under an earlier assignment and dropped with
            // it: an owner that began here would never write them.
            info!(%pipeline, %topic, partition, committed = c, first = f, "The consumer began past the committed offset; reading the partition again from it.");
            sought.insert(key, (c, epoch));
            let _ = shared.restarts.send(Restart {
                topic: batch.topic.clone(),
                partition,
                from: rdkafka::Offset::Offset(c),
            });
            return Ok(None);
        }
    }
    let session = fence::new_session_id();
    shared.sink.open_session(&session).await?;
    let committed = committed.unwrap_or(first.unwrap_or(0));
    {
        let _registering = ownership.registering(topic, partition);
        let mut sessions = previous.sessions.clone();
        sessions.push(session.clone());
        let registration = CommitMetadata {
            topic_id: topic_id.clone(),
            sessions,
        }
        .encode();
        let ours = tokio::task::block_in_place(|| {
            kafka::commit(
                consumer,
                ownership,
                topic,
                partition,
                epoch,
                committed,
                &registration,
            )
        })?;
        if !ours {
            return Ok(None);
        }
    }
    for old in previous.sessions.iter().filter(|s| **s != session) {
        if !fence_settled(shared, batch, old, "of the previous owner").await? {
            return Ok(None);
        }
    }
    let mut marks = shared
        .sink
        .load_marks(pipeline, topic, &topic_id, partition)
        .await?;
    let end = tokio::task::block_in_place(|| kafka::end_offset(consumer, topic, partition))?;
    debug!(%topic, partition, epoch, committed, first = ?batch.events.first().map(|e| e.offset), ?marks, end, %session, "Took the partition over.");
    for (table, mark) in marks.discard_from(end) {
        error!(%pipeline, %topic, partition, %table, mark, end, "The table holds offsets of this partition past its end: they belong to another incarnation of the topic (deleted and created again) or to a truncated log. They no longer count as written; the partition is written from its committed offset.");
        shared.stats.incarnation_changed();
    }
    Ok(Some(Owned {
        epoch,
        marks,
        session,
        topic_id,
        committed,
        fenced: false,
    }))
}

/// Fences `session` and waits while an insert `whose` still runs in it; once this
/// returns true no insert through the session can land any more. False if the
/// partition of `batch` was given up (revoked, or the drain deadline passed) first.
async fn fence_settled(shared: &Shared, batch: &Batch, session: &str, whose: &str) -> Result<bool> {
    let started = Instant::now();
    let mut warned = false;
    loop {
        match shared.sink.fence_session(session).await? {
            Fenced::Done | Fenced::Gone => return Ok(true),
            Fenced::Busy => {
                if !warned && started.elapsed() > Duration::from_secs(5) {
                    warn!(pipeline = %shared.config.name, topic = %batch.topic, partition = batch.partition, %session, "An insert {whose} is still running; waiting for it before reading the marks.");
                    warned = true;
                }
                if !shared
                    .source
                    .ownership
                    .is_current(&batch.topic, batch.partition, batch.epoch)
                    || shared.abandon.is_cancelled()
                {
                    return Ok(false);
                }
                tokio::time::sleep(FENCE_POLL).await;
            }
        }
    }
}

/// Where a new owner's first batch begins, against the committed offset.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// At or before the committed offset (before: a replay the marks skip).
    AtCommitted,
    /// Read before the partition was sought back, under the epoch that asked: dropped.
    BeforeTheSeek,
    /// Past it: read the partition again from the committed offset.
    ReadAgain { committed: i64, first: i64 },
    /// Past it again after reading again from there: only offsets without records
    /// (transaction markers, compacted or expired records) lie between.
    PastSkipped { committed: i64, first: i64 },
}

/// Whether a first batch beginning at `first`, read under `epoch`, may be written by a
/// new owner when `committed` is the committed offset and `sought` the committed
/// offset the partition was last read again from, with the epoch that asked for it.
fn start_check(
    committed: Option<i64>,
    first: Option<i64>,
    epoch: u64,
    sought: Option<(i64, u64)>,
) -> Start {
    match (committed, first) {
        (Some(c), Some(f)) if f > c => match sought {
            Some((s, asked)) if s == c && asked == epoch => Start::BeforeTheSeek,
            Some((s, _)) if s == c => Start::PastSkipped {
                committed: c,
                first: f,
            },
            _ => Start::ReadAgain {
                committed: c,
                first: f,
            },
        },
        _ => Start::AtCommitted,
    }
}

/// Starts a partition over for a new incarnation of its topic: commits its beginning
/// under the new topic ID (the old committed offset means nothing for the new one),
/// keeping the sessions a later owner must fence, and has the reader seek there.
fn restart_incarnation(
    shared: &Shared,
    batch: &Batch,
    topic_id: &str,
    sessions: &[String],
) -> Result<()> {
    let (topic, partition) = (&*batch.topic, batch.partition);
    let source = &shared.source;
    shared.stats.incarnation_changed();
    let start =
        tokio::task::block_in_place(|| kafka::start_offset(&source.consumer, topic, partition))?;
    let metadata = CommitMetadata {
        topic_id: topic_id.to_owned(),
        sessions: sessions.to_vec(),
    }
    .encode();
    let ours = tokio::task::block_in_place(|| {
        kafka::commit(
            &source.consumer,
            &source.ownership,
            topic,
            partition,
            batch.epoch,
            start,
            &metadata,
        )
    })?;
    if ours {
        let _ = shared.restarts.send(Restart {
            topic: batch.topic.clone(),
            partition,
            from: rdkafka::Offset::Beginning,
        });
    }
    Ok(())
}

/// Whether the topic is still the incarnation `owned` was taken over for, asked of
/// the cluster after the batch was read: a batch read from a topic created anew
/// under the same name is read after that creation, so the answer is fresh enough.
async fn same_incarnation(shared: &Shared, batch: &Batch, owned: &Owned) -> Result<bool, Stop> {
    let mut pause = RETRY_MIN;
    loop {
        let now = tokio::task::block_in_place(|| {
            topic_id::describe(
                &shared.source.consumer,
                &batch.topic,
                Duration::from_secs(10),
            )
        });
        match now {
            Ok(Some(id)) if id == owned.topic_id || owned.topic_id.is_empty() => return Ok(true),
            Ok(Some(id)) => {
                error!(pipeline = %shared.config.name, topic = %batch.topic, partition = batch.partition, was = %owned.topic_id, now = %id, "The topic was deleted and created again; its new records are read from the beginning, and nothing of the batch in hand is written.");
                if let Err(e) =
                    restart_incarnation(shared, batch, &id, std::slice::from_ref(&owned.session))
                {
                    warn!(error = %format!("{e:#}"), "Cannot restart the partition yet.");
                }
                return Ok(false);
            }
            // No ID: a broker without topic IDs (it never had one), or the topic is
            // gone for the moment (then ownership ends soon, or it comes back).
            Ok(None) if owned.topic_id.is_empty() => return Ok(true),
            Ok(None) => {
                debug!(topic = %batch.topic, "The topic is not listed; waiting before writing.")
            }
            Err(e) => {
                warn!(topic = %batch.topic, error = %format!("{e:#}"), "Cannot check the topic's ID; waiting before writing.")
            }
        }
        if !wait_retry(shared, batch, &mut pause).await {
            return Err(Stop::Abandoned);
        }
    }
}

/// Why a batch was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Given up: the partition was revoked, or the shutdown deadline passed.
    Abandoned,
    /// A newer owner fenced this member's session.
    Fenced,
}

/// Runs the chain and writes the result, cutting the batch where a table's mark
/// falls inside it.
async fn process(
    shared: &Shared,
    slot: &mut ChainSlot,
    mut batch: Batch,
    owned: &mut Owned,
) -> Result<(), Stop> {
    if !same_incarnation(shared, &batch, owned).await? {
        return Err(Stop::Abandoned);
    }
    let mut parts = Vec::new();
    for cut in owned.marks.cut_points() {
        if batch.events.first().is_some_and(|e| e.offset <= cut)
            && batch.last_offset().is_some_and(|l| l > cut)
        {
            let rest = batch.split_after(cut);
            parts.push(std::mem::replace(&mut batch, rest));
        }
    }
    parts.push(batch);
    let telemetry = shared.control.telemetry();
    for part in parts {
        let started = Instant::now();
        let run: ChainRun = tokio::task::block_in_place(|| slot.chain.run(&part));
        telemetry.chain_took(started.elapsed());
        for (timer, took) in slot.timers(shared).iter().zip(&run.took) {
            timer.record(took.as_secs_f64());
        }
        if !run.faulted_calls.is_empty() {
            let names: Vec<(&str, String)> = slot.chain.stages().collect();
            for (k, code) in &run.faulted_calls {
                if let Some((name, _)) = names.get(*k) {
                    telemetry.trapped(name, code, 1);
                }
            }
        }
        shared.control.report(slot.generation, &run);
        if run.isolations > 0 {
            shared.stats.isolated(run.isolations);
            telemetry.isolated(run.isolations);
        }
        let inserting = Instant::now();
        let mut attempt = SinkAttempt {
            shared,
            version: slot.chain.version(),
            owned,
            out: &run.output,
            part: &part,
            pause: RETRY_MIN,
        };
        let w = write_with_retry(&mut attempt).await?;
        debug!(topic = %part.topic, partition = part.partition, epoch = part.epoch, first = ?part.events.first().map(|e| e.offset), last = ?part.last_offset(), rows = w.rows, skipped = w.skipped, "Wrote a part.");
        shared
            .stats
            .written(part.events.len() as u64, w.rows, w.dead, started.elapsed());
        let dead = &run.output.dead;
        telemetry.inserted(
            inserting.elapsed(),
            &w.tables,
            w.chain_dead
                .iter()
                .filter_map(|i| dead.get(*i as usize))
                .chain(&w.host_dead)
                .map(|d| (d.code.as_str(), d)),
            &part.topic,
            part.partition,
        );
        if let Some(last) = part.last_offset() {
            owned.marks.advance_all(shared.sink.table_names(), last);
        }
    }
    Ok(())
}

/// One part's write as the retry loop sees it; a trait so that a test can script a
/// sink that fails the way a real one does.
trait Attempt {
    /// Where the part came from, for logs.
    fn source(&self) -> (&str, i32);
    /// Inserts what the marks say the tables lack.
    async fn write(&mut self) -> Result<Written, WriteError>;
    /// Reads what the tables hold now into the marks.
    async fn reload(&mut self) -> Result<()>;
    /// Re-reads the columns of a table that refused rows encoded for its old ones.
    async fn refresh(&mut self, table: &str) -> Result<()>;
    /// Opens a new session after the server lost ours, and registers it; false if
    /// this member may not register any more (the partition is no longer ours).
    async fn renew_session(&mut self) -> Result<bool>;
    /// Waits before the next try; false if the part must be given up.
    async fn pause(&mut self) -> bool;
    /// Stops the pipeline for a cause only a person can fix and waits until it is
    /// resumed; false if the part must be given up meanwhile.
    async fn halt(&mut self, reason: &str) -> bool;
    /// Counts a failed insert by class, and whether it is tried again.
    fn failed(&self, _class: InsertClass, _retried: bool) {}
}

/// What the retry loop does after a failed write, before it re-reads the marks.
enum Then {
    /// Go on at once (the table was re-read, or a new session registered).
    Continue,
    /// Back off, then try the same rows again.
    Pause,
    /// Halt the pipeline with this reason until an operator resumes it.
    Halt(String),
}

/// Writes until an insert succeeds. A failed insert may still have landed (committed
/// by the server, the answer lost), so every retry first re-reads the marks, and no
/// insert runs before that re-read has succeeded: an insert on the old marks would
/// write the landed rows a second time.
///
/// By the error: a passing failure is retried after a pause; rows the table no
/// longer fits are encoded again once against its re-read columns (rows that still do
/// not fit become `schema` dead letters), and a second refusal halts the pipeline, as
/// a fatal error (authentication, permissions, an engine without inserts) does at
/// once. A fenced session stops the partition; a lost one is replaced and registered.
async fn write_with_retry(attempt: &mut impl Attempt) -> Result<Written, Stop> {
    let mut refreshed = false;
    loop {
        let then = match attempt.write().await {
            Ok(w) => return Ok(w),
            Err(WriteError::Fenced { .. }) => {
                attempt.failed(InsertClass::Fatal, false);
                return Err(Stop::Fenced);
            }
            Err(WriteError::SessionLost { session }) => {
                let (topic, partition) = attempt.source();
                warn!(%topic, partition, %session, "ClickHouse lost this member's session (idle past its timeout?); opening and registering a new one.");
                match attempt.renew_session().await {
                    Ok(true) => {
                        attempt.failed(InsertClass::Retryable, true);
                        Then::Continue
                    }
                    Ok(false) => {
                        attempt.failed(InsertClass::Retryable, false);
                        return Err(Stop::Fenced);
                    }
                    Err(e) => {
                        warn!(error = %format!("{e:#}"), "Cannot open a new session yet; retrying.");
                        attempt.failed(InsertClass::Retryable, true);
                        Then::Pause
                    }
                }
            }
            Err(WriteError::Schema { table, error }) if !refreshed => {
                refreshed = true;
                attempt.failed(InsertClass::Schema, true);
                let (topic, partition) = attempt.source();
                warn!(%topic, partition, %table, error = %format!("{error:#}"), "The table's columns changed; re-reading them and encoding the batch again.");
                match attempt.refresh(&table).await {
                    Ok(()) => Then::Continue,
                    Err(e) => {
                        warn!(%table, error = %format!("{e:#}"), "Cannot re-read the table's columns; retrying.");
                        refreshed = false;
                        Then::Pause
                    }
                }
            }
            Err(WriteError::Schema { table, error }) => {
                attempt.failed(InsertClass::Schema, true);
                Then::Halt(format!(
                    "table {table}: rows still do not fit after re-reading its columns; fix the table or the plugin's rows, then resume the pipeline ({error:#})"
                ))
            }
            Err(WriteError::Fatal { reason, error }) => {
                attempt.failed(InsertClass::Fatal, true);
                Then::Halt(format!("{reason}, then resume the pipeline ({error:#})"))
            }
            Err(e @ WriteError::Retryable(_)) => {
                attempt.failed(InsertClass::Retryable, true);
                let (topic, partition) = attempt.source();
                warn!(%topic, partition, error = %e, "Write failed; retrying.");
                Then::Pause
            }
        };
        match then {
            Then::Continue => {}
            Then::Pause => {
                if !attempt.pause().await {
                    return Err(Stop::Abandoned);
                }
            }
            Then::Halt(reason) => {
                refreshed = false;
                if !attempt.halt(&reason).await {
                    return Err(Stop::Abandoned);
                }
            }
        }
        loop {
            match attempt.reload().await {
                Ok(()) => break,
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "Cannot re-read sink offsets; not writing until they are read.");
                    if !attempt.pause().await {
                        return Err(Stop::Abandoned);
                    }
                }
            }
        }
    }
}

/// The real sink behind [`write_with_retry`].
struct SinkAttempt<'a> {
    shared: &'a Shared,
    version: &'a str,
    owned: &'a mut Owned,
    out: &'a ChainOutput,
    part: &'a Batch,
    pause: Duration,
}

impl Attempt for SinkAttempt<'_> {
    fn source(&self) -> (&str, i32) {
        (&self.part.topic, self.part.partition)
    }

    async fn write(&mut self) -> Result<Written, WriteError> {
        let source = Source {
            pipeline: &self.shared.config.name,
            topic: &self.part.topic,
            partition: self.part.partition,
            topic_id: &self.owned.topic_id,
            version: self.version,
            session: Some(&self.owned.session),
        };
        self.shared
            .sink
            .write(source, self.out, &self.owned.marks)
            .await
    }

    async fn reload(&mut self) -> Result<()> {
        // A failed insert may still land: the client gave up on a frozen or slow
        // server, the request did not, and it may not even have started (a request
        // the server has not begun holds no lock, so no query can prove it done).
        // Fencing the session it went through settles it for good: once the session
        // is read-only, that insert has either finished (landed or not) or will be
        // refused whenever it runs. Marks read after that are final for it, and the
        // next try goes through a new session, registered for later owners to fence.
        if !fence_settled(self.shared, self.part, &self.owned.session, "of ours").await? {
            anyhow::bail!("the partition was given up while an insert of ours still ran");
        }
        if !self.renew_session().await? {
            anyhow::bail!("the partition is no longer ours");
        }
        self.owned.marks = self
            .shared
            .sink
            .load_marks(
                &self.shared.config.name,
                &self.part.topic,
                &self.owned.topic_id,
                self.part.partition,
            )
            .await?;
        Ok(())
    }

    async fn refresh(&mut self, table: &str) -> Result<()> {
        self.shared.sink.refresh(table).await
    }

    async fn renew_session(&mut self) -> Result<bool> {
        let session = fence::new_session_id();
        self.shared.sink.open_session(&session).await?;
        let (topic, partition, epoch) = (&*self.part.topic, self.part.partition, self.part.epoch);
        let source = &self.shared.source;
        let _registering = source.ownership.registering(topic, partition);
        let metadata = CommitMetadata {
            topic_id: self.owned.topic_id.clone(),
            sessions: vec![session.clone()],
        }
        .encode();
        let committed = self.owned.committed;
        let ours = tokio::task::block_in_place(|| {
            kafka::commit(
                &source.consumer,
                &source.ownership,
                topic,
                partition,
                epoch,
                committed,
                &metadata,
            )
        })?;
        if ours {
            self.owned.session = session;
        }
        Ok(ours)
    }

    async fn pause(&mut self) -> bool {
        wait_retry(self.shared, self.part, &mut self.pause).await
    }

    async fn halt(&mut self, reason: &str) -> bool {
        self.shared.control.halt(reason);
        self.pause = RETRY_MIN;
        hold_while_quarantined(self.shared, self.part).await
    }

    fn failed(&self, class: InsertClass, retried: bool) {
        self.shared
            .control
            .telemetry()
            .insert_failed(class, retried);
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

    #[test]
    fn a_new_owner_begun_past_the_committed_offset_reads_again_once() {
        // The consumer handed over 1000 with 500 committed: 500..999 would be lost.
        assert_eq!(
            start_check(Some(500), Some(1000), 7, None),
            Start::ReadAgain {
                committed: 500,
                first: 1000
            }
        );
        // More of what was read before the seek, under the same epoch: dropped.
        assert_eq!(
            start_check(Some(500), Some(1500), 7, Some((500, 7))),
            Start::BeforeTheSeek
        );
        // Read again from 500 (a new epoch) and still 1000: nothing but markers lies
        // between.
        assert_eq!(
            start_check(Some(500), Some(1000), 8, Some((500, 7))),
            Start::PastSkipped {
                committed: 500,
                first: 1000
            }
        );
        // A later committed offset is checked anew.
        assert_eq!(
            start_check(Some(700), Some(1000), 8, Some((500, 7))),
            Start::ReadAgain {
                committed: 700,
                first: 1000
            }
        );
        assert_eq!(
            start_check(Some(500), Some(500), 1, None),
            Start::AtCommitted
        );
        assert_eq!(
            start_check(Some(500), Some(20), 1, None),
            Start::AtCommitted
        );
        assert_eq!(start_check(None, Some(20), 1, None), Start::AtCommitted);
    }

    /// A scripted table: each write takes the next scripted result (success once the
    /// script runs out), landing the offsets the marks do not cover when the script
    /// says the insert landed.
    struct Scripted {
        batch: Vec<i64>,
        held: Vec<i64>,
        marks: Marks,
        script: Vec<Step>,
        writes: usize,
        reloads: usize,
        /// Reloads that fail before one succeeds.
        failing_reloads: usize,
        refreshed: Vec<String>,
        halts: Vec<String>,
        renewals: usize,
        /// Whether a renewal may register (false: the partition is no longer ours).
        may_register: bool,
        /// Failures counted, as the metrics see them.
        counted: std::cell::RefCell<Vec<(InsertClass, bool)>>,
    }

    enum Step {
        /// The insert landed, but its answer was lost.
        LostAnswer,
        /// The table's columns changed; nothing landed.
        Schema,
        /// Authentication failed; nothing landed.
        Fatal,
        /// A newer owner made our session read-only; nothing landed.
        Fenced,
        /// The server forgot our session; nothing landed.
        SessionLost,
    }

    impl Scripted {
        fn new(script: Vec<Step>) -> Self {
            Self {
                batch: (100..110).collect(),
                held: Vec::new(),
                marks: Marks::default(),
                script,
                writes: 0,
                reloads: 0,
                failing_reloads: 0,
                refreshed: Vec::new(),
                halts: Vec::new(),
                renewals: 0,
                may_register: true,
                counted: Default::default(),
            }
        }
    }

    impl Attempt for Scripted {
        fn source(&self) -> (&str, i32) {
            ("t", 0)
        }

        async fn write(&mut self) -> Result<Written, WriteError> {
            self.writes += 1;
            let missing: Vec<i64> = self
                .batch
                .iter()
                .copied()
                .filter(|o| !self.marks.covers("t", *o))
                .collect();
            let step = (!self.script.is_empty()).then(|| self.script.remove(0));
            match step {
                Some(Step::LostAnswer) => {
                    self.held.extend(&missing);
                    Err(WriteError::Retryable(anyhow::anyhow!(
                        "connection reset by peer"
                    )))
                }
                Some(Step::Schema) => Err(WriteError::Schema {
                    table: "t".into(),
                    error: anyhow::anyhow!("Code: 16. No such column region"),
                }),
                Some(Step::Fatal) => Err(WriteError::Fatal {
                    reason: "table t: ClickHouse refused the user or password; fix it".into(),
                    error: anyhow::anyhow!("Code: 516"),
                }),
                Some(Step::Fenced) => Err(WriteError::Fenced {
                    session: "old".into(),
                }),
                Some(Step::SessionLost) => Err(WriteError::SessionLost {
                    session: "old".into(),
                }),
                None => {
                    self.held.extend(&missing);
                    Ok(Written {
                        rows: missing.len() as u64,
                        ..Written::default()
                    })
                }
            }
        }

        async fn reload(&mut self) -> Result<()> {
            self.reloads += 1;
            if self.reloads <= self.failing_reloads {
                anyhow::bail!("connection refused");
            }
            let mut marks = Marks::default();
            if let Some(max) = self.held.iter().max() {
                marks.advance_all(&["t".to_owned()], *max);
            }
            self.marks = marks;
            Ok(())
        }

        async fn refresh(&mut self, table: &str) -> Result<()> {
            self.refreshed.push(table.to_owned());
            Ok(())
        }

        async fn renew_session(&mut self) -> Result<bool> {
            self.renewals += 1;
            Ok(self.may_register)
        }

        async fn pause(&mut self) -> bool {
            true
        }

        async fn halt(&mut self, reason: &str) -> bool {
            self.halts.push(reason.to_owned());
            true
        }

        fn failed(&self, class: InsertClass, retried: bool) {
            self.counted.borrow_mut().push((class, retried));
        }
    }

    #[tokio::test]
    async fn every_failed_insert_is_counted_by_class_and_whether_it_is_retried() {
        let mut sink = Scripted::new(vec![
            Step::LostAnswer,
            Step::Schema,
            Step::Schema,
            Step::Fatal,
            Step::SessionLost,
        ]);
        assert!(write_with_retry(&mut sink).await.is_ok());
        use InsertClass::*;
        assert_eq!(
            sink.counted.into_inner(),
            vec![
                (Retryable, true),
                (Schema, true),
                (Schema, true),
                (Fatal, true),
                (Retryable, true)
            ]
        );
        let mut fenced = Scripted::new(vec![Step::Fenced]);
        assert_eq!(write_with_retry(&mut fenced).await, Err(Stop::Fenced));
        assert_eq!(fenced.counted.into_inner(), vec![(Fatal, false)]);
    }

    #[tokio::test]
    async fn a_write_that_landed_unanswered_is_not_repeated_when_the_marks_cannot_be_read() {
        let mut sink = Scripted::new(vec![Step::LostAnswer]);
        sink.failing_reloads = 1;
        let written = write_with_retry(&mut sink).await;
        assert_eq!(
            written.map(|w| w.rows),
            Ok(0),
            "the retry skips what landed"
        );
        assert_eq!(
            sink.held,
            (100..110).collect::<Vec<_>>(),
            "each offset once"
        );
        assert_eq!((sink.writes, sink.reloads), (2, 2));
    }

    #[tokio::test]
    async fn a_schema_error_rereads_the_table_once_and_writes_again() {
        let mut sink = Scripted::new(vec![Step::Schema]);
        let written = write_with_retry(&mut sink).await;
        assert_eq!(written.map(|w| w.rows), Ok(10));
        assert_eq!(sink.refreshed, vec!["t".to_owned()]);
        assert!(
            sink.halts.is_empty(),
            "a changed column never stops the pipeline"
        );
    }

    #[tokio::test]
    async fn a_second_schema_error_halts_instead_of_looping() {
        let mut sink = Scripted::new(vec![Step::Schema, Step::Schema]);
        let written = write_with_retry(&mut sink).await;
        assert_eq!(written.map(|w| w.rows), Ok(10), "written once resumed");
        assert_eq!(sink.refreshed.len(), 1, "re-read once, not per retry");
        assert_eq!(sink.halts.len(), 1);
        assert!(
            sink.halts[0].contains("still do not fit"),
            "{}",
            sink.halts[0]
        );
    }

    #[tokio::test]
    async fn a_fatal_error_halts_once_and_resumes_on_fresh_marks() {
        let mut sink = Scripted::new(vec![Step::Fatal]);
        let written = write_with_retry(&mut sink).await;
        assert_eq!(written.map(|w| w.rows), Ok(10));
        assert_eq!(sink.halts.len(), 1, "one halt, not one per retry");
        assert!(
            sink.halts[0].contains("resume the pipeline"),
            "{}",
            sink.halts[0]
        );
        assert_eq!(sink.reloads, 1, "the marks are re-read before the retry");
        assert_eq!(sink.held, (100..110).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_fenced_session_stops_the_partition_without_a_retry() {
        let mut sink = Scripted::new(vec![Step::Fenced]);
        assert_eq!(write_with_retry(&mut sink).await, Err(Stop::Fenced));
        assert_eq!(sink.writes, 1, "no write after the fence");
        assert!(sink.held.is_empty());
    }

    #[tokio::test]
    async fn a_lost_session_is_renewed_and_registered_before_the_retry() {
        let mut sink = Scripted::new(vec![Step::SessionLost]);
        assert_eq!(write_with_retry(&mut sink).await.map(|w| w.rows), Ok(10));
        assert_eq!((sink.renewals, sink.reloads), (1, 1));
        let mut zombie = Scripted::new(vec![Step::SessionLost]);
        zombie.may_register = false;
        assert_eq!(
            write_with_retry(&mut zombie).await,
            Err(Stop::Fenced),
            "a member that may not register never writes"
        );
        assert!(zombie.held.is_empty());
    }

    fn chain_slot() -> ChainSlot {
        ChainSlot::new(Chain::default(), 1)
    }

    /// Defect found in review: a worker that could not build the new chain kept the
    /// old chain but took the new generation, so the old version's batches counted
    /// toward the new version's probation and the build was never tried again.
    #[test]
    fn a_chain_that_fails_to_build_keeps_the_old_generation_and_is_retried() {
        let mut slot = chain_slot();
        let t0 = Instant::now();
        slot.at_boundary("p", 2, t0, || Err(Refusal::Init("boom".into())));
        assert_eq!(slot.generation, 1, "batches still report the old version");
        let mut tried = false;
        slot.at_boundary("p", 2, t0 + Duration::from_millis(10), || {
            tried = true;
            Ok((2, Chain::default()))
        });
        assert!(!tried, "not rebuilt on every batch");
        slot.at_boundary("p", 2, t0 + REBUILD_RETRY, || Ok((2, Chain::default())));
        assert_eq!(slot.generation, 2, "the retry moves on");
        assert!(slot.failed.is_none());
    }

    #[test]
    fn a_newer_generation_is_tried_at_once_after_a_failed_one() {
        let mut slot = chain_slot();
        let t0 = Instant::now();
        slot.at_boundary("p", 2, t0, || Err(Refusal::Init("boom".into())));
        slot.at_boundary("p", 3, t0, || Ok((3, Chain::default())));
        assert_eq!(slot.generation, 3);
    }
}
