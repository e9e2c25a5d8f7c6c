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

    use proptest::prelude::*;

    /// One record as the source hands it over.
    #[derive(Debug, Clone, PartialEq)]
    struct Record {
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        headers: Vec<Header>,
        payload: Vec<u8>,
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..max)
    }

    fn header() -> impl Strategy<Value = Header> {
        (
            prop_oneof![Just(String::new()), "\\PC{0,8}"],
            prop::option::of(bytes(8)),
        )
            .prop_map(|(key, value)| Header { key, value })
    }

    /// Records spread over a few partitions, offsets rising (with gaps, as after
    /// compaction or transaction markers) within each; empty keys, empty and valueless
    /// headers and empty payloads included.
    fn records() -> impl Strategy<Value = Vec<Record>> {
        let one = (
            0i32..3,
            1i64..4,
            prop::option::of(bytes(4)),
            prop::collection::vec(header(), 0..3),
            prop_oneof![4 => bytes(64), 1 => bytes(3000)],
        );
        prop::collection::vec(one, 0..60).prop_map(|raw| {
            let mut next = [0i64; 3];
            raw.into_iter()
                .map(|(partition, gap, key, headers, payload)| {
                    let slot = &mut next[partition as usize];
                    let offset = *slot;
                    *slot += gap;
                    Record {
                        partition,
                        offset,
                        key,
                        headers,
                        payload,
                    }
                })
                .collect()
        })
    }

    /// The records a batch holds, read back through its framing.
    fn unframe(batch: &Batch) -> Vec<Record> {
        let ranges: Vec<_> = batch.payload_ranges().collect();
        assert_eq!(ranges.len(), batch.events.len());
        let mut end = 0;
        for r in &ranges {
            assert_eq!(r.start, end, "ranges are contiguous");
            end = r.end;
        }
        assert_eq!(
            end,
            batch.payloads.len(),
            "ranges cover the payloads exactly"
        );
        batch
            .events
            .iter()
            .zip(ranges)
            .map(|(e, r)| Record {
                partition: batch.partition,
                offset: e.offset,
                key: e.key.clone(),
                headers: e.headers.clone(),
                payload: batch.payloads[r].to_vec(),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::sink::arb::CASES))]

        /// Whatever the records and limits, every record comes out of exactly one batch,
        /// in offset order per partition, byte for byte, and no batch passes a limit by
        /// more than the record that closed it.
        #[test]
        fn every_record_comes_out_once_and_whole(
            records in records(),
            max_rows in 1usize..20,
            max_bytes in 1usize..5000,
        ) {
            let topic: Arc<str> = "t".into();
            let mut batcher = Batcher::new(limits(max_rows, max_bytes, 1000));
            let now = Instant::now();
            let mut batches = Vec::new();
            for r in &records {
                batches.extend(batcher.push(
                    &topic, r.partition, 1, r.offset, 0, r.key.clone(), r.headers.clone(),
                    &r.payload, now,
                ));
            }
            for b in &batches {
                prop_assert!(b.events.len() <= max_rows);
                let last = b.events.last().map_or(0, |e| e.payload_len as usize);
                prop_assert!(b.payloads.len() - last < max_bytes);
            }
            batches.extend(batcher.drain());
            prop_assert!(batcher.drain().is_empty());
            let mut got: Vec<Record> = batches.iter().flat_map(unframe).collect();
            got.sort_by_key(|r| (r.partition, r.offset));
            let mut want = records.clone();
            want.sort_by_key(|r| (r.partition, r.offset));
            prop_assert_eq!(got, want);
        }

        /// Splitting at any offset keeps every event exactly once, each side framed.
        #[test]
        fn split_after_any_cut_keeps_every_event_once(
            records in records(),
            cut in prop_oneof![-2i64..130, any::<i64>()],
        ) {
            let mut batch = Batch::new("t".into(), 0, 1);
            let records: Vec<Record> = records.into_iter().filter(|r| r.partition == 0).collect();
            for r in &records {
                batch.push(r.offset, 0, r.key.clone(), r.headers.clone(), &r.payload);
            }
            let rest = batch.split_after(cut);
            let (head, tail) = (unframe(&batch), unframe(&rest));
            prop_assert!(head.iter().all(|r| r.offset <= cut));
            prop_assert!(tail.iter().all(|r| r.offset > cut));
            prop_assert_eq!([head, tail].concat(), records);
        }
    }
}
