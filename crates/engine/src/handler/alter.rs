//! ALTER TABLE, ALTER TABLE APPEND, VACUUM and ANALYZE.
//!
//! Changes that only touch the definition (a new column, a dropped column, a
//! longer VARCHAR, a new name or owner, a new sort key) are catalog changes:
//! files written earlier are read through the new definition, a missing
//! column reading as NULL and a dropped one ignored. Renaming a column, and
//! VACUUM, rewrite the table's files ([`rewrite`]): the live rows are read
//! through the old definition, ordered by the SORTKEY, and written anew,
//! and the old files go once no snapshot sees them.

use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, ObjectName, Owner, RenameTableNameKind,
};
use futures::StreamExt;
use shale_common::SqlState;
use shale_storage::{ColumnDef, ColumnType, TableDef, TableEntry};

use crate::catalog::lock;
use crate::error::{EngineError, Result};
use crate::parse::create_table::{folded, quoted as quote};
use crate::session::{Output, Session, TxStatus};

/// The table's name as SQL, schema-qualified.
fn qualified(session: &Session, entry: &TableEntry) -> String {
    let mut state = lock(&session.shared);
    let schema = state
        .tx()
        .catalog()
        .schema_by_id(entry.schema_id)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    format!("{}.{}", quote(&schema), quote(&entry.name))
}

fn no_column(table: &str, column: &str) -> EngineError {
    EngineError::sql(
        SqlState::UndefinedColumn,
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

pub(crate) async fn alter_table(
    session: &mut Session,
    name: &ObjectName,
    if_exists: bool,
    operations: &[AlterTableOperation],
) -> Result<Output> {
    let Some(entry) = session.find_table(name)? else {
        if if_exists {
            return Ok(Output::Command("ALTER TABLE".into()));
        }
        return Err(session.table_entry(name).err().unwrap_or_else(|| {
            EngineError::sql(SqlState::UndefinedTable, "relation does not exist")
        }));
    };
    for op in operations {
        let entry = session.table_by_id(entry.id)?;
        let mut def = entry.def.as_ref().clone();
        let schema_id = entry.schema_id;
        let mut new_name = entry.name.clone();
        let mut fill = None;
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            } => {
                let col = folded(&column_def.name);
                if def.column_index(&col).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(EngineError::sql(
                        SqlState::DuplicateColumn,
                        format!(
                            "column \"{col}\" of relation \"{}\" already exists",
                            entry.name
                        ),
                    ));
                }
                let ty = super::ddl::column_type(&column_def.data_type)?;
                let mut column = ColumnDef::new(col.clone(), ty);
                for o in &column_def.options {
                    match &o.option {
                        ColumnOption::Default(e) => column.default = Some(e.to_string()),
                        ColumnOption::NotNull => column.not_null = true,
                        ColumnOption::Null => column.not_null = false,
                        _ => {}
                    }
                }
                lock(&session.shared).tx().mark_read(entry.id);
                if column.not_null && column.default.is_none() && entry.live_rows() > 0 {
                    return Err(EngineError::sql(
                        SqlState::NotNullViolation,
                        format!(
                            "ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression: \"{col}\""
                        ),
                    ));
                }
                fill = column.default.clone().map(|d| (col.clone(), d));
                def.columns.push(column);
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for c in column_names {
                    let col = folded(c);
                    match def.column_index(&col) {
                        Some(i) => {
                            def.columns.remove(i);
                            def.sortkey.retain(|k| k != &col);
                            if def.distkey.as_deref() == Some(col.as_str()) {
                                def.distkey = None;
                            }
                        }
                        None if *if_exists => {}
                        None => return Err(no_column(&entry.name, &col)),
                    }
                }
                if def.columns.is_empty() {
                    return Err(EngineError::sql(
                        SqlState::InvalidTableDefinition,
                        "cannot drop the last column of a table",
                    ));
                }
                // Rewritten without the column, so that a later column of
                // the same name does not find the old values in the files.
                let select = carried(&def, None);
                rewrite(session, &entry, def, &select).await?;
                continue;
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (folded(old_column_name), folded(new_column_name));
                let Some(i) = def.column_index(&old) else {
                    return Err(no_column(&entry.name, &old));
                };
                if def.column_index(&new).is_some() {
                    return Err(EngineError::sql(
                        SqlState::DuplicateColumn,
                        format!(
                            "column \"{new}\" of relation \"{}\" already exists",
                            entry.name
                        ),
                    ));
                }
                def.columns[i].name = new.clone();
                for k in def.sortkey.iter_mut().chain(def.distkey.iter_mut()) {
                    if *k == old {
                        *k = new.clone();
                    }
                }
                // Files name columns; the old ones are rewritten with the new name.
                let select = carried(&def, Some((&old, &new)));
                rewrite(session, &entry, def, &select).await?;
                continue;
            }
            AlterTableOperation::RenameTable { table_name } => {
                let target = match table_name {
                    RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
                };
                let Some(last) = target.0.last().and_then(|p| p.as_ident()) else {
                    return Err(EngineError::sql(
                        SqlState::SyntaxError,
                        "a table name is needed",
                    ));
                };
                new_name = folded(last);
                let taken = lock(&session.shared)
                    .tx()
                    .catalog()
                    .table(schema_id, &new_name)
                    .is_some();
                if taken {
                    return Err(EngineError::sql(
                        SqlState::DuplicateTable,
                        format!("relation \"{new_name}\" already exists"),
                    ));
                }
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let col = folded(column_name);
                let Some(i) = def.column_index(&col) else {
                    return Err(no_column(&entry.name, &col));
                };
                match op {
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        let ty = super::ddl::column_type(data_type)?;
                        match (def.columns[i].ty, ty) {
                            (ColumnType::Varchar(old), ColumnType::Varchar(new)) => {
                                if new < old {
                                    check_fits(session, &entry, &col, new).await?;
                                }
                                def.columns[i].ty = ty;
                            }
                            _ => {
                                return Err(EngineError::unsupported(
                                    "ALTER COLUMN TYPE is supported only for VARCHAR lengths",
                                ));
                            }
                        }
                    }
                    AlterColumnOperation::SetDefault { value } => {
                        def.columns[i].default = Some(value.to_string());
                    }
                    AlterColumnOperation::DropDefault => def.columns[i].default = None,
                    _ => {
                        return Err(EngineError::unsupported(format!(
                            "ALTER COLUMN {op} is not supported"
                        )));
                    }
                }
            }
            AlterTableOperation::OwnerTo { new_owner } => {
                def.owner = match new_owner {
                    Owner::Ident(i) => folded(i),
                    _ => session.info.user.clone(),
                };
            }
            AlterTableOperation::AlterSortKey { columns } => {
                let names: Vec<String> = columns
                    .iter()
                    .map(|e| e.to_string().to_lowercase())
                    .collect();
                for n in &names {
                    if def.column_index(n).is_none() {
                        return Err(no_column(&entry.name, n));
                    }
                }
                def.sortkey = names;
            }
            other => {
                return Err(EngineError::unsupported(format!(
                    "ALTER TABLE {other} is not supported"
                )));
            }
        }
        lock(&session.shared)
            .tx()
            .alter_table(entry.id, schema_id, &new_name, def)?;
        if let Some((col, default)) = fill {
            // Existing rows get the new column's default, as in Redshift.
            let sql = format!(
                "update {} set {} = {default}",
                qualified(session, session.table_by_id(entry.id)?.as_ref()),
                quote(&col)
            );
            run_internal(session, &sql).await?;
        }
    }
    Ok(Output::Command("ALTER TABLE".into()))
}

/// The select list that reads a table's columns for a new definition:
/// each new column from the old column of its name (or, for a renamed one,
/// of its old name), named as the new definition names it.
fn carried(new: &TableDef, renamed: Option<(&str, &str)>) -> String {
    new.columns
        .iter()
        .map(|c| {
            let source = match renamed {
                Some((old, new_name)) if c.name == new_name => old,
                _ => c.name.as_str(),
            };
            format!("{} AS {}", quote(source), quote(&c.name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fails unless every value of a column fits in `bytes`.
async fn check_fits(
    session: &mut Session,
    entry: &TableEntry,
    col: &str,
    bytes: u32,
) -> Result<()> {
    let sql = format!(
        "select count(*) from {} where octet_length({}) > {bytes}",
        qualified(session, entry),
        quote(col)
    );
    let mut stream = query_stream(session, &sql).await?;
    let mut over = 0i64;
    while let Some(b) = stream.next().await {
        let b = b?;
        if let Some(a) = b.columns().first().and_then(|c| {
            c.as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
        }) && !a.is_empty()
        {
            over += a.value(0);
        }
    }
    if over > 0 {
        return Err(EngineError::sql(
            SqlState::InvalidParameterValue,
            "target column size should be greater or equal to current maximum column size",
        ));
    }
    Ok(())
}

async fn query_stream(
    session: &mut Session,
    sql: &str,
) -> Result<datafusion::execution::SendableRecordBatchStream> {
    let stmt = super::internal_statement(sql)?;
    let plan = super::query::plan_statement(session, &stmt).await?;
    super::query::execute_plan(session, plan).await
}

/// Runs an internal statement inside the session's transaction.
async fn run_internal(session: &mut Session, sql: &str) -> Result<()> {
    let statements = crate::parse::parse_statements(sql)?;
    for s in statements {
        if let crate::parse::Stmt::Sql(stmt) = &s.stmt {
            Box::pin(super::execute(session, stmt, Vec::new())).await?;
        }
    }
    Ok(())
}

/// Rewrites a table's files under a (possibly new) definition: `select` is
/// the list of columns to read through the current definition, in the new
/// definition's order.
async fn rewrite(
    session: &mut Session,
    entry: &TableEntry,
    def: TableDef,
    select: &str,
) -> Result<()> {
    let sql = format!("select {select} from {}", qualified(session, entry));
    let stmt = super::internal_statement(&sql)?;
    let plan = super::query::plan_statement(session, &stmt).await?;
    let physical = session.state.create_physical_plan(&plan).await?;
    let physical = crate::table::sorted_for(&def, physical)?;
    let stream = datafusion::physical_plan::execute_stream(physical, session.task_ctx())?;
    let stream = super::dml::cast_stream(stream, def.arrow_schema());
    let old_files: Vec<u64> = entry.files.iter().map(|f| f.id).collect();
    {
        let mut state = lock(&session.shared);
        let tx = state.tx();
        tx.mark_read(entry.id);
        // VACUUM keeps the definition; not touching it lets concurrent
        // blind inserts commit.
        if def != *entry.def {
            tx.alter_table(entry.id, entry.schema_id, &entry.name, def)?;
        }
    }
    let rewritten = session.table_by_id(entry.id)?;
    crate::table::write_rows(&session.storage, &session.shared, &rewritten, stream).await?;
    let mut state = lock(&session.shared);
    for f in old_files {
        state.tx().remove_file(entry.id, f)?;
    }
    Ok(())
}

/// `ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET]`: moves
/// every row of `source` into `target` and commits.
pub(crate) async fn append(
    session: &mut Session,
    target: &ObjectName,
    source: &ObjectName,
    ignore_extra: bool,
    fill_target: bool,
) -> Result<Output> {
    if session.tx != TxStatus::Idle {
        return Err(EngineError::sql(
            SqlState::ActiveSqlTransaction,
            "ALTER TABLE APPEND cannot run inside a transaction block",
        ));
    }
    let t = session.table_entry(target)?;
    let s = session.table_entry(source)?;
    if t.id == s.id {
        return Err(EngineError::sql(
            SqlState::InvalidParameterValue,
            "cannot append a table to itself",
        ));
    }
    let extra_source = s
        .def
        .columns
        .iter()
        .any(|c| t.def.column_index(&c.name).is_none());
    let extra_target = t
        .def
        .columns
        .iter()
        .any(|c| s.def.column_index(&c.name).is_none());
    if (extra_source && !ignore_extra) || (extra_target && !fill_target) {
        return Err(EngineError::sql(
            SqlState::InvalidTableDefinition,
            "Columns don't match.",
        ));
    }
    let common: Vec<String> = t
        .def
        .columns
        .iter()
        .filter(|c| s.def.column_index(&c.name).is_some())
        .map(|c| quote(&c.name))
        .collect();
    let cols = common.join(", ");
    let sql = format!(
        "insert into {target} ({cols}) select {cols} from {src}; delete from {src}",
        target = qualified(session, &t),
        src = qualified(session, &s),
    );
    run_internal(session, &sql).await?;
    Ok(Output::Command("ALTER TABLE APPEND".into()))
}

/// VACUUM [table]: rewrites tables with deleted rows, or with more than one
/// file and a sort key, dropping deleted rows and restoring SORTKEY order.
pub(crate) async fn vacuum(session: &mut Session, table: Option<&ObjectName>) -> Result<Output> {
    if session.tx != TxStatus::Idle {
        return Err(EngineError::sql(
            SqlState::ActiveSqlTransaction,
            "VACUUM cannot run inside a transaction block",
        ));
    }
    let entries: Vec<Arc<TableEntry>> = match table {
        Some(name) => vec![session.table_entry(name)?],
        None => {
            let database = session.info.database.clone();
            let temp = lock(&session.shared).temp_schema.clone();
            let mut state = lock(&session.shared);
            let catalog = state.tx().catalog();
            catalog
                .schemas(&database)
                .iter()
                .filter(|s| !s.name.starts_with("pg_temp_") || s.name == temp)
                .flat_map(|s| catalog.tables_in(s.id))
                .filter(|t| !t.def.is_view())
                .collect()
        }
    };
    for entry in entries {
        let has_deletes = entry.files.iter().any(|f| !f.deleted.is_empty());
        let unsorted = !entry.def.sortkey.is_empty() && !files_in_key_order(&entry);
        if !(has_deletes || unsorted) {
            continue;
        }
        let def = entry.def.as_ref().clone();
        let select = carried(&def, None);
        rewrite(session, &entry, def, &select).await?;
    }
    Ok(Output::Command("VACUUM".into()))
}

/// Whether the files, in the table's order, hold ascending, non-overlapping
/// ranges of the first sort key column (so the table reads as sorted).
fn files_in_key_order(entry: &TableEntry) -> bool {
    use datafusion::common::ScalarValue;
    let Some(key) = entry.def.sortkey.first() else {
        return true;
    };
    let mut ranges = Vec::with_capacity(entry.files.len());
    for f in entry.files.iter() {
        let Some(stats) = &f.stats else {
            return false;
        };
        let Ok(i) = stats.min_max.schema().index_of(key) else {
            return false;
        };
        let column = stats.min_max.column(i);
        let (Ok(min), Ok(max)) = (
            ScalarValue::try_from_array(column, 0),
            ScalarValue::try_from_array(column, 1),
        ) else {
            return false;
        };
        if min.is_null() || max.is_null() {
            return false;
        }
        ranges.push((min, max));
    }
    ranges
        .windows(2)
        .all(|w| w[0].1.partial_cmp(&w[1].0).is_some_and(|o| o.is_le()))
}

/// ANALYZE [table]: statistics are gathered as files are written, so there
/// is nothing to refresh; the table must exist.
pub(crate) fn analyze(session: &mut Session, table: Option<&ObjectName>) -> Result<Output> {
    if let Some(name) = table {
        session.table_entry(name)?;
    }
    Ok(Output::Command("ANALYZE".into()))
}

/// `ALTER TABLE t OWNER TO user`.
pub(crate) fn owner_to(session: &mut Session, table: &ObjectName, owner: &str) -> Result<Output> {
    let entry = session.table_entry(table)?;
    let mut def = entry.def.as_ref().clone();
    def.owner = owner.to_string();
    lock(&session.shared)
        .tx()
        .alter_table(entry.id, entry.schema_id, &entry.name, def)?;
    Ok(Output::Command("ALTER TABLE".into()))
}
