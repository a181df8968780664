//! One client connection: the simple and extended query protocols over an
//! engine session.
//!
//! The simple protocol is handled here in full, so that each statement of a
//! multi-statement string is run, reported and (on error) stops the rest, and
//! so notices and the transaction state come from the session. The extended
//! protocol uses pgwire's statement and portal store; a portal's rows are a
//! lazy stream, so `Execute` with a row limit suspends the portal and the next
//! `Execute` carries on from where it stopped.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::DEFAULT_NAME;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_execution_response, send_ready_for_query,
};
use pgwire::api::results::DescribeResponse;
use pgwire::api::results::FieldInfo;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::Entry;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ConnectionHandle, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{Describe, Execute, TARGET_TYPE_BYTE_STATEMENT};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, TransactionStatus};
use pgwire::messages::simplequery::Query;
use shale_common::SqlState;
use shale_engine::{EngineError, Output, Prepared, Session, SessionInfo, TxStatus};
use tokio::sync::Mutex;

use super::Shared;
use super::conn::ProtocolVersion;
use super::decode::decode;
use super::encode::{RowEncoder, TextStyle};
use super::errors::{cancelled, error, error_info, notice, to_pgwire};
use super::types::{arrow_type, field_infos, param_pg_type};

/// A connection's handlers; pgwire calls them one message at a time.
pub struct Connection {
    pub(crate) shared: Arc<Shared>,
    /// The session, opened once the login succeeds.
    session: Arc<Mutex<Option<Session>>>,
    parser: Arc<StatementParser>,
    /// The Redshift protocol version negotiated at startup.
    pub(crate) protocol: Arc<ProtocolVersion>,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let session = Arc::new(Mutex::new(None));
        Connection {
            shared,
            parser: Arc::new(StatementParser {
                session: Arc::clone(&session),
            }),
            session,
            protocol: Arc::default(),
        }
    }

    pub(crate) async fn open_session(&self, info: SessionInfo) {
        *self.session.lock().await = Some(self.shared.engine.session(info));
    }
}

fn no_session() -> PgWireError {
    PgWireError::UserError(Box::new(error(
        SqlState::ProtocolViolation,
        "query received before authentication completed",
    )))
}

fn wire_status(s: TxStatus) -> TransactionStatus {
    match s {
        TxStatus::Idle => TransactionStatus::Idle,
        TxStatus::InTransaction => TransactionStatus::Transaction,
        TxStatus::Failed => TransactionStatus::Error,
    }
}

fn style(session: &Session) -> TextStyle {
    TextStyle::new(
        session.vars().extra_float_digits(),
        session.vars().timezone(),
    )
}

async fn cancel_receiver<C: ClientInfo>(
    client: &C,
) -> Option<futures::channel::oneshot::Receiver<()>> {
    let handle = client.session_extensions().get::<Arc<ConnectionHandle>>()?;
    Some(handle.start_query().await)
}

/// Runs `fut` unless a CancelRequest arrives first.
async fn cancellable<F: Future>(
    fut: F,
    cancel: &mut Option<futures::channel::oneshot::Receiver<()>>,
) -> Option<F::Output> {
    match cancel {
        Some(rx) => {
            tokio::select! {
                out = fut => Some(out),
                Ok(()) = rx => None,
            }
        }
        None => Some(fut.await),
    }
}

async fn send_notices<C>(client: &mut C, session: &mut Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for n in session.take_notices() {
        client
            .feed(PgWireBackendMessage::NoticeResponse(notice(&n)))
            .await?;
    }
    Ok(())
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut guard = self.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        let outcome = run_simple(client, session, &query.query).await;
        let status = wire_status(session.tx_status());
        drop(guard);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        outcome?;
        send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_query` is implemented in full above and never calls this.
        Err(no_session())
    }
}

/// Runs a simple-protocol query string; only I/O errors are returned, SQL
/// errors are sent to the client.
async fn run_simple<C>(client: &mut C, session: &mut Session, sql: &str) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let statements = match session.parse(sql) {
        Ok(s) => s,
        Err(e) => {
            session.statement_failed();
            let info = error_info(&e);
            return Ok(client
                .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                .await?);
        }
    };
    if statements.is_empty() {
        client
            .feed(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            ))
            .await?;
        return Ok(());
    }
    let mut cancel = cancel_receiver(client).await;
    for statement in statements.iter() {
        let result = cancellable(session.execute(statement, Vec::new()), &mut cancel).await;
        send_notices(client, session).await?;
        let output = match result {
            None => {
                session.statement_failed();
                client
                    .feed(PgWireBackendMessage::ErrorResponse(cancelled().into()))
                    .await?;
                return Ok(());
            }
            Some(Err(e)) => {
                client
                    .feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into()))
                    .await?;
                return Ok(());
            }
            Some(Ok(output)) => output,
        };
        match output {
            Output::Command(tag) => {
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
            }
            Output::Rows {
                tag,
                schema,
                mut stream,
            } => {
                let fields = field_infos(schema.fields(), &Format::UnifiedText);
                let description: Vec<_> = fields.iter().map(Into::into).collect();
                client
                    .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                        description,
                    )))
                    .await?;
                let encoder =
                    RowEncoder::new(schema.fields(), &Format::UnifiedText, style(session));
                let mut count = 0usize;
                let failure = loop {
                    match cancellable(stream.next(), &mut cancel).await {
                        None => break Some(cancelled()),
                        Some(None) => break None,
                        Some(Some(Err(e))) => break Some(error_info(&EngineError::from(e))),
                        Some(Some(Ok(batch))) => match encoder.encode(&batch) {
                            Ok(rows) => {
                                count += rows.len();
                                for row in rows {
                                    client.feed(PgWireBackendMessage::DataRow(row)).await?;
                                }
                            }
                            Err(e) => {
                                break Some(error(SqlState::InternalError, e.to_string()));
                            }
                        },
                    }
                };
                if let Some(info) = failure {
                    session.statement_failed();
                    client
                        .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await?;
                    return Ok(());
                }
                let tag = if tag == "SELECT" {
                    format!("SELECT {count}")
                } else {
                    tag.to_string()
                };
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
            }
        }
    }
    Ok(())
}

/// Parses and describes statements for the extended protocol.
pub struct StatementParser {
    session: Arc<Mutex<Option<Session>>>,
}

fn check_formats(format: &Format, columns: usize) -> PgWireResult<()> {
    if let Format::Individual(codes) = format
        && codes.len() != columns
    {
        return Err(PgWireError::UserError(Box::new(error(
            SqlState::ProtocolViolation,
            format!(
                "bind message has {} result formats but query has {columns} columns",
                codes.len()
            ),
        ))));
    }
    Ok(())
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let declared: Vec<_> = types
            .iter()
            .map(|t| t.as_ref().and_then(arrow_type))
            .collect();
        let mut guard = self.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        match session.prepare(sql, &declared).await {
            Ok(p) => Ok(Some(Arc::new(p))),
            Err(e) => {
                session.statement_failed();
                Err(to_pgwire(&e))
            }
        }
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.iter().map(param_pg_type).collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let format = format.cloned().unwrap_or_default();
        check_formats(&format, stmt.schema.fields().len())?;
        Ok(field_infos(stmt.schema.fields(), &format))
    }
}

impl Connection {
    /// The portal an `Execute` names, when it asks for all rows of a
    /// row-returning statement that has not started: such a portal is
    /// streamed to the client rather than gathered first, so a large result
    /// never sits in memory whole. Row-limited and resumed portals take
    /// pgwire's path, which keeps the portal suspended between Executes.
    async fn fresh_row_portal<C>(
        &self,
        client: &C,
        message: &Execute,
    ) -> Option<Arc<Portal<Arc<Prepared>>>>
    where
        C: ClientInfo + ClientPortalStore,
        C::PortalStore: PortalStore<Statement = Arc<Prepared>>,
    {
        if message.max_rows > 0 || !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return None;
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let Some(Entry::Value(portal)) = client.portal_store().get_portal(name) else {
            return None;
        };
        let fresh = matches!(*portal.state().lock().await, PortalExecutionState::Initial);
        (fresh && !portal.statement.statement.schema.fields().is_empty()).then_some(portal)
    }

    async fn stream_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared>>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Arc<Prepared>>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut cancel = cancel_receiver(client).await;
        let outcome = async {
            let response = cancellable(
                ExtendedQueryHandler::do_query(self, client, portal, 0),
                &mut cancel,
            )
            .await
            .ok_or(PgWireError::QueryCanceled)??;
            match response {
                Response::Query(mut results) => {
                    let tag = results.command_tag().to_owned();
                    let mut rows = 0;
                    while let Some(row) = cancellable(results.data_rows().next(), &mut cancel)
                        .await
                        .ok_or(PgWireError::QueryCanceled)?
                    {
                        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                        rows += 1;
                    }
                    send_execution_response(client, Tag::new(&tag).with_rows(rows)).await
                }
                Response::Execution(tag) => send_execution_response(client, tag).await,
                _ => Ok(()),
            }
        }
        .await;
        *portal.state().lock().await = PortalExecutionState::Finished;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        outcome
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Arc<Prepared>;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    /// Describing a statement always answers ParameterDescription and then
    /// RowDescription or NoData, as PostgreSQL does (an INSERT with
    /// parameters returns no rows, and drivers such as pgjdbc rely on NoData).
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == TARGET_TYPE_BYTE_STATEMENT {
            let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
            if let Some(Entry::Value(stmt)) = client.portal_store().get_statement(name) {
                let described = self.do_describe_statement(client, &stmt).await?;
                let oids = described
                    .parameters()
                    .unwrap_or_default()
                    .iter()
                    .map(Type::oid)
                    .collect();
                client
                    .feed(PgWireBackendMessage::ParameterDescription(
                        ParameterDescription::new(oids),
                    ))
                    .await?;
                let fields = described.fields();
                let reply = if fields.is_empty() {
                    PgWireBackendMessage::NoData(NoData::new())
                } else {
                    PgWireBackendMessage::RowDescription(RowDescription::new(
                        fields.iter().map(Into::into).collect(),
                    ))
                };
                client.send(reply).await?;
                return Ok(());
            }
        }
        self._on_describe(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let result = match self.fresh_row_portal(client, &message).await {
            Some(portal) => self.stream_portal(client, &portal).await,
            None => self._on_execute(client, message).await,
        };
        let mut guard = self.session.lock().await;
        if let Some(session) = guard.as_mut() {
            if result.is_err() {
                session.statement_failed();
            }
            client.set_transaction_status(wire_status(session.tx_status()));
        }
        result
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = Arc::clone(&portal.statement.statement);
        let Some(statement) = &prepared.statement else {
            return Ok(Response::EmptyQuery);
        };
        let declared = &portal.statement.parameter_types;
        let mut params = Vec::with_capacity(portal.parameters.len());
        for (i, value) in portal.parameters.iter().enumerate() {
            let ty = declared
                .get(i)
                .cloned()
                .flatten()
                .filter(|t| *t != Type::UNKNOWN)
                .unwrap_or_else(|| {
                    prepared
                        .param_types
                        .get(i)
                        .map(param_pg_type)
                        .unwrap_or(Type::TEXT)
                });
            params.push(decode(
                value.as_ref(),
                portal.parameter_format.is_binary(i),
                &ty,
            )?);
        }
        let mut guard = self.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        let result = session.execute(statement, params).await;
        send_notices(client, session).await?;
        match result {
            Err(e) => Err(to_pgwire(&e)),
            Ok(Output::Command(tag)) => Ok(Response::Execution(Tag::new(&tag))),
            Ok(Output::Rows {
                tag,
                schema,
                stream: batches,
            }) => {
                let format = &portal.result_column_format;
                check_formats(format, schema.fields().len())?;
                let fields = Arc::new(field_infos(schema.fields(), format));
                let encoder = RowEncoder::new(schema.fields(), format, style(session))
                    .with_redshift_numeric(self.protocol.get() >= 2);
                let rows = batches
                    .map(move |batch| {
                        let rows: Vec<PgWireResult<_>> = match batch {
                            Ok(b) => match encoder.encode(&b) {
                                Ok(rows) => rows.into_iter().map(Ok).collect(),
                                Err(e) => vec![Err(PgWireError::UserError(Box::new(error(
                                    SqlState::InternalError,
                                    e.to_string(),
                                ))))],
                            },
                            Err(e) => vec![Err(to_pgwire(&EngineError::from(e)))],
                        };
                        stream::iter(rows)
                    })
                    .flatten();
                let mut response = QueryResponse::new(fields, rows);
                response.set_command_tag(tag);
                Ok(Response::Query(response))
            }
        }
    }
}
