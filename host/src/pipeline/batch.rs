//! Per-partition batching: records from the source collect into a batch that closes
//! at a row count, a byte size or an age, whichever comes first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::flow::InFlightBytes;
use crate::config::BatchLimits;
use crate::record::{Batch, Header};

struct Open {
    batch: Batch,
    opened: Instant,
}

/// Open batches keyed by partition; hands back batches as they close.
pub struct Batcher {
    limits: BatchLimits,
    open: HashMap<(Arc<str>, i32), Open>,
    /// Payload bytes taken in and not yet finished: counted here as records arrive,
    /// given back here for a stale batch dropped, and by the worker for the rest.
    in_flight: Arc<InFlightBytes>,
}

impl Batcher {
    /// A batcher with no open batches that counts payload bytes into `in_flight`.
    pub fn new(limits: BatchLimits, in_flight: Arc<InFlightBytes>) -> Self {
        Self {
            limits,
            open: HashMap::new(),
            in_flight,
        }
    }

    /// Adds a record; returns the batch it closed, if any. A record from a newer
    /// assignment epoch discards the partition's stale open batch first, and gives
    /// its bytes back to the in-flight count.
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
            let stale =
                std::mem::replace(&mut slot.batch, Batch::new(topic.clone(), partition, epoch));
            self.in_flight.sub(stale.payloads.len());
            slot.opened = now;
        }
        self.in_flight.add(payload.len());
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

    fn batcher(limits: BatchLimits) -> Batcher {
        Batcher::new(limits, Arc::new(InFlightBytes::default()))
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
        let mut b = batcher(limits(3, 1 << 20, 1000));
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
        let mut b = batcher(limits(100, 10, 1000));
        let now = Instant::now();
        assert!(push(&mut b, &t, 0, 1, 0, b"12345", now).is_none());
        let closed = push(&mut b, &t, 0, 1, 1, b"67890", now).expect("10 bytes closes");
        assert_eq!(closed.events.len(), 2);
    }

    #[test]
    fn closes_by_age_only_when_old_enough() {
        let t: Arc<str> = "t".into();
        let mut b = batcher(limits(100, 1 << 20, 50));
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
        let mut b = batcher(limits(100, 1 << 20, 50));
        let now = Instant::now();
        push(&mut b, &t, 0, 1, 5, b"old", now);
        push(&mut b, &t, 0, 2, 3, b"new", now);
        let out = b.drain();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].epoch, 2);
        assert_eq!(out[0].payloads, b"new");
    }

    /// Defect found in review: a stale open batch dropped for a newer epoch kept its
    /// bytes in the in-flight count for good, so after enough reassignments every
    /// partition paused on the cap and never resumed.
    #[test]
    fn reassignments_give_stale_bytes_back() {
        let t: Arc<str> = "t".into();
        let in_flight = Arc::new(InFlightBytes::default());
        let mut b = Batcher::new(limits(100, 1 << 20, 50), in_flight.clone());
        let now = Instant::now();
        for epoch in 1..=1000 {
            push(&mut b, &t, 0, epoch, epoch as i64, b"0123456789", now);
        }
        assert_eq!(
            in_flight.get(),
            10,
            "only the open batch of the last epoch counts"
        );
        for batch in b.drain() {
            drop(in_flight.release_on_drop(&batch));
        }
        assert_eq!(in_flight.get(), 0);
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
            let mut batcher = batcher(limits(max_rows, max_bytes, 1000));
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
