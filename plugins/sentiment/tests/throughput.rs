//! Ad-hoc native timing of the hot path; prints, never asserts (tests do not time).
//! Run: `cargo test --release -p sentiment --test throughput -- --ignored --nocapture`

use std::hint::black_box;
use std::time::Instant;

use sentiment::Sentiment;
use sentiment::keywords::{KeywordList, Keywords};
use sentiment::score::Scorer;
use sluice_plugin::{Emitter, Event, Transform};

/// ~200-byte tweets of the kind the demo generator produces.
const TWEETS: &[&str] = &[
    "Just tried the new phone from @acme and honestly the camera is AMAZING, the battery lasts all day and the screen is gorgeous too!!! 😍 Totally worth the money. #tech #review https://t.co/abc123",
    "ugh the 8:15 train is delayed AGAIN, third time this week and nobody tells us anything. not happy with this service at all, I'm going to be late for work smh 😡 #commute #fail @metro_rail",
    "Reading the quarterly report on the way to the office this morning, meeting at 10 with the whole team, then lunch downtown and a call with the client in the afternoon. Busy day ahead. #work",
    "The food was good but the service was painfully slow and the waiter was kinda rude :( we waited 45 minutes for dessert. wouldn't go back tbh, there are better places in town #foodie #fail",
    "so grateful for everyone who came to the concert last night, you were incredible ❤️ the crowd was the loudest we've ever had, thank you Berlin! see you on the next tour! #music #live",
];

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn per_tweet_time() {
    let mut scorer = Scorer::new();
    let keywords = Keywords::shipped();
    let rounds = 200_000;
    let bytes: usize = TWEETS.iter().map(|t| t.len()).sum::<usize>() / TWEETS.len();

    let start = Instant::now();
    for i in 0..rounds {
        black_box(scorer.compound(black_box(TWEETS[i % TWEETS.len()])));
    }
    let score_ns = start.elapsed().as_nanos() as f64 / rounds as f64;

    let mut out = KeywordList::new();
    let start = Instant::now();
    for i in 0..rounds {
        out.clear();
        keywords.extract(black_box(TWEETS[i % TWEETS.len()]), &mut out);
        black_box(&out);
    }
    let kw_ns = start.elapsed().as_nanos() as f64 / rounds as f64;

    let payloads: Vec<Vec<u8>> = TWEETS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::to_vec(&serde_json::json!({"id": format!("t-{i}"), "user": "user_17", "text": t, "created_at": "2026-01-01 00:00:01", "hashtags": ["tech"]}))
                .expect("json")
        })
        .collect();
    let mut plugin = Sentiment::init("").expect("init");
    let start = Instant::now();
    let batches = 200;
    for _ in 0..batches {
        // A fresh emitter per 1000-event batch, as the SDK does per host call.
        let mut emitter = Emitter::default();
        for (i, payload) in payloads.iter().cycle().take(1000).enumerate() {
            let event = Event {
                topic: "tweets",
                partition: 0,
                offset: i as i64,
                timestamp_ms: 0,
                key: None,
                headers: &[],
                payload,
            };
            black_box(plugin.process(&event, &mut emitter)).expect("accepted");
        }
        black_box(emitter);
    }
    let plugin_ns = start.elapsed().as_nanos() as f64 / (batches * 1000) as f64;

    println!(
        "native, {bytes}-byte tweets: score {:.2} µs, keywords {:.2} µs, whole event (parse, score, keywords, write row) {:.2} µs",
        score_ns / 1000.0,
        kw_ns / 1000.0,
        plugin_ns / 1000.0
    );
}
