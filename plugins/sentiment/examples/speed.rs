//! Times the `vader_sentiment` crate and this plugin's scorer over the same generated
//! tweets, in one process, and prints ns/event and the ratio. Never asserts.
//!
//! Run: `cargo run -p sentiment --release --example speed [-- N]` (N tweets, default 20000).

use std::hint::black_box;
use std::time::Instant;

use sentiment::Sentiment;
use sentiment::score::Scorer;
use sluice_plugin::{Emitter, Event, Transform};
use vader_sentiment::SentimentIntensityAnalyzer;

#[path = "../tests/corpus/mod.rs"]
mod corpus;

/// Best of this many timed passes, so a busy shared machine skews less.
const PASSES: usize = 5;

fn time_per_event(texts: &[String], mut f: impl FnMut(&str) -> f64) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..PASSES {
        let start = Instant::now();
        let mut acc = 0.0;
        for t in texts {
            acc += f(black_box(t));
        }
        black_box(acc);
        best = best.min(start.elapsed().as_nanos() as f64 / texts.len() as f64);
    }
    best
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let sets = [
        ("generator", corpus::generator_tweets(7, n)),
        ("synthetic", corpus::synthetic_tweets(7, n)),
    ];
    let vader = SentimentIntensityAnalyzer::new();
    let mut scorer = Scorer::new();
    let mut plugin = Sentiment::init("").expect("init");
    println!("{n} tweets per set, best of {PASSES} passes, ns/event");
    println!(
        "{:<10} {:>6} {:>12} {:>12} {:>8} {:>14}",
        "set", "bytes", "crate", "scorer", "ratio", "whole event"
    );
    for (name, texts) in &sets {
        let bytes = texts.iter().map(String::len).sum::<usize>() / texts.len();
        let crate_ns = time_per_event(texts, |t| {
            vader
                .polarity_scores(t)
                .get("compound")
                .copied()
                .unwrap_or(0.0)
        });
        let ours_ns = time_per_event(texts, |t| scorer.compound(t));
        let payloads: Vec<Vec<u8>> = texts
            .iter()
            .map(|t| {
                serde_json::to_vec(&serde_json::json!({"id": "t-1", "text": t})).expect("json")
            })
            .collect();
        let mut best = f64::INFINITY;
        for _ in 0..PASSES {
            let start = Instant::now();
            for chunk in payloads.chunks(1000) {
                // A fresh emitter per 1000-event batch, as the SDK does per host call.
                let mut emitter = Emitter::default();
                for (i, payload) in chunk.iter().enumerate() {
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
            best = best.min(start.elapsed().as_nanos() as f64 / payloads.len() as f64);
        }
        println!(
            "{name:<10} {bytes:>6} {crate_ns:>12.0} {ours_ns:>12.0} {:>7.1}x {best:>14.0}",
            crate_ns / ours_ns
        );
    }
}
