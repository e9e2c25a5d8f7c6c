//! `time_parts`: the UTC hour, ISO day of week and date of one timestamp field, for
//! dashboards that group by them without parsing dates in SQL.

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Reject};

use crate::config::{Section, type_name};
use crate::timestamp::{Parts, from_epoch_float, from_epoch_int, parse_text};

/// Names of the field the section reads and the three it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeParts {
    /// Timestamp field: text (see [`parse_text`]) or epoch seconds / milliseconds.
    pub from: String,
    /// Output: hour of day in UTC, 0..=23.
    pub hour: String,
    /// Output: ISO day of week, 1 = Monday .. 7 = Sunday.
    pub day_of_week: String,
    /// Output: `YYYY-MM-DD` in UTC.
    pub date: String,
}

impl TimeParts {
    /// Reads the section; every key defaults to its own name (`from` to `timestamp`).
    pub fn from_config(value: Value) -> Result<Self, ConfigError> {
        let mut s = Section::new(
            "time_parts".into(),
            value,
            &["from", "hour", "day_of_week", "date"],
        )?;
        Ok(Self {
            from: s.name_or("from", "timestamp")?,
            hour: s.name_or("hour", "hour")?,
            day_of_week: s.name_or("day_of_week", "day_of_week")?,
            date: s.name_or("date", "date")?,
        })
    }

    /// The fields this section writes, with the setting that names each.
    pub fn outputs(&self) -> Vec<(&str, String)> {
        vec![
            (self.hour.as_str(), "time_parts.hour".into()),
            (self.day_of_week.as_str(), "time_parts.day_of_week".into()),
            (self.date.as_str(), "time_parts.date".into()),
        ]
    }

    /// Adds the three fields; a missing (or null) timestamp rejects the event, since rows
    /// without their time would land in the wrong partition.
    pub fn apply(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let unix = match event.get(&self.from) {
            None | Some(Value::Null) => {
                return Err(Reject::new(
                    "missing-field",
                    format!("missing field \"{}\"", self.from),
                ));
            }
            Some(Value::String(s)) => parse_text(s),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => from_epoch_int(i),
                None => n.as_f64().and_then(from_epoch_float),
            },
            Some(_) => None,
        };
        let Some(parts) = unix.and_then(Parts::from_unix) else {
            return Err(self.bad(event.get(&self.from)));
        };
        event.insert(self.hour.clone(), Value::from(parts.hour));
        event.insert(self.day_of_week.clone(), Value::from(parts.day_of_week));
        event.insert(self.date.clone(), Value::String(parts.date()));
        Ok(())
    }

    fn bad(&self, value: Option<&Value>) -> Reject {
        let got = match value {
            Some(Value::String(s)) => format!("{s:?}"),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => type_name(other).to_owned(),
            None => "nothing".to_owned(),
        };
        Reject::new(
            "bad-timestamp",
            format!(
                "field \"{}\" is {got}; expected \"YYYY-MM-DD hh:mm:ss\", ISO 8601 or epoch seconds/milliseconds in the years 0-9999",
                self.from
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn apply(config: Value, event: Value) -> Result<Value, (String, String)> {
        let t = TimeParts::from_config(config).expect("config");
        let Value::Object(mut map) = event else {
            panic!("not an object")
        };
        t.apply(&mut map).map_err(|e| (e.code, e.message))?;
        Ok(Value::Object(map))
    }

    #[test]
    fn adds_hour_weekday_and_date() {
        let out = apply(
            json!({}),
            json!({"timestamp": "2026-01-01 17:45:00", "x": 1}),
        );
        assert_eq!(
            out,
            Ok(
                json!({"timestamp": "2026-01-01 17:45:00", "x": 1, "hour": 17, "day_of_week": 4, "date": "2026-01-01"})
            )
        );
    }

    #[test]
    fn renamed_fields_and_epoch_numbers() {
        let config = json!({"from": "ts", "hour": "h", "day_of_week": "dow", "date": "d"});
        let want = Ok(json!({"h": 0, "dow": 4, "d": "2026-01-01"}));
        let strip = |v: Result<Value, _>| {
            v.map(|mut v| {
                v.as_object_mut().map(|o| o.remove("ts"));
                v
            })
        };
        assert_eq!(
            strip(apply(config.clone(), json!({"ts": 1_767_225_600}))),
            want
        );
        assert_eq!(
            strip(apply(config.clone(), json!({"ts": 1_767_225_600_000_u64}))),
            want
        );
        assert_eq!(
            strip(apply(config.clone(), json!({"ts": 1_767_225_600.25}))),
            want
        );
        assert_eq!(
            strip(apply(config, json!({"ts": "2026-01-01T01:00:00+01:00"}))),
            want
        );
    }

    #[test]
    fn missing_and_bad_timestamps_are_rejected() {
        let code = |event| apply(json!({}), event).err().map(|e| e.0);
        assert_eq!(code(json!({})), Some("missing-field".into()));
        assert_eq!(
            code(json!({"timestamp": null})),
            Some("missing-field".into())
        );
        for bad in [
            json!("soon"),
            json!("2026-02-30 00:00:00"),
            json!(true),
            json!([1]),
            json!(1e300),
            json!(u64::MAX),
        ] {
            assert_eq!(
                code(json!({ "timestamp": bad.clone() })),
                Some("bad-timestamp".into()),
                "{bad}"
            );
        }
        let msg = apply(json!({}), json!({"timestamp": "soon"}))
            .err()
            .map(|e| e.1);
        assert_eq!(
            msg.as_deref(),
            Some(
                "field \"timestamp\" is \"soon\"; expected \"YYYY-MM-DD hh:mm:ss\", ISO 8601 or epoch seconds/milliseconds in the years 0-9999"
            )
        );
    }
}
