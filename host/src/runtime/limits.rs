//! Sandbox limits applied to every plugin instance (wall-clock time per call, memory, output
//! size) and the capabilities a pipeline may grant beyond the bare batch.

use std::path::PathBuf;

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
    /// Most row bytes one call may return; more is a fault, not a giant insert.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: usize,
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

fn default_max_output_bytes() -> usize {
    64 << 20
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            deadline_ms: default_deadline_ms(),
            memory_bytes: default_memory_bytes(),
            recycle_bytes: default_recycle_bytes(),
            max_output_bytes: default_max_output_bytes(),
        }
    }
}

/// What a plugin may reach beyond its batch. Everything is off by default: the clocks
/// read zero, random bytes are zeros, and there is no filesystem or network, so a
/// plugin's output depends on its input and config alone (replays are deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxGrants {
    /// Let the plugin read the real wall and monotonic clocks.
    #[serde(default)]
    pub clock: bool,
    /// Let the plugin draw real random bytes.
    #[serde(default)]
    pub random: bool,
    /// A host directory the plugin may read (not write), seen as `/data`.
    #[serde(default)]
    pub read_dir: Option<PathBuf>,
}

impl SandboxLimits {
    /// Deadline in epoch ticks, at least one.
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}
