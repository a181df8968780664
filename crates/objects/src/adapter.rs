//! `BucketStore`: one embedded bucket as an `object_store::ObjectStore`, the
//! interface COPY, UNLOAD and the pipelines use.
//!
//! **Key mapping.** An object_store `Path` is the raw S3 key itself
//! (`Path::as_ref()`), so every key a `Path` can hold round-trips exactly.
//! A `Path` cannot hold every S3 key: it has no empty segments (`a//b`), no
//! leading or trailing `/` (`dir/`), and no `.` or `..` segments. Such keys
//! are skipped by `list` and `list_with_delimiter` (they are still reachable
//! through the raw-key API and the S3 endpoint), and common prefixes are
//! reported without their trailing `/`, as object_store expects.
//!
//! Listing follows object_store's contract: prefixes match whole segments
//! (`a/b` lists `a/b/x` but not `a/bc`). COPY's "key prefix, not folder"
//! matching uses `EmbeddedStore::list_objects` or lists the parent and
//! filters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyMode, CopyOptions, GetOptions, GetResult,
    GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use crate::ObjectsError;
use crate::embedded::{
    self, ByteStream, Conditions, EmbeddedStore, ListRequest, ObjectInfo, WriteMode,
};

const STORE: &str = "Shale";

/// One embedded bucket seen through object_store.
#[derive(Debug, Clone)]
pub struct BucketStore {
    store: EmbeddedStore,
    bucket: String,
}

impl BucketStore {
    pub(crate) fn new(store: EmbeddedStore, bucket: String) -> BucketStore {
        BucketStore { store, bucket }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl std::fmt::Display for BucketStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shale(s3://{})", self.bucket)
    }
}

/// The `Path` for a raw key, if one represents it exactly.
pub fn key_to_path(key: &str) -> Option<Path> {
    Path::parse(key).ok().filter(|p| p.as_ref() == key)
}

fn to_os_error(e: ObjectsError) -> object_store::Error {
    match e {
        ObjectsError::NoSuchKey {
            ref bucket,
            ref key,
        } => object_store::Error::NotFound {
            path: format!("{bucket}/{key}"),
            source: Box::new(e),
        },
        ObjectsError::NoSuchBucket(ref bucket) => object_store::Error::NotFound {
            path: bucket.clone(),
            source: Box::new(e),
        },
        ObjectsError::AlreadyExists { ref key, .. } => object_store::Error::AlreadyExists {
            path: key.clone(),
            source: Box::new(e),
        },
        ObjectsError::PreconditionFailed { ref key, .. } => object_store::Error::Precondition {
            path: key.clone(),
            source: Box::new(e),
        },
        ObjectsError::NotModified { ref key, .. } => object_store::Error::NotModified {
            path: key.clone(),
            source: Box::new(e),
        },
        other => object_store::Error::Generic {
            store: STORE,
            source: Box::new(other),
        },
    }
}

fn meta(info: &ObjectInfo, location: Path) -> ObjectMeta {
    ObjectMeta {
        location,
        last_modified: info.last_modified,
        size: info.size,
        e_tag: Some(format!("\"{}\"", info.etag)),
        version: None,
    }
}

fn payload_stream(payload: PutPayload) -> ByteStream {
    Box::pin(futures::stream::iter(payload.into_iter().map(Ok)))
}

fn split_attributes(attrs: &Attributes) -> (Option<String>, BTreeMap<String, String>) {
    let mut content_type = None;
    let mut metadata = BTreeMap::new();
    for (k, v) in attrs {
        match k {
            Attribute::ContentType => content_type = Some(v.as_ref().to_owned()),
            Attribute::Metadata(name) => {
                metadata.insert(name.to_ascii_lowercase(), v.as_ref().to_owned());
            }
            _ => {}
        }
    }
    (content_type, metadata)
}

fn attributes(info: &ObjectInfo) -> Attributes {
    let mut attrs = Attributes::new();
    if let Some(ct) = &info.content_type {
        attrs.insert(Attribute::ContentType, AttributeValue::from(ct.clone()));
    }
    for (k, v) in &info.metadata {
        attrs.insert(
            Attribute::Metadata(k.clone().into()),
            AttributeValue::from(v.clone()),
        );
    }
    attrs
}

fn strip_quotes(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

#[async_trait]
impl ObjectStore for BucketStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let mode = match opts.mode {
            PutMode::Overwrite => WriteMode::Overwrite,
            PutMode::Create => WriteMode::Create,
            PutMode::Update(v) => WriteMode::IfMatch(
                v.e_tag
                    .map(|e| strip_quotes(&e))
                    .unwrap_or_else(|| "\u{0}no-etag".to_owned()),
            ),
        };
        let (content_type, metadata) = split_attributes(&opts.attributes);
        let info = self
            .store
            .put_object(
                &self.bucket,
                location.as_ref(),
                payload_stream(payload),
                embedded::PutOptions {
                    content_type,
                    metadata,
                    content_md5: None,
                    mode,
                },
            )
            .await
            .map_err(to_os_error)?;
        Ok(PutResult {
            e_tag: Some(format!("\"{}\"", info.etag)),
            version: None,
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let (content_type, metadata) = split_attributes(&opts.attributes);
        let upload_id = self
            .store
            .create_multipart_upload(&self.bucket, location.as_ref(), content_type, metadata)
            .await
            .map_err(to_os_error)?;
        Ok(Box::new(Upload {
            state: Arc::new(UploadState {
                store: self.store.clone(),
                bucket: self.bucket.clone(),
                key: location.as_ref().to_owned(),
                upload_id,
                etags: std::sync::Mutex::new(BTreeMap::new()),
            }),
            next_part: AtomicI32::new(1),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let conditions = Conditions {
            if_match: options.if_match.clone(),
            if_none_match: options.if_none_match.clone(),
            if_modified_since: options.if_modified_since,
            if_unmodified_since: options.if_unmodified_since,
        };
        let range = if options.head {
            None
        } else {
            options.range.clone()
        };
        let reader = self
            .store
            .get_object(&self.bucket, location.as_ref(), range, conditions)
            .await
            .map_err(to_os_error)?;
        let meta = meta(&reader.info, location.clone());
        let attributes = attributes(&reader.info);
        let range = if options.head {
            0..reader.info.size
        } else {
            reader.range.clone()
        };
        let (file, path) = reader.into_file();
        Ok(GetResult {
            payload: GetResultPayload::File(file, path),
            meta,
            range,
            attributes,
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let this = self.clone();
        locations
            .and_then(move |path| {
                let this = this.clone();
                async move {
                    this.store
                        .delete_object(&this.bucket, path.as_ref())
                        .await
                        .map_err(to_os_error)?;
                    Ok(path)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let prefix = match prefix {
            Some(p) if !p.as_ref().is_empty() => format!("{}/", p.as_ref()),
            _ => String::new(),
        };
        let this = self.clone();
        // Pages of a thousand keys, fetched as the stream is consumed.
        futures::stream::try_unfold(Some(None::<String>), move |state| {
            let this = this.clone();
            let prefix = prefix.clone();
            async move {
                let Some(after) = state else {
                    return Ok::<_, object_store::Error>(None);
                };
                let page = this
                    .store
                    .list_objects(
                        &this.bucket,
                        ListRequest {
                            prefix,
                            delimiter: None,
                            start_after: after,
                            max_keys: 1000,
                        },
                    )
                    .await
                    .map_err(to_os_error)?;
                let next = page.is_truncated.then_some(page.next_marker);
                let metas: Vec<object_store::Result<ObjectMeta>> = page
                    .objects
                    .iter()
                    .filter_map(|o| key_to_path(&o.key).map(|p| Ok(meta(o, p))))
                    .collect();
                Ok(Some((futures::stream::iter(metas), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = match prefix {
            Some(p) if !p.as_ref().is_empty() => format!("{}/", p.as_ref()),
            _ => String::new(),
        };
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        let mut after = None;
        loop {
            let page = self
                .store
                .list_objects(
                    &self.bucket,
                    ListRequest {
                        prefix: prefix.clone(),
                        delimiter: Some("/".to_owned()),
                        start_after: after,
                        max_keys: 1000,
                    },
                )
                .await
                .map_err(to_os_error)?;
            result.objects.extend(
                page.objects
                    .iter()
                    .filter_map(|o| key_to_path(&o.key).map(|p| meta(o, p))),
            );
            result.common_prefixes.extend(
                page.common_prefixes
                    .iter()
                    .filter_map(|cp| cp.strip_suffix('/').and_then(key_to_path)),
            );
            if !page.is_truncated {
                return Ok(result);
            }
            after = page.next_marker;
        }
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let mode = match options.mode {
            CopyMode::Overwrite => WriteMode::Overwrite,
            CopyMode::Create => WriteMode::Create,
        };
        self.store
            .copy_object(
                &self.bucket,
                from.as_ref(),
                &self.bucket,
                to.as_ref(),
                None,
                Conditions::default(),
                mode,
            )
            .await
            .map_err(to_os_error)?;
        Ok(())
    }
}

/// A multipart upload through object_store. Parts are numbered in the order
/// `put_part` is called and may finish in any order; object_store callers
/// send parts of any size, so S3's 5 MiB minimum is not applied here.
#[derive(Debug)]
struct Upload {
    state: Arc<UploadState>,
    next_part: AtomicI32,
}

#[derive(Debug)]
struct UploadState {
    store: EmbeddedStore,
    bucket: String,
    key: String,
    upload_id: String,
    etags: std::sync::Mutex<BTreeMap<i32, String>>,
}

#[async_trait]
impl MultipartUpload for Upload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let number = self.next_part.fetch_add(1, Ordering::Relaxed);
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let part = state
                .store
                .upload_part(
                    &state.bucket,
                    &state.key,
                    &state.upload_id,
                    number,
                    payload_stream(data),
                    None,
                )
                .await
                .map_err(to_os_error)?;
            state
                .etags
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(number, part.etag);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let parts: Vec<(i32, String)> = self
            .state
            .etags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(n, e)| (*n, e.clone()))
            .collect();
        let info = if parts.is_empty() {
            // An upload with no parts is an empty object.
            self.state
                .store
                .abort_multipart_upload(&self.state.bucket, &self.state.key, &self.state.upload_id)
                .await
                .map_err(to_os_error)?;
            self.state
                .store
                .put_object(
                    &self.state.bucket,
                    &self.state.key,
                    Box::pin(futures::stream::empty()),
                    embedded::PutOptions::default(),
                )
                .await
                .map_err(to_os_error)?
        } else {
            self.state
                .store
                .complete_multipart_upload(
                    &self.state.bucket,
                    &self.state.key,
                    &self.state.upload_id,
                    parts,
                    false,
                )
                .await
                .map_err(to_os_error)?
        };
        Ok(PutResult {
            e_tag: Some(format!("\"{}\"", info.etag)),
            version: None,
        })
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.state
            .store
            .abort_multipart_upload(&self.state.bucket, &self.state.key, &self.state.upload_id)
            .await
            .map_err(to_os_error)
    }
}
