//! The plugin's configuration, from the pipeline's `init` string: the key field and how
//! many recent keys each partition remembers. Mistakes are refused with the fix.

use serde_json::Value;
use sluice_plugin::ConfigError;
use sluice_plugin::config::{Empty, Preamble};

/// What the example in config error messages looks like.
pub const EXAMPLE: &str = r#"{"key": "event_id", "capacity": 100000}"#;

/// How config errors name the plugin; empty is refused, since no key field is a safe guess.
const PREAMBLE: Preamble = Preamble {
    plugin: "dedup",
    example: EXAMPLE,
    empty: Empty::Refuse {
        needs: Some("naming the key field"),
    },
};

/// Keys remembered per partition when the config gives no `capacity`: about 3.5 MB each.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Largest `capacity` accepted: about 35 MB per partition, so a few partitions stay well
/// under the host's default memory cap (256 MiB) and recycle threshold (128 MiB), past
/// which the instance is replaced and forgets every key.
pub const MAX_CAPACITY: usize = 1_000_000;

/// Settings of one plugin instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The key field as configured (`event_id`, or a dotted path like `meta.id`), for messages.
    pub key: String,
    /// `key` split at dots, to walk nested objects.
    pub path: Vec<String>,
    /// How many most recent distinct keys each topic partition remembers.
    pub capacity: usize,
}

impl Config {
    /// Parses the `init` string; `key` is required because no field name is a safe guess.
    pub fn parse(config: &str) -> Result<Self, ConfigError> {
        let map = sluice_plugin::config::object(config, &PREAMBLE)?;
        let mut key = None;
        let mut capacity = DEFAULT_CAPACITY;
        for (name, value) in map {
            match name.as_str() {
                "key" => match value {
                    Value::String(k) if !k.is_empty() && k.split('.').all(|s| !s.is_empty()) => {
                        key = Some(k);
                    }
                    _ => {
                        return Err(bad(
                            "dedup: `key` must be a field name or dotted path such as \"event_id\" or \"meta.id\"".to_owned(),
                        ));
                    }
                },
                "capacity" => {
                    capacity = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|n| (1..=MAX_CAPACITY).contains(n))
                        .ok_or_else(|| {
                            bad(format!(
                                "dedup: `capacity` is {value}; expected a whole number of keys from 1 to {MAX_CAPACITY} (default {DEFAULT_CAPACITY})"
                            ))
                        })?;
                }
                other => {
                    return Err(bad(format!(
                        "dedup: unknown config key `{other}`; expected key or capacity, e.g. {EXAMPLE}"
                    )));
                }
            }
        }
        let key = key.ok_or_else(|| {
            bad(format!(
                "dedup: config has no `key`; expected the field that identifies an event, e.g. {EXAMPLE}"
            ))
        })?;
        Ok(Self {
            path: key.split('.').map(str::to_owned).collect(),
            key,
            capacity,
        })
    }
}

fn bad(message: String) -> ConfigError {
    ConfigError::bad_config(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: &str) -> String {
        match Config::parse(config) {
            Ok(c) => panic!("accepted {config}: {c:?}"),
            Err(e) => {
                assert_eq!(e.code, "bad-config");
                assert!(e.message.starts_with("dedup: "), "{}", e.message);
                e.message
            }
        }
    }

    #[test]
    fn documented_example_parses() {
        assert_eq!(
            Config::parse(EXAMPLE),
            Ok(Config {
                key: "event_id".into(),
                path: vec!["event_id".into()],
                capacity: 100_000
            })
        );
    }

    #[test]
    fn capacity_defaults_and_paths_split() {
        assert_eq!(
            Config::parse(r#"{"key": "meta.id"}"#),
            Ok(Config {
                key: "meta.id".into(),
                path: vec!["meta".into(), "id".into()],
                capacity: DEFAULT_CAPACITY
            })
        );
        let max = format!(r#"{{"key": "k", "capacity": {MAX_CAPACITY}}}"#);
        assert_eq!(Config::parse(&max).map(|c| c.capacity), Ok(MAX_CAPACITY));
        assert_eq!(
            Config::parse(r#"{"key": "k", "capacity": 1}"#).map(|c| c.capacity),
            Ok(1)
        );
    }

    #[test]
    fn mistakes_name_the_fix() {
        assert!(err("").contains("config is empty; expected a JSON object naming the key field"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err(r#""event_id""#).contains("must be a JSON object"));
        assert!(err("{}").contains("config has no `key`"));
        assert!(err(r#"{"capacity": 10}"#).contains("config has no `key`"));
        assert_eq!(
            err(r#"{"key": "id", "window": 10}"#),
            format!("dedup: unknown config key `window`; expected key or capacity, e.g. {EXAMPLE}")
        );
        for key in ["1", "\"\"", "\"a..b\"", "\".a\"", "null", "[\"id\"]"] {
            assert!(
                err(&format!(r#"{{"key": {key}}}"#)).contains("`key` must be a field name"),
                "{key}"
            );
        }
        for capacity in ["0", "-1", "1.5", "\"100\"", "1000001", "null"] {
            let message = err(&format!(r#"{{"key": "id", "capacity": {capacity}}}"#));
            assert_eq!(
                message,
                format!(
                    "dedup: `capacity` is {capacity}; expected a whole number of keys from 1 to 1000000 (default 100000)"
                )
            );
        }
    }
}
