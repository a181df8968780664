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

use crate::access::{
    self, AclItem, AclObject, AclTarget, DatabaseEntry, Grantee, GroupEntry, Privileges, RoleId,
    UserEntry,
};
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
    /// A new name or owner for a schema.
    AlterSchema {
        schema: ObjectId,
        name: String,
        owner: String,
    },
    CreateDatabase(Arc<DatabaseEntry>),
    /// Drops a database whose schemas are gone.
    DropDatabase(String),
    CreateUser(Arc<UserEntry>),
    /// Replaces a user's entry (its id stays).
    AlterUser(Arc<UserEntry>),
    DropUser(RoleId),
    CreateGroup(Arc<GroupEntry>),
    RenameGroup {
        group: RoleId,
        name: String,
    },
    DropGroup(RoleId),
    /// Adds a user to a group, or removes it.
    Membership {
        group: RoleId,
        user: RoleId,
        member: bool,
    },
    /// Adds privileges to an object's (or a default) list.
    Grant {
        target: AclTarget,
        item: AclItem,
    },
    /// Takes privileges, or the right to grant them, away.
    Revoke {
        target: AclTarget,
        grantee: Grantee,
        privileges: Privileges,
        grant_option_only: bool,
    },
}

impl Op {
    /// The table whose data or definition the op changes, if any.
    pub fn table(&self) -> Option<ObjectId> {
        match self {
            Op::CreateSchema(_)
            | Op::DropSchema(_)
            | Op::AlterSchema { .. }
            | Op::CreateDatabase(_)
            | Op::DropDatabase(_)
            | Op::CreateUser(_)
            | Op::AlterUser(_)
            | Op::DropUser(_)
            | Op::CreateGroup(_)
            | Op::RenameGroup { .. }
            | Op::DropGroup(_)
            | Op::Membership { .. }
            | Op::Grant { .. }
            | Op::Revoke { .. } => None,
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
    users: BTreeMap<RoleId, Arc<UserEntry>>,
    user_names: BTreeMap<String, RoleId>,
    groups: BTreeMap<RoleId, Arc<GroupEntry>>,
    group_names: BTreeMap<String, RoleId>,
    acls: BTreeMap<AclTarget, Arc<Vec<AclItem>>>,
    database_entries: BTreeMap<String, Arc<DatabaseEntry>>,
}

impl Catalog {
    /// Every database: those created, and those that have a schema.
    pub fn databases(&self) -> Vec<String> {
        let mut out: Vec<String> = self.schema_names.keys().map(|(d, _)| d.clone()).collect();
        out.extend(self.database_entries.keys().cloned());
        out.sort();
        out.dedup();
        out
    }

    pub fn has_database(&self, database: &str) -> bool {
        self.database_entries.contains_key(database)
            || self
                .schema_names
                .range((database.to_string(), String::new())..)
                .next()
                .is_some_and(|((d, _), _)| d == database)
    }

    /// A database's owner and limits, if it was created (the bootstrap
    /// database has one too).
    pub fn database(&self, name: &str) -> Option<&Arc<DatabaseEntry>> {
        self.database_entries.get(name)
    }

    /// Every database entry.
    pub fn database_entries(&self) -> impl Iterator<Item = &Arc<DatabaseEntry>> {
        self.database_entries.values()
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

    /// Every user, by id.
    pub fn users(&self) -> impl Iterator<Item = &Arc<UserEntry>> {
        self.users.values()
    }

    pub fn user(&self, name: &str) -> Option<&Arc<UserEntry>> {
        self.users.get(self.user_names.get(name)?)
    }

    pub fn user_by_id(&self, id: RoleId) -> Option<&Arc<UserEntry>> {
        self.users.get(&id)
    }

    /// Every group, by id.
    pub fn groups(&self) -> impl Iterator<Item = &Arc<GroupEntry>> {
        self.groups.values()
    }

    pub fn group(&self, name: &str) -> Option<&Arc<GroupEntry>> {
        self.groups.get(self.group_names.get(name)?)
    }

    pub fn group_by_id(&self, id: RoleId) -> Option<&Arc<GroupEntry>> {
        self.groups.get(&id)
    }

    /// The groups a user belongs to.
    pub fn groups_of(&self, user: RoleId) -> impl Iterator<Item = &Arc<GroupEntry>> {
        self.groups
            .values()
            .filter(move |g| g.members.contains(&user))
    }

    /// The privileges granted on an object (or by default), if any.
    pub fn acl(&self, target: &AclTarget) -> &[AclItem] {
        self.acls.get(target).map(|a| a.as_slice()).unwrap_or(&[])
    }

    /// Every non-empty privilege list.
    pub fn acls(&self) -> impl Iterator<Item = (&AclTarget, &Arc<Vec<AclItem>>)> {
        self.acls.iter()
    }

    /// The largest user or group id in use.
    pub(crate) fn max_role_id(&self) -> RoleId {
        let users = self.users.keys().next_back().copied();
        let groups = self.groups.keys().next_back().copied();
        users.max(groups).unwrap_or(access::FIRST_ROLE_ID - 1)
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
                self.acls.retain(|t, _| match t {
                    AclTarget::Object(AclObject::Schema(x)) => x != id,
                    AclTarget::Default(k) => k.schema != Some(*id),
                    AclTarget::Object(_) => true,
                });
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
                self.acls.remove(&AclTarget::Object(AclObject::Table(*id)));
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
            Op::AlterSchema {
                schema,
                name,
                owner,
            } => {
                let old = self
                    .schemas
                    .get(schema)
                    .cloned()
                    .ok_or_else(|| StorageError::UnknownObject(format!("schema {schema}")))?;
                let key = (old.database.clone(), name.clone());
                if *name != old.name && self.schema_names.contains_key(&key) {
                    return Err(StorageError::DuplicateSchema(name.clone()));
                }
                self.schema_names
                    .remove(&(old.database.clone(), old.name.clone()));
                self.schema_names.insert(key, *schema);
                let mut entry = old.as_ref().clone();
                entry.name = name.clone();
                entry.owner = owner.clone();
                self.schemas.insert(*schema, Arc::new(entry));
            }
            Op::CreateDatabase(d) => {
                if self.has_database(&d.name) {
                    return Err(StorageError::DuplicateDatabase(d.name.clone()));
                }
                self.database_entries.insert(d.name.clone(), Arc::clone(d));
            }
            Op::DropDatabase(name) => {
                if !self.schemas(name).is_empty() {
                    return Err(StorageError::SchemaNotEmpty(name.clone()));
                }
                self.database_entries.remove(name);
                self.acls
                    .remove(&AclTarget::Object(AclObject::Database(name.clone())));
            }
            Op::CreateUser(u) => {
                if self.user_names.contains_key(&u.name) || self.users.contains_key(&u.id) {
                    return Err(StorageError::DuplicateUser(u.name.clone()));
                }
                self.user_names.insert(u.name.clone(), u.id);
                self.users.insert(u.id, Arc::clone(u));
            }
            Op::AlterUser(u) => {
                let old = self
                    .users
                    .get(&u.id)
                    .cloned()
                    .ok_or_else(|| StorageError::UnknownObject(format!("user {}", u.id)))?;
                if old.name != u.name {
                    if self.user_names.contains_key(&u.name) {
                        return Err(StorageError::DuplicateUser(u.name.clone()));
                    }
                    self.user_names.remove(&old.name);
                    self.user_names.insert(u.name.clone(), u.id);
                }
                self.users.insert(u.id, Arc::clone(u));
            }
            Op::DropUser(id) => {
                if let Some(u) = self.users.remove(id) {
                    self.user_names.remove(&u.name);
                }
                for g in self.groups.values_mut() {
                    if g.members.contains(id) {
                        Arc::make_mut(g).members.remove(id);
                    }
                }
            }
            Op::CreateGroup(g) => {
                if self.group_names.contains_key(&g.name) || self.groups.contains_key(&g.id) {
                    return Err(StorageError::DuplicateGroup(g.name.clone()));
                }
                self.group_names.insert(g.name.clone(), g.id);
                self.groups.insert(g.id, Arc::clone(g));
            }
            Op::RenameGroup { group, name } => {
                let old = self
                    .groups
                    .get(group)
                    .cloned()
                    .ok_or_else(|| StorageError::UnknownObject(format!("group {group}")))?;
                if old.name != *name {
                    if self.group_names.contains_key(name) {
                        return Err(StorageError::DuplicateGroup(name.clone()));
                    }
                    self.group_names.remove(&old.name);
                    self.group_names.insert(name.clone(), *group);
                    let mut entry = old.as_ref().clone();
                    entry.name = name.clone();
                    self.groups.insert(*group, Arc::new(entry));
                }
            }
            Op::DropGroup(id) => {
                if let Some(g) = self.groups.remove(id) {
                    self.group_names.remove(&g.name);
                }
            }
            Op::Membership {
                group,
                user,
                member,
            } => {
                let g = self
                    .groups
                    .get_mut(group)
                    .ok_or_else(|| StorageError::UnknownObject(format!("group {group}")))?;
                let g = Arc::make_mut(g);
                if *member {
                    g.members.insert(*user);
                } else {
                    g.members.remove(user);
                }
            }
            Op::Grant { target, item } => {
                let list = self.acls.entry(target.clone()).or_default();
                access::grant(Arc::make_mut(list), item);
            }
            Op::Revoke {
                target,
                grantee,
                privileges,
                grant_option_only,
            } => {
                if let Some(list) = self.acls.get_mut(target) {
                    access::revoke(
                        Arc::make_mut(list),
                        *grantee,
                        *privileges,
                        *grant_option_only,
                    );
                    if list.is_empty() {
                        self.acls.remove(target);
                    }
                }
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

    pub(crate) fn load_user(&mut self, u: UserEntry) {
        self.user_names.insert(u.name.clone(), u.id);
        self.users.insert(u.id, Arc::new(u));
    }

    pub(crate) fn load_database(&mut self, d: DatabaseEntry) {
        self.database_entries.insert(d.name.clone(), Arc::new(d));
    }

    pub(crate) fn load_group(&mut self, g: GroupEntry) {
        self.group_names.insert(g.name.clone(), g.id);
        self.groups.insert(g.id, Arc::new(g));
    }

    pub(crate) fn load_acl(&mut self, target: AclTarget, items: Vec<AclItem>) {
        if !items.is_empty() {
            self.acls.insert(target, Arc::new(items));
        }
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
