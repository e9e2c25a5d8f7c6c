//! JSON helpers that every JSON plugin needs: a payload as one object, with the shared
//! `bad-json` / `not-object` rejections, and a value's kind for messages.

use serde_json::{Map, Value};

use crate::Reject;

/// Parses a payload that must be one JSON object; anything else is rejected with
/// `bad-json` or `not-object`, so every plugin reports bad input the same way.
pub fn object(payload: &[u8]) -> Result<Map<String, Value>, Reject> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Reject::new(
            "not-object",
            format!("payload must be a JSON object, got {}", kind(&other)),
        )),
        Err(e) => Err(Reject::new(
            "bad-json",
            format!("payload is not valid JSON: {e}"),
        )),
    }
}

/// A value's kind as a message names it: "a string", "an array", "null".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_pass_and_everything_else_is_rejected_with_its_code() {
        assert_eq!(object(br#"{"a":1}"#).expect("object")["a"], 1);
        let r = object(b"[1]").expect_err("array");
        assert_eq!(
            (r.code.as_str(), r.message.as_str()),
            ("not-object", "payload must be a JSON object, got an array")
        );
        let r = object(b"{nope").expect_err("bad");
        assert_eq!(r.code, "bad-json");
        assert!(
            r.message.starts_with("payload is not valid JSON: "),
            "{}",
            r.message
        );
        assert_eq!(object(&[0xff]).expect_err("not utf-8").code, "bad-json");
    }
}
