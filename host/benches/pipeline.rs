//! Pipeline bench: throughput of the sentiment chain against a passthrough run of the
//! same host, in one process run, plus the cost of crossing into WebAssembly.
//!
//!   make bench            (or: cargo bench -p sluice-host --bench pipeline)
//!
//! Part 1 (no services): plugin calls in-process, ns per event, WASM against native.
//! Part 2 (Kafka + ClickHouse up): end to end, events/s for no plugin, the passthrough
//! plugin and the sentiment plugin over the same pre-produced topic.
//! Env: BENCH_EVENTS (default 200000).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_host::config::{PipelineConfig, PluginSpec, default_dead_letter_table};
use sluice_host::pipeline::batch::{Batch, BatchLimits};
use sluice_host::runtime::{GeneratorInstance, Plugin, Runtime, SandboxLimits, TransformInstance};
use sluice_host::sink::clickhouse::ClickHouseConfig;
use sluice_host::telemetry::Stats;
use sluice_plugin::Transform;
use tokio_util::sync::CancellationToken;

fn wasm(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root
        .join("target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} missing; run `make plugins`",
        path.display()
    );
    path
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
        let mut at = 0;
        for (_, len) in &batch.messages {
            out.push(batch.values[at..at + *len as usize].to_vec());
            at += *len as usize;
        }
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

async fn fresh_database(client: &clickhouse::Client, name: &str) {
    client
        .query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute()
        .await
        .expect("drop");
    client
        .query(&format!("CREATE DATABASE {name}"))
        .execute()
        .await
        .expect("create");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sql");
    let mut files: Vec<_> = std::fs::read_dir(root)
        .expect("sql/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for f in files {
        let ddl = std::fs::read_to_string(&f).expect("read");
        client.query(&format!("USE {name}")).execute().await.ok();
        let scoped = clickhouse::Client::default()
            .with_url(url())
            .with_database(name)
            .with_validation(false);
        scoped.query(&ddl).execute().await.expect("ddl");
    }
}

fn url() -> String {
    std::env::var("SLUICE_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

fn brokers() -> String {
    std::env::var("SLUICE_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

async fn end_to_end(topic: &str, n: u64, plugin: Option<&str>, label: &str) -> f64 {
    let db = format!("bench_{label}");
    let admin = clickhouse::Client::default()
        .with_url(url())
        .with_validation(false);
    fresh_database(&admin, &db).await;
    let config = PipelineConfig {
        name: label.into(),
        topics: vec![topic.into()],
        group: format!("bench-{label}-{}", std::process::id()),
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
        workers: 2,
    };
    let services = sluice_host::Services {
        brokers: brokers(),
        clickhouse: ClickHouseConfig {
            url: url(),
            database: db.clone(),
            user: "default".into(),
            password: String::new(),
        },
    };
    let stats = Arc::new(Stats::default());
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(sluice_host::run(
        services,
        vec![config],
        stats.clone(),
        shutdown.clone(),
        Duration::from_secs(10),
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
    let rows: u64 = admin
        .query(&format!("SELECT count() FROM {db}.tweet_sentiment"))
        .fetch_one()
        .await
        .expect("count");
    assert_eq!(rows, n, "{label}: every event written once");
    n as f64 / took.as_secs_f64()
}

async fn part2(runtime: &Runtime) {
    let n: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let topic = format!("bench-tweets-{}", std::process::id());
    sluice_host::generate::ensure_topic(&brokers(), &topic, 3)
        .await
        .expect("Kafka up? run scripts/services.sh up");
    let producer_config = sluice_host::generate::GenerateConfig {
        plugin: wasm("generator"),
        plugin_config: r#"{"kind":"tweets"}"#.into(),
        seed: 42,
        brokers: brokers(),
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
        "\n== Part 2: end to end, Kafka -> host -> ClickHouse, {n} tweets on 3 partitions, 2 workers"
    );
    println!("{:<44} {:>12} {:>10}", "case", "events/s", "ratio");
    let base = end_to_end(&topic, n, None, "none").await;
    let pass = end_to_end(&topic, n, Some("passthrough"), "passthrough").await;
    let sent = end_to_end(&topic, n, Some("sentiment"), "sentiment").await;
    for (name, v) in [
        ("no plugin (baseline)", base),
        ("passthrough.wasm", pass),
        ("sentiment.wasm", sent),
    ] {
        println!("{name:<44} {v:>12.0} {:>10.2}", v / base);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = Runtime::new().expect("engine");
    part1(&runtime);
    if std::env::var("BENCH_SKIP_E2E").is_ok() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(part2(&runtime));
}
