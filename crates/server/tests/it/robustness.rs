//! Bad input and load: malformed, truncated and oversized messages, unknown
//! protocol versions, clients that vanish mid-query, random bytes before and
//! after login, 200 concurrent clients, the connection limit and shutdown.
//! After each abuse the server must still answer a well-behaved client.
//!
//! `corpus/*.bin` holds inputs kept as regression cases; every file is sent
//! both as the first bytes of a connection and after a successful login.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use shale_common::AuthMethod;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::{PASSWORD, TestServer, connect, db_error};

fn startup(user: &str, database: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", database)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    msg
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Reads whatever arrives within `wait`, until the peer closes.
async fn drain(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(wait, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Logs in with a cleartext password (the server must use that method) and
/// returns the stream ready for queries.
async fn logged_in(server: &TestServer) -> TcpStream {
    logged_in_at(server.addr()).await
}

async fn logged_in_at(addr: std::net::SocketAddr) -> TcpStream {
    try_login(addr).await.expect("login refused")
}

/// Logs in with a cleartext password; `None` if the server refuses at once
/// (an ErrorResponse instead of the password request).
async fn try_login(addr: std::net::SocketAddr) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&startup("awsuser", "dev"))
        .await
        .expect("startup");
    let mut pw = PASSWORD.as_bytes().to_vec();
    pw.push(0);
    // AuthenticationCleartextPassword: R, len 8, code 3.
    let mut head = [0u8; 9];
    s.read_exact(&mut head[..1]).await.expect("auth request");
    if head[0] == b'E' {
        return None;
    }
    s.read_exact(&mut head[1..]).await.expect("auth request");
    assert_eq!(head, [b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
    s.write_all(&message(b'p', &pw)).await.expect("password");
    // Read until ReadyForQuery.
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']) {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("login in time")
            .expect("read");
        assert!(n > 0, "server closed during login");
        seen.extend_from_slice(&buf[..n]);
    }
    Some(s)
}

async fn still_serving(server: &TestServer) {
    let client = tokio::time::timeout(Duration::from_secs(10), server.connect())
        .await
        .expect("connects in time");
    let rows = client.simple_query("select 1").await.expect("select 1");
    assert!(!rows.is_empty());
}

async fn send_raw(server: &TestServer, bytes: &[u8], after_login: bool) {
    let mut s = if after_login {
        logged_in(server).await
    } else {
        TcpStream::connect(server.addr()).await.expect("connect")
    };
    let _ = s.write_all(bytes).await;
    let _ = drain(&mut s, Duration::from_millis(300)).await;
}

fn hand_made_cases() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut truncated_startup = startup("awsuser", "dev");
    truncated_startup.truncate(10);
    let mut v4 = startup("awsuser", "dev");
    v4[4..8].copy_from_slice(&(4i32 << 16).to_be_bytes());
    vec![
        ("garbage", b"GET / HTTP/1.1\r\n\r\n".repeat(20), false),
        ("truncated startup", truncated_startup, false),
        (
            "huge length",
            vec![0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0],
            false,
        ),
        (
            "negative length",
            vec![0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 0],
            false,
        ),
        ("protocol 4.0", v4, false),
        (
            "ssl request then garbage",
            {
                let mut m = vec![0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f];
                m.extend_from_slice(b"\x16\x03\x01garbage");
                m
            },
            false,
        ),
        ("unknown message type", message(b'!', b"junk"), true),
        (
            "huge query length",
            vec![b'Q', 0x7f, 0xff, 0xff, 0xff, b's'],
            true,
        ),
        ("truncated query", vec![b'Q', 0, 0, 1, 0, b's', b'e'], true),
        ("query without terminator", message(b'Q', b"select 1"), true),
        (
            "bind to unknown statement",
            message(b'B', b"\0nope\0\0\0\0\0\0\0"),
            true,
        ),
        (
            "bind with bad counts",
            message(b'B', b"\0\0\xff\xff\xff\xff"),
            true,
        ),
        (
            "execute unknown portal",
            message(b'E', b"nope\0\0\0\0\0"),
            true,
        ),
        ("describe bad target", message(b'D', b"Xname\0"), true),
        (
            "parse then bind too few result formats",
            {
                let mut m = message(b'P', b"s1\0select 1 as a, 2 as b\0\0\0");
                m.extend(message(b'B', b"\0s1\0\0\0\0\0\0\x03\0\x01\0\x01\0\x01"));
                m.extend(message(b'E', b"\0\0\0\0\0"));
                m.extend(message(b'S', b""));
                m
            },
            true,
        ),
        (
            "binary parameter too short",
            {
                let mut m = message(b'P', b"s2\0select $1::int\0\0\x01\0\0\0\x17");
                m.extend(message(b'B', b"\0s2\0\0\x01\0\x01\0\x01\0\0\0\x01\x07\0\0"));
                m.extend(message(b'E', b"\0\0\0\0\0"));
                m.extend(message(b'S', b""));
                m
            },
            true,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_only_that_connection() {
    let server = TestServer::start_with(AuthMethod::Password).await;
    for (name, bytes, after_login) in hand_made_cases() {
        send_raw(&server, &bytes, after_login).await;
        eprintln!("case {name}: done");
        still_serving(&server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_inputs_do_no_harm() {
    let server = TestServer::start_with(AuthMethod::Password).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus in {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).expect("read corpus file");
        for after_login in [false, true] {
            send_raw(&server, &bytes, after_login).await;
        }
    }
    still_serving(&server).await;
}

/// A client that hangs up mid-statement gives its connection back: with room
/// for one connection only, each next client gets in once the previous one is
/// gone, although the previous one's statement would run for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_vanishing_mid_query_frees_its_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = shale_common::Settings::for_data_dir(dir.path());
    settings.admin_password = Some(PASSWORD.into());
    settings.pg_auth = AuthMethod::Password;
    settings.max_connections = 1;
    let server = shale::Server::start(settings).await.expect("start");
    let config = format!(
        "host=127.0.0.1 port={} user=awsuser password={PASSWORD} dbname=dev",
        server.pg_addr().port()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for _ in 0..3 {
        // The single slot frees up only if the previous client's statement
        // was abandoned when it hung up.
        let mut s = loop {
            if let Some(s) = try_login(server.pg_addr()).await {
                break s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "connection still held by a vanished client"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let mut q = b"select count(*) from generate_series(1, 100000000000)".to_vec();
        q.push(0);
        s.write_all(&message(b'Q', &q)).await.expect("query");
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(s);
    }
    let client = loop {
        match connect(&config).await {
            Ok(c) => break c,
            Err(e) => {
                assert_eq!(db_error(&e).0, "53300", "{e}");
                assert!(tokio::time::Instant::now() < deadline, "slot never freed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    client.simple_query("select 1").await.expect("select 1");
    server.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_before_and_after_login(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        tag in prop_oneof![Just(b'Q'), Just(b'P'), Just(b'B'), Just(b'E'), Just(b'D'), Just(b'C'), Just(b'S'), Just(b'H'), any::<u8>()],
        framed in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let server = TestServer::start_with(AuthMethod::Password).await;
            send_raw(&server, &bytes, false).await;
            let after = if framed { message(tag, &bytes) } else { bytes.clone() };
            send_raw(&server, &after, true).await;
            still_serving(&server).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_connections() {
    let server = TestServer::start().await;
    let config = server.config();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200i32 {
        let config = config.clone();
        tasks.spawn(async move {
            let client = connect(&config).await.expect("connect");
            for j in 0..5i32 {
                let row = client
                    .query_one("select $1::int * 2::int", &[&(i * 10 + j)])
                    .await
                    .expect("query");
                assert_eq!(row.get::<_, i32>(0), (i * 10 + j) * 2);
            }
            client
                .simple_query("select 1; select 2")
                .await
                .expect("simple");
        });
    }
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
        done += 1;
    }
    assert_eq!(done, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = shale_common::Settings::for_data_dir(dir.path());
    settings.admin_password = Some(PASSWORD.into());
    settings.max_connections = 2;
    let server = shale::Server::start(settings).await.expect("start");
    let config = format!(
        "host=127.0.0.1 port={} user=awsuser password={PASSWORD} dbname=dev",
        server.pg_addr().port()
    );
    let _a = connect(&config).await.expect("first");
    let _b = connect(&config).await.expect("second");
    let err = connect(&config).await.expect_err("third is refused");
    assert_eq!(
        db_error(&err),
        ("53300".into(), "sorry, too many clients already".into())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_idle_clients_why() {
    let server = TestServer::start_with(AuthMethod::Password).await;
    let mut s = logged_in(&server).await;
    tokio::time::timeout(Duration::from_secs(15), server.server.shutdown())
        .await
        .expect("shutdown in time");
    let reply = drain(&mut s, Duration::from_secs(2)).await;
    assert_eq!(reply.first(), Some(&b'E'), "{reply:?}");
    let text = String::from_utf8_lossy(&reply);
    assert!(text.contains("FATAL") && text.contains("57P01"), "{text}");
    assert!(
        text.contains("terminating connection due to administrator command"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_connections() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client.simple_query("select 1").await.expect("before");
    tokio::time::timeout(Duration::from_secs(15), server.server.shutdown())
        .await
        .expect("shutdown in time");
    assert!(client.simple_query("select 1").await.is_err());
}
