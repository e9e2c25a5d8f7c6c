//! Plugin instances: one `Store` each, with limits, and re-instantiated after a trap.

use std::fmt;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::{generator, transformer};
use super::limits::{SandboxGrants, SandboxLimits};
use super::plugin::{Plugin, PluginKind, Pre};
use crate::pipeline::batch::Batch;

/// How much of a plugin's stderr is kept to explain a trap.
const STDERR_CAPTURE: usize = 16 << 10;

/// Per-store host data: WASI with nothing granted, the limiter, captured stderr.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    stderr: MemoryOutputPipe,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers how large it grew and whether it hit the cap.
struct Limiter {
    max_memory: usize,
    memory: usize,
    hit_cap: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit_cap = true;
            wasmtime::bail!(
                "plugin memory would grow to {desired} bytes, over the cap of {} bytes",
                self.max_memory
            );
        }
        self.memory = self.memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// What went wrong inside a plugin; the pipeline turns it into dead letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFault {
    /// `init` refused the configuration.
    #[error("plugin refused its config ({code}): {message}")]
    Init {
        /// The plugin's reason code.
        code: String,
        /// The plugin's message.
        message: String,
    },
    /// The call trapped: panic, deadline, memory cap, stack overflow...
    #[error("plugin trapped ({}): {message}", kind.code())]
    Trap {
        /// Which limit or fault.
        kind: TrapKind,
        /// Detail, including the plugin's panic message when it printed one.
        message: String,
    },
    /// The plugin returned an output that breaks the framing contract.
    #[error("plugin broke the output contract: {0}")]
    BadOutput(String),
    /// The plugin returned more row bytes than `max_output_bytes` allows.
    #[error("plugin returned {bytes} bytes of rows, over the cap of {cap}")]
    OutputTooLarge {
        /// What it returned.
        bytes: usize,
        /// The configured cap.
        cap: usize,
    },
}

impl PluginFault {
    /// The reason code dead letters carry.
    pub fn code(&self) -> &'static str {
        match self {
            PluginFault::Init { .. } => "plugin-init",
            PluginFault::Trap { kind, .. } => kind.code(),
            PluginFault::BadOutput(_) => "bad-output",
            PluginFault::OutputTooLarge { .. } => "output-too-large",
        }
    }
}

/// Why a call trapped; decides the dead-letter code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// The epoch deadline passed (an endless or too slow loop).
    Deadline,
    /// Linear memory hit the cap.
    Memory,
    /// Native stack exhausted (deep recursion).
    Stack,
    /// The guest panicked or hit `unreachable`.
    Panic,
    /// Anything else.
    Other,
}

impl TrapKind {
    /// Dead-letter reason code for this trap.
    pub fn code(self) -> &'static str {
        match self {
            TrapKind::Deadline => "trap-deadline",
            TrapKind::Memory => "trap-memory",
            TrapKind::Stack => "trap-stack",
            TrapKind::Panic => "trap-panic",
            TrapKind::Other => "trap",
        }
    }
}

/// What a plugin made of a batch, checked against the framing contract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginOutput {
    /// One per input event.
    pub outcomes: Vec<Outcome>,
    /// Emitted rows in order; rows past the sum of emits are batch-level.
    pub rows: Vec<RowMeta>,
    /// Row bytes, concatenated.
    pub data: Vec<u8>,
}

/// What a plugin made of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The event produced this many rows.
    Emit(u32),
    /// The event was refused with a code and message.
    Reject {
        /// Reason code.
        code: String,
        /// Detail.
        message: String,
    },
}

/// One emitted row: where it goes and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMeta {
    /// Named output, or none for the next stage.
    pub target: Option<String>,
    /// Byte length in `data`.
    pub len: u32,
}

/// A clock stuck at zero: what a plugin sees unless the pipeline grants `clock`.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

fn new_store(
    plugin: &Plugin,
    limits: &SandboxLimits,
    grants: &SandboxGrants,
) -> Result<Store<HostState>, PluginFault> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
    // No sockets and no environment ever; clocks, randomness and one read-only
    // directory only when the pipeline grants them.
    let mut builder = WasiCtx::builder();
    builder
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    if !grants.clock {
        builder.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
    }
    if !grants.random {
        builder
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0]))
            .insecure_random_seed(0);
    }
    if let Some(dir) = &grants.read_dir {
        builder
            .preopened_dir(dir, "/data", FsPerms::ReadOnly)
            .map_err(|e| PluginFault::Init {
                code: "grant".into(),
                message: format!("cannot open read_dir {}: {e}", dir.display()),
            })?;
    }
    let wasi = builder.build();
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        limiter: Limiter {
            max_memory: limits.memory_bytes,
            memory: 0,
            hit_cap: false,
        },
        stderr,
    };
    let mut store = Store::new(plugin.runtime.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(limits.deadline_ticks());
    Ok(store)
}

fn classify(store: &Store<HostState>, error: &wasmtime::Error) -> PluginFault {
    let state = store.data();
    let kind = if state.limiter.hit_cap {
        TrapKind::Memory
    } else {
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => TrapKind::Deadline,
            Some(Trap::StackOverflow) => TrapKind::Stack,
            Some(Trap::UnreachableCodeReached) => TrapKind::Panic,
            _ => TrapKind::Other,
        }
    };
    let stderr = state.stderr.contents();
    let said = String::from_utf8_lossy(&stderr);
    let panic_line = said
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .take(2)
        .collect::<Vec<_>>()
        .join(": ");
    // The error's Display carries a wasm backtrace; its first line says what trapped.
    let first_line = error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut message = match kind {
        TrapKind::Deadline => "call exceeded its CPU deadline".to_owned(),
        TrapKind::Memory => "linear memory hit the instance cap".to_owned(),
        _ if !panic_line.is_empty() => panic_line.trim().to_owned(),
        _ => first_line,
    };
    message.truncate(1_000);
    PluginFault::Trap { kind, message }
}

struct LiveTransform {
    store: Store<HostState>,
    bindings: transformer::Transformer,
}

/// A transform plugin instance owned by one worker; recreated transparently after a trap.
pub struct TransformInstance {
    plugin: Arc<Plugin>,
    config: Arc<str>,
    limits: SandboxLimits,
    grants: SandboxGrants,
    live: Option<LiveTransform>,
}

impl fmt::Debug for TransformInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransformInstance")
            .field("plugin", &self.plugin.name)
            .field("live", &self.live.is_some())
            .finish()
    }
}

impl TransformInstance {
    /// Instantiates `plugin` with nothing granted and runs its `init` with `config`.
    pub fn new(
        plugin: Arc<Plugin>,
        config: &str,
        limits: SandboxLimits,
    ) -> Result<Self, PluginFault> {
        Self::with_grants(plugin, config, limits, &SandboxGrants::default())
    }

    /// Instantiates `plugin` with the capabilities in `grants` and runs its `init`.
    pub fn with_grants(
        plugin: Arc<Plugin>,
        config: &str,
        limits: SandboxLimits,
        grants: &SandboxGrants,
    ) -> Result<Self, PluginFault> {
        debug_assert_eq!(plugin.kind, PluginKind::Transform);
        let mut instance = Self {
            plugin,
            config: config.into(),
            limits,
            grants: grants.clone(),
            live: None,
        };
        instance.live = Some(instance.instantiate()?);
        Ok(instance)
    }

    /// The plugin this instance runs.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    fn instantiate(&self) -> Result<LiveTransform, PluginFault> {
        let Pre::Transform(pre) = &self.plugin.pre else {
            return Err(PluginFault::BadOutput("not a transform plugin".into()));
        };
        let mut store = new_store(&self.plugin, &self.limits, &self.grants)?;
        let bindings = match pre.instantiate(&mut store) {
            Ok(b) => b,
            Err(e) => return Err(classify(&store, &e)),
        };
        match bindings
            .sluice_plugin_transform()
            .call_init(&mut store, &self.config)
        {
            Ok(Ok(())) => Ok(LiveTransform { store, bindings }),
            Ok(Err(e)) => Err(PluginFault::Init {
                code: e.code,
                message: e.message,
            }),
            Err(e) => Err(classify(&store, &e)),
        }
    }

    /// Runs one batch. On a trap the instance is thrown away and the next call
    /// starts a fresh one, because a trapped instance is unusable.
    pub fn process(&mut self, batch: &Batch) -> Result<PluginOutput, PluginFault> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        let wit_batch = to_wit(batch);
        live.store.set_epoch_deadline(self.limits.deadline_ticks());
        let result = live
            .bindings
            .sluice_plugin_transform()
            .call_process(&mut live.store, &wit_batch);
        let output = match result {
            Ok(output) => output,
            Err(e) => return Err(classify(&live.store, &e)),
        };
        if output.data.len() > self.limits.max_output_bytes {
            return Err(PluginFault::OutputTooLarge {
                bytes: output.data.len(),
                cap: self.limits.max_output_bytes,
            });
        }
        let output = from_wit(output);
        check_output(&output, batch.events.len())?;
        if live.store.data().limiter.memory <= self.limits.recycle_bytes {
            self.live = Some(live);
        }
        Ok(output)
    }
}

fn to_wit(batch: &Batch) -> transformer::sluice::plugin::types::Batch {
    use transformer::sluice::plugin::types as t;
    t::Batch {
        topic: batch.topic.to_string(),
        partition: batch.partition,
        events: batch
            .events
            .iter()
            .map(|e| t::Event {
                offset: e.offset,
                timestamp_ms: e.timestamp_ms,
                key: e.key.clone(),
                headers: e
                    .headers
                    .iter()
                    .map(|h| t::Header {
                        key: h.key.clone(),
                        value: h.value.clone(),
                    })
                    .collect(),
                payload_len: e.payload_len,
            })
            .collect(),
        payloads: batch.payloads.clone(),
    }
}

fn from_wit(output: transformer::sluice::plugin::types::Output) -> PluginOutput {
    use transformer::sluice::plugin::types as t;
    PluginOutput {
        outcomes: output
            .outcomes
            .into_iter()
            .map(|o| match o {
                t::Outcome::Emit(n) => Outcome::Emit(n),
                t::Outcome::Reject(r) => Outcome::Reject {
                    code: r.code,
                    message: r.message,
                },
            })
            .collect(),
        rows: output
            .rows
            .into_iter()
            .map(|r| RowMeta {
                target: r.target,
                len: r.len,
            })
            .collect(),
        data: output.data,
    }
}

/// Checks the framing: one outcome per event, emits within the rows, lengths within the data.
pub(crate) fn check_output(output: &PluginOutput, events: usize) -> Result<(), PluginFault> {
    if output.outcomes.len() != events {
        return Err(PluginFault::BadOutput(format!(
            "{} outcomes for {events} events",
            output.outcomes.len()
        )));
    }
    let emitted: u64 = output
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Emit(n) => u64::from(*n),
            Outcome::Reject { .. } => 0,
        })
        .sum();
    if emitted > output.rows.len() as u64 {
        return Err(PluginFault::BadOutput(format!(
            "outcomes emit {emitted} rows but only {} were returned",
            output.rows.len()
        )));
    }
    let bytes: u64 = output.rows.iter().map(|r| u64::from(r.len)).sum();
    if bytes != output.data.len() as u64 {
        return Err(PluginFault::BadOutput(format!(
            "row lengths add up to {bytes} bytes but data holds {}",
            output.data.len()
        )));
    }
    Ok(())
}

/// A generator's next records: keys and values, framed like the WIT type.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// (key, value length) per record.
    pub messages: Vec<(Option<Vec<u8>>, u32)>,
    /// Values, concatenated.
    pub values: Vec<u8>,
}

impl Generated {
    /// Each record's key and value, in order (the framing was checked on receipt).
    pub fn records(&self) -> impl Iterator<Item = (Option<&[u8]>, &[u8])> {
        let mut at = 0usize;
        self.messages.iter().map(move |(key, len)| {
            let end = at + *len as usize;
            let value = self.values.get(at..end).unwrap_or_default();
            at = end;
            (key.as_deref(), value)
        })
    }
}

/// A generator plugin instance, driven by `host generate`.
pub struct GeneratorInstance {
    store: Store<HostState>,
    bindings: generator::Generator,
    limits: SandboxLimits,
}

impl GeneratorInstance {
    /// Instantiates `plugin` and runs `init(config, seed)`.
    pub fn new(
        plugin: &Arc<Plugin>,
        config: &str,
        seed: u64,
        limits: SandboxLimits,
    ) -> Result<Self, PluginFault> {
        let Pre::Generator(pre) = &plugin.pre else {
            return Err(PluginFault::BadOutput("not a generator plugin".into()));
        };
        let mut store = new_store(plugin, &limits, &SandboxGrants::default())?;
        let bindings = pre
            .instantiate(&mut store)
            .map_err(|e| classify(&store, &e))?;
        match bindings
            .sluice_plugin_generate()
            .call_init(&mut store, config, seed)
        {
            Ok(Ok(())) => Ok(Self {
                store,
                bindings,
                limits,
            }),
            Ok(Err(e)) => Err(PluginFault::Init {
                code: e.code,
                message: e.message,
            }),
            Err(e) => Err(classify(&store, &e)),
        }
    }

    /// Pulls up to `max` records; empty means the generator is done.
    pub fn next_batch(&mut self, max: u32) -> Result<Generated, PluginFault> {
        self.store.set_epoch_deadline(self.limits.deadline_ticks());
        let out = self
            .bindings
            .sluice_plugin_generate()
            .call_next_batch(&mut self.store, max)
            .map_err(|e| classify(&self.store, &e))?;
        let total: u64 = out.messages.iter().map(|m| u64::from(m.value_len)).sum();
        if total != out.values.len() as u64 {
            return Err(PluginFault::BadOutput(format!(
                "message lengths add up to {total} bytes but values hold {}",
                out.values.len()
            )));
        }
        Ok(Generated {
            messages: out
                .messages
                .into_iter()
                .map(|m| (m.key, m.value_len))
                .collect(),
            values: out.values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            6 => (0u32..4).prop_map(Outcome::Emit),
            1 => any::<u32>().prop_map(Outcome::Emit),
            2 => (".{0,4}", ".{0,8}").prop_map(|(code, message)| Outcome::Reject { code, message }),
        ]
    }

    fn row() -> impl Strategy<Value = RowMeta> {
        (
            prop::option::of(prop::sample::select(vec!["agg", ""]).prop_map(String::from)),
            prop_oneof![8 => 0u32..8, 1 => any::<u32>()],
        )
            .prop_map(|(target, len)| RowMeta { target, len })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::sink::arb::CASES))]

        /// Any outcome, row and length combination a plugin can return is accepted
        /// exactly when it frames the batch, and otherwise becomes `bad-output`.
        #[test]
        fn any_framing_is_accepted_or_bad_output(
            events in 0usize..6,
            outcomes in prop::collection::vec(outcome(), 0..8),
            rows in prop::collection::vec(row(), 0..10),
            data_len in prop_oneof![0usize..64, any::<u32>().prop_map(|n| n as usize)],
            (one_per_event, exact_data) in (any::<bool>(), any::<bool>()),
        ) {
            // Half the cases get the counts right, so the later checks are reached too.
            let mut outcomes = outcomes;
            if one_per_event {
                outcomes.resize(events, Outcome::Emit(0));
            }
            let sum: u64 = rows.iter().map(|r| u64::from(r.len)).sum();
            let data_len = if exact_data { sum as usize } else { data_len };
            let output = PluginOutput { outcomes, rows, data: vec![0; data_len.min(1 << 16)] };
            let emitted: u64 = output.outcomes.iter().map(|o| match o {
                Outcome::Emit(n) => u64::from(*n),
                Outcome::Reject { .. } => 0,
            }).sum();
            let bytes: u64 = output.rows.iter().map(|r| u64::from(r.len)).sum();
            let frames = output.outcomes.len() == events
                && emitted <= output.rows.len() as u64
                && bytes == output.data.len() as u64;
            match check_output(&output, events) {
                Ok(()) => prop_assert!(frames),
                Err(fault) => {
                    prop_assert!(!frames);
                    prop_assert_eq!(fault.code(), "bad-output");
                }
            }
        }
    }
}
