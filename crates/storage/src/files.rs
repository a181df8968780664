//! Writing a table's Parquet data files.
//!
//! A [`FileWriter`] takes record batches in the table's schema and writes
//! them through `object_store` into files of at most [`ROWS_PER_FILE`] rows
//! under `tables/<table id>/<file id>.parquet`. Each finished file comes with
//! its row count, size and per-column statistics (minimum, maximum, nulls),
//! read from the row-group statistics the Parquet writer computed. Files are
//! not visible to anyone until a transaction that adds them commits; the
//! commit makes them durable first.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow::compute::{SortOptions, concat, sort_to_indices, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;

use crate::catalog::{DataFile, FileStats, ObjectId};
use crate::error::Result;

/// Rows per data file before the writer starts another.
pub const ROWS_PER_FILE: usize = 1_048_576;
/// Rows per Parquet row group (the unit of pruning inside a file).
pub const ROWS_PER_ROW_GROUP: usize = 131_072;

/// Allocates object ids for new files.
pub(crate) type IdSource = Arc<dyn Fn() -> ObjectId + Send + Sync>;

/// The object path of a data file.
pub fn data_file_path(table: ObjectId, file: ObjectId) -> String {
    format!("tables/{table}/{file}.parquet")
}

/// Writes batches into new data files of one table.
pub struct FileWriter {
    store: Arc<dyn ObjectStore>,
    /// The local directory behind `store`, for removing files on drop.
    root: std::path::PathBuf,
    ids: IdSource,
    table: ObjectId,
    schema: SchemaRef,
    current: Option<Open>,
    finished: Vec<DataFile>,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter")
            .field("table", &self.table)
            .field("finished", &self.finished.len())
            .finish_non_exhaustive()
    }
}

struct Open {
    id: ObjectId,
    path: String,
    rows: usize,
    writer: AsyncArrowWriter<BufWriter>,
}

impl FileWriter {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        root: std::path::PathBuf,
        ids: IdSource,
        table: ObjectId,
        schema: SchemaRef,
    ) -> Self {
        FileWriter {
            store,
            root,
            ids,
            table,
            schema,
            current: None,
            finished: Vec::new(),
        }
    }

    /// The schema batches must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Paths of every file started so far, finished or not (for cleanup when
    /// the write fails).
    pub fn paths(&self) -> Vec<String> {
        self.finished
            .iter()
            .map(|f| f.path.clone())
            .chain(self.current.as_ref().map(|o| o.path.clone()))
            .collect()
    }

    /// Appends a batch. Its columns must match the table's schema in type.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?;
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.current.is_none() {
                self.current = Some(self.open()?);
            }
            let Some(open) = self.current.as_mut() else {
                break;
            };
            let room = ROWS_PER_FILE - open.rows;
            let n = room.min(batch.num_rows() - offset);
            open.writer.write(&batch.slice(offset, n)).await?;
            open.rows += n;
            offset += n;
            if open.rows >= ROWS_PER_FILE {
                self.close_current().await?;
            }
        }
        Ok(())
    }

    /// Finishes the last file and returns every file written; from then on
    /// the caller owns them. A writer dropped before it finished (a failed
    /// or cancelled statement) removes what it wrote.
    pub async fn finish(mut self) -> Result<Vec<DataFile>> {
        self.close_current().await?;
        Ok(std::mem::take(&mut self.finished))
    }

    fn open(&self) -> Result<Open> {
        let id = (self.ids)();
        let path = data_file_path(self.table, id);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
            .build();
        let object = BufWriter::new(Arc::clone(&self.store), ObjectPath::from(path.as_str()));
        let writer = AsyncArrowWriter::try_new(object, Arc::clone(&self.schema), Some(props))?;
        Ok(Open {
            id,
            path,
            rows: 0,
            writer,
        })
    }

    async fn close_current(&mut self) -> Result<()> {
        let Some(open) = self.current.take() else {
            return Ok(());
        };
        let byte_size = open.writer.bytes_written() as u64;
        let metadata = open.writer.close().await?;
        let stats = file_stats(&self.schema, &metadata).ok().map(Arc::new);
        let row_count = u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);
        let byte_size = self
            .store
            .head(&ObjectPath::from(open.path.as_str()))
            .await
            .map(|m| m.size)
            .unwrap_or(byte_size);
        self.finished.push(DataFile {
            id: open.id,
            path: open.path,
            row_count,
            byte_size,
            stats,
            deleted: Arc::new(roaring::RoaringBitmap::new()),
        });
        Ok(())
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        for p in self.paths() {
            let _ = std::fs::remove_file(self.root.join(p));
        }
    }
}

/// Per-column minimum, maximum and null count of a written file.
fn file_stats(schema: &SchemaRef, metadata: &ParquetMetaData) -> Result<FileStats> {
    let parquet_schema = metadata.file_metadata().schema_descr();
    let mut mins = Vec::with_capacity(schema.fields().len());
    let mut maxes = Vec::with_capacity(schema.fields().len());
    let mut null_counts = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let converter = StatisticsConverter::try_new(field.name(), schema, parquet_schema)?;
        let groups = metadata.row_groups();
        let min = converter
            .row_group_mins(groups.iter())
            .and_then(|a| Ok(extreme(&a, false)?))
            .unwrap_or_else(|_| new_null_array(field.data_type(), 1));
        let max = converter
            .row_group_maxes(groups.iter())
            .and_then(|a| Ok(extreme(&a, true)?))
            .unwrap_or_else(|_| new_null_array(field.data_type(), 1));
        let nulls = converter
            .row_group_null_counts(groups.iter())
            .map(|a| a.iter().map(|v| v.unwrap_or(0)).sum())
            .unwrap_or(0);
        mins.push(min);
        maxes.push(max);
        null_counts.push(nulls);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), f.data_type().clone(), true))
        .collect();
    let columns = mins
        .into_iter()
        .zip(maxes)
        .map(|(min, max)| concat(&[min.as_ref(), max.as_ref()]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let min_max = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok(FileStats {
        min_max,
        null_counts,
    })
}

/// The smallest (or largest) non-null value of an array, as a one-element
/// array; null when every value is null.
fn extreme(
    values: &ArrayRef,
    largest: bool,
) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
    if values.null_count() == values.len() {
        return Ok(new_null_array(values.data_type(), 1));
    }
    let options = SortOptions {
        descending: largest,
        nulls_first: false,
    };
    let index = sort_to_indices(values, Some(options), Some(1))?;
    take(values.as_ref(), &index, None)
}
