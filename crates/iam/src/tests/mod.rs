//! Unit tests of the crate: the policies of the seed documents, evaluation,
//! condition operators, malformed documents, the S3 map, the managed
//! policies, and property tests that no input panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod conditions;
mod eval;
mod fuzz;
mod managed;
mod parse;
mod s3;
mod seeds;

use crate::{Decision, PolicyDocument, PolicyKind, Request, evaluate};

/// `text` parsed as `kind`, or a panic naming the error.
fn parse(text: &str, kind: PolicyKind) -> PolicyDocument {
    match PolicyDocument::parse(text, kind) {
        Ok(doc) => doc,
        Err(e) => panic!("{e:?} ({e}) parsing {text}"),
    }
}

fn identity(text: &str) -> PolicyDocument {
    parse(text, PolicyKind::Identity)
}

/// Asserts the decision for each `(action, resource, expected)` against
/// `policies`, with no principal and an empty context.
fn check(policies: &[&PolicyDocument], cases: &[(&str, &str, Decision)]) {
    for (action, resource, expected) in cases {
        let got = evaluate(policies, &Request::new(*action, *resource));
        assert_eq!(got, *expected, "{action} on {resource}");
    }
}

use Decision::{Allow, ExplicitDeny, ImplicitDeny};

/// Style rule 2: every module opens with a `//!` paragraph.
#[test]
fn every_module_has_a_module_doc() {
    let files = [
        ("lib.rs", include_str!("../lib.rs")),
        ("condition.rs", include_str!("../condition.rs")),
        ("error.rs", include_str!("../error.rs")),
        ("eval.rs", include_str!("../eval.rs")),
        ("json.rs", include_str!("../json.rs")),
        ("managed.rs", include_str!("../managed.rs")),
        ("pattern.rs", include_str!("../pattern.rs")),
        ("policy.rs", include_str!("../policy.rs")),
        ("s3.rs", include_str!("../s3.rs")),
        ("tests/mod.rs", include_str!("mod.rs")),
        ("tests/conditions.rs", include_str!("conditions.rs")),
        ("tests/eval.rs", include_str!("eval.rs")),
        ("tests/fuzz.rs", include_str!("fuzz.rs")),
        ("tests/managed.rs", include_str!("managed.rs")),
        ("tests/parse.rs", include_str!("parse.rs")),
        ("tests/s3.rs", include_str!("s3.rs")),
        ("tests/seeds.rs", include_str!("seeds.rs")),
    ];
    for (name, text) in files {
        assert!(
            text.starts_with("//! "),
            "{name} does not open with a //! paragraph"
        );
    }
}
