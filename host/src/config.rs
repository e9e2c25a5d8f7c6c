//! Pipeline configuration: what to read, which plugins to run, where rows go, and
//! how batches, sandboxes and plugin lifecycles behave. The command line and the
//! pipelines file both fill in a [`PipelineDraft`], and [`PipelineConfig::from_draft`]
//! is the one place defaults are applied and the result is checked.
//! `deny_unknown_fields` everywhere, so a typo is an error, not a silently ignored
//! setting.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::runtime::{SandboxGrants, SandboxLimits};
use crate::sink::clickhouse::check_identifier;
use crate::source::settings::KafkaSettings;

/// One plugin in a chain and the config string it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// Path of the `.wasm` component.
    pub path: PathBuf,
    /// The plugin's own config (JSON); empty means its defaults.
    pub config: String,
}

/// One pipeline: topics in, a plugin chain, tables out. Built only by
/// [`PipelineConfig::from_draft`], so every one has passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Name used in logs, dead letters and the admin API.
    pub name: String,
    /// Kafka topics to consume.
    pub topics: Vec<String>,
    /// Regular expressions (POSIX extended, as librdkafka reads them) naming more
    /// topics to consume, matched against the cluster's topics as they come and go.
    pub topic_patterns: Vec<String>,
    /// This pipeline's Kafka settings, over the command line's (brokers, security,
    /// pass-through options).
    pub kafka: KafkaSettings,
    /// Kafka consumer group; one pipeline per group.
    pub group: String,
    /// Plugins run in order; none means payloads go to the table as they are.
    pub plugins: Vec<PluginSpec>,
    /// Table for rows without a target.
    pub table: String,
    /// Named outputs: a row's target name mapped to a table.
    pub outputs: Vec<(String, String)>,
    /// Table for dead letters.
    pub dead_letter_table: String,
    /// When batches close.
    pub batch: BatchLimits,
    /// Limits for every plugin instance.
    pub limits: SandboxLimits,
    /// Capabilities granted to every plugin instance (none by default).
    pub grants: SandboxGrants,
    /// Hot swap, probation, rollback and quarantine settings.
    pub lifecycle: LifecycleConfig,
    /// Batches processed in parallel (partitions are spread over them).
    pub workers: usize,
}

/// A pipeline as written, before defaults: one `[[pipeline]]` table of a pipelines
/// file, or the flags of `host --table ... --topic ...`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDraft {
    /// Name used in logs, dead letters and the admin API; defaults to the table.
    #[serde(default)]
    pub name: Option<String>,
    /// Kafka topics to consume.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Regular expressions naming more topics to consume (`events\\..*`); matched as
    /// topics are created. A topic name itself is never read as a pattern.
    #[serde(default)]
    pub topic_patterns: Vec<String>,
    /// Kafka settings for this pipeline, over the command line's: `brokers`,
    /// `security_protocol`, `sasl_*`, `ssl_*`, `oidc`, and `options` passed through.
    #[serde(default)]
    pub kafka: KafkaSettings,
    /// Kafka consumer group; defaults to `sluice-NAME`.
    #[serde(default)]
    pub group: Option<String>,
    /// Table for rows without a target.
    pub table: String,
    /// Target name to table, for rows a plugin routes by name.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// Table for dead letters.
    #[serde(default = "default_dead_letter_table")]
    pub dead_letter_table: String,
    /// When batches close.
    #[serde(default)]
    pub batch: BatchLimits,
    /// Limits for every plugin instance.
    #[serde(default)]
    pub limits: SandboxLimits,
    /// Capabilities granted to every plugin instance: `clock`, `random`, `read_dir`.
    #[serde(default)]
    pub grants: SandboxGrants,
    /// Hot swap, probation, rollback and quarantine settings.
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
    /// Batches processed in parallel.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// The chain, in order.
    #[serde(default)]
    pub plugins: Vec<PluginDraft>,
}

/// One `[[pipeline.plugins]]` (or `--plugin` with its `--plugin-config`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDraft {
    /// Path of the `.wasm` component; a relative one is taken from the config
    /// file's directory (from the working directory on the command line).
    pub path: PathBuf,
    /// The plugin's config as a TOML value, handed to the plugin as JSON.
    #[serde(default)]
    pub config: Option<toml::Value>,
    /// The plugin's config as JSON text, as `--plugin-config` gives it.
    #[serde(skip)]
    pub config_json: Option<String>,
}

/// The dead-letter table that `sql/` creates.
pub fn default_dead_letter_table() -> String {
    "dead_letters".to_owned()
}

/// One worker per core suits a 2-core machine: Kafka and ClickHouse I/O overlap plugin work.
pub fn default_workers() -> usize {
    2
}

/// On shutdown, how long in-flight batches may take to finish, in milliseconds.
pub fn default_drain_ms() -> u64 {
    10_000
}

impl PipelineConfig {
    /// Applies the defaults to a draft and checks it: the one way a pipeline config
    /// is made. Relative paths are resolved against `base`.
    pub fn from_draft(draft: PipelineDraft, base: &Path) -> Result<Self> {
        let name = draft.name.unwrap_or_else(|| draft.table.clone());
        let plugins = draft
            .plugins
            .into_iter()
            .map(|p| {
                let config = match (p.config_json, p.config) {
                    (Some(json), _) => json,
                    (None, Some(v)) => plugin_config_json(&v)?,
                    (None, None) => String::new(),
                };
                Ok(PluginSpec {
                    path: resolve(base, p.path),
                    config,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut grants = draft.grants;
        grants.read_dir = grants.read_dir.map(|dir| resolve(base, dir));
        let config = Self {
            group: draft.group.unwrap_or_else(|| format!("sluice-{name}")),
            name,
            topics: draft.topics,
            topic_patterns: draft.topic_patterns,
            kafka: draft.kafka,
            plugins,
            table: draft.table,
            outputs: draft.outputs.into_iter().collect(),
            dead_letter_table: draft.dead_letter_table,
            batch: draft.batch,
            limits: draft.limits,
            grants,
            lifecycle: draft.lifecycle,
            workers: draft.workers,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what can be checked without services; errors name the field and the fix.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            bail!("a pipeline has an empty name; give it a name");
        }
        if self.topics.is_empty() && self.topic_patterns.is_empty() {
            bail!(
                "pipeline {}: no topic given; pass --topic NAME (or --topic-pattern REGEX)",
                self.name
            );
        }
        for topic in &self.topics {
            check_topic_name(topic).map_err(|e| anyhow::anyhow!("pipeline {}: {e}", self.name))?;
        }
        self.kafka
            .validate()
            .map_err(|e| anyhow::anyhow!("pipeline {}: {e}", self.name))?;
        for pattern in &self.topic_patterns {
            if pattern.trim().is_empty() {
                bail!(
                    "pipeline {}: an empty topic pattern; give a regular expression such as 'events\\..*'",
                    self.name
                );
            }
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

/// Checks a topic name against Kafka's rules (1 to 249 of `[a-zA-Z0-9._-]`, not `.` or
/// `..`), so a name Kafka cannot hold fails at start with the rule, and a name that
/// librdkafka would take as a regular expression (it starts with `^`) is never one.
pub fn check_topic_name(topic: &str) -> Result<()> {
    if let Some(pattern) = topic.strip_prefix('^') {
        bail!(
            "topic `{topic}` starts with `^`, which would subscribe to a pattern; topic names cannot hold it. For a pattern, pass --topic-pattern '{pattern}' (topic_patterns in a config file)"
        );
    }
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        bail!(
            "`{topic}` is not a Kafka topic name; use 1 to 249 letters, digits, '.', '_' or '-' (and not `.` or `..`)"
        );
    }
    Ok(())
}

fn resolve(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() || base.as_os_str().is_empty() {
        path
    } else {
        base.join(path)
    }
}

/// When a batch closes; defaults favour throughput, flags override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchLimits {
    /// Close a batch at this many records.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Close a batch at this many payload bytes (guest memory never shrinks, so
    /// bytes are capped as well as rows).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Close a batch this many milliseconds after its first record arrived.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Most payload bytes read from Kafka and not yet written and committed, across
    /// the pipeline; past it every partition pauses until workers catch up, so a
    /// slow or absent ClickHouse cannot grow memory without bound.
    #[serde(default = "default_max_in_flight_bytes")]
    pub max_in_flight_bytes: usize,
}

fn default_max_in_flight_bytes() -> usize {
    256 << 20
}

fn default_max_rows() -> usize {
    10_000
}

fn default_max_bytes() -> usize {
    4 << 20
}

fn default_max_wait_ms() -> u64 {
    250
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_rows: default_max_rows(),
            max_bytes: default_max_bytes(),
            max_wait_ms: default_max_wait_ms(),
            max_in_flight_bytes: default_max_in_flight_bytes(),
        }
    }
}

/// How a pipeline treats new plugin versions and failing ones.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Swap in a plugin when its file changes (polled twice a second), after the same
    /// checks as an API swap.
    #[serde(default = "default_watch")]
    pub watch: bool,
    /// Batches after a swap during which the new version is on probation.
    #[serde(default = "default_probation_batches")]
    pub probation_batches: u32,
    /// Share of probation events that the new plugin rejected or trapped on above
    /// which the swap is rolled back by itself; 1.0 turns automatic rollback off.
    #[serde(default = "default_rollback_rate")]
    pub rollback_rate: f64,
    /// Consecutive batches with a plugin fault after which the pipeline is
    /// quarantined: its partitions pause until a swap or rollback.
    #[serde(default = "default_quarantine_after")]
    pub quarantine_after: u32,
}

fn default_watch() -> bool {
    true
}

fn default_probation_batches() -> u32 {
    20
}

fn default_rollback_rate() -> f64 {
    0.5
}

fn default_quarantine_after() -> u32 {
    5
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            watch: default_watch(),
            probation_batches: default_probation_batches(),
            rollback_rate: default_rollback_rate(),
            quarantine_after: default_quarantine_after(),
        }
    }
}

/// A pipelines file (`host --config sluice.toml`): one `[[pipeline]]` table each.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelinesFile {
    /// The pipelines to run in this process.
    pipeline: Vec<PipelineDraft>,
}

/// Reads a pipelines file; every error names the file, the line and what to change.
pub fn load_file(path: &Path) -> Result<Vec<PipelineConfig>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read config {}: {e}; check the path given to --config",
            path.display()
        )
    })?;
    parse_file(path, &text)
}

/// Parses the text of the pipelines file at `path` (which errors name and plugin
/// paths are relative to).
fn parse_file(path: &Path, text: &str) -> Result<Vec<PipelineConfig>> {
    let shown = path.display();
    let file: PipelinesFile = toml::from_str(text).map_err(|e| toml_error(&shown, text, &e))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for draft in file.pipeline {
        let config =
            PipelineConfig::from_draft(draft, base).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
        if !seen.insert(config.name.clone()) {
            bail!(
                "{shown}: two pipelines are named `{}`; give each a unique name",
                config.name
            );
        }
        out.push(config);
    }
    if out.is_empty() {
        bail!("{shown}: no [[pipeline]] tables; add one (see examples/)");
    }
    Ok(out)
}

/// A TOML parse error as one line: `file:line: message`.
fn toml_error(shown: &impl std::fmt::Display, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let message = e.message().replace('\n', " ");
    match line {
        Some(line) => anyhow::anyhow!("{shown}:{line}: {message}"),
        None => anyhow::anyhow!("{shown}: {message}"),
    }
}

/// Turns a plugin's TOML config into the JSON string its `init` receives.
pub fn plugin_config_json(value: &toml::Value) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// Reads a TOML file whose top-level table is one plugin's config (`host plugin test
/// --config`) and returns it as the JSON string the plugin's `init` receives.
pub fn load_plugin_config(path: &Path) -> Result<String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read plugin config {shown}: {e}; check the path given to --config")
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| toml_error(&shown, &text, &e))?;
    plugin_config_json(&toml::Value::Table(table))
        .map_err(|e| anyhow::anyhow!("{shown}: cannot turn the config into JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PipelineConfig {
        PipelineConfig {
            name: "p".into(),
            topics: vec!["tweets".into()],
            topic_patterns: vec![],
            kafka: KafkaSettings::default(),
            group: "g".into(),
            plugins: vec![],
            table: "tweet_sentiment".into(),
            outputs: vec![],
            dead_letter_table: default_dead_letter_table(),
            batch: BatchLimits::default(),
            limits: SandboxLimits::default(),
            grants: SandboxGrants::default(),
            lifecycle: LifecycleConfig::default(),
            workers: 2,
        }
    }

    #[test]
    fn accepts_a_plain_pipeline() {
        base().validate().expect("valid");
    }

    #[test]
    fn topic_names_follow_kafkas_rules_and_patterns_are_explicit() {
        for bad in ["", ".", "..", "a b", "é", "t/x", &"x".repeat(250)] {
            let err = check_topic_name(bad).expect_err(bad).to_string();
            assert!(err.contains("1 to 249"), "{err}");
        }
        let err = check_topic_name("^events.*")
            .expect_err("pattern")
            .to_string();
        assert!(err.contains("--topic-pattern 'events.*'"), "{err}");
        for good in ["tweets", "a.b_c-1", &"x".repeat(249)] {
            check_topic_name(good).expect(good);
        }
        let mut c = base();
        c.topics.clear();
        c.topic_patterns.push("events\\..*".into());
        c.validate().expect("a pattern alone is enough");
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

    fn write(text: &str) -> (tempdir::Dir, PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("sluice.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    mod tempdir {
        /// A throwaway directory removed on drop.
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "sluice-cfg-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).expect("mkdir");
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn parses_pipelines_with_plugin_config_tables() {
        let (dir, path) = write(
            r#"
[[pipeline]]
name = "clicks"
topics = ["clickstream"]
table = "clickstream_events"
outputs = { agg_minute = "clickstream_agg_minute_partials" }
batch = { max_rows = 500 }

[[pipeline.plugins]]
path = "validate.wasm"
config = { rules = [{ field = "price", min = 0 }] }
"#,
        );
        let p = &load_file(&path).expect("parses")[0];
        assert_eq!(p.group, "sluice-clicks");
        assert_eq!(p.batch.max_rows, 500);
        assert_eq!(p.batch.max_wait_ms, BatchLimits::default().max_wait_ms);
        assert_eq!(
            p.outputs,
            vec![(
                "agg_minute".to_owned(),
                "clickstream_agg_minute_partials".to_owned()
            )]
        );
        assert_eq!(p.plugins[0].path, dir.0.join("validate.wasm"));
        assert_eq!(
            p.plugins[0].config,
            r#"{"rules":[{"field":"price","min":0}]}"#
        );
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        let (_dir, path) = write("[[pipeline]]\nname = \"a\"\ntopics = [\"t\"]\ntabel = \"x\"\n");
        let err = load_file(&path).expect_err("typo").to_string();
        assert!(err.contains("sluice.toml:4:"), "{err}");
        assert!(err.contains("unknown field `tabel`"), "{err}");
        assert!(err.contains("`table`"), "names the right field: {err}");
        let (_dir, path) = write("[[pipeline]]\nname = \"a\"\ntopics = [\"t\"]\n");
        assert!(
            load_file(&path)
                .expect_err("missing")
                .to_string()
                .contains("missing field `table`")
        );
        let (_dir, path) = write(
            "[[pipeline]]\nname=\"a\"\ntopics=[\"t\"]\ntable=\"x\"\n[[pipeline]]\nname=\"a\"\ntopics=[\"t\"]\ntable=\"y\"\n",
        );
        assert!(
            load_file(&path)
                .expect_err("dup")
                .to_string()
                .contains("two pipelines are named `a`")
        );
        assert!(
            load_file(std::path::Path::new("/nope.toml"))
                .expect_err("missing file")
                .to_string()
                .contains("--config")
        );
    }

    #[test]
    fn plugin_config_files_become_json_and_errors_name_the_line() {
        let (_dir, path) = write("key = \"event_id\"\ncapacity = 10\n");
        let json = load_plugin_config(&path).expect("parses");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).expect("json"),
            serde_json::json!({"key": "event_id", "capacity": 10})
        );
        let (_dir, path) = write("key = \"event_id\"\ncapacity = \n");
        let err = load_plugin_config(&path).expect_err("bad toml").to_string();
        assert!(err.contains("sluice.toml:2:"), "{err}");
        let err = load_plugin_config(std::path::Path::new("/nope.toml"))
            .expect_err("missing")
            .to_string();
        assert!(
            err.contains("/nope.toml") && err.contains("--config"),
            "{err}"
        );
    }

    #[test]
    fn every_shipped_example_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let pipelines = load_file(&path).unwrap_or_else(|e| panic!("{e:#}"));
                assert!(!pipelines.is_empty());
                n += 1;
            }
        }
        assert!(n >= 4, "one example per workload, found {n}");
    }

    #[test]
    fn a_non_utf8_file_is_named_in_the_error() {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("sluice.toml");
        std::fs::write(&path, b"[[pipeline]]\nname = \"\xff\"\n").expect("write");
        let err = load_file(&path).expect_err("not UTF-8").to_string();
        assert!(
            err.contains("sluice.toml") && err.contains("--config"),
            "{err}"
        );
    }

    use proptest::prelude::*;

    const FUZZ_PATH: &str = "/cfg/fuzz.toml";

    /// Pieces of pipelines files, valid and not, to build and mutate text from.
    const TOKENS: &[&str] = &[
        "[[pipeline]]",
        "[[pipeline.plugins]]",
        "[pipeline.batch]",
        "[pipeline.limits]",
        "\n",
        "\n",
        " = ",
        "\"",
        "'",
        "[",
        "]",
        "{",
        "}",
        ",",
        "#",
        "name = \"p\"",
        "topics = [\"t\"]",
        "topics = []",
        "table = \"tweet_sentiment\"",
        "table = \"1 bad\"",
        "group = \"\"",
        "workers = 0",
        "workers = -1",
        "max_rows = 0",
        "max_bytes = 18446744073709551615",
        "deadline_ms = 99999999999999999999",
        "outputs = { \"\" = \"t\" }",
        "config = 1979-05-27T07:32:00Z",
        "config = nan",
        "config = { a = inf }",
        "path = \"/abs.wasm\"",
        "path = \"\"",
        "grants = { read_dir = \"d\" }",
        "lifecycle = { rollback_rate = -1.0 }",
        "é",
        "😀",
        "\u{0}",
        "\\u0000",
        "\r",
        "\t",
    ];

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(TOKENS).prop_map(str::to_owned),
            1 => "\\PC{0,8}",
        ]
    }

    /// One edit of a file's text, at a position scaled to its length.
    #[derive(Debug, Clone)]
    enum Edit {
        Insert(prop::sample::Index, String),
        Delete(prop::sample::Index, usize),
        Replace(prop::sample::Index, char),
        DuplicateLine(prop::sample::Index),
        DropLine(prop::sample::Index),
        Truncate(prop::sample::Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            3 => (any::<prop::sample::Index>(), token()).prop_map(|(i, t)| Edit::Insert(i, t)),
            2 => (any::<prop::sample::Index>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
            2 => (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| Edit::Replace(i, c)),
            1 => any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
            1 => any::<prop::sample::Index>().prop_map(Edit::DropLine),
            1 => any::<prop::sample::Index>().prop_map(Edit::Truncate),
        ]
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<&str> = text.split('\n').collect();
        match edit {
            Edit::Insert(at, t) => {
                let i = at.index(chars.len() + 1);
                chars.splice(i..i, t.chars());
            }
            Edit::Delete(at, n) => {
                let i = at.index(chars.len() + 1);
                chars.drain(i..(i + n).min(chars.len()));
            }
            Edit::Replace(at, c) if !chars.is_empty() => {
                let i = at.index(chars.len());
                chars[i] = *c;
            }
            Edit::DuplicateLine(at) => {
                let i = at.index(lines.len());
                lines.insert(i, lines[i]);
                return lines.join("\n");
            }
            Edit::DropLine(at) => {
                lines.remove(at.index(lines.len()));
                return lines.join("\n");
            }
            Edit::Truncate(at) => chars.truncate(at.index(chars.len() + 1)),
            Edit::Replace(..) => {}
        }
        chars.into_iter().collect()
    }

    fn shipped_examples() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let mut texts: Vec<String> = std::fs::read_dir(&dir)
            .expect("examples/ exists")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| std::fs::read_to_string(p).expect("example reads"))
            .collect();
        texts.sort();
        texts
    }

    /// The contract for any text: a checked pipeline list, or an error that starts
    /// with the file's path and, when the text is not TOML at all, its line.
    fn check(text: &str) -> Result<(), TestCaseError> {
        match parse_file(std::path::Path::new(FUZZ_PATH), text) {
            Ok(pipelines) => {
                prop_assert!(!pipelines.is_empty());
                for p in &pipelines {
                    prop_assert!(p.validate().is_ok());
                }
            }
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.starts_with(FUZZ_PATH), "{}", message);
                if toml::from_str::<toml::Table>(text).is_err() {
                    let lines = text.matches('\n').count() + 1;
                    let line = message[FUZZ_PATH.len()..]
                        .strip_prefix(':')
                        .and_then(|rest| rest.split(':').next())
                        .and_then(|n| n.parse::<usize>().ok());
                    prop_assert!(
                        line.is_some_and(|n| (1..=lines).contains(&n)),
                        "no line in {}",
                        message
                    );
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::sink::arb::CASES))]

        #[test]
        fn any_text_is_a_config_or_a_named_error(text in "\\PC{0,120}") {
            check(&text)?;
        }

        /// A plugin's own config file: JSON for its `init`, or an error naming the file.
        #[test]
        fn any_plugin_config_text_is_json_or_a_named_error(
            tokens in prop::collection::vec(token(), 0..20),
        ) {
            let (_dir, path) = write(&tokens.concat());
            match load_plugin_config(&path) {
                Ok(json) => prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok()),
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.starts_with(&path.display().to_string()), "{}", message);
                }
            }
        }

        #[test]
        fn token_soup_is_a_config_or_a_named_error(tokens in prop::collection::vec(token(), 0..40)) {
            check(&tokens.concat())?;
        }

        /// The shipped examples, each edited a few times: the edits that keep the file
        /// valid still load, the rest fail naming the file.
        #[test]
        fn mutated_examples_load_or_fail_by_name(
            which in any::<prop::sample::Index>(),
            edits in prop::collection::vec(edit(), 1..6),
        ) {
            let examples = shipped_examples();
            let mut text = examples[which.index(examples.len())].clone();
            for e in &edits {
                text = apply(&text, e);
            }
            check(&text)?;
        }
    }
}
