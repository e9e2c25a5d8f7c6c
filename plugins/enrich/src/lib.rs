//! `enrich`: adds derived fields and reference-data lookups to each JSON event and emits
//! the event, with every original field kept, as one row.
//!
//! Layout: [`config`] reads the `init` string and refuses mistakes with the fix; one module
//! per section does the work: [`revenue`] (price × quantity), [`time_parts`] (hour,
//! weekday and date, parsed by [`timestamp`]), [`user_agent`] (device, browser, OS),
//! [`geo`] (country by IP prefix) and [`lookup`] (reference tables). All reference data
//! comes from the config: the plugin reads no files and opens no sockets. Sections run in
//! that order, so a lookup may key on the country that `geo` wrote. The plugin glue at the
//! bottom is the only part that knows about events and rows.
//!
//! Reject codes: `bad-json`, `not-object`, `missing-field` and `bad-timestamp` (time_parts),
//! `wrong-type` (a field of the wrong JSON type), `out-of-range` (revenue overflowed), and
//! `encode` (the row could not be written; not expected for a parsed object).

pub mod config;
pub mod geo;
pub mod lookup;
pub mod revenue;
pub mod time_parts;
pub mod timestamp;
pub mod user_agent;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

use crate::config::Config;

/// The transform: one row per event, the input object plus the configured fields. A
/// configured output field that the input already has is overwritten.
#[derive(Debug)]
pub struct Enrich {
    config: Config,
}

impl Enrich {
    /// Builds the plugin from a parsed config.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Applies every configured section to one event object, in section order.
    pub fn enrich(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let c = &self.config;
        if let Some(s) = &c.revenue {
            s.apply(event)?;
        }
        if let Some(s) = &c.time_parts {
            s.apply(event)?;
        }
        if let Some(s) = &c.user_agent {
            s.apply(event)?;
        }
        if let Some(s) = &c.geo {
            s.apply(event)?;
        }
        for s in &c.lookups {
            s.apply(event)?;
        }
        Ok(())
    }
}

impl Transform for Enrich {
    fn init(config: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::parse(config)?))
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        let mut object = event.json_object()?;
        if self.config.is_empty() {
            // Nothing to add: keep the producer's bytes, key order and number formatting.
            out.row(event.payload);
            return Ok(());
        }
        self.enrich(&mut object)?;
        // Serialize straight into the output; on error the SDK rolls the partial row back.
        let mut written = Ok(());
        out.row_with(None, |buf| {
            written = serde_json::to_writer(buf, &object);
        });
        written.map_err(|e| Reject::new("encode", format!("could not write the row: {e}")))
    }
}

sluice_plugin::export_transform!(Enrich);

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_plugin::testing::{Result as Outcome, run};

    use super::*;

    const CONFIG: &str = r#"{
      "revenue":    {"price": "price", "quantity": "quantity", "into": "revenue"},
      "time_parts": {"from": "timestamp", "hour": "hour", "day_of_week": "day_of_week", "date": "date"},
      "user_agent": {"from": "user_agent", "device": "device", "browser": "browser", "os": "os"},
      "geo":        {"from": "ip", "into": "country", "prefixes": {"81.2.": "GB", "5.10.": "DE", "203.0.113.": "AU"}, "default": "unknown"},
      "lookups":    [{"key": "user_id", "into": "user_tier", "table": {"user_0001": "gold"}, "default": "standard"},
                     {"key": "product_id", "into": "category", "table": {"prod_1": "books"}, "default": "other"}]
    }"#;

    fn plugin(config: &str) -> Enrich {
        Enrich::init(config).expect("config is valid")
    }

    /// Runs payloads through the plugin; returns each event's single row as JSON, or its rejection code.
    fn rows(plugin: &mut Enrich, payloads: &[&[u8]]) -> Vec<Result<Value, String>> {
        let out = run(plugin, payloads);
        assert!(out.batch_rows.is_empty());
        out.events
            .into_iter()
            .map(|r| match r {
                Outcome::Rows(rows) => {
                    assert_eq!(rows.len(), 1, "exactly one row per event");
                    assert_eq!(rows[0].0, None, "rows are untargeted");
                    Ok(serde_json::from_str(&rows[0].1).expect("row is JSON"))
                }
                Outcome::Rejected(r) => Err(r.code),
            })
            .collect()
    }

    #[test]
    fn a_click_gets_every_section_and_keeps_its_fields() {
        let payload = br#"{"event_id":"e1","user_id":"user_0001","product_id":"prod_1","price":19.99,"quantity":3,"timestamp":"2026-01-01T01:30:00+02:00","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1","ip":"81.2.69.160","extra":{"n":[1,2]}}"#;
        let out = rows(&mut plugin(CONFIG), &[payload]);
        let mut want: Value = serde_json::from_slice(payload).expect("payload is JSON");
        let added = json!({
            "revenue": 59.97, "hour": 23, "day_of_week": 3, "date": "2025-12-31",
            "device": "mobile", "browser": "Safari", "os": "iOS", "country": "GB",
            "user_tier": "gold", "category": "books"
        });
        if let (Some(w), Some(a)) = (want.as_object_mut(), added.as_object()) {
            w.extend(a.clone());
        }
        assert_eq!(out, vec![Ok(want)]);
    }

    #[test]
    fn defaults_fill_in_for_missing_optional_fields() {
        let out = rows(
            &mut plugin(CONFIG),
            &[br#"{"user_id":"user_4242","timestamp":1767225600000,"ip":"8.8.8.8"}"#],
        );
        assert_eq!(
            out,
            vec![Ok(json!({
                "user_id": "user_4242", "timestamp": 1_767_225_600_000_u64, "ip": "8.8.8.8",
                "hour": 0, "day_of_week": 4, "date": "2026-01-01",
                "device": "unknown", "browser": "unknown", "os": "unknown",
                "country": "unknown", "user_tier": "standard", "category": "other"
            }))]
        );
    }

    #[test]
    fn bad_events_are_rejected_with_codes_and_good_ones_still_pass() {
        let out = rows(
            &mut plugin(CONFIG),
            &[
                b"{not json",
                b"\xff\xfe",
                b"[1,2]",
                b"\"str\"",
                br#"{"price":1}"#,
                br#"{"timestamp":"yesterday"}"#,
                br#"{"timestamp":"2026-01-01 00:00:00","price":"1.00"}"#,
                br#"{"timestamp":"2026-01-01 00:00:00","user_agent":42}"#,
                br#"{"timestamp":"2026-01-01 00:00:00","ip":[1]}"#,
                br#"{"timestamp":"2026-01-01 00:00:00","user_id":{"a":1}}"#,
                br#"{"timestamp":"2026-01-01 00:00:00"}"#,
            ],
        );
        let codes: Vec<&str> = out
            .iter()
            .map(|r| r.as_ref().err().map_or("ok", String::as_str))
            .collect();
        assert_eq!(
            codes,
            [
                "bad-json",
                "bad-json",
                "not-object",
                "not-object",
                "missing-field",
                "bad-timestamp",
                "wrong-type",
                "wrong-type",
                "wrong-type",
                "wrong-type",
                "ok"
            ]
        );
    }

    #[test]
    fn empty_config_passes_events_through_byte_for_byte() {
        for config in ["", "{}"] {
            let payload: &[u8] = br#"{"b": 1.50, "a": [1, 2]}"#;
            let out = run(&mut plugin(config), &[payload, b"[1]", b"nope"]);
            assert_eq!(
                out.events[0],
                Outcome::Rows(vec![(None, String::from_utf8_lossy(payload).into_owned())])
            );
            assert!(matches!(&out.events[1], Outcome::Rejected(r) if r.code == "not-object"));
            assert!(matches!(&out.events[2], Outcome::Rejected(r) if r.code == "bad-json"));
        }
    }

    #[test]
    fn existing_output_fields_are_overwritten_and_lookups_chain() {
        let config = r#"{
          "geo": {"prefixes": {"5.10.": "DE"}},
          "lookups": [{"key": "country", "into": "region", "table": {"DE": "EU"}, "default": "ROW"}]
        }"#;
        let out = rows(
            &mut plugin(config),
            &[
                br#"{"ip":"5.10.0.1","country":"stale"}"#,
                br#"{"ip":"9.9.9.9"}"#,
            ],
        );
        assert_eq!(
            out,
            vec![
                Ok(json!({"ip": "5.10.0.1", "country": "DE", "region": "EU"})),
                Ok(json!({"ip": "9.9.9.9", "country": "unknown", "region": "ROW"})),
            ]
        );
    }

    #[test]
    fn one_section_alone_touches_only_its_fields() {
        let out = rows(
            &mut plugin(r#"{"revenue": {}}"#),
            &[br#"{"price":2.5,"quantity":2,"user_agent":"x"}"#, br#"{}"#],
        );
        assert_eq!(
            out,
            vec![
                Ok(json!({"price": 2.5, "quantity": 2, "user_agent": "x", "revenue": 5.0})),
                Ok(json!({})),
            ]
        );
    }

    #[test]
    fn config_errors_surface_from_init() {
        let err = Enrich::init(r#"{"geo": {}}"#).err();
        assert_eq!(err.as_ref().map(|e| e.code.as_str()), Some("bad-config"));
        assert!(err.is_some_and(|e| e.message.starts_with("enrich: `geo.prefixes` is missing;")));
        assert!(Enrich::init("[]").is_err());
        assert!(Enrich::init(CONFIG).is_ok());
    }
}
