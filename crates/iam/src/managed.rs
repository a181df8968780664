//! The AWS managed policies users attach by ARN
//! (`aws iam attach-role-policy --policy-arn
//! arn:aws:iam::aws:policy/AmazonS3FullAccess`), as JSON text that callers
//! parse with [`PolicyDocument::parse`](crate::PolicyDocument::parse) and
//! [`PolicyKind::Identity`](crate::PolicyKind::Identity).
//!
//! The S3 and administrator policies are AWS's current default versions.
//! The Redshift ones are subsets, kept to what Shale can act on (S3 and the
//! Redshift APIs); each says so in its description.

/// One AWS managed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The policy name (`AmazonS3FullAccess`).
    pub name: &'static str,
    /// The policy ARN (`arn:aws:iam::aws:policy/AmazonS3FullAccess`).
    pub arn: &'static str,
    /// AWS's description, plus how this copy differs from AWS's, if it does.
    pub description: &'static str,
    /// The policy document, JSON.
    pub document: &'static str,
}

/// Every managed policy Shale knows, by name.
pub const MANAGED_POLICIES: &[ManagedPolicy] = &[
    ManagedPolicy {
        name: "AdministratorAccess",
        arn: "arn:aws:iam::aws:policy/AdministratorAccess",
        description: "Provides full access to AWS services and resources.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*"
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "AmazonRedshiftAllCommandsFullAccess",
        arn: "arn:aws:iam::aws:policy/AmazonRedshiftAllCommandsFullAccess",
        // AWS's version also grants SageMaker, Glue, Lambda, DynamoDB, EMR,
        // KMS and CloudWatch Logs permissions for ML, federated and Spectrum
        // queries; Shale has none of those, so this copy keeps only the S3
        // statements COPY, UNLOAD and CREATE MODEL use, scoped like AWS's to
        // buckets whose names contain "redshift".
        description: "Permissions to run SQL commands that copy, load, unload, query and analyze data in Amazon Redshift. Shale's copy keeps only the S3 permissions (on buckets whose names contain \"redshift\").",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:GetBucketAcl",
                "s3:GetBucketCors",
                "s3:GetEncryptionConfiguration",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListAllMyBuckets",
                "s3:ListMultipartUploadParts",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
                "s3:PutBucketAcl",
                "s3:PutBucketCors",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:CreateBucket"
            ],
            "Resource": [
                "arn:aws:s3:::redshift-downloads",
                "arn:aws:s3:::redshift-downloads/*",
                "arn:aws:s3:::*redshift*",
                "arn:aws:s3:::*redshift*/*"
            ]
        },
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "s3:ExistingObjectTag/redshift": "true"
                }
            }
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "AmazonRedshiftFullAccess",
        arn: "arn:aws:iam::aws:policy/AmazonRedshiftFullAccess",
        // AWS's version also grants EC2, SNS, CloudWatch, tagging, Secrets
        // Manager and service-linked-role permissions for the console.
        description: "Provides full access to Amazon Redshift via the AWS Management Console. Shale's copy keeps only the Redshift, Redshift Serverless, Redshift Data API and query editor permissions.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "redshift:*",
                "redshift-serverless:*",
                "redshift-data:*",
                "sqlworkbench:*"
            ],
            "Resource": "*"
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "AmazonS3FullAccess",
        arn: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        description: "Provides full access to all buckets via the AWS Management Console.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:*",
                "s3-object-lambda:*"
            ],
            "Resource": "*"
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "AmazonS3ReadOnlyAccess",
        arn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        description: "Provides read only access to all buckets via the AWS Management Console.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:Get*",
                "s3:List*",
                "s3:Describe*",
                "s3-object-lambda:Get*",
                "s3-object-lambda:List*"
            ],
            "Resource": "*"
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "IAMFullAccess",
        arn: "arn:aws:iam::aws:policy/IAMFullAccess",
        description: "Provides full access to IAM via the AWS Management Console.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "iam:*",
                "organizations:DescribeAccount",
                "organizations:DescribeOrganization",
                "organizations:DescribeOrganizationalUnit",
                "organizations:DescribePolicy",
                "organizations:ListChildren",
                "organizations:ListParents",
                "organizations:ListPoliciesForTarget",
                "organizations:ListRoots",
                "organizations:ListPolicies",
                "organizations:ListTargetsForPolicy"
            ],
            "Resource": "*"
        }
    ]
}"#,
    },
    ManagedPolicy {
        name: "PowerUserAccess",
        arn: "arn:aws:iam::aws:policy/PowerUserAccess",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        document: r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "NotAction": [
                "iam:*",
                "organizations:*",
                "account:*"
            ],
            "Resource": "*"
        },
        {
            "Effect": "Allow",
            "Action": [
                "account:GetAccountInformation",
                "account:GetPrimaryEmail",
                "account:ListRegions",
                "iam:CreateServiceLinkedRole",
                "iam:DeleteServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization"
            ],
            "Resource": "*"
        }
    ]
}"#,
    },
];

/// The JSON document of the AWS managed policy `arn`
/// (`arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess`), or `None` for a
/// policy Shale doesn't know. ARNs compare exactly, as IAM's do.
pub fn managed_policy(arn: &str) -> Option<&'static str> {
    MANAGED_POLICIES
        .iter()
        .find(|p| p.arn == arn)
        .map(|p| p.document)
}
