//! The catalog's durable form: a SQLite database in WAL mode with
//! `synchronous = FULL`, so that a committed SQLite transaction survives a
//! crash or power loss.
//!
//! The database holds the current state only (no history):
//!
//! | table        | one row per                                              |
//! |--------------|----------------------------------------------------------|
//! | `meta`       | setting (`format` = 1)                                   |
//! | `snapshots`  | commit: id, transaction id, time                         |
//! | `schemas`    | schema: id, database, name, owner                        |
//! | `tables`     | table or view: id, schema, name, definition (JSON), versions, identity counters (JSON) |
//! | `data_files` | Parquet file: id, table, path, rows, bytes, statistics (Arrow IPC), deletion vector (roaring) |
//! | `garbage`    | file no longer referenced, to delete once no reader can see it |
//! | `databases`  | database: name, entry (JSON: owner, connection limit)    |
//! | `users`      | user: id, entry (JSON, password hashes only)             |
//! | `groups`     | group: id, entry (JSON, member ids)                      |
//! | `acls`       | privilege list: target (JSON), items (JSON)              |
//!
//! One Shale commit is one SQLite transaction ([`persist`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use roaring::RoaringBitmap;
use rusqlite::{Connection, OptionalExtension, params};

use crate::access::{AclItem, AclTarget, DatabaseEntry, GroupEntry, UserEntry};
use crate::catalog::{Catalog, DataFile, FileStats, ObjectId, Op, SchemaEntry, TableEntry};
use crate::error::{Result, StorageError};
use crate::types::TableDef;

const FORMAT: i64 = 1;

const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, xid INTEGER NOT NULL, committed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schemas (
    id INTEGER PRIMARY KEY, database TEXT NOT NULL, name TEXT NOT NULL, owner TEXT NOT NULL,
    UNIQUE (database, name));
CREATE TABLE IF NOT EXISTS tables (
    id INTEGER PRIMARY KEY, schema_id INTEGER NOT NULL, name TEXT NOT NULL,
    definition TEXT NOT NULL, data_version INTEGER NOT NULL, def_version INTEGER NOT NULL,
    last_xid INTEGER NOT NULL, identity TEXT NOT NULL DEFAULT '{}',
    UNIQUE (schema_id, name));
CREATE TABLE IF NOT EXISTS data_files (
    id INTEGER PRIMARY KEY, table_id INTEGER NOT NULL, path TEXT NOT NULL,
    row_count INTEGER NOT NULL, byte_size INTEGER NOT NULL, stats BLOB, deleted BLOB);
CREATE INDEX IF NOT EXISTS data_files_by_table ON data_files (table_id);
CREATE TABLE IF NOT EXISTS garbage (path TEXT PRIMARY KEY, snapshot INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acls (target TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// Opens (creating if needed) the catalog database.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.execute_batch(SCHEMA_SQL)?;
    let format: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match format {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?1)",
                params![FORMAT],
            )?;
        }
        Some(FORMAT) => {}
        Some(other) => {
            return Err(StorageError::Corrupt(format!(
                "catalog format {other} is not supported (expected {FORMAT})"
            )));
        }
    }
    Ok(conn)
}

/// What [`load`] reads back.
pub(crate) struct Loaded {
    pub catalog: Catalog,
    /// One more than the largest object id in use.
    pub next_id: u64,
    /// One more than the largest transaction id recorded.
    pub next_xid: u64,
}

pub(crate) fn load(conn: &Connection) -> Result<Loaded> {
    let mut catalog = Catalog::default();
    let (snapshot, max_xid): (u64, u64) = conn.query_row(
        "SELECT coalesce(max(id), 0), coalesce(max(xid), 0) FROM snapshots",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    catalog.snapshot = snapshot;
    let mut max_id = 0u64;

    let mut stmt = conn.prepare("SELECT id, database, name, owner FROM schemas")?;
    let schemas = stmt.query_map([], |r| {
        Ok(SchemaEntry {
            id: r.get(0)?,
            database: r.get(1)?,
            name: r.get(2)?,
            owner: r.get(3)?,
        })
    })?;
    for s in schemas {
        let s = s?;
        max_id = max_id.max(s.id);
        catalog.load_schema(s);
    }

    let mut stmt = conn.prepare(
        "SELECT id, schema_id, name, definition, data_version, def_version, last_xid, identity
         FROM tables",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, u64>(4)?,
            r.get::<_, u64>(5)?,
            r.get::<_, u64>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    for row in rows {
        let (id, schema_id, name, def, data_version, def_version, last_xid, identity) = row?;
        let def: TableDef = serde_json::from_str(&def)
            .map_err(|e| StorageError::Corrupt(format!("definition of table {id}: {e}")))?;
        let identity_next: BTreeMap<String, i64> = serde_json::from_str(&identity)
            .map_err(|e| StorageError::Corrupt(format!("identity of table {id}: {e}")))?;
        max_id = max_id.max(id);
        catalog.load_table(TableEntry {
            id,
            schema_id,
            name,
            def: Arc::new(def),
            files: Arc::new(Vec::new()),
            data_version,
            def_version,
            last_xid,
            identity_next,
        });
    }

    let mut stmt = conn.prepare(
        "SELECT id, table_id, path, row_count, byte_size, stats, deleted FROM data_files
         ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u64>(3)?,
            r.get::<_, u64>(4)?,
            r.get::<_, Option<Vec<u8>>>(5)?,
            r.get::<_, Option<Vec<u8>>>(6)?,
        ))
    })?;
    for row in rows {
        let (id, table, path, row_count, byte_size, stats, deleted) = row?;
        max_id = max_id.max(id);
        let stats = match stats {
            Some(bytes) => Some(Arc::new(decode_stats(&bytes)?)),
            None => None,
        };
        let deleted = match deleted {
            Some(bytes) => RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| {
                StorageError::Corrupt(format!("deletion vector of data file {id}: {e}"))
            })?,
            None => RoaringBitmap::new(),
        };
        catalog.load_file(
            table,
            DataFile {
                id,
                path,
                row_count,
                byte_size,
                stats,
                deleted: Arc::new(deleted),
            },
        );
    }
    load_access(conn, &mut catalog)?;
    Ok(Loaded {
        catalog,
        next_id: max_id + 1,
        next_xid: max_xid + 1,
    })
}

/// Users, groups and privilege lists.
fn load_access(conn: &Connection, catalog: &mut Catalog) -> Result<()> {
    let corrupt = |what: &str, e: serde_json::Error| StorageError::Corrupt(format!("{what}: {e}"));
    let mut stmt = conn.prepare("SELECT body FROM users")?;
    for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let user: UserEntry = serde_json::from_str(&body?).map_err(|e| corrupt("user", e))?;
        catalog.load_user(user);
    }
    let mut stmt = conn.prepare("SELECT body FROM databases")?;
    for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let d: DatabaseEntry = serde_json::from_str(&body?).map_err(|e| corrupt("database", e))?;
        catalog.load_database(d);
    }
    let mut stmt = conn.prepare("SELECT body FROM groups")?;
    for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let group: GroupEntry = serde_json::from_str(&body?).map_err(|e| corrupt("group", e))?;
        catalog.load_group(group);
    }
    let mut stmt = conn.prepare("SELECT target, body FROM acls")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (target, body) = row?;
        let target: AclTarget =
            serde_json::from_str(&target).map_err(|e| corrupt("privilege target", e))?;
        let items: Vec<AclItem> =
            serde_json::from_str(&body).map_err(|e| corrupt("privileges", e))?;
        catalog.load_acl(target, items);
    }
    Ok(())
}

/// Rewrites the users, groups or privilege lists a commit changed. They are
/// small, so a changed kind is written whole.
fn persist_access(tx: &rusqlite::Transaction<'_>, ops: &[Op], after: &Catalog) -> Result<()> {
    let users = ops
        .iter()
        .any(|op| matches!(op, Op::CreateUser(_) | Op::AlterUser(_) | Op::DropUser(_)));
    let groups = ops.iter().any(|op| {
        matches!(
            op,
            Op::CreateGroup(_)
                | Op::RenameGroup { .. }
                | Op::DropGroup(_)
                | Op::Membership { .. }
                | Op::DropUser(_)
        )
    });
    let acls = ops.iter().any(|op| {
        matches!(
            op,
            Op::Grant { .. }
                | Op::Revoke { .. }
                | Op::DropTable(_)
                | Op::DropSchema(_)
                | Op::DropDatabase(_)
        )
    });
    if ops
        .iter()
        .any(|op| matches!(op, Op::CreateDatabase(_) | Op::DropDatabase(_)))
    {
        tx.execute("DELETE FROM databases", [])?;
        for d in after.database_entries() {
            tx.execute(
                "INSERT INTO databases (name, body) VALUES (?1, ?2)",
                params![d.name, to_json(d.as_ref())?],
            )?;
        }
    }
    if users {
        tx.execute("DELETE FROM users", [])?;
        for u in after.users() {
            tx.execute(
                "INSERT INTO users (id, body) VALUES (?1, ?2)",
                params![u.id, to_json(u.as_ref())?],
            )?;
        }
    }
    if groups {
        tx.execute("DELETE FROM groups", [])?;
        for g in after.groups() {
            tx.execute(
                "INSERT INTO groups (id, body) VALUES (?1, ?2)",
                params![g.id, to_json(g.as_ref())?],
            )?;
        }
    }
    if acls {
        tx.execute("DELETE FROM acls", [])?;
        for (target, items) in after.acls() {
            tx.execute(
                "INSERT INTO acls (target, body) VALUES (?1, ?2)",
                params![target.key(), to_json(items.as_ref())?],
            )?;
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// Writes one commit: the ops of a transaction, read against `after` (the
/// catalog once they are applied), as one SQLite transaction.
pub(crate) fn persist(
    conn: &mut Connection,
    xid: u64,
    ops: &[Op],
    after: &Catalog,
    committed_at: i64,
) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO snapshots (id, xid, committed_at) VALUES (?1, ?2, ?3)",
        params![after.snapshot, xid, committed_at],
    )?;
    let mut touched: HashSet<ObjectId> = HashSet::new();
    for op in ops {
        match op {
            Op::CreateSchema(s) => {
                tx.execute(
                    "INSERT INTO schemas (id, database, name, owner) VALUES (?1, ?2, ?3, ?4)",
                    params![s.id, s.database, s.name, s.owner],
                )?;
            }
            Op::DropSchema(id) => {
                tx.execute("DELETE FROM schemas WHERE id = ?1", params![id])?;
            }
            Op::CreateTable(t) => {
                tx.execute(
                    "INSERT INTO tables (id, schema_id, name, definition, data_version,
                         def_version, last_xid, identity)
                     VALUES (?1, ?2, ?3, ?4, 0, 0, 0, '{}')",
                    params![t.id, t.schema_id, t.name, def_json(&t.def)?],
                )?;
                touched.insert(t.id);
            }
            Op::DropTable(id) => {
                tx.execute(
                    "INSERT OR IGNORE INTO garbage (path, snapshot)
                     SELECT path, ?2 FROM data_files WHERE table_id = ?1",
                    params![id, after.snapshot],
                )?;
                tx.execute("DELETE FROM data_files WHERE table_id = ?1", params![id])?;
                tx.execute("DELETE FROM tables WHERE id = ?1", params![id])?;
                touched.remove(id);
            }
            Op::AlterTable {
                table,
                schema_id,
                name,
                def,
            } => {
                tx.execute(
                    "UPDATE tables SET schema_id = ?2, name = ?3, definition = ?4 WHERE id = ?1",
                    params![table, schema_id, name, def_json(def)?],
                )?;
                touched.insert(*table);
            }
            Op::AddFile { table, file } => {
                let stats = match &file.stats {
                    Some(s) => Some(encode_stats(s)?),
                    None => None,
                };
                tx.execute(
                    "INSERT INTO data_files (id, table_id, path, row_count, byte_size, stats, deleted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                    params![file.id, table, file.path, file.row_count, file.byte_size, stats],
                )?;
                touched.insert(*table);
            }
            Op::DeleteRows { table, file, .. } => {
                let current = after
                    .table_by_id(*table)
                    .and_then(|t| t.files.iter().find(|f| f.id == *file).cloned());
                if let Some(f) = current {
                    let mut bytes = Vec::with_capacity(f.deleted.serialized_size());
                    f.deleted.serialize_into(&mut bytes)?;
                    tx.execute(
                        "UPDATE data_files SET deleted = ?2 WHERE id = ?1",
                        params![file, bytes],
                    )?;
                }
                touched.insert(*table);
            }
            Op::RemoveFile { table, file } => {
                tx.execute(
                    "INSERT OR IGNORE INTO garbage (path, snapshot)
                     SELECT path, ?2 FROM data_files WHERE id = ?1",
                    params![file, after.snapshot],
                )?;
                tx.execute("DELETE FROM data_files WHERE id = ?1", params![file])?;
                touched.insert(*table);
            }
            Op::SetIdentity { table, .. } => {
                touched.insert(*table);
            }
            Op::AlterSchema {
                schema,
                name,
                owner,
            } => {
                tx.execute(
                    "UPDATE schemas SET name = ?2, owner = ?3 WHERE id = ?1",
                    params![schema, name, owner],
                )?;
            }
            Op::CreateDatabase(_)
            | Op::DropDatabase(_)
            | Op::CreateUser(_)
            | Op::AlterUser(_)
            | Op::DropUser(_)
            | Op::CreateGroup(_)
            | Op::RenameGroup { .. }
            | Op::DropGroup(_)
            | Op::Membership { .. }
            | Op::Grant { .. }
            | Op::Revoke { .. } => {}
        }
    }
    persist_access(&tx, ops, after)?;
    for id in touched {
        if let Some(t) = after.table_by_id(id) {
            let identity = serde_json::to_string(&t.identity_next)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            tx.execute(
                "UPDATE tables SET data_version = ?2, def_version = ?3, last_xid = ?4,
                     identity = ?5 WHERE id = ?1",
                params![id, t.data_version, t.def_version, t.last_xid, identity],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Files that no committed catalog refers to any more, removed at or before
/// `snapshot`.
pub(crate) fn garbage_up_to(conn: &Connection, snapshot: u64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT path FROM garbage WHERE snapshot <= ?1")?;
    let paths = stmt
        .query_map(params![snapshot], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(paths)
}

pub(crate) fn forget_garbage(conn: &Connection, paths: &[String]) -> Result<()> {
    let mut stmt = conn.prepare("DELETE FROM garbage WHERE path = ?1")?;
    for p in paths {
        stmt.execute(params![p])?;
    }
    Ok(())
}

/// Every data file path the catalog refers to.
pub(crate) fn referenced_paths(conn: &Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT path FROM data_files")?;
    let paths = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(paths)
}

fn def_json(def: &TableDef) -> Result<String> {
    to_json(def)
}

/// Statistics as bytes: the null counts (count, then each as u64 LE), then
/// the min/max batch as an Arrow IPC stream.
fn encode_stats(stats: &FileStats) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(&(stats.null_counts.len() as u64).to_le_bytes());
    for n in &stats.null_counts {
        out.extend_from_slice(&n.to_le_bytes());
    }
    let mut writer = StreamWriter::try_new(&mut out, &stats.min_max.schema())?;
    writer.write(&stats.min_max)?;
    writer.finish()?;
    drop(writer);
    Ok(out)
}

fn decode_stats(bytes: &[u8]) -> Result<FileStats> {
    let corrupt = || StorageError::Corrupt("file statistics".into());
    let take_u64 = |at: usize| -> Result<u64> {
        let b: [u8; 8] = bytes
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(corrupt)?;
        Ok(u64::from_le_bytes(b))
    };
    let n = usize::try_from(take_u64(0)?).map_err(|_| corrupt())?;
    if n > bytes.len() / 8 {
        return Err(corrupt());
    }
    let null_counts = (0..n)
        .map(|i| take_u64(8 + 8 * i))
        .collect::<Result<Vec<_>>>()?;
    let rest = bytes.get(8 + 8 * n..).ok_or_else(corrupt)?;
    let mut reader = StreamReader::try_new(rest, None)?;
    let min_max: RecordBatch = reader.next().ok_or_else(corrupt)??;
    Ok(FileStats {
        min_max,
        null_counts,
    })
}
