//! Sluice host: consumes Kafka topics, runs each batch through sandboxed WebAssembly
//! plugins, and writes the rows to ClickHouse exactly once.
//!
//! Layout, in the order a record flows through it:
//! - [`source`]: the Kafka consumer-group member; owns partitions and commits offsets.
//! - [`pipeline`]: per-partition batching ([`pipeline::batch`]), the plugin chain
//!   ([`pipeline::chain`]), and the workers that tie source, chain and sink together.
//! - [`runtime`]: wasmtime; the only module that touches stores and bindings.
//! - [`sink`]: ClickHouse tables, RowBinary encoding, high-water offsets.
//! - [`config`]: what a pipeline reads, runs and writes.
//! - [`generate`]: the generator plugin driver behind `host generate`.
//! - [`tools`]: `host plugin test` (offline runs against golden files) and
//!   `host plugin new` (a new plugin crate from templates); no services needed.
//! - [`telemetry`]: logging and counters.

pub mod config;
pub mod generate;
pub mod pipeline;
pub mod runtime;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use crate::config::PipelineConfig;
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

/// Runs `pipelines` until `shutdown` is cancelled, then drains within `drain`.
pub async fn run(
    services: Services,
    pipelines: Vec<PipelineConfig>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
    drain: Duration,
) -> Result<()> {
    let runtime = Runtime::new()?;
    let ch = ClickHouse::connect(&services.clickhouse).await?;
    tracing::info!(clickhouse = %ch.version, "Connected to ClickHouse.");
    let mut tasks = Vec::new();
    for config in pipelines {
        config.validate()?;
        let fut = pipeline::run(
            config,
            runtime.clone(),
            ch.clone(),
            &services.brokers,
            stats.clone(),
            shutdown.clone(),
            drain,
        );
        tasks.push(fut);
    }
    let results = futures::future::join_all(tasks).await;
    for result in results {
        result?;
    }
    Ok(())
}
