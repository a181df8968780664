//! Property tests: no text makes `PolicyDocument::parse` panic, no request
//! makes `evaluate` panic, and an unconditional `Deny *` always wins.

use proptest::prelude::*;

use super::identity;
use crate::pattern::{glob, tokens};
use crate::{Decision, PolicyDocument, PolicyKind, Request, evaluate};

const KINDS: [PolicyKind; 3] = [
    PolicyKind::Identity,
    PolicyKind::Trust,
    PolicyKind::Resource,
];

/// Words of the policy language, so generated documents get past the
/// first checks often enough to reach the later ones.
const WORDS: &[&str] = &[
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "*",
    "s3:*",
    "s3:Get*",
    "sts:AssumeRole",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::${aws:username}/*",
    "123456789012",
    "redshift.amazonaws.com",
    "StringLike",
    "ForAllValues:StringEqualsIfExists",
    "NumericLessThan",
    "DateGreaterThan",
    "IpAddress",
    "ArnLike",
    "Null",
    "Bool",
    "aws:username",
    "aws:SourceIp",
    "2024-01-01T00:00:00Z",
    "10.0.0.0/8",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_owned),
        "[a-zA-Z0-9:*?/${}', .+-]{0,16}",
    ]
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Mostly one of `choices`, sometimes any word.
fn one_of(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(choices).prop_map(str::to_owned),
        1 => word(),
    ]
}

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "s3:?utObject",
    "iam:*",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b*",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:s3:::home/${aws:username, 'guest'}/${*}",
];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotLike",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEqualsIfExists",
    "NumericLessThan",
    "DateGreaterThan",
    "Bool",
    "IpAddress",
    "NotIpAddress",
    "ArnLike",
    "Null",
];
const KEYS: &[&str] = &[
    "aws:username",
    "aws:SourceIp",
    "aws:CurrentTime",
    "s3:prefix",
];
const VALUES: &[&str] = &[
    "alice",
    "${aws:username}/*",
    "10",
    "true",
    "2024-01-01T00:00:00Z",
    "1700000000",
    "10.0.0.0/8",
    "arn:aws:s3:::b*",
];

/// Policy-shaped documents: statements with element values mostly drawn
/// from the policy language, so that many of them parse.
fn policy_text() -> impl Strategy<Value = String> {
    let statement = (
        prop::sample::select(&["Allow", "Deny"][..]),
        prop::collection::vec(one_of(ACTIONS), 1..3),
        prop::collection::vec(one_of(RESOURCES), 1..3),
        prop::option::of((
            one_of(OPERATORS),
            one_of(KEYS),
            prop::collection::vec(one_of(VALUES), 0..3),
        )),
        any::<bool>(),
    )
        .prop_map(|(effect, actions, resources, condition, not)| {
            let (action, resource) = if not {
                ("NotAction", "NotResource")
            } else {
                ("Action", "Resource")
            };
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), effect.into());
            s.insert(action.into(), actions.into());
            s.insert(resource.into(), resources.into());
            if let Some((operator, key, values)) = condition {
                let mut keys = serde_json::Map::new();
                keys.insert(key, values.into());
                let mut operators = serde_json::Map::new();
                operators.insert(operator, keys.into());
                s.insert("Condition".into(), operators.into());
            }
            serde_json::Value::Object(s)
        });
    (
        prop::option::of(prop::sample::select(&["2012-10-17", "2008-10-17"][..])),
        prop::collection::vec(statement, 1..4),
    )
        .prop_map(|(version, statements)| {
            let mut doc = serde_json::json!({ "Statement": statements });
            if let Some(version) = version {
                doc["Version"] = version.into();
            }
            doc.to_string()
        })
}

const REQUEST_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "S3:LISTBUCKET",
    "iam:PassRole",
];
const REQUEST_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::home/alice/x",
    "arn:aws:s3:::home/guest/*",
];

fn request() -> impl Strategy<Value = Request> {
    (
        one_of(REQUEST_ACTIONS),
        one_of(REQUEST_RESOURCES),
        prop::collection::vec((one_of(KEYS), one_of(VALUES)), 0..4),
    )
        .prop_map(|(action, resource, context)| {
            context
                .into_iter()
                .fold(Request::new(action, resource), |r, (k, v)| {
                    r.with_context(k, v)
                })
        })
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_text(text in ".*") {
        for kind in KINDS {
            let _ = PolicyDocument::parse(&text, kind);
        }
    }

    #[test]
    fn parse_never_panics_on_json(value in json()) {
        let text = value.to_string();
        for kind in KINDS {
            let _ = PolicyDocument::parse(&text, kind);
        }
    }

    #[test]
    fn evaluate_never_panics_and_deny_star_wins(text in policy_text(), request in request()) {
        let deny_all = identity(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}"#,
        );
        if let Ok(doc) = PolicyDocument::parse(&text, PolicyKind::Identity) {
            let alone = evaluate(&[&doc], &request);
            prop_assert_eq!(evaluate(&[&doc, &doc], &request), alone);
            prop_assert_eq!(evaluate(&[&doc, &deny_all], &request), Decision::ExplicitDeny);
            prop_assert_eq!(evaluate(&[&deny_all, &doc], &request), Decision::ExplicitDeny);
        }
    }

    #[test]
    fn a_wildcard_free_pattern_matches_exactly_itself(text in "[^*?]{0,40}", other in ".{0,40}") {
        let pattern = tokens(&text, None, true).unwrap();
        prop_assert!(glob(&pattern, &text, false));
        prop_assert_eq!(glob(&pattern, &other, false), other == text);
        let star = tokens("*", None, true).unwrap();
        prop_assert!(glob(&star, &other, false));
    }
}

/// The policy generator must produce valid documents often, or the
/// evaluation property above tests little.
#[test]
fn policy_generator_yields_valid_documents() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = policy_text();
    let valid = (0..200)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            PolicyDocument::parse(&text, PolicyKind::Identity).is_ok()
        })
        .count();
    assert!(valid >= 20, "only {valid} of 200 generated documents parse");
}
