//! Evaluation: deny over allow, `NotAction`, `NotResource`, wildcards and
//! case, principals, and policy variables.

use super::{Allow, ExplicitDeny, ImplicitDeny, check, identity, parse};
use crate::{Decision, PolicyKind, Principal, Request, evaluate, managed_policy, trust_allows};

const ALLOW_S3: &str = r#"{"Version": "2012-10-17", "Statement":
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;

const DENY_DELETE: &str = r#"{"Version": "2012-10-17", "Statement":
    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::prod/*"}}"#;

#[test]
fn explicit_deny_beats_allow_in_any_order() {
    let allow = identity(ALLOW_S3);
    let deny = identity(DENY_DELETE);
    for policies in [[&allow, &deny], [&deny, &allow]] {
        check(
            &policies,
            &[
                ("s3:DeleteObject", "arn:aws:s3:::prod/x", ExplicitDeny),
                ("s3:DeleteObject", "arn:aws:s3:::dev/x", Allow),
                ("s3:GetObject", "arn:aws:s3:::prod/x", Allow),
            ],
        );
    }
    // Within one document too, whatever the statement order.
    let one = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secret/*"},
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    );
    check(
        &[&one],
        &[
            ("s3:GetObject", "arn:aws:s3:::secret/k", ExplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::public/k", Allow),
        ],
    );
    // A deny alone is still only a deny; nothing allows.
    check(
        &[&deny],
        &[
            ("s3:DeleteObject", "arn:aws:s3:::prod/x", ExplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::prod/x", ImplicitDeny),
        ],
    );
    check(
        &[],
        &[("s3:GetObject", "arn:aws:s3:::prod/x", ImplicitDeny)],
    );
    assert!(Decision::Allow.is_allowed());
    assert!(!Decision::ExplicitDeny.is_allowed() && !Decision::ImplicitDeny.is_allowed());
}

#[test]
fn not_action_covers_everything_but_the_listed_actions() {
    let power = identity(managed_policy("arn:aws:iam::aws:policy/PowerUserAccess").unwrap());
    check(
        &[&power],
        &[
            ("s3:GetObject", "arn:aws:s3:::b/k", Allow),
            ("redshift:CreateCluster", "*", Allow),
            (
                "iam:CreateUser",
                "arn:aws:iam::123456789012:user/x",
                ImplicitDeny,
            ),
            (
                "IAM:CreateUser",
                "arn:aws:iam::123456789012:user/x",
                ImplicitDeny,
            ),
            ("iam:ListRoles", "*", Allow),
            ("organizations:ListAccounts", "*", ImplicitDeny),
        ],
    );
    // Deny with NotAction: deny all but reads.
    let read_only_guard = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"}]}"#,
    );
    check(
        &[&read_only_guard],
        &[
            ("s3:GetObject", "arn:aws:s3:::b/k", Allow),
            ("s3:ListBucket", "arn:aws:s3:::b", Allow),
            ("s3:PutObject", "arn:aws:s3:::b/k", ExplicitDeny),
            ("s3:DeleteBucket", "arn:aws:s3:::b", ExplicitDeny),
        ],
    );
}

#[test]
fn not_resource_covers_everything_but_the_listed_resources() {
    let fenced = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*",
             "NotResource": ["arn:aws:s3:::sandbox", "arn:aws:s3:::sandbox/*"]}]}"#,
    );
    check(
        &[&fenced],
        &[
            ("s3:PutObject", "arn:aws:s3:::sandbox/a/b", Allow),
            ("s3:ListBucket", "arn:aws:s3:::sandbox", Allow),
            ("s3:PutObject", "arn:aws:s3:::prod/a", ExplicitDeny),
            ("s3:ListBucket", "arn:aws:s3:::sandbox2", ExplicitDeny),
        ],
    );
    let allow_not = identity(
        r#"{"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::private/*"}}"#,
    );
    check(
        &[&allow_not],
        &[
            ("s3:GetObject", "arn:aws:s3:::public/k", Allow),
            ("s3:GetObject", "arn:aws:s3:::private/k", ImplicitDeny),
        ],
    );
}

#[test]
fn action_wildcards_and_case() {
    let doc = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List?ucket", "s3:getobjecttagging"],
             "Resource": "*"}]}"#,
    );
    check(
        &[&doc],
        &[
            ("s3:GetObject", "*", Allow),
            ("s3:GetBucketLocation", "*", Allow),
            ("s3:Get", "*", Allow),
            ("S3:GETOBJECT", "*", Allow),
            ("s3:getobject", "*", Allow),
            ("s3:ListBucket", "*", Allow),
            ("s3:ListXucket", "*", Allow),
            ("s3:ListBuckets", "*", ImplicitDeny),
            ("s3:Listucket", "*", ImplicitDeny),
            ("s3:PutObject", "*", ImplicitDeny),
            ("s3-object-lambda:GetObject", "*", ImplicitDeny),
            ("s3:GetObjectTagging", "*", Allow),
        ],
    );
    let everything = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
    );
    check(
        &[&everything],
        &[
            ("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k", Allow),
            ("", "", Allow),
        ],
    );
}

#[test]
fn resource_wildcards_are_case_sensitive() {
    let doc = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::logs/*", "arn:aws:s3:::data*", "arn:aws:s3:::b?t/*"]}]}"#,
    );
    check(
        &[&doc],
        &[
            ("s3:GetObject", "arn:aws:s3:::logs/2024/01/x.gz", Allow),
            // `bucket/*` names the objects, not the bucket.
            ("s3:ListBucket", "arn:aws:s3:::logs", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::Logs/x", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::LOGS/x", ImplicitDeny),
            // `bucket*` names the bucket, look-alikes, and their objects.
            ("s3:ListBucket", "arn:aws:s3:::data", Allow),
            ("s3:ListBucket", "arn:aws:s3:::data-2", Allow),
            ("s3:GetObject", "arn:aws:s3:::data/k", Allow),
            ("s3:GetObject", "arn:aws:s3:::Data/k", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::bat/k", Allow),
            ("s3:GetObject", "arn:aws:s3:::bit/k", Allow),
            ("s3:GetObject", "arn:aws:s3:::bt/k", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::boat/k", ImplicitDeny),
        ],
    );
}

const BUCKET_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Accounts", "Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "210987654321"]},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"},
        {"Sid": "Loader role", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::555555555555:role/etl/Loader"},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::shared/*"},
        {"Sid": "Service", "Effect": "Allow",
         "Principal": {"Service": ["logging.s3.amazonaws.com"]},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::shared/logs/*"},
        {"Sid": "Public", "Effect": "Allow", "Principal": "*",
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/public/*"}
    ]
}"#;

fn aws(id: &str) -> Principal {
    Principal::Aws(id.to_owned())
}

#[test]
fn principals_in_a_bucket_policy() {
    let doc = parse(BUCKET_POLICY, PolicyKind::Resource);
    let decide = |action: &str, key: &str, principal: Principal| {
        let request =
            Request::new(action, format!("arn:aws:s3:::shared/{key}")).with_principal(principal);
        evaluate(&[&doc], &request)
    };
    // An account root (or bare account id) names every identity in it.
    assert_eq!(decide("s3:GetObject", "k", aws("123456789012")), Allow);
    assert_eq!(
        decide(
            "s3:GetObject",
            "k",
            aws("arn:aws:iam::123456789012:user/alice")
        ),
        Allow
    );
    assert_eq!(
        decide(
            "s3:GetObject",
            "k",
            aws("arn:aws:sts::210987654321:assumed-role/R/s")
        ),
        Allow
    );
    assert_eq!(
        decide("s3:GetObject", "k", aws("arn:aws:iam::999999999999:root")),
        ImplicitDeny
    );
    // A role ARN names the role and its sessions, by role name.
    assert_eq!(
        decide(
            "s3:PutObject",
            "k",
            aws("arn:aws:iam::555555555555:role/etl/Loader")
        ),
        Allow
    );
    assert_eq!(
        decide(
            "s3:PutObject",
            "k",
            aws("arn:aws:sts::555555555555:assumed-role/Loader/run-1")
        ),
        Allow
    );
    assert_eq!(
        decide(
            "s3:PutObject",
            "k",
            aws("arn:aws:sts::555555555555:assumed-role/Other/run-1")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            "s3:PutObject",
            "k",
            aws("arn:aws:sts::666666666666:assumed-role/Loader/run-1")
        ),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            "s3:PutObject",
            "k",
            aws("arn:aws:iam::555555555555:user/Loader")
        ),
        ImplicitDeny
    );
    // Service principals compare case-insensitively.
    let logging = Principal::Service("Logging.S3.AmazonAWS.com".to_owned());
    assert_eq!(decide("s3:PutObject", "logs/x", logging.clone()), Allow);
    assert_eq!(decide("s3:PutObject", "data/x", logging), ImplicitDeny);
    // "*" names everyone, anonymous callers included.
    assert_eq!(
        decide("s3:GetObject", "public/x", Principal::Anonymous),
        Allow
    );
    assert_eq!(
        decide("s3:GetObject", "private/x", Principal::Anonymous),
        ImplicitDeny
    );
    assert_eq!(
        decide(
            "s3:GetObject",
            "public/x",
            Principal::CanonicalUser(
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be".into()
            )
        ),
        Allow
    );
}

#[test]
fn not_principal_denies_everyone_else() {
    let doc = parse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:*",
             "Resource": "arn:aws:s3:::vault/*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:user/admin"},
             "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::vault/*"}]}"#,
        PolicyKind::Resource,
    );
    let delete = Request::new("s3:DeleteObject", "arn:aws:s3:::vault/k");
    let admin = aws("arn:aws:iam::123456789012:user/admin");
    let bob = aws("arn:aws:iam::123456789012:user/bob");
    assert_eq!(
        evaluate(&[&doc], &delete.clone().with_principal(admin)),
        Allow
    );
    assert_eq!(
        evaluate(&[&doc], &delete.clone().with_principal(bob)),
        ExplicitDeny
    );
    assert_eq!(evaluate(&[&doc], &delete), ExplicitDeny);
}

#[test]
fn trust_policy_principal_forms() {
    let doc = parse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["123456789012"],
                                              "Service": "redshift.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"]},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/intern"},
             "Action": "sts:*"}]}"#,
        PolicyKind::Trust,
    );
    assert!(trust_allows(&doc, &aws("123456789012"), "sts:AssumeRole"));
    assert!(trust_allows(
        &doc,
        &aws("arn:aws:iam::123456789012:role/ci"),
        "sts:assumerole"
    ));
    assert!(trust_allows(
        &doc,
        &Principal::Service("redshift.amazonaws.com".into()),
        "sts:TagSession"
    ));
    assert!(!trust_allows(
        &doc,
        &aws("arn:aws:iam::123456789012:user/intern"),
        "sts:AssumeRole"
    ));
    assert!(!trust_allows(&doc, &aws("999999999999"), "sts:AssumeRole"));
    assert!(!trust_allows(
        &doc,
        &Principal::Federated("cognito-identity.amazonaws.com".into()),
        "sts:AssumeRole"
    ));

    let anyone = parse(
        r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}}"#,
        PolicyKind::Trust,
    );
    assert!(trust_allows(
        &anyone,
        &aws("999999999999"),
        "sts:AssumeRole"
    ));
    assert!(trust_allows(
        &anyone,
        &Principal::Service("ec2.amazonaws.com".into()),
        "sts:AssumeRole"
    ));
    let federated = parse(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/Okta"},
            "Action": "sts:AssumeRoleWithSAML"}}"#,
        PolicyKind::Trust,
    );
    assert!(trust_allows(
        &federated,
        &Principal::Federated("arn:aws:iam::123456789012:saml-provider/Okta".into()),
        "sts:AssumeRoleWithSAML"
    ));
    assert!(!trust_allows(
        &federated,
        &aws("arn:aws:iam::123456789012:saml-provider/Okta"),
        "sts:AssumeRoleWithSAML"
    ));
}

const HOME_DIRS: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::home",
     "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*", ""]}}}]}"#;

fn as_user(action: &str, resource: &str, user: Option<&str>) -> Request {
    let request = Request::new(action, resource);
    match user {
        Some(user) => request.with_context("aws:username", user),
        None => request,
    }
}

#[test]
fn policy_variables_in_resources_and_conditions() {
    let doc = identity(HOME_DIRS);
    let get = |resource: &str, user: Option<&str>| {
        evaluate(&[&doc], &as_user("s3:GetObject", resource, user))
    };
    assert_eq!(
        get("arn:aws:s3:::home/alice/notes.txt", Some("alice")),
        Allow
    );
    assert_eq!(
        get("arn:aws:s3:::home/bob/notes.txt", Some("alice")),
        ImplicitDeny
    );
    assert_eq!(get("arn:aws:s3:::home/alice/notes.txt", None), ImplicitDeny);
    // A substituted value is literal: a user named `*` gets only `home/*/`.
    assert_eq!(
        get("arn:aws:s3:::home/bob/notes.txt", Some("*")),
        ImplicitDeny
    );
    assert_eq!(get("arn:aws:s3:::home/*/notes.txt", Some("*")), Allow);
    // Context keys are case-insensitive, for variables too.
    let request = Request::new("s3:GetObject", "arn:aws:s3:::home/carol/x")
        .with_context("AWS:UserName", "carol");
    assert_eq!(evaluate(&[&doc], &request), Allow);

    let list = |prefix: &str, user: &str| {
        let request = as_user("s3:ListBucket", "arn:aws:s3:::home", Some(user))
            .with_context("s3:prefix", prefix);
        evaluate(&[&doc], &request)
    };
    assert_eq!(list("alice/docs/", "alice"), Allow);
    assert_eq!(list("", "alice"), Allow);
    assert_eq!(list("bob/", "alice"), ImplicitDeny);
}

#[test]
fn policy_variable_escapes_and_defaults() {
    let doc = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": ["arn:aws:s3:::b/${*}", "arn:aws:s3:::b/q${?}", "arn:aws:s3:::b/${$}x",
                          "arn:aws:s3:::guests/${aws:username, 'guest'}/*"]}]}"#,
    );
    check(
        &[&doc],
        &[
            ("s3:GetObject", "arn:aws:s3:::b/*", Allow),
            ("s3:GetObject", "arn:aws:s3:::b/anything", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::b/q?", Allow),
            ("s3:GetObject", "arn:aws:s3:::b/qa", ImplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::b/$x", Allow),
            ("s3:GetObject", "arn:aws:s3:::guests/guest/k", Allow),
            ("s3:GetObject", "arn:aws:s3:::guests/alice/k", ImplicitDeny),
        ],
    );
    let request = as_user("s3:GetObject", "arn:aws:s3:::guests/alice/k", Some("alice"));
    assert_eq!(evaluate(&[&doc], &request), Allow);
}

#[test]
fn policy_variables_are_literal_text_before_version_2012() {
    for version in [r#""Version": "2008-10-17","#, ""] {
        let doc = identity(&format!(
            r#"{{{version} "Statement": {{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::home/${{aws:username}}/*"}}}}"#
        ));
        assert!(!doc.supports_variables());
        let alice = as_user("s3:GetObject", "arn:aws:s3:::home/alice/k", Some("alice"));
        assert_eq!(evaluate(&[&doc], &alice), ImplicitDeny, "{version}");
        let literal = as_user(
            "s3:GetObject",
            "arn:aws:s3:::home/${aws:username}/k",
            Some("alice"),
        );
        assert_eq!(evaluate(&[&doc], &literal), Allow, "{version}");
    }
}
