//! The plugin's configuration, from the pipeline's `init` string: a JSON object naming the
//! time field, the windows and their targets, the grouping fields and the measures.
//! Parsing is strict: unknown keys and impossible settings are refused with the fix.

use serde_json::{Map, Value};
use sluice_plugin::ConfigError;
use sluice_plugin::config::{Empty, Preamble};

/// What a config looks like, quoted in errors about the config as a whole.
pub const EXAMPLE: &str = r#"{"time_field": "timestamp", "windows": [{"size": "minute", "target": "agg_minute"}], "group_by": ["url"], "measures": [{"name": "hits", "op": "count"}, {"name": "revenue", "op": "sum", "field": "revenue"}]}"#;

/// How config errors name the plugin; empty is refused, since there is nothing to aggregate.
const PREAMBLE: Preamble = Preamble {
    plugin: "aggregate",
    example: EXAMPLE,
    empty: Empty::Refuse { needs: None },
};

/// Largest custom window, 366 days; calendar months and years are not fixed sizes.
pub const MAX_WINDOW_S: i64 = 366 * 86_400;

/// Largest watermark delay or allowed lateness, 30 days; more would keep nothing late.
pub const MAX_DELAY_S: i64 = 30 * 86_400;

/// Column names every partial row has; a group field or measure may not reuse them.
pub const RESERVED: [&str; 2] = ["window_start", "window_end"];

/// Settings of one plugin instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Field holding the event time (dotted path allowed).
    pub time_field: Field,
    /// Tumbling windows, sorted by target so partial rows come out in target order.
    pub windows: Vec<Window>,
    /// Fields whose stringified values key a partial row, in config order.
    pub group_by: Vec<Field>,
    /// What each partial row computes, in config order.
    pub measures: Vec<Measure>,
    /// Subtracted from the highest event time seen on a partition to give its watermark.
    pub watermark_delay_ms: i64,
    /// How long after the watermark passes a window's end its events are still accepted.
    pub allowed_lateness_ms: i64,
    /// Whether each accepted event is also emitted unchanged for the raw table.
    pub passthrough: bool,
}

/// One tumbling window size and the output (table) its partial rows go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Window length in milliseconds (a whole number of seconds).
    pub size_ms: i64,
    /// Output name the pipeline maps to a table.
    pub target: String,
}

impl Window {
    /// Start of the window holding `time_ms`: windows are aligned to the Unix epoch.
    pub fn start(&self, time_ms: i64) -> i64 {
        time_ms.div_euclid(self.size_ms) * self.size_ms
    }
}

/// A field of the event: its name as written in the config, and that name split on dots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The config spelling, also the output column name for group fields.
    pub name: String,
    /// Keys to follow through nested objects.
    pub path: Vec<String>,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        let path: Vec<String> = name.split('.').map(str::to_owned).collect();
        path.iter().all(|p| !p.is_empty()).then(|| Self {
            name: name.to_owned(),
            path,
        })
    }
}

/// What a measure computes over the events of one partial row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Number of events.
    Count,
    /// Sum of a numeric field.
    Sum,
    /// Smallest value of a numeric field.
    Min,
    /// Largest value of a numeric field.
    Max,
    /// Distinct stringified values of a field, sorted.
    Uniq,
}

/// One output column of the partial rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Output column name.
    pub name: String,
    /// What it computes.
    pub op: Op,
    /// The input field; `None` exactly for `count`.
    pub field: Option<Field>,
}

fn default_time_field() -> &'static str {
    "timestamp"
}

fn default_allowed_lateness_s() -> i64 {
    60
}

fn default_passthrough() -> bool {
    true
}

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError::bad_config(format!("aggregate: {}", message.into()))
}

impl Config {
    /// Parses the `init` string, which must be a JSON object such as [`EXAMPLE`].
    pub fn parse(config: &str) -> Result<Self, ConfigError> {
        let map = sluice_plugin::config::object(config, &PREAMBLE)?;
        let mut time_field = None;
        let mut windows = None;
        let mut group_by = Vec::new();
        let mut measures = None;
        let mut watermark_delay_s = 0;
        let mut allowed_lateness_s = default_allowed_lateness_s();
        let mut passthrough = default_passthrough();
        for (key, value) in &map {
            match key.as_str() {
                "time_field" => time_field = Some(parse_field(value, "`time_field`")?),
                "windows" => windows = Some(parse_windows(value)?),
                "group_by" => group_by = parse_group_by(value)?,
                "measures" => measures = Some(parse_measures(value)?),
                "watermark_delay_s" => watermark_delay_s = parse_seconds(value, key)?,
                "allowed_lateness_s" => allowed_lateness_s = parse_seconds(value, key)?,
                "passthrough" => {
                    passthrough = value.as_bool().ok_or_else(|| {
                        bad("`passthrough` must be true or false; expected true to also emit each accepted event for the raw table")
                    })?;
                }
                other => {
                    return Err(bad(format!(
                        "unknown config key `{other}`; expected time_field, windows, group_by, measures, watermark_delay_s, allowed_lateness_s or passthrough"
                    )));
                }
            }
        }
        let time_field = time_field.unwrap_or_else(|| Field {
            name: default_time_field().to_owned(),
            path: vec![default_time_field().to_owned()],
        });
        let windows = windows.ok_or_else(|| {
            bad(r#"`windows` is missing; expected a list such as [{"size": "minute", "target": "agg_minute"}]"#)
        })?;
        let measures = measures.ok_or_else(|| {
            bad(r#"`measures` is missing; expected a list such as [{"name": "hits", "op": "count"}]"#)
        })?;
        let mut names: Vec<&str> = RESERVED.to_vec();
        for name in group_by
            .iter()
            .map(|g| g.name.as_str())
            .chain(measures.iter().map(|m| m.name.as_str()))
        {
            if names.contains(&name) {
                return Err(bad(format!(
                    "column `{name}` appears twice in the partial rows; expected group_by fields and measure names to be distinct and not window_start or window_end"
                )));
            }
            names.push(name);
        }
        Ok(Self {
            time_field,
            windows,
            group_by,
            measures,
            watermark_delay_ms: watermark_delay_s * 1000,
            allowed_lateness_ms: allowed_lateness_s * 1000,
            passthrough,
        })
    }
}

fn parse_field(value: &Value, what: &str) -> Result<Field, ConfigError> {
    value.as_str().and_then(Field::parse).ok_or_else(|| {
        bad(format!(
            "{what} must name a field, got {value}; expected a string such as \"url\" or \"user.country\""
        ))
    })
}

fn parse_seconds(value: &Value, key: &str) -> Result<i64, ConfigError> {
    value
        .as_i64()
        .filter(|s| (0..=MAX_DELAY_S).contains(s))
        .ok_or_else(|| {
            bad(format!(
                "`{key}` must be a whole number of seconds from 0 to {MAX_DELAY_S}, got {value}"
            ))
        })
}

fn parse_list<'v>(value: &'v Value, key: &str, example: &str) -> Result<&'v [Value], ConfigError> {
    match value {
        Value::Array(items) if !items.is_empty() => Ok(items),
        _ => Err(bad(format!(
            "`{key}` must be a non-empty list; expected one such as {example}"
        ))),
    }
}

fn object<'v>(
    item: &'v Value,
    key: &str,
    example: &str,
) -> Result<&'v Map<String, Value>, ConfigError> {
    item.as_object().ok_or_else(|| {
        bad(format!(
            "each entry of `{key}` must be an object, got {item}; expected one such as {example}"
        ))
    })
}

fn parse_windows(value: &Value) -> Result<Vec<Window>, ConfigError> {
    const EX: &str = r#"{"size": "minute", "target": "agg_minute"}"#;
    let mut windows: Vec<Window> = Vec::new();
    for item in parse_list(value, "windows", &format!("[{EX}]"))? {
        let (mut size_ms, mut target) = (None, None);
        for (key, v) in object(item, "windows", EX)? {
            match key.as_str() {
                "size" => {
                    let seconds = match v {
                        Value::String(s) if s == "minute" => Some(60),
                        Value::String(s) if s == "hour" => Some(3600),
                        Value::String(s) if s == "day" => Some(86_400),
                        _ => v.as_i64().filter(|s| (1..=MAX_WINDOW_S).contains(s)),
                    };
                    size_ms = Some(seconds.map(|s| s * 1000).ok_or_else(|| {
                        bad(format!(
                            "window size {v} is not supported; expected \"minute\", \"hour\", \"day\" or a whole number of seconds from 1 to {MAX_WINDOW_S}"
                        ))
                    })?);
                }
                "target" => match v {
                    Value::String(s) if !s.is_empty() => target = Some(s.clone()),
                    _ => {
                        return Err(bad(format!(
                            "window target must be a non-empty string naming an output, got {v}; expected one such as \"agg_minute\""
                        )));
                    }
                },
                other => {
                    return Err(bad(format!(
                        "unknown window key `{other}`; expected size and target, as in {EX}"
                    )));
                }
            }
        }
        let (Some(size_ms), Some(target)) = (size_ms, target) else {
            return Err(bad(format!(
                "window {item} needs both size and target; expected one such as {EX}"
            )));
        };
        if windows.iter().any(|w| w.target == target) {
            return Err(bad(format!(
                "window target `{target}` appears twice; expected one target (table) per window"
            )));
        }
        windows.push(Window { size_ms, target });
    }
    windows.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(windows)
}

fn parse_group_by(value: &Value) -> Result<Vec<Field>, ConfigError> {
    let Value::Array(items) = value else {
        return Err(bad(format!(
            "`group_by` must be a list of field names, got {value}; expected one such as [\"url\"], or []"
        )));
    };
    items
        .iter()
        .map(|item| parse_field(item, "each `group_by` entry"))
        .collect()
}

fn parse_measures(value: &Value) -> Result<Vec<Measure>, ConfigError> {
    const EX: &str = r#"{"name": "revenue", "op": "sum", "field": "revenue"}"#;
    let mut measures = Vec::new();
    for item in parse_list(value, "measures", &format!("[{EX}]"))? {
        let (mut name, mut op, mut field) = (None, None, None);
        for (key, v) in object(item, "measures", EX)? {
            match key.as_str() {
                "name" => match v {
                    Value::String(s) if !s.is_empty() => name = Some(s.clone()),
                    _ => {
                        return Err(bad(format!(
                            "measure name must be a non-empty string, got {v}; expected the output column, such as \"revenue\""
                        )));
                    }
                },
                "op" => {
                    op = Some(match v.as_str() {
                        Some("count") => Op::Count,
                        Some("sum") => Op::Sum,
                        Some("min") => Op::Min,
                        Some("max") => Op::Max,
                        Some("uniq") => Op::Uniq,
                        _ => {
                            return Err(bad(format!(
                                "measure op {v} is not supported; expected count, sum, min, max or uniq"
                            )));
                        }
                    });
                }
                "field" => field = Some(parse_field(v, "a measure's `field`")?),
                other => {
                    return Err(bad(format!(
                        "unknown measure key `{other}`; expected name, op and field, as in {EX}"
                    )));
                }
            }
        }
        let (Some(name), Some(op)) = (name, op) else {
            return Err(bad(format!(
                "measure {item} needs a name and an op; expected one such as {EX}"
            )));
        };
        match (op, &field) {
            (Op::Count, Some(_)) => {
                return Err(bad(format!(
                    "measure `{name}` counts events and takes no field; expected {{\"name\": \"{name}\", \"op\": \"count\"}}"
                )));
            }
            (Op::Sum | Op::Min | Op::Max | Op::Uniq, None) => {
                return Err(bad(format!(
                    "measure `{name}` needs a `field` to read; expected one such as {EX}"
                )));
            }
            _ => {}
        }
        measures.push(Measure { name, op, field });
    }
    Ok(measures)
}

/// The config from the plugin's documentation; tests across the crate use it.
#[cfg(test)]
pub(crate) const FULL: &str = r#"{
    "time_field": "timestamp",
    "windows": [{"size": "minute", "target": "agg_minute"}, {"size": "hour", "target": "agg_hour"}, {"size": "day", "target": "agg_day"}],
    "group_by": ["url"],
    "measures": [{"name": "hits", "op": "count"},
                 {"name": "revenue", "op": "sum", "field": "revenue"},
                 {"name": "min_price", "op": "min", "field": "price"},
                 {"name": "max_price", "op": "max", "field": "price"},
                 {"name": "users", "op": "uniq", "field": "user_id"}],
    "watermark_delay_s": 0,
    "allowed_lateness_s": 60,
    "passthrough": true
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: &str) -> String {
        match Config::parse(config) {
            Ok(c) => panic!("accepted {config}: {c:?}"),
            Err(e) => {
                assert_eq!(e.code, "bad-config");
                assert!(e.message.starts_with("aggregate: "), "{}", e.message);
                e.message
            }
        }
    }

    #[test]
    fn documented_example_parses() {
        let c = Config::parse(FULL).expect("valid");
        assert_eq!(c.time_field.path, ["timestamp"]);
        let windows: Vec<(&str, i64)> = c
            .windows
            .iter()
            .map(|w| (w.target.as_str(), w.size_ms))
            .collect();
        assert_eq!(
            windows,
            [
                ("agg_day", 86_400_000),
                ("agg_hour", 3_600_000),
                ("agg_minute", 60_000)
            ]
        );
        assert_eq!(c.group_by[0].name, "url");
        let ops: Vec<Op> = c.measures.iter().map(|m| m.op).collect();
        assert_eq!(ops, [Op::Count, Op::Sum, Op::Min, Op::Max, Op::Uniq]);
        assert_eq!(c.measures[0].field, None);
        assert_eq!((c.watermark_delay_ms, c.allowed_lateness_ms), (0, 60_000));
        assert!(c.passthrough);
        Config::parse(EXAMPLE).expect("the error-message example is valid");
    }

    #[test]
    fn defaults_and_custom_sizes() {
        let c = Config::parse(
            r#"{"windows": [{"size": 900, "target": "q"}], "measures": [{"name": "n", "op": "count"}]}"#,
        )
        .expect("valid");
        assert_eq!(c.time_field.name, "timestamp");
        assert_eq!(c.windows[0].size_ms, 900_000);
        assert!(c.group_by.is_empty());
        assert_eq!((c.watermark_delay_ms, c.allowed_lateness_ms), (0, 60_000));
        assert!(c.passthrough);
        let c = Config::parse(
            r#"{"time_field": "meta.ts", "group_by": ["a.b", "c"], "windows": [{"size": 1, "target": "s"}], "measures": [{"name": "n", "op": "count"}], "passthrough": false, "watermark_delay_s": 5, "allowed_lateness_s": 0}"#,
        )
        .expect("valid");
        assert_eq!(c.time_field.path, ["meta", "ts"]);
        assert_eq!(c.group_by[0].path, ["a", "b"]);
        assert_eq!((c.watermark_delay_ms, c.allowed_lateness_ms), (5000, 0));
        assert!(!c.passthrough);
    }

    #[test]
    fn mistakes_are_refused_with_the_fix() {
        let m = r#""measures": [{"name": "n", "op": "count"}]"#;
        let w = r#""windows": [{"size": "minute", "target": "t"}]"#;
        assert!(err("").contains("config is empty"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[1]").contains("must be a JSON object"));
        assert!(err(&format!("{{{m}}}")).contains("`windows` is missing"));
        assert!(err(&format!("{{{w}}}")).contains("`measures` is missing"));
        assert!(
            err(&format!(r#"{{{w}, {m}, "windowz": 1}}"#))
                .contains("unknown config key `windowz`; expected time_field")
        );
        assert!(err(&format!(r#"{{"windows": [], {m}}}"#)).contains("non-empty list"));
        for size in [r#""week""#, "0", "-60", "1.5", "31622401", "null"] {
            let msg = err(&format!(
                r#"{{"windows": [{{"size": {size}, "target": "t"}}], {m}}}"#
            ));
            assert!(
                msg.contains("expected \"minute\", \"hour\", \"day\""),
                "{msg}"
            );
        }
        assert!(
            err(&format!(r#"{{"windows": [{{"size": 60}}], {m}}}"#))
                .contains("needs both size and target")
        );
        assert!(
            err(&format!(
                r#"{{"windows": [{{"size": 60, "target": ""}}], {m}}}"#
            ))
            .contains("non-empty string")
        );
        assert!(
            err(&format!(
                r#"{{"windows": [{{"size": 60, "target": "t", "x": 1}}], {m}}}"#
            ))
            .contains("unknown window key `x`")
        );
        assert!(err(&format!(r#"{{"windows": [{{"size": 60, "target": "t"}}, {{"size": 3600, "target": "t"}}], {m}}}"#)).contains("`t` appears twice"));
        assert!(
            err(&format!(
                r#"{{{w}, "measures": [{{"name": "n", "op": "count", "field": "x"}}]}}"#
            ))
            .contains("takes no field")
        );
        assert!(
            err(&format!(
                r#"{{{w}, "measures": [{{"name": "s", "op": "sum"}}]}}"#
            ))
            .contains("needs a `field`")
        );
        assert!(
            err(&format!(
                r#"{{{w}, "measures": [{{"name": "s", "op": "avg", "field": "x"}}]}}"#
            ))
            .contains("expected count, sum, min, max or uniq")
        );
        assert!(
            err(&format!(r#"{{{w}, "measures": [{{"op": "count"}}]}}"#))
                .contains("needs a name and an op")
        );
        assert!(
            err(&format!(
                r#"{{{w}, "measures": [{{"name": "n", "op": "count", "as": 1}}]}}"#
            ))
            .contains("unknown measure key `as`")
        );
        assert!(err(&format!(r#"{{{w}, "measures": [{{"name": "n", "op": "count"}}, {{"name": "n", "op": "count"}}]}}"#)).contains("`n` appears twice"));
        assert!(err(&format!(r#"{{{w}, {m}, "group_by": ["n"]}}"#)).contains("`n` appears twice"));
        assert!(
            err(&format!(r#"{{{w}, {m}, "group_by": ["window_start"]}}"#))
                .contains("`window_start` appears twice")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "group_by": "url"}}"#))
                .contains("`group_by` must be a list")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "group_by": ["a..b"]}}"#)).contains("must name a field")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "time_field": 3}}"#))
                .contains("`time_field` must name a field")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "allowed_lateness_s": -1}}"#))
                .contains("`allowed_lateness_s` must be a whole number")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "watermark_delay_s": 2.5}}"#))
                .contains("`watermark_delay_s` must be a whole number")
        );
        assert!(
            err(&format!(r#"{{{w}, {m}, "passthrough": "yes"}}"#))
                .contains("`passthrough` must be true or false")
        );
    }
}
