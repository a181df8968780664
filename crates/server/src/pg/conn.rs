//! The life of one connection: TLS negotiation, then pgwire's message
//! dispatch, with one addition Redshift drivers need.
//!
//! redshift_connector asks for a `client_protocol_version`. From version 1 on
//! ("extended result metadata") every field of a RowDescription carries four
//! more names (schema, table, column, catalog) and a flags word after the
//! PostgreSQL fields; from version 2 on numerics travel in Redshift's binary
//! form. pgwire's message types cannot carry the extra fields, so the
//! connection's byte stream passes through [`MetadataWriter`], which rewrites
//! each outgoing RowDescription once the session has negotiated version 1 or
//! higher. Everything else goes through unchanged.
//!
//! Decoding errors (a malformed or oversized message) end the connection with
//! a FATAL `08P01` error; the server and other sessions carry on. On shutdown
//! an idle connection is told so with FATAL `57P01` before it is closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use futures::{SinkExt, StreamExt};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ClientInfo, NoopHandler, PgWireConnectionState};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use shale_common::SqlState;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::CancellationToken;

use super::errors::error;
use super::handler::Connection;

/// A client that has not finished logging in by then is dropped.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one client until it leaves or breaks the protocol.
pub(crate) async fn process(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    conn: Arc<Connection>,
    cancel: Arc<DefaultCancelHandler>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    let negotiated = tokio::select! {
        () = &mut startup_timeout => return Ok(()),
        socket = negotiate_tls(tcp, tls) => socket?,
    };
    let Some(socket) = negotiated else {
        return Ok(());
    };
    let old = socket.into_parts();
    let writer = MetadataWriter::new(old.io, Arc::clone(&conn.protocol));
    let mut parts = FramedParts::new(writer, old.codec);
    parts.read_buf = old.read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);
    let copy = Arc::new(NoopHandler);

    loop {
        let logging_in = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let next = if logging_in {
            tokio::select! {
                () = &mut startup_timeout => None,
                m = socket.next() => m,
            }
        } else {
            tokio::select! {
                m = socket.next() => m,
                // Shutting down while the client is idle: say so, as PostgreSQL does.
                () = shutdown.cancelled() => {
                    let mut info = error(
                        SqlState::AdminShutdown,
                        "terminating connection due to administrator command",
                    );
                    info.severity = "FATAL".into();
                    let _ = socket
                        .send(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await;
                    break;
                }
            }
        };
        let message = match next {
            None => break,
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                let mut info = error(SqlState::ProtocolViolation, format!("invalid message: {e}"));
                info.severity = "FATAL".into();
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                break;
            }
        };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let result = process_message(
            message,
            &mut socket,
            Arc::clone(&conn),
            Arc::clone(&conn),
            Arc::clone(&conn),
            Arc::clone(&copy),
            Arc::clone(&cancel),
        )
        .await;
        if let Err(e) = result {
            let fatal = e.is_fatal();
            process_error(&mut socket, e, is_extended).await?;
            if fatal {
                break;
            }
        }
        if is_cancel {
            break;
        }
    }
    Ok(())
}

/// The Redshift protocol version a session speaks (0, 1 or 2).
#[derive(Debug, Default)]
pub struct ProtocolVersion(AtomicU8);

impl ProtocolVersion {
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, v: u8) {
        self.0.store(v, Ordering::Relaxed);
    }
}

/// Passes the server's messages through, adding Redshift's extended result
/// metadata to RowDescription messages when the session asked for it.
///
/// Bytes are cut into whole messages (type byte, then an i32 length that
/// counts itself); a message is written on only when complete.
pub(crate) struct MetadataWriter<IO> {
    inner: IO,
    protocol: Arc<ProtocolVersion>,
    /// Accepted bytes that do not yet form a whole message.
    pending: BytesMut,
    /// Whole messages, rewritten as needed, waiting to be written.
    out: BytesMut,
}

/// Above this many queued bytes, writes wait for the socket to drain.
const HIGH_WATER: usize = 256 * 1024;

impl<IO> MetadataWriter<IO> {
    pub(crate) fn new(inner: IO, protocol: Arc<ProtocolVersion>) -> Self {
        MetadataWriter {
            inner,
            protocol,
            pending: BytesMut::new(),
            out: BytesMut::new(),
        }
    }

    fn cut_messages(&mut self) {
        while self.pending.len() >= 5 {
            let len = i32::from_be_bytes([
                self.pending[1],
                self.pending[2],
                self.pending[3],
                self.pending[4],
            ]);
            let total = 1 + usize::try_from(len).unwrap_or(0).max(4);
            if self.pending.len() < total {
                break;
            }
            let message = self.pending.split_to(total);
            if message[0] == b'T' && self.protocol.get() >= 1 {
                match extend_row_description(&message) {
                    Some(rewritten) => self.out.extend_from_slice(&rewritten),
                    None => self.out.extend_from_slice(&message),
                }
            } else {
                self.out.extend_from_slice(&message);
            }
        }
    }
}

/// Adds `schema\0table\0column\0catalog\0` and a flags word after each field.
fn extend_row_description(message: &[u8]) -> Option<Vec<u8>> {
    let mut body = &message[5..];
    if body.len() < 2 {
        return None;
    }
    let count = body.get_i16();
    let mut out = BytesMut::with_capacity(message.len() + usize::try_from(count).ok()? * 16);
    out.put_u8(b'T');
    out.put_i32(0);
    out.put_i16(count);
    for _ in 0..count {
        let nul = body.iter().position(|b| *b == 0)?;
        let name = &body[..nul];
        if body.len() < nul + 1 + 18 {
            return None;
        }
        out.put_slice(&body[..nul + 1 + 18]);
        body.advance(nul + 1 + 18);
        // schema, table, column, catalog
        out.put_u8(0);
        out.put_u8(0);
        out.put_slice(name);
        out.put_u8(0);
        out.put_u8(0);
        // nullable | searchable
        out.put_i16(0x1001);
    }
    let len = i32::try_from(out.len() - 1).ok()?;
    out[1..5].copy_from_slice(&len.to_be_bytes());
    Some(out.to_vec())
}

impl<IO: AsyncWrite + Unpin> MetadataWriter<IO> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for MetadataWriter<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for MetadataWriter<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.out.len() >= HIGH_WATER {
            ready!(self.poll_drain(cx))?;
        }
        self.pending.extend_from_slice(buf);
        self.cut_messages();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_description_gains_redshift_metadata() {
        // One field "a": int4, text format.
        let mut m = vec![b'T', 0, 0, 0, 0, 0, 1, b'a', 0];
        m.extend_from_slice(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ]);
        let len = (m.len() - 1) as i32;
        m[1..5].copy_from_slice(&len.to_be_bytes());
        let out = extend_row_description(&m).expect("rewrites");
        let mut expected = m.clone();
        expected.extend_from_slice(&[0, 0, b'a', 0, 0, 0x10, 0x01]);
        let len = (expected.len() - 1) as i32;
        expected[1..5].copy_from_slice(&len.to_be_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn truncated_row_description_is_left_alone() {
        assert!(extend_row_description(&[b'T', 0, 0, 0, 6, 0, 1]).is_none());
    }
}
