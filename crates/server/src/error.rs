//! The server crate's error type: what can stop the process from starting.

use std::path::PathBuf;

/// A failure to start or run the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid data directory file {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Config(#[from] shale_common::ConfigError),
    #[error("engine: {0}")]
    Engine(#[from] shale_engine::EngineError),
    #[error("buckets: {0}")]
    Objects(#[from] shale_objects::ObjectsError),
    #[error("IAM: {0}")]
    Iam(#[from] shale_iam::OpenError),
}

impl ServerError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ServerError::Io {
            action,
            path,
            source,
        }
    }
}
