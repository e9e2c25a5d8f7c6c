//! `lookups`: reference tables shipped in the config, e.g. user tier by user id. Each one
//! reads a key field, looks its text up, and writes the value (or a default) to a field.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Reject};

use crate::config::{Section, type_name};

/// One reference table and the fields it joins on and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// Key field: a string, or a number compared by its JSON text (`7`, `1.5`).
    pub key: String,
    /// Output field.
    pub into: String,
    /// Value by key text; values may be any JSON.
    pub table: HashMap<String, Value>,
    /// Value for a key missing from the table or the event; `None` leaves the field out.
    pub default: Option<Value>,
}

const TABLE_EXPECTED: &str = r#"an object mapping key text to values, e.g. {"user_0001": "gold"}"#;

impl Lookup {
    /// Reads the `index`th entry of `lookups`; `key`, `into` and `table` are required.
    pub fn from_config(index: usize, value: Value) -> Result<Self, ConfigError> {
        let mut s = Section::new(
            format!("lookups[{index}]"),
            value,
            &["key", "into", "table", "default"],
        )?;
        let key = s.required_name("key")?;
        let into = s.required_name("into")?;
        let table = match s.take("table") {
            None => return Err(s.missing("table", TABLE_EXPECTED)),
            Some(Value::Object(map)) => map.into_iter().collect(),
            Some(other) => return Err(s.wrong("table", &other, TABLE_EXPECTED)),
        };
        Ok(Self {
            key,
            into,
            table,
            default: s.take("default"),
        })
    }

    /// The fields this lookup writes, with the setting that names each.
    pub fn outputs(&self, index: usize) -> Vec<(&str, String)> {
        vec![(self.into.as_str(), format!("lookups[{index}].into"))]
    }

    /// Writes the looked-up value, or the default; a missing or null key uses the default.
    pub fn apply(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let mut number_text = String::new();
        let key = match event.get(&self.key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Number(n)) => {
                // Writing a Number to a String cannot fail.
                let _ = write!(number_text, "{n}");
                Some(number_text.as_str())
            }
            Some(other) => {
                return Err(Reject::new(
                    "wrong-type",
                    format!(
                        "field \"{}\" must be a string or a number, got {}",
                        self.key,
                        type_name(other)
                    ),
                ));
            }
        };
        let value = key
            .and_then(|k| self.table.get(k))
            .or(self.default.as_ref());
        if let Some(value) = value {
            event.insert(self.into.clone(), value.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn out(lookup: &Lookup, event: Value) -> Result<Option<Value>, String> {
        let Value::Object(mut map) = event else {
            panic!("not an object")
        };
        lookup.apply(&mut map).map_err(|e| e.code)?;
        Ok(map.get(&lookup.into).cloned())
    }

    fn lookup(v: Value) -> Lookup {
        Lookup::from_config(0, v).expect("config")
    }

    #[test]
    fn hits_misses_and_defaults() {
        let tier = lookup(
            json!({"key": "user_id", "into": "user_tier", "table": {"user_0001": "gold", "user_0002": "silver"}, "default": "standard"}),
        );
        assert_eq!(
            out(&tier, json!({"user_id": "user_0001"})),
            Ok(Some(json!("gold")))
        );
        assert_eq!(
            out(&tier, json!({"user_id": "user_0002"})),
            Ok(Some(json!("silver")))
        );
        assert_eq!(
            out(&tier, json!({"user_id": "user_9999"})),
            Ok(Some(json!("standard")))
        );
        assert_eq!(out(&tier, json!({})), Ok(Some(json!("standard"))));
        assert_eq!(
            out(&tier, json!({"user_id": null})),
            Ok(Some(json!("standard")))
        );
        assert_eq!(
            out(&tier, json!({"user_id": ["x"]})),
            Err("wrong-type".into())
        );
    }

    #[test]
    fn without_a_default_a_miss_adds_nothing() {
        let cat =
            lookup(json!({"key": "product_id", "into": "category", "table": {"prod_1": "books"}}));
        assert_eq!(
            out(&cat, json!({"product_id": "prod_1"})),
            Ok(Some(json!("books")))
        );
        assert_eq!(out(&cat, json!({"product_id": "prod_2"})), Ok(None));
        assert_eq!(out(&cat, json!({})), Ok(None));
        // An explicit null default writes null.
        let cat = lookup(json!({"key": "p", "into": "c", "table": {}, "default": null}));
        assert_eq!(out(&cat, json!({"p": "x"})), Ok(Some(Value::Null)));
    }

    #[test]
    fn numbers_match_by_their_text_and_values_may_be_any_json() {
        let l = lookup(
            json!({"key": "sensor", "into": "meta", "table": {"7": {"room": "lab"}, "1.5": 3, "-2": true}}),
        );
        assert_eq!(
            out(&l, json!({"sensor": 7})),
            Ok(Some(json!({"room": "lab"})))
        );
        assert_eq!(
            out(&l, json!({"sensor": "7"})),
            Ok(Some(json!({"room": "lab"})))
        );
        assert_eq!(out(&l, json!({"sensor": 1.5})), Ok(Some(json!(3))));
        assert_eq!(out(&l, json!({"sensor": -2})), Ok(Some(json!(true))));
        assert_eq!(out(&l, json!({"sensor": 8})), Ok(None));
    }

    #[test]
    fn bad_entries_are_refused() {
        let err = |v: Value| {
            Lookup::from_config(2, v)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            err(json!({"into": "x", "table": {}})),
            "enrich: `lookups[2].key` is missing; expected a non-empty string naming an event field"
        );
        assert!(
            err(json!({"key": "k", "table": {}}))
                .starts_with("enrich: `lookups[2].into` is missing")
        );
        assert_eq!(
            err(json!({"key": "k", "into": "x"})),
            format!("enrich: `lookups[2].table` is missing; expected {TABLE_EXPECTED}")
        );
        assert!(
            err(json!({"key": "k", "into": "x", "table": []}))
                .starts_with("enrich: `lookups[2].table` is an array;")
        );
    }
}
