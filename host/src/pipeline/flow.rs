//! Flow control between the reader and the workers. The reader must keep polling
//! Kafka to stay in its consumer group, so it never waits on a busy worker: a batch
//! for a full worker queue is parked and its partition paused. A cap on payload
//! bytes in flight (read but not yet committed) pauses every partition until the
//! workers catch up, and so does quarantine. Paused partitions resume by themselves.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rdkafka::consumer::Consumer;
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tracing::{info, warn};

use crate::record::Batch;
use crate::source::kafka::{KafkaConsumer, TopicPartition};

/// Payload bytes read from Kafka and not yet finished by a worker.
#[derive(Debug, Default)]
pub struct InFlightBytes(AtomicUsize);

impl InFlightBytes {
    /// Counts bytes the reader took in.
    pub fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Gives back bytes that will never reach a worker (a stale batch dropped).
    pub fn sub(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }

    /// Bytes in flight now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Releases a batch's bytes when the guard drops (written, dropped or abandoned).
    pub fn release_on_drop(self: &Arc<Self>, batch: &Batch) -> Release {
        Release {
            counter: self.clone(),
            bytes: batch.payloads.len(),
        }
    }
}

/// Gives a batch's bytes back to the in-flight count when dropped.
pub struct Release {
    counter: Arc<InFlightBytes>,
    bytes: usize,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.counter.0.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Parked batches and paused partitions of one pipeline's reader.
pub struct Flow {
    /// Per worker, batches waiting for room in its queue, in order.
    parked: Vec<VecDeque<Batch>>,
    /// Partitions this reader has paused.
    paused: HashSet<TopicPartition>,
    /// The in-flight byte cap, and whether it is in force (until half is free).
    cap: usize,
    over_cap: bool,
}

/// What became of a batch offered to the workers.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Queued for its worker, or parked until there is room.
    Taken,
    /// The workers are gone (shutdown).
    Closed,
}

impl Flow {
    /// Flow control for `workers` queues and an in-flight cap of `cap` bytes.
    pub fn new(workers: usize, cap: usize) -> Self {
        Self {
            parked: (0..workers).map(|_| VecDeque::new()).collect(),
            paused: HashSet::new(),
            cap,
            over_cap: false,
        }
    }

    /// Queues `batch` for its partition's worker without waiting; parks it behind
    /// that worker's earlier parked batches if any, or if the queue is full, so a
    /// partition's batches keep their order.
    pub fn offer(&mut self, senders: &[mpsc::Sender<Batch>], batch: Batch) -> Offer {
        let worker = worker_of(&batch, senders.len());
        if !self.parked[worker].is_empty() {
            self.parked[worker].push_back(batch);
            return Offer::Taken;
        }
        match senders[worker].try_send(batch) {
            Ok(()) => Offer::Taken,
            Err(TrySendError::Full(batch)) => {
                self.parked[worker].push_back(batch);
                Offer::Taken
            }
            Err(TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    /// Moves parked batches into queues that have room, oldest first.
    pub fn flush(&mut self, senders: &[mpsc::Sender<Batch>]) -> Offer {
        for (worker, queue) in self.parked.iter_mut().enumerate() {
            while let Some(batch) = queue.pop_front() {
                match senders[worker].try_send(batch) {
                    Ok(()) => {}
                    Err(TrySendError::Full(batch)) => {
                        queue.push_front(batch);
                        break;
                    }
                    Err(TrySendError::Closed(_)) => return Offer::Closed,
                }
            }
        }
        Offer::Taken
    }

    /// Hands every parked batch over, waiting for room: for shutdown.
    pub async fn drain(&mut self, senders: &[mpsc::Sender<Batch>]) -> Offer {
        for (worker, queue) in self.parked.iter_mut().enumerate() {
            while let Some(batch) = queue.pop_front() {
                if senders[worker].send(batch).await.is_err() {
                    return Offer::Closed;
                }
            }
        }
        Offer::Taken
    }

    /// The partitions this reader has paused.
    pub fn paused(&self) -> &HashSet<TopicPartition> {
        &self.paused
    }

    /// Whether any batch is parked.
    pub fn has_parked(&self) -> bool {
        self.parked.iter().any(|q| !q.is_empty())
    }

    /// Pauses what must not be read now and resumes the rest: every assigned
    /// partition while quarantined or over the byte cap, otherwise the partitions
    /// with parked batches.
    pub fn apply(
        &mut self,
        consumer: &KafkaConsumer,
        quarantined: bool,
        in_flight: usize,
        pipeline: &str,
    ) {
        self.check_cap(in_flight, pipeline);
        let want: HashSet<TopicPartition> = if quarantined || self.over_cap {
            match consumer.assignment() {
                Ok(tpl) => tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect(),
                Err(e) => {
                    warn!(error = %e, "Cannot read the assignment to pause it.");
                    return;
                }
            }
        } else {
            self.parked
                .iter()
                .flatten()
                .map(|b| (b.topic.to_string(), b.partition))
                .collect()
        };
        let pause: Vec<_> = want.difference(&self.paused).cloned().collect();
        let resume: Vec<_> = self.paused.difference(&want).cloned().collect();
        if !pause.is_empty() {
            let why = if quarantined {
                "quarantine"
            } else if self.over_cap {
                "in-flight byte cap"
            } else {
                "workers busy"
            };
            info!(pipeline, partitions = pause.len(), why, "Pausing reads.");
            match consumer.pause(&list(&pause)) {
                Ok(()) => self.paused.extend(pause),
                Err(e) => warn!(error = %e, "Cannot pause partitions."),
            }
        }
        if !resume.is_empty() {
            info!(pipeline, partitions = resume.len(), "Resuming reads.");
            match consumer.resume(&list(&resume)) {
                Ok(()) => {
                    for tp in &resume {
                        self.paused.remove(tp);
                    }
                }
                // A partition revoked meanwhile cannot be resumed, and needs not be.
                Err(e) => {
                    warn!(error = %e, "Cannot resume partitions; forgetting them.");
                    for tp in &resume {
                        self.paused.remove(tp);
                    }
                }
            }
        }
    }
}

impl Flow {
    /// Whether the byte cap is in force: from going over it until half is free
    /// again, so reads do not flap at the edge.
    fn check_cap(&mut self, in_flight: usize, pipeline: &str) -> bool {
        if in_flight > self.cap {
            if !self.over_cap {
                warn!(
                    pipeline,
                    in_flight,
                    cap = self.cap,
                    "In-flight bytes over the cap; pausing reads until workers catch up."
                );
            }
            self.over_cap = true;
        } else if self.over_cap && in_flight <= self.cap / 2 {
            info!(
                pipeline,
                in_flight, "In-flight bytes back under the cap; resuming reads."
            );
            self.over_cap = false;
        }
        self.over_cap
    }
}

/// The worker that owns a partition: always the same, so its batches stay in order.
pub fn worker_of(batch: &Batch, workers: usize) -> usize {
    batch.partition.unsigned_abs() as usize % workers
}

fn list(tps: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in tps {
        tpl.add_partition(topic, *partition);
    }
    tpl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(partition: i32, offset: i64) -> Batch {
        let mut b = Batch::new("t".into(), partition, 1);
        b.push(offset, 0, None, vec![], b"x");
        b
    }

    #[tokio::test]
    async fn a_full_worker_parks_batches_in_order_and_flush_delivers_them() {
        let (tx, mut rx) = mpsc::channel(1);
        let senders = vec![tx];
        let mut flow = Flow::new(1, usize::MAX);
        for offset in 0..4 {
            assert_eq!(flow.offer(&senders, batch(0, offset)), Offer::Taken);
        }
        assert!(flow.has_parked());
        let mut got = Vec::new();
        while got.len() < 4 {
            let b = rx.recv().await.expect("batch");
            got.push(b.events[0].offset);
            flow.flush(&senders);
        }
        assert_eq!(
            got,
            vec![0, 1, 2, 3],
            "a partition's batches keep their order"
        );
        assert!(!flow.has_parked());
    }

    #[test]
    fn the_byte_cap_holds_until_half_is_free() {
        let mut flow = Flow::new(1, 100);
        assert!(!flow.check_cap(100, "p"));
        assert!(flow.check_cap(101, "p"));
        assert!(flow.check_cap(60, "p"), "still paused above half");
        assert!(!flow.check_cap(50, "p"));
    }

    #[tokio::test]
    async fn released_batches_give_their_bytes_back() {
        let bytes = Arc::new(InFlightBytes::default());
        let b = batch(0, 0);
        bytes.add(b.payloads.len());
        assert_eq!(bytes.get(), 1);
        drop(bytes.release_on_drop(&b));
        assert_eq!(bytes.get(), 0);
    }
}
