//! From SQL text to statements: Redshift's dialect, Redshift's identifier
//! folding, and PostgreSQL-style syntax errors.
//!
//! The text is tokenized once with sqlparser's Redshift dialect. Quoted
//! identifiers are folded to lower case in the token stream (Redshift folds
//! them unless `enable_case_sensitive_identifier` is on); unquoted ones are
//! folded later by DataFusion's identifier normalization. The tokens are then
//! split at top-level semicolons and each piece is parsed on its own, which
//! lets statements sqlparser does not know (such as `ABORT`) be recognised
//! before it sees them, and gives each statement its own source text.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::error::{EngineError, Result};

pub mod access;
pub mod copy;
pub mod create_table;
pub mod unload;

/// One statement of a query string.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// A statement sqlparser understood.
    Sql(Box<ast::Statement>),
    /// `ABORT [WORK | TRANSACTION]`: Redshift's synonym for ROLLBACK.
    Abort,
    /// Users, groups, grants and session authorization, parsed by [`access`].
    Access(Box<access::AccessStmt>),
    /// Redshift's COPY, parsed by [`copy`].
    Copy(Box<copy::CopyStatement>),
    /// Redshift's UNLOAD, parsed by [`unload`].
    Unload(Box<unload::UnloadStatement>),
    /// Redshift's CREATE TABLE, parsed by [`create_table`].
    CreateTable(Box<create_table::CreateTable>),
    /// `ALTER TABLE t OWNER TO user`, which sqlparser's Redshift dialect refuses.
    OwnerTo {
        table: ast::ObjectName,
        owner: String,
    },
    /// `ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET]`.
    AppendFrom {
        target: ast::ObjectName,
        source: ast::ObjectName,
        ignore_extra: bool,
        fill_target: bool,
    },
}

/// A parsed statement with the text it came from.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub stmt: Stmt,
    pub text: String,
}

/// Parses a query string into its statements. An empty string, or one of only
/// semicolons and comments, gives no statements.
pub fn parse_statements(sql: &str) -> Result<Vec<ParsedStatement>> {
    let dialect = RedshiftSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| EngineError::Syntax {
            message: format!("syntax error: {}", e.message),
            position: offset_of(sql, e.location),
        })?;

    let mut out = Vec::new();
    let mut piece: Vec<TokenWithSpan> = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(mut t) = tokens.next() {
        let end = matches!(t.token, Token::SemiColon) || tokens.peek().is_none();
        if let Token::Word(w) = &mut t.token
            && w.quote_style.is_some_and(|q| q == '"' || q == '[')
        {
            w.value = w.value.to_lowercase();
        }
        // `E'...'` (as psycopg2 quotes when standard_conforming_strings is
        // off) escapes exactly as a plain literal does here; the tokenizer
        // has already read its escapes.
        if let Token::EscapedStringLiteral(s) = &mut t.token {
            t.token = Token::SingleQuotedString(std::mem::take(s));
        }
        if !matches!(t.token, Token::SemiColon) {
            piece.push(t);
        }
        if end {
            let significant = piece
                .iter()
                .any(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF));
            if significant {
                out.push(parse_piece(sql, std::mem::take(&mut piece))?);
            } else {
                piece.clear();
            }
        }
    }
    Ok(out)
}

fn parse_piece(sql: &str, tokens: Vec<TokenWithSpan>) -> Result<ParsedStatement> {
    let words: Vec<&Token> = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .collect();
    let text = source_text(sql, &tokens);
    if let Some(Token::Word(first)) = words.first()
        && first.quote_style.is_none()
        && first.value.eq_ignore_ascii_case("abort")
    {
        let rest_ok = match &words[1..] {
            [] => true,
            [Token::Word(w)] => matches!(w.keyword, Keyword::WORK | Keyword::TRANSACTION),
            _ => false,
        };
        if rest_ok {
            return Ok(ParsedStatement {
                stmt: Stmt::Abort,
                text,
            });
        }
    }
    let is_alter_table = matches!(words.as_slice(), [Token::Word(a), Token::Word(t), ..]
        if a.quote_style.is_none() && a.value.eq_ignore_ascii_case("alter")
            && t.quote_style.is_none() && t.value.eq_ignore_ascii_case("table"));
    let tokens = if is_alter_table {
        without_encode(tokens)
    } else {
        tokens
    };
    let (tokens, remove_duplicates) = without_remove_duplicates(tokens);
    let dialect = RedshiftSqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
    if copy::is_copy(&parser) {
        let stmt = copy::parse(&text).map_err(|e| copy_error(sql, &text, e))?;
        return Ok(ParsedStatement {
            stmt: Stmt::Copy(Box::new(stmt)),
            text,
        });
    }
    if unload::is_unload(&parser) {
        let stmt = unload::parse(&text).map_err(|e| copy_error(sql, &text, e))?;
        return Ok(ParsedStatement {
            stmt: Stmt::Unload(Box::new(stmt)),
            text,
        });
    }
    if access::is_access(&parser) {
        let stmt = access::parse(&mut parser).map_err(|e| syntax_error(sql, e))?;
        expect_end(sql, &parser)?;
        return Ok(ParsedStatement {
            stmt: Stmt::Access(Box::new(stmt)),
            text,
        });
    }
    if create_table::is_create_table(&parser) {
        let table = create_table::parse(&mut parser).map_err(|e| syntax_error(sql, e))?;
        expect_end(sql, &parser)?;
        return Ok(ParsedStatement {
            stmt: Stmt::CreateTable(Box::new(table)),
            text,
        });
    }
    if let Some(append) = parse_append(&mut parser).map_err(|e| syntax_error(sql, e))? {
        expect_end(sql, &parser)?;
        return Ok(ParsedStatement { stmt: append, text });
    }
    let mut stmt = parser.parse_statement().map_err(|e| syntax_error(sql, e))?;
    crate::rewrite::rewrite(&mut stmt);
    expect_end(sql, &parser)?;
    // A MERGE without clauses stands for REMOVE DUPLICATES (the handler
    // relies on it), so a MERGE may have clauses or it, not both or neither.
    if let ast::Statement::Merge(m) = &stmt
        && m.clauses.is_empty() != remove_duplicates
    {
        return Err(EngineError::Syntax {
            message: if remove_duplicates {
                "syntax error at or near \"REMOVE\": MERGE takes WHEN clauses or REMOVE DUPLICATES, not both".into()
            } else {
                "syntax error at end of input: MERGE needs WHEN clauses or REMOVE DUPLICATES".into()
            },
            position: None,
        });
    }
    Ok(ParsedStatement {
        stmt: Stmt::Sql(Box::new(stmt)),
        text,
    })
}

/// `MERGE ... REMOVE DUPLICATES` (Redshift's simplified MERGE, which
/// sqlparser does not read): the tokens without the two final words, and
/// whether they were there.
fn without_remove_duplicates(mut tokens: Vec<TokenWithSpan>) -> (Vec<TokenWithSpan>, bool) {
    let word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let significant: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .map(|(i, _)| i)
        .collect();
    let found = match significant.as_slice() {
        [first, .., remove, duplicates] => {
            word(&tokens[*first].token, "merge")
                && word(&tokens[*remove].token, "remove")
                && word(&tokens[*duplicates].token, "duplicates")
        }
        _ => false,
    };
    if found && let Some(&remove) = significant.get(significant.len() - 2) {
        tokens.truncate(remove);
    }
    (tokens, found)
}

/// `ALTER TABLE t APPEND FROM s ...` and `ALTER TABLE t OWNER TO u`, which
/// sqlparser does not read.
fn parse_append(parser: &mut Parser) -> std::result::Result<Option<Stmt>, ParserError> {
    let word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    if !(word(&parser.peek_nth_token(0).token, "alter")
        && word(&parser.peek_nth_token(1).token, "table"))
    {
        return Ok(None);
    }
    // ALTER TABLE <name> APPEND | OWNER: the name may have up to three parts.
    let owner_at = (3..=7).find(|n| {
        word(&parser.peek_nth_token(*n).token, "owner")
            && word(&parser.peek_nth_token(n + 1).token, "to")
    });
    let append_at = (3..=7).find(|n| word(&parser.peek_nth_token(*n).token, "append"));
    if owner_at.is_none() && append_at.is_none() {
        return Ok(None);
    }
    parser.next_token();
    parser.next_token();
    let target = parser.parse_object_name(false)?;
    if owner_at.is_some() && word(&parser.peek_token().token, "owner") {
        parser.next_token();
        parser.next_token();
        let owner = parser.parse_identifier()?;
        return Ok(Some(Stmt::OwnerTo {
            table: target,
            owner: create_table::folded(&owner),
        }));
    }
    if !word(&parser.peek_token().token, "append") {
        return parser.expected("APPEND", parser.peek_token());
    }
    parser.next_token();
    parser.expect_keyword(Keyword::FROM)?;
    let source = parser.parse_object_name(false)?;
    let mut ignore_extra = false;
    let mut fill_target = false;
    if word(&parser.peek_token().token, "ignoreextra") {
        parser.next_token();
        ignore_extra = true;
    } else if word(&parser.peek_token().token, "filltarget") {
        parser.next_token();
        fill_target = true;
    }
    Ok(Some(Stmt::AppendFrom {
        target,
        source,
        ignore_extra,
        fill_target,
    }))
}

/// Drops `ENCODE <encoding>` from an ALTER TABLE (a column's compression,
/// which Shale records only at CREATE TABLE and sqlparser cannot read here).
fn without_encode(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is_encode = |t: &Token| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("encode"));
    let mut out = Vec::with_capacity(tokens.len());
    let mut skipping = false;
    for t in tokens {
        if skipping {
            match &t.token {
                Token::Whitespace(_) => continue,
                Token::Word(_) => {
                    skipping = false;
                    continue;
                }
                _ => skipping = false,
            }
        }
        if is_encode(&t.token) {
            skipping = true;
            continue;
        }
        out.push(t);
    }
    out
}

/// A refused COPY: grammar errors as syntax errors (positions are within
/// the statement, which is re-read on its own), the rest as Redshift's
/// internal errors.
fn copy_error(sql: &str, text: &str, e: copy::CopyError) -> EngineError {
    match e {
        copy::CopyError::Syntax(e) => {
            let start = sql.find(text).unwrap_or(0);
            match syntax_error(text, e) {
                EngineError::Syntax { message, position } => EngineError::Syntax {
                    message,
                    position: position.map(|p| p + sql[..start].chars().count()),
                },
                other => other,
            }
        }
        copy::CopyError::Invalid(message) => {
            EngineError::sql(shale_common::SqlState::InternalError, message)
        }
        copy::CopyError::Unsupported(message) => EngineError::unsupported(message),
    }
}

/// Anything after the statement (other than whitespace) is an error.
fn expect_end(sql: &str, parser: &Parser) -> Result<()> {
    let next = parser.peek_token();
    if !matches!(next.token, Token::EOF) {
        return Err(EngineError::Syntax {
            message: format!("syntax error at or near \"{}\"", next.token),
            position: offset_of(sql, next.span.start),
        });
    }
    Ok(())
}

fn source_text(sql: &str, tokens: &[TokenWithSpan]) -> String {
    let mut significant = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF));
    let start = significant
        .clone()
        .next()
        .and_then(|t| byte_offset(sql, t.span.start));
    let end = significant
        .next_back()
        .and_then(|t| byte_offset(sql, t.span.end));
    match (start, end) {
        (Some(s), Some(e)) if s <= e => sql[s..e].to_string(),
        _ => sql.trim().to_string(),
    }
}

/// Turns sqlparser's `Expected: X, found: Y at Line: 1, Column: 8` into
/// PostgreSQL's `syntax error at or near "Y"` with a position.
fn syntax_error(sql: &str, e: ParserError) -> EngineError {
    let raw = match &e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => {
            return EngineError::sql(
                shale_common::SqlState::ProgramLimitExceeded,
                "statement is too deeply nested",
            );
        }
    };
    let (body, location) = match raw.rsplit_once(" at Line: ") {
        Some((body, loc)) => (body.to_string(), parse_location(loc)),
        None => (raw.clone(), None),
    };
    let position = location.and_then(|l| offset_of(sql, l));
    let message = match body.rsplit_once("found: ") {
        Some((_, "EOF")) => "syntax error at end of input".to_string(),
        Some((_, found)) => format!("syntax error at or near \"{found}\""),
        None => format!("syntax error: {body}"),
    };
    EngineError::Syntax { message, position }
}

fn parse_location(s: &str) -> Option<Location> {
    let (line, col) = s.split_once(", Column: ")?;
    Some(Location {
        line: line.trim().parse().ok()?,
        column: col.trim().parse().ok()?,
    })
}

/// The byte offset of a 1-based line/column location.
fn byte_offset(sql: &str, loc: Location) -> Option<usize> {
    if loc.line == 0 {
        return None;
    }
    let mut line_start = 0;
    for _ in 1..loc.line {
        line_start += sql[line_start..].find('\n')? + 1;
    }
    let line = &sql[line_start..];
    let col = usize::try_from(loc.column).ok()?.saturating_sub(1);
    let within = line
        .char_indices()
        .nth(col)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    Some(line_start + within)
}

/// The 1-based character offset of a location, as PostgreSQL reports positions.
fn offset_of(sql: &str, loc: Location) -> Option<usize> {
    let b = byte_offset(sql, loc)?;
    Some(sql[..b].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        parse_statements(sql)
            .expect("parses")
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn splits_statements_and_keeps_their_text() {
        assert_eq!(
            texts("select 1; select 'a;b' ;;\n select 2"),
            vec!["select 1", "select 'a;b'", "select 2"]
        );
    }

    #[test]
    fn empty_input_has_no_statements() {
        assert!(texts("").is_empty());
        assert!(texts(" ; ;; -- nothing\n").is_empty());
    }

    #[test]
    fn quoted_identifiers_fold_to_lower_case() {
        let s = parse_statements("select \"MixedCase\" from \"T\"").expect("parses");
        let Stmt::Sql(stmt) = &s[0].stmt else {
            panic!("expected sql")
        };
        assert_eq!(stmt.to_string(), "SELECT \"mixedcase\" FROM \"t\"");
    }

    #[test]
    fn abort_is_recognised() {
        for sql in ["abort", "ABORT WORK", "abort transaction"] {
            let s = parse_statements(sql).expect("parses");
            assert!(matches!(s[0].stmt, Stmt::Abort), "{sql}");
        }
    }

    #[test]
    fn syntax_errors_name_the_token_and_position() {
        let e = parse_statements("select 1 2").expect_err("bad sql");
        assert_eq!(e.message(), "syntax error at or near \"2\"");
        assert_eq!(e.position(), Some(10));
    }

    #[test]
    fn syntax_error_at_end() {
        let e = parse_statements("select 1 +").expect_err("bad sql");
        assert_eq!(e.message(), "syntax error at end of input");
    }

    #[test]
    fn a_later_syntax_error_fails_the_whole_string() {
        assert!(parse_statements("select 1; selec 2").is_err());
    }
}
