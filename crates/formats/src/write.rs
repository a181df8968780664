//! UNLOAD's text writers: delimited text, CSV, fixed-width and JSON lines
//! from typed Arrow batches, plus the compressing writers for GZIP, BZIP2
//! and ZSTD output files.
//!
//! Values are rendered as Redshift renders them in query output: integers,
//! DECIMAL with its scale (`12.50`), booleans `t`/`f`, `YYYY-MM-DD` dates,
//! `YYYY-MM-DD HH:MI:SS` timestamps with fractional digits only when
//! non-zero, TIMESTAMPTZ and TIMETZ in UTC with `+00`, CHAR(n) blank-padded
//! to n bytes, SUPER as its JSON text and VARBYTE as lowercase hex.
//! REAL and DOUBLE PRECISION are written with the shortest digits that read
//! back to the same value (`0.30000000000000004`), so that a reload is exact.
//!
//! # Round trips
//!
//! Writing with [`RecordWriter`] and reading back with
//! [`crate::RecordReader`] gives the same batch, for every column type, with
//! these UNLOAD / COPY option pairs:
//!
//! | UNLOAD                          | COPY                              |
//! |---------------------------------|-----------------------------------|
//! | `NULL AS '\N' ESCAPE`           | `ESCAPE`                          |
//! | `NULL AS '\N' ADDQUOTES ESCAPE` | `REMOVEQUOTES ESCAPE`             |
//! | `CSV NULL AS 'str'`             | `CSV NULL AS 'str'`               |
//! | `JSON`                          | `JSON 'auto'`                     |
//! | `FIXEDWIDTH 'spec' NULL AS '\N'`| `FIXEDWIDTH 'spec' TRIMBLANKS`    |
//! | any of the above with `HEADER`  | the same with `IGNOREHEADER 1`    |
//!
//! Known losses, all shared with Redshift:
//! - default text (`NULL` written as a zero-length field) and CSV without
//!   NULL AS turn NULL and `''` into the same field: a CHAR/VARCHAR NULL
//!   reloads as `''`;
//! - without ESCAPE a value containing the delimiter or a newline splits the
//!   record;
//! - a CHAR/VARCHAR value equal to the NULL AS string reloads as NULL;
//! - FIXEDWIDTH: VARCHAR trailing blanks are lost to TRIMBLANKS;
//! - JSON: a SUPER value that is the JSON string `""` reloads as NULL, and
//!   VARBYTE is refused (text and CSV only).
//!
//! Shale choices where the documentation is silent: NULL is written without
//! quotes under ADDQUOTES (so that REMOVEQUOTES reloads it as NULL), ESCAPE
//! also applies to SUPER's JSON text (its backslashes would otherwise be
//! eaten by COPY's ESCAPE), and JSON booleans are the strings `"t"` / `"f"`
//! (the documented `t`/`f`, kept valid JSON; COPY reads them back).

use std::io::Write;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray,
};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::{ColumnType, Compression, FormatError};

/// UNLOAD's text formats (PARQUET is written by the engine with the parquet
/// crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutFormat {
    /// Delimited text, default `b'|'`.
    Delimited { delimiter: u8 },
    /// `CSV [DELIMITER 'c']`, default `b','`.
    Csv { delimiter: u8 },
    /// `FIXEDWIDTH 'label:width,...'`: widths in characters, one per column.
    FixedWidth(Vec<(String, usize)>),
    /// `FORMAT JSON`: one object per line.
    Json,
}

impl Default for OutFormat {
    fn default() -> Self {
        OutFormat::Delimited { delimiter: b'|' }
    }
}

/// UNLOAD's data options. `Default::default()` is Redshift's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// `NULL AS 'str'`; `None` = a zero-length field (spaces for FIXEDWIDTH).
    pub null_as: Option<String>,
    pub add_quotes: bool,
    pub escape: bool,
    pub header: bool,
}

/// Writes the rows of one UNLOAD's query result as text lines.
#[derive(Debug)]
pub struct RecordWriter {
    format: OutFormat,
    options: WriteOptions,
    columns: Vec<(String, ColumnType)>,
    /// The current field's text.
    field: Vec<u8>,
}

fn invalid(m: impl Into<String>) -> FormatError {
    FormatError::InvalidOption(m.into())
}

impl RecordWriter {
    /// `columns`: output column names and their Redshift types, in order.
    /// Errors (Redshift's wording where known) for refused combinations.
    pub fn new(
        format: OutFormat,
        options: WriteOptions,
        columns: Vec<(String, ColumnType)>,
    ) -> Result<RecordWriter, FormatError> {
        let o = &options;
        match &format {
            OutFormat::Delimited { delimiter } => {
                if matches!(delimiter, b'\n' | b'\r') {
                    return Err(invalid(
                        "DELIMITER cannot be a newline or carriage return character",
                    ));
                }
                if o.escape && *delimiter == b'\\' {
                    return Err(invalid(
                        "DELIMITER cannot be the backslash character with ESCAPE",
                    ));
                }
            }
            OutFormat::Csv { delimiter } => {
                if matches!(delimiter, b'\n' | b'\r') {
                    return Err(invalid(
                        "DELIMITER cannot be a newline or carriage return character",
                    ));
                }
                if *delimiter == b'"' {
                    return Err(invalid("QUOTE and DELIMITER must be different characters"));
                }
                if o.add_quotes {
                    return Err(invalid("CSV is not compatible with ADDQUOTES"));
                }
                if o.escape {
                    return Err(invalid("CSV is not compatible with ESCAPE"));
                }
            }
            OutFormat::FixedWidth(spec) => {
                if o.header {
                    return Err(invalid("FIXEDWIDTH is not compatible with HEADER"));
                }
                if o.add_quotes {
                    return Err(invalid("FIXEDWIDTH is not compatible with ADDQUOTES"));
                }
                if o.escape {
                    return Err(invalid("FIXEDWIDTH is not compatible with ESCAPE"));
                }
                if spec.len() != columns.len() {
                    return Err(invalid(format!(
                        "Fixed width specification has {} field(s) but the query returns {} column(s)",
                        spec.len(),
                        columns.len()
                    )));
                }
                if spec.iter().any(|(_, w)| *w == 0) {
                    return Err(invalid(
                        "Fixed width specification: width must be a positive integer",
                    ));
                }
                if let Some(n) = &o.null_as
                    && n.contains(['\n', '\r'])
                {
                    return Err(invalid("NULL AS cannot contain a newline character"));
                }
            }
            OutFormat::Json => {
                for (set, name) in [
                    (o.header, "HEADER"),
                    (o.add_quotes, "ADDQUOTES"),
                    (o.escape, "ESCAPE"),
                    (o.null_as.is_some(), "NULL AS"),
                ] {
                    if set {
                        return Err(invalid(format!("JSON is not compatible with {name}")));
                    }
                }
                let mut seen = std::collections::HashSet::new();
                for (name, ty) in &columns {
                    if !seen.insert(name.as_str()) {
                        return Err(invalid(format!(
                            "UNLOAD to JSON requires unique column names: column \"{name}\" appears more than once"
                        )));
                    }
                    if matches!(ty, ColumnType::Varbyte(_)) {
                        return Err(invalid(format!(
                            "VARBYTE column \"{name}\" cannot be unloaded to JSON; use text or CSV"
                        )));
                    }
                }
            }
        }
        Ok(RecordWriter {
            format,
            options,
            columns,
            field: Vec::new(),
        })
    }

    /// The column names and types being written.
    pub fn columns(&self) -> &[(String, ColumnType)] {
        &self.columns
    }

    /// Appends the header line (column names, formatted with the same rules)
    /// when `options.header`; nothing otherwise.
    pub fn write_header(&self, out: &mut Vec<u8>) {
        if !self.options.header {
            return;
        }
        match &self.format {
            OutFormat::Delimited { delimiter } => {
                for (i, (name, _)) in self.columns.iter().enumerate() {
                    if i > 0 {
                        out.push(*delimiter);
                    }
                    self.delimited_field(name.as_bytes(), true, *delimiter, out);
                }
            }
            OutFormat::Csv { delimiter } => {
                for (i, (name, _)) in self.columns.iter().enumerate() {
                    if i > 0 {
                        out.push(*delimiter);
                    }
                    csv_field(name.as_bytes(), *delimiter, out);
                }
            }
            // Refused by `new`.
            OutFormat::FixedWidth(_) | OutFormat::Json => return,
        }
        out.push(b'\n');
    }

    /// Appends one line per row of `batch` (whose arrays have the columns'
    /// `arrow_type()`; other types are cast to it). Errors for values that
    /// cannot be written (a FIXEDWIDTH value wider than its column: data is
    /// never truncated). On error, `out` holds the lines of the rows before
    /// the failing one.
    pub fn write_batch(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        if batch.num_columns() != self.columns.len() {
            return Err(FormatError::Write(format!(
                "the query returns {} column(s) but {} were declared",
                batch.num_columns(),
                self.columns.len()
            )));
        }
        let arrays: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .zip(&self.columns)
            .map(|(a, (name, ty))| {
                let want = ty.arrow_type();
                if a.data_type() == &want {
                    Ok(Arc::clone(a))
                } else {
                    arrow::compute::cast(a, &want)
                        .map_err(|e| FormatError::Write(format!("column \"{name}\": {e}")))
                }
            })
            .collect::<Result<_, _>>()?;
        let cols: Vec<Col<'_>> = arrays
            .iter()
            .zip(&self.columns)
            .map(|(a, (name, ty))| Col::new(a.as_ref(), *ty, name))
            .collect::<Result<_, _>>()?;
        let mut field = std::mem::take(&mut self.field);
        let result = self.rows(&cols, batch.num_rows(), &mut field, out);
        self.field = field;
        result
    }

    fn rows(
        &self,
        cols: &[Col<'_>],
        rows: usize,
        field: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        for row in 0..rows {
            let line_start = out.len();
            if let Err(e) = self.row(cols, row, field, out) {
                out.truncate(line_start);
                return Err(e);
            }
            out.push(b'\n');
        }
        Ok(())
    }

    fn row(
        &self,
        cols: &[Col<'_>],
        row: usize,
        field: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        let null_text = self.options.null_as.as_deref().unwrap_or("").as_bytes();
        match &self.format {
            OutFormat::Delimited { delimiter } => {
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        out.push(*delimiter);
                    }
                    field.clear();
                    if c.render(row, field, true) {
                        if !c.is_super() {
                            out.extend_from_slice(null_text);
                        }
                    } else {
                        self.delimited_field(field, c.is_text(), *delimiter, out);
                    }
                }
            }
            OutFormat::Csv { delimiter } => {
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        out.push(*delimiter);
                    }
                    field.clear();
                    if c.render(row, field, true) {
                        if !c.is_super() {
                            out.extend_from_slice(null_text);
                        }
                    } else {
                        csv_field(field, *delimiter, out);
                    }
                }
            }
            OutFormat::FixedWidth(spec) => {
                for (c, (_, width)) in cols.iter().zip(spec) {
                    field.clear();
                    let text: &[u8] = if c.render(row, field, false) {
                        let n = if c.is_super() { &[][..] } else { null_text };
                        if char_count(n) > *width {
                            if c.is_char() {
                                return Err(FormatError::Write(format!(
                                    "NULL AS string is wider than the FIXEDWIDTH width {width} of character column \"{}\"",
                                    c.name
                                )));
                            }
                            &[]
                        } else {
                            n
                        }
                    } else {
                        if char_count(field) > *width {
                            return Err(FormatError::Write(format!(
                                "Value of column \"{}\" is wider than its FIXEDWIDTH width {width}; UNLOAD never truncates data",
                                c.name
                            )));
                        }
                        field
                    };
                    out.extend_from_slice(text);
                    for _ in char_count(text)..*width {
                        out.push(b' ');
                    }
                }
            }
            OutFormat::Json => {
                out.push(b'{');
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_string(c.name.as_bytes(), out);
                    out.push(b':');
                    field.clear();
                    if c.render(row, field, true) {
                        out.extend_from_slice(b"null");
                        continue;
                    }
                    match c.ty {
                        ColumnType::SmallInt
                        | ColumnType::Integer
                        | ColumnType::BigInt
                        | ColumnType::Decimal { .. }
                        | ColumnType::Super => out.extend_from_slice(field),
                        ColumnType::Real | ColumnType::Double
                            if field.last().is_some_and(u8::is_ascii_digit) =>
                        {
                            out.extend_from_slice(field)
                        }
                        _ => json_string(field, out),
                    }
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// One delimited-text field: ADDQUOTES and (for text) ESCAPE.
    fn delimited_field(&self, v: &[u8], text: bool, delimiter: u8, out: &mut Vec<u8>) {
        let quotes = self.options.add_quotes;
        if quotes {
            out.push(b'"');
        }
        if self.options.escape && text {
            for &b in v {
                let special = b == b'\n'
                    || b == b'\r'
                    || b == b'\\'
                    || b == delimiter
                    || (quotes && (b == b'"' || b == b'\''));
                if special {
                    out.push(b'\\');
                }
                out.push(b);
            }
        } else {
            out.extend_from_slice(v);
        }
        if quotes {
            out.push(b'"');
        }
    }
}

/// A CSV field: quoted only when it holds the delimiter, a double quote, CR
/// or LF; embedded quotes doubled.
fn csv_field(v: &[u8], delimiter: u8, out: &mut Vec<u8>) {
    let needs = v
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if !needs {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for &b in v {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// A JSON string literal of UTF-8 text.
fn json_string(v: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in v {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => {
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Characters of UTF-8 text (continuation bytes not counted).
fn char_count(v: &[u8]) -> usize {
    v.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

enum Values<'a> {
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
    Time(&'a Time64MicrosecondArray),
    Bytes(&'a BinaryArray),
}

struct Col<'a> {
    array: &'a dyn Array,
    values: Values<'a>,
    ty: ColumnType,
    name: &'a str,
}

impl<'a> Col<'a> {
    fn new(a: &'a dyn Array, ty: ColumnType, name: &'a str) -> Result<Self, FormatError> {
        let wrong = || {
            FormatError::Write(format!(
                "column \"{name}\" has Arrow type {} instead of {}",
                a.data_type(),
                ty.arrow_type()
            ))
        };
        let values = match (ty, a.data_type()) {
            (ColumnType::Boolean, DataType::Boolean) => Values::Bool(a.as_boolean()),
            (ColumnType::SmallInt, DataType::Int16) => Values::I16(a.as_primitive()),
            (ColumnType::Integer, DataType::Int32) => Values::I32(a.as_primitive()),
            (ColumnType::BigInt, DataType::Int64) => Values::I64(a.as_primitive()),
            (ColumnType::Real, DataType::Float32) => Values::F32(a.as_primitive()),
            (ColumnType::Double, DataType::Float64) => Values::F64(a.as_primitive()),
            (ColumnType::Decimal { .. }, DataType::Decimal128(_, s)) => {
                Values::Decimal(a.as_primitive(), *s)
            }
            (ColumnType::Char(_) | ColumnType::Varchar(_) | ColumnType::Super, DataType::Utf8) => {
                Values::Text(a.as_string())
            }
            (ColumnType::Date, DataType::Date32) => Values::Date(a.as_primitive()),
            (
                ColumnType::Timestamp | ColumnType::TimestampTz,
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _),
            ) => Values::Timestamp(a.as_primitive()),
            (
                ColumnType::Time | ColumnType::TimeTz,
                DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
            ) => Values::Time(a.as_primitive()),
            (ColumnType::Varbyte(_), DataType::Binary) => Values::Bytes(a.as_binary()),
            _ => return Err(wrong()),
        };
        Ok(Col {
            array: a,
            values,
            ty,
            name,
        })
    }

    fn is_text(&self) -> bool {
        matches!(
            self.ty,
            ColumnType::Char(_) | ColumnType::Varchar(_) | ColumnType::Super
        )
    }

    fn is_char(&self) -> bool {
        matches!(self.ty, ColumnType::Char(_) | ColumnType::Varchar(_))
    }

    fn is_super(&self) -> bool {
        self.ty == ColumnType::Super
    }

    /// Renders row `row` into `out`; `true` when it is NULL. `pad`: CHAR(n)
    /// blank-padded to n bytes.
    fn render(&self, row: usize, out: &mut Vec<u8>, pad: bool) -> bool {
        if self.array.is_null(row) {
            return true;
        }
        // Writing into a Vec cannot fail.
        let _ = match &self.values {
            Values::Bool(a) => {
                out.push(if a.value(row) { b't' } else { b'f' });
                Ok(())
            }
            Values::I16(a) => write!(out, "{}", a.value(row)),
            Values::I32(a) => write!(out, "{}", a.value(row)),
            Values::I64(a) => write!(out, "{}", a.value(row)),
            Values::F32(a) => {
                write_float(out, f64::from(a.value(row)), true);
                Ok(())
            }
            Values::F64(a) => {
                write_float(out, a.value(row), false);
                Ok(())
            }
            Values::Decimal(a, s) => {
                write_decimal(out, a.value(row), *s);
                Ok(())
            }
            Values::Text(a) => {
                let v = a.value(row).as_bytes();
                out.extend_from_slice(v);
                if pad && let ColumnType::Char(n) = self.ty {
                    for _ in v.len()..n as usize {
                        out.push(b' ');
                    }
                }
                Ok(())
            }
            Values::Date(a) => write_date(out, a.value(row)),
            Values::Timestamp(a) => {
                let r = write_timestamp(out, a.value(row));
                if self.ty == ColumnType::TimestampTz {
                    bc_after_zone(out);
                }
                r
            }
            Values::Time(a) => {
                let r = write_time(out, a.value(row));
                if self.ty == ColumnType::TimeTz {
                    out.extend_from_slice(b"+00");
                }
                r
            }
            Values::Bytes(a) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for b in a.value(row) {
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 15)]);
                }
                Ok(())
            }
        };
        false
    }
}

/// `123.45` from the unscaled value 12345 and scale 2.
fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    if v < 0 {
        out.push(b'-');
    }
    let digits = v.unsigned_abs().to_string();
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        for _ in 0..(-i32::from(scale)) {
            out.push(b'0');
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        for _ in 0..(scale - digits.len()) {
            out.push(b'0');
        }
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int.as_bytes());
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    }
}

/// The shortest digits that read back to the same value, laid out as C's
/// `%g` (PostgreSQL's float output with `extra_float_digits > 0`): plain
/// notation for exponents from -4 to 14 (5 for REAL), else `d.ddde+XX`.
fn write_float(out: &mut Vec<u8>, v: f64, single: bool) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    let text = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let precision = if single { 6 } else { 15 };
    let Some((mantissa, exp)) = text.split_once('e') else {
        out.extend_from_slice(text.as_bytes());
        return;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    let n = digits.len();
    let Some(&first) = digits.first() else {
        out.extend_from_slice(text.as_bytes());
        return;
    };
    if negative {
        out.push(b'-');
    }
    if exp < -4 || exp >= precision {
        out.push(first);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(&digits);
    } else {
        let int_len = exp as usize + 1;
        if n <= int_len {
            out.extend_from_slice(&digits);
            for _ in 0..(int_len - n) {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

fn write_year(out: &mut Vec<u8>, year: i32) -> std::io::Result<()> {
    if year <= 0 {
        write!(out, "{:04}", 1 - year)
    } else {
        write!(out, "{year:04}")
    }
}

fn bc_suffix(out: &mut Vec<u8>, year: i32) {
    if year <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// TIMESTAMPTZ: `+00` goes before a ` BC` suffix.
fn bc_after_zone(out: &mut Vec<u8>) {
    if out.ends_with(b" BC") {
        out.truncate(out.len() - 3);
        out.extend_from_slice(b"+00 BC");
    } else {
        out.extend_from_slice(b"+00");
    }
}

fn write_date(out: &mut Vec<u8>, days: i32) -> std::io::Result<()> {
    let Some(d) = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(days))))
    else {
        return write!(out, "{days}");
    };
    write_year(out, d.year())?;
    write!(out, "-{:02}-{:02}", d.month(), d.day())?;
    bc_suffix(out, d.year());
    Ok(())
}

fn write_fraction(out: &mut Vec<u8>, micros: u32) -> std::io::Result<()> {
    if micros == 0 {
        return Ok(());
    }
    let start = out.len();
    write!(out, ".{micros:06}")?;
    while out.len() > start && out.last() == Some(&b'0') {
        out.pop();
    }
    Ok(())
}

fn write_naive(out: &mut Vec<u8>, t: &NaiveDateTime) -> std::io::Result<()> {
    write_year(out, t.year())?;
    write!(
        out,
        "-{:02}-{:02} {:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )?;
    write_fraction(out, t.nanosecond() / 1000)
}

fn write_timestamp(out: &mut Vec<u8>, micros: i64) -> std::io::Result<()> {
    let Some(t) = DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc()) else {
        return write!(out, "{micros}");
    };
    write_naive(out, &t)?;
    bc_suffix(out, t.year());
    Ok(())
}

fn write_time(out: &mut Vec<u8>, micros: i64) -> std::io::Result<()> {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )?;
    write_fraction(out, frac)
}

/// A compressing writer that must be finished (it writes the stream's
/// trailer); plain output is flushed.
pub trait FinishWrite: Write + Send {
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

struct Plain<W: Write + Send>(W);
struct Gzip<W: Write + Send>(flate2::write::GzEncoder<W>);
struct Bzip2<W: Write + Send>(bzip2::write::BzEncoder<W>);
struct Zstd<'a, W: Write + Send>(zstd::stream::write::Encoder<'a, W>);
/// A zstd encoder that could not be built: every write fails.
struct Failed(Option<std::io::Error>);

macro_rules! delegate_write {
    ($t:ty) => {
        impl<W: Write + Send> Write for $t {
            // Implementing `write` itself: a partial write is reported to
            // the caller, as the trait requires.
            #[allow(clippy::disallowed_methods)]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.write(buf)
            }
            fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
                self.0.write_all(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                self.0.flush()
            }
        }
    };
}
delegate_write!(Plain<W>);
delegate_write!(Gzip<W>);
delegate_write!(Bzip2<W>);
delegate_write!(Zstd<'_, W>);

impl<W: Write + Send> FinishWrite for Plain<W> {
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FinishWrite for Gzip<W> {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.0.finish()?.flush()
    }
}
impl<W: Write + Send> FinishWrite for Bzip2<W> {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.0.finish()?.flush()
    }
}
impl<W: Write + Send> FinishWrite for Zstd<'_, W> {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.0.finish()?.flush()
    }
}

impl Write for Failed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(self.err())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(self.err())
    }
}

impl Failed {
    fn err(&mut self) -> std::io::Error {
        self.0
            .take()
            .unwrap_or_else(|| std::io::Error::other("encoder unavailable"))
    }
}

impl FinishWrite for Failed {
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        Err(self.err())
    }
}

/// Wraps `w` in the encoder for `c` (gzip and bzip2 at their default level
/// 6, zstd at level 3). Call [`FinishWrite::finish`] at the end of the file.
pub fn compress<'a, W: Write + Send + 'a>(c: Compression, w: W) -> Box<dyn FinishWrite + 'a> {
    match c {
        Compression::None => Box::new(Plain(w)),
        Compression::Gzip => Box::new(Gzip(flate2::write::GzEncoder::new(
            w,
            flate2::Compression::default(),
        ))),
        Compression::Bzip2 => Box::new(Bzip2(bzip2::write::BzEncoder::new(
            w,
            bzip2::Compression::default(),
        ))),
        Compression::Zstd => match zstd::stream::write::Encoder::new(w, 3) {
            Ok(e) => Box::new(Zstd(e)),
            Err(e) => Box::new(Failed(Some(e))),
        },
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
