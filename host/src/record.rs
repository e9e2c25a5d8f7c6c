//! The records that cross layers, in the order they flow: a [`Batch`] of Kafka
//! records (source -> batch -> chain), and the [`ChainOutput`] the plugin chain makes
//! of it (chain -> sink): rows bound for tables and [`DeadLetter`]s. It sits below
//! every layer and imports none of them.

use std::ops::Range;
use std::sync::Arc;

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

    /// The events at positions `events` (and their payloads), as a batch of their own.
    pub fn slice(&self, events: Range<usize>) -> Batch {
        let mut part = Batch::new(self.topic.clone(), self.partition, self.epoch);
        let start: usize = self.events[..events.start]
            .iter()
            .map(|e| e.payload_len as usize)
            .sum();
        let len: usize = self.events[events.clone()]
            .iter()
            .map(|e| e.payload_len as usize)
            .sum();
        part.events = self.events[events].to_vec();
        part.payloads = self.payloads[start..start + len].to_vec();
        part
    }

    /// Appends the events of `other` (of the same partition, later offsets).
    pub fn append(&mut self, mut other: Batch) {
        self.events.append(&mut other.events);
        self.payloads.append(&mut other.payloads);
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

/// Everything one batch produced, as the sink takes it.
#[derive(Debug, Default)]
pub struct ChainOutput {
    /// Rows in production order.
    pub rows: Vec<OutRow>,
    /// Row bytes.
    pub data: Vec<u8>,
    /// Dead letters in production order.
    pub dead: Vec<DeadLetter>,
}

impl ChainOutput {
    /// Appends a row's bytes, tied to the offset of the record that made it.
    pub fn push_row(&mut self, offset: i64, target: Option<String>, bytes: &[u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn slices_and_appends_keep_payloads_aligned() {
        let mut batch = Batch::new("t".into(), 0, 1);
        for (i, p) in [&b"aa"[..], b"bbb", b"", b"c"].iter().enumerate() {
            batch.push(10 + i as i64, 0, None, vec![], p);
        }
        let mid = batch.slice(1..3);
        assert_eq!(mid.payloads, b"bbb");
        assert_eq!(
            mid.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
            vec![11, 12]
        );
        let mut head = batch.slice(0..1);
        head.append(mid);
        head.append(batch.slice(3..4));
        assert_eq!(head.payloads, b"aabbbc");
        assert_eq!(head.events.len(), 4);
        assert!(batch.slice(2..2).events.is_empty());
    }

    #[test]
    fn rows_keep_their_offsets_and_bytes() {
        let mut out = ChainOutput::default();
        out.push_row(7, None, b"{\"a\":1}");
        out.push_row(9, Some("agg".into()), b"{}");
        assert_eq!(out.rows[1].offset, 9);
        assert_eq!(out.row_bytes(&out.rows[0]), b"{\"a\":1}");
        assert_eq!(out.row_bytes(&out.rows[1]), b"{}");
    }
}
