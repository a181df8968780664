//! Field text to typed values, per [`ColumnType`], with Redshift's COPY
//! conversion rules and load-error codes; and the Arrow builders the values
//! go into.
//!
//! A row converts in two steps so that a rejected row leaves no trace in
//! the builders: every field becomes a [`Val`] (strings go to a per-row
//! scratch buffer), and only a row whose fields all converted is appended.

use crate::datetime::{DateParser, TimestampParser};
use crate::{ColumnType, FormatError, Options, TargetColumn};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringArray,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// A converted field value; strings and bytes are ranges of the row's
/// scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Dec(i128),
    Float(f64),
    Bool(bool),
    Str(u32, u32),
    Days(i32),
    Micros(i64),
}

/// A field conversion failure: one STL_LOAD_ERRORS row's code, reason and
/// position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConvErr {
    pub code: u16,
    pub reason: String,
    pub pos: i32,
}

impl ConvErr {
    pub(crate) fn new(code: u16, reason: impl Into<String>, pos: usize) -> Self {
        ConvErr {
            code,
            reason: reason.into(),
            pos: i32::try_from(pos).unwrap_or(i32::MAX),
        }
    }
}

/// The kind of a JSON value handed to the converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    String,
    Number,
    Bool,
    /// An object or an array.
    Composite,
}

/// One field as the format reader found it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// SQL NULL (`NULL AS` matched, JSON null, a missing key).
    Null,
    /// A text-format field, quotes and escapes already removed.
    Text(&'a [u8]),
    /// A JSON value: `raw` is its JSON text, `text` its SQL text (a
    /// string's decoded contents, otherwise `raw`).
    Json {
        raw: &'a [u8],
        text: &'a [u8],
        kind: JsonKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntWidth {
    Short,
    Integer,
    Long,
}

/// One target column prepared for conversion.
#[derive(Debug, Clone)]
pub(crate) struct ColSpec {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    pub type_name: &'static str,
    pub length: String,
}

impl ColSpec {
    fn new(c: &TargetColumn) -> Self {
        let (type_name, length) = match c.ty {
            ColumnType::SmallInt => ("int2", String::new()),
            ColumnType::Integer => ("int4", String::new()),
            ColumnType::BigInt => ("int8", String::new()),
            ColumnType::Decimal { precision, scale } => ("numeric", format!("{precision},{scale}")),
            ColumnType::Real => ("float4", String::new()),
            ColumnType::Double => ("float8", String::new()),
            ColumnType::Boolean => ("bool", String::new()),
            ColumnType::Char(n) => ("char", n.to_string()),
            ColumnType::Varchar(n) => ("varchar", n.to_string()),
            ColumnType::Date => ("date", String::new()),
            ColumnType::Time => ("time", String::new()),
            ColumnType::TimeTz => ("timetz", String::new()),
            ColumnType::Timestamp => ("timestamp", String::new()),
            ColumnType::TimestampTz => ("timestamptz", String::new()),
            ColumnType::Super => ("super", String::new()),
            ColumnType::Varbyte(n) => ("varbyte", n.to_string()),
        };
        ColSpec {
            name: c.name.clone(),
            ty: c.ty,
            nullable: c.nullable,
            type_name,
            length,
        }
    }

    pub(crate) fn is_char(&self) -> bool {
        matches!(self.ty, ColumnType::Char(_) | ColumnType::Varchar(_))
    }
}

fn is_blank(s: &[u8]) -> bool {
    s.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
}

fn trim(s: &[u8]) -> (&[u8], usize) {
    let mut a = 0;
    let mut b = s.len();
    while a < b && matches!(s[a], b' ' | b'\t') {
        a += 1;
    }
    while b > a && matches!(s[b - 1], b' ' | b'\t') {
        b -= 1;
    }
    (&s[a..b], a)
}

fn hex_bytes(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for (i, b) in s.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Converts fields for one COPY's columns.
#[derive(Debug)]
pub(crate) struct Converter {
    pub cols: Vec<ColSpec>,
    date: DateParser,
    ts: TimestampParser,
    tstz: TimestampParser,
    empty_as_null: bool,
    blanks_as_null: bool,
    truncate: bool,
    trim_blanks: bool,
    accept_inv: Option<char>,
    accept_any_date: bool,
    round_ec: bool,
    digits: Vec<u8>,
}

impl Converter {
    pub(crate) fn new(columns: &[TargetColumn], o: &Options) -> Result<Self, FormatError> {
        Ok(Converter {
            cols: columns.iter().map(ColSpec::new).collect(),
            date: DateParser::new(o.date_format.as_deref())?,
            ts: TimestampParser::new(o.time_format.as_deref(), false)?,
            tstz: TimestampParser::new(o.time_format.as_deref(), true)?,
            empty_as_null: o.empty_as_null,
            blanks_as_null: o.blanks_as_null,
            truncate: o.truncate_columns,
            trim_blanks: o.trim_blanks,
            accept_inv: o.accept_inv_chars,
            accept_any_date: o.accept_any_date,
            round_ec: o.round_ec,
            digits: Vec::new(),
        })
    }

    /// Converts field `input` for column `c`, writing string bytes to `out`.
    pub(crate) fn convert(
        &mut self,
        c: usize,
        input: Input<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Val, ConvErr> {
        let Some(col) = self.cols.get(c) else {
            return Err(ConvErr::new(1200, "Unknown parse error", 0));
        };
        let ty = col.ty;
        let is_char = col.is_char();
        let (text, raw, kind) = match input {
            Input::Null => return Ok(Val::Null),
            Input::Text(t) => (t, t, None),
            Input::Json { raw, text, kind } => (text, raw, Some(kind)),
        };
        // Empty and blank values.
        let textual = kind.is_none() || kind == Some(JsonKind::String);
        if textual {
            if text.is_empty() {
                return if is_char && !self.empty_as_null {
                    Ok(Val::Str(out.len() as u32, out.len() as u32))
                } else {
                    Ok(Val::Null)
                };
            }
            if (!is_char || self.blanks_as_null) && is_blank(text) {
                return Ok(Val::Null);
            }
        }
        match ty {
            ColumnType::SmallInt => int(text, IntWidth::Short),
            ColumnType::Integer => int(text, IntWidth::Integer),
            ColumnType::BigInt => int(text, IntWidth::Long),
            ColumnType::Decimal { precision, scale } => {
                decimal(text, precision, scale, self.round_ec, &mut self.digits)
            }
            ColumnType::Real => float(text, true),
            ColumnType::Double => float(text, false),
            ColumnType::Boolean => boolean(text),
            ColumnType::Char(n) => self.chars(text, n, true, out),
            ColumnType::Varchar(n) => self.chars(text, n, false, out),
            ColumnType::Date => {
                let (t, _) = trim(text);
                match self.date.parse(t) {
                    Some(d) => Ok(Val::Days(d)),
                    None if self.accept_any_date => Ok(Val::Null),
                    None => Err(ConvErr::new(1205, self.date.error_reason(t), 0)),
                }
            }
            ColumnType::Timestamp | ColumnType::TimestampTz => {
                let tz = ty == ColumnType::TimestampTz;
                let p = if tz { &self.tstz } else { &self.ts };
                let (t, _) = trim(text);
                match p.timestamp(t, tz) {
                    Some(v) => Ok(Val::Micros(v)),
                    None if self.accept_any_date => Ok(Val::Null),
                    None => Err(ConvErr::new(1206, p.error_reason(), 0)),
                }
            }
            ColumnType::Time | ColumnType::TimeTz => {
                let tz = ty == ColumnType::TimeTz;
                let (t, _) = trim(text);
                match self.ts.time(t, tz) {
                    Some(v) => Ok(Val::Micros(v)),
                    None => Err(ConvErr::new(
                        1206,
                        "Invalid time format or value [HH24:MI:SS]",
                        0,
                    )),
                }
            }
            ColumnType::Super => {
                let json = if kind.is_some() { raw } else { trim(text).0 };
                if let Err(e) = std::str::from_utf8(json) {
                    let at = e.valid_up_to();
                    let bad = &json[at..at + e.error_len().unwrap_or(json.len() - at)];
                    return Err(ConvErr::new(
                        1220,
                        format!(
                            "String contains invalid or unsupported UTF8 codepoints. Bad UTF-8 hex sequence: {} (error 3)",
                            hex_bytes(bad)
                        ),
                        at,
                    ));
                }
                if kind.is_none()
                    && let Err(e) = crate::json::validate_document(json)
                {
                    return Err(ConvErr::new(
                        1224,
                        format!("Invalid JSON for SUPER: {} at position {}", e.what, e.at),
                        e.at,
                    ));
                }
                let start = out.len();
                out.extend_from_slice(json);
                Ok(Val::Str(start as u32, out.len() as u32))
            }
            ColumnType::Varbyte(n) => self.varbyte(text, n, out),
        }
    }

    fn chars(&self, s: &[u8], n: u32, fixed: bool, out: &mut Vec<u8>) -> Result<Val, ConvErr> {
        let start = out.len();
        // UTF-8, with ACCEPTINVCHARS replacement of each invalid byte.
        let mut rest = s;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.extend_from_slice(valid.as_bytes());
                    break;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    let bad_len = e.error_len().unwrap_or(rest.len() - good);
                    let Some(c) = self.accept_inv else {
                        out.truncate(start);
                        let at = s.len() - rest.len() + good;
                        return Err(ConvErr::new(
                            1220,
                            format!(
                                "String contains invalid or unsupported UTF8 codepoints. Bad UTF-8 hex sequence: {} (error 3)",
                                hex_bytes(&rest[good..good + bad_len])
                            ),
                            at,
                        ));
                    };
                    out.extend_from_slice(&rest[..good]);
                    let mut buf = [0u8; 4];
                    let enc = c.encode_utf8(&mut buf).as_bytes();
                    for _ in 0..bad_len {
                        out.extend_from_slice(enc);
                    }
                    rest = &rest[good + bad_len..];
                }
            }
        }
        let limit = n as usize;
        if fixed {
            if let Some(p) = out[start..].iter().position(|b| !b.is_ascii()) {
                let v = &out[start..];
                let mut end = p + 1;
                while end < v.len() && (v[end] & 0xC0) == 0x80 {
                    end += 1;
                }
                let reason = format!(
                    "Multibyte character not supported for CHAR (Hint: Try using VARCHAR). Invalid char: {}",
                    hex_bytes(&v[p..end])
                );
                out.truncate(start);
                return Err(ConvErr::new(1215, reason, p));
            }
            // CHAR's stored form has no trailing blanks.
            while out.len() > start && out[out.len() - 1] == b' ' {
                out.pop();
            }
        } else if self.trim_blanks {
            while out.len() > start && matches!(out[out.len() - 1], b' ' | b'\t') {
                out.pop();
            }
        }
        if out.len() - start > limit {
            if self.truncate {
                let mut end = start + limit;
                while end > start && (out[end] & 0xC0) == 0x80 {
                    end -= 1;
                }
                out.truncate(end);
            } else {
                out.truncate(start);
                let reason = if fixed {
                    "Char length exceeds DDL length"
                } else {
                    "String length exceeds DDL length"
                };
                return Err(ConvErr::new(1204, reason, 0));
            }
        }
        Ok(Val::Str(start as u32, out.len() as u32))
    }

    fn varbyte(&self, s: &[u8], n: u32, out: &mut Vec<u8>) -> Result<Val, ConvErr> {
        let (t, off) = trim(s);
        let start = out.len();
        let nib = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        };
        let mut i = 0;
        while i < t.len() {
            let Some(hi) = nib(t[i]) else {
                out.truncate(start);
                return Err(invalid_digit(t, i, off, "Varbyte"));
            };
            let Some(lo) = t.get(i + 1).and_then(|b| nib(*b)) else {
                out.truncate(start);
                return Err(invalid_digit(t, (i + 1).min(t.len() - 1), off, "Varbyte"));
            };
            out.push(hi << 4 | lo);
            i += 2;
        }
        if out.len() - start > n as usize {
            if self.truncate {
                out.truncate(start + n as usize);
            } else {
                out.truncate(start);
                return Err(ConvErr::new(1204, "String length exceeds DDL length", 0));
            }
        }
        Ok(Val::Str(start as u32, out.len() as u32))
    }
}

fn char_at(s: &[u8], i: usize) -> String {
    let mut end = i + 1;
    while end < s.len() && (s[end] & 0xC0) == 0x80 {
        end += 1;
    }
    String::from_utf8_lossy(&s[i..end.min(s.len())]).into_owned()
}

fn invalid_digit(s: &[u8], i: usize, off: usize, ty: &str) -> ConvErr {
    ConvErr::new(
        1207,
        format!(
            "Invalid digit, Value '{}', Pos {}, Type: {ty}",
            char_at(s, i),
            i + off
        ),
        i + off,
    )
}

fn int(s: &[u8], w: IntWidth) -> Result<Val, ConvErr> {
    let (t, off) = trim(s);
    let name = match w {
        IntWidth::Short => "Short",
        IntWidth::Integer => "Integer",
        IntWidth::Long => "Long",
    };
    let (neg, digits_at) = match t.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    if digits_at == t.len() {
        return Err(invalid_digit(t, t.len().saturating_sub(1), off, name));
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut v: i64 = 0;
    let mut overflow = false;
    for (i, &b) in t.iter().enumerate().skip(digits_at) {
        if !b.is_ascii_digit() {
            return Err(invalid_digit(t, i, off, name));
        }
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_sub(i64::from(b - b'0')))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    let v = if neg { Some(v) } else { v.checked_neg() };
    let (lo, hi) = match w {
        IntWidth::Short => (i64::from(i16::MIN), i64::from(i16::MAX)),
        IntWidth::Integer => (i64::from(i32::MIN), i64::from(i32::MAX)),
        IntWidth::Long => (i64::MIN, i64::MAX),
    };
    match v {
        Some(v) if !overflow && (lo..=hi).contains(&v) => Ok(Val::Int(v)),
        _ => Err(ConvErr::new(
            1222,
            format!("Overflow ({name} valid range {lo} to {hi})"),
            0,
        )),
    }
}

/// DECIMAL(p,s): extra decimal places are truncated (ROUNDEC: rounded half
/// away from zero); more integer digits than `p - s` is an overflow.
fn decimal(
    s: &[u8],
    precision: u8,
    scale: i8,
    round: bool,
    digits: &mut Vec<u8>,
) -> Result<Val, ConvErr> {
    let (t, off) = trim(s);
    let mut i = 0;
    let neg = match t.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    digits.clear();
    let mut frac_len: i64 = 0;
    let mut seen_point = false;
    let mut any = false;
    while i < t.len() {
        let b = t[i];
        if b.is_ascii_digit() {
            any = true;
            if !(digits.is_empty() && b == b'0') {
                digits.push(b - b'0');
            }
            if seen_point {
                frac_len += 1;
            }
        } else if b == b'.' && !seen_point {
            seen_point = true;
        } else if (b == b'e' || b == b'E') && any {
            break;
        } else {
            return Err(invalid_digit(t, i, off, "Decimal"));
        }
        i += 1;
    }
    if !any {
        return Err(invalid_digit(
            t,
            i.min(t.len().saturating_sub(1)),
            off,
            "Decimal",
        ));
    }
    let mut exp: i64 = 0;
    if i < t.len() {
        // Exponent.
        let e_at = i;
        i += 1;
        let eneg = match t.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i == t.len() {
            return Err(invalid_digit(t, e_at, off, "Decimal"));
        }
        while i < t.len() {
            let b = t[i];
            if !b.is_ascii_digit() {
                return Err(invalid_digit(t, i, off, "Decimal"));
            }
            exp = (exp * 10 + i64::from(b - b'0')).min(10_000);
            i += 1;
        }
        if eneg {
            exp = -exp;
        }
    }
    // Leading zeros of the fraction were not pushed; `digits` holds the
    // significant digits, value = digits * 10^(exp - frac_len).
    let shift = exp - frac_len + i64::from(scale);
    let overflow = || {
        ConvErr::new(
            1204,
            format!("Numeric data overflow (result precision) for NUMERIC({precision},{scale})"),
            0,
        )
    };
    let mut round_up = false;
    if shift < 0 {
        let drop = usize::try_from(-shift).unwrap_or(usize::MAX);
        if drop > digits.len() {
            digits.clear();
        } else {
            let keep = digits.len() - drop;
            round_up = round && digits[keep] >= 5;
            digits.truncate(keep);
        }
    } else {
        let add = usize::try_from(shift).unwrap_or(usize::MAX);
        if digits.len().saturating_add(add) > usize::from(precision) && !digits.is_empty() {
            return Err(overflow());
        }
        if !digits.is_empty() {
            digits.resize(digits.len() + add, 0);
        }
    }
    if digits.len() > usize::from(precision) {
        return Err(overflow());
    }
    let mut v: i128 = 0;
    for &d in digits.iter() {
        v = v * 10 + i128::from(d);
    }
    if round_up {
        v += 1;
        if v >= 10i128.pow(u32::from(precision)) {
            return Err(overflow());
        }
    }
    Ok(Val::Dec(if neg { -v } else { v }))
}

fn float(s: &[u8], single: bool) -> Result<Val, ConvErr> {
    let (t, off) = trim(s);
    let ty = if single { "Float" } else { "Double" };
    let parsed = std::str::from_utf8(t)
        .ok()
        .and_then(|x| x.parse::<f64>().ok());
    let Some(v) = parsed else {
        let at = t
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
            .unwrap_or(0);
        let mut e = invalid_digit(t, at.min(t.len().saturating_sub(1)), off, ty);
        e.code = 1208;
        return Err(e);
    };
    if single && v.is_finite() && (v as f32).is_infinite() {
        return Err(ConvErr::new(
            1204,
            "Overflow (Float valid range 1.175494e-38 to 3.402823e+38)",
            0,
        ));
    }
    Ok(Val::Float(v))
}

fn boolean(s: &[u8]) -> Result<Val, ConvErr> {
    let (t, _) = trim(s);
    let v = match t.len() {
        1 => match t[0].to_ascii_lowercase() {
            b't' | b'y' | b'1' => Some(true),
            b'f' | b'n' | b'0' => Some(false),
            _ => None,
        },
        2 if t.eq_ignore_ascii_case(b"no") => Some(false),
        3 if t.eq_ignore_ascii_case(b"yes") => Some(true),
        4 if t.eq_ignore_ascii_case(b"true") => Some(true),
        5 if t.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    };
    v.map(Val::Bool)
        .ok_or_else(|| ConvErr::new(1210, "Invalid Boolean format", 0))
}

/// One Arrow builder per column.
#[derive(Debug)]
enum Builder {
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    Dec(Decimal128Builder, u8, i8),
    F32(Float32Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    /// Strings are built as bytes and validated as UTF-8 once per batch.
    Utf8(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Ts(TimestampMicrosecondBuilder, bool),
    Bin(BinaryBuilder),
}

impl Builder {
    fn new(ty: ColumnType, cap: usize) -> Self {
        match ty {
            ColumnType::SmallInt => Builder::I16(Int16Builder::with_capacity(cap)),
            ColumnType::Integer => Builder::I32(Int32Builder::with_capacity(cap)),
            ColumnType::BigInt => Builder::I64(Int64Builder::with_capacity(cap)),
            ColumnType::Decimal { precision, scale } => {
                Builder::Dec(Decimal128Builder::with_capacity(cap), precision, scale)
            }
            ColumnType::Real => Builder::F32(Float32Builder::with_capacity(cap)),
            ColumnType::Double => Builder::F64(Float64Builder::with_capacity(cap)),
            ColumnType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(cap)),
            ColumnType::Char(_) | ColumnType::Varchar(_) | ColumnType::Super => {
                Builder::Utf8(BinaryBuilder::with_capacity(cap, cap * 16))
            }
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(cap)),
            ColumnType::Time | ColumnType::TimeTz => {
                Builder::Time(Time64MicrosecondBuilder::with_capacity(cap))
            }
            ColumnType::Timestamp => {
                Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap), false)
            }
            ColumnType::TimestampTz => {
                Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap), true)
            }
            ColumnType::Varbyte(_) => Builder::Bin(BinaryBuilder::with_capacity(cap, cap * 16)),
        }
    }

    fn append(&mut self, v: Val, scratch: &[u8]) {
        let bytes = |a: u32, b: u32| scratch.get(a as usize..b as usize).unwrap_or(&[]);
        match (self, v) {
            (Builder::I16(b), Val::Int(x)) => b.append_value(x as i16),
            (Builder::I32(b), Val::Int(x)) => b.append_value(x as i32),
            (Builder::I64(b), Val::Int(x)) => b.append_value(x),
            (Builder::Dec(b, _, _), Val::Dec(x)) => b.append_value(x),
            (Builder::F32(b), Val::Float(x)) => b.append_value(x as f32),
            (Builder::F64(b), Val::Float(x)) => b.append_value(x),
            (Builder::Bool(b), Val::Bool(x)) => b.append_value(x),
            (Builder::Utf8(b), Val::Str(s, e)) => b.append_value(bytes(s, e)),
            (Builder::Date(b), Val::Days(x)) => b.append_value(x),
            (Builder::Time(b), Val::Micros(x)) => b.append_value(x),
            (Builder::Ts(b, _), Val::Micros(x)) => b.append_value(x),
            (Builder::Bin(b), Val::Str(s, e)) => b.append_value(bytes(s, e)),
            (b, _) => b.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::Dec(b, _, _) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Utf8(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Ts(b, _) => b.append_null(),
            Builder::Bin(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, arrow::error::ArrowError> {
        Ok(match self {
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::Dec(b, p, s) => Arc::new(b.finish().with_precision_and_scale(*p, *s)?),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Utf8(b) => {
                let bin = b.finish();
                match StringArray::try_from_binary(bin.clone()) {
                    Ok(a) => Arc::new(a),
                    // Values are UTF-8 by construction; this keeps it total.
                    Err(_) => Arc::new(
                        bin.iter()
                            .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned()))
                            .collect::<StringArray>(),
                    ),
                }
            }
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Ts(b, tz) => {
                let a = b.finish();
                if *tz {
                    Arc::new(a.with_timezone("+00:00"))
                } else {
                    Arc::new(a)
                }
            }
            Builder::Bin(b) => Arc::new(b.finish()),
        })
    }
}

/// The builders of one batch.
#[derive(Debug)]
pub(crate) struct Builders {
    schema: SchemaRef,
    builders: Vec<Builder>,
    pub rows: usize,
}

impl Builders {
    pub(crate) fn new(columns: &[TargetColumn], cap: usize) -> Self {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.arrow_type(), c.nullable))
                .collect::<Vec<_>>(),
        ));
        Builders {
            schema,
            builders: columns.iter().map(|c| Builder::new(c.ty, cap)).collect(),
            rows: 0,
        }
    }

    pub(crate) fn append_row(&mut self, vals: &[Val], scratch: &[u8]) {
        for (b, v) in self.builders.iter_mut().zip(vals) {
            b.append(*v, scratch);
        }
        self.rows += 1;
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let arrays = self
            .builders
            .iter_mut()
            .map(Builder::finish)
            .collect::<Result<Vec<_>, _>>()?;
        self.rows = 0;
        let opts = arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(arrays.first().map_or(0, |a| a.len())));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), arrays, &opts)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn conv(ty: ColumnType, s: &str) -> Result<Val, ConvErr> {
        conv_opts(ty, s, Options::default())
    }

    fn conv_opts(ty: ColumnType, s: &str, o: Options) -> Result<Val, ConvErr> {
        let mut c = Converter::new(&[TargetColumn::new("c", ty)], &o).unwrap();
        let mut out = Vec::new();
        c.convert(0, Input::Text(s.as_bytes()), &mut out)
    }

    fn text(ty: ColumnType, s: &[u8], o: Options) -> Result<String, ConvErr> {
        let mut c = Converter::new(&[TargetColumn::new("c", ty)], &o).unwrap();
        let mut out = Vec::new();
        match c.convert(0, Input::Text(s), &mut out)? {
            Val::Str(a, b) => Ok(String::from_utf8(out[a as usize..b as usize].to_vec()).unwrap()),
            Val::Null => Ok("<null>".into()),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn integers() {
        assert_eq!(conv(ColumnType::Integer, "42"), Ok(Val::Int(42)));
        assert_eq!(conv(ColumnType::Integer, " -7 "), Ok(Val::Int(-7)));
        assert_eq!(conv(ColumnType::Integer, ""), Ok(Val::Null));
        assert_eq!(conv(ColumnType::Integer, "   "), Ok(Val::Null));
        let e = conv(ColumnType::Integer, "a").unwrap_err();
        assert_eq!(
            (e.code, e.reason.as_str(), e.pos),
            (1207, "Invalid digit, Value 'a', Pos 0, Type: Integer", 0)
        );
        let e = conv(ColumnType::Integer, "1.5").unwrap_err();
        assert_eq!(e.reason, "Invalid digit, Value '.', Pos 1, Type: Integer");
        let e = conv(ColumnType::SmallInt, "32768").unwrap_err();
        assert_eq!(e.code, 1222);
        assert_eq!(conv(ColumnType::SmallInt, "-32768"), Ok(Val::Int(-32768)));
        assert_eq!(
            conv(ColumnType::BigInt, "-9223372036854775808"),
            Ok(Val::Int(i64::MIN))
        );
        assert_eq!(
            conv(ColumnType::BigInt, "9223372036854775808")
                .unwrap_err()
                .code,
            1222
        );
        assert!(
            conv(ColumnType::BigInt, "x")
                .unwrap_err()
                .reason
                .ends_with("Type: Long")
        );
    }

    #[test]
    fn decimals_truncate_unless_roundec() {
        let d = ColumnType::Decimal {
            precision: 8,
            scale: 2,
        };
        assert_eq!(conv(d, "20.259"), Ok(Val::Dec(2025)));
        let o = Options {
            round_ec: true,
            ..Options::default()
        };
        assert_eq!(conv_opts(d, "20.259", o.clone()), Ok(Val::Dec(2026)));
        assert_eq!(conv_opts(d, "-20.255", o), Ok(Val::Dec(-2026)));
        assert_eq!(conv(d, "123456.78"), Ok(Val::Dec(12345678)));
        assert_eq!(conv(d, "1234567.8").unwrap_err().code, 1204);
        assert_eq!(conv(d, "1e2"), Ok(Val::Dec(10000)));
        assert_eq!(conv(d, "0.001"), Ok(Val::Dec(0)));
        assert_eq!(conv(d, ".5"), Ok(Val::Dec(50)));
        assert_eq!(
            conv(d, "1x").unwrap_err().reason,
            "Invalid digit, Value 'x', Pos 1, Type: Decimal"
        );
        let big = ColumnType::Decimal {
            precision: 38,
            scale: 0,
        };
        assert_eq!(conv(big, &"9".repeat(38)), Ok(Val::Dec(10i128.pow(38) - 1)));
        assert_eq!(conv(big, &"9".repeat(39)).unwrap_err().code, 1204);
    }

    #[test]
    fn floats_and_booleans() {
        assert_eq!(conv(ColumnType::Double, "1.5e3"), Ok(Val::Float(1500.0)));
        assert!(matches!(conv(ColumnType::Double, "NaN"), Ok(Val::Float(v)) if v.is_nan()));
        assert_eq!(
            conv(ColumnType::Double, "-Infinity"),
            Ok(Val::Float(f64::NEG_INFINITY))
        );
        assert_eq!(conv(ColumnType::Real, "abc").unwrap_err().code, 1208);
        assert_eq!(conv(ColumnType::Real, "1e39").unwrap_err().code, 1204);
        for (s, v) in [
            ("t", true),
            ("TRUE", true),
            ("yes", true),
            ("1", true),
            ("f", false),
            ("No", false),
            ("0", false),
        ] {
            assert_eq!(conv(ColumnType::Boolean, s), Ok(Val::Bool(v)), "{s}");
        }
        assert_eq!(conv(ColumnType::Boolean, "maybe").unwrap_err().code, 1210);
    }

    #[test]
    fn character_rules() {
        let o = Options::default;
        assert_eq!(text(ColumnType::Varchar(5), b"", o()).unwrap(), "");
        assert_eq!(
            text(
                ColumnType::Varchar(5),
                b"",
                Options {
                    empty_as_null: true,
                    ..o()
                }
            )
            .unwrap(),
            "<null>"
        );
        assert_eq!(text(ColumnType::Varchar(5), b"  ", o()).unwrap(), "  ");
        assert_eq!(
            text(
                ColumnType::Varchar(5),
                b"  ",
                Options {
                    blanks_as_null: true,
                    ..o()
                }
            )
            .unwrap(),
            "<null>"
        );
        let e = text(ColumnType::Varchar(3), b"abcd", o()).unwrap_err();
        assert_eq!(
            (e.code, e.reason.as_str()),
            (1204, "String length exceeds DDL length")
        );
        assert_eq!(
            text(
                ColumnType::Varchar(3),
                "abé".as_bytes(),
                Options {
                    truncate_columns: true,
                    ..o()
                }
            )
            .unwrap(),
            "ab"
        );
        assert_eq!(
            text(
                ColumnType::Varchar(3),
                b"ab   ",
                Options {
                    trim_blanks: true,
                    ..o()
                }
            )
            .unwrap(),
            "ab"
        );
        assert_eq!(text(ColumnType::Char(3), b"ab     ", o()).unwrap(), "ab");
        let e = text(ColumnType::Char(3), "é".as_bytes(), o()).unwrap_err();
        assert_eq!(
            (e.code, e.reason.as_str()),
            (
                1215,
                "Multibyte character not supported for CHAR (Hint: Try using VARCHAR). Invalid char: c3 a9"
            )
        );
        let e = text(ColumnType::Varchar(10), b"a\xa4b", o()).unwrap_err();
        assert_eq!(
            (e.code, e.reason.as_str(), e.pos),
            (
                1220,
                "String contains invalid or unsupported UTF8 codepoints. Bad UTF-8 hex sequence: a4 (error 3)",
                1
            )
        );
        assert_eq!(
            text(
                ColumnType::Varchar(10),
                b"a\xe0\xa1b",
                Options {
                    accept_inv_chars: Some('?'),
                    ..o()
                }
            )
            .unwrap(),
            "a??b"
        );
    }

    #[test]
    fn super_and_varbyte() {
        assert_eq!(
            text(ColumnType::Super, br#"{"a":1}"#, Options::default()).unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(conv(ColumnType::Super, "{oops").unwrap_err().code, 1224);
        let mut c = Converter::new(
            &[TargetColumn::new("c", ColumnType::Varbyte(4))],
            &Options::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(
            c.convert(0, Input::Text(b"0aFf"), &mut out),
            Ok(Val::Str(0, 2))
        );
        assert_eq!(out, vec![0x0a, 0xff]);
        assert_eq!(
            c.convert(0, Input::Text(b"0g"), &mut out).unwrap_err().code,
            1207
        );
    }
}
