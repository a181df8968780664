//! DATEFORMAT / TIMEFORMAT strings and `'auto'` recognition.
//!
//! A format string compiles once per COPY into a token list ([`Pattern`]);
//! values are matched against it byte by byte. `'auto'` first tries a fast
//! ISO 8601 path (`2024-01-07T23:59:59.999Z`, `2008-01-25 14:30:00`), then a
//! tokenizing recogniser for the other shapes Redshift's automatic
//! recognition documents (month names, `MM/DD/YYYY`, `YYYYMMDD HHMISS`,
//! `YYYY.DDD`, Julian days, time-zone names and offsets).

use crate::FormatError;
use chrono::{Datelike, NaiveDate};

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Meridian,
    Space,
    Lit(u8),
}

impl Tok {
    fn is_time(self) -> bool {
        matches!(
            self,
            Tok::Hour24 | Tok::Hour12 | Tok::Minute | Tok::Second | Tok::Meridian
        )
    }
}

/// A compiled DATEFORMAT or TIMEFORMAT string.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    toks: Vec<Tok>,
}

/// The broken-down value a parse produces.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
    pm: Option<bool>,
    /// Offset east of UTC, in seconds.
    offset: Option<i32>,
    bc: bool,
}

impl Parts {
    fn date(&self) -> Option<NaiveDate> {
        let year = if self.bc { 1 - self.year } else { self.year };
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }

    fn days(&self) -> Option<i32> {
        Some(self.date()?.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
    }

    fn hour24(&self) -> Option<u32> {
        match self.pm {
            None => (self.hour < 24).then_some(self.hour),
            Some(pm) => {
                if self.hour == 0 || self.hour > 12 {
                    return None;
                }
                Some(self.hour % 12 + if pm { 12 } else { 0 })
            }
        }
    }

    fn time_micros(&self) -> Option<i64> {
        let h = self.hour24()?;
        // 24:00:00 and leap seconds are refused, as PostgreSQL refuses 60s.
        if self.minute > 59 || self.second > 59 {
            return None;
        }
        Some(
            (i64::from(h) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second))
                * MICROS_PER_SEC
                + i64::from(self.micros),
        )
    }

    /// Microseconds since the epoch; `apply_offset` converts to UTC.
    fn timestamp(&self, apply_offset: bool) -> Option<i64> {
        let days = i64::from(self.days()?);
        let mut t = days
            .checked_mul(MICROS_PER_DAY)?
            .checked_add(self.time_micros()?)?;
        if apply_offset && let Some(off) = self.offset {
            t = t.checked_sub(i64::from(off) * MICROS_PER_SEC)?;
        }
        Some(t)
    }
}

fn compile(fmt: &str, what: &str) -> Result<Pattern, FormatError> {
    let b = fmt.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let invalid = || FormatError::InvalidOption(format!("Invalid {what} format string '{fmt}'"));
    while i < b.len() {
        let rest = &b[i..];
        let starts =
            |p: &str| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        let (tok, n) = if starts("YYYY") {
            (Tok::Year4, 4)
        } else if starts("YY") {
            (Tok::Year2, 2)
        } else if starts("MONTH") {
            (Tok::MonthName, 5)
        } else if starts("MON") {
            (Tok::MonthName, 3)
        } else if starts("MM") {
            (Tok::Month, 2)
        } else if starts("MI") {
            (Tok::Minute, 2)
        } else if starts("DD") {
            (Tok::Day, 2)
        } else if starts("HH24") {
            (Tok::Hour24, 4)
        } else if starts("HH12") {
            (Tok::Hour12, 4)
        } else if starts("HH") {
            (Tok::Hour24, 2)
        } else if starts("SS") {
            (Tok::Second, 2)
        } else if starts("AM") || starts("PM") {
            (Tok::Meridian, 2)
        } else if starts("TZ") || starts("OF") {
            return Err(FormatError::InvalidOption(format!(
                "Time zone identifiers (TZ, tz or OF) are not allowed in {what} format string '{fmt}'"
            )));
        } else if rest[0].is_ascii_alphabetic() {
            return Err(invalid());
        } else if rest[0] == b' ' {
            (Tok::Space, 1)
        } else {
            (Tok::Lit(rest[0]), 1)
        };
        if !(tok == Tok::Space && toks.last() == Some(&Tok::Space)) {
            toks.push(tok);
        }
        i += n;
    }
    if toks.is_empty() {
        return Err(invalid());
    }
    Ok(Pattern { toks })
}

/// Reads up to `max` digits (at least one) at `*i`.
fn digits(s: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let start = *i;
    let mut v: u32 = 0;
    while *i < s.len() && *i - start < max && s[*i].is_ascii_digit() {
        v = v * 10 + u32::from(s[*i] - b'0');
        *i += 1;
    }
    (*i > start).then_some(v)
}

/// Reads `.ffffff` (any number of digits; the first six count).
fn fraction(s: &[u8], i: &mut usize) -> u32 {
    if *i + 1 < s.len() && s[*i] == b'.' && s[*i + 1].is_ascii_digit() {
        *i += 1;
        let mut v = 0;
        let mut n = 0;
        while *i < s.len() && s[*i].is_ascii_digit() {
            if n < 6 {
                v = v * 10 + u32::from(s[*i] - b'0');
                n += 1;
            }
            *i += 1;
        }
        while n < 6 {
            v *= 10;
            n += 1;
        }
        v
    } else {
        0
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_name(word: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| {
            let m = m.as_bytes();
            (word.len() == 3 && word.eq_ignore_ascii_case(&m[..3]))
                || word.eq_ignore_ascii_case(m)
                || (word.eq_ignore_ascii_case(b"sept") && m.starts_with(b"sep"))
        })
        .map(|p| p as u32 + 1)
}

fn alpha_run(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && s[j].is_ascii_alphabetic() {
        j += 1;
    }
    j
}

/// Reads a UTC offset: `Z`, `+HH`, `+HH:MM`, `+HHMM`, or a zone name.
fn offset(s: &[u8], i: &mut usize) -> Option<i32> {
    let c = *s.get(*i)?;
    if c == b'Z' || c == b'z' {
        *i += 1;
        return Some(0);
    }
    if c == b'+' || c == b'-' {
        let mut j = *i + 1;
        let start = j;
        let h = digits(s, &mut j, 2)?;
        let mut m = 0;
        if j - start == 2 {
            if s.get(j) == Some(&b':') {
                j += 1;
                m = digits(s, &mut j, 2)?;
            } else if s.get(j).is_some_and(u8::is_ascii_digit) {
                m = digits(s, &mut j, 2)?;
            }
        }
        if h > 15 || m > 59 {
            return None;
        }
        *i = j;
        let off = (h * 3600 + m * 60) as i32;
        return Some(if c == b'-' { -off } else { off });
    }
    let end = alpha_run(s, *i);
    let off = zone_name(&s[*i..end])?;
    *i = end;
    Some(off)
}

fn zone_name(w: &[u8]) -> Option<i32> {
    let h = |x: i32| Some(x * 3600);
    let lower = w.to_ascii_lowercase();
    match lower.as_slice() {
        b"utc" | b"gmt" | b"z" | b"ut" | b"zulu" => h(0),
        b"est" => h(-5),
        b"edt" => h(-4),
        b"cst" => h(-6),
        b"cdt" => h(-5),
        b"mst" => h(-7),
        b"mdt" => h(-6),
        b"pst" => h(-8),
        b"pdt" => h(-7),
        b"akst" => h(-9),
        b"akdt" => h(-8),
        b"hst" => h(-10),
        b"cet" => h(1),
        b"cest" => h(2),
        b"eet" => h(2),
        b"bst" => h(1),
        b"jst" => h(9),
        b"ist" => Some(5 * 3600 + 1800),
        _ => None,
    }
}

fn skip_spaces(s: &[u8], i: &mut usize) {
    while *i < s.len() && (s[*i] == b' ' || s[*i] == b'\t') {
        *i += 1;
    }
}

impl Pattern {
    /// Matches the whole of `s`; returns the parts and the index where
    /// unmatched input starts (the caller decides what may follow).
    fn parse(&self, s: &[u8]) -> Option<(Parts, usize)> {
        let mut p = Parts {
            month: 1,
            day: 1,
            ..Parts::default()
        };
        let mut i = 0;
        for (k, tok) in self.toks.iter().enumerate() {
            if i >= s.len() {
                // A value may stop before the time part of the format.
                if self.toks[k..]
                    .iter()
                    .all(|t| t.is_time() || matches!(t, Tok::Space | Tok::Lit(_)))
                {
                    return Some((p, i));
                }
                return None;
            }
            match tok {
                Tok::Year4 => p.year = digits(s, &mut i, 4)? as i32,
                Tok::Year2 => {
                    let y = digits(s, &mut i, 2)? as i32;
                    p.year = if y < 70 { 2000 + y } else { 1900 + y };
                }
                Tok::Month => p.month = digits(s, &mut i, 2)?,
                Tok::Day => p.day = digits(s, &mut i, 2)?,
                Tok::Hour24 => p.hour = digits(s, &mut i, 2)?,
                Tok::Hour12 => {
                    p.hour = digits(s, &mut i, 2)?;
                    p.pm.get_or_insert(false);
                }
                Tok::Minute => p.minute = digits(s, &mut i, 2)?,
                Tok::Second => {
                    p.second = digits(s, &mut i, 2)?;
                    p.micros = fraction(s, &mut i);
                }
                Tok::MonthName => {
                    let end = alpha_run(s, i);
                    p.month = month_name(&s[i..end])?;
                    i = end;
                }
                Tok::Meridian => {
                    let end = alpha_run(s, i);
                    let w = &s[i..end];
                    let pm = if w.eq_ignore_ascii_case(b"am") {
                        false
                    } else if w.eq_ignore_ascii_case(b"pm") {
                        true
                    } else {
                        return None;
                    };
                    p.pm = Some(pm);
                    i = end;
                }
                Tok::Space => {
                    if s[i] != b' ' && s[i] != b'\t' && s[i] != b'T' {
                        return None;
                    }
                    i += 1;
                    skip_spaces(s, &mut i);
                }
                Tok::Lit(c) => {
                    if s[i] != *c {
                        return None;
                    }
                    i += 1;
                }
            }
        }
        Some((p, i))
    }
}

/// How DATE values are read.
#[derive(Debug, Clone)]
pub(crate) enum DateParser {
    Pattern(Pattern, String),
    Auto,
}

impl DateParser {
    pub(crate) fn new(fmt: Option<&str>) -> Result<DateParser, FormatError> {
        match fmt {
            None => Ok(DateParser::Pattern(
                compile("YYYY-MM-DD", "date")?,
                "YYYY-MM-DD".into(),
            )),
            Some("auto") => Ok(DateParser::Auto),
            Some(f) => Ok(DateParser::Pattern(compile(f, "date")?, f.to_string())),
        }
    }

    /// Days since 1970-01-01. A time part after the date is cut off.
    pub(crate) fn parse(&self, s: &[u8]) -> Option<i32> {
        match self {
            DateParser::Pattern(p, _) => {
                let (parts, i) = p.parse(s)?;
                let rest = &s[i..];
                let ok = rest.is_empty() || rest[0] == b' ' || rest[0] == b'T' || rest[0] == b'\t';
                if !ok {
                    return None;
                }
                parts.days()
            }
            DateParser::Auto => auto(s)?.days(),
        }
    }

    /// The reason text of error 1205 for `s`.
    pub(crate) fn error_reason(&self, s: &[u8]) -> String {
        match self {
            DateParser::Pattern(_, f) if f == "YYYY-MM-DD" && s.len() < 10 => {
                "Invalid Date Format - length must be 10 or more".to_string()
            }
            DateParser::Pattern(_, f) if f == "YYYY-MM-DD" => {
                "Invalid date format - Invalid digit encountered".to_string()
            }
            DateParser::Pattern(_, f) => format!("Date value did not match format specified [{f}]"),
            DateParser::Auto => "Invalid date format - Invalid digit encountered".to_string(),
        }
    }
}

/// How TIMESTAMP, TIMESTAMPTZ, TIME and TIMETZ values are read.
#[derive(Debug, Clone)]
pub(crate) enum TimestampParser {
    /// A format string (or the default); `with_tz` columns accept a
    /// trailing offset.
    Pattern(Pattern, String),
    Auto,
    EpochSecs,
    EpochMillis,
}

impl TimestampParser {
    pub(crate) fn new(fmt: Option<&str>, tz: bool) -> Result<TimestampParser, FormatError> {
        Ok(match fmt {
            None => {
                let f = if tz {
                    "YYYY-MM-DD HH24:MI:SSOF"
                } else {
                    "YYYY-MM-DD HH24:MI:SS"
                };
                TimestampParser::Pattern(compile("YYYY-MM-DD HH24:MI:SS", "time")?, f.into())
            }
            Some("auto") => TimestampParser::Auto,
            Some("epochsecs") => TimestampParser::EpochSecs,
            Some("epochmillisecs") => TimestampParser::EpochMillis,
            Some(f) => TimestampParser::Pattern(compile(f, "time")?, f.to_string()),
        })
    }

    fn parts(&self, s: &[u8]) -> Option<Parts> {
        match self {
            TimestampParser::Pattern(p, _) => {
                let (mut parts, mut i) = p.parse(s)?;
                skip_spaces(s, &mut i);
                if i < s.len() {
                    parts.offset = Some(offset(s, &mut i)?);
                    skip_spaces(s, &mut i);
                }
                (i == s.len()).then_some(parts)
            }
            TimestampParser::Auto => auto(s),
            TimestampParser::EpochSecs | TimestampParser::EpochMillis => None,
        }
    }

    fn epoch(&self, s: &[u8]) -> Option<i64> {
        let text = std::str::from_utf8(s).ok()?;
        let scale = match self {
            TimestampParser::EpochSecs => MICROS_PER_SEC,
            _ => 1000,
        };
        if let Ok(v) = text.parse::<i64>() {
            return v.checked_mul(scale);
        }
        let f: f64 = text.parse().ok()?;
        let v = (f * scale as f64).round();
        (v.is_finite() && v.abs() < 9.0e18).then_some(v as i64)
    }

    /// Microseconds since the epoch. `tz`: convert a given offset to UTC
    /// (TIMESTAMPTZ); otherwise an offset is ignored, as PostgreSQL does.
    pub(crate) fn timestamp(&self, s: &[u8], tz: bool) -> Option<i64> {
        match self {
            TimestampParser::EpochSecs | TimestampParser::EpochMillis => self.epoch(s),
            _ => self.parts(s)?.timestamp(tz),
        }
    }

    /// Microseconds since midnight (TIME, TIMETZ: converted to UTC).
    pub(crate) fn time(&self, s: &[u8], tz: bool) -> Option<i64> {
        if let Some(t) = time_of_day(s, tz) {
            return Some(t);
        }
        let t = self.timestamp(s, tz)?;
        Some(t.rem_euclid(MICROS_PER_DAY))
    }

    /// The reason text of error 1206.
    pub(crate) fn error_reason(&self) -> String {
        let f = match self {
            TimestampParser::Pattern(_, f) => f.as_str(),
            TimestampParser::Auto => "auto",
            TimestampParser::EpochSecs => "epochsecs",
            TimestampParser::EpochMillis => "epochmillisecs",
        };
        format!("Invalid timestamp format or value [{f}]")
    }
}

/// `HH:MI[:SS[.f]] [AM|PM] [offset]`.
fn time_of_day(s: &[u8], tz: bool) -> Option<i64> {
    let mut p = Parts::default();
    let mut i = 0;
    skip_spaces(s, &mut i);
    p.hour = digits(s, &mut i, 2)?;
    if s.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    p.minute = digits(s, &mut i, 2)?;
    if s.get(i) == Some(&b':') {
        i += 1;
        p.second = digits(s, &mut i, 2)?;
        p.micros = fraction(s, &mut i);
    }
    skip_spaces(s, &mut i);
    let end = alpha_run(s, i);
    let w = &s[i..end];
    if w.eq_ignore_ascii_case(b"am") || w.eq_ignore_ascii_case(b"pm") {
        p.pm = Some(w.eq_ignore_ascii_case(b"pm"));
        i = end;
        skip_spaces(s, &mut i);
    }
    if i < s.len() {
        p.offset = Some(offset(s, &mut i)?);
        skip_spaces(s, &mut i);
    }
    if i != s.len() {
        return None;
    }
    let mut t = p.time_micros()?;
    if tz && let Some(off) = p.offset {
        t = (t - i64::from(off) * MICROS_PER_SEC).rem_euclid(MICROS_PER_DAY);
    }
    Some(t)
}

/// Automatic recognition: the ISO fast path, then the general recogniser.
fn auto(s: &[u8]) -> Option<Parts> {
    let mut i = 0;
    skip_spaces(s, &mut i);
    let s = &s[i..];
    let mut end = s.len();
    while end > 0 && (s[end - 1] == b' ' || s[end - 1] == b'\t') {
        end -= 1;
    }
    let s = &s[..end];
    iso(s).or_else(|| general(s))
}

/// `YYYY-MM-DD[( |T)HH:MI[:SS[.f]]][ ][offset]`.
fn iso(s: &[u8]) -> Option<Parts> {
    if s.len() < 10 || s[4] != b'-' {
        return None;
    }
    let mut p = Parts::default();
    let mut i = 0;
    p.year = digits(s, &mut i, 4)? as i32;
    if i != 4 || s.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    p.month = digits(s, &mut i, 2)?;
    if s.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    p.day = digits(s, &mut i, 2)?;
    if i == s.len() {
        return Some(p);
    }
    if s[i] != b'T' && s[i] != b' ' {
        return None;
    }
    i += 1;
    skip_spaces(s, &mut i);
    p.hour = digits(s, &mut i, 2)?;
    if s.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    p.minute = digits(s, &mut i, 2)?;
    if s.get(i) == Some(&b':') {
        i += 1;
        p.second = digits(s, &mut i, 2)?;
        p.micros = fraction(s, &mut i);
    }
    skip_spaces(s, &mut i);
    if i < s.len() {
        p.offset = Some(offset(s, &mut i)?);
    }
    (i == s.len()).then_some(p)
}

#[derive(Debug, Clone, Copy)]
enum AutoTok<'a> {
    Num(u32, usize),
    Word(&'a [u8]),
}

/// The general recogniser: numbers, words, one `H:M[:S[.f]]` time and an
/// optional zone.
fn general(s: &[u8]) -> Option<Parts> {
    let mut p = Parts::default();
    // Julian day: J2451187.
    if s.len() > 1 && (s[0] == b'J' || s[0] == b'j') && s[1..].iter().all(u8::is_ascii_digit) {
        let mut i = 1;
        let n = digits(s, &mut i, 9)?;
        let date = NaiveDate::from_num_days_from_ce_opt(n as i32 - 1_721_425)?;
        p.year = date.year();
        p.month = date.month();
        p.day = date.day();
        return Some(p);
    }
    let mut toks: Vec<AutoTok> = Vec::new();
    let mut have_time = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() {
            let start = i;
            let v = digits(s, &mut i, 9)?;
            let nd = i - start;
            if s.get(i) == Some(&b':') && !have_time {
                // A time: H:M[:S[.f]]
                p.hour = v;
                i += 1;
                p.minute = digits(s, &mut i, 2)?;
                if s.get(i) == Some(&b':') {
                    i += 1;
                    p.second = digits(s, &mut i, 2)?;
                    p.micros = fraction(s, &mut i);
                }
                have_time = true;
                continue;
            }
            if nd == 4 && s.get(i) == Some(&b'.') && i + 4 == s.len() {
                // YYYY.DDD
                i += 1;
                let doy = digits(s, &mut i, 3)?;
                let date = NaiveDate::from_yo_opt(v as i32, doy)?;
                p.year = date.year();
                p.month = date.month();
                p.day = date.day();
                return (i == s.len()).then_some(p);
            }
            if nd == 6 && have_time_candidate(&toks) {
                // HHMISS after a YYYYMMDD / YYMMDD date.
                p.hour = v / 10000;
                p.minute = v / 100 % 100;
                p.second = v % 100;
                p.micros = fraction(s, &mut i);
                have_time = true;
                continue;
            }
            toks.push(AutoTok::Num(v, nd));
        } else if c.is_ascii_alphabetic() {
            let end = alpha_run(s, i);
            toks.push(AutoTok::Word(&s[i..end]));
            i = end;
        } else if (c == b'+' || c == b'-') && have_time {
            p.offset = Some(offset(s, &mut i)?);
        } else if matches!(c, b' ' | b'\t' | b'-' | b'/' | b'.' | b',') {
            i += 1;
        } else {
            return None;
        }
    }
    let mut nums: Vec<(u32, usize)> = Vec::new();
    let mut month: Option<u32> = None;
    for t in &toks {
        match *t {
            AutoTok::Num(v, n) => nums.push((v, n)),
            AutoTok::Word(w) => {
                if let Some(m) = month_name(w) {
                    if month.is_some() {
                        return None;
                    }
                    month = Some(m);
                } else if w.eq_ignore_ascii_case(b"am") || w.eq_ignore_ascii_case(b"pm") {
                    p.pm = Some(w.eq_ignore_ascii_case(b"pm"));
                } else if w.eq_ignore_ascii_case(b"bc") {
                    p.bc = true;
                } else if w.eq_ignore_ascii_case(b"ad")
                    || w.eq_ignore_ascii_case(b"t")
                    || weekday(w).is_some()
                {
                    // Era, date-time separator and day names carry nothing.
                } else if let Some(off) = zone_name(w) {
                    p.offset = Some(off);
                } else {
                    return None;
                }
            }
        }
    }
    let year2 = |v: u32| -> i32 {
        let y = v as i32;
        if y < 70 { 2000 + y } else { 1900 + y }
    };
    let year = |(v, n): (u32, usize)| -> i32 { if n <= 2 { year2(v) } else { v as i32 } };
    match (month, nums.as_slice()) {
        (Some(m), [a, b]) => {
            p.month = m;
            // The number that cannot be a day is the year; otherwise the
            // later one is.
            if a.1 >= 3 || a.0 > 31 {
                p.year = year(*a);
                p.day = b.0;
            } else {
                p.day = a.0;
                p.year = year(*b);
            }
        }
        (None, [(v, 8)]) => {
            p.year = (v / 10000) as i32;
            p.month = v / 100 % 100;
            p.day = v % 100;
        }
        (None, [(v, 6)]) => {
            p.year = year2(v / 10000);
            p.month = v / 100 % 100;
            p.day = v % 100;
        }
        (None, [a, b, c]) => {
            if a.1 >= 3 {
                p.year = year(*a);
                p.month = b.0;
                p.day = c.0;
            } else {
                // Month first (MDY), unless the first cannot be a month.
                let (m, d) = if a.0 > 12 { (b.0, a.0) } else { (a.0, b.0) };
                p.month = m;
                p.day = d;
                p.year = year(*c);
            }
        }
        _ => return None,
    }
    Some(p)
}

fn have_time_candidate(toks: &[AutoTok]) -> bool {
    matches!(toks, [AutoTok::Num(_, 8)] | [AutoTok::Num(_, 6)])
}

fn weekday(w: &[u8]) -> Option<u32> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    if w.len() < 3 {
        return None;
    }
    DAYS.iter()
        .position(|d| w[..3].eq_ignore_ascii_case(d.as_bytes()))
        .map(|p| p as u32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(fmt: Option<&str>, s: &str) -> Option<String> {
        let p = TimestampParser::new(fmt, false).unwrap();
        let t = p.timestamp(s.as_bytes(), true)?;
        Some(
            chrono::DateTime::from_timestamp_micros(t)
                .unwrap()
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string(),
        )
    }

    fn date(fmt: Option<&str>, s: &str) -> Option<String> {
        let p = DateParser::new(fmt).unwrap();
        let d = p.parse(s.as_bytes())?;
        Some(
            NaiveDate::from_num_days_from_ce_opt(d + UNIX_EPOCH_DAYS_FROM_CE)
                .unwrap()
                .to_string(),
        )
    }

    #[test]
    fn dateformat_strings_from_the_docs() {
        assert_eq!(date(None, "2008-01-01").as_deref(), Some("2008-01-01"));
        assert_eq!(
            date(None, "2008-01-01 10:11:12").as_deref(),
            Some("2008-01-01")
        );
        assert_eq!(
            date(Some("MM/DD/YYYY"), "03/31/2003").as_deref(),
            Some("2003-03-31")
        );
        assert_eq!(
            date(Some("MON DD, YYYY"), "March 31, 2003").as_deref(),
            Some("2003-03-31")
        );
        assert_eq!(
            date(Some("MON-DD-YYYY"), "Jan-01-1999").as_deref(),
            Some("1999-01-01")
        );
        assert_eq!(date(None, "2008-02-30"), None);
        assert_eq!(date(None, "20080101"), None);
        assert_eq!(
            date(Some("auto"), "20080101").as_deref(),
            Some("2008-01-01")
        );
    }

    #[test]
    fn timeformat_strings_from_the_docs() {
        assert_eq!(
            ts(Some("MM.DD.YYYY HH:MI:SS"), "03.31.2003 18:45:05").as_deref(),
            Some("2003-03-31 18:45:05")
        );
        assert_eq!(
            ts(Some("MM.DD.YYYY HH:MI:SS"), "03.31.2003 18:45:05.123456").as_deref(),
            Some("2003-03-31 18:45:05.123456")
        );
        assert_eq!(
            ts(Some("MM/DD/YYYY HH:MI:SS"), "2/18/2008 02:36:48").as_deref(),
            Some("2008-02-18 02:36:48")
        );
        assert_eq!(
            ts(Some("YYYY-MM-DD HH12:MI:SS AM"), "2008-02-18 02:36:48 PM").as_deref(),
            Some("2008-02-18 14:36:48")
        );
        assert_eq!(
            ts(None, "2008-01-25 14:30:00").as_deref(),
            Some("2008-01-25 14:30:00")
        );
        assert_eq!(
            ts(None, "2008-01-25").as_deref(),
            Some("2008-01-25 00:00:00")
        );
        assert_eq!(ts(None, "2008-01-25 25:30:00"), None);
        assert_eq!(
            ts(Some("epochsecs"), "1199145600").as_deref(),
            Some("2008-01-01 00:00:00")
        );
        assert_eq!(
            ts(Some("epochmillisecs"), "1199145600123").as_deref(),
            Some("2008-01-01 00:00:00.123")
        );
        assert!(TimestampParser::new(Some("YYYY-MM-DD HH:MI:SS TZ"), false).is_err());
        assert!(DateParser::new(Some("YYYY-QQ-DD")).is_err());
    }

    #[test]
    fn automatic_recognition_table() {
        let a = |s| ts(Some("auto"), s);
        assert_eq!(
            a("2019-02-11T05:09:12.195Z").as_deref(),
            Some("2019-02-11 05:09:12.195")
        );
        assert_eq!(a("J2451187").as_deref(), Some("1999-01-08 00:00:00"));
        assert_eq!(a("19960108 040809").as_deref(), Some("1996-01-08 04:08:09"));
        assert_eq!(a("960108 040809").as_deref(), Some("1996-01-08 04:08:09"));
        assert_eq!(a("1996.008").as_deref(), Some("1996-01-08 00:00:00"));
        assert_eq!(
            a("1996-01-08 04:05:06.789").as_deref(),
            Some("1996-01-08 04:05:06.789")
        );
        assert_eq!(
            a("17 Dec 07:37:16 1997 PST").as_deref(),
            Some("1997-12-17 15:37:16")
        );
        assert_eq!(
            a("12/17/1997 07:37:16.00 PST").as_deref(),
            Some("1997-12-17 15:37:16")
        );
        assert_eq!(
            a("1997-12-17 07:37:16-08").as_deref(),
            Some("1997-12-17 15:37:16")
        );
        assert_eq!(
            a("12.17.1997 07:37:16.00 PST").as_deref(),
            Some("1997-12-17 15:37:16")
        );
        assert!(a("Jan-08-95 BC").unwrap().ends_with("-01-08 00:00:00"));
        assert_eq!(a("not a date"), None);
    }
}
