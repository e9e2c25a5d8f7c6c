//! `sentiment`: scores the text of each tweet as VADER 3.3.2 does (the scorer the seed
//! systems used) and adds `sentiment_score`, `sentiment` and `keywords` to the event's
//! JSON object.
//!
//! Layout: [`tokenize`] replaces emoji by their descriptions and splits text into VADER's
//! tokens; [`lexicon`] holds the word and emoji tables that `build.rs` compiles from
//! `data/` (VADER's MIT-licensed lexicon, see `data/NOTICE.md`) and [`rules`]; [`score`]
//! applies VADER's rules; [`keywords`] extracts topic words; [`config`] reads the `init`
//! string. The plugin glue at the bottom is the only part that knows about events and rows.

pub mod config;
mod hash;
pub mod keywords;
pub mod lexicon;
mod phf;
pub mod rules;
pub mod score;
pub mod tokenize;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

use crate::config::Config;
use crate::keywords::{KeywordList, Keywords};
use crate::score::{Label, Scorer};

/// Rounds a compound score to the four decimals VADER reports and ClickHouse stores.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Columns this plugin adds; an input field of the same name is replaced.
pub const OUTPUT_KEYS: [&str; 3] = ["sentiment_score", "sentiment", "keywords"];

/// The transform: one row per tweet, the input object plus the three sentiment columns.
#[derive(Debug)]
pub struct Sentiment {
    config: Config,
    scorer: Scorer,
    keywords: Keywords,
    /// Reused keyword buffer.
    found: KeywordList,
    /// Reused output buffer; the SDK copies each row out of it.
    row: Vec<u8>,
}

impl Sentiment {
    /// Builds the plugin from a parsed config; the word tables are compiled in.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            scorer: Scorer::new(),
            keywords: Keywords::shipped(),
            found: KeywordList::new(),
            row: Vec::with_capacity(512),
        }
    }

    /// Scores one tweet object and returns the output row: the object with the three
    /// sentiment columns appended, as JSON.
    pub fn write_row(&mut self, mut tweet: Map<String, Value>) -> Result<&[u8], Reject> {
        let field = self.config.text_field.as_str();
        let text = match tweet.get(field) {
            Some(Value::String(text)) => text.as_str(),
            Some(other) => {
                return Err(Reject::new(
                    "wrong-type",
                    format!(
                        "field \"{field}\" must be a string, got {}",
                        type_name(other)
                    ),
                ));
            }
            None => {
                return Err(Reject::new(
                    "missing-field",
                    format!("missing field \"{field}\""),
                ));
            }
        };
        let compound = round4(self.scorer.compound(text));
        let label = Label::from_compound(compound, self.config.neutral_threshold);
        self.found.clear();
        self.keywords.extract(text, &mut self.found);
        for key in OUTPUT_KEYS {
            tweet.remove(key);
        }
        // Serialize the input object, then append the new columns before its closing
        // brace; this skips building a `Value` per keyword.
        let row = &mut self.row;
        row.clear();
        let encode =
            |e: serde_json::Error| Reject::new("encode", format!("could not write the row: {e}"));
        serde_json::to_writer(&mut *row, &tweet).map_err(encode)?;
        row.pop();
        if !tweet.is_empty() {
            row.push(b',');
        }
        row.extend_from_slice(b"\"sentiment_score\":");
        serde_json::to_writer(&mut *row, &compound).map_err(encode)?;
        row.extend_from_slice(b",\"sentiment\":\"");
        row.extend_from_slice(label.as_str().as_bytes());
        row.extend_from_slice(b"\",\"keywords\":[");
        for (i, keyword) in self.found.iter().enumerate() {
            if i > 0 {
                row.push(b',');
            }
            serde_json::to_writer(&mut *row, keyword).map_err(encode)?;
        }
        row.extend_from_slice(b"]}");
        Ok(row)
    }
}

use sluice_plugin::json::kind as type_name;

impl Transform for Sentiment {
    fn init(config: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::parse(config)?))
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        let tweet = event.json_object()?;
        out.row(self.write_row(tweet)?);
        Ok(())
    }
}

sluice_plugin::export_transform!(Sentiment);

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_plugin::testing::{Result as Outcome, run};

    use super::*;

    fn plugin(config: &str) -> Sentiment {
        Sentiment::init(config).expect("config is valid")
    }

    /// Runs payloads through a default plugin; returns each event's single row as JSON, or its rejection.
    fn rows(plugin: &mut Sentiment, payloads: &[&[u8]]) -> Vec<Result<Value, (String, String)>> {
        run(plugin, payloads)
            .events
            .into_iter()
            .map(|r| match r {
                Outcome::Rows(rows) => {
                    assert_eq!(rows.len(), 1, "exactly one row per event");
                    assert_eq!(rows[0].0, None, "rows are untargeted");
                    Ok(serde_json::from_str(&rows[0].1).expect("row is JSON"))
                }
                Outcome::Rejected(r) => Err((r.code, r.message)),
            })
            .collect()
    }

    #[test]
    fn tweet_gets_score_label_and_keywords_and_keeps_its_fields() {
        let payload = br#"{"id":"t-42","user":"user_17","text":"I love this new phone!","created_at":"2026-01-01 00:00:01","hashtags":["tech"],"extra":{"n":1}}"#;
        let out = rows(&mut plugin(""), &[payload]);
        let Ok(row) = &out[0] else {
            panic!("rejected: {out:?}")
        };
        assert_eq!(row["id"], "t-42");
        assert_eq!(row["user"], "user_17");
        assert_eq!(row["created_at"], "2026-01-01 00:00:01");
        assert_eq!(row["hashtags"], json!(["tech"]));
        assert_eq!(row["extra"], json!({"n": 1}));
        assert_eq!(row["sentiment"], "positive");
        assert_eq!(row["keywords"], json!(["love", "phone"]));
        let score = row["sentiment_score"].as_f64().expect("score is a number");
        assert!(score > 0.5 && score <= 1.0, "{score}");
        assert_eq!(score, round4(score), "rounded to 4 decimals");
    }

    #[test]
    fn existing_output_columns_are_replaced_and_text_is_escaped() {
        let payload = br#"{"text":"\"Quoted\" caf\u00e9 \\ news","sentiment":"old","keywords":1}"#;
        let out = rows(&mut plugin(""), &[payload]);
        let Ok(row) = &out[0] else {
            panic!("rejected: {out:?}")
        };
        assert_eq!(row["sentiment"], "neutral");
        assert_eq!(row["keywords"], json!(["quoted", "café", "news"]));
        assert_eq!(row.as_object().map(|o| o.len()), Some(4));
    }

    #[test]
    fn only_text_is_required() {
        let out = rows(
            &mut plugin(""),
            &[
                br#"{"text":"This is the worst service ever :("}"#,
                br#"{"text":""}"#,
            ],
        );
        assert_eq!(
            out[0].as_ref().map(|r| r["sentiment"].clone()),
            Ok(json!("negative"))
        );
        assert_eq!(
            out[1]
                .as_ref()
                .map(|r| (r["sentiment"].clone(), r["sentiment_score"].clone())),
            Ok((json!("neutral"), json!(0.0)))
        );
    }

    #[test]
    fn bad_events_are_rejected_with_codes() {
        let out = rows(
            &mut plugin(""),
            &[
                b"{not json",
                b"[1,2]",
                br#"{"id":"x"}"#,
                br#"{"text":42}"#,
                b"\xff\xfe",
                br#"{"text":"fine"}"#,
            ],
        );
        let codes: Vec<&str> = out
            .iter()
            .map(|r| r.as_ref().err().map_or("ok", |e| e.0.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                "bad-json",
                "not-object",
                "missing-field",
                "wrong-type",
                "bad-json",
                "ok"
            ]
        );
        assert!(
            out[0]
                .as_ref()
                .err()
                .is_some_and(|e| e.1.contains("line 1")),
            "{:?}",
            out[0]
        );
        assert_eq!(
            out[2].as_ref().err().map(|e| e.1.as_str()),
            Some(r#"missing field "text""#)
        );
    }

    #[test]
    fn text_field_and_threshold_come_from_config() {
        let mut p = plugin(r#"{"text_field":"body","neutral_threshold":0.9}"#);
        let out = rows(&mut p, &[br#"{"body":"good"}"#, br#"{"text":"good"}"#]);
        assert_eq!(
            out[0].as_ref().map(|r| r["sentiment"].clone()),
            Ok(json!("neutral"))
        );
        assert_eq!(
            out[1].as_ref().err().map(|e| e.1.as_str()),
            Some(r#"missing field "body""#)
        );
    }

    #[test]
    fn bad_config_is_refused() {
        let err = Sentiment::init(r#"{"x":1}"#).err();
        assert_eq!(err.map(|e| e.code), Some("bad-config".to_owned()));
    }
}
