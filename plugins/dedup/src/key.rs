//! Finds an event's dedup key and reduces it to a 64-bit FNV-1a hash, which is all a
//! window stores: eight bytes per key however long the key is.

use serde_json::{Map, Value};
use sluice_plugin::Reject;

use crate::config::Config;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `hash`; start from [`fnv1a_start`].
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The FNV-1a offset basis: the hash of no bytes.
pub fn fnv1a_start() -> u64 {
    FNV_OFFSET
}

/// Hashes the event's key field. A leading type tag keeps the string `"7"` and the number
/// `7` apart, while `7` and `7.0` hash alike because they are the same JSON number.
pub fn key_hash(event: &Map<String, Value>, config: &Config) -> Result<u64, Reject> {
    let start = fnv1a_start();
    match lookup(event, &config.path) {
        Some(Value::String(s)) => Ok(fnv1a(fnv1a(start, b"s"), s.as_bytes())),
        Some(Value::Number(n)) => {
            let as_int = n.as_i64().or_else(|| {
                // Whole floats within i64 range are the integer they spell.
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            });
            Ok(match (as_int, n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => fnv1a(fnv1a(start, b"i"), &i.to_le_bytes()),
                (None, Some(u), _) => fnv1a(fnv1a(start, b"u"), &u.to_le_bytes()),
                (None, None, f) => fnv1a(
                    fnv1a(start, b"f"),
                    &f.unwrap_or(f64::NAN).to_bits().to_le_bytes(),
                ),
            })
        }
        None => Err(Reject::new(
            "missing-field",
            format!("key field {} is missing", config.key),
        )),
        Some(Value::Null) => Err(Reject::new(
            "missing-field",
            format!("key field {} is null", config.key),
        )),
        Some(other) => Err(Reject::new(
            "wrong-type",
            format!(
                "key field {} is {}; expected a string or number",
                config.key,
                kind(other)
            ),
        )),
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

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "a bool",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Null => "null",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(key: &str) -> Config {
        Config::parse(&format!(r#"{{"key": "{key}"}}"#)).expect("valid")
    }

    fn hash(key: &str, event: Value) -> Result<u64, (String, String)> {
        let Value::Object(map) = event else {
            panic!("not an object")
        };
        key_hash(&map, &config(key)).map_err(|r| (r.code, r.message))
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a(fnv1a_start(), b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(fnv1a_start(), b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(fnv1a_start(), b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn equal_keys_hash_alike_and_types_stay_apart() {
        let h = |v: Value| hash("id", json!({ "id": v })).expect("hashable");
        assert_eq!(h(json!("e-1")), h(json!("e-1")));
        assert_ne!(h(json!("e-1")), h(json!("e-2")));
        assert_ne!(h(json!("7")), h(json!(7)));
        assert_eq!(h(json!(7)), h(json!(7.0)));
        assert_ne!(h(json!(7)), h(json!(7.5)));
        assert_ne!(h(json!(-1)), h(json!(u64::MAX)));
        assert_eq!(h(json!(u64::MAX)), h(json!(u64::MAX)));
    }

    #[test]
    fn dotted_keys_walk_nested_objects() {
        let a = hash("meta.id", json!({"meta": {"id": "x"}}));
        let b = hash("meta.id", json!({"meta": {"id": "x"}, "other": 1}));
        assert!(a.is_ok());
        assert_eq!(a, b);
        assert_eq!(
            hash("meta.id", json!({"meta": "x"})),
            Err((
                "missing-field".into(),
                "key field meta.id is missing".into()
            ))
        );
    }

    #[test]
    fn missing_null_and_wrong_type_keys_are_refused() {
        assert_eq!(
            hash("id", json!({})),
            Err(("missing-field".into(), "key field id is missing".into()))
        );
        assert_eq!(
            hash("id", json!({"id": null})),
            Err(("missing-field".into(), "key field id is null".into()))
        );
        assert_eq!(
            hash("id", json!({"id": true})),
            Err((
                "wrong-type".into(),
                "key field id is a bool; expected a string or number".into()
            ))
        );
        assert_eq!(
            hash("id", json!({"id": [1]})).map_err(|e| e.0),
            Err("wrong-type".into())
        );
        assert_eq!(
            hash("id", json!({"id": {"a": 1}})).map_err(|e| e.0),
            Err("wrong-type".into())
        );
    }
}
