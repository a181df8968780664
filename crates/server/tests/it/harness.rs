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

/// One signed call to the AWS endpoint at `addr`: `form` POSTed to `/`,
/// signed for `service` with `keys` by object_store's SigV4 signer (an
/// implementation independent of the server's). The status and the body.
pub async fn aws_call(
    addr: SocketAddr,
    keys: (&str, &str, Option<&str>),
    service: &str,
    form: &str,
) -> (u16, String) {
    use object_store::aws::{AwsAuthorizer, AwsCredential};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let credential = AwsCredential {
        key_id: keys.0.to_owned(),
        secret_key: keys.1.to_owned(),
        token: keys.2.map(str::to_owned),
    };
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/"))
        .header("host", addr.to_string())
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(object_store::client::HttpRequestBody::from(form.to_owned()))
        .expect("request");
    AwsAuthorizer::new(&credential, service, "us-east-1").authorize(&mut request, None);
    let mut wire = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        wire.push_str(&format!(
            "{name}: {}\r\n",
            value.to_str().expect("ascii header")
        ));
    }
    wire.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{form}",
        form.len()
    ));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(wire.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("receive");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The text of the first `<tag>` element in `xml`.
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + end])
}
