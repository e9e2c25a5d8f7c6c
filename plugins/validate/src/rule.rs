//! One validation rule and how it judges one field of an event object: presence, then
//! type, then range, length, enum and timestamp bounds, stopping at the first failure.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
use sluice_plugin::Reject;

use crate::timestamp;

/// Longest value text quoted in a rejection, so one huge field cannot bloat the dead-letter table.
const MAX_SHOWN_CHARS: usize = 80;

/// The JSON types a rule can demand; `Timestamp` is a string or epoch integer that parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A JSON number written without fraction or exponent, as integer columns need.
    Integer,
    /// `true` or `false`.
    Bool,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// A date-time string or epoch integer; see [`timestamp::FORMATS`].
    Timestamp,
}

impl Kind {
    /// Every kind, in the order config error messages list them.
    pub const ALL: [Kind; 7] = [
        Kind::String,
        Kind::Number,
        Kind::Integer,
        Kind::Bool,
        Kind::Object,
        Kind::Array,
        Kind::Timestamp,
    ];

    /// The kind's name as written in the config's `type` key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Integer => "integer",
            Kind::Bool => "bool",
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::Timestamp => "timestamp",
        }
    }

    /// The kind a config `type` names, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether `value` has this JSON type; for `Timestamp`, whether it may hold one.
    fn admits(self, value: &Value) -> bool {
        match self {
            Kind::String => value.is_string(),
            Kind::Number => value.is_number(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Bool => value.is_boolean(),
            Kind::Object => value.is_object(),
            Kind::Array => value.is_array(),
            Kind::Timestamp => value.is_string() || value.is_number(),
        }
    }
}

/// A config timestamp bound, kept with its config text so that messages quote it as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The bound in UTC epoch milliseconds.
    pub ms: i64,
    /// The bound as the config gave it.
    pub text: String,
}

/// The checks to run on one field, as one entry of the config's `rules` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The field as configured (`device.os`), for messages.
    pub field: String,
    /// `field` split at dots, to walk nested objects.
    pub path: Vec<String>,
    /// Whether an absent (or null) field fails; otherwise the rule passes it.
    pub required: bool,
    /// The JSON type the value must have, if the rule demands one.
    pub kind: Option<Kind>,
    /// Smallest allowed number, inclusive.
    pub min: Option<Number>,
    /// Largest allowed number, inclusive.
    pub max: Option<Number>,
    /// Fewest allowed characters in a string, inclusive.
    pub min_len: Option<usize>,
    /// Most allowed characters in a string, inclusive.
    pub max_len: Option<usize>,
    /// The only allowed values (strings or numbers): the config's `enum`.
    pub allowed: Option<Vec<Value>>,
    /// Earliest allowed timestamp, inclusive.
    pub not_before: Option<Bound>,
    /// Latest allowed timestamp, inclusive.
    pub not_after: Option<Bound>,
}

impl Rule {
    /// A rule that only names its field; the config fills in the checks.
    pub fn new(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            path: field.split('.').map(str::to_owned).collect(),
            required: false,
            kind: None,
            min: None,
            max: None,
            min_len: None,
            max_len: None,
            allowed: None,
            not_before: None,
            not_after: None,
        }
    }

    /// Checks this rule against an event object; the rejection names field, rule and value.
    pub fn check(&self, event: &Map<String, Value>) -> Result<(), Reject> {
        // Null counts as absent: a non-nullable column would silently get its default.
        let value = match lookup(event, &self.path) {
            Some(Value::Null) if self.required => {
                return Err(self.reject("missing-field", "is null (required: true)"));
            }
            None if self.required => {
                return Err(self.reject("missing-field", "is missing (required: true)"));
            }
            None | Some(Value::Null) => return Ok(()),
            Some(value) => value,
        };

        if let Some(kind) = self.kind
            && !kind.admits(value)
        {
            return Err(self.reject(
                "wrong-type",
                &format!(
                    "{} is {}, not type {}",
                    show(value),
                    type_name(value),
                    kind.name()
                ),
            ));
        }

        if let Value::Number(n) = value {
            if let Some(min) = &self.min
                && compare(n, min) == Some(Ordering::Less)
            {
                return Err(self.reject("out-of-range", &format!("{n} is below min {min}")));
            }
            if let Some(max) = &self.max
                && compare(n, max) == Some(Ordering::Greater)
            {
                return Err(self.reject("out-of-range", &format!("{n} is above max {max}")));
            }
        }

        if let Value::String(s) = value
            && (self.min_len.is_some() || self.max_len.is_some())
        {
            let len = s.chars().count();
            if let Some(min_len) = self.min_len
                && len < min_len
            {
                return Err(self.reject(
                    "bad-length",
                    &format!("{} has {len} chars, below min_len {min_len}", show(value)),
                ));
            }
            if let Some(max_len) = self.max_len
                && len > max_len
            {
                return Err(self.reject(
                    "bad-length",
                    &format!("{} has {len} chars, above max_len {max_len}", show(value)),
                ));
            }
        }

        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| same_scalar(a, value))
        {
            return Err(self.reject(
                "not-in-enum",
                &format!(
                    "{} is not in enum {}",
                    show(value),
                    show(&Value::Array(allowed.clone()))
                ),
            ));
        }

        if self.kind == Some(Kind::Timestamp) {
            self.check_timestamp(value)?;
        }
        Ok(())
    }

    /// Parses a timestamp value and holds it to `not_before` / `not_after`.
    fn check_timestamp(&self, value: &Value) -> Result<(), Reject> {
        let ms = match value {
            Value::String(s) => timestamp::parse_str(s),
            Value::Number(n) => n.as_i64().and_then(timestamp::from_epoch),
            _ => None,
        };
        let Some(ms) = ms else {
            return Err(self.reject(
                "bad-timestamp",
                &format!(
                    "{} is not a timestamp; expected {}",
                    show(value),
                    timestamp::FORMATS
                ),
            ));
        };
        if let Some(bound) = &self.not_before
            && ms < bound.ms
        {
            return Err(self.reject(
                "bad-timestamp",
                &format!("{} is before not_before {}", show(value), bound.text),
            ));
        }
        if let Some(bound) = &self.not_after
            && ms > bound.ms
        {
            return Err(self.reject(
                "bad-timestamp",
                &format!("{} is after not_after {}", show(value), bound.text),
            ));
        }
        Ok(())
    }

    fn reject(&self, code: &str, detail: &str) -> Reject {
        Reject::new(code, format!("field {}: {detail}", self.field))
    }
}

/// Walks a dotted path through nested objects; `None` if any step is absent or not an object.
fn lookup<'a>(event: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut object = event;
    for step in parents {
        object = object.get(step)?.as_object()?;
    }
    object.get(last)
}

/// Orders two JSON numbers, exactly when both are integers.
fn compare(a: &Number, b: &Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => Some(x.cmp(&y)),
        (_, _, Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Enum membership: equal strings, or numbers of equal value (`1` matches `1.0`).
fn same_scalar(allowed: &Value, value: &Value) -> bool {
    match (allowed, value) {
        (Value::String(a), Value::String(v)) => a == v,
        (Value::Number(a), Value::Number(v)) => compare(a, v) == Some(Ordering::Equal),
        _ => false,
    }
}

/// The value as JSON text, cut to [`MAX_SHOWN_CHARS`].
fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The value's JSON type, for wrong-type messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(n) if n.is_f64() => "a non-integer number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    /// Checks `event` against `rule`; `Ok` or `(code, message)`.
    fn check(rule: &Rule, event: Value) -> Result<(), (String, String)> {
        rule.check(&object(event)).map_err(|r| (r.code, r.message))
    }

    /// The rejection code, or `ok`.
    fn code(rule: &Rule, event: Value) -> String {
        check(rule, event).map_or_else(|(code, _)| code, |()| "ok".into())
    }

    fn rule(field: &str, edit: impl FnOnce(&mut Rule)) -> Rule {
        let mut r = Rule::new(field);
        edit(&mut r);
        r
    }

    #[test]
    fn required_fields_must_be_present_and_not_null() {
        let r = rule("user_id", |r| r.required = true);
        assert_eq!(code(&r, json!({"user_id": "u1"})), "ok");
        assert_eq!(
            check(&r, json!({})),
            Err((
                "missing-field".into(),
                "field user_id: is missing (required: true)".into()
            ))
        );
        assert_eq!(
            check(&r, json!({"user_id": null})),
            Err((
                "missing-field".into(),
                "field user_id: is null (required: true)".into()
            ))
        );
    }

    #[test]
    fn optional_fields_pass_when_absent_or_null() {
        let r = rule("price", |r| {
            r.kind = Some(Kind::Number);
            r.min = Some(0.into());
        });
        assert_eq!(code(&r, json!({})), "ok");
        assert_eq!(code(&r, json!({"price": null})), "ok");
        assert_eq!(code(&r, json!({"price": -1})), "out-of-range");
    }

    #[test]
    fn dotted_paths_walk_nested_objects() {
        let r = rule("device.os", |r| {
            r.required = true;
            r.allowed = Some(vec![json!("ios"), json!("android")]);
        });
        assert_eq!(code(&r, json!({"device": {"os": "ios"}})), "ok");
        assert_eq!(
            check(&r, json!({"device": {"os": "beos"}})),
            Err((
                "not-in-enum".into(),
                r#"field device.os: "beos" is not in enum ["ios","android"]"#.into()
            ))
        );
        assert_eq!(code(&r, json!({"device": {}})), "missing-field");
        assert_eq!(code(&r, json!({"device": "ios"})), "missing-field");
        assert_eq!(code(&r, json!({"device.os": "ios"})), "missing-field");
        let deep = rule("a.b.c", |r| r.kind = Some(Kind::Integer));
        assert_eq!(code(&deep, json!({"a": {"b": {"c": 1}}})), "ok");
        assert_eq!(code(&deep, json!({"a": {"b": {"c": "1"}}})), "wrong-type");
    }

    #[test]
    fn types_are_checked() {
        let cases = [
            (Kind::String, json!("x"), json!(1)),
            (Kind::Number, json!(1.5), json!("1.5")),
            (Kind::Number, json!(-2), json!(true)),
            (Kind::Integer, json!(42), json!(42.5)),
            (Kind::Integer, json!(u64::MAX), json!(1e3)),
            (Kind::Bool, json!(false), json!(0)),
            (Kind::Object, json!({}), json!([])),
            (Kind::Array, json!([1]), json!({"a": 1})),
            (Kind::Timestamp, json!("2020-01-01 00:00:00"), json!(true)),
            (Kind::Timestamp, json!(1_600_000_000), json!(["x"])),
        ];
        for (kind, good, bad) in cases {
            let r = rule("f", |r| r.kind = Some(kind));
            assert_eq!(code(&r, json!({ "f": good })), "ok", "{kind:?} {good}");
            assert_eq!(
                code(&r, json!({ "f": bad })),
                "wrong-type",
                "{kind:?} {bad}"
            );
        }
        let r = rule("price", |r| r.kind = Some(Kind::Number));
        assert_eq!(
            check(&r, json!({"price": "12"})),
            Err((
                "wrong-type".into(),
                r#"field price: "12" is a string, not type number"#.into()
            ))
        );
    }

    #[test]
    fn min_and_max_are_inclusive() {
        let r = rule("price", |r| {
            r.kind = Some(Kind::Number);
            r.min = Some(0.into());
            r.max = Number::from_f64(100_000.5);
        });
        for ok in [
            json!(0),
            json!(0.0),
            json!(100_000),
            json!(100_000.5),
            json!(3.25),
        ] {
            assert_eq!(code(&r, json!({ "price": ok })), "ok", "{ok}");
        }
        assert_eq!(
            check(&r, json!({"price": -3})),
            Err((
                "out-of-range".into(),
                "field price: -3 is below min 0".into()
            ))
        );
        assert_eq!(code(&r, json!({"price": -0.001})), "out-of-range");
        assert_eq!(
            check(&r, json!({"price": 100_001})),
            Err((
                "out-of-range".into(),
                "field price: 100001 is above max 100000.5".into()
            ))
        );
    }

    #[test]
    fn large_integers_compare_exactly() {
        let r = rule("id", |r| {
            r.kind = Some(Kind::Integer);
            r.max = Some(9_007_199_254_740_993_i64.into());
        });
        assert_eq!(code(&r, json!({"id": 9_007_199_254_740_993_i64})), "ok");
        assert_eq!(
            code(&r, json!({"id": 9_007_199_254_740_994_i64})),
            "out-of-range"
        );
        assert_eq!(code(&r, json!({"id": u64::MAX})), "out-of-range");
    }

    #[test]
    fn lengths_count_chars_inclusively() {
        let r = rule("user_id", |r| {
            r.kind = Some(Kind::String);
            r.min_len = Some(1);
            r.max_len = Some(3);
        });
        assert_eq!(code(&r, json!({"user_id": "a"})), "ok");
        assert_eq!(code(&r, json!({"user_id": "abc"})), "ok");
        assert_eq!(
            code(&r, json!({"user_id": "äöü"})),
            "ok",
            "chars, not bytes"
        );
        assert_eq!(
            check(&r, json!({"user_id": ""})),
            Err((
                "bad-length".into(),
                r#"field user_id: "" has 0 chars, below min_len 1"#.into()
            ))
        );
        assert_eq!(
            check(&r, json!({"user_id": "abcd"})),
            Err((
                "bad-length".into(),
                r#"field user_id: "abcd" has 4 chars, above max_len 3"#.into()
            ))
        );
    }

    #[test]
    fn enums_hold_strings_and_numbers() {
        let r = rule("event_type", |r| {
            r.allowed = Some(vec![json!("page_view"), json!("purchase"), json!(7)]);
        });
        assert_eq!(code(&r, json!({"event_type": "purchase"})), "ok");
        assert_eq!(code(&r, json!({"event_type": 7})), "ok");
        assert_eq!(code(&r, json!({"event_type": 7.0})), "ok");
        assert_eq!(code(&r, json!({"event_type": "7"})), "not-in-enum");
        assert_eq!(code(&r, json!({"event_type": "Purchase"})), "not-in-enum");
        assert_eq!(code(&r, json!({"event_type": true})), "not-in-enum");
        assert_eq!(code(&r, json!({"event_type": ["purchase"]})), "not-in-enum");
    }

    #[test]
    fn timestamps_parse_and_respect_bounds_inclusively() {
        let r = rule("timestamp", |r| {
            r.kind = Some(Kind::Timestamp);
            r.not_before = Some(Bound {
                ms: 946_684_800_000,
                text: "2000-01-01 00:00:00".into(),
            });
            r.not_after = Some(Bound {
                ms: 4_102_444_800_000,
                text: "2100-01-01 00:00:00".into(),
            });
        });
        for ok in [
            json!("2000-01-01 00:00:00"),
            json!("2100-01-01 00:00:00"),
            json!("2026-05-01T10:00:00.123+02:00"),
            json!(946_684_800),
            json!(946_684_800_000_i64),
            json!(4_102_444_800_i64),
        ] {
            assert_eq!(code(&r, json!({ "timestamp": ok })), "ok", "{ok}");
        }
        assert_eq!(
            check(&r, json!({"timestamp": "1999-12-31 23:59:59"})),
            Err((
                "bad-timestamp".into(),
                r#"field timestamp: "1999-12-31 23:59:59" is before not_before 2000-01-01 00:00:00"#
                    .into()
            ))
        );
        assert_eq!(
            check(&r, json!({"timestamp": "2100-01-01T00:00:00.001Z"})),
            Err((
                "bad-timestamp".into(),
                r#"field timestamp: "2100-01-01T00:00:00.001Z" is after not_after 2100-01-01 00:00:00"#
                    .into()
            ))
        );
        assert_eq!(code(&r, json!({"timestamp": 946_684_799})), "bad-timestamp");
        assert_eq!(code(&r, json!({"timestamp": "yesterday"})), "bad-timestamp");
        assert_eq!(code(&r, json!({"timestamp": 1.6e9})), "bad-timestamp");
        assert_eq!(code(&r, json!({"timestamp": u64::MAX})), "bad-timestamp");
        let Err((_, message)) = check(&r, json!({"timestamp": "2024-02-30 00:00:00"})) else {
            panic!("accepted February 30th")
        };
        assert!(message.starts_with(
            r#"field timestamp: "2024-02-30 00:00:00" is not a timestamp; expected "#
        ));
    }

    #[test]
    fn first_failing_check_wins() {
        let r = rule("user_id", |r| {
            r.kind = Some(Kind::String);
            r.max_len = Some(2);
            r.allowed = Some(vec![json!("ab")]);
        });
        assert_eq!(code(&r, json!({"user_id": 5})), "wrong-type");
        assert_eq!(code(&r, json!({"user_id": "abc"})), "bad-length");
        assert_eq!(code(&r, json!({"user_id": "xy"})), "not-in-enum");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let r = rule("s", |r| r.max_len = Some(3));
        let long = "é".repeat(500);
        let Err((_, message)) = check(&r, json!({ "s": long })) else {
            panic!("accepted a long string")
        };
        assert!(message.contains('…'), "{message}");
        assert!(message.chars().count() < 160, "{message}");
    }
}
