//! Notices partitions that stop making progress while records wait behind them. A
//! batch librdkafka cannot decode (a codec it lacks, a corrupt batch) or may not read
//! (authorization) never reaches the host as a record: the consumer reports an error,
//! which carries no partition, and the position stays where it is. Without this
//! watch such a partition is silent forever while every other one looks healthy.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::source::kafka::TopicPartition;

/// How long a partition's position may hold still with records behind it before it
/// counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(20);
/// How often the same consumer error is logged again while it repeats.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// A partition that is stalled, as status and logs show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stalled {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The offset it is stuck at.
    pub offset: i64,
    /// The partition's end offset when last looked at.
    pub end: i64,
    /// The last consumer error seen, which is most likely the cause.
    pub error: Option<String>,
}

/// What changed at one look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The partition has just stalled.
    Stalled(Stalled),
    /// A stalled partition moves again.
    Moving {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
}

struct Watch {
    position: i64,
    since: Instant,
    stalled: Option<Stalled>,
}

/// Positions over time, per partition, and the last consumer error.
#[derive(Default)]
pub struct StallWatch {
    watched: HashMap<TopicPartition, Watch>,
    last_error: Option<String>,
    logged: HashMap<String, Instant>,
}

impl StallWatch {
    /// Remembers a consumer error; true when it should be logged (the first time, and
    /// once a minute while it repeats, so a partition stuck on one batch does not
    /// flood the log).
    pub fn consumer_error(&mut self, error: &str, now: Instant) -> bool {
        self.last_error = Some(error.to_owned());
        match self.logged.get(error) {
            Some(at) if now.duration_since(*at) < ERROR_LOG_EVERY => false,
            _ => {
                self.logged.insert(error.to_owned(), now);
                true
            }
        }
    }

    /// Compares `positions` with the last look. A partition whose position has not
    /// moved for [`STALL_AFTER`], that is not paused by the host, and whose end offset
    /// (`end_of`, asked only then) lies past it, stalls; a stalled one that moves, or
    /// that is paused or gone, is cleared.
    pub fn check(
        &mut self,
        positions: &HashMap<TopicPartition, i64>,
        paused: &HashSet<TopicPartition>,
        now: Instant,
        mut end_of: impl FnMut(&TopicPartition) -> Option<i64>,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        self.watched.retain(|tp, w| {
            let keep = positions.contains_key(tp);
            if !keep && w.stalled.is_some() {
                changes.push(Change::Moving {
                    topic: tp.0.clone(),
                    partition: tp.1,
                });
            }
            keep
        });
        for (tp, &position) in positions {
            let watch = self.watched.entry(tp.clone()).or_insert(Watch {
                position,
                since: now,
                stalled: None,
            });
            if watch.position != position || paused.contains(tp) {
                watch.position = position;
                watch.since = now;
                if watch.stalled.take().is_some() {
                    changes.push(Change::Moving {
                        topic: tp.0.clone(),
                        partition: tp.1,
                    });
                }
                continue;
            }
            if watch.stalled.is_some() || now.duration_since(watch.since) < STALL_AFTER {
                continue;
            }
            let Some(end) = end_of(tp) else { continue };
            if end <= position {
                // Caught up: nothing waits behind the position.
                watch.since = now;
                continue;
            }
            let stalled = Stalled {
                topic: tp.0.clone(),
                partition: tp.1,
                offset: position,
                end,
                error: self.last_error.clone(),
            };
            watch.stalled = Some(stalled.clone());
            changes.push(Change::Stalled(stalled));
        }
        changes
    }

    /// Every partition stalled now.
    pub fn stalled(&self) -> Vec<Stalled> {
        let mut out: Vec<Stalled> = self
            .watched
            .values()
            .filter_map(|w| w.stalled.clone())
            .collect();
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        ("t".to_owned(), p)
    }

    #[test]
    fn a_partition_stuck_behind_records_stalls_once_and_clears_when_it_moves() {
        let mut watch = StallWatch::default();
        let t0 = Instant::now();
        assert!(watch.consumer_error("Decompression (codec 0x4) ... Not implemented", t0));
        assert!(!watch.consumer_error("Decompression (codec 0x4) ... Not implemented", t0));
        let positions: HashMap<_, _> = [(tp(0), 100), (tp(1), 50)].into();
        let none = HashSet::new();
        assert!(watch.check(&positions, &none, t0, |_| Some(200)).is_empty());
        // Partition 1 is caught up; partition 0 has records behind it.
        let ends = |tp: &TopicPartition| Some(if tp.1 == 0 { 200 } else { 50 });
        let later = t0 + STALL_AFTER;
        let changes = watch.check(&positions, &none, later, ends);
        assert_eq!(changes.len(), 1);
        let Change::Stalled(s) = &changes[0] else {
            panic!("{changes:?}")
        };
        assert_eq!((s.partition, s.offset, s.end), (0, 100, 200));
        assert!(s.error.as_deref().is_some_and(|e| e.contains("codec 0x4")));
        assert!(
            watch
                .check(&positions, &none, later + STALL_AFTER, ends)
                .is_empty(),
            "reported once"
        );
        assert_eq!(watch.stalled().len(), 1);
        let moved: HashMap<_, _> = [(tp(0), 101), (tp(1), 50)].into();
        let changes = watch.check(&moved, &none, later + STALL_AFTER, ends);
        assert_eq!(
            changes,
            vec![Change::Moving {
                topic: "t".into(),
                partition: 0
            }]
        );
        assert!(watch.stalled().is_empty());
    }

    #[test]
    fn paused_partitions_never_stall() {
        let mut watch = StallWatch::default();
        let t0 = Instant::now();
        let positions: HashMap<_, _> = [(tp(0), 100)].into();
        let paused: HashSet<_> = [tp(0)].into();
        watch.check(&positions, &paused, t0, |_| Some(500));
        let changes = watch.check(&positions, &paused, t0 + STALL_AFTER * 3, |_| Some(500));
        assert!(changes.is_empty());
    }
}
