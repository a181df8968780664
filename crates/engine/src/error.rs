//! The engine's error type and its mapping to SQLSTATE and Redshift's wording.
//!
//! Every failure a client can see leaves the engine as an [`EngineError`]. The
//! wire layer asks it for [`EngineError::sqlstate`], [`EngineError::message`],
//! detail, hint and position, and never inspects DataFusion errors itself.
//! DataFusion reports most failures as strings; [`classify_datafusion`] turns
//! the ones users meet every day into PostgreSQL's codes and texts.

use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, SchemaError};
use shale_common::SqlState;

/// An error from parsing, planning or running a statement.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The text is not valid SQL. `position` is 1-based, in characters.
    #[error("{message}")]
    Syntax {
        message: String,
        position: Option<usize>,
    },
    /// A statement failed in a way with a known code.
    #[error("{message}")]
    Sql {
        state: SqlState,
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    /// The transaction failed earlier; only its end is accepted now.
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// `statement_timeout` elapsed.
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    /// DataFusion reported an error; see [`classify_datafusion`].
    #[error("{0}")]
    DataFusion(#[from] DataFusionError),
}

/// Result alias used throughout the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl From<ArrowError> for EngineError {
    fn from(e: ArrowError) -> Self {
        EngineError::DataFusion(DataFusionError::ArrowError(Box::new(e), None))
    }
}

impl From<shale_storage::StorageError> for EngineError {
    fn from(e: shale_storage::StorageError) -> Self {
        use shale_storage::StorageError as S;
        match e {
            S::Conflict {
                table_id,
                xid,
                other_xid,
                ..
            } => EngineError::serialization_conflict(table_id, other_xid, xid, None),
            S::DuplicateTable(name) => EngineError::sql(
                SqlState::DuplicateTable,
                format!("relation \"{name}\" already exists"),
            ),
            S::DuplicateSchema(name) => EngineError::sql(
                SqlState::DuplicateSchema,
                format!("schema \"{name}\" already exists"),
            ),
            S::DuplicateDatabase(name) => EngineError::sql(
                SqlState::DuplicateDatabase,
                format!("database \"{name}\" already exists"),
            ),
            S::DuplicateUser(name) => EngineError::sql(
                SqlState::DuplicateObject,
                format!("user \"{name}\" already exists"),
            ),
            S::DuplicateGroup(name) => EngineError::sql(
                SqlState::DuplicateObject,
                format!("group \"{name}\" already exists"),
            ),
            S::SchemaNotEmpty(name) => EngineError::sql(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop schema {name} because other objects depend on it"),
            ),
            // A table or schema dropped by a transaction that committed first.
            S::UnknownObject(what) => EngineError::sql(
                SqlState::InternalError,
                format!("1018: Relation does not exist ({what})"),
            ),
            other => EngineError::sql(SqlState::InternalError, other.to_string()),
        }
    }
}

impl EngineError {
    /// Redshift's error 1023: a concurrent transaction committed a change
    /// this one depended on. `pid` is the session's, when known.
    pub fn serialization_conflict(
        table_id: u64,
        other_xid: u64,
        xid: u64,
        pid: Option<i32>,
    ) -> Self {
        let pid = pid.map(|p| format!(" (pid:{p})")).unwrap_or_default();
        EngineError::Sql {
            state: SqlState::InternalError,
            message: "1023".into(),
            detail: Some(format!(
                "Serializable isolation violation on table - {table_id}, transactions forming the cycle are: {other_xid}, {xid}{pid}"
            )),
            hint: None,
        }
    }

    /// A statement error with a code and message.
    pub fn sql(state: SqlState, message: impl Into<String>) -> Self {
        EngineError::Sql {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    /// `0A000`: valid SQL that Shale does not support.
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::sql(SqlState::FeatureNotSupported, what)
    }

    /// The SQLSTATE sent to the client.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            EngineError::Syntax { .. } => SqlState::SyntaxError,
            EngineError::Sql { state, .. } => *state,
            EngineError::InFailedTransaction => SqlState::InFailedSqlTransaction,
            EngineError::StatementTimeout => SqlState::QueryCanceled,
            EngineError::DataFusion(e) => classify_datafusion(e).state,
        }
    }

    /// The primary message sent to the client.
    pub fn message(&self) -> String {
        match self {
            EngineError::DataFusion(e) => classify_datafusion(e).message,
            other => other.to_string(),
        }
    }

    /// The DETAIL field, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            EngineError::Sql { detail, .. } => detail.clone(),
            _ => None,
        }
    }

    /// The HINT field, if any.
    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Sql { hint, .. } => hint.clone(),
            EngineError::DataFusion(e) => classify_datafusion(e).hint,
            _ => None,
        }
    }

    /// The 1-based character position of the error in the statement text.
    pub fn position(&self) -> Option<usize> {
        match self {
            EngineError::Syntax { position, .. } => *position,
            _ => None,
        }
    }
}

/// A DataFusion error restated in PostgreSQL's terms.
#[derive(Debug, PartialEq)]
pub struct Classified {
    pub state: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

fn classified(state: SqlState, message: impl Into<String>) -> Classified {
    Classified {
        state,
        message: message.into(),
        hint: None,
    }
}

/// Maps a DataFusion error to a SQLSTATE and a PostgreSQL-style message.
pub fn classify_datafusion(err: &DataFusionError) -> Classified {
    let root = err.find_root();
    match root {
        DataFusionError::ArrowError(e, _) => classify_arrow(e),
        DataFusionError::SchemaError(e, _) => match e.as_ref() {
            SchemaError::FieldNotFound { field, .. } => classified(
                SqlState::UndefinedColumn,
                format!("column \"{}\" does not exist", field.name()),
            ),
            SchemaError::AmbiguousReference { field } => classified(
                SqlState::AmbiguousColumn,
                format!("column reference \"{}\" is ambiguous", field.name()),
            ),
            SchemaError::DuplicateQualifiedField { name, .. }
            | SchemaError::DuplicateUnqualifiedField { name } => classified(
                SqlState::DuplicateObject,
                format!("column \"{name}\" specified more than once"),
            ),
        },
        DataFusionError::SQL(e, _) => classified(SqlState::SyntaxError, e.to_string()),
        DataFusionError::NotImplemented(m) => classified(SqlState::FeatureNotSupported, m.clone()),
        DataFusionError::Plan(m) => classify_text(m, SqlState::SyntaxError),
        DataFusionError::Execution(m) => classify_text(m, SqlState::InternalError),
        DataFusionError::Configuration(m) => classified(SqlState::InvalidParameterValue, m.clone()),
        DataFusionError::ResourcesExhausted(m) => {
            classified(SqlState::ProgramLimitExceeded, m.clone())
        }
        DataFusionError::External(e) => match e.downcast_ref::<EngineError>() {
            Some(inner) => classified(inner.sqlstate(), inner.message()),
            None => classified(SqlState::InternalError, e.to_string()),
        },
        other => classified(SqlState::InternalError, other.to_string()),
    }
}

fn classify_arrow(e: &ArrowError) -> Classified {
    match e {
        ArrowError::DivideByZero => classified(SqlState::DivisionByZero, "division by zero"),
        ArrowError::ArithmeticOverflow(m) => {
            classified(SqlState::NumericValueOutOfRange, overflow_message(m))
        }
        ArrowError::ComputeError(m) if m.contains("Overflow") || m.contains("overflow") => {
            classified(SqlState::NumericValueOutOfRange, overflow_message(m))
        }
        ArrowError::CastError(m) | ArrowError::ParseError(m) => cast_message(m),
        ArrowError::InvalidArgumentError(m) if m.contains("too large to store in a Decimal") => {
            classified(SqlState::NumericValueOutOfRange, "numeric field overflow")
        }
        other => classified(SqlState::InternalError, other.to_string()),
    }
}

fn overflow_message(m: &str) -> String {
    if m.contains("Int16") {
        "smallint out of range".into()
    } else if m.contains("Int32") {
        "integer out of range".into()
    } else if m.contains("Int64") {
        "bigint out of range".into()
    } else {
        "numeric value out of range".into()
    }
}

/// Arrow says `Cannot cast string 'abc' to value of Int32 type`; PostgreSQL says
/// `invalid input syntax for type integer: "abc"`.
fn cast_message(m: &str) -> Classified {
    if let Some(rest) = m.strip_prefix("Cannot cast string '")
        && let Some((value, tail)) = rest.rsplit_once("' to value of ")
    {
        let ty = tail.trim_end_matches(" type");
        let pg = match ty {
            "Int16" => "smallint",
            "Int32" => "integer",
            "Int64" => "bigint",
            "Float32" => "real",
            "Float64" => "double precision",
            "Boolean" => "boolean",
            t if t.starts_with("Decimal") => "numeric",
            t if t.starts_with("Date") => "date",
            t if t.starts_with("Timestamp") => "timestamp",
            other => other,
        };
        return classified(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type {pg}: \"{value}\""),
        );
    }
    if m.contains("out of range") || m.contains("Overflow") || m.starts_with("Can't cast value") {
        return classified(SqlState::NumericValueOutOfRange, overflow_message(m));
    }
    classified(SqlState::InvalidTextRepresentation, m.to_string())
}

/// Planning and execution errors arrive as text; recognise the common ones.
fn classify_text(m: &str, fallback: SqlState) -> Classified {
    let (m, hint) = match m.split_once("\nDid you mean '") {
        Some((head, tail)) => (
            head,
            Some(format!(
                "Perhaps you meant {}.",
                tail.trim_end_matches("'?")
            )),
        ),
        None => (m, None),
    };
    let with_hint = |mut c: Classified| {
        c.hint = hint.clone();
        c
    };
    // `table 'dev.public.t' not found`
    if let Some(name) = between(m, "table '", "' not found") {
        return classified(
            SqlState::UndefinedTable,
            format!("relation \"{}\" does not exist", last_part(name)),
        );
    }
    // `Table 't' doesn't exist.` (DROP TABLE)
    if let Some(name) = between(m, "Table '", "' doesn't exist") {
        return classified(
            SqlState::UndefinedTable,
            format!("table \"{}\" does not exist", last_part(name)),
        );
    }
    if let Some(name) = between(m, "Table '", "' already exists") {
        return classified(
            SqlState::DuplicateTable,
            format!("relation \"{}\" already exists", last_part(name)),
        );
    }
    if let Some(name) = between(m, "View '", "' already exists") {
        return classified(
            SqlState::DuplicateTable,
            format!("relation \"{}\" already exists", last_part(name)),
        );
    }
    if let Some(name) = between(m, "Invalid function '", "'") {
        return with_hint(classified(
            SqlState::UndefinedFunction,
            format!("function {name} does not exist"),
        ));
    }
    if m.contains("Divide by zero") || m.contains("division by zero") {
        return classified(SqlState::DivisionByZero, "division by zero");
    }
    if m.contains("must appear in the GROUP BY clause")
        || m.contains("Projection references non-aggregate values")
    {
        return classified(SqlState::GroupingError, m.to_string());
    }
    with_hint(classified(fallback, m.to_string()))
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: DataFusionError, state: SqlState, message: &str) {
        let c = classify_datafusion(&err);
        assert_eq!((c.state, c.message.as_str()), (state, message));
    }

    #[test]
    fn missing_table() {
        check(
            DataFusionError::Plan("table 'dev.public.nope' not found".into()),
            SqlState::UndefinedTable,
            "relation \"nope\" does not exist",
        );
    }

    #[test]
    fn division_by_zero() {
        check(
            DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None),
            SqlState::DivisionByZero,
            "division by zero",
        );
    }

    #[test]
    fn bad_integer_text() {
        check(
            DataFusionError::ArrowError(
                Box::new(ArrowError::CastError(
                    "Cannot cast string 'abc' to value of Int32 type".into(),
                )),
                None,
            ),
            SqlState::InvalidTextRepresentation,
            "invalid input syntax for type integer: \"abc\"",
        );
    }

    #[test]
    fn context_is_unwrapped() {
        check(
            DataFusionError::Context(
                "while planning".into(),
                Box::new(DataFusionError::Plan("table 't' not found".into())),
            ),
            SqlState::UndefinedTable,
            "relation \"t\" does not exist",
        );
    }

    #[test]
    fn unknown_function_gets_a_hint() {
        let c = classify_datafusion(&DataFusionError::Plan(
            "Invalid function 'flor'.\nDid you mean 'floor'?".into(),
        ));
        assert_eq!(c.state, SqlState::UndefinedFunction);
        assert_eq!(c.message, "function flor does not exist");
        assert_eq!(c.hint.as_deref(), Some("Perhaps you meant floor."));
    }
}
