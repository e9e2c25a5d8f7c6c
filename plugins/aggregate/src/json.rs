//! The small JSON chores of this plugin: following a dotted field path through an event,
//! turning a value into the text that keys a group or fills a `uniq` set, and writing a
//! JSON string into a row being built.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// The value at `path` in `object`, following nested objects; `null` counts as missing.
pub fn lookup<'v>(object: &'v Map<String, Value>, path: &[String]) -> Option<&'v Value> {
    let (last, parents) = path.split_last()?;
    let mut here = object;
    for key in parents {
        here = here.get(key)?.as_object()?;
    }
    here.get(last).filter(|v| !v.is_null())
}

/// Appends `value` as text: a string as is, anything else as its compact JSON.
pub fn write_text(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        // Writing into a String cannot fail.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Appends `s` as a quoted JSON string.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c < ' ' => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        plain = i + c.len_utf8();
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

pub use sluice_plugin::json::kind as type_name;

/// `value` as JSON, cut to about 80 bytes so one huge field cannot bloat a dead letter.
pub fn preview(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > 80 {
        let mut end = 77;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn lookup_follows_dotted_paths_and_treats_null_as_missing() {
        let v = json!({"a": {"b": {"c": 1}}, "n": null, "s": "x"});
        let obj = v.as_object().expect("object");
        assert_eq!(lookup(obj, &path("a.b.c")), Some(&json!(1)));
        assert_eq!(lookup(obj, &path("s")), Some(&json!("x")));
        assert_eq!(lookup(obj, &path("n")), None);
        assert_eq!(lookup(obj, &path("a.x")), None);
        assert_eq!(lookup(obj, &path("s.x")), None);
        assert_eq!(lookup(obj, &[]), None);
    }

    #[test]
    fn text_of_values() {
        let text = |v: Value| {
            let mut s = String::new();
            write_text(&mut s, &v);
            s
        };
        assert_eq!(text(json!("a b")), "a b");
        assert_eq!(text(json!(42)), "42");
        assert_eq!(text(json!(-1.5)), "-1.5");
        assert_eq!(text(json!(true)), "true");
        assert_eq!(text(json!([1, "x"])), r#"[1,"x"]"#);
    }

    #[test]
    fn strings_are_escaped_as_json() {
        for s in [
            "plain",
            "q\"b\\s",
            "nl\ncr\rtab\t",
            "\u{1}\u{1f}",
            "café 😀",
            "",
        ] {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(
                serde_json::from_str::<String>(&out).ok().as_deref(),
                Some(s),
                "{out}"
            );
        }
    }

    #[test]
    fn previews_are_short() {
        assert_eq!(preview(&json!("abc")), r#""abc""#);
        let long = preview(&json!("é".repeat(100)));
        assert!(long.len() <= 80 && long.ends_with("..."), "{long}");
    }
}
