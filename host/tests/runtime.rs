//! Runtime tests: the real plugin components, loaded by the host's runtime, with no
//! services. Hostile inputs must leave the host healthy and the instance replaced.

mod common;

use std::path::Path;

use sluice_host::pipeline::chain::Chain;
use sluice_host::record::Batch;
use sluice_host::runtime::{
    Outcome, Plugin, PluginFault, PluginKind, Runtime, SandboxGrants, SandboxLimits,
    TransformInstance, TrapKind,
};

fn batch(payloads: &[&[u8]]) -> Batch {
    let mut b = Batch::new("t".into(), 0, 1);
    for (i, p) in payloads.iter().enumerate() {
        b.push(i as i64, 0, None, vec![], p);
    }
    b
}

fn instance(name: &str, limits: SandboxLimits) -> TransformInstance {
    let runtime = Runtime::new().expect("engine");
    let plugin = Plugin::load(&runtime, &common::plugin(name)).expect("plugin loads");
    assert_eq!(plugin.kind, PluginKind::Transform);
    TransformInstance::new(plugin, "", limits).expect("instantiates")
}

#[test]
fn sentiment_component_scores_and_rejects() {
    let mut sentiment = instance("sentiment", SandboxLimits::default());
    let out = sentiment
        .process(&batch(&[
            br#"{"id":"a","text":"I absolutely love this, it is wonderful!"}"#,
            br#"{"id":"b","text":"This is the worst, I hate it."}"#,
            b"not json",
        ]))
        .expect("no trap");
    assert_eq!(out.outcomes[0], Outcome::Emit(1));
    assert_eq!(out.outcomes[1], Outcome::Emit(1));
    assert!(matches!(&out.outcomes[2], Outcome::Reject { code, .. } if code == "bad-json"));
    let rows = String::from_utf8(out.data).expect("utf8");
    assert!(rows.contains(r#""sentiment":"positive""#), "{rows}");
    assert!(rows.contains(r#""sentiment":"negative""#), "{rows}");
}

#[test]
fn generator_is_refused_where_a_transform_is_needed() {
    let runtime = Runtime::new().expect("engine");
    let plugin = Plugin::load(&runtime, &common::plugin("generator")).expect("loads");
    assert_eq!(plugin.kind, PluginKind::Generator);
    let err = plugin
        .expect_kind(PluginKind::Transform)
        .expect_err("wrong world");
    assert!(
        err.to_string()
            .contains("is a generator plugin, but a transform plugin is needed"),
        "{err}"
    );
}

/// Defect found in review: an instance of a plugin of the wrong kind was reported as
/// `bad-output`, which blames the plugin's rows for a mistake in the host's wiring.
#[test]
fn a_plugin_of_the_wrong_kind_has_its_own_fault_code() {
    let runtime = Runtime::new().expect("engine");
    let generator = Plugin::load(&runtime, &common::plugin("generator")).expect("loads");
    let fault = TransformInstance::new(generator, "", SandboxLimits::default())
        .expect_err("a generator is no transform");
    assert_eq!(fault.code(), "wrong-kind");
    assert!(
        fault
            .to_string()
            .contains("is a generator plugin, but a transform plugin"),
        "{fault}"
    );
    let transform = Plugin::load(&runtime, &common::plugin("passthrough")).expect("loads");
    let fault =
        sluice_host::runtime::GeneratorInstance::new(&transform, "", 1, SandboxLimits::default())
            .err()
            .expect("a transform is no generator");
    assert_eq!(fault.code(), "wrong-kind");
}

#[test]
fn bad_files_get_one_line_errors_naming_the_file_and_fix() {
    let runtime = Runtime::new().expect("engine");
    let missing = Plugin::load(&runtime, Path::new("/nonexistent/x.wasm")).expect_err("missing");
    assert!(
        format!("{missing:#}").contains("/nonexistent/x.wasm"),
        "{missing:#}"
    );
    assert!(
        format!("{missing:#}").contains("make plugins"),
        "{missing:#}"
    );
    let not_wasm =
        Plugin::from_bytes(&runtime, Path::new("notes.txt"), b"hello world").expect_err("text");
    assert!(
        not_wasm
            .to_string()
            .contains("notes.txt is not a WebAssembly file"),
        "{not_wasm}"
    );
    let core = Plugin::from_bytes(&runtime, Path::new("core.wasm"), b"\0asm\x01\0\0\0")
        .expect_err("core module");
    assert!(
        core.to_string()
            .contains("core WebAssembly module, not a component"),
        "{core}"
    );
    for err in [missing, not_wasm, core] {
        assert!(!format!("{err:#}").contains('\n'), "one line: {err:#}");
    }
}

#[test]
fn init_refusal_is_reported_with_the_plugins_reason() {
    let runtime = Runtime::new().expect("engine");
    let plugin = Plugin::load(&runtime, &common::plugin("hostile")).expect("loads");
    let err =
        TransformInstance::new(plugin, "refuse", SandboxLimits::default()).expect_err("refuses");
    assert!(
        matches!(&err, PluginFault::Init { code, .. } if code == "bad-config"),
        "{err}"
    );
}

fn trap_kind(result: Result<sluice_host::runtime::PluginOutput, PluginFault>) -> TrapKind {
    match result {
        Err(PluginFault::Trap { kind, .. }) => kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn traps_are_classified_and_the_instance_recovers() {
    let limits = SandboxLimits {
        deadline_ms: 200,
        memory_bytes: 64 << 20,
        ..SandboxLimits::default()
    };
    let mut hostile = instance("hostile", limits);
    match hostile.process(&batch(&[b"panic"])) {
        Err(PluginFault::Trap {
            kind: TrapKind::Panic,
            message,
        }) => {
            assert!(
                message.contains("hostile plugin panicked on request"),
                "panic message captured: {message}"
            );
        }
        other => panic!("expected a panic trap, got {other:?}"),
    }
    assert_eq!(
        trap_kind(hostile.process(&batch(&[b"loop"]))),
        TrapKind::Deadline
    );
    assert_eq!(
        trap_kind(hostile.process(&batch(&[b"oom"]))),
        TrapKind::Memory
    );
    assert_eq!(
        trap_kind(hostile.process(&batch(&[b"stack"]))),
        TrapKind::Stack
    );
    // After every trap a fresh instance serves the next batch.
    let out = hostile.process(&batch(&[b"ok"])).expect("healthy again");
    assert_eq!(out.data, br#"{"echo":"ok"}"#);
}

#[test]
fn plugins_cannot_read_host_files() {
    let mut hostile = instance("hostile", SandboxLimits::default());
    let out = hostile.process(&batch(&[b"file"])).expect("no trap");
    let row = String::from_utf8(out.data).expect("utf8");
    assert!(row.contains("denied"), "{row}");
}

/// Issue: one trapping event dead-lettered its whole batch as `trap-panic`. Now only
/// the events that trap become dead letters; the rest are written as if the trap had
/// not happened, and the chain goes on.
#[test]
fn chain_isolates_the_event_that_traps_and_goes_on() {
    let mut chain = Chain::new(vec![instance("hostile", SandboxLimits::default())]);
    let run = chain.run(&batch(&[b"ok", b"panic", b"ok"]));
    let out = &run.output;
    assert_eq!(
        out.rows.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(out.dead.len(), 1);
    assert_eq!(
        (out.dead[0].offset, out.dead[0].code.as_str()),
        (1, "trap-panic")
    );
    assert_eq!(run.isolations, 1);
    assert!(
        run.faults.is_empty(),
        "one poison event is no fault of the stage"
    );
    let out = chain.run(&batch(&[b"ok", b"reject"])).output;
    assert_eq!(out.rows.len(), 1);
    assert_eq!(out.dead.len(), 1);
    assert_eq!(out.dead[0].code, "hostile");
    assert_eq!(out.dead[0].payload, b"reject");
}

fn poisoned(n: usize, poison: &[usize], mode: &[u8]) -> Batch {
    let mut b = Batch::new("t".into(), 0, 1);
    for i in 0..n {
        let p: &[u8] = if poison.contains(&i) { mode } else { b"ok" };
        b.push(i as i64, 0, None, vec![], p);
    }
    b
}

/// The issue's cases: one trapping event at the start, middle and end of a
/// 10,000-event batch, and three in one batch: exactly those are dead letters, and
/// the result is the same whatever the batch size.
#[test]
fn exactly_the_trapping_events_become_dead_letters_whatever_the_batch_size() {
    let mut chain = Chain::new(vec![instance("hostile", SandboxLimits::default())]);
    for poison in [vec![0], vec![5_000], vec![9_999], vec![17, 4_321, 9_000]] {
        let run = chain.run(&poisoned(10_000, &poison, b"panic"));
        let dead: Vec<i64> = run.output.dead.iter().map(|d| d.offset).collect();
        let want: Vec<i64> = poison.iter().map(|&p| p as i64).collect();
        assert_eq!(dead, want, "poison at {poison:?}");
        assert!(run.output.dead.iter().all(|d| d.code == "trap-panic"));
        assert_eq!(run.output.rows.len(), 10_000 - poison.len());
        assert!(run.faults.is_empty());
        // The same events in batches of 1,000: the same rows and dead letters.
        let whole = poisoned(10_000, &poison, b"panic");
        let mut rows = 0;
        let mut dead = Vec::new();
        for start in (0..10_000).step_by(1_000) {
            let out = chain.run(&whole.slice(start..start + 1_000)).output;
            rows += out.rows.len();
            dead.extend(out.dead.iter().map(|d| d.offset));
        }
        assert_eq!((rows, dead), (10_000 - poison.len(), want));
    }
}

/// A plugin that traps on everything is isolated within its budget, costs a bounded
/// number of calls, and still counts as a faulted stage for quarantine.
#[test]
fn a_plugin_that_traps_on_everything_is_dead_lettered_and_judged_faulted() {
    let mut chain = Chain::new(vec![instance("hostile", SandboxLimits::default())]);
    let all: Vec<usize> = (0..10_000).collect();
    let started = std::time::Instant::now();
    let run = chain.run(&poisoned(10_000, &all, b"panic"));
    assert_eq!(run.output.dead.len(), 10_000);
    assert!(run.output.rows.is_empty());
    assert_eq!(run.faults.len(), 1, "the stage is faulted");
    // Not a timing assertion on speed: a bound that only an unbounded isolation
    // (one call per event, 10,000 trapping instances) would break on any machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

/// An endless loop in one event of a big batch: each part gets its share of the
/// deadline, so halving down to the event costs about two deadlines, not one per level.
#[test]
fn an_endless_loop_in_one_event_is_found_within_a_few_deadlines() {
    let limits = SandboxLimits {
        deadline_ms: 1_000,
        ..SandboxLimits::default()
    };
    let mut chain = Chain::new(vec![instance("hostile", limits)]);
    let run = chain.run(&poisoned(2_000, &[1_234], b"loop"));
    let dead: Vec<(i64, &str)> = run
        .output
        .dead
        .iter()
        .map(|d| (d.offset, d.code.as_str()))
        .collect();
    assert_eq!(dead, vec![(1_234, "trap-deadline")]);
    assert_eq!(run.output.rows.len(), 1_999);
}

/// What re-running in parts does to plugin state: the instance that trapped is
/// replaced, so a stateful stage's own state restarts (its counter starts again after
/// each trap), while a stateful stage downstream sees the surviving events in one
/// call with its state intact (dedup still drops the repeat).
#[test]
fn isolation_restarts_the_trapping_stages_state_and_spares_the_next_stages() {
    let mut chain = Chain::new(vec![instance("hostile", SandboxLimits::default())]);
    let counts = |run: &sluice_host::pipeline::chain::ChainRun| -> Vec<u64> {
        run.output
            .rows
            .iter()
            .map(|r| {
                let v: serde_json::Value =
                    serde_json::from_slice(run.output.row_bytes(r)).expect("json");
                v["seen"].as_u64().expect("seen")
            })
            .collect()
    };
    // Eight events, the fifth traps: the first full call traps (state lost), then
    // 0..4 run on a fresh instance (1..4), 4..8 traps, 4..6 traps, 4 traps alone,
    // 5 on a fresh instance (1), then 6..8 on that same instance (2, 3).
    let payloads: Vec<&[u8]> = (0..8)
        .map(|i| if i == 4 { &b"panic"[..] } else { &b"count"[..] })
        .collect();
    let run = chain.run(&batch(&payloads));
    assert_eq!(counts(&run), vec![1, 2, 3, 4, 1, 2, 3]);
    let mut with_dedup = Chain::new(vec![
        instance("hostile", SandboxLimits::default()),
        instance_with("dedup", r#"{"key":"echo"}"#),
    ]);
    let run = with_dedup.run(&batch(&[b"a", b"panic", b"a", b"b"]));
    assert_eq!(run.output.dead.len(), 1, "only the trap");
    let echoes: Vec<String> = run
        .output
        .rows
        .iter()
        .map(|r| String::from_utf8_lossy(run.output.row_bytes(r)).into_owned())
        .collect();
    assert_eq!(
        echoes.len(),
        2,
        "dedup dropped the repeated `a`: {echoes:?}"
    );
}

fn instance_with(name: &str, config: &str) -> TransformInstance {
    let runtime = Runtime::new().expect("engine");
    let plugin = Plugin::load(&runtime, &common::plugin(name)).expect("plugin loads");
    TransformInstance::new(plugin, config, SandboxLimits::default()).expect("instantiates")
}

fn rows(out: &sluice_host::runtime::PluginOutput) -> Vec<String> {
    let mut at = 0;
    out.rows
        .iter()
        .map(|r| {
            let s = String::from_utf8_lossy(&out.data[at..at + r.len as usize]).into_owned();
            at += r.len as usize;
            s
        })
        .collect()
}

#[test]
fn validate_component_rejects_with_rule_codes() {
    let mut v = instance_with(
        "validate",
        r#"{"rules":[{"field":"price","required":true,"type":"number","min":0}]}"#,
    );
    let out = v
        .process(&batch(&[br#"{"price":3}"#, br#"{"price":-1}"#, br#"{}"#]))
        .expect("no trap");
    assert_eq!(out.outcomes[0], Outcome::Emit(1));
    assert!(matches!(&out.outcomes[1], Outcome::Reject { code, .. } if code == "out-of-range"));
    assert!(matches!(&out.outcomes[2], Outcome::Reject { code, .. } if code == "missing-field"));
    let err = TransformInstance::new(
        Plugin::load(
            &Runtime::new().expect("engine"),
            &common::plugin("validate"),
        )
        .expect("loads"),
        r#"{"rulez":[]}"#,
        SandboxLimits::default(),
    )
    .expect_err("bad config");
    assert!(
        matches!(&err, PluginFault::Init { code, .. } if code == "bad-config"),
        "{err}"
    );
}

#[test]
fn enrich_component_derives_fields() {
    let mut e = instance_with(
        "enrich",
        r#"{"revenue":{"price":"price","quantity":"quantity","into":"revenue"},"time_parts":{"from":"timestamp","hour":"hour","day_of_week":"day_of_week"}}"#,
    );
    let out = e
        .process(&batch(&[
            br#"{"price":2.5,"quantity":3,"timestamp":"2026-01-01 13:00:00"}"#,
        ]))
        .expect("no trap");
    let row: serde_json::Value = serde_json::from_str(&rows(&out)[0]).expect("json");
    assert_eq!(row["revenue"], 7.5);
    assert_eq!(row["hour"], 13);
    assert_eq!(row["day_of_week"], 4);
}

#[test]
fn dedup_component_drops_repeats_across_batches() {
    let mut d = instance_with("dedup", r#"{"key":"event_id"}"#);
    let first = d
        .process(&batch(&[br#"{"event_id":"a"}"#, br#"{"event_id":"a"}"#]))
        .expect("no trap");
    assert_eq!(first.outcomes, vec![Outcome::Emit(1), Outcome::Emit(0)]);
    let mut later = Batch::new("t".into(), 0, 1);
    later.push(5, 0, None, vec![], br#"{"event_id":"a"}"#);
    later.push(6, 0, None, vec![], br#"{"event_id":"b"}"#);
    let second = d.process(&later).expect("no trap");
    assert_eq!(second.outcomes, vec![Outcome::Emit(0), Outcome::Emit(1)]);
}

#[test]
fn aggregate_component_emits_batch_level_partials_by_target() {
    let mut a = instance_with(
        "aggregate",
        r#"{"time_field":"ts","windows":[{"size":"minute","target":"agg"}],"group_by":["url"],"measures":[{"name":"hits","op":"count"}],"passthrough":true}"#,
    );
    let out = a
        .process(&batch(&[
            br#"{"ts":"2026-01-01 00:00:05","url":"/a"}"#,
            br#"{"ts":"2026-01-01 00:00:50","url":"/a"}"#,
            br#"{"ts":"2026-01-01 00:01:01","url":"/b"}"#,
        ]))
        .expect("no trap");
    assert_eq!(
        out.outcomes,
        vec![Outcome::Emit(1), Outcome::Emit(1), Outcome::Emit(1)]
    );
    assert_eq!(
        out.rows.len(),
        5,
        "three passthrough rows, then two partials"
    );
    assert!(
        out.rows[3..]
            .iter()
            .all(|r| r.target.as_deref() == Some("agg"))
    );
    let partials = rows(&out)[3..].to_vec();
    assert!(
        partials[0].contains(r#""hits":2"#) && partials[0].contains("/a"),
        "{partials:?}"
    );
    assert!(
        partials[1].contains(r#""hits":1"#) && partials[1].contains("/b"),
        "{partials:?}"
    );
}

#[test]
fn chain_routes_targeted_rows_and_feeds_untargeted_ones_onward() {
    let chain_plugins = [
        instance_with(
            "validate",
            r#"{"rules":[{"field":"url","required":true,"type":"string"}]}"#,
        ),
        instance_with(
            "aggregate",
            r#"{"time_field":"ts","windows":[{"size":"minute","target":"agg"}],"group_by":["url"],"measures":[{"name":"hits","op":"count"}]}"#,
        ),
    ];
    let mut chain = Chain::new(chain_plugins.into_iter().collect());
    let out = chain
        .run(&batch(&[
            br#"{"ts":"2026-01-01 00:00:05","url":"/a"}"#,
            br#"{"ts":"2026-01-01 00:00:06"}"#,
        ]))
        .output;
    assert_eq!(out.dead.len(), 1);
    assert_eq!(out.dead[0].plugin.as_ref(), "validate");
    assert_eq!(out.dead[0].offset, 1);
    let targets: Vec<Option<&str>> = out.rows.iter().map(|r| r.target.as_deref()).collect();
    assert_eq!(targets, vec![None, Some("agg")]);
    assert_eq!(
        out.rows[1].offset, 0,
        "batch-level rows take the last offset the stage saw"
    );
}

#[test]
fn output_over_the_cap_is_a_fault_not_an_insert() {
    let mut hostile = instance(
        "hostile",
        SandboxLimits {
            max_output_bytes: 1 << 20,
            ..SandboxLimits::default()
        },
    );
    let fault = hostile
        .process(&batch(&[b"big"]))
        .expect_err("2 MiB of rows is over a 1 MiB cap");
    assert_eq!(fault.code(), "output-too-large");
    assert!(
        hostile.process(&batch(&[b"ok"])).is_ok(),
        "the next batch runs normally"
    );
}

fn with_grants(grants: &SandboxGrants) -> TransformInstance {
    let runtime = Runtime::new().expect("engine");
    let plugin = Plugin::load(&runtime, &common::plugin("hostile")).expect("plugin loads");
    TransformInstance::with_grants(plugin, "", SandboxLimits::default(), grants)
        .expect("instantiates")
}

fn one_row(instance: &mut TransformInstance, payload: &[u8]) -> serde_json::Value {
    let out = instance.process(&batch(&[payload])).expect("no trap");
    serde_json::from_slice(&out.data).expect("json row")
}

#[test]
fn clock_and_random_read_as_constants_unless_granted() {
    let mut denied = with_grants(&SandboxGrants::default());
    assert_eq!(one_row(&mut denied, b"clock")["clock"], 0, "frozen clock");
    let r1 = one_row(&mut denied, b"random");
    let r2 = one_row(&mut with_grants(&SandboxGrants::default()), b"random");
    assert_eq!(r1, r2, "no randomness: two instances agree");

    let granted = SandboxGrants {
        clock: true,
        random: true,
        read_dir: None,
    };
    let mut live = with_grants(&granted);
    let secs = one_row(&mut live, b"clock")["clock"]
        .as_u64()
        .expect("seconds");
    assert!(secs > 1_700_000_000, "a real clock: {secs}");
    let g1 = one_row(&mut live, b"random");
    let g2 = one_row(&mut with_grants(&granted), b"random");
    assert_ne!(g1, g2, "real randomness differs between instances");
}

#[test]
fn a_granted_directory_is_readable_and_nothing_else_is() {
    let dir = common::TempDir::new("sluice-grant");
    dir.write("hello.txt", b"hello from the host\n");
    let mut denied = with_grants(&SandboxGrants::default());
    let row = one_row(&mut denied, b"data");
    assert!(
        row["data"]
            .as_str()
            .is_some_and(|s| s.starts_with("denied")),
        "{row}"
    );
    let mut granted = with_grants(&SandboxGrants {
        read_dir: Some(dir.0.clone()),
        ..SandboxGrants::default()
    });
    assert_eq!(
        one_row(&mut granted, b"data")["data"],
        "hello from the host"
    );
    let row = one_row(&mut granted, b"file");
    assert!(
        row["file"]
            .as_str()
            .is_some_and(|s| s.starts_with("denied")),
        "{row}"
    );
}

#[test]
fn compiled_plugins_are_cached_and_a_bad_entry_is_recompiled() {
    let tmp = common::TempDir::new("sluice-cache");
    // A directory the cache must create itself.
    let dir = tmp.0.join("compiled");
    let path = common::plugin("passthrough");
    let runtime = Runtime::new()
        .expect("engine")
        .with_cache(Some(dir.clone()));
    let first = Plugin::load(&runtime, &path).expect("compiles");
    assert!(!first.cached, "nothing cached yet");
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("cache dir made")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(entries.len(), 1, "one entry: {entries:?}");
    assert!(
        entries[0]
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&*first.digest)),
        "keyed on the content hash"
    );
    let second = Plugin::load(&runtime, &path).expect("loads");
    assert!(second.cached, "second load comes from the cache");
    let mut inst = TransformInstance::new(second, "", SandboxLimits::default()).expect("runs");
    assert_eq!(inst.process(&batch(&[b"x"])).expect("ok").data, b"x");

    std::fs::write(&entries[0], b"not compiled code").expect("corrupt");
    let third = Plugin::load(&runtime, &path).expect("recompiles");
    assert!(!third.cached, "a corrupt entry is not trusted");
    let fourth = Plugin::load(&runtime, &path).expect("loads");
    assert!(fourth.cached, "and it was replaced by a good one");
}
