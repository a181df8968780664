//! COPY: files from S3 into a table, with Redshift's semantics.
//!
//! The source names a key prefix (every object whose key starts with it)
//! or, with MANIFEST, a manifest listing the objects. Each object is read
//! by its own task, at most one per core at a time: text formats on a
//! blocking thread (decompression and parsing are CPU work), Parquet with
//! the async reader. Parsed batches flow through a bounded channel into the
//! table's writer, so memory stays bounded whatever the input size.
//! Rejected rows are counted against MAXERROR as they arrive; reaching it
//! stops the load and the statement fails with Redshift's message, leaving
//! the table as it was (the files written so far are discarded with the
//! writer). Columns the input does not fill get their DEFAULT or IDENTITY
//! value. Whatever the outcome, the load is logged in STL_LOAD_ERRORS,
//! STL_LOAD_COMMITS and SYS_LOAD_HISTORY.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DFSchema;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::ParquetFileReaderFactory;
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use shale_common::SqlState;
use shale_formats::{Format, JsonMapping, Options, Parsed, RecordReader, Rejected, TargetColumn};
use shale_storage::TableEntry;
use tokio::sync::{Semaphore, mpsc};

use crate::Objects;
use crate::error::{EngineError, Result};
use crate::identity::IDENTITY_FUNCTION;
use crate::loads::{Cell, LOAD_COMMITS, LOAD_ERROR_DETAIL, LOAD_ERRORS, LOAD_HISTORY};
use crate::parse::copy::{Authorization, Compression, CopyStatement, DataFormat};
use crate::session::{Output, Session};

/// Rows per parsed batch.
const BATCH_ROWS: usize = 8192;
/// Parsed batches buffered between the readers and the writer.
const CHANNEL_BATCHES: usize = 16;
/// Rows sorted together when the table has a SORTKEY: two row groups, a
/// quarter of a data file, which keeps a load's memory near a few hundred
/// megabytes for wide rows.
const SORT_CHUNK_ROWS: usize = shale_storage::ROWS_PER_FILE / 4;
/// Read buffer of the text readers.
const READ_BUFFER: usize = 1 << 20;

pub(crate) async fn execute(session: &mut Session, copy: &CopyStatement) -> Result<Output> {
    let Some(objects) = session.loads.objects.clone() else {
        return Err(EngineError::unsupported(
            "COPY is not available: this engine has no bucket registry",
        ));
    };
    let Some(name) = &copy.table else {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "COPY needs a table",
        ));
    };
    let Some(entry) = session.find_table(name)? else {
        let bare = name
            .0
            .last()
            .map(|p| p.to_string())
            .unwrap_or_default()
            .trim_matches('"')
            .to_lowercase();
        return Err(EngineError::sql(
            SqlState::InternalError,
            format!("Cannot COPY into nonexistent table {bare}"),
        ));
    };
    if entry.def.is_view() {
        return Err(EngineError::sql(
            SqlState::WrongObjectType,
            format!("cannot copy to view \"{}\"", entry.name),
        ));
    }
    let mut inputs = input_columns(&entry, copy)?;
    if matches!(copy.format, DataFormat::Json(_)) {
        // A missing key means the DEFAULT, which the reader cannot apply:
        // let it through, and the sink checks NOT NULL after defaults.
        for (i, t) in &mut inputs {
            if entry.def.columns[*i].default.is_some() {
                t.nullable = true;
            }
        }
    }
    let objects = check_authorization(
        &objects,
        &copy.authorization,
        "COPY",
        &session.current_user_name(),
    )?;
    let source = S3Url::parse(&copy.source)?;
    let format = text_format(copy, &inputs)?;

    let query = session.loads.query_id();
    set_last_copy(session, query, 0);
    let started = Instant::now();
    let start_time = now_micros();
    let files = if copy.manifest {
        manifest_files(&objects, &source, copy).await?
    } else {
        prefix_files(&objects, &source).await?
    };
    let format = match format {
        Some(TextFormat::Json { paths: Some(url) }) => {
            let paths = json_paths(&objects, &url).await?;
            Some(match paths {
                Some(p) => Format::Json(JsonMapping::Paths(p)),
                None => Format::Json(JsonMapping::Auto { ignore_case: false }),
            })
        }
        Some(TextFormat::Ready(f)) => Some(f),
        Some(TextFormat::Json { paths: None }) => None,
        None => None,
    };
    let options = format_options(copy);
    let targets: Vec<TargetColumn> = inputs.iter().map(|(_, t)| t.clone()).collect();
    if let Some(f) = &format {
        shale_formats::validate(f, &options, &targets).map_err(format_error)?;
    }

    let load = Arc::new(LoadState::new(&files, copy));
    let reader = Reader {
        files: Arc::new(files),
        format: format.map(Arc::new),
        options,
        targets: Arc::new(targets),
        compression: copy.compression,
        load: Arc::clone(&load),
        parallelism: session.state.config().target_partitions().max(1),
    };
    let writers = reader.parallelism;
    let parsed = Arc::new(tokio::sync::Mutex::new(reader.start()));
    let completer = Arc::new(Completer::new(session, &entry, &inputs)?);
    let schema = entry.def.arrow_schema();
    // One writer per core, each with its own files: encoding Parquet is
    // as much work as parsing the input.
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let stream = rows_stream(
            Arc::clone(&parsed),
            Arc::clone(&completer),
            Arc::clone(&load),
            Arc::clone(&schema),
        );
        let storage = session.storage.clone();
        let shared = Arc::clone(&session.shared);
        let entry = Arc::clone(&entry);
        let schema = Arc::clone(&schema);
        let no_load = copy.no_load;
        tasks.push(tokio::spawn(async move {
            if no_load {
                drain(stream).await
            } else {
                write(&storage, &shared, &entry, stream, schema).await
            }
        }));
    }
    let mut written: Result<u64> = Ok(0);
    for task in tasks {
        let result = task.await.unwrap_or_else(|e| {
            Err(EngineError::sql(
                SqlState::InternalError,
                format!("COPY writer failed: {e}"),
            ))
        });
        written = match (written, result) {
            (Ok(a), Ok(b)) => Ok(a + b),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }

    let rejected = load.take_rejected();
    let failed = load.failed.load(Ordering::Relaxed);
    let fatal = load.take_fatal();
    let loaded = match (&written, failed, &fatal) {
        (Ok(n), false, None) => *n,
        _ => 0,
    };
    log_load(
        session,
        &entry,
        query,
        start_time,
        started,
        &copy.source,
        &load,
        &rejected,
        loaded,
        written.is_ok() && !failed && fatal.is_none(),
        file_format_name(copy),
    );
    if let Some(e) = fatal {
        return Err(e);
    }
    if failed {
        return Err(EngineError::sql(
            SqlState::InternalError,
            format!(
                "Load into table '{}' failed.  Check 'stl_load_errors' system table for details.",
                entry.name
            ),
        ));
    }
    let loaded = written?;
    set_last_copy(session, query, if copy.no_load { 0 } else { loaded as i64 });
    let shown = if copy.no_load { 0 } else { loaded };
    session.notice(
        "INFO",
        SqlState::SuccessfulCompletion,
        &format!(
            "Load into table '{}' completed, {shown} record(s) loaded successfully.",
            entry.name
        ),
    );
    if !rejected.is_empty() {
        session.notice(
            "INFO",
            SqlState::SuccessfulCompletion,
            &format!(
                "Load into table '{}' completed, {} record(s) could not be loaded.  Check 'stl_load_errors' system table for details.",
                entry.name,
                rejected.len()
            ),
        );
    }
    Ok(Output::Command(format!("COPY {shown}")))
}

/// The columns the input fills, with their positions in the table.
fn input_columns(entry: &TableEntry, copy: &CopyStatement) -> Result<Vec<(usize, TargetColumn)>> {
    let target = |i: usize| {
        let c = &entry.def.columns[i];
        (
            i,
            TargetColumn {
                name: c.name.clone(),
                ty: c.ty,
                nullable: !c.not_null,
            },
        )
    };
    let is_identity = |i: usize| entry.def.columns[i].identity.is_some();
    if copy.columns.is_empty() {
        if copy.explicit_ids && !(0..entry.def.columns.len()).any(is_identity) {
            return Err(EngineError::sql(
                SqlState::InternalError,
                format!(
                    "EXPLICIT_IDS used with a table that has no IDENTITY column: \"{}\"",
                    entry.name
                ),
            ));
        }
        return Ok((0..entry.def.columns.len())
            .filter(|i| copy.explicit_ids || !is_identity(*i))
            .map(target)
            .collect());
    }
    let mut out = Vec::with_capacity(copy.columns.len());
    for name in &copy.columns {
        let Some(i) = entry.def.column_index(name) else {
            return Err(EngineError::sql(
                SqlState::UndefinedColumn,
                format!(
                    "column \"{name}\" of relation \"{}\" does not exist",
                    entry.name
                ),
            ));
        };
        if out.iter().any(|(j, _)| *j == i) {
            return Err(EngineError::sql(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" specified more than once"),
            ));
        }
        let identity = entry.def.columns[i].identity;
        if identity.is_some_and(|id| !id.by_default) && !copy.explicit_ids {
            return Err(EngineError::sql(
                SqlState::FeatureNotSupported,
                format!(
                    "cannot set an identity column to a value: \"{name}\" (COPY needs EXPLICIT_IDS)"
                ),
            ));
        }
        out.push(target(i));
    }
    if copy.explicit_ids && !out.iter().any(|(i, _)| is_identity(*i)) {
        return Err(EngineError::sql(
            SqlState::InternalError,
            "EXPLICIT_IDS needs the IDENTITY column in the column list",
        ));
    }
    Ok(out)
}

/// Checks the authorization the statement gives and returns `objects`
/// acting as the identity it names: the role Redshift assumes for
/// `IAM_ROLE` (the last of a chain; `default` is the cluster's default
/// role), or the owner of the keys given. `db_user` is the session's user,
/// named in Redshift's refusal to assume a role.
pub(crate) fn check_authorization(
    objects: &Objects,
    authorization: &Option<Authorization>,
    verb: &str,
    db_user: &str,
) -> Result<Objects> {
    let account = &objects.account;
    let identity = match authorization {
        None => {
            return Err(EngineError::sql(
                SqlState::InternalError,
                format!(
                    "{verb} needs authorization: IAM_ROLE, ACCESS_KEY_ID and SECRET_ACCESS_KEY, or CREDENTIALS"
                ),
            ));
        }
        Some(Authorization::IamRoleDefault) => {
            let Some(default) = account.cluster_roles().default else {
                return Err(EngineError::sql(
                    SqlState::InternalError,
                    "No default IAM role is set for the cluster: associate a role and make it the default (aws redshift modify-cluster-iam-roles --default-iam-role-arn), or name a role",
                ));
            };
            assume_chain(account, std::slice::from_ref(&default), db_user)?
        }
        Some(Authorization::IamRole(arns)) => {
            for arn in arns {
                if !is_role_arn(arn) {
                    return Err(EngineError::sql(
                        SqlState::InternalError,
                        format!(
                            "Invalid IAM role ARN \"{arn}\": expected arn:aws:iam::<account>:role/<name>"
                        ),
                    ));
                }
            }
            assume_chain(account, arns, db_user)?
        }
        Some(Authorization::Keys {
            access_key_id,
            secret_access_key,
            session_token,
        }) => keys_identity(
            account,
            access_key_id,
            secret_access_key,
            session_token.as_deref(),
        )?,
    };
    let mut acting = objects.clone();
    acting.grant = Some(Arc::new(crate::s3access::Grant {
        account: account.clone(),
        identity,
    }));
    Ok(acting)
}

/// The identity at the end of a role chain: Redshift assumes the first
/// role, each role assumes the next.
fn assume_chain(
    account: &shale_iam::Account,
    arns: &[String],
    db_user: &str,
) -> Result<shale_iam::Identity> {
    let refused = |arn: &str| {
        let message = format!(
            "User arn:aws:redshift:{}:{}:dbuser:{}/{db_user} is not authorized to assume IAM Role {arn}",
            shale_common::config::REGION,
            account.id(),
            shale_common::config::CLUSTER_IDENTIFIER,
        );
        let detail = format!(
            "\n  -----------------------------------------------\n  error:  {message}\n  code:      8001\n  context:   IAM Role={arn}\n  query:     0\n  location:  xen_aws_credentials_mgr.cpp:0\n  process:   padbmaster [pid=0]\n  -----------------------------------------------\n"
        );
        EngineError::Sql {
            state: SqlState::InternalError,
            message,
            detail: Some(detail),
            hint: None,
        }
    };
    let mut arns = arns.iter();
    let Some(first) = arns.next() else {
        return Err(EngineError::sql(
            SqlState::InternalError,
            "IAM_ROLE names no role",
        ));
    };
    let mut identity = account
        .assume_for_redshift(first)
        .map_err(|_| refused(first))?;
    for arn in arns {
        identity = account
            .may_assume(&identity, arn)
            .map_err(|_| refused(arn))?;
    }
    Ok(identity)
}

/// The owner of explicit keys, as S3 would check them: a known key, the
/// right secret, and for temporary credentials the matching, unexpired
/// session token.
fn keys_identity(
    account: &shale_iam::Account,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
) -> Result<shale_iam::Identity> {
    let Some(credential) = account.credential(access_key_id) else {
        return Err(s3_exception(
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            "InvalidAccessKeyId",
        ));
    };
    if !shale_common::password::constant_time_eq(
        credential.secret.as_bytes(),
        secret_access_key.as_bytes(),
    ) {
        return Err(s3_exception(
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            403,
            "SignatureDoesNotMatch",
        ));
    }
    match credential.check_session(session_token) {
        Ok(()) => Ok(credential.identity),
        Err(shale_iam::SessionFault::WrongToken) => Err(s3_exception(
            "The provided token is malformed or otherwise invalid.",
            400,
            "InvalidToken",
        )),
        Err(shale_iam::SessionFault::Expired) => Err(s3_exception(
            "The provided token has expired.",
            400,
            "ExpiredToken",
        )),
    }
}

fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let Some((account, role)) = rest.split_once(":role/") else {
        return false;
    };
    !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) && !role.is_empty()
}

/// An error S3 returned, as Redshift passes it on.
pub(crate) fn s3_exception(message: &str, status: u16, code: &str) -> EngineError {
    EngineError::sql(
        SqlState::InternalError,
        format!("S3ServiceException:{message},Status {status},Error {code}"),
    )
}

/// Redshift's error with its DETAIL block.
fn detailed(message: String, code: u32) -> EngineError {
    let detail = format!(
        "\n  -----------------------------------------------\n  error:  {message}\n  code:      {code}\n  context:   \n  query:     0\n  location:  s3_utility.cpp:0\n  process:   padbmaster [pid=0]\n  -----------------------------------------------\n"
    );
    EngineError::Sql {
        state: SqlState::InternalError,
        message,
        detail: Some(detail),
        hint: None,
    }
}

/// `s3://bucket/key`.
#[derive(Debug, Clone)]
pub(crate) struct S3Url {
    pub bucket: String,
    pub key: String,
}

impl S3Url {
    pub(crate) fn parse(url: &str) -> Result<S3Url> {
        let Some(rest) = url.strip_prefix("s3://") else {
            let scheme = url.split("://").next().unwrap_or(url);
            if url.contains("://") {
                return Err(EngineError::unsupported(format!(
                    "COPY from {scheme}:// is not supported; load from s3://bucket/prefix"
                )));
            }
            return Err(EngineError::sql(
                SqlState::InternalError,
                format!("Invalid S3 path '{url}': expected s3://bucket/prefix"),
            ));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(EngineError::sql(
                SqlState::InternalError,
                format!("Invalid S3 path '{url}': the bucket name is missing"),
            ));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    fn display(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// One object to load.
struct InputFile {
    url: String,
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

/// The store of `bucket`, with every access authorized for the identity
/// the statement acts as.
pub(crate) fn bucket_store(objects: &Objects, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    let store = objects.registry.store(bucket).map_err(|e| match e {
        shale_objects::ObjectsError::NoSuchBucket(_) => {
            s3_exception("The specified bucket does not exist", 404, "NoSuchBucket")
        }
        other => EngineError::sql(
            SqlState::InternalError,
            format!("S3ServiceException:{other}"),
        ),
    })?;
    Ok(match &objects.grant {
        Some(grant) => Arc::new(crate::s3access::AuthorizedStore {
            inner: store,
            bucket: bucket.to_owned(),
            grant: Arc::clone(grant),
        }),
        None => store,
    })
}

pub(crate) fn object_error(e: object_store::Error) -> EngineError {
    match e {
        object_store::Error::NotFound { .. } => {
            s3_exception("The specified key does not exist.", 404, "NoSuchKey")
        }
        object_store::Error::PermissionDenied { .. } => {
            s3_exception("Access Denied", 403, "AccessDenied")
        }
        other => EngineError::sql(
            SqlState::InternalError,
            format!("S3ServiceException:{other}"),
        ),
    }
}

/// Every object whose key starts with the prefix, in key order.
async fn prefix_files(objects: &Objects, source: &S3Url) -> Result<Vec<InputFile>> {
    let store = bucket_store(objects, &source.bucket)?;
    let prefix = source.key.as_str();
    let files: Vec<InputFile> = list_prefix(&store, prefix)
        .await?
        .into_iter()
        .map(|meta| InputFile {
            url: format!("s3://{}/{}", source.bucket, meta.location),
            store: Arc::clone(&store),
            path: meta.location,
            size: meta.size,
        })
        .collect();
    if files.is_empty() {
        return Err(detailed(
            format!("The specified S3 prefix '{prefix}' does not exist"),
            8001,
        ));
    }
    Ok(files)
}

/// The objects whose keys start with `prefix` (Redshift's prefix, not a
/// folder), in key order. Listing is by path segments, so the prefix's
/// folder is listed and its keys filtered.
pub(crate) async fn list_prefix(
    store: &Arc<dyn ObjectStore>,
    prefix: &str,
) -> Result<Vec<object_store::ObjectMeta>> {
    let folder = prefix
        .rfind('/')
        .map(|i| &prefix[..i])
        .filter(|f| !f.is_empty())
        .map(Path::from);
    let mut listed = store.list(folder.as_ref());
    let mut out = Vec::new();
    while let Some(meta) = listed.next().await {
        let meta = meta.map_err(object_error)?;
        if meta.location.as_ref().starts_with(prefix) {
            out.push(meta);
        }
    }
    out.sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
    Ok(out)
}

/// The objects a manifest lists (mandatory ones must exist; optional
/// missing ones are skipped).
async fn manifest_files(
    objects: &Objects,
    source: &S3Url,
    copy: &CopyStatement,
) -> Result<Vec<InputFile>> {
    let store = bucket_store(objects, &source.bucket)?;
    let path = Path::from(source.key.as_str());
    let bytes = match store.get(&path).await {
        Ok(r) => r.bytes().await.map_err(object_error)?,
        Err(object_store::Error::NotFound { .. }) => {
            // A prefix rather than an object?
            let folder = (!source.key.is_empty()).then(|| path.clone());
            let mut listed = store.list(folder.as_ref());
            if listed.next().await.is_some() {
                return Err(detailed(
                    "COPY with MANIFEST parameter requires full path of an S3 object".into(),
                    8001,
                ));
            }
            return Err(EngineError::sql(
                SqlState::InternalError,
                "Problem reading manifest file - S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey",
            ));
        }
        Err(e) => return Err(object_error(e)),
    };
    let bad = |why: &str| {
        EngineError::sql(
            SqlState::InternalError,
            format!(
                "Manifest file is not in correct json format: {why} ({})",
                source.display()
            ),
        )
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
    let entries = manifest
        .get("entries")
        .and_then(|e| e.as_array())
        .ok_or_else(|| bad("it has no \"entries\" array"))?;
    let columnar = matches!(copy.format, DataFormat::Parquet | DataFormat::Orc);
    let mut files = Vec::new();
    for entry in entries {
        let url = entry
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| bad("an entry has no \"url\""))?;
        let mandatory = entry
            .get("mandatory")
            .and_then(|m| m.as_bool())
            .unwrap_or(false);
        let length = entry
            .get("meta")
            .and_then(|m| m.get("content_length"))
            .and_then(|l| l.as_u64());
        if columnar && length.is_none() {
            return Err(EngineError::sql(
                SqlState::InternalError,
                format!(
                    "Manifest entry for '{url}' has no meta.content_length, which {} files need",
                    copy.format.name()
                ),
            ));
        }
        let target = S3Url::parse(url)?;
        let store = bucket_store(objects, &target.bucket)?;
        let path = Path::from(target.key.as_str());
        match store.head(&path).await {
            Ok(meta) => files.push(InputFile {
                url: url.to_string(),
                store,
                path,
                size: meta.size,
            }),
            Err(object_store::Error::NotFound { .. }) if !mandatory => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(EngineError::sql(
                    SqlState::InternalError,
                    format!(
                        "Manifest file entry '{url}' is mandatory but the file was not found: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey"
                    ),
                ));
            }
            Err(e) => return Err(object_error(e)),
        }
    }
    if files.is_empty() {
        return Err(EngineError::sql(
            SqlState::InternalError,
            format!(
                "None of the files in the manifest '{}' were found",
                source.display()
            ),
        ));
    }
    Ok(files)
}

/// A JSONPaths file; None when it is not one (then 'auto' applies).
async fn json_paths(objects: &Objects, url: &str) -> Result<Option<Vec<shale_formats::JsonPath>>> {
    let target = S3Url::parse(url)?;
    let store = bucket_store(objects, &target.bucket)?;
    let bytes = store
        .get(&Path::from(target.key.as_str()))
        .await
        .map_err(object_error)?
        .bytes()
        .await
        .map_err(object_error)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        EngineError::sql(
            SqlState::InternalError,
            "Invalid JSONPath format: the file is not valid UTF-8",
        )
    })?;
    shale_formats::parse_json_paths(text).map_err(format_error)
}

/// A text format, or the JSONPaths file still to fetch.
enum TextFormat {
    Ready(Format),
    Json { paths: Option<String> },
}

/// The reader format for text inputs; None for Parquet.
fn text_format(
    copy: &CopyStatement,
    inputs: &[(usize, TargetColumn)],
) -> Result<Option<TextFormat>> {
    let byte = |s: &str, what: &str| -> Result<u8> {
        match s.as_bytes() {
            [b] if b.is_ascii() => Ok(*b),
            _ => Err(EngineError::sql(
                SqlState::InternalError,
                format!("{what} must be a single-byte character"),
            )),
        }
    };
    if copy.encrypted {
        return Err(EngineError::unsupported(
            "ENCRYPTED (client-side encrypted files) is not supported",
        ));
    }
    if copy.compression == Compression::Lzop {
        return Err(EngineError::unsupported(
            "LZOP compression is not supported",
        ));
    }
    if copy.encoding.as_deref().is_some_and(|e| e != "UTF8") {
        return Err(EngineError::unsupported(
            "ENCODING other than UTF8 is not supported",
        ));
    }
    let format = match &copy.format {
        DataFormat::Text => Format::Delimited {
            delimiter: match &copy.delimiter {
                Some(d) => byte(d, "DELIMITER")?,
                None => b'|',
            },
        },
        DataFormat::Csv { quote } => Format::Csv {
            delimiter: match &copy.delimiter {
                Some(d) => byte(d, "DELIMITER")?,
                None => b',',
            },
            quote: match quote {
                Some(q) => byte(q, "QUOTE")?,
                None => b'"',
            },
        },
        DataFormat::FixedWidth(spec) => Format::FixedWidth(fixed_width(spec, inputs.len())?),
        DataFormat::Json(arg) => match arg.as_str() {
            "auto" => Format::Json(JsonMapping::Auto { ignore_case: false }),
            "auto ignorecase" => Format::Json(JsonMapping::Auto { ignore_case: true }),
            "noshred" => {
                return Err(EngineError::unsupported("JSON 'noshred' is not supported"));
            }
            url if url.starts_with("s3://") => {
                return Ok(Some(TextFormat::Json {
                    paths: Some(url.to_string()),
                }));
            }
            other => {
                return Err(EngineError::sql(
                    SqlState::InternalError,
                    format!(
                        "Invalid JSON option '{other}': expected 'auto', 'auto ignorecase', 'noshred' or an s3:// JSONPaths file"
                    ),
                ));
            }
        },
        DataFormat::Parquet => return Ok(None),
        DataFormat::Avro(_) => {
            return Err(EngineError::unsupported(
                "COPY FORMAT AVRO is not supported",
            ));
        }
        DataFormat::Orc => {
            return Err(EngineError::unsupported("COPY FORMAT ORC is not supported"));
        }
    };
    Ok(Some(TextFormat::Ready(format)))
}

/// `label:width,label:width`, as COPY and UNLOAD take it.
pub(crate) fn fixed_width_spec(spec: &str) -> Result<Vec<(String, usize)>> {
    let bad = || {
        EngineError::sql(
            SqlState::InternalError,
            format!("Invalid FIXEDWIDTH specification '{spec}': expected 'label:width,...'"),
        )
    };
    spec.split(',')
        .map(|part| {
            let (label, width) = part.trim().split_once(':').ok_or_else(bad)?;
            let width: usize = width.trim().parse().map_err(|_| bad())?;
            Ok((label.trim().to_string(), width))
        })
        .collect()
}

/// A FIXEDWIDTH specification that covers the load's columns.
fn fixed_width(spec: &str, columns: usize) -> Result<Vec<(String, usize)>> {
    let widths = fixed_width_spec(spec)?;
    if widths.len() != columns {
        return Err(EngineError::sql(
            SqlState::InternalError,
            format!(
                "FIXEDWIDTH specification has {} fields but the load has {columns} columns",
                widths.len()
            ),
        ));
    }
    Ok(widths)
}

fn format_options(copy: &CopyStatement) -> Options {
    Options {
        null_as: copy.null_as.clone(),
        empty_as_null: copy.empty_as_null,
        blanks_as_null: copy.blanks_as_null,
        truncate_columns: copy.truncate_columns,
        trim_blanks: copy.trim_blanks,
        accept_inv_chars: copy
            .accept_inv_chars
            .as_ref()
            .map(|s| s.chars().next().unwrap_or('?')),
        escape: copy.escape,
        remove_quotes: copy.remove_quotes,
        fill_record: copy.fill_record,
        ignore_blank_lines: copy.ignore_blank_lines,
        ignore_header: copy.ignore_header.unwrap_or(0),
        date_format: copy.date_format.clone(),
        time_format: copy.time_format.clone(),
        accept_any_date: copy.accept_any_date,
        round_ec: copy.round_ec,
    }
}

fn format_error(e: shale_formats::FormatError) -> EngineError {
    EngineError::sql(SqlState::InternalError, e.to_string())
}

fn file_format_name(copy: &CopyStatement) -> &'static str {
    match copy.format {
        DataFormat::Text | DataFormat::FixedWidth(_) => "txt",
        DataFormat::Csv { .. } => "csv",
        DataFormat::Json(_) => "json",
        DataFormat::Avro(_) => "avro",
        DataFormat::Parquet => "parquet",
        DataFormat::Orc => "orc",
    }
}

/// Per-file progress, and the outcome of the load so far.
struct LoadState {
    urls: Vec<String>,
    sizes: Vec<i64>,
    files: Vec<Mutex<FileProgress>>,
    rejected: Mutex<Vec<(usize, Rejected)>>,
    /// Rejected rows that make the load fail (MAXERROR); None: never.
    limit: Option<usize>,
    failed: AtomicBool,
    fatal: Mutex<Option<EngineError>>,
    /// Set when the load must stop (failure, or the writer gave up).
    stop: AtomicBool,
}

#[derive(Default, Clone)]
struct FileProgress {
    lines: u64,
    errors: u64,
    done: bool,
}

impl LoadState {
    fn new(files: &[InputFile], copy: &CopyStatement) -> Self {
        let limit = if copy.ignore_all_errors {
            None
        } else {
            Some(copy.max_error.unwrap_or(0).max(1) as usize)
        };
        LoadState {
            urls: files.iter().map(|f| f.url.clone()).collect(),
            sizes: files.iter().map(|f| f.size as i64).collect(),
            files: files
                .iter()
                .map(|_| Mutex::new(FileProgress::default()))
                .collect(),
            rejected: Mutex::new(Vec::new()),
            limit,
            failed: AtomicBool::new(false),
            fatal: Mutex::new(None),
            stop: AtomicBool::new(false),
        }
    }

    fn progress(&self, file: usize) -> std::sync::MutexGuard<'_, FileProgress> {
        self.files[file].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records rejected rows; false when the load must now fail.
    fn reject(&self, file: usize, rows: Vec<Rejected>) -> bool {
        if rows.is_empty() {
            return true;
        }
        self.progress(file).errors += rows.len() as u64;
        let mut all = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        all.extend(rows.into_iter().map(|r| (file, r)));
        if self.limit.is_some_and(|l| all.len() >= l) {
            self.failed.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn fail(&self, e: EngineError) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        fatal.get_or_insert(e);
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn take_rejected(&self) -> Vec<(usize, Rejected)> {
        std::mem::take(&mut *self.rejected.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn take_fatal(&self) -> Option<EngineError> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A parsed batch from one file.
type Message = (usize, Parsed);

/// Starts the file readers.
struct Reader {
    files: Arc<Vec<InputFile>>,
    /// None: Parquet.
    format: Option<Arc<Format>>,
    options: Options,
    targets: Arc<Vec<TargetColumn>>,
    compression: Compression,
    load: Arc<LoadState>,
    parallelism: usize,
}

impl Reader {
    /// Spawns one task per file, at most `parallelism` running at a time.
    fn start(self) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let permits = Arc::new(Semaphore::new(self.parallelism));
        let this = Arc::new(self);
        for index in 0..this.files.len() {
            let tx = tx.clone();
            let permits = Arc::clone(&permits);
            let this = Arc::clone(&this);
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                if this.load.stopped() || tx.is_closed() {
                    return;
                }
                let result = match &this.format {
                    Some(format) => this.read_text(index, Arc::clone(format), tx.clone()).await,
                    None => this.read_parquet(index, tx.clone()).await,
                };
                // Recorded while this task still holds a sender, so that the
                // writer cannot see the end of the input before the outcome.
                if let Err(e) = result {
                    this.load.fail(e);
                }
                this.load.progress(index).done = true;
                drop(tx);
            });
        }
        rx
    }

    async fn read_text(
        self: &Arc<Self>,
        index: usize,
        format: Arc<Format>,
        tx: mpsc::Sender<Message>,
    ) -> Result<()> {
        let file = &self.files[index];
        let url = file.url.clone();
        let body = file
            .store
            .get(&file.path)
            .await
            .map_err(object_error)?
            .into_stream();
        let this = Arc::clone(self);
        let handle = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || -> Result<()> {
            let raw = BlockingRead {
                handle,
                stream: body,
                buf: Bytes::new(),
            };
            let decoded = shale_formats::decompress(compression(this.compression), raw);
            let input = std::io::BufReader::with_capacity(READ_BUFFER, decoded);
            let reader = RecordReader::new(
                input,
                (*format).clone(),
                this.options.clone(),
                (*this.targets).clone(),
                BATCH_ROWS,
            );
            for parsed in reader {
                if this.load.stopped() {
                    return Ok(());
                }
                let parsed = parsed.map_err(|e| read_error(&url, e))?;
                this.load.progress(index).lines = parsed.lines_scanned;
                if tx.blocking_send((index, parsed)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })
        .await;
        joined
            .map_err(|e| EngineError::sql(SqlState::InternalError, format!("reader failed: {e}")))?
    }

    async fn read_parquet(&self, index: usize, tx: mpsc::Sender<Message>) -> Result<()> {
        let file = &self.files[index];
        let reader = DefaultParquetFileReaderFactory::new(Arc::clone(&file.store)).create_reader(
            index,
            PartitionedFile::new(file.path.as_ref(), file.size),
            None,
            &ExecutionPlanMetricsSet::new(),
        )?;
        let reader: Box<dyn AsyncFileReader> = reader;
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| parquet_error(&file.url, &e.to_string()))?;
        let fields = builder.schema().fields().len();
        if fields != self.targets.len() {
            return Err(parquet_error(
                &file.url,
                &format!(
                    "the file has {fields} columns and the load has {}",
                    self.targets.len()
                ),
            ));
        }
        let mut stream = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(&file.url, &e.to_string()))?;
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            if self.load.stopped() {
                return Ok(());
            }
            let batch = batch.map_err(|e| parquet_error(&file.url, &e.to_string()))?;
            let columns = batch
                .columns()
                .iter()
                .zip(self.targets.iter())
                .map(|(array, target)| {
                    let ty = target.ty.arrow_type();
                    if array.data_type() == &ty {
                        Ok(Arc::clone(array))
                    } else {
                        cast_with_options(array, &ty, &options).map_err(|e| {
                            parquet_error(
                                &file.url,
                                &format!("column '{}' cannot be loaded: {e}", target.name),
                            )
                        })
                    }
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
            let schema = target_schema(&self.targets);
            let batch = RecordBatch::try_new(schema, columns)?;
            rows += batch.num_rows() as u64;
            self.load.progress(index).lines = rows;
            let parsed = Parsed {
                batch,
                rejected: Vec::new(),
                lines_scanned: rows,
                missing: Vec::new(),
            };
            if tx.send((index, parsed)).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn target_schema(targets: &[TargetColumn]) -> SchemaRef {
    use datafusion::arrow::datatypes::{Field, Schema};
    Arc::new(Schema::new(
        targets
            .iter()
            .map(|t| Field::new(&t.name, t.ty.arrow_type(), true))
            .collect::<Vec<_>>(),
    ))
}

fn compression(c: Compression) -> shale_formats::Compression {
    match c {
        Compression::None | Compression::Lzop => shale_formats::Compression::None,
        Compression::Gzip => shale_formats::Compression::Gzip,
        Compression::Bzip2 => shale_formats::Compression::Bzip2,
        Compression::Zstd => shale_formats::Compression::Zstd,
    }
}

fn read_error(url: &str, e: shale_formats::FormatError) -> EngineError {
    EngineError::sql(
        SqlState::InternalError,
        format!("Error reading '{url}': {e}"),
    )
}

fn parquet_error(url: &str, why: &str) -> EngineError {
    EngineError::sql(
        SqlState::InternalError,
        format!("Spectrum Scan Error: File '{url}' has an incompatible Parquet schema: {why}"),
    )
}

/// An object's body as a blocking reader, for the parsing threads.
struct BlockingRead {
    handle: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    buf: Bytes,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => self.buf = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Turns parsed input batches into rows of the table: input columns in
/// place, the others from their DEFAULT or IDENTITY.
struct Completer {
    /// Per table column: the input column it comes from, or an expression.
    sources: Vec<ColumnSource>,
    /// Per input column: its DEFAULT, for JSON objects that lack its key.
    input_defaults: Vec<Option<Arc<dyn PhysicalExpr>>>,
    schema: SchemaRef,
}

enum ColumnSource {
    Input(usize),
    Expr(Arc<dyn PhysicalExpr>),
    Null,
}

impl Completer {
    fn new(
        session: &Session,
        entry: &TableEntry,
        inputs: &[(usize, TargetColumn)],
    ) -> Result<Self> {
        let targets: Vec<TargetColumn> = inputs.iter().map(|(_, t)| t.clone()).collect();
        let input_schema = DFSchema::try_from(target_schema(&targets).as_ref().clone())?;
        let physical = |text: &str| -> Result<Arc<dyn PhysicalExpr>> {
            let logical = session.state.create_logical_expr(text, &input_schema)?;
            Ok(session.state.create_physical_expr(logical, &input_schema)?)
        };
        let mut sources = Vec::with_capacity(entry.def.columns.len());
        let mut input_defaults = vec![None; inputs.len()];
        for (index, def) in entry.def.columns.iter().enumerate() {
            if let Some(pos) = inputs.iter().position(|(i, _)| *i == index) {
                sources.push(ColumnSource::Input(pos));
                if let Some(text) = &def.default {
                    input_defaults[pos] = Some(physical(text)?);
                }
                continue;
            }
            let text = match (&def.default, def.identity) {
                (Some(text), _) => text.clone(),
                (None, Some(_)) => format!("{IDENTITY_FUNCTION}({}, {index})", entry.id),
                (None, None) => {
                    sources.push(ColumnSource::Null);
                    continue;
                }
            };
            sources.push(ColumnSource::Expr(physical(&text)?));
        }
        Ok(Completer {
            sources,
            input_defaults,
            schema: entry.def.arrow_schema(),
        })
    }

    fn complete(
        &self,
        input: &RecordBatch,
        missing: &[Vec<u32>],
    ) -> datafusion::error::Result<RecordBatch> {
        let rows = input.num_rows();
        let mut columns = Vec::with_capacity(self.sources.len());
        for (source, field) in self.sources.iter().zip(self.schema.fields()) {
            let array = match source {
                ColumnSource::Input(i) => {
                    let given = Arc::clone(input.column(*i));
                    match (missing.get(*i), &self.input_defaults[*i]) {
                        (Some(absent), Some(default)) if !absent.is_empty() => {
                            with_defaults(given, absent, default, input, field.data_type())?
                        }
                        _ => given,
                    }
                }
                ColumnSource::Expr(e) => e.evaluate(input)?.into_array(rows)?,
                ColumnSource::Null => {
                    datafusion::arrow::array::new_null_array(field.data_type(), rows)
                }
            };
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                datafusion::arrow::compute::cast(&array, field.data_type())?
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

/// `given` with the rows listed in `absent` replaced by the DEFAULT.
fn with_defaults(
    given: ArrayRef,
    absent: &[u32],
    default: &Arc<dyn PhysicalExpr>,
    input: &RecordBatch,
    ty: &datafusion::arrow::datatypes::DataType,
) -> datafusion::error::Result<ArrayRef> {
    let rows = input.num_rows();
    let mut mask = vec![false; rows];
    for &r in absent {
        if let Some(m) = mask.get_mut(r as usize) {
            *m = true;
        }
    }
    let mask = datafusion::arrow::array::BooleanArray::from(mask);
    let defaults = default.evaluate(input)?.into_array(rows)?;
    let defaults = if defaults.data_type() == ty {
        defaults
    } else {
        datafusion::arrow::compute::cast(&defaults, ty)?
    };
    let given = if given.data_type() == ty {
        given
    } else {
        datafusion::arrow::compute::cast(&given, ty)?
    };
    Ok(datafusion::arrow::compute::kernels::zip::zip(
        &mask, &defaults, &given,
    )?)
}

/// The table's rows as they arrive from the readers.
fn rows_stream(
    parsed: Arc<tokio::sync::Mutex<mpsc::Receiver<Message>>>,
    completer: Arc<Completer>,
    load: Arc<LoadState>,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let stopped = || DataFusionError::Execution("the load stopped".to_string());
    let rows = futures::stream::unfold(
        (parsed, completer, load),
        move |(rx, completer, load)| async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((file, parsed)) = next else {
                    if load.stopped() {
                        return Some((Err(stopped()), (rx, completer, load)));
                    }
                    return None;
                };
                if !load.reject(file, parsed.rejected) {
                    rx.lock().await.close();
                    return Some((Err(stopped()), (rx, completer, load)));
                }
                if parsed.batch.num_rows() == 0 {
                    continue;
                }
                let batch = completer.complete(&parsed.batch, &parsed.missing);
                return Some((batch, (rx, completer, load)));
            }
        },
    );
    // After the first error nothing more is read.
    let rows = rows.scan(false, |ended, item| {
        if *ended {
            return futures::future::ready(None);
        }
        *ended = item.is_err();
        futures::future::ready(Some(item))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, rows))
}

/// NOLOAD: parses everything, keeps nothing.
async fn drain(mut stream: SendableRecordBatchStream) -> Result<u64> {
    let mut rows = 0;
    while let Some(batch) = stream.try_next().await.transpose() {
        rows += batch?.num_rows() as u64;
    }
    Ok(rows)
}

/// Writes the rows into the table as part of the session's transaction. A
/// table with a SORTKEY gets its rows sorted [`SORT_CHUNK_ROWS`] at a time,
/// so that memory stays bounded whatever the input size; VACUUM restores
/// the order across chunks and files, as after a Redshift COPY into a table
/// that already holds rows.
async fn write(
    storage: &shale_storage::Storage,
    shared: &crate::catalog::SharedTx,
    entry: &TableEntry,
    stream: SendableRecordBatchStream,
    schema: SchemaRef,
) -> Result<u64> {
    let keys: Vec<usize> = entry
        .def
        .sortkey
        .iter()
        .filter_map(|name| entry.def.column_index(name))
        .collect();
    let stream = if keys.is_empty() {
        stream
    } else {
        sorted_chunks(stream, keys, schema)
    };
    crate::table::write_rows(storage, shared, entry, stream).await
}

/// The stream's rows sorted by `keys`, [`SORT_CHUNK_ROWS`] at a time.
fn sorted_chunks(
    input: SendableRecordBatchStream,
    keys: Vec<usize>,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let out_schema = Arc::clone(&schema);
    let chunks = futures::stream::unfold((input, false), move |(mut input, ended)| {
        let keys = keys.clone();
        let schema = Arc::clone(&schema);
        async move {
            if ended {
                return None;
            }
            let mut pending = Vec::new();
            let mut rows = 0;
            let mut ended = false;
            while rows < SORT_CHUNK_ROWS {
                match input.next().await {
                    Some(Ok(batch)) => {
                        rows += batch.num_rows();
                        pending.push(batch);
                    }
                    Some(Err(e)) => return Some((Err(e), (input, true))),
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            if pending.is_empty() {
                return None;
            }
            let sorted = sort_batches(&schema, &pending, &keys);
            Some((sorted, (input, ended)))
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(out_schema, chunks))
}

fn sort_batches(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[usize],
) -> datafusion::error::Result<RecordBatch> {
    use datafusion::arrow::compute::{
        SortColumn, concat_batches, lexsort_to_indices, take_record_batch,
    };
    let all = concat_batches(schema, batches)?;
    let columns: Vec<SortColumn> = keys
        .iter()
        .map(|k| SortColumn {
            values: Arc::clone(all.column(*k)),
            options: None,
        })
        .collect();
    let indices = lexsort_to_indices(&columns, None)?;
    Ok(take_record_batch(&all, &indices)?)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `pg_last_copy_id()` and `pg_last_copy_count()` from now on.
fn set_last_copy(session: &mut Session, id: i64, count: i64) {
    if let Err(e) = crate::functions::register_last_copy(&mut session.state, id, count) {
        tracing::error!(error = %e, "Could not register pg_last_copy_id.");
    }
    session.config_changed();
}

/// Writes the load into the logs.
#[allow(clippy::too_many_arguments)]
fn log_load(
    session: &Session,
    entry: &TableEntry,
    query: i64,
    start_time: i64,
    started: Instant,
    source: &str,
    load: &LoadState,
    rejected: &[(usize, Rejected)],
    loaded: u64,
    completed: bool,
    file_format: &str,
) {
    let info = &session.info;
    let user = info.user_id;
    let pid = info.backend_pid;
    let table_id = entry.id as i32;
    let query32 = query as i32;
    let text = |s: &str| Cell::Text(s.to_string());
    // Rows of STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL.
    let file_urls = &load.urls;
    let mut errors = Vec::with_capacity(rejected.len());
    let mut details = Vec::with_capacity(rejected.len());
    for (file, r) in rejected {
        let url = file_urls.get(*file).cloned().unwrap_or_default();
        errors.push(vec![
            Cell::Int(user),
            Cell::Int(0),
            Cell::Int(table_id),
            Cell::Time(start_time),
            Cell::Int(pid),
            Cell::Int(query32),
            text(&url),
            Cell::Big(r.line_number as i64),
            text(&r.column),
            text(&r.col_type),
            text(&r.col_length),
            Cell::Int(r.position),
            text(&single_byte(&r.raw_line)),
            text(&r.raw_field_value),
            Cell::Int(i32::from(r.err_code)),
            text(&r.err_reason),
            Cell::Int(0),
            Cell::Big(0),
            Cell::Big(0),
        ]);
        details.push(vec![
            Cell::Int(user),
            Cell::Big(query),
            Cell::Big(query),
            Cell::Int(pid),
            text(&info.database),
            Cell::Int(table_id),
            Cell::Time(start_time),
            text(&url),
            Cell::Big(r.line_number as i64),
            text(&r.column),
            text(&r.col_type),
            text(&r.col_length),
            Cell::Int(r.position),
            Cell::Int(i32::from(r.err_code)),
            text(&r.err_reason),
        ]);
    }
    session.loads.record(LOAD_ERRORS, errors);
    session.loads.record(LOAD_ERROR_DETAIL, details);
    let now = now_micros();
    let file_label = match file_format {
        "json" => "JSON",
        "parquet" => "Parquet",
        "avro" => "Avro",
        "orc" => "ORC",
        _ => "Text",
    };
    let mut commits = Vec::new();
    let mut scanned_files = 0;
    for (i, url) in file_urls.iter().enumerate() {
        let p = load.progress(i).clone();
        if !p.done {
            continue;
        }
        scanned_files += 1;
        commits.push(vec![
            Cell::Int(user),
            Cell::Int(query32),
            Cell::Int(0),
            text(url),
            text(url),
            Cell::Int(0),
            Cell::Int(p.lines.min(i32::MAX as u64) as i32),
            Cell::Int(p.errors.min(i32::MAX as u64) as i32),
            Cell::Time(now),
            Cell::Int(1),
            text(file_label),
            Cell::Int(0),
            Cell::Big(0),
            Cell::Big(0),
        ]);
    }
    session.loads.record(LOAD_COMMITS, commits);
    let total_bytes: i64 = load.sizes.iter().sum();
    session.loads.record(
        LOAD_HISTORY,
        [vec![
            Cell::Int(user),
            Cell::Big(query),
            Cell::Big(query),
            Cell::Int(pid),
            text(&info.database),
            text(if completed { "completed" } else { "aborted" }),
            text(&entry.name),
            Cell::Time(start_time),
            Cell::Time(now),
            Cell::Big(started.elapsed().as_micros() as i64),
            text(source),
            text(file_format),
            Cell::Big(loaded as i64),
            Cell::Big(if completed { total_bytes } else { 0 }),
            Cell::Int(file_urls.len() as i32),
            Cell::Big(total_bytes),
            Cell::Int(scanned_files),
            Cell::Big(total_bytes),
            Cell::Big(rejected.len() as i64),
            Cell::Big(0),
        ]],
    );
}

/// Redshift's raw_line: multibyte characters shown as `.`.
fn single_byte(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii() { c } else { '.' })
        .collect()
}
