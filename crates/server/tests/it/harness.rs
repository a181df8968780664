//! Starting a server for a test, and connecting to it.

use std::net::SocketAddr;

use shale::Server;
use shale_common::{AuthMethod, Settings};
use tokio_postgres::{Client, NoTls};

pub const PASSWORD: &str = "Test-Pass1";

/// A server with its own temporary data directory.
pub struct TestServer {
    pub server: Server,
    // Dropped after the server, so the directory outlives it.
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(AuthMethod::Md5).await
    }

    pub async fn start_with(auth: AuthMethod) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::for_data_dir(dir.path().join("data"));
        settings.admin_password = Some(PASSWORD.into());
        settings.pg_auth = auth;
        let server = Server::start(settings).await.expect("server starts");
        TestServer { server, _dir: dir }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.pg_addr()
    }

    pub fn config(&self) -> String {
        format!(
            "host={} port={} user=awsuser password={PASSWORD} dbname=dev",
            self.addr().ip(),
            self.addr().port()
        )
    }

    /// The access-key pair written to the data directory's credentials file.
    pub fn access_keys(&self) -> (String, String) {
        let text = std::fs::read_to_string(self.server.credentials_path()).expect("credentials");
        let value = |key: &str| {
            text.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().to_string())
                })
                .expect("key in credentials")
        };
        (value("aws_access_key_id"), value("aws_secret_access_key"))
    }

    /// A connected client; its connection task runs until the client drops.
    pub async fn connect(&self) -> Client {
        connect(&self.config()).await.expect("connects")
    }
}

pub async fn connect(config: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(config, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The SQLSTATE and message of a database error.
pub fn db_error(e: &tokio_postgres::Error) -> (String, String) {
    match e.as_db_error() {
        Some(d) => (d.code().code().to_string(), d.message().to_string()),
        None => ("?".into(), e.to_string()),
    }
}
