//! Plugin instances: one `Store` each, with limits, and re-instantiated after a trap.
//! Batches go in as the WIT types and come out as a checked [`PluginOutput`].

use std::fmt;
use std::sync::Arc;

use wasmtime::Store;

use super::bindings::{generator, transformer};
use super::fault::PluginFault;
use super::limits::{SandboxGrants, SandboxLimits};
use super::plugin::{Plugin, PluginKind, Pre};
use super::store::{HostState, classify, new_store};
use crate::record::Batch;

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
            return Err(PluginFault::WrongKind {
                expected: PluginKind::Transform,
                found: self.plugin.kind,
            });
        };
        let mut store = new_store(&self.plugin.runtime, &self.limits, &self.grants)?;
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
        self.process_within(batch, self.limits.deadline_ms)
    }

    /// The configured wall-clock deadline of one call, in milliseconds.
    pub fn deadline_ms(&self) -> u64 {
        self.limits.deadline_ms
    }

    /// [`Self::process`] with a deadline of `deadline_ms` for this call (at least one
    /// epoch tick): a part of a batch re-run to find a trapping event gets a share.
    pub fn process_within(
        &mut self,
        batch: &Batch,
        deadline_ms: u64,
    ) -> Result<PluginOutput, PluginFault> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        let wit_batch = to_wit(batch);
        let limits = SandboxLimits {
            deadline_ms,
            ..self.limits
        };
        live.store.set_epoch_deadline(limits.deadline_ticks());
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
            return Err(PluginFault::WrongKind {
                expected: PluginKind::Generator,
                found: plugin.kind,
            });
        };
        let mut store = new_store(&plugin.runtime, &limits, &SandboxGrants::default())?;
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
