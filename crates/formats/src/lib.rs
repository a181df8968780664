//! Load formats: records of delimited text, CSV, fixed-width and JSON files
//! parsed into typed Arrow batches, with Redshift's COPY conversion rules.
//!
//! The engine's COPY handler owns everything around a file (the statement,
//! S3 listing, transactions, STL_LOAD_ERRORS); this crate owns what happens
//! inside one: [`decompress`] wraps the object's bytes in the declared
//! decoder, [`validate`] refuses the option combinations Redshift refuses,
//! and a [`RecordReader`] turns the bytes into batches of converted rows plus
//! the rows that did not load ([`Rejected`], one future STL_LOAD_ERRORS row
//! each, with Redshift's error codes 1200-1224 and wording).
//!
//! Module map:
//! - `reader`: the buffered input, record boundaries, header skipping and
//!   the row loop shared by every format.
//! - `text`: field splitting of delimited, CSV and fixed-width records.
//! - `json`: a hand-written JSON scanner (no value tree per row) and
//!   JSONPaths.
//! - `convert`: text to typed values per [`ColumnType`], Arrow builders.
//! - `datetime`: DATEFORMAT / TIMEFORMAT strings and `'auto'` recognition.
//! - `write`: UNLOAD's writers ([`RecordWriter`]) and [`compress`].
//!
//! **Invariant:** no input byte sequence panics; every record is either
//! loaded, rejected, or the file fails with a [`FormatError`].

mod convert;
mod datetime;
mod error;
mod json;
mod reader;
mod text;
mod write;

use std::io::Read;

pub use error::{FormatError, Rejected};
pub use json::{JsonPath, JsonPathStep, parse_json_paths};
pub use reader::{Parsed, RecordReader};
pub use shale_storage::types::ColumnType;
pub use write::{FinishWrite, OutFormat, RecordWriter, WriteOptions, compress};

/// Largest record (a text line, a CSV record or a JSON object), as in
/// Redshift: 4 MB.
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// Declared compression of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Bzip2,
    Zstd,
}

/// Wraps a raw reader in the decoder for `c`. Gzip and bzip2 accept
/// concatenated members / streams; zstd accepts concatenated frames. A corrupt
/// or truncated stream surfaces as an `io::Error` from `read`.
pub fn decompress<'a>(c: Compression, r: impl Read + Send + 'a) -> Box<dyn Read + Send + 'a> {
    match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(r) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(FailedReader(Some(e))),
        },
    }
}

/// A reader whose first read returns the error that prevented building a
/// decoder.
struct FailedReader(Option<std::io::Error>);

impl Read for FailedReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Err(std::io::Error::other("decoder unavailable")),
        }
    }
}

/// The data format of a COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Redshift's default text format: one record per line, fields split by
    /// `delimiter` (default `b'|'`).
    Delimited { delimiter: u8 },
    /// `CSV [QUOTE 'q']`, delimiter default `b','`, quote default `b'"'`.
    Csv { delimiter: u8, quote: u8 },
    /// `FIXEDWIDTH 'label:width,...'`: widths in characters.
    FixedWidth(Vec<(String, usize)>),
    /// `JSON 'auto' | 'auto ignorecase' | 's3://jsonpaths'`.
    Json(JsonMapping),
}

impl Default for Format {
    fn default() -> Self {
        Format::Delimited { delimiter: b'|' }
    }
}

impl Format {
    /// The CSV format with Redshift's defaults.
    pub fn csv() -> Self {
        Format::Csv {
            delimiter: b',',
            quote: b'"',
        }
    }

    /// `STL_LOAD_COMMITS.file_format` / `SYS_LOAD_HISTORY.file_format` style
    /// name: `Text` or `JSON`.
    pub fn file_format_name(&self) -> &'static str {
        match self {
            Format::Json(_) => "JSON",
            _ => "Text",
        }
    }
}

/// How JSON values are matched to columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonMapping {
    /// First-level keys matched to column names (case-sensitive unless
    /// `ignore_case`).
    Auto { ignore_case: bool },
    /// One JSONPath expression per column, in order.
    Paths(Vec<JsonPath>),
}

/// Data-conversion and load options. `Default::default()` is Redshift's
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `NULL AS 'str'`; `None` = the default `\N` (text formats).
    pub null_as: Option<String>,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub truncate_columns: bool,
    pub trim_blanks: bool,
    /// `ACCEPTINVCHARS [AS 'c']`: `Some('?')` when given without a character.
    pub accept_inv_chars: Option<char>,
    pub escape: bool,
    pub remove_quotes: bool,
    pub fill_record: bool,
    pub ignore_blank_lines: bool,
    /// Physical lines skipped at the start of every file.
    pub ignore_header: u64,
    /// `None` = `'YYYY-MM-DD'`; `Some("auto")` or a format string.
    pub date_format: Option<String>,
    /// `None` = default; `"auto"`, `"epochsecs"`, `"epochmillisecs"` or a
    /// format string.
    pub time_format: Option<String>,
    pub accept_any_date: bool,
    pub round_ec: bool,
}

/// One input column: the COPY's column list (or the table's columns in
/// order, IDENTITY left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
}

impl TargetColumn {
    /// A nullable column.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        TargetColumn {
            name: name.into(),
            ty,
            nullable: true,
        }
    }

    /// A NOT NULL column.
    pub fn not_null(name: impl Into<String>, ty: ColumnType) -> Self {
        TargetColumn {
            name: name.into(),
            ty,
            nullable: false,
        }
    }
}

/// Checks, once per COPY and before any file is read, the option
/// combinations Redshift refuses. Errors carry Redshift's messages.
pub fn validate(
    format: &Format,
    options: &Options,
    columns: &[TargetColumn],
) -> Result<(), FormatError> {
    let invalid = |m: &str| Err(FormatError::InvalidOption(m.to_string()));
    match format {
        Format::Delimited { delimiter } => {
            if *delimiter == b'\n' || *delimiter == b'\r' {
                return invalid("DELIMITER cannot be a newline or carriage return character");
            }
            if options.escape && *delimiter == b'\\' {
                return invalid("DELIMITER cannot be the backslash character with ESCAPE");
            }
        }
        Format::Csv { delimiter, quote } => {
            if options.escape {
                return invalid("CSV is not compatible with ESCAPE");
            }
            if options.remove_quotes {
                return invalid("CSV is not compatible with REMOVEQUOTES");
            }
            if delimiter == quote {
                return invalid("QUOTE and DELIMITER must be different characters");
            }
            if *delimiter == b'\n' || *delimiter == b'\r' || *quote == b'\n' || *quote == b'\r' {
                return invalid("DELIMITER cannot be a newline or carriage return character");
            }
        }
        Format::FixedWidth(spec) => {
            if options.escape {
                return invalid("FIXEDWIDTH is not compatible with ESCAPE");
            }
            if options.remove_quotes {
                return invalid("FIXEDWIDTH is not compatible with REMOVEQUOTES");
            }
            if spec.len() != columns.len() {
                return Err(FormatError::InvalidOption(format!(
                    "Fixed width specification has {} field(s) but the target has {} column(s)",
                    spec.len(),
                    columns.len()
                )));
            }
            if spec.iter().any(|(_, w)| *w == 0) {
                return invalid("Fixed width specification: width must be a positive integer");
            }
        }
        Format::Json(mapping) => {
            if options.null_as.is_some() {
                return invalid("NULL AS is not supported with JSON format");
            }
            if options.escape {
                return invalid("ESCAPE is not supported with JSON format");
            }
            if options.fill_record {
                return invalid("FILLRECORD is not supported with JSON format");
            }
            if options.remove_quotes {
                return invalid("REMOVEQUOTES is not supported with JSON format");
            }
            if options.ignore_blank_lines {
                return invalid("IGNOREBLANKLINES is not supported with JSON format");
            }
            if let JsonMapping::Paths(paths) = mapping
                && paths.len() != columns.len()
            {
                return Err(FormatError::InvalidOption(format!(
                    "Number of jsonpaths and the number of columns should match. JSONPath size: {}, Number of columns in table or column list: {}",
                    paths.len(),
                    columns.len()
                )));
            }
        }
    }
    if let Some(null) = &options.null_as
        && null.contains('\n')
    {
        return invalid("NULL AS cannot contain a newline character");
    }
    datetime::DateParser::new(options.date_format.as_deref())?;
    datetime::TimestampParser::new(options.time_format.as_deref(), false)?;
    Ok(())
}

#[cfg(test)]
mod tests;
