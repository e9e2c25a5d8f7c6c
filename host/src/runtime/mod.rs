//! The WebAssembly runtime: the only module that touches wasmtime's `Store`, `Linker`
//! or generated bindings. Plugins come in as `.wasm` files and go out as instances
//! that turn a host [`Batch`](crate::pipeline::batch::Batch) into a [`PluginOutput`].

mod bindings;
mod engine;
mod instance;
mod limits;
mod plugin;

pub use engine::Runtime;
/// The framing check, for the chain's tests of what it accepts.
#[cfg(test)]
pub(crate) use instance::check_output;
pub use instance::{
    Generated, GeneratorInstance, Outcome, PluginFault, PluginOutput, RowMeta, TransformInstance,
    TrapKind,
};
pub use limits::{SandboxGrants, SandboxLimits};
pub use plugin::{Plugin, PluginKind};
