//! The IAM action and resource of each S3 API operation, as AWS's
//! "Actions, resources, and condition keys for Amazon S3" (the Service
//! Authorization Reference) defines them, keyed by the operation names s3s
//! uses (`GetObject`, `ListObjectsV2`, ...).
//!
//! Three kinds of resource: the account (`*`: `ListBuckets`), a bucket
//! (`arn:aws:s3:::bucket`: listing, bucket configuration) and an object
//! (`arn:aws:s3:::bucket/key`: reads, writes, multipart uploads, object
//! tags and ACLs). Several operations share an action: `HeadObject` is
//! `s3:GetObject`, the multipart steps are `s3:PutObject`, `HeadBucket` is
//! `s3:ListBucket`, deleting most bucket configurations is the `Put...`
//! action. Versioned variants (`s3:GetObjectVersion` when a `versionId` is
//! given) are not distinguished here.

/// What an operation's resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No resource: `*`.
    Account,
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
}

/// The IAM action an S3 operation is authorized as, and its resource kind.
fn operation(name: &str) -> Option<(&'static str, Scope)> {
    use Scope::{Account, Bucket, Object};
    Some(match name {
        // The account.
        "ListBuckets" => ("s3:ListAllMyBuckets", Account),

        // Objects: reads.
        "GetObject" | "HeadObject" | "SelectObjectContent" => ("s3:GetObject", Object),
        // AWS also requires s3:GetObject for this one; callers that want
        // both check GetObject too.
        "GetObjectAttributes" => ("s3:GetObjectAttributes", Object),
        "GetObjectAcl" => ("s3:GetObjectAcl", Object),
        "GetObjectTagging" => ("s3:GetObjectTagging", Object),
        "GetObjectRetention" => ("s3:GetObjectRetention", Object),
        "GetObjectLegalHold" => ("s3:GetObjectLegalHold", Object),
        "GetObjectTorrent" => ("s3:GetObjectTorrent", Object),
        // Objects: writes. CopyObject and UploadPartCopy are authorized on
        // the destination; the source needs s3:GetObject as well.
        "PutObject"
        | "PostObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload" => ("s3:PutObject", Object),
        "PutObjectAcl" => ("s3:PutObjectAcl", Object),
        "PutObjectTagging" => ("s3:PutObjectTagging", Object),
        "DeleteObjectTagging" => ("s3:DeleteObjectTagging", Object),
        "PutObjectRetention" => ("s3:PutObjectRetention", Object),
        "PutObjectLegalHold" => ("s3:PutObjectLegalHold", Object),
        "RestoreObject" => ("s3:RestoreObject", Object),
        // DeleteObjects is authorized per key it names.
        "DeleteObject" | "DeleteObjects" => ("s3:DeleteObject", Object),
        "AbortMultipartUpload" => ("s3:AbortMultipartUpload", Object),
        "ListParts" => ("s3:ListMultipartUploadParts", Object),

        // Buckets: listing and life.
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => ("s3:ListBucket", Bucket),
        "ListObjectVersions" => ("s3:ListBucketVersions", Bucket),
        "ListMultipartUploads" => ("s3:ListBucketMultipartUploads", Bucket),
        "CreateBucket" => ("s3:CreateBucket", Bucket),
        "DeleteBucket" => ("s3:DeleteBucket", Bucket),
        "GetBucketLocation" => ("s3:GetBucketLocation", Bucket),
        // Buckets: configuration.
        "GetBucketPolicy" => ("s3:GetBucketPolicy", Bucket),
        "PutBucketPolicy" => ("s3:PutBucketPolicy", Bucket),
        "DeleteBucketPolicy" => ("s3:DeleteBucketPolicy", Bucket),
        "GetBucketPolicyStatus" => ("s3:GetBucketPolicyStatus", Bucket),
        "GetBucketAcl" => ("s3:GetBucketAcl", Bucket),
        "PutBucketAcl" => ("s3:PutBucketAcl", Bucket),
        "GetBucketVersioning" => ("s3:GetBucketVersioning", Bucket),
        "PutBucketVersioning" => ("s3:PutBucketVersioning", Bucket),
        "GetBucketTagging" => ("s3:GetBucketTagging", Bucket),
        "PutBucketTagging" | "DeleteBucketTagging" => ("s3:PutBucketTagging", Bucket),
        "GetBucketCors" => ("s3:GetBucketCORS", Bucket),
        "PutBucketCors" | "DeleteBucketCors" => ("s3:PutBucketCORS", Bucket),
        "GetBucketLifecycleConfiguration" => ("s3:GetLifecycleConfiguration", Bucket),
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            ("s3:PutLifecycleConfiguration", Bucket)
        }
        "GetBucketEncryption" => ("s3:GetEncryptionConfiguration", Bucket),
        "PutBucketEncryption" | "DeleteBucketEncryption" => {
            ("s3:PutEncryptionConfiguration", Bucket)
        }
        "GetBucketWebsite" => ("s3:GetBucketWebsite", Bucket),
        "PutBucketWebsite" => ("s3:PutBucketWebsite", Bucket),
        "DeleteBucketWebsite" => ("s3:DeleteBucketWebsite", Bucket),
        "GetBucketNotificationConfiguration" => ("s3:GetBucketNotification", Bucket),
        "PutBucketNotificationConfiguration" => ("s3:PutBucketNotification", Bucket),
        "GetBucketLogging" => ("s3:GetBucketLogging", Bucket),
        "PutBucketLogging" => ("s3:PutBucketLogging", Bucket),
        "GetObjectLockConfiguration" => ("s3:GetBucketObjectLockConfiguration", Bucket),
        "PutObjectLockConfiguration" => ("s3:PutBucketObjectLockConfiguration", Bucket),
        "GetPublicAccessBlock" => ("s3:GetBucketPublicAccessBlock", Bucket),
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => {
            ("s3:PutBucketPublicAccessBlock", Bucket)
        }
        "GetBucketOwnershipControls" => ("s3:GetBucketOwnershipControls", Bucket),
        "PutBucketOwnershipControls" | "DeleteBucketOwnershipControls" => {
            ("s3:PutBucketOwnershipControls", Bucket)
        }
        "GetBucketRequestPayment" => ("s3:GetBucketRequestPayment", Bucket),
        "PutBucketRequestPayment" => ("s3:PutBucketRequestPayment", Bucket),
        "GetBucketAccelerateConfiguration" => ("s3:GetAccelerateConfiguration", Bucket),
        "PutBucketAccelerateConfiguration" => ("s3:PutAccelerateConfiguration", Bucket),
        "GetBucketReplication" => ("s3:GetReplicationConfiguration", Bucket),
        "PutBucketReplication" | "DeleteBucketReplication" => {
            ("s3:PutReplicationConfiguration", Bucket)
        }
        "GetBucketAnalyticsConfiguration" | "ListBucketAnalyticsConfigurations" => {
            ("s3:GetAnalyticsConfiguration", Bucket)
        }
        "PutBucketAnalyticsConfiguration" | "DeleteBucketAnalyticsConfiguration" => {
            ("s3:PutAnalyticsConfiguration", Bucket)
        }
        "GetBucketInventoryConfiguration" | "ListBucketInventoryConfigurations" => {
            ("s3:GetInventoryConfiguration", Bucket)
        }
        "PutBucketInventoryConfiguration" | "DeleteBucketInventoryConfiguration" => {
            ("s3:PutInventoryConfiguration", Bucket)
        }
        "GetBucketMetricsConfiguration" | "ListBucketMetricsConfigurations" => {
            ("s3:GetMetricsConfiguration", Bucket)
        }
        "PutBucketMetricsConfiguration" | "DeleteBucketMetricsConfiguration" => {
            ("s3:PutMetricsConfiguration", Bucket)
        }
        "GetBucketIntelligentTieringConfiguration"
        | "ListBucketIntelligentTieringConfigurations" => {
            ("s3:GetIntelligentTieringConfiguration", Bucket)
        }
        "PutBucketIntelligentTieringConfiguration"
        | "DeleteBucketIntelligentTieringConfiguration" => {
            ("s3:PutIntelligentTieringConfiguration", Bucket)
        }
        "CreateBucketMetadataTableConfiguration" => {
            ("s3:CreateBucketMetadataTableConfiguration", Bucket)
        }
        "GetBucketMetadataTableConfiguration" => ("s3:GetBucketMetadataTableConfiguration", Bucket),
        "DeleteBucketMetadataTableConfiguration" => {
            ("s3:DeleteBucketMetadataTableConfiguration", Bucket)
        }
        _ => return None,
    })
}

/// The IAM action S3 operation `operation` (an s3s operation name such as
/// `GetObject`) is authorized as, whatever its resource.
pub fn s3_action(operation: &str) -> Option<&'static str> {
    self::operation(operation).map(|(action, _)| action)
}

/// The IAM action and resource ARN to authorize the S3 operation
/// `operation` on `bucket` and `key`.
///
/// `None` for an operation this table doesn't know, or when the operation
/// needs a bucket (or a bucket and a key) and none is given. The key of a
/// bucket-level operation is ignored. `DeleteObjects` is answered per key:
/// call it once for each key the request names.
///
/// ```
/// use shale_iam::s3_authorization;
///
/// assert_eq!(
///     s3_authorization("HeadObject", Some("b"), Some("dir/k.csv")),
///     Some(("s3:GetObject", "arn:aws:s3:::b/dir/k.csv".to_owned())),
/// );
/// assert_eq!(
///     s3_authorization("ListObjectsV2", Some("b"), None),
///     Some(("s3:ListBucket", "arn:aws:s3:::b".to_owned())),
/// );
/// ```
pub fn s3_authorization(
    operation: &str,
    bucket: Option<&str>,
    key: Option<&str>,
) -> Option<(&'static str, String)> {
    let (action, scope) = self::operation(operation)?;
    let bucket = bucket.filter(|b| !b.is_empty());
    let resource = match scope {
        Scope::Account => "*".to_owned(),
        Scope::Bucket => s3_bucket_arn(bucket?),
        Scope::Object => s3_object_arn(bucket?, key.filter(|k| !k.is_empty())?),
    };
    Some((action, resource))
}

/// The ARN of a bucket: `arn:aws:s3:::bucket`.
pub fn s3_bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The ARN of an object: `arn:aws:s3:::bucket/key`, the key as is (not
/// URL-encoded).
pub fn s3_object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}
