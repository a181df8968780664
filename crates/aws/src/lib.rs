//! The AWS-compatible HTTP API: S3's REST API over the bucket registry.
//!
//! - `s3`: `ShaleS3`, the `s3s::S3` operations over embedded buckets.
//! - `auth`: SigV4 against `AccessKeys`, the access hook (IAM later), and
//!   virtual-host parsing (`<bucket>.localhost`).
//! - here: `service` assembles them, `serve` runs HTTP/1.1 connections until
//!   shutdown.
//!
//! **Architecture Invariant:** every request is signed by a key Shale knows;
//! unsigned requests get AccessDenied. This crate knows no SQL and no
//! DataFusion.

mod auth;
mod s3;

use std::time::Duration;

use hyper_util::rt::TokioIo;
use s3s::service::{S3Service, S3ServiceBuilder};
use shale_objects::{AccessKeys, Registry};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use s3::{REGION, ShaleS3};

/// How long a connection may keep running its request after shutdown began.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The S3 service: operations, authentication, access and host parsing.
pub fn service(registry: Registry, keys: AccessKeys) -> S3Service {
    let mut builder = S3ServiceBuilder::new(ShaleS3::new(registry));
    builder.set_auth(auth::KeysAuth(keys));
    builder.set_access(auth::Policy);
    builder.set_host(auth::LocalhostHost);
    builder.build()
}

/// Accepts connections on `listener` and serves the S3 API on each, until
/// `shutdown` is cancelled; then in-flight requests get `SHUTDOWN_GRACE` to
/// finish. Connection tasks are spawned on `tracker`.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    keys: AccessKeys,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let service = service(registry, keys);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "Cannot accept an AWS API connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    match tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await {
                        Ok(r) => r,
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "AWS API connection ended with an error.");
            }
        });
    }
}

#[cfg(test)]
mod tests;
