//! The Sluice plugin SDK: write a transform as one function from an event to rows,
//! register it with [`export_transform!`], and test it natively with [`testing`].
//! A generator (world `generator`, for `host generate`) implements [`Generate`] and
//! registers with [`export_generator!`].
//!
//! The host calls plugins once per batch with framed payloads (see `wit/types.wit`);
//! this crate unpacks the frame into [`Event`]s, collects what the plugin emits
//! into the framed `output` record,
//! and rolls back the rows of an event that the plugin then rejects.
//!
//! Plugins share the rest instead of copying it: [`config::object`] opens a JSON config,
//! [`json`] reads payloads, [`time`] parses and formats event times on [`calendar`].

#![cfg_attr(target_arch = "wasm32", allow(unsafe_code))]

pub mod calendar;
pub mod config;
mod emit;
mod event;
mod generate;
pub mod json;
pub mod testing;
pub mod time;

pub use emit::Emitter;
pub use event::{Event, Header};
pub use generate::{Generate, Records};

/// Generated bindings of the `transformer` world; plugins never need to name them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "transformer",
        pub_export_macro: true,
        export_macro_name: "__export_transformer",
        default_bindings_module: "sluice_plugin::bindings",
    });
}

/// Generated bindings of the `generator` world; plugins never need to name them.
#[doc(hidden)]
pub mod generator_bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "generator",
        pub_export_macro: true,
        export_macro_name: "__export_generator",
        default_bindings_module: "sluice_plugin::generator_bindings",
    });
}

/// Why an event was refused: it lands in the dead-letter table with this code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Short machine-readable reason, e.g. `bad-json`.
    pub code: String,
    /// Detail for whoever reads the dead-letter table.
    pub message: String,
}

impl Reject {
    /// A rejection with a reason code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Why a plugin refused its configuration; the host prints it and refuses the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Short machine-readable reason, e.g. `bad-config`.
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    /// A `bad-config` error with a message that names the fix.
    pub fn bad_config(message: impl Into<String>) -> Self {
        Self {
            code: "bad-config".into(),
            message: message.into(),
        }
    }
}

/// A transform plugin: built once per instance from its config, then fed events.
pub trait Transform: Sized + 'static {
    /// Builds the plugin from its config string (empty when the pipeline gives none).
    fn init(config: &str) -> Result<Self, ConfigError>;

    /// Handles one event: emit zero or more rows, or reject it.
    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject>;

    /// Called after the last event of each batch, for batch-level rows such as partial
    /// aggregates; the host attributes them to the batch's last offset.
    fn finish_batch(&mut self, _out: &mut Emitter) {}
}

#[doc(hidden)]
pub mod __private {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::bindings::sluice::plugin::types::{Batch, Error, Outcome, Output, Rejection};
    use crate::{Emitter, Event, Transform};

    pub type State<T> = RefCell<Option<T>>;

    pub fn init<T: Transform>(
        state: &'static LocalKey<State<T>>,
        config: String,
    ) -> Result<(), Error> {
        let plugin = T::init(&config).map_err(|e| Error {
            code: e.code,
            message: e.message,
        })?;
        state.with(|s| *s.borrow_mut() = Some(plugin));
        Ok(())
    }

    pub fn process<T: Transform>(state: &'static LocalKey<State<T>>, batch: Batch) -> Output {
        state.with(|s| {
            let mut guard = s.borrow_mut();
            let Some(plugin) = guard.as_mut() else {
                let outcomes = batch
                    .events
                    .iter()
                    .map(|_| {
                        Outcome::Reject(Rejection {
                            code: "not-initialised".into(),
                            message: "process called before init".into(),
                        })
                    })
                    .collect();
                return Output {
                    outcomes,
                    rows: Vec::new(),
                    data: Vec::new(),
                };
            };
            run_batch(plugin, &batch)
        })
    }

    /// Runs one framed batch through a plugin; shared by the export glue and [`crate::testing`].
    pub fn run_batch<T: Transform>(plugin: &mut T, batch: &Batch) -> Output {
        let mut out = Emitter::with_capacity(batch.events.len(), batch.payloads.len());
        let mut outcomes = Vec::with_capacity(batch.events.len());
        let mut start = 0usize;
        for meta in &batch.events {
            let end = start.saturating_add(meta.payload_len as usize);
            let payload = batch.payloads.get(start..end).unwrap_or(&[]);
            start = end;
            let event = Event::from_meta(&batch.topic, batch.partition, meta, payload);
            out.begin_event();
            match plugin.process(&event, &mut out) {
                Ok(()) => outcomes.push(Outcome::Emit(out.event_rows())),
                Err(reject) => {
                    out.rollback_event();
                    outcomes.push(Outcome::Reject(Rejection {
                        code: reject.code,
                        message: reject.message,
                    }));
                }
            }
        }
        out.begin_event();
        plugin.finish_batch(&mut out);
        let (rows, data) = out.into_parts();
        Output {
            outcomes,
            rows,
            data,
        }
    }
}

/// Registers a [`Transform`] type as this component's `transform` export.
///
/// ```ignore
/// struct Upper;
/// impl sluice_plugin::Transform for Upper { /* ... */ }
/// sluice_plugin::export_transform!(Upper);
/// ```
#[macro_export]
macro_rules! export_transform {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __sluice_export {
            use super::*;
            use $crate::bindings::exports::sluice::plugin::transform as __t;

            ::std::thread_local! {
                static STATE: $crate::__private::State<$plugin> = const { ::std::cell::RefCell::new(None) };
            }

            struct Export;

            impl __t::Guest for Export {
                fn init(config: ::std::string::String) -> ::std::result::Result<(), __t::Error> {
                    $crate::__private::init::<$plugin>(&STATE, config)
                }
                fn process(batch: __t::Batch) -> __t::Output {
                    $crate::__private::process::<$plugin>(&STATE, batch)
                }
            }

            $crate::bindings::__export_transformer!(Export with_types_in $crate::bindings);
        }
    };
}

/// Registers a [`Generate`] type as the component's `generate` export.
#[macro_export]
macro_rules! export_generator {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __sluice_generator_export {
            use super::*;
            use $crate::generator_bindings::exports::sluice::plugin::generate as __g;

            ::std::thread_local! {
                static STATE: ::std::cell::RefCell<Option<$plugin>> = const { ::std::cell::RefCell::new(None) };
            }

            struct Export;

            impl __g::Guest for Export {
                fn init(config: ::std::string::String, seed: u64) -> ::std::result::Result<(), __g::Error> {
                    let plugin = <$plugin as $crate::Generate>::init(&config, seed)
                        .map_err(|e| __g::Error { code: e.code, message: e.message })?;
                    STATE.with(|s| *s.borrow_mut() = Some(plugin));
                    Ok(())
                }
                fn next_batch(max: u32) -> __g::Generated {
                    STATE.with(|s| {
                        let mut records = $crate::Records::default();
                        // Before a successful `init` there is nothing to generate: done.
                        if let Some(plugin) = s.borrow_mut().as_mut() {
                            $crate::Generate::next_batch(plugin, max, &mut records);
                        }
                        let (messages, values) = records.into_parts();
                        __g::Generated {
                            messages: messages
                                .into_iter()
                                .map(|(key, value_len)| $crate::generator_bindings::sluice::plugin::types::Message { key, value_len })
                                .collect(),
                            values,
                        }
                    })
                }
            }

            $crate::generator_bindings::__export_generator!(Export with_types_in $crate::generator_bindings);
        }
    };
}
