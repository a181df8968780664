//! The S3 service on a real socket, driven by object_store's S3 client:
//! signed round trips, S3's error codes, and refusal of unsigned requests.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::TryStreamExt;
use shale_iam::Account;
use shale_objects::Registry;
use shale_objects::object_store::aws::{AmazonS3, AmazonS3Builder};
use shale_objects::object_store::path::Path;
use shale_objects::object_store::signer::Signer;
use shale_objects::object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const ID: &str = "AKIATESTTESTTEST";
const SECRET: &str = "test-secret";

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("s3"), &[]).unwrap();
    registry.embedded().create_bucket("data").await.unwrap();
    let account = Account::in_memory("123456789012", (ID.to_owned(), SECRET.to_owned()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    tracker.spawn(crate::serve(
        listener,
        registry,
        account,
        crate::Cluster {
            identifier: "shale".to_owned(),
            address: "127.0.0.1".to_owned(),
            port: 5439,
            database: "dev".to_owned(),
            master_user: "admin".to_owned(),
            created: chrono::Utc::now(),
        },
        shutdown.clone(),
        tracker.clone(),
    ));
    Running {
        addr,
        shutdown,
        tracker,
        _dir: dir,
    }
}

fn client(addr: SocketAddr, secret: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(format!("http://{addr}"))
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name("data")
        .with_access_key_id(ID)
        .with_secret_access_key(secret)
        .with_retry(RetryConfig {
            max_retries: 0,
            ..Default::default()
        })
        .build()
        .unwrap()
}

async fn raw_get(addr: SocketAddr, target: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn signed_round_trips_and_errors() {
    let server = start().await;
    let s3 = client(server.addr, SECRET);
    s3.put(&Path::from("a/b.csv"), "1|2\n".into())
        .await
        .unwrap();
    s3.put(&Path::from("a/c.csv"), "3|4\n".into())
        .await
        .unwrap();
    let got = s3.get(&Path::from("a/b.csv")).await.unwrap();
    assert_eq!(&got.bytes().await.unwrap()[..], b"1|2\n");
    assert_eq!(
        &s3.get_range(&Path::from("a/c.csv"), 2..4).await.unwrap()[..],
        b"4\n"
    );
    let listed: Vec<_> = s3.list(Some(&Path::from("a"))).try_collect().await.unwrap();
    assert_eq!(listed.len(), 2);

    let mut upload = s3.put_multipart(&Path::from("big")).await.unwrap();
    upload
        .put_part(PutPayload::from(vec![1u8; 5 * 1024 * 1024]))
        .await
        .unwrap();
    upload
        .put_part(PutPayload::from_static(b"end"))
        .await
        .unwrap();
    upload.complete().await.unwrap();
    assert_eq!(
        s3.head(&Path::from("big")).await.unwrap().size,
        5 * 1024 * 1024 + 3
    );

    let missing = s3.get(&Path::from("nope")).await.unwrap_err();
    assert!(
        matches!(missing, shale_objects::object_store::Error::NotFound { .. }),
        "{missing}"
    );
    let wrong = client(server.addr, "wrong")
        .get(&Path::from("a/b.csv"))
        .await;
    let err = wrong.unwrap_err().to_string();
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");

    let unsigned = raw_get(server.addr, "/data/a/b.csv").await;
    assert!(unsigned.starts_with("HTTP/1.1 403"), "{unsigned}");
    assert!(unsigned.contains("<Code>AccessDenied</Code>"), "{unsigned}");

    let url = s3
        .signed_url(
            "GET".parse().unwrap(),
            &Path::from("a/b.csv"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let target = &url.as_str()[url.as_str().find("/data").unwrap()..];
    let presigned = raw_get(server.addr, target).await;
    assert!(presigned.starts_with("HTTP/1.1 200"), "{presigned}");
    assert!(presigned.ends_with("1|2\n"), "{presigned}");

    server.shutdown.cancel();
    server.tracker.close();
    tokio::time::timeout(Duration::from_secs(10), server.tracker.wait())
        .await
        .expect("the listener and its connections stop on shutdown");
}
