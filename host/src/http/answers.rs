//! `GET /api/answers`: the workload's named queries (`sql/queries/*.sql`, embedded at
//! build time, so the set is fixed by the files and never taken from a request), run
//! against ClickHouse read-only with bounded time and rows, at most every few seconds
//! however often the page asks. A query is shown when every table it reads exists and
//! the first one holds rows (not any: every workload shares `dead_letters`), which
//! picks the queries of the workloads in the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use super::Http;
use crate::sink::clickhouse::ClickHouse;

/// The named queries: file stem and text.
const QUERIES: &[(&str, &str)] = &[
    (
        "sentiment_distribution",
        include_str!("../../../sql/queries/sentiment_distribution.sql"),
    ),
    (
        "tweets_per_minute",
        include_str!("../../../sql/queries/tweets_per_minute.sql"),
    ),
    (
        "top_keywords",
        include_str!("../../../sql/queries/top_keywords.sql"),
    ),
    (
        "clickstream_events_per_second",
        include_str!("../../../sql/queries/clickstream_events_per_second.sql"),
    ),
    (
        "clickstream_count_by_type",
        include_str!("../../../sql/queries/clickstream_count_by_type.sql"),
    ),
    (
        "clickstream_revenue_last_5_minutes",
        include_str!("../../../sql/queries/clickstream_revenue_last_5_minutes.sql"),
    ),
    (
        "clickstream_hits_per_minute",
        include_str!("../../../sql/queries/clickstream_hits_per_minute.sql"),
    ),
    (
        "clickstream_hits_per_minute_bruteforce",
        include_str!("../../../sql/queries/clickstream_hits_per_minute_bruteforce.sql"),
    ),
    (
        "platform_reconciliation",
        include_str!("../../../sql/queries/platform_reconciliation.sql"),
    ),
    (
        "platform_revenue_per_hour",
        include_str!("../../../sql/queries/platform_revenue_per_hour.sql"),
    ),
    (
        "platform_iot_per_minute",
        include_str!("../../../sql/queries/platform_iot_per_minute.sql"),
    ),
];

/// Answers are reused for this long, however many pages poll.
const FRESH_FOR: Duration = Duration::from_secs(3);
/// Longest one query may run, in seconds.
const MAX_SECONDS: u64 = 5;
/// Most rows one answer carries.
const MAX_ROWS: usize = 1000;

/// One query's answer as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// File stem of the query.
    pub name: String,
    /// The name in words.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, as ClickHouse's JSON gives them (64-bit integers quoted).
    pub rows: Vec<Vec<Value>>,
    /// Why there are no rows, if the query failed.
    pub error: Option<String>,
    /// How long it took.
    pub took_ms: u64,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct AnswersView {
    /// Which seeds the shown queries belong to, e.g. `seed 000`; none if no query's
    /// tables hold rows.
    pub workload: Option<String>,
    /// The shown queries' answers, in a fixed order.
    pub answers: Vec<Answer>,
}

/// The cached answers and how to refresh them.
pub(super) struct Answers {
    ch: ClickHouse,
    cache: tokio::sync::Mutex<Option<(Instant, Arc<AnswersView>)>>,
}

impl Answers {
    pub(super) fn new(ch: ClickHouse) -> Self {
        Self {
            ch,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    /// The answers, run again if the cached ones are older than [`FRESH_FOR`]; callers
    /// that arrive meanwhile wait for the same run.
    async fn get(&self) -> Arc<AnswersView> {
        let mut cache = self.cache.lock().await;
        if let Some((at, view)) = cache.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return view.clone();
        }
        let view = Arc::new(self.run().await);
        *cache = Some((Instant::now(), view.clone()));
        view
    }

    async fn run(&self) -> AnswersView {
        let rows = match self.table_rows().await {
            Ok(r) => r,
            Err(e) => {
                return AnswersView {
                    workload: None,
                    answers: vec![Answer {
                        name: "tables".into(),
                        title: "Tables".into(),
                        columns: Vec::new(),
                        rows: Vec::new(),
                        error: Some(format!("cannot list the tables: {e:#}")),
                        took_ms: 0,
                    }],
                };
            }
        };
        let shown: Vec<&(&str, &str)> = QUERIES
            .iter()
            .filter(|(_, sql)| {
                let tables = tables_read(sql);
                !tables.is_empty()
                    && tables.iter().all(|t| rows.contains_key(t))
                    && rows.get(&tables[0]).is_some_and(|n| *n > 0)
            })
            .collect();
        let mut seeds: Vec<String> = shown.iter().filter_map(|(_, sql)| seed(sql)).collect();
        seeds.sort();
        seeds.dedup();
        let answers =
            futures::future::join_all(shown.iter().map(|(name, sql)| self.answer(name, sql))).await;
        AnswersView {
            workload: (!seeds.is_empty()).then(|| seeds.join(", ")),
            answers,
        }
    }

    /// Rows per table of the database (0 for a table with no parts, such as a view).
    async fn table_rows(&self) -> anyhow::Result<HashMap<String, u64>> {
        let tables = self
            .ch
            .read_only(
                "SELECT name FROM system.tables WHERE database = currentDatabase()",
                "JSONCompact",
                MAX_SECONDS,
                10_000,
            )
            .await?;
        let mut out: HashMap<String, u64> = parse(&tables)?
            .1
            .into_iter()
            .filter_map(|r| r.first().and_then(Value::as_str).map(str::to_owned))
            .map(|t| (t, 0))
            .collect();
        let parts = self
            .ch
            .read_only(
                "SELECT table, toString(sum(rows)) FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table",
                "JSONCompact",
                MAX_SECONDS,
                10_000,
            )
            .await?;
        for r in parse(&parts)?.1 {
            if let (Some(t), Some(n)) = (
                r.first().and_then(Value::as_str),
                r.get(1).and_then(Value::as_str),
            ) {
                out.insert(t.to_owned(), n.parse().unwrap_or(0));
            }
        }
        Ok(out)
    }

    async fn answer(&self, name: &str, sql: &str) -> Answer {
        let started = Instant::now();
        let result = self
            .ch
            .read_only(sql, "JSONCompact", MAX_SECONDS, MAX_ROWS as u64)
            .await
            .and_then(|bytes| parse(&bytes));
        let took_ms = started.elapsed().as_millis() as u64;
        let (columns, mut rows, error) = match result {
            Ok((c, r)) => (c, r, None),
            Err(e) => (Vec::new(), Vec::new(), Some(format!("{e:#}"))),
        };
        rows.truncate(MAX_ROWS);
        Answer {
            name: name.to_owned(),
            title: title(name),
            columns,
            rows,
            error,
            took_ms,
        }
    }
}

pub(super) async fn answers(State(state): State<Arc<Http>>) -> Json<AnswersView> {
    Json((*state.answers.get().await).clone())
}

/// Column names and rows of a `JSONCompact` answer.
fn parse(bytes: &[u8]) -> anyhow::Result<(Vec<String>, Vec<Vec<Value>>)> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        anyhow::anyhow!(
            "unreadable answer ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )
    })?;
    let columns = doc
        .get("meta")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let rows = doc
        .get("data")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|r| r.as_array().cloned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok((columns, rows))
}

/// The tables a query reads: the names after `FROM` and `JOIN` (not `ARRAY JOIN`,
/// which reads a column), comments left out.
fn tables_read(sql: &str) -> Vec<String> {
    let text: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let kw = t.to_ascii_uppercase();
        let after_array = i > 0 && tokens[i - 1].eq_ignore_ascii_case("ARRAY");
        if (kw == "FROM" || (kw == "JOIN" && !after_array))
            && let Some(next) = tokens.get(i + 1)
        {
            let name = next.trim_matches('`');
            let is_ident = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if is_ident && !name.eq_ignore_ascii_case("SELECT") && !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// `seed 000` from a leading `-- Seed 000: ...` comment.
fn seed(sql: &str) -> Option<String> {
    let first = sql.lines().next()?.trim().strip_prefix("--")?.trim();
    let (label, _) = first.split_once(':')?;
    label
        .to_ascii_lowercase()
        .starts_with("seed")
        .then(|| label.to_ascii_lowercase())
}

/// `clickstream_count_by_type` as `Clickstream count by type`.
fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_file_is_embedded_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql/queries");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("sql/queries")
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".sql").map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut embedded: Vec<String> = QUERIES.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(files, embedded, "add a new query file to QUERIES");
    }

    #[test]
    fn tables_are_read_from_from_and_join_but_not_array_join() {
        let q = QUERIES
            .iter()
            .find(|(n, _)| *n == "top_keywords")
            .expect("query");
        assert_eq!(tables_read(q.1), vec!["tweet_sentiment"]);
        let r = QUERIES
            .iter()
            .find(|(n, _)| *n == "platform_reconciliation")
            .expect("query");
        assert_eq!(
            tables_read(r.1),
            vec![
                "ecommerce_events",
                "ecommerce_agg",
                "dead_letters",
                "iot_readings",
                "iot_agg",
                "saas_events",
                "saas_agg"
            ]
        );
        assert_eq!(
            tables_read("SELECT a FROM t1 AS x LEFT JOIN `t2` USING a -- FROM t3"),
            vec!["t1", "t2"]
        );
        for (name, sql) in QUERIES {
            assert!(!tables_read(sql).is_empty(), "{name} reads no table?");
            assert!(seed(sql).is_some(), "{name} has no `-- Seed NNN:` line");
        }
    }

    #[test]
    fn compact_json_reads_columns_and_rows() {
        let (c, r) =
            parse(br#"{"meta":[{"name":"a","type":"UInt64"}],"data":[["1"],["2"]],"rows":2}"#)
                .expect("parses");
        assert_eq!(c, vec!["a"]);
        assert_eq!(r.len(), 2);
        assert!(parse(b"Code: 60. DB::Exception").is_err());
        assert_eq!(title("top_keywords"), "Top keywords");
        assert_eq!(
            seed("-- Seed 000: share\nSELECT 1").as_deref(),
            Some("seed 000")
        );
    }
}
