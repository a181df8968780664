//! The S3 operation map: action and resource for each operation, and the
//! cases with no answer.

use crate::{s3_action, s3_authorization, s3_bucket_arn, s3_object_arn};

#[test]
fn operations_map_to_actions_and_resources() {
    const OBJECT: &str = "arn:aws:s3:::b/dir/k.csv";
    const BUCKET: &str = "arn:aws:s3:::b";
    let cases: &[(&str, &str, &str)] = &[
        ("GetObject", "s3:GetObject", OBJECT),
        ("HeadObject", "s3:GetObject", OBJECT),
        ("GetObjectAttributes", "s3:GetObjectAttributes", OBJECT),
        ("SelectObjectContent", "s3:GetObject", OBJECT),
        ("PutObject", "s3:PutObject", OBJECT),
        ("CopyObject", "s3:PutObject", OBJECT),
        ("UploadPartCopy", "s3:PutObject", OBJECT),
        ("CreateMultipartUpload", "s3:PutObject", OBJECT),
        ("UploadPart", "s3:PutObject", OBJECT),
        ("CompleteMultipartUpload", "s3:PutObject", OBJECT),
        ("AbortMultipartUpload", "s3:AbortMultipartUpload", OBJECT),
        ("ListParts", "s3:ListMultipartUploadParts", OBJECT),
        ("DeleteObject", "s3:DeleteObject", OBJECT),
        ("DeleteObjects", "s3:DeleteObject", OBJECT),
        ("GetObjectTagging", "s3:GetObjectTagging", OBJECT),
        ("PutObjectTagging", "s3:PutObjectTagging", OBJECT),
        ("DeleteObjectTagging", "s3:DeleteObjectTagging", OBJECT),
        ("GetObjectAcl", "s3:GetObjectAcl", OBJECT),
        ("PutObjectAcl", "s3:PutObjectAcl", OBJECT),
        ("RestoreObject", "s3:RestoreObject", OBJECT),
        ("ListObjects", "s3:ListBucket", BUCKET),
        ("ListObjectsV2", "s3:ListBucket", BUCKET),
        ("HeadBucket", "s3:ListBucket", BUCKET),
        ("ListObjectVersions", "s3:ListBucketVersions", BUCKET),
        (
            "ListMultipartUploads",
            "s3:ListBucketMultipartUploads",
            BUCKET,
        ),
        ("CreateBucket", "s3:CreateBucket", BUCKET),
        ("DeleteBucket", "s3:DeleteBucket", BUCKET),
        ("GetBucketLocation", "s3:GetBucketLocation", BUCKET),
        ("GetBucketPolicy", "s3:GetBucketPolicy", BUCKET),
        ("PutBucketPolicy", "s3:PutBucketPolicy", BUCKET),
        ("DeleteBucketPolicy", "s3:DeleteBucketPolicy", BUCKET),
        ("GetBucketVersioning", "s3:GetBucketVersioning", BUCKET),
        ("PutBucketVersioning", "s3:PutBucketVersioning", BUCKET),
        ("DeleteBucketTagging", "s3:PutBucketTagging", BUCKET),
        ("GetBucketCors", "s3:GetBucketCORS", BUCKET),
        ("DeleteBucketCors", "s3:PutBucketCORS", BUCKET),
        (
            "DeleteBucketLifecycle",
            "s3:PutLifecycleConfiguration",
            BUCKET,
        ),
        (
            "GetBucketEncryption",
            "s3:GetEncryptionConfiguration",
            BUCKET,
        ),
        (
            "GetObjectLockConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            BUCKET,
        ),
        (
            "DeletePublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            BUCKET,
        ),
    ];
    for (operation, action, resource) in cases {
        assert_eq!(
            s3_authorization(operation, Some("b"), Some("dir/k.csv")),
            Some((*action, (*resource).to_owned())),
            "{operation}"
        );
        assert_eq!(s3_action(operation), Some(*action), "{operation}");
    }
    assert_eq!(
        s3_authorization("ListBuckets", None, None),
        Some(("s3:ListAllMyBuckets", "*".to_owned()))
    );
    assert_eq!(
        s3_authorization("ListBuckets", Some("ignored"), Some("ignored")),
        Some(("s3:ListAllMyBuckets", "*".to_owned()))
    );
}

#[test]
fn operations_without_an_answer() {
    // Unknown operations, and IAM-style names are not s3s operation names.
    for operation in [
        "",
        "Frobnicate",
        "getobject",
        "s3:GetObject",
        "ListObjectsV3",
    ] {
        assert_eq!(
            s3_authorization(operation, Some("b"), Some("k")),
            None,
            "{operation}"
        );
        assert_eq!(s3_action(operation), None, "{operation}");
    }
    // Missing bucket or key.
    assert_eq!(s3_authorization("GetObject", Some("b"), None), None);
    assert_eq!(s3_authorization("GetObject", Some("b"), Some("")), None);
    assert_eq!(s3_authorization("GetObject", None, Some("k")), None);
    assert_eq!(s3_authorization("ListObjectsV2", None, None), None);
    assert_eq!(s3_authorization("ListObjectsV2", Some(""), None), None);
}

#[test]
fn arns() {
    assert_eq!(s3_bucket_arn("condesa"), "arn:aws:s3:::condesa");
    assert_eq!(
        s3_object_arn("condesa", "us zip/ü+%20.txt"),
        "arn:aws:s3:::condesa/us zip/ü+%20.txt"
    );
    // The key is used as given: a key may itself start with a slash.
    assert_eq!(s3_object_arn("b", "/k"), "arn:aws:s3:::b//k");
}
