//! The bucket index: one SQLite database (`<data>/s3/index.db`, WAL,
//! `synchronous = FULL`) recording buckets, objects, multipart uploads and
//! their parts. Object bytes live in blob files beside it; a row names its
//! blob. A row exists only once its blob is fsynced, so the index never
//! points at half a file.
//!
//! ```text
//! buckets (name TEXT PK, created INTEGER ms)
//! objects (bucket TEXT, key BLOB, size, etag, last_modified ms, content_type,
//!          metadata TEXT json, blob TEXT)        PK (bucket, key)
//! uploads (upload_id TEXT PK, bucket, key BLOB, initiated ms, content_type, metadata)
//! parts   (upload_id, part_number, size, etag, last_modified ms, blob)  PK (upload_id, part_number)
//! ```
//!
//! Keys are stored as BLOBs of their UTF-8 bytes, so `ORDER BY key` is S3's
//! binary order and prefix ranges are byte ranges.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::ObjectsError;
use crate::embedded::{BucketInfo, ListPage, ListRequest, ObjectInfo, PartInfo, UploadInfo};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
";

/// Opens (creating if needed) the index database.
pub(crate) fn open(path: &std::path::Path) -> Result<Connection, ObjectsError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn key_string(bytes: Vec<u8>) -> rusqlite::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, Box::new(e))
    })
}

pub(crate) fn metadata_json(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".to_owned())
}

fn metadata_from(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(crate) fn buckets(conn: &Connection) -> Result<Vec<BucketInfo>, ObjectsError> {
    let mut stmt = conn.prepare("SELECT name, created FROM buckets ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(BucketInfo {
            name: r.get(0)?,
            created: time(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An object's row: what clients see, plus the blob holding its bytes.
#[derive(Debug, Clone)]
pub(crate) struct ObjectRow {
    pub info: ObjectInfo,
    pub blob: String,
}

const OBJECT_COLUMNS: &str = "key, size, etag, last_modified, content_type, metadata, blob";

fn object_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRow> {
    let size: i64 = r.get(1)?;
    let metadata: String = r.get(5)?;
    Ok(ObjectRow {
        info: ObjectInfo {
            key: key_string(r.get(0)?)?,
            size: u64::try_from(size).unwrap_or_default(),
            etag: r.get(2)?,
            last_modified: time(r.get(3)?),
            content_type: r.get(4)?,
            metadata: metadata_from(&metadata),
        },
        blob: r.get(6)?,
    })
}

pub(crate) fn object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectRow>, ObjectsError> {
    Ok(conn
        .query_row(
            &format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key = ?2"),
            params![bucket, key.as_bytes()],
            object_row,
        )
        .optional()?)
}

/// Inserts or replaces an object row; returns the blob it replaced.
pub(crate) fn upsert_object(
    conn: &Connection,
    bucket: &str,
    row: &ObjectRow,
) -> Result<Option<String>, ObjectsError> {
    let old: Option<String> = conn
        .query_row(
            "SELECT blob FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, row.info.key.as_bytes()],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute(
        "INSERT OR REPLACE INTO objects
             (bucket, key, size, etag, last_modified, content_type, metadata, blob)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            bucket,
            row.info.key.as_bytes(),
            i64::try_from(row.info.size).unwrap_or(i64::MAX),
            row.info.etag,
            millis(row.info.last_modified),
            row.info.content_type,
            metadata_json(&row.info.metadata),
            row.blob,
        ],
    )?;
    Ok(old)
}

/// Deletes an object row; returns its blob.
pub(crate) fn delete_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, ObjectsError> {
    Ok(conn
        .query_row(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING blob",
            params![bucket, key.as_bytes()],
            |r| r.get(0),
        )
        .optional()?)
}

/// The smallest byte string greater than every string starting with `prefix`
/// (`None` when there is none). UTF-8 never contains 0xFF, so for keys the
/// last byte can always be incremented.
pub(crate) fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// Where a listing resumes: a key bound, inclusive or not.
struct Lower {
    key: Vec<u8>,
    inclusive: bool,
}

/// The common prefix `key` rolls up into under `prefix` and `delimiter`.
fn common_prefix<'k>(key: &'k [u8], prefix: &[u8], delimiter: &[u8]) -> Option<&'k [u8]> {
    if delimiter.is_empty() || !key.starts_with(prefix) {
        return None;
    }
    let rest = &key[prefix.len()..];
    rest.windows(delimiter.len())
        .position(|w| w == delimiter)
        .map(|pos| &key[..prefix.len() + pos + delimiter.len()])
}

const LIST_PAGE: i64 = 1000;

fn next_rows(
    conn: &Connection,
    bucket: &str,
    lower: &Lower,
    upper: Option<&[u8]>,
    limit: i64,
) -> Result<Vec<ObjectRow>, ObjectsError> {
    let op = if lower.inclusive { ">=" } else { ">" };
    let sql = match upper {
        Some(_) => format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key {op} ?2 AND key < ?3 \
             ORDER BY key LIMIT ?4"
        ),
        None => format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key {op} ?2 \
             ORDER BY key LIMIT ?4"
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    // ?3 is bound even when the query does not use it: SQLite numbers
    // parameters up to the highest index written (?4).
    let upper = upper.unwrap_or_default();
    let rows = stmt
        .query_map(params![bucket, lower.key, upper, limit], object_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// S3's listing: keys starting with `prefix` in binary order, after
/// `start_after`, rolled up into common prefixes at the first `delimiter`
/// after the prefix; objects and common prefixes together count towards
/// `max_keys`.
pub(crate) fn list(
    conn: &Connection,
    bucket: &str,
    req: &ListRequest,
) -> Result<ListPage, ObjectsError> {
    let prefix = req.prefix.as_bytes();
    let delimiter = req.delimiter.as_deref().unwrap_or_default().as_bytes();
    let upper = successor(prefix).filter(|_| !prefix.is_empty());
    let mut page = ListPage::default();
    if req.max_keys == 0 {
        return Ok(page);
    }
    let mut lower = Lower {
        key: prefix.to_vec(),
        inclusive: true,
    };
    if let Some(after) = req.start_after.as_deref().map(str::as_bytes)
        && after >= prefix
    {
        lower = match common_prefix(after, prefix, delimiter) {
            // Resuming after a common prefix skips everything under it.
            Some(cp) if cp == after => Lower {
                key: successor(cp).unwrap_or_default(),
                inclusive: true,
            },
            _ => Lower {
                key: after.to_vec(),
                inclusive: false,
            },
        };
    }
    let mut last: Option<String> = None;
    'pages: loop {
        let rows = next_rows(conn, bucket, &lower, upper.as_deref(), LIST_PAGE)?;
        if rows.is_empty() {
            return Ok(page);
        }
        for row in rows {
            if page.objects.len() + page.common_prefixes.len() == req.max_keys {
                page.is_truncated = true;
                page.next_marker = last;
                return Ok(page);
            }
            let key = row.info.key.as_bytes();
            if let Some(cp) = common_prefix(key, prefix, delimiter) {
                let cp_text = String::from_utf8_lossy(cp).into_owned();
                lower = Lower {
                    key: successor(cp).unwrap_or_default(),
                    inclusive: true,
                };
                last = Some(cp_text.clone());
                page.common_prefixes.push(cp_text);
                continue 'pages;
            }
            lower = Lower {
                key: key.to_vec(),
                inclusive: false,
            };
            last = Some(row.info.key.clone());
            page.objects.push(row.info);
        }
    }
}

pub(crate) fn bucket_is_empty(conn: &Connection, bucket: &str) -> Result<bool, ObjectsError> {
    let any: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1",
            params![bucket],
            |r| r.get(0),
        )
        .optional()?;
    Ok(any.is_none())
}

pub(crate) fn upload(
    conn: &Connection,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<Option<UploadInfo>, ObjectsError> {
    Ok(conn
        .query_row(
            "SELECT upload_id, key, initiated, content_type, metadata FROM uploads
             WHERE upload_id = ?1 AND bucket = ?2 AND key = ?3",
            params![upload_id, bucket, key.as_bytes()],
            upload_row,
        )
        .optional()?)
}

fn upload_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadInfo> {
    let metadata: String = r.get(4)?;
    Ok(UploadInfo {
        upload_id: r.get(0)?,
        key: key_string(r.get(1)?)?,
        initiated: time(r.get(2)?),
        content_type: r.get(3)?,
        metadata: metadata_from(&metadata),
    })
}

pub(crate) fn uploads(
    conn: &Connection,
    bucket: &str,
    prefix: &str,
    after: Option<(&str, &str)>,
    limit: usize,
) -> Result<Vec<UploadInfo>, ObjectsError> {
    let mut stmt = conn.prepare(
        "SELECT upload_id, key, initiated, content_type, metadata FROM uploads
         WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2
           AND (key > ?3 OR (key = ?3 AND upload_id > ?4))
         ORDER BY key, upload_id LIMIT ?5",
    )?;
    let (key_marker, id_marker) = after.unwrap_or(("", ""));
    let rows = stmt.query_map(
        params![
            bucket,
            prefix.as_bytes(),
            key_marker.as_bytes(),
            id_marker,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        upload_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A stored part and its blob.
#[derive(Debug, Clone)]
pub(crate) struct PartRow {
    pub info: PartInfo,
    pub blob: String,
}

pub(crate) fn parts(conn: &Connection, upload_id: &str) -> Result<Vec<PartRow>, ObjectsError> {
    let mut stmt = conn.prepare(
        "SELECT part_number, size, etag, last_modified, blob FROM parts
         WHERE upload_id = ?1 ORDER BY part_number",
    )?;
    let rows = stmt.query_map(params![upload_id], |r| {
        let size: i64 = r.get(1)?;
        Ok(PartRow {
            info: PartInfo {
                part_number: r.get(0)?,
                size: u64::try_from(size).unwrap_or_default(),
                etag: r.get(2)?,
                last_modified: time(r.get(3)?),
            },
            blob: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every blob the index refers to (objects and parts).
pub(crate) fn referenced_blobs(
    conn: &Connection,
) -> Result<std::collections::HashSet<String>, ObjectsError> {
    let mut stmt = conn.prepare("SELECT blob FROM objects UNION ALL SELECT blob FROM parts")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(successor(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(successor(b""), None);
        assert_eq!(successor(&[b'a', 0xFF]), Some(b"b".to_vec()));
    }

    #[test]
    fn common_prefixes_roll_up_at_the_first_delimiter() {
        assert_eq!(common_prefix(b"a/b/c", b"", b"/"), Some(&b"a/"[..]));
        assert_eq!(common_prefix(b"a/b/c", b"a/", b"/"), Some(&b"a/b/"[..]));
        assert_eq!(common_prefix(b"a/b", b"a/", b"/"), None);
        assert_eq!(common_prefix(b"a//b", b"a/", b"/"), Some(&b"a//"[..]));
        assert_eq!(common_prefix(b"a/b", b"", b""), None);
    }
}
