//! `EmbeddedStore`: buckets kept in the data directory, with S3's raw-key API.
//!
//! Layout under `<data>/s3/`:
//!
//! ```text
//! index.db (+ -wal)   the bucket index (see `index`), the only record of what exists
//! blobs/<32 hex>      one immutable file per object version or uploaded part
//! ```
//!
//! **Write protocol.** A PUT streams its body into a fresh blob file (never
//! held in memory), fsyncs the file and the `blobs/` directory, and only then
//! records the object in one SQLite transaction. Until that commit no reader
//! can see it; once the call returns it survives a crash. A blob replaced by
//! an overwrite or a delete is removed after the index changed; blobs no row
//! names (a crash between the two steps, or during a write) are removed when
//! the store opens.
//!
//! **Reads.** A reader looks up the row and opens its blob under the index
//! lock, so a concurrent overwrite can unlink the old blob but never before
//! the reader holds it open: a GET always returns one whole version.

use std::collections::{BTreeMap, HashMap};
use std::io::{Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::GetRange;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ObjectsError;
use crate::index::{self, ObjectRow};
use crate::names::{check_bucket_name, check_key};

/// A body being uploaded or downloaded, chunk by chunk. `Sync` because
/// s3s's `StreamingBlob` requires it.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync>>;

/// The largest object a single PUT (or one part) may carry: 5 GiB, as in S3.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The smallest size of every part but the last of a multipart upload.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Part numbers run from 1 to this.
pub const MAX_PART_NUMBER: i32 = 10_000;
/// Bytes read from a blob per chunk of a GET.
const READ_CHUNK: u64 = 256 * 1024;
/// Buffer between a request body and its blob file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    pub name: String,
    pub created: DateTime<Utc>,
}

/// An object's metadata. `etag` is the hex MD5 of the content (or
/// `md5-of-part-md5s-N` for multipart objects), without quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`), names in lower case.
    pub metadata: BTreeMap<String, String>,
}

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub part_number: i32,
    pub size: u64,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    pub upload_id: String,
    pub key: String,
    pub initiated: DateTime<Utc>,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Keys must start with this (a plain string prefix, not a folder).
    pub prefix: String,
    /// Keys with this after the prefix roll up into one common prefix.
    pub delimiter: Option<String>,
    /// Only keys (or common prefixes) after this one; a continuation token
    /// decodes to the last item of the previous page.
    pub start_after: Option<String>,
    /// Objects plus common prefixes returned at most.
    pub max_keys: usize,
}

/// One page of a listing, in UTF-8 binary key order.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// When truncated: the last key or common prefix returned, where the
    /// next page starts after.
    pub next_marker: Option<String>,
}

/// How a PUT treats an object already at the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteMode {
    #[default]
    Overwrite,
    /// Fail with `AlreadyExists` if there is one (`If-None-Match: *`).
    Create,
    /// Replace only the version with this ETag (`If-Match`).
    IfMatch(String),
}

/// Options of a PUT.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The `Content-MD5` the client sent, checked against the body.
    pub content_md5: Option<[u8; 16]>,
    pub mode: WriteMode,
}

/// Conditional-request headers of a GET, HEAD or copy source.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<DateTime<Utc>>,
    pub if_unmodified_since: Option<DateTime<Utc>>,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|t| {
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t.trim_matches('"') == etag
    })
}

impl Conditions {
    /// RFC 9110's evaluation order: If-Match, If-Unmodified-Since, then
    /// If-None-Match, If-Modified-Since. HTTP dates have whole seconds.
    pub fn check(&self, bucket: &str, info: &ObjectInfo) -> Result<(), ObjectsError> {
        let modified = info.last_modified.timestamp();
        let failed = || ObjectsError::PreconditionFailed {
            bucket: bucket.to_owned(),
            key: info.key.clone(),
        };
        let not_modified = || ObjectsError::NotModified {
            bucket: bucket.to_owned(),
            key: info.key.clone(),
        };
        match (&self.if_match, self.if_unmodified_since) {
            (Some(m), _) if !etag_matches(m, &info.etag) => return Err(failed()),
            (None, Some(t)) if modified > t.timestamp() => return Err(failed()),
            _ => {}
        }
        match (&self.if_none_match, self.if_modified_since) {
            (Some(m), _) if etag_matches(m, &info.etag) => Err(not_modified()),
            (None, Some(t)) if modified <= t.timestamp() => Err(not_modified()),
            _ => Ok(()),
        }
    }
}

/// An object opened for reading: its metadata, the byte range to send, and
/// the open blob (which stays readable even if the object is replaced).
#[derive(Debug)]
pub struct ObjectReader {
    pub info: ObjectInfo,
    pub range: Range<u64>,
    file: std::fs::File,
    path: PathBuf,
}

impl ObjectReader {
    /// The range's bytes as a stream of chunks.
    pub fn into_stream(self) -> ByteStream {
        let remaining = self.range.end - self.range.start;
        let file = tokio::fs::File::from_std(self.file);
        Box::pin(futures::stream::try_unfold(
            (file, remaining),
            |(mut file, remaining)| async move {
                if remaining == 0 {
                    return Ok(None);
                }
                // Both bounded by READ_CHUNK, far below usize::MAX.
                let want = usize::try_from(remaining.min(READ_CHUNK)).unwrap_or(1 << 16);
                let mut buf = vec![0u8; want];
                let got = file.read(&mut buf).await?;
                if got == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob is shorter than its index entry",
                    ));
                }
                buf.truncate(got);
                Ok(Some((Bytes::from(buf), (file, remaining - got as u64))))
            },
        ))
    }

    /// The open blob file (positioned at the range's start) and its path.
    pub fn into_file(self) -> (std::fs::File, PathBuf) {
        (self.file, self.path)
    }
}

/// The embedded buckets. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

struct Inner {
    root: PathBuf,
    blobs: PathBuf,
    /// The index. A std mutex: it is only held inside `spawn_blocking`, never
    /// across an `.await`. Held while a reader opens a blob (see module doc).
    db: Mutex<Connection>,
    /// Bucket names, mirrored from the index after each commit, so that
    /// `Registry::store` and request routing need no database round trip.
    buckets: RwLock<BTreeMap<String, BucketInfo>>,
}

/// A blob being written; removed on drop unless it was committed.
struct PendingBlob {
    name: String,
    path: PathBuf,
    size: u64,
    md5: [u8; 16],
    committed: bool,
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn new_blob_name() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn new_upload_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn sync_dir(dir: &Path) -> Result<(), ObjectsError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ObjectsError::io("cannot sync directory", dir))
}

fn no_such_key(bucket: &str, key: &str) -> ObjectsError {
    ObjectsError::NoSuchKey {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    }
}

/// Resolves a requested range against an object's size, as S3 does: a range
/// starting past the end is `InvalidRange`, one running past it is cut.
pub fn resolve_range(range: Option<&GetRange>, size: u64) -> Result<Range<u64>, ObjectsError> {
    match range {
        None => Ok(0..size),
        Some(GetRange::Suffix(n)) if *n == 0 => Err(ObjectsError::InvalidRange { size }),
        Some(r) => r
            .as_range(size)
            .map_err(|_| ObjectsError::InvalidRange { size }),
    }
}

impl EmbeddedStore {
    /// Opens the store at `root` (`<data>/s3`), creating it if needed, and
    /// removes blobs the index does not name.
    pub fn open(root: &Path) -> Result<EmbeddedStore, ObjectsError> {
        let blobs = root.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(ObjectsError::io("cannot create", &blobs))?;
        let conn = index::open(&root.join("index.db"))?;
        let referenced = index::referenced_blobs(&conn)?;
        let mut removed = 0usize;
        for entry in std::fs::read_dir(&blobs).map_err(ObjectsError::io("cannot read", &blobs))? {
            let entry = entry.map_err(ObjectsError::io("cannot read", &blobs))?;
            let name = entry.file_name();
            if !referenced.contains(name.to_string_lossy().as_ref()) {
                let _ = std::fs::remove_file(entry.path());
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "Removed blobs no object refers to.");
        }
        let buckets = index::buckets(&conn)?
            .into_iter()
            .map(|b| (b.name.clone(), b))
            .collect();
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                root: root.to_owned(),
                blobs,
                db: Mutex::new(conn),
                buckets: RwLock::new(buckets),
            }),
        })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Runs `f` on the index in a blocking thread.
    async fn with_db<T, F>(&self, f: F) -> Result<T, ObjectsError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Inner) -> Result<T, ObjectsError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn, &inner)
        })
        .await
        .map_err(|e| ObjectsError::Internal(format!("index task failed: {e}")))?
    }

    fn remove_blobs(&self, names: impl IntoIterator<Item = String>) {
        for name in names {
            let path = self.inner.blobs.join(&name);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(blob = %name, error = %e, "Cannot remove a replaced blob; it will be removed at the next start.");
            }
        }
    }

    // ---- buckets ----

    /// Whether an embedded bucket of this name exists.
    pub fn bucket_exists(&self, name: &str) -> bool {
        self.inner
            .buckets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(name)
    }

    fn require_bucket(&self, name: &str) -> Result<(), ObjectsError> {
        if self.bucket_exists(name) {
            Ok(())
        } else {
            Err(ObjectsError::NoSuchBucket(name.to_owned()))
        }
    }

    /// The buckets, by name.
    pub fn list_buckets(&self) -> Vec<BucketInfo> {
        self.inner
            .buckets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// One bucket.
    pub fn head_bucket(&self, name: &str) -> Result<BucketInfo, ObjectsError> {
        self.inner
            .buckets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| ObjectsError::NoSuchBucket(name.to_owned()))
    }

    /// Creates a bucket (S3's naming rules apply).
    pub async fn create_bucket(&self, name: &str) -> Result<BucketInfo, ObjectsError> {
        check_bucket_name(name)?;
        let name = name.to_owned();
        self.with_db(move |conn, inner| {
            let info = BucketInfo {
                name: name.clone(),
                created: Utc::now(),
            };
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO buckets (name, created) VALUES (?1, ?2)",
                params![name, index::millis(info.created)],
            )?;
            if inserted == 0 {
                return Err(ObjectsError::BucketAlreadyOwnedByYou(name));
            }
            inner
                .buckets
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name, info.clone());
            Ok(info)
        })
        .await
    }

    /// Deletes an empty bucket, aborting its multipart uploads.
    pub async fn delete_bucket(&self, name: &str) -> Result<(), ObjectsError> {
        self.require_bucket(name)?;
        let name = name.to_owned();
        let blobs = self
            .with_db(move |conn, inner| {
                let tx = conn.transaction()?;
                if !index::bucket_is_empty(&tx, &name)? {
                    return Err(ObjectsError::BucketNotEmpty(name));
                }
                let blobs: Vec<String> = {
                    let mut stmt = tx.prepare(
                        "DELETE FROM parts WHERE upload_id IN
                         (SELECT upload_id FROM uploads WHERE bucket = ?1) RETURNING blob",
                    )?;
                    stmt.query_map(params![name], |r| r.get(0))?
                        .collect::<Result<_, _>>()?
                };
                tx.execute("DELETE FROM uploads WHERE bucket = ?1", params![name])?;
                if tx.execute("DELETE FROM buckets WHERE name = ?1", params![name])? == 0 {
                    return Err(ObjectsError::NoSuchBucket(name));
                }
                tx.commit()?;
                inner
                    .buckets
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&name);
                Ok(blobs)
            })
            .await?;
        self.remove_blobs(blobs);
        Ok(())
    }

    // ---- objects ----

    /// Streams `body` into a new fsynced blob, at most `max` bytes.
    async fn write_blob(
        &self,
        mut body: ByteStream,
        max: u64,
    ) -> Result<PendingBlob, ObjectsError> {
        let name = new_blob_name();
        let path = self.inner.blobs.join(&name);
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(ObjectsError::io("cannot create", &path))?;
        let mut blob = PendingBlob {
            name,
            path,
            size: 0,
            md5: [0; 16],
            committed: false,
        };
        let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut md5 = md5::Context::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(ObjectsError::Body)?;
            blob.size += chunk.len() as u64;
            if blob.size > max {
                return Err(ObjectsError::EntityTooLarge { max });
            }
            md5.consume(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(ObjectsError::io("cannot write", &blob.path))?;
        }
        out.flush()
            .await
            .map_err(ObjectsError::io("cannot write", &blob.path))?;
        out.get_ref()
            .sync_all()
            .await
            .map_err(ObjectsError::io("cannot sync", &blob.path))?;
        drop(out);
        let dir = self.inner.blobs.clone();
        tokio::task::spawn_blocking(move || sync_dir(&dir))
            .await
            .map_err(|e| ObjectsError::Internal(format!("sync task failed: {e}")))??;
        blob.md5 = md5.finalize().0;
        Ok(blob)
    }

    /// Stores an object. Returns once it is durable.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectInfo, ObjectsError> {
        self.require_bucket(bucket)?;
        check_key(key)?;
        let mut blob = self.write_blob(body, MAX_PUT_SIZE).await?;
        if opts.content_md5.is_some_and(|m| m != blob.md5) {
            return Err(ObjectsError::BadDigest);
        }
        let row = ObjectRow {
            info: ObjectInfo {
                key: key.to_owned(),
                size: blob.size,
                etag: hex::encode(blob.md5),
                last_modified: Utc::now(),
                content_type: opts.content_type,
                metadata: opts.metadata,
            },
            blob: blob.name.clone(),
        };
        let bucket = bucket.to_owned();
        let mode = opts.mode;
        let (info, old) = self
            .with_db(move |conn, _| {
                let tx = conn.transaction()?;
                let existing = index::object(&tx, &bucket, &row.info.key)?;
                match (&mode, &existing) {
                    (WriteMode::Create, Some(_)) => {
                        return Err(ObjectsError::AlreadyExists {
                            bucket,
                            key: row.info.key,
                        });
                    }
                    (WriteMode::IfMatch(etag), e)
                        if e.as_ref().is_none_or(|e| !etag_matches(etag, &e.info.etag)) =>
                    {
                        return Err(ObjectsError::PreconditionFailed {
                            bucket,
                            key: row.info.key,
                        });
                    }
                    _ => {}
                }
                ensure_bucket_row(&tx, &bucket)?;
                let old = index::upsert_object(&tx, &bucket, &row)?;
                tx.commit()?;
                Ok((row.info, old))
            })
            .await?;
        blob.committed = true;
        self.remove_blobs(old);
        Ok(info)
    }

    /// Opens an object (or a range of it) for reading.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<GetRange>,
        conditions: Conditions,
    ) -> Result<ObjectReader, ObjectsError> {
        self.require_bucket(bucket)?;
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.with_db(move |conn, inner| {
            let row =
                index::object(conn, &bucket, &key)?.ok_or_else(|| no_such_key(&bucket, &key))?;
            conditions.check(&bucket, &row.info)?;
            let range = resolve_range(range.as_ref(), row.info.size)?;
            let path = inner.blobs.join(&row.blob);
            let mut file =
                std::fs::File::open(&path).map_err(ObjectsError::io("cannot open", &path))?;
            file.seek(SeekFrom::Start(range.start))
                .map_err(ObjectsError::io("cannot read", &path))?;
            Ok(ObjectReader {
                info: row.info,
                range,
                file,
                path,
            })
        })
        .await
    }

    /// An object's metadata.
    pub async fn head_object(
        &self,
        bucket: &str,
        key: &str,
        conditions: Conditions,
    ) -> Result<ObjectInfo, ObjectsError> {
        self.require_bucket(bucket)?;
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.with_db(move |conn, _| {
            let row =
                index::object(conn, &bucket, &key)?.ok_or_else(|| no_such_key(&bucket, &key))?;
            conditions.check(&bucket, &row.info)?;
            Ok(row.info)
        })
        .await
    }

    /// Deletes an object; deleting a missing key succeeds, as in S3.
    /// Returns whether there was one.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, ObjectsError> {
        self.require_bucket(bucket)?;
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let old = self
            .with_db(move |conn, _| index::delete_object(conn, &bucket, &key))
            .await?;
        let existed = old.is_some();
        self.remove_blobs(old);
        Ok(existed)
    }

    /// Copies an object. `replace` gives new content type and metadata
    /// (S3's `REPLACE` directive); `None` keeps the source's. The copy shares
    /// the source's immutable blob through a hard link when it can.
    #[allow(clippy::too_many_arguments)] // S3's CopyObject has this many inputs.
    pub async fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        replace: Option<(Option<String>, BTreeMap<String, String>)>,
        conditions: Conditions,
        mode: WriteMode,
    ) -> Result<ObjectInfo, ObjectsError> {
        self.require_bucket(src_bucket)?;
        self.require_bucket(dst_bucket)?;
        check_key(dst_key)?;
        let (src_bucket, src_key) = (src_bucket.to_owned(), src_key.to_owned());
        let (dst_bucket, dst_key) = (dst_bucket.to_owned(), dst_key.to_owned());
        let store = self.clone();
        let (info, old) = self
            .with_db(move |conn, inner| {
                let src = index::object(conn, &src_bucket, &src_key)?
                    .ok_or_else(|| no_such_key(&src_bucket, &src_key))?;
                conditions.check(&src_bucket, &src.info)?;
                let name = new_blob_name();
                let from = inner.blobs.join(&src.blob);
                let to = inner.blobs.join(&name);
                let mut blob = PendingBlob {
                    name,
                    path: to.clone(),
                    size: src.info.size,
                    md5: [0; 16],
                    committed: false,
                };
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to).map_err(ObjectsError::io("cannot copy", &from))?;
                    std::fs::File::open(&to)
                        .and_then(|f| f.sync_all())
                        .map_err(ObjectsError::io("cannot sync", &to))?;
                }
                sync_dir(&inner.blobs)?;
                let (content_type, metadata) =
                    replace.unwrap_or((src.info.content_type, src.info.metadata));
                let row = ObjectRow {
                    info: ObjectInfo {
                        key: dst_key.clone(),
                        size: src.info.size,
                        etag: src.info.etag,
                        last_modified: Utc::now(),
                        content_type,
                        metadata,
                    },
                    blob: blob.name.clone(),
                };
                let tx = conn.transaction()?;
                let existing = index::object(&tx, &dst_bucket, &dst_key)?;
                if mode == WriteMode::Create && existing.is_some() {
                    return Err(ObjectsError::AlreadyExists {
                        bucket: dst_bucket,
                        key: dst_key,
                    });
                }
                ensure_bucket_row(&tx, &dst_bucket)?;
                let old = index::upsert_object(&tx, &dst_bucket, &row)?;
                tx.commit()?;
                blob.committed = true;
                Ok((row.info, old))
            })
            .await?;
        store.remove_blobs(old);
        Ok(info)
    }

    /// Lists a bucket.
    pub async fn list_objects(
        &self,
        bucket: &str,
        req: ListRequest,
    ) -> Result<ListPage, ObjectsError> {
        self.require_bucket(bucket)?;
        let bucket = bucket.to_owned();
        self.with_db(move |conn, _| index::list(conn, &bucket, &req))
            .await
    }

    // ---- multipart uploads ----

    /// Starts a multipart upload; returns its id.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Result<String, ObjectsError> {
        self.require_bucket(bucket)?;
        check_key(key)?;
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.with_db(move |conn, _| {
            let id = new_upload_id();
            conn.execute(
                "INSERT INTO uploads (upload_id, bucket, key, initiated, content_type, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    bucket,
                    key.as_bytes(),
                    index::millis(Utc::now()),
                    content_type,
                    index::metadata_json(&metadata)
                ],
            )?;
            Ok(id)
        })
        .await
    }

    async fn require_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadInfo, ObjectsError> {
        self.require_bucket(bucket)?;
        let (bucket, key, id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.with_db(move |conn, _| {
            index::upload(conn, &bucket, &key, &id)?.ok_or(ObjectsError::NoSuchUpload(id))
        })
        .await
    }

    /// Stores one part (replacing an earlier upload of the same number).
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: ByteStream,
        content_md5: Option<[u8; 16]>,
    ) -> Result<PartInfo, ObjectsError> {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(ObjectsError::InvalidPartNumber(i64::from(part_number)));
        }
        self.require_upload(bucket, key, upload_id).await?;
        let mut blob = self.write_blob(body, MAX_PUT_SIZE).await?;
        if content_md5.is_some_and(|m| m != blob.md5) {
            return Err(ObjectsError::BadDigest);
        }
        let info = PartInfo {
            part_number,
            size: blob.size,
            etag: hex::encode(blob.md5),
            last_modified: Utc::now(),
        };
        let (bucket, key, id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let name = blob.name.clone();
        let part = info.clone();
        let old = self
            .with_db(move |conn, _| {
                let tx = conn.transaction()?;
                if index::upload(&tx, &bucket, &key, &id)?.is_none() {
                    return Err(ObjectsError::NoSuchUpload(id));
                }
                let old: Option<String> = tx
                    .query_row(
                        "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                        params![id, part.part_number],
                        |r| r.get(0),
                    )
                    .optional()?;
                tx.execute(
                    "INSERT OR REPLACE INTO parts
                         (upload_id, part_number, size, etag, last_modified, blob)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        part.part_number,
                        i64::try_from(part.size).unwrap_or(i64::MAX),
                        part.etag,
                        index::millis(part.last_modified),
                        name
                    ],
                )?;
                tx.commit()?;
                Ok(old)
            })
            .await?;
        blob.committed = true;
        self.remove_blobs(old);
        Ok(info)
    }

    /// Stores one part from a range of an existing object (UploadPartCopy).
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_copy(
        &self,
        src_bucket: &str,
        src_key: &str,
        range: Option<GetRange>,
        conditions: Conditions,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
    ) -> Result<PartInfo, ObjectsError> {
        let reader = self
            .get_object(src_bucket, src_key, range, conditions)
            .await?;
        self.upload_part(
            bucket,
            key,
            upload_id,
            part_number,
            reader.into_stream(),
            None,
        )
        .await
    }

    /// The parts uploaded so far, after `after` (a part number), at most `max`.
    /// Returns the parts and whether more follow.
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: Option<i32>,
        max: usize,
    ) -> Result<(UploadInfo, Vec<PartInfo>, bool), ObjectsError> {
        let upload = self.require_upload(bucket, key, upload_id).await?;
        let id = upload_id.to_owned();
        let mut parts: Vec<PartInfo> = self
            .with_db(move |conn, _| index::parts(conn, &id))
            .await?
            .into_iter()
            .map(|p| p.info)
            .filter(|p| after.is_none_or(|a| p.part_number > a))
            .collect();
        let truncated = parts.len() > max;
        parts.truncate(max);
        Ok((upload, parts, truncated))
    }

    /// Completes an upload from the listed `(part number, etag)` pairs.
    ///
    /// S3's rules: at least one part, numbers ascending, each uploaded with
    /// that ETag, and (when `enforce_min_part_size`) each but the last at
    /// least 5 MiB. The object's ETag is the MD5 of the parts' MD5s, `-N`.
    /// The object appears atomically; unlisted parts are discarded.
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
        enforce_min_part_size: bool,
    ) -> Result<ObjectInfo, ObjectsError> {
        if parts.is_empty() {
            return Err(ObjectsError::MalformedPartList);
        }
        if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(ObjectsError::InvalidPartOrder);
        }
        let upload = self.require_upload(bucket, key, upload_id).await?;
        let id = upload_id.to_owned();
        let stored: HashMap<i32, index::PartRow> = self
            .with_db(move |conn, _| index::parts(conn, &id))
            .await?
            .into_iter()
            .map(|p| (p.info.part_number, p))
            .collect();
        let mut chosen = Vec::with_capacity(parts.len());
        let mut md5s = md5::Context::new();
        for (i, (number, etag)) in parts.iter().enumerate() {
            let part = stored
                .get(number)
                .filter(|p| etag_matches(etag, &p.info.etag))
                .ok_or(ObjectsError::InvalidPart { part: *number })?;
            if enforce_min_part_size && i + 1 < parts.len() && part.info.size < MIN_PART_SIZE {
                return Err(ObjectsError::EntityTooSmall { part: *number });
            }
            let digest = hex::decode(&part.info.etag)
                .map_err(|_| ObjectsError::Internal(format!("part {number} has a bad etag")))?;
            md5s.consume(digest);
            chosen.push(self.inner.blobs.join(&part.blob));
        }
        // One new blob holding the parts in order, written like any PUT.
        let body = Box::pin(
            futures::stream::iter(chosen)
                .then(|path| async move {
                    let file = tokio::fs::File::open(&path).await?;
                    Ok::<_, std::io::Error>(tokio_stream_of(file))
                })
                .try_flatten(),
        );
        let mut blob = self.write_blob(body, u64::MAX).await?;
        let row = ObjectRow {
            info: ObjectInfo {
                key: key.to_owned(),
                size: blob.size,
                etag: format!("{}-{}", hex::encode(md5s.finalize().0), parts.len()),
                last_modified: Utc::now(),
                content_type: upload.content_type,
                metadata: upload.metadata,
            },
            blob: blob.name.clone(),
        };
        let (bucket, id) = (bucket.to_owned(), upload_id.to_owned());
        let (info, garbage) = self
            .with_db(move |conn, _| {
                let tx = conn.transaction()?;
                let part_blobs: Vec<String> = {
                    let mut stmt =
                        tx.prepare("DELETE FROM parts WHERE upload_id = ?1 RETURNING blob")?;
                    stmt.query_map(params![id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?
                };
                if tx.execute("DELETE FROM uploads WHERE upload_id = ?1", params![id])? == 0 {
                    return Err(ObjectsError::NoSuchUpload(id));
                }
                ensure_bucket_row(&tx, &bucket)?;
                let old = index::upsert_object(&tx, &bucket, &row)?;
                tx.commit()?;
                Ok((
                    row.info,
                    part_blobs.into_iter().chain(old).collect::<Vec<_>>(),
                ))
            })
            .await?;
        blob.committed = true;
        self.remove_blobs(garbage);
        Ok(info)
    }

    /// Abandons an upload and its parts.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), ObjectsError> {
        self.require_upload(bucket, key, upload_id).await?;
        let id = upload_id.to_owned();
        let blobs = self
            .with_db(move |conn, _| {
                let tx = conn.transaction()?;
                let blobs: Vec<String> = {
                    let mut stmt =
                        tx.prepare("DELETE FROM parts WHERE upload_id = ?1 RETURNING blob")?;
                    stmt.query_map(params![id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?
                };
                if tx.execute("DELETE FROM uploads WHERE upload_id = ?1", params![id])? == 0 {
                    return Err(ObjectsError::NoSuchUpload(id));
                }
                tx.commit()?;
                Ok(blobs)
            })
            .await?;
        self.remove_blobs(blobs);
        Ok(())
    }

    /// Uploads in progress whose key starts with `prefix`, in key then id
    /// order, after `(key_marker, upload_id_marker)`; returns whether more follow.
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        after: Option<(String, String)>,
        max: usize,
    ) -> Result<(Vec<UploadInfo>, bool), ObjectsError> {
        self.require_bucket(bucket)?;
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        let mut uploads = self
            .with_db(move |conn, _| {
                let after = after.as_ref().map(|(k, u)| (k.as_str(), u.as_str()));
                index::uploads(conn, &bucket, &prefix, after, max.saturating_add(1))
            })
            .await?;
        let truncated = uploads.len() > max;
        uploads.truncate(max);
        Ok((uploads, truncated))
    }
}

/// Fails with `NoSuchBucket` if the bucket was deleted while a write was in
/// flight (checked inside the write's transaction).
fn ensure_bucket_row(conn: &Connection, bucket: &str) -> Result<(), ObjectsError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM buckets WHERE name = ?1)",
        params![bucket],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(ObjectsError::NoSuchBucket(bucket.to_owned()))
    }
}

/// A whole file as a stream of chunks.
fn tokio_stream_of(file: tokio::fs::File) -> ByteStream {
    Box::pin(futures::stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 256 * 1024];
        let got = file.read(&mut buf).await?;
        if got == 0 {
            return Ok(None);
        }
        buf.truncate(got);
        Ok(Some((Bytes::from(buf), file)))
    }))
}
