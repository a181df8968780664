//! The crate's two failure shapes: [`FormatError`] fails the file (and so
//! the COPY), [`Rejected`] is one row that did not load.

/// Fatal errors: I/O (including corrupt or truncated gzip, bzip2 and zstd
/// streams: the decoder's `io::Error`), malformed JSONPaths files, invalid
/// option combinations, records past the size limit.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading (or decompressing) the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An option combination or option value Redshift refuses.
    #[error("{0}")]
    InvalidOption(String),
    /// A malformed JSONPaths file.
    #[error("{0}")]
    JsonPaths(String),
    /// UNLOAD: a value that cannot be written (a FIXEDWIDTH value wider than
    /// its column, a batch that does not match the declared columns).
    #[error("{0}")]
    Write(String),
    /// A record longer than Redshift's 4 MB limit.
    #[error("Record at line {line} exceeds the maximum row size of 4 MB")]
    RecordTooLarge { line: u64 },
}

/// A row that did not load: one future STL_LOAD_ERRORS row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based physical line in the file (header lines count); CSV: the line
    /// the record starts on; JSON: the last line of the bad object.
    pub line_number: u64,
    /// The column's name; `""` when the error is not about a column.
    pub column: String,
    /// Postgres internal type name (`int4`, `varchar`, ...); `""` with no
    /// column.
    pub col_type: String,
    /// Declared length (`"10"`), `"p,s"` for numeric, `""` otherwise.
    pub col_length: String,
    /// 0-based position of the error within the field.
    pub position: i32,
    /// The record's text, lossily decoded, at most 1024 bytes.
    pub raw_line: String,
    /// The field's text, lossily decoded, at most 1024 bytes.
    pub raw_field_value: String,
    /// Redshift's load error code (1200-1224).
    pub err_code: u16,
    /// Redshift's wording.
    pub err_reason: String,
}

/// Lossy text of at most 1024 bytes, cut at a character boundary.
pub(crate) fn clip(bytes: &[u8]) -> String {
    const LIMIT: usize = 1024;
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT * 2)]);
    if s.len() <= LIMIT {
        return s.into_owned();
    }
    let mut end = LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
