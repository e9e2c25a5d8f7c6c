//! Plugin lifecycle without services: swaps refused for every reason (the old
//! version keeps running), rollback, automatic rollback after a failed probation,
//! and quarantine after repeated faults. The real plugin components throughout.

mod common;

use std::sync::Arc;

use sluice_host::config::{BatchLimits, LifecycleConfig};
use sluice_host::config::{PipelineConfig, PluginSpec, default_dead_letter_table};
use sluice_host::pipeline::control::{PipelineControl, Refusal};
use sluice_host::record::Batch;
use sluice_host::runtime::{Plugin, Runtime, SandboxGrants, SandboxLimits};

fn batch(payloads: &[&[u8]]) -> Batch {
    let mut b = Batch::new("t".into(), 0, 1);
    for (i, p) in payloads.iter().enumerate() {
        b.push(i as i64, 0, None, vec![], p);
    }
    b
}

/// A pipeline whose one plugin starts as passthrough, with `config` for that slot.
fn control(config: &str, lifecycle: LifecycleConfig) -> Arc<PipelineControl> {
    let runtime = Runtime::new().expect("engine");
    let path = common::plugin("passthrough");
    let plugin = Plugin::load(&runtime, &path).expect("loads");
    let config = PipelineConfig {
        name: "p".into(),
        topics: vec!["t".into()],
        topic_patterns: vec![],
        kafka: Default::default(),
        group: "g".into(),
        plugins: vec![PluginSpec {
            path,
            config: config.into(),
        }],
        table: "t".into(),
        outputs: vec![],
        dead_letter_table: default_dead_letter_table(),
        batch: BatchLimits::default(),
        limits: SandboxLimits {
            deadline_ms: 200,
            ..SandboxLimits::default()
        },
        grants: SandboxGrants::default(),
        lifecycle,
        workers: 1,
    };
    PipelineControl::new(config, runtime, vec![plugin])
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::plugin(name)).expect("read plugin")
}

fn active_version(c: &PipelineControl) -> String {
    c.active().1[0].version.to_string()
}

fn refused(c: &PipelineControl, wasm: &[u8]) -> Refusal {
    let before = (c.generation(), active_version(c));
    let refusal = c.swap(0, None, wasm).expect_err("refused");
    assert_eq!(
        (c.generation(), active_version(c)),
        before,
        "a refused swap changes nothing"
    );
    refusal
}

#[test]
fn swaps_are_refused_for_every_reason_and_the_old_version_keeps_running() {
    let c = control("", LifecycleConfig::default());
    let passthrough = bytes("passthrough");

    let r = c.swap(3, None, &passthrough).expect_err("no such index");
    assert_eq!(r.code(), "no-such-index");

    let r = refused(&c, b"not wasm at all");
    assert_eq!(r.code(), "load");
    assert!(r.to_string().contains("not a WebAssembly file"), "{r}");

    let r = refused(&c, b"\0asm\x01\0\0\0");
    assert!(r.to_string().contains("core WebAssembly module"), "{r}");

    let r = refused(&c, &bytes("generator"));
    assert!(r.to_string().contains("generator plugin"), "{r}");

    let r = refused(&c, &common::with_wit_version(&passthrough, "0.2.0"));
    assert!(
        r.to_string().contains("sluice:plugin/transform@0.2.0")
            && r.to_string().contains("speaks sluice:plugin@0.1.0"),
        "{r}"
    );
}

#[test]
fn a_plugin_that_refuses_the_pipelines_config_is_refused() {
    let c = control("refuse", LifecycleConfig::default());
    let r = refused(&c, &bytes("hostile"));
    assert_eq!(r.code(), "init");
    assert!(r.to_string().contains("told to refuse its config"), "{r}");
}

#[test]
fn a_plugin_that_traps_on_the_canary_batch_is_refused() {
    let c = control("", LifecycleConfig::default());
    c.saw(&batch(&[b"ok", b"panic"]));
    let r = refused(&c, &bytes("hostile"));
    assert_eq!(r.code(), "canary");
    assert!(r.to_string().contains("panicked on request"), "{r}");
    c.saw(&batch(&[b"ok"]));
    c.swap(0, None, &bytes("hostile"))
        .expect("the same plugin passes a harmless canary");
    assert!(c.status().events.iter().any(|e| e.contains("refused")));
}

#[test]
fn rollback_walks_back_through_versions_and_then_refuses() {
    let c = control("", LifecycleConfig::default());
    let v0 = active_version(&c);
    let passthrough = bytes("passthrough");
    let v1 = c
        .swap(0, None, &common::variant(&passthrough, 1))
        .expect("swap 1")
        .to;
    let v2 = c
        .swap(0, None, &common::variant(&passthrough, 2))
        .expect("swap 2")
        .to;
    assert!(v0 != v1 && v1 != v2, "variants have their own content hash");
    assert_eq!(active_version(&c), v2);
    assert_eq!(c.status().plugins[0].previous, vec![v0.clone(), v1.clone()]);
    let g = c.generation();
    assert_eq!(c.rollback(0).expect("back to v1").to, v1);
    assert!(c.generation() > g, "a rollback is a new generation");
    assert_eq!(c.rollback(0).expect("back to v0").to, v0);
    assert_eq!(
        c.rollback(0).expect_err("nothing left").code(),
        "no-history"
    );
    assert_eq!(active_version(&c), v0);
}

#[test]
fn a_new_version_that_fails_its_probation_is_rolled_back_by_itself() {
    let c = control(
        "",
        LifecycleConfig {
            probation_batches: 5,
            rollback_rate: 0.5,
            ..LifecycleConfig::default()
        },
    );
    let v0 = active_version(&c);
    c.saw(&batch(&[b"ok"]));
    let report = c.swap(0, None, &bytes("hostile")).expect("passes canary");
    let (generation, plugins) = c.active();
    assert_eq!(generation, report.generation);
    let mut chain = c.build_chain(&plugins).expect("chain");
    // Mostly rejects: over the 50% threshold on the first batch.
    let out = chain.run(&batch(&[b"reject", b"reject", b"ok"]));
    c.report(generation, &out);
    assert_eq!(active_version(&c), v0, "rolled back to the old version");
    assert!(
        c.status()
            .events
            .iter()
            .any(|e| e.contains("automatic rollback")),
        "{:?}",
        c.status().events
    );
}

#[test]
fn a_version_that_passes_probation_stays() {
    let c = control(
        "",
        LifecycleConfig {
            probation_batches: 2,
            rollback_rate: 0.5,
            ..LifecycleConfig::default()
        },
    );
    let report = c.swap(0, None, &bytes("hostile")).expect("swap");
    let (generation, plugins) = c.active();
    let mut chain = c.build_chain(&plugins).expect("chain");
    for _ in 0..2 {
        c.report(generation, &chain.run(&batch(&[b"ok", b"ok", b"reject"])));
    }
    // Past probation, even a bad batch does not roll it back.
    c.report(generation, &chain.run(&batch(&[b"reject"])));
    assert_eq!(active_version(&c), report.to);
}

#[test]
fn repeated_faults_quarantine_the_pipeline_until_a_swap() {
    let c = control(
        "",
        LifecycleConfig {
            quarantine_after: 3,
            // Probation off (no rate exceeds 100%), or it would roll back first.
            rollback_rate: 1.0,
            ..LifecycleConfig::default()
        },
    );
    c.swap(0, None, &bytes("hostile")).expect("swap");
    let (generation, plugins) = c.active();
    let mut chain = c.build_chain(&plugins).expect("chain");
    for i in 0..3 {
        assert!(!c.quarantined(), "not before 3 faults ({i})");
        let out = chain.run(&batch(&[b"loop"]));
        assert_eq!(out.faults.len(), 1);
        assert_eq!(out.output.dead[0].code, "trap-deadline");
        c.report(generation, &out);
    }
    assert!(c.quarantined());
    let status = c.status();
    assert_eq!(status.state, "quarantined");
    assert!(
        status
            .quarantine
            .as_deref()
            .is_some_and(|q| q.contains("trap-deadline")),
        "{status:?}"
    );
    c.swap(0, None, &bytes("passthrough")).expect("swap heals");
    assert!(!c.quarantined());
    assert_eq!(c.status().state, "running");
}
