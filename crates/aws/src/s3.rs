//! `ShaleS3`: the `s3s::S3` operations over the registry's embedded buckets.
//! Each handler converts s3s's DTOs to the raw-key API of
//! `shale_objects::EmbeddedStore` and back; `ObjectsError` becomes S3's error
//! code in `s3_err`, the one place that mapping lives. Buckets mapped to an
//! external endpoint answer NotImplemented here (COPY and UNLOAD reach them
//! through the registry's object_store clients).

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use s3s::dto::{self, ETag, ETagCondition, StreamingBlob, Timestamp, TimestampFormat};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use shale_iam::Account;
use shale_objects::object_store::GetRange;
use shale_objects::{
    ByteStream, Conditions, ListRequest, ObjectInfo, ObjectsError, PutOptions, Registry, WriteMode,
};

/// The region Shale reports for every bucket.
pub use shale_common::config::REGION;
/// S3's default and largest page of a listing.
const MAX_KEYS: usize = 1000;

/// The S3 service over the bucket registry; the account authorizes what
/// the access hook cannot (each key of `DeleteObjects`, a copy's source).
#[derive(Clone, Debug)]
pub struct ShaleS3 {
    registry: Registry,
    account: Account,
}

impl ShaleS3 {
    pub fn new(registry: Registry, account: Account) -> ShaleS3 {
        ShaleS3 { registry, account }
    }

    /// The bucket and key of a copy's source, which the signer must be
    /// allowed to read (the access hook authorized only the destination).
    fn readable_source<T>(
        &self,
        req: &S3Request<T>,
        source: &dto::CopySource,
    ) -> S3Result<(String, String)> {
        let (bucket, key) = copy_source(source)?;
        self.authorize(
            req,
            "s3:GetObject",
            &shale_iam::s3_object_arn(&bucket, &key),
        )?;
        Ok((bucket, key))
    }

    /// Refuses unless the request's signer may do `action` on `resource`.
    fn authorize<T>(&self, req: &S3Request<T>, action: &str, resource: &str) -> S3Result<()> {
        let Some(credentials) = &req.credentials else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let token = crate::auth::session_token(&req.headers, &req.uri);
        let identity =
            crate::auth::identity(&self.account, &credentials.access_key, token.as_deref())?;
        crate::auth::authorize(&self.account, &identity, action, resource)
    }

    fn embedded(&self, bucket: &str) -> S3Result<&shale_objects::EmbeddedStore> {
        if self.registry.is_mapped(bucket) {
            return Err(s3_error!(
                NotImplemented,
                "Bucket {bucket} is mapped to an external endpoint; Shale's S3 API serves embedded buckets only."
            ));
        }
        Ok(self.registry.embedded())
    }
}

/// S3's error for an `ObjectsError`. Internal failures are logged here and
/// reported without detail.
fn s3_err(e: ObjectsError) -> S3Error {
    let code = e.s3_code();
    let status = match &e {
        ObjectsError::NotModified { .. } => Some(http::StatusCode::NOT_MODIFIED),
        ObjectsError::AlreadyExists { .. } | ObjectsError::PreconditionFailed { .. } => {
            Some(http::StatusCode::PRECONDITION_FAILED)
        }
        ObjectsError::InvalidRange { .. } => Some(http::StatusCode::RANGE_NOT_SATISFIABLE),
        ObjectsError::Body(_) | ObjectsError::IncompleteBody { .. } => {
            Some(http::StatusCode::BAD_REQUEST)
        }
        _ => None,
    };
    let message = if code == "InternalError" {
        tracing::error!(error = %e, "S3 request failed.");
        "We encountered an internal error. Please try again.".to_owned()
    } else {
        e.to_string()
    };
    let code = S3ErrorCode::from_bytes(code.as_bytes()).unwrap_or(S3ErrorCode::InternalError);
    let mut err = S3Error::with_message(code, message);
    if let Some(status) = status {
        err.set_status_code(status);
    }
    err
}

fn etag(info_etag: &str) -> ETag {
    ETag::Strong(info_etag.to_owned())
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from(std::time::SystemTime::from(t))
}

fn chrono_time(t: &Timestamp) -> Option<DateTime<Utc>> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::DateTime, &mut buf).ok()?;
    let text = String::from_utf8(buf).ok()?;
    DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn condition_text(c: &ETagCondition) -> String {
    match c {
        ETagCondition::Any => "*".to_owned(),
        ETagCondition::ETag(e) => format!("\"{}\"", e.value()),
    }
}

fn conditions(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> Conditions {
    Conditions {
        if_match: if_match.map(condition_text),
        if_none_match: if_none_match.map(condition_text),
        if_modified_since: if_modified_since.and_then(chrono_time),
        if_unmodified_since: if_unmodified_since.and_then(chrono_time),
    }
}

fn get_range(r: &dto::Range) -> GetRange {
    match *r {
        dto::Range::Int {
            first,
            last: Some(last),
        } => GetRange::Bounded(first..last.saturating_add(1)),
        dto::Range::Int { first, last: None } => GetRange::Offset(first),
        dto::Range::Suffix { length } => GetRange::Suffix(length),
    }
}

/// `bytes=a-b` of an UploadPartCopy source.
fn copy_source_range(text: &str) -> S3Result<GetRange> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last."
        )
    };
    let (first, last) = text
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let first: u64 = first.parse().map_err(|_| bad())?;
    let last: u64 = last.parse().map_err(|_| bad())?;
    if last < first {
        return Err(bad());
    }
    Ok(GetRange::Bounded(first..last + 1))
}

fn content_md5(header: Option<&String>) -> S3Result<Option<[u8; 16]>> {
    let Some(text) = header else { return Ok(None) };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| s3_err(ObjectsError::InvalidDigest))?;
    let digest: [u8; 16] = bytes
        .try_into()
        .map_err(|_| s3_err(ObjectsError::InvalidDigest))?;
    Ok(Some(digest))
}

fn body_stream(body: Option<StreamingBlob>) -> ByteStream {
    match body {
        Some(blob) => Box::pin(blob.map_err(std::io::Error::other)),
        None => Box::pin(futures::stream::empty()),
    }
}

fn user_metadata(m: Option<dto::Metadata>) -> BTreeMap<String, String> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

fn dto_metadata(m: &BTreeMap<String, String>) -> Option<dto::Metadata> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn owner() -> dto::Owner {
    dto::Owner {
        display_name: Some("shale".to_owned()),
        id: Some("shale".to_owned()),
    }
}

fn dto_object(o: &ObjectInfo) -> dto::Object {
    dto::Object {
        e_tag: Some(etag(&o.etag)),
        key: Some(o.key.clone()),
        last_modified: Some(timestamp(o.last_modified)),
        size: Some(i64::try_from(o.size).unwrap_or(i64::MAX)),
        storage_class: Some(dto::ObjectStorageClass::from_static(
            dto::ObjectStorageClass::STANDARD,
        )),
        owner: Some(owner()),
        ..Default::default()
    }
}

fn max_keys(requested: Option<i32>) -> usize {
    requested.map_or(MAX_KEYS, |n| usize::try_from(n).unwrap_or(0).min(MAX_KEYS))
}

fn copy_source(src: &dto::CopySource) -> S3Result<(String, String)> {
    match src {
        dto::CopySource::Bucket { bucket, key, .. } => Ok((bucket.to_string(), key.to_string())),
        _ => Err(s3_error!(
            NotImplemented,
            "Only bucket/key copy sources are supported."
        )),
    }
}

/// `encoding-type=url`: keys and prefixes in a listing are percent-encoded
/// (all but unreserved characters and `/`), and clients decode them.
struct KeyEncoding(bool);

impl KeyEncoding {
    fn of(requested: Option<&dto::EncodingType>) -> KeyEncoding {
        KeyEncoding(requested.is_some_and(|e| e.as_str().eq_ignore_ascii_case("url")))
    }

    fn apply(&self, text: String) -> String {
        if !self.0 {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        for b in text.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.apply(t))
    }

    fn objects(&self, objects: &[ObjectInfo]) -> Vec<dto::Object> {
        objects
            .iter()
            .map(|o| {
                let mut obj = dto_object(o);
                obj.key = self.opt(obj.key);
                obj
            })
            .collect()
    }

    fn prefixes(&self, prefixes: Vec<String>) -> Vec<dto::CommonPrefix> {
        prefixes
            .into_iter()
            .map(|p| dto::CommonPrefix {
                prefix: Some(self.apply(p)),
            })
            .collect()
    }
}

/// Continuation tokens are the hex of the key (or common prefix) a page
/// ended with: opaque to clients, exact for any UTF-8 key.
fn encode_token(last: &str) -> String {
    hex::encode(last.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect."
            )
        })
}

#[async_trait::async_trait]
impl S3 for ShaleS3 {
    async fn list_buckets(
        &self,
        _req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let buckets = self
            .registry
            .embedded()
            .list_buckets()
            .into_iter()
            .map(|b| dto::Bucket {
                name: Some(b.name),
                creation_date: Some(timestamp(b.created)),
                bucket_region: Some(REGION.to_owned()),
            })
            .collect();
        Ok(S3Response::new(dto::ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner()),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let bucket = &req.input.bucket;
        self.embedded(bucket)?
            .create_bucket(bucket)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let bucket = &req.input.bucket;
        self.embedded(bucket)?
            .delete_bucket(bucket)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::DeleteBucketOutput {}))
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        let bucket = &req.input.bucket;
        self.embedded(bucket)?.head_bucket(bucket).map_err(s3_err)?;
        Ok(S3Response::new(dto::HeadBucketOutput {
            bucket_region: Some(REGION.to_owned()),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let bucket = &req.input.bucket;
        self.embedded(bucket)?.head_bucket(bucket).map_err(s3_err)?;
        // us-east-1 is reported as an empty LocationConstraint, as S3 does.
        Ok(S3Response::new(dto::GetBucketLocationOutput {
            location_constraint: None,
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let mode = match (&input.if_none_match, &input.if_match) {
            (Some(ETagCondition::Any), _) => WriteMode::Create,
            (_, Some(c)) => WriteMode::IfMatch(condition_text(c)),
            _ => WriteMode::Overwrite,
        };
        let opts = PutOptions {
            content_type: input.content_type,
            metadata: user_metadata(input.metadata),
            content_md5: content_md5(input.content_md5.as_ref())?,
            mode,
        };
        let info = store
            .put_object(&input.bucket, &input.key, body_stream(input.body), opts)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::PutObjectOutput {
            e_tag: Some(etag(&info.etag)),
            size: Some(i64::try_from(info.size).unwrap_or(i64::MAX)),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let cond = conditions(
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        );
        let range = input.range.as_ref().map(get_range);
        let ranged = range.is_some();
        let reader = store
            .get_object(&input.bucket, &input.key, range, cond)
            .await
            .map_err(s3_err)?;
        let info = reader.info.clone();
        let r = reader.range.clone();
        let content_range = ranged.then(|| {
            format!(
                "bytes {}-{}/{}",
                r.start,
                r.end.saturating_sub(1),
                info.size
            )
        });
        Ok(S3Response::new(dto::GetObjectOutput {
            body: Some(StreamingBlob::wrap(reader.into_stream())),
            content_length: Some(i64::try_from(r.end - r.start).unwrap_or(i64::MAX)),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            content_type: input.response_content_type.or(info.content_type),
            e_tag: Some(etag(&info.etag)),
            last_modified: Some(timestamp(info.last_modified)),
            metadata: dto_metadata(&info.metadata),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let cond = conditions(
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        );
        let info = store
            .head_object(&input.bucket, &input.key, cond)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::HeadObjectOutput {
            content_length: Some(i64::try_from(info.size).unwrap_or(i64::MAX)),
            accept_ranges: Some("bytes".to_owned()),
            content_type: info.content_type.clone(),
            e_tag: Some(etag(&info.etag)),
            last_modified: Some(timestamp(info.last_modified)),
            metadata: dto_metadata(&info.metadata),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let input = req.input;
        self.embedded(&input.bucket)?
            .delete_object(&input.bucket, &input.key)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::with_status(
            dto::DeleteObjectOutput::default(),
            http::StatusCode::NO_CONTENT,
        ))
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        let store = self.embedded(&req.input.bucket)?;
        store.head_bucket(&req.input.bucket).map_err(s3_err)?;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in &req.input.delete.objects {
            let arn = shale_iam::s3_object_arn(&req.input.bucket, &object.key);
            if self.authorize(&req, "s3:DeleteObject", &arn).is_err() {
                errors.push(dto::Error {
                    code: Some("AccessDenied".to_owned()),
                    message: Some("Access Denied".to_owned()),
                    key: Some(object.key.clone()),
                    version_id: None,
                });
                continue;
            }
            match store.delete_object(&req.input.bucket, &object.key).await {
                Ok(_) if quiet => {}
                Ok(_) => deleted.push(dto::DeletedObject {
                    key: Some(object.key.clone()),
                    ..Default::default()
                }),
                Err(e) => errors.push(dto::Error {
                    code: Some(e.s3_code().to_owned()),
                    message: Some(e.to_string()),
                    key: Some(object.key.clone()),
                    version_id: None,
                }),
            }
        }
        Ok(S3Response::new(dto::DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        let (src_bucket, src_key) = self.readable_source(&req, &req.input.copy_source)?;
        let input = req.input;
        self.embedded(&src_bucket)?;
        let store = self.embedded(&input.bucket)?;
        let replace = input.metadata_directive.as_ref().is_some_and(|d| {
            d.as_str()
                .eq_ignore_ascii_case(dto::MetadataDirective::REPLACE)
        });
        if !replace && src_bucket == input.bucket && src_key == input.key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata."
            ));
        }
        let cond = Conditions {
            if_match: input.copy_source_if_match.as_ref().map(condition_text),
            if_none_match: input.copy_source_if_none_match.as_ref().map(condition_text),
            if_modified_since: input
                .copy_source_if_modified_since
                .as_ref()
                .and_then(chrono_time),
            if_unmodified_since: input
                .copy_source_if_unmodified_since
                .as_ref()
                .and_then(chrono_time),
        };
        let replacement = replace.then(|| (input.content_type, user_metadata(input.metadata)));
        let info = store
            .copy_object(
                &src_bucket,
                &src_key,
                &input.bucket,
                &input.key,
                replacement,
                cond,
                WriteMode::Overwrite,
            )
            .await
            .map_err(|e| match e {
                // A failed copy-source condition is 412 for copies, never 304.
                ObjectsError::NotModified { bucket, key } => {
                    s3_err(ObjectsError::PreconditionFailed { bucket, key })
                }
                other => s3_err(other),
            })?;
        Ok(S3Response::new(dto::CopyObjectOutput {
            copy_object_result: Some(dto::CopyObjectResult {
                e_tag: Some(etag(&info.etag)),
                last_modified: Some(timestamp(info.last_modified)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let max = max_keys(input.max_keys);
        let page = store
            .list_objects(
                &input.bucket,
                ListRequest {
                    prefix: input.prefix.clone().unwrap_or_default(),
                    delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                    start_after: input.marker.clone().filter(|m| !m.is_empty()),
                    max_keys: max,
                },
            )
            .await
            .map_err(s3_err)?;
        // S3 sends NextMarker only with a delimiter; without one clients use
        // the last key.
        let next_marker = page
            .next_marker
            .clone()
            .filter(|_| page.is_truncated && input.delimiter.is_some());
        let enc = KeyEncoding::of(input.encoding_type.as_ref());
        Ok(S3Response::new(dto::ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(enc.apply(input.prefix.unwrap_or_default())),
            marker: Some(enc.apply(input.marker.unwrap_or_default())),
            max_keys: Some(i32::try_from(max).unwrap_or(i32::MAX)),
            is_truncated: Some(page.is_truncated),
            contents: Some(enc.objects(&page.objects)),
            common_prefixes: Some(enc.prefixes(page.common_prefixes)),
            delimiter: enc.opt(input.delimiter),
            next_marker: enc.opt(next_marker),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let max = max_keys(input.max_keys);
        let start_after = match &input.continuation_token {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone().filter(|s| !s.is_empty()),
        };
        let page = store
            .list_objects(
                &input.bucket,
                ListRequest {
                    prefix: input.prefix.clone().unwrap_or_default(),
                    delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                    start_after,
                    max_keys: max,
                },
            )
            .await
            .map_err(s3_err)?;
        let key_count = page.objects.len() + page.common_prefixes.len();
        let next = page
            .next_marker
            .as_deref()
            .filter(|_| page.is_truncated)
            .map(encode_token);
        let fetch_owner = input.fetch_owner.unwrap_or(false);
        let enc = KeyEncoding::of(input.encoding_type.as_ref());
        Ok(S3Response::new(dto::ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(enc.apply(input.prefix.unwrap_or_default())),
            max_keys: Some(i32::try_from(max).unwrap_or(i32::MAX)),
            key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
            continuation_token: input.continuation_token,
            is_truncated: Some(page.is_truncated),
            next_continuation_token: next,
            contents: Some(
                enc.objects(&page.objects)
                    .into_iter()
                    .map(|o| dto::Object {
                        owner: fetch_owner.then(owner),
                        ..o
                    })
                    .collect(),
            ),
            common_prefixes: Some(enc.prefixes(page.common_prefixes)),
            delimiter: enc.opt(input.delimiter),
            encoding_type: input.encoding_type,
            start_after: enc.opt(input.start_after),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let upload_id = store
            .create_multipart_upload(
                &input.bucket,
                &input.key,
                input.content_type,
                user_metadata(input.metadata),
            )
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let md5 = content_md5(input.content_md5.as_ref())?;
        let part = store
            .upload_part(
                &input.bucket,
                &input.key,
                &input.upload_id,
                input.part_number,
                body_stream(input.body),
                md5,
            )
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::UploadPartOutput {
            e_tag: Some(etag(&part.etag)),
            ..Default::default()
        }))
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        let (src_bucket, src_key) = self.readable_source(&req, &req.input.copy_source)?;
        let input = req.input;
        self.embedded(&src_bucket)?;
        let store = self.embedded(&input.bucket)?;
        let range = input
            .copy_source_range
            .as_deref()
            .map(copy_source_range)
            .transpose()?;
        let cond = Conditions {
            if_match: input.copy_source_if_match.as_ref().map(condition_text),
            if_none_match: input.copy_source_if_none_match.as_ref().map(condition_text),
            if_modified_since: input
                .copy_source_if_modified_since
                .as_ref()
                .and_then(chrono_time),
            if_unmodified_since: input
                .copy_source_if_unmodified_since
                .as_ref()
                .and_then(chrono_time),
        };
        let part = store
            .upload_part_copy(
                &src_bucket,
                &src_key,
                range,
                cond,
                &input.bucket,
                &input.key,
                &input.upload_id,
                input.part_number,
            )
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::UploadPartCopyOutput {
            copy_part_result: Some(dto::CopyPartResult {
                e_tag: Some(etag(&part.etag)),
                last_modified: Some(timestamp(part.last_modified)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let mut parts = Vec::new();
        for part in input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
        {
            let (Some(number), Some(tag)) = (part.part_number, part.e_tag) else {
                return Err(s3_err(ObjectsError::MalformedPartList));
            };
            parts.push((number, tag.value().to_owned()));
        }
        let info = store
            .complete_multipart_upload(&input.bucket, &input.key, &input.upload_id, parts, true)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(etag(&info.etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let input = req.input;
        self.embedded(&input.bucket)?
            .abort_multipart_upload(&input.bucket, &input.key, &input.upload_id)
            .await
            .map_err(s3_err)?;
        Ok(S3Response::with_status(
            dto::AbortMultipartUploadOutput::default(),
            http::StatusCode::NO_CONTENT,
        ))
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let max = max_keys(input.max_parts);
        let (_, parts, truncated) = store
            .list_parts(
                &input.bucket,
                &input.key,
                &input.upload_id,
                input.part_number_marker,
                max,
            )
            .await
            .map_err(s3_err)?;
        let next = parts.last().map(|p| p.part_number).filter(|_| truncated);
        Ok(S3Response::new(dto::ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(i32::try_from(max).unwrap_or(i32::MAX)),
            is_truncated: Some(truncated),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            owner: Some(owner()),
            parts: Some(
                parts
                    .into_iter()
                    .map(|p| dto::Part {
                        e_tag: Some(etag(&p.etag)),
                        last_modified: Some(timestamp(p.last_modified)),
                        part_number: Some(p.part_number),
                        size: Some(i64::try_from(p.size).unwrap_or(i64::MAX)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        let input = req.input;
        let store = self.embedded(&input.bucket)?;
        let max = max_keys(input.max_uploads);
        let after = input
            .key_marker
            .clone()
            .map(|k| (k, input.upload_id_marker.clone().unwrap_or_default()));
        let (uploads, truncated) = store
            .list_multipart_uploads(
                &input.bucket,
                input.prefix.as_deref().unwrap_or_default(),
                after,
                max,
            )
            .await
            .map_err(s3_err)?;
        let last = uploads.last().filter(|_| truncated);
        Ok(S3Response::new(dto::ListMultipartUploadsOutput {
            bucket: Some(input.bucket.clone()),
            is_truncated: Some(truncated),
            key_marker: input.key_marker.clone(),
            upload_id_marker: input.upload_id_marker.clone(),
            next_key_marker: last.map(|u| u.key.clone()),
            next_upload_id_marker: last.map(|u| u.upload_id.clone()),
            max_uploads: Some(i32::try_from(max).unwrap_or(i32::MAX)),
            prefix: input.prefix.clone(),
            uploads: Some(
                uploads
                    .iter()
                    .map(|u| dto::MultipartUpload {
                        initiated: Some(timestamp(u.initiated)),
                        key: Some(u.key.clone()),
                        upload_id: Some(u.upload_id.clone()),
                        owner: Some(owner()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}
