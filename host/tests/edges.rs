//! Exactly-once at the edges real clusters have, on the real broker and ClickHouse:
//! topics deleted and created again, compressed topics of every codec, transactions,
//! pattern subscriptions, topic names Kafka cannot hold, columns named oddly.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Services, TempDir, committed_and_end, produce, terminate, unique, wait_for};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;

/// A table for JSON events passed through without a plugin, with the topic ID.
const EVENTS: &str = "CREATE TABLE ev (id String, _topic String, _topic_id String, \
     _partition Int32, _offset Int64) ENGINE = MergeTree ORDER BY (_topic, _partition, _offset)";
/// The same without the topic ID, as a table made before the host recorded it.
const LEGACY: &str = "CREATE TABLE ev (id String, _topic String, \
     _partition Int32, _offset Int64) ENGINE = MergeTree ORDER BY (_topic, _partition, _offset)";

fn events(prefix: &str, n: usize) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let e = serde_json::json!({ "id": format!("{prefix}{i}") });
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

async fn count(svc: &Services, db: &str, sql: &str) -> u64 {
    svc.count(db, sql).await
}

/// Deletes `topic` and waits until the broker no longer lists it.
async fn delete_topic(brokers: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.delete_topics(&[topic], &opts).await.expect("delete") {
        result.expect("topic deleted");
    }
    wait_for("the topic to be gone", Duration::from_secs(60), || async {
        let listed = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .map(|m| {
                m.topics()
                    .iter()
                    .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
            })
            .unwrap_or(true);
        (!listed, format!("{topic} still listed"))
    })
    .await;
}

fn host(svc: &Services, db: &str, topic: &str, group: &str, log: &Path) -> Child {
    svc.host(db)
        .args(["--topic", topic, "--table", "ev", "--group", group])
        .args(["--batch-ms", "50", "--batch-rows", "200"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("host starts")
}

async fn until_rows(svc: &Services, db: &str, want: u64) {
    wait_for("the rows", Duration::from_secs(90), || async {
        let n = count(svc, db, "SELECT count() FROM ev").await;
        (n >= want, format!("{n} of {want} rows"))
    })
    .await;
}

async fn all_committed(svc: &Services, group: &str, topic: &str, partitions: i32) {
    wait_for(
        "every offset committed",
        Duration::from_secs(60),
        || async {
            let offsets = committed_and_end(&svc.brokers, group, topic, partitions);
            (offsets.iter().all(|(c, e)| c == e), format!("{offsets:?}"))
        },
    )
    .await;
}

/// Deleting a topic and creating it again (1,000 records, then 1,500 under the same
/// name) must write every new record: their offsets repeat the old ones, and marks
/// keyed on the name alone counted them as written. Restarting writes nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_deleted_and_created_again_is_written_again_and_nothing_twice() {
    let svc = Services::require();
    let db = svc.fresh_database("recreated").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("recreated", 2).await;
    let group = unique("g");
    let dir = TempDir::new("recreated");
    produce(&svc.brokers, &topic, &events("old", 1_000)).await;
    let mut running = host(&svc, &db, &topic, &group, &dir.0.join("host1.log"));
    until_rows(&svc, &db, 1_000).await;
    all_committed(&svc, &group, &topic, 2).await;

    // Re-created while the host runs.
    delete_topic(&svc.brokers, &topic).await;
    sluice_host::generate::ensure_topic(&svc.brokers, &topic, 2)
        .await
        .expect("create again");
    produce(&svc.brokers, &topic, &events("new", 1_500)).await;
    until_rows(&svc, &db, 2_500).await;
    all_committed(&svc, &group, &topic, 2).await;
    assert!(terminate(&mut running), "host exits 0 on SIGTERM");

    // A restart replays nothing and writes nothing twice.
    let mut again = host(&svc, &db, &topic, &group, &dir.0.join("host2.log"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(terminate(&mut again), "host exits 0 on SIGTERM");
    assert_eq!(count(&svc, &db, "SELECT count() FROM ev").await, 2_500);
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev WHERE id LIKE 'new%'").await,
        1_500,
        "every record of the new incarnation is a row"
    );
    assert_eq!(
        count(
            &svc,
            &db,
            "SELECT uniqExact(_topic_id, _partition, _offset) FROM ev"
        )
        .await,
        2_500
    );
    assert_eq!(
        count(&svc, &db, "SELECT uniqExact(_topic_id) FROM ev").await,
        2
    );
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev WHERE _topic_id = ''").await,
        0,
        "every row carries its incarnation"
    );
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM dead_letters").await,
        0
    );
}

/// A table without the topic-ID column still catches a re-created topic whose old
/// marks run past the new partition's end: logged as an error naming the topic, and
/// the records written instead of skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marks_past_the_partitions_end_are_an_error_not_a_silent_skip() {
    let svc = Services::require();
    let db = svc.fresh_database("past_end").await;
    exec(&svc, &db, LEGACY).await;
    let topic = svc.topic("past_end", 1).await;
    let group = unique("g");
    let dir = TempDir::new("past-end");
    produce(&svc.brokers, &topic, &events("old", 1_000)).await;
    let mut first = host(&svc, &db, &topic, &group, &dir.0.join("host1.log"));
    until_rows(&svc, &db, 1_000).await;
    all_committed(&svc, &group, &topic, 1).await;
    assert!(terminate(&mut first));

    delete_topic(&svc.brokers, &topic).await;
    sluice_host::generate::ensure_topic(&svc.brokers, &topic, 1)
        .await
        .expect("create again");
    produce(&svc.brokers, &topic, &events("new", 300)).await;
    let log = dir.0.join("host2.log");
    let mut second = host(&svc, &db, &topic, &group, &log);
    until_rows(&svc, &db, 1_300).await;
    all_committed(&svc, &group, &topic, 1).await;
    assert!(terminate(&mut second));
    let text = std::fs::read_to_string(&log).expect("log");
    let line = text
        .lines()
        .find(|l| l.contains("past its end"))
        .unwrap_or_else(|| panic!("no error about the marks:\n{text}"));
    assert!(line.contains("ERROR") && line.contains(&topic), "{line}");
    assert!(
        text.contains("tables lack the `_topic_id String` column"),
        "the missing column is named at start:\n{text}"
    );
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev WHERE id LIKE 'new%'").await,
        300
    );
}

fn producer(brokers: &str, extra: &[(&str, &str)]) -> rdkafka::producer::FutureProducer {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("producer")
}

async fn send(
    producer: &rdkafka::producer::FutureProducer,
    topic: &str,
    partition: i32,
    payload: &[u8],
) {
    producer
        .send(
            rdkafka::producer::FutureRecord::<(), [u8]>::to(topic)
                .partition(partition)
                .payload(payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce");
}

/// Topics written by every codec librdkafka knows, and one whose batches alternate
/// between them (a zstd batch after lz4 ones stalled the partition for good when
/// librdkafka was built without zstd): every record is read exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_and_a_topic_mixing_them_are_read_exactly() {
    let svc = Services::require();
    let db = svc.fresh_database("codecs").await;
    exec(&svc, &db, EVENTS).await;
    let codecs = ["gzip", "snappy", "lz4", "zstd"];
    let mut topics = Vec::new();
    let mut total = 0u64;
    let producers: Vec<_> = codecs
        .iter()
        .map(|c| producer(&svc.brokers, &[("compression.type", c), ("linger.ms", "5")]))
        .collect();
    for (codec, p) in codecs.iter().zip(&producers) {
        let topic = svc.topic(&format!("codec_{codec}"), 2).await;
        for i in 0..400 {
            let e = serde_json::json!({ "id": format!("{codec}{i}") });
            send(p, &topic, i % 2, e.to_string().as_bytes()).await;
        }
        total += 400;
        topics.push(topic);
    }
    let mixed = svc.topic("codec_mixed", 1).await;
    for round in 0..8 {
        let (codec, p) = (codecs[round % 4], &producers[round % 4]);
        for i in 0..50 {
            let e = serde_json::json!({ "id": format!("mixed-{round}-{codec}-{i}") });
            send(p, &mixed, 0, e.to_string().as_bytes()).await;
        }
        total += 50;
    }
    topics.push(mixed);
    let group = unique("g");
    let dir = TempDir::new("codecs");
    let mut cmd = svc.host(&db);
    for t in &topics {
        cmd.args(["--topic", t]);
    }
    let mut running = cmd
        .args(["--table", "ev", "--group", &group, "--batch-ms", "50"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host.log")).expect("log"))
        .spawn()
        .expect("host starts");
    until_rows(&svc, &db, total).await;
    for t in &topics {
        let partitions = if t.contains("mixed") { 1 } else { 2 };
        all_committed(&svc, &group, t, partitions).await;
    }
    assert!(terminate(&mut running));
    assert_eq!(count(&svc, &db, "SELECT count() FROM ev").await, total);
    assert_eq!(
        count(
            &svc,
            &db,
            "SELECT uniqExact(_topic, _partition, _offset) FROM ev"
        )
        .await,
        total
    );
    assert_eq!(
        count(&svc, &db, "SELECT uniqExact(id) FROM ev").await,
        total
    );
}

/// Committed and aborted transactions, ending with an aborted one: exactly the
/// committed records become rows, and the committed offsets reach the end offsets
/// (past the commit markers and the aborted records), before and after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_topics_commit_to_their_end() {
    use rdkafka::producer::Producer;
    let svc = Services::require();
    let db = svc.fresh_database("txn").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("txn", 2).await;
    let txid = unique("tx");
    let p = producer(&svc.brokers, &[("transactional.id", &txid)]);
    p.init_transactions(Duration::from_secs(30))
        .expect("init transactions");
    let mut committed_records = 0u64;
    // (records per partition, commit?)
    let plan = [(50, true), (30, false), (50, true), (20, true), (25, false)];
    for (round, (n, commit)) in plan.iter().enumerate() {
        p.begin_transaction().expect("begin");
        for i in 0..*n {
            for partition in 0..2 {
                let e = serde_json::json!({ "id": format!("t{round}-{partition}-{i}") });
                send(&p, &topic, partition, e.to_string().as_bytes()).await;
            }
        }
        p.flush(Duration::from_secs(30)).expect("flush");
        if *commit {
            p.commit_transaction(Duration::from_secs(30))
                .expect("commit");
            committed_records += 2 * *n as u64;
        } else {
            p.abort_transaction(Duration::from_secs(30)).expect("abort");
        }
    }
    let group = unique("g");
    let dir = TempDir::new("txn");
    let mut running = svc
        .host(&db)
        .args(["--topic", &topic, "--table", "ev", "--group", &group])
        .args(["--batch-ms", "50"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host1.log")).expect("log"))
        .spawn()
        .expect("host starts");
    until_rows(&svc, &db, committed_records).await;
    all_committed(&svc, &group, &topic, 2).await;
    assert!(terminate(&mut running));
    let mut again = svc
        .host(&db)
        .args(["--topic", &topic, "--table", "ev", "--group", &group])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host2.log")).expect("log"))
        .spawn()
        .expect("host starts");
    tokio::time::sleep(Duration::from_secs(5)).await;
    all_committed(&svc, &group, &topic, 2).await;
    assert!(terminate(&mut again));
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev").await,
        committed_records
    );
    assert_eq!(
        count(
            &svc,
            &db,
            "SELECT count() FROM ev WHERE id LIKE 't1-%' OR id LIKE 't4-%'"
        )
        .await,
        0,
        "aborted records never become rows"
    );
    assert_eq!(
        count(&svc, &db, "SELECT uniqExact(_partition, _offset) FROM ev").await,
        committed_records
    );
}

/// A pipeline over a pattern consumes every matching topic, one created later too;
/// a topic name starting with `^` is refused with one line instead of silently
/// becoming a pattern, and so is a name Kafka cannot hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_subscriptions_are_explicit_and_pick_up_new_topics() {
    let svc = Services::require();
    let db = svc.fresh_database("pattern").await;
    exec(&svc, &db, EVENTS).await;
    let stem = unique("pat");
    let first = format!("{stem}.a");
    sluice_host::generate::ensure_topic(&svc.brokers, &first, 1)
        .await
        .expect("topic");
    produce(&svc.brokers, &first, &events("a", 200)).await;
    let group = unique("g");
    let dir = TempDir::new("pattern");
    let pattern = format!("{}\\..*", stem.replace('.', "\\."));
    let mut running = svc
        .host(&db)
        .args([
            "--topic-pattern",
            &pattern,
            "--table",
            "ev",
            "--group",
            &group,
        ])
        .args(["--batch-ms", "50"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host.log")).expect("log"))
        .spawn()
        .expect("host starts");
    until_rows(&svc, &db, 200).await;
    let second = format!("{stem}.b");
    sluice_host::generate::ensure_topic(&svc.brokers, &second, 1)
        .await
        .expect("topic");
    produce(&svc.brokers, &second, &events("b", 300)).await;
    until_rows(&svc, &db, 500).await;
    assert!(terminate(&mut running));
    assert_eq!(
        count(&svc, &db, "SELECT uniqExact(_topic) FROM ev").await,
        2
    );

    for (topic, needle) in [
        (format!("^{stem}"), "--topic-pattern"),
        ("bad topic".to_owned(), "1 to 249"),
    ] {
        let out = svc
            .host(&db)
            .args(["--topic", &topic, "--table", "ev"])
            .env("RUST_LOG", "off")
            .output()
            .expect("host runs");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].contains(needle) && lines[0].contains("error:"),
            "{err}"
        );
    }
}

/// Columns named with a backquote or a space are written like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oddly_named_columns_are_quoted_in_every_statement() {
    let svc = Services::require();
    let db = svc.fresh_database("quoted").await;
    exec(
        &svc,
        &db,
        "CREATE TABLE ev (`user name` String, `a\\`b` UInt32, _topic String, _topic_id String, \
         _partition Int32, _offset Int64) ENGINE = MergeTree ORDER BY (_topic, _partition, _offset)",
    )
    .await;
    let topic = svc.topic("quoted", 1).await;
    let records: Vec<(Option<Vec<u8>>, Vec<u8>)> = (0..100)
        .map(|i| {
            let e = serde_json::json!({ "user name": format!("u{i}"), "a`b": i });
            (None, e.to_string().into_bytes())
        })
        .collect();
    produce(&svc.brokers, &topic, &records).await;
    let group = unique("g");
    let dir = TempDir::new("quoted");
    let mut running = svc
        .host(&db)
        .args(["--topic", &topic, "--table", "ev", "--group", &group])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host.log")).expect("log"))
        .spawn()
        .expect("host starts");
    until_rows(&svc, &db, 100).await;
    assert!(terminate(&mut running));
    assert_eq!(
        count(&svc, &db, "SELECT sum(`a\\`b`) FROM ev").await,
        (0..100).sum::<u64>()
    );
    assert_eq!(
        count(&svc, &db, "SELECT uniqExact(`user name`) FROM ev").await,
        100
    );
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM dead_letters").await,
        0
    );
}

/// Offsets and attributes of the record batches in a Kafka log segment (format v2:
/// base offset, length, leader epoch, magic, CRC, attributes; records from byte 61).
fn batches(segment: &[u8]) -> Vec<(usize, i64, u16, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= segment.len() {
        let base = i64::from_be_bytes(segment[at..at + 8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(segment[at + 8..at + 12].try_into().expect("4 bytes"));
        let attributes = u16::from_be_bytes(segment[at + 21..at + 23].try_into().expect("2"));
        if len <= 0 {
            break;
        }
        let end = at + 12 + len as usize;
        out.push((at, base, attributes, end));
        at = end;
    }
    out
}

/// A batch the consumer cannot decode stalls its partition without a record ever
/// reaching the host. That must not be silent: the partition is logged once as
/// stalled, with its offset, shown in the status, and nothing past it committed,
/// while the other partition goes on. (A gzip batch corrupted in the broker's log,
/// on a private broker.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_decoded_stalls_its_partition_loudly() {
    use common::chaos::PrivateKafka;
    let svc = Services::require();
    let kafka = PrivateKafka::start();
    let brokers = kafka.brokers();
    let db = svc.fresh_database("stall").await;
    exec(&svc, &db, EVENTS).await;
    let topic = unique("stall");
    sluice_host::generate::ensure_topic(&brokers, &topic, 2)
        .await
        .expect("topic");
    let plain = producer(&brokers, &[("compression.type", "none")]);
    let gzip = producer(
        &brokers,
        &[
            ("compression.type", "gzip"),
            ("linger.ms", "500"),
            ("batch.num.messages", "1000"),
        ],
    );
    let event = |i: usize| {
        serde_json::json!({ "id": format!("e{i}") })
            .to_string()
            .into_bytes()
    };
    for i in 0..100 {
        send(&plain, &topic, 0, &event(i)).await;
    }
    // One gzip batch of 100 records, sent together.
    let sends: Vec<_> = (100..200)
        .map(|i| {
            let payload = event(i);
            let gzip = &gzip;
            let topic = &topic;
            async move { send(gzip, topic, 0, &payload).await }
        })
        .collect();
    futures::future::join_all(sends).await;
    for i in 200..300 {
        send(&plain, &topic, 0, &event(i)).await;
    }
    for i in 300..600 {
        send(&plain, &topic, 1, &event(i)).await;
    }
    let segment = kafka
        .service
        .run
        .join("kafka/logs")
        .join(format!("{topic}-0"))
        .join("00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).expect("segment");
    let (at, base, _, end) = batches(&bytes)
        .into_iter()
        .find(|(_, _, attributes, _)| attributes & 7 == 1)
        .expect("a gzip batch");
    assert_eq!(base, 100, "the gzip batch starts at offset 100");
    for b in &mut bytes[at + 61 + 12..end - 8] {
        *b ^= 0x5a;
    }
    std::fs::write(&segment, &bytes).expect("corrupt the batch");

    let port = common::free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let group = unique("g");
    let dir = TempDir::new("stall");
    let log = dir.0.join("host.log");
    let mut running = svc
        .host(&db)
        .args([
            "--brokers",
            &brokers,
            "--topic",
            &topic,
            "--table",
            "ev",
            "--group",
            &group,
        ])
        .args([
            "--batch-ms",
            "50",
            "--name",
            "stalling",
            "--admin",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("host starts");
    until_rows(&svc, &db, 400).await;
    wait_for(
        "the stall in the status",
        Duration::from_secs(90),
        || async {
            let status = sluice_host::admin::client::list(&admin).await.ok();
            let stalled = status
                .as_ref()
                .and_then(|l| l.iter().find(|p| p.name == "stalling"))
                .map(|p| p.stalled.clone())
                .unwrap_or_default();
            let found = stalled.iter().any(|s| s.partition == 0 && s.offset == 100);
            (found, format!("{stalled:?}"))
        },
    )
    .await;
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Partition stalled"))
        .collect();
    assert_eq!(lines.len(), 1, "logged once:\n{text}");
    assert!(
        lines[0].contains(&topic)
            && lines[0].contains("partition=0")
            && lines[0].contains("offset=100"),
        "{}",
        lines[0]
    );
    assert!(terminate(&mut running));
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev WHERE _partition = 1").await,
        300,
        "the other partition went on"
    );
    assert_eq!(
        count(&svc, &db, "SELECT count() FROM ev WHERE _partition = 0").await,
        100
    );
    let offsets = committed_and_end(&brokers, &group, &topic, 2);
    assert_eq!(
        offsets[0].0, 100,
        "nothing past the bad batch committed: {offsets:?}"
    );
    assert_eq!(offsets[1].0, offsets[1].1);
}
