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

/// A type name the sink cannot write; names the column so the user can fix the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported column type `{0}`")]
pub struct UnsupportedType(pub String);

impl ColumnType {
    /// Parses a ClickHouse type name such as `Array(LowCardinality(String))`.
    pub fn parse(name: &str) -> Result<Self, UnsupportedType> {
        let name = name.trim();
        let unsupported = || UnsupportedType(name.to_owned());
        let (head, args) = match name.find('(') {
            Some(i) if name.ends_with(')') => (&name[..i], Some(&name[i + 1..name.len() - 1])),
            Some(_) => return Err(unsupported()),
            None => (name, None),
        };
        let inner = |args: Option<&str>| -> Result<Box<ColumnType>, UnsupportedType> {
            Ok(Box::new(ColumnType::parse(args.ok_or_else(unsupported)?)?))
        };
        Ok(match head {
            "String" => ColumnType::String,
            "FixedString" => ColumnType::FixedString(
                args.and_then(|a| a.trim().parse().ok())
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
        assert!(ColumnType::parse("Array(").is_err());
    }
}
