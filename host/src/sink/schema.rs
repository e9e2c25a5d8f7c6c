//! ClickHouse column types, parsed from the server's type names, so that the sink can
//! write any table without per-table Rust code.

use std::fmt;

/// A column type the sink knows how to encode as RowBinary.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    /// `String`: any bytes.
    String,
    /// `FixedString(n)`: exactly n bytes, zero-padded.
    FixedString(usize),
    /// `Int8`..`Int64`: width in bytes.
    Int(u8),
    /// `UInt8`..`UInt64`: width in bytes.
    UInt(u8),
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Bool` (modern servers): one byte.
    Bool,
    /// `Date`: days since 1970-01-01 as u16.
    Date,
    /// `DateTime[(tz)]`: seconds since the epoch as u32.
    DateTime,
    /// `DateTime64(p[, tz])`: ticks of 10^-p s as i64.
    DateTime64(u32),
    /// `UUID`.
    Uuid,
    /// `Enum8(...)` / `Enum16(...)`: names with values; the u8 is the width in bytes.
    Enum(u8, Vec<(String, i16)>),
    /// `Nullable(T)`.
    Nullable(Box<ColumnType>),
    /// `Array(T)`.
    Array(Box<ColumnType>),
    /// `LowCardinality(T)`: encoded as T in RowBinary.
    LowCardinality(Box<ColumnType>),
}

/// ClickHouse's own bound on `FixedString(n)`. A larger n cannot come from a real
/// table, and would make the sink pad every row to that size.
const MAX_FIXED_STRING: usize = 0xFF_FFFF;

/// Deepest `Array(Nullable(...))` nesting accepted; parsing and encoding recurse once
/// per level, so an absurd type name must not exhaust the stack.
const MAX_NESTING: usize = 32;

/// A type name the sink cannot write; names the column so the user can fix the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported column type `{0}`")]
pub struct UnsupportedType(pub String);

impl ColumnType {
    /// Parses a ClickHouse type name such as `Array(LowCardinality(String))`.
    pub fn parse(name: &str) -> Result<Self, UnsupportedType> {
        Self::parse_nested(name, 0)
    }

    fn parse_nested(name: &str, depth: usize) -> Result<Self, UnsupportedType> {
        let name = name.trim();
        let unsupported = || UnsupportedType(name.to_owned());
        if depth > MAX_NESTING {
            return Err(unsupported());
        }
        let (head, args) = match name.find('(') {
            Some(i) if name.ends_with(')') => (&name[..i], Some(&name[i + 1..name.len() - 1])),
            Some(_) => return Err(unsupported()),
            None => (name, None),
        };
        let inner = |args: Option<&str>| -> Result<Box<ColumnType>, UnsupportedType> {
            Ok(Box::new(ColumnType::parse_nested(
                args.ok_or_else(unsupported)?,
                depth + 1,
            )?))
        };
        Ok(match head {
            "String" => ColumnType::String,
            "FixedString" => ColumnType::FixedString(
                args.and_then(|a| a.trim().parse().ok())
                    .filter(|n| (1..=MAX_FIXED_STRING).contains(n))
                    .ok_or_else(unsupported)?,
            ),
            "Int8" => ColumnType::Int(1),
            "Int16" => ColumnType::Int(2),
            "Int32" => ColumnType::Int(4),
            "Int64" => ColumnType::Int(8),
            "UInt8" => ColumnType::UInt(1),
            "UInt16" => ColumnType::UInt(2),
            "UInt32" => ColumnType::UInt(4),
            "UInt64" => ColumnType::UInt(8),
            "Float32" => ColumnType::Float32,
            "Float64" => ColumnType::Float64,
            "Bool" => ColumnType::Bool,
            "Date" => ColumnType::Date,
            "DateTime" => ColumnType::DateTime,
            "DateTime64" => {
                let precision = args
                    .and_then(|a| a.split(',').next())
                    .and_then(|p| p.trim().parse().ok())
                    .filter(|p| *p <= 9)
                    .ok_or_else(unsupported)?;
                ColumnType::DateTime64(precision)
            }
            "UUID" => ColumnType::Uuid,
            "Enum8" | "Enum16" => {
                let width = if head == "Enum8" { 1 } else { 2 };
                ColumnType::Enum(
                    width,
                    parse_enum(args.ok_or_else(unsupported)?).ok_or_else(unsupported)?,
                )
            }
            "Nullable" => ColumnType::Nullable(inner(args)?),
            "Array" => ColumnType::Array(inner(args)?),
            "LowCardinality" => ColumnType::LowCardinality(inner(args)?),
            _ => return Err(unsupported()),
        })
    }

    /// The type with `LowCardinality` peeled off, since RowBinary ignores it.
    pub fn plain(&self) -> &ColumnType {
        match self {
            ColumnType::LowCardinality(inner) => inner.plain(),
            other => other,
        }
    }

    /// Whether this type is an integer of any width.
    pub fn is_integer(&self) -> bool {
        matches!(self.plain(), ColumnType::Int(_) | ColumnType::UInt(_))
    }
}

/// Parses `'a' = 1, 'b' = 2` (quotes may contain escaped quotes).
fn parse_enum(args: &str) -> Option<Vec<(String, i16)>> {
    let mut out = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('\'')?;
        let mut name = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => name.push(chars.next()?.1),
                '\'' => break i,
                c => name.push(c),
            }
        };
        rest = rest[end + 1..].trim_start().strip_prefix('=')?.trim_start();
        let value_end = rest.find(',').unwrap_or(rest.len());
        let value = rest[..value_end].trim().parse().ok()?;
        out.push((name, value));
        rest = rest[value_end..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    Some(out)
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => write!(f, "String"),
            ColumnType::FixedString(n) => write!(f, "FixedString({n})"),
            ColumnType::Int(w) => write!(f, "Int{}", u32::from(*w) * 8),
            ColumnType::UInt(w) => write!(f, "UInt{}", u32::from(*w) * 8),
            ColumnType::Float32 => write!(f, "Float32"),
            ColumnType::Float64 => write!(f, "Float64"),
            ColumnType::Bool => write!(f, "Bool"),
            ColumnType::Date => write!(f, "Date"),
            ColumnType::DateTime => write!(f, "DateTime"),
            ColumnType::DateTime64(p) => write!(f, "DateTime64({p})"),
            ColumnType::Uuid => write!(f, "UUID"),
            ColumnType::Enum(w, _) => write!(f, "Enum{}", u32::from(*w) * 8),
            ColumnType::Nullable(t) => write!(f, "Nullable({t})"),
            ColumnType::Array(t) => write!(f, "Array({t})"),
            ColumnType::LowCardinality(t) => write!(f, "LowCardinality({t})"),
        }
    }
}

/// One insertable column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name, as in the table.
    pub name: String,
    /// Parsed type.
    pub ty: ColumnType,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_parameterised_types() {
        assert_eq!(
            ColumnType::parse("Array(LowCardinality(String))").expect("parses"),
            ColumnType::Array(Box::new(ColumnType::LowCardinality(Box::new(
                ColumnType::String
            ))))
        );
        assert_eq!(
            ColumnType::parse("DateTime('UTC')").expect("parses"),
            ColumnType::DateTime
        );
        assert_eq!(
            ColumnType::parse("DateTime64(3, 'UTC')").expect("parses"),
            ColumnType::DateTime64(3)
        );
        assert_eq!(
            ColumnType::parse("Nullable(Float64)").expect("parses"),
            ColumnType::Nullable(Box::new(ColumnType::Float64))
        );
        assert_eq!(
            ColumnType::parse("FixedString(16)").expect("parses"),
            ColumnType::FixedString(16)
        );
        assert_eq!(
            ColumnType::parse("UInt16").expect("parses"),
            ColumnType::UInt(2)
        );
    }

    #[test]
    fn parses_enums_with_quotes_and_negative_values() {
        let ty = ColumnType::parse("Enum8('page_view' = 1, 'add\\'to' = -2)").expect("parses");
        assert_eq!(
            ty,
            ColumnType::Enum(1, vec![("page_view".into(), 1), ("add'to".into(), -2)])
        );
    }

    #[test]
    fn rejects_unknown_types_by_name() {
        let err = ColumnType::parse("Map(String, UInt64)").expect_err("maps are not supported");
        assert_eq!(
            err.to_string(),
            "unsupported column type `Map(String, UInt64)`"
        );
        assert!(ColumnType::parse("Decimal(10, 2)").is_err());
        // Found by `any_value_encodes_or_is_refused`: padding a missing value to this
        // size aborted the process on allocation.
        assert!(ColumnType::parse("FixedString(8644635918651871337)").is_err());
        assert!(ColumnType::parse("FixedString(0)").is_err());
        assert!(ColumnType::parse("FixedString(16777215)").is_ok());
        assert!(ColumnType::parse("Array(").is_err());
    }

    /// Found by hand while fuzzing the parser: 100k levels overflowed the stack and
    /// aborted the process.
    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let nested = |n: usize| format!("{}String{}", "Array(".repeat(n), ")".repeat(n));
        assert!(ColumnType::parse(&nested(MAX_NESTING)).is_ok());
        assert!(ColumnType::parse(&nested(MAX_NESTING + 1)).is_err());
        let n = 100_000;
        let name = format!("{}String{}", "Array(".repeat(n), ")".repeat(n));
        assert!(ColumnType::parse(&name).is_err());
    }

    use crate::sink::arb;
    use proptest::prelude::*;

    fn has_enum(t: &ColumnType) -> bool {
        match t {
            ColumnType::Enum(..) => true,
            ColumnType::Nullable(t) | ColumnType::Array(t) | ColumnType::LowCardinality(t) => {
                has_enum(t)
            }
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(arb::CASES))]

        #[test]
        fn any_text_parses_or_is_refused_by_name(name in "\\PC{0,40}") {
            if let Err(e) = ColumnType::parse(&name) {
                prop_assert_eq!(e.0, name.trim());
            }
        }

        #[test]
        fn near_miss_type_names_never_panic(name in arb::mangled_type_name()) {
            let _ = ColumnType::parse(&name);
        }

        /// What parses prints back to itself (enums print without their names).
        #[test]
        fn parsed_types_print_back(name in arb::type_name()) {
            if let Ok(ty) = ColumnType::parse(&name)
                && !has_enum(&ty)
            {
                prop_assert_eq!(ColumnType::parse(&ty.to_string()), Ok(ty));
            }
        }
    }
}
