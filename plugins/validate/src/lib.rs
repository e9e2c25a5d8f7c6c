//! `validate`: checks each event's JSON object against configured field rules and emits
//! it unchanged when every rule passes; otherwise it rejects the event to the dead-letter
//! table with a reason code and a message naming the field, the rule and the value.
//!
//! Layout: [`config`] reads the `init` string into rules; [`rule`] judges one field;
//! [`timestamp`] parses date-time strings and epoch integers. The glue at the bottom is
//! the only part that knows about events and rows.
//!
//! Config (no default; `rules` may be empty to check only that events are JSON objects):
//!
//! ```json
//! {"rules": [
//!   {"field": "price", "required": true, "type": "number", "min": 0, "max": 100000},
//!   {"field": "event_type", "enum": ["page_view", "add_to_cart", "purchase"]},
//!   {"field": "device.os", "type": "string", "min_len": 1, "max_len": 64},
//!   {"field": "timestamp", "type": "timestamp", "required": true,
//!    "not_before": "2000-01-01 00:00:00", "not_after": "2100-01-01 00:00:00"}
//! ]}
//! ```
//!
//! Reason codes: `bad-json`, `not-object`, `missing-field` (absent or null and required),
//! `wrong-type`, `out-of-range` (min/max, inclusive), `bad-length` (min_len/max_len in
//! chars, inclusive), `not-in-enum`, `bad-timestamp` (unparseable, or outside
//! not_before/not_after, inclusive). Rules run in order and the first failure wins.

pub mod config;
pub mod rule;
pub mod timestamp;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

use crate::config::Config;

/// The transform: passes events that satisfy every rule, rejects the rest.
#[derive(Debug)]
pub struct Validate {
    config: Config,
}

impl Validate {
    /// Builds the plugin from a parsed config.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Runs every rule over one event object; the first failure is the rejection.
    pub fn check(&self, event: &Map<String, Value>) -> Result<(), Reject> {
        self.config
            .rules
            .iter()
            .try_for_each(|rule| rule.check(event))
    }
}

/// Parses a payload as a JSON object, rejecting anything else with `bad-json` or `not-object`.
pub use sluice_plugin::json::object as parse_object;

impl Transform for Validate {
    fn init(config: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::parse(config)?))
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        self.check(&parse_object(event.payload)?)?;
        out.row(event.payload);
        Ok(())
    }
}

sluice_plugin::export_transform!(Validate);

#[cfg(test)]
mod tests {
    use sluice_plugin::testing::{Result as Outcome, run};

    use super::*;

    const CONFIG: &str = r#"{"rules": [
        {"field": "price", "required": true, "type": "number", "min": 0, "max": 100000},
        {"field": "event_type", "enum": ["page_view", "add_to_cart", "purchase"]},
        {"field": "user_id", "type": "string", "min_len": 1, "max_len": 64, "required": true},
        {"field": "timestamp", "type": "timestamp", "required": true,
         "not_before": "2000-01-01 00:00:00", "not_after": "2100-01-01 00:00:00"},
        {"field": "device.os", "type": "string", "enum": ["ios", "android", "web"]}
    ]}"#;

    /// Runs payloads through a plugin built from [`CONFIG`]; each event's row or `(code, message)`.
    fn outcomes(payloads: &[&[u8]]) -> Vec<Result<String, (String, String)>> {
        let mut plugin = Validate::init(CONFIG).expect("config is valid");
        run(&mut plugin, payloads)
            .events
            .into_iter()
            .map(|r| match r {
                Outcome::Rows(mut rows) => {
                    assert_eq!(rows.len(), 1, "one row per valid event");
                    let (target, json) = rows.remove(0);
                    assert_eq!(target, None, "rows are untargeted");
                    Ok(json)
                }
                Outcome::Rejected(r) => Err((r.code, r.message)),
            })
            .collect()
    }

    fn codes(payloads: &[&[u8]]) -> Vec<String> {
        outcomes(payloads)
            .into_iter()
            .map(|o| o.map_or_else(|(code, _)| code, |_| "ok".into()))
            .collect()
    }

    #[test]
    fn valid_events_pass_byte_for_byte() {
        let payload: &[u8] = br#"{ "price": 19.99, "event_type":"purchase", "user_id":"user_0001", "timestamp":"2026-01-01 10:00:00", "device":{"os":"ios"}, "extra": [1, 2] }"#;
        let minimal: &[u8] = br#"{"price":0,"user_id":"u","timestamp":1767261600}"#;
        assert_eq!(
            outcomes(&[payload, minimal]),
            vec![
                Ok(String::from_utf8_lossy(payload).into_owned()),
                Ok(String::from_utf8_lossy(minimal).into_owned())
            ]
        );
    }

    #[test]
    fn each_rule_rejects_with_its_code() {
        let base = |edit: &str| {
            format!(r#"{{"price":1,"user_id":"u","timestamp":"2026-01-01T00:00:00Z",{edit}"k":0}}"#)
        };
        let payloads = [
            base(""),
            base(r#""price":-3,"#),
            base(r#""price":"3","#),
            base(r#""event_type":"click","#),
            base(r#""user_id":"","#),
            base(r#""timestamp":"1999-12-31 23:59:59","#),
            base(r#""timestamp":"soon","#),
            base(r#""device":{"os":"beos"},"#),
            base(r#""device":{"os":7},"#),
            r#"{"user_id":"u","timestamp":0}"#.to_owned(),
        ];
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(
            codes(&refs),
            [
                "ok",
                "out-of-range",
                "wrong-type",
                "not-in-enum",
                "bad-length",
                "bad-timestamp",
                "bad-timestamp",
                "not-in-enum",
                "wrong-type",
                "missing-field",
            ]
        );
    }

    #[test]
    fn messages_name_field_rule_and_value() {
        let out = outcomes(&[
            br#"{"price":-3,"user_id":"u","timestamp":"2026-01-01 00:00:00"}"#,
            br#"{"price":100001,"user_id":"u","timestamp":"2026-01-01 00:00:00"}"#,
            br#"{"price":5,"event_type":"click","user_id":"u","timestamp":"2026-01-01 00:00:00"}"#,
            br#"{"price":5,"timestamp":"2026-01-01 00:00:00"}"#,
        ]);
        let messages: Vec<&str> = out
            .iter()
            .map(|o| o.as_ref().err().map_or("ok", |e| e.1.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                "field price: -3 is below min 0",
                "field price: 100001 is above max 100000",
                r#"field event_type: "click" is not in enum ["page_view","add_to_cart","purchase"]"#,
                "field user_id: is missing (required: true)",
            ]
        );
    }

    #[test]
    fn first_failing_rule_wins() {
        // price (rule 1) and user_id (rule 3) are both wrong; price is reported.
        let out = outcomes(&[br#"{"price":-1,"user_id":"","timestamp":"2026-01-01 00:00:00"}"#]);
        assert_eq!(
            out[0].as_ref().err().map(|e| e.0.as_str()),
            Some("out-of-range")
        );
    }

    #[test]
    fn boundaries_are_inclusive() {
        let long = "x".repeat(64);
        let too_long = "x".repeat(65);
        let event = |price: &str, user: &str, ts: &str| {
            format!(r#"{{"price":{price},"user_id":"{user}","timestamp":{ts}}}"#)
        };
        let payloads = [
            event("0", "u", r#""2000-01-01 00:00:00""#),
            event("100000", &long, r#""2100-01-01 00:00:00""#),
            event("100000.0", "u", "946684800"),
            event("100000.01", "u", r#""2050-01-01 00:00:00""#),
            event("-0.01", "u", r#""2050-01-01 00:00:00""#),
            event("1", &too_long, r#""2050-01-01 00:00:00""#),
            event("1", "u", r#""2100-01-01 00:00:01""#),
            event("1", "u", "946684799999"),
        ];
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(
            codes(&refs),
            [
                "ok",
                "ok",
                "ok",
                "out-of-range",
                "out-of-range",
                "bad-length",
                "bad-timestamp",
                "bad-timestamp"
            ]
        );
    }

    #[test]
    fn non_objects_are_rejected() {
        let out = outcomes(&[b"{not json", b"\xff\xfe", b"[1,2]", b"\"s\"", b""]);
        let codes: Vec<&str> = out
            .iter()
            .map(|o| o.as_ref().err().map_or("ok", |e| e.0.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                "bad-json",
                "bad-json",
                "not-object",
                "not-object",
                "bad-json"
            ]
        );
        assert_eq!(
            out[2].as_ref().err().map(|e| e.1.as_str()),
            Some("payload must be a JSON object, got an array")
        );
    }

    #[test]
    fn empty_rules_pass_any_object() {
        let mut plugin = Validate::init(r#"{"rules": []}"#).expect("valid");
        let out = run(&mut plugin, &[b"{}", b"[]"]);
        assert_eq!(out.events[0], Outcome::Rows(vec![(None, "{}".into())]));
        assert!(matches!(&out.events[1], Outcome::Rejected(r) if r.code == "not-object"));
    }

    #[test]
    fn bad_config_is_refused() {
        for config in ["", r#"{"rules": [{"field": "a", "typ": "string"}]}"#] {
            let err = Validate::init(config).err();
            assert_eq!(
                err.map(|e| e.code),
                Some("bad-config".to_owned()),
                "{config}"
            );
        }
    }
}
