//! The plugin's configuration, from the pipeline's `init` string: a JSON object whose
//! `rules` list becomes [`Rule`]s. Mistakes are refused with a message naming the fix.

use serde_json::Value;
use sluice_plugin::ConfigError;
use sluice_plugin::config::{Empty, Preamble};

use crate::rule::{Bound, Kind, Rule};
use crate::timestamp;

/// What the example in config error messages looks like.
pub const EXAMPLE: &str =
    r#"{"rules": [{"field": "price", "required": true, "type": "number", "min": 0}]}"#;

/// How config errors name the plugin; empty is refused, since validating nothing is a mistake.
const PREAMBLE: Preamble = Preamble {
    plugin: "validate",
    example: EXAMPLE,
    empty: Empty::Refuse { needs: None },
};

/// Keys a rule may have, as listed in error messages.
const RULE_KEYS: &str =
    "field, required, type, min, max, min_len, max_len, enum, not_before, not_after";

/// Settings of one plugin instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Checks every event must pass, tried in order; the first failure rejects the event.
    pub rules: Vec<Rule>,
}

impl Config {
    /// Parses the `init` string; there is no default, since validating nothing is a mistake.
    pub fn parse(config: &str) -> Result<Self, ConfigError> {
        let map = sluice_plugin::config::object(config, &PREAMBLE)?;
        let mut rules = None;
        for (key, value) in map {
            match key.as_str() {
                "rules" => {
                    let Value::Array(list) = value else {
                        return Err(bad(format!(
                            "validate: `rules` must be a list of rule objects; expected e.g. {EXAMPLE}"
                        )));
                    };
                    rules = Some(
                        list.into_iter()
                            .enumerate()
                            .map(|(i, rule)| parse_rule(i, rule))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                other => {
                    return Err(bad(format!(
                        "validate: unknown config key `{other}`; expected only `rules`, e.g. {EXAMPLE}"
                    )));
                }
            }
        }
        let rules = rules.ok_or_else(|| {
            bad(format!(
                "validate: config has no `rules`; expected e.g. {EXAMPLE}"
            ))
        })?;
        Ok(Self { rules })
    }
}

fn bad(message: String) -> ConfigError {
    ConfigError::bad_config(message)
}

/// Reads `rules[i]`; every error names the rule by index and field.
fn parse_rule(i: usize, value: Value) -> Result<Rule, ConfigError> {
    let Value::Object(mut map) = value else {
        return Err(bad(format!(
            "validate: rules[{i}] must be an object; expected e.g. {{\"field\": \"price\", \"type\": \"number\", \"min\": 0}}"
        )));
    };
    let field = match map.remove("field") {
        Some(Value::String(f)) if !f.is_empty() && f.split('.').all(|s| !s.is_empty()) => f,
        Some(_) => {
            return Err(bad(format!(
                "validate: rules[{i}]: `field` must be a field name or dotted path such as \"price\" or \"device.os\""
            )));
        }
        None => {
            return Err(bad(format!(
                "validate: rules[{i}] has no `field`; expected e.g. {{\"field\": \"price\", \"required\": true}}"
            )));
        }
    };
    let at = format!("validate: rules[{i}] (field {field})");
    let mut rule = Rule::new(&field);
    for (key, value) in map {
        match key.as_str() {
            "required" => {
                rule.required = value
                    .as_bool()
                    .ok_or_else(|| bad(format!("{at}: `required` must be true or false")))?;
            }
            "type" => {
                let names = Kind::ALL.map(Kind::name).join(", ");
                rule.kind = Some(value.as_str().and_then(Kind::from_name).ok_or_else(|| {
                    bad(format!("{at}: `type` is {value}; expected one of {names}"))
                })?);
            }
            "min" | "max" => {
                let Value::Number(n) = value else {
                    return Err(bad(format!(
                        "{at}: `{key}` must be a number, e.g. \"{key}\": 0"
                    )));
                };
                if key == "min" {
                    rule.min = Some(n);
                } else {
                    rule.max = Some(n);
                }
            }
            "min_len" | "max_len" => {
                let n = value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "{at}: `{key}` must be a whole number of characters, e.g. \"{key}\": 1"
                        ))
                    })?;
                if key == "min_len" {
                    rule.min_len = Some(n);
                } else {
                    rule.max_len = Some(n);
                }
            }
            "enum" => {
                let list = match value {
                    Value::Array(list)
                        if !list.is_empty()
                            && list.iter().all(|v| v.is_string() || v.is_number()) =>
                    {
                        list
                    }
                    _ => {
                        return Err(bad(format!(
                            "{at}: `enum` must be a non-empty list of strings or numbers, e.g. \"enum\": [\"page_view\", \"purchase\"]"
                        )));
                    }
                };
                rule.allowed = Some(list);
            }
            "not_before" | "not_after" => {
                let ms = match &value {
                    Value::String(s) => timestamp::parse_str(s),
                    Value::Number(n) => n.as_i64().and_then(timestamp::from_epoch),
                    _ => None,
                }
                .ok_or_else(|| {
                    bad(format!(
                        "{at}: `{key}` is {value}, not a timestamp; expected {}",
                        timestamp::FORMATS
                    ))
                })?;
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let bound = Some(Bound { ms, text });
                if key == "not_before" {
                    rule.not_before = bound;
                } else {
                    rule.not_after = bound;
                }
            }
            other => {
                return Err(bad(format!(
                    "{at}: unknown key `{other}`; expected {RULE_KEYS}"
                )));
            }
        }
    }
    check_combination(&at, &rule)?;
    Ok(rule)
}

/// Refuses checks that could never apply to the rule's type, and empty ranges.
fn check_combination(at: &str, rule: &Rule) -> Result<(), ConfigError> {
    let kind = rule.kind;
    let numeric = matches!(kind, Some(Kind::Number | Kind::Integer));
    if (rule.min.is_some() || rule.max.is_some()) && !numeric {
        return Err(bad(format!(
            "{at}: `min`/`max` apply to numbers; add \"type\": \"number\" or \"integer\" (for timestamps use not_before/not_after)"
        )));
    }
    if (rule.min_len.is_some() || rule.max_len.is_some()) && kind != Some(Kind::String) {
        return Err(bad(format!(
            "{at}: `min_len`/`max_len` apply to strings; add \"type\": \"string\""
        )));
    }
    if (rule.not_before.is_some() || rule.not_after.is_some()) && kind != Some(Kind::Timestamp) {
        return Err(bad(format!(
            "{at}: `not_before`/`not_after` apply to timestamps; add \"type\": \"timestamp\""
        )));
    }
    if let Some(allowed) = &rule.allowed {
        let fits = |v: &Value| match kind {
            None => true,
            Some(Kind::String) => v.is_string(),
            Some(Kind::Number) => v.is_number(),
            Some(Kind::Integer) => v.is_i64() || v.is_u64(),
            Some(_) => false,
        };
        if let Some(misfit) = allowed.iter().find(|v| !fits(v)) {
            let kind = kind.map_or("", Kind::name);
            return Err(bad(format!(
                "{at}: `enum` value {misfit} can never match type {kind}; list only values of that type, or use type string, number or integer"
            )));
        }
    }
    if let (Some(min), Some(max)) = (&rule.min, &rule.max)
        && min.as_f64() > max.as_f64()
    {
        return Err(bad(format!(
            "{at}: min {min} is above max {max}; swap them"
        )));
    }
    if let (Some(min), Some(max)) = (rule.min_len, rule.max_len)
        && min > max
    {
        return Err(bad(format!(
            "{at}: min_len {min} is above max_len {max}; swap them"
        )));
    }
    if let (Some(lo), Some(hi)) = (&rule.not_before, &rule.not_after)
        && lo.ms > hi.ms
    {
        return Err(bad(format!(
            "{at}: not_before {} is after not_after {}; swap them",
            lo.text, hi.text
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The example from the plugin's documentation, which every shipped pipeline resembles.
    const DOC_EXAMPLE: &str = r#"{"rules": [
        {"field": "price", "required": true, "type": "number", "min": 0, "max": 100000},
        {"field": "event_type", "enum": ["page_view", "add_to_cart", "purchase"]},
        {"field": "user_id", "type": "string", "min_len": 1, "max_len": 64, "required": true},
        {"field": "timestamp", "type": "timestamp", "required": true,
         "not_before": "2000-01-01 00:00:00", "not_after": "2100-01-01 00:00:00"}
    ]}"#;

    fn err(config: &str) -> String {
        match Config::parse(config) {
            Ok(c) => panic!("accepted {config}: {c:?}"),
            Err(e) => {
                assert_eq!(e.code, "bad-config");
                assert!(e.message.starts_with("validate: "), "{}", e.message);
                e.message
            }
        }
    }

    #[test]
    fn documented_example_parses() {
        let config = Config::parse(DOC_EXAMPLE).expect("example is valid");
        assert_eq!(config.rules.len(), 4);
        let price = &config.rules[0];
        assert_eq!(price.field, "price");
        assert!(price.required);
        assert_eq!(price.kind, Some(Kind::Number));
        assert_eq!(price.min, Some(0.into()));
        assert_eq!(price.max, Some(100_000.into()));
        let event_type = &config.rules[1];
        assert!(!event_type.required);
        assert_eq!(event_type.kind, None);
        assert_eq!(
            event_type.allowed,
            Some(vec![
                json!("page_view"),
                json!("add_to_cart"),
                json!("purchase")
            ])
        );
        let user = &config.rules[2];
        assert_eq!((user.min_len, user.max_len), (Some(1), Some(64)));
        let ts = &config.rules[3];
        assert_eq!(
            ts.not_before,
            Some(Bound {
                ms: 946_684_800_000,
                text: "2000-01-01 00:00:00".into()
            })
        );
        assert_eq!(ts.not_after.as_ref().map(|b| b.ms), Some(4_102_444_800_000));
    }

    #[test]
    fn dotted_fields_and_epoch_bounds_parse() {
        let config = Config::parse(
            r#"{"rules": [{"field": "device.os", "type": "timestamp", "not_before": 946684800}]}"#,
        )
        .expect("valid");
        assert_eq!(config.rules[0].path, ["device", "os"]);
        assert_eq!(
            config.rules[0].not_before,
            Some(Bound {
                ms: 946_684_800_000,
                text: "946684800".into()
            })
        );
        assert_eq!(
            Config::parse(r#"{"rules": []}"#).map(|c| c.rules.len()),
            Ok(0)
        );
    }

    #[test]
    fn top_level_mistakes_name_the_fix() {
        assert!(err("").contains("config is empty; expected a JSON object such as"));
        assert!(err("  ").contains("config is empty"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[]").contains("must be a JSON object"));
        assert_eq!(
            err(r#"{"rules": [], "drop_fields": ["ip"]}"#),
            format!(
                "validate: unknown config key `drop_fields`; expected only `rules`, e.g. {EXAMPLE}"
            )
        );
        assert!(err("{}").contains("config has no `rules`"));
        assert!(err(r#"{"rules": {"field": "a"}}"#).contains("`rules` must be a list"));
    }

    #[test]
    fn rule_mistakes_name_the_rule_and_the_fix() {
        let cases = [
            (r#"[1]"#, "rules[0] must be an object"),
            (r#"[{"required": true}]"#, "rules[0] has no `field`"),
            (
                r#"[{"field": ""}]"#,
                "`field` must be a field name or dotted path",
            ),
            (
                r#"[{"field": "a..b"}]"#,
                "`field` must be a field name or dotted path",
            ),
            (r#"[{"field": 3}]"#, "`field` must be a field name"),
            (
                r#"[{"field": "a"}, {"field": "price", "mn": 0}]"#,
                "rules[1] (field price): unknown key `mn`; expected field, required, type, min, max, min_len, max_len, enum, not_before, not_after",
            ),
            (
                r#"[{"field": "a", "required": "yes"}]"#,
                "`required` must be true or false",
            ),
            (
                r#"[{"field": "a", "type": "float"}]"#,
                "rules[0] (field a): `type` is \"float\"; expected one of string, number, integer, bool, object, array, timestamp",
            ),
            (
                r#"[{"field": "a", "type": 1}]"#,
                "`type` is 1; expected one of",
            ),
            (
                r#"[{"field": "a", "type": "number", "min": "0"}]"#,
                "`min` must be a number",
            ),
            (
                r#"[{"field": "a", "type": "number", "max": null}]"#,
                "`max` must be a number",
            ),
            (
                r#"[{"field": "a", "type": "string", "min_len": -1}]"#,
                "`min_len` must be a whole number",
            ),
            (
                r#"[{"field": "a", "type": "string", "max_len": 1.5}]"#,
                "`max_len` must be a whole number",
            ),
            (
                r#"[{"field": "a", "enum": []}]"#,
                "`enum` must be a non-empty list",
            ),
            (
                r#"[{"field": "a", "enum": [true]}]"#,
                "`enum` must be a non-empty list",
            ),
            (
                r#"[{"field": "a", "enum": "x"}]"#,
                "`enum` must be a non-empty list",
            ),
            (
                r#"[{"field": "t", "type": "timestamp", "not_before": "2000-01-01"}]"#,
                "`not_before` is \"2000-01-01\", not a timestamp; expected",
            ),
            (
                r#"[{"field": "t", "type": "timestamp", "not_after": true}]"#,
                "`not_after` is true, not a timestamp",
            ),
            (
                r#"[{"field": "a", "min": 0}]"#,
                "add \"type\": \"number\" or \"integer\"",
            ),
            (
                r#"[{"field": "a", "type": "timestamp", "max": 0}]"#,
                "`min`/`max` apply to numbers",
            ),
            (
                r#"[{"field": "a", "max_len": 3}]"#,
                "add \"type\": \"string\"",
            ),
            (
                r#"[{"field": "a", "type": "array", "min_len": 1}]"#,
                "`min_len`/`max_len` apply to strings",
            ),
            (
                r#"[{"field": "a", "type": "string", "not_before": "2000-01-01 00:00:00"}]"#,
                "add \"type\": \"timestamp\"",
            ),
            (
                r#"[{"field": "a", "type": "integer", "enum": [1, 2.5]}]"#,
                "`enum` value 2.5 can never match type integer",
            ),
            (
                r#"[{"field": "a", "type": "string", "enum": [1]}]"#,
                "`enum` value 1 can never match type string",
            ),
            (
                r#"[{"field": "a", "type": "bool", "enum": [1]}]"#,
                "can never match type bool",
            ),
            (
                r#"[{"field": "a", "type": "number", "min": 5, "max": 1}]"#,
                "min 5 is above max 1; swap them",
            ),
            (
                r#"[{"field": "a", "type": "string", "min_len": 5, "max_len": 1}]"#,
                "min_len 5 is above max_len 1; swap them",
            ),
            (
                r#"[{"field": "a", "type": "timestamp", "not_before": "2001-01-01 00:00:00", "not_after": "2000-01-01 00:00:00"}]"#,
                "not_before 2001-01-01 00:00:00 is after not_after 2000-01-01 00:00:00; swap them",
            ),
        ];
        for (rules, expected) in cases {
            let message = err(&format!(r#"{{"rules": {rules}}}"#));
            assert!(message.contains(expected), "{rules}: {message}");
        }
    }
}
