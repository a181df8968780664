//! UNLOAD: a query's result written to S3 with Redshift's file layout.
//!
//! The query runs on one snapshot (the statement's). With PARALLEL ON (the
//! default) its batches are dealt round-robin to one writer per slice, each
//! writing `<prefix><slice:4>_part_<part:2>`; PARALLEL OFF writes
//! `<prefix>000`, `001`, ... in order. A part is rolled over when it reaches
//! MAXFILESIZE. Text formats are encoded and compressed on blocking
//! threads, Parquet with the async writer; every part goes through
//! object_store's buffered writer, so it becomes visible only when complete,
//! and a failed UNLOAD deletes the parts it finished. PARTITION BY sorts the
//! query by its keys and writes each partition's parts under
//! `<prefix>k=v/`, one partition at a time.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::Compression as ParquetCompression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use shale_common::SqlState;
use shale_formats::{OutFormat, RecordWriter, WriteOptions};
use shale_storage::types::{ColumnType, TYPE_METADATA_KEY};
use tokio::io::AsyncWriteExt;

use super::copy::{
    S3Url, bucket_store, check_authorization, fixed_width_spec, list_prefix, object_error,
};
use crate::error::{EngineError, Result};
use crate::parse::copy::Compression;
use crate::parse::unload::{UnloadFormat, UnloadStatement};
use crate::parse::{ParsedStatement, Stmt};
use crate::session::{Output, Session};

/// Redshift's default and largest MAXFILESIZE: 6.2 GB.
const DEFAULT_MAX_FILE_SIZE: u64 = 6_200 * 1024 * 1024;
/// Rows per Parquet row group when ROWGROUPSIZE is not given.
const PARQUET_ROW_GROUP_ROWS: usize = 1 << 20;

pub(crate) async fn execute(session: &mut Session, u: &UnloadStatement) -> Result<Output> {
    let Some(objects) = session.loads.objects.clone() else {
        return Err(EngineError::unsupported(
            "UNLOAD is not available: this engine has no bucket registry",
        ));
    };
    let objects = check_authorization(
        &objects,
        &u.authorization,
        "UNLOAD",
        &session.current_user_name(),
    )?;
    if u.encrypted {
        return Err(EngineError::unsupported(
            "UNLOAD ENCRYPTED is not supported (objects are stored unencrypted)",
        ));
    }
    let query = unload_query(&u.query)?;
    let mut dest = S3Url::parse(&u.to)?;
    let query = if u.partition_by.is_empty() {
        query
    } else {
        // Rows of one partition arrive together, so one partition's file
        // is open at a time; a `/` follows the prefix, as in Redshift.
        if !dest.key.is_empty() && !dest.key.ends_with('/') {
            dest.key.push('/');
        }
        sorted_by(&u.query, &u.partition_by)?
    };
    let store = bucket_store(&objects, &dest.bucket)?;

    // ALLOWOVERWRITE alone needs no listing (so a role with s3:PutObject
    // only may run it, as on Redshift); the emptiness check and CLEANPATH
    // list the prefix.
    let existing = if u.allow_overwrite && !u.clean_path {
        Vec::new()
    } else {
        list_prefix(&store, &dest.key).await?
    };
    if !existing.is_empty() {
        if u.clean_path && !u.partition_by.is_empty() {
            // Cleaned folder by folder, as each partition is written.
        } else if u.clean_path {
            for meta in &existing {
                store.delete(&meta.location).await.map_err(object_error)?;
            }
        } else if !u.allow_overwrite {
            return Err(EngineError::sql(
                SqlState::InternalError,
                "Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.",
            ));
        }
    }

    let Output::Rows { schema, stream, .. } =
        crate::handler::query::execute(session, &query, Vec::new()).await?
    else {
        return Err(EngineError::sql(
            SqlState::InternalError,
            "UNLOAD needs a query that returns rows",
        ));
    };
    let columns = output_columns(&schema);
    let partitioning = Partitioning::new(u, &columns)?;
    let file_columns = match &partitioning {
        Some(p) => p.file_columns(&columns),
        None => columns,
    };
    let plan = Plan::new(u, &dest, file_columns)?;
    let slices = if u.parallel {
        session.state.config().target_partitions().max(1)
    } else {
        1
    };
    let result = match &partitioning {
        Some(p) => run_partitioned(Arc::clone(&store), &plan, p, stream, u.clean_path).await,
        None => run(Arc::clone(&store), &plan, stream, slices).await,
    };
    let parts = match result {
        Ok(parts) => parts,
        Err((e, written)) => {
            for part in written {
                let _ = store.delete(&part.path).await;
            }
            return Err(e);
        }
    };
    let rows: u64 = parts.iter().map(|p| p.rows).sum();
    if u.manifest {
        let manifest = manifest(&dest, &parts, &plan, u.manifest_verbose);
        let path = Path::from(format!("{}manifest", dest.key));
        if let Err(e) = store.put(&path, manifest.into_bytes().into()).await {
            for part in &parts {
                let _ = store.delete(&part.path).await;
            }
            return Err(object_error(e));
        }
    }
    let query_id = session.loads.query_id();
    if let Err(e) = crate::functions::register_last(
        &mut session.state,
        ("pg_last_unload_id", "pg_last_unload_count"),
        query_id,
        rows as i64,
    ) {
        tracing::error!(error = %e, "Could not register pg_last_unload_count.");
    }
    session.config_changed();
    session.notice(
        "INFO",
        SqlState::SuccessfulCompletion,
        &format!("UNLOAD completed, {rows} record(s) unloaded successfully."),
    );
    Ok(Output::Command("UNLOAD".into()))
}

/// The query of an UNLOAD: one SELECT, without a LIMIT of its own.
fn unload_query(text: &str) -> Result<Statement> {
    let mut statements: Vec<ParsedStatement> = crate::parse::parse_statements(text)?;
    if statements.len() != 1 {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "UNLOAD takes exactly one SELECT statement",
        ));
    }
    let Stmt::Sql(stmt) = statements.remove(0).stmt else {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "UNLOAD takes a SELECT statement",
        ));
    };
    let Statement::Query(q) = *stmt else {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "UNLOAD takes a SELECT statement",
        ));
    };
    if q.limit_clause.is_some() {
        return Err(EngineError::sql(
            SqlState::FeatureNotSupported,
            "Limit clause is not supported in the outermost SELECT of UNLOAD; use it in a subquery (SELECT * FROM (... LIMIT n))",
        ));
    }
    Ok(Statement::Query(q))
}

/// The UNLOAD's query ordered by its partition columns.
fn sorted_by(text: &str, columns: &[String]) -> Result<Statement> {
    let order: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    unload_query(&format!(
        "SELECT * FROM ({text}) AS unload_source ORDER BY {}",
        order.join(", ")
    ))
}

/// PARTITION BY: the output columns that name the folders, and whether
/// they stay in the files (INCLUDE).
struct Partitioning {
    /// Positions of the key columns in the query's output, in key order.
    keys: Vec<(usize, String)>,
    /// Positions of the columns written to the files.
    kept: Vec<usize>,
    /// The query's output (keys included), which batches are cast to.
    schema: SchemaRef,
}

impl Partitioning {
    fn new(u: &UnloadStatement, columns: &[(String, ColumnType)]) -> Result<Option<Self>> {
        if u.partition_by.is_empty() {
            return Ok(None);
        }
        let mut keys = Vec::new();
        for name in &u.partition_by {
            let Some(i) = columns
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(name))
            else {
                return Err(EngineError::sql(
                    SqlState::UndefinedColumn,
                    format!("PARTITION BY column \"{name}\" is not in the UNLOAD query's output"),
                ));
            };
            let ty = &columns[i].1;
            let allowed = matches!(
                ty,
                ColumnType::SmallInt
                    | ColumnType::Integer
                    | ColumnType::BigInt
                    | ColumnType::Decimal { .. }
                    | ColumnType::Real
                    | ColumnType::Boolean
                    | ColumnType::Char(_)
                    | ColumnType::Varchar(_)
                    | ColumnType::Date
                    | ColumnType::Timestamp
            );
            if !allowed {
                return Err(EngineError::sql(
                    SqlState::FeatureNotSupported,
                    format!(
                        "PARTITION BY column \"{name}\" is {}: partition keys are SMALLINT, INTEGER, BIGINT, DECIMAL, REAL, BOOLEAN, CHAR, VARCHAR, DATE or TIMESTAMP",
                        ty.sql_name()
                    ),
                ));
            }
            keys.push((i, columns[i].0.clone()));
        }
        let kept: Vec<usize> = (0..columns.len())
            .filter(|i| u.partition_include || !keys.iter().any(|(k, _)| k == i))
            .collect();
        if kept.is_empty() {
            return Err(EngineError::sql(
                SqlState::InvalidParameterValue,
                "PARTITION BY needs at least one column of the query that is not a partition key (or INCLUDE)",
            ));
        }
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, t)| Field::new(n, t.arrow_type(), true))
                .collect::<Vec<_>>(),
        ));
        Ok(Some(Partitioning { keys, kept, schema }))
    }

    fn file_columns(&self, columns: &[(String, ColumnType)]) -> Vec<(String, ColumnType)> {
        self.kept.iter().map(|&i| columns[i].clone()).collect()
    }

    /// Each row's folder: `k1=v1/k2=v2/`, values Hive-escaped, NULL as
    /// `__HIVE_DEFAULT_PARTITION__`.
    fn folders(&self, batch: &RecordBatch) -> Result<Vec<String>> {
        use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
        let options = FormatOptions::default()
            .with_null("")
            .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"));
        let mut folders = vec![String::new(); batch.num_rows()];
        for (i, name) in &self.keys {
            let array = batch.column(*i);
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
            for (row, folder) in folders.iter_mut().enumerate() {
                folder.push_str(name);
                folder.push('=');
                if array.is_null(row) {
                    folder.push_str("__HIVE_DEFAULT_PARTITION__");
                } else {
                    hive_escape(&formatter.value(row).to_string(), folder);
                }
                folder.push('/');
            }
        }
        Ok(folders)
    }
}

/// Hive's escaping of a partition value in a path: `%XX` for control
/// characters and for `"#%'*/:=?\{[]^` and DEL.
fn hive_escape(value: &str, out: &mut String) {
    for c in value.chars() {
        if c.is_control() || "\"#%'*/:=?\\{[]^\u{7f}".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

/// Writes a query sorted by its partition keys: one partition's writer at
/// a time, each under `<prefix><k=v>/` and named like slice 0's parts;
/// with CLEANPATH, a folder is emptied just before its files are written.
async fn run_partitioned(
    store: Arc<dyn ObjectStore>,
    plan: &Plan,
    partitioning: &Partitioning,
    mut stream: datafusion::execution::SendableRecordBatchStream,
    clean_path: bool,
) -> std::result::Result<Vec<Part>, Failed> {
    type Writer = (
        String,
        tokio::sync::mpsc::Sender<RecordBatch>,
        tokio::task::JoinHandle<std::result::Result<Vec<Part>, Failed>>,
    );
    async fn finish(open: Option<Writer>, done: &mut Vec<Part>) -> Result<()> {
        let Some((_, tx, task)) = open else {
            return Ok(());
        };
        drop(tx);
        match task.await {
            Ok(Ok(mut parts)) => {
                done.append(&mut parts);
                Ok(())
            }
            Ok(Err((e, mut parts))) => {
                done.append(&mut parts);
                Err(e)
            }
            Err(e) => Err(EngineError::sql(
                SqlState::InternalError,
                format!("UNLOAD writer failed: {e}"),
            )),
        }
    }
    let mut done: Vec<Part> = Vec::new();
    let mut open: Option<Writer> = None;
    while let Some(batch) = stream.next().await {
        let step: Result<()> = async {
            let batch = cast_batch(&partitioning.schema, &batch?)?;
            let folders = partitioning.folders(&batch)?;
            let mut start = 0;
            while start < batch.num_rows() {
                let folder = &folders[start];
                let end = (start..batch.num_rows())
                    .find(|&r| folders[r] != *folder)
                    .unwrap_or(batch.num_rows());
                if open.as_ref().map(|(f, ..)| f) != Some(folder) {
                    finish(open.take(), &mut done).await?;
                    let prefix = format!("{}{folder}", plan.prefix);
                    if clean_path {
                        for meta in list_prefix(&store, &prefix).await? {
                            store.delete(&meta.location).await.map_err(object_error)?;
                        }
                    }
                    let mut part_plan = plan.clone();
                    part_plan.prefix = prefix;
                    let (tx, rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
                    let task = tokio::spawn(write_slice(
                        Arc::clone(&store),
                        Arc::new(part_plan),
                        0,
                        rx,
                        false,
                    ));
                    open = Some((folder.clone(), tx, task));
                }
                let piece = batch
                    .slice(start, end - start)
                    .project(&partitioning.kept)?;
                if let Some((_, tx, _)) = &open
                    && tx.send(piece).await.is_err()
                {
                    // The writer failed: finishing it returns its error.
                    finish(open.take(), &mut done).await?;
                }
                start = end;
            }
            Ok(())
        }
        .await;
        if let Err(e) = step {
            let _ = finish(open.take(), &mut done).await;
            return Err((e, done));
        }
    }
    if let Err(e) = finish(open.take(), &mut done).await {
        return Err((e, done));
    }
    done.sort_by(|a, b| a.path.as_ref().cmp(b.path.as_ref()));
    Ok(done)
}

/// Each output column's Redshift type.
fn output_columns(schema: &SchemaRef) -> Vec<(String, ColumnType)> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let ty = f
                .metadata()
                .get(TYPE_METADATA_KEY)
                .and_then(|t| ColumnType::parse_sql_name(t))
                .unwrap_or_else(|| column_type_of(f.data_type()));
            (f.name().clone(), ty)
        })
        .collect()
}

fn column_type_of(ty: &DataType) -> ColumnType {
    match ty {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => ColumnType::SmallInt,
        DataType::Int32 | DataType::UInt16 => ColumnType::Integer,
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => ColumnType::BigInt,
        DataType::Decimal128(p, s) if *p <= 38 => ColumnType::Decimal {
            precision: *p,
            scale: *s,
        },
        DataType::Float16 | DataType::Float32 => ColumnType::Real,
        DataType::Float64 => ColumnType::Double,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Time32(_) | DataType::Time64(_) => ColumnType::Time,
        DataType::Timestamp(_, None) => ColumnType::Timestamp,
        DataType::Timestamp(_, Some(_)) => ColumnType::TimestampTz,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            ColumnType::Varbyte(65535)
        }
        _ => ColumnType::Varchar(65535),
    }
}

/// What every part of this UNLOAD is: its format, options and names.
#[derive(Clone)]
struct Plan {
    prefix: String,
    format: UnloadFormat,
    text: Option<(OutFormat, WriteOptions)>,
    compression: Compression,
    extension: String,
    parallel: bool,
    max_file_size: u64,
    row_group_rows: usize,
    columns: Vec<(String, ColumnType)>,
    schema: SchemaRef,
}

impl Plan {
    fn new(u: &UnloadStatement, dest: &S3Url, columns: Vec<(String, ColumnType)>) -> Result<Plan> {
        let delimiter = |default: u8| -> Result<u8> {
            match &u.delimiter {
                None => Ok(default),
                Some(d) => match d.as_bytes() {
                    [b] if b.is_ascii() => Ok(*b),
                    _ => Err(EngineError::sql(
                        SqlState::InternalError,
                        "DELIMITER must be a single-byte character",
                    )),
                },
            }
        };
        let options = WriteOptions {
            null_as: u.null_as.clone(),
            add_quotes: u.add_quotes,
            escape: u.escape,
            header: u.header,
        };
        let text = match &u.format {
            UnloadFormat::Text => Some(OutFormat::Delimited {
                delimiter: delimiter(b'|')?,
            }),
            UnloadFormat::Csv => Some(OutFormat::Csv {
                delimiter: delimiter(b',')?,
            }),
            UnloadFormat::FixedWidth(spec) => Some(OutFormat::FixedWidth(fixed_width_spec(spec)?)),
            UnloadFormat::Json => Some(OutFormat::Json),
            UnloadFormat::Parquet => None,
        };
        if let Some(format) = &text {
            // Refused combinations surface before anything is written.
            RecordWriter::new(format.clone(), options.clone(), columns.clone())
                .map_err(|e| EngineError::sql(SqlState::InternalError, e.to_string()))?;
        }
        let extension = match (&u.extension, &u.format, u.compression) {
            (Some(e), _, _) => format!(".{}", e.trim_start_matches('.')),
            (None, UnloadFormat::Parquet, _) => ".parquet".into(),
            (None, _, Compression::Gzip) => ".gz".into(),
            (None, _, Compression::Bzip2) => ".bz2".into(),
            (None, _, Compression::Zstd) => ".zst".into(),
            (None, _, _) => String::new(),
        };
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, t)| Field::new(n, t.arrow_type(), true))
                .collect::<Vec<_>>(),
        ));
        let row_group_rows = u
            .row_group_size
            .map(|bytes| (bytes / 64).max(1024) as usize)
            .unwrap_or(PARQUET_ROW_GROUP_ROWS);
        Ok(Plan {
            prefix: dest.key.clone(),
            format: u.format.clone(),
            text: text.map(|f| (f, options)),
            compression: u.compression,
            extension,
            parallel: u.parallel,
            max_file_size: u.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
            row_group_rows,
            columns,
            schema,
        })
    }

    /// The key of a slice's part.
    fn key(&self, slice: usize, part: usize) -> String {
        if self.parallel {
            format!("{}{slice:04}_part_{part:02}{}", self.prefix, self.extension)
        } else {
            format!("{}{part:03}{}", self.prefix, self.extension)
        }
    }
}

/// A finished part.
#[derive(Debug, Clone)]
struct Part {
    path: Path,
    bytes: u64,
    rows: u64,
}

type Failed = (EngineError, Vec<Part>);

/// Deals the batches to the slices and waits for every part.
async fn run(
    store: Arc<dyn ObjectStore>,
    plan: &Plan,
    mut stream: datafusion::execution::SendableRecordBatchStream,
    slices: usize,
) -> std::result::Result<Vec<Part>, Failed> {
    let plan = Arc::new(plan.clone());
    let mut senders = Vec::with_capacity(slices);
    let mut tasks = Vec::with_capacity(slices);
    for slice in 0..slices {
        let (tx, rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
        senders.push(tx);
        let store = Arc::clone(&store);
        let plan = Arc::clone(&plan);
        tasks.push(tokio::spawn(async move {
            write_slice(store, plan, slice, rx, false).await
        }));
    }
    let mut next = 0;
    let mut failure = None;
    while let Some(batch) = stream.next().await {
        let batch = match batch
            .map_err(EngineError::from)
            .and_then(|b| cast_batch(&plan.schema, &b).map_err(EngineError::from))
        {
            Ok(b) => b,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if batch.num_rows() == 0 {
            continue;
        }
        if senders[next].send(batch).await.is_err() {
            // That slice failed; its error is collected below.
            break;
        }
        next = (next + 1) % slices;
    }
    drop(senders);
    let mut parts = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(mut p)) => parts.append(&mut p),
            Ok(Err((e, mut p))) => {
                parts.append(&mut p);
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(EngineError::sql(
                    SqlState::InternalError,
                    format!("UNLOAD writer failed: {e}"),
                ));
            }
        }
    }
    if let Some(e) = failure {
        return Err((e, parts));
    }
    if parts.is_empty() && !matches!(plan.format, UnloadFormat::Json) {
        // No rows: one empty part (with its header), as Redshift leaves.
        let (tx, rx) = tokio::sync::mpsc::channel::<RecordBatch>(1);
        drop(tx);
        let mut empty = write_slice(store, Arc::clone(&plan), 0, rx, true).await?;
        parts.append(&mut empty);
    }
    parts.sort_by(|a, b| a.path.as_ref().cmp(b.path.as_ref()));
    Ok(parts)
}

/// Writes one slice's parts; `forced` writes the first part even when no
/// rows arrive.
async fn write_slice(
    store: Arc<dyn ObjectStore>,
    plan: Arc<Plan>,
    slice: usize,
    rx: tokio::sync::mpsc::Receiver<RecordBatch>,
    forced: bool,
) -> std::result::Result<Vec<Part>, Failed> {
    match &plan.text {
        Some(_) => write_text(store, plan, slice, rx, forced).await,
        None => write_parquet(store, plan, slice, rx, forced).await,
    }
}

/// Bytes a compressor has produced, taken as they come.
#[derive(Clone, Default)]
struct Drain(Arc<Mutex<Vec<u8>>>);

impl Drain {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl std::io::Write for Drain {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn io_error<E: std::error::Error + 'static>(e: E) -> EngineError {
    if denied(&e) {
        return crate::handler::copy::s3_exception("Access Denied", 403, "AccessDenied");
    }
    EngineError::sql(SqlState::InternalError, format!("S3ServiceException:{e}"))
}

/// Whether an object-store denial is behind `e` (writers wrap it in
/// `io::Error`, Parquet in its own error).
fn denied(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(os) = err.downcast_ref::<object_store::Error>() {
            return matches!(os, object_store::Error::PermissionDenied { .. });
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

/// One part being written: the upload and the encoder in front of it.
struct OpenPart {
    path: Path,
    upload: BufWriter,
    encoder: Box<dyn shale_formats::FinishWrite>,
    drain: Drain,
    bytes: u64,
    rows: u64,
}

async fn write_text(
    store: Arc<dyn ObjectStore>,
    plan: Arc<Plan>,
    slice: usize,
    mut rx: tokio::sync::mpsc::Receiver<RecordBatch>,
    forced: bool,
) -> std::result::Result<Vec<Part>, Failed> {
    let Some((format, options)) = plan.text.clone() else {
        return Ok(Vec::new());
    };
    let mut done: Vec<Part> = Vec::new();
    let mut writer = match RecordWriter::new(format, options, plan.columns.clone()) {
        Ok(w) => w,
        Err(e) => {
            return Err((
                EngineError::sql(SqlState::InternalError, e.to_string()),
                done,
            ));
        }
    };
    let mut open: Option<OpenPart> = None;
    let mut part_no = 0;
    let mut lines = Vec::new();
    let compression = plan.compression;
    let new_part = |part_no: usize, writer: &RecordWriter| -> std::io::Result<OpenPart> {
        let path = Path::from(plan.key(slice, part_no));
        let drain = Drain::default();
        let mut encoder = shale_formats::compress(formats_compression(compression), drain.clone());
        let mut header = Vec::new();
        writer.write_header(&mut header);
        std::io::Write::write_all(&mut encoder, &header)?;
        Ok(OpenPart {
            upload: BufWriter::new(Arc::clone(&store), path.clone()),
            path,
            encoder,
            drain,
            bytes: 0,
            rows: 0,
        })
    };
    if forced {
        match new_part(part_no, &writer) {
            Ok(p) => open = Some(p),
            Err(e) => return Err((io_error(e), done)),
        }
    }
    loop {
        let batch = rx.recv().await;
        let Some(batch) = batch else { break };
        if open.is_none() {
            match new_part(part_no, &writer) {
                Ok(p) => open = Some(p),
                Err(e) => return Err((io_error(e), done)),
            }
        }
        let Some(part) = open.as_mut() else { break };
        lines.clear();
        // Encoding and compression are CPU work: off the async threads.
        let step = cpu_work(|| -> Result<Vec<u8>> {
            writer
                .write_batch(&batch, &mut lines)
                .map_err(|e| EngineError::sql(SqlState::InternalError, e.to_string()))?;
            std::io::Write::write_all(&mut part.encoder, &lines).map_err(io_error)?;
            Ok(part.drain.take())
        });
        let bytes = match step {
            Ok(b) => b,
            Err(e) => {
                part.upload.abort().await.ok();
                return Err((e, done));
            }
        };
        part.rows += batch.num_rows() as u64;
        part.bytes += bytes.len() as u64;
        if let Err(e) = part.upload.write_all(&bytes).await {
            part.upload.abort().await.ok();
            return Err((io_error(e), done));
        }
        if part.bytes >= plan.max_file_size
            && let Some(full) = open.take()
        {
            match finish_text(full).await {
                Ok(p) => done.push(p),
                Err(e) => return Err((e, done)),
            }
            part_no += 1;
        }
    }
    if let Some(last) = open.take() {
        match finish_text(last).await {
            Ok(p) => done.push(p),
            Err(e) => return Err((e, done)),
        }
    }
    Ok(done)
}

/// Runs CPU-heavy work so that other tasks on this worker thread move to
/// another (multi-threaded runtimes), or inline (a current-thread runtime,
/// where that is not possible).
fn cpu_work<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

async fn finish_text(mut part: OpenPart) -> Result<Part> {
    part.encoder.finish().map_err(io_error)?;
    let tail = part.drain.take();
    part.bytes += tail.len() as u64;
    part.upload.write_all(&tail).await.map_err(io_error)?;
    part.upload.shutdown().await.map_err(io_error)?;
    Ok(Part {
        path: part.path,
        bytes: part.bytes,
        rows: part.rows,
    })
}

fn formats_compression(c: Compression) -> shale_formats::Compression {
    match c {
        Compression::Gzip => shale_formats::Compression::Gzip,
        Compression::Bzip2 => shale_formats::Compression::Bzip2,
        Compression::Zstd => shale_formats::Compression::Zstd,
        Compression::None | Compression::Lzop => shale_formats::Compression::None,
    }
}

async fn write_parquet(
    store: Arc<dyn ObjectStore>,
    plan: Arc<Plan>,
    slice: usize,
    mut rx: tokio::sync::mpsc::Receiver<RecordBatch>,
    forced: bool,
) -> std::result::Result<Vec<Part>, Failed> {
    let mut done = Vec::new();
    let props = WriterProperties::builder()
        .set_compression(ParquetCompression::SNAPPY)
        .set_max_row_group_row_count(Some(plan.row_group_rows))
        .build();
    let schema = parquet_schema(&plan.schema);
    let mut part_no = 0;
    let mut open: Option<(Path, AsyncArrowWriter<BufWriter>, u64)> = None;
    let new_part = |part_no: usize| -> Result<(Path, AsyncArrowWriter<BufWriter>, u64)> {
        let path = Path::from(plan.key(slice, part_no));
        let upload = BufWriter::new(Arc::clone(&store), path.clone());
        let writer = AsyncArrowWriter::try_new(upload, Arc::clone(&schema), Some(props.clone()))
            .map_err(|e| EngineError::sql(SqlState::InternalError, e.to_string()))?;
        Ok((path, writer, 0))
    };
    if forced {
        match new_part(part_no) {
            Ok(p) => open = Some(p),
            Err(e) => return Err((e, done)),
        }
    }
    while let Some(batch) = rx.recv().await {
        if open.is_none() {
            match new_part(part_no) {
                Ok(p) => open = Some(p),
                Err(e) => return Err((e, done)),
            }
        }
        let Some((_, writer, rows)) = open.as_mut() else {
            break;
        };
        let batch = match cast_batch(&schema, &batch) {
            Ok(b) => b,
            Err(e) => return Err((e.into(), done)),
        };
        if let Err(e) = writer.write(&batch).await {
            return Err((io_error(e), done));
        }
        *rows += batch.num_rows() as u64;
        if writer.bytes_written() as u64 >= plan.max_file_size
            && let Some(full) = open.take()
        {
            match finish_parquet(full).await {
                Ok(p) => done.push(p),
                Err(e) => return Err((e, done)),
            }
            part_no += 1;
        }
    }
    if let Some(last) = open.take() {
        match finish_parquet(last).await {
            Ok(p) => done.push(p),
            Err(e) => return Err((e, done)),
        }
    }
    Ok(done)
}

async fn finish_parquet(
    (path, writer, rows): (Path, AsyncArrowWriter<BufWriter>, u64),
) -> Result<Part> {
    let bytes = writer.bytes_written() as u64;
    writer.close().await.map_err(io_error)?;
    Ok(Part { path, bytes, rows })
}

/// Parquet's view of the output: character columns as strings, TIMESTAMPTZ
/// written without its zone (as Redshift does), SUPER as its JSON text.
fn parquet_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                let ty = match f.data_type() {
                    DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, None),
                    other => other.clone(),
                };
                Field::new(f.name(), ty, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// `batch` with `schema`'s column types (and names), cast where they differ.
fn cast_batch(schema: &SchemaRef, batch: &RecordBatch) -> datafusion::error::Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(a, f)| {
            if a.data_type() == f.data_type() {
                Ok(Arc::clone(a))
            } else {
                datafusion::arrow::compute::cast(a, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// The manifest, in Redshift's layout.
fn manifest(dest: &S3Url, parts: &[Part], plan: &Plan, verbose: bool) -> String {
    let entries: Vec<serde_json::Value> = parts
        .iter()
        .map(|p| {
            let mut meta = serde_json::json!({ "content_length": p.bytes });
            if verbose {
                meta["record_count"] = serde_json::json!(p.rows);
            }
            serde_json::json!({
                "url": format!("s3://{}/{}", dest.bucket, p.path),
                "meta": meta,
            })
        })
        .collect();
    let mut doc = serde_json::json!({ "entries": entries });
    if verbose {
        let elements: Vec<serde_json::Value> = plan
            .columns
            .iter()
            .map(|(name, ty)| serde_json::json!({ "name": name, "type": manifest_type(ty) }))
            .collect();
        doc["schema"] = serde_json::json!({ "elements": elements });
        doc["meta"] = serde_json::json!({
            "content_length": parts.iter().map(|p| p.bytes).sum::<u64>(),
            "record_count": parts.iter().map(|p| p.rows).sum::<u64>(),
        });
        doc["author"] = serde_json::json!({ "name": "Amazon Redshift", "version": "1.0.0" });
    }
    doc.to_string()
}

fn manifest_type(ty: &ColumnType) -> serde_json::Value {
    match ty {
        ColumnType::SmallInt => serde_json::json!({ "base": "smallint" }),
        ColumnType::Integer => serde_json::json!({ "base": "integer" }),
        ColumnType::BigInt => serde_json::json!({ "base": "bigint" }),
        ColumnType::Decimal { precision, scale } => {
            serde_json::json!({ "base": "numeric", "precision": precision, "scale": scale })
        }
        ColumnType::Real => serde_json::json!({ "base": "real" }),
        ColumnType::Double => serde_json::json!({ "base": "double precision" }),
        ColumnType::Boolean => serde_json::json!({ "base": "boolean" }),
        ColumnType::Char(n) => serde_json::json!({ "base": "character", "length": n }),
        ColumnType::Varchar(n) => serde_json::json!({ "base": "character varying", "length": n }),
        ColumnType::Date => serde_json::json!({ "base": "date" }),
        ColumnType::Time => serde_json::json!({ "base": "time without time zone" }),
        ColumnType::TimeTz => serde_json::json!({ "base": "time with time zone" }),
        ColumnType::Timestamp => serde_json::json!({ "base": "timestamp without time zone" }),
        ColumnType::TimestampTz => serde_json::json!({ "base": "timestamp with time zone" }),
        ColumnType::Super => serde_json::json!({ "base": "super" }),
        ColumnType::Varbyte(n) => serde_json::json!({ "base": "varbyte", "length": n }),
    }
}

#[cfg(test)]
mod tests {
    use super::hive_escape;

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        let escaped = |v: &str| {
            let mut out = String::new();
            hive_escape(v, &mut out);
            out
        };
        assert_eq!(escaped("2024-05-01"), "2024-05-01");
        assert_eq!(escaped("2024-05-01 10:00:00"), "2024-05-01 10%3A00%3A00");
        assert_eq!(escaped("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(escaped("100%"), "100%25");
        assert_eq!(escaped("tab\t"), "tab%09");
        assert_eq!(escaped("café"), "café");
    }
}
