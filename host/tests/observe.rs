//! The host's HTTP listener on real services: `/metrics` carries every series of
//! `docs/metrics.md` with its type, labels and help; `/healthz` and `/readyz` follow
//! the group join, quarantine and failure; `/api/pipelines` has the shape
//! `tests/browser/fake_api.py` serves (the page's contract) with counters that rise;
//! `/api/answers` answers the workload's queries; `host status` prints what the API
//! says; the default port gives way when taken, an explicit one fails naming its flag.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_host::admin::client;

use common::{Services, TempDir, free_port, wait_for, workspace};

/// One plain HTTP/1.0 GET: status and body ("" and 0 when nothing answers).
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    if write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// (name, type, labels, help) of every row of the table in docs/metrics.md.
fn documented() -> Vec<(String, String, BTreeSet<String>, String)> {
    let doc =
        std::fs::read_to_string(workspace().join("docs/metrics.md")).expect("docs/metrics.md");
    let rows: Vec<_> = sluice_host::telemetry::metrics::documented_rows(&doc)
        .into_iter()
        .map(|(name, kind, labels, help)| (name, kind, labels.into_iter().collect(), help))
        .collect();
    assert!(
        rows.len() >= 10,
        "the metrics table of docs/metrics.md did not parse"
    );
    rows
}

/// The value of the one sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Checks a scrape against the doc: every family with its type and help, and every
/// sample with exactly the documented labels. Returns the problems found.
fn check_scrape(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut types = BTreeMap::new();
    let mut helps = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((n, t)) = rest.split_once(' ') {
                types.insert(n.to_owned(), t.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("# HELP ")
            && let Some((n, h)) = rest.split_once(' ')
        {
            helps.insert(n.to_owned(), h.to_owned());
        }
    }
    let doc = documented();
    for (name, kind, labels, help) in &doc {
        match types.get(name) {
            None => problems.push(format!("{name}: documented, not served")),
            Some(t) if t != kind => {
                problems.push(format!("{name}: served as {t}, documented as {kind}"))
            }
            _ => {}
        }
        if helps.get(name) != Some(help) {
            problems.push(format!(
                "{name}: help {:?}, documented {help:?}",
                helps.get(name)
            ));
        }
        for line in text.lines().filter(|l| {
            l.starts_with(&format!("{name}{{"))
                || ["_bucket{", "_sum{", "_count{"]
                    .iter()
                    .any(|s| l.starts_with(&format!("{name}{s}")))
        }) {
            let inside = line
                .split_once('{')
                .and_then(|(_, r)| r.split_once('}'))
                .map_or("", |(l, _)| l);
            let got: BTreeSet<String> = inside
                .split(',')
                .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_owned()))
                .filter(|k| k != "le")
                .collect();
            if &got != labels {
                problems.push(format!("{name}: sample with labels {got:?}: {line}"));
            }
        }
    }
    for name in types.keys() {
        if !doc.iter().any(|(n, ..)| n == name) {
            problems.push(format!("{name}: served, not documented"));
        }
    }
    problems
}

/// Keys of `fake` missing from `real`, recursively (the first element of arrays),
/// and values whose JSON type differs where both are non-null.
fn shape_differences(path: &str, fake: &Value, real: &Value, out: &mut Vec<String>) {
    match (fake, real) {
        (Value::Object(f), Value::Object(r)) => {
            for (k, fv) in f {
                match r.get(k) {
                    None => out.push(format!("{path}.{k}: missing")),
                    Some(rv) => shape_differences(&format!("{path}.{k}"), fv, rv, out),
                }
            }
        }
        (Value::Array(f), Value::Array(r)) => {
            if let (Some(fv), Some(rv)) = (f.first(), r.first()) {
                shape_differences(&format!("{path}[0]"), fv, rv, out);
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (f, r) => out.push(format!("{path}: fake has {f}, host has {r}")),
    }
}

/// The fake API's answer at `path`, from tests/browser/fake_api.py run once.
fn fake(path: &str) -> Value {
    let dir = TempDir::new("fake-api");
    let port_file = dir.0.join("port");
    let mut child = Command::new("python3")
        .arg(workspace().join("tests/browser/fake_api.py"))
        .args(["--port", "0", "--port-file"])
        .arg(&port_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs tests/browser/fake_api.py");
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file)
            && !p.trim().is_empty()
        {
            break p.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "fake_api.py did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let value = get_json(&format!("127.0.0.1:{port}"), path);
    let _ = child.kill();
    let _ = child.wait();
    value
}

fn pipeline<'a>(api: &'a Value, name: &str) -> &'a Value {
    api["pipelines"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("pipeline {name} missing from {api}"))
}

struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(dir: &TempDir, pipelines: &str) -> std::path::PathBuf {
    dir.write("sluice.toml", pipelines.as_bytes())
}

fn hostile_pipeline(topic: &str) -> String {
    format!(
        r#"
[[pipeline]]
name = "bad"
group = "{group}"
topics = ["{topic}"]
table = "tweet_sentiment"
batch = {{ max_rows = 10, max_wait_ms = 50 }}
lifecycle = {{ quarantine_after = 3 }}
[[pipeline.plugins]]
path = "{}"
"#,
        common::plugin("hostile").display(),
        group = common::unique("bad"),
    )
}

fn tweets_pipeline(topic: &str) -> String {
    format!(
        r#"
[[pipeline]]
name = "tweets"
group = "{group}"
topics = ["{topic}"]
table = "tweet_sentiment"
batch = {{ max_rows = 200, max_wait_ms = 100 }}
[[pipeline.plugins]]
path = "{}"
"#,
        common::plugin("sentiment").display(),
        group = common::unique("tweets"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_api_and_answers_match_their_contracts_and_move() {
    let svc = Services::require();
    let db = svc.fresh_database("observe").await;
    let good = svc.topic("observe_good", 3).await;
    let bad = svc.topic("observe_bad", 1).await;
    let poison: Vec<(Option<Vec<u8>>, Vec<u8>)> =
        (0..50).map(|_| (None, b"panic".to_vec())).collect();
    common::produce(&svc.brokers, &bad, &poison).await;
    common::generate(&svc, &good, r#"{"kind":"tweets"}"#, 500, 1, 0);
    let dir = TempDir::new("observe");
    let path = config(
        &dir,
        &format!(
            "{}{}\n[[pipeline]]\nname = \"broken\"\ngroup = \"{}\"\ntopics = [\"{good}\"]\ntable = \"no_such_table\"\n",
            tweets_pipeline(&good),
            hostile_pipeline(&bad),
            common::unique("broken"),
        ),
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _host = Host(
        svc.host(&db)
            .arg("--config")
            .arg(&path)
            // --admin: the swap below runs without a token, on loopback.
            .args(["--http", &addr, "--admin", &addr])
            .stderr(Stdio::null())
            .spawn()
            .expect("host starts"),
    );
    // Traffic while we watch: 4,000 tweets at 400/s.
    let feeder = {
        let (svc, good) = (svc.clone(), good.clone());
        std::thread::spawn(move || {
            common::generate(&svc, &good, r#"{"kind":"tweets"}"#, 4000, 2, 400)
        })
    };

    wait_for("the listener", Duration::from_secs(60), || async {
        let (s, b) = get(&addr, "/healthz");
        (s == 200, format!("{s} {b}"))
    })
    .await;
    assert_eq!(get(&addr, "/healthz"), (200, "ok\n".to_owned()));

    wait_for(
        "bad quarantined and tweets consuming",
        Duration::from_secs(60),
        || async {
            let (s, b) = get(&addr, "/api/pipelines");
            let api: Value = serde_json::from_str(&b).unwrap_or(Value::Null);
            let done = s == 200
                && pipeline(&api, "bad")["state"] == "quarantined"
                && pipeline(&api, "tweets")["totals"]["consumed"].as_u64() > Some(500)
                && pipeline(&api, "broken")["state"] == "failed";
            (done, b.chars().take(400).collect())
        },
    )
    .await;

    // /readyz: not ready, with every reason.
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("pipeline bad: quarantined: "), "{body}");
    assert!(body.contains("pipeline broken: failed: "), "{body}");
    assert!(body.contains("no_such_table"), "{body}");
    assert!(!body.contains("pipeline tweets"), "tweets is fine: {body}");

    // /metrics against the doc, then counters rising between two scrapes.
    let (status, first) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    let problems = check_scrape(&first);
    assert!(
        problems.is_empty(),
        "scrape against docs/metrics.md:\n{}",
        problems.join("\n")
    );
    let consumed = |t: &str| {
        sample(
            t,
            "sluice_records_consumed_total",
            &[("pipeline", "tweets")],
        )
    };
    let before = consumed(&first).expect("consumed series");
    assert_eq!(
        sample(
            &first,
            "sluice_pipeline_state",
            &[("pipeline", "bad"), ("state", "quarantined")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &first,
            "sluice_pipeline_state",
            &[("pipeline", "broken"), ("state", "failed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &first,
            "sluice_pipeline_state",
            &[("pipeline", "tweets"), ("state", "running")]
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &first,
            "sluice_plugin_traps_total",
            &[("pipeline", "bad"), ("kind", "trap-panic")]
        ) > Some(0.0),
        "traps counted"
    );
    assert!(
        sample(
            &first,
            "sluice_dead_letters_total",
            &[("pipeline", "bad"), ("code", "trap-panic")]
        ) > Some(0.0),
        "dead letters by code"
    );
    assert_eq!(
        sample(
            &first,
            "sluice_insert_errors_total",
            &[("pipeline", "broken"), ("class", "fatal")]
        ),
        Some(0.0),
        "a failed pipeline's counters exist at 0"
    );
    let mut after = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = consumed(&get(&addr, "/metrics").1).unwrap_or(before);
        if after > before {
            break;
        }
    }
    assert!(after > before, "consumed stayed at {before}");
    let text = get(&addr, "/metrics").1;
    assert!(
        sample(
            &text,
            "sluice_rows_written_total",
            &[("pipeline", "tweets"), ("table", "tweet_sentiment")]
        ) > Some(0.0)
    );
    assert!(
        sample(
            &text,
            "sluice_batch_duration_seconds_count",
            &[("pipeline", "tweets"), ("stage", "commit")]
        ) > Some(0.0)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("sluice_plugin_seconds_count{")
                && l.contains("plugin=\"sentiment\"")),
        "plugin time per version"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("sluice_consumer_lag_records{")
                && l.contains(&format!("topic=\"{good}\""))),
        "lag per partition"
    );

    // /api/pipelines has every key the fake serves, with the same JSON types.
    let real = get_json(&addr, "/api/pipelines");
    let fake_api = fake("/api/pipelines");
    let mut diffs = Vec::new();
    shape_differences("host", &fake_api["host"], &real["host"], &mut diffs);
    let fake_running = pipeline(&fake_api, "tweets");
    shape_differences(
        "tweets",
        fake_running,
        pipeline(&real, "tweets"),
        &mut diffs,
    );
    // The fake's dead letters and quarantine live on other pipelines; compare those too.
    shape_differences("bad", fake_running, pipeline(&real, "bad"), &mut diffs);
    assert!(
        diffs.is_empty(),
        "/api/pipelines against fake_api.py:\n{}",
        diffs.join("\n")
    );
    let tweets = pipeline(&real, "tweets");
    assert_eq!(tweets["plugins"][0]["name"], "sentiment");
    assert!(tweets["history"].as_array().is_some_and(|h| !h.is_empty()));
    assert!(tweets["latency_ms"]["p99"].as_f64() >= tweets["latency_ms"]["p50"].as_f64());
    assert_eq!(tweets["partitions"].as_array().map(Vec::len), Some(3));
    assert!(tweets["last_commit"].as_u64().is_some());
    assert_eq!(real["host"]["kafka_reachable"], true);
    assert_eq!(real["host"]["clickhouse_reachable"], true);
    let bad_view = pipeline(&real, "bad");
    assert!(
        bad_view["reason"]
            .as_str()
            .is_some_and(|r| r.contains("consecutive faulted batches"))
    );
    let dead = bad_view["dead_letters"].as_array().expect("dead letters");
    assert!(!dead.is_empty() && dead.len() <= 20, "{dead:?}");
    assert_eq!(dead[0]["code"], "trap-panic");
    assert_eq!(dead[0]["payload"], "panic");
    assert!(dead[0]["offset"].as_i64().is_some());
    let rising = pipeline(&real, "tweets")["totals"]["consumed"].as_u64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = get_json(&addr, "/api/pipelines");
    assert!(
        pipeline(&later, "tweets")["totals"]["consumed"].as_u64() > rising,
        "API totals rise"
    );

    // /api/answers: the tweets workload's queries, with rows.
    let answers = get_json(&addr, "/api/answers");
    let mut diffs = Vec::new();
    let fake_answers = fake("/api/answers");
    shape_differences(
        "answers",
        &fake_answers["answers"][0],
        &answers["answers"][0],
        &mut diffs,
    );
    assert!(
        diffs.is_empty(),
        "/api/answers against fake_api.py:\n{}",
        diffs.join("\n")
    );
    assert_eq!(answers["workload"], "seed 000", "{answers}");
    let names: Vec<&str> = answers["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "sentiment_distribution",
            "tweets_per_minute",
            "top_keywords"
        ]
    );
    for a in answers["answers"].as_array().expect("answers") {
        assert!(a["error"].is_null(), "{a}");
        assert!(a["rows"].as_array().is_some_and(|r| !r.is_empty()), "{a}");
    }

    // The page and its files, with the policy that keeps it to this host.
    let (status, html) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(html.contains("<script src=\"app.js\"></script>"));
    for file in [
        "/app.js",
        "/app.css",
        "/uPlot.iife.min.js",
        "/uPlot.min.css",
    ] {
        assert_eq!(get(&addr, file).0, 200, "{file}");
    }
    assert_eq!(get(&addr, "/nothing-here").0, 404);

    // host status reads the same API.
    let out = Command::new(common::host_bin())
        .args(["status", "--http", &format!("http://{addr}")])
        .output()
        .expect("host status runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("pipeline tweets: running"), "{text}");
    assert!(text.contains("pipeline bad: quarantined"), "{text}");
    assert!(text.contains(&format!("{good}/0: lag ")), "{text}");
    assert!(text.contains("plugin 0 sentiment "), "{text}");
    let out = Command::new(common::host_bin())
        .args(["status", "--json", "--http", &format!("http://{addr}")])
        .output()
        .expect("host status --json runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("host status --json is JSON");
    assert_eq!(pipeline(&doc, "broken")["state"], "failed");
    feeder.join().expect("generator");
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_waits_for_the_group_and_drops_while_quarantined() {
    let svc = Services::require();
    let db = svc.fresh_database("ready").await;
    // The tweets topic does not exist yet, so its consumer cannot join its group.
    let later = common::unique("ready_later");
    let bad = svc.topic("ready_bad", 1).await;
    let dir = TempDir::new("ready");
    let path = config(
        &dir,
        &format!("{}{}", tweets_pipeline(&later), hostile_pipeline(&bad)),
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _host = Host(
        svc.host(&db)
            .arg("--config")
            .arg(&path)
            // --admin: the swap below runs without a token, on loopback.
            .args(["--http", &addr, "--admin", &addr])
            .stderr(Stdio::null())
            .spawn()
            .expect("host starts"),
    );
    wait_for("the listener", Duration::from_secs(60), || async {
        let (s, _) = get(&addr, "/healthz");
        (s == 200, s.to_string())
    })
    .await;
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("pipeline tweets: its consumer has not joined group"),
        "{body}"
    );

    sluice_host::generate::ensure_topic(&svc.brokers, &later, 2)
        .await
        .expect("create topic");
    common::generate(&svc, &later, r#"{"kind":"tweets"}"#, 100, 3, 0);
    wait_for(
        "ready once both consumers joined",
        Duration::from_secs(60),
        || async {
            let (s, b) = get(&addr, "/readyz");
            (s == 200 && b == "ready\n", format!("{s} {b}"))
        },
    )
    .await;

    let poison: Vec<(Option<Vec<u8>>, Vec<u8>)> =
        (0..50).map(|_| (None, b"panic".to_vec())).collect();
    common::produce(&svc.brokers, &bad, &poison).await;
    wait_for(
        "not ready while quarantined",
        Duration::from_secs(60),
        || async {
            let (s, b) = get(&addr, "/readyz");
            (
                s == 503 && b.contains("pipeline bad: quarantined: "),
                format!("{s} {b}"),
            )
        },
    )
    .await;

    // A swap lifts the quarantine: ready again, and the swap is in the history.
    let fixed = std::fs::read(common::plugin("passthrough")).expect("read passthrough");
    let base = format!("http://{addr}");
    client::swap(&base, "bad", 0, "passthrough.wasm", fixed)
        .await
        .expect("swap accepted");
    wait_for("ready after the swap", Duration::from_secs(60), || async {
        let (s, b) = get(&addr, "/readyz");
        (s == 200, format!("{s} {b}"))
    })
    .await;
    let api = get_json(&addr, "/api/pipelines");
    let events = pipeline(&api, "bad")["events"].to_string();
    assert!(
        events.contains("quarantined: ") && events.contains("swapped plugin 0: "),
        "{events}"
    );
    assert_eq!(pipeline(&api, "bad")["plugins"][0]["name"], "passthrough");
    let text = get(&addr, "/metrics").1;
    assert_eq!(
        sample(
            &text,
            "sluice_swaps_total",
            &[("pipeline", "bad"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "sluice_pipeline_state",
            &[("pipeline", "bad"), ("state", "quarantined")]
        ),
        Some(0.0)
    );
}

/// Starts a host with `args` that fails or runs; returns its stderr after `wait`
/// (killing it if it still runs) and whether it was still running.
fn run_for(svc: &Services, db: &str, args: &[&str], wait: Duration) -> (String, bool) {
    let mut child = svc
        .host(db)
        .env("RUST_LOG", "info")
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("host starts");
    let deadline = Instant::now() + wait;
    let mut running = true;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            running = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if running {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("output");
    (String::from_utf8_lossy(&out.stderr).into_owned(), running)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_port_gives_way_and_an_explicit_one_is_an_error() {
    let svc = Services::require();
    let db = svc.fresh_database("ports").await;
    let topic = svc.topic("ports", 1).await;
    let base = ["--topic", topic.as_str(), "--table", "tweet_sentiment"];
    // Hold the default port ourselves (another test's host may have it for a while),
    // so it is surely taken while this host starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    let _held = loop {
        match std::net::TcpListener::bind(sluice_host::http::DEFAULT_ADDR) {
            Ok(l) => break l,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "cannot hold {}: {e}",
                    sluice_host::http::DEFAULT_ADDR
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };

    let (log, running) = run_for(&svc, &db, &base, Duration::from_secs(8));
    assert!(running, "the host gave up on a taken default port:\n{log}");
    assert!(log.contains("The default HTTP port is taken"), "{log}");
    let bound = log
        .lines()
        .find(|l| l.contains("Status page on http://"))
        .and_then(|l| l.split("http://").nth(1))
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address logged:\n{log}"))
        .to_owned();
    assert_ne!(bound, sluice_host::http::DEFAULT_ADDR);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("addr").to_string();
    for flag in ["--http", "--admin"] {
        let mut args = base.to_vec();
        args.extend([flag, addr.as_str()]);
        let (log, running) = run_for(&svc, &db, &args, Duration::from_secs(20));
        assert!(!running, "started on a taken address");
        let last = log.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            last.starts_with("error: ") && last.contains(&addr) && last.contains(flag),
            "{flag}: {log}"
        );
    }

    // --http none: no listener at all; --log-format json: one object per line.
    let mut args = base.to_vec();
    args.extend(["--http", "none", "--log-format", "json"]);
    let (log, running) = run_for(&svc, &db, &args, Duration::from_secs(6));
    assert!(running, "{log}");
    assert!(!log.contains("Status page on"), "{log}");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["message"].is_string() && v["level"].is_string(), "{line}");
    }
}
