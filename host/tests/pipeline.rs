//! Integration tests against the real Kafka broker and ClickHouse server started by
//! `scripts/services.sh up`: exact counts, dead letters, committed offsets, restarts.

mod common;

use std::time::Duration;

use common::{Services, committed_and_end, generate, plugin, produce, terminate, wait_for};

/// Tweets with labels any sane scorer agrees on; the test checks each one's label.
const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "fx-1",
        "I absolutely love this new phone, it is amazing! 😍",
        "positive",
    ),
    (
        "fx-2",
        "This is the worst service ever. Totally broken and useless.",
        "negative",
    ),
    (
        "fx-3",
        "The train leaves at 9am from platform 4.",
        "neutral",
    ),
    (
        "fx-4",
        "Great coffee and a wonderful, happy morning :)",
        "positive",
    ),
    (
        "fx-5",
        "I hate waiting, this delay is terrible and awful",
        "negative",
    ),
];

/// Payloads no plugin can use, each with the reason code it must get.
fn malformed() -> Vec<(Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    for i in 0..15 {
        out.push((format!("not json {i}").into_bytes(), "bad-json"));
    }
    for i in 0..5 {
        out.push((vec![0xff, 0xfe, i as u8], "bad-json"));
    }
    for i in 0..10 {
        out.push((format!("[{i}, 2, 3]").into_bytes(), "not-object"));
    }
    for i in 0..10 {
        out.push((format!(r#"{{"id":"m-{i}"}}"#).into_bytes(), "missing-field"));
    }
    for i in 0..10 {
        out.push((
            format!(r#"{{"id":"w-{i}","text":{i}}}"#).into_bytes(),
            "wrong-type",
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_tweets_land_exactly_once_and_bad_ones_are_dead_lettered() {
    let svc = Services::require();
    let db = svc.fresh_database("skeleton").await;
    let topic = svc.topic("tweets", 3).await;
    let group = common::unique("g");

    // Good tweets before and after the bad events, so the host must keep going.
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 5_000, 1, 0);
    let bad = malformed();
    assert_eq!(bad.len(), 50);
    let mut records: Vec<(Option<Vec<u8>>, Vec<u8>)> =
        bad.iter().map(|(p, _)| (None, p.clone())).collect();
    for (id, text, _) in FIXTURES {
        let tweet = serde_json::json!({"id": id, "user": "fixture", "text": text, "created_at": "2026-01-01 12:00:00"});
        records.push((Some(b"fixture".to_vec()), tweet.to_string().into_bytes()));
    }
    produce(&svc.brokers, &topic, &records).await;
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 5_000, 2, 0);
    let total = 10_000 + FIXTURES.len() as u64 + 50;

    let mut host = svc
        .host(&db)
        .arg("--plugin")
        .arg(plugin("sentiment"))
        .args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--group",
            &group,
            "--batch-ms",
            "100",
        ])
        .spawn()
        .expect("host starts");
    wait_for("every event to land", Duration::from_secs(180), || async {
        let rows = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
        let dead = svc.count(&db, "SELECT count() FROM dead_letters").await;
        (
            rows + dead >= total,
            format!("{rows} rows + {dead} dead letters of {total}"),
        )
    })
    .await;
    // Give a straggling duplicate, if there were one, time to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(terminate(&mut host), "host exits 0 on SIGTERM");

    assert_eq!(
        svc.count(&db, "SELECT count() FROM tweet_sentiment").await,
        10_005
    );
    assert_eq!(
        svc.count(
            &db,
            "SELECT uniqExact(_partition, _offset) FROM tweet_sentiment"
        )
        .await,
        10_005
    );
    assert_eq!(svc.count(&db, "SELECT count() FROM dead_letters").await, 50);
    assert_eq!(
        svc.count(
            &db,
            "SELECT uniqExact(_partition, _offset) FROM dead_letters"
        )
        .await,
        50
    );
    for code in ["bad-json", "not-object", "missing-field", "wrong-type"] {
        let want = bad.iter().filter(|(_, c)| *c == code).count() as u64;
        let got = svc
            .count(&db, &format!("SELECT count() FROM dead_letters WHERE code = '{code}' AND plugin = 'sentiment' AND message != ''"))
            .await;
        assert_eq!(got, want, "dead letters with code {code}");
    }
    assert_eq!(
        svc.count(&db, "SELECT count() FROM dead_letters WHERE payload = 'not json 3' AND pipeline = 'tweet_sentiment'").await,
        1,
        "the raw payload is kept"
    );
    for (id, _, label) in FIXTURES {
        let got: String = svc
            .ch(&db)
            .query("SELECT sentiment FROM tweet_sentiment WHERE id = ?")
            .bind(*id)
            .fetch_one()
            .await
            .expect("fixture row");
        assert_eq!(&got, label, "label of fixture {id}");
    }
    assert_eq!(
        svc.count(&db, "SELECT count() FROM tweet_sentiment WHERE sentiment NOT IN ('positive', 'neutral', 'negative') OR sentiment_score < -1 OR sentiment_score > 1").await,
        0
    );
    let offsets = committed_and_end(&svc.brokers, &group, &topic, 3);
    for (p, (committed, end)) in offsets.iter().enumerate() {
        assert_eq!(
            committed, end,
            "partition {p}: committed offset equals the end offset"
        );
    }
    assert_eq!(offsets.iter().map(|(_, e)| *e as u64).sum::<u64>(), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn host_killed_and_stopped_mid_stream_resumes_without_loss_or_duplicates() {
    let svc = Services::require();
    let db = svc.fresh_database("restart").await;
    let topic = svc.topic("tweets", 3).await;
    let group = common::unique("g");
    let total: u64 = 10_000;
    let feeder = {
        let svc = svc.clone();
        let topic = topic.clone();
        std::thread::spawn(move || generate(&svc, &topic, r#"{"kind":"tweets"}"#, total, 7, 4_000))
    };
    let start = || {
        svc.host(&db)
            .arg("--plugin")
            .arg(plugin("sentiment"))
            .args([
                "--topic",
                &topic,
                "--table",
                "tweet_sentiment",
                "--group",
                &group,
                "--batch-rows",
                "500",
                "--batch-ms",
                "50",
            ])
            .spawn()
            .expect("host starts")
    };
    let rows = || svc.count(&db, "SELECT count() FROM tweet_sentiment");

    // First run: killed with SIGKILL, so nothing is drained or committed cleanly.
    let mut first = start();
    wait_for("some rows", Duration::from_secs(120), || async {
        let n = rows().await;
        (n >= 1_500, format!("{n} rows"))
    })
    .await;
    first.kill().expect("kill -9");
    first.wait().expect("reaped");

    // Second run: stopped gracefully mid-stream.
    let mut second = start();
    let after_kill = rows().await;
    wait_for("more rows", Duration::from_secs(120), || async {
        let n = rows().await;
        (n >= after_kill + 1_500 || n >= total, format!("{n} rows"))
    })
    .await;
    assert!(terminate(&mut second), "graceful stop exits 0");

    // Third run: to the end.
    feeder.join().expect("generator finished");
    let mut third = start();
    wait_for("all rows", Duration::from_secs(180), || async {
        let n = rows().await;
        (n >= total, format!("{n} rows"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(terminate(&mut third));

    assert_eq!(rows().await, total, "no loss, no duplicates");
    assert_eq!(
        svc.count(
            &db,
            "SELECT uniqExact(_partition, _offset) FROM tweet_sentiment"
        )
        .await,
        total
    );
    assert_eq!(svc.count(&db, "SELECT count() FROM dead_letters").await, 0);
}

/// Regression: a host subscribed before its topic existed waited librdkafka's default
/// five-minute metadata refresh before consuming anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn topic_created_after_the_host_started_is_consumed_promptly() {
    let svc = Services::require();
    let db = svc.fresh_database("late_topic").await;
    let topic = common::unique("late");
    let mut host = svc
        .host(&db)
        .args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--batch-ms",
            "50",
        ])
        .spawn()
        .expect("host starts");
    tokio::time::sleep(Duration::from_secs(3)).await;
    sluice_host::generate::ensure_topic(&svc.brokers, &topic, 3)
        .await
        .expect("create topic");
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 200, 9, 0);
    wait_for(
        "rows from the new topic",
        Duration::from_secs(60),
        || async {
            let n = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
            (n >= 200, format!("{n} rows"))
        },
    )
    .await;
    assert!(terminate(&mut host));
    assert_eq!(
        svc.count(&db, "SELECT count() FROM tweet_sentiment").await,
        200
    );
}

/// ClickHouse refusing writes (here: the table renamed away, which fails every insert
/// and every offset read for it) must pause reads under the in-flight byte cap,
/// commit nothing unwritten, keep the member alive, and resume by itself.
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_table_pauses_reads_and_resumes_without_loss() {
    use std::io::Read;
    let svc = Services::require();
    let db = svc.fresh_database("backpressure").await;
    let topic = svc.topic("backpressure", 3).await;
    let group = format!("bp-{topic}");
    let mut host = svc
        .host(&db)
        .args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--group",
            &group,
        ])
        .args([
            "--batch-rows",
            "200",
            "--batch-ms",
            "50",
            "--max-in-flight-mib",
            "1",
        ])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("host starts");
    let mut stderr = host.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 300, 1, 0);
    wait_for("the first rows", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
        (n == 300, format!("{n} of 300"))
    })
    .await;
    let ch = svc.ch(&db);
    ch.query("RENAME TABLE tweet_sentiment TO tweet_sentiment_away")
        .execute()
        .await
        .expect("rename away");
    // About 6 MB of tweets: six times the in-flight cap.
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 30_000, 2, 0);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let committed: i64 = committed_and_end(&svc.brokers, &group, &topic, 3)
        .iter()
        .map(|(c, _)| (*c).max(0))
        .sum();
    assert!(
        committed <= 300,
        "nothing past the written rows is committed: {committed}"
    );
    assert!(
        host.try_wait().expect("poll").is_none(),
        "host still running"
    );
    ch.query("RENAME TABLE tweet_sentiment_away TO tweet_sentiment")
        .execute()
        .await
        .expect("rename back");
    wait_for(
        "every row after the outage",
        Duration::from_secs(120),
        || async {
            let n = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
            (n >= 30_300, format!("{n} of 30300"))
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(terminate(&mut host), "host exits cleanly");
    let log = log.join().expect("log thread");
    let distinct = svc
        .count(
            &db,
            "SELECT count() FROM (SELECT DISTINCT _partition, _offset FROM tweet_sentiment)",
        )
        .await;
    let rows = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
    assert_eq!((rows, distinct), (30_300, 30_300));
    for (c, end) in committed_and_end(&svc.brokers, &group, &topic, 3) {
        assert_eq!(c, end, "everything committed after recovery");
    }
    assert!(
        log.contains("Pausing reads") && log.contains("Resuming reads"),
        "reads paused while ClickHouse refused writes, and resumed: {log}"
    );
}

/// A dead-letter insert that fails is not skipped: it holds that partition's commit
/// like a data insert, and once the table is back every bad record is there once.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_dead_letter_write_blocks_the_commit_until_it_lands() {
    let svc = Services::require();
    let db = svc.fresh_database("deadblock").await;
    let topic = svc.topic("deadblock", 1).await;
    let group = format!("dl-{topic}");
    let mut host = svc
        .host(&db)
        .arg("--plugin")
        .arg(plugin("sentiment"))
        .args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--group",
            &group,
        ])
        .args(["--batch-rows", "50", "--batch-ms", "50"])
        .spawn()
        .expect("host starts");
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 100, 3, 0);
    wait_for("the first rows", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
        (n == 100, format!("{n} of 100"))
    })
    .await;
    let ch = svc.ch(&db);
    ch.query("RENAME TABLE dead_letters TO dead_letters_away")
        .execute()
        .await
        .expect("rename away");
    let bad: Vec<(Option<Vec<u8>>, Vec<u8>)> = (0..20)
        .map(|i| (None, format!("not json {i}").into_bytes()))
        .collect();
    produce(&svc.brokers, &topic, &bad).await;
    generate(&svc, &topic, r#"{"kind":"tweets"}"#, 100, 4, 0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (committed, _) = committed_and_end(&svc.brokers, &group, &topic, 1)[0];
    assert!(
        committed <= 100,
        "no commit past the dead letters that could not be written: {committed}"
    );
    ch.query("RENAME TABLE dead_letters_away TO dead_letters")
        .execute()
        .await
        .expect("rename back");
    wait_for(
        "everything after the outage",
        Duration::from_secs(60),
        || async {
            let rows = svc.count(&db, "SELECT count() FROM tweet_sentiment").await;
            let dead = svc.count(&db, "SELECT count() FROM dead_letters").await;
            (
                rows == 200 && dead == 20,
                format!("{rows} rows, {dead} dead"),
            )
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(terminate(&mut host), "host exits cleanly");
    let (committed, end) = committed_and_end(&svc.brokers, &group, &topic, 1)[0];
    assert_eq!(committed, end, "committed once everything landed");
    assert_eq!(
        svc.count(&db, "SELECT count() FROM tweet_sentiment").await,
        200
    );
    assert_eq!(
        svc.count(
            &db,
            "SELECT count() FROM (SELECT DISTINCT _offset FROM dead_letters WHERE code = 'bad-json')"
        )
        .await,
        20
    );
}
