//! Commits past offsets the consumer skips. Transaction markers and aborted records
//! are never handed over, so a batch's commit of `last + 1` stops short of them and
//! lag would never reach zero; the consumer's position shows how far it really got.
//!
//! The position is trusted only when it was earned under the current epoch: after
//! the reader seeks a partition back to its beginning (its topic was created anew),
//! the epoch is renewed at once but the consumer may go on reporting the old
//! position until the first record after the seek; committed, it would skip the new
//! incarnation's records. So a partition with nothing read under its epoch commits
//! only a position that moved since the epoch's first look.

use std::collections::HashMap;
use std::sync::Arc;

use crate::source::kafka;

use super::Shared;

/// What the reader saw of one partition under one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    epoch: u64,
    /// Offset of the last record read under the epoch.
    read: Option<i64>,
    /// The position at the first look under the epoch (`Some(None)`: none yet), so a
    /// position left over from an earlier assignment is told from one earned now.
    first_position: Option<Option<i64>>,
}

/// Per partition, what was read under its current epoch.
#[derive(Default)]
pub(super) struct SkipWatch {
    seen: HashMap<(Arc<str>, i32), Seen>,
}

/// What to do for one partition at one look.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Nothing safe to commit now.
    Wait,
    /// The position is earned, but what is committed is unknown: ask Kafka.
    AskCommitted,
    /// Commit the position over `committed`.
    Commit { committed: i64 },
}

impl SkipWatch {
    /// Records a record read from a partition under `epoch`.
    pub(super) fn read(&mut self, topic: &Arc<str>, partition: i32, epoch: u64, offset: i64) {
        let seen = self.entry(topic, partition, epoch);
        seen.read = Some(offset);
    }

    fn entry(&mut self, topic: &Arc<str>, partition: i32, epoch: u64) -> &mut Seen {
        let seen = self.seen.entry((topic.clone(), partition)).or_insert(Seen {
            epoch,
            read: None,
            first_position: None,
        });
        if seen.epoch != epoch {
            *seen = Seen {
                epoch,
                read: None,
                first_position: None,
            };
        }
        seen
    }

    /// One look at a partition: `position` is the consumer's now, `last` the offset
    /// last committed under this epoch, if known.
    fn decide(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        epoch: u64,
        position: Option<i64>,
        last: Option<i64>,
    ) -> Decision {
        let seen = self.entry(topic, partition, epoch);
        let first = *seen.first_position.get_or_insert(position);
        let Some(position) = position else {
            return Decision::Wait;
        };
        let committed = match (seen.read, last) {
            // Everything read under this epoch is committed: the batch commits caught
            // up, and a record read now makes the position current.
            (Some(offset), Some(next)) if next == offset + 1 => next,
            // Read but not yet committed: a batch is on its way.
            (Some(_), _) => return Decision::Wait,
            // Nothing read under this epoch: the position may be left over from an
            // earlier assignment until it moves.
            (None, _) if first == Some(position) => return Decision::Wait,
            (None, Some(next)) => next,
            (None, None) => return Decision::AskCommitted,
        };
        if position > committed {
            Decision::Commit { committed }
        } else {
            Decision::Wait
        }
    }

    /// Forgets partitions no longer owned.
    fn retain(&mut self, owned: &[(kafka::TopicPartition, u64)]) {
        self.seen.retain(|(topic, partition), _| {
            owned
                .iter()
                .any(|((t, p), _)| **topic == **t && p == partition)
        });
    }

    /// Commits, for every owned partition with nothing in flight, the consumer's
    /// position past what was committed when every offset below it was written or
    /// skipped by librdkafka; with the metadata of the last commit (or the one already
    /// in Kafka, so no session to fence is forgotten).
    pub(super) fn commit(&mut self, shared: &Shared) {
        let consumer = &shared.source.consumer;
        let ownership = &shared.source.ownership;
        let positions = match tokio::task::block_in_place(|| kafka::positions(consumer)) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "Cannot read positions.");
                return;
            }
        };
        let owned = ownership.owned();
        self.retain(&owned);
        for ((topic, partition), epoch) in owned {
            if ownership.busy(&topic, partition) {
                continue;
            }
            let position = positions.get(&(topic.clone(), partition)).copied();
            let last = ownership.last_commit(&topic, partition, epoch);
            let key: Arc<str> = topic.as_str().into();
            let decision = self.decide(
                &key,
                partition,
                epoch,
                position,
                last.as_ref().map(|(n, _)| *n),
            );
            let (committed, metadata) = match (decision, last) {
                (Decision::Wait, _) => continue,
                (Decision::Commit { committed }, Some((_, meta))) => (committed, meta),
                (Decision::Commit { .. }, None) => continue,
                (Decision::AskCommitted, _) => {
                    match tokio::task::block_in_place(|| {
                        kafka::committed(consumer, &topic, partition)
                    }) {
                        Ok((c, meta)) => {
                            let c = c.unwrap_or(-1);
                            ownership.committed(&topic, partition, epoch, c, &meta);
                            (c, meta)
                        }
                        Err(_) => continue,
                    }
                }
            };
            let Some(position) = position.filter(|p| *p > committed) else {
                continue;
            };
            let done = tokio::task::block_in_place(|| {
                kafka::commit(
                    consumer, ownership, &topic, partition, epoch, position, &metadata,
                )
            });
            match done {
                Ok(true) => {
                    tracing::debug!(%topic, partition, from = committed, to = position, "Committed past skipped offsets (transaction markers or aborted records).");
                    ownership.committed(&topic, partition, epoch, position, &metadata);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "Cannot commit past skipped offsets.")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Arc<str> {
        "t".into()
    }

    #[test]
    fn a_position_left_from_an_earlier_assignment_is_never_committed() {
        // Epoch 1 read up to 499, nothing committed; epoch 2 (the partition came back)
        // has read nothing, and the consumer still reports 500.
        let mut w = SkipWatch::default();
        w.read(&topic(), 0, 1, 499);
        for _ in 0..3 {
            assert_eq!(w.decide(&topic(), 0, 2, Some(500), Some(0)), Decision::Wait);
            assert_eq!(w.decide(&topic(), 0, 2, Some(500), None), Decision::Wait);
        }
    }

    #[test]
    fn a_position_that_moves_without_records_is_past_skipped_offsets() {
        let mut w = SkipWatch::default();
        assert_eq!(w.decide(&topic(), 0, 1, None, None), Decision::Wait);
        // The consumer moved over a commit marker: no record, a new position.
        assert_eq!(
            w.decide(&topic(), 0, 1, Some(11), None),
            Decision::AskCommitted
        );
        assert_eq!(
            w.decide(&topic(), 0, 1, Some(11), Some(10)),
            Decision::Commit { committed: 10 }
        );
        assert_eq!(w.decide(&topic(), 0, 1, Some(11), Some(11)), Decision::Wait);
    }

    #[test]
    fn records_read_and_committed_make_the_position_current() {
        let mut w = SkipWatch::default();
        w.read(&topic(), 0, 3, 41);
        assert_eq!(w.decide(&topic(), 0, 3, Some(43), None), Decision::Wait);
        assert_eq!(w.decide(&topic(), 0, 3, Some(43), Some(40)), Decision::Wait);
        assert_eq!(
            w.decide(&topic(), 0, 3, Some(43), Some(42)),
            Decision::Commit { committed: 42 }
        );
    }

    #[test]
    fn a_new_epoch_forgets_what_the_old_one_read() {
        let mut w = SkipWatch::default();
        w.read(&topic(), 0, 1, 99);
        // Under epoch 2 the read of epoch 1 must not vouch for the position.
        assert_eq!(
            w.decide(&topic(), 0, 2, Some(100), Some(100)),
            Decision::Wait
        );
        assert_eq!(
            w.decide(&topic(), 0, 2, Some(100), Some(50)),
            Decision::Wait
        );
    }
}
