//! `host plugin test` and `host plugin new`, with no Kafka and no ClickHouse: every
//! shipped plugin against its golden files (a plugin without them fails the test), the
//! mismatch report and exit codes, one-line errors, and a freshly scaffolded plugin
//! built both with cargo-component and for wasm32-wasip2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TempDir;

/// Runs the host binary with `args`, logging off.
fn host(args: &[&Path]) -> Output {
    Command::new(common::host_bin())
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("host runs")
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The arguments that check one plugin against `plugins/NAME/golden/`: `input.jsonl`
/// (none for a generator, which makes 5 messages with the default seed), an optional
/// `config.toml`, and `expected.jsonl`.
fn golden_args(wasm: &Path, golden: &Path) -> Vec<PathBuf> {
    let mut args: Vec<PathBuf> = vec!["plugin".into(), "test".into(), "--plugin".into()];
    args.push(wasm.to_owned());
    let config = golden.join("config.toml");
    if config.exists() {
        args.extend(["--config".into(), config]);
    }
    let input = golden.join("input.jsonl");
    if input.exists() {
        args.extend(["--input".into(), input]);
    } else {
        args.extend(["--count".into(), "5".into()]);
    }
    args.extend(["--expect".into(), golden.join("expected.jsonl")]);
    args
}

#[test]
fn every_plugin_matches_its_golden_files() {
    let plugins = common::workspace().join("plugins");
    let mut names: Vec<String> = std::fs::read_dir(&plugins)
        .expect("plugins/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 8, "found only {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let golden = plugins.join(name).join("golden");
        if !golden.join("expected.jsonl").exists() {
            failures.push(format!(
                "{name}: no golden files; add plugins/{name}/golden/input.jsonl (and config.toml if it needs one), \
                 then write expected.jsonl with `host plugin test` and read it (README: Testing a plugin offline)"
            ));
            continue;
        }
        let wasm = common::plugin(name);
        let args = golden_args(&wasm, &golden);
        let args: Vec<&Path> = args.iter().map(PathBuf::as_path).collect();
        let out = host(&args);
        let stdout = text(&out.stdout);
        if out.status.code() != Some(0) || !stdout.starts_with("ok: ") {
            failures.push(format!(
                "{name}: exit {:?}\n{stdout}{}",
                out.status.code(),
                text(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_difference_exits_1_and_shows_line_expected_and_got() {
    let wasm = common::plugin("passthrough");
    let dir = TempDir::new("golden_diff");
    let input = dir.write("input.jsonl", b"{\"a\":1}\n{\"a\":2}\n");
    let expected = dir.write(
        "expected.jsonl",
        b"{\"offset\":0,\"row\":{\"a\":1}}\n{\"offset\":1,\"row\":{\"a\":3}}\n{\"offset\":2,\"row\":{}}\n",
    );
    let out = host(&[
        p("plugin"),
        p("test"),
        p("--plugin"),
        &wasm,
        p("--input"),
        &input,
        p("--expect"),
        &expected,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let want = format!(
        "line 2:\n  expected: {{\"offset\":1,\"row\":{{\"a\":3}}}}\n  got:      {{\"offset\":1,\"row\":{{\"a\":2}}}}\n\
         line 3:\n  expected: {{\"offset\":2,\"row\":{{}}}}\n  got:      (no line)\n\
         FAIL: 2 line(s) differ from {}; if the new output is right, rerun without --expect and save it there\n",
        expected.display()
    );
    assert_eq!(stdout, want);

    // Spacing and key order do not matter in a hand-written expected file.
    let loose = dir.write(
        "loose.jsonl",
        b"{ \"row\": {\"a\": 1}, \"offset\": 0 }\n\n{\"row\":{\"a\":2},\"offset\":1}\n",
    );
    let out = host(&[
        p("plugin"),
        p("test"),
        p("--plugin"),
        &wasm,
        p("--input"),
        &input,
        p("--expect"),
        &loose,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        format!("ok: 2 line(s) match {}\n", loose.display())
    );
}

#[test]
fn a_chain_runs_in_order_with_rejections_and_targets_by_offset() {
    let validate = common::plugin("validate");
    let aggregate = common::plugin("aggregate");
    let dir = TempDir::new("golden_chain");
    let input = dir.write(
        "input.jsonl",
        br#"{"kind":"a","n":1,"t":"2026-01-01 00:00:01"}
{"kind":"b","t":"2026-01-01 00:00:02"}

{"kind":"a","n":2,"t":"2026-01-01 00:00:03"}
"#,
    );
    let validate_config = dir.write(
        "validate.toml",
        br#"rules = [{ field = "n", required = true, type = "integer" }]"#,
    );
    let aggregate_config = dir.write(
        "aggregate.toml",
        br#"time_field = "t"
windows = [{ size = "minute", target = "agg" }]
group_by = ["kind"]
measures = [{ name = "total", op = "sum", field = "n" }]
passthrough = true
"#,
    );
    let out = host(&[
        p("plugin"),
        p("test"),
        p("--plugin"),
        &validate,
        p("--plugin"),
        &aggregate,
        p("--config"),
        &validate_config,
        p("--config"),
        &aggregate_config,
        p("--input"),
        &input,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        r#"{"offset":0,"row":{"kind":"a","n":1,"t":"2026-01-01 00:00:01"}}
{"offset":1,"reject":{"plugin":"validate","code":"missing-field","message":"field n: is missing (required: true)"}}
{"offset":3,"row":{"kind":"a","n":2,"t":"2026-01-01 00:00:03"}}
{"offset":3,"target":"agg","row":{"kind":"a","total":3,"window_end":"2026-01-01 00:01:00","window_start":"2026-01-01 00:00:00"}}
"#
    );
}

#[test]
fn a_generator_repeats_for_a_seed_and_changes_with_another() {
    let wasm = common::plugin("generator");
    let run = |seed: &str| {
        let out = host(&[
            p("plugin"),
            p("test"),
            p("--plugin"),
            &wasm,
            p("--count"),
            p("3"),
            p("--seed"),
            p(seed),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = run("7");
    assert_eq!(first.lines().count(), 3, "{first}");
    assert!(first.lines().all(|l| l.starts_with("{\"key\":")), "{first}");
    assert_eq!(first, run("7"));
    assert_ne!(first, run("8"));
    let out = host(&[p("plugin"), p("test"), p("--plugin"), &wasm]);
    assert_eq!(text(&out.stdout).lines().count(), 10, "default --count");
}

/// Asserts exit 2 and exactly one `error: ` line on stderr holding every needle.
fn assert_usage_error(out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from {stderr:?}"
        );
    }
}

#[test]
fn plugin_test_errors_are_one_line_naming_the_file_and_the_fix() {
    let passthrough = common::plugin("passthrough");
    let validate = common::plugin("validate");
    let generator = common::plugin("generator");
    let dir = TempDir::new("golden_errors");
    let input = dir.write("input.jsonl", b"{}\n");
    let core = dir.write("core.wasm", b"\0asm\x01\0\0\0");
    let bad_toml = dir.write("bad.toml", b"rules = [\nkey = \n");
    let test = |extra: &[&Path]| {
        let mut args = vec![p("plugin"), p("test")];
        args.extend_from_slice(extra);
        host(&args)
    };

    let out = test(&[p("--plugin"), p("/nope/x.wasm"), p("--input"), &input]);
    assert_usage_error(&out, &["/nope/x.wasm", "make plugins"]);
    let out = test(&[p("--plugin"), &core, p("--input"), &input]);
    assert_usage_error(&out, &["core.wasm", "not a component", "wasm32-wasip2"]);
    let out = test(&[
        p("--plugin"),
        &validate,
        p("--config"),
        &bad_toml,
        p("--input"),
        &input,
    ]);
    assert_usage_error(&out, &["bad.toml:"]);
    let out = test(&[p("--plugin"), &validate, p("--input"), &input]);
    assert_usage_error(&out, &["validate.wasm failed to start", "--config"]);
    let out = test(&[
        p("--plugin"),
        &passthrough,
        p("--input"),
        p("/nope/in.jsonl"),
    ]);
    assert_usage_error(&out, &["/nope/in.jsonl", "--input"]);
    let out = test(&[p("--plugin"), &passthrough]);
    assert_usage_error(&out, &["no input given", "--input"]);
    let out = test(&[p("--plugin"), &generator, p("--input"), &input]);
    assert_usage_error(&out, &["generator plugin", "drop --input"]);
    let out = test(&[p("--plugin"), &generator, p("--plugin"), &passthrough]);
    assert_usage_error(&out, &["generator.wasm", "only --plugin"]);
    let out = test(&[
        p("--plugin"),
        &passthrough,
        p("--config"),
        &bad_toml,
        p("--config"),
        &bad_toml,
        p("--input"),
        &input,
    ]);
    assert_usage_error(&out, &["2 --config files for 1 --plugin"]);
    let out = test(&[
        p("--plugin"),
        &passthrough,
        p("--input"),
        &input,
        p("--expect"),
        p("/nope/expected.jsonl"),
    ]);
    assert_usage_error(&out, &["/nope/expected.jsonl", "--expect"]);
    let out = test(&[p("--input"), &input]);
    assert_usage_error(&out, &["--plugin", "host --help"]);
}

#[test]
fn plugin_new_refuses_bad_names_existing_directories_and_a_wrong_sdk() {
    let dir = TempDir::new("scaffold_errors");
    let new = |extra: &[&Path]| {
        let mut args = vec![p("plugin"), p("new")];
        args.extend_from_slice(extra);
        host(&args)
    };
    let out = new(&[p("2fast"), p("--dir"), &dir.0]);
    assert_usage_error(&out, &["\"2fast\"", "start with a letter"]);
    let out = new(&[p("ok-name"), p("--dir"), &dir.0, p("--sdk"), &dir.0]);
    assert_usage_error(&out, &["not the Sluice SDK", "--sdk"]);
    assert!(!dir.0.join("ok-name").exists(), "nothing written on error");
    let out = new(&[p("ok-name"), p("--dir"), &dir.0]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.0.join("ok-name/src/lib.rs").exists());
    let out = new(&[p("ok-name"), p("--dir"), &dir.0]);
    assert_usage_error(&out, &["ok-name already exists"]);
}

/// cargo-component, as `scripts/component.sh install` puts it.
fn cargo_component_bin() -> PathBuf {
    let cache = std::env::var_os("SLUICE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/sluice")))
        .expect("HOME or SLUICE_CACHE is set");
    let bin = cache.join("cargo-component/bin");
    assert!(
        bin.join("cargo-component").exists(),
        "cargo-component is not installed in {}; run `scripts/component.sh install`",
        bin.display()
    );
    bin
}

/// Runs cargo in `dir` with `target` as its target dir and fails with its output.
fn cargo(dir: &Path, target: &Path, path: Option<&Path>, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target);
    if let Some(extra) = path {
        let old = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![extra.to_owned()];
        paths.extend(std::env::split_paths(&old));
        cmd.env("PATH", std::env::join_paths(paths).expect("PATH joins"));
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {} failed in {}:\n{}",
        args.join(" "),
        dir.display(),
        text(&out.stderr)
    );
}

#[test]
fn a_new_plugin_builds_both_ways_and_passes_its_own_golden_files() {
    let component_bin = cargo_component_bin();
    let dir = TempDir::new("scaffold");
    let out = host(&[p("plugin"), p("new"), p("my-upper"), p("--dir"), &dir.0]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let root = dir.0.join("my-upper");
    // The workspace's lock pins the same dependency versions the SDK is tested with.
    std::fs::copy(
        common::workspace().join("Cargo.lock"),
        root.join("Cargo.lock"),
    )
    .expect("copy Cargo.lock");
    // Its own target dir beside the workspace's, so repeated runs build incrementally.
    let target = common::target_dir().join("scaffold");
    cargo(&root, &target, None, &["test", "--release", "-j2"]);
    cargo(
        &root,
        &target,
        Some(&component_bin),
        &["component", "build", "--release", "-j2"],
    );
    cargo(
        &root,
        &target,
        None,
        &["build", "--release", "-j2", "--target", "wasm32-wasip2"],
    );
    for wasm in [
        target.join("wasm32-wasip1/release/my_upper.wasm"),
        target.join("wasm32-wasip2/release/my_upper.wasm"),
    ] {
        let out = host(&[
            p("plugin"),
            p("test"),
            p("--plugin"),
            &wasm,
            p("--input"),
            &root.join("events.jsonl"),
            p("--expect"),
            &root.join("expected.jsonl"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}{}",
            wasm.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}
