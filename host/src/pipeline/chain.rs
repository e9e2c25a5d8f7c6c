//! Runs a batch through a pipeline's plugin chain: each stage's untargeted rows feed
//! the next stage, targeted rows go straight to their output, rejections and traps
//! become dead letters. Every row keeps the offset of the record it came from.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::{Batch, ChainOutput, DeadLetter};
use crate::runtime::{Outcome, PluginFault, PluginOutput, RowMeta, TransformInstance};

/// One batch's run through the chain: what goes to the sink, and what the plugin
/// lifecycle (canaries, probation, quarantine) judges each stage by.
#[derive(Debug, Default)]
pub struct ChainRun {
    /// Rows and dead letters, for the sink.
    pub output: ChainOutput,
    /// Stages that faulted (trap, bad output) on this batch, by chain index.
    pub faults: Vec<(usize, PluginFault)>,
    /// Events each stage rejected, by chain index.
    pub rejected: Vec<usize>,
    /// Events each stage was given, by chain index.
    pub seen: Vec<usize>,
    /// Events each stage trapped on (found by re-running parts), by chain index.
    pub trapped: Vec<usize>,
    /// The first trap of each stage that trapped at all, isolated or not: what a
    /// canary refuses a candidate for.
    pub traps: Vec<(usize, PluginFault)>,
    /// Batches re-run in parts to find the events a stage trapped on.
    pub isolations: u64,
    /// Time each stage spent on the batch, isolation included, by chain index.
    pub took: Vec<Duration>,
    /// Every call that faulted, with its fault code, by chain index (one batch can
    /// fault many times while its poison events are isolated).
    pub faulted_calls: Vec<(usize, &'static str)>,
}

/// A pipeline's plugins, in order, each instantiated for one worker.
#[derive(Debug)]
pub struct Chain {
    stages: Vec<TransformInstance>,
    /// Fixed with the stages, so it is joined once rather than per batch.
    version: String,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl Chain {
    /// A chain of instances; empty means rows pass through untouched.
    pub fn new(stages: Vec<TransformInstance>) -> Self {
        let version = if stages.is_empty() {
            "passthrough".to_owned()
        } else {
            stages
                .iter()
                .map(|s| s.plugin().version.to_string())
                .collect::<Vec<_>>()
                .join("+")
        };
        Self { stages, version }
    }

    /// Content hashes of the chain's plugins, joined: the version rows record.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Each stage's plugin name and version, in order.
    pub fn stages(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.stages
            .iter()
            .map(|s| (&*s.plugin().name, s.plugin().version.to_string()))
    }

    /// Runs `batch` through every stage.
    pub fn run(&mut self, batch: &Batch) -> ChainRun {
        let mut out = ChainRun::default();
        if self.stages.is_empty() {
            for (meta, range) in batch.events.iter().zip(batch.payload_ranges()) {
                out.output
                    .push_row(meta.offset, None, &batch.payloads[range]);
            }
            return out;
        }
        let last = self.stages.len() - 1;
        out.rejected = vec![0; self.stages.len()];
        out.seen = vec![0; self.stages.len()];
        out.trapped = vec![0; self.stages.len()];
        out.took = vec![Duration::ZERO; self.stages.len()];
        let mut owned;
        let mut current = batch;
        for (k, stage) in self.stages.iter_mut().enumerate() {
            if current.events.is_empty() {
                break;
            }
            let plugin = stage.plugin().name.clone();
            out.seen[k] = current.events.len();
            let started = Instant::now();
            let next = match stage.process(current) {
                Err(fault) if fault.is_per_event() && current.events.len() > 1 => {
                    isolate(&mut out, stage, current, k, k == last, &plugin, fault)
                }
                Err(fault) => {
                    out.faulted_calls.push((k, fault.code()));
                    dead_batch(&mut out.output, current, &plugin, &fault);
                    out.trapped[k] += current.events.len();
                    out.traps.push((k, fault.clone()));
                    out.faults.push((k, fault));
                    Batch::new(batch.topic.clone(), batch.partition, batch.epoch)
                }
                Ok(output) => route(&mut out, current, k, k == last, &plugin, &output),
            };
            out.took[k] = started.elapsed();
            owned = next;
            current = &owned;
        }
        out
    }
}

/// Trapping calls an isolation may make for a batch of `events`: enough to find a few
/// poison events by halving (each costs about log2 of the batch size), few enough that a
/// plugin that traps on everything costs a small constant factor of the batch.
fn isolation_budget(events: usize) -> usize {
    4 * (usize::BITS - events.leading_zeros()) as usize + 4
}

/// Finds the events a stage trapped on by re-running its input in halves, in offset
/// order: a part that passes is routed as if the trap had not happened, a part that
/// traps is halved again, down to single events, which become dead letters with the
/// trap's code. The instance after a trap is a fresh one (the SDK's state, such as a
/// dedup window, restarts empty, as after any trap); a part that passes leaves its
/// state to the next part.
///
/// Bounds: at most [`isolation_budget`] trapping calls (past it, a part still trapping
/// is dead-lettered whole), and each part's deadline is its share of the batch's, four
/// times over (at least 50 ms), so halving a batch with an endless loop in it costs about
/// two deadlines, not one per level. The stage counts as faulted, for quarantine and
/// probation, when the budget ran out or at least half its events trapped.
fn isolate(
    out: &mut ChainRun,
    stage: &mut TransformInstance,
    batch: &Batch,
    k: usize,
    is_last: bool,
    plugin: &Arc<str>,
    first: PluginFault,
) -> Batch {
    out.isolations += 1;
    out.faulted_calls.push((k, first.code()));
    out.traps.push((k, first.clone()));
    let n = batch.events.len();
    let full = stage.deadline_ms();
    let mut budget = isolation_budget(n);
    let mut next = Batch::new(batch.topic.clone(), batch.partition, batch.epoch);
    let mut trapped = 0usize;
    let mut exhausted: Option<PluginFault> = None;
    let mut last_fault = first;
    // Parts still to run, last first, so the earliest offsets run first.
    let half = n / 2;
    let mut todo = vec![half..n, 0..half];
    while let Some(range) = todo.pop() {
        let part = batch.slice(range.clone());
        let share = (full.saturating_mul(4).saturating_mul(range.len() as u64) / n as u64)
            .clamp(50.min(full), full);
        let result = stage.process_within(&part, share);
        if let Err(fault) = &result {
            out.faulted_calls.push((k, fault.code()));
        }
        match result {
            Ok(output) => next.append(route(out, &part, k, is_last, plugin, &output)),
            Err(fault) if range.len() > 1 && budget > 0 && fault.is_per_event() => {
                budget -= 1;
                let mid = range.start + range.len() / 2;
                todo.push(mid..range.end);
                todo.push(range.start..mid);
                last_fault = fault;
            }
            Err(fault) => {
                if range.len() > 1 {
                    exhausted = Some(fault.clone());
                }
                dead_batch(&mut out.output, &part, plugin, &fault);
                trapped += range.len();
                last_fault = fault;
            }
        }
    }
    out.trapped[k] += trapped;
    if let Some(fault) = exhausted {
        out.faults.push((k, fault));
    } else if trapped * 2 >= n {
        out.faults.push((k, last_fault));
    }
    next
}

/// Sorts one stage's checked output: targeted rows (and every row of the last stage)
/// go to `out`, rejections become dead letters, and the untargeted rest is returned
/// as the next stage's batch. Rows past the sum of emits belong to the batch's last event.
fn route(
    out: &mut ChainRun,
    current: &Batch,
    stage: usize,
    is_last: bool,
    plugin: &Arc<str>,
    output: &PluginOutput,
) -> Batch {
    let mut next = Batch::new(current.topic.clone(), current.partition, current.epoch);
    let mut rows = output.rows.iter();
    let mut at = 0usize;
    let mut route_row = |out: &mut ChainOutput, next: &mut Batch, event: usize, row: &RowMeta| {
        let bytes = &output.data[at..at + row.len as usize];
        at += row.len as usize;
        let meta = &current.events[event];
        match &row.target {
            Some(target) => out.push_row(meta.offset, Some(target.clone()), bytes),
            None if is_last => out.push_row(meta.offset, None, bytes),
            None => next.push(
                meta.offset,
                meta.timestamp_ms,
                meta.key.clone(),
                meta.headers.clone(),
                bytes,
            ),
        }
    };
    for (i, (outcome, range)) in output
        .outcomes
        .iter()
        .zip(current.payload_ranges())
        .enumerate()
    {
        match outcome {
            Outcome::Emit(n) => {
                for row in rows.by_ref().take(*n as usize) {
                    route_row(&mut out.output, &mut next, i, row);
                }
            }
            Outcome::Reject { code, message } => {
                out.rejected[stage] += 1;
                out.output.dead.push(DeadLetter {
                    offset: current.events[i].offset,
                    plugin: plugin.clone(),
                    code: code.clone(),
                    message: message.clone(),
                    payload: current.payloads[range].to_vec(),
                })
            }
        }
    }
    let last_event = current.events.len() - 1;
    for row in rows {
        route_row(&mut out.output, &mut next, last_event, row);
    }
    next
}

fn dead_batch(out: &mut ChainOutput, batch: &Batch, plugin: &Arc<str>, fault: &PluginFault) {
    let message = fault.to_string();
    for (meta, range) in batch.events.iter().zip(batch.payload_ranges()) {
        out.dead.push(DeadLetter {
            offset: meta.offset,
            plugin: plugin.clone(),
            code: fault.code().to_owned(),
            message: message.clone(),
            payload: batch.payloads[range].to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_chain_passes_payloads_through_with_offsets() {
        let mut batch = Batch::new("t".into(), 2, 1);
        batch.push(7, 0, None, vec![], br#"{"a":1}"#);
        batch.push(8, 0, None, vec![], br#"{"a":2}"#);
        let out = Chain::default().run(&batch).output;
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rows[1].offset, 8);
        assert_eq!(out.row_bytes(&out.rows[1]), br#"{"a":2}"#);
        assert!(out.dead.is_empty());
    }

    use crate::record::Header;
    use crate::runtime::check_output;
    use proptest::prelude::*;

    fn batch(payloads: &[Vec<u8>]) -> Batch {
        let mut batch = Batch::new("t".into(), 1, 1);
        for (i, p) in payloads.iter().enumerate() {
            let key = (i % 2 == 0).then(Vec::new);
            let headers = vec![Header {
                key: String::new(),
                value: None,
            }];
            batch.push(100 + 3 * i as i64, 7, key, headers, p);
        }
        batch
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            6 => (0u32..4).prop_map(Outcome::Emit),
            1 => Just(Outcome::Emit(u32::MAX)),
            2 => (".{0,4}", ".{0,8}").prop_map(|(code, message)| Outcome::Reject { code, message }),
        ]
    }

    fn row() -> impl Strategy<Value = RowMeta> {
        (
            prop::option::of(prop::sample::select(vec!["agg", ""]).prop_map(String::from)),
            prop_oneof![8 => 0u32..8, 1 => Just(u32::MAX)],
        )
            .prop_map(|(target, len)| RowMeta { target, len })
    }

    /// A batch and what a plugin might return for it: counts mostly right, sometimes off.
    fn case() -> impl Strategy<Value = (Batch, PluginOutput)> {
        let payloads = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..8);
        (
            payloads,
            prop::collection::vec(outcome(), 0..9),
            prop::collection::vec(row(), 0..12),
            -2i64..=2,
            any::<bool>(),
        )
            .prop_map(|(payloads, mut outcomes, rows, skew, fit)| {
                let batch = batch(&payloads);
                if fit {
                    outcomes.resize(batch.events.len(), Outcome::Emit(1));
                }
                let sum: u64 = rows.iter().map(|r| u64::from(r.len)).sum();
                let len = (sum as i64 + if fit { 0 } else { skew }).clamp(0, 4096) as usize;
                let data = (0..len).map(|i| i as u8).collect();
                (
                    batch,
                    PluginOutput {
                        outcomes,
                        rows,
                        data,
                    },
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::sink::arb::CASES))]

        /// Whatever a plugin returns is refused as `bad-output` or routed without a
        /// panic: every row lands once with the offset of the event it came from,
        /// byte for byte, and every rejection becomes a dead letter with its payload.
        #[test]
        fn any_plugin_output_is_routed_or_refused((batch, output) in case(), is_last in any::<bool>()) {
            if check_output(&output, batch.events.len()).is_err() {
                return Ok(());
            }
            let mut run = ChainRun { rejected: vec![0], ..ChainRun::default() };
            let next = route(&mut run, &batch, 0, is_last, &"p".into(), &output);
            let out = &run.output;
            let ranges: Vec<_> = batch.payload_ranges().collect();
            // Which event each row belongs to: the emits in order, then the last event.
            let mut owner = Vec::new();
            for (i, o) in output.outcomes.iter().enumerate() {
                if let Outcome::Emit(n) = o {
                    owner.extend(std::iter::repeat_n(i, *n as usize));
                }
            }
            let (mut to_out, mut to_next, mut at) = (0, 0, 0);
            for (j, row) in output.rows.iter().enumerate() {
                let event = owner.get(j).copied().unwrap_or(batch.events.len() - 1);
                let bytes = &output.data[at..at + row.len as usize];
                at += row.len as usize;
                if row.target.is_some() || is_last {
                    let got = &out.rows[to_out];
                    prop_assert_eq!(got.offset, batch.events[event].offset);
                    prop_assert_eq!(&got.target, &row.target);
                    prop_assert_eq!(out.row_bytes(got), bytes);
                    to_out += 1;
                } else {
                    let got = &next.events[to_next];
                    prop_assert_eq!(got.offset, batch.events[event].offset);
                    prop_assert_eq!(&got.key, &batch.events[event].key);
                    prop_assert_eq!(&got.headers, &batch.events[event].headers);
                    let range = next.payload_ranges().nth(to_next).expect("framed");
                    prop_assert_eq!(&next.payloads[range], bytes);
                    to_next += 1;
                }
            }
            prop_assert_eq!((to_out, to_next), (out.rows.len(), next.events.len()));
            let rejects: Vec<usize> = output.outcomes.iter().enumerate()
                .filter(|(_, o)| matches!(o, Outcome::Reject { .. }))
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(run.rejected[0], rejects.len());
            prop_assert_eq!(out.dead.len(), rejects.len());
            for (dead, i) in out.dead.iter().zip(rejects) {
                prop_assert_eq!(dead.offset, batch.events[i].offset);
                prop_assert_eq!(&dead.payload[..], &batch.payloads[ranges[i].clone()]);
            }
        }
    }
}
