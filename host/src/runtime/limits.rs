//! Sandbox limits applied to every plugin instance: CPU time per call, memory, stack.

use serde::Deserialize;

/// How much a plugin instance may use; exceeding any limit traps the call, never the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxLimits {
    /// Wall-clock budget of one plugin call, in milliseconds (epoch interruption).
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Most linear memory one instance may grow to, in bytes.
    #[serde(default = "default_memory_bytes")]
    pub memory_bytes: usize,
    /// An instance whose memory grew past this is recycled after its batch, because
    /// guest memory never shrinks.
    #[serde(default = "default_recycle_bytes")]
    pub recycle_bytes: usize,
}

/// One epoch tick of the engine's timer thread, in milliseconds.
pub const EPOCH_TICK_MS: u64 = 10;

fn default_deadline_ms() -> u64 {
    2_000
}

fn default_memory_bytes() -> usize {
    256 << 20
}

fn default_recycle_bytes() -> usize {
    128 << 20
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            deadline_ms: default_deadline_ms(),
            memory_bytes: default_memory_bytes(),
            recycle_bytes: default_recycle_bytes(),
        }
    }
}

impl SandboxLimits {
    /// Deadline in epoch ticks, at least one.
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}
