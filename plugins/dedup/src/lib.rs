//! `dedup`: drops events whose key field was already seen recently in the same topic
//! partition, and emits every other event unchanged.
//!
//! Layout: [`config`] reads the `init` string; [`key`] finds the key field and hashes it
//! (FNV-1a, 64 bits); [`window`] remembers each partition's most recent distinct key
//! hashes. The glue at the bottom is the only part that knows about events and rows.
//!
//! Config: `{"key": "event_id", "capacity": 100000}`. `key` is required and may be a
//! dotted path (`meta.id`); `capacity` (default 100 000, at most 1 000 000) is how many
//! distinct keys each topic partition remembers, forgetting the oldest first sighting
//! when full, at about 35 bytes per key. Kafka keys route a user to one partition and
//! replays happen per partition, so per-partition windows catch the duplicates that occur.
//!
//! A duplicate emits no row and is not dead-lettered. Rejections: `bad-json`,
//! `not-object`, `missing-field` (key absent or null), `wrong-type` (key neither a
//! string nor a number). The number `7` and the string `"7"` are different keys.
//!
//! What is guaranteed: within one host process (one plugin instance) a key repeated
//! within the window is dropped, except that the record where a key was first seen is
//! passed again if it is replayed at the same offset, since that is the same record,
//! not a duplicate. Across restarts, instance recycling and beyond the window the
//! plugin remembers nothing; there the guarantee rests on the sink. Exactly-once
//! writes by source offset mean a replayed record is never written twice, and a
//! producer-side duplicate that arrives with a new offset outside the window is caught
//! only by a ReplacingMergeTree table keyed by `event_id`. Two different keys share a
//! 64-bit hash with odds of about capacity / 2^64 per event, which would drop the
//! later one.

pub mod config;
pub mod key;
pub mod window;

use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

use crate::config::Config;
use crate::window::Windows;

/// The transform: passes first sightings of a key, drops repeats, per topic partition.
#[derive(Debug)]
pub struct Dedup {
    config: Config,
    windows: Windows,
}

impl Dedup {
    /// Builds the plugin from a parsed config, with no keys remembered yet.
    pub fn new(config: Config) -> Self {
        let windows = Windows::new(config.capacity);
        Self { config, windows }
    }

    /// Decides one record: `Ok(true)` to emit it, `Ok(false)` for a duplicate, or the rejection.
    pub fn admit(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        payload: &[u8],
    ) -> Result<bool, Reject> {
        let hash = key::key_hash(&parse_object(payload)?, &self.config)?;
        Ok(self.windows.get(topic, partition).admit(hash, offset))
    }
}

/// Parses a payload as a JSON object, rejecting anything else with `bad-json` or `not-object`.
pub use sluice_plugin::json::object as parse_object;

impl Transform for Dedup {
    fn init(config: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::parse(config)?))
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        if self.admit(event.topic, event.partition, event.offset, event.payload)? {
            out.row(event.payload);
        }
        Ok(())
    }
}

sluice_plugin::export_transform!(Dedup);

#[cfg(test)]
mod tests {
    use sluice_plugin::testing::{Result as Outcome, run, run_at};

    use super::*;

    fn plugin(config: &str) -> Dedup {
        Dedup::init(config).expect("config is valid")
    }

    /// Each event as `1` (emitted unchanged), `0` (dropped) or its rejection code.
    fn verdicts(
        plugin: &mut Dedup,
        partition: i32,
        first_offset: i64,
        payloads: &[&str],
    ) -> Vec<String> {
        let bytes: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        let out = run_at(plugin, "events", partition, first_offset, &bytes);
        assert!(out.batch_rows.is_empty());
        out.events
            .into_iter()
            .zip(payloads)
            .map(|(result, payload)| match result {
                Outcome::Rows(rows) if rows.is_empty() => "0".to_owned(),
                Outcome::Rows(rows) => {
                    assert_eq!(
                        rows,
                        vec![(None, (*payload).to_owned())],
                        "emitted unchanged"
                    );
                    "1".to_owned()
                }
                Outcome::Rejected(r) => r.code,
            })
            .collect()
    }

    #[test]
    fn duplicates_within_a_batch_are_dropped() {
        let mut p = plugin(r#"{"key": "event_id"}"#);
        assert_eq!(
            verdicts(
                &mut p,
                0,
                0,
                &[
                    r#"{"event_id":"a","n":1}"#,
                    r#"{"event_id":"b"}"#,
                    r#"{"event_id":"a","n":2}"#,
                    r#"{"n":3, "event_id":"a"}"#,
                    r#"{"event_id":"c"}"#,
                ]
            ),
            ["1", "1", "0", "0", "1"]
        );
    }

    #[test]
    fn duplicates_across_batches_are_dropped() {
        let mut p = plugin(r#"{"key": "event_id"}"#);
        assert_eq!(
            verdicts(&mut p, 0, 0, &[r#"{"event_id":1}"#, r#"{"event_id":2}"#]),
            ["1", "1"]
        );
        assert_eq!(
            verdicts(&mut p, 0, 2, &[r#"{"event_id":2}"#, r#"{"event_id":3}"#]),
            ["0", "1"]
        );
        assert_eq!(
            verdicts(
                &mut p,
                0,
                4,
                &[r#"{"event_id":1.0}"#, r#"{"event_id":"1"}"#]
            ),
            ["0", "1"]
        );
    }

    #[test]
    fn a_replayed_batch_passes_its_first_sightings_again() {
        // After a rebalance the host may run the same offsets again; the sink skips rows
        // it holds, so the plugin must not drop the originals.
        let mut p = plugin(r#"{"key": "id"}"#);
        let batch = [r#"{"id":"x"}"#, r#"{"id":"y"}"#, r#"{"id":"x"}"#];
        assert_eq!(verdicts(&mut p, 0, 10, &batch), ["1", "1", "0"]);
        assert_eq!(verdicts(&mut p, 0, 10, &batch), ["1", "1", "0"]);
    }

    #[test]
    fn oldest_key_is_forgotten_at_capacity() {
        let mut p = plugin(r#"{"key": "id", "capacity": 2}"#);
        let events = [
            r#"{"id":"a"}"#,
            r#"{"id":"b"}"#,
            r#"{"id":"a"}"#,
            r#"{"id":"c"}"#,
            r#"{"id":"b"}"#,
            r#"{"id":"a"}"#,
        ];
        // c evicts a, so a returns as new (and evicts b, which was still remembered).
        assert_eq!(
            verdicts(&mut p, 0, 0, &events),
            ["1", "1", "0", "1", "0", "1"]
        );
        assert_eq!(verdicts(&mut p, 0, 6, &[r#"{"id":"b"}"#]), ["1"]);
    }

    #[test]
    fn partitions_and_topics_are_independent() {
        let mut p = plugin(r#"{"key": "id", "capacity": 1}"#);
        let a = [r#"{"id":"a"}"#];
        assert_eq!(verdicts(&mut p, 0, 0, &a), ["1"]);
        assert_eq!(verdicts(&mut p, 1, 0, &a), ["1"], "other partition");
        assert_eq!(verdicts(&mut p, 0, 1, &a), ["0"]);
        assert_eq!(verdicts(&mut p, 1, 1, &a), ["0"]);
        // Filling partition 1 does not evict from partition 0.
        assert_eq!(verdicts(&mut p, 1, 2, &[r#"{"id":"b"}"#]), ["1"]);
        assert_eq!(verdicts(&mut p, 0, 2, &a), ["0"]);
        let other_topic = run_at(&mut p, "other", 0, 0, &[br#"{"id":"a"}"#]);
        assert_eq!(
            other_topic.events,
            vec![Outcome::Rows(vec![(None, r#"{"id":"a"}"#.into())])]
        );
    }

    #[test]
    fn dotted_keys_work() {
        let mut p = plugin(r#"{"key": "meta.id"}"#);
        assert_eq!(
            verdicts(
                &mut p,
                0,
                0,
                &[
                    r#"{"meta":{"id":"a"}}"#,
                    r#"{"meta":{"id":"a","x":1}}"#,
                    r#"{"id":"a"}"#,
                ]
            ),
            ["1", "0", "missing-field"]
        );
    }

    #[test]
    fn bad_events_are_rejected_and_not_remembered() {
        let mut p = plugin(r#"{"key": "id"}"#);
        assert_eq!(
            verdicts(
                &mut p,
                0,
                0,
                &[
                    "{not json",
                    "[1]",
                    r#"{"other":1}"#,
                    r#"{"id":null}"#,
                    r#"{"id":true}"#,
                    r#"{"id":{"a":1}}"#,
                    r#"{"id":[1]}"#,
                    r#"{"id":"fine"}"#,
                ]
            ),
            [
                "bad-json",
                "not-object",
                "missing-field",
                "missing-field",
                "wrong-type",
                "wrong-type",
                "wrong-type",
                "1"
            ]
        );
        let out = run(&mut p, &[br#"{"x":1}"#]);
        assert_eq!(
            out.events,
            vec![Outcome::Rejected(Reject::new(
                "missing-field",
                "key field id is missing"
            ))]
        );
    }

    #[test]
    fn bad_config_is_refused() {
        for config in [
            "",
            "{}",
            r#"{"key": "id", "capacity": 0}"#,
            r#"{"key": "id", "ttl": 5}"#,
        ] {
            let err = Dedup::init(config).err();
            assert_eq!(
                err.map(|e| e.code),
                Some("bad-config".to_owned()),
                "{config}"
            );
        }
    }
}
