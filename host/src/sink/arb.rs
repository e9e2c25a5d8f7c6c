//! Proptest strategies for what reaches the sink from outside: JSON values a plugin
//! emits, date and time text, and ClickHouse type names. Test-only.

use proptest::prelude::*;
use serde_json::Value;

/// Cases per property: enough to find slicing and overflow bugs, few enough that the
/// whole suite adds seconds (`PROPTEST_CASES` overrides it).
pub const CASES: u32 = 512;

/// Text shaped like the dates and times the sink parses, with a few characters
/// replaced, inserted or removed (multi-byte ones included), so parsers see both
/// near-misses and odd boundaries.
pub fn time_text() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        "2026-01-01",
        "2026-01-01 00:00:01",
        "2026-01-01T00:00:01Z",
        "2026-01-01T00:00:01.250",
        "2026-01-01T01:00:01+01:00",
        "2026-01-01 23:59:60.123456789123-0930",
        "1970-01-01",
        "00000000-0000-0001-0000-000000000002",
    ]);
    let edit = (
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(vec![
            'é', '😀', '-', ':', '.', '+', ' ', 'T', '9', '\0', 'ß',
        ]),
    );
    (base, prop::collection::vec(edit, 0..4)).prop_map(|(base, edits)| {
        let mut chars: Vec<char> = base.chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 => chars.insert(i, c),
                1 if i < chars.len() => chars[i] = c,
                _ if i < chars.len() => {
                    chars.remove(i);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    })
}

/// Any JSON value, nested a few levels, with numbers at the edges of every width.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![
            i64::MIN,
            -129,
            -128,
            -1,
            0,
            1,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            i64::from(u32::MAX),
            i64::MAX
        ])
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        time_text().prop_map(Value::String),
        (any::<i64>()).prop_map(|n| Value::String(n.to_string())),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Type names the schema parser supports, nested, with parameters anywhere in range
/// (FixedString sizes up to u64::MAX, DateTime64 precisions past 9).
pub fn type_name() -> impl Strategy<Value = String> {
    let plain = prop::sample::select(vec![
        "String",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float32",
        "Float64",
        "Bool",
        "Date",
        "DateTime",
        "DateTime('UTC')",
        "UUID",
    ])
    .prop_map(String::from);
    let fixed = prop_oneof![0u64..40, any::<u64>()].prop_map(|n| format!("FixedString({n})"));
    let dt64 = (0u32..12).prop_map(|p| format!("DateTime64({p}, 'UTC')"));
    let enums = (
        any::<bool>(),
        prop::collection::vec(("[a-z' \\\\]{0,5}", any::<i16>()), 0..4),
    )
        .prop_map(|(wide, items)| {
            let items: Vec<String> = items
                .into_iter()
                .map(|(n, v)| format!("'{}' = {v}", n.replace('\\', "\\\\").replace('\'', "\\'")))
                .collect();
            format!("Enum{}({})", if wide { 16 } else { 8 }, items.join(", "))
        });
    let leaf = prop_oneof![4 => plain, 1 => fixed, 1 => dt64, 1 => enums];
    leaf.prop_recursive(4, 8, 1, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| format!("Nullable({t})")),
            inner.clone().prop_map(|t| format!("Array({t})")),
            inner.prop_map(|t| format!("LowCardinality({t})")),
        ]
    })
}

/// A supported type name with characters inserted or removed: near-misses that walk
/// the parser's error paths.
pub fn mangled_type_name() -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        any::<bool>(),
        prop::sample::select(vec!['(', ')', '\'', '\\', ',', '=', ' ', 'é', '-', '9']),
    );
    (type_name(), prop::collection::vec(edit, 1..4)).prop_map(|(name, edits)| {
        let mut chars: Vec<char> = name.chars().collect();
        for (at, insert, c) in edits {
            let i = at.index(chars.len() + 1);
            if insert {
                chars.insert(i, c);
            } else if i < chars.len() {
                chars.remove(i);
            }
        }
        chars.into_iter().collect()
    })
}
