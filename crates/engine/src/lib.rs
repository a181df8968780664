//! Shale's SQL engine: Redshift SQL answered by Apache DataFusion.
//!
//! An [`Engine`] is shared by the whole process; each client connection gets a
//! [`Session`] from it. A session parses Redshift SQL ([`parse`]), keeps the
//! connection's parameters ([`vars`]) and transaction state, and runs each
//! statement either through DataFusion (queries, DDL, DML) or through the
//! handler for its kind ([`handler`]). Results leave as plain values: an Arrow
//! schema and a record-batch stream, or a command tag ([`Output`]).
//!
//! This is the only crate that knows DataFusion. It re-exports the Arrow and
//! scalar types its callers need, and never sees the wire protocol.

mod catalog;
pub mod error;
mod functions;
mod handler;
mod identity;
mod loads;
pub mod parse;
mod privilege;
mod rewrite;
mod s3access;
mod session;
mod system;
mod table;
pub mod vars;
mod view;

use std::sync::Arc;

use std::path::PathBuf;

use datafusion::common::DFSchema;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use shale_storage::Storage;

pub use datafusion::arrow;
pub use datafusion::common::ScalarValue;
pub use datafusion::execution::SendableRecordBatchStream;
pub use error::{EngineError, Result};
pub use parse::ParsedStatement;
pub use session::{Notice, Output, Prepared, Session, SessionInfo, TxStatus};
pub use shale_objects;
/// Field metadata naming a column's Redshift type (`character(3)`).
pub use shale_storage::types::TYPE_METADATA_KEY;
pub use shale_storage::{PasswordHash, UserEntry};
pub use vars::SessionVars;

/// The `server_version` Redshift reports; drivers parse it (see clients.md).
pub const SERVER_VERSION: &str = "8.0.2";

/// What `select version()` returns: Redshift's string, which tools match on.
pub const VERSION_STRING: &str = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467";

/// The database every cluster starts with.
pub const DEFAULT_DATABASE: &str = "dev";

/// The schema objects land in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "public";

/// Engine-wide options.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Threads a query may use; defaults to the machine's cores.
    pub target_partitions: usize,
    /// Where the warehouse keeps its catalog and table files.
    pub warehouse_dir: PathBuf,
    /// Memory all queries together may hold; sorts, aggregations and joins
    /// that can spill to disk do so past it. Defaults to half the machine's
    /// memory.
    pub memory_limit: usize,
    /// The buckets COPY and UNLOAD reach and the account that authorizes
    /// them; without them, COPY and UNLOAD are refused.
    pub objects: Option<Objects>,
}

/// What COPY and UNLOAD need from outside the warehouse.
#[derive(Clone)]
pub struct Objects {
    pub registry: shale_objects::Registry,
    /// Roles, keys and policies: who COPY and UNLOAD act as, and what that
    /// identity may do to which objects.
    pub account: shale_iam::Account,
    /// Set once a statement's authorization is checked: the identity its
    /// object accesses are authorized as.
    grant: Option<std::sync::Arc<s3access::Grant>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects").finish_non_exhaustive()
    }
}

/// Half of `MemTotal`, or 4 GiB when it cannot be read.
fn default_memory_limit() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map(|kb| kb.saturating_mul(1024) / 2)
        .unwrap_or(4 << 30)
}

impl EngineConfig {
    /// Defaults, with the warehouse in `warehouse_dir`.
    pub fn new(warehouse_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            target_partitions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            warehouse_dir: warehouse_dir.into(),
            memory_limit: default_memory_limit(),
            objects: None,
        }
    }

    /// Gives COPY and UNLOAD the bucket registry and the account.
    pub fn with_objects(
        mut self,
        registry: shale_objects::Registry,
        account: shale_iam::Account,
    ) -> Self {
        self.objects = Some(Objects {
            registry,
            account,
            grant: None,
        });
        self
    }
}

/// The process-wide engine: the catalog every session shares and a template
/// DataFusion state each session starts from.
pub struct Engine {
    /// Every session's DataFusion state starts as a copy of this one, with
    /// its own catalog list over its own transaction.
    template: SessionState,
    storage: Storage,
    /// Reads column DEFAULT texts; shared by every session.
    defaults: table::DefaultParser,
    /// Buckets, keys and the load logs COPY writes.
    loads: Arc<loads::Loads>,
    /// Open sessions by login user, for CONNECTION LIMIT.
    logins: session::Logins,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the warehouse (recovering it after a crash) and builds the engine.
    pub async fn open(config: EngineConfig) -> Result<Arc<Engine>> {
        let storage = Storage::open(&config.warehouse_dir).await?;
        let mut session_config = SessionConfig::new()
            .with_default_catalog_and_schema(DEFAULT_DATABASE, catalog::PATH_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true)
            .with_target_partitions(config.target_partitions.max(1));
        let options = session_config.options_mut();
        options.sql_parser.enable_ident_normalization = true;
        // `1.5` is a NUMERIC literal in Redshift, not a double.
        options.sql_parser.parse_float_as_decimal = true;
        options.execution.time_zone = Some("UTC".to_string());
        // Filters are evaluated while Parquet is decoded, skipping pages.
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;

        // A fair pool: each spillable operator (sorts, aggregations) gets
        // an equal share and spills past it, so the merges that follow a
        // spill still find memory. A greedy pool let the first sorts take
        // it all, and a sort larger than memory then failed instead of
        // spilling.
        let pool = datafusion::execution::memory_pool::TrackConsumersPool::new(
            datafusion::execution::memory_pool::FairSpillPool::new(
                config.memory_limit.max(64 << 20),
            ),
            std::num::NonZeroUsize::MIN.saturating_add(4),
        );
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .build_arc()?;
        let url = ObjectStoreUrl::parse(table::WAREHOUSE_URL)?;
        runtime.register_object_store(url.as_ref(), storage.object_store());

        let template = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            .build();
        let parser = template.clone();
        let defaults: table::DefaultParser =
            Arc::new(move |sql| parser.create_logical_expr(sql, &DFSchema::empty()));
        Ok(Arc::new(Engine {
            template,
            storage,
            defaults,
            loads: Arc::new(loads::Loads::new(config.objects)),
            logins: session::Logins::default(),
        }))
    }

    /// Whether a database of this name exists.
    pub fn has_database(&self, name: &str) -> bool {
        self.storage.snapshot().has_database(name)
    }

    /// The user called `name`, as last committed.
    pub fn user(&self, name: &str) -> Option<Arc<UserEntry>> {
        self.storage.snapshot().user(name).cloned()
    }

    /// Creates a superuser with this password, or makes an existing user a
    /// superuser with it.
    pub async fn put_superuser(&self, name: &str, password: &str) -> Result<()> {
        let mut tx = self.storage.begin();
        let hash = handler::access::password_hash(name, password);
        match tx.catalog().user(name).cloned() {
            Some(u) => {
                let mut u = u.as_ref().clone();
                u.superuser = true;
                u.password = Some(hash);
                tx.alter_user(u)?;
            }
            None => tx.create_user(UserEntry {
                superuser: true,
                createdb: true,
                password: Some(hash),
                syslog_unrestricted: true,
                ..UserEntry::new(self.storage.new_role_id(), name)
            })?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user a login through temporary IAM credentials runs as:
    /// `name`, created (password disabled, PUBLIC's rights) when missing if
    /// `auto_create`. Every group it joins for the session must exist.
    /// `None` when the user does not exist and may not be created.
    pub async fn prepare_iam_user(
        &self,
        name: &str,
        auto_create: bool,
        groups: &[String],
    ) -> Result<Option<Arc<UserEntry>>> {
        let mut tx = self.storage.begin();
        for group in groups {
            if tx.catalog().group(group).is_none() {
                return Err(EngineError::sql(
                    shale_common::SqlState::UndefinedObject,
                    format!("group \"{group}\" does not exist"),
                ));
            }
        }
        if let Some(u) = tx.catalog().user(name).cloned() {
            return Ok(Some(u));
        }
        if !auto_create {
            return Ok(None);
        }
        tx.create_user(UserEntry::new(self.storage.new_role_id(), name))?;
        let created = tx.catalog().user(name).cloned();
        tx.commit().await?;
        Ok(created)
    }

    /// Whether one more session may open in `database` (its CONNECTION
    /// LIMIT).
    pub fn database_has_room(&self, database: &str) -> bool {
        let limit = self
            .storage
            .snapshot()
            .database(database)
            .and_then(|d| d.connection_limit);
        limit.is_none_or(|n| self.logins.count_database(database) < n as usize)
    }

    /// How many sessions `user` has open.
    pub fn sessions_of(&self, user: &str) -> usize {
        self.logins.count(user)
    }

    /// Opens a session for a logged-in user, with the session defaults the
    /// user was given (`ALTER USER ... SET`).
    pub fn session(self: &Arc<Self>, info: SessionInfo) -> Session {
        let config = self
            .user(&info.user)
            .map(|u| u.config.clone())
            .unwrap_or_default();
        let mut session = Session::new(
            &self.template,
            self.storage.clone(),
            Arc::clone(&self.defaults),
            Arc::clone(&self.loads),
            self.logins.enter(&info.user, &info.database),
            info,
        );
        session.apply_user_defaults(&config);
        session
    }
}
