//! What COPY needs beyond the warehouse (buckets and access keys) and what
//! it leaves behind: Redshift's load logs, STL_LOAD_ERRORS,
//! STL_LOAD_COMMITS, SYS_LOAD_HISTORY and SYS_LOAD_ERROR_DETAIL.
//!
//! The logs are not transactional, as in Redshift: the rows a failed COPY
//! rejected stay visible after its transaction rolls back, which is how
//! users find out why it failed. They are kept in memory, bounded, oldest
//! rows dropped first.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use shale_storage::types::{ColumnDef, ColumnType, TableDef};

use crate::Objects;

/// Rows kept per log before the oldest are dropped.
const LOG_ROWS: usize = 100_000;

/// One value of a log row.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Int(i32),
    Big(i64),
    Text(String),
    /// Microseconds since the epoch, UTC.
    Time(i64),
}

/// A log table: its columns and rows, newest last.
struct Log {
    name: &'static str,
    columns: Vec<(&'static str, ColumnType)>,
    rows: VecDeque<Vec<Cell>>,
}

impl Log {
    fn new(name: &'static str, columns: Vec<(&'static str, ColumnType)>) -> Self {
        Log {
            name,
            columns,
            rows: VecDeque::new(),
        }
    }

    fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        if self.rows.len() == LOG_ROWS {
            self.rows.pop_front();
        }
        self.rows.push_back(row);
    }

    fn schema(&self) -> SchemaRef {
        let columns = self
            .columns
            .iter()
            .map(|(name, ty)| ColumnDef::new(*name, *ty))
            .collect();
        TableDef::new(columns, "rdsdb").arrow_schema()
    }

    /// The rows `user` may see (superusers see all) as one batch.
    fn batch(&self, user: Option<i32>) -> datafusion::error::Result<RecordBatch> {
        let schema = self.schema();
        let user_col = self
            .columns
            .iter()
            .position(|(n, _)| *n == "userid" || *n == "user_id");
        let visible: Vec<&Vec<Cell>> = self
            .rows
            .iter()
            .filter(|r| match (user, user_col) {
                (Some(u), Some(i)) => matches!(r.get(i), Some(Cell::Int(v)) if *v == u),
                _ => true,
            })
            .collect();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (i, (_, ty)) in self.columns.iter().enumerate() {
            let cells = visible.iter().map(|r| r.get(i));
            let array: ArrayRef = match ty {
                ColumnType::Integer => {
                    let mut b = Int32Builder::new();
                    for c in cells {
                        b.append_option(match c {
                            Some(Cell::Int(v)) => Some(*v),
                            _ => None,
                        });
                    }
                    Arc::new(b.finish())
                }
                ColumnType::BigInt => {
                    let mut b = Int64Builder::new();
                    for c in cells {
                        b.append_option(match c {
                            Some(Cell::Big(v)) => Some(*v),
                            Some(Cell::Int(v)) => Some(i64::from(*v)),
                            _ => None,
                        });
                    }
                    Arc::new(b.finish())
                }
                ColumnType::Timestamp => {
                    let mut b = TimestampMicrosecondBuilder::new();
                    for c in cells {
                        b.append_option(match c {
                            Some(Cell::Time(v)) => Some(*v),
                            _ => None,
                        });
                    }
                    Arc::new(b.finish())
                }
                _ => {
                    let limit = ty.byte_limit().map(|n| n as usize);
                    let mut b = StringBuilder::new();
                    for c in cells {
                        match c {
                            Some(Cell::Text(s)) => b.append_value(truncated(s, limit)),
                            _ => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
            };
            arrays.push(array);
        }
        Ok(RecordBatch::try_new(schema, arrays)?)
    }
}

/// At most `limit` bytes of `s`, cut at a character boundary.
fn truncated(s: &str, limit: Option<usize>) -> &str {
    match limit {
        Some(n) if s.len() > n => {
            let mut end = n;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        }
        _ => s,
    }
}

/// Process-wide state of loading: the buckets, the keys, query ids and
/// the load logs.
pub(crate) struct Loads {
    pub objects: Option<Objects>,
    next_query: AtomicI64,
    logs: Mutex<Vec<Log>>,
}

/// Indexes into [`Loads::logs`].
pub(crate) const LOAD_ERRORS: usize = 0;
pub(crate) const LOAD_COMMITS: usize = 1;
pub(crate) const LOAD_HISTORY: usize = 2;
pub(crate) const LOAD_ERROR_DETAIL: usize = 3;

impl Loads {
    pub fn new(objects: Option<Objects>) -> Self {
        use ColumnType::{BigInt as I8, Char, Integer as I4, Timestamp as Ts, Varchar};
        let text = Varchar(65535);
        let logs = vec![
            Log::new(
                "stl_load_errors",
                vec![
                    ("userid", I4),
                    ("slice", I4),
                    ("tbl", I4),
                    ("starttime", Ts),
                    ("session", I4),
                    ("query", I4),
                    ("filename", Char(256)),
                    ("line_number", I8),
                    ("colname", Char(127)),
                    ("type", Char(10)),
                    ("col_length", Char(10)),
                    ("position", I4),
                    ("raw_line", Char(1024)),
                    ("raw_field_value", Char(1024)),
                    ("err_code", I4),
                    ("err_reason", Char(100)),
                    ("is_partial", I4),
                    ("start_offset", I8),
                    ("copy_job_id", I8),
                ],
            ),
            Log::new(
                "stl_load_commits",
                vec![
                    ("userid", I4),
                    ("query", I4),
                    ("slice", I4),
                    ("name", Char(256)),
                    ("filename", Char(256)),
                    ("byte_offset", I4),
                    ("lines_scanned", I4),
                    ("errors", I4),
                    ("curtime", Ts),
                    ("status", I4),
                    ("file_format", Char(16)),
                    ("is_partial", I4),
                    ("start_offset", I8),
                    ("copy_job_id", I8),
                ],
            ),
            Log::new(
                "sys_load_history",
                vec![
                    ("user_id", I4),
                    ("query_id", I8),
                    ("transaction_id", I8),
                    ("session_id", I4),
                    ("database_name", text),
                    ("status", text),
                    ("table_name", text),
                    ("start_time", Ts),
                    ("end_time", Ts),
                    ("duration", I8),
                    ("data_source", text),
                    ("file_format", text),
                    ("loaded_rows", I8),
                    ("loaded_bytes", I8),
                    ("source_file_count", I4),
                    ("source_file_bytes", I8),
                    ("file_count_scanned", I4),
                    ("file_bytes_scanned", I8),
                    ("error_count", I8),
                    ("copy_job_id", I8),
                ],
            ),
            Log::new(
                "sys_load_error_detail",
                vec![
                    ("user_id", I4),
                    ("query_id", I8),
                    ("transaction_id", I8),
                    ("session_id", I4),
                    ("database_name", Char(64)),
                    ("table_id", I4),
                    ("start_time", Ts),
                    ("file_name", Char(256)),
                    ("line_number", I8),
                    ("column_name", Char(127)),
                    ("column_type", Char(10)),
                    ("column_length", Char(10)),
                    ("position", I4),
                    ("error_code", I4),
                    ("error_message", Char(512)),
                ],
            ),
        ];
        Loads {
            objects,
            next_query: AtomicI64::new(1),
            logs: Mutex::new(logs),
        }
    }

    /// A new query id.
    pub fn query_id(&self) -> i64 {
        self.next_query.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends rows to one log.
    pub fn record(&self, log: usize, rows: impl IntoIterator<Item = Vec<Cell>>) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = logs.get_mut(log) {
            for row in rows {
                log.push(row);
            }
        }
    }

    /// The log table called `name`, as `user` sees it (None: everything).
    pub fn system_table(
        &self,
        name: &str,
        user: Option<i32>,
    ) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = logs.iter().find(|l| l.name == name) else {
            return Ok(None);
        };
        let batch = log.batch(user)?;
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        Ok(Some(Arc::new(table)))
    }

    /// The names of the log tables.
    pub fn system_table_names(&self) -> Vec<String> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.iter().map(|l| l.name.to_string()).collect()
    }
}
