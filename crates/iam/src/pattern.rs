//! Wildcard patterns and policy variables, the matching under actions,
//! resources and the `...Like` and `Arn...` conditions.
//!
//! A pattern is first turned into [`Token`]s: `*` matches any run of
//! characters (also none), `?` exactly one, everything else itself. With a
//! request context, `${key}` is replaced by the key's value, `${key, 'x'}`
//! falls back to `x` when the key is missing, and `${*}`, `${?}`, `${$}`
//! stand for the literal characters. Substituted text is always literal.
//! Matching is the classic greedy star-backtracking walk: linear space and
//! at worst pattern length times text length steps, whatever the input.

use crate::eval::{Context, context_values};

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// This character.
    Char(char),
    /// `?`: exactly one character.
    AnyOne,
    /// `*`: any run of characters, also none.
    AnyRun,
}

/// Compiles `pattern`. With `variables`, `${...}` is substituted from that
/// context; `None` is returned when a variable can't be resolved (the
/// pattern then matches nothing). Without `wildcards`, `*` and `?` are
/// plain characters.
pub(crate) fn tokens(
    pattern: &str,
    variables: Option<&Context>,
    wildcards: bool,
) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(context) = variables
            && let Some(after) = rest.strip_prefix("${")
            && let Some((inner, tail)) = after.split_once('}')
        {
            match inner {
                "*" | "?" | "$" => out.extend(inner.chars().map(Token::Char)),
                _ => out.extend(resolve(inner, context)?.chars().map(Token::Char)),
            }
            rest = tail;
            continue;
        }
        out.push(match c {
            '*' if wildcards => Token::AnyRun,
            '?' if wildcards => Token::AnyOne,
            c => Token::Char(c),
        });
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    Some(out)
}

/// The value of the variable `key` or `key, 'default'`: a key with exactly
/// one value in the context, else the default.
fn resolve(inner: &str, context: &Context) -> Option<String> {
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let default = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(default))
        }
        None => (inner.trim(), None),
    };
    match context_values(context, key) {
        Some([value]) => Some(value.clone()),
        _ => default.map(str::to_owned),
    }
}

/// `pattern` with its variables substituted and no wildcards: the text a
/// `StringEquals` compares with. `None` when a variable can't be resolved.
pub(crate) fn literal(pattern: &str, variables: Option<&Context>) -> Option<String> {
    let tokens = tokens(pattern, variables, false)?;
    Some(
        tokens
            .into_iter()
            .map(|t| match t {
                Token::Char(c) => c,
                Token::AnyOne => '?',
                Token::AnyRun => '*',
            })
            .collect(),
    )
}

/// Whether `tokens` match all of `text`; `fold_case` compares ASCII letters
/// case-insensitively (action names).
pub(crate) fn glob(tokens: &[Token], text: &str, fold_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut s) = (0, 0);
    // Where the last `*` was, and the text position it is currently
    // standing in for up to.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(s) {
        match tokens.get(p) {
            Some(Token::AnyRun) => {
                star = Some((p, s));
                p += 1;
            }
            Some(Token::AnyOne) => {
                p += 1;
                s += 1;
            }
            Some(Token::Char(t)) if same(*t, c) => {
                p += 1;
                s += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((star_p, star_s)) => {
                    p = star_p + 1;
                    s = star_s + 1;
                    star = Some((star_p, star_s + 1));
                }
                None => return false,
            },
        }
    }
    tokens
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|t| *t == Token::AnyRun)
}

/// `ArnLike`/`ArnEquals`: the six colon-separated parts of an ARN
/// (`arn:partition:service:region:account:resource`, the last may hold
/// colons) are matched part by part, so a `*` does not run across a colon
/// except inside the resource part. A pattern with fewer than six parts
/// (`*`) is matched against the whole value.
pub(crate) fn arn_like(tokens: &[Token], value: &str) -> bool {
    let segments = split_tokens(tokens, 6);
    if segments.len() < 6 {
        return glob(tokens, value, false);
    }
    let values: Vec<&str> = value.splitn(6, ':').collect();
    values.len() == 6
        && segments
            .iter()
            .zip(&values)
            .all(|(segment, value)| glob(segment, value, false))
}

/// `tokens` split at literal colons into at most `n` parts.
fn split_tokens(tokens: &[Token], n: usize) -> Vec<&[Token]> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if parts.len() + 1 == n {
            break;
        }
        if *token == Token::Char(':') {
            parts.push(tokens.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    parts.push(tokens.get(start..).unwrap_or_default());
    parts
}
