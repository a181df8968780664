//! Redshift's COPY statement.
//!
//! `COPY table [(column, ...)] FROM 'source' authorization [[FORMAT] [AS]
//! format] [parameter [argument] ...]`. sqlparser knows PostgreSQL's COPY,
//! and DataFusion's own parser claims the keyword for `COPY ... TO`, so the
//! statement is read here from the raw tokens. String arguments are taken
//! as written (the tokenizer is asked not to unescape them): COPY gives
//! backslashes its own meaning (`DELIMITER '\t'`, `NULL AS '\N'`, octal
//! `'\011'`).
//!
//! The parser checks the grammar and the option combinations Redshift
//! refuses before any data is touched; what the options mean is the COPY
//! handler's business.

use datafusion::sql::sqlparser::ast::ObjectName;
use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::create_table::folded;

/// Why a COPY statement was refused.
#[derive(Debug)]
pub enum CopyError {
    /// Not COPY's grammar.
    Syntax(ParserError),
    /// Grammatical, but a value or a combination Redshift refuses.
    Invalid(String),
    /// A form Redshift has and Shale does not.
    Unsupported(String),
}

impl From<ParserError> for CopyError {
    fn from(e: ParserError) -> Self {
        CopyError::Syntax(e)
    }
}

/// How COPY is allowed to reach the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `IAM_ROLE 'arn'` (a comma-separated chain is allowed).
    IamRole(Vec<String>),
    /// `IAM_ROLE default`.
    IamRoleDefault,
    /// An access-key pair, from ACCESS_KEY_ID / SECRET_ACCESS_KEY or a
    /// CREDENTIALS string.
    Keys {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
}

/// The data format named by the statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DataFormat {
    /// Delimited text (Redshift's default).
    #[default]
    Text,
    Csv {
        quote: Option<String>,
    },
    FixedWidth(String),
    /// `JSON 'auto' | 'auto ignorecase' | 'noshred' | 's3://jsonpaths'`.
    Json(String),
    Avro(String),
    Parquet,
    Orc,
}

impl DataFormat {
    /// The name Redshift uses in messages and in `file_format` columns.
    pub fn name(&self) -> &'static str {
        match self {
            DataFormat::Text => "Text",
            DataFormat::Csv { .. } => "Text",
            DataFormat::FixedWidth(_) => "Text",
            DataFormat::Json(_) => "JSON",
            DataFormat::Avro(_) => "Avro",
            DataFormat::Parquet => "Parquet",
            DataFormat::Orc => "ORC",
        }
    }

    fn is_columnar(&self) -> bool {
        matches!(self, DataFormat::Parquet | DataFormat::Orc)
    }
}

/// Declared compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Bzip2,
    Zstd,
    Lzop,
}

/// A parsed COPY statement.
#[derive(Debug, Clone, Default)]
pub struct CopyStatement {
    pub table: Option<ObjectName>,
    /// The column list, folded; empty when none was given.
    pub columns: Vec<String>,
    /// The source as written: `s3://bucket/prefix` (or another scheme,
    /// which the handler refuses).
    pub source: String,
    pub authorization: Option<Authorization>,
    pub format: DataFormat,
    /// DELIMITER, decoded.
    pub delimiter: Option<String>,
    pub compression: Compression,
    pub manifest: bool,
    pub region: Option<String>,
    pub encrypted: bool,
    // Data conversion.
    pub accept_any_date: bool,
    /// ACCEPTINVCHARS with its replacement (default `?`).
    pub accept_inv_chars: Option<String>,
    pub blanks_as_null: bool,
    pub date_format: Option<String>,
    pub empty_as_null: bool,
    pub encoding: Option<String>,
    pub escape: bool,
    pub explicit_ids: bool,
    pub fill_record: bool,
    pub ignore_blank_lines: bool,
    pub ignore_header: Option<u64>,
    /// NULL AS, decoded.
    pub null_as: Option<String>,
    pub remove_quotes: bool,
    pub round_ec: bool,
    pub time_format: Option<String>,
    pub trim_blanks: bool,
    pub truncate_columns: bool,
    // Load control.
    pub max_error: Option<u64>,
    pub ignore_all_errors: bool,
    pub no_load: bool,
    pub comp_rows: Option<u64>,
    pub serialize_to_json: bool,
}

/// Whether the tokens start a COPY statement.
pub fn is_copy(parser: &Parser<'_>) -> bool {
    matches!(&parser.peek_token_ref().token, Token::Word(w) if w.keyword == Keyword::COPY && w.quote_style.is_none())
}

/// Parses the statement text of one COPY.
pub fn parse(text: &str) -> Result<CopyStatement, CopyError> {
    let dialect = RedshiftSqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(raw_tokens(text)?);
    let copy = parse_tokens(&mut parser)?;
    if !matches!(parser.peek_token_ref().token, Token::EOF) {
        return parser
            .expected("end of COPY statement", parser.peek_token())
            .map_err(CopyError::Syntax);
    }
    Ok(copy)
}

/// The statement's tokens with string literals as written (no unescaping)
/// and quoted identifiers folded, as everywhere in Redshift.
pub(crate) fn raw_tokens(text: &str) -> Result<Vec<TokenWithSpan>, CopyError> {
    let dialect = RedshiftSqlDialect {};
    let mut tokens = Tokenizer::new(&dialect, text)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| CopyError::Syntax(ParserError::TokenizerError(e.to_string())))?;
    for t in &mut tokens {
        if let Token::Word(w) = &mut t.token
            && w.quote_style == Some('"')
        {
            w.value = w.value.to_lowercase();
        }
    }
    Ok(tokens)
}

fn parse_tokens(p: &mut Parser<'_>) -> Result<CopyStatement, CopyError> {
    p.expect_keyword(Keyword::COPY)?;
    let mut copy = CopyStatement::default();
    if p.peek_token_ref().token == Token::LParen {
        // COPY (query) TO ...: PostgreSQL's form, which Redshift rejects.
        return p
            .expected("a table name", p.peek_token())
            .map_err(CopyError::Syntax);
    }
    if let Token::Word(w) = &p.peek_token_ref().token
        && w.quote_style.is_none()
        && ["job"].contains(&w.value.to_ascii_lowercase().as_str())
    {
        return unsupported("COPY JOB");
    }
    copy.table = Some(p.parse_object_name(false)?);
    if p.consume_token(&Token::LParen) {
        loop {
            let ident = p.parse_identifier()?;
            copy.columns.push(folded(&ident));
            if p.consume_token(&Token::RParen) {
                break;
            }
            p.expect_token(&Token::Comma)?;
        }
    }
    p.expect_keyword(Keyword::FROM)?;
    let t = p.next_token();
    copy.source = match t.token {
        Token::SingleQuotedString(s) => unquote(&s),
        _ => {
            return p
                .expected("a quoted data source such as 's3://bucket/prefix'", t)
                .map_err(CopyError::Syntax);
        }
    };
    let mut auth = AuthParts::default();
    let mut seen_format = false;
    loop {
        let t = p.peek_token();
        let word = match &t.token {
            Token::EOF => break,
            Token::Comma => {
                p.next_token();
                continue;
            }
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => return p.expected("a COPY parameter", t).map_err(CopyError::Syntax),
        };
        p.next_token();
        match word.as_str() {
            w if AuthParts::is_auth_word(w) => auth.parse(p, w)?,
            "MASTER_SYMMETRIC_KEY" => {
                string_arg(p)?;
                return unsupported("MASTER_SYMMETRIC_KEY (client-side encrypted loads)");
            }
            "FORMAT" => {
                let _ = p.parse_keyword(Keyword::AS);
                let t = p.next_token();
                let name = match &t.token {
                    Token::Word(w) => w.value.to_ascii_uppercase(),
                    _ => return p.expected("a data format", t).map_err(CopyError::Syntax),
                };
                set_format(p, &mut copy, &mut seen_format, &name)?;
            }
            "CSV" | "JSON" | "AVRO" | "PARQUET" | "ORC" | "FIXEDWIDTH" => {
                set_format(p, &mut copy, &mut seen_format, &word)?;
            }
            "SHAPEFILE" => return unsupported("SHAPEFILE"),
            "QUOTE" => {
                let _ = p.parse_keyword(Keyword::AS);
                let q = decode_char_arg(&string_arg(p)?);
                match &mut copy.format {
                    DataFormat::Csv { quote } if quote.is_none() => *quote = Some(q),
                    _ => {
                        return invalid("QUOTE argument is only valid with the CSV format");
                    }
                }
            }
            "DELIMITER" => {
                let _ = p.parse_keyword(Keyword::AS);
                let d = decode_char_arg(&string_arg(p)?);
                if d.chars().count() != 1 {
                    return invalid("DELIMITER must be a single character");
                }
                set_once(&mut copy.delimiter, d, "DELIMITER")?;
            }
            "GZIP" => set_compression(&mut copy, Compression::Gzip)?,
            "BZIP2" => set_compression(&mut copy, Compression::Bzip2)?,
            "ZSTD" => set_compression(&mut copy, Compression::Zstd)?,
            "LZOP" => set_compression(&mut copy, Compression::Lzop)?,
            "MANIFEST" => copy.manifest = true,
            "REGION" => {
                let _ = p.parse_keyword(Keyword::AS);
                copy.region = Some(string_arg(p)?);
            }
            "ENCRYPTED" => {
                let _ = p.parse_keyword(Keyword::AUTO);
                copy.encrypted = true;
            }
            "ACCEPTANYDATE" => copy.accept_any_date = true,
            "ACCEPTINVCHARS" => {
                let _ = p.parse_keyword(Keyword::AS);
                let c = optional_string(p).map(|s| decode_char_arg(&s));
                copy.accept_inv_chars = Some(c.unwrap_or_else(|| "?".to_string()));
            }
            "BLANKSASNULL" => copy.blanks_as_null = true,
            "DATEFORMAT" => {
                let _ = p.parse_keyword(Keyword::AS);
                copy.date_format = Some(string_arg(p)?);
            }
            "TIMEFORMAT" => {
                let _ = p.parse_keyword(Keyword::AS);
                copy.time_format = Some(string_arg(p)?);
            }
            "EMPTYASNULL" => copy.empty_as_null = true,
            "ENCODING" => {
                let _ = p.parse_keyword(Keyword::AS);
                let t = p.next_token();
                let enc = match &t.token {
                    Token::Word(w) => w.value.to_ascii_uppercase(),
                    Token::SingleQuotedString(s) => s.to_ascii_uppercase(),
                    _ => return p.expected("an encoding", t).map_err(CopyError::Syntax),
                };
                if !["UTF8", "UTF16", "UTF16LE", "UTF16BE"].contains(&enc.as_str()) {
                    return invalid(&format!("invalid ENCODING {enc}"));
                }
                copy.encoding = Some(enc);
            }
            "ESCAPE" => copy.escape = true,
            "EXPLICIT_IDS" => copy.explicit_ids = true,
            "FILLRECORD" => copy.fill_record = true,
            "IGNOREBLANKLINES" => copy.ignore_blank_lines = true,
            "IGNOREHEADER" => {
                let _ = p.parse_keyword(Keyword::AS);
                copy.ignore_header = Some(number_arg(p)?);
            }
            "NULL" => {
                let _ = p.parse_keyword(Keyword::AS);
                copy.null_as = Some(decode_null(&string_arg(p)?));
            }
            "REMOVEQUOTES" => copy.remove_quotes = true,
            "ROUNDEC" => copy.round_ec = true,
            "TRIMBLANKS" => copy.trim_blanks = true,
            "TRUNCATECOLUMNS" => copy.truncate_columns = true,
            "MAXERROR" => {
                let _ = p.parse_keyword(Keyword::AS);
                let n = number_arg(p)?;
                if n > 100_000 {
                    return invalid("MAXERROR value must be between 0 and 100000");
                }
                copy.max_error = Some(n);
            }
            "IGNOREALLERRORS" => copy.ignore_all_errors = true,
            "NOLOAD" => copy.no_load = true,
            "COMPROWS" => {
                let n = number_arg(p)?;
                if !(1000..=2_147_483_647).contains(&n) {
                    return invalid("COMPROWS value must be between 1000 and 2147483647");
                }
                copy.comp_rows = Some(n);
            }
            "COMPUPDATE" => on_off(p, true)?,
            "STATUPDATE" => on_off(p, false)?,
            "READRATIO" => {
                number_arg(p)?;
            }
            "SERIALIZETOJSON" => copy.serialize_to_json = true,
            "SSH" => return unsupported("COPY from SSH"),
            _ => {
                return p.expected("a COPY parameter", t).map_err(CopyError::Syntax);
            }
        }
    }
    copy.authorization = auth.finish()?;
    check_combinations(&copy)?;
    Ok(copy)
}

/// The authorization parameters COPY and UNLOAD share, as they are read.
#[derive(Default)]
pub(crate) struct AuthParts {
    role: Option<Authorization>,
    id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
}

impl AuthParts {
    pub(crate) fn is_auth_word(word: &str) -> bool {
        matches!(
            word,
            "IAM_ROLE"
                | "ACCESS_KEY_ID"
                | "SECRET_ACCESS_KEY"
                | "SESSION_TOKEN"
                | "WITH"
                | "CREDENTIALS"
        )
    }

    fn any_keys(&self) -> bool {
        self.id.is_some() || self.secret.is_some() || self.token.is_some()
    }

    /// Reads the argument of `word` (already consumed).
    pub(crate) fn parse(&mut self, p: &mut Parser<'_>, word: &str) -> Result<(), CopyError> {
        match word {
            "IAM_ROLE" => {
                if self.role.is_some() || self.any_keys() {
                    return conflict("IAM_ROLE");
                }
                if p.parse_keyword(Keyword::DEFAULT) {
                    self.role = Some(Authorization::IamRoleDefault);
                } else {
                    let arns = string_arg(p)?;
                    self.role = Some(Authorization::IamRole(
                        arns.split(',').map(|s| s.trim().to_string()).collect(),
                    ));
                }
            }
            "WITH" | "CREDENTIALS" => {
                if word == "WITH" {
                    expect_word(p, "CREDENTIALS")?;
                }
                if self.role.is_some() || self.any_keys() {
                    return conflict("CREDENTIALS");
                }
                let _ = p.parse_keyword(Keyword::AS);
                self.role = Some(parse_credentials(&string_arg(p)?)?);
            }
            key => {
                if self.role.is_some() {
                    return conflict(key);
                }
                let slot = match key {
                    "ACCESS_KEY_ID" => &mut self.id,
                    "SECRET_ACCESS_KEY" => &mut self.secret,
                    _ => &mut self.token,
                };
                set_once(slot, string_arg(p)?, key)?;
            }
        }
        Ok(())
    }

    /// The authorization given, checked for completeness.
    pub(crate) fn finish(self) -> Result<Option<Authorization>, CopyError> {
        if !self.any_keys() {
            return Ok(self.role);
        }
        let (Some(access_key_id), Some(secret_access_key)) = (self.id, self.secret) else {
            return invalid(
                "ACCESS_KEY_ID and SECRET_ACCESS_KEY must both be given (SESSION_TOKEN needs both)",
            );
        };
        Ok(Some(Authorization::Keys {
            access_key_id,
            secret_access_key,
            session_token: self.token,
        }))
    }
}

fn set_format(
    p: &mut Parser<'_>,
    copy: &mut CopyStatement,
    seen: &mut bool,
    name: &str,
) -> Result<(), CopyError> {
    if *seen {
        return invalid("conflicting or redundant data format options");
    }
    *seen = true;
    copy.format = match name {
        "CSV" => {
            let quote = if p.parse_keyword(Keyword::QUOTE) {
                let _ = p.parse_keyword(Keyword::AS);
                Some(decode_char_arg(&string_arg(p)?))
            } else {
                None
            };
            DataFormat::Csv { quote }
        }
        "JSON" => {
            let _ = p.parse_keyword(Keyword::AS);
            DataFormat::Json(optional_string(p).unwrap_or_else(|| "auto".to_string()))
        }
        "AVRO" => {
            let _ = p.parse_keyword(Keyword::AS);
            DataFormat::Avro(optional_string(p).unwrap_or_else(|| "auto".to_string()))
        }
        "FIXEDWIDTH" => {
            let _ = p.parse_keyword(Keyword::AS);
            DataFormat::FixedWidth(string_arg(p)?)
        }
        "PARQUET" => DataFormat::Parquet,
        "ORC" => DataFormat::Orc,
        other => return invalid(&format!("unknown data format {other}")),
    };
    Ok(())
}

fn set_compression(copy: &mut CopyStatement, c: Compression) -> Result<(), CopyError> {
    if copy.compression != Compression::None && copy.compression != c {
        return invalid("conflicting compression options");
    }
    copy.compression = c;
    Ok(())
}

/// The combinations of options Redshift refuses.
fn check_combinations(c: &CopyStatement) -> Result<(), CopyError> {
    let fixed = matches!(c.format, DataFormat::FixedWidth(_));
    let csv = matches!(c.format, DataFormat::Csv { .. });
    let json = matches!(c.format, DataFormat::Json(_) | DataFormat::Avro(_));
    let columnar = c.format.is_columnar();
    if fixed && c.delimiter.is_some() {
        return invalid("DELIMITER cannot be used with FIXEDWIDTH");
    }
    if csv && (c.escape || c.remove_quotes) {
        return invalid("CSV cannot be used with ESCAPE or REMOVEQUOTES");
    }
    if fixed && c.escape {
        return invalid("ESCAPE cannot be used with FIXEDWIDTH");
    }
    if json {
        let bad = [
            (c.delimiter.is_some(), "DELIMITER"),
            (c.escape, "ESCAPE"),
            (c.fill_record, "FILLRECORD"),
            (c.ignore_blank_lines, "IGNOREBLANKLINES"),
            (c.null_as.is_some(), "NULL AS"),
            (c.remove_quotes, "REMOVEQUOTES"),
        ];
        if let Some((_, name)) = bad.iter().find(|(set, _)| *set) {
            return invalid(&format!(
                "{name} cannot be used with the {} format",
                c.format.name()
            ));
        }
    }
    if columnar {
        let bad = [
            (c.delimiter.is_some(), "DELIMITER"),
            (c.ignore_header.is_some(), "IGNOREHEADER"),
            (c.compression != Compression::None, "compression"),
            (c.ignore_all_errors, "IGNOREALLERRORS"),
            (c.null_as.is_some(), "NULL AS"),
            (c.escape, "ESCAPE"),
            (c.date_format.is_some(), "DATEFORMAT"),
            (c.time_format.is_some(), "TIMEFORMAT"),
            (c.fill_record, "FILLRECORD"),
            (c.remove_quotes, "REMOVEQUOTES"),
            (c.max_error.is_some(), "MAXERROR"),
        ];
        if let Some((_, name)) = bad.iter().find(|(set, _)| *set) {
            return invalid(&format!(
                "{name} argument is not supported for {} based COPY",
                c.format.name().to_ascii_uppercase()
            ));
        }
    }
    if c.ignore_all_errors && c.max_error.is_some() {
        return invalid("IGNOREALLERRORS cannot be used with MAXERROR");
    }
    Ok(())
}

/// Reads a CREDENTIALS string: `aws_iam_role=arn` or
/// `aws_access_key_id=..;aws_secret_access_key=..[;token=..]`.
fn parse_credentials(s: &str) -> Result<Authorization, CopyError> {
    let bad = || {
        CopyError::Invalid(
            "Invalid credentials. Must be of the format: credentials 'aws_access_key_id=<access-key-id>;aws_secret_access_key=<secret-access-key>[;token=<temporary-session-token>]'"
                .to_string(),
        )
    };
    if s.contains(char::is_whitespace) {
        return Err(bad());
    }
    let mut role = None;
    let mut id = None;
    let mut secret = None;
    let mut token = None;
    for part in s.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let slot = match k {
            "aws_iam_role" => &mut role,
            "aws_access_key_id" => &mut id,
            "aws_secret_access_key" => &mut secret,
            "token" => &mut token,
            "master_symmetric_key" => {
                return unsupported("master_symmetric_key (client-side encrypted loads)");
            }
            _ => return Err(bad()),
        };
        if slot.replace(v.to_string()).is_some() || v.is_empty() {
            return Err(bad());
        }
    }
    match (role, id, secret, token) {
        (Some(role), None, None, None) => Ok(Authorization::IamRole(
            role.split(',').map(str::to_string).collect(),
        )),
        (None, Some(access_key_id), Some(secret_access_key), session_token) => {
            Ok(Authorization::Keys {
                access_key_id,
                secret_access_key,
                session_token,
            })
        }
        _ => Err(bad()),
    }
}

fn conflict<T>(what: &str) -> Result<T, CopyError> {
    invalid(&format!(
        "{what} cannot be combined with the other authorization parameters: give exactly one of IAM_ROLE, ACCESS_KEY_ID and SECRET_ACCESS_KEY [SESSION_TOKEN], or CREDENTIALS"
    ))
}

pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), CopyError> {
    if slot.replace(value).is_some() {
        return invalid(&format!("conflicting or redundant options: {what}"));
    }
    Ok(())
}

pub(crate) fn invalid<T>(message: &str) -> Result<T, CopyError> {
    Err(CopyError::Invalid(message.to_string()))
}

pub(crate) fn unsupported<T>(what: &str) -> Result<T, CopyError> {
    Err(CopyError::Unsupported(format!("{what} is not supported")))
}

fn expect_word(p: &mut Parser<'_>, word: &str) -> Result<(), CopyError> {
    let t = p.next_token();
    match &t.token {
        Token::Word(w) if w.value.eq_ignore_ascii_case(word) => Ok(()),
        _ => p.expected(word, t).map_err(CopyError::Syntax),
    }
}

pub(crate) fn string_arg(p: &mut Parser<'_>) -> Result<String, CopyError> {
    let t = p.next_token();
    match t.token {
        Token::SingleQuotedString(s) => Ok(unquote(&s)),
        _ => p.expected("a quoted string", t).map_err(CopyError::Syntax),
    }
}

pub(crate) fn optional_string(p: &mut Parser<'_>) -> Option<String> {
    match &p.peek_token_ref().token {
        Token::SingleQuotedString(s) => {
            let s = unquote(s);
            p.next_token();
            Some(s)
        }
        _ => None,
    }
}

pub(crate) fn number_arg(p: &mut Parser<'_>) -> Result<u64, CopyError> {
    let t = p.next_token();
    match &t.token {
        Token::Number(n, _) => n
            .parse()
            .map_err(|_| CopyError::Invalid(format!("invalid number {n}"))),
        Token::SingleQuotedString(n) => n
            .parse()
            .map_err(|_| CopyError::Invalid(format!("invalid number {n}"))),
        _ => p.expected("a number", t).map_err(CopyError::Syntax),
    }
}

fn on_off(p: &mut Parser<'_>, preset: bool) -> Result<(), CopyError> {
    if let Token::Word(w) = &p.peek_token_ref().token {
        let v = w.value.to_ascii_uppercase();
        if ["ON", "OFF", "TRUE", "FALSE"].contains(&v.as_str()) || (preset && v == "PRESET") {
            p.next_token();
        }
    }
    Ok(())
}

/// A raw string token's text: doubled quotes undone, backslashes kept.
pub(crate) fn unquote(raw: &str) -> String {
    raw.replace("''", "'")
}

/// A one-character argument (DELIMITER, QUOTE, ACCEPTINVCHARS): `\t`, `\n`,
/// `\\`, octal `\ddd` and `\'` decoded.
pub(crate) fn decode_char_arg(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('t') => {
                chars.next();
                out.push('\t');
            }
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('r') => {
                chars.next();
                out.push('\r');
            }
            Some(d) if d.is_digit(8) => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 3
                    && let Some(d) = chars.peek().and_then(|c| c.to_digit(8))
                {
                    v = v * 8 + d;
                    chars.next();
                    n += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\0'));
            }
            Some(other) => {
                chars.next();
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// NULL AS: `\\` is a backslash; `\0` / `\000` stand for a field holding
/// one NUL; every other backslash is kept, so `'\N'` is the two characters
/// `\N`, Redshift's default null string.
pub(crate) fn decode_null(raw: &str) -> String {
    if raw == "\\0" || raw == "\\000" {
        return "\0".to_string();
    }
    raw.replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn airflow_template() {
        let sql = "\n                    COPY public.events (a, \"B\")\n                    FROM 's3://bucket/key'\n                    credentials\n                    'aws_access_key_id=AK;aws_secret_access_key=SK;token=T'\n                    region 'us-east-1'\n                    csv\n\t\t\tIGNOREHEADER 1\n\t\t\tGZIP;";
        let c = parse(sql.trim_end_matches(';')).unwrap();
        assert_eq!(c.columns, ["a", "b"]);
        assert_eq!(c.source, "s3://bucket/key");
        assert_eq!(
            c.authorization,
            Some(Authorization::Keys {
                access_key_id: "AK".into(),
                secret_access_key: "SK".into(),
                session_token: Some("T".into())
            })
        );
        assert_eq!(c.format, DataFormat::Csv { quote: None });
        assert_eq!(c.ignore_header, Some(1));
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn escapes_in_arguments() {
        let c = parse(
            r"copy t from 's3://b/p' iam_role default delimiter '\t' null as '\N' acceptinvchars as '^'",
        )
        .unwrap();
        assert_eq!(c.delimiter.as_deref(), Some("\t"));
        assert_eq!(c.null_as.as_deref(), Some("\\N"));
        assert_eq!(c.accept_inv_chars.as_deref(), Some("^"));
        assert_eq!(c.authorization, Some(Authorization::IamRoleDefault));
        let c = parse(r"copy t from 's3://b/p' iam_role 'arn:aws:iam::123456789012:role/r' delimiter '\011' null as '\\N'").unwrap();
        assert_eq!(c.delimiter.as_deref(), Some("\t"));
        assert_eq!(c.null_as.as_deref(), Some("\\N"));
    }

    #[test]
    fn formats() {
        let c = parse("copy t from 's3://b/p' iam_role default format as json 'auto ignorecase'")
            .unwrap();
        assert_eq!(c.format, DataFormat::Json("auto ignorecase".into()));
        let c = parse("copy t from 's3://b/p' iam_role default json").unwrap();
        assert_eq!(c.format, DataFormat::Json("auto".into()));
        let c = parse("copy t from 's3://b/p' iam_role default format parquet").unwrap();
        assert_eq!(c.format, DataFormat::Parquet);
        let c = parse("copy t from 's3://b/p' iam_role default csv quote as '%'").unwrap();
        assert_eq!(
            c.format,
            DataFormat::Csv {
                quote: Some("%".into())
            }
        );
    }

    #[test]
    fn refused_combinations() {
        for sql in [
            "copy t from 's3://b/p' iam_role default access_key_id 'a' secret_access_key 'b'",
            "copy t from 's3://b/p' access_key_id 'a'",
            "copy t from 's3://b/p' session_token 'x' iam_role default",
            "copy t from 's3://b/p' credentials 'aws_access_key_id=a' ",
            "copy t from 's3://b/p' credentials 'aws_iam_role=x;aws_access_key_id=a'",
            "copy t from 's3://b/p' iam_role default csv escape",
            "copy t from 's3://b/p' iam_role default fixedwidth 'a:1' delimiter ','",
            "copy t from 's3://b/p' iam_role default json 'auto' null as 'x'",
            "copy t from 's3://b/p' iam_role default quote '%'",
            "copy t from 's3://b/p' iam_role default parquet gzip",
            "copy t from 's3://b/p' iam_role default maxerror 100001",
            "copy t from 's3://b/p' iam_role default ignoreallerrors maxerror 3",
            "copy t from 's3://b/p' iam_role default bogus",
            "copy t from stdin",
            "copy (select 1) to 's3://b/p'",
        ] {
            assert!(parse(sql).is_err(), "{sql} should be refused");
        }
    }
}
