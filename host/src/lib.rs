//! Sluice host: consumes Kafka topics, runs each batch through sandboxed WebAssembly
//! plugins, and writes the rows to ClickHouse exactly once.
//!
//! Layout, in the order a record flows through it:
//! - [`source`]: the Kafka consumer-group member; owns partitions and commits offsets.
//! - [`pipeline`]: per-partition batching ([`pipeline::batch`]), the plugin chain
//!   ([`pipeline::chain`]), and the workers that tie source, chain and sink together.
//! - [`runtime`]: wasmtime; the only module that touches stores and bindings.
//! - [`sink`]: ClickHouse tables, RowBinary encoding, high-water offsets.
//! - [`pipeline::control`]: which plugin versions run; swaps, rollback, quarantine.
//! - [`admin`]: the HTTP API over the pipelines' control.
//! - [`config`]: what a pipeline reads, runs and writes.
//! - [`generate`]: the generator plugin driver behind `host generate`.
//! - [`tools`]: `host plugin test` (offline runs against golden files) and
//!   `host plugin new` (a new plugin crate from templates); no services needed.
//! - [`telemetry`]: logging and counters.

pub mod admin;
pub mod config;
pub mod generate;
pub mod pipeline;
pub mod runtime;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::config::PipelineConfig;
use crate::pipeline::control::PipelineControl;
use crate::runtime::Runtime;
use crate::sink::clickhouse::{ClickHouse, ClickHouseConfig};
use crate::telemetry::Stats;

/// Service addresses shared by every pipeline of a host process.
#[derive(Debug, Clone)]
pub struct Services {
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// ClickHouse connection.
    pub clickhouse: ClickHouseConfig,
}

/// Process-wide settings that are not about one pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where compiled plugins are cached; none compiles on every start.
    pub plugin_cache: Option<PathBuf>,
    /// Address of the admin HTTP API; none leaves it off.
    pub admin: Option<SocketAddr>,
    /// On shutdown, how long in-flight batches may take to finish.
    pub drain: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            plugin_cache: None,
            admin: None,
            drain: Duration::from_secs(10),
        }
    }
}

/// Runs `pipelines` until `shutdown` is cancelled, then drains within `options.drain`.
/// Every plugin is loaded and checked before anything is consumed.
pub async fn run(
    services: Services,
    options: Options,
    pipelines: Vec<PipelineConfig>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) -> Result<()> {
    let runtime = Runtime::new()?.with_cache(options.plugin_cache.clone());
    let ch = ClickHouse::connect(&services.clickhouse).await?;
    tracing::info!(clickhouse = %ch.version, "Connected to ClickHouse.");
    let mut controls = Vec::new();
    for config in pipelines {
        config.validate()?;
        let plugins = pipeline::load_plugins(&runtime, &config)?;
        controls.push(PipelineControl::new(config, runtime.clone(), plugins));
    }
    if let Some(addr) = options.admin {
        admin::serve(addr, controls.clone(), shutdown.clone()).await?;
    }
    let tasks = controls.into_iter().map(|control| {
        pipeline::run(
            control,
            ch.clone(),
            &services.brokers,
            stats.clone(),
            shutdown.clone(),
            options.drain,
        )
    });
    let results = futures::future::join_all(tasks).await;
    for result in results {
        result?;
    }
    Ok(())
}
