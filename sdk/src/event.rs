//! The event a plugin sees: one Kafka record, unpacked from the framed batch.

use crate::bindings::sluice::plugin::types::Event as EventMeta;

pub use crate::bindings::sluice::plugin::types::Header;

/// One Kafka record as a plugin sees it; borrows from the batch, so it costs no copy.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Topic the record came from.
    pub topic: &'a str,
    /// Partition of that topic.
    pub partition: i32,
    /// Offset of the record in its partition.
    pub offset: i64,
    /// Record timestamp in ms since the Unix epoch, or -1 when the broker gave none.
    pub timestamp_ms: i64,
    /// Record key, if the producer set one.
    pub key: Option<&'a [u8]>,
    /// Record headers, in order.
    pub headers: &'a [Header],
    /// The record value: JSON bytes for the shipped plugins, but nothing checks that.
    pub payload: &'a [u8],
}

impl<'a> Event<'a> {
    pub(crate) fn from_meta(
        topic: &'a str,
        partition: i32,
        meta: &'a EventMeta,
        payload: &'a [u8],
    ) -> Self {
        Self {
            topic,
            partition,
            offset: meta.offset,
            timestamp_ms: meta.timestamp_ms,
            key: meta.key.as_deref(),
            headers: &meta.headers,
            payload,
        }
    }

    /// The payload as one JSON object, or the shared `bad-json` / `not-object` rejection.
    pub fn json_object(&self) -> Result<serde_json::Map<String, serde_json::Value>, crate::Reject> {
        crate::json::object(self.payload)
    }

    /// The payload as UTF-8 text, if it is.
    pub fn payload_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.payload).ok()
    }
}
