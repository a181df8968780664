//! The S3 endpoint seen from outside: object_store's S3 client (signed
//! requests) against a running server, presigned URLs and unsigned or
//! wrongly signed requests over raw HTTP, and acknowledged PUTs that
//! survive SIGKILL.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use shale_objects::object_store::aws::{AmazonS3, AmazonS3Builder};
use shale_objects::object_store::path::Path as ObjectPath;
use shale_objects::object_store::signer::Signer;
use shale_objects::object_store::{
    self, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{PASSWORD, TestServer};

fn client(addr: SocketAddr, bucket: &str, id: &str, secret: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(format!("http://{addr}"))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id(id)
        .with_secret_access_key(secret)
        .with_retry(RetryConfig {
            max_retries: 0,
            ..Default::default()
        })
        .build()
        .expect("client")
}

/// One HTTP/1.1 request over a fresh connection; returns status and body.
async fn http(addr: SocketAddr, method: &str, target: &str, host: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("receive");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The path and query of a presigned URL (the request goes to `addr`).
fn target(url: &impl ToString) -> String {
    let url = url.to_string();
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    after_scheme
        .find('/')
        .map_or("/".to_owned(), |i| after_scheme[i..].to_owned())
}

/// Creates a bucket through the API with a presigned PUT.
async fn create_bucket(addr: SocketAddr, bucket: &str, id: &str, secret: &str) {
    let url = client(addr, bucket, id, secret)
        .signed_url(
            "PUT".parse().expect("method"),
            &ObjectPath::from(""),
            Duration::from_secs(60),
        )
        .await
        .expect("presign");
    let (status, body) = http(addr, "PUT", &target(&url), &addr.to_string()).await;
    assert_eq!(status, 200, "CreateBucket: {body}");
}

fn p(s: &str) -> ObjectPath {
    ObjectPath::parse(s).expect("path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_client_round_trips() {
    let server = TestServer::start().await;
    let (id, secret) = server.access_keys();
    let addr = server.server.aws_addr();
    create_bucket(addr, "data", &id, &secret).await;
    let s3 = client(addr, "data", &id, &secret);

    s3.put(&p("dir/a.csv"), "1|a\n2|b\n".into())
        .await
        .expect("put");
    s3.put(&p("dir/sub/b.csv"), "bb".into()).await.expect("put");
    s3.put(&p("custdata.txt"), "x".into()).await.expect("put");
    s3.put(&p("custdata.txt.1"), "y".into()).await.expect("put");

    let got = s3.get(&p("dir/a.csv")).await.expect("get");
    assert_eq!(got.meta.size, 8);
    assert_eq!(
        got.meta.e_tag.as_deref(),
        Some(format!("\"{:x}\"", md5::compute(b"1|a\n2|b\n")).as_str())
    );
    assert_eq!(&got.bytes().await.expect("body")[..], b"1|a\n2|b\n");
    let range = s3.get_range(&p("dir/a.csv"), 4..7).await.expect("range");
    assert_eq!(&range[..], b"2|b");
    let suffix = s3
        .get_opts(
            &p("dir/a.csv"),
            GetOptions {
                range: Some(GetRange::Suffix(2)),
                ..Default::default()
            },
        )
        .await
        .expect("suffix");
    assert_eq!(&suffix.bytes().await.expect("body")[..], b"b\n");
    assert_eq!(s3.head(&p("dir/sub/b.csv")).await.expect("head").size, 2);
    assert!(matches!(
        s3.head(&p("missing")).await,
        Err(object_store::Error::NotFound { .. })
    ));

    let mut all: Vec<String> = s3
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    all.sort();
    assert_eq!(
        all,
        [
            "custdata.txt",
            "custdata.txt.1",
            "dir/a.csv",
            "dir/sub/b.csv"
        ]
    );
    let dir = s3
        .list_with_delimiter(Some(&p("dir")))
        .await
        .expect("list /");
    let objects: Vec<String> = dir.objects.iter().map(|m| m.location.to_string()).collect();
    let prefixes: Vec<String> = dir
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(objects, ["dir/a.csv"]);
    assert_eq!(prefixes, ["dir/sub"]);

    s3.copy(&p("dir/a.csv"), &p("copy.csv"))
        .await
        .expect("copy");
    assert_eq!(
        &s3.get(&p("copy.csv"))
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body")[..],
        b"1|a\n2|b\n"
    );

    // Multipart: a 5 MiB part and a small last one.
    let mut upload = s3
        .put_multipart(&p("big.bin"))
        .await
        .expect("create upload");
    let first = vec![7u8; 5 * 1024 * 1024];
    upload
        .put_part(PutPayload::from(first.clone()))
        .await
        .expect("part 1");
    upload
        .put_part(PutPayload::from_static(b"tail"))
        .await
        .expect("part 2");
    upload.complete().await.expect("complete");
    let big = s3.get(&p("big.bin")).await.expect("get big");
    assert!(
        big.meta
            .e_tag
            .as_deref()
            .is_some_and(|e| e.ends_with("-2\"")),
        "{:?}",
        big.meta.e_tag
    );
    let bytes = big.bytes().await.expect("body");
    assert_eq!(bytes.len(), first.len() + 4);
    assert_eq!(&bytes[first.len()..], b"tail");

    s3.delete(&p("copy.csv")).await.expect("delete");
    s3.delete(&p("copy.csv"))
        .await
        .expect("delete is idempotent");
    assert!(s3.head(&p("copy.csv")).await.is_err());

    // Presigned GET, path-style and virtual-host style.
    let url = s3
        .signed_url(
            "GET".parse().expect("method"),
            &p("dir/a.csv"),
            Duration::from_secs(60),
        )
        .await
        .expect("presign");
    let (status, body) = http(addr, "GET", &target(&url), &addr.to_string()).await;
    assert_eq!((status, body.as_str()), (200, "1|a\n2|b\n"));
    let vhost = AmazonS3Builder::new()
        .with_endpoint(format!("http://data.localhost:{}", addr.port()))
        .with_virtual_hosted_style_request(true)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name("data")
        .with_access_key_id(&id)
        .with_secret_access_key(&secret)
        .build()
        .expect("vhost client");
    let url = vhost
        .signed_url(
            "GET".parse().expect("method"),
            &p("dir/a.csv"),
            Duration::from_secs(60),
        )
        .await
        .expect("presign");
    let host = format!("data.localhost:{}", addr.port());
    let (status, body) = http(addr, "GET", &target(&url), &host).await;
    assert_eq!((status, body.as_str()), (200, "1|a\n2|b\n"), "virtual host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_and_wrongly_signed_requests_are_refused() {
    let server = TestServer::start().await;
    let (id, secret) = server.access_keys();
    let addr = server.server.aws_addr();
    create_bucket(addr, "data", &id, &secret).await;

    let (status, body) = http(addr, "GET", "/data/anything", &addr.to_string()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    let (status, body) = http(addr, "GET", "/", &addr.to_string()).await;
    assert_eq!(status, 403, "{body}");

    let wrong = client(addr, "data", &id, "not-the-secret");
    let err = wrong
        .put(&p("k"), "x".into())
        .await
        .expect_err("wrong secret");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
    let unknown = client(addr, "data", "AKIAUNKNOWN", &secret);
    let err = unknown.get(&p("k")).await.expect_err("unknown key");
    assert!(
        matches!(
            err,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
                | object_store::Error::Generic { .. }
        ) || err.to_string().contains("InvalidAccessKeyId"),
        "{err}"
    );
    // A presigned URL whose signature was tampered with.
    let url = client(addr, "data", &id, &secret)
        .signed_url(
            "GET".parse().expect("method"),
            &p("k"),
            Duration::from_secs(60),
        )
        .await
        .expect("presign");
    // Same length, one hex digit changed.
    let original = target(&url);
    let at = original.find("X-Amz-Signature=").expect("signature") + "X-Amz-Signature=".len();
    let flipped = if original.as_bytes()[at] == b'0' {
        "1"
    } else {
        "0"
    };
    let tampered = format!("{}{flipped}{}", &original[..at], &original[at + 1..]);
    let (status, body) = http(addr, "GET", &tampered, &addr.to_string()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
}

// ---- crash test ----

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn_server(data: &Path, aws_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shale"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--pg-port", &free_port().to_string()])
        .args(["--aws-port", &aws_port.to_string()])
        .args(["--http-port", &free_port().to_string()])
        .env("SHALE_ADMIN_PASSWORD", PASSWORD)
        .env("SHALE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("shale starts")
}

fn credentials(data: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(data.join("credentials")).ok()?;
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    Some((value("aws_access_key_id")?, value("aws_secret_access_key")?))
}

/// Waits until the child answers a signed request.
async fn wait_until_up(data: &Path, addr: SocketAddr) -> Arc<AmazonS3> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((id, secret)) = credentials(data) {
            let s3 = client(addr, "crash", &id, &secret);
            if s3.list_with_delimiter(None).await.is_ok() {
                return Arc::new(s3);
            }
        }
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The content written under key number `k`: its size varies, and every
/// byte depends on the key, so a torn or swapped object is caught.
fn content(k: u64) -> Vec<u8> {
    let len = (k * 7919) % 300_000 + 1;
    (0..len).map(|i| ((i * 31 + k * 17) % 251) as u8).collect()
}

/// A child process PUTs objects in a loop and is killed with SIGKILL at
/// random moments. After every restart each acknowledged object is present
/// and byte-for-byte intact, the one in flight is absent or intact, and no
/// blob is left that the index does not name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_puts_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    {
        let registry = shale_objects::Registry::open(&data.join("s3"), &[]).expect("registry");
        registry
            .embedded()
            .create_bucket("crash")
            .await
            .expect("bucket");
    }
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("S3 crash test seed: {seed}");
    let mut acked: BTreeMap<u64, ()> = BTreeMap::new();
    let mut next: u64 = 0;
    let rounds = 5;
    for round in 0..=rounds {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut child = spawn_server(&data, port);
        let s3 = wait_until_up(&data, addr).await;

        let listed: Vec<String> = s3
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list");
        for k in acked.keys() {
            let got = s3
                .get(&p(&format!("obj/{k}")))
                .await
                .unwrap_or_else(|e| panic!("round {round}: acknowledged object {k} is lost: {e}"));
            let bytes = got.bytes().await.expect("body");
            assert!(
                bytes[..] == content(*k)[..],
                "round {round}: object {k} is corrupt"
            );
        }
        for key in &listed {
            let k: u64 = key
                .strip_prefix("obj/")
                .and_then(|n| n.parse().ok())
                .expect("a key we wrote");
            assert!(
                acked.contains_key(&k) || k == next,
                "round {round}: {key} never written"
            );
            if k == next {
                let bytes = s3
                    .get(&p(key))
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body");
                assert!(
                    bytes[..] == content(k)[..],
                    "round {round}: in-flight {key} is torn"
                );
                acked.insert(k, ());
                next += 1;
            }
        }
        let blobs = std::fs::read_dir(data.join("s3/blobs"))
            .expect("blobs")
            .count();
        assert_eq!(
            blobs,
            acked.len(),
            "round {round}: orphan blobs were not removed"
        );
        if round == rounds {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }

        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = Duration::from_millis(150 + seed % 500);
        let started = Instant::now();
        let mut killed = false;
        loop {
            if !killed && started.elapsed() >= kill_after {
                child.kill().expect("SIGKILL");
                killed = true;
            }
            let k = next;
            match s3.put(&p(&format!("obj/{k}")), content(k).into()).await {
                Ok(_) => {
                    acked.insert(k, ());
                    next += 1;
                }
                Err(e) => {
                    assert!(killed, "unexpected error before the kill: {e}");
                    break;
                }
            }
        }
        let _ = child.wait();
    }
    eprintln!("{} PUTs acknowledged across {rounds} kills", acked.len());
    assert!(
        acked.len() > rounds,
        "too few PUTs to prove anything: {}",
        acked.len()
    );
}
