//! Hot swap on real services: 20 swaps while the generator writes 5,000 events/s,
//! alternating between replacing the watched `.wasm` file and `host plugin swap`;
//! then quarantine beside a healthy pipeline. ClickHouse must hold exactly what was
//! produced, with plugin versions monotonic in offset order on every partition.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sluice_host::admin::client;

use common::{Services, TempDir, free_port, wait_for};

fn version_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))[..12].to_owned()
}

/// Replaces `live` the way a deploy would: write beside it, then rename over it.
fn replace_file(live: &Path, bytes: &[u8]) {
    let tmp = live.with_extension("wasm.tmp");
    std::fs::write(&tmp, bytes).expect("write new version");
    std::fs::rename(&tmp, live).expect("rename over the live file");
}

async fn generation(admin: &str) -> u64 {
    match client::list(admin).await {
        Ok(list) => list.first().map_or(0, |p| p.generation),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_swaps_under_load_lose_and_duplicate_nothing() {
    let svc = Services::require();
    let db = svc.fresh_database("swap").await;
    let topic = svc.topic("swap", 3).await;
    let dir = TempDir::new("sluice-swap");
    let base = std::fs::read(common::plugin("passthrough")).expect("read");
    let versions: Vec<Vec<u8>> = (0..=20).map(|i| common::variant(&base, i)).collect();
    let live = dir.write("passthrough.wasm", &versions[0]);
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let mut host = svc
        .host(&db)
        .arg("--plugin")
        .arg(&live)
        .args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--name",
            "swapped",
        ])
        .args(["--batch-rows", "500", "--batch-ms", "100"])
        .args(["--admin", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("host starts");
    wait_for("the admin API", Duration::from_secs(30), || async {
        let g = generation(&admin).await;
        (g == 1, format!("generation {g}"))
    })
    .await;

    let produced: u64 = 80_000;
    let generator = {
        let svc_topic = topic.clone();
        let brokers = svc.brokers.clone();
        std::thread::spawn(move || {
            Command::new(common::host_bin())
                .env("SLUICE_BROKERS", brokers)
                .env("RUST_LOG", "error")
                .args(["generate", "--quiet", "--plugin"])
                .arg(common::plugin("generator"))
                .args([
                    "--plugin-config",
                    r#"{"kind":"tweets"}"#,
                    "--topic",
                    &svc_topic,
                ])
                .args(["--count", &produced.to_string(), "--rate", "5000"])
                .stdout(Stdio::null())
                .status()
                .expect("generator runs")
                .success()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, version) in versions.iter().enumerate().skip(1) {
        if i % 2 == 1 {
            replace_file(&live, version);
        } else {
            let new = dir.write(&format!("v{i}.wasm"), version);
            let out = Command::new(common::host_bin())
                .args(["plugin", "swap", "--admin", &admin, "--pipeline", "swapped"])
                .arg("--plugin")
                .arg(&new)
                .output()
                .expect("host plugin swap runs");
            assert!(
                out.status.success(),
                "swap {i} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let want = 1 + i as u64;
        wait_for(&format!("swap {i}"), Duration::from_secs(20), || async {
            let g = generation(&admin).await;
            (g == want, format!("generation {g}"))
        })
        .await;
    }
    let status = client::list(&admin).await.expect("list");
    assert_eq!(status[0].plugins[0].version, version_of(&versions[20]));
    assert_eq!(status[0].plugins[0].previous.len(), 20);
    assert!(
        generator.join().expect("generator thread"),
        "generator failed"
    );

    wait_for("every event written", Duration::from_secs(120), || async {
        let n = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
        (n >= produced, format!("{n} of {produced}"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Every event is written, so the CLI's refusal and rollback paths touch no rows.
    let cli = |args: &[&str]| {
        let out = Command::new(common::host_bin())
            .args(["plugin"])
            .args(args)
            .args(["--admin", &admin, "--pipeline", "swapped"])
            .output()
            .expect("host plugin runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let generator_wasm = common::plugin("generator");
    let (code, _, err) = cli(&["swap", "--plugin", &generator_wasm.display().to_string()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("refused (load)") && err.contains("generator.wasm is a generator plugin"),
        "{err}"
    );
    let (code, out, err) = cli(&["rollback"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("-> {}", version_of(&versions[19]))),
        "{out}"
    );
    let status = client::list(&admin).await.expect("list");
    assert_eq!(status[0].plugins[0].version, version_of(&versions[19]));
    assert!(common::terminate(&mut host), "host exits cleanly");

    let rows = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
    let distinct = svc
        .count(
            &db,
            "SELECT count() FROM (SELECT DISTINCT _partition, _offset FROM tweet_sentiment)",
        )
        .await;
    let dead = svc.count(&db, "SELECT count() FROM dead_letters").await;
    assert_eq!((rows, distinct, dead), (produced, produced, 0));

    // Versions in offset order never go back to an earlier swap on any partition.
    let index: HashMap<String, usize> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| (version_of(v), i))
        .collect();
    #[derive(Debug, serde::Deserialize, clickhouse::Row)]
    struct Row {
        partition: i32,
        offset: i64,
        version: String,
    }
    let seen: Vec<Row> = svc
        .ch(&db)
        .query("SELECT _partition AS partition, _offset AS offset, _plugin_version AS version FROM tweet_sentiment ORDER BY partition, offset")
        .fetch_all()
        .await
        .expect("read versions");
    let mut last: HashMap<i32, usize> = HashMap::new();
    let mut used = std::collections::BTreeSet::new();
    for row in &seen {
        let Some(&i) = index.get(&row.version) else {
            panic!(
                "row {}/{} has unknown version {}",
                row.partition, row.offset, row.version
            );
        };
        let prev = last.insert(row.partition, i).unwrap_or(0);
        assert!(
            i >= prev,
            "partition {} offset {}: version {i} after {prev}",
            row.partition,
            row.offset
        );
        used.insert(i);
    }
    assert!(
        used.len() >= 10,
        "swaps happened under load: {} versions wrote rows ({used:?})",
        used.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_faulting_plugin_is_quarantined_beside_a_healthy_pipeline_and_a_swap_resumes_it() {
    let svc = Services::require();
    let db = svc.fresh_database("quarantine").await;
    let bad_topic = svc.topic("quarantine_bad", 1).await;
    let good_topic = svc.topic("quarantine_good", 3).await;
    let poison: Vec<(Option<Vec<u8>>, Vec<u8>)> =
        (0..300).map(|_| (None, b"panic".to_vec())).collect();
    common::produce(&svc.brokers, &bad_topic, &poison).await;
    common::generate(&svc, &good_topic, r#"{"kind":"tweets"}"#, 3000, 7, 0);

    let dir = TempDir::new("sluice-quarantine");
    let config = dir.write(
        "sluice.toml",
        format!(
            r#"
[[pipeline]]
name = "bad"
topics = ["{bad_topic}"]
table = "tweet_sentiment"
batch = {{ max_rows = 10, max_wait_ms = 50 }}
lifecycle = {{ quarantine_after = 3 }}
[[pipeline.plugins]]
path = "{hostile}"

[[pipeline]]
name = "good"
topics = ["{good_topic}"]
table = "tweet_sentiment"
[[pipeline.plugins]]
path = "{passthrough}"
"#,
            hostile = common::plugin("hostile").display(),
            passthrough = common::plugin("passthrough").display(),
        )
        .as_bytes(),
    );
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let mut host = svc
        .host(&db)
        .arg("--config")
        .arg(&config)
        .args(["--admin", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("host starts");

    let state = |admin: String| async move {
        client::list(&admin)
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|p| p.name == "bad"))
            .map(|p| p.state)
            .unwrap_or_default()
    };
    wait_for("quarantine", Duration::from_secs(60), || async {
        let s = state(admin.clone()).await;
        (s == "quarantined", s)
    })
    .await;
    let good_sql = "SELECT count() FROM tweet_sentiment WHERE _topic = ?";
    wait_for("the healthy pipeline", Duration::from_secs(60), || async {
        let n: u64 = svc
            .ch(&db)
            .query(good_sql)
            .bind(&good_topic)
            .fetch_one()
            .await
            .unwrap_or(0);
        (n == 3000, format!("{n} of 3000"))
    })
    .await;
    let trapped_sql =
        "SELECT count() FROM dead_letters WHERE pipeline = 'bad' AND code = 'trap-panic'";
    let trapped = svc.count(&db, trapped_sql).await;
    assert!(
        (30..300).contains(&trapped),
        "three or more faulted batches went to dead letters, not all: {trapped}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        svc.count(&db, trapped_sql).await,
        trapped,
        "quarantined: nothing more is processed"
    );

    let fixed = std::fs::read(common::plugin("passthrough")).expect("read");
    client::swap(&admin, "bad", 0, "passthrough.wasm", fixed)
        .await
        .expect("a swap lifts the quarantine");
    let all_sql =
        "SELECT count() FROM (SELECT DISTINCT _offset FROM dead_letters WHERE pipeline = 'bad')";
    wait_for(
        "the rest of the bad topic",
        Duration::from_secs(60),
        || async {
            let n = svc.count(&db, all_sql).await;
            (n == 300, format!("{n} of 300"))
        },
    )
    .await;
    assert_eq!(state(admin.clone()).await, "running");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(common::terminate(&mut host), "host exits cleanly");
    // Held events were processed by the new version (passthrough of a non-JSON
    // payload is a `bad-json` dead letter): every offset exactly once.
    assert_eq!(
        svc.count(
            &db,
            "SELECT count() FROM dead_letters WHERE pipeline = 'bad'"
        )
        .await,
        300
    );
    assert_eq!(svc.count(&db, trapped_sql).await, trapped);
    assert_eq!(
        svc.count(
            &db,
            "SELECT count() FROM dead_letters WHERE pipeline = 'bad' AND code = 'bad-json'"
        )
        .await,
        300 - trapped
    );
}
