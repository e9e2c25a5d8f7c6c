//! A pipeline's control plane: which plugin versions are active, swaps (checked off
//! the hot path, then switched at the next batch boundary of every worker), rollback,
//! probation after a swap, and quarantine after repeated faults. Workers read it once
//! per batch; the admin API and the file watcher write it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::chain::{Chain, ChainRun};
use super::stall::Stalled;
use crate::config::PipelineConfig;
use crate::record::Batch;
use crate::runtime::{Plugin, PluginKind, Runtime, TransformInstance};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::pipeline::{Change, PipelineTelemetry, State as Shown};

/// Why a swap or rollback was refused; the old version keeps running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No plugin at that position in the chain.
    #[error("pipeline {pipeline} has no plugin at index {index} (it has {len})")]
    NoSuchIndex {
        /// Pipeline name.
        pipeline: String,
        /// Index asked for.
        index: usize,
        /// Plugins in the chain.
        len: usize,
    },
    /// Not a readable component of this host's WIT package and the right world.
    #[error("load: {0}")]
    Load(String),
    /// Instantiation or `init` with the pipeline's config failed.
    #[error("init: {0}")]
    Init(String),
    /// The canary batch trapped or broke the output contract.
    #[error("canary: {0}")]
    Canary(String),
    /// Rollback asked for, but there is no earlier version.
    #[error("no earlier version of plugin {index} to roll back to")]
    NoHistory {
        /// Index asked for.
        index: usize,
    },
}

impl Refusal {
    /// A short reason code for the API and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoSuchIndex { .. } => "no-such-index",
            Refusal::Load(_) => "load",
            Refusal::Init(_) => "init",
            Refusal::Canary(_) => "canary",
            Refusal::NoHistory { .. } => "no-history",
        }
    }
}

/// One plugin position as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PluginStatus {
    /// Position in the chain.
    pub index: usize,
    /// File stem.
    pub name: String,
    /// Where it was loaded from.
    pub path: String,
    /// Short content hash that output rows record.
    pub version: String,
    /// Earlier versions a rollback can return to, newest last.
    pub previous: Vec<String>,
}

/// A pipeline as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PipelineStatus {
    /// Pipeline name.
    pub name: String,
    /// Bumped by every swap and rollback.
    pub generation: u64,
    /// `running`, `quarantined` (paused until a swap, rollback or resume) or `failed`
    /// (could not start).
    pub state: String,
    /// Why it is quarantined or failed, if it is.
    pub quarantine: Option<String>,
    /// The chain.
    pub plugins: Vec<PluginStatus>,
    /// Recent lifecycle events (swaps, refusals, rollbacks), newest last.
    pub events: Vec<String>,
    /// Partitions stuck behind records the consumer cannot read.
    #[serde(default)]
    pub stalled: Vec<Stalled>,
}

/// What a successful swap or rollback did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SwapReport {
    /// Pipeline name.
    pub pipeline: String,
    /// Position swapped.
    pub index: usize,
    /// Version replaced.
    pub from: String,
    /// Version now active.
    pub to: String,
    /// The generation workers switch to at their next batch boundary.
    pub generation: u64,
}

struct Probation {
    generation: u64,
    index: usize,
    batches: u32,
    events: u64,
    failed: u64,
}

struct State {
    plugins: Vec<Arc<Plugin>>,
    history: Vec<Vec<Arc<Plugin>>>,
    probation: Option<Probation>,
    quarantine: Option<String>,
    /// Why the pipeline could not start, if it could not.
    failed: Option<String>,
    /// Partitions stuck behind records the consumer cannot read.
    stalled: Vec<Stalled>,
    consecutive_faults: u32,
    events: Vec<String>,
}

/// Most lifecycle events kept for the API.
const EVENTS_KEPT: usize = 50;

/// Shared by a pipeline's workers, its file watcher and the admin API.
pub struct PipelineControl {
    config: PipelineConfig,
    runtime: Runtime,
    /// Read by workers at every batch boundary; bumped under the state lock.
    generation: AtomicU64,
    state: Mutex<State>,
    /// The last batch a worker saw: the canary for the next swap.
    last_batch: Mutex<Option<Batch>>,
    /// Series and recent past, for /metrics and the status page.
    telemetry: Arc<PipelineTelemetry>,
}

impl PipelineControl {
    /// Control for `config` with its plugins already loaded and checked, recording no
    /// metrics.
    pub fn new(config: PipelineConfig, runtime: Runtime, plugins: Vec<Arc<Plugin>>) -> Arc<Self> {
        Self::observed(config, runtime, plugins, &Metrics::off())
    }

    /// [`Self::new`], with the pipeline's series registered in `metrics`.
    pub fn observed(
        config: PipelineConfig,
        runtime: Runtime,
        plugins: Vec<Arc<Plugin>>,
        metrics: &Metrics,
    ) -> Arc<Self> {
        let history = vec![Vec::new(); plugins.len()];
        let tables: Vec<String> = std::iter::once(config.table.clone())
            .chain(config.outputs.iter().map(|(_, t)| t.clone()))
            .collect();
        let names: Vec<&str> = plugins.iter().map(|p| &*p.name).collect();
        let telemetry = PipelineTelemetry::new(metrics, &config.name, &tables, &names);
        Arc::new(Self {
            telemetry,
            config,
            runtime,
            generation: AtomicU64::new(1),
            state: Mutex::new(State {
                plugins,
                history,
                probation: None,
                quarantine: None,
                failed: None,
                stalled: Vec::new(),
                consecutive_faults: 0,
                events: Vec::new(),
            }),
            last_batch: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pipeline's series and recent past.
    pub fn telemetry(&self) -> &Arc<PipelineTelemetry> {
        &self.telemetry
    }

    /// Sets the state series from `state`; called under the lock after every change.
    fn show(&self, state: &State) {
        self.telemetry.set_state(if state.failed.is_some() {
            Shown::Failed
        } else if state.quarantine.is_some() {
            Shown::Quarantined
        } else {
            Shown::Running
        });
    }

    /// The pipeline's config.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Pipeline name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The current generation; a worker whose chain is older rebuilds it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The active plugins and their generation, read together.
    pub fn active(&self) -> (u64, Vec<Arc<Plugin>>) {
        let state = self.lock();
        (self.generation(), state.plugins.clone())
    }

    /// Whether workers must hold their batches (and the reader pause) for now.
    pub fn quarantined(&self) -> bool {
        self.lock().quarantine.is_some()
    }

    /// Quarantines the pipeline for a cause outside its plugins that only a person can
    /// fix (the sink refused the user, the permission, the table's engine): its
    /// partitions pause and nothing is committed until [`Self::resume`] or a swap.
    /// Logged once, however many workers hit the same cause.
    pub fn halt(&self, reason: &str) {
        let mut state = self.lock();
        if state.quarantine.is_some() {
            return;
        }
        tracing::error!(pipeline = %self.config.name, %reason, "Pipeline quarantined; its partitions pause until it is resumed (POST /pipelines/NAME/resume or `host resume`).");
        push_event(&mut state.events, format!("quarantined: {reason}"));
        state.quarantine = Some(reason.to_owned());
        state.consecutive_faults = 0;
        self.show(&state);
    }

    /// Lifts a quarantine once the cause is fixed (the operator's action): held batches
    /// are tried again on fresh marks, and paused partitions resume. Returns the reason
    /// that was lifted, or none if the pipeline was not quarantined.
    pub fn resume(&self) -> Option<String> {
        let mut state = self.lock();
        let reason = state.quarantine.take()?;
        state.consecutive_faults = 0;
        info!(pipeline = %self.config.name, %reason, "Pipeline resumed by an operator.");
        push_event(&mut state.events, format!("resumed (was: {reason})"));
        self.show(&state);
        Some(reason)
    }

    /// The partitions stalled now, for the status.
    pub fn set_stalled(&self, stalled: Vec<Stalled>) {
        self.telemetry.stalled(stalled.len());
        self.lock().stalled = stalled;
    }

    /// Records that the pipeline could not start, so the API shows it as `failed`.
    pub fn fail(&self, reason: &str) {
        let mut state = self.lock();
        push_event(&mut state.events, format!("failed to start: {reason}"));
        state.failed = Some(reason.to_owned());
        self.show(&state);
    }

    /// Instances of `plugins` with this pipeline's configs, limits and grants.
    pub fn build_chain(&self, plugins: &[Arc<Plugin>]) -> Result<Chain, Refusal> {
        let stages = plugins
            .iter()
            .zip(&self.config.plugins)
            .map(|(plugin, spec)| {
                TransformInstance::with_grants(
                    plugin.clone(),
                    &spec.config,
                    self.config.limits,
                    &self.config.grants,
                )
                .map_err(|e| Refusal::Init(format!("{}: {e}", plugin.path.display())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chain::new(stages))
    }

    /// Remembers a batch as the canary for the next swap.
    pub fn saw(&self, batch: &Batch) {
        let mut last = self.last_batch.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some(batch.clone());
    }

    /// Replaces plugin `index` with the component in `bytes` after checking it:
    /// world, WIT version, `init` with the pipeline's config, and a canary run of the
    /// last batch seen. `path` is where the bytes came from (none for an upload,
    /// which keeps the current plugin's name). Blocking: call it off the async
    /// runtime's hot path.
    pub fn swap(
        &self,
        index: usize,
        path: Option<&std::path::Path>,
        bytes: &[u8],
    ) -> Result<SwapReport, Refusal> {
        let result = self.try_swap(index, path, bytes);
        match &result {
            Ok(_) => self.telemetry.changed(Change::Swapped),
            Err(refusal) => {
                warn!(pipeline = %self.name(), index, reason = refusal.code(), error = %refusal, "Plugin swap refused; the old version keeps running.");
                self.note(format!("refused a swap of plugin {index}: {refusal}"));
                self.telemetry.changed(Change::SwapRefused);
            }
        }
        result
    }

    fn try_swap(
        &self,
        index: usize,
        path: Option<&std::path::Path>,
        bytes: &[u8],
    ) -> Result<SwapReport, Refusal> {
        let current = self.lock().plugins.clone();
        let Some(old) = current.get(index) else {
            return Err(Refusal::NoSuchIndex {
                pipeline: self.name().to_owned(),
                index,
                len: current.len(),
            });
        };
        let path = path.map_or_else(|| old.path.clone(), std::path::Path::to_path_buf);
        let plugin = Plugin::from_bytes(&self.runtime, &path, bytes)
            .map_err(|e| Refusal::Load(format!("{e:#}")))?;
        plugin
            .expect_kind(PluginKind::Transform)
            .map_err(|e| Refusal::Load(format!("{e:#}")))?;
        let mut candidate = current;
        candidate[index] = plugin.clone();
        self.canary(&candidate, index)?;
        Ok(self.install(index, plugin, false))
    }

    /// Runs the last batch seen (or one empty JSON object if none was) through a
    /// chain with the candidate at `index`; a fault of that stage refuses it.
    fn canary(&self, plugins: &[Arc<Plugin>], index: usize) -> Result<(), Refusal> {
        let mut chain = self.build_chain(plugins)?;
        let batch = self
            .last_batch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| {
                let mut b = Batch::new(
                    self.config
                        .topics
                        .first()
                        .cloned()
                        .unwrap_or_default()
                        .into(),
                    0,
                    0,
                );
                b.push(0, 0, None, Vec::new(), b"{}");
                b
            });
        let out = chain.run(&batch);
        // A trap on any canary event refuses the candidate, even one isolated to a
        // few events.
        if let Some((_, fault)) = out.traps.iter().find(|(k, _)| *k == index) {
            return Err(Refusal::Canary(fault.to_string()));
        }
        Ok(())
    }

    fn install(&self, index: usize, plugin: Arc<Plugin>, rollback: bool) -> SwapReport {
        let mut state = self.lock();
        let old = std::mem::replace(&mut state.plugins[index], plugin.clone());
        if !rollback {
            state.history[index].push(old.clone());
        }
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        state.probation = (!rollback).then_some(Probation {
            generation,
            index,
            batches: 0,
            events: 0,
            failed: 0,
        });
        state.quarantine = None;
        state.consecutive_faults = 0;
        let verb = if rollback { "rolled back" } else { "swapped" };
        let line = format!(
            "{verb} plugin {index}: {} -> {} (generation {generation})",
            old.version, plugin.version
        );
        info!(pipeline = %self.config.name, index, from = %old.version, to = %plugin.version, generation, "Plugin {verb}.");
        push_event(&mut state.events, line);
        self.show(&state);
        SwapReport {
            pipeline: self.config.name.clone(),
            index,
            from: old.version.to_string(),
            to: plugin.version.to_string(),
            generation,
        }
    }

    /// Returns plugin `index` to its previous version, which ran here before (an
    /// operator's rollback).
    pub fn rollback(&self, index: usize) -> Result<SwapReport, Refusal> {
        let result = self.roll_back(index);
        self.telemetry.changed(match result {
            Ok(_) => Change::RolledBack,
            Err(_) => Change::RollbackRefused,
        });
        result
    }

    fn roll_back(&self, index: usize) -> Result<SwapReport, Refusal> {
        let previous = {
            let mut state = self.lock();
            let len = state.plugins.len();
            let Some(history) = state.history.get_mut(index) else {
                return Err(Refusal::NoSuchIndex {
                    pipeline: self.config.name.clone(),
                    index,
                    len,
                });
            };
            history.pop().ok_or(Refusal::NoHistory { index })?
        };
        Ok(self.install(index, previous, true))
    }

    /// Takes a processed batch's outcome into account: probation after a swap
    /// (rolled back when too many events fail) and quarantine after repeated faults.
    pub fn report(&self, generation: u64, out: &ChainRun) {
        let lifecycle = self.config.lifecycle;
        let mut rollback = None;
        {
            let mut state = self.lock();
            if out.faults.is_empty() {
                state.consecutive_faults = 0;
            } else {
                state.consecutive_faults += 1;
                if state.consecutive_faults >= lifecycle.quarantine_after
                    && state.quarantine.is_none()
                {
                    let (k, fault) = &out.faults[0];
                    let reason = format!(
                        "{} consecutive faulted batches; last: plugin {k} {fault}",
                        state.consecutive_faults
                    );
                    warn!(pipeline = %self.config.name, %reason, "Pipeline quarantined; its partitions pause until a swap or rollback.");
                    push_event(&mut state.events, format!("quarantined: {reason}"));
                    state.quarantine = Some(reason);
                    self.show(&state);
                }
            }
            if let Some(p) = state
                .probation
                .as_mut()
                .filter(|p| p.generation == generation)
            {
                let k = p.index;
                p.batches += 1;
                p.events += out.seen.get(k).copied().unwrap_or(0) as u64;
                let trapped = out.trapped.get(k).copied().unwrap_or(0);
                p.failed += (out.rejected.get(k).copied().unwrap_or(0) + trapped) as u64;
                let rate = if p.events == 0 {
                    0.0
                } else {
                    p.failed as f64 / p.events as f64
                };
                if p.events > 0 && rate > lifecycle.rollback_rate {
                    rollback = Some((k, rate));
                    state.probation = None;
                } else if p.batches >= lifecycle.probation_batches {
                    state.probation = None;
                }
            }
        }
        if let Some((index, rate)) = rollback {
            warn!(pipeline = %self.config.name, index, rate, "New plugin version failed its probation; rolling back.");
            self.note(format!(
                "automatic rollback of plugin {index}: {:.0}% of probation events failed",
                rate * 100.0
            ));
            match self.roll_back(index) {
                Ok(_) => self.telemetry.changed(Change::AutoRolledBack),
                Err(e) => {
                    self.telemetry.changed(Change::RollbackRefused);
                    warn!(pipeline = %self.config.name, error = %e, "Automatic rollback failed.");
                }
            }
        }
    }

    fn note(&self, line: String) {
        push_event(&mut self.lock().events, line);
    }

    /// The pipeline as the admin API shows it.
    pub fn status(&self) -> PipelineStatus {
        let state = self.lock();
        PipelineStatus {
            name: self.config.name.clone(),
            generation: self.generation(),
            state: if state.failed.is_some() {
                "failed"
            } else if state.quarantine.is_some() {
                "quarantined"
            } else {
                "running"
            }
            .to_owned(),
            quarantine: state.quarantine.clone().or_else(|| state.failed.clone()),
            plugins: state
                .plugins
                .iter()
                .enumerate()
                .map(|(index, p)| PluginStatus {
                    index,
                    name: p.name.to_string(),
                    path: p.path.display().to_string(),
                    version: p.version.to_string(),
                    previous: state.history[index]
                        .iter()
                        .map(|h| h.version.to_string())
                        .collect(),
                })
                .collect(),
            events: state.events.clone(),
            stalled: state.stalled.clone(),
        }
    }
}

fn push_event(events: &mut Vec<String>, line: String) {
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    events.push(format!("{stamp} {line}"));
    if events.len() > EVENTS_KEPT {
        events.remove(0);
    }
}
