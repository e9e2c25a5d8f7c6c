//! One plugin instance's `Store`: WASI with nothing granted unless the pipeline says
//! so, the memory limiter, captured stderr, the epoch deadline, and the reading of a
//! trap into a [`PluginFault`]. Instances and loaded plugins both build on it.

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::Runtime;
use super::fault::{PluginFault, TrapKind};
use super::limits::{SandboxGrants, SandboxLimits};

/// How much of a plugin's stderr is kept to explain a trap.
const STDERR_CAPTURE: usize = 16 << 10;

/// Per-store host data: WASI with nothing granted, the limiter, captured stderr.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: Limiter,
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
pub(super) struct Limiter {
    max_memory: usize,
    /// Largest size linear memory grew to.
    pub(super) memory: usize,
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

/// A store for one instance of a plugin compiled by `runtime`.
pub(super) fn new_store(
    runtime: &Runtime,
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
    let mut store = Store::new(runtime.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(limits.deadline_ticks());
    Ok(store)
}

/// What a failed call means: which limit it hit, with the plugin's panic message
/// when it printed one.
pub(super) fn classify(store: &Store<HostState>, error: &wasmtime::Error) -> PluginFault {
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
        TrapKind::Deadline => "call exceeded its wall-clock deadline".to_owned(),
        TrapKind::Memory => "linear memory hit the instance cap".to_owned(),
        _ if !panic_line.is_empty() => panic_line.trim().to_owned(),
        _ => first_line,
    };
    message.truncate(1_000);
    PluginFault::Trap { kind, message }
}
