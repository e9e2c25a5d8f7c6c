//! Sluice host: consumes Kafka topics, runs each batch through sandboxed WebAssembly
//! plugins, and writes the rows to ClickHouse exactly once.
//!
//! Layout, in the order a record flows through it:
//! - [`record`]: the data that crosses layers (batches of records, chain output,
//!   dead letters); below every layer, importing none.
//! - [`source`]: the Kafka consumer-group member; owns partitions and commits offsets.
//! - [`pipeline`]: per-partition batching ([`pipeline::batch`]), the plugin chain
//!   ([`pipeline::chain`]), and the workers that tie source, chain and sink together.
//! - [`runtime`]: wasmtime; the only module that touches stores and bindings.
//! - [`sink`]: ClickHouse tables, RowBinary encoding, high-water offsets.
//! - [`pipeline::control`]: which plugin versions run; swaps, rollback, quarantine.
//! - [`admin`]: the admin routes (list, swap, roll back, resume) and who may call them.
//! - [`http`]: the one HTTP listener: `/metrics`, health, the status page and its
//!   JSON, and the admin routes; above every other layer, imported by none.
//! - [`config`]: what a pipeline reads, runs and writes.
//! - [`generate`]: the generator plugin driver behind `host generate`.
//! - [`tools`]: `host plugin test` (offline runs against golden files) and
//!   `host plugin new` (a new plugin crate from templates); no services needed.
//! - [`telemetry`]: logging, counters, Prometheus series and each pipeline's recent
//!   past; written by the layers below, read by [`http`].

pub mod admin;
pub mod config;
pub mod generate;
pub mod http;
pub mod pipeline;
pub mod record;
pub mod runtime;
pub mod secret;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::config::PipelineConfig;
use crate::pipeline::control::PipelineControl;
use crate::runtime::Runtime;
use crate::sink::clickhouse::{ClickHouse, ClickHouseConfig};
use crate::source::settings::KafkaSettings;
use crate::telemetry::Stats;
use crate::telemetry::metrics::Metrics;

/// Service addresses shared by every pipeline of a host process.
#[derive(Debug, Clone)]
pub struct Services {
    /// How to reach and log in to Kafka; a pipeline's own settings override these.
    pub kafka: KafkaSettings,
    /// ClickHouse connection.
    pub clickhouse: ClickHouseConfig,
}

/// Process-wide settings that are not about one pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where compiled plugins are cached; none compiles on every start.
    pub plugin_cache: Option<PathBuf>,
    /// The HTTP listener (metrics, status page, admin API); none leaves it off, and
    /// then no metrics are recorded at all.
    pub http: Option<http::HttpConfig>,
    /// On shutdown, how long in-flight batches may take to finish.
    pub drain: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            plugin_cache: None,
            http: None,
            drain: Duration::from_millis(config::default_drain_ms()),
        }
    }
}

/// Runs `pipelines` until `shutdown` is cancelled, then drains within `options.drain`.
/// Every plugin is loaded and checked before anything is consumed.
///
/// A pipeline that cannot start (a table missing, the broker unreachable) is logged at
/// once, named, with the fix, and shows as `failed` in the admin API while the others
/// run. The call fails at once when no pipeline could start, and at shutdown when any
/// could not, so a supervisor sees the failure either way.
pub async fn run(
    services: Services,
    options: Options,
    pipelines: Vec<PipelineConfig>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) -> Result<()> {
    if let Some(http) = &options.http {
        http.admin.check()?;
    }
    let metrics = if options.http.is_some() {
        Metrics::prometheus()
    } else {
        Metrics::off()
    };
    let runtime = Runtime::new()?.with_cache(options.plugin_cache.clone());
    let ch = ClickHouse::connect(&services.clickhouse).await?;
    tracing::info!(clickhouse = %ch.version, "Connected to ClickHouse.");
    let mut controls = Vec::new();
    for config in pipelines {
        config.validate()?;
        let plugins = pipeline::load_plugins(&runtime, &config)?;
        controls.push(PipelineControl::observed(
            config,
            runtime.clone(),
            plugins,
            &metrics,
        ));
    }
    if let Some(config) = options.http.clone() {
        http::serve(
            config,
            controls.clone(),
            metrics,
            ch.clone(),
            shutdown.clone(),
        )
        .await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for control in &controls {
        let kafka = services.kafka.overlay(&control.config().kafka);
        let (control, ch) = (control.clone(), ch.clone());
        let (stats, shutdown, drain) = (stats.clone(), shutdown.clone(), options.drain);
        tasks.spawn(async move {
            let result = pipeline::run(control.clone(), ch, kafka, stats, shutdown, drain).await;
            if let Err(e) = &result {
                let reason = format!("{e:#}");
                tracing::error!(pipeline = %control.name(), error = %reason, "Pipeline failed to start; the others keep running.");
                control.fail(&reason);
            }
            result
        });
    }
    let total = controls.len();
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let result =
            joined.unwrap_or_else(|e| Err(anyhow::anyhow!("a pipeline task panicked: {e}")));
        if let Err(e) = result {
            failures.push(e);
            if failures.len() == total {
                // Nothing is left running: stop serving and fail now.
                shutdown.cancel();
                break;
            }
        }
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => Err(anyhow::anyhow!(
            "{n} of {total} pipelines failed to start: {}",
            failures
                .iter()
                .map(|e| format!("{e:#}"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
