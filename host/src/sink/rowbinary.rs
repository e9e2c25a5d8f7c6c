//! Encodes values into ClickHouse's RowBinary format by column type, converting JSON
//! the way ClickHouse's own JSON input does (numbers from strings, dates from text).

use serde_json::Value;

use super::schema::ColumnType;
#[cfg(test)]
use sluice_plugin::calendar;
use sluice_plugin::time::{self, Format};

/// A value to write; JSON from plugins, typed values from the host.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// Absent: the column's default (zero, empty, or NULL for Nullable).
    Missing,
    /// A JSON value from a plugin row.
    Json(&'a Value),
    /// Text from the host.
    Str(&'a str),
    /// Raw bytes from the host (a dead letter's payload need not be UTF-8).
    Bytes(&'a [u8]),
    /// An integer from the host.
    Int(i64),
}

/// Why a value does not fit its column; the row goes to the dead-letter table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

fn err<T>(ty: &ColumnType, what: impl std::fmt::Display) -> Result<T, EncodeError> {
    Err(EncodeError(format!("cannot write {what} to {ty}")))
}

/// Appends `val` as `ty` to `out`. On error `out` may hold a partial value; callers
/// truncate to the row start.
pub fn encode(out: &mut Vec<u8>, ty: &ColumnType, val: Val<'_>) -> Result<(), EncodeError> {
    let val = val.normalize();
    match ty {
        ColumnType::LowCardinality(inner) => encode(out, inner, val),
        ColumnType::Nullable(inner) => match val {
            Val::Missing => {
                out.push(1);
                Ok(())
            }
            v => {
                out.push(0);
                encode(out, inner, v)
            }
        },
        ColumnType::String => {
            match val {
                Val::Missing => put_bytes(out, b""),
                Val::Str(s) => put_bytes(out, s.as_bytes()),
                Val::Bytes(b) => put_bytes(out, b),
                Val::Int(i) => put_bytes(out, i.to_string().as_bytes()),
                Val::Json(Value::Number(n)) => put_bytes(out, n.to_string().as_bytes()),
                Val::Json(Value::Bool(b)) => put_bytes(out, if *b { b"true" } else { b"false" }),
                Val::Json(v) => put_bytes(out, v.to_string().as_bytes()),
            }
            Ok(())
        }
        ColumnType::FixedString(n) => {
            let bytes: Vec<u8> = match val {
                Val::Missing => Vec::new(),
                Val::Str(s) => s.as_bytes().to_vec(),
                Val::Bytes(b) => b.to_vec(),
                Val::Int(_) | Val::Json(_) => return err(ty, "a non-string"),
            };
            if bytes.len() > *n {
                return err(ty, format_args!("{} bytes", bytes.len()));
            }
            out.extend_from_slice(&bytes);
            out.resize(out.len() + (n - bytes.len()), 0);
            Ok(())
        }
        ColumnType::Int(width) => {
            let v = to_i128(ty, val)?;
            let bits = u32::from(*width) * 8;
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            if v < min || v > max {
                return err(ty, v);
            }
            out.extend_from_slice(&(v as i64).to_le_bytes()[..usize::from(*width)]);
            Ok(())
        }
        ColumnType::UInt(width) => {
            let v = to_i128(ty, val)?;
            let bits = u32::from(*width) * 8;
            if v < 0 || v > (1i128 << bits) - 1 {
                return err(ty, v);
            }
            out.extend_from_slice(&(v as u64).to_le_bytes()[..usize::from(*width)]);
            Ok(())
        }
        ColumnType::Bool => {
            let v = match val {
                Val::Missing => false,
                Val::Json(Value::Bool(b)) => *b,
                other => to_i128(ty, other)? != 0,
            };
            out.push(u8::from(v));
            Ok(())
        }
        ColumnType::Float32 => {
            out.extend_from_slice(&(to_f64(ty, val)? as f32).to_le_bytes());
            Ok(())
        }
        ColumnType::Float64 => {
            out.extend_from_slice(&to_f64(ty, val)?.to_le_bytes());
            Ok(())
        }
        ColumnType::Date => {
            let days = match val {
                Val::Missing => 0,
                Val::Int(d) => d,
                Val::Json(Value::Number(n)) => n.as_i64().ok_or(()).or_else(|_| err(ty, n))?,
                Val::Str(s) => parse_datetime(s)
                    .map(|nanos| nanos.div_euclid(86_400 * 1_000_000_000) as i64)
                    .ok_or(())
                    .or_else(|_| err(ty, format_args!("{s:?}")))?,
                Val::Bytes(_) | Val::Json(_) => return err(ty, "a non-date"),
            };
            let days = u16::try_from(days).or_else(|_| err(ty, days))?;
            out.extend_from_slice(&days.to_le_bytes());
            Ok(())
        }
        ColumnType::DateTime => {
            let nanos = to_epoch_nanos(ty, val)?;
            let secs = u32::try_from(nanos.div_euclid(1_000_000_000))
                .or_else(|_| err(ty, "a time outside 1970..2106"))?;
            out.extend_from_slice(&secs.to_le_bytes());
            Ok(())
        }
        ColumnType::DateTime64(precision) => {
            let nanos = to_epoch_nanos(ty, val)?;
            let ticks = nanos / 10i128.pow(9 - precision);
            let ticks = i64::try_from(ticks).or_else(|_| err(ty, "an out-of-range time"))?;
            out.extend_from_slice(&ticks.to_le_bytes());
            Ok(())
        }
        ColumnType::Uuid => {
            let text = match val {
                Val::Missing => "00000000-0000-0000-0000-000000000000",
                Val::Str(s) => s,
                _ => return err(ty, "a non-string"),
            };
            let hex: String = text.chars().filter(|c| *c != '-').collect();
            let v = u128::from_str_radix(&hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)
                .ok_or(())
                .or_else(|_| err(ty, format_args!("{text:?}")))?;
            out.extend_from_slice(&((v >> 64) as u64).to_le_bytes());
            out.extend_from_slice(&(v as u64).to_le_bytes());
            Ok(())
        }
        ColumnType::Enum(width, names) => {
            let v: i16 = match val {
                Val::Missing => names.first().map(|(_, v)| *v).unwrap_or(0),
                Val::Str(s) => names
                    .iter()
                    .find(|(n, _)| n == s)
                    .map(|(_, v)| *v)
                    .ok_or(())
                    .or_else(|_| err(ty, format_args!("unknown value {s:?}")))?,
                other => {
                    let n = to_i128(ty, other)?;
                    names
                        .iter()
                        .find(|(_, v)| i128::from(*v) == n)
                        .map(|(_, v)| *v)
                        .ok_or(())
                        .or_else(|_| err(ty, n))?
                }
            };
            out.extend_from_slice(&v.to_le_bytes()[..usize::from(*width)]);
            Ok(())
        }
        ColumnType::Array(inner) => match val {
            Val::Missing => {
                put_varint(out, 0);
                Ok(())
            }
            Val::Json(Value::Array(items)) => {
                put_varint(out, items.len() as u64);
                for item in items {
                    encode(out, inner, Val::Json(item))?;
                }
                Ok(())
            }
            _ => err(ty, "a non-array"),
        },
    }
}

impl<'a> Val<'a> {
    /// Folds JSON strings into `Str` and JSON null into `Missing`, so each
    /// conversion has one arm for text and one for absence.
    fn normalize(self) -> Self {
        match self {
            Val::Json(Value::Null) => Val::Missing,
            Val::Json(Value::String(s)) => Val::Str(s.as_str()),
            v => v,
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn to_i128(ty: &ColumnType, val: Val<'_>) -> Result<i128, EncodeError> {
    let val = val.normalize();
    match val {
        Val::Missing => Ok(0),
        Val::Int(i) => Ok(i128::from(i)),
        Val::Json(Value::Bool(b)) => Ok(i128::from(*b)),
        Val::Json(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e30 => Ok(f as i128),
                    _ => err(ty, n),
                }
            }
        }
        Val::Str(s) => s.trim().parse().or_else(|_| err(ty, format_args!("{s:?}"))),
        Val::Bytes(_) | Val::Json(_) => err(ty, "a non-number"),
    }
}

fn to_f64(ty: &ColumnType, val: Val<'_>) -> Result<f64, EncodeError> {
    let val = val.normalize();
    match val {
        Val::Missing => Ok(0.0),
        Val::Int(i) => Ok(i as f64),
        Val::Json(Value::Number(n)) => n.as_f64().ok_or(()).or_else(|_| err(ty, n)),
        Val::Json(Value::Bool(b)) => Ok(f64::from(u8::from(*b))),
        Val::Str(s) => s.trim().parse().or_else(|_| err(ty, format_args!("{s:?}"))),
        Val::Bytes(_) | Val::Json(_) => err(ty, "a non-number"),
    }
}

/// A time as ClickHouse reads it, in nanoseconds since the epoch: text by the SDK's
/// one parser (`Format::CLICKHOUSE`), numbers by the shared epoch rule (seconds below
/// 1e11 in magnitude, milliseconds from there up).
fn to_epoch_nanos(ty: &ColumnType, val: Val<'_>) -> Result<i128, EncodeError> {
    let val = val.normalize();
    let at = match val {
        Val::Missing => return Ok(0),
        Val::Int(i) => time::from_epoch(i),
        Val::Json(Value::Number(n)) => match n.as_i64() {
            Some(i) => time::from_epoch(i),
            None => n.as_f64().and_then(time::from_epoch_f64),
        },
        Val::Str(s) => {
            return parse_datetime(s)
                .ok_or(())
                .or_else(|_| err(ty, format_args!("{s:?}")));
        }
        Val::Bytes(_) | Val::Json(_) => return err(ty, "a non-time"),
    };
    at.map(time::Timestamp::nanos)
        .ok_or(())
        .or_else(|_| err(ty, "a time outside the years 0000..9999"))
}

/// Parses `YYYY-MM-DD[( |T)hh:mm:ss[.fff…]][Z|±hh:mm|±hhmm]`, UTC unless an offset is
/// given, into nanoseconds since the epoch; impossible dates are refused.
pub fn parse_datetime(s: &str) -> Option<i128> {
    Format::CLICKHOUSE.parse(s).map(time::Timestamp::nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(ty: &str, v: Val<'_>) -> Result<Vec<u8>, EncodeError> {
        let ty = ColumnType::parse(ty).expect("type parses");
        let mut out = Vec::new();
        encode(&mut out, &ty, v).map(|()| out)
    }

    #[test]
    fn strings_and_numbers() {
        assert_eq!(
            enc("String", Val::Json(&json!("héllo"))).expect("ok"),
            b"\x06h\xc3\xa9llo"
        );
        assert_eq!(enc("String", Val::Json(&json!(42))).expect("ok"), b"\x0242");
        assert_eq!(
            enc("String", Val::Bytes(&[0xff, 0x00])).expect("ok"),
            b"\x02\xff\x00"
        );
        assert_eq!(
            enc("Int32", Val::Json(&json!(-2))).expect("ok"),
            (-2i32).to_le_bytes()
        );
        assert_eq!(
            enc("UInt16", Val::Json(&json!("513"))).expect("ok"),
            513u16.to_le_bytes()
        );
        assert_eq!(
            enc("Float32", Val::Json(&json!(0.5))).expect("ok"),
            0.5f32.to_le_bytes()
        );
        assert_eq!(enc("Int64", Val::Missing).expect("ok"), 0i64.to_le_bytes());
    }

    #[test]
    fn range_and_type_errors_name_the_type() {
        assert_eq!(
            enc("UInt8", Val::Json(&json!(300)))
                .expect_err("too big")
                .to_string(),
            "cannot write 300 to UInt8"
        );
        assert!(enc("Int8", Val::Json(&json!(-129))).is_err());
        assert!(enc("Float64", Val::Json(&json!("abc"))).is_err());
        assert!(enc("Int32", Val::Json(&json!(1.5))).is_err());
        assert!(enc("Array(String)", Val::Json(&json!("x"))).is_err());
    }

    #[test]
    fn long_strings_use_multi_byte_varints() {
        let s = "x".repeat(300);
        let out = enc("String", Val::Str(&s)).expect("ok");
        assert_eq!(&out[..2], &[0xac, 0x02]);
        assert_eq!(out.len(), 302);
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(calendar::days_from_civil(1970, 1, 1), 0);
        assert_eq!(calendar::days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(calendar::days_from_civil(2024, 2, 29), 19_782);
        let secs = |v: Val<'_>| {
            u32::from_le_bytes(enc("DateTime", v).expect("ok").try_into().expect("4 bytes"))
        };
        assert_eq!(
            secs(Val::Json(&json!("2026-01-01 00:00:01"))),
            1_767_225_601
        );
        assert_eq!(
            secs(Val::Json(&json!("2026-01-01T00:00:01Z"))),
            1_767_225_601
        );
        assert_eq!(
            secs(Val::Json(&json!("2026-01-01T01:00:01+01:00"))),
            1_767_225_601
        );
        assert_eq!(secs(Val::Json(&json!(1_767_225_601))), 1_767_225_601);
        assert_eq!(
            secs(Val::Json(&json!(1_767_225_601_500i64))),
            1_767_225_601,
            "ms are detected"
        );
        let ms = i64::from_le_bytes(
            enc(
                "DateTime64(3)",
                Val::Json(&json!("2026-01-01 00:00:01.250")),
            )
            .expect("ok")
            .try_into()
            .expect("8 bytes"),
        );
        assert_eq!(ms, 1_767_225_601_250);
        assert_eq!(
            enc("Date", Val::Json(&json!("1970-01-02"))).expect("ok"),
            1u16.to_le_bytes()
        );
        assert!(enc("DateTime", Val::Json(&json!("yesterday"))).is_err());
        assert!(enc("DateTime", Val::Json(&json!("2026-13-01 00:00:00"))).is_err());
    }

    /// Found when the sink moved to the SDK's parser: its own read 2026-02-31 as
    /// 3 March, signs inside fields as numbers, and a Date column ignored anything
    /// after the first ten bytes.
    #[test]
    fn impossible_dates_and_trailing_garbage_are_refused() {
        for text in [
            "2026-02-31 00:00:00",
            "2026-02-30",
            "2026-+1-01",
            "+026-01-01",
            "2026-01-01 00:00:00+24:00",
            "2026-01-01 00:00:00+0:100",
        ] {
            assert!(parse_datetime(text).is_none(), "{text}");
        }
        assert!(enc("Date", Val::Json(&json!("1970-01-02garbage"))).is_err());
        assert!(enc("Date", Val::Json(&json!("2026-02-31"))).is_err());
        assert_eq!(
            enc("Date", Val::Json(&json!("1970-01-02 23:59:59"))).expect("ok"),
            1u16.to_le_bytes(),
            "a time in a Date column keeps its day"
        );
        let ms = i64::from_le_bytes(
            enc("DateTime64(3)", Val::Json(&json!(1_767_225_601_250.0)))
                .expect("ok")
                .try_into()
                .expect("8 bytes"),
        );
        assert_eq!(
            ms, 1_767_225_601_250,
            "float milliseconds follow the same rule as integers"
        );
    }

    /// Found by `near_miss_times_parse_or_are_refused`: a multi-byte character across a
    /// field boundary panicked the slicing (and with it the pipeline worker).
    #[test]
    fn multi_byte_characters_in_times_are_refused() {
        for text in [
            "2026-01-😀01T00:00:01Z",
            "2026-01-0é",
            "2026-01-01 00:00:0é",
            "2026-01-01T00:00:01+1é2",
        ] {
            assert!(parse_datetime(text).is_none(), "{text}");
            assert!(enc("DateTime", Val::Json(&json!(text))).is_err(), "{text}");
        }
    }

    #[test]
    fn nullable_array_enum_uuid() {
        assert_eq!(
            enc("Nullable(Int8)", Val::Json(&Value::Null)).expect("ok"),
            vec![1]
        );
        assert_eq!(
            enc("Nullable(Int8)", Val::Json(&json!(5))).expect("ok"),
            vec![0, 5]
        );
        assert_eq!(
            enc(
                "Array(LowCardinality(String))",
                Val::Json(&json!(["a", "bc"]))
            )
            .expect("ok"),
            b"\x02\x01a\x02bc"
        );
        assert_eq!(
            enc("Enum8('a' = 1, 'b' = 2)", Val::Json(&json!("b"))).expect("ok"),
            vec![2]
        );
        assert!(enc("Enum8('a' = 1)", Val::Json(&json!("zz"))).is_err());
        let uuid = enc(
            "UUID",
            Val::Json(&json!("00000000-0000-0001-0000-000000000002")),
        )
        .expect("ok");
        assert_eq!(uuid, [1u64.to_le_bytes(), 2u64.to_le_bytes()].concat());
        assert_eq!(
            enc("FixedString(3)", Val::Json(&json!("ab"))).expect("ok"),
            b"ab\0"
        );
        assert!(enc("FixedString(1)", Val::Json(&json!("ab"))).is_err());
    }

    use crate::sink::arb;
    use proptest::prelude::*;

    /// Bytes a value of `ty` always takes, for the types whose width is fixed.
    fn fixed_width(ty: &ColumnType) -> Option<usize> {
        Some(match ty.plain() {
            ColumnType::Int(w) | ColumnType::UInt(w) | ColumnType::Enum(w, _) => usize::from(*w),
            ColumnType::FixedString(n) => *n,
            ColumnType::Float32 | ColumnType::DateTime => 4,
            ColumnType::Float64 | ColumnType::DateTime64(_) => 8,
            ColumnType::Bool => 1,
            ColumnType::Date => 2,
            ColumnType::Uuid => 16,
            _ => return None,
        })
    }

    fn read_varint(bytes: &[u8]) -> (u64, usize) {
        let mut v = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (v, i + 1);
            }
        }
        panic!("unterminated varint");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(arb::CASES))]

        /// Any JSON, any text, any bytes, or nothing, against any supported column type:
        /// it encodes (at the type's width) or is refused, never a panic.
        #[test]
        fn any_value_encodes_or_is_refused(
            name in arb::type_name(),
            json in arb::json_value(),
            text in arb::time_text(),
            bytes in prop::collection::vec(any::<u8>(), 0..24),
        ) {
            let Ok(ty) = ColumnType::parse(&name) else { return Ok(()) };
            let mut out = Vec::new();
            encode(&mut out, &ty, Val::Missing).expect("every type has a default");
            for val in [Val::Json(&json), Val::Str(&text), Val::Bytes(&bytes)] {
                let mut out = Vec::new();
                if encode(&mut out, &ty, val).is_ok()
                    && let Some(w) = fixed_width(&ty)
                {
                    prop_assert_eq!(out.len(), w, "{} from {:?}", ty, val);
                }
            }
        }

        /// Text near a date, a time or a UUID is one (at the type's width) or refused.
        #[test]
        fn near_miss_times_parse_or_are_refused(
            text in arb::time_text(),
            name in prop::sample::select(vec!["Date", "DateTime", "DateTime64(0)", "DateTime64(9)", "UUID"]),
        ) {
            let ty = ColumnType::parse(name).expect("type parses");
            let mut out = Vec::new();
            if encode(&mut out, &ty, Val::Json(&json!(text))).is_ok() {
                prop_assert_eq!(Some(out.len()), fixed_width(&ty));
            }
        }

        /// Integers land as their exact little-endian bytes when they fit the column,
        /// whether given as a JSON number or as text, and are refused when they do not.
        #[test]
        fn integers_round_trip_or_are_refused(
            n in prop_oneof![any::<i64>(), -70_000i64..70_000],
            width in prop::sample::select(vec![1u8, 2, 4, 8]),
            signed in any::<bool>(),
            as_text in any::<bool>(),
        ) {
            let ty = if signed { ColumnType::Int(width) } else { ColumnType::UInt(width) };
            let bits = u32::from(width) * 8;
            let fits = if signed {
                let half = 1i128 << (bits - 1);
                (-half..half).contains(&i128::from(n))
            } else {
                (0..1i128 << bits).contains(&i128::from(n))
            };
            let json = if as_text { json!(n.to_string()) } else { json!(n) };
            let mut out = Vec::new();
            match encode(&mut out, &ty, Val::Json(&json)) {
                Ok(()) => {
                    prop_assert!(fits, "{} accepted {}", ty, n);
                    prop_assert_eq!(&out[..], &n.to_le_bytes()[..usize::from(width)]);
                }
                Err(e) => {
                    prop_assert!(!fits, "{} refused {}: {}", ty, n, e);
                    prop_assert_eq!(e.0, format!("cannot write {n} to {ty}"));
                }
            }
        }

        #[test]
        fn u64_round_trips(n in any::<u64>()) {
            let mut out = Vec::new();
            encode(&mut out, &ColumnType::UInt(8), Val::Json(&json!(n))).expect("fits");
            prop_assert_eq!(out, n.to_le_bytes());
        }

        #[test]
        fn floats_round_trip(f in any::<f64>().prop_filter("JSON has no NaN or inf", |f| f.is_finite())) {
            let mut out = Vec::new();
            encode(&mut out, &ColumnType::Float64, Val::Json(&json!(f))).expect("finite");
            prop_assert_eq!(out, f.to_le_bytes());
        }

        /// Strings and raw bytes come back whole after their varint length.
        #[test]
        fn strings_round_trip(s in "\\PC{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            for (val, want) in [(Val::Json(&json!(s)), s.as_bytes()), (Val::Bytes(&bytes), &bytes[..])] {
                let mut out = Vec::new();
                encode(&mut out, &ColumnType::String, val).expect("strings take anything");
                let (len, at) = read_varint(&out);
                prop_assert_eq!(len, want.len() as u64);
                prop_assert_eq!(&out[at..], want);
            }
        }
    }
}
