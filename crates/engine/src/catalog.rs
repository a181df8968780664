//! The tables a session sees: DataFusion catalog providers over the
//! session's transaction.
//!
//! Every session has its own [`SessionCatalogs`], whose schemas and tables
//! come from the catalog of the session's current transaction (its snapshot
//! plus its own changes), so that a transaction reads its own writes and
//! nobody else's uncommitted ones. Unqualified names resolve through the
//! session's temporary schema, then its `search_path`.
//!
//! A table looked up as `name$rowid` is the same table with two hidden
//! columns, `$file` and `$row`, that locate each row; UPDATE, DELETE and
//! MERGE scan it to find the rows they change.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use shale_storage::{Catalog, ObjectId, Storage, TableEntry, Transaction};

use crate::table::{DefaultParser, ShaleTable};

/// DataFusion's default schema: not a real schema, but the session's
/// `search_path`, so that only unqualified names are resolved through it.
pub(crate) const PATH_SCHEMA: &str = "$search_path";

/// The suffix that asks for a table with row locations.
pub(crate) const ROW_ID_SUFFIX: &str = "$rowid";

/// A session's transaction and the names it resolves against, shared by the
/// session and its catalog providers.
pub(crate) struct TxState {
    pub storage: Storage,
    pub tx: Option<Transaction>,
    pub database: String,
    /// Schema names to search for unqualified names, in order.
    pub search_path: Vec<String>,
    /// The session's schema for temporary tables (`pg_temp_<pid>`).
    pub temp_schema: String,
    /// Whose log rows the session sees in system tables; None for a
    /// superuser (all of them).
    pub viewer: Option<i32>,
}

impl TxState {
    /// The current transaction, begun if there is none.
    pub fn tx(&mut self) -> &mut Transaction {
        let storage = &self.storage;
        self.tx.get_or_insert_with(|| storage.begin())
    }

    /// A view of the current transaction's catalog, if one has begun.
    pub fn current_view(&mut self) -> Option<Arc<Catalog>> {
        self.tx.as_mut().map(|t| t.view())
    }

    /// Ends the current transaction, handing it over to commit or drop.
    pub fn take(&mut self) -> Option<Transaction> {
        self.tx.take()
    }

    /// The schema an unqualified name resolves to, if any has the table.
    pub fn resolve(&mut self, name: &str) -> Option<Arc<TableEntry>> {
        let database = self.database.clone();
        let mut path = vec![self.temp_schema.clone()];
        path.extend(self.search_path.iter().cloned());
        let catalog = self.tx().catalog();
        path.iter().find_map(|s| {
            let schema = catalog.schema(&database, s)?;
            catalog.table(schema.id, name).cloned()
        })
    }

    /// The first schema of `search_path` that exists: where unqualified
    /// names are created.
    pub fn creation_schema(&mut self) -> Option<(ObjectId, String)> {
        let database = self.database.clone();
        let path = self.search_path.clone();
        let catalog = self.tx().catalog();
        path.iter()
            .find_map(|s| catalog.schema(&database, s).map(|e| (e.id, e.name.clone())))
    }
}

pub(crate) type SharedTx = Arc<Mutex<TxState>>;

pub(crate) fn lock(shared: &SharedTx) -> MutexGuard<'_, TxState> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The databases of a session.
#[derive(Clone)]
pub(crate) struct SessionCatalogs {
    pub shared: SharedTx,
    pub defaults: DefaultParser,
    /// The session's `shale_identity` function, the default of IDENTITY columns.
    pub identity: Arc<datafusion::logical_expr::ScalarUDF>,
    /// The load logs, seen as system tables in `pg_catalog`.
    pub loads: Arc<crate::loads::Loads>,
}

/// The schema of system tables, searched after the `search_path` for
/// unqualified names.
pub(crate) const SYSTEM_SCHEMA: &str = "pg_catalog";

impl std::fmt::Debug for SessionCatalogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCatalogs").finish_non_exhaustive()
    }
}

impl CatalogProviderList for SessionCatalogs {
    fn register_catalog(
        &self,
        _name: String,
        _catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        lock(&self.shared).tx().catalog().databases()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        lock(&self.shared)
            .tx()
            .catalog()
            .has_database(name)
            .then(|| {
                Arc::new(DatabaseCatalog {
                    database: name.to_string(),
                    session: self.clone(),
                }) as Arc<dyn CatalogProvider>
            })
    }
}

#[derive(Debug)]
struct DatabaseCatalog {
    database: String,
    session: SessionCatalogs,
}

impl CatalogProvider for DatabaseCatalog {
    fn schema_names(&self) -> Vec<String> {
        lock(&self.session.shared)
            .tx()
            .catalog()
            .schemas(&self.database)
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let mut state = lock(&self.session.shared);
        // DataFusion looks unqualified names up in its default schema, which
        // is no real schema: it resolves them through the search_path.
        let by_path = name == PATH_SCHEMA;
        let id = if by_path {
            Some(ObjectId::MAX)
        } else {
            state
                .tx()
                .catalog()
                .schema(&self.database, name)
                .map(|s| s.id)
        };
        let system = by_path || name == SYSTEM_SCHEMA;
        if id.is_none() && !system {
            return None;
        }
        Some(Arc::new(DatabaseSchema {
            id: id.unwrap_or(ObjectId::MAX),
            by_path,
            system,
            session: self.session.clone(),
        }))
    }
}

/// One schema. The schema DataFusion treats as the default (the first of
/// `search_path`) resolves names through the whole path.
#[derive(Debug)]
struct DatabaseSchema {
    id: ObjectId,
    by_path: bool,
    /// Whether system tables are found here (`pg_catalog`, and the path).
    system: bool,
    session: SessionCatalogs,
}

impl DatabaseSchema {
    fn entry(&self, state: &mut TxState, name: &str) -> Option<Arc<TableEntry>> {
        if self.by_path {
            return state.resolve(name);
        }
        state.tx().catalog().table(self.id, name).cloned()
    }
}

#[async_trait]
impl SchemaProvider for DatabaseSchema {
    fn table_names(&self) -> Vec<String> {
        lock(&self.session.shared)
            .tx()
            .catalog()
            .tables_in(self.id)
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let (name, row_id) = match name.strip_suffix(ROW_ID_SUFFIX) {
            Some(base) => (base, true),
            None => (name, false),
        };
        let mut state = lock(&self.session.shared);
        let Some(entry) = self.entry(&mut state, name) else {
            if self.system
                && !row_id
                && let Some(table) = crate::system::table(name, &mut state)
            {
                return table.map(Some);
            }
            let viewer = state.viewer;
            drop(state);
            if self.system && !row_id {
                return self.session.loads.system_table(name, viewer);
            }
            return Ok(None);
        };
        let view: Arc<Catalog> = state.tx().view();
        let storage = state.storage.clone();
        drop(state);
        let table = ShaleTable::new(
            entry,
            view,
            Arc::clone(&self.session.shared),
            storage,
            row_id,
            &self.session.defaults,
            &self.session.identity,
        )
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(table)))
    }

    fn table_exist(&self, name: &str) -> bool {
        let mut state = lock(&self.session.shared);
        self.entry(&mut state, name).is_some()
            || (self.system
                && (crate::system::TABLES.contains(&name)
                    || self
                        .session
                        .loads
                        .system_table_names()
                        .iter()
                        .any(|n| n == name)))
    }
}
