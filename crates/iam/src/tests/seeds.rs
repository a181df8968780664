//! The policies of the seed documents (`/work/shared/seeds/001`, `003`,
//! `004`), verbatim where the seed prints them, with requests they allow and
//! requests they deny.

use super::{Allow, ImplicitDeny, check, identity, parse};
use crate::{
    ActionElement, Effect, PolicyKind, Principal, Request, ResourceElement, evaluate,
    managed_policy, s3_authorization, trust_allows,
};

/// Seed 001: the trust policy of `my-redshift-service-role`.
const SEED_001_TRUST: &str = r#"{
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "Service": "redshift.amazonaws.com"
                    },
                    "Action": "sts:AssumeRole"
                }
            ]
        }"#;

/// Seed 004: `redshift-s3-write-policy`, for UNLOAD.
const SEED_004_WRITE: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [
       {
          "Sid": "s3export",
          "Action": [
            "s3:PutObject"
          ],
          "Effect": "Allow",
          "Resource": [
            "arn:aws:s3:::condesa", 
            "arn:aws:s3:::condesa/*",
            "arn:aws:s3:::bangkok", 
            "arn:aws:s3:::bangkok/*"
          ] 
        }
      ] 
    }"#;

/// Seed 004: the trust policy of `my-s3-write-role`.
const SEED_004_WRITE_TRUST: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": {
            "Service": "redshift.amazonaws.com"
          },
          "Action": "sts:AssumeRole"
        }
      ] 
    }"#;

/// Seed 004: `rds-s3-import-policy`.
const SEED_004_READ: &str = r#"{
     "Version": "2012-10-17",
     "Statement": [
       {
         "Sid": "s3import",
         "Action": [
           "s3:GetObject",
           "s3:ListBucket"
         ],
         "Effect": "Allow",
         "Resource": [
           "arn:aws:s3:::condesa", 
           "arn:aws:s3:::condesa/*",
           "arn:aws:s3:::bangkok", 
           "arn:aws:s3:::bangkok/*"
         ] 
       }
     ] 
   }"#;

/// Seed 004: the trust policy of `rds-s3-import-role`.
const SEED_004_READ_TRUST: &str = r#"{
     "Version": "2012-10-17",
     "Statement": [
       {
         "Effect": "Allow",
         "Principal": {
            "Service": "rds.amazonaws.com"
          },
         "Action": "sts:AssumeRole"
       }
     ] 
   }"#;

fn service(name: &str) -> Principal {
    Principal::Service(name.to_owned())
}

/// The (action, resource) an S3 operation is checked as.
fn s3(operation: &str, bucket: &str, key: Option<&str>) -> Request {
    let (action, resource) = s3_authorization(operation, Some(bucket), key).unwrap();
    Request::new(action, resource)
}

#[test]
fn seed_001_trust_policy_lets_redshift_assume_the_role() {
    let trust = parse(SEED_001_TRUST, PolicyKind::Trust);
    assert!(trust_allows(
        &trust,
        &service("redshift.amazonaws.com"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &service("ec2.amazonaws.com"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &service("redshift.amazonaws.com"),
        "sts:AssumeRoleWithWebIdentity"
    ));
    assert!(!trust_allows(
        &trust,
        &Principal::Aws("111222333444".to_owned()),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &Principal::Anonymous,
        "sts:AssumeRole"
    ));
}

#[test]
fn seed_001_role_with_s3_full_access_reads_and_writes_the_airflow_bucket() {
    let s3_full = identity(managed_policy("arn:aws:iam::aws:policy/AmazonS3FullAccess").unwrap());
    check(
        &[&s3_full],
        &[
            ("s3:ListBucket", "arn:aws:s3:::airflow-aws", Allow),
            (
                "s3:GetObject",
                "arn:aws:s3:::airflow-aws/data-pipelines/trips.csv",
                Allow,
            ),
            ("s3:PutObject", "arn:aws:s3:::any-bucket/any/key", Allow),
            ("s3:ListAllMyBuckets", "*", Allow),
            (
                "redshift:CreateCluster",
                "arn:aws:redshift:us-east-1:111222333444:cluster:c",
                ImplicitDeny,
            ),
            (
                "iam:CreateUser",
                "arn:aws:iam::111222333444:user/x",
                ImplicitDeny,
            ),
        ],
    );
}

#[test]
fn seed_001_user_policies_together_allow_everything_and_alone_do_not() {
    let admin = identity(managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").unwrap());
    let redshift =
        identity(managed_policy("arn:aws:iam::aws:policy/AmazonRedshiftFullAccess").unwrap());
    let s3_full = identity(managed_policy("arn:aws:iam::aws:policy/AmazonS3FullAccess").unwrap());
    let user = [&admin, &redshift, &s3_full];
    check(
        &user,
        &[
            (
                "iam:CreateAccessKey",
                "arn:aws:iam::111222333444:user/airflow",
                Allow,
            ),
            (
                "s3:GetObject",
                "arn:aws:s3:::airflow-aws/data-pipelines/x",
                Allow,
            ),
            ("redshift-serverless:GetWorkgroup", "*", Allow),
        ],
    );
    check(
        &[&redshift],
        &[
            ("redshift-serverless:CreateWorkgroup", "*", Allow),
            ("redshift:GetClusterCredentials", "*", Allow),
            ("s3:GetObject", "arn:aws:s3:::airflow-aws/x", ImplicitDeny),
        ],
    );
}

#[test]
fn seed_004_write_policy_parses_to_its_statement() {
    let doc = identity(SEED_004_WRITE);
    assert_eq!(doc.statements.len(), 1);
    let st = &doc.statements[0];
    assert_eq!(st.sid.as_deref(), Some("s3export"));
    assert_eq!(st.effect, Effect::Allow);
    assert_eq!(
        st.action,
        ActionElement::Action(vec!["s3:PutObject".into()])
    );
    assert_eq!(
        st.resource,
        Some(ResourceElement::Resource(vec![
            "arn:aws:s3:::condesa".into(),
            "arn:aws:s3:::condesa/*".into(),
            "arn:aws:s3:::bangkok".into(),
            "arn:aws:s3:::bangkok/*".into(),
        ]))
    );
    assert!(st.principal.is_none() && st.conditions.is_empty());
}

#[test]
fn seed_004_write_policy_allows_unload_into_its_buckets_only() {
    let write = identity(SEED_004_WRITE);
    check(
        &[&write],
        &[
            (
                "s3:PutObject",
                "arn:aws:s3:::bangkok/us_zipcode/us_000",
                Allow,
            ),
            ("s3:PutObject", "arn:aws:s3:::condesa/US.txt", Allow),
            (
                "s3:putobject",
                "arn:aws:s3:::bangkok/us_zipcode/us_manifest",
                Allow,
            ),
            // Reads and deletes are not granted.
            (
                "s3:GetObject",
                "arn:aws:s3:::bangkok/us_zipcode/us_000",
                ImplicitDeny,
            ),
            (
                "s3:DeleteObject",
                "arn:aws:s3:::bangkok/us_zipcode/us_000",
                ImplicitDeny,
            ),
            ("s3:ListBucket", "arn:aws:s3:::bangkok", ImplicitDeny),
            // Other buckets, including look-alikes and other capitalisation.
            ("s3:PutObject", "arn:aws:s3:::lima/x", ImplicitDeny),
            (
                "s3:PutObject",
                "arn:aws:s3:::bangkok-archive/x",
                ImplicitDeny,
            ),
            ("s3:PutObject", "arn:aws:s3:::Bangkok/x", ImplicitDeny),
        ],
    );
    // UNLOAD's writes, as the S3 endpoint will see them.
    for operation in [
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    ] {
        let request = s3(operation, "bangkok", Some("us_zipcode/us_0000_part_00"));
        assert_eq!(evaluate(&[&write], &request), Allow, "{operation}");
    }
    for operation in ["GetObject", "HeadObject", "AbortMultipartUpload"] {
        let request = s3(operation, "bangkok", Some("us_zipcode/us_0000_part_00"));
        assert_eq!(evaluate(&[&write], &request), ImplicitDeny, "{operation}");
    }
    let request = s3("ListObjectsV2", "bangkok", None);
    assert_eq!(evaluate(&[&write], &request), ImplicitDeny);
}

#[test]
fn seed_004_write_role_trusts_redshift_and_not_ec2() {
    let trust = parse(SEED_004_WRITE_TRUST, PolicyKind::Trust);
    assert!(trust_allows(
        &trust,
        &service("redshift.amazonaws.com"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &service("ec2.amazonaws.com"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &service("rds.amazonaws.com"),
        "sts:AssumeRole"
    ));
}

#[test]
fn seed_004_read_policy_allows_import_reads_only() {
    let read = identity(SEED_004_READ);
    check(
        &[&read],
        &[
            ("s3:GetObject", "arn:aws:s3:::condesa/US.txt", Allow),
            ("s3:ListBucket", "arn:aws:s3:::condesa", Allow),
            ("s3:ListBucket", "arn:aws:s3:::bangkok", Allow),
            ("s3:PutObject", "arn:aws:s3:::condesa/US.txt", ImplicitDeny),
            (
                "s3:GetObject",
                "arn:aws:s3:::elsewhere/US.txt",
                ImplicitDeny,
            ),
            (
                "s3:GetObjectVersion",
                "arn:aws:s3:::condesa/US.txt",
                ImplicitDeny,
            ),
        ],
    );
    for (operation, key, expected) in [
        ("GetObject", Some("US.txt"), Allow),
        ("HeadObject", Some("US.txt"), Allow),
        ("ListObjectsV2", None, Allow),
        ("ListObjects", None, Allow),
        ("HeadBucket", None, Allow),
        ("PutObject", Some("US.txt"), ImplicitDeny),
        ("DeleteObject", Some("US.txt"), ImplicitDeny),
        ("ListObjectVersions", None, ImplicitDeny),
    ] {
        let request = s3(operation, "condesa", key);
        assert_eq!(evaluate(&[&read], &request), expected, "{operation}");
    }
}

#[test]
fn seed_004_read_role_trusts_rds_and_not_redshift() {
    let trust = parse(SEED_004_READ_TRUST, PolicyKind::Trust);
    assert!(trust_allows(
        &trust,
        &service("rds.amazonaws.com"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(
        &trust,
        &service("redshift.amazonaws.com"),
        "sts:AssumeRole"
    ));
}

#[test]
fn seed_004_write_and_read_policies_combined() {
    let write = identity(SEED_004_WRITE);
    let read = identity(SEED_004_READ);
    check(
        &[&write, &read],
        &[
            ("s3:PutObject", "arn:aws:s3:::bangkok/x", Allow),
            ("s3:GetObject", "arn:aws:s3:::bangkok/x", Allow),
            ("s3:DeleteObject", "arn:aws:s3:::bangkok/x", ImplicitDeny),
        ],
    );
}

/// Seed 003 describes, without printing them, the cross-account setup of
/// AWS's "cross-account access to S3" article: a bucket policy in account A
/// naming a role of account B, and that role's own policy in account B.
const SEED_003_BUCKET_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowAccountBCopyRole",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:role/redshift-copy-role"},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::events-account-a", "arn:aws:s3:::events-account-a/*"]
        }
    ]
}"#;

const SEED_003_ROLE_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::events-account-a", "arn:aws:s3:::events-account-a/*"]
        }
    ]
}"#;

/// Seed 003's Firehose delivery role: only Firehose, and only on behalf of
/// account A (the confused-deputy guard AWS documents).
const SEED_003_FIREHOSE_TRUST: &str = r#"{
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Principal": {"Service": "firehose.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "111111111111"}}
    }
}"#;

#[test]
fn seed_003_cross_account_bucket_policy_names_the_role_of_account_b() {
    let bucket = parse(SEED_003_BUCKET_POLICY, PolicyKind::Resource);
    let role = identity(SEED_003_ROLE_POLICY);
    let session = Principal::Aws(
        "arn:aws:sts::222222222222:assumed-role/redshift-copy-role/lambda-copy".to_owned(),
    );
    let get = Request::new(
        "s3:GetObject",
        "arn:aws:s3:::events-account-a/2024/01/part-0",
    );
    // Cross-account access needs both sides to allow.
    assert_eq!(
        evaluate(&[&bucket], &get.clone().with_principal(session.clone())),
        Allow
    );
    assert_eq!(evaluate(&[&role], &get), Allow);

    let other_role =
        Principal::Aws("arn:aws:sts::222222222222:assumed-role/other-role/x".to_owned());
    let other_account = Principal::Aws("arn:aws:iam::333333333333:root".to_owned());
    for principal in [other_role, other_account, Principal::Anonymous] {
        let request = get.clone().with_principal(principal.clone());
        assert_eq!(
            evaluate(&[&bucket], &request),
            ImplicitDeny,
            "{principal:?}"
        );
    }
    // Without a principal, a statement naming one does not apply.
    assert_eq!(evaluate(&[&bucket], &get), ImplicitDeny);
    let put =
        Request::new("s3:PutObject", "arn:aws:s3:::events-account-a/x").with_principal(session);
    assert_eq!(evaluate(&[&bucket], &put), ImplicitDeny);
}

#[test]
fn seed_003_firehose_trust_requires_the_external_id() {
    let trust = parse(SEED_003_FIREHOSE_TRUST, PolicyKind::Trust);
    let firehose = service("firehose.amazonaws.com");
    // trust_allows has no context, so the condition cannot hold.
    assert!(!trust_allows(&trust, &firehose, "sts:AssumeRole"));
    let assume = Request::new("sts:AssumeRole", "").with_principal(firehose);
    assert_eq!(
        evaluate(
            &[&trust],
            &assume
                .clone()
                .with_context("sts:ExternalId", "111111111111")
        ),
        Allow
    );
    assert_eq!(
        evaluate(
            &[&trust],
            &assume.with_context("sts:ExternalId", "999999999999")
        ),
        ImplicitDeny
    );
}
