//! Offline plugin runs behind `host plugin test`: events come from a JSON-lines file (or
//! from a generator plugin), go through the real plugin chain with no Kafka and no
//! ClickHouse, and come out as one JSON line per result, ready to compare with a golden
//! file.
//!
//! Output lines, with keys always in this order so that a run is byte-reproducible:
//! `{"offset":0,"row":{..}}`, `{"offset":0,"target":"agg","row":{..}}`,
//! `{"offset":3,"reject":{"plugin":"validate","code":"missing-field","message":".."}}`
//! and, for generators, `{"key":"..","value":{..}}`. A row's own keys are sorted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::config::load_plugin_config;
use crate::pipeline::chain::Chain;
use crate::record::{Batch, ChainOutput};
use crate::runtime::{
    GeneratorInstance, Plugin, PluginFault, PluginKind, Runtime, SandboxLimits, TransformInstance,
};

/// The topic offline events claim to come from; partition 0, no timestamp, no key.
pub const OFFLINE_TOPIC: &str = "offline";

/// How many differing lines a report shows before it only counts the rest.
pub const SHOWN_DIFFERENCES: usize = 20;

/// What `host plugin test` runs.
#[derive(Debug, Clone)]
pub struct OfflineRun {
    /// Plugins in chain order; a generator must be the only one.
    pub plugins: Vec<PathBuf>,
    /// TOML config files, one per plugin in the same order; a missing one or an empty
    /// path gives that plugin an empty config (its defaults).
    pub configs: Vec<PathBuf>,
    /// Event payloads, one per line; offsets are 0-based line numbers (transforms only).
    pub input: Option<PathBuf>,
    /// Messages to make (generators only).
    pub count: u64,
    /// Seed (generators only): the same seed and config always give the same messages.
    pub seed: u64,
    /// Limits for every plugin instance, as in production.
    pub limits: SandboxLimits,
}

/// Runs `spec` and returns its output lines in order.
pub fn run(runtime: &Runtime, spec: &OfflineRun) -> Result<Vec<String>> {
    if spec.plugins.is_empty() {
        bail!("no plugin given; pass --plugin FILE.wasm (repeat it to chain plugins)");
    }
    if spec.configs.len() > spec.plugins.len() {
        bail!(
            "{} --config files for {} --plugin files; give at most one config per plugin, in the same order",
            spec.configs.len(),
            spec.plugins.len()
        );
    }
    let mut plugins = Vec::with_capacity(spec.plugins.len());
    for (i, path) in spec.plugins.iter().enumerate() {
        let plugin = Plugin::load(runtime, path)?;
        let config_file = spec
            .configs
            .get(i)
            .filter(|c| !c.as_os_str().is_empty())
            .cloned();
        let config = match &config_file {
            Some(file) => load_plugin_config(file)?,
            None => String::new(),
        };
        plugins.push(Loaded {
            plugin,
            config,
            config_file,
        });
    }
    if let Some(generator) = plugins
        .iter()
        .find(|p| p.plugin.kind == PluginKind::Generator)
    {
        if plugins.len() > 1 {
            bail!(
                "{} is a generator plugin, which runs alone; pass it as the only --plugin",
                generator.plugin.path.display()
            );
        }
        let first = &plugins[0];
        if let Some(input) = &spec.input {
            bail!(
                "{} is a generator plugin and reads no --input ({}); drop --input and use --count and --seed",
                first.plugin.path.display(),
                input.display()
            );
        }
        return generate(first, spec);
    }
    let Some(input) = &spec.input else {
        bail!("no input given; pass --input FILE.jsonl with one event payload per line");
    };
    let batch = read_events(input)?;
    let mut stages = Vec::with_capacity(plugins.len());
    for loaded in &plugins {
        let instance = TransformInstance::new(loaded.plugin.clone(), &loaded.config, spec.limits)
            .map_err(|fault| start_error(loaded, &fault))?;
        stages.push(instance);
    }
    let mut chain = Chain::new(stages);
    if batch.events.is_empty() {
        return Ok(Vec::new());
    }
    Ok(render(&chain.run(&batch).output))
}

/// A loaded plugin with its config and where that came from, for messages.
struct Loaded {
    plugin: Arc<Plugin>,
    config: String,
    config_file: Option<PathBuf>,
}

/// A plugin that failed to start, as one line naming the plugin, its config and the fix.
fn start_error(loaded: &Loaded, fault: &PluginFault) -> anyhow::Error {
    let plugin = loaded.plugin.path.display();
    match (fault, &loaded.config_file) {
        (PluginFault::Init { .. }, Some(file)) => anyhow!(
            "{plugin} failed to start: {fault}; fix its config in {}",
            file.display()
        ),
        (PluginFault::Init { .. }, None) => anyhow!(
            "{plugin} failed to start: {fault}; give it a config with --config FILE.toml (one per --plugin, in order)"
        ),
        _ => anyhow!("{plugin} failed to start: {fault}"),
    }
}

/// Reads one event payload per line; blank lines are skipped but still counted, so an
/// event's offset is always its 0-based line number.
fn read_events(path: &Path) -> Result<Batch> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read input {}; check the path given to --input",
            path.display()
        )
    })?;
    let mut batch = Batch::new(OFFLINE_TOPIC.into(), 0, 0);
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        batch.push(n as i64, -1, None, Vec::new(), line);
    }
    Ok(batch)
}

/// Runs a generator for `spec.count` messages.
fn generate(loaded: &Loaded, spec: &OfflineRun) -> Result<Vec<String>> {
    let shown = loaded.plugin.path.display();
    let mut generator =
        GeneratorInstance::new(&loaded.plugin, &loaded.config, spec.seed, spec.limits)
            .map_err(|fault| start_error(loaded, &fault))?;
    let mut lines = Vec::new();
    while (lines.len() as u64) < spec.count {
        let want = (spec.count - lines.len() as u64).min(1_000) as u32;
        let batch = generator
            .next_batch(want)
            .with_context(|| format!("generator {shown} failed"))?;
        if batch.messages.is_empty() {
            break;
        }
        for (key, value) in batch.records() {
            if (lines.len() as u64) < spec.count {
                let key = match key {
                    Some(k) => json_string(&String::from_utf8_lossy(k)),
                    None => "null".to_owned(),
                };
                lines.push(format!("{{\"key\":{key},\"value\":{}}}", as_json(value)));
            }
        }
    }
    Ok(lines)
}

/// One line per row and dead letter, ordered by offset; within one offset, rows in the
/// order the chain produced them, then rejections.
fn render(out: &ChainOutput) -> Vec<String> {
    let mut lines: Vec<(i64, String)> = Vec::with_capacity(out.rows.len() + out.dead.len());
    for row in &out.rows {
        let mut line = format!("{{\"offset\":{}", row.offset);
        if let Some(target) = &row.target {
            line.push_str(",\"target\":");
            line.push_str(&json_string(target));
        }
        line.push_str(",\"row\":");
        line.push_str(&as_json(out.row_bytes(row)));
        line.push('}');
        lines.push((row.offset, line));
    }
    for dead in &out.dead {
        let line = format!(
            "{{\"offset\":{},\"reject\":{{\"plugin\":{},\"code\":{},\"message\":{}}}}}",
            dead.offset,
            json_string(&dead.plugin),
            json_string(&dead.code),
            json_string(&dead.message)
        );
        lines.push((dead.offset, line));
    }
    // Stable: rows were pushed before rejections, and each list is in production order.
    lines.sort_by_key(|(offset, _)| *offset);
    lines.into_iter().map(|(_, line)| line).collect()
}

/// Bytes as compact JSON: the parsed value when they are JSON, else a string.
fn as_json(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value.to_string(),
        Err(_) => json_string(&String::from_utf8_lossy(bytes)),
    }
}

fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// Reads a golden file of expected output lines.
pub fn load_expected(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read expected output {}; check the path given to --expect, or write it by running the same command without --expect",
            path.display()
        )
    })
}

/// One result line where the run and the expected file disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// 1-based result line (blank lines of the expected file are not counted).
    pub line: usize,
    /// The expected line, or none when the run produced more lines.
    pub expected: Option<String>,
    /// The line the run produced, or none when it produced fewer.
    pub got: Option<String>,
}

/// Compares output lines with the expected file's text. Lines that are JSON compare as
/// JSON values, so a hand-written expected file may space and order keys as it likes.
pub fn compare(expected: &str, got: &[String]) -> Vec<Difference> {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let n = expected.len().max(got.len());
    (0..n)
        .filter_map(|i| {
            let e = expected.get(i).copied();
            let g = got.get(i).map(String::as_str);
            let same = match (e, g) {
                (Some(e), Some(g)) => same_line(e, g),
                _ => false,
            };
            (!same).then(|| Difference {
                line: i + 1,
                expected: e.map(str::to_owned),
                got: g.map(str::to_owned),
            })
        })
        .collect()
}

fn same_line(expected: &str, got: &str) -> bool {
    match (
        serde_json::from_str::<Value>(expected),
        serde_json::from_str::<Value>(got),
    ) {
        (Ok(e), Ok(g)) => e == g,
        _ => expected == got.trim(),
    }
}

/// The report for a mismatch: each shown difference as three lines, then a summary.
pub fn describe(differences: &[Difference], expected_file: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in differences.iter().take(SHOWN_DIFFERENCES) {
        out.push(format!("line {}:", d.line));
        out.push(format!(
            "  expected: {}",
            d.expected.as_deref().unwrap_or("(no line)")
        ));
        out.push(format!(
            "  got:      {}",
            d.got.as_deref().unwrap_or("(no line)")
        ));
    }
    if differences.len() > SHOWN_DIFFERENCES {
        out.push(format!(
            "... and {} more differing lines",
            differences.len() - SHOWN_DIFFERENCES
        ));
    }
    out.push(format!(
        "FAIL: {} line(s) differ from {}; if the new output is right, rerun without --expect and save it there",
        differences.len(),
        expected_file.display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{DeadLetter, OutRow};

    #[test]
    fn renders_rows_targets_and_rejections_in_offset_order_with_fixed_keys() {
        let mut out = ChainOutput::default();
        let mut push = |offset: i64, target: Option<&str>, bytes: &[u8]| {
            let start = out.data.len();
            out.data.extend_from_slice(bytes);
            out.rows.push(OutRow {
                offset,
                target: target.map(str::to_owned),
                range: start..out.data.len(),
            });
        };
        push(0, None, br#"{"b": 1, "a": "x"}"#);
        push(2, Some("agg"), br#"{"n":2}"#);
        push(0, None, b"not json");
        out.dead.push(DeadLetter {
            offset: 1,
            plugin: "validate".into(),
            code: "missing-field".into(),
            message: "field \"x\" is missing".into(),
            payload: b"{}".to_vec(),
        });
        assert_eq!(
            render(&out),
            vec![
                r#"{"offset":0,"row":{"a":"x","b":1}}"#,
                r#"{"offset":0,"row":"not json"}"#,
                r#"{"offset":1,"reject":{"plugin":"validate","code":"missing-field","message":"field \"x\" is missing"}}"#,
                r#"{"offset":2,"target":"agg","row":{"n":2}}"#,
            ]
        );
    }

    #[test]
    fn compares_json_by_value_and_reports_missing_and_extra_lines() {
        let got = vec![r#"{"offset":0,"row":{"a":1}}"#.to_owned(), "x".to_owned()];
        assert!(compare("{ \"row\": {\"a\": 1}, \"offset\": 0 }\n\nx\n", &got).is_empty());
        let d = compare("{\"offset\":0,\"row\":{\"a\":2}}\n", &got);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 1);
        assert_eq!(d[1].expected, None);
        assert_eq!(d[1].got.as_deref(), Some("x"));
        let d = compare("x\nx\nx\n", &got);
        assert_eq!(
            d.iter().map(|d| d.line).collect::<Vec<_>>(),
            vec![1, 3],
            "{d:?}"
        );
        let report = describe(&d, Path::new("e.jsonl"));
        assert_eq!(report[0], "line 1:");
        assert_eq!(report[1], "  expected: x");
        assert_eq!(report[2], r#"  got:      {"offset":0,"row":{"a":1}}"#);
        assert_eq!(report[5], "  got:      (no line)");
        assert!(
            report
                .last()
                .is_some_and(|l| l.starts_with("FAIL: 2 line(s) differ from e.jsonl"))
        );
    }

    #[test]
    fn events_are_numbered_by_line_and_blank_lines_skipped() {
        let path =
            std::env::temp_dir().join(format!("sluice-offline-{}.jsonl", std::process::id()));
        std::fs::write(&path, b"{\"a\":1}\r\n\n  \nnot json\n").expect("write");
        let batch = read_events(&path).expect("reads");
        let _ = std::fs::remove_file(&path);
        let offsets: Vec<i64> = batch.events.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![0, 3]);
        assert_eq!(batch.payloads, b"{\"a\":1}not json");
        let err = read_events(Path::new("/nope/events.jsonl"))
            .expect_err("missing")
            .to_string();
        assert!(
            err.contains("/nope/events.jsonl") && err.contains("--input"),
            "{err}"
        );
    }
}
