//! The WebAssembly runtime: the only module that touches wasmtime's `Store`, `Linker`
//! or generated bindings. Plugins come in as `.wasm` files and go out as instances
//! that turn a host [`Batch`](crate::record::Batch) into a [`PluginOutput`].

mod bindings;
mod engine;
mod fault;
mod instance;
mod limits;
mod plugin;
mod store;

pub use engine::Runtime;
pub use fault::{PluginFault, TrapKind};
/// The framing check, for the chain's tests of what it accepts.
#[cfg(test)]
pub(crate) use instance::check_output;
pub use instance::{
    Generated, GeneratorInstance, Outcome, PluginOutput, RowMeta, TransformInstance,
};
pub use limits::{SandboxGrants, SandboxLimits};
pub use plugin::{Plugin, PluginKind};
