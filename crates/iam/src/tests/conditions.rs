//! Condition operators, one family at a time: strings, numbers, dates,
//! booleans, binary, IP addresses, ARNs, `Null`, `...IfExists`, and the
//! `ForAnyValue:`/`ForAllValues:` set operators.

use super::identity;
use crate::{
    BaseOperator, ConditionOperator, Decision, PolicyDocument, Request, SetOperator, evaluate,
};

/// An identity policy allowing everything under one condition test.
fn policy(operator: &str, key: &str, values: &str) -> PolicyDocument {
    identity(&format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "*",
            "Resource": "*", "Condition": {{"{operator}": {{"{key}": {values}}}}}}}}}"#
    ))
}

/// Whether `doc` allows a request whose context is `context` (a key may
/// repeat to give it several values).
fn allows(doc: &PolicyDocument, context: &[(&str, &str)]) -> bool {
    let request = context.iter().fold(
        Request::new("s3:GetObject", "arn:aws:s3:::b/k"),
        |r, (k, v)| r.with_context(*k, *v),
    );
    evaluate(&[doc], &request) == Decision::Allow
}

/// One test: operator, key, policy values (JSON), context, expected.
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], bool);

fn check(cases: &[Case<'_>]) {
    for (operator, key, values, context, expected) in cases {
        let doc = policy(operator, key, values);
        assert_eq!(
            allows(&doc, context),
            *expected,
            "{operator} {key} {values} with {context:?}"
        );
    }
}

const USER: &str = "aws:username";

#[test]
fn string_operators() {
    check(&[
        ("StringEquals", USER, r#""alice""#, &[(USER, "alice")], true),
        (
            "StringEquals",
            USER,
            r#""alice""#,
            &[(USER, "Alice")],
            false,
        ),
        (
            "StringEquals",
            USER,
            r#"["bob", "alice"]"#,
            &[(USER, "alice")],
            true,
        ),
        ("StringEquals", USER, r#""alice""#, &[], false),
        ("StringEquals", USER, r#""al*""#, &[(USER, "alice")], false),
        (
            "StringNotEquals",
            USER,
            r#""alice""#,
            &[(USER, "bob")],
            true,
        ),
        (
            "StringNotEquals",
            USER,
            r#""alice""#,
            &[(USER, "alice")],
            false,
        ),
        (
            "StringNotEquals",
            USER,
            r#"["bob", "alice"]"#,
            &[(USER, "alice")],
            false,
        ),
        // A negated operator holds when the key is missing.
        ("StringNotEquals", USER, r#""alice""#, &[], true),
        (
            "StringEqualsIgnoreCase",
            USER,
            r#""ALICE""#,
            &[(USER, "alice")],
            true,
        ),
        (
            "StringEqualsIgnoreCase",
            USER,
            r#""ALICE""#,
            &[(USER, "bob")],
            false,
        ),
        (
            "StringNotEqualsIgnoreCase",
            USER,
            r#""ALICE""#,
            &[(USER, "alice")],
            false,
        ),
        (
            "StringNotEqualsIgnoreCase",
            USER,
            r#""ALICE""#,
            &[(USER, "bob")],
            true,
        ),
        (
            "StringLike",
            "s3:prefix",
            r#""home/*""#,
            &[("s3:prefix", "home/x/y")],
            true,
        ),
        (
            "StringLike",
            "s3:prefix",
            r#""home/?""#,
            &[("s3:prefix", "home/xy")],
            false,
        ),
        (
            "StringLike",
            "s3:prefix",
            r#""home/*""#,
            &[("s3:prefix", "Home/x")],
            false,
        ),
        ("StringLike", "s3:prefix", r#""home/*""#, &[], false),
        (
            "StringNotLike",
            "s3:prefix",
            r#""tmp/*""#,
            &[("s3:prefix", "tmp/x")],
            false,
        ),
        (
            "StringNotLike",
            "s3:prefix",
            r#""tmp/*""#,
            &[("s3:prefix", "data/x")],
            true,
        ),
        ("StringNotLike", "s3:prefix", r#""tmp/*""#, &[], true),
        // Keys are case-insensitive; values are not.
        (
            "StringEquals",
            "AWS:UserName",
            r#""alice""#,
            &[("aws:username", "alice")],
            true,
        ),
        // Variables in values.
        (
            "StringEquals",
            "s3:prefix",
            r#""${aws:username}/""#,
            &[("s3:prefix", "alice/"), (USER, "alice")],
            true,
        ),
        (
            "StringEquals",
            "s3:prefix",
            r#""${aws:username}/""#,
            &[("s3:prefix", "alice/")],
            false,
        ),
    ]);
}

#[test]
fn numeric_operators() {
    const KEYS: &str = "s3:max-keys";
    check(&[
        ("NumericEquals", KEYS, "10", &[(KEYS, "10")], true),
        ("NumericEquals", KEYS, r#""10""#, &[(KEYS, "10.0")], true),
        ("NumericEquals", KEYS, "10", &[(KEYS, "11")], false),
        ("NumericEquals", KEYS, "10", &[(KEYS, "ten")], false),
        ("NumericNotEquals", KEYS, "10", &[(KEYS, "11")], true),
        ("NumericNotEquals", KEYS, "10", &[(KEYS, "10")], false),
        ("NumericLessThan", KEYS, "10", &[(KEYS, "5")], true),
        ("NumericLessThan", KEYS, "10", &[(KEYS, "10")], false),
        ("NumericLessThanEquals", KEYS, "10", &[(KEYS, "10")], true),
        (
            "NumericLessThanEquals",
            KEYS,
            "10",
            &[(KEYS, "10.5")],
            false,
        ),
        ("NumericGreaterThan", KEYS, "5", &[(KEYS, "6")], true),
        ("NumericGreaterThan", KEYS, "5", &[(KEYS, "5")], false),
        ("NumericGreaterThanEquals", KEYS, "5", &[(KEYS, "5")], true),
        (
            "NumericGreaterThanEquals",
            KEYS,
            "5",
            &[(KEYS, "-1")],
            false,
        ),
        ("NumericLessThan", KEYS, "10", &[], false),
    ]);
}

#[test]
fn date_operators() {
    const NOW: &str = "aws:CurrentTime";
    const EPOCH: &str = "aws:EpochTime";
    check(&[
        (
            "DateGreaterThan",
            NOW,
            r#""2024-01-01T00:00:00Z""#,
            &[(NOW, "2024-06-01T12:00:00Z")],
            true,
        ),
        (
            "DateGreaterThan",
            NOW,
            r#""2024-01-01T00:00:00Z""#,
            &[(NOW, "2023-12-31T23:59:59Z")],
            false,
        ),
        (
            "DateLessThan",
            NOW,
            r#""2024-01-01T00:00:00Z""#,
            &[(NOW, "2023-12-31T23:59:59Z")],
            true,
        ),
        (
            "DateLessThanEquals",
            NOW,
            r#""2024-01-01""#,
            &[(NOW, "2024-01-01T00:00:00Z")],
            true,
        ),
        (
            "DateGreaterThanEquals",
            NOW,
            r#""2024-01-01""#,
            &[(NOW, "2023-12-31")],
            false,
        ),
        // Zones are honoured; fractions count.
        (
            "DateEquals",
            NOW,
            r#""2024-01-01T02:00:00+02:00""#,
            &[(NOW, "2024-01-01T00:00:00Z")],
            true,
        ),
        (
            "DateEquals",
            NOW,
            r#""2024-01-01T00:00:00Z""#,
            &[(NOW, "2024-01-01T00:00:00.5Z")],
            false,
        ),
        (
            "DateNotEquals",
            NOW,
            r#""2024-01-01T00:00:00Z""#,
            &[(NOW, "2024-01-01T00:00:01Z")],
            true,
        ),
        // Epoch seconds on either side.
        (
            "DateLessThan",
            EPOCH,
            r#""1700000000""#,
            &[(EPOCH, "1699999999")],
            true,
        ),
        (
            "DateLessThan",
            EPOCH,
            "1700000000",
            &[(EPOCH, "2023-11-14T22:13:19Z")],
            true,
        ),
        (
            "DateLessThan",
            EPOCH,
            "1700000000",
            &[(EPOCH, "2023-11-14T22:13:20Z")],
            false,
        ),
        (
            "DateLessThan",
            EPOCH,
            "1700000000",
            &[(EPOCH, "not a date")],
            false,
        ),
        ("DateLessThan", EPOCH, "1700000000", &[], false),
    ]);
}

#[test]
fn bool_and_binary_operators() {
    const TLS: &str = "aws:SecureTransport";
    check(&[
        ("Bool", TLS, "false", &[(TLS, "false")], true),
        ("Bool", TLS, "false", &[(TLS, "true")], false),
        ("Bool", TLS, r#""True""#, &[(TLS, "true")], true),
        ("Bool", TLS, "true", &[], false),
        (
            "BinaryEquals",
            "aws:Blob",
            r#""QmluYXJ5""#,
            &[("aws:Blob", "QmluYXJ5")],
            true,
        ),
        (
            "BinaryEquals",
            "aws:Blob",
            r#""QmluYXJ5""#,
            &[("aws:Blob", "qmluyxj5")],
            false,
        ),
    ]);
}

#[test]
fn ip_address_operators() {
    const IP: &str = "aws:SourceIp";
    check(&[
        (
            "IpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "203.0.113.7")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "198.51.100.1")],
            false,
        ),
        (
            "IpAddress",
            IP,
            r#"["10.0.0.0/8", "203.0.113.0/24"]"#,
            &[(IP, "10.9.8.7")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""203.0.113.7""#,
            &[(IP, "203.0.113.7")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""0.0.0.0/0""#,
            &[(IP, "192.0.2.1")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "::ffff:203.0.113.9")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""2001:db8::/32""#,
            &[(IP, "2001:db8::1")],
            true,
        ),
        (
            "IpAddress",
            IP,
            r#""2001:db8::/32""#,
            &[(IP, "2001:db9::1")],
            false,
        ),
        (
            "IpAddress",
            IP,
            r#""2001:db8::/32""#,
            &[(IP, "203.0.113.7")],
            false,
        ),
        (
            "IpAddress",
            IP,
            r#""203.0.113.0/33""#,
            &[(IP, "203.0.113.7")],
            false,
        ),
        (
            "IpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "not an ip")],
            false,
        ),
        ("IpAddress", IP, r#""203.0.113.0/24""#, &[], false),
        (
            "NotIpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "198.51.100.1")],
            true,
        ),
        (
            "NotIpAddress",
            IP,
            r#""203.0.113.0/24""#,
            &[(IP, "203.0.113.1")],
            false,
        ),
        ("NotIpAddress", IP, r#""203.0.113.0/24""#, &[], true),
    ]);
}

#[test]
fn arn_operators() {
    const SRC: &str = "aws:SourceArn";
    check(&[
        (
            "ArnLike",
            SRC,
            r#""arn:aws:s3:::bucket-*""#,
            &[(SRC, "arn:aws:s3:::bucket-logs")],
            true,
        ),
        (
            "ArnLike",
            SRC,
            r#""arn:aws:s3:::bucket-*""#,
            &[(SRC, "arn:aws:s3:::other")],
            false,
        ),
        (
            "ArnEquals",
            SRC,
            r#""arn:aws:iam::*:role/Admin""#,
            &[(SRC, "arn:aws:iam::123456789012:role/Admin")],
            true,
        ),
        (
            "ArnEquals",
            SRC,
            r#""arn:aws:iam::123456789012:role/Admin""#,
            &[(SRC, "arn:aws:iam::123456789012:role/admin")],
            false,
        ),
        // Part by part: the account `*` does not run into the resource.
        (
            "ArnLike",
            SRC,
            r#""arn:aws:iam::*:role/x""#,
            &[(SRC, "arn:aws:iam::1:2:role/x")],
            false,
        ),
        // ...but the resource part may hold colons.
        (
            "ArnLike",
            SRC,
            r#""arn:aws:logs:us-east-1:123456789012:log-group:*""#,
            &[(
                SRC,
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/x:*",
            )],
            true,
        ),
        ("ArnLike", SRC, r#""*""#, &[(SRC, "anything")], true),
        (
            "ArnLike",
            SRC,
            r#""arn:aws:s3:::*""#,
            &[(SRC, "not-an-arn")],
            false,
        ),
        (
            "ArnNotLike",
            SRC,
            r#""arn:aws:s3:::bucket-*""#,
            &[(SRC, "arn:aws:s3:::other")],
            true,
        ),
        (
            "ArnNotLike",
            SRC,
            r#""arn:aws:s3:::bucket-*""#,
            &[(SRC, "arn:aws:s3:::bucket-a")],
            false,
        ),
        (
            "ArnNotEquals",
            SRC,
            r#""arn:aws:s3:::a""#,
            &[(SRC, "arn:aws:s3:::b")],
            true,
        ),
        ("ArnNotLike", SRC, r#""arn:aws:s3:::bucket-*""#, &[], true),
        (
            "ArnLike",
            SRC,
            r#""arn:aws:iam::123456789012:user/${aws:username}""#,
            &[
                (SRC, "arn:aws:iam::123456789012:user/alice"),
                (USER, "alice"),
            ],
            true,
        ),
    ]);
}

#[test]
fn null_operator() {
    const ISSUED: &str = "aws:TokenIssueTime";
    check(&[
        ("Null", ISSUED, "true", &[], true),
        (
            "Null",
            ISSUED,
            r#""true""#,
            &[(ISSUED, "2024-01-01T00:00:00Z")],
            false,
        ),
        (
            "Null",
            ISSUED,
            "false",
            &[(ISSUED, "2024-01-01T00:00:00Z")],
            true,
        ),
        ("Null", ISSUED, "false", &[], false),
        ("Null", ISSUED, r#""maybe""#, &[], false),
    ]);
}

#[test]
fn if_exists_holds_when_the_key_is_missing() {
    const TYPE: &str = "ec2:InstanceType";
    check(&[
        ("StringEqualsIfExists", TYPE, r#""t2.micro""#, &[], true),
        (
            "StringEqualsIfExists",
            TYPE,
            r#""t2.micro""#,
            &[(TYPE, "t2.micro")],
            true,
        ),
        (
            "StringEqualsIfExists",
            TYPE,
            r#""t2.micro""#,
            &[(TYPE, "m5.large")],
            false,
        ),
        (
            "StringNotEqualsIfExists",
            TYPE,
            r#""t2.micro""#,
            &[(TYPE, "t2.micro")],
            false,
        ),
        ("NumericLessThanIfExists", "s3:max-keys", "10", &[], true),
        (
            "NumericLessThanIfExists",
            "s3:max-keys",
            "10",
            &[("s3:max-keys", "11")],
            false,
        ),
        (
            "BoolIfExists",
            "aws:MultiFactorAuthPresent",
            "true",
            &[],
            true,
        ),
        (
            "IpAddressIfExists",
            "aws:SourceIp",
            r#""10.0.0.0/8""#,
            &[],
            true,
        ),
        (
            "ArnLikeIfExists",
            "aws:SourceArn",
            r#""arn:aws:s3:::x""#,
            &[],
            true,
        ),
        (
            "DateLessThanIfExists",
            "aws:CurrentTime",
            r#""2024-01-01""#,
            &[],
            true,
        ),
    ]);
}

#[test]
fn set_operators_over_multivalued_keys() {
    const TAGS: &str = "aws:TagKeys";
    const ALLOWED: &str = r#"["env", "team"]"#;
    check(&[
        (
            "ForAnyValue:StringEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "env"), (TAGS, "other")],
            true,
        ),
        (
            "ForAnyValue:StringEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "other")],
            false,
        ),
        ("ForAnyValue:StringEquals", TAGS, ALLOWED, &[], false),
        (
            "ForAllValues:StringEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "env"), (TAGS, "team")],
            true,
        ),
        (
            "ForAllValues:StringEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "env"), (TAGS, "other")],
            false,
        ),
        // Vacuously true for a missing key, as in AWS.
        ("ForAllValues:StringEquals", TAGS, ALLOWED, &[], true),
        (
            "ForAllValues:StringLike",
            TAGS,
            r#""e*""#,
            &[(TAGS, "env"), (TAGS, "eu")],
            true,
        ),
        (
            "ForAnyValue:StringNotEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "env"), (TAGS, "x")],
            true,
        ),
        (
            "ForAnyValue:StringNotEquals",
            TAGS,
            ALLOWED,
            &[(TAGS, "env")],
            false,
        ),
        ("ForAnyValue:StringLikeIfExists", TAGS, r#""e*""#, &[], true),
    ]);
}

#[test]
fn all_operators_keys_and_values_combine() {
    // Operators AND, keys under one operator AND, values under one key OR.
    let doc = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*",
            "Resource": "*", "Condition": {
                "StringEquals": {"aws:username": ["alice", "bob"], "aws:PrincipalTag/team": "data"},
                "Bool": {"aws:SecureTransport": true}}}}"#,
    );
    let full = [
        ("aws:username", "bob"),
        ("aws:PrincipalTag/team", "data"),
        ("aws:SecureTransport", "true"),
    ];
    assert!(allows(&doc, &full));
    for drop in 0..full.len() {
        let partial: Vec<_> = full
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, kv)| *kv)
            .collect();
        assert!(!allows(&doc, &partial), "without {:?}", full[drop]);
    }
    let mut wrong = full;
    wrong[0] = ("aws:username", "carol");
    assert!(!allows(&doc, &wrong));
}

#[test]
fn deny_with_condition_only_when_it_holds() {
    let doc = identity(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}"#,
    );
    let request = |tls: Option<&str>| {
        let r = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
        let r = match tls {
            Some(v) => r.with_context("aws:SecureTransport", v),
            None => r,
        };
        evaluate(&[&doc], &r)
    };
    assert_eq!(request(Some("false")), Decision::ExplicitDeny);
    assert_eq!(request(Some("true")), Decision::Allow);
    assert_eq!(request(None), Decision::Allow);
}

#[test]
fn operator_names_parse_and_print() {
    for base in BaseOperator::ALL {
        assert_eq!(BaseOperator::from_name(base.name()), Some(base));
        for prefix in ["", "ForAnyValue:", "ForAllValues:"] {
            for suffix in ["", "IfExists"] {
                let name = format!("{prefix}{base}{suffix}");
                let parsed = ConditionOperator::parse(&name);
                if base == BaseOperator::Null && !(prefix.is_empty() && suffix.is_empty()) {
                    assert_eq!(parsed, None, "{name}");
                } else {
                    let parsed = parsed.unwrap_or_else(|| panic!("{name}"));
                    assert_eq!(parsed.to_string(), name);
                    assert_eq!(parsed.if_exists, !suffix.is_empty());
                }
            }
        }
    }
    assert_eq!(
        ConditionOperator::parse("ForAllValues:StringLikeIfExists"),
        Some(ConditionOperator {
            set: Some(SetOperator::ForAllValues),
            base: BaseOperator::StringLike,
            if_exists: true,
        })
    );
    for bad in [
        "StringEqual",
        "stringequals",
        "ForSomeValues:StringLike",
        "IfExists",
        "",
    ] {
        assert_eq!(ConditionOperator::parse(bad), None, "{bad}");
    }
    assert!(BaseOperator::ArnNotLike.is_negated() && !BaseOperator::ArnLike.is_negated());
}
