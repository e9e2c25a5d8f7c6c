//! Runs a [`Transform`] natively over JSON payloads, with no WebAssembly and no host,
//! so that a plugin's logic tests with plain `cargo test`.

use crate::bindings::sluice::plugin::types::{Batch, Event as EventMeta, Outcome, Row};
use crate::{Reject, Transform};

/// What a plugin made of one event, in a shape that is easy to assert on.
#[derive(Debug, Clone, PartialEq)]
pub enum Result {
    /// The event produced these rows: (target, JSON text).
    Rows(Vec<(Option<String>, String)>),
    /// The event was refused.
    Rejected(Reject),
}

/// Everything one batch produced: per-event results, then batch-level rows.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// One entry per input payload, in order.
    pub events: Vec<Result>,
    /// Rows emitted by `finish_batch` (e.g. partial aggregates).
    pub batch_rows: Vec<(Option<String>, String)>,
}

/// Feeds `payloads` to `plugin` as one batch at offsets 0.. and unpacks the output.
pub fn run<T: Transform>(plugin: &mut T, payloads: &[&[u8]]) -> BatchResult {
    run_at(plugin, "test", 0, 0, payloads)
}

/// Like [`run`], with the batch's topic, partition and first offset given.
pub fn run_at<T: Transform>(
    plugin: &mut T,
    topic: &str,
    partition: i32,
    first_offset: i64,
    payloads: &[&[u8]],
) -> BatchResult {
    let batch = Batch {
        topic: topic.to_owned(),
        partition,
        events: payloads
            .iter()
            .enumerate()
            .map(|(i, p)| EventMeta {
                offset: first_offset + i as i64,
                timestamp_ms: 0,
                key: None,
                headers: Vec::new(),
                payload_len: p.len() as u32,
            })
            .collect(),
        payloads: payloads.concat(),
    };
    let output = crate::__private::run_batch(plugin, &batch);
    let mut rows = output.rows.into_iter();
    let mut start = 0usize;
    let mut take = |n: usize, rows: &mut dyn Iterator<Item = Row>| {
        rows.take(n)
            .map(|r| {
                let end = start + r.len as usize;
                let text = String::from_utf8_lossy(&output.data[start..end]).into_owned();
                start = end;
                (r.target, text)
            })
            .collect::<Vec<_>>()
    };
    let events = output
        .outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Emit(n) => Result::Rows(take(n as usize, &mut rows)),
            Outcome::Reject(r) => Result::Rejected(Reject::new(r.code, r.message)),
        })
        .collect();
    let batch_rows = take(usize::MAX, &mut rows);
    BatchResult { events, batch_rows }
}

/// Runs `payloads` through `plugin` exactly as the WebAssembly export does, returning
/// the framed output unread: for benches that compare native with WASM cost.
pub fn run_raw<T: Transform>(plugin: &mut T, payloads: &[&[u8]]) -> usize {
    let batch = Batch {
        topic: "bench".to_owned(),
        partition: 0,
        events: payloads
            .iter()
            .enumerate()
            .map(|(i, p)| EventMeta {
                offset: i as i64,
                timestamp_ms: 0,
                key: None,
                headers: Vec::new(),
                payload_len: p.len() as u32,
            })
            .collect(),
        payloads: payloads.concat(),
    };
    let output = crate::__private::run_batch(plugin, &batch);
    output.rows.len()
}
