//! The Kafka source: a consumer-group member with auto-commit off, which tracks which
//! partitions it owns (with an epoch per assignment) and commits an offset only for a
//! partition it still owns, after the sink has acknowledged the rows.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedHeaders, Headers};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tracing::{info, warn};

use super::settings::KafkaSettings;
use crate::record::Header;

/// How long a revoke waits for in-flight batches of the revoked partitions, so that
/// they can still commit. Short, because the wait blocks librdkafka's poll (and with
/// it every other partition of this member): correctness does not rest on it, since
/// the next owner fences our session before it reads the marks (`sink::fence`).
const REVOKE_WAIT: Duration = Duration::from_secs(3);
/// How long a revoke waits for a registration of a new session in the commit
/// metadata that is under way: the next owner must see it. Bounded by Kafka's own
/// request timeout in practice.
const REGISTER_WAIT: Duration = Duration::from_secs(30);

/// A (topic, partition) pair.
pub type TopicPartition = (String, i32);

/// Which partitions this member owns, under which assignment epoch, and how many
/// batches of each are in flight. A revoke waits for those batches, so the next
/// owner never races an insert of ours.
#[derive(Default)]
pub struct Ownership {
    state: Mutex<OwnState>,
    idle: Condvar,
    next_epoch: AtomicU64,
    /// Set at the first assignment (empty or not): the member has joined its group.
    joined: AtomicBool,
}

#[derive(Default)]
struct OwnState {
    owned: HashMap<TopicPartition, u64>,
    in_flight: HashMap<TopicPartition, usize>,
    /// Partitions whose commit metadata is being rewritten with a new session.
    registering: HashMap<TopicPartition, usize>,
    /// Per partition, the epoch, next offset and metadata last committed under it.
    committed: HashMap<TopicPartition, (u64, i64, String)>,
}

impl Ownership {
    /// The epoch under which we own `topic`/`partition`, if we do.
    pub fn epoch(&self, topic: &str, partition: i32) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.owned.get(&(topic.to_owned(), partition)).copied()
    }

    /// Whether a batch read under `epoch` may still be written and committed.
    pub fn is_current(&self, topic: &str, partition: i32, epoch: u64) -> bool {
        self.epoch(topic, partition) == Some(epoch)
    }

    /// Whether the member has had its first assignment, so it is in its group.
    pub fn joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    fn assign(&self, tps: &[TopicPartition]) {
        self.joined.store(true, Ordering::Relaxed);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for tp in tps {
            let epoch = self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1;
            state.owned.insert(tp.clone(), epoch);
        }
    }

    /// Records a commit of `next` with `metadata` for a partition under `epoch`.
    pub fn committed(&self, topic: &str, partition: i32, epoch: u64, next: i64, metadata: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let slot = state
            .committed
            .entry((topic.to_owned(), partition))
            .or_insert_with(|| (epoch, next, metadata.to_owned()));
        if slot.0 != epoch || slot.1 <= next {
            *slot = (epoch, next, metadata.to_owned());
        }
    }

    /// The offset and metadata last committed for a partition under `epoch`, if any.
    pub fn last_commit(&self, topic: &str, partition: i32, epoch: u64) -> Option<(i64, String)> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .committed
            .get(&(topic.to_owned(), partition))
            .filter(|(e, _, _)| *e == epoch)
            .map(|(_, next, meta)| (*next, meta.clone()))
    }

    /// Whether any batch of the partition is in flight.
    pub fn busy(&self, topic: &str, partition: i32) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .in_flight
            .get(&(topic.to_owned(), partition))
            .is_some_and(|n| *n > 0)
    }

    /// Every partition owned now, with its epoch.
    pub fn owned(&self) -> Vec<(TopicPartition, u64)> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.owned.iter().map(|(tp, e)| (tp.clone(), *e)).collect()
    }

    /// A new epoch for a partition we own, so batches read before it are dropped as
    /// stale (after a seek). Returns the new epoch, or none if we no longer own it.
    pub fn renew(&self, topic: &str, partition: i32) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let slot = state.owned.get_mut(&(topic.to_owned(), partition))?;
        *slot = self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1;
        Some(*slot)
    }

    /// Forgets the revoked partitions, then waits for any registration of a session
    /// under way (so the next owner sees it) and a little for their in-flight batches
    /// (so they can commit); returns how long it waited.
    fn revoke(&self, tps: &[TopicPartition]) -> Duration {
        let started = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for tp in tps {
            state.owned.remove(tp);
        }
        state = self.wait_for(state, tps, started + REGISTER_WAIT, true);
        drop(self.wait_for(state, tps, started + REVOKE_WAIT, false));
        started.elapsed()
    }

    /// Waits until none of `tps` has registrations (`registrations`) or batches in
    /// flight, or until `deadline`.
    fn wait_for<'a>(
        &self,
        mut state: std::sync::MutexGuard<'a, OwnState>,
        tps: &[TopicPartition],
        deadline: Instant,
        registrations: bool,
    ) -> std::sync::MutexGuard<'a, OwnState> {
        loop {
            let counts = if registrations {
                &state.registering
            } else {
                &state.in_flight
            };
            if !tps
                .iter()
                .any(|tp| counts.get(tp).copied().unwrap_or(0) > 0)
            {
                return state;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let what = if registrations {
                    "a session registration"
                } else {
                    "in-flight batches"
                };
                warn!(partitions = ?tps, "Revoke stopped waiting for {what}; the next owner fences this member's inserts before it writes.");
                return state;
            }
            state = self
                .idle
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Counts a registration of a new session in a partition's commit metadata as
    /// under way until the guard drops; a revoke waits for it.
    pub fn registering(self: &Arc<Self>, topic: &str, partition: i32) -> Registering {
        let tp = (topic.to_owned(), partition);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.registering.entry(tp.clone()).or_insert(0) += 1;
        Registering {
            owner: self.clone(),
            tp,
        }
    }

    /// Counts a batch as in flight until the guard drops.
    pub fn start(self: &Arc<Self>, topic: &str, partition: i32) -> InFlight {
        let tp = (topic.to_owned(), partition);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.in_flight.entry(tp.clone()).or_insert(0) += 1;
        InFlight {
            owner: self.clone(),
            tp,
        }
    }
}

/// A batch in flight; dropping it (written, abandoned or stale) releases revokes.
pub struct InFlight {
    owner: Arc<Ownership>,
    tp: TopicPartition,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.owner.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = state.in_flight.get_mut(&self.tp) {
            *n = n.saturating_sub(1);
        }
        self.owner.idle.notify_all();
    }
}

/// A registration under way; dropping it releases revokes.
pub struct Registering {
    owner: Arc<Ownership>,
    tp: TopicPartition,
}

impl Drop for Registering {
    fn drop(&mut self) {
        let mut state = self.owner.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = state.registering.get_mut(&self.tp) {
            *n = n.saturating_sub(1);
        }
        self.owner.idle.notify_all();
    }
}

/// Consumer context that keeps [`Ownership`] in step with rebalances.
pub struct SourceContext {
    ownership: Arc<Ownership>,
    errors: Arc<LastError>,
}

impl ClientContext for SourceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.record(&error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        self.errors.log(level, fac, message);
    }
}

/// The last error librdkafka reported for a client (a failed login, a TLS handshake,
/// an unreachable broker), so a failed start can say why instead of "timed out", and
/// the same error repeating is logged once a minute instead of at every retry.
#[derive(Default)]
pub struct LastError {
    last: Mutex<Option<(String, Instant)>>,
}

impl LastError {
    fn record(&self, error: &KafkaError, reason: &str) {
        let text = format!("{reason} ({error})");
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let repeat = last
            .as_ref()
            .is_some_and(|(t, at)| *t == text && at.elapsed() < Duration::from_secs(60));
        if !repeat {
            warn!(error = %text, "Kafka client error (logged once a minute while it repeats).");
            *last = Some((text, Instant::now()));
        } else if let Some((t, _)) = last.as_mut() {
            t.clone_from(&text);
        }
    }

    /// A librdkafka log line: logged as librdkafka ranks it, and remembered when it
    /// is a warning or worse, since a failed login or TLS handshake often arrives
    /// only this way.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac} {message}")
            }
            L::Warning => warn!(target: "librdkafka", "{fac} {message}"),
            L::Notice | L::Info => info!(target: "librdkafka", "{fac} {message}"),
            L::Debug => tracing::debug!(target: "librdkafka", "{fac} {message}"),
        }
        if matches!(
            level,
            L::Emerg | L::Alert | L::Critical | L::Error | L::Warning
        ) {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            *last = Some((message.to_owned(), Instant::now()));
        }
    }

    /// The last error's text, if any.
    pub fn get(&self) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref().map(|(t, _)| t.clone())
    }
}

/// A client context that only keeps the last error, for producers.
#[derive(Default, Clone)]
pub struct ErrorContext {
    /// The errors seen.
    pub errors: Arc<LastError>,
}

impl ClientContext for ErrorContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.record(&error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        self.errors.log(level, fac, message);
    }
}

impl ConsumerContext for ErrorContext {}

/// Fails with one line naming the brokers, the protocol and mechanism, and the fix,
/// when the cluster does not answer within `timeout`: the last error librdkafka
/// reported says why (a password, a certificate, a mechanism the broker lacks).
///
/// It asks through a client of its own that it polls between short tries: librdkafka
/// hands its log lines and errors (where a refused login or handshake shows) to the
/// client's queue, so a client nobody polls learns why only when it is dropped.
pub fn check_reachable(settings: &KafkaSettings, timeout: Duration) -> Result<()> {
    let context = ErrorContext::default();
    let mut config = ClientConfig::new();
    settings.apply(&mut config)?;
    let probe: BaseConsumer<ErrorContext> = config
        .create_with_context(context.clone())
        .with_context(|| format!("creating a Kafka client for {}", settings.describe()))?;
    let deadline = Instant::now() + timeout;
    loop {
        let step =
            Duration::from_millis(500).min(deadline.saturating_duration_since(Instant::now()));
        let error = match probe.fetch_metadata(None, step) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        // Serves the queued log lines and errors; nothing is subscribed, so no message.
        let _ = probe.poll(Duration::ZERO);
        let last = context.errors.get();
        if let Some(line) = last.as_deref().and_then(|l| settings.explain(l)) {
            bail!("{line}");
        }
        if Instant::now() >= deadline {
            bail!(
                "cannot reach Kafka at {} ({}); start it with `scripts/kafka.sh start` or pass --brokers",
                settings.describe(),
                last.unwrap_or_else(|| error.to_string())
            );
        }
    }
}

fn pairs(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let tps = pairs(list);
            info!(partitions = ?tps, "Partitions revoked; finishing their in-flight batches.");
            let waited = self.ownership.revoke(&tps);
            info!(partitions = ?tps, waited_ms = waited.as_millis() as u64, "Revoke done.");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let tps = pairs(list);
                info!(partitions = ?tps, "Partitions assigned.");
                self.ownership.assign(&tps);
            }
            Rebalance::Error(e) => warn!(error = %e, "Rebalance failed."),
            Rebalance::Revoke(_) => {}
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            warn!(error = %e, "Offset commit failed; the sink's offsets still prevent duplicates.");
        }
    }
}

/// The consumer type the pipeline reads from.
pub type KafkaConsumer = StreamConsumer<SourceContext>;

/// Settings for joining the consumer group.
#[derive(Debug, Clone)]
pub struct KafkaSourceConfig {
    /// How to reach and log in to the cluster.
    pub settings: KafkaSettings,
    /// Consumer group.
    pub group: String,
    /// Topics to subscribe to.
    pub topics: Vec<String>,
    /// Regular expressions naming more topics to subscribe to.
    pub topic_patterns: Vec<String>,
}

/// A subscribed consumer plus the ownership it maintains.
pub struct KafkaSource {
    /// The rdkafka consumer (shared with workers for commits).
    pub consumer: Arc<KafkaConsumer>,
    /// Which partitions we own.
    pub ownership: Arc<Ownership>,
}

impl KafkaSource {
    /// Connects, checks the broker answers, and subscribes.
    pub fn connect(config: &KafkaSourceConfig) -> Result<Self> {
        let ownership = Arc::new(Ownership::default());
        let errors = Arc::new(LastError::default());
        let mut client = ClientConfig::new();
        config.settings.apply(&mut client)?;
        let consumer: KafkaConsumer = client
            .set("group.id", &config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "2000")
            .set("fetch.wait.max.ms", "100")
            .set("queued.max.messages.kbytes", "65536")
            .set("allow.auto.create.topics", "false")
            // A subscribed topic that does not exist yet is picked up within seconds,
            // not librdkafka's default five minutes.
            .set("topic.metadata.refresh.interval.ms", "5000")
            .create_with_context(SourceContext {
                ownership: ownership.clone(),
                errors: errors.clone(),
            })
            .with_context(|| {
                format!(
                    "creating the Kafka consumer for {}",
                    config.settings.describe()
                )
            })?;
        check_reachable(&config.settings, Duration::from_secs(10))?;
        // librdkafka reads a subscription that starts with `^` as a regular expression;
        // names were checked not to, and patterns get the `^` here.
        let subscription: Vec<String> = config
            .topics
            .iter()
            .cloned()
            .chain(config.topic_patterns.iter().map(|p| {
                if p.starts_with('^') {
                    p.clone()
                } else {
                    format!("^{p}")
                }
            }))
            .collect();
        let topics: Vec<&str> = subscription.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .with_context(|| format!("subscribing to {}", subscription.join(", ")))?;
        Ok(Self {
            consumer: Arc::new(consumer),
            ownership,
        })
    }
}

/// A record's headers as the batch holds them. rdkafka's own accessor unwraps each key
/// as UTF-8 and panics on one that is not, which any producer can send, so the keys
/// are read through librdkafka here and made valid lossily (the plugin API types keys
/// as strings); values stay bytes, and a null value stays `None`.
#[allow(unsafe_code)]
pub fn headers(headers: Option<&BorrowedHeaders>) -> Vec<Header> {
    use rdkafka::bindings::{rd_kafka_header_get_all, rd_kafka_headers_t, rd_kafka_resp_err_t};
    let Some(headers) = headers else {
        return Vec::new();
    };
    // rdkafka's own cast: a `BorrowedHeaders` reference is the native header list.
    let native = headers as *const BorrowedHeaders as *const rd_kafka_headers_t;
    (0..headers.count())
        .map_while(|idx| {
            let mut name = std::ptr::null();
            let mut value = std::ptr::null();
            let mut size = 0usize;
            // SAFETY: `native` is the message's live header list, borrowed for this
            // call; librdkafka returns a NUL-terminated name and a value of `size`
            // bytes (or null) inside it, both copied before the borrow ends.
            let err =
                unsafe { rd_kafka_header_get_all(native, idx, &mut name, &mut value, &mut size) };
            if err != rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
                return None;
            }
            // SAFETY: as above.
            let key = unsafe { CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned();
            let value = (!value.is_null())
                // SAFETY: as above.
                .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) }.to_vec());
            Some(Header { key, value })
        })
        .collect()
}

/// Commits `next_offset` for a partition with Sluice's `metadata` (see
/// `sink::fence::CommitMetadata`), if we still own it under `epoch`.
pub fn commit(
    consumer: &KafkaConsumer,
    ownership: &Ownership,
    topic: &str,
    partition: i32,
    epoch: u64,
    next_offset: i64,
    metadata: &str,
) -> Result<bool> {
    if !ownership.is_current(topic, partition, epoch) {
        return Ok(false);
    }
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(next_offset))
        .context("building the commit list")?;
    if let Some(mut elem) = list.find_partition(topic, partition) {
        elem.set_metadata(metadata);
    }
    consumer
        .commit(&list, CommitMode::Sync)
        .with_context(|| format!("committing {topic}/{partition} at {next_offset}"))?;
    tracing::debug!(%topic, partition, epoch, next_offset, "Committed.");
    Ok(true)
}

/// A partition's committed offset, if any, and the metadata committed with it.
pub fn committed(
    consumer: &KafkaConsumer,
    topic: &str,
    partition: i32,
) -> Result<(Option<i64>, String)> {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    let got = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .with_context(|| format!("reading the committed offset of {topic}/{partition}"))?;
    let Some(elem) = got.find_partition(topic, partition) else {
        return Ok((None, String::new()));
    };
    let offset = match elem.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    };
    Ok((offset, elem.metadata().to_owned()))
}

/// The partition's end: the offset the next record will get (for a read_committed
/// consumer, records at and above the last stable offset are not readable yet).
pub fn end_offset(consumer: &KafkaConsumer, topic: &str, partition: i32) -> Result<i64> {
    let (_, high) = consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .with_context(|| format!("reading the end offset of {topic}/{partition}"))?;
    Ok(high)
}

/// Where the consumer is in each assigned partition: the next offset it will hand
/// over. librdkafka moves it past what it skips (transaction markers, aborted records).
pub fn positions(consumer: &KafkaConsumer) -> Result<HashMap<TopicPartition, i64>> {
    let list = consumer
        .position()
        .context("reading the consumer's positions")?;
    Ok(list
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

/// The partition's first offset still held (its low watermark).
pub fn start_offset(consumer: &KafkaConsumer, topic: &str, partition: i32) -> Result<i64> {
    let (low, _) = consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .with_context(|| format!("reading the start offset of {topic}/{partition}"))?;
    Ok(low)
}

/// Moves the consumer to the start of a partition, for an offset that belongs to
/// another incarnation of the topic.
pub fn seek(consumer: &KafkaConsumer, topic: &str, partition: i32, to: Offset) -> Result<()> {
    consumer
        .seek(topic, partition, to, Duration::from_secs(10))
        .with_context(|| format!("seeking {topic}/{partition} to {to:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};

    /// Found by `tests/bad_input.rs`: a header key that is not UTF-8 panicked
    /// rdkafka's accessor, and with it the pipeline's reader.
    #[test]
    #[allow(unsafe_code)]
    fn non_utf8_header_keys_are_read_lossily() {
        use rdkafka::bindings::{rd_kafka_header_add, rd_kafka_headers_t};
        let owned = OwnedHeaders::new()
            .insert(KafkaHeader {
                key: "trace",
                value: None::<&[u8]>,
            })
            .insert(KafkaHeader {
                key: "",
                value: Some(&[0xffu8][..]),
            });
        let native = owned.as_borrowed() as *const BorrowedHeaders as *mut rd_kafka_headers_t;
        let key = [0xffu8, b'k'];
        // SAFETY: `native` is the list `owned` holds; librdkafka copies the key.
        unsafe { rd_kafka_header_add(native, key.as_ptr().cast(), 2, std::ptr::null(), 0) };
        assert_eq!(
            headers(Some(owned.as_borrowed())),
            vec![
                Header {
                    key: "trace".into(),
                    value: None
                },
                Header {
                    key: String::new(),
                    value: Some(vec![0xff])
                },
                Header {
                    key: "\u{fffd}k".into(),
                    value: None
                },
            ]
        );
        assert!(headers(None).is_empty());
    }
}
