//! Times the `vader_sentiment` crate, this plugin's scorer and the whole plugin (parse,
//! score, keywords, row) over the same generated tweets, in one process, and prints
//! ns/event and the ratio. Never asserts; tests do not time.
//!
//! Run: `cargo run -p sentiment --release --example speed [-- N]` (N distinct tweets per
//! set, default 2,000, small enough to stay in cache as a batch's texts would). Each
//! measurement is the best of several passes, interleaved, so a busy machine skews less.

use std::hint::black_box;
use std::time::Instant;

use sentiment::Sentiment;
use sentiment::score::Scorer;
use sluice_plugin::{Emitter, Event, Transform};
use vader_sentiment::SentimentIntensityAnalyzer;

#[path = "../tests/corpus/mod.rs"]
mod corpus;

/// Interleaved passes; each figure is the best one.
const PASSES: usize = 7;

/// ns per item of one call of `f` over `items`, repeated `rounds` times.
fn ns_per<T>(items: &[T], rounds: usize, mut f: impl FnMut(&T)) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for item in items {
            f(black_box(item));
        }
    }
    start.elapsed().as_nanos() as f64 / (rounds * items.len()) as f64
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
    println!("{n} tweets per set, best of {PASSES} interleaved passes, ns/event");
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
        let batches: Vec<&[Vec<u8>]> = payloads.chunks(1000).collect();
        let (mut crate_ns, mut ours_ns, mut event_ns) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..PASSES {
            crate_ns = crate_ns.min(ns_per(texts, 1, |t| {
                black_box(vader.polarity_scores(t).get("compound").copied());
            }));
            ours_ns = ours_ns.min(ns_per(texts, 50, |t| {
                black_box(scorer.compound(t));
            }));
            // A fresh emitter per 1000-event batch, as the SDK does per host call.
            let per_batch = ns_per(&batches, 10, |batch| {
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
            });
            event_ns = event_ns.min(per_batch * batches.len() as f64 / payloads.len() as f64);
        }
        println!(
            "{name:<10} {bytes:>6} {crate_ns:>10.0} {ours_ns:>10.0} {:>7.1}x {event_ns:>13.0}",
            crate_ns / ours_ns
        );
    }
}
