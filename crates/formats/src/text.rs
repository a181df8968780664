//! Field splitting of text records: delimited (with ESCAPE and
//! REMOVEQUOTES), CSV and fixed-width.
//!
//! A splitter fills a list of [`FieldSpan`]s. A field that needed no
//! rewriting points into the record; one that lost quotes or escapes points
//! into the splitter's buffer.

/// One field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    /// Value bytes: `rec[start..end]`, or `buf[start..end]` when `in_buf`.
    pub start: usize,
    pub end: usize,
    pub in_buf: bool,
    /// The field's text in the record, quotes and escapes included.
    pub raw_start: usize,
    pub raw_end: usize,
    /// The value was quoted (CSV or REMOVEQUOTES): never NULL AS.
    pub quoted: bool,
}

impl FieldSpan {
    pub(crate) fn value<'a>(&self, rec: &'a [u8], buf: &'a [u8]) -> &'a [u8] {
        let src = if self.in_buf { buf } else { rec };
        src.get(self.start..self.end).unwrap_or(&[])
    }

    pub(crate) fn raw<'a>(&self, rec: &'a [u8]) -> &'a [u8] {
        rec.get(self.raw_start..self.raw_end).unwrap_or(&[])
    }
}

/// A record whose quoting is broken; `at` is the byte offset of the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuoteError {
    pub raw_start: usize,
}

/// Splits a delimited record (Redshift's default text format).
pub(crate) fn split_delimited(
    rec: &[u8],
    delim: u8,
    escape: bool,
    remove_quotes: bool,
    fields: &mut Vec<FieldSpan>,
    buf: &mut Vec<u8>,
) -> Result<(), QuoteError> {
    fields.clear();
    buf.clear();
    if !escape && !remove_quotes {
        let mut start = 0;
        for p in memchr::memchr_iter(delim, rec) {
            fields.push(FieldSpan {
                start,
                end: p,
                in_buf: false,
                raw_start: start,
                raw_end: p,
                quoted: false,
            });
            start = p + 1;
        }
        fields.push(FieldSpan {
            start,
            end: rec.len(),
            in_buf: false,
            raw_start: start,
            raw_end: rec.len(),
            quoted: false,
        });
        return Ok(());
    }
    let n = rec.len();
    let mut i = 0;
    loop {
        let raw_start = i;
        let bstart = buf.len();
        let mut quoted = false;
        if remove_quotes && i < n && (rec[i] == b'"' || rec[i] == b'\'') {
            let q = rec[i];
            quoted = true;
            i += 1;
            loop {
                if i >= n {
                    return Err(QuoteError { raw_start });
                }
                let c = rec[i];
                if escape && c == b'\\' && i + 1 < n {
                    buf.push(rec[i + 1]);
                    i += 2;
                    continue;
                }
                i += 1;
                if c == q {
                    break;
                }
                buf.push(c);
            }
            if i < n && rec[i] != delim {
                return Err(QuoteError { raw_start });
            }
        } else {
            while i < n && rec[i] != delim {
                if escape && rec[i] == b'\\' && i + 1 < n {
                    buf.push(rec[i + 1]);
                    i += 2;
                } else {
                    buf.push(rec[i]);
                    i += 1;
                }
            }
        }
        fields.push(FieldSpan {
            start: bstart,
            end: buf.len(),
            in_buf: true,
            raw_start,
            raw_end: i,
            quoted,
        });
        if i >= n {
            return Ok(());
        }
        i += 1;
    }
}

fn is_space(c: u8, delim: u8) -> bool {
    (c == b' ' || c == b'\t') && c != delim
}

/// Splits a CSV record: fields may be quoted with `quote`, a doubled quote
/// inside quotes is one quote, quoted text may hold the delimiter, CR and
/// LF; white space between a delimiter and a quote is ignored. A quote in
/// the middle of an unquoted field opens a quoted section (as PostgreSQL
/// reads it). An unclosed quote is an error.
pub(crate) fn split_csv(
    rec: &[u8],
    delim: u8,
    quote: u8,
    fields: &mut Vec<FieldSpan>,
    buf: &mut Vec<u8>,
) -> Result<(), QuoteError> {
    fields.clear();
    buf.clear();
    let n = rec.len();
    let mut i = 0;
    loop {
        let raw_start = i;
        // Leading white space before a quote is not data.
        let mut j = i;
        while j < n && is_space(rec[j], delim) {
            j += 1;
        }
        if j < n && rec[j] == quote {
            i = j;
        }
        // Fast path: an unquoted field without quotes.
        let seg_end = memchr::memchr2(delim, quote, &rec[i..]).map_or(n, |p| i + p);
        if seg_end == n || rec[seg_end] == delim {
            fields.push(FieldSpan {
                start: i,
                end: seg_end,
                in_buf: false,
                raw_start,
                raw_end: seg_end,
                quoted: false,
            });
            if seg_end >= n {
                return Ok(());
            }
            i = seg_end + 1;
            continue;
        }
        let bstart = buf.len();
        let mut quoted = false;
        let mut in_quote = false;
        while i < n {
            if in_quote {
                let Some(p) = memchr::memchr(quote, &rec[i..]) else {
                    return Err(QuoteError { raw_start });
                };
                buf.extend_from_slice(&rec[i..i + p]);
                i += p + 1;
                if i < n && rec[i] == quote {
                    buf.push(quote);
                    i += 1;
                } else {
                    in_quote = false;
                    // White space between a closing quote and the delimiter.
                    let mut j = i;
                    while j < n && is_space(rec[j], delim) {
                        j += 1;
                    }
                    if j == n || rec[j] == delim {
                        i = j;
                    }
                }
            } else {
                let p = memchr::memchr2(delim, quote, &rec[i..]).map_or(n, |p| i + p);
                buf.extend_from_slice(&rec[i..p]);
                i = p;
                if i >= n || rec[i] == delim {
                    break;
                }
                in_quote = true;
                quoted = true;
                i += 1;
            }
        }
        if in_quote {
            return Err(QuoteError { raw_start });
        }
        fields.push(FieldSpan {
            start: bstart,
            end: buf.len(),
            in_buf: true,
            raw_start,
            raw_end: i,
            quoted,
        });
        if i >= n {
            return Ok(());
        }
        i += 1;
    }
}

/// Length in bytes of the UTF-8 character starting with `b` (1 for an
/// invalid lead byte).
fn char_len(b: u8) -> usize {
    match b {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Splits a fixed-width record; widths count characters. Returns the
/// number of fields fully or partly present (a short record has fewer than
/// `widths.len()`), and whether non-blank text follows the last field.
pub(crate) fn split_fixed(
    rec: &[u8],
    widths: &[usize],
    fields: &mut Vec<FieldSpan>,
) -> (usize, bool) {
    fields.clear();
    let n = rec.len();
    let mut i = 0;
    for &w in widths {
        if i >= n {
            break;
        }
        let start = i;
        let mut k = 0;
        while k < w && i < n {
            i = (i + char_len(rec[i])).min(n);
            k += 1;
        }
        fields.push(FieldSpan {
            start,
            end: i,
            in_buf: false,
            raw_start: start,
            raw_end: i,
            quoted: false,
        });
    }
    let extra = rec[i.min(n)..]
        .iter()
        .any(|b| !matches!(b, b' ' | b'\t' | b'\r'));
    (fields.len(), extra)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn values(rec: &[u8], fields: &[FieldSpan], buf: &[u8]) -> Vec<String> {
        fields
            .iter()
            .map(|f| String::from_utf8_lossy(f.value(rec, buf)).into_owned())
            .collect()
    }

    fn csv(rec: &str) -> Result<Vec<String>, QuoteError> {
        let mut f = Vec::new();
        let mut b = Vec::new();
        split_csv(rec.as_bytes(), b',', b'"', &mut f, &mut b)?;
        Ok(values(rec.as_bytes(), &f, &b))
    }

    fn delimited(rec: &str, escape: bool, rq: bool) -> Result<Vec<String>, QuoteError> {
        let mut f = Vec::new();
        let mut b = Vec::new();
        split_delimited(rec.as_bytes(), b'|', escape, rq, &mut f, &mut b)?;
        Ok(values(rec.as_bytes(), &f, &b))
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            csv(r#""A ""quoted"" word",x"#).unwrap(),
            [r#"A "quoted" word"#, "x"]
        );
        assert_eq!(csv("\"a,b\nc\", \"d\" ,e").unwrap(), ["a,b\nc", "d", "e"]);
        assert_eq!(csv(r#""""#).unwrap(), [""]);
        assert_eq!(csv("a,").unwrap(), ["a", ""]);
        assert!(csv("\"abc").is_err());
        assert_eq!(csv(" a ").unwrap(), [" a "]);
    }

    #[test]
    fn delimited_escape_and_removequotes() {
        assert_eq!(delimited("a|b|c", false, false).unwrap(), ["a", "b", "c"]);
        assert_eq!(
            delimited("a\\|b|c\\\\", true, false).unwrap(),
            ["a|b", "c\\"]
        );
        assert_eq!(
            delimited("a\\\nb|\\012", true, false).unwrap(),
            ["a\nb", "012"]
        );
        assert_eq!(
            delimited("\"a|b\"|'c'|d\"", false, true).unwrap(),
            ["a|b", "c", "d\""]
        );
        assert!(delimited("\"ab|c", false, true).is_err());
        assert!(delimited("\"ab\"c|d", false, true).is_err());
    }

    #[test]
    fn fixed_width_counts_characters() {
        let rec = "1  é ab".as_bytes();
        let mut f = Vec::new();
        let (n, extra) = split_fixed(rec, &[3, 2, 2], &mut f);
        assert_eq!((n, extra), (3, false));
        assert_eq!(values(rec, &f, &[]), ["1  ", "é ", "ab"]);
        let (n, _) = split_fixed(b"12", &[1, 1, 1], &mut f);
        assert_eq!(n, 2);
    }
}
