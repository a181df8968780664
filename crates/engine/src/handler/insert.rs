//! INSERT: Redshift's forms restated for DataFusion, which plans the rest.
//!
//! DataFusion wants one value per listed column and knows neither DEFAULT
//! in a VALUES row nor DEFAULT VALUES. PostgreSQL and Redshift fill the
//! leading columns when a row has fewer values than the table has columns.
//! Here the statement is rewritten into the form DataFusion accepts: the
//! column list made explicit, DEFAULT replaced by the column's default
//! expression (or NULL). A plain IDENTITY column refuses explicit values.

use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Insert, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableObject,
};
use shale_common::SqlState;
use shale_storage::TableEntry;

use crate::error::{EngineError, Result};
use crate::identity::IDENTITY_FUNCTION;
use crate::parse::create_table::last_folded;
use crate::session::{Output, Session};

pub(crate) async fn execute(
    session: &mut Session,
    insert: &Insert,
    params: Vec<ScalarValue>,
) -> Result<Output> {
    let TableObject::TableName(name) = &insert.table else {
        return Err(EngineError::unsupported("INSERT into a table function"));
    };
    let entry = session.table_entry(name)?;
    if entry.def.is_view() {
        return Err(EngineError::sql(
            SqlState::WrongObjectType,
            format!("cannot insert into view \"{}\"", entry.name),
        ));
    }
    let mut insert = insert.clone();
    let mut columns: Vec<String> = insert.columns.iter().map(last_folded).collect();
    for c in &columns {
        let Some(def) = entry.def.columns.iter().find(|d| &d.name == c) else {
            return Err(EngineError::sql(
                SqlState::UndefinedColumn,
                format!(
                    "column \"{c}\" of relation \"{}\" does not exist",
                    entry.name
                ),
            ));
        };
        if def.identity.is_some_and(|i| !i.by_default) {
            return Err(EngineError::sql(
                SqlState::FeatureNotSupported,
                format!("cannot set an identity column to a value: \"{c}\""),
            ));
        }
    }
    let explicit = !columns.is_empty();
    if !explicit {
        columns = entry
            .def
            .columns
            .iter()
            .filter(|c| c.identity.is_none_or(|i| i.by_default))
            .map(|c| c.name.clone())
            .collect();
    }
    match insert.source.as_mut() {
        None => {
            // DEFAULT VALUES: one row of defaults.
            let row: Vec<Expr> = columns
                .iter()
                .map(|c| default_for(&entry, c))
                .collect::<Result<_>>()?;
            insert.source = Some(Box::new(values_query(&row)?));
        }
        Some(query) => {
            if let SetExpr::Values(values) = query.body.as_mut() {
                let width = values
                    .rows
                    .iter()
                    .map(|r| r.content.len())
                    .max()
                    .unwrap_or(0);
                if !explicit && width < columns.len() {
                    columns.truncate(width);
                }
                if width > columns.len() {
                    if !explicit && columns.len() < entry.def.columns.len() {
                        return Err(EngineError::sql(
                            SqlState::FeatureNotSupported,
                            "cannot set an identity column to a value",
                        ));
                    }
                    return Err(EngineError::sql(
                        SqlState::SyntaxError,
                        "INSERT has more expressions than target columns",
                    ));
                }
                for row in &mut values.rows {
                    for (i, e) in row.content.iter_mut().enumerate() {
                        if is_default(e)
                            && let Some(c) = columns.get(i)
                        {
                            *e = default_for(&entry, c)?;
                        }
                    }
                }
            }
        }
    }
    let has_implicit_identity = entry.def.columns.iter().any(|c| c.identity.is_some());
    if !explicit || has_implicit_identity {
        insert.columns = columns
            .iter()
            .map(|c| ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', c))]))
            .collect();
    }
    crate::handler::query::execute(session, &Statement::Insert(insert), params).await
}

fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// The expression a column gets when a row gives it no value.
fn default_for(entry: &TableEntry, column: &str) -> Result<Expr> {
    let Some((index, def)) = entry
        .def
        .columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == column)
    else {
        return Ok(null());
    };
    let text = match (&def.default, def.identity) {
        (Some(text), _) => text.clone(),
        (None, Some(_)) => format!("{IDENTITY_FUNCTION}({}, {index})", entry.id),
        (None, None) => return Ok(null()),
    };
    let dialect = datafusion::sql::sqlparser::dialect::RedshiftSqlDialect {};
    datafusion::sql::sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| {
            EngineError::sql(
                SqlState::InternalError,
                format!("the default of column \"{column}\" cannot be read: {e}"),
            )
        })
}

fn null() -> Expr {
    Expr::value(datafusion::sql::sqlparser::ast::Value::Null)
}

/// `VALUES (e, ...)` as a query.
fn values_query(row: &[Expr]) -> Result<Query> {
    let text = format!(
        "VALUES ({})",
        row.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let dialect = datafusion::sql::sqlparser::dialect::RedshiftSqlDialect {};
    datafusion::sql::sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .map(|q| *q)
        .map_err(|e| EngineError::sql(SqlState::InternalError, e.to_string()))
}
