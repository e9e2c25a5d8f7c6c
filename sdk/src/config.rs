//! The opening every JSON-configured plugin shares: its `init` string as one JSON object,
//! refused with a message that names the plugin, says what is wrong and quotes an example.

use serde_json::{Map, Value};

use crate::ConfigError;
use crate::json::kind;

/// What a plugin's config errors say about it, fixed per plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// The plugin's name; every message starts with it, since the host runs many plugins.
    pub plugin: &'static str,
    /// A config that works, quoted in every message so the fix is one copy away.
    pub example: &'static str,
    /// What an empty (or all-blank) config means.
    pub empty: Empty,
}

/// What an empty (or all-blank) config means to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Every default: the config reads as `{}`.
    Defaults,
    /// A mistake, since no default is safe. `needs` says what the object must hold when
    /// the example alone does not make it plain, e.g. `"naming the key field"`.
    Refuse {
        /// Completes "expected a JSON object …", or `None`.
        needs: Option<&'static str>,
    },
}

/// Reads `text` as one JSON object for `preamble`'s plugin: empty text is `{}` or refused
/// as [`Preamble::empty`] says, and anything but an object is a `bad-config` error.
pub fn object(text: &str, preamble: &Preamble) -> Result<Map<String, Value>, ConfigError> {
    let Preamble {
        plugin,
        example,
        empty,
    } = *preamble;
    // Where an empty config is fine, every message says so.
    let or_nothing = if empty == Empty::Defaults {
        ", or nothing"
    } else {
        ""
    };
    if text.trim().is_empty() {
        return match empty {
            Empty::Defaults => Ok(Map::new()),
            Empty::Refuse { needs: None } => Err(ConfigError::bad_config(format!(
                "{plugin}: config is empty; expected a JSON object such as {example}"
            ))),
            Empty::Refuse { needs: Some(needs) } => Err(ConfigError::bad_config(format!(
                "{plugin}: config is empty; expected a JSON object {needs}, such as {example}"
            ))),
        };
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ConfigError::bad_config(format!(
            "{plugin}: config is {}; expected a JSON object (settings must be a JSON object such as {example}{or_nothing})",
            kind(&other)
        ))),
        Err(e) => Err(ConfigError::bad_config(format!(
            "{plugin}: config is not valid JSON ({e}); expected a JSON object such as {example}{or_nothing}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"key": "id"}"#;

    fn preamble(empty: Empty) -> Preamble {
        Preamble {
            plugin: "demo",
            example: EXAMPLE,
            empty,
        }
    }

    fn message(text: &str, empty: Empty) -> String {
        let e = object(text, &preamble(empty)).expect_err(text);
        assert_eq!(e.code, "bad-config");
        e.message
    }

    const REFUSE: Empty = Empty::Refuse { needs: None };

    #[test]
    fn objects_are_returned_whole() {
        for empty in [Empty::Defaults, REFUSE] {
            let map = object(r#" {"key": "id", "n": [1]} "#, &preamble(empty)).expect("object");
            assert_eq!(map.len(), 2);
            assert_eq!(map["key"], "id");
            assert_eq!(object("{}", &preamble(empty)), Ok(Map::new()));
        }
    }

    #[test]
    fn empty_is_defaults_or_refused_with_the_example() {
        for blank in ["", "  \n\t"] {
            assert_eq!(object(blank, &preamble(Empty::Defaults)), Ok(Map::new()));
            assert_eq!(
                message(blank, REFUSE),
                format!("demo: config is empty; expected a JSON object such as {EXAMPLE}")
            );
            let needs = Empty::Refuse {
                needs: Some("naming the key field"),
            };
            assert_eq!(
                message(blank, needs),
                format!(
                    "demo: config is empty; expected a JSON object naming the key field, such as {EXAMPLE}"
                )
            );
        }
    }

    #[test]
    fn not_json_names_the_parse_error_and_the_example() {
        assert_eq!(
            message("{", REFUSE),
            format!(
                "demo: config is not valid JSON (EOF while parsing an object at line 1 column 1); expected a JSON object such as {EXAMPLE}"
            )
        );
        let m = message("key = 1", Empty::Defaults);
        assert!(m.starts_with("demo: config is not valid JSON ("), "{m}");
        assert!(
            m.ends_with(&format!("such as {EXAMPLE}, or nothing")),
            "{m}"
        );
    }

    #[test]
    fn other_json_names_its_kind_and_the_example() {
        assert_eq!(
            message("[1]", REFUSE),
            format!(
                "demo: config is an array; expected a JSON object (settings must be a JSON object such as {EXAMPLE})"
            )
        );
        assert_eq!(
            message("null", Empty::Defaults),
            format!(
                "demo: config is null; expected a JSON object (settings must be a JSON object such as {EXAMPLE}, or nothing)"
            )
        );
        for (text, kind) in [
            ("\"id\"", "a string"),
            ("3", "a number"),
            ("true", "a boolean"),
        ] {
            assert!(
                message(text, REFUSE).starts_with(&format!("demo: config is {kind}; ")),
                "{text}"
            );
        }
    }
}
