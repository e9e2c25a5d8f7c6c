//! `host generate`: runs a generator plugin and produces its records into Kafka at a
//! steady rate, creating the topic if needed, and waits until every record is acked.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tokio_util::sync::CancellationToken;

use crate::runtime::{GeneratorInstance, Plugin, PluginKind, Runtime, SandboxLimits};
use crate::source::kafka::{ErrorContext, LastError, check_reachable};
use crate::source::settings::KafkaSettings;

/// What `host generate` should produce, and where.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// Generator plugin.
    pub plugin: PathBuf,
    /// The plugin's JSON config.
    pub plugin_config: String,
    /// Seed: the same seed and config always give the same records.
    pub seed: u64,
    /// How to reach and log in to Kafka.
    pub kafka: KafkaSettings,
    /// Target topic.
    pub topic: String,
    /// Partitions for the topic if it has to be created.
    pub partitions: i32,
    /// Records per second; 0 means as fast as possible.
    pub rate: u64,
    /// Records to produce (the generator may stop sooner).
    pub count: u64,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Counts delivery reports so that the run can end with an exact tally.
#[derive(Default)]
struct Deliveries {
    ok: AtomicU64,
    failed: AtomicU64,
}

struct DeliveryContext(Arc<Deliveries>, Arc<LastError>);

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        ErrorContext {
            errors: self.1.clone(),
        }
        .error(error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.0.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Creates `topic` with `partitions` partitions unless it exists, on the cluster at
/// `brokers` without security (the tests' and demos' broker).
pub async fn ensure_topic(brokers: &str, topic: &str, partitions: i32) -> Result<()> {
    let settings = KafkaSettings {
        brokers: Some(brokers.to_owned()),
        ..KafkaSettings::default()
    };
    ensure_topic_with(&settings, topic, partitions).await
}

/// Creates `topic` with `partitions` partitions unless it exists.
pub async fn ensure_topic_with(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
) -> Result<()> {
    let context = ErrorContext::default();
    let mut config = ClientConfig::new();
    settings.apply(&mut config)?;
    let admin: AdminClient<ErrorContext> = config
        .create_with_context(context.clone())
        .context("creating the Kafka admin client")?;
    check_reachable(settings, Duration::from_secs(10))
        .with_context(|| format!("creating topic {topic}"))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics([&new], &opts).await.with_context(|| {
        format!(
            "cannot reach Kafka at {} to create topic {topic}; start it with `scripts/kafka.sh start` or pass --brokers",
            settings.describe()
        )
    })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// Produces the generator's records; returns how many were acknowledged.
pub async fn run(
    runtime: &Runtime,
    config: GenerateConfig,
    shutdown: CancellationToken,
) -> Result<u64> {
    let plugin = Plugin::load(runtime, &config.plugin)?;
    plugin.expect_kind(PluginKind::Generator)?;
    let mut generator = GeneratorInstance::new(
        &plugin,
        &config.plugin_config,
        config.seed,
        SandboxLimits::default(),
    )
    .with_context(|| format!("generator {} failed to start", config.plugin.display()))?;
    ensure_topic_with(&config.kafka, &config.topic, config.partitions).await?;
    let deliveries = Arc::new(Deliveries::default());
    let mut client = ClientConfig::new();
    config.kafka.apply(&mut client)?;
    let producer: ThreadedProducer<DeliveryContext> = client
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "200000")
        .create_with_context(DeliveryContext(deliveries.clone(), Arc::default()))
        .context("creating the Kafka producer")?;
    let bar = if config.progress {
        let bar = ProgressBar::new(config.count);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} records [{elapsed_precise}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut sent: u64 = 0;
    let chunk = if config.rate == 0 {
        1000
    } else {
        (config.rate / 20).clamp(1, 1000)
    };
    while sent < config.count && !shutdown.is_cancelled() {
        let want = chunk.min(config.count - sent) as u32;
        let batch = tokio::task::block_in_place(|| generator.next_batch(want))
            .with_context(|| format!("generator {} failed", config.plugin.display()))?;
        if batch.messages.is_empty() {
            break;
        }
        for (key, value) in batch.records() {
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&config.topic).payload(value);
            if let Some(k) = key {
                record = record.key(k);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => bail!("producing to {}: {e}", config.topic),
                }
            }
            sent += 1;
        }
        bar.set_position(sent);
        if config.rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / config.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    tokio::task::block_in_place(|| producer.flush(Duration::from_secs(60)))
        .context("flushing the Kafka producer")?;
    bar.finish_and_clear();
    let ok = deliveries.ok.load(Ordering::Relaxed);
    let failed = deliveries.failed.load(Ordering::Relaxed);
    if failed > 0 || ok != sent {
        bail!("{failed} of {sent} records were not acknowledged by Kafka ({ok} were)");
    }
    Ok(ok)
}
