//! Native tests of the whole plugin through the SDK's test runner: windows, measures,
//! grouping, lateness, passthrough, ordering, and batch-cut independence.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sluice_plugin::testing::{BatchResult, Result as Outcome, run, run_at};

use super::*;
use crate::config::FULL;

fn plugin(config: &str) -> Aggregate {
    match Aggregate::init(config) {
        Ok(p) => p,
        Err(e) => panic!("config refused: {}", e.message),
    }
}

/// A config with the given windows and measures, grouped by `url`, plus extra keys.
fn config(windows: &str, measures: &str, extra: &str) -> String {
    format!(r#"{{"windows": {windows}, "group_by": ["url"], "measures": {measures}{extra}}}"#)
}

fn minute_count(extra: &str) -> String {
    config(
        r#"[{"size": "minute", "target": "m"}]"#,
        r#"[{"name": "n", "op": "count"}]"#,
        extra,
    )
}

fn payloads(events: &[Value]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("json"))
        .collect()
}

fn run_json(p: &mut Aggregate, events: &[Value]) -> BatchResult {
    run_on(p, "clicks", 0, events)
}

fn run_on(p: &mut Aggregate, topic: &str, partition: i32, events: &[Value]) -> BatchResult {
    let bytes = payloads(events);
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    run_at(p, topic, partition, 0, &refs)
}

/// The batch-level rows as (target, JSON value).
fn partials(out: &BatchResult) -> Vec<(String, Value)> {
    out.batch_rows
        .iter()
        .map(|(target, text)| {
            let target = target.clone().expect("partial rows are targeted");
            let value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            (target, value)
        })
        .collect()
}

/// Each event's outcome: "ok" or its reason code.
fn codes(out: &BatchResult) -> Vec<String> {
    out.events
        .iter()
        .map(|r| match r {
            Outcome::Rows(_) => "ok".to_owned(),
            Outcome::Rejected(r) => r.code.clone(),
        })
        .collect()
}

/// (window_start, window_end, n) of each partial row.
fn windows_and_counts(out: &BatchResult) -> Vec<(String, String, u64)> {
    partials(out)
        .into_iter()
        .map(|(_, v)| {
            (
                v["window_start"].as_str().unwrap_or("?").to_owned(),
                v["window_end"].as_str().unwrap_or("?").to_owned(),
                v["n"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

fn w(start: &str, end: &str, n: u64) -> (String, String, u64) {
    (start.to_owned(), end.to_owned(), n)
}

#[test]
fn minute_windows_split_exactly_on_the_boundary() {
    let mut p = plugin(&minute_count(""));
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": "2026-01-01 00:00:59"}),
            json!({"timestamp": "2026-01-01 00:01:00"}),
            json!({"timestamp": "2026-01-01T00:01:59.999Z"}),
            json!({"timestamp": "2026-01-01T00:02:00Z"}),
        ],
    );
    assert_eq!(codes(&out), ["ok"; 4]);
    assert_eq!(
        windows_and_counts(&out),
        [
            w("2026-01-01 00:00:00", "2026-01-01 00:01:00", 1),
            w("2026-01-01 00:01:00", "2026-01-01 00:02:00", 2),
            w("2026-01-01 00:02:00", "2026-01-01 00:03:00", 1),
        ]
    );
}

#[test]
fn hour_day_and_custom_sizes() {
    /// (window size, event times, expected (start, end, count) rows)
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, &'static str, u64)],
    );
    let cases: [Case; 4] = [
        (
            r#""day""#,
            &["2025-12-31 23:59:59", "2026-01-01 00:00:00"],
            &[
                ("2025-12-31 00:00:00", "2026-01-01 00:00:00", 1),
                ("2026-01-01 00:00:00", "2026-01-02 00:00:00", 1),
            ],
        ),
        (
            r#""hour""#,
            &[
                "2026-01-01 00:59:59",
                "2026-01-01T01:30:00+01:00",
                "2026-01-01 01:00:00",
            ],
            &[
                ("2026-01-01 00:00:00", "2026-01-01 01:00:00", 2),
                ("2026-01-01 01:00:00", "2026-01-01 02:00:00", 1),
            ],
        ),
        (
            "900",
            &["2026-01-01 00:14:59", "2026-01-01 00:15:00"],
            &[
                ("2026-01-01 00:00:00", "2026-01-01 00:15:00", 1),
                ("2026-01-01 00:15:00", "2026-01-01 00:30:00", 1),
            ],
        ),
        // Windows align to the Unix epoch, a Thursday, as 2026-01-01 is.
        (
            "604800",
            &["2026-01-07 23:59:59", "2026-01-08 00:00:00"],
            &[
                ("2026-01-01 00:00:00", "2026-01-08 00:00:00", 1),
                ("2026-01-08 00:00:00", "2026-01-15 00:00:00", 1),
            ],
        ),
    ];
    for (size, times, want) in cases {
        let mut p = plugin(&config(
            &format!(r#"[{{"size": {size}, "target": "t"}}]"#),
            r#"[{"name": "n", "op": "count"}]"#,
            "",
        ));
        let events: Vec<Value> = times.iter().map(|t| json!({"timestamp": t})).collect();
        let out = run_json(&mut p, &events);
        let want: Vec<_> = want.iter().map(|(s, e, n)| w(s, e, *n)).collect();
        assert_eq!(windows_and_counts(&out), want, "size {size}");
    }
}

#[test]
fn epoch_seconds_and_milliseconds_are_event_times() {
    let mut p = plugin(&minute_count(r#", "time_field": "meta.ts""#));
    let out = run_json(
        &mut p,
        &[
            json!({"meta": {"ts": 1_767_225_659}}),
            json!({"meta": {"ts": 1_767_225_660_000_i64}}),
        ],
    );
    assert_eq!(
        windows_and_counts(&out),
        [
            w("2026-01-01 00:00:00", "2026-01-01 00:01:00", 1),
            w("2026-01-01 00:01:00", "2026-01-01 00:02:00", 1),
        ]
    );
}

#[test]
fn the_documented_config_writes_the_documented_row() {
    let mut p = plugin(FULL);
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": "2026-01-01 00:01:05", "url": "/cart", "user_id": "user_0042", "revenue": 40, "price": 40}),
            json!({"timestamp": "2026-01-01 00:01:10", "url": "/cart", "user_id": "user_0001", "revenue": 19.5, "price": 4.5}),
            json!({"timestamp": "2026-01-01 00:01:59", "url": "/cart", "user_id": "user_0042"}),
        ],
    );
    let minute: Vec<&str> = out
        .batch_rows
        .iter()
        .filter(|(t, _)| t.as_deref() == Some("agg_minute"))
        .map(|(_, row)| row.as_str())
        .collect();
    assert_eq!(
        minute,
        [
            r#"{"window_start":"2026-01-01 00:01:00","window_end":"2026-01-01 00:02:00","url":"/cart","hits":3,"revenue":59.5,"min_price":4.5,"max_price":40,"users":["user_0001","user_0042"]}"#
        ]
    );
}

#[test]
fn each_measure() {
    let mut p = plugin(&config(
        r#"[{"size": "hour", "target": "h"}]"#,
        r#"[{"name": "n", "op": "count"}, {"name": "total", "op": "sum", "field": "x"},
            {"name": "lo", "op": "min", "field": "x"}, {"name": "hi", "op": "max", "field": "x"},
            {"name": "who", "op": "uniq", "field": "u"}]"#,
        "",
    ));
    let t = "2026-01-01 10:00:00";
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": t, "url": "a", "x": 3, "u": "bob"}),
            json!({"timestamp": t, "url": "a", "x": -2, "u": "amy"}),
            json!({"timestamp": t, "url": "a", "x": 7, "u": "bob"}),
            json!({"timestamp": t, "url": "a", "x": null}),
            json!({"timestamp": t, "url": "a"}),
            json!({"timestamp": t, "url": "f", "x": 0.25}),
            json!({"timestamp": t, "url": "f", "x": 1}),
            json!({"timestamp": t, "url": "none"}),
        ],
    );
    assert_eq!(codes(&out), ["ok"; 8]);
    let rows: Vec<Value> = partials(&out).into_iter().map(|(_, v)| v).collect();
    let base = json!({"window_start": "2026-01-01 10:00:00", "window_end": "2026-01-01 11:00:00"});
    let with = |extra: Value| {
        let mut row = base.clone();
        if let (Some(row), Some(extra)) = (row.as_object_mut(), extra.as_object()) {
            row.extend(extra.clone());
        }
        row
    };
    assert_eq!(
        rows,
        [
            with(json!({"url": "a", "n": 5, "total": 8, "lo": -2, "hi": 7, "who": ["amy", "bob"]})),
            with(json!({"url": "f", "n": 2, "total": 1.25, "lo": 0.25, "hi": 1, "who": []})),
            // Nobody had `x`: the sum is 0 and min/max are left out.
            with(json!({"url": "none", "n": 1, "total": 0, "who": []})),
        ]
    );
    // Integer sums print as integers.
    assert!(
        out.batch_rows[0].1.contains(r#""total":8,"#),
        "{}",
        out.batch_rows[0].1
    );
}

#[test]
fn group_values_are_stringified_and_missing_ones_are_empty() {
    let mut p = plugin(
        r#"{"windows": [{"size": "day", "target": "d"}], "group_by": ["url", "geo.country"], "measures": [{"name": "n", "op": "count"}]}"#,
    );
    let t = "2026-01-01 10:00:00";
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": t, "url": "/a", "geo": {"country": "DE"}}),
            json!({"timestamp": t, "url": "/a"}),
            json!({"timestamp": t, "url": "/a", "geo": {"country": null}}),
            json!({"timestamp": t, "url": 5, "geo": {"country": true}}),
            json!({"timestamp": t, "geo": "flat"}),
            json!({"timestamp": t, "url": "/a", "geo": {"country": "DE"}}),
        ],
    );
    let keys: Vec<(Value, Value, Value)> = partials(&out)
        .into_iter()
        .map(|(_, v)| (v["url"].clone(), v["geo.country"].clone(), v["n"].clone()))
        .collect();
    assert_eq!(
        keys,
        [
            (json!(""), json!(""), json!(1)),
            (json!("/a"), json!(""), json!(2)),
            (json!("/a"), json!("DE"), json!(2)),
            (json!("5"), json!("true"), json!(1)),
        ]
    );
}

#[test]
fn uniq_is_distinct_sorted_text() {
    let mut p = plugin(&config(
        r#"[{"size": "minute", "target": "m"}]"#,
        r#"[{"name": "users", "op": "uniq", "field": "u"}]"#,
        "",
    ));
    let t = "2026-01-01 00:00:00";
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": t, "u": "b"}),
            json!({"timestamp": t, "u": "a"}),
            json!({"timestamp": t, "u": "b"}),
            json!({"timestamp": t, "u": 10}),
            json!({"timestamp": t, "u": 9}),
            json!({"timestamp": t, "u": "9"}),
            json!({"timestamp": t, "u": true}),
            json!({"timestamp": t, "u": "quote\"d"}),
            json!({"timestamp": t}),
        ],
    );
    let rows = partials(&out);
    assert_eq!(
        rows[0].1["users"],
        json!(["10", "9", "a", "b", "quote\"d", "true"])
    );
}

#[test]
fn one_event_feeds_every_window() {
    let mut p = plugin(FULL);
    let out = run_json(
        &mut p,
        &[json!({"timestamp": "2026-03-04 05:06:07", "url": "/", "revenue": 2})],
    );
    let rows: Vec<(String, String, String, i64)> = partials(&out)
        .into_iter()
        .map(|(t, v)| {
            (
                t,
                v["window_start"].as_str().unwrap_or("?").to_owned(),
                v["window_end"].as_str().unwrap_or("?").to_owned(),
                v["revenue"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let r = |t: &str, s: &str, e: &str| (t.to_owned(), s.to_owned(), e.to_owned(), 2);
    assert_eq!(
        rows,
        [
            r("agg_day", "2026-03-04 00:00:00", "2026-03-05 00:00:00"),
            r("agg_hour", "2026-03-04 05:00:00", "2026-03-04 06:00:00"),
            r("agg_minute", "2026-03-04 05:06:00", "2026-03-04 05:07:00"),
        ]
    );
}

#[test]
fn partials_cover_one_batch_only() {
    let mut p = plugin(&minute_count(""));
    let t = "2026-01-01 00:00:30";
    let first = run_json(&mut p, &[json!({"timestamp": t}), json!({"timestamp": t})]);
    assert_eq!(
        windows_and_counts(&first),
        [w("2026-01-01 00:00:00", "2026-01-01 00:01:00", 2)]
    );
    let second = run_json(&mut p, &[json!({"timestamp": t})]);
    assert_eq!(
        windows_and_counts(&second),
        [w("2026-01-01 00:00:00", "2026-01-01 00:01:00", 1)]
    );
    assert!(run_json(&mut p, &[]).batch_rows.is_empty());
    let rejected = run_json(&mut p, &[json!({"nope": 1})]);
    assert_eq!(codes(&rejected), ["missing-field"]);
    assert!(rejected.batch_rows.is_empty());
}

#[test]
fn lateness_is_judged_per_partition() {
    // Lateness 60 s, no delay: after an event at 00:06:00, windows ending at or before
    // 00:05:00 are closed.
    let mut p = plugin(&minute_count(r#", "allowed_lateness_s": 60"#));
    let at = |t: &str| json!({"timestamp": format!("2026-01-01 {t}")});
    let out = run_json(
        &mut p,
        &[
            at("00:06:00"),
            at("00:05:00"),
            at("00:04:59"),
            at("00:01:00"),
            at("00:06:30"),
        ],
    );
    assert_eq!(codes(&out), ["ok", "ok", "late", "late", "ok"]);
    let Outcome::Rejected(late) = &out.events[2] else {
        panic!("not rejected")
    };
    assert_eq!(
        late.message,
        "event time 2026-01-01 00:04:59 is late: its m window ended at 2026-01-01 00:05:00, at or before watermark 2026-01-01 00:06:00 of clicks/0 minus the allowed lateness of 60 s"
    );
    // Late events feed no partials.
    assert_eq!(
        windows_and_counts(&out),
        [
            w("2026-01-01 00:05:00", "2026-01-01 00:06:00", 1),
            w("2026-01-01 00:06:00", "2026-01-01 00:07:00", 2),
        ]
    );
    // The watermark outlives the batch; other partitions and topics have their own.
    let again = run_json(&mut p, &[at("00:04:30")]);
    assert_eq!(codes(&again), ["late"]);
    assert!(again.batch_rows.is_empty());
    assert_eq!(
        codes(&run_on(&mut p, "clicks", 1, &[at("00:00:10")])),
        ["ok"]
    );
    assert_eq!(
        codes(&run_on(&mut p, "views", 0, &[at("00:00:10")])),
        ["ok"]
    );
    assert_eq!(
        codes(&run_on(
            &mut p,
            "clicks",
            1,
            &[at("00:05:00"), at("00:03:59")]
        )),
        ["ok", "late"]
    );
}

#[test]
fn watermark_delay_and_zero_lateness() {
    let mut p = plugin(&minute_count(
        r#", "watermark_delay_s": 120, "allowed_lateness_s": 0"#,
    ));
    let at = |t: &str| json!({"timestamp": format!("2026-01-01 {t}")});
    // Watermark = 00:10:00 - 120 s = 00:08:00.
    let out = run_json(&mut p, &[at("00:10:00"), at("00:08:00"), at("00:07:59")]);
    assert_eq!(codes(&out), ["ok", "ok", "late"]);
}

#[test]
fn rejected_events_do_not_move_the_watermark() {
    let mut p = plugin(&config(
        r#"[{"size": "minute", "target": "m"}]"#,
        r#"[{"name": "s", "op": "sum", "field": "x"}]"#,
        r#", "allowed_lateness_s": 0"#,
    ));
    let out = run_json(
        &mut p,
        &[
            json!({"timestamp": "2030-01-01 00:00:00", "x": "ten"}),
            json!({"timestamp": "2026-01-01 00:00:00", "x": 1}),
        ],
    );
    assert_eq!(codes(&out), ["wrong-type", "ok"]);
}

#[test]
fn passthrough_on_and_off() {
    let event = br#"{"timestamp":"2026-01-01 00:00:00","url":"/x"}"#;
    let mut on = plugin(&minute_count(""));
    let out = run(&mut on, &[event, b"oops"]);
    assert_eq!(
        out.events[0],
        Outcome::Rows(vec![(None, String::from_utf8_lossy(event).into_owned())])
    );
    assert_eq!(out.batch_rows.len(), 1);
    let mut off = plugin(&minute_count(r#", "passthrough": false"#));
    let out = run(&mut off, &[event, b"oops"]);
    assert_eq!(out.events[0], Outcome::Rows(vec![]));
    assert_eq!(codes(&out), ["ok", "bad-json"]);
    assert_eq!(out.batch_rows.len(), 1);
}

#[test]
fn bad_events_are_rejected_with_codes_and_feed_nothing() {
    let mut p = plugin(&config(
        r#"[{"size": "minute", "target": "m"}]"#,
        r#"[{"name": "n", "op": "count"}, {"name": "lo", "op": "min", "field": "price"}]"#,
        "",
    ));
    let t = "2026-01-01 00:00:00";
    let out = run(
        &mut p,
        &[
            b"{not json",
            b"\xff",
            b"[1]",
            b"\"s\"",
            br#"{"url": "/"}"#,
            br#"{"timestamp": null}"#,
            br#"{"timestamp": "yesterday"}"#,
            br#"{"timestamp": "2026-02-30 00:00:00"}"#,
            br#"{"timestamp": true}"#,
            br#"{"timestamp": 1767225600.5}"#,
            br#"{"timestamp": 99999999999999999999}"#,
            format!(r#"{{"timestamp": "{t}", "price": "9"}}"#).as_bytes(),
            format!(r#"{{"timestamp": "{t}", "price": [1]}}"#).as_bytes(),
            format!(r#"{{"timestamp": "{t}", "price": 5}}"#).as_bytes(),
        ],
    );
    assert_eq!(
        codes(&out),
        [
            "bad-json",
            "bad-json",
            "not-object",
            "not-object",
            "missing-field",
            "missing-field",
            "bad-timestamp",
            "bad-timestamp",
            "bad-timestamp",
            "bad-timestamp",
            "bad-timestamp",
            "wrong-type",
            "wrong-type",
            "ok",
        ]
    );
    let message = |i: usize| match &out.events[i] {
        Outcome::Rejected(r) => r.message.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        message(6).contains(r#"holds "yesterday""#),
        "{}",
        message(6)
    );
    assert_eq!(
        message(11),
        r#"field "price" of measure "lo" must be a number, got a string"#
    );
    let rows = partials(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].1["n"].clone(), rows[0].1["lo"].clone()),
        (json!(1), json!(5))
    );
}

#[test]
fn partial_rows_come_out_sorted() {
    let cfg = config(
        r#"[{"size": "minute", "target": "z_minute"}, {"size": "hour", "target": "a_hour"}]"#,
        r#"[{"name": "n", "op": "count"}, {"name": "u", "op": "uniq", "field": "u"}]"#,
        r#", "allowed_lateness_s": 3600"#,
    );
    let events: Vec<Value> = [
        ("00:02:10", "/c", "x"),
        ("00:00:05", "/b", "y"),
        ("01:00:00", "/a", "z"),
        ("00:02:40", "/a", "x"),
        ("00:00:10", "/c", "w"),
        ("00:00:50", "/b", "x"),
    ]
    .iter()
    .map(|(t, url, u)| json!({"timestamp": format!("2026-01-01 {t}"), "url": url, "u": u}))
    .collect();
    let keys = |out: &BatchResult| -> Vec<(String, String, String)> {
        partials(out)
            .into_iter()
            .map(|(t, v)| {
                let s = |k: &str| v[k].as_str().unwrap_or("?").to_owned();
                (t, s("window_start"), s("url"))
            })
            .collect()
    };
    let out = run_json(&mut plugin(&cfg), &events);
    let k = |t: &str, s: &str, u: &str| (t.to_owned(), format!("2026-01-01 {s}"), u.to_owned());
    assert_eq!(
        keys(&out),
        [
            k("a_hour", "00:00:00", "/a"),
            k("a_hour", "00:00:00", "/b"),
            k("a_hour", "00:00:00", "/c"),
            k("a_hour", "01:00:00", "/a"),
            k("z_minute", "00:00:00", "/b"),
            k("z_minute", "00:00:00", "/c"),
            k("z_minute", "00:02:00", "/a"),
            k("z_minute", "00:02:00", "/c"),
            k("z_minute", "01:00:00", "/a"),
        ]
    );
    // The same events in another order give byte-identical partial rows.
    let mut reversed = events.clone();
    reversed.reverse();
    let again = run_json(&mut plugin(&cfg), &reversed);
    assert_eq!(again.batch_rows, out.batch_rows);
}

/// Totals of merged partials for one (target, window_start, url).
#[derive(Debug, Default, PartialEq)]
struct Merged {
    hits: i64,
    revenue: f64,
    min_price: Option<f64>,
    max_price: Option<f64>,
    users: BTreeSet<String>,
}

/// Merged totals keyed by (target, window_start, url).
type Totals = BTreeMap<(String, String, String), Merged>;

/// Merges partial rows the way ClickHouse would: sum, min, max and union.
fn merge(into: &mut Totals, out: &BatchResult) {
    for (target, row) in partials(out) {
        let text = |k: &str| row[k].as_str().unwrap_or("?").to_owned();
        let m = into
            .entry((target, text("window_start"), text("url")))
            .or_default();
        m.hits += row["hits"].as_i64().expect("hits");
        m.revenue += row["revenue"].as_f64().expect("revenue");
        if let Some(x) = row.get("min_price").and_then(Value::as_f64) {
            m.min_price = Some(m.min_price.map_or(x, |y| y.min(x)));
        }
        if let Some(x) = row.get("max_price").and_then(Value::as_f64) {
            m.max_price = Some(m.max_price.map_or(x, |y| y.max(x)));
        }
        for u in row["users"].as_array().expect("users") {
            m.users.insert(u.as_str().expect("text").to_owned());
        }
    }
}

/// A deterministic pseudo-random event stream: mostly increasing times with jitter (so
/// some events are within lateness and some beyond), halves for revenue so float sums
/// are exact in any order, missing fields and the odd broken event.
fn stream(seed: u64, len: usize) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    (0..len)
        .map(|i| {
            if next(40) == 0 {
                return b"{broken".to_vec();
            }
            let t = 1_767_225_600 + i as i64 * 7 + next(150) as i64 - 120;
            let url = ["/", "/cart", "/product/1"][next(3) as usize];
            let mut e = json!({
                "timestamp": t,
                "url": url,
                "user_id": format!("user_{}", next(6)),
            });
            if next(4) != 0 {
                e["revenue"] = json!(next(200) as f64 / 2.0);
            }
            if next(3) != 0 {
                e["price"] = json!(next(100) as i64 - 20);
            }
            serde_json::to_vec(&e).expect("json")
        })
        .collect()
}

/// Runs two partitions' streams cut into batches of the given sizes (cycled),
/// alternating partitions; returns merged partials and every event's outcome code.
fn run_cut(streams: &[Vec<Vec<u8>>; 2], sizes: &[usize]) -> (Totals, [Vec<String>; 2]) {
    let mut p = plugin(FULL);
    let mut merged = BTreeMap::new();
    let mut codes_by_partition: [Vec<String>; 2] = Default::default();
    let mut pos = [0usize; 2];
    let mut sizes = sizes.iter().cycle();
    while pos[0] < streams[0].len() || pos[1] < streams[1].len() {
        for partition in 0..2 {
            let events = &streams[partition];
            let size = *sizes.next().expect("cycled");
            let end = (pos[partition] + size).min(events.len());
            let batch: Vec<&[u8]> = events[pos[partition]..end]
                .iter()
                .map(Vec::as_slice)
                .collect();
            let out = run_at(
                &mut p,
                "clicks",
                partition as i32,
                pos[partition] as i64,
                &batch,
            );
            codes_by_partition[partition].extend(codes(&out));
            merge(&mut merged, &out);
            pos[partition] = end;
        }
    }
    (merged, codes_by_partition)
}

#[test]
fn totals_do_not_depend_on_batch_cuts() {
    let streams = [stream(1, 400), stream(2, 300)];
    let whole = run_cut(&streams, &[usize::MAX]);
    let singles = run_cut(&streams, &[1]);
    let ragged = run_cut(&streams, &[3, 17, 1, 64, 8, 2, 33]);
    assert_eq!(singles, whole);
    assert_eq!(ragged, whole);

    // The stream exercises what it should: late and broken events, and totals that add up.
    let (merged, codes) = whole;
    let all: Vec<&str> = codes.iter().flatten().map(String::as_str).collect();
    let accepted = all.iter().filter(|&&c| c == "ok").count();
    assert!(all.contains(&"late"), "no late events");
    assert!(all.contains(&"bad-json"), "no broken events");
    for target in ["agg_minute", "agg_hour", "agg_day"] {
        let hits: i64 = merged
            .iter()
            .filter(|((t, _, _), _)| t == target)
            .map(|(_, m)| m.hits)
            .sum();
        assert_eq!(hits, accepted as i64, "{target}");
    }
    assert!(merged.keys().filter(|(t, _, _)| t == "agg_minute").count() > 50);
}
