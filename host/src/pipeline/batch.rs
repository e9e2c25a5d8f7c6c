//! Per-partition batching: records from the source collect into a batch that closes
//! at a row count, a byte size or an age, whichever comes first.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// A Kafka record header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Header value, if any.
    pub value: Option<Vec<u8>>,
}

/// One record's envelope; its payload sits in the batch's `payloads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// Kafka offset.
    pub offset: i64,
    /// Record timestamp, ms since the epoch, or -1.
    pub timestamp_ms: i64,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record headers.
    pub headers: Vec<Header>,
    /// Payload length in `payloads`.
    pub payload_len: u32,
}

/// A run of records from one partition, in offset order, with framed payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Source topic.
    pub topic: Arc<str>,
    /// Source partition.
    pub partition: i32,
    /// Assignment generation this batch was read under; a stale one is dropped.
    pub epoch: u64,
    /// Envelopes in offset order.
    pub events: Vec<EventMeta>,
    /// Payloads, concatenated in event order.
    pub payloads: Vec<u8>,
}

impl Batch {
    /// An empty batch for one partition.
    pub fn new(topic: Arc<str>, partition: i32, epoch: u64) -> Self {
        Self {
            topic,
            partition,
            epoch,
            events: Vec::new(),
            payloads: Vec::new(),
        }
    }

    /// Appends one record.
    pub fn push(
        &mut self,
        offset: i64,
        timestamp_ms: i64,
        key: Option<Vec<u8>>,
        headers: Vec<Header>,
        payload: &[u8],
    ) {
        self.payloads.extend_from_slice(payload);
        self.events.push(EventMeta {
            offset,
            timestamp_ms,
            key,
            headers,
            payload_len: payload.len() as u32,
        });
    }

    /// Byte range of each event's payload in `payloads`, in event order.
    pub fn payload_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.events.iter().scan(0usize, |start, e| {
            let range = *start..*start + e.payload_len as usize;
            *start = range.end;
            Some(range)
        })
    }

    /// Offset of the last event, if any.
    pub fn last_offset(&self) -> Option<i64> {
        self.events.last().map(|e| e.offset)
    }

    /// Splits off the events with offsets above `offset` into a new batch.
    pub fn split_after(&mut self, offset: i64) -> Batch {
        let at = self.events.partition_point(|e| e.offset <= offset);
        let bytes: usize = self.events[..at]
            .iter()
            .map(|e| e.payload_len as usize)
            .sum();
        let mut rest = Batch::new(self.topic.clone(), self.partition, self.epoch);
        rest.events = self.events.split_off(at);
        rest.payloads = self.payloads.split_off(bytes);
        rest
    }
}

/// When a batch closes; defaults favour throughput, flags override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchLimits {
    /// Close a batch at this many records.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Close a batch at this many payload bytes (guest memory never shrinks, so
    /// bytes are capped as well as rows).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Close a batch this many milliseconds after its first record arrived.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Most payload bytes read from Kafka and not yet written and committed, across
    /// the pipeline; past it every partition pauses until workers catch up, so a
    /// slow or absent ClickHouse cannot grow memory without bound.
    #[serde(default = "default_max_in_flight_bytes")]
    pub max_in_flight_bytes: usize,
}

fn default_max_in_flight_bytes() -> usize {
    256 << 20
}

fn default_max_rows() -> usize {
    10_000
}

fn default_max_bytes() -> usize {
    4 << 20
}

fn default_max_wait_ms() -> u64 {
    250
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_rows: default_max_rows(),
            max_bytes: default_max_bytes(),
            max_wait_ms: default_max_wait_ms(),
            max_in_flight_bytes: default_max_in_flight_bytes(),
        }
    }
}

struct Open {
    batch: Batch,
    opened: Instant,
}

/// Open batches keyed by partition; hands back batches as they close.
pub struct Batcher {
    limits: BatchLimits,
    open: HashMap<(Arc<str>, i32), Open>,
}

impl Batcher {
    /// A batcher with no open batches.
    pub fn new(limits: BatchLimits) -> Self {
        Self {
            limits,
            open: HashMap::new(),
        }
    }

    /// Adds a record; returns the batch it closed, if any. A record from a newer
    /// assignment epoch discards the partition's stale open batch first.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        epoch: u64,
        offset: i64,
        timestamp_ms: i64,
        key: Option<Vec<u8>>,
        headers: Vec<Header>,
        payload: &[u8],
        now: Instant,
    ) -> Option<Batch> {
        let limits = self.limits;
        let slot = self
            .open
            .entry((topic.clone(), partition))
            .or_insert_with(|| Open {
                batch: Batch::new(topic.clone(), partition, epoch),
                opened: now,
            });
        if slot.batch.epoch != epoch {
            slot.batch = Batch::new(topic.clone(), partition, epoch);
            slot.opened = now;
        }
        if slot.batch.events.is_empty() {
            slot.opened = now;
        }
        slot.batch.push(offset, timestamp_ms, key, headers, payload);
        if slot.batch.events.len() >= limits.max_rows
            || slot.batch.payloads.len() >= limits.max_bytes
        {
            return Some(std::mem::replace(
                &mut slot.batch,
                Batch::new(topic.clone(), partition, epoch),
            ));
        }
        None
    }

    /// Closes every non-empty batch older than the wait limit.
    pub fn expired(&mut self, now: Instant) -> Vec<Batch> {
        let wait = Duration::from_millis(self.limits.max_wait_ms);
        self.take_where(|open| now.duration_since(open.opened) >= wait)
    }

    /// Closes every non-empty batch (shutdown).
    pub fn drain(&mut self) -> Vec<Batch> {
        self.take_where(|_| true)
    }

    /// Drops the open batch of a partition this member no longer owns.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.open
            .retain(|(t, p), _| !(&**t == topic && *p == partition));
    }

    fn take_where(&mut self, pred: impl Fn(&Open) -> bool) -> Vec<Batch> {
        let mut out = Vec::new();
        for open in self.open.values_mut() {
            if !open.batch.events.is_empty() && pred(open) {
                let fresh = Batch::new(
                    open.batch.topic.clone(),
                    open.batch.partition,
                    open.batch.epoch,
                );
                out.push(std::mem::replace(&mut open.batch, fresh));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rows: usize, bytes: usize, ms: u64) -> BatchLimits {
        BatchLimits {
            max_rows: rows,
            max_bytes: bytes,
            max_wait_ms: ms,
            ..BatchLimits::default()
        }
    }

    fn push(
        b: &mut Batcher,
        t: &Arc<str>,
        p: i32,
        epoch: u64,
        off: i64,
        payload: &[u8],
        now: Instant,
    ) -> Option<Batch> {
        b.push(t, p, epoch, off, 0, None, Vec::new(), payload, now)
    }

    #[test]
    fn closes_at_row_limit_per_partition() {
        let t: Arc<str> = "t".into();
        let mut b = Batcher::new(limits(3, 1 << 20, 1000));
        let now = Instant::now();
        assert!(push(&mut b, &t, 0, 1, 0, b"a", now).is_none());
        assert!(push(&mut b, &t, 1, 1, 0, b"x", now).is_none());
        assert!(push(&mut b, &t, 0, 1, 1, b"b", now).is_none());
        let closed = push(&mut b, &t, 0, 1, 2, b"c", now).expect("third row closes partition 0");
        assert_eq!(closed.partition, 0);
        assert_eq!(
            closed.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(closed.payloads, b"abc");
        let rest = b.drain();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].partition, 1);
    }

    #[test]
    fn closes_at_byte_limit() {
        let t: Arc<str> = "t".into();
        let mut b = Batcher::new(limits(100, 10, 1000));
        let now = Instant::now();
        assert!(push(&mut b, &t, 0, 1, 0, b"12345", now).is_none());
        let closed = push(&mut b, &t, 0, 1, 1, b"67890", now).expect("10 bytes closes");
        assert_eq!(closed.events.len(), 2);
    }

    #[test]
    fn closes_by_age_only_when_old_enough() {
        let t: Arc<str> = "t".into();
        let mut b = Batcher::new(limits(100, 1 << 20, 50));
        let start = Instant::now();
        push(&mut b, &t, 0, 1, 0, b"a", start);
        assert!(b.expired(start + Duration::from_millis(10)).is_empty());
        let old = b.expired(start + Duration::from_millis(60));
        assert_eq!(old.len(), 1);
        assert!(
            b.expired(start + Duration::from_millis(200)).is_empty(),
            "emptied batches never close again"
        );
    }

    #[test]
    fn newer_epoch_discards_stale_open_batch() {
        let t: Arc<str> = "t".into();
        let mut b = Batcher::new(limits(100, 1 << 20, 50));
        let now = Instant::now();
        push(&mut b, &t, 0, 1, 5, b"old", now);
        push(&mut b, &t, 0, 2, 3, b"new", now);
        let out = b.drain();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].epoch, 2);
        assert_eq!(out[0].payloads, b"new");
    }

    #[test]
    fn split_after_keeps_payloads_aligned() {
        let mut batch = Batch::new("t".into(), 0, 1);
        batch.push(10, 0, None, vec![], b"aa");
        batch.push(11, 0, None, vec![], b"bbb");
        batch.push(12, 0, None, vec![], b"c");
        let rest = batch.split_after(10);
        assert_eq!(batch.payloads, b"aa");
        assert_eq!(rest.payloads, b"bbbc");
        assert_eq!(rest.events[0].offset, 11);
        let ranges: Vec<_> = rest.payload_ranges().collect();
        assert_eq!(ranges, vec![0..3, 3..4]);
    }
}
