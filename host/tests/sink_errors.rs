//! Write errors on real services, by what they need: a table whose columns change
//! mid-stream is re-read and the pipeline goes on; a table that cannot take inserts
//! quarantines the pipeline until an operator resumes it; a pipeline that cannot start
//! is reported at once while the others run.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{
    Services, TempDir, committed_and_end, free_port, host_bin, produce, terminate, unique, wait_for,
};
use sluice_host::admin::client;

/// A table for JSON events passed through without a plugin.
const EVENTS: &str = "CREATE TABLE ev (id String, region String, note String DEFAULT 'n', \
     _topic String, _partition Int32, _offset Int64) ENGINE = MergeTree ORDER BY (_topic, _partition, _offset)";

fn events(from: usize, n: usize) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    (from..from + n)
        .map(|i| {
            let e = serde_json::json!({"id": format!("e{i}"), "region": "eu"});
            (None, e.to_string().into_bytes())
        })
        .collect()
}

async fn exec(svc: &Services, db: &str, sql: &str) {
    svc.ch(db)
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn rows(svc: &Services, db: &str) -> u64 {
    svc.count(db, "SELECT count() FROM ev").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_dropped_and_added_mid_stream_do_not_stop_the_pipeline() {
    let svc = Services::require();
    let db = svc.fresh_database("schema_change").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("schema_change", 2).await;
    let group = unique("g");
    produce(&svc.brokers, &topic, &events(0, 1_000)).await;
    let mut host = svc
        .host(&db)
        .args(["--topic", &topic, "--table", "ev", "--group", &group])
        .args(["--batch-ms", "50", "--batch-rows", "200"])
        .spawn()
        .expect("host starts");
    wait_for("the first rows", Duration::from_secs(60), || async {
        let n = rows(&svc, &db).await;
        (n == 1_000, format!("{n} rows"))
    })
    .await;
    // A column the host writes goes, a defaulted one goes, a defaulted one comes.
    exec(&svc, &db, "ALTER TABLE ev DROP COLUMN region").await;
    exec(&svc, &db, "ALTER TABLE ev DROP COLUMN note").await;
    exec(
        &svc,
        &db,
        "ALTER TABLE ev ADD COLUMN extra String DEFAULT 'd'",
    )
    .await;
    produce(&svc.brokers, &topic, &events(1_000, 1_000)).await;
    wait_for(
        "the rows after the change",
        Duration::from_secs(60),
        || async {
            let n = rows(&svc, &db).await;
            (n >= 2_000, format!("{n} rows"))
        },
    )
    .await;
    wait_for(
        "every offset committed",
        Duration::from_secs(30),
        || async {
            let offsets = committed_and_end(&svc.brokers, &group, &topic, 2);
            (offsets.iter().all(|(c, e)| c == e), format!("{offsets:?}"))
        },
    )
    .await;
    assert!(terminate(&mut host), "host exits 0 on SIGTERM");
    assert_eq!(rows(&svc, &db).await, 2_000);
    assert_eq!(
        svc.count(&db, "SELECT uniqExact(_partition, _offset) FROM ev")
            .await,
        2_000
    );
    assert_eq!(svc.count(&db, "SELECT count() FROM dead_letters").await, 0);
    assert_eq!(
        svc.count(&db, "SELECT count() FROM ev WHERE extra = 'd'")
            .await,
        2_000,
        "the added column got its default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_that_takes_no_inserts_quarantines_until_resumed() {
    let svc = Services::require();
    let db = svc.fresh_database("fatal").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("fatal", 2).await;
    let group = unique("g");
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    produce(&svc.brokers, &topic, &events(0, 500)).await;
    let logs = TempDir::new("fatal-logs");
    let log = logs.0.join("host.log");
    let mut host = svc
        .host(&db)
        .args([
            "--topic", &topic, "--table", "ev", "--group", &group, "--name", "evp",
        ])
        .args(["--batch-ms", "50", "--admin", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("host starts");
    wait_for("the first rows", Duration::from_secs(60), || async {
        let n = rows(&svc, &db).await;
        (n == 500, format!("{n} rows"))
    })
    .await;
    // The table is swapped for a view of itself: every insert now fails for good.
    exec(&svc, &db, "RENAME TABLE ev TO ev_real").await;
    exec(&svc, &db, "CREATE VIEW ev AS SELECT * FROM ev_real").await;
    produce(&svc.brokers, &topic, &events(500, 500)).await;
    let state = |admin: String| async move {
        client::list(&admin)
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|p| p.name == "evp"))
    };
    wait_for("the quarantine", Duration::from_secs(60), || async {
        let s = state(admin.clone()).await;
        let done = s.as_ref().is_some_and(|s| s.state == "quarantined");
        (done, format!("{s:?}"))
    })
    .await;
    let status = state(admin.clone()).await.expect("listed");
    let reason = status.quarantine.expect("a reason");
    assert!(
        reason.contains("table ev") && reason.contains("takes no inserts"),
        "{reason}"
    );
    // Held, not dropped or dead-lettered, and nothing past the written rows committed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(svc.count(&db, "SELECT count() FROM ev_real").await, 500);
    assert_eq!(svc.count(&db, "SELECT count() FROM dead_letters").await, 0);
    let committed: i64 = committed_and_end(&svc.brokers, &group, &topic, 2)
        .iter()
        .map(|(c, _)| (*c).max(0))
        .sum();
    assert!(committed <= 500, "committed {committed} of 500 written");
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        text.matches("Pipeline quarantined").count(),
        1,
        "logged once, not per retry:\n{text}"
    );

    // The operator puts the table back and resumes.
    exec(&svc, &db, "DROP TABLE ev").await;
    exec(&svc, &db, "RENAME TABLE ev_real TO ev").await;
    let out = std::process::Command::new(host_bin())
        .args(["resume", "--admin", &admin, "--pipeline", "evp"])
        .output()
        .expect("host resume runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("the held rows", Duration::from_secs(60), || async {
        let n = rows(&svc, &db).await;
        (n >= 1_000, format!("{n} rows"))
    })
    .await;
    wait_for(
        "every offset committed",
        Duration::from_secs(30),
        || async {
            let offsets = committed_and_end(&svc.brokers, &group, &topic, 2);
            (offsets.iter().all(|(c, e)| c == e), format!("{offsets:?}"))
        },
    )
    .await;
    assert!(terminate(&mut host), "host exits 0 on SIGTERM");
    assert_eq!(rows(&svc, &db).await, 1_000);
    assert_eq!(
        svc.count(&db, "SELECT uniqExact(_partition, _offset) FROM ev")
            .await,
        1_000
    );
    let again = std::process::Command::new(host_bin())
        .args(["resume", "--admin", &admin, "--pipeline", "evp"])
        .output()
        .expect("runs");
    assert!(!again.status.success(), "nothing to resume once it is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_that_cannot_start_is_reported_at_once_while_the_others_run() {
    let svc = Services::require();
    let db = svc.fresh_database("failed_start").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("failed_start", 1).await;
    let dir = TempDir::new("failed-start");
    let config = dir.write(
        "sluice.toml",
        format!(
            "[[pipeline]]\nname = \"good\"\ntopics = [\"{topic}\"]\ntable = \"ev\"\ngroup = \"{}\"\n\n\
             [[pipeline]]\nname = \"bad\"\ntopics = [\"{topic}\"]\ntable = \"no_such_table\"\n",
            unique("g")
        )
        .as_bytes(),
    );
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let log = dir.0.join("host.log");
    let mut host = svc
        .host(&db)
        .arg("--config")
        .arg(&config)
        .args(["--admin", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("host starts");
    wait_for(
        "the failed start in the log",
        Duration::from_secs(30),
        || async {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let line = text
                .lines()
                .find(|l| l.contains("Pipeline failed to start") && l.contains("bad"));
            (
                line.is_some_and(|l| l.contains("no_such_table") && l.contains("create it first")),
                text,
            )
        },
    )
    .await;
    let pipelines = client::list(&admin).await.expect("list");
    let bad = pipelines
        .iter()
        .find(|p| p.name == "bad")
        .expect("bad listed");
    assert_eq!(bad.state, "failed");
    assert!(
        bad.quarantine
            .as_deref()
            .is_some_and(|r| r.contains("no_such_table"))
    );
    let good = pipelines
        .iter()
        .find(|p| p.name == "good")
        .expect("good listed");
    assert_eq!(good.state, "running");
    produce(&svc.brokers, &topic, &events(0, 300)).await;
    wait_for(
        "the good pipeline's rows",
        Duration::from_secs(60),
        || async {
            let n = rows(&svc, &db).await;
            (n == 300, format!("{n} rows"))
        },
    )
    .await;
    assert!(
        !terminate(&mut host),
        "a host with a pipeline that never started exits non-zero"
    );
}
