//! The chaos suite: each scenario produces a known set of events, breaks something
//! while the host runs (the host itself, its consumer group, ClickHouse, the broker,
//! the input, the plugins), and then checks ClickHouse against Kafka offset by
//! offset: rows + dead letters = events produced, no (topic, partition, offset)
//! twice, none missing, and every offset committed.
//!
//! Short sizes by default (seconds per scenario, part of `cargo test`); with
//! `CHAOS_FULL=1` the full sizes (`make chaos` runs them and prints the table of the
//! rows each scenario appends to the file named by `CHAOS_REPORT`). Schedules are
//! random; each scenario prints its seed and `CHAOS_SEED` repeats it. Scenarios 3,
//! 4 and 7 run their own ClickHouse / Kafka (the project's scripts, other ports and run
//! directories), so the shared services other tests use are never disturbed.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::chaos::*;
use common::{Services, TempDir, free_port, plugin, unique};
use sluice_host::admin::client;

// ----------------------------------------------------------------------------
// Scenarios
// ----------------------------------------------------------------------------

/// 1. kill -9 the host at random moments while the generator writes (3 kills at
/// 500 events/s; full: 20 kills at 5,000 events/s), restarting it each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_1_host_killed_at_random_moments_under_load() {
    let scenario = "1 host kill -9";
    let svc = Services::require();
    let kills = size(3, 20);
    let rate = size(500, 5_000);
    let mut rng = Rng::new(scenario);
    let logs = Logs::new("kill");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_kill").await;
    let topic = svc.topic("chaos_kill", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);
    let start = || {
        Proc::spawn(
            &mut tweets_host(&svc, &db, &topic, &group, &logs),
            "host",
            Some(&rss),
        )
    };

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 11, &logs);
    let mut host = start();
    let mut last_kill = Instant::now();
    for i in 0..kills {
        // A random moment while the host is writing: after it made progress since it
        // (re)started (which takes a session timeout after a kill -9).
        let before = target.accounted().await;
        target
            .progress(before, Duration::from_secs(90), &format!("host run {i}"))
            .await;
        tokio::time::sleep(rng.millis(0, 1_500)).await;
        host.kill9();
        last_kill = Instant::now();
        host = start();
    }
    let acked = stop_generator(generator, &logs);
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the last host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - last_kill),
            note: format!("{kills} kills at {rate}/s; generator acked {acked:?}"),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 2. A rebalance storm: three hosts in one group, started, stopped with SIGTERM and
/// killed with SIGKILL at random while the generator writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_2_rebalance_storm_of_three_hosts() {
    let scenario = "2 rebalance storm";
    let svc = Services::require();
    let actions = size(8, 40);
    let rate = size(500, 5_000);
    let mut rng = Rng::new(scenario);
    let logs = Logs::new("storm");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_storm").await;
    let topic = svc.topic("chaos_storm", 6).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group).with_partitions(6);
    let start = || {
        Proc::spawn(
            &mut tweets_host(&svc, &db, &topic, &group, &logs),
            "host",
            Some(&rss),
        )
    };

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 12, &logs);
    let mut members: Vec<Option<Proc>> = (0..3).map(|_| Some(start())).collect();
    target
        .progress(0, Duration::from_secs(60), "first rows")
        .await;
    let (mut terms, mut kills, mut starts) = (0, 0, 0);
    let mut last_action = Instant::now();
    for _ in 0..actions {
        tokio::time::sleep(rng.millis(300, size(2_000, 4_000))).await;
        let k = rng.below(3) as usize;
        // Both kinds of stop happen even in the short run: the first stop is a kill -9,
        // the second a SIGTERM, the rest at random.
        let graceful = match (kills, terms) {
            (0, _) => false,
            (_, 0) => true,
            _ => rng.coin(),
        };
        match members[k].take() {
            Some(host) if graceful => {
                stop_cleanly(host, &format!("member {k}"));
                terms += 1;
            }
            Some(host) => {
                host.kill9();
                kills += 1;
            }
            None => {
                members[k] = Some(start());
                starts += 1;
            }
        }
        last_action = Instant::now();
    }
    let acked = stop_generator(generator, &logs);
    for slot in &mut members {
        if slot.is_none() {
            *slot = Some(start());
        }
    }
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    for (k, host) in members.into_iter().enumerate() {
        if let Some(host) = host {
            stop_cleanly(host, &format!("member {k}"));
        }
    }
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - last_action),
            note: format!(
                "{actions} actions: {terms} SIGTERM, {kills} kill -9, {starts} starts; 6 partitions at {rate}/s"
            ),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 3. ClickHouse killed (SIGKILL) for a while and restarted under load (3 s; full:
/// 60 s), on a private server; the host's RSS is sampled every 200 ms throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_3_clickhouse_killed_and_restarted() {
    let scenario = "3 ClickHouse down";
    let shared = Services::require();
    let outage = size(Duration::from_secs(3), Duration::from_secs(60));
    let rate = size(500, 5_000);
    let logs = Logs::new("clickhouse");
    let clickhouse = PrivateClickHouse::start();
    let svc = Services {
        brokers: shared.brokers.clone(),
        clickhouse_url: clickhouse.url(),
    };
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_ch").await;
    let topic = svc.topic("chaos_ch", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 13, &logs);
    let host = Proc::spawn(
        &mut tweets_host(&svc, &db, &topic, &group, &logs),
        "host",
        Some(&rss),
    );
    target
        .progress(rate, Duration::from_secs(60), "rows before the outage")
        .await;
    clickhouse.script("kill");
    tokio::time::sleep(outage).await;
    // Everything produced during the outage is the backlog the host must drain.
    let acked = stop_generator(generator, &logs);
    clickhouse.script("start");
    let back = Instant::now();
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - back),
            note: format!("SIGKILL, down {outage:?} at {rate}/s"),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 4. The Kafka broker restarted under load, on a private broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_4_kafka_broker_restarted_under_load() {
    let scenario = "4 broker restart";
    let shared = Services::require();
    let rate = size(500, 5_000);
    let logs = Logs::new("broker");
    let kafka = PrivateKafka::start();
    let svc = Services {
        brokers: kafka.brokers(),
        clickhouse_url: shared.clickhouse_url.clone(),
    };
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_broker").await;
    let topic = svc.topic("chaos_broker", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 14, &logs);
    let host = Proc::spawn(
        &mut tweets_host(&svc, &db, &topic, &group, &logs),
        "host",
        Some(&rss),
    );
    target
        .progress(rate, Duration::from_secs(60), "rows before the restart")
        .await;
    let down = Instant::now();
    kafka.script("restart");
    let back = Instant::now();
    // Keep producing across the restart, then a little after it.
    let after = size(Duration::from_secs(2), Duration::from_secs(10));
    tokio::time::sleep(after).await;
    let acked = stop_generator(generator, &logs);
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - back),
            note: format!(
                "restart took {:.1} s at {rate}/s, producing until {after:?} after; generator acked {acked:?}",
                (back - down).as_secs_f64()
            ),
        },
        &logs,
    );
    if let Some(acked) = acked {
        assert_eq!(acked, tally.produced, "generator acks = end offsets");
    }
}

/// Good clickstream events for the validate pipeline that the test writes itself,
/// with an empty key and empty headers: they must become rows all the same.
fn bare_good_event(i: usize) -> Vec<u8> {
    format!(
        r#"{{"event_id":"bare-{i}","event_type":"page_view","user_id":"u{i}","product_id":"p1","price":9.5,"quantity":1,"timestamp":"2026-01-01 10:00:00","url":"/p/1","referrer":"","session_id":"s{i}"}}"#
    )
    .into_bytes()
}

/// The `i`th poison event and its kind; every payload is distinct (but empty ones).
fn poison(i: usize, oversize_every: usize) -> (&'static str, Vec<u8>) {
    let mb = 1 << 20;
    if i % oversize_every == oversize_every - 1 {
        return match (i / oversize_every) % 3 {
            // Over the 1 MiB batch limit and over Kafka's default 1 MB message size.
            0 => ("oversize", format!("{i} {}", "x".repeat(mb + mb / 2)).into_bytes()),
            1 => (
                "oversize",
                format!(
                    r#"{{"event_id":"{}-{i}","event_type":"page_view","user_id":"u","price":1,"timestamp":"2026-01-01 10:00:00"}}"#,
                    "e".repeat(mb + 1000)
                )
                .into_bytes(),
            ),
            _ => (
                "oversize",
                format!(
                    r#"{{"event_id":"big-{i}","event_type":"page_view","user_id":"u","price":"free","timestamp":"2026-01-01 10:00:00","url":"/{}"}}"#,
                    "u".repeat(mb + mb / 4)
                )
                .into_bytes(),
            ),
        };
    }
    let ok_rest =
        r#""event_type":"page_view","user_id":"u","price":1,"timestamp":"2026-01-01 10:00:00""#;
    match i % 12 {
        0 => ("bad-json", format!("not json {i}").into_bytes()),
        1 => (
            "bad-json",
            format!(r#"{{"event_id":"p-{i}","price": "#).into_bytes(),
        ),
        2 => ("not-object", format!("[{i}, 2, 3]").into_bytes()),
        3 => (
            "wrong-type",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":"u","price":"12.50","timestamp":"2026-01-01 10:00:00"}}"#).into_bytes(),
        ),
        4 => (
            "wrong-type",
            format!(r#"{{"event_id":{i},{ok_rest}}}"#).into_bytes(),
        ),
        5 => (
            "wrong-type",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":["u"],"price":1,"timestamp":true}}"#).into_bytes(),
        ),
        6 => (
            "missing-field",
            format!(r#"{{"id":"p-{i}","price":1}}"#).into_bytes(),
        ),
        7 => (
            "enum-range",
            format!(r#"{{"event_id":"p-{i}","event_type":"refund","user_id":"u","price":-{i},"timestamp":"2026-01-01 10:00:00"}}"#).into_bytes(),
        ),
        8 => {
            let mut b = vec![0xff, 0xfe, 0xfd];
            b.extend_from_slice(i.to_string().as_bytes());
            ("non-utf8", b)
        }
        9 => {
            let mut b = br#"{"event_id":"p-"#.to_vec();
            b.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
            b.extend_from_slice(format!(r#"{i}",{ok_rest}}}"#).as_bytes());
            ("non-utf8", b)
        }
        10 => ("empty", Vec::new()),
        _ => (
            "bad-timestamp",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":"u","price":1,"timestamp":"yesterday {i}"}}"#).into_bytes(),
        ),
    }
}

/// Creates a topic that takes messages up to 8 MiB.
async fn big_message_topic(brokers: &str, prefix: &str, partitions: i32) -> String {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let name = unique(prefix);
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1))
        .set("max.message.bytes", "8388608");
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in results {
        r.expect("topic created");
    }
    name
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Located {
    partition: i32,
    offset: i64,
}

/// 5. Poison events mixed in with good ones (500 among 1,500; full: 10,000 among
/// 40,000), through the validate + enrich pipeline of examples/clickstream.toml:
/// every poison event is a dead letter with a reason, every good one a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_5_poison_events_become_dead_letters_and_good_ones_rows() {
    let scenario = "5 poison events";
    let svc = Services::require();
    let poison_n: usize = size(500, 10_000);
    let good_n: u64 = size(1_500, 40_000);
    let oversize_every = size(150, 500);
    let rounds: u64 = 4;
    let logs = Logs::new("poison");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_poison").await;
    let topic = big_message_topic(&svc.brokers, "chaos_poison", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "clickstream_events", &topic, &group);

    // The example's rules, with a 1 MiB batch limit that oversize events exceed.
    let config = common::example_config("clickstream", &[("clickstream", &topic)]);
    let text = std::fs::read_to_string(&config).expect("read config");
    let text = text.replace(
        "batch = { max_rows = 1000, max_wait_ms = 1000 }",
        &format!(
            "group = \"{group}\"\nbatch = {{ max_rows = 1000, max_bytes = 1048576, max_wait_ms = 100 }}"
        ),
    );
    assert!(
        text.contains("max_bytes = 1048576"),
        "example batch line changed"
    );
    std::fs::write(&config, text).expect("write config");

    // Good events from the generator and poison from us, interleaved in rounds.
    let mut poison_payloads: HashSet<Vec<u8>> = HashSet::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let per_round = poison_n.div_ceil(rounds as usize);
    let mut i = 0;
    for round in 0..rounds {
        common::generate(
            &svc,
            &topic,
            r#"{"kind":"clickstream"}"#,
            good_n / rounds,
            100 + round,
            0,
        );
        let mut records = Vec::new();
        while i < poison_n && i < per_round * (round as usize + 1) {
            let (kind, payload) = poison(i, oversize_every);
            *kinds.entry(kind).or_default() += 1;
            // Empty events have an empty key and empty headers as well.
            let empty = payload.is_empty();
            let key = if empty {
                Some(Vec::new())
            } else {
                Some(format!("k{}", i % 7).into_bytes())
            };
            poison_payloads.insert(payload.clone());
            records.push(RawRecord {
                key,
                empty_headers: empty,
                payload,
            });
            i += 1;
        }
        // A few good events with an empty key and empty headers among them.
        for j in 0..5 {
            records.push(RawRecord {
                key: Some(Vec::new()),
                empty_headers: true,
                payload: bare_good_event(round as usize * 5 + j),
            });
        }
        produce_raw(&svc.brokers, &topic, &records).await;
    }
    let bare = rounds * 5;
    let good_total = good_n / rounds * rounds + bare;

    let mut host = svc.host(&db);
    host.arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    let started = Instant::now();
    let host = Proc::spawn(&mut host, "host", Some(&rss));
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");

    // Offset by offset: each poison event is a dead letter, each good one a row.
    let all = tokio::task::block_in_place(|| common::read_all(&svc.brokers, &topic, 3));
    let mut want_dead = HashSet::new();
    let mut want_rows = HashSet::new();
    for (p, o, payload) in &all {
        if poison_payloads.contains(payload) {
            want_dead.insert((*p, *o));
        } else {
            want_rows.insert((*p, *o));
        }
    }
    let located = |sql: &'static str| {
        let ch = svc.ch(&db);
        let topic = topic.clone();
        async move {
            ch.query(sql)
                .bind(topic)
                .fetch_all::<Located>()
                .await
                .expect(sql)
                .into_iter()
                .map(|l| (l.partition, l.offset))
                .collect::<HashSet<_>>()
        }
    };
    let dead_at = located(
        "SELECT _partition AS partition, _offset AS offset FROM dead_letters WHERE _topic = ?",
    )
    .await;
    let rows_at = located(
        "SELECT _partition AS partition, _offset AS offset FROM clickstream_events WHERE _topic = ?",
    )
    .await;
    let codes: Vec<(String, u64)> = svc
        .ch(&db)
        .query(
            "SELECT code, count() FROM dead_letters WHERE _topic = ? GROUP BY code ORDER BY code",
        )
        .bind(&topic)
        .fetch_all()
        .await
        .expect("codes");
    let unexplained = target
        .count("SELECT count() FROM dead_letters WHERE _topic = ? AND (code = '' OR message = '')")
        .await
        .expect("count");
    let longest = target
        .count("SELECT toUInt64(max(length(payload))) FROM dead_letters WHERE _topic = ?")
        .await
        .expect("count");
    println!("[{scenario}] poison by kind {kinds:?}; dead letters by code {codes:?}");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - started),
            note: format!(
                "{poison_n} poison + {good_total} good; codes {}",
                codes
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        &logs,
    );
    assert_eq!(all.len() as u64, tally.produced);
    assert_eq!(want_dead.len(), poison_n, "poison events in the topic");
    assert_eq!(
        want_rows.len() as u64,
        good_total,
        "good events in the topic"
    );
    let missing_dead: Vec<_> = want_dead.difference(&dead_at).take(5).collect();
    let wrong_dead: Vec<_> = dead_at.difference(&want_dead).take(5).collect();
    assert!(
        missing_dead.is_empty() && wrong_dead.is_empty(),
        "poison not dead-lettered (first 5): {missing_dead:?}; good events dead-lettered (first 5): {wrong_dead:?}"
    );
    assert_eq!(rows_at, want_rows, "every good event is a row");
    assert_eq!(unexplained, 0, "every dead letter has a code and a message");
    assert!(
        longest > 1 << 20,
        "oversize payloads are kept whole in dead letters ({longest} bytes)"
    );
}

/// 6. Hostile plugins (panic, endless loop, memory bomb, stack overflow, oversized
/// output) in one host beside a healthy pipeline: the healthy one's totals are
/// exact while the hostile one faults (a few poison events per batch are isolated;
/// stretches of nothing but poison fault whole batches), is quarantined, and is
/// swapped (admin API) to a plugin that processes what it held; every hostile event
/// is accounted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_6_hostile_plugins_beside_a_healthy_pipeline() {
    let scenario = "6 hostile plugins";
    let svc = Services::require();
    let hostile_n: usize = size(400, 5_000);
    let healthy_n: u64 = size(3_000, 100_000);
    let rate = size(1_000, 5_000);
    let logs = Logs::new("hostile");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_hostile").await;
    let bad_topic = svc.topic("chaos_hostile", 2).await;
    let good_topic = svc.topic("chaos_healthy", 3).await;
    let (bad_group, good_group) = (unique("g"), unique("g"));
    let bad = Target::new(&svc, &db, "tweet_sentiment", &bad_topic, &bad_group).with_partitions(2);
    let good = Target::new(&svc, &db, "tweet_sentiment", &good_topic, &good_group);

    const MISCHIEF: [&str; 6] = ["panic", "loop", "oom", "stack", "huge", "big"];
    let mut records = Vec::new();
    // Stretches of a few poison events, which the chain isolates, alternate with
    // stretches of nothing else, which fault whole batches and quarantine the pipeline.
    for i in 0..hostile_n {
        let dense = (i / 100) % 2 == 1;
        let payload = if dense || i % 9 == 4 {
            MISCHIEF[(i / 9) % MISCHIEF.len()].as_bytes().to_vec()
        } else {
            format!(r#"{{"id":"h-{i}","user":"u","text":"fine {i}"}}"#).into_bytes()
        };
        records.push((Some(format!("k{i}").into_bytes()), payload));
    }
    common::produce(&svc.brokers, &bad_topic, &records).await;

    let dir = TempDir::new("sluice-chaos-hostile");
    let config = dir.write(
        "sluice.toml",
        format!(
            r#"
[[pipeline]]
name = "hostile"
topics = ["{bad_topic}"]
group = "{bad_group}"
table = "tweet_sentiment"
batch = {{ max_rows = 10, max_wait_ms = 50 }}
limits = {{ deadline_ms = 300, memory_bytes = 134217728, max_output_bytes = 1048576 }}
lifecycle = {{ quarantine_after = 5 }}
[[pipeline.plugins]]
path = "{hostile}"

[[pipeline]]
name = "healthy"
topics = ["{good_topic}"]
group = "{good_group}"
table = "tweet_sentiment"
batch = {{ max_rows = 500, max_wait_ms = 50 }}
[[pipeline.plugins]]
path = "{sentiment}"
"#,
            hostile = plugin("hostile").display(),
            sentiment = plugin("sentiment").display(),
        )
        .as_bytes(),
    );
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let mut cmd = svc.host(&db);
    cmd.arg("--config")
        .arg(&config)
        .args(["--admin", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    let host = Proc::spawn(&mut cmd, "host", Some(&rss));
    let generator = spawn_generator(
        &svc.brokers,
        &good_topic,
        TWEETS,
        healthy_n,
        rate,
        16,
        &logs,
    );

    // Until every hostile event is accounted for: swap the plugin whenever the
    // pipeline is quarantined (passthrough: what it held is processed, not lost),
    // and roll back to the hostile plugin a little later, for another round.
    let fixed = std::fs::read(plugin("passthrough")).expect("read passthrough");
    let rollback_after = size(Duration::from_millis(500), Duration::from_secs(2));
    let (mut swaps, mut rollbacks) = (0, 0);
    let mut swapped_at: Option<Instant> = None;
    let mut on_passthrough_since: Option<Instant> = None;
    let deadline = Instant::now() + settle_limit();
    while bad.accounted().await < hostile_n as u64 && Instant::now() < deadline {
        let state = client::list(&admin)
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|p| p.name == "hostile"));
        if let Some(s) = state.filter(|s| s.state == "quarantined") {
            println!("[{scenario}] quarantined: {:?}; swapping", s.quarantine);
            client::swap(&admin, "hostile", 0, "passthrough.wasm", fixed.clone())
                .await
                .expect("a swap lifts the quarantine");
            swaps += 1;
            swapped_at = Some(Instant::now());
            on_passthrough_since = swapped_at;
        } else if on_passthrough_since.is_some_and(|t| t.elapsed() >= rollback_after) {
            client::rollback(&admin, "hostile", 0)
                .await
                .expect("roll back to the hostile plugin");
            rollbacks += 1;
            on_passthrough_since = None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let gen_status = generator_done(generator);
    let generated = Instant::now();
    let (bad_tally, bad_settled) = bad.settle(Duration::from_secs(30)).await;
    let (good_tally, good_settled) = good.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    let healthy_state = client::list(&admin)
        .await
        .ok()
        .and_then(|l| l.into_iter().find(|p| p.name == "healthy"))
        .map(|p| p.state);
    stop_cleanly(host, "the host");
    let codes: Vec<(String, u64)> = svc
        .ch(&db)
        .query(
            "SELECT code, count() FROM dead_letters WHERE _topic = ? GROUP BY code ORDER BY code",
        )
        .bind(&bad_topic)
        .fetch_all()
        .await
        .expect("codes");
    println!("[{scenario}] hostile dead letters by code {codes:?}");
    let started = swapped_at.unwrap_or(deadline);
    let traps: u64 = codes
        .iter()
        .filter(|(c, _)| c.starts_with("trap-") || c == "output-too-large")
        .map(|(_, n)| n)
        .sum();
    record_and_check(
        Report {
            scenario: "6 hostile plugins: healthy pipeline",
            tally: good_tally,
            peak_rss_mib: peak,
            recovery: good_settled.map(|at| at.saturating_duration_since(generated)),
            note: format!("beside the hostile pipeline, {healthy_n} tweets at {rate}/s"),
        },
        &logs,
    );
    record_and_check(
        Report {
            scenario: "6 hostile plugins: hostile pipeline",
            tally: bad_tally,
            peak_rss_mib: peak,
            recovery: bad_settled.map(|at| at.saturating_duration_since(started)),
            note: format!(
                "quarantines lifted by swap: {swaps}; rollbacks to the hostile plugin: {rollbacks}; codes {}",
                codes
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        &logs,
    );
    assert!(gen_status, "the healthy generator finished");
    assert_eq!(
        good_tally.dead, 0,
        "the healthy pipeline has no dead letters"
    );
    assert_eq!(good_tally.produced, healthy_n);
    assert_eq!(healthy_state.as_deref(), Some("running"));
    assert!(traps > 0, "the hostile plugin faulted: {codes:?}");
    assert!(
        swaps > 0,
        "the hostile pipeline was quarantined and swapped"
    );
}

/// Waits for a generator with a fixed count to finish; true if it succeeded.
fn generator_done(mut generator: Proc) -> bool {
    generator
        .wait(Duration::from_secs(300))
        .is_ok_and(|s| s.success())
}

/// 7. ClickHouse stalled (SIGSTOP) while the group rebalances: two hosts share six
/// partitions under load; each round freezes the server, has a third host join (or
/// leave), waits, and thaws it. Inserts of an old owner that the frozen server holds
/// land when it wakes, after the new owner took over: without a fence between owners
/// they were written twice. Every revoke must also return well within the group's
/// session timeout, so a slow insert never stalls a member's other partitions, and a
/// hung server must show up in the log as timed-out requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_7_clickhouse_stalled_during_rebalances() {
    let scenario = "7 stall during rebalance";
    let shared = Services::require();
    let rounds = size(10, 20);
    let rate = size(500, 5_000);
    let mut rng = Rng::new(scenario);
    let logs = Logs::new("stall");
    let clickhouse = PrivateClickHouse::start();
    let svc = Services {
        brokers: shared.brokers.clone(),
        clickhouse_url: clickhouse.url(),
    };
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_stall").await;
    let topic = svc.topic("chaos_stall", 6).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group).with_partitions(6);
    let start = || {
        let mut cmd = tweets_host(&svc, &db, &topic, &group, &logs);
        // CHAOS_HOST_LOG=debug shows every commit, for reading a loss against.
        let log = std::env::var("CHAOS_HOST_LOG").unwrap_or_else(|_| "info".to_owned());
        cmd.env("RUST_LOG", log)
            .args(["--clickhouse-timeout-ms", "3000"]);
        Proc::spawn(&mut cmd, "host", Some(&rss))
    };
    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 17, &logs);
    let (a, b) = (start(), start());
    let mut third: Option<Proc> = None;
    target
        .progress(0, Duration::from_secs(60), "first rows")
        .await;
    let mut stalled = Duration::ZERO;
    for round in 0..rounds {
        target
            .progress(
                0,
                Duration::from_secs(120),
                &format!("rows before round {round}"),
            )
            .await;
        let stall = rng.millis(size(4_000, 20_000), size(8_000, 80_000));
        third = match third.take() {
            None => {
                // A host that finds ClickHouse frozen at start fails its start (a
                // timeout), so the server freezes once it is up and joining.
                let started = |text: &str| text.matches("Pipeline started.").count();
                let before =
                    started(&std::fs::read_to_string(logs.path("host.log")).unwrap_or_default());
                let host = start();
                let deadline = Instant::now() + Duration::from_secs(30);
                while started(&std::fs::read_to_string(logs.path("host.log")).unwrap_or_default())
                    == before
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                clickhouse.script("pause");
                Some(host)
            }
            Some(host) if rng.coin() => {
                clickhouse.script("pause");
                stop_cleanly(host, "the third host");
                None
            }
            Some(host) => {
                clickhouse.script("pause");
                host.kill9();
                None
            }
        };
        tokio::time::sleep(stall).await;
        clickhouse.script("resume");
        stalled += stall;
    }
    let acked = stop_generator(generator, &logs);
    let back = Instant::now();
    let (tally, settled) = target.settle(settle_limit()).await;
    if tally.duplicates > 0 {
        println!(
            "[{scenario}] duplicates: {}",
            target.describe_duplicates().await
        );
    }
    if tally.lost > 0 {
        println!("[{scenario}] lost: {}", target.describe_lost().await);
    }
    let peak = rss.peak_mib();
    for host in [Some(a), Some(b), third].into_iter().flatten() {
        stop_cleanly(host, "a host");
    }
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - back),
            note: format!(
                "{rounds} rounds, {:.0} s frozen in all, a third host joining or leaving in each; 6 partitions at {rate}/s",
                stalled.as_secs_f64()
            ),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
    let text = std::fs::read_to_string(logs.path("host.log")).unwrap_or_default();
    let waits: Vec<u64> = text
        .lines()
        .filter(|l| l.contains("Revoke done."))
        .filter_map(|l| {
            l.split("waited_ms=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .collect();
    assert!(!waits.is_empty(), "the rounds caused revokes");
    let longest = waits.iter().copied().max().unwrap_or(0);
    assert!(
        longest < 10_000,
        "a revoke held librdkafka's poll for {longest} ms, past the 10 s session timeout"
    );
    assert!(
        text.contains("timed out after"),
        "a frozen server shows up as timed-out requests in the log"
    );
}
