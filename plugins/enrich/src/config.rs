//! The plugin's configuration, from the pipeline's `init` string: empty, or a JSON object
//! with any of the sections below. Each section module builds its own lookup structures
//! here, once, so the per-event path only reads them.

use serde_json::{Map, Value};
use sluice_plugin::ConfigError;
use sluice_plugin::config::{Empty, Preamble};

use crate::geo::Geo;
use crate::lookup::Lookup;
use crate::revenue::Revenue;
use crate::time_parts::TimeParts;
use crate::user_agent::UserAgent;

/// A config that uses every section; quoted in errors so the fix is one copy away.
pub const EXAMPLE: &str = r#"{"revenue": {"price": "price", "quantity": "quantity", "into": "revenue"}, "time_parts": {"from": "timestamp"}, "user_agent": {"from": "user_agent"}, "geo": {"from": "ip", "into": "country", "prefixes": {"81.2.": "GB"}, "default": "unknown"}, "lookups": [{"key": "user_id", "into": "user_tier", "table": {"user_0001": "gold"}, "default": "standard"}]}"#;

/// How config errors name the plugin; empty means no sections.
const PREAMBLE: Preamble = Preamble {
    plugin: "enrich",
    example: EXAMPLE,
    empty: Empty::Defaults,
};

/// Every section of one plugin instance; a missing section does nothing.
#[derive(Debug, Default)]
pub struct Config {
    /// `revenue`: price × quantity.
    pub revenue: Option<Revenue>,
    /// `time_parts`: hour, ISO day of week and date of a timestamp field.
    pub time_parts: Option<TimeParts>,
    /// `user_agent`: device, browser and OS classes of a user-agent string.
    pub user_agent: Option<UserAgent>,
    /// `geo`: country from the longest matching IP prefix.
    pub geo: Option<Geo>,
    /// `lookups`: reference tables, applied in order, so one may key on another's output.
    pub lookups: Vec<Lookup>,
}

impl Config {
    /// Parses the `init` string; an empty (or all-blank) string means no sections.
    pub fn parse(config: &str) -> Result<Self, ConfigError> {
        let mut out = Self::default();
        let map = sluice_plugin::config::object(config, &PREAMBLE)?;
        for (key, value) in map {
            match key.as_str() {
                "revenue" => out.revenue = Some(Revenue::from_config(value)?),
                "time_parts" => out.time_parts = Some(TimeParts::from_config(value)?),
                "user_agent" => out.user_agent = Some(UserAgent::from_config(value)?),
                "geo" => out.geo = Some(Geo::from_config(value)?),
                "lookups" => {
                    let Value::Array(items) = value else {
                        return Err(ConfigError::bad_config(format!(
                            "enrich: `lookups` is {}; expected an array of {{\"key\", \"into\", \"table\", \"default\"}} objects",
                            type_name(&value)
                        )));
                    };
                    out.lookups = items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| Lookup::from_config(i, item))
                        .collect::<Result<_, _>>()?;
                }
                other => {
                    return Err(ConfigError::bad_config(format!(
                        "enrich: unknown section `{other}`; expected revenue, time_parts, user_agent, geo or lookups"
                    )));
                }
            }
        }
        out.check_outputs()?;
        Ok(out)
    }

    /// True when no section is configured: events pass through untouched.
    pub fn is_empty(&self) -> bool {
        self.revenue.is_none()
            && self.time_parts.is_none()
            && self.user_agent.is_none()
            && self.geo.is_none()
            && self.lookups.is_empty()
    }

    /// Refuses two settings that write the same output field, since the later one would
    /// silently overwrite the earlier.
    fn check_outputs(&self) -> Result<(), ConfigError> {
        let mut seen: Vec<(&str, String)> = Vec::new();
        let mut outputs: Vec<(&str, String)> = Vec::new();
        if let Some(s) = &self.revenue {
            outputs.extend(s.outputs());
        }
        if let Some(s) = &self.time_parts {
            outputs.extend(s.outputs());
        }
        if let Some(s) = &self.user_agent {
            outputs.extend(s.outputs());
        }
        if let Some(s) = &self.geo {
            outputs.extend(s.outputs());
        }
        for (i, s) in self.lookups.iter().enumerate() {
            outputs.extend(s.outputs(i));
        }
        for (field, setting) in outputs {
            if let Some((_, first)) = seen.iter().find(|(f, _)| *f == field) {
                return Err(ConfigError::bad_config(format!(
                    "enrich: output field `{field}` is written by both `{first}` and `{setting}`; expected distinct output names"
                )));
            }
            seen.push((field, setting));
        }
        Ok(())
    }
}

/// One section's JSON object, read key by key; unknown keys were refused on entry.
#[derive(Debug)]
pub struct Section {
    /// Where the section sits in the config, e.g. `geo` or `lookups[1]`, for messages.
    path: String,
    map: Map<String, Value>,
}

impl Section {
    /// Checks that `value` is an object whose keys are all in `keys`.
    pub fn new(path: String, value: Value, keys: &[&str]) -> Result<Self, ConfigError> {
        let Value::Object(map) = value else {
            return Err(ConfigError::bad_config(format!(
                "enrich: `{path}` is {}; expected an object with keys {}",
                type_name(&value),
                keys.join(", ")
            )));
        };
        if let Some(key) = map.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(ConfigError::bad_config(format!(
                "enrich: unknown key `{path}.{key}`; expected one of {}",
                keys.join(", ")
            )));
        }
        Ok(Self { path, map })
    }

    /// Removes and returns `key`'s value, if given.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// Reads a field name: a non-empty string, or `default` when the key is absent.
    pub fn name_or(&mut self, key: &str, default: &str) -> Result<String, ConfigError> {
        match self.take(key) {
            None => Ok(default.to_owned()),
            Some(v) => self.name(key, v),
        }
    }

    /// Reads a field name that must be given.
    pub fn required_name(&mut self, key: &str) -> Result<String, ConfigError> {
        match self.take(key) {
            None => Err(self.missing(key, "a non-empty string naming an event field")),
            Some(v) => self.name(key, v),
        }
    }

    fn name(&self, key: &str, value: Value) -> Result<String, ConfigError> {
        match value {
            Value::String(s) if !s.is_empty() => Ok(s),
            other => Err(self.wrong(key, &other, "a non-empty string naming an event field")),
        }
    }

    /// The full path of `key`, e.g. `geo.prefixes`.
    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// The error for a required key that is absent.
    pub fn missing(&self, key: &str, expected: &str) -> ConfigError {
        ConfigError::bad_config(format!(
            "enrich: `{}` is missing; expected {expected}",
            self.path(key)
        ))
    }

    /// The error for a key whose value has the wrong shape.
    pub fn wrong(&self, key: &str, got: &Value, expected: &str) -> ConfigError {
        ConfigError::bad_config(format!(
            "enrich: `{}` is {}; expected {expected}",
            self.path(key),
            describe(got)
        ))
    }
}

/// A value's kind for messages; shared with every plugin through the SDK.
pub use sluice_plugin::json::kind as type_name;

/// Like [`type_name`], but says "an empty string" where that is the problem.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::String(s) if s.is_empty() => "an empty string",
        other => type_name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: &str) -> String {
        match Config::parse(config) {
            Ok(c) => panic!("accepted {config}: {c:?}"),
            Err(e) => {
                assert_eq!(e.code, "bad-config");
                e.message
            }
        }
    }

    #[test]
    fn empty_config_has_no_sections() {
        for c in ["", "  \n", "{}"] {
            assert!(Config::parse(c).is_ok_and(|c| c.is_empty()), "{c:?}");
        }
        assert!(Config::parse(r#"{"lookups": []}"#).is_ok_and(|c| c.is_empty()));
    }

    #[test]
    fn the_example_and_the_brief_config_parse() {
        let c = Config::parse(EXAMPLE).expect("example parses");
        assert!(c.revenue.is_some() && c.time_parts.is_some() && c.user_agent.is_some());
        assert!(c.geo.is_some());
        assert_eq!(c.lookups.len(), 1);
        let full = r#"{
          "revenue":    {"price": "price", "quantity": "quantity", "into": "revenue"},
          "time_parts": {"from": "timestamp", "hour": "hour", "day_of_week": "day_of_week", "date": "date"},
          "user_agent": {"from": "user_agent", "device": "device", "browser": "browser", "os": "os"},
          "geo":        {"from": "ip", "into": "country", "prefixes": {"81.2.": "GB", "5.10.": "DE", "203.0.113.": "AU"}, "default": "unknown"},
          "lookups":    [{"key": "user_id", "into": "user_tier", "table": {"user_0001": "gold"}, "default": "standard"},
                         {"key": "product_id", "into": "category", "table": {"prod_1": "books"}, "default": "other"}]
        }"#;
        let c = Config::parse(full).expect("brief config parses");
        assert_eq!(c.lookups.len(), 2);
    }

    #[test]
    fn not_json_or_not_an_object_is_refused() {
        let m = err("{");
        assert!(m.starts_with("enrich: config is not valid JSON"), "{m}");
        assert!(m.contains("expected a JSON object such as"), "{m}");
        assert!(err("[1]").starts_with("enrich: config is an array; expected a JSON object"));
        assert!(err("null").starts_with("enrich: config is null;"));
    }

    #[test]
    fn unknown_keys_are_refused_with_the_fix() {
        assert_eq!(
            err(r#"{"revenu": {}}"#),
            "enrich: unknown section `revenu`; expected revenue, time_parts, user_agent, geo or lookups"
        );
        assert_eq!(
            err(r#"{"revenue": {"prise": "p"}}"#),
            "enrich: unknown key `revenue.prise`; expected one of price, quantity, into"
        );
        assert_eq!(
            err(r#"{"geo": {"prefixes": {}, "fallback": "x"}}"#),
            "enrich: unknown key `geo.fallback`; expected one of from, into, prefixes, default"
        );
        assert!(
            err(r#"{"lookups": [{"key": "a", "into": "b", "table": {}, "dflt": 1}]}"#)
                .starts_with("enrich: unknown key `lookups[0].dflt`;")
        );
        assert!(
            err(r#"{"time_parts": {"weekday": "w"}}"#)
                .starts_with("enrich: unknown key `time_parts.weekday`;")
        );
        assert!(
            err(r#"{"user_agent": {"agent": "ua"}}"#)
                .starts_with("enrich: unknown key `user_agent.agent`;")
        );
    }

    #[test]
    fn wrong_types_are_refused_naming_the_path() {
        assert_eq!(
            err(r#"{"revenue": {"price": 3}}"#),
            "enrich: `revenue.price` is a number; expected a non-empty string naming an event field"
        );
        assert_eq!(
            err(r#"{"time_parts": {"from": ""}}"#),
            "enrich: `time_parts.from` is an empty string; expected a non-empty string naming an event field"
        );
        assert!(err(r#"{"revenue": true}"#).starts_with("enrich: `revenue` is a boolean;"));
        assert!(err(r#"{"lookups": {}}"#).starts_with("enrich: `lookups` is an object;"));
        assert!(err(r#"{"lookups": [3]}"#).starts_with("enrich: `lookups[0]` is a number;"));
        assert!(
            err(r#"{"user_agent": {"os": null}}"#).starts_with("enrich: `user_agent.os` is null;")
        );
    }

    #[test]
    fn two_settings_writing_one_field_are_refused() {
        assert_eq!(
            err(r#"{"revenue": {"into": "hour"}, "time_parts": {}}"#),
            "enrich: output field `hour` is written by both `revenue.into` and `time_parts.hour`; expected distinct output names"
        );
        let m = err(
            r#"{"lookups": [{"key": "a", "into": "x", "table": {}}, {"key": "b", "into": "x", "table": {}}]}"#,
        );
        assert!(m.contains("`lookups[0].into` and `lookups[1].into`"), "{m}");
        // A lookup may key on another section's output; only writes collide.
        assert!(
            Config::parse(
                r#"{"geo": {"prefixes": {}}, "lookups": [{"key": "country", "into": "region", "table": {}}]}"#
            )
            .is_ok()
        );
    }
}
