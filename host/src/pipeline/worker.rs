//! A pipeline worker: takes its partitions' batches in offset order, runs them through
//! its plugin chain, writes the output with the sink (retrying, re-reading the table
//! or halting the pipeline, by what the error says), and only then commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::Shared;
use super::chain::{Chain, ChainRun};
use super::control::{PipelineControl, Refusal};
use crate::record::{Batch, ChainOutput};
use crate::sink::{Marks, Source, WriteError, Written};
use crate::source::kafka::{self, Ownership};

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

/// A worker's chain and the generation it was built from. The worker changes plugin
/// versions only here, between batches. A version that fails to start keeps the old
/// chain *and its generation*, so the old version's batches never count toward the
/// new one's probation, and the new one is tried again after [`REBUILD_RETRY`].
pub(super) struct ChainSlot {
    chain: Chain,
    generation: u64,
    /// The generation that last failed to start here, and when.
    failed: Option<(u64, Instant)>,
}

impl ChainSlot {
    /// A slot holding `chain`, built from `generation`.
    pub(super) fn new(chain: Chain, generation: u64) -> Self {
        Self {
            chain,
            generation,
            failed: None,
        }
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

/// Runs until the reader closes the queue: every batch is written and committed, or
/// dropped because its partition moved on or the drain deadline passed.
pub(super) async fn run(shared: Arc<Shared>, mut slot: ChainSlot, mut rx: mpsc::Receiver<Batch>) {
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
        if !process(&shared, &mut slot, batch.clone(), partition_marks).await {
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
    slot: &mut ChainSlot,
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
        let run: ChainRun = tokio::task::block_in_place(|| slot.chain.run(&part));
        shared.control.report(slot.generation, &run);
        let source = Source {
            pipeline: &shared.config.name,
            topic: &part.topic,
            partition: part.partition,
            version: slot.chain.version(),
        };
        let mut attempt = SinkAttempt {
            shared,
            source,
            out: &run.output,
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
    async fn write(&mut self, marks: &Marks) -> Result<Written, WriteError>;
    /// Reads what the tables hold now.
    async fn reload(&mut self) -> Result<Marks>;
    /// Re-reads the columns of a table that refused rows encoded for its old ones.
    async fn refresh(&mut self, table: &str) -> Result<()>;
    /// Waits before the next try; false if the part must be given up.
    async fn pause(&mut self) -> bool;
    /// Stops the pipeline for a cause only a person can fix and waits until it is
    /// resumed; false if the part must be given up meanwhile.
    async fn halt(&mut self, reason: &str) -> bool;
}

/// What the retry loop does after a failed write, before it re-reads the marks.
enum Then {
    /// Go on at once (the table was re-read).
    Continue,
    /// Back off, then try the same rows again.
    Pause,
    /// Halt the pipeline with this reason until an operator resumes it.
    Halt(String),
}

/// Writes until an insert succeeds; None if the part was given up. A failed insert
/// may still have landed (committed by the server, the answer lost), so every retry
/// first re-reads the marks, and no insert runs before that re-read has succeeded:
/// an insert on the old marks would write the landed rows a second time.
///
/// By the error: a passing failure is retried after a pause; rows the table no
/// longer fits are encoded again once against its re-read columns (rows that still do
/// not fit become `schema` dead letters), and a second refusal halts the pipeline, as
/// a fatal error (authentication, permissions, an engine without inserts) does at once.
async fn write_with_retry(attempt: &mut impl Attempt, marks: &mut Marks) -> Option<Written> {
    let mut refreshed = false;
    loop {
        let then = match attempt.write(marks).await {
            Ok(w) => return Some(w),
            Err(WriteError::Schema { table, error }) if !refreshed => {
                refreshed = true;
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
            Err(WriteError::Schema { table, error }) => Then::Halt(format!(
                "table {table}: rows still do not fit after re-reading its columns; fix the table or the plugin's rows, then resume the pipeline ({error:#})"
            )),
            Err(WriteError::Fatal { reason, error }) => {
                Then::Halt(format!("{reason}, then resume the pipeline ({error:#})"))
            }
            Err(e @ WriteError::Retryable(_)) => {
                let (topic, partition) = attempt.source();
                warn!(%topic, partition, error = %e, "Write failed; retrying.");
                Then::Pause
            }
        };
        match then {
            Then::Continue => {}
            Then::Pause => {
                if !attempt.pause().await {
                    return None;
                }
            }
            Then::Halt(reason) => {
                refreshed = false;
                if !attempt.halt(&reason).await {
                    return None;
                }
            }
        }
        loop {
            match attempt.reload().await {
                Ok(m) => {
                    *marks = m;
                    break;
                }
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "Cannot re-read sink offsets; not writing until they are read.");
                    if !attempt.pause().await {
                        return None;
                    }
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

    async fn write(&mut self, marks: &Marks) -> Result<Written, WriteError> {
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

    async fn refresh(&mut self, table: &str) -> Result<()> {
        self.shared.sink.refresh(table).await
    }

    async fn pause(&mut self) -> bool {
        wait_retry(self.shared, self.part, &mut self.pause).await
    }

    async fn halt(&mut self, reason: &str) -> bool {
        self.shared.control.halt(reason);
        self.pause = RETRY_MIN;
        hold_while_quarantined(self.shared, self.part).await
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

    /// A scripted table: each write takes the next scripted result (success once the
    /// script runs out), landing the offsets `marks` do not cover when the script says
    /// the insert landed.
    struct Scripted {
        batch: Vec<i64>,
        held: Vec<i64>,
        script: Vec<Step>,
        writes: usize,
        reloads: usize,
        /// Reloads that fail before one succeeds.
        failing_reloads: usize,
        refreshed: Vec<String>,
        halts: Vec<String>,
    }

    enum Step {
        /// The insert landed, but its answer was lost.
        LostAnswer,
        /// The table's columns changed; nothing landed.
        Schema,
        /// Authentication failed; nothing landed.
        Fatal,
    }

    impl Scripted {
        fn new(script: Vec<Step>) -> Self {
            Self {
                batch: (100..110).collect(),
                held: Vec::new(),
                script,
                writes: 0,
                reloads: 0,
                failing_reloads: 0,
                refreshed: Vec::new(),
                halts: Vec::new(),
            }
        }
    }

    impl Attempt for Scripted {
        fn source(&self) -> (&str, i32) {
            ("t", 0)
        }

        async fn write(&mut self, marks: &Marks) -> Result<Written, WriteError> {
            self.writes += 1;
            let missing: Vec<i64> = self
                .batch
                .iter()
                .copied()
                .filter(|o| !marks.covers("t", *o))
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
                None => {
                    self.held.extend(&missing);
                    Ok(Written {
                        rows: missing.len() as u64,
                        ..Written::default()
                    })
                }
            }
        }

        async fn reload(&mut self) -> Result<Marks> {
            self.reloads += 1;
            if self.reloads <= self.failing_reloads {
                anyhow::bail!("connection refused");
            }
            let mut marks = Marks::default();
            if let Some(max) = self.held.iter().max() {
                marks.advance_all(&["t".to_owned()], *max);
            }
            Ok(marks)
        }

        async fn refresh(&mut self, table: &str) -> Result<()> {
            self.refreshed.push(table.to_owned());
            Ok(())
        }

        async fn pause(&mut self) -> bool {
            true
        }

        async fn halt(&mut self, reason: &str) -> bool {
            self.halts.push(reason.to_owned());
            true
        }
    }

    #[tokio::test]
    async fn a_write_that_landed_unanswered_is_not_repeated_when_the_marks_cannot_be_read() {
        let mut sink = Scripted::new(vec![Step::LostAnswer]);
        sink.failing_reloads = 1;
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

    #[tokio::test]
    async fn a_schema_error_rereads_the_table_once_and_writes_again() {
        let mut sink = Scripted::new(vec![Step::Schema]);
        let written = write_with_retry(&mut sink, &mut Marks::default()).await;
        assert_eq!(written.map(|w| w.rows), Some(10));
        assert_eq!(sink.refreshed, vec!["t".to_owned()]);
        assert!(
            sink.halts.is_empty(),
            "a changed column never stops the pipeline"
        );
    }

    #[tokio::test]
    async fn a_second_schema_error_halts_instead_of_looping() {
        let mut sink = Scripted::new(vec![Step::Schema, Step::Schema]);
        let written = write_with_retry(&mut sink, &mut Marks::default()).await;
        assert_eq!(written.map(|w| w.rows), Some(10), "written once resumed");
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
        let written = write_with_retry(&mut sink, &mut Marks::default()).await;
        assert_eq!(written.map(|w| w.rows), Some(10));
        assert_eq!(sink.halts.len(), 1, "one halt, not one per retry");
        assert!(
            sink.halts[0].contains("resume the pipeline"),
            "{}",
            sink.halts[0]
        );
        assert_eq!(sink.reloads, 1, "the marks are re-read before the retry");
        assert_eq!(sink.held, (100..110).collect::<Vec<_>>());
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
