//! The PostgreSQL wire protocol, as Redshift speaks it, through `pgwire`.
//!
//! [`serve`] accepts connections, each handled by its own task ([`conn`]): TLS
//! negotiation (SSLRequest), startup and authentication ([`auth`]), then the
//! simple and extended query protocols ([`handler`]) over an engine session.
//! Rows are encoded by [`encode`], parameters decoded by [`decode`], and types
//! mapped by [`types`]. A connection that breaks the protocol is closed; the
//! server and every other session carry on.

pub mod auth;
mod conn;
pub mod decode;
pub mod encode;
pub mod errors;
pub mod handler;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use pgwire::api::ConnectionManager;
use pgwire::api::cancel::DefaultCancelHandler;
use shale_engine::Engine;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::users::Users;
use auth::Authenticator;
use handler::Connection;

/// What every connection shares.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub users: Users,
    pub auth: Authenticator,
    pub connections: Arc<ConnectionManager>,
}

/// How long a running statement may go on once shutdown begins.
const STATEMENT_GRACE: Duration = Duration::from_secs(2);

/// Accepts connections until `shutdown` is cancelled. Connections past
/// `max_connections` are refused with `53300`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    max_connections: usize,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let cancel = Arc::new(DefaultCancelHandler::new(Arc::clone(&shared.connections)));
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(error = %e, "Could not accept a connection.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracker.spawn(refuse(socket));
            continue;
        };
        let conn = Arc::new(Connection::new(Arc::clone(&shared)));
        let cancel = Arc::clone(&cancel);
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let (socket, watcher) = match watched(socket) {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "Could not set up a connection.");
                    return;
                }
            };
            tokio::select! {
                result = conn::process(socket, tls, conn, cancel, shutdown.clone()) => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "Connection ended with an error.");
                    }
                }
                // A client that hangs up mid-statement does not leave the
                // statement running: dropping the connection cancels it.
                () = client_gone(watcher) => {
                    tracing::debug!(%peer, "Client went away.");
                }
                // On shutdown a statement still running gets a moment to finish;
                // then the connection is dropped, which cancels it.
                () = async {
                    shutdown.cancelled().await;
                    tokio::time::sleep(STATEMENT_GRACE).await;
                } => {}
            }
        });
    }
}

/// A second handle on the client's socket, to notice a hang-up while the
/// connection itself is busy running a statement.
fn watched(socket: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let std = socket.into_std()?;
    let watcher = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, TcpStream::from_std(watcher)?))
}

/// Resolves once the peer has closed its end: readable with nothing to read.
/// Bytes waiting (a pipelined message) are left for the connection to read.
/// Over TLS a close_notify record counts as bytes waiting, so there the
/// hang-up is noticed when the connection next reads.
async fn client_gone(watcher: TcpStream) {
    let mut probe = [0u8; 1];
    loop {
        match watcher.peek(&mut probe).await {
            Ok(0) | Err(_) => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Tells a client over the connection limit why it is turned away.
async fn refuse(mut socket: TcpStream) {
    let fields = [
        (b'S', "FATAL"),
        (b'C', shale_common::SqlState::TooManyConnections.code()),
        (b'M', "sorry, too many clients already"),
    ];
    let mut body = Vec::new();
    for (code, text) in fields {
        body.push(code);
        body.extend_from_slice(text.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(&body);
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.write_all(&msg)).await;
}

impl Shared {
    pub fn new(
        engine: Arc<Engine>,
        method: shale_common::AuthMethod,
        require_ssl: shale_common::RequireSsl,
        account: shale_iam::Account,
    ) -> Self {
        let connections = Arc::new(ConnectionManager::new());
        let users = Users::new(Arc::clone(&engine));
        Shared {
            auth: Authenticator::new(
                method,
                require_ssl,
                users.clone(),
                account,
                Arc::clone(&connections),
            ),
            engine,
            users,
            connections,
        }
    }
}
