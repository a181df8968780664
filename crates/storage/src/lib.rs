//! Shale's table storage: durable, transactional tables made of immutable
//! Parquet files, with a catalog in SQLite.
//!
//! The design follows DuckLake: the catalog database records schemas,
//! tables, the data files of each table with their column statistics, and a
//! deletion vector per file; data lives in Parquet files that are written
//! once and never changed. DELETE marks rows in deletion vectors; UPDATE is
//! a delete plus new files; VACUUM rewrites files without their deleted rows.
//!
//! [`Storage`] owns the catalog. [`Storage::begin`] starts a [`Transaction`],
//! which reads a snapshot (an immutable [`Catalog`]) and records its changes
//! as [`Op`]s. [`Transaction::commit`] makes its new files durable (fsync),
//! checks that no concurrent commit changed a table it read (optimistic
//! validation, which makes committed transactions serializable), applies its
//! ops to the latest catalog and writes them as one SQLite transaction. A
//! commit that returns has been fsynced; one that did not return left no
//! trace once the storage is reopened.
//!
//! This crate knows Arrow, Parquet, `object_store` and SQLite. It knows no
//! SQL and no DataFusion.

pub mod access;
mod catalog;
mod error;
mod files;
mod meta;
pub mod types;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use rusqlite::Connection;

pub use access::{
    AclItem, AclObject, AclTarget, DatabaseEntry, DefaultAclKey, DefaultKind, Grantee, GroupEntry,
    PasswordHash, Privileges, RoleId, UserEntry,
};
pub use catalog::{Catalog, DataFile, FileStats, ObjectId, Op, SchemaEntry, TableEntry};
pub use error::{Result, StorageError};
pub use files::{FileWriter, ROWS_PER_FILE, data_file_path};
pub use roaring::RoaringBitmap;
pub use types::{ColumnDef, ColumnType, Constraint, Identity, SortStyle, TableDef};

/// The database every cluster starts with, and its first schema.
pub const DEFAULT_DATABASE: &str = "dev";
pub const DEFAULT_SCHEMA: &str = "public";
/// The owner recorded for objects made at bootstrap.
pub const BOOTSTRAP_OWNER: &str = "rdsdb";

/// The catalog and the table files of one data directory.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

struct Inner {
    root: PathBuf,
    store: Arc<dyn ObjectStore>,
    /// The catalog database. Holding this lock is what serializes commits.
    conn: Mutex<Connection>,
    /// The latest committed catalog.
    current: RwLock<Arc<Catalog>>,
    /// Catalogs handed out, so that files are deleted only once no reader
    /// can see them.
    handed_out: Mutex<Vec<Weak<Catalog>>>,
    next_id: AtomicU64,
    next_xid: AtomicU64,
    /// The next user or group id.
    next_role: AtomicI32,
    /// The next IDENTITY value of each (table, column), shared by all
    /// transactions so that concurrent inserts never hand out one value twice.
    identity: Mutex<std::collections::HashMap<(ObjectId, String), i64>>,
}

impl Storage {
    /// Opens the storage under `dir` (creating it), recovering from any
    /// crash: files that no commit refers to are removed, and temporary
    /// tables of the previous run are dropped.
    pub async fn open(dir: &Path) -> Result<Storage> {
        let dir = dir.to_path_buf();
        let storage = tokio::task::spawn_blocking(move || Storage::open_blocking(&dir))
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))??;
        storage.bootstrap().await?;
        Ok(storage)
    }

    fn open_blocking(dir: &Path) -> Result<Storage> {
        std::fs::create_dir_all(dir.join("tables"))?;
        let conn = meta::open(&dir.join("catalog.db"))?;
        let loaded = meta::load(&conn)?;
        remove_orphans(dir, &conn)?;
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir)?);
        let next_role = loaded.catalog.max_role_id() + 1;
        Ok(Storage {
            inner: Arc::new(Inner {
                root: dir.to_path_buf(),
                store,
                conn: Mutex::new(conn),
                current: RwLock::new(Arc::new(loaded.catalog)),
                handed_out: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(loaded.next_id),
                next_xid: AtomicU64::new(loaded.next_xid),
                next_role: AtomicI32::new(next_role),
                identity: Mutex::new(std::collections::HashMap::new()),
            }),
        })
    }

    async fn bootstrap(&self) -> Result<()> {
        let mut tx = self.begin();
        if !tx.catalog().has_database(DEFAULT_DATABASE) {
            tx.create_database(DEFAULT_DATABASE, BOOTSTRAP_OWNER, None)?;
        }
        let temporary: Vec<ObjectId> = tx
            .catalog()
            .all_tables()
            .filter(|t| t.def.temporary)
            .map(|t| t.id)
            .collect();
        for id in temporary {
            tx.drop_table(id)?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Where the storage lives.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The object store table files are read and written through; paths in
    /// [`DataFile::path`] are relative to it.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.inner.store)
    }

    /// The latest committed catalog.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.inner.snapshot()
    }

    /// Starts a transaction. Its snapshot is taken when it first reads.
    pub fn begin(&self) -> Transaction {
        Transaction {
            storage: Arc::clone(&self.inner),
            xid: self.inner.next_xid.fetch_add(1, Ordering::Relaxed),
            base: self.inner.snapshot(),
            base_taken: false,
            working: None,
            shared_working: None,
            ops: Vec::new(),
            read: BTreeSet::new(),
            staged: Vec::new(),
        }
    }

    /// A writer for new data files of a table. The files become part of the
    /// table when a transaction adds them ([`Transaction::add_files`]).
    pub fn file_writer(&self, table: ObjectId, schema: arrow::datatypes::SchemaRef) -> FileWriter {
        let inner = Arc::clone(&self.inner);
        FileWriter::new(
            self.object_store(),
            self.inner.root.clone(),
            Arc::new(move || inner.new_id()),
            table,
            schema,
        )
    }

    /// A fresh object id.
    pub fn new_id(&self) -> ObjectId {
        self.inner.new_id()
    }

    /// A fresh user or group id.
    pub fn new_role_id(&self) -> RoleId {
        self.inner.next_role.fetch_add(1, Ordering::Relaxed)
    }

    /// Reserves `count` values of an IDENTITY column and returns the first;
    /// the values are `first, first + step, ...`. Values reserved by a
    /// transaction that does not commit are not reused (Redshift leaves gaps
    /// too); a committing transaction records how far it got
    /// ([`Transaction::set_identity`]) so that a restart continues from there.
    pub fn reserve_identity(&self, table: &TableEntry, column: &str, count: u64) -> Option<i64> {
        let spec = table
            .def
            .columns
            .iter()
            .find(|c| c.name == column)
            .and_then(|c| c.identity)?;
        let latest = self.snapshot();
        let recorded = latest
            .table_by_id(table.id)
            .map_or(table, |t| t.as_ref())
            .identity_next
            .get(column)
            .copied()
            .unwrap_or(spec.seed);
        let mut map = self
            .inner
            .identity
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let next = map
            .entry((table.id, column.to_string()))
            .or_insert(recorded);
        if spec.step > 0 {
            *next = (*next).max(recorded);
        } else {
            *next = (*next).min(recorded);
        }
        let first = *next;
        let span = i64::try_from(count).ok()?.checked_mul(spec.step)?;
        *next = first.checked_add(span)?;
        Some(first)
    }
}

impl Inner {
    fn new_id(&self) -> ObjectId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn snapshot(&self) -> Arc<Catalog> {
        // Registered while the lock is held, so that a commit publishing a
        // newer catalog cannot collect files this one still refers to.
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        let c = Arc::clone(&current);
        self.hand_out(&c);
        drop(current);
        c
    }

    fn hand_out(&self, c: &Arc<Catalog>) {
        let mut list = self.handed_out.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() > 64 {
            list.retain(|w| w.strong_count() > 0);
        }
        list.push(Arc::downgrade(c));
    }

    /// The oldest snapshot any reader may still be reading.
    fn oldest_visible(&self, latest: u64) -> u64 {
        let mut list = self.handed_out.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.iter()
            .filter_map(|w| w.upgrade().map(|c| c.snapshot))
            .fold(latest, u64::min)
    }

    /// Commits, or removes the transaction's files if it cannot. Runs to the
    /// end even when the caller stops waiting, so files are removed exactly
    /// when no catalog refers to them.
    fn commit_blocking(&self, work: CommitWork) -> Result<u64> {
        let staged = work.staged.clone();
        let result = self.commit_staged(work);
        if result.is_err() {
            for p in &staged {
                let _ = std::fs::remove_file(self.root.join(p));
            }
        }
        result
    }

    fn commit_staged(&self, work: CommitWork) -> Result<u64> {
        // Make the new files durable before the catalog refers to them.
        sync_files(&self.root, &work.staged)?;

        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let latest = Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()));
        validate(&work, &latest)?;
        let mut next = latest.as_ref().clone();
        next.snapshot = latest.snapshot + 1;
        for op in &work.ops {
            next.apply(op, next.snapshot, work.xid)?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        meta::persist(&mut conn, work.xid, &work.ops, &next, now)?;
        let snapshot = next.snapshot;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);

        // Files dropped by this or earlier commits go once nobody can see them.
        let oldest = self.oldest_visible(snapshot);
        if let Ok(paths) = meta::garbage_up_to(&conn, oldest)
            && !paths.is_empty()
        {
            for p in &paths {
                let _ = std::fs::remove_file(self.root.join(p));
            }
            let _ = meta::forget_garbage(&conn, &paths);
        }
        Ok(snapshot)
    }
}

/// What a commit carries into the blocking commit step.
struct CommitWork {
    xid: u64,
    base: Arc<Catalog>,
    ops: Vec<Op>,
    read: BTreeSet<ObjectId>,
    staged: Vec<String>,
}

/// Optimistic validation: a transaction may commit only if no table it read
/// changed since its snapshot, and no table it wrote was dropped or
/// redefined. Blind appends to a table that others changed are fine.
fn validate(work: &CommitWork, latest: &Catalog) -> Result<()> {
    let snap = work.base.snapshot;
    let mut touched: BTreeSet<ObjectId> = work.read.clone();
    touched.extend(work.ops.iter().filter_map(Op::table));
    for id in touched {
        let Some(before) = work.base.table_by_id(id) else {
            continue; // created by this transaction
        };
        let conflict = |other_xid: u64| StorageError::Conflict {
            table_id: id,
            table: before.name.clone(),
            xid: work.xid,
            other_xid,
        };
        match latest.table_by_id(id) {
            None => return Err(conflict(0)),
            Some(now) => {
                let data_changed = now.data_version > snap;
                let def_changed = now.def_version > snap;
                if def_changed || (data_changed && work.read.contains(&id)) {
                    return Err(conflict(now.last_xid));
                }
            }
        }
    }
    Ok(())
}

/// A transaction: a snapshot to read, and changes to commit atomically.
///
/// Dropping a transaction without committing rolls it back and removes the
/// files it wrote.
pub struct Transaction {
    storage: Arc<Inner>,
    xid: u64,
    /// The snapshot the transaction reads. It is taken again at the first
    /// read (`base_taken`), as Redshift takes it at the first statement that
    /// reads, not at BEGIN.
    base: Arc<Catalog>,
    base_taken: bool,
    /// `base` with this transaction's ops applied; `None` until it writes.
    working: Option<Catalog>,
    /// `working` shared with readers, rebuilt after each change.
    shared_working: Option<Arc<Catalog>>,
    ops: Vec<Op>,
    read: BTreeSet<ObjectId>,
    /// Files this transaction added, to make durable or to remove.
    staged: Vec<String>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("xid", &self.xid)
            .field("ops", &self.ops.len())
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// The transaction id.
    pub fn xid(&self) -> u64 {
        self.xid
    }

    /// Whether the transaction has changed nothing.
    pub fn is_read_only(&self) -> bool {
        self.ops.is_empty()
    }

    fn base(&mut self) -> &Arc<Catalog> {
        if !self.base_taken {
            self.base = self.storage.snapshot();
            self.base_taken = true;
        }
        &self.base
    }

    /// The catalog as this transaction sees it: its snapshot and its own
    /// changes.
    pub fn catalog(&mut self) -> &Catalog {
        self.base();
        match &self.working {
            Some(w) => w,
            None => &self.base,
        }
    }

    /// The same view as [`Transaction::catalog`], shareable with scans that
    /// outlive the borrow.
    pub fn view(&mut self) -> Arc<Catalog> {
        let base = Arc::clone(self.base());
        match &self.working {
            None => base,
            Some(w) => {
                let shared = self
                    .shared_working
                    .get_or_insert_with(|| Arc::new(w.clone()));
                self.storage.hand_out(shared);
                Arc::clone(shared)
            }
        }
    }

    /// Records that a statement read a table, for commit-time validation.
    pub fn mark_read(&mut self, table: ObjectId) {
        self.read.insert(table);
    }

    fn push(&mut self, op: Op) -> Result<()> {
        let base = Arc::clone(self.base());
        let working = self.working.get_or_insert_with(|| base.as_ref().clone());
        working.apply(&op, base.snapshot, self.xid)?;
        self.shared_working = None;
        self.ops.push(op);
        Ok(())
    }

    /// Creates a schema; fails with [`StorageError::DuplicateSchema`].
    pub fn create_schema(&mut self, database: &str, name: &str, owner: &str) -> Result<ObjectId> {
        let id = self.storage.new_id();
        self.push(Op::CreateSchema(SchemaEntry {
            id,
            database: database.to_string(),
            name: name.to_string(),
            owner: owner.to_string(),
        }))?;
        Ok(id)
    }

    /// Drops an empty schema.
    pub fn drop_schema(&mut self, id: ObjectId) -> Result<()> {
        self.push(Op::DropSchema(id))
    }

    /// Renames a schema or gives it a new owner.
    pub fn alter_schema(&mut self, schema: ObjectId, name: &str, owner: &str) -> Result<()> {
        self.push(Op::AlterSchema {
            schema,
            name: name.to_string(),
            owner: owner.to_string(),
        })
    }

    /// Creates a database with its `public` schema, in which (as on a new
    /// cluster) everyone may create; everyone may make temporary tables.
    pub fn create_database(
        &mut self,
        name: &str,
        owner: &str,
        connection_limit: Option<u32>,
    ) -> Result<()> {
        self.push(Op::CreateDatabase(Arc::new(DatabaseEntry {
            name: name.to_string(),
            owner: owner.to_string(),
            connection_limit,
        })))?;
        let public = self.create_schema(name, DEFAULT_SCHEMA, BOOTSTRAP_OWNER)?;
        self.grant(
            AclTarget::Object(AclObject::Schema(public)),
            AclItem::public(Privileges::ALL_SCHEMA),
        )?;
        self.grant(
            AclTarget::Object(AclObject::Database(name.to_string())),
            AclItem::public(Privileges::TEMP),
        )
    }

    /// Drops a database whose schemas were dropped first.
    pub fn drop_database(&mut self, name: &str) -> Result<()> {
        self.push(Op::DropDatabase(name.to_string()))
    }

    /// Creates a user; fails with [`StorageError::DuplicateUser`].
    pub fn create_user(&mut self, user: UserEntry) -> Result<()> {
        self.push(Op::CreateUser(Arc::new(user)))
    }

    /// Replaces a user's entry.
    pub fn alter_user(&mut self, user: UserEntry) -> Result<()> {
        self.push(Op::AlterUser(Arc::new(user)))
    }

    pub fn drop_user(&mut self, id: RoleId) -> Result<()> {
        self.push(Op::DropUser(id))
    }

    /// Creates a group; fails with [`StorageError::DuplicateGroup`].
    pub fn create_group(&mut self, group: GroupEntry) -> Result<()> {
        self.push(Op::CreateGroup(Arc::new(group)))
    }

    pub fn rename_group(&mut self, group: RoleId, name: &str) -> Result<()> {
        self.push(Op::RenameGroup {
            group,
            name: name.to_string(),
        })
    }

    pub fn drop_group(&mut self, id: RoleId) -> Result<()> {
        self.push(Op::DropGroup(id))
    }

    /// Adds a user to a group (`member`) or removes it.
    pub fn set_membership(&mut self, group: RoleId, user: RoleId, member: bool) -> Result<()> {
        self.push(Op::Membership {
            group,
            user,
            member,
        })
    }

    /// Adds privileges to an object's list (or to a default list).
    pub fn grant(&mut self, target: AclTarget, item: AclItem) -> Result<()> {
        self.push(Op::Grant { target, item })
    }

    /// Takes privileges away; with `grant_option_only`, only the right to
    /// grant them.
    pub fn revoke(
        &mut self,
        target: AclTarget,
        grantee: Grantee,
        privileges: Privileges,
        grant_option_only: bool,
    ) -> Result<()> {
        self.push(Op::Revoke {
            target,
            grantee,
            privileges,
            grant_option_only,
        })
    }

    /// Creates a table or view; fails with [`StorageError::DuplicateTable`].
    pub fn create_table(
        &mut self,
        schema_id: ObjectId,
        name: &str,
        def: TableDef,
    ) -> Result<ObjectId> {
        let id = self.storage.new_id();
        let identity_next = def
            .columns
            .iter()
            .filter_map(|c| c.identity.map(|i| (c.name.clone(), i.seed)))
            .collect();
        self.push(Op::CreateTable(Box::new(TableEntry {
            id,
            schema_id,
            name: name.to_string(),
            def: Arc::new(def),
            files: Arc::new(Vec::new()),
            data_version: 0,
            def_version: 0,
            last_xid: self.xid,
            identity_next,
        })))?;
        Ok(id)
    }

    pub fn drop_table(&mut self, id: ObjectId) -> Result<()> {
        self.push(Op::DropTable(id))
    }

    /// Renames, moves or redefines a table.
    pub fn alter_table(
        &mut self,
        id: ObjectId,
        schema_id: ObjectId,
        name: &str,
        def: TableDef,
    ) -> Result<()> {
        self.push(Op::AlterTable {
            table: id,
            schema_id,
            name: name.to_string(),
            def: Arc::new(def),
        })
    }

    /// Adds written files to a table.
    pub fn add_files(&mut self, table: ObjectId, files: Vec<DataFile>) -> Result<()> {
        for file in files {
            let path = file.path.clone();
            self.push(Op::AddFile {
                table,
                file: Arc::new(file),
            })?;
            self.staged.push(path);
        }
        Ok(())
    }

    /// Marks rows of a data file deleted.
    pub fn delete_rows(
        &mut self,
        table: ObjectId,
        file: ObjectId,
        rows: RoaringBitmap,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.push(Op::DeleteRows { table, file, rows })
    }

    /// Removes a data file from a table.
    pub fn remove_file(&mut self, table: ObjectId, file: ObjectId) -> Result<()> {
        self.push(Op::RemoveFile { table, file })
    }

    /// Records identity values used, so that they are not handed out again.
    pub fn set_identity(&mut self, table: ObjectId, column: &str, next: i64) -> Result<()> {
        self.push(Op::SetIdentity {
            table,
            column: column.to_string(),
            next,
        })
    }

    /// Commits. Returns the new snapshot id, or the current one for a
    /// transaction that changed nothing. On error nothing was committed.
    pub async fn commit(mut self) -> Result<u64> {
        if self.ops.is_empty() {
            return Ok(self.base.snapshot);
        }
        let base = Arc::clone(self.base());
        let work = CommitWork {
            xid: self.xid,
            base,
            ops: std::mem::take(&mut self.ops),
            read: std::mem::take(&mut self.read),
            // From here on the commit step owns the files: it keeps them if
            // it commits and removes them if not, even if this future is
            // dropped (a cancelled statement, a client that hung up).
            staged: std::mem::take(&mut self.staged),
        };
        let storage = Arc::clone(&self.storage);
        tokio::task::spawn_blocking(move || storage.commit_blocking(work))
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))?
    }

    /// Abandons the transaction and removes the files it wrote.
    pub fn rollback(self) {}
}

impl Drop for Transaction {
    fn drop(&mut self) {
        for p in self.staged.drain(..) {
            let _ = std::fs::remove_file(self.storage.root.join(p));
        }
    }
}

/// fsyncs each file, then each directory that holds one, then `tables/`.
fn sync_files(root: &Path, paths: &[String]) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for p in paths {
        let path = root.join(p);
        std::fs::File::open(&path)?.sync_all()?;
        if let Some(parent) = path.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    if !dirs.is_empty() {
        dirs.insert(root.join("tables"));
    }
    for d in dirs {
        std::fs::File::open(&d)?.sync_all()?;
    }
    Ok(())
}

/// Removes files under `tables/` that the catalog does not refer to: those
/// of transactions that never committed, and garbage of earlier commits.
fn remove_orphans(root: &Path, conn: &Connection) -> Result<()> {
    let referenced = meta::referenced_paths(conn)?;
    let tables = root.join("tables");
    for dir in std::fs::read_dir(&tables)? {
        let dir = dir?;
        if !dir.file_type()?.is_dir() {
            continue;
        }
        let mut empty = true;
        for f in std::fs::read_dir(dir.path())? {
            let f = f?;
            let rel = format!(
                "tables/{}/{}",
                dir.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            );
            if referenced.contains(&rel) {
                empty = false;
            } else {
                tracing::debug!(path = %rel, "Removing a file no commit refers to.");
                std::fs::remove_file(f.path())?;
            }
        }
        if empty {
            let _ = std::fs::remove_dir(dir.path());
        }
    }
    let garbage = meta::garbage_up_to(conn, i64::MAX as u64)?;
    meta::forget_garbage(conn, &garbage)?;
    Ok(())
}

#[cfg(test)]
mod tests;
