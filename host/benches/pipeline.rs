//! Pipeline bench: throughput of the sentiment chain against a passthrough run of the
//! same host, in one process run, plus the cost of crossing into WebAssembly.
//!
//!   make bench            (or: cargo bench -p sluice-host --bench pipeline)
//!
//! Part 1 (no services): plugin calls in-process, ns per event, WASM against native.
//! Part 2 (no services): plugin lifecycle. SDK against the raw ABI (the same identity
//! transform both ways), cold start with and without the compiled-plugin cache, and
//! the pause a swap puts on a worker at its batch boundary (p50/p99).
//! Part 3 (Kafka + ClickHouse up): end to end, events/s for no plugin, the passthrough
//! plugin and the sentiment plugin over the same pre-produced topic; then the cost of
//! metrics: the no-plugin pipeline with its HTTP listener and Prometheus recorder on
//! against the same run with `--http none` (no recorder: every handle a no-op),
//! alternated, best of each.
//! Env: BENCH_EVENTS (default 200000), BENCH_SKIP_E2E (skip part 3), BENCH_ONLY=metrics
//! (only the metrics on/off runs), BENCH_METRICS_ROUNDS (default 3).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_host::config::BatchLimits;
use sluice_host::config::{PipelineConfig, PluginSpec, default_dead_letter_table};
use sluice_host::pipeline::control::PipelineControl;
use sluice_host::record::Batch;
use sluice_host::runtime::{GeneratorInstance, Plugin, Runtime, SandboxLimits, TransformInstance};
use sluice_host::sink::clickhouse::ClickHouseConfig;
use sluice_host::telemetry::Stats;
use sluice_plugin::Transform;
use tokio_util::sync::CancellationToken;

#[path = "../tests/common/mod.rs"]
mod common;

/// A plugin's built component (rebuilt first if its source changed).
fn wasm(name: &str) -> PathBuf {
    common::plugin(name)
}

fn tweets(runtime: &Runtime, n: usize) -> Vec<Vec<u8>> {
    let plugin = Plugin::load(runtime, &wasm("generator")).expect("generator loads");
    let mut generator = GeneratorInstance::new(
        &plugin,
        r#"{"kind":"tweets"}"#,
        42,
        SandboxLimits::default(),
    )
    .expect("init");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let batch = generator
            .next_batch((n - out.len()).min(10_000) as u32)
            .expect("generates");
        out.extend(batch.records().map(|(_, value)| value.to_vec()));
    }
    out
}

fn batches(payloads: &[Vec<u8>], size: usize) -> Vec<Batch> {
    payloads
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            let mut b = Batch::new("bench".into(), 0, 1);
            for (j, p) in chunk.iter().enumerate() {
                b.push((i * size + j) as i64, 0, None, vec![], p);
            }
            b
        })
        .collect()
}

/// Best of three passes, in ns per event.
fn ns_per_event(events: usize, mut pass: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            pass();
            start.elapsed().as_nanos() as f64 / events as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn wasm_ns(runtime: &Runtime, name: &str, batches: &[Batch], events: usize) -> f64 {
    let plugin = Plugin::load(runtime, &wasm(name)).expect("loads");
    let mut instance = TransformInstance::new(plugin, "", SandboxLimits::default()).expect("init");
    ns_per_event(events, || {
        for b in batches {
            black_box(instance.process(b).expect("no trap"));
        }
    })
}

fn native_ns<T: Transform>(payloads: &[Vec<u8>], size: usize) -> f64 {
    let mut plugin = T::init("").expect("init");
    let chunks: Vec<Vec<&[u8]>> = payloads
        .chunks(size)
        .map(|c| c.iter().map(Vec::as_slice).collect())
        .collect();
    ns_per_event(payloads.len(), || {
        for c in &chunks {
            black_box(sluice_plugin::testing::run_raw(&mut plugin, c));
        }
    })
}

fn part1(runtime: &Runtime) {
    let n = 50_000;
    let payloads = tweets(runtime, n);
    let mean_len = payloads.iter().map(Vec::len).sum::<usize>() / n;
    println!(
        "\n== Part 1: plugin calls in-process, {n} generated tweets (mean {mean_len} bytes), best of 3"
    );
    println!("{:<44} {:>12} {:>10}", "case", "ns/event", "ratio");
    let by1000 = batches(&payloads, 1000);
    let by1 = batches(&payloads[..5_000], 1);
    let pass_native = native_ns::<passthrough::Passthrough>(&payloads, 1000);
    let pass_wasm = wasm_ns(runtime, "passthrough", &by1000, n);
    let pass_wasm_1 = wasm_ns(runtime, "passthrough", &by1, 5_000);
    let sent_native = native_ns::<sentiment::Sentiment>(&payloads, 1000);
    let sent_wasm = wasm_ns(runtime, "sentiment", &by1000, n);
    let row = |name: &str, v: f64, base: f64| println!("{name:<44} {v:>12.0} {:>10.2}", v / base);
    row(
        "passthrough native, batch 1000 (baseline)",
        pass_native,
        pass_native,
    );
    row("passthrough wasm, batch 1000", pass_wasm, pass_native);
    row(
        "passthrough wasm, batch 1 (one call/event)",
        pass_wasm_1,
        pass_native,
    );
    row("sentiment native, batch 1000", sent_native, pass_native);
    row("sentiment wasm, batch 1000", sent_wasm, pass_native);
    println!(
        "WASM crossing cost per event (passthrough wasm - native): {:.0} ns",
        pass_wasm - pass_native
    );
    println!(
        "per-event call / batch call: {:.2}x",
        pass_wasm_1 / pass_wasm
    );
    println!(
        "sentiment wasm / native: {:.2}x ({:.0} events/s per core in wasm)",
        sent_wasm / sent_native,
        1e9 / sent_wasm
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn part2(runtime: &Runtime) {
    let n = 50_000;
    let payloads = tweets(runtime, n);
    let by1000 = batches(&payloads, 1000);
    println!("\n== Part 2: plugin lifecycle, in-process");
    println!("{:<44} {:>12} {:>10}", "case", "ns/event", "ratio");
    let raw = wasm_ns(runtime, "passthrough_raw", &by1000, n);
    let sdk = wasm_ns(runtime, "passthrough", &by1000, n);
    println!(
        "{:<44} {raw:>12.0} {:>10.2}",
        "identity on the raw ABI (baseline)", 1.0
    );
    println!(
        "{:<44} {sdk:>12.0} {:>10.2}",
        "identity on the SDK",
        sdk / raw
    );
    println!("SDK overhead per event: {:.0} ns", sdk - raw);

    // Cold start: read, hash, compile (or load from cache), link: the sentiment
    // plugin, largest of the shipped ones. Best of 3 each.
    let path = wasm("sentiment");
    let cache = std::env::temp_dir().join(format!("sluice-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let best = |rt: &Runtime, expect_cached: bool| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                let p = Plugin::load(rt, &path).expect("loads");
                let took = start.elapsed().as_secs_f64() * 1e3;
                assert_eq!(p.cached, expect_cached);
                took
            })
            .fold(f64::INFINITY, f64::min)
    };
    let uncached = best(runtime, false);
    let cached_rt = runtime.clone().with_cache(Some(cache.clone()));
    Plugin::load(&cached_rt, &path).expect("fills the cache");
    let cached = best(&cached_rt, true);
    println!(
        "{:<44} {:>12} {:>10}",
        "cold start, sentiment.wasm", "ms", "ratio"
    );
    println!(
        "{:<44} {uncached:>12.1} {:>10.2}",
        "compile (no cache, baseline)", 1.0
    );
    println!(
        "{:<44} {cached:>12.1} {:>10.3}",
        "from the compiled-plugin cache",
        cached / uncached
    );
    let _ = std::fs::remove_dir_all(&cache);

    // Swap pause: a worker meets a new generation at its batch boundary and builds
    // the new chain (instantiate + init) before its next batch; that is the only
    // time a swap costs the data path. Compile and canary run off that path.
    let base = std::fs::read(&path).expect("read");
    let variants: Vec<Vec<u8>> = (0..2).map(|i| common::variant(&base, i)).collect();
    let plugin = Plugin::load(&cached_rt, &path).expect("loads");
    let config = PipelineConfig {
        name: "bench".into(),
        topics: vec!["bench".into()],
        topic_patterns: vec![],
        kafka: Default::default(),
        group: "bench".into(),
        plugins: vec![PluginSpec {
            path: path.clone(),
            config: String::new(),
        }],
        table: "t".into(),
        outputs: vec![],
        dead_letter_table: default_dead_letter_table(),
        batch: BatchLimits::default(),
        limits: SandboxLimits::default(),
        grants: Default::default(),
        lifecycle: Default::default(),
        workers: 1,
    };
    let control = PipelineControl::new(config, cached_rt.clone(), vec![plugin]);
    control.saw(&by1000[0]);
    let mut pauses = Vec::new();
    let mut swaps = Vec::new();
    for i in 0..100 {
        let start = Instant::now();
        control
            .swap(0, None, &variants[i % 2])
            .expect("swap accepted");
        swaps.push(start.elapsed().as_secs_f64() * 1e3);
        let (_, plugins) = control.active();
        let start = Instant::now();
        let chain = control.build_chain(&plugins).expect("chain");
        pauses.push(start.elapsed().as_secs_f64() * 1e3);
        black_box(chain);
    }
    pauses.sort_by(f64::total_cmp);
    swaps.sort_by(f64::total_cmp);
    let batch_ms = {
        let (_, plugins) = control.active();
        let mut chain = control.build_chain(&plugins).expect("chain");
        let start = Instant::now();
        for b in &by1000[..10] {
            black_box(chain.run(b));
        }
        start.elapsed().as_secs_f64() * 1e3 / 10.0
    };
    println!(
        "{:<44} {:>12} {:>10}",
        "swap, sentiment.wasm, 100 swaps", "ms", "ratio"
    );
    println!(
        "{:<44} {batch_ms:>12.3} {:>10.2}",
        "one 1000-event batch (baseline)", 1.0
    );
    for (name, v) in [
        (
            "worker pause at the boundary, p50",
            percentile(&pauses, 0.5),
        ),
        (
            "worker pause at the boundary, p99",
            percentile(&pauses, 0.99),
        ),
        (
            "whole swap call (load+canary), p50",
            percentile(&swaps, 0.5),
        ),
        (
            "whole swap call (load+canary), p99",
            percentile(&swaps, 0.99),
        ),
    ] {
        println!("{name:<44} {v:>12.3} {:>10.2}", v / batch_ms);
    }
}

async fn end_to_end(
    svc: &common::Services,
    topic: &str,
    n: u64,
    plugin: Option<&str>,
    label: &str,
    metrics: bool,
) -> f64 {
    let db = svc.fresh_database(&format!("bench_{label}")).await;
    let config = PipelineConfig {
        name: label.into(),
        topics: vec![topic.into()],
        topic_patterns: vec![],
        kafka: Default::default(),
        group: common::unique(&format!("bench-{label}")),
        plugins: plugin
            .map(|p| {
                vec![PluginSpec {
                    path: wasm(p),
                    config: String::new(),
                }]
            })
            .unwrap_or_default(),
        table: "tweet_sentiment".into(),
        outputs: vec![],
        dead_letter_table: default_dead_letter_table(),
        batch: BatchLimits::default(),
        limits: SandboxLimits::default(),
        grants: Default::default(),
        lifecycle: Default::default(),
        workers: 2,
    };
    let services = sluice_host::Services {
        kafka: sluice_host::source::settings::KafkaSettings {
            brokers: Some(svc.brokers.clone()),
            ..Default::default()
        },
        clickhouse: ClickHouseConfig::local(&svc.clickhouse_url, &db),
    };
    let stats = Arc::new(Stats::default());
    let shutdown = CancellationToken::new();
    let options = sluice_host::Options {
        // Port 0: a free one; the listener (and with it the recorder) is on.
        http: metrics.then(|| {
            sluice_host::http::HttpConfig::on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        }),
        ..sluice_host::Options::default()
    };
    let run = tokio::spawn(sluice_host::run(
        services,
        options,
        vec![config],
        stats.clone(),
        shutdown.clone(),
    ));
    // Time from the first consumed record to the last written one.
    let mut first = None;
    loop {
        let s = stats.snapshot();
        if first.is_none() && s.consumed > 0 {
            first = Some(Instant::now());
        }
        if s.processed >= n {
            break;
        }
        assert!(!run.is_finished(), "pipeline stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = first.map(|f| f.elapsed()).unwrap_or_default();
    shutdown.cancel();
    run.await.expect("join").expect("pipeline ok");
    let rows = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
    assert_eq!(rows, n, "{label}: every event written once");
    let s = stats.snapshot();
    if metrics || label.starts_with("metrics") {
        println!(
            "  ({label}: {} batches, {:.0} events and {:.2} ms each on average)",
            s.batches,
            n as f64 / s.batches.max(1) as f64,
            s.batch_micros as f64 / s.batches.max(1) as f64 / 1000.0
        );
    }
    n as f64 / took.as_secs_f64()
}

/// What recording one batch's metrics costs a worker and the reader, in ns: every
/// call a no-plugin batch makes (consumed, chain and insert times, rows per table,
/// commit, the reader's gauges), with the Prometheus recorder and with none.
fn metrics_per_batch() -> (f64, f64) {
    use sluice_host::telemetry::metrics::Metrics;
    use sluice_host::telemetry::pipeline::PipelineTelemetry;
    let mut out = [0.0; 2];
    for (i, metrics) in [Metrics::off(), Metrics::prometheus()].iter().enumerate() {
        let t = PipelineTelemetry::new(metrics, "bench", &["tweet_sentiment".into()], &[]);
        let rows = vec![("tweet_sentiment".to_owned(), 500u64)];
        let d = Duration::from_micros(1500);
        let n = 200_000u32;
        let started = Instant::now();
        for k in 0..n {
            t.consumed(500);
            t.chain_took(d);
            t.inserted(d, &rows, std::iter::empty(), "t", 0);
            t.committed(d, d * 3);
            t.flow(4096, 0);
            // A scrape now and then drains the histograms, as Prometheus would.
            if k % 20_000 == 0 {
                black_box(metrics.render());
            }
        }
        out[i] = started.elapsed().as_nanos() as f64 / f64::from(n);
    }
    (out[0], out[1])
}

async fn part3(runtime: &Runtime) {
    let n: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let svc = common::Services::require();
    let topic = svc.topic("bench_tweets", 3).await;
    let producer_config = sluice_host::generate::GenerateConfig {
        plugin: wasm("generator"),
        plugin_config: r#"{"kind":"tweets"}"#.into(),
        seed: 42,
        kafka: sluice_host::source::settings::KafkaSettings {
            brokers: Some(svc.brokers.clone()),
            ..Default::default()
        },
        topic: topic.clone(),
        partitions: 3,
        rate: 0,
        count: n,
        progress: false,
    };
    sluice_host::generate::run(runtime, producer_config, CancellationToken::new())
        .await
        .expect("produce");
    println!(
        "\n== Part 3: end to end, Kafka -> host -> ClickHouse, {n} tweets on 3 partitions, 2 workers"
    );
    println!("{:<44} {:>12} {:>10}", "case", "events/s", "ratio");
    if std::env::var("BENCH_ONLY").as_deref() != Ok("metrics") {
        let base = end_to_end(&svc, &topic, n, None, "none", false).await;
        let pass = end_to_end(&svc, &topic, n, Some("passthrough"), "passthrough", false).await;
        let sent = end_to_end(&svc, &topic, n, Some("sentiment"), "sentiment", false).await;
        for (name, v) in [
            ("no plugin (baseline)", base),
            ("passthrough.wasm", pass),
            ("sentiment.wasm", sent),
        ] {
            println!("{name:<44} {v:>12.0} {:>10.2}", v / base);
        }
    }
    let (off_ns, on_ns) = metrics_per_batch();
    println!(
        "{:<44} {:>12.0} {:>10}",
        "recording one batch, ns (no recorder)", off_ns, ""
    );
    println!(
        "{:<44} {:>12.0} {:>10}",
        "recording one batch, ns (Prometheus)", on_ns, ""
    );
    let rounds: usize = std::env::var("BENCH_METRICS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        // Alternate which goes first, so drift on a shared machine hits both.
        let first_on = i % 2 == 1;
        for metrics in [first_on, !first_on] {
            let label = if metrics { "metrics_on" } else { "metrics_off" };
            let v = end_to_end(&svc, &topic, n, None, label, metrics).await;
            println!(
                "{:<44} {v:>12.0}",
                format!(
                    "no plugin, metrics {}, round {}",
                    if metrics { "on" } else { "off" },
                    i + 1
                )
            );
            if metrics { on.push(v) } else { off.push(v) }
        }
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{:<44} {:>12.0} {:>10.3}",
        "no plugin, metrics on / off (best of each)",
        best(&on),
        best(&on) / best(&off)
    );
    println!(
        "{:<44} {:>12.0} {:>10.3}",
        "no plugin, metrics on / off (median)",
        median(&on),
        median(&on) / median(&off)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = Runtime::new().expect("engine");
    if std::env::var("BENCH_ONLY").as_deref() != Ok("metrics") {
        part1(&runtime);
        part2(&runtime);
    }
    if std::env::var("BENCH_SKIP_E2E").is_ok() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(part3(&runtime));
}
