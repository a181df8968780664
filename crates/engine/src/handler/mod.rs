//! One module per kind of statement that DataFusion does not run by itself.
//!
//! [`execute`] routes a parsed statement: transaction control, `SET`, `SHOW`
//! and `RESET` to their handlers here; everything DataFusion plans (queries,
//! DDL, DML) to [`query`]. Later statement kinds (COPY, UNLOAD, GRANT, CREATE
//! USER, ...) each get a file of their own beside these.

pub(crate) mod access;
pub(crate) mod alter;
pub(crate) mod copy;
pub(crate) mod ddl;
pub(crate) mod dml;
pub(crate) mod insert;
pub(crate) mod query;
pub(crate) mod set;
pub(crate) mod show;
pub(crate) mod transaction;
pub(crate) mod unload;

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::Statement;

use crate::error::{EngineError, Result};
use crate::session::{Output, Session};

pub(crate) async fn execute(
    session: &mut Session,
    stmt: &Statement,
    params: Vec<ScalarValue>,
) -> Result<Output> {
    match stmt {
        Statement::StartTransaction { .. } => transaction::begin(session),
        Statement::Commit { .. } => transaction::commit(session).await,
        Statement::Rollback {
            savepoint: None, ..
        } => transaction::rollback(session).await,
        Statement::Rollback {
            savepoint: Some(_), ..
        }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => {
            Err(EngineError::unsupported("SAVEPOINT is not supported"))
        }
        Statement::Set(set) => set::execute(session, set),
        Statement::Reset(reset) => set::reset(session, reset),
        Statement::ShowVariable { variable } => show::execute(session, variable),
        Statement::CreateSchema {
            schema_name,
            if_not_exists,
            ..
        } => ddl::create_schema(session, schema_name, *if_not_exists).await,
        Statement::Drop {
            object_type,
            if_exists,
            names,
            cascade,
            ..
        } => ddl::drop_objects(session, object_type, names, *if_exists, *cascade),
        Statement::Truncate(t) => {
            let names: Vec<_> = t.table_names.iter().map(|n| n.name.clone()).collect();
            ddl::truncate(session, &names).await
        }
        Statement::CreateView(v) => ddl::create_view(session, v).await,
        Statement::AlterTable(a) => {
            alter::alter_table(session, &a.name, a.if_exists, &a.operations).await
        }
        Statement::Vacuum(v) => alter::vacuum(session, v.table_name.as_ref()).await,
        Statement::Analyze(a) => alter::analyze(session, a.table_name.as_ref()),
        Statement::Insert(i) => insert::execute(session, i, params).await,
        Statement::Delete(d) => dml::delete(session, d, dml::Mode::Run(params)).await,
        Statement::Update(u) => dml::update(session, u, dml::Mode::Run(params)).await,
        Statement::Merge(m) => dml::merge(session, m, dml::Mode::Run(params)).await,
        Statement::CreateTable(_) => Err(EngineError::sql(
            shale_common::SqlState::SyntaxError,
            "CREATE TABLE could not be read",
        )),
        Statement::Explain {
            analyze: true,
            statement,
            ..
        } if !matches!(statement.as_ref(), Statement::Query(_)) => Err(EngineError::unsupported(
            "EXPLAIN ANALYZE is supported for queries only",
        )),
        s if query::is_planned(s) => query::execute(session, s, params).await,
        other => Err(EngineError::unsupported(format!(
            "statement not supported: {}",
            first_words(&other.to_string())
        ))),
    }
}

/// The result columns of a statement that is not planned by DataFusion.
pub(crate) fn describe_utility(session: &Session, stmt: &Statement) -> SchemaRef {
    match stmt {
        Statement::ShowVariable { variable } => show::schema(session, variable),
        _ => Arc::new(Schema::empty()),
    }
}

/// Parses one statement that Shale wrote itself (the queries behind DML,
/// ALTER TABLE and VACUUM).
pub(crate) fn internal_statement(sql: &str) -> Result<Statement> {
    match crate::parse::parse_statements(sql)?.pop().map(|s| s.stmt) {
        Some(crate::parse::Stmt::Sql(stmt)) => Ok(*stmt),
        _ => Err(EngineError::sql(
            shale_common::SqlState::InternalError,
            format!("cannot read internal statement: {sql}"),
        )),
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}
