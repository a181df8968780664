//! One client's session: its parameters, its transaction state, and the
//! dispatch of each statement to DataFusion or to a handler.
//!
//! Transaction states follow PostgreSQL: outside a block every statement stands
//! alone; `BEGIN` opens a block; a failed statement inside a block marks it
//! failed, and until `COMMIT`/`ROLLBACK`/`END`/`ABORT` every other statement is
//! refused with 25P02. A `BEGIN` inside a block is a warning, not an error
//! (Airflow depends on this).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::sql::sqlparser::ast::Statement;
use futures::{Stream, StreamExt};
use shale_common::SqlState;

use datafusion::execution::SessionStateBuilder;
use datafusion::sql::sqlparser::ast::ObjectName;
use shale_storage::{Catalog, ObjectId, Storage, StorageError, TableEntry};

use crate::catalog::{SessionCatalogs, SharedTx, TxState, lock};
use crate::error::{EngineError, Result};
use crate::functions;
use crate::handler;
use crate::parse::create_table::folded;
use crate::parse::{ParsedStatement, Stmt, parse_statements};
use crate::table::DefaultParser;
use crate::vars::SessionVars;

/// Query strings whose statements a session keeps, and the longest kept.
const PARSE_CACHE_ENTRIES: usize = 256;
const PARSE_CACHE_MAX_TEXT: usize = 16 * 1024;

/// Who is connected, fixed at login.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: String,
    /// The user's id (`usesysid`), which the system tables record.
    pub user_id: i32,
    pub database: String,
    pub application_name: Option<String>,
    pub backend_pid: i32,
    pub is_superuser: bool,
    /// Groups the login user is in for this session only: the `DbGroups`
    /// of temporary IAM credentials.
    pub session_groups: Vec<String>,
}

/// Open sessions by login user and by database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logins(Arc<std::sync::Mutex<LoginCounts>>);

#[derive(Debug, Default)]
pub(crate) struct LoginCounts {
    users: HashMap<String, usize>,
    databases: HashMap<String, usize>,
}

fn decrement(map: &mut HashMap<String, usize>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Logins {
    fn counts(&self) -> std::sync::MutexGuard<'_, LoginCounts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self, user: &str) -> usize {
        self.counts().users.get(user).copied().unwrap_or(0)
    }

    pub fn count_database(&self, database: &str) -> usize {
        self.counts().databases.get(database).copied().unwrap_or(0)
    }

    /// Counts a session of `user` in `database` until the guard drops.
    pub fn enter(&self, user: &str, database: &str) -> LoginGuard {
        let mut counts = self.counts();
        *counts.users.entry(user.to_string()).or_insert(0) += 1;
        *counts.databases.entry(database.to_string()).or_insert(0) += 1;
        LoginGuard {
            logins: self.clone(),
            user: user.to_string(),
            database: database.to_string(),
        }
    }
}

/// One counted session.
#[derive(Debug)]
pub(crate) struct LoginGuard {
    logins: Logins,
    user: String,
    database: String,
}

impl LoginGuard {
    /// Sessions open in a database, this one included.
    pub fn sessions_in(&self, database: &str) -> usize {
        self.logins.count_database(database)
    }
}

impl Drop for LoginGuard {
    fn drop(&mut self) {
        let mut counts = self.logins.counts();
        decrement(&mut counts.users, &self.user);
        decrement(&mut counts.databases, &self.database);
    }
}

/// The transaction state reported to the client after every statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Idle,
    InTransaction,
    Failed,
}

/// A warning or notice raised while a statement ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `WARNING`, `NOTICE` or `INFO`.
    pub severity: &'static str,
    pub state: SqlState,
    pub message: String,
}

/// What a statement produced.
pub enum Output {
    /// Rows, streamed. `tag` is the command word (`SELECT`, `SHOW`).
    Rows {
        tag: &'static str,
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
    },
    /// A complete command tag, such as `INSERT 0 3` or `CREATE TABLE`.
    Command(String),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Rows { tag, schema, .. } => f
                .debug_struct("Rows")
                .field("tag", tag)
                .field("schema", schema)
                .finish_non_exhaustive(),
            Output::Command(tag) => f.debug_tuple("Command").field(tag).finish(),
        }
    }
}

/// A statement parsed and described ahead of execution (the extended
/// protocol's Parse step).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `None` for an empty query string.
    pub statement: Option<ParsedStatement>,
    /// The type of each `$n` parameter, in order.
    pub param_types: Vec<DataType>,
    /// The columns the statement returns; empty when it returns none.
    pub schema: SchemaRef,
}

/// One client's session.
pub struct Session {
    /// The session's own DataFusion state. It is owned rather than shared so
    /// that planning borrows it instead of cloning it for every statement;
    /// the catalog inside is the engine's shared one.
    pub(crate) state: SessionState,
    /// Built from `state` once and again after a configuration change;
    /// building it copies every function registry.
    task_ctx: Option<Arc<TaskContext>>,
    /// Recently parsed query strings (see [`Session::parse`]).
    parsed: HashMap<String, Arc<Vec<ParsedStatement>>>,
    pub(crate) vars: SessionVars,
    pub(crate) tx: TxStatus,
    notices: Vec<Notice>,
    pub(crate) info: SessionInfo,
    /// Who logged in (`info` changes with SET SESSION AUTHORIZATION).
    login: SessionInfo,
    /// Counts this session against its user's CONNECTION LIMIT.
    pub(crate) counted: LoginGuard,
    /// The session's transaction, shared with its catalog providers.
    pub(crate) shared: SharedTx,
    pub(crate) storage: Storage,
    /// Buckets, keys and load logs, shared by every session.
    pub(crate) loads: Arc<crate::loads::Loads>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", &self.info)
            .field("tx", &self.tx)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        template: &SessionState,
        storage: Storage,
        defaults: DefaultParser,
        loads: Arc<crate::loads::Loads>,
        counted: LoginGuard,
        info: SessionInfo,
    ) -> Self {
        let shared: SharedTx = Arc::new(std::sync::Mutex::new(TxState {
            storage: storage.clone(),
            tx: None,
            database: info.database.clone(),
            search_path: search_path(crate::vars::DEFAULT_SEARCH_PATH, &info.user),
            temp_schema: format!("pg_temp_{}", info.backend_pid),
            viewer: (!info.is_superuser).then_some(info.user_id),
        }));
        let identity = crate::identity::udf(Arc::clone(&shared), storage.clone());
        let catalogs = SessionCatalogs {
            shared: Arc::clone(&shared),
            defaults,
            identity: Arc::clone(&identity),
            loads: Arc::clone(&loads),
        };
        let mut state = SessionStateBuilder::new_from_existing(template.clone())
            .with_catalog_list(Arc::new(catalogs))
            .build();
        if let Err(e) = datafusion::execution::FunctionRegistry::register_udf(&mut state, identity)
        {
            tracing::error!(error = %e, "Could not register the identity function.");
        }
        if let Err(e) = functions::register(&mut state, &info)
            .and_then(|()| crate::system::register(&mut state, &shared, &info.user))
        {
            tracing::error!(error = %e, "Could not register session functions.");
        }
        let vars = SessionVars::new(
            &info.user,
            info.is_superuser,
            info.application_name.as_deref(),
        );
        Session {
            state,
            task_ctx: None,
            parsed: HashMap::new(),
            vars,
            tx: TxStatus::Idle,
            notices: Vec::new(),
            login: info.clone(),
            counted,
            info,
            shared,
            storage,
            loads,
        }
    }

    /// The task context queries run in.
    pub(crate) fn task_ctx(&mut self) -> Arc<TaskContext> {
        Arc::clone(
            self.task_ctx
                .get_or_insert_with(|| Arc::new(TaskContext::from(&self.state))),
        )
    }

    /// To be called after the DataFusion configuration changes.
    pub(crate) fn config_changed(&mut self) {
        self.task_ctx = None;
    }

    /// Who is connected.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// The session's parameters.
    pub fn vars(&self) -> &SessionVars {
        &self.vars
    }

    /// The transaction state to report in ReadyForQuery.
    pub fn tx_status(&self) -> TxStatus {
        self.tx
    }

    /// Takes the notices raised since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    pub(crate) fn notice(&mut self, severity: &'static str, state: SqlState, message: &str) {
        self.notices.push(Notice {
            severity,
            state,
            message: message.to_string(),
        });
    }

    /// Records that the current statement failed after it started returning
    /// rows; inside a transaction block this aborts the block.
    pub fn statement_failed(&mut self) {
        if self.tx == TxStatus::InTransaction {
            self.tx = TxStatus::Failed;
        }
    }

    /// Parses a query string into statements (the simple protocol's path).
    ///
    /// Applications repeat the same texts (health checks, driver probes,
    /// the queries of a dashboard), so the statements of recent texts are
    /// kept and reused; parsing depends on nothing but the text.
    pub fn parse(&mut self, sql: &str) -> Result<Arc<Vec<ParsedStatement>>> {
        if let Some(hit) = self.parsed.get(sql) {
            return Ok(Arc::clone(hit));
        }
        let statements = Arc::new(parse_statements(sql)?);
        if sql.len() <= PARSE_CACHE_MAX_TEXT {
            if self.parsed.len() >= PARSE_CACHE_ENTRIES {
                self.parsed.clear();
            }
            self.parsed.insert(sql.to_string(), Arc::clone(&statements));
        }
        Ok(statements)
    }

    /// Parses and describes one statement with `$n` parameters. `declared`
    /// holds the types the client named, position by position.
    pub async fn prepare(&mut self, sql: &str, declared: &[Option<DataType>]) -> Result<Prepared> {
        let mut statements = parse_statements(sql)?;
        if statements.len() > 1 {
            return Err(EngineError::sql(
                SqlState::SyntaxError,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let Some(statement) = statements.pop() else {
            return Ok(Prepared {
                statement: None,
                param_types: Vec::new(),
                schema: Arc::new(Schema::empty()),
            });
        };
        let (param_types, schema) = match &statement.stmt {
            Stmt::Sql(s) if handler::query::is_planned(s) => {
                handler::query::describe(self, s, declared).await?
            }
            Stmt::Sql(s)
                if matches!(
                    s.as_ref(),
                    Statement::Delete(_) | Statement::Update(_) | Statement::Merge(_)
                ) =>
            {
                let inferred = handler::dml::parameter_types(self, s).await?;
                (
                    merge_param_types(declared, inferred),
                    Arc::new(Schema::empty()),
                )
            }
            Stmt::Sql(s) => (
                declared_types(declared, max_placeholder(s)),
                handler::describe_utility(self, s),
            ),
            Stmt::Abort => (Vec::new(), Arc::new(Schema::empty())),
            Stmt::CreateTable(_)
            | Stmt::Access(_)
            | Stmt::Copy(_)
            | Stmt::Unload(_)
            | Stmt::AppendFrom { .. }
            | Stmt::OwnerTo { .. } => (declared_types(declared, 0), Arc::new(Schema::empty())),
        };
        if self.tx == TxStatus::Idle {
            // Describing read the catalog; the statement itself will run in
            // a transaction of its own.
            drop(lock(&self.shared).take());
        }
        Ok(Prepared {
            statement: Some(statement),
            param_types,
            schema,
        })
    }

    /// Runs one statement with parameter values bound to its `$n` placeholders.
    pub async fn execute(
        &mut self,
        statement: &ParsedStatement,
        params: Vec<ScalarValue>,
    ) -> Result<Output> {
        let ends_block = ends_transaction(&statement.stmt);
        if self.tx == TxStatus::Failed && !ends_block {
            return Err(EngineError::InFailedTransaction);
        }
        if self.tx == TxStatus::Idle {
            // A statement outside a block starts from a fresh snapshot, and
            // nothing left by a describe or a cancelled statement carries over.
            drop(lock(&self.shared).take());
        }
        // COMMIT is never cut short: a client told it timed out must not find
        // its transaction committed.
        let timeout_ms = if ends_block {
            0
        } else {
            self.vars.statement_timeout_ms()
        };
        let result = if timeout_ms > 0 {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
            match tokio::time::timeout_at(deadline, self.dispatch(statement, params)).await {
                Ok(Ok(Output::Rows {
                    tag,
                    schema,
                    stream,
                })) => Ok(Output::Rows {
                    tag,
                    schema,
                    stream: Box::pin(DeadlineStream {
                        inner: stream,
                        sleep: Box::pin(tokio::time::sleep_until(deadline)),
                        fired: false,
                    }),
                }),
                Ok(other) => other,
                Err(_) => Err(EngineError::StatementTimeout),
            }
        } else {
            self.dispatch(statement, params).await
        };
        let result = self.end_statement(result).await;
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    /// Outside a transaction block every statement is its own transaction:
    /// a command commits before its tag is sent (so an acknowledged change
    /// is durable), a failed one leaves nothing, and a query's rows are read
    /// from the snapshot it started with.
    async fn end_statement(&mut self, result: Result<Output>) -> Result<Output> {
        if self.tx != TxStatus::Idle {
            return match result {
                Ok(Output::Rows {
                    tag,
                    schema,
                    stream,
                }) => {
                    let pin = lock(&self.shared).current_view();
                    Ok(Output::Rows {
                        tag,
                        schema,
                        stream: pinned(stream, pin),
                    })
                }
                other => other,
            };
        }
        let tx = lock(&self.shared).take();
        match result {
            Err(e) => Err(e),
            Ok(Output::Rows {
                tag,
                schema,
                stream,
            }) => {
                let pin = tx.map(|mut t| t.view());
                Ok(Output::Rows {
                    tag,
                    schema,
                    stream: pinned(stream, pin),
                })
            }
            Ok(command) => {
                if let Some(tx) = tx {
                    tx.commit().await.map_err(|e| self.storage_error(e))?;
                }
                Ok(command)
            }
        }
    }

    /// Commits the current transaction now, ending any block (TRUNCATE).
    pub(crate) async fn commit_now(&mut self) -> Result<()> {
        let tx = lock(&self.shared).take();
        self.tx = TxStatus::Idle;
        if let Some(tx) = tx {
            tx.commit().await.map_err(|e| self.storage_error(e))?;
        }
        Ok(())
    }

    /// Ends the current transaction block: commits when `commit`, else
    /// discards its changes.
    pub(crate) async fn end_block(&mut self, commit: bool) -> Result<()> {
        let tx = lock(&self.shared).take();
        match tx {
            Some(tx) if commit => {
                tx.commit().await.map_err(|e| self.storage_error(e))?;
            }
            Some(tx) => tx.rollback(),
            None => {}
        }
        Ok(())
    }

    /// A storage error in Redshift's terms.
    pub(crate) fn storage_error(&self, e: StorageError) -> EngineError {
        match e {
            StorageError::Conflict {
                table_id,
                xid,
                other_xid,
                ..
            } => EngineError::serialization_conflict(
                table_id,
                other_xid,
                xid,
                Some(self.info.backend_pid),
            ),
            other => EngineError::from(other),
        }
    }

    /// Splits a table name into its schema (if given) and table parts,
    /// folded; a database part must name the current database.
    fn name_parts(&self, name: &ObjectName) -> Result<(Option<String>, String)> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| p.as_ident().map(folded).unwrap_or_else(|| p.to_string()))
            .collect();
        match parts.as_slice() {
            [t] => Ok((None, t.clone())),
            [s, t] => Ok((Some(s.clone()), t.clone())),
            [d, s, t] if *d == self.info.database => Ok((Some(s.clone()), t.clone())),
            [d, _, _] => Err(EngineError::sql(
                SqlState::FeatureNotSupported,
                format!(
                    "cross-database references are not implemented: \"{name}\" (database \"{d}\")"
                ),
            )),
            _ => Err(EngineError::sql(
                SqlState::SyntaxError,
                format!("improper relation name (too many dotted names): {name}"),
            )),
        }
    }

    /// The table or view a name refers to, if any.
    pub(crate) fn find_table(&mut self, name: &ObjectName) -> Result<Option<Arc<TableEntry>>> {
        let (schema, table) = self.name_parts(name)?;
        let database = self.info.database.clone();
        let mut state = lock(&self.shared);
        Ok(match schema {
            None => state.resolve(&table),
            Some(s) => {
                let catalog = state.tx().catalog();
                catalog
                    .schema(&database, &s)
                    .and_then(|e| catalog.table(e.id, &table).cloned())
            }
        })
    }

    /// A table of the current transaction by id (one this statement just
    /// created or changed).
    pub(crate) fn table_by_id(&self, id: ObjectId) -> Result<Arc<TableEntry>> {
        lock(&self.shared)
            .tx()
            .catalog()
            .table_by_id(id)
            .cloned()
            .ok_or_else(|| EngineError::sql(SqlState::UndefinedTable, "relation does not exist"))
    }

    /// The table a name refers to, or 42P01.
    pub(crate) fn table_entry(&mut self, name: &ObjectName) -> Result<Arc<TableEntry>> {
        self.find_table(name)?.ok_or_else(|| {
            let last = name.0.last().map(|p| p.to_string()).unwrap_or_default();
            EngineError::sql(
                SqlState::UndefinedTable,
                format!("relation \"{}\" does not exist", last.trim_matches('"')),
            )
        })
    }

    /// Where a new table of this name goes: its schema and its own name.
    pub(crate) fn creation_target(
        &mut self,
        name: &ObjectName,
        temporary: bool,
    ) -> Result<(ObjectId, String)> {
        let (schema, table) = self.name_parts(name)?;
        if temporary || (schema.is_none() && table.starts_with('#')) {
            if schema.is_some() {
                return Err(EngineError::sql(
                    SqlState::InvalidTableDefinition,
                    "cannot create temporary relation in non-temporary schema",
                ));
            }
            return Ok((self.temp_schema_id()?, table));
        }
        let database = self.info.database.clone();
        let mut state = lock(&self.shared);
        match schema {
            None => state
                .creation_schema()
                .map(|(id, _)| (id, table))
                .ok_or_else(|| {
                    EngineError::sql(
                        SqlState::InvalidSchemaName,
                        "no schema has been selected to create in",
                    )
                }),
            Some(s) => match state.tx().catalog().schema(&database, &s) {
                Some(e) => Ok((e.id, table)),
                None => Err(EngineError::sql(
                    SqlState::InvalidSchemaName,
                    format!("schema \"{s}\" does not exist"),
                )),
            },
        }
    }

    /// The session's schema for temporary tables, created on first use.
    pub(crate) fn temp_schema_id(&mut self) -> Result<ObjectId> {
        let database = self.info.database.clone();
        let user = self.info.user.clone();
        let mut state = lock(&self.shared);
        let name = state.temp_schema.clone();
        if let Some(e) = state.tx().catalog().schema(&database, &name) {
            return Ok(e.id);
        }
        Ok(state.tx().create_schema(&database, &name, &user)?)
    }

    /// The catalog as the session's transaction sees it.
    pub(crate) fn catalog_view(&mut self) -> Arc<Catalog> {
        lock(&self.shared).tx().view()
    }

    /// The current user as privilege checks see it. A user the catalog does
    /// not know (sessions opened by the engine's own tests) keeps the
    /// superuser flag it logged in with.
    pub(crate) fn principal(&self, catalog: &Catalog) -> crate::privilege::Principal {
        let mut p = crate::privilege::Principal::of(catalog, &self.info.user);
        if p.id.is_none() {
            p.superuser |= self.info.is_superuser;
        }
        if self.info.user == self.login.user {
            for name in &self.login.session_groups {
                if let Some(g) = catalog.group(name)
                    && !p.groups.contains(&g.id)
                {
                    p.groups.push(g.id);
                }
            }
        }
        p
    }

    /// Applies `ALTER USER ... SET` defaults; a value that no longer
    /// validates is skipped with a warning in the log.
    pub(crate) fn apply_user_defaults(&mut self, config: &[(String, String)]) {
        for (name, value) in config {
            match self.vars.set(name, value) {
                Ok("search_path") => self.search_path_changed(),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(parameter = %name, error = %e, "A user's session default was not applied.")
                }
            }
        }
    }

    /// Whether the current user is a superuser, as of the session's
    /// transaction.
    pub(crate) fn is_superuser_now(&self) -> bool {
        let mut state = lock(&self.shared);
        self.principal(state.tx().catalog()).superuser
    }

    /// The user the session acts as now.
    pub(crate) fn current_user_name(&self) -> String {
        self.info.user.clone()
    }

    /// The user who logged in.
    pub(crate) fn login_user(&self) -> String {
        self.login.user.clone()
    }

    pub(crate) fn login_superuser(&self) -> bool {
        self.login.is_superuser
    }

    /// SET SESSION AUTHORIZATION: the session acts as another user.
    pub(crate) fn become_user(&mut self, name: &str, id: i32, superuser: bool) -> Result<Output> {
        self.info.user = name.to_string();
        self.info.user_id = id;
        self.info.is_superuser = superuser;
        lock(&self.shared).viewer = (!superuser).then_some(id);
        self.vars.set_internal("session_authorization", name);
        self.vars
            .set_internal("is_superuser", if superuser { "on" } else { "off" });
        if let Err(e) = functions::register(&mut self.state, &self.info)
            .and_then(|()| crate::system::register(&mut self.state, &self.shared, name))
        {
            tracing::error!(error = %e, "Could not register session functions.");
        }
        self.task_ctx = None;
        self.search_path_changed();
        Ok(Output::Command("SET".into()))
    }

    /// Points name resolution at a new `search_path`.
    pub(crate) fn search_path_changed(&mut self) {
        let value = self
            .vars
            .get("search_path")
            .unwrap_or(crate::vars::DEFAULT_SEARCH_PATH);
        let path = search_path(value, &self.info.user);
        lock(&self.shared).search_path = path;
    }

    async fn dispatch(
        &mut self,
        statement: &ParsedStatement,
        params: Vec<ScalarValue>,
    ) -> Result<Output> {
        crate::privilege::check(self, statement)?;
        match &statement.stmt {
            Stmt::Abort => handler::transaction::rollback(self).await,
            Stmt::Sql(s) => handler::execute(self, s, params).await,
            Stmt::CreateTable(ct) => handler::ddl::create_table(self, ct).await,
            Stmt::Access(a) => handler::access::execute(self, a).await,
            Stmt::Copy(c) => handler::copy::execute(self, c).await,
            Stmt::Unload(u) => handler::unload::execute(self, u).await,
            Stmt::AppendFrom {
                target,
                source,
                ignore_extra,
                fill_target,
            } => handler::alter::append(self, target, source, *ignore_extra, *fill_target).await,
            Stmt::OwnerTo { table, owner } => handler::alter::owner_to(self, table, owner),
        }
    }
}

/// The schemas a `search_path` value names, `$user` replaced by the user.
fn search_path(value: &str, user: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().trim_matches('\'').trim_matches('"'))
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "$user" {
                user.to_string()
            } else {
                s.to_lowercase()
            }
        })
        .collect()
}

/// Keeps a snapshot alive (its files un-collected) while rows are read.
fn pinned(
    stream: SendableRecordBatchStream,
    pin: Option<Arc<Catalog>>,
) -> SendableRecordBatchStream {
    match pin {
        None => stream,
        Some(pin) => Box::pin(PinnedStream {
            inner: stream,
            _pin: pin,
        }),
    }
}

struct PinnedStream {
    inner: SendableRecordBatchStream,
    _pin: Arc<Catalog>,
}

impl Stream for PinnedStream {
    type Item = datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl RecordBatchStream for PinnedStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Drop for Session {
    /// Temporary tables end with their session.
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        drop(state.take());
        let name = state.temp_schema.clone();
        let database = state.database.clone();
        let mut tx = state.storage.begin();
        drop(state);
        let Some(schema) = tx.catalog().schema(&database, &name).cloned() else {
            return;
        };
        for t in tx.catalog().tables_in(schema.id) {
            let _ = tx.drop_table(t.id);
        }
        let _ = tx.drop_schema(schema.id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = tx.commit().await {
                    tracing::warn!(error = %e, "Could not drop a session's temporary tables.");
                }
            });
        }
    }
}

/// The highest `$n` in a statement (DML that DataFusion does not describe).
fn max_placeholder(stmt: &Statement) -> usize {
    let mut max = 0;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(stmt, |e| {
        if let datafusion::sql::sqlparser::ast::Expr::Value(v) = e
            && let datafusion::sql::sqlparser::ast::Value::Placeholder(p) = &v.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
        {
            max = max.max(n);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    max
}

fn declared_types(declared: &[Option<DataType>], at_least: usize) -> Vec<DataType> {
    (0..declared.len().max(at_least))
        .map(|i| declared.get(i).cloned().flatten().unwrap_or(DataType::Utf8))
        .collect()
}

pub(crate) fn merge_param_types(
    declared: &[Option<DataType>],
    inferred: Vec<Option<DataType>>,
) -> Vec<DataType> {
    (0..declared.len().max(inferred.len()))
        .map(|i| {
            declared
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| inferred.get(i).cloned().flatten())
                .unwrap_or(DataType::Utf8)
        })
        .collect()
}

fn ends_transaction(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Abort => true,
        Stmt::CreateTable(_)
        | Stmt::Access(_)
        | Stmt::Copy(_)
        | Stmt::Unload(_)
        | Stmt::AppendFrom { .. }
        | Stmt::OwnerTo { .. } => false,
        Stmt::Sql(s) => matches!(
            s.as_ref(),
            Statement::Commit { .. } | Statement::Rollback { .. }
        ),
    }
}

/// Ends a row stream with a timeout error once the statement's deadline passes.
struct DeadlineStream {
    inner: SendableRecordBatchStream,
    sleep: Pin<Box<tokio::time::Sleep>>,
    fired: bool,
}

impl Stream for DeadlineStream {
    type Item = datafusion::error::Result<datafusion::arrow::record_batch::RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.fired {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.fired = true;
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(
                EngineError::StatementTimeout,
            )))));
        }
        self.inner.poll_next_unpin(cx)
    }
}

impl RecordBatchStream for DeadlineStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}
