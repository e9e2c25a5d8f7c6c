//! Looks at a pipeline's partitions every few seconds, off the reader's path: the
//! group's committed offset against the partition's end gives the lag per partition,
//! whether Kafka answered gives its reachability, and the first assignment marks the
//! consumer as joined (for `/readyz`). Results go to the pipeline's telemetry.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::topic_partition_list::Offset;
use tokio_util::sync::CancellationToken;

use super::control::PipelineControl;
use crate::source::kafka::{KafkaConsumer, Ownership};
use crate::telemetry::pipeline::PartitionView;

/// How often partitions are looked at: one watermark request per partition, so not
/// every second.
const EVERY: Duration = Duration::from_secs(5);
/// How often the first assignment is looked for, so `/readyz` turns soon after it.
const JOIN_POLL: Duration = Duration::from_millis(250);
/// Longest one request to Kafka may take here.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs until `shutdown`.
pub(super) async fn run(
    control: Arc<PipelineControl>,
    consumer: Arc<KafkaConsumer>,
    ownership: Arc<Ownership>,
    shutdown: CancellationToken,
) {
    let owner = owner();
    while !ownership.joined() {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(JOIN_POLL) => {}
        }
    }
    control.telemetry().set_joined();
    loop {
        let (control, consumer, owner) = (control.clone(), consumer.clone(), owner.clone());
        let looked = tokio::task::spawn_blocking(move || look(&control, &consumer, &owner));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = looked => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// How this member names itself in the partition list.
fn owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "?".into());
    format!("this host ({host}, pid {})", std::process::id())
}

fn look(control: &PipelineControl, consumer: &KafkaConsumer, owner: &str) {
    let telemetry = control.telemetry();
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    if assignment.count() == 0 {
        let topic = control.config().topics.first().map(String::as_str);
        let answered = consumer.fetch_metadata(topic, TIMEOUT).is_ok();
        telemetry.set_kafka_reachable(answered);
        telemetry.partitions(Vec::new());
        return;
    }
    let committed = consumer.committed_offsets(assignment.clone(), TIMEOUT);
    telemetry.set_kafka_reachable(committed.is_ok());
    let status = control.status();
    let quarantined = status.state == "quarantined";
    let mut parts = Vec::new();
    for e in assignment.elements() {
        let (topic, partition) = (e.topic(), e.partition());
        let committed = committed
            .as_ref()
            .ok()
            .and_then(|c| c.find_partition(topic, partition))
            .and_then(|c| match c.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
        let marks = consumer.fetch_watermarks(topic, partition, TIMEOUT).ok();
        let end = marks.map(|(_, high)| high);
        // Nothing committed yet: everything still held counts as lag.
        let lag = match (committed, marks) {
            (Some(c), Some((_, high))) => Some((high - c).max(0)),
            (None, Some((low, high))) => Some((high - low).max(0)),
            _ => None,
        };
        let stalled = status
            .stalled
            .iter()
            .any(|s| s.topic == topic && s.partition == partition);
        let state = if stalled {
            "stalled"
        } else if quarantined {
            "paused"
        } else {
            "running"
        };
        parts.push(PartitionView {
            topic: topic.to_owned(),
            partition,
            state: state.to_owned(),
            lag,
            committed,
            end,
            owner: owner.to_owned(),
        });
    }
    parts.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    telemetry.partitions(parts);
}
