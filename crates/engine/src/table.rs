//! A Shale table as a DataFusion `TableProvider`: scans over the table's
//! Parquet files as of the session's transaction, and INSERT into it.
//!
//! Scans skip files whose column statistics rule out the query's filters,
//! apply each file's deletion vector as a Parquet row selection, and leave
//! the rest to DataFusion's Parquet reader (row-group and page pruning,
//! filter pushdown, all cores). Writes go through [`write_rows`], which
//! checks every batch against the table's definition ([`validate`]: NOT
//! NULL, character lengths in bytes) before it reaches a file, and adds the
//! files to the transaction; nothing is visible to others until it commits.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, GenericByteArray, RecordBatch, StringArray, UInt64Array,
    new_null_array,
};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{Column, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::parquet::arrow::RowNumber;
use datafusion::parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::pruning::{PruningPredicateBuilder, PruningStatistics};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::display::{DisplayAs, DisplayFormatType};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::expressions::col as physical_col;
use datafusion::physical_plan::sorts::sort::SortExec;
use futures::StreamExt;
use shale_common::SqlState;
use shale_storage::{Catalog, ColumnType, DataFile, RoaringBitmap, Storage, TableDef, TableEntry};

use crate::catalog::{SharedTx, lock};
use crate::error::{EngineError, Result};

/// Where table files are registered in DataFusion's object-store registry.
pub(crate) const WAREHOUSE_URL: &str = "shale://warehouse/";

/// Hidden columns of a row-location scan.
pub(crate) const FILE_COLUMN: &str = "$file";
pub(crate) const ROW_COLUMN: &str = "$row";

/// Turns a column's DEFAULT text into an expression.
pub(crate) type DefaultParser = Arc<dyn Fn(&str) -> DfResult<Expr> + Send + Sync>;

/// A table of the session's transaction.
pub(crate) struct ShaleTable {
    pub entry: Arc<TableEntry>,
    /// Keeps the files of the snapshot from being collected while in use.
    _view: Arc<Catalog>,
    shared: SharedTx,
    storage: Storage,
    /// The table's columns, plus `$file` and `$row` for a row-location scan.
    schema: SchemaRef,
    row_id: bool,
    defaults: HashMap<String, Expr>,
}

impl std::fmt::Debug for ShaleTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShaleTable")
            .field("table", &self.entry.name)
            .field("row_id", &self.row_id)
            .finish_non_exhaustive()
    }
}

impl ShaleTable {
    pub(crate) fn new(
        entry: Arc<TableEntry>,
        view: Arc<Catalog>,
        shared: SharedTx,
        storage: Storage,
        row_id: bool,
        parse_default: &DefaultParser,
        identity: &Arc<datafusion::logical_expr::ScalarUDF>,
    ) -> Result<Self> {
        let file_schema = entry.def.arrow_schema();
        let schema = if row_id {
            let mut fields: Vec<FieldRef> = file_schema.fields().iter().cloned().collect();
            fields.push(Arc::new(Field::new(FILE_COLUMN, DataType::Int64, false)));
            fields.push(row_number_field());
            Arc::new(Schema::new(fields))
        } else {
            file_schema
        };
        let mut defaults = HashMap::new();
        for (i, c) in entry.def.columns.iter().enumerate() {
            if let Some(text) = &c.default {
                defaults.insert(c.name.clone(), parse_default(text)?);
            } else if c.identity.is_some() {
                defaults.insert(
                    c.name.clone(),
                    crate::identity::default_expr(identity, entry.id, i),
                );
            }
        }
        Ok(ShaleTable {
            entry,
            _view: view,
            shared,
            storage,
            schema,
            row_id,
            defaults,
        })
    }
}

fn row_number_field() -> FieldRef {
    Arc::new(Field::new(ROW_COLUMN, DataType::Int64, true).with_extension_type(RowNumber))
}

#[async_trait]
impl TableProvider for ShaleTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    fn statistics(&self) -> Option<Statistics> {
        let rows = usize::try_from(self.entry.live_rows()).unwrap_or(usize::MAX);
        let bytes: u64 = self.entry.files.iter().map(|f| f.byte_size).sum();
        Some(
            Statistics::new_unknown(&self.schema)
                .with_num_rows(Precision::Inexact(rows))
                .with_total_byte_size(Precision::Inexact(
                    usize::try_from(bytes).unwrap_or(usize::MAX),
                )),
        )
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        lock(&self.shared).tx().mark_read(self.entry.id);
        let file_schema = self.entry.def.arrow_schema();
        let files = prune(state, &self.entry.files, &file_schema, filters);
        if files.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let mut builder = TableSchema::builder(Arc::clone(&file_schema));
        if self.row_id {
            builder = builder
                .with_table_partition_cols(vec![Arc::new(Field::new(
                    FILE_COLUMN,
                    DataType::Int64,
                    false,
                ))])
                .with_virtual_columns(vec![row_number_field()]);
        }
        let options = state.table_options().parquet.clone();
        let source =
            ParquetSource::new(builder.build()).with_table_parquet_options(options.clone());
        let partitions = state.config().target_partitions().max(1);
        let groups = group_files(&files, partitions, self.row_id);
        let url = ObjectStoreUrl::parse(WAREHOUSE_URL)?;
        let mut config = FileScanConfigBuilder::new(url, Arc::new(source))
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit);
        if !self.row_id {
            // Row counts and column bounds let the optimizer pick join
            // build sides and estimate selectivity.
            config = config.with_statistics(scan_statistics(&files, &file_schema));
        }
        let config = config.build();
        let format = ParquetFormat::default().with_options(options);
        let plan = format.create_physical_plan(state, config).await?;
        Ok(plan)
    }

    async fn insert_into(
        &self,
        _state: &dyn DfSession,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} is not supported"
            )));
        }
        let input = sorted_for(&self.entry.def, input)?;
        let sink = ShaleSink {
            entry: Arc::clone(&self.entry),
            shared: Arc::clone(&self.shared),
            storage: self.storage.clone(),
            schema: self.entry.def.arrow_schema(),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// Orders rows by the table's SORTKEY before they are written.
pub(crate) fn sorted_for(
    def: &TableDef,
    input: Arc<dyn ExecutionPlan>,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let schema = input.schema();
    let exprs = def
        .sortkey
        .iter()
        .filter_map(|name| physical_col(name, &schema).ok())
        .map(|e| PhysicalSortExpr::new(e, Default::default()))
        .collect::<Vec<_>>();
    match LexOrdering::new(exprs) {
        Some(ordering) => Ok(Arc::new(SortExec::new(ordering, input))),
        None => Ok(input),
    }
}

/// Spreads files over `partitions` groups of similar size. A row-location
/// scan names each file's id in the `$file` column.
fn group_files(files: &[Arc<DataFile>], partitions: usize, row_id: bool) -> Vec<FileGroup> {
    let mut sorted: Vec<&Arc<DataFile>> = files.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.byte_size));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = (0..partitions.min(files.len()))
        .map(|_| (0, Vec::new()))
        .collect();
    for f in sorted {
        let mut file = PartitionedFile::new(f.path.clone(), f.byte_size);
        if row_id {
            file = file.with_partition_values(vec![ScalarValue::Int64(Some(f.id as i64))]);
        }
        if !f.deleted.is_empty() {
            file = file.with_extension(ParquetRowSelection::new(live_selection(
                &f.deleted,
                f.row_count,
            )));
        }
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += f.byte_size;
            g.1.push(file);
        }
    }
    groups.into_iter().map(|(_, g)| FileGroup::new(g)).collect()
}

/// The rows of a file that are not deleted, as a Parquet row selection.
fn live_selection(deleted: &RoaringBitmap, rows: u64) -> RowSelection {
    let mut selectors = Vec::new();
    let mut at: u64 = 0;
    for d in deleted.iter().map(u64::from).filter(|d| *d < rows) {
        if d > at {
            selectors.push(RowSelector::select((d - at) as usize));
        }
        match selectors.last_mut() {
            Some(last) if last.skip => last.row_count += 1,
            _ => selectors.push(RowSelector::skip(1)),
        }
        at = d + 1;
    }
    if at < rows {
        selectors.push(RowSelector::select((rows - at) as usize));
    }
    RowSelection::from(selectors)
}

/// Keeps the files whose statistics may hold rows matching the filters, and
/// that have rows left.
fn prune(
    state: &dyn DfSession,
    files: &[Arc<DataFile>],
    schema: &SchemaRef,
    filters: &[Expr],
) -> Vec<Arc<DataFile>> {
    let live: Vec<Arc<DataFile>> = files
        .iter()
        .filter(|f| f.live_rows() > 0)
        .cloned()
        .collect();
    let Some(predicate) = conjunction(filters.iter().cloned()) else {
        return live;
    };
    let Ok(df_schema) = DFSchema::try_from(schema.as_ref().clone()) else {
        return live;
    };
    let Ok(physical) = state.create_physical_expr(predicate, &df_schema) else {
        return live;
    };
    let Some(pruning) = PruningPredicateBuilder::new()
        .with_file_schema(Arc::clone(schema))
        .build(physical)
    else {
        return live;
    };
    let stats = FileStatistics {
        files: &live,
        schema,
    };
    match pruning.prune(&stats) {
        Ok(keep) => live
            .into_iter()
            .zip(keep)
            .filter_map(|(f, k)| k.then_some(f))
            .collect(),
        Err(_) => live,
    }
}

/// The statistics of a scan over these files, from the catalog's per-file
/// statistics. All inexact: deleted rows may have held a bound or a null.
fn scan_statistics(files: &[Arc<DataFile>], schema: &SchemaRef) -> Statistics {
    let rows: u64 = files.iter().map(|f| f.live_rows()).sum();
    let bytes: u64 = files.iter().map(|f| f.byte_size).sum();
    let mut stats = Statistics::new_unknown(schema)
        .with_num_rows(Precision::Inexact(
            usize::try_from(rows).unwrap_or(usize::MAX),
        ))
        .with_total_byte_size(Precision::Inexact(
            usize::try_from(bytes).unwrap_or(usize::MAX),
        ));
    for (index, column) in stats.column_statistics.iter_mut().enumerate() {
        let mut min: Option<ScalarValue> = None;
        let mut max: Option<ScalarValue> = None;
        let mut nulls = 0u64;
        let mut known = true;
        for f in files {
            let Some(s) = f.stats.as_ref().filter(|s| s.min_max.num_columns() > index) else {
                known = false;
                break;
            };
            let array = s.min_max.column(index);
            let (Ok(lo), Ok(hi)) = (
                ScalarValue::try_from_array(array, 0),
                ScalarValue::try_from_array(array, 1),
            ) else {
                known = false;
                break;
            };
            if lo.is_null() || hi.is_null() {
                known = false;
                break;
            }
            nulls += s.null_counts.get(index).copied().unwrap_or(0);
            min = Some(match min {
                Some(m) if m.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) => m,
                _ => lo,
            });
            max = Some(match max {
                Some(m) if m.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) => m,
                _ => hi,
            });
        }
        if !known {
            continue;
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            column.min_value = Precision::Inexact(lo);
            column.max_value = Precision::Inexact(hi);
        }
        column.null_count = Precision::Inexact(usize::try_from(nulls).unwrap_or(usize::MAX));
    }
    stats
}

/// The catalog's per-file statistics, as DataFusion's pruning reads them.
struct FileStatistics<'a> {
    files: &'a [Arc<DataFile>],
    schema: &'a SchemaRef,
}

impl FileStatistics<'_> {
    fn bound(&self, column: &Column, row: usize) -> Option<ArrayRef> {
        let index = self.schema.index_of(column.name()).ok()?;
        let ty = self.schema.field(index).data_type();
        let arrays: Vec<ArrayRef> = self
            .files
            .iter()
            .map(|f| match &f.stats {
                Some(s) if s.min_max.num_columns() > index => s.min_max.column(index).slice(row, 1),
                _ => new_null_array(ty, 1),
            })
            .collect();
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        concat(&refs).ok()
    }
}

impl PruningStatistics for FileStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, 0)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bound(column, 1)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let index = self.schema.index_of(column.name()).ok()?;
        let counts: UInt64Array = self
            .files
            .iter()
            .map(|f| {
                f.stats
                    .as_ref()
                    .and_then(|s| s.null_counts.get(index).copied())
            })
            .collect();
        // Deleted rows may have held the nulls, so a count is only a bound
        // when nothing is deleted.
        let counts: UInt64Array = counts
            .iter()
            .zip(self.files)
            .map(|(c, f)| if f.deleted.is_empty() { c } else { None })
            .collect();
        Some(Arc::new(counts))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let counts: UInt64Array = self
            .files
            .iter()
            .map(|f| f.deleted.is_empty().then_some(f.row_count))
            .collect();
        Some(Arc::new(counts))
    }

    fn contained(
        &self,
        _column: &Column,
        _values: &std::collections::HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

/// INSERT's destination.
struct ShaleSink {
    entry: Arc<TableEntry>,
    shared: SharedTx,
    storage: Storage,
    schema: SchemaRef,
}

impl std::fmt::Debug for ShaleSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShaleSink")
            .field("table", &self.entry.name)
            .finish_non_exhaustive()
    }
}

impl DisplayAs for ShaleSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShaleSink: table={}", self.entry.name)
    }
}

#[async_trait]
impl DataSink for ShaleSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> DfResult<u64> {
        write_rows(&self.storage, &self.shared, &self.entry, data)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }
}

/// Writes a stream of rows in the table's schema into new files and adds
/// them to the session's transaction. Returns the number of rows.
pub(crate) async fn write_rows(
    storage: &Storage,
    shared: &SharedTx,
    entry: &TableEntry,
    mut data: SendableRecordBatchStream,
) -> Result<u64> {
    let mut writer = storage.file_writer(entry.id, entry.def.arrow_schema());
    let mut count = 0u64;
    let written: Result<()> = async {
        while let Some(batch) = data.next().await {
            let batch = validate(&entry.def, batch?)?;
            if batch.num_rows() == 0 {
                continue;
            }
            count += batch.num_rows() as u64;
            writer.write(&batch).await?;
        }
        Ok(())
    }
    .await;
    // On an error the writer is dropped, which removes its files.
    written?;
    let files = writer.finish().await?;
    lock(shared).tx().add_files(entry.id, files)?;
    Ok(count)
}

/// Checks a batch against the table's definition and brings its values to
/// their stored form: NOT NULL, byte lengths of character columns (trailing
/// spaces beyond the length are cut, as Redshift does), single-byte CHAR.
pub(crate) fn validate(def: &TableDef, batch: RecordBatch) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, c) in def.columns.iter().enumerate() {
        let Some(array) = columns.get(i) else {
            break;
        };
        if c.not_null && array.null_count() > 0 {
            return Err(EngineError::sql(
                SqlState::NotNullViolation,
                format!("Cannot insert a NULL value into column {}", c.name),
            ));
        }
        match c.ty {
            ColumnType::Varchar(n) | ColumnType::Char(n) => {
                if let Some(fixed) = fit_strings(array, &c.ty, n)? {
                    columns[i] = fixed;
                }
            }
            ColumnType::Varbyte(n) => {
                if let Some(bytes) = array
                    .as_any()
                    .downcast_ref::<GenericByteArray<datafusion::arrow::datatypes::GenericBinaryType<i32>>>()
                    && bytes.iter().flatten().any(|b| b.len() > n as usize)
                {
                    return Err(EngineError::sql(
                        SqlState::StringDataRightTruncation,
                        format!("value too long for type {}", c.ty.sql_name()),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Returns a corrected array when some values needed trailing spaces cut
/// (or, for CHAR, trimmed); errors for values that do not fit.
fn fit_strings(array: &ArrayRef, ty: &ColumnType, n: u32) -> Result<Option<ArrayRef>> {
    let Some(strings) = array.as_any().downcast_ref::<StringArray>() else {
        return Ok(None);
    };
    let limit = n as usize;
    let is_char = matches!(ty, ColumnType::Char(_));
    let needs_change = strings
        .iter()
        .flatten()
        .any(|s| s.len() > limit || (is_char && (s.ends_with(' ') || !s.is_ascii())));
    if !needs_change {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(strings.len());
    for s in strings.iter() {
        let Some(s) = s else {
            out.push(None);
            continue;
        };
        let kept = if is_char || s.len() > limit {
            s.trim_end_matches(' ')
        } else {
            s
        };
        if kept.len() > limit {
            return Err(EngineError::sql(
                SqlState::StringDataRightTruncation,
                format!("value too long for type {}", ty.sql_name()),
            ));
        }
        if is_char && !kept.is_ascii() {
            return Err(EngineError::sql(
                SqlState::InvalidParameterValue,
                "Multibyte character not supported for CHAR (Hint: Try using VARCHAR)",
            ));
        }
        out.push(Some(kept.to_string()));
    }
    Ok(Some(Arc::new(StringArray::from(out))))
}
