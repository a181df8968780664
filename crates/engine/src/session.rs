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

use crate::error::{EngineError, Result};
use crate::functions;
use crate::handler;
use crate::parse::{ParsedStatement, Stmt, parse_statements};
use crate::vars::SessionVars;

/// Query strings whose statements a session keeps, and the longest kept.
const PARSE_CACHE_ENTRIES: usize = 256;
const PARSE_CACHE_MAX_TEXT: usize = 16 * 1024;

/// Who is connected, fixed at login.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: String,
    pub database: String,
    pub application_name: Option<String>,
    pub backend_pid: i32,
    pub is_superuser: bool,
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
    pub(crate) fn new(mut state: SessionState, info: SessionInfo) -> Self {
        if let Err(e) = functions::register(&mut state, &info) {
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
            info,
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
            Stmt::Sql(s) => (
                declared_types(declared, 0),
                handler::describe_utility(self, s),
            ),
            Stmt::Abort => (Vec::new(), Arc::new(Schema::empty())),
        };
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
        let timeout_ms = self.vars.statement_timeout_ms();
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
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    async fn dispatch(
        &mut self,
        statement: &ParsedStatement,
        params: Vec<ScalarValue>,
    ) -> Result<Output> {
        match &statement.stmt {
            Stmt::Abort => handler::transaction::rollback(self),
            Stmt::Sql(s) => handler::execute(self, s, params).await,
        }
    }
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
