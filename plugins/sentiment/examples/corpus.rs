//! Prints the generated tweet corpus the oracle tests and the speed example use, as JSONL
//! (`{"text": ...}` a line), to feed `scripts/vader-oracle.py` or the `score` example.
//!
//! Run: `cargo run -p sentiment --release --example corpus -- [SEED] [N] [generator|synthetic|mixed]`

#[path = "../tests/corpus/mod.rs"]
mod corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let n = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let tweets = match args.next().as_deref() {
        Some("generator") => corpus::generator_tweets(seed, n),
        Some("synthetic") => corpus::synthetic_tweets(seed, n),
        Some("mixed") | None => corpus::mixed(seed, n),
        Some(other) => {
            eprintln!("corpus: unknown set {other:?}; expected generator, synthetic or mixed");
            std::process::exit(2);
        }
    };
    for t in tweets {
        println!("{}", serde_json::json!({ "text": t }));
    }
}
