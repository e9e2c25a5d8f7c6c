//! The seed workloads, each run from its shipped example config against real Kafka and
//! ClickHouse. Data comes from the generator plugin with a fixed seed; the expected
//! answers are computed here, independently, from the records read back from Kafka.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Child;
use std::time::Duration;

use common::{
    Services, epoch_seconds, example_config, generate, plugin, read_all, terminate, wait_for,
};
use serde_json::Value;

/// Builds every plugin the examples use, then starts the host on a config copy.
fn start(svc: &Services, db: &str, example: &str, topics: &[(&str, &str)]) -> Child {
    for p in ["validate", "enrich", "dedup", "aggregate", "sentiment"] {
        plugin(p);
    }
    let config = example_config(example, topics);
    svc.host(db)
        .arg("--config")
        .arg(config)
        .spawn()
        .expect("host starts")
}

async fn wait_rows(svc: &Services, db: &str, sql: &str, want: u64) {
    wait_for("every event to land", Duration::from_secs(240), || async {
        let n = svc.count(db, sql).await;
        (n >= want, format!("{n} of {want}"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn parse(payload: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(payload).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn str_field<'a>(m: &'a serde_json::Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn ts_ok(m: &serde_json::Map<String, Value>) -> Option<i64> {
    let t = epoch_seconds(str_field(m, "timestamp")?)?;
    (946_684_800..4_102_444_800).contains(&t).then_some(t)
}

/// The clickstream example's validation rules, restated.
fn valid_click(m: &serde_json::Map<String, Value>) -> bool {
    let id_ok = str_field(m, "event_id").is_some_and(|s| !s.is_empty() && s.chars().count() <= 64);
    let type_ok = matches!(
        str_field(m, "event_type"),
        Some("page_view" | "add_to_cart" | "purchase")
    );
    let user_ok = str_field(m, "user_id").is_some_and(|s| !s.is_empty());
    let price_ok = m
        .get("price")
        .and_then(Value::as_f64)
        .is_some_and(|p| (0.0..=100_000.0).contains(&p));
    id_ok && type_ok && user_ok && price_ok && ts_ok(m).is_some()
}

fn revenue(m: &serde_json::Map<String, Value>) -> f64 {
    let price = m.get("price").and_then(Value::as_f64).unwrap_or(0.0);
    let qty = m.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
    (price * qty * 100.0).round() / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_002_clickstream_answers_match() {
    let svc = Services::require();
    let db = svc.fresh_database("seed002").await;
    let topic = svc.topic("clickstream", 3).await;
    let n = 6_000;
    generate(
        &svc,
        &topic,
        r#"{"kind":"clickstream","invalid_every":97}"#,
        n,
        11,
        0,
    );
    let records = read_all(&svc.brokers, &topic, 3);
    assert_eq!(records.len() as u64, n);
    let valid: Vec<_> = records
        .iter()
        .filter_map(|(_, _, p)| parse(p))
        .filter(valid_click)
        .collect();
    assert!(
        valid.len() < records.len(),
        "the stream carries invalid events"
    );

    let mut host = start(&svc, &db, "clickstream", &[("clickstream", &topic)]);
    wait_rows(
        &svc,
        &db,
        "SELECT (SELECT count() FROM clickstream_events) + (SELECT count() FROM dead_letters)",
        n,
    )
    .await;
    assert!(terminate(&mut host));

    assert_eq!(
        svc.count(&db, "SELECT count() FROM clickstream_events")
            .await,
        valid.len() as u64
    );
    assert_eq!(
        svc.count(&db, "SELECT count() FROM dead_letters").await,
        n - valid.len() as u64
    );
    assert_eq!(
        svc.count(
            &db,
            "SELECT uniqExact(_partition, _offset) FROM clickstream_events"
        )
        .await,
        valid.len() as u64
    );

    // Count by event type.
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for m in &valid {
        *by_type
            .entry(str_field(m, "event_type").unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let got: Vec<(String, u64)> = svc
        .ch(&db)
        .query(
            &std::fs::read_to_string(
                common::workspace().join("sql/queries/clickstream_count_by_type.sql"),
            )
            .expect("query"),
        )
        .fetch_all()
        .await
        .expect("count by type");
    let got: BTreeMap<String, u64> = got.into_iter().collect();
    assert_eq!(got, by_type);

    // Revenue of purchases in the last 5 minutes of event time.
    let newest = valid.iter().filter_map(ts_ok).max().expect("events");
    let recent: Vec<_> = valid
        .iter()
        .filter(|m| {
            str_field(m, "event_type") == Some("purchase")
                && ts_ok(m).is_some_and(|t| t > newest - 300)
        })
        .collect();
    let want_revenue = (recent.iter().map(|m| revenue(m)).sum::<f64>() * 100.0).round() / 100.0;
    let (got_revenue, got_purchases): (f64, u64) = svc
        .ch(&db)
        .query(
            &std::fs::read_to_string(
                common::workspace().join("sql/queries/clickstream_revenue_last_5_minutes.sql"),
            )
            .expect("query"),
        )
        .fetch_one()
        .await
        .expect("revenue");
    assert_eq!(got_purchases, recent.len() as u64);
    assert!(
        (got_revenue - want_revenue).abs() < 0.005,
        "revenue {got_revenue} vs {want_revenue}"
    );

    // Events per second, newest ten seconds.
    let mut per_second: BTreeMap<i64, u64> = BTreeMap::new();
    for m in &valid {
        *per_second.entry(ts_ok(m).expect("valid ts")).or_default() += 1;
    }
    let want: Vec<u64> = per_second.values().rev().take(10).copied().collect();
    let got: Vec<(u32, u64)> = svc
        .ch(&db)
        .query(
            &std::fs::read_to_string(
                common::workspace().join("sql/queries/clickstream_events_per_second.sql"),
            )
            .expect("query"),
        )
        .fetch_all()
        .await
        .expect("per second");
    assert_eq!(got.iter().map(|(_, c)| *c).collect::<Vec<_>>(), want);
    assert_eq!(i64::from(got[0].0), newest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_003_minute_aggregates_equal_brute_force_over_raw() {
    let svc = Services::require();
    let db = svc.fresh_database("seed003").await;
    let topic = svc.topic("clickstream", 3).await;
    let n = 5_000;
    generate(
        &svc,
        &topic,
        r#"{"kind":"clickstream","interval_ms":40}"#,
        n,
        5,
        0,
    );
    // Re-send 200 records as producer-side duplicates (same event_id and key, new
    // offsets): a retrying producer keeps the key, so a duplicate lands on the same
    // partition, which is where the dedup window lives.
    let records = read_all(&svc.brokers, &topic, 3);
    let dupes: Vec<(Option<Vec<u8>>, Vec<u8>)> = records
        .iter()
        .take(200)
        .map(|(_, _, p)| {
            let user = parse(p)
                .and_then(|m| str_field(&m, "user_id").map(str::to_owned))
                .expect("user_id");
            (Some(user.into_bytes()), p.clone())
        })
        .collect();
    common::produce(&svc.brokers, &topic, &dupes).await;
    let records = read_all(&svc.brokers, &topic, 3);

    // Expected: unique event_ids, per (minute, url) hits and distinct users.
    let mut seen = HashSet::new();
    let mut want: BTreeMap<(i64, String), (u64, BTreeSet<String>)> = BTreeMap::new();
    for (_, _, p) in &records {
        let m = parse(p).expect("clickstream records are JSON");
        let id = str_field(&m, "event_id").expect("id").to_owned();
        if !seen.insert(id) {
            continue;
        }
        let t = ts_ok(&m).expect("timestamp");
        let slot = want
            .entry((
                t - t.rem_euclid(60),
                str_field(&m, "url").unwrap_or_default().to_owned(),
            ))
            .or_default();
        slot.0 += 1;
        slot.1
            .insert(str_field(&m, "user_id").unwrap_or_default().to_owned());
    }
    let unique = seen.len() as u64;
    assert_eq!(unique, n, "the duplicates repeat event ids");

    let mut host = start(&svc, &db, "clickstream_agg", &[("clickstream", &topic)]);
    wait_rows(&svc, &db, "SELECT count() FROM clickstream_events", unique).await;
    wait_for(
        "aggregates to catch up",
        Duration::from_secs(60),
        || async {
            let hits = svc
                .count(
                    &db,
                    "SELECT toUInt64(sumMerge(hits)) FROM clickstream_agg_minute",
                )
                .await;
            (hits >= unique, format!("{hits} hits"))
        },
    )
    .await;
    assert!(terminate(&mut host));

    assert_eq!(
        svc.count(&db, "SELECT count() FROM clickstream_events")
            .await,
        unique,
        "dedup dropped repeats"
    );
    assert_eq!(svc.count(&db, "SELECT count() FROM dead_letters").await, 0);
    let read = |name: &str| {
        std::fs::read_to_string(common::workspace().join(format!("sql/queries/{name}.sql")))
            .expect("query")
    };
    let agg: Vec<(u32, String, u64, u64)> = svc
        .ch(&db)
        .query(&read("clickstream_hits_per_minute"))
        .fetch_all()
        .await
        .expect("agg");
    let brute: Vec<(u32, String, u64, u64)> = svc
        .ch(&db)
        .query(&read("clickstream_hits_per_minute_bruteforce"))
        .fetch_all()
        .await
        .expect("brute");
    assert_eq!(
        agg, brute,
        "aggregates equal the brute-force count over raw events"
    );
    let want: Vec<(u32, String, u64, u64)> = want
        .into_iter()
        .map(|((t, url), (hits, users))| (t as u32, url, hits, users.len() as u64))
        .collect();
    assert_eq!(agg, want, "aggregates equal the independent count");
}

/// The platform example's validation rules per stream, restated.
fn valid_platform(stream: &str, m: &serde_json::Map<String, Value>) -> bool {
    let num_in = |k: &str, lo: f64, hi: f64, required: bool| match m.get(k) {
        None => !required,
        Some(v) => v.as_f64().is_some_and(|x| (lo..=hi).contains(&x)),
    };
    let nonempty = |k: &str| str_field(m, k).is_some_and(|s| !s.is_empty());
    let ts = ts_ok(m).is_some();
    match stream {
        "ecommerce" => {
            nonempty("event_id")
                && matches!(
                    str_field(m, "event_type"),
                    Some("view" | "add_to_cart" | "purchase" | "refund")
                )
                && nonempty("user_id")
                && num_in("price", 0.0, 100_000.0, true)
                && (m.get("quantity").is_none()
                    || m.get("quantity")
                        .and_then(Value::as_i64)
                        .is_some_and(|q| (1..=100).contains(&q)))
                && ts
        }
        "iot" => {
            nonempty("device_id")
                && matches!(
                    str_field(m, "sensor"),
                    Some("temperature" | "humidity" | "pressure" | "co2")
                )
                && num_in("value", -100.0, 10_000.0, true)
                && (m.get("battery").is_none()
                    || m.get("battery")
                        .and_then(Value::as_i64)
                        .is_some_and(|b| (0..=100).contains(&b)))
                && ts
        }
        _ => {
            nonempty("tenant_id")
                && matches!(
                    str_field(m, "event_type"),
                    Some("login" | "api_call" | "feature_use" | "error" | "logout")
                )
                && (m.get("latency_ms").is_none()
                    || m.get("latency_ms")
                        .and_then(Value::as_i64)
                        .is_some_and(|l| l >= 0))
                && ts
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_001_platform_reconciles_raw_aggregates_and_dead_letters() {
    let svc = Services::require();
    let db = svc.fresh_database("seed001").await;
    let n = 3_000;
    let mut topics = Vec::new();
    let mut want = BTreeMap::new();
    for (i, stream) in ["ecommerce", "iot", "saas"].into_iter().enumerate() {
        let topic = svc.topic(stream, 3).await;
        generate(
            &svc,
            &topic,
            &format!(r#"{{"kind":"{stream}","invalid_every":50,"interval_ms":500}}"#),
            n,
            100 + i as u64,
            0,
        );
        let valid = read_all(&svc.brokers, &topic, 3)
            .iter()
            .filter_map(|(_, _, p)| parse(p))
            .filter(|m| valid_platform(stream, m))
            .count() as u64;
        assert!(valid < n, "{stream} carries invalid events");
        want.insert(stream.to_owned(), valid);
        topics.push((stream, topic));
    }
    let renames: Vec<(&str, &str)> = topics.iter().map(|(s, t)| (*s, t.as_str())).collect();
    let mut host = start(&svc, &db, "platform", &renames);
    let all = "SELECT (SELECT count() FROM ecommerce_events) + (SELECT count() FROM iot_readings) + (SELECT count() FROM saas_events) + (SELECT count() FROM dead_letters)";
    wait_rows(&svc, &db, all, 3 * n).await;
    assert!(terminate(&mut host));

    let sql = std::fs::read_to_string(
        common::workspace().join("sql/queries/platform_reconciliation.sql"),
    )
    .expect("query");
    let rows: Vec<(String, u64, u64, u64, u64, u64)> = svc
        .ch(&db)
        .query(&sql)
        .fetch_all()
        .await
        .expect("reconciliation");
    assert_eq!(rows.len(), 3);
    for (stream, raw, minute, hour, day, dead) in rows {
        assert_eq!(
            raw, want[&stream],
            "{stream}: raw rows are the valid events"
        );
        assert_eq!(
            (minute, hour, day),
            (raw, raw, raw),
            "{stream}: every window size counts every raw row"
        );
        assert_eq!(raw + dead, n, "{stream}: raw + dead letters = produced");
    }
    // Enrichment happened: revenue is price x quantity, hours and countries are filled.
    assert_eq!(svc.count(&db, "SELECT count() FROM ecommerce_events WHERE abs(revenue - round(price * quantity, 2)) > 0.001").await, 0);
    assert_eq!(
        svc.count(
            &db,
            "SELECT count() FROM ecommerce_events WHERE country = '' OR device = '' OR browser = ''"
        )
        .await,
        0
    );
    assert_eq!(
        svc.count(
            &db,
            "SELECT count() FROM ecommerce_events WHERE hour != toHour(timestamp)"
        )
        .await,
        0
    );
    // Per-hour revenue from partials equals the raw table's.
    let hourly: Vec<(u32, u64, f64, u64)> = svc
        .ch(&db)
        .query(
            &std::fs::read_to_string(
                common::workspace().join("sql/queries/platform_revenue_per_hour.sql"),
            )
            .expect("query"),
        )
        .fetch_all()
        .await
        .expect("hourly");
    let raw_hourly: Vec<(u32, u64, f64, u64)> = svc
        .ch(&db)
        .query("SELECT toStartOfHour(timestamp) AS h, count(), round(sum(revenue), 2), uniqExact(user_id) FROM ecommerce_events GROUP BY h ORDER BY h")
        .fetch_all()
        .await
        .expect("raw hourly");
    assert_eq!(hourly.len(), raw_hourly.len());
    for (a, b) in hourly.iter().zip(&raw_hourly) {
        assert_eq!((a.0, a.1, a.3), (b.0, b.1, b.3));
        assert!((a.2 - b.2).abs() < 0.01, "revenue {} vs {}", a.2, b.2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_000_tweets_example_answers_match() {
    let svc = Services::require();
    let db = svc.fresh_database("seed000").await;
    let topic = svc.topic("tweets", 3).await;
    let n = 4_000;
    generate(
        &svc,
        &topic,
        r#"{"kind":"tweets","interval_ms":250}"#,
        n,
        3,
        0,
    );
    let records = read_all(&svc.brokers, &topic, 3);
    let mut host = start(&svc, &db, "tweets", &[("tweets", &topic)]);
    wait_rows(&svc, &db, "SELECT count() FROM tweet_sentiment", n).await;
    assert!(terminate(&mut host));
    assert_eq!(
        svc.count(&db, "SELECT count() FROM tweet_sentiment").await,
        n
    );
    let read = |name: &str| {
        std::fs::read_to_string(common::workspace().join(format!("sql/queries/{name}.sql")))
            .expect("query")
    };

    // Tweets per minute, from created_at of the records read back from Kafka.
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, _, p) in &records {
        let m = parse(p).expect("tweet json");
        let t = epoch_seconds(str_field(&m, "created_at").expect("created_at")).expect("time");
        *per_minute.entry(t - t.rem_euclid(60)).or_default() += 1;
    }
    let want: Vec<(u32, u64)> = per_minute
        .iter()
        .rev()
        .take(10)
        .map(|(t, c)| (*t as u32, *c))
        .collect();
    let got: Vec<(u32, u64, f64)> = svc
        .ch(&db)
        .query(&read("tweets_per_minute"))
        .fetch_all()
        .await
        .expect("per minute");
    assert_eq!(
        got.iter().map(|(t, c, _)| (*t, *c)).collect::<Vec<_>>(),
        want
    );

    // Distribution: counts add up and percentages follow from them.
    let dist: Vec<(String, u64, f64)> = svc
        .ch(&db)
        .query(&read("sentiment_distribution"))
        .fetch_all()
        .await
        .expect("distribution");
    assert_eq!(dist.iter().map(|d| d.1).sum::<u64>(), n);
    for (label, total, pct) in &dist {
        assert!(["positive", "neutral", "negative"].contains(&label.as_str()));
        assert!(
            (pct - (100.0 * *total as f64 / n as f64 * 100.0).round() / 100.0).abs() < 0.011,
            "{label}: {pct}"
        );
    }

    // Top keywords: recounted here from the stored keyword lists of positive tweets.
    let lists: Vec<Vec<String>> = svc
        .ch(&db)
        .query("SELECT keywords FROM tweet_sentiment WHERE sentiment = 'positive'")
        .fetch_all()
        .await
        .expect("keywords");
    let mut freq: BTreeMap<String, u64> = BTreeMap::new();
    for list in lists {
        for k in list {
            *freq.entry(k).or_default() += 1;
        }
    }
    let mut want: Vec<(String, u64)> = freq.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    want.truncate(10);
    let got: Vec<(String, u64)> = svc
        .ch(&db)
        .query(&read("top_keywords"))
        .fetch_all()
        .await
        .expect("top keywords");
    assert_eq!(got, want);
}
