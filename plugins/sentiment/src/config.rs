//! The plugin's configuration, from the pipeline's `init` string: empty, or a JSON object
//! naming the text field and the neutral band. Unknown keys are refused with the fix.

use serde_json::Value;
use sluice_plugin::ConfigError;
use sluice_plugin::config::{Empty, Preamble};

use crate::score::DEFAULT_NEUTRAL_THRESHOLD;

/// What the example in every config error message looks like.
const EXAMPLE: &str = r#"{"text_field": "text", "neutral_threshold": 0.05}"#;

/// How config errors name the plugin; empty means every default.
const PREAMBLE: Preamble = Preamble {
    plugin: "sentiment",
    example: EXAMPLE,
    empty: Empty::Defaults,
};

/// Settings of one plugin instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Input field that holds the text to score; tweets carry it in `text`.
    pub text_field: String,
    /// Compound magnitude below which a text is labelled neutral (VADER uses 0.05).
    pub neutral_threshold: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            text_field: default_text_field(),
            neutral_threshold: DEFAULT_NEUTRAL_THRESHOLD,
        }
    }
}

fn default_text_field() -> String {
    "text".to_owned()
}

impl Config {
    /// Parses the `init` string; an empty (or all-blank) string means all defaults.
    pub fn parse(config: &str) -> Result<Self, ConfigError> {
        let mut out = Self::default();
        let map = sluice_plugin::config::object(config, &PREAMBLE)?;
        for (key, value) in map {
            match key.as_str() {
                "text_field" => match value {
                    Value::String(s) if !s.is_empty() => out.text_field = s,
                    _ => {
                        return Err(ConfigError::bad_config(
                            "sentiment: `text_field` must be a non-empty string naming the input field that holds the text",
                        ));
                    }
                },
                "neutral_threshold" => match value.as_f64() {
                    Some(t) if t > 0.0 && t <= 1.0 => out.neutral_threshold = t,
                    _ => {
                        return Err(ConfigError::bad_config(
                            "sentiment: `neutral_threshold` must be a number in (0, 1]; VADER's usual value is 0.05",
                        ));
                    }
                },
                other => {
                    return Err(ConfigError::bad_config(format!(
                        "sentiment: unknown config key `{other}`; expected text_field or neutral_threshold"
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_means_defaults() {
        assert_eq!(Config::parse(""), Ok(Config::default()));
        assert_eq!(Config::parse("  \n"), Ok(Config::default()));
        assert_eq!(Config::parse("{}"), Ok(Config::default()));
        assert_eq!(Config::default().text_field, "text");
    }

    #[test]
    fn both_keys_are_read() {
        let c = Config::parse(r#"{"text_field": "body", "neutral_threshold": 0.1}"#);
        assert_eq!(
            c,
            Ok(Config {
                text_field: "body".into(),
                neutral_threshold: 0.1
            })
        );
    }

    #[test]
    fn mistakes_are_refused_with_the_fix() {
        let err = |s: &str| Config::parse(s).err().map(|e| (e.code, e.message));
        assert_eq!(
            err(r#"{"txt": "a"}"#),
            Some((
                "bad-config".into(),
                "sentiment: unknown config key `txt`; expected text_field or neutral_threshold"
                    .into()
            ))
        );
        assert!(
            err("{").is_some_and(|(_, m)| m.contains("not valid JSON") && m.contains("text_field"))
        );
        assert!(err("[1]").is_some_and(|(_, m)| m.contains("must be a JSON object")));
        assert!(err(r#"{"text_field": 3}"#).is_some_and(|(_, m)| m.contains("`text_field`")));
        assert!(
            err(r#"{"neutral_threshold": -1}"#)
                .is_some_and(|(_, m)| m.contains("`neutral_threshold`"))
        );
        assert!(err(r#"{"neutral_threshold": "x"}"#).is_some());
    }
}
