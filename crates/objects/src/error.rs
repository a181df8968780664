//! `ObjectsError`: everything the bucket registry can refuse or fail at, with
//! S3's error code for each variant (the S3 layer maps them one to one).

use std::path::PathBuf;

/// What went wrong reaching a bucket or an object. Variants are sorted by
/// phase: names, buckets, objects, multipart uploads, then I/O and bugs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectsError {
    #[error("invalid bucket name {name:?}: {reason}")]
    InvalidBucketName { name: String, reason: &'static str },
    #[error("invalid object key: {reason}")]
    InvalidKey { reason: &'static str },
    #[error("the specified bucket does not exist: {0}")]
    NoSuchBucket(String),
    #[error("bucket {0:?} already exists and is owned by you")]
    BucketAlreadyOwnedByYou(String),
    #[error("bucket {0:?} is not empty")]
    BucketNotEmpty(String),
    #[error(
        "bucket {0:?} is mapped to an external endpoint; this operation needs an embedded bucket"
    )]
    NotEmbedded(String),
    #[error("the specified key does not exist: s3://{bucket}/{key}")]
    NoSuchKey { bucket: String, key: String },
    #[error("an object already exists at s3://{bucket}/{key}")]
    AlreadyExists { bucket: String, key: String },
    #[error("a precondition given for s3://{bucket}/{key} does not hold")]
    PreconditionFailed { bucket: String, key: String },
    #[error("s3://{bucket}/{key} was not modified")]
    NotModified { bucket: String, key: String },
    #[error("the requested range is not satisfiable for an object of {size} bytes")]
    InvalidRange { size: u64 },
    #[error("the Content-MD5 sent does not match the content received")]
    BadDigest,
    #[error("the Content-MD5 sent is not a valid base64-encoded MD5 digest")]
    InvalidDigest,
    #[error("the object is larger than the maximum of {max} bytes")]
    EntityTooLarge { max: u64 },
    #[error("the request body ended before the {expected} bytes announced (got {got})")]
    IncompleteBody { expected: u64, got: u64 },
    #[error("reading the request body failed: {0}")]
    Body(#[source] std::io::Error),
    #[error("the specified multipart upload does not exist: {0}")]
    NoSuchUpload(String),
    #[error("part number {0} is not between 1 and 10000")]
    InvalidPartNumber(i64),
    #[error("part {part} was not uploaded or its ETag does not match")]
    InvalidPart { part: i32 },
    #[error("the list of parts was not in ascending order")]
    InvalidPartOrder,
    #[error("part {part} is smaller than the minimum of 5 MiB for all parts but the last")]
    EntityTooSmall { part: i32 },
    #[error("a multipart upload must name at least one part")]
    MalformedPartList,
    #[error("cannot reach mapped bucket {bucket:?}: {source}")]
    Mapping {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bucket index: {0}")]
    Index(#[from] rusqlite::Error),
    #[error("internal error in the bucket registry: {0}")]
    Internal(String),
}

impl ObjectsError {
    /// S3's error code for this error, as the S3 API reports it.
    pub fn s3_code(&self) -> &'static str {
        match self {
            Self::InvalidBucketName { .. } => "InvalidBucketName",
            Self::InvalidKey { reason } if reason.contains("long") => "KeyTooLongError",
            Self::InvalidKey { .. } => "InvalidArgument",
            Self::NoSuchBucket(_) => "NoSuchBucket",
            Self::BucketAlreadyOwnedByYou(_) => "BucketAlreadyOwnedByYou",
            Self::BucketNotEmpty(_) => "BucketNotEmpty",
            Self::NotEmbedded(_) => "NotImplemented",
            Self::NoSuchKey { .. } => "NoSuchKey",
            Self::AlreadyExists { .. } | Self::PreconditionFailed { .. } => "PreconditionFailed",
            Self::NotModified { .. } => "NotModified",
            Self::InvalidRange { .. } => "InvalidRange",
            Self::BadDigest => "BadDigest",
            Self::InvalidDigest => "InvalidDigest",
            Self::EntityTooLarge { .. } => "EntityTooLarge",
            Self::IncompleteBody { .. } => "IncompleteBody",
            Self::Body(_) => "IncompleteBody",
            Self::NoSuchUpload(_) => "NoSuchUpload",
            Self::InvalidPartNumber(_) => "InvalidArgument",
            Self::InvalidPart { .. } => "InvalidPart",
            Self::InvalidPartOrder => "InvalidPartOrder",
            Self::EntityTooSmall { .. } => "EntityTooSmall",
            Self::MalformedPartList => "MalformedXML",
            Self::Mapping { .. } | Self::Io { .. } | Self::Index(_) | Self::Internal(_) => {
                "InternalError"
            }
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            context,
            path,
            source,
        }
    }
}
