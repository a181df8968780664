//! Process lifecycle: start every listener, stop them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shale_common::Settings;
use shale_engine::{Engine, EngineConfig};
use shale_objects::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{ServerError, datadir, pg, tls};

/// How long shutdown waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running Shale.
pub struct Server {
    pg_addr: SocketAddr,
    account: shale_iam::Account,
    aws_addr: SocketAddr,
    registry: Registry,
    credentials_path: PathBuf,
    created: bool,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pg_addr", &self.pg_addr)
            .field("aws_addr", &self.aws_addr)
            .finish_non_exhaustive()
    }
}

/// Opens the bucket registry: a bad mapping is a configuration error.
fn open_registry(root: &std::path::Path, settings: &Settings) -> Result<Registry, ServerError> {
    Registry::open(root, &settings.bucket_mappings).map_err(|e| match e {
        shale_objects::ObjectsError::Mapping { .. } => {
            ServerError::Config(shale_common::ConfigError::Invalid {
                key: "buckets",
                message: e.to_string(),
            })
        }
        other => ServerError::Objects(other),
    })
}

impl Server {
    /// Prepares the data directory, opens the engine and starts listening.
    pub async fn start(settings: Settings) -> Result<Server, ServerError> {
        let mut boot = datadir::bootstrap(&settings)?;
        let configured = settings.tls_cert.clone().zip(settings.tls_key.clone());
        let tls_files = tls::ensure_certificate(&boot.root, configured)?;
        let acceptor = tls::acceptor(&tls_files)?;
        let registry = open_registry(&boot.root.join("s3"), &settings)?;
        // The `shale` profile's keys are the account root's. A new account
        // gets the cluster's default role.
        let iam_file = boot.root.join("iam.json");
        let new_account = !iam_file.exists();
        let account = shale_iam::Account::open(
            &iam_file,
            &settings.aws_account_id,
            (
                boot.credentials.access_key_id.clone(),
                boot.credentials.secret_access_key.clone(),
            ),
        )?;
        if new_account {
            account
                .create_default_role()
                .map_err(|e| ServerError::Corrupt {
                    path: iam_file.clone(),
                    message: e.to_string(),
                })?;
        }
        let engine = Engine::open(
            EngineConfig::new(boot.root.join("warehouse"))
                .with_objects(registry.clone(), account.clone()),
        )
        .await?;
        crate::datadir::ensure_admin(&engine, &settings, &mut boot).await?;

        let aws_bind = SocketAddr::new(settings.bind, settings.aws_port);
        let aws_listener =
            TcpListener::bind(aws_bind)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: aws_bind,
                    source,
                })?;
        let aws_addr = aws_listener
            .local_addr()
            .map_err(|source| ServerError::Bind {
                addr: aws_bind,
                source,
            })?;

        let addr = SocketAddr::new(settings.bind, settings.pg_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let pg_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;

        let shared = Arc::new(pg::Shared::new(
            engine,
            settings.pg_auth,
            settings.pg_require_ssl,
            account.clone(),
        ));
        let cluster = shale_aws::Cluster {
            identifier: shale_common::config::CLUSTER_IDENTIFIER.to_owned(),
            // Bound to every interface: the machine itself is one of them.
            address: if pg_addr.ip().is_unspecified() {
                "localhost".to_owned()
            } else {
                pg_addr.ip().to_string()
            },
            port: pg_addr.port(),
            database: shale_engine::DEFAULT_DATABASE.to_owned(),
            master_user: datadir::SUPERUSER.to_owned(),
            created: std::fs::metadata(&boot.credentials_path)
                .and_then(|m| m.modified())
                .map(chrono::DateTime::<chrono::Utc>::from)
                .unwrap_or_else(|_| chrono::Utc::now()),
        };
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(pg::serve(
            listener,
            shared,
            Some(acceptor),
            settings.max_connections,
            shutdown.clone(),
            tracker.clone(),
        ));
        tracker.spawn(shale_aws::serve(
            aws_listener,
            registry.clone(),
            account.clone(),
            cluster,
            shutdown.clone(),
            tracker.clone(),
        ));
        Ok(Server {
            pg_addr,
            account: account.clone(),
            aws_addr,
            registry,
            credentials_path: boot.credentials_path,
            created: boot.created,
            shutdown,
            tracker,
        })
    }

    /// The address of the wire-protocol listener.
    pub fn pg_addr(&self) -> SocketAddr {
        self.pg_addr
    }

    /// The address of the AWS-compatible API (S3).
    pub fn aws_addr(&self) -> SocketAddr {
        self.aws_addr
    }

    /// The AWS account: IAM entities, credentials, the cluster's roles.
    pub fn account(&self) -> &shale_iam::Account {
        &self.account
    }

    /// The bucket registry (embedded buckets and mapped ones).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Where the generated credentials are.
    pub fn credentials_path(&self) -> &std::path::Path {
        &self.credentials_path
    }

    /// Whether this start created the data directory's credentials.
    pub fn first_start(&self) -> bool {
        self.created
    }

    /// Stops accepting, cancels what is running, and waits for connections to close.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("Some connections did not close in time.");
        }
    }
}
