//! The managed policies: every one parses as an identity policy, lookups
//! are exact, and each grants what its name says.

use super::{Allow, ImplicitDeny, check, identity};
use crate::{MANAGED_POLICIES, Request, evaluate, managed_policy, s3_authorization};

#[test]
fn every_managed_policy_parses_and_is_found_by_arn() {
    assert!(MANAGED_POLICIES.len() >= 4);
    for policy in MANAGED_POLICIES {
        identity(policy.document);
        assert_eq!(managed_policy(policy.arn), Some(policy.document));
        assert_eq!(
            policy.arn,
            format!("arn:aws:iam::aws:policy/{}", policy.name)
        );
        assert!(!policy.description.is_empty());
    }
    for arn in [
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonRedshiftAllCommandsFullAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    ] {
        assert!(managed_policy(arn).is_some(), "{arn}");
    }
    for arn in [
        "arn:aws:iam::aws:policy/amazons3fullaccess",
        "arn:aws:iam::123456789012:policy/AmazonS3FullAccess",
        "AmazonS3FullAccess",
        "",
    ] {
        assert_eq!(managed_policy(arn), None, "{arn}");
    }
}

fn managed(arn: &str) -> crate::PolicyDocument {
    identity(managed_policy(arn).unwrap())
}

fn decide(
    doc: &crate::PolicyDocument,
    operation: &str,
    bucket: &str,
    key: Option<&str>,
) -> crate::Decision {
    let (action, resource) = s3_authorization(operation, Some(bucket), key).unwrap();
    evaluate(&[doc], &Request::new(action, resource))
}

#[test]
fn s3_read_only_reads_and_never_writes() {
    let doc = managed("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    for (operation, key) in [
        ("GetObject", Some("k")),
        ("HeadObject", Some("k")),
        ("ListObjectsV2", None),
        ("GetBucketLocation", None),
        ("ListMultipartUploads", None),
        ("GetObjectTagging", Some("k")),
    ] {
        assert_eq!(decide(&doc, operation, "b", key), Allow, "{operation}");
    }
    for (operation, key) in [
        ("PutObject", Some("k")),
        ("CopyObject", Some("k")),
        ("UploadPart", Some("k")),
        ("DeleteObject", Some("k")),
        ("AbortMultipartUpload", Some("k")),
        ("CreateBucket", None),
        ("DeleteBucket", None),
        ("PutBucketPolicy", None),
    ] {
        assert_eq!(
            decide(&doc, operation, "b", key),
            ImplicitDeny,
            "{operation}"
        );
    }
    check(
        &[&doc],
        &[
            ("s3:ListAllMyBuckets", "*", Allow),
            ("s3-object-lambda:GetObject", "*", Allow),
            ("s3-object-lambda:WriteGetObjectResponse", "*", ImplicitDeny),
        ],
    );
}

#[test]
fn s3_full_access_is_all_of_s3_and_nothing_else() {
    let doc = managed("arn:aws:iam::aws:policy/AmazonS3FullAccess");
    for (operation, key) in [
        ("PutObject", Some("k")),
        ("DeleteObject", Some("k")),
        ("DeleteBucket", None),
        ("PutBucketPolicy", None),
    ] {
        assert_eq!(decide(&doc, operation, "b", key), Allow, "{operation}");
    }
    check(
        &[&doc],
        &[
            ("s3-object-lambda:WriteGetObjectResponse", "*", Allow),
            ("redshift:GetClusterCredentials", "*", ImplicitDeny),
            ("sts:AssumeRole", "*", ImplicitDeny),
        ],
    );
}

#[test]
fn administrator_access_allows_anything() {
    let doc = managed("arn:aws:iam::aws:policy/AdministratorAccess");
    check(
        &[&doc],
        &[
            ("s3:DeleteBucket", "arn:aws:s3:::b", Allow),
            ("iam:CreateUser", "arn:aws:iam::123456789012:user/u", Allow),
            ("anything:AtAll", "arn:aws:x:::y", Allow),
        ],
    );
}

#[test]
fn redshift_all_commands_reaches_redshift_buckets() {
    let doc = managed("arn:aws:iam::aws:policy/AmazonRedshiftAllCommandsFullAccess");
    assert_eq!(
        decide(&doc, "GetObject", "my-redshift-data", Some("k")),
        Allow
    );
    assert_eq!(
        decide(&doc, "PutObject", "redshift-unload", Some("k")),
        Allow
    );
    assert_eq!(decide(&doc, "ListObjectsV2", "team-redshift", None), Allow);
    assert_eq!(
        decide(&doc, "GetObject", "redshift-downloads", Some("tickit/x")),
        Allow
    );
    assert_eq!(decide(&doc, "GetObject", "mydata", Some("k")), ImplicitDeny);
    assert_eq!(
        decide(&doc, "DeleteBucket", "my-redshift-data", None),
        ImplicitDeny
    );
    // Objects elsewhere are readable when tagged redshift=true.
    let tagged = Request::new("s3:GetObject", "arn:aws:s3:::mydata/k")
        .with_context("s3:ExistingObjectTag/redshift", "true");
    assert_eq!(evaluate(&[&doc], &tagged), Allow);
}
