//! Bad input on the real services (`scripts/services.sh up`): one topic gets valid
//! tweets mixed with non-UTF-8 payloads, 10 MB payloads, empty and null payloads,
//! empty keys, empty, valueless and non-UTF-8 headers, and JSON of the wrong shape.
//! With the sentiment plugin and with no plugin, every record must end exactly once
//! as a row or as a dead letter with a reason code, and the host must keep running.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Services, committed_and_end, plugin, terminate, wait_for};
use rdkafka::message::{BorrowedHeaders, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Ten megabytes: well over the broker's and librdkafka's 1 MB defaults.
const BIG: usize = 10 << 20;
/// The topic's and the producer's message size limit for this test.
const MAX_MESSAGE: &str = "16777216";

/// Where a record must end up, with and without the plugin.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// A row of `tweet_sentiment`.
    Row,
    /// A dead letter with one of these codes.
    Dead(&'static [&'static str]),
    /// A row, or a dead letter with one of these codes (a 10 MB tweet may hit a
    /// sandbox limit inside the plugin).
    Either(&'static [&'static str]),
}

/// Header keys and values as raw bytes; `None` is a null value.
type RawHeaders = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// One record to produce.
struct Record {
    what: &'static str,
    partition: i32,
    key: Option<Vec<u8>>,
    headers: Option<RawHeaders>,
    payload: Option<Vec<u8>>,
    with_plugin: Fate,
    without: Fate,
}

const BAD_JSON: &[&str] = &["bad-json"];
const NOT_OBJECT: &[&str] = &["not-object"];
const SCHEMA: &[&str] = &["schema"];
const LIMITS: &[&str] = &["trap-deadline", "trap-memory", "output-too-large"];

fn tweet(id: &str, text: &str) -> Vec<u8> {
    serde_json::json!({"id": id, "user": "fuzz", "text": text, "created_at": "2026-01-01 12:00:00"})
        .to_string()
        .into_bytes()
}

/// A record on partition 0 with no key and no headers.
fn bad(what: &'static str, payload: Option<Vec<u8>>, with_plugin: Fate, without: Fate) -> Record {
    Record {
        what,
        partition: 0,
        key: None,
        headers: None,
        payload,
        with_plugin,
        without,
    }
}

/// A valid tweet: a row either way.
fn ok(what: &'static str, id: &str, text: &str) -> Record {
    bad(what, Some(tweet(id, text)), Fate::Row, Fate::Row)
}

/// The mix: small records on partition 0, each 10 MB record alone on partition 1 so
/// that a sandbox limit it may hit cannot take small records down with it.
fn records() -> Vec<Record> {
    let row = Fate::Row;
    let mut out = vec![
        ok("tweet", "ok-1", "I love this, great day"),
        Record {
            key: Some(Vec::new()),
            ..ok("tweet, empty key", "ok-2", "plain text")
        },
        Record {
            key: Some(vec![0xff, 0x00]),
            headers: Some(Vec::new()),
            ..ok("tweet, binary key, empty header list", "ok-3", "awful")
        },
        Record {
            headers: Some(vec![
                (b"trace".to_vec(), None),
                (Vec::new(), Some(Vec::new())),
                (b"bin".to_vec(), Some(vec![0xff, 0xfe])),
            ]),
            ..ok("tweet, null, empty-key and binary headers", "ok-4", "fine")
        },
        Record {
            headers: Some(vec![(vec![0xff, 0xfe, b'k'], Some(b"v".to_vec()))]),
            ..ok("tweet, non-UTF-8 header key", "ok-5", "happy")
        },
        bad(
            "non-UTF-8 bytes",
            Some(vec![0xff, 0xfe, 0x00, 0x80]),
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        ),
        bad(
            "JSON with a non-UTF-8 string",
            Some(b"{\"id\":\"u\",\"text\":\"\xff\xfe\"}".to_vec()),
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        ),
        bad(
            "empty payload",
            Some(Vec::new()),
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        ),
        bad(
            "null payload (tombstone)",
            None,
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        ),
        bad(
            "JSON array",
            Some(b"[1,2]".to_vec()),
            Fate::Dead(NOT_OBJECT),
            Fate::Dead(NOT_OBJECT),
        ),
        bad(
            "JSON string",
            Some(b"\"tweet\"".to_vec()),
            Fate::Dead(NOT_OBJECT),
            Fate::Dead(NOT_OBJECT),
        ),
        bad(
            "JSON nested past serde's limit",
            Some(format!("{}{}", "[".repeat(1000), "]".repeat(1000)).into_bytes()),
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        ),
        bad(
            "text is a number",
            Some(br#"{"id":1,"user":"u","text":5}"#.to_vec()),
            Fate::Dead(&["wrong-type"]),
            row,
        ),
        bad(
            "no text",
            Some(br#"{"id":"m","user":"u"}"#.to_vec()),
            Fate::Dead(&["missing-field"]),
            row,
        ),
        bad(
            "created_at is not a time",
            Some(br#"{"id":"t","text":"ok","created_at":"yesterday"}"#.to_vec()),
            Fate::Dead(SCHEMA),
            Fate::Dead(SCHEMA),
        ),
        bad(
            "created_at with a multi-byte character in its date",
            Some(
                "{\"id\":\"t2\",\"text\":\"ok\",\"created_at\":\"2026-01-\u{1f600}01 00:00:00\"}"
                    .into(),
            ),
            Fate::Dead(SCHEMA),
            Fate::Dead(SCHEMA),
        ),
        bad(
            "hashtags is not an array",
            Some(br#"{"id":"h","text":"ok","hashtags":"a"}"#.to_vec()),
            Fate::Dead(SCHEMA),
            Fate::Dead(SCHEMA),
        ),
        bad(
            "sentiment_score is text (the plugin replaces it)",
            Some(br#"{"id":"s","text":"ok","sentiment_score":"high"}"#.to_vec()),
            row,
            Fate::Dead(SCHEMA),
        ),
        ok("tweet after the bad ones", "ok-6", "the end"),
    ];
    let big_tweet = tweet("big", &"good ".repeat(BIG / 5));
    out.push(Record {
        partition: 1,
        ..bad("10 MB tweet", Some(big_tweet), Fate::Either(LIMITS), row)
    });
    out.push(Record {
        partition: 1,
        key: Some(Vec::new()),
        ..bad(
            "10 MB of non-UTF-8 bytes",
            Some((0..BIG).map(|i| 0x80 | (i % 128) as u8).collect()),
            Fate::Dead(BAD_JSON),
            Fate::Dead(BAD_JSON),
        )
    });
    out
}

/// Headers built through librdkafka directly: rdkafka's builder takes `&str` keys, and
/// a producer in another language can send any bytes.
#[allow(unsafe_code)]
fn raw_headers(list: &RawHeaders) -> OwnedHeaders {
    use rdkafka::bindings::{rd_kafka_header_add, rd_kafka_headers_t, rd_kafka_resp_err_t};
    let headers = OwnedHeaders::new_with_capacity(list.len().max(1));
    // rdkafka's own cast: a `BorrowedHeaders` reference is the native list.
    let native = headers.as_borrowed() as *const BorrowedHeaders as *mut rd_kafka_headers_t;
    for (key, value) in list {
        let (ptr, len) = match value {
            Some(v) => (v.as_ptr().cast(), v.len() as isize),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `native` is the live list `headers` owns; librdkafka copies the key
        // and value bytes, which outlive the call.
        let err = unsafe {
            rd_kafka_header_add(native, key.as_ptr().cast(), key.len() as isize, ptr, len)
        };
        assert_eq!(err, rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    headers
}

/// Creates a two-partition topic that takes messages up to [`MAX_MESSAGE`].
async fn big_message_topic(brokers: &str) -> String {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let name = common::unique("bad_input");
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topic =
        NewTopic::new(&name, 2, TopicReplication::Fixed(1)).set("max.message.bytes", MAX_MESSAGE);
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    name
}

/// Produces each record in order and returns where each one landed.
async fn produce(brokers: &str, topic: &str, records: &[Record]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("message.max.bytes", MAX_MESSAGE)
        .create()
        .expect("producer");
    let mut out = Vec::new();
    for r in records {
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).partition(r.partition);
        if let Some(p) = &r.payload {
            record = record.payload(p.as_slice());
        }
        if let Some(k) = &r.key {
            record = record.key(k.as_slice());
        }
        if let Some(h) = &r.headers {
            record = record.headers(raw_headers(h));
        }
        let delivery = producer
            .send(record, Duration::from_secs(60))
            .await
            .unwrap_or_else(|(e, _)| panic!("producing {}: {e}", r.what));
        out.push((delivery.partition, delivery.offset));
    }
    out
}

/// A host process, killed if the test fails before stopping it.
struct Host(std::process::Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Landed {
    partition: i32,
    offset: i64,
    code: String,
    message: String,
}

/// Waits until every record is a row or a dead letter, then checks each one's fate:
/// exactly once, where it belongs, dead letters with a code and a message.
async fn check(svc: &Services, db: &str, with_plugin: bool, records: &[Record], at: &[(i32, i64)]) {
    let total = records.len() as u64;
    wait_for("every record to land", Duration::from_secs(180), || async {
        let rows = svc.count(db, "SELECT count() FROM tweet_sentiment").await;
        let dead = svc.count(db, "SELECT count() FROM dead_letters").await;
        (
            rows + dead >= total,
            format!("{rows} rows + {dead} dead letters of {total}"),
        )
    })
    .await;
    let rows: Vec<Landed> = svc
        .ch(db)
        .query("SELECT _partition AS partition, _offset AS offset, '' AS code, '' AS message FROM tweet_sentiment")
        .fetch_all()
        .await
        .expect("read rows");
    let dead: Vec<Landed> = svc
        .ch(db)
        .query("SELECT _partition AS partition, _offset AS offset, code, message FROM dead_letters")
        .fetch_all()
        .await
        .expect("read dead letters");
    let mut landed: HashMap<(i32, i64), Vec<&Landed>> = HashMap::new();
    for l in rows.iter().chain(&dead) {
        landed.entry((l.partition, l.offset)).or_default().push(l);
    }
    assert_eq!(
        rows.len() + dead.len(),
        records.len(),
        "no duplicates, nothing extra"
    );
    let mode = if with_plugin {
        "sentiment"
    } else {
        "no plugin"
    };
    for (r, place) in records.iter().zip(at) {
        let fate = if with_plugin {
            r.with_plugin
        } else {
            r.without
        };
        let got = landed.get(place).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "{mode}: {} at {place:?} landed {} times",
            r.what,
            got.len()
        );
        let l = got[0];
        let ok = match fate {
            Fate::Row => l.code.is_empty(),
            Fate::Dead(codes) => codes.contains(&l.code.as_str()),
            Fate::Either(codes) => l.code.is_empty() || codes.contains(&l.code.as_str()),
        };
        assert!(
            ok,
            "{mode}: {} should be {fate:?}, got code {:?} ({})",
            r.what, l.code, l.message
        );
        if !l.code.is_empty() {
            assert!(
                !l.message.is_empty(),
                "{mode}: {} dead letter has a message",
                r.what
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_record_ends_as_a_row_or_a_dead_letter_and_the_host_keeps_running() {
    let svc = Services::require();
    let topic = big_message_topic(&svc.brokers).await;
    let mut records = records();
    let mut at = produce(&svc.brokers, &topic, &records).await;

    // One host with the sentiment plugin and one with none, side by side.
    let mut hosts = Vec::new();
    for with_plugin in [true, false] {
        let db = svc
            .fresh_database(if with_plugin { "bad_plugin" } else { "bad_raw" })
            .await;
        let group = common::unique("g");
        let mut cmd = svc.host(&db);
        if with_plugin {
            cmd.arg("--plugin").arg(plugin("sentiment"));
        }
        cmd.args([
            "--topic",
            &topic,
            "--table",
            "tweet_sentiment",
            "--group",
            &group,
        ])
        .args(["--batch-ms", "100"]);
        hosts.push((
            with_plugin,
            db,
            group,
            Host(cmd.spawn().expect("host starts")),
        ));
    }
    for (with_plugin, db, _, host) in &mut hosts {
        check(&svc, db, *with_plugin, &records, &at).await;
        assert!(
            host.0.try_wait().expect("poll host").is_none(),
            "the host is still running"
        );
    }

    // Still consuming after all of that: a late tweet lands too.
    let late = vec![ok(
        "a tweet produced after the bad input",
        "late",
        "still here",
    )];
    at.extend(produce(&svc.brokers, &topic, &late).await);
    records.extend(late);
    for (with_plugin, db, group, host) in &mut hosts {
        check(&svc, db, *with_plugin, &records, &at).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(terminate(&mut host.0), "host exits 0 on SIGTERM");
        for (p, (committed, end)) in committed_and_end(&svc.brokers, group, &topic, 2)
            .iter()
            .enumerate()
        {
            assert_eq!(committed, end, "partition {p}: everything committed");
        }
    }
}
