//! The record reader: a buffered source, record boundaries, header
//! skipping, physical line counting, and the row loop that turns records
//! into converted rows or [`Rejected`] ones.
//!
//! The source keeps one large buffer; a record is always contiguous in it
//! (the buffer grows up to the 4 MB record limit). Line numbers are
//! physical: every `\n` consumed counts, including those inside quoted CSV
//! fields and JSON objects.

use crate::convert::{Builders, ConvErr, Converter, Input, Val};
use crate::error::clip;
use crate::json::{self, JsonErr, Kind, Span};
use crate::text::{self, FieldSpan};
use crate::{Format, FormatError, JsonMapping, MAX_RECORD_BYTES, Options, Rejected, TargetColumn};
use arrow::record_batch::RecordBatch;
use std::io::Read;

const CHUNK: usize = 1 << 20;

/// One batch of a file's rows.
#[derive(Debug)]
pub struct Parsed {
    /// Rows that converted: one field per target column, named as the
    /// column, typed `ty.arrow_type()`, nullable as declared.
    pub batch: RecordBatch,
    /// Rows that did not load, in file order.
    pub rejected: Vec<Rejected>,
    /// Physical lines consumed so far in the file.
    pub lines_scanned: u64,
    /// JSON only: per column, the rows of `batch` whose object had no key
    /// for it (as opposed to an explicit `null`), which get the column's
    /// DEFAULT in Redshift. Empty for other formats.
    pub missing: Vec<Vec<u32>>,
}

/// The buffered input.
struct Source<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// `\n` bytes consumed.
    newlines: u64,
    /// The last byte consumed was not a `\n` (an unterminated last line).
    partial: bool,
}

impl<R: Read> Source<R> {
    fn data(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Reads more input; `false` at end of file.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < CHUNK / 4 {
            let len = (self.buf.len() * 2).max(CHUNK);
            self.buf.resize(len, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Consumes `n` bytes, counting their newlines.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        if n == 0 {
            return;
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.partial = bytes[n - 1] != b'\n';
        self.pos += n;
    }

    fn lines(&self) -> u64 {
        self.newlines + u64::from(self.partial)
    }
}

/// Format-specific reading state.
#[derive(Debug)]
enum Mode {
    Delimited { delimiter: u8 },
    Csv { delimiter: u8, quote: u8 },
    Fixed { widths: Vec<usize> },
    Json(JsonMapping),
}

/// The per-file processing state, apart from the source so that records
/// can be borrowed from the source's buffer while rows are built.
struct Proc {
    mode: Mode,
    opts: Options,
    conv: Converter,
    builders: Builders,
    null_as: Vec<u8>,
    fields: Vec<FieldSpan>,
    fbuf: Vec<u8>,
    vals: Vec<Val>,
    row: Vec<u8>,
    dec: Vec<u8>,
    keybuf: Vec<u8>,
    slots: Vec<Option<Span>>,
    /// Columns with no key in the current JSON object.
    absent: Vec<usize>,
    /// Per column, the rows of the batch being built that had no key.
    missing: Vec<Vec<u32>>,
}

/// Reads one (already decompressed) file: an iterator of batches of up to
/// `batch_rows` rows.
pub struct RecordReader<R: Read> {
    src: Source<R>,
    p: Proc,
    batch_rows: usize,
    header_left: u64,
    done: bool,
    /// A fatal error found while building the reader, reported first.
    init_error: Option<FormatError>,
}

impl<R: Read> std::fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("mode", &self.p.mode)
            .field("lines", &self.src.lines())
            .finish_non_exhaustive()
    }
}

impl<R: Read> RecordReader<R> {
    /// A reader over `input`. Option errors (an invalid DATEFORMAT, ...)
    /// are reported by the first `next`; call [`crate::validate`] first to
    /// get them before any file is read.
    pub fn new(
        input: R,
        format: Format,
        options: Options,
        columns: Vec<TargetColumn>,
        batch_rows: usize,
    ) -> Self {
        let batch_rows = batch_rows.max(1);
        let (conv, init_error) = match Converter::new(&columns, &options) {
            Ok(c) => (c, None),
            Err(e) => {
                let fallback = Options::default();
                match Converter::new(&columns, &fallback) {
                    Ok(c) => (c, Some(e)),
                    Err(e2) => {
                        // Unreachable in practice: the defaults are valid.
                        return Self::failed(input, columns, e2);
                    }
                }
            }
        };
        let mode = match format {
            Format::Delimited { delimiter } => Mode::Delimited { delimiter },
            Format::Csv { delimiter, quote } => Mode::Csv { delimiter, quote },
            Format::FixedWidth(spec) => Mode::Fixed {
                widths: spec.into_iter().map(|(_, w)| w).collect(),
            },
            Format::Json(m) => Mode::Json(m),
        };
        let null_as = options
            .null_as
            .as_deref()
            .unwrap_or("\\N")
            .as_bytes()
            .to_vec();
        let ncols = columns.len();
        RecordReader {
            src: Source {
                r: input,
                buf: Vec::new(),
                pos: 0,
                end: 0,
                eof: false,
                newlines: 0,
                partial: false,
            },
            header_left: options.ignore_header,
            p: Proc {
                mode,
                opts: options,
                conv,
                builders: Builders::new(&columns, batch_rows.min(8192)),
                null_as,
                fields: Vec::new(),
                fbuf: Vec::new(),
                vals: Vec::with_capacity(ncols),
                row: Vec::new(),
                dec: Vec::new(),
                keybuf: Vec::new(),
                slots: vec![None; ncols],
                absent: Vec::new(),
                missing: Vec::new(),
            },
            batch_rows,
            done: false,
            init_error,
        }
    }

    fn failed(input: R, columns: Vec<TargetColumn>, e: FormatError) -> Self {
        let mut r = Self::new(input, Format::default(), Options::default(), columns, 1);
        r.init_error = Some(e);
        r
    }

    /// Physical lines consumed so far.
    pub fn lines_scanned(&self) -> u64 {
        self.src.lines()
    }

    /// Skips the IGNOREHEADER lines; `false` at end of file.
    fn skip_header(&mut self) -> Result<(), FormatError> {
        while self.header_left > 0 {
            match memchr::memchr(b'\n', self.src.data()) {
                Some(p) => {
                    self.src.consume(p + 1);
                    self.header_left -= 1;
                }
                None => {
                    if !self.src.fill()? {
                        let n = self.src.end - self.src.pos;
                        self.src.consume(n);
                        self.header_left = 0;
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads and processes one record; `false` at end of file.
    fn step(&mut self, rejected: &mut Vec<Rejected>) -> Result<bool, FormatError> {
        if matches!(self.p.mode, Mode::Json(_)) {
            return self.step_json(rejected);
        }
        let (csv_quote, escape) = match self.p.mode {
            Mode::Csv { quote, .. } => (Some(quote), false),
            Mode::Delimited { .. } => (None, self.p.opts.escape),
            _ => (None, false),
        };
        let mut scanned = 0;
        let mut in_quote = false;
        loop {
            let data = self.src.data();
            let found = match csv_quote {
                Some(q) => find_csv_end(data, &mut scanned, &mut in_quote, q),
                None if escape => find_escaped_end(data, &mut scanned),
                None => {
                    let r = memchr::memchr(b'\n', &data[scanned..]).map(|p| scanned + p);
                    scanned = data.len();
                    r
                }
            };
            let (rec_len, consumed) = match found {
                Some(e) => (e, e + 1),
                None => {
                    if data.len() > MAX_RECORD_BYTES {
                        return Err(FormatError::RecordTooLarge {
                            line: self.src.newlines + 1,
                        });
                    }
                    if self.src.fill()? {
                        continue;
                    }
                    let n = self.src.data().len();
                    if n == 0 {
                        return Ok(false);
                    }
                    (n, n)
                }
            };
            let line = self.src.newlines + 1;
            let start = self.src.pos;
            let rec = &self.src.buf[start..start + rec_len];
            if !(rec.is_empty() && self.p.opts.ignore_blank_lines) {
                self.p.text_record(rec, line, rejected);
            }
            self.src.consume(consumed);
            return Ok(true);
        }
    }

    fn step_json(&mut self, rejected: &mut Vec<Rejected>) -> Result<bool, FormatError> {
        // Skip white space between records.
        loop {
            let data = self.src.data();
            let ws = data
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(data.len());
            self.src.consume(ws);
            if !self.src.data().is_empty() {
                break;
            }
            if !self.src.fill()? {
                return Ok(false);
            }
        }
        loop {
            let data = self.src.data();
            let first = data[0];
            let eof = self.src.eof;
            if first != b'{' && first != b'[' {
                // Text that is no JSON record: reject up to the end of line.
                let Some(p) = memchr::memchr(b'\n', data) else {
                    if !eof && data.len() <= MAX_RECORD_BYTES {
                        self.src.fill()?;
                        continue;
                    }
                    let n = data.len();
                    let line = self.src.newlines + 1;
                    self.p.json_malformed(
                        data,
                        line,
                        0,
                        "Invalid JSON: a record must be an object or an array",
                        rejected,
                    );
                    self.src.consume(n);
                    return Ok(true);
                };
                let line = self.src.newlines + 1;
                self.p.json_malformed(
                    &data[..p],
                    line,
                    0,
                    "Invalid JSON: a record must be an object or an array",
                    rejected,
                );
                self.src.consume(p + 1);
                return Ok(true);
            }
            match self.p.json_record(data, rejected, self.src.newlines) {
                Ok(n) => {
                    self.src.consume(n);
                    return Ok(true);
                }
                Err(e) if e.at >= data.len() && !eof => {
                    if data.len() > MAX_RECORD_BYTES {
                        return Err(FormatError::RecordTooLarge {
                            line: self.src.newlines + 1,
                        });
                    }
                    self.src.fill()?;
                    continue;
                }
                Err(e) => {
                    // Malformed: skip to the record's end by bracket
                    // counting, or to the end of the line of the error.
                    let n = match json::record_end(data) {
                        Some(n) => n,
                        None if !eof && data.len() <= MAX_RECORD_BYTES => {
                            self.src.fill()?;
                            continue;
                        }
                        None => data.len(),
                    };
                    let rec = &data[..n];
                    let line = last_line(self.src.newlines, rec);
                    let reason = format!("Invalid JSON: {} at position {}", e.what, e.at);
                    self.p.json_malformed(rec, line, e.at, &reason, rejected);
                    self.src.consume(n);
                    return Ok(true);
                }
            }
        }
    }
}

/// The end of a CSV record: a `\n` outside quotes.
fn find_csv_end(data: &[u8], scanned: &mut usize, in_quote: &mut bool, q: u8) -> Option<usize> {
    let mut i = *scanned;
    loop {
        let Some(p) = memchr::memchr2(q, b'\n', &data[i..]) else {
            *scanned = data.len();
            return None;
        };
        i += p;
        if data[i] == q {
            *in_quote = !*in_quote;
        } else if !*in_quote {
            *scanned = i;
            return Some(i);
        }
        i += 1;
    }
}

/// The end of an ESCAPE record: a `\n` not preceded by an escaping
/// backslash.
fn find_escaped_end(data: &[u8], scanned: &mut usize) -> Option<usize> {
    let mut i = *scanned;
    loop {
        let Some(p) = memchr::memchr2(b'\\', b'\n', &data[i..]) else {
            *scanned = data.len();
            return None;
        };
        i += p;
        if data[i] == b'\n' {
            *scanned = i;
            return Some(i);
        }
        if i + 1 >= data.len() {
            // A backslash at the end of the buffer: look again with more.
            *scanned = i;
            return None;
        }
        i += 2;
    }
}

impl Proc {
    #[allow(clippy::too_many_arguments)]
    fn reject(
        &self,
        rejected: &mut Vec<Rejected>,
        line: u64,
        col: Option<usize>,
        raw_line: &[u8],
        raw_field: &[u8],
        e: ConvErr,
    ) {
        let spec = col.and_then(|c| self.conv.cols.get(c));
        rejected.push(Rejected {
            line_number: line,
            column: spec.map(|c| c.name.clone()).unwrap_or_default(),
            col_type: spec.map(|c| c.type_name.to_string()).unwrap_or_default(),
            col_length: spec.map(|c| c.length.clone()).unwrap_or_default(),
            position: e.pos,
            raw_line: clip(raw_line),
            raw_field_value: clip(raw_field),
            err_code: e.code,
            err_reason: e.reason,
        });
    }

    fn text_record(&mut self, rec: &[u8], line: u64, rejected: &mut Vec<Rejected>) {
        let ncols = self.conv.cols.len();
        let split = match &self.mode {
            Mode::Delimited { delimiter } => text::split_delimited(
                rec,
                *delimiter,
                self.opts.escape,
                self.opts.remove_quotes,
                &mut self.fields,
                &mut self.fbuf,
            )
            .map(|()| (self.fields.len(), false))
            .map_err(|_| "Invalid quote formatting for REMOVEQUOTES"),
            Mode::Csv { delimiter, quote } => {
                text::split_csv(rec, *delimiter, *quote, &mut self.fields, &mut self.fbuf)
                    .map(|()| (self.fields.len(), false))
                    .map_err(|_| "Invalid quote formatting for CSV")
            }
            Mode::Fixed { widths } => {
                self.fbuf.clear();
                Ok(text::split_fixed(rec, widths, &mut self.fields))
            }
            Mode::Json(_) => return,
        };
        let (nf, extra) = match split {
            Ok(x) => x,
            Err(reason) => {
                self.reject(
                    rejected,
                    line,
                    None,
                    rec,
                    rec,
                    ConvErr::new(1214, reason, 0),
                );
                return;
            }
        };
        if nf > ncols || extra {
            let last = self.fields.get(ncols).map_or(&[][..], |f| f.raw(rec));
            let col = ncols.checked_sub(1);
            self.reject(
                rejected,
                line,
                col,
                rec,
                last,
                ConvErr::new(1202, "Extra column(s) found", 0),
            );
            return;
        }
        if nf < ncols && !self.opts.fill_record {
            let col = nf.saturating_sub(1);
            let raw = self.fields.get(col).map_or(&[][..], |f| f.raw(rec));
            let pos = raw.len();
            self.reject(
                rejected,
                line,
                Some(col),
                rec,
                raw,
                ConvErr::new(1214, "Delimiter not found", pos),
            );
            return;
        }
        self.vals.clear();
        self.row.clear();
        let fixed = matches!(self.mode, Mode::Fixed { .. });
        for c in 0..ncols {
            let (input, raw) = match self.fields.get(c) {
                Some(f) => {
                    let v = f.value(rec, &self.fbuf);
                    let raw = f.raw(rec);
                    let candidate = if fixed { trim_end(v) } else { v };
                    let is_null = !f.quoted
                        && (raw == self.null_as.as_slice() || candidate == self.null_as.as_slice());
                    (if is_null { Input::Null } else { Input::Text(v) }, raw)
                }
                // FILLRECORD: a missing trailing field is an empty one.
                None => (Input::Text(&[]), &[][..]),
            };
            match self.conv.convert(c, input, &mut self.row) {
                Ok(v) => {
                    if v == Val::Null && !self.conv.cols[c].nullable {
                        self.reject(
                            rejected,
                            line,
                            Some(c),
                            rec,
                            raw,
                            ConvErr::new(1213, "Missing data for not-null field", 0),
                        );
                        return;
                    }
                    self.vals.push(v);
                }
                Err(e) => {
                    self.reject(rejected, line, Some(c), rec, raw, e);
                    return;
                }
            }
        }
        self.builders.append_row(&self.vals, &self.row);
    }

    fn json_malformed(
        &self,
        rec: &[u8],
        line: u64,
        at: usize,
        reason: &str,
        rejected: &mut Vec<Rejected>,
    ) {
        self.reject(
            rejected,
            line,
            None,
            rec,
            &[],
            ConvErr::new(1216, reason, at),
        );
    }

    /// Scans one record at `data[0]` and processes it; returns its length.
    /// An error at or past `data.len()` means the record is incomplete.
    fn json_record(
        &mut self,
        data: &[u8],
        rejected: &mut Vec<Rejected>,
        newlines_before: u64,
    ) -> Result<usize, JsonErr> {
        let Mode::Json(mapping) = &self.mode else {
            return Ok(data.len());
        };
        for s in self.slots.iter_mut() {
            *s = None;
        }
        let line_of = |n: usize| last_line(newlines_before, &data[..n]);
        match mapping {
            JsonMapping::Auto { ignore_case } if data[0] == b'{' => {
                let ic = *ignore_case;
                let cols = &self.conv.cols;
                let slots = &mut self.slots;
                let keybuf = &mut self.keybuf;
                let mut hint = 0usize;
                let end = json::members(data, 0, |key, esc, v| {
                    let n = cols.len();
                    for k in 0..n {
                        let c = (hint + k) % n;
                        if json::key_matches(key, esc, &cols[c].name, ic, keybuf) {
                            slots[c] = Some(v);
                            hint = c + 1;
                            break;
                        }
                    }
                })?;
                let rec = &data[..end];
                self.json_row(rec, line_of(end), rejected);
                Ok(end)
            }
            JsonMapping::Auto { .. } => {
                let mut sc = json::Scanner::new(data);
                let v = sc.value(0)?;
                let rec = &data[..v.end];
                self.json_malformed(
                    rec,
                    line_of(v.end),
                    0,
                    "Invalid JSONPath format: a top-level array needs a JSONPaths file",
                    rejected,
                );
                Ok(v.end)
            }
            JsonMapping::Paths(paths) => {
                let mut sc = json::Scanner::new(data);
                let root = sc.value(0)?;
                let rec = &data[..root.end];
                for (c, path) in paths.iter().enumerate() {
                    match json::follow(rec, root, path, &mut self.keybuf)? {
                        Ok(span) => {
                            if let Some(slot) = self.slots.get_mut(c) {
                                *slot = span;
                            }
                        }
                        Err(msg) => {
                            let line = line_of(root.end);
                            self.reject(
                                rejected,
                                line,
                                Some(c),
                                rec,
                                &[],
                                ConvErr::new(1216, msg, 0),
                            );
                            return Ok(root.end);
                        }
                    }
                }
                self.json_row(rec, line_of(root.end), rejected);
                Ok(root.end)
            }
        }
    }

    /// Converts the values found in `slots` and appends the row.
    fn json_row(&mut self, rec: &[u8], line: u64, rejected: &mut Vec<Rejected>) {
        self.vals.clear();
        self.row.clear();
        self.absent.clear();
        for c in 0..self.conv.cols.len() {
            let slot = self.slots.get(c).copied().flatten();
            if slot.is_none() {
                self.absent.push(c);
            }
            let raw = slot.map_or(&[][..], |s| &rec[s.start..s.end]);
            let input = match slot {
                None => Input::Null,
                Some(s) => match s.kind {
                    Kind::Null => Input::Null,
                    Kind::String { escaped } => {
                        let text = if escaped {
                            self.dec.clear();
                            json::decode_string(raw, &mut self.dec);
                            &self.dec[..]
                        } else {
                            &raw[1..raw.len() - 1]
                        };
                        Input::Json {
                            raw,
                            text,
                            kind: crate::convert::JsonKind::String,
                        }
                    }
                    k => Input::Json {
                        raw,
                        text: raw,
                        kind: k.json_kind().unwrap_or(crate::convert::JsonKind::Composite),
                    },
                },
            };
            match self.conv.convert(c, input, &mut self.row) {
                Ok(v) => {
                    if v == Val::Null && !self.conv.cols[c].nullable {
                        self.reject(
                            rejected,
                            line,
                            Some(c),
                            rec,
                            raw,
                            ConvErr::new(1213, "Missing data for not-null field", 0),
                        );
                        return;
                    }
                    self.vals.push(v);
                }
                Err(e) => {
                    self.reject(rejected, line, Some(c), rec, raw, e);
                    return;
                }
            }
        }
        if !self.absent.is_empty() {
            let ncols = self.conv.cols.len();
            if self.missing.len() < ncols {
                self.missing.resize(ncols, Vec::new());
            }
            let row = self.builders.rows as u32;
            for &c in &self.absent {
                self.missing[c].push(row);
            }
        }
        self.builders.append_row(&self.vals, &self.row);
    }
}

/// The 1-based line of the last byte of `rec`, which starts after
/// `newlines_before` newlines.
fn last_line(newlines_before: u64, rec: &[u8]) -> u64 {
    let body = &rec[..rec.len().saturating_sub(1)];
    newlines_before + 1 + memchr::memchr_iter(b'\n', body).count() as u64
}

fn trim_end(s: &[u8]) -> &[u8] {
    let mut e = s.len();
    while e > 0 && matches!(s[e - 1], b' ' | b'\t') {
        e -= 1;
    }
    &s[..e]
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Parsed, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.init_error.take() {
            self.done = true;
            return Some(Err(e));
        }
        if let Err(e) = self.skip_header() {
            self.done = true;
            return Some(Err(e));
        }
        let mut rejected = Vec::new();
        let mut at_end = false;
        while self.p.builders.rows < self.batch_rows && rejected.len() < self.batch_rows {
            match self.step(&mut rejected) {
                Ok(true) => {}
                Ok(false) => {
                    at_end = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        if at_end {
            self.done = true;
            if self.p.builders.rows == 0 && rejected.is_empty() {
                return None;
            }
        }
        let batch = match self.p.builders.finish() {
            Ok(b) => b,
            Err(e) => {
                self.done = true;
                return Some(Err(FormatError::InvalidOption(format!(
                    "internal error building a batch: {e}"
                ))));
            }
        };
        Some(Ok(Parsed {
            batch,
            rejected,
            lines_scanned: self.src.lines(),
            missing: std::mem::take(&mut self.p.missing),
        }))
    }
}
