//! The AWS-compatible HTTP API on one port: S3's REST API over the bucket
//! registry, and the IAM, STS, Redshift and Redshift Serverless APIs over
//! the [`Account`].
//!
//! - `s3`: `ShaleS3`, the `s3s::S3` operations over embedded buckets.
//! - `auth`: S3's side of the account: signatures checked against its keys,
//!   session tokens and expiry, every operation authorized by IAM policy,
//!   and virtual-host parsing (`<bucket>.localhost`).
//! - `api`: the other services, routed by the service their SigV4
//!   credential scope names; `sigv4` verifies their signatures (s3s only
//!   verifies S3's), `query` speaks the Query protocol, and `iam_api`,
//!   `sts_api`, `redshift_api` hold the actions.
//! - here: `service` assembles them, `serve` runs HTTP/1.1 connections until
//!   shutdown.
//!
//! **Architecture Invariant:** every request is signed by a key the account
//! knows and is authorized by the signer's policies; unsigned requests get
//! AccessDenied. This crate knows no SQL and no DataFusion.

mod api;
mod auth;
mod iam_api;
mod query;
mod redshift_api;
mod s3;
mod sigv4;
mod sts_api;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hyper_util::rt::TokioIo;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{Body, HttpResponse};
use shale_iam::Account;
use shale_objects::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use s3::{REGION, ShaleS3};

/// How long a connection may keep running its request after shutdown began.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The local cluster as the Redshift API describes it.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `ClusterIdentifier`.
    pub identifier: String,
    /// The wire protocol's address and port.
    pub address: String,
    pub port: u16,
    /// The default database.
    pub database: String,
    /// The administrator's user name.
    pub master_user: String,
    /// When the data directory was created.
    pub created: DateTime<Utc>,
}

/// The S3 service: operations, authentication, access and host parsing.
pub fn s3_service(registry: Registry, account: Account) -> S3Service {
    let mut builder = S3ServiceBuilder::new(ShaleS3::new(registry, account.clone()));
    builder.set_auth(auth::AccountAuth(account.clone()));
    builder.set_access(auth::Policy(account));
    builder.set_host(auth::LocalhostHost);
    builder.build()
}

/// Everything the endpoint answers: S3, and the other services by their
/// signature's scope.
#[derive(Debug, Clone)]
struct Endpoint {
    s3: S3Service,
    apis: Arc<api::Apis>,
}

impl Endpoint {
    async fn call(&self, req: s3s::HttpRequest) -> Result<HttpResponse, s3s::HttpError> {
        match api::Service::of(&req) {
            Some(service) => Ok(api::handle(&self.apis, service, req).await),
            None => self.s3.call(req).await,
        }
    }
}

/// Accepts connections on `listener` and serves the AWS API on each, until
/// `shutdown` is cancelled; then in-flight requests get `SHUTDOWN_GRACE` to
/// finish. Connection tasks are spawned on `tracker`.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    account: Account,
    cluster: Cluster,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let endpoint = Endpoint {
        s3: s3_service(registry, account.clone()),
        apis: Arc::new(api::Apis { account, cluster }),
    };
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
        let endpoint = endpoint.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let endpoint = endpoint.clone();
                    async move {
                        let resp = endpoint.call(req.map(Body::from)).await;
                        Ok::<_, Infallible>(resp.unwrap_or_else(|e| {
                            tracing::debug!(error = ?e, "AWS API request failed.");
                            let mut r = HttpResponse::new(Body::empty());
                            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                            r
                        }))
                    }
                });
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
