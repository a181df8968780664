//! Parsing: the grammar's accepted forms, and each malformed document with
//! the error and the IAM message it gets.

use std::collections::BTreeMap;

use super::{identity, parse};
use crate::{
    ActionElement, BaseOperator, Condition, ConditionOperator, PolicyDocument, PolicyError,
    PolicyKind, PolicyVersion, PrincipalElement, PrincipalType, Principals, ResourceElement,
};

use PolicyKind::{Identity, Resource, Trust};

/// A one-statement identity document with `body` as the statement.
fn statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": {{{body}}}}}"#)
}

/// Asserts that `text` parsed as `kind` fails with `expected`, displayed as
/// `message`.
fn rejects(text: &str, kind: PolicyKind, expected: PolicyError, message: &str) {
    match PolicyDocument::parse(text, kind) {
        Ok(doc) => panic!("accepted {text}: {doc:?}"),
        Err(e) => {
            assert_eq!(e, expected, "{text}");
            assert_eq!(e.to_string(), message, "{text}");
        }
    }
}

const SYNTAX: &str = "Syntax errors in policy.";
const ALLOW_GET: &str =
    r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*""#;

#[test]
fn accepted_forms() {
    // One statement object, no Version, no Sid.
    let doc = identity(&format!(r#"{{"Statement": {{{ALLOW_GET}}}}}"#));
    assert_eq!(doc.version, None);
    assert_eq!(doc.statements.len(), 1);
    // An array, both versions, an Id, a NotAction and NotResource.
    for (version, expected) in [
        ("2012-10-17", PolicyVersion::V2012_10_17),
        ("2008-10-17", PolicyVersion::V2008_10_17),
    ] {
        let doc = identity(&format!(
            r#"{{"Version": "{version}", "Id": "my-policy", "Statement": [
                {{{ALLOW_GET}}},
                {{"Sid": "Two", "Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"],
                  "NotResource": "*"}}]}}"#
        ));
        assert_eq!(doc.version, Some(expected));
        assert_eq!(expected.as_str(), version);
        assert_eq!(doc.id.as_deref(), Some("my-policy"));
        assert_eq!(
            doc.statements[1].action,
            ActionElement::NotAction(vec!["s3:Get*".into(), "s3:List*".into()])
        );
        assert_eq!(
            doc.statements[1].resource,
            Some(ResourceElement::NotResource(vec!["*".into()]))
        );
    }
    // Empty Sids don't count as duplicates.
    identity(&format!(
        r#"{{"Statement": [{{"Sid": "", {ALLOW_GET}}}, {{"Sid": "", {ALLOW_GET}}}]}}"#
    ));
}

#[test]
fn conditions_keep_order_and_scalar_values_as_text() {
    let doc = identity(&statement(&format!(
        r#"{ALLOW_GET}, "Condition": {{
            "NumericLessThanEquals": {{"s3:max-keys": 10}},
            "Bool": {{"aws:SecureTransport": true}},
            "ForAnyValue:StringLike": {{"aws:TagKeys": ["env*", "team"]}}}}"#
    )));
    let conditions = &doc.statements[0].conditions;
    let expected = [
        ("NumericLessThanEquals", "s3:max-keys", vec!["10"]),
        ("Bool", "aws:SecureTransport", vec!["true"]),
        (
            "ForAnyValue:StringLike",
            "aws:TagKeys",
            vec!["env*", "team"],
        ),
    ];
    assert_eq!(conditions.len(), expected.len());
    for (condition, (operator, key, values)) in conditions.iter().zip(expected) {
        assert_eq!(
            *condition,
            Condition {
                operator: ConditionOperator::parse(operator).unwrap(),
                key: key.into(),
                values: values.into_iter().map(String::from).collect(),
            }
        );
    }
    assert_eq!(
        conditions[0].operator.base,
        BaseOperator::NumericLessThanEquals
    );
}

#[test]
fn principal_forms() {
    let doc = parse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "123456789012"],
                           "Service": "redshift.amazonaws.com",
                           "Federated": "cognito-identity.amazonaws.com",
                           "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
             "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}"#,
        Resource,
    );
    assert_eq!(
        doc.statements[0].principal,
        Some(PrincipalElement::Principal(Principals::Any))
    );
    let Some(PrincipalElement::Principal(Principals::Listed(listed))) =
        &doc.statements[1].principal
    else {
        panic!("{:?}", doc.statements[1].principal);
    };
    let expected: BTreeMap<PrincipalType, Vec<String>> = [
        (
            PrincipalType::Aws,
            vec![
                "arn:aws:iam::123456789012:root".into(),
                "123456789012".into(),
            ],
        ),
        (
            PrincipalType::Service,
            vec!["redshift.amazonaws.com".into()],
        ),
        (
            PrincipalType::Federated,
            vec!["cognito-identity.amazonaws.com".into()],
        ),
        (
            PrincipalType::CanonicalUser,
            vec!["79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be".into()],
        ),
    ]
    .into();
    assert_eq!(*listed, expected);
    assert!(matches!(
        doc.statements[2].principal,
        Some(PrincipalElement::NotPrincipal(_))
    ));
    // Trust policy Sids may hold any text; identity policy Sids may not.
    parse(
        r#"{"Statement": {"Sid": "Let Redshift in", "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}}"#,
        Trust,
    );
}

#[test]
fn malformed_json_and_document_shape() {
    for text in ["", "not json", "{", r#"{"Statement": [}"#, "{} {}"] {
        match PolicyDocument::parse(text, Identity) {
            Err(e @ PolicyError::InvalidJson { .. }) => assert_eq!(e.to_string(), SYNTAX),
            other => panic!("{text}: {other:?}"),
        }
    }
    let wrong = |element: &str| PolicyError::WrongType {
        element: element.into(),
    };
    rejects("[]", Identity, wrong("policy"), SYNTAX);
    rejects(r#""policy""#, Identity, wrong("policy"), SYNTAX);
    rejects(
        &format!(r#"{{"Version": "2013-10-17", "Statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        PolicyError::InvalidVersion {
            version: "2013-10-17".into(),
        },
        SYNTAX,
    );
    rejects(
        &format!(r#"{{"Version": 2012, "Statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        wrong("Version"),
        SYNTAX,
    );
    rejects(
        r#"{"Version": "2012-10-17"}"#,
        Identity,
        PolicyError::MissingStatement,
        SYNTAX,
    );
    rejects(
        r#"{"Version": "2012-10-17", "Statement": []}"#,
        Identity,
        PolicyError::MissingStatement,
        SYNTAX,
    );
    rejects(
        r#"{"Statement": "Allow"}"#,
        Identity,
        wrong("Statement"),
        SYNTAX,
    );
    rejects(
        &format!(r#"{{"Statement": [{{{ALLOW_GET}}}, 7]}}"#),
        Identity,
        wrong("Statement"),
        SYNTAX,
    );
    rejects(
        &format!(r#"{{"Id": ["x"], "Statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        wrong("Id"),
        SYNTAX,
    );
    rejects(
        &format!(r#"{{"Foo": 1, "Statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        PolicyError::UnknownField {
            field: "Foo".into(),
        },
        "Unknown field Foo",
    );
    // Element names are case-sensitive.
    rejects(
        &format!(r#"{{"statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        PolicyError::UnknownField {
            field: "statement".into(),
        },
        "Unknown field statement",
    );
    rejects(
        &format!(r#"{{"Statement": {{{ALLOW_GET}}}, "Statement": {{{ALLOW_GET}}}}}"#),
        Identity,
        PolicyError::DuplicateElement {
            element: "Statement".into(),
        },
        SYNTAX,
    );
}

#[test]
fn malformed_statements() {
    let wrong = |element: &str| PolicyError::WrongType {
        element: element.into(),
    };
    let cases: Vec<(String, PolicyError, &str)> = vec![
        (
            statement(&format!(r#"{ALLOW_GET}, "Foo": "bar""#)),
            PolicyError::UnknownField {
                field: "Foo".into(),
            },
            "Unknown field Foo",
        ),
        (
            statement(r#""Action": "s3:GetObject", "Resource": "*""#),
            PolicyError::MissingEffect,
            "Missing required field Effect",
        ),
        (
            statement(r#""Effect": "allow", "Action": "s3:GetObject", "Resource": "*""#),
            PolicyError::InvalidEffect {
                effect: "allow".into(),
            },
            "The policy failed legacy parsing",
        ),
        (
            statement(r#""Effect": "Permit", "Action": "s3:GetObject", "Resource": "*""#),
            PolicyError::InvalidEffect {
                effect: "Permit".into(),
            },
            SYNTAX,
        ),
        (
            statement(r#""Effect": true, "Action": "s3:GetObject", "Resource": "*""#),
            wrong("Effect"),
            SYNTAX,
        ),
        (
            statement(&format!(r#"{ALLOW_GET}, "NotAction": "s3:PutObject""#)),
            PolicyError::ActionAndNotAction,
            SYNTAX,
        ),
        (
            statement(r#""Effect": "Allow", "Resource": "*""#),
            PolicyError::MissingAction,
            "Policy statement must contain actions.",
        ),
        (
            statement(r#""Effect": "Allow", "Action": [], "Resource": "*""#),
            PolicyError::MissingAction,
            "Policy statement must contain actions.",
        ),
        (
            statement(r#""Effect": "Allow", "Action": {"s3": "GetObject"}, "Resource": "*""#),
            wrong("Action"),
            SYNTAX,
        ),
        (
            statement(r#""Effect": "Allow", "Action": ["s3:GetObject", 3], "Resource": "*""#),
            wrong("Action"),
            SYNTAX,
        ),
        (
            statement(r#""Effect": "Allow", "Action": "invalid", "Resource": "*""#),
            PolicyError::MissingVendor {
                value: "invalid".into(),
            },
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s3:Get:Object", "Resource": "*""#),
            PolicyError::TooManyColons {
                action: "s3:Get:Object".into(),
            },
            "Actions/Condition can contain only one colon.",
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s 3:GetObject", "Resource": "*""#),
            PolicyError::InvalidVendor {
                vendor: "s 3".into(),
            },
            "Vendor s 3 is not valid",
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s3:GetObject""#),
            PolicyError::MissingResource,
            "Policy statement must contain resources.",
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": []"#),
            PolicyError::MissingResource,
            "Policy statement must contain resources.",
        ),
        (
            statement(&format!(r#"{ALLOW_GET}, "NotResource": "*""#)),
            PolicyError::ResourceAndNotResource,
            SYNTAX,
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "my bucket""#),
            PolicyError::ResourceNotArn {
                resource: "my bucket".into(),
            },
            r#"Resource my bucket must be in ARN format or "*"."#,
        ),
        (
            statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws""#),
            PolicyError::ResourceVendor {
                resource: "arn:aws".into(),
            },
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            statement(
                r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s*:::b""#,
            ),
            PolicyError::ResourceVendor {
                resource: "arn:aws:s*:::b".into(),
            },
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            statement(
                r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::example_bucket""#,
            ),
            PolicyError::MalformedArn {
                resource: "arn:aws:s3::example_bucket".into(),
            },
            "The policy failed legacy parsing",
        ),
        (
            statement(&format!(
                r#"{ALLOW_GET}, "Principal": {{"AWS": "123456789012"}}"#
            )),
            PolicyError::PrincipalNotAllowed,
            "Policy document should not specify a principal.",
        ),
        (
            statement(&format!(r#"{ALLOW_GET}, "NotPrincipal": "*""#)),
            PolicyError::PrincipalNotAllowed,
            "Policy document should not specify a principal.",
        ),
        (
            statement(&format!(r#""Sid": "read only", {ALLOW_GET}"#)),
            PolicyError::InvalidSid {
                sid: "read only".into(),
            },
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            statement(&format!(r#""Sid": 1, {ALLOW_GET}"#)),
            wrong("Sid"),
            SYNTAX,
        ),
        (
            format!(
                r#"{{"Statement": [{{"Sid": "A", {ALLOW_GET}}}, {{"Sid": "A", "Effect": "Deny"}}]}}"#
            ),
            PolicyError::DuplicateSid { sid: "A".into() },
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            statement(&format!(r#"{ALLOW_GET}, "Action": "s3:PutObject""#)),
            PolicyError::DuplicateElement {
                element: "Action".into(),
            },
            SYNTAX,
        ),
    ];
    for (text, expected, message) in cases {
        rejects(&text, Identity, expected, message);
    }
}

#[test]
fn malformed_conditions() {
    let with = |condition: &str| statement(&format!(r#"{ALLOW_GET}, "Condition": {condition}"#));
    let unknown = |operator: &str| PolicyError::UnknownConditionOperator {
        operator: operator.into(),
    };
    let wrong = PolicyError::WrongType {
        element: "Condition".into(),
    };
    let cases: Vec<(String, PolicyError, &str)> = vec![
        (
            with(r#"{"StringEqualz": {"aws:username": "a"}}"#),
            unknown("StringEqualz"),
            SYNTAX,
        ),
        (
            with(r#"{"stringequals": {"aws:username": "a"}}"#),
            unknown("stringequals"),
            SYNTAX,
        ),
        (
            with(r#"{"NullIfExists": {"aws:username": "true"}}"#),
            unknown("NullIfExists"),
            SYNTAX,
        ),
        (
            with(r#"{"ForSomeValues:StringLike": {"aws:TagKeys": "a"}}"#),
            unknown("ForSomeValues:StringLike"),
            SYNTAX,
        ),
        (with(r#"[]"#), wrong.clone(), SYNTAX),
        (with(r#""a""#), wrong.clone(), SYNTAX),
        (with(r#"{"StringEquals": "b"}"#), wrong.clone(), SYNTAX),
        (
            with(r#"{"StringEquals": {"aws:username": {}}}"#),
            wrong.clone(),
            SYNTAX,
        ),
        (
            with(r#"{"StringEquals": {"aws:username": [null]}}"#),
            wrong,
            SYNTAX,
        ),
        (
            with(r#"{"StringEquals": {"username": "a"}}"#),
            PolicyError::MissingVendor {
                value: "username".into(),
            },
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            with(r#"{"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}"#),
            PolicyError::DuplicateElement {
                element: "AWS:UserName".into(),
            },
            SYNTAX,
        ),
        (
            with(r#"{"DateGreaterThan": {"aws:CurrentTime": "yesterday"}}"#),
            PolicyError::InvalidDate {
                value: "yesterday".into(),
            },
            "The policy failed legacy parsing",
        ),
        (
            with(r#"{"DateLessThan": {"aws:CurrentTime": "2024-02-30T00:00:00Z"}}"#),
            PolicyError::InvalidDate {
                value: "2024-02-30T00:00:00Z".into(),
            },
            "The policy failed legacy parsing",
        ),
    ];
    for (text, expected, message) in cases {
        rejects(&text, Identity, expected, message);
    }
    // Empty blocks are accepted (and hold vacuously).
    identity(&with(r#"{}"#));
    identity(&with(r#"{"StringEquals": {}}"#));
}

#[test]
fn trust_and_resource_policy_rules() {
    let trust = |body: &str| format!(r#"{{"Version": "2012-10-17", "Statement": {{{body}}}}}"#);
    const PRINCIPAL: &str = r#""Principal": {"Service": "redshift.amazonaws.com"}"#;
    rejects(
        &trust(r#""Effect": "Allow", "Action": "sts:AssumeRole""#),
        Trust,
        PolicyError::MissingPrincipal,
        "Missing required field Principal",
    );
    rejects(
        &trust(&format!(
            r#""Effect": "Allow", {PRINCIPAL}, "Action": "sts:AssumeRole", "Resource": "*""#
        )),
        Trust,
        PolicyError::ProhibitedField { field: "Resource" },
        "Has prohibited field Resource",
    );
    rejects(
        &trust(&format!(
            r#""Effect": "Allow", {PRINCIPAL}, "Action": "sts:AssumeRole", "NotResource": "*""#
        )),
        Trust,
        PolicyError::ProhibitedField {
            field: "NotResource",
        },
        "Has prohibited field NotResource",
    );
    rejects(
        &trust(
            r#""Effect": "Deny", "NotPrincipal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole""#,
        ),
        Trust,
        PolicyError::ProhibitedField {
            field: "NotPrincipal",
        },
        "Has prohibited field NotPrincipal",
    );
    rejects(
        &trust(&format!(
            r#""Effect": "Allow", {PRINCIPAL}, "Action": ["sts:AssumeRole", "s3:GetObject"]"#
        )),
        Trust,
        PolicyError::TrustActionNotSts {
            action: "s3:GetObject".into(),
        },
        "AssumeRole policy may only specify STS AssumeRole actions.",
    );
    rejects(
        &trust(r#""Effect": "Allow", "Principal": {}, "Action": "sts:AssumeRole""#),
        Trust,
        PolicyError::MissingPrincipal,
        "Missing required field Principal",
    );
    rejects(
        &trust(r#""Effect": "Allow", "Principal": {"AWS": []}, "Action": "sts:AssumeRole""#),
        Trust,
        PolicyError::MissingPrincipal,
        "Missing required field Principal",
    );
    let invalid = |kind: &str, value: &str| PolicyError::InvalidPrincipal {
        kind: kind.into(),
        value: value.into(),
    };
    for (principal, kind, value) in [
        (r#"{"Foo": "x"}"#, "FOO", "x"),
        (r#"{"AWS": "not-an-account"}"#, "AWS", "not-an-account"),
        (r#"{"AWS": "12345"}"#, "AWS", "12345"),
        (
            r#"{"AWS": "arn:aws:iam::123456789012:role/*"}"#,
            "AWS",
            "arn:aws:iam::123456789012:role/*",
        ),
        (
            r#"{"Service": ["redshift.amazonaws.com", ""]}"#,
            "SERVICE",
            "",
        ),
    ] {
        rejects(
            &trust(&format!(
                r#""Effect": "Allow", "Principal": {principal}, "Action": "sts:AssumeRole""#
            )),
            Trust,
            invalid(kind, value),
            &format!(r#"Invalid principal in policy: "{kind}":"{value}""#),
        );
    }
    rejects(
        &trust(r#""Effect": "Allow", "Principal": "redshift", "Action": "sts:AssumeRole""#),
        Trust,
        PolicyError::WrongType {
            element: "Principal".into(),
        },
        SYNTAX,
    );
    // Resource policies need both a principal and a resource.
    rejects(
        &trust(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*""#),
        Resource,
        PolicyError::MissingPrincipal,
        "Missing required field Principal",
    );
    rejects(
        &trust(r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject""#),
        Resource,
        PolicyError::MissingResource,
        "Policy statement must contain resources.",
    );
    rejects(
        &trust(
            r#""Effect": "Deny", "Principal": "*", "NotPrincipal": "*", "Action": "s3:GetObject", "Resource": "*""#,
        ),
        Resource,
        PolicyError::PrincipalAndNotPrincipal,
        SYNTAX,
    );
    // The same trust document is fine as a trust policy and refused as an
    // identity policy.
    let doc = trust(&format!(
        r#""Effect": "Allow", {PRINCIPAL}, "Action": "sts:AssumeRole""#
    ));
    parse(&doc, Trust);
    rejects(
        &doc,
        Identity,
        PolicyError::PrincipalNotAllowed,
        "Policy document should not specify a principal.",
    );
}
