//! Times the `vader_sentiment` crate, this plugin's scorer and the whole plugin (parse,
//! score, keywords, row) over the same generated tweets, in one process, and prints
//! ns/event and the ratio. Never asserts; tests do not time.
//!
//! Run: `cargo run -p sentiment --release --example speed [-- N]` (N distinct tweets per
//! set, default 2,000, small enough to stay in cache as a batch's texts would).
//!
//! Shared machines are noisy, so each set is cut into chunks short enough (well under a
//! millisecond) to run between two preemptions; each chunk is timed several times and
//! its best time kept; the figure is the sum of the chunks' best times per event.

use std::hint::black_box;
use std::time::Instant;

use sentiment::Sentiment;
use sentiment::score::Scorer;
use sluice_plugin::{Emitter, Event, Transform};
use vader_sentiment::SentimentIntensityAnalyzer;

#[path = "../tests/corpus/mod.rs"]
mod corpus;

/// Timings of each chunk; its best is kept.
const REPEATS: usize = 15;

/// ns per item of `f` over `items`: the sum over chunks of `chunk` items of each chunk's
/// best of [`REPEATS`] timings, divided by the number of items.
fn ns_per<T>(items: &[T], chunk: usize, mut f: impl FnMut(&T)) -> f64 {
    let mut total = 0.0;
    for part in items.chunks(chunk) {
        let mut best = f64::MAX;
        for _ in 0..REPEATS {
            let start = Instant::now();
            for item in part {
                f(black_box(item));
            }
            best = best.min(start.elapsed().as_nanos() as f64);
        }
        total += best;
    }
    total / items.len() as f64
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let sets = [
        ("generator", corpus::generator_tweets(7, n)),
        ("synthetic", corpus::synthetic_tweets(7, n)),
    ];
    let vader = SentimentIntensityAnalyzer::new();
    let mut scorer = Scorer::new();
    let mut plugin = Sentiment::init("").expect("init");
    println!("{n} tweets per set, best of {REPEATS} timings per chunk, ns/event");
    println!(
        "{:<10} {:>6} {:>10} {:>10} {:>8} {:>13}",
        "set", "bytes", "crate", "scorer", "ratio", "whole event"
    );
    for (name, texts) in &sets {
        let bytes = texts.iter().map(String::len).sum::<usize>() / texts.len();
        let payloads: Vec<Vec<u8>> = texts
            .iter()
            .map(|t| {
                serde_json::to_vec(&serde_json::json!({"id": "t-1", "user": "user_7", "text": t}))
                    .expect("json")
            })
            .collect();
        // Warm up the scorer's buffers and the plugin's before timing.
        for t in texts {
            black_box(scorer.compound(t));
        }
        let crate_ns = ns_per(texts, 50, |t| {
            black_box(vader.polarity_scores(t).get("compound").copied());
        });
        let ours_ns = ns_per(texts, 500, |t| {
            black_box(scorer.compound(t));
        });
        // One emitter per 250-event batch, as the SDK makes one per host call.
        let batches: Vec<&[Vec<u8>]> = payloads.chunks(250).collect();
        let event_ns = ns_per(&batches, 1, |batch| {
            let mut emitter = Emitter::default();
            for (i, payload) in batch.iter().enumerate() {
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
        }) * batches.len() as f64
            / payloads.len() as f64;
        println!(
            "{name:<10} {bytes:>6} {crate_ns:>10.0} {ours_ns:>10.0} {:>7.1}x {event_ns:>13.0}",
            crate_ns / ours_ns
        );
    }
}
