//! Pipeline configuration: what to read, which plugins to run, where rows go. Built
//! from the command line for one pipeline; `deny_unknown_fields` everywhere so a typo
//! is an error, not a silently ignored setting.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::pipeline::batch::BatchLimits;
use crate::runtime::SandboxLimits;
use crate::sink::clickhouse::check_identifier;

/// One plugin in a chain and the config string it is given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// Path of the `.wasm` component.
    pub path: PathBuf,
    /// The plugin's own config (JSON); empty means its defaults.
    #[serde(default)]
    pub config: String,
}

/// One pipeline: topics in, a plugin chain, tables out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Name used in logs, dead letters and the admin API.
    pub name: String,
    /// Kafka topics to consume.
    pub topics: Vec<String>,
    /// Kafka consumer group; one pipeline per group.
    pub group: String,
    /// Plugins run in order; none means payloads go to the table as they are.
    #[serde(default)]
    pub plugins: Vec<PluginSpec>,
    /// Table for rows without a target.
    pub table: String,
    /// Named outputs: a row's target name mapped to a table.
    #[serde(default)]
    pub outputs: Vec<(String, String)>,
    /// Table for dead letters.
    #[serde(default = "default_dead_letter_table")]
    pub dead_letter_table: String,
    /// When batches close.
    #[serde(default)]
    pub batch: BatchLimits,
    /// Limits for every plugin instance.
    #[serde(default)]
    pub limits: SandboxLimits,
    /// Batches processed in parallel (partitions are spread over them).
    #[serde(default = "default_workers")]
    pub workers: usize,
}

/// The dead-letter table that `sql/` creates.
pub fn default_dead_letter_table() -> String {
    "dead_letters".to_owned()
}

/// One worker per core suits a 2-core machine: Kafka and ClickHouse I/O overlap plugin work.
pub fn default_workers() -> usize {
    2
}

impl PipelineConfig {
    /// Checks what can be checked without services; errors name the field and the fix.
    pub fn validate(&self) -> Result<()> {
        if self.topics.is_empty() || self.topics.iter().any(|t| t.trim().is_empty()) {
            bail!("pipeline {}: no topic given; pass --topic NAME", self.name);
        }
        check_identifier(&self.table)?;
        check_identifier(&self.dead_letter_table)?;
        for (target, table) in &self.outputs {
            if target.is_empty() {
                bail!("pipeline {}: an output has an empty target name", self.name);
            }
            check_identifier(table)?;
        }
        if self.batch.max_rows == 0 || self.batch.max_bytes == 0 {
            bail!("pipeline {}: batch limits must be above zero", self.name);
        }
        if self.workers == 0 {
            bail!("pipeline {}: workers must be at least 1", self.name);
        }
        for plugin in &self.plugins {
            if !plugin.config.trim().is_empty()
                && serde_json::from_str::<serde_json::Value>(&plugin.config).is_err()
            {
                bail!(
                    "pipeline {}: the config for plugin {} is not valid JSON; pass e.g. --plugin-config '{{\"key\": 1}}'",
                    self.name,
                    plugin.path.display()
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PipelineConfig {
        PipelineConfig {
            name: "p".into(),
            topics: vec!["tweets".into()],
            group: "g".into(),
            plugins: vec![],
            table: "tweet_sentiment".into(),
            outputs: vec![],
            dead_letter_table: default_dead_letter_table(),
            batch: BatchLimits::default(),
            limits: SandboxLimits::default(),
            workers: 2,
        }
    }

    #[test]
    fn accepts_a_plain_pipeline() {
        base().validate().expect("valid");
    }

    #[test]
    fn rejects_bad_names_and_limits_with_the_fix() {
        let mut c = base();
        c.table = "drop table; --".into();
        assert!(
            c.validate()
                .expect_err("bad name")
                .to_string()
                .contains("not a valid table name")
        );
        let mut c = base();
        c.topics.clear();
        assert!(
            c.validate()
                .expect_err("no topic")
                .to_string()
                .contains("--topic")
        );
        let mut c = base();
        c.plugins.push(PluginSpec {
            path: "x.wasm".into(),
            config: "{not json".into(),
        });
        assert!(
            c.validate()
                .expect_err("bad json")
                .to_string()
                .contains("--plugin-config")
        );
    }
}
