//! What can go wrong inside a plugin, as the pipeline branches on it: each fault
//! carries the reason code its dead letters get.

use super::plugin::PluginKind;

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
    /// The plugin implements another world than the one this use needs (a generator
    /// where a transform belongs, or the reverse).
    #[error("plugin is a {found} plugin, but a {expected} plugin is needed here")]
    WrongKind {
        /// The world needed.
        expected: PluginKind,
        /// The world the plugin implements.
        found: PluginKind,
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
    /// Whether the fault can be an event's doing, so that re-running the batch in parts
    /// can find that event: traps and broken or oversized output, not a plugin that
    /// cannot start.
    pub fn is_per_event(&self) -> bool {
        matches!(
            self,
            PluginFault::Trap { .. }
                | PluginFault::BadOutput(_)
                | PluginFault::OutputTooLarge { .. }
        )
    }

    /// The reason code dead letters carry.
    pub fn code(&self) -> &'static str {
        match self {
            PluginFault::Init { .. } => "plugin-init",
            PluginFault::Trap { kind, .. } => kind.code(),
            PluginFault::WrongKind { .. } => "wrong-kind",
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
