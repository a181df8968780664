//! How Arrow types appear on the wire: PostgreSQL type OIDs, sizes and
//! modifiers, and the Arrow type each declared parameter type stands for.
//!
//! Before encoding, every column is cast to a canonical Arrow type
//! ([`canonical`]); the OID is chosen from that type, so what the
//! RowDescription announces and what the DataRows carry always agree.

use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use shale_engine::arrow::datatypes::{DataType, Field, TimeUnit};

/// The Arrow type a column is cast to before it is encoded.
pub fn canonical(dt: &DataType) -> DataType {
    use DataType::*;
    match dt {
        Int8 | UInt8 | Int16 => Int16,
        UInt16 | Int32 => Int32,
        UInt32 | Int64 => Int64,
        UInt64 => Decimal128(20, 0),
        Float16 | Float32 => Float32,
        Float64 => Float64,
        Decimal128(p, s) => Decimal128(*p, *s),
        Boolean => Boolean,
        Utf8 | LargeUtf8 | Utf8View => Utf8,
        Date32 | Date64 => Date32,
        Timestamp(_, tz) => Timestamp(TimeUnit::Microsecond, tz.clone()),
        Time32(_) | Time64(_) => Time64(TimeUnit::Microsecond),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Binary,
        Interval(_) => Interval(shale_engine::arrow::datatypes::IntervalUnit::MonthDayNano),
        Null => Null,
        Dictionary(_, value) => canonical(value),
        // Everything else (lists, structs, wide decimals, ...) travels as text.
        _ => Utf8,
    }
}

/// The PostgreSQL type of a canonical Arrow type.
pub fn pg_type(dt: &DataType) -> Type {
    use DataType::*;
    match dt {
        Boolean => Type::BOOL,
        Int16 => Type::INT2,
        Int32 => Type::INT4,
        Int64 => Type::INT8,
        Float32 => Type::FLOAT4,
        Float64 => Type::FLOAT8,
        Decimal128(..) => Type::NUMERIC,
        Utf8 => Type::VARCHAR,
        Date32 => Type::DATE,
        Timestamp(_, None) => Type::TIMESTAMP,
        Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        Time64(_) => Type::TIME,
        Binary => Type::BYTEA,
        Interval(_) => Type::INTERVAL,
        _ => Type::TEXT,
    }
}

/// `pg_type.typlen`.
fn type_size(t: &Type) -> i16 {
    match *t {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::INTERVAL => 16,
        _ => -1,
    }
}

/// `atttypmod`: precision and scale for numeric, -1 otherwise.
fn type_modifier(dt: &DataType) -> i32 {
    match dt {
        DataType::Decimal128(p, s) => ((i32::from(*p) << 16) | (i32::from(*s) & 0xffff)) + 4,
        _ => -1,
    }
}

/// A table column's declared character type: `character(n)` is BPCHAR and
/// `character varying(n)` VARCHAR, each with the length as its modifier.
fn declared_character_type(f: &Field) -> Option<(Type, i32)> {
    let name = f.metadata().get(shale_engine::TYPE_METADATA_KEY)?;
    let (ty, rest) = if let Some(rest) = name.strip_prefix("character varying(") {
        (Type::VARCHAR, rest)
    } else if let Some(rest) = name.strip_prefix("character(") {
        (Type::BPCHAR, rest)
    } else {
        return None;
    };
    let n: i32 = rest.strip_suffix(')')?.parse().ok()?;
    Some((ty, n + 4))
}

/// The width a CHAR(n) column's values are blank-padded to on output, as
/// Redshift returns them.
pub fn char_width(f: &Field) -> Option<usize> {
    match declared_character_type(f) {
        Some((Type::BPCHAR, modifier)) => usize::try_from(modifier - 4).ok(),
        _ => None,
    }
}

/// The RowDescription fields of a result, with each column's format.
pub fn field_infos(fields: &[std::sync::Arc<Field>], format: &Format) -> Vec<FieldInfo> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let dt = canonical(f.data_type());
            let (ty, modifier) = match declared_character_type(f) {
                Some(declared) if dt == DataType::Utf8 => declared,
                _ => (pg_type(&dt), type_modifier(&dt)),
            };
            let size = type_size(&ty);
            FieldInfo::new(f.name().clone(), None, None, ty, format.format_for(i))
                .with_type_size(size)
                .with_type_modifier(modifier)
        })
        .collect()
}

/// The Arrow type for a parameter type a client declared, if Shale has one.
/// Numeric parameters arrive as text and are cast to the type the statement
/// needs, so that no precision is lost on the way.
pub fn arrow_type(t: &Type) -> Option<DataType> {
    Some(match *t {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 | Type::OID => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::CHAR => DataType::Utf8,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        Type::BYTEA => DataType::Binary,
        _ => return None,
    })
}

/// The PostgreSQL type reported for a parameter of an Arrow type.
pub fn param_pg_type(dt: &DataType) -> Type {
    pg_type(&canonical(dt))
}
