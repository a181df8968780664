//! Redshift's UNLOAD statement.
//!
//! `UNLOAD ('select ...') TO 's3://bucket/prefix' authorization [option ...]`.
//! The query is a string literal (quotes inside doubled, or backslash
//! escaped) or, as Airflow's RedshiftToS3Operator sends it, dollar-quoted.
//! Authorization is read as COPY reads it.

use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::copy::{
    AuthParts, Authorization, Compression, CopyError, decode_char_arg, decode_null, invalid,
    raw_tokens, set_once, string_arg, unquote, unsupported,
};

/// UNLOAD's output format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UnloadFormat {
    #[default]
    Text,
    Csv,
    FixedWidth(String),
    Json,
    Parquet,
}

/// A parsed UNLOAD statement.
#[derive(Debug, Clone, Default)]
pub struct UnloadStatement {
    /// The query, its quoting undone.
    pub query: String,
    pub to: String,
    pub authorization: Option<Authorization>,
    pub format: UnloadFormat,
    pub delimiter: Option<String>,
    pub null_as: Option<String>,
    pub header: bool,
    pub add_quotes: bool,
    pub escape: bool,
    pub compression: Compression,
    pub manifest: bool,
    pub manifest_verbose: bool,
    pub allow_overwrite: bool,
    pub clean_path: bool,
    /// PARALLEL, default on.
    pub parallel: bool,
    /// MAXFILESIZE in bytes.
    pub max_file_size: Option<u64>,
    /// ROWGROUPSIZE in bytes.
    pub row_group_size: Option<u64>,
    pub extension: Option<String>,
    pub partition_by: Vec<String>,
    pub partition_include: bool,
    pub region: Option<String>,
    pub encrypted: bool,
}

/// Whether the tokens start an UNLOAD statement.
pub fn is_unload(parser: &Parser<'_>) -> bool {
    matches!(&parser.peek_token_ref().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("unload"))
}

const MB: u64 = 1024 * 1024;

/// Parses the statement text of one UNLOAD.
pub fn parse(text: &str) -> Result<UnloadStatement, CopyError> {
    let dialect = RedshiftSqlDialect {};
    let mut p = Parser::new(&dialect).with_tokens_with_locations(raw_tokens(text)?);
    let mut u = UnloadStatement {
        parallel: true,
        ..Default::default()
    };
    p.next_token(); // UNLOAD
    p.expect_token(&Token::LParen)?;
    let t = p.next_token();
    u.query = match t.token {
        Token::SingleQuotedString(s) => unescape_query(&s),
        Token::DollarQuotedString(d) => d.value,
        _ => return p.expected("a quoted query", t).map_err(CopyError::Syntax),
    };
    p.expect_token(&Token::RParen)?;
    p.expect_keyword(Keyword::TO)?;
    u.to = string_arg(&mut p)?;
    let mut auth = AuthParts::default();
    let mut seen_format = false;
    loop {
        let t = p.peek_token();
        let word = match &t.token {
            Token::EOF => break,
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => {
                return p
                    .expected("an UNLOAD parameter", t)
                    .map_err(CopyError::Syntax);
            }
        };
        p.next_token();
        match word.as_str() {
            w if AuthParts::is_auth_word(w) => auth.parse(&mut p, w)?,
            "FORMAT" => {
                let _ = p.parse_keyword(Keyword::AS);
                let t = p.next_token();
                let name = match &t.token {
                    Token::Word(w) => w.value.to_ascii_uppercase(),
                    _ => return p.expected("a data format", t).map_err(CopyError::Syntax),
                };
                set_format(&mut p, &mut u, &mut seen_format, &name)?;
            }
            "CSV" | "JSON" | "PARQUET" | "FIXEDWIDTH" => {
                set_format(&mut p, &mut u, &mut seen_format, &word)?;
            }
            "PARTITION" => {
                p.expect_keyword(Keyword::BY)?;
                p.expect_token(&Token::LParen)?;
                loop {
                    let ident = p.parse_identifier()?;
                    u.partition_by.push(super::create_table::folded(&ident));
                    if p.consume_token(&Token::RParen) {
                        break;
                    }
                    p.expect_token(&Token::Comma)?;
                }
                if let Token::Word(w) = &p.peek_token_ref().token
                    && w.value.eq_ignore_ascii_case("include")
                {
                    p.next_token();
                    u.partition_include = true;
                }
            }
            "MANIFEST" => {
                u.manifest = true;
                if let Token::Word(w) = &p.peek_token_ref().token
                    && w.value.eq_ignore_ascii_case("verbose")
                {
                    p.next_token();
                    u.manifest_verbose = true;
                }
            }
            "HEADER" => u.header = true,
            "DELIMITER" => {
                let _ = p.parse_keyword(Keyword::AS);
                let d = decode_char_arg(&string_arg(&mut p)?);
                if d.chars().count() != 1 {
                    return invalid("DELIMITER must be a single character");
                }
                set_once(&mut u.delimiter, d, "DELIMITER")?;
            }
            "ADDQUOTES" => u.add_quotes = true,
            "NULL" => {
                let _ = p.parse_keyword(Keyword::AS);
                u.null_as = Some(decode_null(&string_arg(&mut p)?));
            }
            "ESCAPE" => u.escape = true,
            "GZIP" => set_compression(&mut u, Compression::Gzip)?,
            "BZIP2" => set_compression(&mut u, Compression::Bzip2)?,
            "ZSTD" => set_compression(&mut u, Compression::Zstd)?,
            "ALLOWOVERWRITE" => u.allow_overwrite = true,
            "CLEANPATH" => u.clean_path = true,
            "PARALLEL" => {
                if let Token::Word(w) = &p.peek_token_ref().token {
                    match w.value.to_ascii_uppercase().as_str() {
                        "ON" | "TRUE" => {
                            p.next_token();
                            u.parallel = true;
                        }
                        "OFF" | "FALSE" => {
                            p.next_token();
                            u.parallel = false;
                        }
                        _ => {}
                    }
                }
            }
            "MAXFILESIZE" => {
                let _ = p.parse_keyword(Keyword::AS);
                let bytes = size_arg(&mut p)?;
                if !(5 * MB..=6_200 * MB).contains(&bytes) {
                    return invalid("MAXFILESIZE must be between 5 MB and 6.2 GB");
                }
                u.max_file_size = Some(bytes);
            }
            "ROWGROUPSIZE" => {
                let _ = p.parse_keyword(Keyword::AS);
                let bytes = size_arg(&mut p)?;
                if !(32 * MB..=128 * MB).contains(&bytes) {
                    return invalid("ROWGROUPSIZE must be between 32 MB and 128 MB");
                }
                u.row_group_size = Some(bytes);
            }
            "EXTENSION" => {
                let _ = p.parse_keyword(Keyword::AS);
                u.extension = Some(string_arg(&mut p)?);
            }
            "REGION" => {
                let _ = p.parse_keyword(Keyword::AS);
                u.region = Some(string_arg(&mut p)?);
            }
            "ENCRYPTED" => {
                let _ = p.parse_keyword(Keyword::AUTO);
                u.encrypted = true;
            }
            "KMS_KEY_ID" | "MASTER_SYMMETRIC_KEY" => {
                string_arg(&mut p)?;
                return unsupported(&format!("UNLOAD with {word}"));
            }
            _ => {
                return p
                    .expected("an UNLOAD parameter", t)
                    .map_err(CopyError::Syntax);
            }
        }
    }
    u.authorization = auth.finish()?;
    check_combinations(&u)?;
    Ok(u)
}

fn set_format(
    p: &mut Parser<'_>,
    u: &mut UnloadStatement,
    seen: &mut bool,
    name: &str,
) -> Result<(), CopyError> {
    if *seen {
        return invalid("conflicting or redundant data format options");
    }
    *seen = true;
    u.format = match name {
        "CSV" => UnloadFormat::Csv,
        "JSON" => UnloadFormat::Json,
        "PARQUET" => UnloadFormat::Parquet,
        "FIXEDWIDTH" => {
            let _ = p.parse_keyword(Keyword::AS);
            UnloadFormat::FixedWidth(string_arg(p)?)
        }
        other => return invalid(&format!("unknown UNLOAD format {other}")),
    };
    Ok(())
}

fn set_compression(u: &mut UnloadStatement, c: Compression) -> Result<(), CopyError> {
    if u.compression != Compression::None && u.compression != c {
        return invalid("conflicting compression options");
    }
    u.compression = c;
    Ok(())
}

/// `n [MB | GB]`, in bytes (MB when no unit is given).
fn size_arg(p: &mut Parser<'_>) -> Result<u64, CopyError> {
    let t = p.next_token();
    let value: f64 = match &t.token {
        Token::Number(n, _) => n
            .parse()
            .map_err(|_| CopyError::Invalid(format!("invalid size {n}")))?,
        _ => return p.expected("a size", t).map_err(CopyError::Syntax),
    };
    let unit = match &p.peek_token_ref().token {
        Token::Word(w) if w.value.eq_ignore_ascii_case("gb") => 1024.0,
        Token::Word(w) if w.value.eq_ignore_ascii_case("mb") => 1.0,
        _ => {
            return Ok((value * MB as f64) as u64);
        }
    };
    p.next_token();
    Ok((value * unit * MB as f64) as u64)
}

/// The combinations Redshift refuses.
fn check_combinations(u: &UnloadStatement) -> Result<(), CopyError> {
    let refuse =
        |what: &str, with: &str| invalid::<()>(&format!("{what} cannot be used with {with}"));
    match &u.format {
        UnloadFormat::Parquet => {
            for (set, name) in [
                (u.delimiter.is_some(), "DELIMITER"),
                (u.add_quotes, "ADDQUOTES"),
                (u.escape, "ESCAPE"),
                (u.null_as.is_some(), "NULL AS"),
                (u.header, "HEADER"),
                (u.compression != Compression::None, "compression"),
            ] {
                if set {
                    return refuse(name, "PARQUET");
                }
            }
        }
        UnloadFormat::Json => {
            for (set, name) in [
                (u.delimiter.is_some(), "DELIMITER"),
                (u.add_quotes, "ADDQUOTES"),
                (u.escape, "ESCAPE"),
                (u.null_as.is_some(), "NULL AS"),
                (u.header, "HEADER"),
            ] {
                if set {
                    return refuse(name, "JSON");
                }
            }
        }
        UnloadFormat::FixedWidth(_) => {
            for (set, name) in [(u.delimiter.is_some(), "DELIMITER"), (u.header, "HEADER")] {
                if set {
                    return refuse(name, "FIXEDWIDTH");
                }
            }
        }
        UnloadFormat::Csv => {
            if u.add_quotes {
                return refuse("ADDQUOTES", "CSV");
            }
            if u.escape {
                return refuse("ESCAPE", "CSV");
            }
        }
        UnloadFormat::Text => {}
    }
    if u.allow_overwrite && u.clean_path {
        return refuse("CLEANPATH", "ALLOWOVERWRITE");
    }
    if u.manifest_verbose && !u.manifest {
        return invalid("VERBOSE needs MANIFEST");
    }
    if u.row_group_size.is_some() && u.format != UnloadFormat::Parquet {
        return invalid("ROWGROUPSIZE is only valid with PARQUET");
    }
    Ok(())
}

/// The query literal's text: doubled quotes and backslash escapes undone.
fn unescape_query(raw: &str) -> String {
    let raw = unquote(raw);
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn quoting_forms() {
        let u = parse("unload ('select * from venue where venuestate=''NV''') to 's3://b/venue_' iam_role default").unwrap();
        assert_eq!(u.query, "select * from venue where venuestate='NV'");
        assert_eq!(u.to, "s3://b/venue_");
        assert!(u.parallel);
        let u = parse(r"unload ('select * from venue where venuestate=\'NV\'') to 's3://b/v' iam_role default").unwrap();
        assert_eq!(u.query, "select * from venue where venuestate='NV'");
        let airflow = "\n                    UNLOAD ($$SELECT * FROM s.t WHERE a = 'x'$$)\n                    TO 's3://bucket/key/t_'\n                    credentials\n                    'aws_access_key_id=AK;aws_secret_access_key=SK'\n                    HEADER\n\t\t\tPARALLEL OFF\n";
        let u = parse(airflow).unwrap();
        assert_eq!(u.query, "SELECT * FROM s.t WHERE a = 'x'");
        assert!(u.header && !u.parallel);
    }

    #[test]
    fn options() {
        let u = parse(r"unload ('select 1') to 's3://b/p_' iam_role 'arn:aws:iam::123456789012:role/r' delimiter as '\t' manifest verbose allowoverwrite gzip maxfilesize 10 mb null as '\N' addquotes escape extension 'txt.gz'").unwrap();
        assert_eq!(u.delimiter.as_deref(), Some("\t"));
        assert!(u.manifest && u.manifest_verbose && u.allow_overwrite && u.add_quotes && u.escape);
        assert_eq!(u.max_file_size, Some(10 * MB));
        assert_eq!(u.null_as.as_deref(), Some("\\N"));
        assert_eq!(u.compression, Compression::Gzip);
        let u = parse("unload ('select 1') to 's3://b/p/' iam_role default format as parquet partition by (a, b) include maxfilesize 1 gb").unwrap();
        assert_eq!(u.format, UnloadFormat::Parquet);
        assert_eq!(u.partition_by, ["a", "b"]);
        assert!(u.partition_include);
        assert_eq!(u.max_file_size, Some(1024 * MB));
    }

    #[test]
    fn refused() {
        for sql in [
            "unload ('select 1') to 's3://b/p' iam_role default parquet gzip",
            "unload ('select 1') to 's3://b/p' iam_role default json header",
            "unload ('select 1') to 's3://b/p' iam_role default csv addquotes",
            "unload ('select 1') to 's3://b/p' iam_role default allowoverwrite cleanpath",
            "unload ('select 1') to 's3://b/p' iam_role default maxfilesize 1 mb",
            "unload ('select 1') to 's3://b/p' iam_role default fixedwidth 'a:1' delimiter ','",
            "unload (select 1) to 's3://b/p' iam_role default",
            "unload ('select 1') to 's3://b/p' iam_role default access_key_id 'a' secret_access_key 'b'",
        ] {
            assert!(parse(sql).is_err(), "{sql} should be refused");
        }
    }
}
