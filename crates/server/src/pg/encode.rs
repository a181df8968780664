//! Arrow record batches to DataRow messages, in text or binary format.
//!
//! Text output follows PostgreSQL with `DateStyle = ISO`: `t`/`f` booleans,
//! `2024-01-02 03:04:05.5` timestamps (fraction trimmed), `+00` offsets for
//! timestamptz in the session's zone, and floats with 15/6 significant digits
//! (`extra_float_digits = 0`, Redshift's default) or shortest round-trip form
//! when `extra_float_digits > 0`. Binary output is PostgreSQL's send format:
//! big-endian integers and floats, days and microseconds since 2000-01-01,
//! and base-10000 numerics.
//!
//! All rows of a batch are written into one buffer and split off row by row,
//! so a batch costs one allocation, not one per row.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike};
use pgwire::api::portal::Format;
use pgwire::messages::data::DataRow;
use shale_engine::arrow::array::timezone::Tz;
use shale_engine::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray,
    StringArray, Time64MicrosecondArray, TimestampMicrosecondArray,
};
use shale_engine::arrow::compute::cast;
use shale_engine::arrow::datatypes::{DataType, Field, IntervalMonthDayNanoType};
use shale_engine::arrow::error::ArrowError;
use shale_engine::arrow::record_batch::RecordBatch;
use shale_engine::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::types::canonical;

/// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
pub const PG_EPOCH_OFFSET_DAYS: i32 = 10_957;

/// Session settings that change how values are written.
#[derive(Debug, Clone)]
pub struct TextStyle {
    pub extra_float_digits: i32,
    /// The session time zone, for timestamptz output.
    pub time_zone: Tz,
}

impl TextStyle {
    pub fn new(extra_float_digits: i32, time_zone: &str) -> Self {
        let tz = time_zone.parse::<Tz>().or_else(|_| "+00:00".parse::<Tz>());
        TextStyle {
            extra_float_digits,
            time_zone: match tz {
                Ok(tz) => tz,
                Err(_) => unreachable!("+00:00 is a valid offset"),
            },
        }
    }
}

/// Encodes the batches of one result.
pub struct RowEncoder {
    targets: Vec<DataType>,
    /// CHAR(n) columns: the width their values are blank-padded to.
    pad: Vec<Option<usize>>,
    binary: Vec<bool>,
    style: TextStyle,
    /// Binary numerics as Redshift's scaled integers (protocol version 2).
    redshift_numeric: bool,
}

impl RowEncoder {
    pub fn new(fields: &[Arc<Field>], format: &Format, style: TextStyle) -> Self {
        RowEncoder {
            targets: fields.iter().map(|f| canonical(f.data_type())).collect(),
            pad: fields.iter().map(|f| super::types::char_width(f)).collect(),
            binary: (0..fields.len()).map(|i| format.is_binary(i)).collect(),
            style,
            redshift_numeric: false,
        }
    }

    /// Sends binary numerics in Redshift's form: the unscaled value as an
    /// 8-byte (precision up to 18) or 16-byte big-endian integer.
    pub fn with_redshift_numeric(mut self, yes: bool) -> Self {
        self.redshift_numeric = yes;
        self
    }

    /// One DataRow per row of the batch.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<DataRow>, ArrowError> {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .zip(&self.targets)
            .map(|(c, t)| {
                if c.data_type() == t {
                    Ok(Arc::clone(c))
                } else if matches!(t, DataType::Utf8) && !is_stringish(c.data_type()) {
                    to_text_array(c)
                } else {
                    cast(c, t)
                }
            })
            .collect::<Result<_, _>>()?;
        let columns: Vec<ArrayRef> = columns
            .into_iter()
            .zip(&self.pad)
            .map(|(c, pad)| match pad {
                Some(width) => blank_padded(&c, *width),
                None => c,
            })
            .collect();
        let cols: Vec<Column<'_>> = columns
            .iter()
            .zip(&self.binary)
            .map(|(a, b)| Column::new(a, *b, self.redshift_numeric))
            .collect::<Result<_, _>>()?;
        let rows = batch.num_rows();
        let field_count = i16::try_from(cols.len())
            .map_err(|_| ArrowError::InvalidArgumentError("too many columns".into()))?;
        let mut buf = BytesMut::with_capacity(rows * (cols.len() * 12 + 8));
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            for col in &cols {
                col.write(row, &mut buf, &self.style);
            }
            out.push(DataRow::new(buf.split(), field_count));
        }
        Ok(out)
    }
}

/// CHAR values are stored without trailing blanks and sent padded to the
/// column's width.
fn blank_padded(a: &ArrayRef, width: usize) -> ArrayRef {
    let Some(strings) = a.as_any().downcast_ref::<StringArray>() else {
        return Arc::clone(a);
    };
    if strings.iter().flatten().all(|s| s.len() >= width) {
        return Arc::clone(a);
    }
    let padded: StringArray = strings
        .iter()
        .map(|v| v.map(|s| format!("{s:<width$}")))
        .collect();
    Arc::new(padded)
}

fn is_stringish(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Columns without a wire type of their own are sent as their display text.
fn to_text_array(a: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let options = FormatOptions::default().with_null("");
    let fmt = ArrayFormatter::try_new(a.as_ref(), &options)?;
    let values: StringArray = (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| fmt.value(i).to_string()))
        .collect();
    Ok(Arc::new(values))
}

enum Values<'a> {
    Null,
    Bool(&'a BooleanArray),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Decimal(&'a Decimal128Array, i8),
    Text(&'a StringArray),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray),
    TimestampTz(&'a TimestampMicrosecondArray),
    Time(&'a Time64MicrosecondArray),
    Bytes(&'a BinaryArray),
    Interval(&'a IntervalMonthDayNanoArray),
}

struct Column<'a> {
    array: &'a dyn Array,
    values: Values<'a>,
    binary: bool,
    redshift_numeric: bool,
}

impl<'a> Column<'a> {
    fn new(array: &'a ArrayRef, binary: bool, redshift_numeric: bool) -> Result<Self, ArrowError> {
        let a = array.as_ref();
        let values = match a.data_type() {
            DataType::Null => Values::Null,
            DataType::Boolean => Values::Bool(a.as_boolean()),
            DataType::Int16 => Values::I16(a.as_primitive()),
            DataType::Int32 => Values::I32(a.as_primitive()),
            DataType::Int64 => Values::I64(a.as_primitive()),
            DataType::Float32 => Values::F32(a.as_primitive()),
            DataType::Float64 => Values::F64(a.as_primitive()),
            DataType::Decimal128(_, s) => Values::Decimal(a.as_primitive(), *s),
            DataType::Utf8 => Values::Text(a.as_string()),
            DataType::Date32 => Values::Date(a.as_primitive()),
            DataType::Timestamp(_, None) => Values::Timestamp(a.as_primitive()),
            DataType::Timestamp(_, Some(_)) => Values::TimestampTz(a.as_primitive()),
            DataType::Time64(_) => Values::Time(a.as_primitive()),
            DataType::Binary => Values::Bytes(a.as_binary()),
            DataType::Interval(_) => Values::Interval(a.as_primitive()),
            other => {
                return Err(ArrowError::NotYetImplemented(format!(
                    "no wire encoding for {other}"
                )));
            }
        };
        Ok(Column {
            array: a,
            values,
            binary,
            redshift_numeric,
        })
    }

    fn write(&self, row: usize, buf: &mut BytesMut, style: &TextStyle) {
        if self.array.is_null(row) || matches!(self.values, Values::Null) {
            buf.put_i32(-1);
            return;
        }
        let len_at = buf.len();
        buf.put_i32(0);
        if self.binary {
            self.write_binary(row, buf);
        } else {
            self.write_text(row, buf, style);
        }
        let len = (buf.len() - len_at - 4) as i32;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn write_binary(&self, row: usize, buf: &mut BytesMut) {
        match &self.values {
            Values::Null => {}
            Values::Bool(a) => buf.put_u8(u8::from(a.value(row))),
            Values::I16(a) => buf.put_i16(a.value(row)),
            Values::I32(a) => buf.put_i32(a.value(row)),
            Values::I64(a) => buf.put_i64(a.value(row)),
            Values::F32(a) => buf.put_f32(a.value(row)),
            Values::F64(a) => buf.put_f64(a.value(row)),
            Values::Decimal(a, _) if self.redshift_numeric => {
                let v = a.value(row);
                match i64::try_from(v) {
                    Ok(small) if a.precision() <= 18 => buf.put_i64(small),
                    _ => buf.put_i128(v),
                }
            }
            Values::Decimal(a, s) => write_numeric_binary(a.value(row), *s, buf),
            Values::Text(a) => buf.put_slice(a.value(row).as_bytes()),
            Values::Date(a) => buf.put_i32(a.value(row).saturating_sub(PG_EPOCH_OFFSET_DAYS)),
            Values::Timestamp(a) | Values::TimestampTz(a) => {
                buf.put_i64(a.value(row).saturating_sub(PG_EPOCH_OFFSET_MICROS))
            }
            Values::Time(a) => buf.put_i64(a.value(row)),
            Values::Bytes(a) => buf.put_slice(a.value(row)),
            Values::Interval(a) => {
                let (months, days, nanos) = IntervalMonthDayNanoType::to_parts(a.value(row));
                buf.put_i64(nanos / 1000);
                buf.put_i32(days);
                buf.put_i32(months);
            }
        }
    }

    fn write_text(&self, row: usize, buf: &mut BytesMut, style: &TextStyle) {
        // Writing to a BytesMut cannot fail.
        let _ = match &self.values {
            Values::Null => Ok(()),
            Values::Bool(a) => {
                buf.put_u8(if a.value(row) { b't' } else { b'f' });
                Ok(())
            }
            Values::I16(a) => {
                buf.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
                Ok(())
            }
            Values::I32(a) => {
                buf.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
                Ok(())
            }
            Values::I64(a) => {
                buf.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes());
                Ok(())
            }
            Values::F32(a) => {
                write_float(
                    buf,
                    f64::from(a.value(row)),
                    6,
                    style.extra_float_digits,
                    true,
                );
                Ok(())
            }
            Values::F64(a) => {
                write_float(buf, a.value(row), 15, style.extra_float_digits, false);
                Ok(())
            }
            Values::Decimal(a, s) => {
                buf.put_slice(format_decimal(a.value(row), *s).as_bytes());
                Ok(())
            }
            Values::Text(a) => {
                buf.put_slice(a.value(row).as_bytes());
                Ok(())
            }
            Values::Date(a) => write_date(buf, a.value(row)),
            Values::Timestamp(a) => write_timestamp(buf, a.value(row)),
            Values::TimestampTz(a) => write_timestamptz(buf, a.value(row), &style.time_zone),
            Values::Time(a) => write_time(buf, a.value(row)),
            Values::Bytes(a) => {
                buf.put_slice(b"\\x");
                for b in a.value(row) {
                    let _ = write!(buf, "{b:02x}");
                }
                Ok(())
            }
            Values::Interval(a) => write_interval(buf, a.value(row)),
        };
    }
}

/// `123.45` from the unscaled value 12345 and scale 2.
pub fn format_decimal(v: i128, scale: i8) -> String {
    let negative = v < 0;
    let digits = v.unsigned_abs().to_string();
    let mut s = String::with_capacity(digits.len() + 3);
    if negative {
        s.push('-');
    }
    if scale <= 0 {
        s.push_str(&digits);
        for _ in 0..(-i32::from(scale)) {
            s.push('0');
        }
        return s;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        s.push_str("0.");
        for _ in 0..(scale - digits.len()) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        s.push_str(int);
        s.push('.');
        s.push_str(frac);
    }
    s
}

/// PostgreSQL's binary numeric: digit count, weight, sign, display scale,
/// then base-10000 digits.
pub fn write_numeric_binary(v: i128, scale: i8, buf: &mut BytesMut) {
    let dscale = scale.max(0) as u16;
    let negative = v < 0;
    // Work on the decimal digit string, padded so the point falls on a
    // base-10000 boundary.
    let mut digits = v.unsigned_abs().to_string();
    if scale < 0 {
        digits.push_str(&"0".repeat(usize::from(scale.unsigned_abs())));
    }
    let frac_len = usize::from(dscale);
    if digits.len() <= frac_len {
        digits = format!("{}{}", "0".repeat(frac_len - digits.len() + 1), digits);
    }
    let (int_part, frac_part) = digits.split_at(digits.len() - frac_len);
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let int_s = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_s = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let mut groups: Vec<i16> = int_s
        .as_bytes()
        .chunks(4)
        .chain(frac_s.as_bytes().chunks(4))
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = (int_s.len() / 4) as i16 - 1;
    // Strip leading and trailing zero groups.
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    buf.put_i16(groups.len() as i16);
    buf.put_i16(weight);
    buf.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    buf.put_u16(dscale);
    for g in groups {
        buf.put_i16(g);
    }
}

/// Floats as PostgreSQL prints them.
pub fn write_float(buf: &mut BytesMut, v: f64, digits: i32, extra: i32, single: bool) {
    if v.is_nan() {
        buf.put_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        buf.put_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    // `d.ddde±x` on the stack: Rust's `{:e}` gives the shortest digits that
    // read back to the same value, `{:.Ne}` rounds to N+1 significant digits.
    let mut text = StackText::default();
    let precision = if extra > 0 {
        let _ = if single {
            write!(text, "{:e}", v as f32)
        } else {
            write!(text, "{v:e}")
        };
        if single { 6 } else { 15 }
    } else {
        let precision = (digits + extra).max(1) as usize;
        let _ = write!(text, "{:.*e}", precision - 1, v);
        precision
    };
    write_g_style(buf, text.as_bytes(), precision as i32);
}

/// A small formatting buffer that lives on the stack.
struct StackText {
    bytes: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Lays out `d.ddde±x` the way C's `%g` does: trailing zeros dropped, plain
/// notation when the exponent is at least -4 and below `precision`,
/// otherwise `d.ddde+XX`.
fn write_g_style(buf: &mut BytesMut, s: &[u8], precision: i32) {
    let Some(e_at) = s.iter().position(|b| *b == b'e') else {
        buf.put_slice(s);
        return;
    };
    let (mantissa, exp_text) = (&s[..e_at], &s[e_at + 1..]);
    let exp: i32 = std::str::from_utf8(exp_text)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let (negative, mantissa) = match mantissa.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, mantissa),
    };
    let mut digits = [0u8; 64];
    let mut n = 0;
    for d in mantissa.iter().filter(|b| **b != b'.') {
        digits[n] = *d;
        n += 1;
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    if negative {
        buf.put_u8(b'-');
    }
    if exp < -4 || exp >= precision {
        buf.put_u8(digits[0]);
        if n > 1 {
            buf.put_u8(b'.');
            buf.put_slice(&digits[1..]);
        }
        let _ = write!(buf, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        buf.put_slice(b"0.");
        for _ in 0..(-exp - 1) {
            buf.put_u8(b'0');
        }
        buf.put_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if n <= int_len {
            buf.put_slice(digits);
            for _ in 0..(int_len - n) {
                buf.put_u8(b'0');
            }
        } else {
            buf.put_slice(&digits[..int_len]);
            buf.put_u8(b'.');
            buf.put_slice(&digits[int_len..]);
        }
    }
}

fn write_year(buf: &mut BytesMut, year: i32) -> std::fmt::Result {
    if year <= 0 {
        write!(buf, "{:04}", 1 - year)
    } else {
        write!(buf, "{year:04}")
    }
}

fn bc_suffix(buf: &mut BytesMut, year: i32) {
    if year <= 0 {
        buf.put_slice(b" BC");
    }
}

fn write_date(buf: &mut BytesMut, days: i32) -> std::fmt::Result {
    let Some(d) = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(days))))
    else {
        return write!(buf, "{days}");
    };
    write_year(buf, d.year())?;
    write!(buf, "-{:02}-{:02}", d.month(), d.day())?;
    bc_suffix(buf, d.year());
    Ok(())
}

fn write_fraction(buf: &mut BytesMut, micros: u32) -> std::fmt::Result {
    if micros == 0 {
        return Ok(());
    }
    let mut s = format!(".{micros:06}");
    while s.ends_with('0') {
        s.pop();
    }
    buf.put_slice(s.as_bytes());
    Ok(())
}

fn naive(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

fn write_naive(buf: &mut BytesMut, t: &NaiveDateTime) -> std::fmt::Result {
    write_year(buf, t.year())?;
    write!(
        buf,
        "-{:02}-{:02} {:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )?;
    write_fraction(buf, t.nanosecond() / 1000)
}

fn write_timestamp(buf: &mut BytesMut, micros: i64) -> std::fmt::Result {
    let Some(t) = naive(micros) else {
        return write!(buf, "{micros}");
    };
    write_naive(buf, &t)?;
    bc_suffix(buf, t.year());
    Ok(())
}

fn write_timestamptz(buf: &mut BytesMut, micros: i64, tz: &Tz) -> std::fmt::Result {
    let Some(utc) = naive(micros) else {
        return write!(buf, "{micros}");
    };
    let local = tz.from_utc_datetime(&utc);
    let offset = local.offset().fix().local_minus_utc();
    write_naive(buf, &local.naive_local())?;
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.abs();
    write!(buf, "{sign}{:02}", off / 3600)?;
    if off % 3600 != 0 {
        write!(buf, ":{:02}", (off % 3600) / 60)?;
    }
    bc_suffix(buf, local.year());
    Ok(())
}

fn write_time(buf: &mut BytesMut, micros: i64) -> std::fmt::Result {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    write!(
        buf,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )?;
    write_fraction(buf, frac)
}

/// `1 year 2 mons 3 days 04:05:06.5`, PostgreSQL's default interval style.
fn write_interval(
    buf: &mut BytesMut,
    v: <IntervalMonthDayNanoType as shale_engine::arrow::datatypes::ArrowPrimitiveType>::Native,
) -> std::fmt::Result {
    let (months, days, nanos) = IntervalMonthDayNanoType::to_parts(v);
    let mut parts: Vec<String> = Vec::new();
    let (years, months) = (months / 12, months % 12);
    let plural =
        |n: i32, one: &str, many: &str| format!("{n} {}", if n.abs() == 1 { one } else { many });
    if years != 0 {
        parts.push(plural(years, "year", "years"));
    }
    if months != 0 {
        parts.push(plural(months, "mon", "mons"));
    }
    if days != 0 {
        parts.push(plural(days, "day", "days"));
    }
    let micros = nanos / 1000;
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        let m = micros.unsigned_abs();
        let secs = m / 1_000_000;
        let mut t = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        );
        let frac = (m % 1_000_000) as u32;
        if frac != 0 {
            let mut f = format!(".{frac:06}");
            while f.ends_with('0') {
                f.pop();
            }
            t.push_str(&f);
        }
        parts.push(t);
    }
    buf.put_slice(parts.join(" ").as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64, digits: i32, extra: i32, single: bool) -> String {
        let mut b = BytesMut::new();
        write_float(&mut b, v, digits, extra, single);
        String::from_utf8(b.to_vec()).expect("utf8")
    }

    #[test]
    fn floats_like_postgres() {
        assert_eq!(float(1.5, 15, 0, false), "1.5");
        assert_eq!(float(0.1 + 0.2, 15, 0, false), "0.3");
        assert_eq!(float(0.1 + 0.2, 15, 3, false), "0.30000000000000004");
        assert_eq!(float(1e20, 15, 0, false), "1e+20");
        assert_eq!(float(123456.0, 15, 0, false), "123456");
        assert_eq!(float(0.0001, 15, 0, false), "0.0001");
        assert_eq!(float(0.00001, 15, 0, false), "1e-05");
        assert_eq!(float(-2.5, 15, 0, false), "-2.5");
        assert_eq!(float(f64::from(1.1f32), 6, 0, true), "1.1");
        assert_eq!(float(f64::from(1.1f32), 6, 1, true), "1.1");
        assert_eq!(float(f64::NAN, 15, 0, false), "NaN");
        assert_eq!(float(100.0, 15, 1, false), "100");
        assert_eq!(float(0.0, 15, 0, false), "0");
    }

    #[test]
    fn floats_match_c_printf_g() {
        // Expected values from C's printf("%.15g") / ("%.6g") via Python.
        let double = [
            (123.456, "123.456"),
            (1e15, "1e+15"),
            (1.2345678901234568e17, "1.23456789012346e+17"),
            (1.0 / 3.0, "0.333333333333333"),
            (-1e-5, "-1e-05"),
            (2.5e-300, "2.5e-300"),
            (f64::MAX, "1.79769313486232e+308"),
            (99999999999999.99, "100000000000000"),
            (0.000123456789, "0.000123456789"),
        ];
        for (v, expected) in double {
            assert_eq!(float(v, 15, 0, false), expected, "{v:e}");
        }
        let single = [
            (3.4028234e38f32, "3.40282e+38"),
            (1e-7, "1e-07"),
            (123456.7, "123457"),
        ];
        for (v, expected) in single {
            assert_eq!(float(f64::from(v), 6, 0, true), expected, "{v:e}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(7, 0), "7");
    }

    fn numeric(v: i128, s: i8) -> Vec<i16> {
        let mut b = BytesMut::new();
        write_numeric_binary(v, s, &mut b);
        b.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numeric_binary_matches_postgres() {
        // 123.45: 2 digits, weight 0, positive, dscale 2, [123, 4500]
        assert_eq!(numeric(12345, 2), vec![2, 0, 0, 2, 123, 4500]);
        // 10000: 1 digit, weight 1, [1]
        assert_eq!(numeric(10000, 0), vec![1, 1, 0, 0, 1]);
        // -0.0001 (scale 4): weight -1, negative, [1]
        assert_eq!(numeric(-1, 4), vec![1, -1, 0x4000, 4, 1]);
        // 0.00 : no digits
        assert_eq!(numeric(0, 2), vec![0, 0, 0, 2]);
        // 12345678.9 scale 1: [1234, 5678, 9000] weight 1
        assert_eq!(numeric(123456789, 1), vec![3, 1, 0, 1, 1234, 5678, 9000]);
    }

    fn text(f: impl Fn(&mut BytesMut) -> std::fmt::Result) -> String {
        let mut b = BytesMut::new();
        f(&mut b).expect("write");
        String::from_utf8(b.to_vec()).expect("utf8")
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(text(|b| write_date(b, 0)), "1970-01-01");
        assert_eq!(
            text(|b| write_timestamp(b, 1_500_000)),
            "1970-01-01 00:00:01.5"
        );
        let utc: Tz = "+00:00".parse().expect("tz");
        assert_eq!(
            text(|b| write_timestamptz(b, 0, &utc)),
            "1970-01-01 00:00:00+00"
        );
        let india: Tz = "+05:30".parse().expect("tz");
        assert_eq!(
            text(|b| write_timestamptz(b, 0, &india)),
            "1970-01-01 05:30:00+05:30"
        );
        assert_eq!(text(|b| write_time(b, 3_723_000_001)), "01:02:03.000001");
    }
}
