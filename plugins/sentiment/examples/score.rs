//! Scores a JSONL stream with this plugin's scorer, natively: one `{"text": ...}` object
//! (or a bare JSON string) a line in, one `{"compound": ..., "label": ...}` line out, in
//! order. `scripts/vader-oracle.py` writes the same shape from Python's vaderSentiment,
//! and `tests/test_vader.py` compares the two.
//!
//! Run: `cargo run -p sentiment --release --example score < texts.jsonl`

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use sentiment::round4;
use sentiment::score::{DEFAULT_NEUTRAL_THRESHOLD, Label, Scorer};
use serde_json::Value;

fn main() -> ExitCode {
    let mut scorer = Scorer::new();
    let stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, line) in stdin.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("score: cannot read line {}: {e}", n + 1);
                return ExitCode::FAILURE;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let text = match serde_json::from_str::<Value>(&line) {
            Ok(Value::String(s)) => s,
            Ok(Value::Object(mut o)) => match o.remove("text") {
                Some(Value::String(s)) => s,
                _ => {
                    eprintln!("score: line {} has no string \"text\" field", n + 1);
                    return ExitCode::FAILURE;
                }
            },
            Ok(_) | Err(_) => {
                eprintln!("score: line {} is not a JSON string or object", n + 1);
                return ExitCode::FAILURE;
            }
        };
        let compound = round4(scorer.compound(&text));
        let label = Label::from_compound(compound, DEFAULT_NEUTRAL_THRESHOLD);
        let row = serde_json::json!({"compound": compound, "label": label.as_str()});
        if writeln!(out, "{row}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
