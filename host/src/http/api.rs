//! `GET /api/pipelines`: what `GET /pipelines` says of each pipeline (state, reason,
//! chain, events), with its telemetry (totals, rates, history for the chart,
//! latency, partitions with lag, last insert and commit, last dead letters) and
//! whether Kafka and ClickHouse answer. `tests/browser/fake_api.py` serves the same
//! shape, and `host status` reads it.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{Http, now_s};
use crate::pipeline::control::PluginStatus;
use crate::pipeline::stall::Stalled;
use crate::telemetry::pipeline::View;

/// The host as the page's header shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostView {
    /// The host's version.
    pub version: String,
    /// Unix seconds when the listener started.
    pub started_at: u64,
    /// Whether every pipeline's last request to Kafka answered (none: no answer yet).
    pub kafka_reachable: Option<bool>,
    /// Whether ClickHouse answered the last probe.
    pub clickhouse_reachable: Option<bool>,
}

/// One pipeline: control state and telemetry, flattened into one object.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineView {
    /// Pipeline name.
    pub name: String,
    /// `running`, `quarantined` or `failed`.
    pub state: String,
    /// Why it is quarantined or failed.
    pub reason: Option<String>,
    /// Bumped by every swap and rollback.
    pub generation: u64,
    /// The chain, with version hashes.
    pub plugins: Vec<PluginStatus>,
    /// Lifecycle events (`UNIX_SECONDS text`), newest last.
    pub events: Vec<String>,
    /// Topics subscribed by name.
    pub topics: Vec<String>,
    /// Consumer group.
    pub group: String,
    /// Main table.
    pub table: String,
    /// Partitions stuck behind records the consumer cannot read.
    pub stalled: Vec<Stalled>,
    /// Totals, rates, history, latency, partitions, dead letters.
    #[serde(flatten)]
    pub view: View,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Pipelines {
    /// The host.
    pub host: HostView,
    /// Every pipeline, in config order.
    pub pipelines: Vec<PipelineView>,
}

pub(super) fn build(state: &Http) -> Pipelines {
    let now = now_s();
    Pipelines {
        host: HostView {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: state.started_at,
            kafka_reachable: state.kafka_reachable(),
            clickhouse_reachable: state.clickhouse_reachable(),
        },
        pipelines: state
            .controls
            .iter()
            .map(|c| {
                let status = c.status();
                let config = c.config();
                PipelineView {
                    name: status.name,
                    state: status.state,
                    reason: status.quarantine,
                    generation: status.generation,
                    plugins: status.plugins,
                    events: status.events,
                    topics: config.topics.clone(),
                    group: config.group.clone(),
                    table: config.table.clone(),
                    stalled: status.stalled,
                    view: c.telemetry().view(now),
                }
            })
            .collect(),
    }
}

pub(super) async fn pipelines(State(state): State<Arc<Http>>) -> Json<Pipelines> {
    Json(build(&state))
}
