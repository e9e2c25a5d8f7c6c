//! Runs a batch through a pipeline's plugin chain: each stage's untargeted rows feed
//! the next stage, targeted rows go straight to their output, rejections and traps
//! become dead letters. Every row keeps the offset of the record it came from.

use std::ops::Range;
use std::sync::Arc;

use super::batch::Batch;
use crate::runtime::{Outcome, PluginFault, TransformInstance};

/// A row bound for a table, tied to the source offset that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRow {
    /// Offset of the source record (the batch's last offset for batch-level rows).
    pub offset: i64,
    /// Named output, or none for the pipeline's main table.
    pub target: Option<String>,
    /// Where the row's JSON object sits in [`ChainOutput::data`].
    pub range: Range<usize>,
}

/// A record or row that could not be processed, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Offset of the source record.
    pub offset: i64,
    /// Which plugin (or `host`) refused it.
    pub plugin: Arc<str>,
    /// Reason code, e.g. `bad-json`, `trap-panic`, `schema`.
    pub code: String,
    /// Human-readable detail.
    pub message: String,
    /// The bytes that failed, as they were at that stage.
    pub payload: Vec<u8>,
}

/// Everything one batch produced.
#[derive(Debug, Default)]
pub struct ChainOutput {
    /// Rows in production order.
    pub rows: Vec<OutRow>,
    /// Row bytes.
    pub data: Vec<u8>,
    /// Dead letters in production order.
    pub dead: Vec<DeadLetter>,
    /// Stages that faulted (trap, bad output) on this batch, by chain index: what
    /// canaries, rollback and quarantine judge a plugin by.
    pub faults: Vec<(usize, PluginFault)>,
    /// Events each stage rejected, by chain index.
    pub rejected: Vec<usize>,
    /// Events each stage was given, by chain index.
    pub seen: Vec<usize>,
}

impl ChainOutput {
    fn push_row(&mut self, offset: i64, target: Option<String>, bytes: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.rows.push(OutRow {
            offset,
            target,
            range: start..self.data.len(),
        });
    }

    /// The bytes of one row.
    pub fn row_bytes(&self, row: &OutRow) -> &[u8] {
        &self.data[row.range.clone()]
    }
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

    /// The instances, in chain order.
    pub fn stages(&self) -> &[TransformInstance] {
        &self.stages
    }

    /// Runs `batch` through every stage.
    pub fn run(&mut self, batch: &Batch) -> ChainOutput {
        let mut out = ChainOutput::default();
        if self.stages.is_empty() {
            for (meta, range) in batch.events.iter().zip(batch.payload_ranges()) {
                out.push_row(meta.offset, None, &batch.payloads[range]);
            }
            return out;
        }
        let last = self.stages.len() - 1;
        out.rejected = vec![0; self.stages.len()];
        out.seen = vec![0; self.stages.len()];
        let mut owned;
        let mut current = batch;
        for (k, stage) in self.stages.iter_mut().enumerate() {
            if current.events.is_empty() {
                break;
            }
            let plugin = stage.plugin().name.clone();
            out.seen[k] = current.events.len();
            let result = stage.process(current);
            let mut next = Batch::new(batch.topic.clone(), batch.partition, batch.epoch);
            match result {
                Err(fault) => {
                    dead_batch(&mut out, current, &plugin, &fault);
                    out.faults.push((k, fault));
                }
                Ok(output) => {
                    let mut rows = output.rows.iter();
                    let mut at = 0usize;
                    let mut route =
                        |out: &mut ChainOutput,
                         next: &mut Batch,
                         event: usize,
                         row: &crate::runtime::RowMeta| {
                            let bytes = &output.data[at..at + row.len as usize];
                            at += row.len as usize;
                            let meta = &current.events[event];
                            match &row.target {
                                Some(target) => {
                                    out.push_row(meta.offset, Some(target.clone()), bytes)
                                }
                                None if k == last => out.push_row(meta.offset, None, bytes),
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
                                    route(&mut out, &mut next, i, row);
                                }
                            }
                            Outcome::Reject { code, message } => {
                                out.rejected[k] += 1;
                                out.dead.push(DeadLetter {
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
                        route(&mut out, &mut next, last_event, row);
                    }
                }
            }
            owned = next;
            current = &owned;
        }
        out
    }
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
        let out = Chain::default().run(&batch);
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rows[1].offset, 8);
        assert_eq!(out.row_bytes(&out.rows[1]), br#"{"a":2}"#);
        assert!(out.dead.is_empty());
    }
}
