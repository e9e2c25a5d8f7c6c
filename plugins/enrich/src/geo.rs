//! `geo`: a country code for the event's IP address, from the longest matching text
//! prefix in a table the config ships (the plugin reads no files and opens no sockets).

use std::collections::HashMap;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Reject};

use crate::config::{Section, type_name};

/// Prefix table with longest-match lookup in one hash probe per distinct prefix length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixTable {
    by_prefix: HashMap<String, String>,
    /// Distinct prefix lengths in bytes, longest first.
    lengths: Vec<usize>,
}

impl PrefixTable {
    /// Builds the table from (prefix, value) pairs; a later duplicate wins.
    pub fn new(entries: impl IntoIterator<Item = (String, String)>) -> Self {
        let by_prefix: HashMap<String, String> = entries.into_iter().collect();
        let mut lengths: Vec<usize> = by_prefix.keys().map(String::len).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        Self { by_prefix, lengths }
    }

    /// The value of the longest prefix of `text` in the table.
    pub fn longest_match(&self, text: &str) -> Option<&str> {
        self.lengths
            .iter()
            .filter_map(|&len| text.get(..len))
            .find_map(|head| self.by_prefix.get(head))
            .map(String::as_str)
    }
}

/// The geo section: where the IP comes from, where the country goes, and the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geo {
    /// IP address field, as text.
    pub from: String,
    /// Output field for the country.
    pub into: String,
    /// Country by IP text prefix, e.g. `"81.2." → "GB"`.
    pub prefixes: PrefixTable,
    /// Country when no prefix matches or the IP is missing.
    pub default: String,
}

const PREFIXES_EXPECTED: &str =
    r#"an object mapping IP text prefixes to country strings, e.g. {"81.2.": "GB", "5.10.": "DE"}"#;

impl Geo {
    /// Reads the section; `prefixes` is required, the rest default to `ip`, `country`, `unknown`.
    pub fn from_config(value: Value) -> Result<Self, ConfigError> {
        let mut s = Section::new(
            "geo".into(),
            value,
            &["from", "into", "prefixes", "default"],
        )?;
        let from = s.name_or("from", "ip")?;
        let into = s.name_or("into", "country")?;
        let default = match s.take("default") {
            None => "unknown".to_owned(),
            Some(Value::String(d)) => d,
            Some(other) => return Err(s.wrong("default", &other, "a string such as \"unknown\"")),
        };
        let prefixes = match s.take("prefixes") {
            None => return Err(s.missing("prefixes", PREFIXES_EXPECTED)),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(s.wrong("prefixes", &other, PREFIXES_EXPECTED)),
        };
        let mut entries = Vec::with_capacity(prefixes.len());
        for (prefix, country) in prefixes {
            if prefix.is_empty() {
                return Err(ConfigError::bad_config(format!(
                    "enrich: `{}` has an empty prefix, which would match every IP; expected `geo.default` for that",
                    s.path("prefixes")
                )));
            }
            let Value::String(country) = country else {
                return Err(s.wrong(&format!("prefixes.{prefix}"), &country, "a country string"));
            };
            entries.push((prefix, country));
        }
        Ok(Self {
            from,
            into,
            prefixes: PrefixTable::new(entries),
            default,
        })
    }

    /// The fields this section writes, with the setting that names each.
    pub fn outputs(&self) -> Vec<(&str, String)> {
        vec![(self.into.as_str(), "geo.into".into())]
    }

    /// Adds the country; a missing or null IP gets the default.
    pub fn apply(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let country = match event.get(&self.from) {
            None | Some(Value::Null) => &self.default,
            Some(Value::String(ip)) => self.prefixes.longest_match(ip).unwrap_or(&self.default),
            Some(other) => {
                return Err(Reject::new(
                    "wrong-type",
                    format!(
                        "field \"{}\" must be a string, got {}",
                        self.from,
                        type_name(other)
                    ),
                ));
            }
        };
        let country = Value::String(country.to_owned());
        event.insert(self.into.clone(), country);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn geo() -> Geo {
        Geo::from_config(json!({
            "prefixes": {"81.2.": "GB", "81.2.69.": "GB-LON", "5.10.": "DE", "203.0.113.": "AU", "2001:db8:": "DOC", "81.": "EU"}
        }))
        .expect("config")
    }

    fn country(geo: &Geo, event: Value) -> Result<Value, String> {
        let Value::Object(mut map) = event else {
            panic!("not an object")
        };
        geo.apply(&mut map).map_err(|e| e.code)?;
        Ok(map.get(&geo.into).cloned().unwrap_or(Value::Null))
    }

    #[test]
    fn longest_prefix_wins() {
        let g = geo();
        assert_eq!(
            country(&g, json!({"ip": "81.2.69.160"})),
            Ok(json!("GB-LON"))
        );
        assert_eq!(country(&g, json!({"ip": "81.2.70.1"})), Ok(json!("GB")));
        assert_eq!(country(&g, json!({"ip": "81.99.0.1"})), Ok(json!("EU")));
        assert_eq!(country(&g, json!({"ip": "5.10.1.1"})), Ok(json!("DE")));
        assert_eq!(country(&g, json!({"ip": "203.0.113.7"})), Ok(json!("AU")));
        assert_eq!(country(&g, json!({"ip": "2001:db8::1"})), Ok(json!("DOC")));
        // String prefixes: "5.100." is not in "5.10.".
        assert_eq!(
            country(&g, json!({"ip": "5.100.1.1"})),
            Ok(json!("unknown"))
        );
    }

    #[test]
    fn no_match_or_no_ip_gives_the_default() {
        let g = Geo::from_config(
            json!({"from": "addr", "into": "cc", "prefixes": {"10.": "LAN"}, "default": "ZZ"}),
        )
        .expect("config");
        assert_eq!(country(&g, json!({"addr": "8.8.8.8"})), Ok(json!("ZZ")));
        assert_eq!(country(&g, json!({})), Ok(json!("ZZ")));
        assert_eq!(country(&g, json!({"addr": null})), Ok(json!("ZZ")));
        assert_eq!(country(&g, json!({"addr": ""})), Ok(json!("ZZ")));
        assert_eq!(country(&g, json!({"addr": "10.0.0.1"})), Ok(json!("LAN")));
        assert_eq!(country(&g, json!({"addr": 10})), Err("wrong-type".into()));
        assert_eq!(country(&geo(), json!({})), Ok(json!("unknown")));
    }

    #[test]
    fn prefixes_shorter_than_a_multibyte_char_boundary_do_not_panic() {
        let t = PrefixTable::new([
            ("é".to_owned(), "x".to_owned()),
            ("a".to_owned(), "y".to_owned()),
        ]);
        assert_eq!(t.longest_match("éa"), Some("x"));
        let t = PrefixTable::new([("ab".to_owned(), "x".to_owned())]);
        assert_eq!(t.longest_match("aé"), None);
        assert_eq!(t.longest_match("a"), None);
    }

    #[test]
    fn bad_tables_are_refused() {
        let err = |v: Value| {
            Geo::from_config(v)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            err(json!({})),
            format!("enrich: `geo.prefixes` is missing; expected {PREFIXES_EXPECTED}")
        );
        assert!(
            err(json!({"prefixes": ["81.2."]})).starts_with("enrich: `geo.prefixes` is an array;")
        );
        assert_eq!(
            err(json!({"prefixes": {"81.2.": 44}})),
            "enrich: `geo.prefixes.81.2.` is a number; expected a country string"
        );
        assert!(err(json!({"prefixes": {"": "GB"}})).contains("empty prefix"));
        assert!(
            err(json!({"prefixes": {}, "default": 0}))
                .starts_with("enrich: `geo.default` is a number;")
        );
    }
}
