//! DELETE, UPDATE and MERGE on Shale's tables.
//!
//! Each statement is restated as a query over the target table's row
//! locations: the target is scanned as `name$rowid`, whose hidden `$file`
//! and `$row` columns say where each row lives, joined and filtered exactly
//! as the statement says (USING, FROM, ON, WHERE). DELETE marks the rows it
//! finds in the files' deletion vectors; UPDATE marks them and writes their
//! new versions to new files; MERGE does both and inserts the source rows
//! that matched nothing. Nothing is copied that the statement does not
//! change, and everything lands in the session's transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::{CastOptions, cast_with_options, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Delete, FromTable, Ident, Merge, MergeAction, MergeClauseKind,
    MergeInsertKind, ObjectName, Statement, TableFactor, TableWithJoins, Update,
    UpdateTableFromKind,
};
use futures::StreamExt;
use shale_common::SqlState;
use shale_storage::{FileWriter, RoaringBitmap, TableEntry};

use crate::catalog::{ROW_ID_SUFFIX, lock};
use crate::error::{EngineError, Result};
use crate::parse::create_table::{folded, last_folded, quoted as quote};
use crate::session::{Output, Session};
use crate::table::{FILE_COLUMN, ROW_COLUMN, validate};

/// The statement's target: the table, how to name its row-location scan in
/// SQL, and the name its columns are qualified with.
struct Target {
    entry: Arc<TableEntry>,
    rowid_table: String,
    alias: String,
}

fn target(
    session: &mut Session,
    name: &ObjectName,
    alias: Option<&Ident>,
    verb: &str,
) -> Result<Target> {
    let entry = session.table_entry(name)?;
    if entry.def.is_view() {
        return Err(EngineError::sql(
            SqlState::WrongObjectType,
            format!("cannot {verb} view \"{}\"", entry.name),
        ));
    }
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(folded).unwrap_or_else(|| p.to_string()))
        .collect();
    let last = parts.len().saturating_sub(1);
    let rowid_table = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == last {
                quote(&format!("{p}{ROW_ID_SUFFIX}"))
            } else {
                quote(p)
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    let alias = alias
        .map(folded)
        .unwrap_or_else(|| parts.last().cloned().unwrap_or_default());
    Ok(Target {
        entry,
        rowid_table,
        alias,
    })
}

fn table_target(session: &mut Session, relation: &TableFactor, verb: &str) -> Result<Target> {
    match relation {
        TableFactor::Table { name, alias, .. } => {
            target(session, name, alias.as_ref().map(|a| &a.name), verb)
        }
        other => Err(EngineError::unsupported(format!(
            "cannot {verb} {other}: the target must be a table"
        ))),
    }
}

fn joins_sql(t: &TableWithJoins) -> String {
    t.joins.iter().map(|j| format!(" {j}")).collect()
}

/// Whether a statement runs, or is only described (its `$n` types found).
pub(crate) enum Mode<'a> {
    Run(Vec<ScalarValue>),
    Describe(&'a mut Vec<Option<DataType>>),
}

/// The `$n` types of a DELETE, UPDATE or MERGE, from its internal query.
pub(crate) async fn parameter_types(
    session: &mut Session,
    stmt: &Statement,
) -> Result<Vec<Option<DataType>>> {
    let mut types = Vec::new();
    match stmt {
        Statement::Delete(d) => delete(session, d, Mode::Describe(&mut types)).await?,
        Statement::Update(u) => update(session, u, Mode::Describe(&mut types)).await?,
        Statement::Merge(m) => merge(session, m, Mode::Describe(&mut types)).await?,
        _ => return Ok(types),
    };
    Ok(types)
}

async fn describe_query(session: &mut Session, sql: &str) -> Result<Vec<Option<DataType>>> {
    let stmt = super::internal_statement(sql)?;
    let plan = crate::handler::query::plan_statement(session, &stmt).await?;
    crate::handler::query::parameter_types(&plan)
}

/// Runs a statement's internal query; when only describing, records its
/// parameter types instead and gives `None`.
async fn start(
    session: &mut Session,
    sql: &str,
    mode: Mode<'_>,
) -> Result<Option<SendableRecordBatchStream>> {
    match mode {
        Mode::Run(params) => {
            let stmt = super::internal_statement(sql)?;
            let plan = crate::handler::query::plan_with_params(session, &stmt, params).await?;
            Ok(Some(
                crate::handler::query::execute_plan(session, plan).await?,
            ))
        }
        Mode::Describe(types) => {
            *types = describe_query(session, sql).await?;
            Ok(None)
        }
    }
}

/// Row locations gathered per data file.
#[derive(Default)]
struct Locations {
    by_file: BTreeMap<u64, RoaringBitmap>,
    count: u64,
}

impl Locations {
    /// Adds a location; false if it was already there.
    fn insert(&mut self, file: i64, row: i64) -> Result<bool> {
        let (Ok(file), Ok(row)) = (u64::try_from(file), u32::try_from(row)) else {
            return Err(EngineError::sql(
                SqlState::InternalError,
                "bad row location",
            ));
        };
        let fresh = self.by_file.entry(file).or_default().insert(row);
        if fresh {
            self.count += 1;
        }
        Ok(fresh)
    }

    fn apply(self, session: &Session, table: u64) -> Result<u64> {
        let mut state = lock(&session.shared);
        for (file, rows) in self.by_file {
            state.tx().delete_rows(table, file, rows)?;
        }
        Ok(self.count)
    }
}

fn location_columns(batch: &RecordBatch) -> Result<(&Int64Array, &Int64Array)> {
    let get = |i: usize| {
        batch
            .columns()
            .get(i)
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .ok_or_else(|| EngineError::sql(SqlState::InternalError, "row locations missing"))
    };
    Ok((get(0)?, get(1)?))
}

/// New row versions on their way to files.
struct NewRows<'a> {
    session: &'a Session,
    entry: &'a TableEntry,
    schema: SchemaRef,
    writer: Option<FileWriter>,
    count: u64,
}

impl<'a> NewRows<'a> {
    fn new(session: &'a Session, entry: &'a TableEntry) -> Self {
        NewRows {
            session,
            entry,
            schema: entry.def.arrow_schema(),
            writer: None,
            count: 0,
        }
    }

    async fn push(&mut self, columns: &[ArrayRef]) -> Result<()> {
        if columns.first().is_none_or(|c| c.is_empty()) {
            return Ok(());
        }
        let batch = cast_columns(columns, &self.schema)?;
        let batch = validate(&self.entry.def, batch)?;
        let writer = self.writer.get_or_insert_with(|| {
            self.session
                .storage
                .file_writer(self.entry.id, Arc::clone(&self.schema))
        });
        self.count += batch.num_rows() as u64;
        writer.write(&batch).await?;
        Ok(())
    }

    async fn finish(self) -> Result<u64> {
        if let Some(writer) = self.writer {
            let files = writer.finish().await?;
            lock(&self.session.shared)
                .tx()
                .add_files(self.entry.id, files)?;
        }
        Ok(self.count)
    }
}

/// Casts columns to the table's types; a value that does not fit is an
/// error, never a silent NULL.
fn cast_columns(columns: &[ArrayRef], schema: &SchemaRef) -> Result<RecordBatch> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let cast = columns
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                cast_with_options(c, f.data_type(), &options)
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| EngineError::DataFusion(DataFusionError::ArrowError(Box::new(e), None)))?;
    RecordBatch::try_new(Arc::clone(schema), cast)
        .map_err(|e| EngineError::DataFusion(DataFusionError::ArrowError(Box::new(e), None)))
}

/// A query's rows cast to a table's schema (CREATE TABLE AS).
pub(crate) fn cast_stream(
    stream: SendableRecordBatchStream,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let target = Arc::clone(&schema);
    let mapped = stream.map(move |batch| {
        let batch = batch?;
        cast_columns(batch.columns(), &target).map_err(|e| DataFusionError::External(Box::new(e)))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, mapped))
}

pub(crate) async fn delete(session: &mut Session, d: &Delete, mode: Mode<'_>) -> Result<Output> {
    if !d.tables.is_empty() || d.limit.is_some() || !d.order_by.is_empty() || d.returning.is_some()
    {
        return Err(EngineError::unsupported(
            "DELETE with a table list, LIMIT, ORDER BY or RETURNING is not supported",
        ));
    }
    let from = match &d.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    let Some(first) = from.first() else {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "DELETE needs a table",
        ));
    };
    let t = table_target(session, &first.relation, "delete from")?;
    let mut sql = format!(
        "SELECT {a}.\"{FILE_COLUMN}\", {a}.\"{ROW_COLUMN}\" FROM {table} AS {a}{joins}",
        a = quote(&t.alias),
        table = t.rowid_table,
        joins = joins_sql(first),
    );
    for other in from.iter().skip(1).chain(d.using.iter().flatten()) {
        sql.push_str(&format!(", {other}"));
    }
    if let Some(w) = &d.selection {
        sql.push_str(&format!(" WHERE {w}"));
    }
    let Some(mut stream) = start(session, &sql, mode).await? else {
        return Ok(Output::Command(String::new()));
    };
    let mut locations = Locations::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (files, rows) = location_columns(&batch)?;
        for i in 0..batch.num_rows() {
            locations.insert(files.value(i), rows.value(i))?;
        }
    }
    let n = locations.apply(session, t.entry.id)?;
    Ok(Output::Command(format!("DELETE {n}")))
}

fn assignment_column(target: &AssignmentTarget) -> Result<String> {
    match target {
        AssignmentTarget::ColumnName(name) => Ok(last_folded(name)),
        AssignmentTarget::Tuple(_) => Err(EngineError::unsupported(
            "assigning to a list of columns is not supported",
        )),
    }
}

/// The select list that computes every column of a changed row: the
/// assigned expression, or the column's current value.
fn updated_columns(
    t: &Target,
    assignments: &[datafusion::sql::sqlparser::ast::Assignment],
) -> Result<String> {
    let mut exprs: Vec<Option<String>> = vec![None; t.entry.def.columns.len()];
    for a in assignments {
        let col = assignment_column(&a.target)?;
        let Some(i) = t.entry.def.column_index(&col) else {
            return Err(EngineError::sql(
                SqlState::UndefinedColumn,
                format!(
                    "column \"{col}\" of relation \"{}\" does not exist",
                    t.entry.name
                ),
            ));
        };
        if exprs[i].is_some() {
            return Err(EngineError::sql(
                SqlState::SyntaxError,
                format!("multiple assignments to same column \"{col}\""),
            ));
        }
        exprs[i] = Some(format!("({})", a.value));
    }
    Ok(exprs
        .into_iter()
        .zip(&t.entry.def.columns)
        .enumerate()
        .map(|(i, (e, c))| {
            let e = e.unwrap_or_else(|| format!("{}.{}", quote(&t.alias), quote(&c.name)));
            format!("{e} AS \"$u{i}\"")
        })
        .collect::<Vec<_>>()
        .join(", "))
}

pub(crate) async fn update(session: &mut Session, u: &Update, mode: Mode<'_>) -> Result<Output> {
    if u.limit.is_some() || !u.order_by.is_empty() || u.returning.is_some() || u.or.is_some() {
        return Err(EngineError::unsupported(
            "UPDATE with LIMIT, ORDER BY or RETURNING is not supported",
        ));
    }
    let t = table_target(session, &u.table.relation, "update")?;
    let mut sql = format!(
        "SELECT {a}.\"{FILE_COLUMN}\", {a}.\"{ROW_COLUMN}\", {cols} FROM {table} AS {a}{joins}",
        a = quote(&t.alias),
        cols = updated_columns(&t, &u.assignments)?,
        table = t.rowid_table,
        joins = joins_sql(&u.table),
    );
    if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) =
        &u.from
    {
        for f in from {
            sql.push_str(&format!(", {f}"));
        }
    }
    if let Some(w) = &u.selection {
        sql.push_str(&format!(" WHERE {w}"));
    }
    let Some(mut stream) = start(session, &sql, mode).await? else {
        return Ok(Output::Command(String::new()));
    };
    let width = t.entry.def.columns.len();
    let mut locations = Locations::default();
    let mut rows = NewRows::new(session, &t.entry);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (files, positions) = location_columns(&batch)?;
        // A row joined to several FROM rows is updated once.
        let mut keep = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            keep.push(locations.insert(files.value(i), positions.value(i))?);
        }
        let batch = filter_record_batch(&batch, &BooleanArray::from(keep))?;
        rows.push(&batch.columns()[2..2 + width]).await?;
    }
    rows.finish().await?;
    let n = locations.apply(session, t.entry.id)?;
    Ok(Output::Command(format!("UPDATE {n}")))
}

pub(crate) async fn merge(session: &mut Session, m: &Merge, mode: Mode<'_>) -> Result<Output> {
    // The parser turns `... REMOVE DUPLICATES` into a MERGE without
    // clauses, and refuses any other MERGE without them.
    if m.clauses.is_empty() {
        return merge_remove_duplicates(session, m, mode).await;
    }
    let t = table_target(session, &m.table, "merge into")?;
    let mut update = None;
    let mut delete = false;
    let mut insert = None;
    for clause in &m.clauses {
        if clause.predicate.is_some() {
            return Err(EngineError::unsupported(
                "MERGE clauses with an AND condition are not supported",
            ));
        }
        match (&clause.clause_kind, &clause.action) {
            (MergeClauseKind::Matched, MergeAction::Update(u)) if update.is_none() && !delete => {
                update = Some(&u.assignments)
            }
            (MergeClauseKind::Matched, MergeAction::Delete { .. })
                if update.is_none() && !delete =>
            {
                delete = true
            }
            (
                MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget,
                MergeAction::Insert(i),
            ) if insert.is_none() => insert = Some(i),
            _ => {
                return Err(EngineError::unsupported(
                    "MERGE takes one WHEN MATCHED clause (UPDATE or DELETE) and one WHEN NOT MATCHED clause (INSERT)",
                ));
            }
        }
    }
    let width = t.entry.def.columns.len();
    let mut select = vec![
        format!("{}.\"{FILE_COLUMN}\"", quote(&t.alias)),
        format!("{}.\"{ROW_COLUMN}\"", quote(&t.alias)),
    ];
    if let Some(assignments) = update {
        select.push(updated_columns(&t, assignments)?);
    }
    if let Some(ins) = insert {
        let values = match &ins.kind {
            MergeInsertKind::Values(v) if v.rows.len() == 1 => &v.rows[0],
            _ => {
                return Err(EngineError::unsupported(
                    "MERGE ... INSERT takes one VALUES row",
                ));
            }
        };
        let columns: Vec<String> = if ins.columns.is_empty() {
            t.entry.def.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            ins.columns.iter().map(last_folded).collect()
        };
        if columns.len() != values.content.len() {
            return Err(EngineError::sql(
                SqlState::SyntaxError,
                "INSERT has more target columns than expressions",
            ));
        }
        let mut exprs: Vec<Option<String>> = vec![None; width];
        for (name, value) in columns.iter().zip(&values.content) {
            let Some(i) = t.entry.def.column_index(name) else {
                return Err(EngineError::sql(
                    SqlState::UndefinedColumn,
                    format!(
                        "column \"{name}\" of relation \"{}\" does not exist",
                        t.entry.name
                    ),
                ));
            };
            exprs[i] = Some(format!("({value})"));
        }
        for (i, (e, c)) in exprs.into_iter().zip(&t.entry.def.columns).enumerate() {
            let e = e.unwrap_or_else(|| match (&c.default, c.identity) {
                (Some(d), _) => d.clone(),
                (None, Some(_)) => format!(
                    "{}({}, {i})",
                    crate::identity::IDENTITY_FUNCTION,
                    t.entry.id
                ),
                (None, None) => "NULL".into(),
            });
            select.push(format!("{e} AS \"$i{i}\""));
        }
    }
    let sql = format!(
        "SELECT {cols} FROM {source} LEFT JOIN {table} AS {a} ON {on}",
        cols = select.join(", "),
        source = m.source,
        table = t.rowid_table,
        a = quote(&t.alias),
        on = m.on,
    );
    let Some(mut stream) = start(session, &sql, mode).await? else {
        return Ok(Output::Command(String::new()));
    };
    let mut locations = Locations::default();
    let mut updated = NewRows::new(session, &t.entry);
    let mut inserted = NewRows::new(session, &t.entry);
    let insert_at = if update.is_some() { 2 + width } else { 2 };
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (files, positions) = location_columns(&batch)?;
        let mut matched = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            if files.is_null(i) {
                matched.push(false);
                continue;
            }
            if (update.is_some() || delete)
                && !locations.insert(files.value(i), positions.value(i))?
            {
                return Err(EngineError::sql(
                    SqlState::InternalError,
                    "Found multiple matches to update the same tuple.",
                ));
            }
            matched.push(true);
        }
        let matched = BooleanArray::from(matched);
        if update.is_some() {
            let rows = filter_record_batch(&batch, &matched)?;
            updated.push(&rows.columns()[2..2 + width]).await?;
        }
        if insert.is_some() {
            let unmatched = datafusion::arrow::compute::not(&matched)?;
            let rows = filter_record_batch(&batch, &unmatched)?;
            inserted
                .push(&rows.columns()[insert_at..insert_at + width])
                .await?;
        }
    }
    updated.finish().await?;
    let added = inserted.finish().await?;
    let matched = locations.apply(session, t.entry.id)?;
    Ok(Output::Command(format!("MERGE {}", matched + added)))
}

/// MERGE's simplified mode, `MERGE INTO t USING s ON c REMOVE DUPLICATES`:
/// source and target have the same columns in the same order; every
/// target row that matches a source row is replaced by it, however many
/// duplicates of it the target held, and every other source row is
/// inserted. Done as: delete all matched target rows, insert all source
/// rows, on the statement's one snapshot.
async fn merge_remove_duplicates(
    session: &mut Session,
    m: &Merge,
    mode: Mode<'_>,
) -> Result<Output> {
    let t = table_target(session, &m.table, "merge into")?;
    let width = t.entry.def.columns.len();
    let matched_sql = format!(
        "SELECT DISTINCT {a}.\"{FILE_COLUMN}\", {a}.\"{ROW_COLUMN}\" FROM {source} JOIN {table} AS {a} ON {on}",
        a = quote(&t.alias),
        source = m.source,
        table = t.rowid_table,
        on = m.on,
    );
    let source_sql = format!("SELECT * FROM {}", m.source);
    let params = match mode {
        Mode::Describe(types) => {
            *types = describe_query(session, &matched_sql).await?;
            return Ok(Output::Command(String::new()));
        }
        Mode::Run(params) => params,
    };
    let Some(mut stream) = start(session, &matched_sql, Mode::Run(params.clone())).await? else {
        return Ok(Output::Command(String::new()));
    };
    let mut locations = Locations::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (files, positions) = location_columns(&batch)?;
        for i in 0..batch.num_rows() {
            locations.insert(files.value(i), positions.value(i))?;
        }
    }
    let Some(mut rows) = start(session, &source_sql, Mode::Run(params)).await? else {
        return Ok(Output::Command(String::new()));
    };
    if rows.schema().fields().len() != width {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            format!(
                "MERGE ... REMOVE DUPLICATES needs a source with the target's {width} columns, in order; {} has {}",
                m.source,
                rows.schema().fields().len()
            ),
        ));
    }
    let mut inserted = NewRows::new(session, &t.entry);
    while let Some(batch) = rows.next().await {
        inserted.push(batch?.columns()).await?;
    }
    let added = inserted.finish().await?;
    locations.apply(session, t.entry.id)?;
    Ok(Output::Command(format!("MERGE {added}")))
}
