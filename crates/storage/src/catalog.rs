//! The catalog as of one snapshot: schemas, tables, and each table's data
//! files with their deletion vectors.
//!
//! A [`Catalog`] is an immutable value once published. The storage keeps the
//! latest one and hands out `Arc`s of it; a transaction works on a private
//! copy to which it applies its own [`Op`]s, so that it reads its own writes.
//! At commit the same ops are applied again, to the latest catalog, which is
//! how concurrent blind appends to one table both survive.
//!
//! Copies are cheap: the maps hold `Arc`s, and a table's file list is copied
//! only when that table changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use roaring::RoaringBitmap;

use crate::error::{Result, StorageError};
use crate::types::TableDef;

/// Identifies a schema, table or data file. All three share one counter.
pub type ObjectId = u64;

/// A schema (namespace) inside a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEntry {
    pub id: ObjectId,
    pub database: String,
    pub name: String,
    pub owner: String,
}

/// Column statistics of one data file: a two-row batch of the table's
/// columns (row 0 the minimum, row 1 the maximum; null where unknown) and the
/// null count of each column.
#[derive(Debug, Clone)]
pub struct FileStats {
    pub min_max: RecordBatch,
    pub null_counts: Vec<u64>,
}

/// An immutable Parquet file of a table, and the rows deleted from it.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub id: ObjectId,
    /// The object path, relative to the storage root.
    pub path: String,
    pub row_count: u64,
    pub byte_size: u64,
    /// `None` when statistics could not be gathered.
    pub stats: Option<Arc<FileStats>>,
    /// Row positions (0-based, within the file) that are deleted.
    pub deleted: Arc<RoaringBitmap>,
}

impl DataFile {
    /// Rows that are not deleted.
    pub fn live_rows(&self) -> u64 {
        self.row_count.saturating_sub(self.deleted.len())
    }
}

/// A table (or view) and its data as of a snapshot.
#[derive(Debug, Clone)]
pub struct TableEntry {
    pub id: ObjectId,
    pub schema_id: ObjectId,
    pub name: String,
    pub def: Arc<TableDef>,
    pub files: Arc<Vec<Arc<DataFile>>>,
    /// The snapshot that last changed the table's data.
    pub data_version: u64,
    /// The snapshot that last changed its definition or name.
    pub def_version: u64,
    /// The transaction that last changed it (reported in conflicts).
    pub last_xid: u64,
    /// The next IDENTITY value of each identity column, by column name.
    pub identity_next: BTreeMap<String, i64>,
}

impl TableEntry {
    /// Rows that are not deleted, over all files.
    pub fn live_rows(&self) -> u64 {
        self.files.iter().map(|f| f.live_rows()).sum()
    }
}

/// One change a transaction makes. Applying the ops of a transaction to a
/// catalog gives the catalog after it.
#[derive(Debug, Clone)]
pub enum Op {
    CreateSchema(SchemaEntry),
    DropSchema(ObjectId),
    CreateTable(Box<TableEntry>),
    DropTable(ObjectId),
    /// A new name, schema or definition for a table.
    AlterTable {
        table: ObjectId,
        schema_id: ObjectId,
        name: String,
        def: Arc<TableDef>,
    },
    AddFile {
        table: ObjectId,
        file: Arc<DataFile>,
    },
    /// Marks rows of a file deleted.
    DeleteRows {
        table: ObjectId,
        file: ObjectId,
        rows: RoaringBitmap,
    },
    /// Removes a file from a table (TRUNCATE, VACUUM).
    RemoveFile {
        table: ObjectId,
        file: ObjectId,
    },
    /// Advances identity counters.
    SetIdentity {
        table: ObjectId,
        column: String,
        next: i64,
    },
}

impl Op {
    /// The table whose data or definition the op changes, if any.
    pub fn table(&self) -> Option<ObjectId> {
        match self {
            Op::CreateSchema(_) | Op::DropSchema(_) => None,
            Op::CreateTable(t) => Some(t.id),
            Op::DropTable(t)
            | Op::AlterTable { table: t, .. }
            | Op::AddFile { table: t, .. }
            | Op::DeleteRows { table: t, .. }
            | Op::RemoveFile { table: t, .. }
            | Op::SetIdentity { table: t, .. } => Some(*t),
        }
    }
}

/// The whole catalog at one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The snapshot this catalog reflects: the id of the last commit in it.
    pub snapshot: u64,
    schemas: BTreeMap<ObjectId, Arc<SchemaEntry>>,
    schema_names: BTreeMap<(String, String), ObjectId>,
    tables: BTreeMap<ObjectId, Arc<TableEntry>>,
    table_names: BTreeMap<(ObjectId, String), ObjectId>,
}

impl Catalog {
    /// Databases that have at least one schema.
    pub fn databases(&self) -> Vec<String> {
        let mut out: Vec<String> = self.schema_names.keys().map(|(d, _)| d.clone()).collect();
        out.dedup();
        out
    }

    pub fn has_database(&self, database: &str) -> bool {
        self.schema_names
            .range((database.to_string(), String::new())..)
            .next()
            .is_some_and(|((d, _), _)| d == database)
    }

    /// The schemas of a database, by name.
    pub fn schemas(&self, database: &str) -> Vec<Arc<SchemaEntry>> {
        self.schema_names
            .iter()
            .filter(|((d, _), _)| d == database)
            .filter_map(|(_, id)| self.schemas.get(id).cloned())
            .collect()
    }

    pub fn schema(&self, database: &str, name: &str) -> Option<&Arc<SchemaEntry>> {
        let id = self
            .schema_names
            .get(&(database.to_string(), name.to_string()))?;
        self.schemas.get(id)
    }

    pub fn schema_by_id(&self, id: ObjectId) -> Option<&Arc<SchemaEntry>> {
        self.schemas.get(&id)
    }

    /// The tables and views of a schema.
    pub fn tables_in(&self, schema_id: ObjectId) -> Vec<Arc<TableEntry>> {
        self.table_names
            .range((schema_id, String::new())..)
            .take_while(|((s, _), _)| *s == schema_id)
            .filter_map(|(_, id)| self.tables.get(id).cloned())
            .collect()
    }

    pub fn table(&self, schema_id: ObjectId, name: &str) -> Option<&Arc<TableEntry>> {
        let id = self.table_names.get(&(schema_id, name.to_string()))?;
        self.tables.get(id)
    }

    pub fn table_by_id(&self, id: ObjectId) -> Option<&Arc<TableEntry>> {
        self.tables.get(&id)
    }

    /// Every table and view.
    pub fn all_tables(&self) -> impl Iterator<Item = &Arc<TableEntry>> {
        self.tables.values()
    }

    /// Applies one op. `version` and `xid` stamp the tables it changes.
    pub(crate) fn apply(&mut self, op: &Op, version: u64, xid: u64) -> Result<()> {
        match op {
            Op::CreateSchema(s) => {
                let key = (s.database.clone(), s.name.clone());
                if self.schema_names.contains_key(&key) {
                    return Err(StorageError::DuplicateSchema(s.name.clone()));
                }
                self.schema_names.insert(key, s.id);
                self.schemas.insert(s.id, Arc::new(s.clone()));
            }
            Op::DropSchema(id) => {
                let s = self
                    .schemas
                    .get(id)
                    .cloned()
                    .ok_or_else(|| StorageError::UnknownObject(format!("schema {id}")))?;
                if !self.tables_in(*id).is_empty() {
                    return Err(StorageError::SchemaNotEmpty(s.name.clone()));
                }
                self.schemas.remove(id);
                self.schema_names
                    .remove(&(s.database.clone(), s.name.clone()));
            }
            Op::CreateTable(t) => {
                let key = (t.schema_id, t.name.clone());
                if self.table_names.contains_key(&key) {
                    return Err(StorageError::DuplicateTable(t.name.clone()));
                }
                if !self.schemas.contains_key(&t.schema_id) {
                    return Err(StorageError::UnknownObject(format!(
                        "schema {}",
                        t.schema_id
                    )));
                }
                let mut entry = t.as_ref().clone();
                entry.data_version = version;
                entry.def_version = version;
                entry.last_xid = xid;
                self.table_names.insert(key, t.id);
                self.tables.insert(t.id, Arc::new(entry));
            }
            Op::DropTable(id) => {
                let t = self.tables.remove(id).ok_or_else(|| unknown_table(*id))?;
                self.table_names.remove(&(t.schema_id, t.name.clone()));
            }
            Op::AlterTable {
                table,
                schema_id,
                name,
                def,
            } => {
                let old = self
                    .tables
                    .get(table)
                    .ok_or_else(|| unknown_table(*table))?;
                let new_key = (*schema_id, name.clone());
                if (old.schema_id, old.name.as_str()) != (*schema_id, name.as_str())
                    && self.table_names.contains_key(&new_key)
                {
                    return Err(StorageError::DuplicateTable(name.clone()));
                }
                let mut entry = old.as_ref().clone();
                self.table_names
                    .remove(&(entry.schema_id, entry.name.clone()));
                entry.schema_id = *schema_id;
                entry.name = name.clone();
                entry.def = Arc::clone(def);
                entry.def_version = version;
                entry.last_xid = xid;
                self.table_names.insert(new_key, *table);
                self.tables.insert(*table, Arc::new(entry));
            }
            Op::AddFile { table, file } => {
                self.change(*table, version, xid, |t| {
                    Arc::make_mut(&mut t.files).push(Arc::clone(file));
                    Ok(())
                })?;
            }
            Op::DeleteRows { table, file, rows } => {
                self.change(*table, version, xid, |t| {
                    let files = Arc::make_mut(&mut t.files);
                    let f = files
                        .iter_mut()
                        .find(|f| f.id == *file)
                        .ok_or_else(|| StorageError::UnknownObject(format!("data file {file}")))?;
                    if rows.max().is_some_and(|m| u64::from(m) >= f.row_count) {
                        return Err(StorageError::Corrupt(format!(
                            "row position past the end of data file {file}"
                        )));
                    }
                    let mut d = f.as_ref().clone();
                    let mut deleted = d.deleted.as_ref().clone();
                    deleted |= rows;
                    d.deleted = Arc::new(deleted);
                    *f = Arc::new(d);
                    Ok(())
                })?;
            }
            Op::RemoveFile { table, file } => {
                self.change(*table, version, xid, |t| {
                    Arc::make_mut(&mut t.files).retain(|f| f.id != *file);
                    Ok(())
                })?;
            }
            Op::SetIdentity {
                table,
                column,
                next,
            } => {
                let t = self
                    .tables
                    .get_mut(table)
                    .ok_or_else(|| unknown_table(*table))?;
                let t = Arc::make_mut(t);
                let ascending = t
                    .def
                    .columns
                    .iter()
                    .find(|c| &c.name == column)
                    .and_then(|c| c.identity)
                    .is_none_or(|i| i.step > 0);
                let slot = t.identity_next.entry(column.clone()).or_insert(*next);
                // Counters only move on, so concurrent inserts never reuse values.
                *slot = if ascending {
                    (*slot).max(*next)
                } else {
                    (*slot).min(*next)
                };
            }
        }
        Ok(())
    }

    fn change(
        &mut self,
        table: ObjectId,
        version: u64,
        xid: u64,
        f: impl FnOnce(&mut TableEntry) -> Result<()>,
    ) -> Result<()> {
        let t = self
            .tables
            .get_mut(&table)
            .ok_or_else(|| unknown_table(table))?;
        let t = Arc::make_mut(t);
        f(t)?;
        t.data_version = version;
        t.last_xid = xid;
        Ok(())
    }

    /// Inserts loaded entries (used when reading the catalog from disk).
    pub(crate) fn load_schema(&mut self, s: SchemaEntry) {
        self.schema_names
            .insert((s.database.clone(), s.name.clone()), s.id);
        self.schemas.insert(s.id, Arc::new(s));
    }

    pub(crate) fn load_table(&mut self, t: TableEntry) {
        self.table_names.insert((t.schema_id, t.name.clone()), t.id);
        self.tables.insert(t.id, Arc::new(t));
    }

    pub(crate) fn load_file(&mut self, table: ObjectId, file: DataFile) {
        if let Some(t) = self.tables.get_mut(&table) {
            Arc::make_mut(&mut Arc::make_mut(t).files).push(Arc::new(file));
        }
    }
}

fn unknown_table(id: ObjectId) -> StorageError {
    StorageError::UnknownObject(format!("table {id}"))
}
