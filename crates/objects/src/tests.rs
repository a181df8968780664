//! Unit tests of the embedded store, its listing and the ObjectStore adapter.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutPayload};

use crate::{
    ByteStream, Conditions, EmbeddedStore, ListRequest, ObjectsError, PutOptions, Registry,
};

fn body(data: &[u8]) -> ByteStream {
    // Several chunks, to exercise streaming.
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

async fn put(store: &EmbeddedStore, bucket: &str, key: &str, data: &[u8]) {
    store
        .put_object(bucket, key, body(data), PutOptions::default())
        .await
        .unwrap();
}

async fn get(store: &EmbeddedStore, bucket: &str, key: &str) -> Vec<u8> {
    let r = store
        .get_object(bucket, key, None, Conditions::default())
        .await
        .unwrap();
    let chunks: Vec<Bytes> = r.into_stream().try_collect().await.unwrap();
    chunks.concat()
}

async fn fresh() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("s3")).unwrap();
    store.create_bucket("bkt").await.unwrap();
    (dir, store)
}

fn blob_count(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join("s3/blobs"))
        .unwrap()
        .count()
}

#[tokio::test]
async fn buckets_follow_s3_rules() {
    let (_dir, store) = fresh().await;
    assert!(matches!(
        store.create_bucket("bkt").await,
        Err(ObjectsError::BucketAlreadyOwnedByYou(_))
    ));
    assert!(matches!(
        store.create_bucket("Bad_Name").await,
        Err(ObjectsError::InvalidBucketName { .. })
    ));
    put(&store, "bkt", "k", b"x").await;
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectsError::BucketNotEmpty(_))
    ));
    store.delete_object("bkt", "k").await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(ObjectsError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store
            .put_object("bkt", "k", body(b"x"), PutOptions::default())
            .await,
        Err(ObjectsError::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn objects_survive_reopen_and_orphans_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    {
        let store = EmbeddedStore::open(&root).unwrap();
        store.create_bucket("bkt").await.unwrap();
        put(&store, "bkt", "a", b"hello").await;
        put(&store, "bkt", "a/b", b"world").await;
    }
    // A blob left behind by a crash mid-write.
    std::fs::write(root.join("blobs/deadbeef"), b"half").unwrap();
    let store = EmbeddedStore::open(&root).unwrap();
    assert_eq!(get(&store, "bkt", "a").await, b"hello");
    assert_eq!(get(&store, "bkt", "a/b").await, b"world");
    assert!(!root.join("blobs/deadbeef").exists());
    assert_eq!(blob_count(&dir), 2);
    assert_eq!(store.list_buckets().len(), 1);
}

#[tokio::test]
async fn overwrite_replaces_and_removes_the_old_blob() {
    let (dir, store) = fresh().await;
    put(&store, "bkt", "k", b"first").await;
    let reader = store
        .get_object("bkt", "k", None, Conditions::default())
        .await
        .unwrap();
    put(&store, "bkt", "k", b"second version").await;
    // A reader that opened the old version still reads it whole.
    let old: Vec<Bytes> = reader.into_stream().try_collect().await.unwrap();
    assert_eq!(old.concat(), b"first");
    assert_eq!(get(&store, "bkt", "k").await, b"second version");
    assert_eq!(blob_count(&dir), 1);
    let info = store
        .head_object("bkt", "k", Conditions::default())
        .await
        .unwrap();
    assert_eq!(info.size, 14);
    assert_eq!(info.etag, format!("{:x}", md5::compute(b"second version")));
    store.delete_object("bkt", "k").await.unwrap();
    assert!(
        !store.delete_object("bkt", "k").await.unwrap(),
        "idempotent"
    );
    assert_eq!(blob_count(&dir), 0);
}

#[tokio::test]
async fn content_md5_is_checked() {
    let (dir, store) = fresh().await;
    let opts = PutOptions {
        content_md5: Some([0; 16]),
        ..Default::default()
    };
    let err = store.put_object("bkt", "k", body(b"data"), opts).await;
    assert!(matches!(err, Err(ObjectsError::BadDigest)), "{err:?}");
    assert_eq!(blob_count(&dir), 0);
    let opts = PutOptions {
        content_md5: Some(md5::compute(b"data").0),
        ..Default::default()
    };
    store
        .put_object("bkt", "k", body(b"data"), opts)
        .await
        .unwrap();
}

#[tokio::test]
async fn ranges_and_conditions() {
    let (_dir, store) = fresh().await;
    put(&store, "bkt", "k", b"0123456789").await;
    let read = |range| {
        let store = store.clone();
        async move {
            let r = store
                .get_object("bkt", "k", Some(range), Conditions::default())
                .await?;
            let chunks: Vec<Bytes> = r.into_stream().try_collect().await.unwrap();
            Ok::<_, ObjectsError>(chunks.concat())
        }
    };
    assert_eq!(read(GetRange::Bounded(2..5)).await.unwrap(), b"234");
    assert_eq!(read(GetRange::Bounded(8..50)).await.unwrap(), b"89");
    assert_eq!(read(GetRange::Offset(7)).await.unwrap(), b"789");
    assert_eq!(read(GetRange::Suffix(3)).await.unwrap(), b"789");
    assert!(matches!(
        read(GetRange::Offset(10)).await,
        Err(ObjectsError::InvalidRange { size: 10 })
    ));
    let etag = format!("\"{:x}\"", md5::compute(b"0123456789"));
    let cond = Conditions {
        if_none_match: Some(etag.clone()),
        ..Default::default()
    };
    assert!(matches!(
        store.head_object("bkt", "k", cond).await,
        Err(ObjectsError::NotModified { .. })
    ));
    let cond = Conditions {
        if_match: Some("\"other\"".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.head_object("bkt", "k", cond).await,
        Err(ObjectsError::PreconditionFailed { .. })
    ));
    let cond = Conditions {
        if_match: Some(etag),
        ..Default::default()
    };
    store.head_object("bkt", "k", cond).await.unwrap();
}

async fn list(
    store: &EmbeddedStore,
    prefix: &str,
    delimiter: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let page = store
        .list_objects(
            "bkt",
            ListRequest {
                prefix: prefix.into(),
                delimiter: delimiter.map(Into::into),
                start_after: None,
                max_keys: 1000,
            },
        )
        .await
        .unwrap();
    (
        page.objects.into_iter().map(|o| o.key).collect(),
        page.common_prefixes,
    )
}

#[tokio::test]
async fn listing_is_by_key_prefix_in_binary_order() {
    let (_dir, store) = fresh().await;
    for key in [
        "custdata.txt",
        "custdata.txt.1",
        "custdata.txt2",
        "cust/x",
        "a",
        "a/b",
        "a//b",
        "dir/",
        "dir/x/y",
        "dir/z",
        "é",
        "Z",
    ] {
        put(&store, "bkt", key, key.as_bytes()).await;
    }
    let (keys, cps) = list(&store, "custdata.txt", None).await;
    assert_eq!(keys, ["custdata.txt", "custdata.txt.1", "custdata.txt2"]);
    assert!(cps.is_empty());
    let (keys, _) = list(&store, "", None).await;
    assert_eq!(keys.first().map(String::as_str), Some("Z"));
    assert_eq!(keys.last().map(String::as_str), Some("é"));
    let (keys, cps) = list(&store, "", Some("/")).await;
    assert_eq!(
        keys,
        [
            "Z",
            "a",
            "custdata.txt",
            "custdata.txt.1",
            "custdata.txt2",
            "é"
        ]
    );
    assert_eq!(cps, ["a/", "cust/", "dir/"]);
    let (keys, cps) = list(&store, "dir/", Some("/")).await;
    assert_eq!(keys, ["dir/", "dir/z"]);
    assert_eq!(cps, ["dir/x/"]);
    let (keys, cps) = list(&store, "a/", Some("/")).await;
    assert_eq!(keys, ["a/b"]);
    assert_eq!(cps, ["a//"]);
    assert_eq!(get(&store, "bkt", "a//b").await, b"a//b");
}

#[tokio::test]
async fn pagination_resumes_after_keys_and_common_prefixes() {
    let (_dir, store) = fresh().await;
    for key in ["a/1", "a/2", "b", "c/1", "d", "e"] {
        put(&store, "bkt", key, b"x").await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_objects(
                "bkt",
                ListRequest {
                    prefix: String::new(),
                    delimiter: Some("/".into()),
                    start_after: after.clone(),
                    max_keys: 2,
                },
            )
            .await
            .unwrap();
        assert!(page.objects.len() + page.common_prefixes.len() <= 2);
        seen.extend(page.common_prefixes.iter().cloned());
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.is_truncated {
            break;
        }
        after = page.next_marker;
    }
    seen.sort();
    assert_eq!(seen, ["a/", "b", "c/", "d", "e"]);
    // Without a delimiter, start-after is exclusive.
    let page = store
        .list_objects(
            "bkt",
            ListRequest {
                start_after: Some("b".into()),
                max_keys: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["c/1", "d"]);
    assert!(page.is_truncated);
    assert_eq!(page.next_marker.as_deref(), Some("d"));
}

#[tokio::test]
async fn multipart_follows_s3_rules() {
    let (dir, store) = fresh().await;
    let meta = BTreeMap::from([("origin".to_owned(), "test".to_owned())]);
    let id = store
        .create_multipart_upload("bkt", "big", Some("text/csv".into()), meta.clone())
        .await
        .unwrap();
    let big = vec![b'a'; 5 * 1024 * 1024];
    let p1 = store
        .upload_part("bkt", "big", &id, 1, body(&big), None)
        .await
        .unwrap();
    let p2 = store
        .upload_part("bkt", "big", &id, 2, body(b"tail"), None)
        .await
        .unwrap();
    let small = store
        .upload_part("bkt", "big", &id, 3, body(b"small"), None)
        .await
        .unwrap();
    let (_, parts, truncated) = store
        .list_parts("bkt", "big", &id, None, 1000)
        .await
        .unwrap();
    assert_eq!(parts.len(), 3);
    assert!(!truncated);
    let complete = |parts: Vec<(i32, String)>| {
        let store = store.clone();
        let id = id.clone();
        async move {
            store
                .complete_multipart_upload("bkt", "big", &id, parts, true)
                .await
        }
    };
    assert!(matches!(
        complete(vec![(2, p2.etag.clone()), (1, p1.etag.clone())]).await,
        Err(ObjectsError::InvalidPartOrder)
    ));
    assert!(matches!(
        complete(vec![(1, p1.etag.clone()), (4, "x".into())]).await,
        Err(ObjectsError::InvalidPart { part: 4 })
    ));
    assert!(matches!(
        complete(vec![(1, "\"wrong\"".into())]).await,
        Err(ObjectsError::InvalidPart { part: 1 })
    ));
    assert!(matches!(
        complete(vec![(2, p2.etag.clone()), (3, small.etag.clone())]).await,
        Err(ObjectsError::EntityTooSmall { part: 2 })
    ));
    let info = complete(vec![(1, format!("\"{}\"", p1.etag)), (2, p2.etag.clone())])
        .await
        .unwrap();
    let mut md5s = hex::decode(&p1.etag).unwrap();
    md5s.extend(hex::decode(&p2.etag).unwrap());
    assert_eq!(info.etag, format!("{:x}-2", md5::compute(&md5s)));
    assert_eq!(info.size, big.len() as u64 + 4);
    assert_eq!(info.content_type.as_deref(), Some("text/csv"));
    assert_eq!(info.metadata, meta);
    let data = get(&store, "bkt", "big").await;
    assert_eq!(&data[..big.len()], &big[..]);
    assert_eq!(&data[big.len()..], b"tail");
    // Parts (including the unused one) are gone; only the object's blob stays.
    assert_eq!(blob_count(&dir), 1);
    assert!(matches!(
        store.list_parts("bkt", "big", &id, None, 10).await,
        Err(ObjectsError::NoSuchUpload(_))
    ));

    let id2 = store
        .create_multipart_upload("bkt", "other", None, BTreeMap::new())
        .await
        .unwrap();
    store
        .upload_part("bkt", "other", &id2, 1, body(b"x"), None)
        .await
        .unwrap();
    let (uploads, _) = store
        .list_multipart_uploads("bkt", "", None, 10)
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    store
        .abort_multipart_upload("bkt", "other", &id2)
        .await
        .unwrap();
    assert_eq!(blob_count(&dir), 1);
    assert!(matches!(
        store
            .upload_part("bkt", "other", &id2, 1, body(b"x"), None)
            .await,
        Err(ObjectsError::NoSuchUpload(_))
    ));
}

#[tokio::test]
async fn copy_shares_content() {
    let (_dir, store) = fresh().await;
    store.create_bucket("other").await.unwrap();
    put(&store, "bkt", "src", b"payload").await;
    let info = store
        .copy_object(
            "bkt",
            "src",
            "other",
            "dst",
            None,
            Conditions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(info.etag, format!("{:x}", md5::compute(b"payload")));
    store.delete_object("bkt", "src").await.unwrap();
    assert_eq!(get(&store, "other", "dst").await, b"payload");
}

#[tokio::test]
async fn registry_resolves_embedded_and_unknown_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("s3"), &[]).unwrap();
    assert!(matches!(
        registry.store("nope"),
        Err(ObjectsError::NoSuchBucket(b)) if b == "nope"
    ));
    registry.embedded().create_bucket("data").await.unwrap();
    let store = registry.store("data").unwrap();
    store
        .put(&Path::from("x/y.csv"), PutPayload::from_static(b"1|2\n"))
        .await
        .unwrap();
    let got = registry
        .embedded()
        .get_object("data", "x/y.csv", None, Conditions::default())
        .await
        .unwrap();
    assert_eq!(got.info.size, 4);
}

#[tokio::test]
async fn mapped_buckets_are_built_without_contacting_them() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = crate::BucketMapping {
        name: "lake".into(),
        endpoint: Some("http://127.0.0.1:1".into()),
        region: "us-east-1".into(),
        access_key_id: Some("AK".into()),
        secret_access_key: Some("SK".into()),
        session_token: None,
        remote_bucket: "remote".into(),
        path_style: true,
    };
    let registry = Registry::open(&dir.path().join("s3"), &[mapping]).unwrap();
    assert!(registry.is_mapped("lake"));
    assert!(registry.store("lake").is_ok());
}

#[tokio::test]
async fn object_store_adapter_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("s3"), &[]).unwrap();
    registry.embedded().create_bucket("data").await.unwrap();
    // Keys a Path cannot hold exist only through the raw API.
    put(registry.embedded(), "data", "dir/", b"marker").await;
    put(registry.embedded(), "data", "dir//odd", b"odd").await;
    let store = registry.store("data").unwrap();
    let p = |s: &str| Path::parse(s).unwrap();

    store.put(&p("dir/a.csv"), "a".into()).await.unwrap();
    store.put(&p("dir/sub/b.csv"), "bb".into()).await.unwrap();
    store.put(&p("top"), "top".into()).await.unwrap();

    let got = store.get(&p("dir/a.csv")).await.unwrap();
    assert_eq!(got.meta.size, 1);
    assert_eq!(got.bytes().await.unwrap(), Bytes::from_static(b"a"));
    let range = store.get_range(&p("top"), 1..3).await.unwrap();
    assert_eq!(range, Bytes::from_static(b"op"));
    let opts = GetOptions {
        range: Some(GetRange::Suffix(2)),
        ..Default::default()
    };
    let r = store.get_opts(&p("top"), opts).await.unwrap();
    assert_eq!(r.range, 1..3);
    let s: Vec<Bytes> = r.into_stream().try_collect().await.unwrap();
    assert_eq!(s.concat(), b"op");
    assert_eq!(store.head(&p("dir/sub/b.csv")).await.unwrap().size, 2);
    assert!(matches!(
        store.head(&p("missing")).await,
        Err(object_store::Error::NotFound { .. })
    ));

    // Create mode refuses an existing object.
    let create = object_store::PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    assert!(matches!(
        store.put_opts(&p("top"), "x".into(), create.clone()).await,
        Err(object_store::Error::AlreadyExists { .. })
    ));
    store.put_opts(&p("new"), "x".into(), create).await.unwrap();

    let mut listed: Vec<String> = store
        .list(Some(&p("dir")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(listed, ["dir/a.csv", "dir/sub/b.csv"]);
    let all: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert_eq!(all.len(), 4, "{all:?}");

    let delimited = store.list_with_delimiter(Some(&p("dir"))).await.unwrap();
    let objects: Vec<String> = delimited
        .objects
        .iter()
        .map(|m| m.location.to_string())
        .collect();
    let prefixes: Vec<String> = delimited
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(objects, ["dir/a.csv"]);
    assert_eq!(prefixes, ["dir/sub"]);
    let root = store.list_with_delimiter(None).await.unwrap();
    let prefixes: Vec<String> = root
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(prefixes, ["dir"]);

    store.copy(&p("top"), &p("copied")).await.unwrap();
    assert_eq!(
        store
            .get(&p("copied"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        Bytes::from_static(b"top")
    );
    assert!(
        store
            .copy_if_not_exists(&p("top"), &p("copied"))
            .await
            .is_err()
    );

    // Multipart with small parts (object_store callers are not held to 5 MiB).
    let mut upload = store.put_multipart(&p("multi")).await.unwrap();
    let a = upload.put_part("hello ".into());
    let b = upload.put_part("world".into());
    futures::future::try_join(b, a).await.unwrap();
    upload.complete().await.unwrap();
    assert_eq!(
        store.get(&p("multi")).await.unwrap().bytes().await.unwrap(),
        Bytes::from_static(b"hello world")
    );

    let deleted: Vec<Path> = store
        .delete_stream(futures::stream::iter([Ok(p("top")), Ok(p("never"))]).boxed())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(deleted.len(), 2);
    assert!(store.head(&p("top")).await.is_err());
}
